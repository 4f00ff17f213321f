/*
 * text_buf.c — see text_buf.h. Appends format into the room left; when it does not fit, the
 * capacity doubles until it does and the append is formatted again.
 */
#include "text_buf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void text_buf_printf(TextBuf *b, const char *fmt, ...) {
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

char *text_buf_take(TextBuf *b) {
    char *s = b->oom ? NULL : b->s;
    if (b->oom) free(b->s);
    memset(b, 0, sizeof *b);
    return s;
}

void text_buf_free(TextBuf *b) {
    free(b->s);
    memset(b, 0, sizeof *b);
}

void text_buf_json_str(TextBuf *b, const char *s) {
    text_buf_printf(b, "\"");
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\') text_buf_printf(b, "\\%c", *p);
        else if (*p == '\n') text_buf_printf(b, "\\n");
        else if (*p == '\t') text_buf_printf(b, "\\t");
        else if (*p < 0x20) text_buf_printf(b, "\\u%04x", *p);
        else text_buf_printf(b, "%c", *p);
    }
    text_buf_printf(b, "\"");
}

void text_buf_json_num(TextBuf *b, double x) {
    if (isfinite(x)) text_buf_printf(b, "%.10g", x);
    else text_buf_printf(b, "null");
}

int text_buf_read_file(TextBuf *b, const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) text_buf_printf(b, "%.*s", (int)got, chunk);
    int bad = ferror(f);
    fclose(f);
    return bad || b->oom ? -2 : 0;
}
