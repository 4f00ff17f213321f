/*
 * qdq_import.c — QDQ int8 graphs from other tools onto the int8 kernels (qdq_import.h).
 *
 * A QDQ model keeps every op in float between DequantizeLinear (DQ) and QuantizeLinear (Q)
 * nodes; the integer op is implied. As onnxruntime's QDQ transformer does, each group
 *     DQ(x) [, DQ(w) [, DQ(b) | float b]] -> op [-> Relu | Clip] -> Q
 * becomes one QOperator node reading the DQs' integer inputs and producing the Q's output:
 *   Conv                      -> QLinearConv (x, xs, xz, w, ws, wz, ys, yz, B?)
 *   MatMul, 2-D constant B    -> QLinearMatMul (a, as, az, b, bs, bz, ys, yz), A of any rank
 *                                (qdq_import_matmul.c)
 *   Gemm, 2-D A and B, beta 1 -> com.microsoft QGemm (A, as, az, B, bs, bz, C?, ys, yz)
 *   Add, Mul                  -> com.microsoft QLinearAdd / QLinearMul
 *   AveragePool, GlobalAveragePool -> com.microsoft QLinearAveragePool / QLinearGlobalAveragePool
 *   Concat                    -> com.microsoft QLinearConcat (ys, yz, x0, x0s, x0z, ...)
 *   MaxPool, Reshape, Flatten, Transpose, Squeeze, Unsqueeze, when Q repeats the DQ's scale
 *       and zero point        -> the same op on the integer tensor (it only moves values)
 * and one weight-only form (no Q: A stays float):
 *   MatMul(A, DQ(B)) [-> Add(bias [N])], B a constant [K, N] of 4- or 8-bit codes blocked
 *       along K (opset 21, block_size a multiple of 16), per column or per tensor; and
 *       Gemm(A, DQ(B), C?) so (alpha = beta = 1, transA = 0, either transB)
 *       -> com.microsoft MatMulNBits (qdq_import_matmul.c; the same float32 weights, only
 *       the float sums' order differs)
 * Conditions (anything else stays in float, which computes what the file says, so a group
 * that does not match is never wrong, only slower):
 *   activations: DQ with one float32 scale and one uint8/int8 zero point of x's dtype; Q the
 *       same (its output dtype given by the zero point), reading the op's output, which no
 *       other node and no graph output reads;
 *   weights (Conv W, MatMul B, Gemm B): a uint8/int8 constant through a DQ, per tensor or per
 *       output channel (Conv axis 0; Gemm the N axis, 0 when transB else 1; MatMul per column,
 *       axis 1 or -1, as QLinearMatMul's b_scale [N] reads it),
 *       or a float32 constant through Q -> DQ of the same parameters (fake quantization), whose
 *       codes are computed here as QuantizeLinear would;
 *   bias (Conv B, Gemm C): an int32 constant through a DQ whose scale is xs * ws[m] (float32,
 *       relative difference below BIAS_SCALE_RTOL) and whose zero point is 0, or a float32
 *       constant, quantized here to int32 round(b / (xs * ws[m])) (what onnxruntime does with
 *       float biases; the rounding moves the output by at most half of xs*ws, far below one
 *       output step y_scale);
 *   Relu / Clip between the op and Q: dropped when Q's saturation already does their work:
 *       Q(lo) is the lowest code of the type and Q(hi) the highest (Relu: lo = 0, hi = inf),
 *       then Q(clip(v)) = Q(v) for every v, exactly (Q is monotone). Otherwise the group stays.
 * Constants may sit behind Identity nodes (exporters share biases that way). Absent zero
 * points are first made explicit (zero of the type the spec implies).
 * Numerics are then those of the QOperator kernels: integer accumulation, float requantize,
 * round half to even, saturation; wafer's fast QLinearConv / QLinearAdd differ from the spec
 * by one output step at rounding ties (see runtime/kernels/x86/qlinear_contrib_x86.c).
 * Where it runs: cli_model_load (wafer run, bench, eval, quantize, so .wafer files keep the
 * integer ops, and emit-c, whose C kernels cover every op above, unless --keep-qdq).
 */
