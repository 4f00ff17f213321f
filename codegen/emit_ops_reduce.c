/*
 * emit_ops_reduce.c — emit-c's emitters for reductions, ArgMax/ArgMin, softmax variants, normalizations, global pools.
 * (Table ec_ops_reduce, searched by ec_node_emit after emit_ops.c's.)
 */
#include "emit_ops_common.h"

const EcOpEntry ec_ops_reduce[] = {
    {0, NULL},
};
