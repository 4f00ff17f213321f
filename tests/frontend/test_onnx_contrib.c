/*
 * test_onnx_contrib.c — onnxruntime's float contrib ops (frontend/onnx_contrib.c,
 * onnx_contrib_attention.c): each op, in models built here (onnx_proto_build.h, com.microsoft
 * imported at version 1; an op family's cases as the nodes of one model per opset), gives in
 * `wafer run` what onnxruntime-node gives (tests/ort_compare.h), over its attributes (every
 * activation with its parameters, Gemm's and MatMul's trans flags and alpha, masks, optional
 * inputs and outputs) and both rewrite forms (the ONNX op where the opset has it, the
 * primitive chain below); Silu and BiasAdd, which onnxruntime-node's CPU build lacks, against
 * their formulas; the lowered graph is checked without onnxruntime too (ops and node names),
 * and bad contrib nodes are refused naming the node and op with exit status 2. The
 * comparisons skip with a message where onnxruntime-node is not installed.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../frontend/onnx.h"
#include "contrib_build.h"

TestSuite(onnx_contrib, .fini = pb_release_all);

/* Element-wise rewrites (Gelu's erf chain against onnxruntime's erf, a tanh or sigmoid
 * against MLAS's polynomial ones): a few float ulps of values of magnitude <= ~8. */
static const OrtcTol ELEM_TOL = {1e-5, 1e-5, 0};
/* Conv / Gemm / MatMul sums of up to 48 products of values in [-2, 2): the summation order
 * differs from MLAS's, |error| <= 48 * 2^-24 * sum |terms| ~ 1e-4 at worst. */
static const OrtcTol SUM_TOL = {1e-4, 1e-5, 0};
/* Normalizations: mean and variance over 16 values, then a division; onnxruntime computes
 * 1/sqrt(var + eps) and multiplies. A few ulps of outputs of magnitude <= ~4. */
static const OrtcTol NORM_TOL = {1e-5, 1e-5, 0};

/* ---------- model building ---------- */

static uint8_t *pack(Onnx__GraphProto *g, int opset, size_t *len) {
    return pb_model_pack_domain(g, opset >= 20 ? 9 : 8, opset, "com.microsoft", 1, "test", len);
}

/* Runs g in onnxruntime and wafer; skips the test when onnxruntime-node is missing. */
static void compare(const char *tag, Onnx__GraphProto *g, int opset, const OrtcInput *in, int n_in,
                    const OrtcTol *tol) {
    size_t len;
    uint8_t *m = pack(g, opset, &len);
    if (!ortc_compare(tag, m, len, in, n_in, tol)) cr_skip_test("onnxruntime-node is not installed");
}

/* ---------- FusedConv ---------- */

/* One model per opset holds every case as its own node (one onnxruntime and one wafer run
 * instead of one per case): X [1, 4, 6, 5], W [4, 2, 3, 3] (group 2), B [4], pads 1, strides
 * 2x1, Z [1, 4, 3, 5] for the nodes that take it; node i writes y<i>. */
static Onnx__GraphProto *fused_conv_graph(OrtcInput *in) {
    static const int64_t xd[4] = {1, 4, 6, 5}, wd[4] = {4, 2, 3, 3}, bd[1] = {4}, zd[4] = {1, 4, 3, 5};
    Onnx__GraphProto *g = pb_graph("g");
    in[0] = add_input(g, "x", 4, xd, 1);
    in[1] = add_input(g, "z", 4, zd, 2);
    add_weight(g, "w", 4, wd, 3);
    add_weight(g, "b", 1, bd, 4);
    return g;
}

static void fused_conv_add(Onnx__GraphProto *g, const char *act, int n_params, const float *params, int with_z) {
    char name[32], out[32];
    snprintf(name, sizeof name, "conv%zu", g->n_node);
    snprintf(out, sizeof out, "y%zu", g->n_node);
    Onnx__NodeProto *n = ms_node(g, "FusedConv", name, with_z ? "x,w,b,z" : "x,w,b", out);
    static const int64_t pads[4] = {1, 1, 1, 1}, strides[2] = {2, 1}, ks[2] = {3, 3};
    pb_attr_ints(n, "pads", 4, pads);
    pb_attr_ints(n, "strides", 2, strides);
    pb_attr_ints(n, "kernel_shape", 2, ks);
    pb_attr_int(n, "group", 2);
    if (act) pb_attr_str(n, "activation", act);
    if (n_params) pb_attr_floats(n, "activation_params", (size_t)n_params, params);
    pb_add_output(g, pb_value(out, 1, NULL));
}

