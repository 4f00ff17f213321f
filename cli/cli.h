/*
 * cli.h — what the `wafer` subcommands share: the version, exit statuses, the subcommand
 * signature, argument parsing, --input NAME=FILE.npy sets matched against a model's inputs,
 * model loading, a growable text buffer for JSON, mkdir -p and timing (atomic file writes are
 * io_file_write_atomic, io/atomic_file.h).
 *
 * Division of labour: a subcommand writes its normal output to `out` (stdout, given by main)
 * and returns an exit status; on failure it leaves the message in `err` and main prints it
 * on stderr and exits. Nothing here calls exit() or writes to stderr.
 */
#ifndef WAFER_CLI_H
#define WAFER_CLI_H

#include <stdio.h>

#include "../frontend/onnx.h"
#include "../io/atomic_file.h"
#include "../io/npy.h"
#include "../io/text_buf.h"
#include "../ir/ir.h"
#include "../runtime/wafer_rt.h"

#define WAFER_VERSION "0.1.0"

/* Exit statuses (the command-line contract in ARCHITECTURE.md). */
enum {
    CLI_OK = 0,           /* success (also --help) */
    CLI_CHECK_FAILED = 1, /* the command ran, and a result check failed (eval --max-drop) */
    CLI_BAD_INPUT = 2     /* bad usage or input: err names the file, node and op */
};

typedef int (*CliCommandFn)(int argc, char **argv, FILE *out, RtError *err);

/* argv[0] is the subcommand's name; argv[argc] is NULL. */
int cmd_inspect(int argc, char **argv, FILE *out, RtError *err);
int cmd_run(int argc, char **argv, FILE *out, RtError *err);
int cmd_eval(int argc, char **argv, FILE *out, RtError *err);
int cmd_bench(int argc, char **argv, FILE *out, RtError *err);
int cmd_quantize(int argc, char **argv, FILE *out, RtError *err);
int cmd_emit_c(int argc, char **argv, FILE *out, RtError *err);
int cmd_distill(int argc, char **argv, FILE *out, RtError *err);
int cmd_sweep(int argc, char **argv, FILE *out, RtError *err);
int cmd_registry(int argc, char **argv, FILE *out, RtError *err);
int cmd_cascade(int argc, char **argv, FILE *out, RtError *err);
int cmd_plan(int argc, char **argv, FILE *out, RtError *err);

/* ---- arguments (cli_args.c) ---- */
/* 1 when any argument is -h or --help. */
int cli_wants_help(int argc, char **argv);
/* Records a usage error ("... (see 'wafer CMD --help')") and returns CLI_BAD_INPUT. */
int cli_usage_error(RtError *err, const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Matches argv[*i] against option `name` given as "name VALUE" or "name=VALUE".
 * Returns 1 with *val set (and *i advanced past a separate value), 0 when argv[*i] is
 * another argument, or -1 with a usage error in err when the value is missing. */
int cli_opt(int argc, char **argv, int *i, const char *name, const char **val, const char *cmd,
            RtError *err);
/* Integer / number option values, with range checks; CLI_BAD_INPUT with a message. */
int cli_parse_i64(const char *s, int64_t lo, int64_t hi, const char *opt, const char *cmd,
                  int64_t *v, RtError *err);
int cli_parse_f64(const char *s, const char *opt, const char *cmd, double *v, RtError *err);

/* ---- --input NAME=FILE.npy (cli_inputs.c) ---- */
typedef struct {
    const char *name;   /* borrowed (argv) */
    const char *path;   /* borrowed (argv) */
    RtTensor t;         /* t.data owned (npy_read's malloc); NULL until read */
} CliInput;

typedef struct {
    CliInput *v;        /* [n] owned */
    int n, cap;
} CliInputs;

/* Parses "NAME=FILE" and appends it (not read yet). */
int cli_inputs_add(CliInputs *s, const char *spec, const char *cmd, RtError *err);
/* Reads every file; CLI_BAD_INPUT naming the file on failure. */
int cli_inputs_read(CliInputs *s, RtError *err);
void cli_inputs_free(CliInputs *s);
/* Puts the given inputs in the model's input order: ordered[g->n_inputs] get shallow copies
 * (data borrowed from s). Each model input must be given exactly once, with the model's
 * dtype, rank and every known dim from axis `from_axis` on (eval batches along axis 0, so it
 * passes 1). Messages name the input, the model and the file. */
int cli_inputs_match(const IrGraph *g, const CliInputs *s, int from_axis, RtTensor *ordered,
                     RtError *err);

/* ---- .wafer files through the companion runtime (cli_rt.c) ---- */
/* Opens path with wafer_rt_open_file, threads kernel threads (0 = one), WAFER_RT_REF honoured. */
int cli_rt_open(const char *path, int64_t threads, WaferRtModel **m, RtError *err);
/* The --input files in m's input order as views (data borrowed from s); every input exactly
 * once (dtypes and shapes are checked by wafer_rt_run, whose messages name the input). */
int cli_rt_inputs(const WaferRtModel *m, const char *path, const CliInputs *s, WaferRtTensor *ordered,
                  RtError *err);

/* ---- models (cli_model.c) ---- */
/* Loads a model: a .wafer file (recognized by its magic) or ONNX; the message names the
 * file. allow_unknown: see OnnxLoadOptions (a .wafer file never holds unknown ops). */
IrGraph *cli_model_load(const char *path, int allow_unknown, RtError *err);
/* cli_model_load that also gives a .wafer file's metadata (strings owned by the graph);
 * for an ONNX model *meta is all NULL. meta may be NULL. */
struct WaferMeta;
IrGraph *cli_model_load_meta(const char *path, int allow_unknown, struct WaferMeta *meta, RtError *err);
/* An ONNX model loaded with allow_unknown = 0 has its QDQ int8 groups turned into QOperator
 * ops (passes/qdq_import.h) unless turned off here (emit-c: it has no C kernels for them). */
void cli_model_qdq_import_set(int on);
/* Prefixes err's message with "path: " unless it already names path. */
void cli_error_name_file(RtError *err, const char *path);
/* Parameters: elements and bytes of every constant in g and its subgraphs (initializers,
 * folded values and Constant nodes' tensors). */
void cli_graph_params(const IrGraph *g, int64_t *count, int64_t *bytes);
/* "[batch,64]" for a value's declared shape: numbers, dim symbols, '?' for unknown dims;
 * "[...]" when the rank is unknown. */
const char *cli_value_shape_str(const IrValue *v, char *buf, size_t n);

/* ---- --threads T (cli_threads.c) ---- */
struct RtThreadPool;
/* threads > 0 (given): sets OpenBLAS's thread count to T and, for T > 1, starts a pool of
 * T threads for wafer's kernels in *pool (free with cli_threads_stop). threads 0 (not
 * given) or 1: *pool = NULL, kernels on the calling thread; 0 leaves OpenBLAS's own
 * setting. CLI_BAD_INPUT with a message when the threads cannot be started. */
int cli_threads_start(int64_t threads, const char *cmd, struct RtThreadPool **pool, RtError *err);
void cli_threads_stop(struct RtThreadPool *pool);
/* 1 when the environment sets WAFER_RT_REF=1: run only the reference kernels. */
int cli_ref_only(void);

/* ---- text buffer, JSON, files, time (cli_io.c) ---- */
/* The text buffer is io/text_buf.h's TextBuf (text_buf_printf, text_buf_json_str/num). */
/* mkdir -p. */
int cli_dir_make(const char *path, RtError *err);

/* Seconds on CLOCK_MONOTONIC. */
double cli_now(void);

#endif
