/*
 * qlut.h — what the QLut kernels (ref/qlut.c, x86/qlut_x86.c) share: the input checks, the
 * output allocation and the per-channel layout.
 */
#ifndef WAFER_RT_QLUT_H
#define WAFER_RT_QLUT_H

#include "../kernel.h"

/* How y[i] picks its table: one table [256] (channels = 1), or per channel, table [C, 256]
 * along x's axis (attribute axis): element i of x [outer, C, inner] reads table row
 * (i / inner) % C. */
typedef struct {
    int64_t outer, channels, inner;
} RtQlutLayout;

/* Checks x (int8/uint8) and the table (256 int8/uint8 entries, or [C, 256] with C = x's size
 * on attribute axis, default 1); allocates y with x's shape and the table's dtype; fills *l.
 * Returns RT_OK, a shape-mode status, or a failure. */
int rt_qlut_prepare(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out, RtQlutLayout *l);

#endif
