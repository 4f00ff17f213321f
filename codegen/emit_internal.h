/*
 * emit_internal.h — what the parts of emit-c share (private to codegen/): the context of one
 * emission, where each value lives, and the helpers the op emitters call.
 *
 * Where a value lives (EcLoc): a static const array (a constant), the caller's inputs[i] or
 * outputs[i] (graph outputs are written in place, no copy), or an offset in the arena. A
 * Reshape-like node (Flatten, Reshape, Squeeze, Unsqueeze, Identity, Dropout) gives its
 * output the location of its input (alias) unless the output is a graph output.
 */
#ifndef WAFER_EMIT_INTERNAL_H
#define WAFER_EMIT_INTERNAL_H

#include "../runtime/rt_plan.h"
#include "emit_c.h"

#define EC_ALIGN 16 /* arena offsets: 16 bytes, enough for every type the kernels read */

typedef enum { EC_LOC_NONE, EC_LOC_CONST, EC_LOC_INPUT, EC_LOC_OUTPUT, EC_LOC_ARENA } EcLocKind;

typedef struct {
    EcLocKind kind;
    int index;          /* INPUT / OUTPUT: the caller's array index */
    int64_t offset;     /* ARENA: byte offset */
    int alias;          /* value whose buffer this one shares, or -1 */
} EcLoc;

/* emit_control.c: an If as a group of nodes of the flat graph (see there). */
typedef struct {
    const char *name;           /* the If node's name (borrowed), for messages and comments */
    int start;                  /* the Reshape of cond to a scalar */
    int then_end, else_end;     /* then_branch's nodes [start + 1, then_end), else_branch's
                                   [then_end, else_end) */
    int end;                    /* the merges (Where nodes) [else_end, end) */
    int cond;                   /* the scalar condition's value */
} EcIfGroup;

/* emit_control.c: a Scan (opset 9+) as a group of nodes of the flat graph (see there). */
typedef struct {
    const char *name;           /* the Scan node's name (borrowed) */
    int start;                  /* prologue [start, body_start): state copies, slice values */
    int body_start, body_end;   /* the body's nodes, run T times */
    int end;                    /* epilogue [body_end, end): final states, scan outputs */
    int64_t T;                  /* iterations: the scan inputs' length along their axis 0 */
    int N, M, K;                /* states, scan inputs, scan outputs */
    int *v;                     /* owned: flat value indices, in this order: init[N] (the node's
                                   state inputs), S[N] (the body's state inputs: the state
                                   buffers), X[M] (scan inputs), slice[M] (the body's slice
                                   inputs), S_out[N] and out[K] (the body's outputs), final[N]
                                   and Y[K] (the node's outputs, -1 when unused), in_rev[M],
                                   out_rev[K] (1: that direction is reversed) */
} EcScanGroup;

typedef struct {
    IrGraph *g;                 /* owned: the flat graph, NULL when the model has no If / Scan */
    EcIfGroup *groups;          /* [n_groups] owned */
    int n_groups, cap_groups;
    EcScanGroup *scans;         /* [n_scans] owned */
    int n_scans, cap_scans;
    int *live_first, *live_last; /* [g->n_values] owned, or NULL: a value a Scan's iterations
                                   keep (its state buffers and outputs from the loop's start, the
                                   values its body reads from outside to the body's end), -1
                                   where the graph's own order says it all (ec_plan) */
} EcFlat;

