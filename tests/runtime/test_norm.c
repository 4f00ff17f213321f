/*
 * test_norm.c — Softmax/LogSoftmax/Hardmax (opset 11 vs 13 axis semantics),
 * LayerNormalization, BatchNormalization (inference and training) and
 * InstanceNormalization against hand computations in double.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rt_test_util.h"

/* float32 results of a few double operations rounded once: relative error ~6e-8; the
 * values here are below 10, so 1e-6 absolute is a safe bound. */
#define TOL 1e-6

static float x24[24];
static const int64_t d234[3] = {2, 3, 4};

static void fill_x24(void) {
    for (int i = 0; i < 24; i++) x24[i] = (float)((i * 7) % 11) * 0.5f - 2.0f;
}

Test(softmax, opset11_coerces_2d_opset13_single_axis) {
    fill_x24();
    RtTensor X = rtt_tensor(RT_F32, 3, d234, x24), out[1];
    RtTensor *in[1] = {&X};
    RtAttr at[1] = {rtt_attr_int("axis", 1)};
    /* opset 11: rows are [2, 12]; each row of 12 sums to one */
    cr_assert_eq(rtt_run1(RT_OP_SOFTMAX, 11, in, 1, out, at, 1, 0), RT_OK, "%s", rtt_err.msg);
    float want[24];
    for (int b = 0; b < 2; b++) {
        double s = 0;
        for (int j = 0; j < 12; j++) s += exp(x24[b * 12 + j]);
        for (int j = 0; j < 12; j++) want[b * 12 + j] = (float)(exp(x24[b * 12 + j]) / s);
    }
    rtt_expect_f32(&out[0], want, 24, TOL, 0);
    rtt_free_outputs(out, 1);
    /* opset 13: over dim 1 only (3 values, stride 4) */
    cr_assert_eq(rtt_run1(RT_OP_SOFTMAX, 13, in, 1, out, at, 1, 0), RT_OK, "%s", rtt_err.msg);
    for (int b = 0; b < 2; b++)
        for (int k = 0; k < 4; k++) {
            double s = 0;
            for (int j = 0; j < 3; j++) s += exp(x24[b * 12 + j * 4 + k]);
            for (int j = 0; j < 3; j++) want[b * 12 + j * 4 + k] = (float)(exp(x24[b * 12 + j * 4 + k]) / s);
        }
    rtt_expect_f32(&out[0], want, 24, TOL, 0);
    rtt_free_outputs(out, 1);
}

