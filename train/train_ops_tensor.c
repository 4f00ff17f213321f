/*
 * train_ops_tensor.c — data movement ops that reshape, permute, join or split tensors:
 * Transpose, Squeeze, Unsqueeze, Concat, Split, Expand, Tile, and what they share with
 * train_ops_index.c and train_ops_pad.c: the strided walk, the reading of an integer list from
 * an input or an attribute (train_ints_read) and axis normalization (train_axis_norm).
 *
 * Every op here moves float elements without arithmetic, so each output element is one input
 * element and the backward pass is the same walk run the other way: dX[src(i)] += dY[i]. When
 * several outputs read one input element (Expand's and Tile's stride-0 axes) the adds sum
 * them, which is exactly the gradient of a broadcast (dY summed over the broadcast axes).
 *   Transpose:  the output is the view of X with dims X.dims[perm] and strides X.strides[perm].
 *   Squeeze / Unsqueeze: the same elements under another shape (copy; gradient copied back).
 *   Concat:     each outer row (axes before `axis`) of Y is the inputs' rows one after another;
 *               an input that needs no gradient is skipped in backward.
 *   Split:      the reverse of Concat: output o takes columns [off_o, off_o + size_o) of each row.
 *   Expand:     X broadcast (numpy rules) against the `shape` input: stride 0 on broadcast axes.
 *   Tile:       Y viewed as [rep_0, d_0, rep_1, d_1, ...] with stride 0 on every rep axis.
 * Integer inputs the spec gives (axes, split, shape, repeats) are side data (TrainOp.side_inputs)
 * read in any integer dtype with rt_get_i64.
 */
#include <string.h>

#include "../runtime/kernels/strided.h"
#include "train_ops.h"

/* ---- the strided walk ---- */

/* Calls body once per element of the row-major walk over dims[r] (r <= 2 * RT_MAX_RANK) with
 * i the output position and `off` the strided source offset sum_k idx_k * st_k. The last axis
 * runs as an inner loop. */
#define STRIDED_LOOP(r, dims, st, body)                                                  \
    do {                                                                                 \
        int64_t total_ = rt_shape_numel((r), (dims));                                    \
        if (total_ == 0) break;                                                          \
        if ((r) == 0) {                                                                  \
            int64_t i = 0, off = 0;                                                      \
            body;                                                                        \
            break;                                                                       \
        }                                                                                \
        int64_t idx_[2 * RT_MAX_RANK] = {0}, base_ = 0, n_ = (dims)[(r)-1], s_ = (st)[(r)-1]; \
        for (int64_t row_ = 0; row_ < total_; row_ += n_) {                              \
            for (int64_t j_ = 0; j_ < n_; j_++) {                                        \
                int64_t i = row_ + j_, off = base_ + j_ * s_;                            \
                body;                                                                    \
            }                                                                            \
            for (int d_ = (r)-2; d_ >= 0; d_--) {                                        \
                base_ += (st)[d_];                                                       \
                if (++idx_[d_] < (dims)[d_]) break;                                      \
                base_ -= (st)[d_] * (dims)[d_], idx_[d_] = 0;                            \
            }                                                                            \
        }                                                                                \
    } while (0)

void train_strided_gather(float *y, const float *x, int r, const int64_t *dims, const int64_t *st) {
    STRIDED_LOOP(r, dims, st, y[i] = x[off]);
}

void train_strided_scatter_add(float *dx, const float *dy, int r, const int64_t *dims, const int64_t *st) {
    STRIDED_LOOP(r, dims, st, dx[off] += dy[i]);
}

/* ---- reading integer lists ---- */

int train_ints_read(TrainModel *m, int k, int input, const char *attr, int64_t *v, int max, RtError *err) {
    const RtNode *n = train_node(m, k);
    const int64_t *a;
    int na = attr ? rt_attr_ints(n, attr, &a) : -1;
    if (input < n->n_in && n->in[input] >= 0) {
        RtTensor t;
        train_value_view(m, n->in[input], &t);
        if (na >= 0) return train_node_fail(m, k, err, "'%s' is given both as an input and as an attribute", attr), -1;
        if (t.rank > 1 || rt_dtype_is_float(t.dtype) || t.dtype == RT_BOOL || rt_dtype_size(t.dtype) == 0 || !t.data)
            return train_node_fail(m, k, err, "input %d must be a 1-D integer tensor, got %s of rank %d", input,
                                   rt_dtype_name(t.dtype), t.rank), -1;
        int64_t cnt = rt_numel(&t);
        if (cnt > max) return train_node_fail(m, k, err, "input %d has %lld values, at most %d", input, (long long)cnt, max), -1;
        for (int64_t i = 0; i < cnt; i++) v[i] = rt_get_i64(&t, i);
        return (int)cnt;
    }
    if (na < 0) return -2;
    if (na > max) return train_node_fail(m, k, err, "attribute '%s' has %d values, at most %d", attr, na, max), -1;
    for (int i = 0; i < na; i++) v[i] = a[i];
    return na;
}

