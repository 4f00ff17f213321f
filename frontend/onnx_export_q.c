/*
 * onnx_export_q.c — wafer's int8 ops and fused float ops -> standard ONNX ops.
 *
 * int8 ops become the QDQ form onnxruntime's quantizer writes and its graph optimizer fuses
 * back into integer kernels (QLinearConv, QGemm, QLinearAdd, ...):
 *   QConv(x, xs, xz, w, ws, wz, ys, yz, B)  ->
 *       Q( clamp( Conv( DQ(x, xs, xz), DQ(w, ws, wz, axis 0), DQ(B, xs*ws, axis 0) ) ), ys, yz )
 *   QLinear (w [N, K])  -> the same with Gemm(transB = 1) for 2-D x, else MatMul on the
 *                          transposed codes [K, N] (DQ axis 1) + Add of the bias
 *   QAdd / QMul         -> Q( clamp( Add|Mul( DQ(a), DQ(b) ) ) )
 *   QAveragePool / QGlobalAveragePool / QConcat -> DQ each input, the float op, Q
 *   QLut (tabulated element-wise functions, wafer_ops.h) -> Q( fn(...f1( DQ(x) )) ), the ops
 *                          its attribute `function` lists with their alpha / beta / approximate
 *                          (a Gelu below opset 20 as its Erf / Tanh formula);
 *                          Clip's bounds and the scalar of Add / Mul / Sub / Div (alpha) as
 *                          constant inputs (onnxruntime computes f in float, as the table's
 *                          entries were made, so the two agree up to float rounding of f)
 * "clamp" is the fused activation wafer keeps as qmin/qmax: none when they are the dtype's
 * range, Relu when qmin = yz and qmax is the top, otherwise Clip((qmin - yz) ys, (qmax - yz) ys).
 * The int32 bias dequantizes with scale xs * ws (computed in float32, as the int8 kernels
 * assume) and zero point 0. Per-axis scales keep their axis; one-element scales become
 * scalars (ONNX reads a 1-D scale as per-axis).
 *   FusedConv -> Conv + activation;  Linear -> Gemm (2-D x) or MatMul + Add, + activation.
 * The integer arithmetic differs from wafer's only where onnxruntime requantizes in float
 * instead of wafer's fixed-point multiplier: a rounding step of at most one unit.
 */
#include "onnx_export_internal.h"

#include <math.h>
#include <string.h>

static int q_in(const RtNode *n, int i) { return i < n->n_in ? n->in[i] : -1; }

static int64_t q_attr_int(const RtNode *n, const char *name, int64_t dflt) {
    for (int i = 0; i < n->n_attr; i++)
        if (strcmp(n->attrs[i].name, name) == 0 && n->attrs[i].type == RT_ATTR_INT) return n->attrs[i].i;
    return dflt;
}

static int64_t q_numel_src(ExCtx *x, int sv) {
    const IrValue *v = &x->src->values[sv];
    return v->konst ? rt_numel(v->konst) : -1;
}

/* A scale or zero point for a Q/DQ node: one-element constants as scalars. */
static int q_param(ExCtx *x, int sv) {
    if (sv < 0) return -1;
    const IrValue *v = &x->src->values[sv];
    if (v->konst && v->konst->rank > 0 && rt_numel(v->konst) == 1) {
        RtTensor t = *v->konst;
        t.rank = 0;
        return ex_const(x, v->name, "_scalar", &t);
    }
    return ex_val(x, sv);
}

/* DequantizeLinear(q, s, z) into a fresh float value; axis used when s has > 1 element. */
static int q_dq(ExCtx *x, const RtNode *n, int q_new, int s_sv, int z_sv, int axis) {
    int in[3] = {q_new, q_param(x, s_sv), q_param(x, z_sv)};
    if (q_new < 0) return -1;
    int out = ex_fresh(x, x->g->values[q_new].name, "_dq");
    int k = ex_node(x, RT_OP_DEQUANTIZE_LINEAR, n->name, z_sv >= 0 ? 3 : 2, in, 1, &out);
    if (k < 0) return -1;
    if (q_numel_src(x, s_sv) > 1 && ex_attr_int(x, k, "axis", axis) != RT_OK) return -1;
    return out;
}

static int q_dq_src(ExCtx *x, const RtNode *n, int q_sv, int s_sv, int z_sv, int axis) {
    return q_dq(x, n, ex_val(x, q_sv), s_sv, z_sv, axis);
}

