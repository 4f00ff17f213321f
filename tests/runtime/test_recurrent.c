/*
 * test_recurrent.c — hand-worked cases for RNN, GRU and LSTM in
 * runtime/kernels/ref/recurrent.c, called directly through rt_kernel_find().
 *
 * Expected values are the spec's equations worked by hand for one step with hidden size 1-2
 * (transcendental results evaluated once with a calculator and written as literals), or
 * exact integer sums (Relu / Affine cells over small integers) for the multi-step,
 * bidirectional, sequence_lens and layout cases. The ONNX conformance cases
 * (build/conformance --filter test_lstm / test_gru / rnn) cover longer sequences against
 * onnxruntime's numbers.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rt_test_util.h"

/* The kernel computes in double and rounds once to float; the literals have 9 significant
 * digits: allow a couple of float ulps. */
#define TOL_F32 1e-6
/* Integer-valued cases are exact. */
#define TOL_EXACT 0.0

static RtAttr attr_strings(const char *name, const char *const *v, int n) {
    return (RtAttr){.name = name, .type = RT_ATTR_STRINGS, .n = n, .strings = v};
}

static RtAttr attr_floats(const char *name, const float *v, int n) {
    return (RtAttr){.name = name, .type = RT_ATTR_FLOATS, .n = n, .floats = v};
}

/* ---- single steps, worked by hand ---- */

