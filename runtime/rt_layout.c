/*
 * rt_layout.c — which values a planned run keeps channels-last (rt_plan_fast.h).
 *
 * Why: the x86 depthwise kernel on small planes (KWS's 25x5, MobileNet's 14x14 and 7x7)
 * works with 16 channels in the lanes, so on NCHW data it transposes every group of 16
 * planes in and its outputs back out (most of its time). Kept NHWC from the conv before it
 * to the one after, the tensor needs no transpose at all: the depthwise conv reads and
 * writes each position's channels as vectors, a 1x1 conv is the GEMM X[P, C] * W^T, the
 * first conv writes NHWC from the same GEMM over its taps, a global pool reads NHWC.
 * kws_dscnn: 39.7 -> 31.5 us at 1 thread (bench/bench_nhwc.c per layer: depthwise 2.7 ->
 * 2.2 us, 1x1 5.6 -> 4.7, first conv 5.1 -> 3.4).
 *
 * A value is marked when
 *  - it is a 4-D float32 value with a place in the plan, no graph input, output or
 *    constant;
 *  - its producer can write it NHWC and every reader can read it NHWC (the kernels say so:
 *    cx_conv_nhwc_caps, cx_pool_nhwc_ok in kernels/x86/conv_x86.h, from the plan's shapes),
 *    each reader taking it as its data input (input 0) only; a reader that reads NHWC only
 *    when it writes NHWC (a 1x1 conv) and whose output cannot be NHWC makes its input NCHW
 *    too, which may in turn do the same to the conv before it (repeated until nothing
 *    changes);
 *  - and it pays: the values that could be NHWC form chains through the convs that read one
 *    and write another (union-find); a chain is kept only when it runs through a depthwise
 *    conv of at least 16 channels on the channel-lanes kernel that reads and writes NHWC,
 *    the one whose transposes the layout removes. Other chains (1x1 convs alone, few
 *    channels, or a depthwise conv with one side NCHW: MobileNet's blocks, whose expansion
 *    would then write NHWC from an NCHW input, measured slower there) stay NCHW; so do
 *    convs of more than 128 input taps (cx_conv_nhwc_caps), on which the NHWC GEMM was
 *    slower (MobileNet's 1x1 convs of 160..960 channels): MobileNet keeps NCHW throughout.
 * Only on CPUs that run those kernels (cx_cpu_ok); never in graphs with subgraphs (their
 * branches may read outer values that no node lists). The executor never applies the
 * layouts with the reference kernels (rt_plan_run), so a value the reference may read is
 * never NHWC.
 */
#include <stdlib.h>

#include "kernels/x86/conv_x86.h"
#include "rt_plan_fast.h"

/* Union-find root of v (path halving). */
static int lay_find(int *up, int v) {
    while (up[v] != v) {
        up[v] = up[up[v]];
        v = up[v];
    }
    return v;
}

static int lay_has_subgraph(const RtGraph *g) {
    for (int k = 0; k < g->n_nodes; k++)
        for (int a = 0; a < g->nodes[k].n_attr; a++)
            if (g->nodes[k].attrs[a].type == RT_ATTR_GRAPH) return 1;
    return 0;
}

/* The CX_NHWC_* bits of node n on the plan's shapes (0 for ops that know no NHWC). */
static int lay_caps(const RtGraph *g, const RtPlan *p, const RtNode *n) {
    if (n->n_in < 1 || n->in[0] < 0 || n->n_out < 1 || n->out[0] < 0) return 0;
    const RtTensor *x = &p->value[n->in[0]];
    if (n->op == RT_OP_GLOBAL_AVERAGE_POOL || n->op == RT_OP_GLOBAL_MAX_POOL)
        return n->n_out == 1 && cx_pool_nhwc_ok(n, x) ? CX_NHWC_IN : 0;
    if (n->op != RT_OP_CONV && n->op != RT_OP_FUSED_CONV) return 0;
    if (n->n_in < 2 || n->in[1] < 0 || n->n_out != 1) return 0;
    const RtTensor *b = n->n_in > 2 && n->in[2] >= 0 ? &p->value[n->in[2]] : NULL;
    (void)g;
    return cx_conv_nhwc_caps(n, x, &p->value[n->in[1]], b);
}

