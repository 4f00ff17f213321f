/*
 * calib_internal.h — what the calib/ files share and nobody else needs: the observer's state,
 * element conversion to float, and the two histogram searches (entropy.c, mse.c) as pure
 * functions over a histogram, so they can be read and tested apart from the observers.
 */
#ifndef WAFER_CALIB_INTERNAL_H
#define WAFER_CALIB_INTERNAL_H

#include "calib.h"

#define CALIB_TRY(expr) \
    do { int r_ = (expr); if (r_ != RT_OK) return r_; } while (0)

#define CALIB_MIN_BINS 256        /* the entropy search needs bins >= 2 x its 128 levels */
#define CALIB_MAX_BINS (1 << 14)  /* the entropy and MSE searches cost O(bins^2) */
#define CALIB_QUANT_LEVELS 128    /* int8 levels on one side of zero (TensorRT's num_quantized_bins) */

struct CalibObserver {
    CalibMethod method;
    double percentile;    /* CALIB_PERCENTILE, in (0, 100] */
    int bins;             /* histogram bins */
    int64_t count;        /* finite values seen in pass 1 */
    float min, max;       /* pass 1 extremes of the finite values; valid when count > 0 */
    int frozen;           /* 1 once pass 2 started: the histogram range is fixed */
    double h_lo, h_hi;    /* histogram range: [0, max|x|] or [lo, hi] for MSE */
    double h_scale;       /* bins / (h_hi - h_lo): value -> bin index */
    uint64_t zeros;       /* exact zeros, kept out of the entropy and MSE histograms */
    uint64_t *hist;       /* [bins] owned, NULL until pass 2 */
};

/* Converts n elements of type dt starting at element `off` of data into out[n] (floats). */
void calib_to_float(RtDtype dt, const void *data, int64_t off, int64_t n, float *out);

/* Entropy (KL) threshold on a histogram of |x|: hist[bins] counts |x| in equal bins of width
 * `width` from 0. Returns the threshold t (a bin edge) minimizing KL(P || Q), where P is the
 * histogram cut at t with the tail folded into its last bin and Q is P quantized to
 * `levels` levels; t is at least levels bins. bins >= levels. */
double calib_entropy_threshold(const uint64_t *hist, int bins, double width, int levels);

/* MSE-optimal clipping on a histogram of x over [lo, hi] (lo <= 0 <= hi, bins equal bins):
 * the range [*best_lo, *best_hi] (bin edges, lo <= *best_lo <= 0 <= *best_hi <= hi)
 * minimizing the expected squared error of 8-bit asymmetric quantization (255 steps). */
void calib_mse_range(const uint64_t *hist, int bins, double lo, double hi, double *best_lo,
                     double *best_hi);


#endif
