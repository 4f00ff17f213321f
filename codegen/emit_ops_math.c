/*
 * emit_ops_math.c — emit-c's emitters for element-wise math (unary, binary, variadic), logic, comparisons, Where, casts.
 * (Table ec_ops_math, searched by ec_node_emit after emit_ops.c's.)
 */
#include "emit_ops_common.h"

/* Clip's bounds: inputs min, max (opset >= 11; constants) or attributes; absent = -+inf. */
static int clip_bounds(EcCtx *c, int k, const RtNode *n, char *lo, char *hi) {
    float b[2] = {-HUGE_VALF, HUGE_VALF};
    for (int j = 0; j < 2; j++) {
        if (n->opset < 11) {
            b[j] = rt_attr_float(n, j ? "max" : "min", b[j]);
        } else if (j + 1 < n->n_in && n->in[j + 1] >= 0) {
            const RtTensor *t = kin(c, n, j + 1);
            if (!t || t->dtype != RT_F32 || rt_numel(t) != 1)
                return ec_fail(c, k, RT_ERR_UNSUPPORTED, "Clip's %s must be one constant float32 value", j ? "max" : "min");
            b[j] = ((const float *)t->data)[0];
        }
    }
    ec_float_lit(lo, 48, b[0]);
    ec_float_lit(hi, 48, b[1]);
    return RT_OK;
}

/* Elementwise float ops as a loop in NAME_run: y[i] = f(x[i]) (the runtime's formulas,
 * runtime/kernels/ref/unary.c). */
static int e_unary(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0);
    RT_TRY(need_dtype(c, k, x, RT_F32, "input"));
    const char *f;
    char fb[256], al[48], be[48];
    switch (n->op) {
    case RT_OP_ABS: f = "fabsf(v)"; break;
    case RT_OP_NEG: f = "-v"; break;
    case RT_OP_RECIPROCAL: f = "1.0f / v"; break;
    case RT_OP_SOFTSIGN: f = "v / (1.0f + fabsf(v))"; break;
    case RT_OP_HARD_SWISH: f = "v * (v / 6.0f + 0.5f < 0.0f ? 0.0f : v / 6.0f + 0.5f > 1.0f ? 1.0f : v / 6.0f + 0.5f)"; break;
    case RT_OP_LEAKY_RELU:
        ec_float_lit(al, sizeof al, rt_attr_float(n, "alpha", 0.01f));
        snprintf(fb, sizeof fb, "(v < 0 ? %s * v : v)", al);
        f = fb;
        break;
    case RT_OP_THRESHOLDED_RELU:
        ec_float_lit(al, sizeof al, rt_attr_float(n, "alpha", 1.0f));
        snprintf(fb, sizeof fb, "(v > %s ? v : 0.0f)", al);
        f = fb;
        break;
    case RT_OP_HARD_SIGMOID:
        ec_float_lit(al, sizeof al, rt_attr_float(n, "alpha", 0.2f));
        ec_float_lit(be, sizeof be, rt_attr_float(n, "beta", 0.5f));
        snprintf(fb, sizeof fb, "(%s * v + %s < 0.0f ? 0.0f : %s * v + %s > 1.0f ? 1.0f : %s * v + %s)", al, be, al, be, al, be);
        f = fb;
        break;
    case RT_OP_CLIP:
        RT_TRY(clip_bounds(c, k, n, al, be));
        snprintf(fb, sizeof fb, "((v < %s ? %s : v) > %s ? %s : (v < %s ? %s : v))", al, al, be, be, al, al);
        f = fb;
        break;
    case RT_OP_GELU:
        if (strcmp(rt_attr_str(n, "approximate", "none"), "tanh") == 0) {
            f = "0.5f * v * (1.0f + wk_tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)))";
            ec_tpl_use(c, "b1_tanh");
        } else {
            f = "0.5f * v * (1.0f + wk_erff(v * 0.7071067811865476f))";
            ec_tpl_use(c, "b1_erf");
        }
        break;
    case RT_OP_RELU: f = "(v < 0 ? 0.0f : v)"; break;
    case RT_OP_SIGMOID: f = "wk_sigmoidf(v)"; ec_tpl_use(c, "b1_sigmoid"); break;
    case RT_OP_TANH: f = "wk_tanhf(v)"; ec_tpl_use(c, "b1_tanh"); break;
    case RT_OP_ERF: f = "wk_erff(v)"; ec_tpl_use(c, "b1_erf"); break;
    case RT_OP_EXP: f = "wk_expf(v)"; ec_tpl_use(c, "b0_exp"); break;
    default: return ec_fail(c, k, RT_ERR_UNSUPPORTED, "no emit-c loop for this op");
    }
    char p0[96], py[96];
    text_buf_printf(&c->body,
                    "    {\n        const float *x = %s;\n        float *y = %s;\n        int32_t i;\n"
                    "        for (i = 0; i < %lld; i++) {\n            float v = x[i];\n            y[i] = %s;\n"
                    "        }\n    }\n",
                    P(c, n, 0, p0), Y(c, n, py), (long long)rt_numel(x), f);
    return RT_OK;
}

