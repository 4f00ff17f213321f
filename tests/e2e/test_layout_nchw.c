/*
 * test_layout_nchw.c — passes/layout_nchw.c on small graphs in onnxruntime's NHWC int8 form
 * (what its "all" level saves: com.microsoft QLinearConv / QLinearGlobalAveragePool /
 * QLinearAveragePool with channels_last = 1 between Transposes, QLinearAdd on NHWC data).
 * Each graph runs in onnxruntime-node and in `wafer run` (which simplifies, so the pass runs)
 * and every output is compared (tests/ort_compare.h); the simplified IR is checked for what
 * the pass promises: no Transpose and no channels_last node left where the graph changes
 * layout around its int8 region, and a graph that is channels-last throughout left as it is.
 * The whole mobilenet_v2 in this form is tests/e2e/test_import_qoperator.c's nhwc case.
 */
#include <string.h>

#include "../../frontend/onnx.h"
#include "../../passes/passes.h"
#include "../../runtime/kernels/kernel.h"
#include "../frontend/onnx_proto_build.h"
#include "../ort_compare.h"

TestSuite(layout_nchw, .fini = pb_release_all);

enum { T_U8 = 2, T_I8 = 3, T_I32 = 6 };

/* Requantized uint8 outputs: onnxruntime's x86 kernels and wafer's fast int8 kernels round a
 * requantized value lying at a tie either way (fixed-point vs float multipliers): one step. */
static const OrtcTol REQUANT_TOL = {0, 0, 1};

static uint32_t seed = 99;
static uint32_t rnd(void) { return (seed = seed * 1664525u + 1013904223u) >> 8; }

static void init_bytes(Onnx__GraphProto *g, const char *name, int t, int rank, const int64_t *dims, size_t esize,
                       const void *data) {
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    pb_tensor_raw(pb_add_init(g, pb_tensor(name, t, (size_t)rank, dims)), data, (size_t)n * esize);
}

static void init_scale(Onnx__GraphProto *g, const char *name, float v) {
    pb_tensor_floats(pb_add_init(g, pb_tensor(name, 1, 0, NULL)), 1, &v);
}

static void init_u8(Onnx__GraphProto *g, const char *name, uint8_t v) { init_bytes(g, name, T_U8, 0, NULL, 1, &v); }

/* int8 weights [M, cg, 3, 3] with values in [-64, 64). */
static void init_w(Onnx__GraphProto *g, const char *name, int64_t M, int64_t cg) {
    int64_t d[4] = {M, cg, 3, 3};
    int8_t *w = pb_zalloc((size_t)(M * cg * 9));
    for (int64_t i = 0; i < M * cg * 9; i++) w[i] = (int8_t)((int)(rnd() % 128) - 64);
    init_bytes(g, name, T_I8, 4, d, 1, w);
}

static Onnx__NodeProto *ms_node(Onnx__GraphProto *g, const char *op, const char *name, const char *ins,
                                const char *outs) {
    Onnx__NodeProto *n = pb_add_node(g, pb_node(op, name, ins, outs));
    n->domain = pb_str("com.microsoft");
    return n;
}

static void transpose(Onnx__GraphProto *g, const char *name, const char *in, const char *out, int to_nhwc) {
    static const int64_t nhwc[4] = {0, 2, 3, 1}, nchw[4] = {0, 3, 1, 2};
    pb_attr_ints(pb_add_node(g, pb_node("Transpose", name, in, out)), "perm", 4, to_nhwc ? nhwc : nchw);
}

/* A channels_last 3x3 QLinearConv (pads 1) of group `group`. */
static void conv_cl(Onnx__GraphProto *g, const char *name, const char *ins, const char *out, int64_t group) {
    static const int64_t k[2] = {3, 3}, pads[4] = {1, 1, 1, 1};
    Onnx__NodeProto *n = ms_node(g, "QLinearConv", name, ins, out);
    pb_attr_ints(n, "kernel_shape", 2, k);
    pb_attr_ints(n, "pads", 4, pads);
    pb_attr_int(n, "group", group);
    pb_attr_int(n, "channels_last", 1);
}

static uint8_t *x_bytes(int64_t n) {
    uint8_t *x = pb_zalloc((size_t)n);
    for (int64_t i = 0; i < n; i++) x[i] = (uint8_t)rnd();
    return x;
}

/* Counts in the simplified graph of model m: Transposes, and nodes with channels_last = 1. */
static void simplified_counts(const uint8_t *m, size_t len, int *transposes, int *cl) {
    RtError err = {0};
    IrGraph *g = onnx_load_memory(m, len, ".", "layout_nchw.onnx", NULL, &err);
    cr_assert(g, "load: %s", err.msg);
    cr_assert_eq(pass_simplify(g, &err), RT_OK, "simplify: %s", err.msg);
    *transposes = *cl = 0;
    for (int k = 0; k < g->n_nodes; k++) {
        *transposes += g->nodes[k].op == RT_OP_TRANSPOSE;
        *cl += rt_attr_int(&g->nodes[k], "channels_last", 0) != 0;
    }
    ir_graph_free(g);
}

