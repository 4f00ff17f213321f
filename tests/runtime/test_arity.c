/*
 * test_arity.c — the arity table (runtime/rt_arity.c) against the ONNX spec's input/output
 * counts (onnx.ai Operators.md / Changelog.md, per opset; onnxruntime's ContribOperators.md for
 * com.microsoft), rt_node_arity_check's verdicts and messages, and rt_node_exec refusing a short
 * node before its kernel can read a missing input.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "../../runtime/rt_arity.h"
#include "../../runtime/rt_exec.h"

#define MANY RT_ARITY_MANY

/* expects op at opset to take [i0, i1] inputs and [o0, o1] outputs */
static void expect_arity(int op, int opset, int i0, int i1, int o0, int o1) {
    RtArity a;
    cr_assert_eq(rt_op_arity(op, opset, &a), 0, "%s has no arity entry", rt_op_name(op));
    cr_expect(a.min_in == i0 && a.max_in == i1 && a.min_out == o0 && a.max_out == o1,
              "%s-%d: inputs %d..%d outputs %d..%d, spec says %d..%d and %d..%d", rt_op_name(op), opset,
              a.min_in, a.max_in, a.min_out, a.max_out, i0, i1, o0, o1);
}

Test(arity, every_op_in_ops_def_has_an_entry) {
    RtArity a;
    for (int op = 1; op < RT_OP_COUNT; op++)
        cr_expect_eq(rt_op_arity(op, 21, &a), 0, "%s has no arity entry", rt_op_name(op));
    cr_expect_eq(rt_op_arity(RT_OP_UNKNOWN, 21, &a), -1);
}

Test(arity, fixed_forms_match_the_spec) {
    expect_arity(RT_OP_SOFTMAX, 13, 1, 1, 1, 1);
    expect_arity(RT_OP_RELU, 14, 1, 1, 1, 1);
    expect_arity(RT_OP_ADD, 14, 2, 2, 1, 1);
    expect_arity(RT_OP_WHERE, 16, 3, 3, 1, 1);
    expect_arity(RT_OP_CONV, 11, 2, 3, 1, 1);             /* X, W, B? */
    expect_arity(RT_OP_CONV_TRANSPOSE, 11, 2, 3, 1, 1);
    expect_arity(RT_OP_MATMUL, 13, 2, 2, 1, 1);
    expect_arity(RT_OP_LSTM, 14, 3, 8, 0, 3);             /* X W R B? seq? h0? c0? P? */
    expect_arity(RT_OP_GRU, 14, 3, 6, 0, 2);
    expect_arity(RT_OP_RNN, 14, 3, 6, 0, 2);
    expect_arity(RT_OP_QUANTIZE_LINEAR, 13, 2, 3, 1, 1);  /* x, y_scale, y_zero_point? */
    expect_arity(RT_OP_DEQUANTIZE_LINEAR, 21, 2, 3, 1, 1);
    expect_arity(RT_OP_DYNAMIC_QUANTIZE_LINEAR, 11, 1, 1, 3, 3);
    expect_arity(RT_OP_QLINEAR_CONV, 10, 8, 9, 1, 1);
    expect_arity(RT_OP_QLINEAR_MATMUL, 10, 8, 8, 1, 1);
    expect_arity(RT_OP_NON_MAX_SUPPRESSION, 11, 2, 5, 1, 1);
    expect_arity(RT_OP_LAYER_NORMALIZATION, 17, 2, 3, 1, 3);
    expect_arity(RT_OP_UNIQUE, 11, 1, 1, 1, 4);
    expect_arity(RT_OP_CONSTANT, 13, 0, 0, 1, 1);
    expect_arity(RT_OP_MATMUL_NBITS, 1, 3, 6, 1, 1);      /* A B scales zero_points? g_idx? bias? */
    expect_arity(RT_OP_QLINEAR_ADD, 1, 7, 8, 1, 1);       /* zero points optional */
    expect_arity(RT_OP_QLINEAR_MUL, 1, 7, 8, 1, 1);
    expect_arity(RT_OP_LINEAR_NBITS, 1, 4, 6, 1, 1);      /* wafer_ops.h: g_idx?, B? */
    expect_arity(RT_OP_QCONV, 1, 8, 9, 1, 1);
}

