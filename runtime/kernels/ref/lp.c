/*
 * lp.c — the p-norm ops: LpNormalization (opset 1), LpPool (1, 2, 11, 18) and GlobalLpPool
 * (1, 2). Float types only (float16, bfloat16, float32, float64); computed in double.
 *
 * LpNormalization: y = x / ||x||_p along `axis` (default -1), p = 1 or 2 (default 2); a line
 *   whose norm is 0 gives 0s (onnxruntime's choice; the spec's x / 0 would be NaN).
 * LpPool: X [N, C, in...] -> Y [N, C, out...], each output the p-norm of its window:
 *   (sum |x|^p)^(1/p) over the taps inside the input (padding adds 0, so it never counts).
 *   Geometry (kernel_shape, strides, pads, auto_pad, dilations and ceil_mode of opset 18)
 *   comes from conv_geom as for the other pools; 1-D to 3-D.
 * GlobalLpPool: the p-norm of each whole (n, c) plane, Y [N, C, 1, ...].
 * p is a float attribute in opset 1 of LpPool / GlobalLpPool and an int from opset 2; both
 * are read. p must be > 0 (p = 1, 2 are the common cases; any positive p is computed).
 */
#include <math.h>

#include "conv_geom.h"

static int lp_dtype(RtKernelCtx *c, const RtTensor *x) {
    if (rt_dtype_is_float(x->dtype)) return RT_OK;
    rt_fail(c, "input X has dtype %s; supported: float16, bfloat16, float32, float64", rt_dtype_name(x->dtype));
    return RT_ERR_UNSUPPORTED;
}

/* p of the node: INT (opset >= 2) or FLOAT (opset 1) attribute, default 2. */
static int lp_p(RtKernelCtx *c, const RtNode *n, double *p) {
    const RtAttr *a = rt_attr(n, "p");
    *p = !a ? 2.0 : a->type == RT_ATTR_FLOAT ? (double)a->f : (double)a->i;
    if (!(*p > 0)) return rt_fail(c, "attribute p = %g must be > 0", *p);
    return RT_OK;
}

/* (sum |v|^p)^(1/p) with exact forms for p = 1 and 2 */
static double lp_finish(double acc, double p) { return p == 1.0 ? acc : p == 2.0 ? sqrt(acc) : pow(acc, 1.0 / p); }
static double lp_term(double v, double p) { return p == 1.0 ? fabs(v) : p == 2.0 ? v * v : pow(fabs(v), p); }

static int k_lp_normalization(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0);
    if (!x) return rt_fail(c, "input is required");
    RT_TRY(lp_dtype(c, x));
    int64_t p = rt_attr_int(n, "p", 2);
    if (p != 1 && p != 2) return rt_fail(c, "attribute p = %lld must be 1 or 2", (long long)p);
    int ax = x->rank == 0 ? 0 : rt_axis(c, rt_attr_int(n, "axis", -1), x->rank, "attribute axis");
    if (ax < 0) return RT_ERR;
    if (x->rank == 0) return rt_fail(c, "input has rank 0; LpNormalization needs an axis");
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, x->rank, x->dims));
    int64_t outer = rt_shape_numel(ax, x->dims), L = x->dims[ax];
    int64_t inner = rt_shape_numel(x->rank - ax - 1, x->dims + ax + 1);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t base = o * L * inner + i;
            double acc = 0;
            for (int64_t k = 0; k < L; k++) acc += lp_term(rt_get_f64(x, base + k * inner), (double)p);
            double norm = lp_finish(acc, (double)p);
            for (int64_t k = 0; k < L; k++)
                rt_set_f64(out[0], base + k * inner, norm == 0 ? 0.0 : rt_get_f64(x, base + k * inner) / norm);
        }
    return RT_OK;
}

