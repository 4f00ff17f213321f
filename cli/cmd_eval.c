/*
 * cmd_eval.c — `wafer eval`: a model's quality on a labelled set, optionally gated against
 * a baseline model.
 *
 *   classify: --input NAME=X.npy ... --labels Y.npy. Every input is [n, ...]; the first
 *             output is [n, ..., C] logits; accuracy = mean(argmax over the last axis == y).
 *   lm:       --task lm --tokens T.npy, T = i64[n, T+1]. The model's single int64 input gets
 *             tokens[:, :T]; logits [n, T, V]; perplexity = exp(mean over n*T positions of
 *             -log softmax(logits)[target]), target = tokens[:, 1:]. The log-softmax is
 *             max-shifted and summed in double (logsumexp = m + log sum exp(x - m)).
 *
 * Batching runs rows [i, i+B) along axis 0. B is the model's batch when its inputs declare a
 * fixed axis 0 (the dynamo export of digits_cnn has batch 4), else --batch (default 64). A
 * model with a fixed batch gets the last partial batch padded by repeating the last sample;
 * padded rows are not scored. `seconds` is the wall time of the runs, excluding loading.
 *
 * --baseline M2 --max-drop X evaluates M2 on the same data; drop = baseline - accuracy, or
 * (perplexity - baseline) / baseline; exit 1 when drop > X. --json FILE writes the flat
 * report of ARCHITECTURE.md (written before the exit status is decided, atomically).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/kernels/kernel.h"
#include "../runtime/rt_exec.h"
#include "cli.h"

#define EVAL_DEFAULT_BATCH 64

static const char *const eval_usage =
    "usage: wafer eval MODEL --input NAME=X.npy ... --labels Y.npy [options]\n"
    "       wafer eval MODEL --task lm --tokens T.npy [options]\n"
    "\n"
    "Classifier top-1 accuracy (argmax over the last axis of the first output; labels\n"
    "int64 or int32 [n]) or language-model perplexity (T is int64 [n, T+1]: the model reads\n"
    "[:, :T], targets are [:, 1:]).\n"
    "\n"
    "  --task classify|lm    default classify\n"
    "  --batch N             rows per run (default 64; a model with a fixed batch uses its own)\n"
    "  --threads T           threads for wafer's kernels and OpenBLAS's GEMMs (default: the\n"
    "                        kernels run on 1 thread, OpenBLAS keeps its own setting)\n"
    "  --baseline MODEL2     also evaluate MODEL2 on the same data and report the drop\n"
    "  --max-drop X          with --baseline: exit 1 if the drop exceeds X (absolute accuracy,\n"
    "                        or relative perplexity: (ppl - baseline) / baseline)\n"
    "  --json FILE           write {model, task, samples, accuracy|perplexity, baseline, drop,\n"
    "                        pass, seconds, latency_ms_per_sample, weight_bytes}\n"
    "\n"
    "Exit status 0 ok, 1 the drop exceeds --max-drop, 2 bad input.\n";

typedef struct {
    const char *model, *baseline;        /* borrowed (argv) */
    const char *labels, *tokens, *json;  /* borrowed (argv) paths, NULL when absent */
    int lm;                              /* --task lm */
    int64_t batch;                       /* --batch, 0 when not given */
    int64_t threads;                     /* --threads, 0 when not given */
    struct RtThreadPool *pool;           /* owned (cli_threads_start); NULL = one thread */
    int has_max_drop;
    double max_drop;
    CliInputs inputs;                    /* classify inputs (owned data) */
} EvalArgs;

typedef struct {
    int64_t n;            /* samples */
    RtTensor labels;      /* classify: [n] int64/int32, data owned */
    RtTensor tokens;      /* lm: [n, T+1] as read, data owned */
    RtTensor lm_input;    /* lm: tokens[:, :T] as int64 [n, T], data owned */
} EvalData;

