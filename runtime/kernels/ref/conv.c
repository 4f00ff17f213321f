/*
 * conv.c — Conv and ConvTranspose (1-D, 2-D, 3-D; groups, dilations, strides, pads,
 * auto_pad; ConvTranspose also output_padding and output_shape).
 *
 * Shapes: X [N, C, in...], Conv W [M, C/group, k...], ConvTranspose W [C, M/group, k...],
 * B [M], Y [N, M, out...]. Everything is normalized to 3-D by conv_geom (a 2-D conv is a
 * 3-D conv with depth 1), so one set of loops serves every rank.
 *
 * float32 Conv, per image and group: im2col turns the input into a matrix
 * col[Cg * kD*kH*kW, P] (P = output positions, done in column chunks to bound scratch), then
 * Y_g[Mg, P] = W_g[Mg, Cg*K] * col with rt_sgemm. A 1x1 kernel with stride 1 and no padding
 * needs no im2col (the input already is that matrix). Depthwise groups (one input channel
 * per group) use a direct loop instead: there a GEMM would have a single row and im2col
 * would cost more than the arithmetic.
 * float32 ConvTranspose is the adjoint: col[Mg*K, Pin] = W_g^T * X_g, then col2im adds each
 * column entry into the output position it maps to.
 * float16 and bfloat16 run the float32 path on converted copies; float64 runs direct loops
 * in double.
 * Threads (c->pool, rt_threads.h), float32 Conv only: depthwise convs run ranges of
 * channels in parallel, each with its own padded planes; im2col fills ranges of rows; the
 * GEMM runs as blocks fixed by the shape (conv_gemm_f32). The bias is added to each GEMM
 * block, or each depthwise plane, as soon as it is complete (while it is in cache). No
 * element's arithmetic depends on the number of threads.
 */
#include <string.h>

#include "../../rt_threads.h"
#include "../gemm.h"
#include "conv_geom.h"
#include "conv_impl.h"

/* im2col scratch is allocated in column chunks of at most this many floats (16 MB). */
#define CONV_COL_BUDGET ((int64_t)4 << 20)
/* Least work (floats written, or multiply-adds) per chunk of a parallel loop: smaller
 * chunks cost about as much as handing them to a worker (a few microseconds). */
#define CONV_PAR_MIN_WORK ((int64_t)1 << 15)

/* A conv's GEMM runs as blocks of about CONV_GEMM_BLOCK_WORK multiply-adds, spread over the
 * pool. 2^18 is where OpenBLAS stops running a GEMM on the calling thread alone and wakes
 * its own threads; below it, blocks run side by side on the pool without a second set of
 * threads competing for the cores. Blocks split the output columns (positions) when that
 * leaves at least CONV_GEMM_MIN_COLS per block, else the rows (output channels), at least
 * CONV_GEMM_MIN_ROWS per block: thinner blocks waste the BLAS kernel's register tiles. */
#define CONV_GEMM_BLOCK_WORK ((int64_t)1 << 18)
#define CONV_GEMM_MIN_COLS 64
#define CONV_GEMM_MIN_ROWS 8

/* Least items per parallel chunk when each item costs `per_item` units of work. */
static int64_t conv_par_min(int64_t per_item) {
    return per_item >= CONV_PAR_MIN_WORK ? 1 : CONV_PAR_MIN_WORK / (per_item > 0 ? per_item : 1);
}

/* C[M, N] = A[M, K] * B[K, N] (row-major; B and C with leading dimensions ldb, ldc), then
 * C[m, :] += bias[m] when there is a bias, as blocks of nb columns, or of mb rows when nb
 * is 0: each block gets its bias while it is still in cache. */
typedef struct {
    int64_t M, N, K;
    int64_t nb, mb;       /* columns, or rows, per block */
    const float *A, *B;   /* [M, K], [K, ldb] */
    int64_t ldb, ldc;
    float *C;             /* [M, ldc] */
    const float *bias;    /* [M] or NULL */
} GemmJob;

/* C[m, n0 + i] += bias[m] for rows [m0, m1) and columns [n0, n0 + n). */
static void gemm_block_bias(const GemmJob *j, int64_t m0, int64_t m1, int64_t n0, int64_t n) {
    for (int64_t m = m0; m < m1; m++) {
        float *cm = j->C + m * j->ldc + n0;
        const float bv = j->bias[m];
        for (int64_t i = 0; i < n; i++) cm[i] += bv;
    }
}

static void gemm_block_chunk(void *arg, int64_t b0, int64_t b1) {
    const GemmJob *j = arg;
    for (int64_t blk = b0; blk < b1; blk++) {
        if (j->nb) {
            int64_t n0 = blk * j->nb, n = j->N - n0 < j->nb ? j->N - n0 : j->nb;
            rt_sgemm(0, 0, (int)j->M, (int)n, (int)j->K, 1.0f, j->A, (int)j->K, j->B + n0, (int)j->ldb,
                     0.0f, j->C + n0, (int)j->ldc);
            if (j->bias) gemm_block_bias(j, 0, j->M, n0, n);
        } else {
            int64_t m0 = blk * j->mb, m = j->M - m0 < j->mb ? j->M - m0 : j->mb;
            rt_sgemm(0, 0, (int)m, (int)j->N, (int)j->K, 1.0f, j->A + m0 * j->K, (int)j->K, j->B, (int)j->ldb,
                     0.0f, j->C + m0 * j->ldc, (int)j->ldc);
            if (j->bias) gemm_block_bias(j, m0, m0 + m, 0, j->N);
        }
    }
}