int train_axis_norm(TrainModel *m, int k, int64_t axis, int rank, RtError *err) {
    if (axis < -rank || axis >= rank)
        return train_node_fail(m, k, err, "axis %lld is out of range for rank %d", (long long)axis, rank), -1;
    return (int)(axis < 0 ? axis + rank : axis);
}

/* Plain copy forward / add backward for ops that only change the shape. */
static int copy_fwd(TrainModel *m, int k, int rank, const int64_t *dims, RtError *err) {
    if (train_out_shape(m, k, 0, rank, dims, err) != RT_OK) return RT_ERR;
    TrainTensor *X = train_in(m, k, 0);
    memcpy(train_out(m, k, 0)->x, X->x, sizeof(float) * (size_t)train_tensor_numel(X));
    return RT_OK;
}

static int copy_bwd(TrainModel *m, int k) {
    float *dx = train_in_grad(m, k, 0);
    const float *dy = train_out(m, k, 0)->dx;
    int64_t N = train_tensor_numel(train_in(m, k, 0));
    if (dx)
        for (int64_t i = 0; i < N; i++) dx[i] += dy[i];
    return RT_OK;
}

/* ---- Transpose ---- */

/* The view of X that is Y: dims[i] = X.dims[perm[i]], st[i] = X.strides[perm[i]]. */
static int transpose_view(TrainModel *m, int k, int64_t *dims, int64_t *st, RtError *err) {
    const RtNode *n = train_node(m, k);
    TrainTensor *X = train_in(m, k, 0);
    int r = X->rank;
    const int64_t *p;
    int np = rt_attr_ints(n, "perm", &p);
    if (np >= 0 && np != r) return train_node_fail(m, k, err, "'perm' has %d values for an input of rank %d", np, r);
    int64_t xs[RT_MAX_RANK];
    char seen[RT_MAX_RANK] = {0};
    rt_strides_contiguous(r, X->dims, xs);
    for (int i = 0; i < r; i++) {
        int64_t a = np >= 0 ? p[i] : r - 1 - i; /* default: the axes reversed */
        if (a < 0 || a >= r || seen[a]) return train_node_fail(m, k, err, "'perm' is not a permutation of 0..%d", r - 1);
        seen[a] = 1;
        dims[i] = X->dims[a], st[i] = xs[a];
    }
    return RT_OK;
}

int train_transpose_fwd(TrainModel *m, int k, RtError *err) {
    int64_t dims[RT_MAX_RANK], st[RT_MAX_RANK];
    int r = train_in(m, k, 0)->rank;
    if (transpose_view(m, k, dims, st, err) != RT_OK || train_out_shape(m, k, 0, r, dims, err) != RT_OK) return RT_ERR;
    train_strided_gather(train_out(m, k, 0)->x, train_in(m, k, 0)->x, r, dims, st);
    return RT_OK;
}

int train_transpose_bwd(TrainModel *m, int k, RtError *err) {
    int64_t dims[RT_MAX_RANK], st[RT_MAX_RANK];
    float *dx = train_in_grad(m, k, 0);
    if (!dx || transpose_view(m, k, dims, st, err) != RT_OK) return dx ? RT_ERR : RT_OK;
    train_strided_scatter_add(dx, train_out(m, k, 0)->dx, train_in(m, k, 0)->rank, dims, st);
    return RT_OK;
}

/* ---- Squeeze, Unsqueeze ---- */

/* Squeeze: drops the listed axes (each must be 1), or every 1 when no axes are given (an
 * attribute before opset 13, input 1 from 13). Unsqueeze: inserts 1s at the listed axes of
 * the output, whose rank is X's plus their count. */