static int k_lp_pool(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0);
    if (!x) return rt_fail(c, "input X is required");
    int nsp;
    RT_TRY(rt_geom_spatial_rank(c, x->rank, "input X", &nsp));
    RT_TRY(lp_dtype(c, x));
    double p;
    RT_TRY(lp_p(c, n, &p));
    const int64_t *ks;
    int nk = rt_attr_ints(n, "kernel_shape", &ks);
    if (nk < 0) return rt_fail(c, "attribute kernel_shape is required");
    if (nk != nsp) return rt_fail(c, "attribute kernel_shape has %d values but input X has %d spatial axes", nk, nsp);
    RtConvGeom g;
    RT_TRY(rt_geom_read(c, n, nsp, x->dims + 2, ks, &g));
    int64_t ceil_mode = rt_attr_int(n, "ceil_mode", 0);
    if (ceil_mode != 0 && ceil_mode != 1)
        return rt_fail(c, "attribute ceil_mode = %lld must be 0 or 1", (long long)ceil_mode);
    RT_TRY(rt_geom_forward(c, n, (int)ceil_mode, &g));
    int64_t dims[RT_MAX_RANK];
    rt_geom_out_dims(&g, x->dims[0], x->dims[1], dims);
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, x->rank, dims));
    const int64_t IH = g.in[1], IW = g.in[2], pin = rt_geom_numel(g.in);
    int64_t planes = x->dims[0] * x->dims[1], yo = 0;
    for (int64_t pl = 0; pl < planes; pl++)
        for (int64_t od = 0; od < g.out[0]; od++)
            for (int64_t oh = 0; oh < g.out[1]; oh++)
                for (int64_t ow = 0; ow < g.out[2]; ow++) {
                    int64_t r[3][2], o[3] = {od, oh, ow};
                    for (int a = 0; a < 3; a++)
                        rt_geom_taps(o[a], g.stride[a], g.pad0[a], g.dil[a], g.k[a], g.in[a], &r[a][0], &r[a][1]);
                    double acc = 0;
                    for (int64_t kd = r[0][0]; kd < r[0][1]; kd++) {
                        int64_t id = od * g.stride[0] - g.pad0[0] + kd * g.dil[0];
                        for (int64_t kh = r[1][0]; kh < r[1][1]; kh++) {
                            int64_t ih = oh * g.stride[1] - g.pad0[1] + kh * g.dil[1];
                            for (int64_t kw = r[2][0]; kw < r[2][1]; kw++) {
                                int64_t iw = ow * g.stride[2] - g.pad0[2] + kw * g.dil[2];
                                acc += lp_term(rt_get_f64(x, pl * pin + (id * IH + ih) * IW + iw), p);
                            }
                        }
                    }
                    rt_set_f64(out[0], yo++, lp_finish(acc, p));
                }
    return RT_OK;
}

static int k_global_lp_pool(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0);
    if (!x) return rt_fail(c, "input X is required");
    if (x->rank < 2) return rt_fail(c, "input X has rank %d; expected (N, C, spatial...)", x->rank);
    RT_TRY(lp_dtype(c, x));
    double p;
    RT_TRY(lp_p(c, n, &p));
    int64_t dims[RT_MAX_RANK];
    for (int i = 0; i < x->rank; i++) dims[i] = i < 2 ? x->dims[i] : 1;
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, x->rank, dims));
    int64_t planes = x->dims[0] * x->dims[1], pin = rt_shape_numel(x->rank - 2, x->dims + 2);
    for (int64_t pl = 0; pl < planes; pl++) {
        double acc = 0;
        for (int64_t i = 0; i < pin; i++) acc += lp_term(rt_get_f64(x, pl * pin + i), p);
        rt_set_f64(out[0], pl, lp_finish(acc, p));
    }
    return RT_OK;
}

const RtKernelEntry rt_kernels_lp[] = {
    {RT_OP_LP_NORMALIZATION, k_lp_normalization},
    {RT_OP_LP_POOL, k_lp_pool},
    {RT_OP_GLOBAL_LP_POOL, k_global_lp_pool},
    {-1, 0},
};
