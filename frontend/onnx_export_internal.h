/*
 * onnx_export_internal.h — what the export files share (onnx_export.c: the driver and the
 * graph-building helpers; onnx_export_q.c: int8 and float wafer ops -> QDQ and standard ops;
 * onnx_export_nbits.c: LinearNBits -> MatMulNBits or blocked DequantizeLinear).
 *
 * The export builds a new IrGraph: values of the source graph are copied on first use
 * (ex_val, same name, constants with their data), lowered nodes get fresh values named after
 * the node's output plus a suffix (ex_fresh), and each lowered node's last step writes the
 * source node's own output value, so every consumer and graph output keeps its name.
 */
#ifndef WAFER_ONNX_EXPORT_INTERNAL_H
#define WAFER_ONNX_EXPORT_INTERNAL_H

#include "onnx_internal.h"

typedef struct {
    const IrGraph *src;          /* borrowed: the graph being exported */
    IrGraph *g;                  /* borrowed: the graph being built (owned by the OnnxExport) */
    int *map;                    /* [src->n_values] owned: src value -> new value, -1 = not yet */
    OnnxNameMap names;           /* owned: every value name in g (keys borrowed from g's arena) */
    OnnxNameMap node_names;      /* owned: every node name in g (onnxruntime wants them unique) */
    int *packed4;                /* [n_packed4] owned until handed to the OnnxExport */
    int n_packed4, cap_packed4;
    int *packed2;                /* [n_packed2] owned until handed to the OnnxExport: 2-bit codes */
    int n_packed2, cap_packed2;
    const OnnxExportOptions *o;  /* borrowed, never NULL */
    RtError *err;                /* borrowed */
    int failed;                  /* an error was recorded (ex_fail) */
} ExCtx;

/* printf-style error naming the source node: "node 'n' (Op): ...". Returns RT_ERR. */
int ex_fail(ExCtx *x, const RtNode *n, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* The new graph's value for source value sv (copied on first use); -1 for sv < 0, and -1
 * with err set when out of memory. */
int ex_val(ExCtx *x, int sv);
/* A new computed value named base + suffix (made unique). */
int ex_fresh(ExCtx *x, const char *base, const char *suffix);
/* A new constant (copy of t) named base + suffix (made unique). */
int ex_const(ExCtx *x, const char *base, const char *suffix, const RtTensor *t);
int ex_const_f32(ExCtx *x, const char *base, const char *suffix, float v);   /* scalar */
/* A new node of op (default-domain opset of g, 1 for other domains), named `name`, or
 * name/OpType (then _2, _3, ...) when a node has that name already. Returns its index. */
int ex_node(ExCtx *x, int op, const char *name, int n_in, const int *in, int n_out, const int *out);
/* Attributes on new node k. */
int ex_attr_int(ExCtx *x, int k, const char *name, int64_t v);
int ex_attr_float(ExCtx *x, int k, const char *name, float v);
int ex_attr_ints(ExCtx *x, int k, const char *name, int n, const int64_t *v);
/* Copies src's attributes except those named in skip (comma-separated) onto new node k. */
int ex_attrs_copy(ExCtx *x, int k, const RtNode *src, const char *skip);
/* Marks new constant value v to be written as 4-bit. */
int ex_packed4_add(ExCtx *x, int v);
/* The same for a constant written as UINT2 / INT2 (codes 0..3 / -2..1; needs opset 25). */
int ex_packed2_add(ExCtx *x, int v);

/* The source constant of value sv, or NULL (with an error naming node n) when it is not one. */
const RtTensor *ex_src_const(ExCtx *x, const RtNode *n, int sv, const char *what);
/* Applies src node n's `activation` attribute (wafer_ops.h) to y; the result is written to
 * value out (or a fresh one when out < 0). Returns the result's value. */
int ex_activation(ExCtx *x, const RtNode *n, int y, int out);

/* Lowerings: each writes the new nodes for source node n. */
int ex_lower_q(ExCtx *x, const RtNode *n);       /* QConv, QLinear, QAdd, QMul, QAveragePool,
                                                    QGlobalAveragePool, QConcat */
/* Y = Gelu(X) (approximate "tanh" when tanh_form): one Gelu node from opset 20, its formula
 * in Erf / Tanh arithmetic before (onnx_export.c). */
int ex_gelu_emit(ExCtx *x, const char *name, int X, int Y, int tanh_form);
/* The opset a QLut's functions need in the export (13, HardSwish 14; Gelu is written as its
 * formula below opset 20). */
int ex_lut_opset(const RtNode *n);
int ex_lower_float(ExCtx *x, const RtNode *n);   /* FusedConv, Linear */
int ex_lower_nbits(ExCtx *x, const RtNode *n);   /* LinearNBits */
/* 1 when LinearNBits node n is written as blocked DequantizeLinear (opset 21), not MatMulNBits. */
int ex_nbits_uses_dq(const ExCtx *x, const RtNode *n);
/* After lowering: int8 activation Q/DQ chains as uint8 (onnx_export_u8.c). */
int ex_activations_u8(ExCtx *x);

#endif
