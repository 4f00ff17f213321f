/*
 * rms_norm.c — RMSNormalization (opset 23), reference kernel.
 *
 * X is viewed as [rows, len] with len the product of dims[axis:] (axis default -1, may be
 * negative). Each row is scaled by the inverse of its root mean square:
 *     Y[r, j] = X[r, j] / sqrt(mean_j(X[r, j]^2) + epsilon) * scale[j]
 * where scale broadcasts unidirectionally (numpy, from the right) to the normalized shape
 * dims[axis:]. The spec computes the statistics in stash_type (float32 by default); this
 * kernel accumulates in double for every stash type, which is at least that precise, and
 * stores Y in X's dtype (float32, float16, bfloat16, float64). stash_type must still name a
 * float type, so a model asking for something else is refused rather than misread.
 */
#include "../kernel.h"
#include "norm.h"

#include <math.h>

static inline double rms_ld(const RtTensor *t, int64_t i) {
    return t->dtype == RT_F32 ? (double)((const float *)t->data)[i] : rt_get_f64(t, i);
}

static inline void rms_st(RtTensor *t, int64_t i, double v) {
    if (t->dtype == RT_F32) ((float *)t->data)[i] = (float)v;
    else rt_set_f64(t, i, v);
}

static int k_rms_norm(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0), *scale = rt_in(n, in, 1);
    if (!x || !scale) return rt_fail(c, "inputs 'X' and 'scale' are required");
    if (n->opset > 0 && n->opset < 23)
        return rt_fail(c, "RMSNormalization exists from opset 23; this node is at opset %d", n->opset);
    if (!rt_dtype_is_float(x->dtype))
        return rt_fail(c, "input 'X' must be a float tensor, got %s", rt_dtype_name(x->dtype));
    if (scale->dtype != x->dtype)
        return rt_fail(c, "input 'scale' is %s but 'X' is %s (the spec gives them one type)",
                       rt_dtype_name(scale->dtype), rt_dtype_name(x->dtype));
    if (x->rank < 1) return rt_fail(c, "input 'X' must have rank >= 1, got a scalar");
    int axis = rt_axis(c, rt_attr_int(n, "axis", -1), x->rank, "attribute 'axis'");
    if (axis < 0) return RT_ERR;
    double eps = rt_attr_float(n, "epsilon", 1e-5f);
    int64_t stash = rt_attr_int(n, "stash_type", RT_F32);
    if (stash <= 0 || stash >= RT_DTYPE_END || !rt_dtype_is_float((RtDtype)stash))
        return rt_fail(c, "attribute 'stash_type' = %lld is not a float type", (long long)stash);
    int nr = x->rank - axis;
    const int64_t *ndims = x->dims + axis;
    RT_TRY(norm_param_expand(c, scale, "scale", nr, ndims, NULL));
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, x->rank, x->dims));
    int64_t len = rt_shape_numel(nr, ndims), rows = len ? rt_numel(x) / len : 0;
    double *sc = rt_scratch(c, sizeof(double) * (size_t)(len ? len : 1));
    if (!sc) return RT_ERR_NOMEM;
    norm_param_expand(c, scale, "scale", nr, ndims, sc);
    for (int64_t r = 0; r < rows; r++) {
        int64_t base = r * len;
        double ss = 0;
        for (int64_t j = 0; j < len; j++) {
            double v = rms_ld(x, base + j);
            ss += v * v;
        }
        double inv = 1.0 / sqrt(ss / (double)len + eps);
        for (int64_t j = 0; j < len; j++) rms_st(out[0], base + j, rms_ld(x, base + j) * inv * sc[j]);
    }
    rt_scratch_free(c, sc);
    return RT_OK;
}

const RtKernelEntry rt_kernels_rms_norm[] = {
    {RT_OP_RMS_NORMALIZATION, k_rms_norm},
    {-1, 0},
};