/* Add, Sub, Mul, Div of two float32 tensors with numpy broadcasting. */
static int e_binary(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *a = vin(c, n, 0), *b = vin(c, n, 1), *y = yval(c, n);
    RT_TRY(need_dtype(c, k, a, RT_F32, "input A"));
    RT_TRY(need_dtype(c, k, b, RT_F32, "input B"));
    char p0[96], p1[96], py[96];
    const char *op = n->op == RT_OP_ADD ? "+" : n->op == RT_OP_SUB ? "-" : n->op == RT_OP_MUL ? "*" : "/";
    int bc = bcast_emit(c, k, a, b, y);
    text_buf_printf(&c->body, "    {\n        const float *a = %s, *b = %s;\n        float *y = %s;\n        int32_t i, oa, ob;\n",
                    P(c, n, 0, p0), P(c, n, 1, p1), Y(c, n, py));
    if (bc)
        text_buf_printf(&c->body,
                        "        for (i = 0; i < %lld; i++) {\n            wk_bcast(i, %d, n%d_dims, n%d_sa, n%d_sb, &oa, &ob);\n"
                        "            y[i] = a[oa] %s b[ob];\n        }\n    }\n",
                        (long long)rt_numel(y), y->rank, k, k, k, op);
    else
        text_buf_printf(&c->body, "        (void)oa;\n        (void)ob;\n        for (i = 0; i < %lld; i++) y[i] = a[i] %s b[i];\n    }\n",
                        (long long)rt_numel(y), op);
    return RT_OK;
}

int64_t ec_scratch_math(const EcCtx *c, int k, const RtNode *n) {
    (void)c, (void)k, (void)n;
    return 0;
}

const EcOpEntry ec_ops_math[] = {
    {RT_OP_RELU, e_unary},
    {RT_OP_SIGMOID, e_unary},
    {RT_OP_TANH, e_unary},
    {RT_OP_ERF, e_unary},
    {RT_OP_EXP, e_unary},
    {RT_OP_ABS, e_unary},
    {RT_OP_NEG, e_unary},
    {RT_OP_RECIPROCAL, e_unary},
    {RT_OP_SOFTSIGN, e_unary},
    {RT_OP_HARD_SWISH, e_unary},
    {RT_OP_LEAKY_RELU, e_unary},
    {RT_OP_THRESHOLDED_RELU, e_unary},
    {RT_OP_HARD_SIGMOID, e_unary},
    {RT_OP_CLIP, e_unary},
    {RT_OP_GELU, e_unary},
    {RT_OP_ADD, e_binary},
    {RT_OP_SUB, e_binary},
    {RT_OP_MUL, e_binary},
    {RT_OP_DIV, e_binary},
    {0, NULL},
};
