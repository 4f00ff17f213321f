/*
 * shape_ops.c — reference kernels that change a tensor's shape or lay its elements out
 * again: Shape, Size, Flatten, Reshape, Transpose, Concat, Split, Squeeze, Unsqueeze,
 * Expand, Tile, Range, ConstantOfShape, Trilu, OneHot.
 *
 * All of them move data without arithmetic, so they work for every dtype by copying
 * elements of rt_dtype_size() bytes. Transpose, Expand and Tile are one algorithm: the
 * output is a strided view of the input (a permuted, zero-stride or repeated walk of its
 * elements), copied by rt_copy_strided() with memcpy of contiguous runs.
 *
 * Shape inference: every kernel sets its outputs' shapes and calls rt_out_alloc() before
 * it reads input data, except the inputs its output shape depends on (Reshape's shape,
 * Split's sizes, Squeeze/Unsqueeze axes, Expand's shape, Tile's repeats, Range's scalars,
 * ConstantOfShape's shape, OneHot's depth), which it checks with RT_NEED_DATA first.
 * Shape and Size need only dims, and produce their data even in shape-only mode.
 */
#include "../kernel.h"
#include "../strided.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- helpers ---- */

static int check_dtype(RtKernelCtx *c, const RtTensor *t, const char *what) {
    if (rt_dtype_size(t->dtype) == 0)
        return rt_fail(c, "%s has dtype %s, which wafer does not support", what, rt_dtype_name(t->dtype));
    return RT_OK;
}

/* Reads a 1-D (or scalar) integer tensor of at most max values into v; returns the count,
 * or -1 after rt_fail. */
static int read_ints(RtKernelCtx *c, const RtTensor *t, const char *what, int64_t *v, int max) {
    if (t->rank > 1) {
        char s[128];
        rt_fail(c, "%s must be 1-D, got shape %s", what, rt_shape_str(t->rank, t->dims, s, sizeof s));
        return -1;
    }
    if (rt_dtype_is_float(t->dtype) || t->dtype == RT_BOOL || rt_dtype_size(t->dtype) == 0) {
        rt_fail(c, "%s must be an integer tensor, got %s", what, rt_dtype_name(t->dtype));
        return -1;
    }
    int64_t k = rt_numel(t);
    if (k > max) {
        rt_fail(c, "%s has %lld values; at most %d are supported", what, (long long)k, max);
        return -1;
    }
    for (int64_t i = 0; i < k; i++) v[i] = rt_get_i64(t, i);
    return (int)k;
}

/* Axes (or sizes) from an input (opset >= 13 style) or an INTS attribute (older opsets),
 * whichever the node has. Returns the count, -2 when neither is present, -1 on error.
 * A present input must have known data (the caller checked RT_NEED_DATA). */
static int ints_from_input_or_attr(RtKernelCtx *c, const RtNode *n, const RtTensor *t, const char *name,
                                   int64_t *v, int max) {
    const int64_t *a;
    int na = rt_attr_ints(n, name, &a);
    char what[64];
    if (t && na >= 0) {
        rt_fail(c, "'%s' is given both as an input and as an attribute", name);
        return -1;
    }
    if (t) {
        snprintf(what, sizeof what, "input '%s'", name);
        return read_ints(c, t, what, v, max);
    }
    if (na < 0) return -2;
    if (na > max) {
        rt_fail(c, "attribute '%s' has %d values; at most %d are supported", name, na, max);
        return -1;
    }
    for (int i = 0; i < na; i++) v[i] = a[i];
    return na;
}

/* Clamps an axis-like position to [0, rank] after adding rank to a negative value (Shape). */
static int64_t clamp_pos(int64_t p, int rank) {
    if (p < 0) p += rank;
    if (p < 0) p = 0;
    if (p > rank) p = rank;
    return p;
}

/* Allocates an output's data directly with c->alloc, even in shape-only mode (see k_shape). */
static int alloc_always(RtKernelCtx *c, RtTensor *t) {
    int64_t bytes = rt_nbytes(t);
    t->data = c->alloc->alloc(c->alloc->user, (size_t)(bytes > 0 ? bytes : 1));
    if (!t->data) {
        rt_fail(c, "out of memory allocating %lld bytes", (long long)bytes);
        return RT_ERR_NOMEM;
    }
    return RT_OK;
}

