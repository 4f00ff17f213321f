/*
 * test_fuse_hardswish.c — passes/fuse_hardswish.c: relu6(x + 3) chains written as Add, Clip
 * (or Min/Max, Relu + Min), Mul and Div / Mul by 1/6 in every form the header lists become one
 * HardSwish (or HardSigmoid) node reading x, and the graph computes what it computed before
 * (both run with ir_run, x in [-8, 8] so both clamp points and the ramp are used); chains with
 * a constant off (x + 2.9, / 5, Clip to 5, HardSigmoid slope 0.2) or an intermediate read
 * elsewhere stay as they are. PaddleOCR's direction classifier (opset 9, Clip attributes) is
 * checked end to end in tests/e2e/test_mbv3_int8.c.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pass_equiv.h"
#include "../../passes/passes.h"
#include "../../runtime/kernels/kernel.h"
#include "../ir/ir_test_util.h"

/* The chain rounds after x + 3, the product and the division by 6, the op after x / 6 + 0.5
 * and the product: outputs (|y| <= 8) differ by a few float ulps, ~1e-6 at most. A wrong
 * rewrite (HardSigmoid for HardSwish, a lost / 6, x + 2.9) is off by > 1e-2. */
#define HS_TOL 2e-6

static RtError err;

static void ok_or_die(int r) { cr_assert_eq(r, RT_OK, "%s", err.msg); }

enum {
    H_SWAP = 1,      /* commutative ops with operands the other way round */
    H_MUL16 = 2,     /* Mul by 1/6 instead of Div by 6 */
    H_INNER = 4,     /* x * (r / 6) instead of (x * r) / 6 */
    H_MINMAX = 8,    /* relu6 as Min(Max(a, 0), 6) */
    H_RELUMIN = 16,  /* relu6 as Min(Relu(a), 6) */
    H_MAXMIN = 32,   /* relu6 as Max(Min(a, 6), 0) */
    H_SIGMOID = 64,  /* no Mul by x: HardSigmoid */
    H_HSIG = 128,    /* x * HardSigmoid(x; 1/6, 0.5) */
    /* refusals */
    H_ADD29 = 256,   /* x + 2.9 */
    H_DIV5 = 512,    /* / 5 */
    H_CLIP5 = 1024,  /* Clip(., 0, 5) */
    H_SLOPE02 = 2048, /* HardSigmoid alpha 0.2 (PaddlePaddle's hardsigmoid, not HardSwish's) */
    H_ESCAPE = 4096, /* the relu6 value is a graph output too */
};

static int bin(IrGraph *g, int op, const char *name, int a, int b, int swap, const char *out) {
    int in[2] = {swap ? b : a, swap ? a : b};
    return tg_node(g, op, name, 2, in, out);
}

/* x[4, 9] -> the chain (flags above) -> y, at opset 17 (Clip bounds as inputs). */
static IrGraph *hs_chain(int flags) {
    IrGraph *g = tg_graph(17);
    int64_t xd[2] = {4, 9};
    int x = tg_input(g, "x", RT_F32, 2, xd, NULL);
    int sw = (flags & H_SWAP) != 0;
    static const float three = 3, two9 = 2.9f, zero = 0, six = 6, five = 5, sixth = 1.0f / 6.0f;
    int y;
    if (flags & (H_HSIG | H_SLOPE02)) {
        int h = tg_node(g, RT_OP_HARD_SIGMOID, "hsig", 1, &x, "h");
        RtAttr *al = tg_attr_add(g, "alpha");
        al->type = RT_ATTR_FLOAT;
        al->f = (flags & H_SLOPE02) ? 0.2f : 1.0f / 6.0f;
        y = bin(g, RT_OP_MUL, "mul", x, h, sw, "y");
        tg_output(g, y);
        return g;
    }
    int a = bin(g, RT_OP_ADD, "add", x, tg_const_f32(g, "three", 0, NULL, (flags & H_ADD29) ? &two9 : &three), sw, "a");
    int r;
    int c0 = tg_const_f32(g, "zero", 0, NULL, &zero), c6 = tg_const_f32(g, "six", 0, NULL, (flags & H_CLIP5) ? &five : &six);
    if (flags & H_MINMAX) {
        r = bin(g, RT_OP_MIN, "min", bin(g, RT_OP_MAX, "max", a, c0, sw, "m0"), c6, sw, "r");
    } else if (flags & H_MAXMIN) {
        r = bin(g, RT_OP_MAX, "max", bin(g, RT_OP_MIN, "min", a, c6, sw, "m0"), c0, sw, "r");
    } else if (flags & H_RELUMIN) {
        r = bin(g, RT_OP_MIN, "min", tg_node(g, RT_OP_RELU, "relu", 1, &a, "m0"), c6, sw, "r");
    } else {
        int ci[3] = {a, c0, c6};
        r = tg_node(g, RT_OP_CLIP, "clip", 3, ci, "r");
    }
    int d6 = tg_const_f32(g, "div", 0, NULL, (flags & H_DIV5) ? &five : &six);
    int m6 = tg_const_f32(g, "mul6", 0, NULL, &sixth);
    if (flags & H_SIGMOID) {
        y = (flags & H_MUL16) ? bin(g, RT_OP_MUL, "scale", r, m6, sw, "y") : bin(g, RT_OP_DIV, "scale", r, d6, 0, "y");
    } else if (flags & H_INNER) {
        int s = (flags & H_MUL16) ? bin(g, RT_OP_MUL, "scale", r, m6, sw, "s") : bin(g, RT_OP_DIV, "scale", r, d6, 0, "s");
        y = bin(g, RT_OP_MUL, "mul", x, s, sw, "y");
    } else {
        int m = bin(g, RT_OP_MUL, "mul", x, r, sw, "m");
        y = (flags & H_MUL16) ? bin(g, RT_OP_MUL, "scale", m, m6, sw, "y") : bin(g, RT_OP_DIV, "scale", m, d6, 0, "y");
    }
    tg_output(g, y);
    if (flags & H_ESCAPE) tg_output(g, r);
    return g;
}

