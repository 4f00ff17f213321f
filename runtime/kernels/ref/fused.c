/*
 * fused.c — wafer's fused float ops (contract in runtime/kernels/wafer_ops.h):
 *   FusedConv(X, W, B?) = act(Conv(X, W, B))
 *   Linear(X[..., K], W[K, N], B[N]?) = act(X @ W + B) -> Y[..., N]
 *
 * FusedConv runs the Conv kernel itself (rt_conv_run, so every Conv option and dtype works
 * the same) and then applies the activation in place over the output. Linear views X as
 * [rows, K] (rows = product of the leading dims), does one rt_sgemm with W, then adds the
 * bias and applies the activation in one pass over each output row. Linear is float32 only:
 * the fusion passes create it only on float32 graphs.
 *
 * Activation attributes: `activation` ("" = none, "Relu", "Clip", "LeakyRelu", "Sigmoid",
 * "HardSigmoid"), `alpha`, `beta`. Defaults when absent are the ONNX op's: Clip alpha -inf,
 * beta +inf; LeakyRelu alpha 0.01; HardSigmoid alpha 0.2, beta 0.5. alpha/beta on an
 * activation that takes none are an error (never silently ignored). Element formulas match
 * the unfused kernels in unary.c (same NaN behaviour, same overflow-free sigmoid).
 */
#include <math.h>
#include <string.h>

#include "../gemm.h"
#include "conv_impl.h"

typedef enum { ACT_NONE, ACT_RELU, ACT_CLIP, ACT_LEAKY_RELU, ACT_SIGMOID, ACT_HARD_SIGMOID } ActKind;

typedef struct {
    ActKind kind;
    float alpha, beta;   /* Clip bounds, LeakyRelu slope, HardSigmoid alpha * x + beta */
} Act;

static int act_read(RtKernelCtx *c, const RtNode *n, Act *a) {
    static const struct {
        const char *name;
        ActKind kind;
        int n_params;     /* how many of alpha, beta the activation takes */
        float alpha, beta;
    } acts[] = {
        {"", ACT_NONE, 0, 0, 0},
        {"Relu", ACT_RELU, 0, 0, 0},
        {"Clip", ACT_CLIP, 2, -INFINITY, INFINITY},
        {"LeakyRelu", ACT_LEAKY_RELU, 1, 0.01f, 0},
        {"Sigmoid", ACT_SIGMOID, 0, 0, 0},
        {"HardSigmoid", ACT_HARD_SIGMOID, 2, 0.2f, 0.5f},
    };
    const char *s = rt_attr_str(n, "activation", "");
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
        if (strcmp(s, acts[i].name) != 0) continue;
        if (acts[i].n_params < 1 && rt_attr(n, "alpha"))
            return rt_fail(c, "attribute 'alpha' is not used by activation '%s'", s);
        if (acts[i].n_params < 2 && rt_attr(n, "beta"))
            return rt_fail(c, "attribute 'beta' is not used by activation '%s'", s);
        a->kind = acts[i].kind;
        a->alpha = rt_attr_float(n, "alpha", acts[i].alpha);
        a->beta = rt_attr_float(n, "beta", acts[i].beta);
        return RT_OK;
    }
    rt_fail(c, "attribute activation = '%s' is not one of Relu, Clip, LeakyRelu, Sigmoid, HardSigmoid", s);
    return RT_ERR_UNSUPPORTED;
}

static inline float sigmoid_f32(float v) {
    if (v >= 0) return 1.0f / (1.0f + expf(-v));
    float e = expf(v); /* v < 0: e in (0, 1), no overflow */
    return e / (1.0f + e);
}

