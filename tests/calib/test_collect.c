/*
 * test_collect.c — calib_collect on digits_mlp with calib_x.npy (128 rows): the min-max
 * ranges of every Gemm output, of the graph input and of a constant match a direct
 * computation (the whole set run at once with those values made graph outputs), whatever
 * the batch size; the histogram methods run two passes and stay inside the min-max range;
 * bad requests fail with a message.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../calib/calib.h"
#include "../../frontend/onnx.h"
#include "../../io/npy.h"

#define MODEL FIXTURES "/digits/digits_mlp.onnx"
#define CALIB_X FIXTURES "/digits/calib_x.npy"
#define MAX_VALS 8
/* Batched and whole-set runs may use different GEMM blockings (OpenBLAS picks kernels by
 * M), so sums of K <= 256 products can differ in the last bits: ~K * eps(f32) ~ 3e-5
 * relative to the value's magnitude. */
#define TOL_REL 3e-5

static IrGraph *load(void) {
    RtError err = {{0}};
    IrGraph *g = onnx_load_file(MODEL, NULL, &err);
    cr_assert_not_null(g, "%s", err.msg);
    return g;
}

static CalibDataset *open_x(const char *name) {
    const char *names[1] = {name}, *paths[1] = {CALIB_X};
    RtError err = {{0}};
    CalibDataset *d = calib_dataset_open(1, names, paths, &err);
    cr_assert_not_null(d, "%s", err.msg);
    return d;
}

/* The values to calibrate: every Gemm output, then the graph input, then the first Gemm's
 * weight (a constant). Returns how many Gemm outputs there are. */
static int pick_values(const IrGraph *g, int *vals, int *n) {
    int gemms = 0;
    *n = 0;
    for (int k = 0; k < g->n_nodes; k++)
        if (g->nodes[k].op == RT_OP_GEMM) vals[(*n)++] = g->nodes[k].out[0], gemms++;
    cr_assert_eq(gemms, 3, "digits_mlp has 3 Gemm nodes");
    vals[(*n)++] = g->inputs[0];
    for (int k = 0; k < g->n_nodes; k++)
        if (g->nodes[k].op == RT_OP_GEMM) {
            vals[(*n)++] = g->nodes[k].in[1];
            cr_assert_not_null(g->values[g->nodes[k].in[1]].konst);
            break;
        }
    return gemms;
}

static void minmax_of(const RtTensor *t, float *lo, float *hi) {
    const float *p = t->data;
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int64_t i = 0; i < rt_numel(t); i++) {
        *lo = fminf(*lo, p[i]);
        *hi = fmaxf(*hi, p[i]);
    }
}

/* The direct computation: all 128 rows in one run, the Gemm outputs made graph outputs. */
static void direct_ranges(IrGraph *g, const int *vals, int gemms, float *lo, float *hi) {
    RtTensor x;
    RtError err = {{0}};
    cr_assert_eq(npy_read(CALIB_X, &x, &err), RT_OK, "%s", err.msg);
    int *outs = malloc(sizeof(int) * (size_t)gemms), *saved = g->outputs, n_saved = g->n_outputs;
    memcpy(outs, vals, sizeof(int) * (size_t)gemms);
    g->outputs = outs;
    g->n_outputs = gemms;
    RtTensor out[MAX_VALS];
    cr_assert_eq(ir_run(g, &x, out, &err), RT_OK, "%s", err.msg);
    for (int i = 0; i < gemms; i++) {
        cr_assert_eq(out[i].dims[0], 128);
        minmax_of(&out[i], &lo[i], &hi[i]);
        free(out[i].data);
    }
    minmax_of(&x, &lo[gemms], &hi[gemms]);
    minmax_of(g->values[vals[gemms + 1]].konst, &lo[gemms + 1], &hi[gemms + 1]);
    g->outputs = saved;
    g->n_outputs = n_saved;
    free(outs);
    free(x.data);
}

typedef struct {
    int calls[3];         /* per pass */
    int64_t last_done, total;
} Progress;

static void on_progress(void *user, int pass, int64_t done, int64_t total) {
    Progress *p = user;
    cr_assert(pass == 1 || pass == 2);
    p->calls[pass]++;
    p->last_done = done;
    p->total = total;
}

