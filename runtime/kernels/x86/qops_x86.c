/*
 * qops_x86.c — optimized kernels for wafer's int8 ops (contract in runtime/kernels/wafer_ops.h,
 * reference in ref/qops.c) and the float <-> int8 boundary of a quantized model:
 *   QConv         depthwise (group == C): direct, qdwconv.c
 *                 1x1, stride 1, no padding: out[M, HW] = W[M, K] x X[K, HW] straight on the
 *                 NCHW input, qgemm.h
 *                 otherwise: im2col in int8/uint8 with the input zero point as padding, then
 *                 the same GEMM; rows of the im2col matrix copied per output row, or, for
 *                 output rows under 64 wide, from padded row-phase planes in one pass per row
 *                 (the "flat" im2col below)
 *   ConvInteger   ONNX's int32-output convolution (no bias, no requantization): QConv's 1x1
 *                 and im2col GEMM paths with the int32 sums as the output (depthwise stays on
 *                 the reference)
 *   QLinear       y[R, N] = x[R, K] x w[N, K]^T through the GEMM (x as its B operand: packed
 *                 panels, or dot products along K for R <= 4)
 *   QAdd          same-shape inputs: TFLite's quantized add, vectorized
 *   QGlobalAveragePool, QuantizeLinear (float32 -> int8/uint8, one scale),
 *   DynamicQuantizeLinear (its range in vectors, then QuantizeLinear's loop)
 * Every kernel computes exactly what the reference computes (the same int32 sums modulo 2^32,
 * the same fixed-point requantization: qvec_x86.h), so outputs are bit-identical to it and do
 * not depend on the thread count. Each kernel takes the cases it is built for — data present,
 * int8/uint8 operands, the parameters the reference accepts, a CPU with AVX2 or AVX-512 VNNI
 * (rt_qgemm_isa) — and hands anything else, including every error, to the reference kernel.
 */
#include <math.h>
#include <string.h>

#include "../../rt_threads.h"
#include "../quant.h"
#include "../ref/conv_geom.h"
#include "qdwconv.h"
#include "qgemm.h"
#include "qvec_x86.h"

static int ref_run(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return rt_kernel_find(n->op)(c, n, in, out);
}

/* ---------------------------------------------------------------- shared checks */

static int is_q8(RtDtype t) { return t == RT_I8 || t == RT_U8; }

/* An int8/uint8 tensor with data. */
static int q8_ok(const RtTensor *t) { return t && is_q8(t->dtype) && t->data; }

/* A per-tensor float32 scale with data, finite and > 0 (the reference's check). */
static int scale_ok(const RtTensor *t, double *v) {
    if (!t || t->dtype != RT_F32 || rt_numel(t) != 1 || !t->data) return 0;
    *v = ((const float *)t->data)[0];
    return *v > 0.0 && !isinf(*v);
}

/* Absent, or one value of dtype dt with data. */
static int zp_ok(const RtTensor *zp, RtDtype dt) {
    return !zp || (zp->dtype == dt && rt_numel(zp) == 1 && zp->data);
}

/* Output dtype (y_zp's, else ref's) and clamp range as ref/qops.c's out_range; 0 where the
 * reference would fail. */
static int out_range(const RtNode *n, const RtTensor *yz, RtDtype ref, RtDtype *yt, int32_t *lo, int32_t *hi) {
    *yt = yz ? yz->dtype : ref;
    if (!is_q8(*yt) || (yz && (rt_numel(yz) != 1 || !yz->data))) return 0;
    rt_qrange(*yt, lo, hi);
    int64_t a = rt_attr_int(n, "qmin", *lo), b = rt_attr_int(n, "qmax", *hi);
    if (a > b) return 0;
    if (a > *lo) *lo = a > *hi ? *hi : (int32_t)a;
    if (b < *hi) *hi = b < *lo ? *lo : (int32_t)b;
    return 1;
}

/* Weight scales (one or [M], each finite and > 0), zero points (absent, one or [M], w's dtype)
 * and bias (absent or int32 [M]) of QConv / QLinear. */
static int wparams_ok(const RtTensor *w, const RtTensor *ws, const RtTensor *wz, const RtTensor *b, int64_t M) {
    int64_t k = ws ? rt_numel(ws) : 0;
    if (!ws || ws->dtype != RT_F32 || !ws->data || (k != 1 && (ws->rank != 1 || k != M))) return 0;
    for (int64_t i = 0; i < k; i++) {
        double v = ((const float *)ws->data)[i];
        if (!(v > 0.0) || isinf(v)) return 0;
    }
    if (wz && (wz->dtype != w->dtype || !wz->data || (rt_numel(wz) != 1 && (wz->rank != 1 || wz->dims[0] != M))))
        return 0;
    return !b || (b->dtype == RT_I32 && b->rank == 1 && b->dims[0] == M && b->data);
}

/* Per output channel: multiplier x_scale * w_scale[m] / y_scale (in double, as the reference)
 * and weight zero point, into stack (M <= QX_STACK_CH channels) or scratch the caller frees
 * with channel_params_free. *any_zw tells whether some zero point is nonzero. */
#define QX_STACK_CH 1024
typedef struct {
    RtRequant rq[QX_STACK_CH];
    int32_t zw[QX_STACK_CH];
} ChanStack;

/* rq[m], zw[m] for m < M; returns whether some zero point is nonzero. */
static int chan_fill(double xs, const RtTensor *ws, double ys, const RtTensor *wz, int64_t M, RtRequant *r, int32_t *zw) {
    const float *wsv = ws->data;
    int64_t k = rt_numel(ws), kz = wz ? rt_numel(wz) : 0;
    int any = 0;
    for (int64_t m = 0; m < M; m++) {
        double w = wsv[k > 1 ? m : 0];
        r[m] = rt_qgemm_requant_make(xs * w / ys);
        int32_t z = kz ? rt_qget(wz, kz > 1 ? m : 0) : 0;
        zw[m] = z;
        any |= z != 0;
    }
    return any;
}

static RtRequant *channel_params(RtKernelCtx *c, ChanStack *stk, double xs, const RtTensor *ws, double ys,
                                 const RtTensor *wz, int64_t M, int32_t **zw, int *any_zw) {
    RtRequant *r = stk->rq;
    *zw = stk->zw;
    if (M > QX_STACK_CH) {
        r = rt_scratch(c, (size_t)M * (sizeof *r + sizeof(int32_t)));
        if (!r) return NULL;
        *zw = (int32_t *)(r + M);
    }
    *any_zw = chan_fill(xs, ws, ys, wz, M, r, *zw);
    return r;
}

static void channel_params_free(RtKernelCtx *c, ChanStack *stk, RtRequant *r) {
    if (r != stk->rq) rt_scratch_free(c, r);
}

/* ---------------------------------------------------------------- im2col (uint8/int8 bytes) */

typedef struct {
    const RtConvGeom *g;
    const uint8_t *xg;       /* one group's input planes [Cg, IH, IW] */
    uint8_t pad;             /* the input zero point as a byte of x's dtype */
    int64_t p0, pc;          /* output positions [p0, p0 + pc) */
    uint8_t *col;            /* [Cg * kh * kw, pc] */
    RtQgemmIsa isa;
} Im2col;

/* dst[o] for output columns o in [o0, o1) of one output row: the input row's element
 * o * s2 + off where that is inside [0, IW), the padding byte elsewhere. */
