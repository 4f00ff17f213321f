/*
 * quantize_lut.c — element-wise functions of one int8 activation as 256-entry tables (the
 * wafer QLut op, runtime/kernels/wafer_ops.h), so a static int8 graph stays int8 through
 * HardSwish, HardSigmoid, Sigmoid, Tanh, Gelu, LeakyRelu ... between its convolutions.
 *
 * With static scales an 8-bit input takes only 256 values, so any function f of it is known
 * in full at quantize time: table[c] = Q(f(DQ(c, x_scale, x_zp)), y_scale, y_zp) for every
 * code c, which is exactly what the float fallback DQ -> f -> Q computes element by element.
 * The table is made by running f's own reference kernel (runtime/kernels/ref/) on the 256
 * dequantized codes, DQ and Q as the ONNX ops define them (DQ (c - zp) * s in float32; Q
 * round-half-even of x / s in float32, saturated), so a table entry and the float path are
 * the same bits, not a re-implementation of f. The QLut node keeps f's op type and its
 * attributes (alpha, beta, approximate; Clip's bounds as alpha, beta; the constant of
 * x + c, c x, x - c, x / c as alpha) for the ONNX export. The scalar arithmetic matters:
 * PP-LCNet / MobileOne blocks (PaddleOCR v4) follow every conv and activation with a learnable
 * scalar affine a x + b, two more element-wise functions of one input.
 */
#include "quantize_internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../runtime/kernels/kernel.h"
#include "../runtime/kernels/quant.h"
#include "../runtime/rt_exec.h"

/* A Clip bound (input which = 1 min, 2 max, or the min/max attributes before opset 11) as a
 * float; 0 when it is computed at run time. Absent bounds are -+FLT_MAX (what the float
 * kernel reads them as: the same function on every finite value). */
static int clip_bound(const IrGraph *g, const RtNode *n, int which, float *f) {
    if (n->opset < 11) {
        *f = rt_attr_float(n, which == 1 ? "min" : "max", which == 1 ? -FLT_MAX : FLT_MAX);
        return 1;
    }
    int v = qz_in(n, which);
    if (v < 0) {
        *f = which == 1 ? -FLT_MAX : FLT_MAX;
        return 1;
    }
    const RtTensor *t = g->values[v].konst;
    if (!t || !t->data || t->dtype != RT_F32 || rt_numel(t) != 1) return 0;
    *f = ((const float *)t->data)[0];
    return 1;
}

/* 1 when v is a float32 constant scalar whose rank does not exceed x's (the broadcast keeps
 * x's shape). */
static int const_scalar(const IrGraph *g, int v, int x) {
    const RtTensor *t = v >= 0 ? g->values[v].konst : NULL;
    int rank = g->values[x].rank;
    return t && t->data && t->dtype == RT_F32 && rt_numel(t) == 1 && rank >= 0 && t->rank <= rank;
}

int qz_lut_input(const IrGraph *g, const RtNode *n) {
    if (n->n_out != 1 || n->n_in < 1) return -1;
    float lo, hi;
    switch (n->op) {
    case RT_OP_ADD: case RT_OP_MUL: /* x op c, c op x: the constant scalar either side */
        if (n->n_in != 2 || n->n_attr != 0 || n->in[0] < 0 || n->in[1] < 0) return -1;
        for (int i = 0; i < 2; i++)
            if (!g->values[n->in[i]].konst && g->values[n->in[i]].dtype == RT_F32 && const_scalar(g, n->in[1 - i], n->in[i]))
                return i;
        return -1;
    case RT_OP_SUB: case RT_OP_DIV: /* x - c, x / c */
        if (n->n_in != 2 || n->n_attr != 0 || n->in[0] < 0 || n->in[1] < 0 || g->values[n->in[0]].konst) return -1;
        return g->values[n->in[0]].dtype == RT_F32 && const_scalar(g, n->in[1], n->in[0]) ? 0 : -1;
    default:
        break;
    }
    int x = n->in[0];
    if (x < 0 || g->values[x].dtype != RT_F32) return -1;
    switch (n->op) {
    case RT_OP_RELU: case RT_OP_LEAKY_RELU: case RT_OP_SIGMOID: case RT_OP_TANH: case RT_OP_HARD_SIGMOID:
    case RT_OP_HARD_SWISH: case RT_OP_ELU: case RT_OP_SOFTPLUS: case RT_OP_SOFTSIGN: case RT_OP_ABS:
    case RT_OP_NEG: case RT_OP_ERF: case RT_OP_MISH:
        return n->n_in == 1 ? 0 : -1;
    case RT_OP_GELU: {
        const char *a = rt_attr_str(n, "approximate", "none");
        return n->n_in == 1 && (strcmp(a, "none") == 0 || strcmp(a, "tanh") == 0) ? 0 : -1;
    }
    case RT_OP_CLIP:
        return clip_bound(g, n, 1, &lo) && clip_bound(g, n, 2, &hi) ? 0 : -1;
    default:
        return -1;
    }
}

