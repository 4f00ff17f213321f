/*
 * pass_equiv.h — a pass keeps a graph's function: run g on its inputs (in[g->n_inputs]),
 * apply the pass, check the graph, run again, and expect every output to keep its shape and
 * its values within tol of max(1, the output's largest magnitude). For the fusion suites (a
 * rewrite into an op computes the same function in another order of float operations).
 */
#ifndef WAFER_TEST_PASS_EQUIV_H
#define WAFER_TEST_PASS_EQUIV_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "../../ir/ir.h"

#define PASS_EQUIV_MAX_OUT 4

static inline void expect_pass_keeps_outputs(IrGraph *g, const RtTensor *in, int (*pass)(IrGraph *, RtError *),
                                             double tol) {
    RtError e = {{0}};
    RtTensor before[PASS_EQUIV_MAX_OUT], after[PASS_EQUIV_MAX_OUT];
    cr_assert(g->n_outputs <= PASS_EQUIV_MAX_OUT);
    cr_assert_eq(ir_run(g, in, before, &e), RT_OK, "%s", e.msg);
    cr_assert_eq(pass(g, &e), RT_OK, "%s", e.msg);
    cr_assert_eq(ir_verify(g, &e), RT_OK, "%s", e.msg);
    cr_assert_eq(ir_infer_shapes(g, &e), RT_OK, "%s", e.msg);
    cr_assert_eq(ir_run(g, in, after, &e), RT_OK, "%s", e.msg);
    for (int o = 0; o < g->n_outputs; o++) {
        cr_assert(rt_shape_equal(&before[o], &after[o]), "output %d changed shape", o);
        const float *p = before[o].data, *q = after[o].data;
        double big = 0, worst = 0;
        for (int64_t i = 0; i < rt_numel(&before[o]); i++) {
            big = fmax(big, fabs(p[i]));
            worst = fmax(worst, fabs((double)p[i] - q[i]));
        }
        cr_expect(worst <= tol * fmax(big, 1.0), "output %d differs by %g (largest %g)", o, worst, big);
        free(before[o].data);
        free(after[o].data);
    }
}

#endif
