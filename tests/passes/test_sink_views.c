/*
 * test_sink_views.c — passes/sink_views.c: view steps (Reshape, Flatten, Squeeze, Unsqueeze,
 * Transpose) move to just before their first reader and nothing else moves; the graph
 * verifies (each value's producer index follows its node) and computes exactly what it did
 * (order only: bit for bit). On tinylm, the point of it: every Reshape / Transpose around the
 * four attention blocks is then part of the runtime's fused attention chain (before the pass,
 * q's Reshape and Transpose ran as copies: the plan had put k's projection over q's).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "pass_equiv.h"
#include "../../frontend/onnx.h"
#include "../../passes/passes.h"
#include "../../runtime/kernels/x86/attention_x86.h"
#include "../../runtime/rt_plan_fast.h"
#include "../ir/ir_test_util.h"

/* Reordering changes no arithmetic: outputs are bit-identical. */
#define SINK_TOL 0.0

static RtError err;

/* Node names of g in order, joined by spaces. */
static void node_order(const IrGraph *g, char *buf, size_t cap) {
    buf[0] = '\0';
    for (int k = 0; k < g->n_nodes; k++) {
        if (k) strncat(buf, " ", cap - strlen(buf) - 1);
        strncat(buf, g->nodes[k].name, cap - strlen(buf) - 1);
    }
}

static void expect_order(const IrGraph *g, const char *want) {
    char got[512];
    node_order(g, got, sizeof got);
    cr_expect_str_eq(got, want);
}

static void fill(float *v, int n, float step) {
    for (int i = 0; i < n; i++) v[i] = (float)(i % 7) * step - 0.4f;
}

/* x[2,3,4] -> relu -> Transpose(0,2,1) [2,4,3] -> Reshape [8,3]; y[3,5] -> sigmoid;
 * MatMul(reshaped, sigmoid) [8,5]: the two view steps sink past the sigmoid, together. */
Test(sink_views, chain_moves_next_to_its_reader) {
    IrGraph *g = tg_graph(17);
    int64_t xd[3] = {2, 3, 4}, yd[2] = {3, 5}, perm[3] = {0, 2, 1}, shp[2] = {8, 3};
    int x = tg_input(g, "x", RT_F32, 3, xd, NULL), y = tg_input(g, "y", RT_F32, 2, yd, NULL);
    int a = tg_node(g, RT_OP_RELU, "relu_x", 1, &x, "a");
    int t = tg_node(g, RT_OP_TRANSPOSE, "tr", 1, &a, "t");
    tg_attr_ints(g, "perm", 3, perm);
    int ri[2] = {t, tg_const_i64(g, "shp", 2, shp)};
    int s = tg_node(g, RT_OP_RESHAPE, "rs", 2, ri, "s");
    int b = tg_node(g, RT_OP_SIGMOID, "sig_y", 1, &y, "b");
    int mi[2] = {s, b};
    tg_output(g, tg_node(g, RT_OP_MATMUL, "mm", 2, mi, "m"));
    float xv[24], yv[15];
    fill(xv, 24, 0.21f);
    fill(yv, 15, 0.33f);
    RtTensor in[2] = {{RT_F32, 3, {2, 3, 4}, xv}, {RT_F32, 2, {3, 5}, yv}};
    expect_pass_keeps_outputs(g, in, pass_sink_views, SINK_TOL);
    expect_order(g, "relu_x sig_y tr rs mm");
    ir_graph_free(g);
}

/* Near misses: a step read twice lands before its first reader only; a step nobody reads (a
 * graph output) stays; a Relu (no view step) stays; a step already before its reader stays. */
Test(sink_views, only_view_steps_and_only_to_the_first_reader) {
    IrGraph *g = tg_graph(17);
    int64_t xd[2] = {4, 6}, axes[1] = {0};
    int x = tg_input(g, "x", RT_F32, 2, xd, NULL);
    int t = tg_node(g, RT_OP_TRANSPOSE, "tr_twice", 1, &x, "t");        /* read by r1 and r2 */
    int ui[2] = {x, tg_const_i64(g, "axes", 1, axes)};
    int u = tg_node(g, RT_OP_UNSQUEEZE, "unsq_out", 2, ui, "u");         /* only a graph output */
    int z = tg_node(g, RT_OP_RELU, "relu_early", 1, &x, "z");            /* no view step */
    int e = tg_node(g, RT_OP_EXP, "exp_x", 1, &x, "e");
    int r1 = tg_node(g, RT_OP_SIGMOID, "r1", 1, &t, "r1");
    int ai[2] = {z, e};
    int w = tg_node(g, RT_OP_ADD, "add_ze", 2, ai, "w");
    int fi[2] = {w, tg_const_i64(g, "axes0", 1, axes)};
    int f = tg_node(g, RT_OP_UNSQUEEZE, "unsq_next", 2, fi, "f");        /* already next to its reader */
    int r2 = tg_node(g, RT_OP_TANH, "r2", 1, &t, "r2");
    int h = tg_node(g, RT_OP_NEG, "neg_f", 1, &f, "h");
    tg_output(g, u);
    tg_output(g, r1);
    tg_output(g, r2);
    tg_output(g, h);
    float xv[24];
    fill(xv, 24, 0.17f);
    RtTensor in = {RT_F32, 2, {4, 6}, xv};
    expect_pass_keeps_outputs(g, &in, pass_sink_views, SINK_TOL);
    expect_order(g, "unsq_out relu_early exp_x tr_twice r1 add_ze r2 unsq_next neg_f");
    ir_graph_free(g);
}