/* The int32 bias B of a QConv / QLinear as float: DQ(B, xs * ws, axis 0). */
static int q_bias(ExCtx *x, const RtNode *n, int b_sv, int xs_sv, int ws_sv) {
    if (b_sv < 0) return -1;
    const RtTensor *xs = ex_src_const(x, n, xs_sv, "the input scale");
    const RtTensor *ws = ex_src_const(x, n, ws_sv, "the weight scale");
    if (!xs || !ws) return -2;
    if (xs->dtype != RT_F32 || ws->dtype != RT_F32 || rt_numel(xs) != 1)
        return ex_fail(x, n, "the bias scale needs float32 scales, the input's per tensor"), -2;
    int64_t m = rt_numel(ws);
    float *p = ir_alloc(x->g, sizeof(float) * (size_t)(m > 0 ? m : 1)); /* copied by ex_const */
    RtTensor t = {RT_F32, m > 1 ? 1 : 0, {m}, NULL};
    if (!p) return ex_fail(x, n, "out of memory"), -2;
    for (int64_t i = 0; i < m; i++) p[i] = ((const float *)xs->data)[0] * ((const float *)ws->data)[i];
    t.data = p;
    int s = ex_const(x, x->src->values[b_sv].name, "_scale", &t);
    int in[2] = {ex_val(x, b_sv), s};
    int out = ex_fresh(x, x->src->values[b_sv].name, "_dq");
    int k = ex_node(x, RT_OP_DEQUANTIZE_LINEAR, n->name, 2, in, 1, &out);
    if (k < 0) return -2;
    if (m > 1 && ex_attr_int(x, k, "axis", 0) != RT_OK) return -2;
    return out;
}

/* qmin/qmax of n as a float Relu or Clip on yf (or yf itself when they are the full range). */
static int q_clamp(ExCtx *x, const RtNode *n, int yf, int ys_sv, int yz_sv) {
    const RtTensor *ys = ex_src_const(x, n, ys_sv, "the output scale");
    const RtTensor *yz = yz_sv >= 0 ? ex_src_const(x, n, yz_sv, "the output zero point") : NULL;
    if (!ys || (yz_sv >= 0 && !yz) || ys->dtype != RT_F32 || rt_numel(ys) != 1)
        return ex_fail(x, n, "the output needs one float32 scale"), -1;
    RtDtype qt = yz ? yz->dtype : RT_U8;
    int lo_dt = qt == RT_I8 ? -128 : 0, hi_dt = qt == RT_I8 ? 127 : 255;
    int64_t qmin = q_attr_int(n, "qmin", lo_dt), qmax = q_attr_int(n, "qmax", hi_dt);
    if (qmin <= lo_dt && qmax >= hi_dt) return yf;
    int z = !yz ? 0 : qt == RT_I8 ? ((const int8_t *)yz->data)[0] : ((const uint8_t *)yz->data)[0];
    float s = ((const float *)ys->data)[0];
    const char *b = x->g->values[yf].name;
    int out = ex_fresh(x, b, "_clamp");
    if (qmin == z && qmax >= hi_dt) return ex_node(x, RT_OP_RELU, n->name, 1, &yf, 1, &out) < 0 ? -1 : out;
    int in[3] = {yf, ex_const_f32(x, b, "_min", (float)(qmin - z) * s), ex_const_f32(x, b, "_max", (float)(qmax - z) * s)};
    return ex_node(x, RT_OP_CLIP, n->name, 3, in, 1, &out) < 0 ? -1 : out;
}

/* Clamp, then QuantizeLinear(yf, ys, yz) into n's output. */
static int q_finish(ExCtx *x, const RtNode *n, int yf, int ys_sv, int yz_sv) {
    if (yf < 0) return RT_ERR;
    int yc = q_clamp(x, n, yf, ys_sv, yz_sv);
    int in[3] = {yc, q_param(x, ys_sv), q_param(x, yz_sv)}, out = ex_val(x, n->out[0]);
    if (yc < 0) return RT_ERR;
    return ex_node(x, RT_OP_QUANTIZE_LINEAR, n->name, yz_sv >= 0 ? 3 : 2, in, 1, &out) < 0 ? RT_ERR : RT_OK;
}

