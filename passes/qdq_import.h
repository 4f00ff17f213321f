/*
 * qdq_import.h — QDQ int8 models written by other tools (onnxruntime's quantizer, most
 * published int8 .onnx files) run on the int8 kernels: each DequantizeLinear -> op ->
 * QuantizeLinear group becomes the QOperator op onnxruntime's own QDQ transformer makes of
 * it (QLinearConv, QLinearMatMul, com.microsoft QGemm / QLinearAdd / QLinearMul /
 * QLinearAveragePool / QLinearGlobalAveragePool / QLinearConcat), with the file's own scales
 * and zero points; and each weight-only DequantizeLinear of 4- or 8-bit codes (blocked, per
 * column or per tensor) before a MatMul or Gemm becomes com.microsoft MatMulNBits on the
 * packed codes.
 * See qdq_import.c and qdq_import_matmul.c for the exact patterns.
 */
#ifndef WAFER_QDQ_IMPORT_H
#define WAFER_QDQ_IMPORT_H

#include "../ir/ir.h"

/* Requires: a loaded graph (values typed as the loader infers them); runs before constant
 * folding (which would turn the weights' DequantizeLinear into float weights). Provides: every
 * matching group rewritten in place, nodes left without readers removed, the graph compacted;
 * a graph without a matching group is left as it is. *n_groups (may be NULL) gets the number
 * of groups rewritten. Errors (out of memory) name the node. */
int pass_qdq_import(IrGraph *g, int *n_groups, RtError *err);

#endif
