/*
 * emit_ops_seq.c — emit-c's emitters for recurrent layers (LSTM, GRU, RNN) and integer matmul/conv.
 * (Table ec_ops_seq, searched by ec_node_emit after emit_ops.c's.)
 */
#include "emit_ops_common.h"

const EcOpEntry ec_ops_seq[] = {
    {0, NULL},
};
