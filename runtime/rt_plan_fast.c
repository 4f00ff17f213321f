/*
 * rt_plan_fast.c — building and freeing a plan's run-time decisions (rt_plan_fast.h): the
 * tables, then the layout choice (rt_layout.c), then the fusions (rt_fuse.c).
 */
#include <stdlib.h>
#include <string.h>

#include "rt_plan_fast.h"

int rt_plan_fast_build(const RtGraph *g, const RtPlan *p, RtPlanFast *f, RtError *err) {
    memset(f, 0, sizeof *f);
    f->n_values = g->n_values;
    f->n_nodes = g->n_nodes;
    f->nhwc = calloc((size_t)(g->n_values > 0 ? g->n_values : 1), 1);
    f->fuse_head = malloc(sizeof(int) * (size_t)(g->n_nodes > 0 ? g->n_nodes : 1));
    if (!f->nhwc || !f->fuse_head) {
        rt_plan_fast_free(f);
        return rt_error_set(err, "out of memory"), RT_ERR_NOMEM;
    }
    for (int k = 0; k < g->n_nodes; k++) f->fuse_head[k] = -1;
    int r = rt_layout_choose(g, p, f, err);
    if (r == RT_OK) r = rt_fuse_choose(g, p, f, err);
    if (r != RT_OK) rt_plan_fast_free(f);
    return r;
}

void rt_plan_fast_free(RtPlanFast *f) {
    rt_fuse_free(f);
    free(f->nhwc);
    free(f->fuse_head);
    memset(f, 0, sizeof *f);
}