Test(onnx_contrib, fused_conv_each_activation_and_z_matches_onnxruntime) {
    static const float leaky[1] = {0.1f}, clip[2] = {-0.5f, 0.75f}, hsig[2] = {0.3f, 0.4f}, clip01[2] = {0, 1};
    OrtcInput in[2];
    Onnx__GraphProto *g = fused_conv_graph(in);
    fused_conv_add(g, NULL, 0, NULL, 0);
    fused_conv_add(g, "Relu", 0, NULL, 0);
    fused_conv_add(g, "Tanh", 0, NULL, 0);
    fused_conv_add(g, "Sigmoid", 0, NULL, 0);
    fused_conv_add(g, "LeakyRelu", 1, leaky, 0);
    fused_conv_add(g, "Clip", 2, clip, 0);
    fused_conv_add(g, "HardSigmoid", 2, hsig, 0);
    fused_conv_add(g, "Relu", 0, NULL, 1); /* Z is summed before the activation */
    fused_conv_add(g, "Clip", 2, clip01, 1);
    fused_conv_add(g, NULL, 0, NULL, 1);
    compare("fused_conv", g, 17, in, 2, &SUM_TOL);
    g = fused_conv_graph(in); /* opset 10: Clip's bounds as attributes */
    fused_conv_add(g, "Clip", 2, clip, 0);
    fused_conv_add(g, "Clip", 2, clip01, 1);
    compare("fused_conv_opset10", g, 10, in, 2, &SUM_TOL);
}

/* ---------- FusedGemm ---------- */

/* A [3, 5] (At [5, 3] for transA), B [5, 4] (Bt [4, 5] for transB), C [4]; alpha 0.7, beta 1.3;
 * node i writes y<i>. */
static Onnx__GraphProto *fused_gemm_graph(OrtcInput *in) {
    static const int64_t ad[2] = {3, 5}, atd[2] = {5, 3}, bd[2] = {5, 4}, btd[2] = {4, 5}, cd[1] = {4};
    Onnx__GraphProto *g = pb_graph("g");
    in[0] = add_input(g, "a", 2, ad, 5);
    in[1] = add_input(g, "at", 2, atd, 6);
    add_weight(g, "bw", 2, bd, 7);
    add_weight(g, "bwt", 2, btd, 8);
    add_weight(g, "c", 1, cd, 9);
    return g;
}

static void fused_gemm_add(Onnx__GraphProto *g, const char *act, const char *pnames, const float *p, int ta, int tb,
                           int with_c) {
    char name[32], out[32], ins[32];
    snprintf(name, sizeof name, "gemm%zu", g->n_node);
    snprintf(out, sizeof out, "y%zu", g->n_node);
    snprintf(ins, sizeof ins, "%s,%s%s", ta ? "at" : "a", tb ? "bwt" : "bw", with_c ? ",c" : "");
    Onnx__NodeProto *n = ms_node(g, "FusedGemm", name, ins, out);
    pb_attr_float(n, "alpha", 0.7f);
    pb_attr_float(n, "beta", 1.3f);
    if (ta) pb_attr_int(n, "transA", 1);
    if (tb) pb_attr_int(n, "transB", 1);
    pb_attr_str(n, "activation", act); /* onnxruntime's FusedGemm requires one */
    for (int i = 0; pnames && pnames[i]; i++) { /* one letter per parameter: a(lpha) b(eta) g(amma) */
        const char *nm = pnames[i] == 'a'   ? "activation_alpha"
                         : pnames[i] == 'b' ? "activation_beta"
                                            : "activation_gamma";
        pb_attr_float(n, nm, p[i]);
    }
    pb_add_output(g, pb_value(out, 1, NULL));
}

Test(onnx_contrib, fused_gemm_each_activation_and_trans_flag_matches_onnxruntime) {
    static const float a1[1] = {0.2f}, ab[2] = {0.3f, 0.45f}, ag[2] = {1.5f, 1.1f}, thr[1] = {0.25f};
    OrtcInput in[2];
    Onnx__GraphProto *g = fused_gemm_graph(in);
    fused_gemm_add(g, "Relu", NULL, NULL, 1, 0, 1);
    fused_gemm_add(g, "Relu", NULL, NULL, 0, 1, 1);
    fused_gemm_add(g, "Tanh", NULL, NULL, 1, 1, 1);
    fused_gemm_add(g, "Sigmoid", NULL, NULL, 0, 0, 1);
    fused_gemm_add(g, "LeakyRelu", "a", a1, 0, 0, 1);
    fused_gemm_add(g, "HardSigmoid", "ab", ab, 0, 1, 1);
    fused_gemm_add(g, "Elu", "a", a1, 0, 0, 1);
    fused_gemm_add(g, "Selu", "ag", ag, 0, 0, 1);
    fused_gemm_add(g, "ThresholdedRelu", "a", thr, 0, 0, 1);
    fused_gemm_add(g, "Softplus", NULL, NULL, 0, 0, 1);
    fused_gemm_add(g, "Softsign", NULL, NULL, 0, 0, 1);
    compare("fused_gemm", g, 17, in, 2, &SUM_TOL);
    g = fused_gemm_graph(in); /* opset 10, no C: Gemm requires C there, the rewrite gives 0 */
    fused_gemm_add(g, "Relu", NULL, NULL, 0, 1, 0);
    compare("fused_gemm_opset10", g, 10, in, 2, &SUM_TOL);
}

/* ---------- FusedMatMul ---------- */

/* Y = alpha * op(A) @ op(B) with op(A) [2, 3, 4, 6] and op(B) [2, 3, 6, 5] (B of rank 2 when
 * b_rank2: [6, 5]); the stored shapes undo the spec's permutation: transBatch takes stored
 * [d0, d1, d2, d3] to [d1, d2, d0, d3], trans then swaps the last two. */
