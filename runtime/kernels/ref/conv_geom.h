/*
 * conv_geom.h — the sliding-window geometry shared by Conv, ConvTranspose, MaxPool and
 * AveragePool (private to runtime/kernels/ref/).
 *
 * Every window op reads the same attributes (kernel_shape, strides, dilations, pads,
 * auto_pad) and derives the same numbers from them. This file reads and checks them once
 * and normalizes 1-D, 2-D and 3-D to a 3-D geometry (D, H, W): a 1-D op is a 3-D op whose
 * D and H axes have size 1, kernel 1, stride 1 and no padding. The loops in conv.c and
 * pool.c are therefore written once, for 3-D.
 *
 * Output size of a forward window op on one axis (effective kernel e = (k - 1) * d + 1):
 *   NOTSET  out = floor((in + p0 + p1 - e) / s) + 1        (ceil with ceil_mode; then a
 *           window that would start inside the end padding is dropped: if
 *           (out - 1) * s >= in + p0, out -= 1)
 *   VALID   as NOTSET with p0 = p1 = 0
 *   SAME_*  out = ceil(in / s); total = max(0, (out - 1) * s + e - in);
 *           SAME_UPPER puts the odd unit at the end (p0 = total / 2), SAME_LOWER at the start.
 */
#ifndef WAFER_RT_CONV_GEOM_H
#define WAFER_RT_CONV_GEOM_H

#include "../kernel.h"

#define RT_GEOM_MAX_SP 3 /* spatial axes the window kernels support (1-D, 2-D, 3-D) */

typedef struct {
    int nsp;                          /* spatial rank of the node: 1..3 */
    int64_t in[RT_GEOM_MAX_SP];       /* input size per axis (D, H, W); unused leading axes 1 */
    int64_t out[RT_GEOM_MAX_SP];      /* output size per axis */
    int64_t k[RT_GEOM_MAX_SP];        /* kernel size per axis */
    int64_t stride[RT_GEOM_MAX_SP];   /* >= 1 */
    int64_t dil[RT_GEOM_MAX_SP];      /* >= 1 */
    int64_t pad0[RT_GEOM_MAX_SP];     /* padding before the first element (may be < 0 only
                                         for ConvTranspose with an explicit output_shape) */
    int64_t pad1[RT_GEOM_MAX_SP];     /* padding after the last element */
} RtConvGeom;

/* Axis i of the node's spatial axes (0 = first spatial axis) in the normalized arrays. */
static inline int rt_geom_axis(const RtConvGeom *g, int i) { return RT_GEOM_MAX_SP - g->nsp + i; }

/* Number of elements of a normalized 3-D extent. */
static inline int64_t rt_geom_numel(const int64_t *v) { return v[0] * v[1] * v[2]; }

/* The kernel taps t in [*lo, *hi) whose input position o * s - p + t * d lies in [0, in):
 * the in-range part of one window along one axis (empty when *lo >= *hi). */
static inline void rt_geom_taps(int64_t o, int64_t s, int64_t p, int64_t d, int64_t k, int64_t in,
                                int64_t *lo, int64_t *hi) {
    int64_t start = o * s - p;
    int64_t l = start < 0 ? (-start + d - 1) / d : 0;
    int64_t h = in - start <= 0 ? 0 : (in - start + d - 1) / d;
    *lo = l;
    *hi = h < k ? h : k;
}

/* The window of AveragePool output position o[3]: r[a] = the taps [lo, hi) inside the input
 * along axis a (as rt_geom_taps); returns the divisor, the product over the axes of the tap
 * counts inside the input, or with include_pad (count_include_pad) inside the explicitly
 * padded extent [-p0, in + p1). */
static inline int64_t rt_geom_avg_window(const RtConvGeom *g, const int64_t *o, int include_pad,
                                         int64_t r[RT_GEOM_MAX_SP][2]) {
    int64_t count = 1;
    for (int a = 0; a < RT_GEOM_MAX_SP; a++) {
        rt_geom_taps(o[a], g->stride[a], g->pad0[a], g->dil[a], g->k[a], g->in[a], &r[a][0], &r[a][1]);
        int64_t lo = r[a][0], hi = r[a][1];
        if (include_pad) /* taps inside the padded extent, which starts at -p0 */
            rt_geom_taps(o[a], g->stride[a], 0, g->dil[a], g->k[a], g->in[a] + g->pad0[a] + g->pad1[a], &lo, &hi);
        count *= hi > lo ? hi - lo : 0;
    }
    return count;
}

/* Reads kernel sizes (kernel[nsp]; from W or the kernel_shape attribute as the caller
 * decides), strides, dilations and explicit pads of n for an input with spatial sizes
 * in_sp[nsp]. Checks counts and signs; does not compute output sizes. */
int rt_geom_read(RtKernelCtx *c, const RtNode *n, int nsp, const int64_t *in_sp,
                 const int64_t *kernel, RtConvGeom *g);

/* rt_geom_read for the ops with a weight (Conv, ConvTranspose, ConvInteger, QLinearConv): the
 * kernel is w's spatial dims [2..], x's give the input sizes, and a kernel_shape attribute,
 * when present, must equal the kernel. wname names w in messages (e.g. "weight W"). */
int rt_geom_read_weighted(RtKernelCtx *c, const RtNode *n, int nsp, const RtTensor *x, const RtTensor *w,
                          const char *wname, RtConvGeom *g);

/* Applies auto_pad and computes out[] for a forward window op (Conv, pools). ceil_mode is
 * the pools' attribute (0 for Conv). Fails when an output size would be < 1. */
int rt_geom_forward(RtKernelCtx *c, const RtNode *n, int ceil_mode, RtConvGeom *g);

/* Writes the output shape [N, C, out...] (rank nsp + 2) into dims. */
void rt_geom_out_dims(const RtConvGeom *g, int64_t N, int64_t C, int64_t *dims);

/* Sets *nsp = rank - 2 for an input of rank `rank` (what names it in messages, e.g.
 * "input X"): RT_OK, RT_ERR when rank < 3, RT_ERR_UNSUPPORTED beyond 3 spatial axes. */
int rt_geom_spatial_rank(RtKernelCtx *c, int rank, const char *what, int *nsp);

#endif
