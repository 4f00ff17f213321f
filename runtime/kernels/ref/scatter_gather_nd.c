/*
 * scatter_gather_nd.c — reference kernels that read or write elements at index tuples:
 * GatherND, ScatterND, ScatterElements and Scatter (opset 9-10's name for ScatterElements
 * without reduction).
 *
 *   GatherND (batch_dims b): data [D0..D(r-1)], indices [I0..I(q-2), k] with 1 <= k <= r - b.
 *       out[i0..i(q-2), rest] = data[i0..i(b-1), idx(i)[0..k-1], rest]: the first b axes are
 *       shared by data and indices (same sizes), each index tuple picks a slice of
 *       prod(D(b+k)..D(r-1)) elements inside its batch's slab, copied as bytes.
 *       Output shape: indices.shape[:-1] + data.shape[b+k:].
 *   ScatterND: output = data; for each tuple i of indices.shape[:-1] in row-major order,
 *       output[idx(i), rest] (op)= updates[i, rest], where updates' shape must be
 *       indices.shape[:-1] + data.shape[k:].
 *   ScatterElements (axis a): output = data; for each position p of indices (and updates,
 *       same shape), output[p with p[a] := idx[p]] (op)= updates[p]. indices has data's rank
 *       and is no larger than data outside axis a.
 * (op) is the attribute reduction: none (assign; byte copy, any dtype), add, mul (opset 16),
 * max, min (opset 18), applied in index order, so duplicate indices accumulate. Indices may
 * be negative (count from the end); every index is checked against its axis before anything
 * is written, and a bad one is named. Output shapes never depend on index values, so shape
 * mode needs only the shapes.
 */
#include "../kernel.h"
#include "../strided.h"

#include <string.h>

enum { RED_NONE, RED_ADD, RED_MUL, RED_MAX, RED_MIN };

static int check_index_dtype(RtKernelCtx *c, const RtTensor *t) {
    if (t->dtype != RT_I64 && t->dtype != RT_I32)
        return rt_fail(c, "input 'indices' must be int32 or int64, got %s", rt_dtype_name(t->dtype));
    return RT_OK;
}

static int check_dtype(RtKernelCtx *c, const RtTensor *t, const char *what) {
    if (rt_dtype_size(t->dtype) == 0)
        return rt_fail(c, "%s has dtype %s, which wafer does not support", what, rt_dtype_name(t->dtype));
    return RT_OK;
}

/* The reduction attribute (opset >= 16; ScatterND and ScatterElements only). */
static int read_reduction(RtKernelCtx *c, const RtNode *n, const RtTensor *x, int *red) {
    static const char *const names[] = {"none", "add", "mul", "max", "min"};
    const char *s = rt_attr_str(n, "reduction", "none");
    *red = -1;
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0) *red = i;
    if (*red < 0) return rt_fail(c, "attribute 'reduction' is '%s'; expected none, add, mul, max or min", s);
    if (*red != RED_NONE && (x->dtype == RT_BOOL || x->dtype == RT_STRING))
        return rt_fail(c, "reduction '%s' needs a numeric input 'data', got %s", s, rt_dtype_name(x->dtype));
    return RT_OK;
}

/* One element: a (red)= b. Floats directly; integers wrap as their type does, computed in
 * uint64 so a signed overflow is not undefined behaviour. */
#define RED_FLT(T, d, s, red)                                     \
    do {                                                          \
        T a_ = *(T *)(d), b_ = *(const T *)(s);                   \
        switch (red) {                                            \
        case RED_ADD: a_ = a_ + b_; break;                        \
        case RED_MUL: a_ = a_ * b_; break;                        \
        case RED_MAX: a_ = a_ > b_ ? a_ : b_; break;              \
        default: a_ = a_ < b_ ? a_ : b_; break;                   \
        }                                                         \
        *(T *)(d) = a_;                                           \
    } while (0)
#define RED_INT(T, d, s, red)                                                 \
    do {                                                                      \
        T a_ = *(T *)(void *)(d), b_ = *(const T *)(const void *)(s);         \
        switch (red) {                                                        \
        case RED_ADD: a_ = (T)((uint64_t)a_ + (uint64_t)b_); break;           \
        case RED_MUL: a_ = (T)((uint64_t)a_ * (uint64_t)b_); break;           \
        case RED_MAX: a_ = a_ > b_ ? a_ : b_; break;                          \
        default: a_ = a_ < b_ ? a_ : b_; break;                               \
        }                                                                     \
        *(T *)(void *)(d) = a_;                                               \
    } while (0)