typedef struct {
    double metric;        /* accuracy, or perplexity */
    int64_t correct;      /* classify: rows whose argmax matched */
    double nll_sum;       /* lm: summed cross-entropy (nats) */
    int64_t batch;        /* rows per run used */
    int batch_fixed;      /* 1 when the model fixed the batch */
    double seconds;       /* wall time of the runs */
    int64_t weight_bytes; /* bytes of constants */
} EvalResult;

/* ---- arguments and data ---- */

static int eval_args_parse(int argc, char **argv, EvalArgs *a, RtError *err) {
    const char *task = "classify";
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r = 0;
#define OPT(name) ((r = cli_opt(argc, argv, &i, name, &v, "eval", err)) != 0)
        if (OPT("--input")) {
            if (r < 0 || cli_inputs_add(&a->inputs, v, "eval", err) != CLI_OK) return CLI_BAD_INPUT;
        } else if (OPT("--labels")) {
            a->labels = v;
        } else if (OPT("--tokens")) {
            a->tokens = v;
        } else if (OPT("--task")) {
            task = v;
        } else if (OPT("--json")) {
            a->json = v;
        } else if (OPT("--baseline")) {
            a->baseline = v;
        } else if (OPT("--batch")) {
            if (r < 0 || cli_parse_i64(v, 1, 1 << 20, "--batch", "eval", &a->batch, err) != CLI_OK)
                return CLI_BAD_INPUT;
        } else if (OPT("--threads")) {
            if (r < 0 || cli_parse_i64(v, 1, 1024, "--threads", "eval", &a->threads, err) != CLI_OK)
                return CLI_BAD_INPUT;
        } else if (OPT("--max-drop")) {
            if (r < 0 || cli_parse_f64(v, "--max-drop", "eval", &a->max_drop, err) != CLI_OK)
                return CLI_BAD_INPUT;
            a->has_max_drop = 1;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage_error(err, "eval", "unknown option '%s'", argv[i]);
        } else if (a->model) {
            return cli_usage_error(err, "eval", "one MODEL only (got '%s' and '%s')", a->model, argv[i]);
        } else {
            a->model = argv[i];
        }
#undef OPT
        if (r < 0) return CLI_BAD_INPUT;
    }
    if (!a->model) return cli_usage_error(err, "eval", "missing MODEL");
    if (strcmp(task, "lm") == 0)
        a->lm = 1;
    else if (strcmp(task, "classify") != 0)
        return cli_usage_error(err, "eval", "--task is classify or lm, got '%s'", task);
    if (a->lm && (a->inputs.n || a->labels))
        return cli_usage_error(err, "eval", "--task lm takes --tokens, not --input or --labels");
    if (a->lm && !a->tokens) return cli_usage_error(err, "eval", "--task lm needs --tokens FILE.npy");
    if (!a->lm && a->tokens) return cli_usage_error(err, "eval", "--tokens needs --task lm");
    if (!a->lm && (!a->inputs.n || !a->labels))
        return cli_usage_error(err, "eval", "classification needs --input NAME=FILE.npy and --labels FILE.npy");
    if (a->has_max_drop && !a->baseline) return cli_usage_error(err, "eval", "--max-drop needs --baseline MODEL2");
    return CLI_OK;
}

static int eval_data_classify(const EvalArgs *a, EvalData *d, RtError *err) {
    if (npy_read(a->labels, &d->labels, err) != RT_OK) return CLI_BAD_INPUT;
    if ((d->labels.dtype != RT_I64 && d->labels.dtype != RT_I32) || d->labels.rank != 1)
        return rt_error_set(err, "%s: labels must be int64 or int32 [n], got %s of rank %d", a->labels,
                            rt_dtype_name(d->labels.dtype), d->labels.rank), CLI_BAD_INPUT;
    d->n = d->labels.dims[0];
    for (int k = 0; k < a->inputs.n; k++) {
        const CliInput *in = &a->inputs.v[k];
        if (in->t.rank < 1 || in->t.dims[0] != d->n)
            return rt_error_set(err, "input '%s': %s has %lld rows, %s has %lld labels", in->name, in->path,
                                in->t.rank < 1 ? 0LL : (long long)in->t.dims[0], a->labels, (long long)d->n),
                   CLI_BAD_INPUT;
    }
    return CLI_OK;
}

