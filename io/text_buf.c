/*
 * text_buf.c — see text_buf.h. Appends format into the room left; when it does not fit, the
 * capacity doubles until it does and the append is formatted again.
 */
#include "text_buf.h"

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
