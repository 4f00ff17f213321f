/*
 * quantize_report.c — the quantization report: entries the pass records (every quantized
 * tensor with its scales, zero points and observer; every quantized layer with the value that
 * carries its output), the output error of each layer on a dataset, and the JSON text.
 *
 * Error measurement streams: for each batch the float graph runs first and a value hook copies
 * the compared values (one batch of them is all that is held); then the quantized graph runs
 * and its hook dequantizes each layer's int8 output ((q - zp) * scale) or takes its float
 * output, and adds sum (q - ref)^2 and sum ref^2 into double accumulators. The error is
 * sqrt(sum (q - ref)^2 / sum ref^2), the relative RMS error over all calibration rows. Both
 * graphs run end to end, so a layer's error includes what the layers before it contributed:
 * it is the quantized model's error at that point, not the layer's error in isolation.
 */
#include "quantize_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../io/text_buf.h"
#include "../runtime/rt_exec.h"

static char *dup_str(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

void quant_report_free(QuantReport *r) {
    if (!r) return;
    for (int i = 0; i < r->n_tensors; i++) {
        free(r->tensors[i].name);
        free(r->tensors[i].node);
    }
    for (int i = 0; i < r->n_layers; i++) {
        QuantLayerInfo *l = &r->layers[i];
        free(l->node);
        free(l->op);
        free(l->new_op);
        free(l->value);
        free(l->qvalue);
        free(l->q_scales);
    }
    free(r->tensors);
    free(r->layers);
    memset(r, 0, sizeof *r);
}

static int grow(void **arr, int *cap, int need, size_t elem) {
    if (need <= *cap) return 0;
    int nc = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, (size_t)nc * elem);
    if (!p) return -1;
    *arr = p;
    *cap = nc;
    return 0;
}

QuantTensorInfo *qz_report_tensor(QuantReport *r, const char *name, const char *node, RtError *err) {
    if (grow((void **)&r->tensors, &r->cap_tensors, r->n_tensors + 1, sizeof *r->tensors))
        return rt_error_set(err, "out of memory"), NULL;
    QuantTensorInfo *t = &r->tensors[r->n_tensors];
    memset(t, 0, sizeof *t);
    t->name = dup_str(name);
    t->node = dup_str(node ? node : "");
    if (!t->name || !t->node) {
        free(t->name);
        free(t->node);
        return rt_error_set(err, "out of memory"), NULL;
    }
    t->granularity = "tensor";
    t->lo = t->hi = t->min = t->max = NAN;
    r->n_tensors++;
    return t;
}

QuantLayerInfo *qz_report_layer(QuantReport *r, const char *node, const char *op, const char *value,
                                RtError *err) {
    if (grow((void **)&r->layers, &r->cap_layers, r->n_layers + 1, sizeof *r->layers))
        return rt_error_set(err, "out of memory"), NULL;
    QuantLayerInfo *l = &r->layers[r->n_layers];
    memset(l, 0, sizeof *l);
    l->node = dup_str(node ? node : "");
    l->op = dup_str(op);
    l->new_op = dup_str(op);
    l->value = dup_str(value);
    if (!l->node || !l->op || !l->new_op || !l->value) {
        free(l->node);
        free(l->op);
        free(l->new_op);
        free(l->value);
        return rt_error_set(err, "out of memory"), NULL;
    }
    l->error = l->channel_error_median = l->channel_error_max = NAN;
    r->n_layers++;
    return l;
}

void qz_report_scales(QuantTensorInfo *t, const RtTensor *scale, const RtTensor *zp) {
    int64_t n = rt_numel(scale);
    t->n_scales = n;
    t->scale_min = INFINITY;
    t->scale_max = -INFINITY;
    double sum = 0;
    t->zp_min = 2147483647;
    t->zp_max = -2147483647;
    for (int64_t i = 0; i < n; i++) {
        double s = rt_get_f64(scale, i);
        t->scale_min = fmin(t->scale_min, s);
        t->scale_max = fmax(t->scale_max, s);
        sum += s;
        int z = zp ? (int)rt_get_i64(zp, rt_numel(zp) == n ? i : 0) : 0;
        if (z < t->zp_min) t->zp_min = z;
        if (z > t->zp_max) t->zp_max = z;
    }
    t->scale_mean = n ? sum / (double)n : NAN;
    if (!n) t->zp_min = t->zp_max = 0;
}

