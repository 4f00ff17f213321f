/*
 * cmd_quantize.c — `wafer quantize MODEL.onnx -o OUT.wafer [options]`: post-training int8,
 * and low-bit weights by RTN or GPTQ.
 *
 *   load -> pass_simplify -> pass_fuse -> pass_quantize_int8 -> [report] -> wafer_file_write
 *                                      \-> pass_quantize_gptq (low-bit path) -/
 *
 * The low-bit path (passes/gptq.h) is taken for --weights int4/int3/int2, and for any width
 * when --method is given: weight-only, the GPTQ reference's grid, Linear / MatMul layers as
 * LinearNBits with packed codes (Gemm / Conv weights as codes + DequantizeLinear). Its
 * --report is the GPTQ report (each layer's ||XW - XQ||^2 for GPTQ and RTN on the
 * calibration inputs, and times), printed per layer on stdout too; one progress line per layer
 * goes to stderr. int8 without --method stays on the int8 path below.
 *
 * Weight-only by default (--activations f32); --activations int8 calibrates on --calib sets.
 * --report FILE.json measures every quantized layer's output error against the float model
 * on the calibration set (so it needs --calib; without it the errors are null), which means
 * loading the model a second time as the float reference. Calibration progress (batches per
 * pass) goes to stderr: one updating line on a terminal, one line per pass otherwise.
 * The .wafer metadata holds the source file's hash, wafer's version and the options as one
 * canonical line (the same options in any order give the same file).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../calib/calib.h"
#include "../format/wafer_file.h"
#include "../passes/gptq.h"
#include "../passes/passes.h"
#include "../passes/quantize.h"
#include "cli.h"

#define QUANTIZE_MAX_EXCLUDE 256

static const char *const quantize_usage =
    "usage: wafer quantize MODEL.onnx -o OUT.wafer [options]\n"
    "\n"
    "Post-training quantization: simplify, fuse (BatchNorm folding, bias and activation\n"
    "fusion), then int8 weights (and, with --activations int8, activations), written as a\n"
    ".wafer file that wafer run / eval / bench execute.\n"
    "\n"
    "  --weights f32|int8|int4|int3|int2   weight bits (default int8; int4/int3/int2 take the\n"
    "                          low-bit path: packed LinearNBits layers)\n"
    "  --method rtn|gptq       weight rounding: round to nearest (default) or GPTQ (needs\n"
    "                          --calib); giving it selects the low-bit path for int8 too\n"
    "  --sym | --asym          symmetric weights (default) or min-max with a zero point\n"
    "  --group N               0 = one scale per output channel (default); N > 0 = blocks of N\n"
    "                          input elements per output channel (weight-only)\n"
    "  --per-tensor            one scale per weight tensor\n"
    "  --activations f32|int8  f32 = weight-only (default); int8 = static quantization with\n"
    "                          calibrated activation ranges (needs --calib)\n"
    "  --calib NAME=FILE.npy   calibration data for input NAME (repeat per input; rows on axis 0)\n"
    "  --calib-method M        minmax (default), percentile, entropy, mse\n"
    "  --percentile P          for --calib-method percentile (default 99.99)\n"
    "  --batch N               calibration rows per run (default 32)\n"
    "  --shape NAME=d0,d1,...  fix input NAME's shape in the written file (e.g. batch 1:\n"
    "                          --shape image=1,1,8,8): shape chains fold away and the file\n"
    "                          carries the runtime's memory plan (repeat per input)\n"
    "  --exclude NODE,...      keep these nodes in float (node names, or their output names)\n"
    "  --quantize-head         also quantize the last weight layer before an output\n"
    "  --report FILE.json      every quantized tensor (scales, zero points, observer) and each\n"
    "                          layer's output error vs the float model on the calibration set\n"
    "  --act-order             GPTQ: columns by decreasing Hessian diagonal (group index per\n"
    "                          input column)\n"
    "  --static-groups         GPTQ: group scales fixed from the original weight up front\n"
    "  --damp X                GPTQ: dampening, a fraction of the mean Hessian diagonal (0.01)\n"
    "  --clip-search           low-bit path: search each group's range shrink (0.21..1) for the\n"
    "                          least |error|^2.4, weighted by the Hessian diagonal with GPTQ\n"
    "  --sequential layer|block  GPTQ: each layer calibrated on the model with every layer\n"
    "                          before it quantized (layer, default), or per block with the\n"
    "                          block's own layers float (block: the reference's default)\n"
    "\n"
    "Exit status 0 ok, 2 bad input (the message names the file, node and op).\n";

#define QUANTIZE_MAX_SHAPES 16

typedef struct {
    const char *model, *out, *report; /* borrowed (argv) */
    const char *weights, *activations, *method, *calib_method; /* borrowed */
    QuantOptions q;
    CliInputs calib;                  /* NAME=FILE specs (files read by calib/, not here) */
    const char *exclude[QUANTIZE_MAX_EXCLUDE];
    char *exclude_buf[QUANTIZE_MAX_EXCLUDE]; /* owned copies of the --exclude arguments */
    int n_exclude_buf;
    int gptq_opt;                     /* a GPTQ-only option was given */
    int lowbit;                       /* the low-bit path (pass_quantize_gptq) */
    int clip_opt;                     /* --clip-search was given */
    GptqPassOptions g;                /* its options */
    const char *sequential;           /* borrowed (argv) */
    const char *shape[QUANTIZE_MAX_SHAPES]; /* --shape NAME=AxB... (borrowed argv) */
    int n_shape;
} QuantArgs;