/* dst[0..n-1] (red)= src[0..n-1], elements of dtype t; RED_NONE copies bytes. */
static void reduce_run(RtDtype t, char *dst, const char *src, int64_t n, int red) {
    size_t esz = rt_dtype_size(t);
    if (red == RED_NONE) {
        memcpy(dst, src, (size_t)n * esz);
        return;
    }
    for (int64_t i = 0; i < n; i++, dst += esz, src += esz) {
        switch (t) {
        case RT_F32: RED_FLT(float, (void *)dst, (const void *)src, red); break;
        case RT_F64: RED_FLT(double, (void *)dst, (const void *)src, red); break;
        case RT_I8: RED_INT(int8_t, dst, src, red); break;
        case RT_U8: RED_INT(uint8_t, dst, src, red); break;
        case RT_I16: RED_INT(int16_t, dst, src, red); break;
        case RT_U16: RED_INT(uint16_t, dst, src, red); break;
        case RT_I32: RED_INT(int32_t, dst, src, red); break;
        case RT_U32: RED_INT(uint32_t, dst, src, red); break;
        case RT_I64: RED_INT(int64_t, dst, src, red); break;
        case RT_U64: RED_INT(uint64_t, dst, src, red); break;
        case RT_F16: case RT_BF16: {
            /* through float32, rounded once back to the 16-bit type */
            uint16_t *pd = (uint16_t *)(void *)dst;
            float a = t == RT_F16 ? rt_f16_to_f32(*pd) : rt_bf16_to_f32(*pd);
            float b = t == RT_F16 ? rt_f16_to_f32(*(const uint16_t *)(const void *)src)
                                  : rt_bf16_to_f32(*(const uint16_t *)(const void *)src);
            RED_FLT(float, &a, &b, red);
            *pd = t == RT_F16 ? rt_f32_to_f16(a) : rt_f32_to_bf16(a);
            break;
        }
        default: break; /* bool/string refused by read_reduction */
        }
    }
}

/* Reads index tuple j (k values at ind[j*k..]) into the flat element offset inside a slab
 * of dims[0..k-1] with strides st; -1 (after rt_fail) when a value is out of range. */
static int64_t tuple_offset(RtKernelCtx *c, const RtTensor *ind, int64_t j, int k, const int64_t *dims,
                            const int64_t *st) {
    int64_t off = 0;
    for (int i = 0; i < k; i++) {
        int64_t v = rt_get_i64(ind, j * k + i);
        if (v < -dims[i] || v >= dims[i]) {
            rt_fail(c, "index %lld (input 'indices' element %lld) is out of range for data axis of size %lld",
                    (long long)v, (long long)(j * k + i), (long long)dims[i]);
            return -1;
        }
        if (v < 0) v += dims[i];
        off += v * st[i];
    }
    return off;
}

/* ---- GatherND ---- */

