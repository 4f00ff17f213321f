/*
 * test_quantize.c — the quantizer's parts on hand-made inputs: weight quantization (per-channel
 * scales, symmetric rounding half to even, an all-zero channel, per-tensor, asymmetric low-bit,
 * blocked groups), QDQ cancellation (a DQ -> Q pair with equal parameters goes, one with
 * different parameters stays, a Q -> DQ round trip between float ops goes unless its DQ output
 * is a graph output), and the exclude / head rules of pass_quantize_int8 (weight-only) on a
 * hand-built chain of MatMuls, whose quantized graph still computes nearly the same thing;
 * static int8 of a Linear with a fused Gelu gives the Gelu back as a node (float between a
 * DQ and a Q): the same graph and the same outputs as quantizing it unfused.
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

/* Weight-only int8 on the chain below: weights in [-1, 1] quantized with steps of at most
 * 1/127, 8-term dot products: each output moves by at most 8 * 0.5/127 * |x| ~ 0.03 absolute
 * for inputs in [-1, 1]; a broken scale or axis moves outputs by O(1). */
#define CHAIN_TOL 0.05

static RtError err;

static void ok(int r) { cr_assert_eq(r, RT_OK, "%s", err.msg); }

static RtTensor tensor_f32(int rank, const int64_t *dims, float *data) {
    RtTensor t;
    memset(&t, 0, sizeof t);
    t.dtype = RT_F32;
    t.rank = rank;
    for (int i = 0; i < rank; i++) t.dims[i] = dims[i];
    t.data = data;
    return t;
}

/* ---- weights ---- */

Test(quantize_weights, per_channel_symmetric_rounding_and_zero_channel) {
    /* W [3, 4], output channels on axis 0. Row 0 has max |w| = 63.5 -> scale 0.5 exactly, so
     * 1.25 / 0.5 = 2.5 and -0.75 / 0.5 = -1.5 are exact ties: half to even gives 2 and -2;
     * 0.25 / 0.5 = 0.5 gives 0. Row 1 is all zero: scale 1, every q 0. Row 2: max 12.7. */
    float w[12] = {63.5f, 1.25f, -0.75f, 0.25f, 0, 0, 0, 0, -12.7f, 6.35f, 0.1f, 0};
    int64_t dims[2] = {3, 4};
    RtTensor t = tensor_f32(2, dims, w);
    QuantWeightSpec s = {8, 1, 0, 0};
    QuantWeight q;
    ok(quant_weight_compute(&t, 0, 1, &s, NULL, &q, &err));
    cr_assert_eq(q.scale.rank, 1);
    cr_assert_eq(q.scale.dims[0], 3);
    cr_assert_eq(q.axis, 0);
    cr_assert_eq(q.block, 0);
    const float *sc = q.scale.data;
    const int8_t *v = q.q.data, *zp = q.zp.data;
    cr_expect_eq(sc[0], 0.5f);
    cr_expect_eq(sc[1], 1.0f, "an all-zero channel gets scale 1, got %g", sc[1]);
    cr_expect_float_eq(sc[2], 12.7f / 127, 1e-9);
    int8_t want[12] = {127, 2, -2, 0, 0, 0, 0, 0, -127, 64, 1, 0};
    /* 6.35 / 0.1 = 63.5 in float32 rounds to 63.499996 or 63.500004: compute what float gives */
    want[9] = (int8_t)nearbyintf(6.35f / sc[2]);
    for (int i = 0; i < 12; i++) cr_expect_eq(v[i], want[i], "q[%d] = %d, want %d", i, v[i], want[i]);
    for (int c = 0; c < 3; c++) cr_expect_eq(zp[c], 0);
    cr_expect_eq(q.wmin, -12.7f);
    cr_expect_eq(q.wmax, 63.5f);
    quant_weight_free(&q);
}

Test(quantize_weights, per_channel_on_last_axis_and_per_tensor) {
    /* Linear's W [K=2, N=3]: channels on axis 1. */
    float w[6] = {1.27f, -2.54f, 0, -0.635f, 1.0f, 0};
    int64_t dims[2] = {2, 3};
    RtTensor t = tensor_f32(2, dims, w);
    QuantWeightSpec s = {8, 1, 0, 0};
    QuantWeight q;
    ok(quant_weight_compute(&t, 1, 0, &s, NULL, &q, &err));
    const float *sc = q.scale.data;
    cr_expect_float_eq(sc[0], 1.27f / 127, 1e-9);
    cr_expect_float_eq(sc[1], 2.54f / 127, 1e-9);
    cr_expect_eq(sc[2], 1.0f);
    cr_expect_eq(((int8_t *)q.q.data)[0], 127);
    cr_expect_eq(((int8_t *)q.q.data)[1], -127);
    quant_weight_free(&q);
    s.per_tensor = 1;
    ok(quant_weight_compute(&t, 1, 0, &s, NULL, &q, &err));
    cr_expect_eq(q.scale.rank, 0);
    cr_expect_float_eq(((float *)q.scale.data)[0], 2.54f / 127, 1e-9);
    cr_expect_eq(((int8_t *)q.q.data)[0], 64, "1.27 / 0.02 = 63.5 -> 64 (float32 quotient %g)", 1.27f / (2.54f / 127));
    quant_weight_free(&q);
}

