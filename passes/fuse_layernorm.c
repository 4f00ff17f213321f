/*
 * fuse_layernorm.c — recognizes LayerNormalization that an exporter wrote out as arithmetic.
 *
 * Requires: a simplified graph (shapes inferred; gamma, beta, eps and the axes are constants).
 * Provides: every float32 chain
 *     mean = ReduceMean(x, axes=[-1], keepdims=1)
 *     d    = Sub(x, mean)
 *     sq   = Pow(d, 2)  or  Mul(d, d)
 *     var  = ReduceMean(sq, axes=[-1], keepdims=1)
 *     s    = Sqrt(Add(var, eps))              (Add in either operand order)
 *     n    = Div(d, s)
 *     y    = Add(Mul(n, gamma), beta)         (each optional, either operand order)
 * whose intermediate values have no reader outside the chain (d is read exactly by the square
 * and the Div) and are not graph outputs, is one LayerNormalization(x, gamma, beta) with
 * axis = -1 and epsilon = eps; without gamma the Scale is a new constant of ones.
 *
 * Matching walks forward from each ReduceMean, following each value to its only reader, so a
 * chain that branches anywhere (or whose constants do not broadcast as [C], C = x's last dim,
 * which must be known) is left as it is. The axes may be written -1 or rank-1, as an
 * attribute (before opset 18) or a constant input (from opset 18). The LayerNormalization
 * replaces the chain's last node, where every input (x and constants) is already defined.
 */
#include "fuse_internal.h"

#include <stdio.h>
#include <string.h>

enum { LN_MAX_CHAIN = 9 };

typedef struct {
    int x;                    /* input value */
    int64_t C;                /* x's last dim (normalized length) */
    float eps;
    int gamma, beta;          /* constant values, -1 when absent */
    int chain[LN_MAX_CHAIN];  /* chain nodes in order; the last one becomes the LayerNormalization */
    int n_chain;
} LnMatch;

/* 1 when node k is ReduceMean(v) over the last axis only, keeping dims. */
static int reduce_mean_last(const IrGraph *g, int k, int v) {
    if (k < 0) return 0;
    const RtNode *n = &g->nodes[k];
    if (n->op != RT_OP_REDUCE_MEAN || n->in[0] != v || rt_attr_int(n, "keepdims", 1) == 0) return 0;
    const int64_t *axes = NULL;
    int na = rt_attr_ints(n, "axes", &axes);
    int ai = fuse_in(n, 1);
    if (na < 0 && ai >= 0) {
        const RtTensor *t = g->values[ai].konst;
        if (!t || t->dtype != RT_I64 || !t->data) return 0;
        na = (int)rt_numel(t);
        axes = t->data;
    }
    if (na != 1) return 0;
    int rank = g->values[v].rank;
    return axes[0] == -1 || (rank > 0 && axes[0] == rank - 1);
}

/* The other input of binary node n when exactly one of its two inputs is v, else -1. */
static int other_operand(const RtNode *n, int v) {
    if (n->n_in != 2 || (n->in[0] == v) == (n->in[1] == v)) return -1;
    return n->in[0] == v ? n->in[1] : n->in[0];
}

/* The only reader of v if it has op `op`, else -1. */
static int next_node(const IrGraph *g, int v, int op) {
    int j = fuse_sole_consumer(g, v);
    return j >= 0 && g->nodes[j].op == op && g->nodes[j].n_attr == 0 ? j : -1;
}

static int is_const_value(const IrGraph *g, int v, double want) {
    const RtTensor *t = v >= 0 ? g->values[v].konst : NULL;
    return t && t->data && rt_numel(t) == 1 && rt_dtype_is_float(t->dtype) && rt_get_f64(t, 0) == want;
}

/* The readers of d: exactly a Div(d, .) and a square (Pow(d, 2) or Mul(d, d)) and no other
 * slot. Fills *div and *sq; 0 when d is read otherwise. */
static int diff_readers(const IrGraph *g, int d, int *div, int *sq) {
    if (ir_value_is_output(g, d)) return 0;
    int slots = 0, need = 0;
    *div = *sq = -1;
    for (int k = 0; k < g->n_nodes; k++) {
        const RtNode *n = &g->nodes[k];
        if (n->op == IR_OP_DELETED) continue;
        int here = 0;
        for (int j = 0; j < n->n_in; j++) here += n->in[j] == d;
        if (!here) continue;
        slots += here;
        if (n->op == RT_OP_DIV && n->n_in == 2 && n->in[0] == d && n->in[1] != d && *div < 0) {
            *div = k;
            need += 1;
        } else if (n->op == RT_OP_POW && n->in[0] == d && is_const_value(g, n->in[1], 2.0) && *sq < 0) {
            *sq = k;
            need += 1;
        } else if (n->op == RT_OP_MUL && n->n_in == 2 && n->in[0] == d && n->in[1] == d && *sq < 0) {
            *sq = k;
            need += 2;
        } else {
            return 0;
        }
    }
    return *div >= 0 && *sq >= 0 && slots == need;
}

