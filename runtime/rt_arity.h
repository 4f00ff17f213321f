/*
 * rt_arity.h — how many inputs and outputs each op may have, per opset, as the ONNX spec
 * (and runtime/kernels/wafer_ops.h for wafer's own ops) says; see rt_arity.c.
 */
#ifndef WAFER_RT_ARITY_H
#define WAFER_RT_ARITY_H

#include "rt_core.h"

/* "no upper bound" for max_in / max_out (variadic ops, control-flow captures) */
#define RT_ARITY_MANY 0x7fffffff

typedef struct RtArity {
    int since;       /* first opset of this form */
    int min_in, max_in;
    int min_out, max_out;
    unsigned opt;    /* bit j: position j < min_in may be "" (an optional input before a required one) */
    int all_req;     /* 1: every position, variadic ones too, must be present */
} RtArity;

/* The form of `op` at `opset` (opset <= 0: the newest); 0 when found, -1 for an op with no
 * entry (RT_OP_UNKNOWN). */
int rt_op_arity(int op, int opset, RtArity *a);

/* RT_OK when node n's input / output counts (and required inputs present, in[j] >= 0) fit its
 * op at `opset`; else RT_ERR with "node 'x' (Softmax): needs 1 input, has 0" in err. Nodes of
 * an unknown op pass (nothing known about them). Scan also needs num_scan_inputs inputs. */
int rt_node_arity_check(const RtNode *n, int opset, RtError *err);

#endif
