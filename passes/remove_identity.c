/*
 * remove_identity.c — removes Identity, and Dropout where it is the identity (inference).
 *
 * Requires: a verified graph. Provides: no Identity node, and no Dropout whose mask is unused
 * and whose training_mode (opset 12+ input 2) is absent or a constant false, except an
 * Identity that copies a graph input or another graph output straight to a graph output
 * (the output needs a value of its own). Consumers of the removed node's output read its
 * input instead. When the output is a graph output, the graph keeps the output's name (users
 * see output names): the input value is replaced by the output value everywhere, so the
 * producer of the input now produces the output under its name. Subgraphs too.
 */
#include "pass_internal.h"

#include "../runtime/kernels/kernel.h"

/* Dropout is the identity at inference unless training_mode is (or may be) true. */
static int dropout_is_identity(const IrGraph *g, const RtNode *n) {
    if (n->n_out > 1 && n->out[1] >= 0 &&
        (pass_value_live_uses(g, n->out[1]) || ir_value_is_output(g, n->out[1])))
        return 0;
    if (n->n_in < 3 || n->in[2] < 0) return 1;
    const RtTensor *t = g->values[n->in[2]].konst;
    return t && rt_numel(t) == 1 && rt_get_i64(t, 0) == 0;
}

/* Node k (out = in) goes; returns 1 when removed, 0 when it must stay. */
static int identity_remove(IrGraph *g, int k) {
    RtNode *n = &g->nodes[k];
    int src = n->in[0], dst = n->out[0];
    if (src < 0 || dst < 0) return 0;
    if (!ir_value_is_output(g, dst)) {
        pass_value_replace_uses(g, dst, src);
        pass_node_delete(g, k);
        return 1;
    }
    IrValue *s = &g->values[src], *d = &g->values[dst];
    if (s->producer < 0 || ir_value_is_output(g, src)) return 0; /* input, constant, or output */
    RtNode *p = &g->nodes[s->producer];
    for (int j = 0; j < p->n_out; j++)
        if (p->out[j] == src) p->out[j] = dst;
    pass_value_replace_uses(g, src, dst);
    n->op = IR_OP_DELETED; /* not pass_node_delete: dst's producer is set just below */
    d->producer = s->producer;
    s->producer = -1;
    /* The output keeps its declared type where it has one; otherwise the input's. */
    if (d->dtype == RT_UNDEFINED) d->dtype = s->dtype;
    if (d->rank < 0) {
        d->rank = s->rank;
        for (int i = 0; i < s->rank; i++) d->dims[i] = s->dims[i];
    }
    return 1;
}

int pass_remove_identity_run(IrGraph *g, int *changed, RtError *err) {
    int removed = 0;
    for (int k = 0; k < g->n_nodes; k++) {
        RtNode *n = &g->nodes[k];
        int is_id = n->op == RT_OP_IDENTITY && n->n_in >= 1 && n->n_out == 1;
        int is_drop = n->op == RT_OP_DROPOUT && n->n_in >= 1 && n->n_out >= 1 && dropout_is_identity(g, n);
        if (is_id || is_drop) removed += identity_remove(g, k);
    }
    if (removed) RT_TRY(ir_graph_compact(g, err));
    *changed += removed;
    return pass_subgraphs_apply(g, pass_remove_identity_run, changed, err);
}

int pass_remove_identity(IrGraph *g, RtError *err) {
    int changed = 0;
    return pass_remove_identity_run(g, &changed, err);
}
