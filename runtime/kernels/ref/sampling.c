/*
 * sampling.c — GridSample (opsets 16 and 20) and RoiAlign (opsets 10 and 16).
 *
 * GridSample: X [N, C, D1..Dk], grid [N, O1..Ok, k] -> Y [N, C, O1..Ok] (opset 16: k = 2
 * only; opset 20: any k). Both opsets' mode names are accepted in either (bilinear =
 * linear, bicubic = cubic), as onnxruntime does. Grid values are normalized coordinates in [-1, 1], in reverse axis
 * order (x = the last spatial axis first). Per output point and spatial axis i the
 * coordinate is denormalized:
 *     align_corners = 1: x = (g + 1) / 2 * (D - 1)       (-1, 1 are the corner pixels' centres)
 *     align_corners = 0: x = ((g + 1) * D - 1) / 2       (-1, 1 are the corner pixels' outer edges)
 * nearest rounds it half to even (rint). A coordinate outside [x_min, x_max] (= [0, D - 1]
 * with align_corners, else [-0.5, D - 0.5]) is then, by padding_mode, clamped to [0, D - 1]
 * (border), reflected at x_min / x_max until inside (reflection), or left (zeros). The
 * value is interpolated from taps floor(x) .. floor(x) + 1 (bilinear / linear: weights
 * 1 - f, f with f = x - floor(x)) or floor(x) - 1 .. floor(x) + 2 (bicubic / cubic: the
 * cubic convolution with A = -0.75), the tensor product over the k axes; nearest reads the
 * one pixel. A tap outside the image reads 0 (zeros), the clamped index (border) or the
 * reflected index (reflection). This is the spec's reference implementation, per axis; the
 * border clamp only applies to an axis whose coordinate is out of [x_min, x_max].
 * A NaN or infinite grid value makes that output NaN (no pixel can be chosen).
 *
 * RoiAlign: X [N, C, H, W], rois [R, 4] (x1, y1, x2, y2 in input coordinates times
 * 1 / spatial_scale), batch_indices [R] -> Y [R, C, output_height, output_width]. The roi
 * is scaled by spatial_scale and shifted by -0.5 (half_pixel; opset 16's default) or not
 * (output_half_pixel; the only behaviour of opset 10, which also widens a roi to at least
 * 1 x 1). Each output bin is the average (or max) of a grid of sampling_ratio^2 points
 * (sampling_ratio 0: ceil(roi size / output size) per axis) placed at the centres of the
 * bin's sub-cells, each sampled bilinearly. As in the spec's reference (and onnxruntime,
 * both from Caffe2): a point beyond one pixel outside the image (y < -1, y > H, x < -1,
 * x > W) contributes 0, coordinates below 0 are taken as 0 and those at or past the last
 * pixel as the last pixel; max mode takes, per point, the largest of the four weighted
 * corner values (w_i * v_i, not the interpolated value), and the largest over points.
 */
#include <math.h>
#include <string.h>

#include "../kernel.h"

/* ================================================================ GridSample */

enum { GS_LINEAR, GS_NEAREST, GS_CUBIC };
enum { GS_ZEROS, GS_BORDER, GS_REFLECTION };

/* Reflects x at lo and hi until it lies in [lo, hi] (a mirror of period 2 (hi - lo)). */
static double gs_reflect(double x, double lo, double hi) {
    double rng = hi - lo;
    if (rng <= 0) return lo;
    if (x < lo) {
        double dx = lo - x, n = floor(dx / rng), r = dx - n * rng;
        return fmod(n, 2.0) == 0 ? lo + r : hi - r;
    }
    if (x > hi) {
        double dx = x - hi, n = floor(dx / rng), r = dx - n * rng;
        return fmod(n, 2.0) == 0 ? hi - r : lo + r;
    }
    return x;
}

/* The spec's cubic convolution weights (A = -0.75) of the taps at offsets -1, 0, 1, 2 from
 * floor(x), for t = x - floor(x) in [0, 1). */
