/*
 * deform_conv.c — DeformConv (opset 19; deformable convolution v1 / v2), any number S >= 1 of
 * spatial axes (the spec's general N-D case; its reference implements 2-D).
 *
 * X [N, C, in_1..in_S], W [oC, C / group, k_1..k_S], offset [N, offset_group * K * S,
 * out_1..out_S] with K = prod k, B [oC]?, mask [N, offset_group * K, out...]? ->
 * Y [N, oC, out...], out_a = floor((in_a + pad_begin_a + pad_end_a - ((k_a - 1) d_a + 1)) / s_a) + 1.
 * As in the spec's reference: input channel ic belongs to offset group o = ic / (C / offset_group);
 * kernel tap t (row-major index of its position (t_1..t_S) in the kernel) of output position
 * q samples X at, per axis a,
 *     x_a = q_a * s_a - pad_begin_a + t_a * d_a + offset[n, (o * K + t) * S + a, q]
 * by multilinear interpolation (bilinear in 2-D, the reference's GridSample with
 * align_corners = 1 and zeros padding): the 2^S neighbouring pixels weighted by the products
 * of (1 - f_a) or f_a, a pixel outside the image reading 0. The sample is multiplied by
 * mask[n, o * K + t, q] (1 without a mask) and W, summed over the group's input channels and
 * the taps, plus B. Computed in double; float32 takes the im2col route instead: the masked
 * samples of one group and a block of output positions become columns [C/group * K, QB]
 * (each sample computed once, not once per output channel; the neighbours and weights of a
 * tap once per offset group, not once per channel), and rt_sgemm multiplies the group's
 * W [oC/group, C/group * K] by them into Y.
 */
#include <math.h>
#include <stdint.h>

#include "../gemm.h"
#include "../kernel.h"

#define DC_MAX_SP (RT_MAX_RANK - 2)

typedef struct {
    int S;                        /* spatial axes */
    int64_t in[DC_MAX_SP];        /* input sizes */
    int64_t k[DC_MAX_SP];         /* kernel sizes */
    int64_t out[DC_MAX_SP];       /* output sizes */
    int64_t s[DC_MAX_SP], d[DC_MAX_SP], p[2 * DC_MAX_SP]; /* strides, dilations, pads */
} DcGeom;

/* X's plane (I elements) at coordinates x[S], multilinearly; 0 outside the image */
static double dc_sample(const RtTensor *x, int64_t plane0, const DcGeom *g, const double *xc) {
    int64_t base[DC_MAX_SP];
    double f[DC_MAX_SP];
    for (int a = 0; a < g->S; a++) {
        if (!(xc[a] > -1.0 && xc[a] < (double)g->in[a])) return 0.0; /* every neighbour outside, or NaN */
        double fl = floor(xc[a]);
        base[a] = (int64_t)fl;
        f[a] = xc[a] - fl;
    }
    double v = 0;
    for (int corner = 0; corner < (1 << g->S); corner++) {
        double wt = 1;
        int64_t idx = 0;
        int inside = 1;
        for (int a = 0; a < g->S && inside; a++) {
            int bit = (corner >> (g->S - 1 - a)) & 1;
            int64_t j = base[a] + bit;
            inside = j >= 0 && j < g->in[a];
            wt *= bit ? f[a] : 1 - f[a];
            idx = idx * g->in[a] + j;
        }
        if (inside && wt != 0)
            v += wt * (x->dtype == RT_F32 ? (double)((const float *)x->data)[plane0 + idx] : rt_get_f64(x, plane0 + idx));
    }
    return v;
}

static int dc_ints(RtKernelCtx *c, const RtNode *n, const char *name, int want, int64_t def, int64_t *v) {
    const int64_t *a;
    int k = rt_attr_ints(n, name, &a);
    if (k >= 0 && k != want) return rt_fail(c, "attribute %s has %d values, want %d", name, k, want);
    for (int i = 0; i < want; i++) v[i] = k < 0 ? def : a[i];
    return RT_OK;
}

