/*
 * emit_ops_math_unary.c — emit-c's one-operand element-wise ops: the float math and
 * activations (float32 and float64; opset 24's Swish too), their integer forms (Abs, Neg,
 * Sign, Relu, Erf), Clip, Shrink, Not, IsNaN, IsInf, BitwiseNot, and Cast/CastLike.
 *
 * Each op is a C expression of the element v (the runtime's UNARY_FLOAT_OPS row in
 * runtime/kernels/ref/unary.c, same float or double arithmetic, attributes as float literals
 * widened where the runtime widens them) written into ec_math_loop's body. Float32 uses the
 * wk_* helpers so --no-libm works for every float32 op (b0_exp, b1_tanh, b1_erf, b0_math_*,
 * b1_math_*, b2_math_*: Sin, Cos, Tan through b0_math_trig's reduction, the inverse and
 * hyperbolic ones through atan, exp, log and rsqrt); float64 ops that need libm are
 * refused under --no-libm. Integer forms compute through the unsigned type (Abs and Neg of the minimum
 * wrap, as numpy and the runtime). Cast follows the runtime's cast_convert: float ->
 * integer truncates, saturates, NaN -> 0; integer -> integer wraps; int64 -> float goes
 * through double (the runtime's double rounding).
 */
#include "emit_ops_math.h"

/* Templates of a float32 helper and, without libm, what it is built on. */
static void use_expm1(EcCtx *c) {
    ec_tpl_use(c, "b1_math_expm1");
    if (c->o->no_libm) ec_tpl_use(c, "b0_exp");
}

static void use_log1p(EcCtx *c) {
    ec_tpl_use(c, "b1_math_log1pf");
    if (c->o->no_libm) ec_tpl_use(c, "b0_math_logf");
}

/* libm's float32 name of the trigonometric and hyperbolic ops (float64: drop the f). */
static const char *libm_only(int op) {
    switch (op) {
    case RT_OP_SIN: return "sinf";
    case RT_OP_COS: return "cosf";
    case RT_OP_TAN: return "tanf";
    case RT_OP_ASIN: return "asinf";
    case RT_OP_ACOS: return "acosf";
    case RT_OP_ATAN: return "atanf";
    case RT_OP_SINH: return "sinhf";
    case RT_OP_COSH: return "coshf";
    case RT_OP_ASINH: return "asinhf";
    case RT_OP_ACOSH: return "acoshf";
    case RT_OP_ATANH: return "atanhf";
    default: return NULL;
    }
}

