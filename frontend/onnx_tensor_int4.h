/*
 * onnx_tensor_int4.h — 4-bit integer TensorProtos (UINT4 = 21, INT4 = 22, ONNX IR 10) read into
 * one-byte tensors (onnx_tensor_int4.c). Frontend-only.
 */
#ifndef WAFER_ONNX_TENSOR_INT4_H
#define WAFER_ONNX_TENSOR_INT4_H

#include "onnx_internal.h"

#define ONNX_DTYPE_UINT4 21
#define ONNX_DTYPE_INT4 22

/* 1 when tp holds UINT4 or INT4 elements. */
int onnx_tensor_is_int4(const Onnx__TensorProto *tp);
/* tp (UINT4 / INT4) as an RT_U8 / RT_I8 tensor of the same shape, one element per byte (INT4
 * sign-extended), data from a. Same checks as onnx_tensor_convert. */
int onnx_tensor_int4_convert(OnnxCtx *ctx, const Onnx__TensorProto *tp, const char *what, const OnnxAlloc *a,
                             RtTensor *t);

#endif
