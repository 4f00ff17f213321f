/*
 * emit_ops_math_binary.c — emit-c's broadcasting element-wise ops of two or more operands:
 * Add, Sub, Mul, Div, Mod, PRelu, the comparisons, And/Or/Xor, BitShift, Bitwise{And,Or,Xor},
 * Pow, Where, and the variadic Max, Min, Sum, Mean.
 *
 * Each is a C expression of x0 and x1 (the runtime's row expressions in
 * runtime/kernels/ref/binary.c, dtype for dtype) in ec_math_loop's body. Integer arithmetic
 * goes through the unsigned wrap type W and back (numpy's modular results, no signed
 * overflow); Div and Mod guard x / -1 (INT_MIN / -1 traps in C); an integer divisor read at
 * run time is scanned for 0 before the loop and NAME_run returns 1 if one is found (the
 * runtime refuses such a division; C would be undefined). The variadic ops fold left to
 * right in the element type (out = in0 op in1, then op in2 ...) as the runtime does, so float
 * sums round the same way; Mean divides by the count at the end.
 */
#include "emit_ops_math.h"

/* Pre-loop scan of a run-time integer divisor (input 1): NAME_run returns 1 on a zero. */
static void divisor_scan(EcCtx *c, const RtNode *n, char *pre, size_t len) {
    const RtTensor *b = vin(c, n, 1);
    pre[0] = '\0';
    if (ec_math_kind(b->dtype) == 'f' || kin(c, n, 1)) return; /* a zero constant fails at emit time */
    snprintf(
        pre, len,
        "        for (i = 0; i < %lld; i++)\n            if (x1[i] == 0) return 1; /* integer division by zero */\n",
        (long long)rt_numel(b));
}

static int dtype_refuse(EcCtx *c, int k, RtDtype dt, const char *input) {
    return ec_fail(c, k, RT_ERR_UNSUPPORTED, "dtype %s is not supported for input '%s'", rt_dtype_name(dt), input);
}

