/*
 * cmd_cascade.c — `wafer cascade --small A.wafer --large B.wafer --input NAME=X.npy ...
 * --labels Y.npy [--threshold T | --sweep]`: a small model first, the large one when the small
 * one is unsure (runtime/wafer_rt_cascade.c), measured on a labelled set.
 *
 * --input files go to whichever model has an input of that name (the two models may read
 * different tensors: the digits MLP reads x [n,64], the CNN image [n,1,8,8]).
 *
 * --threshold T runs wafer_rt_cascade once over all rows and reports accuracy, the fraction
 * escalated, the mean latency per inference (wall time / rows) and the cost per correct
 * inference at --price-per-hour (times: the fastest of --repeat passes). --sweep measures once (the small model on all rows, the large
 * one row by row as the cascade runs it), computes the whole threshold curve
 * (deploy/cascade_curve.c), chooses the cheapest threshold within --max-drop of the large
 * model's accuracy, and checks the choice by running the cascade at it. --registry FILE
 * records the chosen (or given) threshold as a cascade of the registry.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../deploy/deploy.h"
#include "../runtime/kernels/kernel.h"
#include "cli.h"

#define CASCADE_MAX_THRESHOLDS 64

static const char *const cascade_usage =
    "usage: wafer cascade --small A.wafer --large B.wafer --input NAME=X.npy ... --labels Y.npy\n"
    "                     [--threshold T | --sweep] [options]\n"
    "\n"
    "Runs the small model on every input and the large one where the small one's confidence\n"
    "is below the threshold. Reports accuracy, the fraction escalated, the mean latency per\n"
    "inference and the cost per correct inference.\n"
    "\n"
    "  --input NAME=FILE      given to each model with an input NAME (repeatable)\n"
    "  --labels Y.npy         int64/int32 [n] class labels\n"
    "  --threshold T          escalate when confidence < T (default 0.9)\n"
    "  --sweep                the whole threshold curve; chooses the cheapest threshold whose\n"
    "                         accuracy is within --max-drop of the large model's\n"
    "  --thresholds LIST      the sweep's thresholds (default 0.5,0.6,0.7,0.8,0.85,0.9,0.95,\n"
    "                         0.97,0.98,0.99,0.995,0.999)\n"
    "  --max-drop X           allowed accuracy drop from the large model (default 0.003)\n"
    "  --confidence max_prob|margin   max softmax probability (default) or top-1 minus top-2\n"
    "  --price-per-hour P     prices the time for the cost columns (default 1)\n"
    "  --price-signal S --price-cap C   S in [0,1]; S > C runs only the small model\n"
    "  --threads T            kernel threads of each model\n"
    "  --repeat N             timing: each measured pass runs N times, the fastest counts\n"
    "                         (default 3)\n"
    "  --registry FILE        record the cascade (threshold, accuracy, escalated, latency)\n"
    "  --small-name N --large-name N   names recorded in the registry (default: the files)\n"
    "  --json FILE            the result (and with --sweep the curve) as JSON\n"
    "\n"
    "Exit status 0 ok, 1 --sweep found no threshold within --max-drop, 2 bad input.\n";

typedef struct {
    const char *small, *large, *labels, *json, *registry;    /* borrowed argv */
    const char *small_name, *large_name;
    int sweep, margin;
    double threshold, max_drop, price, signal, cap;
    double thr[CASCADE_MAX_THRESHOLDS];
    int n_thr;
    int64_t threads, repeat;          /* timing: the fastest of `repeat` passes */
    CliInputs inputs, in_small, in_large;   /* in_small/in_large: views of inputs' entries */
} CascadeArgs;

typedef struct {
    WaferRtModel *small, *large;
    WaferRtTensor xs[16], xl[16];
    int ns, nl;
    RtTensor labels;
    int64_t n, C;
} CascadeData;

