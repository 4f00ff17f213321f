/*
 * gemm.h — the one float GEMM entry point: C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C.
 * Row-major; lda/ldb/ldc are row strides in elements. rt_sgemm uses OpenBLAS when the runtime
 * is built with WAFER_HAVE_BLAS, the portable loop otherwise; rt_sgemm_ref is always the
 * plain reference (tests compare the others with it). With beta == 0, C is only written, never
 * read (it may hold garbage), as BLAS does.
 */
#ifndef WAFER_RT_GEMM_H
#define WAFER_RT_GEMM_H

void rt_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc);
/* The portable path (row-of-B accumulation, unit stride in the inner loop). */
void rt_sgemm_portable(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
                       int lda, const float *B, int ldb, float beta, float *C, int ldc);
void rt_sgemm_ref(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
                  int lda, const float *B, int ldb, float beta, float *C, int ldc);

#endif
