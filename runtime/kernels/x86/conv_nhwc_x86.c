/*
 * conv_nhwc_x86.c — float32 convs whose output is channels-last (rt_plan_fast.h): the GEMM
 * Y[P, M] = act(A[P, K] * W^T + b) (cx_ngemm_run, conv_x86.h) and the 1x1 convs with an NHWC
 * input or output (cx_pointwise_nhwc_f32).
 *
 * Why a GEMM of its own: with positions as rows and output channels as columns, a tile of
 * 6 rows x 64 columns holds 24 accumulators; per k it loads 4 vectors of W^T (packed once,
 * [K][64] per block of 64 channels, so the block of a 64 x 64 conv is 16 KiB and stays in
 * L1 across the row tiles) and broadcasts one A value per row straight from memory, which
 * works for any strides of A: an NHWC input (each row contiguous), an NCHW one or im2col
 * columns (each k contiguous). Nothing of A is packed and few lanes are lost to a short
 * row count (KWS's 125 positions: 21 tiles of 6 rows), where the general GEMM with
 * channels as rows and positions as columns packs its B = X on every call (KWS's 64 x 64
 * 1x1 conv: 5.6 us there, 4.7 here; the FMA peak is 4.4). Tile edges: instances for 1..6
 * rows and 1..4 vectors, the last vector of a block stored through a lane mask.
 *
 * Each element is the bias plus the products in k order (the accumulators start at the
 * bias: ~2% of KWS's 1x1 convs against adding it after the sum), one tile computes it
 * whatever the split; rows are split over threads in tiles of 6
 * when the product is big enough, so results are bit-identical for any thread count.
 *
 * The 1x1 conv with y NHWC: cx_ngemm with A = X (NHWC: sp = C, sk = 1; NCHW: sp = 1,
 * sk = P). An NHWC x with an NCHW y is not taken (cx_conv_nhwc_caps): the general GEMM's
 * transposed-B path measured slower than the transposes the layout saves (MobileNet's
 * projections 48 -> 64 us).
 */
#include <string.h>

#include "../../rt_threads.h"
#include "conv_x86.h"

/* Multiply-adds below which one thread does the whole product (as the GEMM's SG_PAR_MIN:
 * KWS's 125 x 64 x 64 runs faster on one core than split across two). */
#define NG_PAR_MIN ((int64_t)1 << 21)
/* Rows of a tile, and columns of a packed block. */
#define NG_MR 6
#define NG_NB 64

int64_t cx_ngemm_packed_floats(int64_t M, int64_t K) { return (M + NG_NB - 1) / NG_NB * K * NG_NB; }

void cx_ngemm_pack(const float *w, int64_t M, int64_t K, float *dst) {
    for (int64_t cb = 0; cb < M; cb += NG_NB)
        for (int64_t k = 0; k < K; k++, dst += NG_NB)
            for (int64_t j = 0; j < NG_NB; j++) dst[j] = cb + j < M ? w[(cb + j) * K + k] : 0.0f;
}

#if defined(__x86_64__) && defined(__GNUC__)

/* Rows [p0, p0 + MR) x the NV vectors of column block cb (the last through mask ml); KO:
 * A's offsets from the tables (g->poff, g->koff), else from the strides. */
CX_T512 CX_INL void ng_tile(const CxNgemm *g, const int MR, const int NV, const int KO, int64_t p0, int64_t cb,
                            __mmask16 ml) {
    const int64_t K = g->K, sk = g->sk;
    const float *w = g->wt + cb * K * NG_NB;
    const float *a[NG_MR];
    const int64_t c0 = cb * NG_NB;
    __m512 acc[NG_MR][4], bv[4];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) {
        const __mmask16 m = v == NV - 1 ? ml : (__mmask16)0xffff;
        bv[v] = g->b ? _mm512_maskz_loadu_ps(m, g->b + c0 + 16 * v) : _mm512_setzero_ps();
    }