#include "qdq_import.h"
#include "qdq_import_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/kernels/quant.h"
#include "quantize_internal.h"

/* Relative difference allowed between a DQ'd int32 bias's scale and xs * ws[m]: exporters
 * compute the product in float32 or float64, which differ in the last bits only. */
#define BIAS_SCALE_RTOL 1e-6

/* The constant behind v (through Identity nodes), or -1. */
int qdq_konst_of(const IrGraph *g, int v) {
    for (int hops = 0; v >= 0 && hops < 64; hops++) {
        if (g->values[v].konst && g->values[v].konst->data) return v;
        int p = g->values[v].producer;
        if (p < 0 || g->nodes[p].op != RT_OP_IDENTITY || g->nodes[p].n_in < 1) return -1;
        v = g->nodes[p].in[0];
    }
    return -1;
}

/* Per-tensor quantization parameters of node n (Q or DQ = op): one float32 scale, one
 * uint8/int8 zero point. Returns 1 and fills p. */
static int params_1(const IrGraph *g, const RtNode *n, int op, QzParams *p) {
    if (!qz_params(g, n, op, p) || p->block) return 0;
    if (p->scale->dtype != RT_F32 || rt_numel(p->scale) != 1 || !(((const float *)p->scale->data)[0] > 0)) return 0;
    if (!p->zp || !qdq_is_q8(p->zp->dtype) || rt_numel(p->zp) != 1) return 0;
    if (op == RT_OP_QUANTIZE_LINEAR) {
        int64_t od = rt_attr_int(n, "output_dtype", 0);
        if (!rt_attr_int(n, "saturate", 1) || (od && od != (int64_t)p->zp->dtype)) return 0;
    }
    return 1;
}

/* v's element type without shape inference (the loader leaves computed values untyped): a
 * constant's, a QuantizeLinear output's (its zero point's), else what is recorded. */
static RtDtype int_dtype(const IrGraph *g, int v) {
    if (g->values[v].konst) return g->values[v].konst->dtype;
    int p = g->values[v].producer;
    if (p >= 0 && g->nodes[p].op == RT_OP_QUANTIZE_LINEAR) {
        int z = qz_in(&g->nodes[p], 2);
        if (z >= 0 && g->values[z].konst) return g->values[z].konst->dtype;
    }
    return g->values[v].dtype;
}

/* v produced by a per-tensor DQ of a uint8/int8 activation: the DQ's node index, else -1. */
int qdq_act_dq(const IrGraph *g, int v, QzParams *p) {
    if (v < 0 || g->values[v].producer < 0) return -1;
    int d = g->values[v].producer;
    if (!params_1(g, &g->nodes[d], RT_OP_DEQUANTIZE_LINEAR, p)) return -1;
    RtDtype xt = int_dtype(g, p->x);
    return xt == p->zp->dtype ? d : -1;
}

/* The lowest and highest codes of a uint8/int8 type. */
static void q8_range(RtDtype t, int32_t *lo, int32_t *hi) {
    *lo = t == RT_U8 ? 0 : -128;
    *hi = t == RT_U8 ? 255 : 127;
}

/* A float32 constant weight through Q -> DQ with the same parameters (fake quantization, as
 * quantization-aware training exports it): the codes, computed once as QuantizeLinear does
 * (saturate(round_even(w / s[c]) + zp[c]), the division in float32), as a new constant. Returns
 * its value index, 0 when v is not that, -1 on error. */
