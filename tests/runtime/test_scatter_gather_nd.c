/*
 * test_scatter_gather_nd.c — GatherND, ScatterND, ScatterElements and Scatter of
 * runtime/kernels/ref/scatter_gather_nd.c on the ONNX spec's examples and small cases worked
 * out by hand, plus the error paths (bad index, bad shapes, bad attribute) and shape mode.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rt_test_util.h"

/* Every value below is exact in float32 (sums of one-decimal values are compared with this
 * slack only because 2 + 1.1 + 2.1 rounds in float32). */
#define SUM_TOL 1e-6

/* ---- GatherND ---- */

Test(gather_nd, spec_examples_batch_dims_0) {
    int32_t x[4] = {0, 1, 2, 3};
    int64_t xd[] = {2, 2}, i1[4] = {0, 0, 1, 1}, i1d[] = {2, 2}, i2[2] = {1, 0}, i2d[] = {2, 1};
    RtTensor tx = rtt_tensor(RT_I32, 2, xd, x), ti = rtt_tensor(RT_I64, 2, i1d, i1), out = {0};
    RtTensor *in[] = {&tx, &ti};
    cr_assert_eq(rtt_run1(RT_OP_GATHER_ND, 13, in, 2, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 1, (int64_t[]){2});
    rtt_expect_i32(&out, (int32_t[]){0, 3}, 2);
    free(out.data);
    /* k = 1 < rank: each index picks a row */
    RtTensor ti2 = rtt_tensor(RT_I64, 2, i2d, i2), out2 = {0};
    in[1] = &ti2;
    cr_assert_eq(rtt_run1(RT_OP_GATHER_ND, 13, in, 2, &out2, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out2, 2, (int64_t[]){2, 2});
    rtt_expect_i32(&out2, (int32_t[]){2, 3, 0, 1}, 4);
    free(out2.data);
}

Test(gather_nd, batch_dims_1_and_negative_index) {
    float x[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    int64_t xd[] = {2, 2, 2}, idx[2] = {1, -2}, id[] = {2, 1};
    RtTensor tx = rtt_tensor(RT_F32, 3, xd, x), ti = rtt_tensor(RT_I64, 2, id, idx), out = {0};
    RtTensor *in[] = {&tx, &ti};
    RtAttr a[] = {rtt_attr_int("batch_dims", 1)};
    cr_assert_eq(rtt_run1(RT_OP_GATHER_ND, 13, in, 2, &out, a, 1, 0), RT_OK, "%s", rtt_err.msg);
    /* batch 0 takes row 1 of [[0,1],[2,3]]; batch 1 takes row -2 = 0 of [[4,5],[6,7]] */
    rtt_expect_dims(&out, 2, (int64_t[]){2, 2});
    rtt_expect_f32(&out, (float[]){2, 3, 4, 5}, 4, 0, 0);
    free(out.data);
}

Test(gather_nd, errors_and_shape_mode) {
    float x[4] = {0};
    int64_t xd[] = {2, 2}, bad[2] = {0, 2}, id[] = {1, 2}, id3[] = {1, 3};
    RtTensor tx = rtt_tensor(RT_F32, 2, xd, x), ti = rtt_tensor(RT_I64, 2, id, bad), out = {0};
    RtTensor *in[] = {&tx, &ti};
    cr_assert_eq(rtt_run1(RT_OP_GATHER_ND, 13, in, 2, &out, NULL, 0, 0), RT_ERR);
    cr_expect_not_null(strstr(rtt_err.msg, "index 2"), "%s", rtt_err.msg);
    cr_expect_null(out.data);
    /* last indices dim 3 > rank 2 */
    RtTensor t3 = rtt_tensor(RT_I64, 2, id3, NULL);
    in[1] = &t3;
    cr_assert_eq(rtt_run1(RT_OP_GATHER_ND, 13, in, 2, &out, NULL, 0, 1), RT_ERR);
    cr_expect_not_null(strstr(rtt_err.msg, "last dimension"), "%s", rtt_err.msg);
    /* batch dims must agree: data [2,2] vs indices [1,2] with batch_dims 1 */
    RtAttr a[] = {rtt_attr_int("batch_dims", 1)};
    int64_t idb[] = {1, 1};
    RtTensor tb = rtt_tensor(RT_I64, 2, idb, NULL);
    in[1] = &tb;
    cr_assert_eq(rtt_run1(RT_OP_GATHER_ND, 13, in, 2, &out, a, 1, 1), RT_ERR);
    cr_expect_not_null(strstr(rtt_err.msg, "batch dimension 0"), "%s", rtt_err.msg);
    /* shape mode: no index data needed; [5,4,3] with indices [6,2] -> [6,3] */
    int64_t sxd[] = {5, 4, 3}, sid[] = {6, 2};
    RtTensor sx = rtt_tensor(RT_F32, 3, sxd, NULL), si = rtt_tensor(RT_I64, 2, sid, NULL), so = {0};
    RtTensor *sin[] = {&sx, &si};
    cr_assert_eq(rtt_run1(RT_OP_GATHER_ND, 13, sin, 2, &so, NULL, 0, 1), RT_SHAPE_ONLY, "%s", rtt_err.msg);
    rtt_expect_dims(&so, 2, (int64_t[]){6, 3});
}

/* ---- ScatterND ---- */

Test(scatter_nd, spec_example_none_and_add) {
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, u[4] = {9, 10, 11, 12};
    int64_t xd[] = {8}, idx[4] = {4, 3, 1, 7}, id[] = {4, 1}, ud[] = {4};
    RtTensor tx = rtt_tensor(RT_F32, 1, xd, x), ti = rtt_tensor(RT_I64, 2, id, idx),
             tu = rtt_tensor(RT_F32, 1, ud, u), out = {0};
    RtTensor *in[] = {&tx, &ti, &tu};
    cr_assert_eq(rtt_run1(RT_OP_SCATTER_ND, 11, in, 3, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){1, 11, 3, 10, 9, 6, 7, 12}, 8, 0, 0);
    free(out.data);
    RtAttr a[] = {rtt_attr_str("reduction", "add")};
    cr_assert_eq(rtt_run1(RT_OP_SCATTER_ND, 16, in, 3, &out, a, 1, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){1, 13, 3, 14, 14, 6, 7, 20}, 8, 0, 0);
    free(out.data);
    cr_expect_eq(x[1], 2, "input 'data' must not be written");
}

Test(scatter_nd, duplicates_with_mul_max_min_int64_and_slices) {
    /* data [2,2] int64, indices pick whole rows (k = 1), row 0 three times */
    int64_t x[4] = {1, 5, -2, 7}, xd[] = {2, 2}, idx[3] = {0, 1, -2}, id[] = {3, 1};
    int64_t u[6] = {3, 2, 4, 4, 0, 6}, ud[] = {3, 2};
    RtTensor tx = rtt_tensor(RT_I64, 2, xd, x), ti = rtt_tensor(RT_I64, 2, id, idx),
             tu = rtt_tensor(RT_I64, 2, ud, u), out = {0};
    RtTensor *in[] = {&tx, &ti, &tu};
    /* row 0: {1,5} with {3,2} then {0,6}; row 1: {-2,7} with {4,4} */
    static const struct { const char *red; int64_t want[4]; } cases[] = {
        {"mul", {0, 60, -8, 28}},
        {"max", {3, 6, 4, 7}},
        {"min", {0, 2, -2, 4}},
        {"none", {0, 6, 4, 4}},
    };
    for (int k = 0; k < 4; k++) {
        RtAttr a[] = {rtt_attr_str("reduction", cases[k].red)};
        cr_assert_eq(rtt_run1(RT_OP_SCATTER_ND, 18, in, 3, &out, a, 1, 0), RT_OK, "%s: %s", cases[k].red, rtt_err.msg);
        cr_expect_eq(memcmp(out.data, cases[k].want, sizeof cases[k].want), 0, "reduction %s", cases[k].red);
        free(out.data);
    }
}

Test(scatter_nd, errors) {
    float x[4] = {0}, u[1] = {1};
    int64_t xd[] = {2, 2}, idx[2] = {0, -3}, id[] = {1, 2}, ud[] = {1};
    RtTensor tx = rtt_tensor(RT_F32, 2, xd, x), ti = rtt_tensor(RT_I64, 2, id, idx),
             tu = rtt_tensor(RT_F32, 1, ud, u), out = {0};
    RtTensor *in[] = {&tx, &ti, &tu};
    cr_assert_eq(rtt_run1(RT_OP_SCATTER_ND, 16, in, 3, &out, NULL, 0, 0), RT_ERR);
    cr_expect_not_null(strstr(rtt_err.msg, "index -3"), "%s", rtt_err.msg);
    cr_expect_null(out.data);
    RtAttr a[] = {rtt_attr_str("reduction", "sum")};
    cr_assert_eq(rtt_run1(RT_OP_SCATTER_ND, 16, in, 3, &out, a, 1, 0), RT_ERR);
    cr_expect_not_null(strstr(rtt_err.msg, "'sum'"), "%s", rtt_err.msg);
    /* updates [2] for indices [1,2] over [2,2]: wants shape [1] */
    int64_t ud2[] = {2};
    RtTensor tu2 = rtt_tensor(RT_F32, 1, ud2, NULL);
    in[2] = &tu2;
    cr_assert_eq(rtt_run1(RT_OP_SCATTER_ND, 16, in, 3, &out, NULL, 0, 1), RT_ERR);
    cr_expect_not_null(strstr(rtt_err.msg, "do not fit"), "%s", rtt_err.msg);
}

/* ---- ScatterElements / Scatter ---- */

Test(scatter_elements, spec_examples_and_scatter_opset9) {
    float x[9] = {0}, u[6] = {1.0f, 1.1f, 1.2f, 2.0f, 2.1f, 2.2f};
    int64_t xd[] = {3, 3}, idx[6] = {1, 0, 2, 0, 2, 1}, id[] = {2, 3};
    RtTensor tx = rtt_tensor(RT_F32, 2, xd, x), ti = rtt_tensor(RT_I64, 2, id, idx),
             tu = rtt_tensor(RT_F32, 2, id, u), out = {0};
    RtTensor *in[] = {&tx, &ti, &tu};
    float want[9] = {2.0f, 1.1f, 0.0f, 1.0f, 0.0f, 2.2f, 0.0f, 2.1f, 1.2f};
    cr_assert_eq(rtt_run1(RT_OP_SCATTER_ELEMENTS, 11, in, 3, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, want, 9, 0, 0);
    free(out.data);
    cr_assert_eq(rtt_run1(RT_OP_SCATTER, 9, in, 3, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, want, 9, 0, 0);
    free(out.data);
}

Test(scatter_elements, axis1_negative_and_duplicate_add) {
    float x[5] = {1, 2, 3, 4, 5}, u[2] = {1.1f, 2.1f};
    int64_t xd[] = {1, 5}, id[] = {1, 2};
    int32_t idx[2] = {1, -2}, dup[2] = {1, 1};
    RtTensor tx = rtt_tensor(RT_F32, 2, xd, x), ti = rtt_tensor(RT_I32, 2, id, idx),
             tu = rtt_tensor(RT_F32, 2, id, u), out = {0};
    RtTensor *in[] = {&tx, &ti, &tu};
    RtAttr a[] = {rtt_attr_int("axis", 1), rtt_attr_str("reduction", "add")};
    cr_assert_eq(rtt_run1(RT_OP_SCATTER_ELEMENTS, 13, in, 3, &out, a, 1, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){1, 1.1f, 3, 2.1f, 5}, 5, 0, 0);
    free(out.data);
    RtTensor td = rtt_tensor(RT_I32, 2, id, dup);
    in[1] = &td;
    cr_assert_eq(rtt_run1(RT_OP_SCATTER_ELEMENTS, 16, in, 3, &out, a, 2, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){1, 5.2f, 3, 4, 5}, 5, SUM_TOL, 0);
    free(out.data);
}

Test(scatter_elements, errors) {
    float x[4] = {0}, u[2] = {0};
    int64_t xd[] = {2, 2}, idx[2] = {0, 2}, id[] = {1, 2}, big[] = {3, 2};
    RtTensor tx = rtt_tensor(RT_F32, 2, xd, x), ti = rtt_tensor(RT_I64, 2, id, idx),
             tu = rtt_tensor(RT_F32, 2, id, u), out = {0};
    RtTensor *in[] = {&tx, &ti, &tu};
    RtAttr a[] = {rtt_attr_int("axis", 1)};
    cr_assert_eq(rtt_run1(RT_OP_SCATTER_ELEMENTS, 13, in, 3, &out, a, 1, 0), RT_ERR);
    cr_expect_not_null(strstr(rtt_err.msg, "index 2"), "%s", rtt_err.msg);
    cr_expect_null(out.data);
    /* indices larger than data outside the axis */
    RtTensor tb = rtt_tensor(RT_I64, 2, big, NULL), tub = rtt_tensor(RT_F32, 2, big, NULL);
    in[1] = &tb;
    in[2] = &tub;
    cr_assert_eq(rtt_run1(RT_OP_SCATTER_ELEMENTS, 13, in, 3, &out, a, 1, 1), RT_ERR);
    cr_expect_not_null(strstr(rtt_err.msg, "do not fit"), "%s", rtt_err.msg);
    /* bool data cannot be reduced */
    uint8_t bx[4] = {0};
    RtTensor tbx = rtt_tensor(RT_BOOL, 2, xd, bx), tbu = rtt_tensor(RT_BOOL, 2, id, bx);
    RtTensor *bin[] = {&tbx, &ti, &tbu};
    RtAttr ra[] = {rtt_attr_str("reduction", "max")};
    cr_assert_eq(rtt_run1(RT_OP_SCATTER_ELEMENTS, 18, bin, 3, &out, ra, 1, 0), RT_ERR);
    cr_expect_not_null(strstr(rtt_err.msg, "numeric"), "%s", rtt_err.msg);
}

Test(scatter_nd, float16_add_full_index_and_shape_mode) {
    /* f16 codes: 1.5 = 0x3E00, 2.25 = 0x4080, 3.75 = 0x4380, 0 = 0 */
    uint16_t x[4] = {0, 0x3E00, 0, 0}, u[1] = {0x4080};
    int64_t xd[] = {2, 2}, idx[2] = {0, 1}, id[] = {1, 2}, ud[] = {1};
    RtTensor tx = rtt_tensor(RT_F16, 2, xd, x), ti = rtt_tensor(RT_I64, 2, id, idx),
             tu = rtt_tensor(RT_F16, 1, ud, u), out = {0};
    RtTensor *in[] = {&tx, &ti, &tu};
    RtAttr a[] = {rtt_attr_str("reduction", "add")};
    cr_assert_eq(rtt_run1(RT_OP_SCATTER_ND, 16, in, 3, &out, a, 1, 0), RT_OK, "%s", rtt_err.msg);
    uint16_t want[4] = {0, 0x4380, 0, 0};
    cr_expect_eq(memcmp(out.data, want, sizeof want), 0, "got %04x", ((uint16_t *)out.data)[1]);
    free(out.data);
    /* shape mode: no index data needed, output has data's shape */
    RtTensor tn = rtt_tensor(RT_I64, 2, id, NULL);
    in[1] = &tn;
    cr_assert_eq(rtt_run1(RT_OP_SCATTER_ND, 16, in, 3, &out, a, 1, 1), RT_SHAPE_ONLY, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 2, xd);
}

Test(gather_nd, full_tuple_gives_scalars_and_int32_indices) {
    /* k = rank: each tuple picks one element; indices [2,3] over data [2,2,2] -> output [2] */
    int64_t x[8] = {0, 1, 2, 3, 4, 5, 6, 7}, xd[] = {2, 2, 2}, id[] = {2, 3};
    int32_t idx[6] = {1, 1, 1, 0, -1, 0};
    RtTensor tx = rtt_tensor(RT_I64, 3, xd, x), ti = rtt_tensor(RT_I32, 2, id, idx), out = {0};
    RtTensor *in[] = {&tx, &ti};
    cr_assert_eq(rtt_run1(RT_OP_GATHER_ND, 13, in, 2, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 1, (int64_t[]){2});
    /* [1,1,1] -> 7, [0,-1,0] -> [0,1,0] -> 2 */
    int64_t want[2] = {7, 2};
    cr_expect_eq(memcmp(out.data, want, sizeof want), 0);
    free(out.data);
}
