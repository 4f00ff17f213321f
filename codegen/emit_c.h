/*
 * emit_c.h — `wafer emit-c`'s library side: an IR graph with static shapes becomes portable
 * C99 source, NAME.c and NAME.h, for microcontrollers: no malloc, no stdio, weights as
 * static const arrays (flash), every activation in one caller-supplied arena whose size and
 * offsets are planned here.
 *
 * The header declares, exactly so:
 *   NAME_ARENA_BYTES, NAME_NUM_INPUTS, NAME_NUM_OUTPUTS,
 *   NAME_INPUT_i_SIZE / NAME_OUTPUT_i_SIZE (elements; a comment gives name, shape, dtype),
 *   int NAME_run(const void *const inputs[], void *const outputs[], void *arena);  -> 0
 * (plus NAME_ARENA_ALIGN and NAME_INPUT_i_BYTES / NAME_OUTPUT_i_BYTES for convenience).
 * Inputs and outputs are in the model's own dtypes. The source is deterministic: the same
 * graph and options give byte-identical text. For large models the weights may go to a
 * separate NAME_weights.c (compile and link it with NAME.c; its arrays are `const`, so in
 * flash, named NAME_w<index>).
 */
#ifndef WAFER_EMIT_C_H
#define WAFER_EMIT_C_H

#include "../io/text_buf.h"
#include "../ir/ir.h"

typedef struct {
    const char *prefix;       /* C identifier: NAME_run, NAME.c, NAME.h */
    int no_libm;              /* 1: own exp/tanh/erf (no libm calls) */
    const char *source_hash;  /* hex digest of the source model (header comment), may be "" */
    const char *version;      /* wafer's version (header comment) */
    const char *options;      /* the options line (header comment), may be "" */
    int split_weights;        /* 1: the weights go to NAME_weights.c (extern const NAME_wV arrays) */
} EmitCOptions;

typedef struct {
    int64_t arena_bytes;      /* the planned arena */
    int64_t lower_bound;      /* largest sum of bytes of arena tensors live at one node */
    int64_t weight_bytes;     /* bytes of the static const arrays */
    int n_kernels;            /* templates written */
} EmitCStats;

/* Generates the texts (owned by the caller's TextBufs): NAME.c, NAME.h and, with
 * o->split_weights, NAME_weights.c into w_src (otherwise w_src is unused and may be NULL).
 * g's inputs must have static shapes. RT_OK, or an error naming the node and op
 * (RT_ERR_UNSUPPORTED for an op or dtype emit-c has no kernel for). st may be NULL. */
int emit_c_generate(const IrGraph *g, const EmitCOptions *o, TextBuf *c_src, TextBuf *h_src, TextBuf *w_src,
                    EmitCStats *st, RtError *err);

/* emit_c_generate, then DIR/NAME.c, DIR/NAME.h (and DIR/NAME_weights.c) written atomically
 * (nothing written when generation fails). */
int emit_c_write(const IrGraph *g, const EmitCOptions *o, const char *dir, EmitCStats *st, RtError *err);

/* 1 when s is a C identifier ([A-Za-z_][A-Za-z0-9_]*, at most 64 characters). */
int emit_c_prefix_ok(const char *s);

#endif
