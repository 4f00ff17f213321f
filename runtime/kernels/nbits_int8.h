/*
 * nbits_int8.h — 4-bit weights times int8-quantized activations: com.microsoft MatMulNBits
 * with accuracy_level = 4 ("int8 compute"), the arithmetic onnxruntime's MLAS runs there
 * (its CompInt8 path) and llama.cpp's Q8 activations:
 *
 *   A [M, K] float is quantized per row and per block of the weights' block length
 *   (block_size along K, the last block short when block does not divide K):
 *       amax = max |a| over the block,  sa = amax / 127,  inv = amax != 0 ? 127 / amax : 0,
 *       qa = round-half-even(a * inv)   (int8 in [-127, 127]; zero past K)
 *   and each block's codes (unsigned 0..15, zero point z) meet qa in integer dot products:
 *       Y[m, n] = bias[n] + sum_b sa[m, b] * sb[n, b] * (sum_k qa[m, k] * q[n, k] - z[n, b] * S[m, b])
 *   with S[m, b] = sum of qa over block b ((q - z) a summed = q a summed - z times the sum of a).
 * The integer parts are exact; implementations may sum the float parts in another order.
 *
 * rt_q8_quantize_rows and rt_q4q8_gemm_ref (ref/nbits_int8.c) are the readable spec; the
 * AVX-512 VNNI kernel (x86/nbits_int8_x86.c) computes the same integer sums with vpdpbusd.
 * Supported: bits 4, block_size a multiple of 32, uint8-packed or absent zero points, no
 * g_idx (rt_q4q8_applies); every other MatMulNBits computes in float as before.
 */
#ifndef WAFER_RT_NBITS_INT8_H
#define WAFER_RT_NBITS_INT8_H

#include <stdint.h>

#include "kernel.h"

/* A MatMulNBits weight as the int8-compute kernels read it (4 bits). */
typedef struct {
    int64_t K, N;           /* W is [K, N], stored transposed */
    int64_t block;          /* codes per block along K: a multiple of 32 */
    int64_t n_blocks;       /* ceil(K / block) */
    int64_t row_bytes;      /* packed bytes per output row: n_blocks * block / 2 */
    int64_t zp_row;         /* bytes per packed zero-point row: ceil(n_blocks / 2) */
    const uint8_t *b;       /* borrowed [N, row_bytes]: code k of row n in the low (k even) or
                             * high (k odd) nibble of byte k / 2 */
    const float *scales;    /* borrowed [N, n_blocks] */
    const uint8_t *zp;      /* borrowed [N, zp_row] two 4-bit zero points a byte, low first; NULL = 8 */
    /* LinearNBits' form (wafer's own 4-bit layers) differs in two ways: */
    int qblock_order;       /* 1: within each 32 codes, byte 4 (j % 4) + j / 8 holds code j, in its
                             * high nibble when (j / 4) is odd (qblock.h's 4-bit words); rows may
                             * end before n_blocks * block / 2 bytes (padded to 32 codes only) */
    const uint8_t *zp_bytes; /* borrowed [N, n_blocks] one zero point a byte (LinearNBits' zeros), or NULL */
    uint64_t inputs;        /* bit j: the node's input j holds part of this weight (codes, scales, zero
                             * points); when all are graph constants (c->const_inputs) the GEMM keeps
                             * its packed panels in the node's state. 0: not a node's (never kept) */
} RtQ4Weight;

/* 1 when MatMulNBits with these attributes and inputs runs in int8 compute: accuracy_level 4,
 * 4 bits, float32 A and scales, block a multiple of 32, zero points absent or uint8, no g_idx. */
int rt_q4q8_applies(const RtNode *n, RtTensor *const *in);

/* The weight view of a MatMulNBits node for which rt_q4q8_applies (inputs already checked). */
void rt_q4q8_weight(const RtNode *n, RtTensor *const *in, RtQ4Weight *w);

/* The same for wafer's LinearNBits (accuracy_level 4, bits 4, group a multiple of 32, no
 * g_idx, float32 X; the block of A's quantization is the group), and its weight view. */
int rt_q4q8_applies_linear(const RtNode *n, RtTensor *const *in);
void rt_q4q8_linear_weight(const RtNode *n, RtTensor *const *in, RtQ4Weight *w);

/* Code k of row n, in either order; 0 past the row's bytes. */
static inline int rt_q4_code(const RtQ4Weight *w, int64_t n, int64_t k) {
    int64_t byte;
    int shift;
    if (w->qblock_order) {
        const int64_t j = k % 32;
        byte = (k / 32) * 16 + 4 * (j % 4) + j / 8;
        shift = 4 * (int)((j / 4) & 1);
    } else {
        byte = k / 2;
        shift = 4 * (int)(k & 1);
    }
    return byte < w->row_bytes ? (w->b[n * w->row_bytes + byte] >> shift) & 15 : 0;
}

/* Zero point of row n, block b. */
static inline int rt_q4_zero(const RtQ4Weight *w, int64_t n, int64_t b) {
    if (w->zp_bytes) return w->zp_bytes[n * w->n_blocks + b];
    return w->zp ? (w->zp[n * w->zp_row + b / 2] >> (4 * (b & 1))) & 15 : 8;
}

/* Quantizes rows a[M, K] block by block (see the header): q [M, n_blocks * block] (zero past
 * K), sa [M, n_blocks], sum [M, n_blocks] (sum of each block's q). */
void rt_q8_quantize_rows(const float *a, int64_t M, int64_t K, int64_t block, int8_t *q, float *sa, int32_t *sum);

/* y[M, N] = the header's formula from quantized rows (q, sa, sum as rt_q8_quantize_rows
 * gives them); bias [N] or NULL. Per output, blocks in order, one float product and sum each. */
void rt_q4q8_gemm_ref(const RtQ4Weight *w, const int8_t *q, const float *sa, const int32_t *sum, int64_t M,
                      const float *bias, float *y);

/* The whole layer in the reference arithmetic: quantizes a [M, K] and runs rt_q4q8_gemm_ref.
 * RT_OK or RT_ERR_NOMEM. */
int rt_q4q8_run_ref(RtKernelCtx *c, const RtQ4Weight *w, const float *a, int64_t M, const float *bias, float *y);

/* The same integer sums on AVX-512 VNNI (x86/nbits_int8_x86.c), the threads of c->pool
 * splitting N; callers check rt_q4q8_vnni_supported() (0 off x86-64 or without VNNI) first. */
int rt_q4q8_vnni_supported(void);
int rt_q4q8_run_vnni(RtKernelCtx *c, const RtQ4Weight *w, const float *a, int64_t M, const float *bias, float *y);

/* rt_q8_quantize_rows in AVX-512 (x86/nbits_int8_x86.c): the same float operations, so the
 * same bits (callers check rt_q4q8_vnni_supported() first). */
void rt_q8_quantize_rows_avx512(const float *a, int64_t M, int64_t K, int64_t block, int8_t *q, float *sa,
                                int32_t *sum);

/* rt_q4q8_run_vnni's path for many rows (x86/nbits_int8_gemm_x86.c): from A quantized by
 * rt_q8_quantize_rows (q, sa, sum), the weights repacked a panel of columns at a time: once
 * per node into c->node_state when the weight's inputs are constants (w->inputs), else per
 * call. The same bits either way. */
int rt_q4q8_gemm_vnni(RtKernelCtx *c, const RtQ4Weight *w, const int8_t *q, const float *sa, const int32_t *sum,
                      int64_t M, const float *bias, float *y);

#endif