/* C = A * B (+ bias) in blocks chosen from the shape alone: the same blocks, and so
 * bit-identical results, for any number of threads. */
static void conv_gemm_f32(RtKernelCtx *c, int64_t M, int64_t N, int64_t K, const float *A, const float *B,
                          int64_t ldb, float *C, int64_t ldc, const float *bias) {
    GemmJob j = {M, N, K, N > 0 ? N : 1, 0, A, B, ldb, ldc, C, bias};
    int64_t want = (M * N * K + CONV_GEMM_BLOCK_WORK - 1) / CONV_GEMM_BLOCK_WORK; /* blocks wanted */
    if (want > 1) {
        if (N / want >= CONV_GEMM_MIN_COLS) j.nb = (N + want - 1) / want;
        else if (M / want >= CONV_GEMM_MIN_ROWS) j.nb = 0, j.mb = (M + want - 1) / want;
        else if (N >= 2 * CONV_GEMM_MIN_COLS && N / CONV_GEMM_MIN_COLS >= M / CONV_GEMM_MIN_ROWS)
            j.nb = CONV_GEMM_MIN_COLS;
        else if (M >= 2 * CONV_GEMM_MIN_ROWS) j.nb = 0, j.mb = CONV_GEMM_MIN_ROWS;
    }
    int64_t blocks = j.nb ? (N + j.nb - 1) / j.nb : (M + j.mb - 1) / j.mb;
    rt_parallel_for(c->pool, blocks, 1, gemm_block_chunk, &j);
}

typedef struct {
    RtConvGeom g;      /* spatial geometry (normalized to 3-D) */
    int64_t N;         /* batch */
    int64_t C;         /* input channels */
    int64_t M;         /* output channels */
    int64_t group;     /* channel groups */
    int64_t Cg, Mg;    /* input / output channels per group */
    int64_t K;         /* kernel taps kD*kH*kW */
    int64_t Pin, Pout; /* spatial positions of the input / the output */
} ConvShape;

/* ---------------------------------------------------------------- shape checks */

static int dtype_ok(RtKernelCtx *c, RtDtype t) {
    if (t == RT_F32 || t == RT_F64 || t == RT_F16 || t == RT_BF16) return RT_OK;
    rt_fail(c, "input X has dtype %s; Conv/ConvTranspose support float16, bfloat16, float32, float64",
            rt_dtype_name(t));
    return RT_ERR_UNSUPPORTED;
}

/* Checks X, W, B of a Conv (transpose = 0) or ConvTranspose (1) and fills everything in s
 * except the output sizes. */
static int conv_shape_read(RtKernelCtx *c, const RtNode *n, const RtTensor *x, const RtTensor *w,
                           const RtTensor *b, int transpose, ConvShape *s) {
    char sx[128], sw[128];
    if (!x || !w) return rt_fail(c, "inputs X and W are required");
    int nsp;
    RT_TRY(rt_geom_spatial_rank(c, x->rank, "input X", &nsp));
    RT_TRY(dtype_ok(c, x->dtype));
    if (w->rank != x->rank)
        return rt_fail(c, "weight W %s must have the rank of input X %s",
                       rt_shape_str(w->rank, w->dims, sw, sizeof sw),
                       rt_shape_str(x->rank, x->dims, sx, sizeof sx));
    if (w->dtype != x->dtype)
        return rt_fail(c, "weight W is %s but input X is %s", rt_dtype_name(w->dtype), rt_dtype_name(x->dtype));
    memset(s, 0, sizeof *s);
    s->N = x->dims[0];
    s->C = x->dims[1];
    s->group = rt_attr_int(n, "group", 1);
    if (s->group < 1) return rt_fail(c, "attribute group = %lld must be >= 1", (long long)s->group);
    if (s->C % s->group != 0)
        return rt_fail(c, "input channels %lld are not divisible by group %lld", (long long)s->C,
                       (long long)s->group);
    s->Cg = s->C / s->group;
    if (!transpose) {
        if (w->dims[1] * s->group != s->C)
            return rt_fail(c, "input channels %lld != weight channels %lld x group %lld (X %s, W %s)",
                           (long long)s->C, (long long)w->dims[1], (long long)s->group,
                           rt_shape_str(x->rank, x->dims, sx, sizeof sx),
                           rt_shape_str(w->rank, w->dims, sw, sizeof sw));
        s->M = w->dims[0];
        if (s->M % s->group != 0)
            return rt_fail(c, "weight W %s: output channels %lld are not divisible by group %lld",
                           rt_shape_str(w->rank, w->dims, sw, sizeof sw), (long long)s->M,
                           (long long)s->group);
        s->Mg = s->M / s->group;
    } else {
        if (w->dims[0] != s->C)
            return rt_fail(c, "input channels %lld != weight W %s first dimension", (long long)s->C,
                           rt_shape_str(w->rank, w->dims, sw, sizeof sw));
        s->Mg = w->dims[1];
        s->M = s->Mg * s->group;
    }
    if (b) {
        if (b->rank != 1 || b->dims[0] != s->M)
            return rt_fail(c, "bias B %s must have shape [%lld] (output channels)",
                           rt_shape_str(b->rank, b->dims, sw, sizeof sw), (long long)s->M);
        if (b->dtype != x->dtype)
            return rt_fail(c, "bias B is %s but input X is %s", rt_dtype_name(b->dtype), rt_dtype_name(x->dtype));
    }
    RT_TRY(rt_geom_read_weighted(c, n, nsp, x, w, "weight W", &s->g));
    s->K = rt_geom_numel(s->g.k);
    s->Pin = rt_geom_numel(s->g.in);
    return RT_OK;
}

