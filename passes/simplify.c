/*
 * simplify.c — the simplification pipeline: shapes, identity removal, constant folding,
 * dead-node removal and channels-last int8 regions back to channels-first (layout_nchw.c),
 * repeated until a round changes nothing.
 *
 * Requires: a graph that verifies. Provides: shapes inferred (ir_infer_shapes), no Identity or
 * inference Dropout, no foldable node, no dead node; the graph verifies after every pass
 * (ir_verify is cheap next to the passes, so it runs in every build, not only debug).
 * Each round starts with shape inference because folding Shape/Size needs current shapes,
 * and folding can make more shapes known (a Reshape whose target became a constant).
 */
#include "pass_internal.h"

#include <stdio.h>

#define SIMPLIFY_MAX_ROUNDS 32 /* each round removes a node or stops; real graphs need 2-4 */

static int pass_checked(IrGraph *g, PassFn fn, const char *name, int *changed, RtError *err) {
    RT_TRY(fn(g, changed, err));
    if (ir_verify(g, err) != RT_OK) {
        char tmp[sizeof err->msg];
        snprintf(tmp, sizeof tmp, "%s", err->msg);
        snprintf(err->msg, sizeof err->msg, "after %s: %s", name, tmp);
        return RT_ERR;
    }
    return RT_OK;
}

int pass_simplify(IrGraph *g, RtError *err) {
    for (int round = 0; round < SIMPLIFY_MAX_ROUNDS; round++) {
        int changed = 0;
        RT_TRY(ir_infer_shapes(g, err));
        RT_TRY(pass_checked(g, pass_remove_identity_run, "remove_identity", &changed, err));
        RT_TRY(pass_checked(g, pass_fold_constants_run, "fold_constants", &changed, err));
        RT_TRY(pass_checked(g, pass_dead_nodes_run, "dead_nodes", &changed, err));
        RT_TRY(pass_checked(g, pass_layout_nchw_run, "layout_nchw", &changed, err));
        if (!changed) return RT_OK;
    }
    return RT_OK;
}
