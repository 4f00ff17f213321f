/*
 * quantize_weights.c — weights to int8: the arithmetic (quant_weight_compute), which inputs
 * are weights (quant_weight_axes), the head rule (quant_head_mark), and the graph edit that
 * puts an int8 constant + DequantizeLinear in front of a float op (qz_weight_apply).
 *
 * Algorithm (round to nearest, per scale group g: the whole tensor, one output channel, or
 * one block of G consecutive input elements of one output channel):
 *   symmetric int8  s = max |w| / 127, q = clamp(rne(w / s), -127, 127), zp = 0 (the int8
 *               convention of onnxruntime and TFLite: -128 unused, so the grid is symmetric)
 *   symmetric b < 8 (as GPTQ's reference code): all 2^b levels, s = 2 max |w| / (2^b - 1),
 *               q = clamp(rne(w / s), -2^(b-1), 2^(b-1) - 1), zp = 0; with 4 bits every level
 *               counts, so the largest positive weights clip by half a step instead of wasting
 *               a level (RTN 4-bit g128 on tinylm: 2.4665, the fixture's reference number)
 *   asymmetric  lo = min(0, min w), hi = max(0, max w), s = (hi - lo) / (2^b - 1),
 *               zp = clamp(rne(-2^(b-1) - lo / s)), q = clamp(rne(w / s) + zp, -2^(b-1), 2^(b-1)-1)
 * with w / s divided in float32 (rt_quantize_f32) so that the values match what a
 * QuantizeLinear of the same float scale would produce. s = 0 (an all-zero group) becomes 1.
 * Blocked scales follow ONNX's blocked DequantizeLinear (opset 21): the scale has the
 * weight's shape with the input axis cut to ceil(D / G).
 */
#include "quantize_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/kernels/quant.h"

void quant_weight_free(QuantWeight *qw) {
    free(qw->q.data);
    free(qw->scale.data);
    free(qw->zp.data);
    memset(qw, 0, sizeof *qw);
}

/* How elements map to scale groups: group of element i. */
typedef struct {
    int mode;                 /* 0 per tensor, 1 per channel, 2 blocked */
    int64_t C, inner;         /* channel: count and the stride after out_axis */
    int64_t D, G, nb;         /* blocked: axis length, block, number of blocks */
} GroupMap;

static int64_t group_of(const GroupMap *m, int64_t i) {
    if (m->mode == 0) return 0;
    if (m->mode == 1) return (i / m->inner) % m->C;
    int64_t o = i / (m->D * m->inner), d = (i / m->inner) % m->D, r = i % m->inner;
    return (o * m->nb + d / m->G) * m->inner + r;
}

/* Scale shape and the group map for the chosen granularity. */
static int groups_plan(const RtTensor *w, int out_axis, int in_axis, const QuantWeightSpec *s, GroupMap *m,
                       QuantWeight *qw, RtError *err) {
    memset(m, 0, sizeof *m);
    qw->scale.dtype = RT_F32;
    if (s->per_tensor) {
        qw->scale.rank = 0;
        return RT_OK;
    }
    if (s->group > 0) {
        if (in_axis < 0 || in_axis >= w->rank) return rt_error_set(err, "input axis %d out of range", in_axis);
        m->mode = 2;
        m->D = w->dims[in_axis];
        m->G = s->group;
        m->nb = (m->D + m->G - 1) / m->G;
        m->inner = rt_shape_numel(w->rank - in_axis - 1, w->dims + in_axis + 1);
        qw->scale.rank = w->rank;
        for (int d = 0; d < w->rank; d++) qw->scale.dims[d] = d == in_axis ? m->nb : w->dims[d];
        qw->axis = in_axis;
        qw->block = s->group;
        return RT_OK;
    }
    if (out_axis < 0 || out_axis >= w->rank) return rt_error_set(err, "output axis %d out of range", out_axis);
    m->mode = 1;
    m->C = w->dims[out_axis];
    m->inner = rt_shape_numel(w->rank - out_axis - 1, w->dims + out_axis + 1);
    qw->scale.rank = 1;
    qw->scale.dims[0] = m->C;
    qw->axis = out_axis;
    return RT_OK;
}

/* The integer range of b-bit weights (see the header comment). */
static void weight_range(const QuantWeightSpec *s, int32_t *qmin, int32_t *qmax) {
    *qmax = (1 << (s->bits - 1)) - 1;
    *qmin = s->sym && s->bits == 8 ? -*qmax : -*qmax - 1;
}