#pragma GCC unroll 6
    for (int r = 0; r < NG_MR; r++) {
        const int64_t p = p0 + (r < MR ? r : 0);
        a[r] = g->a + (KO ? (int64_t)g->poff[p] : p * g->sp);
#pragma GCC unroll 4
        for (int v = 0; v < 4; v++) acc[r][v] = v < NV ? bv[v] : _mm512_setzero_ps();
    }
    for (int64_t k = 0, o = 0; k < K; k++, o += sk, w += NG_NB) {
        if (KO) o = g->koff[k];
        __m512 wv[4];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) wv[v] = _mm512_load_ps(w + 16 * v);
#pragma GCC unroll 6
        for (int r = 0; r < MR; r++) {
            const __m512 ar = _mm512_set1_ps(a[r][o]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_ps(ar, wv[v], acc[r][v]);
        }
    }
    const RtAct none = {RT_ACT_NONE, 0.0f, 0.0f};
    const RtAct *act = g->act ? g->act : &none;
    const int clip = cx_act_is_clip(act);
    const CxClip cl = cx_clip_make(act);
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
        float *y = g->y + (p0 + r) * g->ldy + c0;
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) {
            const __m512 s = cx_act_apply(clip, cl, act, acc[r][v]);
            if (v == NV - 1) _mm512_mask_storeu_ps(y + 16 * v, ml, s);
            else _mm512_storeu_ps(y + 16 * v, s);
        }
        if (act->kind == RT_ACT_SIGMOID) {
            int64_t n = g->M - c0 < NG_NB ? g->M - c0 : NG_NB;
            rt_act_span(act, y, n, NULL);
        }
    }
}

typedef void (*NgTileFn)(const CxNgemm *g, int64_t p0, int64_t cb, __mmask16 ml);
#define NG_INST(MR, NV, KO)                                                                 \
    CX_T512 static void ng_tile_##MR##_##NV##_##KO(const CxNgemm *g, int64_t p0, int64_t cb, __mmask16 ml) { \
        ng_tile(g, MR, NV, KO, p0, cb, ml);                                                 \
    }
#define NG_INST_ROW(MR, KO) NG_INST(MR, 1, KO) NG_INST(MR, 2, KO) NG_INST(MR, 3, KO) NG_INST(MR, 4, KO)
NG_INST_ROW(1, 0)
NG_INST_ROW(2, 0)
NG_INST_ROW(3, 0)
NG_INST_ROW(4, 0)
NG_INST_ROW(5, 0)
NG_INST_ROW(6, 0)
NG_INST_ROW(1, 1)
NG_INST_ROW(2, 1)
NG_INST_ROW(3, 1)
NG_INST_ROW(4, 1)
NG_INST_ROW(5, 1)
NG_INST_ROW(6, 1)
#define NG_ROW(MR, KO) {ng_tile_##MR##_1_##KO, ng_tile_##MR##_2_##KO, ng_tile_##MR##_3_##KO, ng_tile_##MR##_4_##KO}
static const NgTileFn ng_tiles[2][NG_MR][4] = {
    {NG_ROW(1, 0), NG_ROW(2, 0), NG_ROW(3, 0), NG_ROW(4, 0), NG_ROW(5, 0), NG_ROW(6, 0)},
    {NG_ROW(1, 1), NG_ROW(2, 1), NG_ROW(3, 1), NG_ROW(4, 1), NG_ROW(5, 1), NG_ROW(6, 1)},
};

/* Row tiles [t0, t1) of every column block (column blocks outermost: a block of W^T stays
 * in L1 while the tiles sweep the rows). */