/* Parses "NAME=d0,d1,..." (the emit-c contract's form; "d0xd1x..." is accepted too) into
 * dims[*rank]. */
static int shape_parse(const char *spec, int64_t *dims, int *rank, RtError *err) {
    const char *eq = strchr(spec, '=');
    const char *p = eq ? eq + 1 : NULL;
    *rank = 0;
    while (p && *p && *rank < RT_MAX_RANK) {
        char *end;
        long long d = strtoll(p, &end, 10);
        int sep = *end == ',' || *end == 'x';
        if (end == p || d < 0 || (!sep && *end != '\0')) {
            p = NULL;
            break;
        }
        dims[(*rank)++] = d;
        p = sep ? end + 1 : end;
        if (sep && !*p) p = NULL; /* a trailing separator */
    }
    if (!eq || eq == spec || !p || *p != '\0' || *rank == 0)
        return cli_usage_error(err, "quantize", "--shape wants NAME=d0,d1,... (e.g. x=1,64), got '%s'", spec);
    return CLI_OK;
}

static int bits_parse(const char *s, int *bits) {
    static const struct { const char *name; int bits; } t[] = {
        {"f32", 0}, {"int8", 8}, {"int4", 4}, {"int3", 3}, {"int2", 2}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(s, t[i].name) == 0) return *bits = t[i].bits, 1;
    return 0;
}

/* Splits "a,b,c" into a->exclude. */
static int exclude_add(QuantArgs *a, const char *list, RtError *err) {
    if (a->n_exclude_buf >= QUANTIZE_MAX_EXCLUDE) return cli_usage_error(err, "quantize", "too many --exclude options");
    char *copy = malloc(strlen(list) + 1);
    if (!copy) return rt_error_set(err, "out of memory"), CLI_BAD_INPUT;
    strcpy(copy, list);
    a->exclude_buf[a->n_exclude_buf++] = copy;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (a->q.n_exclude >= QUANTIZE_MAX_EXCLUDE) return cli_usage_error(err, "quantize", "too many --exclude names");
        a->exclude[a->q.n_exclude++] = tok;
    }
    return CLI_OK;
}