static int parse_thresholds(const char *s, CascadeArgs *a, RtError *err) {
    a->n_thr = 0;
    const char *p = s;
    while (*p) {
        char *end;
        double t = strtod(p, &end);
        if (end == p || (*end && *end != ',') || t != t)
            return cli_usage_error(err, "cascade", "--thresholds: '%s' is not a comma-separated list of numbers", s);
        if (a->n_thr == CASCADE_MAX_THRESHOLDS)
            return cli_usage_error(err, "cascade", "--thresholds: at most %d values", CASCADE_MAX_THRESHOLDS);
        a->thr[a->n_thr++] = t;
        p = *end ? end + 1 : end;
    }
    if (!a->n_thr) return cli_usage_error(err, "cascade", "--thresholds: empty list");
    return CLI_OK;
}

static int cascade_args(int argc, char **argv, CascadeArgs *a, RtError *err) {
    static const double defaults[] = {0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999};
    a->threshold = 0.9;
    a->repeat = 3;
    a->max_drop = 0.003;
    a->price = 1.0;
    a->signal = -1;
    a->cap = 1;
    a->n_thr = (int)(sizeof defaults / sizeof defaults[0]);
    memcpy(a->thr, defaults, sizeof defaults);
    int has_threshold = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r = 0, st = CLI_OK;
#define OPT(name) ((r = cli_opt(argc, argv, &i, name, &v, "cascade", err)) != 0)
        if (strcmp(argv[i], "--sweep") == 0) a->sweep = 1;
        else if (OPT("--small")) a->small = v;
        else if (OPT("--large")) a->large = v;
        else if (OPT("--labels")) a->labels = v;
        else if (OPT("--json")) a->json = v;
        else if (OPT("--registry")) a->registry = v;
        else if (OPT("--small-name")) a->small_name = v;
        else if (OPT("--large-name")) a->large_name = v;
        else if (OPT("--input")) st = r < 0 ? CLI_BAD_INPUT : cli_inputs_add(&a->inputs, v, "cascade", err);
        else if (OPT("--threshold")) st = r < 0 ? CLI_BAD_INPUT : cli_parse_f64(v, "--threshold", "cascade", &a->threshold, err), has_threshold = 1;
        else if (OPT("--thresholds")) st = r < 0 ? CLI_BAD_INPUT : parse_thresholds(v, a, err);
        else if (OPT("--max-drop")) st = r < 0 ? CLI_BAD_INPUT : cli_parse_f64(v, "--max-drop", "cascade", &a->max_drop, err);
        else if (OPT("--price-per-hour")) st = r < 0 ? CLI_BAD_INPUT : cli_parse_f64(v, "--price-per-hour", "cascade", &a->price, err);
        else if (OPT("--price-signal")) st = r < 0 ? CLI_BAD_INPUT : cli_parse_f64(v, "--price-signal", "cascade", &a->signal, err);
        else if (OPT("--price-cap")) st = r < 0 ? CLI_BAD_INPUT : cli_parse_f64(v, "--price-cap", "cascade", &a->cap, err);
        else if (OPT("--repeat")) st = r < 0 ? CLI_BAD_INPUT : cli_parse_i64(v, 1, 1000, "--repeat", "cascade", &a->repeat, err);
        else if (OPT("--threads")) st = r < 0 ? CLI_BAD_INPUT : cli_parse_i64(v, 1, 1024, "--threads", "cascade", &a->threads, err);
        else if (OPT("--confidence")) {
            if (r > 0 && strcmp(v, "margin") != 0 && strcmp(v, "max_prob") != 0)
                return cli_usage_error(err, "cascade", "--confidence is max_prob or margin, got '%s'", v);
            a->margin = r > 0 && strcmp(v, "margin") == 0;
        } else return cli_usage_error(err, "cascade", "unknown argument '%s'", argv[i]);
#undef OPT
        if (r < 0 || st != CLI_OK) return CLI_BAD_INPUT;
    }
    if (!a->small || !a->large) return cli_usage_error(err, "cascade", "needs --small A.wafer and --large B.wafer");
    if (!a->labels || !a->inputs.n) return cli_usage_error(err, "cascade", "needs --input NAME=FILE.npy and --labels FILE.npy");
    if (a->sweep && has_threshold) return cli_usage_error(err, "cascade", "--threshold or --sweep, not both");
    if (a->price < 0) return cli_usage_error(err, "cascade", "--price-per-hour must be >= 0");
    if (a->signal > 1) return cli_usage_error(err, "cascade", "--price-signal must be in [0, 1]");
    if (!a->small_name) a->small_name = a->small;
    if (!a->large_name) a->large_name = a->large;
    return CLI_OK;
}

