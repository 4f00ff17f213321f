/*
 * test_ir_verify.c — ir_verify accepts well-formed graphs and names the node and value of
 * each broken invariant: use before definition, two producers, bad attributes, undefined
 * outputs, out-of-range indices, stale producers, broken subgraphs.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "../../ir/ir.h"
#include "ir_test_util.h"

static RtError err;

/* x -> Relu(r1) -> a -> Relu(r2) -> y */
static IrGraph *chain(void) {
    IrGraph *g = ir_graph_new();
    cr_assert_not_null(g);
    int64_t d[2] = {2, 3};
    int x = tg_input(g, "x", RT_F32, 2, d, NULL);
    int a = tg_node(g, RT_OP_RELU, "r1", 1, &x, "a");
    int y = tg_node(g, RT_OP_RELU, "r2", 1, &a, "y");
    tg_output(g, y);
    return g;
}

static void expect_fail(IrGraph *g, const char *const *needles, int n) {
    memset(&err, 0, sizeof err);
    cr_assert_neq(ir_verify(g, &err), RT_OK, "verify accepted a broken graph");
    for (int i = 0; i < n; i++)
        cr_expect(strstr(err.msg, needles[i]) != NULL, "message '%s' lacks '%s'", err.msg, needles[i]);
}

Test(ir_verify, accepts_a_chain) {
    IrGraph *g = chain();
    memset(&err, 0, sizeof err);
    cr_expect_eq(ir_verify(g, &err), RT_OK, "%s", err.msg);
    ir_graph_free(g);
}

Test(ir_verify, accepts_optional_absent_inputs_and_constant_outputs) {
    IrGraph *g = ir_graph_new();
    int64_t d[1] = {4};
    int x = tg_input(g, "x", RT_F32, 1, d, NULL);
    float lo = 0;
    int c = tg_const_f32(g, "lo", 0, NULL, &lo);
    int in[3] = {x, c, -1}; /* Clip(x, min, <no max>) */
    int y = tg_node(g, RT_OP_CLIP, "clip", 3, in, "y");
    tg_output(g, y);
    tg_output(g, c); /* a constant may be a graph output */
    memset(&err, 0, sizeof err);
    cr_expect_eq(ir_verify(g, &err), RT_OK, "%s", err.msg);
    ir_graph_free(g);
}

Test(ir_verify, catches_use_before_def) {
    IrGraph *g = ir_graph_new();
    int64_t d[1] = {4};
    int x = tg_input(g, "x", RT_F32, 1, d, NULL);
    int a = ir_value_add(g, "a");
    int y = tg_node(g, RT_OP_RELU, "first", 1, &a, "y"); /* reads a, produced below */
    cr_assert(ir_node_add(g, RT_OP_RELU, "second", 1, &x, 1, &a) >= 0);
    tg_output(g, y);
    const char *want[] = {"first", "Relu", "'a'", "before it is defined", "second"};
    expect_fail(g, want, 5);
    ir_graph_free(g);
}

Test(ir_verify, catches_undefined_input) {
    IrGraph *g = ir_graph_new();
    int ghost = ir_value_add(g, "ghost");
    int y = tg_node(g, RT_OP_RELU, "r", 1, &ghost, "y");
    tg_output(g, y);
    const char *want[] = {"'r'", "'ghost'", "not a graph input"};
    expect_fail(g, want, 3);
    ir_graph_free(g);
}

Test(ir_verify, catches_duplicate_producer) {
    IrGraph *g = chain();
    int x = g->inputs[0], y = ir_value_find(g, "y");
    cr_assert(ir_node_add(g, RT_OP_NEG, "dup", 1, &x, 1, &y) >= 0);
    const char *want[] = {"'y'", "two nodes", "r2", "dup", "Neg"};
    expect_fail(g, want, 5);
    ir_graph_free(g);
}

