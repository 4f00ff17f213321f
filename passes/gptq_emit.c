/*
 * gptq_emit.c — the quantized layers into the graph: each target's float weight is replaced by
 * its codes, scales and zero points, in one of two forms.
 *
 * DequantizeLinear (GPTQ_EMIT_DQ, any op): codes and zero points as int8 (x - 2^(bits-1),
 * so 8-bit codes fit too; the difference q - zero is unchanged), scales float32, and
 *   per output channel (group 0)  scale [C] on the output axis;
 *   contiguous groups             blocked scale (opset 21) on the input axis, block G;
 *   contiguous groups of a Conv   codes stored 2-D, [M, K] with K = C/group * prod(kernel)
 *   with a kernel of 2+ taps      (GPTQ's own [N, K] view, the 4-D weight's bytes in the same
 *                                 row-major order), scale and zero point [M, ceil(K / G)] on
 *                                 axis 1, block G, then Reshape(codes', int64 [4-D shape]) ->
 *                                 the Conv's weight. ONNX's blocked DequantizeLinear blocks
 *                                 one axis only, so on the 4-D weight a group that runs over
 *                                 the flattened (channel, tap) axis needs a scale per tap or
 *                                 per element; 2-D it needs one per group, as GPTQ computed;
 *   act-order groups (g_idx not   one scale per weight element (block 1 on the input axis):
 *   k / G, no --static-groups)    exact for any g_idx, no smaller exact form exists.
 * The DequantizeLinear computes (q - zp) * scale in float32: the same values GPTQ wrote into
 * the float graph while it ran (the Reshape moves no value).
 *
 * LinearNBits (GPTQ_EMIT_NBITS, Linear and MatMul nodes; Gemm and Conv keep the form above):
 * the node becomes LinearNBits(X, Wp, scales [N, NG], zeros [N, NG], g_idx?, B?) with the
 * codes packed per output row as runtime/kernels/qblock.h says (Wp uint8 [N, row bytes]),
 * zeros unshifted in [0, 2^bits), attributes bits, group and the Linear's activation; g_idx
 * (int32 [K]) only when the groups are not k / G (act-order without static groups). It
 * computes W[k, n] = (q - zero) * scale, the same float values again.
 */
#include "gptq_internal.h"

#include "../runtime/kernels/qblock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How the scales of target t are laid out for a DequantizeLinear. */
typedef struct {
    int axis;                 /* DequantizeLinear axis */
    int64_t block;            /* block_size; 0 = per axis */
    int rank;                 /* scale's shape */
    int64_t dims[RT_MAX_RANK];
    int per_element;          /* 1: one scale per weight element */
    int flat;                 /* 1: Conv codes stored [M, K], reshaped to the weight's shape */
} DqLayout;

static int groups_contiguous(const GptqTarget *t, int64_t G) {
    for (int gi = 0; gi < t->groups; gi++)
        for (int64_t k = 0; k < t->K; k++)
            if (t->res[gi].g_idx[k] != (G ? k / G : 0)) return 0;
    return 1;
}

static void dq_layout(const GptqTarget *t, const RtTensor *w, const GptqSpec *s, DqLayout *d) {
    memset(d, 0, sizeof *d);
    int in_axis = t->kind == GPTQ_T_LINEAR ? 0 : 1, out_axis = t->kind == GPTQ_T_LINEAR ? 1 : 0;
    int64_t G = s->group, taps = t->kind == GPTQ_T_CONV ? t->K / w->dims[1] : 1;
    int contiguous = groups_contiguous(t, G);
    if (G == 0 && contiguous) {
        d->axis = out_axis, d->rank = 1, d->dims[0] = w->dims[out_axis];
        return;
    }
    d->axis = in_axis;
    if (contiguous && taps > 1 && G > 0) { /* groups over the flattened (channel, tap) axis */
        d->flat = 1, d->block = G, d->rank = 2;
        d->dims[0] = w->dims[0], d->dims[1] = (t->K + G - 1) / G;
        return;
    }
    d->rank = w->rank;
    memcpy(d->dims, w->dims, sizeof(int64_t) * (size_t)w->rank);
    if (contiguous) { /* Linear, Gemm, 1x1 Conv: group g is block g of the input axis */
        d->block = G;
        d->dims[in_axis] = (w->dims[in_axis] + d->block - 1) / d->block;
        return;
    }
    d->block = 1;
    d->per_element = 1;
}

