/*
 * gemm.c — the float GEMM wrapper (see gemm.h). The reference is a plain triple loop in
 * k-inner order with a float accumulator per output.
 */
#include "gemm.h"

#ifdef WAFER_HAVE_BLAS
#include <cblas.h>
#endif

void rt_sgemm_ref(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
                  int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    for (int m = 0; m < M; m++) {
        for (int n = 0; n < N; n++) {
            float acc = 0.0f;
            for (int k = 0; k < K; k++) {
                float a = trans_a ? A[(long)k * lda + m] : A[(long)m * lda + k];
                float b = trans_b ? B[(long)n * ldb + k] : B[(long)k * ldb + n];
                acc += a * b;
            }
            float *c = &C[(long)m * ldc + n];
            *c = alpha * acc + (beta == 0.0f ? 0.0f : beta * *c);
        }
    }
}

void rt_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
#ifdef WAFER_HAVE_BLAS
    if (K > 0) {
        cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                    M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
#endif
    rt_sgemm_ref(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
