/*
 * layout_nchw.c — onnxruntime's channels-last int8 regions back to channels-first, where the
 * graph changes layout around them anyway.
 *
 * Why: onnxruntime's "all" optimization level saves int8 CNNs with com.microsoft QLinearConv /
 * QLinearGlobalAveragePool / QLinearAveragePool nodes of channels_last = 1 (X [N, H, W, C]),
 * Transposes around every op it left in float (the DQ -> Conv -> Q groups it did not fuse) and
 * QLinearAdd on NHWC data.
 * wafer's fast int8 convolutions are channels-first: a channels_last node relayouts its input
 * and output inside the kernel, and the graph's own Transposes move the same bytes again
 * (mobilenet_v2: 18 Transposes and 44 relayouts, a third of the run). So, as onnxruntime's
 * transpose optimizer does the other way round:
 *   1. a channels_last node (rank 4) becomes the channels-first node between two Transposes:
 *        X -> Transpose(0,3,1,2) -> node(channels_last = 0) -> Transpose(0,2,3,1) -> Y
 *      (the same op on the same bytes: the attribute only names where C sits), the input
 *      Transpose skipped when X already comes from a Transpose(0,2,3,1) (its input is read);
 *   2. QLinearAdd / QLinearMul whose two tensor inputs (0 and 3) come from Transposes of one
 *      perm and have the same shape (no broadcasting) runs on the Transposes' inputs and the
 *      Transpose moves after it (element-wise: each output reads the two inputs at its own
 *      position, in any layout);
 *   3. Transpose(p2) of Transpose(p1) with p1 then p2 the identity reads the first's input.
 * The Transposes that nothing reads any more are dead (pass_dead_nodes). The result for
 * onnxruntime's mobilenet_v2 is its QOperator NCHW graph: no Transpose left.
 * When: only in graphs that already hold a Transpose(0,2,3,1) or (0,3,1,2) next to a
 * channels_last node; a graph that is channels-last throughout (no such Transpose) keeps its
 * nodes, whose kernels relayout once each (step 1 would add two Transpose nodes for it).
 *
 * Requires: shapes inferred (ranks). Provides: the same values under the same names (a node's
 * rewritten output gets a fresh name, its old value is written by the Transpose after it), the
 * graph outputs unchanged; nodes stay in topological order (each Transpose is inserted right
 * before or after its node). Subgraphs are left alone.
 */
#include "pass_internal.h"
#include "quantize_internal.h"

#include <string.h>

static const int64_t LN_TO_NCHW[4] = {0, 3, 1, 2}; /* [N, H, W, C] -> [N, C, H, W] */
static const int64_t LN_TO_NHWC[4] = {0, 2, 3, 1}; /* [N, C, H, W] -> [N, H, W, C] */

/* The perm of Transpose node n when it is rank 4 and given, else NULL. */
static const int64_t *ln_perm(const RtNode *n) {
    if (n->op != RT_OP_TRANSPOSE || n->n_in < 1 || n->n_out != 1) return NULL;
    for (int a = 0; a < n->n_attr; a++)
        if (strcmp(n->attrs[a].name, "perm") == 0 && n->attrs[a].type == RT_ATTR_INTS && n->attrs[a].n == 4)
            return n->attrs[a].ints;
    return NULL;
}

static int ln_perm_is(const int64_t *p, const int64_t *q) { return p && memcmp(p, q, 4 * sizeof *p) == 0; }

/* The live Transpose producing v, or NULL. */
static const RtNode *ln_transpose_of(const IrGraph *g, int v) {
    int k = v >= 0 ? g->values[v].producer : -1;
    if (k < 0 || g->nodes[k].op == IR_OP_DELETED || !ln_perm(&g->nodes[k])) return NULL;
    return &g->nodes[k];
}

/* 1 when node n is a channels_last QLinearConv / QLinear(Global)AveragePool on rank-4 tensors. */
static int ln_is_cl(const IrGraph *g, const RtNode *n) {
    if (n->op != RT_OP_MS_QLINEAR_CONV && n->op != RT_OP_QLINEAR_GLOBAL_AVERAGE_POOL &&
        n->op != RT_OP_QLINEAR_AVERAGE_POOL)
        return 0;
    if (!rt_attr_int(n, "channels_last", 0) || n->n_in < 1 || n->n_out != 1) return 0;
    int x = n->in[0], y = n->out[0];
    return x >= 0 && y >= 0 && g->values[x].rank == 4 && g->values[y].rank == 4;
}

