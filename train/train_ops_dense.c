/*
 * train_ops_dense.c — forward and backward of the weight-bearing ops: Gemm, MatMul, Conv.
 *
 * Gemm: Y[M,N] = alpha op(A)[M,K] op(B)[K,N] + beta C (C broadcast to [M,N]). Backward:
 *   d op(A) = alpha dY op(B)^T, d op(B) = alpha op(A)^T dY, dC = beta dY summed over the
 *   broadcast axes; a transposed operand gets the transposed product, so every gradient is one
 *   rt_sgemm call accumulating (beta 1) into the input's dx.
 * MatMul (numpy semantics: 1-D operands, broadcast batch dims): one GEMM per output batch, or
 *   one for all of A's rows when B is 2-D; dA = dY B^T, dB = A^T dY, each summed over the
 *   batches that broadcast the operand.
 * Conv (1-D and 2-D, NCHW): per group, im2col of a chunk of ns samples side by side:
 *   col[Cg*kh*kw][ns*OH*OW] (zeros in the padding), Y_g[Mg][ns*OH*OW] = W_g[Mg][Cg*kh*kw] col
 *   + bias, one GEMM per chunk (a mini-batch of small images is one chunk). Backward:
 *   dW_g += dY_g col^T, dcol = W_g^T dY_g scattered back into dX by col2im, dB = dY summed
 *   over N, OH, OW.
 */
#include <string.h>

#include "../runtime/kernels/gemm.h"
#include "train_ops.h"

/* ---- Gemm ---- */
typedef struct {
    int ta, tb;
    int64_t M, N, K;
    float alpha, beta;
} GemmDims;

static int gemm_dims(TrainModel *m, int k, GemmDims *d, RtError *err) {
    const RtNode *n = train_node(m, k);
    TrainTensor *A = train_in(m, k, 0), *B = train_in(m, k, 1), *C = train_in(m, k, 2);
    if (!A || !B || A->rank != 2 || B->rank != 2) return train_node_fail(m, k, err, "A and B must be 2-D");
    d->ta = rt_attr_int(n, "transA", 0) != 0, d->tb = rt_attr_int(n, "transB", 0) != 0;
    d->alpha = rt_attr_float(n, "alpha", 1.0f), d->beta = rt_attr_float(n, "beta", 1.0f);
    d->M = A->dims[d->ta], d->K = A->dims[!d->ta];
    d->N = B->dims[!d->tb];
    if (B->dims[d->tb] != d->K)
        return train_node_fail(m, k, err, "inner dims differ (A gives K=%lld, B %lld)", (long long)d->K,
                               (long long)B->dims[d->tb]);
    if (C && C->rank > 2) return train_node_fail(m, k, err, "C has rank %d (at most 2)", C->rank);
    if (C && C->rank >= 1) {
        int64_t cm = C->rank == 2 ? C->dims[0] : 1, cn = C->dims[C->rank - 1];
        if ((cm != 1 && cm != d->M) || (cn != 1 && cn != d->N))
            return train_node_fail(m, k, err, "C does not broadcast to [%lld,%lld]", (long long)d->M, (long long)d->N);
    }
    return RT_OK;
}

/* Offset of C's element for Y[i][j] (C broadcast to [M,N]). */
static inline int64_t gemm_c_index(const TrainTensor *C, int64_t i, int64_t j) {
    if (C->rank == 0) return 0;
    int64_t cm = C->rank == 2 ? C->dims[0] : 1, cn = C->dims[C->rank - 1];
    return (cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j);
}

int train_gemm_fwd(TrainModel *m, int k, RtError *err) {
    GemmDims d;
    if (gemm_dims(m, k, &d, err) != RT_OK) return RT_ERR;
    int64_t dims[2] = {d.M, d.N};
    if (train_out_shape(m, k, 0, 2, dims, err) != RT_OK) return RT_ERR;
    TrainTensor *A = train_in(m, k, 0), *B = train_in(m, k, 1), *C = train_in(m, k, 2), *Y = train_out(m, k, 0);
    float beta = 0.0f;
    if (C && d.beta != 0.0f) {
        for (int64_t i = 0; i < d.M; i++)
            for (int64_t j = 0; j < d.N; j++) Y->x[i * d.N + j] = d.beta * C->x[gemm_c_index(C, i, j)];
        beta = 1.0f;
    }
    if (d.M && d.N)
        rt_sgemm(d.ta, d.tb, (int)d.M, (int)d.N, (int)d.K, d.alpha, A->x, (int)A->dims[1], B->x, (int)B->dims[1], beta,
                 Y->x, (int)d.N);
    return RT_OK;
}

