/*
 * rt_plan.h — memory planning: every intermediate value of a graph gets a fixed place in one
 * arena, computed once for given input shapes, so a run allocates nothing.
 *
 * Building a plan (rt_plan_build): the kernels run in shape mode over the graph (the same code
 * as execution, see kernel.h) to get every value's dtype and shape; each value produced by a
 * node is live from its producer to its last consumer (graph outputs to the end); values are
 * placed greedily, largest first, at the lowest 64-byte aligned offset that does not overlap a
 * value whose live range meets its own. In place: an elementwise node (rt_plan_inplace_op)
 * whose first input dies at that node and has the output's byte size writes its output over
 * that input (the kernels of those ops read element i before writing element i; Reshape,
 * Flatten, Squeeze and Unsqueeze then copy nothing). Constants
 * and graph inputs are not in the arena (offset -1); neither are values of subgraphs (If
 * branches run through the dynamic executor).
 *
 * A plan is only valid for the input shapes it was built for (rt_plan_matches). A plan read
 * from a file is checked by rt_plan_check before use: every placed value inside the arena,
 * aligned, with room for its planned shape, and no two values with meeting live ranges
 * overlapping (except the in-place pairs above), so a hostile plan cannot make one kernel
 * write over an input it is still reading nor outside the arena.
 */
#ifndef WAFER_RT_PLAN_H
#define WAFER_RT_PLAN_H

#include "rt_exec.h"

#define RT_PLAN_ALIGN 64

typedef struct RtPlan {
    int n_values;          /* = the graph's n_values */
    int64_t arena_bytes;   /* multiple of RT_PLAN_ALIGN */
    int64_t *offset;       /* [n_values] byte offset in the arena, or -1 = not placed */
    int64_t *bytes;        /* [n_values] bytes reserved at offset (0 when not placed) */
    RtTensor *value;       /* [n_values] planned dtype and shape of every value (data NULL) */
} RtPlan;

/* 1 when op writes its output over its first input when the plan allows it. */
int rt_plan_inplace_op(int op);

/* Plans g for inputs of the given dtypes and shapes (inputs[i].data may be NULL; where it is
 * not, shape mode may use it, e.g. for a shape tensor). Returns RT_OK; RT_SHAPE_UNKNOWN when
 * some value's shape depends on input data (the graph must run unplanned); <0 with err. */
int rt_plan_build(const RtGraph *g, const RtTensor *inputs, RtPlan *p, RtError *err);

/* Validates a plan against g (see the header comment). p->value must hold g's value shapes. */
int rt_plan_check(const RtGraph *g, const RtPlan *p, RtError *err);

/* 1 when inputs have exactly the dtypes and shapes the plan was built for. */
int rt_plan_matches(const RtGraph *g, const RtPlan *p, const RtTensor *inputs);

void rt_plan_free(RtPlan *p);

/* Runs g with its values in arena (p->arena_bytes, 64-byte aligned, owned by the caller).
 * outputs[i] are views: into the arena, or a constant's or input's data; valid until the
 * next run on the same arena. Kernels' scratch and subgraph values come from o->alloc.
 * Fails (nothing freed twice, no allocation left) like rt_graph_run_opts. */
int rt_plan_run(const RtGraph *g, const RtPlan *p, void *arena, const RtTensor *inputs,
                RtTensor *outputs, const RtRunOptions *o, RtError *err);

#endif