static int weight_codes(IrGraph *g, int v, const QzParams *dq, RtError *err) {
    int qn = g->values[v].producer;
    QzParams q;
    if (qn < 0 || !qz_params(g, &g->nodes[qn], RT_OP_QUANTIZE_LINEAR, &q) || !qz_params_equal(&q, dq) || q.block)
        return 0;
    if (!rt_attr_int(&g->nodes[qn], "saturate", 1) || !dq->zp || !qdq_is_q8(dq->zp->dtype)) return 0;
    int c = qdq_konst_of(g, q.x);
    if (c < 0 || g->values[c].konst->dtype != RT_F32) return 0;
    const RtTensor *w = g->values[c].konst;
    int64_t ns = rt_numel(dq->scale), n = rt_numel(w), inner = 1;
    int ax = (int)(dq->axis < 0 ? dq->axis + w->rank : dq->axis);
    if (ns != 1) {
        if (ax < 0 || ax >= w->rank || w->dims[ax] != ns || rt_numel(dq->zp) != ns) return 0;
        for (int d = ax + 1; d < w->rank; d++) inner *= w->dims[d];
    }
    RtTensor *t = ir_tensor_new(g, dq->zp->dtype, w->rank, w->dims);
    if (!t) return rt_error_set(err, "out of memory"), -1;
    int32_t lo, hi;
    q8_range(dq->zp->dtype, &lo, &hi);
    const float *s = dq->scale->data, *x = w->data;
    for (int64_t i = 0; i < n; i++) {
        int64_t k = ns == 1 ? 0 : (i / inner) % ns;
        float r = nearbyintf(x[i] / s[k]) + (float)rt_qget(dq->zp, k);
        int32_t code = r < (float)lo ? lo : r > (float)hi ? hi : (int32_t)r;
        rt_qset(t, i, code);
    }
    char base[256];
    snprintf(base, sizeof base, "%s_codes", g->values[c].name);
    int r = qz_const_new(g, base, t, err);
    return r < 0 ? -1 : r;
}

/* A constant weight through a DQ: per tensor, or per index of `axis` (of the weight's rank).
 * Fills the integer weight, scale and zero point values. */
int qdq_weight_dq(IrGraph *g, int v, int axis, int per_axis_ok, int *wq, int *ws, int *wz, RtError *err) {
    if (v < 0 || g->values[v].producer < 0) return 0;
    int dn = g->values[v].producer;
    QzParams p;
    if (!qz_params(g, &g->nodes[dn], RT_OP_DEQUANTIZE_LINEAR, &p) || p.block || !p.zp) return 0;
    if (!g->values[p.x].konst) {
        int c = weight_codes(g, p.x, &p, err);
        if (c <= 0) return c;
        p.x = c;
    }
    const RtNode *d = &g->nodes[dn];
    const RtTensor *w = g->values[p.x].konst;
    if (!w || !w->data || !qdq_is_q8(w->dtype) || p.zp->dtype != w->dtype || p.scale->dtype != RT_F32) return 0;
    int64_t ns = rt_numel(p.scale);
    if (ns != rt_numel(p.zp) || p.scale->rank > 1 || p.zp->rank > 1) return 0;
    if (ns != 1) {
        int64_t ax = p.axis < 0 ? p.axis + w->rank : p.axis;
        if (!per_axis_ok || ax != axis || axis >= w->rank || ns != w->dims[axis]) return 0;
    }
    *wq = p.x, *ws = d->in[1], *wz = d->in[2];
    return 1;
}

/* The bias of a group with activation scale xs and weight scales ws[nw] (1 or M), times
 * `mult` (Gemm's beta / alpha): an int32 [M] value index in *bq (-1 when v is absent).
 * Returns 1 when it matches, 0 when not, -1 on error. */
