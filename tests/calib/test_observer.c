/*
 * test_observer.c — each observer against values computed by hand on small arrays: min-max,
 * percentile (10,000 evenly spaced values), entropy (a bell-shaped bulk with an outlier tail),
 * MSE (uniform data, whose optimum has a closed form), and the degenerate inputs (all zeros,
 * constants, NaN/inf) that must still give a valid range.
 */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "../../calib/calib.h"
#include "../../calib/calib_internal.h"

#define N_EVEN 10000
/* Percentile tolerance: the 10,000 values are 1e-4 apart; a 2048-bin histogram of [0, 1]
 * holds ~5 of them per bin and the threshold is interpolated inside the bin assuming the
 * values spread evenly, which they do, so the error is below one value spacing. */
#define TOL_PERCENTILE 1.0e-4
/* MSE tolerance: candidates are bin edges, so the optimum is found to within one bin width. */
#define BINS 2048

static CalibObserver *observer(CalibMethod m, double pct) {
    CalibOptions o;
    calib_options_default(&o);
    o.method = m;
    if (pct > 0) o.percentile = pct;
    CalibObserver *ob = calib_observer_new(&o);
    cr_assert_not_null(ob);
    return ob;
}

/* Both passes over x, as calib_collect feeds them. */
static CalibRange observe(CalibMethod m, double pct, const float *x, int64_t n) {
    CalibObserver *ob = observer(m, pct);
    calib_observer_minmax(ob, x, n);
    if (calib_observer_needs_histogram(ob)) calib_observer_histogram(ob, x, n);
    CalibRange r = calib_observer_range(ob);
    calib_observer_free(ob);
    return r;
}

static void expect_valid(CalibRange r) {
    cr_expect(isfinite(r.lo) && isfinite(r.hi), "range [%g, %g] not finite", r.lo, r.hi);
    cr_expect(r.lo <= 0 && r.hi >= 0, "range [%g, %g] does not include 0", r.lo, r.hi);
    cr_expect(r.hi > r.lo, "range [%g, %g] has no width", r.lo, r.hi);
    cr_expect((r.hi - r.lo) / 255.0f >= FLT_MIN, "scale of [%g, %g] is not a normal float", r.lo, r.hi);
}

/* A fixed pseudo-random stream (64-bit LCG, top 53 bits) so the tests are reproducible. */
static double uniform01(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return ((*s >> 11) + 0.5) / 9007199254740992.0;
}

/* Box-Muller standard normals. */
static float normal(uint64_t *s) {
    double u = uniform01(s), v = uniform01(s);
    return (float)(sqrt(-2 * log(u)) * cos(2 * 3.14159265358979323846 * v));
}

Test(options, names_parse_and_check) {
    for (int m = CALIB_MINMAX; m <= CALIB_MSE; m++) {
        CalibMethod back;
        cr_assert_eq(calib_method_parse(calib_method_name((CalibMethod)m), &back), RT_OK);
        cr_expect_eq((int)back, m);
    }
    CalibMethod x;
    cr_expect_eq(calib_method_parse("kl", &x), RT_ERR);
    CalibOptions o;
    calib_options_default(&o);
    cr_expect_eq(o.method, CALIB_MINMAX);
    cr_expect_float_eq(o.percentile, 99.99, 1e-12);
    cr_expect_eq(o.bins, BINS);
    RtError err = {{0}};
    cr_expect_eq(calib_options_check(&o, &err), RT_OK);
    o.method = CALIB_PERCENTILE;
    o.percentile = 0;
    cr_expect_eq(calib_options_check(&o, &err), RT_ERR);
    cr_expect(strstr(err.msg, "percentile") != NULL, "%s", err.msg);
    o.percentile = 100.5;
    cr_expect_eq(calib_options_check(&o, &err), RT_ERR);
    o.percentile = 100;
    cr_expect_eq(calib_options_check(&o, &err), RT_OK);
    o.bins = 16;
    cr_expect_eq(calib_options_check(&o, &err), RT_ERR);
    cr_expect_null(calib_observer_new(&o));
}

