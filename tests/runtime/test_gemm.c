/*
 * test_gemm.c — rt_sgemm (OpenBLAS when built with it) and rt_sgemm_portable against
 * rt_sgemm_ref on odd sizes, every transpose combination, padded leading dimensions, alpha
 * and beta.
 */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "../../runtime/kernels/gemm.h"

/* Each output is a K-term float dot product; both sides round each step, so they may differ
 * by at most about 2*K*FLT_EPSILON times sum_k |a_k * b_k| (the classic summation bound,
 * once per implementation). A factor 2 of slack covers BLAS's different summation order. */
#define GEMM_REL_BOUND(K) (4.0 * (double)(K) * FLT_EPSILON)

static const int sizes[] = {1, 3, 7, 17, 33, 127, 129};
#define N_SIZES (int)(sizeof sizes / sizeof sizes[0])

static float *rand_mat(long n, unsigned *seed) {
    float *p = malloc(sizeof(float) * (size_t)(n ? n : 1));
    for (long i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u;
        p[i] = (float)((*seed >> 8) & 0xffff) / 32768.0f - 1.0f; /* [-1, 1) */
    }
    return p;
}

typedef void (*SgemmFn)(int, int, int, int, int, float, const float *, int, const float *, int, float, float *,
                        int);

/* Runs gemm and the reference on op(A)[M,K] op(B)[K,N] with leading dims padded by `pad`;
 * 1 if they agree. */
static int check_with(SgemmFn gemm, int ta, int tb, int M, int N, int K, int pad, float alpha, float beta,
                      unsigned seed) {
    int ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
    int lda = ac + pad, ldb = bc + pad, ldc = N + pad;
    float *A = rand_mat((long)ar * lda, &seed), *B = rand_mat((long)br * ldb, &seed);
    float *C0 = rand_mat((long)M * ldc, &seed), *C1 = malloc(sizeof(float) * (size_t)M * ldc);
    float *Aa = malloc(sizeof(float) * (size_t)ar * lda), *Ba = malloc(sizeof(float) * (size_t)br * ldb);
    float *Cabs = calloc((size_t)M * ldc, sizeof(float));
    for (long i = 0; i < (long)M * ldc; i++) C1[i] = C0[i];
    for (long i = 0; i < (long)ar * lda; i++) Aa[i] = fabsf(A[i]);
    for (long i = 0; i < (long)br * ldb; i++) Ba[i] = fabsf(B[i]);
    gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C0, ldc);
    rt_sgemm_ref(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C1, ldc);
    rt_sgemm_ref(ta, tb, M, N, K, fabsf(alpha), Aa, lda, Ba, ldb, 0.0f, Cabs, ldc);
    int ok = 1;
    for (int m = 0; m < M && ok; m++)
        for (int n = 0; n < N && ok; n++) {
            double d = fabs((double)C0[m * ldc + n] - C1[m * ldc + n]);
            double bound = GEMM_REL_BOUND(K) * (Cabs[m * ldc + n] + fabs(beta) + 1e-30) + 1e-6;
            if (!(d <= bound)) {
                cr_log_error("ta=%d tb=%d M=%d N=%d K=%d at (%d,%d): %g vs %g", ta, tb, M, N, K, m, n,
                             C0[m * ldc + n], C1[m * ldc + n]);
                ok = 0;
            }
        }
    free(A); free(B); free(C0); free(C1); free(Aa); free(Ba); free(Cabs);
    return ok;
}

/* Both the dispatching entry point and the portable path. */
static int check_case(int ta, int tb, int M, int N, int K, int pad, float alpha, float beta, unsigned seed) {
    return check_with(rt_sgemm, ta, tb, M, N, K, pad, alpha, beta, seed) &&
           check_with(rt_sgemm_portable, ta, tb, M, N, K, pad, alpha, beta, seed);
}

Test(gemm, odd_sizes_all_transposes) {
    unsigned seed = 1;
    for (int t = 0; t < 4; t++)
        for (int i = 0; i < N_SIZES; i++)
            for (int j = 0; j < N_SIZES; j++)
                for (int k = 0; k < N_SIZES; k++) {
                    int M = sizes[i], N = sizes[j], K = sizes[k];
                    if ((long)M * N * K > 300000) continue; /* keep the reference loop quick */
                    cr_assert(check_case(t & 1, t >> 1, M, N, K, 0, 1.0f, 0.0f, seed++));
                }
}

Test(gemm, largest_sizes_each_transpose) {
    for (int t = 0; t < 4; t++) cr_assert(check_case(t & 1, t >> 1, 129, 127, 129, 0, 1.0f, 0.0f, 7u + t));
}

Test(gemm, padded_leading_dims_alpha_beta) {
    for (int t = 0; t < 4; t++) {
        cr_assert(check_case(t & 1, t >> 1, 17, 33, 7, 5, 0.5f, 2.0f, 99u + t));
        cr_assert(check_case(t & 1, t >> 1, 3, 1, 129, 3, -1.5f, 0.25f, 5u + t));
    }
}

Test(gemm, beta_zero_ignores_garbage_in_c) {
    float A[2] = {1, 2}, B[2] = {3, 4}, C[1] = {NAN};
    rt_sgemm_portable(0, 0, 1, 1, 2, 1.0f, A, 2, B, 1, 0.0f, C, 1);
    cr_assert_float_eq(C[0], 11.0f, 0.0f);
    C[0] = NAN;
    rt_sgemm(0, 0, 1, 1, 2, 1.0f, A, 2, B, 1, 0.0f, C, 1);
    cr_assert_float_eq(C[0], 11.0f, 0.0f);
}

Test(gemm, k_zero_scales_c_by_beta) {
    float C[6] = {1, 2, 3, 4, 5, 6}, A[1] = {0}, B[1] = {0};
    rt_sgemm(0, 0, 2, 3, 0, 1.0f, A, 1, B, 3, 2.0f, C, 3);
    for (int i = 0; i < 6; i++) cr_assert_float_eq(C[i], 2.0f * (i + 1), 0.0f);
    rt_sgemm(0, 0, 2, 3, 0, 1.0f, A, 1, B, 3, 0.0f, C, 3);
    for (int i = 0; i < 6; i++) cr_assert_float_eq(C[i], 0.0f, 0.0f);
}

Test(gemm, hand_computed_2x2) {
    float A[4] = {1, 2, 3, 4}, B[4] = {5, 6, 7, 8}, C[4] = {0};
    rt_sgemm(0, 0, 2, 2, 2, 1.0f, A, 2, B, 2, 0.0f, C, 2);
    cr_assert(C[0] == 19 && C[1] == 22 && C[2] == 43 && C[3] == 50);
    rt_sgemm(1, 1, 2, 2, 2, 1.0f, A, 2, B, 2, 0.0f, C, 2); /* A^T B^T = (BA)^T */
    cr_assert(C[0] == 23 && C[1] == 31 && C[2] == 34 && C[3] == 46);
}