/* Matches the chain starting at ReduceMean node k. */
static int ln_match(const IrGraph *g, int k, LnMatch *m) {
    const RtNode *r1 = &g->nodes[k];
    int x = r1->in[0];
    const IrValue *xv = &g->values[x];
    if (xv->dtype != RT_F32 || xv->rank < 1 || xv->dims[xv->rank - 1].value < 0) return 0;
    if (!reduce_mean_last(g, k, x)) return 0;
    memset(m, 0, sizeof *m);
    m->x = x;
    m->C = xv->dims[xv->rank - 1].value;
    m->gamma = m->beta = -1;
    int sub = next_node(g, r1->out[0], RT_OP_SUB), div, sq;
    if (sub < 0 || g->nodes[sub].in[0] != x || g->nodes[sub].in[1] != r1->out[0]) return 0;
    int d = g->nodes[sub].out[0];
    if (!diff_readers(g, d, &div, &sq)) return 0;
    int r2 = fuse_sole_consumer(g, g->nodes[sq].out[0]);
    if (!reduce_mean_last(g, r2, g->nodes[sq].out[0])) return 0;
    int add = next_node(g, g->nodes[r2].out[0], RT_OP_ADD);
    int epsv = add >= 0 ? other_operand(&g->nodes[add], g->nodes[r2].out[0]) : -1;
    const RtTensor *eps = fuse_const_f32(g, epsv);
    if (!eps || rt_numel(eps) != 1 || eps->rank > 1) return 0;
    int sqrt_k = next_node(g, g->nodes[add].out[0], RT_OP_SQRT);
    if (sqrt_k < 0 || fuse_sole_consumer(g, g->nodes[sqrt_k].out[0]) != div ||
        g->nodes[div].in[1] != g->nodes[sqrt_k].out[0])
        return 0;
    m->eps = ((const float *)eps->data)[0];
    int chain[] = {k, sub, sq, r2, add, sqrt_k, div};
    memcpy(m->chain, chain, sizeof chain);
    m->n_chain = 7;
    /* optional gamma, then optional beta, each a [C] constant */
    static const int affine_ops[2] = {RT_OP_MUL, RT_OP_ADD};
    for (int step = 0; step < 2; step++) {
        int y = g->nodes[m->chain[m->n_chain - 1]].out[0];
        int j = next_node(g, y, affine_ops[step]);
        int cv = j >= 0 ? other_operand(&g->nodes[j], y) : -1;
        const RtTensor *t = fuse_const_f32(g, cv);
        if (!t || !fuse_is_channel_vector(t, m->C, xv->rank)) continue;
        if (step == 0) m->gamma = cv;
        else m->beta = cv;
        m->chain[m->n_chain++] = j;
    }
    return 1;
}

/* Value cv (a [C] vector, or one element), or ones when cv < 0, as a [C] constant. */
static int ln_vector(IrGraph *g, int cv, int64_t C, const char *base, RtError *err) {
    const RtTensor *t = cv >= 0 ? g->values[cv].konst : NULL;
    if (t && t->rank == 1 && t->dims[0] == C) return cv;
    float *p;
    int v = fuse_const_new_f32(g, t ? g->values[cv].name : base, 1, &C, &p, err);
    for (int64_t c = 0; v >= 0 && c < C; c++) p[c] = t ? fuse_channel_at(t, c) : 1.0f;
    return v;
}

static int ln_rewrite(IrGraph *g, const LnMatch *m, RtError *err) {
    int last = m->chain[m->n_chain - 1];
    char base[256];
    snprintf(base, sizeof base, "%s_scale", g->nodes[last].name);
    int scale = ln_vector(g, m->gamma, m->C, base, err);
    int bias = m->beta >= 0 ? ln_vector(g, m->beta, m->C, base, err) : -1;
    if (scale < 0 || (m->beta >= 0 && bias < 0)) return RT_ERR;
    int in[3] = {m->x, scale, bias};
    RT_TRY(fuse_node_set_inputs(g, last, bias >= 0 ? 3 : 2, in, err));
    fuse_attrs_clear(g, last);
    fuse_node_set_op(g, last, RT_OP_LAYER_NORMALIZATION);
    if (g->nodes[last].opset < 17) g->nodes[last].opset = 17; /* the op exists from opset 17 */
    RT_TRY(fuse_attr_set_int(g, last, "axis", -1, err));
    RT_TRY(fuse_attr_set_float(g, last, "epsilon", m->eps, err));
    for (int i = 0; i + 1 < m->n_chain; i++) pass_node_delete(g, m->chain[i]);
    return RT_OK;
}

static int fuse_layernorm_run(IrGraph *g, int *changed, RtError *err) {
    int fused = 0;
    for (int k = 0; k < g->n_nodes; k++) {
        LnMatch m;
        if (g->nodes[k].op != RT_OP_REDUCE_MEAN || !ln_match(g, k, &m)) continue;
        RT_TRY(ln_rewrite(g, &m, err));
        fused++;
    }
    if (fused) RT_TRY(ir_graph_compact(g, err));
    *changed += fused;
    return pass_subgraphs_apply(g, fuse_layernorm_run, changed, err);
}

int pass_fuse_layernorm(IrGraph *g, RtError *err) {
    int changed = 0;
    return fuse_layernorm_run(g, &changed, err);
}