static int q_conv(ExCtx *x, const RtNode *n) {
    int in[3] = {q_dq_src(x, n, q_in(n, 0), q_in(n, 1), q_in(n, 2), 1),
                 q_dq_src(x, n, q_in(n, 3), q_in(n, 4), q_in(n, 5), 0),
                 q_bias(x, n, q_in(n, 8), q_in(n, 1), q_in(n, 4))};
    if (in[0] < 0 || in[1] < 0 || in[2] < -1) return RT_ERR;
    int yf = ex_fresh(x, x->src->values[n->out[0]].name, "_f");
    int k = ex_node(x, RT_OP_CONV, n->name, in[2] >= 0 ? 3 : 2, in, 1, &yf);
    if (k < 0 || ex_attrs_copy(x, k, n, "qmin,qmax") != RT_OK) return RT_ERR;
    return q_finish(x, n, yf, q_in(n, 6), q_in(n, 7));
}

/* w [N, K] codes as [K, N] (for MatMul). */
static int q_weight_transposed(ExCtx *x, const RtNode *n, int w_sv) {
    const RtTensor *w = ex_src_const(x, n, w_sv, "the weight");
    if (!w) return -1;
    if (w->rank != 2 || rt_dtype_size(w->dtype) != 1) return ex_fail(x, n, "the weight is not 2-D 8-bit"), -1;
    int64_t N = w->dims[0], K = w->dims[1];
    RtTensor *t = ir_tensor_new(x->g, w->dtype, 2, (int64_t[]){K, N});
    if (!t) return ex_fail(x, n, "out of memory"), -1;
    const uint8_t *s = w->data;
    uint8_t *d = t->data;
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < K; j++) d[j * N + i] = s[i * K + j];
    return ex_const(x, x->src->values[w_sv].name, "_kn", t);
}

static int q_linear(ExCtx *x, const RtNode *n) {
    int xf = q_dq_src(x, n, q_in(n, 0), q_in(n, 1), q_in(n, 2), 1);
    int bf = q_bias(x, n, q_in(n, 8), q_in(n, 1), q_in(n, 4));
    if (xf < 0 || bf < -1) return RT_ERR;
    const char *yname = x->src->values[n->out[0]].name;
    int gemm = x->src->values[q_in(n, 0)].rank == 2, yf = ex_fresh(x, yname, "_f");
    if (gemm) {
        int in[3] = {xf, q_dq_src(x, n, q_in(n, 3), q_in(n, 4), q_in(n, 5), 0), bf};
        if (in[1] < 0) return RT_ERR;
        int k = ex_node(x, RT_OP_GEMM, n->name, bf >= 0 ? 3 : 2, in, 1, &yf);
        if (k < 0 || ex_attr_int(x, k, "transB", 1) != RT_OK) return RT_ERR;
        return q_finish(x, n, yf, q_in(n, 6), q_in(n, 7));
    }
    int in[2] = {xf, q_dq(x, n, q_weight_transposed(x, n, q_in(n, 3)), q_in(n, 4), q_in(n, 5), 1)};
    if (in[1] < 0) return RT_ERR;
    int mm = bf >= 0 ? ex_fresh(x, yname, "_mm") : yf;
    if (ex_node(x, RT_OP_MATMUL, n->name, 2, in, 1, &mm) < 0) return RT_ERR;
    if (bf >= 0) {
        int a[2] = {mm, bf};
        if (ex_node(x, RT_OP_ADD, n->name, 2, a, 1, &yf) < 0) return RT_ERR;
    }
    return q_finish(x, n, yf, q_in(n, 6), q_in(n, 7));
}

static int q_binary(ExCtx *x, const RtNode *n) {
    int in[2] = {q_dq_src(x, n, q_in(n, 0), q_in(n, 1), q_in(n, 2), 1),
                 q_dq_src(x, n, q_in(n, 3), q_in(n, 4), q_in(n, 5), 1)};
    if (in[0] < 0 || in[1] < 0) return RT_ERR;
    int yf = ex_fresh(x, x->src->values[n->out[0]].name, "_f");
    if (ex_node(x, n->op == RT_OP_QADD ? RT_OP_ADD : RT_OP_MUL, n->name, 2, in, 1, &yf) < 0) return RT_ERR;
    return q_finish(x, n, yf, q_in(n, 6), q_in(n, 7));
}

static int q_pool(ExCtx *x, const RtNode *n) {
    int xf = q_dq_src(x, n, q_in(n, 0), q_in(n, 1), q_in(n, 2), 1);
    if (xf < 0) return RT_ERR;
    int yf = ex_fresh(x, x->src->values[n->out[0]].name, "_f");
    int op = n->op == RT_OP_QAVERAGE_POOL ? RT_OP_AVERAGE_POOL : RT_OP_GLOBAL_AVERAGE_POOL;
    int k = ex_node(x, op, n->name, 1, &xf, 1, &yf);
    if (k < 0 || ex_attrs_copy(x, k, n, "") != RT_OK) return RT_ERR;
    return q_finish(x, n, yf, q_in(n, 3), q_in(n, 4));
}