static int args_parse(int argc, char **argv, QuantArgs *a, RtError *err) {
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r = 0;
        int64_t n;
        double x;
#define OPT(name) ((r = cli_opt(argc, argv, &i, name, &v, "quantize", err)) != 0)
        if (strcmp(argv[i], "--sym") == 0) {
            a->q.weight_sym = 1;
        } else if (strcmp(argv[i], "--asym") == 0) {
            a->q.weight_sym = 0;
        } else if (strcmp(argv[i], "--per-tensor") == 0) {
            a->q.per_tensor = 1;
        } else if (strcmp(argv[i], "--quantize-head") == 0) {
            a->q.quantize_head = 1;
        } else if (strcmp(argv[i], "--act-order") == 0) {
            a->g.spec.act_order = a->gptq_opt = 1;
        } else if (strcmp(argv[i], "--clip-search") == 0) {
            a->g.spec.clip_search = a->clip_opt = 1;
        } else if (strcmp(argv[i], "--static-groups") == 0) {
            a->g.spec.static_groups = a->gptq_opt = 1;
        } else if (OPT("--sequential")) {
            a->sequential = v;
            a->gptq_opt = 1;
        } else if (OPT("-o")) {
            a->out = v;
        } else if (OPT("--weights")) {
            a->weights = v;
        } else if (OPT("--activations")) {
            a->activations = v;
        } else if (OPT("--method")) {
            a->method = v;
        } else if (OPT("--calib-method")) {
            a->calib_method = v;
        } else if (OPT("--report")) {
            a->report = v;
        } else if (OPT("--calib")) {
            if (r < 0 || cli_inputs_add(&a->calib, v, "quantize", err) != CLI_OK) return CLI_BAD_INPUT;
        } else if (OPT("--exclude")) {
            if (r < 0 || exclude_add(a, v, err) != CLI_OK) return CLI_BAD_INPUT;
        } else if (OPT("--shape")) {
            if (r < 0) return CLI_BAD_INPUT;
            if (a->n_shape >= QUANTIZE_MAX_SHAPES) return cli_usage_error(err, "quantize", "too many --shape options");
            int64_t dims[RT_MAX_RANK];
            int rank;
            if (shape_parse(v, dims, &rank, err) != CLI_OK) return CLI_BAD_INPUT;
            a->shape[a->n_shape++] = v;
        } else if (OPT("--group")) {
            if (r < 0 || cli_parse_i64(v, 0, 1 << 30, "--group", "quantize", &n, err) != CLI_OK) return CLI_BAD_INPUT;
            a->q.group = n;
        } else if (OPT("--batch")) {
            if (r < 0 || cli_parse_i64(v, 1, 1 << 20, "--batch", "quantize", &n, err) != CLI_OK) return CLI_BAD_INPUT;
            a->q.calib.batch = n;
        } else if (OPT("--percentile")) {
            if (r < 0 || cli_parse_f64(v, "--percentile", "quantize", &x, err) != CLI_OK) return CLI_BAD_INPUT;
            if (!(x > 0 && x <= 100)) return cli_usage_error(err, "quantize", "--percentile must be in (0, 100], got %s", v);
            a->q.calib.percentile = x;
        } else if (OPT("--damp")) {
            if (r < 0 || cli_parse_f64(v, "--damp", "quantize", &x, err) != CLI_OK) return CLI_BAD_INPUT;
            if (!(x >= 0 && x < 1e6)) return cli_usage_error(err, "quantize", "--damp must be >= 0, got %s", v);
            a->g.spec.damp = x;
            a->gptq_opt = 1;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage_error(err, "quantize", "unknown option '%s'", argv[i]);
        } else if (a->model) {
            return cli_usage_error(err, "quantize", "one MODEL only (got '%s' and '%s')", a->model, argv[i]);
        } else {
            a->model = argv[i];
        }
#undef OPT
        if (r < 0) return CLI_BAD_INPUT;
    }
    return CLI_OK;
}

