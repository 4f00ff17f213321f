/*
 * cmd_sweep.c — `wafer sweep MODEL.onnx --calib ... --eval ... --bits 8,4,3,2 --group 0,32,128
 * --method rtn,gptq`: quantizes every combination (plus the float model), evaluates each with
 * the companion runtime, and reports quality against weight bytes.
 *
 *   for each (bits, group, method) and the float baseline:
 *       cli_quant_build (the quantize pipeline, cli_quantize.h) -> DIR/<name>.wafer
 *       wafer_rt_open_file: weight bytes, arena bytes
 *       quality: accuracy (argmax of the last axis vs --labels) or perplexity (--task lm:
 *                exp(mean -log softmax(logits)[target]) over tokens[:, 1:], max-shifted, double)
 *       latency: median of --iters batch-1 runs after --warmup (CLOCK_MONOTONIC)
 *   Pareto front of (weight bytes, quality); table on stdout, --json, --svg, --registry.
 *
 * --per-layer: for every weight layer of the fused graph (Gemm / MatMul / Conv with a constant
 * weight), the quality when only that layer is lowered to the lowest --bits (first --method,
 * first --group) and every other layer stays float: its loss against the float model. With
 * --budget-bytes, deploy_mixed_choose picks the layers to lower that fit the budget with the
 * least summed loss; that mixed model is built and measured too.
 *
 * Eval batches run along axis 0 (--batch rows, default 64; a model with a fixed batch uses its
 * own, the last batch padded by repeating the last row, padded rows unscored).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../deploy/deploy.h"
#include "../format/wafer_file.h"
#include "../passes/passes.h"
#include "../runtime/kernels/kernel.h"
#include "cli_quantize.h"

#define SWEEP_MAX_LIST 8
#define SWEEP_MAX_QARGS 64
#define SWEEP_MAX_ROWS 256
#define SWEEP_MAX_LAYERS 256

static const char *const sweep_usage_head =
    "usage: wafer sweep MODEL.onnx --eval NAME=X.npy ... --labels Y.npy [options]\n"
    "       wafer sweep MODEL.onnx --task lm --tokens T.npy [options]\n"
    "\n"
    "Quantizes every combination of --bits x --group x --method (and keeps the float model as\n"
    "the baseline), evaluates each with the runtime, and reports quality against weight bytes:\n"
    "a table on stdout, --json (one row per variant), --svg (quality vs bytes, Pareto front).\n"
    "\n"
    "  --bits LIST            weight bits from 8,4,3,2 (default 8,4)\n"
    "  --group LIST           0 = per output channel, N = groups of N (default 0)\n"
    "  --method LIST          rtn, gptq (default rtn; gptq needs --calib)\n"
    "  --calib NAME=FILE.npy  calibration data (repeatable)\n"
    "  --eval NAME=FILE.npy   evaluation inputs (repeatable), with --labels Y.npy\n"
    "  --task lm --tokens T.npy   perplexity instead (T: int64 [n, T+1])\n"
    "  --out-dir DIR          where the variants are written (default: MODEL's name + _sweep)\n"
    "  --batch N              eval rows per run (default 64)\n"
    "  --iters N --warmup N   latency: median of N runs at batch 1 (or the model's fixed\n"
    "                         batch) after the warmup runs (default 20 and 3)\n"
    "  --json FILE            {model, metric, variants: [{name, bits, method, group, file,\n"
    "                         weight_bytes, arena_bytes, accuracy|perplexity, latency_ms, pareto}],\n"
    "                         layers, mixed}\n"
    "  --svg FILE             quality against weight bytes, the Pareto front marked\n"
    "  --registry FILE        add every variant to the registry (see wafer registry --help)\n"
    "  --target NAME --price-per-hour P   recorded in the registry for the cost columns\n"
    "  --per-layer            each layer's quality loss when it alone is lowered\n"
    "  --budget-bytes N       with --per-layer: the mixed-precision choice that fits N weight\n"
    "                         bytes with the least summed loss, built and measured\n"
    "  --no-float             leave out the float baseline row\n"
    "\n"
    "Other quantize options apply to every variant:\n";

typedef struct {
    const char *model, *out_dir, *json, *svg, *registry, *labels, *tokens, *target; /* borrowed */
    char out_dir_buf[512];
    int bits[SWEEP_MAX_LIST], n_bits;
    int64_t group[SWEEP_MAX_LIST];
    int n_group;
    const char *method[2];
    int n_method;
    int lm, per_layer, no_float;
    int64_t batch, iters, warmup, budget;
    double price;
    CliInputs eval;
    char *qargs[SWEEP_MAX_QARGS];  /* borrowed argv: options for every variant */
    int n_qargs;
} SweepArgs;

typedef struct {
    char name[DEPLOY_NAME_MAX];
    char file[DEPLOY_PATH_MAX];
    int bits;                  /* 32 = float */
    const char *method;        /* "float", "rtn", "gptq", "mixed" */
    int64_t group;
    int64_t weight_bytes, arena_bytes;
    double quality, latency_ms;
    int pareto;
} SweepRow;

typedef struct {
    int64_t n;                 /* samples */
    RtTensor labels;           /* classify [n] */
    RtTensor lm_in, tokens;    /* lm: input [n, T] int64 (owned), tokens [n, T+1] */
} SweepData;