static void expect_close(float got, float want, const char *what, int i) {
    float tol = (float)TOL_REL * fmaxf(1.0f, fabsf(want));
    cr_expect(fabsf(got - want) <= tol, "value %d %s: %.7g, direct %.7g", i, what, got, want);
}

Test(collect, minmax_matches_direct_computation) {
    IrGraph *g = load();
    int vals[MAX_VALS], n;
    int gemms = pick_values(g, vals, &n);
    float lo[MAX_VALS], hi[MAX_VALS];
    direct_ranges(g, vals, gemms, lo, hi);
    const int64_t batches[] = {50, 1, 128, 1000};
    for (int b = 0; b < 4; b++) {
        CalibDataset *d = open_x("x");
        CalibOptions o;
        calib_options_default(&o);
        o.batch = batches[b];
        Progress pr = {{0}, 0, 0};
        o.on_progress = on_progress;
        o.progress_user = &pr;
        CalibRange r[MAX_VALS];
        RtError err = {{0}};
        cr_assert_eq(calib_collect(g, d, vals, n, &o, r, &err), RT_OK, "%s", err.msg);
        cr_expect_eq(pr.calls[1], (int)((128 + batches[b] - 1) / batches[b]), "batch %lld",
                     (long long)batches[b]);
        cr_expect_eq(pr.calls[2], 0, "min-max needs one pass");
        cr_expect_eq(pr.last_done, 128);
        cr_expect_eq(pr.total, 128);
        for (int i = 0; i < n; i++) {
            expect_close(r[i].min, lo[i], "min", i);
            expect_close(r[i].max, hi[i], "max", i);
            expect_close(r[i].lo, fminf(lo[i], 0), "lo", i);
            expect_close(r[i].hi, fmaxf(hi[i], 0), "hi", i);
        }
        calib_dataset_free(d);
    }
    ir_graph_free(g);
}

Test(collect, histogram_methods_two_passes_inside_minmax) {
    IrGraph *g = load();
    int vals[MAX_VALS], n;
    pick_values(g, vals, &n);
    CalibRange mm[MAX_VALS];
    RtError err = {{0}};
    CalibDataset *d = open_x("x");
    cr_assert_eq(calib_collect(g, d, vals, n, NULL, mm, &err), RT_OK, "%s", err.msg);
    for (int m = CALIB_PERCENTILE; m <= CALIB_MSE; m++) {
        CalibOptions o;
        calib_options_default(&o);
        o.method = (CalibMethod)m;
        o.batch = 40;
        Progress pr = {{0}, 0, 0};
        o.on_progress = on_progress;
        o.progress_user = &pr;
        CalibRange r[MAX_VALS];
        cr_assert_eq(calib_collect(g, d, vals, n, &o, r, &err), RT_OK, "%s", err.msg);
        cr_expect_eq(pr.calls[1], 4);
        cr_expect_eq(pr.calls[2], 4, "%s needs a second pass", calib_method_name((CalibMethod)m));
        for (int i = 0; i < n; i++) {
            cr_log_info("%s value %d: [%g, %g] of [%g, %g]", calib_method_name((CalibMethod)m), i, r[i].lo,
                        r[i].hi, mm[i].lo, mm[i].hi);
            cr_expect_eq(r[i].min, mm[i].min);
            cr_expect_eq(r[i].max, mm[i].max);
            cr_expect(r[i].lo >= mm[i].lo && r[i].hi <= mm[i].hi && r[i].lo <= 0 && r[i].hi > 0,
                      "%s value %d: [%g, %g] vs min-max [%g, %g]", calib_method_name((CalibMethod)m), i,
                      r[i].lo, r[i].hi, mm[i].lo, mm[i].hi);
            /* None of them should throw most of the range away on real activations. */
            cr_expect(r[i].hi >= 0.25f * mm[i].hi, "%s value %d: hi %g of %g",
                      calib_method_name((CalibMethod)m), i, r[i].hi, mm[i].hi);
        }
    }
    calib_dataset_free(d);
    ir_graph_free(g);
}