Test(minmax, known_array_over_two_batches) {
    const float a[] = {0.5f, -3.5f, 2.0f}, b[] = {7.25f, NAN, INFINITY, -INFINITY, 1.0f};
    CalibObserver *ob = observer(CALIB_MINMAX, 0);
    cr_expect_eq(calib_observer_needs_histogram(ob), 0);
    calib_observer_minmax(ob, a, 3);
    calib_observer_minmax(ob, b, 5);
    CalibRange r = calib_observer_range(ob);
    cr_expect_eq(r.min, -3.5f);
    cr_expect_eq(r.max, 7.25f);
    cr_expect_eq(r.lo, -3.5f);
    cr_expect_eq(r.hi, 7.25f);
    calib_observer_free(ob);
}

Test(minmax, widened_to_include_zero) {
    const float pos[] = {1, 2, 3}, neg[] = {-4, -2};
    CalibRange r = observe(CALIB_MINMAX, 0, pos, 3);
    cr_expect_eq(r.lo, 0.0f);
    cr_expect_eq(r.hi, 3.0f);
    cr_expect_eq(r.min, 1.0f);
    r = observe(CALIB_MINMAX, 0, neg, 2);
    cr_expect_eq(r.lo, -4.0f);
    cr_expect_eq(r.hi, 0.0f);
    cr_expect_eq(r.max, -2.0f);
}

/* All zeros, nothing at all, only NaNs, a negative constant, denormals: every method gives
 * a range that quantizes (finite, includes 0, a normal scale). */
Test(degenerate, zeros_constants_and_nothing) {
    float zeros[64] = {0}, neg[16], nans[4] = {NAN, NAN, NAN, NAN}, tiny[2] = {1e-42f, -1e-42f};
    for (int i = 0; i < 16; i++) neg[i] = -2.0f;
    for (int m = CALIB_MINMAX; m <= CALIB_MSE; m++) {
        CalibRange r = observe((CalibMethod)m, 0, zeros, 64);
        expect_valid(r);
        cr_expect_eq(r.lo, 0.0f, "%s", calib_method_name((CalibMethod)m));
        cr_expect_eq(r.hi, 1.0f, "%s", calib_method_name((CalibMethod)m));
        expect_valid(observe((CalibMethod)m, 0, zeros, 0));
        expect_valid(observe((CalibMethod)m, 0, nans, 4));
        expect_valid(observe((CalibMethod)m, 0, tiny, 2));
        r = observe((CalibMethod)m, 0, neg, 16);
        expect_valid(r);
        /* MSE assumes values spread inside a bin, so it may cut one bin (2/2048) of a constant. */
        double tol = m == CALIB_MSE ? 2.0 / BINS : 1e-6;
        cr_expect_float_eq(r.lo, -2.0f, tol, "%s: lo %g", calib_method_name((CalibMethod)m), r.lo);
        cr_expect_eq(r.hi, 0.0f, "%s", calib_method_name((CalibMethod)m));
    }
}

/* x_i = ±i/10000, i = 1..10000, signs alternating (odd i negative): |x| is evenly spread on
 * (0, 1], so the p-th percentile of |x| is p/100 (to within one value spacing). */
static float *even_values(void) {
    float *x = malloc(sizeof(float) * N_EVEN);
    cr_assert_not_null(x);
    for (int i = 1; i <= N_EVEN; i++) x[i - 1] = (float)((i % 2 ? -1 : 1) * (double)i / N_EVEN);
    return x;
}