/* ---- arguments ---- */

static int list_parse(const char *s, const char *opt, int64_t lo, int64_t hi, int64_t *v, int *n, RtError *err) {
    *n = 0;
    for (const char *p = s; *p;) {
        char *end;
        long long x = strtoll(p, &end, 10);
        if (end == p || (*end && *end != ',') || x < lo || x > hi || *n == SWEEP_MAX_LIST)
            return cli_usage_error(err, "sweep", "%s: '%s' is not a list of up to %d integers in [%lld, %lld]", opt, s,
                                   SWEEP_MAX_LIST, (long long)lo, (long long)hi);
        v[(*n)++] = x;
        p = *end ? end + 1 : end;
    }
    return *n ? CLI_OK : cli_usage_error(err, "sweep", "%s: empty list", opt);
}

static int sweep_lists(SweepArgs *a, const char *bits, const char *group, const char *method, RtError *err) {
    int64_t b[SWEEP_MAX_LIST];
    if (list_parse(bits ? bits : "8,4", "--bits", 2, 8, b, &a->n_bits, err) != CLI_OK) return CLI_BAD_INPUT;
    for (int i = 0; i < a->n_bits; i++) {
        if (b[i] != 8 && b[i] != 4 && b[i] != 3 && b[i] != 2)
            return cli_usage_error(err, "sweep", "--bits takes 8, 4, 3 and 2, got %lld", (long long)b[i]);
        a->bits[i] = (int)b[i];
    }
    if (list_parse(group ? group : "0", "--group", 0, 1 << 20, a->group, &a->n_group, err) != CLI_OK)
        return CLI_BAD_INPUT;
    const char *m = method ? method : "rtn";
    int rtn = 0, gptq = 0;
    for (const char *p = m; *p;) {
        size_t len = strcspn(p, ",");
        if (len == 3 && strncmp(p, "rtn", 3) == 0) rtn = 1;
        else if (len == 4 && strncmp(p, "gptq", 4) == 0) gptq = 1;
        else return cli_usage_error(err, "sweep", "--method takes rtn and gptq, got '%s'", m);
        p += len + (p[len] == ',');
    }
    if (rtn) a->method[a->n_method++] = "rtn";
    if (gptq) a->method[a->n_method++] = "gptq";
    return CLI_OK;
}

static int sweep_args(int argc, char **argv, SweepArgs *a, RtError *err) {
    const char *bits = NULL, *group = NULL, *method = NULL, *task = NULL;
    a->batch = 64, a->iters = 20, a->warmup = 3, a->price = -1;
    CliQuant probe; /* checks the shared quantize options as they are collected */
    cli_quant_init(&probe);
    int status = CLI_OK;
    for (int i = 1; i < argc && status == CLI_OK; i++) {
        const char *v = NULL;
        int r = 0, st = CLI_OK;
#define OPT(name) ((r = cli_opt(argc, argv, &i, name, &v, "sweep", err)) != 0)
        if (strcmp(argv[i], "--per-layer") == 0) a->per_layer = 1;
        else if (strcmp(argv[i], "--no-float") == 0) a->no_float = 1;
        else if (OPT("--bits")) bits = v;
        else if (OPT("--group")) group = v;
        else if (OPT("--method")) method = v;
        else if (OPT("--weights")) st = cli_usage_error(err, "sweep", "--weights is chosen by --bits in a sweep");
        else if (OPT("--eval")) st = r < 0 ? CLI_BAD_INPUT : cli_inputs_add(&a->eval, v, "sweep", err);
        else if (OPT("--labels")) a->labels = v;
        else if (OPT("--tokens")) a->tokens = v;
        else if (OPT("--task")) task = v;
        else if (OPT("--out-dir")) a->out_dir = v;
        else if (OPT("--json")) a->json = v;
        else if (OPT("--svg")) a->svg = v;
        else if (OPT("--registry")) a->registry = v;
        else if (OPT("--target")) a->target = v;
        else if (OPT("--price-per-hour")) st = r < 0 ? CLI_BAD_INPUT : cli_parse_f64(v, "--price-per-hour", "sweep", &a->price, err);
        else if (OPT("--batch")) st = r < 0 ? CLI_BAD_INPUT : cli_parse_i64(v, 1, 1 << 20, "--batch", "sweep", &a->batch, err);
        else if (OPT("--iters")) st = r < 0 ? CLI_BAD_INPUT : cli_parse_i64(v, 1, 1000000, "--iters", "sweep", &a->iters, err);
        else if (OPT("--warmup")) st = r < 0 ? CLI_BAD_INPUT : cli_parse_i64(v, 0, 1000000, "--warmup", "sweep", &a->warmup, err);
        else if (OPT("--budget-bytes")) st = r < 0 ? CLI_BAD_INPUT : cli_parse_i64(v, 1, INT64_MAX / 2, "--budget-bytes", "sweep", &a->budget, err);
        else {
            int first = i;
            r = cli_quant_opt(&probe, argc, argv, &i, "sweep", err);
            if (r == 0 && argv[i][0] == '-' && argv[i][1]) st = cli_usage_error(err, "sweep", "unknown option '%s'", argv[i]);
            else if (r == 0 && a->model) st = cli_usage_error(err, "sweep", "one MODEL only (got '%s' and '%s')", a->model, argv[i]);
            else if (r == 0) a->model = argv[i];
            for (int k = first; r > 0 && k <= i; k++) {
                if (a->n_qargs == SWEEP_MAX_QARGS) { st = cli_usage_error(err, "sweep", "too many quantize options"); break; }
                a->qargs[a->n_qargs++] = argv[k];
            }
        }
#undef OPT
        if (r < 0 || st != CLI_OK) status = CLI_BAD_INPUT;
    }
    int has_calib = probe.calib.n > 0;
    cli_quant_free(&probe);
    if (status != CLI_OK) return status;
    if (!a->model) return cli_usage_error(err, "sweep", "missing MODEL.onnx");
    if (task && strcmp(task, "lm") != 0 && strcmp(task, "classify") != 0)
        return cli_usage_error(err, "sweep", "--task is classify or lm, got '%s'", task);
    a->lm = task && strcmp(task, "lm") == 0;
    if (a->lm && !a->tokens) return cli_usage_error(err, "sweep", "--task lm needs --tokens T.npy");
    if (!a->lm && (!a->eval.n || !a->labels))
        return cli_usage_error(err, "sweep", "needs --eval NAME=FILE.npy and --labels FILE.npy (or --task lm --tokens)");
    if (sweep_lists(a, bits, group, method, err) != CLI_OK) return CLI_BAD_INPUT;
    if (!has_calib && a->method[a->n_method - 1][0] == 'g')
        return cli_usage_error(err, "sweep", "--method gptq needs --calib NAME=FILE.npy");
    if (a->budget && !a->per_layer) return cli_usage_error(err, "sweep", "--budget-bytes needs --per-layer");
    if (!a->out_dir) {
        const char *base = strrchr(a->model, '/') ? strrchr(a->model, '/') + 1 : a->model;
        size_t len = strlen(base);
        if (len > 5 && strcmp(base + len - 5, ".onnx") == 0) len -= 5;
        snprintf(a->out_dir_buf, sizeof a->out_dir_buf, "%.*s_sweep", (int)len, base);
        a->out_dir = a->out_dir_buf;
    }
    return CLI_OK;
}

