/*
 * test_emit_seq.c — emit-c's seq family (codegen/emit_ops_seq.c) on what the ONNX
 * conformance cases do not reach: a one-node graph is built in the IR (emitc_oneop.h) with
 * random inputs and constants, emitted, compiled with gcc -pedantic (-Werror), run by the
 * harness (with --no-libm: the object needs no libm symbol), and every output compared with
 * the runtime's reference kernels on the same graph: integer outputs bit for bit, float ones
 * within a named tolerance.
 * Covered: LSTM bidirectional in layout 1 with peepholes, clip, input_forget, initial states
 * as graph inputs, constant sequence_lens with a 0 and custom activations (HardSigmoid with
 * alpha/beta, Softplus, ScaledTanh) and all three outputs; GRU reverse with
 * linear_before_reset, int64 sequence_lens as a graph input, Y only (Y_h absent), LeakyRelu /
 * Elu; GRU forward without linear_before_reset and only Y_h; RNN bidirectional with two
 * activation lists (Relu, Affine / ThresholdedRelu, Softsign); the same LSTM under --no-libm;
 * a sequence length out of range at run time makes NAME_run return 1. MatMulInteger with
 * broadcast batches, 1-D A, per-row / per-column zero points, K = 600; QLinearMatMul int8 and
 * uint8 with per-row / per-column parameters, constants or inputs; ConvInteger 1-D / 2-D / 3-D
 * with groups, strides, pads, dilations, auto_pad, per-channel zero points; QLinearConv with
 * per-channel scales and bias; DynamicQuantizeLinear (mixed signs, all positive, constant x);
 * Einsum with an ellipsis, implicit output, broadcast batches, diagonals, three operands, in
 * float32, float64, int32, int8 and uint8; DFT (opset 17 attribute and opset 20 inputs, real
 * and complex, inverse, one-sided, prime and composite lengths, dft_length padding and
 * truncation); STFT (window constant, input or absent with frame_length, real and complex,
 * one- and two-sided); onnxruntime's MatMulIntegerToFloat (per-column parameters, bias, batched
 * B) and DynamicQuantizeMatMul, and both with a QGemm (emit_ops_qcontrib.c's) in one
 * com.microsoft model emitted by the CLI against onnxruntime; com.microsoft QLinearConv with
 * channels_last 0 and 1, and with channels_last against onnxruntime; float64 LSTM, GRU, DFT
 * and STFT. Refusals by name: float64 LSTM under --no-libm, float32 and float64 seq float ops
 * in one model (RNN + RNN, LSTM + DFT), a constant sequence length out of range (no file
 * written).
 * A keyword-spotting-like model (LSTM or GRU over 20 frames of 10 features, its last state
 * through MatMul + Add + Softmax), written as ONNX and emitted by the CLI, against
 * onnxruntime (skipped when onnxruntime-node is not installed) and against `wafer run`.
 */
#include "emitc_oneop.h"

#include <unistd.h>

#include "../../io/npy.h"
#include "../frontend/onnx_proto_build.h"

/* Recurrent ops: the runtime keeps gates and state in double and sums the products in float
 * (its sgemm's order); the emitted kernel does all of it in float, in index order. Each step
 * rounds H + I products and a few activations to float (2^-24 relative each); over the <= 6
 * steps here through a contractive recurrence the drift stays below ~100 float ulps of the
 * largest output, 6e-6: 2e-5 leaves room. */
#define SEQ_REC_REL_TOL 2e-5

/* The suite's graphs: seed 4242, OP_FILL_UNIT values. */
static OneOp *sq_new(void) { return op_new_with(4242, OP_FILL_UNIT); }

/* Emits (no_libm as asked), compiles with gcc (under the sanitizer build the emitted C is
 * sanitized too: UB in a kernel fails the case) and runs the graph; want_rc 1 = NAME_run must
 * return 1. Otherwise every output is compared with the reference kernels: float32 and
 * float64 within tol, integers exactly. Frees o. */
static void sq_check(OneOp *o, const char *what, int no_libm, double tol, int want_rc) {
    OneOpCheck k = {.cflags = op_sanitized() ? "-O1" OP_ASAN_CFLAGS : "-O2",
                    .no_libm = no_libm,
                    .want_status = want_rc,
                    .tol = tol,
                    .tol_f64 = tol};
    op_check_opts(o, what, &k);
}

/* ---------------------------------------------------------------- recurrent layers */

/* LSTM: S 5, N 3, I 4, H 3, bidirectional, layout 1 (batch first). */
static OneOp *lstm_case(int sl_value_bad) {
    OneOp *o = sq_new();
    const int64_t S = 5, N = 3, I = 4, H = 3, D = 2;
    int64_t xd[3] = {N, S, I}, wd[3] = {D, 4 * H, I}, rd[3] = {D, 4 * H, H}, bd[2] = {D, 8 * H}, sd[1] = {N};
    int64_t hd[3] = {N, D, H}, pd[2] = {D, 3 * H};
    int32_t sl[3] = {5, 0, 3};
    if (sl_value_bad) sl[2] = 6; /* > S: NAME_run returns 1 */
    int in[8] = {op_input(o, "x", RT_F32, 3, xd), op_const(o, "w", RT_F32, 3, wd, NULL),
                 op_const(o, "r", RT_F32, 3, rd, NULL),  op_const(o, "b", RT_F32, 2, bd, NULL),
                 sl_value_bad ? op_input_data(o, "sl", RT_I32, 1, sd, sl) : op_const(o, "sl", RT_I32, 1, sd, sl),
                 op_input(o, "h0", RT_F32, 3, hd), op_input(o, "c0", RT_F32, 3, hd),
                 op_const(o, "p", RT_F32, 2, pd, NULL)};
    int k = op_node_outs(o, RT_OP_LSTM, 8, in, 3, 0);
    RtAttr *a = attrs_new(o, k, 8);
    a[0] = attr_str(o, "direction", "bidirectional");
    a[1] = attr_int(o, "layout", 1);
    a[2] = attr_int(o, "hidden_size", H);
    a[3] = attr_float(o, "clip", 1.5f);
    a[4] = attr_int(o, "input_forget", 1);
    a[5] = attr_strs(o, "activations", "HardSigmoid,Softplus,ScaledTanh,sigmoid,Tanh,Elu");
    a[6] = attr_floats(o, "activation_alpha", 3, (float[]){0.3f, 0.8f, 0.5f});
    a[7] = attr_floats(o, "activation_beta", 2, (float[]){0.45f, 1.2f});
    return o;
}

Test(emit_seq, lstm_bidirectional_batch_first_peepholes_clip_custom_acts) {
    sq_check(lstm_case(0), "LSTM bidirectional layout 1", 0, SEQ_REC_REL_TOL, 0);
}

Test(emit_seq, lstm_without_libm) {
    sq_check(lstm_case(0), "LSTM --no-libm", 1, SEQ_REC_REL_TOL, 0);
}

Test(emit_seq, sequence_length_out_of_range_fails_the_run) {
    sq_check(lstm_case(1), "LSTM sequence_lens 6 > S", 0, SEQ_REC_REL_TOL, 1);
}

