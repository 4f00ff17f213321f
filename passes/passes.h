/*
 * passes.h — graph passes. Each says what it requires and what it provides in its file's
 * header comment; ir_verify() runs after every pass in debug and test builds.
 */
#ifndef WAFER_PASSES_H
#define WAFER_PASSES_H

#include "../ir/ir.h"

/* Constant folding: nodes whose inputs are all constant are run by the reference kernels
 * and replaced by their results; Shape of a value with a fully known shape folds too.
 * DequantizeLinear stays when g->keep_dequantize (quantized weights keep their codes). */
int pass_fold_constants(IrGraph *g, RtError *err);
/* Identity and inference-mode Dropout removed; consumers rewired to the input. */
int pass_remove_identity(IrGraph *g, RtError *err);
/* Nodes whose outputs nobody reads are removed. */
int pass_dead_nodes(IrGraph *g, RtError *err);
/* onnxruntime's channels_last int8 nodes (com.microsoft QLinearConv, QLinearGlobalAveragePool)
 * back to channels-first where the graph Transposes around them; inverse Transpose pairs
 * cancel (passes/layout_nchw.c). */
int pass_layout_nchw(IrGraph *g, RtError *err);
/* The four above, with shape inference, to a fixed point. */
int pass_simplify(IrGraph *g, RtError *err);

/* ---- fusion (passes/fuse_*.c); each requires a simplified graph and fires only where the
 * result computes the same values (an intermediate value read by another node, or returned
 * by the graph, stops it). New ops are wafer's (runtime/kernels/wafer_ops.h). ---- */
/* Inference BatchNormalization folded into the weights and bias of the float32 Conv /
 * FusedConv / Gemm / MatMul / Linear before it (constant weights, no fused activation); a
 * MatMul becomes a Linear to hold the bias. Float16 / bfloat16 graphs fold into Conv /
 * FusedConv / Gemm in their own type, with onnxruntime's 16-bit arithmetic. */
int pass_fold_batchnorm(IrGraph *g, RtError *err);
/* The rule and the arithmetic of that fold, for quantization-aware training (train/), which
 * must round the weights the quantizer will see: the node BatchNormalization node k folds
 * into, or -1 (the pass also needs X float32, which a graph before shape inference may not
 * state yet); and s[c] = scale[c] / sqrt(var[c] + epsilon) (double), W'[c] = (float)(W[c] s[c]). */
int pass_batchnorm_fold_target(const IrGraph *g, int k);
void pass_batchnorm_fold_scale(const RtNode *bn, const float *scale, const float *var, int64_t C, double *s);
/* The output channel that element i of producer p's weight (numel elements, C channels)
 * belongs to: its leading index for Conv and Gemm with transB, else its column ([K, C]). */
int64_t pass_batchnorm_fold_channel(const RtNode *p, int64_t numel, int64_t C, int64_t i);
/* MatMul with a constant [K, N] weight (+ the bias Add after it) and Gemm with a constant B,
 * a 2-D A and a C that broadcasts as [N] -> Linear(X, W[K, N], B[N]?). */
int pass_fuse_linear(IrGraph *g, RtError *err);
/* Relu, Clip (constant bounds), LeakyRelu, Sigmoid, HardSigmoid after a Conv / FusedConv /
 * Linear -> FusedConv / Linear with the activation attributes. */
int pass_fuse_activation(IrGraph *g, RtError *err);
/* ReduceMean/Sub/Pow (or Mul)/ReduceMean/Add/Sqrt/Div[/Mul gamma][/Add beta] over the last
 * axis -> LayerNormalization(axis = -1, epsilon). */
int pass_fuse_layernorm(IrGraph *g, RtError *err);
/* The exact GELU chain x * 0.5 * (1 + Erf(x / sqrt 2)) (operand orders, Mul by 1/sqrt 2) ->
 * one ONNX Gelu (opset 20). */
int pass_fuse_gelu(IrGraph *g, RtError *err);
/* Add/Clip(or Min/Max)/Mul/Div chains of relu6(x + 3) -> HardSwish / HardSigmoid (fuse_hardswish.c). */
int pass_fuse_hardswish(IrGraph *g, RtError *err);
/* Reshape / Flatten / Squeeze / Unsqueeze / Transpose moved down to just before their first
 * reader (order only), so the runtime's fused chains find the values they read still in
 * their planned places (passes/sink_views.c). */
int pass_sink_views(IrGraph *g, RtError *err);
/* A zero constant Pad of the spatial axes before a Conv / FusedConv -> the conv's own pads
 * (fuse_pad.c). */
int pass_fuse_pad(IrGraph *g, RtError *err);
/* fold_batchnorm, fuse_linear, fuse_activation, fuse_layernorm, fuse_gelu, fuse_pad, dead
 * nodes, sink_views, shape inference; ir_verify after each (after pass_simplify). */
int pass_fuse(IrGraph *g, RtError *err);

#endif