/* ---- data ---- */

static int sweep_data(SweepArgs *a, SweepData *d, RtError *err) {
    if (a->lm) {
        if (npy_read(a->tokens, &d->tokens, err) != RT_OK) return CLI_BAD_INPUT;
        const RtTensor *t = &d->tokens;
        if ((t->dtype != RT_I64 && t->dtype != RT_I32) || t->rank != 2 || t->dims[1] < 2)
            return rt_error_set(err, "%s: tokens must be int64 [n, T+1] with T >= 1", a->tokens), CLI_BAD_INPUT;
        d->n = t->dims[0];
        int64_t T = t->dims[1] - 1;
        d->lm_in = (RtTensor){RT_I64, 2, {d->n, T}, malloc((size_t)(d->n * T) * sizeof(int64_t) + 8)};
        if (!d->lm_in.data) return rt_error_set(err, "out of memory"), CLI_BAD_INPUT;
        for (int64_t r = 0; r < d->n; r++)
            for (int64_t c = 0; c < T; c++) ((int64_t *)d->lm_in.data)[r * T + c] = rt_get_i64(t, r * (T + 1) + c);
        return d->n ? CLI_OK : (rt_error_set(err, "%s: no samples", a->tokens), CLI_BAD_INPUT);
    }
    if (cli_inputs_read(&a->eval, err) != CLI_OK || npy_read(a->labels, &d->labels, err) != RT_OK) return CLI_BAD_INPUT;
    if ((d->labels.dtype != RT_I64 && d->labels.dtype != RT_I32) || d->labels.rank != 1)
        return rt_error_set(err, "%s: labels must be int64 or int32 [n]", a->labels), CLI_BAD_INPUT;
    d->n = d->labels.dims[0];
    for (int k = 0; k < a->eval.n; k++)
        if (a->eval.v[k].t.rank < 1 || a->eval.v[k].t.dims[0] != d->n)
            return rt_error_set(err, "--eval %s: %s does not have %lld rows like %s", a->eval.v[k].name,
                                a->eval.v[k].path, (long long)d->n, a->labels), CLI_BAD_INPUT;
    return d->n ? CLI_OK : (rt_error_set(err, "%s: no samples", a->labels), CLI_BAD_INPUT);
}

static void sweep_data_free(SweepData *d) {
    free(d->labels.data);
    free(d->tokens.data);
    free(d->lm_in.data);
}

/* ---- measuring one .wafer file ---- */

/* The full inputs in m's order (views of the eval data). */
static int full_inputs(const SweepArgs *a, const SweepData *d, WaferRtModel *m, const char *path, WaferRtTensor *x,
                       RtError *err) {
    if (!a->lm) return cli_rt_inputs(m, path, &a->eval, x, err);
    if (wafer_rt_num_inputs(m) != 1)
        return rt_error_set(err, "%s: --task lm needs a model with one tokens input", path), CLI_BAD_INPUT;
    memset(x, 0, sizeof *x);
    x->dtype = WAFER_RT_I64;
    x->rank = 2;
    x->dims[0] = d->lm_in.dims[0], x->dims[1] = d->lm_in.dims[1];
    x->data = d->lm_in.data;
    return CLI_OK;
}

