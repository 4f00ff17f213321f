/*
 * onnx_contrib.h — models onnxruntime optimized (onnx_contrib.c): its float contrib ops
 * (com.microsoft FusedConv, FusedGemm, FusedMatMul, Gelu, BiasGelu, FastGelu, QuickGelu,
 * BiasAdd, SkipLayerNormalization, SkipSimplifiedLayerNormalization, Attention,
 * MultiHeadAttention, and the SimplifiedLayerNormalization it writes in the default domain)
 * rewritten, as the model
 * loads, into the standard ONNX ops they mean. Frontend-internal: only onnx_load.c calls it.
 */
#ifndef WAFER_ONNX_CONTRIB_H
#define WAFER_ONNX_CONTRIB_H

#include "onnx_internal.h"

/* 1 when the model's graph (subgraphs included) holds a node onnx_contrib_lower rewrites: the
 * loader then converts the graph keeping unknown ops (they are the contrib nodes) and calls
 * onnx_contrib_lower afterwards. */
int onnx_contrib_present(const Onnx__ModelProto *mp);

/* Rewrites every contrib node of g (and of its subgraphs) into standard ops at g's opset;
 * an attribute, activation or input form with no such rewrite is an error naming the node
 * and op. Then, when refuse_unknown, any node of an op wafer does not know is refused
 * with the message the loader gives for unknown ops. */
int onnx_contrib_lower(OnnxCtx *ctx, IrGraph *g, int refuse_unknown);

#endif
