/*
 * cmd_run.c — `wafer run MODEL --input NAME=FILE.npy ... [--out DIR] [--threads T]`: run a
 * model once and write DIR/<output name>.npy for every graph output. An ONNX model is compiled
 * and run by the executor on the IR; a .wafer file runs through the companion runtime
 * (runtime/wafer_rt.h: mapped weights, planned arena), as an application would run it.
 *
 * Order of work, so that a failure leaves nothing behind: load the model, read and check
 * every input, run, check every output can be written and has its own file name, and only
 * then write. Writing stages each output as DIR/.<file>.partial (npy_write is atomic) and
 * renames the staged files over their targets once all are written; any failure removes the
 * staged files. File names keep A-Za-z0-9._- of the output name; other characters become '_'.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../format/wafer_file.h"
#include "../runtime/rt_exec.h"
#include "cli.h"

static const char *const run_usage =
    "usage: wafer run MODEL --input NAME=FILE.npy ... [--out DIR] [--threads T]\n"
    "\n"
    "Runs MODEL (an ONNX file, or a .wafer file through the companion runtime) on the\n"
    "given inputs and writes one DIR/<output name>.npy per graph output (characters outside\n"
    "A-Za-z0-9._- become '_').\n"
    "\n"
    "  --input NAME=FILE.npy  a graph input; every input exactly once, with the model's\n"
    "                         dtype and known dims\n"
    "  --out DIR              where outputs go (default '.'; created if missing)\n"
    "  --threads T            threads for wafer's kernels and OpenBLAS's GEMMs (default:\n"
    "                         the kernels run on 1 thread, OpenBLAS keeps its own setting)\n"
    "\n"
    "Nothing is written unless the whole run succeeds. Exit status 0 ok, 2 bad input.\n";

typedef struct {
    const char *model;    /* borrowed (argv) */
    const char *out_dir;  /* borrowed (argv) */
    CliInputs inputs;
    int64_t threads;      /* --threads, 0 when not given */
    struct RtThreadPool *pool;  /* owned (cli_threads_start); NULL = kernels on one thread */
} RunArgs;

static int run_args_parse(int argc, char **argv, RunArgs *a, RtError *err) {
    a->out_dir = ".";
    for (int i = 1; i < argc; i++) {
        const char *v;
        int r;
        if ((r = cli_opt(argc, argv, &i, "--input", &v, "run", err)) != 0) {
            if (r < 0 || cli_inputs_add(&a->inputs, v, "run", err) != CLI_OK) return CLI_BAD_INPUT;
        } else if ((r = cli_opt(argc, argv, &i, "--out", &v, "run", err)) != 0) {
            if (r < 0) return CLI_BAD_INPUT;
            if (!v[0]) return cli_usage_error(err, "run", "--out needs a folder name");
            a->out_dir = v;
        } else if ((r = cli_opt(argc, argv, &i, "--threads", &v, "run", err)) != 0) {
            if (r < 0 || cli_parse_i64(v, 1, 1024, "--threads", "run", &a->threads, err) != CLI_OK)
                return CLI_BAD_INPUT;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage_error(err, "run", "unknown option '%s'", argv[i]);
        } else if (a->model) {
            return cli_usage_error(err, "run", "one MODEL only (got '%s' and '%s')", a->model, argv[i]);
        } else {
            a->model = argv[i];
        }
    }
    if (!a->model) return cli_usage_error(err, "run", "missing MODEL");
    return CLI_OK;
}

/* DIR/<sanitized name>.npy (or DIR/.<...>.npy.partial when staged), malloc'd. */
static char *output_path(const char *dir, const char *name, int index, int staged) {
    size_t n = strlen(dir) + strlen(name) + 48;
    char *p = malloc(n);
    if (!p) return NULL;
    char *file = malloc(strlen(name) + 24);
    if (!file) {
        free(p);
        return NULL;
    }
    size_t k = 0;
    for (const char *c = name; *c; c++)
        file[k++] = ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
                     *c == '.' || *c == '_' || *c == '-')
                        ? *c
                        : '_';
    if (k == 0) k = (size_t)sprintf(file, "output_%d", index);
    file[k] = '\0';
    snprintf(p, n, staged ? "%s/.%s.npy.partial" : "%s/%s.npy", dir, file);
    free(file);
    return p;
}

