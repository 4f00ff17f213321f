/*
 * cli_quantize.c — the quantize pipeline shared by `wafer quantize`, `emit-c` and `sweep`
 * (see cli_quantize.h): option parsing and checks, the canonical options line, and the run
 * load -> simplify -> fuse -> int8 or low-bit quantization -> [report] -> bind --shape.
 *
 * The low-bit path (passes/gptq.h) is taken for --weights int4/int3/int2, and for any width
 * when --method is given: weight-only, the GPTQ reference's grid, Linear / MatMul layers as
 * LinearNBits with packed codes (Gemm / Conv weights as codes + DequantizeLinear). Its
 * --report is the GPTQ report (each layer's ||XW - XQ||^2 for GPTQ and RTN on the
 * calibration inputs, and times), printed per layer on out too; one progress line per layer
 * goes to stderr. int8 without --method stays on the int8 path.
 *
 * Weight-only by default (--activations f32); --activations int8 calibrates on --calib sets.
 * --report FILE.json measures every quantized layer's output error against the float model
 * on the calibration set (so it needs --calib; without it the errors are null), which means
 * loading the model a second time as the float reference. Calibration progress (batches per
 * pass) goes to stderr: one updating line on a terminal, one line per pass otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../calib/calib.h"
#include "../io/npy.h"
#include "../passes/passes.h"
#include "cli_quantize.h"

const char *const cli_quant_usage_options =
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
    "  --freeze-input NAME=FILE.npy  make input NAME a constant with these values (a shape,\n"
    "                          axes, k or a flag the model takes as an input): what it feeds\n"
    "                          folds, and the written model no longer has that input\n"
    "  --exclude NODE,...      keep these nodes in float (node names, or their output names)\n"
    "  --quantize-head         also quantize the last weight layer before an output\n"
    "  --report FILE.json      every quantized tensor (scales, zero points, observer) and each\n"
    "                          layer's output error vs the float model on the calibration set\n"
    "                          (whole tensor, and per channel: median and largest)\n"
    "  --act-order             GPTQ: columns by decreasing Hessian diagonal (group index per\n"
    "                          input column)\n"
    "  --static-groups         GPTQ: group scales fixed from the original weight up front\n"
    "  --damp X                GPTQ: dampening, a fraction of the mean Hessian diagonal (0.01)\n"
    "  --clip-search           low-bit path: search each group's range shrink (0.21..1) for the\n"
    "                          least |error|^2.4, weighted by the Hessian diagonal with GPTQ\n"
    "  --sequential layer|block  GPTQ: each layer calibrated on the model with every layer\n"
    "                          before it quantized (layer, default), or per block with the\n"
    "                          block's own layers float (block: the reference's default)\n"
    "  --compute f32|int8      int4 layers' arithmetic: f32 (default), or int8: activations\n"
    "                          quantized per row and group to int8 at run time and multiplied\n"
    "                          in integers (onnxruntime's MatMulNBits accuracy_level 4; needs\n"
    "                          --weights int4, --group 32, 64, 128 or 256, no --act-order;\n"
    "                          --onnx writes accuracy_level 4; emit-c's C stays float)\n";

/* Parses "NAME=d0,d1,..." (the emit-c contract's form; "d0xd1x..." is accepted too). */
int cli_shape_parse(const char *spec, int64_t *dims, int *rank, size_t *name_len, const char *cmd,
                    RtError *err) {
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
        return cli_usage_error(err, cmd, "--shape wants NAME=d0,d1,... (e.g. x=1,64), got '%s'", spec);
    *name_len = (size_t)(eq - spec);
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
static int exclude_add(CliQuant *a, const char *list, const char *cmd, RtError *err) {
    if (a->n_exclude_buf >= CLI_QUANT_MAX_EXCLUDE) return cli_usage_error(err, cmd, "too many --exclude options");
    char *copy = malloc(strlen(list) + 1);
    if (!copy) return rt_error_set(err, "out of memory"), CLI_BAD_INPUT;
    strcpy(copy, list);
    a->exclude_buf[a->n_exclude_buf++] = copy;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (a->q.n_exclude >= CLI_QUANT_MAX_EXCLUDE) return cli_usage_error(err, cmd, "too many --exclude names");
        a->exclude[a->q.n_exclude++] = tok;
    }
    return CLI_OK;
}