static size_t row_bytes(const WaferRtTensor *t) {
    size_t b = t->dtype == WAFER_RT_I64 || t->dtype == WAFER_RT_F64 ? 8 : t->dtype == WAFER_RT_F16 ? 2
               : t->dtype == WAFER_RT_F32 || t->dtype == WAFER_RT_I32 ? 4 : 1;
    for (int k = 1; k < t->rank; k++) b *= (size_t)t->dims[k];
    return b;
}

/* Scores rows [i, i+rows) from logits y; adds to *score (correct count or summed NLL). */
static int score_rows(const SweepArgs *a, const SweepData *d, const WaferRtTensor *y, int64_t run, int64_t i,
                      int64_t rows, double *score, const char *path, RtError *err) {
    int64_t numel = 1;
    for (int k = 0; k < y->rank; k++) numel *= y->dims[k];
    int64_t C = y->rank ? y->dims[y->rank - 1] : 0;
    int64_t per = a->lm ? d->lm_in.dims[1] : 1;
    if (y->dtype != WAFER_RT_F32 || C < 1 || numel != run * per * C)
        return rt_error_set(err, "%s: the first output is not float logits [%lld, %s classes]", path, (long long)run,
                            a->lm ? "T," : ""), CLI_BAD_INPUT;
    const float *l = y->data;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t t = 0; t < per; t++) {
            const float *row = l + (r * per + t) * C;
            int64_t target = a->lm ? rt_get_i64(&d->tokens, (i + r) * (per + 1) + t + 1) : rt_get_i64(&d->labels, i + r);
            if (target < 0 || target >= C)
                return rt_error_set(err, "%s: label %lld of sample %lld is outside the %lld classes",
                                    a->lm ? a->tokens : a->labels, (long long)target, (long long)(i + r), (long long)C),
                       CLI_BAD_INPUT;
            if (!a->lm) {
                int64_t best = 0;
                for (int64_t c = 1; c < C; c++)
                    if (row[c] > row[best]) best = c;
                *score += best == target;
            } else {
                double m = -INFINITY, s = 0;
                for (int64_t c = 0; c < C; c++) m = fmax(m, row[c]);
                for (int64_t c = 0; c < C; c++) s += exp((double)row[c] - m);
                *score += m + log(s) - row[target];
            }
        }
    return CLI_OK;
}

static int measure_quality(const SweepArgs *a, const SweepData *d, WaferRtModel *m, const char *path,
                           const WaferRtTensor *full, int ni, double *quality, RtError *err) {
    WaferRtTensor info, b[16];
    wafer_rt_input_info(m, 0, &info);
    int64_t fixed = info.rank > 0 && info.dims[0] > 0 ? info.dims[0] : 0, B = fixed ? fixed : a->batch;
    void *buf[16] = {0};
    int status = CLI_OK;
    for (int k = 0; k < ni && status == CLI_OK; k++) {
        b[k] = full[k];
        buf[k] = malloc((size_t)B * row_bytes(&full[k]) + 64);
        if (!buf[k]) status = (rt_error_set(err, "out of memory"), CLI_BAD_INPUT);
    }
    double score = 0;
    WaferRtError e;
    for (int64_t i = 0; i < d->n && status == CLI_OK; i += B) {
        int64_t rows = d->n - i < B ? d->n - i : B, run = fixed ? B : rows;
        for (int k = 0; k < ni; k++) {
            size_t rb = row_bytes(&full[k]);
            memcpy(buf[k], (const char *)full[k].data + (size_t)i * rb, (size_t)rows * rb);
            for (int64_t r = rows; r < run; r++)
                memcpy((char *)buf[k] + (size_t)r * rb, (const char *)full[k].data + (size_t)(d->n - 1) * rb, rb);
            b[k].data = buf[k];
            b[k].dims[0] = run;
        }
        WaferRtTensor y;
        if (wafer_rt_run(m, b, ni, &y, 1, &e) != WAFER_RT_OK) {
            status = (rt_error_set(err, "%s", e.msg), cli_error_name_file(err, path), CLI_BAD_INPUT);
            break;
        }
        status = score_rows(a, d, &y, run, i, rows, &score, path, err);
    }
    for (int k = 0; k < ni; k++) free(buf[k]);
    *quality = a->lm ? exp(score / (double)(d->n * d->lm_in.dims[1])) : score / (double)d->n;
    return status;
}

static int cmp_double(const void *x, const void *y) {
    double p = *(const double *)x, q = *(const double *)y;
    return (p > q) - (p < q);
}

