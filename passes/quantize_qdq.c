/*
 * quantize_qdq.c — static quantization, first half: from a fused float graph to a QDQ graph
 * (every int8 node wrapped in QuantizeLinear -> DequantizeLinear pairs with calibrated
 * parameters), which quantize_cancel.c and quantize_rewrite.c then turn into int8 ops.
 *
 * Requires: a fused graph (pass_fuse) whose inputs the calibration set o->data is bound to;
 * the per-node decisions of quantize.c (which weights to quantize, which nodes are excluded).
 * Steps:
 *   1. split: a FusedConv / Linear whose activation has no integer form (LeakyRelu, Sigmoid,
 *      HardSigmoid, Gelu, GeluTanh) gives it back as a separate node (Gelu with approximate
 *      "tanh" for GeluTanh, opset 20), so that the pre-activation value can be calibrated and
 *      the activation runs in float between a DQ and a Q: the graph int8 quantizes is the one
 *      before the fusion;
 *   2. plan, in graph order: Conv/FusedConv/Linear/MatMul with a quantized weight and a float32
 *      input run int8; so do Add/Mul whose two inputs are int8, the pools, Concat, the shape
 *      ops and nearest Resize whose data inputs are int8 (produced by int8 nodes), and element-wise functions of
 *      one int8 input (HardSwish, Sigmoid, ...: tables, quantize_lut.c), where a chain of them
 *      is one int8 step (one table of the composition, float between the links). Excluded
 *      nodes never do.
 *   3. calibrate (calib_collect) every output of an int8 node, and every float input of an int8
 *      layer that no int8 node produces; MaxPool and the shape ops pass their input's scale
 *      and zero point through (their outputs are the same numbers);
 *   4. insert: each int8 node's activation input x reads DQ(Q(x)) (one pair per value, placed
 *      right after x's producer), its weight an int8 constant through a DQ (quantize_weights.c,
 *      scales raised where an int32 bias would overflow), its bias int32 through a DQ with
 *      scale x_scale * w_scale, and its output y is renamed y_pre and followed by
 *      Q(y_pre) -> DQ -> y, so every reader of y sees the quantized value.
 * Activation parameters: scale = (hi - lo) / 255, zp = rne(-128 - lo / scale) (int8, see
 * quantize.h for why int8). Between 3 and 4, a conv output read only by a table gets one
 * scale per channel (axis 1, one zero point; quantize_perchan.c says why and how): its Q and
 * DQ nodes are per-axis.
 */
#include "quantize_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/kernels/quant.h"

/* beyond QZ_F_*: the node runs int8; inside a chain of tabulated functions planned as one
 * int8 step (the output of all but the last stays float, the inputs of all but the first
 * are those float links): */
enum { F_INT8 = 4, F_NO_OUT = 8, F_NO_IN = 16 };

/* Largest |bias| / (x_scale * w_scale) allowed: 2^30 leaves 2^30 of headroom for the sum of
 * products in the int32 accumulator. */
#define QZ_BIAS_LIMIT 1073741824.0

typedef struct {
    IrGraph *g;               /* borrowed */
    const QuantOptions *o;    /* borrowed */
    QuantReport *rep;         /* borrowed, may be NULL */
    RtError *err;             /* borrowed */
    char *f;                  /* [cap_f] owned: flags per node (QZ_F_*, F_INT8) */
    int cap_f;
    int nv;                   /* values covered by the per-value arrays (those before step 4) */
    char *qval;               /* [nv]: produced by an int8 node */
    char *has;                /* [nv]: scale / zp known */
    char *inherited;          /* [nv]: parameters passed through from the input */
    float *scale;             /* [nv] */
    int8_t *zp;               /* [nv] */
    CalibRange *range;        /* [nv]: calibrated ranges */
    int *memo;                /* [nv]: DQ output of the shared Q -> DQ pair of the value, -1 */
    int *sv, *zv;             /* [nv]: constants holding the value's scale / zero point, -1 */
    char *reported;           /* [nv]: activation entry written */
    float **chan;             /* [nv], each NULL or owned [chan_n[v]]: per-channel scales on axis 1 */
    int64_t *chan_n;          /* [nv] */
} Qdq;

/* ---- node flags that follow insertions ---- */

static int flags_insert(Qdq *S, int pos) {
    int n = S->g->n_nodes; /* the node is already in the graph */
    if (n > S->cap_f) {
        int nc = S->cap_f * 2 > n ? S->cap_f * 2 : n + 16;
        char *p = realloc(S->f, (size_t)nc);
        if (!p) return rt_error_set(S->err, "out of memory");
        S->f = p;
        S->cap_f = nc;
    }
    memmove(S->f + pos + 1, S->f + pos, (size_t)(n - 1 - pos));
    S->f[pos] = 0;
    return RT_OK;
}

