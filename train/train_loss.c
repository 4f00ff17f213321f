/*
 * train_loss.c — distillation losses on logits z[B, C] (rows = examples, C classes), in double
 * for the sums, each also adding w * its gradient into dz.
 *
 *   CE  = mean_b [ logsumexp(z_b) - z_b[y_b] ]            dCE/dz = (softmax(z) - onehot(y)) / B
 *   MSE = mean_{b,c} (z - t)^2                             dMSE/dz = 2 (z - t) / (B C)
 *   KL  = T^2 mean_b sum_c p_c (log p_c - log q_c),  p = softmax(t / T), q = softmax(z / T)
 *                                                          dKL/dz = T (q - p) / B
 * (Hinton et al. scale the soft term by T^2 so its gradients keep their size as T changes;
 * PyTorch's KLDivLoss(reduction="batchmean") * T^2 is the same number.)
 */
#include <math.h>

#include "train.h"

/* log-softmax of one row of x / T into out[C] (double). */
static void row_log_softmax(const float *x, int64_t C, double T, double *out) {
    double mx = -INFINITY, s = 0;
    for (int64_t c = 0; c < C; c++) mx = x[c] / T > mx ? x[c] / T : mx;
    for (int64_t c = 0; c < C; c++) s += exp(x[c] / T - mx);
    double lse = mx + log(s);
    for (int64_t c = 0; c < C; c++) out[c] = x[c] / T - lse;
}

double train_loss_ce(const float *z, const int64_t *y, int64_t B, int64_t C, double w, float *dz) {
    double loss = 0, ls[4096];
    if (B <= 0 || C <= 0 || C > 4096) return NAN;
    for (int64_t b = 0; b < B; b++) {
        row_log_softmax(z + b * C, C, 1.0, ls);
        int64_t t = y[b];
        if (t < 0 || t >= C) return NAN;
        loss -= ls[t];
        if (dz)
            for (int64_t c = 0; c < C; c++) dz[b * C + c] += (float)(w * (exp(ls[c]) - (c == t)) / (double)B);
    }
    return loss / (double)B;
}

double train_loss_mse(const float *z, const float *t, int64_t B, int64_t C, double w, float *dz) {
    double loss = 0, n = (double)(B * C);
    if (B <= 0 || C <= 0) return NAN;
    for (int64_t i = 0; i < B * C; i++) {
        double d = (double)z[i] - t[i];
        loss += d * d;
        if (dz) dz[i] += (float)(w * 2.0 * d / n);
    }
    return loss / n;
}

double train_loss_kl(const float *z, const float *t, int64_t B, int64_t C, double T, double w, float *dz) {
    double loss = 0, lq[4096], lp[4096];
    if (B <= 0 || C <= 0 || C > 4096 || !(T > 0)) return NAN;
    for (int64_t b = 0; b < B; b++) {
        row_log_softmax(z + b * C, C, T, lq);
        row_log_softmax(t + b * C, C, T, lp);
        for (int64_t c = 0; c < C; c++) {
            double p = exp(lp[c]);
            loss += p * (lp[c] - lq[c]);
            if (dz) dz[b * C + c] += (float)(w * T * (exp(lq[c]) - p) / (double)B);
        }
    }
    return T * T * loss / (double)B;
}