int qz_lut_table(const IrGraph *g, const RtNode *n, float xs, int32_t xz, float ys, int32_t yz, int8_t *table,
                 RtError *err) {
    int slot = qz_lut_input(g, n);
    if (slot < 0) return rt_error_set(err, "%s is not an element-wise function of one input", n->op_type);
    float xf[256];
    for (int c = -128; c < 128; c++) xf[(uint8_t)c] = (float)(c - xz) * xs; /* DequantizeLinear */
    RtTensor tx = {RT_F32, 1, {256}, xf}, y;
    memset(&y, 0, sizeof y);
    RtTensor *in[3] = {NULL, NULL, NULL}, *out[1] = {&y};
    for (int j = 0; j < n->n_in && j < 3; j++) in[j] = n->in[j] >= 0 ? g->values[n->in[j]].konst : NULL;
    in[slot] = &tx;
    RtError e = {{0}};
    RtKernelCtx c = {.alloc = rt_allocator_default(), .err = &e, .ref_only = 1};
    int st = rt_node_exec(&c, n, in, out);
    if (st != RT_OK || y.dtype != RT_F32 || rt_numel(&y) != 256) {
        rt_tensor_free(rt_allocator_default(), &y);
        return rt_error_set(err, "tabulating %s: %s", n->op_type, e.msg[0] ? e.msg : "no float32 result of 256 values");
    }
    const float *f = y.data;
    for (int i = 0; i < 256; i++) table[i] = (int8_t)rt_quantize_f32(f[i], ys, yz, -128, 127); /* QuantizeLinear */
    rt_tensor_free(rt_allocator_default(), &y);
    return RT_OK;
}

int qz_lut_attrs(IrGraph *g, int k, const RtNode *f, RtError *err) {
    RT_TRY(qz_attr_set_str(g, k, "function", f->op_type, err));
    switch (f->op) {
    case RT_OP_LEAKY_RELU: return qz_attr_set_float(g, k, "alpha", rt_attr_float(f, "alpha", 0.01f), err);
    case RT_OP_ELU: return qz_attr_set_float(g, k, "alpha", rt_attr_float(f, "alpha", 1.0f), err);
    case RT_OP_HARD_SIGMOID:
        RT_TRY(qz_attr_set_float(g, k, "alpha", rt_attr_float(f, "alpha", 0.2f), err));
        return qz_attr_set_float(g, k, "beta", rt_attr_float(f, "beta", 0.5f), err);
    case RT_OP_GELU: return qz_attr_set_str(g, k, "approximate", rt_attr_str(f, "approximate", "none"), err);
    case RT_OP_CLIP: {
        float lo, hi;
        if (!clip_bound(g, f, 1, &lo) || !clip_bound(g, f, 2, &hi))
            return rt_error_set(err, "Clip bounds are not constant");
        RT_TRY(qz_attr_set_float(g, k, "alpha", lo, err));
        return qz_attr_set_float(g, k, "beta", hi, err);
    }
    case RT_OP_ADD: case RT_OP_MUL: case RT_OP_SUB: case RT_OP_DIV: {
        /* the constant operand c as alpha: the export writes f(x, c) (x first; Add and Mul
         * commute, Sub and Div are tabulated only as x - c, x / c) */
        int slot = qz_lut_input(g, f);
        const RtTensor *t = slot < 0 ? NULL : g->values[f->in[1 - slot]].konst;
        if (!t) return rt_error_set(err, "%s has no constant operand", f->op_type);
        return qz_attr_set_float(g, k, "alpha", ((const float *)t->data)[0], err);
    }
    default: return RT_OK;
    }
}
