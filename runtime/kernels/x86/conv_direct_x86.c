/*
 * conv_direct_x86.c — float32 convs with few input channels (MobileNet's 3x3 stride-2 stem,
 * 3 -> 32 on 224x224) computed directly with AVX-512, no im2col and no GEMM.
 *
 * With Cg * kH * kW small (the stem's 27 taps) im2col + GEMM spends most of its time
 * writing and re-reading the column matrix, and the GEMM's depth is too short to amortize
 * its packing. Here a vector holds 16 outputs of one output row of one channel, and every
 * tap (c, kh, kw) costs one input load shared by MB = 8 output channels: each loaded vector
 * feeds 8 FMAs whose weights are broadcast from a small table. A tile is NV = 3 such
 * vectors (any three (row, column chunk) vectors of a band) times 8 channels: 24
 * accumulators, 3 loads and 8 broadcasts per 24 FMAs.
 *
 * Loads need no masks and no per-tap shuffles: output rows go in bands, and before a band
 * its input rows (all channels) are copied into a zero-padded buffer that stays in L1, split
 * by column phase for stride 2: phase p of a padded row holds Ph_p[j] = x[ih][j*sw + p - pw]
 * (zero outside the row, and rows above or below the plane are zeros), so output column ow's
 * input at tap kw is Ph_{kw*dw % sw}[ow + kw*dw / sw]: one unaligned load at a constant
 * offset per tap (the offsets tabled once per conv: cd_tables). Lanes past the output row
 * read padding zeros and are not stored.
 *
 * Each output is act(bias + sum over taps in order (c, kh, kw)), the same order for every
 * tile shape and thread count, so results are bit-identical for any number of threads (work
 * items are (image, band) pairs, split into contiguous ranges). The weights are regrouped
 * per call into [M/8][taps][8] (zeros for channels past M), with the bias padded alike.
 * Sigmoid is left to a pass of rt_act_span over each finished band (see conv_x86.h).
 */
#include <string.h>

#include "../../rt_threads.h"
#include "conv_x86.h"

/* Most taps Cg * kH * kW (the per-conv offset table); the direct kernel is for few. */
#define CD_MAX_TAPS 64
/* Output channels per tile (the broadcast weights) and output vectors per tile. */
#define CD_MB 8
#define CD_NV 3
/* Output rows per band, at most, and the floats a band's padded input rows may take (32
 * KiB, in L1 while the band's taps read them). */
#define CD_MAX_BAND 8
#define CD_BAND_FLOATS 8192
/* Least multiply-adds per parallel chunk. */
#define CD_PAR_MIN_WORK ((int64_t)1 << 18)

typedef struct {
    const CxConv *cv;
    int64_t S;            /* column phases: the stride along W (1 or 2) */
    int64_t W16;          /* floats of one phase row (a multiple of 16) */
    int64_t chunks;       /* 16-column chunks per output row */
    int64_t band, rows;   /* output rows per band; padded input rows of a band's buffer */
    int64_t bands;        /* bands per image */
    int64_t T;            /* taps Cg * kH * kW */
    int64_t Mb;           /* M rounded up to CD_MB */
    int32_t toff[CD_MAX_TAPS]; /* tap t: float offset in the band buffer from a vector's base */
    const float *wt;      /* [Mb / CD_MB][T][CD_MB] regrouped weights */
    const float *bt;      /* [Mb] bias, zeros past M */
    float *scratch;       /* per slot: one band buffer */
    int64_t slots, slot_floats, items;
} CdJob;

/* Fills the sizes of j for cv (band and buffer); 0 when the direct kernel does not take it. */
static int cd_plan(const CxConv *cv, CdJob *j) {
    const RtConvGeom *g = &cv->g;
    if (g->in[0] != 1 || g->k[0] != 1 || g->out[0] != 1 || cv->group != 1) return 0;
    const int64_t sw = g->stride[2], OW = g->out[2], OH = g->out[1];
    const int64_t reach = (g->k[1] - 1) * g->dil[1] + 1;
    if (sw < 1 || sw > 2 || OW < 16 || cv->Cg * cv->K > CD_MAX_TAPS) return 0;
    memset(j, 0, sizeof *j);
    j->cv = cv;
    j->S = sw;
    j->T = cv->Cg * cv->K;
    j->chunks = (OW + 15) / 16;
    j->W16 = (j->chunks * 16 + (g->k[2] - 1) * g->dil[2] / sw + 15) / 16 * 16;
    const int64_t row_floats = cv->Cg * sw * j->W16; /* one padded input row, every channel */
    j->band = CD_MAX_BAND < OH ? CD_MAX_BAND : OH;
    while (j->band > 1 && ((j->band - 1) * g->stride[1] + reach) * row_floats > CD_BAND_FLOATS) j->band--;
    j->rows = (j->band - 1) * g->stride[1] + reach;
    if (j->rows * row_floats > 4 * CD_BAND_FLOATS) return 0; /* very wide rows: im2col */
    j->bands = (OH + j->band - 1) / j->band;
    j->Mb = (cv->M + CD_MB - 1) / CD_MB * CD_MB;
    return 1;
}

