/*
 * matmul_nbits.c — com.microsoft MatMulNBits (onnxruntime's ContribOperators.md): a MatMul
 * whose right-hand side is a constant [K, N] weight quantized block-wise along K to
 * `bits` (2..8) bits, stored transposed:
 *     Y[..., N] = A[..., K] @ W^T + bias,
 *     W[n, k] = (q[n, k] - zp[n, g(k)]) * scales[n, g(k)],  g(k) = g_idx[k] or k / block_size
 * Inputs: A (float, float16, bfloat16), B u8 [N, n_blocks, blob_size] (n_blocks =
 * ceil(K / block_size), blob_size = block_size * bits / 8: each block's codes packed
 * low-first, code j at bit j * bits of its blob, the last block padded), scales [N, n_blocks]
 * (or flat [N * n_blocks], as older exporters wrote it), optional zero_points (u8 packed the
 * same way, each row n starting on a byte: [N, ceil(n_blocks * bits / 8)]; or A's type
 * unpacked [N, n_blocks]; absent = 2^(bits-1)), optional g_idx (deprecated; i32 [K], the
 * block whose scale and zero point row k uses, its code staying at position k), optional
 * bias [N].
 *
 * Reference algorithm (correct first): dequantize MNB_TILE_N rows of W at a time into
 * float scratch and multiply them into Y with rt_sgemm (A @ tile^T). accuracy_level is the
 * lowest precision A may be computed in: 4 (int8) runs onnxruntime's int8 compute
 * (../nbits_int8.h: A quantized per block, integer dot products) where rt_q4q8_applies
 * (4 bits, blocks of whole 32s, no g_idx); every other level and case computes in float.
 */
#include <stdlib.h>
#include <string.h>

#include "../gemm.h"
#include "../kernel.h"
#include "../nbits_int8.h"

/* Output rows of W dequantized per sgemm: 64 x K floats of scratch (64 KiB for K = 256). */
#define MNB_TILE_N 64

/* Everything the dequantization reads, checked against each other. */
typedef struct {
    int64_t K, N;            /* attributes: W is [K, N], stored as B [N, n_blocks, blob] */
    int bits;                /* 2..8 */
    int64_t block;           /* block_size: codes per block along K */
    int64_t n_blocks;        /* ceil(K / block) */
    int64_t blob;            /* bytes per block: block * bits / 8 */
    int64_t zp_row;          /* bytes per packed zero-point row: ceil(n_blocks * bits / 8) */
    const uint8_t *b;        /* borrowed: B's data */
    const RtTensor *scales;  /* borrowed: [N, n_blocks] */
    const RtTensor *zp;      /* borrowed, NULL = 2^(bits-1) */
    const int32_t *g_idx;    /* borrowed, NULL = k / block */
} MnbWeight;

/* The code at bit position pos of a low-first bit stream (a code may straddle two bytes
 * when bits is 3, 5, 6 or 7). */
static int mnb_code(const uint8_t *p, int64_t pos, int bits) {
    unsigned v = p[pos >> 3] >> (pos & 7);
    if ((pos & 7) + bits > 8) v |= (unsigned)p[(pos >> 3) + 1] << (8 - (pos & 7));
    return (int)(v & ((1u << bits) - 1u));
}

static double mnb_zero_point(const MnbWeight *w, int64_t n, int64_t g) {
    if (!w->zp) return (double)(1 << (w->bits - 1));
    if (w->zp->dtype == RT_U8)
        return mnb_code((const uint8_t *)w->zp->data + n * w->zp_row, g * w->bits, w->bits);
    return rt_get_f64(w->zp, n * w->n_blocks + g);
}

/* Rows n0..n1-1 of W (float, [n1 - n0, K], row stride K). */
static void mnb_dequant_rows(const MnbWeight *w, int64_t n0, int64_t n1, float *tile) {
    for (int64_t n = n0; n < n1; n++) {
        const uint8_t *row = w->b + n * w->n_blocks * w->blob;
        float *t = tile + (n - n0) * w->K;
        for (int64_t k = 0; k < w->K; k++) {
            int64_t g = w->g_idx ? w->g_idx[k] : k / w->block;
            int q = mnb_code(row + (k / w->block) * w->blob, (k % w->block) * w->bits, w->bits);
            double s = rt_get_f64(w->scales, n * w->n_blocks + g);
            t[k] = (float)(((double)q - mnb_zero_point(w, n, g)) * s);
        }
    }
}

