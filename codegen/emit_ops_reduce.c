/*
 * emit_ops_reduce.c — emit-c's emitters for reductions, ArgMax/ArgMin, softmax variants, normalizations, global pools.
 * (Table ec_ops_reduce, searched by ec_node_emit after emit_ops.c's.)
 */
#include "emit_ops_common.h"

int64_t ec_scratch_reduce(const EcCtx *c, int k, const RtNode *n) {
    (void)c, (void)k, (void)n;
    return 0;
}

const EcOpEntry ec_ops_reduce[] = {
    {0, NULL},
};