static int k_gather_nd(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = in[0], *ind = rt_in(n, in, 1);
    char sx[128], si[128];
    if (!ind) return rt_fail(c, "missing input 'indices'");
    RT_TRY(check_index_dtype(c, ind));
    RT_TRY(check_dtype(c, x, "input 'data'"));
    int r = x->rank, q = ind->rank;
    int64_t b64 = rt_attr_int(n, "batch_dims", 0);
    if (r < 1 || q < 1) return rt_fail(c, "inputs 'data' and 'indices' must have rank >= 1 (got %d and %d)", r, q);
    if (b64 < 0 || b64 >= (r < q ? r : q))
        return rt_fail(c, "attribute 'batch_dims' is %lld; must be in [0, min(rank(data), rank(indices))) = [0, %d)",
                       (long long)b64, r < q ? r : q);
    int b = (int)b64;
    int64_t k = ind->dims[q - 1];
    if (k < 1 || k > r - b)
        return rt_fail(c, "last dimension of input 'indices' (shape %s) is %lld; must be in [1, %d] for data of "
                          "shape %s and batch_dims %d", rt_shape_str(q, ind->dims, si, sizeof si), (long long)k,
                       r - b, rt_shape_str(r, x->dims, sx, sizeof sx), b);
    for (int d = 0; d < b; d++)
        if (ind->dims[d] != x->dims[d])
            return rt_fail(c, "batch dimension %d differs: input 'data' %s, input 'indices' %s", d,
                           rt_shape_str(r, x->dims, sx, sizeof sx), rt_shape_str(q, ind->dims, si, sizeof si));
    int orank = q - 1 + r - b - (int)k;
    if (orank > RT_MAX_RANK) return rt_fail(c, "output rank %d exceeds the supported %d", orank, RT_MAX_RANK);
    int64_t dims[RT_MAX_RANK];
    int o = 0;
    for (int d = 0; d < q - 1; d++) dims[o++] = ind->dims[d];
    for (int d = b + (int)k; d < r; d++) dims[o++] = x->dims[d];
    int64_t xs[RT_MAX_RANK];
    rt_strides_contiguous(r, x->dims, xs);
    int64_t nbatch = rt_shape_numel(b, x->dims);
    int64_t per_batch = rt_shape_numel(q - 1 - b, ind->dims + b); /* tuples per batch */
    /* indices are checked before the output exists (it may live in the planned arena) */
    if (ind->data)
        for (int64_t j = 0; j < nbatch * per_batch; j++)
            if (tuple_offset(c, ind, j, (int)k, x->dims + b, xs + b) < 0) return RT_ERR;
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, orank, dims));
    int64_t slab = b > 0 ? xs[b - 1] : rt_numel(x);                /* elements per batch */
    int64_t slice = rt_shape_numel(r - b - (int)k, x->dims + b + k);
    size_t esz = rt_dtype_size(x->dtype);
    char *dst = out[0]->data;
    const char *src = x->data;
    for (int64_t bi = 0; bi < nbatch; bi++)
        for (int64_t j = 0; j < per_batch; j++) {
            int64_t off = tuple_offset(c, ind, bi * per_batch + j, (int)k, x->dims + b, xs + b);
            if (slice) memcpy(dst, src + (size_t)(bi * slab + off) * esz, (size_t)slice * esz);
            dst += (size_t)slice * esz;
        }
    return RT_OK;
}

/* ---- ScatterND ---- */

static int k_scatter_nd(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = in[0], *ind = rt_in(n, in, 1), *upd = rt_in(n, in, 2);
    char sx[128], si[128], su[128];
    if (!ind || !upd) return rt_fail(c, "missing input '%s'", ind ? "updates" : "indices");
    RT_TRY(check_index_dtype(c, ind));
    RT_TRY(check_dtype(c, x, "input 'data'"));
    int red;
    RT_TRY(read_reduction(c, n, x, &red));
    int r = x->rank, q = ind->rank;
    if (upd->dtype != x->dtype)
        return rt_fail(c, "input 'updates' is %s but input 'data' is %s", rt_dtype_name(upd->dtype),
                       rt_dtype_name(x->dtype));
    if (r < 1 || q < 1) return rt_fail(c, "inputs 'data' and 'indices' must have rank >= 1 (got %d and %d)", r, q);
    int64_t k = ind->dims[q - 1];
    int ok = k >= 1 && k <= r && upd->rank == q - 1 + r - (int)k;
    for (int d = 0; ok && d < q - 1; d++) ok = upd->dims[d] == ind->dims[d];
    for (int d = (int)(ok ? k : r); d < r; d++) ok = ok && upd->dims[q - 1 + d - k] == x->dims[d];
    if (!ok)
        return rt_fail(c, "shapes do not fit: data %s, indices %s, updates %s (need 1 <= indices' last dim <= "
                          "rank(data), updates = indices.shape[:-1] + data.shape[indices' last dim:])",
                       rt_shape_str(r, x->dims, sx, sizeof sx), rt_shape_str(q, ind->dims, si, sizeof si),
                       rt_shape_str(upd->rank, upd->dims, su, sizeof su));
    int64_t xs[RT_MAX_RANK], ntuple = rt_shape_numel(q - 1, ind->dims);
    rt_strides_contiguous(r, x->dims, xs);
    int64_t slice = rt_shape_numel(r - (int)k, x->dims + k);
    size_t esz = rt_dtype_size(x->dtype);
    /* every index is checked before the output exists (it may live in the planned arena) */
    if (ind->data)
        for (int64_t j = 0; j < ntuple; j++)
            if (tuple_offset(c, ind, j, (int)k, x->dims, xs) < 0) return RT_ERR;
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, r, x->dims));
    char *dst = out[0]->data;
    if (rt_numel(x)) memcpy(dst, x->data, (size_t)rt_numel(x) * esz);
    const char *u = upd->data;
    for (int64_t j = 0; j < ntuple; j++) {
        int64_t off = tuple_offset(c, ind, j, (int)k, x->dims, xs);
        reduce_run(x->dtype, dst + (size_t)off * esz, u + (size_t)(j * slice) * esz, slice, red);
    }
    return RT_OK;
}

