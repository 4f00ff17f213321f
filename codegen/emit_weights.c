/*
 * emit_weights.c — the model's constants as static const C arrays (they land in flash).
 *
 * Every constant an emitted kernel reads becomes `static const T wV[n]` (V = its value
 * index; with split weights `const T NAME_wV[n]` in NAME_weights.c, declared extern in
 * NAME.c), with a comment giving its name, dtype and shape. Integer and packed low-bit codes
 * are written byte for byte as the .wafer file holds them (int8, uint8 packed blocks,
 * int32 biases); floats are C99 hex-float literals, exact and the same text on every host.
 * Arrays are written in value order, 8 to 16 numbers per line.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "emit_internal.h"

const char *ec_ctype(RtDtype t) {
    switch (t) {
    case RT_F32: return "float";
    case RT_I8: return "int8_t";
    case RT_U8: return "uint8_t";
    case RT_I16: return "int16_t";
    case RT_U16: return "uint16_t";
    case RT_I32: return "int32_t";
    case RT_I64: return "int64_t";
    case RT_U32: return "uint32_t";
    case RT_U64: return "uint64_t";
    case RT_F64: return "double";
    case RT_BOOL: return "uint8_t";
    default: return NULL;
    }
}

void ec_float_lit(char *buf, size_t n, float v) {
    if (isinf(v)) snprintf(buf, n, "%sHUGE_VALF", v < 0 ? "-" : "");
    else if (v == 0 && signbit(v)) snprintf(buf, n, "-0.0f");
    else snprintf(buf, n, "%af", (double)v);
}

/* A value name fit for a C comment: no '*' or '/' pairs, no control or non-ASCII bytes. */
static void comment_name(const char *s, char *buf, size_t n) {
    size_t j = 0;
    for (; s && *s && j + 1 < n; s++) {
        unsigned char ch = (unsigned char)*s;
        buf[j++] = (ch < 32 || ch > 126 || ch == '*' || ch == '/' || ch == '\\' || ch == '?') ? '_' : (char)ch;
    }
    buf[j] = '\0';
}

const char *ec_const_name(const EcCtx *c, int v, char *buf, size_t n) {
    if (c->o->split_weights) snprintf(buf, n, "%s_w%d", c->o->prefix, v);
    else snprintf(buf, n, "w%d", v);
    return buf;
}

static void array_write(const EcCtx *c, TextBuf *out, TextBuf *decl, const RtTensor *t, int v) {
    int64_t n = rt_numel(t);
    const char *ct = ec_ctype(t->dtype);
    int per_line = t->dtype == RT_F32 ? 6 : 16;
    char name[96];
    ec_const_name(c, v, name, sizeof name);
    if (c->o->split_weights) text_buf_printf(decl, "extern const %s %s[%lld];\n", ct, name, (long long)(n > 0 ? n : 1));
    text_buf_printf(out, "%sconst %s %s[%lld] = {", c->o->split_weights ? "" : "static ", ct, name,
                    (long long)(n > 0 ? n : 1));
    if (n == 0) text_buf_printf(out, "0");
    for (int64_t i = 0; i < n; i++) {
        if (i % per_line == 0) text_buf_printf(out, "\n    ");
        switch (t->dtype) {
        case RT_F32: {
            char lit[64];
            ec_float_lit(lit, sizeof lit, ((const float *)t->data)[i]);
            text_buf_printf(out, "%s,%s", lit, (i + 1) % per_line && i + 1 < n ? " " : "");
            break;
        }
        case RT_I32: {
            int32_t x = ((const int32_t *)t->data)[i];
            /* INT32_MIN has no literal of type int */
            if (x == INT32_MIN) text_buf_printf(out, "INT32_MIN,");
            else text_buf_printf(out, "%ld,", (long)x);
            if ((i + 1) % per_line && i + 1 < n) text_buf_printf(out, " ");
            break;
        }
        case RT_I64: {
            long long x = (long long)((const int64_t *)t->data)[i];
            /* int64 literals as long long (C99); INT64_MIN has no literal */
            if (x == INT64_MIN) text_buf_printf(out, "INT64_MIN,");
            else if (x < INT32_MIN || x > INT32_MAX) text_buf_printf(out, "%lldLL,", x);
            else text_buf_printf(out, "%lld,", x);
            if ((i + 1) % per_line && i + 1 < n) text_buf_printf(out, " ");
            break;
        }
        case RT_F64: { /* exact: a hex literal of type double; infinities as HUGE_VAL */
            double x = ((const double *)t->data)[i];
            if (isinf(x)) text_buf_printf(out, "%sHUGE_VAL,", x < 0 ? "-" : "");
            else text_buf_printf(out, "%a,", x);
            if ((i + 1) % per_line && i + 1 < n) text_buf_printf(out, " ");
            break;
        }
        case RT_U32: case RT_U64: /* unsigned literals: 2^32 - 1 and above have no int literal */
            text_buf_printf(out, "%lluULL,", (unsigned long long)(t->dtype == RT_U32 ? ((const uint32_t *)t->data)[i]
                                                                                     : ((const uint64_t *)t->data)[i]));
            if ((i + 1) % per_line && i + 1 < n) text_buf_printf(out, " ");
            break;
        default:
            text_buf_printf(out, "%ld,", (long)rt_get_i64(t, i));
            if ((i + 1) % per_line && i + 1 < n) text_buf_printf(out, " ");
            break;
        }
    }
    text_buf_printf(out, "\n};\n");
}

int ec_weights_write(EcCtx *c, TextBuf *out, TextBuf *decl, int64_t *bytes) {
    *bytes = 0;
    for (int v = 0; v < c->g->n_values; v++) {
        if (!c->uses_const[v]) continue;
        const IrValue *iv = &c->g->values[v];
        const RtTensor *t = iv->konst;
        if (!ec_ctype(t->dtype))
            return rt_error_set(c->err, "constant '%s' has dtype %s, which emit-c does not write", iv->name,
                                rt_dtype_name(t->dtype));
        if (t->dtype == RT_F32)
            for (int64_t i = 0; i < rt_numel(t); i++)
                if (isnan(((const float *)t->data)[i]))
                    return rt_error_set(c->err, "constant '%s' holds NaN, which emit-c does not write", iv->name);
        if (t->dtype == RT_F64)
            for (int64_t i = 0; i < rt_numel(t); i++)
                if (isnan(((const double *)t->data)[i]))
                    return rt_error_set(c->err, "constant '%s' holds NaN, which emit-c does not write", iv->name);
        char name[256], shape[128];
        comment_name(iv->name, name, sizeof name);
        text_buf_printf(out, "/* %s: %s %s */\n", name, rt_dtype_name(t->dtype),
                        rt_shape_str(t->rank, t->dims, shape, sizeof shape));
        array_write(c, out, decl, t, v);
        *bytes += rt_nbytes(t);
    }
    return RT_OK;
}
