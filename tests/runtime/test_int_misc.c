/*
 * test_int_misc.c — BitShift, Det, Unique and MaxUnpool of runtime/kernels/ref/int_misc.c on
 * the spec's examples and small cases worked out by hand in the comments: shifts that
 * overflow or reach the type's width, broadcasting, determinants that need a row swap and
 * singular ones, Unique with and without axis, sorted and not, NaN, MaxUnpool with and
 * without output_shape and pads, shape mode and the error paths.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rt_test_util.h"

static void expect_i64(const RtTensor *t, const int64_t *want, int n) {
    cr_assert_eq(t->dtype, RT_I64, "dtype %s, want int64", rt_dtype_name(t->dtype));
    cr_assert_eq(rt_numel(t), n, "numel %lld, want %d", (long long)rt_numel(t), n);
    for (int i = 0; i < n; i++)
        cr_expect_eq(((int64_t *)t->data)[i], want[i], "element %d: got %lld, want %lld", i,
                     (long long)((int64_t *)t->data)[i], (long long)want[i]);
}

/* ================================================================ BitShift */

static int shift(RtTensor *x, RtTensor *y, const char *dir, RtTensor *out) {
    RtTensor *in[] = {x, y};
    RtAttr a = rtt_attr_str("direction", dir);
    return rtt_run1(RT_OP_BIT_SHIFT, 11, in, 2, out, &a, dir ? 1 : 0, 0);
}