/* Output sizes and pads of a ConvTranspose (the spec's formulas, per spatial axis):
 *   natural  out = s * (in - 1) + output_padding + (k - 1) * d + 1 - p0 - p1
 *   output_shape given: total = natural size with p = 0, minus output_shape; SAME_UPPER puts
 *            the odd unit of total at the end (p0 = total / 2), otherwise at the start
 *   SAME_*   output_shape = in * s, then as above; VALID: p0 = p1 = 0. */
int rt_convt_geom(RtKernelCtx *c, const RtNode *n, RtConvGeom *g) {
    const char *ap = rt_attr_str(n, "auto_pad", "NOTSET");
    int same_upper = strcmp(ap, "SAME_UPPER") == 0, same_lower = strcmp(ap, "SAME_LOWER") == 0;
    int valid = strcmp(ap, "VALID") == 0;
    if (!same_upper && !same_lower && !valid && strcmp(ap, "NOTSET") != 0)
        return rt_fail(c, "attribute auto_pad '%s' is not NOTSET, SAME_UPPER, SAME_LOWER or VALID", ap);
    int nsp = g->nsp;
    const int64_t *opad = NULL, *oshape = NULL;
    int nop = rt_attr_ints(n, "output_padding", &opad);
    if (nop >= 0 && nop != nsp)
        return rt_fail(c, "attribute output_padding has %d values; expected %d", nop, nsp);
    int nos = rt_attr_ints(n, "output_shape", &oshape);
    if (nos >= 0 && nos != nsp && nos != nsp + 2)
        return rt_fail(c, "attribute output_shape has %d values; expected %d (spatial) or %d", nos, nsp,
                       nsp + 2);
    if (nos == nsp + 2) oshape += 2; /* the full [N, C, spatial...] form: keep the spatial part */
    for (int i = 0; i < nsp; i++) {
        int a = rt_geom_axis(g, i);
        int64_t op = opad ? opad[i] : 0;
        if (op < 0) return rt_fail(c, "attribute output_padding[%d] = %lld must be >= 0", i, (long long)op);
        int64_t full = g->stride[a] * (g->in[a] - 1) + op + (g->k[a] - 1) * g->dil[a] + 1;
        if (valid) g->pad0[a] = g->pad1[a] = 0;
        if (oshape || same_upper || same_lower) {
            int64_t want = oshape ? oshape[i] : g->in[a] * g->stride[a];
            int64_t total = full - want;
            /* floor division, as the spec's formula: a negative total (output_shape larger
             * than the natural size) then grows the end, like output_padding does */
            int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
            g->pad0[a] = same_upper ? half : total - half;
            g->pad1[a] = total - g->pad0[a];
        }
        g->out[a] = full - g->pad0[a] - g->pad1[a];
        if (g->out[a] < 1)
            return rt_fail(c, "spatial axis %d: output size %lld (input %lld, pads %lld, %lld) must be >= 1",
                           i, (long long)g->out[a], (long long)g->in[a], (long long)g->pad0[a],
                           (long long)g->pad1[a]);
    }
    return RT_OK;
}

/* ---------------------------------------------------------------- float32 conv */

/* Copies output positions [p0, p0 + pc) of the im2col matrix of one group's input
 * x[Cg, in] into rows [r0, r1) of col[Cg * K, pc] (row = (c, kd, kh, kw), zero where the tap
 * reads padding). */
