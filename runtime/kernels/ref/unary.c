/*
 * unary.c — reference kernels for the element-wise unary ops: math and activations
 * (Abs … ThresholdedRelu, Swish), Clip, the predicates Not/IsNaN/IsInf, Cast/CastLike and BitCast.
 *
 * Float ops are one table, UNARY_FLOAT_OPS: each row gives the op's float32 and float64
 * expression of the element v (and the attributes p), and the table expands into one
 * tight loop per op and dtype. float16 and bfloat16 are widened to float32 in blocks of
 * EW_CHUNK, run through the float32 loop and rounded back (nearest even). The few ops the
 * spec also defines on integers (Abs, Neg, Sign, Relu, Erf, Clip) compute in int64 or uint64
 * and narrow back with wrap-around, as numpy does (Abs(int8 -128) = -128). Large tensors
 * are split into ranges of elements run on the pool's threads (c->pool, rt_threads.h).
 *
 * Numerics: Sigmoid and Softplus are written so no exp() overflows for large |x|; Elu, Selu
 * and Celu use expm1 for accuracy near 0; Round is nearbyint under the default rounding
 * mode, i.e. half to even.
 *
 * Cast converts through the widest type of the source's kind (double, int64 or uint64).
 * float -> integer truncates toward zero; values outside the target's range (undefined in
 * C, unspecified by ONNX) saturate to its limits and NaN becomes 0. integer -> integer
 * wraps modulo 2^bits (C and numpy). double -> float16/bfloat16 rounds once: it goes through
 * float32 rounded to odd, which keeps the final round-to-nearest-even exact. Cast to the
 * sub-byte integers (int4 / uint4 / int2 / uint2, held widened in int8 / uint8) follows ONNX's
 * int4 note instead: round half to even, then keep the low bits. BitCast (opset 26) copies
 * the bytes between types of one width, or the low bits between int4 and uint4 (2-bit too).
 */
#include "elementwise.h"
#include "../quant.h"
#include "../../rt_threads.h"

#include <float.h>
#include <math.h>
#include <string.h>

#define SQRT1_2 0.70710678118654752440  /* 1/sqrt(2), Gelu */
#define SQRT_2_PI 0.79788456080286535588 /* sqrt(2/pi), Gelu's tanh approximation */

/* Attributes of the op being run, with the spec's defaults filled in. */
typedef struct {
    float alpha, beta, gamma;  /* LeakyRelu, Elu, Selu, Celu, HardSigmoid, ThresholdedRelu */
    int gelu_tanh;             /* Gelu approximate="tanh" */
    float lo, hi;              /* Clip bounds for float16/bfloat16/float32 */
    double lo_d, hi_d;         /* Clip bounds for float64 */
    int64_t lo_i, hi_i;        /* Clip bounds for signed integers */
    uint64_t lo_u, hi_u;       /* Clip bounds for unsigned integers */
} UnaryParams;

/* ---- float helpers (float32 and float64 twins) ---- */

static inline float sigmoid_f32(float v) {
    if (v >= 0) return 1.0f / (1.0f + expf(-v));
    float e = expf(v); /* v < 0: e in (0, 1), no overflow */
    return e / (1.0f + e);
}
static inline double sigmoid_f64(double v) {
    if (v >= 0) return 1.0 / (1.0 + exp(-v));
    double e = exp(v);
    return e / (1.0 + e);
}

/* log(1 + e^v) = max(v, 0) + log1p(e^-|v|) */
static inline float softplus_f32(float v) {
    return v > 0 ? v + log1pf(expf(-v)) : log1pf(expf(v));
}
static inline double softplus_f64(double v) {
    return v > 0 ? v + log1p(exp(-v)) : log1p(exp(v));
}

static inline float gelu_f32(float v, int tanh_approx) {
    if (tanh_approx)
        return 0.5f * v * (1.0f + tanhf((float)SQRT_2_PI * (v + 0.044715f * v * v * v)));
    return 0.5f * v * (1.0f + erff(v * (float)SQRT1_2));
}
static inline double gelu_f64(double v, int tanh_approx) {
    if (tanh_approx) return 0.5 * v * (1.0 + tanh(SQRT_2_PI * (v + 0.044715 * v * v * v)));
    return 0.5 * v * (1.0 + erf(v * SQRT1_2));
}