static int insert(Qdq *S, int pos, int op, const char *name, int n_in, const int *in, int n_out, const int *out) {
    int p = qz_node_insert(S->g, pos, op, name, n_in, in, n_out, out, S->err);
    if (p < 0 || flags_insert(S, p) != RT_OK) return -1;
    return p;
}

/* ---- 1. split activations without an integer form ---- */

static int act_needs_split(const RtNode *n) {
    if (n->op != RT_OP_FUSED_CONV && n->op != RT_OP_LINEAR) return 0;
    const char *a = rt_attr_str(n, "activation", "");
    return strcmp(a, "LeakyRelu") == 0 || strcmp(a, "Sigmoid") == 0 || strcmp(a, "HardSigmoid") == 0 ||
           strcmp(a, "Gelu") == 0 || strcmp(a, "GeluTanh") == 0;
}

/* The standalone op of a fused activation act_needs_split accepts. */
static int act_split_op(const char *act) {
    if (strcmp(act, "LeakyRelu") == 0) return RT_OP_LEAKY_RELU;
    if (strcmp(act, "Sigmoid") == 0) return RT_OP_SIGMOID;
    if (strcmp(act, "HardSigmoid") == 0) return RT_OP_HARD_SIGMOID;
    return RT_OP_GELU;
}

static int split_one(Qdq *S, int k) {
    IrGraph *g = S->g;
    RtNode orig = g->nodes[k];
    const char *act = rt_attr_str(&orig, "activation", "");
    int op = act_split_op(act);
    int y = orig.out[0];
    char base[512];
    snprintf(base, sizeof base, "%s_preact", g->values[y].name);
    int pre = qz_value_new(g, base, &g->values[y], RT_F32, S->err);
    if (pre < 0) return RT_ERR;
    g->nodes[k].out[0] = pre;
    g->values[pre].producer = k;
    RT_TRY(qz_attrs_copy(g, k, &orig, orig.op == RT_OP_FUSED_CONV ? "auto_pad,dilations,group,kernel_shape,pads,strides" : "",
                         S->err));
    snprintf(base, sizeof base, "%s/activation", orig.name);
    int a = insert(S, k + 1, op, base, 1, &pre, 1, &y);
    if (a < 0) return RT_ERR;
    if (op == RT_OP_LEAKY_RELU) RT_TRY(qz_attr_set_float(g, a, "alpha", rt_attr_float(&orig, "alpha", 0.01f), S->err));
    if (op == RT_OP_HARD_SIGMOID) {
        RT_TRY(qz_attr_set_float(g, a, "alpha", rt_attr_float(&orig, "alpha", 0.2f), S->err));
        RT_TRY(qz_attr_set_float(g, a, "beta", rt_attr_float(&orig, "beta", 0.5f), S->err));
    }
    if (op == RT_OP_GELU) {
        if (g->nodes[a].opset < 20) g->nodes[a].opset = 20; /* the op exists from opset 20 */
        if (strcmp(act, "GeluTanh") == 0) RT_TRY(qz_attr_set_str(g, a, "approximate", "tanh", S->err));
    }
    return RT_OK;
}

/* ---- 2. which nodes run int8 ---- */

static int is_layer_op(const RtNode *n) {
    return n->op == RT_OP_CONV || n->op == RT_OP_FUSED_CONV || n->op == RT_OP_LINEAR || n->op == RT_OP_MATMUL;
}

/* Ops whose int8 output carries the input's scale and zero point. */
static int is_passthrough(int op) {
    return op == RT_OP_MAX_POOL || op == RT_OP_FLATTEN || op == RT_OP_RESHAPE || op == RT_OP_TRANSPOSE ||
           op == RT_OP_SQUEEZE || op == RT_OP_UNSQUEEZE || op == RT_OP_RESIZE; /* Resize: nearest only (plan_one) */
}

/* Output 0 is float32: known so, or not inferred (dynamic input sizes through a Resize) while
 * input 0 is float32 or an int8 node's output (float32 too; every op planned here keeps its
 * input's float type). */
static int out_f32(const Qdq *S, const RtNode *n) {
    const IrGraph *g = S->g;
    if (n->n_out < 1 || n->out[0] < 0) return 0;
    RtDtype t = g->values[n->out[0]].dtype;
    int x = n->n_in > 0 ? n->in[0] : -1;
    return t == RT_F32 || (t == RT_UNDEFINED && x >= 0 && (g->values[x].dtype == RT_F32 || S->qval[x]));
}

