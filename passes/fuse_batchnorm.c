/*
 * fuse_batchnorm.c — folds inference BatchNormalization into the weights of the node before it.
 *
 * Requires: a simplified graph (pass_simplify: shapes inferred, weights are constants).
 * Provides: every BatchNormalization that reads a float32 Conv, FusedConv (no activation),
 * Gemm, MatMul or Linear (no activation) -- or a float16 / bfloat16 Conv, FusedConv or Gemm
 * (Linear, which a MatMul becomes, is float32 only) -- with constant weights, and is that
 * value's only reader, is gone; the producer computes the normalized values itself with new
 * constant weights and bias. Other BatchNormalizations are left as they are.
 *
 * In inference BN is per-channel affine: y = s * (x - mean) + beta, s = scale / sqrt(var + eps),
 * channel = axis 1. When x = W * a + b is linear in its per-channel weights, BN folds:
 *   W'[c, ...] = s[c] * W[c, ...],   b'[c] = s[c] * (b[c] - mean[c]) + beta[c].
 * Conv / FusedConv: W [M, C/group, k...] scaled per output channel m (row block). Gemm / MatMul /
 * Linear: the output is [rows, N] and axis 1 is N, so W's output columns scale (Gemm with
 * transB: rows of B); a MatMul output of rank > 2 has another axis 1 and is left alone.
 * Gemm's C must broadcast as [N]; it becomes s * (beta * C - mean) + bn_bias with beta = 1.
 * A MatMul becomes Linear(X, W', b') (it has nowhere else to put a bias). s is computed in
 * double, as the BatchNormalization kernel does. New weights are new constants: the old ones
 * may be shared with another node.
 *
 * 16-bit graphs (X, weights, bias and the four statistics all float16, or all bfloat16) fold
 * as onnxruntime's ConvBNFusion folds them (its Initializer arithmetic on MLFloat16 /
 * BFloat16: each step computed in float32 from 16-bit operands and rounded back to 16 bits):
 *   sd = r(sqrt(r(var + eps))),  s = r(scale / sd),  W' = r(W * s),
 *   b' = r(r(r(b - mean) * s) + beta)  with a bias,  b' = r(beta - r(mean * s))  without,
 * r = round to the 16-bit type (nearest even). The new weights and bias stay 16-bit: the
 * graph keeps its types, and the kernels widen them once as they did the old ones. Why
 * onnxruntime's steps and not a double fold rounded once (the float32 path's): both lose the
 * rounding the unfolded graph makes between Conv and BN, and neither is the spec's answer;
 * onnxruntime's steps give the weights onnxruntime itself runs, bit for bit (its saved
 * optimized float16 digits_cnn: every folded weight and bias), so wafer's outputs differ from
 * the peer's only by summation order, while a double fold differs in about a third of the
 * weights by one 16-bit step. A Gemm (which onnxruntime does not fold into) takes the same
 * steps with its C first rounded as r(beta * C).
 *
 * Not folded (semantics would change or the pattern is not per-channel): training mode
 * (training_mode = 1, or before opset 14 any statistics output in use), spatial = 0 before
 * opset 9, a producer with a fused activation, non-constant or non-float32 weights, statistics
 * that are not [C] vectors, or a BN input read by another node or returned by the graph.
 */
#include "fuse_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t C;            /* channels */
    RtDtype t;            /* RT_F32, or the 16-bit type of the whole fold (RT_F16 / RT_BF16) */
    double *s;            /* [C] owned: scale / sqrt(var + eps); 16-bit: s = r(scale / sd), exact */
    double *shift;        /* [C] owned: beta - s * mean, the bias of an unbiased producer
                             (float32 only) */
    float *mean, *beta;   /* [C] owned, 16-bit folds only: the statistics widened (exact) */
} BnAffine;

/* v's data when v is a constant of type t, else NULL. */
static const RtTensor *const_of(const IrGraph *g, int v, RtDtype t) {
    if (v < 0 || v >= g->n_values) return NULL;
    const RtTensor *k = g->values[v].konst;
    return k && k->dtype == t && k->data ? k : NULL;
}

/* x rounded to the 16-bit type t (nearest even), as a float. */
static float half_round(RtDtype t, float x) {
    return t == RT_F16 ? rt_f16_to_f32(rt_f32_to_f16(x)) : rt_bf16_to_f32(rt_f32_to_bf16(x));
}

/* Element i of a constant of type t (float32 or 16-bit), as a float. */
static float const_at(const RtTensor *k, int64_t i) {
    if (k->dtype == RT_F32) return ((const float *)k->data)[i];
    uint16_t h = ((const uint16_t *)k->data)[i];
    return k->dtype == RT_F16 ? rt_f16_to_f32(h) : rt_bf16_to_f32(h);
}

