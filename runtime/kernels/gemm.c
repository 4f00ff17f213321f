/*
 * gemm.c — the float GEMM wrapper (see gemm.h).
 *
 * The reference is a plain triple loop in k-inner order with a float accumulator per output.
 * The portable path, used when there is no BLAS, keeps the inner loop at unit stride so the
 * compiler can vectorize it: with B not transposed, row m of C accumulates alpha*A(m,k) times
 * row k of B for every k (an axpy per k); with B transposed, each C(m,n) is a dot product of
 * row m of op(A) and row n of B, both contiguous in k when A is not transposed.
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

void rt_sgemm_portable(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
                       int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    for (int m = 0; m < M; m++) {
        float *c = C + (long)m * ldc;
        for (int n = 0; n < N; n++) c[n] = beta == 0.0f ? 0.0f : beta * c[n];
        if (!trans_b) {
            for (int k = 0; k < K; k++) {
                float a = alpha * (trans_a ? A[(long)k * lda + m] : A[(long)m * lda + k]);
                const float *b = B + (long)k * ldb;
                for (int n = 0; n < N; n++) c[n] += a * b[n];
            }
            continue;
        }
        for (int n = 0; n < N; n++) {
            const float *b = B + (long)n * ldb;
            float acc = 0.0f;
            if (!trans_a) {
                const float *a = A + (long)m * lda;
                for (int k = 0; k < K; k++) acc += a[k] * b[k];
            } else {
                for (int k = 0; k < K; k++) acc += A[(long)k * lda + m] * b[k];
            }
            c[n] += alpha * acc;
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
    rt_sgemm_portable(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