int train_gemm_bwd(TrainModel *m, int k, RtError *err) {
    GemmDims d;
    if (gemm_dims(m, k, &d, err) != RT_OK) return RT_ERR;
    TrainTensor *A = train_in(m, k, 0), *B = train_in(m, k, 1), *C = train_in(m, k, 2), *Y = train_out(m, k, 0);
    float *dA = train_in_grad(m, k, 0), *dB = train_in_grad(m, k, 1), *dC = train_in_grad(m, k, 2);
    int M = (int)d.M, N = (int)d.N, K = (int)d.K, lda = (int)A->dims[1], ldb = (int)B->dims[1];
    if (dA && !d.ta) /* dA[M,K] += alpha dY op(B)^T */
        rt_sgemm(0, !d.tb, M, K, N, d.alpha, Y->dx, N, B->x, ldb, 1.0f, dA, lda);
    else if (dA) /* dA[K,M] += alpha op(B) dY^T */
        rt_sgemm(d.tb, 1, K, M, N, d.alpha, B->x, ldb, Y->dx, N, 1.0f, dA, lda);
    if (dB && !d.tb) /* dB[K,N] += alpha op(A)^T dY */
        rt_sgemm(!d.ta, 0, K, N, M, d.alpha, A->x, lda, Y->dx, N, 1.0f, dB, ldb);
    else if (dB) /* dB[N,K] += alpha dY^T op(A) */
        rt_sgemm(1, d.ta, N, K, M, d.alpha, Y->dx, N, A->x, lda, 1.0f, dB, ldb);
    if (dC)
        for (int64_t i = 0; i < d.M; i++)
            for (int64_t j = 0; j < d.N; j++) dC[gemm_c_index(C, i, j)] += d.beta * Y->dx[i * d.N + j];
    return RT_OK;
}

/* ---- MatMul ---- */
/* numpy matmul: a 1-D A is [1, K] and a 1-D B is [K, 1] (that axis then dropped from Y); batch
 * dims broadcast. B 2-D folds all of A's rows into one GEMM. */
typedef struct {
    int64_t M, K, N;
    int64_t nb;                        /* output batches */
    int brank;                         /* output batch rank */
    int64_t bdims[RT_MAX_RANK];        /* output batch dims */
    int64_t sa[RT_MAX_RANK], sb[RT_MAX_RANK]; /* A's and B's batch strides in matrices (0: broadcast) */
} MatDims;

static int matmul_dims(TrainModel *m, int k, MatDims *d, int *rank, int64_t *dims, RtError *err) {
    TrainTensor *A = train_in(m, k, 0), *B = train_in(m, k, 1);
    if (A->rank < 1 || B->rank < 1) return train_node_fail(m, k, err, "operands must have rank >= 1");
    int ra = A->rank, rb = B->rank;
    d->M = ra >= 2 ? A->dims[ra - 2] : 1, d->K = A->dims[ra - 1];
    d->N = rb >= 2 ? B->dims[rb - 1] : 1;
    if ((rb >= 2 ? B->dims[rb - 2] : B->dims[0]) != d->K)
        return train_node_fail(m, k, err, "inner dims differ (%lld and %lld)", (long long)d->K,
                               (long long)(rb >= 2 ? B->dims[rb - 2] : B->dims[0]));
    int ba = ra > 2 ? ra - 2 : 0, bb = rb > 2 ? rb - 2 : 0;
    d->brank = ba > bb ? ba : bb;
    d->nb = 1;
    int64_t ta = 1, tb = 1;
    for (int i = d->brank - 1; i >= 0; i--) {
        int ia = i - (d->brank - ba), ib = i - (d->brank - bb);
        int64_t da = ia >= 0 ? A->dims[ia] : 1, db = ib >= 0 ? B->dims[ib] : 1;
        if (da != db && da != 1 && db != 1) return train_node_fail(m, k, err, "batch dims do not broadcast");
        d->bdims[i] = da == 1 ? db : da;
        d->sa[i] = da == 1 ? 0 : ta, d->sb[i] = db == 1 ? 0 : tb;
        ta *= da, tb *= db, d->nb *= d->bdims[i];
    }
    *rank = 0;
    for (int i = 0; i < d->brank; i++) dims[(*rank)++] = d->bdims[i];
    if (ra >= 2) dims[(*rank)++] = d->M;
    if (rb >= 2) dims[(*rank)++] = d->N;
    /* B 2-D and A not broadcast against anything: A's rows are one [nb*M, K] matrix */
    if (rb <= 2 && ra >= 2) d->M *= d->nb, d->nb = 1, d->brank = 0;
    return RT_OK;
}

