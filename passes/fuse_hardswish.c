/*
 * fuse_hardswish.c — recognizes the HardSwish and HardSigmoid of MobileNetV3 blocks that
 * exporters write out as arithmetic, and makes them the ONNX ops:
 *     r = relu6(x + 3)          Add(x, 3) then Clip(., 0, 6), Min(Max(., 0), 6),
 *                               Max(Min(., 6), 0) or Min(Relu(.), 6)
 *     HardSwish(x)   = Div(Mul(x, r), 6)  |  Mul(Mul(x, r), 1/6)  |  Mul(x, Div(r, 6))
 *                      | Mul(x, Mul(r, 1/6))  |  Mul(x, HardSigmoid(x; alpha 1/6, beta 1/2))
 *     HardSigmoid(x) = Div(r, 6)  |  Mul(r, 1/6)      (alpha 1/6, beta 1/2), when no Mul by x
 *                                                     follows
 * (every Add and Mul in either operand order). One pass over the tensor instead of four, and
 * one element-wise function of one input, which static int8 quantization then tabulates
 * (quantize_lut.c): the chain would otherwise run in float between a DQ and a Q.
 *
 * Why it is the same function: ONNX defines HardSigmoid(x) = max(0, min(1, alpha x + beta))
 * and HardSwish(x) = x HardSigmoid(x) with alpha 1/6, beta 1/2; min(max(x + 3, 0), 6) / 6 is
 * that exactly in real numbers. In float32 the chain rounds after x + 3, the product and the
 * division, the op after x / 6 + 0.5 and the product: the two differ by a few float ulps
 * (relative ~2^-22), never more (the clamp points 0 and 6 are exact in both).
 *
 * Requires: a simplified graph (constants folded into initializers). Provides: every such
 * float32 chain whose intermediate values have exactly one reader inside the chain and are not
 * graph outputs (x itself may have other readers), whose Add/Mul/Div carry no attributes
 * (legacy broadcast) and whose constants are float32 scalars (one element, rank <= x's, so the
 * broadcast leaves x's shape) within HS_CONST_TOL of 3, 0, 6 and 1/6 (0 exactly), is replaced;
 * the chain's last node becomes the HardSwish / HardSigmoid (opset raised to 14 / kept, as the
 * op needs). A constant off by more than the tolerance (x + 2.9, / 5) leaves the chain alone.
 */
#include "fuse_internal.h"

#include <float.h>
#include <math.h>

/* Relative slack on 3, 6 and 1/6: exporters write 1/6 as the float 0.16666667 or as a
 * rounded decimal (0.1666667 is 2e-7 off); 1e-5 takes those and nothing that changes the
 * function by more than 1e-5 relative. */
#define HS_CONST_TOL 1e-5

enum { HS_MAX_CHAIN = 6 };

typedef struct {
    int x;                       /* the input value */
    int del[HS_MAX_CHAIN];       /* nodes deleted */
    int n_del;
    int last;                    /* the node that becomes the fused op */
    int op;                      /* RT_OP_HARD_SWISH or RT_OP_HARD_SIGMOID */
} HsMatch;

/* 1 when v is a float32 constant scalar (one element, rank <= rank) within rel_tol of want
 * (|v| <= rel_tol when want is 0). */
static int scalar_is(const IrGraph *g, int v, double want, int rank) {
    const RtTensor *t = fuse_const_f32(g, v);
    if (!t || rt_numel(t) != 1 || t->rank > (rank < 0 ? 0 : rank)) return 0;
    double d = ((const float *)t->data)[0];
    return want == 0 ? d == 0 : fabs(d - want) <= HS_CONST_TOL * fabs(want);
}

/* The producer of v when it is a live node of op `op` with two inputs and no attributes, and
 * v's only reader is node `reader`; else -1. */
static int binary_producer(const IrGraph *g, int v, int op, int reader) {
    int k = fuse_producer(g, v);
    if (k < 0 || fuse_sole_consumer(g, v) != reader) return -1;
    const RtNode *n = &g->nodes[k];
    return n->op == op && n->n_in == 2 && n->n_attr == 0 && n->in[0] >= 0 && n->in[1] >= 0 ? k : -1;
}

