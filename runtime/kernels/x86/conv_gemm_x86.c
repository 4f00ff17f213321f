/*
 * conv_gemm_x86.c — float32 convs as GEMMs on rt_sgemm_run (x86/sgemm.h), the bias and the
 * fused activation in the GEMM's store epilogue (no second pass over the output).
 *
 * Per image and group, Y_g[Mg, P] = act(W_g[Mg, Cg*K] * col[Cg*K, P] + b_g) (P = output
 * positions). W_g comes packed from the node's state when the model keeps one (cv->wp,
 * packed once by conv_x86.c), else the GEMM packs it per call.
 *
 * 1x1, stride 1, no padding (cx_pointwise_f32): col is X_g itself, no copy; one GEMM over
 * the pool. A projection (C >= 256 input channels, M <= C / 2 outputs, no activation) is
 * instead summed in two halves of C, one GEMM per thread on the rows of X that thread's
 * depthwise conv wrote, then added by rows (pointwise_ksplit below): mobilenet_v2 at 2
 * threads 2.70 -> 2.58 ms.
 *
 * Other convs (cx_im2col_f32): im2col one column strip at a time (strip width chosen so
 * the strip, Cg*K x nb floats, stays in L2; runs of 16 columns copied with masked loads,
 * stride 2 through a permute, other strides a gather), then the GEMM of that strip with all
 * of W_g's rows. Strips (of every image and group) run in parallel, each thread with its own
 * strip buffer. When the whole output is one narrow strip (P < 128: digits' 8x8 and 4x4
 * maps, KWS's 25x5) it is built once, by the direct im2col (stride 1, rows keeping their
 * width: masked loads at constant offsets) or the flat one (padded planes, compressed
 * lanes), and the GEMM is one call over the pool.
 *
 * A channels-last output (cv->nhwc_out, one group) takes the same columns: each strip's
 * product is Y[P, M] = col^T * W^T on cx_ngemm (conv_nhwc_x86.c), which broadcasts the
 * columns' values where they lie (A[p, k] = col[k * n + p]) with W^T packed in the node's
 * state (cv->wt) or per call here.
 *
 * Strips are fixed by the shape (never by the thread count) and rt_sgemm_run's sums do not
 * depend on its threads, so results are bit-identical for any number of threads.
 */
#include <string.h>

#include "../../rt_threads.h"
#include "sgemm.h"
#include "conv_x86.h"

/* Multiply-adds per im2col strip: about 3-5 us of work, well above the cost of a GEMM call
 * and of handing a strip to a worker. */
#define CX_BLOCK_WORK ((int64_t)1 << 18)
/* Narrowest strips worth a GEMM call: narrower ones waste the micro-kernel's register tile. */
#define CX_MIN_COLS 64
/* Floats of one im2col strip (256 KiB). */
#define CX_COL_FLOATS ((int64_t)1 << 16)
/* Direct im2col: most taps, and most lane masks (vectors x taps), of its tables. */
#define CX_DIRECT_MAX_TAPS 256
#define CX_DIRECT_MAX_MASKS 4096
/* Flat im2col: most vectors per col row (its lane-mask table on the stack). */
#define CX_FLAT_MAX_VECS 512
static int64_t cx_round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }
static int64_t cx_ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* ---------------------------------------------------------------- the GEMM */

/* Y_g[Mg, n] = act(W_g * B[CK, n] + b_g) for group gr, W_g packed beforehand when the conv's
 * state holds it (cv->wp), on `pool`. */
static void conv_gemm(struct RtThreadPool *pool, const CxConv *cv, int64_t gr, int64_t CK, const float *B,
                      int64_t ldb, int64_t n, float *C, int64_t ldc) {
    RtSgemm g = {cv->Mg, n, CK, 0, 0, cv->w + gr * cv->Mg * CK, cv->wp ? cv->wp + gr * cv->wp_stride : NULL, CK,
                 B, NULL, ldb, C, ldc, cv->b ? cv->b + gr * cv->Mg : NULL, NULL, &cv->act};
    rt_sgemm_run(pool, &g);
}