/* tokens [n, T+1] (int64 or int32) → lm_input int64 [n, T]. */
static int eval_data_lm(const EvalArgs *a, EvalData *d, RtError *err) {
    if (npy_read(a->tokens, &d->tokens, err) != RT_OK) return CLI_BAD_INPUT;
    const RtTensor *t = &d->tokens;
    if ((t->dtype != RT_I64 && t->dtype != RT_I32) || t->rank != 2 || t->dims[1] < 2)
        return rt_error_set(err, "%s: tokens must be int64 [n, T+1] with T >= 1, got %s of rank %d",
                            a->tokens, rt_dtype_name(t->dtype), t->rank), CLI_BAD_INPUT;
    d->n = t->dims[0];
    int64_t T = t->dims[1] - 1;
    RtTensor *x = &d->lm_input;
    *x = (RtTensor){RT_I64, 2, {d->n, T}, NULL};
    x->data = malloc((size_t)(d->n * T) * sizeof(int64_t) + 8);
    if (!x->data) return rt_error_set(err, "%s: out of memory", a->tokens), CLI_BAD_INPUT;
    for (int64_t r = 0; r < d->n; r++)
        for (int64_t c = 0; c < T; c++) ((int64_t *)x->data)[r * T + c] = rt_get_i64(t, r * (T + 1) + c);
    return CLI_OK;
}

static void eval_data_free(EvalData *d) {
    free(d->labels.data);
    free(d->tokens.data);
    free(d->lm_input.data);
}

/* ---- one model ---- */

/* The model's inputs in order, checked against the data (axis 0 excepted). */
static int eval_inputs_order(const IrGraph *g, const EvalArgs *a, const EvalData *d, RtTensor *ordered,
                             RtError *err) {
    if (!a->lm) return cli_inputs_match(g, &a->inputs, 1, ordered, err);
    if (g->n_inputs != 1)
        return rt_error_set(err, "%s: --task lm needs a model with one int64 tokens input; it has %d inputs",
                            g->path, g->n_inputs), CLI_BAD_INPUT;
    CliInput in = {g->values[g->inputs[0]].name, a->tokens, d->lm_input};
    CliInputs one = {&in, 1, 1};
    return cli_inputs_match(g, &one, 1, ordered, err);
}

/* Rows per run: the model's fixed axis 0 when it declares one (all inputs must agree). */
static int eval_batch_choose(const IrGraph *g, const EvalArgs *a, EvalResult *res, RtError *err) {
    int64_t fixed = -1;
    for (int i = 0; i < g->n_inputs; i++) {
        const IrValue *v = &g->values[g->inputs[i]];
        if (v->rank < 1 || v->dims[0].value < 0) continue;
        if (fixed >= 0 && v->dims[0].value != fixed)
            return rt_error_set(err, "%s: inputs disagree on the batch size (%lld and %lld)", g->path,
                                (long long)fixed, (long long)v->dims[0].value), CLI_BAD_INPUT;
        fixed = v->dims[0].value;
    }
    if (fixed == 0) return rt_error_set(err, "%s: the model's batch size is fixed at 0", g->path), CLI_BAD_INPUT;
    res->batch_fixed = fixed > 0;
    res->batch = fixed > 0 ? fixed : (a->batch ? a->batch : EVAL_DEFAULT_BATCH);
    return CLI_OK;
}

/* Bytes of one row (everything after axis 0) of t. */
static size_t row_bytes(const RtTensor *t) {
    return (size_t)rt_shape_numel(t->rank - 1, t->dims + 1) * rt_dtype_size(t->dtype);
}

