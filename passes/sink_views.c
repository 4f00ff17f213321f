/*
 * sink_views.c — moves each view step (Reshape, Flatten, Squeeze, Unsqueeze, Transpose) down
 * the node list to just before its first reader. Only the order changes: no value, shape or
 * attribute does.
 *
 * Why: the runtime runs a chain of nodes as one kernel at the chain's last node (rt_fuse.c:
 * attention reads q, k and v through the Reshape / Transpose steps as strides), which reads
 * the values the chain starts from later than the memory plan, made for the unfused graph,
 * expects. Exporters write each projection's steps right after it (tinylm: q = Linear ->
 * Reshape -> Transpose, then k's Linear ...), so q's projection is dead once its Transpose ran
 * and the plan puts k's projection over it; the chain then has to leave q's steps out and run
 * them as copies (4 x ~9 us a run in tinylm). With the steps next to the node that reads
 * them, each projection lives until the chain runs and the plan keeps it. Unfused, a
 * Transpose's input and output are the same size, so the arena does not grow either way.
 *
 * Algorithm: from the last node to the first, a view step reading its data input and written
 * once moves to the position before the earliest node reading its output (readers come
 * later in topological order, so the order stays topological; going backwards, a step
 * feeding another step lands before that one's new place). A step no node reads stays.
 * Subgraph captures are inputs of their If / Loop node (frontend/onnx_subgraph.c), so they
 * are readers like any other; subgraphs are reordered too.
 *
 * Requires: a verified graph. Provides: the same graph, view steps next to their readers.
 */
#include "pass_internal.h"

#include <stdlib.h>
#include <string.h>

static int sink_view_op(int op) {
    return op == RT_OP_RESHAPE || op == RT_OP_FLATTEN || op == RT_OP_SQUEEZE || op == RT_OP_UNSQUEEZE ||
           op == RT_OP_TRANSPOSE;
}

/* The first node after k reading any output of node k, or -1. */
static int sink_first_reader(const IrGraph *g, int k) {
    const RtNode *n = &g->nodes[k];
    for (int r = k + 1; r < g->n_nodes; r++) {
        const RtNode *m = &g->nodes[r];
        for (int j = 0; j < m->n_in; j++)
            for (int o = 0; o < n->n_out; o++)
                if (m->in[j] >= 0 && m->in[j] == n->out[o]) return r;
    }
    return -1;
}

static int sink_views_run(IrGraph *g, int *changed, RtError *err) {
    if (!g->n_nodes) return RT_OK;
    for (int k = g->n_nodes - 2; k >= 0; k--) {
        if (!sink_view_op(g->nodes[k].op)) continue;
        int r = sink_first_reader(g, k);
        if (r <= k + 1) continue; /* unread, or already next to its reader */
        RtNode moved = g->nodes[k];
        memmove(&g->nodes[k], &g->nodes[k + 1], sizeof(RtNode) * (size_t)(r - 1 - k));
        g->nodes[r - 1] = moved;
        for (int i = k; i < r; i++) /* the shifted nodes' outputs record where they now are */
            for (int o = 0; o < g->nodes[i].n_out; o++)
                if (g->nodes[i].out[o] >= 0) g->values[g->nodes[i].out[o]].producer = i;
        (*changed)++;
    }
    return pass_subgraphs_apply(g, sink_views_run, changed, err);
}

int pass_sink_views(IrGraph *g, RtError *err) {
    int changed = 0;
    return sink_views_run(g, &changed, err);
}
