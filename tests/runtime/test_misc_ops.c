/*
 * test_misc_ops.c — Upsample, LRN, EyeLike, Compress, NonZero, Shrink and ReverseSequence of
 * runtime/kernels/ref/misc_ops.c on the ONNX spec's examples and cases worked out by hand
 * (each expected value is derived in the comment above it), plus error paths and shape mode.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rt_test_util.h"

/* LRN and linear Upsample compute in double and round once to float32: 1 ulp of slack. */
#define F32_TOL 1e-6

/* ---- Upsample ---- */

Test(upsample, nearest_spec_example_attribute_and_input) {
    float x[4] = {1, 2, 3, 4}, sc[4] = {1, 1, 2, 3};
    int64_t xd[] = {1, 1, 2, 2}, sd[] = {4};
    float want[24] = {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4};
    RtTensor tx = rtt_tensor(RT_F32, 4, xd, x), ts = rtt_tensor(RT_F32, 1, sd, sc), out = {0};
    RtTensor *in[] = {&tx, &ts};
    cr_assert_eq(rtt_run1(RT_OP_UPSAMPLE, 9, in, 2, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 4, (int64_t[]){1, 1, 4, 6});
    rtt_expect_f32(&out, want, 24, 0, 0);
    free(out.data);
    RtAttr a[] = {{.name = "scales", .type = RT_ATTR_FLOATS, .n = 4, .floats = sc}};
    cr_assert_eq(rtt_run1(RT_OP_UPSAMPLE, 7, in, 1, &out, a, 1, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, want, 24, 0, 0);
    free(out.data);
}

Test(upsample, nearest_fractional_scale_int64) {
    /* dims [1,3] * [1,1.5] -> [1,4]; o/1.5 = 0, 0.67, 1.33, 2 -> floor 0, 0, 1, 2 */
    int64_t x[3] = {10, 20, 30}, xd[] = {1, 3}, sd[] = {2};
    float sc[2] = {1, 1.5f};
    RtTensor tx = rtt_tensor(RT_I64, 2, xd, x), ts = rtt_tensor(RT_F32, 1, sd, sc), out = {0};
    RtTensor *in[] = {&tx, &ts};
    cr_assert_eq(rtt_run1(RT_OP_UPSAMPLE, 9, in, 2, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 2, (int64_t[]){1, 4});
    int64_t want[4] = {10, 10, 20, 30};
    cr_expect_eq(memcmp(out.data, want, sizeof want), 0);
    free(out.data);
}

Test(upsample, linear_asymmetric_bilinear) {
    /* [[1,2],[3,4]] x2 both ways: x = o/2 = 0, .5, 1, 1.5 (clamped to 1).
     * rows: [1,1.5,2,2] and [3,3.5,4,4]; output row 1 is their mean, rows 2 and 3 the second. */
    float x[4] = {1, 2, 3, 4}, sc[4] = {1, 1, 2, 2};
    int64_t xd[] = {1, 1, 2, 2}, sd[] = {4};
    RtTensor tx = rtt_tensor(RT_F32, 4, xd, x), ts = rtt_tensor(RT_F32, 1, sd, sc), out = {0};
    RtTensor *in[] = {&tx, &ts};
    RtAttr a[] = {rtt_attr_str("mode", "linear")};
    cr_assert_eq(rtt_run1(RT_OP_UPSAMPLE, 9, in, 2, &out, a, 1, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 4, (int64_t[]){1, 1, 4, 4});
    float want[16] = {1, 1.5f, 2, 2, 2, 2.5f, 3, 3, 3, 3.5f, 4, 4, 3, 3.5f, 4, 4};
    rtt_expect_f32(&out, want, 16, F32_TOL, 0);
    free(out.data);
}

Test(upsample, errors_and_shape_mode) {
    int64_t xd[] = {1, 1, 2, 2}, sd[] = {3};
    float sc[3] = {1, 2, 2};
    RtTensor tx = rtt_tensor(RT_F32, 4, xd, NULL), ts = rtt_tensor(RT_F32, 1, sd, sc), out = {0};
    RtTensor *in[] = {&tx, &ts};
    cr_assert_eq(rtt_run1(RT_OP_UPSAMPLE, 9, in, 2, &out, NULL, 0, 1), RT_ERR);
    cr_expect_not_null(strstr(rtt_err.msg, "rank 4"), "%s", rtt_err.msg);
    RtAttr a[] = {rtt_attr_str("mode", "cubic")};
    cr_assert_eq(rtt_run1(RT_OP_UPSAMPLE, 9, in, 2, &out, a, 1, 1), RT_ERR);
    cr_expect_not_null(strstr(rtt_err.msg, "cubic"), "%s", rtt_err.msg);
    /* shape mode needs the scales' values */
    RtTensor tu = rtt_tensor(RT_F32, 1, (int64_t[]){4}, NULL);
    in[1] = &tu;
    cr_assert_eq(rtt_run1(RT_OP_UPSAMPLE, 9, in, 2, &out, NULL, 0, 1), RT_SHAPE_UNKNOWN);
    /* opset 7 without the attribute */
    cr_assert_eq(rtt_run1(RT_OP_UPSAMPLE, 7, in, 1, &out, NULL, 0, 1), RT_ERR);
    cr_expect_not_null(strstr(rtt_err.msg, "scales"), "%s", rtt_err.msg);
}

/* ---- LRN ---- */

Test(lrn, size3_and_size2_windows) {
    float x[3] = {1, 2, 3};
    int64_t xd[] = {1, 3, 1, 1};
    RtTensor tx = rtt_tensor(RT_F32, 4, xd, x), out = {0};
    RtTensor *in[] = {&tx};
    /* size 3, alpha 3 (alpha/size = 1), beta 1, bias 1: window c-1..c+1.
     * sums of squares 1+4, 1+4+9, 4+9 -> 1/6, 2/15, 3/14 */
    RtAttr a3[] = {rtt_attr_int("size", 3), rtt_attr_float("alpha", 3), rtt_attr_float("beta", 1),
                   rtt_attr_float("bias", 1)};
    cr_assert_eq(rtt_run1(RT_OP_LRN, 13, in, 1, &out, a3, 4, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){1.0f / 6, 2.0f / 15, 3.0f / 14}, 3, 0, F32_TOL);
    free(out.data);
    /* size 2: window c - floor(1/2) .. c + ceil(1/2) = c..c+1; alpha 2 -> alpha/size = 1.
     * sums 1+4, 4+9, 9 -> 1/6, 2/14, 3/10 */
    RtAttr a2[] = {rtt_attr_int("size", 2), rtt_attr_float("alpha", 2), rtt_attr_float("beta", 1),
                   rtt_attr_float("bias", 1)};
    cr_assert_eq(rtt_run1(RT_OP_LRN, 13, in, 1, &out, a2, 4, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){1.0f / 6, 2.0f / 14, 3.0f / 10}, 3, 0, F32_TOL);
    free(out.data);
    /* beta 0.5 and the default bias: 2 / sqrt(1 + 14) */
    RtAttr ab[] = {rtt_attr_int("size", 3), rtt_attr_float("alpha", 3), rtt_attr_float("beta", 0.5f)};
    cr_assert_eq(rtt_run1(RT_OP_LRN, 13, in, 1, &out, ab, 3, 0), RT_OK, "%s", rtt_err.msg);
    cr_expect_float_eq(((float *)out.data)[1], 2.0f / sqrtf(15.0f), F32_TOL);
    free(out.data);
}

Test(lrn, errors) {
    float x[3] = {1, 2, 3};
    int64_t xd[] = {1, 3, 1, 1};
    RtTensor tx = rtt_tensor(RT_F32, 4, xd, x), out = {0};
    RtTensor *in[] = {&tx};
    cr_assert_eq(rtt_run1(RT_OP_LRN, 13, in, 1, &out, NULL, 0, 0), RT_ERR);
    cr_expect_not_null(strstr(rtt_err.msg, "size"), "%s", rtt_err.msg);
    RtTensor t1 = rtt_tensor(RT_F32, 1, (int64_t[]){3}, x);
    in[0] = &t1;
    RtAttr a[] = {rtt_attr_int("size", 3)};
    cr_assert_eq(rtt_run1(RT_OP_LRN, 13, in, 1, &out, a, 1, 0), RT_ERR);
    cr_expect_not_null(strstr(rtt_err.msg, "rank"), "%s", rtt_err.msg);
    /* [N, C] works: the same channel window as [1,3,1,1] (size 3, alpha 3, beta 1: 2/15 in the middle) */
    RtTensor t2 = rtt_tensor(RT_F32, 2, (int64_t[]){1, 3}, x);
    in[0] = &t2;
    RtAttr a3[] = {rtt_attr_int("size", 3), rtt_attr_float("alpha", 3), rtt_attr_float("beta", 1)};
    cr_assert_eq(rtt_run1(RT_OP_LRN, 13, in, 1, &out, a3, 3, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){1.0f / 6, 2.0f / 15, 3.0f / 14}, 3, 0, F32_TOL);
    free(out.data);
}

/* ---- EyeLike ---- */

Test(eye_like, offsets_and_dtype) {
    int64_t xd[] = {3, 4};
    RtTensor tx = rtt_tensor(RT_F32, 2, xd, NULL), out = {0};
    RtTensor *in[] = {&tx};
    RtAttr a[] = {rtt_attr_int("k", 1), rtt_attr_int("dtype", RT_I32)};
    cr_assert_eq(rtt_run1(RT_OP_EYE_LIKE, 9, in, 1, &out, a, 2, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_i32(&out, (int32_t[]){0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}, 12);
    free(out.data);
    /* [3,2] with k = -2: only (2, 0); dtype from the input (float) */
    RtTensor t2 = rtt_tensor(RT_F32, 2, (int64_t[]){3, 2}, NULL);
    in[0] = &t2;
    RtAttr b[] = {rtt_attr_int("k", -2)};
    cr_assert_eq(rtt_run1(RT_OP_EYE_LIKE, 9, in, 1, &out, b, 1, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){0, 0, 0, 0, 1, 0}, 6, 0, 0);
    free(out.data);
    RtTensor t3 = rtt_tensor(RT_F32, 3, (int64_t[]){1, 2, 2}, NULL);
    in[0] = &t3;
    cr_assert_eq(rtt_run1(RT_OP_EYE_LIKE, 9, in, 1, &out, NULL, 0, 0), RT_ERR);
    cr_expect_not_null(strstr(rtt_err.msg, "2-D"), "%s", rtt_err.msg);
}

/* ---- Compress ---- */

Test(compress, spec_examples) {
    float x[6] = {1, 2, 3, 4, 5, 6};
    int64_t xd[] = {3, 2};
    uint8_t c0[3] = {0, 1, 1}, c1[2] = {0, 1}, cf[5] = {0, 1, 0, 0, 1};
    RtTensor tx = rtt_tensor(RT_F32, 2, xd, x), tc = rtt_tensor(RT_BOOL, 1, (int64_t[]){3}, c0), out = {0};
    RtTensor *in[] = {&tx, &tc};
    RtAttr a0[] = {rtt_attr_int("axis", 0)}, a1[] = {rtt_attr_int("axis", -1)};
    cr_assert_eq(rtt_run1(RT_OP_COMPRESS, 11, in, 2, &out, a0, 1, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 2, (int64_t[]){2, 2});
    rtt_expect_f32(&out, (float[]){3, 4, 5, 6}, 4, 0, 0);
    free(out.data);
    RtTensor t1 = rtt_tensor(RT_BOOL, 1, (int64_t[]){2}, c1);
    in[1] = &t1;
    cr_assert_eq(rtt_run1(RT_OP_COMPRESS, 11, in, 2, &out, a1, 1, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 2, (int64_t[]){3, 1});
    rtt_expect_f32(&out, (float[]){2, 4, 6}, 3, 0, 0);
    free(out.data);
    /* no axis: the flattened input, condition shorter than it */
    RtTensor tf = rtt_tensor(RT_BOOL, 1, (int64_t[]){5}, cf);
    in[1] = &tf;
    cr_assert_eq(rtt_run1(RT_OP_COMPRESS, 11, in, 2, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 1, (int64_t[]){2});
    rtt_expect_f32(&out, (float[]){2, 5}, 2, 0, 0);
    free(out.data);
}

Test(compress, long_condition_and_shape_mode) {
    float x[2] = {1, 2};
    uint8_t ok[4] = {0, 1, 0, 0}, bad[4] = {0, 1, 0, 1};
    RtTensor tx = rtt_tensor(RT_F32, 1, (int64_t[]){2}, x), tc = rtt_tensor(RT_BOOL, 1, (int64_t[]){4}, ok), out = {0};
    RtTensor *in[] = {&tx, &tc};
    RtAttr a[] = {rtt_attr_int("axis", 0)};
    cr_assert_eq(rtt_run1(RT_OP_COMPRESS, 11, in, 2, &out, a, 1, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){2}, 1, 0, 0);
    free(out.data);
    RtTensor tb = rtt_tensor(RT_BOOL, 1, (int64_t[]){4}, bad);
    in[1] = &tb;
    cr_assert_eq(rtt_run1(RT_OP_COMPRESS, 11, in, 2, &out, a, 1, 0), RT_ERR);
    cr_expect_not_null(strstr(rtt_err.msg, "true at 3"), "%s", rtt_err.msg);
    cr_expect_null(out.data);
    RtTensor tu = rtt_tensor(RT_BOOL, 1, (int64_t[]){4}, NULL);
    in[1] = &tu;
    cr_assert_eq(rtt_run1(RT_OP_COMPRESS, 11, in, 2, &out, a, 1, 1), RT_SHAPE_UNKNOWN);
}

/* ---- NonZero ---- */

/* numpy.nonzero by hand: row-major order, one row of indices per axis; NaN counts as nonzero. */
Test(non_zero, matrix_nan_bool_scalar_and_shape_mode) {
    float x[6] = {0, 2, 0, NAN, -1, 0};
    RtTensor tx = rtt_tensor(RT_F32, 2, (int64_t[]){2, 3}, x), out = {0};
    RtTensor *in[] = {&tx};
    cr_assert_eq(rtt_run1(RT_OP_NON_ZERO, 13, in, 1, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 2, (int64_t[]){2, 3});
    const int64_t want[6] = {0, 1, 1, /* rows */ 1, 0, 1 /* columns */};
    for (int i = 0; i < 6; i++) cr_expect_eq(((int64_t *)out.data)[i], want[i], "[%d]", i);
    free(out.data);
    uint8_t b[3] = {0, 0, 0}, one = 7;
    RtTensor tb = rtt_tensor(RT_BOOL, 1, (int64_t[]){3}, b);
    in[0] = &tb;
    cr_assert_eq(rtt_run1(RT_OP_NON_ZERO, 13, in, 1, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 2, (int64_t[]){1, 0});
    free(out.data);
    RtTensor ts = rtt_tensor(RT_U8, 0, NULL, &one);
    in[0] = &ts;
    cr_assert_eq(rtt_run1(RT_OP_NON_ZERO, 13, in, 1, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 2, (int64_t[]){1, 1});
    cr_expect_eq(((int64_t *)out.data)[0], 0);
    free(out.data);
    RtTensor tu = rtt_tensor(RT_F32, 2, (int64_t[]){2, 3}, NULL);
    in[0] = &tu;
    cr_assert_eq(rtt_run1(RT_OP_NON_ZERO, 13, in, 1, &out, NULL, 0, 1), RT_SHAPE_UNKNOWN);
}

/* ---- Shrink ---- */

Test(shrink, hard_soft_and_int) {
    float x[5] = {-2, -1, 0, 1, 2};
    RtTensor tx = rtt_tensor(RT_F32, 1, (int64_t[]){5}, x), out = {0};
    RtTensor *in[] = {&tx};
    RtAttr hard[] = {rtt_attr_float("lambd", 1.5f)};
    cr_assert_eq(rtt_run1(RT_OP_SHRINK, 9, in, 1, &out, hard, 1, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){-2, 0, 0, 0, 2}, 5, 0, 0);
    free(out.data);
    RtAttr soft[] = {rtt_attr_float("lambd", 1.5f), rtt_attr_float("bias", 1.5f)};
    cr_assert_eq(rtt_run1(RT_OP_SHRINK, 9, in, 1, &out, soft, 2, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){-0.5f, 0, 0, 0, 0.5f}, 5, 0, 0);
    free(out.data);
    /* default lambd 0.5, bias 1 on int32: -2 -> -1, -1 -> 0, 0 -> 0, 1 -> 0, 2 -> 1 */
    int32_t xi[5] = {-2, -1, 0, 1, 2};
    RtTensor ti = rtt_tensor(RT_I32, 1, (int64_t[]){5}, xi);
    in[0] = &ti;
    RtAttr bi[] = {rtt_attr_float("bias", 1)};
    cr_assert_eq(rtt_run1(RT_OP_SHRINK, 9, in, 1, &out, bi, 1, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_i32(&out, (int32_t[]){-1, 0, 0, 0, 1}, 5);
    free(out.data);
}

/* ---- ReverseSequence ---- */

Test(reverse_sequence, spec_examples_time_and_batch) {
    int64_t xd[] = {4, 4};
    int32_t xt[16] = {0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15};
    int64_t lt[4] = {4, 3, 2, 1};
    RtTensor tx = rtt_tensor(RT_I32, 2, xd, xt), tl = rtt_tensor(RT_I64, 1, (int64_t[]){4}, lt), out = {0};
    RtTensor *in[] = {&tx, &tl};
    RtAttr at[] = {rtt_attr_int("time_axis", 0), rtt_attr_int("batch_axis", 1)};
    cr_assert_eq(rtt_run1(RT_OP_REVERSE_SEQUENCE, 10, in, 2, &out, at, 2, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_i32(&out, (int32_t[]){3, 6, 9, 12, 2, 5, 8, 13, 1, 4, 10, 14, 0, 7, 11, 15}, 16);
    free(out.data);
    int32_t xb[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    int64_t lb[4] = {1, 2, 3, 4};
    RtTensor txb = rtt_tensor(RT_I32, 2, xd, xb), tlb = rtt_tensor(RT_I64, 1, (int64_t[]){4}, lb);
    RtTensor *inb[] = {&txb, &tlb};
    RtAttr ab[] = {rtt_attr_int("time_axis", 1), rtt_attr_int("batch_axis", 0)};
    cr_assert_eq(rtt_run1(RT_OP_REVERSE_SEQUENCE, 10, inb, 2, &out, ab, 2, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_i32(&out, (int32_t[]){0, 1, 2, 3, 5, 4, 6, 7, 10, 9, 8, 11, 15, 14, 13, 12}, 16);
    free(out.data);
}

Test(reverse_sequence, errors) {
    int32_t x[4] = {0};
    int64_t xd[] = {2, 2}, l[2] = {1, 3};
    RtTensor tx = rtt_tensor(RT_I32, 2, xd, x), tl = rtt_tensor(RT_I64, 1, (int64_t[]){2}, l), out = {0};
    RtTensor *in[] = {&tx, &tl};
    cr_assert_eq(rtt_run1(RT_OP_REVERSE_SEQUENCE, 10, in, 2, &out, NULL, 0, 0), RT_ERR);
    cr_expect_not_null(strstr(rtt_err.msg, "value 3"), "%s", rtt_err.msg);
    cr_expect_null(out.data);
    RtAttr a[] = {rtt_attr_int("time_axis", 1), rtt_attr_int("batch_axis", 1)};
    cr_assert_eq(rtt_run1(RT_OP_REVERSE_SEQUENCE, 10, in, 2, &out, a, 2, 0), RT_ERR);
    cr_expect_not_null(strstr(rtt_err.msg, "batch_axis"), "%s", rtt_err.msg);
}

Test(upsample, linear_1d_clamps_past_the_last_element_and_fractional_scale) {
    /* [0,10,20] x2: x = o/2 = 0, .5, 1, 1.5, 2, 2.5 -> clamped to 2: 0, 5, 10, 15, 20, 20 */
    float x[3] = {0, 10, 20}, s2[2] = {1, 2}, s15[2] = {1, 1.5f};
    int64_t xd[] = {1, 3}, sd[] = {2};
    RtTensor tx = rtt_tensor(RT_F32, 2, xd, x), ts = rtt_tensor(RT_F32, 1, sd, s2), out = {0};
    RtTensor *in[] = {&tx, &ts};
    RtAttr a[] = {rtt_attr_str("mode", "linear")};
    cr_assert_eq(rtt_run1(RT_OP_UPSAMPLE, 9, in, 2, &out, a, 1, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 2, (int64_t[]){1, 6});
    rtt_expect_f32(&out, (float[]){0, 5, 10, 15, 20, 20}, 6, F32_TOL, 0);
    free(out.data);
    /* x1.5: 3 -> floor(4.5) = 4 outputs at x = 0, 2/3, 4/3, 2: 0, 6.67, 13.33, 20 */
    RtTensor t15 = rtt_tensor(RT_F32, 1, sd, s15);
    in[1] = &t15;
    cr_assert_eq(rtt_run1(RT_OP_UPSAMPLE, 9, in, 2, &out, a, 1, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 2, (int64_t[]){1, 4});
    rtt_expect_f32(&out, (float[]){0, 20.0f / 3, 40.0f / 3, 20}, 4, 0, F32_TOL);
    free(out.data);
}

Test(upsample, nearest_bool_3d) {
    /* [2] bools x [3]: each repeated three times; a third axis of scale 1 untouched */
    uint8_t x[2] = {1, 0};
    float sc[3] = {1, 3, 1};
    int64_t xd[] = {1, 2, 1}, sd[] = {3};
    RtTensor tx = rtt_tensor(RT_BOOL, 3, xd, x), ts = rtt_tensor(RT_F32, 1, sd, sc), out = {0};
    RtTensor *in[] = {&tx, &ts};
    cr_assert_eq(rtt_run1(RT_OP_UPSAMPLE, 9, in, 2, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 3, (int64_t[]){1, 6, 1});
    rtt_expect_u8(&out, (uint8_t[]){1, 1, 1, 0, 0, 0}, 6);
    free(out.data);
}
