/*
 * test_unary.c — hand-computed cases for the element-wise unary kernels in
 * runtime/kernels/ref/unary.c (math, activations, Clip, predicates, Cast/CastLike),
 * called directly through rt_kernel_find().
 */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rt_test_util.h"

/* float32 math library results are within a few ulps of the true value */
#define F32_TOL 1e-6
/* float16 keeps 11 significant bits: relative step 2^-11 ~ 4.9e-4 */
#define F16_REL_TOL 1e-3

/* Runs a one-input float32 op on x[n] and checks it against want[n]. */
static void check_f32(int op, int opset, RtAttr *attrs, int n_attr, const float *x, const float *want, int n) {
    int64_t d[] = {n};
    RtTensor tx = rtt_tensor(RT_F32, 1, d, (void *)x), out = {0};
    RtTensor *in[] = {&tx};
    cr_assert_eq(rtt_run1(op, opset, in, 1, &out, attrs, n_attr, 0), RT_OK, "%s", rtt_err.msg);
    if (rtt_expect_f32(&out, want, n, F32_TOL, F32_TOL)) cr_log_error("in %s", rt_op_name(op));
    free(out.data);
}

Test(round, half_to_even) {
    float x[] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 2.4f, -2.6f, 3.5f};
    float want[] = {0, 2, 2, -0.0f, -2, 2, -3, 4};
    check_f32(RT_OP_ROUND, 11, NULL, 0, x, want, 8);
}

Test(math, basic_functions) {
    float x[] = {-2, 0.25f, 4};
    check_f32(RT_OP_ABS, 13, NULL, 0, x, (float[]){2, 0.25f, 4}, 3);
    check_f32(RT_OP_NEG, 13, NULL, 0, x, (float[]){2, -0.25f, -4}, 3);
    check_f32(RT_OP_FLOOR, 13, NULL, 0, x, (float[]){-2, 0, 4}, 3);
    check_f32(RT_OP_CEIL, 13, NULL, 0, x, (float[]){-2, 1, 4}, 3);
    check_f32(RT_OP_SQRT, 13, NULL, 0, x, (float[]){NAN, 0.5f, 2}, 3);
    check_f32(RT_OP_RECIPROCAL, 13, NULL, 0, x, (float[]){-0.5f, 4, 0.25f}, 3);
    check_f32(RT_OP_SIGN, 13, NULL, 0, (float[]){-3, 0, 7, NAN}, (float[]){-1, 0, 1, NAN}, 4);
    check_f32(RT_OP_EXP, 13, NULL, 0, (float[]){0, 1}, (float[]){1, 2.718281828f}, 2);
    check_f32(RT_OP_LOG, 13, NULL, 0, (float[]){1, 2.718281828f}, (float[]){0, 1}, 2);
}

Test(activation, sigmoid_is_stable_for_large_inputs) {
    float x[] = {-1000, -50, 0, 50, 1000};
    check_f32(RT_OP_SIGMOID, 13, NULL, 0, x, (float[]){0, 1.9287498e-22f, 0.5f, 1, 1}, 5);
}

Test(activation, softplus_and_mish_for_large_inputs) {
    float x[] = {-1000, 0, 1000};
    check_f32(RT_OP_SOFTPLUS, 7, NULL, 0, x, (float[]){0, 0.69314718f, 1000}, 3);
    check_f32(RT_OP_MISH, 18, NULL, 0, x, (float[]){-0.0f, 0, 1000}, 3);
}

