/*
 * ir_exec.c — running IR graphs through the runtime's reference executor.
 *
 * Lowering builds an RtGraph view of an IrGraph: names and constants are borrowed from the
 * IR, nodes are shared, except that a node with a subgraph attribute (If) gets a copy of
 * its attributes whose graph pointers refer to the lowered subgraphs.
 */
#include "ir.h"

#include <stdlib.h>
#include <string.h>

#include "../runtime/rt_exec.h"

struct IrLowered {
    RtGraph g;
    const char **names;      /* [n_values] owned array, borrowed strings */
    const RtTensor **consts; /* [n_values] owned array, borrowed tensors */
    RtNode *nodes;           /* [n_nodes] owned copy */
    RtAttr **attr_copies;    /* [n_nodes] owned, NULL unless the node has graph attributes */
    IrLowered **children;    /* [n_children] owned */
    int n_children;
    int n_nodes;
};

void ir_lowered_free(IrLowered *l) {
    if (!l) return;
    for (int i = 0; i < l->n_children; i++) ir_lowered_free(l->children[i]);
    if (l->attr_copies)
        for (int k = 0; k < l->n_nodes; k++) free(l->attr_copies[k]);
    free(l->attr_copies);
    free(l->children);
    free(l->names);
    free(l->consts);
    free(l->nodes);
    free(l);
}

const RtGraph *ir_lowered_graph(const IrLowered *l) { return &l->g; }

static int lower_subgraphs(IrLowered *l, int k, RtError *err) {
    RtNode *n = &l->nodes[k];
    int n_graphs = 0;
    for (int a = 0; a < n->n_attr; a++) n_graphs += n->attrs[a].type == RT_ATTR_GRAPH;
    if (!n_graphs) return RT_OK;
    RtAttr *copy = malloc(sizeof(RtAttr) * (size_t)n->n_attr);
    IrLowered **kids = realloc(l->children, sizeof(IrLowered *) * (size_t)(l->n_children + n_graphs));
    if (!copy || !kids) {
        free(copy);
        if (kids) l->children = kids;
        return rt_error_set(err, "out of memory");
    }
    l->children = kids;
    l->attr_copies[k] = copy;
    memcpy(copy, n->attrs, sizeof(RtAttr) * (size_t)n->n_attr);
    for (int a = 0; a < n->n_attr; a++) {
        if (copy[a].type != RT_ATTR_GRAPH) continue;
        IrLowered *child = ir_lower((const IrGraph *)copy[a].g, err);
        if (!child) return RT_ERR;
        l->children[l->n_children++] = child;
        copy[a].g = &child->g;
    }
    n->attrs = copy;
    return RT_OK;
}

IrLowered *ir_lower(const IrGraph *g, RtError *err) {
    IrLowered *l = calloc(1, sizeof *l);
    size_t nv = (size_t)(g->n_values ? g->n_values : 1), nn = (size_t)(g->n_nodes ? g->n_nodes : 1);
    if (l) {
        l->names = calloc(nv, sizeof *l->names);
        l->consts = calloc(nv, sizeof *l->consts);
        l->nodes = calloc(nn, sizeof *l->nodes);
        l->attr_copies = calloc(nn, sizeof *l->attr_copies);
    }
    if (!l || !l->names || !l->consts || !l->nodes || !l->attr_copies) {
        rt_error_set(err, "out of memory");
        ir_lowered_free(l);
        return NULL;
    }
    l->n_nodes = g->n_nodes;
    for (int v = 0; v < g->n_values; v++) {
        l->names[v] = g->values[v].name;
        l->consts[v] = g->values[v].konst;
    }
    if (g->n_nodes) memcpy(l->nodes, g->nodes, sizeof(RtNode) * (size_t)g->n_nodes);
    for (int k = 0; k < g->n_nodes; k++) {
        if (lower_subgraphs(l, k, err) != RT_OK) {
            ir_lowered_free(l);
            return NULL;
        }
    }
    l->g.n_values = g->n_values;
    l->g.value_names = l->names;
    l->g.consts = l->consts;
    l->g.n_nodes = g->n_nodes;
    l->g.nodes = l->nodes;
    l->g.n_inputs = g->n_inputs;
    l->g.inputs = g->inputs;
    l->g.n_outputs = g->n_outputs;
    l->g.outputs = g->outputs;
    l->g.n_declared = g->n_declared;
    return l;
}

/* Outputs come from the runtime's default allocator, which is posix_memalign: free() works. */
int ir_run(const IrGraph *g, const RtTensor *inputs, RtTensor *outputs, RtError *err) {
    return ir_run_opts(g, inputs, outputs, NULL, err);
}

int ir_run_opts(const IrGraph *g, const RtTensor *inputs, RtTensor *outputs,
                const struct RtRunOptions *opts, RtError *err) {
    IrLowered *l = ir_lower(g, err);
    if (!l) return RT_ERR;
    int r = rt_graph_run_opts(&l->g, inputs, outputs, opts, err);
    ir_lowered_free(l);
    return r;
}