/* Median ms of iters runs on the first row (or the model's fixed batch). */
static int measure_latency(const SweepArgs *a, WaferRtModel *m, const char *path, const WaferRtTensor *full, int ni,
                           double *ms, RtError *err) {
    WaferRtTensor b[16], info, y;
    wafer_rt_input_info(m, 0, &info);
    int64_t B = info.rank > 0 && info.dims[0] > 0 ? info.dims[0] : 1;
    for (int k = 0; k < ni; k++) {
        b[k] = full[k];
        b[k].dims[0] = B <= full[k].dims[0] ? B : full[k].dims[0];
    }
    double *t = malloc((size_t)a->iters * sizeof *t);
    if (!t) return rt_error_set(err, "out of memory"), CLI_BAD_INPUT;
    WaferRtError e;
    for (int64_t it = -a->warmup; it < a->iters; it++) {
        double t0 = cli_now();
        if (wafer_rt_run(m, b, ni, &y, 1, &e) != WAFER_RT_OK) {
            free(t);
            return rt_error_set(err, "%s", e.msg), cli_error_name_file(err, path), CLI_BAD_INPUT;
        }
        if (it >= 0) t[it] = (cli_now() - t0) * 1e3;
    }
    qsort(t, (size_t)a->iters, sizeof *t, cmp_double);
    *ms = a->iters % 2 ? t[a->iters / 2] : 0.5 * (t[a->iters / 2 - 1] + t[a->iters / 2]);
    free(t);
    return CLI_OK;
}

static int measure_file(const SweepArgs *a, const SweepData *d, SweepRow *row, RtError *err) {
    WaferRtModel *m;
    if (cli_rt_open(row->file, 0, &m, err) != CLI_OK) return CLI_BAD_INPUT;
    int ni = wafer_rt_num_inputs(m);
    WaferRtTensor full[16];
    int status = ni <= 16 ? CLI_OK : (rt_error_set(err, "%s: more than 16 inputs", row->file), CLI_BAD_INPUT);
    if (status == CLI_OK) status = full_inputs(a, d, m, row->file, full, err);
    if (status == CLI_OK) status = measure_quality(a, d, m, row->file, full, ni, &row->quality, err);
    if (status == CLI_OK) status = measure_latency(a, m, row->file, full, ni, &row->latency_ms, err);
    row->weight_bytes = (int64_t)wafer_rt_weight_bytes(m);
    row->arena_bytes = (int64_t)wafer_rt_arena_bytes(m);
    wafer_rt_close(m);
    return status;
}

/* ---- building one variant ---- */

/* Quantizes a->model with the given options (+ the shared ones) into row->file. excl: a
 * comma-separated --exclude list or NULL. */
static int build_variant(const SweepArgs *a, const char *weights, const char *method, int64_t group, const char *excl,
                         SweepRow *row, FILE *sink, RtError *err) {
    char gbuf[32];
    snprintf(gbuf, sizeof gbuf, "%lld", (long long)group);
    char *argv[SWEEP_MAX_QARGS + 16];
    int argc = 0;
    argv[argc++] = "sweep";
    argv[argc++] = "--weights", argv[argc++] = (char *)weights;
    if (method) argv[argc++] = "--method", argv[argc++] = (char *)method, argv[argc++] = "--group", argv[argc++] = gbuf;
    if (excl && *excl) argv[argc++] = "--exclude", argv[argc++] = (char *)excl;
    for (int k = 0; k < a->n_qargs; k++) argv[argc++] = a->qargs[k];
    argv[argc] = NULL;
    CliQuant q;
    cli_quant_init(&q);
    int status = CLI_OK;
    for (int i = 1; i < argc && status == CLI_OK; i++)
        if (cli_quant_opt(&q, argc, argv, &i, "sweep", err) <= 0) status = CLI_BAD_INPUT;
    q.model = a->model;
    q.out = row->file;
    if (status == CLI_OK) status = cli_quant_check(&q, "sweep", err);
    IrGraph *g = status == CLI_OK ? cli_quant_build(&q, sink, err) : NULL;
    if (status == CLI_OK && !g) status = CLI_BAD_INPUT;
    if (g) {
        char opts[2048], hash[17] = "";
        cli_quant_options_line(&q, opts, sizeof opts);
        if (wafer_file_hash(a->model, hash, err) != RT_OK) status = CLI_BAD_INPUT;
        WaferMeta meta = {hash, WAFER_VERSION, opts};
        if (status == CLI_OK && wafer_file_write(g, &meta, row->file, err) != RT_OK)
            status = (cli_error_name_file(err, row->file), CLI_BAD_INPUT);
    }
    ir_graph_free(g);
    cli_quant_free(&q);
    return status;
}

static int sweep_one(const SweepArgs *a, const SweepData *d, int bits, const char *method, int64_t group,
                     const char *excl, const char *name, SweepRow *row, FILE *sink, RtError *err) {
    memset(row, 0, sizeof *row);
    snprintf(row->name, sizeof row->name, "%s", name);
    snprintf(row->file, sizeof row->file, "%s/%s.wafer", a->out_dir, name);
    row->bits = bits;
    row->method = method ? method : "float";
    row->group = group;
    char weights[8];
    snprintf(weights, sizeof weights, bits == 32 ? "f32" : "int%d", bits);
    double t0 = cli_now();
    int status = build_variant(a, weights, method, group, excl, row, sink, err);
    if (status == CLI_OK) status = measure_file(a, d, row, err);
    if (status == CLI_OK)
        fprintf(stderr, "sweep: %s: %s %.4f, %lld weight bytes, %.4f ms (%.1f s)\n", name,
                a->lm ? "perplexity" : "accuracy", row->quality, (long long)row->weight_bytes, row->latency_ms,
                cli_now() - t0);
    return status;
}

/* ---- per-layer sensitivity ---- */

