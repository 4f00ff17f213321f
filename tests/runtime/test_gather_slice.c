/*
 * test_gather_slice.c — hand-computed cases for Gather, GatherElements and Slice in
 * runtime/kernels/ref/gather_slice.c, called directly through rt_kernel_find().
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rt_test_util.h"

Test(gather, axis1_negative_indices_int32_and_int64) {
    float x[6] = {0, 1, 2, 3, 4, 5};
    int64_t xd[] = {2, 3}, id[] = {2};
    int32_t i32[2] = {-1, 0};
    int64_t i64[2] = {-1, 0};
    RtAttr a[] = {rtt_attr_int("axis", 1)};
    float want[4] = {2, 0, 5, 3};
    for (int v = 0; v < 2; v++) {
        RtTensor tx = rtt_tensor(RT_F32, 2, xd, x),
                 ti = v ? rtt_tensor(RT_I64, 1, id, i64) : rtt_tensor(RT_I32, 1, id, i32), out = {0};
        RtTensor *in[] = {&tx, &ti};
        cr_assert_eq(rtt_run1(RT_OP_GATHER, 13, in, 2, &out, a, 1, 0), RT_OK, "%s", rtt_err.msg);
        rtt_expect_dims(&out, 2, (int64_t[]){2, 2});
        cr_expect_eq(memcmp(out.data, want, sizeof want), 0);
        free(out.data);
    }
}

Test(gather, scalar_index_drops_axis_and_2d_indices) {
    int64_t x[6] = {10, 11, 12, 13, 14, 15}, xd[] = {3, 2}, idx = 2, idd[] = {2, 2}, idx2[4] = {0, 1, 1, 2};
    RtTensor tx = rtt_tensor(RT_I64, 2, xd, x), ti = rtt_tensor(RT_I64, 0, NULL, &idx), out = {0};
    RtTensor *in[] = {&tx, &ti};
    cr_assert_eq(rtt_run1(RT_OP_GATHER, 13, in, 2, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 1, (int64_t[]){2});
    cr_expect_eq(((int64_t *)out.data)[0], 14);
    cr_expect_eq(((int64_t *)out.data)[1], 15);
    free(out.data);
    RtTensor ti2 = rtt_tensor(RT_I64, 2, idd, idx2), out2 = {0};
    in[1] = &ti2;
    cr_assert_eq(rtt_run1(RT_OP_GATHER, 13, in, 2, &out2, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out2, 3, (int64_t[]){2, 2, 2});
    int64_t want[8] = {10, 11, 12, 13, 12, 13, 14, 15};
    cr_expect_eq(memcmp(out2.data, want, sizeof want), 0);
    free(out2.data);
}

Test(gather, out_of_range_index_is_named) {
    float x[6] = {0};
    int64_t xd[] = {2, 3}, id[] = {2}, idx[2] = {1, -4};
    RtTensor tx = rtt_tensor(RT_F32, 2, xd, x), ti = rtt_tensor(RT_I64, 1, id, idx), out = {0};
    RtTensor *in[] = {&tx, &ti};
    RtAttr a[] = {rtt_attr_int("axis", 1)};
    cr_assert_eq(rtt_run1(RT_OP_GATHER, 13, in, 2, &out, a, 1, 0), RT_ERR);
    cr_expect_not_null(strstr(rtt_err.msg, "-4"), "%s", rtt_err.msg);
    cr_expect_null(out.data);
}

Test(gather, shape_mode_needs_no_index_data) {
    int64_t xd[] = {5, 3}, id[] = {4};
    RtTensor tx = rtt_tensor(RT_F32, 2, xd, NULL), ti = rtt_tensor(RT_I64, 1, id, NULL), out = {0};
    RtTensor *in[] = {&tx, &ti};
    cr_assert_eq(rtt_run1(RT_OP_GATHER, 13, in, 2, &out, NULL, 0, 1), RT_SHAPE_ONLY, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 2, (int64_t[]){4, 3});
}

Test(gather_elements, axis1_with_negative) {
    int32_t x[4] = {1, 2, 3, 4};
    int64_t xd[] = {2, 2}, idx[4] = {0, 0, -1, 0};
    RtTensor tx = rtt_tensor(RT_I32, 2, xd, x), ti = rtt_tensor(RT_I64, 2, xd, idx), out = {0};
    RtTensor *in[] = {&tx, &ti};
    RtAttr a[] = {rtt_attr_int("axis", 1)};
    cr_assert_eq(rtt_run1(RT_OP_GATHER_ELEMENTS, 13, in, 2, &out, a, 1, 0), RT_OK, "%s", rtt_err.msg);
    int32_t want[4] = {1, 1, 4, 3};
    cr_expect_eq(memcmp(out.data, want, sizeof want), 0);
    free(out.data);
}

Test(slice, negative_step_and_sentinel_clamping) {
    int32_t x[10];
    for (int i = 0; i < 10; i++) x[i] = i;
    int64_t xd[] = {10}, one[] = {1}, st[] = {20}, en[] = {INT64_MIN}, sp[] = {-3};
    RtTensor tx = rtt_tensor(RT_I32, 1, xd, x), ts = rtt_tensor(RT_I64, 1, one, st),
             te = rtt_tensor(RT_I64, 1, one, en), tp = rtt_tensor(RT_I64, 1, one, sp), out = {0};
    RtTensor *in[] = {&tx, &ts, &te, NULL, &tp};
    cr_assert_eq(rtt_run1(RT_OP_SLICE, 13, in, 5, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    /* start 20 clamps to 9, end INT64_MIN clamps to -1: 9, 6, 3, 0 */
    rtt_expect_dims(&out, 1, (int64_t[]){4});
    int32_t want[4] = {9, 6, 3, 0};
    cr_expect_eq(memcmp(out.data, want, sizeof want), 0);
    free(out.data);
}