/* Splits the --input set between the models by input name; every file must feed one. */
static int split_inputs(CascadeArgs *a, CascadeData *d, RtError *err) {
    for (int k = 0; k < a->inputs.n; k++) {
        const CliInput *in = &a->inputs.v[k];
        int used = 0;
        for (int m = 0; m < 2; m++) {
            WaferRtModel *model = m ? d->large : d->small;
            CliInputs *dst = m ? &a->in_large : &a->in_small;
            for (int i = 0; i < wafer_rt_num_inputs(model); i++)
                if (strcmp(wafer_rt_input_info(model, i, NULL), in->name) == 0) {
                    if (dst->n == dst->cap) {
                        int cap = dst->cap ? 2 * dst->cap : 4;
                        CliInput *nv = realloc(dst->v, (size_t)cap * sizeof *nv);
                        if (!nv) return rt_error_set(err, "out of memory"), CLI_BAD_INPUT;
                        dst->v = nv;
                        dst->cap = cap;
                    }
                    dst->v[dst->n++] = *in;
                    used = 1;
                }
        }
        if (!used)
            return rt_error_set(err, "--input %s (%s): neither %s nor %s has an input of that name", in->name, in->path,
                                a->small, a->large), CLI_BAD_INPUT;
    }
    d->ns = wafer_rt_num_inputs(d->small);
    d->nl = wafer_rt_num_inputs(d->large);
    if (d->ns > 16 || d->nl > 16) return rt_error_set(err, "cascade: at most 16 inputs per model"), CLI_BAD_INPUT;
    if (cli_rt_inputs(d->small, a->small, &a->in_small, d->xs, err) != CLI_OK ||
        cli_rt_inputs(d->large, a->large, &a->in_large, d->xl, err) != CLI_OK)
        return CLI_BAD_INPUT;
    return CLI_OK;
}

static int cascade_load(CascadeArgs *a, CascadeData *d, RtError *err) {
    if (cli_inputs_read(&a->inputs, err) != CLI_OK) return CLI_BAD_INPUT;
    if (cli_rt_open(a->small, a->threads, &d->small, err) != CLI_OK) return CLI_BAD_INPUT;
    if (cli_rt_open(a->large, a->threads, &d->large, err) != CLI_OK) return CLI_BAD_INPUT;
    if (split_inputs(a, d, err) != CLI_OK) return CLI_BAD_INPUT;
    if (npy_read(a->labels, &d->labels, err) != RT_OK) return CLI_BAD_INPUT;
    if ((d->labels.dtype != RT_I64 && d->labels.dtype != RT_I32) || d->labels.rank != 1)
        return rt_error_set(err, "%s: labels must be int64 or int32 [n]", a->labels), CLI_BAD_INPUT;
    d->n = d->labels.dims[0];
    for (int k = 0; k < a->inputs.n; k++)
        if (a->inputs.v[k].t.rank < 1 || a->inputs.v[k].t.dims[0] != d->n)
            return rt_error_set(err, "input '%s': %s has %lld rows, %s has %lld labels", a->inputs.v[k].name,
                                a->inputs.v[k].path, a->inputs.v[k].t.rank ? (long long)a->inputs.v[k].t.dims[0] : 0LL,
                                a->labels, (long long)d->n), CLI_BAD_INPUT;
    if (d->n < 1) return rt_error_set(err, "%s: no samples", a->labels), CLI_BAD_INPUT;
    WaferRtTensor info;
    wafer_rt_output_info(d->small, 0, &info);
    d->C = info.rank >= 1 ? info.dims[info.rank - 1] : -1;
    if (d->C < 1) return rt_error_set(err, "%s: the first output's classes are unknown", a->small), CLI_BAD_INPUT;
    return CLI_OK;
}