/* ---- error measurement ---- */

typedef struct {
    const IrGraph *ref, *q;   /* borrowed */
    QuantReport *rep;         /* borrowed */
    int *ref_layer;           /* [ref->n_values] owned: layer compared at this value, or -1 */
    int *q_layer;             /* [q->n_values] owned */
    char *q_dequant;          /* [q->n_values] owned: 1 = the value is int8, dequantize */
    float **held;             /* [n_layers] owned per batch: the float values of this batch */
    int64_t *held_n;          /* [n_layers] element counts */
    double *err2, *ref2;      /* [n_layers] running sums */
    int64_t *seen;            /* [n_layers] batches compared (0: no float counterpart) */
    int *bad;                 /* [n_layers] shapes disagreed at least once */
    double **ch_err2, **ch_ref2; /* [n_layers][ch_n] owned: the same sums per channel (axis 1) */
    int64_t *ch_n;            /* [n_layers] channels (0: rank < 3, not split by channel) */
    int oom;
} Measure;

static void hook_ref(void *user, int slot, const RtTensor *t) {
    Measure *m = user;
    int L = m->ref_layer[slot];
    if (L < 0 || t->dtype != RT_F32 || !t->data) return;
    int64_t n = rt_numel(t);
    free(m->held[L]);
    m->held[L] = malloc(sizeof(float) * (size_t)(n ? n : 1));
    if (!m->held[L]) {
        m->oom = 1;
        return;
    }
    memcpy(m->held[L], t->data, sizeof(float) * (size_t)n);
    m->held_n[L] = n;
}

static void hook_q(void *user, int slot, const RtTensor *t) {
    Measure *m = user;
    int L = m->q_layer[slot];
    if (L < 0 || !t->data || !m->held[L]) return;
    int64_t n = rt_numel(t);
    if (n != m->held_n[L] || (!m->q_dequant[slot] && t->dtype != RT_F32)) {
        m->bad[L] = 1;
        return;
    }
    const QuantLayerInfo *l = &m->rep->layers[L];
    const float *ref = m->held[L];
    /* channels: axis 1 of an [N, C, ...] value (NCHW conv outputs), one run of `inner`
     * elements per (n, c); other ranks are not split */
    int64_t C = t->rank >= 3 ? t->dims[1] : 0, inner = 1;
    for (int d = 2; d < t->rank; d++) inner *= t->dims[d];
    if (C > 0 && !m->ch_n[L]) {
        m->ch_err2[L] = calloc((size_t)C, sizeof(double));
        m->ch_ref2[L] = calloc((size_t)C, sizeof(double));
        if (!m->ch_err2[L] || !m->ch_ref2[L]) {
            m->oom = 1;
            return;
        }
        m->ch_n[L] = C;
    }
    if (C != m->ch_n[L] || inner == 0) C = 0; /* a shape that changed between batches: no channel split */
    double e2 = 0, r2 = 0;
    for (int64_t i = 0; i < n; i++) {
        double qs = l->q_scale; /* per channel: the channel's own (same channel split as below) */
        if (l->q_scales && C > 0 && l->n_q_scales == C) qs = l->q_scales[(i / inner) % C];
        double v = m->q_dequant[slot] ? (rt_get_f64(t, i) - l->q_zp) * qs : ((const float *)t->data)[i];
        double d = v - ref[i], dd = d * d, rr = (double)ref[i] * ref[i];
        e2 += dd;
        r2 += rr;
        if (C > 0) {
            int64_t c = (i / inner) % C;
            m->ch_err2[L][c] += dd;
            m->ch_ref2[L][c] += rr;
        }
    }
    m->err2[L] += e2;
    m->ref2[L] += r2;
    m->seen[L]++;
}