static int bias_int32(IrGraph *g, int v, int64_t M, float xs, const RtTensor *wsc, float mult, int *bq,
                      RtError *err) {
    *bq = -1;
    if (v < 0) return 1;
    const float *ws = wsc->data;
    int64_t nw = rt_numel(wsc);
    for (int hops = 0; hops < 64 && g->values[v].producer >= 0; hops++) { /* through Identity */
        const RtNode *id = &g->nodes[g->values[v].producer];
        if (id->op != RT_OP_IDENTITY || id->n_in < 1 || id->in[0] < 0) break;
        v = id->in[0];
    }
    int p = g->values[v].producer;
    QzParams q;
    const float *bf = NULL; /* the bias as float32, when it must be (re)quantized here */
    float *dq = NULL;
    const char *name = g->values[v].name;
    if (p >= 0 && qz_params(g, &g->nodes[p], RT_OP_DEQUANTIZE_LINEAR, &q)) {
        /* an int32 bias through a DQ: used as it is when its scale is this group's xs * ws[m]
         * (and zero point 0); a DQ'd bias shared with another layer (exporters dedupe equal
         * biases behind Identity nodes) has that layer's scale: dequantized, then requantized */
        const RtTensor *b = g->values[q.x].konst;
        if (!b || !b->data || b->dtype != RT_I32 || b->rank != 1 || b->dims[0] != M) return 0;
        int64_t ns = rt_numel(q.scale);
        if (q.block || q.scale->dtype != RT_F32 || (ns != 1 && ns != M)) return 0;
        if (ns != 1 && q.axis != 0 && q.axis != -1) return 0;
        if (q.zp) {
            if (q.zp->dtype != RT_I32 || (rt_numel(q.zp) != 1 && rt_numel(q.zp) != ns)) return 0;
            for (int64_t i = 0; i < rt_numel(q.zp); i++)
                if (((const int32_t *)q.zp->data)[i] != 0) return 0;
        }
        const float *bs = q.scale->data;
        int same = mult == 1.0f;
        for (int64_t m = 0; m < M && same; m++) {
            double want = (double)(xs * ws[nw > 1 ? m : 0]), got = bs[ns > 1 ? m : 0];
            same = fabs(got - want) <= BIAS_SCALE_RTOL * want;
        }
        if (same) {
            *bq = q.x;
            return 1;
        }
        dq = malloc(sizeof(float) * (size_t)M);
        if (!dq) return rt_error_set(err, "out of memory"), -1;
        for (int64_t m = 0; m < M; m++) dq[m] = (float)((const int32_t *)b->data)[m] * bs[ns > 1 ? m : 0];
        bf = dq;
    } else {
        int c = qdq_konst_of(g, v);
        if (c < 0) return 0;
        const RtTensor *b = g->values[c].konst;
        if (b->dtype != RT_F32 || rt_numel(b) != M || (b->rank != 1 && !(b->rank == 2 && b->dims[0] == 1))) return 0;
        bf = b->data;
        name = g->values[c].name;
    }
    int64_t dims[1] = {M};
    RtTensor *t = ir_tensor_new(g, RT_I32, 1, dims);
    int ok = t != NULL;
    for (int64_t m = 0; ok && m < M; m++) {
        float s = xs * ws[nw > 1 ? m : 0];
        double r = nearbyint((double)(bf[m] * mult / s));
        ok = fabs(r) < 2147483647.0; /* does not fit (or a zero scale): stay float */
        if (ok) ((int32_t *)t->data)[m] = (int32_t)r;
    }
    free(dq);
    if (!t) return rt_error_set(err, "out of memory"), -1;
    if (!ok) return 0;
    char base[256];
    snprintf(base, sizeof base, "%s_int32", name);
    int bv = qz_const_new(g, base, t, err);
    if (bv < 0) return -1;
    *bq = bv;
    return 1;
}

/* QuantizeLinear of one value as the spec computes it: saturate(round_even(v / s) + zp). */
static int32_t q_of(float v, const QzParams *y) {
    int32_t lo, hi, zp = (int32_t)rt_qget(y->zp, 0);
    q8_range(y->zp->dtype, &lo, &hi);
    if (isinf(v)) return v < 0 ? lo : hi;
    double r = nearbyint((double)(v / ((const float *)y->scale->data)[0])) + zp;
    return r < lo ? lo : r > hi ? hi : (int32_t)r;
}

