/*
 * int_misc.c — reference kernels for BitShift, Det, Unique and MaxUnpool.
 *
 *   BitShift (opset 11): z = x << y (direction "LEFT") or x >> y ("RIGHT") on unsigned
 *       integers (uint8/16/32/64), x and y of the same dtype, numpy broadcasting. A shift by
 *       the type's width or more gives 0 (every bit shifted out; C leaves it undefined).
 *   Det (opset 11): determinant of each M x M matrix of X [..., M, M] (float16, float,
 *       double), output [...]. LU factorisation with partial pivoting in double: det = the
 *       product of the pivots, negated once per row swap; a zero pivot column means a
 *       singular matrix, det 0. An empty matrix (M = 0) has det 1.
 *   Unique (opset 11): the unique elements of the flattened X (axis absent) or the unique
 *       slices X[..., k, ...] along axis. Slices are compared lexicographically, element by
 *       element in row-major order of the other axes (numpy.unique's order); floats compare
 *       by value with every NaN equal to every NaN and above all numbers. The slice indices
 *       are merge-sorted (stable: among equal slices the first occurrence leads), runs of
 *       equal slices become the groups. sorted = 1 (default): groups in ascending order;
 *       sorted = 0: groups in the order of their first occurrence. Outputs: Y (the groups'
 *       first slices), indices (first occurrence of each group), inverse_indices (the group
 *       of each input slice / element, [L]), counts — all but Y int64 [U] or [L].
 *       The output sizes depend on X's values: shape mode without X's data returns
 *       RT_SHAPE_UNKNOWN (as Compress and NonMaxSuppression do).
 *   MaxUnpool (opset 9, 11): Y zero everywhere except Y_flat[I[j]] = X[j]: I holds indices
 *       into the whole flattened output (as MaxPool's Indices output gives them). Y's shape
 *       is the optional input output_shape [N, C, D1, ...], else per spatial axis
 *       (in - 1) * stride + kernel - pad_begin - pad_end. Every index is checked against
 *       Y's size; where two indices coincide the later X element wins.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../kernel.h"

/* ================================================================ BitShift */

/* Element i of an unsigned integer tensor. */
static uint64_t uint_get(const RtTensor *t, int64_t i) {
    switch (t->dtype) {
    case RT_U8: return ((const uint8_t *)t->data)[i];
    case RT_U16: return ((const uint16_t *)t->data)[i];
    case RT_U32: return ((const uint32_t *)t->data)[i];
    default: return ((const uint64_t *)t->data)[i];
    }
}

static int k_bit_shift(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = in[0], *y = rt_in(n, in, 1);
    if (!y) return rt_fail(c, "missing input 'Y'");
    if (x->dtype != RT_U8 && x->dtype != RT_U16 && x->dtype != RT_U32 && x->dtype != RT_U64)
        return rt_fail(c, "input 'X' must be uint8, uint16, uint32 or uint64, got %s", rt_dtype_name(x->dtype));
    if (y->dtype != x->dtype)
        return rt_fail(c, "input 'Y' must have the dtype of 'X' (%s), got %s", rt_dtype_name(x->dtype),
                       rt_dtype_name(y->dtype));
    const char *dir = rt_attr_str(n, "direction", NULL);
    if (!dir) return rt_fail(c, "missing attribute 'direction' (LEFT or RIGHT)");
    int left;
    if (strcmp(dir, "LEFT") == 0) left = 1;
    else if (strcmp(dir, "RIGHT") == 0) left = 0;
    else return rt_fail(c, "attribute 'direction' must be LEFT or RIGHT, got '%s'", dir);
    int rank;
    int64_t dims[RT_MAX_RANK], sx[RT_MAX_RANK], sy[RT_MAX_RANK], idx[RT_MAX_RANK];
    RT_TRY(rt_broadcast_shape(c, x->rank, x->dims, y->rank, y->dims, &rank, dims));
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, rank, dims));
    rt_broadcast_strides(x->rank, x->dims, rank, dims, sx);
    rt_broadcast_strides(y->rank, y->dims, rank, dims, sy);
    unsigned bits = (unsigned)rt_dtype_size(x->dtype) * 8;
    uint64_t mask = bits == 64 ? ~(uint64_t)0 : (((uint64_t)1 << bits) - 1);
    int64_t total = rt_shape_numel(rank, dims), ox = 0, oy = 0;
    for (int i = 0; i < rank; i++) idx[i] = 0;
    for (int64_t k = 0; k < total; k++) {
        uint64_t a = uint_get(x, ox), s = uint_get(y, oy), r;
        if (s >= bits) r = 0;
        else r = (left ? a << s : a >> s) & mask; /* the mask keeps the type's width */
        switch (x->dtype) {
        case RT_U8: ((uint8_t *)out[0]->data)[k] = (uint8_t)r; break;
        case RT_U16: ((uint16_t *)out[0]->data)[k] = (uint16_t)r; break;
        case RT_U32: ((uint32_t *)out[0]->data)[k] = (uint32_t)r; break;
        default: ((uint64_t *)out[0]->data)[k] = r; break;
        }
        /* next multi-index, moving the two input offsets along */
        for (int d = rank - 1; d >= 0; d--) {
            ox += sx[d];
            oy += sy[d];
            if (++idx[d] < dims[d]) break;
            ox -= sx[d] * dims[d];
            oy -= sy[d] * dims[d];
            idx[d] = 0;
        }
    }
    return RT_OK;
}