int cx_direct_fits(const CxConv *cv) {
    CdJob j;
    return cd_plan(cv, &j);
}

#if defined(__x86_64__) && defined(__GNUC__)

/* Bits [lo, hi) of a 32-bit mask, clamped to [0, 32). */
static uint32_t cd_bits(int64_t lo, int64_t hi) {
    if (lo < 0) lo = 0;
    if (hi > 32) hi = 32;
    if (hi <= lo) return 0;
    return (hi == 32 ? 0xffffffffu : ((1u << hi) - 1)) & ~((1u << lo) - 1);
}

/* Tap t = (c, kh, kw) reads buffer row c * rows + kh * dh (relative to the output row's
 * first), phase kw*dw % S, column kw*dw / S (relative to the output column). */
static void cd_tables(CdJob *j) {
    const RtConvGeom *g = &j->cv->g;
    const int64_t KH = g->k[1], KW = g->k[2];
    for (int64_t c = 0, t = 0; c < j->cv->Cg; c++)
        for (int64_t kh = 0; kh < KH; kh++)
            for (int64_t kw = 0; kw < KW; kw++, t++) {
                const int64_t q = kw * g->dil[2];
                j->toff[t] = (int32_t)(((c * j->rows + kh * g->dil[1]) * j->S + q % j->S) * j->W16 + q / j->S);
            }
}

/* The band buffer buf[c][r][phase][W16] of image x for padded rows prow0 .. prow0 + rows - 1
 * (input row ih = prow0 + r - ph): phase p, column jj = x[ih][jj * S + p - pw], zero outside
 * the plane. Stride 2 splits 32 input floats into the two phases with two permutes. */
CX_T512 static void cd_fill(const CdJob *j, const float *x, int64_t prow0, float *buf) {
    const CxConv *cv = j->cv;
    const RtConvGeom *g = &cv->g;
    const int64_t IH = g->in[1], IW = g->in[2], ph = g->pad0[1], pw = g->pad0[2], W16 = j->W16;
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (int64_t c = 0; c < cv->Cg; c++)
        for (int64_t r = 0; r < j->rows; r++) {
            float *d = buf + (c * j->rows + r) * j->S * W16;
            const int64_t ih = prow0 + r - ph;
            if (ih < 0 || ih >= IH) {
                memset(d, 0, sizeof(float) * (size_t)(j->S * W16));
                continue;
            }
            const float *xr = x + (c * IH + ih) * IW;
            for (int64_t jj = 0; jj < W16; jj += 16) {
                const int64_t start = jj * j->S - pw; /* input column of lane 0 (phase 0) */
                if (j->S == 1) {
                    const __mmask16 m = (__mmask16)cd_bits(-start, IW - start);
                    _mm512_store_ps(d + jj, _mm512_maskz_loadu_ps(m, xr + start));
                } else {
                    const uint32_t m = cd_bits(-start, IW - start);
                    const __m512 lo = _mm512_maskz_loadu_ps((__mmask16)m, xr + start);
                    const __m512 hi = _mm512_maskz_loadu_ps((__mmask16)(m >> 16), xr + start + 16);
                    _mm512_store_ps(d + jj, _mm512_permutex2var_ps(lo, even, hi));
                    _mm512_store_ps(d + W16 + jj, _mm512_permutex2var_ps(lo, odd, hi));
                }
            }
        }
}

/* NV output vectors (base[i]: the vector's place in the band buffer, y[i]: its first output
 * of channel m0, st[i]: its lanes inside the row) of mn <= 8 channels from m0: acc = bias,
 * then every tap in order, activation, store. w: this channel block's [T][8] weights. */