static int q_concat(ExCtx *x, const RtNode *n) {
    int m = (n->n_in - 2) / 3, *in = ir_alloc(x->g, sizeof(int) * (size_t)(m > 0 ? m : 1));
    if (!in) return ex_fail(x, n, "out of memory");
    if (m < 1 || n->n_in != 2 + 3 * m) return ex_fail(x, n, "wants y_scale, y_zp and input triples");
    for (int i = 0; i < m; i++)
        if ((in[i] = q_dq_src(x, n, n->in[2 + 3 * i], n->in[3 + 3 * i], n->in[4 + 3 * i], 1)) < 0) return RT_ERR;
    int yf = ex_fresh(x, x->src->values[n->out[0]].name, "_f");
    int k = ex_node(x, RT_OP_CONCAT, n->name, m, in, 1, &yf);
    if (k < 0 || ex_attrs_copy(x, k, n, "") != RT_OK) return RT_ERR;
    return q_finish(x, n, yf, q_in(n, 0), q_in(n, 1));
}

/* Attribute `name` of n for the i-th function of a QLut: a FLOAT (one function) or element i
 * of a FLOATS (a chain); dflt when absent. */
static float q_attr_float_at(const RtNode *n, const char *name, int i, float dflt) {
    for (int a = 0; a < n->n_attr; a++) {
        const RtAttr *t = &n->attrs[a];
        if (strcmp(t->name, name) != 0) continue;
        if (t->type == RT_ATTR_FLOAT) return t->f;
        if (t->type == RT_ATTR_FLOATS && i < t->n) return t->floats[i];
    }
    return dflt;
}

static const char *q_attr_str(const RtNode *n, const char *name) {
    for (int i = 0; i < n->n_attr; i++)
        if (strcmp(n->attrs[i].name, name) == 0 && n->attrs[i].type == RT_ATTR_STRING) return n->attrs[i].s;
    return NULL;
}

/* The ops a QLut tabulates, in order (its `function`: op types, comma-separated); the count,
 * or -1 when one is unknown. */
static int q_lut_functions(const RtNode *n, int *ops, int cap) {
    const char *f = q_attr_str(n, "function");
    int m = 0;
    while (f && *f && m < cap) {
        const char *e = strchr(f, ',');
        size_t l = e ? (size_t)(e - f) : strlen(f);
        char name[64];
        if (l == 0 || l >= sizeof name) return -1;
        memcpy(name, f, l);
        name[l] = '\0';
        if ((ops[m++] = rt_op_lookup("", name)) == RT_OP_UNKNOWN) return -1;
        f = e ? e + 1 : f + l;
    }
    return m > 0 ? m : -1;
}

int ex_lut_opset(const RtNode *n) {
    int ops[16], m = q_lut_functions(n, ops, 16), need = 13;
    for (int i = 0; i < m; i++)
        if (ops[i] == RT_OP_HARD_SWISH && need < 14) need = 14;
    return need;
}

/* Function i (op) of QLut n on float value xf into yf. */
static int q_lut_one(ExCtx *x, const RtNode *n, int op, int i, int xf, int yf) {
    if (op == RT_OP_GELU && x->g->opset < 20) { /* below opset 20 as its formula, not a raised opset */
        const char *a = q_attr_str(n, "approximate");
        return ex_gelu_emit(x, n->name, xf, yf, a && strcmp(a, "tanh") == 0);
    }
    int in[3] = {xf, -1, -1}, n_in = 1;
    const char *nm = x->src->values[n->out[0]].name;
    if (op == RT_OP_CLIP) {
        in[1] = ex_const_f32(x, nm, "_min", q_attr_float_at(n, "alpha", i, 0));
        in[2] = ex_const_f32(x, nm, "_max", q_attr_float_at(n, "beta", i, 0));
        n_in = 3;
    } else if (op == RT_OP_ADD || op == RT_OP_MUL || op == RT_OP_SUB || op == RT_OP_DIV) {
        in[1] = ex_const_f32(x, nm, "_c", q_attr_float_at(n, "alpha", i, 0));
        n_in = 2;
    }
    for (int j = 1; j < n_in; j++)
        if (in[j] < 0) return RT_ERR;
    int k = ex_node(x, op, n->name, n_in, in, 1, &yf);
    if (k < 0) return RT_ERR;
    int rc = RT_OK;
    if (op == RT_OP_LEAKY_RELU || op == RT_OP_ELU || op == RT_OP_HARD_SIGMOID)
        rc = ex_attr_float(x, k, "alpha",
                           q_attr_float_at(n, "alpha", i, op == RT_OP_LEAKY_RELU ? 0.01f : op == RT_OP_ELU ? 1.0f : 0.2f));
    if (rc == RT_OK && op == RT_OP_HARD_SIGMOID) rc = ex_attr_float(x, k, "beta", q_attr_float_at(n, "beta", i, 0.5f));
    if (rc == RT_OK && op == RT_OP_GELU) rc = ex_attrs_copy(x, k, n, "function,alpha,beta");
    return rc;
}

