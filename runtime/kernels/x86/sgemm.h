/*
 * sgemm.h — the float32 GEMM the optimized kernels call (x86/sgemm_avx512.c):
 *     C[M, N] = A[M, K] * B[K, N] (+ bias_m[m]) (+ bias_n[n])
 * Row-major, no transposes, row strides lda, ldb, ldc in elements (>= the row length).
 * Conv as a GEMM is W[M = out channels, K] * col[K, N = positions] with bias_m; Linear is
 * X[M = rows, K] * W[K, N] with bias_n. C is only written (beta = 0).
 *
 * The work is split over pool (NULL = the calling thread) in blocks fixed by the shape, each
 * output element summed in the same order whatever the thread count, so results are
 * bit-identical for 1 and 2 threads. With AVX-512F the own packed micro-kernel runs; otherwise
 * rt_sgemm (OpenBLAS, gemm.h). K == 0 gives C = bias (or zeros).
 */
#ifndef WAFER_RT_X86_SGEMM_H
#define WAFER_RT_X86_SGEMM_H

#include <stdint.h>

struct RtThreadPool;

void rt_sgemm_nn(struct RtThreadPool *pool, int64_t M, int64_t N, int64_t K, const float *A,
                 int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc,
                 const float *bias_m, const float *bias_n);

/* The same with transposed operands: op(A) = A^T when trans_a (A stored [K, M], lda >= M),
 * op(B) = B^T when trans_b (B stored [N, K], ldb >= K). rt_sgemm_nn is rt_sgemm_op(.., 0, 0, ..). */
void rt_sgemm_op(struct RtThreadPool *pool, int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                 const float *A, int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc,
                 const float *bias_m, const float *bias_n);

/* 1 when rt_sgemm_nn runs the own AVX-512 kernels on this CPU (0: the rt_sgemm fallback). */
int rt_sgemm_nn_is_native(void);

#endif