static void gs_cubic_coeffs(double t, double *w) {
    const double A = -0.75;
    double a = t + 1, b = t, c = 1 - t, d = 2 - t;
    w[0] = ((A * a - 5 * A) * a + 8 * A) * a - 4 * A;
    w[1] = ((A + 2) * b - (A + 3)) * b * b + 1;
    w[2] = ((A + 2) * c - (A + 3)) * c * c + 1;
    w[3] = ((A * d - 5 * A) * d + 8 * A) * d - 4 * A;
}

/* Maps a tap index on an axis of size d to a pixel index, or -1 (reads 0) for zeros. */
static int64_t gs_tap(int64_t i, int64_t d, int pad, double lo, double hi) {
    if (i >= 0 && i < d) return i;
    if (pad == GS_ZEROS) return -1;
    if (pad == GS_BORDER) return i < 0 ? 0 : d - 1;
    int64_t r = (int64_t)gs_reflect((double)i, lo, hi); /* truncation, as the reference's int() */
    return r < 0 ? 0 : r >= d ? d - 1 : r;
}

static int k_grid_sample(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0), *g = rt_in(n, in, 1);
    if (!x || !g) return rt_fail(c, "inputs X and grid are required");
    /* X may be any numeric type (the spec's T1 is all tensor types): values are read as
     * double and stored back as C casts them, as the reference's assignment into an array of
     * X's dtype does (an integer image's interpolated values truncate) */
    if (x->dtype == RT_STRING || rt_dtype_size(x->dtype) == 0 || !rt_dtype_is_float(g->dtype)) {
        rt_fail(c, "input X (%s) must be numeric and grid (%s) a float type", rt_dtype_name(x->dtype),
                rt_dtype_name(g->dtype));
        return RT_ERR_UNSUPPORTED;
    }
    int k = x->rank - 2;
    if (k < 1) return rt_fail(c, "input X must have rank >= 3 ([N, C, spatial...]), got rank %d", x->rank);
    if (n->opset > 0 && n->opset < 20 && k != 2)
        return rt_fail(c, "input X must be 4-D [N, C, H, W] in opset %d, got rank %d", n->opset, x->rank);
    if (g->rank != k + 2 || g->dims[0] != x->dims[0] || g->dims[k + 1] != k)
        return rt_fail(c, "input grid must be [N=%lld, out spatial x %d, %d], got rank %d", (long long)x->dims[0],
                       k, k, g->rank);
    const char *ms = rt_attr_str(n, "mode", n->opset >= 20 ? "linear" : "bilinear");
    int mode = (strcmp(ms, "bilinear") == 0 || strcmp(ms, "linear") == 0) ? GS_LINEAR
             : strcmp(ms, "nearest") == 0 ? GS_NEAREST
             : (strcmp(ms, "bicubic") == 0 || strcmp(ms, "cubic") == 0) ? GS_CUBIC : -1;
    if (mode < 0) return rt_fail(c, "attribute mode '%s' is not bilinear/linear, nearest or bicubic/cubic", ms);
    if (mode == GS_CUBIC && k > 3) {
        rt_fail(c, "cubic GridSample on %d spatial axes is not supported (at most 3)", k);
        return RT_ERR_UNSUPPORTED;
    }
    const char *ps = rt_attr_str(n, "padding_mode", "zeros");
    int pad = strcmp(ps, "zeros") == 0 ? GS_ZEROS : strcmp(ps, "border") == 0 ? GS_BORDER
            : strcmp(ps, "reflection") == 0 ? GS_REFLECTION : -1;
    if (pad < 0) return rt_fail(c, "attribute padding_mode '%s' is not zeros, border or reflection", ps);
    int align = (int)rt_attr_int(n, "align_corners", 0);
    int64_t dims[RT_MAX_RANK];
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    for (int i = 0; i < k; i++) dims[2 + i] = g->dims[1 + i];
    const int64_t *sd = x->dims + 2; /* spatial sizes */
    int64_t plane = rt_shape_numel(k, sd), opts = rt_shape_numel(k, dims + 2), C = x->dims[1];
    if (plane == 0 && rt_shape_numel(x->rank, dims) > 0)
        return rt_fail(c, "input X has an empty spatial axis: there is nothing to sample");
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, x->rank, dims));

    int ntap = mode == GS_LINEAR ? 2 : mode == GS_CUBIC ? 4 : 1;
    int64_t corners = 1;
    for (int i = 0; i < k; i++) corners *= ntap;
    double lo[RT_MAX_RANK], hi[RT_MAX_RANK], w[RT_MAX_RANK][4];
    int64_t tap[RT_MAX_RANK][4];
    for (int i = 0; i < k; i++) {
        lo[i] = align ? 0.0 : -0.5;
        hi[i] = align ? (double)(sd[i] - 1) : (double)sd[i] - 0.5;
    }
    for (int64_t b = 0; b < x->dims[0]; b++)
        for (int64_t o = 0; o < opts; o++) {
            int bad = 0;
            for (int i = 0; i < k; i++) {
                /* axis i (outermost first) is grid component k - 1 - i */
                double gv = rt_get_f64(g, (b * opts + o) * k + (k - 1 - i));
                if (!isfinite(gv)) {
                    bad = 1;
                    break;
                }
                double d = (double)sd[i];
                double v = align ? (gv + 1) / 2 * (d - 1) : ((gv + 1) * d - 1) / 2;
                if (mode == GS_NEAREST) v = rint(v);
                if (v < lo[i] || v > hi[i]) {
                    if (pad == GS_BORDER) v = v < 0 ? 0 : v > d - 1 ? d - 1 : v;
                    else if (pad == GS_REFLECTION) v = gs_reflect(v, lo[i], hi[i]);
                    else v = v < -4 ? -4 : v > d + 3 ? d + 3 : v; /* zeros: every tap outside anyway */
                }
                if (mode == GS_NEAREST) {
                    tap[i][0] = gs_tap((int64_t)v, sd[i], pad, lo[i], hi[i]);
                    w[i][0] = 1;
                    continue;
                }
                double f = floor(v), t = v - f;
                int64_t base = (int64_t)f - (mode == GS_CUBIC ? 1 : 0);
                if (mode == GS_LINEAR) w[i][0] = 1 - t, w[i][1] = t;
                else gs_cubic_coeffs(t, w[i]);
                for (int j = 0; j < ntap; j++) tap[i][j] = gs_tap(base + j, sd[i], pad, lo[i], hi[i]);
            }
            /* the point's taps with a non-zero weight, as (offset in the plane, weight): at
             * most 2^6 (linear, k <= 6) or 4^3 (cubic, k <= 3); the same for every channel */
            int64_t toff[64];
            double twt[64];
            int nt = 0;
            for (int64_t cn = 0; !bad && cn < corners; cn++) {
                int64_t rem = cn, off = 0, stride = 1;
                double wt = 1;
                for (int i = k - 1; i >= 0; i--) {
                    int j = (int)(rem % ntap);
                    rem /= ntap;
                    if (tap[i][j] < 0) {
                        wt = 0;
                        break;
                    }
                    wt *= w[i][j];
                    off += tap[i][j] * stride;
                    stride *= sd[i];
                }
                if (wt == 0) continue;
                toff[nt] = off;
                twt[nt++] = wt;
            }
            for (int64_t ch = 0; ch < C; ch++) {
                int64_t oi = (b * C + ch) * opts + o, xbase = (b * C + ch) * plane;
                double acc = 0;
                if (bad) acc = NAN;
                else if (x->dtype == RT_F32)
                    for (int t = 0; t < nt; t++) acc += twt[t] * ((const float *)x->data)[xbase + toff[t]];
                else
                    for (int t = 0; t < nt; t++) acc += twt[t] * rt_get_f64(x, xbase + toff[t]);
                if (out[0]->dtype == RT_F32) ((float *)out[0]->data)[oi] = (float)acc;
                else rt_set_f64(out[0], oi, acc);
            }
        }
    return RT_OK;
}