typedef struct {
    const IrGraph *g;           /* borrowed */
    const RtTensor *val;        /* [n_values] borrowed: every value's dtype and shape (plan) */
    EcLoc *loc;                 /* [n_values] owned */
    int *uses_const;            /* [n_values] owned: 1 = the array of this constant is emitted */
    int *fused_dq;              /* [n_values] owned: 1 = output of a DequantizeLinear of constants
                                   read only as a Conv's or Linear's weight: the kernel dequantizes
                                   a channel at a time (k_conv_dqw_f32, k_linear_dqw_f32) into
                                   scratch, no float copy of the whole weight in the arena */
    const EmitCOptions *o;      /* borrowed */
    TextBuf decl;               /* per-node constants (geometry, multipliers) */
    TextBuf body;               /* NAME_run's statements */
    int64_t *scratch_bytes;     /* [n_nodes] owned: arena scratch a node's kernel needs (0 = none) */
    int64_t *scratch_off;       /* [n_nodes] owned: its planned offset */
    unsigned char *tpl_used;    /* [templates] owned: 1 = template written */
    int n_tpl;
    int sigmoid;                /* the act helper needs wk_sigmoidf */
    int gelu, gelu_tanh;        /* the act helper needs wk_erff / wk_tanhf (fused Gelu) */
    const char *tpl_missing;    /* a template name not in the table (our bug), or NULL */
    int64_t arena_bytes, lower_bound;
    const unsigned char *half;  /* [n_values] borrowed, or NULL: RT_F16 / RT_BF16 for a value the
                                   model holds in 16 bits and emit-c in float (emit_half.c) */
    const EcFlat *flat;         /* borrowed, or NULL: the If groups of g (emit_control.c) */
    RtError *err;               /* borrowed */
} EcCtx;

/* ---- emit_control.c: If and Scan ---- */
/* f->g = g with every If and Scan (also nested) replaced by its group; f->g NULL when g has
 * neither. Refuses Loop by name. Free with ec_control_free (also after a failure). */
int ec_control_flatten(const IrGraph *g, EcFlat *f, RtError *err);
void ec_control_free(EcFlat *f);
/* RT_OK when both branches of every If give each output one dtype and shape, and every
 * Scan's planned shapes are the ones its loop copies (c->val). */
int ec_control_check(const EcCtx *c, const EcFlat *f);
/* NAME_run's statements for nodes [lo, hi): ec_node_emit and ec_half_round_emit per node,
 * an If group as if / else, a Scan group as a for loop. */
int ec_nodes_emit(EcCtx *c, int lo, int hi);

/* ---- emit_half.c: float16 / bfloat16 models computed in float32 ---- */
typedef struct {
    IrGraph g;                  /* the float32 view (shallow copy of the model's graph) */
    unsigned char *half;        /* [n_values]: RT_F16 / RT_BF16, or 0 */
    void **owned;               /* widened constants and attribute arrays */
    int n_owned;
    int any;                    /* 0: the model has no 16-bit float value (g unused) */
} EcHalf;
/* The float32 view of g, whose planned values are val; h->any = 0 when there is nothing to
 * do. Free with ec_half_free (also after a failure). */
int ec_half_lower(const IrGraph *g, const RtTensor *val, EcHalf *h, RtError *err);
/* RT_OK when the view's plan (after) gives float32 exactly to the 16-bit values and every
 * other value the dtype of the model's plan (before); else an error naming the node. */
int ec_half_check(const EcHalf *h, const RtTensor *before, const RtTensor *after, RtError *err);
void ec_half_free(EcHalf *h);
/* NAME_run's statements: 16-bit graph inputs widened into the arena (before the nodes),
 * node k's 16-bit outputs rounded (after it), graph output i rounded into outputs[i]
 * (returns 1 when it was a 16-bit output and so written). */
void ec_half_inputs_emit(EcCtx *c);
void ec_half_round_emit(EcCtx *c, int k);
int ec_half_output_emit(EcCtx *c, int i);
/* Bytes of value v at the caller's interface (2 per element for a 16-bit value). */
int64_t ec_value_io_bytes(const EcCtx *c, int v);

/* ---- emit_plan.c ---- */
/* 1 when op's output is its input under another shape (alias or copy). */
int ec_is_alias_op(int op);
/* Marks c->fused_dq (see EcCtx) and the scratch their kernels need (one output channel's
 * weights in float). */
void ec_fuse_dq(EcCtx *c);
/* Locations of every value and the arena plan (arena_bytes, lower_bound). */
int ec_plan(EcCtx *c);

