/*
 * rt_arity.c — the arity table: for every op in ops.def, how many inputs and outputs the
 * ONNX spec allows at each opset where that changes (onnx.ai's Operators.md / Changelog.md;
 * onnxruntime's ContribOperators.md for com.microsoft; runtime/kernels/wafer_ops.h for
 * wafer's own ops), and rt_node_arity_check(), which holds a node to it.
 *
 * Why: kernels read in[0], in[1], ... for the inputs their spec requires without checking,
 * so a crafted model with a short node (a Softmax with no input, a Conv with one) would crash
 * them. The frontend (each ONNX node as it is built, subgraphs too), the .wafer reader and the
 * executor (rt_node_exec, the last guard) all call the check, so such a node is refused with
 * a message naming it instead.
 *
 * Algorithm: the table holds one row per (op, first opset of a form), in ops.def order (a
 * binary search finds an op's rows; the suite checks every op is found), an op's rows in
 * ascending opset order. The form at opset v is the last row with since <= v (an opset below
 * the first row's gets the first row: wafer's passes may give a node an opset of the graph's
 * that predates its op, and refusing it would help nobody). The check then asks, in order:
 *   min_in <= n_in <= max_in, min_out <= n_out <= max_out,
 *   every position j < min_in is present (in[j] >= 0) unless bit j of `opt` says that input
 *   is optional ("" in ONNX, -1 in wafer); for all_req ops (variadic Sum, Concat, ...) every
 *   position is, since a variadic input may not be "".
 * Where the spec is unclear or a form exists only in models the frontend rewrites, the row
 * is the permissive union (a valid model must never be refused).
 */
#include "rt_arity.h"

#include <stdio.h>
#include <string.h>

#include "rt_ops.h"

#define MANY RT_ARITY_MANY

typedef struct {
    int op;
    RtArity a;
} ArityRow;

/* R(op, since, min_in, max_in, min_out, max_out): every input below min_in required */
#define R(op, v, i0, i1, o0, o1) {RT_OP_##op, {v, i0, i1, o0, o1, 0u, 0}}
/* RO: the same with optional positions below min_in (bit mask) */
#define RO(op, v, i0, i1, o0, o1, opt) {RT_OP_##op, {v, i0, i1, o0, o1, opt, 0}}
/* RV: variadic, every position required */
#define RV(op, v, i0, o0, o1) {RT_OP_##op, {v, i0, MANY, o0, o1, 0u, 1}}
/* unary: one input, one output */
#define U(op) R(op, 1, 1, 1, 1, 1)
/* binary: two inputs, one output */
#define B(op) R(op, 1, 2, 2, 1, 1)