static int argmax_ok(const CascadeData *d, const float *row, int64_t r) {
    int64_t best = 0;
    for (int64_t c = 1; c < d->C; c++)
        if (row[c] > row[best]) best = c;
    return best == rt_get_i64(&d->labels, r);
}

/* The runtime's message, named by the two files (its own "wafer_rt_cascade: " prefix dropped). */
static int cascade_error(const CascadeArgs *a, const WaferRtError *e, RtError *err) {
    const char *msg = e->msg, *pre = "wafer_rt_cascade: ";
    if (strncmp(msg, pre, strlen(pre)) == 0) msg += strlen(pre);
    rt_error_set(err, "%s -> %s: %s", a->small, a->large, msg);
    return CLI_BAD_INPUT;
}

typedef struct {
    double accuracy, escalated, latency_ms, cost, cost_per_correct;
} CascadeRun;

static int cascade_run(const CascadeArgs *a, CascadeData *d, double threshold, CascadeRun *out, RtError *err) {
    float *logits = malloc((size_t)(d->n * d->C) * sizeof(float));
    if (!logits) return rt_error_set(err, "out of memory"), CLI_BAD_INPUT;
    WaferRtCascadeOptions o = {a->margin ? WAFER_RT_CONF_MARGIN : WAFER_RT_CONF_MAX_PROB, (float)threshold,
                               (float)a->signal, (float)a->cap};
    WaferRtCascadeResult res = {logits, NULL, NULL, 0};
    WaferRtError e;
    WaferRtStatus st = WAFER_RT_OK;
    double secs = INFINITY;
    for (int64_t k = 0; k < a->repeat && st == WAFER_RT_OK; k++) {
        double t0 = cli_now();
        st = wafer_rt_cascade(d->small, d->xs, d->ns, d->large, d->xl, d->nl, &o, &res, &e);
        secs = fmin(secs, cli_now() - t0);
    }
    if (st != WAFER_RT_OK) {
        free(logits);
        return cascade_error(a, &e, err);
    }
    int64_t right = 0;
    for (int64_t r = 0; r < d->n; r++) right += argmax_ok(d, logits + r * d->C, r);
    free(logits);
    out->accuracy = (double)right / (double)d->n;
    out->escalated = (double)res.n_escalated / (double)d->n;
    out->latency_ms = secs * 1e3 / (double)d->n;
    out->cost = deploy_cost_per_inference(out->latency_ms, a->price);
    out->cost_per_correct = out->accuracy > 0 ? out->cost / out->accuracy : INFINITY;
    return CLI_OK;
}

/* One measurement pass for the sweep: small on all rows, large row by row. */
typedef struct {
    double *conf;
    unsigned char *small_ok, *large_ok;
    double lat_small, lat_large;       /* ms per inference */
} CascadeMeasure;

static int cascade_measure(const CascadeArgs *a, CascadeData *d, CascadeMeasure *m, RtError *err) {
    m->conf = malloc((size_t)d->n * sizeof(double));
    m->small_ok = malloc((size_t)d->n);
    m->large_ok = malloc((size_t)d->n);
    if (!m->conf || !m->small_ok || !m->large_ok) return rt_error_set(err, "out of memory"), CLI_BAD_INPUT;
    /* threshold 2 (above any confidence): the cascade answers every row with the large model;
     * threshold -1 gives the small model's answers and confidences */
    float *logits = malloc((size_t)(d->n * d->C) * sizeof(float)), *conf = malloc((size_t)d->n * sizeof(float));
    int status = logits && conf ? CLI_OK : (rt_error_set(err, "out of memory"), CLI_BAD_INPUT);
    WaferRtError e;
    for (int pass = 0; pass < 2 && status == CLI_OK; pass++) {
        WaferRtCascadeOptions o = {a->margin ? WAFER_RT_CONF_MARGIN : WAFER_RT_CONF_MAX_PROB, pass ? 2.0f : -1.0f,
                                   -1.0f, 1.0f};
        WaferRtCascadeResult res = {logits, conf, NULL, 0};
        double best = INFINITY; /* the fastest of --repeat passes: the others met interference */
        for (int64_t k = 0; k < a->repeat && status == CLI_OK; k++) {
            double t0 = cli_now();
            if (wafer_rt_cascade(d->small, d->xs, d->ns, d->large, d->xl, d->nl, &o, &res, &e) != WAFER_RT_OK)
                status = cascade_error(a, &e, err);
            best = fmin(best, cli_now() - t0);
        }
        if (status != CLI_OK) break;
        double ms = best * 1e3 / (double)d->n;
        for (int64_t r = 0; r < d->n; r++) {
            unsigned char ok = (unsigned char)argmax_ok(d, logits + r * d->C, r);
            if (pass) m->large_ok[r] = ok;
            else m->small_ok[r] = ok, m->conf[r] = conf[r];
        }
        if (pass) m->lat_large = ms - m->lat_small; /* that pass ran the small model too */
        else m->lat_small = ms;
    }
    if (m->lat_large < 0) m->lat_large = 0;
    free(logits);
    free(conf);
    return status;
}