/* GRU: S 4, N 2, I 3, H 5; reverse, int64 lengths as an input. */
Test(emit_seq, gru_reverse_linear_before_reset_lengths_input_y_only) {
    OneOp *o = sq_new();
    const int64_t S = 4, N = 2, I = 3, H = 5;
    int64_t xd[3] = {S, N, I}, wd[3] = {1, 3 * H, I}, rd[3] = {1, 3 * H, H}, bd[2] = {1, 6 * H}, sd[1] = {N};
    int64_t sl[2] = {2, 4};
    int in[5] = {op_input(o, "x", RT_F32, 3, xd), op_input(o, "w", RT_F32, 3, wd),
                 op_const(o, "r", RT_F32, 3, rd, NULL), op_const(o, "b", RT_F32, 2, bd, NULL),
                 op_input_data(o, "sl", RT_I64, 1, sd, sl)};
    int k = op_node_outs(o, RT_OP_GRU, 5, in, 2, 2);
    RtAttr *a = attrs_new(o, k, 4);
    a[0] = attr_str(o, "direction", "reverse");
    a[1] = attr_int(o, "linear_before_reset", 1);
    a[2] = attr_strs(o, "activations", "LeakyRelu,Elu");
    a[3] = attr_floats(o, "activation_alpha", 2, (float[]){0.1f, 0.7f});
    sq_check(o, "GRU reverse linear_before_reset", 0, SEQ_REC_REL_TOL, 0);
}

Test(emit_seq, gru_forward_initial_h_only_y_h) {
    OneOp *o = sq_new();
    const int64_t S = 6, N = 1, I = 7, H = 4;
    int64_t xd[3] = {S, N, I}, wd[3] = {1, 3 * H, I}, rd[3] = {1, 3 * H, H}, hd[3] = {1, N, H};
    int in[6] = {op_input(o, "x", RT_F32, 3, xd), op_const(o, "w", RT_F32, 3, wd, NULL),
                 op_const(o, "r", RT_F32, 3, rd, NULL), -1, -1, op_const(o, "h0", RT_F32, 3, hd, NULL)};
    op_node_outs(o, RT_OP_GRU, 6, in, 2, 1);
    sq_check(o, "GRU forward, only Y_h", 0, SEQ_REC_REL_TOL, 0);
}

Test(emit_seq, rnn_bidirectional_two_activation_lists) {
    OneOp *o = sq_new();
    const int64_t S = 3, N = 2, I = 4, H = 3;
    int64_t xd[3] = {S, N, I}, wd[3] = {2, H, I}, rd[3] = {2, H, H}, bd[2] = {2, 2 * H};
    int in[4] = {op_input(o, "x", RT_F32, 3, xd), op_const(o, "w", RT_F32, 3, wd, NULL),
                 op_const(o, "r", RT_F32, 3, rd, NULL), op_input(o, "b", RT_F32, 2, bd)};
    int k = op_node_outs(o, RT_OP_RNN, 4, in, 2, 0);
    RtAttr *a = attrs_new(o, k, 4);
    a[0] = attr_str(o, "direction", "bidirectional");
    a[1] = attr_strs(o, "activations", "Affine,ThresholdedRelu");
    a[2] = attr_floats(o, "activation_alpha", 2, (float[]){0.9f, 0.05f});
    a[3] = attr_floats(o, "activation_beta", 1, (float[]){0.2f});
    sq_check(o, "RNN bidirectional Affine / ThresholdedRelu", 0, SEQ_REC_REL_TOL, 0);
    o = sq_new();
    int in2[3] = {op_input(o, "x", RT_F32, 3, xd), op_const(o, "w", RT_F32, 3, wd, NULL),
                  op_const(o, "r", RT_F32, 3, rd, NULL)};
    k = op_node_outs(o, RT_OP_RNN, 3, in2, 2, 0);
    a = attrs_new(o, k, 2);
    a[0] = attr_str(o, "direction", "bidirectional");
    a[1] = attr_strs(o, "activations", "Relu,Softsign");
    sq_check(o, "RNN bidirectional Relu / Softsign", 0, SEQ_REC_REL_TOL, 0);
}

/* float64 recurrent layers: the runtime computes float64 inputs entirely in double, with the
 * same four-lane dot products and libm's double functions as the emitted kernel; only the
 * order of a bias add differs: a few double ulps, 1e-12 relative. */
#define SEQ_REC_F64_REL_TOL 1e-12

Test(emit_seq, lstm_and_gru_float64) {
    OneOp *o = sq_new();
    const int64_t S = 4, N = 2, I = 5, H = 3;
    int64_t xd[3] = {S, N, I}, wd[3] = {2, 4 * H, I}, rd[3] = {2, 4 * H, H}, bd[2] = {2, 8 * H}, pd[2] = {2, 3 * H};
    int in[8] = {op_input(o, "x", RT_F64, 3, xd), op_const(o, "w", RT_F64, 3, wd, NULL),
                 op_const(o, "r", RT_F64, 3, rd, NULL),  op_const(o, "b", RT_F64, 2, bd, NULL), -1, -1, -1,
                 op_const(o, "p", RT_F64, 2, pd, NULL)};
    int k = op_node_outs(o, RT_OP_LSTM, 8, in, 3, 0);
    RtAttr *a = attrs_new(o, k, 2);
    a[0] = attr_str(o, "direction", "bidirectional");
    a[1] = attr_strs(o, "activations", "Sigmoid,Softplus,Elu,HardSigmoid,Tanh,ScaledTanh");
    sq_check(o, "LSTM float64 bidirectional", 0, SEQ_REC_F64_REL_TOL, 0);
    o = sq_new();
    int64_t gw[3] = {1, 3 * H, I}, gr[3] = {1, 3 * H, H};
    int gin[3] = {op_input(o, "x", RT_F64, 3, xd), op_const(o, "w", RT_F64, 3, gw, NULL),
                  op_const(o, "r", RT_F64, 3, gr, NULL)};
    op_node_outs(o, RT_OP_GRU, 3, gin, 2, 0);
    sq_check(o, "GRU float64", 0, SEQ_REC_F64_REL_TOL, 0);
}

/* ---------------------------------------------------------------- integer matmul */

/* Positive scales in [lo, lo + 0.01 * count). */
static float *scales(float *v, int count, float lo) {
    for (int i = 0; i < count; i++) v[i] = lo + 0.01f * (float)((i * 7) % 11);
    return v;
}

Test(emit_seq, matmul_integer_broadcast_batches_per_row_and_column_zero_points) {
    OneOp *o = sq_new();
    int64_t ad[4] = {2, 1, 3, 5}, bd[3] = {3, 5, 4}, zad[1] = {3}, zbd[1] = {4};
    int in[4] = {op_input(o, "a", RT_U8, 4, ad), op_const(o, "b", RT_I8, 3, bd, NULL),
                 op_input(o, "az", RT_U8, 1, zad), op_const(o, "bz", RT_I8, 1, zbd, NULL)};
    op_node(o, RT_OP_MATMUL_INTEGER, 4, in);
    sq_check(o, "MatMulInteger [2,1,3,5] x [3,5,4] per-row / per-column zero points", 0, 0, 0);
    o = sq_new();
    int64_t a1[1] = {6}, b1[2] = {6, 3}, one[1] = {1};
    int in1[4] = {op_input(o, "a", RT_I8, 1, a1), op_input(o, "b", RT_I8, 2, b1),
                  op_const(o, "az", RT_I8, 1, one, (int8_t[]){-3}), -1};
    op_node(o, RT_OP_MATMUL_INTEGER, 4, in1);
    sq_check(o, "MatMulInteger 1-D A, scalar zero point, no b_zero_point", 0, 0, 0);
    /* K = 600: |sums| up to 600 * 255 * 255 exceed 2^25: exact int32 */
    o = sq_new();
    int64_t a2[2] = {2, 600}, b2[2] = {600, 3};
    int in2[2] = {op_input(o, "a", RT_U8, 2, a2), op_const(o, "b", RT_U8, 2, b2, NULL)};
    op_node(o, RT_OP_MATMUL_INTEGER, 2, in2);
    sq_check(o, "MatMulInteger K = 600 uint8", 0, 0, 0);
}

