/*
 * test_loss.c — NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss of
 * runtime/kernels/ref/loss.c on small cases worked out by hand: the three reductions, class
 * weights, ignore_index (also negative, and every element ignored), [N, C, d] layouts, the
 * log_prob output, large scores (stability), float64, shape mode and the error paths.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rt_test_util.h"

/* The kernel works in double and rounds once to float: 1e-6 relative covers that rounding
 * and the float inputs' own representation of values such as 0.1. */
#define LOSS_TOL 1e-6

/* log-probabilities [N=2, C=3]:  row 0 = -1 -2 -3, row 1 = -0.5 -1.5 -2.5 */
static float g_x[6] = {-1, -2, -3, -0.5f, -1.5f, -2.5f};
static float g_w[3] = {0.1f, 0.2f, 0.3f};

/* Runs NLL on g_x with targets t[2] (int64), optional weight, reduction ("" = absent) and
 * ignore_index (has_ii); returns the status, result in *out. */
static int nll(const int64_t *t, int weighted, const char *red, int has_ii, int64_t ii, RtTensor *out) {
    static int64_t xd[] = {2, 3}, td[] = {2}, wd[] = {3};
    static int64_t tv[2];
    memcpy(tv, t, sizeof tv);
    static RtTensor tx, tt, tw;
    tx = rtt_tensor(RT_F32, 2, xd, g_x);
    tt = rtt_tensor(RT_I64, 1, td, tv);
    tw = rtt_tensor(RT_F32, 1, wd, g_w);
    RtTensor *in[] = {&tx, &tt, weighted ? &tw : NULL};
    RtAttr attrs[2];
    int na = 0;
    if (red[0]) attrs[na++] = rtt_attr_str("reduction", red);
    if (has_ii) attrs[na++] = rtt_attr_int("ignore_index", ii);
    return rtt_run1(RT_OP_NEGATIVE_LOG_LIKELIHOOD_LOSS, 13, in, 3, out, attrs, na, 0);
}

static void expect_scalar(RtTensor *out, float want) {
    rtt_expect_dims(out, 0, NULL);
    rtt_expect_f32(out, &want, 1, 0, LOSS_TOL);
    free(out->data);
    out->data = NULL;
}

