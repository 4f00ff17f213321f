/*
 * test_emit_scan.c — `wafer emit-c` of Scan (opset 9+, codegen/emit_control.c): the body is
 * emitted once inside a C `for` over the scan inputs' length, the states in the arena. The
 * model below has two states, two scan inputs (one read backwards), a captured outer value, a
 * constant of the body, and two scan outputs (one written backwards, one the state as it
 * entered the step); the emitted program's four outputs are compared with onnxruntime-node's
 * on the same inputs (skipped, saying why, when it is not installed); so are those of a Scan
 * whose body holds an If on a value captured two levels up. Refusals named (node,
 * op) with exit status 2 and no files: Scan opset 8, a scan axis other than 0, and states
 * exchanged by the body (state i's output is state j's input).
 */
#include <sys/stat.h>

#include "../frontend/onnx_proto_build.h"
#include "emitc_ort.h"

TestSuite(emit_scan, .fini = pb_release_all);

#define F ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT
#define T_STEPS 4

/* Add, Mul, Sub are exact in both; Tanh is libm's tanhf in the C and onnxruntime's own
 * approximation: they differ by a few float ulps. */
static const double SCAN_ATOL = 1e-7, SCAN_RTOL = 1e-6;

/*
 * acc, cnt, e, p = Scan(acc0 [2], cnt0 [1], x [4, 2], w [4, 2]; scan_input_directions [0, 1],
 *                       scan_output_directions [0, 1])
 *   body(acc_in, cnt_in, xt, wt):  acc_out = Add(acc_in, Mul(xt, g))      g [2]: captured
 *                                  cnt_out = Add(cnt_in, one)             one [1]: the body's
 *                                  e_t = Tanh(Sub(wt, acc_out))
 *                                  p_t = Identity(acc_in)                 the state as it entered
 */
static void scan_model_write(const char *path) {
    Onnx__GraphProto *b = pb_graph("body");
    const float one = 1.0f;
    pb_add_init(b, pb_tensor_floats(pb_tensor("one", F, 1, (int64_t[]){1}), 1, &one));
    pb_add_node(b, pb_node("Mul", "mul_g", "xt,g", "m"));
    pb_add_node(b, pb_node("Add", "acc", "acc_in,m", "acc_out"));
    pb_add_node(b, pb_node("Add", "count", "cnt_in,one", "cnt_out"));
    pb_add_node(b, pb_node("Sub", "sub_w", "wt,acc_out", "d"));
    pb_add_node(b, pb_node("Tanh", "tanh", "d", "e_t"));
    pb_add_node(b, pb_node("Identity", "entered", "acc_in", "p_t"));
    pb_add_input(b, pb_value("acc_in", F, "2"));
    pb_add_input(b, pb_value("cnt_in", F, "1"));
    pb_add_input(b, pb_value("xt", F, "2"));
    pb_add_input(b, pb_value("wt", F, "2"));
    pb_add_output(b, pb_value("acc_out", F, "2"));
    pb_add_output(b, pb_value("cnt_out", F, "1"));
    pb_add_output(b, pb_value("e_t", F, "2"));
    pb_add_output(b, pb_value("p_t", F, "2"));
    Onnx__GraphProto *g = pb_graph("scan");
    Onnx__NodeProto *n = pb_add_node(g, pb_node("Scan", "the_scan", "acc0,cnt0,x,w", "acc,cnt,e,p"));
    pb_attr_graph(n, "body", b);
    pb_attr_int(n, "num_scan_inputs", 2);
    pb_attr_ints(n, "scan_input_directions", 2, (int64_t[]){0, 1});
    pb_attr_ints(n, "scan_output_directions", 2, (int64_t[]){0, 1});
    pb_add_input(g, pb_value("acc0", F, "2"));
    pb_add_input(g, pb_value("cnt0", F, "1"));
    pb_add_input(g, pb_value("x", F, "4,2"));
    pb_add_input(g, pb_value("w", F, "4,2"));
    pb_add_input(g, pb_value("g", F, "2"));
    pb_add_output(g, pb_value("acc", F, "2"));
    pb_add_output(g, pb_value("cnt", F, "1"));
    pb_add_output(g, pb_value("e", F, "4,2"));
    pb_add_output(g, pb_value("p", F, "4,2"));
    size_t len = 0;
    uint8_t *bytes = pb_model_pack(g, 8, 16, "test", &len);
    ecu_raw_write(path, bytes, len);
}