void cli_quant_init(CliQuant *a) {
    memset(a, 0, sizeof *a);
    quant_options_default(&a->q);
    gptq_pass_options_default(&a->g);
    a->g.method = GPTQ_METHOD_RTN;
}

void cli_quant_free(CliQuant *a) {
    for (int i = 0; i < a->n_exclude_buf; i++) free(a->exclude_buf[i]);
    a->n_exclude_buf = 0;
    cli_inputs_free(&a->calib);
}

/* The flag options (no value): 1 when argv[i] is one of them. */
static int flag_opt(CliQuant *a, const char *s) {
    if (strcmp(s, "--sym") == 0) a->q.weight_sym = 1;
    else if (strcmp(s, "--asym") == 0) a->q.weight_sym = 0;
    else if (strcmp(s, "--per-tensor") == 0) a->q.per_tensor = 1;
    else if (strcmp(s, "--quantize-head") == 0) a->q.quantize_head = 1;
    else if (strcmp(s, "--act-order") == 0) a->g.spec.act_order = a->gptq_opt = 1;
    else if (strcmp(s, "--clip-search") == 0) a->g.spec.clip_search = a->clip_opt = 1;
    else if (strcmp(s, "--static-groups") == 0) a->g.spec.static_groups = a->gptq_opt = 1;
    else return 0;
    return 1;
}

int cli_quant_opt(CliQuant *a, int argc, char **argv, int *i, const char *cmd, RtError *err) {
    if (flag_opt(a, argv[*i])) return 1;
    const char *v = NULL;
    int r = 0;
    int64_t n;
    double x;
#define OPT(name) ((r = cli_opt(argc, argv, i, name, &v, cmd, err)) != 0)
#define FAIL_IF(c) \
    if (r < 0 || (c)) return -1
    if (OPT("--sequential")) {
        a->sequential = v;
        a->gptq_opt = 1;
    } else if (OPT("--weights")) {
        a->weights = v;
    } else if (OPT("--compute")) {
        a->compute = v;
    } else if (OPT("--activations")) {
        a->activations = v;
    } else if (OPT("--method")) {
        a->method = v;
    } else if (OPT("--calib-method")) {
        a->calib_method = v;
    } else if (OPT("--report")) {
        a->report = v;
    } else if (OPT("--calib")) {
        FAIL_IF(cli_inputs_add(&a->calib, v, cmd, err) != CLI_OK);
    } else if (OPT("--exclude")) {
        FAIL_IF(exclude_add(a, v, cmd, err) != CLI_OK);
    } else if (OPT("--shape")) {
        int64_t dims[RT_MAX_RANK];
        int rank;
        size_t len;
        FAIL_IF(cli_shape_parse(v, dims, &rank, &len, cmd, err) != CLI_OK);
        if (a->n_shape >= CLI_QUANT_MAX_SHAPES) return cli_usage_error(err, cmd, "too many --shape options"), -1;
        a->shape[a->n_shape++] = v;
    } else if (OPT("--freeze-input")) {
        const char *eq = strchr(v, '=');
        if (!eq || eq == v || !eq[1])
            return cli_usage_error(err, cmd, "--freeze-input takes NAME=FILE.npy, got '%s'", v), -1;
        if (a->n_freeze >= CLI_QUANT_MAX_SHAPES) return cli_usage_error(err, cmd, "too many --freeze-input options"), -1;
        a->freeze[a->n_freeze++] = v;
    } else if (OPT("--group")) {
        FAIL_IF(cli_parse_i64(v, 0, 1 << 30, "--group", cmd, &n, err) != CLI_OK);
        a->q.group = n;
    } else if (OPT("--batch")) {
        FAIL_IF(cli_parse_i64(v, 1, 1 << 20, "--batch", cmd, &n, err) != CLI_OK);
        a->q.calib.batch = n;
    } else if (OPT("--percentile")) {
        FAIL_IF(cli_parse_f64(v, "--percentile", cmd, &x, err) != CLI_OK);
        if (!(x > 0 && x <= 100)) return cli_usage_error(err, cmd, "--percentile must be in (0, 100], got %s", v), -1;
        a->q.calib.percentile = x;
    } else if (OPT("--damp")) {
        FAIL_IF(cli_parse_f64(v, "--damp", cmd, &x, err) != CLI_OK);
        if (!(x >= 0 && x < 1e6)) return cli_usage_error(err, cmd, "--damp must be >= 0, got %s", v), -1;
        a->g.spec.damp = x;
        a->gptq_opt = 1;
    }
#undef OPT
#undef FAIL_IF
    return r;
}