Test(percentile, evenly_spaced_values) {
    float *x = even_values();
    const double pcts[] = {50, 90, 99, 99.9, 99.99};
    for (int k = 0; k < 5; k++) {
        CalibRange r = observe(CALIB_PERCENTILE, pcts[k], x, N_EVEN);
        double want = pcts[k] / 100;
        cr_expect(fabs(r.hi - want) <= TOL_PERCENTILE, "p%g: hi %.6f, want %.6f", pcts[k], r.hi, want);
        cr_expect(fabs(r.lo + want) <= TOL_PERCENTILE, "p%g: lo %.6f, want %.6f", pcts[k], r.lo, -want);
        cr_expect_eq(r.min, -0.9999f);
        cr_expect_eq(r.max, 1.0f);
    }
    /* 100%: nothing clipped, and never beyond what was seen. */
    CalibRange r = observe(CALIB_PERCENTILE, 100, x, N_EVEN);
    cr_expect_eq(r.hi, 1.0f);
    cr_expect_eq(r.lo, -0.9999f);
    free(x);
}

Test(percentile, relu_like_data_keeps_lo_at_zero) {
    float *x = even_values();
    for (int i = 0; i < N_EVEN; i++) x[i] = fabsf(x[i]);
    CalibRange r = observe(CALIB_PERCENTILE, 99, x, N_EVEN);
    cr_expect_eq(r.lo, 0.0f);
    cr_expect(fabs(r.hi - 0.99) <= TOL_PERCENTILE, "hi %.6f", r.hi);
    free(x);
}

/* 100,000 standard normals plus 20 outliers spread over [30, 50]: the KL search must cut
 * the outliers (threshold well below the max of 50) and keep the bulk (above 2.5 sigma). */
Test(entropy, outlier_tail_is_clipped) {
    enum { N = 100000, OUT = 20 };
    float *x = malloc(sizeof(float) * (N + OUT));
    cr_assert_not_null(x);
    uint64_t s = 42;
    for (int i = 0; i < N; i++) x[i] = normal(&s);
    for (int i = 0; i < OUT; i++) x[N + i] = (i % 2 ? -1.0f : 1.0f) * (30.0f + i);
    x[N + OUT - 2] = 50.0f;
    CalibRange r = observe(CALIB_ENTROPY, 0, x, N + OUT);
    cr_log_info("entropy threshold on N(0,1) + outliers: [%g, %g] (max %g)", r.lo, r.hi, r.max);
    cr_expect_eq(r.max, 50.0f);
    cr_expect(r.hi < 10.0f && r.hi > 2.5f, "hi %g", r.hi);
    cr_expect_float_eq(r.lo, -r.hi, 1e-6, "symmetric threshold: lo %g hi %g", r.lo, r.hi);
    free(x);
}

/* Everything in the first 10 bins: every threshold from 128 bins on loses nothing (KL = 0),
 * and the first minimum, 128 bins, wins. */
Test(entropy, search_prefers_the_smallest_lossless_threshold) {
    uint64_t h[BINS] = {0};
    for (int k = 0; k < 10; k++) h[k] = 100 + 7 * k;
    cr_expect_float_eq(calib_entropy_threshold(h, BINS, 0.5, CALIB_QUANT_LEVELS), 128 * 0.5, 1e-12);
}

/* A one-bin spike far out: folding it into a short threshold costs KL, keeping all of it
 * (with a flat bulk that loses no shape when merged) costs nothing. */
Test(entropy, flat_bulk_with_one_far_spike_keeps_the_spike) {
    uint64_t h[BINS] = {0};
    for (int k = 0; k < 512; k++) h[k] = 1000;
    h[BINS - 1] = 50;
    cr_expect_float_eq(calib_entropy_threshold(h, BINS, 1.0, CALIB_QUANT_LEVELS), (double)BINS, 1e-12);
}

/* A few tight clusters (the logits of 8 near-identical inputs, as kws_in.npy gives): below a
 * threshold that keeps only the first cluster, P and Q are one point mass and KL is ~0, while
 * every threshold keeping more pays for clusters split over two bins of one level. The
 * point-mass threshold must not win. */
Test(entropy, single_cluster_threshold_is_not_degenerate) {
    uint64_t h[BINS] = {0};
    h[145] = 3;
    h[1000] = 2;
    h[1001] = 6;
    h[BINS - 2] = 3;
    h[BINS - 1] = 5;
    double t = calib_entropy_threshold(h, BINS, 1.0, CALIB_QUANT_LEVELS);
    cr_expect_geq(t, 1001.0, "threshold %g keeps only the first cluster", t);
}