CX_T512 CX_INL void cd_tile(const CdJob *j, int NV, int clip, const float *const *base, float *const *y,
                            const __mmask16 *st, const float *w, const float *b, int64_t mn) {
    const CxClip cl = cx_clip_make(&j->cv->act);
    const int64_t P = j->cv->Pout, T = j->T;
    __m512 acc[CD_NV][CD_MB];
#pragma GCC unroll 8
    for (int m = 0; m < CD_MB; m++) {
        const __m512 bv = _mm512_set1_ps(b[m]);
#pragma GCC unroll 3
        for (int i = 0; i < NV; i++) acc[i][m] = bv;
    }
    for (int64_t t = 0; t < T; t++, w += CD_MB) {
        const int64_t o = j->toff[t];
        __m512 v[CD_NV];
#pragma GCC unroll 3
        for (int i = 0; i < NV; i++) v[i] = _mm512_loadu_ps(base[i] + o);
#pragma GCC unroll 8
        for (int m = 0; m < CD_MB; m++) {
            const __m512 wv = _mm512_set1_ps(w[m]);
#pragma GCC unroll 3
            for (int i = 0; i < NV; i++) acc[i][m] = _mm512_fmadd_ps(wv, v[i], acc[i][m]);
        }
    }
#pragma GCC unroll 8
    for (int m = 0; m < CD_MB; m++) {
        if (m >= mn) break;
#pragma GCC unroll 3
        for (int i = 0; i < NV; i++)
            _mm512_mask_storeu_ps(y[i] + m * P, st[i], cx_act_apply(clip, cl, &j->cv->act, acc[i][m]));
    }
}

CX_T512 static void cd_tile1_clip(const CdJob *j, const float *const *base, float *const *y, const __mmask16 *st,
                                  const float *w, const float *b, int64_t mn) {
    cd_tile(j, 1, 1, base, y, st, w, b, mn);
}
CX_T512 static void cd_tile2_clip(const CdJob *j, const float *const *base, float *const *y, const __mmask16 *st,
                                  const float *w, const float *b, int64_t mn) {
    cd_tile(j, 2, 1, base, y, st, w, b, mn);
}
CX_T512 static void cd_tile3_clip(const CdJob *j, const float *const *base, float *const *y, const __mmask16 *st,
                                  const float *w, const float *b, int64_t mn) {
    cd_tile(j, 3, 1, base, y, st, w, b, mn);
}
CX_T512 static void cd_tile1_act(const CdJob *j, const float *const *base, float *const *y, const __mmask16 *st,
                                 const float *w, const float *b, int64_t mn) {
    cd_tile(j, 1, 0, base, y, st, w, b, mn);
}
CX_T512 static void cd_tile2_act(const CdJob *j, const float *const *base, float *const *y, const __mmask16 *st,
                                 const float *w, const float *b, int64_t mn) {
    cd_tile(j, 2, 0, base, y, st, w, b, mn);
}
CX_T512 static void cd_tile3_act(const CdJob *j, const float *const *base, float *const *y, const __mmask16 *st,
                                 const float *w, const float *b, int64_t mn) {
    cd_tile(j, 3, 0, base, y, st, w, b, mn);
}

typedef void (*CdTileFn)(const CdJob *j, const float *const *base, float *const *y, const __mmask16 *st,
                         const float *w, const float *b, int64_t mn);

/* Item it = (image, band): the band's input rows into buf, then its vectors in tiles of up
 * to 3, each tile for every block of 8 channels. */
