/*
 * gemm.h — the one float GEMM entry point: C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C.
 * Row-major; lda/ldb/ldc are row strides in elements. rt_sgemm uses OpenBLAS when the runtime
 * is built with WAFER_HAVE_BLAS, the portable reference otherwise; rt_sgemm_ref is always
 * the reference (tests compare the two).
 */
#ifndef WAFER_RT_GEMM_H
#define WAFER_RT_GEMM_H

void rt_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc);
void rt_sgemm_ref(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
                  int lda, const float *B, int ldb, float beta, float *C, int ldc);

#endif
