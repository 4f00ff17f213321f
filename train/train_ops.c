/*
 * train_ops.c — the training op table: for each op wafer can differentiate, its forward,
 * backward and init-time check (train_ops_*.c hold the functions).
 */
#include <stdio.h>

#include "train_ops.h"

/* side: the bit mask of inputs that are side data (TrainOp.side_inputs). */
#define OP(e, f, chk) {RT_OP_##e, train_##f##_fwd, train_##f##_bwd, chk, 0}
#define OPS(e, f, chk, side) {RT_OP_##e, train_##f##_fwd, train_##f##_bwd, chk, side}

static const TrainOp ops[] = {
    OP(GEMM, gemm, NULL),
    OP(MATMUL, matmul, NULL),
    OP(CONV, conv, train_conv_check),
    OP(RELU, unary, NULL),
    OP(LEAKY_RELU, unary, NULL),
    OP(CLIP, unary, NULL),
    OP(SIGMOID, unary, NULL),
    OP(TANH, unary, NULL),
    OP(IDENTITY, unary, NULL),
    OP(DROPOUT, unary, train_one_output_check),
    OP(ADD, binary, NULL),
    OP(SUB, binary, NULL),
    OP(MUL, binary, NULL),
    OP(FLATTEN, reshape, NULL),
    OPS(RESHAPE, reshape, NULL, 1u << 1),
    OP(MAX_POOL, maxpool, train_pool_check),
    OP(AVERAGE_POOL, avgpool, train_pool_check),
    OP(GLOBAL_AVERAGE_POOL, gap, train_pool_check),
    OP(BATCH_NORMALIZATION, batchnorm, train_one_output_check),
    OP(SOFTMAX, softmax, NULL),
    OP(LOG_SOFTMAX, softmax, NULL),
    OP(LAYER_NORMALIZATION, layernorm, train_one_output_check),
    OP(NEG, math_unary, NULL),
    OP(ABS, math_unary, NULL),
    OP(RECIPROCAL, math_unary, NULL),
    OP(SQRT, math_unary, NULL),
    OP(EXP, math_unary, NULL),
    OP(LOG, math_unary, NULL),
    OP(ERF, math_unary, NULL),
    OP(GELU, math_unary, train_math_unary_check),
    OP(SOFTPLUS, math_unary, NULL),
    OP(SOFTSIGN, math_unary, NULL),
    OP(HARD_SIGMOID, math_unary, NULL),
    OP(HARD_SWISH, math_unary, NULL),
    OP(ELU, math_unary, NULL),
    OP(SELU, math_unary, NULL),
    OP(CELU, math_unary, train_math_unary_check),
    OP(DIV, math_binary, train_math_binary_check),
    OP(POW, math_binary, NULL),
    OP(PRELU, math_binary, NULL),
    OP(SUM, variadic, train_variadic_check),
    OP(MEAN, variadic, train_variadic_check),
    OP(MAX, variadic, train_variadic_check),
    OP(MIN, variadic, train_variadic_check),
    OPS(REDUCE_MEAN, reduce, NULL, 1u << 1),
    OPS(REDUCE_SUM, reduce, NULL, 1u << 1),
    OPS(REDUCE_SUM_SQUARE, reduce, NULL, 1u << 1),
    OPS(REDUCE_MAX, reduce, NULL, 1u << 1),
    OPS(REDUCE_MIN, reduce, NULL, 1u << 1),
    OP(TRANSPOSE, transpose, NULL),                          /* train_ops_tensor.c */
    OPS(SQUEEZE, squeeze, NULL, 1u << 1),
    OPS(UNSQUEEZE, squeeze, NULL, 1u << 1),
    OP(CONCAT, concat, NULL),
    OPS(SPLIT, split, NULL, 1u << 1),
    OPS(EXPAND, expand, NULL, 1u << 1),
    OPS(TILE, expand, train_tile_check, 1u << 1),
    OPS(SLICE, slice, NULL, 0xfu << 1),                      /* train_ops_index.c */
    OPS(GATHER, gather, NULL, 1u << 1),
    OPS(WHERE, where, NULL, 1u << 0),
    OPS(PAD, pad, NULL, 1u << 1 | 1u << 3),                  /* train_ops_pad.c */
    OP(DEPTH_TO_SPACE, block, NULL),
    OP(SPACE_TO_DEPTH, block, NULL),
};

const char *train_op_names(void) {
    static char names[1024];
    if (names[0]) return names;
    size_t len = 0;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0] && len + 64 < sizeof names; i++)
        len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "", rt_op_name(ops[i].op));
    return names;
}

const TrainOp *train_op_find(int op) {
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (ops[i].op == op) return &ops[i];
    return NULL;
}
