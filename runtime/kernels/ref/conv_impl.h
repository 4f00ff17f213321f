/*
 * conv_impl.h — the Conv kernel as a callable entry point, for kernels that compute a
 * convolution and then do more in place (FusedConv in fused.c). Private to runtime/kernels/ref.
 */
#ifndef WAFER_RT_CONV_IMPL_H
#define WAFER_RT_CONV_IMPL_H

#include "../kernel.h"

/* Conv exactly as the ONNX op (inputs X, W, B?; Conv's attributes read from n by name, other
 * attributes ignored): shapes, allocation of out[0], then the convolution with the bias added. */
int rt_conv_run(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out);

#endif
