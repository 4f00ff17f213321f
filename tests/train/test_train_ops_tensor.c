/*
 * test_train_ops_tensor.c — the data movement ops of train/ (train_ops_tensor.c,
 * train_ops_index.c, train_ops_pad.c), one small graph per op and input form: the forward pass
 * must equal the runtime's reference kernels (ir_run, an independent implementation) on every
 * graph output, and every parameter's gradient must equal central finite differences of
 * L = sum_o sum(out_o * R_o) (R_o fixed random weights) taken through the forward pass.
 * Float tensors are graph constants (so parameters with a gradient to check) unless a test
 * feeds them as graph inputs (values that need no gradient); integer inputs (axes, indices,
 * shapes) are side data, as constants or, for the embedding fragment, an int64 graph input.
 * Last, the real text student of the fixtures (tinylm, as PyTorch exported it) trains end to
 * end: its forward pass equals onnxruntime's logits and its gradients finite differences.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../frontend/onnx.h"
#include "../../train/train.h"
#include "../ir/ir_test_util.h"
#include "train_check.h"
#include "../test_util.h"

/* Forward vs the runtime's kernels: the data movement ops copy the same floats (exact); the
 * MatMul of the embedding fragment sums in another order (float32 rounding, relative). */
#define FWD_TOL 1e-5

/* An int64 or int32 constant (vals converted), rank 1 of n values or rank 0 (n < 0). */
static int cst_int(IrGraph *g, const char *name, RtDtype dt, int n, const int64_t *vals) {
    RtTensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.rank = n < 0 ? 0 : 1;
    t.dims[0] = n;
    int64_t cnt = n < 0 ? 1 : n;
    t.data = calloc((size_t)cnt + 1, 8);
    for (int64_t i = 0; i < cnt; i++) {
        if (dt == RT_I64) ((int64_t *)t.data)[i] = vals[i];
        else if (dt == RT_I32) ((int32_t *)t.data)[i] = (int32_t)vals[i];
        else cr_assert_fail("cst_int: dtype %d", dt);
    }
    int v = ir_const_add(g, name, &t);
    cr_assert(v >= 0);
    free(t.data);
    return v;
}

/* A node with n_out outputs named out0, out1...; returns the first output's value. */
static int node_multi(IrGraph *g, int op, const char *name, int n_in, const int *in, int n_out, int *outs) {
    char nm[64];
    for (int o = 0; o < n_out; o++) {
        snprintf(nm, sizeof nm, "%s_out%d", name, o);
        outs[o] = ir_value_add(g, nm);
    }
    cr_assert(ir_node_add(g, op, name, n_in, in, n_out, outs) >= 0);
    return outs[0];
}

/* Forward vs ir_run on the same inputs, then every parameter's gradient vs finite differences
 * (train_check.h: these ops only move elements, so L is linear in every parameter and only
 * float rounding is left in the differences); frees g. */
static void check_graph_in(IrGraph *g, const RtTensor *inputs) { tc_check_graph(g, inputs, 0, FWD_TOL); }
static void check_graph(IrGraph *g) { check_graph_in(g, NULL); }
static int cst(IrGraph *g, const char *name, int rank, const int64_t *dims, uint32_t seed) {
    return tc_cst(g, name, rank, dims, seed, -1, 1);
}

/* ---- Transpose, Squeeze, Unsqueeze ---- */

Test(train_ops_tensor, transpose_perm_and_default) {
    IrGraph *g = tg_graph(13);
    int64_t xd[3] = {2, 3, 4}, wd[2] = {4, 3}, perm[3] = {1, 2, 0};
    int x = cst(g, "X", 3, xd, 1);
    int t1 = tg_node(g, RT_OP_TRANSPOSE, "t1", 1, &x, "t1"); /* [3, 4, 2] */
    tg_attr_ints(g, "perm", 3, perm);
    int t2 = tg_node(g, RT_OP_TRANSPOSE, "t2", 1, &t1, "t2"); /* reversed: [2, 4, 3] */
    int in[2] = {t2, cst(g, "W", 2, wd, 2)};
    tg_output(g, tg_node(g, RT_OP_MUL, "mul", 2, in, "y"));
    check_graph(g);
}

Test(train_ops_tensor, squeeze_unsqueeze_opset11_attributes) {
    IrGraph *g = tg_graph(11);
    int64_t xd[4] = {1, 3, 1, 2}, ax1 = -2, ax2[2] = {0, -1};
    int x = cst(g, "X", 4, xd, 3);
    int a = tg_node(g, RT_OP_SQUEEZE, "sq", 1, &x, "a"); /* [1, 3, 2] */
    tg_attr_ints(g, "axes", 1, &ax1);
    int b = tg_node(g, RT_OP_UNSQUEEZE, "unsq", 1, &a, "b"); /* [1, 1, 3, 2, 1] */
    tg_attr_ints(g, "axes", 2, ax2);
    tg_output(g, b);
    tg_output(g, tg_node(g, RT_OP_SQUEEZE, "sq_all", 1, &b, "c")); /* no axes: every 1 goes: [3, 2] */
    check_graph(g);
}