static const ArityRow rows[] = {
    /* element-wise unary */
    U(ABS), U(NEG), U(FLOOR), U(CEIL), U(ROUND), U(SQRT), U(EXP), U(LOG), U(RECIPROCAL), U(SIGN),
    U(SIN), U(COS), U(TAN), U(ASIN), U(ACOS), U(ATAN), U(SINH), U(COSH), U(ASINH), U(ACOSH),
    U(ATANH), U(ERF), U(TANH), U(SIGMOID), U(RELU), U(LEAKY_RELU), U(ELU), U(SELU), U(CELU),
    U(HARD_SIGMOID), U(HARD_SWISH), U(SOFTPLUS), U(SOFTSIGN), U(GELU), U(MISH), U(SWISH),
    U(THRESHOLDED_RELU), U(NOT), U(IS_NAN), U(IS_INF), U(IDENTITY),
    /* Dropout: mask output from opset 1; ratio and training_mode inputs from 12 */
    R(DROPOUT, 1, 1, 1, 1, 2), R(DROPOUT, 12, 1, 3, 1, 2),
    /* Clip: min/max attributes before 11, optional inputs from 11 */
    R(CLIP, 1, 1, 1, 1, 1), R(CLIP, 11, 1, 3, 1, 1),
    U(CAST), B(CAST_LIKE), U(BITCAST),
    /* binary (the opset 1-6 broadcast attribute changes no count) */
    B(ADD), B(SUB), B(MUL), B(DIV), B(POW), B(MOD), B(PRELU), B(EQUAL), B(LESS), B(LESS_OR_EQUAL),
    B(GREATER), B(GREATER_OR_EQUAL), B(AND), B(OR), B(XOR), R(WHERE, 1, 3, 3, 1, 1),
    RV(MAX, 1, 1, 1, 1), RV(MIN, 1, 1, 1, 1), RV(SUM, 1, 1, 1, 1), RV(MEAN, 1, 1, 1, 1),
    /* reductions: the axes input came to ReduceSum at 13, to the others at 18 */
    R(REDUCE_MEAN, 1, 1, 1, 1, 1), R(REDUCE_MEAN, 18, 1, 2, 1, 1),
    R(REDUCE_SUM, 1, 1, 1, 1, 1), R(REDUCE_SUM, 13, 1, 2, 1, 1),
    R(REDUCE_MAX, 1, 1, 1, 1, 1), R(REDUCE_MAX, 18, 1, 2, 1, 1),
    R(REDUCE_MIN, 1, 1, 1, 1, 1), R(REDUCE_MIN, 18, 1, 2, 1, 1),
    R(REDUCE_PROD, 1, 1, 1, 1, 1), R(REDUCE_PROD, 18, 1, 2, 1, 1),
    R(REDUCE_L1, 1, 1, 1, 1, 1), R(REDUCE_L1, 18, 1, 2, 1, 1),
    R(REDUCE_L2, 1, 1, 1, 1, 1), R(REDUCE_L2, 18, 1, 2, 1, 1),
    R(REDUCE_LOG_SUM, 1, 1, 1, 1, 1), R(REDUCE_LOG_SUM, 18, 1, 2, 1, 1),
    R(REDUCE_LOG_SUM_EXP, 1, 1, 1, 1, 1), R(REDUCE_LOG_SUM_EXP, 18, 1, 2, 1, 1),
    R(REDUCE_SUM_SQUARE, 1, 1, 1, 1, 1), R(REDUCE_SUM_SQUARE, 18, 1, 2, 1, 1),
    U(ARG_MAX), U(ARG_MIN), U(SOFTMAX), U(LOG_SOFTMAX), U(HARDMAX),
    /* LayerNormalization (17): X, Scale, B?; Y, Mean?, InvStdDev? */
    R(LAYER_NORMALIZATION, 1, 2, 3, 1, 3),
    /* BatchNormalization: 5 inputs; Y plus up to 4 statistics outputs, 2 from opset 14 */
    R(BATCH_NORMALIZATION, 1, 5, 5, 1, 5), R(BATCH_NORMALIZATION, 14, 5, 5, 1, 3),
    R(INSTANCE_NORMALIZATION, 1, 3, 3, 1, 1), U(MEAN_VARIANCE_NORMALIZATION),
    /* Gemm: C required before 11, optional from 11 */
    R(GEMM, 1, 3, 3, 1, 1), R(GEMM, 11, 2, 3, 1, 1),
    B(MATMUL), R(CONV, 1, 2, 3, 1, 1), R(CONV_TRANSPOSE, 1, 2, 3, 1, 1),
    /* MaxPool's Indices output is from opset 8; allowed throughout (permissive) */
    R(MAX_POOL, 1, 1, 1, 1, 2), U(AVERAGE_POOL), U(GLOBAL_AVERAGE_POOL), U(GLOBAL_MAX_POOL),
    /* shape and data movement */
    U(SHAPE), U(SIZE), U(FLATTEN),
    /* Reshape: shape attribute before 5 (a second input there is refused by the legacy
     * frontend with its own message, so 1..2 here), shape input from 5 */
    R(RESHAPE, 1, 1, 2, 1, 1), R(RESHAPE, 5, 2, 2, 1, 1),
    U(TRANSPOSE), RV(CONCAT, 1, 1, 1, 1),
    /* Split: the split input is in opsets 1 and 13+, an attribute in 2-12; 1..2 throughout
     * (permissive: the legacy frontend rewrites opset 1's form) */
    R(SPLIT, 1, 1, 2, 1, MANY),
    /* Slice: attributes before 10; data, starts, ends, axes?, steps? from 10 */
    R(SLICE, 1, 1, 1, 1, 1), R(SLICE, 10, 3, 5, 1, 1),
    B(GATHER), B(GATHER_ELEMENTS),
    R(SQUEEZE, 1, 1, 1, 1, 1), R(SQUEEZE, 13, 1, 2, 1, 1),
    R(UNSQUEEZE, 1, 1, 1, 1, 1), R(UNSQUEEZE, 13, 2, 2, 1, 1),
    B(EXPAND),
    /* Tile-1: input, tiles, axis; from 6: input, repeats (2..3 before 6: permissive) */
    R(TILE, 1, 2, 3, 1, 1), R(TILE, 6, 2, 2, 1, 1),
    R(RANGE, 1, 3, 3, 1, 1), U(CONSTANT_OF_SHAPE), R(CONSTANT, 1, 0, 0, 1, 1),
    /* Pad: pads attribute before 11; data, pads, constant_value? from 11; axes? from 18 */
    R(PAD, 1, 1, 1, 1, 1), R(PAD, 11, 2, 3, 1, 1), R(PAD, 18, 2, 4, 1, 1),
    /* Resize-10: X, scales. From 11: X, roi, scales, sizes, the last three optional ("" =
     * absent; 11-12 wrote roi and scales always, 13 made them optional: 1..4 is permissive) */
    R(RESIZE, 1, 2, 2, 1, 1), R(RESIZE, 11, 1, 4, 1, 1),
    U(DEPTH_TO_SPACE), U(SPACE_TO_DEPTH), R(TRILU, 1, 1, 2, 1, 1), B(CUMSUM), B(CUMPROD),
    /* TopK: k attribute before 10, input from 10; Values and Indices */
    R(TOPK, 1, 1, 1, 2, 2), R(TOPK, 10, 2, 2, 2, 2),
    R(ONE_HOT, 1, 3, 3, 1, 1), RV(EINSUM, 1, 1, 1, 1), B(GATHER_ND),
    R(SCATTER_ND, 1, 3, 3, 1, 1), R(SCATTER_ELEMENTS, 1, 3, 3, 1, 1), R(SCATTER, 1, 3, 3, 1, 1),
    /* TensorScatter (opset 24): past_cache, update, write_indices? */
    R(TENSOR_SCATTER, 24, 2, 3, 1, 1),
    /* Upsample: scales attribute in 1 and 7, input from 9 */
    R(UPSAMPLE, 1, 1, 1, 1, 1), R(UPSAMPLE, 9, 2, 2, 1, 1),
    U(LRN), U(IMAGE_SCALER), U(EYE_LIKE), B(COMPRESS), U(NON_ZERO), U(SHRINK), B(REVERSE_SEQUENCE),
    /* boxes, scores, max_output_boxes_per_class?, iou_threshold?, score_threshold? */
    R(NON_MAX_SUPPRESSION, 1, 2, 5, 1, 1),
    /* losses: input, target, weight?; SoftmaxCrossEntropyLoss also log_prob? out */
    R(NEGATIVE_LOG_LIKELIHOOD_LOSS, 1, 2, 3, 1, 1), R(SOFTMAX_CROSS_ENTROPY_LOSS, 1, 2, 3, 1, 2),
    B(BIT_SHIFT), U(DET),
    /* Unique: Y, indices?, inverse_indices?, counts? */
    R(UNIQUE, 1, 1, 1, 1, 4),
    /* MaxUnpool: X, I, output_shape? */
    R(MAX_UNPOOL, 1, 2, 3, 1, 1),
    U(TFIDF_VECTORIZER),
    /* opsets 18-20 additions: GroupNormalization X, scale, bias; CenterCropPad input, shape;
     * Col2Im input, image_shape, block_shape; AffineGrid theta, size; DeformConv X, W,
     * offset, B?, mask? */
    B(BITWISE_AND), B(BITWISE_OR), B(BITWISE_XOR), U(BITWISE_NOT),
    U(LP_NORMALIZATION), U(LP_POOL), U(GLOBAL_LP_POOL), R(GROUP_NORMALIZATION, 1, 3, 3, 1, 1),
    B(CENTER_CROP_PAD), R(COL2IM, 1, 3, 3, 1, 1), B(AFFINE_GRID), R(DEFORM_CONV, 1, 3, 5, 1, 1),
    /* RandomUniform / RandomNormal take no input; the *Like ops and Bernoulli one */
    R(RANDOM_UNIFORM, 1, 0, 0, 1, 1), U(RANDOM_UNIFORM_LIKE), R(RANDOM_NORMAL, 1, 0, 0, 1, 1),
    U(RANDOM_NORMAL_LIKE), U(BERNOULLI),
    /* control flow. If: cond, then the frontend's outer-scope captures. Loop: M?, cond?,
     * carried values, captures. Scan-8: sequence_lens?, then states and scan inputs; from 9
     * states and scan inputs (num_scan_inputs of them, checked below), captures after. */
    R(IF, 1, 1, MANY, 1, MANY),
    RO(LOOP, 1, 2, MANY, 1, MANY, 3u),
    RO(SCAN, 1, 2, MANY, 1, MANY, 1u), R(SCAN, 9, 1, MANY, 1, MANY),
    /* recurrent: X, W, R, B?, sequence_lens?, initial_h? (LSTM: initial_c?, P?); Y?, Y_h?
     * (LSTM: Y_c?) — every output optional in the spec */
    R(RNN, 1, 3, 6, 0, 2), R(GRU, 1, 3, 6, 0, 2), R(LSTM, 1, 3, 8, 0, 3),
    /* signal: DFT-17 input, dft_length?; DFT-20 also axis?; STFT signal, frame_step, window?,
     * frame_length? */
    R(DFT, 1, 1, 2, 1, 1), R(DFT, 20, 1, 3, 1, 1), R(STFT, 1, 2, 4, 1, 1),
    U(HANN_WINDOW), U(HAMMING_WINDOW), U(BLACKMAN_WINDOW), R(MEL_WEIGHT_MATRIX, 1, 5, 5, 1, 1),
    B(GRID_SAMPLE), R(ROI_ALIGN, 1, 3, 3, 1, 1),
    /* opset 23 transformer ops: RMSNormalization X, scale; RotaryEmbedding X, cos_cache,
     * sin_cache, position_ids?; Attention Q, K, V, attn_mask?, past_key?, past_value? ->
     * Y, present_key?, present_value?, qk_matmul_output? */
    R(RMS_NORMALIZATION, 23, 2, 2, 1, 1), R(ROTARY_EMBEDDING, 23, 3, 4, 1, 1),
    R(ATTENTION, 23, 3, 6, 1, 4), R(ATTENTION, 24, 3, 7, 1, 4), /* 24: nonpad_kv_seqlen? */
    /* quantization: x, scale, zero_point? */
    R(QUANTIZE_LINEAR, 1, 2, 3, 1, 1), R(DEQUANTIZE_LINEAR, 1, 2, 3, 1, 1),
    R(DYNAMIC_QUANTIZE_LINEAR, 1, 1, 1, 3, 3),
    /* x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B? */
    R(QLINEAR_CONV, 1, 8, 9, 1, 1),
    /* a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp */
    R(QLINEAR_MATMUL, 1, 8, 8, 1, 1),
    /* x, w, x_zero_point?, w_zero_point? (a, b, ... for MatMulInteger) */
    R(CONV_INTEGER, 1, 2, 4, 1, 1), R(MATMUL_INTEGER, 1, 2, 4, 1, 1),
    /* com.microsoft: A, B, scales, zero_points?, g_idx?, bias? */
    R(MATMUL_NBITS, 1, 3, 6, 1, 1),
    /* A, A_scale, A_zero_point?, B, B_scale, B_zero_point?, C_scale, C_zero_point? */
    RO(QLINEAR_ADD, 1, 7, 8, 1, 1, (1u << 2) | (1u << 5)),
    RO(QLINEAR_MUL, 1, 7, 8, 1, 1, (1u << 2) | (1u << 5)),
    /* onnxruntime's quantized contrib ops (ContribOperators.md); "?" = optional input
     * QGemm: A, a_scale, a_zp, B, b_scale, b_zp, C?, y_scale?, y_zp? */
    R(QGEMM, 1, 6, 9, 1, 1),
    /* x, x_scale, x_zp, y_scale, y_zp */
    R(QLINEAR_GLOBAL_AVERAGE_POOL, 1, 5, 5, 1, 1),
    /* AveragePool, LeakyRelu, Sigmoid, ReduceMean: x, x_scale, x_zp?, y_scale, y_zp? */
    RO(QLINEAR_AVERAGE_POOL, 1, 4, 5, 1, 1, 1u << 2),
    /* y_scale, y_zp, then (x, x_scale, x_zp) per input (whole triples: the kernel checks) */
    RV(QLINEAR_CONCAT, 1, 5, 1, 1),
    RO(QLINEAR_LEAKY_RELU, 1, 4, 5, 1, 1, 1u << 2), RO(QLINEAR_SIGMOID, 1, 4, 5, 1, 1, 1u << 2),
    /* x, x_scale, x_zp?, y_scale, y_zp */
    RO(QLINEAR_SOFTMAX, 1, 5, 5, 1, 1, 1u << 2),
    /* condition, x, x_scale, x_zp, y, y_scale, y_zp, z_scale, z_zp */
    R(QLINEAR_WHERE, 1, 9, 9, 1, 1),
    RO(QLINEAR_REDUCE_MEAN, 1, 4, 5, 1, 1, 1u << 2),
    /* A, B, b_scale, b_zp?, bias? */
    R(DYNAMIC_QUANTIZE_MATMUL, 1, 3, 5, 1, 1),
    /* A, B, a_scale, b_scale, a_zp?, b_zp?, bias? */
    R(MATMUL_INTEGER_TO_FLOAT, 1, 4, 7, 1, 1),
    /* x, scale, zero_point? */
    R(MS_QUANTIZE_LINEAR, 1, 2, 3, 1, 1), R(MS_DEQUANTIZE_LINEAR, 1, 2, 3, 1, 1),
    /* QLinearConv with channels_last (onnxruntime's NHWC form): the ONNX op's inputs */
    R(MS_QLINEAR_CONV, 1, 8, 9, 1, 1),
    /* wafer's own ops (wafer_ops.h) */
    R(FUSED_CONV, 1, 2, 3, 1, 1), R(LINEAR, 1, 2, 3, 1, 1),
    R(QCONV, 1, 8, 9, 1, 1), R(QLINEAR, 1, 8, 9, 1, 1),
    R(QADD, 1, 8, 8, 1, 1), R(QMUL, 1, 8, 8, 1, 1),
    R(QAVERAGE_POOL, 1, 5, 5, 1, 1), R(QGLOBAL_AVERAGE_POOL, 1, 5, 5, 1, 1),
    /* y_scale, y_zp, then (x, x_scale, x_zp) per input: checked for whole triples below */
    RV(QCONCAT, 1, 5, 1, 1),
    /* X, Wp, scales, zeros, g_idx?, B? */
    R(LINEAR_NBITS, 1, 4, 6, 1, 1),
    /* x, table, x_scale, x_zp, y_scale, y_zp */
    R(QLUT, 1, 6, 6, 1, 1),
};