static int plan_one(Qdq *S, int k) {
    const IrGraph *g = S->g;
    const RtNode *n = &g->nodes[k];
    if ((S->f[k] & QZ_F_EXCLUDED) || !out_f32(S, n)) return 0;
    int x = qz_in(n, 0);
    if (x < 0) return 0;
    switch (n->op) {
    case RT_OP_CONV:
    case RT_OP_FUSED_CONV:
    case RT_OP_LINEAR: /* an int8 node's output is float32 even where inference lost its type */
        return (S->f[k] & QZ_F_WEIGHT) && (g->values[x].dtype == RT_F32 || S->qval[x]);
    case RT_OP_MATMUL:
        return (S->f[k] & QZ_F_WEIGHT) && g->values[x].dtype == RT_F32 && g->values[x].rank >= 2 &&
               g->values[n->in[1]].konst->rank == 2;
    case RT_OP_ADD:
    case RT_OP_MUL:
        if (n->n_in == 2 && n->in[1] >= 0 && S->qval[x] && S->qval[n->in[1]] && !rt_attr_int(n, "broadcast", 0))
            return 1;
        break;
    case RT_OP_CONCAT:
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] < 0 || !S->qval[n->in[j]]) return 0;
        return 1;
    case RT_OP_MAX_POOL:
        if (n->n_out > 1 && n->out[1] >= 0 && (qz_readers(g, n->out[1], NULL) || ir_value_is_output(g, n->out[1])))
            return 0;
        return S->qval[x];
    case RT_OP_RESIZE: /* nearest copies elements: the same numbers, int8 as well as float */
        return strcmp(rt_attr_str(n, "mode", "nearest"), "nearest") == 0 && S->qval[x];
    case RT_OP_AVERAGE_POOL:
    case RT_OP_GLOBAL_AVERAGE_POOL:
    case RT_OP_FLATTEN:
    case RT_OP_RESHAPE:
    case RT_OP_TRANSPOSE:
    case RT_OP_SQUEEZE:
    case RT_OP_UNSQUEEZE:
        return S->qval[x];
    default:
        break;
    }
    /* an element-wise function of one int8 input: a table (quantize_lut.c) */
    int slot = qz_lut_input(g, n);
    return slot >= 0 && S->qval[n->in[slot]];
}

/* Node k extends a chain of tabulated functions: its input is the output of such an int8
 * node j (its only reader, not a graph output, the chain not yet QZ_LUT_MAX_CHAIN long), so
 * j's output need not be quantized: k's table composes them (quantize_rewrite.c). */
static int plan_chain(Qdq *S, int k) {
    const IrGraph *g = S->g;
    const RtNode *n = &g->nodes[k];
    int slot = qz_lut_input(g, n);
    if ((S->f[k] & QZ_F_EXCLUDED) || slot < 0 || !out_f32(S, n)) return 0;
    int v = n->in[slot], j = g->values[v].producer, only = -1, len = 1;
    if (j < 0 || !(S->f[j] & F_INT8) || qz_lut_input(g, &g->nodes[j]) < 0 || ir_value_is_output(g, v) ||
        qz_readers(g, v, &only) != 1 || only != k)
        return 0;
    for (int i = j; S->f[i] & F_NO_IN; len++) i = g->values[g->nodes[i].in[qz_lut_input(g, &g->nodes[i])]].producer;
    if (len + 1 > QZ_LUT_MAX_CHAIN) return 0;
    S->f[j] |= F_NO_OUT;
    S->qval[v] = 0;
    S->f[k] |= F_NO_IN;
    return 1;
}

static void plan(Qdq *S) {
    const IrGraph *g = S->g;
    for (int k = 0; k < g->n_nodes; k++) {
        if (!plan_chain(S, k) && !plan_one(S, k)) continue; /* a chain link first */
        S->f[k] |= F_INT8;
        S->qval[g->nodes[k].out[0]] = 1;
    }
}

/* ---- 3. calibration ---- */

/* Activation inputs of int8 node n: input 0 of a layer, every input of Add/Mul/Concat, the
 * data input (0) otherwise. */
static int act_inputs(const RtNode *n) {
    if (n->op == RT_OP_ADD || n->op == RT_OP_MUL || n->op == RT_OP_CONCAT) return n->n_in;
    return 1;
}