/* Scale and zero point (int8, shifted) of element i of the scale tensor. */
static void dq_param(const GptqTarget *t, const DqLayout *d, int64_t i, int off, float *sc, int8_t *zp) {
    int64_t N = t->N;
    int gi = 0;
    int64_t n, g;
    if (d->rank == 1) { /* per channel: i is the output channel */
        gi = (int)(i / N), n = i % N, g = 0;
    } else if (t->kind == GPTQ_T_LINEAR) { /* [K or NG][N] */
        n = i % N;
        g = d->per_element ? t->res[0].g_idx[i / N] : i / N;
    } else { /* [M][K-like]: scale rows follow output channels */
        int64_t cols = rt_shape_numel(d->rank - 1, d->dims + 1), m = i / cols, c = i % cols;
        gi = (int)(m / N), n = m % N;
        if (d->per_element) g = t->res[gi].g_idx[c];
        else g = c; /* [M, blocks] (2-D codes, Gemm) or [M, blocks, 1...] (1x1 Conv): block = group */
    }
    const GptqLayer *l = &t->res[gi];
    *sc = l->scale[g * N + n];
    *zp = (int8_t)((int)l->zero[g * N + n] - off);
}

/* 2-D codes: Reshape(value dv [M, K], int64 shape of the weight) inserted at node pos (the
 * Conv, which moves to pos + 1) and read by the Conv as its weight. */
static int reshape_insert(IrGraph *g, int pos, int dv, const RtTensor *w, const char *wn, RtError *err) {
    char base[512], name[512];
    int64_t shape[RT_MAX_RANK], rank = w->rank;
    for (int i = 0; i < w->rank; i++) shape[i] = w->dims[i];
    RtTensor st = {RT_I64, 1, {rank}, shape};
    snprintf(base, sizeof base, "%s_shape", wn);
    int sv = qz_const_new(g, base, &st, err);
    IrValue like;
    memset(&like, 0, sizeof like);
    like.rank = w->rank;
    for (int i = 0; i < w->rank; i++) like.dims[i].value = w->dims[i];
    snprintf(base, sizeof base, "%s_dequantized", wn);
    int rv = sv < 0 ? -1 : qz_value_new(g, base, &like, RT_F32, err);
    int in[2] = {dv, sv};
    snprintf(name, sizeof name, "%s/weight_reshape", g->nodes[pos].name);
    int rn = rv < 0 ? -1 : qz_node_insert(g, pos, RT_OP_RESHAPE, name, 2, in, 1, &rv, err);
    if (rn < 0) return RT_ERR;
    g->nodes[rn + 1].in[1] = rv;
    return RT_OK;
}