Test(softmax, default_axis_and_log_softmax_large_values) {
    float v[4] = {1000, 1001, 1002, 1003};
    int64_t d[2] = {1, 4};
    RtTensor X = rtt_tensor(RT_F32, 2, d, v), out[1];
    RtTensor *in[1] = {&X};
    cr_assert_eq(rtt_run1(RT_OP_LOG_SOFTMAX, 13, in, 1, out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    double lse = 3 + log(exp(-3.0) + exp(-2.0) + exp(-1.0) + 1.0);
    float want[4] = {(float)(0 - lse), (float)(1 - lse), (float)(2 - lse), (float)(3 - lse)};
    rtt_expect_f32(&out[0], want, 4, TOL, 0);
    rtt_free_outputs(out, 1);
    cr_assert_eq(rtt_run1(RT_OP_SOFTMAX, 13, in, 1, out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    for (int i = 0; i < 4; i++) want[i] = (float)exp(want[i]);
    rtt_expect_f32(&out[0], want, 4, TOL, 0);
    rtt_free_outputs(out, 1);
}

Test(softmax, float64_strided_path) {
    double v[6] = {0, 1, 2, 3, 4, 5}; /* [2,3], opset 13 axis 0: columns */
    int64_t d[2] = {2, 3};
    RtTensor X = rtt_tensor(RT_F64, 2, d, v), out[1];
    RtTensor *in[1] = {&X};
    RtAttr at[1] = {rtt_attr_int("axis", 0)};
    cr_assert_eq(rtt_run1(RT_OP_SOFTMAX, 13, in, 1, out, at, 1, 0), RT_OK, "%s", rtt_err.msg);
    const double *y = out[0].data;
    double lo = 1.0 / (1.0 + exp(3.0));
    for (int j = 0; j < 3; j++) {
        cr_assert(fabs(y[j] - lo) < 1e-15 && fabs(y[3 + j] - (1 - lo)) < 1e-15);
    }
    rtt_free_outputs(out, 1);
}

Test(hardmax, first_max_wins_per_version) {
    float v[6] = {1, 3, 3, 0, 2, 9}; /* [1,2,3] */
    int64_t d[3] = {1, 2, 3};
    RtTensor X = rtt_tensor(RT_F32, 3, d, v), out[1];
    RtTensor *in[1] = {&X};
    cr_assert_eq(rtt_run1(RT_OP_HARDMAX, 13, in, 1, out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    float w13[6] = {0, 1, 0, 0, 0, 1};
    rtt_expect_f32(&out[0], w13, 6, 0.0, 0);
    rtt_free_outputs(out, 1);
    cr_assert_eq(rtt_run1(RT_OP_HARDMAX, 11, in, 1, out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    float w11[6] = {0, 0, 0, 0, 0, 1}; /* one row of 6 */
    rtt_expect_f32(&out[0], w11, 6, 0.0, 0);
    rtt_free_outputs(out, 1);
}

Test(layer_norm, hand_computed_with_mean_and_inv_std) {
    float v[6] = {1, 2, 3, 2, 4, 9}, sc[3] = {1, 2, 0.5f}, bi[3] = {0, 1, -1};
    int64_t d[2] = {2, 3}, d3[1] = {3};
    RtTensor X = rtt_tensor(RT_F32, 2, d, v), S = rtt_tensor(RT_F32, 1, d3, sc), B = rtt_tensor(RT_F32, 1, d3, bi),
             out[3];
    RtTensor *in[3] = {&X, &S, &B};
    RtAttr at[1] = {rtt_attr_float("epsilon", 1e-3f)};
    cr_assert_eq(rtt_run(RT_OP_LAYER_NORMALIZATION, 17, in, 3, out, 3, at, 1, 0), RT_OK, "%s", rtt_err.msg);
    float want[6], wm[2], wi[2];
    for (int r = 0; r < 2; r++) {
        double m = (v[r * 3] + v[r * 3 + 1] + v[r * 3 + 2]) / 3.0, var = 0;
        for (int j = 0; j < 3; j++) var += (v[r * 3 + j] - m) * (v[r * 3 + j] - m);
        double inv = 1.0 / sqrt(var / 3.0 + (double)1e-3f);
        for (int j = 0; j < 3; j++) want[r * 3 + j] = (float)((v[r * 3 + j] - m) * inv * sc[j] + bi[j]);
        wm[r] = (float)m;
        wi[r] = (float)inv;
    }
    rtt_expect_f32(&out[0], want, 6, TOL, 0);
    int64_t sd[2] = {2, 1};
    rtt_expect_dims(&out[1], 2, sd);
    rtt_expect_dims(&out[2], 2, sd);
    rtt_expect_f32(&out[1], wm, 2, TOL, 0);
    rtt_expect_f32(&out[2], wi, 2, TOL, 0);
    rtt_free_outputs(out, 3);
}

Test(layer_norm, axis0_scale_broadcast_no_bias) {
    float v[4] = {1, 2, 3, 4}, sc[1] = {2};
    int64_t d[2] = {2, 2}, d1[1] = {1};
    RtTensor X = rtt_tensor(RT_F32, 2, d, v), S = rtt_tensor(RT_F32, 1, d1, sc), out[1];
    RtTensor *in[2] = {&X, &S};
    RtAttr at[2] = {rtt_attr_int("axis", 0), rtt_attr_float("epsilon", 0.0f)};
    cr_assert_eq(rtt_run1(RT_OP_LAYER_NORMALIZATION, 17, in, 2, out, at, 2, 0), RT_OK, "%s", rtt_err.msg);
    double s = 1.0 / sqrt(1.25);
    float want[4] = {(float)(-3 * s), (float)(-s), (float)s, (float)(3 * s)};
    rtt_expect_f32(&out[0], want, 4, TOL, 0);
    rtt_free_outputs(out, 1);
    int64_t bad[1] = {3};
    RtTensor S3 = rtt_tensor(RT_F32, 1, bad, NULL), XS = rtt_tensor(RT_F32, 2, d, NULL);
    RtTensor *in2[2] = {&XS, &S3};
    cr_assert_eq(rtt_run1(RT_OP_LAYER_NORMALIZATION, 17, in2, 2, out, at, 2, 1), RT_ERR);
    cr_assert(strstr(rtt_err.msg, "Scale") && strstr(rtt_err.msg, "[3]") && strstr(rtt_err.msg, "[2,2]"), "%s",
              rtt_err.msg);
}

Test(batch_norm, inference_hand_computed) {
    float v[4] = {1, 2, 3, 4}, sc[2] = {1, 2}, b[2] = {0, 1}, m[2] = {1, 3}, var[2] = {4, 1};
    int64_t d[4] = {1, 2, 1, 2}, dc[1] = {2};
    RtTensor X = rtt_tensor(RT_F32, 4, d, v), S = rtt_tensor(RT_F32, 1, dc, sc), B = rtt_tensor(RT_F32, 1, dc, b),
             M = rtt_tensor(RT_F32, 1, dc, m), V = rtt_tensor(RT_F32, 1, dc, var), out[1];
    RtTensor *in[5] = {&X, &S, &B, &M, &V};
    RtAttr at[1] = {rtt_attr_float("epsilon", 0.0f)};
    cr_assert_eq(rtt_run1(RT_OP_BATCH_NORMALIZATION, 15, in, 5, out, at, 1, 0), RT_OK, "%s", rtt_err.msg);
    float want[4] = {0, 0.5f, 1, 3}; /* c0: (x-1)/2; c1: 2(x-3)+1 */
    rtt_expect_f32(&out[0], want, 4, TOL, 0);
    rtt_free_outputs(out, 1);
}

/* spatial = 0 (opsets 1-8): scale, B, mean, var hold one value per activation, [C, D1 ..]. */
Test(batch_norm, spatial0_per_activation_inference) {
    float v[4] = {1, 2, 3, 6}, sc[2] = {1, 2}, b[2] = {0, 1}, m[2] = {2, 4}, var[2] = {4, 1};
    int64_t d[3] = {2, 1, 2}, dc[2] = {1, 2};
    RtTensor X = rtt_tensor(RT_F32, 3, d, v), S = rtt_tensor(RT_F32, 2, dc, sc), B = rtt_tensor(RT_F32, 2, dc, b),
             M = rtt_tensor(RT_F32, 2, dc, m), V = rtt_tensor(RT_F32, 2, dc, var), out[1];
    RtTensor *in[5] = {&X, &S, &B, &M, &V};
    RtAttr at[2] = {rtt_attr_int("spatial", 0), rtt_attr_float("epsilon", 0.0f)};
    cr_assert_eq(rtt_run1(RT_OP_BATCH_NORMALIZATION, 7, in, 5, out, at, 2, 0), RT_OK, "%s", rtt_err.msg);
    /* activation 0: (x - 2) / 2 * 1 + 0; activation 1: (x - 4) / 1 * 2 + 1 */
    float want[4] = {-0.5f, -3, 0.5f, 5};
    rtt_expect_f32(&out[0], want, 4, TOL, 0);
    rtt_free_outputs(out, 1);
    /* per-channel sized statistics are refused with spatial = 0 */
    int64_t d1[1] = {1};
    RtTensor S1 = rtt_tensor(RT_F32, 1, d1, sc);
    in[1] = &S1;
    cr_assert_lt(rtt_run1(RT_OP_BATCH_NORMALIZATION, 7, in, 5, out, at, 2, 0), 0);
    cr_assert(strstr(rtt_err.msg, "per activation"), "%s", rtt_err.msg);
}

Test(batch_norm, spatial0_training_stats_over_batch) {
    float v[4] = {1, 2, 3, 6}, sc[2] = {1, 2}, b[2] = {0, 1}, m[2] = {0, 0}, var[2] = {1, 1};
    int64_t d[3] = {2, 1, 2}, dc[2] = {1, 2};
    RtTensor X = rtt_tensor(RT_F32, 3, d, v), S = rtt_tensor(RT_F32, 2, dc, sc), B = rtt_tensor(RT_F32, 2, dc, b),
             M = rtt_tensor(RT_F32, 2, dc, m), V = rtt_tensor(RT_F32, 2, dc, var), out[5];
    RtTensor *in[5] = {&X, &S, &B, &M, &V};
    RtAttr at[3] = {rtt_attr_int("spatial", 0), rtt_attr_float("epsilon", 0.0f), rtt_attr_float("momentum", 0.5f)};
    cr_assert_eq(rtt_run(RT_OP_BATCH_NORMALIZATION, 7, in, 5, out, 5, at, 3, 0), RT_OK, "%s", rtt_err.msg);
    /* activation 0 sees 1, 3 (mean 2, var 1); activation 1 sees 2, 6 (mean 4, var 4) */
    float want[4] = {-1, -1, 1, 3}, rm[2] = {1, 2}, rv[2] = {1, 2.5f}, sm[2] = {2, 4}, sv[2] = {1, 4};
    rtt_expect_f32(&out[0], want, 4, TOL, 0);
    rtt_expect_f32(&out[1], rm, 2, TOL, 0); /* 0 * 0.5 + mean * 0.5 */
    rtt_expect_f32(&out[2], rv, 2, TOL, 0); /* 1 * 0.5 + var * 0.5 */
    rtt_expect_f32(&out[3], sm, 2, TOL, 0);
    rtt_expect_f32(&out[4], sv, 2, TOL, 0);
    rtt_expect_dims(&out[1], 2, dc);
    rtt_free_outputs(out, 5);
}

Test(batch_norm, training_mode_batch_stats_and_running_update) {
    float v[4] = {1, 3, 5, 7}, sc[1] = {2}, b[1] = {1}, m[1] = {0}, var[1] = {1};
    int64_t d[3] = {2, 1, 2}, dc[1] = {1};
    RtTensor X = rtt_tensor(RT_F32, 3, d, v), S = rtt_tensor(RT_F32, 1, dc, sc), B = rtt_tensor(RT_F32, 1, dc, b),
             M = rtt_tensor(RT_F32, 1, dc, m), V = rtt_tensor(RT_F32, 1, dc, var), out[3];
    RtTensor *in[5] = {&X, &S, &B, &M, &V};
    RtAttr at[2] = {rtt_attr_int("training_mode", 1), rtt_attr_float("epsilon", 0.0f)};
    cr_assert_eq(rtt_run(RT_OP_BATCH_NORMALIZATION, 15, in, 5, out, 3, at, 2, 0), RT_OK, "%s", rtt_err.msg);
    /* batch mean 4, population variance 5 */
    float want[4];
    for (int i = 0; i < 4; i++) want[i] = (float)((v[i] - 4) / sqrt(5.0) * 2 + 1);
    rtt_expect_f32(&out[0], want, 4, TOL, 0);
    float rm[1] = {0.4f}, rv[1] = {1.4f}; /* 0*0.9 + 4*0.1, 1*0.9 + 5*0.1 */
    rtt_expect_f32(&out[1], rm, 1, TOL, 0);
    rtt_expect_f32(&out[2], rv, 1, TOL, 0);
    rtt_free_outputs(out, 3);
}

Test(instance_norm, per_instance_per_channel) {
    float v[8] = {1, 3, 2, 6, 0, 0, 5, 5}, sc[2] = {1, 3}, b[2] = {0, -1}; /* [2,2,2] */
    int64_t d[3] = {2, 2, 2}, dc[1] = {2};
    RtTensor X = rtt_tensor(RT_F32, 3, d, v), S = rtt_tensor(RT_F32, 1, dc, sc), B = rtt_tensor(RT_F32, 1, dc, b),
             out[1];
    RtTensor *in[3] = {&X, &S, &B};
    cr_assert_eq(rtt_run1(RT_OP_INSTANCE_NORMALIZATION, 6, in, 3, out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    double e = 1e-5f, a0 = 1 / sqrt(1 + e), a1 = 3 / sqrt(4 + e);
    float want[8] = {(float)-a0, (float)a0, (float)(-2 * a1 - 1), (float)(2 * a1 - 1), 0, 0, -1, -1};
    rtt_expect_f32(&out[0], want, 8, TOL, 0);
    rtt_free_outputs(out, 1);
}