Test(quantize_weights, asymmetric_low_bit_and_two_bit) {
    /* 4-bit asymmetric: range [0, 1.5] -> scale 1.5/15 = 0.1, zp = -8 - 0/0.1 = -8; q in [-8, 7]. */
    float w[4] = {0, 1.5f, 0.75f, 0.3f};
    int64_t dims[2] = {1, 4};
    RtTensor t = tensor_f32(2, dims, w);
    QuantWeightSpec s = {4, 0, 0, 0};
    QuantWeight q;
    ok(quant_weight_compute(&t, 0, 1, &s, NULL, &q, &err));
    cr_expect_float_eq(((float *)q.scale.data)[0], 0.1f, 1e-7);
    cr_expect_eq(((int8_t *)q.zp.data)[0], -8);
    const int8_t *v = q.q.data;
    cr_expect_eq(v[0], -8);
    cr_expect_eq(v[1], 7);
    cr_expect_eq(v[2], 0, "0.75 / 0.1 = 7.5 rounds to even 8, minus 8 -> 0; got %d", v[2]);
    cr_expect_eq(v[3], -5);
    quant_weight_free(&q);
    /* 2-bit symmetric, GPTQ's grid: levels {-2, -1, 0, 1}, scale = 2 max|w| / 3 = 4/3;
     * -2 / (4/3) = -1.5 is a tie (to even: -2), 0.9 -> 0.675 -> 1, 1.1 -> 0.825 -> 1. */
    float w2[4] = {-2.0f, 0.9f, 1.1f, 0.2f};
    t = tensor_f32(2, dims, w2);
    QuantWeightSpec s2 = {2, 1, 0, 0};
    ok(quant_weight_compute(&t, 0, 1, &s2, NULL, &q, &err));
    cr_expect_float_eq(((float *)q.scale.data)[0], 4.0f / 3, 1e-7);
    int8_t want[4] = {-2, 1, 1, 0};
    for (int i = 0; i < 4; i++) cr_expect_eq(((int8_t *)q.q.data)[i], want[i], "q[%d]", i);
    quant_weight_free(&q);
}

Test(quantize_weights, blocked_groups_and_min_scale) {
    /* W [K=4, N=2] (Linear), groups of 2 along K (axis 0): scale [2, 2]. */
    float w[8] = {1.27f, 0.5f, -0.127f, 0, 12.7f, 0, 0.254f, 0};
    int64_t dims[2] = {4, 2};
    RtTensor t = tensor_f32(2, dims, w);
    QuantWeightSpec s = {8, 1, 2, 0};
    QuantWeight q;
    ok(quant_weight_compute(&t, 1, 0, &s, NULL, &q, &err));
    cr_assert_eq(q.scale.rank, 2);
    cr_expect_eq(q.scale.dims[0], 2);
    cr_expect_eq(q.scale.dims[1], 2);
    cr_expect_eq(q.axis, 0);
    cr_expect_eq(q.block, 2);
    const float *sc = q.scale.data;
    cr_expect_float_eq(sc[0], 1.27f / 127, 1e-9);  /* rows 0-1, column 0 */
    cr_expect_float_eq(sc[1], 0.5f / 127, 1e-9);   /* rows 0-1, column 1 */
    cr_expect_float_eq(sc[2], 12.7f / 127, 1e-9);  /* rows 2-3, column 0 */
    cr_expect_eq(sc[3], 1.0f);                     /* rows 2-3, column 1: zeros */
    quant_weight_free(&q);
    /* a minimum scale raises a channel's scale (int32 bias headroom) */
    float ms[2] = {0.5f, 0};
    QuantWeightSpec pc = {8, 1, 0, 0};
    ok(quant_weight_compute(&t, 1, 0, &pc, ms, &q, &err));
    cr_expect_eq(((float *)q.scale.data)[0], 0.5f);
    cr_expect_eq(((int8_t *)q.q.data)[0], 3, "1.27 / 0.5 = 2.54 -> 3");
    quant_weight_free(&q);
}

