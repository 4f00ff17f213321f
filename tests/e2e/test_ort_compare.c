/*
 * test_ort_compare.c — the onnxruntime-vs-wafer harness (tests/ort_compare.h) on ops the
 * conformance data covers too, so a broken harness shows here before it hides a kernel bug
 * elsewhere: float, int64 and bool outputs, a model importing com.microsoft next to the
 * default domain. Skips with a message where onnxruntime-node is not installed.
 */
#include "../frontend/onnx_proto_build.h"
#include "../ort_compare.h"

TestSuite(ort_compare, .fini = pb_release_all);

/* Softmax of values in [-4, 4): both compute exp(x - max) / sum in float; the sums of 7
 * terms may round differently, a few ulps of values <= 1. */
static const OrtcTol SOFTMAX_TOL = {1e-6, 1e-5, 0};

Test(ort_compare, float_int64_and_bool_outputs_agree_with_onnxruntime) {
    Onnx__GraphProto *g = pb_graph("g");
    pb_attr_int(pb_add_node(g, pb_node("Softmax", "sm", "x", "p")), "axis", -1);
    pb_attr_int(pb_add_node(g, pb_node("ArgMax", "am", "x", "i")), "axis", 1);
    pb_add_node(g, pb_node("Greater", "gt", "x,zero", "b"));
    float zero = 0;
    pb_tensor_floats(pb_add_init(g, pb_tensor("zero", 1, 0, NULL)), 1, &zero);
    pb_add_input(g, pb_value("x", 1, "3,7"));
    pb_add_output(g, pb_value("p", 1, "3,7"));
    pb_add_output(g, pb_value("i", 7, "3,1"));
    pb_add_output(g, pb_value("b", 9, "3,7"));
    size_t len;
    uint8_t *m = pb_model_pack_domain(g, 8, 13, "com.microsoft", 1, "test", &len);
    float x[21];
    uint32_t s = 7;
    for (int i = 0; i < 21; i++) x[i] = (float)((s = s * 1664525u + 1013904223u) >> 8) / (1 << 24) * 8 - 4;
    OrtcInput in = {"x", {.dtype = RT_F32, .rank = 2, .dims = {3, 7}, .data = x}};
    if (!ortc_compare("wafer_ortc", m, len, &in, 1, &SOFTMAX_TOL)) cr_skip_test("onnxruntime-node is not installed");
}
