/*
 * dwconv_avx512.c — depthwise float32 conv (one input and one output channel per group) with
 * AVX-512: bias, taps and the fused activation in one pass over each output plane.
 *
 * Planes x[IH, IW] -> y[OH, OW], any kernel kH x kW, strides, dilations, pads. Two loops:
 *
 * Row kernel (the default): 16 outputs of one output row per vector. For output columns
 * ow0..ow0+15 and tap (kh, kw) the inputs are x[ih][ow * sw - pw + kw * dw]: with stride 1
 * one unaligned load, with stride 2 two loads (32 floats) and a permute that keeps the even
 * ones, other strides a gather. Loads are masked to the columns inside [0, IW), so the
 * padding reads as zeros without a padded copy; the masks depend only on the column chunk
 * and kw, so they are computed once per conv (mask table). Rows whose kh taps fall in the
 * padding are skipped (rt_geom_taps). The accumulator starts at the bias and gets the
 * activation in registers before the (tail-masked) store.
 *
 * Flat kernel (stride 1, narrow planes such as KWS's 25x5 or 7x7 maps, where a row would
 * fill few of the 16 lanes): each plane is copied into a zero-padded plane xp[IHp, IWp]
 * on the stack; an output computed in the padded width at flat position i = oh * IWp + ow
 * reads xp[i + kh * dh * IWp + kw * dw], so each tap is one unmasked load per 16 positions
 * whatever the row length. Positions with ow >= OW are dropped: each vector is compressed
 * to its valid lanes in registers (table of lane masks per vector, once per conv) and
 * stored contiguously, since valid positions in flat order are y's row-major order.
 *
 * Threads: planes (image, channel) are split into contiguous ranges; every plane is
 * computed by one thread with the same arithmetic, so results do not depend on the thread
 * count. No heap scratch: the flat kernel's planes live on each chunk's stack.
 */
#include <string.h>

#include "../../rt_threads.h"
#include "conv_x86.h"

/* Least multiply-adds per parallel chunk: less costs about as much as a hand-off. */
#define DW_PAR_MIN_WORK ((int64_t)1 << 15)
/* Mask table of the row kernel: column chunks x kW entries. */
#define DW_MAX_MASKS 2048
/* Flat kernel: floats of the padded plane plus the tail its last vector reads (32 KiB of
 * stack per chunk), and vectors per plane (its lane-mask table). */
#define DW_FLAT_MAX_FLOATS 8192
#define DW_FLAT_MAX_VECS (DW_FLAT_MAX_FLOATS / 16)
/* Taps whose broadcast weights a kernel keeps in registers (3x3); larger kernels broadcast
 * from memory at each use. */
#define DW_WREG 9

typedef struct {
    const CxConv *cv;
    int flat;                          /* 1: flat kernel, 0: row kernel */
    int64_t chunks;                    /* row kernel: 16-column chunks per output row */
    int64_t IHp, IWp, xp_n, vecs;      /* flat kernel: padded plane, its floats, vectors */
    uint32_t masks[DW_MAX_MASKS];      /* row kernel: [chunk][kw] input lanes inside [0, IW) */
    uint16_t keep[DW_FLAT_MAX_VECS];   /* flat kernel: lanes of vector v with ow < OW */
} DwJob;