static void params_from_range(Qdq *S, int v, CalibRange r) {
    double lo = fmin(r.lo, 0.0), hi = fmax(r.hi, 0.0);
    double s = (hi - lo) / 255.0;
    if (!(s > 0) || !isfinite((float)s)) s = 1.0;
    S->scale[v] = (float)s;
    S->zp[v] = (int8_t)rt_round_sat(-128.0 - lo / (double)S->scale[v], 0, -128, 127);
    S->range[v] = r;
    S->has[v] = 1;
}

static int calibrate(Qdq *S) {
    const IrGraph *g = S->g;
    int *vals = malloc(sizeof(int) * (size_t)(S->nv + 1));
    char *want = calloc((size_t)S->nv + 1, 1);
    if (!vals || !want) {
        free(vals);
        free(want);
        return rt_error_set(S->err, "out of memory");
    }
    for (int k = 0; k < g->n_nodes; k++) {
        const RtNode *n = &g->nodes[k];
        if (!(S->f[k] & F_INT8)) continue;
        if (!is_passthrough(n->op) && !(S->f[k] & F_NO_OUT)) want[n->out[0]] = 1;
        for (int j = 0; j < act_inputs(n) && !(S->f[k] & F_NO_IN); j++)
            if (!S->qval[n->in[j]] && !g->values[n->in[j]].konst) want[n->in[j]] = 1;
    }
    int n = 0;
    for (int v = 0; v < S->nv; v++)
        if (want[v]) vals[n++] = v;
    CalibRange *r = calloc((size_t)n + 1, sizeof *r);
    int rc = r ? RT_OK : rt_error_set(S->err, "out of memory");
    if (rc == RT_OK && n > 0) rc = calib_collect(g, S->o->data, vals, n, &S->o->calib, r, S->err);
    for (int i = 0; rc == RT_OK && i < n; i++) params_from_range(S, vals[i], r[i]);
    /* pass-through outputs inherit, in graph order so chains work */
    for (int k = 0; rc == RT_OK && k < g->n_nodes; k++) {
        const RtNode *nd = &g->nodes[k];
        if (!(S->f[k] & F_INT8) || !is_passthrough(nd->op)) continue;
        int x = nd->in[0], y = nd->out[0];
        S->scale[y] = S->scale[x];
        S->zp[y] = S->zp[x];
        S->range[y] = S->range[x];
        S->has[y] = S->has[x];
        S->inherited[y] = 1;
    }
    free(vals);
    free(want);
    free(r);
    return rc;
}

/* ---- 3b. per-channel scales of conv outputs only a table reads (quantize_perchan.c) ---- */

/* 1 when int8 node k is a Conv (no fused activation: its qmin/qmax would be one bound for
 * all channels) with a float32 weight [M, ...] whose calibrated output's only reader is the
 * first function of an int8 table, and not a graph output. Not when the table is one Sigmoid
 * or LeakyRelu: onnxruntime's default QDQ fusions make the --onnx export's DequantizeLinear ->
 * Sigmoid / LeakyRelu -> QuantizeLinear a QLinearSigmoid / QLinearLeakyRelu, which take one
 * input scale and refuse the per-axis one at load. */
static int perchan_candidate(const Qdq *S, int k) {
    const IrGraph *g = S->g;
    const RtNode *n = &g->nodes[k];
    if (!(S->f[k] & F_INT8) || (S->f[k] & F_NO_OUT) || !(S->f[k] & QZ_F_WEIGHT)) return 0;
    if (n->op != RT_OP_CONV && !(n->op == RT_OP_FUSED_CONV && !rt_attr_str(n, "activation", "")[0])) return 0;
    int x = qz_in(n, 0), y = n->out[0], j = -1;
    const RtTensor *w = qz_in(n, 1) >= 0 ? g->values[n->in[1]].konst : NULL;
    if (x < 0 || !S->has[x] || !w || w->dtype != RT_F32 || !w->data || w->rank < 3 || w->dims[0] < 2) return 0;
    if (y < 0 || !S->has[y] || S->inherited[y] || ir_value_is_output(g, y) || qz_readers(g, y, &j) != 1) return 0;
    if (!(S->f[j] & F_INT8) || (S->f[j] & F_NO_IN)) return 0;
    int slot = qz_lut_input(g, &g->nodes[j]);
    if (slot < 0 || g->nodes[j].in[slot] != y) return 0;
    int alone = !(S->f[j] & F_NO_OUT); /* the chain's only link: its output is quantized */
    return !(alone && (g->nodes[j].op == RT_OP_SIGMOID || g->nodes[j].op == RT_OP_LEAKY_RELU));
}