/* Scale and zero point of one group from its range [lo, hi] (lo <= 0 <= hi). */
static void group_params(double lo, double hi, const QuantWeightSpec *s, double min_scale, float *scale,
                         int8_t *zp) {
    int32_t qmin, qmax;
    weight_range(s, &qmin, &qmax);
    /* symmetric: max |w| at qmax (int8) or at the middle of the 2^b levels (low bits) */
    double sc = s->sym ? fmax(-lo, hi) / (s->bits == 8 ? qmax : qmax + 0.5) : (hi - lo) / (double)(qmax - qmin);
    if (!(sc > 0) || !isfinite((float)sc)) sc = 1.0;
    if (sc < min_scale) sc = min_scale;
    *scale = (float)sc;
    *zp = s->sym ? 0 : (int8_t)rt_round_sat(qmin - lo / (double)*scale, 0, qmin, qmax);
}

int quant_weight_compute(const RtTensor *w, int out_axis, int in_axis, const QuantWeightSpec *s,
                         const float *min_scale, QuantWeight *qw, RtError *err) {
    memset(qw, 0, sizeof *qw);
    if (w->dtype != RT_F32 || !w->data || w->rank < 1)
        return rt_error_set(err, "weight must be float32 data of rank >= 1");
    if (s->bits < 2 || s->bits > 8) return rt_error_set(err, "weight bits %d outside 2..8", s->bits);
    if (s->group < 0) return rt_error_set(err, "group %lld must be >= 0", (long long)s->group);
    GroupMap m;
    RT_TRY(groups_plan(w, out_axis, in_axis, s, &m, qw, err));
    int64_t n = rt_numel(w), ng = rt_numel(&qw->scale);
    const float *x = w->data;
    double *lo = calloc((size_t)ng, sizeof *lo), *hi = calloc((size_t)ng, sizeof *hi);
    qw->q = *w;
    qw->q.dtype = RT_I8;
    qw->q.data = malloc((size_t)(n ? n : 1));
    qw->scale.data = malloc(sizeof(float) * (size_t)ng);
    qw->zp = qw->scale;
    qw->zp.dtype = RT_I8;
    qw->zp.data = malloc((size_t)ng);
    if (!lo || !hi || !qw->q.data || !qw->scale.data || !qw->zp.data) {
        free(lo);
        free(hi);
        quant_weight_free(qw);
        return rt_error_set(err, "out of memory");
    }
    qw->wmin = INFINITY;
    qw->wmax = -INFINITY;
    int bad = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t gi = group_of(&m, i);
        bad |= !isfinite(x[i]);
        lo[gi] = fmin(lo[gi], x[i]);
        hi[gi] = fmax(hi[gi], x[i]);
        qw->wmin = fminf(qw->wmin, x[i]);
        qw->wmax = fmaxf(qw->wmax, x[i]);
    }
    float *sc = qw->scale.data;
    int8_t *zp = qw->zp.data, *q = qw->q.data;
    for (int64_t gi = 0; gi < ng && !bad; gi++) {
        double ms = 0;
        if (min_scale) ms = min_scale[gi];
        group_params(lo[gi], hi[gi], s, ms, &sc[gi], &zp[gi]);
    }
    int32_t qmin, qmax;
    weight_range(s, &qmin, &qmax);
    for (int64_t i = 0; i < n && !bad; i++) {
        int64_t gi = group_of(&m, i);
        q[i] = (int8_t)rt_quantize_f32(x[i], sc[gi], zp[gi], qmin, qmax);
    }
    free(lo);
    free(hi);
    if (bad) {
        quant_weight_free(qw);
        return rt_error_set(err, "weight has NaN or infinite values");
    }
    return RT_OK;
}

int quant_weight_axes(const IrGraph *g, const RtNode *n, int *out_axis, int *in_axis) {
    if (n->op == IR_OP_DELETED || n->n_in < 2 || n->in[0] < 0 || n->in[1] < 0) return 0;
    const RtTensor *w = g->values[n->in[1]].konst;
    if (!w || w->dtype != RT_F32 || !w->data) return 0;
    switch (n->op) {
    case RT_OP_CONV:
    case RT_OP_FUSED_CONV: /* W [M, C/group, k...] */
        if (w->rank < 3) return 0;
        *out_axis = 0, *in_axis = 1;
        return 1;
    case RT_OP_LINEAR: /* W [K, N] */
        if (w->rank != 2) return 0;
        *out_axis = 1, *in_axis = 0;
        return 1;
    case RT_OP_MATMUL: /* B [..., K, N] */
        if (w->rank < 2) return 0;
        *out_axis = w->rank - 1, *in_axis = w->rank - 2;
        return 1;
    case RT_OP_GEMM: /* B [K, N], or [N, K] with transB */
        if (w->rank != 2) return 0;
        if (rt_attr_int(n, "transB", 0)) *out_axis = 0, *in_axis = 1;
        else *out_axis = 1, *in_axis = 0;
        return 1;
    default:
        return 0;
    }
}