Test(bitshift, spec_examples_uint8) {
    /* the spec's examples: [16, 4, 1] << [1, 2, 3] = [32, 16, 8], >> gives [8, 1, 0] */
    static uint8_t xv[3] = {16, 4, 1}, yv[3] = {1, 2, 3};
    RtTensor x = rtt_tensor(RT_U8, 1, (int64_t[]){3}, xv), y = rtt_tensor(RT_U8, 1, (int64_t[]){3}, yv), out = {0};
    cr_assert_eq(shift(&x, &y, "LEFT", &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_u8(&out, (uint8_t[]){32, 16, 8}, 3);
    free(out.data);
    cr_assert_eq(shift(&x, &y, "RIGHT", &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_u8(&out, (uint8_t[]){8, 1, 0}, 3);
    free(out.data);
}

Test(bitshift, overflow_and_wide_shifts) {
    /* 200 << 1 = 400 keeps its low 8 bits: 144; 1 << 8 and 255 >> 9 shift every bit out: 0;
     * 255 << 7 = 0x7f80 -> 0x80 = 128 */
    static uint8_t xv[4] = {200, 1, 255, 255}, yv[4] = {1, 8, 9, 7};
    RtTensor x = rtt_tensor(RT_U8, 1, (int64_t[]){4}, xv), y = rtt_tensor(RT_U8, 1, (int64_t[]){4}, yv), out = {0};
    cr_assert_eq(shift(&x, &y, "LEFT", &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_u8(&out, (uint8_t[]){144, 0, 0, 128}, 4);
    free(out.data);
    /* uint64: 1 << 63 is the top bit; that >> 63 is 1; a shift of 64 gives 0 */
    static uint64_t a[3] = {1, UINT64_C(0x8000000000000000), 5}, s[3] = {63, 63, 64};
    RtTensor x64 = rtt_tensor(RT_U64, 1, (int64_t[]){3}, a), y64 = rtt_tensor(RT_U64, 1, (int64_t[]){3}, s);
    cr_assert_eq(shift(&x64, &y64, "LEFT", &out), RT_OK, "%s", rtt_err.msg);
    cr_expect_eq(((uint64_t *)out.data)[0], UINT64_C(0x8000000000000000));
    cr_expect_eq(((uint64_t *)out.data)[1], 0);
    cr_expect_eq(((uint64_t *)out.data)[2], 0);
    free(out.data);
    cr_assert_eq(shift(&x64, &y64, "RIGHT", &out), RT_OK, "%s", rtt_err.msg);
    cr_expect_eq(((uint64_t *)out.data)[0], 0);
    cr_expect_eq(((uint64_t *)out.data)[1], 1);
    cr_expect_eq(((uint64_t *)out.data)[2], 0);
    free(out.data);
}

Test(bitshift, broadcast_uint16) {
    /* x [2, 1] = {1, 3}, y [3] = {0, 1, 15}: [[1, 2, 32768], [3, 6, 32768]] (3 << 15 = 0x18000 -> 0x8000) */
    static uint16_t xv[2] = {1, 3}, yv[3] = {0, 1, 15};
    RtTensor x = rtt_tensor(RT_U16, 2, (int64_t[]){2, 1}, xv), y = rtt_tensor(RT_U16, 1, (int64_t[]){3}, yv), out = {0};
    cr_assert_eq(shift(&x, &y, "LEFT", &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 2, (int64_t[]){2, 3});
    const uint16_t want[6] = {1, 2, 32768, 3, 6, 32768};
    for (int i = 0; i < 6; i++) cr_expect_eq(((uint16_t *)out.data)[i], want[i], "element %d", i);
    free(out.data);
}

Test(bitshift, errors) {
    static int32_t xi[2];
    static uint8_t xu[2];
    static uint16_t yu[2];
    static uint8_t y3[3];
    RtTensor x = rtt_tensor(RT_I32, 1, (int64_t[]){2}, xi), y = rtt_tensor(RT_I32, 1, (int64_t[]){2}, xi), out = {0};
    cr_expect_eq(shift(&x, &y, "LEFT", &out), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "uint8") != NULL, "%s", rtt_err.msg);
    RtTensor x8 = rtt_tensor(RT_U8, 1, (int64_t[]){2}, xu), y16 = rtt_tensor(RT_U16, 1, (int64_t[]){2}, yu);
    cr_expect_eq(shift(&x8, &y16, "LEFT", &out), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "dtype of 'X'") != NULL, "%s", rtt_err.msg);
    RtTensor y8 = rtt_tensor(RT_U8, 1, (int64_t[]){2}, xu);
    cr_expect_eq(shift(&x8, &y8, "UP", &out), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "direction") != NULL, "%s", rtt_err.msg);
    cr_expect_eq(shift(&x8, &y8, NULL, &out), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "direction") != NULL, "%s", rtt_err.msg);
    RtTensor y3t = rtt_tensor(RT_U8, 1, (int64_t[]){3}, y3);
    cr_expect_eq(shift(&x8, &y3t, "LEFT", &out), RT_ERR, "[2] and [3] do not broadcast");
}

/* ================================================================ Det */

static int det(RtTensor *x, RtTensor *out) {
    RtTensor *in[] = {x};
    return rtt_run1(RT_OP_DET, 11, in, 1, out, NULL, 0, 0);
}

/* LU in double, rounded once to float: a few ulps of the largest pivot product */
#define DET_TOL 1e-5

Test(det, batched_and_pivoting) {
    /* det [[1, 2], [3, 4]] = 4 - 6 = -2; det [[2, 0], [0, 3]] = 6;
     * det [[1, 2], [2, 4]] = 0 (singular: the second row is twice the first) */
    static float m[12] = {1, 2, 3, 4, 2, 0, 0, 3, 1, 2, 2, 4};
    RtTensor x = rtt_tensor(RT_F32, 3, (int64_t[]){3, 2, 2}, m), out = {0};
    cr_assert_eq(det(&x, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 1, (int64_t[]){3});
    rtt_expect_f32(&out, (float[]){-2, 6, 0}, 3, DET_TOL, DET_TOL);
    free(out.data);
    /* a zero in the corner needs a row swap: [[0, 1, 2], [1, 0, 3], [4, -3, 8]],
     * cofactors along row 0: 0 * (0*8 - 3*(-3)) - 1 * (1*8 - 3*4) + 2 * (1*(-3) - 0*4) = 4 - 6 = -2 */
    static float p[9] = {0, 1, 2, 1, 0, 3, 4, -3, 8};
    RtTensor x3 = rtt_tensor(RT_F32, 2, (int64_t[]){3, 3}, p);
    cr_assert_eq(det(&x3, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 0, NULL);
    rtt_expect_f32(&out, (float[]){-2}, 1, DET_TOL, DET_TOL);
    free(out.data);
}

Test(det, float64_and_empty) {
    /* det of a permutation matrix of one swap is -1; upper triangular: product of the diagonal */
    static double m[8] = {0, 1, 1, 0, 0.5, 7, 0, 0.25};
    RtTensor x = rtt_tensor(RT_F64, 3, (int64_t[]){2, 2, 2}, m), out = {0};
    cr_assert_eq(det(&x, &out), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(out.dtype, RT_F64);
    cr_expect_eq(((double *)out.data)[0], -1.0);
    cr_expect_eq(((double *)out.data)[1], 0.125);
    free(out.data);
    /* a 0 x 0 matrix: the empty product, 1 */
    static float e[1];
    RtTensor x0 = rtt_tensor(RT_F32, 2, (int64_t[]){0, 0}, e);
    cr_assert_eq(det(&x0, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){1}, 1, 0, 0);
    free(out.data);
}

Test(det, errors_and_shape_mode) {
    static float m[6];
    RtTensor x = rtt_tensor(RT_F32, 2, (int64_t[]){2, 3}, m), out = {0};
    cr_expect_eq(det(&x, &out), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "[..., M, M]") != NULL, "%s", rtt_err.msg);
    RtTensor x1 = rtt_tensor(RT_F32, 1, (int64_t[]){4}, m);
    cr_expect_eq(det(&x1, &out), RT_ERR);
    static int32_t mi[4];
    RtTensor xi = rtt_tensor(RT_I32, 2, (int64_t[]){2, 2}, mi);
    cr_expect_eq(det(&xi, &out), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "float") != NULL, "%s", rtt_err.msg);
    RtTensor xs = rtt_tensor(RT_F32, 4, (int64_t[]){2, 5, 3, 3}, NULL);
    RtTensor *in[] = {&xs};
    cr_expect_eq(rtt_run1(RT_OP_DET, 11, in, 1, &out, NULL, 0, 1), RT_SHAPE_ONLY);
    rtt_expect_dims(&out, 2, (int64_t[]){2, 5});
}

/* ================================================================ Unique */

/* Runs Unique with all four outputs; axis < -100 = absent. */
static int unique(RtTensor *x, int64_t axis, int sorted, RtTensor *out, int shape_only) {
    RtTensor *in[] = {x};
    RtAttr a[2];
    int na = 0;
    if (axis > -100) a[na++] = rtt_attr_int("axis", axis);
    if (sorted >= 0) a[na++] = rtt_attr_int("sorted", sorted);
    return rtt_run(RT_OP_UNIQUE, 11, in, 1, out, 4, a, na, shape_only);
}

#define NO_AXIS (-1000)

Test(unique, spec_example_1_not_sorted) {
    static float xv[6] = {2, 1, 1, 3, 4, 3};
    RtTensor x = rtt_tensor(RT_F32, 1, (int64_t[]){6}, xv), out[4];
    cr_assert_eq(unique(&x, NO_AXIS, 0, out, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out[0], (float[]){2, 1, 3, 4}, 4, 0, 0);
    expect_i64(&out[1], (int64_t[]){0, 1, 3, 4}, 4);
    expect_i64(&out[2], (int64_t[]){0, 1, 1, 2, 3, 2}, 6);
    expect_i64(&out[3], (int64_t[]){1, 2, 2, 1}, 4);
    rtt_free_outputs(out, 4);
    /* the same data sorted (the default): [1, 2, 3, 4], first at 1, 0, 3, 4 */
    cr_assert_eq(unique(&x, NO_AXIS, -1, out, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out[0], (float[]){1, 2, 3, 4}, 4, 0, 0);
    expect_i64(&out[1], (int64_t[]){1, 0, 3, 4}, 4);
    expect_i64(&out[2], (int64_t[]){1, 0, 0, 2, 3, 2}, 6);
    expect_i64(&out[3], (int64_t[]){2, 1, 2, 1}, 4);
    rtt_free_outputs(out, 4);
}

Test(unique, spec_example_2_flattened) {
    /* [[1, 3], [2, 3]] flattened: Y [1, 2, 3], indices [0, 2, 1], inverse [0, 2, 1, 2], counts [1, 1, 2] */
    static int64_t xv[4] = {1, 3, 2, 3};
    RtTensor x = rtt_tensor(RT_I64, 2, (int64_t[]){2, 2}, xv), out[4];
    cr_assert_eq(unique(&x, NO_AXIS, 1, out, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out[0], 1, (int64_t[]){3});
    expect_i64(&out[0], (int64_t[]){1, 2, 3}, 3);
    expect_i64(&out[1], (int64_t[]){0, 2, 1}, 3);
    expect_i64(&out[2], (int64_t[]){0, 2, 1, 2}, 4);
    expect_i64(&out[3], (int64_t[]){1, 1, 2}, 3);
    rtt_free_outputs(out, 4);
}

Test(unique, spec_examples_3_4_axis) {
    /* rows of [[1, 0, 0], [1, 0, 0], [2, 3, 4]]: Y [[1, 0, 0], [2, 3, 4]], indices [0, 2],
     * inverse [0, 0, 1], counts [2, 1] */
    static float xv[9] = {1, 0, 0, 1, 0, 0, 2, 3, 4};
    RtTensor x = rtt_tensor(RT_F32, 2, (int64_t[]){3, 3}, xv), out[4];
    cr_assert_eq(unique(&x, 0, 1, out, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out[0], 2, (int64_t[]){2, 3});
    rtt_expect_f32(&out[0], (float[]){1, 0, 0, 2, 3, 4}, 6, 0, 0);
    expect_i64(&out[1], (int64_t[]){0, 2}, 2);
    expect_i64(&out[2], (int64_t[]){0, 0, 1}, 3);
    expect_i64(&out[3], (int64_t[]){2, 1}, 2);
    rtt_free_outputs(out, 4);
    /* [2, 4, 2] along axis 1 (also as -2): slices A = [[1,1],[1,1]] (k 0), B = [[0,1],[0,1]]
     * (k 1 and 3), C = [[2,1],[2,1]] (k 2); sorted B < A < C:
     * Y [[[0,1],[1,1],[2,1]], [[0,1],[1,1],[2,1]]], indices [1, 0, 2], inverse [1, 0, 2, 0], counts [2, 1, 1] */
    static float yv[16] = {1, 1, 0, 1, 2, 1, 0, 1, 1, 1, 0, 1, 2, 1, 0, 1};
    RtTensor y = rtt_tensor(RT_F32, 3, (int64_t[]){2, 4, 2}, yv);
    for (int64_t axis = -2; axis <= 1; axis += 3) {
        cr_assert_eq(unique(&y, axis, 1, out, 0), RT_OK, "%s", rtt_err.msg);
        rtt_expect_dims(&out[0], 3, (int64_t[]){2, 3, 2});
        rtt_expect_f32(&out[0], (float[]){0, 1, 1, 1, 2, 1, 0, 1, 1, 1, 2, 1}, 12, 0, 0);
        expect_i64(&out[1], (int64_t[]){1, 0, 2}, 3);
        expect_i64(&out[2], (int64_t[]){1, 0, 2, 0}, 4);
        expect_i64(&out[3], (int64_t[]){2, 1, 1}, 3);
        rtt_free_outputs(out, 4);
    }
    /* the same not sorted: order of first occurrence A, B, C */
    cr_assert_eq(unique(&y, 1, 0, out, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out[0], (float[]){1, 1, 0, 1, 2, 1, 1, 1, 0, 1, 2, 1}, 12, 0, 0);
    expect_i64(&out[1], (int64_t[]){0, 1, 2}, 3);
    expect_i64(&out[2], (int64_t[]){0, 1, 2, 1}, 4);
    expect_i64(&out[3], (int64_t[]){1, 2, 1}, 3);
    rtt_free_outputs(out, 4);
}

Test(unique, nan_and_one_output) {
    /* NaNs are one value, above every number: [NaN, 1, NaN, -2] -> [-2, 1, NaN], counts [1, 1, 2] */
    static float xv[4] = {NAN, 1, NAN, -2};
    RtTensor x = rtt_tensor(RT_F32, 1, (int64_t[]){4}, xv), out[4];
    cr_assert_eq(unique(&x, NO_AXIS, 1, out, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out[0], (float[]){-2, 1, NAN}, 3, 0, 0);
    expect_i64(&out[1], (int64_t[]){3, 1, 0}, 3);
    expect_i64(&out[3], (int64_t[]){1, 1, 2}, 3);
    rtt_free_outputs(out, 4);
    /* only Y asked for; uint8 */
    static uint8_t u[5] = {9, 9, 9, 0, 9};
    RtTensor xu = rtt_tensor(RT_U8, 1, (int64_t[]){5}, u);
    RtTensor *in[] = {&xu};
    cr_assert_eq(rtt_run1(RT_OP_UNIQUE, 11, in, 1, out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_u8(&out[0], (uint8_t[]){0, 9}, 2);
    free(out[0].data);
}

Test(unique, shape_mode_and_errors) {
    static float xv[4] = {3, 3, 1, 2};
    RtTensor x = rtt_tensor(RT_F32, 1, (int64_t[]){4}, xv), out[4];
    /* the output length depends on the values: unknown without them, exact with them */
    RtTensor xs = rtt_tensor(RT_F32, 1, (int64_t[]){4}, NULL);
    cr_expect_eq(unique(&xs, NO_AXIS, 1, out, 1), RT_SHAPE_UNKNOWN);
    cr_expect_eq(unique(&x, NO_AXIS, 1, out, 1), RT_SHAPE_ONLY);
    rtt_expect_dims(&out[0], 1, (int64_t[]){3});
    rtt_expect_dims(&out[2], 1, (int64_t[]){4});
    cr_expect_eq(unique(&x, 1, 1, out, 0), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "axis") != NULL, "%s", rtt_err.msg);
    cr_expect_eq(unique(&x, NO_AXIS, 2, out, 0), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "sorted") != NULL, "%s", rtt_err.msg);
}

/* ================================================================ MaxUnpool */

/* The spec's example: X [1, 1, 2, 2] = [1, 2, 3, 4] pooled 2x2 / 2 from a 4x4 map at flat
 * positions 5, 7, 13, 15. */
static float g_ux[4] = {1, 2, 3, 4};
static int64_t g_ui[4] = {5, 7, 13, 15};

static int unpool(const int64_t *idx, const int64_t *oshape, const int64_t *pads, RtTensor *out, int shape_only) {
    static int64_t iv[4], ov[4];
    memcpy(iv, idx, sizeof iv);
    if (oshape) memcpy(ov, oshape, sizeof ov);
    static RtTensor tx, ti, to;
    tx = rtt_tensor(RT_F32, 4, (int64_t[]){1, 1, 2, 2}, g_ux);
    ti = rtt_tensor(RT_I64, 4, (int64_t[]){1, 1, 2, 2}, iv);
    to = rtt_tensor(RT_I64, 1, (int64_t[]){4}, ov);
    RtTensor *in[] = {&tx, &ti, oshape ? &to : NULL};
    static const int64_t k[2] = {2, 2}, s[2] = {2, 2};
    RtAttr a[3] = {rtt_attr_ints("kernel_shape", k, 2), rtt_attr_ints("strides", s, 2)};
    int na = 2;
    if (pads) a[na++] = rtt_attr_ints("pads", pads, 4);
    return rtt_run1(RT_OP_MAX_UNPOOL, 11, in, 3, out, a, na, shape_only);
}

Test(maxunpool, inferred_shape) {
    RtTensor out = {0};
    cr_assert_eq(unpool(g_ui, NULL, NULL, &out, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 4, (int64_t[]){1, 1, 4, 4});
    float want[16] = {0};
    want[5] = 1, want[7] = 2, want[13] = 3, want[15] = 4;
    rtt_expect_f32(&out, want, 16, 0, 0);
    free(out.data);
    /* pads 1 on every side: (2 - 1) * 2 + 2 - 1 - 1 = 2 per axis; indices within 4 */
    static const int64_t p[4] = {1, 1, 1, 1};
    cr_assert_eq(unpool((int64_t[]){3, 2, 1, 0}, NULL, p, &out, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 4, (int64_t[]){1, 1, 2, 2});
    rtt_expect_f32(&out, (float[]){4, 3, 2, 1}, 4, 0, 0);
    free(out.data);
}

Test(maxunpool, output_shape_indexes_flat_output) {
    /* output_shape [1, 1, 5, 5]: the same flat positions 5, 7, 13, 15 of the 25 elements,
     * i.e. (1, 0), (1, 2), (2, 3), (3, 0) (onnxruntime and PyTorch read them so) */
    RtTensor out = {0};
    cr_assert_eq(unpool(g_ui, (int64_t[]){1, 1, 5, 5}, NULL, &out, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 4, (int64_t[]){1, 1, 5, 5});
    float want[25] = {0};
    want[5] = 1, want[7] = 2, want[13] = 3, want[15] = 4;
    rtt_expect_f32(&out, want, 25, 0, 0);
    free(out.data);
    /* shape mode: output_shape's values unknown -> shape unknown */
    RtTensor tx = rtt_tensor(RT_F32, 4, (int64_t[]){1, 1, 2, 2}, NULL), ti = rtt_tensor(RT_I64, 4, (int64_t[]){1, 1, 2, 2}, NULL),
             to = rtt_tensor(RT_I64, 1, (int64_t[]){4}, NULL);
    RtTensor *in[] = {&tx, &ti, &to};
    static const int64_t k[2] = {2, 2};
    RtAttr a = rtt_attr_ints("kernel_shape", k, 2);
    cr_expect_eq(rtt_run1(RT_OP_MAX_UNPOOL, 11, in, 3, &out, &a, 1, 1), RT_SHAPE_UNKNOWN);
    in[2] = NULL; /* stride 1: (2 - 1) + 2 = 3 per axis */
    cr_expect_eq(rtt_run1(RT_OP_MAX_UNPOOL, 11, in, 3, &out, &a, 1, 1), RT_SHAPE_ONLY);
    rtt_expect_dims(&out, 4, (int64_t[]){1, 1, 3, 3});
}

Test(maxunpool, errors) {
    RtTensor out = {0};
    cr_expect_eq(unpool((int64_t[]){5, 7, 13, 16}, NULL, NULL, &out, 0), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "element 3 is 16") != NULL, "%s", rtt_err.msg);
    rtt_free_outputs(&out, 1); /* allocated before the indices were read */
    cr_expect_eq(unpool((int64_t[]){-1, 7, 13, 15}, NULL, NULL, &out, 0), RT_ERR);
    rtt_free_outputs(&out, 1);
    cr_expect_eq(unpool(g_ui, (int64_t[]){1, 2, 5, 5}, NULL, &out, 0), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "output_shape") != NULL, "%s", rtt_err.msg);
    /* no kernel_shape; I of another shape */
    RtTensor tx = rtt_tensor(RT_F32, 4, (int64_t[]){1, 1, 2, 2}, g_ux), ti = rtt_tensor(RT_I64, 4, (int64_t[]){1, 1, 2, 2}, g_ui);
    RtTensor *in[] = {&tx, &ti};
    cr_expect_eq(rtt_run1(RT_OP_MAX_UNPOOL, 11, in, 2, &out, NULL, 0, 0), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "kernel_shape") != NULL, "%s", rtt_err.msg);
    static const int64_t k[2] = {2, 2};
    RtAttr a = rtt_attr_ints("kernel_shape", k, 2);
    ti.dims[3] = 1;
    cr_expect_eq(rtt_run1(RT_OP_MAX_UNPOOL, 11, in, 2, &out, &a, 1, 0), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "shape of 'X'") != NULL, "%s", rtt_err.msg);
}