static int squeeze_dims(TrainModel *m, int k, int *rank, int64_t *dims, RtError *err) {
    const RtNode *n = train_node(m, k);
    TrainTensor *X = train_in(m, k, 0);
    int64_t axes[RT_MAX_RANK];
    int cnt = train_ints_read(m, k, 1, "axes", axes, RT_MAX_RANK, err);
    if (cnt == -1) return RT_ERR;
    char mark[RT_MAX_RANK] = {0};
    if (n->op == RT_OP_SQUEEZE) {
        for (int i = 0; i < cnt; i++) {
            int a = train_axis_norm(m, k, axes[i], X->rank, err);
            if (a < 0) return RT_ERR;
            if (X->dims[a] != 1)
                return train_node_fail(m, k, err, "cannot squeeze axis %lld of size %lld", (long long)axes[i],
                                       (long long)X->dims[a]);
            mark[a] = 1;
        }
        if (cnt <= 0) /* absent or empty: every 1 goes */
            for (int d = 0; d < X->rank; d++) mark[d] = X->dims[d] == 1;
        *rank = 0;
        for (int d = 0; d < X->rank; d++)
            if (!mark[d]) dims[(*rank)++] = X->dims[d];
        return RT_OK;
    }
    if (cnt == -2) return train_node_fail(m, k, err, "missing 'axes' (an attribute before opset 13, an input from 13)");
    int r = X->rank + cnt;
    if (r > RT_MAX_RANK) return train_node_fail(m, k, err, "output rank %d exceeds %d", r, RT_MAX_RANK);
    for (int i = 0; i < cnt; i++) {
        int a = train_axis_norm(m, k, axes[i], r, err);
        if (a < 0) return RT_ERR;
        if (mark[a]) return train_node_fail(m, k, err, "axis %lld is repeated", (long long)axes[i]);
        mark[a] = 1;
    }
    for (int d = 0, j = 0; d < r; d++) dims[d] = mark[d] ? 1 : X->dims[j++];
    *rank = r;
    return RT_OK;
}

int train_squeeze_fwd(TrainModel *m, int k, RtError *err) {
    int rank = 0;
    int64_t dims[RT_MAX_RANK];
    if (squeeze_dims(m, k, &rank, dims, err) != RT_OK) return RT_ERR;
    return copy_fwd(m, k, rank, dims, err);
}

int train_squeeze_bwd(TrainModel *m, int k, RtError *err) {
    (void)err;
    return copy_bwd(m, k);
}

/* ---- Concat ---- */

/* Checks the inputs agree outside the axis; fills Y's dims. */
static int concat_dims(TrainModel *m, int k, int *axis, int *rank, int64_t *dims, RtError *err) {
    const RtNode *n = train_node(m, k);
    const TrainTensor *first = NULL;
    for (int i = 0; i < n->n_in && !first; i++) first = train_in(m, k, i);
    if (!first) return train_node_fail(m, k, err, "no inputs");
    if (!rt_attr(n, "axis")) return train_node_fail(m, k, err, "missing attribute 'axis'");
    int r = first->rank;
    if (r == 0) return train_node_fail(m, k, err, "inputs must have rank >= 1");
    int a = train_axis_norm(m, k, rt_attr_int(n, "axis", 0), r, err);
    if (a < 0) return RT_ERR;
    memcpy(dims, first->dims, sizeof(int64_t) * (size_t)r);
    dims[a] = 0;
    for (int i = 0; i < n->n_in; i++) {
        const TrainTensor *t = train_in(m, k, i);
        if (!t) continue;
        int same = t->rank == r;
        for (int d = 0; same && d < r; d++) same = d == a || t->dims[d] == first->dims[d];
        if (!same) return train_node_fail(m, k, err, "input %d's shape does not match input 0's outside axis %d", i, a);
        dims[a] += t->dims[a];
    }
    *axis = a, *rank = r;
    return RT_OK;
}

int train_concat_fwd(TrainModel *m, int k, RtError *err) {
    int axis, r;
    int64_t dims[RT_MAX_RANK];
    if (concat_dims(m, k, &axis, &r, dims, err) != RT_OK || train_out_shape(m, k, 0, r, dims, err) != RT_OK)
        return RT_ERR;
    const RtNode *n = train_node(m, k);
    int64_t outer = rt_shape_numel(axis, dims), inner = rt_shape_numel(r - axis - 1, dims + axis + 1);
    float *y = train_out(m, k, 0)->x;
    for (int64_t q = 0; q < outer; q++)
        for (int i = 0; i < n->n_in; i++) {
            const TrainTensor *t = train_in(m, k, i);
            if (!t) continue;
            int64_t run = t->dims[axis] * inner;
            memcpy(y, t->x + q * run, sizeof(float) * (size_t)run);
            y += run;
        }
    return RT_OK;
}

