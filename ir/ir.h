/*
 * ir.h — wafer's intermediate representation: a graph of values and nodes.
 *
 * Values are numbered; nodes refer to them by index. A value has a name, a dtype, a shape
 * whose dims are known numbers or named dynamic dims ("batch"), and optional constant data
 * (initializers and folded results). Nodes are RtNode (runtime/rt_core.h): the same struct
 * the reference executor runs, so executing an IR graph needs no translation of nodes.
 *
 * Memory: everything a graph points to (names, attributes, constant data) comes from the
 * graph's arena and is freed with the graph. Removing nodes or values leaves the arena as
 * it is; ir_graph_compact() renumbers after passes remove things.
 */
#ifndef WAFER_IR_H
#define WAFER_IR_H

#include <stdio.h>

#include "../runtime/rt_core.h"
#include "../runtime/rt_ops.h"

typedef struct IrArena IrArena;

typedef struct IrDim {
    int64_t value;        /* >= 0 when known; -1 when dynamic */
    const char *sym;      /* name of a dynamic dim ("batch"), or NULL when unknown; arena */
} IrDim;

typedef struct IrValue {
    const char *name;     /* arena; unique in the graph */
    RtDtype dtype;        /* RT_UNDEFINED when not yet known */
    int rank;             /* -1 when unknown */
    IrDim dims[RT_MAX_RANK];
    RtTensor *konst;      /* arena: constant data, or NULL for a computed value */
    int producer;         /* index of the node producing it, -1 for inputs and constants */
    int from_constant_node; /* 1: konst came from an ONNX Constant node (a scale, an epsilon the
                               exporter wrote inline), not from an initializer: training keeps it
                               fixed, as the framework that exported it did */
    int lowbit;           /* the ONNX sub-byte type declared for it (uint4 21, int4 22, uint2 25,
                             int2 26), held widened in dtype int8 / uint8; 0 for any other */
} IrValue;

typedef struct IrGraph IrGraph;
struct IrGraph {
    IrArena *arena;       /* owned */
    const char *name;     /* arena */
    IrValue *values;      /* [n_values] owned (realloc'd) */
    int n_values, cap_values;
    RtNode *nodes;        /* [n_nodes] owned (realloc'd), topological order */
    int n_nodes, cap_nodes;
    int *inputs;          /* [n_inputs] owned: value indices the caller binds */
    int n_inputs;
    int *outputs;         /* [n_outputs] owned: value indices returned */
    int n_outputs;
    int opset;            /* default-domain opset version */
    int source_opset;     /* the opset the ONNX file declared (0 if not from one): below 7 the
                             frontend upgrades the nodes and opset becomes 7 (onnx_legacy.c) */
    int64_t ir_version;   /* from the ModelProto */
    const char *producer_name; /* arena, may be "" */
    const char *path;     /* arena: the file it came from, for messages ("" if none) */
    IrGraph *parent;      /* borrowed: enclosing graph for a subgraph, else NULL */
    int n_declared;       /* subgraphs: inputs [0, n_declared) are declared by the subgraph
                             itself, the rest are captures (RtGraph.n_declared) */
    int keep_dequantize;  /* 1: a DequantizeLinear of constants is stored quantized weights
                             (set by the quantize passes and the .wafer reader), so constant
                             folding leaves it: the codes stay codes */
};

/* ---- construction (ir_graph.c) ---- */
IrGraph *ir_graph_new(void);
void ir_graph_free(IrGraph *g);                 /* frees subgraphs reachable from attributes too */
void *ir_alloc(IrGraph *g, size_t bytes);       /* zeroed, 64-byte aligned; NULL on failure */
const char *ir_strdup(IrGraph *g, const char *s);
/* Adds a value (dtype undefined, rank unknown); returns its index or -1 on allocation failure. */
int ir_value_add(IrGraph *g, const char *name);
int ir_value_find(const IrGraph *g, const char *name); /* -1 when absent */
/* A name for a new value of g that no value of g or of the graphs around it (parents) has:
 * "<base>_<what>", else "<base>_<what>_N"; in g's arena; NULL when out of memory or none
 * of 10,000 candidates is free. For passes that rewrite one node into several. */
const char *ir_value_name_fresh(IrGraph *g, const char *base, const char *what);
/* Adds a constant value holding a copy of t's data. */
int ir_const_add(IrGraph *g, const char *name, const RtTensor *t);
/* Makes a tensor whose data lives in the arena (uninitialized data, shape copied). */
RtTensor *ir_tensor_new(IrGraph *g, RtDtype dtype, int rank, const int64_t *dims);
/* Appends a node; inputs/outputs copied into the arena. Returns its index or -1. */
int ir_node_add(IrGraph *g, int op, const char *name, int n_in, const int *in, int n_out,
                const int *out);
/* Sets a value's shape from a concrete tensor shape. */
void ir_value_set_shape(IrValue *v, RtDtype dtype, int rank, const int64_t *dims);
/* Number of nodes reading value v. */
int ir_value_uses(const IrGraph *g, int v);
int ir_value_is_output(const IrGraph *g, int v);
/* Passes mark a node for removal by setting its op to IR_OP_DELETED. */
#define IR_OP_DELETED (-1)
/* Drops nodes marked with op == IR_OP_DELETED and values nothing refers to; renumbers. */
int ir_graph_compact(IrGraph *g, RtError *err);

/* ---- checks, printing, shapes ---- */
/* Structural invariants: indices in range, each value produced once, topological order,
 * inputs defined before use, attributes allowed by the op table. */
int ir_verify(const IrGraph *g, RtError *err);
void ir_print(const IrGraph *g, FILE *f);       /* readable text dump (wafer inspect --ir) */
/* Shape and dtype inference over the whole graph, propagating named dynamic dims. Values
 * whose shape depends on unknown data keep rank -1. Never fails on unknown shapes; fails
 * (RT_ERR) on a contradiction, naming the node. */
int ir_infer_shapes(IrGraph *g, RtError *err);
/* Replaces every dynamic dim of the graph inputs named `sym` (or input i's dims wholesale
 * with ir_bind_input) by a number, so folding can see through shape chains. */
int ir_bind_input(IrGraph *g, int input, int rank, const int64_t *dims, RtError *err);

/* Makes graph input `input` a constant holding a copy of t (its dtype must be the input's,
 * its shape must fit the declared one, as ir_bind_input checks): the input leaves g->inputs,
 * so folding sees through what it fed (a shape, axes, a k). */
int ir_input_freeze(IrGraph *g, int input, const RtTensor *t, RtError *err);

/* ---- execution through the runtime's reference executor (ir_exec.c) ---- */
/* Runs g on inputs[g->n_inputs]; outputs[g->n_outputs] get malloc'd data the caller frees
 * with free(). */
int ir_run(const IrGraph *g, const RtTensor *inputs, RtTensor *outputs, RtError *err);
/* ir_run with runtime options (thread pool, value hook; see runtime/rt_exec.h). opts may be
 * NULL; opts->alloc must be NULL or the default allocator (outputs are freed with free()). */
struct RtRunOptions;
int ir_run_opts(const IrGraph *g, const RtTensor *inputs, RtTensor *outputs,
                const struct RtRunOptions *opts, RtError *err);
/* An executable view of g (and, recursively, its subgraphs); free with ir_lowered_free. */
typedef struct IrLowered IrLowered;
IrLowered *ir_lower(const IrGraph *g, RtError *err);
const RtGraph *ir_lowered_graph(const IrLowered *l);
void ir_lowered_free(IrLowered *l);

#endif