Test(arity, variadic_and_control_flow) {
    expect_arity(RT_OP_SUM, 13, 1, MANY, 1, 1);
    expect_arity(RT_OP_MAX, 13, 1, MANY, 1, 1);
    expect_arity(RT_OP_MIN, 8, 1, MANY, 1, 1);
    expect_arity(RT_OP_MEAN, 13, 1, MANY, 1, 1);
    expect_arity(RT_OP_CONCAT, 13, 1, MANY, 1, 1);
    expect_arity(RT_OP_SPLIT, 13, 1, 2, 1, MANY);
    expect_arity(RT_OP_IF, 13, 1, MANY, 1, MANY);         /* cond + captures */
    expect_arity(RT_OP_LOOP, 13, 2, MANY, 1, MANY);       /* M?, cond?, carried, captures */
    expect_arity(RT_OP_SCAN, 8, 2, MANY, 1, MANY);        /* sequence_lens? first */
    expect_arity(RT_OP_SCAN, 9, 1, MANY, 1, MANY);
    RtArity a;
    rt_op_arity(RT_OP_LOOP, 13, &a);
    cr_expect_eq(a.opt, 3u, "Loop's M and cond are both optional");
    rt_op_arity(RT_OP_SUM, 13, &a);
    cr_expect(a.all_req, "a variadic input may not be \"\"");
}

Test(arity, opset_dependent_forms_match_the_changelog) {
    expect_arity(RT_OP_GEMM, 9, 3, 3, 1, 1);
    expect_arity(RT_OP_GEMM, 11, 2, 3, 1, 1);
    expect_arity(RT_OP_CLIP, 6, 1, 1, 1, 1);
    expect_arity(RT_OP_CLIP, 11, 1, 3, 1, 1);
    expect_arity(RT_OP_CLIP, 13, 1, 3, 1, 1);
    expect_arity(RT_OP_SLICE, 9, 1, 1, 1, 1);
    expect_arity(RT_OP_SLICE, 10, 3, 5, 1, 1);
    expect_arity(RT_OP_SLICE, 13, 3, 5, 1, 1);
    expect_arity(RT_OP_UPSAMPLE, 7, 1, 1, 1, 1);
    expect_arity(RT_OP_UPSAMPLE, 9, 2, 2, 1, 1);
    expect_arity(RT_OP_RESIZE, 10, 2, 2, 1, 1);
    expect_arity(RT_OP_RESIZE, 11, 1, 4, 1, 1);
    expect_arity(RT_OP_RESIZE, 19, 1, 4, 1, 1);
    expect_arity(RT_OP_DROPOUT, 7, 1, 1, 1, 2);
    expect_arity(RT_OP_DROPOUT, 12, 1, 3, 1, 2);
    expect_arity(RT_OP_BATCH_NORMALIZATION, 9, 5, 5, 1, 5);
    expect_arity(RT_OP_BATCH_NORMALIZATION, 14, 5, 5, 1, 3);
    expect_arity(RT_OP_BATCH_NORMALIZATION, 15, 5, 5, 1, 3);
    expect_arity(RT_OP_PAD, 2, 1, 1, 1, 1);
    expect_arity(RT_OP_PAD, 11, 2, 3, 1, 1);
    expect_arity(RT_OP_PAD, 18, 2, 4, 1, 1);
    expect_arity(RT_OP_REDUCE_SUM, 11, 1, 1, 1, 1);
    expect_arity(RT_OP_REDUCE_SUM, 13, 1, 2, 1, 1);
    expect_arity(RT_OP_REDUCE_MEAN, 13, 1, 1, 1, 1);
    expect_arity(RT_OP_REDUCE_MEAN, 18, 1, 2, 1, 1);
    expect_arity(RT_OP_REDUCE_MAX, 18, 1, 2, 1, 1);
    expect_arity(RT_OP_SQUEEZE, 11, 1, 1, 1, 1);
    expect_arity(RT_OP_SQUEEZE, 13, 1, 2, 1, 1);
    expect_arity(RT_OP_UNSQUEEZE, 11, 1, 1, 1, 1);
    expect_arity(RT_OP_UNSQUEEZE, 13, 2, 2, 1, 1);
    expect_arity(RT_OP_TOPK, 1, 1, 1, 2, 2);
    expect_arity(RT_OP_TOPK, 11, 2, 2, 2, 2);
    expect_arity(RT_OP_TILE, 6, 2, 2, 1, 1);
    expect_arity(RT_OP_RESHAPE, 5, 2, 2, 1, 1);
    expect_arity(RT_OP_DFT, 17, 1, 2, 1, 1);
    expect_arity(RT_OP_DFT, 20, 1, 3, 1, 1);
}