static void stored_dims(const int64_t *eff, int r, int trans, int batch, int64_t *st) {
    int64_t e[4];
    memcpy(e, eff, sizeof(int64_t) * (size_t)r);
    if (trans) {
        int64_t s = e[r - 2];
        e[r - 2] = e[r - 1];
        e[r - 1] = s;
    }
    memcpy(st, e, sizeof(int64_t) * (size_t)r);
    if (batch) { /* e = [s1 .. s(r-2), s0, s(r-1)] */
        st[0] = e[r - 2];
        for (int i = 1; i <= r - 2; i++) st[i] = e[i - 1];
        st[r - 1] = e[r - 1];
    }
}

/* Case i of a model: inputs a<i>, b<i> shaped for its flags, output y<i>. */
static void fused_matmul_add(Onnx__GraphProto *g, OrtcInput *in, float alpha, int ta, int tb, int tba, int tbb,
                             int b_rank2) {
    static const int64_t ae[4] = {2, 3, 4, 6}, be4[4] = {2, 3, 6, 5}, be2[2] = {6, 5};
    int64_t as[4], bs[4];
    int rb = b_rank2 ? 2 : 4;
    size_t i = g->n_node;
    stored_dims(ae, 4, ta, tba, as);
    stored_dims(b_rank2 ? be2 : be4, rb, tb, tbb, bs);
    char a[16], b[16], name[16], out[16], ins[40];
    snprintf(a, sizeof a, "a%zu", i);
    snprintf(b, sizeof b, "b%zu", i);
    snprintf(name, sizeof name, "mm%zu", i);
    snprintf(out, sizeof out, "y%zu", i);
    snprintf(ins, sizeof ins, "%s,%s", a, b);
    in[2 * i] = add_input(g, pb_str(a), 4, as, 8 + 2 * (uint32_t)i);
    in[2 * i + 1] = add_input(g, pb_str(b), rb, bs, 9 + 2 * (uint32_t)i);
    Onnx__NodeProto *n = ms_node(g, "FusedMatMul", name, ins, out);
    if (alpha != 1.0f) pb_attr_float(n, "alpha", alpha);
    pb_attr_int(n, "transA", ta);
    pb_attr_int(n, "transB", tb);
    pb_attr_int(n, "transBatchA", tba);
    pb_attr_int(n, "transBatchB", tbb);
    pb_add_output(g, pb_value(out, 1, NULL));
}

Test(onnx_contrib, fused_matmul_trans_flags_and_alpha_match_onnxruntime) {
    OrtcInput in[10];
    Onnx__GraphProto *g = pb_graph("g");
    fused_matmul_add(g, in, 1.0f, 0, 0, 0, 0, 0);
    fused_matmul_add(g, in, 0.125f, 0, 0, 0, 0, 0);
    fused_matmul_add(g, in, 1.0f, 1, 0, 0, 0, 0);
    fused_matmul_add(g, in, 0.5f, 0, 1, 0, 0, 0);
    fused_matmul_add(g, in, 1.0f, 1, 1, 0, 0, 0);
    compare("fused_matmul_trans", g, 17, in, 10, &SUM_TOL);
    g = pb_graph("g");
    fused_matmul_add(g, in, 2.0f, 0, 1, 0, 0, 1); /* B of rank 2 */
    fused_matmul_add(g, in, 1.0f, 0, 0, 1, 0, 0);
    fused_matmul_add(g, in, 1.0f, 0, 0, 0, 1, 0);
    fused_matmul_add(g, in, 0.25f, 1, 0, 1, 0, 0);
    fused_matmul_add(g, in, 1.0f, 1, 1, 1, 1, 0);
    compare("fused_matmul_batch", g, 17, in, 10, &SUM_TOL);
}

/* ---------- the GELUs, BiasAdd ---------- */

/* Element-wise contrib ops over x [2, 3, 8] (bias [8]), every case a node of one model per
 * opset; node i writes y<i>. */
static void elementwise_add(Onnx__GraphProto *g, const char *op, const char *ins, float alpha) {
    char name[32], out[32];
    snprintf(name, sizeof name, "op%zu", g->n_node);
    snprintf(out, sizeof out, "y%zu", g->n_node);
    Onnx__NodeProto *n = ms_node(g, op, name, ins, out);
    if (alpha != 0.0f) pb_attr_float(n, "alpha", alpha);
    pb_add_output(g, pb_value(out, 1, NULL));
}

Test(onnx_contrib, gelu_family_matches_onnxruntime_as_chains_and_as_onnx_gelu) {
    static const int64_t xd[3] = {2, 3, 8}, bd[1] = {8};
    static const int opsets[2] = {17, 20}; /* below 20 the erf / tanh chains, from 20 ONNX Gelu */
    for (int i = 0; i < 2; i++) {
        Onnx__GraphProto *g = pb_graph("g");
        OrtcInput in = add_input(g, "x", 3, xd, 10);
        add_weight(g, "bias", 1, bd, 11);
        elementwise_add(g, "Gelu", "x", 0);
        elementwise_add(g, "BiasGelu", "x,bias", 0);
        elementwise_add(g, "FastGelu", "x", 0);
        elementwise_add(g, "FastGelu", "x,bias", 0);
        elementwise_add(g, "QuickGelu", "x", 0);
        elementwise_add(g, "QuickGelu", "x", 1.0f);
        elementwise_add(g, "QuickGelu", "x", 0.3f);
        compare(opsets[i] == 17 ? "gelus_17" : "gelus_20", g, opsets[i], &in, 1, &ELEM_TOL);
    }
}

