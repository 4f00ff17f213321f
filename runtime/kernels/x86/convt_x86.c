/*
 * convt_x86.c — the optimized float32 ConvTranspose (1-D, 2-D, 3-D; groups, strides, pads,
 * dilations, output_padding, output_shape, auto_pad, bias) on x86/sgemm.h.
 *
 * Shapes: X [N, C, in...], W [C, Mg, k...] (group g's input channels Cg = C / group, each
 * holding Mg * K taps: K = kD*kH*kW), B [M = Mg * group], Y [N, M, out...]; everything is
 * normalized to 3-D by ref/conv_geom.h. The output sizes and pads come from the reference's
 * own formulas (rt_convt_geom), so both kernels agree on every attribute.
 *
 * Algorithm, per image and group, over chunks of whole input rows (id, ih) sized so the
 * column buffer stays in L2 (CONVT_COL_FLOATS):
 *   col[Mg*K, n] = W_g^T [Mg*K, Cg] * X_g[Cg, p0 .. p0 + n]     rt_sgemm_run, on the pool
 *   y[m, od, oh, ow] += col[(m, kd, kh, kw), (id, ih, iw)]      col2im, per output row
 * where od = id*sd - pd + kd*dd (and so on per axis). W_g^T is packed once into the node's
 * state when W is a constant (rt_sgemm_state_packed_pre, one part per group). col2im works
 * per output row (m, od, oh): it sets the row to the bias when this chunk is the first to
 * reach it (so the row is in cache for its taps), then for each (kd, kh) whose input row
 * (id, ih) is in the chunk adds that row's kW taps: for one tap a row adds into every sw-th
 * output; stride 1 is a masked vector FMA, stride 2 (dilation 1) pairs the taps kw, kw + 1,
 * whose outputs interleave (even, odd), into one contiguous vector FMA of 32 outputs; other
 * strides add element by element. When Cg == 1 (depthwise, or one input channel per group)
 * there is no GEMM: a tap's row is x itself times the tap's weight, and one chunk covers
 * all input rows and all the image's output channels.
 * Threads: the GEMM's blocks are fixed by the shape (sgemm.h); col2im's items, (output
 * channel, output row), are independent, each adding its taps in one fixed order (chunk,
 * kd, kh, kw): the same bits for any thread count.
 * Anything else (other dtypes, shape-only runs, malformed nodes, channels-last data, no
 * AVX-512) goes to the reference kernel, which gives the messages.
 */
#include <string.h>

#include "../../rt_threads.h"
#include "../ref/conv_impl.h"
#include "conv_x86.h"
#include "sgemm.h"

/* Floats of one chunk's column buffer: 512 KiB, within one core's L2 (1 MiB on this Zen 4)
 * next to the chunk of X the GEMM reads, so col2im reads what the GEMM just wrote from L2. */
#define CONVT_COL_FLOATS ((int64_t)1 << 17)
/* Least output floats per parallel chunk of col2im: below this a chunk costs about as
 * much as handing it to a worker (a few microseconds). */
#define CONVT_PAR_MIN_FLOATS ((int64_t)1 << 14)

typedef struct {
    RtConvGeom g;          /* spatial geometry, 3-D normalized */
    int64_t N, C, M;       /* batch, input channels, output channels */
    int64_t group, Cg, Mg; /* groups, input / output channels per group */
    int64_t K;             /* taps kD*kH*kW */
    int64_t Pin, Pout;     /* positions per channel of the input / the output */
    const float *x;        /* borrowed [N, C, Pin] */
    const float *w;        /* borrowed [C, Mg, K] */
    const float *b;        /* borrowed [M] or NULL */
    const float *wp;       /* borrowed: W_g^T packed (side A, trans), group g at wp + g * wp_stride; NULL = per call */
    int64_t wp_stride;
    float *y;              /* [N, M, Pout] */
} CxConvT;

/* Fills t's sizes and geometry when this kernel takes the node (data pointers left NULL);
 * 0 when the reference should run it (its messages then tell what is wrong). */