/* The float32 expression of v for node n into f. */
static int expr_f32(EcCtx *c, int k, const RtNode *n, char *f, size_t len) {
    char al[48], be[48], ga[48];
    const char *lm = libm_only(n->op);
    if (lm) { /* wk_<libm name>: libm's, or without libm the own one on its helpers */
        static const struct {
            const char *fn, *tpl, *deps; /* deps: templates it is built on without libm */
        } own[] = {
            {"sinf", "b1_math_sinf", "b0_math_trig"}, {"cosf", "b1_math_cosf", "b0_math_trig"},
            {"tanf", "b1_math_tanf", "b0_math_trig"}, {"atanf", "b1_math_atanf", "b0_math_atand"},
            {"asinf", "b1_math_asinf", "b0_math_atand b0_rsqrt"}, {"acosf", "b1_math_acosf", "b0_math_atand b0_rsqrt"},
            {"sinhf", "b2_math_sinhf", "b0_exp b1_math_expm1"}, {"coshf", "b2_math_coshf", "b0_exp b1_math_expm1"},
            {"asinhf", "b2_math_asinhf", "b0_math_logf b1_math_log1pf b0_rsqrt"},
            {"acoshf", "b2_math_acoshf", "b0_math_logf b1_math_log1pf b0_rsqrt"},
            {"atanhf", "b2_math_atanhf", "b0_math_logf b1_math_log1pf"},
        };
        for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
            if (strcmp(own[i].fn, lm) != 0) continue;
            ec_tpl_use(c, own[i].tpl);
            for (const char *d = own[i].deps; c->o->no_libm && *d;) { /* each space-separated name */
                char name[32];
                size_t l = strcspn(d, " ");
                snprintf(name, sizeof name, "%.*s", (int)l, d);
                ec_tpl_use(c, name);
                d += l + (d[l] == ' ');
            }
            snprintf(f, len, "wk_%s(v)", lm);
            return RT_OK;
        }
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "no emit-c helper for %s", lm);
    }
    switch (n->op) {
    case RT_OP_ABS: snprintf(f, len, "%s", c->o->no_libm ? "(v < 0 ? -v : v + 0.0f)" : "fabsf(v)"); break;
    case RT_OP_NEG: snprintf(f, len, "-v"); break;
    case RT_OP_FLOOR: snprintf(f, len, "wk_floorf(v)"), ec_tpl_use(c, "b0_math_floorf"); break;
    case RT_OP_CEIL: snprintf(f, len, "wk_ceilf(v)"), ec_tpl_use(c, "b0_math_ceilf"); break;
    case RT_OP_ROUND: snprintf(f, len, "wk_roundf(v)"), ec_tpl_use(c, "b0_math_roundf"); break;
    case RT_OP_SQRT:
        snprintf(f, len, "wk_sqrtf(v)");
        ec_tpl_use(c, "b1_math_sqrt");
        if (c->o->no_libm) ec_tpl_use(c, "b0_rsqrt");
        break;
    case RT_OP_EXP: snprintf(f, len, "wk_expf(v)"), ec_tpl_use(c, "b0_exp"); break;
    case RT_OP_LOG: snprintf(f, len, "wk_logf(v)"), ec_tpl_use(c, "b0_math_logf"); break;
    case RT_OP_RECIPROCAL: snprintf(f, len, "1.0f / v"); break;
    case RT_OP_SIGN: snprintf(f, len, "(v > 0 ? 1.0f : v < 0 ? -1.0f : v == 0 ? 0.0f : v)"); break;
    case RT_OP_ERF: snprintf(f, len, "wk_erff(v)"), ec_tpl_use(c, "b1_erf"); break;
    case RT_OP_TANH: snprintf(f, len, "wk_tanhf(v)"), ec_tpl_use(c, "b1_tanh"); break;
    case RT_OP_SIGMOID: snprintf(f, len, "wk_sigmoidf(v)"), ec_tpl_use(c, "b1_sigmoid"); break;
    case RT_OP_RELU: snprintf(f, len, "(v < 0 ? 0.0f : v)"); break;
    case RT_OP_LEAKY_RELU:
        ec_float_lit(al, sizeof al, rt_attr_float(n, "alpha", 0.01f));
        snprintf(f, len, "(v < 0 ? %s * v : v)", al);
        break;
    case RT_OP_ELU:
        ec_float_lit(al, sizeof al, rt_attr_float(n, "alpha", 1.0f));
        snprintf(f, len, "(v < 0 ? %s * wk_expm1f(v) : v)", al);
        use_expm1(c);
        break;
    case RT_OP_SELU:
        ec_float_lit(al, sizeof al, rt_attr_float(n, "alpha", 1.67326319217681884765625f));
        ec_float_lit(ga, sizeof ga, rt_attr_float(n, "gamma", 1.05070102214813232421875f));
        snprintf(f, len, "%s * (v > 0 ? v : %s * wk_expm1f(v))", ga, al);
        use_expm1(c);
        break;
    case RT_OP_CELU:
        ec_float_lit(al, sizeof al, rt_attr_float(n, "alpha", 1.0f));
        snprintf(f, len, "(v > 0 ? v : %s * wk_expm1f(v / %s))", al, al);
        use_expm1(c);
        break;
    case RT_OP_HARD_SIGMOID:
        ec_float_lit(al, sizeof al, rt_attr_float(n, "alpha", 0.2f));
        ec_float_lit(be, sizeof be, rt_attr_float(n, "beta", 0.5f));
        snprintf(f, len, "(%s * v + %s < 0.0f ? 0.0f : %s * v + %s > 1.0f ? 1.0f : %s * v + %s)", al, be, al, be, al,
                 be);
        break;
    case RT_OP_HARD_SWISH:
        snprintf(f, len, "v * (v / 6.0f + 0.5f < 0.0f ? 0.0f : v / 6.0f + 0.5f > 1.0f ? 1.0f : v / 6.0f + 0.5f)");
        break;
    case RT_OP_SOFTPLUS: /* max(v, 0) + log1p(e^-|v|): no overflow */
        snprintf(f, len, "(v > 0 ? v + wk_log1pf(wk_expf(-v)) : wk_log1pf(wk_expf(v)))");
        use_log1p(c), ec_tpl_use(c, "b0_exp");
        break;
    case RT_OP_MISH:
        snprintf(f, len, "v * wk_tanhf(v > 0 ? v + wk_log1pf(wk_expf(-v)) : wk_log1pf(wk_expf(v)))");
        use_log1p(c), ec_tpl_use(c, "b0_exp"), ec_tpl_use(c, "b1_tanh");
        break;
    case RT_OP_SOFTSIGN: snprintf(f, len, "v / (1.0f + %s)", c->o->no_libm ? "(v < 0 ? -v : v)" : "fabsf(v)"); break;
    case RT_OP_SWISH: /* opset 24: v * sigmoid(alpha v) */
        ec_float_lit(al, sizeof al, rt_attr_float(n, "alpha", 1.0f));
        snprintf(f, len, "v * wk_sigmoidf(%s * v)", al);
        ec_tpl_use(c, "b1_sigmoid");
        break;
    case RT_OP_GELU:
        if (strcmp(rt_attr_str(n, "approximate", "none"), "tanh") == 0) {
            snprintf(f, len, "0.5f * v * (1.0f + wk_tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)))");
            ec_tpl_use(c, "b1_tanh");
        } else {
            snprintf(f, len, "0.5f * v * (1.0f + wk_erff(v * 0.7071067811865476f))");
            ec_tpl_use(c, "b1_erf");
        }
        break;
    case RT_OP_THRESHOLDED_RELU:
        ec_float_lit(al, sizeof al, rt_attr_float(n, "alpha", 1.0f));
        snprintf(f, len, "(v > %s ? v : 0.0f)", al);
        break;
    default: return ec_fail(c, k, RT_ERR_UNSUPPORTED, "no emit-c loop for this op on float32");
    }
    return RT_OK;
}

