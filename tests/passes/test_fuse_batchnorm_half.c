/*
 * test_fuse_batchnorm_half.c — pass_fold_batchnorm on float16 and bfloat16 graphs
 * (passes/fuse_batchnorm.c, onnxruntime's 16-bit ConvBNFusion arithmetic): a hand-built
 * 16-bit Conv (with and without bias) or Gemm followed by BatchNormalization folds (the BN
 * node is gone, the new weights and bias keep the 16-bit type), and the folded graph's
 * outputs (ir_run, the reference kernels) equal a float64 evaluation of the unfolded graph
 * from the same 16-bit parameters within the bound the fold's roundings allow (derived at
 * HALF_FOLD_STEPS). Mixed types (16-bit X with float32 statistics) and a 16-bit MatMul (it
 * would become Linear, which is float32 only) are left alone. That the folded values are
 * onnxruntime's, bit for bit, is tests/e2e/test_half_models.c's digits_cnn check.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../passes/passes.h"
#include "../../runtime/kernels/kernel.h"
#include "../ir/ir_test_util.h"

/* The fold's error, in units u of the 16-bit type (2^-11 float16, 2^-8 bfloat16): the scale
 * s = r(scale / r(sqrt(r(var + eps)))) carries 1 + 0.5 + 1 + 1 = 3.5u, W' = r(W s) one more
 * (4.5u on every product), the bias r(r(r(b - mean) s) + beta) 1 + 3.5 + 1 + 1 = 6.5u of
 * its terms; the float32 sums add ~K 2^-24, nothing at this size. So |folded - exact| stays
 * within 7u * (sum |s W x| + |s (b - mean)| + |beta|), plus the output's own rounding u |y|.
 * A wrong fold (a channel scaled twice, a bias or mean lost) misses by O(|y|) ~ 0.1 to 1. */
#define HALF_FOLD_STEPS 7.0

static RtError err;

static void ok_or_die(int r) { cr_assert_eq(r, RT_OK, "%s", err.msg); }

static double unit_of(RtDtype t) { return t == RT_F16 ? ldexp(1.0, -11) : ldexp(1.0, -8); }

static float widen(RtDtype t, uint16_t h) { return t == RT_F16 ? rt_f16_to_f32(h) : rt_bf16_to_f32(h); }

/* n deterministic 16-bit values in [-1, 1] (in [0.5, 1.5] when positive). */
static uint16_t *half_values(RtDtype t, int64_t n, uint32_t seed, int positive) {
    uint16_t *h = malloc(sizeof(uint16_t) * (size_t)(n ? n : 1));
    cr_assert_not_null(h);
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        float v = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
        if (positive) v = 0.5f + fabsf(v);
        h[i] = t == RT_F16 ? rt_f32_to_f16(v) : rt_f32_to_bf16(v);
    }
    return h;
}

/* A 16-bit constant filled from seed. */
static int half_const(IrGraph *g, RtDtype t, const char *name, int rank, const int64_t *dims, uint32_t seed,
                      int positive) {
    RtTensor k;
    memset(&k, 0, sizeof k);
    k.dtype = t;
    k.rank = rank;
    for (int d = 0; d < rank; d++) k.dims[d] = dims[d];
    k.data = half_values(t, rt_numel(&k), seed, positive);
    int v = ir_const_add(g, name, &k);
    free(k.data);
    cr_assert(v >= 0);
    return v;
}

/* Element i of 16-bit constant value v, widened. */
static double konst_at(const IrGraph *g, int v, int64_t i) {
    const RtTensor *k = g->values[v].konst;
    cr_assert(k && (k->dtype == RT_F16 || k->dtype == RT_BF16));
    return widen(k->dtype, ((const uint16_t *)k->data)[i]);
}

/* The BN's statistics as the exact per-channel map y = s (x - mean) + beta, in double. */
typedef struct {
    double s[8], mean[8], beta[8];
} Bn64;

