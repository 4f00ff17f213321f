/*
 * emit_ops_tensor_layers.c — emit-c's Gemm, ConvTranspose, Det, LRN and MaxUnpool (tensor
 * family; the table is in emit_ops_tensor.c). Each is a loop written inline in NAME_run with
 * the element type substituted, mirroring the runtime's reference kernel (ref/linalg.c,
 * ref/conv.c, ref/int_misc.c, ref/misc_ops.c): float and double accumulate in their own
 * type (Det and LRN in double), integer Gemm wraps in 64 bits. Geometry (ConvTranspose's
 * pads from output_shape / auto_pad) is worked out here with the runtime's formulas.
 */
#include "emit_ops_tensor.h"

/* ---------------------------------------------------------------- Gemm */

/* C's strides (cs[2], 0 along broadcast axes) over Y [M, N]. */
static int gemm_c_strides(EcCtx *c, int k, const RtTensor *cc, int64_t M, int64_t N, int64_t *cs) {
    int64_t dims[2] = {M, N}, s = 1;
    for (int i = 1; i >= 0; i--) {
        int ic = i - (2 - cc->rank);
        int64_t d = ic >= 0 ? cc->dims[ic] : 1;
        if (d != 1 && d != dims[i]) return ec_fail(c, k, RT_ERR, "input C does not broadcast to [M, N]");
        cs[i] = d == 1 ? 0 : s;
        s *= d;
    }
    return RT_OK;
}

/* The integer result's store from the uint64 sum acc: exact (wrapping) when alpha = 1 and
 * (no C or beta = 1), else through double saturating as the runtime's store_i_from_f (at the
 * int64 range, the uint64 range for uint64). ic is C's element, or NULL. */
static void gemm_int_store_emit(EcCtx *c, RtDtype t, float alpha, float beta, const char *ic, int64_t N) {
    const char *ct = ec_ctype(t);
    const char *ut = utype_of(rt_dtype_size(t));
    if (alpha == 1.0f && (!ic || beta == 1.0f)) {
        text_buf_printf(&c->body, "                y[(size_t)m * %lld + j] = (%s)(%s)(acc%s%s);\n", (long long)N, ct,
                        ut, ic ? " + (uint64_t)(int64_t)" : "", ic ? ic : "");
        return;
    }
    char cterm[192] = "";
    if (ic) snprintf(cterm, sizeof cterm, " + %a * (double)(int64_t)%s", (double)beta, ic);
    text_buf_printf(
        &c->body,
        "                double r = %a * (double)(int64_t)acc%s;\n"
        "                int64_t v = r != r ? 0 : r >= 9.2e18 ? INT64_MAX : r <= -9.2e18 ? INT64_MIN : (int64_t)r;\n",
        (double)alpha, cterm);
    if (t == RT_U64)
        text_buf_printf(&c->body,
                        "                y[(size_t)m * %lld + j] = r >= 9.2e18 ? (r >= 1.8e19 ? UINT64_MAX : "
                        "(uint64_t)r) : (uint64_t)v;\n",
                        (long long)N);
    else
        text_buf_printf(&c->body, "                y[(size_t)m * %lld + j] = (%s)(%s)(uint64_t)v;\n", (long long)N, ct,
                        ut);
}

/* Gemm: Y = alpha op(A) op(B) + beta C, C broadcast to [M, N] (runtime's k_gemm): a dot
 * product per output element, float and double accumulating in their type, integers in
 * 64-bit wrapping arithmetic (gemm_int_store_emit). */
