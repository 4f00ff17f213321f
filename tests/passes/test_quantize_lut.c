/*
 * test_quantize_lut.c — passes/quantize_lut.c: static int8 quantization turns an element-wise
 * function between two int8 convolutions into a QLut whose 256 entries are
 * Q(f(DQ(c))) — checked here against f written out from the ONNX spec (HardSwish,
 * HardSigmoid, LeakyRelu, Clip, x * c, c + x: float32 arithmetic, every entry exact; Sigmoid,
 * Tanh: libm in double, exact except within TIE_SLACK of a rounding tie), with the scales
 * and zero points the QLut node carries; the int8 graph then has no float node between the
 * convolutions, and its output is within a few output steps of the float graph's.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../calib/calib.h"
#include "../../io/npy.h"
#include "../../passes/passes.h"
#include "../../passes/quantize.h"
#include "../../runtime/kernels/kernel.h"
#include "../ir/ir_test_util.h"

/* Sigmoid and Tanh: the table runs the float32 kernel, this test libm in double; they may
 * round f(v) / y_scale to different sides only when it lies this close to a .5 tie. */
#define TIE_SLACK 1e-4
/* The int8 graph vs the float graph, in units of the output's scale: each of the three
 * quantized steps (conv, f, conv) adds at most half a step of rounding, carried through
 * the second conv's gain. */
#define OUT_STEPS 6.0

static RtError err;

static void ok(int r) { cr_assert_eq(r, RT_OK, "%s", err.msg); }

enum { F_HARDSWISH, F_HARDSIGMOID, F_LEAKY, F_CLIP, F_MULC, F_CADD, F_SIGMOID, F_TANH, F_COUNT };

static const float MULC = 0.75f, CADD = -0.4f, CLIP_LO = -1.0f, CLIP_HI = 2.0f;

/* f as the ONNX spec defines it, in float32 (in double for Sigmoid and Tanh). */
static double f_ref(int f, float v) {
    switch (f) {
    case F_HARDSWISH: return v * fmaxf(0.0f, fminf(1.0f, v / 6.0f + 0.5f));
    case F_HARDSIGMOID: return fmaxf(0.0f, fminf(1.0f, 0.2f * v + 0.5f));
    case F_LEAKY: return v >= 0 ? v : 0.1f * v;
    case F_CLIP: return fminf(fmaxf(v, CLIP_LO), CLIP_HI);
    case F_MULC: return v * MULC;
    case F_CADD: return CADD + v;
    case F_SIGMOID: return 1.0 / (1.0 + exp(-(double)v));
    default: return tanh((double)v);
    }
}

/* x[2, 4, 5, 5] -> Conv(4 -> 6, 1x1) -> f -> Conv(6 -> 3, 1x1) -> y. */
static IrGraph *lut_graph(int f) {
    IrGraph *g = tg_graph(17);
    int64_t xd[4] = {2, 4, 5, 5}, w1d[4] = {6, 4, 1, 1}, w2d[4] = {3, 6, 1, 1};
    static float w1[24], w2[18];
    for (int i = 0; i < 24; i++) w1[i] = 1.5f * sinf((float)(3 * i + 1));
    for (int i = 0; i < 18; i++) w2[i] = cosf((float)(5 * i + 2));
    int x = tg_input(g, "x", RT_F32, 4, xd, NULL);
    int a[2] = {x, tg_const_f32(g, "W1", 4, w1d, w1)};
    int c1 = tg_node(g, RT_OP_CONV, "conv1", 2, a, "c1");
    int h;
    static const float mulc = MULC, cadd = CADD, lo = CLIP_LO, hi = CLIP_HI;
    switch (f) {
    case F_HARDSWISH: h = tg_node(g, RT_OP_HARD_SWISH, "f", 1, &c1, "h"); break;
    case F_HARDSIGMOID: h = tg_node(g, RT_OP_HARD_SIGMOID, "f", 1, &c1, "h"); break; /* alpha 0.2, beta 0.5 */
    case F_LEAKY: {
        h = tg_node(g, RT_OP_LEAKY_RELU, "f", 1, &c1, "h");
        RtAttr *al = tg_attr_add(g, "alpha");
        al->type = RT_ATTR_FLOAT, al->f = 0.1f;
        break;
    }
    case F_CLIP: { /* after a MaxPool 1x1: right after the conv, fuse_activation takes it into QConv's clamp */
        int64_t k1[2] = {1, 1};
        int p = tg_node(g, RT_OP_MAX_POOL, "pool", 1, &c1, "p");
        tg_attr_ints(g, "kernel_shape", 2, k1);
        int in[3] = {p, tg_const_f32(g, "lo", 0, NULL, &lo), tg_const_f32(g, "hi", 0, NULL, &hi)};
        h = tg_node(g, RT_OP_CLIP, "f", 3, in, "h");
        break;
    }
    case F_MULC: {
        int in[2] = {c1, tg_const_f32(g, "c", 0, NULL, &mulc)};
        h = tg_node(g, RT_OP_MUL, "f", 2, in, "h");
        break;
    }
    case F_CADD: {
        int in[2] = {tg_const_f32(g, "c", 0, NULL, &cadd), c1};
        h = tg_node(g, RT_OP_ADD, "f", 2, in, "h");
        break;
    }
    case F_SIGMOID: h = tg_node(g, RT_OP_SIGMOID, "f", 1, &c1, "h"); break;
    default: h = tg_node(g, RT_OP_TANH, "f", 1, &c1, "h"); break;
    }
    int b[2] = {h, tg_const_f32(g, "W2", 4, w2d, w2)};
    tg_output(g, tg_node(g, RT_OP_CONV, "conv2", 2, b, "y"));
    ok(ir_infer_shapes(g, &err));
    return g;
}

