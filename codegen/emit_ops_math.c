/*
 * emit_ops_math.c — emit-c's emitters for the element-wise ops: unary math and activations,
 * Add/Sub/Mul/Div/Pow/Mod/PRelu, comparisons and logic, Where, the variadic Max/Min/Sum/Mean,
 * BitShift and Bitwise*, Cast/CastLike. (Table ec_ops_math, searched by ec_node_emit after
 * emit_ops.c's.)
 *
 * Every op here is one loop written inline into NAME_run by math_loop: operands a0..a{m-1}
 * (node inputs, numpy-broadcast to the output y) are read into locals of their C types,
 * then a per-op C statement computes y[i]. The broadcast is simplified at emit time as the
 * runtime's walker does (size-1 output axes dropped, axes merged where every operand steps
 * through both as one run): a contiguous or scalar operand is read at i or 0; otherwise an
 * odometer over the simplified axes moves one offset per operand (tables n<k>_dims,
 * n<k>_s<j>), no division per element.
 *
 * Semantics mirror the runtime's reference kernels (runtime/kernels/ref/unary.c, binary.c,
 * bitwise.c, int_misc.c, misc_ops.c) type for type: integer arithmetic wraps through the
 * unsigned type (no signed overflow in the emitted C), integer Div truncates toward zero
 * with x / -1 as a negation, Mod takes the divisor's sign (fmod = 0) or the dividend's; an
 * integer Div or Mod by a zero read at run time makes NAME_run return 1 before the loop
 * (the runtime refuses it; a zero constant divisor is refused at emit time). Float ->
 * integer conversions saturate and map NaN to 0, as the runtime's, so no conversion in the
 * emitted C is out of range. float16/bfloat16 never reach here: emit_half.c computes them in
 * float32 (a 16-bit dtype that still arrives is refused by name).
 * With --no-libm the float ops use the libm-free helpers (b0_exp, b1_tanh, b1_erf,
 * b0_math_*, b1_math_*, b2_math_*: every float32 unary op); ops that would still need
 * libm (float64 transcendental functions, Pow and Mod) are refused naming --no-libm.
 */
#include "emit_ops_math.h"

/* ---- dtypes ---- */

/* The C-level class of a dtype: 'f' float/double, 's' signed, 'u' unsigned, 'b' bool, 0 = no
 * C type in emit-c (float16, bfloat16, string...). */
int ec_math_kind(RtDtype t) {
    switch (t) {
    case RT_F32: case RT_F64: return 'f';
    case RT_I8: case RT_I16: case RT_I32: case RT_I64: return 's';
    case RT_U8: case RT_U16: case RT_U32: case RT_U64: return 'u';
    case RT_BOOL: return 'b';
    default: return 0;
    }
}

/* The unsigned type integer arithmetic of t wraps in (the runtime's W). */
const char *ec_math_wrap(RtDtype t) { return rt_dtype_size(t) == 8 ? "uint64_t" : "uint32_t"; }

/* <stdint.h>'s limits of an integer type, for saturating conversions. */
void ec_math_limits(RtDtype t, const char **lo, const char **hi) {
    switch (t) {
    case RT_I8: *lo = "INT8_MIN", *hi = "INT8_MAX"; break;
    case RT_I16: *lo = "INT16_MIN", *hi = "INT16_MAX"; break;
    case RT_I32: *lo = "INT32_MIN", *hi = "INT32_MAX"; break;
    case RT_I64: *lo = "INT64_MIN", *hi = "INT64_MAX"; break;
    case RT_U8: *lo = "0", *hi = "UINT8_MAX"; break;
    case RT_U16: *lo = "0", *hi = "UINT16_MAX"; break;
    case RT_U32: *lo = "0", *hi = "UINT32_MAX"; break;
    default: *lo = "0", *hi = "UINT64_MAX"; break;
    }
}

/* "y[i] = <double d into type t>;" as the runtime's rt_set_f64_sat: floats round, bool is
 * d != 0, integers truncate toward zero saturated at the type's limits with NaN -> 0. */
void ec_math_store_double(char *buf, size_t len, RtDtype t) {
    const char *ct = ec_ctype(t), *lo, *hi;
    if (t == RT_F32 || t == RT_F64) {
        snprintf(buf, len, "y[i] = (%s)d;", ct);
    } else if (t == RT_BOOL) {
        snprintf(buf, len, "y[i] = (uint8_t)(d != 0);");
    } else {
        ec_math_limits(t, &lo, &hi);
        snprintf(buf, len, "y[i] = d != d ? (%s)0 : d <= (double)%s ? (%s)%s : d >= (double)%s ? (%s)%s : (%s)d;", ct,
                 lo, ct, lo, hi, ct, hi, ct);
    }
}