static int mnb_is_float(RtDtype t) { return t == RT_F32 || t == RT_F16 || t == RT_BF16; }

/* Attributes and input shapes against the spec; fills w. */
static int mnb_check(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, MnbWeight *w) {
    const RtTensor *A = rt_in(n, in, 0), *B = rt_in(n, in, 1), *S = rt_in(n, in, 2);
    const RtTensor *Z = rt_in(n, in, 3), *G = rt_in(n, in, 4), *bias = rt_in(n, in, 5);
    memset(w, 0, sizeof *w);
    w->K = rt_attr_int(n, "K", -1);
    w->N = rt_attr_int(n, "N", -1);
    w->bits = (int)rt_attr_int(n, "bits", 4);
    w->block = rt_attr_int(n, "block_size", -1);
    if (!A || !B || !S) return rt_fail(c, "inputs A, B and scales are required");
    if (w->K < 0 || w->N < 0) return rt_fail(c, "attributes K and N are required (got K=%lld, N=%lld)",
                                             (long long)w->K, (long long)w->N);
    if (w->bits < 2 || w->bits > 8) return rt_fail(c, "bits=%d, want 2..8", w->bits);
    if (w->block < 16 || (w->block & (w->block - 1)) != 0)
        return rt_fail(c, "block_size=%lld, want a power of 2 >= 16", (long long)w->block);
    if (!mnb_is_float(A->dtype)) return rt_fail(c, "A must be float, float16 or bfloat16 (dtype %d)", A->dtype);
    if (A->rank < 1 || A->dims[A->rank - 1] != w->K)
        return rt_fail(c, "A's last dimension must be K=%lld", (long long)w->K);
    w->n_blocks = (w->K + w->block - 1) / w->block;
    w->blob = w->block * w->bits / 8;
    w->zp_row = (w->n_blocks * w->bits + 7) / 8;
    if (B->dtype != RT_U8 || B->rank != 3 || B->dims[0] != w->N || B->dims[1] != w->n_blocks ||
        B->dims[2] != w->blob)
        return rt_fail(c, "B must be uint8 [N=%lld, n_blocks=%lld, blob_size=%lld]", (long long)w->N,
                       (long long)w->n_blocks, (long long)w->blob);
    if (S->dtype != A->dtype || rt_numel(S) != w->N * w->n_blocks)
        return rt_fail(c, "scales must be A's type with N * n_blocks = %lld elements", (long long)(w->N * w->n_blocks));
    if (Z) {
        int64_t want = Z->dtype == RT_U8 ? w->N * w->zp_row : w->N * w->n_blocks;
        if ((Z->dtype != RT_U8 && Z->dtype != A->dtype) || rt_numel(Z) != want)
            return rt_fail(c, "zero_points must be uint8 packed [N, %lld] or A's type [N, %lld]",
                           (long long)w->zp_row, (long long)w->n_blocks);
    }
    if (G && (G->dtype != RT_I32 || rt_numel(G) != w->K))
        return rt_fail(c, "g_idx must be int32 with K=%lld elements", (long long)w->K);
    if (bias && (bias->dtype != A->dtype || rt_numel(bias) != w->N))
        return rt_fail(c, "bias must be A's type with N=%lld elements", (long long)w->N);
    if (w->K > INT32_MAX || w->N > INT32_MAX) return rt_fail(c, "K and N must fit in 32 bits");
    w->b = B->data;
    w->scales = S;
    w->zp = Z;
    w->g_idx = G ? (const int32_t *)G->data : NULL; /* NULL data in shape mode: checked later */
    return RT_OK;
}

/* g_idx values index blocks; an out-of-range one is bad input, never a wild read. */
static int mnb_check_g_idx(RtKernelCtx *c, const MnbWeight *w) {
    if (!w->g_idx) return RT_OK;
    for (int64_t k = 0; k < w->K; k++)
        if (w->g_idx[k] < 0 || w->g_idx[k] >= w->n_blocks)
            return rt_fail(c, "g_idx[%lld]=%d is outside [0, %lld)", (long long)k, (int)w->g_idx[k],
                           (long long)w->n_blocks);
    return RT_OK;
}