static int args_check(QuantArgs *a, RtError *err) {
    if (!a->model) return cli_usage_error(err, "quantize", "missing MODEL.onnx");
    if (!a->out) return cli_usage_error(err, "quantize", "missing -o OUT.wafer");
    if (a->weights && !bits_parse(a->weights, &a->q.weight_bits))
        return cli_usage_error(err, "quantize", "--weights is f32, int8, int4, int3 or int2, got '%s'", a->weights);
    if (a->activations && strcmp(a->activations, "f32") != 0 && strcmp(a->activations, "int8") != 0)
        return cli_usage_error(err, "quantize", "--activations is f32 or int8, got '%s'", a->activations);
    a->q.act_int8 = a->activations && strcmp(a->activations, "int8") == 0;
    if (a->method && strcmp(a->method, "rtn") != 0 && strcmp(a->method, "gptq") != 0)
        return cli_usage_error(err, "quantize", "--method is rtn or gptq, got '%s'", a->method);
    int gptq = a->method && strcmp(a->method, "gptq") == 0;
    a->lowbit = a->method || (a->q.weight_bits > 0 && a->q.weight_bits < 8);
    if (a->gptq_opt && !gptq)
        return cli_usage_error(err, "quantize", "--act-order, --static-groups, --damp and --sequential need --method gptq");
    if (a->clip_opt && !a->lowbit)
        return cli_usage_error(err, "quantize", "--clip-search is for the low-bit path (int4/int3/int2, or --method)");
    if (a->sequential && strcmp(a->sequential, "layer") != 0 && strcmp(a->sequential, "block") != 0)
        return cli_usage_error(err, "quantize", "--sequential is layer or block, got '%s'", a->sequential);
    if (a->lowbit && a->q.weight_bits == 0)
        return cli_usage_error(err, "quantize", "--method %s needs quantized weights (not --weights f32)", a->method);
    if (a->lowbit && a->q.act_int8)
        return cli_usage_error(err, "quantize", "low-bit weights (--method, or int4/int3/int2) are weight-only: "
                                                "--activations int8 goes with --weights int8 and no --method");
    if (a->lowbit && a->q.per_tensor)
        return cli_usage_error(err, "quantize", "low-bit weights have scales per output channel or per group, "
                                                "not --per-tensor");
    if (gptq && a->calib.n == 0)
        return cli_usage_error(err, "quantize", "--method gptq needs --calib NAME=FILE.npy (its Hessians come "
                                                "from the calibration inputs)");
    if (gptq) a->g.method = GPTQ_METHOD_GPTQ;
    if (a->sequential && strcmp(a->sequential, "block") == 0) a->g.sequential = GPTQ_SEQ_BLOCK;
    if (a->calib_method && calib_method_parse(a->calib_method, &a->q.calib.method) != RT_OK)
        return cli_usage_error(err, "quantize", "--calib-method is minmax, percentile, entropy or mse, got '%s'",
                               a->calib_method);
    if (a->q.act_int8 && a->calib.n == 0)
        return cli_usage_error(err, "quantize", "--activations int8 needs --calib NAME=FILE.npy");
    if (a->q.act_int8 && a->q.weight_bits == 0)
        return cli_usage_error(err, "quantize", "--activations int8 needs quantized weights (not --weights f32)");
    if (a->q.act_int8 && a->q.group > 0 && !a->q.per_tensor)
        return cli_usage_error(err, "quantize", "--group N > 0 is for weight-only quantization (--activations f32)");
    a->q.exclude = a->exclude;
    return CLI_OK;
}