/* Layers for the graph outputs that no layer covers yet. */
static int outputs_add(const IrGraph *q, QuantReport *rep, RtError *err) {
    for (int i = 0; i < q->n_outputs; i++) {
        const char *name = q->values[q->outputs[i]].name;
        int have = 0;
        for (int L = 0; L < rep->n_layers && !have; L++) have = strcmp(rep->layers[L].value, name) == 0;
        if (!have && !qz_report_layer(rep, "", "output", name, err)) return RT_ERR;
    }
    return RT_OK;
}

static int measure_map(Measure *m, RtError *err) {
    const IrGraph *ref = m->ref, *q = m->q;
    int nl = m->rep->n_layers;
    m->ref_layer = malloc(sizeof(int) * (size_t)(ref->n_values + 1));
    m->q_layer = malloc(sizeof(int) * (size_t)(q->n_values + 1));
    m->q_dequant = calloc((size_t)q->n_values + 1, 1);
    m->held = calloc((size_t)nl + 1, sizeof *m->held);
    m->held_n = calloc((size_t)nl + 1, sizeof *m->held_n);
    m->err2 = calloc((size_t)nl + 1, sizeof *m->err2);
    m->ref2 = calloc((size_t)nl + 1, sizeof *m->ref2);
    m->bad = calloc((size_t)nl + 1, sizeof *m->bad);
    m->seen = calloc((size_t)nl + 1, sizeof *m->seen);
    m->ch_err2 = calloc((size_t)nl + 1, sizeof *m->ch_err2);
    m->ch_ref2 = calloc((size_t)nl + 1, sizeof *m->ch_ref2);
    m->ch_n = calloc((size_t)nl + 1, sizeof *m->ch_n);
    if (!m->ref_layer || !m->q_layer || !m->q_dequant || !m->held || !m->held_n || !m->err2 || !m->ref2 || !m->bad ||
        !m->seen || !m->ch_err2 || !m->ch_ref2 || !m->ch_n)
        return rt_error_set(err, "out of memory");
    for (int v = 0; v < ref->n_values; v++) m->ref_layer[v] = -1;
    for (int v = 0; v < q->n_values; v++) m->q_layer[v] = -1;
    for (int L = 0; L < nl; L++) {
        const QuantLayerInfo *l = &m->rep->layers[L];
        int rv = ir_value_find(ref, l->value);
        int qv = ir_value_find(q, l->value), deq = 0;
        if (qv >= 0 && q->values[qv].producer < 0 && !ir_value_is_output(q, qv)) qv = -1; /* left over */
        if (qv < 0 && l->qvalue) {
            qv = ir_value_find(q, l->qvalue);
            deq = 1;
        }
        if (rv < 0 || qv < 0) continue;
        m->ref_layer[rv] = L;
        m->q_layer[qv] = L;
        m->q_dequant[qv] = (char)deq;
    }
    return RT_OK;
}

static void measure_free(Measure *m) {
    for (int L = 0; m->held && L < m->rep->n_layers; L++) free(m->held[L]);
    for (int L = 0; m->ch_err2 && m->ch_ref2 && L < m->rep->n_layers; L++) free(m->ch_err2[L]), free(m->ch_ref2[L]);
    free(m->seen);
    free(m->ch_err2);
    free(m->ch_ref2);
    free(m->ch_n);
    free(m->ref_layer);
    free(m->q_layer);
    free(m->q_dequant);
    free(m->held);
    free(m->held_n);
    free(m->err2);
    free(m->ref2);
    free(m->bad);
}

/* Runs g on inputs with the hook; frees the outputs. */
static int run_hooked(const IrGraph *g, const RtTensor *in, RtValueHook hook, Measure *m, RtError *err) {
    RtTensor *out = calloc((size_t)g->n_outputs + 1, sizeof *out);
    if (!out) return rt_error_set(err, "out of memory");
    RtRunOptions opts;
    memset(&opts, 0, sizeof opts);
    opts.on_value = hook;
    opts.hook_user = m;
    int r = ir_run_opts(g, in, out, &opts, err);
    if (r == RT_OK)
        for (int i = 0; i < g->n_outputs; i++) free(out[i].data);
    free(out);
    return r == RT_OK && m->oom ? rt_error_set(err, "out of memory") : r;
}