/* ================================================================ RoiAlign */

static int k_roi_align(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0), *rois = rt_in(n, in, 1), *bi = rt_in(n, in, 2);
    if (!x || !rois || !bi) return rt_fail(c, "inputs X, rois and batch_indices are required");
    if (!rt_dtype_is_float(x->dtype) || !rt_dtype_is_float(rois->dtype)) {
        rt_fail(c, "inputs X (%s) and rois (%s) must be float types", rt_dtype_name(x->dtype),
                rt_dtype_name(rois->dtype));
        return RT_ERR_UNSUPPORTED;
    }
    if (x->rank != 4) return rt_fail(c, "input X must be 4-D [N, C, H, W], got rank %d", x->rank);
    if (rois->rank != 2 || rois->dims[1] != 4)
        return rt_fail(c, "input rois must be [num_rois, 4], got rank %d", rois->rank);
    if (bi->dtype != RT_I64 && bi->dtype != RT_I32)
        return rt_fail(c, "input batch_indices must be int64, got %s", rt_dtype_name(bi->dtype));
    if (bi->rank != 1 || bi->dims[0] != rois->dims[0])
        return rt_fail(c, "input batch_indices must be [num_rois = %lld]", (long long)rois->dims[0]);
    const char *ms = rt_attr_str(n, "mode", "avg");
    int is_max = strcmp(ms, "max") == 0;
    if (!is_max && strcmp(ms, "avg") != 0) return rt_fail(c, "attribute mode '%s' is not avg or max", ms);
    const char *cs = rt_attr_str(n, "coordinate_transformation_mode",
                                 n->opset > 0 && n->opset < 16 ? "output_half_pixel" : "half_pixel");
    int half_pixel = strcmp(cs, "half_pixel") == 0;
    if (!half_pixel && strcmp(cs, "output_half_pixel") != 0)
        return rt_fail(c, "attribute coordinate_transformation_mode '%s' is not half_pixel or output_half_pixel", cs);
    int64_t oh = rt_attr_int(n, "output_height", 1), ow = rt_attr_int(n, "output_width", 1);
    int64_t sr = rt_attr_int(n, "sampling_ratio", 0);
    double scale = rt_attr_float(n, "spatial_scale", 1.0f);
    if (oh < 1 || ow < 1)
        return rt_fail(c, "attributes output_height and output_width must be >= 1, got %lld and %lld", (long long)oh,
                       (long long)ow);
    if (sr < 0) return rt_fail(c, "attribute sampling_ratio must be >= 0, got %lld", (long long)sr);
    int64_t R = rois->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
    int64_t dims[4] = {R, C, oh, ow};
    for (int64_t r = 0; bi->data && r < R; r++) {
        int64_t b = rt_get_i64(bi, r);
        if (b < 0 || b >= x->dims[0])
            return rt_fail(c, "batch_indices[%lld] = %lld is out of range [0, %lld)", (long long)r, (long long)b,
                           (long long)x->dims[0]);
    }
    if ((H == 0 || W == 0) && R * C * oh * ow > 0)
        return rt_fail(c, "input X is empty (H = %lld, W = %lld): there is nothing to pool", (long long)H, (long long)W);
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, 4, dims));
    double off = half_pixel ? 0.5 : 0.0;
    double *acc = rt_scratch(c, sizeof(double) * (size_t)(C > 0 ? C : 1)); /* one bin's sums, per channel */
    if (!acc) return RT_ERR_NOMEM;
    for (int64_t r = 0; r < R; r++) {
        int64_t b = rt_get_i64(bi, r);
        double x1 = rt_get_f64(rois, r * 4) * scale - off, y1 = rt_get_f64(rois, r * 4 + 1) * scale - off;
        double x2 = rt_get_f64(rois, r * 4 + 2) * scale - off, y2 = rt_get_f64(rois, r * 4 + 3) * scale - off;
        double rw = x2 - x1, rh = y2 - y1;
        if (!half_pixel) {
            if (rw < 1) rw = 1;
            if (rh < 1) rh = 1;
        }
        double bh = rh / (double)oh, bw = rw / (double)ow;
        double gh_d = sr > 0 ? (double)sr : ceil(rh / (double)oh), gw_d = sr > 0 ? (double)sr : ceil(rw / (double)ow);
        /* a NaN or absurd roi gives no sample points rather than an endless loop */
        int64_t gh = gh_d >= 1 && gh_d < 1e6 ? (int64_t)gh_d : 0, gw = gw_d >= 1 && gw_d < 1e6 ? (int64_t)gw_d : 0;
        double count = (double)(gh * gw > 0 ? gh * gw : 1);
        /* bins outermost, channels innermost: every channel samples the same points, so
         * each point's corners and weights are worked out once */
        for (int64_t ph = 0; ph < oh; ph++)
            for (int64_t pw = 0; pw < ow; pw++) {
                int any = 0;
                for (int64_t iy = 0; iy < gh; iy++) {
                    double yy = y1 + (double)ph * bh + ((double)iy + 0.5) * bh / (double)gh;
                    for (int64_t ix = 0; ix < gw; ix++) {
                        double xx = x1 + (double)pw * bw + ((double)ix + 0.5) * bw / (double)gw;
                        /* (a NaN roi gives NaN points: they contribute 0 as points outside do) */
                        int valid = !(yy < -1.0 || yy > (double)H || xx < -1.0 || xx > (double)W) && yy == yy &&
                                    xx == xx;
                        int64_t o[4] = {0, 0, 0, 0};
                        double w[4] = {0, 0, 0, 0};
                        if (valid) {
                            double y = yy <= 0 ? 0 : yy, xv = xx <= 0 ? 0 : xx;
                            int64_t y0 = (int64_t)y, x0 = (int64_t)xv, y1i, x1i;
                            if (y0 >= H - 1) y0 = y1i = H - 1, y = (double)y0;
                            else y1i = y0 + 1;
                            if (x0 >= W - 1) x0 = x1i = W - 1, xv = (double)x0;
                            else x1i = x0 + 1;
                            double ly = y - (double)y0, lx = xv - (double)x0, hy = 1 - ly, hx = 1 - lx;
                            o[0] = y0 * W + x0, o[1] = y0 * W + x1i, o[2] = y1i * W + x0, o[3] = y1i * W + x1i;
                            w[0] = hy * hx, w[1] = hy * lx, w[2] = ly * hx, w[3] = ly * lx;
                        }
                        for (int64_t ch = 0; ch < C; ch++) {
                            int64_t xb = (b * C + ch) * H * W;
                            double val = 0;
                            if (valid) {
                                double v[4];
                                for (int j = 0; j < 4; j++)
                                    v[j] = w[j] * (x->dtype == RT_F32 ? (double)((const float *)x->data)[xb + o[j]]
                                                                      : rt_get_f64(x, xb + o[j]));
                                val = is_max ? fmax(fmax(v[0], v[1]), fmax(v[2], v[3])) : v[0] + v[1] + v[2] + v[3];
                            }
                            if (is_max) acc[ch] = any ? fmax(acc[ch], val) : val;
                            else acc[ch] = (any ? acc[ch] : 0) + val;
                        }
                        any = 1;
                    }
                }
                for (int64_t ch = 0; ch < C; ch++)
                    rt_set_f64(out[0], ((r * C + ch) * oh + ph) * ow + pw,
                               !any ? 0.0 : is_max ? acc[ch] : acc[ch] / count);
            }
    }
    rt_scratch_free(c, acc);
    return RT_OK;
}

const RtKernelEntry rt_kernels_sampling[] = {
    {RT_OP_GRID_SAMPLE, k_grid_sample},
    {RT_OP_ROI_ALIGN, k_roi_align},
    {-1, 0},
};
