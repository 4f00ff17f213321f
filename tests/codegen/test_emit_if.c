/*
 * test_emit_if.c — `wafer emit-c` of If (codegen/emit_control.c): the condition is read at run
 * time, so one emitted program runs either branch. The model below nests an If in a branch,
 * captures outer values one and two levels up, takes one condition as a scalar and one as
 * shape [1], and reads the If's output after it; the emitted program's outputs for all four
 * condition pairs are compared with onnxruntime-node's on the same inputs (skipped, saying
 * why, when onnxruntime-node is not installed); the C also cross-compiles clean for a
 * Cortex-M4 when arm-none-eabi-gcc is installed. Refusals: branches whose output shapes differ
 * and a Loop are named (node, op) with exit status 2 and no files written.
 */
#include <sys/stat.h>

#include "../frontend/onnx_proto_build.h"
#include "emitc_ort.h"

TestSuite(emit_if, .fini = pb_release_all);

#define F ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT
#define B ONNX__TENSOR_PROTO__DATA_TYPE__BOOL
#define N_X 6

/* Relu, Mul, Add, Sub, Abs, Neg are exact in both; Tanh is libm's tanhf in the C and
 * onnxruntime's own approximation: they differ by a few float ulps. */
static const double IF_ATOL = 1e-7, IF_RTOL = 1e-6;

/*
 * a = Relu(x)
 * y, q = If(flag) then { t1 = Mul(a, k); If(flag2) then { Add(t1, k) } else { Abs(Sub(t1, k)) },
 *                        Identity(k) }
 *                 else { Add(Tanh(a), Neg(x)), Neg(k) }
 * z = Mul(y, x)
 * x [2, 3], k [3], flag bool [], flag2 bool [1]; y, z [2, 3], q [3].
 */
static void nested_model_write(const char *path) {
    Onnx__GraphProto *it = pb_graph("inner_then");
    pb_add_node(it, pb_node("Add", "inner_add", "t1,k", "u"));
    pb_add_output(it, pb_value("u", F, "2,3"));
    Onnx__GraphProto *ie = pb_graph("inner_else");
    pb_add_node(ie, pb_node("Sub", "inner_sub", "t1,k", "w"));
    pb_add_node(ie, pb_node("Abs", "inner_abs", "w", "w2"));
    pb_add_output(ie, pb_value("w2", F, "2,3"));
    Onnx__GraphProto *th = pb_graph("then");
    pb_add_node(th, pb_node("Mul", "then_mul", "a,k", "t1"));
    Onnx__NodeProto *inner = pb_add_node(th, pb_node("If", "inner_if", "flag2", "t2"));
    pb_attr_graph(inner, "then_branch", it);
    pb_attr_graph(inner, "else_branch", ie);
    pb_add_output(th, pb_value("t2", F, "2,3"));
    pb_add_node(th, pb_node("Identity", "then_keep", "k", "kk")); /* onnxruntime wants it, not k itself */
    pb_add_output(th, pb_value("kk", F, "3")); /* an outer value passed through (an alias of k) */
    Onnx__GraphProto *el = pb_graph("else");
    pb_add_node(el, pb_node("Tanh", "else_tanh", "a", "e1"));
    pb_add_node(el, pb_node("Neg", "else_neg", "x", "e2"));
    pb_add_node(el, pb_node("Add", "else_add", "e1,e2", "e3"));
    pb_add_node(el, pb_node("Neg", "else_negk", "k", "nk"));
    pb_add_output(el, pb_value("e3", F, "2,3"));
    pb_add_output(el, pb_value("nk", F, "3"));
    Onnx__GraphProto *g = pb_graph("ifnest");
    pb_add_node(g, pb_node("Relu", "relu", "x", "a"));
    Onnx__NodeProto *outer = pb_add_node(g, pb_node("If", "outer_if", "flag", "y,q"));
    pb_attr_graph(outer, "then_branch", th);
    pb_attr_graph(outer, "else_branch", el);
    pb_add_node(g, pb_node("Mul", "after", "y,x", "z"));
    pb_add_input(g, pb_value("x", F, "2,3"));
    pb_add_input(g, pb_value("k", F, "3"));
    pb_add_input(g, pb_value("flag", B, ""));
    pb_add_input(g, pb_value("flag2", B, "1"));
    pb_add_output(g, pb_value("y", F, "2,3"));
    pb_add_output(g, pb_value("z", F, "2,3"));
    pb_add_output(g, pb_value("q", F, "3"));
    size_t len = 0;
    uint8_t *bytes = pb_model_pack(g, 8, 13, "test", &len);
    ecu_raw_write(path, bytes, len);
}