int rt_op_arity(int op, int opset, RtArity *a) {
    /* rows are in ops.def order (op ascending), an op's rows by opset: binary search for one
     * of op's rows, back to its first, then the last whose since <= opset. rt_node_exec asks
     * for every node run, so no linear scan of the table. */
    size_t lo = 0, hi = sizeof rows / sizeof rows[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rows[mid].op < op) lo = mid + 1;
        else hi = mid;
    }
    if (lo >= sizeof rows / sizeof rows[0] || rows[lo].op != op) return -1;
    size_t found = lo;
    for (size_t i = lo + 1; i < sizeof rows / sizeof rows[0] && rows[i].op == op; i++)
        if (opset <= 0 || rows[i].a.since <= opset) found = i;
    *a = rows[found].a;
    return 0;
}

/* "1 input", "2 to 3 inputs", "at least 1 input" */
static void range_text(char *buf, size_t cap, int lo, int hi, const char *what) {
    const char *pl = (hi == 1 && lo == 1) || (hi == MANY && lo == 1) ? "" : "s";
    if (lo == hi) snprintf(buf, cap, "%d %s%s", lo, what, lo == 1 ? "" : "s");
    else if (hi == MANY) snprintf(buf, cap, "at least %d %s%s", lo, what, pl);
    else snprintf(buf, cap, "%d to %d %ss", lo, hi, what);
}