static int is_weight_layer(const IrGraph *g, const RtNode *n) {
    int op = n->op;
    if (op != RT_OP_GEMM && op != RT_OP_MATMUL && op != RT_OP_CONV && op != RT_OP_FUSED_CONV && op != RT_OP_LINEAR)
        return 0;
    return n->n_in >= 2 && n->in[1] >= 0 && g->values[n->in[1]].konst != NULL;
}

/* The weight layers of the fused graph, by node name (or first output's name). */
static int layers_find(const SweepArgs *a, char names[][DEPLOY_NAME_MAX], int *n, RtError *err) {
    IrGraph *g = cli_model_load(a->model, 0, err);
    if (!g) return CLI_BAD_INPUT;
    int status = pass_simplify(g, err) == RT_OK && pass_fuse(g, err) == RT_OK ? CLI_OK : CLI_BAD_INPUT;
    *n = 0;
    for (int k = 0; status == CLI_OK && k < g->n_nodes && *n < SWEEP_MAX_LAYERS; k++) {
        const RtNode *nd = &g->nodes[k];
        if (nd->op == IR_OP_DELETED || !is_weight_layer(g, nd)) continue;
        const char *name = nd->name && nd->name[0] ? nd->name : g->values[nd->out[0]].name;
        if (strlen(name) >= DEPLOY_NAME_MAX || strchr(name, ',')) continue; /* not expressible in --exclude */
        snprintf(names[(*n)++], DEPLOY_NAME_MAX, "%s", name);
    }
    ir_graph_free(g);
    return status;
}

typedef struct {
    char names[SWEEP_MAX_LAYERS][DEPLOY_NAME_MAX];
    int n;
    SweepRow row[SWEEP_MAX_LAYERS];   /* only layer i lowered */
    DeployLayerCost cost[SWEEP_MAX_LAYERS];
    int lower[SWEEP_MAX_LAYERS];
    int have_mixed;
    SweepRow mixed;
} SweepLayers;

/* "all layers except those with keep[i] == 0" as an --exclude list. */
static char *exclude_list(const SweepLayers *L, const int *lowered) {
    size_t cap = 1;
    for (int i = 0; i < L->n; i++) cap += strlen(L->names[i]) + 1;
    char *s = calloc(cap, 1);
    for (int i = 0; s && i < L->n; i++)
        if (!lowered[i]) strcat(strcat(s, *s ? "," : ""), L->names[i]);
    return s;
}

static int sweep_layers(const SweepArgs *a, const SweepData *d, const SweepRow *base, SweepLayers *L, FILE *sink,
                        RtError *err) {
    if (layers_find(a, L->names, &L->n, err) != CLI_OK) return CLI_BAD_INPUT;
    int bits = a->bits[0];
    for (int i = 1; i < a->n_bits; i++) bits = a->bits[i] < bits ? a->bits[i] : bits;
    const char *method = a->method[0];
    int64_t group = a->group[0];
    int status = CLI_OK;
    for (int i = 0; i < L->n && status == CLI_OK; i++) {
        int only[SWEEP_MAX_LAYERS] = {0};
        only[i] = 1;
        char *excl = exclude_list(L, only), name[DEPLOY_NAME_MAX];
        snprintf(name, sizeof name, "layer%d-int%d", i, bits);
        status = excl ? sweep_one(a, d, bits, method, group, excl, name, &L->row[i], sink, err)
                      : (rt_error_set(err, "out of memory"), CLI_BAD_INPUT);
        free(excl);
        double sign = a->lm ? -1 : 1; /* loss: accuracy lost, or perplexity gained */
        /* a layer's bytes: what lowering it alone saves (the float model's bytes minus the
         * variant's); the rest of the model is the base */
        L->cost[i] = (DeployLayerCost){L->names[i], base->weight_bytes - L->row[i].weight_bytes, 0,
                                       sign * (base->quality - L->row[i].quality)};
    }
    if (status != CLI_OK || !a->budget) return status;
    int64_t rest = base->weight_bytes;
    for (int i = 0; i < L->n; i++) rest -= L->cost[i].bytes_high;
    if (deploy_mixed_choose(L->cost, L->n, rest, a->budget, L->lower, err) != RT_OK) return CLI_BAD_INPUT;
    char *excl = exclude_list(L, L->lower);
    if (!excl) return rt_error_set(err, "out of memory"), CLI_BAD_INPUT;
    char name[DEPLOY_NAME_MAX];
    snprintf(name, sizeof name, "mixed-int%d", bits);
    int any = 0;
    for (int i = 0; i < L->n; i++) any |= L->lower[i];
    status = any ? sweep_one(a, d, bits, method, group, excl, name, &L->mixed, sink, err) : CLI_OK;
    if (any) L->mixed.method = "mixed", L->have_mixed = 1;
    free(excl);
    return status;
}

/* ---- reporting ---- */

static void rows_pareto(SweepRow *rows, int n, int lm) {
    double x[SWEEP_MAX_ROWS], y[SWEEP_MAX_ROWS];
    int f[SWEEP_MAX_ROWS];
    for (int i = 0; i < n; i++) x[i] = (double)rows[i].weight_bytes, y[i] = rows[i].quality;
    deploy_pareto_mark(x, y, n, !lm, f);
    for (int i = 0; i < n; i++) rows[i].pareto = f[i];
}

