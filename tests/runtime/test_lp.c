/*
 * test_lp.c — LpNormalization, LpPool (opsets 11 and 18: dilations, ceil_mode) and
 * GlobalLpPool (runtime/kernels/ref/lp.c) against onnxruntime-node, and one LpPool window
 * computed by hand.
 */
#include "ort18.h"

TestSuite(lp, .fini = pb_release_all);

/* sums of up to 12 |x|^p terms in double, then a root: onnxruntime accumulates in float */
static const OrtcTol LP_TOL = {1e-6, 1e-5, 0};

Test(lp, lp_normalization_p1_p2) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[1];
    int n = 0;
    o18_in_f32(g, ins, &n, "x", "2,3,5", -2, 2);
    o18_ai(o18_ai(o18_node(g, "LpNormalization", "x", "a"), "axis", 1), "p", 1);
    o18_node(g, "LpNormalization", "x", "b"); /* axis -1, p 2 */
    o18_ai(o18_ai(o18_node(g, "LpNormalization", "x", "c"), "axis", 0), "p", 2);
    o18_out(g, "a", RT_F32);
    o18_out(g, "b", RT_F32);
    o18_out(g, "c", RT_F32);
    o18_check("lp_norm", g, 18, ins, n, &LP_TOL);
}

Test(lp, lp_pool_dilations_ceil_mode_18) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[1];
    int n = 0;
    o18_in_f32(g, ins, &n, "x", "1,2,7,8", -2, 2);
    int64_t k[2] = {3, 2}, s[2] = {2, 1}, p[4] = {1, 0, 1, 1}, d[2] = {1, 2};
    for (int i = 0; i < 3; i++) {
        char o[8];
        snprintf(o, sizeof o, "y%d", i);
        Onnx__NodeProto *nd = o18_node(g, "LpPool", "x", pb_str(o));
        o18_aints(o18_aints(o18_aints(nd, "kernel_shape", 2, k), "strides", 2, s), "pads", 4, p);
        o18_ai(o18_ai(o18_aints(nd, "dilations", 2, d), "ceil_mode", i & 1), "p", i + 1);
        o18_out(g, pb_str(o), RT_F32);
    }
    o18_check("lp_pool18", g, 18, ins, n, &LP_TOL);
}

Test(lp, lp_pool_1d_same_upper_and_global_11) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[2];
    int n = 0;
    o18_in_f32(g, ins, &n, "x", "2,3,9", -2, 2);
    o18_in_f32(g, ins, &n, "v", "1,2,3,4,2", -2, 2);
    int64_t k[1] = {4}, s[1] = {2};
    o18_as(o18_aints(o18_aints(o18_node(g, "LpPool", "x", "a"), "kernel_shape", 1, k), "strides", 1, s), "auto_pad",
           "SAME_UPPER");
    o18_node(g, "GlobalLpPool", "v", "b");
    o18_ai(o18_node(g, "GlobalLpPool", "v", "c"), "p", 1);
    o18_ai(o18_node(g, "GlobalLpPool", "x", "d"), "p", 3);
    static const char *outs[4] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++) o18_out(g, outs[i], RT_F32);
    o18_check("lp_pool11", g, 11, ins, n, &LP_TOL);
}

/* one 2x2 window of [[3, -4], [0, 12]]: p = 2 -> 13, p = 1 -> 19 */
Test(lp, lp_pool_by_hand) {
    for (int p = 1; p <= 2; p++) {
        Onnx__GraphProto *g = pb_graph("g");
        OrtcInput ins[1];
        int n = 0;
        static float x[4] = {3, -4, 0, 12};
        o18_in_typed(g, ins, &n, "x", RT_F32, "1,1,2,2", x);
        int64_t k[2] = {2, 2};
        o18_ai(o18_aints(o18_node(g, "LpPool", "x", "y"), "kernel_shape", 2, k), "p", p);
        o18_out(g, "y", RT_F32);
        RtTensor y;
        o18_wafer_run("lp_hand", g, 18, ins, n, "y", &y);
        cr_expect_float_eq(((float *)y.data)[0], p == 2 ? 13.0f : 19.0f, 1e-6f);
        free(y.data);
    }
}

/* a 3-D LpPool, and LpNormalization of an all-zero line (0s, as onnxruntime gives) */
Test(lp, lp_pool_3d_and_zero_norm_line) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[2];
    int n = 0;
    o18_in_f32(g, ins, &n, "x", "1,2,4,5,6", -1, 1);
    static float z[6] = {0, 0, 0, 1, 2, 3};
    o18_in_typed(g, ins, &n, "z", RT_F32, "2,3", z);
    int64_t k[3] = {2, 3, 2}, s[3] = {1, 2, 2};
    o18_ai(o18_aints(o18_aints(o18_node(g, "LpPool", "x", "a"), "kernel_shape", 3, k), "strides", 3, s), "p", 2);
    o18_node(g, "LpNormalization", "z", "b");
    o18_ai(o18_node(g, "LpNormalization", "z", "c"), "p", 1);
    o18_out(g, "a", RT_F32);
    o18_out(g, "b", RT_F32);
    o18_out(g, "c", RT_F32);
    o18_check("lp3d", g, 18, ins, n, &LP_TOL);
}

/* LpPool-1 / GlobalLpPool-1 carry p as a float (2.0 by default); onnxruntime has no opset-1
 * kernels, so by hand: the window [[3, -4], [0, 12]] with p = 1.0 -> 19, GlobalLpPool p = 2.0
 * (default) -> 13 */
Test(lp, opset1_float_p_by_hand) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[1];
    int n = 0;
    static float x[4] = {3, -4, 0, 12};
    o18_in_typed(g, ins, &n, "x", RT_F32, "1,1,2,2", x);
    int64_t k[2] = {2, 2};
    o18_af(o18_aints(o18_node(g, "LpPool", "x", "a"), "kernel_shape", 2, k), "p", 1.0f);
    o18_node(g, "GlobalLpPool", "x", "b");
    o18_out(g, "a", RT_F32);
    o18_out(g, "b", RT_F32);
    RtTensor a, b;
    o18_wafer_run("lp_op1a", g, 1, ins, n, "a", &a);
    o18_wafer_run("lp_op1b", g, 1, ins, n, "b", &b);
    cr_expect_float_eq(((float *)a.data)[0], 19.0f, 1e-6f);
    cr_expect_float_eq(((float *)b.data)[0], 13.0f, 1e-6f);
    free(a.data);
    free(b.data);
}
