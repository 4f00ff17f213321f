/*
 * quantize_rewrite.c — turns DequantizeLinear -> op -> QuantizeLinear patterns of the QDQ
 * graph into wafer's int8 ops (contracts in runtime/kernels/wafer_ops.h), the way
 * onnxruntime's QDQ transformer turns them into QLinear ops.
 *
 * Requires: the QDQ form made by quantize_qdq.c (activations per-tensor int8 with a zero
 * point, weights int8 constants per output channel or per tensor through a DQ, biases int32
 * constants through a DQ whose scale is x_scale * w_scale), after DQ -> Q pairs cancelled.
 * Provides, for node k whose output is read only by one Q (and is not a graph output) and
 * whose activation inputs come from per-tensor DQs:
 *   Conv, FusedConv (no / Relu / Clip activation)   -> QConv, activation as qmin/qmax; an output
 *       quantized per channel (axis 1, one zero point; quantize_perchan.c) folds the channel
 *       scales s_c into the weight scales: QConv with y_scale max s_c, w_scale_c * max s / s_c
 *   Linear (same activations), MatMul with a 2-D W  -> QLinear, W transposed to [N, K]
 *   Add, Mul                                        -> QAdd, QMul
 *   AveragePool, GlobalAveragePool                  -> QAveragePool, QGlobalAveragePool
 *   Concat                                          -> QConcat
 *   an element-wise function of one input (HardSwish, HardSigmoid, Sigmoid, Tanh, Gelu,
 *       LeakyRelu, Clip, ...; quantize_lut.c)       -> QLut with its 256-entry table; [C, 256]
 *       tables, one per channel, when the DQ in front is per channel on axis 1
 *   MaxPool, Flatten, Reshape, Transpose, Squeeze, Unsqueeze, nearest Resize, when the Q after
 *       has the DQ's scale and zero point           -> the same op on the int8 tensor
 * The node keeps its name and position and produces the Q's output value; the Q is deleted,
 * the DQs in front lose a reader (dead-node removal takes them when it was the last).
 * A node that does not match stays as it is: a float op between DQ and Q, which computes the
 * same thing (in float) and so is always a correct fallback.
 */
#include "quantize_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/kernels/quant.h"

/* The one Q reading node k's output 0 (int8 per tensor, not a graph output), else -1. Any
 * other output of k must be unused. */
static int out_q(const IrGraph *g, int k, QzParams *p) {
    const RtNode *n = &g->nodes[k];
    if (n->n_out < 1 || n->out[0] < 0 || ir_value_is_output(g, n->out[0])) return -1;
    for (int j = 1; j < n->n_out; j++)
        if (n->out[j] >= 0 && (qz_readers(g, n->out[j], NULL) || ir_value_is_output(g, n->out[j]))) return -1;
    int q = -1;
    if (qz_readers(g, n->out[0], &q) != 1) return -1;
    if (!qz_params(g, &g->nodes[q], RT_OP_QUANTIZE_LINEAR, p)) return -1;
    if (p->scale->dtype != RT_F32 || rt_numel(p->scale) != 1) return -1;
    if (!p->zp || p->zp->dtype != RT_I8 || rt_numel(p->zp) != 1) return -1;
    return q;
}

/* The one Q reading node k's output 0 when it quantizes per channel on axis 1 (float32 scales
 * [C], C = channels, one int8 zero point repeated, quantize_perchan.c), else -1. */
static int out_q_channels(const IrGraph *g, int k, int64_t channels, QzParams *p) {
    const RtNode *n = &g->nodes[k];
    int q = -1;
    if (n->n_out != 1 || n->out[0] < 0 || ir_value_is_output(g, n->out[0]) || qz_readers(g, n->out[0], &q) != 1)
        return -1;
    if (!qz_params(g, &g->nodes[q], RT_OP_QUANTIZE_LINEAR, p) || p->block || !p->zp) return -1;
    const RtTensor *s = p->scale, *z = p->zp;
    if (s->dtype != RT_F32 || s->rank != 1 || s->dims[0] != channels || z->dtype != RT_I8 || rt_numel(z) != channels)
        return -1;
    int64_t rank = g->values[n->out[0]].rank;
    if (!(p->axis == 1 || (rank > 1 && p->axis == 1 - rank))) return -1;
    for (int64_t c = 0; c < channels; c++)
        if (((const int8_t *)z->data)[c] != ((const int8_t *)z->data)[0] || !(((const float *)s->data)[c] > 0)) return -1;
    return q;
}