static int convt_case_shapes(RtKernelCtx *c, const RtNode *n, const RtTensor *x, const RtTensor *w,
                             const RtTensor *b, CxConvT *t) {
    if (!x || !w || x->dtype != RT_F32 || w->dtype != RT_F32 || (b && b->dtype != RT_F32)) return 0;
    if (x->rank < 3 || x->rank > 2 + RT_GEOM_MAX_SP || w->rank != x->rank) return 0;
    memset(t, 0, sizeof *t);
    t->N = x->dims[0];
    t->C = x->dims[1];
    t->group = rt_attr_int(n, "group", 1);
    if (t->group < 1 || t->C % t->group != 0 || w->dims[0] != t->C) return 0;
    t->Cg = t->C / t->group;
    t->Mg = w->dims[1];
    t->M = t->Mg * t->group;
    if (b && (b->rank != 1 || b->dims[0] != t->M)) return 0;
    if (rt_geom_read_weighted(c, n, x->rank - 2, x, w, "weight W", &t->g) != RT_OK) return 0;
    if (rt_convt_geom(c, n, &t->g) != RT_OK) return 0;
    t->K = rt_geom_numel(t->g.k);
    t->Pin = rt_geom_numel(t->g.in);
    t->Pout = rt_geom_numel(t->g.out);
    return t->N >= 1 && t->Cg >= 1 && t->Mg >= 1 && t->K >= 1 && t->Pin >= 1 && t->Pout >= 1;
}

/* Input positions i in [*lo, *hi) of a row of `in` whose output i * s + off lies in [0, out). */
static void convt_in_range(int64_t off, int64_t s, int64_t in, int64_t out, int64_t *lo, int64_t *hi) {
    int64_t l = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t h = out - off <= 0 ? 0 : (out - off + s - 1) / s;
    *lo = l;
    *hi = h < in ? h : in;
}

/* One col2im job over the input rows [r0, r1) (rows (id, ih), each IW long) of a chunk: its
 * items are (output channel m, output row R = od*OH + oh) for m in [0, channels) and R in
 * [o0, o1), item i = m * (o1 - o0) + (R - o0). Tap t = (kd*kH + kh)*kW + kw of channel m
 * adds scale(m, t) * src(m, t)[row][iw] into y_m, where src(m, t) = src + (m*K + t) *
 * tap_stride (the GEMM's col rows, row r0 first) and scale 1, or (Cg == 1) src(m, t) = x's
 * channel m / Mg and scale(m, t) = sc[m*K + t]. Rows in [init0, init1) are set to the bias
 * (or 0) first: the rows this chunk is the first to reach. */
typedef struct {
    const RtConvGeom *g;
    int64_t K, r0, r1;
    int64_t o0, o1;        /* output rows of each channel this job visits */
    int64_t init0, init1;  /* of which those set to the bias before the taps */
    const float *src;      /* borrowed: [channels * K, tap_stride] col rows (NULL with x) */
    int64_t tap_stride;    /* floats between taps' rows in src */
    const float *sc;       /* borrowed [channels, K] per-tap scales (with x), or NULL (scale 1) */
    const float *x;        /* borrowed [C, Pin]: Cg == 1, channel m reads x + (m / Mg) * Pin; or NULL */
    int64_t Mg, Pin;
    float *y;              /* borrowed: the job's first output channel [channels, Pout] */
    const float *bias;     /* borrowed [channels] or NULL */
} Col2imJob;

#if defined(__x86_64__) && defined(__GNUC__)

/* dst[i * s] += a * src[i] for i in [0, n): stride 1 in vectors of 16, masked at the end. */
CX_T512 static void convt_row_axpy(float *dst, const float *src, int64_t n, int64_t s, float a) {
    if (s != 1) {
        for (int64_t i = 0; i < n; i++) dst[i * s] += a * src[i];
        return;
    }
    const __m512 va = _mm512_set1_ps(a);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(dst + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(src + i), _mm512_loadu_ps(dst + i)));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        __m512 d = _mm512_maskz_loadu_ps(m, dst + i);
        _mm512_mask_storeu_ps(dst + i, m, _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, src + i), d));
    }
}

/* Stride 2, two taps one output apart: dst[2i] += a * s0[i], dst[2i + 1] += b * s1[i] for i
 * in [0, n): each 16 inputs of the two rows interleave into 32 contiguous outputs. */
