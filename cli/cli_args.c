/*
 * cli_args.c — argument parsing shared by the subcommands: --help detection, options given
 * as "--name VALUE" or "--name=VALUE", checked integer and number values, usage errors.
 */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int cli_wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return 1;
    return 0;
}

int cli_usage_error(RtError *err, const char *cmd, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rt_error_set(err, "%s (see 'wafer %s --help')", msg, cmd);
    return CLI_BAD_INPUT;
}

int cli_opt(int argc, char **argv, int *i, const char *name, const char **val, const char *cmd,
            RtError *err) {
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0) return 0;
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n] != '\0') return 0;
    if (*i + 1 >= argc) {
        cli_usage_error(err, cmd, "option %s needs a value", name);
        return -1;
    }
    *val = argv[++*i];
    return 1;
}

int cli_parse_i64(const char *s, int64_t lo, int64_t hi, const char *opt, const char *cmd,
                  int64_t *v, RtError *err) {
    char *end = NULL;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || x < lo || x > hi)
        return cli_usage_error(err, cmd, "%s expects an integer in [%lld, %lld], got '%s'", opt,
                               (long long)lo, (long long)hi, s);
    *v = (int64_t)x;
    return CLI_OK;
}

int cli_parse_f64(const char *s, const char *opt, const char *cmd, double *v, RtError *err) {
    char *end = NULL;
    errno = 0;
    double x = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(x))
        return cli_usage_error(err, cmd, "%s expects a number, got '%s'", opt, s);
    *v = x;
    return CLI_OK;
}
