/*
 * train_ops_norm.c — BatchNormalization, Softmax / LogSoftmax, LayerNormalization.
 *
 * BatchNormalization over X[N, C, ...] (S spatial positions per channel):
 *   training: mean_c, var_c (biased) over N*S values; xhat = (x - mean) / sqrt(var + eps);
 *     y = scale xhat + B; the running statistics (inputs 3, 4: graph constants, updated in
 *     place) become r * momentum + batch * (1 - momentum) as the ONNX spec's training mode
 *     (population variance) says. Backward, with g = dy scale:
 *     dx = invstd (g - mean(g) - xhat mean(g xhat)), dscale = sum dy xhat, dB = sum dy.
 *   evaluation: the running statistics; dx = dy scale invstd.
 * Softmax / LogSoftmax along one axis (opset >= 13), or over the flattened dims from `axis`
 *   on (opset < 13): y = exp(x - max) / sum; dx = y (dy - sum(dy y)); for LogSoftmax
 *   dx = dy - exp(y) sum(dy).
 * LayerNormalization over the dims from `axis` on (D values per row): xhat as above per row,
 *   y = scale xhat + B (scale and B of D values, or one); dx = invstd (g - mean(g) -
 *   xhat mean(g xhat)) with g = dy scale; dscale = sum over rows of dy xhat, dB = sum dy.
 */
#include <math.h>
#include <string.h>

#include "train_ops.h"

/* ---- BatchNormalization ---- */
typedef struct {
    int64_t N, C, S;
    float eps, momentum;
} BnDims;

static int bn_dims(TrainModel *m, int k, BnDims *d, RtError *err) {
    const RtNode *n = train_node(m, k);
    TrainTensor *X = train_in(m, k, 0);
    if (X->rank < 2) return train_node_fail(m, k, err, "X must be [N, C, ...]");
    if (rt_attr_int(n, "spatial", 1) != 1) return train_node_fail(m, k, err, "spatial 0 is not supported");
    d->N = X->dims[0], d->C = X->dims[1], d->S = 1;
    for (int i = 2; i < X->rank; i++) d->S *= X->dims[i];
    for (int i = 1; i < 5; i++) {
        TrainTensor *p = train_in(m, k, i);
        if (!p || train_tensor_numel(p) != d->C)
            return train_node_fail(m, k, err, "input %d must hold %lld values (one per channel)", i, (long long)d->C);
        if ((i == 3 || i == 4) && !p->is_const)
            return train_node_fail(m, k, err, "the running mean and variance must be initializers");
    }
    d->eps = rt_attr_float(n, "epsilon", 1e-5f), d->momentum = rt_attr_float(n, "momentum", 0.9f);
    return train_out_shape(m, k, 0, X->rank, X->dims, err);
}

int train_batchnorm_fwd(TrainModel *m, int k, RtError *err) {
    BnDims d;
    if (bn_dims(m, k, &d, err) != RT_OK) return RT_ERR;
    float *st = train_node_state(m, k, sizeof(float) * 2 * (size_t)d.C, err); /* mean[C], invstd[C] */
    if (!st) return RT_ERR;
    const float *x = train_in(m, k, 0)->x, *sc = train_in(m, k, 1)->x, *b = train_in(m, k, 2)->x;
    float *rm = train_in(m, k, 3)->x, *rv = train_in(m, k, 4)->x, *y = train_out(m, k, 0)->x;
    int64_t cnt = d.N * d.S;
    for (int64_t c = 0; c < d.C; c++) {
        double mean = rm[c], var = rv[c];
        if (m->training && cnt > 0) {
            double s = 0, s2 = 0;
            for (int64_t n = 0; n < d.N; n++)
                for (int64_t i = 0; i < d.S; i++) s += x[(n * d.C + c) * d.S + i];
            mean = s / (double)cnt;
            for (int64_t n = 0; n < d.N; n++)
                for (int64_t i = 0; i < d.S; i++) {
                    double t = x[(n * d.C + c) * d.S + i] - mean;
                    s2 += t * t;
                }
            var = s2 / (double)cnt;
            rm[c] = (float)(rm[c] * d.momentum + mean * (1.0 - d.momentum));
            rv[c] = (float)(rv[c] * d.momentum + var * (1.0 - d.momentum));
        }
        float mu = (float)mean, inv = (float)(1.0 / sqrt(var + d.eps));
        st[c] = mu, st[d.C + c] = inv;
        for (int64_t n = 0; n < d.N; n++)
            for (int64_t i = 0; i < d.S; i++) {
                int64_t o = (n * d.C + c) * d.S + i;
                y[o] = sc[c] * (x[o] - mu) * inv + b[c];
            }
    }
    return RT_OK;
}