/* NCHW uint8 X [1, 8, 7, 5] -> Transpose -> conv (full) -> Y1; Y1 -> depthwise conv -> Y2;
 * QLinearAdd(Y1, Y2) -> Transpose -> A (NCHW); the add's NHWC result also -> channels_last
 * QLinearGlobalAveragePool -> Transpose -> G [1, 8, 1, 1]. */
Test(layout_nchw, onnxruntime_nhwc_region_back_to_nchw_without_transposes) {
    const int64_t C = 8, H = 7, W = 5, cd[1] = {8}, xd[4] = {1, C, H, W};
    Onnx__GraphProto *g = pb_graph("g");
    transpose(g, "t_in", "X", "Xh", 1);
    conv_cl(g, "c1", "Xh,xs,xz,W1,ws,wz,s1,z1,B1", "Y1", 1);
    conv_cl(g, "c2", "Y1,s1,z1,W2,ws,wz,s2,z2", "Y2", C);
    ms_node(g, "QLinearAdd", "add", "Y1,s1,z1,Y2,s2,z2,s3,z3", "Ah");
    transpose(g, "t_a", "Ah", "A", 0);
    pb_attr_int(ms_node(g, "QLinearGlobalAveragePool", "gap", "Ah,s3,z3,gs,gz", "Gh"), "channels_last", 1);
    transpose(g, "t_g", "Gh", "G", 0);
    init_scale(g, "xs", 0.02f), init_u8(g, "xz", 121);
    init_w(g, "W1", C, C), init_w(g, "W2", C, 1);
    float ws[8];
    for (int i = 0; i < 8; i++) ws[i] = 0.002f + 0.0005f * (float)i; /* per output channel */
    pb_tensor_floats(pb_add_init(g, pb_tensor("ws", 1, 1, cd)), 8, ws);
    int8_t wz[8] = {0};
    init_bytes(g, "wz", T_I8, 1, cd, 1, wz);
    int32_t b1[8];
    for (int i = 0; i < 8; i++) b1[i] = (int32_t)(rnd() % 2001) - 1000;
    init_bytes(g, "B1", T_I32, 1, cd, 4, b1);
    init_scale(g, "s1", 0.05f), init_u8(g, "z1", 128);
    init_scale(g, "s2", 0.04f), init_u8(g, "z2", 110);
    init_scale(g, "s3", 0.07f), init_u8(g, "z3", 125);
    init_scale(g, "gs", 0.03f), init_u8(g, "gz", 100);
    pb_add_input(g, pb_value("X", T_U8, "1,8,7,5"));
    pb_add_output(g, pb_value("A", T_U8, "1,8,7,5"));
    pb_add_output(g, pb_value("G", T_U8, "1,8,1,1"));
    size_t len;
    uint8_t *m = pb_model_pack_domain(g, 8, 17, "com.microsoft", 1, "test", &len);
    int tr, cl;
    simplified_counts(m, len, &tr, &cl);
    cr_expect_eq(tr, 0, "%d Transposes left", tr);
    cr_expect_eq(cl, 0, "%d channels_last nodes left", cl);
    OrtcInput in = {"X", {.dtype = RT_U8, .rank = 4, .data = x_bytes(C * H * W)}};
    memcpy(in.t.dims, xd, sizeof xd);
    if (!ortc_compare("w_layout_nchw", m, len, &in, 1, &REQUANT_TOL)) cr_skip_test("onnxruntime-node is not installed");
}

/* The input side has no Transpose to cancel (the graph input is NHWC) but the output side
 * does: one Transpose is inserted before the conv, the one after it cancels. */
Test(layout_nchw, nhwc_input_nchw_output) {
    const int64_t C = 5, cd[1] = {5}, xd[4] = {1, 6, 9, C};
    Onnx__GraphProto *g = pb_graph("g");
    conv_cl(g, "c1", "X,xs,xz,W1,ws,wz,s1,z1", "Yh", C);
    transpose(g, "t_y", "Yh", "Y", 0);
    init_scale(g, "xs", 0.02f), init_u8(g, "xz", 3);
    init_w(g, "W1", C, 1);
    float ws[5] = {0.003f, 0.004f, 0.0021f, 0.005f, 0.0033f};
    pb_tensor_floats(pb_add_init(g, pb_tensor("ws", 1, 1, cd)), 5, ws);
    int8_t wz[5] = {0};
    init_bytes(g, "wz", T_I8, 1, cd, 1, wz);
    init_scale(g, "s1", 0.03f), init_u8(g, "z1", 130);
    pb_add_input(g, pb_value("X", T_U8, "1,6,9,5"));
    pb_add_output(g, pb_value("Y", T_U8, "1,5,6,9"));
    size_t len;
    uint8_t *m = pb_model_pack_domain(g, 8, 17, "com.microsoft", 1, "test", &len);
    int tr, cl;
    simplified_counts(m, len, &tr, &cl);
    cr_expect_eq(tr, 1, "%d Transposes (expected the input's only)", tr);
    cr_expect_eq(cl, 0, "%d channels_last nodes left", cl);
    OrtcInput in = {"X", {.dtype = RT_U8, .rank = 4, .data = x_bytes(6 * 9 * C)}};
    memcpy(in.t.dims, xd, sizeof xd);
    if (!ortc_compare("w_layout_nhwc_in", m, len, &in, 1, &REQUANT_TOL))
        cr_skip_test("onnxruntime-node is not installed");
}