Test(quantize_weights, refuses_non_finite) {
    float w[2] = {1, NAN};
    int64_t dims[2] = {1, 2};
    RtTensor t = tensor_f32(2, dims, w);
    QuantWeightSpec s = {8, 1, 0, 0};
    QuantWeight q;
    err.msg[0] = '\0';
    cr_expect_neq(quant_weight_compute(&t, 0, 1, &s, NULL, &q, &err), RT_OK);
    cr_expect(strstr(err.msg, "NaN") != NULL, "%s", err.msg);
}

/* ---- QDQ cancellation ---- */

static int scalar_f32(IrGraph *g, const char *name, float v) {
    return tg_const_f32(g, name, 0, NULL, &v);
}

static int scalar_i8(IrGraph *g, const char *name, int v) {
    int8_t b = (int8_t)v;
    RtTensor t;
    memset(&t, 0, sizeof t);
    t.dtype = RT_I8;
    t.data = &b;
    int r = ir_const_add(g, name, &t);
    cr_assert(r >= 0);
    return r;
}

/* x -> Q(s1) -> DQ(s1) -> Q(s2, zp2) -> DQ(s2, zp2) -> Relu -> y */
static IrGraph *chain_qdq(float s2, int zp2, int *n_nodes) {
    IrGraph *g = tg_graph(21);
    int64_t d[1] = {4};
    int x = tg_input(g, "x", RT_F32, 1, d, NULL);
    int s1 = scalar_f32(g, "s1", 0.1f), z1 = scalar_i8(g, "z1", 3);
    int sb = scalar_f32(g, "s2", s2), zb = scalar_i8(g, "z2", zp2);
    int a[3] = {x, s1, z1};
    int q1 = tg_node(g, RT_OP_QUANTIZE_LINEAR, "q1", 3, a, "q1");
    int b[3] = {q1, s1, z1};
    int d1 = tg_node(g, RT_OP_DEQUANTIZE_LINEAR, "dq1", 3, b, "d1");
    int c[3] = {d1, sb, zb};
    int q2 = tg_node(g, RT_OP_QUANTIZE_LINEAR, "q2", 3, c, "q2");
    int e[3] = {q2, sb, zb};
    int d2 = tg_node(g, RT_OP_DEQUANTIZE_LINEAR, "dq2", 3, e, "d2");
    int y = tg_node(g, RT_OP_RELU, "relu", 1, &d2, "y");
    tg_output(g, y);
    ok(ir_infer_shapes(g, &err));
    *n_nodes = g->n_nodes;
    return g;
}

static void run_vec(IrGraph *g, const float *x4, float *y4) {
    int64_t d[1] = {4};
    RtTensor in = tensor_f32(1, d, (float *)x4), out;
    ok(ir_run(g, &in, &out, &err));
    memcpy(y4, out.data, sizeof(float) * 4);
    free(out.data);
}

Test(quantize_cancel, equal_dq_q_pair_goes) {
    int n0;
    IrGraph *g = chain_qdq(0.1f, 3, &n0);
    float x[4] = {-1.0f, 0.04f, 0.26f, 5.0f}, before[4], after[4];
    run_vec(g, x, before);
    int changed = 0;
    ok(quant_qdq_cancel(g, 0, &changed, &err));
    cr_expect_eq(changed, 1);
    ok(pass_dead_nodes(g, &err));
    ok(ir_verify(g, &err));
    cr_expect_eq(tg_count_op(g, RT_OP_QUANTIZE_LINEAR), 1);
    cr_expect_eq(tg_count_op(g, RT_OP_DEQUANTIZE_LINEAR), 1);
    run_vec(g, x, after);
    for (int i = 0; i < 4; i++) cr_expect_eq(after[i], before[i], "y[%d]: %g vs %g", i, after[i], before[i]);
    ir_graph_free(g);
}

Test(quantize_cancel, different_parameters_stay) {
    int n0;
    IrGraph *g = chain_qdq(0.2f, 3, &n0); /* other scale */
    int changed = 0;
    ok(quant_qdq_cancel(g, 0, &changed, &err));
    cr_expect_eq(changed, 0);
    ir_graph_free(g);
    g = chain_qdq(0.1f, 4, &n0); /* other zero point */
    ok(quant_qdq_cancel(g, 0, &changed, &err));
    cr_expect_eq(changed, 0);
    ir_graph_free(g);
}

