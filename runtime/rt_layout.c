/*
 * rt_layout.c — which values a planned run keeps channels-last (rt_plan_fast.h).
 * For now none: every value keeps the layout its dims say.
 */
#include "rt_plan_fast.h"

int rt_layout_choose(const RtGraph *g, const RtPlan *p, RtPlanFast *f, RtError *err) {
    (void)g, (void)p, (void)f, (void)err;
    return RT_OK;
}