/* ---- Shape, Size ---- */

/* Shape (opset 15 adds start/end, clamped like Python slices).
 * Exception to the kernel protocol: Shape reads only the input's dims, so it allocates and
 * fills its output even when c->shape_only — that value is what constant folding of shape
 * arithmetic (Shape -> Gather -> Concat -> Reshape) needs. */
static int k_shape(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = in[0];
    int r = x->rank;
    int64_t start = clamp_pos(rt_attr_int(n, "start", 0), r);
    int64_t end = clamp_pos(rt_attr_int(n, "end", r), r);
    int64_t len = end > start ? end - start : 0;
    rt_out_set_shape(out[0], RT_I64, 1, &len);
    RT_TRY(alloc_always(c, out[0]));
    int64_t *o = out[0]->data;
    for (int64_t i = 0; i < len; i++) o[i] = x->dims[start + i];
    return RT_OK;
}

/* Size: int64 scalar element count; like Shape, produced even in shape-only mode. */
static int k_size(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    (void)n;
    int64_t numel = rt_numel(in[0]);
    if (numel < 0) return rt_fail(c, "input has an invalid shape");
    rt_out_set_shape(out[0], RT_I64, 0, NULL);
    RT_TRY(alloc_always(c, out[0]));
    *(int64_t *)out[0]->data = numel;
    return RT_OK;
}

/* ---- Flatten, Reshape, Squeeze, Unsqueeze: same bytes, new dims ---- */

static int copy_same_bytes(RtKernelCtx *c, const RtTensor *x, RtTensor *y, int rank, const int64_t *dims) {
    RT_TRY(check_dtype(c, x, "input"));
    RT_TRY(rt_out_alloc(c, y, x->dtype, rank, dims));
    int64_t bytes = rt_nbytes(y);
    /* a memory plan may give y x's bytes (rt_plan_inplace_op): then there is nothing to copy */
    if (bytes > 0 && y->data != x->data) memcpy(y->data, x->data, (size_t)bytes);
    return RT_OK;
}

/* Flatten: [d0..dr) -> [prod(d[:axis]), prod(d[axis:])], axis in [-r, r]. */
static int k_flatten(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = in[0];
    int64_t axis = rt_attr_int(n, "axis", 1);
    if (axis < 0) axis += x->rank;
    if (axis < 0 || axis > x->rank)
        return rt_fail(c, "attribute 'axis' %lld is out of range for rank %d", (long long)rt_attr_int(n, "axis", 1),
                       x->rank);
    int64_t dims[2] = {rt_shape_numel((int)axis, x->dims), rt_shape_numel(x->rank - (int)axis, x->dims + axis)};
    return copy_same_bytes(c, x, out[0], 2, dims);
}

/* Reshape's target dims: 0 copies the input dim (unless allowzero), one -1 is inferred. */
static int reshape_dims(RtKernelCtx *c, const RtTensor *x, const int64_t *want, int k, int allowzero,
                        int64_t *dims) {
    char sx[128], sw[128];
    int infer = -1;
    int64_t known = 1, total = rt_numel(x);
    rt_shape_str(x->rank, x->dims, sx, sizeof sx);
    rt_shape_str(k, want, sw, sizeof sw);
    for (int i = 0; i < k; i++) {
        int64_t d = want[i];
        if (d == 0 && !allowzero) {
            if (i >= x->rank)
                return rt_fail(c, "cannot reshape input of shape %s to %s: shape[%d] is 0 (copy the input dim) "
                                  "but the input has rank %d", sx, sw, i, x->rank);
            d = x->dims[i];
        }
        if (d == -1) {
            if (infer >= 0) return rt_fail(c, "cannot reshape input of shape %s to %s: more than one -1", sx, sw);
            infer = i;
            continue;
        }
        if (d < 0) return rt_fail(c, "cannot reshape input of shape %s to %s: negative dim %lld", sx, sw, (long long)d);
        if (d > 0 && known > INT64_MAX / d) return rt_fail(c, "cannot reshape to %s: too many elements", sw);
        dims[i] = d;
        known *= d;
    }
    if (infer >= 0) {
        if (allowzero && known == 0)
            return rt_fail(c, "cannot reshape input of shape %s to %s: 0 and -1 together with allowzero=1", sx, sw);
        if (known == 0 || total % known != 0)
            return rt_fail(c, "cannot reshape input of shape %s (%lld elements) to %s: the -1 dim cannot be inferred",
                           sx, (long long)total, sw);
        dims[infer] = total / known;
    } else if (known != total) {
        return rt_fail(c, "cannot reshape input of shape %s (%lld elements) to %s (%lld elements)", sx,
                       (long long)total, sw, (long long)known);
    }
    return RT_OK;
}