/* Y[M, N] (float) = A[M, K] @ W^T + bias, W dequantized MNB_TILE_N rows at a time. */
static int mnb_run(RtKernelCtx *c, const MnbWeight *w, const float *a, int64_t M, const RtTensor *bias, float *y) {
    float *tile = rt_scratch(c, (size_t)MNB_TILE_N * (size_t)(w->K ? w->K : 1) * sizeof(float));
    if (!tile) return RT_ERR_NOMEM;
    if (w->K == 0) memset(y, 0, (size_t)(M * w->N) * sizeof(float)); /* empty sums; BLAS wants lda >= 1 */
    for (int64_t n0 = 0; w->K > 0 && n0 < w->N; n0 += MNB_TILE_N) {
        int64_t n1 = n0 + MNB_TILE_N < w->N ? n0 + MNB_TILE_N : w->N;
        mnb_dequant_rows(w, n0, n1, tile);
        /* rt_sgemm's row counts are int: go down A in chunks of at most INT32_MAX rows */
        for (int64_t m0 = 0; m0 < M; m0 += INT32_MAX) {
            int64_t mr = M - m0 < INT32_MAX ? M - m0 : INT32_MAX;
            rt_sgemm(0, 1, (int)mr, (int)(n1 - n0), (int)w->K, 1.0f, a + m0 * w->K, (int)w->K, tile, (int)w->K,
                     0.0f, y + m0 * w->N + n0, (int)w->N);
        }
    }
    rt_scratch_free(c, tile);
    if (bias)
        for (int64_t m = 0; m < M; m++)
            for (int64_t j = 0; j < w->N; j++) y[m * w->N + j] += (float)rt_get_f64(bias, j);
    return RT_OK;
}

static int mnb_run_widened(RtKernelCtx *c, const MnbWeight *w, const RtTensor *A, int64_t M,
                           const RtTensor *bias, RtTensor *Y);

static int k_matmul_nbits(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    MnbWeight w;
    RT_TRY(mnb_check(c, n, in, &w));
    const RtTensor *A = in[0];
    int64_t dims[RT_MAX_RANK];
    memcpy(dims, A->dims, sizeof dims);
    dims[A->rank - 1] = w.N;
    RT_TRY(mnb_check_g_idx(c, &w));
    RT_TRY(rt_out_alloc(c, out[0], A->dtype, A->rank, dims));
    int64_t M = w.K ? rt_numel(A) / w.K : rt_numel(out[0]) / (w.N ? w.N : 1);
    int r;
    if (rt_q4q8_applies(n, in)) {
        RtQ4Weight q4;
        rt_q4q8_weight(n, in, &q4);
        const RtTensor *bias = rt_in(n, in, 5);
        r = rt_q4q8_run_ref(c, &q4, A->data, M, bias ? bias->data : NULL, out[0]->data);
    } else if (A->dtype == RT_F32) {
        r = mnb_run(c, &w, A->data, M, rt_in(n, in, 5), out[0]->data);
    } else {
        r = mnb_run_widened(c, &w, A, M, rt_in(n, in, 5), out[0]);
    }
    if (r != RT_OK) { /* the output was allocated: leave nothing behind on failure */
        c->alloc->free(c->alloc->user, out[0]->data);
        out[0]->data = NULL;
    }
    return r;
}

/* float16 / bfloat16: widen A, compute in float, round each output once. */
static int mnb_run_widened(RtKernelCtx *c, const MnbWeight *w, const RtTensor *A, int64_t M,
                           const RtTensor *bias, RtTensor *Y) {
    float *a = rt_scratch(c, (size_t)(M * w->K + 1) * sizeof(float));
    float *y = rt_scratch(c, (size_t)(M * w->N + 1) * sizeof(float));
    int r = (a && y) ? RT_OK : RT_ERR_NOMEM;
    if (r == RT_OK) {
        for (int64_t i = 0; i < M * w->K; i++) a[i] = (float)rt_get_f64(A, i);
        r = mnb_run(c, w, a, M, bias, y);
    }
    if (r == RT_OK)
        for (int64_t i = 0; i < M * w->N; i++) rt_set_f64(Y, i, y[i]);
    if (a) rt_scratch_free(c, a);
    if (y) rt_scratch_free(c, y);
    return r;
}

const RtKernelEntry rt_kernels_matmul_nbits[] = {
    {RT_OP_MATMUL_NBITS, k_matmul_nbits},
    {-1, 0},
};