static Bn64 bn64_of(const IrGraph *g, const RtNode *bn, int64_t C) {
    Bn64 b;
    double eps = rt_attr_float(bn, "epsilon", 1e-5f);
    cr_assert(C <= 8);
    for (int64_t c = 0; c < C; c++) {
        b.s[c] = konst_at(g, bn->in[1], c) / sqrt(konst_at(g, bn->in[4], c) + eps);
        b.beta[c] = konst_at(g, bn->in[2], c);
        b.mean[c] = konst_at(g, bn->in[3], c);
    }
    return b;
}

/* The BatchNormalization node of g. */
static const RtNode *bn_node(const IrGraph *g) {
    for (int k = 0; k < g->n_nodes; k++)
        if (g->nodes[k].op == RT_OP_BATCH_NORMALIZATION) return &g->nodes[k];
    cr_assert_fail("no BatchNormalization");
    return NULL;
}

static void attr_float(IrGraph *g, const char *name, float f) {
    RtAttr *a = tg_attr_add(g, name);
    a->type = RT_ATTR_FLOAT;
    a->f = f;
}

static int bn_after(IrGraph *g, RtDtype t, int v, int64_t C, const char *out) {
    int64_t cd[1] = {C};
    int bi[5] = {v, half_const(g, t, "scale", 1, cd, 3, 0), half_const(g, t, "beta", 1, cd, 4, 0),
                 half_const(g, t, "mean", 1, cd, 5, 0), half_const(g, t, "var", 1, cd, 6, 1)};
    int y = tg_node(g, RT_OP_BATCH_NORMALIZATION, "bn", 5, bi, out);
    attr_float(g, "epsilon", 1e-3f);
    return y;
}

/* Runs the folded graph on input x (16-bit, n elements) and checks output element i against
 * want[i] within HALF_FOLD_STEPS u of mag[i] (the sum of |terms| the exact value adds up)
 * plus u |want[i]|. */
static void expect_near_exact(IrGraph *g, RtDtype t, const uint16_t *x, const double *want, const double *mag,
                              int64_t n_out) {
    const IrValue *xv = &g->values[g->inputs[0]];
    RtTensor in;
    memset(&in, 0, sizeof in);
    in.dtype = t;
    in.rank = xv->rank;
    for (int d = 0; d < xv->rank; d++) in.dims[d] = xv->dims[d].value;
    in.data = (void *)x;
    RtTensor out;
    ok_or_die(ir_run(g, &in, &out, &err));
    cr_assert_eq(out.dtype, t);
    cr_assert_eq(rt_numel(&out), n_out);
    double u = unit_of(t);
    for (int64_t i = 0; i < n_out; i++) {
        double got = widen(t, ((const uint16_t *)out.data)[i]);
        double bound = HALF_FOLD_STEPS * u * mag[i] + u * fabs(want[i]);
        cr_expect(fabs(got - want[i]) <= bound, "%s element %lld: %g, exact %g (bound %g)", rt_dtype_name(t),
                  (long long)i, got, want[i], bound);
    }
    free(out.data);
}

/* Folds g (simplify, then the pass) and checks BN is gone and the producer's new weight and
 * bias are constants of type t. */
static void fold_and_check_types(IrGraph *g, RtDtype t, int producer_op) {
    memset(&err, 0, sizeof err);
    ok_or_die(pass_simplify(g, &err));
    ok_or_die(pass_fold_batchnorm(g, &err));
    ok_or_die(ir_verify(g, &err));
    ok_or_die(ir_infer_shapes(g, &err));
    cr_assert_eq(tg_count_op(g, RT_OP_BATCH_NORMALIZATION), 0, "the BN folded");
    cr_assert_eq(g->n_nodes, 1);
    const RtNode *p = &g->nodes[0];
    cr_assert_eq(p->op, producer_op);
    cr_assert_eq(p->n_in, 3, "the folded node has a bias");
    for (int j = 1; j < 3; j++) {
        const RtTensor *k = g->values[p->in[j]].konst;
        cr_assert(k && k->dtype == t, "input %d is a %s constant", j, rt_dtype_name(t));
    }
}