/* The expression of a0 (A) and a1 (B) for node n on dtype dt into f. */
static int binary_expr(EcCtx *c, int k, const RtNode *n, RtDtype dt, char *f, size_t len) {
    int kind = ec_math_kind(dt), isint = kind == 's' || kind == 'u';
    const char *T = ec_ctype(dt), *W = ec_math_wrap(dt), *cmp = NULL;
    const char *arith = n->op == RT_OP_ADD ? "+" : n->op == RT_OP_SUB ? "-" : n->op == RT_OP_MUL ? "*" : NULL;
    if (arith) {
        if (kind == 'f') snprintf(f, len, "a0 %s a1", arith);
        else if (isint) snprintf(f, len, "(%s)((%s)a0 %s (%s)a1)", T, W, arith, W);
        else return dtype_refuse(c, k, dt, "A");
        return RT_OK;
    }
    switch (n->op) {
    case RT_OP_DIV:
        if (kind == 'f') snprintf(f, len, "a0 / a1");
        else if (kind == 's') snprintf(f, len, "(a1 == -1 ? (%s)(0 - (%s)a0) : (%s)(a0 / a1))", T, W, T);
        else if (kind == 'u') snprintf(f, len, "(%s)(a0 / a1)", T);
        else return dtype_refuse(c, k, dt, "A");
        return RT_OK;
    case RT_OP_MOD: {
        int64_t fm = rt_attr_int(n, "fmod", 0);
        if (fm != 0 && fm != 1)
            return ec_fail(c, k, RT_ERR, "attribute 'fmod' is %lld; expected 0 or 1", (long long)fm);
        if (kind == 'f') {
            if (!fm) return ec_fail(c, k, RT_ERR, "Mod on %s needs fmod=1 (fmod=0 is for integers)", rt_dtype_name(dt));
            if (dt == RT_F32) {
                snprintf(f, len, "wk_fmodf(a0, a1)");
                ec_tpl_use(c, "b0_math_fmodf");
            } else {
                RT_TRY(ec_math_libm(c, k, "Mod on float64 (fmod)"));
                snprintf(f, len, "fmod(a0, a1)");
            }
        } else if (kind == 's' && fm) {
            snprintf(f, len, "(%s)(a1 == -1 ? 0 : a0 %% a1)", T);
        } else if (kind == 's') {
            snprintf(f, len, "(%s)wk_pymod((int64_t)a0, (int64_t)a1)", T);
            ec_tpl_use(c, "b0_math_pymod");
        } else if (kind == 'u') {
            snprintf(f, len, "(%s)(a0 %% a1)", T);
        } else {
            return dtype_refuse(c, k, dt, "A");
        }
        return RT_OK;
    }
    case RT_OP_PRELU: /* slope where x < 0; unsigned x is never negative */
        if (kind == 'f') snprintf(f, len, "(a0 < 0 ? a0 * a1 : a0)");
        else if (kind == 's') snprintf(f, len, "(a0 < 0 ? (%s)((%s)a0 * (%s)a1) : a0)", T, W, W);
        else if (kind == 'u') snprintf(f, len, "a0");
        else return dtype_refuse(c, k, dt, "X");
        return RT_OK;
    case RT_OP_EQUAL: cmp = "=="; break;
    case RT_OP_LESS: cmp = "<"; break;
    case RT_OP_LESS_OR_EQUAL: cmp = "<="; break;
    case RT_OP_GREATER: cmp = ">"; break;
    case RT_OP_GREATER_OR_EQUAL: cmp = ">="; break;
    case RT_OP_AND: case RT_OP_OR: case RT_OP_XOR:
        if (kind != 'b') return dtype_refuse(c, k, dt, "A");
        snprintf(f, len, "%s",
                 n->op == RT_OP_AND  ? "(uint8_t)(a0 && a1)"
                 : n->op == RT_OP_OR ? "(uint8_t)(a0 || a1)"
                                     : "(uint8_t)(!a0 != !a1)");
        return RT_OK;
    case RT_OP_BITWISE_AND: case RT_OP_BITWISE_OR: case RT_OP_BITWISE_XOR:
        if (!isint)
            return ec_fail(c, k, RT_ERR, "input X has dtype %s; bitwise ops take int8..int64 and uint8..uint64",
                           rt_dtype_name(dt));
        snprintf(f, len, "(%s)((%s)a0 %s (%s)a1)", T, W,
                 n->op == RT_OP_BITWISE_AND  ? "&"
                 : n->op == RT_OP_BITWISE_OR ? "|"
                                             : "^",
                 W);
        return RT_OK;
    case RT_OP_BIT_SHIFT: { /* a shift by the width or more gives 0 (the runtime's) */
        const char *dir = rt_attr_str(n, "direction", NULL);
        if (!dir || (strcmp(dir, "LEFT") != 0 && strcmp(dir, "RIGHT") != 0))
            return ec_fail(c, k, RT_ERR, "attribute 'direction' must be LEFT or RIGHT");
        if (kind != 'u')
            return ec_fail(c, k, RT_ERR, "input 'X' must be uint8, uint16, uint32 or uint64, got %s",
                           rt_dtype_name(dt));
        snprintf(f, len, "(a1 >= %d ? (%s)0 : (%s)((%s)a0 %s a1))", (int)rt_dtype_size(dt) * 8, T, T, W,
                 dir[0] == 'L' ? "<<" : ">>");
        return RT_OK;
    }
    default: return ec_fail(c, k, RT_ERR_UNSUPPORTED, "no emit-c loop for this op");
    }
    /* comparisons: every numeric dtype, Equal also bool */
    if (!kind || (kind == 'b' && n->op != RT_OP_EQUAL)) return dtype_refuse(c, k, dt, "A");
    snprintf(f, len, "(uint8_t)(a0 %s a1)", cmp);
    return RT_OK;
}

