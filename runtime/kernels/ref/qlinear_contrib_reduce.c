/*
 * qlinear_contrib_reduce.c — com.microsoft QLinearSoftmax and QLinearReduceMean, the
 * quantized ops of onnxruntime's contrib set that reduce along axes.
 *
 * QLinearSoftmax(X, X_scale, x_zp?, y_scale, y_zp)   attributes axis, opset (the ONNX Softmax
 *   opset the node was made from: below 13 softmax runs over the flattened axes [axis, rank),
 *   from 13 over the one axis; axis defaults to -1 either way, the schema's default, which
 *   onnxruntime's kernel receives when the attribute is absent). onnxruntime's arithmetic
 *   (contrib_ops/cpu/quantization/qlinear_softmax.cc), which depends on x_scale only (the
 *   input zero point cancels out of a softmax):
 *     shift = max(0, ln(FLT_MAX / D) - 5) / x_scale                  (D = reduced length)
 *     e[d]  = float(exp((d + shift) * x_scale)),  d = x - max(row) in [-255, 0]   (double)
 *     sum   = sum of e over the row, in float32, in order
 *     y     = clamp(nearbyint(e * floor(1 / y_scale) / sum) + y_zp)             float32
 *   so y_scale is in effect 1 / floor(1 / y_scale) (1/256 in the models onnxruntime writes).
 *
 * QLinearReduceMean(data, data_scale, data_zp?, reduced_scale, reduced_zp?)   attributes axes
 *   (required), keepdims (required): the spec's quantize(mean(dequantize(data))):
 *     y = clamp(nearbyint(data_scale * S / n / reduced_scale) + reduced_zp),
 *     S = the exact integer sum of (x - data_zp) over the reduced elements, n their count,
 *   the real value computed in double (onnxruntime's CPU provider has no kernel to follow).
 */
#include <float.h>
#include <string.h>

#include "qlinear_contrib.h"

/* ---------------------------------------------------------------- QLinearSoftmax */

/* e[255 + d] for d in [-255, 0], as onnxruntime's table (indexed by x - max + 255). */
static void qsm_table(float *e, float xs, int64_t D) {
    double shift = log((double)(FLT_MAX / (float)D));
    shift = (shift - 5.0 > 0.0 ? shift - 5.0 : 0.0) / (double)xs;
    for (int i = 0; i < 256; i++) e[i] = (float)exp(((double)i - 255.0 + shift) * (double)xs);
}

static int k_qlinear_softmax(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0), *yz = rt_in(n, in, 4);
    float xs = 1, ys = 1;
    RT_TRY(qlc_q8_input(c, x, "X"));
    RT_TRY(qlc_scale(c, rt_in(n, in, 1), "X_scale", &xs));
    RT_TRY(qlc_zero_point(c, rt_in(n, in, 2), x->dtype, "x_zero_point", 0));
    RT_TRY(qlc_scale(c, rt_in(n, in, 3), "y_scale", &ys));
    RT_TRY(qlc_zero_point(c, yz, x->dtype, "y_zero_point", 1));
    if (!rt_attr(n, "opset")) return rt_fail(c, "attribute opset is required");
    int64_t opset = rt_attr_int(n, "opset", 13);
    if (x->rank < 1) return rt_fail(c, "input X must have rank >= 1");
    int ax = rt_axis(c, rt_attr_int(n, "axis", -1), x->rank, "axis");
    if (ax < 0) return RT_ERR;
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, x->rank, x->dims));
    /* rows of D elements, element j of a row at stride `inner` */
    int64_t D, inner, outer;
    if (opset < 13) {
        D = rt_shape_numel(x->rank - ax, x->dims + ax), inner = 1;
    } else {
        D = x->dims[ax], inner = rt_shape_numel(x->rank - ax - 1, x->dims + ax + 1);
    }
    outer = D > 0 ? rt_numel(x) / D : 0;
    if (D == 0) return RT_OK;
    float e[256], yscale = floorf(1.0f / ys);
    qsm_table(e, xs, D);
    int32_t zy = rt_qget(yz, 0), lo, hi;
    rt_qrange(x->dtype, &lo, &hi);
    for (int64_t r = 0; r < outer; r++) {
        int64_t base = (r / inner) * D * inner + r % inner;
        int32_t mx = lo;
        for (int64_t j = 0; j < D; j++) {
            int32_t v = rt_qget(x, base + j * inner);
            if (v > mx) mx = v;
        }
        float sum = 0.0f;
        for (int64_t j = 0; j < D; j++) sum += e[255 + rt_qget(x, base + j * inner) - mx];
        for (int64_t j = 0; j < D; j++) {
            float v = e[255 + rt_qget(x, base + j * inner) - mx];
            rt_qset(out[0], base + j * inner, qlc_round(v * yscale / sum, zy, lo, hi));
        }
    }
    return RT_OK;
}

