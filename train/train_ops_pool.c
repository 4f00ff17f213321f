/*
 * train_ops_pool.c — window geometry (shared with Conv) and the pools: MaxPool, AveragePool,
 * GlobalAveragePool, over 1-D and 2-D inputs (N, C, [H,] W).
 *
 * Geometry (ONNX): out = floor((in + pad0 + pad1 - ((k - 1) dil + 1)) / stride) + 1, ceil with
 * ceil_mode (a last window that would start inside the end padding is dropped, as onnxruntime
 * and PyTorch do); auto_pad VALID = no padding, SAME_UPPER / SAME_LOWER = out ceil(in / stride)
 * with the odd pad at the end / the beginning.
 * MaxPool keeps each output's argmax (index into the input plane; -1 for a window wholly in
 * the padding, whose output is then -FLT_MAX and gets no gradient) and backward routes dY
 * there. AveragePool divides by the window's elements inside the input, or, with
 * count_include_pad, inside the padded input; backward spreads dY / count over the window.
 * GlobalAveragePool: the mean over every spatial position, backward dY / (H W) to each.
 */
#include <float.h>
#include <string.h>

#include "train_ops.h"

static int win_axis(TrainModel *m, int k, const char *auto_pad, int64_t in, int64_t kk, int64_t stride, int64_t dil,
                    int64_t p0, int64_t p1, int ceil_mode, TrainWin *w, RtError *err) {
    if (kk < 1 || stride < 1 || dil < 1 || p0 < 0 || p1 < 0)
        return train_node_fail(m, k, err, "kernel, strides and dilations must be >= 1 and pads >= 0");
    int64_t span = (kk - 1) * dil + 1;
    w->in = in, w->k = kk, w->stride = stride, w->dil = dil;
    if (strcmp(auto_pad, "SAME_UPPER") == 0 || strcmp(auto_pad, "SAME_LOWER") == 0) {
        w->out = (in + stride - 1) / stride;
        int64_t total = (w->out - 1) * stride + span - in;
        if (total < 0) total = 0;
        w->pad0 = auto_pad[5] == 'U' ? total / 2 : total - total / 2;
        w->pad1 = total - w->pad0;
        return RT_OK;
    }
    if (strcmp(auto_pad, "VALID") == 0) p0 = p1 = 0;
    else if (strcmp(auto_pad, "NOTSET") != 0) return train_node_fail(m, k, err, "auto_pad '%s' is not valid", auto_pad);
    w->pad0 = p0, w->pad1 = p1;
    int64_t room = in + p0 + p1 - span;
    if (room < 0) return train_node_fail(m, k, err, "the kernel (%lld) is larger than the padded input (%lld)",
                                         (long long)span, (long long)(in + p0 + p1));
    w->out = (ceil_mode ? (room + stride - 1) / stride : room / stride) + 1;
    if (ceil_mode && (w->out - 1) * stride >= in + p0) w->out--;
    return RT_OK;
}

int train_window(TrainModel *m, int k, const int64_t *in_hw, const int64_t *k_hw, int ceil_mode, TrainWin *win,
                 RtError *err) {
    const RtNode *n = train_node(m, k);
    int s = in_hw[0] == 1 && k_hw[0] == 1 && m->t[n->in[0]].rank == 3 ? 1 : 2; /* spatial axes */
    const int64_t *strides = NULL, *pads = NULL, *dils = NULL;
    int ns = rt_attr_ints(n, "strides", &strides), np = rt_attr_ints(n, "pads", &pads),
        nd = rt_attr_ints(n, "dilations", &dils);
    if ((strides && ns != s) || (pads && np != 2 * s) || (dils && nd != s))
        return train_node_fail(m, k, err, "strides, pads or dilations do not match %d spatial axes", s);
    const char *ap = rt_attr_str(n, "auto_pad", "NOTSET");
    win[0] = (TrainWin){1, 1, 1, 1, 0, 0, 1};
    for (int a = 0; a < s; a++) {
        int wi = a + 2 - s;
        if (win_axis(m, k, ap, in_hw[wi], k_hw[wi], strides ? strides[a] : 1, dils ? dils[a] : 1, pads ? pads[a] : 0,
                     pads ? pads[a + s] : 0, ceil_mode, &win[wi], err) != RT_OK)
            return RT_ERR;
    }
    return RT_OK;
}