static float x_data[200];

static void quantize(IrGraph *g, const char *npy) {
    ok(pass_simplify(g, &err));
    ok(pass_fuse(g, &err));
    const char *names[1] = {"x"}, *paths[1] = {npy};
    CalibDataset *ds = calib_dataset_open(1, names, paths, &err);
    cr_assert_not_null(ds, "%s", err.msg);
    ok(calib_dataset_bind(ds, g, &err));
    QuantOptions o;
    quant_options_default(&o);
    o.act_int8 = 1;
    o.quantize_head = 1;
    o.data = ds;
    ok(pass_quantize_int8(g, &o, NULL, &err));
    calib_dataset_free(ds);
}

static float konst_f32(const IrGraph *g, int v) { return ((const float *)g->values[v].konst->data)[0]; }
static int konst_i8(const IrGraph *g, int v) { return ((const int8_t *)g->values[v].konst->data)[0]; }

Test(quantize_lut, tables_are_q_of_f_of_dq_for_every_code) {
    for (int i = 0; i < 200; i++) x_data[i] = 3.0f * sinf((float)(7 * i + 3)) + 0.5f * cosf((float)i);
    char npy[128];
    snprintf(npy, sizeof npy, "/tmp/wafer_qlut_%d.npy", (int)getpid());
    RtTensor tx = {RT_F32, 4, {2, 4, 5, 5}, x_data};
    ok(npy_write(npy, &tx, &err));
    static const char *names[F_COUNT] = {"HardSwish", "HardSigmoid", "LeakyRelu", "Clip", "Mul", "Add", "Sigmoid", "Tanh"};
    for (int f = 0; f < F_COUNT; f++) {
        IrGraph *ref = lut_graph(f), *g = lut_graph(f);
        ok(pass_simplify(ref, &err));
        quantize(g, npy);
        cr_assert_eq(tg_count_op(g, RT_OP_QLUT), 1, "%s: one QLut", names[f]);
        cr_expect_eq(tg_count_op(g, RT_OP_QCONV), 2, "%s", names[f]);
        cr_expect_eq(g->n_nodes, 5 + (f == F_CLIP), "%s: Q, QConv, (MaxPool,) QLut, QConv, DQ (%d nodes)", names[f],
                     g->n_nodes);
        const RtNode *n = NULL;
        for (int k = 0; k < g->n_nodes; k++)
            if (g->nodes[k].op == RT_OP_QLUT) n = &g->nodes[k];
        cr_expect_str_eq(rt_attr_str(n, "function", ""), names[f]);
        const int8_t *table = g->values[n->in[1]].konst->data;
        float xs = konst_f32(g, n->in[2]), ys = konst_f32(g, n->in[4]);
        int xz = konst_i8(g, n->in[3]), yz = konst_i8(g, n->in[5]);
        int ties = 0;
        for (int c = -128; c < 128; c++) {
            float v = (float)(c - xz) * xs;                   /* DequantizeLinear */
            double q = f_ref(f, v) / ys;
            if (f != F_SIGMOID && f != F_TANH) q = (double)((float)f_ref(f, v) / ys); /* Q's float32 division */
            long want = lrint(q) + yz;                        /* ties to even */
            want = want < -128 ? -128 : want > 127 ? 127 : want;
            int got = table[(uint8_t)c];
            if (got != want && fabs(q - floor(q) - 0.5) < TIE_SLACK && labs(got - want) == 1 && (f == F_SIGMOID || f == F_TANH)) {
                ties++;
                continue;
            }
            cr_expect_eq(got, want, "%s: table[%d] = %d, Q(f(DQ)) = %ld (x %g, f %.9g, f/ys %.6f)", names[f], c, got,
                         want, v, f_ref(f, v), q);
        }
        cr_expect_leq(ties, 2, "%s: %d entries at a tie", names[f], ties);
        /* the int8 graph against the float graph */
        RtTensor y8[1], yf[1];
        RtTensor in = {RT_F32, 4, {2, 4, 5, 5}, x_data};
        ok(ir_run(g, &in, y8, &err));
        ok(ir_run(ref, &in, yf, &err));
        cr_assert(rt_shape_equal(&y8[0], &yf[0]));
        int qv = -1;
        for (int k = 0; k < g->n_nodes; k++)
            if (g->nodes[k].op == RT_OP_DEQUANTIZE_LINEAR) qv = g->nodes[k].in[1];
        double step = konst_f32(g, qv), worst = 0;
        for (int64_t i = 0; i < rt_numel(&yf[0]); i++)
            worst = fmax(worst, fabs(((float *)y8[0].data)[i] - ((float *)yf[0].data)[i]));
        cr_expect_leq(worst, OUT_STEPS * step, "%s: int8 vs float %g (output step %g)", names[f], worst, step);
        free(y8[0].data), free(yf[0].data);
        ir_graph_free(g);
        ir_graph_free(ref);
    }
    unlink(npy);
}

