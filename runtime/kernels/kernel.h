/*
 * kernel.h — what a kernel sees, and the helpers every kernel uses.
 *
 * A kernel is one function per op:
 *     int k(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out)
 * in[0..n->n_in-1] are the inputs (NULL where an optional input is absent; use rt_in()),
 * out[0..n->n_out-1] are never NULL. A kernel first computes every output's dtype and
 * shape, then allocates the outputs, then computes. The same code is shape inference:
 * when the executor only wants shapes (c->shape_only, or some input's data is unknown)
 * rt_out_alloc() returns RT_SHAPE_ONLY and the kernel returns that at once. A kernel whose
 * output shape depends on an input's values (Reshape's shape, Range's limits) calls
 * RT_NEED_DATA first, which returns RT_SHAPE_UNKNOWN when those values are not known.
 *
 * Errors: return rt_fail(c, "...") with a message naming the input or attribute; the
 * executor adds the node's name and op in front.
 */
#ifndef WAFER_RT_KERNEL_H
#define WAFER_RT_KERNEL_H

#include "../rt_core.h"
#include "../rt_ops.h"

enum { RT_SHAPE_UNKNOWN = 2 }; /* shape mode: output shapes could not be determined */

typedef struct RtKernelCtx RtKernelCtx;
struct RtKernelCtx {
    const RtAllocator *alloc;  /* borrowed: where outputs and scratch come from */
    RtError *err;              /* borrowed: where a failure's message goes */
    int shape_only;            /* 1: compute output shapes (and small data if all inputs known) only */
    /* Runs a subgraph (If branches) with the given inputs; fills outputs (owned by c->alloc). */
    int (*run_subgraph)(RtKernelCtx *c, const RtGraph *g, RtTensor *const *inputs, int n_in,
                        RtTensor *outputs, int n_out);
    struct RtThreadPool *pool; /* borrowed, may be NULL (= one thread); see rt_threads.h */
    int ref_only;              /* 1: run only the reference kernels of runtime/kernels/ref/
                                  (WAFER_RT_REF=1); 0: the optimized kernel where one exists */
    /* Planned execution (rt_plan.h): the running node's outputs whose data the executor has
     * already placed in the arena, with the bytes planned for each. rt_out_alloc_data keeps a
     * planned pointer (no allocation) when the output's computed size fits. n_planned 0 = none. */
    RtTensor *const *planned_out;
    const int64_t *planned_bytes;
    int n_planned;
    /* Persistent state of the running node (e.g. weights packed for the GEMM once, at the first
     * run): when node_state is not NULL, *node_state is what the kernel stored there on an
     * earlier run of this node in the same model (NULL the first time); a kernel may store one
     * block from state_alloc there, which the model's owner frees when the model is closed.
     * Only inputs marked in const_inputs (bit j: input j is a graph constant, the same data on
     * every run) may be cached. node_state NULL = no caching (compute as usual). */
    void **node_state;
    const RtAllocator *state_alloc;
    uint64_t const_inputs;
    /* Channels-last values (rt_plan_fast.h): nhwc_in[j] / nhwc_out[j] 1 when input / output j
     * of the running node holds (input) or must get (output) its data NHWC while its dims say
     * NCHW. NULL = every value as its dims say. Set only for values whose producer and every
     * reader take that layout (the kernels that claim it in rt_layout.c), never with ref_only. */
    const unsigned char *nhwc_in, *nhwc_out;
    /* NULL, or where a kernel that keeps state reports (bit j, rt_const_held) that its node
     * state now holds all it reads of constant input j (weights packed): a later run of the
     * node on inputs of the same shapes does not read in[j]->data, though it may compare the
     * pointer with the one it saw. x86/half_x86.c then drops its widened copy of that input. */
    uint64_t *const_held;
};

typedef int (*RtKernelFn)(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out);

/* A node's state block that holds another block (x86/half_x86.c: the float32 kernel it runs
 * on widened float16 inputs keeps its own state there) starts with this header; the owner's
 * rt_node_state_free frees the inner block too. Every state block is at least 16 bytes, so
 * reading a foreign block's first word is safe. */
