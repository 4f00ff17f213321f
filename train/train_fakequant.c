/*
 * train_fakequant.c — quantization-aware training: fake-quantized weights (and int8
 * activations) in the forward pass, with the straight-through estimator (see train.h).
 *
 * The weights that get fake-quantized are exactly the ones `wafer quantize` quantizes: every
 * node for which quant_weight_axes() finds a float weight, minus the head (quant_head_mark).
 * Their images are computed by the quantizers' own functions, so the trained weights round to
 * what training saw:
 *   int8: quant_weight_compute (symmetric, one scale per output channel), w_hat = q s;
 *   int4: gptq_rtn on the [K][N] layout pass_quantize_gptq uses (Gemm with transB and Conv
 *         weights transposed from their [N][K] rows; Conv per group), w_hat = its wq.
 * The parameter's forward tensor then points at the image (p->fq) while the optimizer keeps
 * updating the float master weights (p->w), whose gradient is the image's gradient (STE).
 *
 * A BatchNormalization after the node is folded into its weights before they are quantized
 * (pass_fold_batchnorm, with the running statistics): the quantizer rounds W' = W s, s[c] =
 * scale[c] / sqrt(var[c] + eps), not W. So the image is q(W s) / s, with s from the current
 * scale and running variance: BN in evaluation multiplies it back by s, and the node computes
 * what the quantized file will (same codes; the float products may differ in the last bit).
 * During training BN divides by the batch's deviation instead; the image is the same.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../passes/gptq.h"
#include "../passes/passes.h"
#include "../passes/quantize.h"
#include "../runtime/kernels/quant.h"
#include "train.h"

/* The BatchNormalization node the quantizer folds into node k, else -1. */
static int bn_folded_into(const IrGraph *g, int k) {
    int o = g->nodes[k].out[0];
    for (int j = k + 1; o >= 0 && j < g->n_nodes; j++)
        if (g->nodes[j].op == RT_OP_BATCH_NORMALIZATION && g->nodes[j].in[0] == o)
            return pass_batchnorm_fold_target(g, j) == k ? j : -1;
    return -1;
}

/* int8: the activations the static int8 graph carries as int8 around quantized node k: its
 * input, and its output after the BatchNormalization folded into it and the activation the
 * fusion folds into it (a Relu or Clip that is the output's only reader), as QConv / QLinear
 * produce them. */
static void act_mark(TrainModel *m, int k) {
    const IrGraph *g = m->g;
    const RtNode *n = &g->nodes[k];
    if (!g->values[n->in[0]].konst) m->act_fq[n->in[0]] = 1;
    int bn = bn_folded_into(g, k);
    int o = bn >= 0 ? g->nodes[bn].out[0] : n->out[0];
    if (o < 0) return;
    int reader = -1;
    for (int j = k + 1; j < g->n_nodes; j++)
        for (int i = 0; i < g->nodes[j].n_in; i++)
            if (g->nodes[j].in[i] == o) reader = reader == -1 ? j : -2;
    if (reader >= 0 && !ir_value_is_output(g, o) &&
        (g->nodes[reader].op == RT_OP_RELU || g->nodes[reader].op == RT_OP_CLIP))
        o = g->nodes[reader].out[0];
    m->act_fq[o] = 1;
}

int train_qat_enable(TrainModel *m, TrainQat q, int64_t group, RtError *err) {
    IrGraph *g = m->g;
    if (q != TRAIN_QAT_INT8 && q != TRAIN_QAT_INT4) return rt_error_set(err, "QAT is int8 or int4");
    char *head = calloc((size_t)g->n_nodes + 1, 1);
    if (!head) return rt_error_set(err, "out of memory");
    if (quant_head_mark(g, head, err) != RT_OK) return free(head), RT_ERR;
    m->qat = q, m->qat_group = group;
    if (q == TRAIN_QAT_INT8) {
        m->act_lo = calloc((size_t)g->n_values + 1, sizeof(float));
        m->act_hi = calloc((size_t)g->n_values + 1, sizeof(float));
        m->act_fq = calloc((size_t)g->n_values + 1, 1);
        if (!m->act_lo || !m->act_hi || !m->act_fq) return free(head), rt_error_set(err, "out of memory");
    }
    int n_q = 0;
    for (int k = 0; k < g->n_nodes; k++) {
        int oa, ia;
        const RtNode *n = &g->nodes[k];
        if (head[k] || !quant_weight_axes(g, n, &oa, &ia)) continue;
        for (int i = 0; i < m->n_params; i++) {
            TrainParam *p = &m->p[i];
            if (p->value != n->in[1] || p->fq) continue;
            p->fq = malloc(sizeof(float) * (size_t)(p->n ? p->n : 1));
            if (!p->fq) return free(head), rt_error_set(err, "out of memory");
            p->qat_node = k;
            p->qat_bn = bn_folded_into(g, k);
            m->t[p->value].x = p->fq;
            n_q++;
        }
        if (m->act_fq) act_mark(m, k);
    }
    free(head);
    return train_qat_refresh(m, err);
}

/* int8: per output channel, the int8 pass's quantizer, on the weights `src` (the master
 * weights, or their BN-folded copy) of the parameter's shape. */