/* NaN stays NaN (numpy); +-0 -> 0. */
static inline float sign_f32(float v) { return v > 0 ? 1.0f : v < 0 ? -1.0f : v == 0 ? 0.0f : v; }
static inline double sign_f64(double v) { return v > 0 ? 1.0 : v < 0 ? -1.0 : v == 0 ? 0.0 : v; }

/* min(max(v, lo), hi): NaN passes through; lo > hi gives hi everywhere (spec). */
static inline float clip_f32(float v, float lo, float hi) {
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}
static inline double clip_f64(double v, double lo, double hi) {
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

/* op, float32 expression, float64 expression — of the element v and the params p. */
#define UNARY_FLOAT_OPS(X)                                                                   \
    X(ABS, fabsf(v), fabs(v))                                                                \
    X(NEG, -v, -v)                                                                           \
    X(FLOOR, floorf(v), floor(v))                                                            \
    X(CEIL, ceilf(v), ceil(v))                                                               \
    X(ROUND, nearbyintf(v), nearbyint(v))                                                    \
    X(SQRT, sqrtf(v), sqrt(v))                                                               \
    X(EXP, expf(v), exp(v))                                                                  \
    X(LOG, logf(v), log(v))                                                                  \
    X(RECIPROCAL, 1.0f / v, 1.0 / v)                                                         \
    X(SIGN, sign_f32(v), sign_f64(v))                                                        \
    X(SIN, sinf(v), sin(v))                                                                  \
    X(COS, cosf(v), cos(v))                                                                  \
    X(TAN, tanf(v), tan(v))                                                                  \
    X(ASIN, asinf(v), asin(v))                                                               \
    X(ACOS, acosf(v), acos(v))                                                               \
    X(ATAN, atanf(v), atan(v))                                                               \
    X(SINH, sinhf(v), sinh(v))                                                               \
    X(COSH, coshf(v), cosh(v))                                                               \
    X(ASINH, asinhf(v), asinh(v))                                                            \
    X(ACOSH, acoshf(v), acosh(v))                                                            \
    X(ATANH, atanhf(v), atanh(v))                                                            \
    X(ERF, erff(v), erf(v))                                                                  \
    X(TANH, tanhf(v), tanh(v))                                                               \
    X(SIGMOID, sigmoid_f32(v), sigmoid_f64(v))                                               \
    X(RELU, v < 0 ? 0.0f : v, v < 0 ? 0.0 : v)                                               \
    X(LEAKY_RELU, v < 0 ? p->alpha * v : v, v < 0 ? (double)p->alpha * v : v)                \
    X(ELU, v < 0 ? p->alpha * expm1f(v) : v, v < 0 ? (double)p->alpha * expm1(v) : v)        \
    X(SELU, p->gamma * (v > 0 ? v : p->alpha * expm1f(v)),                                   \
      (double)p->gamma * (v > 0 ? v : (double)p->alpha * expm1(v)))                          \
    X(CELU, v > 0 ? v : p->alpha * expm1f(v / p->alpha),                                     \
      v > 0 ? v : (double)p->alpha * expm1(v / (double)p->alpha))                            \
    X(HARD_SIGMOID, clip_f32(p->alpha * v + p->beta, 0.0f, 1.0f),                            \
      clip_f64((double)p->alpha * v + (double)p->beta, 0.0, 1.0))                            \
    X(HARD_SWISH, v * clip_f32(v / 6.0f + 0.5f, 0.0f, 1.0f), v * clip_f64(v / 6.0 + 0.5, 0.0, 1.0)) \
    X(SOFTPLUS, softplus_f32(v), softplus_f64(v))                                            \
    X(SOFTSIGN, v / (1.0f + fabsf(v)), v / (1.0 + fabs(v)))                                  \
    X(GELU, gelu_f32(v, p->gelu_tanh), gelu_f64(v, p->gelu_tanh))                            \
    X(MISH, v * tanhf(softplus_f32(v)), v * tanh(softplus_f64(v)))                           \
    X(SWISH, v * sigmoid_f32(p->alpha * v), v * sigmoid_f64((double)p->alpha * v))           \
    X(THRESHOLDED_RELU, v > p->alpha ? v : 0.0f, v > (double)p->alpha ? v : 0.0)             \
    X(CLIP, clip_f32(v, p->lo, p->hi), clip_f64(v, p->lo_d, p->hi_d))

static int unary_is_float_op(int op) {
    switch (op) {
#define X(e, f32, f64) case RT_OP_##e:
        UNARY_FLOAT_OPS(X)
#undef X
        return 1;
    default:
        return 0;
    }
}

/* y[i] = op(x[i]) for n floats; x and y may be the same array. */
static void unary_f32(int op, const UnaryParams *p, const float *x, float *y, int64_t n) {
    (void)p;
    switch (op) {
#define X(e, f32, f64) \
    case RT_OP_##e: for (int64_t i = 0; i < n; i++) { float v = x[i]; y[i] = (f32); } break;
        UNARY_FLOAT_OPS(X)
#undef X
    default: break;
    }
}

static void unary_f64(int op, const UnaryParams *p, const double *x, double *y, int64_t n) {
    (void)p;
    switch (op) {
#define X(e, f32, f64) \
    case RT_OP_##e: for (int64_t i = 0; i < n; i++) { double v = x[i]; y[i] = (f64); } break;
        UNARY_FLOAT_OPS(X)
#undef X
    default: break;
    }
}

/* float16 / bfloat16: widen a block, run the float32 loop, round back. */
static void unary_half(int op, const UnaryParams *p, RtDtype dt, const uint16_t *x, uint16_t *y,
                       int64_t n) {
    float buf[EW_CHUNK];
    for (int64_t i0 = 0; i0 < n; i0 += EW_CHUNK) {
        int64_t m = n - i0 < EW_CHUNK ? n - i0 : EW_CHUNK;
        ew_half_load(dt, x + i0, 1, m, buf);
        unary_f32(op, p, buf, buf, m);
        ew_half_store(dt, buf, m, y + i0);
    }
}

/* ---- integers ---- */

#define SINT_TYPES(X) X(I8, int8_t) X(I16, int16_t) X(I32, int32_t) X(I64, int64_t)
#define UINT_TYPES(X) X(U8, uint8_t) X(U16, uint16_t) X(U32, uint32_t) X(U64, uint64_t)

/* Integer dtypes an op accepts per the spec: 2 = signed and unsigned, 1 = signed only. */
static int unary_int_support(int op) {
    switch (op) {
    case RT_OP_ABS: case RT_OP_SIGN: case RT_OP_ERF: case RT_OP_CLIP: return 2;
    case RT_OP_NEG: case RT_OP_RELU: return 1;
    default: return 0;
    }
}

/* Negation through uint64 so INT64_MIN wraps instead of overflowing. */
static int64_t sint_unary(int op, const UnaryParams *p, int64_t v) {
    switch (op) {
    case RT_OP_ABS: return v < 0 ? (int64_t)(0 - (uint64_t)v) : v;
    case RT_OP_NEG: return (int64_t)(0 - (uint64_t)v);
    case RT_OP_SIGN: return (v > 0) - (v < 0);
    case RT_OP_RELU: return v < 0 ? 0 : v;
    case RT_OP_ERF: return (int64_t)erf((double)v); /* in [-1, 1] */
    case RT_OP_CLIP: v = v < p->lo_i ? p->lo_i : v; return v > p->hi_i ? p->hi_i : v;
    default: return v;
    }
}

static uint64_t uint_unary(int op, const UnaryParams *p, uint64_t v) {
    switch (op) {
    case RT_OP_SIGN: return v != 0;
    case RT_OP_ERF: return (uint64_t)erf((double)v);
    case RT_OP_CLIP: v = v < p->lo_u ? p->lo_u : v; return v > p->hi_u ? p->hi_u : v;
    default: return v; /* Abs */
    }
}

/* Elements [i0, i1) of an integer tensor. */
static void unary_int(int op, const UnaryParams *p, const RtTensor *x, RtTensor *y, int64_t i0, int64_t i1) {
    switch (x->dtype) {
#define S(DT, T) \
    case RT_##DT: { const T *a = x->data; T *b = y->data; \
        for (int64_t i = i0; i < i1; i++) b[i] = (T)sint_unary(op, p, a[i]); } break;
#define U(DT, T) \
    case RT_##DT: { const T *a = x->data; T *b = y->data; \
        for (int64_t i = i0; i < i1; i++) b[i] = (T)uint_unary(op, p, a[i]); } break;
        SINT_TYPES(S)
        UINT_TYPES(U)
#undef S
#undef U
    default: break;
    }
}