/* x -> Sigmoid -> Q -> DQ -> Tanh -> y (and, when dq_out, the DQ output is a graph output) */
static IrGraph *round_trip(int dq_out) {
    IrGraph *g = tg_graph(21);
    int64_t d[1] = {4};
    int x = tg_input(g, "x", RT_F32, 1, d, NULL);
    int s = scalar_f32(g, "s", 0.01f), z = scalar_i8(g, "z", -128);
    int a = tg_node(g, RT_OP_SIGMOID, "sig", 1, &x, "a");
    int qi[3] = {a, s, z};
    int q = tg_node(g, RT_OP_QUANTIZE_LINEAR, "q", 3, qi, "aq");
    int di[3] = {q, s, z};
    int dq = tg_node(g, RT_OP_DEQUANTIZE_LINEAR, "dq", 3, di, "ad");
    int y = tg_node(g, RT_OP_TANH, "tanh", 1, &dq, "y");
    tg_output(g, y);
    if (dq_out) tg_output(g, dq);
    ok(ir_infer_shapes(g, &err));
    return g;
}

Test(quantize_cancel, round_trip_between_float_ops) {
    IrGraph *g = round_trip(0);
    int changed = 0;
    ok(quant_qdq_cancel(g, 0, &changed, &err));
    cr_expect_eq(changed, 0, "round trips stay unless asked");
    ok(quant_qdq_cancel(g, 1, &changed, &err));
    cr_expect_eq(changed, 1);
    ok(pass_dead_nodes(g, &err));
    ok(ir_verify(g, &err));
    cr_expect_eq(tg_count_op(g, RT_OP_QUANTIZE_LINEAR), 0);
    cr_expect_eq(tg_count_op(g, RT_OP_DEQUANTIZE_LINEAR), 0);
    float x[4] = {-1, 0.3f, 2, 7}, y[4];
    run_vec(g, x, y);
    for (int i = 0; i < 4; i++) cr_expect_float_eq(y[i], tanhf(1 / (1 + expf(-x[i]))), 1e-6);
    ir_graph_free(g);
    g = round_trip(1); /* the DQ output is a graph output: its name must stay */
    changed = 0;
    ok(quant_qdq_cancel(g, 1, &changed, &err));
    cr_expect_eq(changed, 0);
    ir_graph_free(g);
}

/* ---- exclude and head rules ---- */

/* x[2,8] -> MatMul(W1) "mm1" -> Relu -> MatMul(W2) "mm2" -> MatMul(W3) "mm3" -> y
 * and, with two_heads, a second output from MatMul(W4) "mm4" reading the Relu. */
static IrGraph *mm_chain(int two_heads) {
    IrGraph *g = tg_graph(17);
    int64_t xd[2] = {2, 8}, wd[2] = {8, 8};
    int x = tg_input(g, "x", RT_F32, 2, xd, NULL);
    float w[4][64];
    for (int m = 0; m < 4; m++)
        for (int i = 0; i < 64; i++) w[m][i] = sinf((float)(i * (m + 3) + m)) * (m == 1 ? 0.5f : 1.0f);
    int w1 = tg_const_f32(g, "W1", 2, wd, w[0]), w2 = tg_const_f32(g, "W2", 2, wd, w[1]);
    int w3 = tg_const_f32(g, "W3", 2, wd, w[2]), w4 = tg_const_f32(g, "W4", 2, wd, w[3]);
    int a[2] = {x, w1};
    int h1 = tg_node(g, RT_OP_MATMUL, "mm1", 2, a, "h1");
    int r = tg_node(g, RT_OP_RELU, "relu", 1, &h1, "r");
    int b[2] = {r, w2};
    int h2 = tg_node(g, RT_OP_MATMUL, "mm2", 2, b, "h2");
    int c[2] = {h2, w3};
    int y = tg_node(g, RT_OP_MATMUL, "mm3", 2, c, "y");
    tg_output(g, y);
    if (two_heads) {
        int e[2] = {r, w4};
        tg_output(g, tg_node(g, RT_OP_MATMUL, "mm4", 2, e, "y2"));
    }
    ok(ir_infer_shapes(g, &err));
    return g;
}

/* 1 when node `name` reads its weight through a DequantizeLinear. */
static int weight_quantized(const IrGraph *g, const char *name) {
    for (int k = 0; k < g->n_nodes; k++) {
        if (strcmp(g->nodes[k].name, name) != 0) continue;
        int p = g->values[g->nodes[k].in[1]].producer;
        return p >= 0 && g->nodes[p].op == RT_OP_DEQUANTIZE_LINEAR;
    }
    cr_assert_fail("no node %s", name);
    return 0;
}