/* The options as one canonical line (for the file's metadata and the report). */
static void options_line(const QuantArgs *a, char *buf, size_t n) {
    const QuantOptions *q = &a->q;
    size_t u = (size_t)snprintf(buf, n, "weights=%s%d %s %s activations=%s", q->weight_bits ? "int" : "f",
                                q->weight_bits ? q->weight_bits : 32, q->weight_sym ? "sym" : "asym",
                                q->per_tensor ? "per-tensor" : q->group ? "group" : "per-channel",
                                q->act_int8 ? "int8" : "f32");
    if (u < n && q->group && !q->per_tensor) u += (size_t)snprintf(buf + u, n - u, " group=%lld", (long long)q->group);
    if (u < n && a->calib.n && !a->lowbit) {
        u += (size_t)snprintf(buf + u, n - u, " calib-method=%s", calib_method_name(q->calib.method));
        if (u < n && q->calib.method == CALIB_PERCENTILE)
            u += (size_t)snprintf(buf + u, n - u, " percentile=%g", q->calib.percentile);
    }
    if (u < n && a->lowbit) {
        const GptqSpec *s = &a->g.spec;
        u += (size_t)snprintf(buf + u, n - u, " method=%s%s", a->g.method == GPTQ_METHOD_GPTQ ? "gptq" : "rtn",
                              s->clip_search ? " clip-search" : "");
        if (u < n && a->g.method == GPTQ_METHOD_GPTQ)
            u += (size_t)snprintf(buf + u, n - u, " damp=%g sequential=%s%s%s", s->damp,
                                  a->g.sequential == GPTQ_SEQ_BLOCK ? "block" : "layer", s->act_order ? " act-order" : "",
                                  s->static_groups ? " static-groups" : "");
    }
    if (u < n && q->quantize_head) u += (size_t)snprintf(buf + u, n - u, " quantize-head");
    for (int i = 0; i < q->n_exclude && u < n; i++)
        u += (size_t)snprintf(buf + u, n - u, "%s%s", i ? "," : " exclude=", q->exclude[i]);
    for (int i = 0; i < a->n_shape && u < n; i++) u += (size_t)snprintf(buf + u, n - u, " shape=%s", a->shape[i]);
}

typedef struct {
    int tty;
    int passes;
    int64_t batch;
} Progress;

static void progress_print(void *user, int pass, int64_t done, int64_t total) {
    const Progress *p = user;
    int64_t nb = (total + p->batch - 1) / p->batch, b = (done + p->batch - 1) / p->batch;
    if (p->tty)
        fprintf(stderr, "\rcalibrating: pass %d/%d, batch %lld/%lld (%lld/%lld rows)%s", pass, p->passes, (long long)b,
                (long long)nb, (long long)done, (long long)total, done >= total ? "\n" : "");
    else if (done >= total)
        fprintf(stderr, "calibrating: pass %d/%d done, %lld batches (%lld rows)\n", pass, p->passes, (long long)nb,
                (long long)total);
}

/* Loads and prepares (simplify + fuse) the model. */
static IrGraph *model_prepare(const char *path, RtError *err) {
    IrGraph *g = cli_model_load(path, 0, err);
    if (!g) return NULL;
    if (pass_simplify(g, err) != RT_OK || pass_fuse(g, err) != RT_OK) {
        cli_error_name_file(err, path);
        ir_graph_free(g);
        return NULL;
    }
    return g;
}

/* Binds the --shape inputs ("NAME=d0,d1,..."), folds what those shapes make constant, and writes
 * the .wafer file with its metadata (source hash, version, options). */
