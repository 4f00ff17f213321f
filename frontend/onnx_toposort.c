/*
 * onnx_toposort.c — puts a graph's nodes in topological order when the file does not.
 *
 * ONNX asks for nodes in topological order, and wafer's loader resolves each input against
 * the values defined before it. Some exporters break the rule: onnxconverter-common's float16
 * conversion with keep_io_types appends the Cast of the graph input *after* the nodes that
 * read it (imgly's IS-Net fp16 background remover is such a file), and onnxruntime loads these
 * by sorting. So does wafer, before conversion: a stable order (a node moves only behind what
 * it reads; a sorted graph, the usual case, is left alone after one pass over its inputs).
 *
 * A node reads its inputs and, through its subgraphs (If, Loop, Scan bodies), every name
 * those read from the enclosing scopes; only names produced by another node of the same
 * graph order anything. Subgraphs are sorted the same way. A cycle is refused, naming a node
 * on it.
 */
#include "onnx_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const OnnxNameMap *producer; /* output name -> index of the node making it */
    const uint8_t *done;         /* nodes already placed */
    int self;                    /* the node being asked about */
} ReadyQuery;

/* 1 when every name np reads (its inputs, its subgraphs' node inputs) is made by a placed
 * node of this graph or by none (graph input, initializer, outer scope). With done NULL:
 * 1 when every producer comes before q->self (the file's order holds). */
static int reads_ready(const Onnx__NodeProto *np, const ReadyQuery *q) {
    for (size_t i = 0; i < np->n_input; i++) {
        if (!np->input[i][0]) continue;
        int p = onnx_names_get(q->producer, np->input[i]);
        if (p < 0) continue;
        if (q->done ? !q->done[p] : p >= q->self) return 0;
    }
    for (size_t a = 0; a < np->n_attribute; a++) {
        const Onnx__AttributeProto *at = np->attribute[a];
        size_t ng = (at->g ? 1 : 0) + at->n_graphs;
        for (size_t k = 0; k < ng; k++) {
            const Onnx__GraphProto *sg = k == 0 && at->g ? at->g : at->graphs[k - (at->g ? 1 : 0)];
            for (size_t j = 0; j < sg->n_node; j++)
                if (!reads_ready(sg->node[j], q)) return 0;
        }
    }
    return 1;
}

static int sort_graph(OnnxCtx *ctx, Onnx__GraphProto *gp);

/* Sorts the subgraphs of every node of gp. */
static int sort_subgraphs(OnnxCtx *ctx, Onnx__GraphProto *gp) {
    for (size_t i = 0; i < gp->n_node; i++)
        for (size_t a = 0; a < gp->node[i]->n_attribute; a++) {
            Onnx__AttributeProto *at = gp->node[i]->attribute[a];
            if (at->g) ONNX_TRY(sort_graph(ctx, at->g));
            for (size_t k = 0; k < at->n_graphs; k++) ONNX_TRY(sort_graph(ctx, at->graphs[k]));
        }
    return RT_OK;
}

static int sort_graph(OnnxCtx *ctx, Onnx__GraphProto *gp) {
    ONNX_TRY(sort_subgraphs(ctx, gp));
    size_t n = gp->n_node;
    if (n < 2) return RT_OK;
    OnnxNameMap producer;
    memset(&producer, 0, sizeof producer);
    int r = RT_OK;
    for (size_t i = 0; i < n && r == RT_OK; i++)
        for (size_t j = 0; j < gp->node[i]->n_output; j++) {
            const char *o = gp->node[i]->output[j];
            /* a name made twice is the converter's error to report; keep the first maker */
            if (o[0] && onnx_names_get(&producer, o) < 0 && onnx_names_put(&producer, o, (int)i) != 0)
                r = onnx_fail(ctx, "out of memory");
        }
    int sorted = 1;
    for (size_t i = 0; i < n && r == RT_OK && sorted; i++) {
        ReadyQuery q = {&producer, NULL, (int)i};
        sorted = reads_ready(gp->node[i], &q);
    }
    if (r != RT_OK || sorted) {
        onnx_names_free(&producer);
        return r;
    }
    /* Passes in file order, each placing every node whose producers are placed: stable, and
     * as many passes as the longest chain of nodes listed before what they read (one or two
     * for the files seen). */
    uint8_t *done = calloc(n, 1);
    Onnx__NodeProto **order = malloc(n * sizeof *order);
    if (!done || !order) r = onnx_fail(ctx, "out of memory");
    size_t placed = 0;
    while (r == RT_OK && placed < n) {
        size_t before = placed;
        for (size_t i = 0; i < n; i++) {
            if (done[i]) continue;
            ReadyQuery q = {&producer, done, (int)i};
            if (reads_ready(gp->node[i], &q)) done[i] = 1, order[placed++] = gp->node[i];
        }
        if (placed == before) {
            size_t i = 0;
            while (done[i]) i++;
            char nd[300];
            r = onnx_fail(ctx, "graph '%s': %s is on a cycle (its inputs depend on its own outputs)",
                          gp->name ? gp->name : "", onnx_node_desc(gp->node[i], nd, sizeof nd));
        }
    }
    if (r == RT_OK) memcpy(gp->node, order, n * sizeof *order);
    free(done);
    free(order);
    onnx_names_free(&producer);
    return r;
}

int onnx_toposort(OnnxCtx *ctx, Onnx__GraphProto *gp) { return sort_graph(ctx, gp); }
