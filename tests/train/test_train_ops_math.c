/*
 * test_train_ops_math.c — the math ops of train_ops_math.c and train_ops_reduce.c: each in a
 * small graph whose forward must equal the runtime's reference kernels (ir_run, an independent
 * implementation) and whose every parameter gradient must equal central finite differences of
 * L = sum(out * R) (R fixed random weights); the x = 0 limits of Pow, Sqrt and Abs against hand
 * computations, and where ties send Max / Min gradients; the decomposed LayerNorm and Erf-GELU
 * exporters write at opset < 17; and the forms the spec forbids refused by name.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../train/train.h"
#include "../ir/ir_test_util.h"
#include "train_check.h"

/* Forward vs the runtime's kernels: the same float32 math in another summation order. */
#define FWD_TOL 1e-4
/* Hand-computed gradients at the x = 0 limits: exact in float up to one rounding. */
#define HAND_TOL 1e-5

/* Forward vs ir_run, then every parameter's gradient vs finite differences (train_check.h;
 * the inputs keep away from the kinks of Abs, HardSigmoid, HardSwish, Elu, PRelu and from
 * ties of Max / Min by more than FD_EPS); frees g. */
static void check_graph(IrGraph *g) { tc_check_graph(g, NULL, 0, FWD_TOL); }
static int cst(IrGraph *g, const char *name, int rank, const int64_t *dims, uint32_t seed, float lo, float hi) {
    return tc_cst(g, name, rank, dims, seed, lo, hi);
}

static int scalar(IrGraph *g, const char *name, float v) { return tg_const_f32(g, name, 0, NULL, &v); }

static int un(IrGraph *g, int op, const char *name, int x) { return tg_node(g, op, name, 1, &x, name); }
static int bin(IrGraph *g, int op, const char *name, int a, int b) {
    int in[2] = {a, b};
    return tg_node(g, op, name, 2, in, name);
}
/* v[0] + v[1] + ... through a chain of Adds (names s0, s1, ...). */
static int add_all(IrGraph *g, const int *v, int n) {
    int acc = v[0];
    for (int i = 1; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "s%d", i);
        acc = bin(g, RT_OP_ADD, name, acc, v[i]);
    }
    return acc;
}

/* ---- 1. Div, Neg, Abs, Reciprocal, Sqrt, Exp, Log, Pow, Erf ---- */

Test(train_ops_math, unary_math) {
    IrGraph *g = tg_graph(17);
    int64_t d[2] = {2, 5};
    int x = cst(g, "X", 2, d, 1, -2, 2), p = cst(g, "P", 2, d, 2, 0.3f, 2);
    int v[7] = {un(g, RT_OP_NEG, "neg", x),        un(g, RT_OP_ABS, "abs", x),   un(g, RT_OP_EXP, "exp", x),
                un(g, RT_OP_ERF, "erf", x),        un(g, RT_OP_SQRT, "sqrt", p), un(g, RT_OP_LOG, "log", p),
                un(g, RT_OP_RECIPROCAL, "rcp", p)};
    tg_output(g, add_all(g, v, 7));
    check_graph(g);
}

/* Div with numpy broadcasting both ways, by a scalar, and a value divided by itself (both
 * inputs' terms land in one gradient and cancel). */
Test(train_ops_math, div_broadcast) {
    IrGraph *g = tg_graph(14);
    int64_t ad[3] = {2, 3, 4}, bd[2] = {3, 1}, cd[1] = {4};
    int a = cst(g, "A", 3, ad, 1, -1, 1), b = cst(g, "B", 2, bd, 2, 0.5f, 1.5f);
    int q = bin(g, RT_OP_DIV, "div", a, b);
    int r = bin(g, RT_OP_DIV, "div_s", q, cst(g, "S", 0, NULL, 3, 1, 2));
    int c = cst(g, "C", 1, cd, 4, 0.5f, 2);
    int t = bin(g, RT_OP_DIV, "div_c", c, bin(g, RT_OP_ADD, "b2", b, scalar(g, "two", 2.0f))); /* [3,4] */
    int u = bin(g, RT_OP_DIV, "self", c, c);
    int v[3] = {r, t, u};
    tg_output(g, add_all(g, v, 3));
    check_graph(g);
}