/* The operand of binary node k that is not the constant scalar `want`, else -1. */
static int operand_besides(const IrGraph *g, int k, double want) {
    const RtNode *n = &g->nodes[k];
    for (int i = 0; i < 2; i++) {
        int x = n->in[i];
        if (scalar_is(g, n->in[1 - i], want, g->values[x].rank) && !fuse_const_f32(g, x)) return x;
    }
    return -1;
}

/* A Clip node's bounds as floats; 0 when they are not constant scalars. */
static int clip_bounds(const IrGraph *g, const RtNode *n, double *lo, double *hi) {
    if (n->opset < 11) {
        *lo = rt_attr_float(n, "min", -FLT_MAX);
        *hi = rt_attr_float(n, "max", FLT_MAX);
        return 1;
    }
    if (n->n_attr != 0 || n->n_in != 3) return 0;
    const RtTensor *a = fuse_const_f32(g, n->in[1]), *b = fuse_const_f32(g, n->in[2]);
    if (!a || !b || rt_numel(a) != 1 || rt_numel(b) != 1) return 0;
    *lo = ((const float *)a->data)[0];
    *hi = ((const float *)b->data)[0];
    return 1;
}

static void chain_add(HsMatch *m, int k) {
    if (m->n_del < HS_MAX_CHAIN) m->del[m->n_del++] = k;
}

/* relu6(x + 3) producing v, read only by node `reader`: x, with the nodes added to m. */
static int relu6_plus3(const IrGraph *g, int v, int reader, HsMatch *m) {
    int k = fuse_producer(g, v);
    if (k < 0 || fuse_sole_consumer(g, v) != reader) return -1;
    const RtNode *n = &g->nodes[k];
    int a; /* the value x + 3 */
    int inner = -1;
    if (n->op == RT_OP_CLIP) {
        double lo, hi;
        if (n->n_in < 1 || !clip_bounds(g, n, &lo, &hi) || lo != 0 || fabs(hi - 6) > HS_CONST_TOL * 6) return -1;
        a = n->in[0];
    } else if (n->op == RT_OP_MIN || n->op == RT_OP_MAX) {
        int is_min = n->op == RT_OP_MIN;
        if (n->n_in != 2 || n->n_attr != 0) return -1;
        int w = operand_besides(g, k, is_min ? 6.0 : 0.0);
        inner = w < 0 ? -1 : fuse_producer(g, w);
        if (inner < 0 || fuse_sole_consumer(g, w) != k) return -1;
        const RtNode *in = &g->nodes[inner];
        if (is_min && in->op == RT_OP_RELU && in->n_in == 1) a = in->in[0];
        else if (in->op == (is_min ? RT_OP_MAX : RT_OP_MIN) && in->n_in == 2 && in->n_attr == 0)
            a = operand_besides(g, inner, is_min ? 0.0 : 6.0);
        else return -1;
        if (a < 0) return -1;
    } else {
        return -1;
    }
    int add = binary_producer(g, a, RT_OP_ADD, inner >= 0 ? inner : k);
    int x = add < 0 ? -1 : operand_besides(g, add, 3.0);
    if (x < 0 || g->values[x].dtype != RT_F32) return -1;
    chain_add(m, add);
    if (inner >= 0) chain_add(m, inner);
    chain_add(m, k);
    return x;
}

/* The value v that node k scales by 1/6 (Div(v, 6), Mul(v, 1/6) either order), else -1. */
static int sixth_of(const IrGraph *g, int k) {
    const RtNode *n = &g->nodes[k];
    if (n->n_in != 2 || n->n_attr != 0 || n->in[0] < 0 || n->in[1] < 0) return -1;
    if (n->op == RT_OP_DIV) return scalar_is(g, n->in[1], 6.0, g->values[n->in[0]].rank) ? n->in[0] : -1;
    return n->op == RT_OP_MUL ? operand_besides(g, k, 1.0 / 6.0) : -1;
}

