/*
 * rt_plan_fast.h — what a planned run decides once per model and plan, for the optimized
 * kernels only: never with the reference kernels (WAFER_RT_REF=1), never when a hook watches
 * every value (RtRunOptions.on_value), so those see exactly the graph's values.
 *
 *  - Layouts (rt_layout.c): a 4-D float value whose producer and every reader can work
 *    channels-last keeps its data NHWC in its planned place (its planned dims stay NCHW, the
 *    byte size is the same), so e.g. a depthwise conv and the pointwise conv after it pass
 *    the tensor on without transposing it twice. A kernel learns it from RtKernelCtx.nhwc_in /
 *    nhwc_out (kernel.h); only values whose producer and readers all claimed the layout are
 *    marked, so a kernel that never looks at those flags never sees NHWC data.
 *  - Fusions (rt_fuse.c): a chain of nodes run by one kernel at the chain's head node (e.g.
 *    attention: Q K^T, scale, mask, Softmax, times V; rt_fuse.c makes the last node the head,
 *    so every input's producer has run), the other nodes skipped. The chain's
 *    inner values are read by nothing outside it and are no graph outputs; its outputs land in
 *    their planned places, so the rest of the plan is unchanged.
 *
 * Both are pure functions of the graph, the plan's shapes and the CPU, built once (the model
 * rebuilds them when its plan changes) and read-only while runs use them.
 */
#ifndef WAFER_RT_PLAN_FAST_H
#define WAFER_RT_PLAN_FAST_H

#include "kernels/kernel.h"
#include "rt_plan.h"

typedef struct RtPlanFast {
    int n_values, n_nodes;
    unsigned char *nhwc;  /* [n_values] 1: the value's data is channels-last (rt_layout.c) */
    int *fuse_head;       /* [n_nodes] -1: node k runs alone; k: node k heads a fused chain
                             (runs it); h != k: node k is in the chain headed by node h
                             (skipped; its time is counted on the head) */
    void *fuse_data;      /* rt_fuse.c's description of its chains (freed by rt_fuse_free) */
} RtPlanFast;

/* Builds f for running g on plan p (f zeroed first; the caller frees it with
 * rt_plan_fast_free). RT_OK, or RT_ERR_NOMEM with the message in err. */
int rt_plan_fast_build(const RtGraph *g, const RtPlan *p, RtPlanFast *f, RtError *err);
void rt_plan_fast_free(RtPlanFast *f);

/* rt_layout.c: marks f->nhwc (all 0 on entry). RT_OK or RT_ERR_NOMEM. */
int rt_layout_choose(const RtGraph *g, const RtPlan *p, RtPlanFast *f, RtError *err);

/* rt_fuse.c: fills f->fuse_head (all -1 on entry) and f->fuse_data. RT_OK or RT_ERR_NOMEM. */
int rt_fuse_choose(const RtGraph *g, const RtPlan *p, RtPlanFast *f, RtError *err);
void rt_fuse_free(RtPlanFast *f);
/* Runs the chain headed by node `head`: reads its inputs from slot[], writes its outputs at
 * their planned places (arena + p->offset[v]) and sets their slot[] entries as the executor
 * does for a node's outputs. c is the executor's context for the head node (allocator, pool,
 * error). RT_OK or an error status with the message set. */
int rt_fuse_run(const RtPlanFast *f, int head, const RtGraph *g, const RtPlan *p, char *arena, RtTensor *slot,
                RtKernelCtx *c);

#endif