static inline __attribute__((always_inline)) void im2col_seg_c(uint8_t *dst, const uint8_t *row, int64_t o0, int64_t o1,
                                                               int64_t s2, int64_t off, int64_t IW, uint8_t pad) {
    int64_t wlo = off >= 0 ? 0 : (-off + s2 - 1) / s2, whi = IW - off <= 0 ? 0 : (IW - off + s2 - 1) / s2;
    int64_t lo = wlo > o0 ? wlo : o0, hi = whi < o1 ? whi : o1;
    if (hi < lo) hi = lo = o1 < lo ? o1 : lo;
    if (lo > o0) memset(dst + o0, pad, (size_t)(lo - o0));
    if (s2 == 1) memcpy(dst + lo, row + lo + off, (size_t)(hi - lo));
    else for (int64_t o = lo; o < hi; o++) dst[o] = row[o * s2 + off];
    if (o1 > hi) memset(dst + hi, pad, (size_t)(o1 - hi));
}

#if defined(__x86_64__) && defined(__GNUC__)
/* The same with AVX-512 for strides 1 and 2: 32 columns per step, masked loads (stride 2
 * keeps every other byte: vpmovwb) blended with the padding byte. */
QX_T512 static void im2col_seg512(uint8_t *dst, const uint8_t *row, int64_t o0, int64_t o1, int64_t s2, int64_t off,
                                  int64_t IW, uint8_t pad) {
    if (s2 > 2) {
        im2col_seg_c(dst, row, o0, o1, s2, off, IW, pad);
        return;
    }
    int64_t wlo = off >= 0 ? 0 : (-off + s2 - 1) / s2, whi = IW - off <= 0 ? 0 : (IW - off + s2 - 1) / s2;
    const __m256i pv = _mm256_set1_epi8((char)pad);
    for (int64_t o = o0; o < o1; o += 32) {
        int64_t n = o1 - o < 32 ? o1 - o : 32, a = wlo > o ? wlo : o, b = whi < o + n ? whi : o + n;
        __mmask32 valid = b > a ? (__mmask32)((b - a >= 32 ? 0xffffffffu : (1u << (b - a)) - 1u) << (a - o)) : 0;
        __m256i v = s2 == 1 ? _mm256_maskz_loadu_epi8(valid, row + o + off)
                            : _mm512_cvtepi16_epi8(
                                  _mm512_maskz_loadu_epi8(_pdep_u64(valid, 0x5555555555555555ull), row + 2 * o + off));
        _mm256_mask_storeu_epi8(dst + o, (__mmask32)(n >= 32 ? 0xffffffffu : (1u << n) - 1u),
                                _mm256_mask_blend_epi8(valid, pv, v));
    }
}
#endif

/* Row r = (ch, kh, kw) of the im2col matrix (2-D geometry: D = 1), row segment by row segment. */
static inline __attribute__((always_inline)) void im2col_row(const Im2col *J, int64_t r, const int AVX512) {
    const RtConvGeom *g = J->g;
    const int64_t OW = g->out[2], IH = g->in[1], IW = g->in[2], KH = g->k[1], KW = g->k[2], s2 = g->stride[2];
    int64_t ch = r / (KH * KW), kh = (r / KW) % KH, kw = r % KW;
    const uint8_t *xc = J->xg + ch * IH * IW;
    uint8_t *col = J->col + r * J->pc;
    int64_t off = kw * g->dil[2] - g->pad0[2];
    int64_t oh = J->p0 / OW, ow = J->p0 % OW;
    for (int64_t j = 0; j < J->pc;) {
        int64_t ih = oh * g->stride[1] - g->pad0[1] + kh * g->dil[1];
        int64_t end = ow + (J->pc - j) < OW ? ow + (J->pc - j) : OW; /* this output row's part */
        uint8_t *dst = col + j - ow;                                  /* dst[o] for output column o */
        if (ih < 0 || ih >= IH) memset(dst + ow, J->pad, (size_t)(end - ow));
#if defined(__x86_64__) && defined(__GNUC__)
        else if (AVX512) im2col_seg512(dst, xc + ih * IW, ow, end, s2, off, IW, J->pad);
#endif
        else im2col_seg_c(dst, xc + ih * IW, ow, end, s2, off, IW, J->pad);
        j += end - ow;
        ow = 0;
        oh++;
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
QX_T512 static void im2col_rows512(const Im2col *J, int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) im2col_row(J, r, 1);
}
QX_T256 static void im2col_rows256(const Im2col *J, int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) im2col_row(J, r, 0);
}
#endif

static void im2col_chunk(void *arg, int64_t r0, int64_t r1) {
    const Im2col *J = arg;
#if defined(__x86_64__) && defined(__GNUC__)
    if (J->isa == RT_QGEMM_VNNI) im2col_rows512(J, r0, r1);
    else if (J->isa == RT_QGEMM_AVX2) im2col_rows256(J, r0, r1);
    else
#endif
        for (int64_t r = r0; r < r1; r++) im2col_row(J, r, 0);
}

/* im2col scratch is bounded to this many bytes by chunking output positions. */
#define QCONV_COL_BUDGET ((int64_t)2 << 20)

/* ---------------------------------------------------------------- QConv */

typedef struct {
    const RtTensor *x, *w;
    const int32_t *bias;     /* [M] or NULL */
    RtDtype yt;
    int32_t zx, zy, lo, hi;
    int64_t N, C, M, group, Cg, Mg, CK, P, Pin;
    RtConvGeom g;
    RtRequant *rq;           /* [M] */
    int32_t *zw;             /* [M] */
    int any_zw;
    RtQgemmIsa isa;
    int acc32;               /* 1: the output is the int32 sums (ConvInteger), no requantization */
    const uint8_t *preps;    /* node state: the GEMM constants of group g at g * prep_stride, or NULL */
    size_t prep_stride;
    const void *dwprep;      /* node state: the depthwise constants, or NULL */
} QConv;

/* Checks everything the reference checks (and that data is present); 0 = leave it to the reference. */
static int qconv_ok(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, QConv *q, double *xs, double *ys) {
    const RtTensor *x = rt_in(n, in, 0), *xz = rt_in(n, in, 2), *w = rt_in(n, in, 3), *ws = rt_in(n, in, 4);
    const RtTensor *wz = rt_in(n, in, 5), *yz = rt_in(n, in, 7), *b = rt_in(n, in, 8);
    if (c->shape_only || !q8_ok(x) || !q8_ok(w) || (x->rank != 3 && x->rank != 4) || w->rank != x->rank) return 0;
    if (!scale_ok(rt_in(n, in, 1), xs) || !scale_ok(rt_in(n, in, 6), ys) || !zp_ok(xz, x->dtype)) return 0;
    if (!out_range(n, yz, x->dtype, &q->yt, &q->lo, &q->hi)) return 0;
    q->x = x, q->w = w;
    q->N = x->dims[0], q->C = x->dims[1], q->M = w->dims[0];
    q->group = rt_attr_int(n, "group", 1);
    if (q->group < 1 || q->C % q->group != 0 || q->M % q->group != 0 || w->dims[1] * q->group != q->C) return 0;
    if (!wparams_ok(w, ws, wz, b, q->M)) return 0;
    q->Cg = q->C / q->group, q->Mg = q->M / q->group;
    q->bias = b ? b->data : NULL;
    int nsp = x->rank - 2;
    if (rt_geom_read_weighted(c, n, nsp, x, w, "weight w", &q->g) != RT_OK || rt_geom_forward(c, n, 0, &q->g) != RT_OK) {
        if (c->err) c->err->msg[0] = '\0'; /* the reference says it again */
        return 0;
    }
    q->P = rt_geom_numel(q->g.out), q->Pin = rt_geom_numel(q->g.in), q->CK = q->Cg * rt_geom_numel(q->g.k);
    q->zx = rt_qget(xz, 0), q->zy = rt_qget(yz, 0);
    return q->N > 0 && q->M > 0 && q->P > 0 && q->CK > 0;
}

