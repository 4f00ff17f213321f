/*
 * text_buf.h — a growable NUL-terminated text buffer written printf-style, for the JSON
 * reports (passes/quantize_report.c, passes/gptq_report.c, deploy/registry.c, the CLI's --json
 * files), with the JSON string and number writers they share.
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
/* A JSON string literal of s (NULL writes ""): quotes and backslashes escaped, \n and \t
 * as such, other control bytes as \u00XX; bytes >= 0x80 pass through (UTF-8 stays UTF-8). */
void text_buf_json_str(TextBuf *b, const char *s);
/* A JSON number with 10 significant digits, or null for NaN and infinities (JSON has none). */
void text_buf_json_num(TextBuf *b, double x);
/* Appends the whole file at path (text files: the registry, price series, JSON reports).
 * 0 ok; -1 it cannot be opened (errno says why); -2 a read failed or memory ran out. */
int text_buf_read_file(TextBuf *b, const char *path);
/* The text (the caller frees it), or NULL after an allocation failure (the buffer is freed). */
char *text_buf_take(TextBuf *b);
void text_buf_free(TextBuf *b);

#endif