static void json_point(TextBuf *b, const char *key, double thr, const CascadeRun *r) {
    text_buf_printf(b, "\"%s\":{\"threshold\":", key);
    text_buf_json_num(b, thr);
    text_buf_printf(b, ",\"accuracy\":");
    text_buf_json_num(b, r->accuracy);
    text_buf_printf(b, ",\"escalated\":");
    text_buf_json_num(b, r->escalated);
    text_buf_printf(b, ",\"latency_ms\":");
    text_buf_json_num(b, r->latency_ms);
    text_buf_printf(b, ",\"cost_per_correct\":");
    text_buf_json_num(b, r->cost_per_correct);
    text_buf_printf(b, "}");
}

static int cascade_record(const CascadeArgs *a, double thr, const CascadeRun *r, RtError *err) {
    DeployRegistry reg;
    if (deploy_registry_load(a->registry, 1, &reg, err) != RT_OK) return CLI_BAD_INPUT;
    DeployCascade c;
    memset(&c, 0, sizeof c);
    snprintf(c.small, sizeof c.small, "%s", a->small_name);
    snprintf(c.large, sizeof c.large, "%s", a->large_name);
    c.margin = a->margin;
    c.threshold = thr;
    c.accuracy = r->accuracy;
    c.escalated = r->escalated;
    c.latency_ms = r->latency_ms;
    int rc = deploy_registry_put_cascade(&reg, &c, err);
    if (rc == RT_OK) rc = deploy_registry_save(&reg, a->registry, err);
    deploy_registry_free(&reg);
    return rc == RT_OK ? CLI_OK : CLI_BAD_INPUT;
}