int quant_head_mark(const IrGraph *g, char *head, RtError *err) {
    char *seen = calloc((size_t)g->n_values + 1, 1);
    int *stack = malloc(sizeof(int) * (size_t)(g->n_values + 1));
    if (!seen || !stack) {
        free(seen);
        free(stack);
        return rt_error_set(err, "out of memory");
    }
    int top = 0, oa, ia;
    memset(head, 0, (size_t)g->n_nodes);
    for (int i = 0; i < g->n_outputs; i++)
        if (!seen[g->outputs[i]]) seen[g->outputs[i]] = 1, stack[top++] = g->outputs[i];
    while (top > 0) {
        int k = g->values[stack[--top]].producer;
        if (k < 0 || g->nodes[k].op == IR_OP_DELETED) continue;
        const RtNode *n = &g->nodes[k];
        if (quant_weight_axes(g, n, &oa, &ia)) {
            head[k] = 1;
            continue;
        }
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] >= 0 && !seen[n->in[j]]) seen[n->in[j]] = 1, stack[top++] = n->in[j];
    }
    free(seen);
    free(stack);
    return RT_OK;
}

/* A report entry for a quantized weight. */
static int weight_report(QuantReport *rep, const IrGraph *g, int v, const RtNode *n, const QuantWeight *qw,
                         const QuantOptions *o, RtError *err) {
    if (!rep) return RT_OK;
    QuantTensorInfo *t = qz_report_tensor(rep, g->values[v].name, n->name, err);
    if (!t) return RT_ERR;
    t->kind = QUANT_T_WEIGHT;
    t->bits = o->weight_bits;
    t->granularity = o->per_tensor ? "tensor" : o->group > 0 ? "group" : "channel";
    qz_report_scales(t, &qw->scale, &qw->zp);
    snprintf(t->observer, sizeof t->observer, "%s", o->weight_sym ? "absmax" : "minmax");
    t->lo = t->hi = NAN;
    t->min = qw->wmin;
    t->max = qw->wmax;
    return RT_OK;
}

int qz_weight_apply(IrGraph *g, int k, const QuantOptions *o, const float *min_scale, QuantReport *rep,
                    RtError *err) {
    int oa, ia;
    if (!quant_weight_axes(g, &g->nodes[k], &oa, &ia)) return rt_error_set(err, "no quantizable weight"), -1;
    int wv = g->nodes[k].in[1];
    QuantWeightSpec spec = {o->weight_bits, o->weight_sym, o->group, o->per_tensor};
    QuantWeight qw;
    if (quant_weight_compute(g->values[wv].konst, oa, ia, &spec, min_scale, &qw, err) != RT_OK) {
        char tmp[sizeof err->msg];
        snprintf(tmp, sizeof tmp, "%s", err->msg);
        snprintf(err->msg, sizeof err->msg, "node '%s' (%s), weight '%s': %s", g->nodes[k].name,
                 g->nodes[k].op_type, g->values[wv].name, tmp);
        return -1;
    }
    char base[512];
    const char *wn = g->values[wv].name;
    snprintf(base, sizeof base, "%s_quantized", wn);
    int qv = qz_const_new(g, base, &qw.q, err);
    snprintf(base, sizeof base, "%s_scale", wn);
    int sv = qv < 0 ? -1 : qz_const_new(g, base, &qw.scale, err);
    snprintf(base, sizeof base, "%s_zero_point", wn);
    int zv = sv < 0 ? -1 : qz_const_new(g, base, &qw.zp, err);
    snprintf(base, sizeof base, "%s_dequantized", wn);
    int dv = zv < 0 ? -1 : qz_value_new(g, base, &g->values[wv], RT_F32, err);
    int in[3] = {qv, sv, zv};
    char name[512];
    snprintf(name, sizeof name, "%s/weight_dq", g->nodes[k].name);
    int d = dv < 0 ? -1 : qz_node_insert(g, k, RT_OP_DEQUANTIZE_LINEAR, name, 3, in, 1, &dv, err);
    if (d >= 0 && qw.scale.rank > 0) { /* a 1-D or blocked scale is per axis */
        if (qz_attr_set_int(g, d, "axis", qw.axis, err) != RT_OK) d = -1;
        if (d >= 0 && qw.block > 0 && qz_attr_set_int(g, d, "block_size", qw.block, err) != RT_OK) d = -1;
    }
    if (d >= 0) {
        g->nodes[k + 1].in[1] = dv;
        if (weight_report(rep, g, qv, &g->nodes[k + 1], &qw, o, err) != RT_OK) d = -1;
    }
    quant_weight_free(&qw);
    return d < 0 ? -1 : k + 1;
}