/* ---- node checks ---- */

static int in_buf[16], out_buf[8];

static RtNode node(int op, int opset, const char *name, int n_in, const int *in, int n_out) {
    RtNode n;
    memset(&n, 0, sizeof n);
    n.op = op;
    n.opset = opset;
    n.name = name;
    n.n_in = n_in;
    for (int j = 0; j < n_in; j++) in_buf[j] = in ? in[j] : j;
    n.in = in_buf;
    n.n_out = n_out;
    for (int j = 0; j < n_out; j++) out_buf[j] = 100 + j;
    n.out = out_buf;
    return n;
}

static void expect_refused(const RtNode *n, const char *msg) {
    RtError e = {{0}};
    cr_expect_eq(rt_node_arity_check(n, n->opset, &e), RT_ERR, "%s accepted", msg);
    cr_expect(strstr(e.msg, msg) != NULL, "message '%s' lacks '%s'", e.msg, msg);
}

static void expect_accepted(const RtNode *n) {
    RtError e = {{0}};
    cr_expect_eq(rt_node_arity_check(n, n->opset, &e), RT_OK, "refused: %s", e.msg);
}

Test(arity, short_nodes_are_refused_with_the_node_named) {
    RtNode n = node(RT_OP_SOFTMAX, 13, "sm", 0, NULL, 1);
    expect_refused(&n, "node 'sm' (Softmax): needs 1 input, has 0");
    n = node(RT_OP_CONV, 11, "c", 1, NULL, 1);
    expect_refused(&n, "node 'c' (Conv): needs 2 to 3 inputs, has 1");
    n = node(RT_OP_SOFTMAX, 13, "sm", 1, NULL, 0);
    expect_refused(&n, "node 'sm' (Softmax): needs 1 output, has 0");
    n = node(RT_OP_SUM, 13, "s", 0, NULL, 1);
    expect_refused(&n, "node 's' (Sum): needs at least 1 input, has 0");
    n = node(RT_OP_ADD, 14, "a", 3, NULL, 1);
    expect_refused(&n, "node 'a' (Add): needs 2 inputs, has 3");
}

Test(arity, opset_decides_gemm_and_clip) {
    RtNode n = node(RT_OP_GEMM, 9, "g", 2, NULL, 1);
    expect_refused(&n, "node 'g' (Gemm): needs 3 inputs, has 2");
    n = node(RT_OP_GEMM, 13, "g", 2, NULL, 1);
    expect_accepted(&n);
    n = node(RT_OP_CLIP, 6, "c", 3, NULL, 1);
    expect_refused(&n, "needs 1 input, has 3");
    n = node(RT_OP_CLIP, 13, "c", 3, (const int[]){0, -1, 2}, 1);
    expect_accepted(&n);
}

