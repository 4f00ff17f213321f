/*
 * test_wide_nodes.c — nodes with more than 64 inputs, against onnxruntime-node: a Sum of 100
 * tensors, and an If whose branch reads 80 weights of the outer graph (the IR passes a
 * subgraph's captures as extra inputs of its node; Silero VAD's exported If reads ~70). The
 * executors' per-node arrays take RT_NODE_MAX_IN inputs (runtime/rt_core.h); before, such a
 * model stopped with "too many inputs".
 */
#include "../frontend/onnx_proto_build.h"
#include "../ort_compare.h"

TestSuite(wide_nodes, .fini = pb_release_all);

#define WIDE_SUM_TERMS 99   /* Sum(x, c0 .. c98): 100 inputs */
#define WIDE_CAPTURES 80    /* weights an If branch reads from the outer graph */
#define WIDE_ELEMS 3

/* Sums of up to 100 float32 terms of size <= 1 in another order than onnxruntime's: a few
 * ulps of the sum's magnitude (<= 100). */
static const OrtcTol WIDE_TOL = {1e-4, 1e-6, 0};

/* c<i> = [i/100, -i/200, 1/(i+1)] as an initializer of g. */
static void weight_add(Onnx__GraphProto *g, const char *name, int i) {
    float v[WIDE_ELEMS] = {(float)i / 100.0f, -(float)i / 200.0f, 1.0f / (float)(i + 1)};
    pb_tensor_floats(pb_add_init(g, pb_tensor(name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, (int64_t[]){WIDE_ELEMS})),
                     WIDE_ELEMS, v);
}

/* "prefix0,prefix1,...,prefix<n-1>" after `first` (comma-separated). */
static char *names_list(const char *first, const char *prefix, int n) {
    char *s = pb_zalloc(16 * (size_t)(n + 1) + strlen(first) + 1);
    size_t l = (size_t)sprintf(s, "%s", first);
    for (int i = 0; i < n; i++) l += (size_t)sprintf(s + l, "%s%s%d", l ? "," : "", prefix, i);
    return s;
}

static float x_data[WIDE_ELEMS] = {0.5f, -1.25f, 2.0f};

Test(wide_nodes, sum_of_100_inputs_matches_onnxruntime) {
    Onnx__GraphProto *g = pb_graph("wide_sum");
    char name[32];
    for (int i = 0; i < WIDE_SUM_TERMS; i++) {
        snprintf(name, sizeof name, "c%d", i);
        weight_add(g, name, i);
    }
    pb_add_node(g, pb_node("Sum", "sum", names_list("x", "c", WIDE_SUM_TERMS), "y"));
    pb_add_input(g, pb_value("x", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "3"));
    pb_add_output(g, pb_value("y", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "3"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 8, 13, "test", &len);
    OrtcInput in = {"x", {.dtype = RT_F32, .rank = 1, .dims = {WIDE_ELEMS}, .data = x_data}};
    if (!ortc_compare("wafer_wide_sum", m, len, &in, 1, &WIDE_TOL)) cr_skip_test("onnxruntime-node is not installed");
}

/* y = If(cond, then: Sum(x, w0 .. w79) with the w's outer initializers, else: Neg(x)). */
static void if_case(uint8_t cond) {
    Onnx__GraphProto *g = pb_graph("wide_if");
    char name[32];
    for (int i = 0; i < WIDE_CAPTURES; i++) {
        snprintf(name, sizeof name, "w%d", i);
        weight_add(g, name, i);
    }
    Onnx__GraphProto *then_g = pb_graph("then");
    pb_add_node(then_g, pb_node("Sum", "then_sum", names_list("x", "w", WIDE_CAPTURES), "t"));
    pb_add_output(then_g, pb_value("t", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "3"));
    Onnx__GraphProto *else_g = pb_graph("else");
    pb_add_node(else_g, pb_node("Neg", "else_neg", "x", "e"));
    pb_add_output(else_g, pb_value("e", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "3"));
    Onnx__NodeProto *k = pb_add_node(g, pb_node("If", "if", "cond", "y"));
    pb_attr_graph(k, "then_branch", then_g);
    pb_attr_graph(k, "else_branch", else_g);
    pb_add_input(g, pb_value("cond", ONNX__TENSOR_PROTO__DATA_TYPE__BOOL, ""));
    pb_add_input(g, pb_value("x", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "3"));
    pb_add_output(g, pb_value("y", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "3"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 8, 13, "test", &len);
    OrtcInput in[2] = {{"cond", {.dtype = RT_BOOL, .rank = 0, .data = &cond}},
                       {"x", {.dtype = RT_F32, .rank = 1, .dims = {WIDE_ELEMS}, .data = x_data}}};
    if (!ortc_compare(cond ? "wafer_wide_if_then" : "wafer_wide_if_else", m, len, in, 2, &WIDE_TOL))
        cr_skip_test("onnxruntime-node is not installed");
}

Test(wide_nodes, if_branch_reading_80_outer_weights_matches_onnxruntime) {
    if_case(1);
    if_case(0);
}
