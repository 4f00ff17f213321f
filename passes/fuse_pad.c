/*
 * fuse_pad.c — folds a zero Pad of the spatial axes into the Conv that reads it.
 *
 * tf2onnx writes TensorFlow's stride-2 "valid" convs after an explicit Pad (Keras'
 * ZeroPadding2D in MobileNetV2: M-LSD's block_1/3/6/13 pads, ~1 ms of copying per run at
 * 320x320); the Conv's pads attribute pads the same zeros without the copy (onnxruntime's
 * PadFusion does this too).
 *
 * Requires: a simplified graph (a Pad's pads and constant_value are constants by then).
 * Provides: a Pad (opset >= 11, mode "constant", constant_value absent or +0, no axes input,
 * constant pads >= 0 and 0 on the first two axes) whose output is read only by a Conv /
 * FusedConv as its input X (and is not a graph output), whose auto_pad is NOTSET, is gone:
 * the conv reads the Pad's input, its pads attribute its own plus the Pad's (begin and end
 * of each spatial axis). Zero padding is what the conv's own pads do (ONNX Conv), so the
 * outputs are the same bits. Anything else stays as it is (another mode or value, negative
 * pads: a crop, pads on the batch or channel axes, an axes input, auto_pad SAME_* / VALID).
 */
#include "fuse_internal.h"

#include <math.h>
#include <string.h>

/* Spatial axes a Conv has at most (ONNX: 1-D, 2-D, 3-D). */
#define PAD_MAX_SP 3

/* The Pad node j's pads when it qualifies (rank 2 + nsp, nsp <= RT_GEOM_MAX_SP): pads[2 * (2 +
 * nsp)] in ONNX order (begins, then ends). 1 qualifies, 0 not. */
static int pad_zero_spatial(const IrGraph *g, const RtNode *p, int64_t *pads, int *nsp) {
    if (p->op != RT_OP_PAD || p->opset < 11 || p->n_in < 2 || fuse_in(p, 3) >= 0) return 0;
    if (strcmp(rt_attr_str(p, "mode", "constant"), "constant") != 0) return 0;
    int cv = fuse_in(p, 2);
    if (cv >= 0) {
        const RtTensor *t = g->values[cv].konst;
        if (!t || !t->data || rt_numel(t) != 1) return 0;
        double v = rt_get_f64(t, 0);
        if (v != 0.0 || signbit(v)) return 0;
    }
    const RtTensor *pt = fuse_in(p, 1) >= 0 ? g->values[p->in[1]].konst : NULL;
    if (!pt || !pt->data || pt->dtype != RT_I64 || pt->rank != 1) return 0;
    int64_t n = rt_numel(pt);
    if (n % 2 != 0 || n / 2 < 3 || n / 2 > 2 + PAD_MAX_SP) return 0;
    int rank = (int)(n / 2);
    for (int i = 0; i < n; i++) {
        pads[i] = ((const int64_t *)pt->data)[i];
        int axis = i % rank;
        if (pads[i] < 0 || (axis < 2 && pads[i] != 0)) return 0;
    }
    *nsp = rank - 2;
    return 1;
}

/* Tries the Pad node j; 1 fused, 0 not, -1 error. */
static int pad_fuse_one(IrGraph *g, int j, RtError *err) {
    int64_t pads[2 * (2 + PAD_MAX_SP)];
    int nsp;
    const RtNode *p = &g->nodes[j];
    if (!pad_zero_spatial(g, p, pads, &nsp) || p->n_out < 1 || p->out[0] < 0) return 0;
    int k = fuse_sole_consumer(g, p->out[0]);
    if (k < 0) return 0;
    const RtNode *c = &g->nodes[k];
    if ((c->op != RT_OP_CONV && c->op != RT_OP_FUSED_CONV) || c->in[0] != p->out[0]) return 0;
    if (strcmp(rt_attr_str(c, "auto_pad", "NOTSET"), "NOTSET") != 0) return 0;
    const RtAttr *cp = rt_attr(c, "pads");
    if (cp && (cp->type != RT_ATTR_INTS || cp->n != 2 * nsp)) return 0;
    if (c->n_in > 3) return 0;
    int64_t np[2 * PAD_MAX_SP];
    for (int a = 0; a < nsp; a++) { /* conv pads: begins of the spatial axes, then ends */
        np[a] = (cp ? cp->ints[a] : 0) + pads[2 + a];
        np[nsp + a] = (cp ? cp->ints[nsp + a] : 0) + pads[(2 + nsp) + 2 + a];
    }
    int in[3], n_in = c->n_in; /* X, W, B */
    if (n_in > 3) return 0;
    for (int i = 0; i < n_in; i++) in[i] = c->in[i];
    in[0] = p->in[0];
    if (fuse_node_set_inputs(g, k, n_in, in, err) != RT_OK) return -1;
    if (fuse_attr_set_ints(g, k, "pads", 2 * nsp, np, err) != RT_OK) return -1;
    pass_node_delete(g, j);
    return 1;
}

static int fuse_pad_run(IrGraph *g, int *changed, RtError *err) {
    int fused = 0;
    for (int j = 0; j < g->n_nodes; j++) {
        int r = pad_fuse_one(g, j, err);
        if (r < 0) return RT_ERR;
        fused += r;
    }
    if (fused) RT_TRY(ir_graph_compact(g, err));
    *changed += fused;
    return pass_subgraphs_apply(g, fuse_pad_run, changed, err);
}

int pass_fuse_pad(IrGraph *g, RtError *err) {
    int changed = 0;
    return fuse_pad_run(g, &changed, err);
}
