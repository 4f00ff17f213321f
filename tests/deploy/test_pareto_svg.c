/*
 * test_pareto_svg.c — the Pareto front (deploy/pareto.c) on hand-checked points, the SVG
 * plot (deploy/svg_plot.c) checked for well-formed XML by the small checker of xml_check.h
 * with one circle per variant,
 * and the mixed-precision choice (deploy/mixed.c) against a hand-solved knapsack where the
 * greedy rule would be wrong.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <string.h>

#include "../../deploy/deploy.h"
#include "xml_check.h"

Test(pareto, hand_checked_front) {
    /* bytes, accuracy: A(100,.90) B(200,.95) C(200,.93: B dominates) D(400,.95: B dominates)
     * E(50,.80) F(400,.99) */
    double x[6] = {100, 200, 200, 400, 50, 400}, y[6] = {0.90, 0.95, 0.93, 0.95, 0.80, 0.99};
    int f[6];
    deploy_pareto_mark(x, y, 6, 1, f);
    int want[6] = {1, 1, 0, 0, 1, 1};
    for (int i = 0; i < 6; i++) cr_expect_eq(f[i], want[i], "point %d", i);
    /* perplexity: lower is better. (100, 3.0) (200, 2.5) (300, 2.7: dominated by 200) */
    double px[3] = {100, 200, 300}, py[3] = {3.0, 2.5, 2.7};
    deploy_pareto_mark(px, py, 3, 0, f);
    cr_expect(f[0] && f[1] && !f[2]);
}

Test(svg, checker_rejects_broken_xml) {
    int c;
    cr_expect_eq(xml_ok("<a><b></b></a>", &c), 0);
    cr_expect_neq(xml_ok("<a><b></a></b>", &c), 0);
    cr_expect_neq(xml_ok("<a x=1></a>", &c), 0);
    cr_expect_neq(xml_ok("<a>&</a>", &c), 0);
    cr_expect_neq(xml_ok("<a></a><b/>", &c), 0);
    cr_expect_neq(xml_ok("<a>", &c), 0);
    cr_expect_neq(xml_ok("<a", &c), 0);
}

Test(svg, well_formed_with_one_point_per_variant) {
    DeploySvgPoint p[5] = {{4000, 0.99, "int8 <rtn> & co", 1},
                           {2000, 0.985, "int4-gptq", 1},
                           {2000, 0.97, "int4-rtn \"q\"", 0},
                           {1500, 0.9, "int3", 1},
                           {1000, 0.2, "int2", 1}};
    TextBuf b = {0};
    deploy_svg_plot(&b, "digits_cnn: accuracy vs bytes", "weight bytes (log2)", "accuracy", p, 5);
    cr_assert(b.s && !b.oom);
    int circles;
    cr_expect_eq(xml_ok(b.s, &circles), 0, "not well-formed:\n%s", b.s);
    cr_expect_eq(circles, 5, "%d variant circles", circles);
    cr_expect(strstr(b.s, "int8 &lt;rtn&gt; &amp; co"), "labels are escaped");
    cr_expect(strstr(b.s, "class=\"pareto\""), "the front is drawn");
    text_buf_free(&b);
    /* one point and a NaN quality still make a valid plot */
    DeploySvgPoint one[1] = {{100, 0.0 / 0.0, "x", 0}};
    TextBuf c = {0};
    deploy_svg_plot(&c, "t", "x", "y", one, 1);
    cr_expect_eq(xml_ok(c.s, &circles), 0, "%s", c.s);
    cr_expect_eq(circles, 1);
    text_buf_free(&c);
}

Test(mixed, exact_choice_beats_greedy) {
    /* need to save 100 bytes. A saves 100 for loss 0.9 (rate 0.009/byte); B and C save 60
     * each for loss 0.3 (rate 0.005). Greedy takes B then C (loss 0.6, saves 120); the best is
     * also B + C (0.6 < 0.9). Add D: saves 100 for loss 0.5 (rate 0.005, tie with B):
     * the best is D alone (0.5). */
    DeployLayerCost l[4] = {{"A", 200, 100, 0.9}, {"B", 120, 60, 0.3}, {"C", 120, 60, 0.3}, {"D", 200, 100, 0.5}};
    int lower[4];
    RtError err = {{0}};
    /* total 640, budget 540 */
    cr_assert_eq(deploy_mixed_choose(l, 4, 0, 540, lower, &err), RT_OK, "%s", err.msg);
    cr_expect(!lower[0] && !lower[1] && !lower[2] && lower[3], "%d %d %d %d", lower[0], lower[1], lower[2], lower[3]);
    /* budget already met: nothing lowered */
    cr_assert_eq(deploy_mixed_choose(l, 4, 0, 640, lower, &err), RT_OK);
    cr_expect(!lower[0] && !lower[1] && !lower[2] && !lower[3]);
    /* impossible: everything lowered is 320 */
    cr_expect_neq(deploy_mixed_choose(l, 4, 0, 319, lower, &err), RT_OK);
    cr_expect(strstr(err.msg, "320"), "%s", err.msg);
}
