/*
 * test_train_ops.c — every differentiable op of train/, one small graph each: the forward
 * pass must equal the runtime's reference kernels (ir_run, an independent implementation),
 * and every gradient must equal central finite differences of L = sum(out * R) (R fixed
 * random weights) taken through the forward pass. Every tensor is a graph constant, so each
 * one (the op's data input included) is a parameter with a gradient to check.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../frontend/onnx.h"
#include "../../train/train.h"
#include "../ir/ir_test_util.h"
#include "train_check.h"

/* Forward vs the runtime's kernels: the same float32 math in another summation order. */
#define FWD_TOL 1e-4

/* Forward vs ir_run (in evaluation mode when `eval`), then every parameter's gradient vs
 * finite differences (in training mode unless `eval`); frees g. */
static void check_graph(IrGraph *g, int eval) { tc_check_graph(g, NULL, eval, FWD_TOL); }
static int cst(IrGraph *g, const char *name, int rank, const int64_t *dims, uint32_t seed, float lo, float hi) {
    return tc_cst(g, name, rank, dims, seed, lo, hi);
}

Test(train_ops, gemm_transB_bias_alpha_beta) {
    IrGraph *g = tg_graph(17);
    int64_t ad[2] = {3, 4}, bd[2] = {5, 4}, cd[1] = {5};
    int in[3] = {cst(g, "A", 2, ad, 1, -1, 1), cst(g, "B", 2, bd, 2, -1, 1), cst(g, "C", 1, cd, 3, -1, 1)};
    tg_output(g, tg_node(g, RT_OP_GEMM, "gemm", 3, in, "y"));
    tc_attr_int(g, "transB", 1);
    tc_attr_float(g, "alpha", 0.7f);
    tc_attr_float(g, "beta", 1.3f);
    check_graph(g, 0);
}

Test(train_ops, gemm_transA_column_bias) {
    IrGraph *g = tg_graph(17);
    int64_t ad[2] = {4, 3}, bd[2] = {4, 5}, cd[2] = {3, 1};
    int in[3] = {cst(g, "A", 2, ad, 1, -1, 1), cst(g, "B", 2, bd, 2, -1, 1), cst(g, "C", 2, cd, 3, -1, 1)};
    tg_output(g, tg_node(g, RT_OP_GEMM, "gemm", 3, in, "y"));
    tc_attr_int(g, "transA", 1);
    check_graph(g, 0);
}

Test(train_ops, matmul_rows_and_batched) {
    IrGraph *g = tg_graph(17);
    int64_t ad[3] = {2, 3, 4}, bd[2] = {4, 5}, bd3[3] = {2, 5, 3};
    int in[2] = {cst(g, "A", 3, ad, 1, -1, 1), cst(g, "B", 2, bd, 2, -1, 1)};
    int y = tg_node(g, RT_OP_MATMUL, "mm", 2, in, "y");
    int in2[2] = {y, cst(g, "B2", 3, bd3, 3, -1, 1)};
    tg_output(g, tg_node(g, RT_OP_MATMUL, "bmm", 2, in2, "z"));
    check_graph(g, 0);
}

Test(train_ops, conv_group_stride_pads_bias) {
    IrGraph *g = tg_graph(17);
    int64_t xd[4] = {2, 4, 5, 6}, wd[4] = {6, 2, 3, 3}, bd[1] = {6};
    int in[3] = {cst(g, "X", 4, xd, 1, -1, 1), cst(g, "W", 4, wd, 2, -1, 1), cst(g, "Bc", 1, bd, 3, -1, 1)};
    tg_output(g, tg_node(g, RT_OP_CONV, "conv", 3, in, "y"));
    int64_t s[2] = {2, 1}, p[4] = {1, 0, 1, 2};
    tc_attr_int(g, "group", 2);
    tg_attr_ints(g, "strides", 2, s);
    tg_attr_ints(g, "pads", 4, p);
    check_graph(g, 0);
}

