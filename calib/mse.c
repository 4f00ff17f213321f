/*
 * mse.c — MSE-optimal clipping: the int8 range [L, H] that minimizes the expected squared
 * error of quantizing the values a histogram describes.
 *
 * Model (values uniform inside each bin, 255 steps of s = (H - L) / 255 across the range):
 *   inside [L, H]  rounding error, uniform over a step: s^2 / 12 per value;
 *   beyond H       clipped to H: (x - H)^2;  below L: (x - L)^2.
 * For a bin [a, b) of count c and centre m, sum (x - H)^2 = c (m^2 + w^2/12) - 2 H c m + H^2 c,
 * so with suffix sums S0 = sum c, S1 = sum c m, S2 = sum c (m^2 + w^2/12) over the bins above
 * H (and prefix sums below L) every candidate costs O(1):
 *   E(L, H) = (P2 - 2L P1 + L^2 P0) + (S2 - 2H S1 + H^2 S0) + (N - P0 - S0) s^2 / 12.
 * Candidates are the bin edges on each side of zero (L <= 0 <= H), every pair: O(bins^2 / 4)
 * for signed data, O(bins) when one side is empty (ReLU outputs). Ties keep the wider range.
 * For values uniform on [0, A] this gives H = 510/511 A (dE/dH = 0 at (A - H) = H / 510),
 * the bin edge nearest it: clipping helps only once the rounding noise it saves beats the
 * clipping error.
 */
#include "calib_internal.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    double c, cm, cm2;    /* sum of counts, count x centre, count x E[x^2] over some bins */
} MseSums;

static double mse_clip_err(const MseSums *s, double bound) {
    double e = s->cm2 - 2 * bound * s->cm + bound * bound * s->c;
    return e > 0 ? e : 0; /* rounding can leave a tiny negative */
}

void calib_mse_range(const uint64_t *hist, int bins, double lo, double hi, double *best_lo,
                     double *best_hi) {
    *best_lo = lo;
    *best_hi = hi;
    double w = (hi - lo) / bins;
    if (!(w > 0)) return;
    /* pre[k]: sums over bins [0, k); suf[k]: over bins [k, bins). */
    MseSums *pre = calloc((size_t)bins + 1, sizeof *pre), *suf = calloc((size_t)bins + 1, sizeof *suf);
    if (!pre || !suf) {
        free(pre);
        free(suf);
        return; /* no memory for the search: the full range is always valid */
    }
    for (int k = 0; k < bins; k++) {
        double c = (double)hist[k], m = lo + (k + 0.5) * w;
        pre[k + 1].c = pre[k].c + c;
        pre[k + 1].cm = pre[k].cm + c * m;
        pre[k + 1].cm2 = pre[k].cm2 + c * (m * m + w * w / 12);
    }
    for (int k = bins - 1; k >= 0; k--) {
        suf[k].c = suf[k + 1].c + (pre[k + 1].c - pre[k].c);
        suf[k].cm = suf[k + 1].cm + (pre[k + 1].cm - pre[k].cm);
        suf[k].cm2 = suf[k + 1].cm2 + (pre[k + 1].cm2 - pre[k].cm2);
    }
    double n = pre[bins].c;
    /* Edges at or below zero: 0 .. a_max; at or above: b_min .. bins. */
    int a_max = (int)floor(-lo / w + 1e-9), b_min = (int)ceil(-lo / w - 1e-9);
    if (a_max > bins) a_max = bins;
    if (b_min < 0) b_min = 0;
    double best = INFINITY;
    for (int b = bins; b >= b_min; b--) {
        double H = b == bins ? hi : lo + b * w, above = mse_clip_err(&suf[b], H);
        for (int a = 0; a <= a_max && a < b; a++) {
            double L = a == 0 ? lo : lo + a * w, s = (H - L) / 255.0;
            double inside = n - pre[a].c - suf[b].c;
            double e = mse_clip_err(&pre[a], L) + above + inside * s * s / 12.0;
            if (e < best) {
                best = e;
                *best_lo = L;
                *best_hi = H;
            }
        }
    }
    free(pre);
    free(suf);
}