int train_concat_bwd(TrainModel *m, int k, RtError *err) {
    int axis, r;
    int64_t dims[RT_MAX_RANK];
    if (concat_dims(m, k, &axis, &r, dims, err) != RT_OK) return RT_ERR;
    const RtNode *n = train_node(m, k);
    int64_t outer = rt_shape_numel(axis, dims), inner = rt_shape_numel(r - axis - 1, dims + axis + 1);
    const float *dy = train_out(m, k, 0)->dx;
    for (int64_t q = 0; q < outer; q++)
        for (int i = 0; i < n->n_in; i++) {
            const TrainTensor *t = train_in(m, k, i);
            if (!t) continue;
            int64_t run = t->dims[axis] * inner;
            float *dx = train_in_grad(m, k, i);
            if (dx)
                for (int64_t j = 0; j < run; j++) dx[q * run + j] += dy[j];
            dy += run;
        }
    return RT_OK;
}

/* ---- Split ---- */

/* sizes[n_out] along the axis: the `split` attribute (before opset 13) or input 1 (from 13);
 * else num_outputs (opset 18: chunks of ceil(dim / n), the last one smaller); else equal parts. */
static int split_sizes(TrainModel *m, int k, int *axis, int64_t *sizes, RtError *err) {
    const RtNode *n = train_node(m, k);
    TrainTensor *X = train_in(m, k, 0);
    if (X->rank == 0) return train_node_fail(m, k, err, "input must have rank >= 1");
    int a = train_axis_norm(m, k, rt_attr_int(n, "axis", 0), X->rank, err);
    if (a < 0) return RT_ERR;
    int64_t dim = X->dims[a], no = n->n_out;
    int cnt = train_ints_read(m, k, 1, "split", sizes, n->n_out, err);
    if (cnt == -1) return RT_ERR;
    if (cnt >= 0) {
        int64_t sum = 0;
        if (cnt != no) return train_node_fail(m, k, err, "'split' has %d values for %d outputs", cnt, n->n_out);
        for (int i = 0; i < cnt; i++) {
            if (sizes[i] < 0) return train_node_fail(m, k, err, "'split' has a negative size");
            sum += sizes[i];
        }
        if (sum != dim)
            return train_node_fail(m, k, err, "'split' sums to %lld but the axis has %lld", (long long)sum, (long long)dim);
    } else if (rt_attr(n, "num_outputs")) {
        if (rt_attr_int(n, "num_outputs", 0) != no)
            return train_node_fail(m, k, err, "'num_outputs' is %lld but the node has %d outputs",
                                   (long long)rt_attr_int(n, "num_outputs", 0), n->n_out);
        int64_t chunk = (dim + no - 1) / no;
        for (int64_t i = 0; i < no; i++) {
            int64_t left = dim - i * chunk;
            sizes[i] = left < 0 ? 0 : left < chunk ? left : chunk;
        }
    } else {
        if (dim % no) return train_node_fail(m, k, err, "axis of size %lld does not split into %d equal parts", (long long)dim, n->n_out);
        for (int64_t i = 0; i < no; i++) sizes[i] = dim / no;
    }
    *axis = a;
    return RT_OK;
}

/* Runs Split (dir 0: X -> outputs) or its backward (dir 1: outputs' dx -> dX). */
static int split_run(TrainModel *m, int k, int bwd, RtError *err) {
    int axis = 0;
    const RtNode *n = train_node(m, k);
    TrainTensor *X = train_in(m, k, 0);
    int64_t *sizes = train_node_state(m, k, sizeof(int64_t) * (size_t)n->n_out, err); /* [n_out] */
    if (!sizes || split_sizes(m, k, &axis, sizes, err) != RT_OK) return RT_ERR;
    int64_t dims[RT_MAX_RANK], outer = rt_shape_numel(axis, X->dims);
    int64_t inner = rt_shape_numel(X->rank - axis - 1, X->dims + axis + 1), row = X->dims[axis] * inner, off = 0;
    float *dx = bwd ? train_in_grad(m, k, 0) : NULL;
    if (bwd && !dx) return RT_OK;
    memcpy(dims, X->dims, sizeof dims);
    for (int o = 0; o < n->n_out; o++) {
        int64_t run = sizes[o] * inner;
        dims[axis] = sizes[o];
        if (n->out[o] >= 0) {
            if (!bwd && train_out_shape(m, k, o, X->rank, dims, err) != RT_OK) return RT_ERR;
            TrainTensor *Y = train_out(m, k, o);
            for (int64_t q = 0; q < outer; q++)
                if (bwd)
                    for (int64_t j = 0; j < run; j++) dx[q * row + off + j] += Y->dx[q * run + j];
                else
                    memcpy(Y->x + q * run, X->x + q * row + off, sizeof(float) * (size_t)run);
        }
        off += run;
    }
    return RT_OK;
}