int train_batchnorm_bwd(TrainModel *m, int k, RtError *err) {
    BnDims d;
    if (bn_dims(m, k, &d, err) != RT_OK) return RT_ERR;
    const float *st = m->state[k], *x = train_in(m, k, 0)->x, *sc = train_in(m, k, 1)->x;
    const float *dy = train_out(m, k, 0)->dx;
    float *dx = train_in_grad(m, k, 0), *ds = train_in_grad(m, k, 1), *db = train_in_grad(m, k, 2);
    int64_t cnt = d.N * d.S;
    for (int64_t c = 0; c < d.C; c++) {
        float mu = st[c], inv = st[d.C + c];
        double sdy = 0, sdyx = 0;
        for (int64_t n = 0; n < d.N; n++)
            for (int64_t i = 0; i < d.S; i++) {
                int64_t o = (n * d.C + c) * d.S + i;
                sdy += dy[o], sdyx += dy[o] * (x[o] - mu) * inv;
            }
        if (ds) ds[c] += (float)sdyx;
        if (db) db[c] += (float)sdy;
        if (!dx || cnt == 0) continue;
        float mg = m->training ? (float)(sdy / (double)cnt) : 0.0f, mgx = m->training ? (float)(sdyx / (double)cnt) : 0.0f;
        for (int64_t n = 0; n < d.N; n++)
            for (int64_t i = 0; i < d.S; i++) {
                int64_t o = (n * d.C + c) * d.S + i;
                float xh = (x[o] - mu) * inv;
                dx[o] += sc[c] * inv * (dy[o] - mg - xh * mgx);
            }
    }
    return RT_OK;
}

/* ---- Softmax, LogSoftmax ---- */
static int softmax_dims(TrainModel *m, int k, int64_t *outer, int64_t *len, int64_t *inner, RtError *err) {
    const RtNode *n = train_node(m, k);
    TrainTensor *X = train_in(m, k, 0);
    int old = n->opset > 0 && n->opset < 13;
    int64_t axis = rt_attr_int(n, "axis", old ? 1 : -1);
    if (axis < 0) axis += X->rank;
    if (axis < 0 || axis >= (X->rank ? X->rank : 1)) return train_node_fail(m, k, err, "axis out of range");
    *outer = 1, *len = 1, *inner = 1;
    for (int d = 0; d < X->rank; d++) {
        if (d < axis) *outer *= X->dims[d];
        else if (d == axis || old) *len *= X->dims[d];
        else *inner *= X->dims[d];
    }
    return train_out_shape(m, k, 0, X->rank, X->dims, err);
}

int train_softmax_fwd(TrainModel *m, int k, RtError *err) {
    int64_t outer, len, inner;
    if (softmax_dims(m, k, &outer, &len, &inner, err) != RT_OK) return RT_ERR;
    int logsm = train_node(m, k)->op == RT_OP_LOG_SOFTMAX;
    const float *x = train_in(m, k, 0)->x;
    float *y = train_out(m, k, 0)->x;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const float *xr = x + o * len * inner + i;
            float *yr = y + o * len * inner + i;
            float mx = -INFINITY;
            for (int64_t j = 0; j < len; j++) mx = xr[j * inner] > mx ? xr[j * inner] : mx;
            double s = 0;
            for (int64_t j = 0; j < len; j++) s += exp((double)xr[j * inner] - mx);
            for (int64_t j = 0; j < len; j++)
                yr[j * inner] = logsm ? (float)((double)xr[j * inner] - mx - log(s))
                                      : (float)(exp((double)xr[j * inner] - mx) / s);
        }
    return RT_OK;
}

int train_softmax_bwd(TrainModel *m, int k, RtError *err) {
    int64_t outer, len, inner;
    if (softmax_dims(m, k, &outer, &len, &inner, err) != RT_OK) return RT_ERR;
    int logsm = train_node(m, k)->op == RT_OP_LOG_SOFTMAX;
    const float *y = train_out(m, k, 0)->x, *dy = train_out(m, k, 0)->dx;
    float *dx = train_in_grad(m, k, 0);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t base = o * len * inner + i;
            double s = 0;
            for (int64_t j = 0; j < len; j++) s += logsm ? dy[base + j * inner] : dy[base + j * inner] * y[base + j * inner];
            for (int64_t j = 0; j < len; j++) {
                int64_t e = base + j * inner;
                dx[e] += logsm ? (float)(dy[e] - exp(y[e]) * s) : (float)(y[e] * (dy[e] - s));
            }
        }
    return RT_OK;
}

