/*
 * test_shape_ops.c — hand-computed cases for the shape kernels in
 * runtime/kernels/ref/shape_ops.c, called directly through rt_kernel_find().
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rt_test_util.h"

Test(reshape, zero_copies_dim_and_minus_one_inferred) {
    float x[24];
    for (int i = 0; i < 24; i++) x[i] = (float)i;
    int64_t xd[] = {2, 3, 4}, sd[] = {2}, shape[] = {0, -1};
    RtTensor tx = rtt_tensor(RT_F32, 3, xd, x), ts = rtt_tensor(RT_I64, 1, sd, shape), out = {0};
    RtTensor *in[] = {&tx, &ts};
    cr_assert_eq(rtt_run1(RT_OP_RESHAPE, 14, in, 2, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 2, (int64_t[]){2, 12});
    cr_expect_eq(memcmp(out.data, x, sizeof x), 0);
    free(out.data);
}

Test(reshape, allowzero_keeps_zero) {
    int64_t xd[] = {0, 3}, sd[] = {2}, shape[] = {3, 0};
    RtTensor tx = rtt_tensor(RT_F32, 2, xd, (float[1]){0}), ts = rtt_tensor(RT_I64, 1, sd, shape), out = {0};
    RtTensor *in[] = {&tx, &ts};
    RtAttr a[] = {rtt_attr_int("allowzero", 1)};
    cr_assert_eq(rtt_run1(RT_OP_RESHAPE, 14, in, 2, &out, a, 1, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 2, (int64_t[]){3, 0});
    free(out.data);
    /* without allowzero the 0 copies input dim 1 (3), so [3,3] cannot hold 0 elements */
    RtTensor out2 = {0};
    cr_expect_eq(rtt_run1(RT_OP_RESHAPE, 14, in, 2, &out2, NULL, 0, 0), RT_ERR);
    free(out2.data);
}

Test(reshape, mismatch_names_both_shapes) {
    int64_t xd[] = {2, 3}, sd[] = {2}, shape[] = {4, 2};
    float x[6] = {0};
    RtTensor tx = rtt_tensor(RT_F32, 2, xd, x), ts = rtt_tensor(RT_I64, 1, sd, shape), out = {0};
    RtTensor *in[] = {&tx, &ts};
    cr_assert_eq(rtt_run1(RT_OP_RESHAPE, 14, in, 2, &out, NULL, 0, 0), RT_ERR);
    cr_expect_not_null(strstr(rtt_err.msg, "[2,3]"), "%s", rtt_err.msg);
    cr_expect_not_null(strstr(rtt_err.msg, "[4,2]"), "%s", rtt_err.msg);
    cr_expect_null(out.data);
}

Test(reshape, shape_mode_needs_shape_data_only) {
    int64_t xd[] = {2, 3, 4}, sd[] = {2}, shape[] = {-1, 4};
    RtTensor tx = rtt_tensor(RT_F32, 3, xd, NULL), ts = rtt_tensor(RT_I64, 1, sd, shape), out = {0};
    RtTensor *in[] = {&tx, &ts};
    cr_assert_eq(rtt_run1(RT_OP_RESHAPE, 14, in, 2, &out, NULL, 0, 1), RT_SHAPE_ONLY, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 2, (int64_t[]){6, 4});
    cr_expect_null(out.data);
    ts.data = NULL;
    RtTensor out2 = {0};
    cr_expect_eq(rtt_run1(RT_OP_RESHAPE, 14, in, 2, &out2, NULL, 0, 1), RT_SHAPE_UNKNOWN);
}

Test(transpose, perm_2_0_1) {
    int32_t x[24];
    for (int i = 0; i < 24; i++) x[i] = i;
    int64_t xd[] = {2, 3, 4}, perm[] = {2, 0, 1};
    RtTensor tx = rtt_tensor(RT_I32, 3, xd, x), out = {0};
    RtTensor *in[] = {&tx};
    RtAttr a[] = {rtt_attr_ints("perm", perm, 3)};
    cr_assert_eq(rtt_run1(RT_OP_TRANSPOSE, 13, in, 1, &out, a, 1, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 3, (int64_t[]){4, 2, 3});
    const int32_t *o = out.data;
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++) cr_expect_eq(o[(k * 2 + i) * 3 + j], x[(i * 3 + j) * 4 + k]);
    free(out.data);
}