/* ================================================================ Det */

static int k_det(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    (void)n;
    const RtTensor *x = in[0];
    char s[128];
    if (!rt_dtype_is_float(x->dtype))
        return rt_fail(c, "input 'X' must be a float tensor, got %s", rt_dtype_name(x->dtype));
    if (x->rank < 2 || x->dims[x->rank - 1] != x->dims[x->rank - 2])
        return rt_fail(c, "input 'X' must be [..., M, M], got shape %s", rt_shape_str(x->rank, x->dims, s, sizeof s));
    int64_t M = x->dims[x->rank - 1];
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, x->rank - 2, x->dims));
    int64_t batch = rt_shape_numel(x->rank - 2, x->dims);
    double *a = rt_scratch(c, (size_t)(M > 0 ? M * M : 1) * sizeof(double));
    if (!a) return RT_ERR_NOMEM;
    for (int64_t b = 0; b < batch; b++) {
        for (int64_t i = 0; i < M * M; i++) a[i] = rt_get_f64(x, b * M * M + i);
        double det = 1.0;
        for (int64_t k = 0; k < M; k++) {
            /* pivot: the largest magnitude in column k at or below the diagonal */
            int64_t p = k;
            for (int64_t i = k + 1; i < M; i++)
                if (fabs(a[i * M + k]) > fabs(a[p * M + k])) p = i;
            if (a[p * M + k] == 0.0) {
                det = 0.0;
                break;
            }
            if (p != k) {
                for (int64_t j = 0; j < M; j++) {
                    double t = a[k * M + j];
                    a[k * M + j] = a[p * M + j];
                    a[p * M + j] = t;
                }
                det = -det;
            }
            double piv = a[k * M + k];
            det *= piv;
            for (int64_t i = k + 1; i < M; i++) {
                double f = a[i * M + k] / piv;
                for (int64_t j = k + 1; j < M; j++) a[i * M + j] -= f * a[k * M + j];
            }
        }
        rt_set_f64_sat(out[0], b, det);
    }
    rt_scratch_free(c, a);
    return RT_OK;
}

/* ================================================================ Unique */

/* Total order on element values: numbers by value, NaN equal to NaN and above all. */
static int elem_cmp(const RtTensor *t, int64_t i, int64_t j) {
    switch (t->dtype) {
    case RT_U64: {
        uint64_t a = ((const uint64_t *)t->data)[i], b = ((const uint64_t *)t->data)[j];
        return (a > b) - (a < b);
    }
    case RT_I64: case RT_I32: case RT_I16: case RT_I8: case RT_U32: case RT_U16: case RT_U8: case RT_BOOL: {
        int64_t a = rt_get_i64(t, i), b = rt_get_i64(t, j);
        return (a > b) - (a < b);
    }
    default: {
        double a = rt_get_f64(t, i), b = rt_get_f64(t, j);
        int na = a != a, nb = b != b;
        if (na || nb) return na - nb;
        return (a > b) - (a < b);
    }
    }
}

typedef struct {
    const RtTensor *x;
    int64_t outer, L, inner;   /* X viewed as [outer, L, inner]; slice k = X[:, k, :] */
} UniqueView;

/* Lexicographic comparison of slices p and q. */
static int slice_cmp(const UniqueView *v, int64_t p, int64_t q) {
    for (int64_t o = 0; o < v->outer; o++)
        for (int64_t i = 0; i < v->inner; i++) {
            int r = elem_cmp(v->x, (o * v->L + p) * v->inner + i, (o * v->L + q) * v->inner + i);
            if (r) return r;
        }
    return 0;
}