/* Constant Clip bound: input i (opset 11+) or attribute (before), dflt when absent. 0 when
 * the bound is computed. */
static int clip_bound(const IrGraph *g, const RtNode *a, int i, const char *attr, float dflt, float *v) {
    *v = rt_attr_float(a, attr, dflt);
    int in = qz_in(a, i);
    if (in < 0) return 1;
    int c = qdq_konst_of(g, in);
    if (c < 0 || g->values[c].konst->dtype != RT_F32 || rt_numel(g->values[c].konst) != 1) return 0;
    *v = ((const float *)g->values[c].konst->data)[0];
    return 1;
}

/* The one per-tensor Q reading value v (v not a graph output, no other reader); with
 * allow_act, also through a Relu / Clip that Q's saturation makes redundant (*act = its
 * node, else -1). Returns the Q's node index or -1. */
int qdq_out_q(const IrGraph *g, int v, int allow_act, QzParams *y, int *act) {
    *act = -1;
    int r = -1;
    if (v < 0 || ir_value_is_output(g, v) || qz_readers(g, v, &r) != 1) return -1;
    const RtNode *n = &g->nodes[r];
    if ((n->op == RT_OP_RELU || n->op == RT_OP_CLIP) && allow_act) {
        if (n->in[0] != v || n->n_out < 1) return -1;
        float lo = 0, hi = INFINITY;
        if (n->op == RT_OP_CLIP &&
            (!clip_bound(g, n, 1, "min", -INFINITY, &lo) || !clip_bound(g, n, 2, "max", INFINITY, &hi)))
            return -1;
        *act = r;
        int q = qdq_out_q(g, n->out[0], 0, y, act);
        *act = r;
        if (q < 0) return -1;
        int32_t qlo, qhi;
        q8_range(y->zp->dtype, &qlo, &qhi);
        if (q_of(lo, y) != qlo || q_of(hi, y) != qhi) return -1;
        return q;
    }
    if (!params_1(g, n, RT_OP_QUANTIZE_LINEAR, y) || n->in[0] != v) return -1;
    return r;
}

/* Node k becomes `op` (domain from ops.def) reading in[n_in] and producing Q node q's output;
 * q and the activation node act (if any) are deleted. */
int qdq_node_become(IrGraph *g, int k, int op, int n_in, const int *in, int q, int act, RtError *err) {
    int *p = ir_alloc(g, sizeof(int) * (size_t)(n_in > 0 ? n_in : 1));
    if (!p) return rt_error_set(err, "out of memory");
    memcpy(p, in, sizeof(int) * (size_t)n_in);
    int yq = g->nodes[q].out[0];
    g->values[yq].dtype = int_dtype(g, yq); /* recorded: the Q that tells it goes now */
    pass_node_delete(g, q);
    if (act >= 0) pass_node_delete(g, act);
    RtNode *n = &g->nodes[k];
    n->op = op;
    n->op_type = rt_op_name(op);
    n->domain = rt_op_domain(op);
    if (n->domain[0]) n->opset = 1;
    n->in = p;
    n->n_in = n_in;
    n->out[0] = yq;
    for (int j = 1; j < n->n_out; j++) n->out[j] = -1;
    n->n_out = 1;
    g->values[yq].producer = k;
    return RT_OK;
}

static const float *scale_data(const IrGraph *g, int v) { return g->values[v].konst->data; }

