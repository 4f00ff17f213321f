/*
 * quantize.c — pass_quantize_int8, the int8 pipeline in one readable function:
 *
 *   decide      per node: excluded (--exclude), head (quant_head_mark), weight to quantize
 *   weight-only every chosen weight -> int8 constant + DequantizeLinear (quantize_weights.c)
 *   static      split / plan / calibrate / insert Q-DQ (quantize_qdq.c)
 *               cancel DQ -> Q pairs (quantize_cancel.c)
 *               DQ -> op -> Q -> wafer int8 ops (quantize_rewrite.c)
 *               cancel again, now also Q -> DQ round trips between float ops
 *   clean       dead nodes, shapes, verify; the report's counts and each layer's final op
 *
 * Requires: pass_simplify and pass_fuse have run. Provides: see quantize.h.
 */
#include "quantize_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void quant_options_default(QuantOptions *o) {
    memset(o, 0, sizeof *o);
    o->weight_bits = 8;
    o->weight_sym = 1;
    calib_options_default(&o->calib);
}

static int options_check(const QuantOptions *o, RtError *err) {
    if (o->weight_bits != 0 && (o->weight_bits < 2 || o->weight_bits > 8))
        return rt_error_set(err, "weight bits %d: supported are 8, 4, 3, 2 (or float)", o->weight_bits);
    if (o->group < 0) return rt_error_set(err, "group %lld must be >= 0", (long long)o->group);
    if (o->act_int8 && o->weight_bits == 0) return rt_error_set(err, "int8 activations need quantized weights");
    if (o->act_int8 && o->group > 0 && !o->per_tensor)
        return rt_error_set(err, "int8 activations need per-channel or per-tensor weight scales (group 0)");
    if (o->act_int8 && !o->data) return rt_error_set(err, "int8 activations need a calibration set");
    return RT_OK;
}

/* 1 when node k is named `name` (its node name, or the name of its first output). */
static int node_named(const IrGraph *g, int k, const char *name) {
    const RtNode *n = &g->nodes[k];
    if (n->name && strcmp(n->name, name) == 0) return 1;
    return n->n_out > 0 && n->out[0] >= 0 && strcmp(g->values[n->out[0]].name, name) == 0;
}

/* flags[k]: QZ_F_EXCLUDED for --exclude names, QZ_F_WEIGHT for the weights to quantize. */
static int decide(const IrGraph *g, const QuantOptions *o, char *flags, RtError *err) {
    for (int i = 0; i < o->n_exclude; i++) {
        int found = 0;
        for (int k = 0; k < g->n_nodes; k++)
            if (node_named(g, k, o->exclude[i])) flags[k] |= QZ_F_EXCLUDED, found = 1;
        if (!found)
            return rt_error_set(err, "--exclude: no node named '%s' in the graph after fusion (names are ONNX node "
                                     "names or their output names; see wafer inspect --passes)", o->exclude[i]);
    }
    char *head = malloc((size_t)g->n_nodes + 1);
    if (!head) return rt_error_set(err, "out of memory");
    int rc = quant_head_mark(g, head, err);
    for (int k = 0; rc == RT_OK && k < g->n_nodes; k++) {
        int oa, ia;
        if (o->weight_bits && !(flags[k] & QZ_F_EXCLUDED) && (!head[k] || o->quantize_head) &&
            quant_weight_axes(g, &g->nodes[k], &oa, &ia))
            flags[k] |= QZ_F_WEIGHT;
    }
    free(head);
    return rc;
}

static int weight_only(IrGraph *g, const QuantOptions *o, const char *flags, QuantReport *rep, RtError *err) {
    /* graph order; flags stay indexed by the original node numbers (orig), while k follows the
     * node as the DQs inserted before it shift it */
    int n0 = g->n_nodes;
    for (int orig = 0, k = 0; orig < n0; orig++, k++) {
        if (!(flags[orig] & QZ_F_WEIGHT)) continue;
        k = qz_weight_apply(g, k, o, NULL, rep, err);
        if (k < 0) return RT_ERR;
        const RtNode *n = &g->nodes[k];
        if (rep && n->out[0] >= 0 && !qz_report_layer(rep, n->name, n->op_type, g->values[n->out[0]].name, err))
            return RT_ERR;
    }
    return RT_OK;
}