/* Every operand and the output must have a C type. */
static int math_types_check(EcCtx *c, int k, const RtNode *n, int m, const int *ins) {
    for (int j = 0; j < m; j++) {
        const RtTensor *t = vin(c, n, ins[j]);
        if (!t) return ec_fail(c, k, RT_ERR, "input %d is required", ins[j]);
        if (!ec_ctype(t->dtype))
            return ec_fail(c, k, RT_ERR_UNSUPPORTED, "input %d has dtype %s, which has no C type in emit-c", ins[j],
                           rt_dtype_name(t->dtype));
    }
    if (!ec_ctype(yval(c, n)->dtype))
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "output dtype %s has no C type in emit-c",
                       rt_dtype_name(yval(c, n)->dtype));
    return RT_OK;
}

/* ---- the loop ---- */

/* 1 when `name` (a0, a12...) occurs in s as a whole identifier. */
static int math_uses(const char *s, const char *name) {
    size_t l = strlen(name);
    for (const char *p = strstr(s, name); p; p = strstr(p + 1, name)) {
        int before = p > s && (p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z') || (p[-1] >= '0' && p[-1] <= '9'));
        int after = p[l] == '_' || (p[l] >= 'a' && p[l] <= 'z') || (p[l] >= '0' && p[l] <= '9');
        if (!before && !after) return 1;
    }
    return 0;
}

/* Per operand, its element strides along the simplified output axes: size-1 axes dropped,
 * an axis merged into the previous one where every operand steps through both as one run.
 * Returns the rank (>= 1). */
static int math_axes(EcCtx *c, const RtNode *n, int m, const int *ins, int32_t *dims,
                     int32_t st[][RT_MAX_RANK]) {
    const RtTensor *y = yval(c, n);
    int64_t full[MATH_MAX_OPS][RT_MAX_RANK];
    for (int j = 0; j < m; j++) {
        const RtTensor *t = vin(c, n, ins[j]);
        int64_t s = 1;
        for (int i = y->rank - 1; i >= 0; i--) {
            int ti = i - (y->rank - t->rank);
            int64_t d = ti >= 0 ? t->dims[ti] : 1;
            full[j][i] = d == 1 ? 0 : s;
            s *= d;
        }
    }
    int r = 0;
    for (int i = 0; i < y->rank; i++) {
        int64_t d = y->dims[i];
        if (d == 1) continue;
        int merge = r > 0;
        for (int j = 0; j < m && merge; j++) merge = st[j][r - 1] == full[j][i] * d;
        if (merge) {
            dims[r - 1] *= (int32_t)d;
            for (int j = 0; j < m; j++) st[j][r - 1] = (int32_t)full[j][i];
        } else {
            dims[r] = (int32_t)d;
            for (int j = 0; j < m; j++) st[j][r] = (int32_t)full[j][i];
            r++;
        }
    }
    if (r == 0) { /* one element */
        dims[0] = 1;
        for (int j = 0; j < m; j++) st[j][0] = 0;
        r = 1;
    }
    return r;
}

/* Writes node k's loop: operands a0..a{m-1} are node inputs ins[0..m), broadcast to the
 * output y; `pre` is C placed before the loop (after the pointers x<j>, y and i are
 * declared), `body` the statement(s) computing y[i]. */
int ec_math_loop(EcCtx *c, int k, const RtNode *n, int m, const int *ins, const char *pre, const char *body) {
    RT_TRY(math_types_check(c, k, n, m, ins));
    const RtTensor *y = yval(c, n);
    int64_t cnt = rt_numel(y);
    TextBuf *b = &c->body;
    if (cnt == 0) {
        text_buf_printf(b, "    /* node %d: empty output */\n", k);
        return RT_OK;
    }
    int32_t dims[RT_MAX_RANK], st[MATH_MAX_OPS][RT_MAX_RANK];
    int r = math_axes(c, n, m, ins, dims, st);
    /* operand j is read at i (y's own layout), at 0 (one element), or at an offset o<j> the
     * odometer moves */
    int odo[MATH_MAX_OPS], at_i[MATH_MAX_OPS], any_odo = 0;
    for (int j = 0; j < m; j++) {
        int64_t cs = 1;
        odo[j] = 0, at_i[j] = 1;
        for (int d = r - 1; d >= 0; d--) {
            odo[j] |= st[j][d] != 0;
            at_i[j] &= st[j][d] == cs;
            cs *= dims[d];
        }
        if (at_i[j]) odo[j] = 0;
        any_odo |= odo[j];
    }
    char p[96], nm[16];
    text_buf_printf(b, "    {\n");
    for (int j = 0; j < m; j++)
        text_buf_printf(b, "        const %s *x%d = %s;\n", ec_ctype(vin(c, n, ins[j])->dtype), j, P(c, n, ins[j], p));
    text_buf_printf(b, "        %s *y = %s;\n        int32_t i;\n", ec_ctype(y->dtype), Y(c, n, p));
    if (any_odo) {
        decl_i32s(c, k, "dims", dims, r);
        text_buf_printf(b, "        int32_t q[%d] = {0};\n        int ax;\n", r);
        for (int j = 0; j < m; j++) {
            if (!odo[j]) continue;
            snprintf(nm, sizeof nm, "s%d", j);
            decl_i32s(c, k, nm, st[j], r);
            text_buf_printf(b, "        int32_t o%d = 0;\n", j);
        }
    }
    if (pre && *pre) text_buf_printf(b, "%s", pre);
    text_buf_printf(b, "        for (i = 0; i < %lld; i++) {\n", (long long)cnt);
    for (int j = 0; j < m; j++) {
        snprintf(nm, sizeof nm, "a%d", j);
        const char *at = odo[j] ? "o" : at_i[j] ? "i" : "0";
        text_buf_printf(b, "            const %s a%d = x%d[%s", ec_ctype(vin(c, n, ins[j])->dtype), j, j, at);
        if (odo[j]) text_buf_printf(b, "%d", j);
        text_buf_printf(b, "];\n");
        if (!math_uses(body, nm)) text_buf_printf(b, "            (void)a%d;\n", j);
    }
    text_buf_printf(b, "            %s\n", body);
    if (any_odo) { /* next output index: bump the last axis, carry into the ones before */
        text_buf_printf(b, "            for (ax = %d; ax >= 0; ax--) {\n", r - 1);
        for (int j = 0; j < m; j++)
            if (odo[j]) text_buf_printf(b, "                o%d += n%d_s%d[ax];\n", j, k, j);
        text_buf_printf(b, "                if (++q[ax] < n%d_dims[ax]) break;\n", k);
        for (int j = 0; j < m; j++)
            if (odo[j]) text_buf_printf(b, "                o%d -= n%d_s%d[ax] * n%d_dims[ax];\n", j, k, j, k);
        text_buf_printf(b, "                q[ax] = 0;\n            }\n");
    }
    text_buf_printf(b, "        }\n    }\n");
    return RT_OK;
}

/* The loop over inputs 0..m-1 in order. */
int ec_math_loop_n(EcCtx *c, int k, const RtNode *n, int m, const char *pre, const char *body) {
    int ins[MATH_MAX_OPS];
    if (m > MATH_MAX_OPS)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "%d inputs; emit-c takes at most %d", m, MATH_MAX_OPS);
    for (int j = 0; j < m; j++) ins[j] = j;
    return ec_math_loop(c, k, n, m, ins, pre, body);
}

