/*
 * cmd_quantize.c — `wafer quantize MODEL.onnx -o OUT.wafer [--onnx OUT.onnx] [options]`:
 * post-training int8, and low-bit weights by RTN or GPTQ, written as a .wafer file and/or as
 * a standard quantized ONNX model (frontend/onnx_export*.c: QDQ for int8, com.microsoft
 * MatMulNBits or blocked DequantizeLinear for low-bit weights) for onnxruntime.
 *
 * The pipeline itself (options, simplify, fuse, quantize, report, --shape binding) is
 * cli_quantize.c's, shared with emit-c and sweep; this file adds -o and the file: its metadata
 * holds the source file's hash, wafer's version and the options as one canonical line (the same
 * options in any order give the same file).
 */
#include <stdio.h>
#include <string.h>

#include "../format/wafer_file.h"
#include "../frontend/onnx.h"
#include "cli_quantize.h"

static const char *const quantize_usage_head =
    "usage: wafer quantize MODEL.onnx -o OUT.wafer [--onnx OUT.onnx] [options]\n"
    "       wafer quantize MODEL.onnx --onnx OUT.onnx [options]\n"
    "\n"
    "Post-training quantization: simplify, fuse (BatchNorm folding, bias and activation\n"
    "fusion), then int8 weights (and, with --activations int8, activations), written as a\n"
    ".wafer file that wafer run / eval / bench execute, and/or as standard ONNX.\n"
    "\n"
    "  -o OUT.wafer            the .wafer file\n"
    "  --onnx OUT.onnx         also (or only) a standard quantized ONNX model for onnxruntime:\n"
    "                          int8 as QuantizeLinear/DequantizeLinear pairs around float\n"
    "                          Conv/Gemm/MatMul/Add (per-channel weights with axis), low-bit\n"
    "                          layers as com.microsoft.MatMulNBits; checked before it is written\n"
    "  --onnx-int4 nbits|dq    low-bit layers as MatMulNBits (default) or as blocked\n"
    "                          DequantizeLinear + MatMul: 4-bit initializers (opset 21), 2-bit\n"
    "                          ones for --weights int2 (UINT2, opset 25);\n"
    "                          3-bit layers and groups that are not a multiple of 16 always\n"
    "                          take the dq form (onnxruntime's MatMulNBits takes 2/4/8 bits\n"
    "                          and blocks of 16..256)\n"
    "At least one of -o and --onnx is required.\n"
    "\n";

static const char *const quantize_usage_tail =
    "\n"
    "Exit status 0 ok, 2 bad input (the message names the file, node and op).\n";

/* The export's own options. */
typedef struct {
    const char *path;            /* --onnx OUT.onnx (borrowed argv) or NULL */
    OnnxExportOptions o;
} QuantOnnx;

static int onnx_opt(QuantOnnx *x, int argc, char **argv, int *i, RtError *err) {
    const char *v = NULL;
    int r = cli_opt(argc, argv, i, "--onnx", &v, "quantize", err);
    if (r > 0) x->path = v;
    if (r != 0) return r;
    r = cli_opt(argc, argv, i, "--onnx-int4", &v, "quantize", err);
    if (r <= 0) return r;
    if (strcmp(v, "nbits") == 0) x->o.int4 = ONNX_INT4_NBITS;
    else if (strcmp(v, "dq") == 0) x->o.int4 = ONNX_INT4_DQ;
    else return cli_usage_error(err, "quantize", "--onnx-int4 wants nbits or dq, got '%s'", v), -1;
    return 1;
}

static int args_parse(int argc, char **argv, CliQuant *a, QuantOnnx *x, RtError *err) {
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r = cli_quant_opt(a, argc, argv, &i, "quantize", err);
        if (r == 0) r = cli_opt(argc, argv, &i, "-o", &v, "quantize", err);
        if (r == 0) r = onnx_opt(x, argc, argv, &i, err);
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
    if (!a->out && !x->path) return cli_usage_error(err, "quantize", "missing -o OUT.wafer (or --onnx OUT.onnx)");
    if (a->out && x->path && strcmp(a->out, x->path) == 0)
        return cli_usage_error(err, "quantize", "-o and --onnx name the same file '%s'", a->out);
    if (!a->out) a->out = x->path; /* the summary names the file written */
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
    QuantOnnx x = {NULL, {ONNX_INT4_NBITS, WAFER_VERSION}};
    cli_quant_init(&a);
    int status = args_parse(argc, argv, &a, &x, err);
    IrGraph *g = status == CLI_OK ? cli_quant_build(&a, out, err) : NULL;
    if (status == CLI_OK && !g) status = CLI_BAD_INPUT;
    if (g && a.out != x.path) status = model_write(&a, g, err);
    if (g && status == CLI_OK && x.path) {
        if (onnx_export_file(g, &x.o, x.path, err) != RT_OK) status = CLI_BAD_INPUT;
        else fprintf(out, "%s: standard ONNX written\n", x.path);
    }
    ir_graph_free(g);
    cli_quant_free(&a);
    return status;
}
