/*
 * ir_verify.c — structural invariants of an IR graph, checked after every pass.
 *
 * One walk over the nodes in order with a "defined" flag per value: graph inputs and
 * constants start defined; each node's inputs must already be defined (topological order,
 * no use before definition), then its outputs become defined (each by one node only, never
 * a graph input or constant). Node indices, value producers, graph outputs and attributes
 * (against runtime/ops.def) are checked on the way; subgraphs are verified recursively.
 * Nodes marked IR_OP_DELETED (a pass's work in progress) are skipped.
 *
 * Every message names the node ("node 'conv1' (Conv)") and the value, so a pass bug reads
 * as what went wrong where; subgraph messages get the enclosing node in front.
 */
#include "ir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What one value slot is known to be while walking the nodes. */
enum { DEF_NONE = 0, DEF_INPUT = 1, DEF_CONST = 2, DEF_NODE = 3 };

static const char *node_name(const RtNode *n) { return n->name ? n->name : ""; }

static const char *node_op(const RtNode *n) {
    return n->op_type ? n->op_type : rt_op_name(n->op);
}

static const char *value_name(const IrGraph *g, int v) {
    return (v >= 0 && v < g->n_values && g->values[v].name) ? g->values[v].name : "?";
}

/* Graph inputs and outputs: in range, inputs not repeated, not produced later. */
static int verify_interface(const IrGraph *g, char *def, RtError *err) {
    for (int i = 0; i < g->n_inputs; i++) {
        int v = g->inputs[i];
        if (v < 0 || v >= g->n_values)
            return rt_error_set(err, "graph input %d refers to value %d (graph has %d values)", i,
                                v, g->n_values);
        if (def[v] == DEF_INPUT)
            return rt_error_set(err, "value '%s' is listed twice as a graph input", value_name(g, v));
        def[v] = DEF_INPUT;
    }
    for (int v = 0; v < g->n_values; v++) {
        if (!g->values[v].name)
            return rt_error_set(err, "value %d has no name", v);
        if (g->values[v].rank < -1 || g->values[v].rank > RT_MAX_RANK)
            return rt_error_set(err, "value '%s' has rank %d", value_name(g, v), g->values[v].rank);
        if (g->values[v].konst && def[v] == DEF_NONE) def[v] = DEF_CONST;
    }
    for (int i = 0; i < g->n_outputs; i++) {
        int v = g->outputs[i];
        if (v < 0 || v >= g->n_values)
            return rt_error_set(err, "graph output %d refers to value %d (graph has %d values)", i,
                                v, g->n_values);
    }
    return RT_OK;
}

static int verify_attrs(const IrGraph *g, const RtNode *n, RtError *err) {
    for (int a = 0; a < n->n_attr; a++) {
        const RtAttr *at = &n->attrs[a];
        if (!at->name)
            return rt_error_set(err, "node '%s' (%s): attribute %d has no name", node_name(n),
                                node_op(n), a);
        for (int b = 0; b < a; b++)
            if (strcmp(n->attrs[b].name, at->name) == 0)
                return rt_error_set(err, "node '%s' (%s): attribute '%s' appears twice",
                                    node_name(n), node_op(n), at->name);
        if (n->op != RT_OP_UNKNOWN && !rt_op_attr_allowed(n->op, at->name))
            return rt_error_set(err, "node '%s' (%s): attribute '%s' is not allowed on %s",
                                node_name(n), node_op(n), at->name, rt_op_name(n->op));
        if (at->type == RT_ATTR_GRAPH) {
            if (!at->g)
                return rt_error_set(err, "node '%s' (%s): graph attribute '%s' is empty",
                                    node_name(n), node_op(n), at->name);
            if (ir_verify((const IrGraph *)at->g, err) != RT_OK) {
                char tmp[sizeof err->msg];
                snprintf(tmp, sizeof tmp, "%s", err->msg);
                snprintf(err->msg, sizeof err->msg, "node '%s' (%s), subgraph '%s': %s",
                         node_name(n), node_op(n), at->name, tmp);
                return RT_ERR;
            }
        }
    }
    (void)g;
    return RT_OK;
}

