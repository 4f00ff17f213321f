/*
 * sgemm.h — the float32 GEMM the optimized kernels call (x86/sgemm_avx512.c):
 *     C[M, N] = act(op(A)[M, K] * op(B)[K, N] (+ bias_m[m]) (+ bias_n[n]))
 * Row-major, row strides lda, ldb, ldc in elements (>= the row length); op(X) = X or X^T.
 * Conv as a GEMM is W[M = out channels, K] * col[K, N = positions] with bias_m; Linear is
 * X[M = rows, K] * W[K, N] with bias_n. C is only written (beta = 0). The activation (of
 * ref/activation.h, bias first) is applied in the store of each finished tile, while it is
 * still in registers: bit-identical to running rt_act_span over C afterwards; Gelu (and its
 * tanh form) over each stored tile while it is in L1, with vmath.h's vector Gelu: bit-identical
 * to running rt_vm_gelu_f32 (the x86 Gelu kernel) over C afterwards.
 *
 * Packed operands: a constant operand (the weights) can be packed once into the
 * micro-kernel's panel layout (rt_sgemm_pack_a / rt_sgemm_pack_b) and passed to every later
 * call in place of A or B, which then skips packing it. The layout depends on the shape only
 * ((M, K) for A, (K, N) for B), and a call with packed operands gives bit-identical results
 * to one with the same operands unpacked (same sums in the same order).
 *
 * The work is split over pool (NULL = the calling thread) in blocks fixed by the shape, each
 * output element summed in the same order whatever the thread count, so results are
 * bit-identical for 1 and 2 threads. With AVX-512F the own packed micro-kernel runs; otherwise
 * rt_sgemm (OpenBLAS, gemm.h) and a pass for the biases and the activation; packing is then
 * not available (rt_sgemm_packed_*_floats return 0). K == 0 gives C = act(bias) (or act(0)).
 */
#ifndef WAFER_RT_X86_SGEMM_H
#define WAFER_RT_X86_SGEMM_H

#include <stdint.h>

#include "../ref/activation.h"

struct RtThreadPool;

/* One GEMM. A/B give an operand as stored (trans_a: A is [K, M], lda >= M, else [M, K],
 * lda >= K; trans_b: B is [N, K], ldb >= K, else [K, N], ldb >= N); A_packed/B_packed, when
 * not NULL, give it packed instead (rt_sgemm_pack_a(trans_a, M, K, ..) /
 * rt_sgemm_pack_b(trans_b, K, N, ..) of this call's M, N, K), and A/B are then not read. */
typedef struct {
    int64_t M, N, K;
    int trans_a, trans_b;
    const float *A, *A_packed;   /* borrowed */
    int64_t lda;
    const float *B, *B_packed;   /* borrowed */
    int64_t ldb;
    float *C;                    /* borrowed [M, ldc] */
    int64_t ldc;
    const float *bias_m;         /* borrowed [M] or NULL */
    const float *bias_n;         /* borrowed [N] or NULL */
    const RtAct *act;            /* borrowed; NULL = none */
} RtSgemm;

void rt_sgemm_run(struct RtThreadPool *pool, const RtSgemm *g);

/* Floats of op(A) [M, K] / op(B) [K, N] packed (M rounded up to 8 rows, N to 48 columns);
 * 0 when this CPU has no packed kernels (then pass the operands unpacked). */
int64_t rt_sgemm_packed_a_floats(int64_t M, int64_t K);
int64_t rt_sgemm_packed_b_floats(int64_t K, int64_t N);
/* Packs op(A) (A as rt_sgemm_run reads it) into dst[rt_sgemm_packed_a_floats(M, K)] (best
 * 64-byte aligned); the padding rows are zeros, so the bytes depend on A only. */
void rt_sgemm_pack_a(int trans_a, int64_t M, int64_t K, const float *A, int64_t lda, float *dst);
/* Packs op(B) into dst[rt_sgemm_packed_b_floats(K, N)] (best 64-byte aligned), zeros past N. */
void rt_sgemm_pack_b(int trans_b, int64_t K, int64_t N, const float *B, int64_t ldb, float *dst);

/* ---- weights packed once per node (kernel.h's node_state), x86/sgemm_state.c ---- */

enum { RT_SGEMM_SIDE_A = 0, RT_SGEMM_SIDE_B = 1 };

/* The running node's input `input`, a graph constant, packed for the GEMM and kept in
 * *c->node_state across runs: `parts` operands (conv groups), part p at w + p * part_stride,
 * each op(W) of rows x cols as rt_sgemm_pack_a(trans, rows, cols, .., ld, ..) (side A: rows
 * = M, cols = K) or rt_sgemm_pack_b(trans, rows, cols, ..) (side B: rows = K, cols = N)
 * packs it. Packs on the first run (one block from c->state_alloc with a header recording
 * the version, side, input and shapes); later runs find it there. Returns part 0's packed
 * floats, part p at + p * *part_stride_out floats (each part 64-byte aligned), or NULL when
 * nothing is cached: no node_state, input not constant, no packed kernels on this CPU, no memory, or a
 * state that does not match (never used then; the caller packs per call as usual). */
const float *rt_sgemm_state_packed(RtKernelCtx *c, int input, int side, int trans, int64_t rows, int64_t cols,
                                   int64_t parts, const float *w, int64_t ld, int64_t part_stride,
                                   int64_t *part_stride_out);

/* rt_sgemm_state_packed with `prefix` bytes (a multiple of 64, zeroed when the block is made)
 * reserved for the caller at the start of the state block, *c->node_state: the caller's own
 * per-node data (conv_x86.c keeps its geometry there). */
const float *rt_sgemm_state_packed_pre(RtKernelCtx *c, size_t prefix, int input, int side, int trans, int64_t rows,
                                       int64_t cols, int64_t parts, const float *w, int64_t ld, int64_t part_stride,
                                       int64_t *part_stride_out);

/* Shorthands: no packing, no activation. rt_sgemm_nn is rt_sgemm_op(.., 0, 0, ..). */
void rt_sgemm_nn(struct RtThreadPool *pool, int64_t M, int64_t N, int64_t K, const float *A,
                 int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc,
                 const float *bias_m, const float *bias_n);
void rt_sgemm_op(struct RtThreadPool *pool, int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                 const float *A, int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc,
                 const float *bias_m, const float *bias_n);

/* 1 when rt_sgemm_run runs the own AVX-512 kernels on this CPU (0: the rt_sgemm fallback). */
int rt_sgemm_nn_is_native(void);

#endif