Test(ir_verify, catches_output_that_is_an_input_or_constant) {
    IrGraph *g = chain();
    int x = g->inputs[0];
    int out = x;
    cr_assert(ir_node_add(g, RT_OP_RELU, "overwrite", 1, &x, 1, &out) >= 0);
    g->values[x].producer = -1;
    const char *want[] = {"overwrite", "'x'", "graph input"};
    expect_fail(g, want, 3);
    ir_graph_free(g);

    g = chain();
    float one = 1;
    int c = tg_const_f32(g, "c", 0, NULL, &one);
    x = g->inputs[0];
    cr_assert(ir_node_add(g, RT_OP_RELU, "overwrite", 1, &x, 1, &c) >= 0);
    g->values[c].producer = -1;
    const char *want2[] = {"overwrite", "'c'", "constant"};
    expect_fail(g, want2, 3);
    ir_graph_free(g);
}

Test(ir_verify, catches_bad_attribute) {
    IrGraph *g = chain();
    int64_t axis = 1;
    tg_attr_ints(g, "axis", -1, &axis); /* on r2: Relu has no attributes */
    const char *want[] = {"'r2'", "Relu", "'axis'", "not allowed"};
    expect_fail(g, want, 4);
    ir_graph_free(g);
}

Test(ir_verify, unknown_ops_skip_the_attribute_check) {
    IrGraph *g = chain();
    g->nodes[1].op = RT_OP_UNKNOWN;
    g->nodes[1].op_type = "MyCustomOp";
    int64_t v = 3;
    tg_attr_ints(g, "whatever", -1, &v);
    memset(&err, 0, sizeof err);
    cr_expect_eq(ir_verify(g, &err), RT_OK, "%s", err.msg);
    ir_graph_free(g);
}

Test(ir_verify, catches_undefined_graph_output) {
    IrGraph *g = chain();
    tg_output(g, ir_value_add(g, "nowhere"));
    const char *want[] = {"graph output", "'nowhere'"};
    expect_fail(g, want, 2);
    ir_graph_free(g);
}

Test(ir_verify, catches_out_of_range_index) {
    IrGraph *g = chain();
    g->nodes[1].in[0] = 99;
    const char *want[] = {"'r2'", "99"};
    expect_fail(g, want, 2);
    ir_graph_free(g);
}

Test(ir_verify, catches_stale_producer) {
    IrGraph *g = chain();
    g->values[ir_value_find(g, "a")].producer = 1;
    const char *want[] = {"'a'", "producer"};
    expect_fail(g, want, 2);
    ir_graph_free(g);
}

Test(ir_verify, checks_subgraphs) {
    IrGraph *g = ir_graph_new();
    int64_t one = 1;
    int cond = tg_input(g, "cond", RT_BOOL, 1, &one, NULL);
    IrGraph *then = ir_graph_new(), *els = ir_graph_new();
    then->parent = els->parent = g;
    /* then: reads an undefined value; else: fine */
    int ghost = ir_value_add(then, "ghost");
    tg_output(then, tg_node(then, RT_OP_RELU, "inner", 1, &ghost, "t"));
    float z = 0;
    tg_output(els, tg_const_f32(els, "e", 0, NULL, &z));
    int y = ir_value_add(g, "y");
    cr_assert(ir_node_add(g, RT_OP_IF, "if0", 1, &cond, 1, &y) >= 0);
    tg_attr_graph(g, "then_branch", then);
    tg_attr_graph(g, "else_branch", els);
    tg_output(g, y);
    const char *want[] = {"if0", "then_branch", "inner", "'ghost'"};
    expect_fail(g, want, 4);
    /* fix the branch: now it verifies */
    then->nodes[0].in[0] = tg_const_f32(then, "k", 0, NULL, &z);
    memset(&err, 0, sizeof err);
    cr_expect_eq(ir_verify(g, &err), RT_OK, "%s", err.msg);
    ir_graph_free(g);
}
