/*
 * activation.h — the activation wafer's fused ops apply after their bias (FusedConv and
 * Linear in fused.c, LinearNBits in nbits.c; contract in runtime/kernels/wafer_ops.h).
 * Private to runtime/kernels (nbits.h embeds RtAct in RtNbitsLinear).
 *
 * Attributes: `activation` ("" or absent = none, "Relu", "Clip", "LeakyRelu", "Sigmoid",
 * "HardSigmoid", "Gelu", "GeluTanh"), `alpha`, `beta`. Defaults when absent are the ONNX op's:
 * Clip alpha -inf, beta +inf; LeakyRelu alpha 0.01; HardSigmoid alpha 0.2, beta 0.5. alpha/beta
 * on an activation that takes none are an error (never silently ignored). Gelu (ONNX Gelu,
 * approximate "none") and GeluTanh (approximate "tanh") are read only on Linear and LinearNBits
 * (the kernels fusing them); FusedConv refuses them. Element formulas match the unfused
 * kernels in unary.c (same NaN behaviour, same overflow-free sigmoid, Gelu through erff /
 * tanhf in float exactly as unary.c's gelu_f32).
 */
#ifndef WAFER_RT_ACTIVATION_H
#define WAFER_RT_ACTIVATION_H

#include <math.h>

#include "../kernel.h"

typedef enum {
    RT_ACT_NONE, RT_ACT_RELU, RT_ACT_CLIP, RT_ACT_LEAKY_RELU, RT_ACT_SIGMOID, RT_ACT_HARD_SIGMOID,
    RT_ACT_GELU,        /* 0.5 x (1 + erf(x / sqrt 2)): ONNX Gelu, approximate "none" */
    RT_ACT_GELU_TANH    /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): approximate "tanh" */
} RtActKind;

typedef struct {
    RtActKind kind;
    float alpha, beta;   /* Clip bounds, LeakyRelu slope, HardSigmoid alpha * x + beta */
} RtAct;

/* Reads n's activation attributes into *a. Returns RT_OK, RT_ERR (alpha/beta the activation
 * does not take) or RT_ERR_UNSUPPORTED (an unknown name), with the message set in c. */
int rt_act_read(RtKernelCtx *c, const RtNode *n, RtAct *a);

/* y[i] = act(y[i] + b[i]) for i < n (b may be NULL): the bias added first, then the
 * activation, in float. */
void rt_act_span(const RtAct *a, float *y, int64_t n, const float *b);

static inline float rt_act_clip_f32(float v, float lo, float hi) {
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

static inline float rt_act_sigmoid_f32(float v) {
    if (v >= 0) return 1.0f / (1.0f + expf(-v));
    float e = expf(v); /* v < 0: e in (0, 1), no overflow */
    return e / (1.0f + e);
}

#define RT_ACT_SQRT1_2 0.70710678118654752440   /* 1/sqrt(2), Gelu */
#define RT_ACT_SQRT_2_PI 0.79788456080286535588 /* sqrt(2/pi), Gelu's tanh approximation */

/* unary.c's gelu_f32, operation for operation (the reference Gelu's bits) */
static inline float rt_act_gelu_f32(float v, int tanh_approx) {
    if (tanh_approx)
        return 0.5f * v * (1.0f + tanhf((float)RT_ACT_SQRT_2_PI * (v + 0.044715f * v * v * v)));
    return 0.5f * v * (1.0f + erff(v * (float)RT_ACT_SQRT1_2));
}

/* act(v) in float. */
static inline float rt_act_f32(const RtAct *a, float v) {
    switch (a->kind) {
    case RT_ACT_NONE: return v;
    case RT_ACT_RELU: return v < 0 ? 0.0f : v;
    case RT_ACT_CLIP: return rt_act_clip_f32(v, a->alpha, a->beta);
    case RT_ACT_LEAKY_RELU: return v < 0 ? a->alpha * v : v;
    case RT_ACT_SIGMOID: return rt_act_sigmoid_f32(v);
    case RT_ACT_HARD_SIGMOID: return rt_act_clip_f32(a->alpha * v + a->beta, 0.0f, 1.0f);
    case RT_ACT_GELU: return rt_act_gelu_f32(v, 0);
    case RT_ACT_GELU_TANH: return rt_act_gelu_f32(v, 1);
    }
    return v;
}

/* act(v) in double, for FusedConv's float dtypes other than float32. */
static inline double rt_act_f64(const RtAct *a, double v) {
    switch (a->kind) {
    case RT_ACT_NONE: return v;
    case RT_ACT_RELU: return v < 0 ? 0.0 : v;
    case RT_ACT_CLIP: v = v < a->alpha ? a->alpha : v; return v > a->beta ? a->beta : v;
    case RT_ACT_LEAKY_RELU: return v < 0 ? (double)a->alpha * v : v;
    case RT_ACT_SIGMOID: return v >= 0 ? 1.0 / (1.0 + exp(-v)) : exp(v) / (1.0 + exp(v));
    case RT_ACT_HARD_SIGMOID: v = (double)a->alpha * v + (double)a->beta; return v < 0 ? 0.0 : v > 1 ? 1.0 : v;
    case RT_ACT_GELU: return 0.5 * v * (1.0 + erf(v * RT_ACT_SQRT1_2));
    case RT_ACT_GELU_TANH: return 0.5 * v * (1.0 + tanh(RT_ACT_SQRT_2_PI * (v + 0.044715 * v * v * v)));
    }
    return v;
}

#endif
