/*
 * onnx_legacy.h — models of default-domain opsets 1-6 (onnx_legacy.c). Frontend-internal:
 * only onnx_load.c calls it, on the converted graph, before the proto is freed.
 */
#ifndef WAFER_ONNX_LEGACY_H
#define WAFER_ONNX_LEGACY_H

#include "onnx_internal.h"

/* The first opset whose forms the rest of wafer sees: older graphs are rewritten into it. */
#define ONNX_LEGACY_TARGET 7

/* Rewrites every default-domain node of g (and of its subgraphs) from its opset 1-6 form into
 * the opset-7 form of the same op, then sets g's opset (and the nodes') to 7. An op or an
 * attribute value that has no opset-7 equivalent is an error naming the node. */
int onnx_legacy_upgrade(OnnxCtx *ctx, IrGraph *g);

/* For graphs of opset 7 and later: refuses the attributes only opsets 1-6 defined
 * (consumed_inputs, legacy broadcast, Pad's paddings ...), which ops.def lists for the
 * old versions, and rewrites the experimental ImageScaler (opsets 7-9) into Mul + Add. */
int onnx_legacy_newer(OnnxCtx *ctx, IrGraph *g);

#endif