Test(arity, required_input_given_as_empty_name_is_refused) {
    RtNode n = node(RT_OP_PAD, 13, "p", 2, (const int[]){0, -1}, 1);
    expect_refused(&n, "node 'p' (Pad): input 1 is required");
    n = node(RT_OP_CONV, 11, "c", 3, (const int[]){0, 1, -1}, 1); /* B is optional */
    expect_accepted(&n);
    n = node(RT_OP_CONV, 11, "c", 3, (const int[]){-1, 1, 2}, 1);
    expect_refused(&n, "input 0 is required");
    n = node(RT_OP_SUM, 13, "s", 3, (const int[]){0, -1, 2}, 1);
    expect_refused(&n, "input 1 is required");
    n = node(RT_OP_RESIZE, 13, "r", 4, (const int[]){0, -1, -1, 3}, 1); /* roi, scales absent */
    expect_accepted(&n);
    n = node(RT_OP_LOOP, 13, "l", 3, (const int[]){-1, -1, 2}, 1);       /* M and cond absent */
    expect_accepted(&n);
    /* QLinearAdd: zero points optional, scales and operands not */
    n = node(RT_OP_QLINEAR_ADD, 1, "q", 8, (const int[]){0, 1, -1, 3, 4, -1, 6, -1}, 1);
    expect_accepted(&n);
    n = node(RT_OP_QLINEAR_ADD, 1, "q", 8, (const int[]){0, 1, 2, -1, 4, 5, 6, 7}, 1);
    expect_refused(&n, "input 3 is required");
}

Test(arity, scan_needs_its_scan_inputs) {
    RtAttr at = {.name = "num_scan_inputs", .type = RT_ATTR_INT, .i = 3};
    RtNode n = node(RT_OP_SCAN, 11, "sc", 2, NULL, 1);
    n.attrs = &at;
    n.n_attr = 1;
    expect_refused(&n, "num_scan_inputs 3 but 2 inputs");
    n = node(RT_OP_SCAN, 11, "sc", 4, NULL, 2);
    n.attrs = &at;
    n.n_attr = 1;
    expect_accepted(&n);
}

Test(arity, unknown_ops_pass) {
    RtNode n = node(RT_OP_UNKNOWN, 13, "u", 0, NULL, 0);
    expect_accepted(&n);
}

/* rt_node_exec is the last guard: the Softmax and Conv kernels read in[0] / in[1] unchecked. */
Test(arity, rt_node_exec_refuses_a_short_node) {
    RtError e = {{0}};
    RtKernelCtx c = {.alloc = rt_allocator_default(), .err = &e};
    float xd[4] = {1, 2, 3, 4};
    RtTensor x = {.dtype = RT_F32, .rank = 4, .dims = {1, 1, 2, 2}, .data = xd}, y;
    memset(&y, 0, sizeof y);
    RtTensor *outs[1] = {&y};
    RtNode n = node(RT_OP_SOFTMAX, 13, "sm", 0, NULL, 1);
    cr_assert_eq(rt_node_exec(&c, &n, NULL, outs), RT_ERR);
    cr_expect_str_eq(e.msg, "node 'sm' (Softmax): needs 1 input, has 0");
    cr_expect_null(y.data, "nothing was computed");

    memset(&e, 0, sizeof e);
    RtTensor *ins[1] = {&x};
    n = node(RT_OP_CONV, 11, "conv0", 1, NULL, 1);
    cr_assert_eq(rt_node_exec(&c, &n, ins, outs), RT_ERR);
    cr_expect_str_eq(e.msg, "node 'conv0' (Conv): needs 2 to 3 inputs, has 1");

    /* the same Softmax with its input runs */
    memset(&e, 0, sizeof e);
    n = node(RT_OP_SOFTMAX, 13, "sm", 1, NULL, 1);
    cr_assert_eq(rt_node_exec(&c, &n, ins, outs), RT_OK, "%s", e.msg);
    /* softmax over the last axis: rows (1, 2) and (3, 4) both give 1 / (1 + e) = 0.26894142,
     * e / (1 + e) = 0.73105858 by hand; 1e-5 covers float32 expf rounding */
    const float tol = 1e-5f, *yd = y.data;
    cr_expect(fabsf(yd[0] - 0.26894142f) < tol && fabsf(yd[1] - 0.73105858f) < tol, "%g %g", (double)yd[0],
              (double)yd[1]);
    cr_expect(fabsf(yd[2] - 0.26894142f) < tol && fabsf(yd[3] - 0.73105858f) < tol);
    rt_allocator_default()->free(rt_allocator_default()->user, y.data);
}