static int k_reshape(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = in[0], *s = rt_in(n, in, 1);
    RT_NEED_DATA(c, s);
    int64_t want[RT_MAX_RANK], dims[RT_MAX_RANK];
    int k = ints_from_input_or_attr(c, n, s, "shape", want, RT_MAX_RANK);
    if (k == -2) return rt_fail(c, "missing input 'shape'");
    if (k < 0) return RT_ERR;
    int allowzero = n->opset >= 14 && rt_attr_int(n, "allowzero", 0) != 0;
    RT_TRY(reshape_dims(c, x, want, k, allowzero, dims));
    return copy_same_bytes(c, x, out[0], k, dims);
}

/* Squeeze: removes the listed 1-dims (axes attribute before opset 13, input from 13), or
 * every 1-dim when no axes are given. */
static int k_squeeze(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = in[0], *a = rt_in(n, in, 1);
    RT_NEED_DATA(c, a);
    int64_t axes[RT_MAX_RANK], dims[RT_MAX_RANK];
    int k = ints_from_input_or_attr(c, n, a, "axes", axes, RT_MAX_RANK);
    if (k == -1) return RT_ERR;
    char drop[RT_MAX_RANK] = {0}, s[128];
    for (int i = 0; i < k; i++) {
        int ax = rt_axis(c, axes[i], x->rank, "axes value");
        if (ax < 0) return RT_ERR;
        if (x->dims[ax] != 1)
            return rt_fail(c, "cannot squeeze axis %lld of input shape %s: its size is %lld, not 1",
                           (long long)axes[i], rt_shape_str(x->rank, x->dims, s, sizeof s), (long long)x->dims[ax]);
        drop[ax] = 1;
    }
    if (k <= 0)
        for (int i = 0; i < x->rank; i++) drop[i] = x->dims[i] == 1;
    int r = 0;
    for (int i = 0; i < x->rank; i++)
        if (!drop[i]) dims[r++] = x->dims[i];
    return copy_same_bytes(c, x, out[0], r, dims);
}

/* Unsqueeze: inserts 1-dims at the listed axes of the output (rank r + len(axes)). */
static int k_unsqueeze(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = in[0], *a = rt_in(n, in, 1);
    RT_NEED_DATA(c, a);
    int64_t axes[RT_MAX_RANK], dims[RT_MAX_RANK];
    int k = ints_from_input_or_attr(c, n, a, "axes", axes, RT_MAX_RANK);
    if (k == -2) return rt_fail(c, "missing 'axes' (an attribute before opset 13, an input from 13)");
    if (k < 0) return RT_ERR;
    int r = x->rank + k;
    if (r > RT_MAX_RANK) return rt_fail(c, "output rank %d exceeds the supported %d", r, RT_MAX_RANK);
    char ins[RT_MAX_RANK] = {0};
    for (int i = 0; i < k; i++) {
        int ax = rt_axis(c, axes[i], r, "axes value");
        if (ax < 0) return RT_ERR;
        if (ins[ax]) return rt_fail(c, "axes value %lld is repeated", (long long)axes[i]);
        ins[ax] = 1;
    }
    for (int i = 0, j = 0; i < r; i++) dims[i] = ins[i] ? 1 : x->dims[j++];
    return copy_same_bytes(c, x, out[0], r, dims);
}

/* ---- Transpose, Expand, Tile: strided views ---- */