/* Node k becomes `op` with inputs in[n_in] and produces the output of Q node q. */
static int node_become(IrGraph *g, int k, int op, int n_in, const int *in, int q, RtError *err) {
    int *p = ir_alloc(g, sizeof(int) * (size_t)(n_in > 0 ? n_in : 1));
    if (!p) return rt_error_set(err, "out of memory");
    memcpy(p, in, sizeof(int) * (size_t)n_in);
    int yq = g->nodes[q].out[0];
    pass_node_delete(g, q);
    RtNode *n = &g->nodes[k];
    n->op = op;
    n->op_type = rt_op_name(op);
    n->domain = rt_op_domain(op);
    n->in = p;
    n->n_in = n_in;
    n->out[0] = yq;
    for (int j = 1; j < n->n_out; j++) n->out[j] = -1;
    n->n_out = 1;
    g->values[yq].producer = k;
    return RT_OK;
}

/* A weight through a DQ: int8 constant, float32 scale (one value, or [C] along `axis` of the
 * weight), int8 zero point of the scale's size. Returns 1 and the value indices. */
static int dq_weight(const IrGraph *g, int v, int axis, int *wq, int *ws, int *wz) {
    if (v < 0 || g->values[v].producer < 0) return 0;
    const RtNode *d = &g->nodes[g->values[v].producer];
    QzParams p;
    if (!qz_params(g, d, RT_OP_DEQUANTIZE_LINEAR, &p) || p.block || !p.zp) return 0;
    const RtTensor *w = g->values[p.x].konst;
    if (!w || !w->data || w->dtype != RT_I8 || p.scale->dtype != RT_F32 || p.zp->dtype != RT_I8) return 0;
    int64_t ns = rt_numel(p.scale);
    if (ns != rt_numel(p.zp)) return 0;
    if (ns != 1 && (p.scale->rank != 1 || (p.axis < 0 ? p.axis + w->rank : p.axis) != axis || ns != w->dims[axis]))
        return 0;
    *wq = p.x, *ws = d->in[1], *wz = d->in[2];
    return 1;
}

/* An int32 bias [M] through a DQ (scale x_scale * w_scale); *bq = its int32 constant. Absent
 * (v < 0) matches with *bq = -1. */
static int dq_bias(const IrGraph *g, int v, int64_t M, int *bq) {
    *bq = -1;
    if (v < 0) return 1;
    if (g->values[v].producer < 0) return 0;
    QzParams p;
    if (!qz_params(g, &g->nodes[g->values[v].producer], RT_OP_DEQUANTIZE_LINEAR, &p)) return 0;
    const RtTensor *b = g->values[p.x].konst;
    if (!b || b->dtype != RT_I32 || b->rank != 1 || b->dims[0] != M) return 0;
    *bq = p.x;
    return 1;
}

/* qmin/qmax of a fused activation (none, Relu, Clip) on node k; 0 when the activation has no
 * integer form. */
static int act_clamp(const RtNode *n, const QzParams *y, int32_t *qmin, int32_t *qmax) {
    const char *act = n->op == RT_OP_CONV || n->op == RT_OP_MATMUL ? "" : rt_attr_str(n, "activation", "");
    double ys = ((const float *)y->scale->data)[0];
    int32_t zp = ((const int8_t *)y->zp->data)[0];
    *qmin = -128, *qmax = 127;
    if (!act[0]) return 1;
    if (strcmp(act, "Relu") == 0) {
        *qmin = zp;
        return 1;
    }
    if (strcmp(act, "Clip") == 0) {
        *qmin = rt_round_sat(rt_attr_float(n, "alpha", 0) / ys, zp, -128, 127);
        *qmax = rt_round_sat(rt_attr_float(n, "beta", 0) / ys, zp, -128, 127);
        return *qmin <= *qmax;
    }
    return 0;
}

static int set_clamp(IrGraph *g, int k, int32_t qmin, int32_t qmax, RtError *err) {
    if (qmin > -128) RT_TRY(qz_attr_set_int(g, k, "qmin", qmin, err));
    if (qmax < 127) RT_TRY(qz_attr_set_int(g, k, "qmax", qmax, err));
    return RT_OK;
}

/* A conv output quantized per channel, s_c (out_q_channels): requantizing channel c to s_c is
 * requantizing to y_scale = max s_c with weight scale w_scale_c * y_scale / s_c (the same
 * multiplier x_scale * w_scale_c / s_c; the int8 weight and int32 bias codes unchanged).
 * *ws becomes that [C] weight-scale constant, *ys and *yz scalar constants. */