Test(nll, reductions_without_weight) {
    RtTensor out = {0};
    const int64_t t[2] = {2, 0};
    /* none: -x[0][2] = 3, -x[1][0] = 0.5 */
    cr_assert_eq(nll(t, 0, "none", 0, 0, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 1, (int64_t[]){2});
    rtt_expect_f32(&out, (float[]){3.0f, 0.5f}, 2, 0, LOSS_TOL);
    free(out.data);
    out.data = NULL;
    cr_assert_eq(nll(t, 0, "sum", 0, 0, &out), RT_OK, "%s", rtt_err.msg);
    expect_scalar(&out, 3.5f);
    /* mean is the default: 3.5 / 2 */
    cr_assert_eq(nll(t, 0, "", 0, 0, &out), RT_OK, "%s", rtt_err.msg);
    expect_scalar(&out, 1.75f);
}

Test(nll, class_weights) {
    RtTensor out = {0};
    const int64_t t[2] = {2, 0};
    /* none: 3 * 0.3 = 0.9, 0.5 * 0.1 = 0.05 */
    cr_assert_eq(nll(t, 1, "none", 0, 0, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){0.9f, 0.05f}, 2, 0, LOSS_TOL);
    free(out.data);
    out.data = NULL;
    cr_assert_eq(nll(t, 1, "sum", 0, 0, &out), RT_OK, "%s", rtt_err.msg);
    expect_scalar(&out, 0.95f);
    /* mean divides by the applied weights 0.3 + 0.1, not by the count: 0.95 / 0.4 */
    cr_assert_eq(nll(t, 1, "mean", 0, 0, &out), RT_OK, "%s", rtt_err.msg);
    expect_scalar(&out, 2.375f);
}

Test(nll, ignore_index) {
    RtTensor out = {0};
    /* ignore_index 0: element 1 (target 0) gives 0 and leaves the denominator */
    const int64_t t[2] = {2, 0};
    cr_assert_eq(nll(t, 1, "none", 1, 0, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){0.9f, 0.0f}, 2, 0, LOSS_TOL);
    free(out.data);
    out.data = NULL;
    cr_assert_eq(nll(t, 1, "mean", 1, 0, &out), RT_OK, "%s", rtt_err.msg);
    expect_scalar(&out, 3.0f); /* 0.9 / 0.3 */
    /* a negative ignore_index is a valid target value, not out of range */
    const int64_t tn[2] = {-1, 1};
    cr_assert_eq(nll(tn, 0, "mean", 1, -1, &out), RT_OK, "%s", rtt_err.msg);
    expect_scalar(&out, 1.5f); /* only -x[1][1] = 1.5, over one element */
    cr_assert_eq(nll(tn, 0, "sum", 1, -1, &out), RT_OK, "%s", rtt_err.msg);
    expect_scalar(&out, 1.5f);
    /* every element ignored: the mean is 0 / 0 (the spec's formula) */
    const int64_t ta[2] = {-1, -1};
    cr_assert_eq(nll(ta, 0, "mean", 1, -1, &out), RT_OK, "%s", rtt_err.msg);
    expect_scalar(&out, NAN);
    cr_assert_eq(nll(ta, 0, "sum", 1, -1, &out), RT_OK, "%s", rtt_err.msg);
    expect_scalar(&out, 0.0f);
}

/* [N=1, C=2, d=3]: class 0 row -1 -2 -3, class 1 row -4 -5 -6; targets [[1, 0, 1]]
 * pick -4, -2, -6 at d = 0, 1, 2 (int32 targets). */
Test(nll, spatial_layout_int32_targets) {
    static float x[6] = {-1, -2, -3, -4, -5, -6};
    static int32_t t[3] = {1, 0, 1};
    RtTensor tx = rtt_tensor(RT_F32, 3, (int64_t[]){1, 2, 3}, x), tt = rtt_tensor(RT_I32, 2, (int64_t[]){1, 3}, t);
    RtTensor *in[] = {&tx, &tt};
    RtTensor out = {0};
    RtAttr a = rtt_attr_str("reduction", "none");
    cr_assert_eq(rtt_run1(RT_OP_NEGATIVE_LOG_LIKELIHOOD_LOSS, 12, in, 2, &out, &a, 1, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 2, (int64_t[]){1, 3});
    rtt_expect_f32(&out, (float[]){4, 2, 6}, 3, 0, LOSS_TOL);
    free(out.data);
    out.data = NULL;
    cr_assert_eq(rtt_run1(RT_OP_NEGATIVE_LOG_LIKELIHOOD_LOSS, 12, in, 2, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    expect_scalar(&out, 4.0f);
}

Test(nll, float64) {
    static double x[4] = {-0.25, -0.75, -1.25, -1.75};
    static int64_t t[2] = {1, 0};
    RtTensor tx = rtt_tensor(RT_F64, 2, (int64_t[]){2, 2}, x), tt = rtt_tensor(RT_I64, 1, (int64_t[]){2}, t);
    RtTensor *in[] = {&tx, &tt};
    RtTensor out = {0};
    RtAttr a = rtt_attr_str("reduction", "sum");
    cr_assert_eq(rtt_run1(RT_OP_NEGATIVE_LOG_LIKELIHOOD_LOSS, 13, in, 2, &out, &a, 1, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(out.dtype, RT_F64);
    cr_expect_eq(((double *)out.data)[0], 2.0, "got %.17g, want 0.75 + 1.25", ((double *)out.data)[0]);
    free(out.data);
}

Test(nll, shape_mode) {
    static int64_t td[] = {2};
    RtTensor tx = rtt_tensor(RT_F32, 2, (int64_t[]){2, 3}, NULL), tt = rtt_tensor(RT_I64, 1, td, NULL);
    RtTensor *in[] = {&tx, &tt};
    RtTensor out = {0};
    RtAttr a = rtt_attr_str("reduction", "none");
    cr_assert_eq(rtt_run1(RT_OP_NEGATIVE_LOG_LIKELIHOOD_LOSS, 13, in, 2, &out, &a, 1, 1), RT_SHAPE_ONLY, "%s",
                 rtt_err.msg);
    rtt_expect_dims(&out, 1, (int64_t[]){2});
    cr_assert_eq(rtt_run1(RT_OP_NEGATIVE_LOG_LIKELIHOOD_LOSS, 13, in, 2, &out, NULL, 0, 1), RT_SHAPE_ONLY, "%s",
                 rtt_err.msg);
    rtt_expect_dims(&out, 0, NULL);
}

Test(nll, errors) {
    RtTensor out = {0};
    /* class 3 with C = 3, and -1 without an ignore_index */
    cr_expect_eq(nll((int64_t[]){3, 0}, 0, "none", 0, 0, &out), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "outside [0, 3)") != NULL, "%s", rtt_err.msg);
    rtt_free_outputs(&out, 1); /* the output was allocated before the targets were read */
    cr_expect_eq(nll((int64_t[]){0, -1}, 0, "sum", 1, 5, &out), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "element 1 is -1") != NULL, "%s", rtt_err.msg);
    rtt_free_outputs(&out, 1);
    cr_expect_eq(nll((int64_t[]){0, 0}, 0, "avg", 0, 0, &out), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "reduction") != NULL, "%s", rtt_err.msg);
    /* target of the wrong shape, weight of the wrong length, integer input */
    static float x[6];
    static int64_t t[3];
    static float w[2];
    RtTensor tx = rtt_tensor(RT_F32, 2, (int64_t[]){2, 3}, x), tt = rtt_tensor(RT_I64, 1, (int64_t[]){3}, t);
    RtTensor *in[] = {&tx, &tt, NULL};
    cr_expect_eq(rtt_run1(RT_OP_NEGATIVE_LOG_LIKELIHOOD_LOSS, 13, in, 3, &out, NULL, 0, 0), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "does not match") != NULL, "%s", rtt_err.msg);
    tt.dims[0] = 2;
    RtTensor tw = rtt_tensor(RT_F32, 1, (int64_t[]){2}, w);
    in[2] = &tw;
    cr_expect_eq(rtt_run1(RT_OP_NEGATIVE_LOG_LIKELIHOOD_LOSS, 13, in, 3, &out, NULL, 0, 0), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "'weight'") != NULL, "%s", rtt_err.msg);
    in[2] = NULL;
    tx.dtype = RT_I32;
    cr_expect_eq(rtt_run1(RT_OP_NEGATIVE_LOG_LIKELIHOOD_LOSS, 13, in, 3, &out, NULL, 0, 0), RT_ERR);
    tx.dtype = RT_F32;
    RtTensor tx1 = rtt_tensor(RT_F32, 1, (int64_t[]){6}, x);
    in[0] = &tx1;
    cr_expect_eq(rtt_run1(RT_OP_NEGATIVE_LOG_LIKELIHOOD_LOSS, 13, in, 3, &out, NULL, 0, 0), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "rank >= 2") != NULL, "%s", rtt_err.msg);
}