/* The product of the columns col[CK, n] of output positions [p0, p0 + n) of image im and
 * group gr: into Y's NCHW rows (conv_gemm), or Y's NHWC rows p0.. (cx_ngemm, one group). */
static void cols_gemm(struct RtThreadPool *pool, const CxConv *cv, int64_t im, int64_t gr, int64_t CK,
                      const float *col, int64_t n, int64_t p0) {
    if (cv->nhwc_out) {
        CxNgemm g = {n, cv->M, CK, col, 1, n, cv->wt, cv->b, cv->y + (im * cv->Pout + p0) * cv->M, cv->M, &cv->act,
                     NULL, NULL};
        cx_ngemm_run(pool, &g);
        return;
    }
    conv_gemm(pool, cv, gr, CK, col, n, n, cv->y + (im * cv->M + gr * cv->Mg) * cv->Pout + p0, cv->Pout);
}

/* ---------------------------------------------------------------- 1x1 */

/* ---- 1x1 in two halves of the input channels ----
 * A projection 1x1 conv (many input channels, at most half as many outputs: MobileNet's
 * 384/576/960 -> 64/96/160) follows a depthwise conv that 2 threads split by channels
 * (dwconv_avx512.c: ranges of 16-channel groups), so each thread holds half of X's rows.
 * Split by positions (the GEMM's own choice there), each thread read half its columns from
 * the other core and the two threads' stores met in the cache lines at every row's cut (a
 * row of 196 or 49 floats is not whole lines). Here instead
 *     Y = (W[:, :h] * X[:h, :] + b) + W[:, h:] * X[h:, :]
 * the first product into Y, the second into a scratch S (one GEMM per thread, each on the
 * rows of X its thread wrote), then Y += S by rows of Y (each thread a contiguous range:
 * one shared line). h = C / 2 matches the depthwise's split of C / 16 groups; the split is
 * fixed by the shape, and 1 thread runs the same two products and sum, so the bits do not
 * depend on the thread count. */

/* Least input channels for the split (MobileNet's 14x14 and 7x7 projections: 384..960;
 * its 28x28 ones of 192 split by positions into whole lines already). */
#define CX_KSPLIT_MIN_C 256

int64_t cx_pointwise_ksplit(const CxConv *cv) {
    if (cv->group != 1 || cv->nhwc_in || cv->nhwc_out || cv->act.kind != RT_ACT_NONE) return 0;
    if (cv->C < CX_KSPLIT_MIN_C || cv->C % 32 != 0 || 2 * cv->M > cv->C) return 0;
    return cv->C / 2;
}

typedef struct {
    const CxConv *cv;
    float *s;  /* [N, M, Pout] the second half's products */
} KsplitJob;

/* Halves [h0, h1): half 0 into Y with the bias, half 1 into S, every image. */
static void ksplit_half(void *arg, int64_t h0, int64_t h1) {
    const KsplitJob *j = arg;
    const CxConv *cv = j->cv;
    const int64_t P = cv->Pout, h = cv->ksplit;
    for (int64_t half = h0; half < h1; half++)
        for (int64_t im = 0; im < cv->N; im++) {
            const int64_t k0 = half ? h : 0, kn = half ? cv->C - h : h;
            float *dst = (half ? j->s : cv->y) + im * cv->M * P;
            RtSgemm g = {cv->M, P, kn, 0, 0, cv->w + k0, cv->wp ? cv->wp + half * cv->wp_stride : NULL, cv->C,
                         cv->x + (im * cv->C + k0) * cv->Pin, NULL, cv->Pin, dst, P, half ? NULL : cv->b, NULL, NULL};
            rt_sgemm_run(NULL, &g);
        }
}

#if defined(__x86_64__) && defined(__GNUC__)
/* y[i] += s[i], i in [0, n). */
CX_T512 static void ksplit_add(float *y, const float *s, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_add_ps(_mm512_loadu_ps(y + i), _mm512_loadu_ps(s + i)));
    if (i < n) {
        const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, y + i), _mm512_maskz_loadu_ps(m, s + i)));
    }
}
#else
static void ksplit_add(float *y, const float *s, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += s[i];
}
#endif

