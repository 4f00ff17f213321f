/*
 * collect.c — calib_collect: run a float graph over a calibration dataset and turn the
 * values it computes into quantization ranges.
 *
 * The graph is lowered once and run batch by batch through the reference executor with an
 * on_value hook (runtime/rt_exec.h): after each node, the hook hands the outputs that were
 * asked for to their observers, before the executor frees them. Graph inputs asked for are
 * observed from the batch itself, constants from their data (once per pass). Pass 1 feeds
 * min/max; pass 2, only for the histogram methods, runs the dataset again and fills the
 * histograms over pass 1's ranges. Between batches nothing is kept but observer state, so
 * memory is one batch of activations whatever the dataset size.
 */
#include "calib_internal.h"

#include <stdlib.h>
#include <string.h>

#include "../runtime/rt_exec.h"

#define CALIB_CHUNK 1024  /* floats converted at a time for non-float32 values (on the stack) */

typedef struct Collect {
    const IrGraph *g;
    CalibObserver **obs;  /* [n_obs] owned */
    int n_obs;
    int *obs_of;          /* [n_values] owned: observer of each value, -1 if none */
    char *seen;           /* [n_obs] owned: 1 once pass 1 handed the observer a tensor */
    int pass;             /* 1 = min/max, 2 = histograms */
} Collect;

/* Hands all elements of t to ob for the current pass, as floats. */
static void collect_feed(const Collect *s, CalibObserver *ob, const RtTensor *t) {
    int64_t n = rt_numel(t);
    if (!t->data || n <= 0) return;
    void (*feed)(CalibObserver *, const float *, int64_t) =
        s->pass == 1 ? calib_observer_minmax : calib_observer_histogram;
    if (t->dtype == RT_F32) {
        feed(ob, t->data, n);
        return;
    }
    float buf[CALIB_CHUNK];
    for (int64_t off = 0; off < n; off += CALIB_CHUNK) {
        int64_t m = n - off < CALIB_CHUNK ? n - off : CALIB_CHUNK;
        calib_to_float(t->dtype, t->data, off, m, buf);
        feed(ob, buf, m);
    }
}

static void collect_value(Collect *s, int v, const RtTensor *t) {
    int k = s->obs_of[v];
    if (k < 0) return;
    s->seen[k] = 1;
    collect_feed(s, s->obs[k], t);
}

static void collect_hook(void *user, int slot, const RtTensor *t) {
    Collect *s = user;
    if (slot >= 0 && slot < s->g->n_values) collect_value(s, slot, t);
}

static void collect_free(Collect *s) {
    for (int k = 0; k < s->n_obs; k++) calib_observer_free(s->obs[k]);
    free(s->obs);
    free(s->obs_of);
    free(s->seen);
}

/* One observer per distinct value asked for; each value must be something the graph has. */
static int collect_init(Collect *s, const IrGraph *g, const int *values, int n, const CalibOptions *o,
                        RtError *err) {
    memset(s, 0, sizeof *s);
    s->g = g;
    s->obs = calloc((size_t)n + 1, sizeof *s->obs);
    s->obs_of = malloc(sizeof(int) * (size_t)(g->n_values + 1));
    s->seen = calloc((size_t)n + 1, 1);
    if (!s->obs || !s->obs_of || !s->seen) return rt_error_set(err, "out of memory");
    for (int v = 0; v < g->n_values; v++) s->obs_of[v] = -1;
    for (int i = 0; i < n; i++) {
        int v = values[i];
        if (v < 0 || v >= g->n_values)
            return rt_error_set(err, "calibration value index %d out of range (graph has %d values)", v,
                                g->n_values);
        if (s->obs_of[v] >= 0) continue;
        s->obs[s->n_obs] = calib_observer_new(o);
        if (!s->obs[s->n_obs]) return rt_error_set(err, "out of memory");
        s->obs_of[v] = s->n_obs++;
    }
    return RT_OK;
}

