/*
 * cli_io.c — output plumbing for the subcommands: JSON string and number helpers over
 * io/text_buf.h's buffer, mkdir -p, and the monotonic clock.
 */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int cli_dir_make(const char *path, RtError *err) {
    size_t n = strlen(path);
    char *p = malloc(n + 1);
    if (!p) return rt_error_set(err, "%s: out of memory", path);
    memcpy(p, path, n + 1);
    /* Create each prefix ending before a '/', then the whole path. */
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0') continue;
        char c = p[i];
        p[i] = '\0';
        struct stat st;
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            int e = errno;
            rt_error_set(err, "%s: cannot create folder '%s': %s", path, p, strerror(e));
            free(p);
            return RT_ERR;
        }
        if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
            rt_error_set(err, "%s: '%s' exists and is not a folder", path, p);
            free(p);
            return RT_ERR;
        }
        p[i] = c;
    }
    free(p);
    return RT_OK;
}

double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