static void ng_chunk(void *arg, int64_t t0, int64_t t1) {
    const CxNgemm *g = arg;
    for (int64_t cb = 0; cb * NG_NB < g->M; cb++) {
        const int64_t cols = g->M - cb * NG_NB < NG_NB ? g->M - cb * NG_NB : NG_NB;
        const int nv = (int)((cols + 15) / 16);
        const int64_t last = cols - 16 * (nv - 1);
        const __mmask16 ml = (__mmask16)(last >= 16 ? 0xffffu : (1u << last) - 1);
        for (int64_t t = t0; t < t1; t++) {
            const int64_t p0 = t * NG_MR, mr = g->P - p0 < NG_MR ? g->P - p0 : NG_MR;
            ng_tiles[g->koff != NULL][mr - 1][nv - 1](g, p0, cb, ml);
        }
    }
}

void cx_ngemm_run(struct RtThreadPool *pool, const CxNgemm *g) {
    if (g->P < 1 || g->M < 1) return;
    const int64_t tiles = (g->P + NG_MR - 1) / NG_MR;
    const int64_t per_tile = NG_MR * g->M * (g->K > 0 ? g->K : 1);
    int64_t min = tiles;
    if (tiles * per_tile >= NG_PAR_MIN) min = (NG_PAR_MIN / 4 + per_tile - 1) / per_tile;
    rt_parallel_for(pool, tiles, min, ng_chunk, (void *)g);
}

#else /* not x86-64 GCC/Clang: never selected (cx_cpu_ok() is 0); scalar for the build */

void cx_ngemm_run(struct RtThreadPool *pool, const CxNgemm *g) {
    (void)pool;
    for (int64_t p = 0; p < g->P; p++)
        for (int64_t m = 0; m < g->M; m++) {
            const float *w = g->wt + (m / NG_NB) * g->K * NG_NB + m % NG_NB;
            float s = 0.0f;
            for (int64_t k = 0; k < g->K; k++)
                s += g->a[g->koff ? g->poff[p] + g->koff[k] : p * g->sp + k * g->sk] * w[k * NG_NB];
            float v = s + (g->b ? g->b[m] : 0.0f);
            g->y[p * g->ldy + m] = g->act ? rt_act_f32(g->act, v) : v;
        }
}

#endif

int cx_pointwise_nhwc_f32(RtKernelCtx *c, const CxConv *cv) {
    if (cv->group != 1) return rt_fail(c, "channels-last 1x1 conv of %lld groups", (long long)cv->group);
    const int64_t C = cv->C, M = cv->M, P = cv->Pin;
    if (!cv->nhwc_out) return rt_fail(c, "channels-last input of a 1x1 conv with an NCHW output");
    float *tmp = NULL;
    const float *wt = cv->wt;
    if (!wt) {
        tmp = rt_scratch(c, sizeof(float) * (size_t)cx_ngemm_packed_floats(M, C));
        if (!tmp) return RT_ERR_NOMEM;
        cx_ngemm_pack(cv->w, M, C, tmp);
        wt = tmp;
    }
    for (int64_t im = 0; im < cv->N; im++) {
        CxNgemm g = {P, M, C, cv->x + im * C * P, cv->nhwc_in ? C : 1, cv->nhwc_in ? 1 : P, wt, cv->b,
                     cv->y + im * P * M, M, &cv->act, NULL, NULL};
        cx_ngemm_run(c->pool, &g);
    }
    rt_scratch_free(c, tmp);
    return RT_OK;
}

/* ---------------------------------------------------------------- taps from a padded input
 * A one-group conv NCHW -> NHWC: the input copied once into a zero-padded plane per channel,
 * xp[C][IHp][IWp] (IHp, IWp reaching every tap of every output), and cx_ngemm reading
 * A[p, k] = xp[poff[p] + koff[k]] with poff[p] = oh * sh * IWp + ow * sw and koff[k] for
 * k = (c, kh, kw) = c * IHp * IWp + kh * dh * IWp + kw * dw: the im2col matrix is never
 * built (KWS's first conv, 40 taps x 125 positions, spent 1.1 of its 4.8 us building it). */