/* Runs g before and after pass_fuse_hardswish (after pass_simplify) on x in [-8, 8] and
 * compares every output within tol of max(1, the largest magnitude). */
static void expect_same_after(IrGraph *g, double tol) {
    memset(&err, 0, sizeof err);
    ok_or_die(pass_simplify(g, &err));
    float xs[36];
    for (int i = 0; i < 36; i++) xs[i] = -8.0f + 16.0f * (float)i / 35.0f;
    RtTensor in = {RT_F32, 2, {4, 9}, xs};
    expect_pass_keeps_outputs(g, &in, pass_fuse_hardswish, tol);
}

Test(fuse_hardswish, every_hardswish_form) {
    const int variants[] = {0, H_SWAP, H_MUL16, H_MUL16 | H_SWAP, H_INNER, H_INNER | H_MUL16 | H_SWAP, H_MINMAX,
                            H_MINMAX | H_SWAP, H_MAXMIN, H_RELUMIN | H_INNER, H_HSIG, H_HSIG | H_SWAP};
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        IrGraph *g = hs_chain(variants[i]);
        expect_same_after(g, HS_TOL);
        cr_assert_eq(g->n_nodes, 1, "variant %d: %d nodes left", variants[i], g->n_nodes);
        const RtNode *n = &g->nodes[0];
        cr_expect_eq(n->op, RT_OP_HARD_SWISH, "variant %d: %s", variants[i], n->op_type);
        cr_expect_eq(n->n_in, 1);
        cr_expect_eq(n->in[0], g->inputs[0], "HardSwish reads x");
        cr_expect_eq(n->out[0], g->outputs[0]);
        cr_expect_eq(n->n_attr, 0);
        ir_graph_free(g);
    }
}

Test(fuse_hardswish, relu6_over_six_is_hardsigmoid) {
    const int variants[] = {H_SIGMOID, H_SIGMOID | H_MUL16 | H_SWAP, H_SIGMOID | H_MINMAX};
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        IrGraph *g = hs_chain(variants[i]);
        expect_same_after(g, HS_TOL);
        cr_assert_eq(g->n_nodes, 1, "variant %d: %d nodes left", variants[i], g->n_nodes);
        const RtNode *n = &g->nodes[0];
        cr_expect_eq(n->op, RT_OP_HARD_SIGMOID, "variant %d", variants[i]);
        cr_expect_eq(n->in[0], g->inputs[0]);
        cr_expect_float_eq(rt_attr_float(n, "alpha", 0), 1.0f / 6.0f, 0, "alpha 1/6");
        cr_expect_float_eq(rt_attr_float(n, "beta", 0), 0.5f, 0, "beta 1/2");
        ir_graph_free(g);
    }
}

Test(fuse_hardswish, not_when_a_constant_is_off_or_a_value_escapes) {
    const int variants[] = {H_ADD29, H_DIV5, H_CLIP5, H_SLOPE02, H_ESCAPE, H_ADD29 | H_SIGMOID, H_DIV5 | H_INNER,
                            H_CLIP5 | H_MINMAX};
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        IrGraph *g = hs_chain(variants[i]);
        int before = g->n_nodes;
        expect_same_after(g, 0.0);
        cr_expect_eq(g->n_nodes, before, "variant %d changed", variants[i]);
        cr_expect_eq(tg_count_op(g, RT_OP_HARD_SWISH), 0, "variant %d", variants[i]);
        ir_graph_free(g);
    }
}

/* relu6 with a Clip of opset 9 (bounds as attributes), as paddle2onnx writes it. */
Test(fuse_hardswish, clip_attributes_before_opset_11) {
    IrGraph *g = tg_graph(9);
    int64_t xd[2] = {4, 9};
    int x = tg_input(g, "x", RT_F32, 2, xd, NULL);
    static const float three = 3, six = 6;
    int a = bin(g, RT_OP_ADD, "add", x, tg_const_f32(g, "three", 0, NULL, &three), 0, "a");
    int r = tg_node(g, RT_OP_CLIP, "clip", 1, &a, "r");
    RtAttr *lo = tg_attr_add(g, "min"), *hi;
    lo->type = RT_ATTR_FLOAT, lo->f = 0;
    hi = tg_attr_add(g, "max");
    hi->type = RT_ATTR_FLOAT, hi->f = 6;
    int m = bin(g, RT_OP_MUL, "mul", x, r, 0, "m");
    tg_output(g, bin(g, RT_OP_DIV, "div", m, tg_const_f32(g, "six", 0, NULL, &six), 0, "y"));
    expect_same_after(g, HS_TOL);
    cr_assert_eq(g->n_nodes, 1);
    cr_expect_eq(g->nodes[0].op, RT_OP_HARD_SWISH);
    cr_expect_geq(g->nodes[0].opset, 14, "HardSwish exists from opset 14");
    ir_graph_free(g);
}