static int q_lut(ExCtx *x, const RtNode *n) {
    int ops[16], m = q_lut_functions(n, ops, 16);
    if (m < 0) return ex_fail(x, n, "QLut without a known 'function' attribute");
    /* per-channel tables ([C, 256]) came from per-channel x scales: a per-axis DQ */
    int v = q_dq_src(x, n, q_in(n, 0), q_in(n, 2), q_in(n, 3), (int)q_attr_int(n, "axis", 1));
    if (v < 0) return RT_ERR;
    for (int i = 0; i < m; i++) { /* the chain in float, as the table was made */
        int yf = ex_fresh(x, x->src->values[n->out[0]].name, "_f");
        if (q_lut_one(x, n, ops[i], i, v, yf) != RT_OK) return RT_ERR;
        v = yf;
    }
    return q_finish(x, n, v, q_in(n, 4), q_in(n, 5));
}

int ex_lower_q(ExCtx *x, const RtNode *n) {
    switch (n->op) {
    case RT_OP_QCONV: return q_conv(x, n);
    case RT_OP_QLINEAR: return q_linear(x, n);
    case RT_OP_QADD: case RT_OP_QMUL: return q_binary(x, n);
    case RT_OP_QAVERAGE_POOL: case RT_OP_QGLOBAL_AVERAGE_POOL: return q_pool(x, n);
    case RT_OP_QCONCAT: return q_concat(x, n);
    case RT_OP_QLUT: return q_lut(x, n);
    default: return ex_fail(x, n, "not an int8 op");
    }
}

/* The value the main op writes: n's output, or a fresh one when an activation follows. */
static int q_main_out(ExCtx *x, const RtNode *n, int *has_act) {
    *has_act = 0;
    for (int i = 0; i < n->n_attr; i++)
        if (strcmp(n->attrs[i].name, "activation") == 0 && n->attrs[i].s && n->attrs[i].s[0]) *has_act = 1;
    return *has_act ? ex_fresh(x, x->src->values[n->out[0]].name, "_pre") : ex_val(x, n->out[0]);
}

int ex_lower_float(ExCtx *x, const RtNode *n) {
    int act, y = q_main_out(x, n, &act);
    int in[3] = {ex_val(x, q_in(n, 0)), ex_val(x, q_in(n, 1)), ex_val(x, q_in(n, 2))};
    int n_in = in[2] >= 0 ? 3 : 2;
    if (y < 0 || in[0] < 0 || in[1] < 0) return RT_ERR;
    if (n->op == RT_OP_FUSED_CONV) {
        int k = ex_node(x, RT_OP_CONV, n->name, n_in, in, 1, &y);
        if (k < 0 || ex_attrs_copy(x, k, n, "activation,alpha,beta") != RT_OK) return RT_ERR;
    } else if (x->src->values[q_in(n, 0)].rank == 2) {
        if (ex_node(x, RT_OP_GEMM, n->name, n_in, in, 1, &y) < 0) return RT_ERR;
    } else {
        int mm = n_in == 3 ? ex_fresh(x, x->g->values[y].name, "_mm") : y;
        if (ex_node(x, RT_OP_MATMUL, n->name, 2, in, 1, &mm) < 0) return RT_ERR;
        int a[2] = {mm, in[2]};
        if (n_in == 3 && ex_node(x, RT_OP_ADD, n->name, 2, a, 1, &y) < 0) return RT_ERR;
    }
    return !act ? RT_OK : ex_activation(x, n, y, ex_val(x, n->out[0])) < 0 ? RT_ERR : RT_OK;
}
