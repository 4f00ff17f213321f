/*
 * cascade_curve.c — a cascade's whole threshold curve from one pass of measurements: for each
 * sample the small model's confidence and whether each model alone is right, and the two
 * models' per-inference latencies. At threshold t a sample escalates when conf < t and is
 * then answered by the large model, so
 *
 *   accuracy(t)  = mean(conf < t ? large_ok : small_ok)
 *   escalated(t) = mean(conf < t)
 *   latency(t)   = lat_small + escalated(t) * lat_large       (the small model always runs)
 *   cost(t)      = latency(t) / 3.6e6 h * price_per_hour;  cost per correct = cost / accuracy
 *
 * The chosen point is the cheapest whose accuracy stays within max_drop of the large model
 * alone (ties: the lower threshold, which escalates no more).
 */
#include <math.h>

#include "deploy.h"

int deploy_cascade_curve(const double *conf, const unsigned char *small_ok, const unsigned char *large_ok, int64_t n,
                         double lat_small, double lat_large, double price_per_hour, const double *thresholds,
                         int n_thr, double max_drop, DeployCascadePoint *pts) {
    int64_t large_right = 0;
    for (int64_t i = 0; i < n; i++) large_right += large_ok[i] != 0;
    double large_acc = n ? (double)large_right / (double)n : 0;
    int best = -1;
    for (int k = 0; k < n_thr; k++) {
        int64_t right = 0, esc = 0;
        for (int64_t i = 0; i < n; i++) {
            int e = conf[i] < thresholds[k];
            esc += e;
            right += (e ? large_ok[i] : small_ok[i]) != 0;
        }
        DeployCascadePoint *p = &pts[k];
        p->threshold = thresholds[k];
        p->accuracy = n ? (double)right / (double)n : 0;
        p->escalated = n ? (double)esc / (double)n : 0;
        p->latency_ms = lat_small + p->escalated * lat_large;
        p->cost = deploy_cost_per_inference(p->latency_ms, price_per_hour);
        p->cost_per_correct = p->accuracy > 0 ? p->cost / p->accuracy : INFINITY;
        /* the accuracy goal in whole samples, so that a drop of exactly max_drop passes */
        int ok = (double)right >= (large_acc - max_drop) * (double)n - 1e-9;
        if (ok && (best < 0 || p->cost < pts[best].cost)) best = k;
    }
    return best;
}
