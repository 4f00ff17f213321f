/*
 * activation.c — reading the fused-activation attributes and the bias + activation pass
 * over a span of float outputs (see activation.h; contract in runtime/kernels/wafer_ops.h).
 *
 * rt_act_span runs one loop per activation kind, each with its kind fixed at compile time,
 * so rt_act_f32's switch folds away and the inner loops stay branch-free and vectorize.
 */
#include <string.h>

#include "activation.h"

int rt_act_read(RtKernelCtx *c, const RtNode *n, RtAct *a) {
    static const struct {
        const char *name;
        RtActKind kind;
        int n_params;     /* how many of alpha, beta the activation takes */
        float alpha, beta;
    } acts[] = {
        {"", RT_ACT_NONE, 0, 0, 0},
        {"Relu", RT_ACT_RELU, 0, 0, 0},
        {"Clip", RT_ACT_CLIP, 2, -INFINITY, INFINITY},
        {"LeakyRelu", RT_ACT_LEAKY_RELU, 1, 0.01f, 0},
        {"Sigmoid", RT_ACT_SIGMOID, 0, 0, 0},
        {"HardSigmoid", RT_ACT_HARD_SIGMOID, 2, 0.2f, 0.5f},
        {"Gelu", RT_ACT_GELU, 0, 0, 0},
        {"GeluTanh", RT_ACT_GELU_TANH, 0, 0, 0},
    };
    const char *s = rt_attr_str(n, "activation", "");
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
        if (strcmp(s, acts[i].name) != 0) continue;
        if (acts[i].n_params < 1 && rt_attr(n, "alpha"))
            return rt_fail(c, "attribute 'alpha' is not used by activation '%s'", s);
        if (acts[i].n_params < 2 && rt_attr(n, "beta"))
            return rt_fail(c, "attribute 'beta' is not used by activation '%s'", s);
        int gelu = acts[i].kind == RT_ACT_GELU || acts[i].kind == RT_ACT_GELU_TANH;
        if (gelu && n->op != RT_OP_LINEAR && n->op != RT_OP_LINEAR_NBITS) {
            rt_fail(c, "activation '%s' is fused into Linear and LinearNBits only, not %s", s, rt_op_name(n->op));
            return RT_ERR_UNSUPPORTED;
        }
        a->kind = acts[i].kind;
        a->alpha = rt_attr_float(n, "alpha", acts[i].alpha);
        a->beta = rt_attr_float(n, "beta", acts[i].beta);
        return RT_OK;
    }
    rt_fail(c, "attribute activation = '%s' is not one of Relu, Clip, LeakyRelu, Sigmoid, HardSigmoid, Gelu, GeluTanh",
            s);
    return RT_ERR_UNSUPPORTED;
}

/* The span loop for one kind K: a local RtAct whose kind is the constant K. */
#define ACT_SPAN_KIND(K)                                                     \
    do {                                                                     \
        const RtAct k = {K, a->alpha, a->beta};                              \
        if (b)                                                               \
            for (int64_t i = 0; i < n; i++) y[i] = rt_act_f32(&k, y[i] + b[i]); \
        else                                                                 \
            for (int64_t i = 0; i < n; i++) y[i] = rt_act_f32(&k, y[i]);     \
    } while (0)

void rt_act_span(const RtAct *a, float *y, int64_t n, const float *b) {
    switch (a->kind) {
    case RT_ACT_NONE: ACT_SPAN_KIND(RT_ACT_NONE); break;
    case RT_ACT_RELU: ACT_SPAN_KIND(RT_ACT_RELU); break;
    case RT_ACT_CLIP: ACT_SPAN_KIND(RT_ACT_CLIP); break;
    case RT_ACT_LEAKY_RELU: ACT_SPAN_KIND(RT_ACT_LEAKY_RELU); break;
    case RT_ACT_SIGMOID: ACT_SPAN_KIND(RT_ACT_SIGMOID); break;
    case RT_ACT_HARD_SIGMOID: ACT_SPAN_KIND(RT_ACT_HARD_SIGMOID); break;
    case RT_ACT_GELU: ACT_SPAN_KIND(RT_ACT_GELU); break;
    case RT_ACT_GELU_TANH: ACT_SPAN_KIND(RT_ACT_GELU_TANH); break;
    }
}
