/*
 * rt_fuse.c — which chains of nodes a planned run hands to one kernel (rt_plan_fast.h).
 * For now none: every node runs alone.
 */
#include "rt_plan_fast.h"

int rt_fuse_choose(const RtGraph *g, const RtPlan *p, RtPlanFast *f, RtError *err) {
    (void)g, (void)p, (void)f, (void)err;
    return RT_OK;
}

void rt_fuse_free(RtPlanFast *f) { f->fuse_data = NULL; }

int rt_fuse_run(const RtPlanFast *f, int head, const RtGraph *g, const RtPlan *p, char *arena, RtTensor *slot,
                RtKernelCtx *c) {
    (void)f, (void)g, (void)p, (void)arena, (void)slot;
    return rt_error_set(c->err, "node %d heads no fused chain", head);
}