static int dtype_writable(RtDtype t) {
    return rt_dtype_size(t) > 0 && t != RT_BF16 && t != RT_STRING;
}

/* Checks outputs can be written under distinct names; fills final[] and staged[]. */
static int outputs_plan(int n, const char *const *names, const char *model, const RtTensor *outs,
                        const char *dir, char **final, char **staged, RtError *err) {
    for (int i = 0; i < n; i++) {
        const char *name = names[i];
        if (!dtype_writable(outs[i].dtype))
            return rt_error_set(err, "%s: output '%s' is %s, which .npy cannot hold", model, name,
                                rt_dtype_name(outs[i].dtype));
        final[i] = output_path(dir, name, i, 0);
        staged[i] = output_path(dir, name, i, 1);
        if (!final[i] || !staged[i]) return rt_error_set(err, "out of memory");
        for (int j = 0; j < i; j++)
            if (strcmp(final[i], final[j]) == 0)
                return rt_error_set(err, "%s: outputs '%s' and '%s' would both be written to %s", model,
                                    names[j], name, final[i]);
    }
    return RT_OK;
}

/* Stage every output, then rename all; on failure remove what was staged. */
static int outputs_write(int n, const RtTensor *outs, char **final, char **staged, RtError *err) {
    int written = 0, r = RT_OK;
    for (; written < n && r == RT_OK; written++) r = npy_write(staged[written], &outs[written], err);
    if (r != RT_OK) written--; /* npy_write left nothing for the failed one */
    for (int i = 0; r == RT_OK && i < n; i++)
        if (rename(staged[i], final[i]) != 0) r = rt_error_set(err, "%s: cannot rename into place", final[i]);
    if (r != RT_OK)
        for (int i = 0; i < written; i++) unlink(staged[i]); /* already-renamed ones are gone */
    return r;
}

/* Frees the file names, and the outputs' data when owned (the runtime's outputs are views). */
static void outputs_free(int n, RtTensor *outs, int owned, char **final, char **staged) {
    for (int i = 0; i < n; i++) {
        if (outs && owned) free(outs[i].data);
        if (final) free(final[i]);
        if (staged) free(staged[i]);
    }
    free(outs);
    free(final);
    free(staged);
}

/* Plans, writes and lists the outputs (names[n], outs[n]); CLI_OK when all are written. */
static int outputs_emit(const RunArgs *a, int n, const char *const *names, const RtTensor *outs,
                        char **final, char **staged, FILE *out, RtError *err) {
    if (outputs_plan(n, names, a->model, outs, a->out_dir, final, staged, err) != RT_OK ||
        cli_dir_make(a->out_dir, err) != RT_OK || outputs_write(n, outs, final, staged, err) != RT_OK)
        return CLI_BAD_INPUT;
    for (int i = 0; i < n; i++) {
        char shape[160];
        fprintf(out, "%s %s %s -> %s\n", names[i], rt_dtype_name(outs[i].dtype),
                rt_shape_str(outs[i].rank, outs[i].dims, shape, sizeof shape), final[i]);
    }
    return CLI_OK;
}