Test(emit_seq, qlinear_matmul_per_column_and_per_row_parameters) {
    OneOp *o = sq_new();
    const int64_t M = 3, K = 6, N = 4;
    int64_t ad[3] = {2, M, K}, bd[2] = {K, N}, one[1] = {1}, nd[1] = {N}, md[2] = {M, 1};
    float sb[4], sy[3];
    int in[8] = {op_input(o, "a", RT_I8, 3, ad),
                 op_input_data(o, "as", RT_F32, 1, one, (float[]){0.05f}),
                 op_const(o, "az", RT_I8, 1, one, (int8_t[]){5}),
                 op_const(o, "b", RT_I8, 2, bd, NULL),
                 op_const(o, "bs", RT_F32, 1, nd, scales(sb, 4, 0.02f)),
                 op_const(o, "bz", RT_I8, 1, nd, (int8_t[]){0, -2, 3, 1}),
                 op_const(o, "ys", RT_F32, 2, md, scales(sy, 3, 0.5f)),
                 op_const(o, "yz", RT_I8, 2, md, (int8_t[]){-10, 0, 7})};
    op_node(o, RT_OP_QLINEAR_MATMUL, 8, in);
    sq_check(o, "QLinearMatMul int8, per-column b, per-row y", 0, 0, 0);
    /* uint8, every parameter a graph input */
    o = sq_new();
    int64_t a2[2] = {5, 7}, b2[2] = {7, 2};
    int in2[8] = {op_input(o, "a", RT_U8, 2, a2),
                  op_input_data(o, "as", RT_F32, 1, one, (float[]){0.03f}),
                  op_input(o, "az", RT_U8, 1, one),
                  op_input(o, "b", RT_U8, 2, b2),
                  op_input_data(o, "bs", RT_F32, 1, one, (float[]){0.04f}),
                  op_input(o, "bz", RT_U8, 1, one),
                  op_input_data(o, "ys", RT_F32, 1, one, (float[]){0.9f}),
                  op_input_data(o, "yz", RT_U8, 1, one, (uint8_t[]){120})};
    op_node(o, RT_OP_QLINEAR_MATMUL, 8, in2);
    sq_check(o, "QLinearMatMul uint8, parameters as inputs", 0, 0, 0);
}

/* ---------------------------------------------------------------- ConvInteger, DynamicQuantizeLinear */

Test(emit_seq, conv_integer_groups_strides_pads_dilations_per_channel_zero_points) {
    OneOp *o = sq_new();
    int64_t xd[4] = {2, 4, 7, 6}, wd[4] = {6, 2, 3, 2}, one[1] = {1}, md[1] = {6};
    int in[4] = {op_input(o, "x", RT_U8, 4, xd), op_const(o, "w", RT_I8, 4, wd, NULL),
                 op_input(o, "xz", RT_U8, 1, one), op_const(o, "wz", RT_I8, 1, md, NULL)};
    int k = op_node(o, RT_OP_CONV_INTEGER, 4, in);
    RtAttr *a = attrs_new(o, k, 4);
    a[0] = attr_int(o, "group", 2);
    a[1] = attr_ints(o, "strides", 2, (int64_t[]){2, 1});
    a[2] = attr_ints(o, "pads", 4, (int64_t[]){1, 0, 2, 1});
    a[3] = attr_ints(o, "dilations", 2, (int64_t[]){1, 2});
    sq_check(o, "ConvInteger 2-D groups, strides, pads, dilations", 0, 0, 0);
}

Test(emit_seq, conv_integer_1d_and_3d_same_padding) {
    OneOp *o = sq_new();
    int64_t xd[3] = {1, 3, 9}, wd[3] = {2, 3, 4};
    int in[2] = {op_input(o, "x", RT_I8, 3, xd), op_const(o, "w", RT_I8, 3, wd, NULL)};
    int k = op_node(o, RT_OP_CONV_INTEGER, 2, in);
    RtAttr *a = attrs_new(o, k, 2);
    a[0] = attr_str(o, "auto_pad", "SAME_LOWER");
    a[1] = attr_ints(o, "strides", 1, (int64_t[]){2});
    sq_check(o, "ConvInteger 1-D SAME_LOWER stride 2", 0, 0, 0);
    o = sq_new();
    int64_t x3[5] = {1, 2, 4, 5, 3}, w3[5] = {3, 2, 2, 3, 2}, one[1] = {1};
    int in3[4] = {op_input(o, "x", RT_U8, 5, x3), op_input(o, "w", RT_U8, 5, w3),
                  op_const(o, "xz", RT_U8, 1, one, (uint8_t[]){128}), op_const(o, "wz", RT_U8, 1, one, (uint8_t[]){3})};
    k = op_node(o, RT_OP_CONV_INTEGER, 4, in3);
    attrs_new(o, k, 1)[0] = attr_str(o, "auto_pad", "SAME_UPPER");
    sq_check(o, "ConvInteger 3-D SAME_UPPER uint8", 0, 0, 0);
}

Test(emit_seq, dynamic_quantize_linear_outputs_and_ranges) {
    /* values of both signs, all positive (range widened to 0), all equal (scale 1) */
    static const float pos[6] = {0.5f, 3.0f, 2.25f, 1.0f, 0.125f, 7.5f}, eq[6] = {0, 0, 0, 0, 0, 0};
    for (int v = 0; v < 3; v++) {
        OneOp *o = sq_new();
        int64_t xd[2] = {2, 3};
        int in[1] = {op_input_data(o, "x", RT_F32, 2, xd, v == 0 ? NULL : v == 1 ? pos : eq)};
        op_node_outs(o, RT_OP_DYNAMIC_QUANTIZE_LINEAR, 1, in, 3, v == 2 ? 4 : 0);
        sq_check(o, "DynamicQuantizeLinear", 0, 0, 0);
    }
}

/* ---------------------------------------------------------------- keyword-spotting model */

/* The emitted C against onnxruntime: onnxruntime's LSTM / GRU use their own float sigmoid and
 * tanh (MLAS) and sum in another order; over 20 steps of H = 16 the outputs (state in
 * (-1, 1), probabilities <= 1) differ by 1.2e-7 absolute / 1.2e-6 relative at most (measured
 * on this model): 1e-6 + 1e-5 relative leaves ~10x room while a wrong gate, bias or step
 * order moves them by 1e-2 and more. */
#define SEQ_KWS_ATOL 1e-6
#define SEQ_KWS_RTOL 1e-5

static Onnx__TensorProto *kws_init(Onnx__GraphProto *g, const char *name, int rank, const int64_t *dims, uint64_t *seed,
                                   float amp) {
    Onnx__TensorProto *t = pb_add_init(g, pb_tensor(name, 1, (size_t)rank, dims));
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    float *v = pb_zalloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) v[i] = amp * (float)((double)(lcg(seed) % 20001) / 10000.0 - 1.0);
    return pb_tensor_floats(t, (size_t)n, v);
}

