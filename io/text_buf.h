/*
 * text_buf.h — a growable NUL-terminated text buffer written printf-style, for the JSON
 * reports (passes/quantize_report.c, passes/gptq_report.c, the CLI's --json files).
 *
 * An allocation failure sets oom and makes every later call a no-op, so a writer checks once
 * at the end instead of after every append.
 */
#ifndef WAFER_IO_TEXT_BUF_H
#define WAFER_IO_TEXT_BUF_H

#include <stddef.h>

typedef struct TextBuf {
    char *s;            /* owned, NUL-terminated (NULL before the first append) */
    size_t len, cap;
    int oom;            /* 1 once an allocation failed: the text is incomplete */
} TextBuf;

void text_buf_printf(TextBuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* The text (the caller frees it), or NULL after an allocation failure (the buffer is freed). */
char *text_buf_take(TextBuf *b);
void text_buf_free(TextBuf *b);

#endif