/* Rows [r0, r1) of Y (all images' M rows in turn): Y += S. */
static void ksplit_rows(void *arg, int64_t r0, int64_t r1) {
    const KsplitJob *j = arg;
    const int64_t P = j->cv->Pout;
    ksplit_add(j->cv->y + r0 * P, j->s + r0 * P, (r1 - r0) * P);
}

static int pointwise_ksplit(RtKernelCtx *c, const CxConv *cv) {
    const int64_t rows = cv->N * cv->M;
    KsplitJob j = {cv, rt_scratch(c, sizeof(float) * (size_t)(rows * cv->Pout))};
    if (!j.s) return RT_ERR_NOMEM;
    rt_parallel_for(c->pool, 2, 1, ksplit_half, &j);
    /* rows of at least 2048 floats a chunk (8 KiB): the sum is a memory pass */
    rt_parallel_for(c->pool, rows, (2048 + cv->Pout - 1) / cv->Pout, ksplit_rows, &j);
    rt_scratch_free(c, j.s);
    return RT_OK;
}

int cx_pointwise_f32(RtKernelCtx *c, const CxConv *cv) {
    if (cv->ksplit) return pointwise_ksplit(c, cv);
    for (int64_t im = 0; im < cv->N; im++)
        for (int64_t gr = 0; gr < cv->group; gr++)
            conv_gemm(c->pool, cv, gr, cv->Cg, cv->x + (im * cv->C + gr * cv->Cg) * cv->Pin, cv->Pin, cv->Pout,
                      cv->y + (im * cv->M + gr * cv->Mg) * cv->Pout, cv->Pout);
    return RT_OK;
}

/* ---------------------------------------------------------------- im2col */

/* Output columns [*lo, *hi) whose tap at input offset off (= kw * dw - pw) reads inside
 * [0, IW): 0 <= ow * s + off < IW. */
static void tap_cols(int64_t off, int64_t s, int64_t IW, int64_t OW, int64_t *lo, int64_t *hi) {
    int64_t l = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t h = IW - off <= 0 ? 0 : (IW - off + s - 1) / s;
    *lo = l < OW ? l : OW;
    *hi = h < OW ? h : OW;
    if (*hi < *lo) *hi = *lo;
}

#if defined(__x86_64__) && defined(__GNUC__)

/* Bits [lo, hi) of a 32-bit mask, clamped to [0, 32). */
static uint32_t cx_bits(int64_t lo, int64_t hi) {
    if (lo < 0) lo = 0;
    if (hi > 32) hi = 32;
    if (hi <= lo) return 0;
    return (hi == 32 ? 0xffffffffu : ((1u << hi) - 1)) & ~((1u << lo) - 1);
}

/* d[q] for q in [q0, q1) (at most 16) = xr[q * s] where q is in [lo, hi) (inside the row),
 * else 0. Stride 1: one masked load; 2: two and a permute keeping the even floats; else a
 * gather. */