CX_T512 static void convt_row_pair2(float *dst, const float *s0, const float *s1, int64_t n, float a, float b) {
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const __m512 vab = _mm512_setr_ps(a, b, a, b, a, b, a, b, a, b, a, b, a, b, a, b);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 v0 = _mm512_loadu_ps(s0 + i), v1 = _mm512_loadu_ps(s1 + i);
        float *d = dst + 2 * i;
        _mm512_storeu_ps(d, _mm512_fmadd_ps(vab, _mm512_permutex2var_ps(v0, lo, v1), _mm512_loadu_ps(d)));
        _mm512_storeu_ps(d + 16, _mm512_fmadd_ps(vab, _mm512_permutex2var_ps(v0, hi, v1), _mm512_loadu_ps(d + 16)));
    }
    for (; i < n; i++) {
        dst[2 * i] += a * s0[i];
        dst[2 * i + 1] += b * s1[i];
    }
}

#else
static void convt_row_axpy(float *dst, const float *src, int64_t n, int64_t s, float a) {
    for (int64_t i = 0; i < n; i++) dst[i * s] += a * src[i];
}
static void convt_row_pair2(float *dst, const float *s0, const float *s1, int64_t n, float a, float b) {
    for (int64_t i = 0; i < n; i++) dst[2 * i] += a * s0[i], dst[2 * i + 1] += b * s1[i];
}
#endif

/* The kW taps of one (kd, kh) of one input row into output row dst [OW]: srcs[kw] is tap
 * kw's row (IW floats), sc[kw] its scale. Stride 2 with dilation 1 takes the taps in pairs
 * (kw, kw + 1) over the inputs both reach, each tap's other inputs one by one. */
static void convt_row_taps(const RtConvGeom *g, float *dst, const float *const *srcs, const float *sc) {
    const int64_t IW = g->in[2], OW = g->out[2], s = g->stride[2], d = g->dil[2], KW = g->k[2];
    for (int64_t kw = 0; kw < KW; kw++) {
        int64_t off = kw * d - g->pad0[2], lo, hi;
        convt_in_range(off, s, IW, OW, &lo, &hi);
        if (s == 2 && d == 1 && kw + 1 < KW) {
            int64_t lo1, hi1;
            convt_in_range(off + 1, s, IW, OW, &lo1, &hi1);
            int64_t plo = lo > lo1 ? lo : lo1, phi = hi < hi1 ? hi : hi1;
            if (phi > plo) {
                /* tap kw alone on [lo, plo) and [phi, hi), tap kw + 1 on [lo1, plo), [phi, hi1) */
                if (plo > lo) convt_row_axpy(dst + lo * s + off, srcs[kw] + lo, plo - lo, s, sc[kw]);
                if (plo > lo1) convt_row_axpy(dst + lo1 * s + off + 1, srcs[kw + 1] + lo1, plo - lo1, s, sc[kw + 1]);
                convt_row_pair2(dst + plo * s + off, srcs[kw] + plo, srcs[kw + 1] + plo, phi - plo, sc[kw], sc[kw + 1]);
                if (hi > phi) convt_row_axpy(dst + phi * s + off, srcs[kw] + phi, hi - phi, s, sc[kw]);
                if (hi1 > phi) convt_row_axpy(dst + phi * s + off + 1, srcs[kw + 1] + phi, hi1 - phi, s, sc[kw + 1]);
                kw++;
                continue;
            }
        }
        if (hi > lo) convt_row_axpy(dst + lo * s + off, srcs[kw] + lo, hi - lo, s, sc[kw]);
    }
}

/* Input index i along one axis whose tap k reaches output o (i * s - p + k * d == o), or -1. */
static int64_t convt_in_of(int64_t o, int64_t k, const RtConvGeom *g, int a) {
    int64_t t = o + g->pad0[a] - k * g->dil[a];
    if (t < 0 || t % g->stride[a] != 0 || t / g->stride[a] >= g->in[a]) return -1;
    return t / g->stride[a];
}

/* Output row R (od*OH + oh) of channel m: every (kd, kh) whose input row lies in the chunk,
 * each row's kW taps in order (convt_row_taps). */
