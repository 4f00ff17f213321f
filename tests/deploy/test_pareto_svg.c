/*
 * test_pareto_svg.c — the Pareto front (deploy/pareto.c) on hand-checked points, the SVG
 * plot (deploy/svg_plot.c) checked for well-formed XML by a small checker below (elements
 * nest and close, attributes are quoted, entities are known) with one circle per variant,
 * and the mixed-precision choice (deploy/mixed.c) against a hand-solved knapsack where the
 * greedy rule would be wrong.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <string.h>

#include "../../deploy/deploy.h"

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

/* ---- a tiny XML well-formedness checker: enough of XML 1.0 for what we write ---- */
typedef struct {
    const char *s;
    size_t i;
    char stack[64][64];
    int depth;
    int circles;        /* <circle> elements whose class attribute starts with "variant" */
} Xml;

static int xml_name(Xml *x, char *out) {
    size_t n = 0;
    if (!(isalpha((unsigned char)x->s[x->i]) || x->s[x->i] == '_')) return -1;
    while (isalnum((unsigned char)x->s[x->i]) || strchr("_-.:", x->s[x->i])) {
        if (n < 63) out[n++] = x->s[x->i];
        x->i++;
    }
    out[n] = '\0';
    return 0;
}

static int xml_text(const char *p, size_t n) {
    for (size_t k = 0; k < n; k++) {
        if (p[k] == '<') return -1;
        if (p[k] == '&') {
            const char *ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
            int ok = 0;
            for (int e = 0; e < 5; e++) ok |= strncmp(p + k, ents[e], strlen(ents[e])) == 0;
            if (!ok) return -1;
        }
    }
    return 0;
}

static int xml_check(Xml *x) {
    const char *s = x->s;
    if (strncmp(s, "<?xml", 5) == 0) {
        const char *e = strstr(s, "?>");
        if (!e) return -1;
        x->i = (size_t)(e - s) + 2;
    }
    int seen_root = 0;
    while (s[x->i]) {
        if (s[x->i] != '<') {
            size_t start = x->i;
            while (s[x->i] && s[x->i] != '<') x->i++;
            if (xml_text(s + start, x->i - start)) return -1;
            if (!x->depth) /* only whitespace outside the root */
                for (size_t k = start; k < x->i; k++)
                    if (!isspace((unsigned char)s[k])) return -1;
            continue;
        }
        x->i++;
        char name[64];
        if (s[x->i] == '/') {
            x->i++;
            if (xml_name(x, name) || !x->depth || strcmp(name, x->stack[x->depth - 1]) || s[x->i] != '>') return -1;
            x->depth--;
            x->i++;
            continue;
        }
        if (xml_name(x, name)) return -1;
        if (!x->depth && seen_root) return -1; /* a second root */
        seen_root = 1;
        int variant = 0;
        for (;;) {
            int sp = 0;
            while (isspace((unsigned char)s[x->i])) x->i++, sp = 1;
            if (s[x->i] == '/' && s[x->i + 1] == '>') {
                x->i += 2;
                break;
            }
            if (s[x->i] == '>') {
                x->i++;
                if (x->depth == 64) return -1;
                strcpy(x->stack[x->depth++], name);
                break;
            }
            char attr[64];
            if (!sp || xml_name(x, attr) || s[x->i] != '=' || (s[x->i + 1] != '"' && s[x->i + 1] != '\'')) return -1;
            char q = s[x->i + 1];
            x->i += 2;
            size_t start = x->i;
            while (s[x->i] && s[x->i] != q) x->i++;
            if (!s[x->i] || xml_text(s + start, x->i - start)) return -1;
            if (strcmp(name, "circle") == 0 && strcmp(attr, "class") == 0 && strncmp(s + start, "variant", 7) == 0)
                variant = 1;
            x->i++;
        }
        x->circles += variant;
    }
    return x->depth == 0 && seen_root ? 0 : -1;
}

static int xml_ok(const char *s, int *circles) {
    Xml x;
    memset(&x, 0, sizeof x);
    x.s = s;
    int rc = xml_check(&x);
    *circles = x.circles;
    return rc;
}

Test(svg, checker_rejects_broken_xml) {
    int c;
    cr_expect_eq(xml_ok("<a><b></b></a>", &c), 0);
    cr_expect_neq(xml_ok("<a><b></a></b>", &c), 0);
    cr_expect_neq(xml_ok("<a x=1></a>", &c), 0);
    cr_expect_neq(xml_ok("<a>&</a>", &c), 0);
    cr_expect_neq(xml_ok("<a></a><b/>", &c), 0);
    cr_expect_neq(xml_ok("<a>", &c), 0);
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