/* Copies rows [i, i+rows) of full into b, then repeats the last sample up to `run` rows. */
static void batch_fill(const RtTensor *full, RtTensor *b, int64_t i, int64_t rows, int64_t run) {
    size_t rb = row_bytes(full);
    const char *src = full->data;
    memcpy(b->data, src + (size_t)i * rb, (size_t)rows * rb);
    for (int64_t r = rows; r < run; r++)
        memcpy((char *)b->data + (size_t)r * rb, src + (size_t)(full->dims[0] - 1) * rb, rb);
    b->dims[0] = run;
}

static int score_classify(const IrGraph *g, const EvalArgs *a, const EvalData *d, const RtTensor *out,
                          int64_t i, int64_t rows, int64_t run, EvalResult *res, RtError *err) {
    const char *name = g->values[g->outputs[0]].name;
    int64_t C = out->rank >= 1 ? out->dims[out->rank - 1] : 0;
    char shape[160];
    if (C < 1 || rt_numel(out) != run * C)
        return rt_error_set(err, "%s: output '%s' has shape %s; expected [%lld, classes] logits", g->path, name,
                            rt_shape_str(out->rank, out->dims, shape, sizeof shape), (long long)run),
               CLI_BAD_INPUT;
    for (int64_t r = 0; r < rows; r++) {
        int64_t best = 0;
        double bv = rt_get_f64(out, r * C);
        for (int64_t c = 1; c < C; c++) {
            double v = rt_get_f64(out, r * C + c);
            if (v > bv || bv != bv) { /* first maximum; NaN never wins */
                bv = v;
                best = c;
            }
        }
        int64_t y = rt_get_i64(&d->labels, i + r);
        if (y < 0 || y >= C)
            return rt_error_set(err, "%s: label %lld of sample %lld is outside the model's %lld classes",
                                a->labels, (long long)y, (long long)(i + r), (long long)C), CLI_BAD_INPUT;
        res->correct += best == y;
    }
    return CLI_OK;
}

static int score_lm(const IrGraph *g, const EvalArgs *a, const EvalData *d, const RtTensor *out, int64_t i,
                    int64_t rows, int64_t run, EvalResult *res, RtError *err) {
    const char *name = g->values[g->outputs[0]].name;
    int64_t T = d->lm_input.dims[1];
    char shape[160];
    if (out->rank != 3 || out->dims[0] != run || out->dims[1] != T || out->dims[2] < 1)
        return rt_error_set(err, "%s: output '%s' has shape %s; expected [%lld, %lld, vocab] logits", g->path,
                            name, rt_shape_str(out->rank, out->dims, shape, sizeof shape), (long long)run,
                            (long long)T), CLI_BAD_INPUT;
    int64_t V = out->dims[2];
    for (int64_t r = 0; r < rows; r++)
        for (int64_t t = 0; t < T; t++) {
            int64_t y = rt_get_i64(&d->tokens, (i + r) * (T + 1) + t + 1);
            if (y < 0 || y >= V)
                return rt_error_set(err, "%s: token %lld at [%lld, %lld] is outside the model's vocabulary of %lld",
                                    a->tokens, (long long)y, (long long)(i + r), (long long)(t + 1), (long long)V),
                       CLI_BAD_INPUT;
            int64_t base = (r * T + t) * V;
            double m = -INFINITY, s = 0;
            for (int64_t v = 0; v < V; v++) m = fmax(m, rt_get_f64(out, base + v));
            for (int64_t v = 0; v < V; v++) s += exp(rt_get_f64(out, base + v) - m);
            res->nll_sum += m + log(s) - rt_get_f64(out, base + y);
        }
    return CLI_OK;
}

