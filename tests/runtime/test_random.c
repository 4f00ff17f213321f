/*
 * test_random.c — RandomUniform(Like), RandomNormal(Like) and Bernoulli
 * (runtime/kernels/ref/random.c). Their values are random, so the checks are the spec's
 * distributions (sample moments within 5 standard errors of the exact ones: a false failure
 * has odds below 1e-6 per check), shapes and dtypes, a seed giving the same values on every
 * run, no seed giving new ones, and the compiler leaving the generators unfolded.
 */
#include "../../frontend/onnx.h"
#include "../../passes/passes.h"
#include "ort18.h"

TestSuite(random, .fini = pb_release_all);

static void moments(const RtTensor *t, double *mean, double *var, double *lo, double *hi) {
    int64_t n = rt_numel(t);
    double s = 0, s2 = 0;
    *lo = INFINITY, *hi = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        double v = t->dtype == RT_F64 ? ((double *)t->data)[i] : ((float *)t->data)[i];
        s += v;
        s2 += v * v;
        if (v < *lo) *lo = v;
        if (v > *hi) *hi = v;
    }
    *mean = s / (double)n;
    *var = s2 / (double)n - *mean * *mean;
}

Test(random, uniform_range_mean_variance) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t sh[2] = {100, 100};
    o18_af(o18_af(o18_af(o18_aints(o18_node(g, "RandomUniform", "", "y"), "shape", 2, sh), "low", -2), "high", 3),
           "seed", 1.5f);
    o18_out(g, "y", RT_F32);
    RtTensor y;
    o18_wafer_run("rnd_u", g, 18, NULL, 0, "y", &y);
    cr_assert_eq(y.dtype, RT_F32);
    cr_assert(y.rank == 2 && y.dims[0] == 100 && y.dims[1] == 100);
    double m, v, lo, hi;
    moments(&y, &m, &v, &lo, &hi);
    /* U[-2, 3): mean 0.5, variance 25/12; standard errors over 1e4 samples: sqrt(25/12/1e4) =
     * 0.0144 for the mean, sqrt((625/80 - (25/12)^2) / 1e4) = 0.0186 for the variance */
    cr_expect(lo >= -2 && hi < 3, "range [%g, %g]", lo, hi);
    cr_expect(fabs(m - 0.5) < 5 * 0.0144, "mean %g", m);
    cr_expect(fabs(v - 25.0 / 12) < 5 * 0.0186, "variance %g", v);
    free(y.data);
}

Test(random, normal_double_mean_variance) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t sh[3] = {10, 40, 25};
    Onnx__NodeProto *nd = o18_aints(o18_node(g, "RandomNormal", "", "y"), "shape", 3, sh);
    o18_ai(o18_af(o18_af(nd, "mean", 1), "scale", 2), "dtype", RT_F64);
    o18_out(g, "y", RT_F64);
    RtTensor y;
    o18_wafer_run("rnd_n", g, 18, NULL, 0, "y", &y);
    cr_assert_eq(y.dtype, RT_F64);
    cr_assert(y.rank == 3 && y.dims[0] == 10 && y.dims[1] == 40 && y.dims[2] == 25);
    double m, v, lo, hi;
    moments(&y, &m, &v, &lo, &hi);
    /* N(1, 4): standard errors sqrt(4 / 1e4) = 0.02 (mean), sqrt(2 * 16 / 1e4) = 0.0566 (variance) */
    cr_expect(fabs(m - 1) < 5 * 0.02, "mean %g", m);
    cr_expect(fabs(v - 4) < 5 * 0.0566, "variance %g", v);
    free(y.data);
}

Test(random, like_ops_take_input_shape_and_dtype) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[1];
    int n = 0;
    static double x[12];
    o18_in_typed(g, ins, &n, "x", RT_F64, "3,4", x);
    o18_node(g, "RandomNormalLike", "x", "a");
    o18_ai(o18_node(g, "RandomUniformLike", "x", "b"), "dtype", RT_F32);
    o18_out(g, "a", RT_F64);
    o18_out(g, "b", RT_F32);
    RtTensor a, b;
    o18_wafer_run("rnd_like_a", g, 18, ins, n, "a", &a);
    o18_wafer_run("rnd_like_b", g, 18, ins, n, "b", &b);
    cr_expect(a.dtype == RT_F64 && a.rank == 2 && a.dims[0] == 3 && a.dims[1] == 4);
    cr_expect(b.dtype == RT_F32 && b.rank == 2 && b.dims[0] == 3 && b.dims[1] == 4);
    for (int i = 0; i < 12; i++) cr_expect(((float *)b.data)[i] >= 0 && ((float *)b.data)[i] < 1);
    free(a.data);
    free(b.data);
}