Test(transpose, default_reverses) {
    uint8_t x[6] = {1, 2, 3, 4, 5, 6};
    int64_t xd[] = {2, 3};
    RtTensor tx = rtt_tensor(RT_U8, 2, xd, x), out = {0};
    RtTensor *in[] = {&tx};
    cr_assert_eq(rtt_run1(RT_OP_TRANSPOSE, 13, in, 1, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    uint8_t want[6] = {1, 4, 2, 5, 3, 6};
    cr_expect_eq(memcmp(out.data, want, 6), 0);
    free(out.data);
}

Test(concat, last_axis_with_zero_sized_input) {
    float a[4] = {1, 2, 3, 4}, b[6] = {5, 6, 7, 8, 9, 10};
    int64_t ad[] = {2, 2}, bd[] = {2, 3}, zd[] = {2, 0};
    RtTensor ta = rtt_tensor(RT_F32, 2, ad, a), tb = rtt_tensor(RT_F32, 2, bd, b),
             tz = rtt_tensor(RT_F32, 2, zd, (float[1]){0}), out = {0};
    RtTensor *in[] = {&ta, &tz, &tb};
    RtAttr at[] = {rtt_attr_int("axis", -1)};
    cr_assert_eq(rtt_run1(RT_OP_CONCAT, 13, in, 3, &out, at, 1, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 2, (int64_t[]){2, 5});
    float want[10] = {1, 2, 5, 6, 7, 3, 4, 8, 9, 10};
    cr_expect_eq(memcmp(out.data, want, sizeof want), 0);
    free(out.data);
}

Test(split, opset13_sizes_input) {
    float x[6] = {1, 2, 3, 4, 5, 6};
    int64_t xd[] = {6}, sd[] = {2}, sizes[] = {2, 4};
    RtTensor tx = rtt_tensor(RT_F32, 1, xd, x), ts = rtt_tensor(RT_I64, 1, sd, sizes), out[2] = {{0}};
    RtTensor *in[] = {&tx, &ts};
    cr_assert_eq(rtt_run(RT_OP_SPLIT, 13, in, 2, out, 2, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out[0], 1, (int64_t[]){2});
    rtt_expect_dims(&out[1], 1, (int64_t[]){4});
    cr_expect_eq(memcmp(out[0].data, x, 2 * sizeof(float)), 0);
    cr_expect_eq(memcmp(out[1].data, x + 2, 4 * sizeof(float)), 0);
    free(out[0].data);
    free(out[1].data);
}

Test(split, opset18_num_outputs_last_smaller) {
    int64_t x[14];
    for (int i = 0; i < 14; i++) x[i] = i;
    int64_t xd[] = {2, 7};
    RtTensor tx = rtt_tensor(RT_I64, 2, xd, x), out[3] = {{0}};
    RtTensor *in[] = {&tx};
    RtAttr a[] = {rtt_attr_int("axis", 1), rtt_attr_int("num_outputs", 3)};
    cr_assert_eq(rtt_run(RT_OP_SPLIT, 18, in, 1, out, 3, a, 2, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out[0], 2, (int64_t[]){2, 3});
    rtt_expect_dims(&out[1], 2, (int64_t[]){2, 3});
    rtt_expect_dims(&out[2], 2, (int64_t[]){2, 1});
    const int64_t *o1 = out[1].data, *o2 = out[2].data;
    int64_t want1[6] = {3, 4, 5, 10, 11, 12};
    for (int i = 0; i < 6; i++) cr_expect_eq(o1[i], want1[i]);
    cr_expect_eq(o2[0], 6);
    cr_expect_eq(o2[1], 13);
    for (int i = 0; i < 3; i++) free(out[i].data);
}

Test(unsqueeze, opset11_attribute_vs_opset13_input) {
    float x[6] = {0};
    int64_t xd[] = {2, 3}, axes[] = {0, 3}, ad[] = {1}, axes13[] = {-1};
    RtTensor tx = rtt_tensor(RT_F32, 2, xd, x), out = {0};
    RtTensor *in1[] = {&tx};
    RtAttr a[] = {rtt_attr_ints("axes", axes, 2)};
    cr_assert_eq(rtt_run1(RT_OP_UNSQUEEZE, 11, in1, 1, &out, a, 1, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 4, (int64_t[]){1, 2, 3, 1});
    free(out.data);
    RtTensor ta = rtt_tensor(RT_I64, 1, ad, axes13), out2 = {0};
    RtTensor *in2[] = {&tx, &ta};
    cr_assert_eq(rtt_run1(RT_OP_UNSQUEEZE, 13, in2, 2, &out2, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out2, 3, (int64_t[]){2, 3, 1});
    free(out2.data);
}

Test(squeeze, all_ones_and_error_on_non_one) {
    int64_t xd[] = {1, 3, 1}, axes[] = {1};
    float x[3] = {1, 2, 3};
    RtTensor tx = rtt_tensor(RT_F32, 3, xd, x), out = {0};
    RtTensor *in[] = {&tx};
    cr_assert_eq(rtt_run1(RT_OP_SQUEEZE, 13, in, 1, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 1, (int64_t[]){3});
    free(out.data);
    RtAttr a[] = {rtt_attr_ints("axes", axes, 1)};
    RtTensor out2 = {0};
    cr_expect_eq(rtt_run1(RT_OP_SQUEEZE, 11, in, 1, &out2, a, 1, 0), RT_ERR);
    cr_expect_not_null(strstr(rtt_err.msg, "axis 1"), "%s", rtt_err.msg);
}

Test(expand, bidirectional) {
    float x[3] = {1, 2, 3};
    int64_t xd[] = {3, 1}, sd[] = {3}, shape[] = {2, 1, 4};
    RtTensor tx = rtt_tensor(RT_F32, 2, xd, x), ts = rtt_tensor(RT_I64, 1, sd, shape), out = {0};
    RtTensor *in[] = {&tx, &ts};
    cr_assert_eq(rtt_run1(RT_OP_EXPAND, 13, in, 2, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 3, (int64_t[]){2, 3, 4});
    const float *o = out.data;
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++) cr_expect_eq(o[(b * 3 + i) * 4 + j], x[i]);
    free(out.data);
}

Test(tile, repeats_each_axis) {
    int16_t x[2] = {7, 8};
    int64_t xd[] = {1, 2}, rd[] = {2}, rep[] = {2, 3};
    RtTensor tx = rtt_tensor(RT_I16, 2, xd, x), tr = rtt_tensor(RT_I64, 1, rd, rep), out = {0};
    RtTensor *in[] = {&tx, &tr};
    cr_assert_eq(rtt_run1(RT_OP_TILE, 13, in, 2, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 2, (int64_t[]){2, 6});
    int16_t want[12] = {7, 8, 7, 8, 7, 8, 7, 8, 7, 8, 7, 8};
    cr_expect_eq(memcmp(out.data, want, sizeof want), 0);
    free(out.data);
}

/* Tile-1 (opsets 1-5): inputs tiles = 3 and axis = 0 repeat a [1, 2] three times on axis 0. */
Test(tile, opset1_tiles_and_axis_inputs) {
    int16_t x[2] = {7, 8};
    int64_t xd[] = {1, 2}, tiles = 3, axis = 0;
    RtTensor tx = rtt_tensor(RT_I16, 2, xd, x), tt = rtt_tensor(RT_I64, 0, NULL, &tiles),
             ta = rtt_tensor(RT_I64, 0, NULL, &axis), out = {0};
    RtTensor *in[] = {&tx, &tt, &ta};
    cr_assert_eq(rtt_run1(RT_OP_TILE, 1, in, 3, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 2, (int64_t[]){3, 2});
    int16_t want[6] = {7, 8, 7, 8, 7, 8};
    cr_expect_eq(memcmp(out.data, want, sizeof want), 0);
    free(out.data);
    axis = 2; /* outside rank 2 */
    cr_assert_lt(rtt_run1(RT_OP_TILE, 1, in, 3, &out, NULL, 0, 0), 0);
    cr_expect_not_null(strstr(rtt_err.msg, "outside rank 2"), "%s", rtt_err.msg);
}

Test(range, int64_negative_delta) {
    int64_t s = 10, l = 4, d = -3;
    RtTensor ts = rtt_tensor(RT_I64, 0, NULL, &s), tl = rtt_tensor(RT_I64, 0, NULL, &l),
             td = rtt_tensor(RT_I64, 0, NULL, &d), out = {0};
    RtTensor *in[] = {&ts, &tl, &td};
    cr_assert_eq(rtt_run1(RT_OP_RANGE, 11, in, 3, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 1, (int64_t[]){2}); /* ceil((4 - 10) / -3) = 2 */
    cr_expect_eq(((int64_t *)out.data)[0], 10);
    cr_expect_eq(((int64_t *)out.data)[1], 7);
    free(out.data);
}

Test(range, float_and_empty) {
    float s = 1, l = 5, d = 1.5f;
    RtTensor ts = rtt_tensor(RT_F32, 0, NULL, &s), tl = rtt_tensor(RT_F32, 0, NULL, &l),
             td = rtt_tensor(RT_F32, 0, NULL, &d), out = {0};
    RtTensor *in[] = {&ts, &tl, &td};
    cr_assert_eq(rtt_run1(RT_OP_RANGE, 11, in, 3, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 1, (int64_t[]){3});
    float want[3] = {1, 2.5f, 4}; /* exact in binary: no tolerance needed */
    cr_expect_eq(memcmp(out.data, want, sizeof want), 0);
    free(out.data);
    l = 0; /* limit below start with positive delta: empty */
    RtTensor out2 = {0};
    cr_assert_eq(rtt_run1(RT_OP_RANGE, 11, in, 3, &out2, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out2, 1, (int64_t[]){0});
    free(out2.data);
}

Test(shape, shape_only_without_data_produces_data) {
    int64_t xd[] = {2, 3, 4};
    RtTensor tx = rtt_tensor(RT_F32, 3, xd, NULL), out = {0};
    RtTensor *in[] = {&tx};
    cr_assert_eq(rtt_run1(RT_OP_SHAPE, 13, in, 1, &out, NULL, 0, 1), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 1, (int64_t[]){3});
    cr_assert_not_null(out.data);
    cr_expect_eq(memcmp(out.data, xd, sizeof xd), 0);
    free(out.data);
    RtAttr a[] = {rtt_attr_int("start", -2)};
    RtTensor out2 = {0};
    cr_assert_eq(rtt_run1(RT_OP_SHAPE, 15, in, 1, &out2, a, 1, 1), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out2, 1, (int64_t[]){2});
    cr_expect_eq(((int64_t *)out2.data)[0], 3);
    cr_expect_eq(((int64_t *)out2.data)[1], 4);
    free(out2.data);
}

Test(size, shape_only_without_data_produces_data) {
    int64_t xd[] = {2, 3, 4};
    RtTensor tx = rtt_tensor(RT_U8, 3, xd, NULL), out = {0};
    RtTensor *in[] = {&tx};
    cr_assert_eq(rtt_run1(RT_OP_SIZE, 13, in, 1, &out, NULL, 0, 1), RT_OK, "%s", rtt_err.msg);
    cr_expect_eq(out.rank, 0);
    cr_expect_eq(*(int64_t *)out.data, 24);
    free(out.data);
}

Test(flatten, negative_axis) {
    int64_t xd[] = {2, 3, 4};
    float x[24] = {0};
    RtTensor tx = rtt_tensor(RT_F32, 3, xd, x), out = {0};
    RtTensor *in[] = {&tx};
    RtAttr a[] = {rtt_attr_int("axis", -1)};
    cr_assert_eq(rtt_run1(RT_OP_FLATTEN, 13, in, 1, &out, a, 1, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 2, (int64_t[]){6, 4});
    free(out.data);
}

Test(constant_of_shape, default_float_zero_and_int_value) {
    int64_t sd[] = {2}, shape[] = {2, 3};
    RtTensor ts = rtt_tensor(RT_I64, 1, sd, shape), out = {0};
    RtTensor *in[] = {&ts};
    cr_assert_eq(rtt_run1(RT_OP_CONSTANT_OF_SHAPE, 9, in, 1, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    cr_expect_eq(out.dtype, RT_F32);
    for (int i = 0; i < 6; i++) cr_expect_eq(((float *)out.data)[i], 0.0f);
    free(out.data);
    int32_t seven = 7;
    RtTensor v = rtt_tensor(RT_I32, 1, (int64_t[]){1}, &seven), out2 = {0};
    RtAttr a = rtt_attr_tensor("value", &v);
    cr_assert_eq(rtt_run1(RT_OP_CONSTANT_OF_SHAPE, 9, in, 1, &out2, &a, 1, 0), RT_OK, "%s", rtt_err.msg);
    cr_expect_eq(out2.dtype, RT_I32);
    for (int i = 0; i < 6; i++) cr_expect_eq(((int32_t *)out2.data)[i], 7);
    free(out2.data);
}

Test(trilu, lower_with_k) {
    float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    int64_t xd[] = {3, 3}, k = -1;
    RtTensor tx = rtt_tensor(RT_F32, 2, xd, x), tk = rtt_tensor(RT_I64, 0, NULL, &k), out = {0};
    RtTensor *in[] = {&tx, &tk};
    RtAttr a[] = {rtt_attr_int("upper", 0)};
    cr_assert_eq(rtt_run1(RT_OP_TRILU, 14, in, 2, &out, a, 1, 0), RT_OK, "%s", rtt_err.msg);
    float want[9] = {0, 0, 0, 4, 0, 0, 7, 8, 0};
    cr_expect_eq(memcmp(out.data, want, sizeof want), 0);
    free(out.data);
}

Test(one_hot, axis0_negative_index) {
    int64_t ind[3] = {0, -1, 5}, id[] = {3}, depth = 3;
    float vals[2] = {0, 1};
    RtTensor ti = rtt_tensor(RT_I64, 1, id, ind), td = rtt_tensor(RT_I64, 0, NULL, &depth),
             tv = rtt_tensor(RT_F32, 1, (int64_t[]){2}, vals), out = {0};
    RtTensor *in[] = {&ti, &td, &tv};
    RtAttr a[] = {rtt_attr_int("axis", 0)};
    cr_assert_eq(rtt_run1(RT_OP_ONE_HOT, 11, in, 3, &out, a, 1, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 2, (int64_t[]){3, 3});
    /* out[class][i]: index 0 -> class 0, -1 -> class 2, 5 -> out of range (all off) */
    float want[9] = {1, 0, 0, 0, 0, 0, 0, 1, 0};
    cr_expect_eq(memcmp(out.data, want, sizeof want), 0);
    free(out.data);
}