static void run_xy(IrGraph *g, float *y) {
    int64_t xd[2] = {2, 8};
    float x[16];
    for (int i = 0; i < 16; i++) x[i] = cosf((float)i);
    RtTensor in = tensor_f32(2, xd, x), out[2];
    ok(ir_run(g, &in, out, &err));
    memcpy(y, out[0].data, sizeof(float) * 16);
    for (int i = 0; i < g->n_outputs; i++) free(out[i].data);
}

static IrGraph *quantize_chain(int two_heads, const char *exclude, int head, QuantReport *rep) {
    IrGraph *g = mm_chain(two_heads);
    QuantOptions o;
    quant_options_default(&o);
    const char *ex[1] = {exclude};
    o.exclude = ex;
    o.n_exclude = exclude ? 1 : 0;
    o.quantize_head = head;
    ok(pass_quantize_int8(g, &o, rep, &err));
    return g;
}

Test(quantize_rules, head_stays_float_by_default) {
    QuantReport rep;
    memset(&rep, 0, sizeof rep);
    IrGraph *ref = mm_chain(0), *g = quantize_chain(0, NULL, 0, &rep);
    cr_expect(weight_quantized(g, "mm1"));
    cr_expect(weight_quantized(g, "mm2"));
    cr_expect(!weight_quantized(g, "mm3"), "the head (last weight layer before the output) stays float");
    cr_expect_eq(tg_count_op(g, RT_OP_DEQUANTIZE_LINEAR), 2);
    int w = 0;
    for (int i = 0; i < rep.n_tensors; i++) w += rep.tensors[i].kind == QUANT_T_WEIGHT;
    cr_expect_eq(w, 2);
    cr_expect_eq(rep.n_layers, 2);
    cr_expect_str_eq(rep.layers[0].node, "mm1", "layers in graph order");
    float a[16], b[16];
    run_xy(ref, a);
    run_xy(g, b);
    for (int i = 0; i < 16; i++) cr_expect(fabsf(a[i] - b[i]) < CHAIN_TOL, "y[%d]: %g vs %g", i, b[i], a[i]);
    quant_report_free(&rep);
    ir_graph_free(ref);
    ir_graph_free(g);
}

Test(quantize_rules, quantize_head_and_exclude) {
    IrGraph *g = quantize_chain(0, NULL, 1, NULL);
    cr_expect(weight_quantized(g, "mm1") && weight_quantized(g, "mm2") && weight_quantized(g, "mm3"));
    ir_graph_free(g);
    g = quantize_chain(0, "mm2", 0, NULL);
    cr_expect(weight_quantized(g, "mm1"));
    cr_expect(!weight_quantized(g, "mm2"), "excluded");
    cr_expect(!weight_quantized(g, "mm3"), "head");
    ir_graph_free(g);
    g = quantize_chain(0, "h1", 1, NULL); /* by output name */
    cr_expect(!weight_quantized(g, "mm1"));
    cr_expect(weight_quantized(g, "mm3"));
    ir_graph_free(g);
}

Test(quantize_rules, every_output_has_a_head) {
    IrGraph *g = quantize_chain(1, NULL, 0, NULL);
    cr_expect(weight_quantized(g, "mm1"));
    cr_expect(weight_quantized(g, "mm2"), "mm2 feeds the head mm3, it is not a head itself");
    cr_expect(!weight_quantized(g, "mm3"));
    cr_expect(!weight_quantized(g, "mm4"));
    ir_graph_free(g);
}

Test(quantize_rules, unknown_exclude_is_an_error) {
    IrGraph *g = mm_chain(0);
    QuantOptions o;
    quant_options_default(&o);
    const char *ex[1] = {"no_such_node"};
    o.exclude = ex;
    o.n_exclude = 1;
    err.msg[0] = '\0';
    cr_expect_neq(pass_quantize_int8(g, &o, NULL, &err), RT_OK);
    cr_expect(strstr(err.msg, "no_such_node") != NULL, "%s", err.msg);
    ir_graph_free(g);
}

/* ---- static int8 of a fused Gelu ---- */

/* x[6, 8] -> MatMul(W1[8, 8]) + B1 -> Gelu(approximate) -> MatMul(W2[8, 4]) + B2 -> y, simplified
 * and, when fuse, through pass_fuse (the Gelu becomes fc1's activation), else pass_fuse_linear
 * alone (the Gelu stays a node, as before Gelu fused). */
