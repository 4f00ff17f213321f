/*
 * train_ops_elem.c — element-wise and shape ops: Relu, LeakyRelu, Sigmoid, Tanh, Identity,
 * Clip, Dropout (the inference form: identity), Add, Sub, Mul (numpy broadcasting), Flatten, Reshape.
 *
 * Derivatives: Relu 1[x > 0]; LeakyRelu 1 or alpha; Clip 1[min <= x <= max] (torch.clamp's
 * choice at the bounds; the bounds are inputs 1, 2 from opset 11, attributes before, and are
 * not trained); Sigmoid y (1 - y); Tanh 1 - y^2 (y the
 * output, so no recomputation). Binary ops broadcast by strides (0 on a broadcast axis): the
 * backward walks the same index mapping, so an input's gradient is dY summed over the axes it
 * was broadcast along (d(a+b) = dY to both, d(a-b) = -dY to b, d(ab) = dY b to a, dY a to b).
 * Flatten and Reshape copy data; their gradient is dY reshaped back.
 */
#include <math.h>
#include <string.h>

#include "train_ops.h"

int train_one_output_check(TrainModel *m, int k, RtError *err) {
    const RtNode *n = train_node(m, k);
    for (int o = 1; o < n->n_out; o++)
        if (n->out[o] >= 0 && ir_value_uses(m->g, n->out[o]) + ir_value_is_output(m->g, n->out[o]) > 0)
            return train_node_fail(m, k, err, "output %d is not supported in training", o);
    if (n->op == RT_OP_DROPOUT && n->n_in > 2 && n->in[2] >= 0)
        return train_node_fail(m, k, err, "training_mode input: dropout is not trained (inference form only)");
    return RT_OK;
}

/* ---- unary ---- */
/* Clip's bounds: inputs 1 and 2 (opset >= 11, absent = unbounded) or attributes (before). */
static void clip_bounds(TrainModel *m, int k, float *lo, float *hi) {
    const RtNode *n = train_node(m, k);
    TrainTensor *a = train_in(m, k, 1), *b = train_in(m, k, 2);
    *lo = n->opset >= 11 || !n->opset ? -INFINITY : rt_attr_float(n, "min", -INFINITY);
    *hi = n->opset >= 11 || !n->opset ? INFINITY : rt_attr_float(n, "max", INFINITY);
    if (a && a->x) *lo = a->x[0];
    if (b && b->x) *hi = b->x[0];
}

