/*
 * test_cascade.c — wafer_rt_cascade and wafer_rt_confidence (runtime/wafer_rt_cascade.c).
 *
 * Confidence against hand computations; the cascade on the digits models (the int8 MLP as
 * the small model, the float CNN as the large one, compiled by `wafer quantize`) against the
 * two models run alone: threshold 0 gives exactly the small model's logits, a threshold
 * above 1 exactly the large model's row by row, a middle threshold escalates exactly the
 * rows whose small-model confidence is below it, and a price signal above the cap keeps
 * every row on the small model. Then the point 2: some threshold reaches the CNN's
 * accuracy minus 0.3 points while running the CNN on at most 30% of the test inputs.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "../../runtime/wafer_rt.h"
#include "../test_util.h"

/* Softmax of a few logits in double then rounded to float: 1e-6 absolute is a few float ulps
 * of a probability in [0, 1]. */
#define CONF_TOL 1e-6

Test(cascade, confidence_hand_values) {
    float two[2] = {0, 0};
    cr_expect_float_eq(wafer_rt_confidence(two, 2, WAFER_RT_CONF_MAX_PROB), 0.5, CONF_TOL);
    cr_expect_float_eq(wafer_rt_confidence(two, 2, WAFER_RT_CONF_MARGIN), 0.0, CONF_TOL);
    /* exp(log 3) : exp(0) = 3 : 1 -> p = 0.75, 0.25; margin 0.5 */
    float l3[2] = {0, (float)log(3.0)};
    cr_expect_float_eq(wafer_rt_confidence(l3, 2, WAFER_RT_CONF_MAX_PROB), 0.75, CONF_TOL);
    cr_expect_float_eq(wafer_rt_confidence(l3, 2, WAFER_RT_CONF_MARGIN), 0.5, CONF_TOL);
    /* 3 classes, weights 4:2:2 (log 4 = 2 log 2): p = 0.5, 0.25, 0.25 */
    float l4[3] = {(float)log(2.0), (float)log(4.0), (float)log(2.0)};
    cr_expect_float_eq(wafer_rt_confidence(l4, 3, WAFER_RT_CONF_MAX_PROB), 0.5, CONF_TOL);
    cr_expect_float_eq(wafer_rt_confidence(l4, 3, WAFER_RT_CONF_MARGIN), 0.25, CONF_TOL);
    /* large logits do not overflow (max-shifted) */
    float big[2] = {1000, 0};
    cr_expect_float_eq(wafer_rt_confidence(big, 2, WAFER_RT_CONF_MAX_PROB), 1.0, CONF_TOL);
}

typedef struct {
    char dir[128];
    WaferRtModel *small, *large;
    RtTensor x, img, y;
    WaferRtTensor sx, li;
    int64_t n, C;
} Digits;

static void digits_open(Digits *d) {
    char out[8192];
    cr_assert_eq(tu_tmpdir_make(d->dir, sizeof d->dir, "wafer_cascade"), 0);
    const char *F = FIXTURES "/digits";
    int rc = tu_run(out, sizeof out,
                    "%s quantize %s/digits_mlp.onnx -o %s/mlp8.wafer --weights int8 --activations int8 "
                    "--calib x=%s/calib_x.npy && %s quantize %s/digits_cnn.onnx -o %s/cnn.wafer --weights f32",
                    WAFER_BIN, F, d->dir, F, WAFER_BIN, F, d->dir);
    cr_assert_eq(rc, 0, "%s", out);
    char p[256];
    WaferRtError e;
    snprintf(p, sizeof p, "%s/mlp8.wafer", d->dir);
    cr_assert_eq(wafer_rt_open_file(p, NULL, &d->small, &e), WAFER_RT_OK, "%s", e.msg);
    snprintf(p, sizeof p, "%s/cnn.wafer", d->dir);
    cr_assert_eq(wafer_rt_open_file(p, NULL, &d->large, &e), WAFER_RT_OK, "%s", e.msg);
    d->x = tu_fixture_npy("digits/test_x.npy");
    d->img = tu_fixture_npy("digits/test_img.npy");
    d->y = tu_fixture_npy("digits/test_y.npy");
    d->n = d->x.dims[0];
    d->C = 10;
    d->sx = (WaferRtTensor){WAFER_RT_F32, 2, {d->n, 64}, d->x.data};
    d->li = (WaferRtTensor){WAFER_RT_F32, 4, {d->n, 1, 8, 8}, d->img.data};
}

