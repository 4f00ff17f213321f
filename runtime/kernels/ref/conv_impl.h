/*
 * conv_impl.h — the Conv kernel as a callable entry point, for kernels that compute a
 * convolution and then do more in place (FusedConv in fused.c), and ConvTranspose's output
 * geometry for the optimized kernel (x86/convt_x86.c). Private to runtime/kernels.
 */
#ifndef WAFER_RT_CONV_IMPL_H
#define WAFER_RT_CONV_IMPL_H

#include "../kernel.h"
#include "conv_geom.h"

/* Conv exactly as the ONNX op (inputs X, W, B?; Conv's attributes read from n by name, other
 * attributes ignored): shapes, allocation of out[0], then the convolution with the bias added. */
int rt_conv_run(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out);

/* ConvTranspose's output sizes and pads (output_padding, output_shape, auto_pad, by the
 * spec's formulas) into g, whose input, kernel, strides, dilations and explicit pads
 * rt_geom_read_weighted filled; fails (message in c) on bad attributes or an empty output. */
int rt_convt_geom(RtKernelCtx *c, const RtNode *n, RtConvGeom *g);

#endif