/* Which kernel, and whether its tables fit; fills the sizes in j. */
static int dw_plan(const CxConv *cv, DwJob *j) {
    const RtConvGeom *g = &cv->g;
    const int64_t OH = g->out[1], OW = g->out[2], KH = g->k[1], KW = g->k[2];
    if (g->in[0] != 1 || g->k[0] != 1 || g->out[0] != 1) return 0; /* 3-D: the reference */
    j->cv = cv;
    j->chunks = (OW + 15) / 16;
    int row_ok = j->chunks * KW <= DW_MAX_MASKS;
    j->flat = 0;
    if (g->stride[1] == 1 && g->stride[2] == 1) {
        j->IHp = g->in[1] + g->pad0[1] + g->pad1[1];
        j->IWp = g->in[2] + g->pad0[2] + g->pad1[2];
        int64_t npos = OH * j->IWp;
        j->vecs = (npos + 15) / 16;
        j->xp_n = j->IHp * j->IWp + (j->vecs * 16 - npos) + (KW - 1) * g->dil[2];
        int fits = j->IHp == OH + (KH - 1) * g->dil[1] && j->IWp == OW + (KW - 1) * g->dil[2] &&
                   j->vecs <= DW_FLAT_MAX_VECS && j->xp_n <= DW_FLAT_MAX_FLOATS;
        /* lanes doing useful work: flat OH*OW of vecs*16, rows OW of chunks*16 per row */
        double flat_use = (double)(OH * OW) / (double)(j->vecs * 16);
        double row_use = (double)OW / (double)(j->chunks * 16);
        if (fits && (!row_ok || flat_use > 1.1 * row_use)) j->flat = 1;
    }
    return j->flat || row_ok;
}

int cx_depthwise_fits(const CxConv *cv) {
    DwJob j;
    return dw_plan(cv, &j);
}

#if defined(__x86_64__) && defined(__GNUC__)

/* Bits [lo, hi) of a 32-bit mask, clamped to [0, 32). */
static uint32_t dw_bits(int64_t lo, int64_t hi) {
    if (lo < 0) lo = 0;
    if (hi > 32) hi = 32;
    if (hi <= lo) return 0;
    uint32_t upto = hi == 32 ? 0xffffffffu : ((1u << hi) - 1);
    return upto & ~((1u << lo) - 1);
}

/* Row kernel masks: for chunk c and tap kw, the lanes whose input column is in [0, IW).
 * Stride 1: bit l = column start + l; stride 2: bits 0..31 = columns start + 0..31 (two
 * loads); other strides: bit l = column start + l * sw (a gather). */
static void dw_masks(DwJob *j) {
    const RtConvGeom *g = &j->cv->g;
    const int64_t IW = g->in[2], KW = g->k[2], sw = g->stride[2];
    for (int64_t c = 0; c < j->chunks; c++)
        for (int64_t kw = 0; kw < KW; kw++) {
            int64_t start = c * 16 * sw - g->pad0[2] + kw * g->dil[2];
            uint32_t m = 0;
            if (sw == 1) m = dw_bits(-start, IW - start) & 0xffffu;
            else if (sw == 2) m = dw_bits(-start, IW - start);
            else
                for (int l = 0; l < 16; l++)
                    if (start + l * sw >= 0 && start + l * sw < IW) m |= 1u << l;
            j->masks[c * KW + kw] = m;
        }
}

/* Flat kernel: lanes of vector v whose flat position i = oh * IWp + ow has oh < OH, ow < OW. */
static void dw_keep(DwJob *j) {
    const int64_t OH = j->cv->g.out[1], OW = j->cv->g.out[2];
    for (int64_t v = 0; v < j->vecs; v++) {
        uint16_t m = 0;
        for (int l = 0; l < 16; l++) {
            int64_t i = v * 16 + l;
            if (i / j->IWp < OH && i % j->IWp < OW) m |= (uint16_t)(1u << l);
        }
        j->keep[v] = m;
    }
}

/* ---------------------------------------------------------------- row kernel */

/* 16 inputs for tap kw of column chunk c: mode 1 = stride 1, 2 = stride 2, 0 = gather
 * (stride sw). xr points at the chunk's first input column for kw = 0 (may lie left of the
 * row; masked lanes are not read). */
CX_T512 CX_INL __m512 dw_load(int mode, const float *xr, uint32_t m, int64_t sw) {
    if (mode == 1) return _mm512_maskz_loadu_ps((__mmask16)m, xr);
    if (mode == 2) {
        const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        __m512 lo = _mm512_maskz_loadu_ps((__mmask16)m, xr);
        __m512 hi = _mm512_maskz_loadu_ps((__mmask16)(m >> 16), xr + 16);
        return _mm512_permutex2var_ps(lo, even, hi);
    }
    const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                           _mm512_set1_epi32((int)sw));
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), (__mmask16)m, idx, xr, 4);
}

