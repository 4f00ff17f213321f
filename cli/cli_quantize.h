/*
 * cli_quantize.h — the quantize pipeline that several commands share (`wafer quantize`,
 * `wafer emit-c`, `wafer sweep`): its options, their checks, and the run from an ONNX file to
 * the final IR graph.
 *
 *   load -> [freeze inputs] -> pass_simplify -> pass_fuse -> pass_quantize_int8 -> [report] -> bind --shape -> simplify
 *                                      \-> pass_quantize_gptq (low-bit path) -/
 *
 * A command parses its own arguments and hands every argument it does not know to
 * cli_quant_opt(); then cli_quant_check(), then cli_quant_build() gives the graph to write
 * (a .wafer file, C source, an ONNX file). With --weights f32 nothing is quantized: the graph
 * is the simplified and fused float model.
 */
#ifndef WAFER_CLI_QUANTIZE_H
#define WAFER_CLI_QUANTIZE_H

#include "../passes/gptq.h"
#include "../passes/quantize.h"
#include "cli.h"

#define CLI_QUANT_MAX_EXCLUDE 256
#define CLI_QUANT_MAX_SHAPES 16

/* The option lines of every command that quantizes (for its --help). */
extern const char *const cli_quant_usage_options;

typedef struct {
    const char *model;                /* MODEL.onnx (borrowed argv; the command sets it) */
    const char *out;                  /* what the command writes, named in the summary (borrowed) */
    const char *report;               /* --report FILE.json (borrowed argv) or NULL */
    const char *weights, *activations, *method, *calib_method; /* borrowed argv, NULL = default */
    QuantOptions q;                   /* the int8 path's options */
    CliInputs calib;                  /* --calib NAME=FILE specs (files read by calib/) */
    const char *exclude[CLI_QUANT_MAX_EXCLUDE];        /* node names (into exclude_buf) */
    char *exclude_buf[CLI_QUANT_MAX_EXCLUDE];          /* owned copies of the --exclude lists */
    int n_exclude_buf;
    int gptq_opt;                     /* a GPTQ-only option was given */
    int lowbit;                       /* the low-bit path (pass_quantize_gptq) */
    int clip_opt;                     /* --clip-search was given */
    GptqPassOptions g;                /* the low-bit path's options */
    const char *sequential;           /* --sequential (borrowed argv) */
    const char *compute;              /* --compute f32|int8 (borrowed argv) or NULL = f32 */
    const char *shape[CLI_QUANT_MAX_SHAPES]; /* --shape NAME=d0,d1,... (borrowed argv) */
    int n_shape;
    const char *freeze[CLI_QUANT_MAX_SHAPES]; /* --freeze-input NAME=FILE.npy (borrowed argv) */
    int n_freeze;
} CliQuant;

void cli_quant_init(CliQuant *a);
void cli_quant_free(CliQuant *a);

/* Matches argv[*i] against the quantize options (advancing *i past a separate value).
 * Returns 1 when it was one, 0 when it is not, -1 with a usage error in err. */
int cli_quant_opt(CliQuant *a, int argc, char **argv, int *i, const char *cmd, RtError *err);

/* Checks the combination (a->model must be set) and derives the passes' options. */
int cli_quant_check(CliQuant *a, const char *cmd, RtError *err);

/* The options as one canonical line (the same options in any order give the same line): the
 * .wafer metadata, the report and emitted sources carry it. */
void cli_quant_options_line(const CliQuant *a, char *buf, size_t n);

/* Parses "NAME=d0,d1,..." ("d0xd1x..." accepted too) into dims[*rank]; *name_len = NAME's
 * length. */
int cli_shape_parse(const char *spec, int64_t *dims, int *rank, size_t *name_len, const char *cmd,
                    RtError *err);

/* Binds the --shape inputs of a into g (any graph: an ONNX model's or a .wafer's) and folds
 * what those shapes make constant (quantized weights stay codes: IrGraph.keep_dequantize). */
int cli_quant_shapes_bind(const CliQuant *a, IrGraph *g, RtError *err);

/* Makes each --freeze-input NAME of a a constant of g holding FILE.npy's values (the input
 * leaves the graph's inputs; what it feeds folds). Errors name the file and the input. */
int cli_quant_inputs_freeze(const CliQuant *a, IrGraph *g, RtError *err);

/* Runs the pipeline above on a->model (--freeze-input applied right after loading): calibration progress and GPTQ's per-layer lines on
 * stderr, the summary (and the GPTQ report's text) on out, --report written. Returns the graph
 * (owned by the caller) with the --shape inputs bound, or NULL with the message in err. */
IrGraph *cli_quant_build(CliQuant *a, FILE *out, RtError *err);

#endif