static int k_transpose(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = in[0];
    int r = x->rank;
    int64_t perm[RT_MAX_RANK], dims[RT_MAX_RANK], xs[RT_MAX_RANK], strides[RT_MAX_RANK];
    const int64_t *p;
    int np = rt_attr_ints(n, "perm", &p);
    if (np >= 0 && np != r) return rt_fail(c, "attribute 'perm' has %d values for an input of rank %d", np, r);
    char seen[RT_MAX_RANK] = {0};
    for (int i = 0; i < r; i++) {
        perm[i] = np >= 0 ? p[i] : r - 1 - i;
        if (perm[i] < 0 || perm[i] >= r || seen[perm[i]])
            return rt_fail(c, "attribute 'perm' is not a permutation of 0..%d", r - 1);
        seen[perm[i]] = 1;
    }
    RT_TRY(check_dtype(c, x, "input"));
    rt_strides_contiguous(r, x->dims, xs);
    for (int i = 0; i < r; i++) {
        dims[i] = x->dims[perm[i]];
        strides[i] = xs[perm[i]];
    }
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, r, dims));
    rt_copy_strided(out[0]->data, x->data, rt_dtype_size(x->dtype), r, dims, strides);
    return RT_OK;
}

/* Expand: broadcasts the input and the `shape` input against each other (numpy rules,
 * so a 1 in `shape` keeps the input's dim). */
static int k_expand(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = in[0], *s = rt_in(n, in, 1);
    if (!s) return rt_fail(c, "missing input 'shape'");
    RT_NEED_DATA(c, s);
    int64_t want[RT_MAX_RANK], dims[RT_MAX_RANK], strides[RT_MAX_RANK];
    int k = read_ints(c, s, "input 'shape'", want, RT_MAX_RANK), r;
    if (k < 0) return RT_ERR;
    RT_TRY(rt_broadcast_shape(c, x->rank, x->dims, k, want, &r, dims));
    RT_TRY(check_dtype(c, x, "input"));
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, r, dims));
    rt_broadcast_strides(x->rank, x->dims, r, dims, strides);
    rt_copy_strided(out[0]->data, x->data, rt_dtype_size(x->dtype), r, dims, strides);
    return RT_OK;
}

/* Tile: out dim i = d_i * repeats_i. The output is the view [rep0, d0, rep1, d1, ...] with
 * stride 0 on every rep axis. */
/* Tile-1 (opsets 1-5): scalar inputs 'tiles' (copies) and 'axis' give repeats [1 .. tiles at
 * axis .. 1]. */
static int tile_legacy_repeats(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, int r, int64_t *rep) {
    const RtTensor *tiles = rt_in(n, in, 1), *axis = rt_in(n, in, 2);
    int64_t t, a;
    if (!tiles || !axis) return rt_fail(c, "Tile before opset 6 needs inputs 'tiles' and 'axis'");
    RT_NEED_DATA(c, tiles);
    RT_NEED_DATA(c, axis);
    if (read_ints(c, tiles, "input 'tiles'", &t, 1) != 1 || read_ints(c, axis, "input 'axis'", &a, 1) != 1)
        return rt_fail(c, "inputs 'tiles' and 'axis' must be one integer each");
    if (a < 0 || a >= r) return rt_fail(c, "input 'axis' is %lld, outside rank %d", (long long)a, r);
    for (int i = 0; i < r; i++) rep[i] = i == a ? t : 1;
    return RT_OK;
}

static int k_tile(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = in[0], *rp = rt_in(n, in, 1);
    int r = x->rank, k = r;
    int64_t rep[RT_MAX_RANK], dims[RT_MAX_RANK], xs[RT_MAX_RANK];
    int64_t vdims[2 * RT_MAX_RANK], vstr[2 * RT_MAX_RANK];
    if (n->opset > 0 && n->opset < 6) {
        RT_TRY(tile_legacy_repeats(c, n, in, r, rep));
    } else {
        if (!rp) return rt_fail(c, "missing input 'repeats'");
        RT_NEED_DATA(c, rp);
        k = read_ints(c, rp, "input 'repeats'", rep, RT_MAX_RANK);
        if (k < 0) return RT_ERR;
    }
    if (k != r) return rt_fail(c, "input 'repeats' has %d values for an input of rank %d", k, r);
    rt_strides_contiguous(r, x->dims, xs);
    for (int i = 0; i < r; i++) {
        if (rep[i] < 0) return rt_fail(c, "input 'repeats' has a negative value %lld", (long long)rep[i]);
        if (x->dims[i] && rep[i] > INT64_MAX / x->dims[i]) return rt_fail(c, "output too large");
        dims[i] = x->dims[i] * rep[i];
        vdims[2 * i] = rep[i];
        vstr[2 * i] = 0;
        vdims[2 * i + 1] = x->dims[i];
        vstr[2 * i + 1] = xs[i];
    }
    RT_TRY(check_dtype(c, x, "input"));
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, r, dims));
    rt_copy_strided(out[0]->data, x->data, rt_dtype_size(x->dtype), 2 * r, vdims, vstr);
    return RT_OK;
}