/* Reads the window attributes of n for X and W into g; checks them. */
static int dc_geom(RtKernelCtx *c, const RtNode *n, const RtTensor *x, const RtTensor *w, DcGeom *g) {
    g->S = x->rank - 2;
    for (int a = 0; a < g->S; a++) g->in[a] = x->dims[2 + a], g->k[a] = w->dims[2 + a];
    int64_t ks[DC_MAX_SP];
    RT_TRY(dc_ints(c, n, "kernel_shape", g->S, 0, ks));
    RT_TRY(dc_ints(c, n, "strides", g->S, 1, g->s));
    RT_TRY(dc_ints(c, n, "dilations", g->S, 1, g->d));
    RT_TRY(dc_ints(c, n, "pads", 2 * g->S, 0, g->p));
    for (int a = 0; a < g->S; a++) {
        if (rt_attr(n, "kernel_shape") && ks[a] != g->k[a])
            return rt_fail(c, "attribute kernel_shape[%d] = %lld differs from W's %lld", a, (long long)ks[a],
                           (long long)g->k[a]);
        /* bounded so that the window arithmetic cannot overflow (values come from files) */
        if (g->s[a] < 1 || g->d[a] < 1 || g->p[a] < 0 || g->p[g->S + a] < 0 || g->s[a] > INT32_MAX ||
            g->d[a] > INT32_MAX || g->p[a] > INT32_MAX || g->p[g->S + a] > INT32_MAX)
            return rt_fail(c, "strides and dilations must be in [1, 2^31) and pads in [0, 2^31) (axis %d)", a);
        if (g->k[a] < 1) return rt_fail(c, "input W has an empty kernel axis %d", a);
        int64_t span = g->in[a] + g->p[a] + g->p[g->S + a] - ((g->k[a] - 1) * g->d[a] + 1);
        if (span < 0) return rt_fail(c, "axis %d: the dilated kernel is larger than the padded input", a);
        g->out[a] = span / g->s[a] + 1;
    }
    return RT_OK;
}

/* t's dims must be [N, ch, out...] */
static int dc_check_map(RtKernelCtx *c, const RtTensor *t, const char *what, const RtTensor *x, int64_t ch,
                        const DcGeom *g) {
    int ok = t->rank == g->S + 2 && t->dims[0] == x->dims[0] && t->dims[1] == ch && t->dtype == x->dtype;
    for (int a = 0; ok && a < g->S; a++) ok = t->dims[2 + a] == g->out[a];
    if (!ok)
        return rt_fail(c, "input %s must be [N=%lld, %lld, output spatial sizes] of X's dtype", what,
                       (long long)x->dims[0], (long long)ch);
    return RT_OK;
}

/* Columns bytes of the float32 route: at most this much per block of output positions */
#define DC_COLS_BYTES ((int64_t)4 << 20)

/* One sampling tap of the float32 route: the 2^S neighbours' plane offsets idx[nc] (-1:
 * outside the image, reads 0) and weights wt[nc], the mask already folded in. The same for
 * every input channel of an offset group, so computed once per (offset group, tap, output
 * position). */
static void dc_tap_fill(const DcGeom *g, const double *xc, double m, int64_t *idx_out, float *wt_out) {
    int S = g->S, nc = 1 << S;
    int64_t base[DC_MAX_SP];
    double f[DC_MAX_SP];
    int any = 1;
    for (int a = 0; a < S; a++) {
        any = any && xc[a] > -1.0 && xc[a] < (double)g->in[a]; /* false for NaN too */
        double fl = any ? floor(xc[a]) : 0;
        base[a] = (int64_t)fl;
        f[a] = xc[a] - fl;
    }
    for (int corner = 0; corner < nc; corner++) {
        double wt = m;
        int64_t idx = 0;
        int inside = any;
        for (int a = 0; a < S && inside; a++) {
            int bit = (corner >> (S - 1 - a)) & 1;
            int64_t j = base[a] + bit;
            inside = j >= 0 && j < g->in[a];
            wt *= bit ? f[a] : 1 - f[a];
            idx = idx * g->in[a] + j;
        }
        idx_out[corner] = inside ? idx : -1;
        wt_out[corner] = inside ? (float)wt : 0.0f;
    }
}

/* The float32 route (see the header): per batch, group and block of QB output positions,
 * cols[r, qi] = the masked sample for r = icg * K + t, then Y[oc, q0..] = W_g cols + B. */