/* Raw float file at path compared with a .npy (dtype float32, same element count). */
static void kws_compare(const char *what, const char *raw, const char *npy, double atol, double rtol) {
    RtTensor t;
    RtError err = {{0}};
    cr_assert_eq(npy_read(npy, &t, &err), RT_OK, "%s: %s", what, err.msg);
    size_t n = 0;
    float *c = (float *)tu_file_read(raw, &n);
    cr_assert(c && t.dtype == RT_F32 && (int64_t)n == rt_nbytes(&t), "%s: %zu bytes vs %lld", what, n,
              (long long)rt_nbytes(&t));
    const float *r = t.data;
    for (int64_t i = 0; i < rt_numel(&t); i++)
        cr_expect(fabs((double)c[i] - r[i]) <= atol + rtol * fabs((double)r[i]), "%s: element %lld: %.9g vs %.9g", what,
                  (long long)i, c[i], r[i]);
    free(c);
    free(t.data);
}

static void kws_case(int gru) {
    const int64_t T = 20, F = 10, H = 16, C = 12, G = gru ? 3 : 4;
    uint64_t seed = 99;
    Onnx__GraphProto *g = pb_graph("kws");
    Onnx__NodeProto *rn = pb_add_node(g, pb_node(gru ? "GRU" : "LSTM", "rec", "x,W,R,B", ",h"));
    pb_attr_int(rn, "hidden_size", H);
    if (gru) pb_attr_int(rn, "linear_before_reset", 1); /* as PyTorch exports GRU */
    int64_t wd[3] = {1, G * H, F}, rd[3] = {1, G * H, H}, bd[2] = {1, 2 * G * H}, fd[2] = {H, C}, cd[1] = {C},
            sd[1] = {2};
    kws_init(g, "W", 3, wd, &seed, 0.4f);
    kws_init(g, "R", 3, rd, &seed, 0.3f);
    kws_init(g, "B", 2, bd, &seed, 0.2f);
    kws_init(g, "Wfc", 2, fd, &seed, 0.8f);
    kws_init(g, "bfc", 1, cd, &seed, 0.1f);
    int64_t shape[2] = {1, H};
    pb_tensor_raw(pb_add_init(g, pb_tensor("shape", 7, 1, sd)), shape, sizeof shape);
    pb_add_node(g, pb_node("Reshape", "flat", "h,shape", "hf"));
    pb_add_node(g, pb_node("MatMul", "fc", "hf,Wfc", "l0"));
    pb_add_node(g, pb_node("Add", "bias", "l0,bfc", "logits"));
    pb_attr_int(pb_add_node(g, pb_node("Softmax", "sm", "logits", "probs")), "axis", -1);
    pb_add_input(g, pb_value("x", 1, "20,1,10"));
    pb_add_output(g, pb_value("probs", 1, "1,12"));
    pb_add_output(g, pb_value("h", 1, "1,1,16"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 8, 14, "test", &len);

    char dir[256], path[600], log[16384];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "emitc_kws"), 0);
    snprintf(path, sizeof path, "%s/kws.onnx", dir);
    ecu_raw_write(path, m, len);
    float x[200];
    for (int i = 0; i < T * F; i++)
        x[i] = (float)((double)(lcg(&seed) % 20001) / 5000.0 - 2.0); /* MFCC-like, [-2, 2] */
    RtTensor xt = {RT_F32, 3, {T, 1, F}, x};
    RtError err = {{0}};
    snprintf(path, sizeof path, "%s/x.npy", dir);
    cr_assert_eq(npy_write(path, &xt, &err), RT_OK, "%s", err.msg);
    snprintf(path, sizeof path, "%s/x.bin", dir);
    ecu_raw_write(path, x, sizeof x);
    int st = tu_run(log, sizeof log, "%s emit-c %s/kws.onnx --weights f32 -o %s", WAFER_BIN, dir, dir);
    cr_assert_eq(st, 0, "emit-c: %s", log);
    cr_assert_eq(ecu_compile("gcc", "-O2", dir, "h", log, sizeof log), 0, "%s", log);
    st = tu_run(log, sizeof log, "%s/h %s/x.bin %s/probs.bin %s/h.bin", dir, dir, dir, dir);
    cr_assert_eq(st, 0, "%s", log);
    /* the runtime (reference semantics of the same file) */
    st = tu_run(log, sizeof log, "%s run %s/kws.onnx --input x=%s/x.npy --out %s/w", WAFER_BIN, dir, dir, dir);
    cr_assert_eq(st, 0, "wafer run: %s", log);
    char raw[700], npy[700];
    const char *outs[2] = {"probs", "h"};
    for (int o = 0; o < 2; o++) {
        snprintf(raw, sizeof raw, "%s/%s.bin", dir, outs[o]);
        snprintf(npy, sizeof npy, "%s/w/%s.npy", dir, outs[o]);
        kws_compare(gru ? "GRU model vs wafer run" : "LSTM model vs wafer run", raw, npy, 1e-6, SEQ_REC_REL_TOL);
    }
    /* onnxruntime */
    st = tu_run(log, sizeof log, "node tests/e2e/ort_eval.js run %s/kws.onnx x=%s/x.npy --out %s/ort", dir, dir, dir);
    if (st == 3 || tu_run(log, sizeof log, "node --version") != 0) {
        tu_tmpdir_remove(dir);
        cr_skip_test("onnxruntime-node is not installed");
    }
    cr_assert_eq(st, 0, "onnxruntime: %s", log);
    for (int o = 0; o < 2; o++) {
        snprintf(raw, sizeof raw, "%s/%s.bin", dir, outs[o]);
        snprintf(npy, sizeof npy, "%s/ort/%s.npy", dir, outs[o]);
        kws_compare(gru ? "GRU model vs onnxruntime" : "LSTM model vs onnxruntime", raw, npy, SEQ_KWS_ATOL,
                    SEQ_KWS_RTOL);
    }
    tu_tmpdir_remove(dir);
}

Test(emit_seq, keyword_spotting_lstm_matches_onnxruntime, .fini = pb_release_all) {
    kws_case(0);
}

Test(emit_seq, keyword_spotting_gru_matches_onnxruntime, .fini = pb_release_all) {
    kws_case(1);
}

Test(emit_seq, qlinear_conv_per_channel_scales_bias_and_parameters_as_inputs) {
    OneOp *o = sq_new();
    int64_t xd[4] = {1, 4, 6, 5}, wd[4] = {4, 2, 3, 3}, one[1] = {1}, md[1] = {4};
    float ws[4];
    int in[9] = {op_input(o, "x", RT_I8, 4, xd),
                 op_input_data(o, "xs", RT_F32, 1, one, (float[]){0.04f}),
                 op_input_data(o, "xz", RT_I8, 1, one, (int8_t[]){-4}),
                 op_const(o, "w", RT_I8, 4, wd, NULL),
                 op_const(o, "ws", RT_F32, 1, md, scales(ws, 4, 0.01f)),
                 op_const(o, "wz", RT_I8, 1, md, (int8_t[]){0, 1, -1, 2}),
                 op_const(o, "ys", RT_F32, 1, one, (float[]){0.6f}),
                 op_const(o, "yz", RT_I8, 1, one, (int8_t[]){3}),
                 op_const(o, "b", RT_I32, 1, md, NULL)};
    int k = op_node(o, RT_OP_QLINEAR_CONV, 9, in);
    RtAttr *a = attrs_new(o, k, 2);
    a[0] = attr_int(o, "group", 2);
    a[1] = attr_str(o, "auto_pad", "SAME_UPPER");
    sq_check(o, "QLinearConv int8 per-channel w_scale, bias, groups", 0, 0, 0);
    /* uint8 1-D without bias, every parameter an input */
    o = sq_new();
    int64_t x1[3] = {2, 3, 8}, w1[3] = {2, 3, 3};
    int in1[8] = {op_input(o, "x", RT_U8, 3, x1),
                  op_input_data(o, "xs", RT_F32, 1, one, (float[]){0.02f}),
                  op_input(o, "xz", RT_U8, 1, one),
                  op_input(o, "w", RT_U8, 3, w1),
                  op_input_data(o, "ws", RT_F32, 1, one, (float[]){0.03f}),
                  op_input(o, "wz", RT_U8, 1, one),
                  op_input_data(o, "ys", RT_F32, 1, one, (float[]){0.5f}),
                  op_input_data(o, "yz", RT_U8, 1, one, (uint8_t[]){100})};
    op_node(o, RT_OP_QLINEAR_CONV, 8, in1);
    sq_check(o, "QLinearConv uint8 1-D, parameters as inputs", 0, 0, 0);
}