/* ---- Concat, Split ---- */

/* Concat along axis: each output row (outer index) is the inputs' rows one after another. */
static int k_concat(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *first = NULL;
    for (int i = 0; i < n->n_in && !first; i++) first = in[i];
    if (!first) return rt_fail(c, "no inputs");
    if (!rt_attr(n, "axis")) return rt_fail(c, "missing attribute 'axis'");
    int r = first->rank;
    if (r == 0) return rt_fail(c, "inputs must have rank >= 1, got a scalar");
    int axis = rt_axis(c, rt_attr_int(n, "axis", 0), r, "attribute 'axis'");
    if (axis < 0) return RT_ERR;
    int64_t dims[RT_MAX_RANK];
    for (int d = 0; d < r; d++) dims[d] = first->dims[d];
    dims[axis] = 0;
    for (int i = 0; i < n->n_in; i++) {
        const RtTensor *t = in[i];
        if (!t) continue;
        char s0[128], si[128];
        int same = t->rank == r && t->dtype == first->dtype;
        for (int d = 0; same && d < r; d++) same = d == axis || t->dims[d] == first->dims[d];
        if (!same)
            return rt_fail(c, "input %d (%s %s) does not match input 0 (%s %s) outside axis %d", i,
                           rt_dtype_name(t->dtype), rt_shape_str(t->rank, t->dims, si, sizeof si),
                           rt_dtype_name(first->dtype), rt_shape_str(r, first->dims, s0, sizeof s0), axis);
        dims[axis] += t->dims[axis];
    }
    RT_TRY(check_dtype(c, first, "input 0"));
    RT_TRY(rt_out_alloc(c, out[0], first->dtype, r, dims));
    size_t esz = rt_dtype_size(first->dtype);
    int64_t outer = rt_shape_numel(axis, dims), inner = rt_shape_numel(r - axis - 1, dims + axis + 1);
    char *o = out[0]->data;
    for (int64_t q = 0; q < outer; q++) {
        for (int i = 0; i < n->n_in; i++) {
            if (!in[i]) continue;
            size_t run = (size_t)(in[i]->dims[axis] * inner) * esz;
            if (run) memcpy(o, (const char *)in[i]->data + (size_t)q * run, run);
            o += run;
        }
    }
    return RT_OK;
}

/* Split sizes along the axis into sizes[n_out]: from the `split` attribute (< 13) or input
 * (>= 13), else num_outputs (18: chunks of ceil(dim/num), the last smaller), else equal. */
static int split_sizes(RtKernelCtx *c, const RtNode *n, const RtTensor *sp, int64_t dim, int64_t *sizes) {
    int m = n->n_out;
    const int64_t *a;
    int na = rt_attr_ints(n, "split", &a);
    if (sp && na >= 0) return rt_fail(c, "'split' is given both as an input and as an attribute");
    if ((sp || na >= 0) && rt_attr(n, "num_outputs")) /* opset 18: one or the other, not both */
        return rt_fail(c, "'split' and attribute 'num_outputs' are both given; the spec allows one of them");
    if (sp || na >= 0) {
        int64_t k = sp ? rt_numel(sp) : na, sum = 0;
        if (sp && (sp->rank > 1 || rt_dtype_is_float(sp->dtype)))
            return rt_fail(c, "input 'split' must be a 1-D integer tensor");
        if (k != m) return rt_fail(c, "'split' has %lld values for %d outputs", (long long)k, m);
        for (int i = 0; i < m; i++) {
            sizes[i] = sp ? rt_get_i64(sp, i) : a[i];
            if (sizes[i] < 0) return rt_fail(c, "'split' has a negative size %lld", (long long)sizes[i]);
            sum += sizes[i];
        }
        if (sum != dim) return rt_fail(c, "'split' sizes sum to %lld but the axis has %lld", (long long)sum, (long long)dim);
        return RT_OK;
    }
    const RtAttr *no = rt_attr(n, "num_outputs");
    if (no) {
        if (no->i != m) return rt_fail(c, "attribute 'num_outputs' is %lld but the node has %d outputs", (long long)no->i, m);
        int64_t chunk = (dim + m - 1) / m;
        for (int i = 0; i < m; i++) {
            int64_t left = dim - (int64_t)i * chunk;
            sizes[i] = left < 0 ? 0 : (left < chunk ? left : chunk);
        }
        return RT_OK;
    }
    if (dim % m != 0)
        return rt_fail(c, "axis of size %lld cannot be split into %d equal parts", (long long)dim, m);
    for (int i = 0; i < m; i++) sizes[i] = dim / m;
    return RT_OK;
}