/* Scores [[1, 2, 3]]: log-sum-exp = 3 + ln(1 + e^-1 + e^-2) = 3 + ln(1.5032147244) = 3.4076059644,
 * so log_prob = [-2.4076059644, -1.4076059644, -0.4076059644]. Scores shifted by 1000 give
 * the same log_prob (exp(1003) overflows a double: only a max-shifted form gets it). */
Test(sce, log_prob_and_loss) {
    static float s[6] = {1, 2, 3, 1001, 1002, 1003};
    static int64_t l[2] = {0, 2};
    RtTensor ts = rtt_tensor(RT_F32, 2, (int64_t[]){2, 3}, s), tl = rtt_tensor(RT_I64, 1, (int64_t[]){2}, l);
    RtTensor *in[] = {&ts, &tl};
    RtTensor out[2];
    RtAttr a = rtt_attr_str("reduction", "none");
    cr_assert_eq(rtt_run(RT_OP_SOFTMAX_CROSS_ENTROPY_LOSS, 13, in, 2, out, 2, &a, 1, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out[0], 1, (int64_t[]){2});
    rtt_expect_f32(&out[0], (float[]){2.4076059644f, 0.4076059644f}, 2, 0, LOSS_TOL);
    rtt_expect_dims(&out[1], 2, (int64_t[]){2, 3});
    float lp[6] = {-2.4076059644f, -1.4076059644f, -0.4076059644f, -2.4076059644f, -1.4076059644f, -0.4076059644f};
    /* the shifted row's scores are exact in float only to 1e-7 relative of 1000: 1e-4 absolute */
    rtt_expect_f32(&out[1], lp, 6, 1e-4, LOSS_TOL);
    rtt_free_outputs(out, 2);
    /* one output only, mean: (2.4076059644 + 0.4076059644) / 2 */
    cr_assert_eq(rtt_run1(RT_OP_SOFTMAX_CROSS_ENTROPY_LOSS, 12, in, 2, out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    expect_scalar(&out[0], 1.4076059644f);
}

/* [N=1, C=2, d=2]: scores class 0 = [0, 0], class 1 = [0, ln 3]; at d = 0 both classes are
 * ln(1/2), at d = 1 class 0 is ln(1/4), class 1 ln(3/4). Labels [[1, 0]], weight [2, 1],
 * ignore_index 1: d = 0 ignored, d = 1 gives ln 4 * 2; mean over weight 2 = ln 4. */
Test(sce, spatial_weight_ignore_index) {
    static float s[4] = {0, 0, 0, 1.0986122887f};
    static int64_t l[2] = {1, 0};
    static float w[2] = {2, 1};
    RtTensor ts = rtt_tensor(RT_F32, 3, (int64_t[]){1, 2, 2}, s), tl = rtt_tensor(RT_I64, 2, (int64_t[]){1, 2}, l),
             tw = rtt_tensor(RT_F32, 1, (int64_t[]){2}, w);
    RtTensor *in[] = {&ts, &tl, &tw};
    RtTensor out[2];
    RtAttr a[] = {rtt_attr_int("ignore_index", 1), rtt_attr_str("reduction", "none")};
    cr_assert_eq(rtt_run(RT_OP_SOFTMAX_CROSS_ENTROPY_LOSS, 13, in, 3, out, 2, a, 2, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out[0], 2, (int64_t[]){1, 2});
    rtt_expect_f32(&out[0], (float[]){0.0f, 2.7725887222f}, 2, 0, LOSS_TOL);
    rtt_expect_f32(&out[1], (float[]){-0.6931471806f, -1.3862943611f, -0.6931471806f, -0.2876820725f}, 4, 0,
                   LOSS_TOL);
    rtt_free_outputs(out, 2);
    cr_assert_eq(rtt_run1(RT_OP_SOFTMAX_CROSS_ENTROPY_LOSS, 13, in, 3, out, a, 1, 0), RT_OK, "%s", rtt_err.msg);
    expect_scalar(&out[0], 1.3862943611f);
}

Test(sce, shape_mode_and_errors) {
    RtTensor ts = rtt_tensor(RT_F32, 3, (int64_t[]){2, 4, 5}, NULL), tl = rtt_tensor(RT_I64, 2, (int64_t[]){2, 5}, NULL);
    RtTensor *in[] = {&ts, &tl};
    RtTensor out[2];
    cr_assert_eq(rtt_run(RT_OP_SOFTMAX_CROSS_ENTROPY_LOSS, 13, in, 2, out, 2, NULL, 0, 1), RT_SHAPE_ONLY, "%s",
                 rtt_err.msg);
    rtt_expect_dims(&out[0], 0, NULL);
    rtt_expect_dims(&out[1], 3, (int64_t[]){2, 4, 5});
    /* a label equal to C */
    static float s[2] = {0, 0};
    static int64_t l[1] = {2};
    RtTensor ts2 = rtt_tensor(RT_F32, 2, (int64_t[]){1, 2}, s), tl2 = rtt_tensor(RT_I64, 1, (int64_t[]){1}, l);
    RtTensor *in2[] = {&ts2, &tl2};
    cr_expect_eq(rtt_run(RT_OP_SOFTMAX_CROSS_ENTROPY_LOSS, 13, in2, 2, out, 2, NULL, 0, 0), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "'labels' element 0 is 2") != NULL, "%s", rtt_err.msg);
    rtt_free_outputs(out, 2);
    /* labels missing */
    RtTensor *in3[] = {&ts2, NULL};
    cr_expect_eq(rtt_run(RT_OP_SOFTMAX_CROSS_ENTROPY_LOSS, 13, in3, 2, out, 1, NULL, 0, 0), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "labels") != NULL, "%s", rtt_err.msg);
}

/* float16 scores [[0, 0]], label 0: loss ln 2 = 0.693147..., log_prob -ln 2. float16 has a
 * spacing of 2^-11 in [0.5, 1): ln 2 / 2^-11 = 1419.53, so the nearest float16 is
 * 1420 / 2048 = 0.693359375 (one rounding from the double). */
Test(sce, float16) {
    static uint16_t s[2];
    s[0] = s[1] = rt_f32_to_f16(0.0f);
    static int64_t l[1] = {0};
    RtTensor ts = rtt_tensor(RT_F16, 2, (int64_t[]){1, 2}, s), tl = rtt_tensor(RT_I64, 1, (int64_t[]){1}, l);
    RtTensor *in[] = {&ts, &tl};
    RtTensor out[2];
    cr_assert_eq(rtt_run(RT_OP_SOFTMAX_CROSS_ENTROPY_LOSS, 13, in, 2, out, 2, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(out[0].dtype, RT_F16);
    cr_expect_eq(rt_f16_to_f32(((uint16_t *)out[0].data)[0]), 0.693359375f);
    cr_expect_eq(rt_f16_to_f32(((uint16_t *)out[1].data)[0]), -0.693359375f);
    cr_expect_eq(rt_f16_to_f32(((uint16_t *)out[1].data)[1]), -0.693359375f);
    rtt_free_outputs(out, 2);
}