Test(emit_scan, states_directions_captures_match_onnxruntime) {
    char dir[256], model[400];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_emit_scan"), 0);
    snprintf(model, sizeof model, "%s/scan.onnx", dir);
    scan_model_write(model);
    eco_emit_build(dir, model); /* the C, also for a Cortex-M4 */
    const float acc0[2] = {0.5f, -1.0f}, cnt0[1] = {2.0f}, g[2] = {1.5f, -0.5f};
    const float x[T_STEPS * 2] = {0.1f, 0.2f, -0.3f, 0.4f, 0.5f, -0.6f, 0.7f, 0.8f};
    const float w[T_STEPS * 2] = {1.0f, -1.0f, 0.25f, 0.5f, -0.75f, 2.0f, 0.0f, 0.125f};
    const EcoIn ins[5] = {{"acc0", RT_F32, 1, {2}, acc0, sizeof acc0},
                          {"cnt0", RT_F32, 1, {1}, cnt0, sizeof cnt0},
                          {"x", RT_F32, 2, {T_STEPS, 2}, x, sizeof x},
                          {"w", RT_F32, 2, {T_STEPS, 2}, w, sizeof w},
                          {"g", RT_F32, 1, {2}, g, sizeof g}};
    const EcoOut outs[4] = {{"acc", 2}, {"cnt", 1}, {"e", T_STEPS * 2}, {"p", T_STEPS * 2}};
    eco_case_run(dir, model, ins, 5, outs, 4, SCAN_ATOL, SCAN_RTOL, "states, directions, captures");
    tu_tmpdir_remove(dir);
}

/*
 * xa = Abs(x), kn = Neg(k)
 * s, y = Scan(s0 [2], xa [3, 2]) body(s_in, xt): v = If(flag) { Add(s_in, xt) } else
 *        { Mul(Sub(s_in, xt), kn) }; s_out = Tanh(v); y_t = Identity(v)
 * y2 = Add(y, y)
 * flag bool [] and kn [2] are captured two levels up. xa, kn and y live in the arena, so the
 * plan must keep them across the steps (a body temporary placed over xa after the first
 * step's slice copy, over kn after its read, or over y would corrupt the next step).
 */
