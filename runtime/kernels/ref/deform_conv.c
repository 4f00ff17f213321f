/*
 * deform_conv.c — DeformConv (opset 19; deformable convolution v1 / v2), 2-D.
 *
 * X [N, C, H, W], W [oC, C / group, kH, kW], offset [N, offset_group * kH * kW * 2, oH, oW],
 * B [oC]?, mask [N, offset_group * kH * kW, oH, oW]? -> Y [N, oC, oH, oW], with
 * oH = floor((H + pad_top + pad_bottom - ((kH - 1) * dH + 1)) / sH) + 1 (and W alike).
 * As in the spec's reference: input channel ic belongs to offset group ic / (C / offset_group);
 * kernel tap (i, j) of output (oh, ow) samples X at
 *     h = oh * sH - pad_top + i * dH + offset[n, (og * kH * kW + i * kW + j) * 2 + 0, oh, ow]
 *     w = ow * sW - pad_left + j * dW + offset[n, (og * kH * kW + i * kW + j) * 2 + 1, oh, ow]
 * bilinearly: the four neighbouring pixels weighted (1 - fh)(1 - fw), ..., a pixel outside
 * the image reading 0. The sample is multiplied by mask[n, og * kH * kW + i * kW + j, oh, ow]
 * (1 when there is no mask) and by W, summed per output channel over its group's input
 * channels and taps, plus B. Computed in double. Other spatial ranks are refused by name.
 */
#include <math.h>

#include "../kernel.h"

