/*
 * test_simplify.c — the simplification passes on hand-built graphs (folding, the folds that
 * must not fire, identity and dead-node removal, If inlining) and on the fixtures (tinylm's
 * shape chains fold away after binding its input; Identity nodes disappear from the CNNs),
 * checking that every result verifies and computes what the original graph computes.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../frontend/onnx.h"
#include "../../io/npy.h"
#include "../../passes/passes.h"
#include "../ir/ir_test_util.h"

/* Folding runs the same kernels on the same data, so results can differ only by summation
 * order (BLAS threading), ~1e-6 relative; on logits of magnitude ~20 that is ~2e-5. A real
 * folding mistake (a wrong shape or constant) changes logits by O(1). */
#define SAME_RESULT_TOL 1e-4f

static RtError err;

static void ok_or_die(int r) { cr_assert_eq(r, RT_OK, "%s", err.msg); }

static int live_count(const IrGraph *g, int op) { return tg_count_op(g, op); }

Test(simplify, shape_chain_folds_after_binding) {
    IrGraph *g = tg_reshape_chain(NULL);
    int64_t bound[2] = {2, 64};
    memset(&err, 0, sizeof err);
    ok_or_die(ir_bind_input(g, 0, 2, bound, &err));
    ok_or_die(pass_simplify(g, &err));
    ok_or_die(ir_verify(g, &err));
    cr_assert_eq(g->n_nodes, 1, "left %d nodes", g->n_nodes);
    const RtNode *n = &g->nodes[0];
    cr_assert_eq(n->op, RT_OP_RESHAPE);
    const RtTensor *t = g->values[n->in[1]].konst;
    cr_assert_not_null(t, "Reshape's shape is not a constant");
    cr_assert_eq(rt_numel(t), 3);
    const int64_t *d = t->data;
    cr_expect(d[0] == 2 && d[1] == 8 && d[2] == 8, "shape [%lld,%lld,%lld]", (long long)d[0],
              (long long)d[1], (long long)d[2]);
    cr_expect_str_eq(g->values[g->outputs[0]].name, "y");
    ir_graph_free(g);
}

Test(simplify, shape_of_dynamic_value_does_not_fold) {
    IrGraph *g = tg_reshape_chain(NULL);
    memset(&err, 0, sizeof err);
    ok_or_die(pass_simplify(g, &err));
    cr_expect_eq(live_count(g, RT_OP_SHAPE), 1, "Shape of [batch,64] folded");
    cr_expect_eq(live_count(g, RT_OP_RESHAPE), 1);
    ir_graph_free(g);
}

Test(simplify, folds_constant_arithmetic) {
    IrGraph *g = tg_graph(17);
    int64_t d[1] = {3};
    float a[3] = {1, 2, 3}, b[3] = {10, 20, 30};
    int in[2] = {tg_const_f32(g, "a", 1, d, a), tg_const_f32(g, "b", 1, d, b)};
    int s = tg_node(g, RT_OP_ADD, "add", 2, in, "s");
    int y = tg_node(g, RT_OP_NEG, "neg", 1, &s, "y");
    tg_output(g, y);
    memset(&err, 0, sizeof err);
    ok_or_die(pass_fold_constants(g, &err));
    ok_or_die(ir_verify(g, &err));
    cr_assert_eq(g->n_nodes, 0);
    int yv = g->outputs[0];
    cr_expect_str_eq(g->values[yv].name, "y");
    const RtTensor *t = g->values[yv].konst;
    cr_assert_not_null(t);
    const float *p = t->data;
    cr_expect(p[0] == -11 && p[1] == -22 && p[2] == -33, "%g %g %g", p[0], p[1], p[2]);
    ir_graph_free(g);
}

Test(simplify, constant_nodes_become_constants) {
    IrGraph *g = tg_graph(17);
    int c = tg_node(g, RT_OP_CONSTANT, "const", 0, NULL, "c");
    int64_t vals[3] = {4, 5, 6};
    tg_attr_ints(g, "value_ints", 3, vals);
    tg_output(g, tg_node(g, RT_OP_NEG, "neg", 1, &c, "y"));
    memset(&err, 0, sizeof err);
    ok_or_die(pass_simplify(g, &err));
    cr_assert_eq(g->n_nodes, 0);
    const RtTensor *t = g->values[g->outputs[0]].konst;
    cr_assert_not_null(t);
    cr_assert_eq(t->dtype, RT_I64);
    cr_expect_eq(((const int64_t *)t->data)[2], -6);
    ir_graph_free(g);
}