static IrGraph *gelu_mlp(const char *approximate, int fuse) {
    IrGraph *g = tg_graph(20);
    int64_t xd[2] = {6, 8}, w1d[2] = {8, 8}, w2d[2] = {8, 4}, b1d[1] = {8}, b2d[1] = {4};
    float w1[64], w2[32], b1[8], b2[4];
    for (int i = 0; i < 64; i++) w1[i] = sinf((float)(3 * i + 1)) * 1.5f;
    for (int i = 0; i < 32; i++) w2[i] = cosf((float)(5 * i + 2));
    for (int i = 0; i < 8; i++) b1[i] = 0.25f * sinf((float)i);
    for (int i = 0; i < 4; i++) b2[i] = 0.1f * (float)i;
    int x = tg_input(g, "x", RT_F32, 2, xd, NULL);
    int a[2] = {x, tg_const_f32(g, "W1", 2, w1d, w1)};
    int m1 = tg_node(g, RT_OP_MATMUL, "fc1", 2, a, "m1");
    int c[2] = {m1, tg_const_f32(g, "B1", 1, b1d, b1)};
    int h = tg_node(g, RT_OP_ADD, "fc1_add", 2, c, "h");
    int ge = tg_node(g, RT_OP_GELU, "gelu", 1, &h, "ge");
    RtAttr *at = tg_attr_add(g, "approximate");
    at->type = RT_ATTR_STRING;
    at->s = ir_strdup(g, approximate);
    int d[2] = {ge, tg_const_f32(g, "W2", 2, w2d, w2)};
    int m2 = tg_node(g, RT_OP_MATMUL, "fc2", 2, d, "m2");
    int e[2] = {m2, tg_const_f32(g, "B2", 1, b2d, b2)};
    tg_output(g, tg_node(g, RT_OP_ADD, "fc2_add", 2, e, "y"));
    ok(ir_infer_shapes(g, &err));
    ok(pass_simplify(g, &err));
    ok(fuse ? pass_fuse(g, &err) : pass_fuse_linear(g, &err));
    return g;
}

/* Static int8 of g (every layer, the head too) calibrated on the .npy for its input x, the
 * report in rep (may be NULL); returns the dataset, for the caller to free. */
static CalibDataset *quantize_static_on(IrGraph *g, const char *npy, QuantReport *rep) {
    const char *names[1] = {"x"}, *paths[1] = {npy};
    CalibDataset *ds = calib_dataset_open(1, names, paths, &err);
    cr_assert_not_null(ds, "%s", err.msg);
    ok(calib_dataset_bind(ds, g, &err));
    QuantOptions o;
    quant_options_default(&o);
    o.act_int8 = 1;
    o.quantize_head = 1;
    o.data = ds;
    ok(pass_quantize_int8(g, &o, rep, &err));
    return ds;
}

static void gelu_quantize(IrGraph *g, const char *npy) {
    calib_dataset_free(quantize_static_on(g, npy, NULL));
}

Test(quantize_static, fused_gelu_split_as_unfused) {
    float x[48];
    for (int i = 0; i < 48; i++) x[i] = 2.0f * sinf((float)(7 * i + 3));
    char npy[128];
    snprintf(npy, sizeof npy, "/tmp/wafer_qgelu_%d.npy", (int)getpid());
    int64_t xd[2] = {6, 8};
    RtTensor tx = tensor_f32(2, xd, x);
    ok(npy_write(npy, &tx, &err));
    static const struct { const char *approximate, *act; } forms[] = {{"none", "Gelu"}, {"tanh", "GeluTanh"}};
    for (int f = 0; f < 2; f++) {
        IrGraph *fused = gelu_mlp(forms[f].approximate, 1), *plain = gelu_mlp(forms[f].approximate, 0);
        int acts = 0;
        for (int k = 0; k < fused->n_nodes; k++)
            acts += strcmp(rt_attr_str(&fused->nodes[k], "activation", ""), forms[f].act) == 0;
        cr_assert_eq(acts, 1, "%s: pass_fuse put the Gelu into fc1", forms[f].act);
        cr_assert_eq(tg_count_op(fused, RT_OP_GELU), 0);
        gelu_quantize(fused, npy);
        gelu_quantize(plain, npy);
        /* a node again, and between two int8 layers a 256-entry table (quantize_lut.c) */
        cr_expect_eq(tg_count_op(fused, RT_OP_QLUT), 1, "%s: the Gelu is a node again, tabulated", forms[f].act);
        cr_expect_eq(tg_count_op(fused, RT_OP_QLINEAR), 2);
        cr_expect_eq(fused->n_nodes, plain->n_nodes);
        for (int k = 0; k < fused->n_nodes; k++) {
            const RtNode *a = &fused->nodes[k], *b = &plain->nodes[k];
            cr_expect_eq(a->op, b->op, "node %d: %s vs %s", k, a->op_type, b->op_type);
            cr_expect_str_eq(rt_attr_str(a, "activation", ""), "");
            if (a->op == RT_OP_QLUT && b->op == RT_OP_QLUT) {
                cr_expect_str_eq(rt_attr_str(a, "function", ""), "Gelu");
                cr_expect_str_eq(rt_attr_str(a, "approximate", "none"), forms[f].approximate);
            }
        }
        RtTensor ya[1], yb[1];
        ok(ir_run(fused, &tx, ya, &err));
        ok(ir_run(plain, &tx, yb, &err));
        cr_assert(rt_shape_equal(&ya[0], &yb[0]));
        cr_expect(memcmp(ya[0].data, yb[0].data, sizeof(float) * (size_t)rt_numel(&ya[0])) == 0,
                  "%s: outputs differ from the unfused graph's quantization", forms[f].act);
        free(ya[0].data), free(yb[0].data);
        ir_graph_free(fused);
        ir_graph_free(plain);
    }
    unlink(npy);
}