/* The float64 expression of v (libm's double functions, as the runtime's f64 rows); under
 * --no-libm only the ops with no libm call. */
static int expr_f64(EcCtx *c, int k, const RtNode *n, char *f, size_t len) {
    char al[48], be[48], ga[48];
    const char *lm = libm_only(n->op), *fn = NULL;
    if (lm) {
        snprintf(al, sizeof al, "%.*s", (int)strlen(lm) - 1, lm); /* sinf -> sin */
        RT_TRY(ec_math_libm(c, k, lm));
        snprintf(f, len, "%s(v)", al);
        return RT_OK;
    }
    switch (n->op) {
    case RT_OP_ABS: snprintf(f, len, "%s", c->o->no_libm ? "(v < 0 ? -v : v + 0.0)" : "fabs(v)"); return RT_OK;
    case RT_OP_NEG: snprintf(f, len, "-v"); return RT_OK;
    case RT_OP_FLOOR: snprintf(f, len, "wk_floor(v)"), ec_tpl_use(c, "b0_math_floor"); return RT_OK;
    case RT_OP_CEIL: snprintf(f, len, "wk_ceil(v)"), ec_tpl_use(c, "b0_math_ceil"); return RT_OK;
    case RT_OP_ROUND: snprintf(f, len, "wk_round(v)"), ec_tpl_use(c, "b0_math_round"); return RT_OK;
    case RT_OP_RECIPROCAL: snprintf(f, len, "1.0 / v"); return RT_OK;
    case RT_OP_SIGN: snprintf(f, len, "(v > 0 ? 1.0 : v < 0 ? -1.0 : v == 0 ? 0.0 : v)"); return RT_OK;
    case RT_OP_RELU: snprintf(f, len, "(v < 0 ? 0.0 : v)"); return RT_OK;
    case RT_OP_LEAKY_RELU:
        ec_float_lit(al, sizeof al, rt_attr_float(n, "alpha", 0.01f));
        snprintf(f, len, "(v < 0 ? (double)%s * v : v)", al);
        return RT_OK;
    case RT_OP_HARD_SIGMOID:
        ec_float_lit(al, sizeof al, rt_attr_float(n, "alpha", 0.2f));
        ec_float_lit(be, sizeof be, rt_attr_float(n, "beta", 0.5f));
        snprintf(f, len,
                 "((double)%s * v + (double)%s < 0.0 ? 0.0 : (double)%s * v + (double)%s > 1.0 ? 1.0"
                 " : (double)%s * v + (double)%s)",
                 al, be, al, be, al, be);
        return RT_OK;
    case RT_OP_HARD_SWISH:
        snprintf(f, len, "v * (v / 6.0 + 0.5 < 0.0 ? 0.0 : v / 6.0 + 0.5 > 1.0 ? 1.0 : v / 6.0 + 0.5)");
        return RT_OK;
    case RT_OP_SOFTSIGN:
        snprintf(f, len, "v / (1.0 + %s)", c->o->no_libm ? "(v < 0 ? -v : v)" : "fabs(v)");
        return RT_OK;
    case RT_OP_THRESHOLDED_RELU:
        ec_float_lit(al, sizeof al, rt_attr_float(n, "alpha", 1.0f));
        snprintf(f, len, "(v > (double)%s ? v : 0.0)", al);
        return RT_OK;
    case RT_OP_SQRT: fn = "sqrt(v)"; break;
    case RT_OP_EXP: fn = "exp(v)"; break;
    case RT_OP_LOG: fn = "log(v)"; break;
    case RT_OP_ERF: fn = "erf(v)"; break;
    case RT_OP_TANH: fn = "tanh(v)"; break;
    case RT_OP_SIGMOID: fn = "(v >= 0 ? 1.0 / (1.0 + exp(-v)) : exp(v) / (1.0 + exp(v)))"; break;
    case RT_OP_SOFTPLUS: fn = "(v > 0 ? v + log1p(exp(-v)) : log1p(exp(v)))"; break;
    case RT_OP_MISH: fn = "v * tanh(v > 0 ? v + log1p(exp(-v)) : log1p(exp(v)))"; break;
    case RT_OP_GELU:
        fn = strcmp(rt_attr_str(n, "approximate", "none"), "tanh") == 0
                 ? "0.5 * v * (1.0 + tanh(0.79788456080286535588 * (v + 0.044715 * v * v * v)))"
                 : "0.5 * v * (1.0 + erf(v * 0.70710678118654752440))";
        break;
    case RT_OP_ELU:
        ec_float_lit(al, sizeof al, rt_attr_float(n, "alpha", 1.0f));
        snprintf(f, len, "(v < 0 ? (double)%s * expm1(v) : v)", al);
        break;
    case RT_OP_SELU:
        ec_float_lit(al, sizeof al, rt_attr_float(n, "alpha", 1.67326319217681884765625f));
        ec_float_lit(ga, sizeof ga, rt_attr_float(n, "gamma", 1.05070102214813232421875f));
        snprintf(f, len, "(double)%s * (v > 0 ? v : (double)%s * expm1(v))", ga, al);
        break;
    case RT_OP_CELU:
        ec_float_lit(al, sizeof al, rt_attr_float(n, "alpha", 1.0f));
        snprintf(f, len, "(v > 0 ? v : (double)%s * expm1(v / (double)%s))", al, al);
        break;
    case RT_OP_SWISH: /* the runtime's sigmoid_f64 of alpha v, whose exp cannot overflow */
        ec_float_lit(al, sizeof al, rt_attr_float(n, "alpha", 1.0f));
        snprintf(f, len,
                 "v * ((double)%s * v >= 0 ? 1.0 / (1.0 + exp(-((double)%s * v)))"
                 " : exp((double)%s * v) / (1.0 + exp((double)%s * v)))",
                 al, al, al, al);
        break;
    default: return ec_fail(c, k, RT_ERR_UNSUPPORTED, "no emit-c loop for this op on float64");
    }
    RT_TRY(ec_math_libm(c, k, "this op on float64"));
    if (fn) snprintf(f, len, "%s", fn);
    return RT_OK;
}

