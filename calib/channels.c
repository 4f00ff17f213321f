/*
 * channels.c — calib_collect_channels: the extremes of every channel (axis 1) of some values
 * of a float graph over a calibration dataset.
 *
 * The quantizer (passes/quantize_qdq.c) asks this for a conv output read only by a table
 * (QLut): one per-tensor int8 scale crushes its small channels (PaddleOCR PP-OCRv4 det's
 * p2o.Conv.2: channel ranges 2.6 .. 173), and the channel extremes say how much each channel
 * can be stretched into the shared range. One run of the reference executor with an
 * on_value hook, as collect.c does; extremes only (no histograms), so one pass.
 */
#include "calib_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/rt_exec.h"

typedef struct {
    const IrGraph *g;
    int *slot_of;                 /* [n_values] owned: index into the lists, -1 if not asked for */
    const int64_t *channels;      /* borrowed [n] */
    float *const *cmin, *const *cmax; /* borrowed [n][channels[i]] */
    char *seen;                   /* [n] owned: per value, 1 once observed; per channel in chseen */
    char **chseen;                /* [n][channels[i]] owned: channel observed a finite value */
    int bad;                      /* index + 1 of a value whose shape did not fit */
} Channels;

/* Folds float32 tensor t [d0, C, rest...] into the extremes of list entry i. */
static void channels_feed(Channels *s, int i, const RtTensor *t) {
    int64_t C = s->channels[i];
    if (t->dtype != RT_F32 || t->rank < 2 || t->dims[1] != C || !t->data) {
        if (!s->bad) s->bad = i + 1;
        return;
    }
    int64_t inner = 1;
    for (int d = 2; d < t->rank; d++) inner *= t->dims[d];
    const float *x = t->data;
    for (int64_t o = 0; o < t->dims[0]; o++)
        for (int64_t c = 0; c < C; c++) {
            const float *p = x + (o * C + c) * inner;
            float lo = s->cmin[i][c], hi = s->cmax[i][c];
            char seen = s->chseen[i][c];
            for (int64_t j = 0; j < inner; j++) {
                if (!isfinite(p[j])) continue;
                if (!seen || p[j] < lo) lo = p[j];
                if (!seen || p[j] > hi) hi = p[j];
                seen = 1;
            }
            s->cmin[i][c] = lo, s->cmax[i][c] = hi, s->chseen[i][c] = seen;
        }
    s->seen[i] = 1;
}

static void channels_hook(void *user, int slot, const RtTensor *t) {
    Channels *s = user;
    if (slot >= 0 && slot < s->g->n_values && s->slot_of[slot] >= 0) channels_feed(s, s->slot_of[slot], t);
}

static void channels_free(Channels *s, int n) {
    for (int i = 0; s->chseen && i < n; i++) free(s->chseen[i]);
    free(s->chseen);
    free(s->slot_of);
    free(s->seen);
}

int calib_collect_channels(const IrGraph *g, CalibDataset *d, const int *values, const int64_t *channels, int n,
                           const CalibOptions *o, float *const *cmin, float *const *cmax, RtError *err) {
    CalibOptions def;
    if (!o) {
        calib_options_default(&def);
        o = &def;
    }
    CALIB_TRY(calib_options_check(o, err));
    if (n <= 0) return RT_OK;
    CALIB_TRY(calib_dataset_bind(d, g, err));
    int64_t rows = calib_dataset_rows(d), batch;
    if (rows == 0) return rt_error_set(err, "the calibration dataset has no rows");
    CALIB_TRY(calib_batch_rows(g, o->batch, rows, &batch, err));
    Channels s;
    memset(&s, 0, sizeof s);
    s.g = g, s.channels = channels, s.cmin = cmin, s.cmax = cmax;
    s.slot_of = malloc(sizeof(int) * (size_t)(g->n_values + 1));
    s.seen = calloc((size_t)n, 1);
    s.chseen = calloc((size_t)n, sizeof *s.chseen);
    int r = s.slot_of && s.seen && s.chseen ? RT_OK : rt_error_set(err, "out of memory");
    for (int v = 0; r == RT_OK && v < g->n_values; v++) s.slot_of[v] = -1;
    for (int i = 0; r == RT_OK && i < n; i++) {
        if (values[i] < 0 || values[i] >= g->n_values || channels[i] < 1)
            r = rt_error_set(err, "channel calibration of value %d (%lld channels): no such value", values[i],
                             (long long)channels[i]);
        else if (!(s.chseen[i] = calloc((size_t)channels[i], 1)))
            r = rt_error_set(err, "out of memory");
        else {
            s.slot_of[values[i]] = i;
            memset(cmin[i], 0, sizeof(float) * (size_t)channels[i]);
            memset(cmax[i], 0, sizeof(float) * (size_t)channels[i]);
        }
    }
    IrLowered *low = r == RT_OK ? ir_lower(g, err) : NULL;
    if (r == RT_OK && !low) r = RT_ERR;
    RtTensor *in = calloc((size_t)g->n_inputs + 1, sizeof *in);
    RtTensor *out = calloc((size_t)g->n_outputs + 1, sizeof *out);
    if (r == RT_OK && (!in || !out)) r = rt_error_set(err, "out of memory");
    RtRunOptions ro;
    memset(&ro, 0, sizeof ro);
    ro.on_value = channels_hook;
    ro.hook_user = &s;
    for (int64_t row = 0; r == RT_OK;) {
        int64_t got = calib_dataset_batch(d, row, batch, in, err);
        if (got < 0) r = (int)got;
        if (got <= 0) break;
        r = rt_graph_run_opts(ir_lowered_graph(low), in, out, &ro, err);
        for (int i = 0; r == RT_OK && i < g->n_outputs; i++) rt_tensor_free(rt_allocator_default(), &out[i]);
        row += got;
    }
    if (r == RT_OK && s.bad) /* first: a value of the wrong shape is never marked seen */
        r = rt_error_set(err, "value '%s' is not float32 with %lld channels on axis 1",
                         g->values[values[s.bad - 1]].name, (long long)channels[s.bad - 1]);
    for (int i = 0; r == RT_OK && i < n; i++)
        if (!s.seen[i])
            r = rt_error_set(err, "calibration never saw value '%s': no node of the graph computes it",
                             g->values[values[i]].name);
    free(in);
    free(out);
    ir_lowered_free(low);
    channels_free(&s, n);
    return r;
}