/* ---------------------------------------------------------------- Einsum */

/* Einsum in float32: the runtime multiplies and sums in double, the emitted loop in float;
 * the <= 20-term sums here round each partial sum to float (2^-24 relative each): below
 * 20 ulps of the largest output, 1.2e-6, so 1e-5. float64 sums in the same order as the
 * runtime (equal bits expected; the same bound is checked). */
#define SEQ_EIN_REL_TOL 1e-5

static void ein_case(const char *eq, RtDtype dt, int n_ops, const int *ranks, const int64_t dims[][4],
                     const char *what) {
    OneOp *o = sq_new();
    int in[4];
    for (int j = 0; j < n_ops; j++) {
        char nm[8];
        snprintf(nm, sizeof nm, "x%d", j);
        in[j] = j == 1 && n_ops > 2 ? op_const(o, nm, dt, ranks[j], dims[j], NULL)
                                    : op_input(o, nm, dt, ranks[j], dims[j]);
    }
    int k = op_node(o, RT_OP_EINSUM, n_ops, in);
    attrs_new(o, k, 1)[0] = attr_str(o, "equation", eq);
    sq_check(o, what, 0, SEQ_EIN_REL_TOL, 0);
}

Test(emit_seq, einsum_equations_and_dtypes) {
    ein_case("...ij,jk->...ik", RT_F32, 2, (int[]){4, 2}, (const int64_t[][4]){{2, 3, 4, 5}, {5, 2}},
             "Einsum ellipsis matmul float32");
    ein_case("bij,bjk", RT_F32, 2, (int[]){3, 3}, (const int64_t[][4]){{1, 3, 4}, {2, 4, 5}},
             "Einsum implicit output, broadcast batch of 1");
    ein_case("ii->i", RT_I32, 1, (int[]){2}, (const int64_t[][4]){{5, 5}}, "Einsum diagonal int32");
    ein_case("ij,ij->", RT_I8, 2, (int[]){2, 2}, (const int64_t[][4]){{7, 9}, {7, 9}}, "Einsum int8 full sum (wraps)");
    ein_case("i,j,k->kji", RT_F64, 3, (int[]){1, 1, 1}, (const int64_t[][4]){{3}, {4}, {2}},
             "Einsum three operands float64");
    ein_case("bii->bi", RT_U8, 1, (int[]){3}, (const int64_t[][4]){{2, 4, 4}}, "Einsum batch diagonal uint8");
}

/* ---------------------------------------------------------------- DFT */

/* DFT: the runtime transforms in double, the emitted kernel in float with float twiddles;
 * each output is a sum of <= 16 products through <= 4 butterfly stages (a few float ulps of
 * the largest partial sum each): far below 1e-5 of the largest output. */
#define SEQ_DFT_REL_TOL 1e-5

/* x [2, N, 3, comp] along axis 1 (opset 17 attribute, or opset 20 inputs); len < 0 = none. */
static void dft_case(int opset, int64_t N, int comp, int64_t len, int inverse, int onesided, const char *what) {
    OneOp *o = sq_new();
    o->g->opset = opset;
    int64_t xd[4] = {2, N, 3, comp}, one[1] = {1};
    int in[3] = {op_input(o, "x", RT_F32, 4, xd), -1, -1};
    if (len >= 0) in[1] = op_const(o, "len", RT_I64, 1, one, &len);
    if (opset >= 20) in[2] = op_const(o, "axis", RT_I64, 1, one, (int64_t[]){-3});
    int k = op_node(o, RT_OP_DFT, opset >= 20 ? 3 : len >= 0 ? 2 : 1, in);
    RtAttr *a = attrs_new(o, k, opset >= 20 ? 2 : 3);
    a[0] = attr_int(o, "inverse", inverse);
    a[1] = attr_int(o, "onesided", onesided);
    if (opset < 20) a[2] = attr_int(o, "axis", 1);
    sq_check(o, what, 0, SEQ_DFT_REL_TOL, 0);
}

Test(emit_seq, dft_lengths_padding_inverse_onesided) {
    dft_case(17, 12, 1, -1, 0, 1, "DFT real, L = 12 (2*2*3), one-sided");
    dft_case(17, 7, 2, -1, 1, 0, "DFT complex inverse, prime L = 7");
    dft_case(20, 5, 1, 16, 0, 0, "DFT opset 20, axis input, zero-padded to 16");
    dft_case(20, 9, 2, 6, 0, 0, "DFT opset 20, complex, truncated to 6");
    dft_case(17, 13, 1, -1, 0, 0, "DFT real, prime L = 13, two-sided");
}

/* float64 DFT / STFT: the runtime's double FFT over the same double twiddles, summed in the same
 * order: equal up to a few double ulps. */
Test(emit_seq, dft_and_stft_float64) {
    OneOp *o = sq_new();
    o->g->opset = 17;
    int64_t xd[4] = {2, 10, 3, 2}, sd[3] = {1, 16, 1}, one[1] = {1};
    int in[1] = {op_input(o, "x", RT_F64, 4, xd)};
    int k = op_node(o, RT_OP_DFT, 1, in);
    attrs_new(o, k, 1)[0] = attr_int(o, "inverse", 1);
    sq_check(o, "DFT float64 complex inverse, L = 10", 0, SEQ_REC_F64_REL_TOL, 0);
    o = sq_new();
    o->g->opset = 17;
    int sin_[4] = {op_input(o, "x", RT_F64, 3, sd), op_const(o, "step", RT_I64, 1, one, (int64_t[]){4}),
                   op_const(o, "w", RT_F64, 1, (int64_t[]){6}, NULL), -1};
    op_node(o, RT_OP_STFT, 4, sin_);
    sq_check(o, "STFT float64 with a window of 6", 0, SEQ_REC_F64_REL_TOL, 0);
}

/* STFT: signal [2, 20, comp], frame_step 3; the window a constant or an input, or none with a
 * frame_length. Same arithmetic as DFT: SEQ_DFT_REL_TOL. */
