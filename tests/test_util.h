/*
 * test_util.h — helpers shared by the end-to-end suites: run the CLI and capture its
 * output and exit status, load .npy files, compare tensors.
 */
#ifndef WAFER_TEST_UTIL_H
#define WAFER_TEST_UTIL_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../io/npy.h"

#ifndef BUILD_DIR
#define BUILD_DIR "build"
#endif
#define WAFER_BIN BUILD_DIR "/wafer"

/* Runs a shell command; stdout+stderr go to out (truncated to n). Returns the exit status,
 * or -1 if the process died of a signal (a crash). */
static inline int tu_run(char *out, size_t n, const char *fmt, ...) {
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char full[4200];
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p) return -2;
    size_t used = 0;
    if (n) out[0] = '\0';
    char buf[4096];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, p)) > 0) {
        if (n && used + 1 < n) {
            size_t take = got < n - 1 - used ? got : n - 1 - used;
            memcpy(out + used, buf, take);
            used += take;
            out[used] = '\0';
        }
    }
    int st = pclose(p);
    if (WIFSIGNALED(st)) return -1;
    if (WIFEXITED(st)) {
        int code = WEXITSTATUS(st);
        return code >= 128 ? -1 : code; /* the shell reports a child's signal as 128+n */
    }
    return -1;
}

/* Largest |a-b| over all elements divided by the largest |b| (the reference's magnitude). */
static inline double tu_max_rel_diff(const float *a, const float *b, long n) {
    double maxdiff = 0, maxmag = 0;
    for (long i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > maxdiff || d != d) maxdiff = d != d ? INFINITY : d;
        if (fabs((double)b[i]) > maxmag) maxmag = fabs((double)b[i]);
    }
    return maxmag > 0 ? maxdiff / maxmag : maxdiff;
}

#endif