/* ---- LayerNormalization ---- */
static int layernorm_dims(TrainModel *m, int k, int64_t *rows, int64_t *D, RtError *err) {
    const RtNode *n = train_node(m, k);
    TrainTensor *X = train_in(m, k, 0), *S = train_in(m, k, 1), *B = train_in(m, k, 2);
    int64_t axis = rt_attr_int(n, "axis", -1);
    if (axis < 0) axis += X->rank;
    if (axis < 0 || axis >= X->rank) return train_node_fail(m, k, err, "axis out of range");
    *rows = 1, *D = 1;
    for (int d = 0; d < X->rank; d++) *(d < axis ? rows : D) *= X->dims[d];
    int64_t ns = S ? train_tensor_numel(S) : 0, nb = B ? train_tensor_numel(B) : 1;
    if ((ns != *D && ns != 1) || (nb != *D && nb != 1))
        return train_node_fail(m, k, err, "Scale and B must hold %lld values (or one)", (long long)*D);
    return train_out_shape(m, k, 0, X->rank, X->dims, err);
}

int train_layernorm_fwd(TrainModel *m, int k, RtError *err) {
    int64_t rows, D;
    if (layernorm_dims(m, k, &rows, &D, err) != RT_OK) return RT_ERR;
    float *st = train_node_state(m, k, sizeof(float) * 2 * (size_t)rows, err); /* mean[rows], invstd[rows] */
    if (!st) return RT_ERR;
    TrainTensor *S = train_in(m, k, 1), *B = train_in(m, k, 2);
    int ss = train_tensor_numel(S) > 1, sb = B && train_tensor_numel(B) > 1;
    float eps = rt_attr_float(train_node(m, k), "epsilon", 1e-5f);
    const float *x = train_in(m, k, 0)->x;
    float *y = train_out(m, k, 0)->x;
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * D;
        double s = 0, s2 = 0;
        for (int64_t j = 0; j < D; j++) s += xr[j];
        double mean = D ? s / (double)D : 0;
        for (int64_t j = 0; j < D; j++) s2 += (xr[j] - mean) * (xr[j] - mean);
        float mu = (float)mean, inv = (float)(1.0 / sqrt((D ? s2 / (double)D : 0) + eps));
        st[r] = mu, st[rows + r] = inv;
        for (int64_t j = 0; j < D; j++)
            y[r * D + j] = (xr[j] - mu) * inv * S->x[ss ? j : 0] + (B ? B->x[sb ? j : 0] : 0.0f);
    }
    return RT_OK;
}

int train_layernorm_bwd(TrainModel *m, int k, RtError *err) {
    int64_t rows, D;
    if (layernorm_dims(m, k, &rows, &D, err) != RT_OK) return RT_ERR;
    const float *st = m->state[k], *x = train_in(m, k, 0)->x, *dy = train_out(m, k, 0)->dx;
    TrainTensor *S = train_in(m, k, 1), *B = train_in(m, k, 2);
    int ss = train_tensor_numel(S) > 1, sb = B && train_tensor_numel(B) > 1;
    float *dx = train_in_grad(m, k, 0), *ds = train_in_grad(m, k, 1), *db = train_in_grad(m, k, 2);
    for (int64_t r = 0; r < rows; r++) {
        float mu = st[r], inv = st[rows + r];
        double mg = 0, mgx = 0;
        for (int64_t j = 0; j < D; j++) {
            float xh = (x[r * D + j] - mu) * inv, g = dy[r * D + j] * S->x[ss ? j : 0];
            mg += g, mgx += g * xh;
            if (ds) ds[ss ? j : 0] += dy[r * D + j] * xh;
            if (db) db[sb ? j : 0] += dy[r * D + j];
        }
        if (!dx || D == 0) continue;
        mg /= (double)D, mgx /= (double)D;
        for (int64_t j = 0; j < D; j++) {
            float xh = (x[r * D + j] - mu) * inv, g = dy[r * D + j] * S->x[ss ? j : 0];
            dx[r * D + j] += inv * (g - (float)mg - xh * (float)mgx);
        }
    }
    return RT_OK;
}