static int perchan(Qdq *S) {
    const IrGraph *g = S->g;
    if (S->o->per_tensor) return RT_OK; /* one weight scale asked for: QConv could not fold g_c */
    int n = 0, *layer = malloc(sizeof(int) * (size_t)(g->n_nodes + 1)), *val = NULL;
    int64_t *C = NULL;
    float **lo = NULL, **hi = NULL;
    int rc = layer ? RT_OK : rt_error_set(S->err, "out of memory");
    for (int k = 0; rc == RT_OK && k < g->n_nodes; k++)
        if (perchan_candidate(S, k)) layer[n++] = k;
    if (rc == RT_OK && n > 0) {
        val = malloc(sizeof(int) * (size_t)n);
        C = malloc(sizeof(int64_t) * (size_t)n);
        lo = calloc((size_t)n, sizeof *lo);
        hi = calloc((size_t)n, sizeof *hi);
        if (!val || !C || !lo || !hi) rc = rt_error_set(S->err, "out of memory");
        for (int i = 0; rc == RT_OK && i < n; i++) {
            const RtNode *nd = &g->nodes[layer[i]];
            val[i] = nd->out[0];
            C[i] = g->values[nd->in[1]].konst->dims[0];
            lo[i] = malloc(sizeof(float) * (size_t)C[i]);
            hi[i] = malloc(sizeof(float) * (size_t)C[i]);
            if (!lo[i] || !hi[i]) rc = rt_error_set(S->err, "out of memory");
        }
        if (rc == RT_OK) rc = calib_collect_channels(g, S->o->data, val, C, n, &S->o->calib, lo, hi, S->err);
    }
    for (int i = 0; rc == RT_OK && i < n; i++) {
        const RtNode *nd = &g->nodes[layer[i]];
        int y = val[i];
        float *sc = malloc(sizeof(float) * (size_t)C[i]);
        if (!sc) {
            rc = rt_error_set(S->err, "out of memory");
            break;
        }
        if (qz_perchan_gains(g->values[nd->in[1]].konst, S->scale[nd->in[0]], S->scale[y], S->zp[y], lo[i], hi[i],
                             sc)) {
            S->chan[y] = sc;
            S->chan_n[y] = C[i];
        } else {
            free(sc);
        }
    }
    for (int i = 0; i < n && lo; i++) free(lo[i]);
    for (int i = 0; i < n && hi; i++) free(hi[i]);
    free(lo);
    free(hi);
    free(C);
    free(val);
    free(layer);
    return rc;
}

/* ---- 4. insertion ---- */

static int report_activation(Qdq *S, int v) {
    if (!S->rep || S->reported[v]) return RT_OK;
    S->reported[v] = 1;
    QuantTensorInfo *t = qz_report_tensor(S->rep, S->g->values[v].name, "", S->err);
    if (!t) return RT_ERR;
    t->kind = QUANT_T_ACTIVATION;
    t->bits = 8;
    t->n_scales = 1;
    t->scale_min = t->scale_max = t->scale_mean = S->scale[v];
    t->zp_min = t->zp_max = S->zp[v];
    if (S->inherited[v])
        snprintf(t->observer, sizeof t->observer, "passthrough");
    else if (S->o->calib.method == CALIB_PERCENTILE)
        snprintf(t->observer, sizeof t->observer, "percentile(%g)", S->o->calib.percentile);
    else
        snprintf(t->observer, sizeof t->observer, "%s", calib_method_name(S->o->calib.method));
    t->lo = S->range[v].lo;
    t->hi = S->range[v].hi;
    t->min = S->range[v].min;
    t->max = S->range[v].max;
    return RT_OK;
}

/* Constants for value v's scale and zero point (made once, shared by its Q and DQ nodes). */
static int param_consts(Qdq *S, int v) {
    if (S->sv[v] >= 0) return RT_OK;
    char base[512];
    snprintf(base, sizeof base, "%s_scale", S->g->values[v].name);
    if (S->chan[v]) { /* per channel: scales [C], the one zero point repeated */
        int64_t C = S->chan_n[v];
        int8_t *z = malloc((size_t)C);
        if (!z) return rt_error_set(S->err, "out of memory");
        memset(z, S->zp[v], (size_t)C);
        RtTensor ts = {RT_F32, 1, {C}, S->chan[v]}, tz = {RT_I8, 1, {C}, z};
        S->sv[v] = qz_const_new(S->g, base, &ts, S->err);
        snprintf(base, sizeof base, "%s_zero_point", S->g->values[v].name);
        if (S->sv[v] >= 0) S->zv[v] = qz_const_new(S->g, base, &tz, S->err);
        free(z);
        return S->sv[v] >= 0 && S->zv[v] >= 0 ? report_activation(S, v) : RT_ERR;
    }
    S->sv[v] = qz_const_f32(S->g, base, S->scale[v], S->err);
    snprintf(base, sizeof base, "%s_zero_point", S->g->values[v].name);
    if (S->sv[v] >= 0) S->zv[v] = qz_const_i8(S->g, base, S->zp[v], S->err);
    return S->sv[v] >= 0 && S->zv[v] >= 0 ? report_activation(S, v) : RT_ERR;
}

