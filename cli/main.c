/*
 * main.c — the `wafer` driver: picks the subcommand, hands it stdout, and turns its status
 * into the exit status (0 ok, 1 a result check failed, 2 bad input or usage). The only
 * place that writes to stderr or exits: a subcommand's failure message, left in an
 * RtError, is printed here as "wafer CMD: message".
 */
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct {
    const char *name;
    CliCommandFn fn;
    const char *summary;
} CliCommand;

static const CliCommand commands[] = {
    {"inspect", cmd_inspect, "inputs, outputs, op histogram, parameters, unsupported ops"},
    {"run", cmd_run, "run a model on .npy inputs; writes one .npy per output"},
    {"eval", cmd_eval, "top-1 accuracy or perplexity, optionally against a baseline model"},
    {"bench", cmd_bench, "load time, median and p90 latency, peak memory"},
    {"quantize", cmd_quantize, "int8 / low-bit post-training quantization to a .wafer file"},
    {"emit-c", cmd_emit_c, "portable C source (NAME.c, NAME.h) for embedded targets"},
    {"distill", cmd_distill, "knowledge distillation and quantization-aware training"},
    {"sweep", cmd_sweep, "quantize every bit width / group / method, evaluate, plot"},
    {"registry", cmd_registry, "the variant registry of a model (add, list, show)"},
    {"cascade", cmd_cascade, "small model first, large one when unsure: accuracy, cost"},
    {"plan", cmd_plan, "bit width, distillation, edge or cloud, from prices and the registry"},
};

static void usage_print(FILE *f) {
    fprintf(f, "usage: wafer COMMAND [ARGS]   (wafer COMMAND --help for its options)\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-9s  %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\noptions:\n  --help     this text\n  --version  print the version\n\n"
               "exit status: 0 ok, 1 a result check failed (eval --max-drop), 2 bad input or usage\n");
}

/* The reference executor allocates every intermediate when it is produced and frees it after
 * its last use. With glibc's defaults, blocks above 128 KiB are fresh mmaps each time, so
 * every run pays page faults for its activations; keeping them in the heap lets the next run
 * reuse warm pages. (The planned-arena runtime of a later issue makes this moot.) */
static void malloc_tune(void) {
#ifdef M_MMAP_THRESHOLD
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
#endif
}

int main(int argc, char **argv) {
    malloc_tune();
    if (argc < 2) {
        usage_print(stderr);
        return CLI_BAD_INPUT;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        usage_print(stdout);
        return CLI_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("wafer %s\n", WAFER_VERSION);
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(name, commands[i].name) != 0) continue;
        RtError err;
        err.msg[0] = '\0';
        int status = commands[i].fn(argc - 1, argv + 1, stdout, &err);
        if (fflush(stdout) != 0 && status == CLI_OK) {
            fprintf(stderr, "wafer %s: cannot write to standard output\n", name);
            return CLI_BAD_INPUT;
        }
        if (status != CLI_OK && err.msg[0]) fprintf(stderr, "wafer %s: %s\n", name, err.msg);
        return status;
    }
    fprintf(stderr, "wafer: unknown command '%s' (see 'wafer --help')\n", name);
    return CLI_BAD_INPUT;
}
