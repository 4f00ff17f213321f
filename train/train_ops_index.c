/*
 * train_ops_index.c — ops that pick elements by index or by a mask: Slice, Gather, Where.
 *
 * Each output element is one input element, so the backward pass scatters dY back along the
 * same map, adding (dX[src(i)] += dY[i]): an element read twice (Gather with a repeated
 * index, the embedding row of a token seen twice) sums its gradients, one never read gets 0.
 *   Slice:  per axis a first index, a step and a count after the spec's clamping; Y is the
 *           strided view of X (negative strides for negative steps), walked by
 *           train_strided_gather / train_strided_scatter_add (train_ops_tensor.c).
 *   Gather: Y[o, j, i] = X[o, idx[j], i] with o the axes before `axis`, j the flattened index
 *           positions, i the axes after: rows of `inner` floats copied, and added back.
 *   Where:  Y = cond ? X : Y' with numpy broadcasting of all three; dX gets dY where cond
 *           holds and dY' where it does not, each summed over the axes it was broadcast on.
 * The integer inputs (Slice's starts / ends / axes / steps, Gather's indices) and Where's
 * boolean condition are side data (TrainOp.side_inputs), read in any integer dtype.
 */
#include <stdint.h>
#include <string.h>

#include "../runtime/kernels/strided.h"
#include "train_ops.h"

/* ---- Slice ---- */

/* One axis of a slice, clamped as the spec says: a negative start or end adds dim; then for
 * step > 0 both clamp to [0, dim], for step < 0 start clamps to [0, dim - 1] and end to
 * [-1, dim - 1]. The count is the number of start + t * step strictly before end. */
static void slice_axis(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t *first, int64_t *count) {
    *first = 0, *count = 0;
    if (dim == 0) return;
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    int64_t span;
    if (step > 0) {
        start = start < 0 ? 0 : start > dim ? dim : start;
        end = end < 0 ? 0 : end > dim ? dim : end;
        span = end - start;
    } else {
        start = start < 0 ? 0 : start > dim - 1 ? dim - 1 : start;
        end = end < -1 ? -1 : end > dim - 1 ? dim - 1 : end;
        span = start - end;
    }
    *first = start;
    if (span <= 0) return;
    /* span <= dim + 1, so a step of INT64_MIN (whose negation overflows) takes one element */
    *count = step > 0 ? (span - 1) / step + 1 : step == INT64_MIN ? 1 : (span - 1) / -step + 1;
}

/* The view of X that is Y: dims[r], strides st[r] and the offset of Y's first element. Lists
 * from inputs 1-4 (opset 10 on) or the attributes starts, ends, axes (before 10; no steps). */
static int slice_view(TrainModel *m, int k, int64_t *dims, int64_t *st, int64_t *base, RtError *err) {
    static const char *names[4] = {"starts", "ends", "axes", "steps"};
    const RtNode *n = train_node(m, k);
    TrainTensor *X = train_in(m, k, 0);
    int r = X->rank, from_inputs = n->n_in > 1;
    int64_t v[4][RT_MAX_RANK];
    int cnt[4];
    for (int i = 0; i < 4; i++) {
        /* train_ints_read takes the input when present, else the attribute */
        cnt[i] = train_ints_read(m, k, from_inputs ? i + 1 : n->n_in, from_inputs || i == 3 ? NULL : names[i], v[i],
                                 RT_MAX_RANK, err);
        if (cnt[i] == -1) return RT_ERR;
        if (from_inputs && rt_attr(n, names[i]))
            return train_node_fail(m, k, err, "attribute '%s' is not allowed with inputs (opset 10 on)", names[i]);
        if (cnt[i] == -2 && i < 2) return train_node_fail(m, k, err, "missing '%s'", names[i]);
        if (cnt[i] >= 0 && cnt[i] != cnt[0])
            return train_node_fail(m, k, err, "'%s' has %d values but 'starts' has %d", names[i], cnt[i], cnt[0]);
    }
    int64_t xs[RT_MAX_RANK], first[RT_MAX_RANK], step[RT_MAX_RANK];
    char used[RT_MAX_RANK] = {0};
    rt_strides_contiguous(r, X->dims, xs);
    for (int d = 0; d < r; d++) first[d] = 0, dims[d] = X->dims[d], step[d] = 1;
    for (int i = 0; i < cnt[0]; i++) {
        int a = train_axis_norm(m, k, cnt[2] >= 0 ? v[2][i] : i, r, err);
        if (a < 0) return RT_ERR;
        if (used[a]) return train_node_fail(m, k, err, "axis %d appears more than once", a);
        used[a] = 1;
        step[a] = cnt[3] >= 0 ? v[3][i] : 1;
        if (step[a] == 0) return train_node_fail(m, k, err, "step of axis %d is 0", a);
        slice_axis(X->dims[a], v[0][i], v[1][i], step[a], &first[a], &dims[a]);
    }
    *base = 0;
    for (int d = 0; d < r; d++) {
        *base += first[d] * xs[d];
        st[d] = dims[d] > 1 ? xs[d] * step[d] : 0; /* one element: never advances (no overflow) */
    }
    return RT_OK;
}

