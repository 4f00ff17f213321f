/*
 * test_fuse.c — the folding and fusion passes (passes/fuse_*.c): each fusion fires on a small
 * hand-built graph and the fused graph computes what the original computed (both run with
 * ir_run); each must-not-fire case leaves its pattern alone (a BN whose input has another
 * reader, a MatMul whose output is also a graph output, a Conv -> Relu whose Conv output
 * feeds two nodes, non-constant weights, ...); and on the fixtures the whole pipeline
 * (pass_simplify + pass_fuse) removes BatchNormalization and separate activations while the
 * outputs still match onnxruntime's.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pass_equiv.h"
#include "../../frontend/onnx.h"
#include "../../io/npy.h"
#include "../../passes/passes.h"
#include "../../runtime/kernels/kernel.h"
#include "../ir/ir_test_util.h"

/* Folding BN rounds each new weight to float32 once (2^-24 relative) and fusion changes
 * only where that rounding happens; sums of <= 45 products of values in [-1, 1] then differ
 * by well under 1e-5. A wrong fold (a channel scaled twice, a bias lost) is off by O(0.1). */
#define FUSE_TOL 1e-5
/* Decomposed LayerNorm computes mean and variance in float32 element ops, the
 * LayerNormalization kernel in double: normalized values (~1) differ by ~1e-6. */
#define LN_TOL 1e-5
/* digits_cnn logits (magnitude ~20) after folding three BNs: the folded weights differ from
 * the original by one float rounding; onnxruntime's own summation order differs too. */
#define DIGITS_REL_TOL 1e-4
/* kws_dscnn, mobilenet_v2 (53 layers deep) and tinylm: float32 rounding of folded weights and
 * of different summation orders compounds over depth; 1e-3 of the largest output is still
 * far below any real mistake (which moves outputs by tens of percent). */
#define DEEP_REL_TOL 1e-3

static RtError err;

static void ok_or_die(int r) { cr_assert_eq(r, RT_OK, "%s", err.msg); }

static IrGraph *ft_graph(int opset) {
    IrGraph *g = ir_graph_new();
    cr_assert_not_null(g);
    g->opset = opset;
    return g;
}

/* Appends an attribute to node k. */
static RtAttr *ft_attr_on(IrGraph *g, int k, const char *name) {
    RtNode *nd = &g->nodes[k];
    RtAttr *a = ir_alloc(g, sizeof(RtAttr) * (size_t)(nd->n_attr + 1));
    cr_assert_not_null(a);
    if (nd->n_attr) memcpy(a, nd->attrs, sizeof(RtAttr) * (size_t)nd->n_attr);
    nd->attrs = a;
    RtAttr *x = &a[nd->n_attr++];
    x->name = ir_strdup(g, name);
    return x;
}

/* Appends an attribute to the last node added. */
static RtAttr *ft_attr(IrGraph *g, const char *name) { return ft_attr_on(g, g->n_nodes - 1, name); }

static void ft_attr_float(IrGraph *g, const char *name, float f) {
    RtAttr *a = ft_attr(g, name);
    a->type = RT_ATTR_FLOAT;
    a->f = f;
}

