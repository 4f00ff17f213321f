/*
 * emit_ops_seq.c — emit-c's emitters for recurrent layers (LSTM, GRU, RNN) and integer matmul/conv.
 * (Table ec_ops_seq, searched by ec_node_emit after emit_ops.c's.)
 */
#include "emit_ops_common.h"

int64_t ec_scratch_seq(const EcCtx *c, int k, const RtNode *n) {
    (void)c, (void)k, (void)n;
    return 0;
}

const EcOpEntry ec_ops_seq[] = {
    {0, NULL},
};