/* Stable merge sort of idx[0..n) by slice order (tmp: n scratch entries). */
static void slice_sort(const UniqueView *v, int64_t *idx, int64_t *tmp, int64_t n) {
    if (n < 2) return;
    int64_t h = n / 2;
    slice_sort(v, idx, tmp, h);
    slice_sort(v, idx + h, tmp, n - h);
    int64_t i = 0, j = h, k = 0;
    while (i < h && j < n) tmp[k++] = slice_cmp(v, idx[j], idx[i]) < 0 ? idx[j++] : idx[i++];
    while (i < h) tmp[k++] = idx[i++];
    while (j < n) tmp[k++] = idx[j++];
    memcpy(idx, tmp, (size_t)n * sizeof *idx);
}

static int k_unique(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = in[0];
    if (rt_dtype_size(x->dtype) == 0 || x->dtype == RT_STRING)
        return rt_fail(c, "input 'X' has dtype %s, which wafer does not support", rt_dtype_name(x->dtype));
    int64_t sorted = rt_attr_int(n, "sorted", 1);
    if (sorted != 0 && sorted != 1) return rt_fail(c, "attribute 'sorted' must be 0 or 1, got %lld", (long long)sorted);
    const RtAttr *aa = rt_attr(n, "axis");
    UniqueView v = {x, 1, rt_numel(x), 1};
    int axis = -1;
    if (aa) {
        if (x->rank < 1) return rt_fail(c, "input 'X' is a scalar; attribute 'axis' needs rank >= 1");
        axis = rt_axis(c, rt_attr_int(n, "axis", 0), x->rank, "attribute 'axis'");
        if (axis < 0) return RT_ERR;
        v.outer = rt_shape_numel(axis, x->dims);
        v.L = x->dims[axis];
        v.inner = rt_shape_numel(x->rank - axis - 1, x->dims + axis + 1);
    }
    RT_NEED_DATA(c, x);
    int64_t L = v.L;
    /* scratch: sorted order, merge buffer, group of each slice, first slice of each group,
     * count of each group, output rank of each group: 6 arrays of L */
    int64_t *buf = rt_scratch(c, (size_t)(L ? L : 1) * 6 * sizeof(int64_t));
    if (!buf) return RT_ERR_NOMEM;
    int64_t *ord = buf, *tmp = buf + L, *grp = buf + 2 * L, *first = buf + 3 * L, *cnt = buf + 4 * L,
            *rank_of = buf + 5 * L;
    for (int64_t k = 0; k < L; k++) ord[k] = k;
    slice_sort(&v, ord, tmp, L);
    int64_t U = 0;
    for (int64_t k = 0; k < L; k++) {
        if (k == 0 || slice_cmp(&v, ord[k - 1], ord[k]) != 0) {
            first[U] = ord[k]; /* stable sort: the earliest occurrence leads its run */
            cnt[U] = 0;
            U++;
        }
        grp[ord[k]] = U - 1;
        cnt[U - 1]++;
    }
    /* output position of each group: ascending order, or the order of first occurrence */
    if (sorted) {
        for (int64_t g = 0; g < U; g++) rank_of[g] = g;
    } else {
        int64_t r = 0;
        for (int64_t k = 0; k < L; k++)
            if (first[grp[k]] == k) rank_of[grp[k]] = r++;
    }
    int64_t ydims[RT_MAX_RANK], one[1] = {U}, lin[1] = {L};
    if (aa) {
        for (int i = 0; i < x->rank; i++) ydims[i] = x->dims[i];
        ydims[axis] = U;
        rt_out_set_shape(out[0], x->dtype, x->rank, ydims);
    } else {
        rt_out_set_shape(out[0], x->dtype, 1, one);
    }
    if (n->n_out > 1) rt_out_set_shape(out[1], RT_I64, 1, one);
    if (n->n_out > 2) rt_out_set_shape(out[2], RT_I64, 1, lin);
    if (n->n_out > 3) rt_out_set_shape(out[3], RT_I64, 1, one);
    int r = RT_OK;
    for (int o = 0; o < n->n_out && o < 4 && r == RT_OK; o++) r = rt_out_alloc_data(c, out[o]);
    if (r != RT_OK) {
        rt_scratch_free(c, buf);
        return r;
    }
    size_t esz = rt_dtype_size(x->dtype), row = (size_t)v.inner * esz;
    char *y = out[0]->data;
    const char *src = x->data;
    for (int64_t g = 0; g < U; g++) {
        int64_t pos = rank_of[g];
        for (int64_t o = 0; o < v.outer; o++)
            if (row) memcpy(y + (size_t)(o * U + pos) * row, src + (size_t)(o * L + first[g]) * row, row);
        if (n->n_out > 1) ((int64_t *)out[1]->data)[pos] = first[g];
        if (n->n_out > 3) ((int64_t *)out[3]->data)[pos] = cnt[g];
    }
    if (n->n_out > 2)
        for (int64_t k = 0; k < L; k++) ((int64_t *)out[2]->data)[k] = rank_of[grp[k]];
    rt_scratch_free(c, buf);
    return RT_OK;
}