/* A chain x * 0.75 -> + (-0.4) -> HardSwish between the convs (PP-LCNet's scalar affine
 * before its activation) is one QLut of the composition, evaluated in float32 without rounding
 * between the links: every entry is Q(HardSwish(DQ(c) * 0.75 + -0.4)). */
Test(quantize_lut, a_chain_is_one_table_of_the_composition) {
    for (int i = 0; i < 200; i++) x_data[i] = 3.0f * sinf((float)(7 * i + 3)) + 0.5f * cosf((float)i);
    char npy[128];
    snprintf(npy, sizeof npy, "/tmp/wafer_qlutc_%d.npy", (int)getpid());
    RtTensor tx = {RT_F32, 4, {2, 4, 5, 5}, x_data};
    ok(npy_write(npy, &tx, &err));
    IrGraph *g = tg_graph(17);
    int64_t xd[4] = {2, 4, 5, 5}, w1d[4] = {6, 4, 1, 1}, w2d[4] = {3, 6, 1, 1};
    static float w1[24], w2[18];
    static const float mulc = MULC, cadd = CADD;
    for (int i = 0; i < 24; i++) w1[i] = 1.5f * sinf((float)(3 * i + 1));
    for (int i = 0; i < 18; i++) w2[i] = cosf((float)(5 * i + 2));
    int x = tg_input(g, "x", RT_F32, 4, xd, NULL);
    int a[2] = {x, tg_const_f32(g, "W1", 4, w1d, w1)};
    int c1 = tg_node(g, RT_OP_CONV, "conv1", 2, a, "c1");
    int m[2] = {tg_const_f32(g, "k", 0, NULL, &mulc), c1};
    int mv = tg_node(g, RT_OP_MUL, "mul", 2, m, "mv");
    int d[2] = {mv, tg_const_f32(g, "b", 0, NULL, &cadd)};
    int av = tg_node(g, RT_OP_ADD, "add", 2, d, "av");
    int h = tg_node(g, RT_OP_HARD_SWISH, "hswish", 1, &av, "h");
    int b[2] = {h, tg_const_f32(g, "W2", 4, w2d, w2)};
    tg_output(g, tg_node(g, RT_OP_CONV, "conv2", 2, b, "y"));
    ok(ir_infer_shapes(g, &err));
    quantize(g, npy);
    cr_assert_eq(tg_count_op(g, RT_OP_QLUT), 1);
    cr_expect_eq(g->n_nodes, 5, "Q, QConv, QLut, QConv, DQ");
    const RtNode *n = NULL;
    for (int k = 0; k < g->n_nodes; k++)
        if (g->nodes[k].op == RT_OP_QLUT) n = &g->nodes[k];
    cr_expect_str_eq(rt_attr_str(n, "function", ""), "Mul,Add,HardSwish");
    const int8_t *table = g->values[n->in[1]].konst->data;
    float xs = konst_f32(g, n->in[2]), ys = konst_f32(g, n->in[4]);
    int xz = konst_i8(g, n->in[3]), yz = konst_i8(g, n->in[5]);
    for (int c = -128; c < 128; c++) {
        float v = (float)(c - xz) * xs;
        float u = MULC * v;
        u = u + CADD;
        float f = u * fmaxf(0.0f, fminf(1.0f, u / 6.0f + 0.5f));
        long want = lrint((double)(f / ys)) + yz;
        want = want < -128 ? -128 : want > 127 ? 127 : want;
        cr_expect_eq(table[(uint8_t)c], want, "table[%d] = %d, want %ld", c, table[(uint8_t)c], want);
    }
    ir_graph_free(g);
    unlink(npy);
}
