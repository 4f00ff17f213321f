/*
 * train_ops_reduce.c — ReduceMean, ReduceSum, ReduceSumSquare, ReduceMax, ReduceMin.
 *
 * Axes: the attribute `axes` before the opset where the spec moved it to input 1 (ReduceSum
 * 13, the others 18), the input from then on (an int64 side value; -r <= axis < r). No axes
 * reduces everything, unless noop_with_empty_axes = 1, which makes each element its own output
 * (the op then maps x to x, or x^2 for ReduceSumSquare, as the ONNX reference does).
 * keepdims (default 1) keeps reduced axes as 1. A form the spec does not allow at the node's
 * opset (the attribute from ReduceSum-13 / others-18, the input before) is refused by name.
 *
 * Algorithm: one walk over the input in memory order with an odometer that carries the output
 * offset (output stride 0 on reduced axes). Sums accumulate in double in the node's state and
 * are rounded once, as the runtime's kernel does. Backward walks the same mapping: Sum gives
 * dy to every element of its group, Mean dy / count, SumSquare 2 x dy. Max / Min give the
 * whole dy to the first element (in memory order) holding the extreme — the arg-extreme index
 * is kept per output in the state — rather than splitting it among ties: a tie is where the
 * op has no derivative, and picking one element is what ArgMax (select_last_index = 0) and
 * PyTorch's max(dim) backward do.
 */
#include <math.h>
#include <string.h>

#include "train_ops.h"

typedef struct {
    int rank;                        /* the input's rank */
    int64_t in_dims[RT_MAX_RANK];    /* input dims */
    int64_t ostride[RT_MAX_RANK];    /* output offset step per input axis (0 on reduced axes) */
    int out_rank;
    int64_t out_dims[RT_MAX_RANK];
    int64_t n_in, n_out;             /* elements */
    int64_t count;                   /* input elements per output element */
} ReduceMap;

/* Opset from which the axes are input 1 instead of an attribute. */
static int reduce_axes_input_opset(int op) { return op == RT_OP_REDUCE_SUM ? 13 : 18; }

/* The axes as a list (*n < 0: none given). */
static int reduce_axes_read(TrainModel *m, int k, int64_t *axes, int *n, RtError *err) {
    const RtNode *node = train_node(m, k);
    const int64_t *attr = NULL;
    int na = rt_attr_ints(node, "axes", &attr), from = reduce_axes_input_opset(node->op);
    int has_in = node->n_in > 1 && node->in[1] >= 0;
    if (na >= 0 && has_in) return train_node_fail(m, k, err, "axes given both as attribute and as input");
    if (node->opset > 0 && na >= 0 && node->opset >= from)
        return train_node_fail(m, k, err, "attribute 'axes' is not in opset %d (axes is input 1 from opset %d)",
                               node->opset, from);
    if (node->opset > 0 && has_in && node->opset < from)
        return train_node_fail(m, k, err, "input 'axes' needs opset %d (node has opset %d; use the attribute)",
                               from, node->opset);
    *n = -1;
    if (na >= 0) {
        if (na > RT_MAX_RANK) return train_node_fail(m, k, err, "%d axes given", na);
        memcpy(axes, attr, sizeof(int64_t) * (size_t)na);
        *n = na;
    } else if (has_in) {
        RtTensor t;
        train_value_view(m, node->in[1], &t);
        if (t.rank > 1 || (t.dtype != RT_I64 && t.dtype != RT_I32) || (!t.data && rt_numel(&t) > 0))
            return train_node_fail(m, k, err, "input 'axes' must be a 1-D int64 tensor with data");
        if (rt_numel(&t) > RT_MAX_RANK) return train_node_fail(m, k, err, "%lld axes given", (long long)rt_numel(&t));
        *n = (int)rt_numel(&t);
        for (int i = 0; i < *n; i++) axes[i] = rt_get_i64(&t, i);
    }
    return RT_OK;
}