/* x[1,2,4,4] -> Conv(W[3,2,3,3], B?, pads 1) -> BN(3 channels), float64 reference from the
 * 16-bit parameters. */
static void conv_bn_case(RtDtype t, int with_bias) {
    enum { N = 1, CI = 2, H = 4, WD = 4, M = 3, KH = 3, KW = 3 };
    IrGraph *g = tg_graph(17);
    int64_t xd[4] = {N, CI, H, WD}, wd[4] = {M, CI, KH, KW}, cd[1] = {M}, pads[4] = {1, 1, 1, 1};
    int x = tg_input(g, "x", t, 4, xd, NULL);
    int ci[3] = {x, half_const(g, t, "W", 4, wd, 1, 0), with_bias ? half_const(g, t, "B", 1, cd, 2, 0) : -1};
    int c = tg_node(g, RT_OP_CONV, "conv", with_bias ? 3 : 2, ci, "c");
    tg_attr_ints(g, "pads", 4, pads);
    tg_output(g, bn_after(g, t, c, M, "y"));
    /* the exact (double) value of the unfolded graph and the magnitude of its terms */
    Bn64 b = bn64_of(g, bn_node(g), M);
    uint16_t *xh = half_values(t, N * CI * H * WD, 100, 0);
    double want[N * M * H * WD], mag[N * M * H * WD];
    for (int m = 0; m < M; m++)
        for (int oy = 0; oy < H; oy++)
            for (int ox = 0; ox < WD; ox++) {
                double acc = with_bias ? konst_at(g, ci[2], m) : 0.0, sum_abs = 0;
                for (int cc = 0; cc < CI; cc++)
                    for (int ky = 0; ky < KH; ky++)
                        for (int kx = 0; kx < KW; kx++) {
                            int iy = oy + ky - 1, ix = ox + kx - 1;
                            if (iy < 0 || iy >= H || ix < 0 || ix >= WD) continue;
                            double term = konst_at(g, ci[1], ((m * CI + cc) * KH + ky) * KW + kx) *
                                          widen(t, xh[(cc * H + iy) * WD + ix]);
                            acc += term;
                            sum_abs += fabs(b.s[m] * term);
                        }
                int i = (m * H + oy) * WD + ox;
                double b0 = with_bias ? konst_at(g, ci[2], m) : 0.0;
                want[i] = b.s[m] * (acc - b.mean[m]) + b.beta[m];
                mag[i] = sum_abs + fabs(b.s[m] * (b0 - b.mean[m])) + fabs(b.beta[m]);
            }
    fold_and_check_types(g, t, RT_OP_CONV);
    expect_near_exact(g, t, xh, want, mag, N * M * H * WD);
    free(xh);
    ir_graph_free(g);
}

Test(fold_batchnorm_half, conv_float16_with_and_without_bias) {
    conv_bn_case(RT_F16, 1);
    conv_bn_case(RT_F16, 0);
}

Test(fold_batchnorm_half, conv_bfloat16_with_and_without_bias) {
    conv_bn_case(RT_BF16, 1);
    conv_bn_case(RT_BF16, 0);
}

