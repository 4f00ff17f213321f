/*
 * fuse_gelu.c — recognizes the exact (erf) GELU that exporters write out as arithmetic:
 *     u = Div(x, sqrt 2)  or  Mul(x, 1/sqrt 2)
 *     e = Erf(u)
 *     a = Add(e, 1)
 *     y = Mul(Mul(x, a), 0.5)  or  Mul(x, Mul(a, 0.5))  or  Mul(Mul(x, 0.5), a)
 * (every Mul and Add in either operand order) and makes it one ONNX Gelu(x) (opset 20, domain
 * "", approximate "none"): one pass over the tensor instead of five, and no cancellation in
 * 1 + erf(u) for x < 0 (the kernel computes erfc directly).
 *
 * Requires: a simplified graph (the constants folded into initializers, x's rank known) and a
 * Gelu reference kernel. Provides: every such float32 chain whose intermediate values each have
 * exactly one reader inside the chain and are not graph outputs (x itself may have other
 * readers), whose constants are float32 scalars (one element, rank <= x's, so the broadcast
 * leaves x's shape) with 1 and 0.5 exact and sqrt 2 / (1/sqrt 2) within GELU_CONST_TOL, and
 * whose nodes carry no attributes (legacy broadcast) is replaced; the chain's last node becomes
 * the Gelu, where x is already defined. Matching walks forward from each Div / Mul by the
 * sole reader of each value, so a chain that branches is left as it is.

 */
#include "fuse_internal.h"

#include <math.h>

/* PyTorch writes sqrt 2 as the float 1.4142135 (1.4142135381698608); a few float ulps
 * (2^-23 relative each) of slack also take 1/sqrt 2 written as a rounded decimal. */
#define GELU_CONST_TOL 1e-6


enum { GELU_CHAIN = 5 };

typedef struct {
    int x;                    /* the input value */
    int chain[GELU_CHAIN];    /* the nodes replaced; chain[n - 1] becomes the Gelu */
    int n;
} GeluMatch;

/* 1 when v is a float32 constant scalar (one element, rank <= rank, or 0 when rank is
 * unknown) within rel_tol of want. */
static int scalar_is(const IrGraph *g, int v, double want, double rel_tol, int rank) {
    const RtTensor *t = fuse_const_f32(g, v);
    if (!t || rt_numel(t) != 1 || t->rank > (rank < 0 ? 0 : rank)) return 0;
    return fabs((double)((const float *)t->data)[0] - want) <= rel_tol * fabs(want);
}

/* The other input of binary node n when exactly one of its two inputs is v, else -1. */
static int other_operand(const RtNode *n, int v) {
    if (n->n_in != 2 || (n->in[0] == v) == (n->in[1] == v)) return -1;
    return n->in[0] == v ? n->in[1] : n->in[0];
}

/* The only reader of v if it is an attribute-free node of op `op`, else -1. */
static int next_node(const IrGraph *g, int v, int op) {
    int j = fuse_sole_consumer(g, v);
    return j >= 0 && g->nodes[j].op == op && g->nodes[j].n_attr == 0 ? j : -1;
}

/* x when node k is Div(x, sqrt 2) or Mul(x, 1/sqrt 2) in either order, else -1. */
static int scaled_input(const IrGraph *g, int k) {
    const RtNode *n = &g->nodes[k];
    if (n->n_in != 2 || n->n_attr != 0 || n->in[0] < 0 || n->in[1] < 0) return -1;
    if (n->op == RT_OP_DIV) {
        int x = n->in[0];
        return scalar_is(g, n->in[1], sqrt(2.0), GELU_CONST_TOL, g->values[x].rank) ? x : -1;
    }
    if (n->op != RT_OP_MUL) return -1;
    for (int i = 0; i < 2; i++) {
        int x = n->in[i];
        if (scalar_is(g, n->in[1 - i], sqrt(0.5), GELU_CONST_TOL, g->values[x].rank)) return x;
    }
    return -1;
}