/* ---- emit_weights.c ---- */
/* The array definitions of every constant marked in c->uses_const into out; with
 * split_weights they are extern (NAME_wV) and decl gets their declarations. */
int ec_weights_write(EcCtx *c, TextBuf *out, TextBuf *decl, int64_t *bytes);
/* The C name of constant v's array into buf ("w12", or "NAME_w12" when split). */
const char *ec_const_name(const EcCtx *c, int v, char *buf, size_t n);
/* A float as a C99 hex literal with suffix f (exact); infinities as HUGE_VALF. */
void ec_float_lit(char *buf, size_t n, float v);
/* C's name of a dtype's element type ("float", "int8_t", ...), NULL when not emitted. */
const char *ec_ctype(RtDtype t);

/* ---- emit_ops.c and emit_ops_<family>.c ---- */
/* Appends node k's statements (and its per-node constants); RT_ERR_UNSUPPORTED names the op. */
int ec_node_emit(EcCtx *c, int k);

/* One op's emitter: writes node k's call (c->body) and its constants (c->decl). */
typedef int (*EcEmitFn)(EcCtx *c, int k, const RtNode *n);
typedef struct {
    int op;       /* RT_OP_* */
    EcEmitFn fn;  /* NULL ends a table */
} EcOpEntry;
/* The op tables ec_node_emit searches, one per family file. */
extern const EcOpEntry ec_ops_core[];   /* emit_ops.c: conv, linear, pools, quantized ops, basic float */
extern const EcOpEntry ec_ops_qcontrib[]; /* emit_ops_qcontrib.c: onnxruntime's quantized com.microsoft ops */
extern const EcOpEntry ec_ops_math[];   /* emit_ops_math.c: element-wise math, logic, comparisons, casts */
extern const EcOpEntry ec_ops_reduce[]; /* emit_ops_reduce.c: reductions, arg-max/min, normalizations */
extern const EcOpEntry ec_ops_tensor[]; /* emit_ops_tensor.c: data movement, Gemm, ConvTranspose, resize */
extern const EcOpEntry ec_ops_seq[];    /* emit_ops_seq.c: recurrent layers and integer matmul/conv */
extern const EcOpEntry ec_ops_text[];   /* emit_ops_text.c: TfIdfVectorizer */
/* `static const wk_pool3 n<k>_p3` (template b0_pool3): the window geometry of a pool over
 * sp[nsp] spatial sizes and `planes` planes, normalized to 3 axes by the runtime's own
 * rt_geom_read and rt_geom_forward (auto_pad, ceil_mode), so the C walks exactly the
 * runtime's windows (emit_ops.c). */
int ec_pool3_emit(EcCtx *c, int k, const RtNode *n, const int64_t *sp, int nsp, int64_t planes);
/* The same with the window's kernel shape ks[nsp] given (a Conv's, from its weight). */
int ec_window3_emit(EcCtx *c, int k, const RtNode *n, const int64_t *sp, int nsp, int64_t planes, const int64_t *ks);

/* Arena scratch node k's kernel needs (bytes, live during node k only; 0 = none), asked by
 * ec_plan of each family before the arena is planned (c->val holds every shape); the emitter
 * finds it at A + c->scratch_off[k]. One per family file. */
int64_t ec_scratch_math(const EcCtx *c, int k, const RtNode *n);
int64_t ec_scratch_reduce(const EcCtx *c, int k, const RtNode *n);
int64_t ec_scratch_tensor(const EcCtx *c, int k, const RtNode *n);
int64_t ec_scratch_seq(const EcCtx *c, int k, const RtNode *n);

/* ---- emit_c.c helpers for the op emitters ---- */
/* Marks template `name` (and so writes it once). */
void ec_tpl_use(EcCtx *c, const char *name);
/* A C expression for value v's data as a pointer to its element type (const for inputs
 * read), into buf. */
const char *ec_ptr(EcCtx *c, int v, int is_const, char *buf, size_t n);
/* A failure message prefixed with node k's name and op. Returns status. */
int ec_fail(EcCtx *c, int k, int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

#endif