/* HardSigmoid(x) (1/6, 1/2) as value h read only by `reader`: x, with its nodes in m. */
static int hard_sigmoid_of(const IrGraph *g, int h, int reader, HsMatch *m) {
    int d = fuse_producer(g, h);
    if (d < 0 || fuse_sole_consumer(g, h) != reader) return -1;
    const RtNode *n = &g->nodes[d];
    if (n->op == RT_OP_HARD_SIGMOID && n->n_in == 1) {
        double al = rt_attr_float(n, "alpha", 0.2f), be = rt_attr_float(n, "beta", 0.5f);
        if (fabs(al - 1.0 / 6) > HS_CONST_TOL / 6 || be != 0.5) return -1;
        chain_add(m, d);
        return n->in[0];
    }
    int r = sixth_of(g, d);
    int x = r < 0 ? -1 : relu6_plus3(g, r, d, m);
    if (x >= 0) chain_add(m, d);
    return x;
}

/* Node k as the end of a HardSwish chain. */
static int match_hardswish(const IrGraph *g, int k, HsMatch *m) {
    const RtNode *n = &g->nodes[k];
    m->n_del = 0;
    m->last = k;
    m->op = RT_OP_HARD_SWISH;
    /* (x * r) / 6 */
    int mv = sixth_of(g, k);
    int j = mv < 0 ? -1 : binary_producer(g, mv, RT_OP_MUL, k);
    for (int i = 0; j >= 0 && i < 2; i++) {
        m->n_del = 0;
        int x = relu6_plus3(g, g->nodes[j].in[i], j, m);
        if (x >= 0 && x == g->nodes[j].in[1 - i]) {
            chain_add(m, j);
            m->x = x;
            return 1;
        }
    }
    /* x * hardsigmoid(x) */
    if (n->op != RT_OP_MUL || n->n_in != 2 || n->n_attr != 0 || n->in[0] == n->in[1]) return 0;
    for (int i = 0; i < 2; i++) {
        m->n_del = 0;
        int x = hard_sigmoid_of(g, n->in[i], k, m);
        if (x >= 0 && x == n->in[1 - i]) {
            m->x = x;
            return 1;
        }
    }
    return 0;
}

static int match_hardsigmoid(const IrGraph *g, int k, HsMatch *m) {
    m->n_del = 0;
    m->last = k;
    m->op = RT_OP_HARD_SIGMOID;
    int r = sixth_of(g, k);
    m->x = r < 0 ? -1 : relu6_plus3(g, r, k, m);
    return m->x >= 0;
}

static int hs_rewrite(IrGraph *g, const HsMatch *m, RtError *err) {
    RT_TRY(fuse_node_set_inputs(g, m->last, 1, &m->x, err));
    fuse_attrs_clear(g, m->last);
    fuse_node_set_op(g, m->last, m->op);
    if (m->op == RT_OP_HARD_SWISH && g->nodes[m->last].opset < 14) g->nodes[m->last].opset = 14; /* from opset 14 */
    if (m->op == RT_OP_HARD_SIGMOID) {
        RT_TRY(fuse_attr_set_float(g, m->last, "alpha", 1.0f / 6.0f, err));
        RT_TRY(fuse_attr_set_float(g, m->last, "beta", 0.5f, err));
    }
    for (int i = 0; i < m->n_del; i++) pass_node_delete(g, m->del[i]);
    return RT_OK;
}

static int fuse_hardswish_run(IrGraph *g, int *changed, RtError *err) {
    int fused = 0;
    /* HardSwish first, so that a Div(r, 6) read by Mul(x, .) is part of one, not a HardSigmoid */
    for (int pass = 0; pass < 2; pass++)
        for (int k = 0; k < g->n_nodes; k++) {
            HsMatch m;
            int op = g->nodes[k].op;
            if (op != RT_OP_DIV && op != RT_OP_MUL) continue;
            if (!(pass == 0 ? match_hardswish(g, k, &m) : match_hardsigmoid(g, k, &m))) continue;
            RT_TRY(hs_rewrite(g, &m, err));
            fused++;
        }
    if (fused) RT_TRY(ir_graph_compact(g, err));
    *changed += fused;
    return pass_subgraphs_apply(g, fuse_hardswish_run, changed, err);
}

int pass_fuse_hardswish(IrGraph *g, RtError *err) {
    int changed = 0;
    return fuse_hardswish_run(g, &changed, err);
}
