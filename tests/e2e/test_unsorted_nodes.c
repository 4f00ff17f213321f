/*
 * test_unsorted_nodes.c — graphs whose nodes are not in topological order, as some exporters
 * write them (onnxconverter-common's float16 conversion with keep_io_types appends the input's
 * Cast after the nodes reading it: imgly's IS-Net fp16). onnxruntime-node loads them; wafer
 * sorts them as it loads (frontend/onnx_toposort.c) and must give onnxruntime's outputs. A
 * cycle is refused by name, exit status 2.
 */
#include "../frontend/onnx_proto_build.h"
#include "../ort_compare.h"

TestSuite(unsorted_nodes, .fini = pb_release_all);

/* Casts to float16 and back and one float16 Add: exact for these inputs (all representable),
 * so wafer and onnxruntime agree to the bit. */
static const OrtcTol UNSORTED_TOL = {0, 0, 0};

static float x_data[4] = {0.5f, -1.25f, 2.0f, 3.0f};

/* The keep_io_types shape: y = Cast32(Add(xh, xh)) with xh = Cast16(x), the Cast of the input
 * listed last and the output's Cast listed before the Add that feeds it. */
Test(unsorted_nodes, input_cast_listed_last_matches_onnxruntime) {
    Onnx__GraphProto *g = pb_graph("fp16_io");
    Onnx__NodeProto *out_cast = pb_add_node(g, pb_node("Cast", "graph_output_cast0", "s", "y"));
    pb_attr_int(out_cast, "to", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
    pb_add_node(g, pb_node("Add", "add", "xh,xh", "s"));
    Onnx__NodeProto *in_cast = pb_add_node(g, pb_node("Cast", "graph_input_cast0", "x", "xh"));
    pb_attr_int(in_cast, "to", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16);
    pb_add_input(g, pb_value("x", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "4"));
    pb_add_output(g, pb_value("y", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "4"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 8, 15, "test", &len);
    OrtcInput in = {"x", {.dtype = RT_F32, .rank = 1, .dims = {4}, .data = x_data}};
    if (!ortc_compare("wafer_unsorted_cast", m, len, &in, 1, &UNSORTED_TOL))
        cr_skip_test("onnxruntime-node is not installed");
}

/* An If listed before the node making the value its branches read from the outer graph:
 * y = If(cond, then: Add(x, v), else: Neg(v)) with v = Mul(x, x) listed after it. */
static void if_case(uint8_t cond) {
    Onnx__GraphProto *g = pb_graph("late_capture");
    Onnx__GraphProto *then_g = pb_graph("then");
    pb_add_node(then_g, pb_node("Add", "then_add", "x,v", "t"));
    pb_add_output(then_g, pb_value("t", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "4"));
    Onnx__GraphProto *else_g = pb_graph("else");
    pb_add_node(else_g, pb_node("Neg", "else_neg", "v", "e"));
    pb_add_output(else_g, pb_value("e", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "4"));
    Onnx__NodeProto *k = pb_add_node(g, pb_node("If", "if", "cond", "y"));
    pb_attr_graph(k, "then_branch", then_g);
    pb_attr_graph(k, "else_branch", else_g);
    pb_add_node(g, pb_node("Mul", "square", "x,x", "v"));
    pb_add_input(g, pb_value("cond", ONNX__TENSOR_PROTO__DATA_TYPE__BOOL, ""));
    pb_add_input(g, pb_value("x", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "4"));
    pb_add_output(g, pb_value("y", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "4"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 8, 13, "test", &len);
    OrtcInput in[2] = {{"cond", {.dtype = RT_BOOL, .rank = 0, .data = &cond}},
                       {"x", {.dtype = RT_F32, .rank = 1, .dims = {4}, .data = x_data}}};
    if (!ortc_compare(cond ? "wafer_unsorted_if_then" : "wafer_unsorted_if_else", m, len, in, 2, &UNSORTED_TOL))
        cr_skip_test("onnxruntime-node is not installed");
}

Test(unsorted_nodes, if_listed_before_what_its_branches_read_matches_onnxruntime) {
    if_case(1);
    if_case(0);
}

/* a = Relu(b), b = Relu(a): no order exists; `wafer inspect` says so, naming a node of the
 * cycle, with exit status 2. */
Test(unsorted_nodes, cycle_is_refused_by_name) {
    Onnx__GraphProto *g = pb_graph("cycle");
    pb_add_node(g, pb_node("Relu", "first", "b", "a"));
    pb_add_node(g, pb_node("Relu", "second", "a", "b"));
    pb_add_node(g, pb_node("Add", "out", "x,a", "y"));
    pb_add_input(g, pb_value("x", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "4"));
    pb_add_output(g, pb_value("y", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "4"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 8, 13, "test", &len);
    char dir[256], path[300];
    static char log[4096];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_unsorted_cycle"), 0);
    snprintf(path, sizeof path, "%s/cycle.onnx", dir);
    FILE *f = fopen(path, "wb");
    cr_assert(f && fwrite(m, 1, len, f) == len && fclose(f) == 0);
    int rc = tu_run(log, sizeof log, "%s inspect %s", WAFER_BIN, path);
    cr_expect_eq(rc, 2, "exit status %d: %s", rc, log);
    cr_expect(strstr(log, "cycle.onnx") && strstr(log, "node 'first' (Relu)") && strstr(log, "is on a cycle"),
              "the message names the file, the node and the cycle: %s", log);
    tu_tmpdir_remove(dir);
}