Test(random, bernoulli_probabilities_0_1_and_03) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[1];
    int n = 0;
    static float p[10000];
    for (int i = 0; i < 10000; i++) p[i] = i < 100 ? 0.0f : i < 200 ? 1.0f : 0.3f;
    o18_in_typed(g, ins, &n, "p", RT_F32, "10000", p);
    o18_ai(o18_node(g, "Bernoulli", "p", "y"), "dtype", RT_BOOL);
    o18_node(g, "Bernoulli", "p", "z"); /* dtype of the input */
    o18_out(g, "y", RT_BOOL);
    o18_out(g, "z", RT_F32);
    RtTensor y, z;
    o18_wafer_run("rnd_b", g, 18, ins, n, "y", &y);
    o18_wafer_run("rnd_bz", g, 18, ins, n, "z", &z);
    cr_assert_eq(y.dtype, RT_BOOL);
    cr_assert_eq(z.dtype, RT_F32);
    const uint8_t *yb = y.data;
    int ones = 0;
    for (int i = 0; i < 200; i++) cr_expect_eq(yb[i], i >= 100, "p = %g gave %d", p[i], yb[i]);
    for (int i = 200; i < 10000; i++) ones += yb[i];
    /* 9800 draws of p = 0.3: standard error sqrt(0.21 / 9800) = 0.00463 */
    cr_expect(fabs(ones / 9800.0 - 0.3) < 5 * 0.00463, "frequency %g", ones / 9800.0);
    for (int i = 0; i < 10000; i++) {
        float v = ((float *)z.data)[i];
        cr_expect(v == 0 || v == 1);
    }
    free(y.data);
    free(z.data);
}

/* the same seed repeats its draw on every run; other seeds and no seed do not */
Test(random, seeded_runs_repeat_unseeded_runs_differ) {
    RtTensor r[4];
    for (int i = 0; i < 4; i++) {
        Onnx__GraphProto *g = pb_graph("g");
        int64_t sh[1] = {64};
        Onnx__NodeProto *nd = o18_aints(o18_node(g, "RandomUniform", "", "y"), "shape", 1, sh);
        if (i < 3) o18_af(nd, "seed", i < 2 ? 7.0f : 8.0f); /* runs 0, 1: seed 7; 2: seed 8; 3: none */
        o18_out(g, "y", RT_F32);
        o18_wafer_run("rnd_seed", g, 18, NULL, 0, "y", &r[i]);
    }
    RtTensor r4;
    Onnx__GraphProto *g = pb_graph("g");
    int64_t sh[1] = {64};
    o18_aints(o18_node(g, "RandomUniform", "", "y"), "shape", 1, sh);
    o18_out(g, "y", RT_F32);
    o18_wafer_run("rnd_seed", g, 18, NULL, 0, "y", &r4);
    cr_expect(memcmp(r[0].data, r[1].data, 64 * 4) == 0, "seed 7 twice gave different draws");
    cr_expect(memcmp(r[0].data, r[2].data, 64 * 4) != 0, "seeds 7 and 8 gave the same draw");
    cr_expect(memcmp(r[3].data, r4.data, 64 * 4) != 0, "two unseeded runs gave the same draw");
    for (int i = 0; i < 4; i++) free(r[i].data);
    free(r4.data);
}

/* constant folding (pass_simplify) must leave a generator in the graph */
Test(random, simplify_does_not_fold_generators) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t sh[1] = {8};
    o18_aints(o18_node(g, "RandomNormal", "", "a"), "shape", 1, sh);
    o18_node(g, "Bernoulli", "a", "b");
    o18_node(g, "Relu", "b", "y");
    o18_out(g, "y", RT_F32);
    size_t len;
    uint8_t *m = pb_model_pack(g, 10, 18, "test", &len);
    RtError err = {{0}};
    IrGraph *ir = onnx_load_memory(m, len, NULL, "random.onnx", NULL, &err);
    cr_assert(ir, "%s", err.msg);
    cr_assert_eq(pass_simplify(ir, &err), RT_OK, "%s", err.msg);
    int gens = 0;
    for (int k = 0; k < ir->n_nodes; k++)
        gens += ir->nodes[k].op == RT_OP_RANDOM_NORMAL || ir->nodes[k].op == RT_OP_BERNOULLI;
    cr_expect_eq(gens, 2, "%d of the 2 generators are left after simplify", gens);
    ir_graph_free(ir);
}

/* the generators are opset-1 ops: a model of opset 1 loads (frontend/onnx_legacy.c) and runs */
Test(random, opset1_model_runs) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t sh[2] = {3, 5};
    o18_ai(o18_aints(o18_node(g, "RandomUniform", "", "a"), "shape", 2, sh), "dtype", RT_F64);
    o18_node(g, "RandomNormalLike", "a", "b");
    o18_out(g, "b", RT_F64);
    RtTensor b;
    o18_wafer_run("rnd_op1", g, 1, NULL, 0, "b", &b);
    cr_expect(b.dtype == RT_F64 && b.rank == 2 && b.dims[0] == 3 && b.dims[1] == 5);
    free(b.data);
}
