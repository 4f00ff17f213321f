/*
 * cmd_emit_c.c — `wafer emit-c MODEL -o DIR [--prefix NAME] [--no-libm] [--shape ...]
 * [quantize options]`: portable C99 source for embedded targets, DIR/NAME.c and DIR/NAME.h.
 *
 * MODEL.onnx is loaded as `wafer run` loads it (a QDQ file's groups become int8 ops,
 * passes/qdq_import.c, unless --keep-qdq) and runs the shared quantize pipeline (cli_quantize.c: simplify, fuse, quantize,
 * --shape binding); a .wafer file is taken as it is (no quantize options apply; --shape
 * still binds its inputs). --shape and then 1 (batch 1) for dims left dynamic bind the
 * inputs; the graph is simplified again so shape chains fold, except the DequantizeLinear of
 * low-bit weights, which the C keeps as codes; then codegen/emit_c.c writes the files. The header
 * comment of both files names the source model's hash, wafer's version and the options.
 */
#include <stdlib.h>
#include <string.h>

#include "../codegen/emit_c.h"
#include "../format/wafer_file.h"
#include "../passes/passes.h"
#include "cli_quantize.h"

static const char *const emit_usage_head =
    "usage: wafer emit-c MODEL -o DIR [--prefix NAME] [--no-libm] [--split-weights] [--keep-qdq]\n"
    "                    [--shape NAME=d0,d1,...] [quantize options]\n"
    "\n"
    "Portable C99 source for embedded targets: DIR/NAME.c and DIR/NAME.h (no malloc, no stdio,\n"
    "weights as static const arrays, activations in one arena planned by liveness). MODEL is\n"
    "an ONNX file (quantized with the options below first; --weights f32 keeps it float) or a\n"
    ".wafer file (used as it is). Dynamic dims are bound at emit time: batch 1 by default,\n"
    "--shape to choose. The header declares NAME_ARENA_BYTES, NAME_NUM_INPUTS/OUTPUTS,\n"
    "NAME_INPUT_i_SIZE / NAME_OUTPUT_i_SIZE (elements) and\n"
    "  int NAME_run(const void *const inputs[], void *const outputs[], void *arena);  /* 0 = ok */\n"
    "\n"
    "  -o DIR                  output folder (created if missing)\n"
    "  --prefix NAME           C identifier naming the files and symbols (default: model)\n"
    "  --no-libm               own exp/tanh/erf approximations instead of libm's\n"
    "  --split-weights         weights in DIR/NAME_weights.c (const NAME_w<i> arrays, to compile\n"
    "                          and link beside NAME.c: for large models)\n"
    "  --keep-qdq              a QDQ-quantized ONNX file (onnxruntime's quantizer...) stays as\n"
    "                          written: float ops between its Q/DQ nodes; by default each\n"
    "                          DQ -> op -> Q group becomes one int8 kernel, as `wafer run` does\n"
    "  --shape NAME=d0,d1,...  bind input NAME's shape (repeatable)\n";

static const char *const emit_usage_tail =
    "\n"
    "Prints the files written, the kernels used, weight bytes and the arena beside its lower\n"
    "bound. Exit status 0 ok, 2 bad input (the message names the file, node and op).\n";

typedef struct {
    CliQuant q;
    const char *dir, *prefix;
    int no_libm;
    int split_weights;
    int keep_qdq;      /* --keep-qdq: a QDQ file's groups stay float (no passes/qdq_import.c) */
    int quant_opts;    /* a quantize option other than --shape was given */
} EmitArgs;

static int args_parse(int argc, char **argv, EmitArgs *a, RtError *err) {
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int is_shape = strncmp(argv[i], "--shape", 7) == 0 || strncmp(argv[i], "--freeze-input", 14) == 0;
        int r = cli_opt(argc, argv, &i, "-o", &v, "emit-c", err);
        if (r > 0) { a->dir = v; continue; }
        if (r == 0) r = cli_opt(argc, argv, &i, "--prefix", &v, "emit-c", err);
        if (r > 0) { a->prefix = v; continue; }
        if (r == 0 && strcmp(argv[i], "--no-libm") == 0) { a->no_libm = 1; continue; }
        if (r == 0 && strcmp(argv[i], "--split-weights") == 0) { a->split_weights = 1; continue; }
        if (r == 0 && strcmp(argv[i], "--keep-qdq") == 0) { a->keep_qdq = 1; continue; }
        if (r == 0) r = cli_quant_opt(&a->q, argc, argv, &i, "emit-c", err);
        if (r < 0) return CLI_BAD_INPUT;
        if (r > 0) {
            if (!is_shape) a->quant_opts = 1;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage_error(err, "emit-c", "unknown option '%s'", argv[i]);
        } else if (a->q.model) {
            return cli_usage_error(err, "emit-c", "one MODEL only (got '%s' and '%s')", a->q.model, argv[i]);
        } else {
            a->q.model = argv[i];
        }
    }
    if (!a->q.model) return cli_usage_error(err, "emit-c", "missing MODEL");
    if (!a->dir) return cli_usage_error(err, "emit-c", "missing -o DIR");
    if (!emit_c_prefix_ok(a->prefix))
        return cli_usage_error(err, "emit-c", "--prefix '%s' is not a C identifier ([A-Za-z_][A-Za-z0-9_]*, at most 64)",
                               a->prefix);
    a->q.out = a->dir;
    if (wafer_file_is(a->q.model)) {
        if (a->quant_opts)
            return cli_usage_error(err, "emit-c", "%s is a .wafer file: quantize options do not apply", a->q.model);
        return CLI_OK;
    }
    return cli_quant_check(&a->q, "emit-c", err);
}