static int fold_channel_scales(IrGraph *g, const QzParams *y, int *ws, int *ys, int *yz, RtError *err) {
    const RtTensor *s = y->scale, *w = g->values[*ws].konst;
    int64_t C = s->dims[0];
    if (!w || w->dtype != RT_F32 || (rt_numel(w) != 1 && rt_numel(w) != C)) return 0;
    float top = 0;
    for (int64_t c = 0; c < C; c++) top = fmaxf(top, ((const float *)s->data)[c]);
    float *f = malloc(sizeof(float) * (size_t)C);
    if (!f) return rt_error_set(err, "out of memory");
    for (int64_t c = 0; c < C; c++)
        f[c] = (float)((double)((const float *)w->data)[rt_numel(w) == 1 ? 0 : c] * top / ((const float *)s->data)[c]);
    char base[512];
    snprintf(base, sizeof base, "%s_channels", g->values[*ws].name);
    RtTensor t = {RT_F32, 1, {C}, f};
    int wv = qz_const_new(g, base, &t, err);
    free(f);
    if (wv < 0) return -1;
    snprintf(base, sizeof base, "%s_max", g->values[y->x].name);
    int sv = qz_const_f32(g, base, top, err);
    int zv = sv < 0 ? -1 : qz_const_i8(g, base, ((const int8_t *)y->zp->data)[0], err);
    if (zv < 0) return -1;
    *ws = wv, *ys = sv, *yz = zv;
    return 1;
}

/* Conv / FusedConv -> QConv. 1 done, 0 no match, <0 error. */
static int rewrite_conv(IrGraph *g, int k, RtError *err) {
    const RtNode *n = &g->nodes[k];
    QzParams x, y;
    int wq, ws, wz, bq;
    if (qz_dq_per_tensor(g, qz_in(n, 0), &x) < 0 || !dq_weight(g, qz_in(n, 1), 0, &wq, &ws, &wz)) return 0;
    int64_t M = g->values[wq].konst->dims[0];
    if (!dq_bias(g, qz_in(n, 2), M, &bq)) return 0;
    int q = out_q(g, k, &y), ys = -1, yz = -1;
    if (q < 0 && (q = out_q_channels(g, k, M, &y)) >= 0) {
        if (n->op != RT_OP_CONV && rt_attr_str(n, "activation", "")[0]) return 0; /* one bound for all channels */
        if (rt_numel(g->values[wz].konst) != 1 && rt_numel(g->values[wz].konst) != M) return 0;
        int r = fold_channel_scales(g, &y, &ws, &ys, &yz, err);
        if (r <= 0) return r;
        if (rt_numel(g->values[wz].konst) == 1 && rt_numel(g->values[ws].konst) != 1) { /* zp to [M] too */
            int8_t *z = malloc((size_t)M);
            if (!z) return rt_error_set(err, "out of memory");
            memset(z, ((const int8_t *)g->values[wz].konst->data)[0], (size_t)M);
            RtTensor tz = {RT_I8, 1, {M}, z};
            char base[512];
            snprintf(base, sizeof base, "%s_channels", g->values[wz].name);
            wz = qz_const_new(g, base, &tz, err);
            free(z);
            if (wz < 0) return -1;
        }
        n = &g->nodes[k];
        QzParams y1 = y; /* act_clamp reads one scale: the folded y_scale */
        y1.scale = g->values[ys].konst, y1.zp = g->values[yz].konst;
        y = y1;
    }
    int32_t qmin, qmax;
    if (q < 0 || !act_clamp(n, &y, &qmin, &qmax)) return 0;
    int xd = g->values[n->in[0]].producer;
    const RtNode *qn = &g->nodes[q];
    int in[9] = {x.x, g->nodes[xd].in[1], g->nodes[xd].in[2], wq, ws, wz, ys >= 0 ? ys : qn->in[1],
                 yz >= 0 ? yz : qn->in[2], bq};
    RtNode orig = *n;
    RT_TRY(node_become(g, k, RT_OP_QCONV, bq >= 0 ? 9 : 8, in, q, err));
    RT_TRY(qz_attrs_copy(g, k, &orig, "auto_pad,dilations,group,kernel_shape,pads,strides", err));
    RT_TRY(set_clamp(g, k, qmin, qmax, err));
    return 1;
}