/* ---------- normalizations ---------- */

/* SkipLayerNormalization / SkipSimplifiedLayerNormalization over x [2, 3, 16]: inputs and
 * outputs as the lists say ("" skips an optional one). */
static void skip_norm_case(const char *tag, const char *op, const char *ins, const char *outs, int opset, float eps) {
    static const int64_t xd[3] = {2, 3, 16}, cd[1] = {16};
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput in[2] = {add_input(g, "x", 3, xd, 13), add_input(g, "skip", 3, xd, 14)};
    add_weight(g, "gamma", 1, cd, 15);
    if (strstr(ins, "beta")) add_weight(g, "beta", 1, cd, 16);
    if (strstr(ins, "bias")) add_weight(g, "bias", 1, cd, 17);
    Onnx__NodeProto *n = ms_node(g, op, "ln0", ins, outs);
    if (eps != 0.0f) pb_attr_float(n, "epsilon", eps);
    size_t n_out;
    char **o = pb_split(outs, &n_out);
    for (size_t i = 0; i < n_out; i++)
        if (o[i][0]) pb_add_output(g, pb_value(o[i], 1, NULL));
    compare(tag, g, opset, in, 2, &NORM_TOL);
}

Test(onnx_contrib, skip_layer_normalization_matches_onnxruntime) {
    skip_norm_case("sln", "SkipLayerNormalization", "x,skip,gamma", "y", 17, 0);
    skip_norm_case("sln_beta_bias", "SkipLayerNormalization", "x,skip,gamma,beta,bias", "y", 17, 1e-5f);
    skip_norm_case("sln_sum", "SkipLayerNormalization", "x,skip,gamma,beta,bias", "y,,,sum", 17, 0);
    skip_norm_case("sln_chain", "SkipLayerNormalization", "x,skip,gamma,beta,bias", "y,,,sum", 13, 1e-5f);
    skip_norm_case("sln_stats", "SkipLayerNormalization", "x,skip,gamma,beta", "y,mean,inv,sum", 17, 0);
    skip_norm_case("sln_stats_chain", "SkipLayerNormalization", "x,skip,gamma,beta", "y,mean,inv", 13, 0);
    skip_norm_case("sln_bias_only", "SkipLayerNormalization", "x,skip,gamma,,bias", "y", 13, 0);
}

Test(onnx_contrib, skip_simplified_layer_normalization_matches_onnxruntime) {
    skip_norm_case("ssln", "SkipSimplifiedLayerNormalization", "x,skip,gamma", "y", 17, 0);
    skip_norm_case("ssln_inv", "SkipSimplifiedLayerNormalization", "x,skip,gamma", "y,,inv", 17, 0);
    skip_norm_case("ssln_bias_sum", "SkipSimplifiedLayerNormalization", "x,skip,gamma,bias", "y,,,sum", 17, 1e-6f);
}

/* SimplifiedLayerNormalization (written in the default domain) over x [2, 3, 16]. */
static void simplified_case(const char *tag, int axis, int inv_out) {
    static const int64_t xd[3] = {2, 3, 16};
    int64_t sd[3] = {3, 16};
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput in = add_input(g, "x", 3, xd, 18);
    add_weight(g, "scale", axis == 1 ? 2 : 1, axis == 1 ? sd : sd + 1, 19);
    Onnx__NodeProto *n =
        pb_add_node(g, pb_node("SimplifiedLayerNormalization", "rms0", "x,scale", inv_out ? "y,inv" : "y"));
    if (axis != -1) pb_attr_int(n, "axis", axis);
    pb_attr_float(n, "epsilon", 1e-6f);
    pb_add_output(g, pb_value("y", 1, NULL));
    if (inv_out) pb_add_output(g, pb_value("inv", 1, NULL));
    compare(tag, g, 17, &in, 1, &NORM_TOL);
}

Test(onnx_contrib, simplified_layer_normalization_in_the_default_domain_matches_onnxruntime) {
    simplified_case("sim_last", -1, 0);
    simplified_case("sim_axis1", 1, 0);
    simplified_case("sim_inv", -1, 1);
}

/* ---------- the lowered graph, without onnxruntime ---------- */

static IrGraph *load(Onnx__GraphProto *g, int opset, RtError *err) {
    size_t len;
    uint8_t *m = pack(g, opset, &len);
    return onnx_load_memory(m, len, NULL, "contrib.onnx", NULL, err);
}

static int count_op(const IrGraph *g, int op) {
    int c = 0;
    for (int k = 0; k < g->n_nodes; k++) c += g->nodes[k].op == op;
    return c;
}