static void convt_out_row(const Col2imJob *j, int64_t m, int64_t R) {
    const RtConvGeom *g = j->g;
    const int64_t IH = g->in[1], IW = g->in[2], OH = g->out[1], OW = g->out[2], KW = g->k[2];
    const int64_t od = R / OH, oh = R % OH;
    float *row = j->y + m * rt_geom_numel(g->out) + R * OW;
    if (R >= j->init0 && R < j->init1) {
        const float bv = j->bias ? j->bias[m] : 0.0f;
        for (int64_t i = 0; i < OW; i++) row[i] = bv;
    }
    const float *srcs[64];
    float scales[64];
    for (int64_t kd = 0; kd < g->k[0]; kd++) {
        int64_t id = convt_in_of(od, kd, g, 0);
        if (id < 0) continue;
        for (int64_t kh = 0; kh < g->k[1]; kh++) {
            int64_t ih = convt_in_of(oh, kh, g, 1), r = id * IH + ih;
            if (ih < 0 || r < j->r0 || r >= j->r1) continue;
            int64_t t0 = m * j->K + (kd * g->k[1] + kh) * KW;
            for (int64_t kw = 0; kw < KW; kw++) {
                srcs[kw] = j->x ? j->x + (m / j->Mg) * j->Pin + r * IW : j->src + (t0 + kw) * j->tap_stride + (r - j->r0) * IW;
                scales[kw] = j->sc ? j->sc[t0 + kw] : 1.0f;
            }
            convt_row_taps(g, row, srcs, scales);
        }
    }
}

static void col2im_chunk(void *arg, int64_t i0, int64_t i1) {
    const Col2imJob *j = arg;
    const int64_t rows = j->o1 - j->o0;
    for (int64_t i = i0; i < i1; i++) convt_out_row(j, i / rows, j->o0 + i % rows);
}

/* Least items (output rows) per parallel chunk of col2im, each costing about `per_row`. */
static int64_t convt_par_min(int64_t per_row) {
    return per_row >= CONVT_PAR_MIN_FLOATS ? 1 : CONVT_PAR_MIN_FLOATS / (per_row > 0 ? per_row : 1);
}

/* col2im over `channels` output channels on the pool: every (channel, output row) item. */
static void convt_col2im(RtKernelCtx *c, Col2imJob *j, int64_t channels) {
    if (j->o1 <= j->o0) return;
    const int64_t per_row = j->g->out[2] * j->K / (j->g->stride[0] * j->g->stride[1]) + j->g->out[2];
    rt_parallel_for(c->pool, channels * (j->o1 - j->o0), convt_par_min(per_row), col2im_chunk, j);
}

/* Cg == 1: no GEMM; every output channel of each image at once (one chunk: all input rows). */
static void convt_run_direct(RtKernelCtx *c, const CxConvT *t) {
    const int64_t rows = t->g.in[0] * t->g.in[1], orows = t->g.out[0] * t->g.out[1];
    for (int64_t im = 0; im < t->N; im++) {
        Col2imJob j = {&t->g, t->K, 0, rows, 0, orows, 0, orows, NULL, 0, t->w, t->x + im * t->C * t->Pin, t->Mg,
                       t->Pin, t->y + im * t->M * t->Pout, t->b};
        convt_col2im(c, &j, t->M);
    }
}

/* 1 when input and output have depth 1 (a 1-D or 2-D conv, or a 3-D one as flat as them):
 * the input rows are then ih alone, the output rows oh alone. */
static int convt_flat(const RtConvGeom *g) { return g->in[0] == 1 && g->out[0] == 1; }

/* Output rows (od*OH + oh) that input rows [0, r1) reach, as a prefix [0, frontier): of a
 * flat conv, every row up to the last one input row r1 - 1 reaches (what rows before it
 * reach is no further down, the strides being >= 1); otherwise all of them (set at the
 * first chunk). Setting the bias row by row as the chunks reach them keeps those rows in
 * cache for the taps that follow. */
static int64_t convt_rows_reached(const RtConvGeom *g, int64_t r1) {
    const int64_t rows = g->out[0] * g->out[1];
    if (!convt_flat(g) || r1 >= g->in[1]) return rows;
    int64_t last = (r1 - 1) * g->stride[1] - g->pad0[1] + (g->k[1] - 1) * g->dil[1];
    return last < 0 ? 0 : last + 1 < rows ? last + 1 : rows;
}

/* The output rows input rows [r0, r1) reach lie in [*lo, *hi): along H of a flat conv,
 * whole depths (od) otherwise. */
static void convt_rows_touched(const RtConvGeom *g, int64_t r0, int64_t r1, int64_t *lo, int64_t *hi) {
    int a = convt_flat(g) ? 1 : 0; /* the axis the rows advance along */
    int64_t i0 = a == 0 ? r0 / g->in[1] : r0, i1 = a == 0 ? (r1 - 1) / g->in[1] : r1 - 1;
    int64_t o0 = i0 * g->stride[a] - g->pad0[a], o1 = i1 * g->stride[a] - g->pad0[a] + (g->k[a] - 1) * g->dil[a] + 1;
    o0 = o0 < 0 ? 0 : o0 > g->out[a] ? g->out[a] : o0;
    o1 = o1 < o0 ? o0 : o1 > g->out[a] ? g->out[a] : o1;
    int64_t unit = a == 0 ? g->out[1] : 1; /* output rows per step along that axis */
    *lo = o0 * unit, *hi = o1 * unit;
}