static void im2col_f32(const RtConvGeom *g, int64_t Cg, const float *x, int64_t p0, int64_t pc,
                       int64_t r0, int64_t r1, float *col) {
    const int64_t OH = g->out[1], OW = g->out[2], ID = g->in[0], IH = g->in[1], IW = g->in[2];
    int64_t row = 0;
    for (int64_t ch = 0; ch < Cg; ch++) {
        const float *xc = x + ch * ID * IH * IW;
        for (int64_t kd = 0; kd < g->k[0]; kd++)
            for (int64_t kh = 0; kh < g->k[1]; kh++)
                for (int64_t kw = 0; kw < g->k[2]; kw++, row++) {
                    if (row < r0 || row >= r1) continue;
                    float *dst = col + row * pc;
                    int64_t od = p0 / (OH * OW), oh = (p0 / OW) % OH, ow = p0 % OW;
                    for (int64_t j = 0; j < pc;) {
                        int64_t id = od * g->stride[0] - g->pad0[0] + kd * g->dil[0];
                        int64_t ih = oh * g->stride[1] - g->pad0[1] + kh * g->dil[1];
                        int row_ok = id >= 0 && id < ID && ih >= 0 && ih < IH;
                        int64_t base = (id * IH + ih) * IW;
                        for (; ow < OW && j < pc; ow++, j++) {
                            int64_t iw = ow * g->stride[2] - g->pad0[2] + kw * g->dil[2];
                            dst[j] = (row_ok && iw >= 0 && iw < IW) ? xc[base + iw] : 0.0f;
                        }
                        ow = 0;
                        if (++oh == OH) { oh = 0; od++; }
                    }
                }
    }
}

typedef struct {
    const RtConvGeom *g;
    int64_t Cg, p0, pc;  /* as for im2col_f32 */
    const float *x;      /* [Cg, in] */
    float *col;          /* [Cg * K, pc] */
} Im2colJob;

static void im2col_chunk(void *arg, int64_t r0, int64_t r1) {
    const Im2colJob *j = arg;
    im2col_f32(j->g, j->Cg, j->x, j->p0, j->pc, r0, r1, j->col);
}

/* Output positions o in [*lo, *hi) whose tap at offset `off` = t * d - p reads inside
 * [0, in): 0 <= o * s + off < in. */
static void tap_out_range(int64_t off, int64_t s, int64_t in, int64_t out, int64_t *lo, int64_t *hi) {
    int64_t l = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t h = in - off <= 0 ? 0 : (in - off + s - 1) / s;
    *lo = l;
    *hi = h < out ? h : out;
}

/* One output plane of a single-input-channel window (depthwise): y[out] = sum_taps
 * w[tap] * x[in]. Tap-major: for each output row and each tap, one pass over the output
 * columns that tap reaches, so the inner loop is a contiguous axpy when the stride is 1. */
static void conv_plane_direct_f32(const RtConvGeom *g, const float *x, const float *w, float *y) {
    const int64_t IH = g->in[1], IW = g->in[2], KH = g->k[1], KW = g->k[2], OW = g->out[2];
    const int64_t sw = g->stride[2];
    /* The columns each kw tap reaches do not depend on the row: compute them once (the
     * divisions cost more than a whole row when rows are short, as in KWS's 25x5 maps). */
    enum { MAX_KW = 64 };
    int64_t lo[MAX_KW], hi[MAX_KW], off[MAX_KW];
    int64_t kw_n = KW < MAX_KW ? KW : MAX_KW;
    for (int64_t kw = 0; kw < kw_n; kw++) {
        off[kw] = kw * g->dil[2] - g->pad0[2];
        tap_out_range(off[kw], sw, IW, OW, &lo[kw], &hi[kw]);
    }
    for (int64_t od = 0; od < g->out[0]; od++) {
        int64_t d0, d1;
        rt_geom_taps(od, g->stride[0], g->pad0[0], g->dil[0], g->k[0], g->in[0], &d0, &d1);
        for (int64_t oh = 0; oh < g->out[1]; oh++, y += OW) {
            int64_t h0, h1;
            rt_geom_taps(oh, g->stride[1], g->pad0[1], g->dil[1], KH, IH, &h0, &h1);
            for (int64_t ow = 0; ow < OW; ow++) y[ow] = 0.0f;
            for (int64_t kd = d0; kd < d1; kd++) {
                int64_t id = od * g->stride[0] - g->pad0[0] + kd * g->dil[0];
                for (int64_t kh = h0; kh < h1; kh++) {
                    int64_t ih = oh * g->stride[1] - g->pad0[1] + kh * g->dil[1];
                    const float *xr = x + (id * IH + ih) * IW;
                    const float *wr = w + (kd * KH + kh) * KW;
                    for (int64_t kw = 0; kw < KW; kw++) {
                        int64_t o = kw, a, b;
                        if (kw < kw_n) {
                            a = lo[kw];
                            b = hi[kw];
                            o = off[kw];
                        } else {
                            o = kw * g->dil[2] - g->pad0[2];
                            tap_out_range(o, sw, IW, OW, &a, &b);
                        }
                        float wv = wr[kw];
                        if (sw == 1) {
                            const float *xs = xr + o;
                            for (int64_t ow = a; ow < b; ow++) y[ow] += wv * xs[ow];
                        } else {
                            for (int64_t ow = a; ow < b; ow++) y[ow] += wv * xr[ow * sw + o];
                        }
                    }
                }
            }
        }
    }
}