int cli_quant_check(CliQuant *a, const char *cmd, RtError *err) {
    if (a->weights && !bits_parse(a->weights, &a->q.weight_bits))
        return cli_usage_error(err, cmd, "--weights is f32, int8, int4, int3 or int2, got '%s'", a->weights);
    if (a->activations && strcmp(a->activations, "f32") != 0 && strcmp(a->activations, "int8") != 0)
        return cli_usage_error(err, cmd, "--activations is f32 or int8, got '%s'", a->activations);
    a->q.act_int8 = a->activations && strcmp(a->activations, "int8") == 0;
    if (a->method && strcmp(a->method, "rtn") != 0 && strcmp(a->method, "gptq") != 0)
        return cli_usage_error(err, cmd, "--method is rtn or gptq, got '%s'", a->method);
    int gptq = a->method && strcmp(a->method, "gptq") == 0;
    a->lowbit = a->method || (a->q.weight_bits > 0 && a->q.weight_bits < 8);
    if (a->gptq_opt && !gptq)
        return cli_usage_error(err, cmd, "--act-order, --static-groups, --damp and --sequential need --method gptq");
    if (a->clip_opt && !a->lowbit)
        return cli_usage_error(err, cmd, "--clip-search is for the low-bit path (int4/int3/int2, or --method)");
    if (a->sequential && strcmp(a->sequential, "layer") != 0 && strcmp(a->sequential, "block") != 0)
        return cli_usage_error(err, cmd, "--sequential is layer or block, got '%s'", a->sequential);
    if (a->lowbit && a->q.weight_bits == 0)
        return cli_usage_error(err, cmd, "--method %s needs quantized weights (not --weights f32)", a->method);
    if (a->lowbit && a->q.act_int8)
        return cli_usage_error(err, cmd, "low-bit weights (--method, or int4/int3/int2) are weight-only: "
                                                "--activations int8 goes with --weights int8 and no --method");
    if (a->lowbit && a->q.per_tensor)
        return cli_usage_error(err, cmd, "low-bit weights have scales per output channel or per group, "
                                                "not --per-tensor");
    if (gptq && a->calib.n == 0)
        return cli_usage_error(err, cmd, "--method gptq needs --calib NAME=FILE.npy (its Hessians come "
                                                "from the calibration inputs)");
    if (gptq) a->g.method = GPTQ_METHOD_GPTQ;
    if (a->sequential && strcmp(a->sequential, "block") == 0) a->g.sequential = GPTQ_SEQ_BLOCK;
    if (a->calib_method && calib_method_parse(a->calib_method, &a->q.calib.method) != RT_OK)
        return cli_usage_error(err, cmd, "--calib-method is minmax, percentile, entropy or mse, got '%s'",
                               a->calib_method);
    if (a->q.act_int8 && a->calib.n == 0)
        return cli_usage_error(err, cmd, "--activations int8 needs --calib NAME=FILE.npy");
    if (a->q.act_int8 && a->q.weight_bits == 0)
        return cli_usage_error(err, cmd, "--activations int8 needs quantized weights (not --weights f32)");
    if (a->q.act_int8 && a->q.group > 0 && !a->q.per_tensor)
        return cli_usage_error(err, cmd, "--group N > 0 is for weight-only quantization (--activations f32)");
    if (a->compute && strcmp(a->compute, "f32") != 0 && strcmp(a->compute, "int8") != 0)
        return cli_usage_error(err, cmd, "--compute is f32 or int8, got '%s'", a->compute);
    if (a->compute && strcmp(a->compute, "int8") == 0) { /* the layers the int8 kernels take */
        const int64_t G = a->q.group;
        if (!a->lowbit || a->q.weight_bits != 4)
            return cli_usage_error(err, cmd, "--compute int8 is for 4-bit layers (--weights int4)");
        if (G != 32 && G != 64 && G != 128 && G != 256)
            return cli_usage_error(err, cmd, "--compute int8 needs --group 32, 64, 128 or 256 (got %lld): A is "
                                             "quantized per group, as MatMulNBits' blocks", (long long)G);
        if (a->g.spec.act_order)
            return cli_usage_error(err, cmd, "--compute int8 does not take --act-order (its groups are not "
                                             "runs of consecutive columns)");
        a->g.spec.accuracy_level = 4;
    }
    a->q.exclude = a->exclude;
    return CLI_OK;
}