/* The GEMM path: per image, group and chunk of input rows, col = W_g^T * X_g, then col2im. */
static int convt_run_gemm(RtKernelCtx *c, const CxConvT *t) {
    const int64_t MK = t->Mg * t->K, IW = t->g.in[2], rows = t->g.in[0] * t->g.in[1];
    int64_t chunk_rows = CONVT_COL_FLOATS / (MK * IW);
    if (chunk_rows < 1) chunk_rows = 1;
    if (chunk_rows > rows) chunk_rows = rows;
    float *col = rt_scratch(c, sizeof(float) * (size_t)(MK * chunk_rows * IW));
    if (!col) return RT_ERR_NOMEM;
    for (int64_t im = 0; im < t->N; im++)
        for (int64_t gr = 0; gr < t->group; gr++) {
            const float *xg = t->x + (im * t->C + gr * t->Cg) * t->Pin;
            float *yg = t->y + (im * t->M + gr * t->Mg) * t->Pout;
            int64_t reached = 0; /* output rows set to the bias so far */
            for (int64_t r0 = 0; r0 < rows; r0 += chunk_rows) {
                int64_t r1 = r0 + chunk_rows < rows ? r0 + chunk_rows : rows, n = (r1 - r0) * IW;
                RtSgemm gm = {.M = MK, .N = n, .K = t->Cg, .trans_a = 1, .A = t->w + gr * t->Cg * MK,
                              .A_packed = t->wp ? t->wp + gr * t->wp_stride : NULL, .lda = MK,
                              .B = xg + r0 * IW, .ldb = t->Pin, .C = col, .ldc = n};
                rt_sgemm_run(c->pool, &gm);
                int64_t upto = convt_rows_reached(&t->g, r1), lo, hi;
                convt_rows_touched(&t->g, r0, r1, &lo, &hi);
                Col2imJob j = {&t->g, t->K, r0, r1, lo < reached ? lo : reached, hi > upto ? hi : upto, reached, upto,
                               col, n, NULL, NULL, t->Mg, t->Pin, yg, t->b ? t->b + gr * t->Mg : NULL};
                reached = upto;
                convt_col2im(c, &j, t->Mg);
            }
        }
    rt_scratch_free(c, col);
    return RT_OK;
}

static int k_conv_transpose_x86(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0), *w = rt_in(n, in, 1), *b = rt_in(n, in, 2);
    CxConvT t;
    int nhwc = (c->nhwc_in && c->nhwc_in[0]) || (c->nhwc_out && c->nhwc_out[0]);
    if (nhwc && !c->shape_only) return rt_fail(c, "channels-last data on a ConvTranspose (never planned)");
    /* kW taps' rows go through fixed arrays of 64 (convt_out_row) */
    if (!cx_cpu_ok() || c->shape_only || !x || !w || !x->data || !w->data || (b && !b->data) ||
        !convt_case_shapes(c, n, x, w, b, &t) || t.g.k[2] > 64)
        return rt_kernel_find(n->op)(c, n, in, out);
    int64_t dims[RT_MAX_RANK];
    rt_geom_out_dims(&t.g, t.N, t.M, dims);
    RT_TRY(rt_out_alloc(c, out[0], RT_F32, x->rank, dims));
    t.x = x->data, t.w = w->data, t.b = b ? b->data : NULL, t.y = out[0]->data;
    if (t.Cg == 1) {
        convt_run_direct(c, &t);
        return RT_OK;
    }
    /* W_g [Cg, Mg*K] as the GEMM's A^T, packed once per node when W is a constant */
    t.wp = rt_sgemm_state_packed_pre(c, 0, 1, RT_SGEMM_SIDE_A, 1, t.Mg * t.K, t.Cg, t.group, t.w, t.Mg * t.K,
                                     t.Cg * t.Mg * t.K, &t.wp_stride);
    return convt_run_gemm(c, &t);
}

const RtKernelEntry rt_kernels_x86_convt[] = {
    {RT_OP_CONV_TRANSPOSE, k_conv_transpose_x86},
    {-1, 0},
};