/* The depthwise convolution of q writing into y (NULL: only its constants matter). */
static void qconv_dw_desc(const QConv *q, RtTensor *y, RtQdw *d) {
    const RtConvGeom *g = &q->g;
    memset(d, 0, sizeof *d);
    d->N = q->N, d->C = q->C, d->M = q->M;
    d->IH = g->in[1], d->IW = g->in[2], d->OH = g->out[1], d->OW = g->out[2];
    d->kh = g->k[1], d->kw = g->k[2], d->sh = g->stride[1], d->sw = g->stride[2], d->dh = g->dil[1], d->dw = g->dil[2];
    d->pt = g->pad0[1], d->pl = g->pad0[2];
    d->x = q->x->data, d->x_u8 = q->x->dtype == RT_U8, d->zx = q->zx;
    d->w = q->w->data, d->w_u8 = q->w->dtype == RT_U8, d->zw = q->zw;
    d->bias = q->bias;
    d->y = y ? y->data : NULL, d->y_u8 = q->yt == RT_U8, d->rq = q->rq, d->zy = q->zy, d->lo = q->lo, d->hi = q->hi;
    d->prep = q->dwprep;
}

static int qconv_depthwise(RtKernelCtx *c, const QConv *q, RtTensor *y) {
    RtQdw d;
    qconv_dw_desc(q, y, &d);
    return rt_qdw_run(c, &d, q->isa);
}

/* The constants of one group's GEMM: rows [grp * Mg, +Mg) of W, the requantization. */
static void qconv_gemm_desc(const QConv *q, int64_t grp, RtQgemm *G) {
    memset(G, 0, sizeof *G);
    int64_t m0 = grp * q->Mg;
    G->M = q->Mg, G->K = q->CK;
    G->a = (const uint8_t *)q->w->data + m0 * q->CK, G->lda = q->CK, G->a_u8 = q->w->dtype == RT_U8;
    G->za = q->any_zw ? q->zw + m0 : NULL;
    G->b_u8 = q->x->dtype == RT_U8, G->b_layout = RT_QGEMM_B_KN, G->zb = q->zx;
    G->bias = q->bias ? q->bias + m0 : NULL;
    G->y_u8 = q->yt == RT_U8, G->ldyn = 1;
    G->rq = q->rq ? q->rq + m0 : NULL, G->zy = q->zy, G->lo = q->lo, G->hi = q->hi;
    G->prep = q->preps ? q->preps + grp * q->prep_stride : NULL;
}

/* One group's GEMM times B (KN, ldb, N columns) into y8[m * ldy + n]. */
static int qconv_gemm_to(RtKernelCtx *c, const QConv *q, int64_t grp, const void *B, int64_t ldb, int64_t N, uint8_t *y8,
                         int64_t ldy) {
    RtQgemm G;
    qconv_gemm_desc(q, grp, &G);
    G.N = N, G.b = B, G.ldb = ldb, G.y8 = y8, G.ldy = ldy;
    return rt_qgemm_run(c, &G, q->isa);
}

/* The same into output positions [p0, p0 + cnt) of image img. */
static int qconv_gemm(RtKernelCtx *c, const QConv *q, int64_t img, int64_t grp, const void *B, int64_t ldb,
                      int64_t p0, int64_t cnt, RtTensor *y) {
    int64_t off = (img * q->M + grp * q->Mg) * q->P + p0; /* element (img, grp * Mg, p0) of y */
    if (!q->acc32) return qconv_gemm_to(c, q, grp, B, ldb, cnt, (uint8_t *)y->data + off, q->P);
    RtQgemm G;
    qconv_gemm_desc(q, grp, &G);
    G.N = cnt, G.b = B, G.ldb = ldb, G.y32 = (int32_t *)y->data + off, G.ldy = q->P;
    return rt_qgemm_run(c, &G, q->isa);
}

static int qconv_im2col(RtKernelCtx *c, const QConv *q, RtTensor *y) {
    int64_t pc = QCONV_COL_BUDGET / q->CK;
    if (pc < 1) pc = 1;
    if (pc > q->P) pc = q->P;
    uint8_t *col = rt_scratch(c, (size_t)(q->CK * pc));
    if (!col) return RT_ERR_NOMEM;
    Im2col J = {&q->g, NULL, (uint8_t)q->zx, 0, 0, col, q->isa};
    int st = RT_OK;
    for (int64_t img = 0; img < q->N && st == RT_OK; img++)
        for (int64_t grp = 0; grp < q->group && st == RT_OK; grp++) {
            J.xg = (const uint8_t *)q->x->data + (img * q->C + grp * q->Cg) * q->Pin;
            for (int64_t p0 = 0; p0 < q->P && st == RT_OK; p0 += pc) {
                J.p0 = p0;
                J.pc = q->P - p0 < pc ? q->P - p0 : pc;
                rt_parallel_for(c->pool, q->CK, (RT_QGEMM_MIN_PAR_MACS / 16) / J.pc + 1, im2col_chunk, &J);
                st = qconv_gemm(c, q, img, grp, col, J.pc, p0, J.pc, y);
            }
        }
    rt_scratch_free(c, col);
    return st;
}

/* ---------------------------------------------------------------- flat im2col */

/* Strides 1 and 2 on AVX-512 with VBMI2: the input planes are first copied with their
 * padding (the zero point) and their rows split by the vertical stride into row phases, all
 * rows of pitch PW, as qdwconv.c does; with the outputs on a grid of OP per row (f = oh * OP +
 * ow, the columns ow >= OW extra), the im2col row of tap (ch, kh, kw) is then the phase plane
 * read at sw * f plus a constant: one memcpy (stride 1) or vpmovwb of 64-byte loads
 * (stride 2) per row, instead of a copy per output row. The GEMM runs over the grid into a
 * buffer whose extra columns vpcompressb drops. */
typedef struct {
    const QConv *q;
    const uint8_t *xg;       /* the group's input planes [Cg, IH, IW] */
    int64_t PH2, PW, OP, F;  /* phase rows, row pitch; outputs per grid row, grid outputs */
    int64_t plane;           /* bytes per input channel: sh * PH2 * PW */
    uint8_t *pl;             /* scratch [Cg][sh][PH2][PW] + slack */
    uint8_t *col;            /* scratch [CK][F] + slack */
} Flat;

#if defined(__x86_64__) && defined(__GNUC__)
#define QX_TVB __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512vbmi2,avx2,fma,bmi,bmi2")))