/* Conv -> QLinearConv. 1 done, 0 no match, -1 error. */
static int import_conv(IrGraph *g, int k, RtError *err) {
    const RtNode *n = &g->nodes[k];
    QzParams x, y;
    int wq, ws, wz, bq, act;
    int xd = qdq_act_dq(g, qz_in(n, 0), &x);
    int q = xd < 0 ? -1 : qdq_out_q(g, n->out[0], 1, &y, &act);
    if (q < 0) return 0;
    int r = qdq_weight_dq(g, qz_in(n, 1), 0, 1, &wq, &ws, &wz, err);
    if (r <= 0) return r;
    const RtTensor *w = g->values[wq].konst;
    if (w->rank < 3) return 0;
    r = bias_int32(g, qz_in(n, 2), w->dims[0], scale_data(g, g->nodes[xd].in[1])[0],
                       g->values[ws].konst, 1.0f, &bq, err);
    if (r <= 0) return r;
    const RtNode *qn = &g->nodes[q], *dn = &g->nodes[xd];
    int in[9] = {x.x, dn->in[1], dn->in[2], wq, ws, wz, qn->in[1], qn->in[2], bq};
    RT_TRY(qdq_node_become(g, k, RT_OP_QLINEAR_CONV, bq >= 0 ? 9 : 8, in, q, act, err));
    return 1;
}

/* Gemm with 2-D A, constant B (per tensor or per column N) and C absent or [N] -> QGemm. */
static int import_gemm(IrGraph *g, int k, RtError *err) {
    const RtNode *n = &g->nodes[k];
    QzParams a, y;
    int bq, bs, bz, act, cq;
    int tb = rt_attr_int(n, "transB", 0) != 0;
    int ad = qdq_act_dq(g, qz_in(n, 0), &a);
    int q = ad < 0 ? -1 : qdq_out_q(g, n->out[0], 1, &y, &act);
    if (q < 0) return 0;
    int r = qdq_weight_dq(g, qz_in(n, 1), tb ? 0 : 1, 1, &bq, &bs, &bz, err);
    if (r <= 0) return r;
    const RtTensor *B = g->values[bq].konst;
    float alpha = rt_attr_float(n, "alpha", 1.0f), beta = rt_attr_float(n, "beta", 1.0f);
    if (B->rank != 2 || !(alpha > 0)) return 0;
    float as = scale_data(g, g->nodes[ad].in[1])[0];
    r = bias_int32(g, qz_in(n, 2), B->dims[tb ? 0 : 1], alpha * as, g->values[bs].konst, beta / alpha, &cq, err);
    if (r <= 0) return r;
    const RtNode *qn = &g->nodes[q], *dn = &g->nodes[ad];
    int in[9] = {a.x, dn->in[1], dn->in[2], bq, bs, bz, cq, qn->in[1], qn->in[2]};
    RtNode orig = *n;
    RT_TRY(qdq_node_become(g, k, RT_OP_QGEMM, 9, in, q, act, err));
    return qz_attrs_copy(g, k, &orig, "alpha,transA,transB", err) == RT_OK ? 1 : -1;
}

/* Add / Mul of two per-tensor DQs -> QLinearAdd / QLinearMul (both operands of one type). */
static int import_binary(IrGraph *g, int k, RtError *err) {
    const RtNode *n = &g->nodes[k];
    QzParams a, b, y;
    int act;
    if (n->n_in != 2 || rt_attr_int(n, "broadcast", 0)) return 0;
    int ad = qdq_act_dq(g, n->in[0], &a), bd = qdq_act_dq(g, n->in[1], &b);
    if (ad < 0 || bd < 0 || a.zp->dtype != b.zp->dtype) return 0;
    int q = qdq_out_q(g, n->out[0], 1, &y, &act);
    if (q < 0 || y.zp->dtype != a.zp->dtype) return 0;
    const RtNode *qn = &g->nodes[q], *an = &g->nodes[ad], *bn = &g->nodes[bd];
    int in[8] = {a.x, an->in[1], an->in[2], b.x, bn->in[1], bn->in[2], qn->in[1], qn->in[2]};
    RT_TRY(qdq_node_become(g, k, n->op == RT_OP_ADD ? RT_OP_QLINEAR_ADD : RT_OP_QLINEAR_MUL, 8, in, q, act, err));
    g->nodes[k].n_attr = 0;
    return 1;
}