/* A depthwise conv of one image, handed to parallel chunks. */
typedef struct {
    const RtConvGeom *g;
    const float *x, *w;  /* [planes, in], [planes, K] */
    float *y;            /* [planes, out] */
    const float *b;      /* [planes] bias, added to each finished plane; or NULL */
    int64_t planes;      /* channels of this image */
    int64_t slots;       /* unit-stride path: channel ranges, each with its own scratch */
    float *scratch;      /* unit-stride path: [slots, stride], xp then yp at each slot's start */
    int64_t xp_n, yp_n;  /* unit-stride path: floats in xp and in yp (below) */
    int64_t stride;      /* unit-stride path: floats from one slot's scratch to the next */
} DwJob;

/* Depthwise conv with unit strides, 2-D (or 1-D): each channel's input is copied into a
 * zero-padded plane xp[IHp, IWp] (plus a tail so the last taps stay in bounds); the output
 * is computed in the padded width, yp[OH, IWp], where tap (kh, kw) is one contiguous axpy
 * yp[i] += w * xp[i + kh*dh*IWp + kw*dw] over all OH*IWp positions (the columns past OW are
 * scratch), then copied out. Short rows (KWS's 25x5 maps) then cost one long vector loop
 * per tap instead of one tiny loop per row and tap. This does channels [ch0, ch1). */
static void dw_s1_channels(const DwJob *j, int64_t ch0, int64_t ch1, float *xp, float *yp) {
    const RtConvGeom *g = j->g;
    const int64_t IH = g->in[1], IW = g->in[2], KH = g->k[1], KW = g->k[2];
    const int64_t OH = g->out[1], OW = g->out[2], dh = g->dil[1], dw = g->dil[2];
    const int64_t IWp = IW + g->pad0[2] + g->pad1[2];
    const int64_t xp_n = j->xp_n, yp_n = j->yp_n;
    const float *x = j->x, *w = j->w;
    float *y = j->y;
    for (int64_t i = 0; i < xp_n; i++) xp[i] = 0.0f;
    for (int64_t ch = ch0; ch < ch1; ch++) {
        const float *xc = x + ch * IH * IW;
        const float *wc = w + ch * KH * KW;
        for (int64_t ih = 0; ih < IH; ih++)
            memcpy(xp + (ih + g->pad0[1]) * IWp + g->pad0[2], xc + ih * IW, sizeof(float) * (size_t)IW);
        for (int64_t i = 0; i < yp_n; i++) yp[i] = 0.0f;
        for (int64_t kh = 0; kh < KH; kh++)
            for (int64_t kw = 0; kw < KW; kw++) {
                const float wv = wc[kh * KW + kw];
                const float *xs = xp + kh * dh * IWp + kw * dw;
                for (int64_t i = 0; i < yp_n; i++) yp[i] += wv * xs[i];
            }
        float *yc = y + ch * OH * OW;
        if (!j->b) {
            for (int64_t oh = 0; oh < OH; oh++) memcpy(yc + oh * OW, yp + oh * IWp, sizeof(float) * (size_t)OW);
            continue;
        }
        const float bv = j->b[ch];
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) yc[oh * OW + ow] = yp[oh * IWp + ow] + bv;
    }
}

/* Slots [s0, s1): each slot's channel range through the slot's own padded planes. */
static void dw_s1_chunk(void *arg, int64_t s0, int64_t s1) {
    const DwJob *j = arg;
    for (int64_t s = s0; s < s1; s++) {
        int64_t ch0, ch1;
        rt_chunk_range(j->planes, j->slots, s, &ch0, &ch1);
        float *xp = j->scratch + s * j->stride;
        dw_s1_channels(j, ch0, ch1, xp, xp + j->xp_n);
    }
}

/* The unit-stride depthwise path over `planes` channels, parallel over channel ranges;
 * *done = 0 (and nothing computed) when the shape doesn't fit it. */
static int conv_depthwise_s1_f32(RtKernelCtx *c, const RtConvGeom *g, int64_t planes, const float *x,
                                 const float *w, const float *b, float *y, int *done) {
    *done = 0;
    if (g->in[0] != 1 || g->k[0] != 1 || g->stride[1] != 1 || g->stride[2] != 1) return RT_OK;
    const int64_t IH = g->in[1], IW = g->in[2], KH = g->k[1], KW = g->k[2];
    const int64_t OH = g->out[1], OW = g->out[2], dh = g->dil[1], dw = g->dil[2];
    const int64_t IWp = IW + g->pad0[2] + g->pad1[2], IHp = IH + g->pad0[1] + g->pad1[1];
    if (g->pad0[1] < 0 || g->pad0[2] < 0 || OH != IHp - dh * (KH - 1) || OW != IWp - dw * (KW - 1))
        return RT_OK;
    DwJob j = {g, x, w, y, b, planes, 1, NULL, IHp * IWp + (KW - 1) * dw, OH * IWp, 0};
    j.slots = rt_pool_chunks(c->pool, planes, conv_par_min(j.yp_n * KH * KW));
    if (j.slots < 1) j.slots = 1;
    j.stride = (int64_t)(rt_slot_stride((size_t)(j.xp_n + j.yp_n) * sizeof(float), j.slots) / sizeof(float));
    j.scratch = rt_scratch(c, (size_t)(j.slots * j.stride) * sizeof(float));
    if (!j.scratch) return RT_ERR_NOMEM;
    rt_parallel_for(c->pool, j.slots, 1, dw_s1_chunk, &j);
    rt_scratch_free(c, j.scratch);
    *done = 1;
    return RT_OK;
}