/* A[3,5] -> Gemm(B[4,5] transB, C[4], alpha 2, beta 0.5) -> BN(4): C' = r(beta C) first. */
Test(fold_batchnorm_half, gemm_float16_transb_alpha_beta) {
    enum { R = 3, K = 5, NN = 4 };
    const RtDtype t = RT_F16;
    const double alpha = 2.0, beta = 0.5;
    IrGraph *g = tg_graph(17);
    int64_t ad[2] = {R, K}, bd[2] = {NN, K}, cd[1] = {NN};
    int a = tg_input(g, "a", t, 2, ad, NULL);
    int in[3] = {a, half_const(g, t, "B", 2, bd, 1, 0), half_const(g, t, "C", 1, cd, 2, 0)};
    int y = tg_node(g, RT_OP_GEMM, "gemm", 3, in, "y");
    int64_t one = 1;
    tg_attr_ints(g, "transB", -1, &one);
    attr_float(g, "alpha", (float)alpha);
    attr_float(g, "beta", (float)beta);
    tg_output(g, bn_after(g, t, y, NN, "z"));
    Bn64 b = bn64_of(g, bn_node(g), NN);
    uint16_t *ah = half_values(t, R * K, 100, 0);
    double want[R * NN], mag[R * NN];
    for (int r = 0; r < R; r++)
        for (int n = 0; n < NN; n++) {
            double acc = 0, sum_abs = 0;
            for (int k = 0; k < K; k++) {
                double term = alpha * widen(t, ah[r * K + k]) * konst_at(g, in[1], n * K + k);
                acc += term;
                sum_abs += fabs(b.s[n] * term);
            }
            double c0 = beta * konst_at(g, in[2], n);
            want[r * NN + n] = b.s[n] * (acc + c0 - b.mean[n]) + b.beta[n];
            mag[r * NN + n] = sum_abs + fabs(b.s[n] * (c0 - b.mean[n])) + fabs(b.beta[n]);
        }
    fold_and_check_types(g, t, RT_OP_GEMM);
    cr_expect_float_eq(rt_attr_float(&g->nodes[0], "beta", 0.0f), 1.0f, 0.0, "beta becomes 1");
    expect_near_exact(g, t, ah, want, mag, R * NN);
    free(ah);
    ir_graph_free(g);
}

/* 16-bit X and W with float32 statistics (valid from opset 15): not one type, left alone. */
Test(fold_batchnorm_half, not_with_mixed_types) {
    IrGraph *g = tg_graph(17);
    int64_t xd[4] = {1, 2, 4, 4}, wd[4] = {3, 2, 1, 1}, cd[1] = {3};
    int x = tg_input(g, "x", RT_F16, 4, xd, NULL);
    int ci[2] = {x, half_const(g, RT_F16, "W", 4, wd, 1, 0)};
    int c = tg_node(g, RT_OP_CONV, "conv", 2, ci, "c");
    float ones[3] = {1, 1, 1}, zeros[3] = {0, 0, 0};
    int bi[5] = {c, tg_const_f32(g, "scale", 1, cd, ones), tg_const_f32(g, "beta", 1, cd, zeros),
                 tg_const_f32(g, "mean", 1, cd, zeros), tg_const_f32(g, "var", 1, cd, ones)};
    tg_output(g, tg_node(g, RT_OP_BATCH_NORMALIZATION, "bn", 5, bi, "y"));
    memset(&err, 0, sizeof err);
    ok_or_die(pass_simplify(g, &err));
    ok_or_die(pass_fold_batchnorm(g, &err));
    cr_expect_eq(tg_count_op(g, RT_OP_BATCH_NORMALIZATION), 1);
    ir_graph_free(g);
}

/* A 16-bit MatMul would become Linear, which runs float32 only: left alone. */
Test(fold_batchnorm_half, not_into_a_float16_matmul) {
    IrGraph *g = tg_graph(17);
    int64_t xd[2] = {3, 5}, wd[2] = {5, 4};
    int x = tg_input(g, "x", RT_F16, 2, xd, NULL);
    int in[2] = {x, half_const(g, RT_F16, "W", 2, wd, 1, 0)};
    int y = tg_node(g, RT_OP_MATMUL, "mm", 2, in, "y");
    tg_output(g, bn_after(g, RT_F16, y, 4, "z"));
    memset(&err, 0, sizeof err);
    ok_or_die(pass_simplify(g, &err));
    ok_or_die(pass_fold_batchnorm(g, &err));
    cr_expect_eq(tg_count_op(g, RT_OP_BATCH_NORMALIZATION), 1);
    cr_expect_eq(tg_count_op(g, RT_OP_MATMUL), 1);
    ir_graph_free(g);
}