static int dtype_is_sint(RtDtype t) { return t == RT_I8 || t == RT_I16 || t == RT_I32 || t == RT_I64; }
static int dtype_is_uint(RtDtype t) { return t == RT_U8 || t == RT_U16 || t == RT_U32 || t == RT_U64; }

/* ---- the shared driver ---- */

static int unary_dtype_ok(int op, RtDtype t) {
    if (rt_dtype_is_float(t)) return unary_is_float_op(op);
    int s = unary_int_support(op);
    return (dtype_is_sint(t) && s >= 1) || (dtype_is_uint(t) && s == 2);
}

/* Least elements per chunk when an op is split across threads (so only tensors of at
 * least twice this are split): below it, handing a chunk to a worker costs about as much
 * as the loop. */
#define UNARY_PAR_MIN ((int64_t)1 << 15)

typedef struct {
    int op;
    const UnaryParams *p;
    const RtTensor *x;
    RtTensor *y;
} UnaryJob;

/* Elements [i0, i1): each is computed exactly as by the whole-tensor loop. */
static void unary_chunk(void *arg, int64_t i0, int64_t i1) {
    const UnaryJob *j = arg;
    const RtTensor *x = j->x;
    int64_t n = i1 - i0;
    switch (x->dtype) {
    case RT_F32: unary_f32(j->op, j->p, (const float *)x->data + i0, (float *)j->y->data + i0, n); break;
    case RT_F64: unary_f64(j->op, j->p, (const double *)x->data + i0, (double *)j->y->data + i0, n); break;
    case RT_F16: case RT_BF16:
        unary_half(j->op, j->p, x->dtype, (const uint16_t *)x->data + i0, (uint16_t *)j->y->data + i0, n);
        break;
    default: unary_int(j->op, j->p, x, j->y, i0, i1); break;
    }
}