/* A channels_last QLinearAveragePool (3x3, stride 2, pads 1) between Transposes, after a
 * channels_last conv: both back to NCHW, no Transpose left. */
Test(layout_nchw, average_pool_between_transposes) {
    const int64_t C = 6, cd[1] = {6}, xd[4] = {1, C, 9, 7};
    static const int64_t k[2] = {3, 3}, st[2] = {2, 2}, pads[4] = {1, 1, 1, 1};
    Onnx__GraphProto *g = pb_graph("g");
    transpose(g, "t_in", "X", "Xh", 1);
    conv_cl(g, "c1", "Xh,xs,xz,W1,ws,wz,s1,z1", "Y1", C);
    Onnx__NodeProto *p = ms_node(g, "QLinearAveragePool", "pool", "Y1,s1,z1,s2,z2", "Ph");
    pb_attr_ints(p, "kernel_shape", 2, k);
    pb_attr_ints(p, "strides", 2, st);
    pb_attr_ints(p, "pads", 4, pads);
    pb_attr_int(p, "channels_last", 1);
    transpose(g, "t_p", "Ph", "P", 0);
    init_scale(g, "xs", 0.02f), init_u8(g, "xz", 9);
    init_w(g, "W1", C, 1);
    float ws[6] = {0.003f, 0.004f, 0.0021f, 0.005f, 0.0033f, 0.0041f};
    pb_tensor_floats(pb_add_init(g, pb_tensor("ws", 1, 1, cd)), 6, ws);
    int8_t wz[6] = {0};
    init_bytes(g, "wz", T_I8, 1, cd, 1, wz);
    init_scale(g, "s1", 0.03f), init_u8(g, "z1", 130);
    init_scale(g, "s2", 0.025f), init_u8(g, "z2", 120);
    pb_add_input(g, pb_value("X", T_U8, "1,6,9,7"));
    pb_add_output(g, pb_value("P", T_U8, "1,6,5,4"));
    size_t len;
    uint8_t *m = pb_model_pack_domain(g, 8, 17, "com.microsoft", 1, "test", &len);
    int tr, cl;
    simplified_counts(m, len, &tr, &cl);
    cr_expect_eq(tr, 0, "%d Transposes left", tr);
    cr_expect_eq(cl, 0, "%d channels_last nodes left", cl);
    OrtcInput in = {"X", {.dtype = RT_U8, .rank = 4, .data = x_bytes(C * 9 * 7)}};
    memcpy(in.t.dims, xd, sizeof xd);
    if (!ortc_compare("w_layout_pool", m, len, &in, 1, &REQUANT_TOL)) cr_skip_test("onnxruntime-node is not installed");
}

/* Channels-last throughout (no Transpose anywhere): the nodes stay as they are. */
Test(layout_nchw, channels_last_throughout_left_alone) {
    const int64_t C = 4, cd[1] = {4};
    Onnx__GraphProto *g = pb_graph("g");
    conv_cl(g, "c1", "X,xs,xz,W1,ws,wz,s1,z1", "Y", 1);
    init_scale(g, "xs", 0.02f), init_u8(g, "xz", 3);
    init_w(g, "W1", C, C);
    float ws[4] = {0.003f, 0.004f, 0.0021f, 0.005f};
    pb_tensor_floats(pb_add_init(g, pb_tensor("ws", 1, 1, cd)), 4, ws);
    int8_t wz[4] = {0};
    init_bytes(g, "wz", T_I8, 1, cd, 1, wz);
    init_scale(g, "s1", 0.03f), init_u8(g, "z1", 130);
    pb_add_input(g, pb_value("X", T_U8, "1,6,9,4"));
    pb_add_output(g, pb_value("Y", T_U8, "1,6,9,4"));
    size_t len;
    uint8_t *m = pb_model_pack_domain(g, 8, 17, "com.microsoft", 1, "test", &len);
    int tr, cl;
    simplified_counts(m, len, &tr, &cl);
    cr_expect_eq(tr, 0);
    cr_expect_eq(cl, 1);
}