/* ================================================================ MaxUnpool */

static int k_max_unpool(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = in[0], *ind = rt_in(n, in, 1), *os = rt_in(n, in, 2);
    char s1[128], s2[128];
    if (!ind) return rt_fail(c, "missing input 'I'");
    if (!rt_dtype_is_float(x->dtype))
        return rt_fail(c, "input 'X' must be a float tensor, got %s", rt_dtype_name(x->dtype));
    if (ind->dtype != RT_I64) return rt_fail(c, "input 'I' must be int64, got %s", rt_dtype_name(ind->dtype));
    if (x->rank < 3)
        return rt_fail(c, "input 'X' must be [N, C, D1, ...], got shape %s", rt_shape_str(x->rank, x->dims, s1, sizeof s1));
    if (!rt_shape_equal(x, ind))
        return rt_fail(c, "input 'I' of shape %s must have the shape of 'X' %s",
                       rt_shape_str(ind->rank, ind->dims, s1, sizeof s1), rt_shape_str(x->rank, x->dims, s2, sizeof s2));
    int sp = x->rank - 2;
    const int64_t *ks, *pads, *strides;
    int nk = rt_attr_ints(n, "kernel_shape", &ks), np = rt_attr_ints(n, "pads", &pads),
        ns = rt_attr_ints(n, "strides", &strides);
    if (nk != sp) return rt_fail(c, "attribute 'kernel_shape' must have %d values (one per spatial axis), got %d", sp, nk);
    if (np >= 0 && np != 2 * sp) return rt_fail(c, "attribute 'pads' must have %d values, got %d", 2 * sp, np);
    if (ns >= 0 && ns != sp) return rt_fail(c, "attribute 'strides' must have %d values, got %d", sp, ns);
    int64_t dims[RT_MAX_RANK];
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    for (int i = 0; i < sp; i++) {
        int64_t k = ks[i], st = ns > 0 ? strides[i] : 1, pb = np > 0 ? pads[i] : 0, pe = np > 0 ? pads[sp + i] : 0;
        if (k < 1 || st < 1 || pb < 0 || pe < 0)
            return rt_fail(c, "spatial axis %d: kernel %lld and stride %lld must be >= 1, pads %lld, %lld >= 0", i,
                           (long long)k, (long long)st, (long long)pb, (long long)pe);
        dims[2 + i] = (x->dims[2 + i] - 1) * st + k - pb - pe;
        if (x->dims[2 + i] == 0) dims[2 + i] = 0;
        if (dims[2 + i] < 0)
            return rt_fail(c, "spatial axis %d: output size %lld is negative (pads larger than the kernel)", i,
                           (long long)dims[2 + i]);
    }
    if (os && rt_numel(os) > 0) {
        if (os->dtype != RT_I64 || os->rank != 1 || os->dims[0] != x->rank)
            return rt_fail(c, "input 'output_shape' must be int64 [%d], got %s %s", x->rank, rt_dtype_name(os->dtype),
                           rt_shape_str(os->rank, os->dims, s1, sizeof s1));
        RT_NEED_DATA(c, os);
        for (int i = 0; i < x->rank; i++) {
            int64_t d = rt_get_i64(os, i);
            if (d < 0 || (i < 2 && d != x->dims[i]))
                return rt_fail(c, "input 'output_shape' dim %d is %lld; want %s", i, (long long)d,
                               i < 2 ? "the N and C of 'X'" : ">= 0");
            dims[i] = d;
        }
    }
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, x->rank, dims));
    int64_t ny = rt_numel(out[0]), nx = rt_numel(x);
    size_t esz = rt_dtype_size(x->dtype);
    memset(out[0]->data, 0, (size_t)ny * esz); /* +0.0 in every float format */
    const int64_t *iv = ind->data;
    for (int64_t j = 0; j < nx; j++) {
        if (iv[j] < 0 || iv[j] >= ny)
            return rt_fail(c, "input 'I' element %lld is %lld, outside the output's %lld elements", (long long)j,
                           (long long)iv[j], (long long)ny);
        memcpy((char *)out[0]->data + (size_t)iv[j] * esz, (const char *)x->data + (size_t)j * esz, esz);
    }
    return RT_OK;
}

const RtKernelEntry rt_kernels_int_misc[] = {
    {RT_OP_BIT_SHIFT, k_bit_shift},
    {RT_OP_DET, k_det},
    {RT_OP_UNIQUE, k_unique},
    {RT_OP_MAX_UNPOOL, k_max_unpool},
    {-1, 0},
};