Test(rnn, one_step_tanh_with_bias_and_initial_h) {
    /* H = tanh(0.5*1 + 2*0.25 + 0.1 + 0.2) = tanh(1.3) */
    float x = 1, w = 0.5f, r = 2, b[2] = {0.1f, 0.2f}, h0 = 0.25f;
    int64_t d3[] = {1, 1, 1}, db[] = {1, 2};
    RtTensor tx = rtt_tensor(RT_F32, 3, d3, &x), tw = rtt_tensor(RT_F32, 3, d3, &w), tr = rtt_tensor(RT_F32, 3, d3, &r),
             tb = rtt_tensor(RT_F32, 2, db, b), th = rtt_tensor(RT_F32, 3, d3, &h0), out[2];
    RtTensor *in[] = {&tx, &tw, &tr, &tb, NULL, &th};
    RtAttr a[] = {rtt_attr_int("hidden_size", 1)};
    cr_assert_eq(rtt_run(RT_OP_RNN, 14, in, 6, out, 2, a, 1, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out[0], 4, (int64_t[]){1, 1, 1, 1});
    rtt_expect_dims(&out[1], 3, (int64_t[]){1, 1, 1});
    float want = 0.861723159f;
    rtt_expect_f32(&out[0], &want, 1, TOL_F32, 0);
    rtt_expect_f32(&out[1], &want, 1, TOL_F32, 0);
    rtt_free_outputs(out, 2);
}

Test(rnn, two_steps_relu_hidden2_exact) {
    /* x = 1: Wx = [1,-1], H = relu([1,-1]) = [1,0]; x = -1: Wx + R H = [-1,1] + [1,0] = [0,1] */
    float x[2] = {1, -1}, w[2] = {1, -1}, r[4] = {1, 0, 0, 1};
    int64_t dx[] = {2, 1, 1}, dw[] = {1, 2, 1}, dr[] = {1, 2, 2};
    RtTensor tx = rtt_tensor(RT_F32, 3, dx, x), tw = rtt_tensor(RT_F32, 3, dw, w), tr = rtt_tensor(RT_F32, 3, dr, r),
             out[2];
    RtTensor *in[] = {&tx, &tw, &tr};
    const char *acts[] = {"Relu"};
    RtAttr a[] = {attr_strings("activations", acts, 1)};
    cr_assert_eq(rtt_run(RT_OP_RNN, 7, in, 3, out, 2, a, 1, 0), RT_OK, "%s", rtt_err.msg);
    float wy[4] = {1, 0, 0, 1}, wh[2] = {0, 1};
    rtt_expect_dims(&out[0], 4, (int64_t[]){2, 1, 1, 2});
    rtt_expect_f32(&out[0], wy, 4, TOL_EXACT, 0);
    rtt_expect_f32(&out[1], wh, 2, TOL_EXACT, 0);
    rtt_free_outputs(out, 2);
}

/* GRU, hidden 1: x = 1, W = [z .5, r -.5, h 1], R = [1, 2, .5], Rbh = .3, H0 = .5:
 * z = sig(1), r = sig(.5);
 * linear_before_reset 0: h = tanh(1 + .5 (r .5) + .3); 1: h = tanh(1 + r (.5 .5 + .3));
 * H = (1 - z) h + z .5 */
static void gru_one_step(int lbr, float want) {
    float x = 1, w[3] = {0.5f, -0.5f, 1}, r[3] = {1, 2, 0.5f}, b[6] = {0, 0, 0, 0, 0, 0.3f}, h0 = 0.5f;
    int64_t d1[] = {1, 1, 1}, dw[] = {1, 3, 1}, db[] = {1, 6};
    RtTensor tx = rtt_tensor(RT_F32, 3, d1, &x), tw = rtt_tensor(RT_F32, 3, dw, w), tr = rtt_tensor(RT_F32, 3, dw, r),
             tb = rtt_tensor(RT_F32, 2, db, b), th = rtt_tensor(RT_F32, 3, d1, &h0), out[2];
    RtTensor *in[] = {&tx, &tw, &tr, &tb, NULL, &th};
    RtAttr a[] = {rtt_attr_int("linear_before_reset", lbr)};
    cr_assert_eq(rtt_run(RT_OP_GRU, 14, in, 6, out, 2, a, 1, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out[0], &want, 1, TOL_F32, 0);
    rtt_expect_f32(&out[1], &want, 1, TOL_F32, 0);
    rtt_free_outputs(out, 2);
}

Test(gru, one_step_reset_applied_before_R) { gru_one_step(0, 0.606715298f); }
Test(gru, one_step_linear_before_reset) { gru_one_step(1, 0.600109723f); }

/* LSTM, hidden 1: x = 1, W = [i .1, o .2, f .3, c .4], R = [.5, .6, .7, .8], Wb = [.01, .02,
 * .03, .04], Rb = 0, P = [i .1, o .2, f .3], H0 = .5, C0 = 1:
 * i = sig(.1 + .25 + .1 + .01), f = sig(.3 + .35 + .3 + .03), c = tanh(.4 + .4 + .04),
 * C = f + i c, o = sig(.2 + .3 + .2 C + .02), H = o tanh(C).
 * input_forget: f = 1 - i instead. */
static void lstm_one_step(int input_forget, float want_h, float want_c) {
    float x = 1, w[4] = {0.1f, 0.2f, 0.3f, 0.4f}, r[4] = {0.5f, 0.6f, 0.7f, 0.8f};
    float b[8] = {0.01f, 0.02f, 0.03f, 0.04f, 0, 0, 0, 0}, h0 = 0.5f, c0 = 1, p[3] = {0.1f, 0.2f, 0.3f};
    int64_t d1[] = {1, 1, 1}, dw[] = {1, 4, 1}, db[] = {1, 8}, dp[] = {1, 3};
    RtTensor tx = rtt_tensor(RT_F32, 3, d1, &x), tw = rtt_tensor(RT_F32, 3, dw, w), tr = rtt_tensor(RT_F32, 3, dw, r),
             tb = rtt_tensor(RT_F32, 2, db, b), th = rtt_tensor(RT_F32, 3, d1, &h0), tc = rtt_tensor(RT_F32, 3, d1, &c0),
             tp = rtt_tensor(RT_F32, 2, dp, p), out[3];
    RtTensor *in[] = {&tx, &tw, &tr, &tb, NULL, &th, &tc, &tp};
    RtAttr a[] = {rtt_attr_int("input_forget", input_forget), rtt_attr_int("hidden_size", 1)};
    cr_assert_eq(rtt_run(RT_OP_LSTM, 14, in, 8, out, 3, a, 2, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out[2], 3, (int64_t[]){1, 1, 1});
    rtt_expect_f32(&out[0], &want_h, 1, TOL_F32, 0);
    rtt_expect_f32(&out[1], &want_h, 1, TOL_F32, 0);
    rtt_expect_f32(&out[2], &want_c, 1, TOL_F32, 0);
    rtt_free_outputs(out, 3);
}

Test(lstm, one_step_peepholes_bias_initial_state) { lstm_one_step(0, 0.554753438f, 1.14751889f); }
Test(lstm, one_step_input_forget_couples_gates) { lstm_one_step(1, 0.443698578f, 0.807396501f); }

Test(rnn, float64_one_step) {
    double x = 1, w = 0.5, r = 2, b[2] = {0.1, 0.2}, h0 = 0.25;
    int64_t d3[] = {1, 1, 1}, db[] = {1, 2};
    RtTensor tx = rtt_tensor(RT_F64, 3, d3, &x), tw = rtt_tensor(RT_F64, 3, d3, &w), tr = rtt_tensor(RT_F64, 3, d3, &r),
             tb = rtt_tensor(RT_F64, 2, db, b), th = rtt_tensor(RT_F64, 3, d3, &h0), out[2];
    RtTensor *in[] = {&tx, &tw, &tr, &tb, NULL, &th};
    cr_assert_eq(rtt_run(RT_OP_RNN, 14, in, 6, out, 2, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(out[1].dtype, RT_F64);
    /* tanh(1.3) to 15 digits; the sum 0.5 + 0.5 + 0.1 + 0.2 rounds in double */
    cr_expect(fabs(((double *)out[1].data)[0] - 0.861723159313306) < 1e-14, "got %.17g", ((double *)out[1].data)[0]);
    rtt_free_outputs(out, 2);
}

/* ---- activations: an RNN cell with W = 1, R = 0 computes H = f(x) ---- */

/* One forward step over x = -2, 2 (batch 2) with the given activation list. */
static void act_case(const char *name, const float *alpha, int n_alpha, const float *beta, int n_beta,
                     float want_neg, float want_pos) {
    float x[2] = {-2, 2}, w = 1, r = 0;
    int64_t dx[] = {1, 2, 1}, d1[] = {1, 1, 1};
    RtTensor tx = rtt_tensor(RT_F32, 3, dx, x), tw = rtt_tensor(RT_F32, 3, d1, &w), tr = rtt_tensor(RT_F32, 3, d1, &r),
             out[2];
    RtTensor *in[] = {&tx, &tw, &tr};
    const char *acts[] = {name};
    RtAttr a[3] = {attr_strings("activations", acts, 1)};
    int na = 1;
    if (alpha) a[na++] = attr_floats("activation_alpha", alpha, n_alpha);
    if (beta) a[na++] = attr_floats("activation_beta", beta, n_beta);
    cr_assert_eq(rtt_run(RT_OP_RNN, 14, in, 3, out, 2, a, na, 0), RT_OK, "%s: %s", name, rtt_err.msg);
    float want[2] = {want_neg, want_pos};
    cr_expect_eq(rtt_expect_f32(&out[1], want, 2, TOL_F32, 0), 0, "activation %s", name);
    rtt_free_outputs(out, 2);
}

Test(rnn, every_activation_of_the_spec) {
    float a2 = 2, a05 = 0.5f, b05 = 0.5f, b3 = 3, a025 = 0.25f, a3 = 3;
    act_case("Relu", NULL, 0, NULL, 0, 0, 2);
    act_case("Tanh", NULL, 0, NULL, 0, -0.964027580f, 0.964027580f);
    act_case("Sigmoid", NULL, 0, NULL, 0, 0.119202922f, 0.880797078f);
    act_case("Affine", &a2, 1, &b3, 1, -1, 7);                      /* 2x + 3 */
    act_case("LeakyRelu", NULL, 0, NULL, 0, -0.02f, 2);             /* default alpha 0.01 */
    act_case("LeakyRelu", &a025, 1, NULL, 0, -0.5f, 2);
    act_case("ThresholdedRelu", NULL, 0, NULL, 0, 0, 2);            /* default alpha 1 */
    act_case("ThresholdedRelu", &a3, 1, NULL, 0, 0, 0);             /* 2 < 3 */
    act_case("ScaledTanh", &a2, 1, &b05, 1, -1.52318831f, 1.52318831f); /* 2 tanh(x/2) */
    act_case("HardSigmoid", NULL, 0, NULL, 0, 0.1f, 0.9f);          /* 0.2x + 0.5 */
    act_case("HardSigmoid", &a05, 1, &b05, 1, 0, 1);                /* clamped */
    act_case("Elu", NULL, 0, NULL, 0, -0.864664717f, 2);            /* e^-2 - 1 */
    act_case("Elu", &a05, 1, NULL, 0, -0.432332358f, 2);
    act_case("Softsign", NULL, 0, NULL, 0, -2.0f / 3.0f, 2.0f / 3.0f);
    act_case("Softplus", NULL, 0, NULL, 0, 0.126928011f, 2.12692801f); /* log(1 + e^x) */
    act_case("leakyrelu", &a025, 1, NULL, 0, -0.5f, 2);             /* names as onnxruntime reads them */
}

Test(rnn, clip_bounds_the_activation_input) {
    /* relu(clip(2, 0.5)) = 0.5, relu(clip(-2)) = 0; Affine would show the lower bound: 1*-0.5 + 0 */
    float x[2] = {-2, 2}, w = 1, r = 0;
    int64_t dx[] = {1, 2, 1}, d1[] = {1, 1, 1};
    RtTensor tx = rtt_tensor(RT_F32, 3, dx, x), tw = rtt_tensor(RT_F32, 3, d1, &w), tr = rtt_tensor(RT_F32, 3, d1, &r),
             out[2];
    RtTensor *in[] = {&tx, &tw, &tr};
    const char *acts[] = {"Affine"};
    RtAttr a[] = {attr_strings("activations", acts, 1), rtt_attr_float("clip", 0.5f)};
    cr_assert_eq(rtt_run(RT_OP_RNN, 14, in, 3, out, 2, a, 2, 0), RT_OK, "%s", rtt_err.msg);
    float want[2] = {-0.5f, 0.5f};
    rtt_expect_f32(&out[1], want, 2, TOL_EXACT, 0);
    rtt_free_outputs(out, 2);
}

Test(rnn, alpha_beta_consumed_in_order_across_directions) {
    /* bidirectional, forward LeakyRelu (alpha .25), reverse HardSigmoid (alpha .5, beta .25):
     * one step on x = -2: forward -0.5, reverse max(0, .5*-2 + .25) = 0; x = 1: 1 and .75 */
    float x[2] = {-2, 1}, w[2] = {1, 1}, r[2] = {0, 0}, al[2] = {0.25f, 0.5f}, be[1] = {0.25f};
    int64_t dx[] = {1, 2, 1}, d2[] = {2, 1, 1};
    RtTensor tx = rtt_tensor(RT_F32, 3, dx, x), tw = rtt_tensor(RT_F32, 3, d2, w), tr = rtt_tensor(RT_F32, 3, d2, r),
             out[2];
    RtTensor *in[] = {&tx, &tw, &tr};
    const char *acts[] = {"LeakyRelu", "HardSigmoid"};
    RtAttr a[] = {attr_strings("activations", acts, 2), rtt_attr_str("direction", "bidirectional"),
                  attr_floats("activation_alpha", al, 2), attr_floats("activation_beta", be, 1)};
    cr_assert_eq(rtt_run(RT_OP_RNN, 14, in, 3, out, 2, a, 4, 0), RT_OK, "%s", rtt_err.msg);
    float want[4] = {-0.5f, 1, 0, 0.75f}; /* Y_h [D=2, N=2, 1] */
    rtt_expect_f32(&out[1], want, 4, TOL_EXACT, 0);
    rtt_free_outputs(out, 2);
}

/* ---- bidirectional with sequence_lens, and layout 1 ---- */

/* RNN, Relu both ways, hidden 1, W = 1 forward / 2 reverse, R = 1, S = 3, N = 2,
 * sequence_lens = [3, 2]; row 0 reads 1, 2, 3, row 1 reads 4, 5 (its third step, 100, is
 * past its end and must be ignored).
 *   forward  row 0: 1, 1+2 = 3, 3+3 = 6          row 1: 4, 4+5 = 9, (0)
 *   reverse  row 0: t2 6, t1 4+6 = 10, t0 2+10 = 12    row 1: t1 10, t0 8+10 = 18, (t2 0)
 * Y [S, D, N, 1] and Y_h [D, N, 1] (forward's last step, reverse's step 0). */
static const float bi_x_l0[6] = {1, 4, 2, 5, 3, 100};          /* [S, N, 1] */
static const float bi_y_l0[12] = {1, 4, 12, 18, 3, 9, 10, 10, 6, 0, 6, 0};
static const float bi_yh_l0[4] = {6, 9, 12, 18};

static void bi_run(int layout, const float *x, RtTensor *out) {
    float w[2] = {1, 2}, r[2] = {1, 1};
    int32_t lens[2] = {3, 2};
    int64_t dx[] = {3, 2, 1}, dxl[] = {2, 3, 1}, d2[] = {2, 1, 1}, dl[] = {2};
    RtTensor tx = rtt_tensor_c(RT_F32, 3, layout ? dxl : dx, x), tw = rtt_tensor(RT_F32, 3, d2, w),
             tr = rtt_tensor(RT_F32, 3, d2, r), tl = rtt_tensor(RT_I32, 1, dl, lens);
    RtTensor *in[] = {&tx, &tw, &tr, NULL, &tl};
    const char *acts[] = {"Relu", "Relu"};
    RtAttr a[] = {attr_strings("activations", acts, 2), rtt_attr_str("direction", "bidirectional"),
                  rtt_attr_int("layout", layout)};
    cr_assert_eq(rtt_run(RT_OP_RNN, 14, in, 5, out, 2, a, 3, 0), RT_OK, "%s", rtt_err.msg);
}

Test(rnn, bidirectional_with_sequence_lens) {
    RtTensor out[2];
    bi_run(0, bi_x_l0, out);
    rtt_expect_dims(&out[0], 4, (int64_t[]){3, 2, 2, 1});
    rtt_expect_dims(&out[1], 3, (int64_t[]){2, 2, 1});
    rtt_expect_f32(&out[0], bi_y_l0, 12, TOL_EXACT, 0);
    rtt_expect_f32(&out[1], bi_yh_l0, 4, TOL_EXACT, 0);
    rtt_free_outputs(out, 2);
}

Test(rnn, layout1_is_layout0_transposed) {
    /* X [N, S, 1], Y [N, S, D, 1], Y_h [N, D, 1]: the same numbers as above, batch first */
    static const float x[6] = {1, 2, 3, 4, 5, 100};
    float wy[12], wh[4];
    for (int t = 0; t < 3; t++)
        for (int d = 0; d < 2; d++)
            for (int b = 0; b < 2; b++) wy[(b * 3 + t) * 2 + d] = bi_y_l0[(t * 2 + d) * 2 + b];
    for (int d = 0; d < 2; d++)
        for (int b = 0; b < 2; b++) wh[b * 2 + d] = bi_yh_l0[d * 2 + b];
    RtTensor out[2];
    bi_run(1, x, out);
    rtt_expect_dims(&out[0], 4, (int64_t[]){2, 3, 2, 1});
    rtt_expect_dims(&out[1], 3, (int64_t[]){2, 2, 1});
    rtt_expect_f32(&out[0], wy, 12, TOL_EXACT, 0);
    rtt_expect_f32(&out[1], wh, 4, TOL_EXACT, 0);
    rtt_free_outputs(out, 2);
}

Test(lstm, layout1_equals_layout0_transposed_bidirectional) {
    /* A random bidirectional LSTM with every optional input, run in both layouts: every
     * output of layout 1 must be layout 0's with the batch axis moved first, bit for bit. */
    enum { S = 4, N = 3, I = 2, H = 2, D = 2 };
    float x0[S * N * I], x1[N * S * I], w[D * 4 * H * I], r[D * 4 * H * H], b[D * 8 * H], p[D * 3 * H];
    float h0[D * N * H], c0[D * N * H], h1[N * D * H], c1[N * D * H];
    uint32_t seed = 7;
    for (int i = 0; i < S * N * I; i++) x0[i] = rtt_uniform(&seed, -1, 1);
    for (int i = 0; i < D * 4 * H * I; i++) w[i] = rtt_uniform(&seed, -1, 1);
    for (int i = 0; i < D * 4 * H * H; i++) r[i] = rtt_uniform(&seed, -1, 1);
    for (int i = 0; i < D * 8 * H; i++) b[i] = rtt_uniform(&seed, -1, 1);
    for (int i = 0; i < D * 3 * H; i++) p[i] = rtt_uniform(&seed, -1, 1);
    for (int i = 0; i < D * N * H; i++) h0[i] = rtt_uniform(&seed, -1, 1), c0[i] = rtt_uniform(&seed, -1, 1);
    for (int t = 0; t < S; t++)
        for (int n = 0; n < N; n++)
            for (int k = 0; k < I; k++) x1[(n * S + t) * I + k] = x0[(t * N + n) * I + k];
    for (int d = 0; d < D; d++)
        for (int n = 0; n < N; n++)
            for (int k = 0; k < H; k++) {
                h1[(n * D + d) * H + k] = h0[(d * N + n) * H + k];
                c1[(n * D + d) * H + k] = c0[(d * N + n) * H + k];
            }
    int32_t lens[N] = {4, 1, 3};
    int64_t dx0[] = {S, N, I}, dx1[] = {N, S, I}, dw[] = {D, 4 * H, I}, dr[] = {D, 4 * H, H}, db[] = {D, 8 * H},
            dp[] = {D, 3 * H}, ds0[] = {D, N, H}, ds1[] = {N, D, H}, dl[] = {N};
    RtTensor tw = rtt_tensor(RT_F32, 3, dw, w), tr = rtt_tensor(RT_F32, 3, dr, r), tb = rtt_tensor(RT_F32, 2, db, b),
             tp = rtt_tensor(RT_F32, 2, dp, p), tl = rtt_tensor(RT_I32, 1, dl, lens);
    RtTensor tx0 = rtt_tensor(RT_F32, 3, dx0, x0), th0 = rtt_tensor(RT_F32, 3, ds0, h0), tc0 = rtt_tensor(RT_F32, 3, ds0, c0);
    RtTensor tx1 = rtt_tensor(RT_F32, 3, dx1, x1), th1 = rtt_tensor(RT_F32, 3, ds1, h1), tc1 = rtt_tensor(RT_F32, 3, ds1, c1);
    RtTensor *in0[] = {&tx0, &tw, &tr, &tb, &tl, &th0, &tc0, &tp};
    RtTensor *in1[] = {&tx1, &tw, &tr, &tb, &tl, &th1, &tc1, &tp};
    RtAttr a0[] = {rtt_attr_str("direction", "bidirectional"), rtt_attr_int("layout", 0)};
    RtAttr a1[] = {rtt_attr_str("direction", "bidirectional"), rtt_attr_int("layout", 1)};
    RtTensor o0[3], o1[3];
    cr_assert_eq(rtt_run(RT_OP_LSTM, 14, in0, 8, o0, 3, a0, 2, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(rtt_run(RT_OP_LSTM, 14, in1, 8, o1, 3, a1, 2, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&o1[0], 4, (int64_t[]){N, S, D, H});
    const float *y0 = o0[0].data, *y1 = o1[0].data;
    int nonzero = 0;
    for (int t = 0; t < S; t++)
        for (int d = 0; d < D; d++)
            for (int n = 0; n < N; n++)
                for (int k = 0; k < H; k++) {
                    float v0 = y0[((t * D + d) * N + n) * H + k], v1 = y1[((n * S + t) * D + d) * H + k];
                    cr_expect_eq(v0, v1, "Y t%d d%d n%d k%d: %g vs %g", t, d, n, k, v0, v1);
                    nonzero += v0 != 0;
                    if (t >= lens[n]) cr_expect_eq(v0, 0.0f, "Y past sequence_lens must be 0");
                }
    cr_expect_gt(nonzero, 0);
    for (int o = 1; o < 3; o++) {
        const float *s0 = o0[o].data, *s1 = o1[o].data;
        for (int d = 0; d < D; d++)
            for (int n = 0; n < N; n++)
                for (int k = 0; k < H; k++)
                    cr_expect_eq(s0[(d * N + n) * H + k], s1[(n * D + d) * H + k], "output %d d%d n%d k%d", o, d, n, k);
    }
    /* Y_h is the last valid step of Y: forward at t = len-1, reverse at t = 0 */
    const float *yh = o0[1].data;
    for (int n = 0; n < N; n++)
        for (int k = 0; k < H; k++) {
            cr_expect_eq(yh[(0 * N + n) * H + k], y0[(((lens[n] - 1) * D + 0) * N + n) * H + k]);
            cr_expect_eq(yh[(1 * N + n) * H + k], y0[((0 * D + 1) * N + n) * H + k]);
        }
    rtt_free_outputs(o0, 3);
    rtt_free_outputs(o1, 3);
}

Test(gru, reverse_and_zero_length_row_keeps_initial_h) {
    /* GRU hidden 1 with W = R = B = 0: z = r = 1/2, h = tanh(0) = 0, so every step halves H.
     * Reverse over sequence_lens [2, 0] from H0 = [8, 5]: row 0 -> 4 (t1) -> 2 (t0);
     * row 1 runs no step: Y_h keeps 5 and its Y stays 0. */
    float x[4] = {9, 9, 9, 9}, w[3] = {0}, r[3] = {0}, h0[2] = {8, 5};
    int64_t lens[2] = {2, 0};
    int64_t dx[] = {2, 2, 1}, dw[] = {1, 3, 1}, dh[] = {1, 2, 1}, dl[] = {2};
    RtTensor tx = rtt_tensor(RT_F32, 3, dx, x), tw = rtt_tensor(RT_F32, 3, dw, w), tr = rtt_tensor(RT_F32, 3, dw, r),
             tl = rtt_tensor(RT_I64, 1, dl, lens), th = rtt_tensor(RT_F32, 3, dh, h0), out[2];
    RtTensor *in[] = {&tx, &tw, &tr, NULL, &tl, &th};
    RtAttr a[] = {rtt_attr_str("direction", "reverse")};
    cr_assert_eq(rtt_run(RT_OP_GRU, 7, in, 6, out, 2, a, 1, 0), RT_OK, "%s", rtt_err.msg);
    float wy[4] = {2, 0, 4, 0}, wh[2] = {2, 5};
    rtt_expect_f32(&out[0], wy, 4, TOL_EXACT, 0);
    rtt_expect_f32(&out[1], wh, 2, TOL_EXACT, 0);
    rtt_free_outputs(out, 2);
}

/* ---- shape mode ---- */

Test(lstm, shape_mode_sets_every_output_without_data) {
    int64_t dx[] = {5, 3, 4}, dw[] = {2, 24, 4}, dr[] = {2, 24, 6};
    RtTensor tx = rtt_tensor(RT_F32, 3, dx, NULL), tw = rtt_tensor(RT_F32, 3, dw, NULL), tr = rtt_tensor(RT_F32, 3, dr, NULL),
             out[3];
    RtTensor *in[] = {&tx, &tw, &tr};
    for (int layout = 0; layout < 2; layout++) {
        RtAttr a[] = {rtt_attr_str("direction", "bidirectional"), rtt_attr_int("layout", layout)};
        cr_assert_eq(rtt_run(RT_OP_LSTM, 14, in, 3, out, 3, a, 2, 1), RT_SHAPE_ONLY, "%s", rtt_err.msg);
        if (layout == 0) {  /* X [S=5, N=3, I=4] */
            rtt_expect_dims(&out[0], 4, (int64_t[]){5, 2, 3, 6});
            rtt_expect_dims(&out[1], 3, (int64_t[]){2, 3, 6});
            rtt_expect_dims(&out[2], 3, (int64_t[]){2, 3, 6});
        } else {            /* X [N=5, S=3, I=4] */
            rtt_expect_dims(&out[0], 4, (int64_t[]){5, 3, 2, 6});
            rtt_expect_dims(&out[1], 3, (int64_t[]){5, 2, 6});
            rtt_expect_dims(&out[2], 3, (int64_t[]){5, 2, 6});
        }
        for (int i = 0; i < 3; i++) cr_expect_null(out[i].data);
    }
}

/* ---- errors ---- */

/* Runs a forward RNN (hidden 2, X [3, 1, 2]) with the given W dims / extra inputs / attributes
 * and expects an error whose message contains want. */
static void expect_rnn_error(int op, const int64_t *wdims, RtTensor *b, RtTensor *lens, RtTensor *h0, RtAttr *a,
                             int na, const char *want) {
    float x[6] = {0}, w[64] = {0}, r[64] = {0};
    int G = op == RT_OP_LSTM ? 4 : op == RT_OP_GRU ? 3 : 1;
    int64_t dx[] = {3, 1, 2}, dw[] = {1, 2 * G, 2}, dr[] = {1, 2 * G, 2};
    RtTensor tx = rtt_tensor(RT_F32, 3, dx, x), tw = rtt_tensor(RT_F32, 3, wdims ? wdims : dw, w),
             tr = rtt_tensor(RT_F32, 3, dr, r), out[3];
    RtTensor *in[] = {&tx, &tw, &tr, b, lens, h0};
    cr_assert_eq(rtt_run(op, 14, in, 6, out, op == RT_OP_LSTM ? 3 : 2, a, na, 0), RT_ERR, "want an error (%s)", want);
    cr_expect(strstr(rtt_err.msg, want) != NULL, "message '%s' should contain '%s'", rtt_err.msg, want);
    rtt_free_outputs(out, op == RT_OP_LSTM ? 3 : 2);
}

Test(recurrent_errors, wrong_W_shape) {
    int64_t bad_in[] = {1, 2, 3}, bad_rows[] = {1, 6, 2}, bad_dirs[] = {2, 8, 2};
    expect_rnn_error(RT_OP_RNN, bad_in, NULL, NULL, NULL, NULL, 0, "input 'W' has shape [1,2,3]");
    expect_rnn_error(RT_OP_LSTM, bad_rows, NULL, NULL, NULL, NULL, 0, "4*hidden_size");
    expect_rnn_error(RT_OP_LSTM, bad_dirs, NULL, NULL, NULL, NULL, 0, "input 'W' has shape [2,8,2]");
    RtAttr hs[] = {rtt_attr_int("hidden_size", 3)};
    expect_rnn_error(RT_OP_GRU, NULL, NULL, NULL, NULL, hs, 1, "'hidden_size' is 3");
}

Test(recurrent_errors, sequence_lens_beyond_seq_length) {
    int32_t lens = 4;
    int64_t dl[] = {1};
    RtTensor tl = rtt_tensor(RT_I32, 1, dl, &lens);
    expect_rnn_error(RT_OP_GRU, NULL, NULL, &tl, NULL, NULL, 0, "'sequence_lens' element 0 is 4");
    lens = -1;
    expect_rnn_error(RT_OP_RNN, NULL, NULL, &tl, NULL, NULL, 0, "'sequence_lens' element 0 is -1");
    float f = 1;
    RtTensor tf = rtt_tensor(RT_F32, 1, dl, &f);
    expect_rnn_error(RT_OP_RNN, NULL, NULL, &tf, NULL, NULL, 0, "integer");
}

Test(recurrent_errors, unknown_activation_and_bad_attributes) {
    const char *bad[] = {"Swish"}, *two[] = {"Tanh", "Tanh"};
    RtAttr a1[] = {attr_strings("activations", bad, 1)};
    expect_rnn_error(RT_OP_RNN, NULL, NULL, NULL, NULL, a1, 1, "unknown activation 'Swish'");
    RtAttr a2[] = {attr_strings("activations", two, 2)};  /* LSTM wants 3 per direction */
    expect_rnn_error(RT_OP_LSTM, NULL, NULL, NULL, NULL, a2, 1, "'activations' has 2 names");
    RtAttr a3[] = {rtt_attr_str("direction", "sideways")};
    expect_rnn_error(RT_OP_RNN, NULL, NULL, NULL, NULL, a3, 1, "'direction' is 'sideways'");
    RtAttr a4[] = {rtt_attr_int("layout", 2)};
    expect_rnn_error(RT_OP_GRU, NULL, NULL, NULL, NULL, a4, 1, "'layout' must be 0 or 1");
    RtAttr a5[] = {rtt_attr_float("clip", -1)};
    expect_rnn_error(RT_OP_RNN, NULL, NULL, NULL, NULL, a5, 1, "'clip'");
}

Test(recurrent_errors, wrong_optional_input_shapes) {
    float z[16] = {0};
    int64_t db[] = {1, 4}, dh[] = {1, 2, 2};  /* RNN hidden 2 wants B [1, 4]: give GRU's [1, 4] (wants [1, 12]) */
    RtTensor tb = rtt_tensor(RT_F32, 2, db, z), th = rtt_tensor(RT_F32, 3, dh, z);
    expect_rnn_error(RT_OP_GRU, NULL, &tb, NULL, NULL, NULL, 0, "input 'B' has shape [1,4]");
    expect_rnn_error(RT_OP_RNN, NULL, NULL, NULL, &th, NULL, 0, "input 'initial_h' has shape [1,2,2]");
    RtTensor tbd = rtt_tensor(RT_F64, 2, db, z);
    expect_rnn_error(RT_OP_RNN, NULL, &tbd, NULL, NULL, NULL, 0, "dtype float64");
}

/* ---- float16, and outputs the node leaves unused ---- */

Test(rnn, float16_one_step) {
    /* tanh(0.5*1 + 2*0.25 + 0.25 + 0.5) = tanh(1.75); every input is exact in float16 */
    uint16_t x = rt_f32_to_f16(1), w = rt_f32_to_f16(0.5f), r = rt_f32_to_f16(2), h0 = rt_f32_to_f16(0.25f);
    uint16_t b[2] = {rt_f32_to_f16(0.25f), rt_f32_to_f16(0.5f)};
    int64_t d3[] = {1, 1, 1}, db[] = {1, 2};
    RtTensor tx = rtt_tensor(RT_F16, 3, d3, &x), tw = rtt_tensor(RT_F16, 3, d3, &w), tr = rtt_tensor(RT_F16, 3, d3, &r),
             tb = rtt_tensor(RT_F16, 2, db, b), th = rtt_tensor(RT_F16, 3, d3, &h0), out[2];
    RtTensor *in[] = {&tx, &tw, &tr, &tb, NULL, &th};
    cr_assert_eq(rtt_run(RT_OP_RNN, 14, in, 6, out, 2, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(out[1].dtype, RT_F16);
    /* one rounding to float16 near 0.94: half an ulp is 2^-12 */
    float got = rt_f16_to_f32(((uint16_t *)out[1].data)[0]);
    cr_expect(fabsf(got - 0.941375538f) <= 1.0f / 4096, "got %.9g", got);
    rtt_free_outputs(out, 2);
}

Test(lstm, unused_outputs_are_shaped_not_computed) {
    /* Y and Y_c unused (slot -1), Y_h wanted. Hidden 1, x = 1, W = [i .1, o .2, f .3, c .4],
     * R = 0, no bias, zero state: i = sig(.1), o = sig(.2), c = tanh(.4), C = i c,
     * H = o tanh(C). */
    float x = 1, w[4] = {0.1f, 0.2f, 0.3f, 0.4f}, r[4] = {0};
    int64_t d1[] = {1, 1, 1}, dw[] = {1, 4, 1};
    RtTensor tx = rtt_tensor(RT_F32, 3, d1, &x), tw = rtt_tensor(RT_F32, 3, dw, w), tr = rtt_tensor(RT_F32, 3, dw, r);
    RtTensor *in[] = {&tx, &tw, &tr}, out[3];
    memset(out, 0, sizeof out);
    RtTensor *outp[] = {&out[0], &out[1], &out[2]};
    int slots_in[] = {0, 1, 2}, slots_out[] = {-1, 3, -1};
    RtNode n = {RT_OP_LSTM, "t", "LSTM", "", 14, 3, slots_in, 3, slots_out, 0, NULL};
    RtKernelCtx c = {.alloc = rt_allocator_default(), .err = &rtt_err};
    rtt_err.msg[0] = '\0';
    cr_assert_eq(rt_kernel_find(RT_OP_LSTM)(&c, &n, in, outp), RT_OK, "%s", rtt_err.msg);
    cr_expect_null(out[0].data);
    cr_expect_null(out[2].data);
    rtt_expect_dims(&out[0], 4, (int64_t[]){1, 1, 1, 1});
    rtt_expect_dims(&out[2], 3, (int64_t[]){1, 1, 1});
    float want = 0.108241087f;
    rtt_expect_f32(&out[1], &want, 1, TOL_F32, 0);
    rtt_free_outputs(out, 3);
}

Test(recurrent_errors, huge_batch_of_empty_rows_is_refused) {
    /* X [1, 2^61, 0] holds no element, yet its state [1, 2^61, 1] could not be allocated:
     * an error, not an overflowed size */
    float dummy[4] = {0};
    int64_t dx[] = {1, (int64_t)1 << 61, 0}, dw[] = {1, 1, 0}, dr[] = {1, 1, 1};
    RtTensor tx = rtt_tensor(RT_F32, 3, dx, dummy), tw = rtt_tensor(RT_F32, 3, dw, dummy),
             tr = rtt_tensor(RT_F32, 3, dr, dummy), out[2];
    RtTensor *in[] = {&tx, &tw, &tr};
    cr_assert_eq(rtt_run(RT_OP_RNN, 14, in, 3, out, 2, NULL, 0, 0), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "batch_size") != NULL, "%s", rtt_err.msg);
    rtt_free_outputs(out, 2);
}

/* float32 runs its products through rt_sgemm in float, other dtypes in double: the two
 * paths must agree on a case with every feature (GRU both ways, sequence_lens, layout 1,
 * both linear_before_reset). Float sums over 3-8 terms for 4 steps: 1e-5 is ~100 ulps. */
#define TOL_F32_VS_F64 1e-5

Test(gru, float32_path_agrees_with_float64_path) {
    enum { S = 4, N = 3, I = 5, H = 3, D = 2 };
    float xf[N * S * I], wf[D * 3 * H * I], rf[D * 3 * H * H], bf[D * 6 * H], hf[N * D * H];
    double xd[N * S * I], wd[D * 3 * H * I], rd[D * 3 * H * H], bd[D * 6 * H], hd[N * D * H];
    uint32_t seed = 11;
#define FILL(a, b, n) for (int i_ = 0; i_ < (n); i_++) b[i_] = a[i_] = rtt_uniform(&seed, -1, 1)
    FILL(xf, xd, N * S * I);
    FILL(wf, wd, D * 3 * H * I);
    FILL(rf, rd, D * 3 * H * H);
    FILL(bf, bd, D * 6 * H);
    FILL(hf, hd, N * D * H);
#undef FILL
    int32_t lens[N] = {2, 4, 0};
    int64_t dx[] = {N, S, I}, dw[] = {D, 3 * H, I}, dr[] = {D, 3 * H, H}, db[] = {D, 6 * H}, dh[] = {N, D, H}, dl[] = {N};
    RtTensor tl = rtt_tensor(RT_I32, 1, dl, lens);
    RtTensor f[5] = {rtt_tensor(RT_F32, 3, dx, xf), rtt_tensor(RT_F32, 3, dw, wf), rtt_tensor(RT_F32, 3, dr, rf),
                     rtt_tensor(RT_F32, 2, db, bf), rtt_tensor(RT_F32, 3, dh, hf)};
    RtTensor d[5] = {rtt_tensor(RT_F64, 3, dx, xd), rtt_tensor(RT_F64, 3, dw, wd), rtt_tensor(RT_F64, 3, dr, rd),
                     rtt_tensor(RT_F64, 2, db, bd), rtt_tensor(RT_F64, 3, dh, hd)};
    RtTensor *inf[] = {&f[0], &f[1], &f[2], &f[3], &tl, &f[4]}, *ind[] = {&d[0], &d[1], &d[2], &d[3], &tl, &d[4]};
    for (int lbr = 0; lbr < 2; lbr++) {
        RtAttr a[] = {rtt_attr_str("direction", "bidirectional"), rtt_attr_int("layout", 1),
                      rtt_attr_int("linear_before_reset", lbr)};
        RtTensor of[2], od[2];
        cr_assert_eq(rtt_run(RT_OP_GRU, 14, inf, 6, of, 2, a, 3, 0), RT_OK, "%s", rtt_err.msg);
        cr_assert_eq(rtt_run(RT_OP_GRU, 14, ind, 6, od, 2, a, 3, 0), RT_OK, "%s", rtt_err.msg);
        for (int o = 0; o < 2; o++) {
            int64_t cnt = rt_numel(&of[o]);
            cr_assert_eq(cnt, rt_numel(&od[o]));
            const float *pf = of[o].data;
            const double *pd = od[o].data;
            for (int64_t i = 0; i < cnt; i++)
                cr_expect(fabs(pf[i] - pd[i]) <= TOL_F32_VS_F64, "lbr %d output %d element %lld: %.9g vs %.9g", lbr,
                          o, (long long)i, pf[i], pd[i]);
        }
        /* row 2 has length 0: Y_h is its initial_h (layout 1: [N, D, H]) */
        for (int i = 0; i < D * H; i++) cr_expect_eq(((float *)of[1].data)[2 * D * H + i], hf[2 * D * H + i]);
        rtt_free_outputs(of, 2);
        rtt_free_outputs(od, 2);
    }
}

Test(rnn, forward_node_with_two_activation_lists_uses_the_first) {
    /* exporters write RNN's documented default "Tanh, Tanh" on forward nodes: ["Relu", "Tanh"]
     * on a forward node is Relu, so x = 2 gives 2 (tanh would give 0.96) */
    float x[2] = {-2, 2}, w = 1, r = 0;
    int64_t dx[] = {1, 2, 1}, d1[] = {1, 1, 1};
    RtTensor tx = rtt_tensor(RT_F32, 3, dx, x), tw = rtt_tensor(RT_F32, 3, d1, &w), tr = rtt_tensor(RT_F32, 3, d1, &r),
             out[2];
    RtTensor *in[] = {&tx, &tw, &tr};
    const char *acts[] = {"Relu", "Tanh"};
    RtAttr a[] = {attr_strings("activations", acts, 2)};
    cr_assert_eq(rtt_run(RT_OP_RNN, 14, in, 3, out, 2, a, 1, 0), RT_OK, "%s", rtt_err.msg);
    float want[2] = {0, 2};
    rtt_expect_f32(&out[1], want, 2, TOL_EXACT, 0);
    rtt_free_outputs(out, 2);
}