/* Output = op(x), same dtype and shape. in[0..n_in) are checked for data in shape mode. */
static int unary_run(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, const UnaryParams *p,
                     RtTensor *y) {
    const RtTensor *x = in[0];
    if (!unary_dtype_ok(n->op, x->dtype)) return ew_unsupported(c, x->dtype, "X");
    RT_TRY(ew_out_alloc(c, y, x->dtype, x->rank, x->dims, n->n_in, (const RtTensor *const *)in));
    UnaryJob j = {n->op, p, x, y};
    rt_parallel_for(c->pool, rt_numel(x), UNARY_PAR_MIN, unary_chunk, &j);
    return RT_OK;
}

static int unary_params(RtKernelCtx *c, const RtNode *n, UnaryParams *p) {
    memset(p, 0, sizeof *p);
    switch (n->op) {
    case RT_OP_LEAKY_RELU: p->alpha = rt_attr_float(n, "alpha", 0.01f); break;
    case RT_OP_SWISH: p->alpha = rt_attr_float(n, "alpha", 1.0f); break; /* opset 24: x * sigmoid(alpha x) */
    case RT_OP_ELU: case RT_OP_CELU: case RT_OP_THRESHOLDED_RELU:
        p->alpha = rt_attr_float(n, "alpha", 1.0f);
        break;
    case RT_OP_SELU:
        p->alpha = rt_attr_float(n, "alpha", 1.67326319217681884765625f);
        p->gamma = rt_attr_float(n, "gamma", 1.05070102214813232421875f);
        break;
    case RT_OP_HARD_SIGMOID:
        p->alpha = rt_attr_float(n, "alpha", 0.2f);
        p->beta = rt_attr_float(n, "beta", 0.5f);
        break;
    case RT_OP_GELU: {
        const char *a = rt_attr_str(n, "approximate", "none");
        if (strcmp(a, "tanh") == 0) p->gelu_tanh = 1;
        else if (strcmp(a, "none") != 0)
            return rt_fail(c, "attribute 'approximate' is \"%s\"; expected \"none\" or \"tanh\"", a);
        break;
    }
    default: break;
    }
    return RT_OK;
}