/* Batch b's matrix offsets (in matrices) in A and B. */
static void matmul_batch(const MatDims *d, int64_t b, int64_t *oa, int64_t *ob) {
    *oa = 0, *ob = 0;
    for (int i = d->brank - 1; i >= 0; i--) {
        int64_t idx = b % d->bdims[i];
        b /= d->bdims[i];
        *oa += idx * d->sa[i], *ob += idx * d->sb[i];
    }
}

int train_matmul_fwd(TrainModel *m, int k, RtError *err) {
    MatDims d;
    int rank;
    int64_t dims[RT_MAX_RANK + 2];
    if (matmul_dims(m, k, &d, &rank, dims, err) != RT_OK || train_out_shape(m, k, 0, rank, dims, err) != RT_OK)
        return RT_ERR;
    TrainTensor *A = train_in(m, k, 0), *B = train_in(m, k, 1), *Y = train_out(m, k, 0);
    int M = (int)d.M, N = (int)d.N, K = (int)d.K;
    for (int64_t b = 0; b < d.nb && M && N; b++) {
        int64_t oa, ob;
        matmul_batch(&d, b, &oa, &ob);
        if (K == 0) memset(Y->x + b * d.M * d.N, 0, sizeof(float) * (size_t)(d.M * d.N));
        else rt_sgemm(0, 0, M, N, K, 1.0f, A->x + oa * d.M * d.K, K, B->x + ob * d.K * d.N, N, 0.0f,
                      Y->x + b * d.M * d.N, N);
    }
    return RT_OK;
}

int train_matmul_bwd(TrainModel *m, int k, RtError *err) {
    MatDims d;
    int rank;
    int64_t dims[RT_MAX_RANK + 2];
    if (matmul_dims(m, k, &d, &rank, dims, err) != RT_OK) return RT_ERR;
    TrainTensor *A = train_in(m, k, 0), *B = train_in(m, k, 1), *Y = train_out(m, k, 0);
    float *dA = train_in_grad(m, k, 0), *dB = train_in_grad(m, k, 1);
    int M = (int)d.M, N = (int)d.N, K = (int)d.K;
    /* broadcast operands collect the sum over the batches that read them (beta 1) */
    for (int64_t b = 0; b < d.nb && M && N && K; b++) {
        int64_t oa, ob;
        matmul_batch(&d, b, &oa, &ob);
        const float *dy = Y->dx + b * d.M * d.N;
        if (dA) rt_sgemm(0, 1, M, K, N, 1.0f, dy, N, B->x + ob * d.K * d.N, N, 1.0f, dA + oa * d.M * d.K, K);
        if (dB) rt_sgemm(1, 0, K, N, M, 1.0f, A->x + oa * d.M * d.K, K, dy, N, 1.0f, dB + ob * d.K * d.N, N);
    }
    return RT_OK;
}

/* ---- Conv ---- */
typedef struct {
    int64_t N, C, M, G, Cg, Mg, KK, OHW;
    TrainWin w[2];
} ConvDims;

int train_conv_check(TrainModel *m, int k, RtError *err) {
    const RtNode *n = train_node(m, k);
    TrainTensor *W = train_in(m, k, 1);
    if (!W || !W->is_const) return RT_OK; /* shapes are checked at each forward */
    if (W->rank != 3 && W->rank != 4) return train_node_fail(m, k, err, "only 1-D and 2-D convolutions train");
    int64_t g = rt_attr_int(n, "group", 1);
    if (g < 1 || W->dims[0] % g) return train_node_fail(m, k, err, "group %lld does not divide %lld output channels",
                                                         (long long)g, (long long)W->dims[0]);
    return RT_OK;
}

