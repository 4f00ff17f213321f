/*
 * emit_ops_qcontrib.c — emit-c's emitters for onnxruntime's quantized com.microsoft ops, the
 * QOperator ops its quantizer writes and that passes/qdq_import.c makes of QDQ groups:
 * QLinearAdd, QLinearMul, QGemm, QLinearGlobalAveragePool, QLinearAveragePool,
 * QLinearConcat, QLinearLeakyRelu, QLinearSigmoid. (ONNX QLinearConv and QLinearMatMul are
 * emit_ops_seq.c's.)
 *
 * Arithmetic: the runtime's reference kernels (runtime/kernels/ref/qlinear_binary.c,
 * qlinear_contrib.c, qlinear_contrib_ops.c), which follow onnxruntime: float32 products,
 * round half to even (b0_quant's wk_quant_f32), saturation; int32 sums wrapping. Scales and
 * zero points are read through pointers at run time, so they may be constants or computed;
 * int8 and uint8 elements are read by b0_seq_q8's wk_seq_q8.
 */
#include "emit_ops_common.h"

static int is_q8(RtDtype t) { return t == RT_I8 || t == RT_U8; }

/* Input j: a float32 scale of one value. */
static int scale_check(EcCtx *c, int k, const RtNode *n, int j, const char *what) {
    const RtTensor *t = vin(c, n, j);
    if (!t || t->dtype != RT_F32 || rt_numel(t) != 1) return ec_fail(c, k, RT_ERR, "%s must be one float32 value", what);
    return RT_OK;
}

/* Input j: an absent zero point or one value of dtype want. */
static int zp_check(EcCtx *c, int k, const RtNode *n, int j, RtDtype want, const char *what) {
    const RtTensor *t = vin(c, n, j);
    if (t && (t->dtype != want || rt_numel(t) != 1))
        return ec_fail(c, k, RT_ERR, "%s must be one %s value", what, rt_dtype_name(want));
    return RT_OK;
}

static void q8_templates(EcCtx *c) {
    ec_tpl_use(c, "b0_seq_q8");
    ec_tpl_use(c, "b0_quant");
}

/* QLinearAdd / QLinearMul: A, A_scale, A_zp?, B, B_scale, B_zp?, C_scale, C_zp?. */
static int e_qc_binary(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *a = vin(c, n, 0), *b = vin(c, n, 3), *y = yval(c, n);
    if (!a || !b || !is_q8(a->dtype) || b->dtype != a->dtype)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "A and B must both be int8 or both uint8");
    RT_TRY(scale_check(c, k, n, 1, "A_scale"));
    RT_TRY(scale_check(c, k, n, 4, "B_scale"));
    RT_TRY(scale_check(c, k, n, 6, "C_scale"));
    RT_TRY(zp_check(c, k, n, 2, a->dtype, "A_zero_point"));
    RT_TRY(zp_check(c, k, n, 5, a->dtype, "B_zero_point"));
    if (!is_q8(y->dtype)) return ec_fail(c, k, RT_ERR, "C must be int8 or uint8");
    RT_TRY(zp_check(c, k, n, 7, y->dtype, "C_zero_point"));
    int bc = bcast_emit(c, k, a, b, y);
    char buf[8][96], py[96], tabs[96] = "0, NULL, NULL, NULL";
    const char *p[8];
    if (bc) snprintf(tabs, sizeof tabs, "%d, n%d_dims, n%d_sa, n%d_sb", y->rank, k, k, k);
    ec_tpl_use(c, "b0_bcast");
    q8_templates(c);
    ec_tpl_use(c, "k_qc_binary");
    for (int j = 0; j < 8; j++) p[j] = P(c, n, j, buf[j]);
    text_buf_printf(&c->body, "    wk_qc_binary(%s, %s, %s, %s, %s, %s, %s, %s, %s, %lld, %d, %d, %d, %s);\n", p[0], p[1], p[2],
                    p[3], p[4], p[5], p[6], p[7], Y(c, n, py), (long long)rt_numel(y), n->op == RT_OP_QLINEAR_MUL,
                    a->dtype == RT_I8, y->dtype == RT_I8, tabs);
    return RT_OK;
}