static int model_write(const QuantArgs *a, IrGraph *g, const char *opts, RtError *err) {
    for (int k = 0; k < a->n_shape; k++) {
        const char *spec = a->shape[k], *eq = strchr(spec, '=');
        int64_t dims[RT_MAX_RANK];
        int rank = 0, input = -1;
        if (shape_parse(spec, dims, &rank, err) != CLI_OK) return CLI_BAD_INPUT;
        for (int i = 0; i < g->n_inputs; i++)
            if (strncmp(g->values[g->inputs[i]].name, spec, (size_t)(eq - spec)) == 0 &&
                g->values[g->inputs[i]].name[eq - spec] == '\0')
                input = i;
        if (input < 0)
            return rt_error_set(err, "%s: --shape %s: the model has no input '%.*s'", a->model, spec,
                                (int)(eq - spec), spec), CLI_BAD_INPUT;
        if (ir_bind_input(g, input, rank, dims, err) != RT_OK) {
            cli_error_name_file(err, a->model);
            return CLI_BAD_INPUT;
        }
    }
    if (a->n_shape && pass_simplify(g, err) != RT_OK) {
        cli_error_name_file(err, a->model);
        return CLI_BAD_INPUT;
    }
    char hash[17] = "";
    if (wafer_file_hash(a->model, hash, err) != RT_OK) return CLI_BAD_INPUT;
    WaferMeta meta = {hash, WAFER_VERSION, opts};
    if (wafer_file_write(g, &meta, a->out, err) != RT_OK) {
        cli_error_name_file(err, a->out);
        return CLI_BAD_INPUT;
    }
    return CLI_OK;
}

static CalibDataset *dataset_open(const QuantArgs *a, RtError *err) {
    int n = a->calib.n;
    const char **names = calloc((size_t)n + 1, sizeof *names), **paths = calloc((size_t)n + 1, sizeof *paths);
    CalibDataset *d = NULL;
    if (names && paths) {
        for (int i = 0; i < n; i++) names[i] = a->calib.v[i].name, paths[i] = a->calib.v[i].path;
        d = calib_dataset_open(n, names, paths, err);
    } else {
        rt_error_set(err, "out of memory");
    }
    free(names);
    free(paths);
    return d;
}

static int report_write(const QuantArgs *a, IrGraph *g, CalibDataset *d, QuantReport *rep, const char *opts,
                        RtError *err) {
    if (d) {
        IrGraph *ref = model_prepare(a->model, err);
        if (!ref) return CLI_BAD_INPUT;
        int r = quant_report_measure(ref, g, d, a->q.calib.batch, rep, err);
        ir_graph_free(ref);
        if (r != RT_OK) return cli_error_name_file(err, a->model), CLI_BAD_INPUT;
    }
    char *json = quant_report_json(rep, a->model, opts);
    if (!json) return rt_error_set(err, "%s: out of memory", a->report), CLI_BAD_INPUT;
    int r = io_file_write_atomic(a->report, json, strlen(json), err);
    free(json);
    return r == RT_OK ? CLI_OK : CLI_BAD_INPUT;
}

static void summary_print(FILE *out, const QuantArgs *a, const QuantReport *rep) {
    int w = 0, act = 0;
    for (int i = 0; i < rep->n_tensors; i++) {
        w += rep->tensors[i].kind == QUANT_T_WEIGHT;
        act += rep->tensors[i].kind == QUANT_T_ACTIVATION;
    }
    fprintf(out, "%s: %d weights quantized", a->out, w);
    if (a->q.act_int8)
        fprintf(out, ", %d activations; %d int8 nodes, %d float nodes, %d quantize / %d dequantize steps", act,
                rep->n_int8_nodes, rep->n_float_nodes, rep->n_quantize, rep->n_dequantize);
    fprintf(out, "\n");
    for (int L = 0; L < rep->n_layers; L++)
        if (rep->layers[L].rows > 0 && strcmp(rep->layers[L].op, "output") == 0)
            fprintf(out, "output '%s': relative RMS error %.4f vs float on %lld calibration rows\n",
                    rep->layers[L].value, rep->layers[L].error, (long long)rep->layers[L].rows);
}

static void gptq_progress(void *user, const char *line) {
    (void)user;
    fprintf(stderr, "%s\n", line);
}