/* ---- the report's per-channel errors ---- */

/* x[4, 1, 4, 4] -> Conv(W[2, 1, 1, 1] = {100, 1}) -> y[4, 2, 4, 4]: channel 0 is 100 x, channel
 * 1 is x, the two share y's one per-tensor scale. */
static IrGraph *two_scale_conv(void) {
    IrGraph *g = tg_graph(17);
    int64_t xd[4] = {4, 1, 4, 4}, wd[4] = {2, 1, 1, 1};
    float w[2] = {100.0f, 1.0f};
    int in[2] = {tg_input(g, "x", RT_F32, 4, xd, NULL), tg_const_f32(g, "W", 4, wd, w)};
    tg_output(g, tg_node(g, RT_OP_CONV, "conv", 2, in, "y"));
    ok(ir_infer_shapes(g, &err));
    ok(pass_simplify(g, &err));
    ok(pass_fuse(g, &err));
    return g;
}

/* An export with a fixed batch of 1, as M-LSD's: x[1, 1, 4, 4] -> Conv(W[2, 1, 1, 1] = {100, 1})
 * -> y[1, 2, 4, 4] -> Concat(y, C[1, 1, 4, 4], axis 1) -> z[1, 3, 4, 4]. The constant's batch
 * of 1 makes a run on more rows fail at the Concat. */
static IrGraph *fixed_batch_concat(void) {
    IrGraph *g = tg_graph(17);
    int64_t xd[4] = {1, 1, 4, 4}, wd[4] = {2, 1, 1, 1}, cd[4] = {1, 1, 4, 4}, axis = 1;
    static const float w[2] = {100.0f, 1.0f};
    static float c[16];
    for (int i = 0; i < 16; i++) c[i] = 0.25f * (float)(i % 5) - 0.5f;
    int in[2] = {tg_input(g, "x", RT_F32, 4, xd, NULL), tg_const_f32(g, "W", 4, wd, w)};
    int y = tg_node(g, RT_OP_CONV, "conv", 2, in, "y");
    int ci[2] = {y, tg_const_f32(g, "C", 4, cd, c)};
    tg_output(g, tg_node(g, RT_OP_CONCAT, "concat", 2, ci, "z"));
    tg_attr_ints(g, "axis", -1, &axis);
    ok(ir_infer_shapes(g, &err));
    ok(pass_simplify(g, &err));
    ok(pass_fuse(g, &err));
    return g;
}


/* Quantizes q (int8 weights and activations, calibrated on x, written to a .npy) and
 * measures the report against ref, `batch` rows per run asked for. */
static void report_run(IrGraph *ref, IrGraph *q, int rank, const int64_t *xd, const float *x, int64_t batch,
                       QuantReport *rep) {
    char npy[128];
    snprintf(npy, sizeof npy, "/tmp/wafer_qrep_%d.npy", (int)getpid());
    RtTensor tx = tensor_f32(rank, xd, (float *)x);
    ok(npy_write(npy, &tx, &err));
    memset(rep, 0, sizeof *rep);
    CalibDataset *ds = quantize_static_on(q, npy, rep);
    ok(quant_report_measure(ref, q, ds, batch, rep, &err));
    calib_dataset_free(ds);
    unlink(npy);
}

/* The report's layer whose output is `value`, or NULL. */
static const QuantLayerInfo *report_layer(const QuantReport *rep, const char *value) {
    for (int L = 0; L < rep->n_layers; L++)
        if (strcmp(rep->layers[L].value, value) == 0) return &rep->layers[L];
    return NULL;
}