Test(simplify, fold_does_not_fire_on_computed_inputs) {
    IrGraph *g = tg_graph(17);
    int64_t d[1] = {3};
    float c[3] = {1, 2, 3};
    int x = tg_input(g, "x", RT_F32, 1, d, NULL);
    int in[2] = {x, tg_const_f32(g, "c", 1, d, c)};
    int s = tg_node(g, RT_OP_ADD, "add", 2, in, "s");
    tg_output(g, tg_node(g, RT_OP_RELU, "relu", 1, &s, "y"));
    memset(&err, 0, sizeof err);
    ok_or_die(pass_simplify(g, &err));
    cr_expect_eq(g->n_nodes, 2);
    cr_expect_eq(live_count(g, RT_OP_ADD), 1);
    cr_expect_eq(live_count(g, RT_OP_RELU), 1);
    ir_graph_free(g);
}

Test(simplify, huge_results_stay_unfolded) {
    /* ConstantOfShape([2048, 1024]) would turn 16 bytes into 8 MB of constant. */
    IrGraph *g = tg_graph(17);
    int64_t shape[2] = {2048, 1024};
    int c = tg_const_i64(g, "shape", 2, shape);
    tg_output(g, tg_node(g, RT_OP_CONSTANT_OF_SHAPE, "cos", 1, &c, "big"));
    memset(&err, 0, sizeof err);
    ok_or_die(pass_fold_constants(g, &err));
    cr_expect_eq(live_count(g, RT_OP_CONSTANT_OF_SHAPE), 1);
    ir_graph_free(g);
}

Test(simplify, identity_into_graph_output_keeps_the_name) {
    IrGraph *g = tg_graph(17);
    int64_t d[1] = {4};
    int x = tg_input(g, "x", RT_F32, 1, d, NULL);
    int a = tg_node(g, RT_OP_RELU, "relu", 1, &x, "a");
    int b = tg_node(g, RT_OP_IDENTITY, "id1", 1, &a, "b"); /* feeds a node */
    int c = tg_node(g, RT_OP_NEG, "neg", 1, &b, "c");
    int y = tg_node(g, RT_OP_IDENTITY, "id2", 1, &c, "logits"); /* feeds the output */
    tg_output(g, y);
    tg_output(g, a); /* relu's output is an output too: its own name stays */
    memset(&err, 0, sizeof err);
    ok_or_die(pass_remove_identity(g, &err));
    ok_or_die(ir_verify(g, &err));
    cr_assert_eq(g->n_nodes, 2);
    cr_expect_eq(live_count(g, RT_OP_IDENTITY), 0);
    cr_expect_str_eq(g->values[g->outputs[0]].name, "logits");
    cr_expect_str_eq(g->values[g->outputs[1]].name, "a");
    const RtNode *neg = &g->nodes[1];
    cr_assert_eq(neg->op, RT_OP_NEG);
    cr_expect_eq(neg->out[0], g->outputs[0], "Neg does not produce the graph output");
    cr_expect_eq(neg->in[0], g->outputs[1], "Neg does not read Relu's output");
    cr_expect_lt(ir_value_find(g, "b"), 0, "value 'b' survived");
    cr_expect_lt(ir_value_find(g, "c"), 0, "value 'c' survived");
    ir_graph_free(g);
}

Test(simplify, identity_of_an_input_into_an_output_stays) {
    IrGraph *g = tg_graph(17);
    int64_t d[1] = {4};
    int x = tg_input(g, "x", RT_F32, 1, d, NULL);
    tg_output(g, tg_node(g, RT_OP_IDENTITY, "id", 1, &x, "y"));
    memset(&err, 0, sizeof err);
    ok_or_die(pass_simplify(g, &err));
    cr_expect_eq(live_count(g, RT_OP_IDENTITY), 1);
    cr_expect_str_eq(g->values[g->outputs[0]].name, "y");
    ir_graph_free(g);
}