Test(train_ops_tensor, squeeze_unsqueeze_opset13_inputs) {
    IrGraph *g = tg_graph(13);
    int64_t xd[3] = {3, 1, 2}, ax1 = 1, ax2[2] = {-1, 1};
    int x = cst(g, "X", 3, xd, 4);
    int si[2] = {x, cst_int(g, "ax1", RT_I64, 1, &ax1)};
    int a = tg_node(g, RT_OP_SQUEEZE, "sq", 2, si, "a"); /* [3, 2] */
    int ui[2] = {a, cst_int(g, "ax2", RT_I64, 2, ax2)};
    int b = tg_node(g, RT_OP_UNSQUEEZE, "unsq", 2, ui, "b"); /* [3, 1, 2, 1] */
    int in[2] = {b, cst(g, "W", 4, (int64_t[]){1, 4, 1, 1}, 5)};
    tg_output(g, tg_node(g, RT_OP_MUL, "mul", 2, in, "y")); /* [3, 4, 2, 1] */
    check_graph(g);
}

/* ---- Concat, Split ---- */

/* Three inputs along a negative axis, one a graph input (no gradient), one read twice; then
 * the result concatenated with itself along the last axis. */
Test(train_ops_tensor, concat_negative_axis_input_without_gradient) {
    IrGraph *g = tg_graph(13);
    int64_t ad[3] = {2, 3, 4}, bd[3] = {2, 1, 4};
    int a = cst(g, "A", 3, ad, 6);
    int b = tg_input(g, "B", RT_F32, 3, bd, NULL);
    int ci[3] = {a, b, a};
    int y = tg_node(g, RT_OP_CONCAT, "cat", 3, ci, "y"); /* [2, 7, 4] */
    tc_attr_int(g, "axis", -2);
    int c2[2] = {y, y};
    tg_output(g, tg_node(g, RT_OP_CONCAT, "cat2", 2, c2, "z")); /* [2, 7, 8] */
    tc_attr_int(g, "axis", 2);
    float bv[8];
    tc_fill(bv, 8, 7, -1, 1);
    RtTensor in;
    memset(&in, 0, sizeof in);
    in.dtype = RT_F32, in.rank = 3, in.data = bv;
    memcpy(in.dims, bd, sizeof bd);
    check_graph_in(g, &in);
}

/* Opset 11: sizes from the attribute; the middle output is used by nothing (its gradient is 0). */
Test(train_ops_tensor, split_opset11_attribute) {
    IrGraph *g = tg_graph(11);
    int64_t xd[2] = {2, 6}, sp[3] = {1, 3, 2};
    int x = cst(g, "X", 2, xd, 8), outs[3];
    node_multi(g, RT_OP_SPLIT, "split", 1, &x, 3, outs);
    tg_attr_ints(g, "split", 3, sp);
    tc_attr_int(g, "axis", 1);
    tg_output(g, outs[2]);
    tg_output(g, outs[0]);
    check_graph(g);
}

/* Opset 13: sizes from input 1 (int64), and an equal split when it is absent (negative axis). */
Test(train_ops_tensor, split_opset13_input_and_equal) {
    IrGraph *g = tg_graph(13);
    int64_t xd[2] = {4, 4}, sp[2] = {3, 1};
    int x = cst(g, "X", 2, xd, 9), o1[2], o2[2];
    int si[2] = {x, cst_int(g, "split", RT_I64, 2, sp)};
    node_multi(g, RT_OP_SPLIT, "split_in", 2, si, 2, o1);
    node_multi(g, RT_OP_SPLIT, "split_eq", 1, &x, 2, o2);
    tc_attr_int(g, "axis", -1);
    tg_output(g, o1[0]);
    tg_output(g, o1[1]);
    tg_output(g, o2[1]);
    check_graph(g);
}