CX_T512 static void cd_item(const CdJob *j, int64_t it, float *buf) {
    const CxConv *cv = j->cv;
    const RtConvGeom *g = &cv->g;
    const int64_t OH = g->out[1], OW = g->out[2], P = cv->Pout, sh = g->stride[1];
    const int64_t im = it / j->bands, oh0 = (it % j->bands) * j->band;
    const int64_t oh1 = oh0 + j->band < OH ? oh0 + j->band : OH;
    const int clip = cx_act_is_clip(&cv->act);
    static const CdTileFn fns[2][CD_NV] = {{cd_tile1_act, cd_tile2_act, cd_tile3_act},
                                           {cd_tile1_clip, cd_tile2_clip, cd_tile3_clip}};
    cd_fill(j, cv->x + im * cv->C * cv->Pin, oh0 * sh, buf);
    float *yim = cv->y + im * cv->M * P;
    const int64_t nvec = (oh1 - oh0) * j->chunks;
    const __mmask16 last = (__mmask16)cd_bits(0, OW - (j->chunks - 1) * 16);
    for (int64_t v0 = 0; v0 < nvec; v0 += CD_NV) {
        const int nv = nvec - v0 < CD_NV ? (int)(nvec - v0) : CD_NV;
        const float *base[CD_NV];
        float *y[CD_NV];
        __mmask16 st[CD_NV];
        for (int i = 0; i < nv; i++) {
            const int64_t r = (v0 + i) / j->chunks, ch = (v0 + i) % j->chunks;
            base[i] = buf + r * sh * j->S * j->W16 + ch * 16;
            y[i] = yim + (oh0 + r) * OW + ch * 16;
            st[i] = ch == j->chunks - 1 ? last : (__mmask16)0xffff;
        }
        for (int64_t m0 = 0; m0 < cv->M; m0 += CD_MB) {
            float *ym[CD_NV];
            for (int i = 0; i < nv; i++) ym[i] = y[i] + m0 * P;
            fns[clip][nv - 1](j, base, ym, st, j->wt + m0 * j->T, j->bt + m0,
                              cv->M - m0 < CD_MB ? cv->M - m0 : CD_MB);
        }
    }
    if (cv->act.kind == RT_ACT_SIGMOID)
        for (int64_t m = 0; m < cv->M; m++) rt_act_span(&cv->act, yim + m * P + oh0 * OW, (oh1 - oh0) * OW, NULL);
}

static void cd_slot(void *arg, int64_t s0, int64_t s1) {
    const CdJob *j = arg;
    for (int64_t s = s0; s < s1; s++) {
        int64_t i0, i1;
        rt_chunk_range(j->items, j->slots, s, &i0, &i1);
        for (int64_t it = i0; it < i1; it++) cd_item(j, it, j->scratch + s * j->slot_floats);
    }
}

int cx_direct_f32(RtKernelCtx *c, const CxConv *cv) {
    CdJob j;
    if (!cd_plan(cv, &j)) return rt_fail(c, "conv geometry beyond the direct kernel's tables");
    cd_tables(&j);
    j.items = cv->N * j.bands;
    const int64_t per_item = j.band * cv->g.out[2] * cv->M * j.T;
    j.slots = rt_pool_chunks(c->pool, j.items, per_item >= CD_PAR_MIN_WORK ? 1 : CD_PAR_MIN_WORK / per_item);
    if (j.slots < 1) j.slots = 1;
    const int64_t wfloats = (j.Mb * j.T + j.Mb + 15) / 16 * 16;
    j.slot_floats = (int64_t)(rt_slot_stride(sizeof(float) * (size_t)(j.rows * cv->Cg * j.S * j.W16), j.slots) /
                              sizeof(float));
    float *mem = rt_scratch(c, sizeof(float) * (size_t)(wfloats + j.slots * j.slot_floats) + 64);
    if (!mem) return RT_ERR_NOMEM;
    /* weights [Mb/8][T][8] and bias [Mb], then the slots' band buffers (64-byte aligned) */
    float *wt = mem, *bt = mem + j.Mb * j.T;
    for (int64_t m = 0; m < j.Mb; m++) {
        for (int64_t t = 0; t < j.T; t++)
            wt[(m / CD_MB * j.T + t) * CD_MB + m % CD_MB] = m < cv->M ? cv->w[m * j.T + t] : 0.0f;
        bt[m] = m < cv->M && cv->b ? cv->b[m] : 0.0f;
    }
    j.wt = wt, j.bt = bt;
    j.scratch = (float *)(((uintptr_t)(mem + wfloats) + 63) & ~(uintptr_t)63);
    rt_parallel_for(c->pool, j.slots, 1, cd_slot, &j);
    rt_scratch_free(c, mem);
    return RT_OK;
}

#else /* not x86-64 GCC/Clang: never selected (cx_cpu_ok() is 0) */

int cx_direct_f32(RtKernelCtx *c, const CxConv *cv) {
    (void)cv;
    return rt_fail(c, "the AVX-512 direct conv kernel is not built for this CPU");
}

#endif