/* 1 when BN node k runs in inference mode with one output in use. */
static int bn_is_inference(const IrGraph *g, const RtNode *n) {
    if (n->opset >= 14 && rt_attr_int(n, "training_mode", 0) != 0) return 0;
    if (n->opset < 9 && rt_attr_int(n, "spatial", 1) == 0) return 0;
    for (int j = 1; j < n->n_out; j++) {
        int v = n->out[j];
        if (v >= 0 && (pass_value_live_uses(g, v) > 0 || ir_value_is_output(g, v))) return 0;
    }
    return n->n_out >= 1 && n->n_in == 5;
}

/* The 16-bit scale s[c] = r(scale / r(sqrt(r(var + eps)))) (see the header), with mean and
 * beta widened into a->mean, a->beta. */
static void bn_affine_half(const RtNode *n, const RtTensor *const *t, BnAffine *a) {
    float eps = rt_attr_float(n, "epsilon", 1e-5f);
    for (int64_t c = 0; c < a->C; c++) {
        float sd = half_round(a->t, sqrtf(half_round(a->t, const_at(t[3], c) + eps)));
        a->s[c] = half_round(a->t, const_at(t[0], c) / sd);
        a->beta[c] = const_at(t[1], c);
        a->mean[c] = const_at(t[2], c);
    }
}

/* Reads the BN's constants (type a->t) as the per-channel affine map; 0 when they are not
 * [C] vectors of that type. */
static int bn_affine_read(const IrGraph *g, const RtNode *n, BnAffine *a, RtError *err, int *oom) {
    const RtTensor *t[4];
    for (int i = 0; i < 4; i++) {
        t[i] = const_of(g, n->in[1 + i], a->t);
        if (!t[i] || t[i]->rank != 1) return 0;
    }
    int64_t C = t[0]->dims[0];
    for (int i = 1; i < 4; i++)
        if (t[i]->dims[0] != C) return 0;
    a->C = C;
    a->s = malloc(sizeof(double) * (size_t)(2 * C + 1));
    a->mean = a->t == RT_F32 ? NULL : malloc(sizeof(float) * (size_t)(2 * C + 1));
    if (!a->s || (a->t != RT_F32 && !a->mean)) {
        free(a->s);
        free(a->mean);
        *oom = 1;
        rt_error_set(err, "out of memory folding node '%s'", n->name);
        return 0;
    }
    a->shift = a->s + C;
    if (a->t != RT_F32) {
        a->beta = a->mean + C;
        bn_affine_half(n, t, a);
        return 1;
    }
    const float *bias = t[1]->data, *mean = t[2]->data;
    pass_batchnorm_fold_scale(n, t[0]->data, t[3]->data, C, a->s);
    for (int64_t c = 0; c < C; c++) a->shift[c] = bias[c] - a->s[c] * mean[c];
    return 1;
}

void pass_batchnorm_fold_scale(const RtNode *bn, const float *scale, const float *var, int64_t C, double *s) {
    double eps = rt_attr_float(bn, "epsilon", 1e-5f);
    for (int64_t c = 0; c < C; c++) s[c] = scale[c] / sqrt((double)var[c] + eps);
}

/* b'[c] = s[c] * b[c] + shift[c] into a new constant [C] (b may be NULL = 0; `bscale`
 * multiplies b first, for Gemm's beta). */
static int bias_fold(IrGraph *g, const char *base, const BnAffine *a, const RtTensor *b, double bscale,
                     RtError *err) {
    void *p;
    int v = fuse_const_new(g, base, a->t, 1, &a->C, &p, err);
    if (v < 0) return -1;
    if (a->t == RT_F32) {
        float *pf = p;
        for (int64_t c = 0; c < a->C; c++)
            pf[c] = (float)(a->s[c] * (b ? bscale * fuse_channel_at(b, c) : 0.0) + a->shift[c]);
        return v;
    }
    float *tmp = malloc(sizeof(float) * (size_t)a->C);
    if (!tmp) return rt_error_set(err, "out of memory folding into '%s'", base), -1;
    for (int64_t c = 0; c < a->C; c++) {
        float s = (float)a->s[c], m = a->mean[c], beta = a->beta[c], r;
        if (b) {
            float b0 = half_round(a->t, (float)bscale * const_at(b, rt_numel(b) == 1 ? 0 : c));
            r = half_round(a->t, half_round(a->t, half_round(a->t, b0 - m) * s) + beta);
        } else {
            r = half_round(a->t, beta - half_round(a->t, m * s));
        }
        tmp[c] = r; /* already a 16-bit value: the conversion below is exact */
    }
    if (a->t == RT_F16) rt_f32_to_f16_n(tmp, p, a->C);
    else rt_f32_to_bf16_n(tmp, p, a->C);
    free(tmp);
    return v;
}