/* Channels [ch0, ch1) of a depthwise conv, one plane at a time (any stride), each plane
 * getting its bias once it is complete. */
static void dw_direct_chunk(void *arg, int64_t ch0, int64_t ch1) {
    const DwJob *j = arg;
    const int64_t pin = rt_geom_numel(j->g->in), pout = rt_geom_numel(j->g->out), K = rt_geom_numel(j->g->k);
    for (int64_t ch = ch0; ch < ch1; ch++) {
        float *yc = j->y + ch * pout;
        conv_plane_direct_f32(j->g, j->x + ch * pin, j->w + ch * K, yc);
        if (j->b)
            for (int64_t p = 0; p < pout; p++) yc[p] += j->b[ch];
    }
}

/* Every channel (group) of one image of a depthwise conv, plus bias b [group] (or NULL):
 * the unit-stride padded-plane path when the shape fits, else the direct loop; either way
 * parallel over channels. */
static int conv_depthwise_f32(RtKernelCtx *c, const ConvShape *s, const float *x, const float *w, const float *b,
                              float *y) {
    int done;
    RT_TRY(conv_depthwise_s1_f32(c, &s->g, s->group, x, w, b, y, &done));
    if (done) return RT_OK;
    DwJob j = {&s->g, x, w, y, b, s->group, 0, NULL, 0, 0, 0};
    rt_parallel_for(c->pool, s->group, conv_par_min(s->Pout * s->K), dw_direct_chunk, &j);
    return RT_OK;
}

static int conv_f32(RtKernelCtx *c, const ConvShape *s, const float *x, const float *w, const float *b,
                    float *y) {
    const RtConvGeom *g = &s->g;
    int pointwise = s->K == 1;
    for (int a = 0; a < RT_GEOM_MAX_SP; a++)
        if (g->stride[a] != 1 || g->pad0[a] != 0 || g->pad1[a] != 0) pointwise = 0;
    int64_t CK = s->Cg * s->K;
    int64_t pc = CK > 0 ? CONV_COL_BUDGET / CK : s->Pout;
    if (pc < 1) pc = 1;
    if (pc > s->Pout) pc = s->Pout;
    float *col = NULL;
    int depthwise = s->Cg == 1 && s->Mg == 1; /* else a single-channel conv is an im2col GEMM */
    if (!depthwise && !pointwise && s->Pout > 0) {
        col = rt_scratch(c, (size_t)(CK * pc) * sizeof(float));
        if (!col) return RT_ERR_NOMEM;
    }
    for (int64_t im = 0; im < s->N; im++)
        for (int64_t gr = 0; gr < s->group; gr++) {
            const float *xg = x + (im * s->C + gr * s->Cg) * s->Pin;
            const float *wg = w + gr * s->Mg * CK;
            float *yg = y + (im * s->M + gr * s->Mg) * s->Pout;
            const float *bg = b ? b + gr * s->Mg : NULL;
            if (depthwise) { /* one input plane per output channel: the image's every group at once */
                int r = conv_depthwise_f32(c, s, xg, wg, b, yg);
                if (r != RT_OK) return r; /* col is NULL on this path */
                break;
            } else if (pointwise) {
                conv_gemm_f32(c, s->Mg, s->Pout, CK, wg, xg, s->Pout, yg, s->Pout, bg);
            } else {
                for (int64_t p0 = 0; p0 < s->Pout; p0 += pc) {
                    int64_t n = s->Pout - p0 < pc ? s->Pout - p0 : pc;
                    Im2colJob j = {g, s->Cg, p0, n, xg, col};
                    rt_parallel_for(c->pool, CK, conv_par_min(n), im2col_chunk, &j);
                    conv_gemm_f32(c, s->Mg, n, CK, wg, col, n, yg + p0, s->Pout, bg);
                }
            }
        }
    rt_scratch_free(c, col);
    return RT_OK;
}

/* ---------------------------------------------------------------- float32 conv transpose */

/* Adds col[Mg * K, pc] (columns = input positions [p0, p0 + pc)) into y[Mg, out]: entry
 * (m, tap, i) lands at output position i * s - p0 + tap * d when that is inside the output. */
static void col2im_f32(const RtConvGeom *g, int64_t Mg, const float *col, int64_t p0, int64_t pc,
                       float *y) {
    const int64_t IH = g->in[1], IW = g->in[2], OD = g->out[0], OH = g->out[1], OW = g->out[2];
    const float *src = col;
    for (int64_t m = 0; m < Mg; m++) {
        float *ym = y + m * OD * OH * OW;
        for (int64_t kd = 0; kd < g->k[0]; kd++)
            for (int64_t kh = 0; kh < g->k[1]; kh++)
                for (int64_t kw = 0; kw < g->k[2]; kw++, src += pc) {
                    int64_t id = p0 / (IH * IW), ih = (p0 / IW) % IH, iw = p0 % IW;
                    for (int64_t j = 0; j < pc;) {
                        int64_t od = id * g->stride[0] - g->pad0[0] + kd * g->dil[0];
                        int64_t oh = ih * g->stride[1] - g->pad0[1] + kh * g->dil[1];
                        int row_ok = od >= 0 && od < OD && oh >= 0 && oh < OH;
                        int64_t base = (od * OH + oh) * OW;
                        for (; iw < IW && j < pc; iw++, j++) {
                            int64_t ow = iw * g->stride[2] - g->pad0[2] + kw * g->dil[2];
                            if (row_ok && ow >= 0 && ow < OW) ym[base + ow] += src[j];
                        }
                        iw = 0;
                        if (++ih == IH) { ih = 0; id++; }
                    }
                }
    }
}

