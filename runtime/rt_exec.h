/*
 * rt_exec.h — the reference executor: runs an RtGraph node by node, allocating each
 * value when produced and freeing it after its last use. Output shapes are computed by
 * the kernels at run time, so graphs with dynamic shapes run as they are.
 */
#ifndef WAFER_RT_EXEC_H
#define WAFER_RT_EXEC_H

#include "kernels/kernel.h"

/* Runs one node: checks it has a kernel, calls it, and prefixes any error with the node's
 * name and op. in/out as for kernels. Returns RT_OK, RT_SHAPE_ONLY, RT_SHAPE_UNKNOWN or <0. */
int rt_node_exec(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out);

/* Runs g on inputs[g->n_inputs] (borrowed; dtype and shape as the caller has them).
 * Fills outputs[g->n_outputs] with data from a->alloc (the caller frees with a->free).
 * On failure returns <0 with err set and leaves no allocation behind. */
int rt_graph_run(const RtGraph *g, const RtTensor *inputs, RtTensor *outputs,
                 const RtAllocator *a, RtError *err);

struct RtThreadPool;

/* Called after a node has produced its outputs, once per output slot, before any value is
 * freed (calibration observes activations through it). t is borrowed for the call only. */
typedef void (*RtValueHook)(void *user, int slot, const RtTensor *t);

typedef struct RtRunOptions {
    const RtAllocator *alloc;   /* NULL = rt_allocator_default() */
    struct RtThreadPool *pool;  /* NULL = single-threaded kernels */
    RtValueHook on_value;       /* NULL = none */
    void *hook_user;            /* passed to on_value */
    int ref_only;               /* 1 = reference kernels only (runtime/kernels/ref/) */
    void **node_state;          /* [g->n_nodes] kernels' persistent per-node state (kernel.h),
                                   NULL-initialized by the owner, who frees each non-NULL entry
                                   with alloc->free after the last run; NULL = no caching */
    int64_t *node_ns;           /* [g->n_nodes] or NULL: each node's wall time (ns, monotonic
                                   clock) is added to its entry (wafer bench --profile) */
    const struct RtPlanFast *fast; /* rt_plan_run only, NULL = none: layouts and fusions built
                                   for the plan being run (rt_plan_fast.h); ignored with
                                   ref_only or on_value */
} RtRunOptions;

/* Bit j set when input j of n is a constant of g (kernels may cache what they derive from it). */
uint64_t rt_node_const_inputs(const RtGraph *g, const RtNode *n);
/* Frees every non-NULL entry of node_state[n] with a and clears it. */
void rt_node_state_free(void **node_state, int n, const RtAllocator *a);

/* rt_graph_run with options (o may be NULL). Outputs come from o->alloc. */
int rt_graph_run_opts(const RtGraph *g, const RtTensor *inputs, RtTensor *outputs,
                      const RtRunOptions *o, RtError *err);

/* The executor's RtKernelCtx.run_subgraph: runs g with c's allocator, pool and kernel choice. */
int rt_exec_run_subgraph(RtKernelCtx *c, const RtGraph *g, RtTensor *const *inputs, int n_in,
                         RtTensor *outputs, int n_out);

/* Frees a tensor's data with a (NULL-safe) and clears the pointer. */
void rt_tensor_free(const RtAllocator *a, RtTensor *t);

#endif