/* 1 when the graph changes layout next to a channels_last node (see the header's When). */
static int ln_worth(const IrGraph *g) {
    for (int k = 0; k < g->n_nodes; k++) {
        const RtNode *n = &g->nodes[k];
        if (n->op == IR_OP_DELETED) continue;
        if (ln_is_cl(g, n)) {
            const RtNode *t = ln_transpose_of(g, n->in[0]);
            if (t && ln_perm_is(ln_perm(t), LN_TO_NHWC)) return 1;
        }
        const int64_t *p = ln_perm(n);
        if ((ln_perm_is(p, LN_TO_NCHW)) && n->in[0] >= 0 && g->values[n->in[0]].producer >= 0 &&
            ln_is_cl(g, &g->nodes[g->values[n->in[0]].producer]))
            return 1;
    }
    return 0;
}

/* A Transpose of perm p from value `in` to value `out` inserted at pos; its index or -1. */
static int ln_transpose_insert(IrGraph *g, int pos, int in, int out, const int64_t *p, RtError *err) {
    char name[160];
    snprintf(name, sizeof name, "%.140s_layout_nchw", g->values[out].name);
    int k = qz_node_insert(g, pos, RT_OP_TRANSPOSE, name, 1, &in, 1, &out, err);
    if (k < 0) return -1;
    RtAttr *a = ir_alloc(g, sizeof *a);
    int64_t *ints = ir_alloc(g, 4 * sizeof *ints);
    const char *nm = ir_strdup(g, "perm");
    if (!a || !ints || !nm) return rt_error_set(err, "out of memory"), -1;
    memcpy(ints, p, 4 * sizeof *ints);
    a->name = nm, a->type = RT_ATTR_INTS, a->n = 4, a->ints = ints;
    g->nodes[k].attrs = a, g->nodes[k].n_attr = 1;
    return k;
}

/* A new value: v's dtype with v's dims permuted by p (dims[i] = v.dims[p[i]]). */
static int ln_value_permuted(IrGraph *g, int v, const int64_t *p, RtError *err) {
    int w = qz_value_new(g, g->values[v].name, &g->values[v], g->values[v].dtype, err);
    if (w < 0) return -1;
    for (int i = 0; i < 4; i++) g->values[w].dims[i] = g->values[v].dims[p[i]];
    return w;
}

/* Node k writes y_nchw instead of its output y, and a Transpose(0,2,3,1) after it writes y.
 * Returns the Transpose's index (k + 1) or -1. */
static int ln_output_nchw(IrGraph *g, int k, RtError *err) {
    int y = g->nodes[k].out[0];
    int yc = ln_value_permuted(g, y, LN_TO_NCHW, err);
    if (yc < 0) return -1;
    g->nodes[k].out[0] = yc;
    g->values[yc].producer = k;
    return ln_transpose_insert(g, k + 1, yc, y, LN_TO_NHWC, err);
}

/* Step 1 on node k; returns the index of the node after the rewrite's last one, or -1. */
static int ln_rewrite_cl(IrGraph *g, int k, RtError *err) {
    int x = g->nodes[k].in[0];
    const RtNode *t = ln_transpose_of(g, x);
    int xc;
    if (t && ln_perm_is(ln_perm(t), LN_TO_NHWC) && g->values[t->in[0]].rank == 4) {
        xc = t->in[0];
    } else {
        xc = ln_value_permuted(g, x, LN_TO_NCHW, err);
        if (xc < 0 || ln_transpose_insert(g, k, x, xc, LN_TO_NCHW, err) < 0) return -1;
        k++;
    }
    g->nodes[k].in[0] = xc;
    RtAttr *attrs = ir_alloc(g, sizeof(RtAttr) * (size_t)g->nodes[k].n_attr); /* attributes may be shared */
    if (!attrs) return rt_error_set(err, "out of memory"), -1;
    memcpy(attrs, g->nodes[k].attrs, sizeof(RtAttr) * (size_t)g->nodes[k].n_attr);
    for (int a = 0; a < g->nodes[k].n_attr; a++)
        if (strcmp(attrs[a].name, "channels_last") == 0) attrs[a].i = 0;
    g->nodes[k].attrs = attrs;
    int tk = ln_output_nchw(g, k, err);
    return tk < 0 ? -1 : tk + 1;
}

/* Step 2's condition on node n: its two tensors come from Transposes of one perm, same shape,
 * and one of those Transposes has no other reader (so the move does not add a Transpose). */