/* AveragePool (no dilations) / GlobalAveragePool -> QLinearAveragePool / QLinearGlobalAveragePool. */
static int import_avgpool(IrGraph *g, int k, RtError *err) {
    const RtNode *n = &g->nodes[k];
    QzParams x, y;
    int act;
    int gap = n->op == RT_OP_GLOBAL_AVERAGE_POOL;
    if (!gap) {
        const int64_t *d = NULL;
        int nd = rt_attr_ints(n, "dilations", &d);
        for (int i = 0; d && i < nd; i++)
            if (d[i] != 1) return 0;
    }
    int xd = qdq_act_dq(g, qz_in(n, 0), &x);
    int q = xd < 0 ? -1 : qdq_out_q(g, n->out[0], 0, &y, &act);
    if (q < 0 || y.zp->dtype != x.zp->dtype) return 0;
    const RtNode *qn = &g->nodes[q], *dn = &g->nodes[xd];
    int in[5] = {x.x, dn->in[1], dn->in[2], qn->in[1], qn->in[2]};
    RtNode orig = *n;
    int op = gap ? RT_OP_QLINEAR_GLOBAL_AVERAGE_POOL : RT_OP_QLINEAR_AVERAGE_POOL;
    RT_TRY(qdq_node_become(g, k, op, 5, in, q, act, err));
    const char *keep = gap ? "" : "auto_pad,ceil_mode,count_include_pad,kernel_shape,pads,strides";
    return qz_attrs_copy(g, k, &orig, keep, err) == RT_OK ? 1 : -1;
}

/* Concat of per-tensor DQs of one type -> QLinearConcat(ys, yz, x0, x0s, x0z, ...). */
static int import_concat(IrGraph *g, int k, RtError *err) {
    const RtNode *n = &g->nodes[k];
    QzParams x, y;
    int act;
    if (n->n_in < 1) return 0;
    int q = qdq_out_q(g, n->out[0], 0, &y, &act);
    if (q < 0) return 0;
    for (int j = 0; j < n->n_in; j++)
        if (qdq_act_dq(g, n->in[j], &x) < 0 || x.zp->dtype != y.zp->dtype) return 0;
    int m = 2 + 3 * n->n_in;
    int *in = ir_alloc(g, sizeof(int) * (size_t)m);
    if (!in) return rt_error_set(err, "out of memory"), -1;
    in[0] = g->nodes[q].in[1];
    in[1] = g->nodes[q].in[2];
    for (int j = 0; j < n->n_in; j++) {
        const RtNode *d = &g->nodes[g->values[n->in[j]].producer];
        in[2 + 3 * j] = d->in[0], in[3 + 3 * j] = d->in[1], in[4 + 3 * j] = d->in[2];
    }
    RtNode orig = *n;
    RT_TRY(qdq_node_become(g, k, RT_OP_QLINEAR_CONCAT, m, in, q, act, err));
    return qz_attrs_copy(g, k, &orig, "axis", err) == RT_OK ? 1 : -1;
}

/* MaxPool and the shape ops: run on the integer tensor when Q repeats the DQ's parameters. */
static int import_passthrough(IrGraph *g, int k, RtError *err) {
    const RtNode *n = &g->nodes[k];
    QzParams x, y;
    int act;
    int xd = qdq_act_dq(g, qz_in(n, 0), &x);
    int q = xd < 0 ? -1 : qdq_out_q(g, n->out[0], 0, &y, &act);
    if (q < 0 || !qz_params_equal(&x, &y) || x.zp->dtype != y.zp->dtype) return 0;
    for (int j = 1; j < n->n_out; j++)
        if (n->out[j] >= 0 && (pass_value_live_uses(g, n->out[j]) || ir_value_is_output(g, n->out[j]))) return 0;
    RtNode *m = &g->nodes[k];
    int *p = ir_alloc(g, sizeof(int) * (size_t)m->n_in);
    if (!p) return rt_error_set(err, "out of memory"), -1;
    memcpy(p, m->in, sizeof(int) * (size_t)m->n_in);
    p[0] = x.x;
    m->in = p;
    int yq = g->nodes[q].out[0];
    g->values[yq].dtype = int_dtype(g, yq);
    pass_node_delete(g, q);
    m->out[0] = yq;
    g->values[yq].producer = k;
    return 1;
}

