/*
 * fuse_activation.c — fuses the activation after a Conv or a Linear into it.
 *
 * Requires: a simplified graph (constant Clip bounds are constants); Linear nodes come from
 * pass_fuse_linear, so run that first to fuse activations after MatMul / Gemm.
 * Provides: a Relu, Clip, LeakyRelu, Sigmoid or HardSigmoid whose input is produced by a
 * Conv, or by a FusedConv / Linear without an activation, and is read by nothing else (and
 * is not a graph output) is gone: the producer is a FusedConv / Linear with attributes
 * activation, alpha, beta (wafer_ops.h) and produces the activation's output itself. So is
 * a Gelu (approximate "none" -> activation "Gelu", "tanh" -> "GeluTanh") on a float32 Linear
 * under the same conditions; a Gelu after a conv stays a node of its own (the conv kernels
 * apply no Gelu; transformers' Gelu follows a Linear). pass_fuse runs fuse_gelu first, so
 * the erf chains exporters write are Gelu nodes by then.
 *
 * Parameters: LeakyRelu alpha (default 0.01); HardSigmoid alpha, beta (0.2, 0.5); Clip's
 * bounds from attributes min/max before opset 11 (absent = -+FLT_MAX, as the Clip kernel
 * reads them) or from its optional inputs from opset 11 (absent = -+inf), which must then be
 * constant scalars. Not fused: a Clip bound that is computed at run time, or a float64 bound
 * that a float attribute cannot hold exactly; an activation on a Linear that is not float32.
 */
#include "fuse_internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* One Clip bound (which = 1 min, 2 max) as a float; 0 when it cannot be fused. */
static int clip_bound(const IrGraph *g, const RtNode *n, int which, float *f) {
    int is_min = which == 1;
    if (n->opset < 11) {
        *f = rt_attr_float(n, is_min ? "min" : "max", is_min ? -FLT_MAX : FLT_MAX);
        return 1;
    }
    int v = fuse_in(n, which);
    if (v < 0) {
        *f = is_min ? -INFINITY : INFINITY;
        return 1;
    }
    const RtTensor *t = g->values[v].konst;
    if (!t || !t->data || rt_numel(t) != 1 || t->dtype != g->values[n->in[0]].dtype) return 0;
    double d = rt_get_f64(t, 0);
    *f = (float)d;
    return (double)*f == d || d != d; /* exact in float (NaN stays NaN) */
}

/* Writes the activation attributes of node j's op onto producer k. 1 done, 0 not, -1 error. */
static int act_attrs_set(IrGraph *g, int k, int j, RtError *err) {
    const RtNode *a = &g->nodes[j];
    float alpha = 0, beta = 0;
    int n_params = 0;
    const char *name = rt_op_name(a->op);
    switch (a->op) {
    case RT_OP_RELU: case RT_OP_SIGMOID: break;
    case RT_OP_GELU: {
        const char *ap = rt_attr_str(a, "approximate", "none");
        if (g->nodes[k].op != RT_OP_LINEAR) return 0;
        if (strcmp(ap, "tanh") == 0) name = "GeluTanh";
        else if (strcmp(ap, "none") != 0) return 0; /* the Gelu kernel reports it */
        break;
    }
    case RT_OP_LEAKY_RELU:
        alpha = rt_attr_float(a, "alpha", 0.01f);
        n_params = 1;
        break;
    case RT_OP_HARD_SIGMOID:
        alpha = rt_attr_float(a, "alpha", 0.2f);
        beta = rt_attr_float(a, "beta", 0.5f);
        n_params = 2;
        break;
    case RT_OP_CLIP:
        if (!clip_bound(g, a, 1, &alpha) || !clip_bound(g, a, 2, &beta)) return 0;
        n_params = 2;
        break;
    default: return 0;
    }
    RT_TRY(fuse_attr_set_str(g, k, "activation", name, err));
    if (n_params >= 1) RT_TRY(fuse_attr_set_float(g, k, "alpha", alpha, err));
    if (n_params >= 2) RT_TRY(fuse_attr_set_float(g, k, "beta", beta, err));
    return 1;
}

/* Tries producer node k; 1 fused, 0 not, -1 error. */
static int act_fuse_one(IrGraph *g, int k, RtError *err) {
    const RtNode *n = &g->nodes[k];
    if (n->op != RT_OP_CONV && n->op != RT_OP_FUSED_CONV && n->op != RT_OP_LINEAR) return 0;
    if (fuse_activation_of(n)[0] != '\0' || n->n_out < 1 || n->out[0] < 0) return 0;
    int y = n->out[0], j = fuse_sole_consumer(g, y);
    if (j < 0 || g->nodes[j].in[0] != y) return 0;
    RtDtype dt = g->values[y].dtype;
    if (!rt_dtype_is_float(dt) || (n->op == RT_OP_LINEAR && dt != RT_F32)) return 0;
    int r = act_attrs_set(g, k, j, err);
    if (r <= 0) return r < 0 ? -1 : 0;
    if (g->nodes[k].op == RT_OP_CONV) fuse_node_set_op(g, k, RT_OP_FUSED_CONV);
    fuse_node_absorb(g, k, j);
    return 1;
}

static int fuse_activation_run(IrGraph *g, int *changed, RtError *err) {
    int fused = 0;
    for (int k = 0; k < g->n_nodes; k++) {
        int r = act_fuse_one(g, k, err);
        if (r < 0) return RT_ERR;
        fused += r;
    }
    if (fused) RT_TRY(ir_graph_compact(g, err));
    *changed += fused;
    return pass_subgraphs_apply(g, fuse_activation_run, changed, err);
}

int pass_fuse_activation(IrGraph *g, RtError *err) {
    int changed = 0;
    return fuse_activation_run(g, &changed, err);
}