/* X[plane](h, w) bilinearly, 0 outside the H x W image */
static double dc_sample(const RtTensor *x, int64_t plane, int64_t H, int64_t W, double h, double w) {
    if (!(h > -1.0 && h < (double)H && w > -1.0 && w < (double)W)) return 0.0; /* also NaN */
    double h0 = floor(h), w0 = floor(w), fh = h - h0, fw = w - w0, v = 0;
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            int64_t hh = (int64_t)h0 + a, ww = (int64_t)w0 + b;
            if (hh < 0 || hh >= H || ww < 0 || ww >= W) continue;
            double wt = (a ? fh : 1 - fh) * (b ? fw : 1 - fw);
            if (wt != 0) v += wt * rt_get_f64(x, plane * H * W + hh * W + ww);
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

static int k_deform_conv(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0), *w = rt_in(n, in, 1), *off = rt_in(n, in, 2);
    const RtTensor *bias = rt_in(n, in, 3), *mask = rt_in(n, in, 4);
    if (!x || !w || !off) return rt_fail(c, "inputs X, W and offset are required");
    if (!rt_dtype_is_float(x->dtype) || w->dtype != x->dtype || off->dtype != x->dtype) {
        rt_fail(c, "inputs X (%s), W (%s), offset (%s) must share one float type", rt_dtype_name(x->dtype),
                rt_dtype_name(w->dtype), rt_dtype_name(off->dtype));
        return RT_ERR_UNSUPPORTED;
    }
    if (x->rank != 4) {
        rt_fail(c, "input X has rank %d: wafer's DeformConv supports 2-D images [N, C, H, W] only", x->rank);
        return x->rank >= 3 ? RT_ERR_UNSUPPORTED : RT_ERR;
    }
    int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], Wd = x->dims[3];
    int64_t grp = rt_attr_int(n, "group", 1), og = rt_attr_int(n, "offset_group", 1);
    if (w->rank != 4) return rt_fail(c, "input W must be [oC, C / group, kH, kW], got rank %d", w->rank);
    int64_t oC = w->dims[0], kH = w->dims[2], kW = w->dims[3], K = kH * kW;
    if (grp < 1 || C % grp || oC % grp || w->dims[1] != C / grp)
        return rt_fail(c, "group %lld does not fit X's %lld channels, W's %lld outputs and %lld inputs per group",
                       (long long)grp, (long long)C, (long long)oC, (long long)w->dims[1]);
    if (og < 1 || C % og) return rt_fail(c, "offset_group %lld must divide the %lld channels", (long long)og, (long long)C);
    int64_t ks[2] = {0, 0}, s[2] = {1, 1}, d[2] = {1, 1}, p[4] = {0, 0, 0, 0};
    RT_TRY(dc_ints(c, n, "kernel_shape", 2, 0, ks));
    if (rt_attr(n, "kernel_shape") && (ks[0] != kH || ks[1] != kW))
        return rt_fail(c, "attribute kernel_shape [%lld, %lld] differs from W's [%lld, %lld]", (long long)ks[0],
                       (long long)ks[1], (long long)kH, (long long)kW);
    RT_TRY(dc_ints(c, n, "strides", 2, 1, s));
    RT_TRY(dc_ints(c, n, "dilations", 2, 1, d));
    RT_TRY(dc_ints(c, n, "pads", 4, 0, p));
    if (s[0] < 1 || s[1] < 1 || d[0] < 1 || d[1] < 1 || p[0] < 0 || p[1] < 0 || p[2] < 0 || p[3] < 0)
        return rt_fail(c, "strides and dilations must be >= 1 and pads >= 0");
    int64_t oH = (H + p[0] + p[2] - ((kH - 1) * d[0] + 1)) / s[0] + 1;
    int64_t oW = (Wd + p[1] + p[3] - ((kW - 1) * d[1] + 1)) / s[1] + 1;
    if (oH < 1 || oW < 1) return rt_fail(c, "the dilated kernel is larger than the padded image");
    if (off->rank != 4 || off->dims[0] != N || off->dims[1] != og * K * 2 || off->dims[2] != oH || off->dims[3] != oW)
        return rt_fail(c, "input offset must be [%lld, %lld, %lld, %lld]", (long long)N, (long long)(og * K * 2),
                       (long long)oH, (long long)oW);
    if (bias && (bias->rank != 1 || bias->dims[0] != oC || bias->dtype != x->dtype))
        return rt_fail(c, "input B must be [%lld] of X's dtype", (long long)oC);
    if (mask && (mask->rank != 4 || mask->dims[0] != N || mask->dims[1] != og * K || mask->dims[2] != oH ||
                 mask->dims[3] != oW || mask->dtype != x->dtype))
        return rt_fail(c, "input mask must be [%lld, %lld, %lld, %lld] of X's dtype", (long long)N,
                       (long long)(og * K), (long long)oH, (long long)oW);
    int64_t dims[4] = {N, oC, oH, oW};
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, 4, dims));
    int64_t cg = C / grp, ocg = oC / grp, cpo = C / og, P = oH * oW;
    for (int64_t b = 0; b < N; b++)
        for (int64_t oc = 0; oc < oC; oc++) {
            int64_t g = oc / ocg;
            for (int64_t oh = 0; oh < oH; oh++)
                for (int64_t ow = 0; ow < oW; ow++) {
                    double acc = bias ? rt_get_f64(bias, oc) : 0.0;
                    for (int64_t icg = 0; icg < cg; icg++) {
                        int64_t ic = g * cg + icg, o = ic / cpo;
                        for (int64_t i = 0; i < kH; i++)
                            for (int64_t j = 0; j < kW; j++) {
                                int64_t t = o * K + i * kW + j, pos = oh * oW + ow;
                                double dh = rt_get_f64(off, (b * og * K * 2 + t * 2) * P + pos);
                                double dw = rt_get_f64(off, (b * og * K * 2 + t * 2 + 1) * P + pos);
                                double m = mask ? rt_get_f64(mask, (b * og * K + t) * P + pos) : 1.0;
                                double h = (double)(oh * s[0] - p[0] + i * d[0]) + dh;
                                double ww = (double)(ow * s[1] - p[1] + j * d[1]) + dw;
                                double v = dc_sample(x, b * C + ic, H, Wd, h, ww);
                                acc += rt_get_f64(w, ((oc * cg + icg) * kH + i) * kW + j) * m * v;
                            }
                    }
                    rt_set_f64(out[0], ((b * oC + oc) * oH + oh) * oW + ow, acc);
                }
        }
    return RT_OK;
}

const RtKernelEntry rt_kernels_deform_conv[] = {
    {RT_OP_DEFORM_CONV, k_deform_conv},
    {-1, 0},
};