/* A .wafer file: through the companion runtime (wafer_rt.h), as an application runs it. */
static int run_wafer(const RunArgs *a, FILE *out, RtError *err) {
    WaferRtModel *m = NULL;
    if (cli_rt_open(a->model, a->threads, &m, err) != CLI_OK) return CLI_BAD_INPUT;
    int ni = wafer_rt_num_inputs(m), no = wafer_rt_num_outputs(m);
    WaferRtTensor *ins = calloc((size_t)(ni ? ni : 1), sizeof *ins), *ys = calloc((size_t)(no ? no : 1), sizeof *ys);
    RtTensor *outs = calloc((size_t)(no ? no : 1), sizeof *outs);
    const char **names = calloc((size_t)(no ? no : 1), sizeof *names);
    char **final = calloc((size_t)(no ? no : 1), sizeof *final), **staged = calloc((size_t)(no ? no : 1), sizeof *staged);
    int status = CLI_BAD_INPUT;
    WaferRtError e;
    if (!ins || !ys || !outs || !names || !final || !staged) {
        rt_error_set(err, "out of memory");
    } else if (cli_rt_inputs(m, a->model, &a->inputs, ins, err) != CLI_OK) {
        /* message set */
    } else if (wafer_rt_run(m, ins, ni, ys, no, &e) != WAFER_RT_OK) {
        rt_error_set(err, "%s", e.msg);
        cli_error_name_file(err, a->model);
    } else {
        for (int i = 0; i < no; i++) {
            names[i] = wafer_rt_output_info(m, i, NULL);
            outs[i].dtype = (RtDtype)ys[i].dtype;
            outs[i].rank = ys[i].rank;
            memcpy(outs[i].dims, ys[i].dims, sizeof(int64_t) * (size_t)ys[i].rank);
            outs[i].data = ys[i].data;
        }
        status = outputs_emit(a, no, names, outs, final, staged, out, err);
    }
    outputs_free(no, outs, 0, final, staged);
    free(names);
    free(ins);
    free(ys);
    wafer_rt_close(m);
    return status;
}

/* An ONNX file: compiled by the frontend and run by the executor on the IR. */
static int run_model(const RunArgs *a, IrGraph *g, FILE *out, RtError *err) {
    size_t ni = (size_t)(g->n_inputs ? g->n_inputs : 1), no = (size_t)(g->n_outputs ? g->n_outputs : 1);
    RtTensor *ins = calloc(ni, sizeof *ins), *outs = calloc(no, sizeof *outs);
    char **final = calloc(no, sizeof *final), **staged = calloc(no, sizeof *staged);
    const char **names = calloc(no, sizeof *names);
    int status = CLI_BAD_INPUT;
    if (!ins || !outs || !final || !staged || !names) {
        rt_error_set(err, "out of memory");
    } else if (cli_inputs_match(g, &a->inputs, 0, ins, err) == CLI_OK) {
        RtRunOptions o = {.pool = a->pool, .ref_only = cli_ref_only()};
        if (ir_run_opts(g, ins, outs, &o, err) != RT_OK) {
            cli_error_name_file(err, a->model);
        } else {
            for (int i = 0; i < g->n_outputs; i++) names[i] = g->values[g->outputs[i]].name;
            status = outputs_emit(a, g->n_outputs, names, outs, final, staged, out, err);
        }
    }
    free(ins);
    free(names);
    outputs_free(g->n_outputs, outs, 1, final, staged);
    return status;
}

int cmd_run(int argc, char **argv, FILE *out, RtError *err) {
    if (cli_wants_help(argc, argv)) {
        fputs(run_usage, out);
        return CLI_OK;
    }
    RunArgs a;
    memset(&a, 0, sizeof a);
    int status = run_args_parse(argc, argv, &a, err);
    IrGraph *g = NULL;
    if (status == CLI_OK && wafer_file_is(a.model)) {
        status = cli_inputs_read(&a.inputs, err);
        if (status == CLI_OK) status = run_wafer(&a, out, err);
        cli_inputs_free(&a.inputs);
        return status;
    }
    if (status == CLI_OK) status = cli_threads_start(a.threads, "run", &a.pool, err);
    if (status == CLI_OK) {
        g = cli_model_load(a.model, 0, err);
        status = g ? cli_inputs_read(&a.inputs, err) : CLI_BAD_INPUT;
    }
    if (status == CLI_OK) status = run_model(&a, g, out, err);
    ir_graph_free(g);
    cli_inputs_free(&a.inputs);
    cli_threads_stop(a.pool);
    return status;
}