int train_slice_fwd(TrainModel *m, int k, RtError *err) {
    int64_t dims[RT_MAX_RANK], st[RT_MAX_RANK], base;
    TrainTensor *X = train_in(m, k, 0);
    if (slice_view(m, k, dims, st, &base, err) != RT_OK || train_out_shape(m, k, 0, X->rank, dims, err) != RT_OK)
        return RT_ERR;
    if (rt_shape_numel(X->rank, dims) > 0) train_strided_gather(train_out(m, k, 0)->x, X->x + base, X->rank, dims, st);
    return RT_OK;
}

int train_slice_bwd(TrainModel *m, int k, RtError *err) {
    int64_t dims[RT_MAX_RANK], st[RT_MAX_RANK], base;
    TrainTensor *X = train_in(m, k, 0);
    float *dx = train_in_grad(m, k, 0);
    if (!dx) return RT_OK;
    if (slice_view(m, k, dims, st, &base, err) != RT_OK) return RT_ERR;
    if (rt_shape_numel(X->rank, dims) > 0) train_strided_scatter_add(dx + base, train_out(m, k, 0)->dx, X->rank, dims, st);
    return RT_OK;
}

/* ---- Gather ---- */

typedef struct {
    int axis;
    int64_t outer, inner, dim, nidx;
    RtTensor ind;
} GatherGeom;

static int gather_geom(TrainModel *m, int k, GatherGeom *gg, int *rank, int64_t *dims, RtError *err) {
    const RtNode *n = train_node(m, k);
    TrainTensor *X = train_in(m, k, 0);
    if (n->n_in < 2 || n->in[1] < 0) return train_node_fail(m, k, err, "missing input 'indices'");
    train_value_view(m, n->in[1], &gg->ind);
    const RtTensor *ind = &gg->ind;
    if (rt_dtype_is_float(ind->dtype) || ind->dtype == RT_BOOL || rt_dtype_size(ind->dtype) == 0 || !ind->data)
        return train_node_fail(m, k, err, "input 'indices' must be an integer tensor, got %s", rt_dtype_name(ind->dtype));
    if (X->rank < 1) return train_node_fail(m, k, err, "input 'data' must have rank >= 1");
    int a = train_axis_norm(m, k, rt_attr_int(n, "axis", 0), X->rank, err);
    if (a < 0) return RT_ERR;
    int r = X->rank - 1 + ind->rank, j = 0;
    if (r > RT_MAX_RANK) return train_node_fail(m, k, err, "output rank %d exceeds %d", r, RT_MAX_RANK);
    for (int d = 0; d < a; d++) dims[j++] = X->dims[d];
    for (int d = 0; d < ind->rank; d++) dims[j++] = ind->dims[d];
    for (int d = a + 1; d < X->rank; d++) dims[j++] = X->dims[d];
    *rank = r;
    gg->axis = a, gg->dim = X->dims[a], gg->nidx = rt_numel(ind);
    gg->outer = rt_shape_numel(a, X->dims), gg->inner = rt_shape_numel(X->rank - a - 1, X->dims + a + 1);
    for (int64_t p = 0; p < gg->nidx; p++) {
        int64_t v = rt_get_i64(ind, p);
        if (v < -gg->dim || v >= gg->dim)
            return train_node_fail(m, k, err, "index %lld (element %lld of 'indices') is out of range for axis %d of size %lld",
                                   (long long)v, (long long)p, a, (long long)gg->dim);
    }
    return RT_OK;
}

int train_gather_fwd(TrainModel *m, int k, RtError *err) {
    GatherGeom gg;
    int r;
    int64_t dims[RT_MAX_RANK];
    if (gather_geom(m, k, &gg, &r, dims, err) != RT_OK || train_out_shape(m, k, 0, r, dims, err) != RT_OK) return RT_ERR;
    const float *x = train_in(m, k, 0)->x;
    float *y = train_out(m, k, 0)->x;
    size_t row = sizeof(float) * (size_t)gg.inner;
    for (int64_t q = 0; q < gg.outer; q++)
        for (int64_t j = 0; j < gg.nidx; j++, y += gg.inner) {
            int64_t v = rt_get_i64(&gg.ind, j);
            memcpy(y, x + (q * gg.dim + (v < 0 ? v + gg.dim : v)) * gg.inner, row);
        }
    return RT_OK;
}

