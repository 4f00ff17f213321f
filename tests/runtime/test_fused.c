/*
 * test_fused.c — wafer's fused kernels (runtime/kernels/ref/fused.c): Linear against a naive
 * double-precision loop for every activation, on ranks 1-3 with and without bias; FusedConv
 * against Conv followed by the unfused activation kernel (float32 and float64); defaults,
 * shape-only mode and the errors (dtype, shapes, unknown activation, stray alpha/beta).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rt_test_util.h"

/* Linear sums K <= 7 products of values in [-1, 1] in float32 (rounding <= 2^-24 relative
 * per step, BLAS may reorder): far below 1e-5 absolute. Sigmoid/HardSigmoid only shrink it. */
#define LINEAR_TOL 1e-5
/* FusedConv runs the very Conv code and the same element formulas as the unfused kernels,
 * so it must agree bit for bit. */
#define SAME_CODE_TOL 0.0

/* Deterministic values in [-1, 1]. */
static void fill(float *v, int64_t n, uint32_t seed) {
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        v[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

typedef struct {
    const char *name;     /* activation attribute */
    int n_params;         /* alpha, beta given */
    float alpha, beta;
} ActCase;

static const ActCase acts[] = {
    {"", 0, 0, 0},
    {"Relu", 0, 0, 0},
    {"Clip", 2, -0.3f, 0.4f},
    {"LeakyRelu", 1, 0.1f, 0},
    {"Sigmoid", 0, 0, 0},
    {"HardSigmoid", 2, 0.25f, 0.45f},
};

static double act_ref(const ActCase *a, double v) {
    if (strcmp(a->name, "Relu") == 0) return v > 0 ? v : 0;
    if (strcmp(a->name, "Clip") == 0) return fmin(fmax(v, a->alpha), a->beta);
    if (strcmp(a->name, "LeakyRelu") == 0) return v >= 0 ? v : a->alpha * v;
    if (strcmp(a->name, "Sigmoid") == 0) return 1.0 / (1.0 + exp(-v));
    if (strcmp(a->name, "HardSigmoid") == 0) return fmax(0.0, fmin(1.0, a->alpha * v + a->beta));
    if (strcmp(a->name, "Gelu") == 0) return 0.5 * v * (1.0 + erf(v / sqrt(2.0)));
    if (strcmp(a->name, "GeluTanh") == 0)
        return 0.5 * v * (1.0 + tanh(sqrt(2.0 / 3.14159265358979323846) * (v + 0.044715 * v * v * v)));
    return v;
}

static int act_attrs(const ActCase *a, RtAttr *attrs) {
    int n = 0;
    attrs[n++] = rtt_attr_str("activation", a->name);
    if (a->n_params >= 1) attrs[n++] = rtt_attr_float("alpha", a->alpha);
    if (a->n_params >= 2) attrs[n++] = rtt_attr_float("beta", a->beta);
    return n;
}

/* Linear on X [xd...] (last dim K) and W [K, N] against the naive loop. */
static void check_linear(int xrank, const int64_t *xd, int64_t N, int with_bias, const ActCase *a) {
    int64_t K = xd[xrank - 1], rows = 1;
    for (int i = 0; i < xrank - 1; i++) rows *= xd[i];
    float *x = malloc(sizeof(float) * (size_t)(rows * K)), *w = malloc(sizeof(float) * (size_t)(K * N));
    float *b = malloc(sizeof(float) * (size_t)N), *want = malloc(sizeof(float) * (size_t)(rows * N));
    fill(x, rows * K, 11), fill(w, K * N, 12), fill(b, N, 13);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < N; j++) {
            double acc = with_bias ? b[j] : 0.0;
            for (int64_t k = 0; k < K; k++) acc += (double)x[r * K + k] * w[k * N + j];
            want[r * N + j] = (float)act_ref(a, acc);
        }
    int64_t wd[2] = {K, N};
    RtTensor tx = rtt_tensor(RT_F32, xrank, xd, x), tw = rtt_tensor(RT_F32, 2, wd, w);
    RtTensor tb = rtt_tensor(RT_F32, 1, &N, b), out;
    RtTensor *in[3] = {&tx, &tw, with_bias ? &tb : NULL};
    RtAttr attrs[3];
    int na = act_attrs(a, attrs);
    cr_assert_eq(rtt_run1(RT_OP_LINEAR, 1, in, 3, &out, attrs, na, 0), RT_OK, "%s", rtt_err.msg);
    int64_t yd[RT_MAX_RANK];
    memcpy(yd, xd, sizeof(int64_t) * (size_t)xrank);
    yd[xrank - 1] = N;
    rtt_expect_dims(&out, xrank, yd);
    cr_expect_eq(rtt_expect_f32(&out, want, (int)(rows * N), LINEAR_TOL, 0), 0, "activation '%s'", a->name);
    rtt_free_outputs(&out, 1);
    free(x), free(w), free(b), free(want);
}

Test(linear, every_activation_rank3_with_bias) {
    int64_t xd[3] = {2, 3, 7};
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) check_linear(3, xd, 5, 1, &acts[i]);
}