static void stft_case(int comp, int window, int win_input, int64_t flen, int onesided, const char *what) {
    OneOp *o = sq_new();
    o->g->opset = 17;
    int64_t xd[3] = {2, 20, comp}, one[1] = {1}, wd[1] = {flen};
    int in[4] = {op_input(o, "x", RT_F32, 3, xd), op_const(o, "step", RT_I64, 1, one, (int64_t[]){3}), -1,
                 -1};
    if (window) in[2] = win_input ? op_input(o, "w", RT_F32, 1, wd) : op_const(o, "w", RT_F32, 1, wd, NULL);
    else in[3] = op_const(o, "len", RT_I64, 1, one, &flen);
    int k = op_node(o, RT_OP_STFT, 4, in);
    attrs_new(o, k, 1)[0] = attr_int(o, "onesided", onesided);
    sq_check(o, what, 0, SEQ_DFT_REL_TOL, 0);
}

Test(emit_seq, stft_windows_frame_lengths_onesided) {
    stft_case(1, 1, 0, 8, 1, "STFT real, constant window of 8, one-sided");
    stft_case(2, 0, 0, 6, 0, "STFT complex, frame_length 6, no window, two-sided");
    stft_case(1, 1, 1, 5, 0, "STFT real, window as an input, prime frame 5, two-sided");
}

/* ---------------------------------------------------------------- onnxruntime's integer matmuls */

/* float outputs of the contrib integer matmuls: the same float32 operations in the same order
 * as the runtime's epilogue (float(acc) * s + bias): equal up to the last bit; 1e-6 allows
 * a compiler's different but legal evaluation of the scale product. */
#define SEQ_QF_REL_TOL 1e-6

Test(emit_seq, matmul_integer_to_float_and_dynamic_quantize_matmul) {
    OneOp *o = sq_new();
    int64_t ad[3] = {2, 3, 6}, bd[2] = {6, 4}, one[1] = {1}, nd[1] = {4};
    float bs[4];
    int in[7] = {op_input(o, "a", RT_U8, 3, ad),
                 op_const(o, "b", RT_I8, 2, bd, NULL),
                 op_input_data(o, "as", RT_F32, 1, one, (float[]){0.02f}),
                 op_const(o, "bs", RT_F32, 1, nd, scales(bs, 4, 0.03f)),
                 op_input(o, "az", RT_U8, 1, one),
                 op_const(o, "bz", RT_I8, 1, nd, (int8_t[]){1, 0, -2, 3}),
                 op_const(o, "bias", RT_F32, 1, nd, NULL)};
    op_node(o, RT_OP_MATMUL_INTEGER_TO_FLOAT, 7, in);
    sq_check(o, "MatMulIntegerToFloat per-column b_scale / b_zp, bias", 0, SEQ_QF_REL_TOL, 0);
    o = sq_new();
    int64_t bb[3] = {2, 6, 4};
    int in2[4] = {op_input(o, "a", RT_I8, 3, ad), op_input(o, "b", RT_I8, 3, bb),
                  op_const(o, "as", RT_F32, 1, one, (float[]){0.05f}),
                  op_const(o, "bs", RT_F32, 1, one, (float[]){0.01f})};
    op_node(o, RT_OP_MATMUL_INTEGER_TO_FLOAT, 4, in2);
    sq_check(o, "MatMulIntegerToFloat batched B, no zero points", 0, SEQ_QF_REL_TOL, 0);
    o = sq_new();
    int64_t fa[2] = {3, 5}, b5[2] = {5, 4};
    int in3[5] = {op_input(o, "a", RT_F32, 2, fa), op_const(o, "b", RT_U8, 2, b5, NULL),
                  op_const(o, "bs", RT_F32, 1, one, (float[]){0.04f}),
                  op_const(o, "bz", RT_U8, 1, nd, (uint8_t[]){128, 127, 130, 120}),
                  op_const(o, "bias", RT_F32, 1, nd, NULL)};
    op_node(o, RT_OP_DYNAMIC_QUANTIZE_MATMUL, 5, in3);
    sq_check(o, "DynamicQuantizeMatMul", 0, SEQ_QF_REL_TOL, 0);
}

/* ---------------------------------------------------------------- contrib integer matmuls vs onnxruntime */

static Onnx__TensorProto *ms_init(Onnx__GraphProto *g, const char *name, int dtype, int rank, const int64_t *dims,
                                  const void *data, size_t bytes) {
    return pb_tensor_raw(pb_add_init(g, pb_tensor(name, dtype, (size_t)rank, dims)), data, bytes);
}

static Onnx__NodeProto *ms_node(Onnx__GraphProto *g, const char *op, const char *ins, const char *outs) {
    Onnx__NodeProto *n = pb_add_node(g, pb_node(op, op, ins, outs));
    n->domain = pb_str("com.microsoft");
    return n;
}

/* DynamicQuantizeMatMul, MatMulIntegerToFloat and a QGemm (com.microsoft) in one model emitted
 * by the CLI, against onnxruntime: the integer sums are exact in both; the float epilogues
 * are the same float32 operations (SEQ_QF_REL_TOL); QGemm's uint8 output is requantized by
 * both with a float32 product rounded half to even: exact. */