/* Uniform on [0, A]: E(H) = H^3 / (12 * 255^2 A) + (A - H)^3 / (3A) is smallest at
 * H = 510/511 A; the search finds the bin edge next to it. */
Test(mse, uniform_returns_its_max_less_the_rounding_tradeoff) {
    enum { N = 200000 };
    float *x = malloc(sizeof(float) * N);
    cr_assert_not_null(x);
    for (int i = 0; i < N; i++) x[i] = (float)((i + 0.5) / N * 4.0);
    CalibRange r = observe(CALIB_MSE, 0, x, N);
    cr_expect_eq(r.lo, 0.0f);
    double want = 4.0 * 510 / 511, bin = 4.0 / BINS;
    cr_expect(fabs(r.hi - want) <= bin, "hi %.6f, want %.6f", r.hi, want);
    cr_expect(r.hi >= 0.997f * r.max, "hi %g max %g", r.hi, r.max);
    free(x);
}

/* Uniform on [-1, 1]: by symmetry L = -H, and E(a) = a (2a/255)^2 / 12 + (1 - a)^3 / 3
 * (both tails, halved density) is smallest at a = 255/256. */
Test(mse, signed_uniform_is_symmetric) {
    enum { N = 200000 };
    float *x = malloc(sizeof(float) * N);
    cr_assert_not_null(x);
    for (int i = 0; i < N; i++) x[i] = (float)(-1.0 + 2.0 * (i + 0.5) / N);
    CalibRange r = observe(CALIB_MSE, 0, x, N);
    double want = 255.0 / 256, bin = 2.0 / BINS;
    cr_expect(fabs(r.hi - want) <= bin, "hi %.6f, want %.6f", r.hi, want);
    cr_expect(fabs(r.lo + want) <= bin, "lo %.6f, want %.6f", r.lo, -want);
    free(x);
}

/* A bell shape: clipping the rare extremes lowers the MSE, so the range ends inside
 * (0, max), and not absurdly tight (8-bit optima for a Gaussian are around 4 sigma). */
Test(mse, gaussian_clips_the_extremes) {
    enum { N = 100000 };
    float *x = malloc(sizeof(float) * N);
    cr_assert_not_null(x);
    uint64_t s = 7;
    for (int i = 0; i < N; i++) x[i] = normal(&s);
    CalibRange r = observe(CALIB_MSE, 0, x, N);
    cr_log_info("mse range on N(0,1): [%g, %g] of [%g, %g]", r.lo, r.hi, r.min, r.max);
    cr_expect(r.hi < r.max && r.hi > 2.5f, "hi %g max %g", r.hi, r.max);
    cr_expect(r.lo > r.min && r.lo < -2.5f, "lo %g min %g", r.lo, r.min);
    free(x);
}

/* Feeding in pieces gives the same histogram, hence the same range, as feeding at once. */
Test(observer, chunked_feeding_matches_whole) {
    float *x = even_values();
    for (int m = CALIB_PERCENTILE; m <= CALIB_MSE; m++) {
        CalibRange whole = observe((CalibMethod)m, 99, x, N_EVEN);
        CalibObserver *ob = observer((CalibMethod)m, 99);
        for (int off = 0; off < N_EVEN; off += 999)
            calib_observer_minmax(ob, x + off, N_EVEN - off < 999 ? N_EVEN - off : 999);
        for (int off = 0; off < N_EVEN; off += 1234)
            calib_observer_histogram(ob, x + off, N_EVEN - off < 1234 ? N_EVEN - off : 1234);
        CalibRange r = calib_observer_range(ob);
        cr_expect_eq(r.lo, whole.lo, "%s", calib_method_name((CalibMethod)m));
        cr_expect_eq(r.hi, whole.hi, "%s", calib_method_name((CalibMethod)m));
        calib_observer_free(ob);
    }
    free(x);
}