int ect_gemm(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *a = vin(c, n, 0), *b = vin(c, n, 1), *cc = vin(c, n, 2), *y = yval(c, n);
    const char *ct;
    RT_TRY(ctype_of(c, k, a, "A", &ct));
    if (!b || b->dtype != a->dtype || (cc && cc->dtype != a->dtype))
        return ec_fail(c, k, RT_ERR, "inputs must share one dtype");
    if (a->rank != 2 || b->rank != 2) return ec_fail(c, k, RT_ERR, "inputs A and B must be 2-D");
    if (a->dtype == RT_BOOL) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "bool Gemm is not supported");
    int ta = rt_attr_int(n, "transA", 0) != 0, tb = rt_attr_int(n, "transB", 0) != 0;
    int64_t M = y->dims[0], N = y->dims[1], K = a->dims[!ta], cs[2] = {0, 0};
    float alpha = rt_attr_float(n, "alpha", 1.0f), beta = rt_attr_float(n, "beta", 1.0f);
    int use_c = cc && beta != 0.0f, fl = a->dtype == RT_F32 || a->dtype == RT_F64;
    if (use_c) RT_TRY(gemm_c_strides(c, k, cc, M, N, cs));
    if (rt_numel(y) == 0) return RT_OK;
    char p0[96], p1[96], p2[96], py[96], al[64], be[64], ia[96], ib[96], ic[96];
    if (a->dtype == RT_F64)
        snprintf(al, sizeof al, "%a", (double)alpha), snprintf(be, sizeof be, "%a", (double)beta);
    else
        ec_float_lit(al, sizeof al, alpha), ec_float_lit(be, sizeof be, beta);
    snprintf(ia, sizeof ia, ta ? "(size_t)q * %lld + m" : "(size_t)m * %lld + q", (long long)a->dims[1]);
    snprintf(ib, sizeof ib, tb ? "(size_t)j * %lld + q" : "(size_t)q * %lld + j", (long long)b->dims[1]);
    snprintf(ic, sizeof ic, "cc[(size_t)m * %lld + (size_t)j * %lld]", (long long)cs[0], (long long)cs[1]);
    text_buf_printf(&c->body,
                    "    {\n        const %s *a = %s, *b = %s;\n        %s *y = %s;\n        int32_t m, j, q;\n", ct,
                    P(c, n, 0, p0), P(c, n, 1, p1), ct, Y(c, n, py));
    if (use_c) text_buf_printf(&c->body, "        const %s *cc = %s;\n", ct, P(c, n, 2, p2));
    text_buf_printf(&c->body, "        for (m = 0; m < %lld; m++)\n            for (j = 0; j < %lld; j++) {\n",
                    (long long)M, (long long)N);
    if (fl)
        text_buf_printf(
            &c->body,
            "                %s acc = 0;\n                for (q = 0; q < %lld; q++) acc += a[%s] * b[%s];\n"
            "                y[(size_t)m * %lld + j] = %s * acc%s%s%s%s;\n",
            ct, (long long)K, ia, ib, (long long)N, al, use_c ? " + " : "", use_c ? be : "", use_c ? " * " : "",
            use_c ? ic : "");
    else {
        text_buf_printf(&c->body,
                        "                uint64_t acc = 0;\n                for (q = 0; q < %lld; q++)\n"
                        "                    acc += (uint64_t)(int64_t)a[%s] * (uint64_t)(int64_t)b[%s];\n",
                        (long long)K, ia, ib);
        gemm_int_store_emit(c, a->dtype, alpha, beta, use_c ? ic : NULL, N);
    }
    text_buf_printf(&c->body, "            }\n    }\n");
    return RT_OK;
}

/* ---------------------------------------------------------------- ConvTranspose */

/* ConvTranspose's geometry, normalized to 3 spatial axes [D, H, W] (leading ones 1). */
typedef struct {
    int64_t in[3], out[3], kk[3]; /* input, output and kernel sizes */
    int64_t st[3], dl[3], p0[3];  /* strides, dilations, padding before the first element */
} CtGeom;

/* The runtime's convt_geom: pad0 per axis from pads, or from output_shape / auto_pad SAME
 * (total = natural size - wanted size, floor-halved; SAME_UPPER puts the odd unit at the
 * end), 0 for VALID. The output sizes are y's (shape inference). */
static int convt_geom(EcCtx *c, int k, const RtNode *n, const RtTensor *x, const RtTensor *w, const RtTensor *y,
                      CtGeom *G) {
    int nsp = x->rank - 2;
    const char *ap = rt_attr_str(n, "auto_pad", "NOTSET");
    int same_upper = strcmp(ap, "SAME_UPPER") == 0, same_lower = strcmp(ap, "SAME_LOWER") == 0;
    int valid = strcmp(ap, "VALID") == 0;
    const int64_t *oshape;
    int nos = rt_attr_ints(n, "output_shape", &oshape);
    if (nos == nsp + 2)
        oshape += 2;
    else if (nos >= 0 && nos != nsp)
        return ec_fail(c, k, RT_ERR, "attribute output_shape has %d values", nos);
    for (int a = 0; a < 3; a++) G->in[a] = G->out[a] = G->kk[a] = G->st[a] = G->dl[a] = 1, G->p0[a] = 0;
    for (int i = 0; i < nsp; i++) {
        int a = 3 - nsp + i;
        G->in[a] = x->dims[2 + i], G->out[a] = y->dims[2 + i], G->kk[a] = w->dims[2 + i];
        G->st[a] = attr_at(n, "strides", i, 1), G->dl[a] = attr_at(n, "dilations", i, 1);
        G->p0[a] = valid ? 0 : attr_at(n, "pads", i, 0);
        if (nos >= 0 || same_upper || same_lower) {
            int64_t full =
                G->st[a] * (G->in[a] - 1) + attr_at(n, "output_padding", i, 0) + (G->kk[a] - 1) * G->dl[a] + 1;
            int64_t want = nos >= 0 ? oshape[i] : G->in[a] * G->st[a], total = full - want;
            int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
            G->p0[a] = same_upper ? half : total - half;
        }
    }
    return RT_OK;
}