static int k_unary(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    if (!rt_in(n, in, 0)) return rt_fail(c, "input 'X' is missing");
    UnaryParams p;
    RT_TRY(unary_params(c, n, &p));
    return unary_run(c, n, in, &p, out[0]);
}

/* ---- Clip ---- */

/* Reads one bound: opset < 11 from attributes (float only), later from optional scalar
 * inputs 1 and 2 of X's dtype; an absent bound is the dtype's limit. */
static int clip_bound(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, int which,
                      UnaryParams *p) {
    const char *name = which == 1 ? "min" : "max";
    const RtTensor *x = in[0], *b = rt_in(n, in, which);
    int is_min = which == 1;
    if (n->opset < 11) {
        if (b) return rt_fail(c, "input '%s' needs opset 11 (node has opset %d)", name, n->opset);
        float f = rt_attr_float(n, name, is_min ? -FLT_MAX : FLT_MAX);
        if (is_min) p->lo = f, p->lo_d = f;
        else p->hi = f, p->hi_d = f;
        return RT_OK;
    }
    if (rt_attr(n, name))
        return rt_fail(c, "attribute '%s' was replaced by an input in opset 11", name);
    if (b && b->dtype != x->dtype)
        return rt_fail(c, "input '%s' is %s but X is %s", name, rt_dtype_name(b->dtype),
                       rt_dtype_name(x->dtype));
    if (b && rt_numel(b) != 1) {
        char s[64];
        return rt_fail(c, "input '%s' must be a scalar, got shape %s", name,
                       rt_shape_str(b->rank, b->dims, s, sizeof s));
    }
    int have = b && b->data;
    double d = have ? rt_get_f64(b, 0) : (is_min ? -INFINITY : INFINITY);
    int64_t i = have ? rt_get_i64(b, 0) : (is_min ? INT64_MIN : INT64_MAX);
    uint64_t u = have ? (uint64_t)rt_get_i64(b, 0) : (is_min ? 0 : UINT64_MAX);
    if (is_min) p->lo = (float)d, p->lo_d = d, p->lo_i = i, p->lo_u = u;
    else p->hi = (float)d, p->hi_d = d, p->hi_i = i, p->hi_u = u;
    return RT_OK;
}

static int k_clip(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0);
    if (!x) return rt_fail(c, "input 'input' is missing");
    if (n->opset < 11 && !rt_dtype_is_float(x->dtype)) return ew_unsupported(c, x->dtype, "input");
    UnaryParams p;
    memset(&p, 0, sizeof p);
    RT_TRY(clip_bound(c, n, in, 1, &p));
    RT_TRY(clip_bound(c, n, in, 2, &p));
    return unary_run(c, n, in, &p, out[0]);
}

/* ---- predicates: Not, IsNaN, IsInf ---- */

static int k_not(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0);
    if (!x) return rt_fail(c, "input 'X' is missing");
    if (x->dtype != RT_BOOL) return ew_unsupported(c, x->dtype, "X");
    RT_TRY(ew_out_alloc(c, out[0], RT_BOOL, x->rank, x->dims, 1, &x));
    const uint8_t *a = x->data;
    uint8_t *y = out[0]->data;
    for (int64_t i = 0, cnt = rt_numel(x); i < cnt; i++) y[i] = !a[i];
    return RT_OK;
}

/* IsNaN and IsInf: float in, bool out. */
static int k_float_class(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0);
    if (!x) return rt_fail(c, "input 'X' is missing");
    if (!rt_dtype_is_float(x->dtype)) return ew_unsupported(c, x->dtype, "X");
    int neg = (int)rt_attr_int(n, "detect_negative", 1), pos = (int)rt_attr_int(n, "detect_positive", 1);
    RT_TRY(ew_out_alloc(c, out[0], RT_BOOL, x->rank, x->dims, 1, &x));
    uint8_t *y = out[0]->data;
    for (int64_t i = 0, cnt = rt_numel(x); i < cnt; i++) {
        double v = rt_get_f64(x, i);
        if (n->op == RT_OP_IS_NAN) y[i] = isnan(v) != 0;
        else y[i] = isinf(v) && (v > 0 ? pos : neg);
    }
    return RT_OK;
}

