/*
 * observer.c — one observer per calibrated tensor: fixed-size state fed batch by batch, and
 * the range it yields for int8 quantization.
 *
 * Pass 1 keeps the min and max of the finite values (NaN and ±inf are skipped: one bad value
 * must not turn every scale into inf). Histogram methods then fix a histogram range from
 * those extremes and count pass 2's values into `bins` equal bins:
 *   percentile  |x| over [0, A], A = max(|min|, |max|); exact zeros counted (they are data).
 *               The threshold is where the cumulative count reaches percentile% of the total,
 *               interpolated linearly inside that bin (onnxruntime takes the bin's left edge;
 *               interpolation removes that bias of up to one bin width).
 *   entropy     |x| over [0, A], exact zeros left out: every candidate range represents 0
 *               exactly, so zeros carry no information about the threshold, and ReLU outputs
 *               (often half zeros) would otherwise swamp the first quantized level. The search
 *               itself is in entropy.c.
 *   mse         x over [min(min,0), max(max,0)], exact zeros left out (no error for any
 *               range); the search is in mse.c.
 * Symmetric thresholds t become the range [-t, t] cut to the observed [min, max]
 * (onnxruntime does the same), so a ReLU output gets [0, t].
 * Every range is finally widened to include 0 (0 must be exactly representable), and a range
 * with no width (an all-zero tensor) becomes [0, 1]: any positive width represents 0
 * exactly, and 1/255 keeps the scale a normal float.
 */
#include "calib_internal.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- options ---- */

void calib_options_default(CalibOptions *o) {
    memset(o, 0, sizeof *o);
    o->method = CALIB_MINMAX;
    o->percentile = 99.99;
    o->bins = 2048;
    o->batch = 32;
}

static const char *const calib_method_names[] = {"minmax", "percentile", "entropy", "mse"};

const char *calib_method_name(CalibMethod m) {
    return (unsigned)m < sizeof calib_method_names / sizeof calib_method_names[0]
               ? calib_method_names[m] : "?";
}

int calib_method_parse(const char *s, CalibMethod *m) {
    for (int i = 0; i < (int)(sizeof calib_method_names / sizeof calib_method_names[0]); i++)
        if (strcmp(s, calib_method_names[i]) == 0) {
            *m = (CalibMethod)i;
            return RT_OK;
        }
    return RT_ERR;
}

int calib_options_check(const CalibOptions *o, RtError *err) {
    if ((unsigned)o->method > CALIB_MSE)
        return rt_error_set(err, "unknown calibration method %d", (int)o->method);
    if (o->method == CALIB_PERCENTILE && !(o->percentile > 0 && o->percentile <= 100))
        return rt_error_set(err, "calibration percentile %g is outside (0, 100]", o->percentile);
    if (o->bins < CALIB_MIN_BINS || o->bins > CALIB_MAX_BINS)
        return rt_error_set(err, "calibration histogram bins %d outside [%d, %d]", o->bins,
                            CALIB_MIN_BINS, CALIB_MAX_BINS);
    if (o->batch < 1) return rt_error_set(err, "calibration batch %lld must be >= 1", (long long)o->batch);
    return RT_OK;
}

/* ---- element conversion ---- */

void calib_to_float(RtDtype dt, const void *data, int64_t off, int64_t n, float *out) {
#define CALIB_CONV(T, expr) \
    do { const T *p = (const T *)data + off; for (int64_t i = 0; i < n; i++) out[i] = (expr); } while (0)
    switch (dt) {
    case RT_F32: memcpy(out, (const float *)data + off, sizeof(float) * (size_t)n); break;
    case RT_F64: CALIB_CONV(double, (float)p[i]); break;
    case RT_F16: CALIB_CONV(uint16_t, rt_f16_to_f32(p[i])); break;
    case RT_BF16: CALIB_CONV(uint16_t, rt_bf16_to_f32(p[i])); break;
    case RT_I8: CALIB_CONV(int8_t, (float)p[i]); break;
    case RT_U8: CALIB_CONV(uint8_t, (float)p[i]); break;
    case RT_BOOL: CALIB_CONV(uint8_t, p[i] ? 1.0f : 0.0f); break;
    case RT_I16: CALIB_CONV(int16_t, (float)p[i]); break;
    case RT_U16: CALIB_CONV(uint16_t, (float)p[i]); break;
    case RT_I32: CALIB_CONV(int32_t, (float)p[i]); break;
    case RT_U32: CALIB_CONV(uint32_t, (float)p[i]); break;
    case RT_I64: CALIB_CONV(int64_t, (float)p[i]); break;
    case RT_U64: CALIB_CONV(uint64_t, (float)p[i]); break;
    default: for (int64_t i = 0; i < n; i++) out[i] = NAN; break; /* skipped as non-finite */
    }
#undef CALIB_CONV
}

/* ---- state ---- */

CalibObserver *calib_observer_new(const CalibOptions *o) {
    CalibOptions d;
    if (!o) {
        calib_options_default(&d);
        o = &d;
    }
    RtError err;
    if (calib_options_check(o, &err) != RT_OK) return NULL;
    CalibObserver *ob = calloc(1, sizeof *ob);
    if (!ob) return NULL;
    ob->method = o->method;
    ob->percentile = o->percentile;
    ob->bins = o->bins;
    /* Allocated now so that feeding values can never fail. */
    if (ob->method != CALIB_MINMAX) {
        ob->hist = calloc((size_t)ob->bins, sizeof *ob->hist);
        if (!ob->hist) {
            free(ob);
            return NULL;
        }
    }
    return ob;
}