static int conv_dims(TrainModel *m, int k, ConvDims *d, RtError *err) {
    TrainTensor *X = train_in(m, k, 0), *W = train_in(m, k, 1), *B = train_in(m, k, 2);
    if (X->rank != W->rank || (X->rank != 3 && X->rank != 4))
        return train_node_fail(m, k, err, "X (rank %d) and W (rank %d) must both be 3-D or 4-D", X->rank, W->rank);
    d->N = X->dims[0], d->C = X->dims[1], d->M = W->dims[0];
    d->G = rt_attr_int(train_node(m, k), "group", 1);
    if (d->G < 1 || d->C % d->G || d->M % d->G || W->dims[1] != d->C / d->G)
        return train_node_fail(m, k, err, "channels: X has %lld, W is [%lld,%lld,...] with group %lld", (long long)d->C,
                               (long long)d->M, (long long)W->dims[1], (long long)d->G);
    if (B && (B->rank != 1 || B->dims[0] != d->M)) return train_node_fail(m, k, err, "bias must be [%lld]", (long long)d->M);
    d->Cg = d->C / d->G, d->Mg = d->M / d->G;
    int64_t in_hw[2] = {1, X->dims[2]}, k_hw[2] = {1, W->dims[2]};
    if (X->rank == 4) in_hw[0] = X->dims[2], in_hw[1] = X->dims[3], k_hw[0] = W->dims[2], k_hw[1] = W->dims[3];
    if (train_window(m, k, in_hw, k_hw, 0, d->w, err) != RT_OK) return RT_ERR;
    d->KK = d->Cg * k_hw[0] * k_hw[1];
    d->OHW = d->w[0].out * d->w[1].out;
    return RT_OK;
}

/* col rows r = (c, i, j) of Cg*kh*kw, each OH*OW values at col + r*ld, from x (one sample's Cg
 * channels of H*W). */
static void im2col(const float *x, const ConvDims *d, float *col, int64_t ld) {
    const TrainWin *h = &d->w[0], *w = &d->w[1];
    for (int64_t c = 0; c < d->Cg; c++)
        for (int64_t i = 0; i < h->k; i++)
            for (int64_t j = 0; j < w->k; j++, col += ld) {
                const float *xc = x + c * h->in * w->in;
                for (int64_t oy = 0; oy < h->out; oy++) {
                    int64_t y = oy * h->stride - h->pad0 + i * h->dil;
                    float *row = col + oy * w->out;
                    if (y < 0 || y >= h->in) {
                        memset(row, 0, sizeof(float) * (size_t)w->out);
                        continue;
                    }
                    for (int64_t ox = 0; ox < w->out; ox++) {
                        int64_t xx = ox * w->stride - w->pad0 + j * w->dil;
                        row[ox] = (xx >= 0 && xx < w->in) ? xc[y * w->in + xx] : 0.0f;
                    }
                }
            }
}

/* dx += col2im(dcol): the adjoint of im2col (same layout). */
static void col2im_add(const float *col, const ConvDims *d, float *dx, int64_t ld) {
    const TrainWin *h = &d->w[0], *w = &d->w[1];
    for (int64_t c = 0; c < d->Cg; c++)
        for (int64_t i = 0; i < h->k; i++)
            for (int64_t j = 0; j < w->k; j++, col += ld) {
                float *xc = dx + c * h->in * w->in;
                for (int64_t oy = 0; oy < h->out; oy++) {
                    int64_t y = oy * h->stride - h->pad0 + i * h->dil;
                    if (y < 0 || y >= h->in) continue;
                    for (int64_t ox = 0; ox < w->out; ox++) {
                        int64_t xx = ox * w->stride - w->pad0 + j * w->dil;
                        if (xx >= 0 && xx < w->in) xc[y * w->in + xx] += col[oy * w->out + ox];
                    }
                }
            }
}

/* Samples per GEMM: col [KK][ns*OHW] stays under m->conv_col_floats (default 16 MiB), so one
 * product covers a whole mini-batch of small images and large images still fit. */
#define CONV_COL_FLOATS ((int64_t)4 << 20)

typedef struct {
    int64_t ns, HW;          /* samples per chunk; input plane size */
    float *col, *ybuf, *dcol; /* [KK][ns*OHW], [Mg][ns*OHW], [KK][ns*OHW] in the node state */
} ConvWork;

static int conv_work(TrainModel *m, int k, const ConvDims *d, int backward, ConvWork *w, RtError *err) {
    int64_t per = d->KK * d->OHW;
    int64_t budget = m->conv_col_floats > 0 ? m->conv_col_floats : CONV_COL_FLOATS;
    w->ns = per > 0 ? budget / per : d->N;
    w->ns = w->ns < 1 ? 1 : w->ns > d->N ? d->N : w->ns;
    TrainTensor *X = train_in(m, k, 0);
    w->HW = X->rank == 4 ? X->dims[2] * X->dims[3] : X->dims[2];
    int64_t span = w->ns * d->OHW, floats = (d->KK * (backward ? 2 : 1) + d->Mg) * span;
    w->col = train_node_state(m, k, sizeof(float) * (size_t)(floats ? floats : 1), err);
    if (!w->col) return RT_ERR;
    w->ybuf = w->col + d->KK * span;
    w->dcol = w->ybuf + d->Mg * span;
    return RT_OK;
}