static int convt_f32(RtKernelCtx *c, const ConvShape *s, const float *x, const float *w, const float *b,
                     float *y) {
    int64_t MK = s->Mg * s->K;
    int64_t pc = MK > 0 ? CONV_COL_BUDGET / MK : s->Pin;
    if (pc < 1) pc = 1;
    if (pc > s->Pin) pc = s->Pin;
    memset(y, 0, (size_t)(s->N * s->M * s->Pout) * sizeof(float));
    float *col = NULL;
    if (s->Pin > 0 && MK > 0) {
        col = rt_scratch(c, (size_t)(MK * pc) * sizeof(float));
        if (!col) return RT_ERR_NOMEM;
    }
    for (int64_t im = 0; im < s->N; im++)
        for (int64_t gr = 0; gr < s->group; gr++) {
            const float *xg = x + (im * s->C + gr * s->Cg) * s->Pin; /* [Cg, Pin] */
            const float *wg = w + gr * s->Cg * MK;                   /* [Cg, Mg * K] */
            float *yg = y + (im * s->M + gr * s->Mg) * s->Pout;
            for (int64_t p0 = 0; p0 < s->Pin && MK > 0; p0 += pc) {
                int64_t n = s->Pin - p0 < pc ? s->Pin - p0 : pc;
                rt_sgemm(1, 0, (int)MK, (int)n, (int)s->Cg, 1.0f, wg, (int)MK, xg + p0, (int)s->Pin, 0.0f,
                         col, (int)n);
                col2im_f32(&s->g, s->Mg, col, p0, n, yg);
            }
        }
    rt_scratch_free(c, col);
    if (b)
        for (int64_t im = 0; im < s->N; im++)
            for (int64_t m = 0; m < s->M; m++) {
                float *ym = y + (im * s->M + m) * s->Pout;
                for (int64_t p = 0; p < s->Pout; p++) ym[p] += b[m];
            }
    return RT_OK;
}

/* ---------------------------------------------------------------- float64 direct loops */

static void conv_f64(const ConvShape *s, const double *x, const double *w, const double *b, double *y) {
    const RtConvGeom *g = &s->g;
    const int64_t IH = g->in[1], IW = g->in[2], KH = g->k[1], KW = g->k[2];
    for (int64_t im = 0; im < s->N; im++)
        for (int64_t m = 0; m < s->M; m++) {
            int64_t gr = m / s->Mg;
            const double *xg = x + (im * s->C + gr * s->Cg) * s->Pin;
            const double *wm = w + m * s->Cg * s->K;
            for (int64_t od = 0; od < g->out[0]; od++)
                for (int64_t oh = 0; oh < g->out[1]; oh++)
                    for (int64_t ow = 0; ow < g->out[2]; ow++) {
                        int64_t d0, d1, h0, h1, w0, w1;
                        rt_geom_taps(od, g->stride[0], g->pad0[0], g->dil[0], g->k[0], g->in[0], &d0, &d1);
                        rt_geom_taps(oh, g->stride[1], g->pad0[1], g->dil[1], KH, IH, &h0, &h1);
                        rt_geom_taps(ow, g->stride[2], g->pad0[2], g->dil[2], KW, IW, &w0, &w1);
                        double acc = b ? b[m] : 0.0;
                        for (int64_t ch = 0; ch < s->Cg; ch++)
                            for (int64_t kd = d0; kd < d1; kd++)
                                for (int64_t kh = h0; kh < h1; kh++)
                                    for (int64_t kw = w0; kw < w1; kw++) {
                                        int64_t id = od * g->stride[0] - g->pad0[0] + kd * g->dil[0];
                                        int64_t ih = oh * g->stride[1] - g->pad0[1] + kh * g->dil[1];
                                        int64_t iw = ow * g->stride[2] - g->pad0[2] + kw * g->dil[2];
                                        acc += wm[(ch * g->k[0] + kd) * KH * KW + kh * KW + kw] *
                                               xg[ch * s->Pin + (id * IH + ih) * IW + iw];
                                    }
                        *y++ = acc;
                    }
        }
}