static int k_split(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = in[0], *sp = rt_in(n, in, 1);
    RT_NEED_DATA(c, sp);
    if (x->rank == 0) return rt_fail(c, "input must have rank >= 1, got a scalar");
    if (n->n_out < 1) return rt_fail(c, "no outputs");
    int axis = rt_axis(c, rt_attr_int(n, "axis", 0), x->rank, "attribute 'axis'");
    if (axis < 0) return RT_ERR;
    RT_TRY(check_dtype(c, x, "input"));
    int64_t *sizes = rt_scratch(c, sizeof(int64_t) * (size_t)n->n_out);
    if (!sizes) return RT_ERR_NOMEM;
    int r = split_sizes(c, n, sp, x->dims[axis], sizes);
    int64_t dims[RT_MAX_RANK];
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->rank);
    for (int i = 0; r == RT_OK && i < n->n_out; i++) {
        dims[axis] = sizes[i];
        rt_out_set_shape(out[i], x->dtype, x->rank, dims);
    }
    for (int i = 0; r == RT_OK && i < n->n_out; i++) r = rt_out_alloc_data(c, out[i]);
    if (r == RT_OK) {
        size_t esz = rt_dtype_size(x->dtype);
        int64_t outer = rt_shape_numel(axis, x->dims), inner = rt_shape_numel(x->rank - axis - 1, x->dims + axis + 1);
        size_t row = (size_t)(x->dims[axis] * inner) * esz, off = 0;
        for (int i = 0; i < n->n_out; i++) {
            size_t run = (size_t)(sizes[i] * inner) * esz;
            for (int64_t q = 0; q < outer && run; q++)
                memcpy((char *)out[i]->data + (size_t)q * run, (const char *)x->data + (size_t)q * row + off, run);
            off += run;
        }
    }
    rt_scratch_free(c, sizes);
    return r;
}

/* ---- generators: Range, ConstantOfShape ---- */

/* Stores an integer exactly (64-bit types directly; narrower types are exact in a double). */
static void set_int(RtTensor *t, int64_t i, int64_t v) {
    if (t->dtype == RT_I64) ((int64_t *)t->data)[i] = v;
    else if (t->dtype == RT_U64) ((uint64_t *)t->data)[i] = (uint64_t)v;
    else rt_set_f64(t, i, (double)v);
}

/* Element count of an integer Range: max(ceil((limit - start) / delta), 0), without overflow. */
static int64_t range_count_int(int64_t s, int64_t l, int64_t d) {
    uint64_t diff, step;
    if (d > 0 && l > s) {
        diff = (uint64_t)l - (uint64_t)s;
        step = (uint64_t)d;
    } else if (d < 0 && s > l) {
        diff = (uint64_t)s - (uint64_t)l;
        step = (uint64_t)0 - (uint64_t)d;
    } else {
        return 0;
    }
    uint64_t q = diff / step + (diff % step != 0);
    return q > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)q;
}

/* Range: output[i] = start + i * delta for i < max(ceil((limit - start) / delta), 0);
 * the dtype is start's. Integers are computed exactly in 64 bits, floats in double. */