CX_T512 CX_INL void im2col_vec(float *d, const float *xr, int64_t q0, int64_t q1, int64_t lo, int64_t hi,
                               int64_t s) {
    if (q0 >= lo && q1 == q0 + 16 && q1 <= hi && s <= 2) { /* a whole vector inside the row: no masks */
        if (s == 1) {
            _mm512_storeu_ps(d + q0, _mm512_loadu_ps(xr + q0));
        } else {
            const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            /* the odd float after the last even one is read too: inside the row, as lane 15's
             * input 2 q0 + 30 is */
            const __m512 lo16 = _mm512_loadu_ps(xr + 2 * q0);
            const __m512 hi16 = _mm512_maskz_loadu_ps((__mmask16)0x7fff, xr + 2 * q0 + 16);
            _mm512_storeu_ps(d + q0, _mm512_permutex2var_ps(lo16, even, hi16));
        }
        return;
    }
    int64_t a = lo > q0 ? lo - q0 : 0, b = (hi < q1 ? hi : q1) - q0; /* valid lanes [a, b) */
    __mmask16 st = (__mmask16)cx_bits(0, q1 - q0);
    __m512 v;
    if (s == 1) {
        v = _mm512_maskz_loadu_ps((__mmask16)cx_bits(a, b), xr + q0);
    } else if (s == 2) {
        const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        uint32_t m = cx_bits(2 * a, 2 * b - 1); /* the even floats of lanes [a, b), the odd between */
        __m512 lo16 = _mm512_maskz_loadu_ps((__mmask16)m, xr + 2 * q0);
        __m512 hi16 = _mm512_maskz_loadu_ps((__mmask16)(m >> 16), xr + 2 * q0 + 16);
        v = _mm512_permutex2var_ps(lo16, even, hi16);
    } else {
        const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                               _mm512_set1_epi32((int)s));
        v = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), (__mmask16)cx_bits(a, b), idx, xr + q0 * s, 4);
    }
    _mm512_mask_storeu_ps(d + q0, st, v);
}

/* col[Cg*K, n] = im2col of x[Cg, IH, IW] for output positions [p0, p0 + n): row
 * (ch, kh, kw), column p - p0 holds x[ch][oh * sh - ph + kh * dh][ow * sw - pw + kw * dw]
 * for p = oh * OW + ow, zero where that is padding. Each output row's run of columns is
 * copied 16 at a time with masked loads, which read the zeros of the padding for free. */
CX_T512 static void im2col_strip(const CxConv *cv, const float *x, int64_t p0, int64_t n, float *col) {
    const RtConvGeom *g = &cv->g;
    const int64_t IH = g->in[1], IW = g->in[2], OW = g->out[2], KH = g->k[1], KW = g->k[2];
    const int64_t sh = g->stride[1], sw = g->stride[2];
    for (int64_t ch = 0; ch < cv->Cg; ch++)
        for (int64_t kh = 0; kh < KH; kh++)
            for (int64_t kw = 0; kw < KW; kw++, col += n) {
                const float *xc = x + ch * IH * IW;
                const int64_t off = kw * g->dil[2] - g->pad0[2];
                int64_t lo, hi;
                tap_cols(off, sw, IW, OW, &lo, &hi);
                int64_t oh = p0 / OW, ow = p0 % OW;
                for (int64_t j = 0; j < n; oh++, ow = 0) {
                    int64_t e = OW - ow < n - j ? OW : ow + (n - j); /* this row's columns [ow, e) */
                    float *d = col + j - ow;                        /* d[ow'] is column ow' */
                    int64_t ih = oh * sh - g->pad0[1] + kh * g->dil[1];
                    int in = ih >= 0 && ih < IH;
                    const float *xr = xc + (in ? ih : 0) * IW + off;
                    for (int64_t q = ow; q < e; q += 16)
                        im2col_vec(d, xr, q, q + 16 < e ? q + 16 : e, in ? lo : 0, in ? hi : 0, sw);
                    j += e - ow;
                }
            }
}

/* ---- direct im2col, for narrow stride-1 outputs as wide as the input (OW == IW) ----
 * Output flat position i = oh * OW + ow at tap (kh, kw) reads x_c[i + off(kh, kw)], off =
 * (kh*dh - ph) * IW + kw*dw - pw, when that row and column are inside the plane: each col
 * row is 16 floats at a time one masked load from the input channel at a constant offset,
 * stored whole. The lane masks per output vector and tap do not depend on the channel. */
typedef struct {
    int64_t vecs;                        /* 16-lane vectors per col row: ceil(P / 16) */
    int64_t off[CX_DIRECT_MAX_TAPS];     /* per tap */
    uint16_t mask[CX_DIRECT_MAX_MASKS];  /* [vector][tap] */
} DirectCols;