static void convt_f64(const ConvShape *s, const double *x, const double *w, const double *b, double *y) {
    const RtConvGeom *g = &s->g;
    const int64_t OD = g->out[0], OH = g->out[1], OW = g->out[2];
    for (int64_t i = 0; i < s->N * s->M; i++)
        for (int64_t p = 0; p < s->Pout; p++) y[i * s->Pout + p] = b ? b[i % s->M] : 0.0;
    for (int64_t im = 0; im < s->N; im++)
        for (int64_t ch = 0; ch < s->C; ch++) {
            int64_t gr = ch / s->Cg;
            const double *xc = x + (im * s->C + ch) * s->Pin;
            for (int64_t mg = 0; mg < s->Mg; mg++) {
                const double *wk = w + (ch * s->Mg + mg) * s->K;
                double *ym = y + (im * s->M + gr * s->Mg + mg) * s->Pout;
                for (int64_t p = 0; p < s->Pin; p++) {
                    int64_t id = p / (g->in[1] * g->in[2]), ih = (p / g->in[2]) % g->in[1], iw = p % g->in[2];
                    for (int64_t t = 0; t < s->K; t++) {
                        int64_t kd = t / (g->k[1] * g->k[2]), kh = (t / g->k[2]) % g->k[1], kw = t % g->k[2];
                        int64_t od = id * g->stride[0] - g->pad0[0] + kd * g->dil[0];
                        int64_t oh = ih * g->stride[1] - g->pad0[1] + kh * g->dil[1];
                        int64_t ow = iw * g->stride[2] - g->pad0[2] + kw * g->dil[2];
                        if (od < 0 || od >= OD || oh < 0 || oh >= OH || ow < 0 || ow >= OW) continue;
                        ym[(od * OH + oh) * OW + ow] += xc[p] * wk[t];
                    }
                }
            }
        }
}

/* ---------------------------------------------------------------- half precision via float32 */

static void half_to_f32(const RtTensor *t, float *dst) {
    if (t->dtype == RT_F16) rt_f16_to_f32_n(t->data, dst, rt_numel(t));
    else rt_bf16_to_f32_n(t->data, dst, rt_numel(t));
}

/* The float32 and float64 loops of Conv (conv_f32, conv_f64) and ConvTranspose (convt_*). */
typedef int (*ConvF32Fn)(RtKernelCtx *, const ConvShape *, const float *, const float *, const float *, float *);
typedef void (*ConvF64Fn)(const ConvShape *, const double *, const double *, const double *, double *);

/* Runs the float32 kernel (conv_f32 or convt_f32) on float32 copies of 16-bit tensors. */
static int run_half(RtKernelCtx *c, const ConvShape *s, const RtTensor *x, const RtTensor *w,
                    const RtTensor *b, RtTensor *y, ConvF32Fn fn) {
    int64_t nx = rt_numel(x), nw = rt_numel(w), nb = b ? rt_numel(b) : 0, ny = rt_numel(y);
    float *buf = rt_scratch(c, (size_t)(nx + nw + nb + ny) * sizeof(float));
    if (!buf) return RT_ERR_NOMEM;
    float *fx = buf, *fw = fx + nx, *fb = fw + nw, *fy = fb + nb;
    half_to_f32(x, fx);
    half_to_f32(w, fw);
    if (b) half_to_f32(b, fb);
    int r = fn(c, s, fx, fw, b ? fb : NULL, fy);
    if (r == RT_OK && y->dtype == RT_F16) rt_f32_to_f16_n(fy, y->data, ny);
    else if (r == RT_OK) rt_f32_to_bf16_n(fy, y->data, ny);
    rt_scratch_free(c, buf);
    return r;
}

/* ---------------------------------------------------------------- kernels */

/* Conv (transpose 0) and ConvTranspose (1): the same steps, with the transposed op's
 * geometry and loops. */
static int conv_run(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out, int transpose) {
    const RtTensor *x = rt_in(n, in, 0), *w = rt_in(n, in, 1), *b = rt_in(n, in, 2);
    ConvF32Fn f32 = transpose ? convt_f32 : conv_f32;
    ConvF64Fn f64 = transpose ? convt_f64 : conv_f64;
    ConvShape s;
    RT_TRY(conv_shape_read(c, n, x, w, b, transpose, &s));
    RT_TRY(transpose ? rt_convt_geom(c, n, &s.g) : rt_geom_forward(c, n, 0, &s.g));
    s.Pout = rt_geom_numel(s.g.out);
    int64_t dims[RT_MAX_RANK];
    rt_geom_out_dims(&s.g, s.N, s.M, dims);
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, x->rank, dims));
    switch (x->dtype) {
    case RT_F32:
        return f32(c, &s, x->data, w->data, b ? b->data : NULL, out[0]->data);
    case RT_F64:
        f64(&s, x->data, w->data, b ? b->data : NULL, out[0]->data);
        return RT_OK;
    default:
        return run_half(c, &s, x, w, b, out[0], f32);
    }
}

static int k_conv(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return conv_run(c, n, in, out, 0);
}

static int k_conv_transpose(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return conv_run(c, n, in, out, 1);
}

int rt_conv_run(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return k_conv(c, n, in, out);
}

const RtKernelEntry rt_kernels_conv[] = {
    {RT_OP_CONV, k_conv},
    {RT_OP_CONV_TRANSPOSE, k_conv_transpose},
    {-1, 0},
};
