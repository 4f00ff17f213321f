/*
 * quantize.h — post-training int8 quantization (pass_quantize_int8) and its report.
 *
 * The pass runs on a simplified, fused float graph (pass_simplify, pass_fuse) and rewrites it
 * in place, in one of two modes:
 *   weight-only (act_int8 = 0): every quantizable weight becomes an int8 constant with its
 *       scale (and zero point) feeding a DequantizeLinear into the unchanged float op;
 *   static (act_int8 = 1): activations are calibrated on a dataset, every quantizable node is
 *       wrapped in QuantizeLinear/DequantizeLinear pairs (a QDQ graph, as onnxruntime writes
 *       them), pairs that cancel are removed, and DQ -> op -> Q patterns become wafer's int8
 *       ops (QConv, QLinear, QAdd, ...; runtime/kernels/wafer_ops.h); element-wise functions of
 *       one int8 input (HardSwish, Sigmoid, x * c, ..., and chains of them) become QLut
 *       256-entry tables (quantize_lut.c); a conv output read only by such a table gets one
 *       scale per channel and the table one row per channel (quantize_perchan.c; unless
 *       per_tensor, or the table is one Sigmoid / LeakyRelu, which onnxruntime fuses into
 *       single-scale QLinear ops). What has no int8 kernel stays float between a DequantizeLinear and a
 *       QuantizeLinear.
 *
 * Weights: "quantizable" means the weight input (input 1) of a Conv, FusedConv, Linear, MatMul
 * or Gemm is a float32 constant. Every such weight is quantized except those of excluded nodes
 * and of the head: the weight-bearing nodes reachable backwards from a graph output without
 * passing another weight-bearing node (the classifier or LM head), unless quantize_head.
 * Integers are stored as int8 whatever the bit width: symmetric int8 uses [-127, 127] with
 * scale max|w| / 127; symmetric b < 8 bits uses all 2^b levels [-2^(b-1), 2^(b-1)-1] with
 * scale 2 max|w| / (2^b - 1) (GPTQ's grid); asymmetric uses [-2^(b-1), 2^(b-1)-1] with a zero
 * point and scale (max - min) / (2^b - 1) over a range widened to hold 0. A range of zero gets
 * scale 1 (every value is then 0 exactly). See quantize_weights.c.
 *
 * Activations (static mode) are int8 with a zero point: scale = (hi - lo) / 255,
 * zp = round(-128 - lo / scale), from the calibrated range [lo, hi] (lo <= 0 <= hi). int8
 * rather than uint8 because the weights are int8 too: one signed type for every quantized
 * tensor means MaxPool, Concat and the shape ops move int8 data without conversions, the
 * int8 kernels need one operand type, and a zero point still uses all 256 levels for
 * one-sided (post-ReLU) ranges (zp = -128).
 */
#ifndef WAFER_QUANTIZE_H
#define WAFER_QUANTIZE_H

#include "../calib/calib.h"
#include "../ir/ir.h"

/* ---- options ---- */
typedef struct QuantOptions {
    int weight_bits;          /* 8, 4, 3 or 2; 0 = weights stay float */
    int weight_sym;           /* 1 symmetric (zero point 0), 0 asymmetric with a zero point */
    int64_t group;            /* 0 = one scale per output channel; G > 0 = blocks of G along
                                 the input axis (weight-only); ignored when per_tensor */
    int per_tensor;           /* 1 = one scale for the whole weight */
    int act_int8;             /* 1 = static int8 activations (data required) */
    const char *const *exclude; /* [n_exclude] borrowed: node names kept float */
    int n_exclude;
    int quantize_head;        /* 1 = the head's weights are quantized too */
    CalibDataset *data;       /* borrowed: calibration set, bound to the graph (static mode) */
    CalibOptions calib;       /* observer method, percentile, batch, progress */
} QuantOptions;

void quant_options_default(QuantOptions *o);

/* ---- report ---- */
typedef enum { QUANT_T_WEIGHT = 0, QUANT_T_BIAS, QUANT_T_ACTIVATION } QuantTensorKind;

typedef struct QuantTensorInfo {
    char *name;               /* owned: the quantized value's name */
    char *node;               /* owned: the node it belongs to ("" for activations) */
    QuantTensorKind kind;
    int bits;                 /* 8 for activations; 32 for biases */
    const char *granularity;  /* static string: "tensor", "channel", "group" */
    int64_t n_scales;         /* number of scales */
    double scale_min, scale_max, scale_mean;
    int zp_min, zp_max;       /* zero points (0, 0 when symmetric) */
    char observer[48];        /* "minmax", "absmax", "percentile(99.99)", ... */
    double lo, hi;            /* activations: the calibrated range; raw min/max below */
    double min, max;          /* observed (activations) or weight extremes */
} QuantTensorInfo;

