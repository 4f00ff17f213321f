/*
 * fused.c — wafer's fused float ops (contract in runtime/kernels/wafer_ops.h):
 *   FusedConv(X, W, B?) = act(Conv(X, W, B))
 *   Linear(X[..., K], W[K, N], B[N]?) = act(X @ W + B) -> Y[..., N]
 *
 * FusedConv runs the Conv kernel itself (rt_conv_run, so every Conv option and dtype works
 * the same) and then applies the activation in place over the output. Linear views X as
 * [rows, K] (rows = product of the leading dims), does one rt_sgemm with W, then adds the
 * bias and applies the activation in one pass over each output row. Linear is float32 only:
 * the fusion passes create it only on float32 graphs.
 *
 * The activation (attributes `activation`, `alpha`, `beta`: their parsing, defaults and
 * element formulas) is activation.h's, shared with LinearNBits.
 */
#include <string.h>

#include "../gemm.h"
#include "activation.h"
#include "conv_impl.h"

/* ---- FusedConv ---- */

static int k_fused_conv(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    RtAct a;
    RT_TRY(rt_act_read(c, n, &a));
    RT_TRY(rt_conv_run(c, n, in, out)); /* RT_SHAPE_ONLY returns here too */
    RtTensor *y = out[0];
    int64_t total = rt_numel(y);
    if (a.kind == RT_ACT_NONE) return RT_OK;
    if (y->dtype == RT_F32) {
        rt_act_span(&a, y->data, total, NULL);
        return RT_OK;
    }
    for (int64_t i = 0; i < total; i++) rt_set_f64(y, i, rt_act_f64(&a, rt_get_f64(y, i)));
    return RT_OK;
}

/* ---- Linear ---- */

static int linear_check(RtKernelCtx *c, const RtTensor *x, const RtTensor *w, const RtTensor *b) {
    char sx[128], sw[128];
    if (!x || !w) return rt_fail(c, "inputs X and W are required");
    if (x->dtype != RT_F32 || w->dtype != RT_F32 || (b && b->dtype != RT_F32)) {
        rt_fail(c, "Linear supports float32 only (X %s, W %s%s%s)", rt_dtype_name(x->dtype),
                rt_dtype_name(w->dtype), b ? ", B " : "", b ? rt_dtype_name(b->dtype) : "");
        return RT_ERR_UNSUPPORTED;
    }
    if (x->rank < 1) return rt_fail(c, "input X must have rank >= 1, got a scalar");
    if (w->rank != 2 || w->dims[0] != x->dims[x->rank - 1])
        return rt_fail(c, "weight W %s must be [K, N] with K = the last dim of X %s",
                       rt_shape_str(w->rank, w->dims, sw, sizeof sw),
                       rt_shape_str(x->rank, x->dims, sx, sizeof sx));
    if (b && (b->rank != 1 || b->dims[0] != w->dims[1]))
        return rt_fail(c, "bias B %s must be [N] = [%lld]", rt_shape_str(b->rank, b->dims, sx, sizeof sx),
                       (long long)w->dims[1]);
    return RT_OK;
}

static int k_linear(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0), *w = rt_in(n, in, 1), *b = rt_in(n, in, 2);
    RtAct a;
    RT_TRY(rt_act_read(c, n, &a));
    RT_TRY(linear_check(c, x, w, b));
    const int64_t K = w->dims[0], N = w->dims[1];
    int64_t dims[RT_MAX_RANK];
    int64_t rows = 1;
    for (int i = 0; i < x->rank - 1; i++) rows *= dims[i] = x->dims[i];
    dims[x->rank - 1] = N;
    if (rows > INT32_MAX || K > INT32_MAX || N > INT32_MAX) /* rt_sgemm takes int sizes */
        return rt_fail(c, "Linear of %lld rows, K = %lld, N = %lld exceeds the GEMM's int range",
                       (long long)rows, (long long)K, (long long)N);
    RT_TRY(rt_out_alloc(c, out[0], RT_F32, x->rank, dims));
    float *y = out[0]->data;
    const float *bias = b ? b->data : NULL;
    if (rows == 0 || N == 0) return RT_OK;
    if (K == 0)
        memset(y, 0, sizeof(float) * (size_t)(rows * N));
    else
        rt_sgemm(0, 0, (int)rows, (int)N, (int)K, 1.0f, x->data, (int)K, w->data, (int)N, 0.0f, y, (int)N);
    if (a.kind == RT_ACT_NONE && !bias) return RT_OK;
    for (int64_t r = 0; r < rows; r++) rt_act_span(&a, y + r * N, N, bias);
    return RT_OK;
}

const RtKernelEntry rt_kernels_fused[] = {
    {RT_OP_FUSED_CONV, k_fused_conv},
    {RT_OP_LINEAR, k_linear},
    {-1, 0},
};