Test(train_ops, conv_dilation_same_upper_and_1d) {
    IrGraph *g = tg_graph(17);
    int64_t xd[4] = {1, 2, 6, 6}, wd[4] = {3, 2, 2, 3};
    int in[2] = {cst(g, "X", 4, xd, 4, -1, 1), cst(g, "W", 4, wd, 5, -1, 1)};
    int y = tg_node(g, RT_OP_CONV, "conv", 2, in, "y");
    int64_t dl[2] = {2, 1};
    tg_attr_ints(g, "dilations", 2, dl);
    tc_attr_str(g, "auto_pad", "SAME_UPPER");
    int64_t shp[3] = {1, 3, 36};
    int ri[2] = {y, tg_const_i64(g, "shape", 3, shp)};
    int r = tg_node(g, RT_OP_RESHAPE, "r", 2, ri, "r");
    int64_t w1[3] = {2, 3, 4};
    int in1[2] = {r, cst(g, "W1", 3, w1, 6, -1, 1)};
    tg_output(g, tg_node(g, RT_OP_CONV, "conv1d", 2, in1, "z"));
    int64_t s1 = 3;
    tg_attr_ints(g, "strides", 1, &s1);
    check_graph(g, 0);
}

/* x -> Relu / LeakyRelu / Sigmoid / Tanh, summed through Adds so one output covers all four */
Test(train_ops, activations) {
    IrGraph *g = tg_graph(17);
    int64_t d[2] = {3, 7};
    int x = cst(g, "X", 2, d, 7, -2, 2);
    int a = tg_node(g, RT_OP_RELU, "relu", 1, &x, "a");
    int b = tg_node(g, RT_OP_LEAKY_RELU, "leaky", 1, &x, "b");
    tc_attr_float(g, "alpha", 0.2f);
    int c = tg_node(g, RT_OP_SIGMOID, "sig", 1, &x, "c");
    int e = tg_node(g, RT_OP_TANH, "tanh", 1, &x, "e");
    int s1[2] = {a, b}, s2[2] = {c, e};
    int ab = tg_node(g, RT_OP_ADD, "add1", 2, s1, "ab");
    int ce = tg_node(g, RT_OP_MUL, "mul1", 2, s2, "ce");
    int s3[2] = {ab, ce};
    tg_output(g, tg_node(g, RT_OP_SUB, "sub", 2, s3, "y"));
    check_graph(g, 0);
}

Test(train_ops, broadcast_add_mul_sub) {
    IrGraph *g = tg_graph(17);
    int64_t ad[3] = {2, 3, 4}, bd[2] = {3, 1}, cd[1] = {4}, dd[4] = {2, 1, 1, 1};
    int in1[2] = {cst(g, "A", 3, ad, 1, -1, 1), cst(g, "B", 2, bd, 2, -1, 1)};
    int y = tg_node(g, RT_OP_ADD, "add", 2, in1, "y");
    int in2[2] = {cst(g, "C", 1, cd, 3, -1, 1), y};
    int z = tg_node(g, RT_OP_MUL, "mul", 2, in2, "z");
    int in3[2] = {z, cst(g, "D", 4, dd, 4, -1, 1)};
    int s = tg_node(g, RT_OP_SUB, "sub", 2, in3, "s");
    int in4[2] = {s, s}; /* one value read twice: x * x */
    tg_output(g, tg_node(g, RT_OP_MUL, "sq", 2, in4, "q"));
    check_graph(g, 0);
}

Test(train_ops, flatten_reshape) {
    IrGraph *g = tg_graph(17);
    int64_t xd[4] = {2, 3, 2, 2}, shp[2] = {-1, 4}, wd[2] = {12, 2};
    int x = cst(g, "X", 4, xd, 1, -1, 1);
    int f = tg_node(g, RT_OP_FLATTEN, "flat", 1, &x, "f");
    int mi[2] = {f, cst(g, "W", 2, wd, 2, -1, 1)};
    int y = tg_node(g, RT_OP_MATMUL, "mm", 2, mi, "y");
    int ri[2] = {y, tg_const_i64(g, "shape", 2, shp)};
    tg_output(g, tg_node(g, RT_OP_RESHAPE, "r", 2, ri, "z"));
    check_graph(g, 0);
}

/* x.view(x.size(0), -1) as exporters write it: Shape -> Gather -> Unsqueeze -> Concat feeding
 * Reshape's shape. The chain is side nodes (the runtime's kernels, no gradient); the gradient
 * flows through Relu, Reshape and MatMul to X and W. */