int train_conv_fwd(TrainModel *m, int k, RtError *err) {
    ConvDims d;
    ConvWork w;
    if (conv_dims(m, k, &d, err) != RT_OK) return RT_ERR;
    TrainTensor *X = train_in(m, k, 0), *W = train_in(m, k, 1), *B = train_in(m, k, 2);
    int64_t dims[4] = {d.N, d.M, d.w[0].out, d.w[1].out};
    if (X->rank == 3) dims[2] = d.w[1].out;
    if (train_out_shape(m, k, 0, X->rank, dims, err) != RT_OK || conv_work(m, k, &d, 0, &w, err) != RT_OK) return RT_ERR;
    TrainTensor *Y = train_out(m, k, 0);
    for (int64_t s0 = 0; s0 < d.N && d.OHW; s0 += w.ns) {
        int64_t ns = d.N - s0 < w.ns ? d.N - s0 : w.ns, ld = ns * d.OHW;
        for (int64_t g = 0; g < d.G; g++) {
            for (int64_t s = 0; s < ns; s++) im2col(X->x + ((s0 + s) * d.C + g * d.Cg) * w.HW, &d, w.col + s * d.OHW, ld);
            rt_sgemm(0, 0, (int)d.Mg, (int)ld, (int)d.KK, 1.0f, W->x + g * d.Mg * d.KK, (int)d.KK, w.col, (int)ld, 0.0f,
                     w.ybuf, (int)ld);
            for (int64_t s = 0; s < ns; s++)
                for (int64_t o = 0; o < d.Mg; o++) {
                    float *y = Y->x + ((s0 + s) * d.M + g * d.Mg + o) * d.OHW, b = B ? B->x[g * d.Mg + o] : 0.0f;
                    const float *src = w.ybuf + o * ld + s * d.OHW;
                    for (int64_t p = 0; p < d.OHW; p++) y[p] = src[p] + b;
                }
        }
    }
    return RT_OK;
}

int train_conv_bwd(TrainModel *m, int k, RtError *err) {
    ConvDims d;
    ConvWork w;
    if (conv_dims(m, k, &d, err) != RT_OK || conv_work(m, k, &d, 1, &w, err) != RT_OK) return RT_ERR;
    TrainTensor *X = train_in(m, k, 0), *W = train_in(m, k, 1), *Y = train_out(m, k, 0);
    float *dX = train_in_grad(m, k, 0), *dW = train_in_grad(m, k, 1), *dB = train_in_grad(m, k, 2);
    for (int64_t s0 = 0; s0 < d.N && d.OHW; s0 += w.ns) {
        int64_t ns = d.N - s0 < w.ns ? d.N - s0 : w.ns, ld = ns * d.OHW;
        for (int64_t g = 0; g < d.G; g++) {
            /* dY_g of the chunk as [Mg][ns*OHW]; the bias gradient on the way */
            for (int64_t s = 0; s < ns; s++)
                for (int64_t o = 0; o < d.Mg; o++) {
                    const float *dy = Y->dx + ((s0 + s) * d.M + g * d.Mg + o) * d.OHW;
                    float *dst = w.ybuf + o * ld + s * d.OHW, sum = 0.0f;
                    for (int64_t p = 0; p < d.OHW; p++) dst[p] = dy[p], sum += dy[p];
                    if (dB) dB[g * d.Mg + o] += sum;
                }
            if (dW) {
                for (int64_t s = 0; s < ns; s++)
                    im2col(X->x + ((s0 + s) * d.C + g * d.Cg) * w.HW, &d, w.col + s * d.OHW, ld);
                rt_sgemm(0, 1, (int)d.Mg, (int)d.KK, (int)ld, 1.0f, w.ybuf, (int)ld, w.col, (int)ld, 1.0f,
                         dW + g * d.Mg * d.KK, (int)d.KK);
            }
            if (dX) {
                rt_sgemm(1, 0, (int)d.KK, (int)ld, (int)d.Mg, 1.0f, W->x + g * d.Mg * d.KK, (int)d.KK, w.ybuf, (int)ld,
                         0.0f, w.dcol, (int)ld);
                for (int64_t s = 0; s < ns; s++)
                    col2im_add(w.dcol + s * d.OHW, &d, dX + ((s0 + s) * d.C + g * d.Cg) * w.HW, ld);
            }
        }
    }
    return RT_OK;
}
