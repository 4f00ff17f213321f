/*
 * test_reduce.c — ReduceX, ArgMax/ArgMin, CumSum and TopK kernels on small hand-computed
 * cases: axes as attribute and as input, keepdims, noop_with_empty_axes, empty reductions,
 * integer exactness, shape-only mode and errors.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rt_test_util.h"

/* Small inputs; results are short sums of values exact in binary, or single library calls
 * (log, sqrt, exp) rounded once to float32: within 1e-6 of the double-precision answer. */
#define TOL 1e-6

/* x[2,3,2] = 0..11 */
static float x12[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
static const int64_t d232[3] = {2, 3, 2};

Test(reduce, mean_axes_attribute_keepdims) {
    RtTensor X = rtt_tensor(RT_F32, 3, d232, x12), out[1];
    RtTensor *in[1] = {&X};
    int64_t axes[1] = {1};
    RtAttr at[1] = {rtt_attr_ints("axes", axes, 1)};
    cr_assert_eq(rtt_run1(RT_OP_REDUCE_MEAN, 13, in, 1, out, at, 1, 0), RT_OK, "%s", rtt_err.msg);
    int64_t want_dims[3] = {2, 1, 2};
    rtt_expect_dims(&out[0], 3, want_dims);
    float want[4] = {2, 3, 8, 9};
    rtt_expect_f32(&out[0], want, 4, TOL, 0);
    rtt_free_outputs(out, 1);
}

Test(reduce, mean_axes_input_opset18_no_keepdims_negative) {
    int64_t axes[2] = {-1, 0}, dax[1] = {2};
    RtTensor X = rtt_tensor(RT_F32, 3, d232, x12), A = rtt_tensor(RT_I64, 1, dax, axes), out[1];
    RtTensor *in[2] = {&X, &A};
    RtAttr at[1] = {rtt_attr_int("keepdims", 0)};
    cr_assert_eq(rtt_run1(RT_OP_REDUCE_MEAN, 18, in, 2, out, at, 1, 0), RT_OK, "%s", rtt_err.msg);
    int64_t want_dims[1] = {3};
    rtt_expect_dims(&out[0], 1, want_dims);
    /* mean over axes 0 and 2 of each middle index j: {0,1,6,7}, {2,3,8,9}, {4,5,10,11} */
    float want[3] = {3.5f, 5.5f, 7.5f};
    rtt_expect_f32(&out[0], want, 3, TOL, 0);
    rtt_free_outputs(out, 1);
}

Test(reduce, axes_input_unknown_in_shape_mode) {
    int64_t dax[1] = {1};
    RtTensor X = rtt_tensor(RT_F32, 3, d232, NULL), A = rtt_tensor(RT_I64, 1, dax, NULL), out[1];
    RtTensor *in[2] = {&X, &A};
    cr_assert_eq(rtt_run1(RT_OP_REDUCE_SUM, 13, in, 2, out, NULL, 0, 1), RT_SHAPE_UNKNOWN);
    int64_t axes[1] = {2};
    A.data = axes;
    cr_assert_eq(rtt_run1(RT_OP_REDUCE_SUM, 13, in, 2, out, NULL, 0, 1), RT_SHAPE_ONLY, "%s", rtt_err.msg);
    int64_t want_dims[3] = {2, 3, 1};
    rtt_expect_dims(&out[0], 3, want_dims);
}

Test(reduce, empty_axes_all_or_noop) {
    int64_t dax[1] = {0};
    RtTensor X = rtt_tensor(RT_F32, 3, d232, x12), A = rtt_tensor(RT_I64, 1, dax, (int64_t[1]){0}), out[1];
    RtTensor *in[2] = {&X, &A};
    cr_assert_eq(rtt_run1(RT_OP_REDUCE_SUM, 13, in, 2, out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    int64_t ones[3] = {1, 1, 1};
    rtt_expect_dims(&out[0], 3, ones);
    float all[1] = {66};
    rtt_expect_f32(&out[0], all, 1, TOL, 0);
    rtt_free_outputs(out, 1);
    RtAttr at[1] = {rtt_attr_int("noop_with_empty_axes", 1)};
    cr_assert_eq(rtt_run1(RT_OP_REDUCE_SUM, 13, in, 2, out, at, 1, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out[0], 3, d232);
    rtt_expect_f32(&out[0], x12, 12, 0.0, 0);
    rtt_free_outputs(out, 1);
    /* no-op SumSquare still squares each element (a reduction over no axes) */
    cr_assert_eq(rtt_run1(RT_OP_REDUCE_SUM_SQUARE, 18, in, 2, out, at, 1, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_float_eq(((float *)out[0].data)[3], 9.0f, 0.0f);
    rtt_free_outputs(out, 1);
}

Test(reduce, every_kind_over_last_axis) {
    float v[6] = {1, -2, 3, 0.5f, 4, -1};
    int64_t d[2] = {2, 3}, axes[1] = {1};
    RtTensor X = rtt_tensor(RT_F32, 2, d, v), out[1];
    RtTensor *in[1] = {&X};
    RtAttr at[2] = {rtt_attr_ints("axes", axes, 1), rtt_attr_int("keepdims", 0)};
    struct { int op; float w0, w1; } cases[] = {
        {RT_OP_REDUCE_SUM, 2, 3.5f},
        {RT_OP_REDUCE_MEAN, 2.0f / 3, 3.5f / 3},
        {RT_OP_REDUCE_MAX, 3, 4},
        {RT_OP_REDUCE_MIN, -2, -1},
        {RT_OP_REDUCE_PROD, -6, -2},
        {RT_OP_REDUCE_L1, 6, 5.5f},
        {RT_OP_REDUCE_L2, (float)sqrt(14.0), (float)sqrt(17.25)},
        {RT_OP_REDUCE_SUM_SQUARE, 14, 17.25f},
        {RT_OP_REDUCE_LOG_SUM, (float)log(2.0), (float)log(3.5)},
        {RT_OP_REDUCE_LOG_SUM_EXP, (float)log(exp(1.0) + exp(-2.0) + exp(3.0)),
         (float)log(exp(0.5) + exp(4.0) + exp(-1.0))},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cr_assert_eq(rtt_run1(cases[i].op, 13, in, 1, out, at, 2, 0), RT_OK, "%s", rtt_err.msg);
        float want[2] = {cases[i].w0, cases[i].w1};
        rtt_expect_f32(&out[0], want, 2, TOL, 0);
        rtt_free_outputs(out, 1);
    }
}

Test(reduce, empty_set_gives_identity) {
    int64_t d[2] = {0, 3}, axes[1] = {0};
    float dummy[1] = {0};
    RtTensor X = rtt_tensor(RT_F32, 2, d, dummy), out[1];
    RtTensor *in[1] = {&X};
    RtAttr at[2] = {rtt_attr_ints("axes", axes, 1), rtt_attr_int("keepdims", 0)};
    struct { int op; float w; } cases[] = {
        {RT_OP_REDUCE_SUM, 0}, {RT_OP_REDUCE_PROD, 1}, {RT_OP_REDUCE_MAX, -INFINITY},
        {RT_OP_REDUCE_MIN, INFINITY}, {RT_OP_REDUCE_LOG_SUM_EXP, -INFINITY}, {RT_OP_REDUCE_L2, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cr_assert_eq(rtt_run1(cases[i].op, 13, in, 1, out, at, 2, 0), RT_OK, "%s", rtt_err.msg);
        float want[3] = {cases[i].w, cases[i].w, cases[i].w};
        rtt_expect_f32(&out[0], want, 3, 0.0, 0);
        rtt_free_outputs(out, 1);
    }
    int32_t idummy[1] = {0};
    RtTensor XI = rtt_tensor(RT_I32, 2, d, idummy);
    RtTensor *ini[1] = {&XI};
    cr_assert_eq(rtt_run1(RT_OP_REDUCE_MAX, 13, ini, 1, out, at, 2, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(((int32_t *)out[0].data)[1], INT32_MIN);
    rtt_free_outputs(out, 1);
}

Test(reduce, int64_sum_is_exact_and_uint8_max) {
    int64_t v[3] = {(int64_t)1 << 60, 1, 3}, d[1] = {3};
    RtTensor X = rtt_tensor(RT_I64, 1, d, v), out[1];
    RtTensor *in[1] = {&X};
    RtAttr at[1] = {rtt_attr_int("keepdims", 0)};
    cr_assert_eq(rtt_run1(RT_OP_REDUCE_SUM, 13, in, 1, out, at, 1, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(out[0].rank, 0);
    cr_assert_eq(((int64_t *)out[0].data)[0], ((int64_t)1 << 60) + 4);
    rtt_free_outputs(out, 1);
    cr_assert_eq(rtt_run1(RT_OP_REDUCE_MEAN, 13, in, 1, out, at, 1, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(((int64_t *)out[0].data)[0], (((int64_t)1 << 60) + 4) / 3);
    rtt_free_outputs(out, 1);
    uint8_t u[4] = {3, 250, 7, 128};
    int64_t du[1] = {4};
    RtTensor U = rtt_tensor(RT_U8, 1, du, u);
    RtTensor *inu[1] = {&U};
    cr_assert_eq(rtt_run1(RT_OP_REDUCE_MAX, 13, inu, 1, out, at, 1, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(((uint8_t *)out[0].data)[0], 250);
    rtt_free_outputs(out, 1);
}

Test(reduce, bad_axes_errors) {
    int64_t axes[1] = {3};
    RtTensor X = rtt_tensor(RT_F32, 3, d232, NULL), out[1];
    RtTensor *in[1] = {&X};
    RtAttr at[1] = {rtt_attr_ints("axes", axes, 1)};
    cr_assert_eq(rtt_run1(RT_OP_REDUCE_MEAN, 13, in, 1, out, at, 1, 1), RT_ERR);
    cr_assert(strstr(rtt_err.msg, "axes") && strstr(rtt_err.msg, "3"), "%s", rtt_err.msg);
    int64_t dup[2] = {1, -2};
    RtAttr at2[1] = {rtt_attr_ints("axes", dup, 2)};
    cr_assert_eq(rtt_run1(RT_OP_REDUCE_MEAN, 13, in, 1, out, at2, 1, 1), RT_ERR);
    cr_assert(strstr(rtt_err.msg, "twice"), "%s", rtt_err.msg);
}

Test(argmax, select_last_index_and_keepdims) {
    float v[6] = {1, 3, 3, 2, 2, 0}; /* [2,3] */
    int64_t d[2] = {2, 3};
    RtTensor X = rtt_tensor(RT_F32, 2, d, v), out[1];
    RtTensor *in[1] = {&X};
    RtAttr at[2] = {rtt_attr_int("axis", -1), rtt_attr_int("select_last_index", 0)};
    cr_assert_eq(rtt_run1(RT_OP_ARG_MAX, 13, in, 1, out, at, 2, 0), RT_OK, "%s", rtt_err.msg);
    int64_t kd[2] = {2, 1};
    rtt_expect_dims(&out[0], 2, kd);
    cr_assert(out[0].dtype == RT_I64 && ((int64_t *)out[0].data)[0] == 1 && ((int64_t *)out[0].data)[1] == 0);
    rtt_free_outputs(out, 1);
    at[1] = rtt_attr_int("select_last_index", 1);
    cr_assert_eq(rtt_run1(RT_OP_ARG_MAX, 13, in, 1, out, at, 2, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert(((int64_t *)out[0].data)[0] == 2 && ((int64_t *)out[0].data)[1] == 1);
    rtt_free_outputs(out, 1);
    RtAttr at2[2] = {rtt_attr_int("axis", 0), rtt_attr_int("keepdims", 0)};
    cr_assert_eq(rtt_run1(RT_OP_ARG_MIN, 13, in, 1, out, at2, 2, 0), RT_OK, "%s", rtt_err.msg);
    int64_t d3[1] = {3};
    rtt_expect_dims(&out[0], 1, d3);
    const int64_t *y = out[0].data;
    cr_assert(y[0] == 0 && y[1] == 1 && y[2] == 1);
    rtt_free_outputs(out, 1);
}

Test(cumsum, exclusive_reverse_axis) {
    float v[6] = {1, 2, 3, 4, 5, 6}; /* [2,3] */
    int64_t d[2] = {2, 3}, ax[1] = {1};
    RtTensor X = rtt_tensor(RT_F32, 2, d, v), A = rtt_tensor(RT_I64, 0, NULL, ax), out[1];
    RtTensor *in[2] = {&X, &A};
    cr_assert_eq(rtt_run1(RT_OP_CUMSUM, 14, in, 2, out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    float w0[6] = {1, 3, 6, 4, 9, 15};
    rtt_expect_f32(&out[0], w0, 6, 0.0, 0);
    rtt_free_outputs(out, 1);
    RtAttr at[2] = {rtt_attr_int("exclusive", 1), rtt_attr_int("reverse", 1)};
    cr_assert_eq(rtt_run1(RT_OP_CUMSUM, 14, in, 2, out, at, 2, 0), RT_OK, "%s", rtt_err.msg);
    float w1[6] = {5, 3, 0, 11, 6, 0};
    rtt_expect_f32(&out[0], w1, 6, 0.0, 0);
    rtt_free_outputs(out, 1);
    int32_t iv[6] = {1, 2, 3, 4, 5, 6};
    int64_t ax0[1] = {-2};
    RtTensor XI = rtt_tensor(RT_I32, 2, d, iv), A0 = rtt_tensor(RT_I64, 1, (int64_t[1]){1}, ax0);
    RtTensor *ini[2] = {&XI, &A0};
    cr_assert_eq(rtt_run1(RT_OP_CUMSUM, 14, ini, 2, out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    const int32_t *y = out[0].data;
    cr_assert(y[0] == 1 && y[2] == 3 && y[3] == 5 && y[5] == 9);
    rtt_free_outputs(out, 1);
}

Test(topk, ties_lower_index_first_and_smallest) {
    float v[8] = {3, 1, 3, 2, 5, 5, 0, 5}; /* [2,4] */
    int64_t d[2] = {2, 4}, k[1] = {2}, dk[1] = {1};
    RtTensor X = rtt_tensor(RT_F32, 2, d, v), K = rtt_tensor(RT_I64, 1, dk, k), out[2];
    RtTensor *in[2] = {&X, &K};
    cr_assert_eq(rtt_run(RT_OP_TOPK, 11, in, 2, out, 2, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    int64_t od[2] = {2, 2};
    rtt_expect_dims(&out[0], 2, od);
    rtt_expect_dims(&out[1], 2, od);
    float wv[4] = {3, 3, 5, 5};
    rtt_expect_f32(&out[0], wv, 4, 0.0, 0);
    const int64_t *wi = out[1].data;
    cr_assert(wi[0] == 0 && wi[1] == 2 && wi[2] == 0 && wi[3] == 1, "%lld %lld %lld %lld", (long long)wi[0],
              (long long)wi[1], (long long)wi[2], (long long)wi[3]);
    rtt_free_outputs(out, 2);
    RtAttr at[2] = {rtt_attr_int("largest", 0), rtt_attr_int("axis", 0)};
    k[0] = 1;
    cr_assert_eq(rtt_run(RT_OP_TOPK, 11, in, 2, out, 2, at, 2, 0), RT_OK, "%s", rtt_err.msg);
    float ws[4] = {3, 1, 0, 2};
    rtt_expect_f32(&out[0], ws, 4, 0.0, 0);
    const int64_t *si = out[1].data;
    cr_assert(si[0] == 0 && si[1] == 0 && si[2] == 1 && si[3] == 0);
    rtt_free_outputs(out, 2);
    k[0] = 5;
    cr_assert_eq(rtt_run(RT_OP_TOPK, 11, in, 2, out, 2, NULL, 0, 0), RT_ERR);
    cr_assert(strstr(rtt_err.msg, "K = 5") && strstr(rtt_err.msg, "[2,4]"), "%s", rtt_err.msg);
}

Test(topk, k_attribute_before_opset_10) {
    int64_t v[5] = {4, -1, 9, 9, 2}, d[1] = {5};
    RtTensor X = rtt_tensor(RT_I64, 1, d, v), out[2];
    RtTensor *in[1] = {&X};
    RtAttr at[1] = {rtt_attr_int("k", 3)};
    cr_assert_eq(rtt_run(RT_OP_TOPK, 1, in, 1, out, 2, at, 1, 0), RT_OK, "%s", rtt_err.msg);
    const int64_t *y = out[0].data, *ix = out[1].data;
    cr_assert(y[0] == 9 && y[1] == 9 && y[2] == 4 && ix[0] == 2 && ix[1] == 3 && ix[2] == 0);
    rtt_free_outputs(out, 2);
}