/* ConvTranspose (runtime's conv.c, convt_geom): 1-D to 3-D, normalized to [D, H, W]. Each
 * input element adds x * w into the output positions its kernel taps reach:
 * o = i * stride - pad0 + t * dilation. pad0 per axis from pads, or from output_shape /
 * auto_pad SAME (the total padding's odd unit at the end for SAME_UPPER), 0 for VALID. */
int ect_conv_transpose(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *w = vin(c, n, 1), *b = vin(c, n, 2), *y = yval(c, n);
    const char *ct;
    RT_TRY(ctype_of(c, k, x, "X", &ct));
    if (x->dtype != RT_F32 && x->dtype != RT_F64)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "X must be float32 or float64");
    if (!w || w->dtype != x->dtype || (b && b->dtype != x->dtype))
        return ec_fail(c, k, RT_ERR, "W and B must have X's dtype");
    int nsp = x->rank - 2;
    if (nsp < 1 || nsp > 3 || w->rank != x->rank)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "emit-c's ConvTranspose takes 1-D to 3-D");
    int64_t group = rt_attr_int(n, "group", 1), N = x->dims[0], C = x->dims[1], Mg = w->dims[1], M = Mg * group;
    if (group < 1 || C % group)
        return ec_fail(c, k, RT_ERR, "channels %lld are not divisible by group %lld", (long long)C, (long long)group);
    CtGeom G;
    RT_TRY(convt_geom(c, k, n, x, w, y, &G));
    const int64_t *in = G.in, *out = G.out, *kk = G.kk, *st = G.st, *dl = G.dl, *p0 = G.p0;
    if (rt_numel(y) == 0) {
        text_buf_printf(&c->body, "    /* node %d: empty output */\n", k);
        return RT_OK;
    }
    int64_t Cg = C / group, K = kk[0] * kk[1] * kk[2], Pn = out[0] * out[1] * out[2], Pin = in[0] * in[1] * in[2];
    char px[96], pw[96], pb[96], py[96];
    text_buf_printf(&c->body,
                    "    {\n        const %s *x = %s, *w = %s;\n        %s *y = %s;\n"
                    "        int32_t im, g, ci, co, i0, i1, i2, t0, t1, t2, o0, o1, o2, p;\n",
                    ct, P(c, n, 0, px), P(c, n, 1, pw), ct, Y(c, n, py));
    if (b) text_buf_printf(&c->body, "        const %s *bias = %s;\n", ct, P(c, n, 2, pb));
    text_buf_printf(&c->body,
                    "        for (im = 0; im < %lld; im++)\n            for (co = 0; co < %lld; co++)\n"
                    "                for (p = 0; p < %lld; p++) y[((size_t)im * %lld + co) * %lld + p] = %s;\n",
                    (long long)N, (long long)M, (long long)Pn, (long long)M, (long long)Pn, b ? "bias[co]" : "0");
    text_buf_printf(
        &c->body,
        "        for (im = 0; im < %lld; im++)\n"
        "            for (g = 0; g < %lld; g++)\n"
        "                for (ci = g * %lld; ci < (g + 1) * %lld; ci++)\n"
        "                    for (i0 = 0; i0 < %lld; i0++)\n"
        "                        for (i1 = 0; i1 < %lld; i1++)\n"
        "                            for (i2 = 0; i2 < %lld; i2++) {\n"
        "                                %s v = x[((size_t)im * %lld + ci) * %lld + ((size_t)i0 * %lld + i1) * %lld"
        " + i2];\n"
        "                                for (co = 0; co < %lld; co++) {\n"
        "                                    const %s *wk = w + ((size_t)ci * %lld + co) * %lld;\n"
        "                                    %s *yo = y + ((size_t)im * %lld + g * %lld + co) * %lld;\n",
        (long long)N, (long long)group, (long long)Cg, (long long)Cg, (long long)in[0], (long long)in[1],
        (long long)in[2], ct, (long long)C, (long long)Pin, (long long)in[1], (long long)in[2], (long long)Mg, ct,
        (long long)Mg, (long long)K, ct, (long long)M, (long long)Mg, (long long)Pn);
    text_buf_printf(
        &c->body,
        "                                    for (t0 = 0; t0 < %lld; t0++) {\n"
        "                                        o0 = i0 * %lld - %lld + t0 * %lld;\n"
        "                                        if (o0 < 0 || o0 >= %lld) continue;\n"
        "                                        for (t1 = 0; t1 < %lld; t1++) {\n"
        "                                            o1 = i1 * %lld - %lld + t1 * %lld;\n"
        "                                            if (o1 < 0 || o1 >= %lld) continue;\n"
        "                                            for (t2 = 0; t2 < %lld; t2++) {\n"
        "                                                o2 = i2 * %lld - %lld + t2 * %lld;\n"
        "                                                if (o2 < 0 || o2 >= %lld) continue;\n"
        "                                                yo[((size_t)o0 * %lld + o1) * %lld + o2] += v * wk[(t0 *"
        " %lld + t1) * %lld + t2];\n"
        "                                            }\n                                        }\n"
        "                                    }\n                                }\n                            }\n"
        "    }\n",
        (long long)kk[0], (long long)st[0], (long long)p0[0], (long long)dl[0], (long long)out[0], (long long)kk[1],
        (long long)st[1], (long long)p0[1], (long long)dl[1], (long long)out[1], (long long)kk[2], (long long)st[2],
        (long long)p0[2], (long long)dl[2], (long long)out[2], (long long)out[1], (long long)out[2], (long long)kk[1],
        (long long)kk[2]);
    return RT_OK;
}

