/*
 * test_emit_nolibm.c — emit-c's --no-libm: the own exp/tanh/erf of the kernel templates
 * (codegen/ctemplates/b0_exp.c, b1_tanh.c, b1_erf.c, compiled here as the emitted C
 * compiles them) against libm's double-precision exp/tanh/erf over dense sweeps of their
 * float ranges; and a model of Tanh, Erf, Sigmoid, Exp and Softmax emitted with --no-libm
 * (built in the IR here) that needs no libm symbol and matches the runtime.
 */
#include <stdint.h>

#include "emitc_util.h"

#define WK_NO_LIBM 1
#include "../../codegen/ctemplates/b0_exp.c"
#include "../../codegen/ctemplates/b1_erf.c"
#include "../../codegen/ctemplates/b1_tanh.c"
#include "../../codegen/ctemplates/b0_rsqrt.c"

/* Bounds, from the derivations in the templates' comments plus float rounding:
 * exp: the degree-8 polynomial's truncation (< 2e-9) and a few float roundings: 2 ulps
 * (2^-22). tanh: m / (m + 2) adds two roundings to exp's: 3 ulps. erf below 0.5: the series'
 * truncation (< 1e-8) and Horner's roundings: 3 ulps relative; above, Abramowitz & Stegun
 * 7.1.26's absolute error 1.5e-7 plus float rounding of the polynomial and of exp: 5e-7. */
#define EXP_REL_TOL 2.4e-7
#define TANH_REL_TOL 3.6e-7
#define ERF_SMALL_REL_TOL 3.6e-7
#define ERF_ABS_TOL 5e-7

Test(emit_nolibm, exp_accuracy) {
    double worst = 0;
    float at = 0;
    for (float x = -87.0f; x <= 88.7f; x += 0.000731f) { /* normal results */
        double r = exp((double)x), e = fabs((double)wk_expf(x) - r) / r;
        if (e > worst) worst = e, at = x;
    }
    cr_expect(worst <= EXP_REL_TOL, "exp: relative error %g at x = %.9g", worst, at);
    cr_expect_eq(wk_expf(-INFINITY), 0.0f);
    cr_expect(isinf(wk_expf(100.0f)) && wk_expf(100.0f) > 0);
    cr_expect(isnan(wk_expf(NAN)));
    cr_expect_eq(wk_expf(0.0f), 1.0f);
    /* subnormal results keep their value to the subnormal's own precision */
    cr_expect(fabs((double)wk_expf(-100.0f) - exp(-100.0)) <= 1.5e-45, "exp(-100) = %g", (double)wk_expf(-100.0f));
}

Test(emit_nolibm, tanh_accuracy) {
    double worst = 0;
    float at = 0;
    for (float x = -12.0f; x <= 12.0f; x += 0.0000371f) {
        double r = tanh((double)x), e = r != 0 ? fabs((double)wk_tanhf(x) - r) / fabs(r) : fabs((double)wk_tanhf(x));
        if (e > worst) worst = e, at = x;
    }
    cr_expect(worst <= TANH_REL_TOL, "tanh: relative error %g at x = %.9g", worst, at);
    cr_expect_eq(wk_tanhf(1e-30f), 1e-30f);
    cr_expect_eq(wk_tanhf(50.0f), 1.0f);
    cr_expect_eq(wk_tanhf(-50.0f), -1.0f);
    cr_expect(isnan(wk_tanhf(NAN)));
}

Test(emit_nolibm, erf_accuracy) {
    double worst_rel = 0, worst_abs = 0;
    float at_rel = 0, at_abs = 0;
    for (float x = -6.0f; x <= 6.0f; x += 0.0000371f) {
        double r = erf((double)x), a = wk_erff(x);
        if (fabs(x) < 0.5f) {
            double e = r != 0 ? fabs(a - r) / fabs(r) : fabs(a);
            if (e > worst_rel) worst_rel = e, at_rel = x;
        } else if (fabs(a - r) > worst_abs) {
            worst_abs = fabs(a - r), at_abs = x;
        }
    }
    cr_expect(worst_rel <= ERF_SMALL_REL_TOL, "erf, |x| < 0.5: relative error %g at x = %.9g", worst_rel, at_rel);
    cr_expect(worst_abs <= ERF_ABS_TOL, "erf: absolute error %g at x = %.9g", worst_abs, at_abs);
    cr_expect(isnan(wk_erff(NAN)));
    cr_expect_eq(wk_erff(10.0f), 1.0f);
}

/* rsqrt (LayerNormalization's 1 / sqrt(var + eps)) in double: five Newton steps from a
 * 3.5% guess leave rounding only, a few double ulps. */
#define RSQRT_REL_TOL 1e-15