/* ---- ScatterElements / Scatter ---- */

static int k_scatter_elements(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = in[0], *ind = rt_in(n, in, 1), *upd = rt_in(n, in, 2);
    char sx[128], si[128], su[128];
    if (!ind || !upd) return rt_fail(c, "missing input '%s'", ind ? "updates" : "indices");
    RT_TRY(check_index_dtype(c, ind));
    RT_TRY(check_dtype(c, x, "input 'data'"));
    int red = RED_NONE;
    if (n->op == RT_OP_SCATTER_ELEMENTS) RT_TRY(read_reduction(c, n, x, &red));
    int r = x->rank;
    if (r < 1) return rt_fail(c, "input 'data' must have rank >= 1, got a scalar");
    int axis = rt_axis(c, rt_attr_int(n, "axis", 0), r, "attribute 'axis'");
    if (axis < 0) return RT_ERR;
    if (upd->dtype != x->dtype)
        return rt_fail(c, "input 'updates' is %s but input 'data' is %s", rt_dtype_name(upd->dtype),
                       rt_dtype_name(x->dtype));
    int ok = ind->rank == r && rt_shape_equal(ind, upd);
    for (int d = 0; ok && d < r; d++) ok = d == axis || ind->dims[d] <= x->dims[d];
    if (!ok)
        return rt_fail(c, "shapes do not fit: data %s, indices %s, updates %s (indices and updates the same "
                          "shape, of data's rank, no larger than data outside axis %d)",
                       rt_shape_str(r, x->dims, sx, sizeof sx), rt_shape_str(ind->rank, ind->dims, si, sizeof si),
                       rt_shape_str(upd->rank, upd->dims, su, sizeof su), axis);
    int64_t dim = x->dims[axis], total = rt_numel(ind);
    /* every index is checked before the output exists (it may live in the planned arena) */
    for (int64_t p = 0; ind->data && p < total; p++) {
        int64_t v = rt_get_i64(ind, p);
        if (v < -dim || v >= dim)
            return rt_fail(c, "index %lld (input 'indices' element %lld) is out of range for axis %d of size %lld",
                           (long long)v, (long long)p, axis, (long long)dim);
    }
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, r, x->dims));
    size_t esz = rt_dtype_size(x->dtype);
    char *dst = out[0]->data;
    const char *u = upd->data;
    if (rt_numel(x)) memcpy(dst, x->data, (size_t)rt_numel(x) * esz);
    int64_t xs[RT_MAX_RANK], idx[RT_MAX_RANK] = {0}, base = 0;
    rt_strides_contiguous(r, x->dims, xs);
    /* base = offset in data of the current position p with the axis coordinate left out */
    for (int64_t p = 0; p < total; p++) {
        int64_t v = rt_get_i64(ind, p);
        if (v < 0) v += dim;
        reduce_run(x->dtype, dst + (size_t)(base + v * xs[axis]) * esz, u + (size_t)p * esz, 1, red);
        rt_walk_next_skip(r, ind->dims, xs, axis, idx, &base);
    }
    return RT_OK;
}

const RtKernelEntry rt_kernels_scatter_gather_nd[] = {
    {RT_OP_GATHER_ND, k_gather_nd},
    {RT_OP_SCATTER_ND, k_scatter_nd},
    {RT_OP_SCATTER_ELEMENTS, k_scatter_elements},
    {RT_OP_SCATTER, k_scatter_elements},
    {-1, 0},
};