static int measure_batches(Measure *m, CalibDataset *d, int64_t batch, int64_t *rows, RtError *err) {
    const IrGraph *q = m->q;
    RtTensor *in = calloc((size_t)q->n_inputs + 1, sizeof *in);
    if (!in) return rt_error_set(err, "out of memory");
    int r = RT_OK;
    *rows = 0;
    for (int64_t row = 0; r == RT_OK; row += batch) {
        int64_t got = calib_dataset_batch(d, row, batch, in, err);
        if (got < 0) r = RT_ERR;
        if (got <= 0) break;
        r = run_hooked(m->ref, in, hook_ref, m, err);
        if (r == RT_OK) r = run_hooked(q, in, hook_q, m, err);
        for (int L = 0; L < m->rep->n_layers; L++) {
            free(m->held[L]);
            m->held[L] = NULL;
        }
        *rows += got;
    }
    free(in);
    return r;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Layer L's per-channel errors: the median and the largest over the channels whose float
 * values are not all zero (a dead channel has no relative error). */
static int channel_errors(const Measure *m, int L, QuantLayerInfo *l, RtError *err) {
    int64_t C = m->ch_n[L], k = 0;
    if (C <= 0 || m->bad[L]) return RT_OK;
    double *e = malloc(sizeof(double) * (size_t)C);
    if (!e) return rt_error_set(err, "out of memory");
    for (int64_t c = 0; c < C; c++)
        if (m->ch_ref2[L][c] > 0) e[k++] = sqrt(m->ch_err2[L][c] / m->ch_ref2[L][c]);
    if (k > 0) {
        qsort(e, (size_t)k, sizeof *e, cmp_double);
        l->channel_error_median = k % 2 ? e[k / 2] : 0.5 * (e[k / 2 - 1] + e[k / 2]);
        l->channel_error_max = e[k - 1];
    }
    free(e);
    return RT_OK;
}

int quant_report_measure(const IrGraph *ref, const IrGraph *q, CalibDataset *d, int64_t batch,
                         QuantReport *rep, RtError *err) {
    if (ref->n_inputs != q->n_inputs) return rt_error_set(err, "float and quantized graphs differ in inputs");
    for (int i = 0; i < q->n_inputs; i++)
        if (strcmp(ref->values[ref->inputs[i]].name, q->values[q->inputs[i]].name) != 0)
            return rt_error_set(err, "float and quantized graphs differ in input %d", i);
    RT_TRY(outputs_add(q, rep, err));
    RT_TRY(calib_dataset_bind(d, q, err));
    Measure m;
    memset(&m, 0, sizeof m);
    m.ref = ref;
    m.q = q;
    m.rep = rep;
    int64_t rows = 0;
    int r = calib_batch_rows(q, batch > 0 ? batch : 32, calib_dataset_rows(d), &batch, err);
    if (r == RT_OK) r = measure_map(&m, err);
    if (r == RT_OK) r = measure_batches(&m, d, batch, &rows, err);
    for (int L = 0; r == RT_OK && L < rep->n_layers; L++) {
        QuantLayerInfo *l = &rep->layers[L];
        l->rows = rows;
        if (m.bad[L] || !m.seen[L] || m.ref2[L] <= 0) { /* unseen: a value the float graph has not */
            l->error = m.err2[L] == 0 && m.ref2[L] == 0 && !m.bad[L] && m.seen[L] ? 0.0 : NAN;
            continue;
        }
        l->error = sqrt(m.err2[L] / m.ref2[L]);
        r = channel_errors(&m, L, l, err);
    }
    measure_free(&m);
    return r;
}

/* ---- JSON ---- */

static const char *kind_name(QuantTensorKind k) {
    return k == QUANT_T_WEIGHT ? "weight" : k == QUANT_T_BIAS ? "bias" : "activation";
}

static void json_tensor(TextBuf *b, const QuantTensorInfo *t) {
    text_buf_printf(b, "    {\"name\":");
    text_buf_json_str(b, t->name);
    text_buf_printf(b, ",\"node\":");
    text_buf_json_str(b, t->node);
    text_buf_printf(b, ",\"kind\":\"%s\",\"bits\":%d,\"granularity\":\"%s\",\"scales\":%lld", kind_name(t->kind), t->bits,
            t->granularity, (long long)t->n_scales);
    if (t->n_scales == 1) {
        text_buf_printf(b, ",\"scale\":");
        text_buf_json_num(b, t->scale_min);
        text_buf_printf(b, ",\"zero_point\":%d", t->zp_min);
    }
    text_buf_printf(b, ",\"scale_min\":");
    text_buf_json_num(b, t->scale_min);
    text_buf_printf(b, ",\"scale_max\":");
    text_buf_json_num(b, t->scale_max);
    text_buf_printf(b, ",\"scale_mean\":");
    text_buf_json_num(b, t->scale_mean);
    text_buf_printf(b, ",\"zero_point_min\":%d,\"zero_point_max\":%d,\"observer\":", t->zp_min, t->zp_max);
    text_buf_json_str(b, t->observer);
    if (isfinite(t->lo)) {
        text_buf_printf(b, ",\"range\":[");
        text_buf_json_num(b, t->lo);
        text_buf_printf(b, ",");
        text_buf_json_num(b, t->hi);
        text_buf_printf(b, "]");
    }
    text_buf_printf(b, ",\"min\":");
    text_buf_json_num(b, t->min);
    text_buf_printf(b, ",\"max\":");
    text_buf_json_num(b, t->max);
    text_buf_printf(b, "}");
}

static void json_layer(TextBuf *b, const QuantLayerInfo *l) {
    text_buf_printf(b, "    {\"node\":");
    text_buf_json_str(b, l->node);
    text_buf_printf(b, ",\"op\":");
    text_buf_json_str(b, l->op);
    text_buf_printf(b, ",\"quantized_op\":");
    text_buf_json_str(b, l->new_op);
    text_buf_printf(b, ",\"output\":");
    text_buf_json_str(b, l->value);
    if (l->qvalue) {
        text_buf_printf(b, ",\"int8_output\":");
        text_buf_json_str(b, l->qvalue);
        text_buf_printf(b, ",\"scale\":");
        text_buf_json_num(b, l->q_scale);
        text_buf_printf(b, ",\"zero_point\":%d", l->q_zp);
    }
    text_buf_printf(b, ",\"error\":");
    text_buf_json_num(b, l->error);
    if (isfinite(l->channel_error_median)) {
        text_buf_printf(b, ",\"channel_error_median\":");
        text_buf_json_num(b, l->channel_error_median);
        text_buf_printf(b, ",\"channel_error_max\":");
        text_buf_json_num(b, l->channel_error_max);
    }
    text_buf_printf(b, ",\"rows\":%lld}", (long long)l->rows);
}

char *quant_report_json(const QuantReport *r, const char *model, const char *options) {
    TextBuf b = {0};
    text_buf_printf(&b, "{\n  \"model\":");
    text_buf_json_str(&b, model);
    text_buf_printf(&b, ",\n  \"options\":");
    text_buf_json_str(&b, options);
    text_buf_printf(&b, ",\n  \"error_metric\":\"relative RMS error of the layer output vs the float model\"");
    text_buf_printf(&b, ",\n  \"int8_nodes\":%d,\n  \"float_nodes\":%d,\n  \"quantize_nodes\":%d,\n  \"dequantize_nodes\":%d",
            r->n_int8_nodes, r->n_float_nodes, r->n_quantize, r->n_dequantize);
    text_buf_printf(&b, ",\n  \"tensors\":[\n");
    for (int i = 0; i < r->n_tensors; i++) {
        json_tensor(&b, &r->tensors[i]);
        text_buf_printf(&b, "%s\n", i + 1 < r->n_tensors ? "," : "");
    }
    text_buf_printf(&b, "  ],\n  \"layers\":[\n");
    for (int i = 0; i < r->n_layers; i++) {
        json_layer(&b, &r->layers[i]);
        text_buf_printf(&b, "%s\n", i + 1 < r->n_layers ? "," : "");
    }
    text_buf_printf(&b, "  ]\n}\n");
    return text_buf_take(&b);
}
