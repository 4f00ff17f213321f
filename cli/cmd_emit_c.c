/*
 * cmd_emit_c.c — `wafer emit-c`: not built yet (issue 6). Until it is, the command says so
 * and exits 2, so scripts see a clear failure instead of a missing command.
 */
#include "cli.h"

int cmd_emit_c(int argc, char **argv, FILE *out, RtError *err) {
    (void)argc;
    (void)argv;
    (void)out;
    rt_error_set(err, "'wafer emit-c' is not implemented yet");
    return CLI_BAD_INPUT;
}