/* The integer forms the spec defines (the runtime's unary_int_support): Abs, Sign, Erf on
 * every integer type; Neg and Relu on signed ones. v is the element, T its type. */
static int expr_int(EcCtx *c, int k, const RtNode *n, RtDtype dt, char *f, size_t len) {
    const char *T = ec_ctype(dt), *W = ec_math_wrap(dt);
    int s = ec_math_kind(dt) == 's';
    switch (n->op) {
    case RT_OP_ABS:
        if (s) snprintf(f, len, "(v < 0 ? (%s)(0 - (%s)v) : v)", T, W);
        else snprintf(f, len, "v");
        return RT_OK;
    case RT_OP_SIGN:
        if (s) snprintf(f, len, "(%s)((v > 0) - (v < 0))", T);
        else snprintf(f, len, "(%s)(v != 0)", T);
        return RT_OK;
    case RT_OP_ERF: /* erf of an integer is -1, 0 or 1 after truncation */
        RT_TRY(ec_math_libm(c, k, "Erf on integers"));
        snprintf(f, len, "(%s)(int64_t)erf((double)v)", T);
        return RT_OK;
    case RT_OP_NEG:
        if (!s) break;
        snprintf(f, len, "(%s)(0 - (%s)v)", T, W);
        return RT_OK;
    case RT_OP_RELU:
        if (!s) break;
        snprintf(f, len, "(v < 0 ? (%s)0 : v)", T);
        return RT_OK;
    default: break;
    }
    return ec_fail(c, k, RT_ERR_UNSUPPORTED, "dtype %s is not supported for input 'X'", rt_dtype_name(dt));
}

