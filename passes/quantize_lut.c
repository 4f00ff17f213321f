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
 *
 * Chains: consecutive such functions (conv -> x a -> + b -> HardSwish -> x a' -> + b' in
 * PP-LCNet) are one table of their composition, evaluated in float like the float model
 * (quantize_qdq.c plans them as one int8 step, so no rounding between the links); the QLut
 * then lists the functions in order ("Mul,Add,HardSwish") with one alpha and beta each.
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
    return t && t->data && t->dtype == RT_F32 && rt_numel(t) == 1 && (t->rank == 0 || (rank >= 0 && t->rank <= rank));
}

/* float32, or not inferred (dynamic sizes through a Resize): the planner asks only about
 * values an int8 node produces, which are float32 DQ outputs. */
static int f32_or_unknown(const IrGraph *g, int v) {
    RtDtype t = g->values[v].dtype;
    return t == RT_F32 || t == RT_UNDEFINED;
}

int qz_lut_input(const IrGraph *g, const RtNode *n) {
    if (n->n_out != 1 || n->n_in < 1) return -1;
    float lo, hi;
    switch (n->op) {
    case RT_OP_ADD: case RT_OP_MUL: /* x op c, c op x: the constant scalar either side */
        if (n->n_in != 2 || n->n_attr != 0 || n->in[0] < 0 || n->in[1] < 0) return -1;
        for (int i = 0; i < 2; i++)
            if (!g->values[n->in[i]].konst && f32_or_unknown(g, n->in[i]) && const_scalar(g, n->in[1 - i], n->in[i]))
                return i;
        return -1;
    case RT_OP_SUB: case RT_OP_DIV: /* x - c, x / c */
        if (n->n_in != 2 || n->n_attr != 0 || n->in[0] < 0 || n->in[1] < 0 || g->values[n->in[0]].konst) return -1;
        return f32_or_unknown(g, n->in[0]) && const_scalar(g, n->in[1], n->in[0]) ? 0 : -1;
    default:
        break;
    }
    int x = n->in[0];
    if (x < 0 || !f32_or_unknown(g, x)) return -1;
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

/* Runs f (node n) on the 256 float values v in place. */
static int lut_apply(const IrGraph *g, const RtNode *n, float *v, RtError *err) {
    int slot = qz_lut_input(g, n);
    if (slot < 0) return rt_error_set(err, "%s is not an element-wise function of one input", n->op_type);
    RtTensor tx = {RT_F32, 1, {256}, v}, y;
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
    memcpy(v, y.data, sizeof(float) * 256);
    rt_tensor_free(rt_allocator_default(), &y);
    return RT_OK;
}

int qz_lut_table(const IrGraph *g, const int *chain, int n, float xs, int32_t xz, float ys, int32_t yz, int8_t *table,
                 RtError *err) {
    float v[256];
    for (int c = -128; c < 128; c++) v[(uint8_t)c] = (float)(c - xz) * xs; /* DequantizeLinear */
    for (int i = 0; i < n; i++) RT_TRY(lut_apply(g, &g->nodes[chain[i]], v, err));
    for (int i = 0; i < 256; i++) table[i] = (int8_t)rt_quantize_f32(v[i], ys, yz, -128, 127); /* QuantizeLinear */
    return RT_OK;
}

/* f's parameters as the QLut's alpha and beta (0 where f has none). */
static int lut_params(const IrGraph *g, const RtNode *f, float *alpha, float *beta, RtError *err) {
    *alpha = *beta = 0;
    switch (f->op) {
    case RT_OP_LEAKY_RELU: *alpha = rt_attr_float(f, "alpha", 0.01f); return RT_OK;
    case RT_OP_ELU: *alpha = rt_attr_float(f, "alpha", 1.0f); return RT_OK;
    case RT_OP_HARD_SIGMOID:
        *alpha = rt_attr_float(f, "alpha", 0.2f);
        *beta = rt_attr_float(f, "beta", 0.5f);
        return RT_OK;
    case RT_OP_CLIP:
        if (!clip_bound(g, f, 1, alpha) || !clip_bound(g, f, 2, beta))
            return rt_error_set(err, "Clip bounds are not constant");
        return RT_OK;
    case RT_OP_ADD: case RT_OP_MUL: case RT_OP_SUB: case RT_OP_DIV: {
        /* the constant operand c as alpha: the export writes f(x, c) (x first; Add and Mul
         * commute, Sub and Div are tabulated only as x - c, x / c) */
        int slot = qz_lut_input(g, f);
        const RtTensor *t = slot < 0 ? NULL : g->values[f->in[1 - slot]].konst;
        if (!t) return rt_error_set(err, "%s has no constant operand", f->op_type);
        *alpha = ((const float *)t->data)[0];
        return RT_OK;
    }
    default: return RT_OK;
    }
}

/* Sets a FLOATS attribute (v copied into the graph's arena). */
static int attr_set_floats(IrGraph *g, int k, const char *name, const float *v, int n, RtError *err) {
    float *p = ir_alloc(g, sizeof(float) * (size_t)n);
    if (!p) return rt_error_set(err, "out of memory");
    memcpy(p, v, sizeof(float) * (size_t)n);
    RT_TRY(qz_attr_set_float(g, k, name, 0, err)); /* makes the slot */
    RtNode *nd = &g->nodes[k];
    for (int a = 0; a < nd->n_attr; a++)
        if (strcmp(nd->attrs[a].name, name) == 0) {
            nd->attrs[a].type = RT_ATTR_FLOATS;
            nd->attrs[a].floats = p;
            nd->attrs[a].n = n;
        }
    return RT_OK;
}

int qz_lut_attrs(IrGraph *g, int k, const RtNode *const *fs, int n, RtError *err) {
    enum { MAXF = QZ_LUT_MAX_CHAIN };
    char names[MAXF * 24] = "";
    float al[MAXF], be[MAXF];
    const char *approx = NULL;
    int has_beta = 0;
    if (n < 1 || n > MAXF) return rt_error_set(err, "a chain of %d functions", n);
    for (int i = 0; i < n; i++) {
        RT_TRY(lut_params(g, fs[i], &al[i], &be[i], err));
        if (i) strcat(names, ",");
        strcat(names, fs[i]->op_type);
        if (fs[i]->op == RT_OP_GELU) approx = rt_attr_str(fs[i], "approximate", "none");
        has_beta |= fs[i]->op == RT_OP_HARD_SIGMOID || fs[i]->op == RT_OP_CLIP;
    }
    RT_TRY(qz_attr_set_str(g, k, "function", names, err));
    if (approx) RT_TRY(qz_attr_set_str(g, k, "approximate", approx, err));
    if (n > 1) { /* one alpha and beta per function */
        RT_TRY(attr_set_floats(g, k, "alpha", al, n, err));
        return attr_set_floats(g, k, "beta", be, n, err);
    }
    const RtNode *f = fs[0];
    int has_alpha = f->op == RT_OP_LEAKY_RELU || f->op == RT_OP_ELU || has_beta || f->op == RT_OP_ADD ||
                    f->op == RT_OP_MUL || f->op == RT_OP_SUB || f->op == RT_OP_DIV;
    if (has_alpha) RT_TRY(qz_attr_set_float(g, k, "alpha", al[0], err));
    if (has_beta) RT_TRY(qz_attr_set_float(g, k, "beta", be[0], err));
    return RT_OK;
}