/* Linear / MatMul with a DQ'd [K, N] weight -> QLinear with the weight as [N, K]. */
static int rewrite_linear(IrGraph *g, int k, RtError *err) {
    const RtNode *n = &g->nodes[k];
    QzParams x, y;
    int wq, ws, wz, bq = -1;
    if (qz_dq_per_tensor(g, qz_in(n, 0), &x) < 0 || !dq_weight(g, qz_in(n, 1), 1, &wq, &ws, &wz)) return 0;
    const RtTensor *w = g->values[wq].konst;
    if (w->rank != 2) return 0;
    if (n->op == RT_OP_MATMUL && (g->values[x.x].rank < 2 || n->n_in != 2)) return 0;
    if (n->op == RT_OP_LINEAR && !dq_bias(g, qz_in(n, 2), w->dims[1], &bq)) return 0;
    int q = out_q(g, k, &y);
    int32_t qmin, qmax;
    if (q < 0 || !act_clamp(n, &y, &qmin, &qmax)) return 0;
    int64_t K = w->dims[0], N = w->dims[1], nk[2] = {N, K};
    char base[512];
    snprintf(base, sizeof base, "%s_nk", g->values[wq].name);
    RtTensor t = {RT_I8, 2, {N, K}, NULL};
    RtTensor *wt = ir_tensor_new(g, RT_I8, 2, nk);
    if (!wt) return rt_error_set(err, "out of memory");
    const int8_t *src = w->data;
    int8_t *dst = wt->data;
    for (int64_t kk = 0; kk < K; kk++)
        for (int64_t c = 0; c < N; c++) dst[c * K + kk] = src[kk * N + c];
    t.data = wt->data;
    int wtv = qz_const_new(g, base, &t, err);
    if (wtv < 0) return -1;
    n = &g->nodes[k];
    int xd = g->values[n->in[0]].producer;
    const RtNode *qn = &g->nodes[q];
    int in[9] = {x.x, g->nodes[xd].in[1], g->nodes[xd].in[2], wtv, ws, wz, qn->in[1], qn->in[2], bq};
    RT_TRY(node_become(g, k, RT_OP_QLINEAR, bq >= 0 ? 9 : 8, in, q, err));
    g->nodes[k].n_attr = 0;
    g->nodes[k].attrs = NULL;
    RT_TRY(set_clamp(g, k, qmin, qmax, err));
    return 1;
}

/* Add / Mul of two DQ'd tensors -> QAdd / QMul. */
static int rewrite_binary(IrGraph *g, int k, RtError *err) {
    const RtNode *n = &g->nodes[k];
    QzParams a, b, y;
    if (n->n_in != 2 || rt_attr_int(n, "broadcast", 0)) return 0;
    int ad = qz_dq_per_tensor(g, n->in[0], &a), bd = qz_dq_per_tensor(g, n->in[1], &b);
    int q = ad < 0 || bd < 0 ? -1 : out_q(g, k, &y);
    if (q < 0) return 0;
    const RtNode *qn = &g->nodes[q];
    int in[8] = {a.x, g->nodes[ad].in[1], g->nodes[ad].in[2], b.x, g->nodes[bd].in[1], g->nodes[bd].in[2],
                 qn->in[1], qn->in[2]};
    int op = n->op == RT_OP_ADD ? RT_OP_QADD : RT_OP_QMUL;
    RT_TRY(node_become(g, k, op, 8, in, q, err));
    g->nodes[k].n_attr = 0;
    g->nodes[k].attrs = NULL;
    return 1;
}

/* AveragePool / GlobalAveragePool -> QAveragePool / QGlobalAveragePool. */
static int rewrite_avgpool(IrGraph *g, int k, RtError *err) {
    const RtNode *n = &g->nodes[k];
    QzParams x, y;
    int xd = qz_dq_per_tensor(g, qz_in(n, 0), &x);
    int q = xd < 0 ? -1 : out_q(g, k, &y);
    if (q < 0) return 0;
    const RtNode *qn = &g->nodes[q];
    int in[5] = {x.x, g->nodes[xd].in[1], g->nodes[xd].in[2], qn->in[1], qn->in[2]};
    RtNode orig = *n;
    int gap = n->op == RT_OP_GLOBAL_AVERAGE_POOL;
    RT_TRY(node_become(g, k, gap ? RT_OP_QGLOBAL_AVERAGE_POOL : RT_OP_QAVERAGE_POOL, 5, in, q, err));
    return qz_attrs_copy(g, k, &orig, gap ? "" : "auto_pad,ceil_mode,count_include_pad,dilations,kernel_shape,pads,strides",
                         err) == RT_OK ? 1 : -1;
}