Test(emit_if, nested_if_both_branches_match_onnxruntime) {
    static char log[65536];
    char dir[256], model[400];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_emit_if"), 0);
    snprintf(model, sizeof model, "%s/ifnest.onnx", dir);
    nested_model_write(model);
    eco_emit_build(dir, model); /* the C, also for a Cortex-M4 */
    /* both conditions are inputs of the program: one C file runs every branch */
    int st = tu_run(log, sizeof log, "grep -c 'model_NUM_INPUTS 4' %s/model.h", dir);
    cr_assert_eq(st, 0, "model.h does not take the 4 inputs (x, k, flag, flag2): %s", log);
    const float x[N_X] = {-1.5f, 0.25f, 2.0f, 3.5f, -0.75f, 1.0f}, k[3] = {0.5f, -2.0f, 1.25f};
    const EcoOut outs[3] = {{"y", N_X}, {"z", N_X}, {"q", 3}};
    for (int c = 0; c < 4; c++) {
        unsigned char flag = (unsigned char)(c >> 1), flag2 = (unsigned char)(c & 1);
        const EcoIn ins[4] = {{"x", RT_F32, 2, {2, 3}, x, sizeof x},
                              {"k", RT_F32, 1, {3}, k, sizeof k},
                              {"flag", RT_BOOL, 0, {0}, &flag, 1},
                              {"flag2", RT_BOOL, 1, {1}, &flag2, 1}};
        char tag[64];
        snprintf(tag, sizeof tag, "flag %d, flag2 %d", flag, flag2);
        eco_case_run(dir, model, ins, 4, outs, 3, IF_ATOL, IF_RTOL, tag);
    }
    tu_tmpdir_remove(dir);
}

/* y = If(flag) then { x [2, 3] } else { k [3] }: legal ONNX, but no static shape for y. */
static void shape_mismatch_write(const char *path) {
    Onnx__GraphProto *th = pb_graph("then");
    pb_add_node(th, pb_node("Neg", "then_neg", "x", "t"));
    pb_add_output(th, pb_value("t", F, "2,3"));
    Onnx__GraphProto *el = pb_graph("else");
    pb_add_node(el, pb_node("Neg", "else_neg", "k", "e"));
    pb_add_output(el, pb_value("e", F, "3"));
    Onnx__GraphProto *g = pb_graph("ifshape");
    Onnx__NodeProto *n = pb_add_node(g, pb_node("If", "shape_if", "flag", "y"));
    pb_attr_graph(n, "then_branch", th);
    pb_attr_graph(n, "else_branch", el);
    pb_add_input(g, pb_value("x", F, "2,3"));
    pb_add_input(g, pb_value("k", F, "3"));
    pb_add_input(g, pb_value("flag", B, ""));
    pb_add_output(g, pb_value("y", F, NULL));
    size_t len = 0;
    uint8_t *bytes = pb_model_pack(g, 8, 13, "test", &len);
    ecu_raw_write(path, bytes, len);
}

/* v_final = Loop(M, cond, v0) body { v = Add(v_in, v_in) }: a trip count known at run time. */
static void loop_write(const char *path) {
    Onnx__GraphProto *body = pb_graph("body");
    pb_add_node(body, pb_node("Identity", "keep", "cond_in", "cond_out"));
    pb_add_node(body, pb_node("Add", "double", "v_in,v_in", "v_out"));
    pb_add_input(body, pb_value("i", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, ""));
    pb_add_input(body, pb_value("cond_in", B, ""));
    pb_add_input(body, pb_value("v_in", F, "3"));
    pb_add_output(body, pb_value("cond_out", B, ""));
    pb_add_output(body, pb_value("v_out", F, "3"));
    Onnx__GraphProto *g = pb_graph("loop");
    Onnx__NodeProto *n = pb_add_node(g, pb_node("Loop", "the_loop", "m,c,v0", "v"));
    pb_attr_graph(n, "body", body);
    pb_add_input(g, pb_value("m", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, ""));
    pb_add_input(g, pb_value("c", B, ""));
    pb_add_input(g, pb_value("v0", F, "3"));
    pb_add_output(g, pb_value("v", F, "3"));
    size_t len = 0;
    uint8_t *bytes = pb_model_pack(g, 8, 13, "test", &len);
    ecu_raw_write(path, bytes, len);
}

static int exists(const char *dir, const char *file) {
    char p[512];
    struct stat s;
    snprintf(p, sizeof p, "%s/%s", dir, file);
    return stat(p, &s) == 0;
}

Test(emit_if, refusals_name_the_node_and_op) {
    static char log[65536];
    char dir[256], model[400];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_emit_if_bad"), 0);
    snprintf(model, sizeof model, "%s/ifshape.onnx", dir);
    shape_mismatch_write(model);
    int st = tu_run(log, sizeof log, "%s emit-c %s -o %s --weights f32", WAFER_BIN, model, dir);
    cr_expect_eq(st, 2, "%s", log);
    cr_expect(strstr(log, "node 'shape_if' (If)") && strstr(log, "then_branch") && strstr(log, "else_branch"), "%s",
              log);
    cr_expect(!exists(dir, "model.c") && !exists(dir, "model.h"), "a refused If left files behind");
    snprintf(model, sizeof model, "%s/loop.onnx", dir);
    loop_write(model);
    st = tu_run(log, sizeof log, "%s emit-c %s -o %s --weights f32", WAFER_BIN, model, dir);
    cr_expect_eq(st, 2, "%s", log);
    cr_expect(strstr(log, "node 'the_loop' (Loop)"), "%s", log);
    cr_expect(!exists(dir, "model.c") && !exists(dir, "model.h"), "a refused Loop left files behind");
    tu_tmpdir_remove(dir);
}