/* The options as one canonical line (for the file's metadata and the report). */
void cli_quant_options_line(const CliQuant *a, char *buf, size_t n) {
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
        u += (size_t)snprintf(buf + u, n - u, " method=%s%s%s", a->g.method == GPTQ_METHOD_GPTQ ? "gptq" : "rtn",
                              s->clip_search ? " clip-search" : "", s->accuracy_level == 4 ? " compute=int8" : "");
        if (u < n && a->g.method == GPTQ_METHOD_GPTQ)
            u += (size_t)snprintf(buf + u, n - u, " damp=%g sequential=%s%s%s", s->damp,
                                  a->g.sequential == GPTQ_SEQ_BLOCK ? "block" : "layer", s->act_order ? " act-order" : "",
                                  s->static_groups ? " static-groups" : "");
    }
    if (u < n && q->quantize_head) u += (size_t)snprintf(buf + u, n - u, " quantize-head");
    for (int i = 0; i < q->n_exclude && u < n; i++)
        u += (size_t)snprintf(buf + u, n - u, "%s%s", i ? "," : " exclude=", q->exclude[i]);
    for (int i = 0; i < a->n_shape && u < n; i++) u += (size_t)snprintf(buf + u, n - u, " shape=%s", a->shape[i]);
    for (int i = 0; i < a->n_freeze && u < n; i++) u += (size_t)snprintf(buf + u, n - u, " freeze-input=%s", a->freeze[i]);
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

int cli_quant_inputs_freeze(const CliQuant *a, IrGraph *g, RtError *err) {
    for (int k = 0; k < a->n_freeze; k++) {
        const char *spec = a->freeze[k], *path = strchr(spec, '=') + 1;
        int len = (int)(path - 1 - spec), input = -1;
        for (int i = 0; i < g->n_inputs; i++)
            if (strncmp(g->values[g->inputs[i]].name, spec, (size_t)len) == 0 && g->values[g->inputs[i]].name[len] == '\0')
                input = i;
        if (input < 0)
            return rt_error_set(err, "%s: --freeze-input %s: the model has no input '%.*s'", a->model, spec, len, spec),
                   CLI_BAD_INPUT;
        RtTensor t = {0};
        if (npy_read(path, &t, err) != RT_OK) return CLI_BAD_INPUT; /* the message names the file */
        int r = ir_input_freeze(g, input, &t, err);
        free(t.data);
        if (r != RT_OK) {
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err->msg);
            return rt_error_set(err, "%s: --freeze-input %s: %s", a->model, spec, msg), CLI_BAD_INPUT;
        }
    }
    return CLI_OK;
}

/* Loads and prepares (frozen inputs, simplify + fuse) the model. */
static IrGraph *model_prepare(const CliQuant *a, RtError *err) {
    const char *path = a->model;
    IrGraph *g = cli_model_load(path, 0, err);
    if (!g) return NULL;
    if (cli_quant_inputs_freeze(a, g, err) != CLI_OK) {
        ir_graph_free(g);
        return NULL;
    }
    if (pass_simplify(g, err) != RT_OK || pass_fuse(g, err) != RT_OK) {
        cli_error_name_file(err, path);
        ir_graph_free(g);
        return NULL;
    }
    return g;
}