int64_t pass_batchnorm_fold_channel(const RtNode *p, int64_t numel, int64_t C, int64_t i) {
    int rows_are_out = p->op == RT_OP_CONV || p->op == RT_OP_FUSED_CONV ||
                       (p->op == RT_OP_GEMM && rt_attr_int(p, "transB", 0) != 0);
    return rows_are_out ? i / (numel / C) : i % C;
}

/* W' = producer p's weight (value wv) with output channel c scaled by s[c]
 * (pass_batchnorm_fold_channel). */
static int weight_fold(IrGraph *g, const RtNode *pn, int wv, const BnAffine *a, RtError *err) {
    const RtTensor *w = g->values[wv].konst;
    char base[256];
    snprintf(base, sizeof base, "%s_bn", g->values[wv].name);
    void *p;
    int v = fuse_const_new(g, base, a->t, w->rank, w->dims, &p, err);
    if (v < 0) return -1;
    int64_t total = rt_numel(w);
    if (a->t == RT_F32) {
        const float *src = w->data;
        float *pf = p;
        for (int64_t i = 0; i < total; i++) pf[i] = (float)(src[i] * a->s[pass_batchnorm_fold_channel(pn, total, a->C, i)]);
        return v;
    }
    /* 16-bit: r(W * s) with W and s 16-bit values, so the float32 product is exact and the
     * one rounding is to 16 bits */
    uint16_t *ph = p;
    for (int64_t i = 0; i < total; i++) {
        float x = const_at(w, i) * (float)a->s[pass_batchnorm_fold_channel(pn, total, a->C, i)];
        ph[i] = a->t == RT_F16 ? rt_f32_to_f16(x) : rt_f32_to_bf16(x);
    }
    return v;
}

/* The name for a folded bias: the old bias's, else the weight's, with a suffix. */
static const char *bias_name(const IrGraph *g, int bi, int wi, char *buf, size_t n) {
    snprintf(buf, n, "%s_bn%s", g->values[bi >= 0 ? bi : wi].name, bi >= 0 ? "" : "_bias");
    return buf;
}

/* Folds into Conv / FusedConv node p. 1 when done, 0 when the pattern does not fit. */
static int fold_conv(IrGraph *g, int p, const BnAffine *a, RtError *err) {
    const RtNode *n = &g->nodes[p];
    int bi = fuse_in(n, 2);
    const RtTensor *b = bi >= 0 ? const_of(g, bi, a->t) : NULL;
    char name[256];
    int wv = weight_fold(g, n, n->in[1], a, err);
    int bv = wv >= 0 ? bias_fold(g, bias_name(g, bi, n->in[1], name, sizeof name), a, b, 1.0, err) : -1;
    if (bv < 0) return -1;
    int in[3] = {n->in[0], wv, bv};
    return fuse_node_set_inputs(g, p, 3, in, err) == RT_OK ? 1 : -1;
}

/* Folds into Gemm node p (C broadcast as [N]; beta becomes 1). */
static int fold_gemm(IrGraph *g, int p, const BnAffine *a, RtError *err) {
    const RtNode *n = &g->nodes[p];
    int ci = fuse_in(n, 2);
    const RtTensor *cb = ci >= 0 ? const_of(g, ci, a->t) : NULL;
    double beta = rt_attr_float(n, "beta", 1.0f);
    char name[256];
    int wv = weight_fold(g, n, n->in[1], a, err);
    int bv = wv >= 0 ? bias_fold(g, bias_name(g, ci, n->in[1], name, sizeof name), a, cb, beta, err) : -1;
    if (bv < 0) return -1;
    int in[3] = {n->in[0], wv, bv};
    if (fuse_node_set_inputs(g, p, 3, in, err) != RT_OK) return -1;
    return fuse_attr_set_float(g, p, "beta", 1.0f, err) == RT_OK ? 1 : -1;
}

/* Folds into MatMul / Linear node p whose output is [rows, N]; a MatMul becomes Linear. */
static int fold_linear(IrGraph *g, int p, const BnAffine *a, RtError *err) {
    const RtNode *n = &g->nodes[p];
    int bi = n->op == RT_OP_LINEAR ? fuse_in(n, 2) : -1;
    const RtTensor *b = bi >= 0 ? fuse_const_f32(g, bi) : NULL;
    char name[256];
    int wv = weight_fold(g, n, n->in[1], a, err);
    int bv = wv >= 0 ? bias_fold(g, bias_name(g, bi, n->in[1], name, sizeof name), a, b, 1.0, err) : -1;
    if (bv < 0) return -1;
    int in[3] = {n->in[0], wv, bv};
    if (fuse_node_set_inputs(g, p, 3, in, err) != RT_OK) return -1;
    fuse_node_set_op(g, p, RT_OP_LINEAR);
    return 1;
}