static int emit_dq(IrGraph *g, const GptqTarget *t, const GptqSpec *s, RtError *err) {
    int k = t->node, off = 1 << (s->bits - 1);
    const RtTensor *w = g->values[t->w].konst;
    DqLayout d;
    dq_layout(t, w, s, &d);
    RtTensor q = *w, sc = {RT_F32, d.rank, {0}, NULL}, zp;
    memcpy(sc.dims, d.dims, sizeof d.dims);
    zp = sc;
    zp.dtype = RT_I8;
    q.dtype = RT_I8;
    if (d.flat) q.rank = 2, q.dims[0] = w->dims[0], q.dims[1] = t->K; /* [groups * N, K] */
    int64_t nq = rt_numel(w), ns = rt_numel(&sc);
    q.data = malloc((size_t)(nq > 0 ? nq : 1));
    sc.data = malloc(sizeof(float) * (size_t)(ns > 0 ? ns : 1));
    zp.data = malloc((size_t)(ns > 0 ? ns : 1));
    if (!q.data || !sc.data || !zp.data) {
        free(q.data), free(sc.data), free(zp.data);
        return rt_error_set(err, "out of memory");
    }
    int8_t *qd = q.data;
    for (int gi = 0; gi < t->groups; gi++)
        for (int64_t kk = 0; kk < t->K; kk++)
            for (int64_t n = 0; n < t->N; n++) {
                int v = (int)t->res[gi].q[kk * t->N + n] - off;
                if (t->kind == GPTQ_T_LINEAR) qd[kk * t->N + n] = (int8_t)v;
                else qd[((int64_t)gi * t->N + n) * t->K + kk] = (int8_t)v;
            }
    for (int64_t i = 0; i < ns; i++) dq_param(t, &d, i, off, (float *)sc.data + i, (int8_t *)zp.data + i);
    char base[512], name[512];
    const char *wn = g->values[t->w].name;
    snprintf(base, sizeof base, "%s_quantized", wn);
    int qv = qz_const_new(g, base, &q, err);
    snprintf(base, sizeof base, "%s_scale", wn);
    int sv = qv < 0 ? -1 : qz_const_new(g, base, &sc, err);
    snprintf(base, sizeof base, "%s_zero_point", wn);
    int zv = sv < 0 ? -1 : qz_const_new(g, base, &zp, err);
    free(q.data), free(sc.data), free(zp.data);
    IrValue like = g->values[t->w]; /* the DequantizeLinear's output has the codes' shape */
    like.rank = q.rank;
    for (int i = 0; i < q.rank; i++) like.dims[i] = (IrDim){q.dims[i], NULL};
    snprintf(base, sizeof base, d.flat ? "%s_dequantized_2d" : "%s_dequantized", wn);
    int dv = zv < 0 ? -1 : qz_value_new(g, base, &like, RT_F32, err);
    int in[3] = {qv, sv, zv};
    snprintf(name, sizeof name, "%s/weight_dq", g->nodes[k].name);
    int dn = dv < 0 ? -1 : qz_node_insert(g, k, RT_OP_DEQUANTIZE_LINEAR, name, 3, in, 1, &dv, err);
    if (dn < 0) return RT_ERR;
    RT_TRY(qz_attr_set_int(g, dn, "axis", d.axis, err));
    if (d.block > 0) RT_TRY(qz_attr_set_int(g, dn, "block_size", d.block, err));
    if (d.flat) return reshape_insert(g, dn + 1, dv, w, wn, err);
    g->nodes[dn + 1].in[1] = dv;
    return RT_OK;
}

/* A constant from data (copied), named after base; its index or -1. */
static int const_of(IrGraph *g, const char *base, const char *suffix, RtDtype dt, int rank, const int64_t *dims,
                    const void *data, RtError *err) {
    char name[512];
    snprintf(name, sizeof name, "%s_%s", base, suffix);
    RtTensor t = {dt, rank, {0}, (void *)data};
    memcpy(t.dims, dims, sizeof(int64_t) * (size_t)rank);
    return qz_const_new(g, name, &t, err);
}

