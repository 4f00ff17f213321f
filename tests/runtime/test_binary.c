/*
 * test_binary.c — hand-computed cases for the broadcasting element-wise kernels in
 * runtime/kernels/ref/binary.c (arithmetic, Mod, Pow, PRelu, comparisons, logic, Where,
 * variadic Max/Min/Sum/Mean), called directly through rt_kernel_find().
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rt_test_util.h"

/* float32 results of one rounded operation on exact inputs: a few ulps of slack */
#define F32_TOL 1e-6
/* float16 keeps 11 significant bits: relative step 2^-11 ~ 4.9e-4 */
#define F16_REL_TOL 1e-3

Test(add, broadcast_234_with_31) {
    float a[24], b[3] = {100, 200, 300}, want[24];
    for (int i = 0; i < 24; i++) {
        a[i] = (float)i;
        want[i] = (float)i + b[(i / 4) % 3];  /* b's [3,1] runs along axis 1, repeats along 2 */
    }
    int64_t da[] = {2, 3, 4}, db[] = {3, 1};
    RtTensor ta = rtt_tensor(RT_F32, 3, da, a), tb = rtt_tensor(RT_F32, 2, db, b), out = {0};
    RtTensor *in[] = {&ta, &tb};
    cr_assert_eq(rtt_run1(RT_OP_ADD, 14, in, 2, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 3, da);
    rtt_expect_f32(&out, want, 24, F32_TOL, F32_TOL);
    free(out.data);
}

Test(sub, broadcast_1_with_23_either_side) {
    float a[1] = {10}, b[6] = {1, 2, 3, 4, 5, 6};
    int64_t da[] = {1}, db[] = {2, 3};
    RtTensor ta = rtt_tensor(RT_F32, 1, da, a), tb = rtt_tensor(RT_F32, 2, db, b), out = {0}, out2 = {0};
    RtTensor *in[] = {&ta, &tb}, *in2[] = {&tb, &ta};
    cr_assert_eq(rtt_run1(RT_OP_SUB, 14, in, 2, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(rtt_run1(RT_OP_SUB, 14, in2, 2, &out2, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 2, db);
    rtt_expect_f32(&out, (float[]){9, 8, 7, 6, 5, 4}, 6, F32_TOL, F32_TOL);
    rtt_expect_f32(&out2, (float[]){-9, -8, -7, -6, -5, -4}, 6, F32_TOL, F32_TOL);
    free(out.data);
    free(out2.data);
}

Test(mul, rank0_scalar_times_matrix) {
    float s = 3, m[4] = {1, -2, 3, -4};
    int64_t dm[] = {2, 2};
    RtTensor ts = rtt_tensor(RT_F32, 0, NULL, &s), tm = rtt_tensor(RT_F32, 2, dm, m), out = {0};
    RtTensor *in[] = {&ts, &tm};
    cr_assert_eq(rtt_run1(RT_OP_MUL, 14, in, 2, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 2, dm);
    rtt_expect_f32(&out, (float[]){3, -6, 9, -12}, 4, F32_TOL, F32_TOL);
    free(out.data);
}

Test(add, both_rank0_gives_rank0) {
    int64_t a = 5, b = -7;
    RtTensor ta = rtt_tensor(RT_I64, 0, NULL, &a), tb = rtt_tensor(RT_I64, 0, NULL, &b), out = {0};
    RtTensor *in[] = {&ta, &tb};
    cr_assert_eq(rtt_run1(RT_OP_ADD, 14, in, 2, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    cr_expect_eq(out.rank, 0);
    cr_expect_eq(((int64_t *)out.data)[0], -2);
    free(out.data);
}

Test(add, zero_sized_dim) {
    float a[1] = {0}, b[3] = {1, 2, 3};
    int64_t da[] = {0, 3}, db[] = {3};
    RtTensor ta = rtt_tensor(RT_F32, 2, da, a), tb = rtt_tensor(RT_F32, 1, db, b), out = {0};
    RtTensor *in[] = {&ta, &tb};
    cr_assert_eq(rtt_run1(RT_OP_ADD, 14, in, 2, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 2, da);
    free(out.data);
}

Test(add, int8_wraps_like_numpy) {
    int8_t a[2] = {127, -128}, b[2] = {1, -1};
    int64_t d[] = {2};
    RtTensor ta = rtt_tensor(RT_I8, 1, d, a), tb = rtt_tensor(RT_I8, 1, d, b), out = {0};
    RtTensor *in[] = {&ta, &tb};
    cr_assert_eq(rtt_run1(RT_OP_ADD, 14, in, 2, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    cr_expect_eq(((int8_t *)out.data)[0], -128);
    cr_expect_eq(((int8_t *)out.data)[1], 127);
    free(out.data);
}

Test(add, float16_rounds_through_float32) {
    /* 1 + 2^-11 is a float16 tie: rounds to even (1.0); 1024 + 0.5 likewise to 1024 */
    uint16_t a[3] = {rt_f32_to_f16(1.0f), rt_f32_to_f16(1024.0f), rt_f32_to_f16(0.1f)};
    uint16_t b[3] = {rt_f32_to_f16(1.0f / 2048), rt_f32_to_f16(0.5f), rt_f32_to_f16(0.2f)};
    int64_t d[] = {3};
    RtTensor ta = rtt_tensor(RT_F16, 1, d, a), tb = rtt_tensor(RT_F16, 1, d, b), out = {0};
    RtTensor *in[] = {&ta, &tb};
    cr_assert_eq(rtt_run1(RT_OP_ADD, 14, in, 2, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(out.dtype, RT_F16);
    const uint16_t *y = out.data;
    cr_expect_eq(rt_f16_to_f32(y[0]), 1.0f);
    cr_expect_eq(rt_f16_to_f32(y[1]), 1024.0f);
    cr_expect(fabsf(rt_f16_to_f32(y[2]) - 0.3f) < F16_REL_TOL * 0.3f, "%g", rt_f16_to_f32(y[2]));
    free(out.data);
}

Test(broadcast, incompatible_shapes_named_in_error) {
    float a[6] = {0}, b[4] = {0};
    int64_t da[] = {2, 3}, db[] = {4};
    RtTensor ta = rtt_tensor(RT_F32, 2, da, a), tb = rtt_tensor(RT_F32, 1, db, b), out = {0};
    RtTensor *in[] = {&ta, &tb};
    cr_assert_lt(rtt_run1(RT_OP_ADD, 14, in, 2, &out, NULL, 0, 0), 0);
    cr_expect_not_null(strstr(rtt_err.msg, "[2,3]"), "%s", rtt_err.msg);
    cr_expect_not_null(strstr(rtt_err.msg, "[4]"), "%s", rtt_err.msg);
    cr_expect_null(out.data);
}

Test(broadcast, mixed_dtypes_refused) {
    float a[1] = {1};
    int32_t b[1] = {1};
    int64_t d[] = {1};
    RtTensor ta = rtt_tensor(RT_F32, 1, d, a), tb = rtt_tensor(RT_I32, 1, d, b), out = {0};
    RtTensor *in[] = {&ta, &tb};
    cr_assert_lt(rtt_run1(RT_OP_MUL, 14, in, 2, &out, NULL, 0, 0), 0);
    cr_expect_not_null(strstr(rtt_err.msg, "int32"), "%s", rtt_err.msg);
}

Test(add, bool_is_unsupported) {
    uint8_t a[1] = {1};
    int64_t d[] = {1};
    RtTensor ta = rtt_tensor(RT_BOOL, 1, d, a), out = {0};
    RtTensor *in[] = {&ta, &ta};
    cr_assert_eq(rtt_run1(RT_OP_ADD, 14, in, 2, &out, NULL, 0, 0), RT_ERR_UNSUPPORTED);
    cr_expect_not_null(strstr(rtt_err.msg, "dtype bool is not supported for input 'A'"), "%s", rtt_err.msg);
}

Test(add, legacy_broadcast_attribute_refused) {
    float a[2] = {0}, b[1] = {0};
    int64_t da[] = {2}, db[] = {1};
    RtTensor ta = rtt_tensor(RT_F32, 1, da, a), tb = rtt_tensor(RT_F32, 1, db, b), out = {0};
    RtTensor *in[] = {&ta, &tb};
    RtAttr at[] = {rtt_attr_int("broadcast", 1), rtt_attr_int("axis", 0)};
    cr_assert_lt(rtt_run1(RT_OP_ADD, 7, in, 2, &out, at, 2, 0), 0);
    cr_expect_not_null(strstr(rtt_err.msg, "broadcast"), "%s", rtt_err.msg);
}

/* Opset 6: B's dims match A's from 'axis' (Add-1/6); by hand: out[i,j,k] = a[i,j,k] + b[j]. */
Test(add, legacy_broadcast_along_axis_opset6) {
    float a[12], b[3] = {10, 20, 30}, want[12];
    for (int f = 0; f < 12; f++) {
        a[f] = (float)f;
        want[f] = (float)f + b[(f / 2) % 3];
    }
    int64_t da[] = {2, 3, 2}, db[] = {3};
    RtTensor ta = rtt_tensor(RT_F32, 3, da, a), tb = rtt_tensor(RT_F32, 1, db, b), out = {0};
    RtTensor *in[] = {&ta, &tb};
    RtAttr at[] = {rtt_attr_int("broadcast", 1), rtt_attr_int("axis", 1)};
    cr_assert_eq(rtt_run1(RT_OP_ADD, 6, in, 2, &out, at, 2, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 3, da);
    rtt_expect_f32(&out, want, 12, 0, 0);
    rtt_free_outputs(&out, 1);
    /* Pow-1 the same way: 2^[1,2,3] along axis 1 */
    float p2[12], e[3] = {1, 2, 3}, wp[12];
    for (int f = 0; f < 12; f++) {
        p2[f] = 2;
        wp[f] = (float)(2 << ((f / 2) % 3));
    }
    RtTensor tp = rtt_tensor(RT_F32, 3, da, p2), te = rtt_tensor(RT_F32, 1, db, e), *pin[] = {&tp, &te};
    cr_assert_eq(rtt_run1(RT_OP_POW, 6, pin, 2, &out, at, 2, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, wp, 12, 0, 0);
    rtt_free_outputs(&out, 1);
    /* a mismatch at the axis, and unequal shapes without broadcast=1, are refused */
    RtAttr at0[] = {rtt_attr_int("broadcast", 1), rtt_attr_int("axis", 0)};
    cr_assert_lt(rtt_run1(RT_OP_ADD, 6, in, 2, &out, at0, 2, 0), 0);
    cr_expect_not_null(strstr(rtt_err.msg, "from axis 0"), "%s", rtt_err.msg);
    cr_assert_lt(rtt_run1(RT_OP_ADD, 6, in, 2, &out, NULL, 0, 0), 0);
    cr_expect_not_null(strstr(rtt_err.msg, "'broadcast' is not 1"), "%s", rtt_err.msg);
}

Test(shape_only, computes_shape_without_data) {
    int64_t da[] = {2, 1, 4}, db[] = {3, 1};
    RtTensor ta = rtt_tensor(RT_F32, 3, da, NULL), tb = rtt_tensor(RT_F32, 2, db, NULL), out = {0};
    RtTensor *in[] = {&ta, &tb};
    cr_assert_eq(rtt_run1(RT_OP_DIV, 14, in, 2, &out, NULL, 0, 1), RT_SHAPE_ONLY, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 3, (int64_t[]){2, 3, 4});
    cr_expect_eq(out.dtype, RT_F32);
    cr_expect_null(out.data);
    RtTensor cmp = {0};
    cr_assert_eq(rtt_run1(RT_OP_LESS, 13, in, 2, &cmp, NULL, 0, 1), RT_SHAPE_ONLY, "%s", rtt_err.msg);
    cr_expect_eq(cmp.dtype, RT_BOOL);
}

Test(shape_only, unknown_input_data_means_shape_only) {
    float b[3] = {1, 2, 3};
    int64_t da[] = {2, 3}, db[] = {3};
    RtTensor ta = rtt_tensor(RT_F32, 2, da, NULL), tb = rtt_tensor(RT_F32, 1, db, b), out = {0};
    RtTensor *in[] = {&ta, &tb};
    cr_assert_eq(rtt_run1(RT_OP_ADD, 14, in, 2, &out, NULL, 0, 0), RT_SHAPE_ONLY, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 2, da);
    cr_expect_null(out.data);
}

Test(div, integer_truncates_toward_zero) {
    int32_t a[5] = {7, -7, 7, -7, INT32_MIN}, b[5] = {2, 2, -2, -2, -1};
    int64_t d[] = {5};
    RtTensor ta = rtt_tensor(RT_I32, 1, d, a), tb = rtt_tensor(RT_I32, 1, d, b), out = {0};
    RtTensor *in[] = {&ta, &tb};
    cr_assert_eq(rtt_run1(RT_OP_DIV, 14, in, 2, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_i32(&out, (int32_t[]){3, -3, -3, 3, INT32_MIN}, 5); /* INT32_MIN / -1 wraps */
    free(out.data);
}

Test(div, integer_division_by_zero_is_an_error) {
    int32_t a[2] = {1, 2}, b[2] = {1, 0};
    int64_t d[] = {2};
    RtTensor ta = rtt_tensor(RT_I32, 1, d, a), tb = rtt_tensor(RT_I32, 1, d, b), out = {0};
    RtTensor *in[] = {&ta, &tb};
    cr_assert_lt(rtt_run1(RT_OP_DIV, 14, in, 2, &out, NULL, 0, 0), 0);
    cr_expect_not_null(strstr(rtt_err.msg, "division by zero"), "%s", rtt_err.msg);
}

Test(div, float_by_zero_is_inf) {
    float a[2] = {1, -1}, b[1] = {0};
    int64_t da[] = {2}, db[] = {1};
    RtTensor ta = rtt_tensor(RT_F32, 1, da, a), tb = rtt_tensor(RT_F32, 1, db, b), out = {0};
    RtTensor *in[] = {&ta, &tb};
    cr_assert_eq(rtt_run1(RT_OP_DIV, 14, in, 2, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    cr_expect(isinf(((float *)out.data)[0]) && ((float *)out.data)[0] > 0);
    cr_expect(isinf(((float *)out.data)[1]) && ((float *)out.data)[1] < 0);
    free(out.data);
}

Test(mod, integer_signs_python_and_c) {
    int32_t a[4] = {7, -7, 7, -7}, b[4] = {3, 3, -3, -3};
    int64_t d[] = {4};
    RtTensor ta = rtt_tensor(RT_I32, 1, d, a), tb = rtt_tensor(RT_I32, 1, d, b), py = {0}, cm = {0};
    RtTensor *in[] = {&ta, &tb};
    RtAttr f0 = rtt_attr_int("fmod", 0), f1 = rtt_attr_int("fmod", 1);
    cr_assert_eq(rtt_run1(RT_OP_MOD, 13, in, 2, &py, &f0, 1, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(rtt_run1(RT_OP_MOD, 13, in, 2, &cm, &f1, 1, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_i32(&py, (int32_t[]){1, 2, -2, -1}, 4); /* sign of the divisor */
    rtt_expect_i32(&cm, (int32_t[]){1, -1, 1, -1}, 4); /* sign of the dividend */
    free(py.data);
    free(cm.data);
}

Test(mod, float_needs_fmod_1) {
    float a[2] = {-4.5f, 7.5f}, b[2] = {2, -2};
    int64_t d[] = {2};
    RtTensor ta = rtt_tensor(RT_F32, 1, d, a), tb = rtt_tensor(RT_F32, 1, d, b), out = {0}, bad = {0};
    RtTensor *in[] = {&ta, &tb};
    RtAttr f0 = rtt_attr_int("fmod", 0), f1 = rtt_attr_int("fmod", 1);
    cr_assert_eq(rtt_run1(RT_OP_MOD, 13, in, 2, &out, &f1, 1, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){-0.5f, 1.5f}, 2, F32_TOL, F32_TOL);
    cr_expect_lt(rtt_run1(RT_OP_MOD, 13, in, 2, &bad, &f0, 1, 0), 0);
    cr_expect_not_null(strstr(rtt_err.msg, "fmod"), "%s", rtt_err.msg);
    free(out.data);
}

Test(pow, integer_base_and_float_base_with_int_exponent) {
    int32_t xb[4] = {2, -3, 5, 2}, xe[4] = {10, 3, 0, -1};
    int64_t d[] = {4};
    RtTensor tb = rtt_tensor(RT_I32, 1, d, xb), te = rtt_tensor(RT_I32, 1, d, xe), out = {0};
    RtTensor *in[] = {&tb, &te};
    cr_assert_eq(rtt_run1(RT_OP_POW, 15, in, 2, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_i32(&out, (int32_t[]){1024, -27, 1, 0}, 4); /* 2^-1 = 0.5 truncates to 0 */
    free(out.data);

    float fb[3] = {2, 4, -2};
    int64_t fe[1] = {3};
    int64_t d3[] = {3}, d1[] = {1};
    RtTensor tfb = rtt_tensor(RT_F32, 1, d3, fb), tfe = rtt_tensor(RT_I64, 1, d1, fe), fout = {0};
    RtTensor *fin[] = {&tfb, &tfe};
    cr_assert_eq(rtt_run1(RT_OP_POW, 15, fin, 2, &fout, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&fout, (float[]){8, 64, -8}, 3, F32_TOL, F32_TOL);
    free(fout.data);
}

Test(prelu, slope_broadcasts_unidirectionally) {
    float x[6] = {-1, 2, -3, 4, -5, 6}, s[3] = {0.5f, 1, 2};
    int64_t dx[] = {2, 3}, ds[] = {3};
    RtTensor tx = rtt_tensor(RT_F32, 2, dx, x), ts = rtt_tensor(RT_F32, 1, ds, s), out = {0};
    RtTensor *in[] = {&tx, &ts};
    cr_assert_eq(rtt_run1(RT_OP_PRELU, 16, in, 2, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){-0.5f, 2, -6, 4, -5, 6}, 6, F32_TOL, F32_TOL);
    free(out.data);

    /* a slope that would grow X's shape is refused */
    int64_t dbig[] = {2, 2, 3};
    float big[12] = {0};
    RtTensor tbig = rtt_tensor(RT_F32, 3, dbig, big), bad = {0};
    RtTensor *in2[] = {&tx, &tbig};
    cr_assert_lt(rtt_run1(RT_OP_PRELU, 16, in2, 2, &bad, NULL, 0, 0), 0);
    cr_expect_not_null(strstr(rtt_err.msg, "slope"), "%s", rtt_err.msg);
}

Test(compare, less_and_equal_broadcast_to_bool) {
    int64_t a[6] = {1, 2, 3, 4, 5, 6}, b[3] = {2, 2, 7};
    int64_t da[] = {2, 3}, db[] = {3};
    RtTensor ta = rtt_tensor(RT_I64, 2, da, a), tb = rtt_tensor(RT_I64, 1, db, b), lt = {0}, eq = {0};
    RtTensor *in[] = {&ta, &tb};
    cr_assert_eq(rtt_run1(RT_OP_LESS, 13, in, 2, &lt, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(rtt_run1(RT_OP_EQUAL, 13, in, 2, &eq, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(lt.dtype, RT_BOOL);
    rtt_expect_u8(&lt, (uint8_t[]){1, 0, 1, 0, 0, 1}, 6);
    rtt_expect_u8(&eq, (uint8_t[]){0, 1, 0, 0, 0, 0}, 6);
    free(lt.data);
    free(eq.data);
}

Test(compare, nan_is_never_equal) {
    float a[2] = {NAN, 1}, b[2] = {NAN, 1};
    int64_t d[] = {2};
    RtTensor ta = rtt_tensor(RT_F32, 1, d, a), tb = rtt_tensor(RT_F32, 1, d, b), out = {0};
    RtTensor *in[] = {&ta, &tb};
    cr_assert_eq(rtt_run1(RT_OP_EQUAL, 13, in, 2, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_u8(&out, (uint8_t[]){0, 1}, 2);
    free(out.data);
}

Test(logic, and_or_xor_on_bool) {
    uint8_t a[4] = {0, 0, 1, 1}, b[4] = {0, 1, 0, 1};
    int64_t d[] = {4};
    RtTensor ta = rtt_tensor(RT_BOOL, 1, d, a), tb = rtt_tensor(RT_BOOL, 1, d, b), o1 = {0}, o2 = {0}, o3 = {0};
    RtTensor *in[] = {&ta, &tb};
    cr_assert_eq(rtt_run1(RT_OP_AND, 7, in, 2, &o1, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(rtt_run1(RT_OP_OR, 7, in, 2, &o2, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(rtt_run1(RT_OP_XOR, 7, in, 2, &o3, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_u8(&o1, (uint8_t[]){0, 0, 0, 1}, 4);
    rtt_expect_u8(&o2, (uint8_t[]){0, 1, 1, 1}, 4);
    rtt_expect_u8(&o3, (uint8_t[]){0, 1, 1, 0}, 4);
    free(o1.data);
    free(o2.data);
    free(o3.data);
}

Test(where, three_way_broadcast) {
    uint8_t c[2] = {1, 0};
    float x[3] = {1, 2, 3}, y = -1;
    int64_t dc[] = {2, 1}, dx[] = {1, 3};
    RtTensor tc = rtt_tensor(RT_BOOL, 2, dc, c), tx = rtt_tensor(RT_F32, 2, dx, x),
             ty = rtt_tensor(RT_F32, 0, NULL, &y), out = {0};
    RtTensor *in[] = {&tc, &tx, &ty};
    cr_assert_eq(rtt_run1(RT_OP_WHERE, 16, in, 3, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 2, (int64_t[]){2, 3});
    rtt_expect_f32(&out, (float[]){1, 2, 3, -1, -1, -1}, 6, F32_TOL, F32_TOL);
    free(out.data);
}

Test(where, condition_must_be_bool) {
    float c[1] = {1}, x[1] = {1};
    int64_t d[] = {1};
    RtTensor tc = rtt_tensor(RT_F32, 1, d, c), tx = rtt_tensor(RT_F32, 1, d, x), out = {0};
    RtTensor *in[] = {&tc, &tx, &tx};
    cr_assert_eq(rtt_run1(RT_OP_WHERE, 16, in, 3, &out, NULL, 0, 0), RT_ERR_UNSUPPORTED);
    cr_expect_not_null(strstr(rtt_err.msg, "condition"), "%s", rtt_err.msg);
}

Test(variadic, max_of_three_broadcast_with_nan) {
    float a[6] = {1, 5, 3, 0, 0, NAN}, b[3] = {2, 2, 2}, c[1] = {4};
    int64_t da[] = {2, 3}, db[] = {3}, dc[] = {1};
    RtTensor ta = rtt_tensor(RT_F32, 2, da, a), tb = rtt_tensor(RT_F32, 1, db, b), tc = rtt_tensor(RT_F32, 1, dc, c),
             out = {0};
    RtTensor *in[] = {&ta, &tb, &tc};
    cr_assert_eq(rtt_run1(RT_OP_MAX, 13, in, 3, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 2, da);
    const float *y = out.data;
    float want[5] = {4, 5, 4, 4, 4};
    for (int i = 0; i < 5; i++) cr_expect_eq(y[i], want[i], "[%d]: %g", i, y[i]);
    cr_expect(isnan(y[5]), "NaN propagates, got %g", y[5]);
    free(out.data);
}

Test(variadic, min_int_sum_mean_and_single_input) {
    int16_t a[3] = {1, -5, 3}, b[3] = {0, 0, 9};
    int64_t d[] = {3};
    RtTensor ta = rtt_tensor(RT_I16, 1, d, a), tb = rtt_tensor(RT_I16, 1, d, b), mn = {0};
    RtTensor *in[] = {&ta, &tb};
    cr_assert_eq(rtt_run1(RT_OP_MIN, 13, in, 2, &mn, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    cr_expect_eq(((int16_t *)mn.data)[0], 0);
    cr_expect_eq(((int16_t *)mn.data)[1], -5);
    cr_expect_eq(((int16_t *)mn.data)[2], 3);
    free(mn.data);

    float x[2] = {1, 2}, y[2] = {3, 5}, z[1] = {2};
    int64_t d2[] = {2}, d1[] = {1};
    RtTensor tx = rtt_tensor(RT_F32, 1, d2, x), ty = rtt_tensor(RT_F32, 1, d2, y), tz = rtt_tensor(RT_F32, 1, d1, z);
    RtTensor sum = {0}, mean = {0}, one = {0};
    RtTensor *fin[] = {&tx, &ty, &tz};
    cr_assert_eq(rtt_run1(RT_OP_SUM, 13, fin, 3, &sum, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(rtt_run1(RT_OP_MEAN, 13, fin, 3, &mean, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(rtt_run1(RT_OP_SUM, 13, fin, 1, &one, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&sum, (float[]){6, 9}, 2, F32_TOL, F32_TOL);
    rtt_expect_f32(&mean, (float[]){2, 3}, 2, F32_TOL, F32_TOL);
    rtt_expect_f32(&one, x, 2, F32_TOL, F32_TOL);
    free(sum.data);
    free(mean.data);
    free(one.data);
}

Test(variadic, sum_of_integers_is_unsupported) {
    int32_t a[1] = {1};
    int64_t d[] = {1};
    RtTensor ta = rtt_tensor(RT_I32, 1, d, a), out = {0};
    RtTensor *in[] = {&ta, &ta};
    cr_assert_eq(rtt_run1(RT_OP_SUM, 13, in, 2, &out, NULL, 0, 0), RT_ERR_UNSUPPORTED);
    cr_expect_not_null(strstr(rtt_err.msg, "int32"), "%s", rtt_err.msg);
}

Test(add, long_rows_match_scalar_loop) {
    /* odd sizes around the walker's row merging: [3,17,33] + [17,1] and + [33] */
    enum { A = 3, B = 17, C = 33 };
    static float x[A * B * C], s1[B], s2[C];
    for (int i = 0; i < A * B * C; i++) x[i] = (float)(i % 97) * 0.25f;
    for (int i = 0; i < B; i++) s1[i] = (float)i;
    for (int i = 0; i < C; i++) s2[i] = (float)(-i);
    int64_t dx[] = {A, B, C}, d1[] = {B, 1}, d2[] = {C};
    RtTensor tx = rtt_tensor(RT_F32, 3, dx, x), t1 = rtt_tensor(RT_F32, 2, d1, s1), t2 = rtt_tensor(RT_F32, 1, d2, s2);
    RtTensor o1 = {0}, o2 = {0};
    RtTensor *in1[] = {&tx, &t1}, *in2[] = {&t2, &tx};
    cr_assert_eq(rtt_run1(RT_OP_ADD, 14, in1, 2, &o1, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(rtt_run1(RT_OP_ADD, 14, in2, 2, &o2, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    const float *y1 = o1.data, *y2 = o2.data;
    int bad1 = 0, bad2 = 0;
    for (int i = 0; i < A * B * C; i++) {
        bad1 += y1[i] != x[i] + s1[(i / C) % B];
        bad2 += y2[i] != x[i] + s2[i % C];
    }
    cr_expect_eq(bad1, 0);
    cr_expect_eq(bad2, 0);
    free(o1.data);
    free(o2.data);
}