void calib_observer_free(CalibObserver *ob) {
    if (!ob) return;
    free(ob->hist);
    free(ob);
}

int calib_observer_needs_histogram(const CalibObserver *ob) { return ob->method != CALIB_MINMAX; }

void calib_observer_minmax(CalibObserver *ob, const float *x, int64_t n) {
    float lo = ob->count ? ob->min : FLT_MAX, hi = ob->count ? ob->max : -FLT_MAX;
    int64_t finite = 0;
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        if (!isfinite(v)) continue;
        finite++;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    if (!finite) return;
    ob->count += finite;
    ob->min = lo;
    ob->max = hi;
}

/* Fixes the histogram range from pass 1's extremes (see the file comment). */
static void observer_freeze(CalibObserver *ob) {
    ob->frozen = 1;
    if (!ob->count) return;
    double a = fmax(fabs((double)ob->min), fabs((double)ob->max));
    if (ob->method == CALIB_MSE) {
        ob->h_lo = fmin(ob->min, 0.0);
        ob->h_hi = fmax(ob->max, 0.0);
    } else {
        ob->h_lo = 0;
        ob->h_hi = a;
    }
    ob->h_scale = ob->h_hi > ob->h_lo ? ob->bins / (ob->h_hi - ob->h_lo) : 0;
}

void calib_observer_histogram(CalibObserver *ob, const float *x, int64_t n) {
    if (ob->method == CALIB_MINMAX) return;
    if (!ob->frozen) observer_freeze(ob);
    const int keep_zeros = ob->method == CALIB_PERCENTILE, use_abs = ob->method != CALIB_MSE;
    const double lo = ob->h_lo, scale = ob->h_scale;
    const int last = ob->bins - 1;
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        if (!isfinite(v)) continue;
        if ((v == 0 && !keep_zeros) || scale == 0) {
            ob->zeros += v == 0; /* scale == 0: pass 1 saw only zeros */
            continue;
        }
        double b = ((use_abs ? fabs((double)v) : (double)v) - lo) * scale;
        /* Values outside pass 1's range (the model is not deterministic) go to the end bins. */
        int k = b <= 0 ? 0 : b >= last ? last : (int)b;
        ob->hist[k]++;
    }
}

/* ---- ranges ---- */

/* The value below which `pct` percent of the histogram's mass lies, interpolating linearly
 * inside the bin where the cumulative count crosses. */
static double percentile_threshold(const uint64_t *hist, int bins, double width, double pct) {
    double total = 0;
    for (int k = 0; k < bins; k++) total += (double)hist[k];
    double target = total * pct / 100.0, cum = 0;
    for (int k = 0; k < bins; k++) {
        double c = (double)hist[k];
        if (c > 0 && cum + c >= target) {
            double frac = (target - cum) / c;
            return width * (k + (frac < 0 ? 0 : frac > 1 ? 1 : frac));
        }
        cum += c;
    }
    return width * bins;
}

static int hist_empty(const CalibObserver *ob) {
    for (int k = 0; k < ob->bins; k++)
        if (ob->hist[k]) return 0;
    return 1;
}

/* Range from the histogram for the histogram methods; *lo, *hi untouched if it has no data. */
static void observer_hist_range(const CalibObserver *ob, double *lo, double *hi) {
    if (!ob->frozen || ob->h_scale == 0 || hist_empty(ob)) return;
    double width = (ob->h_hi - ob->h_lo) / ob->bins, t;
    switch (ob->method) {
    case CALIB_PERCENTILE:
        t = percentile_threshold(ob->hist, ob->bins, width, ob->percentile);
        *lo = -t;
        *hi = t;
        break;
    case CALIB_ENTROPY:
        t = calib_entropy_threshold(ob->hist, ob->bins, width, CALIB_QUANT_LEVELS);
        *lo = -t;
        *hi = t;
        break;
    case CALIB_MSE:
        calib_mse_range(ob->hist, ob->bins, ob->h_lo, ob->h_hi, lo, hi);
        break;
    default:
        break;
    }
    /* Never beyond what was observed. */
    *lo = fmax(*lo, ob->min);
    *hi = fmin(*hi, ob->max);
}

CalibRange calib_observer_range(const CalibObserver *ob) {
    CalibRange r = {0, 1, 0, 0};
    if (!ob->count) return r;
    r.min = ob->min;
    r.max = ob->max;
    double lo = ob->min, hi = ob->max;
    if (ob->method != CALIB_MINMAX) observer_hist_range(ob, &lo, &hi);
    lo = fmin(lo, 0.0);
    hi = fmax(hi, 0.0);
    r.lo = (float)lo;
    r.hi = (float)hi;
    /* No usable width (all zeros, or denormal extremes): see the file comment. */
    if (!((double)r.hi - (double)r.lo >= 255.0 * FLT_MIN)) r.hi = r.lo + 1.0f;
    return r;
}