Test(activation, relu_family_with_attributes) {
    float x[] = {-2, -0.5f, 0, 3};
    RtAttr a01 = rtt_attr_float("alpha", 0.1f), a2 = rtt_attr_float("alpha", 2.0f);
    check_f32(RT_OP_RELU, 14, NULL, 0, x, (float[]){0, 0, 0, 3}, 4);
    check_f32(RT_OP_LEAKY_RELU, 16, &a01, 1, x, (float[]){-0.2f, -0.05f, 0, 3}, 4);
    check_f32(RT_OP_LEAKY_RELU, 16, NULL, 0, x, (float[]){-0.02f, -0.005f, 0, 3}, 4);
    check_f32(RT_OP_ELU, 6, &a2, 1, x, (float[]){2 * (expf(-2) - 1), 2 * (expf(-0.5f) - 1), 0, 3}, 4);
    check_f32(RT_OP_CELU, 12, &a2, 1, x, (float[]){2 * (expf(-1) - 1), 2 * (expf(-0.25f) - 1), 0, 3}, 4);
    check_f32(RT_OP_THRESHOLDED_RELU, 10, &a01, 1, (float[]){0.05f, 0.2f}, (float[]){0, 0.2f}, 2);
    /* Selu defaults: gamma * x for x > 0, gamma * alpha * (e^x - 1) otherwise */
    const float al = 1.67326319217681884765625f, ga = 1.05070102214813232421875f;
    check_f32(RT_OP_SELU, 6, NULL, 0, x, (float[]){ga * al * (expf(-2) - 1), ga * al * (expf(-0.5f) - 1), 0, ga * 3}, 4);
}

Test(activation, hard_sigmoid_hard_swish_softsign) {
    float x[] = {-4, -1, 0, 1, 4};
    check_f32(RT_OP_HARD_SIGMOID, 6, NULL, 0, x, (float[]){0, 0.3f, 0.5f, 0.7f, 1}, 5);
    check_f32(RT_OP_HARD_SWISH, 14, NULL, 0, x, (float[]){0, -1.0f / 3, 0, 2.0f / 3, 4}, 5);
    check_f32(RT_OP_SOFTSIGN, 7, NULL, 0, x, (float[]){-0.8f, -0.5f, 0, 0.5f, 0.8f}, 5);
}

Test(activation, gelu_exact_and_tanh) {
    float x[] = {-1, 0, 1, 3};
    /* 0.5 x (1 + erf(x / sqrt 2)) */
    check_f32(RT_OP_GELU, 20, NULL, 0, x, (float[]){-0.15865525f, 0, 0.84134475f, 2.99595031f}, 4);
    RtAttr t = rtt_attr_str("approximate", "tanh");
    check_f32(RT_OP_GELU, 20, &t, 1, x, (float[]){-0.15880801f, 0, 0.84119199f, 2.99636261f}, 4);
    RtAttr bad = rtt_attr_str("approximate", "fast");
    float one = 1;
    int64_t d[] = {1};
    RtTensor tx = rtt_tensor(RT_F32, 1, d, &one), out = {0};
    RtTensor *in[] = {&tx};
    cr_expect_lt(rtt_run1(RT_OP_GELU, 20, in, 1, &out, &bad, 1, 0), 0);
    cr_expect_not_null(strstr(rtt_err.msg, "approximate"), "%s", rtt_err.msg);
}