/* ---------------------------------------------------------------- MaxUnpool, Det, LRN */

/* MaxUnpool: y (shape from inference: output_shape or the pool's inverse) zeroed, then each
 * x element written at its flat index I (outside y: NAME_run returns 1). */
int ect_max_unpool(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *ind = vin(c, n, 1), *y = yval(c, n);
    const char *ct;
    RT_TRY(ctype_of(c, k, x, "X", &ct));
    if (!ind || ind->dtype != RT_I64 || !rt_shape_equal(ind, x))
        return ec_fail(c, k, RT_ERR, "input I must be int64 of X's shape");
    char p0[96], p1[96], py[96];
    text_buf_printf(
        &c->body,
        "    {\n        const %s *x = %s;\n        const int64_t *ind = %s;\n        %s *y = %s;\n        int32_t j;\n"
        "        for (j = 0; j < %lld; j++)\n"
        "            if (ind[j] < 0 || ind[j] >= %lld) return 1; /* index outside Y */\n"
        "        memset(y, 0, %lld);\n        for (j = 0; j < %lld; j++) y[ind[j]] = x[j];\n    }\n",
        ct, P(c, n, 0, p0), P(c, n, 1, p1), ct, Y(c, n, py), (long long)rt_numel(x), (long long)rt_numel(y),
        (long long)rt_nbytes(y), (long long)rt_numel(x));
    return RT_OK;
}

/* Det: Gaussian elimination with partial pivoting in double per matrix (the runtime's
 * k_det), the matrix copied into arena scratch. */