/* ---------------------------------------------------------------- QLinearReduceMean */

static int k_qlinear_reduce_mean(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0), *xz = rt_in(n, in, 2), *yz = rt_in(n, in, 4);
    float xs = 1, ys = 1;
    RT_TRY(qlc_q8_input(c, x, "data"));
    RT_TRY(qlc_scale(c, rt_in(n, in, 1), "data_scale", &xs));
    RT_TRY(qlc_zero_point(c, xz, x->dtype, "data_zero_point", 0));
    RT_TRY(qlc_scale(c, rt_in(n, in, 3), "reduced_scale", &ys));
    RT_TRY(qlc_zero_point(c, yz, x->dtype, "reduced_zero_point", 0));
    const int64_t *axes;
    int na = rt_attr_ints(n, "axes", &axes);
    if (na < 0) return rt_fail(c, "attribute axes is required");
    if (!rt_attr(n, "keepdims")) return rt_fail(c, "attribute keepdims is required");
    int keep = rt_attr_int(n, "keepdims", 1) != 0;
    unsigned char red[RT_MAX_RANK] = {0};
    for (int i = 0; i < na; i++) {
        int a = rt_axis(c, axes[i], x->rank, "axes");
        if (a < 0) return RT_ERR;
        if (red[a]) return rt_fail(c, "axis %lld appears twice in axes", (long long)axes[i]);
        red[a] = 1;
    }
    int64_t dims[RT_MAX_RANK], full[RT_MAX_RANK];
    int rank = 0;
    for (int d = 0; d < x->rank; d++) {
        full[d] = red[d] ? 1 : x->dims[d];
        if (!red[d] || keep) dims[rank++] = full[d];
    }
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, rank, dims));
    int64_t total = rt_numel(x), ny = rt_shape_numel(x->rank, full), cnt = ny > 0 ? total / ny : 0;
    int64_t *sum = rt_scratch(c, sizeof(int64_t) * (size_t)(ny > 0 ? ny : 1));
    if (!sum) return RT_ERR_NOMEM;
    memset(sum, 0, sizeof(int64_t) * (size_t)ny);
    int64_t idx[RT_MAX_RANK] = {0};
    int32_t zx = rt_qget(xz, 0), zy = rt_qget(yz, 0), lo, hi;
    for (int64_t i = 0; i < total; i++) {
        int64_t o = 0; /* the output element of x's element idx */
        for (int d = 0; d < x->rank; d++) o = o * full[d] + (red[d] ? 0 : idx[d]);
        sum[o] += rt_qget(x, i) - zx;
        for (int d = x->rank - 1; d >= 0; d--) {
            if (++idx[d] < x->dims[d]) break;
            idx[d] = 0;
        }
    }
    rt_qrange(x->dtype, &lo, &hi);
    for (int64_t o = 0; o < ny; o++)
        rt_qset(out[0], o,
                rt_round_sat(cnt > 0 ? (double)xs * (double)sum[o] / (double)cnt / (double)ys : 0.0, zy, lo, hi));
    rt_scratch_free(c, sum);
    return RT_OK;
}

const RtKernelEntry rt_kernels_qlinear_contrib_reduce[] = {
    {RT_OP_QLINEAR_SOFTMAX, k_qlinear_softmax},
    {RT_OP_QLINEAR_REDUCE_MEAN, k_qlinear_reduce_mean},
    {-1, 0},
};
