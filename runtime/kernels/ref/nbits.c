/*
 * nbits.c — LinearNBits (contract in runtime/kernels/wafer_ops.h): a linear layer whose
 * weights are 2/3/4/8-bit codes packed as runtime/kernels/qblock.h says, with a float scale
 * and a u8 zero point per (output row, group):
 *     Y[..., N] = act(X[..., K] @ W + B),  W[k, n] = (q[n, k] - zeros[n, g(k)]) * scales[n, g(k)]
 * g(k) = g_idx[k] when g_idx is given (act-order), else k / G (G = group, or K when 0).
 *
 * This file holds the kernel (checks, then rt_nbits_linear_run), the driver shared by every
 * implementation, the reference implementation (the readable spec: one weight at a time
 * from rt_qblock_code) and the dispatch (rt_nbits_impl_select, see nbits.h).
 *
 * The driver never builds a dequantized copy of W. For up to RT_NBITS_DIRECT_ROWS rows of X
 * (batch 1 above all) it runs the implementation's gemv, which decodes each packed row in
 * registers and multiplies as it goes; it splits the output rows over the thread pool. For
 * more rows it dequantizes W^T in tiles of 64 or 256 output rows by NBITS_TILE_K columns
 * (one tile per thread, in L2) and multiplies each tile with rt_sgemm, so the
 * decode is paid once per weight per batch. The reference implementation always takes the
 * direct path, 4 rows of X at a time. Groups that are runs of whole blocks (G a multiple of
 * 32, or one group) take the implementations' fast path; other G and act-order g_idx are
 * turned into a per-column group index first (gi, padded to whole blocks).
 * With accuracy_level 4 (4 bits, G a multiple of 32, no g_idx) the kernel runs the int8
 * compute of ../nbits_int8.h instead (X quantized per row and group), then bias and act.
 */
#include <stdlib.h>
#include <string.h>

#include "../../rt_threads.h"
#include "../gemm.h"
#include "../kernel.h"
#include "../nbits.h"
#include "../nbits_int8.h"
#include "activation.h"

/* GEMM tiles: NBITS_TILE_N output rows x NBITS_TILE_K columns of W^T (a multiple of 32),
 * 128 KiB, or NBITS_TILE_N_BIG rows (512 KiB) from NBITS_BIG_ROWS rows of X on. Measured on
 * this project's machine with OpenBLAS 0.3.21, one thread: X[rows, 512] times a 64-row tile
 * ran at 75-105 GFLOP/s for any row count, while 128- or 256-row tiles fell to 25-60
 * GFLOP/s for 5-16 rows; from 64 rows on, 256-row tiles made the whole product 10-15%
 * faster (fewer, larger GEMMs). */
#define NBITS_TILE_N 64
#define NBITS_TILE_N_BIG 256
#define NBITS_BIG_ROWS 64
#ifndef NBITS_TILE_K
#define NBITS_TILE_K 512
#endif
/* Least weights (or weight x row products) per parallel chunk: below this handing a chunk
 * to a worker costs about as much as running it (a few microseconds). */
#define NBITS_PAR_MIN_WORK ((int64_t)1 << 16)
/* Bytes of X rows one direct pass may use (two thirds of a 48 KiB L1 data cache). */
#define NBITS_X_L1 ((int64_t)32 << 10)

/* ---- reference implementation ---- */

/* W[k, n] exactly as the contract writes it; row = packed row n. */
static float ref_weight(const RtNbitsWeight *w, const uint8_t *row, int64_t n, int64_t k) {
    int64_t g = w->gi ? w->gi[k] : k / w->G;
    int q = (int)rt_qblock_code(w->bits, row + (size_t)(k / RT_QBLOCK_K) * RT_QBLOCK_BYTES(w->bits),
                                (int)(k % RT_QBLOCK_K));
    return (float)(q - (int)w->zeros[n * w->NG + g]) * w->scales[n * w->NG + g];
}