/* Phase planes of input channels [c0, c1): row i of phase rp is padded row i * sh + rp. */
QX_T512 static void flat_planes(void *arg, int64_t c0, int64_t c1) {
    const Flat *J = arg;
    const QConv *q = J->q;
    const RtConvGeom *g = &q->g;
    const int64_t IH = g->in[1], IW = g->in[2], sh = g->stride[1], pt = g->pad0[1], pl = g->pad0[2];
    const __m512i pv = _mm512_set1_epi8((char)q->zx);
    for (int64_t ch = c0; ch < c1; ch++)
        for (int64_t rp = 0; rp < sh; rp++)
            for (int64_t i = 0; i < J->PH2; i++) {
                int64_t r = i * sh + rp - pt;
                uint8_t *dst = J->pl + ch * J->plane + (rp * J->PH2 + i) * J->PW;
                const uint8_t *row = J->xg + (ch * IH + r) * IW - pl; /* column k of the padded row: row[k] */
                for (int64_t k = 0; k < J->PW; k += 64) {
                    int64_t a = pl > k ? pl : k, b = pl + IW < k + 64 ? pl + IW : k + 64;
                    __mmask64 m = r >= 0 && r < IH && b > a
                                      ? (b - a >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (b - a)) - 1)) << (a - k)
                                      : 0;
                    /* the row's own PW bytes only: the next row may be another thread's */
                    __mmask64 wm = J->PW - k >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << (J->PW - k)) - 1;
                    _mm512_mask_storeu_epi8(dst + k, wm, _mm512_mask_loadu_epi8(pv, m, row + k));
                }
            }
}

/* im2col rows [r0, r1): tap (ch, kh, kw) reads its phase plane at sw * f + off. */
QX_T512 static void flat_rows(void *arg, int64_t r0, int64_t r1) {
    const Flat *J = arg;
    const RtConvGeom *g = &J->q->g;
    const int64_t KH = g->k[1], KW = g->k[2], sh = g->stride[1], sw = g->stride[2];
    for (int64_t r = r0; r < r1; r++) {
        int64_t ch = r / (KH * KW), kh = (r / KW) % KH, kw = r % KW, ky = kh * g->dil[1];
        const uint8_t *src = J->pl + ch * J->plane + ((ky % sh) * J->PH2 + ky / sh) * J->PW + kw * g->dil[2];
        uint8_t *dst = J->col + r * J->F;
        if (sw == 1) {
            memcpy(dst, src, (size_t)J->F);
            continue;
        }
        for (int64_t f = 0; f < J->F; f += 32) { /* the row's own F bytes only (rows are split over threads) */
            __mmask32 wm = J->F - f >= 32 ? ~(__mmask32)0 : ((__mmask32)1 << (J->F - f)) - 1;
            _mm256_mask_storeu_epi8(dst + f, wm, _mm512_cvtepi16_epi8(_mm512_loadu_si512(src + 2 * f)));
        }
    }
}

/* Output rows of Mg channels out of the grid buffer: the columns ow < OW of each grid row. */
QX_TVB static void flat_compress(const Flat *J, const uint8_t *yg, uint8_t *y, int64_t Mg, const uint64_t *om) {
    for (int64_t m = 0; m < Mg; m++) {
        const uint8_t *src = yg + m * J->F;
        for (int64_t k = 0; k < J->F; k += 64) {
            uint64_t msk = om[k / 64];
            int cnt = __builtin_popcountll(msk);
            __m512i v = _mm512_maskz_compress_epi8(msk, _mm512_loadu_si512(src + k));
            _mm512_mask_storeu_epi8(y, cnt >= 64 ? ~0ull : (1ull << cnt) - 1, v);
            y += cnt;
        }
    }
}
#endif

/* 1 when the flat path takes this convolution. */
static int flat_ok(const QConv *q) {
#if defined(__x86_64__) && defined(__GNUC__)
    const RtConvGeom *g = &q->g;
    /* for rows of 64 outputs or more the row copies of qconv_im2col cost less than the planes
     * and the compaction */
    return q->isa == RT_QGEMM_VNNI && g->stride[2] <= 2 && g->in[0] == 1 && g->k[0] == 1 && g->out[2] < 64 &&
           __builtin_cpu_supports("avx512vbmi2");
#else
    (void)q;
    return 0;
#endif
}

static int qconv_flat(RtKernelCtx *c, const QConv *q, RtTensor *y) {
#if defined(__x86_64__) && defined(__GNUC__)
    const RtConvGeom *g = &q->g;
    const int64_t OH = g->out[1], OW = g->out[2], sh = g->stride[1], sw = g->stride[2];
    Flat J;
    memset(&J, 0, sizeof J);
    J.q = q;
    J.PH2 = OH + ((g->k[1] - 1) * g->dil[1]) / sh;
    J.OP = sw == 1 ? OW + (g->k[2] - 1) * g->dil[2] : OW + ((g->k[2] - 1) * g->dil[2] + 1) / 2;
    J.PW = sw * J.OP;
    J.F = (OH - 1) * J.OP + OW;
    J.plane = sh * J.PH2 * J.PW;
    size_t pbytes = (size_t)(q->Cg * J.plane + 128 + 63) & ~(size_t)63, cbytes = (size_t)(q->CK * J.F + 64 + 63) & ~(size_t)63;
    size_t ybytes = (size_t)(q->Mg * J.F + 64 + 63) & ~(size_t)63, obytes = (size_t)(J.F / 64 + 1) * 8;
    uint8_t *buf = rt_scratch(c, pbytes + cbytes + ybytes + obytes);
    if (!buf) return RT_ERR_NOMEM;
    J.pl = buf, J.col = buf + pbytes;
    uint8_t *yg = J.col + cbytes;
    uint64_t *om = (uint64_t *)(yg + ybytes);
    memset(om, 0, obytes);
    for (int64_t f = 0; f < J.F; f++) /* grid columns that are outputs */
        if (f % J.OP < OW) om[f / 64] |= 1ull << (f % 64);
    int st = RT_OK;
    for (int64_t img = 0; img < q->N && st == RT_OK; img++)
        for (int64_t grp = 0; grp < q->group && st == RT_OK; grp++) {
            J.xg = (const uint8_t *)q->x->data + (img * q->C + grp * q->Cg) * q->Pin;
            rt_parallel_for(c->pool, q->Cg, (RT_QGEMM_MIN_PAR_MACS / 16) / (J.plane + 1) + 1, flat_planes, &J);
            rt_parallel_for(c->pool, q->CK, (RT_QGEMM_MIN_PAR_MACS / 16) / (J.F + 1) + 1, flat_rows, &J);
            st = qconv_gemm_to(c, q, grp, J.col, J.F, J.F, yg, J.F);
            if (st == RT_OK)
                flat_compress(&J, yg, (uint8_t *)y->data + (img * q->M + grp * q->Mg) * q->P, q->Mg, om);
        }
    rt_scratch_free(c, buf);
    return st;
#else
    (void)c, (void)q, (void)y;
    return RT_ERR;
#endif
}

/* A QConv node's constants kept across runs in its node state (kernel.h): the per-channel
 * multipliers and zero points and the GEMM's or the depthwise kernel's prepared constants
 * (qgemm.h, qdwconv.h). Made at the first run when every input but x is a graph constant,
 * made again when x's dtype or shape or the implementation changes. One block: this header,
 * rq [M], zw [M], then the preps, each 64-byte aligned. */
#define QCONV_STATE_MAGIC 0x7761667172637631ull /* "waferqcv1" */
enum { QCONV_KEY = RT_MAX_RANK + 4 };

typedef struct {
    uint64_t magic;
    int64_t key[QCONV_KEY];  /* isa, path, x dtype, x rank, x dims */
    int64_t M;
    int any_zw;
    size_t off_rq, off_zw, off_prep, prep_stride;
} QConvState;

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

/* q's constants from the node state, made there first if needed; NULL when the node keeps no
 * state or its inputs are not all constant (the kernel then computes them per call). */