/* Inside an If branch too (pass_subgraphs_apply), and the If itself, reading a view step
 * through its captured input, counts as that step's reader. */
Test(sink_views, subgraphs_and_captures) {
    IrGraph *g = tg_graph(17);
    int64_t xd[2] = {3, 4};
    int x = tg_input(g, "x", RT_F32, 2, xd, NULL);
    int64_t one = 1;
    int cond = tg_const_i64(g, "c64", -1, &one);
    int ci[1] = {cond};
    int cb = tg_node(g, RT_OP_CAST, "to_bool", 1, ci, "cb");
    int64_t to = RT_BOOL;
    tg_attr_ints(g, "to", -1, &to);
    int t = tg_node(g, RT_OP_TRANSPOSE, "tr_cap", 1, &x, "t");
    tg_node(g, RT_OP_EXP, "exp_x", 1, &x, "e"); /* between tr_cap and the If reading it */
    IrGraph *br[2];
    for (int i = 0; i < 2; i++) { /* branch over captured t: tr_in(t), act(t), tr_b(act), mul */
        IrGraph *s = tg_graph(17);
        s->parent = g;
        int64_t td[2] = {4, 3};
        int tc = tg_input(s, "t", RT_F32, 2, td, NULL);
        s->n_declared = 0;
        int a = tg_node(s, RT_OP_TRANSPOSE, "tr_in", 1, &tc, "a");
        int b = tg_node(s, i ? RT_OP_SIGMOID : RT_OP_TANH, "act", 1, &tc, "b");
        int mi[2] = {a, tg_node(s, RT_OP_TRANSPOSE, "tr_b", 1, &b, "bt")};
        tg_output(s, tg_node(s, RT_OP_MUL, "mul", 2, mi, "m"));
        br[i] = s;
    }
    int ii[2] = {cb, t};
    tg_output(g, tg_node(g, RT_OP_IF, "if", 2, ii, "out"));
    tg_attr_graph(g, "then_branch", br[0]);
    tg_attr_graph(g, "else_branch", br[1]);
    cr_assert_eq(pass_sink_views(g, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(ir_verify(g, &err), RT_OK, "%s", err.msg);
    expect_order(g, "to_bool exp_x tr_cap if");
    expect_order(br[0], "act tr_b tr_in mul");
    expect_order(br[1], "act tr_b tr_in mul");
    ir_graph_free(g);
}

/* tinylm for tokens [1, 128], simplified and fused as `wafer quantize --weights f32` does,
 * planned: with AVX-512 every Transpose and float Reshape is in a fused attention chain. */
Test(sink_views, tinylm_attention_takes_every_view_step, .timeout = 120) {
    if (!rt_attention_supported()) return; /* no fused attention on this CPU */
    IrGraph *g = onnx_load_file(FIXTURES "/tinylm/tinylm.onnx", NULL, &err);
    cr_assert_not_null(g, "%s", err.msg);
    int64_t dims[2] = {1, 128};
    cr_assert_eq(ir_bind_input(g, 0, 2, dims, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(pass_simplify(g, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(pass_fuse(g, &err), RT_OK, "%s", err.msg);
    IrLowered *low = ir_lower(g, &err);
    cr_assert_not_null(low, "%s", err.msg);
    const RtGraph *rg = ir_lowered_graph(low);
    RtTensor in = {RT_I64, 2, {1, 128}, NULL};
    RtPlan p;
    RtPlanFast f;
    cr_assert_eq(rt_plan_build(rg, &in, &p, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(rt_plan_fast_build(rg, &p, &f, &err), RT_OK, "%s", err.msg);
    int views = 0, alone = 0, softmax = 0;
    for (int k = 0; k < rg->n_nodes; k++) {
        const RtNode *n = &rg->nodes[k];
        int view = n->op == RT_OP_TRANSPOSE || (n->op == RT_OP_RESHAPE && p.value[n->in[0]].dtype == RT_F32);
        softmax += n->op == RT_OP_SOFTMAX && f.fuse_head[k] >= 0;
        if (!view) continue;
        views++;
        if (f.fuse_head[k] < 0) {
            alone++;
            cr_log_warn("view step '%s' runs alone", n->name);
        }
    }
    cr_expect_eq(softmax, 4, "4 fused attention chains");
    cr_expect_eq(views, 32, "4 blocks x (4 Reshape + 4 Transpose)");
    cr_expect_eq(alone, 0, "%d of tinylm's view steps run alone", alone);
    rt_plan_fast_free(&f);
    rt_plan_free(&p);
    ir_lowered_free(low);
    ir_graph_free(g);
}