/* Sums in column order, one float accumulator per output, as rt_sgemm_ref does. */
static void ref_gemv(const RtNbitsWeight *w, const float *x, int64_t ldx, int rows, float *y, int64_t ldy,
                     int64_t n0, int64_t n1, float *zbuf) {
    (void)zbuf;
    for (int64_t n = n0; n < n1; n++) {
        const uint8_t *row = w->packed + (size_t)n * w->row_bytes;
        float acc[RT_NBITS_DIRECT_ROWS] = {0};
        for (int64_t k = 0; k < w->K; k++) {
            float wk = ref_weight(w, row, n, k);
            for (int r = 0; r < rows; r++) acc[r] += x[r * ldx + k] * wk;
        }
        for (int r = 0; r < rows; r++) y[r * ldy + n] = acc[r];
    }
}

static void ref_dequant(const RtNbitsWeight *w, int64_t n0, int64_t n1, int64_t k0, int64_t k1, float *tile,
                        int64_t ldt, float *zbuf) {
    (void)zbuf;
    for (int64_t n = n0; n < n1; n++) {
        const uint8_t *row = w->packed + (size_t)n * w->row_bytes;
        for (int64_t k = k0; k < k1; k++) tile[(n - n0) * ldt + (k - k0)] = ref_weight(w, row, n, k);
    }
}

static int ref_supported(void) {
    return 1;
}

const RtNbitsImpl rt_nbits_impl_ref = {"ref", ref_supported, ref_gemv, ref_dequant};

const RtNbitsImpl *rt_nbits_impl_select(void) {
    const char *e = getenv("WAFER_RT_REF");
    if (e && *e && strcmp(e, "0") != 0) return &rt_nbits_impl_ref;
    if (rt_nbits_impl_avx512.supported()) return &rt_nbits_impl_avx512;
    if (rt_nbits_impl_avx2.supported()) return &rt_nbits_impl_avx2;
    return &rt_nbits_impl_ref;
}

/* ---- driver ---- */

int64_t rt_nbits_groups(int64_t K, int64_t group) {
    return group > 0 && K > 0 ? (K + group - 1) / group : 1;
}

typedef struct {
    const RtNbitsImpl *impl;
    const RtNbitsWeight *w;
    const RtNbitsLinear *L;
    const float *x;         /* [rows, ldx]: X, or its rows padded to nb * 32 columns */
    int64_t ldx, rows;
    float *y;               /* [rows(of the whole run), N] at the first row of this pass */
    int64_t slots;          /* chunks of the parallel loop, one scratch slot each */
    int64_t tile_n;         /* tiled path: output rows per tile */
    char *scratch;          /* [slots * stride] */
    size_t stride;
} NbitsJob;

/* Direct path, one slot: output rows of its chunk for up to RT_NBITS_DIRECT_ROWS X rows. */
static void direct_chunk(void *arg, int64_t s0, int64_t s1) {
    const NbitsJob *j = arg;
    const int64_t N = j->w->N;
    for (int64_t s = s0; s < s1; s++) {
        int64_t n0, n1;
        rt_chunk_range(N, j->slots, s, &n0, &n1);
        j->impl->gemv(j->w, j->x, j->ldx, (int)j->rows, j->y, N, n0, n1, (float *)(j->scratch + s * j->stride));
        for (int64_t r = 0; r < j->rows; r++)
            if (j->L->bias || j->L->act.kind != RT_ACT_NONE)
                rt_act_span(&j->L->act, j->y + r * N + n0, n1 - n0, j->L->bias ? j->L->bias + n0 : NULL);
    }
}

/* Tiled path, one slot: its tiles of j->tile_n output rows, each dequantized
 * NBITS_TILE_K columns at a time into the slot's buffer (followed by its NG-float zbuf)
 * and multiplied with rt_sgemm. */
static void tiled_chunk(void *arg, int64_t s0, int64_t s1) {
    const NbitsJob *j = arg;
    const int64_t N = j->w->N, K = j->w->K, TN = j->tile_n, tiles = (N + TN - 1) / TN;
    for (int64_t s = s0; s < s1; s++) {
        float *tile = (float *)(j->scratch + s * j->stride), *zbuf = tile + TN * NBITS_TILE_K;
        int64_t t0, t1;
        rt_chunk_range(tiles, j->slots, s, &t0, &t1);
        for (int64_t t = t0; t < t1; t++) {
            int64_t n0 = t * TN, nt = N - n0 < TN ? N - n0 : TN;
            for (int64_t k0 = 0; k0 < K; k0 += NBITS_TILE_K) {
                int64_t kt = K - k0 < NBITS_TILE_K ? K - k0 : NBITS_TILE_K;
                j->impl->dequant(j->w, n0, n0 + nt, k0, k0 + kt, tile, NBITS_TILE_K, zbuf);
                rt_sgemm(0, 1, (int)j->rows, (int)nt, (int)kt, 1.0f, j->x + k0, (int)j->ldx, tile, NBITS_TILE_K,
                         k0 == 0 ? 0.0f : 1.0f, j->y + n0, (int)N);
            }
            for (int64_t r = 0; r < j->rows; r++)
                if (j->L->bias || j->L->act.kind != RT_ACT_NONE)
                    rt_act_span(&j->L->act, j->y + r * N + n0, nt, j->L->bias ? j->L->bias + n0 : NULL);
        }
    }
}

