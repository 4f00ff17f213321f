/*
 * pass_util.c — small graph edits the simplification passes share (see pass_internal.h).
 */
#include "pass_internal.h"

#include <stdio.h>
#include <string.h>

int pass_subgraphs_apply(IrGraph *g, PassFn fn, int *changed, RtError *err) {
    for (int k = 0; k < g->n_nodes; k++) {
        RtNode *n = &g->nodes[k];
        if (n->op == IR_OP_DELETED) continue;
        for (int a = 0; a < n->n_attr; a++) {
            if (n->attrs[a].type != RT_ATTR_GRAPH || !n->attrs[a].g) continue;
            if (fn((IrGraph *)n->attrs[a].g, changed, err) != RT_OK) {
                char tmp[sizeof err->msg];
                snprintf(tmp, sizeof tmp, "%s", err->msg);
                snprintf(err->msg, sizeof err->msg, "node '%s' (%s), subgraph '%s': %s", n->name,
                         rt_op_name(n->op), n->attrs[a].name, tmp);
                return RT_ERR;
            }
        }
    }
    return RT_OK;
}

void pass_node_delete(IrGraph *g, int k) {
    RtNode *n = &g->nodes[k];
    for (int j = 0; j < n->n_out; j++)
        if (n->out[j] >= 0 && g->values[n->out[j]].producer == k) g->values[n->out[j]].producer = -1;
    for (int a = 0; a < n->n_attr; a++)
        if (n->attrs[a].type == RT_ATTR_GRAPH && n->attrs[a].g) {
            ir_graph_free((IrGraph *)n->attrs[a].g);
            n->attrs[a].g = NULL;
        }
    n->op = IR_OP_DELETED;
}

void pass_value_replace_uses(IrGraph *g, int from, int to) {
    for (int k = 0; k < g->n_nodes; k++) {
        RtNode *n = &g->nodes[k];
        if (n->op == IR_OP_DELETED) continue;
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] == from) n->in[j] = to;
    }
}

int pass_value_live_uses(const IrGraph *g, int v) {
    int uses = 0;
    for (int k = 0; k < g->n_nodes; k++) {
        const RtNode *n = &g->nodes[k];
        if (n->op == IR_OP_DELETED) continue;
        for (int j = 0; j < n->n_in; j++) uses += n->in[j] == v;
    }
    return uses;
}

const char *pass_name_unique(IrGraph *g, const char *base) {
    if (ir_value_find(g, base) < 0) return ir_strdup(g, base);
    char buf[512];
    for (int i = 1;; i++) {
        snprintf(buf, sizeof buf, "%s_%d", base, i);
        if (ir_value_find(g, buf) < 0) return ir_strdup(g, buf);
    }
}
