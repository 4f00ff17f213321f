/*
 * dead_nodes.c — removes nodes whose results nobody reads.
 *
 * Requires: a verified graph. Provides: every remaining node has an output that a live node
 * reads (subgraph captures are If inputs, so they count) or that is a graph output; values
 * nothing refers to are dropped (ir_graph_compact). One walk from the last node to the first
 * with a use count per value finds whole dead chains at once: removing a node releases its
 * inputs before their producers are looked at. Subgraphs too.
 */
#include "pass_internal.h"

#include <stdlib.h>

int pass_dead_nodes_run(IrGraph *g, int *changed, RtError *err) {
    int *uses = calloc((size_t)g->n_values + 1, sizeof *uses);
    if (!uses) return rt_error_set(err, "out of memory");
    for (int k = 0; k < g->n_nodes; k++) {
        const RtNode *n = &g->nodes[k];
        if (n->op == IR_OP_DELETED) continue;
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] >= 0) uses[n->in[j]]++;
    }
    for (int i = 0; i < g->n_outputs; i++) uses[g->outputs[i]]++;
    int removed = 0;
    for (int k = g->n_nodes - 1; k >= 0; k--) {
        RtNode *n = &g->nodes[k];
        if (n->op == IR_OP_DELETED) continue;
        int live = 0;
        for (int j = 0; j < n->n_out; j++) live |= n->out[j] >= 0 && uses[n->out[j]] > 0;
        if (live) continue;
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] >= 0) uses[n->in[j]]--;
        pass_node_delete(g, k);
        removed++;
    }
    free(uses);
    if (removed) RT_TRY(ir_graph_compact(g, err));
    *changed += removed;
    return pass_subgraphs_apply(g, pass_dead_nodes_run, changed, err);
}

int pass_dead_nodes(IrGraph *g, RtError *err) {
    int changed = 0;
    return pass_dead_nodes_run(g, &changed, err);
}