/* 1 (and the tables filled) when the conv fits the direct im2col. */
CX_T512 static int direct_cols_make(const CxConv *cv, DirectCols *d) {
    const RtConvGeom *g = &cv->g;
    const int64_t IH = g->in[1], IW = g->in[2], OW = g->out[2], KH = g->k[1], KW = g->k[2], K = KH * KW;
    const int64_t P = cv->Pout;
    d->vecs = cx_ceil_div(P, 16);
    if (g->stride[1] != 1 || g->stride[2] != 1 || OW != IW || K > CX_DIRECT_MAX_TAPS ||
        d->vecs * K > CX_DIRECT_MAX_MASKS)
        return 0;
    for (int64_t kh = 0; kh < KH; kh++)
        for (int64_t kw = 0; kw < KW; kw++)
            d->off[kh * KW + kw] = (kh * g->dil[1] - g->pad0[1]) * IW + kw * g->dil[2] - g->pad0[2];
    int32_t ohs[16], ows[16];
    int64_t oh = 0, ow = 0;
    for (int64_t v = 0; v < d->vecs; v++) {
        for (int l = 0; l < 16; l++) {
            ohs[l] = (int32_t)oh, ows[l] = (int32_t)ow;
            if (++ow == OW) ow = 0, oh++;
        }
        const __m512i ohv = _mm512_loadu_si512(ohs), owv = _mm512_loadu_si512(ows);
        const __mmask16 live = (__mmask16)cx_bits(0, P - 16 * v);
        for (int64_t kh = 0; kh < KH; kh++) {
            __m512i ih = _mm512_add_epi32(ohv, _mm512_set1_epi32((int)(kh * g->dil[1] - g->pad0[1])));
            __mmask16 row = _mm512_cmpge_epi32_mask(ih, _mm512_setzero_si512()) &
                            _mm512_cmplt_epi32_mask(ih, _mm512_set1_epi32((int)IH));
            for (int64_t kw = 0; kw < KW; kw++) {
                __m512i iw = _mm512_add_epi32(owv, _mm512_set1_epi32((int)(kw * g->dil[2] - g->pad0[2])));
                __mmask16 col = _mm512_cmpge_epi32_mask(iw, _mm512_setzero_si512()) &
                                _mm512_cmplt_epi32_mask(iw, _mm512_set1_epi32((int)IW));
                d->mask[v * K + kh * KW + kw] = live & row & col;
            }
        }
    }
    return 1;
}

/* col[Cg*K, P] of x[Cg, IH, IW] by the direct method. */
CX_T512 static void im2col_direct(const CxConv *cv, const DirectCols *d, const float *x, float *col) {
    const int64_t K = cv->K, P = cv->Pout;
    for (int64_t ch = 0; ch < cv->Cg; ch++, x += cv->Pin)
        for (int64_t t = 0; t < K; t++, col += P) {
            const float *src = x + d->off[t];
            const uint16_t *mk = d->mask + t;
            int64_t v = 0;
            for (; 16 * v + 16 <= P; v++) _mm512_storeu_ps(col + 16 * v, _mm512_maskz_loadu_ps(mk[v * K], src + 16 * v));
            if (v < d->vecs)
                _mm512_mask_storeu_ps(col + 16 * v, (__mmask16)cx_bits(0, P - 16 * v),
                                      _mm512_maskz_loadu_ps(mk[v * K], src + 16 * v));
        }
}

/* ---- flat im2col, for narrow outputs (the whole output is one strip, P < 128) ----
 * Short output rows make im2col_strip's per-row runs short (digits' 8-wide maps: 8 floats a
 * run). Instead each channel is copied once into a zero-padded plane xp[IHp, IWq] (IWq =
 * the padded width rounded up to a multiple of sw), and for sw = 2 split into its even and
 * odd floats, phase f[k] = xp[2k + f]. The input of output (oh, ow) at tap (kh, kw) is
 *     xp[(oh*sh + kh*dh) * IWq + ow*sw + kw*dw] = phase[off % sw][i + off / sw]
 * with off = kh*dh*IWq + kw*dw and i = oh*Q + ow, Q = sh*IWq/sw: for each col row one
 * contiguous run over i in [0, OH*Q) from which the lanes with ow = i % Q < OW are kept
 * (compressed in registers, as the depthwise flat kernel does). */