int train_pool_check(TrainModel *m, int k, RtError *err) {
    const RtNode *n = train_node(m, k);
    if (n->n_out > 1 && n->out[1] >= 0) return train_node_fail(m, k, err, "the Indices output is not supported in training");
    if (n->op == RT_OP_GLOBAL_AVERAGE_POOL) return RT_OK;
    const int64_t *ks = NULL;
    int nk = rt_attr_ints(n, "kernel_shape", &ks);
    if (!ks || (nk != 1 && nk != 2)) return train_node_fail(m, k, err, "kernel_shape must give 1 or 2 spatial dims");
    if (n->op == RT_OP_MAX_POOL && rt_attr_int(n, "storage_order", 0) != 0)
        return train_node_fail(m, k, err, "storage_order 1 only affects Indices, which training does not produce");
    return RT_OK;
}

typedef struct {
    int64_t NC, HW, OHW;
    TrainWin w[2];
} PoolDims;

static int pool_dims(TrainModel *m, int k, PoolDims *d, RtError *err) {
    const RtNode *n = train_node(m, k);
    TrainTensor *X = train_in(m, k, 0);
    const int64_t *ks = NULL;
    int nk = rt_attr_ints(n, "kernel_shape", &ks);
    if (X->rank != nk + 2) return train_node_fail(m, k, err, "input rank %d does not match kernel_shape", X->rank);
    int64_t in_hw[2] = {1, X->dims[2]}, k_hw[2] = {1, ks[0]};
    if (nk == 2) in_hw[0] = X->dims[2], in_hw[1] = X->dims[3], k_hw[0] = ks[0], k_hw[1] = ks[1];
    if (train_window(m, k, in_hw, k_hw, rt_attr_int(n, "ceil_mode", 0) != 0, d->w, err) != RT_OK) return RT_ERR;
    d->NC = X->dims[0] * X->dims[1];
    d->HW = in_hw[0] * in_hw[1];
    d->OHW = d->w[0].out * d->w[1].out;
    int64_t dims[4] = {X->dims[0], X->dims[1], d->w[0].out, d->w[1].out};
    if (nk == 1) dims[2] = d->w[1].out;
    return train_out_shape(m, k, 0, X->rank, dims, err);
}

int train_maxpool_fwd(TrainModel *m, int k, RtError *err) {
    PoolDims d;
    if (pool_dims(m, k, &d, err) != RT_OK) return RT_ERR;
    int32_t *arg = train_node_state(m, k, sizeof(int32_t) * (size_t)(d.NC * d.OHW), err);
    if (!arg) return RT_ERR;
    const TrainWin *h = &d.w[0], *w = &d.w[1];
    TrainTensor *X = train_in(m, k, 0), *Y = train_out(m, k, 0);
    for (int64_t c = 0; c < d.NC; c++)
        for (int64_t oy = 0; oy < h->out; oy++)
            for (int64_t ox = 0; ox < w->out; ox++) {
                float best = -FLT_MAX;
                int32_t bi = -1;
                for (int64_t i = 0; i < h->k; i++) {
                    int64_t y = oy * h->stride - h->pad0 + i * h->dil;
                    if (y < 0 || y >= h->in) continue;
                    for (int64_t j = 0; j < w->k; j++) {
                        int64_t x = ox * w->stride - w->pad0 + j * w->dil;
                        if (x < 0 || x >= w->in) continue;
                        float v = X->x[c * d.HW + y * w->in + x];
                        if (bi < 0 || v > best) best = v, bi = (int32_t)(y * w->in + x);
                    }
                }
                int64_t o = c * d.OHW + oy * w->out + ox;
                Y->x[o] = bi < 0 ? -FLT_MAX : best;
                arg[o] = bi;
            }
    return RT_OK;
}

int train_maxpool_bwd(TrainModel *m, int k, RtError *err) {
    PoolDims d;
    if (pool_dims(m, k, &d, err) != RT_OK) return RT_ERR;
    const int32_t *arg = m->state[k];
    float *dX = train_in_grad(m, k, 0);
    const float *dY = train_out(m, k, 0)->dx;
    for (int64_t c = 0; c < d.NC; c++)
        for (int64_t o = 0; o < d.OHW; o++)
            if (arg[c * d.OHW + o] >= 0) dX[c * d.HW + arg[c * d.OHW + o]] += dY[c * d.OHW + o];
    return RT_OK;
}