int ec_math_binary(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *a = vin(c, n, 0), *b = vin(c, n, 1);
    const char *na = n->op == RT_OP_PRELU ? "X" : "A", *nb = n->op == RT_OP_PRELU ? "slope" : "B";
    if (!a || !b) return ec_fail(c, k, RT_ERR, "inputs '%s' and '%s' are required", na, nb);
    if (rt_attr_int(n, "broadcast", 0) != 0)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "attribute 'broadcast'=1 (opset < 7 broadcasting) is not emitted");
    if (a->dtype != b->dtype)
        return ec_fail(c, k, RT_ERR, "inputs '%s' (%s) and '%s' (%s) must have the same dtype", na,
                       rt_dtype_name(a->dtype), nb, rt_dtype_name(b->dtype));
    if (!ec_ctype(a->dtype))
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "dtype %s has no C type in emit-c", rt_dtype_name(a->dtype));
    char f[512], body[600], pre[256] = "";
    RT_TRY(binary_expr(c, k, n, a->dtype, f, sizeof f));
    if (n->op == RT_OP_DIV || n->op == RT_OP_MOD) divisor_scan(c, n, pre, sizeof pre);
    snprintf(body, sizeof body, "y[i] = %s;", f);
    return ec_math_loop_n(c, k, n, 2, pre, body);
}

/* Pow of float32 without libm by the exponents exported models use (x^2 of a decomposed
 * LayerNorm or variance, x^0.5, x^-1): a constant scalar integer n in [-16, 16] is |n| - 1
 * multiplications (a few ulps from powf's correctly rounded result for |n| > 2; x^0 = 1
 * even for NaN, as pow), 0.5 is sqrt with pow's edge cases (pow(-0, 0.5) = +0,
 * pow(-inf, 0.5) = +inf). 0 when the exponent is anything else. */
static int pow_nolibm(EcCtx *c, const RtNode *n, char *body, size_t len) {
    const RtTensor *e = kin(c, n, 1);
    double v;
    if (!e || rt_numel(e) != 1) return 0;
    switch (e->dtype) {
    case RT_F32: v = ((const float *)e->data)[0]; break;
    case RT_F64: v = ((const double *)e->data)[0]; break;
    case RT_I32: v = ((const int32_t *)e->data)[0]; break;
    case RT_I64: v = (double)((const int64_t *)e->data)[0]; break;
    default: return 0;
    }
    if (v == 0.5) {
        ec_tpl_use(c, "b1_math_sqrt");
        ec_tpl_use(c, "b0_rsqrt");
        snprintf(body, len, "y[i] = a0 == -HUGE_VALF ? HUGE_VALF : wk_sqrtf(a0) + 0.0f;");
        return 1;
    }
    if (!(v >= -16 && v <= 16) || v != (double)(int)v) return 0;
    int p = (int)(v < 0 ? -v : v);
    char prod[256] = "1.0f";
    for (int i = 0; i < p; i++) {
        size_t l = strlen(prod);
        snprintf(prod + (i ? l : 0), sizeof prod - (i ? l : 0), "%sa0", i ? " * " : "");
    }
    snprintf(body, len, "y[i] = %s(%s);", v < 0 ? "1.0f / " : "", prod);
    return 1;
}

/* Pow: base float32/float64/int32/int64; the exponent converted per element as the runtime
 * converts it once (pow_exponent_dtype): to the base's float type, or for integer bases to
 * int64 (exact wrapping power) or to double (a fractional exponent, saturated back). */