/* Pow: a trained exponent (computed from a parameter, so it needs a gradient) broadcast over
 * rows, and constant exponents 2 (negative bases), 3, 0.5 and 0. */
Test(train_ops_math, pow_base_and_exponent) {
    IrGraph *g = tg_graph(15);
    int64_t d[2] = {2, 3}, ed[1] = {3};
    int p = cst(g, "P", 2, d, 1, 0.5f, 2), x = cst(g, "X", 2, d, 2, -1.5f, 1.5f);
    int e = un(g, RT_OP_IDENTITY, "e", cst(g, "E", 1, ed, 3, -1.5f, 2.5f));
    int64_t bd[1] = {3}, fd[2] = {2, 1};
    int pb = cst(g, "Pb", 1, bd, 4, 0.5f, 2), f = un(g, RT_OP_IDENTITY, "f", cst(g, "F", 2, fd, 5, -1, 2));
    int v[6] = {bin(g, RT_OP_POW, "pow_e", p, e), bin(g, RT_OP_POW, "pow_2", x, scalar(g, "two", 2)),
                bin(g, RT_OP_POW, "pow_3", x, scalar(g, "three", 3)), bin(g, RT_OP_POW, "pow_h", p, scalar(g, "half", 0.5f)),
                bin(g, RT_OP_POW, "pow_0", x, scalar(g, "zero", 0)),
                bin(g, RT_OP_POW, "pow_b", pb, f)}; /* base [3] broadcast to [2,3] */
    tg_output(g, add_all(g, v, 6));
    TrainModel m;
    cr_assert_eq(train_model_init(&m, g, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(m.n_params, 5, "P, X, E, Pb and F; the constant exponents are not trained");
    train_model_free(&m);
    check_graph(g);
}

/* The x = 0 limits, by hand (dL/dy = the given weights):
 *   Pow(x, e) at x = [0, 4, -2], e = [2, 0.5, 3]: dx = e x^(e-1) = [0, 0.25, 12];
 *     de = x^e ln x = [0 (x^e ln x -> 0), 2 ln 4, 0 (no derivative for x < 0)];
 *   Sqrt(z) at z = [0, 4] with dL/dy = [0, 1]: dz = [0 (not 0 * inf), 1/4];
 *   Abs(z) at z = [0, 4]: dz = [0, 1]; both add into z's gradient: [0, 1.25]. */
Test(train_ops_math, zero_limits_by_hand) {
    IrGraph *g = tg_graph(17);
    float xv[3] = {0, 4, -2}, ev[3] = {2, 0.5f, 3}, zv[2] = {0, 4};
    int64_t d3[1] = {3}, d2[1] = {2};
    int x = tg_const_f32(g, "X", 1, d3, xv), ec = tg_const_f32(g, "E", 1, d3, ev), z = tg_const_f32(g, "Z", 1, d2, zv);
    int e = un(g, RT_OP_IDENTITY, "e", ec);
    tg_output(g, bin(g, RT_OP_POW, "pow", x, e));
    tg_output(g, un(g, RT_OP_SQRT, "sqrt", z));
    tg_output(g, un(g, RT_OP_ABS, "abs", z));
    TrainModel m;
    cr_assert_eq(train_model_init(&m, g, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(train_model_forward(&m, NULL, &err), RT_OK, "%s", err.msg);
    float one3[3] = {1, 1, 1}, w_sqrt[2] = {0, 1}, one2[2] = {1, 1};
    const float *dout[3] = {one3, w_sqrt, one2};
    cr_assert_eq(train_model_backward(&m, dout, &err), RT_OK, "%s", err.msg);
    const float want_x[3] = {0, 0.25f, 12}, want_e[3] = {0, 2 * logf(4), 0}, want_z[2] = {0, 1.25f};
    for (int i = 0; i < 3; i++) {
        cr_assert(fabsf(m.t[x].dx[i] - want_x[i]) <= HAND_TOL * (1 + fabsf(want_x[i])), "dx[%d] %g", i, m.t[x].dx[i]);
        cr_assert(fabsf(m.t[ec].dx[i] - want_e[i]) <= HAND_TOL * (1 + fabsf(want_e[i])), "de[%d] %g", i, m.t[ec].dx[i]);
    }
    for (int i = 0; i < 2; i++)
        cr_assert(fabsf(m.t[z].dx[i] - want_z[i]) <= HAND_TOL, "dz[%d] %g", i, m.t[z].dx[i]);
    train_model_free(&m);
    ir_graph_free(g);
}

/* ---- 2. Gelu, Softplus, Softsign, HardSigmoid, HardSwish, Elu, Selu, Celu, PRelu ---- */

Test(train_ops_math, activations) {
    IrGraph *g = tg_graph(20);
    int64_t d[2] = {3, 7};
    int x = cst(g, "X", 2, d, 7, -4, 4);
    int v[13];
    v[0] = un(g, RT_OP_GELU, "gelu", x);
    v[1] = un(g, RT_OP_GELU, "gelu_tanh", x);
    tc_attr_str(g, "approximate", "tanh");
    v[2] = un(g, RT_OP_SOFTPLUS, "softplus", x);
    v[3] = un(g, RT_OP_SOFTSIGN, "softsign", x);
    v[4] = un(g, RT_OP_HARD_SIGMOID, "hsig", x);
    tc_attr_float(g, "alpha", 0.3f);
    tc_attr_float(g, "beta", 0.4f);
    v[5] = un(g, RT_OP_HARD_SIGMOID, "hsig_default", x);
    v[6] = un(g, RT_OP_HARD_SWISH, "hswish", x);
    v[7] = un(g, RT_OP_ELU, "elu", x);
    tc_attr_float(g, "alpha", 0.7f);
    v[8] = un(g, RT_OP_SELU, "selu", x);
    v[9] = un(g, RT_OP_SELU, "selu_ag", x);
    tc_attr_float(g, "alpha", 1.5f);
    tc_attr_float(g, "gamma", 0.8f);
    v[10] = un(g, RT_OP_CELU, "celu", x);
    tc_attr_float(g, "alpha", 1.5f);
    v[11] = un(g, RT_OP_ELU, "elu_default", x);
    v[12] = un(g, RT_OP_CELU, "celu_default", x);
    tg_output(g, add_all(g, v, 13));
    check_graph(g);
}

/* PRelu: a per-channel slope [C,1,1] on [N,C,H,W], a one-element slope, and a slope on the last
 * axis: each slope's gradient sums over the axes it was broadcast along. */
Test(train_ops_math, prelu_slopes) {
    IrGraph *g = tg_graph(16);
    int64_t xd[4] = {2, 3, 2, 2}, s1[3] = {3, 1, 1}, s2[1] = {1}, s3[1] = {2};
    int x = cst(g, "X", 4, xd, 1, -1, 1);
    int y = bin(g, RT_OP_PRELU, "prelu_c", x, cst(g, "S1", 3, s1, 2, 0.1f, 0.5f));
    int z = bin(g, RT_OP_PRELU, "prelu_1", bin(g, RT_OP_SUB, "shift", y, scalar(g, "c", 0.05f)),
                cst(g, "S2", 1, s2, 3, 0.2f, 0.4f));
    tg_output(g, bin(g, RT_OP_PRELU, "prelu_w", z, cst(g, "S3", 1, s3, 4, -0.5f, 0.5f)));
    check_graph(g);
}

Test(train_ops_math, gelu_bad_approximate_named) {
    IrGraph *g = tg_graph(20);
    int64_t d[1] = {3};
    int x = cst(g, "X", 1, d, 1, -1, 1);
    tg_output(g, un(g, RT_OP_GELU, "my_gelu", x));
    tc_attr_str(g, "approximate", "erf");
    TrainModel m;
    cr_assert_neq(train_model_init(&m, g, &err), RT_OK);
    cr_assert(strstr(err.msg, "my_gelu") && strstr(err.msg, "approximate"), "%s", err.msg);
    ir_graph_free(g);
}

/* ---- 3. ReduceMean, ReduceSum, ReduceSumSquare, ReduceMax, ReduceMin; Sum, Mean, Max, Min ---- */

typedef struct {
    int opset, op;
    int n_axes;          /* -1: no axes */
    int64_t axes[3];
    int as_input;        /* axes as input 1 (else the attribute) */
    int keepdims;        /* -1: absent (default 1) */
    int noop;            /* noop_with_empty_axes */
} ReduceCase;

static IrGraph *reduce_graph(const ReduceCase *c, const char *name) {
    IrGraph *g = tg_graph(c->opset);
    int64_t xd[3] = {2, 3, 4};
    int in[2] = {cst(g, "X", 3, xd, 11, -2, 2), -1};
    if (c->as_input) in[1] = tg_const_i64(g, "axes", c->n_axes, c->axes);
    tg_output(g, tg_node(g, c->op, name, c->as_input ? 2 : 1, in, "y"));
    if (!c->as_input && c->n_axes >= 0) tg_attr_ints(g, "axes", c->n_axes, c->axes);
    if (c->keepdims >= 0) tc_attr_int(g, "keepdims", c->keepdims);
    if (c->noop) tc_attr_int(g, "noop_with_empty_axes", 1);
    return g;
}

Test(train_ops_math, reductions) {
    const ReduceCase cases[] = {
        {13, RT_OP_REDUCE_MEAN, 2, {1, -1}, 0, -1, 0},
        {18, RT_OP_REDUCE_MEAN, 2, {1, -1}, 1, 0, 0},
        {18, RT_OP_REDUCE_MEAN, -1, {0}, 0, 1, 1},      /* no axes, noop: identity */
        {11, RT_OP_REDUCE_SUM, 1, {0}, 0, 0, 0},
        {13, RT_OP_REDUCE_SUM, 1, {-2}, 1, 1, 0},
        {13, RT_OP_REDUCE_SUM, -1, {0}, 0, 0, 0},       /* everything, to a scalar */
        {13, RT_OP_REDUCE_SUM, 0, {0}, 1, 1, 0},        /* an empty axes input: everything */
        {17, RT_OP_REDUCE_SUM_SQUARE, 2, {0, 2}, 0, 0, 0},
        {18, RT_OP_REDUCE_SUM_SQUARE, 1, {2}, 1, 1, 0},
        {18, RT_OP_REDUCE_SUM_SQUARE, -1, {0}, 0, 0, 1}, /* noop: x^2 */
        {17, RT_OP_REDUCE_MAX, 1, {1}, 0, 1, 0},
        {18, RT_OP_REDUCE_MAX, 1, {-1}, 1, 0, 0},
        {18, RT_OP_REDUCE_MAX, -1, {0}, 0, 1, 0},
        {17, RT_OP_REDUCE_MIN, 2, {0, -1}, 0, 0, 0},
        {18, RT_OP_REDUCE_MIN, 3, {2, 0, 1}, 1, 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "case%zu", i);
        check_graph(reduce_graph(&cases[i], name));
    }
}

/* The axes in a form the node's opset does not have: refused by name at the first forward. */
Test(train_ops_math, reduce_axes_form_by_opset) {
    const ReduceCase bad[] = {
        {18, RT_OP_REDUCE_MEAN, 1, {1}, 0, -1, 0}, /* attribute at 18 */
        {12, RT_OP_REDUCE_SUM, 1, {1}, 1, -1, 0},  /* input before 13 */
        {17, RT_OP_REDUCE_MAX, 1, {1}, 1, -1, 0},  /* input before 18 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        IrGraph *g = reduce_graph(&bad[i], "my_reduce");
        TrainModel m;
        cr_assert_eq(train_model_init(&m, g, &err), RT_OK, "%s", err.msg);
        cr_assert_neq(train_model_forward(&m, NULL, &err), RT_OK, "case %zu", i);
        cr_assert(strstr(err.msg, "my_reduce") && strstr(err.msg, "opset"), "%s", err.msg);
        train_model_free(&m);
        ir_graph_free(g);
    }
}

/* Sum, Mean, Max, Min of three inputs broadcasting to [2,3,4], and Max of one input. The
 * inputs take permuted values of three interleaved grids (A on 0.3 Z, B on 0.3 Z + 0.1, C on
 * 0.3 Z + 0.2), so any two compared values differ by 0.1 or more: no ties within eps. */
Test(train_ops_math, variadic) {
    IrGraph *g = tg_graph(13);
    float av[6], bv[12], cv[4];
    for (int i = 0; i < 6; i++) av[i] = 0.3f * (float)((i * 5) % 6) - 0.9f;
    for (int i = 0; i < 12; i++) bv[i] = 0.3f * (float)((i * 7) % 12) + 0.1f - 1.8f;
    for (int i = 0; i < 4; i++) cv[i] = 0.3f * (float)((i * 3) % 4) + 0.2f - 0.6f;
    int64_t ad[3] = {2, 3, 1}, bd[2] = {3, 4}, cd[1] = {4};
    int in[3] = {tg_const_f32(g, "A", 3, ad, av), tg_const_f32(g, "B", 2, bd, bv), tg_const_f32(g, "C", 1, cd, cv)};
    int v[5] = {tg_node(g, RT_OP_SUM, "sum", 3, in, "sum"), tg_node(g, RT_OP_MEAN, "mean", 3, in, "mean"),
                tg_node(g, RT_OP_MAX, "max", 3, in, "max"), tg_node(g, RT_OP_MIN, "min", 3, in, "min"),
                tg_node(g, RT_OP_MAX, "max1", 1, in, "max1")};
    int w[5];
    for (int i = 0; i < 5; i++) { /* distinct weights so a gradient sent to the wrong term shows */
        char name[16], kname[16];
        snprintf(name, sizeof name, "w%d", i);
        snprintf(kname, sizeof kname, "k%d", i);
        w[i] = bin(g, RT_OP_MUL, name, v[i], scalar(g, kname, 1.0f + 0.5f * (float)i));
    }
    tg_output(g, add_all(g, w, 5));
    check_graph(g);
}

/* The LayerNormalization exporters write at opset < 17 (ReduceMean, Sub, Pow, ReduceMean, Add,
 * Sqrt, Div, Mul, Add) followed by GELU as x * 0.5 * (1 + erf(x / sqrt 2)), at opset 13 (axes
 * attribute) and 18 (axes input). The exponent 2 is not trained; eps, sqrt 2, 1 and 0.5 are
 * initializers and so trained parameters, checked like the rest. */
static void layernorm_gelu(int opset) {
    IrGraph *g = tg_graph(opset);
    int64_t xd[3] = {2, 3, 8}, wd[1] = {8}, last = -1;
    int x = cst(g, "X", 3, xd, 5, -2, 2);
    int ax = opset >= 18 ? tg_const_i64(g, "axes", 1, &last) : -1;
    int in_m[2] = {x, ax};
    int mean = tg_node(g, RT_OP_REDUCE_MEAN, "mean", opset >= 18 ? 2 : 1, in_m, "mean");
    if (opset < 18) tg_attr_ints(g, "axes", 1, &last);
    int d = bin(g, RT_OP_SUB, "d", x, mean);
    int p = bin(g, RT_OP_POW, "p", d, scalar(g, "two", 2));
    int in_v[2] = {p, ax};
    int var = tg_node(g, RT_OP_REDUCE_MEAN, "var", opset >= 18 ? 2 : 1, in_v, "var");
    if (opset < 18) tg_attr_ints(g, "axes", 1, &last);
    int sd = un(g, RT_OP_SQRT, "sd", bin(g, RT_OP_ADD, "ve", var, scalar(g, "eps", 1e-5f)));
    int nrm = bin(g, RT_OP_DIV, "nrm", d, sd);
    int y = bin(g, RT_OP_ADD, "ln", bin(g, RT_OP_MUL, "sc", nrm, cst(g, "gamma", 1, wd, 6, 0.5f, 1.5f)),
                cst(g, "beta", 1, wd, 7, -0.5f, 0.5f));
    int e = un(g, RT_OP_ERF, "erf", bin(g, RT_OP_DIV, "h", y, scalar(g, "sqrt2", 1.41421356f)));
    int t = bin(g, RT_OP_MUL, "t", y, bin(g, RT_OP_ADD, "e1", e, scalar(g, "one", 1)));
    tg_output(g, bin(g, RT_OP_MUL, "gelu", t, scalar(g, "halfc", 0.5f)));
    check_graph(g);
}
Test(train_ops_math, decomposed_layernorm_gelu_opset13) { layernorm_gelu(13); }
Test(train_ops_math, decomposed_layernorm_gelu_opset18) { layernorm_gelu(18); }

/* Ties, by hand: the whole gradient goes to the first extreme. ReduceMax over [1, 3, 3, 2]
 * gives dx = [0, 1, 0, 0]; ReduceMin over [2, 0.5, 0.5] gives [0, 1, 0]; Max(a, b) with
 * a = [1, 2], b = [1, 3] gives da = [1, 0], db = [0, 1]. */
Test(train_ops_math, ties_go_to_the_first) {
    IrGraph *g = tg_graph(18);
    float xv[4] = {1, 3, 3, 2}, zv[3] = {2, 0.5f, 0.5f}, av[2] = {1, 2}, bv[2] = {1, 3};
    int64_t d4[1] = {4}, d3[1] = {3}, d2[1] = {2};
    int x = tg_const_f32(g, "X", 1, d4, xv), z = tg_const_f32(g, "Z", 1, d3, zv);
    int in_ab[2] = {tg_const_f32(g, "A", 1, d2, av), tg_const_f32(g, "B", 1, d2, bv)};
    tg_output(g, un(g, RT_OP_REDUCE_MAX, "rmax", x));
    tg_output(g, un(g, RT_OP_REDUCE_MIN, "rmin", z));
    tg_output(g, tg_node(g, RT_OP_MAX, "max", 2, in_ab, "max"));
    TrainModel m;
    cr_assert_eq(train_model_init(&m, g, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(train_model_forward(&m, NULL, &err), RT_OK, "%s", err.msg);
    float one[2] = {1, 1};
    const float *dout[3] = {one, one, one};
    cr_assert_eq(train_model_backward(&m, dout, &err), RT_OK, "%s", err.msg);
    const float want_x[4] = {0, 1, 0, 0}, want_z[3] = {0, 1, 0}, want_a[2] = {1, 0}, want_b[2] = {0, 1};
    for (int i = 0; i < 4; i++) cr_assert_eq(m.t[x].dx[i], want_x[i], "dx[%d] %g", i, m.t[x].dx[i]);
    for (int i = 0; i < 3; i++) cr_assert_eq(m.t[z].dx[i], want_z[i], "dz[%d] %g", i, m.t[z].dx[i]);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(m.t[in_ab[0]].dx[i], want_a[i], "da[%d] %g", i, m.t[in_ab[0]].dx[i]);
        cr_assert_eq(m.t[in_ab[1]].dx[i], want_b[i], "db[%d] %g", i, m.t[in_ab[1]].dx[i]);
    }
    train_model_free(&m);
    ir_graph_free(g);
}
