/*
 * emit_templates.h — the kernel sources `wafer emit-c` copies into the C it writes.
 *
 * They live as plain C99 files in codegen/ctemplates/ (functions on pointers and sizes: no
 * RtTensor, no malloc, no stdio; `bN_*` are helpers, the digit N ordering them so a helper
 * comes after those it calls, `k_*` kernels) and are turned into
 * string literals at build time by codegen/embed_templates.sh (a Makefile rule), so the
 * wafer binary carries them and writes only the ones a model uses.
 */
#ifndef WAFER_EMIT_TEMPLATES_H
#define WAFER_EMIT_TEMPLATES_H

typedef struct {
    const char *name;   /* file name without .c, e.g. "k_conv_f32"; NULL ends the table */
    const char *text;   /* the file's text */
} EmitTemplate;

/* Sorted by file name: helpers (b0_*, b1_*, b2_*) come before the kernels (k_*) that use them. */
extern const EmitTemplate emit_c_templates[];

#endif