/* Q(src) -> DQ -> dst inserted at pos, with value p's parameters; *yq gets the int8 value.
 * Returns the number of nodes inserted (2) or -1. */
static int pair_insert(Qdq *S, int pos, int p, int src, int dst, int *yq) {
    IrGraph *g = S->g;
    if (param_consts(S, p) != RT_OK) return -1;
    char base[512];
    snprintf(base, sizeof base, "%s_quantized", g->values[p].name);
    int q = qz_value_new(g, base, &g->values[p], RT_I8, S->err);
    if (q < 0) return -1;
    int qin[3] = {src, S->sv[p], S->zv[p]}, din[3] = {q, S->sv[p], S->zv[p]};
    snprintf(base, sizeof base, "%s/quantize", g->values[p].name);
    if (insert(S, pos, RT_OP_QUANTIZE_LINEAR, base, 3, qin, 1, &q) < 0) return -1;
    snprintf(base, sizeof base, "%s/dequantize", g->values[p].name);
    if (insert(S, pos + 1, RT_OP_DEQUANTIZE_LINEAR, base, 3, din, 1, &dst) < 0) return -1;
    if (S->chan[p] && (qz_attr_set_int(g, pos, "axis", 1, S->err) != RT_OK ||
                       qz_attr_set_int(g, pos + 1, "axis", 1, S->err) != RT_OK))
        return -1;
    if (yq) *yq = q;
    return 2;
}

/* Input slot j of node *k reads the shared DQ(Q(x)); *k follows the node. */
static int wrap_input(Qdq *S, int *k, int j) {
    IrGraph *g = S->g;
    int x = g->nodes[*k].in[j];
    if (S->memo[x] < 0) {
        if (!S->has[x]) return rt_error_set(S->err, "no calibrated range for '%s'", g->values[x].name);
        char base[512];
        snprintf(base, sizeof base, "%s_dequantized", g->values[x].name);
        int d = qz_value_new(g, base, &g->values[x], RT_F32, S->err);
        int p = g->values[x].producer;
        if (d < 0 || pair_insert(S, p < 0 ? 0 : p + 1, x, x, d, NULL) < 0) return RT_ERR;
        S->memo[x] = d;
        *k += 2; /* inserted before it */
    }
    g->nodes[*k].in[j] = S->memo[x];
    return RT_OK;
}

