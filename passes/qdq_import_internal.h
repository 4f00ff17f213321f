/*
 * qdq_import_internal.h — what the QDQ import's files share: qdq_import.c (the pass, the
 * Conv / Gemm / Add / pool / Concat groups and the helpers below) and qdq_import_matmul.c
 * (the MatMul groups: QLinearMatMul, and weight-only blocked DequantizeLinear ->
 * MatMulNBits).
 */
#ifndef WAFER_QDQ_IMPORT_INTERNAL_H
#define WAFER_QDQ_IMPORT_INTERNAL_H

#include "quantize_internal.h"

static inline int qdq_is_q8(RtDtype t) { return t == RT_U8 || t == RT_I8; }

/* The constant behind value v (through Identity nodes), or -1. */
int qdq_konst_of(const IrGraph *g, int v);

/* v produced by a per-tensor DequantizeLinear of a uint8/int8 activation (one float32 scale,
 * one zero point of x's type): the DQ's node index (p filled), else -1. */
int qdq_act_dq(const IrGraph *g, int v, QzParams *p);

/* The one per-tensor QuantizeLinear reading v (v not a graph output, no other reader); with
 * allow_act, also through a Relu / Clip that Q's saturation makes redundant (*act = its node,
 * else -1). Returns the Q's node index or -1. */
int qdq_out_q(const IrGraph *g, int v, int allow_act, QzParams *y, int *act);

/* A uint8/int8 constant weight through a DequantizeLinear (or a float32 constant through
 * Q -> DQ, whose codes are made here): per tensor, or, with per_axis_ok, per index of `axis`
 * (of the weight's rank). Fills the integer weight, scale and zero point values. Returns 1
 * when it matches, 0 when not, -1 on error. */
int qdq_weight_dq(IrGraph *g, int v, int axis, int per_axis_ok, int *wq, int *ws, int *wz, RtError *err);

/* Node k becomes `op` reading in[n_in] and producing the output of Q node q, which is
 * deleted with the activation node act (if >= 0). */
int qdq_node_become(IrGraph *g, int k, int op, int n_in, const int *in, int q, int act, RtError *err);

/* MatMul node k (qdq_import_matmul.c): 1 rewritten, 0 no match, -1 error. */
int qdq_matmul_import(IrGraph *g, int k, RtError *err);
/* Gemm node k with a weight-only DQ of B -> MatMulNBits (qdq_import_matmul.c): the same. */
int qdq_gemm_import_nbits(IrGraph *g, int k, RtError *err);

#endif