int calib_batch_rows(const IrGraph *g, int64_t want, int64_t rows, int64_t *batch, RtError *err) {
    *batch = want;
    for (int i = 0; i < g->n_inputs; i++) {
        const IrValue *v = &g->values[g->inputs[i]];
        if (v->rank < 1 || v->dims[0].value < 0) continue;
        if (v->dims[0].value == 0)
            return rt_error_set(err, "graph input '%s' has a fixed batch of 0 rows", v->name);
        *batch = v->dims[0].value;
        if (rows % *batch)
            return rt_error_set(err, "graph input '%s' takes exactly %lld rows per run, and the "
                                     "%lld calibration rows are not a multiple of it", v->name,
                                (long long)*batch, (long long)rows);
    }
    return RT_OK;
}

/* Observes the constants asked for (the executor reads them, it does not produce them). */
static void collect_constants(Collect *s) {
    for (int v = 0; v < s->g->n_values; v++)
        if (s->obs_of[v] >= 0 && s->g->values[v].konst) collect_value(s, v, s->g->values[v].konst);
}

/* One pass over the dataset. */
static int collect_pass(Collect *s, const RtGraph *rg, CalibDataset *d, int64_t batch,
                        const CalibOptions *o, RtError *err) {
    const IrGraph *g = s->g;
    RtTensor *in = calloc((size_t)g->n_inputs + 1, sizeof *in);
    RtTensor *out = calloc((size_t)g->n_outputs + 1, sizeof *out);
    int r = in && out ? RT_OK : rt_error_set(err, "out of memory");
    RtRunOptions ro;
    memset(&ro, 0, sizeof ro);
    ro.on_value = collect_hook;
    ro.hook_user = s;
    int64_t rows = calib_dataset_rows(d);
    collect_constants(s);
    for (int64_t row = 0; r == RT_OK;) {
        int64_t got = calib_dataset_batch(d, row, batch, in, err);
        if (got < 0) r = (int)got;
        if (got <= 0) break;
        for (int i = 0; i < g->n_inputs; i++) collect_value(s, g->inputs[i], &in[i]);
        r = rt_graph_run_opts(rg, in, out, &ro, err);
        if (r != RT_OK) break;
        for (int i = 0; i < g->n_outputs; i++) rt_tensor_free(rt_allocator_default(), &out[i]);
        row += got;
        if (o->on_progress) o->on_progress(o->progress_user, s->pass, row, rows);
    }
    free(in);
    free(out);
    return r;
}

int calib_collect(const IrGraph *g, CalibDataset *d, const int *values, int n, const CalibOptions *o,
                  CalibRange *out, RtError *err) {
    CalibOptions def;
    if (!o) {
        calib_options_default(&def);
        o = &def;
    }
    CALIB_TRY(calib_options_check(o, err));
    if (n < 0) return rt_error_set(err, "negative number of calibration values");
    CALIB_TRY(calib_dataset_bind(d, g, err));
    int64_t rows = calib_dataset_rows(d), batch;
    if (rows == 0) return rt_error_set(err, "the calibration dataset has no rows");
    CALIB_TRY(calib_batch_rows(g, o->batch, rows, &batch, err));
    Collect s;
    int r = collect_init(&s, g, values, n, o, err);
    IrLowered *low = r == RT_OK ? ir_lower(g, err) : NULL;
    if (r == RT_OK && !low) r = RT_ERR;
    int need_hist = 0;
    for (int k = 0; k < s.n_obs; k++) need_hist |= calib_observer_needs_histogram(s.obs[k]);
    for (s.pass = 1; r == RT_OK && s.pass <= (need_hist ? 2 : 1); s.pass++)
        r = collect_pass(&s, ir_lowered_graph(low), d, batch, o, err);
    for (int i = 0; r == RT_OK && i < n; i++) {
        int k = s.obs_of[values[i]];
        if (!s.seen[k])
            r = rt_error_set(err, "calibration never saw value '%s': no node of the graph computes it",
                             g->values[values[i]].name);
        else
            out[i] = calib_observer_range(s.obs[k]);
    }
    ir_lowered_free(low);
    collect_free(&s);
    return r;
}