/* Concat of DQ'd tensors -> QConcat(y_scale, y_zp, x0, x0_scale, x0_zp, ...). */
static int rewrite_concat(IrGraph *g, int k, RtError *err) {
    const RtNode *n = &g->nodes[k];
    QzParams x, y;
    if (n->n_in < 1) return 0;
    for (int j = 0; j < n->n_in; j++)
        if (qz_dq_per_tensor(g, n->in[j], &x) < 0) return 0;
    int q = out_q(g, k, &y);
    if (q < 0) return 0;
    int m = 2 + 3 * n->n_in;
    int *in = ir_alloc(g, sizeof(int) * (size_t)m);
    if (!in) return rt_error_set(err, "out of memory");
    in[0] = g->nodes[q].in[1];
    in[1] = g->nodes[q].in[2];
    for (int j = 0; j < n->n_in; j++) {
        const RtNode *d = &g->nodes[g->values[n->in[j]].producer];
        in[2 + 3 * j] = d->in[0], in[3 + 3 * j] = d->in[1], in[4 + 3 * j] = d->in[2];
    }
    RtNode orig = *n;
    RT_TRY(node_become(g, k, RT_OP_QCONCAT, m, in, q, err));
    return qz_attrs_copy(g, k, &orig, "axis", err) == RT_OK ? 1 : -1;
}

/* MaxPool and the shape ops on int8: the Q after must repeat the DQ's parameters. */
static int rewrite_passthrough(IrGraph *g, int k, RtError *err) {
    (void)err;
    const RtNode *n = &g->nodes[k];
    QzParams x, y;
    int xd = qz_dq_per_tensor(g, qz_in(n, 0), &x);
    int q = xd < 0 ? -1 : out_q(g, k, &y);
    if (q < 0 || !qz_params_equal(&x, &y)) return 0;
    RtNode *m = &g->nodes[k];
    int *p = ir_alloc(g, sizeof(int) * (size_t)m->n_in);
    if (!p) return rt_error_set(err, "out of memory");
    memcpy(p, m->in, sizeof(int) * (size_t)m->n_in);
    p[0] = x.x;
    m->in = p;
    int yq = g->nodes[q].out[0];
    pass_node_delete(g, q);
    m->out[0] = yq;
    g->values[yq].producer = k;
    return 1;
}

/* The producer of v when v's only reader is node `reader` and the producer is a tabulatable
 * function (quantize_lut.c), else -1. */
static int lut_link(const IrGraph *g, int v, int reader) {
    int p = v >= 0 ? g->values[v].producer : -1, only = -1;
    if (p < 0 || ir_value_is_output(g, v) || qz_readers(g, v, &only) != 1 || only != reader) return -1;
    return qz_lut_input(g, &g->nodes[p]) >= 0 ? p : -1;
}

/* The producer of v when it is a DequantizeLinear per channel on axis 1 of an int8 tensor
 * (float32 scales [C], int8 zero points [C]), with *C set; else -1. */
static int dq_channels(const IrGraph *g, int v, QzParams *p, int64_t *C) {
    int k = v >= 0 ? g->values[v].producer : -1;
    if (k < 0 || !qz_params(g, &g->nodes[k], RT_OP_DEQUANTIZE_LINEAR, p) || p->block || !p->zp) return -1;
    const RtTensor *s = p->scale, *z = p->zp;
    int rank = g->values[p->x].rank;
    if (g->values[p->x].dtype != RT_I8 || s->dtype != RT_F32 || s->rank != 1 || z->dtype != RT_I8 ||
        rt_numel(z) != s->dims[0] || (rank >= 0 && rank < 2) || !(p->axis == 1 || (rank >= 2 && p->axis == 1 - rank)))
        return -1; /* rank unknown (lost through a Resize of dynamic sizes): the kernel checks C */
    *C = s->dims[0];
    return k;
}

/* An element-wise function of one DQ'd tensor, or a chain of them planned as one int8 step
 * (DQ -> f1 -> ... -> fn -> Q), -> QLut with the table of their composition. */