static void scan_if_model_write(const char *path) {
    Onnx__GraphProto *th = pb_graph("then");
    pb_add_node(th, pb_node("Add", "then_add", "s_in,xt", "ta"));
    pb_add_output(th, pb_value("ta", F, "2"));
    Onnx__GraphProto *el = pb_graph("else");
    pb_add_node(el, pb_node("Sub", "else_sub", "s_in,xt", "es"));
    pb_add_node(el, pb_node("Mul", "else_mul", "es,kn", "em"));
    pb_add_output(el, pb_value("em", F, "2"));
    Onnx__GraphProto *b = pb_graph("body");
    Onnx__NodeProto *i = pb_add_node(b, pb_node("If", "step_if", "flag", "v"));
    pb_attr_graph(i, "then_branch", th);
    pb_attr_graph(i, "else_branch", el);
    pb_add_node(b, pb_node("Tanh", "squash", "v", "s_out"));
    pb_add_node(b, pb_node("Identity", "emit", "v", "y_t"));
    pb_add_input(b, pb_value("s_in", F, "2"));
    pb_add_input(b, pb_value("xt", F, "2"));
    pb_add_output(b, pb_value("s_out", F, "2"));
    pb_add_output(b, pb_value("y_t", F, "2"));
    Onnx__GraphProto *g = pb_graph("scan_if");
    pb_add_node(g, pb_node("Abs", "abs_x", "x", "xa"));
    pb_add_node(g, pb_node("Neg", "neg_k", "k", "kn"));
    Onnx__NodeProto *n = pb_add_node(g, pb_node("Scan", "if_scan", "s0,xa", "s,y"));
    pb_attr_graph(n, "body", b);
    pb_attr_int(n, "num_scan_inputs", 1);
    pb_add_input(g, pb_value("s0", F, "2"));
    pb_add_input(g, pb_value("x", F, "3,2"));
    pb_add_input(g, pb_value("flag", ONNX__TENSOR_PROTO__DATA_TYPE__BOOL, ""));
    pb_add_input(g, pb_value("k", F, "2"));
    pb_add_node(g, pb_node("Add", "twice", "y,y", "y2"));
    pb_add_output(g, pb_value("s", F, "2"));
    pb_add_output(g, pb_value("y2", F, "3,2"));
    size_t len = 0;
    uint8_t *bytes = pb_model_pack(g, 8, 16, "test", &len);
    ecu_raw_write(path, bytes, len);
}

Test(emit_scan, if_inside_the_body_matches_onnxruntime) {
    char dir[256], model[400];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_emit_scan_if"), 0);
    snprintf(model, sizeof model, "%s/scan_if.onnx", dir);
    scan_if_model_write(model);
    eco_emit_build(dir, model);
    const float s0[2] = {0.25f, -0.5f}, x[6] = {0.5f, 1.0f, -0.25f, 0.75f, 1.5f, -2.0f}, k[2] = {2.0f, -0.5f};
    const EcoOut outs[2] = {{"s", 2}, {"y2", 6}};
    for (unsigned char flag = 0; flag < 2; flag++) {
        const EcoIn ins[4] = {{"s0", RT_F32, 1, {2}, s0, sizeof s0},
                              {"x", RT_F32, 2, {3, 2}, x, sizeof x},
                              {"flag", RT_BOOL, 0, {0}, &flag, 1},
                              {"k", RT_F32, 1, {2}, k, sizeof k}};
        char tag[32];
        snprintf(tag, sizeof tag, "flag %d", flag);
        eco_case_run(dir, model, ins, 4, outs, 2, SCAN_ATOL, SCAN_RTOL, tag);
    }
    tu_tmpdir_remove(dir);
}

/* A one-state, one-input Scan of opset `opset` whose body is Add(s_in, xt) (opset 8 puts an
 * empty sequence_lens first); axis: scan_input_axes[0] when >= 0. */
static void small_scan_write(const char *path, int opset, int axis) {
    Onnx__GraphProto *b = pb_graph("body");
    pb_add_node(b, pb_node("Add", "add", "s_in,xt", "s_out"));
    pb_add_node(b, pb_node("Identity", "y_t", "s_out", "y_t"));
    pb_add_input(b, pb_value("s_in", F, opset < 9 ? "1,2" : "2"));
    pb_add_input(b, pb_value("xt", F, opset < 9 ? "1,2" : "2"));
    pb_add_output(b, pb_value("s_out", F, opset < 9 ? "1,2" : "2"));
    pb_add_output(b, pb_value("y_t", F, opset < 9 ? "1,2" : "2"));
    Onnx__GraphProto *g = pb_graph("small");
    Onnx__NodeProto *n = pb_add_node(g, pb_node("Scan", "small_scan", opset < 9 ? ",s0,x" : "s0,x", "s,y"));
    pb_attr_graph(n, "body", b);
    pb_attr_int(n, "num_scan_inputs", 1);
    if (axis >= 0) pb_attr_ints(n, "scan_input_axes", 1, (int64_t[]){axis});
    pb_add_input(g, pb_value("s0", F, opset < 9 ? "1,2" : "2"));
    pb_add_input(g, pb_value("x", F, opset < 9 ? "1,3,2" : "2,2"));
    pb_add_output(g, pb_value("s", F, NULL));
    pb_add_output(g, pb_value("y", F, NULL));
    size_t len = 0;
    uint8_t *bytes = pb_model_pack(g, 8, opset, "test", &len);
    ecu_raw_write(path, bytes, len);
}