Test(simplify, dropout_goes_unless_its_mask_is_read) {
    IrGraph *g = tg_graph(17);
    int64_t d[1] = {4};
    int x = tg_input(g, "x", RT_F32, 1, d, NULL);
    int outs[2] = {ir_value_add(g, "d1"), ir_value_add(g, "m1")};
    cr_assert(ir_node_add(g, RT_OP_DROPOUT, "drop1", 1, &x, 2, outs) >= 0); /* mask unused */
    int outs2[2] = {ir_value_add(g, "d2"), ir_value_add(g, "m2")};
    cr_assert(ir_node_add(g, RT_OP_DROPOUT, "drop2", 1, &outs[0], 2, outs2) >= 0);
    int r = tg_node(g, RT_OP_RELU, "relu", 1, &outs2[0], "y");
    tg_output(g, r);
    tg_output(g, outs2[1]); /* drop2's mask is a graph output */
    memset(&err, 0, sizeof err);
    ok_or_die(pass_remove_identity(g, &err));
    ok_or_die(ir_verify(g, &err));
    cr_expect_eq(live_count(g, RT_OP_DROPOUT), 1);
    cr_expect_str_eq(g->nodes[0].name, "drop2");
    cr_expect_eq(g->nodes[0].in[0], g->inputs[0], "drop2 should read x directly");
    ir_graph_free(g);
}

Test(simplify, dead_nodes_go_in_chains) {
    IrGraph *g = tg_graph(17);
    int64_t d[1] = {4};
    int x = tg_input(g, "x", RT_F32, 1, d, NULL);
    int a = tg_node(g, RT_OP_RELU, "dead1", 1, &x, "a");
    int b = tg_node(g, RT_OP_NEG, "dead2", 1, &a, "b");
    int in[2] = {a, b};
    tg_node(g, RT_OP_ADD, "dead3", 2, in, "c");
    tg_output(g, tg_node(g, RT_OP_ABS, "live", 1, &x, "y"));
    memset(&err, 0, sizeof err);
    ok_or_die(pass_dead_nodes(g, &err));
    ok_or_die(ir_verify(g, &err));
    cr_assert_eq(g->n_nodes, 1);
    cr_expect_str_eq(g->nodes[0].name, "live");
    cr_expect_eq(g->n_values, 2, "dead values remain: %d values", g->n_values);
    ir_graph_free(g);
}

/* If(cond) { then: Relu(x) ; else: Neg(x) } with x captured. */
static IrGraph *if_graph(int cond_value) {
    IrGraph *g = tg_graph(17);
    int64_t d[1] = {3};
    int x = tg_input(g, "x", RT_F32, 1, d, NULL);
    uint8_t cv = (uint8_t)cond_value;
    RtTensor ct = {RT_BOOL, 0, {0}, &cv};
    int cond = ir_const_add(g, "cond", &ct);
    IrGraph *br[2];
    for (int i = 0; i < 2; i++) {
        br[i] = tg_graph(17);
        br[i]->parent = g;
        int bx = tg_input(br[i], "x", RT_F32, 1, d, NULL);
        int t = tg_node(br[i], i == 0 ? RT_OP_RELU : RT_OP_NEG, i == 0 ? "then_op" : "else_op", 1, &bx, "t");
        tg_output(br[i], t);
    }
    int in[2] = {cond, x};
    int y = ir_value_add(g, "y");
    cr_assert(ir_node_add(g, RT_OP_IF, "if0", 2, in, 1, &y) >= 0);
    tg_attr_graph(g, "then_branch", br[0]);
    tg_attr_graph(g, "else_branch", br[1]);
    tg_output(g, y);
    return g;
}

static void run_and_expect(const IrGraph *g, const float *want) {
    float xs[3] = {-1, 0, 2};
    RtTensor in = {RT_F32, 1, {3}, xs}, out;
    memset(&err, 0, sizeof err);
    ok_or_die(ir_run(g, &in, &out, &err));
    const float *p = out.data;
    for (int i = 0; i < 3; i++) cr_expect_eq(p[i], want[i], "element %d: %g, want %g", i, p[i], want[i]);
    free(out.data);
}

Test(simplify, if_with_constant_condition_is_inlined) {
    for (int cond = 0; cond < 2; cond++) {
        IrGraph *g = if_graph(cond);
        float relu[3] = {0, 0, 2}, neg[3] = {1, -0.0f, -2};
        run_and_expect(g, cond ? relu : neg);
        memset(&err, 0, sizeof err);
        ok_or_die(pass_simplify(g, &err));
        cr_expect_eq(live_count(g, RT_OP_IF), 0);
        cr_assert_eq(g->n_nodes, 1);
        cr_expect_eq(g->nodes[0].op, cond ? RT_OP_RELU : RT_OP_NEG);
        cr_expect_str_eq(g->values[g->outputs[0]].name, "y");
        run_and_expect(g, cond ? relu : neg);
        ir_graph_free(g);
    }
}

