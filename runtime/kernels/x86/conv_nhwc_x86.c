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
 * columns (each k contiguous). Nothing of A is packed, and no lanes are lost to a short
 * row count (KWS's 125 positions: 21 tiles of 6 rows), where the general GEMM with
 * channels as rows and positions as columns packs its B = X per call and pads 125
 * columns to its 48-column panels. Tile edges: instances for 1..6 rows and 1..4 vectors,
 * the last vector of a block stored through a lane mask.
 *
 * Each element is bias + the products in k order (sum first, then the bias, as the general
 * GEMM), one tile computes it whatever the split; rows are split over threads in tiles of 6
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

/* Rows [p0, p0 + MR) x the NV vectors of column block cb (the last through mask ml). */
CX_T512 CX_INL void ng_tile(const CxNgemm *g, const int MR, const int NV, int64_t p0, int64_t cb, __mmask16 ml) {
    const int64_t K = g->K, sk = g->sk;
    const float *w = g->wt + cb * K * NG_NB;
    const float *a[NG_MR];
    __m512 acc[NG_MR][4];
#pragma GCC unroll 6
    for (int r = 0; r < NG_MR; r++) {
        a[r] = g->a + (p0 + (r < MR ? r : 0)) * g->sp;
#pragma GCC unroll 4
        for (int v = 0; v < 4; v++) acc[r][v] = _mm512_setzero_ps();
    }
    for (int64_t k = 0, o = 0; k < K; k++, o += sk, w += NG_NB) {
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
    const int64_t c0 = cb * NG_NB;
    __m512 bv[4];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) {
        const __mmask16 m = v == NV - 1 ? ml : (__mmask16)0xffff;
        bv[v] = g->b ? _mm512_maskz_loadu_ps(m, g->b + c0 + 16 * v) : _mm512_setzero_ps();
    }
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
        float *y = g->y + (p0 + r) * g->ldy + c0;
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) {
            const __m512 s = cx_act_apply(clip, cl, act, _mm512_add_ps(acc[r][v], bv[v]));
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
#define NG_INST(MR, NV)                                                                    \
    CX_T512 static void ng_tile_##MR##_##NV(const CxNgemm *g, int64_t p0, int64_t cb, __mmask16 ml) { \
        ng_tile(g, MR, NV, p0, cb, ml);                                                    \
    }
#define NG_INST_ROW(MR) NG_INST(MR, 1) NG_INST(MR, 2) NG_INST(MR, 3) NG_INST(MR, 4)
NG_INST_ROW(1)
NG_INST_ROW(2)
NG_INST_ROW(3)
NG_INST_ROW(4)
NG_INST_ROW(5)
NG_INST_ROW(6)
#define NG_ROW(MR) {ng_tile_##MR##_1, ng_tile_##MR##_2, ng_tile_##MR##_3, ng_tile_##MR##_4}
static const NgTileFn ng_tiles[NG_MR][4] = {NG_ROW(1), NG_ROW(2), NG_ROW(3), NG_ROW(4), NG_ROW(5), NG_ROW(6)};

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
            ng_tiles[mr - 1][nv - 1](g, p0, cb, ml);
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
            for (int64_t k = 0; k < g->K; k++) s += g->a[p * g->sp + k * g->sk] * w[k * NG_NB];
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
                     cv->y + im * P * M, M, &cv->act};
        cx_ngemm_run(c->pool, &g);
    }
    rt_scratch_free(c, tmp);
    return RT_OK;
}