int ec_math_unary(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0);
    if (!x) return ec_fail(c, k, RT_ERR, "input 'X' is missing");
    int kind = ec_math_kind(x->dtype);
    const char *T = ec_ctype(x->dtype);
    char f[640], body[768];
    if (!kind)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "input dtype %s has no C type in emit-c", rt_dtype_name(x->dtype));
    switch (n->op) {
    case RT_OP_NOT:
        if (kind != 'b')
            return ec_fail(c, k, RT_ERR_UNSUPPORTED, "dtype %s is not supported for input 'X'",
                           rt_dtype_name(x->dtype));
        return ec_math_loop_n(c, k, n, 1, NULL, "y[i] = (uint8_t)!a0;");
    case RT_OP_BITWISE_NOT:
        if (kind != 's' && kind != 'u')
            return ec_fail(c, k, RT_ERR, "input X has dtype %s; bitwise ops take int8..int64 and uint8..uint64",
                           rt_dtype_name(x->dtype));
        snprintf(body, sizeof body, "y[i] = (%s)~(%s)a0;", T, ec_math_wrap(x->dtype));
        return ec_math_loop_n(c, k, n, 1, NULL, body);
    case RT_OP_IS_NAN: case RT_OP_IS_INF: {
        if (kind != 'f')
            return ec_fail(c, k, RT_ERR_UNSUPPORTED, "dtype %s is not supported for input 'X'",
                           rt_dtype_name(x->dtype));
        const char *inf = x->dtype == RT_F32 ? "HUGE_VALF" : "HUGE_VAL";
        int neg = (int)rt_attr_int(n, "detect_negative", 1), pos = (int)rt_attr_int(n, "detect_positive", 1);
        if (n->op == RT_OP_IS_NAN) snprintf(body, sizeof body, "y[i] = (uint8_t)(a0 != a0);");
        else
            snprintf(body, sizeof body, "y[i] = (uint8_t)((%d && a0 == %s) || (%d && a0 == -%s));", pos != 0, inf,
                     neg != 0, inf);
        return ec_math_loop_n(c, k, n, 1, NULL, body);
    }
    default: break;
    }
    if (kind == 'f') RT_TRY(x->dtype == RT_F32 ? expr_f32(c, k, n, f, sizeof f) : expr_f64(c, k, n, f, sizeof f));
    else if (kind == 'b') return ec_fail(c, k, RT_ERR_UNSUPPORTED, "dtype bool is not supported for input 'X'");
    else RT_TRY(expr_int(c, k, n, x->dtype, f, sizeof f));
    snprintf(body, sizeof body, "const %s v = a0;\n            y[i] = %s;", T, f);
    return ec_math_loop_n(c, k, n, 1, NULL, body);
}