/* Every dynamic dim still unbound becomes 1 (batch 1), then shape chains fold. */
static int dims_default(const char *model, IrGraph *g, RtError *err) {
    int bound = 0;
    for (int i = 0; i < g->n_inputs; i++) {
        const IrValue *v = &g->values[g->inputs[i]];
        int64_t dims[RT_MAX_RANK];
        int dyn = 0;
        if (v->rank < 0) continue; /* reported by emit-c with the input's name */
        for (int d = 0; d < v->rank; d++) {
            dims[d] = v->dims[d].value >= 0 ? v->dims[d].value : 1;
            dyn |= v->dims[d].value < 0;
        }
        if (dyn && ir_bind_input(g, i, v->rank, dims, err) != RT_OK) return cli_error_name_file(err, model), CLI_BAD_INPUT;
        bound |= dyn;
    }
    (void)bound;
    if (pass_simplify(g, err) != RT_OK) return cli_error_name_file(err, model), CLI_BAD_INPUT;
    return CLI_OK;
}

static int emit_run(EmitArgs *a, FILE *out, RtError *err) {
    char opts[2048] = "", hash[17] = "";
    WaferMeta meta = {0};
    IrGraph *g;
    int is_wafer = wafer_file_is(a->q.model);
    if (is_wafer) {
        g = wafer_file_read_meta(a->q.model, &meta, err);
        if (g && (cli_quant_inputs_freeze(&a->q, g, err) != CLI_OK || cli_quant_shapes_bind(&a->q, g, err) != CLI_OK)) {
            ir_graph_free(g);
            return CLI_BAD_INPUT;
        }
    } else {
        cli_quant_options_line(&a->q, opts, sizeof opts); /* names the --shape inputs too */
        g = cli_quant_build(&a->q, out, err);
        if (g && wafer_file_hash(a->q.model, hash, err) != RT_OK) {
            ir_graph_free(g);
            return CLI_BAD_INPUT;
        }
    }
    if (!g) return CLI_BAD_INPUT;
    int status = dims_default(a->q.model, g, err);
    if (status == CLI_OK && cli_dir_make(a->dir, err) != CLI_OK) status = CLI_BAD_INPUT;
    /* the quantize options (the .wafer's own for a .wafer), then emit-c's */
    char line[3072];
    size_t u = (size_t)snprintf(line, sizeof line, "%s; emit-c prefix=%s%s%s", is_wafer ? (meta.options ? meta.options : "") : opts,
                                a->prefix, a->no_libm ? " no-libm" : "", a->split_weights ? " split-weights" : "");
    for (int i = 0; is_wafer && i < a->q.n_shape && u < sizeof line; i++)
        u += (size_t)snprintf(line + u, sizeof line - u, " shape=%s", a->q.shape[i]);
    for (int i = 0; is_wafer && i < a->q.n_freeze && u < sizeof line; i++)
        u += (size_t)snprintf(line + u, sizeof line - u, " freeze-input=%s", a->q.freeze[i]);
    EmitCOptions o = {a->prefix, a->no_libm, is_wafer ? meta.source_hash : hash, WAFER_VERSION, line, a->split_weights};
    EmitCStats st;
    if (status == CLI_OK && emit_c_write(g, &o, a->dir, &st, err) != RT_OK) {
        cli_error_name_file(err, a->q.model);
        status = CLI_BAD_INPUT;
    }
    if (status == CLI_OK && a->split_weights) fprintf(out, "%s/%s_weights.c, ", a->dir, a->prefix);
    if (status == CLI_OK)
        fprintf(out, "%s/%s.c, %s/%s.h: %d kernel templates, weights %lld bytes, arena %lld bytes (lower bound %lld, %.3fx)\n",
                a->dir, a->prefix, a->dir, a->prefix, st.n_kernels, (long long)st.weight_bytes,
                (long long)st.arena_bytes, (long long)st.lower_bound,
                st.lower_bound > 0 ? (double)st.arena_bytes / (double)st.lower_bound : 1.0);
    ir_graph_free(g);
    return status;
}

int cmd_emit_c(int argc, char **argv, FILE *out, RtError *err) {
    if (cli_wants_help(argc, argv)) {
        fputs(emit_usage_head, out);
        fputs(cli_quant_usage_options, out);
        fputs(emit_usage_tail, out);
        return CLI_OK;
    }
    EmitArgs a;
    memset(&a, 0, sizeof a);
    cli_quant_init(&a.q);
    a.prefix = "model";
    int status = args_parse(argc, argv, &a, err);
    if (status == CLI_OK) cli_model_qdq_import_set(!a.keep_qdq);
    if (status == CLI_OK) status = emit_run(&a, out, err);
    cli_quant_free(&a.q);
    return status;
}