static long long attr_int(const RtNode *n, const char *name, long long dflt) {
    for (int i = 0; i < n->n_attr; i++)
        if (n->attrs[i].name && strcmp(n->attrs[i].name, name) == 0 && n->attrs[i].type == RT_ATTR_INT)
            return (long long)n->attrs[i].i;
    return dflt;
}

int rt_node_arity_check(const RtNode *n, int opset, RtError *err) {
    RtArity a;
    if (rt_op_arity(n->op, opset, &a) != 0) return RT_OK;
    const char *nm = n->name ? n->name : "", *op = rt_op_name(n->op);
    char need[64];
    if (n->n_in < a.min_in || n->n_in > a.max_in) {
        range_text(need, sizeof need, a.min_in, a.max_in, "input");
        return rt_error_set(err, "node '%s' (%s): needs %s, has %d", nm, op, need, n->n_in);
    }
    if (n->n_out < a.min_out || n->n_out > a.max_out) {
        range_text(need, sizeof need, a.min_out, a.max_out, "output");
        return rt_error_set(err, "node '%s' (%s): needs %s, has %d", nm, op, need, n->n_out);
    }
    if (n->n_in > 0 && !n->in) return rt_error_set(err, "node '%s' (%s): no input list", nm, op);
    if (n->n_out > 0 && !n->out) return rt_error_set(err, "node '%s' (%s): no output list", nm, op);
    for (int j = 0; j < n->n_in; j++) {
        int required = a.all_req || (j < a.min_in && !(j < 32 && (a.opt >> j) & 1u));
        if (required && n->in[j] < 0)
            return rt_error_set(err, "node '%s' (%s): input %d is required but absent (\"\")", nm, op, j);
    }
    if (n->op == RT_OP_SCAN) {
        /* the scan inputs are the last num_scan_inputs of the declared ones (captures may
         * follow, so only a lower bound can be checked here) */
        long long k = attr_int(n, "num_scan_inputs", 0), lead = opset > 0 && opset < 9 ? 1 : 0;
        if (k < 1) return rt_error_set(err, "node '%s' (%s): num_scan_inputs must be >= 1, is %lld", nm, op, k);
        if (k + lead > n->n_in)
            return rt_error_set(err, "node '%s' (%s): num_scan_inputs %lld but %d inputs", nm, op, k, n->n_in);
    }
    if (n->op == RT_OP_QCONCAT && (n->n_in - 2) % 3 != 0)
        return rt_error_set(err, "node '%s' (%s): needs y_scale, y_zp and whole (x, x_scale, x_zp) triples, "
                            "has %d inputs", nm, op, n->n_in);
    return RT_OK;
}