static void digits_close(Digits *d) {
    wafer_rt_close(d->small);
    wafer_rt_close(d->large);
    free(d->x.data);
    free(d->img.data);
    free(d->y.data);
    tu_tmpdir_remove(d->dir);
}

/* model run alone on all rows (or on `rows` single rows when one_by_one) into out[n*C]. */
static void run_alone(WaferRtModel *m, const WaferRtTensor *in, int64_t n, int64_t C, float *out) {
    WaferRtTensor y;
    WaferRtError e;
    cr_assert_eq(wafer_rt_run(m, in, 1, &y, 1, &e), WAFER_RT_OK, "%s", e.msg);
    memcpy(out, y.data, (size_t)(n * C) * sizeof(float));
}

static int64_t correct(const Digits *d, const float *logits) {
    int64_t ok = 0;
    for (int64_t r = 0; r < d->n; r++) {
        int64_t best = 0;
        for (int64_t c = 1; c < d->C; c++)
            if (logits[r * d->C + c] > logits[r * d->C + best]) best = c;
        ok += best == ((int64_t *)d->y.data)[r];
    }
    return ok;
}

Test(cascade, matches_the_models_run_alone) {
    Digits d;
    digits_open(&d);
    int64_t n = d.n, C = d.C;
    float *small = malloc((size_t)(n * C) * sizeof(float)), *large = malloc((size_t)(n * C) * sizeof(float));
    float *got = malloc((size_t)(n * C) * sizeof(float)), *conf = malloc((size_t)n * sizeof(float));
    unsigned char *esc = malloc((size_t)n);
    run_alone(d.small, &d.sx, n, C, small);
    run_alone(d.large, &d.li, n, C, large);
    WaferRtCascadeOptions o = {WAFER_RT_CONF_MAX_PROB, 0.0f, -1.0f, 0.0f};
    WaferRtCascadeResult res = {got, conf, esc, 0};
    WaferRtError e;
    cr_assert_eq(wafer_rt_cascade(d.small, &d.sx, 1, d.large, &d.li, 1, &o, &res, &e), WAFER_RT_OK, "%s", e.msg);
    cr_expect_eq(res.n_escalated, 0);
    cr_expect_eq(memcmp(got, small, (size_t)(n * C) * sizeof(float)), 0, "threshold 0: the small model's logits");
    o.threshold = 1.5f;
    cr_assert_eq(wafer_rt_cascade(d.small, &d.sx, 1, d.large, &d.li, 1, &o, &res, &e), WAFER_RT_OK, "%s", e.msg);
    cr_expect_eq(res.n_escalated, n);
    /* batch-1 and batch-600 runs of the CNN may sum in another order: compare with a float
     * tolerance of a few ulps of the logits' magnitude */
    cr_expect_lt(tu_max_rel_diff(got, large, (long)(n * C)), 1e-5);
    o.threshold = 0.9f;
    cr_assert_eq(wafer_rt_cascade(d.small, &d.sx, 1, d.large, &d.li, 1, &o, &res, &e), WAFER_RT_OK, "%s", e.msg);
    int64_t want = 0;
    for (int64_t r = 0; r < n; r++) {
        float c = wafer_rt_confidence(small + r * C, C, WAFER_RT_CONF_MAX_PROB);
        cr_expect_float_eq(conf[r], c, 0);
        cr_expect_eq(esc[r], c < 0.9f, "row %lld", (long long)r);
        want += c < 0.9f;
        const float *ref = esc[r] ? large : small;
        cr_expect_lt(tu_max_rel_diff(got + r * C, ref + r * C, C), 1e-5, "row %lld", (long long)r);
    }
    cr_expect_eq(res.n_escalated, want);
    cr_expect_gt(want, 0);
    cr_expect_lt(want, n);
    /* the price signal above the cap keeps everything on the small model */
    o.price_signal = 0.8f;
    o.price_cap = 0.7f;
    cr_assert_eq(wafer_rt_cascade(d.small, &d.sx, 1, d.large, &d.li, 1, &o, &res, &e), WAFER_RT_OK, "%s", e.msg);
    cr_expect_eq(res.n_escalated, 0);
    o.price_signal = 0.6f;
    cr_assert_eq(wafer_rt_cascade(d.small, &d.sx, 1, d.large, &d.li, 1, &o, &res, &e), WAFER_RT_OK, "%s", e.msg);
    cr_expect_eq(res.n_escalated, want);
    free(small);
    free(large);
    free(got);
    free(conf);
    free(esc);
    digits_close(&d);
}

