/*
 * qdwconv.h — direct int8 depthwise convolution with wafer's QConv requantization (the
 * group == C case: every output channel reads one input channel), 1-D or 2-D, any kernel
 * size, stride, dilation and padding (padding is the input zero point: it adds 0):
 *
 *   acc[n, m, oh, ow] = B[m] + sum_{kh, kw} (x[n, m / mult, ih, iw] - zx) * (w[m, kh, kw] - zw[m])
 *   y = clamp(apply(acc, rq[m]) + zy, lo, hi)
 *
 * modulo 2^32 as the reference (ref/quant.c's rt_qconv_acc), so bit-identical to it.
 * qdwconv.c has the algorithm; implementations for AVX-512 (VNNI's vpdpwssd) and AVX2.
 */
#ifndef WAFER_RT_QDWCONV_H
#define WAFER_RT_QDWCONV_H

#include "qgemm.h"

typedef struct {
    int64_t N, C, M;         /* images, input channels, output channels (a multiple of C) */
    int64_t IH, IW, OH, OW;  /* input and output plane sizes */
    int64_t kh, kw;          /* kernel */
    int64_t sh, sw, dh, dw;  /* strides, dilations */
    int64_t pt, pl;          /* padding before the first row / column */
    const void *x;           /* borrowed [N, C, IH, IW] */
    int x_u8;
    int32_t zx;
    const void *w;           /* borrowed [M, kh * kw] */
    int w_u8;
    const int32_t *zw;       /* borrowed [M] */
    const int32_t *bias;     /* borrowed [M] or NULL */
    void *y;                 /* borrowed [N, M, OH, OW] */
    int y_u8;
    const RtRequant *rq;     /* borrowed [M] */
    int32_t zy, lo, hi;
    const void *prep;        /* borrowed: rt_qdw_prep's result for these weights and shapes, or NULL */
} RtQdw;

/* Runs d with isa (RT_QGEMM_AVX2 or RT_QGEMM_VNNI, supported by this CPU) on c->pool's
 * threads. RT_OK, or RT_ERR_NOMEM with c->err set. */
int rt_qdw_run(RtKernelCtx *c, const RtQdw *d, RtQgemmIsa isa);

/* The per-call work that depends only on the weights, their zero points, the multipliers and
 * the shapes (weight pairs, requantization rows, plane masks) done once: rt_qdw_prep writes
 * rt_qdw_prep_bytes(d, isa) bytes (8-byte aligned) at prep; a later rt_qdw_run with the same
 * constants, shapes and isa and d->prep = prep skips it, with the same output. */
size_t rt_qdw_prep_bytes(const RtQdw *d, RtQgemmIsa isa);
void rt_qdw_prep(const RtQdw *d, RtQgemmIsa isa, void *prep);

#endif
