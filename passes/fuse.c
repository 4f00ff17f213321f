/*
 * fuse.c — the fusion pipeline, in the order each pass needs the one before:
 *   fold_batchnorm   BN into Conv / Gemm / MatMul weights (first: once an activation is fused
 *                    into its producer, a BN after that activation cannot fold any more)
 *   fuse_linear      MatMul (+ bias Add) and Gemm with constant weights -> Linear
 *   fuse_layernorm   decomposed LayerNormalization chains -> LayerNormalization
 *   fuse_gelu        the exact-erf GELU chain -> Gelu
 *   fuse_hardswish   relu6(x + 3) chains -> HardSwish / HardSigmoid (before fuse_activation,
 *                    which may then fuse such a HardSigmoid into its conv)
 *   fuse_activation  Relu / Clip / LeakyRelu / Sigmoid / HardSigmoid into Conv and Linear,
 *                    Gelu into Linear (after fuse_gelu, which makes the Gelu nodes)
 *   fuse_pad         a zero Pad of the spatial axes into the Conv / FusedConv reading it
 *   dead_nodes       whatever a fusion left unread
 *   sink_views       view steps next to their readers (order only: the runtime's fused
 *                    attention then reads q, k, v where the plan keeps them)
 * then shape inference over the result (the fused ops' kernels recompute every shape, a check
 * that a rewrite kept them) and ir_verify after every step.
 *
 * Requires: pass_simplify has run (constants folded, shapes inferred). Provides: what each pass
 * provides (see their files); the graph verifies and computes what it computed before, up to
 * float rounding of the folded weights.
 */
#include "fuse_internal.h"

#include <stdio.h>

static int fuse_step(IrGraph *g, int (*fn)(IrGraph *, RtError *), const char *name, RtError *err) {
    int r = fn(g, err);
    if (r == RT_OK) r = ir_verify(g, err);
    if (r != RT_OK) {
        char tmp[sizeof err->msg];
        snprintf(tmp, sizeof tmp, "%s", err->msg);
        snprintf(err->msg, sizeof err->msg, "%s: %s", name, tmp);
        return RT_ERR;
    }
    return RT_OK;
}

int pass_fuse(IrGraph *g, RtError *err) {
    RT_TRY(fuse_step(g, pass_fold_batchnorm, "fold_batchnorm", err));
    RT_TRY(fuse_step(g, pass_fuse_linear, "fuse_linear", err));
    RT_TRY(fuse_step(g, pass_fuse_layernorm, "fuse_layernorm", err));
    RT_TRY(fuse_step(g, pass_fuse_gelu, "fuse_gelu", err));
    RT_TRY(fuse_step(g, pass_fuse_hardswish, "fuse_hardswish", err));
    RT_TRY(fuse_step(g, pass_fuse_activation, "fuse_activation", err));
    RT_TRY(fuse_step(g, pass_fuse_pad, "fuse_pad", err));
    RT_TRY(fuse_step(g, pass_dead_nodes, "dead_nodes", err));
    RT_TRY(fuse_step(g, pass_sink_views, "sink_views", err));
    return fuse_step(g, ir_infer_shapes, "infer_shapes", err);
}