int ect_det(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0);
    const char *ct;
    RT_TRY(ctype_of(c, k, x, "X", &ct));
    if (x->dtype != RT_F32 && x->dtype != RT_F64)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "input X must be float32 or float64");
    if (x->rank < 2 || x->dims[x->rank - 1] != x->dims[x->rank - 2])
        return ec_fail(c, k, RT_ERR, "input X must be [..., M, M]");
    int64_t M = x->dims[x->rank - 1], batch = rt_shape_numel(x->rank - 2, x->dims);
    if (batch == 0) return RT_OK;
    char p0[96], py[96];
    /* the matrix size as a constant of the block: M below is the C's */
    text_buf_printf(&c->body,
                    "    {\n        const %s *x = %s;\n        %s *y = %s;\n        const int32_t M = %lld;\n"
                    "        double *a = (double *)(void *)(A + %lld), det, piv, f, t;\n"
                    "        int32_t b, i, j, q, p;\n",
                    ct, P(c, n, 0, p0), ct, Y(c, n, py), (long long)M, (long long)c->scratch_off[k]);
    text_buf_printf(&c->body,
                    "        for (b = 0; b < %lld; b++) {\n"
                    "            for (i = 0; i < M * M; i++) a[i] = x[(size_t)b * M * M + i];\n"
                    "            det = 1.0;\n"
                    "            for (q = 0; q < M; q++) {\n"
                    "                p = q; /* pivot: the largest magnitude at or below the diagonal */\n"
                    "                for (i = q + 1; i < M; i++)\n"
                    "                    if ((a[i * M + q] < 0 ? -a[i * M + q] : a[i * M + q]) >\n"
                    "                        (a[p * M + q] < 0 ? -a[p * M + q] : a[p * M + q]))\n"
                    "                        p = i;\n"
                    "                if (a[p * M + q] == 0.0) {\n"
                    "                    det = 0.0;\n"
                    "                    break;\n"
                    "                }\n"
                    "                if (p != q) {\n"
                    "                    for (j = 0; j < M; j++) {\n"
                    "                        t = a[q * M + j];\n"
                    "                        a[q * M + j] = a[p * M + j];\n"
                    "                        a[p * M + j] = t;\n"
                    "                    }\n"
                    "                    det = -det;\n"
                    "                }\n"
                    "                piv = a[q * M + q];\n"
                    "                det *= piv;\n"
                    "                for (i = q + 1; i < M; i++) {\n"
                    "                    f = a[i * M + q] / piv;\n"
                    "                    for (j = q + 1; j < M; j++) a[i * M + j] -= f * a[q * M + j];\n"
                    "                }\n"
                    "            }\n"
                    "            y[b] = (%s)det;\n"
                    "        }\n    }\n",
                    (long long)batch, ct);
    return RT_OK;
}

/* LRN: x / (bias + alpha / size * sum of squares over the channel window)^beta in double
 * (the runtime's k_lrn); needs pow, so refused under --no-libm. */
int ect_lrn(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0);
    const char *ct;
    RT_TRY(ctype_of(c, k, x, "X", &ct));
    if (x->dtype != RT_F32 && x->dtype != RT_F64)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "input X must be float32 or float64");
    if (x->rank < 2) return ec_fail(c, k, RT_ERR, "input X must have rank >= 2");
    if (c->o->no_libm) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "LRN needs pow from libm; not emitted with --no-libm");
    int64_t size = rt_attr_int(n, "size", 0);
    if (size < 1) return ec_fail(c, k, RT_ERR, "attribute size must be >= 1");
    double alpha = rt_attr_float(n, "alpha", 1e-4f), beta = rt_attr_float(n, "beta", 0.75f),
           bias = rt_attr_float(n, "bias", 1.0f);
    int64_t N = x->dims[0], C = x->dims[1], S = rt_shape_numel(x->rank - 2, x->dims + 2), lo = (size - 1) / 2,
            hi = size - 1 - lo;
    if (rt_numel(x) == 0) return RT_OK;
    char p0[96], py[96];
    text_buf_printf(
        &c->body,
        "    {\n        const %s *x = %s;\n        %s *y = %s;\n        int32_t b, ch, p, q, c0, c1;\n"
        "        double sq, v;\n"
        "        for (b = 0; b < %lld; b++)\n            for (ch = 0; ch < %lld; ch++)\n"
        "                for (p = 0; p < %lld; p++) {\n"
        "                    c0 = ch - %lld < 0 ? 0 : ch - %lld;\n"
        "                    c1 = ch + %lld > %lld ? %lld : ch + %lld;\n"
        "                    sq = 0;\n                    for (q = c0; q <= c1; q++) {\n"
        "                        v = x[((size_t)b * %lld + q) * %lld + p];\n                        sq += v * v;\n"
        "                    }\n"
        "                    y[((size_t)b * %lld + ch) * %lld + p] = (%s)(x[((size_t)b * %lld + ch) * %lld + p] /"
        " pow(%a + %a / %lld.0 * sq, %a));\n"
        "                }\n    }\n",
        ct, P(c, n, 0, p0), ct, Y(c, n, py), (long long)N, (long long)C, (long long)S, (long long)lo, (long long)lo,
        (long long)hi, (long long)(C - 1), (long long)(C - 1), (long long)hi, (long long)C, (long long)S, (long long)C,
        (long long)S, ct, (long long)C, (long long)S, bias, alpha, (long long)size, beta);
    return RT_OK;
}