/* Weight (with scales raised so the int32 bias fits) and bias of layer *k. */
static int quantize_weight_bias(Qdq *S, int *k) {
    IrGraph *g = S->g;
    const RtNode *n = &g->nodes[*k];
    int oa, ia;
    if (!quant_weight_axes(g, n, &oa, &ia)) return rt_error_set(S->err, "no quantizable weight");
    const RtTensor *w = g->values[n->in[1]].konst;
    int64_t M = w->dims[oa];
    /* input 0 is the DQ output of x's pair (wrap_input ran): its scale is x_scale */
    const RtTensor *xst = g->values[g->nodes[g->values[n->in[0]].producer].in[1]].konst;
    double xs = ((const float *)xst->data)[0];
    int bv = qz_in(n, 2);
    const RtTensor *b = bv >= 0 ? g->values[bv].konst : NULL;
    if (b && (b->dtype != RT_F32 || rt_numel(b) != M || n->op == RT_OP_MATMUL)) b = NULL;
    float *ms = calloc((size_t)M + 1, sizeof *ms);
    if (!ms) return rt_error_set(S->err, "out of memory");
    float msmax = 0;
    for (int64_t m = 0; b && m < M; m++) {
        ms[m] = (float)(fabs(((const float *)b->data)[m]) / (xs * QZ_BIAS_LIMIT));
        msmax = fmaxf(msmax, ms[m]);
    }
    if (S->o->per_tensor) ms[0] = msmax;
    int before = *k;
    *k = qz_weight_apply(g, *k, S->o, ms, S->rep, S->err);
    free(ms);
    if (*k < 0 || flags_insert(S, before) != RT_OK) return RT_ERR;
    if (!b) return RT_OK;
    /* bias: int32 = rne(b / (x_scale * w_scale[m])), scale x_scale * w_scale[m] */
    const RtTensor *ws = g->values[g->nodes[*k - 1].in[1]].konst;
    RtTensor bq = {RT_I32, 1, {M}, NULL}, bs = {RT_F32, 1, {M}, NULL};
    bq.data = malloc(sizeof(int32_t) * (size_t)M);
    bs.data = malloc(sizeof(float) * (size_t)M);
    int rc = bq.data && bs.data ? RT_OK : rt_error_set(S->err, "out of memory");
    for (int64_t m = 0; rc == RT_OK && m < M; m++) {
        float s = (float)xs * ((const float *)ws->data)[rt_numel(ws) == 1 ? 0 : m];
        ((float *)bs.data)[m] = s;
        ((int32_t *)bq.data)[m] = rt_round_sat(((const float *)b->data)[m] / (double)s, 0, INT32_MIN, INT32_MAX);
    }
    char base[512];
    const char *bn = g->values[bv].name;
    snprintf(base, sizeof base, "%s_quantized", bn);
    int qv = rc == RT_OK ? qz_const_new(g, base, &bq, S->err) : -1;
    snprintf(base, sizeof base, "%s_scale", bn);
    int sv = qv < 0 ? -1 : qz_const_new(g, base, &bs, S->err);
    snprintf(base, sizeof base, "%s_dequantized", bn);
    int dv = sv < 0 ? -1 : qz_value_new(g, base, &g->values[bv], RT_F32, S->err);
    int din[2] = {qv, sv};
    snprintf(base, sizeof base, "%s/bias_dq", g->nodes[*k].name);
    int d = dv < 0 ? -1 : insert(S, *k, RT_OP_DEQUANTIZE_LINEAR, base, 2, din, 1, &dv);
    if (d >= 0 && (rc = qz_attr_set_int(g, d, "axis", 0, S->err)) == RT_OK) {
        *k = d + 1;
        g->nodes[*k].in[2] = dv;
        if (S->rep) {
            QuantTensorInfo *t = qz_report_tensor(S->rep, g->values[qv].name, g->nodes[*k].name, S->err);
            if (!t) rc = RT_ERR;
            else {
                t->kind = QUANT_T_BIAS;
                t->bits = 32;
                t->granularity = "channel";
                qz_report_scales(t, &bs, NULL);
                snprintf(t->observer, sizeof t->observer, "x_scale*w_scale");
            }
        }
    } else {
        rc = RT_ERR;
    }
    free(bq.data);
    free(bs.data);
    return rc;
}

/* Output y of node *k becomes y_pre -> Q -> DQ -> y. */
static int wrap_output(Qdq *S, int *k) {
    IrGraph *g = S->g;
    RtNode *n = &g->nodes[*k];
    int y = n->out[0];
    if (!S->has[y]) return rt_error_set(S->err, "no calibrated range for '%s'", g->values[y].name);
    char base[512];
    snprintf(base, sizeof base, "%s_pre", g->values[y].name);
    int pre = qz_value_new(g, base, &g->values[y], RT_F32, S->err);
    if (pre < 0) return RT_ERR;
    g->nodes[*k].out[0] = pre;
    g->values[pre].producer = *k;
    int yq;
    if (pair_insert(S, *k + 1, y, pre, y, &yq) < 0) return RT_ERR;
    const RtNode *nn = &g->nodes[*k];
    if (S->rep && nn->op != RT_OP_FLATTEN && nn->op != RT_OP_RESHAPE && nn->op != RT_OP_TRANSPOSE &&
        nn->op != RT_OP_SQUEEZE && nn->op != RT_OP_UNSQUEEZE) {
        QuantLayerInfo *l = qz_report_layer(S->rep, nn->name, nn->op_type, g->values[y].name, S->err);
        if (!l) return RT_ERR;
        size_t len = strlen(g->values[yq].name) + 1;
        l->qvalue = malloc(len);
        if (!l->qvalue) return rt_error_set(S->err, "out of memory");
        memcpy(l->qvalue, g->values[yq].name, len);
        l->q_scale = S->scale[y];
        l->q_zp = S->zp[y];
        if (S->chan[y]) {
            l->q_scales = malloc(sizeof(float) * (size_t)S->chan_n[y]);
            if (!l->q_scales) return rt_error_set(S->err, "out of memory");
            memcpy(l->q_scales, S->chan[y], sizeof(float) * (size_t)S->chan_n[y]);
            l->n_q_scales = S->chan_n[y];
        }
    }
    return RT_OK;
}