static QConvState *qconv_state(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, QConv *q, int dw, double xs,
                               double ys) {
    if (!c->node_state || !c->state_alloc) return NULL;
    for (int j = 1; j <= 8; j++)
        if (rt_in(n, in, j) && !((c->const_inputs >> j) & 1)) return NULL;
    int64_t key[QCONV_KEY] = {q->isa, dw, q->x->dtype, q->x->rank};
    for (int i = 0; i < q->x->rank; i++) key[4 + i] = q->x->dims[i];
    QConvState *s = *c->node_state;
    if (s && s->magic == QCONV_STATE_MAGIC && memcmp(s->key, key, sizeof key) == 0) return s;
    QConvState h;
    memset(&h, 0, sizeof h);
    h.magic = QCONV_STATE_MAGIC;
    memcpy(h.key, key, sizeof key);
    h.M = q->M;
    h.off_rq = align64(sizeof h);
    h.off_zw = h.off_rq + align64((size_t)q->M * sizeof(RtRequant));
    h.off_prep = h.off_zw + align64((size_t)q->M * sizeof(int32_t));
    /* the preps' sizes need the multipliers only through their count: describe with q as is */
    size_t prep_total;
    if (dw) {
        RtQdw d;
        qconv_dw_desc(q, NULL, &d);
        prep_total = align64(rt_qdw_prep_bytes(&d, q->isa));
    } else {
        RtQgemm G;
        qconv_gemm_desc(q, 0, &G);
        h.prep_stride = align64(rt_qgemm_prep_bytes(&G, q->isa));
        prep_total = h.prep_stride * (size_t)q->group;
    }
    uint8_t *blk = c->state_alloc->alloc(c->state_alloc->user, h.off_prep + prep_total);
    if (!blk) return NULL; /* no caching; the call still works */
    memcpy(blk, &h, sizeof h);
    s = (QConvState *)blk;
    RtRequant *rq = (RtRequant *)(blk + s->off_rq);
    int32_t *zw = (int32_t *)(blk + s->off_zw);
    s->any_zw = chan_fill(xs, rt_in(n, in, 4), ys, rt_in(n, in, 5), q->M, rq, zw);
    q->rq = rq, q->zw = zw, q->any_zw = s->any_zw;
    q->preps = NULL, q->dwprep = NULL;
    if (dw) {
        RtQdw d;
        qconv_dw_desc(q, NULL, &d);
        rt_qdw_prep(&d, q->isa, blk + s->off_prep);
    } else {
        for (int64_t grp = 0; grp < q->group; grp++) {
            RtQgemm G;
            qconv_gemm_desc(q, grp, &G);
            rt_qgemm_prep(&G, q->isa, blk + s->off_prep + (size_t)grp * s->prep_stride);
        }
    }
    if (*c->node_state) c->state_alloc->free(c->state_alloc->user, *c->node_state);
    *c->node_state = s;
    return s;
}

static int k_qconv(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    QConv q;
    memset(&q, 0, sizeof q);
    double xs = 0, ys = 0;
    q.isa = rt_qgemm_isa();
    if (q.isa == RT_QGEMM_REF || !qconv_ok(c, n, in, &q, &xs, &ys)) return ref_run(c, n, in, out);
    int64_t dims[RT_MAX_RANK];
    rt_geom_out_dims(&q.g, q.N, q.M, dims);
    RT_TRY(rt_out_alloc(c, out[0], q.yt, q.x->rank, dims));
    int dw = q.Cg == 1 && q.Mg == 1; /* depthwise; a channel multiplier (C = 1 inputs) goes to the GEMM */
    ChanStack stk;
    RtRequant *own = NULL;
    QConvState *s = qconv_state(c, n, in, &q, dw, xs, ys);
    if (s) {
        uint8_t *blk = (uint8_t *)s;
        q.rq = (RtRequant *)(blk + s->off_rq), q.zw = (int32_t *)(blk + s->off_zw), q.any_zw = s->any_zw;
        if (dw) q.dwprep = blk + s->off_prep;
        else q.preps = blk + s->off_prep, q.prep_stride = s->prep_stride;
    } else {
        own = q.rq = channel_params(c, &stk, xs, rt_in(n, in, 4), ys, rt_in(n, in, 5), q.M, &q.zw, &q.any_zw);
        if (!q.rq) return RT_ERR_NOMEM;
    }
    int st;
    const RtConvGeom *g = &q.g;
    int unit = q.CK == q.Cg && q.P == q.Pin && g->stride[1] == 1 && g->stride[2] == 1 && g->pad0[1] == 0 &&
               g->pad0[2] == 0; /* 1x1, stride 1, no padding: the input planes are the GEMM's B */
    if (dw) {
        st = qconv_depthwise(c, &q, out[0]);
    } else if (unit) {
        st = RT_OK;
        for (int64_t img = 0; img < q.N && st == RT_OK; img++)
            for (int64_t grp = 0; grp < q.group && st == RT_OK; grp++)
                st = qconv_gemm(c, &q, img, grp, (const uint8_t *)q.x->data + (img * q.C + grp * q.Cg) * q.Pin, q.P, 0,
                                q.P, out[0]);
    } else if (flat_ok(&q) && q.CK * q.P <= QCONV_COL_BUDGET) {
        st = qconv_flat(c, &q, out[0]);
    } else {
        st = qconv_im2col(c, &q, out[0]);
    }
    if (own) channel_params_free(c, &stk, own);
    return st;
}

/* ---------------------------------------------------------------- ConvInteger */

/* ONNX ConvInteger (x, w, x_zero_point, w_zero_point) -> int32: the sums of QConv's GEMM
 * without bias or requantization. Takes what the reference takes, 1-D and 2-D, with x's zero
 * point per tensor and w's per tensor or per output channel; depthwise, 3-D and anything the
 * reference refuses go to the reference (the same int32 sums modulo 2^32 either way). */
static int k_conv_integer(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0), *w = rt_in(n, in, 1), *xz = rt_in(n, in, 2), *wz = rt_in(n, in, 3);
    QConv q;
    memset(&q, 0, sizeof q);
    q.isa = rt_qgemm_isa();
    if (q.isa == RT_QGEMM_REF || c->shape_only || !q8_ok(x) || !q8_ok(w) || (x->rank != 3 && x->rank != 4) ||
        w->rank != x->rank || !zp_ok(xz, x->dtype))
        return ref_run(c, n, in, out);
    q.x = x, q.w = w, q.acc32 = 1;
    q.N = x->dims[0], q.C = x->dims[1], q.M = w->dims[0];
    q.group = rt_attr_int(n, "group", 1);
    if (q.group < 1 || q.C % q.group != 0 || q.M % q.group != 0 || w->dims[1] * q.group != q.C)
        return ref_run(c, n, in, out);
    if (wz && (wz->dtype != w->dtype || !wz->data || (rt_numel(wz) != 1 && (wz->rank != 1 || wz->dims[0] != q.M))))
        return ref_run(c, n, in, out);
    q.Cg = q.C / q.group, q.Mg = q.M / q.group;
    if (q.Cg == 1 && q.Mg == 1) return ref_run(c, n, in, out); /* depthwise */
    if (rt_geom_read_weighted(c, n, x->rank - 2, x, w, "weight w", &q.g) != RT_OK ||
        rt_geom_forward(c, n, 0, &q.g) != RT_OK) {
        if (c->err) c->err->msg[0] = '\0'; /* the reference says it again */
        return ref_run(c, n, in, out);
    }
    q.P = rt_geom_numel(q.g.out), q.Pin = rt_geom_numel(q.g.in), q.CK = q.Cg * rt_geom_numel(q.g.k);
    q.zx = rt_qget(xz, 0);
    int64_t dims[RT_MAX_RANK];
    rt_geom_out_dims(&q.g, q.N, q.M, dims);
    RT_TRY(rt_out_alloc(c, out[0], RT_I32, x->rank, dims));
    if (q.N == 0 || q.M == 0 || q.P == 0) return RT_OK;
    if (q.CK == 0) { /* no taps: every sum is empty */
        memset(out[0]->data, 0, (size_t)(q.N * q.M * q.P) * sizeof(int32_t));
        return RT_OK;
    }
    /* w's zero point per output channel, as the GEMM's per-row za */
    int32_t *zw = NULL;
    if (wz && !(rt_numel(wz) == 1 && rt_qget(wz, 0) == 0)) {
        if (!(zw = rt_scratch(c, (size_t)q.M * sizeof(int32_t)))) return RT_ERR_NOMEM;
        for (int64_t m = 0; m < q.M; m++) zw[m] = rt_qget(wz, rt_numel(wz) == 1 ? 0 : m);
        q.zw = zw, q.any_zw = 1;
    }
    int st = RT_OK;
    const RtConvGeom *g = &q.g;
    if (q.CK == q.Cg && q.P == q.Pin && g->stride[1] == 1 && g->stride[2] == 1 && g->pad0[1] == 0 && g->pad0[2] == 0) {
        for (int64_t img = 0; img < q.N && st == RT_OK; img++) /* 1x1, stride 1, no padding: B is the input */
            for (int64_t grp = 0; grp < q.group && st == RT_OK; grp++)
                st = qconv_gemm(c, &q, img, grp, (const uint8_t *)x->data + (img * q.C + grp * q.Cg) * q.Pin, q.P, 0,
                                q.P, out[0]);
    } else {
        st = qconv_im2col(c, &q, out[0]);
    }
    rt_scratch_free(c, zw);
    return st;
}