static void *nbits_alloc(const RtAllocator *a, size_t bytes) {
    return a->alloc(a->user, bytes ? bytes : 1);
}

int rt_nbits_weight_prepare(const RtNbitsLinear *L, RtNbitsWeight *w, int32_t **gi_out, const RtAllocator *a,
                            RtError *err) {
    memset(w, 0, sizeof *w);
    w->bits = L->bits;
    w->N = L->N;
    w->K = L->K;
    w->NG = rt_nbits_groups(L->K, L->group);
    w->nb = rt_qblock_row_blocks(L->K);
    w->row_bytes = rt_qblock_row_bytes(L->bits, L->K);
    w->packed = L->packed;
    w->scales = L->scales;
    w->zeros = L->zeros;
    *gi_out = NULL;
    const int64_t kpad = w->nb * RT_QBLOCK_K;
    if (!L->g_idx && (L->group == 0 || L->group >= L->K || L->group % RT_QBLOCK_K == 0)) {
        w->G = L->group == 0 || L->group >= L->K ? kpad : L->group; /* whole blocks per group */
        return RT_OK;
    }
    int32_t *gi = nbits_alloc(a, sizeof(int32_t) * (size_t)kpad);
    if (!gi) return rt_error_set(err, "out of memory for the group index"), RT_ERR_NOMEM;
    for (int64_t k = 0; k < kpad; k++) {
        int64_t g = k >= L->K ? 0 : L->g_idx ? L->g_idx[k] : k / L->group;
        if (g < 0 || g >= w->NG) {
            a->free(a->user, gi);
            return rt_error_set(err, "g_idx[%lld] = %lld is outside [0, %lld) (the number of groups)", (long long)k,
                                (long long)g, (long long)w->NG);
        }
        gi[k] = (int32_t)g;
    }
    w->gi = *gi_out = gi;
    w->G = L->group > 0 ? L->group : kpad;
    return RT_OK;
}

/* Direct path over all rows of X, up to RT_NBITS_DIRECT_ROWS at a time: as many as keep
 * their X rows within NBITS_X_L1 bytes, so they stay in L1 while every packed row streams
 * past them (4 rows of K = 4096 did not: 2.7 ms a call against 2 x 1.1 ms in two passes of
 * 2 rows, measured on this project's machine). */
static int run_direct(NbitsJob *j, const float *x, int64_t rows, float *y, struct RtThreadPool *pool,
                      const RtAllocator *a) {
    const RtNbitsWeight *w = j->w;
    const int64_t kpad = w->nb * RT_QBLOCK_K, per_row = w->K * RT_NBITS_DIRECT_ROWS;
    int64_t pass = NBITS_X_L1 / ((int64_t)sizeof(float) * kpad); /* X rows per pass */
    pass = pass < 1 ? 1 : pass > RT_NBITS_DIRECT_ROWS ? RT_NBITS_DIRECT_ROWS : pass;
    const int pad = kpad != w->K; /* rows of X must be copied with zeros up to whole blocks */
    j->slots = rt_pool_chunks(pool, w->N, per_row >= NBITS_PAR_MIN_WORK ? 1 : NBITS_PAR_MIN_WORK / per_row);
    j->stride = rt_slot_stride(sizeof(float) * (size_t)w->NG, j->slots);
    size_t xbytes = pad ? sizeof(float) * (size_t)(RT_NBITS_DIRECT_ROWS * kpad) : 0;
    char *buf = nbits_alloc(a, j->stride * (size_t)j->slots + xbytes);
    if (!buf) return RT_ERR_NOMEM;
    j->scratch = buf;
    float *xp = (float *)(buf + j->stride * (size_t)j->slots);
    for (int64_t r0 = 0; r0 < rows; r0 += pass) {
        j->rows = rows - r0 < pass ? rows - r0 : pass;
        j->y = y + r0 * w->N;
        j->x = x + r0 * w->K;
        j->ldx = w->K;
        if (pad) {
            memset(xp, 0, xbytes);
            for (int64_t r = 0; r < j->rows; r++)
                memcpy(xp + r * kpad, x + (r0 + r) * w->K, sizeof(float) * (size_t)w->K);
            j->x = xp;
            j->ldx = kpad;
        }
        rt_parallel_for(pool, j->slots, 1, direct_chunk, j);
    }
    a->free(a->user, buf);
    return RT_OK;
}