/* One of Clip's bounds as a C expression of X's type: opset < 11 from the attribute (float
 * only, default -+FLT_MAX), later from input 1 or 2 read at run time (a constant's array or
 * the arena), absent = the type's limit. */
static int clip_bound(EcCtx *c, int k, const RtNode *n, int which, char *buf, size_t len) {
    const RtTensor *x = vin(c, n, 0), *b = vin(c, n, which);
    int is_min = which == 1;
    const char *name = is_min ? "min" : "max";
    if (n->opset < 11) {
        if (x->dtype != RT_F32 && x->dtype != RT_F64)
            return ec_fail(c, k, RT_ERR_UNSUPPORTED, "dtype %s is not supported for input 'input'",
                           rt_dtype_name(x->dtype));
        ec_float_lit(buf, len, rt_attr_float(n, name, is_min ? -3.40282347e38f : 3.40282347e38f));
        return RT_OK;
    }
    if (b) {
        char p[96];
        if (b->dtype != x->dtype)
            return ec_fail(c, k, RT_ERR, "input '%s' is %s but X is %s", name, rt_dtype_name(b->dtype),
                           rt_dtype_name(x->dtype));
        if (rt_numel(b) != 1) return ec_fail(c, k, RT_ERR, "input '%s' must be a scalar", name);
        snprintf(buf, len, "%s[0]", P(c, n, which, p));
        return RT_OK;
    }
    const char *lo, *hi;
    switch (ec_math_kind(x->dtype)) {
    case 'f': snprintf(buf, len, "%s%s", is_min ? "-" : "", x->dtype == RT_F32 ? "HUGE_VALF" : "HUGE_VAL"); break;
    case 's': case 'u': ec_math_limits(x->dtype, &lo, &hi), snprintf(buf, len, "%s", is_min ? lo : hi); break;
    default:
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "dtype %s is not supported for input 'input'",
                       rt_dtype_name(x->dtype));
    }
    return RT_OK;
}

/* Clip: min(max(v, lo), hi); NaN passes through, lo > hi gives hi (the runtime's clip). */
int ec_math_clip(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0);
    if (!x) return ec_fail(c, k, RT_ERR, "input 'input' is missing");
    if (!ec_math_kind(x->dtype) || x->dtype == RT_BOOL)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "dtype %s is not supported for input 'input'",
                       rt_dtype_name(x->dtype));
    char lo[128], hi[128], pre[384], body[256];
    RT_TRY(clip_bound(c, k, n, 1, lo, sizeof lo));
    RT_TRY(clip_bound(c, k, n, 2, hi, sizeof hi));
    const char *T = ec_ctype(x->dtype);
    snprintf(pre, sizeof pre, "        const %s lo = %s, hi = %s;\n", T, lo, hi);
    snprintf(body, sizeof body, "%s v = a0 < lo ? lo : a0;\n            y[i] = v > hi ? hi : v;", T);
    return ec_math_loop_n(c, k, n, 1, pre, body);
}