Test(train_ops, reshape_from_a_shape_chain) {
    IrGraph *g = tg_graph(17);
    int64_t xd[3] = {2, 3, 4}, wd[2] = {12, 5}, zero = 0, minus1 = -1;
    int x = cst(g, "X", 3, xd, 1, -1, 1);
    int r = tg_node(g, RT_OP_RELU, "relu", 1, &x, "r");
    int sh = tg_node(g, RT_OP_SHAPE, "shape", 1, &r, "sh");
    int gi[2] = {sh, tg_const_i64(g, "i0", -1, &zero)};
    int b = tg_node(g, RT_OP_GATHER, "gather", 2, gi, "b");
    int ui[2] = {b, tg_const_i64(g, "ax0", 1, &zero)};
    int bu = tg_node(g, RT_OP_UNSQUEEZE, "unsq", 2, ui, "bu");
    int ci[2] = {bu, tg_const_i64(g, "m1", 1, &minus1)};
    int shape = tg_node(g, RT_OP_CONCAT, "concat", 2, ci, "shape2");
    tc_attr_int(g, "axis", 0);
    int ri[2] = {r, shape};
    int f = tg_node(g, RT_OP_RESHAPE, "view", 2, ri, "f");
    int mi[2] = {f, cst(g, "W", 2, wd, 2, -1, 1)};
    tg_output(g, tg_node(g, RT_OP_MATMUL, "mm", 2, mi, "y"));
    check_graph(g, 0);
}

Test(train_ops, maxpool_pads_ceil) {
    IrGraph *g = tg_graph(17);
    int64_t xd[4] = {2, 2, 5, 5}, ks[2] = {2, 2}, st[2] = {2, 2}, pd[4] = {1, 1, 0, 0};
    int x = cst(g, "X", 4, xd, 1, -1, 1);
    tg_output(g, tg_node(g, RT_OP_MAX_POOL, "mp", 1, &x, "y"));
    tg_attr_ints(g, "kernel_shape", 2, ks);
    tg_attr_ints(g, "strides", 2, st);
    tg_attr_ints(g, "pads", 4, pd);
    tc_attr_int(g, "ceil_mode", 1);
    check_graph(g, 0);
}

static void avgpool_case(int include_pad) {
    IrGraph *g = tg_graph(17);
    int64_t xd[4] = {1, 3, 6, 5}, ks[2] = {3, 3}, st[2] = {2, 2}, pd[4] = {1, 1, 1, 1};
    int x = cst(g, "X", 4, xd, 2, -1, 1);
    int y = tg_node(g, RT_OP_AVERAGE_POOL, "ap", 1, &x, "y");
    tg_attr_ints(g, "kernel_shape", 2, ks);
    tg_attr_ints(g, "strides", 2, st);
    tg_attr_ints(g, "pads", 4, pd);
    tc_attr_int(g, "count_include_pad", include_pad);
    int z = tg_node(g, RT_OP_GLOBAL_AVERAGE_POOL, "gap", 1, &y, "z");
    int in[2] = {z, cst(g, "S", 4, (int64_t[]){1, 3, 1, 1}, 3, -1, 1)};
    tg_output(g, tg_node(g, RT_OP_MUL, "mul", 2, in, "o"));
    check_graph(g, 0);
}
Test(train_ops, avgpool_exclude_pad_and_gap) { avgpool_case(0); }
Test(train_ops, avgpool_include_pad) { avgpool_case(1); }

static IrGraph *bn_graph(void) {
    IrGraph *g = tg_graph(15);
    int64_t xd[4] = {4, 3, 2, 2}, cd[1] = {3};
    int in[5] = {cst(g, "X", 4, xd, 1, -2, 3), cst(g, "scale", 1, cd, 2, 0.5f, 1.5f), cst(g, "bias", 1, cd, 3, -1, 1),
                 cst(g, "mean", 1, cd, 4, -0.2f, 0.2f), cst(g, "var", 1, cd, 5, 0.5f, 2)};
    tg_output(g, tg_node(g, RT_OP_BATCH_NORMALIZATION, "bn", 5, in, "y"));
    tc_attr_float(g, "epsilon", 1e-3f);
    return g;
}
Test(train_ops, batchnorm_training_mode) { check_graph(bn_graph(), 0); }
Test(train_ops, batchnorm_eval_mode) { check_graph(bn_graph(), 1); }