static int ln_sinkable(const IrGraph *g, const RtNode *n) {
    if ((n->op != RT_OP_QLINEAR_ADD && n->op != RT_OP_QLINEAR_MUL) || n->n_in < 8 || n->n_out != 1) return 0;
    const RtNode *ta = ln_transpose_of(g, n->in[0]), *tb = ln_transpose_of(g, n->in[3]);
    if (!ta || !tb || !ln_perm_is(ln_perm(ta), ln_perm(tb)) || n->out[0] < 0) return 0;
    const IrValue *a = &g->values[n->in[0]], *b = &g->values[n->in[3]];
    if (a->rank != 4 || b->rank != 4 || g->values[ta->in[0]].rank != 4 || g->values[tb->in[0]].rank != 4) return 0;
    for (int d = 0; d < 4; d++) {
        if (a->dims[d].value < 0 || a->dims[d].value != b->dims[d].value) {
            int same_sym = a->dims[d].sym && b->dims[d].sym && strcmp(a->dims[d].sym, b->dims[d].sym) == 0;
            if (!same_sym) return 0;
        }
    }
    return pass_value_live_uses(g, n->in[0]) == 1 || pass_value_live_uses(g, n->in[3]) == 1;
}

/* Step 2 on node k (ln_sinkable); returns the index after its Transpose, or -1. */
static int ln_sink(IrGraph *g, int k, RtError *err) {
    RtNode *n = &g->nodes[k];
    const int64_t *p = ln_perm(ln_transpose_of(g, n->in[0]));
    int64_t inv[4];
    for (int i = 0; i < 4; i++) inv[p[i]] = i;
    n->in[0] = ln_transpose_of(g, n->in[0])->in[0];
    n->in[3] = ln_transpose_of(g, n->in[3])->in[0];
    int y = n->out[0];
    int yc = ln_value_permuted(g, y, inv, err);
    if (yc < 0) return -1;
    g->nodes[k].out[0] = yc;
    g->values[yc].producer = k;
    int64_t perm[4];
    memcpy(perm, p, sizeof perm); /* p lives in the graph's arena; copied before the insert moves nodes */
    int tk = ln_transpose_insert(g, k + 1, yc, y, perm, err);
    return tk < 0 ? -1 : tk + 1;
}

/* Step 3 on Transpose node k; 1 when it was bypassed. Its readers read the first Transpose's
 * input src instead; when its output is a graph output (whose name users see), src's producer
 * writes that output under its name instead, and src's readers read it (as
 * remove_identity.c does for an Identity before an output). */
static int ln_cancel(IrGraph *g, int k) {
    RtNode *n = &g->nodes[k];
    const int64_t *p2 = ln_perm(n);
    const RtNode *t = ln_transpose_of(g, n->in[0]);
    if (!p2 || !t) return 0;
    const int64_t *p1 = ln_perm(t);
    for (int i = 0; i < 4; i++) /* out[i] = mid[p2[i]] = src[p1[p2[i]]] */
        if (p1[p2[i]] != i) return 0;
    int src = t->in[0], out = n->out[0];
    if (!ir_value_is_output(g, out)) {
        pass_value_replace_uses(g, out, src);
        pass_node_delete(g, k);
        return 1;
    }
    int prod = g->values[src].producer;
    if (prod < 0 || ir_value_is_output(g, src) || g->values[src].konst) return 0;
    for (int i = 0; i < g->n_inputs; i++)
        if (g->inputs[i] == src) return 0;
    RtNode *p = &g->nodes[prod];
    for (int j = 0; j < p->n_out; j++)
        if (p->out[j] == src) p->out[j] = out;
    pass_value_replace_uses(g, src, out);
    pass_node_delete(g, k); /* before out gets its new producer: the delete clears n's outputs' */
    g->values[out].producer = prod;
    g->values[src].producer = -1;
    return 1;
}

int pass_layout_nchw_run(IrGraph *g, int *changed, RtError *err) {
    if (!ln_worth(g)) return RT_OK;
    int rewrote = 0;
    for (int k = 0; k < g->n_nodes;) {
        RtNode *n = &g->nodes[k];
        int next = k + 1;
        if (n->op == IR_OP_DELETED) {
        } else if (ln_is_cl(g, n)) {
            next = ln_rewrite_cl(g, k, err), rewrote++;
        } else if (ln_sinkable(g, n)) {
            next = ln_sink(g, k, err), rewrote++;
        } else if (ln_perm(n)) {
            rewrote += ln_cancel(g, k);
        }
        if (next < 0) return RT_ERR;
        k = next;
    }
    if (rewrote) RT_TRY(ir_graph_compact(g, err));
    *changed += rewrote;
    return RT_OK;
}

int pass_layout_nchw(IrGraph *g, RtError *err) {
    int changed = 0;
    return pass_layout_nchw_run(g, &changed, err);
}
