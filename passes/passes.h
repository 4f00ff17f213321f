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

#endif