static void rows_print(FILE *out, const SweepArgs *a, const SweepRow *rows, int n) {
    fprintf(out, "%-22s %4s %-6s %5s %12s %12s %10s %11s %6s\n", "variant", "bits", "method", "group", "weight_bytes",
            "arena_bytes", a->lm ? "perplexity" : "accuracy", "latency_ms", "pareto");
    for (int i = 0; i < n; i++)
        fprintf(out, "%-22s %4d %-6s %5lld %12lld %12lld %10.4f %11.4f %6s\n", rows[i].name, rows[i].bits,
                rows[i].method, (long long)rows[i].group, (long long)rows[i].weight_bytes,
                (long long)rows[i].arena_bytes, rows[i].quality, rows[i].latency_ms, rows[i].pareto ? "*" : "");
}

static void row_json(TextBuf *b, const SweepArgs *a, const SweepRow *r) {
    text_buf_printf(b, "{\"name\":");
    text_buf_json_str(b, r->name);
    text_buf_printf(b, ",\"bits\":%d,\"method\":\"%s\",\"group\":%lld,\"file\":", r->bits, r->method, (long long)r->group);
    text_buf_json_str(b, r->file);
    text_buf_printf(b, ",\"weight_bytes\":%lld,\"arena_bytes\":%lld,\"%s\":", (long long)r->weight_bytes,
                    (long long)r->arena_bytes, a->lm ? "perplexity" : "accuracy");
    text_buf_json_num(b, r->quality);
    text_buf_printf(b, ",\"latency_ms\":");
    text_buf_json_num(b, r->latency_ms);
    text_buf_printf(b, ",\"pareto\":%s}", r->pareto ? "true" : "false");
}

static int sweep_json(const SweepArgs *a, const SweepRow *rows, int n, const SweepLayers *L, RtError *err) {
    TextBuf b = {0};
    text_buf_printf(&b, "{\"model\":");
    text_buf_json_str(&b, a->model);
    text_buf_printf(&b, ",\"metric\":\"%s\",\"variants\":[\n", a->lm ? "perplexity" : "accuracy");
    for (int i = 0; i < n; i++) {
        row_json(&b, a, &rows[i]);
        text_buf_printf(&b, "%s\n", i + 1 < n ? "," : "");
    }
    text_buf_printf(&b, "]");
    if (L) {
        text_buf_printf(&b, ",\"layers\":[");
        for (int i = 0; i < L->n; i++) {
            text_buf_printf(&b, "%s{\"layer\":", i ? "," : "");
            text_buf_json_str(&b, L->names[i]);
            text_buf_printf(&b, ",\"bytes_saved\":%lld,\"loss\":", (long long)L->cost[i].bytes_high);
            text_buf_json_num(&b, L->cost[i].loss);
            text_buf_printf(&b, ",\"lowered_in_mixed\":%s}", L->lower[i] ? "true" : "false");
        }
        text_buf_printf(&b, "]");
        if (L->have_mixed) {
            text_buf_printf(&b, ",\"mixed\":");
            row_json(&b, a, &L->mixed);
        }
    }
    text_buf_printf(&b, "}\n");
    int rc = b.oom ? rt_error_set(err, "%s: out of memory", a->json) : io_file_write_atomic(a->json, b.s, b.len, err);
    text_buf_free(&b);
    return rc == RT_OK ? CLI_OK : CLI_BAD_INPUT;
}

static int sweep_svg(const SweepArgs *a, const SweepRow *rows, int n, RtError *err) {
    DeploySvgPoint p[SWEEP_MAX_ROWS];
    for (int i = 0; i < n; i++)
        p[i] = (DeploySvgPoint){(double)rows[i].weight_bytes, rows[i].quality, rows[i].name, rows[i].pareto};
    char title[600];
    const char *base = strrchr(a->model, '/') ? strrchr(a->model, '/') + 1 : a->model;
    snprintf(title, sizeof title, "%s: %s against weight bytes", base, a->lm ? "perplexity" : "accuracy");
    TextBuf b = {0};
    deploy_svg_plot(&b, title, "weight bytes (log scale)", a->lm ? "perplexity (lower is better)" : "accuracy", p, n);
    int rc = b.oom ? rt_error_set(err, "%s: out of memory", a->svg) : io_file_write_atomic(a->svg, b.s, b.len, err);
    text_buf_free(&b);
    return rc == RT_OK ? CLI_OK : CLI_BAD_INPUT;
}