Test(emit_nolibm, rsqrt_accuracy) {
    double worst = 0, at = 0;
    for (double v = 1e-12; v < 1e12; v *= 1.0137) {
        double r = 1.0 / sqrt(v), e = fabs(wk_rsqrt(v) - r) / r;
        if (e > worst) worst = e, at = v;
    }
    cr_expect(worst <= RSQRT_REL_TOL, "rsqrt: relative error %g at %g", worst, at);
    cr_expect(isinf(wk_rsqrt(0.0)));
    cr_expect(isnan(wk_rsqrt(NAN)));
}

/* y = Softmax(Exp(Sigmoid(Erf(Tanh(x))))) over x [2, 16]. */
static IrGraph *chain_graph(void) {
    IrGraph *g = ir_graph_new();
    cr_assert(g);
    g->opset = 17;
    int64_t d[2] = {2, 16};
    int ops[] = {RT_OP_TANH, RT_OP_ERF, RT_OP_SIGMOID, RT_OP_EXP, RT_OP_SOFTMAX};
    const char *names[] = {"x", "t", "e", "s", "p", "y"};
    int v = -1;
    for (int i = 0; i < 6; i++) {
        int w = ir_value_add(g, names[i]);
        cr_assert(w >= 0);
        ir_value_set_shape(&g->values[w], RT_F32, 2, d);
        if (i == 0) {
            g->inputs = malloc(sizeof(int));
            g->inputs[g->n_inputs++] = w;
        } else {
            cr_assert(ir_node_add(g, ops[i - 1], names[i], 1, &v, 1, &w) >= 0);
        }
        v = w;
    }
    g->outputs = malloc(sizeof(int));
    g->outputs[g->n_outputs++] = v;
    return g;
}

/* Float ops chained through the own approximations against the runtime's libm: each op's
 * error (a few ulps, above) passes through bounded derivatives; 1e-5 of the output's scale. */
#define CHAIN_REL_TOL 1e-5

Test(emit_nolibm, model_without_libm_matches_runtime) {
    char dir[256], log[8192], path[600];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "emitc_nolibm"), 0);
    IrGraph *g = chain_graph();
    RtError err = {{0}};
    EmitCOptions o = {"model", 1, "test", "test", "test"};
    cr_assert_eq(emit_c_write(g, &o, dir, NULL, &err), RT_OK, "%s", err.msg);
    float xs[32];
    for (int i = 0; i < 32; i++) xs[i] = -4.0f + 0.26f * (float)i;
    snprintf(path, sizeof path, "%s/in.bin", dir);
    ecu_raw_write(path, xs, sizeof xs);
    int st = tu_run(log, sizeof log, "gcc -std=c99 -Wall -Wextra -Werror -pedantic -O2 -c %s/model.c -o %s/model.o && nm -u %s/model.o",
                    dir, dir, dir);
    cr_assert_eq(st, 0, "%s", log);
    cr_expect(!strstr(log, "expf") && !strstr(log, "tanhf") && !strstr(log, "erff"), "libm symbols used: %s", log);
    cr_assert_eq(ecu_compile("gcc", "-O2", dir, "h", log, sizeof log), 0, "%s", log);
    st = tu_run(log, sizeof log, "%s/h %s/in.bin %s/y.bin", dir, dir, dir);
    cr_assert_eq(st, 0, "%s", log);
    RtTensor x = {RT_F32, 2, {2, 16}, xs}, y = {0};
    RtRunOptions ro = {0};
    ro.ref_only = 1;
    cr_assert_eq(ir_run_opts(g, &x, &y, &ro, &err), RT_OK, "%s", err.msg);
    snprintf(path, sizeof path, "%s/y.bin", dir);
    size_t n = 0;
    float *c = (float *)tu_file_read(path, &n);
    cr_assert(c && n == sizeof xs);
    double rel = tu_max_rel_diff(c, y.data, 32);
    cr_expect(rel <= CHAIN_REL_TOL, "--no-libm chain vs runtime: relative difference %g", rel);
    free(c);
    /* the same model with libm: it builds as cleanly and agrees as closely */
    EmitCOptions ol = {"model", 0, "test", "test", "test"};
    cr_assert_eq(emit_c_write(g, &ol, dir, NULL, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(ecu_compile("gcc", "-O2", dir, "hl", log, sizeof log), 0, "%s", log);
    cr_assert_eq(log[0], '\0', "%s", log);
    st = tu_run(log, sizeof log, "%s/hl %s/in.bin %s/yl.bin", dir, dir, dir);
    cr_assert_eq(st, 0, "%s", log);
    snprintf(path, sizeof path, "%s/yl.bin", dir);
    c = (float *)tu_file_read(path, &n);
    cr_assert(c && n == sizeof xs);
    rel = tu_max_rel_diff(c, y.data, 32);
    cr_expect(rel <= CHAIN_REL_TOL, "libm chain vs runtime: relative difference %g", rel);
    free(c);
    free(y.data);
    ir_graph_free(g);
    tu_tmpdir_remove(dir);
}
