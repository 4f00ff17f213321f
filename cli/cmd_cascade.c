/*
 * cmd_cascade.c — `wafer cascade`: not built yet (issue 10). Until it is, the command says so
 * and exits 2, so scripts see a clear failure instead of a missing command.
 */
#include "cli.h"

int cmd_cascade(int argc, char **argv, FILE *out, RtError *err) {
    (void)argc;
    (void)argv;
    (void)out;
    rt_error_set(err, "'wafer cascade' is not implemented yet");
    return CLI_BAD_INPUT;
}