static int static_int8(IrGraph *g, const QuantOptions *o, const char *flags, QuantReport *rep, RtError *err) {
    int changed = 0;
    RT_TRY(qz_static_insert(g, o, flags, rep, err));
    RT_TRY(ir_verify(g, err));
    RT_TRY(quant_qdq_cancel(g, 0, &changed, err));
    RT_TRY(qz_rewrite(g, &changed, err));
    RT_TRY(quant_qdq_cancel(g, 1, &changed, err));
    return ir_graph_compact(g, err); /* drops the nodes marked deleted (dead_nodes only compacts when it removes) */
}

/* A node computing on 8-bit codes: wafer's int8 ops, and any other op whose first input is
 * int8 or uint8 codes (the QLinear ops of an imported QDQ or QOperator model take uint8 too;
 * passes/qdq_import.c), except the DequantizeLinear and Cast that leave the codes. */
static int is_int8_op(const IrGraph *g, const RtNode *n) {
    if (!strcmp(n->domain, "wafer") && n->op != RT_OP_FUSED_CONV && n->op != RT_OP_LINEAR) return 1;
    if (n->n_in < 1 || n->in[0] < 0 || n->op == RT_OP_DEQUANTIZE_LINEAR || n->op == RT_OP_CAST) return 0;
    RtDtype t = g->values[n->in[0]].dtype;
    return t == RT_I8 || t == RT_U8;
}

/* Node counts and each layer's final op. */
static int report_finish(const IrGraph *g, QuantReport *rep, RtError *err) {
    for (int k = 0; k < g->n_nodes; k++) {
        const RtNode *n = &g->nodes[k];
        if (n->op == RT_OP_QUANTIZE_LINEAR) rep->n_quantize++;
        else if (n->op == RT_OP_DEQUANTIZE_LINEAR) rep->n_dequantize++;
        else if (is_int8_op(g, n)) rep->n_int8_nodes++;
        else rep->n_float_nodes++;
    }
    for (int L = 0; L < rep->n_layers; L++) {
        QuantLayerInfo *l = &rep->layers[L];
        if (!l->qvalue) continue;
        int v = ir_value_find(g, l->qvalue);
        int k = v >= 0 ? g->values[v].producer : -1;
        const char *op = k < 0 ? "removed" : g->nodes[k].op == RT_OP_QUANTIZE_LINEAR ? "float between DQ and Q"
                                                                                     : g->nodes[k].op_type;
        char *p = malloc(strlen(op) + 1);
        if (!p) return rt_error_set(err, "out of memory");
        strcpy(p, op);
        free(l->new_op);
        l->new_op = p;
    }
    return RT_OK;
}

int pass_quantize_int8(IrGraph *g, const QuantOptions *o, QuantReport *rep, RtError *err) {
    RT_TRY(options_check(o, err));
    char *flags = calloc((size_t)g->n_nodes + 1, 1);
    if (!flags) return rt_error_set(err, "out of memory");
    int rc = decide(g, o, flags, err);
    if (rc == RT_OK) rc = o->act_int8 ? static_int8(g, o, flags, rep, err) : weight_only(g, o, flags, rep, err);
    free(flags);
    g->keep_dequantize = 1; /* weight codes behind DequantizeLinear stay codes */
    /* drops nodes marked deleted and the float weights nothing reads any more (dead_nodes
     * compacts only when it removes a node itself) */
    if (rc == RT_OK) rc = ir_graph_compact(g, err);
    if (rc == RT_OK) rc = pass_dead_nodes(g, err);
    if (rc == RT_OK) rc = ir_infer_shapes(g, err);
    if (rc == RT_OK) rc = ir_verify(g, err);
    if (rc == RT_OK && rep) rc = report_finish(g, rep, err);
    if (rc != RT_OK) {
        char tmp[sizeof err->msg];
        snprintf(tmp, sizeof tmp, "%s", err->msg);
        snprintf(err->msg, sizeof err->msg, "quantize: %s", tmp);
    }
    return rc;
}