#define RT_STATE_NEST_MAGIC 0x5453454e53544157ull /* "WATSNEST" */
typedef struct {
    uint64_t magic; /* RT_STATE_NEST_MAGIC */
    void *inner;    /* owned: the inner kernel's block, or NULL */
    void *extra;    /* owned: a second block of the outer kernel's (freed on its own), or NULL */
} RtStateNest;

/* Reports that the running kernel's state holds constant input j (see const_held). */
static inline void rt_const_held(RtKernelCtx *c, int j) {
    if (c->const_held && j >= 0 && j < 64 && (c->const_inputs >> j & 1u)) *c->const_held |= (uint64_t)1 << j;
}

typedef struct {
    int op;          /* RtOp; -1 ends a table */
    RtKernelFn fn;
} RtKernelEntry;

/* The reference kernel for op (runtime/kernels/ref/), or NULL when wafer has none. */
RtKernelFn rt_kernel_find(int op);
/* The kernel the executor runs for op: the optimized one (runtime/kernels/x86/, which checks
 * the CPU's features itself and hands the cases it does not cover to the reference kernel),
 * else the reference one; NULL when wafer has none. */
RtKernelFn rt_kernel_find_fast(int op);
/* The same without x86/half_x86.c's float16 wrapper: the float32 kernel it runs inside. */
RtKernelFn rt_kernel_find_inner(int op);

/* ---- helpers for kernels ---- */
static inline const RtTensor *rt_in(const RtNode *n, RtTensor *const *in, int i) {
    return (i < n->n_in) ? in[i] : NULL;
}

int rt_fail(RtKernelCtx *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Set an output's dtype and shape (dims copied). */
void rt_out_set_shape(RtTensor *t, RtDtype dtype, int rank, const int64_t *dims);
/* Allocate an output's data for its shape: RT_OK, RT_SHAPE_ONLY, or RT_ERR_NOMEM. */
int rt_out_alloc_data(RtKernelCtx *c, RtTensor *t);
/* Both of the above. */
int rt_out_alloc(RtKernelCtx *c, RtTensor *t, RtDtype dtype, int rank, const int64_t *dims);
/* Scratch memory from c->alloc (free with rt_scratch_free); NULL + message on failure. */
void *rt_scratch(RtKernelCtx *c, size_t bytes);
void rt_scratch_free(RtKernelCtx *c, void *p);

#define RT_TRY(expr) \
    do { int r_ = (expr); if (r_ != RT_OK) return r_; } while (0)
#define RT_NEED_DATA(c, t) \
    do { if ((t) != NULL && (t)->data == NULL) return RT_SHAPE_UNKNOWN; } while (0)

/* Attributes by name, with the spec's default when absent. */
const RtAttr *rt_attr(const RtNode *n, const char *name);
int64_t rt_attr_int(const RtNode *n, const char *name, int64_t def);
float rt_attr_float(const RtNode *n, const char *name, float def);
const char *rt_attr_str(const RtNode *n, const char *name, const char *def);
/* Number of ints (and *v points at them), or -1 when absent. */
int rt_attr_ints(const RtNode *n, const char *name, const int64_t **v);

/* Normalize a possibly negative axis into [0, rank); -1 (after an rt_fail) if out of range. */
int rt_axis(RtKernelCtx *c, int64_t axis, int rank, const char *what);

/* Read element i of any numeric tensor as double / int64 (for shapes, indices, scalars). */
double rt_get_f64(const RtTensor *t, int64_t i);
int64_t rt_get_i64(const RtTensor *t, int64_t i);
/* Store a double into element i of any numeric tensor (casting as C does, bool = x != 0). */
void rt_set_f64(RtTensor *t, int64_t i, double v);
/* Store a double as ONNX Cast does from a float: integers truncate toward zero and saturate
 * at the type's range (NaN -> 0), bool = x != 0, float16/bfloat16 round once from the double. */
void rt_set_f64_sat(RtTensor *t, int64_t i, double v);

/* Numpy broadcasting of two shapes into out (rank = max); RT_ERR with message if incompatible. */
int rt_broadcast_shape(RtKernelCtx *c, int ra, const int64_t *da, int rb, const int64_t *db,
                       int *rank, int64_t *dims);
/* Strides (in elements) to read a tensor of shape (r, d) broadcast to (rank, dims): 0 on
 * broadcast axes. */
void rt_broadcast_strides(int r, const int64_t *d, int rank, const int64_t *dims, int64_t *strides);

#endif
