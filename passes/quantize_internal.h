/*
 * quantize_internal.h — what the quantizer's files (passes/quantize_*.c) share: graph edits
 * (insert a node at a position, set attributes, make constants), reading the parameters of a
 * QuantizeLinear / DequantizeLinear node, and the steps of the static pipeline.
 *
 * Opset: the Q/DQ nodes the quantizer makes are stamped opset 21 (per-axis parameters need
 * 13, blocked ones 21; nothing else about them changed in between for the int8 case).
 */
#ifndef WAFER_QUANTIZE_INTERNAL_H
#define WAFER_QUANTIZE_INTERNAL_H

#include "pass_internal.h"
#include "quantize.h"

#define QZ_QDQ_OPSET 21

/* Input i of node n, -1 when absent. */
static inline int qz_in(const RtNode *n, int i) { return i < n->n_in ? n->in[i] : -1; }

/* ---- graph edits (quantize_util.c) ---- */
/* A node inserted at position pos (the node there and every later one move down by one);
 * producers are renumbered. Returns pos, or -1 with a message. */
int qz_node_insert(IrGraph *g, int pos, int op, const char *name, int n_in, const int *in, int n_out,
                   const int *out, RtError *err);
/* Sets attribute `name` of node k (replacing one of that name, else appending). */
int qz_attr_set_int(IrGraph *g, int k, const char *name, int64_t v, RtError *err);
int qz_attr_set_float(IrGraph *g, int k, const char *name, float v, RtError *err);
int qz_attr_set_str(IrGraph *g, int k, const char *name, const char *v, RtError *err);
/* Copies the attributes of src whose names appear in the comma-separated list `names` to node
 * k (whose attributes are replaced). */
int qz_attrs_copy(IrGraph *g, int k, const RtNode *src, const char *names, RtError *err);
/* A new computed value named after base (made unique), dtype/shape copied from like (or unknown). */
int qz_value_new(IrGraph *g, const char *base, const IrValue *like, RtDtype dtype, RtError *err);
/* A new constant named after base (made unique) holding a copy of t. */
int qz_const_new(IrGraph *g, const char *base, const RtTensor *t, RtError *err);
int qz_const_f32(IrGraph *g, const char *base, float v, RtError *err);   /* scalar */
int qz_const_i8(IrGraph *g, const char *base, int v, RtError *err);     /* scalar */
/* Number of live nodes reading v (a node reading it twice counts twice); when it is 1, *only
 * is that node. */
int qz_readers(const IrGraph *g, int v, int *only);

/* ---- Q / DQ parameters ---- */
typedef struct {
    int x;                    /* input value */
    const RtTensor *scale;    /* borrowed constant, NULL when not constant */
    const RtTensor *zp;       /* borrowed constant or NULL (absent or computed) */
    int zp_absent;            /* 1 when the node has no zero-point input */
    int64_t axis, block;      /* attributes (defaults 1, 0) */
} QzParams;

/* Reads node n's parameters when n is a live QuantizeLinear (op = RT_OP_QUANTIZE_LINEAR) or
 * DequantizeLinear with a constant scale; 0 otherwise. */
int qz_params(const IrGraph *g, const RtNode *n, int op, QzParams *p);
/* The same quantization (scale, zero point, axis and block when per-axis or blocked). */
int qz_params_equal(const QzParams *a, const QzParams *b);
/* The producer of v when it is a DequantizeLinear with one float32 scale and an int8 zero
 * point (per-tensor int8 activation), filling p; else -1. */
int qz_dq_per_tensor(const IrGraph *g, int v, QzParams *p);

/* ---- pipeline steps ---- */
/* Weight-only quantization of node k's weight (weights step). min_scale as in
 * quant_weight_compute. Inserts the DequantizeLinear before node k and returns node k's new
 * index, or -1. */
int qz_weight_apply(IrGraph *g, int k, const QuantOptions *o, const float *min_scale, QuantReport *rep,
                    RtError *err);
/* Per-node decisions of the pipeline (quantize.c), one char per node. */
enum {
    QZ_F_WEIGHT = 1,   /* its weight is quantized */
    QZ_F_EXCLUDED = 2  /* --exclude: stays float entirely */
};
/* The static pipeline after the decisions (quantize_qdq.c): activations the int8 kernels
 * cannot fuse are split off, the int8 nodes chosen, their activations calibrated on o->data,
 * weights and biases quantized, and every int8 node wrapped in Q -> DQ pairs. flags[g->n_nodes]
 * as above (borrowed, not updated). */
int qz_static_insert(IrGraph *g, const QuantOptions *o, const char *flags, QuantReport *rep, RtError *err);
/* DQ -> op -> Q patterns to wafer int8 ops (quantize_rewrite.c); adds rewrites to *changed. */
int qz_rewrite(IrGraph *g, int *changed, RtError *err);

/* ---- element-wise functions as tables (quantize_lut.c) ---- */
/* The input slot of node n's activation x when n is an element-wise function of float32 x
 * alone that QLut can tabulate (its other inputs constant: Clip's bounds, the scalar c of
 * x + c, c x, x - c, x / c), else -1. */
int qz_lut_input(const IrGraph *g, const RtNode *n);
/* The longest chain of element-wise functions one QLut tabulates. */
#define QZ_LUT_MAX_CHAIN 8
/* table[256] (indexed by the code's byte) = Q(f_n(...f_1(DQ(c, xs, xz))), ys, yz) for the
 * functions of nodes chain[0..n-1] in order, each run by its reference kernel. */
int qz_lut_table(const IrGraph *g, const int *chain, int n, float xs, int32_t xz, float ys, int32_t yz, int8_t *table,
                 RtError *err);
/* Attributes of the QLut node k tabulating fs[0..n-1]: function (the op types, comma-separated),
 * alpha, beta (one float each for one function, FLOATS with one per function for a chain),
 * approximate (a Gelu's). */
int qz_lut_attrs(IrGraph *g, int k, const RtNode *const *fs, int n, RtError *err);

/* ---- per-channel output scales (quantize_perchan.c) ---- */
/* scales[M] for the output of a conv with float weight w [M, ...] (input scale x_scale,
 * calibrated output y_scale and y_zp) whose channels c had extremes cmin[c], cmax[c]:
 * y_scale / g_c with g_c >= 1 stretching channel c into the tensor's range (see the file).
 * Returns 1 when some channel gained (g_c > 1), 0 when all scales are y_scale. */
int qz_perchan_gains(const RtTensor *w, float x_scale, float y_scale, int8_t y_zp, const float *cmin,
                     const float *cmax, float *scales);

/* ---- report building (quantize_report.c) ---- */
QuantTensorInfo *qz_report_tensor(QuantReport *r, const char *name, const char *node, RtError *err);
QuantLayerInfo *qz_report_layer(QuantReport *r, const char *node, const char *op, const char *value,
                                RtError *err);
/* Fills scale/zp statistics of a tensor entry from a scale and zero-point tensor. */
void qz_report_scales(QuantTensorInfo *t, const RtTensor *scale, const RtTensor *zp);

#endif