int train_gather_bwd(TrainModel *m, int k, RtError *err) {
    GatherGeom gg;
    int r;
    int64_t dims[RT_MAX_RANK];
    float *dx = train_in_grad(m, k, 0);
    if (!dx) return RT_OK;
    if (gather_geom(m, k, &gg, &r, dims, err) != RT_OK) return RT_ERR;
    const float *dy = train_out(m, k, 0)->dx;
    for (int64_t q = 0; q < gg.outer; q++)
        for (int64_t j = 0; j < gg.nidx; j++, dy += gg.inner) {
            int64_t v = rt_get_i64(&gg.ind, j);
            float *d = dx + (q * gg.dim + (v < 0 ? v + gg.dim : v)) * gg.inner;
            for (int64_t i = 0; i < gg.inner; i++) d[i] += dy[i];
        }
    return RT_OK;
}

/* ---- Where ---- */

typedef struct {
    int rank;
    int64_t dims[RT_MAX_RANK], st[3][RT_MAX_RANK], total;
    RtTensor c;
} WhereGeom;

/* Broadcasts cond, X and Y' (numpy rules) into dims with each one's strides (0 on broadcast axes). */
static int where_geom(TrainModel *m, int k, WhereGeom *w, RtError *err) {
    const RtNode *n = train_node(m, k);
    if (n->n_in < 3 || n->in[0] < 0 || n->in[1] < 0 || n->in[2] < 0)
        return train_node_fail(m, k, err, "needs three inputs (condition, X, Y)");
    train_value_view(m, n->in[0], &w->c);
    if (w->c.dtype != RT_BOOL || !w->c.data)
        return train_node_fail(m, k, err, "the condition must be bool, got %s", rt_dtype_name(w->c.dtype));
    const int *rk[3] = {&w->c.rank, &train_in(m, k, 1)->rank, &train_in(m, k, 2)->rank};
    const int64_t *dm[3] = {w->c.dims, train_in(m, k, 1)->dims, train_in(m, k, 2)->dims};
    int r = 0;
    for (int t = 0; t < 3; t++) r = *rk[t] > r ? *rk[t] : r;
    int64_t acc[3] = {1, 1, 1};
    w->total = 1;
    for (int d = r - 1; d >= 0; d--) {
        int64_t out = 1;
        for (int t = 0; t < 3; t++) {
            int i = d - (r - *rk[t]);
            int64_t v = i >= 0 ? dm[t][i] : 1;
            if (v != 1 && out != 1 && v != out) return train_node_fail(m, k, err, "inputs do not broadcast together");
            if (v != 1) out = v;
        }
        for (int t = 0; t < 3; t++) {
            int i = d - (r - *rk[t]);
            int64_t v = i >= 0 ? dm[t][i] : 1;
            w->st[t][d] = v == 1 ? 0 : acc[t];
            acc[t] *= v;
        }
        w->dims[d] = out;
        w->total *= out;
    }
    w->rank = r;
    return RT_OK;
}

/* body runs for each output position i with the offsets ic, ix, iy of cond, X and Y'. */
#define WHERE_LOOP(w, body)                                                              \
    do {                                                                                 \
        int64_t idx[RT_MAX_RANK] = {0}, ic = 0, ix = 0, iy = 0;                          \
        for (int64_t i = 0; i < (w).total; i++) {                                        \
            body;                                                                        \
            for (int d = (w).rank - 1; d >= 0; d--) {                                    \
                ic += (w).st[0][d], ix += (w).st[1][d], iy += (w).st[2][d];              \
                if (++idx[d] < (w).dims[d]) break;                                       \
                ic -= (w).st[0][d] * (w).dims[d], ix -= (w).st[1][d] * (w).dims[d];      \
                iy -= (w).st[2][d] * (w).dims[d], idx[d] = 0;                            \
            }                                                                            \
        }                                                                                \
    } while (0)

int train_where_fwd(TrainModel *m, int k, RtError *err) {
    WhereGeom w;
    if (where_geom(m, k, &w, err) != RT_OK || train_out_shape(m, k, 0, w.rank, w.dims, err) != RT_OK) return RT_ERR;
    const unsigned char *c = w.c.data;
    const float *x = train_in(m, k, 1)->x, *y2 = train_in(m, k, 2)->x;
    float *y = train_out(m, k, 0)->x;
    WHERE_LOOP(w, y[i] = c[ic] ? x[ix] : y2[iy]);
    return RT_OK;
}

int train_where_bwd(TrainModel *m, int k, RtError *err) {
    WhereGeom w;
    if (where_geom(m, k, &w, err) != RT_OK) return RT_ERR;
    const unsigned char *c = w.c.data;
    const float *dy = train_out(m, k, 0)->dx;
    float *dx = train_in_grad(m, k, 1), *dy2 = train_in_grad(m, k, 2);
    if (dx) WHERE_LOOP(w, if (c[ic]) dx[ix] += dy[i]);
    if (dy2) WHERE_LOOP(w, if (!c[ic]) dy2[iy] += dy[i]);
    return RT_OK;
}
