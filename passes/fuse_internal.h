/*
 * fuse_internal.h — what the fusion passes (passes/fuse_*.c) share: pattern-matching
 * questions about values (the one node reading a value, float32 constants, broadcasting as a
 * per-channel vector) and the node edits a fusion makes (change the op, replace inputs, set
 * attributes, take over the output of the node it absorbs).
 *
 * Every fusion follows one shape: node k absorbs the node j that reads k's output, when that
 * output has no other reader and is not a graph output. k then produces j's output value
 * (consumers of j come after j > k, so topological order holds) and j is deleted.
 */
#ifndef WAFER_FUSE_INTERNAL_H
#define WAFER_FUSE_INTERNAL_H

#include "pass_internal.h"

/* Input i of node n as a value index, -1 when absent. */
static inline int fuse_in(const RtNode *n, int i) { return i < n->n_in ? n->in[i] : -1; }

/* The live node that reads v, when exactly one input slot of one live node reads it and v is
 * not a graph output; else -1 (a node reading v twice counts as two readers). */
int fuse_sole_consumer(const IrGraph *g, int v);
/* The live node (not IR_OP_DELETED) producing v; -1 for inputs, constants and v < 0. Passes
 * that delete nodes as they go ask this rather than IrValue.producer, which they leave stale. */
int fuse_producer(const IrGraph *g, int v);
/* v's data when v is a float32 constant, else NULL. */
const RtTensor *fuse_const_f32(const IrGraph *g, int v);
/* 1 when t broadcasts against a tensor of rank `rank` (-1 = unknown) whose last dim is N
 * exactly as a vector [N] would: t has N elements (or 1), every dim but the last is 1, its
 * last dim is N (or 1), and its rank does not exceed `rank` (<= 1 when rank is unknown), so
 * the broadcast leaves the other operand's shape unchanged. */
int fuse_is_channel_vector(const RtTensor *t, int64_t N, int rank);
/* Element c of such a vector (t has 1 or N elements). */
static inline float fuse_channel_at(const RtTensor *t, int64_t c) {
    return ((const float *)t->data)[rt_numel(t) == 1 ? 0 : c];
}
/* A new float32 constant value named after base (made unique); *data receives its arena
 * storage (uninitialized). Returns the value index, or -1 with a message in err. */
int fuse_const_new_f32(IrGraph *g, const char *base, int rank, const int64_t *dims, float **data,
                       RtError *err);
/* The same for any dtype (*data: its arena storage, uninitialized). */
int fuse_const_new(IrGraph *g, const char *base, RtDtype dtype, int rank, const int64_t *dims, void **data,
                   RtError *err);

/* Turns node k into `op` (op_type, domain and opset follow; attributes are kept). */
void fuse_node_set_op(IrGraph *g, int k, int op);
/* Replaces node k's inputs by in[n_in]. */
int fuse_node_set_inputs(IrGraph *g, int k, int n_in, const int *in, RtError *err);
/* Sets attribute `name` of node k (replacing one of that name, else appending). */
int fuse_attr_set_float(IrGraph *g, int k, const char *name, float f, RtError *err);
int fuse_attr_set_int(IrGraph *g, int k, const char *name, int64_t i, RtError *err);
int fuse_attr_set_str(IrGraph *g, int k, const char *name, const char *s, RtError *err);
int fuse_attr_set_ints(IrGraph *g, int k, const char *name, int n, const int64_t *v, RtError *err);
/* Drops every attribute of node k. */
static inline void fuse_attrs_clear(IrGraph *g, int k) {
    g->nodes[k].n_attr = 0;
    g->nodes[k].attrs = NULL;
}
/* Node k absorbs node j (which reads k's output): j is deleted and k's output 0 becomes
 * j's output 0, which keeps its name, shape and consumers. */
void fuse_node_absorb(IrGraph *g, int k, int j);
/* The activation attribute of a FusedConv / Linear ("" when absent). */
const char *fuse_activation_of(const RtNode *n);

#endif
