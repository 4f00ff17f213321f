/*
 * fuse_linear.c — recognizes linear layers: MatMul / Gemm with a constant weight, and the
 * bias Add after them, become one wafer Linear(X, W[K, N], B[N]?) (wafer_ops.h).
 *
 * Requires: a simplified graph (pass_simplify: shapes inferred, weights are constants).
 * Provides: every float32 MatMul whose B is a constant [K, N] matrix is a Linear; every float32
 * Gemm with a constant B, a 2-D A, transA = 0 and a constant (or absent) C that broadcasts as
 * [N] is a Linear; a Linear without bias whose output's only reader is an Add of a constant
 * that broadcasts as [N] (either operand order) has absorbed that Add.
 *
 * Gemm: Y = alpha * A * op(B) + beta * C. W = alpha * op(B) is made row-major [K, N] (transB
 * transposes the constant), bias = beta * C as [N]; when alpha = 1 and transB = 0 the weight
 * constant is reused as it is. Not fused (semantics or shape would change): transA = 1, a C
 * of shape [M, N] or [M, 1], a non-constant weight or C, a non-float32 input, an A whose rank
 * is not known to be 2; a bias Add whose constant would broadcast the output to a larger
 * shape, or whose input is also read by another node or is a graph output.
 */
#include "fuse_internal.h"

#include <stdio.h>

/* A copy of the constant [N]-vector t (1 or N elements) times `scale`, named after value bi. */
static int bias_vector(IrGraph *g, int bi, int64_t N, double scale, RtError *err) {
    const RtTensor *t = g->values[bi].konst;
    if (t->rank == 1 && t->dims[0] == N && scale == 1.0) return bi; /* already [N] */
    char base[256];
    snprintf(base, sizeof base, "%s_bias", g->values[bi].name);
    float *p;
    int v = fuse_const_new_f32(g, base, 1, &N, &p, err);
    for (int64_t c = 0; v >= 0 && c < N; c++) p[c] = (float)(scale * fuse_channel_at(t, c));
    return v;
}

/* MatMul node k with a constant [K, N] weight -> Linear(X, W). 1 done, 0 not. */
static int matmul_to_linear(IrGraph *g, int k) {
    const RtNode *n = &g->nodes[k];
    const RtTensor *w = fuse_const_f32(g, fuse_in(n, 1));
    if (!w || w->rank != 2 || g->values[n->in[0]].dtype != RT_F32) return 0;
    if (g->values[n->in[0]].rank == 0) return 0; /* MatMul refuses scalars; keep its error */
    fuse_node_set_op(g, k, RT_OP_LINEAR);
    return 1;
}

/* Gemm node k -> Linear(A, alpha * op(B), beta * C). 1 done, 0 not, -1 error. */
static int gemm_to_linear(IrGraph *g, int k, RtError *err) {
    const RtNode *n = &g->nodes[k];
    const RtTensor *b = fuse_const_f32(g, fuse_in(n, 1));
    int a = n->in[0], ci = fuse_in(n, 2);
    const RtTensor *c = ci >= 0 ? fuse_const_f32(g, ci) : NULL;
    int trans_b = rt_attr_int(n, "transB", 0) != 0;
    if (!b || b->rank != 2 || g->values[a].dtype != RT_F32 || g->values[a].rank != 2) return 0;
    if (rt_attr_int(n, "transA", 0) != 0) return 0;
    int64_t K = b->dims[trans_b ? 1 : 0], N = b->dims[trans_b ? 0 : 1];
    if (ci >= 0 && (!c || !fuse_is_channel_vector(c, N, 2))) return 0;
    double alpha = rt_attr_float(n, "alpha", 1.0f), beta = rt_attr_float(n, "beta", 1.0f);
    int wv = n->in[1];
    if (trans_b || alpha != 1.0) {
        char base[256];
        snprintf(base, sizeof base, "%s_kn", g->values[wv].name);
        int64_t dims[2] = {K, N};
        float *p;
        const float *src = b->data;
        wv = fuse_const_new_f32(g, base, 2, dims, &p, err);
        if (wv < 0) return -1;
        for (int64_t i = 0; i < K; i++)
            for (int64_t j = 0; j < N; j++)
                p[i * N + j] = (float)(alpha * src[trans_b ? j * K + i : i * N + j]);
    }
    int bv = ci >= 0 ? bias_vector(g, ci, N, beta, err) : -1;
    if (ci >= 0 && bv < 0) return -1;
    int in[3] = {n->in[0], wv, bv};
    if (fuse_node_set_inputs(g, k, bv >= 0 ? 3 : 2, in, err) != RT_OK) return -1;
    fuse_attrs_clear(g, k);
    fuse_node_set_op(g, k, RT_OP_LINEAR);
    return 1;
}

/* Linear node k without bias or activation absorbs the bias Add reading its output. */
static int bias_absorb(IrGraph *g, int k, RtError *err) {
    const RtNode *n = &g->nodes[k];
    if (fuse_in(n, 2) >= 0 || fuse_activation_of(n)[0] != '\0') return 0;
    int y = n->out[0], j = fuse_sole_consumer(g, y);
    if (j < 0 || g->nodes[j].op != RT_OP_ADD || g->nodes[j].n_attr != 0) return 0;
    const RtNode *add = &g->nodes[j];
    int bi = add->in[0] == y ? add->in[1] : add->in[0];
    const RtTensor *bt = fuse_const_f32(g, bi);
    const RtTensor *w = fuse_const_f32(g, n->in[1]);
    if (!w || w->rank != 2) return 0;
    int64_t N = w->dims[1];
    if (!bt || !fuse_is_channel_vector(bt, N, g->values[y].rank)) return 0;
    int bv = bias_vector(g, bi, N, 1.0, err);
    if (bv < 0) return -1;
    int in[3] = {n->in[0], n->in[1], bv};
    if (fuse_node_set_inputs(g, k, 3, in, err) != RT_OK) return -1;
    fuse_node_absorb(g, k, j);
    return 1;
}

static int fuse_linear_run(IrGraph *g, int *changed, RtError *err) {
    int fused = 0;
    for (int k = 0; k < g->n_nodes; k++) {
        int r = 0;
        switch (g->nodes[k].op) {
        case RT_OP_MATMUL: r = matmul_to_linear(g, k); break;
        case RT_OP_GEMM: r = gemm_to_linear(g, k, err); break;
        default: break;
        }
        if (r < 0) return RT_ERR;
        fused += r;
        if (g->nodes[k].op != RT_OP_LINEAR) continue;
        r = bias_absorb(g, k, err);
        if (r < 0) return RT_ERR;
        fused += r;
    }
    if (fused) RT_TRY(ir_graph_compact(g, err));
    *changed += fused;
    return pass_subgraphs_apply(g, fuse_linear_run, changed, err);
}

int pass_fuse_linear(IrGraph *g, RtError *err) {
    int changed = 0;
    return fuse_linear_run(g, &changed, err);
}