/* QGemm: A, a_scale, a_zp, B, b_scale, b_zp, C?, y_scale?, y_zp?. */
static int e_qc_gemm(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *a = vin(c, n, 0), *b = vin(c, n, 3), *bs = vin(c, n, 4), *bz = vin(c, n, 5), *cc = vin(c, n, 6);
    const RtTensor *ys = vin(c, n, 7), *yz = vin(c, n, 8), *y = yval(c, n);
    if (!a || !b || !is_q8(a->dtype) || !is_q8(b->dtype) || a->rank != 2 || b->rank != 2)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "A and B must be 2-D int8 or uint8");
    int ta = rt_attr_int(n, "transA", 0) != 0, tb = rt_attr_int(n, "transB", 0) != 0;
    int64_t M = a->dims[ta], K = a->dims[1 - ta], N = b->dims[1 - tb];
    RT_TRY(scale_check(c, k, n, 1, "a_scale"));
    RT_TRY(zp_check(c, k, n, 2, a->dtype, "a_zero_point"));
    if (!bs || !bz || bs->dtype != RT_F32 || bz->dtype != b->dtype || rt_numel(bs) != rt_numel(bz) ||
        (rt_numel(bs) != 1 && rt_numel(bs) != N))
        return ec_fail(c, k, RT_ERR, "b_scale (float32) and b_zero_point (B's type) must be one value or N each");
    int64_t csm = 0, csn = 0;
    if (cc) {
        int64_t d0 = cc->rank == 2 ? cc->dims[0] : 1, d1 = cc->rank >= 1 ? cc->dims[cc->rank - 1] : 1;
        if (cc->dtype != RT_I32 || cc->rank > 2 || (d0 != 1 && d0 != M) || (d1 != 1 && d1 != N))
            return ec_fail(c, k, RT_ERR, "C must be int32 and broadcast to [M, N]");
        csm = d0 == 1 ? 0 : d1;
        csn = d1 == 1 ? 0 : 1;
    }
    if (ys) RT_TRY(scale_check(c, k, n, 7, "y_scale"));
    if (yz && (!ys || !is_q8(yz->dtype) || rt_numel(yz) != 1))
        return ec_fail(c, k, RT_ERR, "y_zero_point must be one int8 or uint8 value, with y_scale");
    if (y->dtype != (yz ? yz->dtype : RT_F32)) return ec_fail(c, k, RT_ERR, "output dtype does not follow y_zero_point");
    text_buf_printf(&c->decl, "static const wk_qc_gemm_t n%d_qg = {%lld, %lld, %lld, %d, %d, %d, %d, %d, %lld, %lld, %lld, %d, %d, ", k,
                    (long long)M, (long long)N, (long long)K, ta, tb, a->dtype == RT_I8, b->dtype == RT_I8,
                    yz && yz->dtype == RT_I8, (long long)rt_numel(bs), (long long)csm, (long long)csn, cc != NULL, yz != NULL);
    char al[48], buf[9][96], py[96];
    const char *p[9];
    ec_float_lit(al, sizeof al, rt_attr_float(n, "alpha", 1.0f));
    text_buf_printf(&c->decl, "%s};\n", al);
    q8_templates(c);
    ec_tpl_use(c, "k_qc_gemm");
    for (int j = 0; j < 9; j++) p[j] = P(c, n, j, buf[j]);
    text_buf_printf(&c->body, "    wk_qc_gemm(&n%d_qg, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s);\n", k, p[0], p[1], p[2], p[3],
                    p[4], p[5], p[6], p[7], p[8], Y(c, n, py));
    return RT_OK;
}

/* x [N, C, spatial...] or channels_last [N, spatial..., C]: N, C, the spatial sizes. */
static void qc_split(const RtTensor *x, int cl, int64_t *N, int64_t *C, int64_t *sp) {
    *N = x->dims[0];
    *C = cl ? x->dims[x->rank - 1] : x->dims[1];
    for (int d = 0; d < x->rank - 2; d++) sp[d] = x->dims[cl ? 1 + d : 2 + d];
}