/* One plane by the row kernel. KH, KW are constants where the caller instantiates it for a
 * kernel size (the taps unroll and the weights stay in registers), else the geometry's. */
CX_T512 CX_INL void dw_rows(const DwJob *j, int mode, int64_t KH, int64_t KW, const float *x, const float *w,
                            float bias, float *y) {
    const RtConvGeom *g = &j->cv->g;
    const int64_t IH = g->in[1], IW = g->in[2], OH = g->out[1], OW = g->out[2];
    const int64_t sh = g->stride[1], sw = g->stride[2], dh = g->dil[1], dw = g->dil[2];
    const int64_t ph = g->pad0[1], pw = g->pad0[2];
    const RtAct *act = &j->cv->act;
    __m512 wv[DW_WREG];
    const int inreg = KH * KW <= DW_WREG;
    for (int64_t t = 0; inreg && t < KH * KW; t++) wv[t] = _mm512_set1_ps(w[t]);
    const __m512 bv = _mm512_set1_ps(bias);
    for (int64_t oh = 0; oh < OH; oh++, y += OW) {
        int64_t h0, h1;
        rt_geom_taps(oh, sh, ph, dh, KH, IH, &h0, &h1);
        const float *x0 = x + (oh * sh - ph) * IW; /* row of tap kh = 0 (maybe outside x) */
        for (int64_t c = 0; c < j->chunks; c++) {
            const uint32_t *mk = j->masks + c * KW;
            const int64_t col = c * 16 * sw - pw;
            __m512 acc = bv;
            for (int64_t kh = h0; kh < h1; kh++) {
                const float *xr = x0 + kh * dh * IW + col;
                for (int64_t kw = 0; kw < KW; kw++) {
                    const int64_t t = kh * KW + kw;
                    const __m512 wt = inreg ? wv[t] : _mm512_set1_ps(w[t]);
                    acc = _mm512_fmadd_ps(wt, dw_load(mode, xr + kw * dw, mk[kw], sw), acc);
                }
            }
            acc = cx_act_v512(act, acc);
            int64_t left = OW - c * 16;
            __mmask16 st = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
            _mm512_mask_storeu_ps(y + c * 16, st, acc);
        }
    }
}

/* ---------------------------------------------------------------- flat kernel */

/* Copies plane x[IH, IW] into the padded plane xp (whose padding is already zero). */
CX_T512 CX_INL void dw_pad_copy(const DwJob *j, const float *x, float *xp) {
    const RtConvGeom *g = &j->cv->g;
    const int64_t IH = g->in[1], IW = g->in[2];
    float *dst = xp + g->pad0[1] * j->IWp + g->pad0[2];
    for (int64_t ih = 0; ih < IH; ih++, x += IW, dst += j->IWp) {
        int64_t i = 0;
        for (; i + 16 <= IW; i += 16) _mm512_storeu_ps(dst + i, _mm512_loadu_ps(x + i));
        if (i < IW) {
            __mmask16 m = (__mmask16)((1u << (IW - i)) - 1);
            _mm512_mask_storeu_ps(dst + i, m, _mm512_maskz_loadu_ps(m, x + i));
        }
    }
}

CX_T512 CX_INL void dw_flat(const DwJob *j, int64_t KH, int64_t KW, const float *xp, const float *w, float bias,
                            float *y) {
    const RtConvGeom *g = &j->cv->g;
    const int64_t rowstep = g->dil[1] * j->IWp, dw = g->dil[2];
    const RtAct *act = &j->cv->act;
    __m512 wv[DW_WREG];
    const int inreg = KH * KW <= DW_WREG;
    for (int64_t t = 0; inreg && t < KH * KW; t++) wv[t] = _mm512_set1_ps(w[t]);
    const __m512 bv = _mm512_set1_ps(bias);
    for (int64_t v = 0; v < j->vecs; v++) {
        const float *xs = xp + v * 16;
        __m512 acc = bv;
        for (int64_t kh = 0; kh < KH; kh++)
            for (int64_t kw = 0; kw < KW; kw++) {
                const int64_t t = kh * KW + kw;
                const __m512 wt = inreg ? wv[t] : _mm512_set1_ps(w[t]);
                acc = _mm512_fmadd_ps(wt, _mm512_loadu_ps(xs + kh * rowstep + kw * dw), acc);
            }
        acc = cx_act_v512(act, acc);
        __mmask16 keep = j->keep[v];
        int n = __builtin_popcount(keep);
        _mm512_mask_storeu_ps(y, (__mmask16)((1u << n) - 1), _mm512_maskz_compress_ps(keep, acc));
        y += n;
    }
}