static int dc_run_f32(RtKernelCtx *c, const RtTensor *x, const RtTensor *w, const RtTensor *off,
                      const RtTensor *bias, const RtTensor *mask, const DcGeom *g, int64_t grp, int64_t og,
                      RtTensor *y) {
    int S = g->S, nc = 1 << S;
    int64_t C = x->dims[1], oC = w->dims[0], cg = C / grp, ocg = oC / grp, cpo = C / og;
    int64_t K = rt_shape_numel(S, g->k), P = rt_shape_numel(S, g->out), I = rt_shape_numel(S, g->in), R = cg * K;
    int64_t QB = DC_COLS_BYTES / (int64_t)sizeof(float) / (R > 0 ? R : 1);
    if (QB < 1) QB = 1;
    if (QB > P) QB = P;
    if (R > INT32_MAX || P > INT32_MAX || ocg > INT32_MAX) return rt_fail(c, "sizes too large for the GEMM");
    size_t cols_bytes = sizeof(float) * (size_t)(R * QB > 0 ? R * QB : 1), ntap = (size_t)(K * QB * nc);
    int64_t *tidx = rt_scratch(c, sizeof(int64_t) * ntap + sizeof(float) * ntap + cols_bytes);
    if (!tidx) return RT_ERR_NOMEM;
    float *twt = (float *)(tidx + ntap), *cols = twt + ntap;
    const float *wf = w->data, *xf = x->data;
    float *yf = y->data;
    for (int64_t b = 0; b < x->dims[0]; b++)
        for (int64_t gi = 0; gi < grp; gi++)
            for (int64_t q0 = 0; q0 < P; q0 += QB) {
                int64_t nq = P - q0 < QB ? P - q0 : QB, cur_o = -1;
                for (int64_t icg = 0; icg < cg; icg++) {
                    int64_t ic = gi * cg + icg, o = ic / cpo;
                    if (o != cur_o) { /* the taps of offset group o for this block */
                        cur_o = o;
                        for (int64_t t = 0; t < K; t++)
                            for (int64_t qi = 0; qi < nq; qi++) {
                                int64_t q = q0 + qi, r = q, rt = t;
                                double xc[DC_MAX_SP];
                                for (int a = S - 1; a >= 0; a--) {
                                    int64_t qa = r % g->out[a], ta = rt % g->k[a];
                                    r /= g->out[a];
                                    rt /= g->k[a];
                                    double dv = rt_get_f64(off, ((b * og + o) * K * S + t * S + a) * P + q);
                                    xc[a] = (double)(qa * g->s[a] - g->p[a] + ta * g->d[a]) + dv;
                                }
                                double m = mask ? rt_get_f64(mask, ((b * og + o) * K + t) * P + q) : 1.0;
                                dc_tap_fill(g, xc, m, tidx + (t * nq + qi) * nc, twt + (t * nq + qi) * nc);
                            }
                    }
                    const float *plane = xf + (b * C + ic) * I;
                    for (int64_t t = 0; t < K; t++) {
                        float *col = cols + (icg * K + t) * nq;
                        const int64_t *ti = tidx + t * nq * nc;
                        const float *tw = twt + t * nq * nc;
                        for (int64_t qi = 0; qi < nq; qi++, ti += nc, tw += nc) {
                            float v = 0;
                            for (int k = 0; k < nc; k++)
                                if (ti[k] >= 0) v += tw[k] * plane[ti[k]];
                            col[qi] = v;
                        }
                    }
                }
                float *yb = yf + (b * oC + gi * ocg) * P + q0;
                rt_sgemm(0, 0, (int)ocg, (int)nq, (int)R, 1.0f, wf + gi * ocg * R, (int)R, cols, (int)nq, 0.0f, yb,
                         (int)P);
                if (bias)
                    for (int64_t oc = 0; oc < ocg; oc++)
                        for (int64_t qi = 0; qi < nq; qi++) yb[oc * P + qi] += ((const float *)bias->data)[gi * ocg + oc];
            }
    rt_scratch_free(c, tidx);
    return RT_OK;
}

