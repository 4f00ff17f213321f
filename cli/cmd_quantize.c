/*
 * cmd_quantize.c — `wafer quantize MODEL.onnx -o OUT.wafer [options]`: post-training int8,
 * and low-bit weights by RTN or GPTQ, written as a .wafer file.
 *
 * The pipeline itself (options, simplify, fuse, quantize, report, --shape binding) is
 * cli_quantize.c's, shared with emit-c and sweep; this file adds -o and the file: its metadata
 * holds the source file's hash, wafer's version and the options as one canonical line (the same
 * options in any order give the same file).
 */
#include <stdio.h>
#include <string.h>

#include "../format/wafer_file.h"
#include "cli_quantize.h"

static const char *const quantize_usage_head =
    "usage: wafer quantize MODEL.onnx -o OUT.wafer [options]\n"
    "\n"
    "Post-training quantization: simplify, fuse (BatchNorm folding, bias and activation\n"
    "fusion), then int8 weights (and, with --activations int8, activations), written as a\n"
    ".wafer file that wafer run / eval / bench execute.\n"
    "\n";

static const char *const quantize_usage_tail =
    "\n"
    "Exit status 0 ok, 2 bad input (the message names the file, node and op).\n";

static int args_parse(int argc, char **argv, CliQuant *a, RtError *err) {
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r = cli_quant_opt(a, argc, argv, &i, "quantize", err);
        if (r == 0) r = cli_opt(argc, argv, &i, "-o", &v, "quantize", err);
        if (r < 0) return CLI_BAD_INPUT;
        if (r > 0) {
            if (v) a->out = v;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage_error(err, "quantize", "unknown option '%s'", argv[i]);
        } else if (a->model) {
            return cli_usage_error(err, "quantize", "one MODEL only (got '%s' and '%s')", a->model, argv[i]);
        } else {
            a->model = argv[i];
        }
    }
    if (!a->model) return cli_usage_error(err, "quantize", "missing MODEL.onnx");
    if (!a->out) return cli_usage_error(err, "quantize", "missing -o OUT.wafer");
    return cli_quant_check(a, "quantize", err);
}

/* Writes the .wafer file with its metadata (source hash, version, options). */
static int model_write(const CliQuant *a, IrGraph *g, RtError *err) {
    char opts[2048], hash[17] = "";
    cli_quant_options_line(a, opts, sizeof opts);
    if (wafer_file_hash(a->model, hash, err) != RT_OK) return CLI_BAD_INPUT;
    WaferMeta meta = {hash, WAFER_VERSION, opts};
    if (wafer_file_write(g, &meta, a->out, err) != RT_OK) {
        cli_error_name_file(err, a->out);
        return CLI_BAD_INPUT;
    }
    return CLI_OK;
}

int cmd_quantize(int argc, char **argv, FILE *out, RtError *err) {
    if (cli_wants_help(argc, argv)) {
        fputs(quantize_usage_head, out);
        fputs(cli_quant_usage_options, out);
        fputs(quantize_usage_tail, out);
        return CLI_OK;
    }
    CliQuant a;
    cli_quant_init(&a);
    int status = args_parse(argc, argv, &a, err);
    IrGraph *g = status == CLI_OK ? cli_quant_build(&a, out, err) : NULL;
    if (status == CLI_OK && !g) status = CLI_BAD_INPUT;
    if (g) status = model_write(&a, g, err);
    ir_graph_free(g);
    cli_quant_free(&a);
    return status;
}