/* Q / DQ nodes without a zero point get an explicit zero of the type the spec implies (DQ:
 * its input's; Q: output_dtype, else uint8) with the scale's shape, so the groups read one
 * form. The same computation; a node whose types are not known here keeps its form. */
static int zero_points_explicit(IrGraph *g, RtError *err) {
    for (int k = 0; k < g->n_nodes; k++) {
        RtNode *n = &g->nodes[k];
        int q = n->op == RT_OP_QUANTIZE_LINEAR;
        if ((!q && n->op != RT_OP_DEQUANTIZE_LINEAR) || n->n_in < 2 || qz_in(n, 2) >= 0 || n->in[0] < 0 || n->in[1] < 0)
            continue;
        const RtTensor *sc = g->values[n->in[1]].konst;
        if (!sc || sc->dtype != RT_F32 || rt_attr_int(n, "block_size", 0)) continue;
        int64_t od = q ? rt_attr_int(n, "output_dtype", 0) : 0;
        RtDtype t = q ? (od ? (RtDtype)od : RT_U8) : int_dtype(g, n->in[0]);
        if (!qdq_is_q8(t)) continue;
        RtTensor *z = ir_tensor_new(g, t, sc->rank, sc->dims);
        if (!z) return rt_error_set(err, "out of memory");
        char base[256];
        snprintf(base, sizeof base, "%s_zero_point", n->name && n->name[0] ? n->name : "qdq");
        int zv = qz_const_new(g, base, z, err);
        if (zv < 0) return RT_ERR;
        n = &g->nodes[k];
        int *in = ir_alloc(g, sizeof(int) * 3);
        if (!in) return rt_error_set(err, "out of memory");
        in[0] = n->in[0], in[1] = n->in[1], in[2] = zv;
        n->in = in;
        n->n_in = 3;
    }
    return RT_OK;
}

int pass_qdq_import(IrGraph *g, int *n_groups, RtError *err) {
    int done = 0;
    RT_TRY(zero_points_explicit(g, err));
    for (int k = 0; k < g->n_nodes; k++) {
        int r = 0;
        switch (g->nodes[k].op) {
        case RT_OP_CONV: r = import_conv(g, k, err); break;
        case RT_OP_MATMUL: r = qdq_matmul_import(g, k, err); break;
        case RT_OP_GEMM:
            r = import_gemm(g, k, err);
            if (r == 0) r = qdq_gemm_import_nbits(g, k, err);
            break;
        case RT_OP_ADD:
        case RT_OP_MUL: r = import_binary(g, k, err); break;
        case RT_OP_AVERAGE_POOL:
        case RT_OP_GLOBAL_AVERAGE_POOL: r = import_avgpool(g, k, err); break;
        case RT_OP_CONCAT: r = import_concat(g, k, err); break;
        case RT_OP_MAX_POOL:
        case RT_OP_FLATTEN:
        case RT_OP_RESHAPE:
        case RT_OP_TRANSPOSE:
        case RT_OP_SQUEEZE:
        case RT_OP_UNSQUEEZE: r = import_passthrough(g, k, err); break;
        default: break;
        }
        if (r < 0) {
            char tmp[sizeof err->msg];
            snprintf(tmp, sizeof tmp, "%s", err->msg);
            snprintf(err->msg, sizeof err->msg, "qdq import: node '%s' (%s): %s", g->nodes[k].name,
                     g->nodes[k].op_type, tmp);
            return RT_ERR;
        }
        done += r;
    }
    if (n_groups) *n_groups = done;
    if (!done) return RT_OK;
    int changed = 0;
    RT_TRY(pass_dead_nodes_run(g, &changed, err));
    return ir_graph_compact(g, err);
}
