/*
 * test_fuse_gelu.c — passes/fuse_gelu.c: the exact GELU written as Div/Mul, Erf, Add, Mul, Mul
 * becomes one Gelu node in every operand order and Mul placement exporters use, and the graph
 * computes what it computed before (both run with ir_run); chains that branch, escape, use
 * other constants or constants that would broadcast x to a larger rank stay as they are; on
 * tinylm (after pass_simplify + pass_fuse) the four Erf chains become Gelu, which the pipeline
 * then fuses into the fc1 Linears, and the logits still match onnxruntime's.
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


/* The chain in float32 rounds after each of its five ops and loses bits in 1 + erf(u) for
 * u < 0 (absolute error ~|x| * 6e-8); Gelu rounds once: outputs of x in [-1, 1] differ by
 * ~1e-7. A wrong rewrite (a lost 0.5, erf(x) for erf(x / sqrt 2)) is off by > 1e-2. */
#define GELU_TOL 1e-6
/* tinylm logits through 4 blocks against onnxruntime's (see test_fuse.c's DEEP_REL_TOL). */
#define DEEP_REL_TOL 1e-3

static RtError err;

static void ok_or_die(int r) { cr_assert_eq(r, RT_OK, "%s", err.msg); }

/* How the chain is written. */
enum {
    G_MUL_SCALE = 1,  /* Mul(x, 1/sqrt 2) instead of Div(x, sqrt 2) */
    G_SWAP = 2,       /* every commutative op with its operands the other way round */
    G_HALF_A = 4,     /* x * Mul(a, 0.5) */
    G_HALF_X = 8,     /* Mul(x, 0.5) * a */
    G_ESCAPE = 16,    /* Erf's output is also a graph output */
    G_ADD_TWO = 32,   /* Add(e, 2): not GELU */
    G_BIG_CONST = 64, /* 0.5 as a [1, 1, 1] constant over x [3, 7]: broadcasts to rank 3 */
};

/* x[3, 7] -> the GELU chain (flags above) -> y. */
static IrGraph *gelu_chain(int flags) {
    IrGraph *g = tg_graph(17);
    int64_t xd[2] = {3, 7}, bd[3] = {1, 1, 1};
    int x = tg_input(g, "x", RT_F32, 2, xd, NULL);
    float s2 = 1.41421353816986083984f, is2 = 0.70710676908493041992f, one = 1, two = 2, half = 0.5f;
    int sw = (flags & G_SWAP) != 0;
    int u;
    if (flags & G_MUL_SCALE) {
        int c = tg_const_f32(g, "is2", 0, NULL, &is2), in[2] = {sw ? c : x, sw ? x : c};
        u = tg_node(g, RT_OP_MUL, "scale", 2, in, "u");
    } else {
        int in[2] = {x, tg_const_f32(g, "s2", 0, NULL, &s2)};
        u = tg_node(g, RT_OP_DIV, "scale", 2, in, "u");
    }
    int e = tg_node(g, RT_OP_ERF, "erf", 1, &u, "e");
    int c1 = tg_const_f32(g, "one", 0, NULL, (flags & G_ADD_TWO) ? &two : &one);
    int ai[2] = {sw ? c1 : e, sw ? e : c1};
    int a = tg_node(g, RT_OP_ADD, "add", 2, ai, "a");
    int ch = (flags & G_BIG_CONST) ? tg_const_f32(g, "half", 3, bd, &half) : tg_const_f32(g, "half", 0, NULL, &half);
    int y;
    if (flags & G_HALF_A) {
        int hi[2] = {sw ? ch : a, sw ? a : ch};
        int h = tg_node(g, RT_OP_MUL, "half_a", 2, hi, "h");
        int mi[2] = {sw ? h : x, sw ? x : h};
        y = tg_node(g, RT_OP_MUL, "mul", 2, mi, "y");
    } else if (flags & G_HALF_X) {
        int hi[2] = {sw ? ch : x, sw ? x : ch};
        int h = tg_node(g, RT_OP_MUL, "half_x", 2, hi, "h");
        int mi[2] = {sw ? a : h, sw ? h : a};
        y = tg_node(g, RT_OP_MUL, "mul", 2, mi, "y");
    } else {
        int mi[2] = {sw ? a : x, sw ? x : a};
        int m = tg_node(g, RT_OP_MUL, "mul", 2, mi, "m");
        int hi[2] = {sw ? ch : m, sw ? m : ch};
        y = tg_node(g, RT_OP_MUL, "half", 2, hi, "y");
    }
    tg_output(g, y);
    if (flags & G_ESCAPE) tg_output(g, e);
    return g;
}

/* Runs g before and after pass_fuse_gelu on the same input (x in [-4, 4], so both branches
 * of the erf and the negative tail are used) and compares every output within tol of the
 * largest magnitude. pass_simplify runs first, as the pass requires. */
static void expect_same_after(IrGraph *g, double tol) {
    memset(&err, 0, sizeof err);
    ok_or_die(pass_simplify(g, &err));
    float xs[21];
    for (int i = 0; i < 21; i++) xs[i] = -4.0f + 0.4f * (float)i;
    RtTensor in = {RT_F32, 2, {3, 7}, xs};
    expect_pass_keeps_outputs(g, &in, pass_fuse_gelu, tol);
}

