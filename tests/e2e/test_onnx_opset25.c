/*
 * test_onnx_opset25.c — models of default-domain opsets 24 and 25 (ONNX 1.19 / 1.20, IR
 * versions 12 / 13) run by wafer and by onnxruntime-node 1.30 (which runs opsets up to 26 and
 * IR up to 13), every output compared (tests/ort_compare.h): ops wafer already ran whose
 * newest version only widened types, and the ops opset 24 added. Skips where onnxruntime-node
 * is not installed.
 */
#include "../frontend/onnx_proto_build.h"
#include "../ort_compare.h"

TestSuite(onnx_opset25, .fini = pb_release_all);

/* MatMul of K = 5 terms, then Softmax: both compute in float32 with their own summation
 * order, a few ulps of values of magnitude <= 4; TopK and shapes are exact. */
static const OrtcTol FLOAT_TOL = {1e-6, 1e-5, 0};

static uint32_t lcg = 7;
static float rnd(void) { return (float)((lcg = lcg * 1664525u + 1013904223u) >> 8) / (1 << 24) * 2 - 1; }

static Onnx__TensorProto *init_floats(Onnx__GraphProto *g, const char *name, int rank, const int64_t *dims) {
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    float *v = pb_zalloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) v[i] = rnd();
    return pb_tensor_floats(pb_add_init(g, pb_tensor(name, 1, (size_t)rank, dims)), (size_t)n, v);
}

static Onnx__TensorProto *init_ints(Onnx__GraphProto *g, const char *name, size_t n, const int64_t *v) {
    int64_t d = (int64_t)n;
    return pb_tensor_raw(pb_add_init(g, pb_tensor(name, RT_I64, 1, &d)), v, sizeof(int64_t) * n);
}

/* Opset 24 at IR 12: MatMul, Add, Softmax, TopK (version 24: bfloat16 added), Reshape,
 * Transpose, Cast (24: float8e8m0 added) — versions that only widened types. */
Test(onnx_opset25, opset24_ir12_model_agrees_with_onnxruntime) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t wd[2] = {5, 4}, bd[1] = {4}, k = 2, shape[3] = {3, 2, 2};
    init_floats(g, "W", 2, wd);
    init_floats(g, "b", 1, bd);
    init_ints(g, "k", 1, &k);
    init_ints(g, "shape", 3, shape);
    pb_add_node(g, pb_node("MatMul", "mm", "x,W", "xw"));
    pb_add_node(g, pb_node("Add", "add", "xw,b", "h"));
    pb_attr_int(pb_add_node(g, pb_node("Softmax", "sm", "h", "p")), "axis", -1);
    pb_attr_int(pb_add_node(g, pb_node("TopK", "top", "h,k", "tv,ti")), "axis", -1);
    pb_add_node(g, pb_node("Reshape", "rs", "p,shape", "r"));
    int64_t perm[3] = {2, 0, 1};
    pb_attr_ints(pb_add_node(g, pb_node("Transpose", "tr", "r", "t")), "perm", 3, perm);
    pb_attr_int(pb_add_node(g, pb_node("Cast", "cast", "ti", "ci")), "to", RT_I32);
    pb_add_input(g, pb_value("x", 1, "3,5"));
    pb_add_output(g, pb_value("t", 1, "2,3,2"));
    pb_add_output(g, pb_value("tv", 1, "3,2"));
    pb_add_output(g, pb_value("ci", RT_I32, "3,2"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 12, 24, "test_onnx_opset25", &len);
    float x[15];
    for (int i = 0; i < 15; i++) x[i] = 2 * rnd();
    OrtcInput in = {"x", {.dtype = RT_F32, .rank = 2, .dims = {3, 5}, .data = x}};
    if (!ortc_compare("wafer_opset24", m, len, &in, 1, &FLOAT_TOL)) cr_skip_test("onnxruntime-node is not installed");
}

/* Opset 25 at IR 13: the ops whose version 25 added uint2/int2 — Unsqueeze, Pad, Flatten,
 * Squeeze, Identity, Shape, Size, DequantizeLinear (blocked int8) — on 8-bit and float data. */
Test(onnx_opset25, opset25_ir13_model_agrees_with_onnxruntime) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t ax0 = 0, pads[4] = {0, 1, 0, 2}, qd[2] = {3, 4}, sd[2] = {3, 2};
    init_ints(g, "ax0", 1, &ax0);
    init_ints(g, "pads", 4, pads);
    int8_t q[12] = {-128, -7, 0, 5, 127, 3, -1, 9, 64, -64, 2, -3};
    pb_tensor_raw(pb_add_init(g, pb_tensor("q", RT_I8, 2, qd)), q, sizeof q);
    init_floats(g, "qs", 2, sd);
    pb_add_node(g, pb_node("Unsqueeze", "uq", "x,ax0", "xu"));
    pb_attr_str(pb_add_node(g, pb_node("Pad", "pad", "x,pads", "xp")), "mode", "reflect");
    pb_attr_int(pb_add_node(g, pb_node("Flatten", "fl", "xu", "xf")), "axis", 2);
    pb_add_node(g, pb_node("Squeeze", "sq", "xu,ax0", "xs"));
    pb_add_node(g, pb_node("Identity", "id", "xs", "xi"));
    pb_add_node(g, pb_node("Shape", "shp", "xp", "sh"));
    pb_add_node(g, pb_node("Size", "sz", "xf", "n"));
    Onnx__NodeProto *dq = pb_add_node(g, pb_node("DequantizeLinear", "dq", "q,qs", "w"));
    pb_attr_int(dq, "axis", 1);
    pb_attr_int(dq, "block_size", 2);
    pb_add_input(g, pb_value("x", 1, "3,4"));
    pb_add_output(g, pb_value("xp", 1, "3,7"));
    pb_add_output(g, pb_value("xf", 1, "3,4"));
    pb_add_output(g, pb_value("xi", 1, "3,4"));
    pb_add_output(g, pb_value("sh", RT_I64, "2"));
    pb_add_output(g, pb_value("n", RT_I64, ""));
    pb_add_output(g, pb_value("w", 1, "3,4"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 13, 25, "test_onnx_opset25", &len);
    float x[12];
    for (int i = 0; i < 12; i++) x[i] = rnd();
    OrtcInput in = {"x", {.dtype = RT_F32, .rank = 2, .dims = {3, 4}, .data = x}};
    if (!ortc_compare("wafer_opset25", m, len, &in, 1, &FLOAT_TOL)) cr_skip_test("onnxruntime-node is not installed");
}