/* Runs every batch of the data through g and scores it. */
static int eval_loop(const IrGraph *g, const EvalArgs *a, const EvalData *d, const RtTensor *full,
                     EvalResult *res, RtError *err) {
    int ni = g->n_inputs, no = g->n_outputs;
    RtTensor *bin = calloc((size_t)(ni ? ni : 1), sizeof *bin), *outs = calloc((size_t)(no ? no : 1), sizeof *outs);
    int status = (bin && outs) ? CLI_OK : (rt_error_set(err, "out of memory"), CLI_BAD_INPUT);
    for (int k = 0; k < ni && status == CLI_OK; k++) {
        bin[k] = full[k];
        bin[k].data = malloc((size_t)res->batch * row_bytes(&full[k]) + 64);
        if (!bin[k].data) status = (rt_error_set(err, "out of memory"), CLI_BAD_INPUT);
    }
    if (status == CLI_OK && no < 1)
        status = (rt_error_set(err, "%s: the model has no outputs", g->path), CLI_BAD_INPUT);
    double t0 = cli_now();
    for (int64_t i = 0; i < d->n && status == CLI_OK; i += res->batch) {
        int64_t rows = d->n - i < res->batch ? d->n - i : res->batch;
        int64_t run = res->batch_fixed ? res->batch : rows;
        for (int k = 0; k < ni; k++) batch_fill(&full[k], &bin[k], i, rows, run);
        RtRunOptions o = {.pool = a->pool, .ref_only = cli_ref_only()};
        if (ir_run_opts(g, bin, outs, &o, err) != RT_OK) {
            cli_error_name_file(err, g->path);
            status = CLI_BAD_INPUT;
            break;
        }
        status = a->lm ? score_lm(g, a, d, &outs[0], i, rows, run, res, err)
                       : score_classify(g, a, d, &outs[0], i, rows, run, res, err);
        for (int k = 0; k < no; k++) {
            free(outs[k].data);
            outs[k].data = NULL;
        }
    }
    res->seconds = cli_now() - t0;
    for (int k = 0; bin && k < ni; k++) free(bin[k].data);
    free(bin);
    free(outs);
    return status;
}

static int eval_model(const char *path, const EvalArgs *a, const EvalData *d, EvalResult *res, RtError *err) {
    memset(res, 0, sizeof *res);
    IrGraph *g = cli_model_load(path, 0, err);
    if (!g) return CLI_BAD_INPUT;
    RtTensor *full = calloc((size_t)(g->n_inputs ? g->n_inputs : 1), sizeof *full);
    int status = full ? CLI_OK : (rt_error_set(err, "out of memory"), CLI_BAD_INPUT);
    if (status == CLI_OK) status = eval_inputs_order(g, a, d, full, err);
    if (status == CLI_OK) status = eval_batch_choose(g, a, res, err);
    if (status == CLI_OK) status = eval_loop(g, a, d, full, res, err);
    if (status == CLI_OK) {
        int64_t count = 0;
        cli_graph_params(g, &count, &res->weight_bytes);
        res->metric = a->lm ? exp(res->nll_sum / (double)(d->n * d->lm_input.dims[1]))
                            : (double)res->correct / (double)d->n;
    }
    free(full);
    ir_graph_free(g);
    return status;
}

/* ---- reporting ---- */

static void eval_print(FILE *out, const char *label, const char *path, const EvalArgs *a, const EvalData *d,
                       const EvalResult *r) {
    fprintf(out, "%s%s: ", label, path);
    if (a->lm)
        fprintf(out, "perplexity %.4f (%lld windows x %lld tokens)", r->metric, (long long)d->n,
                (long long)d->lm_input.dims[1]);
    else
        fprintf(out, "accuracy %.4f (%lld/%lld)", r->metric, (long long)r->correct, (long long)d->n);
    fprintf(out, ", batch %lld%s, %.3f s (%.3f ms/sample)\n", (long long)r->batch,
            r->batch_fixed ? " (fixed by the model)" : "", r->seconds, r->seconds * 1e3 / (double)d->n);
}