/* ---- Cast ---- */

/* Stores from a double (float sources, and integers into float targets) are rt_set_f64_sat
 * (kernel_util.c), which calibration datasets use for their conversions too. */

/* An integer (its value as a uint64 bit pattern u, and as a double d) into any dtype:
 * integers keep the low bits (wrap), floats round once from d. */
static void cast_store_int(RtTensor *y, int64_t i, uint64_t u, double d) {
    void *o = y->data;
    switch (y->dtype) {
    case RT_I8: ((int8_t *)o)[i] = (int8_t)u; break;
    case RT_I16: ((int16_t *)o)[i] = (int16_t)u; break;
    case RT_I32: ((int32_t *)o)[i] = (int32_t)u; break;
    case RT_I64: ((int64_t *)o)[i] = (int64_t)u; break;
    case RT_U8: ((uint8_t *)o)[i] = (uint8_t)u; break;
    case RT_U16: ((uint16_t *)o)[i] = (uint16_t)u; break;
    case RT_U32: ((uint32_t *)o)[i] = (uint32_t)u; break;
    case RT_U64: ((uint64_t *)o)[i] = u; break;
    case RT_BOOL: ((uint8_t *)o)[i] = u != 0; break;
    default: rt_set_f64_sat(y, i, d); break;
    }
}

/* Converts every element of x into y (same shape, y->dtype set and allocated). */
static void cast_convert(const RtTensor *x, RtTensor *y) {
    int64_t cnt = rt_numel(x);
    if (x->dtype == y->dtype) {
        memcpy(y->data, x->data, (size_t)cnt * rt_dtype_size(x->dtype));
    } else if (x->dtype == RT_F32 && y->dtype == RT_F16) { /* the common fast paths */
        rt_f32_to_f16_n(x->data, y->data, cnt);
    } else if (x->dtype == RT_F16 && y->dtype == RT_F32) {
        rt_f16_to_f32_n(x->data, y->data, cnt);
    } else if (x->dtype == RT_F32 && y->dtype == RT_BF16) {
        rt_f32_to_bf16_n(x->data, y->data, cnt);
    } else if (x->dtype == RT_BF16 && y->dtype == RT_F32) {
        rt_bf16_to_f32_n(x->data, y->data, cnt);
    } else if (rt_dtype_is_float(x->dtype)) {
        for (int64_t i = 0; i < cnt; i++) rt_set_f64_sat(y, i, rt_get_f64(x, i));
    } else if (x->dtype == RT_U64) {
        const uint64_t *a = x->data;
        for (int64_t i = 0; i < cnt; i++) cast_store_int(y, i, a[i], (double)a[i]);
    } else { /* other integers and bool: exact in int64 */
        for (int64_t i = 0; i < cnt; i++) {
            int64_t v = rt_get_i64(x, i);
            cast_store_int(y, i, (uint64_t)v, (double)v);
        }
    }
}

static int cast_dtype_ok(int64_t t) {
    return t > RT_UNDEFINED && t < RT_DTYPE_END && t != RT_STRING && rt_dtype_size((RtDtype)t) != 0;
}

/* Names the ONNX types wafer refuses, so the message says what was asked for. */
static const char *onnx_type_name(int64_t t) {
    switch (t) {
    case 8: return "string";
    case 14: return "complex64";
    case 15: return "complex128";
    case 17: return "float8e4m3fn";
    case 18: return "float8e4m3fnuz";
    case 19: return "float8e5m2";
    case 20: return "float8e5m2fnuz";
    case 21: return "uint4";
    case 22: return "int4";
    case 23: return "float4e2m1";
    case 24: return "float8e8m0";
    case 25: return "uint2";
    case 26: return "int2";
    default: return "unknown";
    }
}