typedef struct {
    int64_t IHp, IWq, Q;  /* padded plane rows and row length; flat output row length */
    int64_t vecs;         /* 16-lane vectors per col row: ceil(OH * Q / 16) */
    int64_t phase;        /* floats of one channel's phase array (reads of the last vector included) */
    int64_t xp_n;         /* floats of one channel's padded plane */
} FlatGeom;

/* Floats of scratch the flat im2col of one group needs (0: the shape does not fit it). */
static int64_t flat_geom(const CxConv *cv, FlatGeom *f) {
    const RtConvGeom *g = &cv->g;
    const int64_t sw = g->stride[2];
    if (sw > 2) return 0;
    f->IHp = g->in[1] + g->pad0[1] + g->pad1[1];
    f->IWq = cx_round_up(g->in[2] + g->pad0[2] + g->pad1[2], sw);
    f->Q = g->stride[1] * f->IWq / sw;
    f->vecs = cx_ceil_div(g->out[1] * f->Q, 16);
    if (f->vecs > CX_FLAT_MAX_VECS) return 0;
    int64_t off_max = (g->k[1] - 1) * g->dil[1] * f->IWq + (g->k[2] - 1) * g->dil[2];
    f->xp_n = cx_round_up(f->IHp * f->IWq, 32);
    f->phase = cx_round_up(off_max / sw + 16 * f->vecs, 16);
    if (f->phase < f->xp_n / sw) f->phase = f->xp_n / sw;
    return cv->Cg * (f->xp_n + (sw == 2 ? 2 * f->phase : 0)) + (sw == 1 ? f->phase : 0);
}

/* col[Cg*K, P] of x[Cg, IH, IW] by the flat method; buf: flat_geom's floats. */
CX_T512 static void im2col_flat(const CxConv *cv, const FlatGeom *f, const float *x, float *buf, float *col) {
    const RtConvGeom *g = &cv->g;
    const int64_t IH = g->in[1], IW = g->in[2], sw = g->stride[2], OH = g->out[1], OW = g->out[2];
    const int64_t Cg = cv->Cg, P = cv->Pout;
    /* sw = 1: the padded planes are the phase (with room for the last vector's reads after
     * the last plane); sw = 2: planes, then the even and odd phases of every channel. */
    float *xp = buf, *ph = buf + Cg * f->xp_n;
    int64_t plane = sw == 1 ? f->xp_n : f->phase;
    memset(buf, 0, sizeof(float) * (size_t)(sw == 1 ? Cg * f->xp_n + f->phase : Cg * f->xp_n));
    for (int64_t ch = 0; ch < Cg; ch++)
        for (int64_t ih = 0; ih < IH; ih++) {
            float *d = xp + ch * f->xp_n + (ih + g->pad0[1]) * f->IWq + g->pad0[2];
            const float *s = x + (ch * IH + ih) * IW;
            for (int64_t i = 0; i < IW; i += 16) {
                __mmask16 m = (__mmask16)cx_bits(0, IW - i);
                _mm512_mask_storeu_ps(d + i, m, _mm512_maskz_loadu_ps(m, s + i));
            }
        }
    if (sw == 2) {
        const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
        memset(ph, 0, sizeof(float) * (size_t)(Cg * 2 * f->phase));
        for (int64_t ch = 0; ch < Cg; ch++) {
            const float *s = xp + ch * f->xp_n;
            float *e = ph + ch * 2 * f->phase, *o = e + f->phase;
            for (int64_t i = 0; i < f->xp_n; i += 32) { /* xp_n is a multiple of 32 */
                __m512 lo = _mm512_loadu_ps(s + i), hi = _mm512_loadu_ps(s + i + 16);
                _mm512_storeu_ps(e + i / 2, _mm512_permutex2var_ps(lo, even, hi));
                _mm512_storeu_ps(o + i / 2, _mm512_permutex2var_ps(lo, odd, hi));
            }
        }
    } else {
        ph = xp;
    }
    uint16_t keep[CX_FLAT_MAX_VECS];
    for (int64_t v = 0, r = 0, q = 0; v < f->vecs; v++) { /* i = 16 v + l = r * Q + q, counted */
        uint32_t m = 0;
        for (int l = 0; l < 16; l++) {
            if (r < OH && q < OW) m |= 1u << l;
            if (++q == f->Q) q = 0, r++;
        }
        keep[v] = (uint16_t)m;
    }
    for (int64_t ch = 0; ch < Cg; ch++)
        for (int64_t kh = 0; kh < g->k[1]; kh++)
            for (int64_t kw = 0; kw < g->k[2]; kw++, col += P) {
                int64_t off = kh * g->dil[1] * f->IWq + kw * g->dil[2];
                const float *src = ph + ch * (sw == 1 ? plane : 2 * plane) + (off % sw) * plane + off / sw;
                float *d = col;
                for (int64_t v = 0; v < f->vecs; v++) {
                    __m512 val = _mm512_maskz_compress_ps(keep[v], _mm512_loadu_ps(src + 16 * v));
                    int n = __builtin_popcount(keep[v]);
                    _mm512_mask_storeu_ps(d, (__mmask16)((1u << n) - 1), val);
                    d += n;
                }
            }
}

