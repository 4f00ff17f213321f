/*
 * cli_io.c — output plumbing for the subcommands: a growable text buffer with JSON string
 * and number helpers, mkdir -p, and the monotonic clock.
 */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

void cli_buf_printf(CliBuf *b, const char *fmt, ...) {
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if (b->s && (size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len <= (size_t)n) cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

void cli_buf_free(CliBuf *b) {
    free(b->s);
    memset(b, 0, sizeof *b);
}

void cli_buf_json_str(CliBuf *b, const char *s) {
    cli_buf_printf(b, "\"");
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            cli_buf_printf(b, "\\%c", *p);
        else if (*p == '\n')
            cli_buf_printf(b, "\\n");
        else if (*p == '\t')
            cli_buf_printf(b, "\\t");
        else if (*p < 0x20)
            cli_buf_printf(b, "\\u%04x", *p);
        else
            cli_buf_printf(b, "%c", *p);
    }
    cli_buf_printf(b, "\"");
}

void cli_buf_json_num(CliBuf *b, double x) {
    if (!isfinite(x))
        cli_buf_printf(b, "null");
    else
        cli_buf_printf(b, "%.10g", x);
}

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