Test(linear, rank2_without_bias_odd_sizes) {
    int64_t xd[2] = {17, 33};
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) check_linear(2, xd, 129, 0, &acts[i]);
}

/* Gelu (ONNX Gelu approximate "none") and GeluTanh ("tanh"), which fuse into Linear only;
 * Gelu's slope is at most 1.13, so LINEAR_TOL still holds. */
static const ActCase gelu_acts[] = {{"Gelu", 0, 0, 0}, {"GeluTanh", 0, 0, 0}};

Test(linear, gelu_both_forms) {
    int64_t xd3[3] = {2, 3, 7}, xd2[2] = {17, 33};
    for (int i = 0; i < 2; i++) {
        check_linear(3, xd3, 5, 1, &gelu_acts[i]);
        check_linear(2, xd2, 129, 0, &gelu_acts[i]);
    }
}

Test(fused_conv, refuses_gelu) {
    int64_t xd[4] = {1, 3, 5, 5}, wd[4] = {8, 3, 3, 3};
    float x[75], w[216];
    fill(x, 75, 1), fill(w, 216, 2);
    RtTensor tx = rtt_tensor(RT_F32, 4, xd, x), tw = rtt_tensor(RT_F32, 4, wd, w), out;
    RtTensor *in[2] = {&tx, &tw};
    for (int i = 0; i < 2; i++) {
        RtAttr a = rtt_attr_str("activation", gelu_acts[i].name);
        memset(&out, 0, sizeof out);
        cr_expect_eq(rtt_run1(RT_OP_FUSED_CONV, 1, in, 2, &out, &a, 1, 0), RT_ERR_UNSUPPORTED);
        cr_expect(strstr(rtt_err.msg, "Linear") != NULL, "%s", rtt_err.msg);
        free(out.data);
    }
}

Test(linear, rank1_input_gives_a_vector) {
    int64_t xd[1] = {7};
    check_linear(1, xd, 3, 1, &acts[1]);
}

Test(linear, default_activation_parameters) {
    /* LeakyRelu alpha 0.01, HardSigmoid 0.2 / 0.5, Clip unbounded: the ONNX defaults */
    float x[2] = {-2.0f, 1.0f}, w[1] = {1.0f};
    int64_t xd[2] = {2, 1}, wd[2] = {1, 1};
    RtTensor tx = rtt_tensor(RT_F32, 2, xd, x), tw = rtt_tensor(RT_F32, 2, wd, w), out;
    RtTensor *in[2] = {&tx, &tw};
    struct { const char *act; float want[2]; } cases[] = {
        {"LeakyRelu", {-0.02f, 1.0f}}, {"HardSigmoid", {0.1f, 0.7f}}, {"Clip", {-2.0f, 1.0f}}};
    for (int i = 0; i < 3; i++) {
        RtAttr a = rtt_attr_str("activation", cases[i].act);
        cr_assert_eq(rtt_run1(RT_OP_LINEAR, 1, in, 2, &out, &a, 1, 0), RT_OK, "%s", rtt_err.msg);
        cr_expect_eq(rtt_expect_f32(&out, cases[i].want, 2, 1e-7, 0), 0, "%s", cases[i].act);
        rtt_free_outputs(&out, 1);
    }
}

