/*
 * qlut.h — what the QLut kernels (ref/qlut.c, x86/qlut_x86.c) share: the input checks and
 * the output allocation.
 */
#ifndef WAFER_RT_QLUT_H
#define WAFER_RT_QLUT_H

#include "../kernel.h"

/* Checks x (int8/uint8) and the table (256 int8/uint8 entries); allocates y with x's shape
 * and the table's dtype. Returns RT_OK, a shape-mode status, or a failure. */
int rt_qlut_prepare(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out);

#endif
