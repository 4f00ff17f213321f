/*
 * passes.h — graph passes. Each says what it requires and what it provides in its file's
 * header comment; ir_verify() runs after every pass in debug and test builds.
 */
#ifndef WAFER_PASSES_H
#define WAFER_PASSES_H

#include "../ir/ir.h"

/* Constant folding: nodes whose inputs are all constant are run by the reference kernels
 * and replaced by their results; Shape of a value with a fully known shape folds too. */
int pass_fold_constants(IrGraph *g, RtError *err);
/* Identity and inference-mode Dropout removed; consumers rewired to the input. */
int pass_remove_identity(IrGraph *g, RtError *err);
/* Nodes whose outputs nobody reads are removed. */
int pass_dead_nodes(IrGraph *g, RtError *err);
/* The three above, with shape inference, to a fixed point. */
int pass_simplify(IrGraph *g, RtError *err);

/* ---- fusion (passes/fuse_*.c); each requires a simplified graph ---- */
/* BatchNormalization (inference) folded into the preceding Conv / Gemm / MatMul / FusedConv /
 * Linear weights when that node's output has no other consumer. */
int pass_fold_batchnorm(IrGraph *g, RtError *err);
/* MatMul + Add(bias) and Gemm with constant weights -> wafer Linear; Conv -> FusedConv when an
 * activation follows; bias and activation (Relu, Clip, LeakyRelu, Sigmoid, HardSigmoid)
 * fused into Conv / Linear (see runtime/kernels/wafer_ops.h). */
int pass_fuse_linear(IrGraph *g, RtError *err);
int pass_fuse_activation(IrGraph *g, RtError *err);
/* ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add chains -> LayerNormalization. */
int pass_fuse_layernorm(IrGraph *g, RtError *err);
/* All fusions in order (after pass_simplify). */
int pass_fuse(IrGraph *g, RtError *err);

#endif