/* QLinearGlobalAveragePool and QLinearAveragePool: x, x_scale, x_zp?, y_scale, y_zp?. */
static int e_qc_pool(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0);
    if (!x || !is_q8(x->dtype) || x->rank < 3) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "X must be int8 or uint8 of rank >= 3");
    RT_TRY(scale_check(c, k, n, 1, "x_scale"));
    RT_TRY(scale_check(c, k, n, 3, "y_scale"));
    RT_TRY(zp_check(c, k, n, 2, x->dtype, "x_zero_point"));
    RT_TRY(zp_check(c, k, n, 4, x->dtype, "y_zero_point"));
    int cl = rt_attr_int(n, "channels_last", 0) != 0, s = x->dtype == RT_I8;
    int64_t N, C, sp[RT_MAX_RANK];
    qc_split(x, cl, &N, &C, sp);
    char buf[5][96], py[96];
    const char *p[5];
    for (int j = 0; j < 5; j++) p[j] = P(c, n, j, buf[j]);
    q8_templates(c);
    ec_tpl_use(c, "b0_qc_at");
    if (n->op == RT_OP_QLINEAR_GLOBAL_AVERAGE_POOL) {
        ec_tpl_use(c, "k_qc_gap");
        text_buf_printf(&c->body, "    wk_qc_gap(%s, %s, %s, %s, %s, %s, %lld, %lld, %lld, %d, %d);\n", p[0], p[1], p[2], p[3], p[4],
                        Y(c, n, py), (long long)N, (long long)C, (long long)rt_shape_numel(x->rank - 2, sp), cl, s);
        return RT_OK;
    }
    if (rt_attr(n, "dilations")) return ec_fail(c, k, RT_ERR, "QLinearAveragePool has no dilations");
    int64_t include = rt_attr_int(n, "count_include_pad", 0);
    RT_TRY(ec_pool3_emit(c, k, n, sp, x->rank - 2, N * C));
    ec_tpl_use(c, "k_qc_avgpool");
    text_buf_printf(&c->body, "    wk_qc_avgpool(%s, %s, %s, %s, %s, %s, &n%d_p3, %lld, %lld, %d, %d, %d);\n", p[0], p[1], p[2],
                    p[3], p[4], Y(c, n, py), k, (long long)N, (long long)C, cl, include != 0, s);
    return RT_OK;
}

/* QLinearConcat: y_scale, y_zp, then (x, x_scale, x_zp) per input; each input copied when its
 * scale and zero point are the output's (read at run time), else requantized element by
 * element (the runtime's table holds the same values). */
static int e_qc_concat(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *y = yval(c, n), *x0 = vin(c, n, 2);
    if (n->n_in < 5 || (n->n_in - 2) % 3 != 0 || !x0 || !is_q8(x0->dtype))
        return ec_fail(c, k, RT_ERR, "needs y_scale, y_zero_point and whole (X, X_scale, X_zero_point) triples of int8/uint8");
    RT_TRY(scale_check(c, k, n, 0, "Y_scale"));
    RT_TRY(zp_check(c, k, n, 1, x0->dtype, "Y_zero_point"));
    int64_t ax = rt_attr_int(n, "axis", 0);
    if (ax < 0) ax += y->rank;
    if (ax < 0 || ax >= y->rank) return ec_fail(c, k, RT_ERR, "attribute axis is out of range");
    int64_t outer = rt_shape_numel((int)ax, y->dims), inner = rt_shape_numel(y->rank - (int)ax - 1, y->dims + ax + 1);
    int s = x0->dtype == RT_I8;
    char ps[96], pz[96], py[96];
    q8_templates(c);
    text_buf_printf(&c->body, "    {\n        unsigned char *y = (unsigned char *)%s;\n        int32_t o, j;\n", Y(c, n, py));
    int64_t off = 0;
    for (int i = 0; 2 + 3 * i < n->n_in; i++) {
        const RtTensor *x = vin(c, n, 2 + 3 * i);
        if (!x || x->dtype != x0->dtype) return ec_fail(c, k, RT_ERR, "input X %d must have X 0's dtype", i);
        RT_TRY(scale_check(c, k, n, 3 + 3 * i, "X_scale"));
        RT_TRY(zp_check(c, k, n, 4 + 3 * i, x0->dtype, "X_zero_point"));
        char px[96], pxs[96], pxz[96];
        int64_t run = x->dims[ax] * inner;
        text_buf_printf(&c->body,
                        "        {\n            const void *x = %s;\n            const float xs = %s[0], ys = %s[0];\n"
                        "            const int32_t zx = wk_seq_q8(%s, 0, %d), zy = wk_seq_q8(%s, 0, %d);\n"
                        "            for (o = 0; o < %lld; o++)\n                for (j = 0; j < %lld; j++) {\n"
                        "                    int32_t v = wk_seq_q8(x, o * %lld + j, %d);\n"
                        "                    if (xs != ys || zx != zy) v = wk_quant_f32(xs * (float)(v - zx), ys, zy, %d, %d);\n"
                        "                    y[o * %lld + %lld + j] = (unsigned char)(v & 255);\n                }\n        }\n",
                        P(c, n, 2 + 3 * i, px), P(c, n, 3 + 3 * i, pxs), P(c, n, 0, ps), P(c, n, 4 + 3 * i, pxz), s,
                        P(c, n, 1, pz), s, (long long)outer, (long long)run, (long long)run, s, s ? -128 : 0, s ? 127 : 255,
                        (long long)(y->dims[ax] * inner), (long long)off);
        off += run;
    }
    text_buf_printf(&c->body, "    }\n");
    return RT_OK;
}