/* ---------------------------------------------------------------- drivers */

/* Instances: 3x3 (MobileNet, KWS) with constant taps, any other size with the geometry's. */
CX_T512 static void dw_rows_s1_3x3(const DwJob *j, const float *x, const float *w, float b, float *y) {
    dw_rows(j, 1, 3, 3, x, w, b, y);
}
CX_T512 static void dw_rows_s2_3x3(const DwJob *j, const float *x, const float *w, float b, float *y) {
    dw_rows(j, 2, 3, 3, x, w, b, y);
}
CX_T512 static void dw_rows_any(const DwJob *j, const float *x, const float *w, float b, float *y) {
    const RtConvGeom *g = &j->cv->g;
    int mode = g->stride[2] == 1 ? 1 : g->stride[2] == 2 ? 2 : 0;
    dw_rows(j, mode, g->k[1], g->k[2], x, w, b, y);
}
CX_T512 static void dw_flat_3x3(const DwJob *j, const float *xp, const float *w, float b, float *y) {
    dw_flat(j, 3, 3, xp, w, b, y);
}
CX_T512 static void dw_flat_any(const DwJob *j, const float *xp, const float *w, float b, float *y) {
    dw_flat(j, j->cv->g.k[1], j->cv->g.k[2], xp, w, b, y);
}

/* Planes [p0, p1) of the N*C planes. */
CX_T512 static void dw_chunk(void *arg, int64_t p0, int64_t p1) {
    const DwJob *j = arg;
    const CxConv *cv = j->cv;
    const RtConvGeom *g = &cv->g;
    const int k3 = g->k[1] == 3 && g->k[2] == 3;
    float xp[DW_FLAT_MAX_FLOATS] __attribute__((aligned(64)));
    if (j->flat) memset(xp, 0, sizeof(float) * (size_t)j->xp_n);
    for (int64_t p = p0; p < p1; p++) {
        int64_t ch = p % cv->C;
        const float *x = cv->x + p * cv->Pin, *w = cv->w + ch * cv->K;
        float b = cv->b ? cv->b[ch] : 0.0f, *y = cv->y + p * cv->Pout;
        if (j->flat) {
            dw_pad_copy(j, x, xp);
            (k3 ? dw_flat_3x3 : dw_flat_any)(j, xp, w, b, y);
        } else if (k3 && g->stride[2] == 1) {
            dw_rows_s1_3x3(j, x, w, b, y);
        } else if (k3 && g->stride[2] == 2) {
            dw_rows_s2_3x3(j, x, w, b, y);
        } else {
            dw_rows_any(j, x, w, b, y);
        }
    }
}

int cx_depthwise_f32(RtKernelCtx *c, const CxConv *cv) {
    DwJob j;
    if (!dw_plan(cv, &j)) return rt_fail(c, "depthwise geometry beyond the optimized kernel's tables");
    if (j.flat) dw_keep(&j);
    else dw_masks(&j);
    int64_t per_plane = cv->Pout * cv->K;
    int64_t min_chunk = per_plane >= DW_PAR_MIN_WORK ? 1 : DW_PAR_MIN_WORK / per_plane;
    rt_parallel_for(c->pool, cv->N * cv->C, min_chunk, dw_chunk, &j);
    return RT_OK;
}

#else /* not x86-64 GCC/Clang: never selected (cx_cpu_ok() is 0) */

int cx_depthwise_f32(RtKernelCtx *c, const CxConv *cv) {
    (void)cv;
    return rt_fail(c, "the AVX-512 depthwise kernel is not built for this CPU");
}

#endif
