/*
 * entropy.c — the KL-divergence threshold search of TensorRT's entropy calibrator (Migacz,
 * "8-bit inference with TensorRT", GTC 2017), as onnxruntime's HistogramCollector also runs it.
 *
 * Input: a histogram of |x| in `bins` equal bins starting at 0. For every candidate threshold
 * of i bins, i = levels .. bins (levels = 128, the int8 steps on one side of zero):
 *   P = bins [0, i) with everything beyond folded into bin i-1 (clipping maps it there);
 *   Q = bins [0, i) (without the folded tail) merged into `levels` groups and spread back
 *       evenly over the bins of each group where P is non-zero (what quantizing to `levels`
 *       levels keeps of the shape);
 *   both smoothed (zeros get eps = 1e-4, taken from the non-zero bins so the sum holds),
 *   normalized, and scored KL(P || Q) = sum P ln(P / Q).
 * The threshold is the right edge of the best i (the first one on ties, as numpy's argmin).
 * A candidate with fewer than two non-empty bins below it is skipped: P and Q are then the
 * same point mass, KL is 0 however much was clipped (this happens on tiny calibration sets
 * of a few clustered values, e.g. the logits of 8 near-identical inputs).
 * Two details differ from onnxruntime's code, on purpose: groups are split with rounded
 * boundaries (i*g/levels) instead of i/levels bins each plus the remainder lumped into the
 * last group, and Q stays in floating point (onnxruntime stores it in an int64 array,
 * truncating the spread counts).
 * Cost: O(bins^2 / 2) per tensor, ~2M steps for 2048 bins.
 */
#include "calib_internal.h"

#include <math.h>
#include <stdlib.h>

#define CALIB_KL_EPS 1e-4  /* onnxruntime's smooth_distribution eps, on counts */

/* Replaces zeros of d[n] by eps, taking the same mass from the non-zero entries, then
 * normalizes to sum 1. Returns 0 when d is all zeros (no distribution). */
static int kl_smooth(double *d, int n) {
    int zeros = 0;
    for (int k = 0; k < n; k++) zeros += d[k] == 0;
    if (zeros == n) return 0;
    double take = CALIB_KL_EPS * zeros / (n - zeros), sum = 0;
    for (int k = 0; k < n; k++) {
        if (d[k] == 0) d[k] = CALIB_KL_EPS;
        else d[k] = d[k] > take ? d[k] - take : d[k] * 0.5; /* never <= 0 */
        sum += d[k];
    }
    for (int k = 0; k < n; k++) d[k] /= sum;
    return 1;
}

/* KL(P || Q) for the threshold of i bins; p and q are scratch of at least i entries. */
static double kl_for_threshold(const uint64_t *hist, const double *tail, int i, int levels, double *p,
                               double *q) {
    int filled = 0;
    for (int k = 0; k < i; k++) {
        p[k] = (double)hist[k];
        filled += hist[k] != 0;
    }
    /* One non-empty bin (or none) below the threshold: P and Q are then the same point mass
     * and KL is 0 however much was clipped, so the candidate says nothing. */
    if (filled < 2) return INFINITY;
    p[i - 1] += tail[i];
    for (int g = 0; g < levels; g++) {
        int start = (int)((int64_t)i * g / levels), end = (int)((int64_t)i * (g + 1) / levels);
        double sum = 0;
        int nonzero = 0;
        for (int k = start; k < end; k++) {
            sum += (double)hist[k];
            nonzero += p[k] != 0;
        }
        double each = nonzero ? sum / nonzero : 0;
        for (int k = start; k < end; k++) q[k] = p[k] != 0 ? each : 0;
    }
    if (!kl_smooth(p, i) || !kl_smooth(q, i)) return INFINITY;
    double kl = 0;
    for (int k = 0; k < i; k++) kl += p[k] * log(p[k] / q[k]);
    return kl;
}

double calib_entropy_threshold(const uint64_t *hist, int bins, double width, int levels) {
    if (levels < 1 || bins <= levels) return width * bins;
    double *p = malloc(sizeof(double) * (size_t)bins), *q = malloc(sizeof(double) * (size_t)bins);
    double *tail = malloc(sizeof(double) * ((size_t)bins + 1)); /* tail[i] = sum of hist[i..] */
    if (!p || !q || !tail) {
        /* No memory for the search: the full range is always a valid answer. */
        free(p);
        free(q);
        free(tail);
        return width * bins;
    }
    tail[bins] = 0;
    for (int k = bins - 1; k >= 0; k--) tail[k] = tail[k + 1] + (double)hist[k];
    int best_i = bins;
    double best = INFINITY;
    for (int i = levels; i <= bins; i++) {
        double kl = kl_for_threshold(hist, tail, i, levels, p, q);
        if (kl < best) {
            best = kl;
            best_i = i;
        }
    }
    free(p);
    free(q);
    free(tail);
    return width * best_i;
}