/* Worked by hand: x in [-1, 1] gives y's range about [-100, 100], one step 200 / 255 ~ 0.78.
 * Channel 1 (x itself, RMS ~0.58) then has ~3 codes: its relative error is ~0.2 or more (the
 * rounding noise of a step-0.78 grid, 0.78 / sqrt(12) ~ 0.23, over 0.58 gives ~0.4); channel
 * 0 (RMS ~58) rounds to ~0.4 % plus x's own rounding (step 2 / 255: ~0.7 % of x's RMS); the
 * whole tensor's error is channel 0's, as channel 1 holds 1e-4 of the energy. */
#define CH_SMALL_MIN_ERROR 0.2
#define CH_BIG_MAX_ERROR 0.02

Test(quantize_report, channel_errors_show_a_small_channel_under_a_shared_scale) {
    float x[64];
    for (int i = 0; i < 64; i++) x[i] = sinf((float)(11 * i + 5));
    int64_t xd[4] = {4, 1, 4, 4};
    IrGraph *ref = two_scale_conv(), *q = two_scale_conv();
    QuantReport rep;
    report_run(ref, q, 4, xd, x, 4, &rep);
    const QuantLayerInfo *l = report_layer(&rep, "y");
    cr_assert_not_null(l, "the conv's layer is in the report");
    cr_expect_eq(l->rows, 4);
    cr_expect_lt(l->error, CH_BIG_MAX_ERROR, "tensor error %g", l->error);
    cr_expect_gt(l->channel_error_max, CH_SMALL_MIN_ERROR, "channel 1's error %g", l->channel_error_max);
    /* two channels: the median is their mean, so above the big channel's error (~ the
     * tensor's) by half the small one's */
    cr_expect_gt(l->channel_error_median, 0.5 * CH_SMALL_MIN_ERROR, "median %g", l->channel_error_median);
    cr_expect_lt(l->channel_error_median, l->channel_error_max);
    char *json = quant_report_json(&rep, "m", "");
    cr_assert_not_null(json);
    cr_expect(strstr(json, "\"channel_error_median\":") && strstr(json, "\"channel_error_max\":"), "%s", json);
    free(json);
    quant_report_free(&rep);
    ir_graph_free(ref);
    ir_graph_free(q);
}

/* A graph exported with a fixed batch of 1 (M-LSD's form) is measured one row per run, as
 * calibration runs it, whatever batch the caller asks for: asked for 4 rows at a time, the
 * report ran the batch-1 graph on 4 rows and failed at the Concat with the batch-1 constant. */
Test(quantize_report, fixed_batch_graph_is_measured_at_its_batch) {
    float x[64];
    for (int i = 0; i < 64; i++) x[i] = sinf((float)(11 * i + 5));
    int64_t xd[4] = {4, 1, 4, 4};
    IrGraph *ref = fixed_batch_concat(), *q = fixed_batch_concat();
    QuantReport rep;
    report_run(ref, q, 4, xd, x, 4, &rep);
    const QuantLayerInfo *l = report_layer(&rep, "y");
    cr_assert_not_null(l, "the conv's layer is in the report");
    cr_expect_eq(l->rows, 4, "all 4 rows measured, one per run");
    cr_expect_lt(l->error, CH_BIG_MAX_ERROR, "tensor error %g", l->error);
    quant_report_free(&rep);
    ir_graph_free(ref);
    ir_graph_free(q);
}

/* A value the float graph does not have (the pre-activation a fused Gelu is split at) is not
 * measured: its error is NaN (JSON null), not 0. */
Test(quantize_report, value_without_float_counterpart_is_not_measured) {
    float x[48];
    for (int i = 0; i < 48; i++) x[i] = 2.0f * sinf((float)(7 * i + 3));
    int64_t xd[2] = {6, 8};
    IrGraph *ref = gelu_mlp("none", 1), *q = gelu_mlp("none", 1);
    QuantReport rep;
    report_run(ref, q, 2, xd, x, 6, &rep);
    int preact = 0, measured = 0;
    for (int L = 0; L < rep.n_layers; L++) {
        const QuantLayerInfo *l = &rep.layers[L];
        if (ir_value_find(ref, l->value) < 0) {
            preact++;
            cr_expect(isnan(l->error), "%s has no float counterpart, error %g", l->value, l->error);
        } else {
            measured++;
            cr_expect(isfinite(l->error) && l->error > 0, "%s: error %g", l->value, l->error);
        }
    }
    cr_expect_eq(preact, 1, "fc1's pre-activation");
    cr_expect_geq(measured, 2);
    quant_report_free(&rep);
    ir_graph_free(ref);
    ir_graph_free(q);
}