/* Most floats of the padded input (and entries of each table) the path takes. */
#define TAPS_MAX_FLOATS ((int64_t)1 << 15)

static void taps_geom(const CxConv *cv, int64_t *IHp, int64_t *IWp) {
    const RtConvGeom *g = &cv->g;
    int64_t h = (g->out[1] - 1) * g->stride[1] + (g->k[1] - 1) * g->dil[1] + 1;
    int64_t w = (g->out[2] - 1) * g->stride[2] + (g->k[2] - 1) * g->dil[2] + 1;
    *IHp = h > g->pad0[1] + g->in[1] ? h : g->pad0[1] + g->in[1];
    *IWp = w > g->pad0[2] + g->in[2] ? w : g->pad0[2] + g->in[2];
}

int cx_taps_nhwc_fits(const CxConv *cv) {
    int64_t IHp, IWp;
    taps_geom(cv, &IHp, &IWp);
    const RtConvGeom *g = &cv->g;
    return cv->group == 1 && g->nsp == 2 && g->pad0[1] >= 0 && g->pad0[2] >= 0 && cv->C * IHp * IWp <= TAPS_MAX_FLOATS &&
           cv->Pout <= TAPS_MAX_FLOATS && cv->C * cv->K <= TAPS_MAX_FLOATS;
}

int cx_taps_nhwc_f32(RtKernelCtx *c, const CxConv *cv) {
    const RtConvGeom *g = &cv->g;
    int64_t IHp, IWp;
    taps_geom(cv, &IHp, &IWp);
    const int64_t IH = g->in[1], IW = g->in[2], OH = g->out[1], OW = g->out[2], KH = g->k[1], KW = g->k[2];
    const int64_t C = cv->C, CK = C * cv->K, plane = IHp * IWp;
    const int64_t nxp = (C * plane + 15) / 16 * 16;
    /* scratch: W^T packed when the state has none (64-byte aligned, a multiple of 16
     * floats), the padded input, the tables */
    const float *wt = cv->wt;
    const int64_t nwt = wt ? 0 : cx_ngemm_packed_floats(cv->M, CK);
    float *buf = rt_scratch(c, sizeof(float) * (size_t)(nwt + nxp) + sizeof(int32_t) * (size_t)(cv->Pout + CK));
    if (!buf) return RT_ERR_NOMEM;
    float *xp = buf + nwt;
    int32_t *poff = (int32_t *)(xp + nxp), *koff = poff + cv->Pout;
    if (!wt) {
        cx_ngemm_pack(cv->w, cv->M, CK, buf);
        wt = buf;
    }
    for (int64_t oh = 0, p = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < OW; ow++) poff[p++] = (int32_t)(oh * g->stride[1] * IWp + ow * g->stride[2]);
    for (int64_t ch = 0, k = 0; ch < C; ch++)
        for (int64_t kh = 0; kh < KH; kh++)
            for (int64_t kw = 0; kw < KW; kw++) koff[k++] = (int32_t)(ch * plane + kh * g->dil[1] * IWp + kw * g->dil[2]);
    for (int64_t im = 0; im < cv->N; im++) {
        memset(xp, 0, sizeof(float) * (size_t)(C * plane));
        for (int64_t ch = 0; ch < C; ch++)
            for (int64_t ih = 0; ih < IH; ih++)
                memcpy(xp + ch * plane + (ih + g->pad0[1]) * IWp + g->pad0[2], cv->x + ((im * C + ch) * IH + ih) * IW,
                       sizeof(float) * (size_t)IW);
        CxNgemm ng = {cv->Pout, cv->M, CK, xp, 0, 0, wt, cv->b, cv->y + im * cv->Pout * cv->M, cv->M, &cv->act,
                      poff, koff};
        cx_ngemm_run(c->pool, &ng);
    }
    rt_scratch_free(c, buf);
    return RT_OK;
}