static int k_deform_conv(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0), *w = rt_in(n, in, 1), *off = rt_in(n, in, 2);
    const RtTensor *bias = rt_in(n, in, 3), *mask = rt_in(n, in, 4);
    if (!x || !w || !off) return rt_fail(c, "inputs X, W and offset are required");
    if (!rt_dtype_is_float(x->dtype) || w->dtype != x->dtype) {
        rt_fail(c, "inputs X (%s) and W (%s) must share one float type", rt_dtype_name(x->dtype),
                rt_dtype_name(w->dtype));
        return RT_ERR_UNSUPPORTED;
    }
    if (x->rank < 3) return rt_fail(c, "input X must be [N, C, spatial...], got rank %d", x->rank);
    if (w->rank != x->rank) return rt_fail(c, "input W must have X's rank %d, got %d", x->rank, w->rank);
    int64_t C = x->dims[1], oC = w->dims[0];
    int64_t grp = rt_attr_int(n, "group", 1), og = rt_attr_int(n, "offset_group", 1);
    if (grp < 1 || C % grp || oC % grp || w->dims[1] != C / grp)
        return rt_fail(c, "group %lld does not fit X's %lld channels, W's %lld outputs and %lld inputs per group",
                       (long long)grp, (long long)C, (long long)oC, (long long)w->dims[1]);
    if (og < 1 || C % og) return rt_fail(c, "offset_group %lld must divide the %lld channels", (long long)og, (long long)C);
    DcGeom g;
    RT_TRY(dc_geom(c, n, x, w, &g));
    int S = g.S;
    int64_t K = rt_shape_numel(S, g.k), P = rt_shape_numel(S, g.out), I = rt_shape_numel(S, g.in);
    RT_TRY(dc_check_map(c, off, "offset", x, og * K * S, &g));
    if (mask) RT_TRY(dc_check_map(c, mask, "mask", x, og * K, &g));
    if (bias && (bias->rank != 1 || bias->dims[0] != oC || bias->dtype != x->dtype))
        return rt_fail(c, "input B must be [%lld] of X's dtype", (long long)oC);
    int64_t dims[RT_MAX_RANK];
    dims[0] = x->dims[0];
    dims[1] = oC;
    for (int a = 0; a < S; a++) dims[2 + a] = g.out[a];
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, x->rank, dims));
    if (x->dtype == RT_F32) return dc_run_f32(c, x, w, off, bias, mask, &g, grp, og, out[0]);
    int64_t cg = C / grp, ocg = oC / grp, cpo = C / og;
    for (int64_t b = 0; b < x->dims[0]; b++)
        for (int64_t oc = 0; oc < oC; oc++)
            for (int64_t q = 0; q < P; q++) {
                int64_t qa[DC_MAX_SP], r = q;
                for (int a = S - 1; a >= 0; a--) qa[a] = r % g.out[a], r /= g.out[a];
                double acc = bias ? rt_get_f64(bias, oc) : 0.0;
                for (int64_t icg = 0; icg < cg; icg++) {
                    int64_t ic = (oc / ocg) * cg + icg, o = ic / cpo;
                    for (int64_t t = 0; t < K; t++) {
                        double xc[DC_MAX_SP];
                        int64_t rt = t;
                        for (int a = S - 1; a >= 0; a--) {
                            int64_t ta = rt % g.k[a];
                            rt /= g.k[a];
                            double dv = rt_get_f64(off, ((b * og + o) * K * S + t * S + a) * P + q);
                            xc[a] = (double)(qa[a] * g.s[a] - g.p[a] + ta * g.d[a]) + dv;
                        }
                        double m = mask ? rt_get_f64(mask, ((b * og + o) * K + t) * P + q) : 1.0;
                        double v = dc_sample(x, (b * C + ic) * I, &g, xc);
                        acc += rt_get_f64(w, (oc * cg + icg) * K + t) * m * v;
                    }
                }
                rt_set_f64(out[0], (b * oC + oc) * P + q, acc);
            }
    return RT_OK;
}

const RtKernelEntry rt_kernels_deform_conv[] = {
    {RT_OP_DEFORM_CONV, k_deform_conv},
    {-1, 0},
};
