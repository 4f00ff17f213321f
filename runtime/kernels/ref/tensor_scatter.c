/*
 * tensor_scatter.c — TensorScatter (opset 24): the functional form of an in-place KV-cache
 * update. present_cache = past_cache with, for every sample b, the update's sequence_length
 * rows written along the sequence axis from row write_indices[b] (0 when absent); mode
 * "circular" wraps the row index modulo max_sequence_length, "linear" (the default) requires
 * write_indices[b] + sequence_length <= max_sequence_length.
 *
 * Shapes: past_cache, present_cache [B, D1, ..., L, ..., Dn] with L = max_sequence_length on
 * `axis` (default -2; it may not be 0, the batch axis); update the same with S <= L on that
 * axis; write_indices [B] int64.
 * Algorithm, as the spec's pseudocode: copy past into present, then for each prefix index
 * (the dims before axis; its first coordinate is the sample) and each s < S copy one
 * contiguous row of `inner` elements (the dims after axis) from update[prefix, s] to
 * present[prefix, (w[b] + s) mod L]. Any dtype: elements are copied as bytes.
 */
#include <string.h>

#include "../kernel.h"

/* Reads and checks write_indices (NULL: all zero) into w[B]; linear mode keeps every write
 * inside the cache, circular mode only needs w >= 0 (spec: the index is taken modulo L). */
static int tscatter_indices(RtKernelCtx *c, const RtTensor *wi, int circular, int64_t B, int64_t L, int64_t S,
                            int64_t *w) {
    if (!wi) {
        for (int64_t b = 0; b < B; b++) w[b] = 0;
        return RT_OK;
    }
    if (wi->dtype != RT_I64) return rt_fail(c, "input write_indices must be int64, got %s", rt_dtype_name(wi->dtype));
    if (wi->rank != 1 || wi->dims[0] != B)
        return rt_fail(c, "input write_indices must be [%lld] (one index per sample)", (long long)B);
    for (int64_t b = 0; b < B; b++) {
        w[b] = ((const int64_t *)wi->data)[b];
        if (w[b] < 0) return rt_fail(c, "write_indices[%lld] = %lld is negative", (long long)b, (long long)w[b]);
        if (!circular && w[b] + S > L)
            return rt_fail(c, "write_indices[%lld] = %lld plus sequence_length %lld exceeds max_sequence_length %lld "
                              "(mode \"linear\")", (long long)b, (long long)w[b], (long long)S, (long long)L);
    }
    return RT_OK;
}

static int k_tensor_scatter(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *past = rt_in(n, in, 0), *upd = rt_in(n, in, 1), *wi = rt_in(n, in, 2);
    if (!past || !upd) return rt_fail(c, "inputs past_cache and update are required");
    const char *mode = rt_attr_str(n, "mode", "linear");
    int circular = strcmp(mode, "circular") == 0;
    if (!circular && strcmp(mode, "linear") != 0)
        return rt_fail(c, "attribute mode is \"%s\"; expected \"linear\" or \"circular\"", mode);
    size_t es = rt_dtype_size(past->dtype);
    if (es == 0) {
        rt_fail(c, "input past_cache has dtype %s, which wafer does not support", rt_dtype_name(past->dtype));
        return RT_ERR_UNSUPPORTED;
    }
    if (upd->dtype != past->dtype)
        return rt_fail(c, "update is %s but past_cache is %s", rt_dtype_name(upd->dtype), rt_dtype_name(past->dtype));
    if (past->rank < 2) return rt_fail(c, "past_cache must have rank >= 2 (batch and sequence axes), got %d", past->rank);
    int axis = rt_axis(c, rt_attr_int(n, "axis", -2), past->rank, "attribute axis");
    if (axis < 0) return RT_ERR;
    if (axis == 0) return rt_fail(c, "attribute axis may not be the batch axis 0");
    if (upd->rank != past->rank) return rt_fail(c, "update has rank %d, past_cache %d", upd->rank, past->rank);
    for (int d = 0; d < past->rank; d++)
        if (d != axis && upd->dims[d] != past->dims[d])
            return rt_fail(c, "update dim %d is %lld, past_cache's %lld (only the sequence axis %d may differ)", d,
                           (long long)upd->dims[d], (long long)past->dims[d], axis);
    int64_t L = past->dims[axis], S = upd->dims[axis], B = past->dims[0];
    if (S > L)
        return rt_fail(c, "update's sequence_length %lld exceeds max_sequence_length %lld", (long long)S, (long long)L);
    RT_TRY(rt_out_alloc(c, out[0], past->dtype, past->rank, past->dims));
    int64_t *w = rt_scratch(c, sizeof(int64_t) * (size_t)(B ? B : 1));
    if (!w) return RT_ERR_NOMEM;
    int r = tscatter_indices(c, wi, circular, B, L, S, w);
    if (r == RT_OK) {
        int64_t outer = rt_shape_numel(axis, past->dims), per_b = outer / (B ? B : 1);
        size_t row = es * (size_t)rt_shape_numel(past->rank - axis - 1, past->dims + axis + 1);
        uint8_t *y = out[0]->data;
        const uint8_t *u = upd->data;
        if (y != past->data) memcpy(y, past->data, row * (size_t)(outer * L));
        for (int64_t o = 0; o < outer; o++) {
            int64_t b = o / (per_b ? per_b : 1);
            for (int64_t s = 0; s < S; s++) {
                int64_t t = (w[b] + s) % (L ? L : 1);
                memcpy(y + (size_t)(o * L + t) * row, u + (size_t)(o * S + s) * row, row);
            }
        }
    }
    rt_scratch_free(c, w);
    return r;
}

const RtKernelEntry rt_kernels_tensor_scatter[] = {
    {RT_OP_TENSOR_SCATTER, k_tensor_scatter},
    {-1, 0},
};