Test(linear, shape_only_mode) {
    int64_t xd[3] = {4, 5, 6}, wd[2] = {6, 9}, yd[3] = {4, 5, 9};
    RtTensor tx = rtt_tensor(RT_F32, 3, xd, NULL), tw = rtt_tensor(RT_F32, 2, wd, NULL), out;
    RtTensor *in[2] = {&tx, &tw};
    cr_assert_eq(rtt_run1(RT_OP_LINEAR, 1, in, 2, &out, NULL, 0, 1), RT_SHAPE_ONLY, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 3, yd);
    cr_expect_eq(out.dtype, RT_F32);
}

Test(linear, errors) {
    double xd64[6] = {0};
    float x[6] = {0}, w[6] = {0}, b[4] = {0};
    int64_t xd[2] = {2, 3}, wd[2] = {3, 2}, wbad[2] = {2, 3}, bd[1] = {4};
    RtTensor tx = rtt_tensor(RT_F32, 2, xd, x), tw = rtt_tensor(RT_F32, 2, wd, w), out;
    RtTensor tx64 = rtt_tensor(RT_F64, 2, xd, xd64), twbad = rtt_tensor(RT_F32, 2, wbad, w);
    RtTensor tbbad = rtt_tensor(RT_F32, 1, bd, b);

    RtTensor *in64[2] = {&tx64, &tw};
    cr_expect_eq(rtt_run1(RT_OP_LINEAR, 1, in64, 2, &out, NULL, 0, 0), RT_ERR_UNSUPPORTED);
    cr_expect(strstr(rtt_err.msg, "float32") != NULL, "%s", rtt_err.msg);

    RtTensor *inbad[2] = {&tx, &twbad};
    cr_expect_eq(rtt_run1(RT_OP_LINEAR, 1, inbad, 2, &out, NULL, 0, 0), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "[K, N]") != NULL, "%s", rtt_err.msg);

    RtTensor *inb[3] = {&tx, &tw, &tbbad};
    cr_expect_eq(rtt_run1(RT_OP_LINEAR, 1, inb, 3, &out, NULL, 0, 0), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "bias") != NULL, "%s", rtt_err.msg);

    RtTensor *in[2] = {&tx, &tw};
    RtAttr unknown = rtt_attr_str("activation", "Swish");
    cr_expect_eq(rtt_run1(RT_OP_LINEAR, 1, in, 2, &out, &unknown, 1, 0), RT_ERR_UNSUPPORTED);
    cr_expect(strstr(rtt_err.msg, "Swish") != NULL, "%s", rtt_err.msg);

    RtAttr stray[2] = {rtt_attr_str("activation", "Relu"), rtt_attr_float("alpha", 0.5f)};
    cr_expect_eq(rtt_run1(RT_OP_LINEAR, 1, in, 2, &out, stray, 2, 0), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "alpha") != NULL, "%s", rtt_err.msg);
}

/* ---- FusedConv ---- */

/* Conv X [1, 4, 7, 6], W [6, 2, 3, 3] (group 2, pads 1, stride 2), B [6], then the unfused
 * activation kernel, against FusedConv with the same attributes plus the activation. */