/* 1 when value v may be NHWC as far as itself goes (see the header). */
static int lay_value_ok(const RtGraph *g, const RtPlan *p, int v) {
    const RtTensor *t = &p->value[v];
    if (t->dtype != RT_F32 || t->rank != 4 || p->offset[v] < 0 || (g->consts && g->consts[v])) return 0;
    for (int i = 0; i < g->n_inputs; i++)
        if (g->inputs[i] == v) return 0;
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == v) return 0;
    return 1;
}

int rt_layout_choose(const RtGraph *g, const RtPlan *p, RtPlanFast *f, RtError *err) {
    if (!cx_cpu_ok() || g->n_values < 1 || g->n_nodes < 1 || lay_has_subgraph(g)) return RT_OK;
    const int nv = g->n_values, nn = g->n_nodes;
    int *caps = malloc(sizeof(int) * (size_t)nn);
    int *up = malloc(sizeof(int) * (size_t)nv);
    unsigned char *cand = calloc((size_t)nv, 2); /* [nv] candidate, then [nv] pays (by root) */
    if (!caps || !up || !cand) {
        free(caps), free(up), free(cand);
        return rt_error_set(err, "out of memory"), RT_ERR_NOMEM;
    }
    unsigned char *pays = cand + nv;
    for (int v = 0; v < nv; v++) up[v] = v;
    for (int k = 0; k < nn; k++) caps[k] = lay_caps(g, p, &g->nodes[k]);
    /* producers that write NHWC */
    for (int k = 0; k < nn; k++) {
        const RtNode *n = &g->nodes[k];
        if ((caps[k] & CX_NHWC_OUT) && lay_value_ok(g, p, n->out[0])) cand[n->out[0]] = 1;
    }
    /* readers: every one must read it NHWC, as its input 0 and nowhere else */
    for (int k = 0; k < nn; k++) {
        const RtNode *n = &g->nodes[k];
        for (int j = 0; j < n->n_in; j++) {
            int v = n->in[j];
            if (v >= 0 && cand[v] && (j != 0 || !(caps[k] & CX_NHWC_IN))) cand[v] = 0;
        }
    }
    /* a conv reading NHWC only to write NHWC, whose output stays NCHW, keeps its input NCHW */
    for (int changed = 1; changed;) {
        changed = 0;
        for (int k = nn - 1; k >= 0; k--) {
            const RtNode *n = &g->nodes[k];
            if ((caps[k] & CX_NHWC_IN_OUT) && cand[n->in[0]] && !cand[n->out[0]]) cand[n->in[0]] = 0, changed = 1;
        }
    }
    /* chains: a conv joins its NHWC input to its NHWC output */
    for (int k = 0; k < nn; k++) {
        const RtNode *n = &g->nodes[k];
        if ((caps[k] & (CX_NHWC_IN | CX_NHWC_OUT)) == (CX_NHWC_IN | CX_NHWC_OUT) && cand[n->in[0]] && cand[n->out[0]])
            up[lay_find(up, n->in[0])] = lay_find(up, n->out[0]);
    }
    /* a chain pays when it runs through a depthwise conv of 16 or more channels */
    for (int k = 0; k < nn; k++) {
        const RtNode *n = &g->nodes[k];
        if ((caps[k] & CX_NHWC_DW) && p->value[n->in[0]].dims[1] >= 16 && cand[n->in[0]] && cand[n->out[0]])
            pays[lay_find(up, n->in[0])] = 1;
    }
    for (int v = 0; v < nv; v++) f->nhwc[v] = cand[v] && pays[lay_find(up, v)];
    free(caps), free(up), free(cand);
    return RT_OK;
}