/* Two states the body exchanges: a_out = Identity(b_in), b_out = Identity(a_in). */
static void swap_scan_write(const char *path) {
    Onnx__GraphProto *b = pb_graph("body");
    pb_add_node(b, pb_node("Identity", "take_b", "b_in", "a_out"));
    pb_add_node(b, pb_node("Identity", "take_a", "a_in", "b_out"));
    pb_add_node(b, pb_node("Identity", "step", "xt", "y_t"));
    pb_add_input(b, pb_value("a_in", F, "2"));
    pb_add_input(b, pb_value("b_in", F, "2"));
    pb_add_input(b, pb_value("xt", F, "2"));
    pb_add_output(b, pb_value("a_out", F, "2"));
    pb_add_output(b, pb_value("b_out", F, "2"));
    pb_add_output(b, pb_value("y_t", F, "2"));
    Onnx__GraphProto *g = pb_graph("swap");
    Onnx__NodeProto *n = pb_add_node(g, pb_node("Scan", "swap_scan", "a0,b0,x", "a,b,y"));
    pb_attr_graph(n, "body", b);
    pb_attr_int(n, "num_scan_inputs", 1);
    pb_add_input(g, pb_value("a0", F, "2"));
    pb_add_input(g, pb_value("b0", F, "2"));
    pb_add_input(g, pb_value("x", F, "3,2"));
    pb_add_output(g, pb_value("a", F, NULL));
    pb_add_output(g, pb_value("b", F, NULL));
    pb_add_output(g, pb_value("y", F, NULL));
    size_t len = 0;
    uint8_t *bytes = pb_model_pack(g, 8, 16, "test", &len);
    ecu_raw_write(path, bytes, len);
}

static int exists(const char *dir, const char *file) {
    char p[512];
    struct stat s;
    snprintf(p, sizeof p, "%s/%s", dir, file);
    return stat(p, &s) == 0;
}

/* emit-c of model exits 2 naming `what`, leaving no model.c / model.h. */
static void expect_refused(const char *dir, const char *model, const char *what, const char *why) {
    static char log[65536];
    int st = tu_run(log, sizeof log, "%s emit-c %s -o %s --weights f32", WAFER_BIN, model, dir);
    cr_expect_eq(st, 2, "%s: %s", model, log);
    cr_expect(strstr(log, what) && strstr(log, why), "%s: wanted '%s' and '%s' in: %s", model, what, why, log);
    cr_expect(!exists(dir, "model.c") && !exists(dir, "model.h"), "%s: a refused Scan left files behind", model);
}

Test(emit_scan, refusals_name_the_node_and_op) {
    char dir[256], model[400];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_emit_scan_bad"), 0);
    snprintf(model, sizeof model, "%s/scan8.onnx", dir);
    small_scan_write(model, 8, -1);
    expect_refused(dir, model, "node 'small_scan' (Scan)", "opset 8");
    snprintf(model, sizeof model, "%s/axis1.onnx", dir);
    small_scan_write(model, 16, 1);
    expect_refused(dir, model, "node 'small_scan' (Scan)", "scan_input_axes");
    snprintf(model, sizeof model, "%s/swap.onnx", dir);
    swap_scan_write(model);
    expect_refused(dir, model, "node 'swap_scan' (Scan)", "state output 0 is state input 1");
    tu_tmpdir_remove(dir);
}