static int reduce_map(TrainModel *m, int k, ReduceMap *r, RtError *err) {
    const RtNode *n = train_node(m, k);
    TrainTensor *X = train_in(m, k, 0);
    if (!X) return train_node_fail(m, k, err, "input 'data' is missing");
    int64_t axes[RT_MAX_RANK];
    int na = -1;
    if (reduce_axes_read(m, k, axes, &na, err) != RT_OK) return RT_ERR;
    unsigned char mask[RT_MAX_RANK] = {0};
    if (na <= 0) {
        if (!rt_attr_int(n, "noop_with_empty_axes", 0)) memset(mask, 1, sizeof mask);
    }
    for (int i = 0; i < na; i++) {
        int64_t a = axes[i] < 0 ? axes[i] + X->rank : axes[i];
        if (a < 0 || a >= X->rank)
            return train_node_fail(m, k, err, "axis %lld is out of range for rank %d", (long long)axes[i], X->rank);
        if (mask[a]) return train_node_fail(m, k, err, "axis %lld appears twice in 'axes'", (long long)a);
        mask[a] = 1;
    }
    int keep = rt_attr_int(n, "keepdims", 1) != 0;
    r->rank = X->rank, r->out_rank = 0, r->count = 1, r->n_out = 1;
    for (int d = 0; d < X->rank; d++) {
        r->in_dims[d] = X->dims[d];
        if (mask[d]) r->count *= X->dims[d];
        if (!mask[d] || keep) r->out_dims[r->out_rank++] = mask[d] ? 1 : X->dims[d];
    }
    int64_t s = 1;
    for (int d = X->rank - 1; d >= 0; d--) {
        r->ostride[d] = mask[d] ? 0 : s;
        if (!mask[d]) s *= X->dims[d];
    }
    r->n_out = s;
    r->n_in = train_tensor_numel(X);
    return RT_OK;
}

/* Advances the input index idx (memory order) by one and the output offset *o with it. */
static inline void reduce_next(const ReduceMap *r, int64_t *idx, int64_t *o) {
    for (int d = r->rank - 1; d >= 0; d--) {
        *o += r->ostride[d];
        if (++idx[d] < r->in_dims[d]) return;
        *o -= r->ostride[d] * r->in_dims[d];
        idx[d] = 0;
    }
}

/* Node state: acc[n_out] doubles (sums), then arg[n_out] input offsets (Max / Min). */
int train_reduce_fwd(TrainModel *m, int k, RtError *err) {
    ReduceMap r;
    if (reduce_map(m, k, &r, err) != RT_OK || train_out_shape(m, k, 0, r.out_rank, r.out_dims, err) != RT_OK)
        return RT_ERR;
    double *acc = train_node_state(m, k, (size_t)r.n_out * (sizeof(double) + sizeof(int64_t)), err);
    if (!acc) return RT_ERR;
    int64_t *arg = (int64_t *)(acc + r.n_out);
    int op = train_node(m, k)->op, is_max = op == RT_OP_REDUCE_MAX, is_ext = is_max || op == RT_OP_REDUCE_MIN;
    for (int64_t j = 0; j < r.n_out; j++) acc[j] = !is_ext ? 0.0 : is_max ? -INFINITY : INFINITY, arg[j] = -1;
    const float *x = train_in(m, k, 0)->x;
    int64_t idx[RT_MAX_RANK] = {0}, o = 0;
    for (int64_t i = 0; i < r.n_in; i++) {
        double v = x[i];
        if (!is_ext) acc[o] += op == RT_OP_REDUCE_SUM_SQUARE ? v * v : v;
        else if (arg[o] < 0 || (is_max ? v > acc[o] : v < acc[o])) acc[o] = v, arg[o] = i;
        reduce_next(&r, idx, &o);
    }
    float *y = train_out(m, k, 0)->x;
    for (int64_t j = 0; j < r.n_out; j++)
        y[j] = (float)(op == RT_OP_REDUCE_MEAN ? acc[j] / (double)r.count : acc[j]); /* count 0: 0/0 = NaN */
    return RT_OK;
}

int train_reduce_bwd(TrainModel *m, int k, RtError *err) {
    ReduceMap r;
    if (reduce_map(m, k, &r, err) != RT_OK) return RT_ERR;
    float *dx = train_in_grad(m, k, 0);
    if (!dx) return RT_OK;
    const float *x = train_in(m, k, 0)->x, *dy = train_out(m, k, 0)->dx;
    int op = train_node(m, k)->op;
    if (op == RT_OP_REDUCE_MAX || op == RT_OP_REDUCE_MIN) {
        const int64_t *arg = (const int64_t *)((const double *)m->state[k] + r.n_out);
        for (int64_t j = 0; j < r.n_out; j++)
            if (arg[j] >= 0) dx[arg[j]] += dy[j];
        return RT_OK;
    }
    float scale = op == RT_OP_REDUCE_MEAN ? (float)(1.0 / (double)r.count) : 1.0f;
    int sq = op == RT_OP_REDUCE_SUM_SQUARE;
    int64_t idx[RT_MAX_RANK] = {0}, o = 0;
    for (int64_t i = 0; i < r.n_in; i++) {
        dx[i] += sq ? 2.0f * x[i] * dy[o] : dy[o] * scale;
        reduce_next(&r, idx, &o);
    }
    return RT_OK;
}