Test(collect, bad_requests_fail_with_a_message) {
    IrGraph *g = load();
    CalibRange r[2];
    RtError err = {{0}};
    int bad = g->n_values + 5;
    CalibDataset *d = open_x("x");
    cr_expect_eq(calib_collect(g, d, &bad, 1, NULL, r, &err), RT_ERR);
    cr_expect(strstr(err.msg, "out of range") != NULL, "%s", err.msg);
    CalibOptions o;
    calib_options_default(&o);
    o.method = CALIB_PERCENTILE;
    o.percentile = 120;
    memset(&err, 0, sizeof err);
    int v = g->outputs[0];
    cr_expect_eq(calib_collect(g, d, &v, 1, &o, r, &err), RT_ERR);
    cr_expect(strstr(err.msg, "percentile") != NULL, "%s", err.msg);
    calib_dataset_free(d);
    /* Data named for an input the graph does not have. */
    d = open_x("image");
    memset(&err, 0, sizeof err);
    cr_expect_eq(calib_collect(g, d, &v, 1, NULL, r, &err), RT_ERR);
    cr_expect(strstr(err.msg, "'x'") != NULL, "%s", err.msg);
    calib_dataset_free(d);
    ir_graph_free(g);
}

/* calib_collect_channels: each Gemm output [128, C] column's extremes match the whole set run
 * at once (ir_run with the Gemm outputs made graph outputs), whatever the batch size; a
 * channel count that does not match axis 1 fails naming the value. */
Test(collect, channel_extremes_match_direct_computation) {
    IrGraph *g = load();
    int vals[MAX_VALS], n;
    int gemms = pick_values(g, vals, &n);
    RtTensor x;
    RtError err = {{0}};
    cr_assert_eq(npy_read(CALIB_X, &x, &err), RT_OK, "%s", err.msg);
    int *saved = g->outputs, n_saved = g->n_outputs;
    g->outputs = vals;
    g->n_outputs = gemms;
    RtTensor out[MAX_VALS];
    cr_assert_eq(ir_run(g, &x, out, &err), RT_OK, "%s", err.msg);
    g->outputs = saved;
    g->n_outputs = n_saved;
    int64_t C[MAX_VALS];
    float *lo[MAX_VALS], *hi[MAX_VALS];
    for (int i = 0; i < gemms; i++) {
        cr_assert_eq(out[i].rank, 2);
        C[i] = out[i].dims[1];
        lo[i] = malloc(sizeof(float) * (size_t)(C[i] + 1)); /* + 1: the wrong count below writes C + 1 */
        hi[i] = malloc(sizeof(float) * (size_t)(C[i] + 1));
    }
    const int64_t batches[] = {50, 128};
    for (int b = 0; b < 2; b++) {
        CalibDataset *d = open_x("x");
        CalibOptions o;
        calib_options_default(&o);
        o.batch = batches[b];
        cr_assert_eq(calib_collect_channels(g, d, vals, C, gemms, &o, lo, hi, &err), RT_OK, "%s", err.msg);
        for (int i = 0; i < gemms; i++)
            for (int64_t c = 0; c < C[i]; c++) {
                float want_lo = INFINITY, want_hi = -INFINITY;
                for (int64_t r = 0; r < 128; r++) {
                    float v = ((const float *)out[i].data)[r * C[i] + c];
                    want_lo = fminf(want_lo, v), want_hi = fmaxf(want_hi, v);
                }
                expect_close(lo[i][c], want_lo, "channel min", (int)(i * 1000 + c));
                expect_close(hi[i][c], want_hi, "channel max", (int)(i * 1000 + c));
            }
        calib_dataset_free(d);
    }
    CalibDataset *d = open_x("x");
    int64_t wrong = C[0] + 1;
    cr_expect_eq(calib_collect_channels(g, d, vals, &wrong, 1, NULL, lo, hi, &err), RT_ERR);
    cr_expect(strstr(err.msg, g->values[vals[0]].name) != NULL && strstr(err.msg, "channels") != NULL, "%s", err.msg);
    calib_dataset_free(d);
    for (int i = 0; i < gemms; i++) free(lo[i]), free(hi[i]), free(out[i].data);
    free(x.data);
    ir_graph_free(g);
}