static int fq_int8(TrainModel *m, TrainParam *p, const float *src, RtError *err) {
    const RtNode *n = &m->g->nodes[p->qat_node];
    RtTensor w = *m->g->values[p->value].konst;
    w.data = (void *)src;
    int oa, ia;
    quant_weight_axes(m->g, n, &oa, &ia);
    QuantWeightSpec spec = {8, 1, 0, 0};
    QuantWeight qw;
    if (quant_weight_compute(&w, oa, ia, &spec, NULL, &qw, err) != RT_OK) return RT_ERR;
    int64_t inner = 1;
    for (int d = oa + 1; d < w.rank; d++) inner *= w.dims[d];
    const int8_t *q = qw.q.data;
    const float *sc = qw.scale.data;
    for (int64_t i = 0; i < p->n; i++) p->fq[i] = (float)q[i] * sc[(i / inner) % w.dims[oa]];
    quant_weight_free(&qw);
    return RT_OK;
}

/* int4: gptq_rtn on each [K][N] slice (one per Conv group) of the weights `src`. */
static int fq_int4(TrainModel *m, TrainParam *p, const float *src_all, RtError *err) {
    const RtNode *n = &m->g->nodes[p->qat_node];
    const RtTensor *w = m->g->values[p->value].konst;
    int64_t groups = 1, K, N;
    int rows_nk; /* 1: the weight stores [N][K] rows */
    if (n->op == RT_OP_CONV) {
        groups = rt_attr_int(n, "group", 1);
        N = w->dims[0] / groups, K = rt_numel(w) / w->dims[0], rows_nk = 1;
    } else if (n->op == RT_OP_GEMM && rt_attr_int(n, "transB", 0)) {
        N = w->dims[0], K = w->dims[1], rows_nk = 1;
    } else {
        if (w->rank != 2) return rt_error_set(err, "QAT int4: weight '%s' must be 2-D", m->g->values[p->value].name);
        K = w->dims[0], N = w->dims[1], rows_nk = 0;
    }
    GptqSpec s;
    gptq_spec_default(&s);
    s.bits = 4, s.sym = 1, s.group = m->qat_group;
    float *wt = malloc(sizeof(float) * (size_t)(K * N + 1));
    if (!wt) return rt_error_set(err, "out of memory");
    for (int64_t gi = 0; gi < groups; gi++) {
        const float *src = src_all + gi * N * K;
        float *dst = p->fq + gi * N * K;
        for (int64_t a = 0; a < K * N; a++) wt[a] = rows_nk ? src[(a % N) * K + a / N] : src[a];
        GptqLayer L;
        if (gptq_rtn(wt, K, N, &s, &L, err) != RT_OK) return free(wt), RT_ERR;
        for (int64_t a = 0; a < K * N; a++) dst[rows_nk ? (a % N) * K + a / N : a] = L.wq[a];
        gptq_layer_free(&L);
    }
    free(wt);
    return RT_OK;
}

/* p->fq = q(W s) / s for the BN p->qat_bn (see the header). */
static int fq_folded(TrainModel *m, TrainParam *p, RtError *err) {
    const RtNode *bn = &m->g->nodes[p->qat_bn], *n = &m->g->nodes[p->qat_node];
    /* the BN's scale (trained in place) and running variance (updated in place) */
    const RtTensor *scale = m->g->values[bn->in[1]].konst, *var = m->g->values[bn->in[4]].konst;
    int64_t C = rt_numel(scale);
    double *s = malloc(sizeof(double) * (size_t)C);
    float *wf = malloc(sizeof(float) * (size_t)(p->n ? p->n : 1));
    if (!s || !wf) return free(s), free(wf), rt_error_set(err, "out of memory");
    pass_batchnorm_fold_scale(bn, scale->data, var->data, C, s);
    for (int64_t i = 0; i < p->n; i++) wf[i] = (float)(p->w[i] * s[pass_batchnorm_fold_channel(n, p->n, C, i)]);
    int rc = m->qat == TRAIN_QAT_INT8 ? fq_int8(m, p, wf, err) : fq_int4(m, p, wf, err);
    for (int64_t i = 0; rc == RT_OK && i < p->n; i++) p->fq[i] = (float)(p->fq[i] / s[pass_batchnorm_fold_channel(n, p->n, C, i)]);
    free(s);
    free(wf);
    return rc;
}

int train_qat_refresh(TrainModel *m, RtError *err) {
    for (int i = 0; i < m->n_params; i++) {
        TrainParam *p = &m->p[i];
        if (!p->fq) continue;
        int rc = p->qat_bn >= 0              ? fq_folded(m, p, err)
                 : m->qat == TRAIN_QAT_INT8 ? fq_int8(m, p, p->w, err)
                                             : fq_int4(m, p, p->w, err);
        if (rc != RT_OK) return RT_ERR;
    }
    return RT_OK;
}

void train_qat_act_forward(TrainModel *m, int v) {
    if (!m->act_fq || !m->act_fq[v]) return;
    TrainTensor *t = &m->t[v];
    int64_t n = train_tensor_numel(t);
    float lo = m->act_lo[v], hi = m->act_hi[v];
    if (m->training)
        for (int64_t i = 0; i < n; i++) lo = fminf(lo, t->x[i]), hi = fmaxf(hi, t->x[i]);
    m->act_lo[v] = lo, m->act_hi[v] = hi;
    if (!(hi > lo)) return;
    /* the quantizer's activation grid (quantize.h): int8 with a zero point over [lo, hi] */
    float scale = (hi - lo) / 255.0f;
    int32_t zp = rt_round_sat(-128.0 - (double)lo / scale, 0, -128, 127);
    for (int64_t i = 0; i < n; i++) t->x[i] = (float)(rt_quantize_f32(t->x[i], scale, zp, -128, 127) - zp) * scale;
}
