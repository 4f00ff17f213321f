/*
 * qlinear_contrib.h — checks and arithmetic shared by the reference kernels of onnxruntime's
 * quantized contrib ops (qlinear_contrib*.c): per-tensor scales and zero points as the
 * kernels of onnxruntime/contrib_ops/cpu/quantization read them, and its requantization.
 *
 * Requantization in onnxruntime's CPU kernels (MlasRequantizeOutput, the lookup tables of
 * QLinearLeakyRelu/Sigmoid, Quantize): a float32 product, rounded half to even, plus the zero
 * point, clamped to the output type:   y = clamp(nearbyint(float(acc) * scale) + zp)
 * qlc_requant() is that, with the product in float32 so the ties fall where onnxruntime's do.
 */
#ifndef WAFER_RT_QLINEAR_CONTRIB_H
#define WAFER_RT_QLINEAR_CONTRIB_H

#include <math.h>

#include "../quant.h"

static inline int qlc_is_q8(RtDtype t) { return t == RT_I8 || t == RT_U8; }

/* A float32 scale of one element (scalar or [1]): finite and > 0. In shape mode (no data)
 * *v is 1. */
static inline int qlc_scale(RtKernelCtx *c, const RtTensor *t, const char *what, float *v) {
    if (!t) return rt_fail(c, "input %s is required", what);
    if (t->dtype != RT_F32 || rt_numel(t) != 1 || t->rank > 1)
        return rt_fail(c, "%s must be one float32 value (a scalar or [1])", what);
    *v = t->data ? ((const float *)t->data)[0] : 1.0f;
    if (!(*v > 0.0f) || isinf(*v)) return rt_fail(c, "%s = %g must be a positive finite number", what, (double)*v);
    return RT_OK;
}

/* A zero point of one element with the dtype of the tensor it belongs to (NULL allowed when
 * optional: it then counts as 0). */
static inline int qlc_zero_point(RtKernelCtx *c, const RtTensor *z, RtDtype t, const char *what, int required) {
    if (!z) return required ? rt_fail(c, "input %s is required", what) : RT_OK;
    if (z->dtype != t)
        return rt_fail(c, "%s has dtype %s but its tensor is %s; they must be the same", what,
                       rt_dtype_name(z->dtype), rt_dtype_name(t));
    if (rt_numel(z) != 1 || z->rank > 1) return rt_fail(c, "%s must be one value (a scalar or [1])", what);
    return RT_OK;
}

/* A quantized data input: int8 or uint8. */
static inline int qlc_q8_input(RtKernelCtx *c, const RtTensor *x, const char *what) {
    if (!x) return rt_fail(c, "input %s is required", what);
    if (!qlc_is_q8(x->dtype)) {
        rt_fail(c, "input %s has dtype %s; supported: int8, uint8", what, rt_dtype_name(x->dtype));
        return RT_ERR_UNSUPPORTED;
    }
    return RT_OK;
}

/* clamp(nearbyint(v) + zp, lo, hi) for a float32 v (NaN -> zp). */
static inline int32_t qlc_round(float v, int32_t zp, int32_t lo, int32_t hi) {
    return rt_round_sat((double)v, zp, lo, hi);
}

/* One requantized value: clamp(nearbyint(float(acc) * scale) + zp, lo, hi). */
static inline int32_t qlc_requant(int32_t acc, float scale, int32_t zp, int32_t lo, int32_t hi) {
    return qlc_round((float)acc * scale, zp, lo, hi);
}

/* dst = src with the axes [N, C, S] <-> [N, S, C] swapped (to_nchw: src is [N, S, C]). */
typedef void (*RtQ8Relayout)(const uint8_t *src, uint8_t *dst, int64_t N, int64_t C, int64_t S, int to_nchw);
void rt_q8_relayout(const uint8_t *src, uint8_t *dst, int64_t N, int64_t C, int64_t S, int to_nchw);

/* com.microsoft QLinearConv (channels_last) through the ONNX QLinearConv kernel: the reference
 * one (fast = 0) or the optimized one, the layout changed by `relayout`
 * (qlinear_contrib_conv.c). */
int rt_ms_qlinear_conv(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out, int fast,
                       RtQ8Relayout relayout);

#endif