/* Elements averaged by window (oy, ox). */
static int64_t avg_count(const TrainWin *h, const TrainWin *w, int64_t oy, int64_t ox, int include_pad) {
    int64_t n = 0;
    for (int64_t i = 0; i < h->k; i++) {
        int64_t y = oy * h->stride - h->pad0 + i * h->dil;
        int64_t lo = include_pad ? -h->pad0 : 0, hi = include_pad ? h->in + h->pad1 : h->in;
        if (y < lo || y >= hi) continue;
        for (int64_t j = 0; j < w->k; j++) {
            int64_t x = ox * w->stride - w->pad0 + j * w->dil;
            int64_t lx = include_pad ? -w->pad0 : 0, hx = include_pad ? w->in + w->pad1 : w->in;
            n += x >= lx && x < hx;
        }
    }
    return n;
}

/* forward (dir 0): Y = mean of the window; backward (dir 1): dX += dY / count over the window */
static int avgpool_run(TrainModel *m, int k, int dir, RtError *err) {
    PoolDims d;
    if (pool_dims(m, k, &d, err) != RT_OK) return RT_ERR;
    int include = rt_attr_int(train_node(m, k), "count_include_pad", 0) != 0;
    const TrainWin *h = &d.w[0], *w = &d.w[1];
    TrainTensor *X = train_in(m, k, 0), *Y = train_out(m, k, 0);
    float *dX = dir ? train_in_grad(m, k, 0) : NULL;
    for (int64_t c = 0; c < d.NC; c++)
        for (int64_t oy = 0; oy < h->out; oy++)
            for (int64_t ox = 0; ox < w->out; ox++) {
                int64_t cnt = avg_count(h, w, oy, ox, include), o = c * d.OHW + oy * w->out + ox;
                float s = 0.0f, g = dir && cnt ? Y->dx[o] / (float)cnt : 0.0f;
                for (int64_t i = 0; i < h->k; i++) {
                    int64_t y = oy * h->stride - h->pad0 + i * h->dil;
                    if (y < 0 || y >= h->in) continue;
                    for (int64_t j = 0; j < w->k; j++) {
                        int64_t x = ox * w->stride - w->pad0 + j * w->dil;
                        if (x < 0 || x >= w->in) continue;
                        if (dir) dX[c * d.HW + y * w->in + x] += g;
                        else s += X->x[c * d.HW + y * w->in + x];
                    }
                }
                if (!dir) Y->x[o] = cnt ? s / (float)cnt : 0.0f;
            }
    return RT_OK;
}

int train_avgpool_fwd(TrainModel *m, int k, RtError *err) { return avgpool_run(m, k, 0, err); }
int train_avgpool_bwd(TrainModel *m, int k, RtError *err) { return avgpool_run(m, k, 1, err); }

int train_gap_fwd(TrainModel *m, int k, RtError *err) {
    TrainTensor *X = train_in(m, k, 0);
    if (X->rank < 3) return train_node_fail(m, k, err, "input must have spatial dims (rank >= 3)");
    int64_t dims[RT_MAX_RANK], S = 1;
    for (int i = 0; i < X->rank; i++) dims[i] = i < 2 ? X->dims[i] : 1, S *= i < 2 ? 1 : X->dims[i];
    if (train_out_shape(m, k, 0, X->rank, dims, err) != RT_OK) return RT_ERR;
    TrainTensor *Y = train_out(m, k, 0);
    for (int64_t c = 0; c < X->dims[0] * X->dims[1]; c++) {
        double s = 0;
        for (int64_t i = 0; i < S; i++) s += X->x[c * S + i];
        Y->x[c] = S ? (float)(s / (double)S) : 0.0f;
    }
    return RT_OK;
}

int train_gap_bwd(TrainModel *m, int k, RtError *err) {
    (void)err;
    TrainTensor *X = train_in(m, k, 0), *Y = train_out(m, k, 0);
    float *dX = train_in_grad(m, k, 0);
    int64_t NC = X->dims[0] * X->dims[1], S = NC > 0 ? train_tensor_numel(X) / NC : 0;
    for (int64_t c = 0; c < NC; c++)
        for (int64_t i = 0; i < S; i++) dX[c * S + i] += Y->dx[c] / (float)S;
    return RT_OK;
}