/* Cast to a sub-byte integer type (int4 / uint4 / int2 / uint2 of `bits` bits, held widened
 * in y's int8 / uint8), as ONNX's int4 note says: "rounding to the nearest-even integer and
 * truncating". Floats round to the nearest integer, ties to even; then, floats and integers
 * alike, the value is truncated to its low `bits` bits (two's complement: -9 -> int4 7,
 * -1 -> uint4 15, 100 -> int4 4), as wafer's Cast narrows wider integers and as onnxruntime
 * does (which rounds float ties away from zero instead, against the note). NaN and
 * infinities become 0; a float of magnitude >= 2^63 is a multiple of 2^11, so its low bits
 * are 0 too. */
static int32_t cast_lowbit_wrap(uint64_t u, int bits, int is_signed) {
    uint64_t m = u & ((1u << bits) - 1u);
    return is_signed && m >= (1u << (bits - 1)) ? (int32_t)m - (1 << bits) : (int32_t)m;
}

static void cast_convert_lowbit(const RtTensor *x, RtTensor *y, int bits, int is_signed) {
    int64_t cnt = rt_numel(x);
    int fl = rt_dtype_is_float(x->dtype);
    for (int64_t i = 0; i < cnt; i++) {
        uint64_t u;
        if (fl) {
            double r = nearbyint(rt_get_f64(x, i)); /* ties to even: the default rounding mode */
            u = r == r && fabs(r) < 9223372036854775808.0 ? (uint64_t)(int64_t)r : 0;
        } else if (x->dtype == RT_U64) {
            u = ((const uint64_t *)x->data)[i];
        } else {
            u = (uint64_t)rt_get_i64(x, i);
        }
        rt_qset(y, i, cast_lowbit_wrap(u, bits, is_signed));
    }
}

/* y = x converted to `to`; n_need inputs must have data for a full run. */
static int cast_run(RtKernelCtx *c, const RtTensor *x, int64_t to, int n_need, RtTensor *const *in,
                    RtTensor *y) {
    if (!cast_dtype_ok(x->dtype)) return ew_unsupported(c, x->dtype, "input");
    RtDtype low;
    int32_t lo, hi;
    if (rt_lowbit_range(to, &low, &lo, &hi) == RT_OK) { /* stored widened, one element per byte */
        RT_TRY(ew_out_alloc(c, y, low, x->rank, x->dims, n_need, (const RtTensor *const *)in));
        cast_convert_lowbit(x, y, hi == 15 || hi == 7 ? 4 : 2, lo < 0);
        return RT_OK;
    }
    if (!cast_dtype_ok(to)) {
        rt_fail(c, "cast to %s (TensorProto type %lld) is not supported", onnx_type_name(to),
                (long long)to);
        return RT_ERR_UNSUPPORTED;
    }
    RT_TRY(ew_out_alloc(c, y, (RtDtype)to, x->rank, x->dims, n_need, (const RtTensor *const *)in));
    cast_convert(x, y);
    return RT_OK;
}

static int k_cast(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0);
    if (!x) return rt_fail(c, "input 'input' is missing");
    const RtAttr *to = rt_attr(n, "to");
    if (!to || to->type != RT_ATTR_INT) return rt_fail(c, "attribute 'to' (an int) is required");
    /* 'saturate' (opset 19) only affects float8 targets, which cast_run refuses. */
    if ((to->i == 21 || to->i == 22) && n->opset < 21)
        return rt_fail(c, "cast to %s needs opset 21 (node has %d)", onnx_type_name(to->i), n->opset);
    if ((to->i == 25 || to->i == 26) && n->opset < 25)
        return rt_fail(c, "cast to %s needs opset 25 (node has %d)", onnx_type_name(to->i), n->opset);
    return cast_run(c, x, to->i, 1, in, out[0]);
}

static int k_cast_like(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0), *like = rt_in(n, in, 1);
    if (!x || !like) return rt_fail(c, "inputs 'input' and 'target_type' are required");
    return cast_run(c, x, like->dtype, 1, in, out[0]); /* only like's dtype is read */
}

/* ---- BitCast (opset 26): the same bits read as another type of the same width ---- */