/* The point 2: accuracy >= CNN - 0.3 points with the CNN on <= 30% of the inputs. */
Test(cascade, int8_mlp_to_cnn_reaches_cnn_accuracy_on_few_inputs) {
    Digits d;
    digits_open(&d);
    int64_t n = d.n, C = d.C;
    float *large = malloc((size_t)(n * C) * sizeof(float)), *got = malloc((size_t)(n * C) * sizeof(float));
    run_alone(d.large, &d.li, n, C, large);
    double cnn_acc = (double)correct(&d, large) / (double)n;
    cr_expect_float_eq(cnn_acc, 596.0 / 600.0, 1e-12, "the CNN's accuracy from the fixtures' README");
    int found = 0;
    const float thresholds[] = {0.5f, 0.6f, 0.7f, 0.8f, 0.9f, 0.95f, 0.99f, 0.999f};
    WaferRtError e;
    for (size_t k = 0; k < sizeof thresholds / sizeof thresholds[0] && !found; k++) {
        WaferRtCascadeOptions o = {WAFER_RT_CONF_MAX_PROB, thresholds[k], -1.0f, 0.0f};
        WaferRtCascadeResult res = {got, NULL, NULL, 0};
        cr_assert_eq(wafer_rt_cascade(d.small, &d.sx, 1, d.large, &d.li, 1, &o, &res, &e), WAFER_RT_OK, "%s", e.msg);
        double acc = (double)correct(&d, got) / (double)n, frac = (double)res.n_escalated / (double)n;
        found = acc >= cnn_acc - 0.003 && frac <= 0.30;
        cr_log_info("threshold %.3f: accuracy %.4f, escalated %.3f", thresholds[k], acc, frac);
    }
    cr_expect(found, "no threshold reached CNN accuracy - 0.003 with <= 30%% escalated");
    free(large);
    free(got);
    digits_close(&d);
}

Test(cascade, bad_arguments) {
    Digits d;
    digits_open(&d);
    float got[10];
    WaferRtCascadeOptions o = {WAFER_RT_CONF_MAX_PROB, 0.5f, -1.0f, 0.0f};
    WaferRtCascadeResult res = {got, NULL, NULL, 0};
    WaferRtError e;
    WaferRtTensor one = d.li;
    one.dims[0] = 1; /* the large model's rows disagree with the small model's */
    cr_expect_neq(wafer_rt_cascade(d.small, &d.sx, 1, d.large, &one, 1, &o, &res, &e), WAFER_RT_OK);
    cr_expect(strstr(e.msg, "large") && strstr(e.msg, "600"), "%s", e.msg);
    o.confidence = 7;
    cr_expect_neq(wafer_rt_cascade(d.small, &d.sx, 1, d.large, &d.li, 1, &o, &res, &e), WAFER_RT_OK);
    cr_expect(strstr(e.msg, "confidence"), "%s", e.msg);
    o.confidence = WAFER_RT_CONF_MARGIN;
    /* swapped inputs: the small model is given images */
    cr_expect_neq(wafer_rt_cascade(d.small, &d.li, 1, d.large, &d.li, 1, &o, &res, &e), WAFER_RT_OK);
    digits_close(&d);
}