#else /* not x86-64 GCC/Clang: never selected (cx_cpu_ok() is 0); scalar for the build */

typedef struct {
    int64_t unused;
} FlatGeom;

static int64_t flat_geom(const CxConv *cv, FlatGeom *f) {
    (void)cv, (void)f;
    return 0;
}

static void im2col_flat(const CxConv *cv, const FlatGeom *f, const float *x, float *buf, float *col) {
    (void)cv, (void)f, (void)x, (void)buf, (void)col;
}

typedef struct {
    int64_t unused;
} DirectCols;

static int direct_cols_make(const CxConv *cv, DirectCols *d) {
    (void)cv, (void)d;
    return 0;
}

static void im2col_direct(const CxConv *cv, const DirectCols *d, const float *x, float *col) {
    (void)cv, (void)d, (void)x, (void)col;
}

static void im2col_strip(const CxConv *cv, const float *x, int64_t p0, int64_t n, float *col) {
    const RtConvGeom *g = &cv->g;
    const int64_t IH = g->in[1], IW = g->in[2], OW = g->out[2], KH = g->k[1], KW = g->k[2];
    for (int64_t ch = 0; ch < cv->Cg; ch++)
        for (int64_t kh = 0; kh < KH; kh++)
            for (int64_t kw = 0; kw < KW; kw++, col += n)
                for (int64_t j = 0; j < n; j++) {
                    int64_t oh = (p0 + j) / OW, ow = (p0 + j) % OW;
                    int64_t ih = oh * g->stride[1] - g->pad0[1] + kh * g->dil[1];
                    int64_t iw = ow * g->stride[2] - g->pad0[2] + kw * g->dil[2];
                    col[j] = ih >= 0 && ih < IH && iw >= 0 && iw < IW ? x[(ch * IH + ih) * IW + iw] : 0.0f;
                }
}

#endif

/* Strips of every image and group: item i is strip i % strips of image-group i / strips. */
typedef struct {
    const CxConv *cv;
    int64_t nb, strips;    /* strip width, strips per image-group */
    int64_t CK;            /* Cg * K: rows of a strip */
    float *scratch;        /* [slots, stride] strip buffers */
    int64_t slots, stride; /* buffers, floats from one to the next */
    int64_t items;         /* N * group * strips */
} StripJob;

static void strip_items(const StripJob *s, int64_t i0, int64_t i1, float *col) {
    const CxConv *cv = s->cv;
    for (int64_t i = i0; i < i1; i++) {
        int64_t ig = i / s->strips, p0 = (i % s->strips) * s->nb;
        int64_t im = ig / cv->group, gr = ig % cv->group;
        int64_t n = cv->Pout - p0 < s->nb ? cv->Pout - p0 : s->nb;
        im2col_strip(cv, cv->x + (im * cv->C + gr * cv->Cg) * cv->Pin, p0, n, col);
        cols_gemm(NULL, cv, im, gr, s->CK, col, n, p0);
    }
}

