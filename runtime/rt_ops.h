/*
 * rt_ops.h — op numbering and the per-op facts from ops.def (names, allowed attributes).
 */
#ifndef WAFER_RT_OPS_H
#define WAFER_RT_OPS_H

typedef enum {
    RT_OP_UNKNOWN = 0,
#define X(e, dom, name, attrs) RT_OP_##e,
#include "ops.def"
#undef X
    RT_OP_COUNT
} RtOp;

const char *rt_op_name(int op);    /* ONNX op_type, "?" for out of range */
const char *rt_op_domain(int op);  /* "" for the default ONNX domain */
/* Look up by (domain, op_type); "ai.onnx" is the default domain too. RT_OP_UNKNOWN if absent. */
int rt_op_lookup(const char *domain, const char *op_type);
/* 1 when the ONNX spec allows attribute `attr` on `op`. */
int rt_op_attr_allowed(int op, const char *attr);

#endif
