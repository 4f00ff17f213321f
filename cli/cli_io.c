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

void cli_buf_json_str(TextBuf *b, const char *s) {
    text_buf_printf(b, "\"");
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            text_buf_printf(b, "\\%c", *p);
        else if (*p == '\n')
            text_buf_printf(b, "\\n");
        else if (*p == '\t')
            text_buf_printf(b, "\\t");
        else if (*p < 0x20)
            text_buf_printf(b, "\\u%04x", *p);
        else
            text_buf_printf(b, "%c", *p);
    }
    text_buf_printf(b, "\"");
}

void cli_buf_json_num(TextBuf *b, double x) {
    if (!isfinite(x))
        text_buf_printf(b, "null");
    else
        text_buf_printf(b, "%.10g", x);
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