/* 1 when producer p's weights (and bias) of type t fit a fold of C channels (see the header). */
static int producer_fits(const IrGraph *g, int p, int64_t C, RtDtype t) {
    const RtNode *n = &g->nodes[p];
    const RtTensor *w = const_of(g, fuse_in(n, 1), t);
    if (!w) return 0;
    if (n->op == RT_OP_CONV || n->op == RT_OP_FUSED_CONV) {
        int bi = fuse_in(n, 2);
        const RtTensor *b = bi >= 0 ? const_of(g, bi, t) : NULL;
        return w->rank >= 3 && w->dims[0] == C && (bi < 0 || (b && rt_numel(b) == C)) && fuse_activation_of(n)[0] == '\0';
    }
    if (n->op == RT_OP_GEMM) {
        int ci = fuse_in(n, 2), trans_b = rt_attr_int(n, "transB", 0) != 0;
        const RtTensor *cb = ci >= 0 ? const_of(g, ci, t) : NULL;
        return w->rank == 2 && w->dims[trans_b ? 0 : 1] == C && (ci < 0 || (cb && fuse_is_channel_vector(cb, C, 2)));
    }
    /* a MatMul becomes Linear, which is float32 only */
    if ((n->op == RT_OP_MATMUL || n->op == RT_OP_LINEAR) && t == RT_F32) {
        int bi = n->op == RT_OP_LINEAR ? fuse_in(n, 2) : -1;
        const RtTensor *b = bi >= 0 ? fuse_const_f32(g, bi) : NULL;
        const IrValue *x = &g->values[n->in[0]];
        return w->rank == 2 && w->dims[1] == C && x->rank == 2 && x->dtype == RT_F32 &&
               (bi < 0 || (b && rt_numel(b) == C)) && fuse_activation_of(n)[0] == '\0';
    }
    return 0;
}

/* The node BN node k folds into when its constants and its producer's have type t; else -1. */
static int fold_target_typed(const IrGraph *g, int k, RtDtype t) {
    const RtNode *bn = &g->nodes[k];
    if (bn->op != RT_OP_BATCH_NORMALIZATION || !bn_is_inference(g, bn)) return -1;
    int x = bn->in[0];
    int p = x >= 0 ? g->values[x].producer : -1;
    if (p < 0 || fuse_sole_consumer(g, x) != k) return -1;
    const RtTensor *s[4];
    for (int i = 0; i < 4; i++) {
        s[i] = const_of(g, bn->in[1 + i], t);
        if (!s[i] || s[i]->rank != 1 || s[i]->dims[0] != s[0]->dims[0]) return -1;
    }
    return producer_fits(g, p, s[0]->dims[0], t) ? p : -1;
}

int pass_batchnorm_fold_target(const IrGraph *g, int k) { return fold_target_typed(g, k, RT_F32); }

/* Tries BN node k; 1 folded, 0 left alone, -1 error. */
static int bn_fold_one(IrGraph *g, int k, RtError *err) {
    const RtNode *bn = &g->nodes[k];
    RtDtype t = g->values[bn->in[0]].dtype;
    if (t != RT_F32 && t != RT_F16 && t != RT_BF16) return 0;
    int p = fold_target_typed(g, k, t);
    if (p < 0) return 0;
    BnAffine a = {.t = t};
    int oom = 0;
    if (!bn_affine_read(g, bn, &a, err, &oom)) return oom ? -1 : 0;
    int r = 0;
    switch (g->nodes[p].op) {
    case RT_OP_CONV: case RT_OP_FUSED_CONV: r = fold_conv(g, p, &a, err); break;
    case RT_OP_GEMM: r = fold_gemm(g, p, &a, err); break;
    case RT_OP_MATMUL: case RT_OP_LINEAR: r = fold_linear(g, p, &a, err); break;
    default: break;
    }
    free(a.s);
    free(a.mean);
    if (r == 1) fuse_node_absorb(g, p, k);
    return r;
}

static int fold_batchnorm_run(IrGraph *g, int *changed, RtError *err) {
    int folded = 0;
    for (int k = 0; k < g->n_nodes; k++) {
        if (g->nodes[k].op != RT_OP_BATCH_NORMALIZATION) continue;
        int r = bn_fold_one(g, k, err);
        if (r < 0) return RT_ERR;
        folded += r;
    }
    if (folded) RT_TRY(ir_graph_compact(g, err));
    *changed += folded;
    return pass_subgraphs_apply(g, fold_batchnorm_run, changed, err);
}

int pass_fold_batchnorm(IrGraph *g, RtError *err) {
    int changed = 0;
    return fold_batchnorm_run(g, &changed, err);
}
