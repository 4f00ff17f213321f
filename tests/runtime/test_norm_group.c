/*
 * test_norm_group.c — GroupNormalization (runtime/kernels/ref/norm_group.c) against
 * onnxruntime-node at opset 18 (scale and bias per group) and 21 (per channel), and a
 * scale of the wrong length refused.
 */
#include "ort18.h"

TestSuite(norm_group, .fini = pb_release_all);

/* mean/variance over 2 x 12 = 24 values: wafer in double, onnxruntime in float */
static const OrtcTol GN_TOL = {1e-5, 1e-5, 0};

static void gn_case(const char *tag, int opset, int64_t nscale) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[3];
    int n = 0;
    char d[16];
    snprintf(d, sizeof d, "%lld", (long long)nscale);
    o18_in_f32(g, ins, &n, "x", "2,6,3,4", -3, 3);
    o18_in_f32(g, ins, &n, "s", pb_str(d), 0.5f, 2);
    o18_in_f32(g, ins, &n, "b", pb_str(d), -1, 1);
    o18_af(o18_ai(o18_node(g, "GroupNormalization", "x,s,b", "y"), "num_groups", 3), "epsilon", 1e-3f);
    o18_out(g, "y", RT_F32);
    o18_check(tag, g, opset, ins, n, &GN_TOL);
}

Test(norm_group, opset18_scale_per_group) { gn_case("gn18", 18, 3); }
Test(norm_group, opset21_scale_per_channel) { gn_case("gn21", 21, 6); }

Test(norm_group, opset21_group_scale_is_refused) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[3];
    int n = 0;
    o18_in_f32(g, ins, &n, "x", "1,4,2", -3, 3);
    o18_in_f32(g, ins, &n, "s", "2", 0.5f, 2);
    o18_in_f32(g, ins, &n, "b", "2", -1, 1);
    o18_ai(o18_node(g, "GroupNormalization", "x,s,b", "y"), "num_groups", 2);
    o18_out(g, "y", RT_F32);
    o18_wafer_refuses("gn_bad", g, 21, ins, n, "one per channel");
}

/* float64 (the generic path; float32 has its own loop) with the default float stash: the
 * normalized values are float-rounded in both (accumulation orders differ: a few float ulps) */
static const OrtcTol GN_F64_TOL = {1e-6, 1e-6, 0};

static void gn_f64_case(const char *tag, int64_t stash, const OrtcTol *tol) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[3];
    int n = 0;
    double *x = pb_zalloc(40 * sizeof *x), *s = pb_zalloc(4 * sizeof *s), *b = pb_zalloc(4 * sizeof *b);
    for (int i = 0; i < 40; i++) x[i] = o18_rand(-3, 3) + 1e-3 * o18_rand(0, 1); /* not float-exact */
    for (int i = 0; i < 4; i++) s[i] = o18_rand(0.5f, 2), b[i] = o18_rand(-1, 1);
    o18_in_typed(g, ins, &n, "x", RT_F64, "2,4,5", x);
    o18_in_typed(g, ins, &n, "s", RT_F64, "4", s);
    o18_in_typed(g, ins, &n, "b", RT_F64, "4", b);
    Onnx__NodeProto *nd = o18_ai(o18_node(g, "GroupNormalization", "x,s,b", "y"), "num_groups", 2);
    if (stash) o18_ai(nd, "stash_type", stash);
    o18_out(g, "y", RT_F64);
    o18_check(tag, g, 21, ins, n, tol);
}

Test(norm_group, opset21_float64_float_stash) { gn_f64_case("gn21_f64", 0, &GN_F64_TOL); }

/* stash_type double: everything in double on both sides */
static const OrtcTol GN_F64_STASH_TOL = {1e-12, 1e-11, 0};
Test(norm_group, opset21_float64_double_stash) { gn_f64_case("gn21_f64d", RT_F64, &GN_F64_STASH_TOL); }