/* ---------------------------------------------------------------- QLinear */

static int k_qlinear(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0), *xz = rt_in(n, in, 2), *w = rt_in(n, in, 3), *ws = rt_in(n, in, 4);
    const RtTensor *wz = rt_in(n, in, 5), *yz = rt_in(n, in, 7), *b = rt_in(n, in, 8);
    RtQgemmIsa isa = rt_qgemm_isa();
    double xs = 0, ys = 0;
    RtDtype yt;
    int32_t lo, hi;
    if (isa == RT_QGEMM_REF || c->shape_only || !q8_ok(x) || !q8_ok(w) || x->rank < 1 || w->rank != 2 ||
        w->dims[1] != x->dims[x->rank - 1] || !scale_ok(rt_in(n, in, 1), &xs) || !scale_ok(rt_in(n, in, 6), &ys) ||
        !zp_ok(xz, x->dtype) || !wparams_ok(w, ws, wz, b, w->dims[0]) || !out_range(n, yz, x->dtype, &yt, &lo, &hi))
        return ref_run(c, n, in, out);
    int64_t N = w->dims[0], K = w->dims[1], R = rt_shape_numel(x->rank - 1, x->dims);
    int64_t dims[RT_MAX_RANK];
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->rank);
    dims[x->rank - 1] = N;
    RT_TRY(rt_out_alloc(c, out[0], yt, x->rank, dims));
    if (R == 0 || N == 0) return RT_OK;
    int32_t *zw;
    int any_zw;
    ChanStack stk;
    RtRequant *rq = channel_params(c, &stk, xs, ws, ys, wz, N, &zw, &any_zw);
    if (!rq) return RT_ERR_NOMEM;
    RtQgemm G;
    memset(&G, 0, sizeof G);
    G.M = N, G.N = R, G.K = K; /* y^T[N, R] = w[N, K] x^T: w is A as it is, x is B in [R, K] rows */
    G.a = w->data, G.lda = K, G.a_u8 = w->dtype == RT_U8, G.za = any_zw ? zw : NULL;
    G.b = x->data, G.ldb = K, G.b_u8 = x->dtype == RT_U8, G.b_layout = RT_QGEMM_B_NK, G.zb = rt_qget(xz, 0);
    G.bias = b ? b->data : NULL;
    G.y8 = out[0]->data, G.y_u8 = yt == RT_U8, G.ldy = 1, G.ldyn = N;
    G.rq = rq, G.zy = rt_qget(yz, 0), G.lo = lo, G.hi = hi;
    int st = rt_qgemm_run(c, &G, isa);
    channel_params_free(c, &stk, rq);
    return st;
}

/* ---------------------------------------------------------------- QAdd */

/* QAdd's inputs are lifted by 2^QADD_LEFT_SHIFT before their multipliers (ref/qops.c's value). */
#define QADD_LEFT_SHIFT 20
#define QX_MIN_PAR_ELEMS ((int64_t)1 << 15) /* element-wise loops: below this, one thread */

typedef struct {
    const void *a, *b;
    void *y;
    int a_u8, b_u8, y_u8;
    int32_t za, zb, zy, lo, hi;
    RtRequant ra, rb, ry;
    int64_t total;           /* elements */
    RtQgemmIsa isa;
} QAdd;

#if defined(__x86_64__) && defined(__GNUC__)
QX_T512 QX_INL __m512i load16_q8(const void *p, int u8, int64_t i, __mmask16 mk) {
    __m128i v = _mm_maskz_loadu_epi8(mk, (const uint8_t *)p + i);
    return u8 ? _mm512_cvtepu8_epi32(v) : _mm512_cvtepi8_epi32(v);
}

QX_T512 static void qadd512(const QAdd *J, int64_t i0, int64_t i1) {
    const QxRq512 qa = qx_rq512(J->ra, 0, INT32_MIN, INT32_MAX), qb = qx_rq512(J->rb, 0, INT32_MIN, INT32_MAX);
    const QxRq512 qy = qx_rq512(J->ry, J->zy, J->lo, J->hi);
    const __m512i za = _mm512_set1_epi32(J->za), zb = _mm512_set1_epi32(J->zb);
    for (int64_t i = i0; i < i1; i += 16) {
        __mmask16 mk = (__mmask16)(i1 - i >= 16 ? 0xffff : (1u << (i1 - i)) - 1);
        __m512i a = _mm512_slli_epi32(_mm512_sub_epi32(load16_q8(J->a, J->a_u8, i, mk), za), QADD_LEFT_SHIFT);
        __m512i b = _mm512_slli_epi32(_mm512_sub_epi32(load16_q8(J->b, J->b_u8, i, mk), zb), QADD_LEFT_SHIFT);
        __m512i s = _mm512_add_epi32(qx_requant512(a, &qa), qx_requant512(b, &qb));
        _mm_mask_storeu_epi8((uint8_t *)J->y + i, mk, _mm512_cvtepi32_epi8(qx_requant512(s, &qy)));
    }
}

QX_T256 QX_INL __m256i load8_q8(const void *p, int u8, int64_t i, int n) {
    uint8_t t[16] = {0};
    memcpy(t, (const uint8_t *)p + i, (size_t)n);
    __m128i v = _mm_loadl_epi64((const __m128i *)t);
    return u8 ? _mm256_cvtepu8_epi32(v) : _mm256_cvtepi8_epi32(v);
}