Test(emit_seq, contrib_integer_matmuls_match_onnxruntime, .fini = pb_release_all) {
    uint64_t seed = 5;
    Onnx__GraphProto *g = pb_graph("msq");
    ms_node(g, "DynamicQuantizeMatMul", "x,B1,bs1,bz1,bias1", "h");
    ms_node(g, "MatMulIntegerToFloat", "q,B2,as,bs2,az,bz2", "z");
    pb_attr_int(ms_node(g, "QGemm", "q,as,az,B3,bs3,bz3,C3,ys,yz", "u"), "transB", 1);
    uint8_t B1[48], bz1[6], B3[40], bz3[5] = {128, 130, 125, 128, 131}, az = 120, yz = 128;
    int8_t B2[40], bz2 = 2;
    float bs1[6], bias1[6], bs3[5], as = 0.02f, bs2 = 0.05f, ys = 0.4f;
    int32_t C3[5] = {100, -250, 0, 3000, -7};
    for (int i = 0; i < 48; i++) B1[i] = (uint8_t)(lcg(&seed) % 256);
    for (int i = 0; i < 40; i++) B2[i] = (int8_t)((int)(lcg(&seed) % 256) - 128);
    for (int i = 0; i < 40; i++) B3[i] = (uint8_t)(lcg(&seed) % 256);
    for (int i = 0; i < 6; i++) bz1[i] = (uint8_t)(120 + i), bias1[i] = 0.1f * (float)i - 0.2f;
    scales(bs1, 6, 0.01f);
    scales(bs3, 5, 0.02f);
    int64_t d86[2] = {8, 6}, d6[1] = {6}, d85[2] = {8, 5}, d58[2] = {5, 8}, d5[1] = {5};
    ms_init(g, "B1", 2, 2, d86, B1, sizeof B1);
    ms_init(g, "bs1", 1, 1, d6, bs1, sizeof bs1);
    ms_init(g, "bz1", 2, 1, d6, bz1, sizeof bz1);
    ms_init(g, "bias1", 1, 1, d6, bias1, sizeof bias1);
    ms_init(g, "B2", 3, 2, d85, B2, sizeof B2);
    ms_init(g, "as", 1, 0, NULL, &as, sizeof as);
    ms_init(g, "bs2", 1, 0, NULL, &bs2, sizeof bs2);
    ms_init(g, "az", 2, 0, NULL, &az, sizeof az);
    ms_init(g, "bz2", 3, 0, NULL, &bz2, sizeof bz2);
    ms_init(g, "B3", 2, 2, d58, B3, sizeof B3);
    ms_init(g, "bs3", 1, 1, d5, bs3, sizeof bs3);
    ms_init(g, "bz3", 2, 1, d5, bz3, sizeof bz3);
    ms_init(g, "C3", 6, 1, d5, C3, sizeof C3);
    ms_init(g, "ys", 1, 0, NULL, &ys, sizeof ys);
    ms_init(g, "yz", 2, 0, NULL, &yz, sizeof yz);
    pb_add_input(g, pb_value("x", 1, "4,8"));
    pb_add_input(g, pb_value("q", 2, "4,8"));
    pb_add_output(g, pb_value("h", 1, "4,6"));
    pb_add_output(g, pb_value("z", 1, "4,5"));
    pb_add_output(g, pb_value("u", 2, "4,5"));
    size_t len;
    uint8_t *m = pb_model_pack_domain(g, 8, 17, "com.microsoft", 1, "test", &len);

    char dir[256], path[600], log[16384];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "emitc_msq"), 0);
    snprintf(path, sizeof path, "%s/m.onnx", dir);
    ecu_raw_write(path, m, len);
    float x[32];
    uint8_t q[32];
    for (int i = 0; i < 32; i++)
        x[i] = (float)((double)(lcg(&seed) % 20001) / 5000.0 - 1.5), q[i] = (uint8_t)(lcg(&seed) % 256);
    RtTensor xt = {RT_F32, 2, {4, 8}, x}, qt = {RT_U8, 2, {4, 8}, q};
    RtError err = {{0}};
    snprintf(path, sizeof path, "%s/x.npy", dir);
    cr_assert_eq(npy_write(path, &xt, &err), RT_OK, "%s", err.msg);
    snprintf(path, sizeof path, "%s/q.npy", dir);
    cr_assert_eq(npy_write(path, &qt, &err), RT_OK, "%s", err.msg);
    snprintf(path, sizeof path, "%s/x.bin", dir);
    ecu_raw_write(path, x, sizeof x);
    snprintf(path, sizeof path, "%s/q.bin", dir);
    ecu_raw_write(path, q, sizeof q);
    int st = tu_run(log, sizeof log, "%s emit-c %s/m.onnx --weights f32 -o %s", WAFER_BIN, dir, dir);
    cr_assert_eq(st, 0, "emit-c: %s", log);
    cr_assert_eq(ecu_compile("gcc", "-O2", dir, "h", log, sizeof log), 0, "%s", log);
    st = tu_run(log, sizeof log, "%s/h %s/x.bin %s/q.bin %s/h.bin %s/z.bin %s/u.bin", dir, dir, dir, dir, dir, dir);
    cr_assert_eq(st, 0, "%s", log);
    st = tu_run(log, sizeof log, "node tests/e2e/ort_eval.js run %s/m.onnx x=%s/x.npy q=%s/q.npy --out %s/ort", dir,
                dir, dir, dir);
    if (st == 3 || tu_run(log, sizeof log, "node --version") != 0) {
        tu_tmpdir_remove(dir);
        cr_skip_test("onnxruntime-node is not installed");
    }
    cr_assert_eq(st, 0, "onnxruntime: %s", log);
    char raw[700], npy[700];
    const char *fl[2] = {"h", "z"};
    for (int o = 0; o < 2; o++) {
        snprintf(raw, sizeof raw, "%s/%s.bin", dir, fl[o]);
        snprintf(npy, sizeof npy, "%s/ort/%s.npy", dir, fl[o]);
        kws_compare(fl[o][0] == 'h' ? "DynamicQuantizeMatMul vs onnxruntime" : "MatMulIntegerToFloat vs onnxruntime",
                    raw, npy, 0, SEQ_QF_REL_TOL);
    }
    RtTensor u;
    snprintf(npy, sizeof npy, "%s/ort/u.npy", dir);
    cr_assert_eq(npy_read(npy, &u, &err), RT_OK, "%s", err.msg);
    size_t n = 0;
    snprintf(raw, sizeof raw, "%s/u.bin", dir);
    unsigned char *c = tu_file_read(raw, &n);
    cr_assert(c && u.dtype == RT_U8 && (int64_t)n == rt_nbytes(&u));
    cr_expect_eq(memcmp(c, u.data, n), 0, "QGemm vs onnxruntime: uint8 outputs differ");
    free(c);
    free(u.data);
    tu_tmpdir_remove(dir);
}

/* onnxruntime's com.microsoft QLinearConv: channels_last 1 (x [N, H, W, C]) and 0. */
Test(emit_seq, ms_qlinear_conv_channels_last) {
    for (int cl = 0; cl < 2; cl++) {
        OneOp *o = sq_new();
        int64_t xcl[4] = {2, 5, 6, 4}, xcf[4] = {2, 4, 5, 6}, wd[4] = {6, 2, 3, 3}, one[1] = {1}, md[1] = {6};
        float ws[6];
        int in[9] = {op_input(o, "x", RT_U8, 4, cl ? xcl : xcf),
                     op_const(o, "xs", RT_F32, 1, one, (float[]){0.03f}),
                     op_const(o, "xz", RT_U8, 1, one, (uint8_t[]){128}),
                     op_const(o, "w", RT_I8, 4, wd, NULL),
                     op_const(o, "ws", RT_F32, 1, md, scales(ws, 6, 0.01f)),
                     op_const(o, "wz", RT_I8, 1, md, (int8_t[]){0, 0, 0, 0, 0, 0}),
                     op_const(o, "ys", RT_F32, 1, one, (float[]){0.5f}),
                     op_const(o, "yz", RT_U8, 1, one, (uint8_t[]){110}),
                     op_const(o, "b", RT_I32, 1, md, NULL)};
        int k = op_node(o, RT_OP_MS_QLINEAR_CONV, 9, in);
        RtAttr *a = attrs_new(o, k, 4);
        a[0] = attr_int(o, "channels_last", cl);
        a[1] = attr_int(o, "group", 2);
        a[2] = attr_ints(o, "pads", 4, (int64_t[]){1, 1, 0, 1});
        a[3] = attr_ints(o, "strides", 2, (int64_t[]){1, 2});
        sq_check(o, cl ? "com.microsoft QLinearConv channels_last" : "com.microsoft QLinearConv NCHW", 0, 0, 0);
    }
}

/* ---------------------------------------------------------------- refusals */

/* Forms emit-c does not cover fail with RT_ERR_UNSUPPORTED naming the node and op, and leave
 * no file behind: float64 recurrent layers and DFT (the kernels compute in float32), a
 * sequence_lens constant outside [0, seq_length]. */
static void refuse_case(OneOp *o, int no_libm, int want, const char *op, const char *words) {
    char dir[256], path[600];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "emitc_seq_refuse"), 0);
    RtError err = {{0}};
    EmitCOptions eo = {"model", no_libm, "test", "test", "test", 0};
    int st = emit_c_write(o->g, &eo, dir, NULL, &err);
    cr_expect_eq(st, want, "%s: status %d, want %d (%s)", op, st, want, err.msg);
    cr_expect(strstr(err.msg, "the_node") && strstr(err.msg, op) && strstr(err.msg, words), "%s: message '%s'", op,
              err.msg);
    snprintf(path, sizeof path, "%s/model.c", dir);
    cr_expect(access(path, F_OK) != 0, "%s: %s was written", op, path);
    op_free(o);
    tu_tmpdir_remove(dir);
}