/* If(true) { c = [1,2,3]; t = Add(x, c); u = Mul(t, t); return (u, x) } ; z = Relu(second) */
Test(simplify, inlined_branch_with_constants_and_passthrough_output) {
    IrGraph *g = tg_graph(17);
    int64_t d[1] = {3};
    int x = tg_input(g, "x", RT_F32, 1, d, NULL);
    uint8_t yes = 1;
    RtTensor ct = {RT_BOOL, 0, {0}, &yes};
    int cond = ir_const_add(g, "cond", &ct);
    IrGraph *br[2];
    static const float cvals[3] = {1, 2, 3};
    for (int i = 0; i < 2; i++) {
        br[i] = tg_graph(17);
        br[i]->parent = g;
        int bx = tg_input(br[i], "x", RT_F32, 1, d, NULL);
        int in[2] = {bx, tg_const_f32(br[i], "c", 1, d, cvals)};
        int t = tg_node(br[i], RT_OP_ADD, "add", 2, in, "t");
        int tt[2] = {t, t};
        tg_output(br[i], tg_node(br[i], i ? RT_OP_SUB : RT_OP_MUL, "mul", 2, tt, "u"));
        tg_output(br[i], bx);
    }
    int in[2] = {cond, x};
    int outs[2] = {ir_value_add(g, "y1"), ir_value_add(g, "y2")};
    cr_assert(ir_node_add(g, RT_OP_IF, "if0", 2, in, 2, outs) >= 0);
    tg_attr_graph(g, "then_branch", br[0]);
    tg_attr_graph(g, "else_branch", br[1]);
    int z = tg_node(g, RT_OP_NEG, "neg", 1, &outs[1], "z");
    tg_output(g, outs[0]);
    tg_output(g, z);

    float xs[3] = {-1, 0, 2};
    RtTensor xin = {RT_F32, 1, {3}, xs}, before[2], after[2];
    memset(&err, 0, sizeof err);
    ok_or_die(ir_run(g, &xin, before, &err));
    ok_or_die(pass_simplify(g, &err));
    ok_or_die(ir_verify(g, &err));
    cr_expect_eq(live_count(g, RT_OP_IF), 0);
    cr_expect_eq(live_count(g, RT_OP_IDENTITY), 0);
    cr_expect_eq(g->n_nodes, 3, "Add, Mul, Neg expected; have %d nodes", g->n_nodes);
    cr_expect_str_eq(g->values[g->outputs[0]].name, "y1");
    cr_expect_str_eq(g->values[g->outputs[1]].name, "z");
    ok_or_die(ir_run(g, &xin, after, &err));
    for (int o = 0; o < 2; o++) {
        const float *p = before[o].data, *q = after[o].data;
        for (int i = 0; i < 3; i++) cr_expect_eq(p[i], q[i], "output %d element %d", o, i);
        free(before[o].data);
        free(after[o].data);
    }
    ir_graph_free(g);
}

/* ---- fixtures ---- */

static int is_shape_gather(const IrGraph *g, const RtNode *n) {
    return n->op == RT_OP_GATHER && g->values[n->in[0]].dtype == RT_I64;
}

