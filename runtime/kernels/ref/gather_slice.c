/*
 * gather_slice.c — reference kernels that select elements by index: Gather,
 * GatherElements, Slice.
 *
 * All three move data without arithmetic, so they work for every dtype by copying
 * elements of rt_dtype_size() bytes.
 *   Gather:         out[o, j, i] = x[o, idx[j], i] with o the axes before `axis`, j the
 *                   (flattened) index positions and i the axes after; rows of i are memcpy'd.
 *   GatherElements: out has the indices' shape; out[p] = x[p with p[axis] := idx[p]].
 *   Slice:          per-axis start/step/count after the spec's clamping; the output is a
 *                   strided view of the input (negative strides for negative steps).
 * Negative indices count from the end in all three. Slice's starts/ends/axes/steps decide
 * the output shape, so they must be known (RT_NEED_DATA); Gather's indices need not be.
 */
#include "../kernel.h"
#include "../strided.h"

#include <string.h>

static int check_index_dtype(RtKernelCtx *c, const RtTensor *t, const char *what) {
    if (rt_dtype_is_float(t->dtype) || t->dtype == RT_BOOL || rt_dtype_size(t->dtype) == 0)
        return rt_fail(c, "%s must be an integer tensor, got %s", what, rt_dtype_name(t->dtype));
    return RT_OK;
}

static int check_dtype(RtKernelCtx *c, const RtTensor *t, const char *what) {
    if (rt_dtype_size(t->dtype) == 0)
        return rt_fail(c, "%s has dtype %s, which wafer does not support", what, rt_dtype_name(t->dtype));
    return RT_OK;
}

/* Checks every index lies in [-dim, dim); on failure names the first bad one and frees the
 * output y, already allocated (indices are data, checked after the output shape is known). */
static int check_indices(RtKernelCtx *c, const RtTensor *ind, int64_t dim, int axis, RtTensor *y) {
    int64_t total = rt_numel(ind);
    for (int64_t p = 0; p < total; p++) {
        int64_t v = rt_get_i64(ind, p);
        if (v < -dim || v >= dim) {
            if (y->data) c->alloc->free(c->alloc->user, y->data);
            y->data = NULL;
            return rt_fail(c, "index %lld (input 'indices' element %lld) is out of range for axis %d of size %lld",
                           (long long)v, (long long)p, axis, (long long)dim);
        }
    }
    return RT_OK;
}

/* ---- Gather ---- */

static int k_gather(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = in[0], *ind = rt_in(n, in, 1);
    if (!ind) return rt_fail(c, "missing input 'indices'");
    if (x->rank < 1) return rt_fail(c, "input 'data' must have rank >= 1, got a scalar");
    int axis = rt_axis(c, rt_attr_int(n, "axis", 0), x->rank, "attribute 'axis'");
    if (axis < 0) return RT_ERR;
    RT_TRY(check_index_dtype(c, ind, "input 'indices'"));
    RT_TRY(check_dtype(c, x, "input 'data'"));
    int r = x->rank - 1 + ind->rank, k = 0;
    if (r > RT_MAX_RANK) return rt_fail(c, "output rank %d exceeds the supported %d", r, RT_MAX_RANK);
    int64_t dims[RT_MAX_RANK];
    for (int i = 0; i < axis; i++) dims[k++] = x->dims[i];
    for (int i = 0; i < ind->rank; i++) dims[k++] = ind->dims[i];
    for (int i = axis + 1; i < x->rank; i++) dims[k++] = x->dims[i];
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, r, dims));
    int64_t dim = x->dims[axis];
    RT_TRY(check_indices(c, ind, dim, axis, out[0]));
    size_t esz = rt_dtype_size(x->dtype);
    int64_t outer = rt_shape_numel(axis, x->dims), inner = rt_shape_numel(x->rank - axis - 1, x->dims + axis + 1);
    int64_t nidx = rt_numel(ind);
    size_t row = (size_t)inner * esz;
    char *o = out[0]->data;
    const char *src = x->data;
    for (int64_t q = 0; q < outer; q++)
        for (int64_t j = 0; j < nidx; j++) {
            int64_t v = rt_get_i64(ind, j);
            if (v < 0) v += dim;
            if (row) memcpy(o, src + (size_t)(q * dim + v) * row, row);
            o += row;
        }
    return RT_OK;
}

/* ---- GatherElements ---- */

static int k_gather_elements(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = in[0], *ind = rt_in(n, in, 1);
    if (!ind) return rt_fail(c, "missing input 'indices'");
    int r = x->rank;
    char sx[128], si[128];
    if (r < 1) return rt_fail(c, "input 'data' must have rank >= 1, got a scalar");
    int axis = rt_axis(c, rt_attr_int(n, "axis", 0), r, "attribute 'axis'");
    if (axis < 0) return RT_ERR;
    RT_TRY(check_index_dtype(c, ind, "input 'indices'"));
    RT_TRY(check_dtype(c, x, "input 'data'"));
    int ok = ind->rank == r;
    for (int d = 0; ok && d < r; d++) ok = d == axis || ind->dims[d] <= x->dims[d];
    if (!ok)
        return rt_fail(c, "input 'indices' of shape %s does not fit input 'data' of shape %s (same rank, "
                          "no larger outside axis %d)", rt_shape_str(ind->rank, ind->dims, si, sizeof si),
                       rt_shape_str(r, x->dims, sx, sizeof sx), axis);
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, r, ind->dims));
    int64_t dim = x->dims[axis];
    RT_TRY(check_indices(c, ind, dim, axis, out[0]));
    size_t esz = rt_dtype_size(x->dtype);
    int64_t xs[RT_MAX_RANK], idx[RT_MAX_RANK] = {0}, total = rt_numel(ind), base = 0;
    rt_strides_contiguous(r, x->dims, xs);
    char *o = out[0]->data;
    const char *src = x->data;
    /* base = offset of the current position with the axis coordinate left out */
    for (int64_t p = 0; p < total; p++) {
        int64_t v = rt_get_i64(ind, p);
        if (v < 0) v += dim;
        memcpy(o + (size_t)p * esz, src + (size_t)(base + v * xs[axis]) * esz, esz);
        rt_walk_next_skip(r, ind->dims, xs, axis, idx, &base);
    }
    return RT_OK;
}

