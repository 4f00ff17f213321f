/*
 * cmd_distill.c — `wafer distill`: not built yet (issue 7). Until it is, the command says so
 * and exits 2, so scripts see a clear failure instead of a missing command.
 */
#include "cli.h"

int cmd_distill(int argc, char **argv, FILE *out, RtError *err) {
    (void)argc;
    (void)argv;
    (void)out;
    rt_error_set(err, "'wafer distill' is not implemented yet");
    return CLI_BAD_INPUT;
}