static int cascade_sweep(const CascadeArgs *a, CascadeData *d, FILE *out, TextBuf *json, double *chosen_thr,
                         CascadeRun *chosen, RtError *err) {
    CascadeMeasure m;
    memset(&m, 0, sizeof m);
    DeployCascadePoint pts[CASCADE_MAX_THRESHOLDS];
    int status = cascade_measure(a, d, &m, err), best = -1;
    if (status == CLI_OK) {
        best = deploy_cascade_curve(m.conf, m.small_ok, m.large_ok, d->n, m.lat_small, m.lat_large, a->price, a->thr,
                                    a->n_thr, a->max_drop, pts);
        int64_t sr = 0, lr = 0;
        for (int64_t r = 0; r < d->n; r++) sr += m.small_ok[r], lr += m.large_ok[r];
        double la = (double)lr / (double)d->n, sa = (double)sr / (double)d->n;
        fprintf(out, "small alone: accuracy %.4f, %.4f ms/inference, cost/correct %.4g\n", sa, m.lat_small,
                deploy_cost_per_inference(m.lat_small, a->price) / sa);
        fprintf(out, "large alone: accuracy %.4f, %.4f ms/inference (batch 1), cost/correct %.4g\n", la, m.lat_large,
                deploy_cost_per_inference(m.lat_large, a->price) / la);
        fprintf(out, "%9s %9s %10s %11s %14s %17s\n", "threshold", "accuracy", "escalated", "latency_ms", "cost/inference",
                "cost/correct");
        text_buf_printf(json, ",\"small_accuracy\":%.10g,\"large_accuracy\":%.10g,\"curve\":[", sa, la);
        for (int k = 0; k < a->n_thr; k++) {
            const DeployCascadePoint *p = &pts[k];
            fprintf(out, "%9g %9.4f %9.1f%% %11.4f %14.4g %17.4g%s\n", p->threshold, p->accuracy, 100 * p->escalated,
                    p->latency_ms, p->cost, p->cost_per_correct, k == best ? "  <- chosen" : "");
            text_buf_printf(json, "%s{\"threshold\":%.10g,\"accuracy\":%.10g,\"escalated\":%.10g,\"latency_ms\":%.10g,"
                            "\"cost_per_correct\":", k ? "," : "", p->threshold, p->accuracy, p->escalated, p->latency_ms);
            text_buf_json_num(json, p->cost_per_correct);
            text_buf_printf(json, "}");
        }
        text_buf_printf(json, "]");
        if (best < 0) {
            fprintf(out, "no threshold keeps accuracy within %.4f of the large model's %.4f\n", a->max_drop, la);
            status = CLI_CHECK_FAILED;
            rt_error_set(err, "no threshold keeps the accuracy within --max-drop %g of %s", a->max_drop, a->large);
        }
    }
    if (status == CLI_OK) {
        *chosen_thr = pts[best].threshold;
        status = cascade_run(a, d, *chosen_thr, chosen, err);
    }
    free(m.conf);
    free(m.small_ok);
    free(m.large_ok);
    return status;
}

int cmd_cascade(int argc, char **argv, FILE *out, RtError *err) {
    if (cli_wants_help(argc, argv)) {
        fputs(cascade_usage, out);
        return CLI_OK;
    }
    CascadeArgs a;
    CascadeData d;
    memset(&a, 0, sizeof a);
    memset(&d, 0, sizeof d);
    TextBuf json;
    memset(&json, 0, sizeof json);
    int status = cascade_args(argc, argv, &a, err);
    if (status == CLI_OK) status = cascade_load(&a, &d, err);
    double thr = a.threshold;
    CascadeRun r;
    if (status == CLI_OK) {
        text_buf_printf(&json, "{\"small\":");
        text_buf_json_str(&json, a.small);
        text_buf_printf(&json, ",\"large\":");
        text_buf_json_str(&json, a.large);
        text_buf_printf(&json, ",\"samples\":%lld,\"confidence\":\"%s\",\"price_per_hour\":%.10g", (long long)d.n,
                        a.margin ? "margin" : "max_prob", a.price);
        status = a.sweep ? cascade_sweep(&a, &d, out, &json, &thr, &r, err) : cascade_run(&a, &d, thr, &r, err);
    }
    if (status == CLI_OK) {
        fprintf(out, "cascade %s -> %s at %s < %g: accuracy %.4f, escalated %.1f%%, %.4f ms/inference, "
                "cost/correct %.4g (at %g/h)\n", a.small, a.large, a.margin ? "margin" : "max_prob", thr, r.accuracy,
                100 * r.escalated, r.latency_ms, r.cost_per_correct, a.price);
        text_buf_printf(&json, ",");
        json_point(&json, "cascade", thr, &r);
        text_buf_printf(&json, "}\n");
        if (a.json && (json.oom || io_file_write_atomic(a.json, json.s, json.len, err) != RT_OK)) {
            if (json.oom) rt_error_set(err, "%s: out of memory", a.json);
            status = CLI_BAD_INPUT;
        }
        if (status == CLI_OK && a.registry) status = cascade_record(&a, thr, &r, err);
    }
    text_buf_free(&json);
    wafer_rt_close(d.small);
    wafer_rt_close(d.large);
    free(d.labels.data);
    free(a.in_small.v);
    free(a.in_large.v);
    cli_inputs_free(&a.inputs);
    return status;
}