Test(simplify, tinylm_shape_chains_fold_after_binding) {
    memset(&err, 0, sizeof err);
    IrGraph *g = onnx_load_file(FIXTURES "/tinylm/tinylm.onnx", NULL, &err);
    cr_assert_not_null(g, "%s", err.msg);
    IrGraph *orig = onnx_load_file(FIXTURES "/tinylm/tinylm.onnx", NULL, &err);
    cr_assert_not_null(orig, "%s", err.msg);
    int64_t bound[2] = {1, 128};
    ok_or_die(ir_bind_input(g, 0, 2, bound, &err));
    int before = g->n_nodes;
    ok_or_die(pass_simplify(g, &err));
    ok_or_die(ir_verify(g, &err));
    cr_expect_lt(g->n_nodes, before);
    cr_expect_eq(live_count(g, RT_OP_SHAPE), 0);
    cr_expect_eq(live_count(g, RT_OP_CONCAT), 0);
    cr_expect_eq(live_count(g, RT_OP_UNSQUEEZE), 0);
    cr_expect_eq(live_count(g, RT_OP_IDENTITY), 0);
    for (int k = 0; k < g->n_nodes; k++)
        cr_expect(!is_shape_gather(g, &g->nodes[k]), "Gather on shapes left: %s", g->nodes[k].name);
    for (int k = 0; k < g->n_nodes; k++)
        cr_expect(g->nodes[k].op != RT_OP_RESHAPE || g->values[g->nodes[k].in[1]].konst,
                  "Reshape %s has a computed shape", g->nodes[k].name);
    cr_expect_str_eq(g->values[g->outputs[0]].name, "logits");
    const IrValue *lv = &g->values[g->outputs[0]];
    cr_expect(lv->rank == 3 && lv->dims[0].value == 1 && lv->dims[1].value == 128 && lv->dims[2].value == 128);

    /* same logits as the untouched graph on one eval window */
    RtTensor toks;
    ok_or_die(npy_read(FIXTURES "/tinylm/tinylm_eval_tokens.npy", &toks, &err));
    cr_assert_eq(toks.dtype, RT_I64);
    int64_t *row = malloc(128 * sizeof(int64_t));
    memcpy(row, toks.data, 128 * sizeof(int64_t)); /* row 0, columns 0..127 */
    RtTensor in = {RT_I64, 2, {1, 128}, row}, a, b;
    ok_or_die(ir_run(orig, &in, &a, &err));
    ok_or_die(ir_run(g, &in, &b, &err));
    cr_assert(rt_shape_equal(&a, &b));
    const float *pa = a.data, *pb = b.data;
    float worst = 0;
    for (int64_t i = 0; i < rt_numel(&a); i++) worst = fmaxf(worst, fabsf(pa[i] - pb[i]));
    cr_expect_leq(worst, SAME_RESULT_TOL, "simplified logits differ by %g", worst);
    free(a.data);
    free(b.data);
    free(row);
    free(toks.data);
    ir_graph_free(orig);
    ir_graph_free(g);
}

Test(simplify, tinylm_without_binding_keeps_batch_symbolic) {
    memset(&err, 0, sizeof err);
    IrGraph *g = onnx_load_file(FIXTURES "/tinylm/tinylm.onnx", NULL, &err);
    cr_assert_not_null(g, "%s", err.msg);
    ok_or_die(pass_simplify(g, &err));
    ok_or_die(ir_verify(g, &err));
    const IrValue *lv = &g->values[g->outputs[0]];
    cr_assert_eq(lv->rank, 3);
    cr_expect(lv->dims[0].value < 0 && lv->dims[0].sym && strcmp(lv->dims[0].sym, "batch") == 0);
    cr_expect_eq(lv->dims[2].value, 128);
    cr_expect_eq(live_count(g, RT_OP_IDENTITY), 0);
    ir_graph_free(g);
}

static void expect_no_identity_or_constant(const char *path) {
    memset(&err, 0, sizeof err);
    IrGraph *g = onnx_load_file(path, NULL, &err);
    cr_assert_not_null(g, "%s", err.msg);
    ok_or_die(pass_simplify(g, &err));
    ok_or_die(ir_verify(g, &err));
    cr_expect_eq(live_count(g, RT_OP_IDENTITY), 0, "%s keeps Identity nodes", path);
    cr_expect_eq(live_count(g, RT_OP_CONSTANT), 0, "%s keeps Constant nodes", path);
    for (int v = 0; v < g->n_values; v++)
        cr_expect(g->values[v].konst || g->values[v].rank >= 0, "%s: value '%s' has no shape", path,
                  g->values[v].name);
    ir_graph_free(g);
}

Test(simplify, digits_cnn_dynamo_loses_identity_and_constants) {
    expect_no_identity_or_constant(FIXTURES "/digits/digits_cnn_dynamo.onnx");
}

Test(simplify, mobilenet_v2_loses_identity_and_constants) {
    memset(&err, 0, sizeof err);
    IrGraph *g = onnx_load_file(FIXTURES "/perf/mobilenet_v2.onnx", NULL, &err);
    cr_assert_not_null(g, "%s", err.msg);
    cr_expect_gt(live_count(g, RT_OP_IDENTITY), 0, "fixture changed: no Identity to remove");
    ir_graph_free(g);
    expect_no_identity_or_constant(FIXTURES "/perf/mobilenet_v2.onnx");
}