Test(onnx_contrib, fused_conv_becomes_conv_then_clip_keeping_the_node_name) {
    Onnx__GraphProto *g = pb_graph("g");
    static const int64_t xd[4] = {1, 2, 4, 4}, wd[4] = {3, 2, 1, 1};
    static const float clip[2] = {0, 6};
    add_input(g, "x", 4, xd, 1);
    add_weight(g, "w", 4, wd, 2);
    Onnx__NodeProto *n = ms_node(g, "FusedConv", "/features.0/Conv", "x,w", "y");
    pb_attr_str(n, "activation", "Clip");
    pb_attr_floats(n, "activation_params", 2, clip);
    pb_add_output(g, pb_value("y", 1, NULL));
    RtError err = {{0}};
    IrGraph *ir = load(g, 17, &err);
    cr_assert(ir, "%s", err.msg);
    cr_assert_eq(ir->n_nodes, 2);
    cr_expect_eq(ir->nodes[0].op, RT_OP_CONV);
    cr_expect_str_eq(ir->nodes[0].name, "/features.0/Conv");
    cr_expect_eq(ir->nodes[1].op, RT_OP_CLIP);
    cr_expect_str_eq(ir->nodes[1].name, "/features.0/Conv/Clip");
    cr_expect_eq(ir->nodes[1].out[0], ir->outputs[0], "the Clip produces the node's own output");
    ir_graph_free(ir);
}

Test(onnx_contrib, bias_gelu_below_opset_20_is_the_erf_chain_fuse_gelu_knows) {
    Onnx__GraphProto *g = pb_graph("g");
    static const int64_t xd[2] = {2, 8}, bd[1] = {8};
    add_input(g, "x", 2, xd, 1);
    add_weight(g, "bias", 1, bd, 2);
    ms_node(g, "BiasGelu", "bg", "x,bias", "y");
    pb_add_output(g, pb_value("y", 1, NULL));
    RtError err = {{0}};
    IrGraph *ir = load(g, 17, &err);
    cr_assert(ir, "%s", err.msg);
    cr_expect_eq(count_op(ir, RT_OP_ERF), 1);
    cr_expect_eq(count_op(ir, RT_OP_GELU), 0);
    cr_expect_eq(count_op(ir, RT_OP_ADD), 2, "the bias Add and 1 + erf");
    ir_graph_free(ir);
    ir = load(g, 20, &err);
    cr_assert(ir, "%s", err.msg);
    cr_expect_eq(count_op(ir, RT_OP_GELU), 1, "from opset 20: one Gelu");
    cr_expect_eq(count_op(ir, RT_OP_ERF), 0);
    ir_graph_free(ir);
}

/* Runs a one-input graph on x through the reference executor; y malloc'd (caller frees). */
static void run1(IrGraph *ir, const float *x, int rank, const int64_t *dims, RtTensor *y) {
    RtTensor in = {.dtype = RT_F32, .rank = rank, .data = (void *)x};
    memcpy(in.dims, dims, sizeof(int64_t) * (size_t)rank);
    RtError err = {{0}};
    cr_assert_eq(ir_run(ir, &in, y, &err), RT_OK, "%s", err.msg);
}

/* onnxruntime-node 1.30's CPU FusedConv predates Silu (MLAS added it later) and BiasAdd has
 * only a CUDA kernel: both checked against the spec's formulas, computed here in double. */
Test(onnx_contrib, fused_conv_silu_and_bias_add_give_the_spec_values) {
    static const int64_t xd[4] = {1, 1, 2, 3}, wd[4] = {1, 1, 1, 1};
    Onnx__GraphProto *g = pb_graph("g");
    add_input(g, "x", 4, xd, 1);
    static const float one = 1.0f;
    pb_tensor_floats(pb_add_init(g, pb_tensor("w", 1, 4, wd)), 1, &one); /* 1x1 conv by 1: y = silu(x) */
    pb_attr_str(ms_node(g, "FusedConv", "c", "x,w", "y"), "activation", "Silu");
    pb_add_output(g, pb_value("y", 1, NULL));
    RtError err = {{0}};
    IrGraph *ir = load(g, 17, &err);
    cr_assert(ir, "%s", err.msg);
    static const float x[6] = {-3.0f, -1.0f, -0.25f, 0.0f, 0.5f, 4.0f};
    RtTensor y;
    run1(ir, x, 4, xd, &y);
    for (int i = 0; i < 6; i++) {
        double want = x[i] / (1.0 + exp(-(double)x[i]));
        cr_expect(fabs(((float *)y.data)[i] - want) <= 1e-6, "silu(%g) = %g, want %g", x[i], ((float *)y.data)[i],
                  want);
    }
    free(y.data);
    ir_graph_free(ir);

    static const int64_t bd[2] = {2, 3}, cd[1] = {3};
    g = pb_graph("g");
    add_input(g, "x", 2, bd, 1);
    static const float bias[3] = {0.5f, -1.0f, 2.0f}, skip[6] = {1, 2, 3, 4, 5, 6};
    pb_tensor_floats(pb_add_init(g, pb_tensor("bias", 1, 1, cd)), 3, bias);
    pb_tensor_floats(pb_add_init(g, pb_tensor("skip", 1, 2, bd)), 6, skip);
    ms_node(g, "BiasAdd", "ba", "x,bias,skip", "y");
    pb_add_output(g, pb_value("y", 1, NULL));
    cr_assert(ir = load(g, 17, &err), "%s", err.msg);
    run1(ir, x, 2, bd, &y);
    for (int i = 0; i < 6; i++) /* x + bias[c] + skip: sums of small exact binary fractions */
        cr_expect_eq(((float *)y.data)[i], x[i] + bias[i % 3] + skip[i], "element %d", i);
    free(y.data);
    ir_graph_free(ir);
}