static int k_range(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    static const char *names[3] = {"start", "limit", "delta"};
    const RtTensor *t[3];
    for (int i = 0; i < 3; i++) {
        t[i] = rt_in(n, in, i);
        if (!t[i]) return rt_fail(c, "missing input '%s'", names[i]);
        RT_NEED_DATA(c, t[i]);
        if (rt_numel(t[i]) != 1) return rt_fail(c, "input '%s' must be a scalar", names[i]);
        if (t[i]->dtype != t[0]->dtype)
            return rt_fail(c, "input '%s' is %s but 'start' is %s", names[i], rt_dtype_name(t[i]->dtype),
                           rt_dtype_name(t[0]->dtype));
    }
    RtDtype dt = t[0]->dtype;
    if (dt == RT_BOOL || rt_dtype_size(dt) == 0) return rt_fail(c, "dtype %s is not numeric", rt_dtype_name(dt));
    int64_t count;
    if (rt_dtype_is_float(dt)) {
        double s = rt_get_f64(t[0], 0), l = rt_get_f64(t[1], 0), d = rt_get_f64(t[2], 0);
        if (d == 0) return rt_fail(c, "input 'delta' is 0");
        double q = ceil((l - s) / d);
        if (q != q || q > 1e15) return rt_fail(c, "Range from %g to %g by %g has no finite size", s, l, d);
        count = q > 0 ? (int64_t)q : 0;
    } else {
        int64_t d = rt_get_i64(t[2], 0);
        if (d == 0) return rt_fail(c, "input 'delta' is 0");
        count = range_count_int(rt_get_i64(t[0], 0), rt_get_i64(t[1], 0), d);
    }
    RT_TRY(rt_out_alloc(c, out[0], dt, 1, &count));
    if (rt_dtype_is_float(dt)) {
        double s = rt_get_f64(t[0], 0), d = rt_get_f64(t[2], 0);
        for (int64_t i = 0; i < count; i++) rt_set_f64(out[0], i, s + (double)i * d);
    } else {
        uint64_t s = (uint64_t)rt_get_i64(t[0], 0), d = (uint64_t)rt_get_i64(t[2], 0);
        /* modular arithmetic: every value start + i*delta lies between start and limit */
        for (int64_t i = 0; i < count; i++) set_int(out[0], i, (int64_t)(s + (uint64_t)i * d));
    }
    return RT_OK;
}

/* ConstantOfShape: a tensor of the `shape` input's dims filled with the one-element
 * `value` attribute (default float32 0). */
static int k_constant_of_shape(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *s = in[0];
    RT_NEED_DATA(c, s);
    int64_t dims[RT_MAX_RANK];
    int k = read_ints(c, s, "input 'input' (the shape)", dims, RT_MAX_RANK);
    if (k < 0) return RT_ERR;
    for (int i = 0; i < k; i++)
        if (dims[i] < 0) return rt_fail(c, "shape has a negative dim %lld", (long long)dims[i]);
    const RtAttr *a = rt_attr(n, "value");
    static const float zero = 0.0f;
    RtTensor def = {RT_F32, 0, {0}, (void *)&zero};
    const RtTensor *v = &def;
    if (a) {
        if (a->type != RT_ATTR_TENSOR || !a->t) return rt_fail(c, "attribute 'value' must be a tensor");
        v = a->t;
        if (rt_numel(v) != 1) return rt_fail(c, "attribute 'value' must have one element, has %lld", (long long)rt_numel(v));
        RT_TRY(check_dtype(c, v, "attribute 'value'"));
        if (!v->data) return rt_fail(c, "attribute 'value' has no data");
    }
    RT_TRY(rt_out_alloc(c, out[0], v->dtype, k, dims));
    size_t esz = rt_dtype_size(v->dtype);
    int64_t total = rt_numel(out[0]);
    for (int64_t i = 0; i < total; i++) memcpy((char *)out[0]->data + (size_t)i * esz, v->data, esz);
    return RT_OK;
}

/* ---- Trilu, OneHot ---- */

/* Trilu: keeps the upper (j - i >= k) or lower (j - i <= k) triangle of each trailing
 * [N, M] matrix and zeroes the rest (all-zero bytes are zero in every dtype). */