/* Deterministic values in [-1, 1]. */
static void fill(float *v, int64_t n, uint32_t seed) {
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        v[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

/* A float32 constant of the given shape filled from seed (positive when `positive`). */
static int ft_const(IrGraph *g, const char *name, int rank, const int64_t *dims, uint32_t seed, int positive) {
    int64_t n = rt_shape_numel(rank, dims);
    float *v = malloc(sizeof(float) * (size_t)(n ? n : 1));
    fill(v, n, seed);
    if (positive)
        for (int64_t i = 0; i < n; i++) v[i] = 0.5f + fabsf(v[i]);
    int c = tg_const_f32(g, name, rank, dims, v);
    free(v);
    return c;
}

static int count(const IrGraph *g, int op) { return tg_count_op(g, op); }

/* Runs g before and after `pass` on the same inputs (made from seeds) and compares every
 * output within tol of the largest magnitude. Simplify runs first, as pass_fuse requires. */
static void expect_same_after(IrGraph *g, int (*pass)(IrGraph *, RtError *), double tol) {
    memset(&err, 0, sizeof err);
    ok_or_die(pass_simplify(g, &err));
    int ni = g->n_inputs, no = g->n_outputs;
    RtTensor in[4];
    cr_assert(ni <= 4 && no <= PASS_EQUIV_MAX_OUT);
    for (int i = 0; i < ni; i++) {
        const IrValue *v = &g->values[g->inputs[i]];
        memset(&in[i], 0, sizeof in[i]);
        in[i].dtype = RT_F32;
        in[i].rank = v->rank;
        for (int d = 0; d < v->rank; d++) in[i].dims[d] = v->dims[d].value;
        in[i].data = malloc(sizeof(float) * (size_t)rt_numel(&in[i]));
        fill(in[i].data, rt_numel(&in[i]), 100 + (uint32_t)i);
    }
    expect_pass_keeps_outputs(g, in, pass, tol);
    for (int i = 0; i < ni; i++) free(in[i].data);
}

/* ---- graphs ---- */

/* x[2,3,6,6] -> Conv(W[4,3,3,3], B?, pads 1) -> c; BatchNormalization(c) -> y */
static IrGraph *conv_bn(int with_bias, int *c_out) {
    IrGraph *g = ft_graph(17);
    int64_t xd[4] = {2, 3, 6, 6}, wd[4] = {4, 3, 3, 3}, cd[1] = {4}, pads[4] = {1, 1, 1, 1};
    int x = tg_input(g, "x", RT_F32, 4, xd, NULL);
    int ci[3] = {x, ft_const(g, "W", 4, wd, 1, 0), with_bias ? ft_const(g, "B", 1, cd, 2, 0) : -1};
    int c = tg_node(g, RT_OP_CONV, "conv", with_bias ? 3 : 2, ci, "c");
    tg_attr_ints(g, "pads", 4, pads);
    int bi[5] = {c, ft_const(g, "scale", 1, cd, 3, 0), ft_const(g, "beta", 1, cd, 4, 0),
                 ft_const(g, "mean", 1, cd, 5, 0), ft_const(g, "var", 1, cd, 6, 1)};
    int y = tg_node(g, RT_OP_BATCH_NORMALIZATION, "bn", 5, bi, "y");
    ft_attr_float(g, "epsilon", 1e-3f);
    tg_output(g, y);
    if (c_out) *c_out = c;
    return g;
}

static int bn_after(IrGraph *g, int v, int64_t C, const char *name) {
    int64_t cd[1] = {C};
    int bi[5] = {v, ft_const(g, "scale", 1, cd, 13, 0), ft_const(g, "beta", 1, cd, 14, 0),
                 ft_const(g, "mean", 1, cd, 15, 0), ft_const(g, "var", 1, cd, 16, 1)};
    return tg_node(g, RT_OP_BATCH_NORMALIZATION, "bn", 5, bi, name);
}

/* ---- fold_batchnorm ---- */

Test(fold_batchnorm, conv_with_and_without_bias) {
    for (int b = 0; b < 2; b++) {
        IrGraph *g = conv_bn(b, NULL);
        expect_same_after(g, pass_fold_batchnorm, FUSE_TOL);
        cr_expect_eq(count(g, RT_OP_BATCH_NORMALIZATION), 0);
        cr_assert_eq(g->n_nodes, 1);
        cr_expect_eq(g->nodes[0].n_in, 3, "the folded Conv has a bias");
        cr_expect_str_eq(g->values[g->nodes[0].out[0]].name, "y");
        ir_graph_free(g);
    }
}

Test(fold_batchnorm, gemm_transb_alpha_beta) {
    IrGraph *g = ft_graph(17);
    int64_t ad[2] = {3, 5}, bd[2] = {4, 5}, cd[2] = {1, 4};
    int a = tg_input(g, "a", RT_F32, 2, ad, NULL);
    int in[3] = {a, ft_const(g, "B", 2, bd, 1, 0), ft_const(g, "C", 2, cd, 2, 0)};
    int y = tg_node(g, RT_OP_GEMM, "gemm", 3, in, "y");
    int64_t one = 1;
    tg_attr_ints(g, "transB", -1, &one);
    ft_attr_float(g, "alpha", 2.0f);
    ft_attr_float(g, "beta", 0.5f);
    tg_output(g, bn_after(g, y, 4, "z"));
    expect_same_after(g, pass_fold_batchnorm, FUSE_TOL);
    cr_expect_eq(count(g, RT_OP_BATCH_NORMALIZATION), 0);
    cr_expect_eq(count(g, RT_OP_GEMM), 1);
    ir_graph_free(g);
}

Test(fold_batchnorm, matmul_becomes_linear) {
    IrGraph *g = ft_graph(17);
    int64_t xd[2] = {3, 5}, wd[2] = {5, 4};
    int x = tg_input(g, "x", RT_F32, 2, xd, NULL);
    int in[2] = {x, ft_const(g, "W", 2, wd, 1, 0)};
    int y = tg_node(g, RT_OP_MATMUL, "mm", 2, in, "y");
    tg_output(g, bn_after(g, y, 4, "z"));
    expect_same_after(g, pass_fold_batchnorm, FUSE_TOL);
    cr_expect_eq(count(g, RT_OP_BATCH_NORMALIZATION), 0);
    cr_expect_eq(count(g, RT_OP_LINEAR), 1);
    ir_graph_free(g);
}

Test(fold_batchnorm, not_when_input_has_another_reader) {
    int c;
    IrGraph *g = conv_bn(1, &c);
    tg_output(g, tg_node(g, RT_OP_RELU, "relu", 1, &c, "r")); /* c read by BN and Relu */
    expect_same_after(g, pass_fold_batchnorm, 0.0);
    cr_expect_eq(count(g, RT_OP_BATCH_NORMALIZATION), 1);
    ir_graph_free(g);
}

Test(fold_batchnorm, not_when_input_is_a_graph_output) {
    int c;
    IrGraph *g = conv_bn(1, &c);
    tg_output(g, c);
    expect_same_after(g, pass_fold_batchnorm, 0.0);
    cr_expect_eq(count(g, RT_OP_BATCH_NORMALIZATION), 1);
    ir_graph_free(g);
}

Test(fold_batchnorm, not_with_computed_weights) {
    IrGraph *g = ft_graph(17);
    int64_t xd[2] = {3, 5}, wd[2] = {5, 4};
    int x = tg_input(g, "x", RT_F32, 2, xd, NULL), w = tg_input(g, "w", RT_F32, 2, wd, NULL);
    int in[2] = {x, w};
    int y = tg_node(g, RT_OP_MATMUL, "mm", 2, in, "y");
    tg_output(g, bn_after(g, y, 4, "z"));
    expect_same_after(g, pass_fold_batchnorm, 0.0);
    cr_expect_eq(count(g, RT_OP_BATCH_NORMALIZATION), 1);
    cr_expect_eq(count(g, RT_OP_MATMUL), 1);
    ir_graph_free(g);
}

Test(fold_batchnorm, not_after_a_fused_activation) {
    IrGraph *g = conv_bn(1, NULL);
    memset(&err, 0, sizeof err);
    /* make the Conv a FusedConv with Relu: BN after an activation is not linear in W */
    RtNode *conv = &g->nodes[0];
    conv->op = RT_OP_FUSED_CONV;
    conv->op_type = rt_op_name(RT_OP_FUSED_CONV);
    conv->domain = rt_op_domain(RT_OP_FUSED_CONV);
    RtAttr *a = ft_attr_on(g, 0, "activation");
    a->type = RT_ATTR_STRING;
    a->s = ir_strdup(g, "Relu");
    expect_same_after(g, pass_fold_batchnorm, 0.0);
    cr_expect_eq(count(g, RT_OP_BATCH_NORMALIZATION), 1);
    ir_graph_free(g);
}

Test(fold_batchnorm, not_in_training_mode) {
    IrGraph *g = conv_bn(1, NULL);
    int64_t one = 1;
    tg_attr_ints(g, "training_mode", -1, &one);
    memset(&err, 0, sizeof err);
    ok_or_die(ir_infer_shapes(g, &err));
    ok_or_die(pass_fold_batchnorm(g, &err));
    cr_expect_eq(count(g, RT_OP_BATCH_NORMALIZATION), 1);
    ir_graph_free(g);
}

/* ---- fuse_linear ---- */

/* x[2,3,5] -> MatMul(W[5,4]) -> y; Add(y, b) or Add(b, y) with b of shape bdims -> z */
static IrGraph *matmul_add(int bias_first, int brank, const int64_t *bdims, int *y_out) {
    IrGraph *g = ft_graph(17);
    int64_t xd[3] = {2, 3, 5}, wd[2] = {5, 4};
    int x = tg_input(g, "x", RT_F32, 3, xd, NULL);
    int in[2] = {x, ft_const(g, "W", 2, wd, 1, 0)};
    int y = tg_node(g, RT_OP_MATMUL, "mm", 2, in, "y");
    int b = ft_const(g, "b", brank, bdims, 2, 0);
    int ai[2] = {bias_first ? b : y, bias_first ? y : b};
    tg_output(g, tg_node(g, RT_OP_ADD, "add", 2, ai, "z"));
    if (y_out) *y_out = y;
    return g;
}

Test(fuse_linear, matmul_add_either_order_and_bias_shape) {
    int64_t n4[1] = {4}, one_n[3] = {1, 1, 4}, scalar[1] = {1};
    struct { int first, rank; const int64_t *dims; } cases[] = {{0, 1, n4}, {1, 1, n4}, {0, 3, one_n}, {1, 1, scalar}};
    for (int i = 0; i < 4; i++) {
        IrGraph *g = matmul_add(cases[i].first, cases[i].rank, cases[i].dims, NULL);
        expect_same_after(g, pass_fuse_linear, FUSE_TOL);
        cr_assert_eq(g->n_nodes, 1, "case %d: %d nodes", i, g->n_nodes);
        cr_expect_eq(g->nodes[0].op, RT_OP_LINEAR);
        cr_expect_eq(g->nodes[0].n_in, 3);
        const RtTensor *b = g->values[g->nodes[0].in[2]].konst;
        cr_assert_not_null(b);
        cr_expect(b->rank == 1 && b->dims[0] == 4, "case %d: bias is not [N]", i);
        cr_expect_str_eq(g->values[g->outputs[0]].name, "z");
        ir_graph_free(g);
    }
}

Test(fuse_linear, bias_that_would_broadcast_the_output_stays_an_add) {
    int64_t big[4] = {2, 1, 1, 4}; /* rank 4 > rank 3: Add's output grows */
    IrGraph *g = matmul_add(0, 4, big, NULL);
    expect_same_after(g, pass_fuse_linear, FUSE_TOL);
    cr_expect_eq(count(g, RT_OP_ADD), 1);
    cr_expect_eq(count(g, RT_OP_LINEAR), 1);
    ir_graph_free(g);
}

Test(fuse_linear, not_when_matmul_output_is_a_graph_output) {
    int y;
    int64_t n4[1] = {4};
    IrGraph *g = matmul_add(0, 1, n4, &y);
    tg_output(g, y);
    expect_same_after(g, pass_fuse_linear, FUSE_TOL);
    cr_expect_eq(count(g, RT_OP_ADD), 1, "the bias Add was absorbed");
    cr_expect_eq(count(g, RT_OP_LINEAR), 1);
    for (int k = 0; k < g->n_nodes; k++)
        if (g->nodes[k].op == RT_OP_LINEAR) cr_expect_eq(g->nodes[k].n_in, 2);
    ir_graph_free(g);
}

Test(fuse_linear, not_with_a_computed_weight) {
    IrGraph *g = ft_graph(17);
    int64_t xd[2] = {3, 5}, wd[2] = {5, 4}, bd[1] = {4};
    int x = tg_input(g, "x", RT_F32, 2, xd, NULL), w = tg_input(g, "w", RT_F32, 2, wd, NULL);
    int in[2] = {x, w};
    int y = tg_node(g, RT_OP_MATMUL, "mm", 2, in, "y");
    int ai[2] = {y, ft_const(g, "b", 1, bd, 2, 0)};
    tg_output(g, tg_node(g, RT_OP_ADD, "add", 2, ai, "z"));
    expect_same_after(g, pass_fuse_linear, 0.0);
    cr_expect_eq(count(g, RT_OP_MATMUL), 1);
    cr_expect_eq(count(g, RT_OP_LINEAR), 0);
    ir_graph_free(g);
}

static IrGraph *gemm_graph(int trans_b, float alpha, float beta, int crank, const int64_t *cd) {
    IrGraph *g = ft_graph(17);
    int64_t ad[2] = {3, 5}, bt[2] = {4, 5}, bn[2] = {5, 4};
    int a = tg_input(g, "a", RT_F32, 2, ad, NULL);
    int in[3] = {a, ft_const(g, "B", 2, trans_b ? bt : bn, 1, 0), crank >= 0 ? ft_const(g, "C", crank, cd, 2, 0) : -1};
    tg_output(g, tg_node(g, RT_OP_GEMM, "gemm", crank >= 0 ? 3 : 2, in, "y"));
    int64_t tb = trans_b;
    tg_attr_ints(g, "transB", -1, &tb);
    ft_attr_float(g, "alpha", alpha);
    ft_attr_float(g, "beta", beta);
    return g;
}

Test(fuse_linear, gemm_forms) {
    int64_t n[1] = {4}, one_n[2] = {1, 4}, s[1] = {1};
    struct { int tb; float alpha, beta; int crank; const int64_t *cd; } cases[] = {
        {1, 1.0f, 1.0f, 1, n}, {0, 1.0f, 1.0f, 1, n}, {1, 2.5f, 0.5f, 2, one_n}, {0, -1.0f, 3.0f, 0, s},
        {1, 1.0f, 1.0f, -1, NULL}};
    for (int i = 0; i < 5; i++) {
        IrGraph *g = gemm_graph(cases[i].tb, cases[i].alpha, cases[i].beta, cases[i].crank, cases[i].cd);
        expect_same_after(g, pass_fuse_linear, FUSE_TOL);
        cr_assert_eq(g->n_nodes, 1);
        cr_expect_eq(g->nodes[0].op, RT_OP_LINEAR, "case %d", i);
        cr_expect_eq(g->nodes[0].n_attr, 0, "case %d keeps Gemm attributes", i);
        ir_graph_free(g);
    }
}

Test(fuse_linear, gemm_with_full_c_stays) {
    int64_t mn[2] = {3, 4};
    IrGraph *g = gemm_graph(1, 1.0f, 1.0f, 2, mn);
    expect_same_after(g, pass_fuse_linear, 0.0);
    cr_expect_eq(count(g, RT_OP_GEMM), 1);
    ir_graph_free(g);
}

/* ---- fuse_activation ---- */

/* x[1,3,5,5] -> Conv(W[4,3,3,3], B) -> c -> activation node (op, attrs set by the caller) */
static IrGraph *conv_act(int opset, int op, int *c_out) {
    IrGraph *g = ft_graph(opset);
    int64_t xd[4] = {1, 3, 5, 5}, wd[4] = {4, 3, 3, 3}, bd[1] = {4};
    int x = tg_input(g, "x", RT_F32, 4, xd, NULL);
    int ci[3] = {x, ft_const(g, "W", 4, wd, 1, 0), ft_const(g, "B", 1, bd, 2, 0)};
    int c = tg_node(g, RT_OP_CONV, "conv", 3, ci, "c");
    if (c_out) *c_out = c;
    if (op == RT_OP_CLIP && opset >= 11) {
        float lo = -0.2f, hi = 0.3f;
        int in[3] = {c, tg_const_f32(g, "lo", 0, NULL, &lo), tg_const_f32(g, "hi", 0, NULL, &hi)};
        tg_output(g, tg_node(g, op, "act", 3, in, "y"));
    } else {
        tg_output(g, tg_node(g, op, "act", 1, &c, "y"));
    }
    return g;
}

static void expect_fused_conv(IrGraph *g, const char *act) {
    cr_assert_eq(g->n_nodes, 1, "%s: %d nodes left", act, g->n_nodes);
    const RtNode *n = &g->nodes[0];
    cr_expect_eq(n->op, RT_OP_FUSED_CONV);
    const RtAttr *a = NULL;
    for (int i = 0; i < n->n_attr; i++)
        if (strcmp(n->attrs[i].name, "activation") == 0) a = &n->attrs[i];
    cr_assert_not_null(a);
    cr_expect_str_eq(a->s, act);
    cr_expect_str_eq(g->values[n->out[0]].name, "y");
}

Test(fuse_activation, conv_then_each_activation) {
    struct { int op; const char *name; float alpha, beta; int n_attr; } cases[] = {
        {RT_OP_RELU, "Relu", 0, 0, 0}, {RT_OP_SIGMOID, "Sigmoid", 0, 0, 0},
        {RT_OP_LEAKY_RELU, "LeakyRelu", 0.2f, 0, 1}, {RT_OP_HARD_SIGMOID, "HardSigmoid", 0.3f, 0.4f, 2},
        {RT_OP_LEAKY_RELU, "LeakyRelu", 0, 0, 0}, {RT_OP_CLIP, "Clip", 0, 0, 0}};
    for (int i = 0; i < 6; i++) {
        IrGraph *g = conv_act(17, cases[i].op, NULL);
        if (cases[i].n_attr >= 1) ft_attr_float(g, "alpha", cases[i].alpha);
        if (cases[i].n_attr >= 2) ft_attr_float(g, "beta", cases[i].beta);
        expect_same_after(g, pass_fuse_activation, FUSE_TOL);
        expect_fused_conv(g, cases[i].name);
        ir_graph_free(g);
    }
}

Test(fuse_activation, clip_with_attributes_before_opset_11) {
    IrGraph *g = conv_act(10, RT_OP_CLIP, NULL);
    ft_attr_float(g, "min", 0.0f);
    ft_attr_float(g, "max", 0.25f);
    expect_same_after(g, pass_fuse_activation, FUSE_TOL);
    expect_fused_conv(g, "Clip");
    ir_graph_free(g);
}

Test(fuse_activation, linear_then_clip) {
    IrGraph *g = ft_graph(17);
    int64_t xd[2] = {3, 5}, wd[2] = {5, 4};
    int x = tg_input(g, "x", RT_F32, 2, xd, NULL);
    int in[2] = {x, ft_const(g, "W", 2, wd, 1, 0)};
    int y = tg_node(g, RT_OP_MATMUL, "mm", 2, in, "y");
    float lo = 0.0f, hi = 0.5f;
    int ci[3] = {y, tg_const_f32(g, "lo", 0, NULL, &lo), tg_const_f32(g, "hi", 0, NULL, &hi)};
    tg_output(g, tg_node(g, RT_OP_CLIP, "clip", 3, ci, "z"));
    memset(&err, 0, sizeof err);
    ok_or_die(pass_simplify(g, &err));
    ok_or_die(pass_fuse_linear(g, &err));
    expect_same_after(g, pass_fuse_activation, FUSE_TOL);
    cr_assert_eq(g->n_nodes, 1);
    cr_expect_eq(g->nodes[0].op, RT_OP_LINEAR);
    ir_graph_free(g);
}

/* x[3, 5] -> MatMul(W[5, 4]) + B -> y -> Gelu(approximate) -> z; extra: y is also read by a Neg. */
static IrGraph *linear_gelu(const char *approximate, int extra) {
    IrGraph *g = ft_graph(20);
    int64_t xd[2] = {3, 5}, wd[2] = {5, 4}, bd[1] = {4};
    int x = tg_input(g, "x", RT_F32, 2, xd, NULL);
    int in[2] = {x, ft_const(g, "W", 2, wd, 1, 0)};
    int m = tg_node(g, RT_OP_MATMUL, "mm", 2, in, "m");
    int ai[2] = {m, ft_const(g, "B", 1, bd, 2, 0)};
    int y = tg_node(g, RT_OP_ADD, "add", 2, ai, "y");
    tg_output(g, tg_node(g, RT_OP_GELU, "gelu", 1, &y, "z"));
    if (approximate) {
        RtAttr *a = ft_attr(g, "approximate");
        a->type = RT_ATTR_STRING;
        a->s = ir_strdup(g, approximate);
    }
    if (extra) tg_output(g, tg_node(g, RT_OP_NEG, "neg", 1, &y, "n"));
    memset(&err, 0, sizeof err);
    ok_or_die(pass_simplify(g, &err));
    ok_or_die(pass_fuse_linear(g, &err));
    return g;
}

/* Gelu after a Linear: activation "Gelu" for approximate "none" (or absent), "GeluTanh" for
 * "tanh"; the graph computes what it did (the reference Linear applies the reference Gelu's
 * formula). */
Test(fuse_activation, linear_then_gelu_both_forms) {
    static const struct { const char *approximate, *act; } cases[] = {
        {NULL, "Gelu"}, {"none", "Gelu"}, {"tanh", "GeluTanh"}};
    for (int i = 0; i < 3; i++) {
        IrGraph *g = linear_gelu(cases[i].approximate, 0);
        expect_same_after(g, pass_fuse_activation, FUSE_TOL);
        cr_assert_eq(g->n_nodes, 1, "%s: %d nodes", cases[i].act, g->n_nodes);
        const RtNode *n = &g->nodes[0];
        cr_expect_eq(n->op, RT_OP_LINEAR);
        cr_expect_str_eq(rt_attr_str(n, "activation", ""), cases[i].act);
        cr_expect_null(rt_attr(n, "alpha"));
        cr_expect_str_eq(g->values[n->out[0]].name, "z");
        ir_graph_free(g);
    }
}

Test(fuse_activation, not_when_gelu_input_is_read_twice) {
    IrGraph *g = linear_gelu("tanh", 1);
    expect_same_after(g, pass_fuse_activation, 0.0);
    cr_expect_eq(count(g, RT_OP_GELU), 1);
    cr_expect_eq(count(g, RT_OP_LINEAR), 1);
    for (int k = 0; k < g->n_nodes; k++) cr_expect_str_eq(rt_attr_str(&g->nodes[k], "activation", ""), "");
    ir_graph_free(g);
}

/* The conv kernels apply no Gelu: a Gelu after a Conv stays a node. */
Test(fuse_activation, not_gelu_after_a_conv) {
    IrGraph *g = conv_act(20, RT_OP_GELU, NULL);
    expect_same_after(g, pass_fuse_activation, 0.0);
    cr_expect_eq(count(g, RT_OP_GELU), 1);
    cr_expect_eq(count(g, RT_OP_CONV), 1);
    cr_expect_eq(count(g, RT_OP_FUSED_CONV), 0);
    ir_graph_free(g);
}

Test(fuse_activation, not_when_conv_output_feeds_two_nodes) {
    int c;
    IrGraph *g = conv_act(17, RT_OP_RELU, &c);
    tg_output(g, tg_node(g, RT_OP_NEG, "neg", 1, &c, "n"));
    expect_same_after(g, pass_fuse_activation, 0.0);
    cr_expect_eq(count(g, RT_OP_RELU), 1);
    cr_expect_eq(count(g, RT_OP_CONV), 1);
    cr_expect_eq(count(g, RT_OP_FUSED_CONV), 0);
    ir_graph_free(g);
}

Test(fuse_activation, not_with_a_computed_clip_bound) {
    IrGraph *g = ft_graph(17);
    int64_t xd[4] = {1, 3, 5, 5}, wd[4] = {4, 3, 3, 3};
    int x = tg_input(g, "x", RT_F32, 4, xd, NULL), lo = tg_input(g, "lo", RT_F32, 0, NULL, NULL);
    int ci[2] = {x, ft_const(g, "W", 4, wd, 1, 0)};
    int c = tg_node(g, RT_OP_CONV, "conv", 2, ci, "c");
    int in[2] = {c, lo};
    tg_output(g, tg_node(g, RT_OP_CLIP, "clip", 2, in, "y"));
    expect_same_after(g, pass_fuse_activation, 0.0);
    cr_expect_eq(count(g, RT_OP_CLIP), 1);
    ir_graph_free(g);
}

/* ---- fuse_layernorm ---- */

enum { LN_POW = 1, LN_GAMMA = 2, LN_BETA = 4, LN_AXES_INPUT = 8, LN_D_ESCAPES = 16 };

/* x[2,3,8] -> the decomposed LayerNorm chain exporters write (see fuse_layernorm.c). */
static IrGraph *ln_chain(int flags) {
    IrGraph *g = ft_graph(flags & LN_AXES_INPUT ? 18 : 17);
    int64_t xd[3] = {2, 3, 8}, cd[1] = {8}, last = -1;
    int x = tg_input(g, "x", RT_F32, 3, xd, NULL);
    int axes = (flags & LN_AXES_INPUT) ? tg_const_i64(g, "axes", 1, &last) : -1;
    int r1in[2] = {x, axes};
    int mean = tg_node(g, RT_OP_REDUCE_MEAN, "rm1", axes >= 0 ? 2 : 1, r1in, "mean");
    if (axes < 0) tg_attr_ints(g, "axes", 1, &last);
    int si[2] = {x, mean};
    int d = tg_node(g, RT_OP_SUB, "sub", 2, si, "d");
    float two = 2.0f, eps = 1e-5f;
    int pi[2] = {d, (flags & LN_POW) ? tg_const_f32(g, "two", 0, NULL, &two) : d};
    int sq = tg_node(g, (flags & LN_POW) ? RT_OP_POW : RT_OP_MUL, "sq", 2, pi, "sq");
    int r2in[2] = {sq, axes};
    int var = tg_node(g, RT_OP_REDUCE_MEAN, "rm2", axes >= 0 ? 2 : 1, r2in, "var");
    if (axes < 0) tg_attr_ints(g, "axes", 1, &last);
    int ai[2] = {tg_const_f32(g, "eps", 0, NULL, &eps), var};
    int ve = tg_node(g, RT_OP_ADD, "add_eps", 2, ai, "ve");
    int s = tg_node(g, RT_OP_SQRT, "sqrt", 1, &ve, "s");
    int di[2] = {d, s};
    int y = tg_node(g, RT_OP_DIV, "div", 2, di, "n");
    if (flags & LN_GAMMA) {
        int mi[2] = {ft_const(g, "gamma", 1, cd, 7, 0), y};
        y = tg_node(g, RT_OP_MUL, "mul_gamma", 2, mi, "m");
    }
    if (flags & LN_BETA) {
        int bi[2] = {y, ft_const(g, "beta", 1, cd, 8, 0)};
        y = tg_node(g, RT_OP_ADD, "add_beta", 2, bi, "yb");
    }
    tg_output(g, y);
    if (flags & LN_D_ESCAPES) tg_output(g, d);
    return g;
}

Test(fuse_layernorm, every_variant) {
    int variants[] = {LN_POW | LN_GAMMA | LN_BETA, LN_GAMMA | LN_BETA, LN_POW, LN_POW | LN_BETA,
                      LN_POW | LN_GAMMA | LN_BETA | LN_AXES_INPUT};
    for (int i = 0; i < 5; i++) {
        IrGraph *g = ln_chain(variants[i]);
        expect_same_after(g, pass_fuse_layernorm, LN_TOL);
        cr_assert_eq(g->n_nodes, 1, "variant %d: %d nodes left", variants[i], g->n_nodes);
        const RtNode *n = &g->nodes[0];
        cr_expect_eq(n->op, RT_OP_LAYER_NORMALIZATION);
        cr_expect_eq(n->n_in, (variants[i] & LN_BETA) ? 3 : 2);
        int64_t axis = 0;
        float epsv = 0;
        for (int a = 0; a < n->n_attr; a++) {
            if (strcmp(n->attrs[a].name, "axis") == 0) axis = n->attrs[a].i;
            if (strcmp(n->attrs[a].name, "epsilon") == 0) epsv = n->attrs[a].f;
        }
        cr_expect_eq(axis, -1);
        cr_expect_eq(epsv, 1e-5f);
        ir_graph_free(g);
    }
}

Test(fuse_layernorm, not_when_an_intermediate_escapes) {
    IrGraph *g = ln_chain(LN_POW | LN_GAMMA | LN_BETA | LN_D_ESCAPES);
    expect_same_after(g, pass_fuse_layernorm, 0.0);
    cr_expect_eq(count(g, RT_OP_LAYER_NORMALIZATION), 0);
    cr_expect_eq(count(g, RT_OP_REDUCE_MEAN), 2);
    ir_graph_free(g);
}

Test(fuse_layernorm, not_over_another_axis) {
    IrGraph *g = ln_chain(LN_POW | LN_GAMMA | LN_BETA);
    int64_t first = 1; /* mean over axis 1, not the last */
    g->nodes[0].attrs[0].ints = &first;
    expect_same_after(g, pass_fuse_layernorm, 0.0);
    cr_expect_eq(count(g, RT_OP_LAYER_NORMALIZATION), 0);
    ir_graph_free(g);
}

/* ---- the pipeline on the fixtures ---- */

/* Loads, simplifies and fuses a fixture; *orig gets the untouched graph when not NULL. */
static IrGraph *load_fused(const char *path) {
    memset(&err, 0, sizeof err);
    IrGraph *g = onnx_load_file(path, NULL, &err);
    cr_assert_not_null(g, "%s", err.msg);
    ok_or_die(pass_simplify(g, &err));
    ok_or_die(pass_fuse(g, &err));
    ok_or_die(ir_verify(g, &err));
    return g;
}

/* Runs g on the input file and compares output 0 with the reference file within
 * rel_tol of the reference's largest magnitude. */
static void expect_matches(const IrGraph *g, RtTensor *in, const char *ref_path, double rel_tol) {
    RtTensor ref, out;
    ok_or_die(npy_read(ref_path, &ref, &err));
    ok_or_die(ir_run(g, in, &out, &err));
    cr_assert(rt_shape_equal(&ref, &out), "output shape differs from %s", ref_path);
    const float *p = ref.data, *q = out.data;
    double big = 0, worst = 0;
    for (int64_t i = 0; i < rt_numel(&ref); i++) {
        big = fmax(big, fabs(p[i]));
        worst = fmax(worst, fabs((double)p[i] - q[i]));
    }
    cr_expect(worst <= rel_tol * big, "%s: off by %g, largest magnitude %g", ref_path, worst, big);
    free(ref.data);
    free(out.data);
}

static void expect_fixture(const char *model, const char *input, const char *ref, double tol) {
    IrGraph *g = load_fused(model);
    cr_expect_eq(count(g, RT_OP_BATCH_NORMALIZATION), 0, "%s keeps BatchNormalization", model);
    cr_expect_eq(count(g, RT_OP_RELU), 0, "%s keeps Relu nodes", model);
    cr_expect_eq(count(g, RT_OP_CLIP), 0, "%s keeps Clip nodes", model);
    /* (a Conv without activation, like MobileNet's linear bottlenecks, may stay a Conv) */
    cr_expect_eq(count(g, RT_OP_GEMM), 0, "%s keeps Gemm nodes", model);
    RtTensor in;
    ok_or_die(npy_read(input, &in, &err));
    expect_matches(g, &in, ref, tol);
    free(in.data);
    ir_graph_free(g);
}

Test(fuse_fixtures, digits_cnn) {
    expect_fixture(FIXTURES "/digits/digits_cnn.onnx", FIXTURES "/digits/test_img.npy",
                   FIXTURES "/digits/digits_cnn_test_logits.npy", DIGITS_REL_TOL);
}

Test(fuse_fixtures, kws_dscnn) {
    expect_fixture(FIXTURES "/kws/kws_dscnn.onnx", FIXTURES "/kws/kws_in.npy", FIXTURES "/kws/kws_out.npy",
                   DEEP_REL_TOL);
}

Test(fuse_fixtures, mobilenet_v2, .timeout = 120) {
    expect_fixture(FIXTURES "/perf/mobilenet_v2.onnx", FIXTURES "/perf/mobilenet_v2_in.npy",
                   FIXTURES "/perf/mobilenet_v2_out.npy", DEEP_REL_TOL);
}

Test(fuse_fixtures, tinylm_linears, .timeout = 120) {
    IrGraph *g = load_fused(FIXTURES "/tinylm/tinylm.onnx");
    /* 4 blocks x (q, k, v, out, fc1, fc2) + head; the 8 attention MatMuls multiply activations */
    cr_expect_eq(count(g, RT_OP_LINEAR), 25);
    cr_expect_eq(count(g, RT_OP_MATMUL), 8);
    /* each block's Erf chain became a Gelu (fuse_gelu) and then fc1's activation */
    int gelus = 0;
    for (int k = 0; k < g->n_nodes; k++)
        gelus += g->nodes[k].op == RT_OP_LINEAR && strcmp(rt_attr_str(&g->nodes[k], "activation", ""), "Gelu") == 0;
    cr_expect_eq(gelus, 4);
    cr_expect_eq(count(g, RT_OP_GELU), 0);
    cr_expect_eq(count(g, RT_OP_ERF), 0);
    RtTensor toks;
    ok_or_die(npy_read(FIXTURES "/tinylm/tinylm_eval_tokens.npy", &toks, &err));
    cr_assert(toks.dtype == RT_I64 && toks.rank == 2 && toks.dims[1] == 129);
    int64_t *rows = malloc(4 * 128 * sizeof(int64_t));
    for (int r = 0; r < 4; r++) memcpy(rows + r * 128, (int64_t *)toks.data + r * 129, 128 * sizeof(int64_t));
    RtTensor in = {RT_I64, 2, {4, 128}, rows};
    expect_matches(g, &in, FIXTURES "/tinylm/tinylm_eval_logits_first4.npy", DEEP_REL_TOL);
    free(rows);
    free(toks.data);
    ir_graph_free(g);
}