static int insert_all(Qdq *S) {
    IrGraph *g = S->g;
    for (int k = 0; k < g->n_nodes; k++) {
        if (S->f[k] & F_INT8) {
            for (int j = 0; j < act_inputs(&g->nodes[k]) && !(S->f[k] & F_NO_IN); j++)
                if (!g->values[g->nodes[k].in[j]].konst) RT_TRY(wrap_input(S, &k, j)); /* not x + c's c */
            if (is_layer_op(&g->nodes[k])) RT_TRY(quantize_weight_bias(S, &k));
            if (S->f[k] & F_NO_OUT) continue; /* a float link of a chain */
            RT_TRY(wrap_output(S, &k));
            k += 2; /* past the output pair */
        } else if (S->f[k] & QZ_F_WEIGHT) { /* a weight layer that stays float (Gemm): weight-only */
            int before = k;
            k = qz_weight_apply(g, k, S->o, NULL, S->rep, S->err);
            if (k < 0 || flags_insert(S, before) != RT_OK) return RT_ERR;
            const RtNode *n = &g->nodes[k];
            if (S->rep && !qz_report_layer(S->rep, n->name, n->op_type, g->values[n->out[0]].name, S->err))
                return RT_ERR;
        }
    }
    return RT_OK;
}

/* ---- the step ---- */

static int qdq_alloc(Qdq *S, const char *flags) {
    int nn = S->g->n_nodes;
    S->cap_f = nn + 16;
    S->f = malloc((size_t)S->cap_f);
    if (S->f) memcpy(S->f, flags, (size_t)nn);
    return S->f ? RT_OK : rt_error_set(S->err, "out of memory");
}

static int values_alloc(Qdq *S) {
    size_t nv = (size_t)S->g->n_values + 1;
    S->nv = S->g->n_values;
    S->qval = calloc(nv, 1);
    S->has = calloc(nv, 1);
    S->inherited = calloc(nv, 1);
    S->reported = calloc(nv, 1);
    S->scale = calloc(nv, sizeof *S->scale);
    S->zp = calloc(nv, sizeof *S->zp);
    S->range = calloc(nv, sizeof *S->range);
    S->memo = malloc(nv * sizeof *S->memo);
    S->sv = malloc(nv * sizeof *S->sv);
    S->zv = malloc(nv * sizeof *S->zv);
    S->chan = calloc(nv, sizeof *S->chan);
    S->chan_n = calloc(nv, sizeof *S->chan_n);
    if (!S->chan || !S->chan_n || !S->qval || !S->has || !S->inherited || !S->reported || !S->scale || !S->zp || !S->range || !S->memo ||
        !S->sv || !S->zv)
        return rt_error_set(S->err, "out of memory");
    for (int v = 0; v < S->nv; v++) S->memo[v] = S->sv[v] = S->zv[v] = -1;
    return RT_OK;
}

static void qdq_free(Qdq *S) {
    free(S->f);
    free(S->qval);
    free(S->has);
    free(S->inherited);
    free(S->reported);
    free(S->scale);
    free(S->zp);
    free(S->range);
    free(S->memo);
    free(S->sv);
    free(S->zv);
    for (int v = 0; S->chan && v < S->nv; v++) free(S->chan[v]);
    free(S->chan);
    free(S->chan_n);
}

int qz_static_insert(IrGraph *g, const QuantOptions *o, const char *flags, QuantReport *rep, RtError *err) {
    if (!o->data) return rt_error_set(err, "static int8 activations need a calibration set");
    Qdq S;
    memset(&S, 0, sizeof S);
    S.g = g;
    S.o = o;
    S.rep = rep;
    S.err = err;
    int rc = qdq_alloc(&S, flags);
    for (int k = g->n_nodes - 1; rc == RT_OK && k >= 0; k--)
        if ((S.f[k] & QZ_F_WEIGHT) && act_needs_split(&g->nodes[k])) rc = split_one(&S, k);
    if (rc == RT_OK) rc = ir_verify(g, err);
    if (rc == RT_OK) rc = values_alloc(&S);
    if (rc == RT_OK) {
        plan(&S);
        rc = calibrate(&S);
    }
    if (rc == RT_OK) rc = perchan(&S);
    if (rc == RT_OK) rc = insert_all(&S);
    qdq_free(&S);
    return rc;
}