static inline float clip_f32(float v, float lo, float hi) {
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

/* y[i] = act(y[i] + b[i]) for i < n (b may be NULL). One loop per activation, so the inner
 * loops stay branch-free and vectorize. */
#define ACT_LOOP(EXPR)                                        \
    do {                                                      \
        if (b)                                                \
            for (int64_t i = 0; i < n; i++) {                 \
                float v = y[i] + b[i];                        \
                y[i] = (EXPR);                                \
            }                                                 \
        else                                                  \
            for (int64_t i = 0; i < n; i++) {                 \
                float v = y[i];                               \
                y[i] = (EXPR);                                \
            }                                                 \
    } while (0)

static void act_span_f32(const Act *a, float *y, int64_t n, const float *b) {
    const float alpha = a->alpha, beta = a->beta;
    switch (a->kind) {
    case ACT_NONE: ACT_LOOP(v); break;
    case ACT_RELU: ACT_LOOP(v < 0 ? 0.0f : v); break;
    case ACT_CLIP: ACT_LOOP(clip_f32(v, alpha, beta)); break;
    case ACT_LEAKY_RELU: ACT_LOOP(v < 0 ? alpha * v : v); break;
    case ACT_SIGMOID: ACT_LOOP(sigmoid_f32(v)); break;
    case ACT_HARD_SIGMOID: ACT_LOOP(clip_f32(alpha * v + beta, 0.0f, 1.0f)); break;
    }
}

/* The same in double, element by element, for FusedConv's other float dtypes. */
static double act_f64(const Act *a, double v) {
    switch (a->kind) {
    case ACT_NONE: return v;
    case ACT_RELU: return v < 0 ? 0.0 : v;
    case ACT_CLIP: v = v < a->alpha ? a->alpha : v; return v > a->beta ? a->beta : v;
    case ACT_LEAKY_RELU: return v < 0 ? (double)a->alpha * v : v;
    case ACT_SIGMOID: return v >= 0 ? 1.0 / (1.0 + exp(-v)) : exp(v) / (1.0 + exp(v));
    case ACT_HARD_SIGMOID: v = (double)a->alpha * v + (double)a->beta; return v < 0 ? 0.0 : v > 1 ? 1.0 : v;
    }
    return v;
}

/* ---- FusedConv ---- */

static int k_fused_conv(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    Act a;
    RT_TRY(act_read(c, n, &a));
    RT_TRY(rt_conv_run(c, n, in, out)); /* RT_SHAPE_ONLY returns here too */
    RtTensor *y = out[0];
    int64_t total = rt_numel(y);
    if (a.kind == ACT_NONE) return RT_OK;
    if (y->dtype == RT_F32) {
        act_span_f32(&a, y->data, total, NULL);
        return RT_OK;
    }
    for (int64_t i = 0; i < total; i++) rt_set_f64(y, i, act_f64(&a, rt_get_f64(y, i)));
    return RT_OK;
}

/* ---- Linear ---- */

static int linear_check(RtKernelCtx *c, const RtTensor *x, const RtTensor *w, const RtTensor *b) {
    char sx[128], sw[128];
    if (!x || !w) return rt_fail(c, "inputs X and W are required");
    if (x->dtype != RT_F32 || w->dtype != RT_F32 || (b && b->dtype != RT_F32)) {
        rt_fail(c, "Linear supports float32 only (X %s, W %s%s%s)", rt_dtype_name(x->dtype),
                rt_dtype_name(w->dtype), b ? ", B " : "", b ? rt_dtype_name(b->dtype) : "");
        return RT_ERR_UNSUPPORTED;
    }
    if (x->rank < 1) return rt_fail(c, "input X must have rank >= 1, got a scalar");
    if (w->rank != 2 || w->dims[0] != x->dims[x->rank - 1])
        return rt_fail(c, "weight W %s must be [K, N] with K = the last dim of X %s",
                       rt_shape_str(w->rank, w->dims, sw, sizeof sw),
                       rt_shape_str(x->rank, x->dims, sx, sizeof sx));
    if (b && (b->rank != 1 || b->dims[0] != w->dims[1]))
        return rt_fail(c, "bias B %s must be [N] = [%lld]", rt_shape_str(b->rank, b->dims, sx, sizeof sx),
                       (long long)w->dims[1]);
    return RT_OK;
}

static int k_linear(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0), *w = rt_in(n, in, 1), *b = rt_in(n, in, 2);
    Act a;
    RT_TRY(act_read(c, n, &a));
    RT_TRY(linear_check(c, x, w, b));
    const int64_t K = w->dims[0], N = w->dims[1];
    int64_t dims[RT_MAX_RANK];
    int64_t rows = 1;
    for (int i = 0; i < x->rank - 1; i++) rows *= dims[i] = x->dims[i];
    dims[x->rank - 1] = N;
    if (rows > INT32_MAX || K > INT32_MAX || N > INT32_MAX) /* rt_sgemm takes int sizes */
        return rt_fail(c, "Linear of %lld rows, K = %lld, N = %lld exceeds the GEMM's int range",
                       (long long)rows, (long long)K, (long long)N);
    RT_TRY(rt_out_alloc(c, out[0], RT_F32, x->rank, dims));
    float *y = out[0]->data;
    const float *bias = b ? b->data : NULL;
    if (rows == 0 || N == 0) return RT_OK;
    if (K == 0)
        memset(y, 0, sizeof(float) * (size_t)(rows * N));
    else
        rt_sgemm(0, 0, (int)rows, (int)N, (int)K, 1.0f, x->data, (int)K, w->data, (int)N, 0.0f, y, (int)N);
    if (a.kind == ACT_NONE && !bias) return RT_OK;
    for (int64_t r = 0; r < rows; r++) act_span_f32(&a, y + r * N, N, bias);
    return RT_OK;
}

const RtKernelEntry rt_kernels_fused[] = {
    {RT_OP_FUSED_CONV, k_fused_conv},
    {RT_OP_LINEAR, k_linear},
    {-1, 0},
};