Test(emit_seq, unsupported_forms_are_refused_by_name) {
    OneOp *o = sq_new();
    int64_t xd[3] = {2, 1, 3}, wd[3] = {1, 4, 3}, rd[3] = {1, 4, 1}, sd[1] = {1};
    int in[3] = {op_input(o, "x", RT_F64, 3, xd), op_const(o, "w", RT_F64, 3, wd, NULL),
                 op_const(o, "r", RT_F64, 3, rd, NULL)};
    op_node_outs(o, RT_OP_LSTM, 3, in, 2, 1);
    refuse_case(o, 1, RT_ERR_UNSUPPORTED, "LSTM", "--no-libm");
    /* a float32 RNN, then a float64 one: one real type per model */
    o = sq_new();
    int64_t r1[3] = {1, 1, 3}, r2[3] = {1, 1, 1};
    int a[3] = {op_input(o, "x", RT_F32, 3, xd), op_const(o, "w", RT_F32, 3, r1, NULL),
                op_const(o, "r", RT_F32, 3, r2, NULL)};
    op_node_outs(o, RT_OP_RNN, 3, a, 2, 1);
    int b[3] = {op_input(o, "x64", RT_F64, 3, xd), op_const(o, "w64", RT_F64, 3, r1, NULL),
                op_const(o, "r64", RT_F64, 3, r2, NULL)};
    op_node_outs(o, RT_OP_RNN, 3, b, 2, 1);
    refuse_case(o, 0, RT_ERR_UNSUPPORTED, "RNN", "one float type");
    /* a float32 LSTM, then a float64 DFT: the same */
    o = sq_new();
    int64_t w4[3] = {1, 4, 3}, r4[3] = {1, 4, 1}, fd[3] = {1, 8, 1};
    int l[3] = {op_input(o, "x", RT_F32, 3, xd), op_const(o, "w", RT_F32, 3, w4, NULL),
                op_const(o, "r", RT_F32, 3, r4, NULL)};
    op_node_outs(o, RT_OP_LSTM, 3, l, 2, 1);
    int fin[1] = {op_input(o, "s", RT_F64, 3, fd)};
    op_node(o, RT_OP_DFT, 1, fin);
    refuse_case(o, 0, RT_ERR_UNSUPPORTED, "DFT", "one float type");
    o = sq_new();
    int64_t x2[3] = {2, 1, 3};
    int gin[5] = {op_input(o, "x", RT_F32, 3, x2), op_const(o, "w", RT_F32, 3, (int64_t[]){1, 3, 3}, NULL),
                  op_const(o, "r", RT_F32, 3, (int64_t[]){1, 3, 1}, NULL), -1,
                  op_const(o, "sl", RT_I32, 1, sd, (int32_t[]){3})};
    op_node_outs(o, RT_OP_GRU, 5, gin, 2, 1);
    refuse_case(o, 0, RT_ERR, "GRU", "sequence_lens");
}

/* onnxruntime's own com.microsoft QLinearConv (uint8, channels_last 1, as its NHWC transformer
 * writes it) emitted by the CLI against onnxruntime: integer sums exact, the requantization
 * a float32 product rounded half to even in both: exact. */
Test(emit_seq, ms_qlinear_conv_channels_last_matches_onnxruntime, .fini = pb_release_all) {
    uint64_t seed = 11;
    Onnx__GraphProto *g = pb_graph("nhwc");
    Onnx__NodeProto *cv = ms_node(g, "QLinearConv", "x,xs,xz,w,ws,wz,ys,yz,b", "y");
    pb_attr_int(cv, "channels_last", 1);
    pb_attr_ints(cv, "pads", 4, (int64_t[]){1, 1, 1, 1});
    pb_attr_ints(cv, "kernel_shape", 2, (int64_t[]){3, 3});
    uint8_t w[6 * 4 * 9], xz = 128, wz = 128, yz = 120;
    int32_t b[6];
    float xs = 0.02f, ws = 0.01f, ys = 0.05f;
    for (size_t i = 0; i < sizeof w; i++) w[i] = (uint8_t)(lcg(&seed) % 256);
    for (int i = 0; i < 6; i++) b[i] = (int32_t)(lcg(&seed) % 2001) - 1000;
    int64_t wd[4] = {6, 4, 3, 3}, bd[1] = {6};
    ms_init(g, "w", 2, 4, wd, w, sizeof w);
    ms_init(g, "b", 6, 1, bd, b, sizeof b);
    ms_init(g, "xs", 1, 0, NULL, &xs, sizeof xs);
    ms_init(g, "ws", 1, 0, NULL, &ws, sizeof ws);
    ms_init(g, "ys", 1, 0, NULL, &ys, sizeof ys);
    ms_init(g, "xz", 2, 0, NULL, &xz, sizeof xz);
    ms_init(g, "wz", 2, 0, NULL, &wz, sizeof wz);
    ms_init(g, "yz", 2, 0, NULL, &yz, sizeof yz);
    pb_add_input(g, pb_value("x", 2, "1,5,7,4"));
    pb_add_output(g, pb_value("y", 2, "1,5,7,6"));
    size_t len;
    uint8_t *m = pb_model_pack_domain(g, 8, 17, "com.microsoft", 1, "test", &len);
    char dir[256], path[600], log[16384];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "emitc_nhwc"), 0);
    snprintf(path, sizeof path, "%s/m.onnx", dir);
    ecu_raw_write(path, m, len);
    uint8_t x[140];
    for (int i = 0; i < 140; i++) x[i] = (uint8_t)(lcg(&seed) % 256);
    RtTensor xt = {RT_U8, 4, {1, 5, 7, 4}, x};
    RtError err = {{0}};
    snprintf(path, sizeof path, "%s/x.npy", dir);
    cr_assert_eq(npy_write(path, &xt, &err), RT_OK, "%s", err.msg);
    snprintf(path, sizeof path, "%s/x.bin", dir);
    ecu_raw_write(path, x, sizeof x);
    int st = tu_run(log, sizeof log, "%s emit-c %s/m.onnx --weights f32 -o %s", WAFER_BIN, dir, dir);
    cr_assert_eq(st, 0, "emit-c: %s", log);
    cr_assert_eq(ecu_compile("gcc", "-O2", dir, "h", log, sizeof log), 0, "%s", log);
    st = tu_run(log, sizeof log, "%s/h %s/x.bin %s/y.bin", dir, dir, dir);
    cr_assert_eq(st, 0, "%s", log);
    st = tu_run(log, sizeof log, "node tests/e2e/ort_eval.js run %s/m.onnx x=%s/x.npy --out %s/ort", dir, dir, dir);
    if (st == 3 || tu_run(log, sizeof log, "node --version") != 0) {
        tu_tmpdir_remove(dir);
        cr_skip_test("onnxruntime-node is not installed");
    }
    cr_assert_eq(st, 0, "onnxruntime: %s", log);
    RtTensor y;
    snprintf(path, sizeof path, "%s/ort/y.npy", dir);
    cr_assert_eq(npy_read(path, &y, &err), RT_OK, "%s", err.msg);
    size_t n = 0;
    snprintf(path, sizeof path, "%s/y.bin", dir);
    unsigned char *c = tu_file_read(path, &n);
    cr_assert(c && y.dtype == RT_U8 && (int64_t)n == rt_nbytes(&y), "%zu bytes vs %lld", n, (long long)rt_nbytes(&y));
    cr_expect_eq(memcmp(c, y.data, n), 0, "com.microsoft QLinearConv channels_last: outputs differ from onnxruntime's");
    free(c);
    free(y.data);
    tu_tmpdir_remove(dir);
}
