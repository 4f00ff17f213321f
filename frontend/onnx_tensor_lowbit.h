/*
 * onnx_tensor_lowbit.h — sub-byte integer TensorProtos read into one-byte tensors
 * (onnx_tensor_lowbit.c): UINT4 = 21 / INT4 = 22 (ONNX IR 10, opset 21) and UINT2 = 25 /
 * INT2 = 26 (IR 13, opset 25). Frontend-only.
 */
#ifndef WAFER_ONNX_TENSOR_LOWBIT_H
#define WAFER_ONNX_TENSOR_LOWBIT_H

#include "onnx_internal.h"

#define ONNX_DTYPE_UINT4 21
#define ONNX_DTYPE_INT4 22
#define ONNX_DTYPE_UINT2 25
#define ONNX_DTYPE_INT2 26

/* Bits per element of a packed integer ONNX type (4 or 2), 0 for any other type. */
int onnx_dtype_lowbit_bits(int dt);
/* 1 when tp holds UINT4, INT4, UINT2 or INT2 elements. */
int onnx_tensor_is_lowbit(const Onnx__TensorProto *tp);
/* tp (UINT4 / INT4 / UINT2 / INT2) as an RT_U8 / RT_I8 tensor of the same shape, one element
 * per byte (signed types sign-extended), data from a. Same checks as onnx_tensor_convert. */
int onnx_tensor_lowbit_convert(OnnxCtx *ctx, const Onnx__TensorProto *tp, const char *what, const OnnxAlloc *a,
                               RtTensor *t);
/* Scans gp (subgraphs too) before its sub-byte constants are widened: records in ctx each
 * QuantizeLinear without output_dtype whose y_zero_point is an initializer / Constant of a
 * sub-byte type, and refuses a CastLike whose target_type is one (its widened int8 / uint8
 * would name the wrong type). RT_OK or RT_ERR with the node named (onnx_lowbit_check.c). */
int onnx_lowbit_check(OnnxCtx *ctx, const Onnx__GraphProto *gp);
/* The sub-byte output type onnx_lowbit_check recorded for np, 0 when none. */
int onnx_lowbit_q_type(const OnnxCtx *ctx, const Onnx__NodeProto *np);
/* Frees what onnx_lowbit_check recorded. */
void onnx_lowbit_release(OnnxCtx *ctx);

#endif