/* Shrink in double, stored back as the runtime's rt_set_f64_sat (any numeric dtype). */
int ec_math_shrink(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0);
    if (!x) return ec_fail(c, k, RT_ERR, "input 'input' is missing");
    int kind = ec_math_kind(x->dtype);
    if (!kind || kind == 'b')
        return ec_fail(c, k, RT_ERR_UNSUPPORTED,
                       "input 'input' has dtype %s; emit-c's Shrink takes float32, float64 and integers",
                       rt_dtype_name(x->dtype));
    char la[48], bi[48], st[256], body[640];
    ec_float_lit(la, sizeof la, rt_attr_float(n, "lambd", 0.5f));
    ec_float_lit(bi, sizeof bi, rt_attr_float(n, "bias", 0.0f));
    ec_math_store_double(st, sizeof st, x->dtype);
    snprintf(body, sizeof body,
             "double d = (double)a0;\n"
             "            d = d < -(double)%s ? d + (double)%s : d > (double)%s ? d - (double)%s : 0.0;\n            %s",
             la, bi, la, bi, st);
    return ec_math_loop_n(c, k, n, 1, NULL, body);
}

/* Cast / CastLike between the dtypes with C types, as the runtime's cast_convert. */
/* Cast to a sub-byte type `to` (held widened in y's int8 / uint8), as the runtime's
 * (ref/unary.c): floats round half to even, then every value keeps its low bits, two's
 * complement. A float32 of magnitude >= 2^27 is a multiple of 16 (its ulp), so its low bits
 * are 0, as are NaN's and the infinities'; below, the int32 truncation is exact and the
 * rounding is b0_quant's. Integer sources wrap from their 64-bit value. */
static int cast_lowbit(EcCtx *c, int k, const RtNode *n, const RtTensor *x, int64_t to) {
    int bits = to == 21 || to == 22 ? 4 : 2, sgn = to == 22 || to == 26, in0 = 0;
    const char *Y = sgn ? "int8_t" : "uint8_t";
    char body[768], wrap[200];
    snprintf(wrap, sizeof wrap, "m &= %uu;\n            y[i] = (%s)%s;", (1u << bits) - 1, Y,
             sgn ? (bits == 4 ? "(m >= 8u ? (int32_t)m - 16 : (int32_t)m)" : "(m >= 2u ? (int32_t)m - 4 : (int32_t)m)")
                 : "m");
    if (x->dtype == RT_F32)
        snprintf(body, sizeof body,
                 "uint32_t m = 0;\n            if (a0 == a0 && a0 < 134217728.0f && a0 > -134217728.0f) {\n"
                 "                int32_t t = (int32_t)a0;\n                float f = a0 - (float)t;\n"
                 "                if (f > 0.5f || (f == 0.5f && (t & 1))) t++;\n"
                 "                else if (f < -0.5f || (f == -0.5f && (t & 1))) t--;\n"
                 "                m = (uint32_t)t;\n            }\n            %s", wrap);
    else if (ec_math_kind(x->dtype) != 'f' && ec_ctype(x->dtype))
        snprintf(body, sizeof body, "uint32_t m = (uint32_t)(uint64_t)%sa0;\n            %s",
                 x->dtype == RT_U64 ? "" : "(int64_t)", wrap);
    else
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "cast from %s to a 4- or 2-bit type: emit-c takes float32 and integers",
                       rt_dtype_name(x->dtype));
    return ec_math_loop(c, k, n, 1, &in0, NULL, body);
}

/* BitCast (opset 26), as the runtime's (ref/unary.c): whole-byte types copy each element's
 * bytes (memcpy: no aliasing of types); between int4 and uint4 (or the 2-bit pair), held
 * widened, the low bits are kept and read with the target's sign. To bool is refused: the
 * runtime checks each byte is 0 or 1, which the emitted C has no way to report. */