static int run_tiled(NbitsJob *j, const float *x, int64_t rows, float *y, struct RtThreadPool *pool,
                     const RtAllocator *a) {
    j->tile_n = rows >= NBITS_BIG_ROWS ? NBITS_TILE_N_BIG : NBITS_TILE_N;
    const int64_t tiles = (j->w->N + j->tile_n - 1) / j->tile_n;
    j->slots = rt_pool_chunks(pool, tiles, 1);
    j->stride = rt_slot_stride(sizeof(float) * (size_t)(j->tile_n * NBITS_TILE_K + j->w->NG), j->slots);
    j->scratch = nbits_alloc(a, j->stride * (size_t)j->slots);
    if (!j->scratch) return RT_ERR_NOMEM;
    j->x = x;
    j->ldx = j->w->K;
    j->rows = rows;
    j->y = y;
    rt_parallel_for(pool, j->slots, 1, tiled_chunk, j);
    a->free(a->user, j->scratch);
    return RT_OK;
}

int rt_nbits_linear_run(const RtNbitsImpl *impl, const RtNbitsLinear *L, const float *x, int64_t rows, float *y,
                        struct RtThreadPool *pool, const RtAllocator *a, RtError *err) {
    if (!a) a = rt_allocator_default();
    if (rows <= 0 || L->N <= 0) return RT_OK;
    if (L->K == 0) { /* an empty sum: act(bias) */
        memset(y, 0, sizeof(float) * (size_t)(rows * L->N));
        for (int64_t r = 0; r < rows; r++) rt_act_span(&L->act, y + r * L->N, L->N, L->bias);
        return RT_OK;
    }
    RtNbitsWeight w;
    int32_t *gi;
    RT_TRY(rt_nbits_weight_prepare(L, &w, &gi, a, err));
    NbitsJob j = {impl, &w, L, x, L->K, rows, y, 0, 0, NULL, 0};
    int st = rows <= RT_NBITS_DIRECT_ROWS || impl == &rt_nbits_impl_ref ? run_direct(&j, x, rows, y, pool, a)
                                                                         : run_tiled(&j, x, rows, y, pool, a);
    if (gi) a->free(a->user, gi);
    if (st == RT_ERR_NOMEM) rt_error_set(err, "out of memory for LinearNBits scratch");
    return st;
}

/* ---- the kernel ---- */