Test(fuse_gelu, every_variant) {
    const int variants[] = {0, G_SWAP, G_MUL_SCALE, G_MUL_SCALE | G_SWAP, G_HALF_A, G_HALF_A | G_SWAP,
                            G_HALF_X, G_HALF_X | G_SWAP | G_MUL_SCALE};
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        IrGraph *g = gelu_chain(variants[i]);
        expect_same_after(g, GELU_TOL);
        cr_assert_eq(g->n_nodes, 1, "variant %d: %d nodes left", variants[i], g->n_nodes);
        const RtNode *n = &g->nodes[0];
        cr_expect_eq(n->op, RT_OP_GELU, "variant %d", variants[i]);
        cr_expect_eq(n->n_in, 1);
        cr_expect_eq(n->in[0], g->inputs[0], "Gelu reads x");
        cr_expect_eq(n->n_attr, 0, "approximate left at its default \"none\"");
        cr_expect_eq(n->opset, 20);
        cr_expect_str_eq(n->domain, "");
        ir_graph_free(g);
    }
}

Test(fuse_gelu, not_when_it_is_not_gelu) {
    const int variants[] = {G_ESCAPE, G_ADD_TWO, G_BIG_CONST, G_HALF_A | G_BIG_CONST};
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        IrGraph *g = gelu_chain(variants[i]);
        expect_same_after(g, 0.0);
        cr_expect_eq(tg_count_op(g, RT_OP_GELU), 0, "variant %d fused", variants[i]);
        cr_expect_eq(tg_count_op(g, RT_OP_ERF), 1, "variant %d", variants[i]);
        ir_graph_free(g);
    }
}

/* A second reader of an intermediate (the Add's output) keeps the chain. */
Test(fuse_gelu, not_when_an_intermediate_branches) {
    IrGraph *g = gelu_chain(0);
    int a = ir_value_find(g, "a"), y = g->outputs[0];
    int in[2] = {a, y};
    tg_output(g, tg_node(g, RT_OP_ADD, "other", 2, in, "z"));
    expect_same_after(g, 0.0);
    cr_expect_eq(tg_count_op(g, RT_OP_GELU), 0);
    ir_graph_free(g);
}

Test(fuse_gelu, not_on_float64) {
    IrGraph *g = tg_graph(17);
    int64_t xd[1] = {4};
    int x = tg_input(g, "x", RT_F64, 1, xd, NULL);
    double s2 = sqrt(2.0), one = 1, half = 0.5;
    RtTensor t = {RT_F64, 0, {0}, &s2};
    int in[2] = {x, ir_const_add(g, "s2", &t)};
    int e = tg_node(g, RT_OP_ERF, "erf", 1, (int[]){tg_node(g, RT_OP_DIV, "d", 2, in, "u")}, "e");
    t.data = &one;
    int a = tg_node(g, RT_OP_ADD, "add", 2, (int[]){e, ir_const_add(g, "one", &t)}, "a");
    int m = tg_node(g, RT_OP_MUL, "mul", 2, (int[]){x, a}, "m");
    t.data = &half;
    tg_output(g, tg_node(g, RT_OP_MUL, "half", 2, (int[]){m, ir_const_add(g, "half", &t)}, "y"));
    memset(&err, 0, sizeof err);
    ok_or_die(pass_fuse_gelu(g, &err));
    cr_expect_eq(tg_count_op(g, RT_OP_GELU), 0);
    ir_graph_free(g);
}

Test(fuse_gelu, tinylm, .timeout = 120) {
    memset(&err, 0, sizeof err);
    IrGraph *g = onnx_load_file(FIXTURES "/tinylm/tinylm.onnx", NULL, &err);
    cr_assert_not_null(g, "%s", err.msg);
    ok_or_die(pass_simplify(g, &err));
    cr_expect_eq(tg_count_op(g, RT_OP_ERF), 4, "the fixture has 4 GELU blocks");
    ok_or_die(pass_fuse(g, &err)); /* fuse_gelu, then fuse_activation */
    ok_or_die(ir_verify(g, &err));
    ok_or_die(ir_infer_shapes(g, &err));
    cr_expect_eq(tg_count_op(g, RT_OP_ERF), 0);
    /* the pipeline then fuses each Gelu into the fc1 Linear before it (fuse_activation) */
    int gelus = 0;
    for (int k = 0; k < g->n_nodes; k++)
        gelus += g->nodes[k].op == RT_OP_LINEAR && strcmp(rt_attr_str(&g->nodes[k], "activation", ""), "Gelu") == 0;
    cr_expect_eq(gelus, 4);
    cr_expect_eq(tg_count_op(g, RT_OP_GELU), 0);
    RtTensor toks, ref, out;
    ok_or_die(npy_read(FIXTURES "/tinylm/tinylm_eval_tokens.npy", &toks, &err));
    cr_assert(toks.dtype == RT_I64 && toks.rank == 2 && toks.dims[1] == 129);
    int64_t *rows = malloc(4 * 128 * sizeof(int64_t));
    for (int r = 0; r < 4; r++) memcpy(rows + r * 128, (int64_t *)toks.data + r * 129, 128 * sizeof(int64_t));
    RtTensor in = {RT_I64, 2, {4, 128}, rows};
    ok_or_die(npy_read(FIXTURES "/tinylm/tinylm_eval_logits_first4.npy", &ref, &err));
    ok_or_die(ir_run(g, &in, &out, &err));
    cr_assert(rt_shape_equal(&ref, &out));
    const float *p = ref.data, *q = out.data;
    double big = 0, worst = 0;
    for (int64_t i = 0; i < rt_numel(&ref); i++) {
        big = fmax(big, fabs(p[i]));
        worst = fmax(worst, fabs((double)p[i] - q[i]));
    }
    cr_expect(worst <= DEEP_REL_TOL * big, "logits off by %g, largest %g", worst, big);
    free(rows);
    free(toks.data);
    free(ref.data);
    free(out.data);
    ir_graph_free(g);
}