static void check_fused_conv(RtDtype dt, const ActCase *a) {
    int64_t xd[4] = {1, 4, 7, 6}, wd[4] = {6, 2, 3, 3}, bd[1] = {6};
    float xf[168], wf[108], bf[6];
    double xdd[168], wdd[108], bdd[6];
    fill(xf, 168, 21), fill(wf, 108, 22), fill(bf, 6, 23);
    for (int i = 0; i < 168; i++) xdd[i] = xf[i];
    for (int i = 0; i < 108; i++) wdd[i] = wf[i];
    for (int i = 0; i < 6; i++) bdd[i] = bf[i];
    int f64 = dt == RT_F64;
    RtTensor tx = rtt_tensor(dt, 4, xd, f64 ? (void *)xdd : xf), tw = rtt_tensor(dt, 4, wd, f64 ? (void *)wdd : wf);
    RtTensor tb = rtt_tensor(dt, 1, bd, f64 ? (void *)bdd : bf), conv, act, fused;
    RtTensor *in[3] = {&tx, &tw, &tb};
    int64_t pads[4] = {1, 1, 1, 1}, strides[2] = {2, 2};
    RtAttr attrs[6] = {rtt_attr_int("group", 2), rtt_attr_ints("pads", pads, 4), rtt_attr_ints("strides", strides, 2)};
    cr_assert_eq(rtt_run1(RT_OP_CONV, 17, in, 3, &conv, attrs, 3, 0), RT_OK, "%s", rtt_err.msg);
    int na = 3 + act_attrs(a, attrs + 3);
    cr_assert_eq(rtt_run1(RT_OP_FUSED_CONV, 1, in, 3, &fused, attrs, na, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert(rt_shape_equal(&conv, &fused));
    cr_assert_eq(fused.dtype, dt);

    /* the unfused activation node on the Conv output */
    RtTensor *ain[3] = {&conv, NULL, NULL};
    RtAttr aattrs[2];
    int an = 0, op = RT_OP_UNKNOWN, a_in = 1;
    double lo = a->alpha, hi = a->beta;
    float lof = a->alpha, hif = a->beta;
    RtTensor tlo = rtt_tensor(dt, 0, NULL, f64 ? (void *)&lo : &lof), thi = rtt_tensor(dt, 0, NULL, f64 ? (void *)&hi : &hif);
    if (strcmp(a->name, "Relu") == 0) op = RT_OP_RELU;
    if (strcmp(a->name, "Sigmoid") == 0) op = RT_OP_SIGMOID;
    if (strcmp(a->name, "LeakyRelu") == 0) op = RT_OP_LEAKY_RELU, aattrs[an++] = rtt_attr_float("alpha", a->alpha);
    if (strcmp(a->name, "HardSigmoid") == 0) {
        op = RT_OP_HARD_SIGMOID;
        aattrs[an++] = rtt_attr_float("alpha", a->alpha);
        aattrs[an++] = rtt_attr_float("beta", a->beta);
    }
    if (strcmp(a->name, "Clip") == 0) op = RT_OP_CLIP, ain[1] = &tlo, ain[2] = &thi, a_in = 3;
    RtTensor *want = &conv;
    if (op != RT_OP_UNKNOWN) {
        cr_assert_eq(rtt_run1(op, 17, ain, a_in, &act, aattrs, an, 0), RT_OK, "%s", rtt_err.msg);
        want = &act;
    }
    for (int64_t i = 0; i < rt_numel(&fused); i++) {
        double g = rt_get_f64(&fused, i), w = rt_get_f64(want, i);
        cr_assert(fabs(g - w) <= SAME_CODE_TOL, "%s %s element %lld: got %.9g want %.9g", rt_dtype_name(dt),
                  a->name, (long long)i, g, w);
    }
    if (want == &act) rtt_free_outputs(&act, 1);
    rtt_free_outputs(&conv, 1);
    rtt_free_outputs(&fused, 1);
}

Test(fused_conv, equals_conv_then_activation_f32) {
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) check_fused_conv(RT_F32, &acts[i]);
}

Test(fused_conv, equals_conv_then_activation_f64) {
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) check_fused_conv(RT_F64, &acts[i]);
}

Test(fused_conv, shape_only_and_bad_activation) {
    int64_t xd[4] = {2, 3, 5, 5}, wd[4] = {8, 3, 3, 3}, yd[4] = {2, 8, 3, 3};
    RtTensor tx = rtt_tensor(RT_F32, 4, xd, NULL), tw = rtt_tensor(RT_F32, 4, wd, NULL), out;
    RtTensor *in[2] = {&tx, &tw};
    RtAttr relu = rtt_attr_str("activation", "Relu");
    cr_assert_eq(rtt_run1(RT_OP_FUSED_CONV, 1, in, 2, &out, &relu, 1, 1), RT_SHAPE_ONLY, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 4, yd);
    RtAttr bad = rtt_attr_str("activation", "Swish");
    cr_expect_eq(rtt_run1(RT_OP_FUSED_CONV, 1, in, 2, &out, &bad, 1, 1), RT_ERR_UNSUPPORTED);
    cr_expect(strstr(rtt_err.msg, "Swish") != NULL, "%s", rtt_err.msg);
}
