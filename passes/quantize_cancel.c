/*
 * quantize_cancel.c — removes quantize/dequantize steps that do nothing useful.
 *
 * Requires: a graph with QuantizeLinear / DequantizeLinear nodes (the quantizer's QDQ form).
 * Provides:
 *   1. DQ -> Q with the same scale, zero point (dtype included) and axis: Q(DQ(q)) = q exactly
 *      (dequantizing gives (q - zp) * s, and requantizing that with the same s and zp rounds
 *      back to q, which is already inside the range), so the Q's readers read q itself.
 *   2. (round_trips) Q -> DQ with the same parameters whose DQ outputs are read only by ops
 *      that are not Q (float ops) and are not graph outputs: the round trip only adds
 *      rounding error between two float ops, so the DQ readers read the Q's float input.
 * The cancelled nodes are removed (the graph is compacted); nodes that lost their last reader
 * (a DQ whose only reader was a cancelled Q) are left for pass_dead_nodes.
 */
#include "quantize_internal.h"

#include <stdlib.h>

/* Rule 1 on the Q node k. */
static int cancel_dq_q(IrGraph *g, int k) {
    QzParams q, dq;
    if (!qz_params(g, &g->nodes[k], RT_OP_QUANTIZE_LINEAR, &q)) return 0;
    int out = g->nodes[k].out[0];
    int d = g->values[q.x].producer;
    if (out < 0 || d < 0 || ir_value_is_output(g, out)) return 0;
    if (!qz_params(g, &g->nodes[d], RT_OP_DEQUANTIZE_LINEAR, &dq) || !qz_params_equal(&q, &dq)) return 0;
    /* A Q with no zero point makes uint8: the DQ's input must have the Q's output dtype. */
    RtDtype qt = q.zp ? q.zp->dtype : RT_U8;
    if (g->values[dq.x].dtype != qt) return 0;
    pass_value_replace_uses(g, out, dq.x);
    pass_node_delete(g, k);
    return 1;
}

/* 1 when every live reader of v is a DQ with parameters p whose output only non-Q nodes read
 * (and is not a graph output), and there is at least one. */
static int only_float_round_trips(const IrGraph *g, int v, const QzParams *p, const char *read_by_q) {
    int readers = 0;
    for (int k = 0; k < g->n_nodes; k++) {
        const RtNode *n = &g->nodes[k];
        if (n->op == IR_OP_DELETED) continue;
        for (int j = 0; j < n->n_in; j++) {
            if (n->in[j] != v) continue;
            QzParams dq;
            if (j != 0 || !qz_params(g, n, RT_OP_DEQUANTIZE_LINEAR, &dq) || !qz_params_equal(p, &dq)) return 0;
            if (n->out[0] < 0 || ir_value_is_output(g, n->out[0]) || read_by_q[n->out[0]]) return 0;
            readers++;
        }
    }
    return readers > 0;
}

/* Rule 2 on the Q node k. */
static int cancel_round_trip(IrGraph *g, int k, const char *read_by_q) {
    QzParams q;
    if (!qz_params(g, &g->nodes[k], RT_OP_QUANTIZE_LINEAR, &q)) return 0;
    int out = g->nodes[k].out[0];
    if (out < 0 || ir_value_is_output(g, out) || !only_float_round_trips(g, out, &q, read_by_q)) return 0;
    int x = q.x;
    for (int m = 0; m < g->n_nodes; m++) {
        RtNode *n = &g->nodes[m];
        if (n->op != RT_OP_DEQUANTIZE_LINEAR || n->in[0] != out) continue;
        pass_value_replace_uses(g, n->out[0], x);
        pass_node_delete(g, m);
    }
    pass_node_delete(g, k);
    return 1;
}

int quant_qdq_cancel(IrGraph *g, int round_trips, int *changed, RtError *err) {
    int n = 0;
    for (int k = 0; k < g->n_nodes; k++)
        if (g->nodes[k].op == RT_OP_QUANTIZE_LINEAR) n += cancel_dq_q(g, k);
    if (round_trips) {
        /* values some Q reads: a DQ output read by a Q is a requantization, not a float use */
        char *read_by_q = calloc((size_t)g->n_values + 1, 1);
        if (!read_by_q) return rt_error_set(err, "out of memory");
        for (int k = 0; k < g->n_nodes; k++)
            if (g->nodes[k].op == RT_OP_QUANTIZE_LINEAR && g->nodes[k].in[0] >= 0) read_by_q[g->nodes[k].in[0]] = 1;
        for (int k = 0; k < g->n_nodes; k++)
            if (g->nodes[k].op == RT_OP_QUANTIZE_LINEAR) n += cancel_round_trip(g, k, read_by_q);
        free(read_by_q);
    }
    *changed += n;
    return n ? ir_graph_compact(g, err) : RT_OK;
}