static int rewrite_lut(IrGraph *g, int k, RtError *err) {
    QzParams x, y;
    int chain[QZ_LUT_MAX_CHAIN], n = 0, j = k;
    int xd = -1;
    int64_t C = 1; /* tables: one, or one per channel of a per-channel DQ */
    while (n < QZ_LUT_MAX_CHAIN) { /* back from k to the DQ */
        int slot = qz_lut_input(g, &g->nodes[j]);
        if (slot < 0) return 0;
        chain[n++] = j;
        int v = g->nodes[j].in[slot];
        if ((xd = qz_dq_per_tensor(g, v, &x)) >= 0 || (xd = dq_channels(g, v, &x, &C)) >= 0) break;
        if ((j = lut_link(g, v, j)) < 0) return 0;
    }
    if (xd < 0) return 0;
    int q = out_q(g, k, &y);
    if (q < 0) return 0;
    for (int i = 0; i < n / 2; i++) { /* graph order */
        int t = chain[i];
        chain[i] = chain[n - 1 - i], chain[n - 1 - i] = t;
    }
    int8_t *table = malloc((size_t)(256 * C));
    if (!table) return rt_error_set(err, "out of memory");
    float ys = ((const float *)y.scale->data)[0];
    int32_t yz = ((const int8_t *)y.zp->data)[0];
    int rc = RT_OK;
    for (int64_t c = 0; rc == RT_OK && c < C; c++) /* channel c's codes mean (q - xz_c) xs_c */
        rc = qz_lut_table(g, chain, n, ((const float *)x.scale->data)[c], ((const int8_t *)x.zp->data)[c], ys, yz,
                          table + 256 * c, err);
    char base[512];
    snprintf(base, sizeof base, "%s_lut", g->nodes[k].name);
    RtTensor t = {RT_I8, C > 1 || x.scale->rank == 1 ? 2 : 1, {C, 256}, table};
    if (t.rank == 1) t.dims[0] = 256;
    int tv = rc == RT_OK ? qz_const_new(g, base, &t, err) : -1;
    free(table);
    if (tv < 0) return -1;
    RtNode fs[QZ_LUT_MAX_CHAIN]; /* copies: node k changes below; the others die with their readers */
    const RtNode *fp[QZ_LUT_MAX_CHAIN];
    for (int i = 0; i < n; i++) fs[i] = g->nodes[chain[i]], fp[i] = &fs[i];
    const RtNode *qn = &g->nodes[q];
    int in[6] = {x.x, tv, g->nodes[xd].in[1], g->nodes[xd].in[2], qn->in[1], qn->in[2]};
    RT_TRY(node_become(g, k, RT_OP_QLUT, 6, in, q, err));
    g->nodes[k].n_attr = 0;
    g->nodes[k].attrs = NULL;
    RT_TRY(qz_lut_attrs(g, k, fp, n, err));
    if (t.rank == 2) RT_TRY(qz_attr_set_int(g, k, "axis", 1, err));
    for (int i = 0; i + 1 < n; i++) pass_node_delete(g, chain[i]);
    return 1;
}

int qz_rewrite(IrGraph *g, int *changed, RtError *err) {
    for (int k = 0; k < g->n_nodes; k++) {
        int r = 0;
        switch (g->nodes[k].op) {
        case RT_OP_CONV:
        case RT_OP_FUSED_CONV: r = rewrite_conv(g, k, err); break;
        case RT_OP_LINEAR:
        case RT_OP_MATMUL: r = rewrite_linear(g, k, err); break;
        case RT_OP_ADD:
        case RT_OP_MUL:
            r = rewrite_binary(g, k, err);
            if (r == 0) r = rewrite_lut(g, k, err); /* by a constant scalar */
            break;
        case RT_OP_AVERAGE_POOL:
        case RT_OP_GLOBAL_AVERAGE_POOL: r = rewrite_avgpool(g, k, err); break;
        case RT_OP_CONCAT: r = rewrite_concat(g, k, err); break;
        case RT_OP_MAX_POOL:
        case RT_OP_FLATTEN:
        case RT_OP_RESHAPE:
        case RT_OP_TRANSPOSE:
        case RT_OP_SQUEEZE:
        case RT_OP_UNSQUEEZE:
        case RT_OP_RESIZE: r = rewrite_passthrough(g, k, err); break; /* Resize: planned when nearest */
        default: r = rewrite_lut(g, k, err); break;
        }
        if (r < 0) {
            char tmp[sizeof err->msg];
            snprintf(tmp, sizeof tmp, "%s", err->msg);
            snprintf(err->msg, sizeof err->msg, "node '%s' (%s): %s", g->nodes[k].name, g->nodes[k].op_type, tmp);
            return RT_ERR;
        }
        *changed += r;
    }
    return RT_OK;
}