int train_split_fwd(TrainModel *m, int k, RtError *err) { return split_run(m, k, 0, err); }
int train_split_bwd(TrainModel *m, int k, RtError *err) { return split_run(m, k, 1, err); }

/* ---- Expand, Tile ---- */

/* The view of X that is Y: Expand broadcasts X against `shape` (numpy rules: a 1 in shape
 * keeps X's dim); Tile views Y as [rep_0, d_0, rep_1, d_1, ...] (stride 0 on the reps). Sets
 * Y's rank and dims and the view's rank, dims and strides. */
static int expand_view(TrainModel *m, int k, int *yr, int64_t *ydims, int *vr, int64_t *vdims, int64_t *vst,
                       RtError *err) {
    const RtNode *n = train_node(m, k);
    TrainTensor *X = train_in(m, k, 0);
    int64_t v[RT_MAX_RANK], xs[RT_MAX_RANK];
    int cnt = train_ints_read(m, k, 1, NULL, v, RT_MAX_RANK, err);
    if (cnt == -1) return RT_ERR;
    if (cnt == -2) return train_node_fail(m, k, err, "missing input 1 (%s)", n->op == RT_OP_TILE ? "repeats" : "shape");
    rt_strides_contiguous(X->rank, X->dims, xs);
    if (n->op == RT_OP_TILE) {
        if (cnt != X->rank) return train_node_fail(m, k, err, "'repeats' has %d values for rank %d", cnt, X->rank);
        for (int d = 0; d < cnt; d++) {
            if (v[d] < 0) return train_node_fail(m, k, err, "'repeats' has a negative value");
            ydims[d] = X->dims[d] * v[d];
            vdims[2 * d] = v[d], vst[2 * d] = 0;
            vdims[2 * d + 1] = X->dims[d], vst[2 * d + 1] = xs[d];
        }
        *yr = cnt, *vr = 2 * cnt;
        return RT_OK;
    }
    int r = cnt > X->rank ? cnt : X->rank;
    for (int d = r - 1; d >= 0; d--) {
        int ix = d - (r - X->rank), is = d - (r - cnt);
        int64_t dx = ix >= 0 ? X->dims[ix] : 1, ds = is >= 0 ? v[is] : 1;
        if (dx != ds && dx != 1 && ds != 1)
            return train_node_fail(m, k, err, "input dim %lld does not broadcast to shape dim %lld", (long long)dx, (long long)ds);
        ydims[d] = dx == 1 ? ds : dx;
        vdims[d] = ydims[d];
        vst[d] = ix >= 0 && dx != 1 ? xs[ix] : 0;
    }
    *yr = r, *vr = r;
    return RT_OK;
}

int train_expand_fwd(TrainModel *m, int k, RtError *err) {
    int yr, vr;
    int64_t ydims[RT_MAX_RANK], vdims[2 * RT_MAX_RANK], vst[2 * RT_MAX_RANK];
    if (expand_view(m, k, &yr, ydims, &vr, vdims, vst, err) != RT_OK || train_out_shape(m, k, 0, yr, ydims, err) != RT_OK)
        return RT_ERR;
    train_strided_gather(train_out(m, k, 0)->x, train_in(m, k, 0)->x, vr, vdims, vst);
    return RT_OK;
}

int train_expand_bwd(TrainModel *m, int k, RtError *err) {
    int yr, vr;
    int64_t ydims[RT_MAX_RANK], vdims[2 * RT_MAX_RANK], vst[2 * RT_MAX_RANK];
    float *dx = train_in_grad(m, k, 0);
    if (!dx) return RT_OK;
    if (expand_view(m, k, &yr, ydims, &vr, vdims, vst, err) != RT_OK) return RT_ERR;
    train_strided_scatter_add(dx, train_out(m, k, 0)->dx, vr, vdims, vst);
    return RT_OK;
}

int train_tile_check(TrainModel *m, int k, RtError *err) {
    const RtNode *n = train_node(m, k);
    if (n->opset > 0 && n->opset < 6)
        return train_node_fail(m, k, err, "Tile before opset 6 (tiles, axis inputs) is not supported in training");
    return RT_OK;
}