Test(slice, two_axes_mixed_steps) {
    float x[12];
    for (int i = 0; i < 12; i++) x[i] = (float)i;
    int64_t xd[] = {3, 4}, two[] = {2}, st[] = {10, 0}, en[] = {-100, INT64_MAX}, ax[] = {-1, 0}, sp[] = {-1, 2};
    RtTensor tx = rtt_tensor(RT_F32, 2, xd, x), ts = rtt_tensor(RT_I64, 1, two, st),
             te = rtt_tensor(RT_I64, 1, two, en), ta = rtt_tensor(RT_I64, 1, two, ax),
             tp = rtt_tensor(RT_I64, 1, two, sp), out = {0};
    RtTensor *in[] = {&tx, &ts, &te, &ta, &tp};
    cr_assert_eq(rtt_run1(RT_OP_SLICE, 13, in, 5, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    /* rows 0, 2; columns 3, 2, 1, 0 */
    rtt_expect_dims(&out, 2, (int64_t[]){2, 4});
    float want[8] = {3, 2, 1, 0, 11, 10, 9, 8};
    cr_expect_eq(memcmp(out.data, want, sizeof want), 0);
    free(out.data);
}

Test(slice, opset9_attributes_and_clamped_start) {
    uint8_t x[6] = {1, 2, 3, 4, 5, 6};
    int64_t xd[] = {2, 3}, st[] = {-100}, en[] = {2}, ax[] = {1};
    RtTensor tx = rtt_tensor(RT_U8, 2, xd, x), out = {0};
    RtTensor *in[] = {&tx};
    RtAttr a[] = {rtt_attr_ints("starts", st, 1), rtt_attr_ints("ends", en, 1), rtt_attr_ints("axes", ax, 1)};
    cr_assert_eq(rtt_run1(RT_OP_SLICE, 9, in, 1, &out, a, 3, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 2, (int64_t[]){2, 2});
    uint8_t want[4] = {1, 2, 4, 5};
    cr_expect_eq(memcmp(out.data, want, sizeof want), 0);
    free(out.data);
}

Test(slice, shape_mode_needs_starts) {
    int64_t xd[] = {4}, one[] = {1}, en[] = {3};
    RtTensor tx = rtt_tensor(RT_F32, 1, xd, NULL), ts = rtt_tensor(RT_I64, 1, one, NULL),
             te = rtt_tensor(RT_I64, 1, one, en), out = {0};
    RtTensor *in[] = {&tx, &ts, &te};
    cr_expect_eq(rtt_run1(RT_OP_SLICE, 13, in, 3, &out, NULL, 0, 1), RT_SHAPE_UNKNOWN);
    int64_t st[] = {1};
    ts.data = st;
    cr_expect_eq(rtt_run1(RT_OP_SLICE, 13, in, 3, &out, NULL, 0, 1), RT_SHAPE_ONLY, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 1, (int64_t[]){2});
}

Test(slice, zero_step_is_an_error) {
    float x[4] = {0};
    int64_t xd[] = {4}, one[] = {1}, st[] = {0}, en[] = {3}, sp[] = {0};
    RtTensor tx = rtt_tensor(RT_F32, 1, xd, x), ts = rtt_tensor(RT_I64, 1, one, st),
             te = rtt_tensor(RT_I64, 1, one, en), tp = rtt_tensor(RT_I64, 1, one, sp), out = {0};
    RtTensor *in[] = {&tx, &ts, &te, NULL, &tp};
    cr_expect_eq(rtt_run1(RT_OP_SLICE, 13, in, 5, &out, NULL, 0, 0), RT_ERR);
    cr_expect_not_null(strstr(rtt_err.msg, "steps"), "%s", rtt_err.msg);
}