/* Slot s: its contiguous share of the items, through its own strip buffer. */
static void strip_slot(void *arg, int64_t s0, int64_t s1) {
    const StripJob *s = arg;
    for (int64_t slot = s0; slot < s1; slot++) {
        int64_t i0, i1;
        rt_chunk_range(s->items, s->slots, slot, &i0, &i1);
        strip_items(s, i0, i1, s->scratch + slot * s->stride);
    }
}

/* Narrow outputs: per image and group, the whole strip once (direct im2col for stride-1
 * outputs as wide as the input, flat im2col for other short rows), then the GEMM. */
static int im2col_rows(RtKernelCtx *c, const CxConv *cv, int64_t CK) {
    FlatGeom f;
    DirectCols d;
    int direct = direct_cols_make(cv, &d);
    int64_t flat_n = !direct && cv->g.out[2] < CX_MIN_COLS / 2 ? flat_geom(cv, &f) : 0;
    float *col = rt_scratch(c, sizeof(float) * (size_t)(CK * cv->Pout + flat_n));
    if (!col) return RT_ERR_NOMEM;
    for (int64_t im = 0; im < cv->N; im++)
        for (int64_t gr = 0; gr < cv->group; gr++) {
            const float *xg = cv->x + (im * cv->C + gr * cv->Cg) * cv->Pin;
            if (direct) im2col_direct(cv, &d, xg, col);
            else if (flat_n) im2col_flat(cv, &f, xg, col + CK * cv->Pout, col);
            else im2col_strip(cv, xg, 0, cv->Pout, col);
            cols_gemm(c->pool, cv, im, gr, CK, col, cv->Pout, 0);
        }
    rt_scratch_free(c, col);
    return RT_OK;
}

int cx_im2col_f32(RtKernelCtx *c, const CxConv *cv) {
    const int64_t CK = cv->Cg * cv->K, P = cv->Pout;
    if (cv->nhwc_out && (cv->group != 1 || cv->nhwc_in))
        return rt_fail(c, "channels-last im2col conv of %lld groups", (long long)cv->group);
    if (cv->nhwc_out && !cv->wt) { /* no packed W^T in the node's state: packed for this call */
        CxConv own = *cv;
        float *wt = rt_scratch(c, sizeof(float) * (size_t)cx_ngemm_packed_floats(cv->M, CK));
        if (!wt) return RT_ERR_NOMEM;
        cx_ngemm_pack(cv->w, cv->M, CK, wt);
        own.wt = wt;
        int r = cx_im2col_f32(c, &own);
        rt_scratch_free(c, wt);
        return r;
    }
    int64_t cap = CX_COL_FLOATS / CK; /* widest strip within the budget */
    if (cap < 16) cap = 16;
    if (P < 2 * CX_MIN_COLS && CK * P <= 4 * CX_COL_FLOATS) return im2col_rows(c, cv, CK);
    int64_t want = cx_ceil_div(cv->Mg * CK * P, CX_BLOCK_WORK);
    int64_t nb = cx_round_up(cx_ceil_div(P, want), 16);
    if (nb < CX_MIN_COLS) nb = CX_MIN_COLS;
    if (nb > cap) nb = cap / 16 * 16;
    if (nb > P) nb = P;
    StripJob s = {cv, nb, cx_ceil_div(P, nb), CK, NULL, 0, 0, 0};
    s.items = cv->N * cv->group * s.strips;
    s.slots = rt_pool_chunks(c->pool, s.items, 1);
    if (s.slots < 1) s.slots = 1;
    s.stride = (int64_t)(rt_slot_stride(sizeof(float) * (size_t)(CK * nb), s.slots) / sizeof(float));
    s.scratch = rt_scratch(c, sizeof(float) * (size_t)(s.slots * s.stride));
    if (!s.scratch) return RT_ERR_NOMEM;
    rt_parallel_for(c->pool, s.slots, 1, strip_slot, &s);
    rt_scratch_free(c, s.scratch);
    return RT_OK;
}