/* Training-mode BN: the output uses the batch's statistics and the running ones move by
 * (1 - momentum) toward them (ONNX BatchNormalization-15, training_mode: population variance). */
Test(train_ops, batchnorm_running_statistics) {
    IrGraph *g = tg_graph(15);
    float x[4] = {1, 2, 3, 6}, one = 1, zero = 0, rm = 0.5f, rv = 2;
    int64_t xd[4] = {4, 1, 1, 1}, cd[1] = {1};
    int in[5] = {tg_const_f32(g, "X", 4, xd, x), tg_const_f32(g, "s", 1, cd, &one), tg_const_f32(g, "b", 1, cd, &zero),
                 tg_const_f32(g, "m", 1, cd, &rm), tg_const_f32(g, "v", 1, cd, &rv)};
    int y = tg_node(g, RT_OP_BATCH_NORMALIZATION, "bn", 5, in, "y");
    tc_attr_float(g, "momentum", 0.8f);
    tg_output(g, y);
    TrainModel m;
    cr_assert_eq(train_model_init(&m, g, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(m.n_params, 3, "X, scale and bias train; the running statistics do not");
    cr_assert_eq(train_model_forward(&m, NULL, &err), RT_OK, "%s", err.msg);
    /* batch mean 3, population variance (4 + 1 + 0 + 9) / 4 = 3.5 */
    float *mean = g->values[in[3]].konst->data, *var = g->values[in[4]].konst->data;
    cr_assert_float_eq(mean[0], 0.8f * 0.5f + 0.2f * 3.0f, 1e-6);
    cr_assert_float_eq(var[0], 0.8f * 2.0f + 0.2f * 3.5f, 1e-6);
    cr_assert_float_eq(m.t[y].x[3], (6 - 3) / sqrtf(3.5f + 1e-5f), 1e-5);
    train_model_free(&m);
    ir_graph_free(g);
}

Test(train_ops, softmax_logsoftmax) {
    IrGraph *g = tg_graph(17);
    int64_t xd[3] = {2, 3, 4};
    int x = cst(g, "X", 3, xd, 1, -2, 2);
    int a = tg_node(g, RT_OP_SOFTMAX, "sm", 1, &x, "a");
    int b = tg_node(g, RT_OP_LOG_SOFTMAX, "lsm", 1, &x, "b");
    tc_attr_int(g, "axis", 1);
    int in[2] = {a, b};
    tg_output(g, tg_node(g, RT_OP_ADD, "add", 2, in, "y"));
    check_graph(g, 0);
}

Test(train_ops, softmax_opset11_flattens) {
    IrGraph *g = tg_graph(11);
    int64_t xd[3] = {2, 3, 4};
    int x = cst(g, "X", 3, xd, 1, -2, 2);
    tg_output(g, tg_node(g, RT_OP_SOFTMAX, "sm", 1, &x, "y"));
    tc_attr_int(g, "axis", 1);
    check_graph(g, 0);
}

Test(train_ops, layernorm) {
    IrGraph *g = tg_graph(17);
    int64_t xd[3] = {2, 3, 5}, sd[1] = {5};
    int in[3] = {cst(g, "X", 3, xd, 1, -2, 2), cst(g, "scale", 1, sd, 2, 0.5f, 1.5f), cst(g, "bias", 1, sd, 3, -1, 1)};
    tg_output(g, tg_node(g, RT_OP_LAYER_NORMALIZATION, "ln", 3, in, "y"));
    check_graph(g, 0);
}

/* TopK on a parameter: a float output with a gradient train/ does not compute. */
Test(train_ops, unsupported_op_named) {
    IrGraph *g = tg_graph(17);
    int64_t d[1] = {3}, two = 2;
    int in[2] = {cst(g, "X", 1, d, 1, 0.5f, 1), tg_const_i64(g, "K", 1, &two)};
    tg_output(g, tg_node(g, RT_OP_TOPK, "my_topk", 2, in, "y"));
    TrainModel m;
    cr_assert_neq(train_model_init(&m, g, &err), RT_OK);
    cr_assert(strstr(err.msg, "my_topk") && strstr(err.msg, "TopK"), "%s", err.msg);
    ir_graph_free(g);
}

/* Clip (ReLU6-style bounds as inputs): the bounds are not trained, x gets 1[min <= x <= max]. */
Test(train_ops, clip_bounds_are_not_parameters) {
    IrGraph *g = tg_graph(13);
    int64_t d[2] = {4, 5};
    float lo = -0.5f, hi = 0.7f;
    int in[3] = {cst(g, "X", 2, d, 8, -2, 2), tg_const_f32(g, "lo", 0, d, &lo), tg_const_f32(g, "hi", 0, d, &hi)};
    tg_output(g, tg_node(g, RT_OP_CLIP, "clip", 3, in, "y"));
    TrainModel m;
    cr_assert_eq(train_model_init(&m, g, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(m.n_params, 1, "only X");
    train_model_free(&m);
    check_graph(g, 0);
}

Test(train_ops, clip_opset6_attributes) {
    IrGraph *g = tg_graph(6);
    int64_t d[2] = {3, 4};
    int x = cst(g, "X", 2, d, 9, -2, 2);
    tg_output(g, tg_node(g, RT_OP_CLIP, "clip", 1, &x, "y"));
    tc_attr_float(g, "min", -1.0f);
    tc_attr_float(g, "max", 0.25f);
    check_graph(g, 0);
}

/* Conv batches samples into one GEMM up to conv_col_floats: one sample per product gives the
 * same outputs and gradients (the same sums; only the GEMM's blocking differs). */
Test(train_ops, conv_sample_chunks_agree) {
    IrGraph *g = tg_graph(17);
    int64_t xd[4] = {5, 2, 6, 5}, wd[4] = {4, 2, 3, 3};
    int in[2] = {cst(g, "X", 4, xd, 1, -1, 1), cst(g, "W", 4, wd, 2, -1, 1)};
    int64_t p[4] = {1, 1, 1, 1};
    int y = tg_node(g, RT_OP_CONV, "conv", 2, in, "y");
    tg_attr_ints(g, "pads", 4, p);
    tg_output(g, y);
    float *res[2][3];
    for (int run = 0; run < 2; run++) {
        TrainModel m;
        cr_assert_eq(train_model_init(&m, g, &err), RT_OK, "%s", err.msg);
        m.conv_col_floats = run ? 1 : 0;
        cr_assert_eq(train_model_forward(&m, NULL, &err), RT_OK, "%s", err.msg);
        int64_t n = train_tensor_numel(&m.t[y]);
        float *R = malloc(sizeof(float) * (size_t)n);
        tc_fill(R, n, 3, -1, 1);
        const float *dout[1] = {R};
        cr_assert_eq(train_model_backward(&m, dout, &err), RT_OK, "%s", err.msg);
        int64_t sizes[3] = {n, 5 * 2 * 6 * 5, 4 * 2 * 9};
        const float *src[3] = {m.t[y].x, m.t[in[0]].dx, m.t[in[1]].dx};
        for (int t = 0; t < 3; t++) {
            res[run][t] = malloc(sizeof(float) * (size_t)sizes[t]);
            memcpy(res[run][t], src[t], sizeof(float) * (size_t)sizes[t]);
            if (run)
                for (int64_t i = 0; i < sizes[t]; i++)
                    cr_assert(fabsf(res[0][t][i] - res[1][t][i]) <= FWD_TOL * (1 + fabsf(res[0][t][i])),
                              "tensor %d [%lld]: %g vs %g", t, (long long)i, res[0][t][i], res[1][t][i]);
        }
        free(R);
        train_model_free(&m);
    }
    for (int r = 0; r < 2; r++)
        for (int t = 0; t < 3; t++) free(res[r][t]);
    ir_graph_free(g);
}

Test(train_ops, maxpool_dilation_same_lower_and_1d_avgpool_ceil) {
    IrGraph *g = tg_graph(19);
    int64_t xd[4] = {1, 2, 7, 6}, ks[2] = {2, 3}, dl[2] = {2, 1}, st[2] = {2, 2};
    int x = cst(g, "X", 4, xd, 4, -1, 1);
    int y = tg_node(g, RT_OP_MAX_POOL, "mp", 1, &x, "y");
    tg_attr_ints(g, "kernel_shape", 2, ks);
    tg_attr_ints(g, "dilations", 2, dl);
    tg_attr_ints(g, "strides", 2, st);
    tc_attr_str(g, "auto_pad", "SAME_LOWER");
    int64_t shp[3] = {1, 2, -1};
    int ri[2] = {y, tg_const_i64(g, "shape", 3, shp)};
    int r = tg_node(g, RT_OP_RESHAPE, "r", 2, ri, "r");
    int64_t k1 = 3, s1 = 2, p1[2] = {0, 1};
    tg_output(g, tg_node(g, RT_OP_AVERAGE_POOL, "ap", 1, &r, "z"));
    tg_attr_ints(g, "kernel_shape", 1, &k1);
    tg_attr_ints(g, "strides", 1, &s1);
    tg_attr_ints(g, "pads", 2, p1);
    tc_attr_int(g, "ceil_mode", 1);
    check_graph(g, 0);
}

/* numpy matmul: broadcast batch dims (A's batch of 1 against B's 2: dA sums both) and 1-D
 * operands on either side. */
Test(train_ops, matmul_broadcast_and_vectors) {
    IrGraph *g = tg_graph(17);
    int64_t ad[3] = {1, 3, 4}, bd[3] = {2, 4, 5}, vd[1] = {5}, ud[1] = {3};
    int in[2] = {cst(g, "A", 3, ad, 1, -1, 1), cst(g, "B", 3, bd, 2, -1, 1)};
    int y = tg_node(g, RT_OP_MATMUL, "bmm", 2, in, "y"); /* [2,3,5] */
    int in2[2] = {y, cst(g, "v", 1, vd, 3, -1, 1)};
    int z = tg_node(g, RT_OP_MATMUL, "mv", 2, in2, "z"); /* [2,3] */
    int in3[2] = {cst(g, "u", 1, ud, 4, -1, 1), cst(g, "C", 2, (int64_t[]){3, 2}, 5, -1, 1)};
    int w = tg_node(g, RT_OP_MATMUL, "vm", 2, in3, "w"); /* [2] */
    int in4[2] = {z, tg_node(g, RT_OP_RESHAPE, "rw", 2, (int[]){w, tg_const_i64(g, "s", 2, (int64_t[]){2, 1})}, "w2")};
    tg_output(g, tg_node(g, RT_OP_MUL, "mul", 2, in4, "o"));
    check_graph(g, 0);
}

/* tinylm as PyTorch exported it writes its attention scale and GELU's constants as Constant
 * nodes: the frontend marks them, and training keeps them fixed (only initializers, which
 * onnx_save_weights writes back, are parameters). */
Test(train_ops, constant_node_values_are_not_parameters) {
    char path[512];
    snprintf(path, sizeof path, "%s/tinylm/tinylm.onnx", FIXTURES);
    IrGraph *g = onnx_load_file(path, NULL, &err);
    cr_assert_not_null(g, "%s", err.msg);
    int from_nodes = 0;
    for (int v = 0; v < g->n_values; v++)
        from_nodes += g->values[v].from_constant_node && g->values[v].konst && g->values[v].konst->dtype == RT_F32;
    cr_assert_gt(from_nodes, 0, "tinylm's float Constant nodes were not marked");
    TrainModel m;
    cr_assert_eq(train_model_init(&m, g, &err), RT_OK, "%s", err.msg);
    cr_assert_gt(m.n_params, 0);
    for (int p = 0; p < m.n_params; p++)
        cr_assert(!g->values[m.p[p].value].from_constant_node, "'%s' (a Constant node) is trained",
                  g->values[m.p[p].value].name);
    train_model_free(&m);
    ir_graph_free(g);
}

/* F.pad(x, ..., value=v) exports v as Pad's input 2: an argument, not a weight. */
Test(train_ops, pad_value_is_not_a_parameter) {
    IrGraph *g = tg_graph(18);
    int64_t xd[2] = {2, 3}, pads[4] = {0, 1, 0, 1}, one = 1;
    int x = cst(g, "X", 2, xd, 1, -1, 1);
    int pi[3] = {x, tg_const_i64(g, "pads", 4, pads), cst(g, "value", 0, &one, 2, 1, 2)};
    tg_output(g, tg_node(g, RT_OP_PAD, "pad", 3, pi, "y"));
    TrainModel m;
    cr_assert_eq(train_model_init(&m, g, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(m.n_params, 1, "only X is trained");
    cr_assert_eq(m.p[0].value, x);
    train_model_free(&m);
    ir_graph_free(g);
}