/* Node k's inputs must be defined already; its outputs are defined here, once. */
static int verify_node(const IrGraph *g, int k, char *def, RtError *err) {
    const RtNode *n = &g->nodes[k];
    if (n->op < 0 || n->op >= RT_OP_COUNT)
        return rt_error_set(err, "node '%s' (%s): op number %d out of range", node_name(n),
                            node_op(n), n->op);
    if (n->n_in < 0 || n->n_out < 0 || (n->n_in && !n->in) || (n->n_out && !n->out))
        return rt_error_set(err, "node '%s' (%s): bad input/output lists", node_name(n), node_op(n));
    for (int j = 0; j < n->n_in; j++) {
        int v = n->in[j];
        if (v == -1) continue;
        if (v < -1 || v >= g->n_values)
            return rt_error_set(err, "node '%s' (%s): input %d refers to value %d (graph has %d values)",
                                node_name(n), node_op(n), j, v, g->n_values);
        if (def[v] == DEF_NONE) {
            int p = g->values[v].producer;
            if (p > k && p < g->n_nodes)
                return rt_error_set(err,
                                    "node '%s' (%s): input %d '%s' is used before it is defined "
                                    "(produced later by node '%s' (%s): not in topological order)",
                                    node_name(n), node_op(n), j, value_name(g, v),
                                    node_name(&g->nodes[p]), node_op(&g->nodes[p]));
            return rt_error_set(err,
                                "node '%s' (%s): input %d '%s' is used before it is defined "
                                "(not a graph input, constant or output of an earlier node)",
                                node_name(n), node_op(n), j, value_name(g, v));
        }
    }
    for (int j = 0; j < n->n_out; j++) {
        int v = n->out[j];
        if (v == -1) continue;
        if (v < -1 || v >= g->n_values)
            return rt_error_set(err, "node '%s' (%s): output %d refers to value %d (graph has %d values)",
                                node_name(n), node_op(n), j, v, g->n_values);
        static const char *const what[] = {"", "a graph input", "a constant", "produced by an earlier node"};
        if (def[v] != DEF_NONE)
            return rt_error_set(err, "node '%s' (%s): output %d '%s' is already %s", node_name(n),
                                node_op(n), j, value_name(g, v), what[(int)def[v]]);
        if (g->values[v].producer != k)
            return rt_error_set(err, "node '%s' (%s): output '%s' records producer %d, not this node (%d)",
                                node_name(n), node_op(n), value_name(g, v), g->values[v].producer, k);
        def[v] = DEF_NODE;
    }
    return verify_attrs(g, n, err);
}

/* Each value has at most one producing node (checked before the walk so the message names
 * both producers rather than a stale producer index). */
static int verify_single_producer(const IrGraph *g, int *first, RtError *err) {
    for (int v = 0; v < g->n_values; v++) first[v] = -1;
    for (int k = 0; k < g->n_nodes; k++) {
        const RtNode *n = &g->nodes[k];
        if (n->op == IR_OP_DELETED || !n->out) continue;
        for (int j = 0; j < n->n_out; j++) {
            int v = n->out[j];
            if (v < 0 || v >= g->n_values) continue; /* reported by verify_node */
            if (first[v] >= 0) {
                const RtNode *m = &g->nodes[first[v]];
                return rt_error_set(err, "value '%s' is produced by two nodes: '%s' (%s) and '%s' (%s)",
                                    value_name(g, v), node_name(m), node_op(m), node_name(n),
                                    node_op(n));
            }
            first[v] = k;
        }
    }
    return RT_OK;
}

int ir_verify(const IrGraph *g, RtError *err) {
    if (g->n_values < 0 || g->n_nodes < 0 || g->n_inputs < 0 || g->n_outputs < 0)
        return rt_error_set(err, "graph '%s': negative counts", g->name ? g->name : "");
    char *def = calloc((size_t)g->n_values + 1, 1);
    int *first = malloc(sizeof(int) * ((size_t)g->n_values + 1));
    if (!def || !first) {
        free(def);
        free(first);
        return rt_error_set(err, "out of memory");
    }
    int r = verify_interface(g, def, err);
    if (r == RT_OK) r = verify_single_producer(g, first, err);
    for (int k = 0; r == RT_OK && k < g->n_nodes; k++)
        if (g->nodes[k].op != IR_OP_DELETED) r = verify_node(g, k, def, err);
    for (int v = 0; r == RT_OK && v < g->n_values; v++) {
        int p = g->values[v].producer;
        if (p != -1 && def[v] != DEF_NODE && (p < 0 || p >= g->n_nodes || g->nodes[p].op != IR_OP_DELETED))
            r = rt_error_set(err, "value '%s' records producer %d, but no node produces it",
                             value_name(g, v), p);
    }
    for (int i = 0; r == RT_OK && i < g->n_outputs; i++)
        if (def[g->outputs[i]] == DEF_NONE)
            r = rt_error_set(err, "graph output '%s' is never defined (no node, input or constant)",
                             value_name(g, g->outputs[i]));
    free(def);
    free(first);
    return r;
}
