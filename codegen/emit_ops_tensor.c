/*
 * emit_ops_tensor.c — emit-c's emitters for data movement (slice, pad, tile, split, gather/scatter, depth-space, resize), Gemm, ConvTranspose.
 * (Table ec_ops_tensor, searched by ec_node_emit after emit_ops.c's.)
 */
#include "emit_ops_common.h"

int64_t ec_scratch_tensor(const EcCtx *c, int k, const RtNode *n) {
    (void)c, (void)k, (void)n;
    return 0;
}

const EcOpEntry ec_ops_tensor[] = {
    {0, NULL},
};