/* ---------- bad nodes: exit 2 naming node and op ---------- */

static void expect_refused(const char *tag, Onnx__GraphProto *g, const char *want1, const char *want2) {
    size_t len;
    uint8_t *m = pack(g, 17, &len);
    contrib_expect_refused(tag, m, len, want1, want2);
}

Test(onnx_contrib, bad_contrib_nodes_fail_with_exit_2_naming_node_and_op) {
    static const int64_t xd[4] = {1, 2, 4, 4}, wd[4] = {3, 2, 1, 1};
    Onnx__GraphProto *g = pb_graph("g");
    add_input(g, "x", 4, xd, 1);
    add_weight(g, "w", 4, wd, 2);
    pb_attr_str(ms_node(g, "FusedConv", "conv_bad_act", "x,w", "y"), "activation", "Swish");
    pb_add_output(g, pb_value("y", 1, NULL));
    expect_refused("contrib_act", g, "conv_bad_act", "com.microsoft.FusedConv");

    g = pb_graph("g");
    add_input(g, "x", 4, xd, 1);
    ms_node(g, "BiasGelu", "gelu_short", "x", "y");
    pb_add_output(g, pb_value("y", 1, NULL));
    expect_refused("contrib_short", g, "gelu_short", "com.microsoft.BiasGelu");

    g = pb_graph("g");
    add_input(g, "x", 4, xd, 1);
    add_weight(g, "w", 4, wd, 2);
    Onnx__NodeProto *n = ms_node(g, "FusedConv", "conv_params", "x,w", "y");
    pb_attr_str(n, "activation", "LeakyRelu");
    static const float two[2] = {0.1f, 0.2f};
    pb_attr_floats(n, "activation_params", 2, two);
    pb_add_output(g, pb_value("y", 1, NULL));
    expect_refused("contrib_params", g, "conv_params", "activation_params");

    g = pb_graph("g");
    add_input(g, "x", 4, xd, 1);
    pb_attr_int(ms_node(g, "QuickGelu", "qg_attr", "x", "y"), "approximate", 1);
    pb_add_output(g, pb_value("y", 1, NULL));
    expect_refused("contrib_attr", g, "qg_attr", "'approximate'");
}

Test(onnx_contrib, a_contrib_node_of_a_domain_the_model_does_not_import_is_refused) {
    static const int64_t xd[2] = {2, 8};
    Onnx__GraphProto *g = pb_graph("g");
    add_input(g, "x", 2, xd, 1);
    ms_node(g, "Gelu", "g_noimport", "x", "y");
    pb_add_output(g, pb_value("y", 1, NULL));
    size_t len;
    uint8_t *m = pb_model_pack(g, 8, 17, "test", &len); /* the default domain only */
    RtError err = {{0}};
    IrGraph *ir = onnx_load_memory(m, len, NULL, "noimport.onnx", NULL, &err);
    cr_expect_null(ir);
    cr_expect(strstr(err.msg, "g_noimport") && strstr(err.msg, "not imported"), "%s", err.msg);
    ir_graph_free(ir);
}

Test(onnx_contrib, an_unknown_op_next_to_contrib_ops_is_still_refused) {
    static const int64_t xd[2] = {2, 8};
    Onnx__GraphProto *g = pb_graph("g");
    add_input(g, "x", 2, xd, 1);
    ms_node(g, "Gelu", "g0", "x", "t");
    ms_node(g, "NotAnOp", "mystery", "t", "y");
    pb_add_output(g, pb_value("y", 1, NULL));
    expect_refused("contrib_unknown", g, "mystery", "is not supported");
}

/* ---------- Attention, MultiHeadAttention ---------- */

/* Attention/MHA: softmax over <= 6 scores of sums of 8 products, then a weighted sum of
 * values: a few ulps of outputs of magnitude <= ~4 (onnxruntime scales inside its GEMM). */
static const OrtcTol ATTN_TOL = {2e-5, 1e-4, 0};

/* An int32 0/1 mask input of shape dims[rank]: every 3rd element 0, the first of each row 1
 * (so no row is all masked). */
static OrtcInput add_mask(Onnx__GraphProto *g, const char *name, int rank, const int64_t *dims) {
    pb_add_input(g, pb_value_typed(name, pb_type_dims(6, rank, dims)));
    int64_t n = numel(rank, dims), row = dims[rank - 1];
    int32_t *m = pb_zalloc(sizeof(int32_t) * (size_t)n);
    for (int64_t i = 0; i < n; i++) m[i] = (i % row == 0) || (i % 3 != 2);
    OrtcInput in = {name, {.dtype = RT_I32, .rank = rank, .data = m}};
    memcpy(in.t.dims, dims, sizeof(int64_t) * (size_t)rank);
    return in;
}