static int emit_nbits(IrGraph *g, const GptqTarget *t, const GptqSpec *s, RtError *err) {
    int k = t->node, bits = s->bits;
    const GptqLayer *l = &t->res[0];
    int64_t K = t->K, N = t->N, NG = l->NG, G = s->group;
    size_t rb = rt_qblock_row_bytes(bits, K), bytes = rt_qblock_packed_size(bits, N, K);
    uint8_t *codes = malloc((size_t)(K * N > 0 ? K * N : 1)), *wp = malloc(bytes ? bytes : 1);
    uint8_t *zeros = malloc((size_t)(NG * N));
    float *scales = malloc(sizeof(float) * (size_t)(NG * N));
    if (!codes || !wp || !zeros || !scales) {
        free(codes), free(wp), free(zeros), free(scales);
        return rt_error_set(err, "out of memory");
    }
    for (int64_t kk = 0; kk < K; kk++)
        for (int64_t n = 0; n < N; n++) codes[n * K + kk] = l->q[kk * N + n];
    for (int64_t gg = 0; gg < NG; gg++)
        for (int64_t n = 0; n < N; n++) {
            scales[n * NG + gg] = l->scale[gg * N + n];
            zeros[n * NG + gg] = l->zero[gg * N + n];
        }
    int rc = rt_qblock_pack(bits, N, K, codes, wp, bytes) == 0 ? RT_OK : rt_error_set(err, "cannot pack %d-bit codes", bits);
    const char *base = g->values[t->w].name;
    int64_t wd[2] = {N, (int64_t)rb}, sd[2] = {N, NG};
    int wv = rc == RT_OK ? const_of(g, base, "packed", RT_U8, 2, wd, wp, err) : -1;
    int sv = wv < 0 ? -1 : const_of(g, base, "scales", RT_F32, 2, sd, scales, err);
    int zv = sv < 0 ? -1 : const_of(g, base, "zeros", RT_U8, 2, sd, zeros, err);
    int gv = -1;
    if (zv >= 0 && !groups_contiguous(t, G)) gv = const_of(g, base, "g_idx", RT_I32, 1, &K, l->g_idx, err);
    free(codes), free(wp), free(zeros), free(scales);
    if (zv < 0 || (gv < 0 && !groups_contiguous(t, G))) return RT_ERR;
    RtNode *n = &g->nodes[k];
    int *in = ir_alloc(g, sizeof(int) * 6);
    if (!in) return rt_error_set(err, "out of memory");
    in[0] = n->in[0], in[1] = wv, in[2] = sv, in[3] = zv, in[4] = gv;
    in[5] = n->op == RT_OP_LINEAR && n->n_in > 2 ? n->in[2] : -1;
    RtNode src = *n; /* its attributes stay in the arena */
    n->op = RT_OP_LINEAR_NBITS;
    n->op_type = rt_op_name(RT_OP_LINEAR_NBITS);
    n->domain = rt_op_domain(RT_OP_LINEAR_NBITS);
    n->in = in;
    n->n_in = in[5] >= 0 ? 6 : in[4] >= 0 ? 5 : 4;
    RT_TRY(qz_attrs_copy(g, k, &src, src.op == RT_OP_LINEAR ? "activation,alpha,beta" : "", err));
    RT_TRY(qz_attr_set_int(g, k, "bits", bits, err));
    if (s->accuracy_level) RT_TRY(qz_attr_set_int(g, k, "accuracy_level", s->accuracy_level, err));
    return qz_attr_set_int(g, k, "group", G, err);
}

int gptq_emit(IrGraph *g, const GptqTarget *t, int n, const GptqSpec *s, GptqEmit emit, RtError *err) {
    for (int i = n - 1; i >= 0; i--) {
        if (!t[i].res) continue;
        int rc = RT_OK;
        int op = g->nodes[t[i].node].op;
        if (emit == GPTQ_EMIT_NBITS && (op == RT_OP_LINEAR || op == RT_OP_MATMUL) && rt_qblock_bits_ok(s->bits))
            rc = emit_nbits(g, &t[i], s, err);
        else rc = emit_dq(g, &t[i], s, err);
        if (rc != RT_OK) {
            char tmp[sizeof err->msg];
            snprintf(tmp, sizeof tmp, "%s", err->msg);
            snprintf(err->msg, sizeof err->msg, "node '%s': %s", g->nodes[t[i].node].name, tmp);
            return rc;
        }
    }
    return RT_OK;
}