static int eval_json_write(const EvalArgs *a, const EvalData *d, const EvalResult *r, const EvalResult *base,
                           double drop, int pass, RtError *err) {
    TextBuf b;
    memset(&b, 0, sizeof b);
    text_buf_printf(&b, "{\"model\":");
    text_buf_json_str(&b, a->model);
    text_buf_printf(&b, ",\"task\":\"%s\",\"samples\":%lld,\"%s\":", a->lm ? "lm" : "classify", (long long)d->n,
                   a->lm ? "perplexity" : "accuracy");
    text_buf_json_num(&b, r->metric);
    if (base) {
        text_buf_printf(&b, ",\"baseline\":");
        text_buf_json_num(&b, base->metric);
        text_buf_printf(&b, ",\"drop\":");
        text_buf_json_num(&b, drop);
        text_buf_printf(&b, ",\"pass\":%s", pass ? "true" : "false");
    }
    text_buf_printf(&b, ",\"seconds\":");
    text_buf_json_num(&b, r->seconds);
    text_buf_printf(&b, ",\"latency_ms_per_sample\":");
    text_buf_json_num(&b, r->seconds * 1e3 / (double)d->n);
    text_buf_printf(&b, ",\"weight_bytes\":%lld}\n", (long long)r->weight_bytes);
    int rc = b.oom ? rt_error_set(err, "%s: out of memory", a->json) : io_file_write_atomic(a->json, b.s, b.len, err);
    text_buf_free(&b);
    return rc == RT_OK ? CLI_OK : CLI_BAD_INPUT;
}

static int eval_report(FILE *out, const EvalArgs *a, const EvalData *d, const EvalResult *r,
                       const EvalResult *base, RtError *err) {
    eval_print(out, "", a->model, a, d, r);
    double drop = NAN;
    int pass = 1;
    if (base) {
        eval_print(out, "baseline ", a->baseline, a, d, base);
        drop = a->lm ? (r->metric - base->metric) / base->metric : base->metric - r->metric;
        pass = !a->has_max_drop || drop <= a->max_drop; /* a NaN drop fails */
        fprintf(out, "drop %.4f%s", drop, a->lm ? " (relative perplexity)" : " (accuracy)");
        if (a->has_max_drop) fprintf(out, ", max %.4f: %s", a->max_drop, pass ? "pass" : "FAIL");
        fprintf(out, "\n");
    }
    if (a->json && eval_json_write(a, d, r, base, drop, pass, err) != CLI_OK) return CLI_BAD_INPUT;
    if (!pass) {
        rt_error_set(err, "%s drop %.4f exceeds --max-drop %.4f", a->lm ? "perplexity" : "accuracy", drop,
                     a->max_drop);
        return CLI_CHECK_FAILED;
    }
    return CLI_OK;
}

int cmd_eval(int argc, char **argv, FILE *out, RtError *err) {
    if (cli_wants_help(argc, argv)) {
        fputs(eval_usage, out);
        return CLI_OK;
    }
    EvalArgs a;
    EvalData d;
    memset(&a, 0, sizeof a);
    memset(&d, 0, sizeof d);
    int status = eval_args_parse(argc, argv, &a, err);
    if (status == CLI_OK) status = cli_inputs_read(&a.inputs, err);
    if (status == CLI_OK) status = a.lm ? eval_data_lm(&a, &d, err) : eval_data_classify(&a, &d, err);
    if (status == CLI_OK && d.n < 1)
        status = (rt_error_set(err, "%s: no samples", a.lm ? a.tokens : a.labels), CLI_BAD_INPUT);
    EvalResult r, base;
    if (status == CLI_OK) status = cli_threads_start(a.threads, "eval", &a.pool, err);
    if (status == CLI_OK) status = eval_model(a.model, &a, &d, &r, err);
    if (status == CLI_OK && a.baseline) status = eval_model(a.baseline, &a, &d, &base, err);
    if (status == CLI_OK) status = eval_report(out, &a, &d, &r, a.baseline ? &base : NULL, err);
    eval_data_free(&d);
    cli_inputs_free(&a.inputs);
    cli_threads_stop(a.pool);
    return status;
}
