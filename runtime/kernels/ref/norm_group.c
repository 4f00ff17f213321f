/*
 * norm_group.c — GroupNormalization (opsets 18 and 21).
 *
 * X [N, C, spatial...] (rank >= 2); the C channels form num_groups groups of C / num_groups
 * consecutive channels. For each (n, group) the mean and the (biased) variance are taken
 * over the group's channels and all spatial positions, then
 *     y = (x - mean) / sqrt(var + epsilon) * scale + bias          epsilon default 1e-5
 * Opset 18 has one scale and bias per group ([num_groups]); opset 21 changed them to one
 * per channel ([C]) — the 18 form was a spec error, but models written at 18 carry it, so
 * each opset is read as written. stash_type (21; default float) is the type the spec's
 * function body normalizes in: (x - mean) / sqrt(var + epsilon) is computed there and cast
 * back to X's type before scale and bias. wafer takes the statistics in double and rounds
 * the normalized value to the stash type (so a float64 model with the default float stash
 * gets float-rounded normalized values, as the spec's body and onnxruntime give); the float32
 * path with a float stash skips that rounding, a difference of one float rounding.
 */
#include <math.h>

#include "../kernel.h"

/* v rounded to the stash type (float64: unchanged) */
static double gn_stash_round(double v, int64_t stash) {
    switch (stash) {
    case RT_F32: return (double)(float)v;
    case RT_F16: return (double)rt_f16_to_f32(rt_f32_to_f16((float)v));
    case RT_BF16: return (double)rt_bf16_to_f32(rt_f32_to_bf16((float)v));
    default: return v;
    }
}

/* The float32 case with typed pointers (the generic loop below reads every element through
 * rt_get_f64): the same two passes per group in double. */
static void gn_f32(const float *x, const float *scale, const float *bias, float *y, int64_t N, int64_t C, int64_t G,
                   int64_t S, double eps, int per_channel) {
    int64_t cg = C / G, len = cg * S;
    for (int64_t b = 0; b < N; b++)
        for (int64_t g = 0; g < G; g++) {
            const float *xs = x + (b * C + g * cg) * S;
            float *ys = y + (b * C + g * cg) * S;
            double mean = 0, var = 0;
            for (int64_t j = 0; j < len; j++) mean += xs[j];
            mean /= (double)(len ? len : 1);
            for (int64_t j = 0; j < len; j++) var += ((double)xs[j] - mean) * ((double)xs[j] - mean);
            var /= (double)(len ? len : 1);
            double inv = 1.0 / sqrt(var + eps);
            for (int64_t ch = 0; ch < cg; ch++) {
                int64_t k = per_channel ? g * cg + ch : g;
                /* y = x * a + b' with a = inv * scale, b' = bias - mean * a, in double */
                double a = inv * scale[k], bb = bias[k] - mean * a;
                for (int64_t j = 0; j < S; j++) ys[ch * S + j] = (float)(xs[ch * S + j] * a + bb);
            }
        }
}

static int k_group_norm(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0), *scale = rt_in(n, in, 1), *bias = rt_in(n, in, 2);
    if (!x || !scale || !bias) return rt_fail(c, "inputs X, scale and bias are required");
    if (!rt_dtype_is_float(x->dtype) || !rt_dtype_is_float(scale->dtype) || !rt_dtype_is_float(bias->dtype)) {
        rt_fail(c, "inputs X (%s), scale (%s), bias (%s) must be float types", rt_dtype_name(x->dtype),
                rt_dtype_name(scale->dtype), rt_dtype_name(bias->dtype));
        return RT_ERR_UNSUPPORTED;
    }
    if (x->rank < 2) return rt_fail(c, "input X must have rank >= 2 ([N, C, ...]), got %d", x->rank);
    const RtAttr *ga = rt_attr(n, "num_groups");
    if (!ga) return rt_fail(c, "attribute num_groups is required");
    int64_t G = ga->i, C = x->dims[1];
    if (G < 1 || C % G != 0)
        return rt_fail(c, "attribute num_groups = %lld must divide the %lld channels of X", (long long)G, (long long)C);
    int64_t stash = rt_attr_int(n, "stash_type", RT_F32);
    if (stash <= 0 || stash >= RT_DTYPE_END || !rt_dtype_is_float((RtDtype)stash))
        return rt_fail(c, "attribute stash_type = %lld is not a float type", (long long)stash);
    int per_channel = n->opset <= 0 || n->opset >= 21;
    if (!per_channel) stash = RT_F64; /* opset 18 has no stash_type: its body works in X's type */
    int64_t want = per_channel ? C : G;
    if (scale->rank != 1 || scale->dims[0] != want || bias->rank != 1 || bias->dims[0] != want)
        return rt_fail(c, "scale and bias must be [%lld] (one per %s in opset %d), got rank %d / %d", (long long)want,
                       per_channel ? "channel" : "group", n->opset, scale->rank, bias->rank);
    double eps = rt_attr_float(n, "epsilon", 1e-5f);
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, x->rank, x->dims));
    int64_t S = rt_shape_numel(x->rank - 2, x->dims + 2), cg = C / G, len = cg * S;
    if (x->dtype == RT_F32 && scale->dtype == RT_F32 && bias->dtype == RT_F32) {
        gn_f32(x->data, scale->data, bias->data, out[0]->data, x->dims[0], C, G, S, eps, per_channel);
        return RT_OK;
    }
    for (int64_t b = 0; b < x->dims[0]; b++)
        for (int64_t g = 0; g < G; g++) {
            int64_t base = (b * C + g * cg) * S;
            double mean = 0, var = 0;
            for (int64_t j = 0; j < len; j++) mean += rt_get_f64(x, base + j);
            mean /= (double)(len ? len : 1);
            for (int64_t j = 0; j < len; j++) {
                double d = rt_get_f64(x, base + j) - mean;
                var += d * d;
            }
            var /= (double)(len ? len : 1);
            double inv = 1.0 / sqrt(var + eps);
            for (int64_t ch = 0; ch < cg; ch++) {
                int64_t k = per_channel ? g * cg + ch : g;
                double s = rt_get_f64(scale, k), bb = rt_get_f64(bias, k);
                for (int64_t j = 0; j < S; j++) {
                    int64_t i = base + ch * S + j;
                    rt_set_f64(out[0], i, gn_stash_round((rt_get_f64(x, i) - mean) * inv, stash) * s + bb);
                }
            }
        }
    return RT_OK;
}

const RtKernelEntry rt_kernels_norm_group[] = {
    {RT_OP_GROUP_NORMALIZATION, k_group_norm},
    {-1, 0},
};