static int k_trilu(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = in[0], *kt = rt_in(n, in, 1);
    if (x->rank < 2) return rt_fail(c, "input must have rank >= 2, got %d", x->rank);
    if (kt && rt_numel(kt) != 1) return rt_fail(c, "input 'k' must be a scalar");
    RT_TRY(check_dtype(c, x, "input"));
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, x->rank, x->dims));
    int64_t k = kt ? rt_get_i64(kt, 0) : 0;
    int upper = rt_attr_int(n, "upper", 1) != 0;
    size_t esz = rt_dtype_size(x->dtype);
    int64_t N = x->dims[x->rank - 2], M = x->dims[x->rank - 1];
    int64_t batch = rt_shape_numel(x->rank - 2, x->dims);
    const char *src = x->data;
    char *dst = out[0]->data;
    for (int64_t b = 0; b < batch; b++)
        for (int64_t i = 0; i < N; i++)
            for (int64_t j = 0; j < M; j++) {
                size_t off = (size_t)((b * N + i) * M + j) * esz;
                int keep = upper ? (j - i >= k) : (j - i <= k);
                if (keep) memcpy(dst + off, src + off, esz);
                else memset(dst + off, 0, esz);
            }
    return RT_OK;
}

/* OneHot: output = indices' shape with `depth` inserted at axis; values[1] where the class
 * equals the index (negative indices count from depth), values[0] elsewhere. */
static int k_one_hot(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *ind = in[0], *dep = rt_in(n, in, 1), *val = rt_in(n, in, 2);
    if (!dep || !val) return rt_fail(c, "missing input '%s'", dep ? "values" : "depth");
    RT_NEED_DATA(c, dep);
    if (rt_numel(dep) != 1) return rt_fail(c, "input 'depth' must have one element");
    if (rt_numel(val) != 2) return rt_fail(c, "input 'values' must have two elements [off, on], has %lld",
                                           (long long)rt_numel(val));
    if (rt_dtype_size(ind->dtype) == 0 || ind->dtype == RT_BOOL)
        return rt_fail(c, "input 'indices' has unsupported dtype %s", rt_dtype_name(ind->dtype));
    int64_t depth = rt_get_i64(dep, 0);
    if (depth < 0) return rt_fail(c, "input 'depth' is negative (%lld)", (long long)depth);
    int r = ind->rank + 1;
    if (r > RT_MAX_RANK) return rt_fail(c, "output rank %d exceeds the supported %d", r, RT_MAX_RANK);
    int axis = rt_axis(c, rt_attr_int(n, "axis", -1), r, "attribute 'axis'");
    if (axis < 0) return RT_ERR;
    int64_t dims[RT_MAX_RANK];
    for (int i = 0, j = 0; i < r; i++) dims[i] = i == axis ? depth : ind->dims[j++];
    RT_TRY(check_dtype(c, val, "input 'values'"));
    RT_TRY(rt_out_alloc(c, out[0], val->dtype, r, dims));
    size_t esz = rt_dtype_size(val->dtype);
    const char *off = val->data, *on = off + esz;
    char *o = out[0]->data;
    int64_t total = rt_numel(out[0]);
    for (int64_t i = 0; i < total; i++) memcpy(o + (size_t)i * esz, off, esz);
    int64_t outer = rt_shape_numel(axis, ind->dims), inner = rt_shape_numel(ind->rank - axis, ind->dims + axis);
    for (int64_t q = 0; q < outer; q++)
        for (int64_t p = 0; p < inner; p++) {
            int64_t idx = rt_get_i64(ind, q * inner + p);
            if (idx < 0) idx += depth;
            if (idx >= 0 && idx < depth) memcpy(o + (size_t)((q * depth + idx) * inner + p) * esz, on, esz);
        }
    return RT_OK;
}

const RtKernelEntry rt_kernels_shape[] = {
    {RT_OP_SHAPE, k_shape},
    {RT_OP_SIZE, k_size},
    {RT_OP_FLATTEN, k_flatten},
    {RT_OP_RESHAPE, k_reshape},
    {RT_OP_TRANSPOSE, k_transpose},
    {RT_OP_CONCAT, k_concat},
    {RT_OP_SPLIT, k_split},
    {RT_OP_SQUEEZE, k_squeeze},
    {RT_OP_UNSQUEEZE, k_unsqueeze},
    {RT_OP_EXPAND, k_expand},
    {RT_OP_TILE, k_tile},
    {RT_OP_RANGE, k_range},
    {RT_OP_CONSTANT_OF_SHAPE, k_constant_of_shape},
    {RT_OP_TRILU, k_trilu},
    {RT_OP_ONE_HOT, k_one_hot},
    {-1, 0},
};