/* To a sub-byte type: the input is the other sub-byte type of that width, held widened (int4
 * -> uint4 keeps the low four bits: -1 -> 15; uint4 -> int4 sign-extends them: 9 -> -7). A
 * value outside that type's range means the input was not one (an int8 BitCast to int4,
 * which ONNX refuses for its width): refused by element. */
static int bitcast_lowbit(RtKernelCtx *c, const RtTensor *x, int64_t to, RtDtype low, int32_t lo, int32_t hi,
                          RtTensor *const *in, RtTensor *y) {
    int bits = hi == 15 || hi == 7 ? 4 : 2;
    if (x->dtype != RT_I8 && x->dtype != RT_U8)
        return rt_fail(c, "BitCast to %s needs a %d-bit integer input, got %s", onnx_type_name(to), bits,
                       rt_dtype_name(x->dtype));
    int32_t xlo = x->dtype == RT_I8 ? -(1 << (bits - 1)) : 0, xhi = x->dtype == RT_I8 ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
    RT_TRY(ew_out_alloc(c, y, low, x->rank, x->dims, 1, (const RtTensor *const *)in));
    for (int64_t i = 0, cnt = rt_numel(x); i < cnt; i++) {
        int32_t v = rt_qget(x, i);
        if (v < xlo || v > xhi)
            return rt_fail(c, "BitCast to %s: input element %lld = %d is not a %d-bit %s value", onnx_type_name(to),
                           (long long)i, (int)v, bits, x->dtype == RT_I8 ? "signed" : "unsigned");
        rt_qset(y, i, cast_lowbit_wrap((uint64_t)(int64_t)v, bits, lo < 0));
    }
    return RT_OK;
}

static int k_bitcast(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0);
    if (!x) return rt_fail(c, "input 'input' is missing");
    const RtAttr *to = rt_attr(n, "to");
    if (!to || to->type != RT_ATTR_INT) return rt_fail(c, "attribute 'to' (an int) is required");
    RtDtype low;
    int32_t lo, hi;
    if (rt_lowbit_range(to->i, &low, &lo, &hi) == RT_OK) return bitcast_lowbit(c, x, to->i, low, lo, hi, in, out[0]);
    if (!cast_dtype_ok(x->dtype)) return ew_unsupported(c, x->dtype, "input");
    if (!cast_dtype_ok(to->i)) {
        rt_fail(c, "BitCast to %s (TensorProto type %lld) is not supported", onnx_type_name(to->i), (long long)to->i);
        return RT_ERR_UNSUPPORTED;
    }
    size_t xs = rt_dtype_size(x->dtype), ys = rt_dtype_size((RtDtype)to->i);
    if (xs != ys)
        return rt_fail(c, "BitCast from %s (%zu bits) to %s (%zu bits): the widths must be equal",
                       rt_dtype_name(x->dtype), 8 * xs, rt_dtype_name((RtDtype)to->i), 8 * ys);
    RT_TRY(ew_out_alloc(c, out[0], (RtDtype)to->i, x->rank, x->dims, 1, (const RtTensor *const *)in));
    int64_t cnt = rt_numel(x);
    memcpy(out[0]->data, x->data, (size_t)cnt * xs); /* both little-endian, as the spec asks */
    if (to->i == RT_BOOL) /* wafer's bools are 0 or 1: another byte is no bool */
        for (int64_t i = 0; i < cnt; i++)
            if (((const uint8_t *)x->data)[i] > 1)
                return rt_fail(c, "BitCast to bool: input element %lld = %d is not 0 or 1", (long long)i,
                               ((const uint8_t *)x->data)[i]);
    return RT_OK;
}

const RtKernelEntry rt_kernels_unary[] = {
    {RT_OP_CLIP, k_clip}, /* before the table's own Clip row: the first match wins */
#define X(e, f32, f64) {RT_OP_##e, k_unary},
    UNARY_FLOAT_OPS(X)
#undef X
    {RT_OP_NOT, k_not},
    {RT_OP_IS_NAN, k_float_class},
    {RT_OP_IS_INF, k_float_class},
    {RT_OP_CAST, k_cast},
    {RT_OP_CAST_LIKE, k_cast_like},
    {RT_OP_BITCAST, k_bitcast},
    {-1, 0},
};