static int sweep_registry(const SweepArgs *a, const SweepRow *rows, int n, RtError *err) {
    DeployRegistry reg;
    if (deploy_registry_load(a->registry, 1, &reg, err) != RT_OK) return CLI_BAD_INPUT;
    if (!reg.model[0]) snprintf(reg.model, sizeof reg.model, "%s", a->model);
    int rc = RT_OK;
    for (int i = 0; i < n && rc == RT_OK; i++) {
        DeployVariant v;
        deploy_variant_init(&v);
        snprintf(v.name, sizeof v.name, "%s", rows[i].name);
        snprintf(v.file, sizeof v.file, "%s", rows[i].file);
        snprintf(v.method, sizeof v.method, "%s", rows[i].method);
        snprintf(v.backend, sizeof v.backend, "wafer-rt %s", wafer_rt_version());
        if (a->target) snprintf(v.target, sizeof v.target, "%s", a->target);
        v.bits = rows[i].bits;
        v.group = (int)rows[i].group;
        v.metric = a->lm ? DEPLOY_METRIC_PERPLEXITY : DEPLOY_METRIC_ACCURACY;
        v.quality = rows[i].quality;
        v.weight_bytes = rows[i].weight_bytes;
        v.arena_bytes = rows[i].arena_bytes;
        v.latency_ms = rows[i].latency_ms;
        v.price_per_hour = a->price;
        if (wafer_file_hash(v.file, v.hash, err) != RT_OK) rc = RT_ERR;
        if (rc == RT_OK) rc = deploy_registry_put(&reg, &v, err);
    }
    if (rc == RT_OK) rc = deploy_registry_save(&reg, a->registry, err);
    deploy_registry_free(&reg);
    return rc == RT_OK ? CLI_OK : CLI_BAD_INPUT;
}

static int sweep_run(const SweepArgs *a, const SweepData *d, SweepRow *rows, int *n, SweepLayers *L, FILE *sink,
                     RtError *err) {
    int status = cli_dir_make(a->out_dir, err) == RT_OK ? CLI_OK : CLI_BAD_INPUT;
    SweepRow base;
    if (status == CLI_OK) status = sweep_one(a, d, 32, NULL, 0, NULL, "f32", &base, sink, err);
    if (status == CLI_OK && !a->no_float) rows[(*n)++] = base;
    for (int bi = 0; bi < a->n_bits && status == CLI_OK; bi++)
        for (int mi = 0; mi < a->n_method && status == CLI_OK; mi++)
            for (int gi = 0; gi < a->n_group && status == CLI_OK; gi++) {
                char name[DEPLOY_NAME_MAX];
                if (a->group[gi]) snprintf(name, sizeof name, "int%d-%s-g%lld", a->bits[bi], a->method[mi], (long long)a->group[gi]);
                else snprintf(name, sizeof name, "int%d-%s", a->bits[bi], a->method[mi]);
                if (*n == SWEEP_MAX_ROWS) return rt_error_set(err, "too many variants"), CLI_BAD_INPUT;
                status = sweep_one(a, d, a->bits[bi], a->method[mi], a->group[gi], NULL, name, &rows[*n], sink, err);
                if (status == CLI_OK) (*n)++;
            }
    if (status == CLI_OK && L) status = sweep_layers(a, d, &base, L, sink, err);
    if (status == CLI_OK && L && L->have_mixed && *n < SWEEP_MAX_ROWS) rows[(*n)++] = L->mixed;
    return status;
}

int cmd_sweep(int argc, char **argv, FILE *out, RtError *err) {
    if (cli_wants_help(argc, argv)) {
        fputs(sweep_usage_head, out);
        fputs(cli_quant_usage_options, out);
        fputs("\nExit status 0 ok, 2 bad input.\n", out);
        return CLI_OK;
    }
    SweepArgs a;
    SweepData d;
    memset(&a, 0, sizeof a);
    memset(&d, 0, sizeof d);
    SweepRow *rows = calloc(SWEEP_MAX_ROWS, sizeof *rows);
    SweepLayers *L = NULL;
    FILE *sink = fopen("/dev/null", "w"); /* the pipeline's per-variant summaries */
    int n = 0, status = rows && sink ? CLI_OK : (rt_error_set(err, "out of memory"), CLI_BAD_INPUT);
    if (status == CLI_OK) status = sweep_args(argc, argv, &a, err);
    if (status == CLI_OK && a.per_layer && !(L = calloc(1, sizeof *L)))
        status = (rt_error_set(err, "out of memory"), CLI_BAD_INPUT);
    if (status == CLI_OK) status = sweep_data(&a, &d, err);
    if (status == CLI_OK) status = sweep_run(&a, &d, rows, &n, L, sink, err);
    if (status == CLI_OK) {
        rows_pareto(rows, n, a.lm);
        rows_print(out, &a, rows, n);
        if (L) {
            fprintf(out, "\nper-layer: quality loss when only that layer is lowered\n");
            for (int i = 0; i < L->n; i++)
                fprintf(out, "  %-30s saves %10lld bytes, loss %+.4f%s\n", L->names[i],
                        (long long)L->cost[i].bytes_high, L->cost[i].loss, L->lower[i] ? "  (lowered in the mixed model)" : "");
            if (L->have_mixed)
                fprintf(out, "mixed model under %lld bytes: %s, %lld weight bytes, %s %.4f\n", (long long)a.budget,
                        L->mixed.file, (long long)L->mixed.weight_bytes, a.lm ? "perplexity" : "accuracy",
                        L->mixed.quality);
            else if (a.budget)
                fprintf(out, "the float model already fits %lld bytes\n", (long long)a.budget);
        }
    }
    if (status == CLI_OK && a.json) status = sweep_json(&a, rows, n, L, err);
    if (status == CLI_OK && a.svg) status = sweep_svg(&a, rows, n, err);
    if (status == CLI_OK && a.registry) status = sweep_registry(&a, rows, n, err);
    if (sink) fclose(sink);
    free(rows);
    free(L);
    sweep_data_free(&d);
    cli_inputs_free(&a.eval);
    return status;
}
