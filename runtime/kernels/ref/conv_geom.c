/*
 * conv_geom.c — attribute reading and output-size arithmetic for window ops (see conv_geom.h).
 */
#include "conv_geom.h"

#include <string.h>

int rt_geom_spatial_rank(RtKernelCtx *c, int rank, const char *what, int *nsp) {
    if (rank < 3)
        return rt_fail(c, "%s has rank %d; expected (N, C, spatial...) with at least one spatial axis",
                       what, rank);
    if (rank - 2 > RT_GEOM_MAX_SP) {
        rt_fail(c, "%s has %d spatial axes; wafer supports 1 to %d", what, rank - 2, RT_GEOM_MAX_SP);
        return RT_ERR_UNSUPPORTED;
    }
    *nsp = rank - 2;
    return RT_OK;
}

/* Reads an optional INTS attribute of exactly `want` values, each >= lo, into dst at the
 * normalized positions; absent keeps dst as it is. */
static int read_ints(RtKernelCtx *c, const RtNode *n, const char *name, int want, int64_t lo,
                     int64_t *dst, int off) {
    const int64_t *v;
    int cnt = rt_attr_ints(n, name, &v);
    if (cnt < 0) return RT_OK;
    if (cnt != want)
        return rt_fail(c, "attribute %s has %d values; expected %d (one per spatial axis)", name, cnt, want);
    for (int i = 0; i < cnt; i++) {
        if (v[i] < lo)
            return rt_fail(c, "attribute %s[%d] = %lld must be >= %lld", name, i, (long long)v[i],
                           (long long)lo);
        dst[off + i] = v[i];
    }
    return RT_OK;
}

int rt_geom_read(RtKernelCtx *c, const RtNode *n, int nsp, const int64_t *in_sp,
                 const int64_t *kernel, RtConvGeom *g) {
    memset(g, 0, sizeof *g);
    g->nsp = nsp;
    for (int a = 0; a < RT_GEOM_MAX_SP; a++) {
        g->in[a] = g->out[a] = g->k[a] = g->stride[a] = g->dil[a] = 1;
    }
    int off = RT_GEOM_MAX_SP - nsp;
    for (int i = 0; i < nsp; i++) {
        if (kernel[i] < 1)
            return rt_fail(c, "kernel size %lld on spatial axis %d must be >= 1", (long long)kernel[i], i);
        g->in[off + i] = in_sp[i];
        g->k[off + i] = kernel[i];
    }
    RT_TRY(read_ints(c, n, "strides", nsp, 1, g->stride, off));
    RT_TRY(read_ints(c, n, "dilations", nsp, 1, g->dil, off));
    const int64_t *p;
    int np = rt_attr_ints(n, "pads", &p);
    if (np >= 0) {
        if (np != 2 * nsp)
            return rt_fail(c, "attribute pads has %d values; expected %d (begin and end per spatial axis)",
                           np, 2 * nsp);
        for (int i = 0; i < nsp; i++) {
            if (p[i] < 0 || p[nsp + i] < 0)
                return rt_fail(c, "attribute pads on spatial axis %d is (%lld, %lld); pads must be >= 0",
                               i, (long long)p[i], (long long)p[nsp + i]);
            g->pad0[off + i] = p[i];
            g->pad1[off + i] = p[nsp + i];
        }
    }
    return RT_OK;
}

static int64_t div_floor(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
static int64_t div_ceil(int64_t a, int64_t b) { return -div_floor(-a, b); }

int rt_geom_read_weighted(RtKernelCtx *c, const RtNode *n, int nsp, const RtTensor *x, const RtTensor *w,
                          const char *wname, RtConvGeom *g) {
    const int64_t *ks;
    int nk = rt_attr_ints(n, "kernel_shape", &ks);
    if (nk >= 0) {
        if (nk != nsp) return rt_fail(c, "attribute kernel_shape has %d values; expected %d", nk, nsp);
        char sw[128];
        for (int i = 0; i < nsp; i++)
            if (ks[i] != w->dims[2 + i])
                return rt_fail(c, "attribute kernel_shape[%d] = %lld but %s %s has %lld", i, (long long)ks[i],
                               wname, rt_shape_str(w->rank, w->dims, sw, sizeof sw), (long long)w->dims[2 + i]);
    }
    return rt_geom_read(c, n, nsp, x->dims + 2, w->dims + 2, g);
}

int rt_geom_forward(RtKernelCtx *c, const RtNode *n, int ceil_mode, RtConvGeom *g) {
    const char *ap = rt_attr_str(n, "auto_pad", "NOTSET");
    int same_upper = strcmp(ap, "SAME_UPPER") == 0, same_lower = strcmp(ap, "SAME_LOWER") == 0;
    int valid = strcmp(ap, "VALID") == 0;
    if (!same_upper && !same_lower && !valid && strcmp(ap, "NOTSET") != 0)
        return rt_fail(c, "attribute auto_pad '%s' is not NOTSET, SAME_UPPER, SAME_LOWER or VALID", ap);
    for (int i = 0; i < g->nsp; i++) {
        int a = rt_geom_axis(g, i);
        int64_t in = g->in[a], s = g->stride[a], eff = (g->k[a] - 1) * g->dil[a] + 1;
        if (same_upper || same_lower) {
            g->out[a] = div_ceil(in, s);
            int64_t total = (g->out[a] - 1) * s + eff - in;
            if (total < 0) total = 0;
            g->pad0[a] = same_upper ? total / 2 : total - total / 2;
            g->pad1[a] = total - g->pad0[a];
        } else {
            if (valid) g->pad0[a] = g->pad1[a] = 0;
            int64_t span = in + g->pad0[a] + g->pad1[a] - eff;
            g->out[a] = (ceil_mode ? div_ceil(span, s) : div_floor(span, s)) + 1;
            /* ceil_mode: the last window must start inside the input or its begin padding */
            if (ceil_mode && g->out[a] > 1 && (g->out[a] - 1) * s >= in + g->pad0[a]) g->out[a]--;
        }
        if (g->out[a] < 1)
            return rt_fail(c, "spatial axis %d: input size %lld with pads (%lld, %lld) is smaller than "
                           "the dilated kernel %lld", i, (long long)in, (long long)g->pad0[a],
                           (long long)g->pad1[a], (long long)eff);
    }
    return RT_OK;
}

void rt_geom_out_dims(const RtConvGeom *g, int64_t N, int64_t C, int64_t *dims) {
    dims[0] = N;
    dims[1] = C;
    for (int i = 0; i < g->nsp; i++) dims[2 + i] = g->out[rt_geom_axis(g, i)];
}