/* Matches the chain starting at the Div / Mul node k. */
static int gelu_match(const IrGraph *g, int k, GeluMatch *m) {
    int x = scaled_input(g, k);
    if (x < 0 || x == g->nodes[k].out[0] || g->values[x].dtype != RT_F32) return 0;
    int rank = g->values[x].rank;
    int e = next_node(g, g->nodes[k].out[0], RT_OP_ERF);
    int a = e >= 0 ? next_node(g, g->nodes[e].out[0], RT_OP_ADD) : -1;
    if (a < 0 || !scalar_is(g, other_operand(&g->nodes[a], g->nodes[e].out[0]), 1.0, 0, rank)) return 0;
    int av = g->nodes[a].out[0];
    int j = next_node(g, av, RT_OP_MUL);
    int other = j >= 0 ? other_operand(&g->nodes[j], av) : -1;
    if (other < 0) return 0;
    int chain[GELU_CHAIN] = {k, e, a, j, -1};
    if (other == x || scalar_is(g, other, 0.5, 0, rank)) {
        /* Mul(x, a) * 0.5  or  x * Mul(a, 0.5) */
        int want = other == x ? -1 : x;
        int j2 = next_node(g, g->nodes[j].out[0], RT_OP_MUL);
        int o2 = j2 >= 0 ? other_operand(&g->nodes[j2], g->nodes[j].out[0]) : -1;
        if (o2 < 0 || (want < 0 ? !scalar_is(g, o2, 0.5, 0, rank) : o2 != want)) return 0;
        chain[4] = j2;
    } else {
        /* Mul(x, 0.5) * a: `other` is Mul(x, 0.5) read only by j */
        int h = fuse_producer(g, other);
        if (h < 0 || g->nodes[h].op != RT_OP_MUL || g->nodes[h].n_attr != 0 ||
            fuse_sole_consumer(g, other) != j || other_operand(&g->nodes[h], x) < 0 ||
            !scalar_is(g, other_operand(&g->nodes[h], x), 0.5, 0, rank))
            return 0;
        chain[0] = h, chain[1] = k, chain[2] = e, chain[3] = a, chain[4] = j;
    }
    m->x = x;
    m->n = GELU_CHAIN;
    for (int i = 0; i < GELU_CHAIN; i++) m->chain[i] = chain[i];
    return 1;
}

static int gelu_rewrite(IrGraph *g, const GeluMatch *m, RtError *err) {
    int last = m->chain[m->n - 1];
    RT_TRY(fuse_node_set_inputs(g, last, 1, &m->x, err));
    fuse_attrs_clear(g, last); /* approximate = "none" by default */
    fuse_node_set_op(g, last, RT_OP_GELU);
    if (g->nodes[last].opset < 20) g->nodes[last].opset = 20; /* the op exists from opset 20 */
    for (int i = 0; i + 1 < m->n; i++) pass_node_delete(g, m->chain[i]);
    return RT_OK;
}

static int fuse_gelu_run(IrGraph *g, int *changed, RtError *err) {
    int fused = 0;
    for (int k = 0; k < g->n_nodes; k++) {
        GeluMatch m;
        int op = g->nodes[k].op;
        if ((op != RT_OP_DIV && op != RT_OP_MUL) || !gelu_match(g, k, &m)) continue;
        RT_TRY(gelu_rewrite(g, &m, err));
        fused++;
    }
    if (fused) RT_TRY(ir_graph_compact(g, err));
    *changed += fused;
    return pass_subgraphs_apply(g, fuse_gelu_run, changed, err);
}

int pass_fuse_gelu(IrGraph *g, RtError *err) {
    if (!rt_kernel_find(RT_OP_GELU)) return RT_OK; /* nothing could run the fused op */
    int changed = 0;
    return fuse_gelu_run(g, &changed, err);
}