int train_unary_fwd(TrainModel *m, int k, RtError *err) {
    TrainTensor *X = train_in(m, k, 0);
    if (train_out_shape(m, k, 0, X->rank, X->dims, err) != RT_OK) return RT_ERR;
    const RtNode *n = train_node(m, k);
    float *y = train_out(m, k, 0)->x;
    const float *x = X->x;
    int64_t N = train_tensor_numel(X);
    float alpha = rt_attr_float(n, "alpha", 0.01f);
    switch (n->op) {
    case RT_OP_RELU:
        for (int64_t i = 0; i < N; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case RT_OP_LEAKY_RELU:
        for (int64_t i = 0; i < N; i++) y[i] = x[i] >= 0.0f ? x[i] : alpha * x[i];
        break;
    case RT_OP_SIGMOID:
        for (int64_t i = 0; i < N; i++)
            y[i] = x[i] >= 0 ? 1.0f / (1.0f + expf(-x[i])) : expf(x[i]) / (1.0f + expf(x[i]));
        break;
    case RT_OP_TANH:
        for (int64_t i = 0; i < N; i++) y[i] = tanhf(x[i]);
        break;
    case RT_OP_CLIP: {
        float lo, hi;
        clip_bounds(m, k, &lo, &hi);
        for (int64_t i = 0; i < N; i++) y[i] = x[i] < lo ? lo : x[i] > hi ? hi : x[i];
        break;
    }
    default: /* Identity, Dropout */
        memcpy(y, x, sizeof(float) * (size_t)N);
    }
    return RT_OK;
}

int train_unary_bwd(TrainModel *m, int k, RtError *err) {
    (void)err;
    const RtNode *n = train_node(m, k);
    TrainTensor *X = train_in(m, k, 0), *Y = train_out(m, k, 0);
    float *dx = train_in_grad(m, k, 0);
    const float *x = X->x, *y = Y->x, *dy = Y->dx;
    int64_t N = train_tensor_numel(X);
    float alpha = rt_attr_float(n, "alpha", 0.01f);
    switch (n->op) {
    case RT_OP_RELU:
        for (int64_t i = 0; i < N; i++) dx[i] += x[i] > 0.0f ? dy[i] : 0.0f;
        break;
    case RT_OP_LEAKY_RELU:
        for (int64_t i = 0; i < N; i++) dx[i] += x[i] >= 0.0f ? dy[i] : alpha * dy[i];
        break;
    case RT_OP_SIGMOID:
        for (int64_t i = 0; i < N; i++) dx[i] += dy[i] * y[i] * (1.0f - y[i]);
        break;
    case RT_OP_TANH:
        for (int64_t i = 0; i < N; i++) dx[i] += dy[i] * (1.0f - y[i] * y[i]);
        break;
    case RT_OP_CLIP: {
        float lo, hi;
        clip_bounds(m, k, &lo, &hi);
        for (int64_t i = 0; i < N; i++) dx[i] += x[i] >= lo && x[i] <= hi ? dy[i] : 0.0f;
        break;
    }
    default:
        for (int64_t i = 0; i < N; i++) dx[i] += dy[i];
    }
    return RT_OK;
}

/* ---- binary with broadcasting ---- */
int train_broadcast(const TrainTensor *a, const TrainTensor *b, int *rank, int64_t *dims, int64_t *sa, int64_t *sb) {
    int r = a->rank > b->rank ? a->rank : b->rank;
    int64_t ta = 1, tb = 1;
    for (int i = r - 1; i >= 0; i--) {
        int ia = i - (r - a->rank), ib = i - (r - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1) return RT_ERR;
        dims[i] = da == 1 ? db : da;
        sa[i] = da == 1 ? 0 : ta, sb[i] = db == 1 ? 0 : tb;
        ta *= da, tb *= db;
    }
    *rank = r;
    return RT_OK;
}

/* Calls f(i, ia, ib) for every output index i with the inputs' offsets. */
#define BCAST_LOOP(body)                                                              \
    do {                                                                              \
        int64_t idx[RT_MAX_RANK] = {0}, ia = 0, ib = 0;                               \
        for (int64_t i = 0; i < total; i++) {                                         \
            body;                                                                     \
            for (int d = rank - 1; d >= 0; d--) {                                     \
                ia += sa[d], ib += sb[d];                                             \
                if (++idx[d] < dims[d]) break;                                        \
                ia -= sa[d] * dims[d], ib -= sb[d] * dims[d], idx[d] = 0;             \
            }                                                                         \
        }                                                                             \
    } while (0)

static int binary_dims(TrainModel *m, int k, int *rank, int64_t *dims, int64_t *sa, int64_t *sb, int64_t *total,
                       RtError *err) {
    TrainTensor *A = train_in(m, k, 0), *B = train_in(m, k, 1);
    if (train_broadcast(A, B, rank, dims, sa, sb) != RT_OK)
        return train_node_fail(m, k, err, "inputs do not broadcast together");
    *total = 1;
    for (int d = 0; d < *rank; d++) *total *= dims[d];
    return RT_OK;
}

int train_binary_fwd(TrainModel *m, int k, RtError *err) {
    int rank;
    int64_t dims[RT_MAX_RANK], sa[RT_MAX_RANK], sb[RT_MAX_RANK], total;
    if (binary_dims(m, k, &rank, dims, sa, sb, &total, err) != RT_OK ||
        train_out_shape(m, k, 0, rank, dims, err) != RT_OK)
        return RT_ERR;
    const float *a = train_in(m, k, 0)->x, *b = train_in(m, k, 1)->x;
    float *y = train_out(m, k, 0)->x;
    switch (train_node(m, k)->op) {
    case RT_OP_ADD: BCAST_LOOP(y[i] = a[ia] + b[ib]); break;
    case RT_OP_SUB: BCAST_LOOP(y[i] = a[ia] - b[ib]); break;
    default: BCAST_LOOP(y[i] = a[ia] * b[ib]);
    }
    return RT_OK;
}

int train_binary_bwd(TrainModel *m, int k, RtError *err) {
    int rank;
    int64_t dims[RT_MAX_RANK], sa[RT_MAX_RANK], sb[RT_MAX_RANK], total;
    if (binary_dims(m, k, &rank, dims, sa, sb, &total, err) != RT_OK) return RT_ERR;
    const float *a = train_in(m, k, 0)->x, *b = train_in(m, k, 1)->x, *dy = train_out(m, k, 0)->dx;
    float *da = train_in_grad(m, k, 0), *db = train_in_grad(m, k, 1);
    /* a value read as both inputs (x * x) gets both terms: each loop adds its own */
    switch (train_node(m, k)->op) {
    case RT_OP_ADD:
        if (da) BCAST_LOOP(da[ia] += dy[i]);
        if (db) BCAST_LOOP(db[ib] += dy[i]);
        break;
    case RT_OP_SUB:
        if (da) BCAST_LOOP(da[ia] += dy[i]);
        if (db) BCAST_LOOP(db[ib] -= dy[i]);
        break;
    default:
        if (da) BCAST_LOOP(da[ia] += dy[i] * b[ib]);
        if (db) BCAST_LOOP(db[ib] += dy[i] * a[ia]);
    }
    return RT_OK;
}

/* ---- Flatten, Reshape ---- */
static int reshape_dims(TrainModel *m, int k, int *rank, int64_t *dims, RtError *err) {
    const RtNode *n = train_node(m, k);
    TrainTensor *X = train_in(m, k, 0);
    int64_t total = train_tensor_numel(X);
    if (n->op == RT_OP_FLATTEN) {
        int64_t axis = rt_attr_int(n, "axis", 1);
        if (axis < 0) axis += X->rank;
        if (axis < 0 || axis > X->rank) return train_node_fail(m, k, err, "axis out of range");
        dims[0] = 1;
        for (int d = 0; d < axis; d++) dims[0] *= X->dims[d];
        dims[1] = dims[0] ? total / dims[0] : 0;
        if (dims[0] == 0) {
            dims[1] = 1;
            for (int d = (int)axis; d < X->rank; d++) dims[1] *= X->dims[d];
        }
        *rank = 2;
        return RT_OK;
    }
    RtTensor s;
    if (n->n_in < 2 || n->in[1] < 0) return train_node_fail(m, k, err, "the shape input is missing");
    train_value_view(m, n->in[1], &s);
    if (s.dtype != RT_I64 || s.rank != 1 || s.dims[0] > RT_MAX_RANK || !s.data)
        return train_node_fail(m, k, err, "the shape input must be an int64 vector of at most %d dims", RT_MAX_RANK);
    const int64_t *sh = s.data;
    int allowzero = rt_attr_int(n, "allowzero", 0) != 0, infer = -1;
    int64_t known = 1;
    *rank = (int)s.dims[0];
    for (int d = 0; d < *rank; d++) {
        dims[d] = sh[d] == 0 && !allowzero ? (d < X->rank ? X->dims[d] : 0) : sh[d];
        if (sh[d] == -1) {
            if (infer >= 0) return train_node_fail(m, k, err, "more than one -1 in the shape");
            infer = d;
        } else if (dims[d] < 0) {
            return train_node_fail(m, k, err, "negative dim %lld in the shape", (long long)dims[d]);
        } else {
            known *= dims[d];
        }
    }
    if (infer >= 0) dims[infer] = known ? total / known : 0;
    int64_t got = 1;
    for (int d = 0; d < *rank; d++) got *= dims[d];
    if (got != total) return train_node_fail(m, k, err, "cannot reshape %lld elements to that shape", (long long)total);
    return RT_OK;
}

int train_reshape_fwd(TrainModel *m, int k, RtError *err) {
    int rank = 0;
    int64_t dims[RT_MAX_RANK];
    if (reshape_dims(m, k, &rank, dims, err) != RT_OK || train_out_shape(m, k, 0, rank, dims, err) != RT_OK)
        return RT_ERR;
    TrainTensor *X = train_in(m, k, 0);
    memcpy(train_out(m, k, 0)->x, X->x, sizeof(float) * (size_t)train_tensor_numel(X));
    return RT_OK;
}

int train_reshape_bwd(TrainModel *m, int k, RtError *err) {
    (void)err;
    TrainTensor *X = train_in(m, k, 0);
    float *dx = train_in_grad(m, k, 0);
    const float *dy = train_out(m, k, 0)->dx;
    int64_t N = train_tensor_numel(X);
    for (int64_t i = 0; i < N; i++) dx[i] += dy[i];
    return RT_OK;
}
