/*
 * onnx_export_u8.c — int8 activations of an exported QDQ graph as uint8, the form
 * onnxruntime's x86 QDQ fusions expect (its own quantizer writes uint8 activations and int8
 * weights; with int8 activations only the convolutions whose Q -> DQ pairs it can rewrite
 * itself get fused: 1 of digits_cnn's 3 and 37 of mobilenet_v2's 52 measured).
 *
 * Exact: with q8 = q - 128 and z8 = z - 128 in int8, the same tensor in uint8 is q8 + 128 with
 * zero point z8 + 128, so DequantizeLinear gives (q8 + 128 - z8 - 128) * s, the same values,
 * and QuantizeLinear's saturation to [-128, 127] maps onto [0, 255].
 *
 * Algorithm: for each QuantizeLinear with an int8 constant zero point, follow its output
 * through the ops that only move or select elements (MaxPool, Flatten, Reshape, Transpose,
 * Squeeze, Unsqueeze, Identity, Slice, DepthToSpace, SpaceToDepth: they commute with the
 * +128) to the DequantizeLinear nodes that read it. When every reader is one of those and no
 * value of the chain is a graph output, the Q's and the DQs' zero points become uint8
 * constants (z + 128; a DQ without zero point gets 128) and the chain's values uint8.
 * Otherwise the chain stays int8 (still valid ONNX, only not fused by onnxruntime).
 */
#include "onnx_export_internal.h"

#include <stdlib.h>
#include <string.h>

static int u8_passes_through(int op) {
    return op == RT_OP_MAX_POOL || op == RT_OP_FLATTEN || op == RT_OP_RESHAPE || op == RT_OP_TRANSPOSE ||
           op == RT_OP_SQUEEZE || op == RT_OP_UNSQUEEZE || op == RT_OP_IDENTITY || op == RT_OP_SLICE ||
           op == RT_OP_DEPTH_TO_SPACE || op == RT_OP_SPACE_TO_DEPTH;
}

/* A chain: the values reached from a Q's output and the DQ nodes reading them. */
typedef struct {
    int *vals, n_vals;           /* [n_vals] values of the chain (the Q's output first) */
    int *dqs, n_dqs;             /* [n_dqs] DequantizeLinear node indices */
} U8Chain;

static int u8_const_i8(const IrGraph *g, int v) {
    return v >= 0 && g->values[v].konst && g->values[v].konst->dtype == RT_I8 && g->values[v].konst->data;
}

/* Follows value v; 1 when the chain can convert, 0 when not. vals/dqs have room for every
 * value / node of g. */
static int u8_follow(const IrGraph *g, int v, U8Chain *c) {
    if (ir_value_is_output(g, v)) return 0;
    for (int i = 0; i < c->n_vals; i++)
        if (c->vals[i] == v) return 1;
    c->vals[c->n_vals++] = v;
    for (int k = 0; k < g->n_nodes; k++) {
        const RtNode *n = &g->nodes[k];
        for (int j = 0; j < n->n_in; j++) {
            if (n->in[j] != v) continue;
            if (j == 0 && n->op == RT_OP_DEQUANTIZE_LINEAR && (n->n_in < 3 || n->in[2] < 0 || u8_const_i8(g, n->in[2]))) {
                c->dqs[c->n_dqs++] = k;
            } else if (j == 0 && u8_passes_through(n->op) && n->n_out >= 1) {
                if (!u8_follow(g, n->out[0], c)) return 0;
            } else {
                return 0;
            }
        }
    }
    return 1;
}

/* A uint8 copy of int8 zero point zv (z + 128), or the scalar 128 when zv < 0. */
static int u8_zero_point(ExCtx *x, int zv, const char *base) {
    uint8_t one = 128;
    const RtTensor *z = zv >= 0 ? x->g->values[zv].konst : NULL;
    RtTensor t = {RT_U8, z ? z->rank : 0, {0}, &one};
    if (z) {
        memcpy(t.dims, z->dims, sizeof t.dims);
        int64_t n = rt_numel(z);
        uint8_t *p = ir_alloc(x->g, (size_t)(n > 0 ? n : 1));
        if (!p) return ex_fail(x, NULL, "out of memory"), -1;
        for (int64_t i = 0; i < n; i++) p[i] = (uint8_t)(((const int8_t *)z->data)[i] + 128);
        t.data = p;
    }
    return ex_const(x, zv >= 0 ? x->g->values[zv].name : base, "_u8", &t);
}

static int u8_convert(ExCtx *x, int q, U8Chain *c) {
    IrGraph *g = x->g;
    int zq = u8_zero_point(x, g->nodes[q].in[2], "");
    if (zq < 0) return RT_ERR;
    g->nodes[q].in[2] = zq;
    for (int i = 0; i < c->n_dqs; i++) {
        RtNode *d = &g->nodes[c->dqs[i]];
        int zd = u8_zero_point(x, d->n_in >= 3 ? d->in[2] : -1, g->values[d->in[0]].name);
        if (zd < 0) return RT_ERR;
        if (d->n_in >= 3) {
            d->in[2] = zd;
        } else { /* DQ(x, s) -> DQ(x, s, 128) */
            int *in = ir_alloc(g, sizeof(int) * 3);
            if (!in) return ex_fail(x, NULL, "out of memory");
            in[0] = d->in[0], in[1] = d->in[1], in[2] = zd;
            d->in = in;
            d->n_in = 3;
        }
    }
    for (int i = 0; i < c->n_vals; i++) g->values[c->vals[i]].dtype = RT_U8;
    return RT_OK;
}

int ex_activations_u8(ExCtx *x) {
    IrGraph *g = x->g;
    U8Chain c = {malloc(sizeof(int) * (size_t)(g->n_values + 1)), 0, malloc(sizeof(int) * (size_t)(g->n_nodes + 1)), 0};
    int r = c.vals && c.dqs ? RT_OK : ex_fail(x, NULL, "out of memory");
    int n_nodes = g->n_nodes; /* the conversion adds constants, never nodes */
    for (int k = 0; k < n_nodes && r == RT_OK; k++) {
        const RtNode *n = &g->nodes[k];
        if (n->op != RT_OP_QUANTIZE_LINEAR || n->n_in < 3 || !u8_const_i8(g, n->in[2]) || n->out[0] < 0) continue;
        c.n_vals = c.n_dqs = 0;
        if (u8_follow(g, n->out[0], &c)) r = u8_convert(x, k, &c);
    }
    free(c.vals);
    free(c.dqs);
    return r;
}