QX_T256 static void qadd256(const QAdd *J, int64_t i0, int64_t i1) {
    const QxRq256 qa = qx_rq256(J->ra, 0, INT32_MIN, INT32_MAX), qb = qx_rq256(J->rb, 0, INT32_MIN, INT32_MAX);
    const QxRq256 qy = qx_rq256(J->ry, J->zy, J->lo, J->hi);
    const __m256i za = _mm256_set1_epi32(J->za), zb = _mm256_set1_epi32(J->zb);
    for (int64_t i = i0; i < i1; i += 8) {
        int cnt = i1 - i >= 8 ? 8 : (int)(i1 - i);
        __m256i a = _mm256_slli_epi32(_mm256_sub_epi32(load8_q8(J->a, J->a_u8, i, cnt), za), QADD_LEFT_SHIFT);
        __m256i b = _mm256_slli_epi32(_mm256_sub_epi32(load8_q8(J->b, J->b_u8, i, cnt), zb), QADD_LEFT_SHIFT);
        __m256i s = _mm256_add_epi32(qx_requant256(a, &qa), qx_requant256(b, &qb));
        qx_store8_256(qx_requant256(s, &qy), J->y_u8, (uint8_t *)J->y + i, cnt);
    }
}
#endif

static void qadd_chunk(void *arg, int64_t c0, int64_t c1) {
    const QAdd *J = arg;
    int64_t i1 = c1 * 64 > J->total ? J->total : c1 * 64; /* chunks of 64 elements */
#if defined(__x86_64__) && defined(__GNUC__)
    if (J->isa == RT_QGEMM_VNNI) qadd512(J, c0 * 64, i1);
    else qadd256(J, c0 * 64, i1);
#else
    (void)J, (void)i1;
#endif
}

static int k_qadd(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *a = rt_in(n, in, 0), *az = rt_in(n, in, 2), *b = rt_in(n, in, 3), *bz = rt_in(n, in, 5);
    const RtTensor *yz = rt_in(n, in, 7);
    QAdd J, *q = &J;
    memset(q, 0, sizeof *q);
    q->isa = rt_qgemm_isa();
    double sa = 0, sb = 0, sy = 0;
    RtDtype yt;
    if (q->isa == RT_QGEMM_REF || c->shape_only || !q8_ok(a) || !q8_ok(b) || !zp_ok(az, a->dtype) ||
        !zp_ok(bz, b->dtype) || !scale_ok(rt_in(n, in, 1), &sa) || !scale_ok(rt_in(n, in, 4), &sb) ||
        !scale_ok(rt_in(n, in, 6), &sy) || !out_range(n, yz, a->dtype, &yt, &q->lo, &q->hi) || a->rank != b->rank ||
        !rt_shape_equal(a, b))
        return ref_run(c, n, in, out);
    double twice_max = 2.0 * (sa > sb ? sa : sb); /* the reference's multipliers, exactly */
    q->ra = rt_requant_make(sa / twice_max);
    q->rb = rt_requant_make(sb / twice_max);
    q->ry = rt_requant_make(twice_max / ((double)(1 << QADD_LEFT_SHIFT) * sy));
    if (q->ra.shift > 0 || q->rb.shift > 0 || q->ry.shift > 0) return ref_run(c, n, in, out);
    RT_TRY(rt_out_alloc(c, out[0], yt, a->rank, a->dims));
    q->a = a->data, q->b = b->data, q->y = out[0]->data;
    q->a_u8 = a->dtype == RT_U8, q->b_u8 = b->dtype == RT_U8, q->y_u8 = yt == RT_U8;
    q->za = rt_qget(az, 0), q->zb = rt_qget(bz, 0), q->zy = rt_qget(yz, 0);
    q->total = rt_numel(a);
    rt_parallel_for(c->pool, (q->total + 63) / 64, QX_MIN_PAR_ELEMS / 64, qadd_chunk, q);
    return RT_OK;
}

/* ---------------------------------------------------------------- QGlobalAveragePool */

/* s / count rounded to nearest, ties away from zero (ref/qops.c's div_round). */
static int32_t div_round(int64_t s, int64_t count) {
    return (int32_t)(s >= 0 ? (s + count / 2) / count : -((-s + count / 2) / count));
}

#if defined(__x86_64__) && defined(__GNUC__)
/* Sum of n bytes (uint8, or int8 read as uint8 + 128) by vpsadbw. */
QX_T512 static int64_t plane_sum512(const uint8_t *p, int64_t n, int u8) {
    const __m512i flip = _mm512_set1_epi8(u8 ? 0 : (char)0x80);
    __m512i acc = _mm512_setzero_si512();
    for (int64_t i = 0; i < n; i += 64) {
        __mmask64 m = n - i >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (n - i)) - 1);
        __m512i v = _mm512_maskz_mov_epi8(m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, p + i), flip));
        acc = _mm512_add_epi64(acc, _mm512_sad_epu8(v, _mm512_setzero_si512()));
    }
    return _mm512_reduce_add_epi64(acc) - (u8 ? 0 : 128 * n);
}
#endif

static int64_t plane_sum(const uint8_t *p, int64_t n, int u8, RtQgemmIsa isa) {
#if defined(__x86_64__) && defined(__GNUC__)
    if (isa == RT_QGEMM_VNNI) return plane_sum512(p, n, u8);
#else
    (void)isa;
#endif
    int64_t sum = 0;
    if (u8) for (int64_t i = 0; i < n; i++) sum += p[i];
    else for (int64_t i = 0; i < n; i++) sum += (int8_t)p[i];
    return sum;
}

static int k_qglobal_average_pool(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0), *xz = rt_in(n, in, 2), *yz = rt_in(n, in, 4);
    double xs = 0, ys = 0;
    RtDtype yt;
    int32_t lo, hi;
    if (c->shape_only || !q8_ok(x) || x->rank < 3 || !zp_ok(xz, x->dtype) || !scale_ok(rt_in(n, in, 1), &xs) ||
        !scale_ok(rt_in(n, in, 3), &ys) || !out_range(n, yz, x->dtype, &yt, &lo, &hi))
        return ref_run(c, n, in, out);
    int64_t dims[RT_MAX_RANK];
    for (int i = 0; i < x->rank; i++) dims[i] = i < 2 ? x->dims[i] : 1;
    RT_TRY(rt_out_alloc(c, out[0], yt, x->rank, dims));
    int64_t planes = x->dims[0] * x->dims[1], pin = rt_shape_numel(x->rank - 2, x->dims + 2);
    RtRequant r = rt_requant_make(xs / ys);
    int32_t zx = rt_qget(xz, 0), zy = rt_qget(yz, 0);
    int u8 = x->dtype == RT_U8;
    RtQgemmIsa isa = rt_qgemm_isa();
    for (int64_t p = 0; p < planes; p++) {
        /* sum of x, then minus pin * zx: the reference's sum of (x - zx) */
        int64_t sum = plane_sum((const uint8_t *)x->data + p * pin, pin, u8, isa) - pin * (int64_t)zx;
        int32_t v = rt_requant_out(pin > 0 ? div_round(sum, pin) : 0, r, zy, lo, hi);
        if (yt == RT_U8) ((uint8_t *)out[0]->data)[p] = (uint8_t)v;
        else ((int8_t *)out[0]->data)[p] = (int8_t)v;
    }
    return RT_OK;
}

/* ---------------------------------------------------------------- QuantizeLinear */

typedef struct {
    const float *x;
    void *y;
    float scale;
    int32_t zp, qmin, qmax;
    int64_t total;
    RtQgemmIsa isa;
} QuantJob;

#if defined(__x86_64__) && defined(__GNUC__)
/* q = clamp(nearbyint(x / s) + zp) as rt_quantize_f32: the division in float32, ties to even,
 * NaN as 0; clamped in float before the conversion (a huge quotient saturates either way). */