/* Attention over x [2, 5, 8], 2 heads; `what` picks the optional parts. */
static void attention_case(const char *tag, const char *what) {
    static const int64_t xd[3] = {2, 5, 8}, m2[2] = {2, 5}, m3[3] = {2, 5, 5}, ab[4] = {1, 2, 5, 5};
    int narrow_v = strstr(what, "qkv_sizes") != NULL; /* Dv = 4: weights [8, 20] */
    int64_t wd[2] = {8, narrow_v ? 20 : 24}, bd[1] = {narrow_v ? 20 : 24};
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput in[3];
    int n_in = 0;
    in[n_in++] = add_input(g, "x", 3, xd, 20);
    add_weight(g, "w", 2, wd, 21);
    add_weight(g, "b", 1, bd, 22);
    char ins[64] = "x,w,b";
    if (strstr(what, "mask2")) in[n_in++] = add_mask(g, "mask", 2, m2);
    if (strstr(what, "mask3")) in[n_in++] = add_mask(g, "mask", 3, m3);
    if (strstr(what, "mask")) strcat(ins, ",mask");
    if (strstr(what, "attn_bias")) {
        in[n_in++] = add_input(g, "ab", 4, ab, 23);
        strcat(ins, strstr(what, "mask") ? ",,ab" : ",,,ab");
    }
    Onnx__NodeProto *n = ms_node(g, "Attention", "attn0", ins, "y");
    pb_attr_int(n, "num_heads", 2);
    if (strstr(what, "causal")) pb_attr_int(n, "unidirectional", 1);
    if (strstr(what, "scale")) pb_attr_float(n, "scale", 0.2f);
    if (narrow_v) {
        static const int64_t sizes[3] = {8, 8, 4};
        pb_attr_ints(n, "qkv_hidden_sizes", 3, sizes);
    }
    pb_add_output(g, pb_value("y", 1, NULL));
    compare(tag, g, 17, in, n_in, &ATTN_TOL);
}

Test(onnx_contrib, attention_matches_onnxruntime) {
    attention_case("attn", "");
    attention_case("attn_mask2", "mask2");
    attention_case("attn_mask3", "mask3");
    attention_case("attn_causal", "causal");
    attention_case("attn_causal_mask", "causal,mask2");
    attention_case("attn_scale_sizes", "scale,qkv_sizes");
    attention_case("attn_bias", "attn_bias");
}

/* MultiHeadAttention: query [2, 5, 8], key [2, L, 8], value [2, L, 4], 2 heads. */
static void mha_case(const char *tag, const char *what, int64_t Lk) {
    int64_t qd[3] = {2, 5, 8}, kd[3] = {2, Lk, 8}, vd[3] = {2, Lk, 4}, bd[1] = {20}, md[2] = {2, Lk};
    int64_t abd[4] = {2, 1, 5, Lk};
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput in[5];
    int n_in = 0;
    in[n_in++] = add_input(g, "q", 3, qd, 30);
    in[n_in++] = add_input(g, "k", 3, kd, 31);
    in[n_in++] = add_input(g, "v", 3, vd, 32);
    char ins[64] = "q,k,v";
    if (strstr(what, "bias")) add_weight(g, "b", 1, bd, 33);
    strcat(ins, strstr(what, "bias") ? ",b" : ",");
    if (strstr(what, "mask")) in[n_in++] = add_mask(g, "mask", 2, md);
    strcat(ins, strstr(what, "mask") ? ",mask" : ",");
    if (strstr(what, "ab")) in[n_in++] = add_input(g, "ab", 4, abd, 34);
    strcat(ins, strstr(what, "ab") ? ",ab" : ",");
    while (ins[strlen(ins) - 1] == ',') ins[strlen(ins) - 1] = '\0';
    Onnx__NodeProto *n = ms_node(g, "MultiHeadAttention", "mha0", ins, "y");
    pb_attr_int(n, "num_heads", 2);
    if (strstr(what, "causal")) pb_attr_int(n, "unidirectional", 1);
    if (strstr(what, "scale")) pb_attr_float(n, "scale", 0.3f);
    pb_add_output(g, pb_value("y", 1, NULL));
    compare(tag, g, 17, in, n_in, &ATTN_TOL);
}

Test(onnx_contrib, multi_head_attention_matches_onnxruntime) {
    mha_case("mha", "", 6);
    mha_case("mha_bias", "bias", 6);
    mha_case("mha_mask", "bias,mask", 6);
    mha_case("mha_ab_scale", "ab,scale", 6);
    mha_case("mha_causal", "causal", 5);
}

Test(onnx_contrib, attention_forms_not_rewritten_are_refused_by_name) {
    static const int64_t xd[3] = {2, 5, 8}, wd[2] = {8, 24}, ld[1] = {4}; /* [2 * batch]: start and end */
    Onnx__GraphProto *g = pb_graph("g");
    add_input(g, "x", 3, xd, 20);
    add_weight(g, "w", 2, wd, 21);
    add_mask(g, "lens", 1, ld);
    pb_attr_int(ms_node(g, "Attention", "attn_lens", "x,w,,lens", "y"), "num_heads", 2);
    pb_add_output(g, pb_value("y", 1, NULL));
    expect_refused("attn_lens", g, "attn_lens", "mask_index");

    g = pb_graph("g");
    add_input(g, "x", 3, xd, 20);
    pb_attr_int(ms_node(g, "MultiHeadAttention", "mha_packed", "x", "y"), "num_heads", 2);
    pb_add_output(g, pb_value("y", 1, NULL));
    expect_refused("mha_packed", g, "mha_packed", "packed");
}