int cli_quant_shapes_bind(const CliQuant *a, IrGraph *g, RtError *err) {
    for (int k = 0; k < a->n_shape; k++) {
        const char *spec = a->shape[k];
        int64_t dims[RT_MAX_RANK];
        int rank = 0, input = -1;
        size_t len;
        if (cli_shape_parse(spec, dims, &rank, &len, "quantize", err) != CLI_OK) return CLI_BAD_INPUT;
        for (int i = 0; i < g->n_inputs; i++)
            if (strncmp(g->values[g->inputs[i]].name, spec, len) == 0 && g->values[g->inputs[i]].name[len] == '\0')
                input = i;
        if (input < 0)
            return rt_error_set(err, "%s: --shape %s: the model has no input '%.*s'", a->model, spec, (int)len, spec),
                   CLI_BAD_INPUT;
        if (ir_bind_input(g, input, rank, dims, err) != RT_OK) {
            cli_error_name_file(err, a->model);
            return CLI_BAD_INPUT;
        }
    }
    if (a->n_shape && pass_simplify(g, err) != RT_OK) {
        cli_error_name_file(err, a->model);
        return CLI_BAD_INPUT;
    }
    return CLI_OK;
}

static CalibDataset *dataset_open(const CliQuant *a, RtError *err) {
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

static int report_write(const CliQuant *a, IrGraph *g, CalibDataset *d, QuantReport *rep, RtError *err) {
    if (d) {
        IrGraph *ref = model_prepare(a, err);
        if (!ref) return CLI_BAD_INPUT;
        int r = quant_report_measure(ref, g, d, a->q.calib.batch, rep, err);
        ir_graph_free(ref);
        if (r != RT_OK) return cli_error_name_file(err, a->model), CLI_BAD_INPUT;
    }
    char opts[2048];
    cli_quant_options_line(a, opts, sizeof opts);
    char *json = quant_report_json(rep, a->model, opts);
    if (!json) return rt_error_set(err, "%s: out of memory", a->report), CLI_BAD_INPUT;
    int r = io_file_write_atomic(a->report, json, strlen(json), err);
    free(json);
    return r == RT_OK ? CLI_OK : CLI_BAD_INPUT;
}

static void summary_print(FILE *out, const CliQuant *a, const QuantReport *rep) {
    int w = 0, act = 0;
    for (int i = 0; i < rep->n_tensors; i++) {
        w += rep->tensors[i].kind == QUANT_T_WEIGHT;
        act += rep->tensors[i].kind == QUANT_T_ACTIVATION;
    }
    if (a->q.weight_bits == 0) {
        fprintf(out, "%s: float weights as the model has them (--weights f32: simplified and fused, nothing quantized)\n", a->out);
        return;
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

/* The low-bit path: pass_quantize_gptq and its report. */
static int lowbit_run(CliQuant *a, IrGraph *g, CalibDataset *d, FILE *out, RtError *err) {
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

IrGraph *cli_quant_build(CliQuant *a, FILE *out, RtError *err) {
    IrGraph *g = model_prepare(a, err);
    if (!g) return NULL;
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
    if (status == CLI_OK && a->lowbit) {
        status = lowbit_run(a, g, d, out, err);
    } else if (status == CLI_OK) {
        if (pass_quantize_int8(g, &a->q, &rep, err) != RT_OK) {
            cli_error_name_file(err, a->model);
            status = CLI_BAD_INPUT;
        }
        if (status == CLI_OK && a->report) status = report_write(a, g, d, &rep, err);
        if (status == CLI_OK) summary_print(out, a, &rep);
    }
    if (status == CLI_OK) status = cli_quant_shapes_bind(a, g, err);
    quant_report_free(&rep);
    calib_dataset_free(d);
    if (status != CLI_OK) {
        ir_graph_free(g);
        return NULL;
    }
    return g;
}