/* ---- Slice ---- */

/* One axis of a slice, clamped as the spec says: negative start/end add dim; then for
 * step > 0 start and end clamp to [0, dim], for step < 0 start to [0, dim-1] and end to
 * [-1, dim-1]. Sets the first index and the element count. */
static void slice_axis(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t *first, int64_t *count) {
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    if (step > 0) {
        start = start < 0 ? 0 : (start > dim ? dim : start);
        end = end < 0 ? 0 : (end > dim ? dim : end);
        *count = end > start ? (end - start - 1) / step + 1 : 0;
    } else {
        start = start < 0 ? 0 : (start > dim - 1 ? dim - 1 : start);
        end = end < -1 ? -1 : (end > dim - 1 ? dim - 1 : end);
        uint64_t mag = (uint64_t)0 - (uint64_t)step; /* |step|, also for INT64_MIN */
        *count = start > end ? (int64_t)((uint64_t)(start - end - 1) / mag + 1) : 0;
    }
    *first = start;
}

/* Reads one of Slice's int lists: an input (opset >= 10) or an attribute (< 10). Returns
 * the count, -2 when absent, -1 on error. */
static int slice_ints(RtKernelCtx *c, const RtNode *n, const RtTensor *t, const char *name, int64_t *v) {
    if (t) {
        if (t->rank != 1) return rt_fail(c, "input '%s' must be 1-D", name), -1;
        if (check_index_dtype(c, t, name) != RT_OK) return -1;
        int64_t k = rt_numel(t);
        if (k > RT_MAX_RANK) return rt_fail(c, "input '%s' has %lld values, more than any rank", name, (long long)k), -1;
        for (int64_t i = 0; i < k; i++) v[i] = rt_get_i64(t, i);
        return (int)k;
    }
    const int64_t *a;
    int k = rt_attr_ints(n, name, &a);
    if (k < 0) return -2;
    if (k > RT_MAX_RANK) return rt_fail(c, "attribute '%s' has %d values, more than any rank", name, k), -1;
    for (int i = 0; i < k; i++) v[i] = a[i];
    return k;
}

static int k_slice(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    static const char *names[4] = {"starts", "ends", "axes", "steps"};
    const RtTensor *x = in[0];
    int r = x->rank, from_inputs = n->opset >= 10 || n->n_in > 1;
    int64_t v[4][RT_MAX_RANK];
    int cnt[4];
    for (int i = 0; i < 4; i++) {
        const RtTensor *t = from_inputs ? rt_in(n, in, i + 1) : NULL;
        RT_NEED_DATA(c, t);
        if (!from_inputs && i == 3) {
            cnt[i] = -2; /* steps arrived with opset 10 */
            continue;
        }
        if (from_inputs && rt_attr(n, names[i])) return rt_fail(c, "attribute '%s' is not allowed from opset 10", names[i]);
        cnt[i] = slice_ints(c, n, t, names[i], v[i]);
        if (cnt[i] == -1) return RT_ERR;
        if (cnt[i] == -2 && i < 2) return rt_fail(c, "missing '%s'", names[i]);
        if (cnt[i] >= 0 && cnt[i] != cnt[0])
            return rt_fail(c, "'%s' has %d values but 'starts' has %d", names[i], cnt[i], cnt[0]);
    }
    int64_t first[RT_MAX_RANK], dims[RT_MAX_RANK], steps[RT_MAX_RANK], xs[RT_MAX_RANK];
    char used[RT_MAX_RANK] = {0};
    for (int d = 0; d < r; d++) {
        first[d] = 0;
        dims[d] = x->dims[d];
        steps[d] = 1;
    }
    for (int i = 0; i < cnt[0]; i++) {
        int a = rt_axis(c, cnt[2] >= 0 ? v[2][i] : i, r, "axes value");
        if (a < 0) return RT_ERR;
        if (used[a]) return rt_fail(c, "axis %d appears more than once in 'axes'", a);
        used[a] = 1;
        steps[a] = cnt[3] >= 0 ? v[3][i] : 1;
        if (steps[a] == 0) return rt_fail(c, "'steps' value for axis %d is 0", a);
        slice_axis(x->dims[a], v[0][i], v[1][i], steps[a], &first[a], &dims[a]);
    }
    RT_TRY(check_dtype(c, x, "input 'data'"));
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, r, dims));
    if (rt_numel(out[0]) == 0) return RT_OK;
    rt_strides_contiguous(r, x->dims, xs);
    int64_t base = 0;
    for (int d = 0; d < r; d++) {
        base += first[d] * xs[d];
        /* a 1-long axis never advances; stride 0 keeps a huge step from overflowing */
        xs[d] = dims[d] > 1 ? xs[d] * steps[d] : 0;
    }
    size_t esz = rt_dtype_size(x->dtype);
    rt_copy_strided(out[0]->data, (const char *)x->data + (size_t)base * esz, esz, r, dims, xs);
    return RT_OK;
}

const RtKernelEntry rt_kernels_gather[] = {
    {RT_OP_GATHER, k_gather},
    {RT_OP_GATHER_ELEMENTS, k_gather_elements},
    {RT_OP_SLICE, k_slice},
    {-1, 0},
};