Test(math, trig_and_erf_float64) {
    double x[] = {0.5, -0.25};
    int64_t d[] = {2};
    int ops[] = {RT_OP_SIN, RT_OP_ACOS, RT_OP_ATANH, RT_OP_ERF, RT_OP_TANH};
    double (*ref[])(double) = {sin, acos, atanh, erf, tanh};
    for (int k = 0; k < 5; k++) {
        RtTensor tx = rtt_tensor(RT_F64, 1, d, x), out = {0};
        RtTensor *in[] = {&tx};
        cr_assert_eq(rtt_run1(ops[k], 13, in, 1, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
        cr_assert_eq(out.dtype, RT_F64);
        for (int i = 0; i < 2; i++) cr_expect_eq(((double *)out.data)[i], ref[k](x[i]), "%s[%d]", rt_op_name(ops[k]), i);
        free(out.data);
    }
}

Test(math, float16_exp_across_blocks) {
    /* 300 elements cross the 256-element conversion block */
    enum { N = 300 };
    uint16_t x[N];
    for (int i = 0; i < N; i++) x[i] = rt_f32_to_f16((float)(i % 20) * 0.25f - 2.0f);
    int64_t d[] = {N};
    RtTensor tx = rtt_tensor(RT_F16, 1, d, x), out = {0};
    RtTensor *in[] = {&tx};
    cr_assert_eq(rtt_run1(RT_OP_EXP, 13, in, 1, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(out.dtype, RT_F16);
    const uint16_t *y = out.data;
    for (int i = 0; i < N; i++) {
        float want = expf(rt_f16_to_f32(x[i]));
        cr_expect(fabsf(rt_f16_to_f32(y[i]) - want) <= F16_REL_TOL * want, "[%d]: %g, want %g", i,
                  rt_f16_to_f32(y[i]), want);
    }
    free(out.data);
}

Test(integer, abs_neg_sign_relu_wrap_like_numpy) {
    int8_t x[] = {-128, -3, 0, 5};
    int64_t d[] = {4};
    int ops[] = {RT_OP_ABS, RT_OP_NEG, RT_OP_SIGN, RT_OP_RELU};
    int8_t want[4][4] = {{-128, 3, 0, 5}, {-128, 3, 0, -5}, {-1, -1, 0, 1}, {0, 0, 0, 5}};
    for (int k = 0; k < 4; k++) {
        RtTensor tx = rtt_tensor(RT_I8, 1, d, x), out = {0};
        RtTensor *in[] = {&tx};
        cr_assert_eq(rtt_run1(ops[k], 14, in, 1, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
        cr_assert_eq(out.dtype, RT_I8);
        for (int i = 0; i < 4; i++)
            cr_expect_eq(((int8_t *)out.data)[i], want[k][i], "%s[%d]: %d", rt_op_name(ops[k]), i, ((int8_t *)out.data)[i]);
        free(out.data);
    }
}

Test(integer, float_only_op_is_unsupported) {
    int32_t x[] = {4};
    int64_t d[] = {1};
    RtTensor tx = rtt_tensor(RT_I32, 1, d, x), out = {0};
    RtTensor *in[] = {&tx};
    cr_assert_eq(rtt_run1(RT_OP_SQRT, 13, in, 1, &out, NULL, 0, 0), RT_ERR_UNSUPPORTED);
    cr_expect_str_eq(rtt_err.msg, "dtype int32 is not supported for input 'X'");
    RtTensor u = rtt_tensor(RT_U8, 1, d, x), out2 = {0};
    RtTensor *in2[] = {&u};
    cr_assert_eq(rtt_run1(RT_OP_NEG, 13, in2, 1, &out2, NULL, 0, 0), RT_ERR_UNSUPPORTED);
}

Test(clip, opset6_attributes) {
    float x[] = {-3, -1, 0, 1, 3};
    RtAttr at[] = {rtt_attr_float("min", -1.5f), rtt_attr_float("max", 2.0f)};
    check_f32(RT_OP_CLIP, 6, at, 2, x, (float[]){-1.5f, -1, 0, 1, 2}, 5);
    check_f32(RT_OP_CLIP, 6, at + 1, 1, x, (float[]){-3, -1, 0, 1, 2}, 5); /* min defaults to -FLT_MAX */
}

Test(clip, opset13_inputs_optional_and_int8) {
    float x[] = {-3, -1, 0, 1, NAN};
    float lo = -2;
    int64_t d[] = {5};
    RtTensor tx = rtt_tensor(RT_F32, 1, d, x), tlo = rtt_tensor(RT_F32, 0, NULL, &lo), out = {0};
    RtTensor *in[] = {&tx, &tlo, NULL}; /* max absent */
    cr_assert_eq(rtt_run1(RT_OP_CLIP, 13, in, 3, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    const float *y = out.data;
    cr_expect_eq(y[0], -2);
    cr_expect_eq(y[3], 1);
    cr_expect(isnan(y[4]), "NaN passes through, got %g", y[4]);
    free(out.data);

    int8_t xi[] = {-100, -5, 0, 5, 100}, mx = 10;
    RtTensor ti = rtt_tensor(RT_I8, 1, d, xi), tmx = rtt_tensor(RT_I8, 0, NULL, &mx), oi = {0};
    RtTensor *ini[] = {&ti, NULL, &tmx}; /* min absent */
    cr_assert_eq(rtt_run1(RT_OP_CLIP, 13, ini, 3, &oi, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    int8_t want[] = {-100, -5, 0, 5, 10};
    for (int i = 0; i < 5; i++) cr_expect_eq(((int8_t *)oi.data)[i], want[i], "[%d]", i);
    free(oi.data);
}

Test(clip, min_above_max_gives_max) {
    float x[] = {-1, 5, 10}, lo = 6, hi = 2;
    int64_t d[] = {3};
    RtTensor tx = rtt_tensor(RT_F32, 1, d, x), tlo = rtt_tensor(RT_F32, 0, NULL, &lo),
             thi = rtt_tensor(RT_F32, 0, NULL, &hi), out = {0};
    RtTensor *in[] = {&tx, &tlo, &thi};
    cr_assert_eq(rtt_run1(RT_OP_CLIP, 13, in, 3, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    for (int i = 0; i < 3; i++) cr_expect_eq(((float *)out.data)[i], 2.0f, "[%d]", i);
    free(out.data);
}

Test(clip, bound_of_other_dtype_refused) {
    float x[] = {1};
    double lo = 0;
    int64_t d[] = {1};
    RtTensor tx = rtt_tensor(RT_F32, 1, d, x), tlo = rtt_tensor(RT_F64, 0, NULL, &lo), out = {0};
    RtTensor *in[] = {&tx, &tlo};
    cr_assert_lt(rtt_run1(RT_OP_CLIP, 13, in, 2, &out, NULL, 0, 0), 0);
    cr_expect_not_null(strstr(rtt_err.msg, "min"), "%s", rtt_err.msg);
}

Test(predicates, not_isnan_isinf) {
    float x[] = {1, NAN, INFINITY, -INFINITY};
    int64_t d[] = {4};
    RtTensor tx = rtt_tensor(RT_F32, 1, d, x), o1 = {0}, o2 = {0}, o3 = {0};
    RtTensor *in[] = {&tx};
    cr_assert_eq(rtt_run1(RT_OP_IS_NAN, 13, in, 1, &o1, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    RtAttr pos_only = rtt_attr_int("detect_negative", 0);
    cr_assert_eq(rtt_run1(RT_OP_IS_INF, 10, in, 1, &o2, &pos_only, 1, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(o1.dtype, RT_BOOL);
    uint8_t w1[] = {0, 1, 0, 0}, w2[] = {0, 0, 1, 0};
    cr_expect_eq(memcmp(o1.data, w1, 4), 0);
    cr_expect_eq(memcmp(o2.data, w2, 4), 0);
    RtTensor tb = rtt_tensor(RT_BOOL, 1, d, w1);
    RtTensor *inb[] = {&tb};
    cr_assert_eq(rtt_run1(RT_OP_NOT, 1, inb, 1, &o3, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    uint8_t w3[] = {1, 0, 1, 1};
    cr_expect_eq(memcmp(o3.data, w3, 4), 0);
    free(o1.data);
    free(o2.data);
    free(o3.data);
}

Test(shape_only, unary_and_cast_without_data) {
    int64_t d[] = {2, 0, 5};
    RtTensor tx = rtt_tensor(RT_F32, 3, d, NULL), o1 = {0}, o2 = {0};
    RtTensor *in[] = {&tx};
    cr_assert_eq(rtt_run1(RT_OP_RELU, 14, in, 1, &o1, NULL, 0, 1), RT_SHAPE_ONLY, "%s", rtt_err.msg);
    cr_expect_eq(o1.rank, 3);
    cr_expect_eq(o1.dims[1], 0);
    cr_expect_null(o1.data);
    RtAttr to = rtt_attr_int("to", RT_I64);
    cr_assert_eq(rtt_run1(RT_OP_CAST, 19, in, 1, &o2, &to, 1, 0), RT_SHAPE_ONLY, "%s", rtt_err.msg);
    cr_expect_eq(o2.dtype, RT_I64);
    cr_expect_eq(o2.dims[2], 5);
}

/* ---- Cast ---- */

static RtTensor cast(RtTensor *x, int64_t to) {
    RtAttr a = rtt_attr_int("to", to);
    RtTensor out = {0};
    RtTensor *in[] = {x};
    cr_assert_eq(rtt_run1(RT_OP_CAST, 19, in, 1, &out, &a, 1, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(out.dtype, (RtDtype)to);
    return out;
}

Test(cast, f32_to_f16_to_f32) {
    float x[] = {1.0f, 0.1f, 65504.0f, 70000.0f, 1e-8f, -2.5f, 6e-5f};
    /* 0.1 -> nearest half 0.0999755859375; 70000 overflows to inf; 1e-8 underflows to 0;
     * 6e-5 is a half subnormal: nearest multiple of 2^-24 */
    float want[] = {1.0f, 0.0999755859375f, 65504.0f, INFINITY, 0.0f, -2.5f, 1007 * 0x1p-24f};
    int64_t d[] = {7};
    RtTensor tx = rtt_tensor(RT_F32, 1, d, x);
    RtTensor h = cast(&tx, RT_F16);
    RtTensor back = cast(&h, RT_F32);
    for (int i = 0; i < 7; i++)
        cr_expect_eq(((float *)back.data)[i], want[i], "[%d]: %.10g, want %.10g", i, ((float *)back.data)[i], want[i]);
    free(h.data);
    free(back.data);
}

Test(cast, f32_to_int_truncates_and_saturates) {
    float x[] = {-1.7f, -0.5f, 2.9f, 3e10f, -3e10f, NAN};
    int64_t d[] = {6};
    RtTensor tx = rtt_tensor(RT_F32, 1, d, x);
    RtTensor i32 = cast(&tx, RT_I32), u8 = cast(&tx, RT_U8), i64 = cast(&tx, RT_I64);
    int32_t w32[] = {-1, 0, 2, INT32_MAX, INT32_MIN, 0};
    uint8_t w8[] = {0, 0, 2, 255, 0, 0};
    int64_t w64[] = {-1, 0, 2, 30000001024LL, -30000001024LL, 0};
    for (int i = 0; i < 6; i++) {
        cr_expect_eq(((int32_t *)i32.data)[i], w32[i], "i32[%d]: %d", i, ((int32_t *)i32.data)[i]);
        cr_expect_eq(((uint8_t *)u8.data)[i], w8[i], "u8[%d]: %d", i, ((uint8_t *)u8.data)[i]);
        cr_expect_eq(((int64_t *)i64.data)[i], w64[i], "i64[%d]", i);
    }
    free(i32.data);
    free(u8.data);
    free(i64.data);
}

Test(cast, integers_wrap_and_bool) {
    int64_t x[] = {300, -1, 0, INT64_MAX};
    int64_t d[] = {4};
    RtTensor tx = rtt_tensor(RT_I64, 1, d, x);
    RtTensor i8 = cast(&tx, RT_I8), u16 = cast(&tx, RT_U16), b = cast(&tx, RT_BOOL), f = cast(&tx, RT_F64);
    int8_t w8[] = {44, -1, 0, -1};
    uint16_t w16[] = {300, 65535, 0, 65535};
    uint8_t wb[] = {1, 1, 0, 1};
    for (int i = 0; i < 4; i++) {
        cr_expect_eq(((int8_t *)i8.data)[i], w8[i], "i8[%d]", i);
        cr_expect_eq(((uint16_t *)u16.data)[i], w16[i], "u16[%d]", i);
        cr_expect_eq(((uint8_t *)b.data)[i], wb[i], "bool[%d]", i);
    }
    cr_expect_eq(((double *)f.data)[3], 9223372036854775807.0);
    free(i8.data);
    free(u16.data);
    free(b.data);
    free(f.data);
}

Test(cast, f64_to_f16_rounds_once) {
    /* 1 + 2^-11 + 2^-40 lies just above the float16 midpoint between 1 and 1 + 2^-10.
     * Rounding to float32 first would land exactly on the midpoint and then round to even
     * (1.0); the correctly rounded answer is 1 + 2^-10 (0x3C01). */
    double x[] = {1.0 + 0x1p-11 + 0x1p-40, 1.0 + 0x1p-11, 1e300};
    int64_t d[] = {3};
    RtTensor tx = rtt_tensor(RT_F64, 1, d, x);
    RtTensor h = cast(&tx, RT_F16);
    cr_expect_eq(((uint16_t *)h.data)[0], 0x3C01, "%#x", ((uint16_t *)h.data)[0]);
    cr_expect_eq(((uint16_t *)h.data)[1], 0x3C00, "exact tie rounds to even, got %#x", ((uint16_t *)h.data)[1]);
    cr_expect_eq(((uint16_t *)h.data)[2], 0x7C00, "overflow is inf, got %#x", ((uint16_t *)h.data)[2]);
    free(h.data);
}

Test(cast, bfloat16_rounds_to_nearest_even) {
    /* ONNX backend data: 0.47892547 -> 0x3EF5 (16117), 0.48033667 rounds up to 0x3EF6 */
    float x[] = {0.4789254665374756f, 0.48033666610717773f, NAN, -INFINITY};
    int64_t d[] = {4};
    RtTensor tx = rtt_tensor(RT_F32, 1, d, x);
    RtTensor b = cast(&tx, RT_BF16);
    uint16_t want[] = {16117, 16118, 0x7FC0, 0xFF80};
    for (int i = 0; i < 4; i++) cr_expect_eq(((uint16_t *)b.data)[i], want[i], "[%d]: %u", i, ((uint16_t *)b.data)[i]);
    RtTensor f = cast(&b, RT_F32);
    cr_expect_eq(((float *)f.data)[0], 0.478515625f);
    free(b.data);
    free(f.data);
}

Test(cast, float8_and_string_targets_refused) {
    float x[] = {1};
    int64_t d[] = {1};
    RtTensor tx = rtt_tensor(RT_F32, 1, d, x), out = {0};
    RtTensor *in[] = {&tx};
    RtAttr f8 = rtt_attr_int("to", 17);
    cr_assert_eq(rtt_run1(RT_OP_CAST, 19, in, 1, &out, &f8, 1, 0), RT_ERR_UNSUPPORTED);
    cr_expect_not_null(strstr(rtt_err.msg, "float8e4m3fn"), "%s", rtt_err.msg);
    RtAttr s = rtt_attr_int("to", 8);
    cr_assert_eq(rtt_run1(RT_OP_CAST, 19, in, 1, &out, &s, 1, 0), RT_ERR_UNSUPPORTED);
    cr_expect_not_null(strstr(rtt_err.msg, "string"), "%s", rtt_err.msg);
}

Test(cast, castlike_takes_the_second_inputs_dtype) {
    float x[] = {1.5f, -2.25f};
    int64_t d[] = {2};
    RtTensor tx = rtt_tensor(RT_F32, 1, d, x), like = rtt_tensor(RT_F64, 0, NULL, NULL), out = {0};
    RtTensor *in[] = {&tx, &like};  /* like's data is never read */
    cr_assert_eq(rtt_run1(RT_OP_CAST_LIKE, 15, in, 2, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(out.dtype, RT_F64);
    cr_expect_eq(((double *)out.data)[0], 1.5);
    cr_expect_eq(((double *)out.data)[1], -2.25);
    free(out.data);
}
