/*
 * onnx_internal.h — what the frontend's files share: the loading context, the name map
 * and the conversions between them. Only the frontend sources include it (it pulls in the
 * generated onnx.pb-c.h).
 *
 * Every error goes through onnx_fail(), which puts the model's path in front, so each
 * message reads "model.onnx: node 'conv1' (Conv): ...".
 */
#ifndef WAFER_ONNX_INTERNAL_H
#define WAFER_ONNX_INTERNAL_H

#include "onnx.h"
#include "onnx.pb-c.h"

/* Returns the status of a failed step (the message is already set). */
#define ONNX_TRY(expr) \
    do { int r_ = (expr); if (r_ != RT_OK) return r_; } while (0)

/* Model-wide facts while loading one file. */
typedef struct OnnxCtx {
    const char *path;            /* borrowed: the file, for messages ("<memory>" if none) */
    const char *base_dir;        /* borrowed: folder of external data; NULL refuses it */
    int allow_unknown_ops;       /* from OnnxLoadOptions */
    int64_t ir_version;
    int opset;                   /* default-domain opset */
    const Onnx__ModelProto *model; /* borrowed: for the other domains' opset imports */
    RtError *err;                /* borrowed */
    /* QuantizeLinear nodes without output_dtype whose y_zero_point is a sub-byte constant,
     * with that type (onnx_lowbit_check.c): the conversion gives them the attribute, as the
     * widened zero point no longer says it */
    const Onnx__NodeProto **lowbit_q; /* owned array [n_lowbit_q] of borrowed nodes */
    int *lowbit_q_type;               /* owned [n_lowbit_q]: 21, 22, 25 or 26 */
    int n_lowbit_q;
} OnnxCtx;

/* printf-style; prefixes ctx->path. Returns RT_ERR (or the first error already set). */
int onnx_fail(OnnxCtx *ctx, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Opset version the model imports for a node domain ("" and "ai.onnx" are the default);
 * 0 when the domain is not imported. */
int onnx_domain_opset(const OnnxCtx *ctx, const char *domain);

/* Reads a whole file into malloc'd memory (*len bytes); NULL with a message naming it. */
unsigned char *onnx_file_read(const char *path, size_t *len, RtError *err);

/* ---- name -> value index, open addressing (onnx_names.c) ---- */
typedef struct OnnxNameMap {
    const char **keys;           /* [cap] borrowed (value names in the graph arena), NULL = empty */
    int *vals;                   /* [cap] value indices */
    size_t cap, count;           /* cap is a power of two, kept at least twice count */
} OnnxNameMap;

int onnx_names_put(OnnxNameMap *m, const char *key, int val); /* 0, or -1 out of memory */
int onnx_names_get(const OnnxNameMap *m, const char *key);    /* -1 when absent */
void onnx_names_free(OnnxNameMap *m);

/* ---- tensors (onnx_tensor.c, onnx_external.c) ---- */
/* Where converted tensor data goes: the graph arena while loading, malloc for .pb files. */
typedef struct OnnxAlloc {
    void *(*alloc)(void *user, size_t bytes); /* NULL on failure */
    void *user;
} OnnxAlloc;

/* Converts tp into t (dtype, shape, data from a). `what` names it in messages ("initializer
 * 'w'", "attribute 'value' of node 'c' (Constant)"). Checks dtype, rank, that the element
 * count matches the dims, and resolves external data. */
int onnx_tensor_convert(OnnxCtx *ctx, const Onnx__TensorProto *tp, const char *what,
                        const OnnxAlloc *a, RtTensor *t);
/* Checks tp's external data reference, then reads its `bytes` bytes into *dst (from a). */
int onnx_external_read(OnnxCtx *ctx, const Onnx__TensorProto *tp, const char *what,
                       const OnnxAlloc *a, size_t bytes, void **dst);

/* ---- graphs (onnx_graph.c), attributes (onnx_attr.c), subgraphs (onnx_subgraph.c) ---- */
/* One graph being converted, with the scopes around it. */
typedef struct OnnxScope OnnxScope;
struct OnnxScope {
    IrGraph *g;                  /* borrowed: the graph being built */
    OnnxNameMap names;           /* owned: names defined in this graph */
    OnnxScope *parent;           /* borrowed: enclosing graph's scope, NULL at top level */
    int *captures;               /* [n_captures] owned: local values standing for outer names */
    int n_captures, cap_captures;
};

/* Converts a GraphProto into scope->g (which the caller made, with opset and path set). */
int onnx_graph_convert(OnnxCtx *ctx, const Onnx__GraphProto *gp, OnnxScope *scope);
/* The local value for `name`, capturing it from an enclosing scope when it is defined
 * there; -1 when no scope defines it (or out of memory: ctx->err is set then). */
int onnx_scope_resolve(OnnxCtx *ctx, OnnxScope *s, const char *name);
void onnx_scope_free(OnnxScope *s);
/* Converts np's attributes into attrs[np->n_attribute] (arena), checking each name against
 * the op table. GRAPH attributes are left with g == NULL for onnx_subgraphs_convert. */
int onnx_attrs_convert(OnnxCtx *ctx, const Onnx__NodeProto *np, int op, IrGraph *g,
                       RtAttr *attrs);
/* Builds the subgraph of every GRAPH attribute in attrs (see onnx_subgraph.c for the
 * capture convention) and returns in *extra (malloc'd, *n_extra entries) the values of the
 * enclosing graph to append to the node's inputs. On failure frees what it built. */
int onnx_subgraphs_convert(OnnxCtx *ctx, const Onnx__NodeProto *np, OnnxScope *outer,
                           RtAttr *attrs, int **extra, int *n_extra);
/* The tensor a Constant node makes, converted into g's arena. */
int onnx_constant_convert(OnnxCtx *ctx, const Onnx__NodeProto *np, IrGraph *g, RtTensor **t);
/* Puts gp's nodes (and its subgraphs') in topological order when the file does not
 * (onnx_toposort.c); a cycle is an error. */
int onnx_toposort(OnnxCtx *ctx, Onnx__GraphProto *gp);

/* "node 'name' (Op)" for messages, in a static-free caller buffer. */
const char *onnx_node_desc(const Onnx__NodeProto *np, char *buf, size_t n);

#endif