typedef struct QuantLayerInfo {
    char *node;               /* owned: node name */
    char *op;                 /* owned: op before quantization ("FusedConv") */
    char *new_op;             /* owned: op after ("QConv", or the float op for weight-only) */
    char *value;              /* owned: the float output value's name */
    char *qvalue;             /* owned: int8 value carrying the output (NULL: float output) */
    double q_scale;           /* qvalue's scale and zero point */
    int q_zp;
    float *q_scales;          /* owned, NULL or [n_q_scales]: qvalue's per-channel scales (axis 1;
                                 quantize_perchan.c), q_zp for all; q_scale is then the largest */
    int64_t n_q_scales;
    double error;             /* relative RMS error of the output vs the float model, NaN
                                 when not measured */
    double channel_error_median, channel_error_max; /* the same error per channel (axis 1 of
                                 an [N, C, ...] output, channels whose float values are all zero
                                 left out): median and largest; NaN when not measured. A median
                                 far above `error` means one per-tensor scale serves channels of
                                 very different ranges: the small ones lose their codes */
    int64_t rows;             /* calibration rows the error was measured on */
} QuantLayerInfo;

typedef struct QuantReport {
    QuantTensorInfo *tensors; /* [n_tensors] owned */
    int n_tensors, cap_tensors;
    QuantLayerInfo *layers;   /* [n_layers] owned; graph outputs at the end (op "output") */
    int n_layers, cap_layers;
    int n_int8_nodes;         /* nodes running on int8 after the rewrite */
    int n_float_nodes;        /* other compute nodes (Q/DQ excluded) */
    int n_quantize, n_dequantize; /* Q and DQ nodes left */
} QuantReport;

void quant_report_free(QuantReport *r);

/* ---- the pass ---- */
/* Requires: pass_simplify and pass_fuse have run. Provides: as the header comment says; the
 * graph verifies and its shapes are inferred. Fills rep (may be NULL). Errors name the node
 * (an --exclude name that matches no node is an error). */
int pass_quantize_int8(IrGraph *g, const QuantOptions *o, QuantReport *rep, RtError *err);

/* Measures every layer's output error: runs ref (the float graph the quantized graph q came
 * from) and q on the dataset (rows per batch `batch`), comparing each layer's output
 * (relative RMS: sqrt(sum (q - ref)^2 / sum ref^2)) and the graph outputs. Memory: one
 * batch of the compared values. d is bound to q's inputs (ref has the same inputs). */
int quant_report_measure(const IrGraph *ref, const IrGraph *q, CalibDataset *d, int64_t batch,
                         QuantReport *rep, RtError *err);
/* The report as JSON text (malloc'd, NUL-terminated; NULL when out of memory). */
char *quant_report_json(const QuantReport *r, const char *model, const char *options);

/* ---- weight quantization, exposed for tests ---- */
typedef struct QuantWeightSpec {
    int bits;                 /* 2..8 */
    int sym;                  /* 1 symmetric */
    int64_t group;            /* 0 per channel, else block size along in_axis */
    int per_tensor;
} QuantWeightSpec;

typedef struct QuantWeight {
    RtTensor q;               /* int8, the weight's shape; data malloc'd */
    RtTensor scale;           /* float32: [] per tensor, [C] per channel, or the weight's
                                 shape with in_axis cut to ceil(D / group); data malloc'd */
    RtTensor zp;              /* int8, scale's shape; data malloc'd */
    int axis;                 /* DequantizeLinear axis (out_axis, or in_axis for groups) */
    int64_t block;            /* DequantizeLinear block_size; 0 = none */
    float wmin, wmax;         /* the float weight's extremes */
} QuantWeight;

/* Quantizes w (float32) with one scale per tensor, per index of out_axis, or per block of
 * spec->group along in_axis. min_scale (NULL or one value per scale) raises scales that are
 * smaller (used so that int32 biases cannot overflow). */
int quant_weight_compute(const RtTensor *w, int out_axis, int in_axis, const QuantWeightSpec *spec,
                         const float *min_scale, QuantWeight *qw, RtError *err);
void quant_weight_free(QuantWeight *qw);

/* For node n: 1 when input 1 is a quantizable weight (float32 constant of a Conv, FusedConv,
 * Linear, MatMul or Gemm), with its output-channel and input axes; else 0. */
int quant_weight_axes(const IrGraph *g, const RtNode *n, int *out_axis, int *in_axis);
/* Marks head[k] = 1 for the head nodes (see above); head has g->n_nodes entries. */
int quant_head_mark(const IrGraph *g, char *head, RtError *err);

/* ---- QDQ cancellation, exposed for tests ---- */
/* Removes QuantizeLinear nodes fed by a DequantizeLinear with the same scale, zero point and
 * axis (their uses read the DQ's input instead), and, when round_trips, Q -> DQ pairs whose
 * DQ outputs only float ops read (the float value goes straight through). Adds the number of
 * nodes removed to *changed. The graph is compacted when something changed; nodes left
 * without readers are left for pass_dead_nodes. */
int quant_qdq_cancel(IrGraph *g, int round_trips, int *changed, RtError *err);

#endif