int ec_math_bitcast(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *y = yval(c, n);
    if (!x || !y) return ec_fail(c, k, RT_ERR, "input 'input' is missing");
    int64_t to = rt_attr_int(n, "to", 0);
    int in0 = 0;
    if ((to == 21 || to == 22 || to == 25 || to == 26) && (x->dtype == RT_I8 || x->dtype == RT_U8))
        return cast_lowbit(c, k, n, x, to);
    if (to == 21 || to == 22 || to == 25 || to == 26)
        return ec_fail(c, k, RT_ERR, "BitCast to a 4- or 2-bit type needs such an input, got %s", rt_dtype_name(x->dtype));
    if (y->dtype == RT_BOOL) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "BitCast to bool: emit-c cannot check the bytes");
    if (!ec_ctype(x->dtype) || !ec_ctype(y->dtype) || rt_dtype_size(x->dtype) != rt_dtype_size(y->dtype))
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "BitCast from %s to %s: emit-c takes types of one width with a C type",
                       rt_dtype_name(x->dtype), rt_dtype_name(y->dtype));
    return ec_math_loop(c, k, n, 1, &in0, NULL, "memcpy(&y[i], &a0, sizeof y[i]);");
}

int ec_math_cast(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *y = yval(c, n);
    if (!x) return ec_fail(c, k, RT_ERR, "input 'input' is missing");
    int64_t to = n->op == RT_OP_CAST ? rt_attr_int(n, "to", 0) : 0; /* sub-byte targets are held widened */
    if (to == 21 || to == 22 || to == 25 || to == 26) return cast_lowbit(c, k, n, x, to);
    if (!ec_ctype(x->dtype))
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "cast from %s: the type has no C type in emit-c",
                       rt_dtype_name(x->dtype));
    if (!ec_ctype(y->dtype))
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "cast to %s: the type has no C type in emit-c",
                       rt_dtype_name(y->dtype));
    int xk = ec_math_kind(x->dtype), yk = ec_math_kind(y->dtype);
    const char *Y = ec_ctype(y->dtype);
    char body[512];
    int in0 = 0;
    if (x->dtype == y->dtype) snprintf(body, sizeof body, "y[i] = a0;");
    else if (yk == 'b') snprintf(body, sizeof body, "y[i] = (uint8_t)(a0 != 0);"); /* NaN -> 1, as numpy */
    else if (xk == 'f' && yk == 'f') snprintf(body, sizeof body, "y[i] = (%s)a0;", Y);
    else if (xk == 'f' && x->dtype == RT_F32) { /* float -> integer: truncate, saturate, NaN -> 0 */
        /* in float, no double arithmetic (soft-float on most MCUs): the type's minimum (0 or
         * -2^k) is a float; its maximum 2^k - 1 rounds to 2^k, the least float above it, so
         * both comparisons decide as the runtime's in double, and below them the cast is in
         * range and truncates as the double's would */
        const char *lo, *hi;
        ec_math_limits(y->dtype, &lo, &hi);
        snprintf(body, sizeof body,
                 "y[i] = a0 != a0 ? (%s)0 : a0 <= (float)%s ? (%s)%s : a0 >= (float)%s ? (%s)%s : (%s)a0;", Y, lo, Y,
                 lo, hi, Y, hi, Y);
    } else if (xk == 'f') {
        char st[256];
        ec_math_store_double(st, sizeof st, y->dtype);
        snprintf(body, sizeof body, "const double d = (double)a0;\n            %s", st);
    } else if (yk == 'f') { /* integer -> float: exactly into double, then rounded once more */
        snprintf(body, sizeof body, "y[i] = (%s)(double)a0;", Y);
    } else if (x->dtype == RT_U64) { /* integer -> integer: keep the low bits */
        snprintf(body, sizeof body, "y[i] = (%s)a0;", Y);
    } else {
        snprintf(body, sizeof body, "y[i] = (%s)(uint64_t)(int64_t)a0;", Y);
    }
    return ec_math_loop(c, k, n, 1, &in0, NULL, body);
}
