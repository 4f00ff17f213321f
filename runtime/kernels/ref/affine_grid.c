/*
 * affine_grid.c — AffineGrid (opset 20): the sampling grid of an affine transform, the
 * companion of GridSample.
 *
 * theta [N, 2, 3] with size [N, C, H, W] gives grid [N, H, W, 2]; theta [N, 3, 4] with size
 * [N, C, D, H, W] gives grid [N, D, H, W, 3]. Each output point is theta[n] times the
 * homogeneous base coordinate (x, y[, z], 1), x along W, y along H, z along D, where an axis
 * of length L has the normalized base coordinates
 *     align_corners = 0: (2 i + 1) / L - 1      (pixel centres of [-1, 1] cut in L cells)
 *     align_corners = 1: 2 i / (L - 1) - 1      (-1 and 1 are the end pixels; L = 1 gives -1,
 *                                                numpy's / torch's linspace(-1, 1, 1))
 * Computed in double, written in theta's float dtype.
 */
#include "../kernel.h"

static double ag_base(int64_t i, int64_t L, int align) {
    if (align) return L > 1 ? 2.0 * (double)i / (double)(L - 1) - 1.0 : -1.0;
    return (2.0 * (double)i + 1.0) / (double)L - 1.0;
}

static int k_affine_grid(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *th = rt_in(n, in, 0), *sz = rt_in(n, in, 1);
    if (!th || !sz) return rt_fail(c, "inputs theta and size are required");
    if (!rt_dtype_is_float(th->dtype)) {
        rt_fail(c, "input theta has dtype %s; a float type is required", rt_dtype_name(th->dtype));
        return RT_ERR_UNSUPPORTED;
    }
    if (sz->rank != 1 || (sz->dims[0] != 4 && sz->dims[0] != 5))
        return rt_fail(c, "input size must be [N, C, H, W] or [N, C, D, H, W] (1-D of 4 or 5)");
    RT_NEED_DATA(c, sz);
    int k = (int)sz->dims[0] - 2; /* spatial axes: 2 or 3 */
    int64_t N = rt_get_i64(sz, 0);
    if (th->rank != 3 || th->dims[0] != N || th->dims[1] != k || th->dims[2] != k + 1)
        return rt_fail(c, "input theta must be [N=%lld, %d, %d] for size of length %d", (long long)N, k, k + 1, k + 2);
    int64_t align = rt_attr_int(n, "align_corners", 0);
    if (align != 0 && align != 1) return rt_fail(c, "attribute align_corners = %lld must be 0 or 1", (long long)align);
    int64_t dims[RT_MAX_RANK], sp[3] = {1, 1, 1}; /* sp: D, H, W (D = 1 in 2-D) */
    dims[0] = N;
    for (int i = 0; i < k; i++) {
        int64_t v = rt_get_i64(sz, 2 + i);
        if (v < 0) return rt_fail(c, "input size[%d] = %lld is negative", 2 + i, (long long)v);
        dims[1 + i] = v;
        sp[3 - k + i] = v;
    }
    dims[k + 1] = k;
    RT_TRY(rt_out_alloc(c, out[0], th->dtype, k + 2, dims));
    int64_t o = 0;
    for (int64_t b = 0; b < N; b++) {
        double t[3][4];
        for (int r = 0; r < k; r++)
            for (int col = 0; col <= k; col++) t[r][col] = rt_get_f64(th, (b * k + r) * (k + 1) + col);
        for (int64_t d = 0; d < sp[0]; d++)
            for (int64_t h = 0; h < sp[1]; h++)
                for (int64_t w = 0; w < sp[2]; w++) {
                    /* base (x, y[, z], 1) */
                    double p[4] = {ag_base(w, sp[2], (int)align), ag_base(h, sp[1], (int)align),
                                   k == 3 ? ag_base(d, sp[0], (int)align) : 1.0, 1.0};
                    for (int r = 0; r < k; r++) {
                        double v = 0;
                        for (int col = 0; col <= k; col++) v += t[r][col] * p[col];
                        rt_set_f64(out[0], o++, v);
                    }
                }
    }
    return RT_OK;
}

const RtKernelEntry rt_kernels_affine_grid[] = {
    {RT_OP_AFFINE_GRID, k_affine_grid},
    {-1, 0},
};