int ec_math_pow(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *e = vin(c, n, 1);
    if (!x || !e) return ec_fail(c, k, RT_ERR, "inputs 'X' and 'Y' are required");
    if (rt_attr_int(n, "broadcast", 0) != 0)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "attribute 'broadcast'=1 (opset < 7 broadcasting) is not emitted");
    int ek = ec_math_kind(e->dtype);
    if (!ek || ek == 'b') return dtype_refuse(c, k, e->dtype, "Y");
    const char *lo, *hi;
    char body[400];
    switch (x->dtype) {
    case RT_F32:
        if (c->o->no_libm && pow_nolibm(c, n, body, sizeof body)) break;
        snprintf(body, sizeof body, "y[i] = wk_powf(a0, %s);",
                 e->dtype == RT_F32 ? "a1" : ek == 'f' ? "(float)a1" : "(float)(double)a1");
        ec_tpl_use(c, "b1_math_powf");
        break;
    case RT_F64:
        RT_TRY(ec_math_libm(c, k, "Pow on floats (pow)"));
        snprintf(body, sizeof body, "y[i] = pow(a0, (double)a1);");
        break;
    case RT_I32: case RT_I64:
        if (ek == 'f') {
            RT_TRY(ec_math_libm(c, k, "Pow of an integer by a float exponent"));
            ec_math_limits(x->dtype, &lo, &hi);
            snprintf(body, sizeof body, "y[i] = (%s)wk_sat_i64(pow((double)a0, (double)a1), %s, %s);",
                     ec_ctype(x->dtype), lo, hi);
            ec_tpl_use(c, "b0_math_sati64");
        } else {
            snprintf(body, sizeof body, "y[i] = (%s)wk_ipow((int64_t)a0, (int64_t)a1);", ec_ctype(x->dtype));
            ec_tpl_use(c, "b0_math_ipow");
        }
        break;
    default: return dtype_refuse(c, k, x->dtype, "X");
    }
    return ec_math_loop_n(c, k, n, 2, NULL, body);
}

/* Where: y = cond ? X : Y over the broadcast of the three; any dtype with a C type. */
int ec_math_where(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *cd = vin(c, n, 0), *a = vin(c, n, 1), *b = vin(c, n, 2);
    if (!cd || !a || !b) return ec_fail(c, k, RT_ERR, "inputs 'condition', 'X' and 'Y' are required");
    if (cd->dtype != RT_BOOL) return dtype_refuse(c, k, cd->dtype, "condition");
    if (a->dtype != b->dtype)
        return ec_fail(c, k, RT_ERR, "inputs 'X' (%s) and 'Y' (%s) must have the same dtype", rt_dtype_name(a->dtype),
                       rt_dtype_name(b->dtype));
    return ec_math_loop_n(c, k, n, 3, NULL, "y[i] = a0 ? a1 : a2;");
}

/* Max, Min (every numeric dtype; a NaN operand wins), Sum, Mean (float32, float64). */
int ec_math_variadic(EcCtx *c, int k, const RtNode *n) {
    int m = n->n_in;
    if (m < 1) return ec_fail(c, k, RT_ERR, "needs at least one input");
    if (m > MATH_MAX_OPS)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "has %d inputs; at most %d are supported", m, MATH_MAX_OPS);
    const RtTensor *x0 = vin(c, n, 0);
    for (int j = 0; j < m; j++) {
        const RtTensor *t = vin(c, n, j);
        if (!t) return ec_fail(c, k, RT_ERR, "input 'data_%d' is missing", j);
        if (t->dtype != x0->dtype)
            return ec_fail(c, k, RT_ERR, "input 'data_%d' is %s but 'data_0' is %s", j, rt_dtype_name(t->dtype),
                           rt_dtype_name(x0->dtype));
    }
    int kind = ec_math_kind(x0->dtype), sum = n->op == RT_OP_SUM || n->op == RT_OP_MEAN;
    if (!kind || kind == 'b' || (sum && kind != 'f')) return dtype_refuse(c, k, x0->dtype, "data_0");
    const char *T = ec_ctype(x0->dtype);
    TextBuf body = {0};
    text_buf_printf(&body, "%s r = a0;", T);
    for (int j = 1; j < m; j++) {
        if (sum) text_buf_printf(&body, "\n            r = r + a%d;", j);
        else if (kind == 'f')
            text_buf_printf(&body, "\n            r = (r %s a%d || r != r) ? r : a%d;", n->op == RT_OP_MAX ? ">" : "<",
                            j, j);
        else text_buf_printf(&body, "\n            r = r %s a%d ? r : a%d;", n->op == RT_OP_MAX ? ">" : "<", j, j);
    }
    if (n->op == RT_OP_MEAN && m > 1) text_buf_printf(&body, "\n            y[i] = r / (%s)%d;", T, m);
    else text_buf_printf(&body, "\n            y[i] = r;");
    int r = body.s ? ec_math_loop_n(c, k, n, m, NULL, body.s) : ec_fail(c, k, RT_ERR_NOMEM, "out of memory");
    text_buf_free(&body);
    return r;
}