/* QLinearLeakyRelu / QLinearSigmoid: x, x_scale, x_zp?, y_scale, y_zp?; each element
 * dequantized, f applied in float32, requantized (the runtime's 256-entry table holds the
 * same values). */
static int e_qc_unary(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0);
    int sig = n->op == RT_OP_QLINEAR_SIGMOID;
    if (!x || !is_q8(x->dtype)) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "X must be int8 or uint8");
    if (sig && c->o->no_libm)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "QLinearSigmoid needs libm's expf to match the runtime (not with --no-libm)");
    RT_TRY(scale_check(c, k, n, 1, "X_scale"));
    RT_TRY(scale_check(c, k, n, 3, "Y_scale"));
    RT_TRY(zp_check(c, k, n, 2, x->dtype, "X_zero_point"));
    RT_TRY(zp_check(c, k, n, 4, x->dtype, "Y_zero_point"));
    int s = x->dtype == RT_I8;
    char al[48], buf[5][96], py[96], f[160];
    const char *p[5];
    ec_float_lit(al, sizeof al, rt_attr_float(n, "alpha", 0.01f));
    for (int j = 0; j < 5; j++) p[j] = P(c, n, j, buf[j]);
    if (sig) snprintf(f, sizeof f, "1.0f / (1.0f + expf(-d))");
    else snprintf(f, sizeof f, "d >= 0.0f ? d : %s * d", al);
    q8_templates(c);
    text_buf_printf(&c->body,
                    "    {\n        unsigned char *y = (unsigned char *)%s;\n        const float xs = %s[0], ys = %s[0];\n"
                    "        const int32_t zx = wk_seq_q8(%s, 0, %d), zy = wk_seq_q8(%s, 0, %d);\n        int32_t i;\n"
                    "        for (i = 0; i < %lld; i++) {\n            float d = xs * (float)(wk_seq_q8(%s, i, %d) - zx);\n"
                    "            y[i] = (unsigned char)(wk_quant_f32(%s, ys, zy, %d, %d) & 255);\n        }\n    }\n",
                    Y(c, n, py), p[1], p[3], p[2], s, p[4], s, (long long)rt_numel(x), p[0], s, f, s ? -128 : 0,
                    s ? 127 : 255);
    return RT_OK;
}

const EcOpEntry ec_ops_qcontrib[] = {
    {RT_OP_QLINEAR_ADD, e_qc_binary},
    {RT_OP_QLINEAR_MUL, e_qc_binary},
    {RT_OP_QGEMM, e_qc_gemm},
    {RT_OP_QLINEAR_GLOBAL_AVERAGE_POOL, e_qc_pool},
    {RT_OP_QLINEAR_AVERAGE_POOL, e_qc_pool},
    {RT_OP_QLINEAR_CONCAT, e_qc_concat},
    {RT_OP_QLINEAR_LEAKY_RELU, e_qc_unary},
    {RT_OP_QLINEAR_SIGMOID, e_qc_unary},
    {0, NULL},
};
