/*
 * test_cascade_curve.c — deploy_cascade_curve on a hand-made set of 10 samples where every
 * point of the curve is computed by hand below.
 */
#include <criterion/criterion.h>
#include <math.h>

#include "../../deploy/deploy.h"

/* Values are sums of a few doubles: 1e-12 absolute covers their rounding. */
#define CURVE_TOL 1e-12

Test(cascade_curve, hand_computed_points_and_choice) {
    /* confidences 0.1 .. 1.0; the small model is wrong on the 3 least confident samples, the
     * large model is wrong only on sample 9 (the most confident) */
    double conf[10];
    unsigned char s_ok[10], l_ok[10];
    for (int i = 0; i < 10; i++) {
        conf[i] = 0.1 * (i + 1);
        s_ok[i] = i >= 3;
        l_ok[i] = i != 9;
    }
    double thr[4] = {0.0, 0.25, 0.35, 1.5};
    DeployCascadePoint p[4];
    /* lat small 1 ms, large 10 ms, 3.6 per hour: cost per ms is 1e-6 */
    int best = deploy_cascade_curve(conf, s_ok, l_ok, 10, 1.0, 10.0, 3.6, thr, 4, 0.0, p);
    /* t=0: nothing escalates: 7/10 right, 1 ms */
    cr_expect_float_eq(p[0].accuracy, 0.7, CURVE_TOL);
    cr_expect_float_eq(p[0].escalated, 0.0, CURVE_TOL);
    cr_expect_float_eq(p[0].latency_ms, 1.0, CURVE_TOL);
    cr_expect_float_eq(p[0].cost, 1e-6, CURVE_TOL);
    /* t=0.25: samples 0,1 (0.1, 0.2) escalate: 9/10 right, 1 + 0.2*10 = 3 ms */
    cr_expect_float_eq(p[1].accuracy, 0.9, CURVE_TOL);
    cr_expect_float_eq(p[1].latency_ms, 3.0, CURVE_TOL);
    /* t=0.35: samples 0..2 escalate (0.30000000000000004 < 0.35): all right, 4 ms */
    cr_expect_float_eq(p[2].accuracy, 1.0, CURVE_TOL);
    cr_expect_float_eq(p[2].escalated, 0.3, CURVE_TOL);
    cr_expect_float_eq(p[2].cost_per_correct, 4e-6, CURVE_TOL);
    /* t=1.5: everything escalates: the large model alone, 9/10, 11 ms */
    cr_expect_float_eq(p[3].accuracy, 0.9, CURVE_TOL);
    cr_expect_float_eq(p[3].latency_ms, 11.0, CURVE_TOL);
    cr_expect_float_eq(p[3].cost_per_correct, 11e-6 / 0.9, CURVE_TOL);
    /* max drop 0 from the large model's 0.9: t=0.25 (3 ms) is the cheapest that keeps 0.9 */
    cr_expect_eq(best, 1);
    /* a drop of 0.2 allowed: t=0 (0.7 = 0.9 - 0.2) is cheapest */
    cr_expect_eq(deploy_cascade_curve(conf, s_ok, l_ok, 10, 1.0, 10.0, 3.6, thr, 4, 0.2, p), 0);
}

Test(cascade_curve, none_qualifies) {
    double conf[2] = {0.9, 0.9};
    unsigned char s_ok[2] = {0, 0}, l_ok[2] = {1, 1};
    double thr[1] = {0.5};
    DeployCascadePoint p[1];
    cr_expect_eq(deploy_cascade_curve(conf, s_ok, l_ok, 2, 1, 1, 1, thr, 1, 0.1, p), -1);
}