/* Refuses an op that needs libm under --no-libm. */
int ec_math_libm(EcCtx *c, int k, const char *what) {
    if (!c->o->no_libm) return RT_OK;
    return ec_fail(c, k, RT_ERR_UNSUPPORTED, "%s needs libm; emit-c has no libm-free version (drop --no-libm)", what);
}

int64_t ec_scratch_math(const EcCtx *c, int k, const RtNode *n) {
    (void)c, (void)k, (void)n;
    return 0;
}

const EcOpEntry ec_ops_math[] = {
#define U(op) {RT_OP_##op, ec_math_unary},
    U(ABS) U(NEG) U(FLOOR) U(CEIL) U(ROUND) U(SQRT) U(EXP) U(LOG) U(RECIPROCAL) U(SIGN)
    U(SIN) U(COS) U(TAN) U(ASIN) U(ACOS) U(ATAN) U(SINH) U(COSH) U(ASINH) U(ACOSH) U(ATANH)
    U(ERF) U(TANH) U(SIGMOID) U(RELU) U(LEAKY_RELU) U(ELU) U(SELU) U(CELU) U(HARD_SIGMOID)
    U(HARD_SWISH) U(SOFTPLUS) U(SOFTSIGN) U(GELU) U(MISH) U(THRESHOLDED_RELU) U(SWISH)
    U(NOT) U(IS_NAN) U(IS_INF) U(BITWISE_NOT)
#undef U
    {RT_OP_CLIP, ec_math_clip},
    {RT_OP_SHRINK, ec_math_shrink},
    {RT_OP_CAST, ec_math_cast},
    {RT_OP_CAST_LIKE, ec_math_cast},
    {RT_OP_BITCAST, ec_math_bitcast},
#define B(op) {RT_OP_##op, ec_math_binary},
    B(ADD) B(SUB) B(MUL) B(DIV) B(MOD) B(PRELU)
    B(EQUAL) B(LESS) B(LESS_OR_EQUAL) B(GREATER) B(GREATER_OR_EQUAL) B(AND) B(OR) B(XOR)
    B(BIT_SHIFT) B(BITWISE_AND) B(BITWISE_OR) B(BITWISE_XOR)
#undef B
    {RT_OP_POW, ec_math_pow},
    {RT_OP_WHERE, ec_math_where},
    {RT_OP_MAX, ec_math_variadic},
    {RT_OP_MIN, ec_math_variadic},
    {RT_OP_SUM, ec_math_variadic},
    {RT_OP_MEAN, ec_math_variadic},
    {0, NULL},
};