/* FusedMatMul's transposes need its inputs' ranks: here A comes out of another contrib node
 * with no declared type, so the rewrite waits for shape inference over the lowered QuickGelu
 * (onnx_contrib.c's second pass). */
Test(onnx_contrib, a_rank_known_only_after_inference_is_waited_for) {
    static const int64_t ad[4] = {2, 3, 6, 4}, bd[2] = {5, 6};
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput in = add_input(g, "a", 4, ad, 40);
    add_weight(g, "b", 2, bd, 41);
    ms_node(g, "QuickGelu", "qg", "a", "t");
    Onnx__NodeProto *n = ms_node(g, "FusedMatMul", "mm", "t,b", "y");
    pb_attr_int(n, "transA", 1);
    pb_attr_int(n, "transB", 1);
    pb_add_output(g, pb_value("y", 1, NULL));
    RtError err = {{0}};
    IrGraph *ir = load(g, 17, &err);
    cr_assert(ir, "%s", err.msg);
    cr_expect_eq(count_op(ir, RT_OP_TRANSPOSE), 2);
    ir_graph_free(ir);
    compare("pending_rank", g, 17, &in, 1, &SUM_TOL);
}

/* ---------- EmbedLayerNormalization (and Attention on its mask_index) ---------- */

/* An int32 input of ids in [0, mod) (or, with right_pad, a 0/1 mask whose row b keeps its
 * first S - b tokens). */
static OrtcInput add_ids(Onnx__GraphProto *g, const char *name, int rank, const int64_t *dims, int mod, int right_pad,
                         uint32_t seed) {
    pb_add_input(g, pb_value_typed(name, pb_type_dims(6, rank, dims)));
    int64_t n = numel(rank, dims), S = dims[rank - 1];
    int32_t *v = pb_zalloc(sizeof(int32_t) * (size_t)n);
    uint32_t s = seed;
    for (int64_t i = 0; i < n; i++)
        v[i] = right_pad ? (i % S) < S - i / S : (int32_t)(((s = s * 1664525u + 1013904223u) >> 8) % (uint32_t)mod);
    OrtcInput in = {name, {.dtype = RT_I32, .rank = rank, .data = v}};
    memcpy(in.t.dims, dims, sizeof(int64_t) * (size_t)rank);
    return in;
}

/* ids [2, 5] over a vocabulary of 10, hidden 8; `what`: seg, mask, posids, attn. */
static void embed_case(const char *tag, const char *what, int opset) {
    static const int64_t idd[2] = {2, 5}, wd[2] = {10, 8}, pd[2] = {6, 8}, sd[2] = {2, 8}, hd[1] = {8};
    static const int64_t awd[2] = {8, 24}, abd[1] = {24};
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput in[4];
    int n_in = 0, seg = strstr(what, "seg") != NULL, mask = strstr(what, "mask") != NULL;
    int pos = strstr(what, "posids") != NULL, attn = strstr(what, "attn") != NULL;
    in[n_in++] = add_ids(g, "ids", 2, idd, 10, 0, 1);
    if (seg) in[n_in++] = add_ids(g, "seg", 2, idd, 2, 0, 2);
    if (mask) in[n_in++] = add_ids(g, "mask", 2, idd, 2, 1, 3);
    if (pos) in[n_in++] = add_ids(g, "pos", 2, idd, 6, 0, 4);
    add_weight(g, "word", 2, wd, 50);
    add_weight(g, "ptab", 2, pd, 51);
    if (seg) add_weight(g, "stab", 2, sd, 52);
    add_weight(g, "gamma", 1, hd, 53);
    add_weight(g, "beta", 1, hd, 54);
    char ins[96];
    snprintf(ins, sizeof ins, "ids,%s,word,ptab,%s,gamma,beta%s%s", seg ? "seg" : "", seg ? "stab" : "",
             mask || pos ? (mask ? ",mask" : ",") : "", pos ? ",pos" : "");
    const char *outs = attn ? "y,mi" : mask ? "y,mi,sum" : "y,,sum";
    ms_node(g, "EmbedLayerNormalization", "emb0", ins, outs);
    if (attn) {
        add_weight(g, "aw", 2, awd, 55);
        add_weight(g, "ab", 1, abd, 56);
        pb_attr_int(ms_node(g, "Attention", "attn0", "y,aw,ab,mi", "z"), "num_heads", 2);
        pb_add_output(g, pb_value("z", 1, NULL));
    } else {
        pb_add_output(g, pb_value("y", 1, NULL));
        pb_add_output(g, pb_value("sum", 1, NULL));
        if (mask) pb_add_output(g, pb_value("mi", 6, NULL));
    }
    compare(tag, g, opset, in, n_in, &ATTN_TOL);
}

Test(onnx_contrib, embed_layer_normalization_matches_onnxruntime) {
    embed_case("emb", "", 17);
    embed_case("emb_seg_mask", "seg,mask", 17);
    embed_case("emb_posids", "seg,posids", 17);
    embed_case("emb_chain", "seg,mask", 13); /* LayerNorm as the ReduceMean chain */
}

Test(onnx_contrib, attention_on_embed_layer_normalization_mask_index_matches_onnxruntime) {
    embed_case("emb_attn", "seg,mask,attn", 17);
}