/* The low-bit path: pass_quantize_gptq, its report, the .wafer file. */
static int lowbit_run(QuantArgs *a, IrGraph *g, CalibDataset *d, const char *opts, FILE *out, RtError *err) {
    GptqPassOptions *o = &a->g;
    o->spec.bits = a->q.weight_bits;
    o->spec.sym = a->q.weight_sym;
    o->spec.group = a->q.group;
    o->exclude = a->exclude, o->n_exclude = a->q.n_exclude;
    o->quantize_head = a->q.quantize_head;
    o->data = d;
    o->batch = a->q.calib.batch;
    o->measure = a->report && d;
    o->emit = GPTQ_EMIT_NBITS;
    o->on_progress = gptq_progress;
    GptqReport rep;
    int status = CLI_OK;
    if (pass_quantize_gptq(g, o, &rep, err) != RT_OK) {
        cli_error_name_file(err, a->model);
        status = CLI_BAD_INPUT;
    }
    if (status == CLI_OK && a->report) {
        char *json = gptq_report_json(&rep, a->model);
        if (!json) status = (rt_error_set(err, "%s: out of memory", a->report), CLI_BAD_INPUT);
        else if (io_file_write_atomic(a->report, json, strlen(json), err) != RT_OK) status = CLI_BAD_INPUT;
        free(json);
    }
    if (status == CLI_OK) status = model_write(a, g, opts, err);
    if (status == CLI_OK) {
        fprintf(out, "%s: %d weights quantized (%s, %d-bit), %.2f s\n", a->out, rep.n_layers,
                o->method == GPTQ_METHOD_GPTQ ? "gptq" : "rtn", o->spec.bits, rep.seconds_total);
        char *text = a->report ? gptq_report_text(&rep) : NULL;
        if (text) fputs(text, out);
        free(text);
    }
    gptq_report_free(&rep);
    return status;
}

static int quantize_run(QuantArgs *a, FILE *out, RtError *err) {
    char opts[2048];
    options_line(a, opts, sizeof opts);
    IrGraph *g = model_prepare(a->model, err);
    if (!g) return CLI_BAD_INPUT;
    CalibDataset *d = NULL;
    QuantReport rep;
    memset(&rep, 0, sizeof rep);
    int status = CLI_OK;
    if (a->calib.n) {
        d = dataset_open(a, err);
        if (!d || calib_dataset_bind(d, g, err) != RT_OK) status = CLI_BAD_INPUT;
    }
    Progress pr = {isatty(2), a->q.calib.method == CALIB_MINMAX ? 1 : 2, a->q.calib.batch};
    a->q.calib.progress = 1;
    a->q.calib.on_progress = progress_print;
    a->q.calib.progress_user = &pr;
    a->q.data = d;
    if (a->lowbit) {
        if (status == CLI_OK) status = lowbit_run(a, g, d, opts, out, err);
        calib_dataset_free(d);
        ir_graph_free(g);
        return status;
    }
    if (status == CLI_OK && pass_quantize_int8(g, &a->q, &rep, err) != RT_OK) {
        cli_error_name_file(err, a->model);
        status = CLI_BAD_INPUT;
    }
    if (status == CLI_OK && a->report) status = report_write(a, g, d, &rep, opts, err);
    if (status == CLI_OK) status = model_write(a, g, opts, err);
    if (status == CLI_OK) summary_print(out, a, &rep);
    quant_report_free(&rep);
    calib_dataset_free(d);
    ir_graph_free(g);
    return status;
}

int cmd_quantize(int argc, char **argv, FILE *out, RtError *err) {
    if (cli_wants_help(argc, argv)) {
        fputs(quantize_usage, out);
        return CLI_OK;
    }
    QuantArgs a;
    memset(&a, 0, sizeof a);
    quant_options_default(&a.q);
    gptq_pass_options_default(&a.g);
    a.g.method = GPTQ_METHOD_RTN;
    int status = args_parse(argc, argv, &a, err);
    if (status == CLI_OK) status = args_check(&a, err);
    if (status == CLI_OK) status = quantize_run(&a, out, err);
    for (int i = 0; i < a.n_exclude_buf; i++) free(a.exclude_buf[i]);
    cli_inputs_free(&a.calib);
    return status;
}