/* Checks the inputs against X's K and scales' N; fills L's sizes and attributes. */
static int nbits_check(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtNbitsLinear *L) {
    const RtTensor *x = rt_in(n, in, 0), *wp = rt_in(n, in, 1), *sc = rt_in(n, in, 2), *zp = rt_in(n, in, 3);
    const RtTensor *gx = rt_in(n, in, 4), *b = rt_in(n, in, 5);
    char s1[128], s2[128];
    if (!x || !wp || !sc || !zp) return rt_fail(c, "inputs X, Wp, scales and zeros are required");
    if (!rt_attr(n, "bits")) return rt_fail(c, "attribute 'bits' is required (2, 3, 4 or 8)");
    int64_t bits = rt_attr_int(n, "bits", 0), group = rt_attr_int(n, "group", 0);
    if (bits < 0 || bits > 8 || !rt_qblock_bits_ok((int)bits))
        return rt_fail(c, "attribute bits = %lld is not 2, 3, 4 or 8", (long long)bits);
    if (group < 0) return rt_fail(c, "attribute group = %lld must be >= 0", (long long)group);
    if (x->dtype != RT_F32 || x->rank < 1)
        return rt_fail(c, "input X must be float32 of rank >= 1, got %s of rank %d", rt_dtype_name(x->dtype), x->rank);
    if (wp->dtype != RT_U8 || sc->dtype != RT_F32 || zp->dtype != RT_U8)
        return rt_fail(c, "Wp must be uint8 (got %s), scales float32 (got %s), zeros uint8 (got %s)",
                       rt_dtype_name(wp->dtype), rt_dtype_name(sc->dtype), rt_dtype_name(zp->dtype));
    const int64_t K = x->dims[x->rank - 1];
    if (sc->rank != 2 || !rt_shape_equal(sc, zp))
        return rt_fail(c, "scales %s and zeros %s must both be [N, groups]", rt_shape_str(sc->rank, sc->dims, s1, sizeof s1),
                       rt_shape_str(zp->rank, zp->dims, s2, sizeof s2));
    const int64_t N = sc->dims[0], NG = rt_nbits_groups(K, group);
    if (sc->dims[1] != NG)
        return rt_fail(c, "scales %s must have %lld groups per row (K = %lld, group = %lld)",
                       rt_shape_str(sc->rank, sc->dims, s1, sizeof s1), (long long)NG, (long long)K, (long long)group);
    size_t need = rt_qblock_packed_size((int)bits, N, K);
    if (need == SIZE_MAX || (uint64_t)rt_numel(wp) != (uint64_t)need)
        return rt_fail(c, "Wp has %lld bytes; %d-bit codes of N = %lld rows by K = %lld pack into %llu",
                       (long long)rt_numel(wp), (int)bits, (long long)N, (long long)K, (unsigned long long)need);
    if (gx && (gx->dtype != RT_I32 || gx->rank != 1 || gx->dims[0] != K))
        return rt_fail(c, "g_idx must be int32 [K] = [%lld], got %s %s", (long long)K, rt_dtype_name(gx->dtype),
                       rt_shape_str(gx->rank, gx->dims, s1, sizeof s1));
    if (b && (b->dtype != RT_F32 || b->rank != 1 || b->dims[0] != N))
        return rt_fail(c, "bias B must be float32 [N] = [%lld], got %s %s", (long long)N, rt_dtype_name(b->dtype),
                       rt_shape_str(b->rank, b->dims, s1, sizeof s1));
    if (N > INT32_MAX || K > INT32_MAX) /* rt_sgemm takes int sizes */
        return rt_fail(c, "N = %lld, K = %lld exceed the GEMM's int range", (long long)N, (long long)K);
    memset(L, 0, sizeof *L);
    L->bits = (int)bits;
    L->N = N;
    L->K = K;
    L->group = group;
    return rt_act_read(c, n, &L->act);
}

static int k_linear_nbits(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    RtNbitsLinear L;
    RT_TRY(nbits_check(c, n, in, &L));
    const RtTensor *x = in[0], *gx = rt_in(n, in, 4), *b = rt_in(n, in, 5);
    int64_t dims[RT_MAX_RANK], rows = 1;
    for (int i = 0; i < x->rank - 1; i++) rows *= dims[i] = x->dims[i];
    dims[x->rank - 1] = L.N;
    if (rows > INT32_MAX) return rt_fail(c, "X has %lld rows, more than the GEMM's int range", (long long)rows);
    RT_TRY(rt_out_alloc(c, out[0], RT_F32, x->rank, dims));
    L.packed = in[1]->data;
    L.scales = in[2]->data;
    L.zeros = in[3]->data;
    L.g_idx = gx ? gx->data : NULL;
    L.bias = b ? b->data : NULL;
    if (rt_q4q8_applies_linear(n, in)) { /* accuracy_level 4: A in int8 (../nbits_int8.h) */
        RtQ4Weight w;
        rt_q4q8_linear_weight(n, in, &w);
        float *y = out[0]->data;
        int st = rt_q4q8_run_ref(c, &w, x->data, rows, NULL, y);
        for (int64_t r = 0; st == RT_OK && r < rows; r++) rt_act_span(&L.act, y + r * L.N, L.N, L.bias);
        return st;
    }
    return rt_nbits_linear_run(rt_nbits_impl_select(), &L, x->data, rows, out[0]->data, c->pool, c->alloc, c->err);
}

const RtKernelEntry rt_kernels_nbits[] = {
    {RT_OP_LINEAR_NBITS, k_linear_nbits},
    {-1, 0},
};
