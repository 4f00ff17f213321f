/*
 * onnx_contrib_internal.h — what the contrib rewrites share (onnx_contrib.c: the driver, the
 * fused ops, GELUs and norms; onnx_contrib_attention.c: Attention, MultiHeadAttention): the
 * node being rewritten and the helpers that read its attributes and append the standard
 * nodes and values that replace it. Frontend-internal.
 *
 * Conventions: a helper making a value or constant returns its index, or -2 when out of
 * memory (so contrib_emit tells it from -1, an absent optional input, and reports it);
 * helpers returning a status give RT_OK, CONTRIB_PENDING (the rewrite needs a rank or dtype
 * that shape inference may still give; nothing was emitted) or an error already set.
 */
#ifndef WAFER_ONNX_CONTRIB_INTERNAL_H
#define WAFER_ONNX_CONTRIB_INTERNAL_H

#include "onnx_contrib.h"

#define CONTRIB_PENDING 1

/* One contrib node being rewritten. */
typedef struct {
    OnnxCtx *ctx;
    IrGraph *g;           /* borrowed: the graph the chain goes into */
    RtNode n;             /* the contrib node (a copy; its arrays live in g's arena) */
    char nd[300];         /* "node 'name' (com.microsoft.Op)" for messages */
    RtDtype dt;           /* float type of the data, for the constants made */
    int final;            /* 1: nothing more to learn; what is unknown is an error */
} ContribLow;

/* ---- messages and the node's attributes / inputs ---- */
int contrib_fail(ContribLow *L, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
int contrib_oom(ContribLow *L);
const RtAttr *contrib_attr(const ContribLow *L, const char *name);
int contrib_int(ContribLow *L, const char *name, int64_t def, int64_t *v);
int contrib_float(ContribLow *L, const char *name, float def, float *v);
/* Every attribute of the node is in `allowed` (comma-separated), else an error naming it. */
int contrib_attrs_check(ContribLow *L, const char *allowed);
int contrib_in(const ContribLow *L, int i);   /* input i, -1 when absent */
int contrib_out(const ContribLow *L, int i);  /* output i, -1 when unused */
/* L->dt from the first input of known float type (float32 on the final try). */
int contrib_dtype(ContribLow *L);
/* The rank of value v; `what` names the need in the final try's error. */
int contrib_rank(ContribLow *L, int v, const char *what, int *rank);

/* ---- new values and nodes ---- */
int contrib_value(ContribLow *L, const char *what);          /* "<output 0>_<what>" */
int contrib_scalar(ContribLow *L, const char *what, double x); /* rank-0 constant of L->dt */
int contrib_ints(ContribLow *L, const char *what, int n, const int64_t *x); /* int64 [n] */
/* op(in) -> out, named "<name>/<suffix>" (the original name when suffix is NULL); the node's
 * index, or -1 with the error set. */
int contrib_emit(ContribLow *L, int op, const char *suffix, int n_in, const int *in, int n_out, const int *out);
int contrib_emit1(ContribLow *L, int op, const char *suffix, int x, int y);
int contrib_emit2(ContribLow *L, int op, const char *suffix, int a, int b, int y);
RtAttr *contrib_attr_push(ContribLow *L, int k, const char *name, RtAttrType type);
int contrib_set_int(ContribLow *L, int k, const char *name, int64_t v);
int contrib_set_float(ContribLow *L, int k, const char *name, float v);
int contrib_set_ints(ContribLow *L, int k, const char *name, int n, const int64_t *v);

/* LayerNorm of x over the last axis with gamma, beta (-1: none) -> y; mean and inv_std
 * outputs when >= 0 (LayerNormalization from opset 17, else the primitive chain). */
int contrib_layer_norm_emit(ContribLow *L, int x, int gamma, int beta, float eps, int y, int mean, int inv);

/* ---- onnx_contrib_attention.c ---- */
int contrib_lower_attention(ContribLow *L);
int contrib_lower_multi_head_attention(ContribLow *L);
int contrib_lower_embed_layer_norm(ContribLow *L);

/* ---- onnx_contrib_gqa.c ---- */
int contrib_lower_rotary_embedding(ContribLow *L);
int contrib_lower_group_query_attention(ContribLow *L);

#endif