QX_T512 static void quant512(const QuantJob *J, int64_t i0, int64_t i1) {
    const __m512 s = _mm512_set1_ps(J->scale), zp = _mm512_set1_ps((float)J->zp);
    const __m512 lo = _mm512_set1_ps((float)J->qmin), hi = _mm512_set1_ps((float)J->qmax);
    for (int64_t i = i0; i < i1; i += 16) {
        __mmask16 mk = (__mmask16)(i1 - i >= 16 ? 0xffff : (1u << (i1 - i)) - 1);
        __m512 q = _mm512_div_ps(_mm512_maskz_loadu_ps(mk, J->x + i), s);
        __mmask16 nan = _mm512_cmp_ps_mask(q, q, _CMP_UNORD_Q);
        q = _mm512_roundscale_ps(q, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        q = _mm512_mask_mov_ps(q, nan, _mm512_setzero_ps());
        q = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(q, zp), lo), hi);
        _mm_mask_storeu_epi8((uint8_t *)J->y + i, mk, _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(q)));
    }
}

QX_T256 static void quant256(const QuantJob *J, int64_t i0, int64_t i1) {
    const __m256 s = _mm256_set1_ps(J->scale), zp = _mm256_set1_ps((float)J->zp);
    const __m256 lo = _mm256_set1_ps((float)J->qmin), hi = _mm256_set1_ps((float)J->qmax);
    for (int64_t i = i0; i < i1; i += 8) {
        int cnt = i1 - i >= 8 ? 8 : (int)(i1 - i);
        float t[8] = {0};
        memcpy(t, J->x + i, (size_t)cnt * sizeof(float));
        __m256 q = _mm256_div_ps(_mm256_loadu_ps(t), s);
        __m256 nan = _mm256_cmp_ps(q, q, _CMP_UNORD_Q);
        q = _mm256_round_ps(q, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        q = _mm256_andnot_ps(nan, q);
        q = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(q, zp), lo), hi);
        qx_store8_256(_mm256_cvtps_epi32(q), J->qmin >= 0, (uint8_t *)J->y + i, cnt);
    }
}
#endif

static void quant_chunk(void *arg, int64_t c0, int64_t c1) {
    const QuantJob *J = arg;
    int64_t i1 = c1 * 64 > J->total ? J->total : c1 * 64;
#if defined(__x86_64__) && defined(__GNUC__)
    if (J->isa == RT_QGEMM_VNNI) quant512(J, c0 * 64, i1);
    else quant256(J, c0 * 64, i1);
#else
    (void)i1;
#endif
}

static int k_quantize_linear(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0), *s = rt_in(n, in, 1), *zp = rt_in(n, in, 2);
    QuantJob J;
    memset(&J, 0, sizeof J);
    J.isa = rt_qgemm_isa();
    int64_t od = rt_attr_int(n, "output_dtype", 0), sat = rt_attr_int(n, "saturate", 1);
    if (J.isa == RT_QGEMM_REF || c->shape_only || !x || x->dtype != RT_F32 || !x->data || !s || s->dtype != RT_F32 ||
        !s->data || s->rank > 1 || rt_numel(s) != 1 || rt_attr_int(n, "block_size", 0) != 0 || (sat != 0 && sat != 1) ||
        !zp || !q8_ok(zp) || zp->rank != s->rank || !rt_shape_equal(zp, s) || (od != 0 && od != (int64_t)zp->dtype) ||
        rt_attr(n, "precision")) /* opset 23's precision: the reference checks and applies it */
        return ref_run(c, n, in, out);
    RT_TRY(rt_out_alloc(c, out[0], zp->dtype, x->rank, x->dims));
    J.x = x->data, J.y = out[0]->data, J.scale = ((const float *)s->data)[0], J.zp = rt_qget(zp, 0);
    rt_qrange(zp->dtype, &J.qmin, &J.qmax);
    J.total = rt_numel(x);
    rt_parallel_for(c->pool, (J.total + 63) / 64, QX_MIN_PAR_ELEMS / 64, quant_chunk, &J);
    return RT_OK;
}

/* ---------------------------------------------------------------- DynamicQuantizeLinear */

#if defined(__x86_64__) && defined(__GNUC__)
/* The range [*lo, *hi] of x[0, n) widened to 0, as the reference's `x < lo` / `x > hi` scan
 * finds it: vminps / vmaxps return their second operand (the running bound) for a NaN, and
 * -0.0 never replaces the starting +0.0 (neither compares below or above it), so the lanes
 * and their reduction give the same two floats. */
QX_T512 static void range512(const float *x, int64_t n, float *lo, float *hi) {
    __m512 l = _mm512_setzero_ps(), h = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 mk = (__mmask16)(n - i >= 16 ? 0xffff : (1u << (n - i)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(mk, x + i);
        l = _mm512_mask_min_ps(l, mk, v, l);
        h = _mm512_mask_max_ps(h, mk, v, h);
    }
    *lo = _mm512_reduce_min_ps(l);
    *hi = _mm512_reduce_max_ps(h);
}
#endif

/* uint8 codes of x with the scale and zero point of x's own range (widened to 0): the scale
 * and zero point as the reference computes them, the range in vectors (AVX-512) and the codes
 * through QuantizeLinear's vector loop above (the same float32 arithmetic as
 * rt_quantize_f32), so y, y_scale and y_zero_point are bit-identical to the reference's. */
static int k_dynamic_quantize_linear(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0);
    QuantJob J;
    memset(&J, 0, sizeof J);
    J.isa = rt_qgemm_isa();
    if (J.isa != RT_QGEMM_VNNI || c->shape_only || !x || x->dtype != RT_F32 || !x->data || n->n_out < 3)
        return ref_run(c, n, in, out);
    rt_out_set_shape(out[1], RT_F32, 0, NULL);
    rt_out_set_shape(out[2], RT_U8, 0, NULL);
    RT_TRY(rt_out_alloc(c, out[0], RT_U8, x->rank, x->dims));
    RT_TRY(rt_out_alloc_data(c, out[1]));
    RT_TRY(rt_out_alloc_data(c, out[2]));
    float lo = 0.0f, hi = 0.0f;
#if defined(__x86_64__) && defined(__GNUC__)
    range512(x->data, rt_numel(x), &lo, &hi);
#endif
    /* the reference's arithmetic, statement for statement */
    float scale = hi == lo ? 1.0f : (hi - lo) / 255.0f;
    float zp0 = 0.0f - lo / scale;
    int32_t zp = rt_round_sat((double)(zp0 < 0.0f ? 0.0f : zp0 > 255.0f ? 255.0f : zp0), 0, 0, 255);
    J.x = x->data, J.y = out[0]->data, J.scale = scale, J.zp = zp, J.qmin = 0, J.qmax = 255;
    J.total = rt_numel(x);
    rt_parallel_for(c->pool, (J.total + 63) / 64, QX_MIN_PAR_ELEMS / 64, quant_chunk, &J);
    *(float *)out[1]->data = scale;
    *(uint8_t *)out[2]->data = (uint8_t)zp;
    return RT_OK;
}

const RtKernelEntry rt_kernels_x86_qops[] = {
    {RT_OP_QCONV, k_qconv},
    {RT_OP_CONV_INTEGER, k_conv_integer},
    {RT_OP_QLINEAR, k_qlinear},
    {RT_OP_QADD, k_qadd},
    {RT_OP_QGLOBAL_AVERAGE_POOL, k_qglobal_average_pool},
    {RT_OP_QUANTIZE_LINEAR, k_quantize_linear},
    {RT_OP_DYNAMIC_QUANTIZE_LINEAR, k_dynamic_quantize_linear},
    {-1, 0},
};