/* Opset 18: num_outputs 3 over 7 columns: chunks of ceil(7 / 3) = 3, 3, then 1. */
Test(train_ops_tensor, split_opset18_num_outputs_uneven) {
    IrGraph *g = tg_graph(18);
    int64_t xd[2] = {2, 7};
    int x = cst(g, "X", 2, xd, 10), outs[3];
    node_multi(g, RT_OP_SPLIT, "split", 1, &x, 3, outs);
    tc_attr_int(g, "axis", 1);
    tc_attr_int(g, "num_outputs", 3);
    for (int o = 0; o < 3; o++) tg_output(g, outs[o]);
    TrainModel m;
    cr_assert_eq(train_model_init(&m, g, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(train_model_forward(&m, NULL, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(m.t[outs[0]].dims[1], 3);
    cr_assert_eq(m.t[outs[1]].dims[1], 3);
    cr_assert_eq(m.t[outs[2]].dims[1], 1);
    train_model_free(&m);
    check_graph(g);
}

/* ---- Expand, Tile ---- */

Test(train_ops_tensor, expand_both_directions_and_tile) {
    IrGraph *g = tg_graph(13);
    int64_t xd[2] = {3, 1}, s1[3] = {2, 1, 4}, wd[3] = {2, 1, 3}, s2[2] = {4, 1}, td[2] = {2, 3}, rep[2] = {2, 3};
    int e1i[2] = {cst(g, "X", 2, xd, 11), cst_int(g, "s1", RT_I64, 3, s1)};
    tg_output(g, tg_node(g, RT_OP_EXPAND, "expand", 2, e1i, "a")); /* [2, 3, 4] */
    int e2i[2] = {cst(g, "W", 3, wd, 12), cst_int(g, "s2", RT_I64, 2, s2)};
    tg_output(g, tg_node(g, RT_OP_EXPAND, "expand2", 2, e2i, "b")); /* shape of lower rank: [2, 4, 3] */
    int ti[2] = {cst(g, "T", 2, td, 13), cst_int(g, "rep", RT_I64, 2, rep)};
    tg_output(g, tg_node(g, RT_OP_TILE, "tile", 2, ti, "c")); /* [4, 9] */
    check_graph(g);
}

/* ---- Slice ---- */

/* Opset 13 inputs in int32: out-of-range starts / ends clamp, a negative axis with a negative
 * step, a step of 2 on another axis. */
Test(train_ops_tensor, slice_opset13_inputs_clamped_negative_steps) {
    IrGraph *g = tg_graph(13);
    int64_t xd[3] = {4, 5, 6}, st[3] = {1, -1, -100}, en[3] = {3, -100, 100}, ax[3] = {0, -1, 1}, sp[3] = {1, -2, 2};
    int si[5] = {cst(g, "X", 3, xd, 14), cst_int(g, "starts", RT_I32, 3, st), cst_int(g, "ends", RT_I32, 3, en),
                 cst_int(g, "axes", RT_I32, 3, ax), cst_int(g, "steps", RT_I32, 3, sp)};
    tg_output(g, tg_node(g, RT_OP_SLICE, "slice", 5, si, "y")); /* [2, 3, 3] */
    /* no axes, no steps (int64), end INT64_MAX, a negative start */
    int64_t st2[2] = {-3, 1}, en2[2] = {INT64_MAX, 3};
    int si2[3] = {si[0], cst_int(g, "starts2", RT_I64, 2, st2), cst_int(g, "ends2", RT_I64, 2, en2)};
    tg_output(g, tg_node(g, RT_OP_SLICE, "slice2", 3, si2, "z")); /* [3, 2, 6] */
    /* step -1 from the end through the start: the whole axis reversed */
    int64_t st3 = -1, en3 = INT64_MIN, ax3 = 2, sp3 = -1;
    int si3[5] = {si[0], cst_int(g, "st3", RT_I64, 1, &st3), cst_int(g, "en3", RT_I64, 1, &en3),
                  cst_int(g, "ax3", RT_I64, 1, &ax3), cst_int(g, "sp3", RT_I64, 1, &sp3)};
    tg_output(g, tg_node(g, RT_OP_SLICE, "slice3", 5, si3, "w")); /* [4, 5, 6] */
    check_graph(g);
}

Test(train_ops_tensor, slice_opset9_attributes) {
    IrGraph *g = tg_graph(9);
    int64_t xd[3] = {3, 4, 5}, st[2] = {1, -4}, en[2] = {100, -1}, ax[2] = {2, 1};
    int x = cst(g, "X", 3, xd, 15);
    tg_output(g, tg_node(g, RT_OP_SLICE, "slice", 1, &x, "y")); /* [3, 3, 4] */
    tg_attr_ints(g, "starts", 2, st);
    tg_attr_ints(g, "ends", 2, en);
    tg_attr_ints(g, "axes", 2, ax);
    int y2 = tg_node(g, RT_OP_SLICE, "slice_noaxes", 1, &x, "z"); /* axes default 0..: [1, 2, 5] */
    tg_attr_ints(g, "starts", 2, (int64_t[]){2, 1});
    tg_attr_ints(g, "ends", 2, (int64_t[]){3, 3});
    tg_output(g, y2);
    check_graph(g);
}

/* ---- Gather ---- */

/* Rows of a table by int64 indices of rank 2 with a negative and a repeated index (axis 0),
 * and a scalar int32 index along the last axis (axis -1). */
Test(train_ops_tensor, gather_axes_negative_and_repeated_indices) {
    IrGraph *g = tg_graph(13);
    int64_t wd[2] = {5, 3}, idx[4] = {0, -1, 2, 0}, xd[3] = {2, 3, 4}, one = 1;
    RtTensor it;
    memset(&it, 0, sizeof it);
    it.dtype = RT_I64, it.rank = 2, it.dims[0] = 2, it.dims[1] = 2, it.data = idx;
    int iv = ir_const_add(g, "idx", &it);
    int gi[2] = {cst(g, "W", 2, wd, 16), iv};
    tg_output(g, tg_node(g, RT_OP_GATHER, "gather", 2, gi, "y")); /* [2, 2, 3] */
    int gi2[2] = {cst(g, "X", 3, xd, 17), cst_int(g, "one", RT_I32, -1, &one)};
    tg_output(g, tg_node(g, RT_OP_GATHER, "gather_last", 2, gi2, "z")); /* [2, 3] */
    tc_attr_int(g, "axis", -1);
    int gi3[2] = {gi2[0], cst_int(g, "mid", RT_I64, 3, (int64_t[]){2, -3, 2})};
    tg_output(g, tg_node(g, RT_OP_GATHER, "gather_mid", 2, gi3, "w")); /* [2, 3, 4] */
    tc_attr_int(g, "axis", 1);
    check_graph(g);
}

Test(train_ops_tensor, gather_index_out_of_range_names_node) {
    IrGraph *g = tg_graph(13);
    int64_t wd[2] = {5, 3}, bad = 5;
    int gi[2] = {cst(g, "W", 2, wd, 16), cst_int(g, "bad", RT_I64, 1, &bad)};
    tg_output(g, tg_node(g, RT_OP_GATHER, "my_gather", 2, gi, "y"));
    TrainModel m;
    cr_assert_eq(train_model_init(&m, g, &err), RT_OK, "%s", err.msg);
    cr_assert_neq(train_model_forward(&m, NULL, &err), RT_OK);
    cr_assert(strstr(err.msg, "my_gather") && strstr(err.msg, "out of range"), "%s", err.msg);
    train_model_free(&m);
    ir_graph_free(g);
}

/* ---- Where ---- */

Test(train_ops_tensor, where_broadcast_condition_x_y) {
    IrGraph *g = tg_graph(16);
    int64_t xd[3] = {2, 3, 4}, yd[1] = {4};
    unsigned char cb[3] = {1, 0, 1};
    RtTensor ct;
    memset(&ct, 0, sizeof ct);
    ct.dtype = RT_BOOL, ct.rank = 2, ct.dims[0] = 3, ct.dims[1] = 1, ct.data = cb; /* [3, 1] */
    int wi[3] = {ir_const_add(g, "cond", &ct), cst(g, "X", 3, xd, 18), cst(g, "Y", 1, yd, 19)};
    tg_output(g, tg_node(g, RT_OP_WHERE, "where", 3, wi, "y")); /* [2, 3, 4] */
    check_graph(g);
}

/* ---- Pad ---- */

/* Opset 11 constant mode: pads from an input (a negative pad crops), the pad value an input
 * that is a float initializer, so a parameter whose gradient is dY summed over the padding. */
Test(train_ops_tensor, pad_opset11_constant_value_input_and_crop) {
    IrGraph *g = tg_graph(11);
    int64_t xd[3] = {2, 3, 4}, pads[6] = {0, 1, -1, 1, 2, 2};
    float cv = 0.5f;
    int pi[3] = {cst(g, "X", 3, xd, 20), cst_int(g, "pads", RT_I64, 6, pads), tg_const_f32(g, "cv", 0, xd, &cv)};
    tg_output(g, tg_node(g, RT_OP_PAD, "pad", 3, pi, "y")); /* [3, 6, 5] */
    check_graph(g);
}

Test(train_ops_tensor, pad_opset2_attributes) {
    IrGraph *g = tg_graph(2);
    int64_t xd[2] = {3, 4}, pads[4] = {1, 0, 2, 3};
    int x = cst(g, "X", 2, xd, 21);
    tg_output(g, tg_node(g, RT_OP_PAD, "pad", 1, &x, "y")); /* [6, 7] */
    tg_attr_ints(g, "pads", 4, pads);
    tc_attr_float(g, "value", -1.5f);
    check_graph(g);
}

/* Reflect and edge fold the padding back onto the input (their gradients sum there), wrap
 * (opset 19) takes it modulo the size; opset 18's axes input pads only the listed axes. The
 * last axis is padded by more than its size, so reflect folds more than once. */
Test(train_ops_tensor, pad_reflect_edge_wrap_axes) {
    IrGraph *g = tg_graph(19);
    int64_t xd[3] = {2, 3, 4}, pads[4] = {2, 3, 1, 4}, axes[2] = {-1, 1};
    int x = cst(g, "X", 3, xd, 22);
    const char *modes[4] = {"reflect", "edge", "wrap", "constant"}; /* constant: no value input, 0 */
    for (int i = 0; i < 4; i++) {
        char nm[16], pn[16], an[16];
        snprintf(nm, sizeof nm, "pad_%s", modes[i]);
        snprintf(pn, sizeof pn, "pads_%s", modes[i]);
        snprintf(an, sizeof an, "axes_%s", modes[i]);
        int pi[4] = {x, cst_int(g, pn, RT_I64, 4, pads), -1, cst_int(g, an, RT_I64, 2, axes)};
        tg_output(g, tg_node(g, RT_OP_PAD, nm, 4, pi, modes[i])); /* [2, 8, 7] */
        tc_attr_str(g, "mode", modes[i]);
    }
    check_graph(g);
}

/* ---- DepthToSpace, SpaceToDepth ---- */

Test(train_ops_tensor, depth_to_space_dcr_crd_space_to_depth) {
    IrGraph *g = tg_graph(13);
    int64_t xd[4] = {2, 8, 2, 3}, sd[4] = {1, 2, 4, 6};
    int x = cst(g, "X", 4, xd, 23);
    tg_output(g, tg_node(g, RT_OP_DEPTH_TO_SPACE, "d2s_dcr", 1, &x, "a")); /* [2, 2, 4, 6] */
    tc_attr_int(g, "blocksize", 2);
    tg_output(g, tg_node(g, RT_OP_DEPTH_TO_SPACE, "d2s_crd", 1, &x, "b"));
    tc_attr_int(g, "blocksize", 2);
    tc_attr_str(g, "mode", "CRD");
    int s = cst(g, "S", 4, sd, 24);
    tg_output(g, tg_node(g, RT_OP_SPACE_TO_DEPTH, "s2d", 1, &s, "c")); /* [1, 8, 2, 3] */
    tc_attr_int(g, "blocksize", 2);
    check_graph(g);
}

/* ---- a text student's fragment ---- */

/* int64 token ids [2, 5] (a graph input, with a repeated and a negative id) -> Gather(E) ->
 * [2, 5, 4] -> Transpose [0, 2, 1] -> Concat with a learned column P along the positions ->
 * Slice off the first position -> MatMul(W). */
Test(train_ops_tensor, embedding_student_fragment) {
    IrGraph *g = tg_graph(17);
    int64_t idd[2] = {2, 5}, ed[2] = {10, 4}, pd[3] = {1, 4, 1}, wd[2] = {5, 3}, perm[3] = {0, 2, 1};
    int ids = tg_input(g, "ids", RT_I64, 2, idd, NULL);
    int gi[2] = {cst(g, "E", 2, ed, 25), ids};
    int e = tg_node(g, RT_OP_GATHER, "embed", 2, gi, "e");
    int t = tg_node(g, RT_OP_TRANSPOSE, "tr", 1, &e, "t"); /* [2, 4, 5] */
    tg_attr_ints(g, "perm", 3, perm);
    int64_t bd[3] = {2, 4, 1};
    int ex[2] = {cst(g, "P", 3, pd, 26), cst_int(g, "bshape", RT_I64, 3, bd)};
    int p = tg_node(g, RT_OP_EXPAND, "expand", 2, ex, "p"); /* [2, 4, 1] */
    int ci[2] = {t, p};
    int c = tg_node(g, RT_OP_CONCAT, "cat", 2, ci, "c"); /* [2, 4, 6] */
    tc_attr_int(g, "axis", 2);
    int64_t one = 1, big = INT64_MAX, two = 2;
    int si[4] = {c, cst_int(g, "s0", RT_I64, 1, &one), cst_int(g, "s1", RT_I64, 1, &big), cst_int(g, "sax", RT_I64, 1, &two)};
    int s = tg_node(g, RT_OP_SLICE, "slice", 4, si, "s"); /* [2, 4, 5] */
    int mi[2] = {s, cst(g, "W", 2, wd, 27)};
    tg_output(g, tg_node(g, RT_OP_MATMUL, "mm", 2, mi, "y")); /* [2, 4, 3] */
    int64_t idv[10] = {3, 7, 3, 0, 9, 2, -1, 5, 3, 8}; /* position 0 is sliced off */
    RtTensor in;
    memset(&in, 0, sizeof in);
    in.dtype = RT_I64, in.rank = 2, in.dims[0] = 2, in.dims[1] = 5, in.data = idv;
    check_graph_in(g, &in);
}

/* ---- randomized: Slice and Pad against the runtime, backward by the adjoint identity ---- */

/* For a linear op Y = A X, backward from dY = R gives dX = A^T R, so <dX, X> = <R, Y> up to
 * float rounding (double sums of <= 1000 products of size <= 1: 1e-9). A misplaced or
 * missing add in the backward breaks the identity by O(1) for random X and R. */
#define ADJOINT_TOL 1e-4

static uint32_t rnd_state = 12345;
static int64_t rnd(int64_t lo, int64_t hi) { /* uniform in [lo, hi] */
    rnd_state = rnd_state * 1664525u + 1013904223u;
    return lo + (int64_t)((rnd_state >> 8) % (uint32_t)(hi - lo + 1));
}

/* g has one parameter X and one output; runs both and checks forward and the adjoint identity.
 * Returns 0 when both the runtime and training refuse the case (the same spec error). */
static int check_linear(IrGraph *g, int x, const char *what) {
    TrainModel m;
    RtError e1 = {{0}}, e2 = {{0}};
    RtTensor ref;
    memset(&ref, 0, sizeof ref);
    int rr = ir_run(g, NULL, &ref, &e1);
    cr_assert_eq(train_model_init(&m, g, &err), RT_OK, "%s", err.msg);
    int rt = train_model_forward(&m, NULL, &e2);
    cr_assert_eq(rr == RT_OK, rt == RT_OK, "%s: runtime says '%s', training says '%s'", what, e1.msg, e2.msg);
    if (rt != RT_OK) {
        train_model_free(&m);
        return 0;
    }
    TrainTensor *y = &m.t[g->outputs[0]], *X = &m.t[x];
    int64_t n = train_tensor_numel(y);
    cr_assert_eq(ref.rank, y->rank, "%s: rank", what);
    for (int d = 0; d < y->rank; d++) cr_assert_eq(ref.dims[d], y->dims[d], "%s: dim %d", what, d);
    for (int64_t i = 0; i < n; i++)
        cr_assert_eq(y->x[i], ((float *)ref.data)[i], "%s: forward [%lld]", what, (long long)i);
    free(ref.data);
    float *R = malloc(sizeof(float) * (size_t)(n + 1));
    tc_fill(R, n, (uint32_t)rnd(1, 1000000), -1, 1);
    const float *dout[1] = {R};
    cr_assert_eq(train_model_backward(&m, dout, &err), RT_OK, "%s", err.msg);
    double ry = 0, dxx = 0;
    for (int64_t i = 0; i < n; i++) ry += (double)R[i] * y->x[i];
    for (int64_t i = 0; i < train_tensor_numel(X); i++) dxx += (double)X->dx[i] * X->x[i];
    cr_assert(fabs(ry - dxx) <= ADJOINT_TOL, "%s: <R, Y> = %g but <dX, X> = %g", what, ry, dxx);
    free(R);
    train_model_free(&m);
    return 1;
}

static int64_t rnd_bound(int64_t dim) { /* starts / ends: in and around the axis, and the extremes */
    int64_t r = rnd(0, 9);
    return r == 0 ? INT64_MIN : r == 1 ? INT64_MAX : rnd(-dim - 2, dim + 2);
}

Test(train_ops_tensor, slice_random_against_runtime_and_adjoint) {
    int64_t xd[3] = {5, 4, 6};
    int ran = 0;
    for (int c = 0; c < 300; c++) {
        IrGraph *g = tg_graph(13);
        int x = cst(g, "X", 3, xd, (uint32_t)c + 1);
        int na = (int)rnd(1, 3);
        int64_t st[3], en[3], ax[3], sp[3];
        char used[3] = {0};
        for (int i = 0; i < na; i++) {
            int a;
            do a = (int)rnd(0, 2); while (used[a]);
            used[a] = 1;
            ax[i] = rnd(0, 1) ? a : a - 3;
            st[i] = rnd_bound(xd[a]), en[i] = rnd_bound(xd[a]);
            sp[i] = rnd(0, 9) == 0 ? (rnd(0, 1) ? INT64_MAX : INT64_MIN) : rnd(1, 3) * (rnd(0, 1) ? 1 : -1);
        }
        int si[5] = {x, cst_int(g, "starts", RT_I64, na, st), cst_int(g, "ends", RT_I64, na, en),
                     cst_int(g, "axes", RT_I64, na, ax), cst_int(g, "steps", RT_I64, na, sp)};
        tg_output(g, tg_node(g, RT_OP_SLICE, "slice", 5, si, "y"));
        char what[64];
        snprintf(what, sizeof what, "slice case %d", c);
        ran += check_linear(g, x, what);
        ir_graph_free(g);
    }
    cr_assert_eq(ran, 300);
}

/* Pads in [-2, 5] per side on each axis, every mode; a crop that leaves nothing to
 * reflect from must be refused by both. The pad value is 0 so the op stays linear. */
Test(train_ops_tensor, pad_random_against_runtime_and_adjoint) {
    static const char *modes[4] = {"constant", "reflect", "edge", "wrap"};
    int64_t xd[3] = {2, 3, 5};
    int ran = 0;
    for (int c = 0; c < 200; c++) {
        IrGraph *g = tg_graph(19);
        int x = cst(g, "X", 3, xd, (uint32_t)c + 7);
        int64_t pads[6];
        for (int i = 0; i < 6; i++) pads[i] = rnd(-2, 5);
        for (int a = 0; a < 3; a++) /* keep every output axis non-empty */
            while (xd[a] + pads[a] + pads[a + 3] < 1) pads[a + 3]++;
        int pi[2] = {x, cst_int(g, "pads", RT_I64, 6, pads)};
        tg_output(g, tg_node(g, RT_OP_PAD, "pad", 2, pi, "y"));
        tc_attr_str(g, "mode", modes[c % 4]);
        char what[64];
        snprintf(what, sizeof what, "pad case %d (%s)", c, modes[c % 4]);
        ran += check_linear(g, x, what);
        ir_graph_free(g);
    }
    cr_assert(ran >= 150 && ran < 200, "%d of 200 cases ran: both refusing a crop to nothing should happen a few times", ran);
}

/* Random Transposes (rank 1-5), Gathers (any axis, indices of rank 0-2 with negative values),
 * Expands and Tiles of random shapes: forward equal to the runtime, adjoint identity. */
Test(train_ops_tensor, transpose_gather_expand_tile_random) {
    for (int c = 0; c < 200; c++) {
        IrGraph *g = tg_graph(13);
        int r = (int)rnd(1, 5), kind = c % 4, x;
        int64_t xd[5], v[5];
        for (int d = 0; d < r; d++) xd[d] = rnd(1, 3);
        x = cst(g, "X", r, xd, (uint32_t)c + 3);
        if (kind == 0) { /* a random permutation */
            for (int d = 0; d < r; d++) v[d] = d;
            for (int d = r - 1; d > 0; d--) {
                int j = (int)rnd(0, d);
                int64_t t = v[d];
                v[d] = v[j], v[j] = t;
            }
            tg_output(g, tg_node(g, RT_OP_TRANSPOSE, "t", 1, &x, "y"));
            tg_attr_ints(g, "perm", r, v);
        } else if (kind == 1) {
            int axis = (int)rnd(-r, r - 1), a = axis < 0 ? axis + r : axis, ir = (int)rnd(0, 2);
            int64_t idx[9], id[2], ni = 1;
            for (int d = 0; d < ir; d++) id[d] = rnd(1, 3), ni *= id[d];
            for (int64_t i = 0; i < ni; i++) idx[i] = rnd(-xd[a], xd[a] - 1);
            RtTensor it;
            memset(&it, 0, sizeof it);
            it.dtype = RT_I64, it.rank = ir, it.data = idx;
            memcpy(it.dims, id, sizeof(int64_t) * (size_t)ir);
            int gi[2] = {x, ir_const_add(g, "idx", &it)};
            tg_output(g, tg_node(g, RT_OP_GATHER, "g", 2, gi, "y"));
            tc_attr_int(g, "axis", axis);
        } else if (kind == 2) { /* a shape that broadcasts with X: 1s, X's dims, new leading axes */
            int sr = (int)rnd(1, 5) > r ? (int)rnd(r, 5) : r;
            for (int d = 0; d < sr; d++) {
                int xi = d - (sr - r);
                v[d] = xi < 0 ? rnd(1, 3) : xd[xi] == 1 ? rnd(1, 3) : (rnd(0, 1) ? xd[xi] : 1);
            }
            int ei[2] = {x, cst_int(g, "shape", RT_I64, sr, v)};
            tg_output(g, tg_node(g, RT_OP_EXPAND, "e", 2, ei, "y"));
        } else {
            for (int d = 0; d < r; d++) v[d] = rnd(1, 3);
            int ti[2] = {x, cst_int(g, "repeats", RT_I64, r, v)};
            tg_output(g, tg_node(g, RT_OP_TILE, "t", 2, ti, "y"));
        }
        char what[64];
        snprintf(what, sizeof what, "case %d (kind %d, rank %d)", c, kind, r);
        cr_assert(check_linear(g, x, what), "%s was refused", what);
        ir_graph_free(g);
    }
}

/* ---- errors: named by node, at init or in the forward pass, never a wrong result ---- */

static void expect_forward_error(IrGraph *g, const char *node, const char *what) {
    TrainModel m;
    RtError e2 = {{0}}; /* rt_error_set keeps the first message */
    int rc = train_model_init(&m, g, &e2);
    if (rc == RT_OK) {
        rc = train_model_forward(&m, NULL, &e2);
        train_model_free(&m);
    }
    cr_assert_neq(rc, RT_OK, "expected an error about %s", what);
    cr_assert(strstr(e2.msg, node) && strstr(e2.msg, what), "%s", e2.msg);
    ir_graph_free(g);
}

Test(train_ops_tensor, errors_name_the_node) {
    int64_t xd[2] = {2, 3}, ax = 0, zero = 0, one = 1, two = 2;
    IrGraph *g = tg_graph(13);
    int si[2] = {cst(g, "X", 2, xd, 1), cst_int(g, "ax", RT_I64, 1, &ax)};
    tg_output(g, tg_node(g, RT_OP_SQUEEZE, "my_squeeze", 2, si, "y"));
    expect_forward_error(g, "my_squeeze", "cannot squeeze axis 0");

    g = tg_graph(13);
    int li[5] = {cst(g, "X", 2, xd, 1), cst_int(g, "s", RT_I64, 1, &zero), cst_int(g, "e", RT_I64, 1, &two),
                 cst_int(g, "a", RT_I64, 1, &one), cst_int(g, "st", RT_I64, 1, &zero)};
    tg_output(g, tg_node(g, RT_OP_SLICE, "my_slice", 5, li, "y"));
    expect_forward_error(g, "my_slice", "step of axis 1 is 0");

    g = tg_graph(5);
    int ti[2] = {cst(g, "X", 2, xd, 1), cst_int(g, "r", RT_I64, 1, &two)};
    tg_output(g, tg_node(g, RT_OP_TILE, "my_tile", 2, ti, "y"));
    expect_forward_error(g, "my_tile", "before opset 6");

    g = tg_graph(13);
    int x = cst(g, "X", 2, xd, 1), outs[2];
    node_multi(g, RT_OP_SPLIT, "my_split", 1, &x, 2, outs);
    tc_attr_int(g, "axis", 1);
    tg_output(g, outs[0]);
    expect_forward_error(g, "my_split", "does not split into 2 equal parts");

    g = tg_graph(13);
    int64_t bad_perm[2] = {0, 0};
    int xt = cst(g, "X", 2, xd, 1);
    tg_output(g, tg_node(g, RT_OP_TRANSPOSE, "my_transpose", 1, &xt, "y"));
    tg_attr_ints(g, "perm", 2, bad_perm);
    expect_forward_error(g, "my_transpose", "not a permutation");
}

/* ---- a real exported text student: tinylm (fixtures/tinylm) ---- */

/* Forward vs onnxruntime's logits: the same float32 model summed in another order through
 * four blocks (measured 2.7e-6 of the largest logit). */
#define TINYLM_FWD_TOL 2e-5
/* Finite differences through the whole model: step 1e-2 (the float32 rounding of a 128-logit
 * loss over a 2e-3 step would be ~0.05); measured |analytic - fd| <= 5e-3 on the checked
 * elements, whose gradients are 0.3-7. A missing or misrouted term is off by O(1). */
#define TINYLM_FD_EPS 1e-2f
#define TINYLM_FD_ATOL 2e-2
#define TINYLM_FD_RTOL 1e-2

static double tinylm_loss(TrainModel *m, const RtTensor *in, const float *R) {
    cr_assert_eq(train_model_forward(m, in, &err), RT_OK, "%s", err.msg);
    TrainTensor *y = &m->t[m->g->outputs[0]];
    double L = 0;
    for (int64_t i = 0; i < train_tensor_numel(y); i++) L += (double)y->x[i] * R[i];
    return L;
}

/* tinylm (int64 tokens -> Gather embedding + Slice of the position table -> 4 blocks of
 * LayerNorm, MatMul, Reshape / Transpose heads, masked Softmax, Erf GELU -> head) builds
 * as a training tape, its logits on two eval windows equal onnxruntime's, and the gradient of
 * a loss on the last position's logits equals finite differences at the largest-gradient
 * element of the embedding table, the position table and every 4th other parameter. */
Test(train_ops_tensor, tinylm_text_student_trains, .timeout = 120) {
    if (getenv("WAFER_SANITIZED")) cr_skip_test("tinylm: slow under the sanitizers");
    IrGraph *g = onnx_load_file(FIXTURES "/tinylm/tinylm.onnx", NULL, &err);
    cr_assert_not_null(g, "%s", err.msg);
    TrainModel m;
    cr_assert_eq(train_model_init(&m, g, &err), RT_OK, "%s", err.msg);
    RtTensor tok = tu_fixture_npy("tinylm/tinylm_eval_tokens.npy"); /* [64, 129] */
    RtTensor ref = tu_fixture_npy("tinylm/tinylm_eval_logits_first4.npy"); /* [4, 128, 128] */
    int64_t ids[2 * 128];
    for (int b = 0; b < 2; b++) memcpy(ids + b * 128, (int64_t *)tok.data + b * 129, sizeof(int64_t) * 128);
    RtTensor in;
    memset(&in, 0, sizeof in);
    in.dtype = RT_I64, in.rank = 2, in.dims[0] = 2, in.dims[1] = 128, in.data = ids;
    cr_assert_eq(train_model_forward(&m, &in, &err), RT_OK, "%s", err.msg);
    TrainTensor *y = &m.t[g->outputs[0]];
    cr_assert_eq(train_tensor_numel(y), 2 * 128 * 128);
    double rel = tu_max_rel_diff(y->x, ref.data, 2 * 128 * 128);
    cr_assert(rel <= TINYLM_FWD_TOL, "logits vs onnxruntime: %g of the largest", rel);

    in.dims[0] = 1; /* gradients on the first window */
    float *R = calloc(128 * 128, sizeof(float));
    tc_fill(R + 127 * 128, 128, 5, -1, 1);
    tinylm_loss(&m, &in, R);
    const float *dout[1] = {R};
    cr_assert_eq(train_model_backward(&m, dout, &err), RT_OK, "%s", err.msg);
    int checked = 0;
    for (int p = 0; p < m.n_params; p++) {
        TrainParam *pp = &m.p[p];
        const char *name = g->values[pp->value].name;
        if (strcmp(name, "emb.weight") && strcmp(name, "pos") && (pp->n == 1 || p % 4)) continue;
        const float *an = m.t[pp->value].dx;
        int64_t j = 0;
        for (int64_t i = 1; i < pp->n; i++)
            if (fabsf(an[i]) > fabsf(an[j])) j = i;
        float a = an[j], w0 = pp->w[j];
        pp->w[j] = w0 + TINYLM_FD_EPS;
        double lp = tinylm_loss(&m, &in, R);
        pp->w[j] = w0 - TINYLM_FD_EPS;
        double lm = tinylm_loss(&m, &in, R);
        pp->w[j] = w0;
        double fd = (lp - lm) / (2.0 * TINYLM_FD_EPS);
        cr_assert(fabs(fd - a) <= TINYLM_FD_ATOL + TINYLM_FD_RTOL * fabs(fd), "%s[%lld]: backward %g, finite differences %g",
                  name, (long long)j, a, fd);
        checked += fabs(fd) > 0.1; /* the key biases' gradient is 0: softmax ignores a shift per query */
    }
    cr_assert_geq(checked, 12, "only %d parameters had a gradient worth checking", checked);
    free(R);
    free(tok.data);
    free(ref.data);
    train_model_free(&m);
    ir_graph_free(g);
}
