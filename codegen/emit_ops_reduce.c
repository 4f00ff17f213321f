/*
 * emit_ops_reduce.c — emit-c's emitters for reductions, ArgMax/ArgMin, softmax variants, normalizations, global pools.
 * (Table ec_ops_reduce, searched by ec_node_emit after emit_ops.c's.)
 *
 * Every loop here is written inline into NAME_run with the node's element type, mirroring
 * the runtime's reference kernels (runtime/kernels/ref/reduce.c, activation.c, norm*.c,
 * pool.c, loss.c) so that integer results are bit-exact and float results agree to a few
 * ulps:
 *   ReduceX   the reduced axes form a mask; size-1 dims are dropped and neighbours of the
 *             same kind merged (the runtime's walk). Kept merged axes index the outputs,
 *             reduced ones the steps of one reduction; the last reduced merged axis is an
 *             inner strided loop, the others (and the kept ones) go through wk_reduce_off
 *             (template b0_reduce_off), so any set of axes is one emitter. Each output folds
 *             its elements in input memory order, as the runtime's row walk does: floats in
 *             double, integers in 64-bit wrapping arithmetic truncated to the type at the end.
 *   ArgMax/Min, CumSum, softmax family: an [outer, n, inner] view around the axis.
 * Anything the C cannot do the runtime's way is refused by name (ec_fail).
 */
#include "emit_ops_common.h"

#include <float.h>

#include "../runtime/kernels/ref/conv_geom.h"

static int red_is_float(RtDtype t) { return t == RT_F32 || t == RT_F64; }

static int red_is_unsigned(RtDtype t) {
    return t == RT_U8 || t == RT_U16 || t == RT_U32 || t == RT_U64 || t == RT_BOOL;
}

/* The node's dtype check: an element type emit-c writes. */
static int red_need_ctype(EcCtx *c, int k, const RtTensor *t, const char *what, const char **ct) {
    if (!t) return ec_fail(c, k, RT_ERR, "input %s is required", what);
    *ct = ec_ctype(t->dtype);
    if (!*ct) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "%s has dtype %s, which emit-c has no C type for", what,
                             rt_dtype_name(t->dtype));
    return RT_OK;
}

/* ---------------------------------------------------------------- ReduceX */

/* One axis set as an emit-time walk: kept merged axes (output order) and reduced merged
 * axes, each with its extent and input stride (elements). */
typedef struct {
    int nk, nr;
    int32_t kd[RT_MAX_RANK], ks[RT_MAX_RANK]; /* kept extents, input strides */
    int32_t rd[RT_MAX_RANK], rs[RT_MAX_RANK]; /* reduced extents, input strides */
    int64_t count;                            /* elements per output (product of reduced dims) */
} RedPlan;

/* mask[i] = 1 for reduced axes of dims. Size-1 axes are dropped, neighbours of the same kind
 * merged (a merged axis spans contiguous memory, so its stride is the inner one's). */
static void red_plan_make(RedPlan *p, int rank, const int64_t *dims, const unsigned char *mask) {
    int64_t md[RT_MAX_RANK];
    unsigned char kind[RT_MAX_RANK];
    int r = 0;
    memset(p, 0, sizeof *p);
    for (int i = 0; i < rank; i++) {
        if (dims[i] == 1) continue;
        if (r > 0 && kind[r - 1] == mask[i]) md[r - 1] *= dims[i];
        else kind[r] = mask[i], md[r++] = dims[i];
    }
    int64_t st[RT_MAX_RANK], s = 1;
    for (int i = r - 1; i >= 0; i--) st[i] = s, s *= md[i];
    p->count = 1;
    for (int i = 0; i < r; i++) {
        if (kind[i]) {
            p->rd[p->nr] = (int32_t)md[i], p->rs[p->nr++] = (int32_t)st[i];
            p->count *= md[i];
        } else {
            p->kd[p->nk] = (int32_t)md[i], p->ks[p->nk++] = (int32_t)st[i];
        }
    }
}

typedef enum { RK_SUM, RK_MEAN, RK_MAX, RK_MIN, RK_PROD, RK_L1, RK_L2, RK_LOG_SUM, RK_LSE, RK_SUM_SQUARE } RedKind;

static RedKind red_kind(int op) {
    switch (op) {
    case RT_OP_REDUCE_MEAN: return RK_MEAN;
    case RT_OP_REDUCE_MAX: return RK_MAX;
    case RT_OP_REDUCE_MIN: return RK_MIN;
    case RT_OP_REDUCE_PROD: return RK_PROD;
    case RT_OP_REDUCE_L1: return RK_L1;
    case RT_OP_REDUCE_L2: return RK_L2;
    case RT_OP_REDUCE_LOG_SUM: return RK_LOG_SUM;
    case RT_OP_REDUCE_LOG_SUM_EXP: return RK_LSE;
    case RT_OP_REDUCE_SUM_SQUARE: return RK_SUM_SQUARE;
    default: return RK_SUM;
    }
}

/* The reduced-axes mask, read as the runtime's reduce_axes does: attribute 'axes' (older
 * opsets) or constant input 1 (ReduceSum from 13, the others from 18); none = all axes,
 * or none at all with noop_with_empty_axes. */
static int red_axes(EcCtx *c, int k, const RtNode *n, int rank, unsigned char *mask) {
    const int64_t *attr = NULL;
    int na = rt_attr_ints(n, "axes", &attr);
    int has_in = n->n_in > 1 && n->in[1] >= 0;
    const RtTensor *ax = kin(c, n, 1);
    if (has_in && !ax)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "input 'axes' is computed at run time; emit-c needs it constant "
                                                 "(e.g. --freeze-input)");
    if (na >= 0 && ax) return ec_fail(c, k, RT_ERR, "axes given both as attribute and as input");
    int count = na > 0 ? na : 0;
    if (ax) {
        if (ax->rank > 1 || (ax->dtype != RT_I64 && ax->dtype != RT_I32))
            return ec_fail(c, k, RT_ERR, "input 'axes' must be a 1-D int64 tensor");
        count = (int)rt_numel(ax);
    }
    if (count > rank) return ec_fail(c, k, RT_ERR, "%d axes given for an input of rank %d", count, rank);
    memset(mask, 0, RT_MAX_RANK);
    if (count == 0) {
        if (!rt_attr_int(n, "noop_with_empty_axes", 0)) memset(mask, 1, (size_t)rank);
        return RT_OK;
    }
    for (int i = 0; i < count; i++) {
        int64_t a = ax ? rt_get_i64(ax, i) : attr[i];
        if (a < 0) a += rank;
        if (a < 0 || a >= rank) return ec_fail(c, k, RT_ERR, "axes value %lld is out of range", (long long)(ax ? rt_get_i64(ax, i) : attr[i]));
        if (mask[a]) return ec_fail(c, k, RT_ERR, "axis %lld appears twice in 'axes'", (long long)a);
        mask[a] = 1;
    }
    return RT_OK;
}

/* The statements that visit every element of output o (xo points at its first): `v` holds
 * each (converted to VT) inside BODY. The last reduced merged axis is the inner loop. */
static void red_visit(EcCtx *c, int k, const RedPlan *p, const char *xt, const char *vt, const char *body) {
    int32_t L = p->nr ? p->rd[p->nr - 1] : 1, S = p->nr ? p->rs[p->nr - 1] : 0;
    int64_t steps = L ? p->count / L : 0;
    if (p->count == 0) return;
    text_buf_printf(&c->body, "            for (r = 0; r < %lld; r++) {\n", (long long)steps);
    if (p->nr > 1)
        text_buf_printf(&c->body, "                const %s *q = xo + wk_reduce_off(r, %d, n%d_rd, n%d_rs);\n", xt,
                        p->nr - 1, k, k);
    else
        text_buf_printf(&c->body, "                const %s *q = xo;\n", xt);
    text_buf_printf(&c->body, "                for (j = 0; j < %ld; j++) {\n                    %s v = (%s)q[j * %ld];\n"
                              "                    %s\n                }\n            }\n",
                    (long)L, vt, vt, (long)S, body);
}

static int e_reduce(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *y = yval(c, n);
    const char *xt;
    RT_TRY(red_need_ctype(c, k, x, "input 'data'", &xt));
    unsigned char mask[RT_MAX_RANK];
    RT_TRY(red_axes(c, k, n, x->rank, mask));
    RedPlan p;
    red_plan_make(&p, x->rank, x->dims, mask);
    RedKind rk = red_kind(n->op);
    int64_t on = rt_numel(y);
    if (on == 0) {
        text_buf_printf(&c->body, "    /* node %d: empty output */\n", k);
        return RT_OK;
    }
    /* floats, and integer L2 / LogSum / LogSumExp, fold in double (the runtime's float path) */
    int fpath = red_is_float(x->dtype) || rk == RK_L2 || rk == RK_LOG_SUM || rk == RK_LSE;
    int uns = red_is_unsigned(x->dtype);
    if (p.nk) {
        decl_i32s(c, k, "kd", p.kd, p.nk);
        decl_i32s(c, k, "ks", p.ks, p.nk);
    }
    if (p.nr > 1) {
        decl_i32s(c, k, "rd", p.rd, p.nr - 1);
        decl_i32s(c, k, "rs", p.rs, p.nr - 1);
    }
    if (p.nk || p.nr > 1) ec_tpl_use(c, "b0_reduce_off");
    char px[160], py[160];
    ec_ptr(c, n->in[0], 1, px, sizeof px);
    ec_ptr(c, n->out[0], 0, py, sizeof py);
    text_buf_printf(&c->body, "    {\n        const %s *x = %s;\n        %s *y = %s;\n"
                              "        int32_t o, r, j;\n        (void)r, (void)j;\n        for (o = 0; o < %lld; o++) {\n",
                    xt, px, xt, py, (long long)on);
    if (p.nk)
        text_buf_printf(&c->body, "            const %s *xo = x + wk_reduce_off(o, %d, n%d_kd, n%d_ks);\n", xt, p.nk, k, k);
    else
        text_buf_printf(&c->body, "            const %s *xo = x;\n", xt);
    text_buf_printf(&c->body, "            (void)xo;\n");
    if (fpath) {
        const char *init = rk == RK_PROD ? "1.0" : rk == RK_MAX || rk == RK_LSE ? "-HUGE_VAL" : rk == RK_MIN ? "HUGE_VAL" : "0.0";
        text_buf_printf(&c->body, "            double a = %s;\n", init);
        const char *body;
        switch (rk) {
        case RK_MAX: case RK_LSE: body = "if (v > a || v != v) { if (a == a) a = v; }"; break;
        case RK_MIN: body = "if (v < a || v != v) { if (a == a) a = v; }"; break;
        case RK_PROD: body = "a *= v;"; break;
        case RK_L1: body = "a += v < 0 ? -v : v;"; break;
        case RK_L2: case RK_SUM_SQUARE: body = "a += v * v;"; break;
        default: body = "a += v;"; break;
        }
        red_visit(c, k, &p, xt, "double", body);
        if (rk == RK_LSE) {
            if (p.count) ec_tpl_use(c, "b0_reduce_exp");
            text_buf_printf(&c->body, "            {\n            double m = a;\n            a = 0.0;\n"
                                      "            if (m - m == 0.0) {\n");
            red_visit(c, k, &p, xt, "double", "a += wk_reduce_exp(v - m);");
            ec_tpl_use(c, "b0_reduce_log");
            text_buf_printf(&c->body, "            }\n            a = m - m != 0.0 ? m : m + wk_reduce_log(a);\n            }\n");
        } else if (rk == RK_MEAN) {
            text_buf_printf(&c->body, "            a = a / %lld.0;\n", (long long)p.count);
        } else if (rk == RK_L2) {
            ec_tpl_use(c, "b0_reduce_sqrt");
            text_buf_printf(&c->body, "            a = wk_reduce_sqrt(a);\n");
        } else if (rk == RK_LOG_SUM) {
            ec_tpl_use(c, "b0_reduce_log");
            text_buf_printf(&c->body, "            a = wk_reduce_log(a);\n");
        }
        if (red_is_float(y->dtype)) {
            text_buf_printf(&c->body, "            y[o] = (%s)a;\n", xt);
        } else {
            ec_tpl_use(c, "b0_reduce_f2i");
            if (y->dtype == RT_BOOL) text_buf_printf(&c->body, "            y[o] = (%s)(wk_reduce_f2i(a, 0) != 0);\n", xt);
            else text_buf_printf(&c->body, "            y[o] = (%s)wk_reduce_f2i(a, %d);\n", xt, y->dtype == RT_U64);
        }
    } else {
        /* integer accumulators: 64-bit wrapping (unsigned arithmetic), signed values sign-extended */
        static const char *const imin[] = {"0", "(uint64_t)(int64_t)INT8_MIN", "(uint64_t)(int64_t)INT16_MIN",
                                           "(uint64_t)(int64_t)INT32_MIN", "(uint64_t)INT64_MIN"};
        static const char *const imax[] = {"UINT64_MAX", "(uint64_t)INT8_MAX", "(uint64_t)INT16_MAX",
                                           "(uint64_t)INT32_MAX", "(uint64_t)INT64_MAX"};
        int w = x->dtype == RT_I8 ? 1 : x->dtype == RT_I16 ? 2 : x->dtype == RT_I32 ? 3 : x->dtype == RT_I64 ? 4 : 0;
        const char *init = "0", *umax = NULL;
        switch (x->dtype) {
        case RT_U8: umax = "(uint64_t)UINT8_MAX"; break;
        case RT_BOOL: umax = "(uint64_t)1"; break;
        case RT_U16: umax = "(uint64_t)UINT16_MAX"; break;
        case RT_U32: umax = "(uint64_t)UINT32_MAX"; break;
        default: umax = imax[w]; break;
        }
        if (rk == RK_PROD) init = "1";
        else if (rk == RK_MAX) init = imin[w];
        else if (rk == RK_MIN) init = umax;
        text_buf_printf(&c->body, "            uint64_t a = %s;\n", init);
        char body[256];
        const char *gt = uns ? "v > a" : "(int64_t)v > (int64_t)a", *lt = uns ? "v < a" : "(int64_t)v < (int64_t)a";
        switch (rk) {
        case RK_MAX: snprintf(body, sizeof body, "if (%s) a = v;", gt); break;
        case RK_MIN: snprintf(body, sizeof body, "if (%s) a = v;", lt); break;
        case RK_PROD: snprintf(body, sizeof body, "a *= v;"); break;
        case RK_L1: snprintf(body, sizeof body, uns ? "a += v;" : "a += (int64_t)v < 0 ? (uint64_t)0 - v : v;"); break;
        case RK_SUM_SQUARE: snprintf(body, sizeof body, "a += v * v;"); break;
        default: snprintf(body, sizeof body, "a += v;"); break;
        }
        /* (uint64_t) of a negative element is its sign-extended bits (C's modular conversion) */
        red_visit(c, k, &p, xt, "uint64_t", body);
        if (rk == RK_MEAN) {
            /* truncating division, as the reference's mean-then-cast does */
            if (p.count == 0) text_buf_printf(&c->body, "            a = 0;\n");
            else if (uns) text_buf_printf(&c->body, "            a = a / (uint64_t)%lld;\n", (long long)p.count);
            else text_buf_printf(&c->body, "            a = (uint64_t)((int64_t)a / (int64_t)%lld);\n", (long long)p.count);
        }
        if (y->dtype == RT_BOOL) text_buf_printf(&c->body, "            y[o] = (%s)(a != 0);\n", xt);
        else text_buf_printf(&c->body, "            y[o] = (%s)a;\n", xt);
    }
    text_buf_printf(&c->body, "        }\n    }\n");
    return RT_OK;
}

/* ---------------------------------------------------------------- helpers of the axis ops */

/* A float tensor (float32 or float64; float16 / bfloat16 have no C type here). */
static int red_need_float(EcCtx *c, int k, const RtTensor *t, const char *what, const char **ct) {
    if (!t) return ec_fail(c, k, RT_ERR, "input %s is required", what);
    if (!red_is_float(t->dtype))
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "%s has dtype %s; emit-c computes this op in float32 or float64", what,
                       rt_dtype_name(t->dtype));
    *ct = ec_ctype(t->dtype);
    return RT_OK;
}

/* An axis attribute (or value) normalized against rank. */
static int red_axis(EcCtx *c, int k, int64_t a, int rank, const char *what, int *axis) {
    if (a < 0) a += rank;
    if (a < 0 || a >= rank) return ec_fail(c, k, RT_ERR, "%s is out of range for rank %d", what, rank);
    *axis = (int)a;
    return RT_OK;
}

/* A double as an exact C99 hex literal (finite values only). */
static int red_double_lit(EcCtx *c, int k, double v, const char *what, char *buf, size_t n) {
    if (!isfinite(v)) return ec_fail(c, k, RT_ERR, "%s = %g is not a finite number", what, v);
    snprintf(buf, n, "%a", v);
    return RT_OK;
}

/* outer, n, inner around axis: x viewed as [outer, n, inner]. */
static void red_view(const RtTensor *x, int axis, int64_t *outer, int64_t *len, int64_t *inner) {
    *outer = rt_shape_numel(axis, x->dims);
    *len = x->dims[axis];
    *inner = rt_shape_numel(x->rank - axis - 1, x->dims + axis + 1);
}

/* ---------------------------------------------------------------- ArgMax, ArgMin */

/* Index of the first (select_last_index: last) maximum / minimum along axis, as int64, by
 * the element type's own order (NaN never wins over an earlier value, as in the runtime). */
static int e_arg(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *y = yval(c, n);
    const char *xt;
    RT_TRY(red_need_ctype(c, k, x, "input 'data'", &xt));
    if (x->rank < 1) return ec_fail(c, k, RT_ERR, "input 'data' must have rank >= 1");
    int axis = 0;
    RT_TRY(red_axis(c, k, rt_attr_int(n, "axis", 0), x->rank, "attribute 'axis'", &axis));
    int last = rt_attr_int(n, "select_last_index", 0) != 0;
    int64_t outer, len, inner;
    red_view(x, axis, &outer, &len, &inner);
    if (rt_numel(y) == 0) {
        text_buf_printf(&c->body, "    /* node %d: empty output */\n", k);
        return RT_OK;
    }
    if (len == 0) return ec_fail(c, k, RT_ERR, "cannot take the arg over an axis of size 0");
    char px[96], py[96];
    const char *cmp = n->op == RT_OP_ARG_MAX ? ">" : "<";
    text_buf_printf(&c->body,
                    "    {\n        const %s *x = %s;\n        int64_t *y = %s;\n        int32_t o, i, j;\n"
                    "        for (o = 0; o < %lld; o++)\n            for (i = 0; i < %lld; i++) {\n"
                    "                const %s *p = x + o * %lld + i;\n                %s b = p[0];\n"
                    "                int32_t best = 0;\n                for (j = 1; j < %lld; j++) {\n"
                    "                    %s e = p[j * %lld];\n                    if (e %s b%s) {\n"
                    "                        b = e;\n                        best = j;\n                    }\n"
                    "                }\n                y[o * %lld + i] = best;\n            }\n    }\n",
                    xt, P(c, n, 0, px), Y(c, n, py), (long long)outer, (long long)inner, xt, (long long)(len * inner), xt,
                    (long long)len, xt, (long long)inner, cmp, last ? " || e == b" : "", (long long)inner);
    return RT_OK;
}

/* ---------------------------------------------------------------- LogSoftmax, Hardmax */

/* The runtime's softmax family (ref/norm.c): rows of length n (stride inner) of the
 * [outer, n, inner] view; before opset 13 the input is coerced to 2-D at axis (n = the
 * product of dims[axis:], inner = 1). Hardmax marks the first maximum. LogSoftmax: float32
 * rows with inner = 1 take float exp (sum in double) and y = (x - max) - (float)log(sum);
 * otherwise everything is in double, y = x - max - log(sum). */
static int e_softmax_family(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0);
    const char *xt;
    RT_TRY(red_need_float(c, k, x, "input", &xt));
    if (x->rank < 1) return ec_fail(c, k, RT_ERR, "input must have rank >= 1");
    int coerce2d = n->opset < 13, axis = 0;
    RT_TRY(red_axis(c, k, rt_attr_int(n, "axis", coerce2d ? 1 : -1), x->rank, "attribute 'axis'", &axis));
    int64_t outer = 1, len = 1, inner = 1;
    for (int i = 0; i < x->rank; i++) {
        if (i < axis) outer *= x->dims[i];
        else if (i == axis || coerce2d) len *= x->dims[i];
        else inner *= x->dims[i];
    }
    int hard = n->op == RT_OP_HARDMAX;
    if (rt_numel(x) == 0) {
        text_buf_printf(&c->body, "    /* node %d: empty tensor */\n", k);
        return RT_OK;
    }
    char px[96], py[96];
    text_buf_printf(&c->body,
                    "    {\n        const %s *x = %s;\n        %s *y = %s;\n        int32_t o, i, j;\n"
                    "        for (o = 0; o < %lld; o++)\n            for (i = 0; i < %lld; i++) {\n"
                    "                const %s *p = x + o * %lld + i;\n                %s *q = y + o * %lld + i;\n"
                    "                int32_t arg = 0;\n                for (j = 1; j < %lld; j++)\n"
                    "                    if (p[j * %lld] > p[arg * %lld]) arg = j;\n",
                    xt, P(c, n, 0, px), xt, Y(c, n, py), (long long)outer, (long long)inner, xt, (long long)(len * inner), xt,
                    (long long)(len * inner), (long long)len, (long long)inner, (long long)inner);
    if (hard) {
        text_buf_printf(&c->body, "                for (j = 0; j < %lld; j++) q[j * %lld] = (%s)(j == arg ? 1 : 0);\n",
                        (long long)len, (long long)inner, xt);
    } else if (x->dtype == RT_F32 && inner == 1) {
        ec_tpl_use(c, "b0_exp");
        ec_tpl_use(c, "b0_reduce_log");
        text_buf_printf(&c->body,
                        "                {\n                    float m = p[arg], ls;\n                    double s = 0.0;\n"
                        "                    for (j = 0; j < %lld; j++) s += wk_expf(p[j] - m);\n"
                        "                    ls = (float)wk_reduce_log(s);\n"
                        "                    for (j = 0; j < %lld; j++) q[j] = (p[j] - m) - ls;\n                }\n",
                        (long long)len, (long long)len);
    } else {
        ec_tpl_use(c, "b0_reduce_exp");
        ec_tpl_use(c, "b0_reduce_log");
        text_buf_printf(&c->body,
                        "                {\n                    double m = (double)p[arg * %lld], s = 0.0, ls;\n"
                        "                    for (j = 0; j < %lld; j++) s += wk_reduce_exp((double)p[j * %lld] - m);\n"
                        "                    ls = wk_reduce_log(s);\n"
                        "                    for (j = 0; j < %lld; j++) q[j * %lld] = (%s)((double)p[j * %lld] - m - ls);\n"
                        "                }\n",
                        (long long)inner, (long long)len, (long long)inner, (long long)len, (long long)inner, xt,
                        (long long)inner);
    }
    text_buf_printf(&c->body, "            }\n    }\n");
    return RT_OK;
}

/* ---------------------------------------------------------------- BatchNormalization, InstanceNormalization */

/* Inference BatchNormalization (ref/norm.c): per channel a = scale / sqrt(var + epsilon),
 * b = B - mean * a in double, y = x * a + b. spatial = 0 (before opset 9) keeps one set per
 * activation: the same loop with C = C x D1 x ... and S = 1. Training mode (statistics
 * outputs) is refused: the C is inference only. */
static int e_batch_norm(EcCtx *c, int k, const RtNode *n) {
    static const char *const names[5] = {"X", "scale", "B", "input_mean", "input_var"};
    const RtTensor *x = vin(c, n, 0);
    const char *xt, *pt[5];
    RT_TRY(red_need_float(c, k, x, "input X", &xt));
    if (x->rank < 2) return ec_fail(c, k, RT_ERR, "input X must be [N, C, ...]");
    int training = 0;
    if (n->opset >= 14) training = rt_attr_int(n, "training_mode", 0) != 0;
    else
        for (int i = 1; i < n->n_out; i++) training |= n->out[i] >= 0;
    if (training)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "training mode (batch statistics and running-statistics outputs): "
                                                 "emit-c writes inference code only");
    int64_t N = x->dims[0], C = x->dims[1], S = rt_shape_numel(x->rank - 2, x->dims + 2);
    if (n->opset < 9 && rt_attr_int(n, "spatial", 1) == 0) C = C * S, S = 1;
    for (int i = 1; i < 5; i++) {
        RT_TRY(red_need_float(c, k, vin(c, n, i), names[i], &pt[i]));
        if (rt_numel(vin(c, n, i)) != C)
            return ec_fail(c, k, RT_ERR, "input %s must hold %lld values", names[i], (long long)C);
    }
    char eps[64], px[96], py[96], p1[96], p2[96], p3[96], p4[96];
    RT_TRY(red_double_lit(c, k, (double)rt_attr_float(n, "epsilon", 1e-5f), "attribute epsilon", eps, sizeof eps));
    ec_tpl_use(c, "b0_reduce_sqrt");
    text_buf_printf(&c->body,
                    "    {\n        const %s *x = %s;\n        %s *y = %s;\n        const %s *sc = %s;\n"
                    "        const %s *bi = %s;\n        const %s *mean = %s;\n        const %s *var = %s;\n"
                    "        int32_t b, ch, s;\n        for (ch = 0; ch < %lld; ch++) {\n"
                    "            double a = (double)sc[ch] / wk_reduce_sqrt((double)var[ch] + %s);\n"
                    "            double b0 = (double)bi[ch] - (double)mean[ch] * a;\n"
                    "            for (b = 0; b < %lld; b++) {\n"
                    "                const %s *xs = x + ((int32_t)b * %lld + ch) * %lld;\n"
                    "                %s *ys = y + ((int32_t)b * %lld + ch) * %lld;\n"
                    "                for (s = 0; s < %lld; s++) ys[s] = (%s)(xs[s] * a + b0);\n            }\n        }\n    }\n",
                    xt, P(c, n, 0, px), xt, Y(c, n, py), pt[1], P(c, n, 1, p1), pt[2], P(c, n, 2, p2), pt[3],
                    P(c, n, 3, p3), pt[4], P(c, n, 4, p4), (long long)C, eps, (long long)N, xt, (long long)C,
                    (long long)S, xt, (long long)C, (long long)S, (long long)S, xt);
    return RT_OK;
}

/* Writes the statements that set `mean` and `var` (population, double, two passes) of the
 * len elements xs[0..len) — the runtime's channel_stats order. */
static void red_stats_emit(EcCtx *c, const char *ind, long long len) {
    text_buf_printf(&c->body,
                    "%sdouble mean = 0.0, var = 0.0;\n%sfor (s = 0; s < %lld; s++) mean += xs[s];\n"
                    "%smean /= (double)%lld;\n%sfor (s = 0; s < %lld; s++) {\n%s    double d = xs[s] - mean;\n"
                    "%s    var += d * d;\n%s}\n%svar /= (double)%lld;\n",
                    ind, ind, len, ind, len, ind, len, ind, ind, ind, ind, len);
}

/* InstanceNormalization: per (n, c) mean and variance over the spatial positions (double),
 * a = scale / sqrt(var + epsilon), b = B - mean * a, y = x * a + b (ref/norm.c). */
static int e_instance_norm(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0);
    const char *xt, *st, *bt;
    RT_TRY(red_need_float(c, k, x, "input", &xt));
    if (x->rank < 2) return ec_fail(c, k, RT_ERR, "input must be [N, C, ...]");
    RT_TRY(red_need_float(c, k, vin(c, n, 1), "scale", &st));
    RT_TRY(red_need_float(c, k, vin(c, n, 2), "B", &bt));
    int64_t N = x->dims[0], C = x->dims[1], S = rt_shape_numel(x->rank - 2, x->dims + 2);
    if (rt_numel(vin(c, n, 1)) != C || rt_numel(vin(c, n, 2)) != C)
        return ec_fail(c, k, RT_ERR, "scale and B must hold one value per channel (%lld)", (long long)C);
    char eps[64], px[96], py[96], p1[96], p2[96];
    RT_TRY(red_double_lit(c, k, (double)rt_attr_float(n, "epsilon", 1e-5f), "attribute epsilon", eps, sizeof eps));
    ec_tpl_use(c, "b0_reduce_sqrt");
    text_buf_printf(&c->body,
                    "    {\n        const %s *x = %s;\n        %s *y = %s;\n        const %s *sc = %s;\n"
                    "        const %s *bi = %s;\n        int32_t b, ch, s;\n"
                    "        for (b = 0; b < %lld; b++)\n            for (ch = 0; ch < %lld; ch++) {\n"
                    "                const %s *xs = x + (b * %lld + ch) * %lld;\n                %s *ys = y + (b * %lld + ch) * %lld;\n",
                    xt, P(c, n, 0, px), xt, Y(c, n, py), st, P(c, n, 1, p1), bt, P(c, n, 2, p2), (long long)N, (long long)C,
                    xt, (long long)C, (long long)S, xt, (long long)C, (long long)S);
    red_stats_emit(c, "                ", (long long)S);
    text_buf_printf(&c->body,
                    "                {\n                    double a = (double)sc[ch] / wk_reduce_sqrt(var + %s);\n"
                    "                    double b0 = (double)bi[ch] - mean * a;\n"
                    "                    for (s = 0; s < %lld; s++) ys[s] = (%s)(xs[s] * a + b0);\n                }\n"
                    "            }\n    }\n",
                    eps, (long long)S, xt);
    return RT_OK;
}

/* GroupNormalization (ref/norm_group.c): per (n, group) mean and variance in double over the
 * group's channels and positions; inv = 1 / sqrt(var + epsilon). All-float32: y = x * a + b
 * with a = inv * scale, b = bias - mean * a (double). Otherwise y = round_stash((x - mean) *
 * inv) * scale + bias. Opset 18 has one scale / bias per group, 21 one per channel. */
static int e_group_norm(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *sc = vin(c, n, 1), *bi = vin(c, n, 2);
    const char *xt, *st, *bt;
    RT_TRY(red_need_float(c, k, x, "input X", &xt));
    RT_TRY(red_need_float(c, k, sc, "scale", &st));
    RT_TRY(red_need_float(c, k, bi, "bias", &bt));
    if (x->rank < 2) return ec_fail(c, k, RT_ERR, "input X must be [N, C, ...]");
    const RtAttr *ga = rt_attr(n, "num_groups");
    if (!ga) return ec_fail(c, k, RT_ERR, "attribute num_groups is required");
    int64_t G = ga->i, C = x->dims[1], N = x->dims[0], S = rt_shape_numel(x->rank - 2, x->dims + 2);
    if (G < 1 || C % G != 0) return ec_fail(c, k, RT_ERR, "num_groups = %lld must divide C = %lld", (long long)G, (long long)C);
    int64_t stash = rt_attr_int(n, "stash_type", RT_F32);
    int per_channel = n->opset <= 0 || n->opset >= 21;
    if (!per_channel) stash = RT_F64;
    if (stash != RT_F32 && stash != RT_F64)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "stash_type %lld: emit-c rounds to float32 or float64 only", (long long)stash);
    int64_t want = per_channel ? C : G, cg = C / G, len = cg * S;
    if (rt_numel(sc) != want || rt_numel(bi) != want)
        return ec_fail(c, k, RT_ERR, "scale and bias must hold %lld values", (long long)want);
    int f32 = x->dtype == RT_F32 && sc->dtype == RT_F32 && bi->dtype == RT_F32;
    char eps[64], px[96], py[96], p1[96], p2[96];
    RT_TRY(red_double_lit(c, k, (double)rt_attr_float(n, "epsilon", 1e-5f), "attribute epsilon", eps, sizeof eps));
    ec_tpl_use(c, "b0_reduce_sqrt");
    text_buf_printf(&c->body,
                    "    {\n        const %s *x = %s;\n        %s *y = %s;\n        const %s *sc = %s;\n"
                    "        const %s *bi = %s;\n        int32_t b, g, ch, s;\n"
                    "        for (b = 0; b < %lld; b++)\n            for (g = 0; g < %lld; g++) {\n"
                    "                const %s *xs = x + (b * %lld + g * %lld) * %lld;\n"
                    "                %s *ys = y + (b * %lld + g * %lld) * %lld;\n",
                    xt, P(c, n, 0, px), xt, Y(c, n, py), st, P(c, n, 1, p1), bt, P(c, n, 2, p2), (long long)N, (long long)G,
                    xt, (long long)C, (long long)cg, (long long)S, xt, (long long)C, (long long)cg, (long long)S);
    red_stats_emit(c, "                ", (long long)(len ? len : 1));
    text_buf_printf(&c->body,
                    "                {\n                    double inv = 1.0 / wk_reduce_sqrt(var + %s);\n"
                    "                    for (ch = 0; ch < %lld; ch++) {\n",
                    eps, (long long)cg);
    /* kk: the scale / bias index of this channel (its own, or its group's) */
    if (per_channel) text_buf_printf(&c->body, "                        int32_t kk = g * %lld + ch;\n", (long long)cg);
    else text_buf_printf(&c->body, "                        int32_t kk = g;\n");
    if (f32)
        text_buf_printf(&c->body,
                        "                        double a = inv * sc[kk], bb = bi[kk] - mean * a;\n"
                        "                        for (s = 0; s < %lld; s++) ys[ch * %lld + s] = (float)(xs[ch * %lld + s] * a + bb);\n",
                        (long long)S, (long long)S, (long long)S);
    else
        text_buf_printf(&c->body,
                        "                        double sv = (double)sc[kk], bb = (double)bi[kk];\n"
                        "                        for (s = 0; s < %lld; s++)\n"
                        "                            ys[ch * %lld + s] = (%s)((double)(%s)(((double)xs[ch * %lld + s] - mean) * inv) * sv + bb);\n",
                        (long long)S, (long long)S, xt, stash == RT_F32 ? "float" : "double", (long long)S);
    text_buf_printf(&c->body, "                    }\n                }\n            }\n    }\n");
    return RT_OK;
}

/* ---------------------------------------------------------------- MeanVarianceNormalization, LpNormalization */

/* Epsilon of the spec's function body, added to the deviation (as the runtime's MVN_EPSILON). */
#define RED_MVN_EPSILON "0x1.12e0be826d695p-30" /* 1e-9 */

/* MeanVarianceNormalization (ref/norm.c): over `axes` (default [0, 2, 3]) each group of
 * elements agreeing on the other axes gets E[x] and E[x^2] (double, memory order), then
 * y = (x - E[x]) / (sqrt(max(E[x^2] - E[x]^2, 0)) + 1e-9). The groups are the kept axes of
 * the ReduceX walk; the second pass writes at the same offsets. */
static int e_mvn(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0);
    const char *xt;
    RT_TRY(red_need_float(c, k, x, "input", &xt));
    static const int64_t def_axes[3] = {0, 2, 3};
    const int64_t *axes = def_axes;
    int na = rt_attr_ints(n, "axes", &axes);
    if (na < 0) na = 3, axes = def_axes;
    unsigned char mask[RT_MAX_RANK] = {0};
    for (int i = 0; i < na; i++) {
        int a = 0;
        RT_TRY(red_axis(c, k, axes[i], x->rank, "attribute 'axes'", &a));
        mask[a] = 1;
    }
    if (rt_numel(x) == 0) {
        text_buf_printf(&c->body, "    /* node %d: empty tensor */\n", k);
        return RT_OK;
    }
    RedPlan p;
    red_plan_make(&p, x->rank, x->dims, mask);
    int64_t groups = p.count ? rt_numel(x) / p.count : 0;
    if (p.nk) {
        decl_i32s(c, k, "kd", p.kd, p.nk);
        decl_i32s(c, k, "ks", p.ks, p.nk);
    }
    if (p.nr > 1) {
        decl_i32s(c, k, "rd", p.rd, p.nr - 1);
        decl_i32s(c, k, "rs", p.rs, p.nr - 1);
    }
    if (p.nk || p.nr > 1) ec_tpl_use(c, "b0_reduce_off");
    ec_tpl_use(c, "b0_reduce_sqrt");
    char px[96], py[96];
    text_buf_printf(&c->body,
                    "    {\n        const %s *x = %s;\n        %s *y = %s;\n        int32_t o, r, j;\n"
                    "        for (o = 0; o < %lld; o++) {\n",
                    xt, P(c, n, 0, px), xt, Y(c, n, py), (long long)groups);
    if (p.nk) text_buf_printf(&c->body, "            const %s *xo = x + wk_reduce_off(o, %d, n%d_kd, n%d_ks);\n", xt, p.nk, k, k);
    else text_buf_printf(&c->body, "            const %s *xo = x;\n", xt);
    text_buf_printf(&c->body, "            double m = 0.0, m2 = 0.0, mean, var, den;\n");
    red_visit(c, k, &p, xt, "double", "m += v, m2 += v * v;");
    text_buf_printf(&c->body,
                    "            mean = m / %lld.0;\n            var = m2 / %lld.0 - mean * mean;\n"
                    "            den = wk_reduce_sqrt(var > 0 ? var : 0) + %s;\n",
                    (long long)p.count, (long long)p.count, RED_MVN_EPSILON);
    /* second pass: the same walk writes y at x's offsets */
    char body[160];
    snprintf(body, sizeof body, "y[(q - x) + j * %ld] = (%s)((v - mean) / den);", (long)(p.nr ? p.rs[p.nr - 1] : 0), xt);
    red_visit(c, k, &p, xt, "double", body);
    text_buf_printf(&c->body, "        }\n    }\n");
    return RT_OK;
}
/* LpNormalization (ref/lp.c): y = x / ||x||_p along axis (default -1), p = 1 or 2, the norm
 * in double; a line whose norm is 0 gives 0s. */
static int e_lp_norm(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0);
    const char *xt;
    RT_TRY(red_need_float(c, k, x, "input", &xt));
    int64_t pp = rt_attr_int(n, "p", 2);
    if (pp != 1 && pp != 2) return ec_fail(c, k, RT_ERR, "attribute p = %lld must be 1 or 2", (long long)pp);
    if (x->rank < 1) return ec_fail(c, k, RT_ERR, "input has rank 0; LpNormalization needs an axis");
    int axis = 0;
    RT_TRY(red_axis(c, k, rt_attr_int(n, "axis", -1), x->rank, "attribute 'axis'", &axis));
    int64_t outer, len, inner;
    red_view(x, axis, &outer, &len, &inner);
    if (rt_numel(x) == 0) {
        text_buf_printf(&c->body, "    /* node %d: empty tensor */\n", k);
        return RT_OK;
    }
    if (pp == 2) ec_tpl_use(c, "b0_reduce_sqrt");
    char px[96], py[96];
    text_buf_printf(&c->body,
                    "    {\n        const %s *x = %s;\n        %s *y = %s;\n        int32_t o, i, j;\n"
                    "        for (o = 0; o < %lld; o++)\n            for (i = 0; i < %lld; i++) {\n"
                    "                const %s *p = x + o * %lld + i;\n                %s *q = y + o * %lld + i;\n"
                    "                double acc = 0.0;\n                for (j = 0; j < %lld; j++) {\n"
                    "                    double v = p[j * %lld];\n                    acc += %s;\n                }\n"
                    "                acc = %s;\n"
                    "                for (j = 0; j < %lld; j++) q[j * %lld] = (%s)(acc == 0 ? 0.0 : p[j * %lld] / acc);\n"
                    "            }\n    }\n",
                    xt, P(c, n, 0, px), xt, Y(c, n, py), (long long)outer, (long long)inner, xt, (long long)(len * inner), xt,
                    (long long)(len * inner), (long long)len, (long long)inner, pp == 1 ? "v < 0 ? -v : v" : "v * v",
                    pp == 1 ? "acc" : "wk_reduce_sqrt(acc)", (long long)len, (long long)inner, xt, (long long)inner);
    return RT_OK;
}

/* RMSNormalization (ref/rms_norm.c): rows of len = prod(dims[axis:]); per row
 * inv = 1 / sqrt(mean(x^2) + epsilon) in double, y = x * inv * scale[j], scale broadcast
 * (numpy, from the right) to dims[axis:]: its index per j through wk_reduce_off with stride
 * 0 on broadcast axes, or j itself when scale has the full shape. */
static int e_rms_norm(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *sc = vin(c, n, 1);
    const char *xt, *st;
    RT_TRY(red_need_float(c, k, x, "input X", &xt));
    RT_TRY(red_need_float(c, k, sc, "scale", &st));
    if (x->rank < 1) return ec_fail(c, k, RT_ERR, "input X must have rank >= 1");
    int axis = 0;
    RT_TRY(red_axis(c, k, rt_attr_int(n, "axis", -1), x->rank, "attribute 'axis'", &axis));
    int64_t stash = rt_attr_int(n, "stash_type", RT_F32);
    if (stash <= 0 || stash >= RT_DTYPE_END || !rt_dtype_is_float((RtDtype)stash))
        return ec_fail(c, k, RT_ERR, "attribute stash_type = %lld is not a float type", (long long)stash);
    int nr = x->rank - axis;
    const int64_t *nd = x->dims + axis;
    if (sc->rank > nr) return ec_fail(c, k, RT_ERR, "scale has more axes than the normalized shape");
    int32_t dd[RT_MAX_RANK], ss[RT_MAX_RANK];
    int64_t stv = 1;
    int full = rt_numel(sc) == rt_shape_numel(nr, nd);
    for (int i = nr - 1; i >= 0; i--) {
        int si = i - (nr - sc->rank);
        int64_t sd = si >= 0 ? sc->dims[si] : 1;
        if (sd != 1 && sd != nd[i]) return ec_fail(c, k, RT_ERR, "scale does not broadcast to the normalized shape");
        dd[i] = (int32_t)nd[i];
        ss[i] = sd == 1 ? 0 : (int32_t)stv;
        stv *= sd;
    }
    int64_t len = rt_shape_numel(nr, nd), rows = len ? rt_numel(x) / len : 0;
    if (rows == 0) {
        text_buf_printf(&c->body, "    /* node %d: empty tensor */\n", k);
        return RT_OK;
    }
    char eps[64], px[96], py[96], p1[96], sidx[96];
    RT_TRY(red_double_lit(c, k, (double)rt_attr_float(n, "epsilon", 1e-5f), "attribute epsilon", eps, sizeof eps));
    if (full) {
        snprintf(sidx, sizeof sidx, "j");
    } else {
        decl_i32s(c, k, "sd", dd, nr);
        decl_i32s(c, k, "ss", ss, nr);
        ec_tpl_use(c, "b0_reduce_off");
        snprintf(sidx, sizeof sidx, "wk_reduce_off(j, %d, n%d_sd, n%d_ss)", nr, k, k);
    }
    ec_tpl_use(c, "b0_reduce_sqrt");
    text_buf_printf(&c->body,
                    "    {\n        const %s *x = %s;\n        %s *y = %s;\n        const %s *sc = %s;\n"
                    "        int32_t r, j;\n        for (r = 0; r < %lld; r++) {\n"
                    "            const %s *xs = x + r * %lld;\n            %s *ys = y + r * %lld;\n"
                    "            double ss = 0.0, inv;\n"
                    "            for (j = 0; j < %lld; j++) ss += (double)xs[j] * xs[j];\n"
                    "            inv = 1.0 / wk_reduce_sqrt(ss / %lld.0 + %s);\n"
                    "            for (j = 0; j < %lld; j++) ys[j] = (%s)((double)xs[j] * inv * (double)sc[%s]);\n"
                    "        }\n    }\n",
                    xt, P(c, n, 0, px), xt, Y(c, n, py), st, P(c, n, 1, p1), (long long)rows, xt, (long long)len, xt,
                    (long long)len, (long long)len, (long long)len, eps, (long long)len, xt, sidx);
    return RT_OK;
}

/* ---------------------------------------------------------------- GlobalMaxPool, GlobalLpPool */

/* p of LpPool / GlobalLpPool: INT (opset >= 2) or FLOAT (opset 1) attribute, default 2. */
static int red_lp_p(EcCtx *c, int k, const RtNode *n, double *p) {
    const RtAttr *a = rt_attr(n, "p");
    *p = !a ? 2.0 : a->type == RT_ATTR_FLOAT ? (double)a->f : (double)a->i;
    if (!(*p > 0) || !isfinite(*p)) return ec_fail(c, k, RT_ERR, "attribute p = %g must be > 0", *p);
    if (*p != 1.0 && *p != 2.0 && c->o->no_libm)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "p = %g needs pow(), which --no-libm excludes (p = 1 and 2 do not)", *p);
    return RT_OK;
}

/* GlobalMaxPool (float, int8, uint8) and GlobalLpPool (float) over each (n, c) plane
 * (ref/pool.c, ref/lp.c): the max in double starting at -inf (NaN never wins; int8 / uint8
 * start at the type's minimum, which is what the runtime's clamp of -inf gives), or
 * (sum |x|^p)^(1/p) in double with exact forms for p = 1, 2. */
static int e_global_pool(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0);
    const char *xt;
    int lp = n->op == RT_OP_GLOBAL_LP_POOL;
    if (x && !lp && (x->dtype == RT_I8 || x->dtype == RT_U8)) xt = ec_ctype(x->dtype);
    else RT_TRY(red_need_float(c, k, x, "input X", &xt));
    if (x->rank < 2) return ec_fail(c, k, RT_ERR, "input X has rank %d; expected (N, C, spatial...)", x->rank);
    double p = 2.0;
    if (lp) RT_TRY(red_lp_p(c, k, n, &p));
    int64_t planes = x->dims[0] * x->dims[1], pin = rt_shape_numel(x->rank - 2, x->dims + 2);
    if (planes == 0) {
        text_buf_printf(&c->body, "    /* node %d: empty output */\n", k);
        return RT_OK;
    }
    char px[96], py[96], pl[64] = "", term[128], fin[128];
    const char *init = "-HUGE_VAL", *acc_t = "double";
    if (!lp) {
        snprintf(term, sizeof term, "if (v > acc) acc = v;");
        snprintf(fin, sizeof fin, "acc");
        if (x->dtype == RT_I8) init = "-128", acc_t = "int32_t";
        if (x->dtype == RT_U8) init = "0", acc_t = "int32_t";
    } else {
        init = "0.0";
        if (p == 1.0) snprintf(term, sizeof term, "acc += v < 0 ? -v : v;"), snprintf(fin, sizeof fin, "acc");
        else if (p == 2.0) {
            ec_tpl_use(c, "b0_reduce_sqrt");
            snprintf(term, sizeof term, "acc += v * v;"), snprintf(fin, sizeof fin, "wk_reduce_sqrt(acc)");
        } else {
            RT_TRY(red_double_lit(c, k, p, "p", pl, sizeof pl));
            snprintf(term, sizeof term, "acc += pow(v < 0 ? -v : v, %s);", pl);
            snprintf(fin, sizeof fin, "pow(acc, 1.0 / %s)", pl);
        }
    }
    text_buf_printf(&c->body,
                    "    {\n        const %s *x = %s;\n        %s *y = %s;\n        int32_t o, i;\n"
                    "        for (o = 0; o < %lld; o++) {\n            %s acc = %s;\n"
                    "            for (i = 0; i < %lld; i++) {\n                %s v = x[o * %lld + i];\n"
                    "                %s\n            }\n            y[o] = (%s)%s;\n        }\n    }\n",
                    xt, P(c, n, 0, px), xt, Y(c, n, py), (long long)planes, acc_t, init, (long long)pin, acc_t,
                    (long long)pin, term, xt, fin);
    return RT_OK;
}

/* LpPool (ref/lp.c), 1-D to 3-D: the runtime's window geometry (conv_geom: kernel_shape,
 * strides, pads, auto_pad, dilations, ceil_mode) read at emit time into constants; each
 * output is (sum |x|^p)^(1/p) in double over the taps inside the input (padding adds 0). */
static int e_lp_pool(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0);
    const char *xt;
    RT_TRY(red_need_float(c, k, x, "input X", &xt));
    int nsp = x->rank - 2;
    if (nsp < 1 || nsp > RT_GEOM_MAX_SP) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "input X must have 1 to 3 spatial axes");
    double p = 2.0;
    RT_TRY(red_lp_p(c, k, n, &p));
    const int64_t *ks;
    if (rt_attr_ints(n, "kernel_shape", &ks) != nsp)
        return ec_fail(c, k, RT_ERR, "kernel_shape does not fit the input's %d spatial axes", nsp);
    RtError gerr = {{0}};
    RtKernelCtx kc;
    memset(&kc, 0, sizeof kc);
    kc.err = &gerr;
    RtConvGeom g;
    int64_t cm = rt_attr_int(n, "ceil_mode", 0);
    if (cm != 0 && cm != 1) return ec_fail(c, k, RT_ERR, "attribute ceil_mode must be 0 or 1");
    if (rt_geom_read(&kc, n, nsp, x->dims + 2, ks, &g) != RT_OK || rt_geom_forward(&kc, n, (int)cm, &g) != RT_OK)
        return ec_fail(c, k, RT_ERR, "%s", gerr.msg);
    int64_t planes = x->dims[0] * x->dims[1];
    if (planes * rt_geom_numel(g.out) == 0) {
        text_buf_printf(&c->body, "    /* node %d: empty output */\n", k);
        return RT_OK;
    }
    int32_t gv[18];
    const int64_t *f[6] = {g.in, g.out, g.k, g.stride, g.dil, g.pad0};
    for (int i = 0; i < 6; i++)
        for (int a = 0; a < 3; a++) gv[i * 3 + a] = (int32_t)f[i][a];
    decl_i32s(c, k, "g", gv, 18); /* in[3], out[3], kernel[3], stride[3], dilation[3], pad0[3] */
    char term[128], fin[128], pl[64], px[96], py[96];
    if (p == 1.0) snprintf(term, sizeof term, "acc += v < 0 ? -v : v;"), snprintf(fin, sizeof fin, "acc");
    else if (p == 2.0) {
        ec_tpl_use(c, "b0_reduce_sqrt");
        snprintf(term, sizeof term, "acc += v * v;"), snprintf(fin, sizeof fin, "wk_reduce_sqrt(acc)");
    } else {
        RT_TRY(red_double_lit(c, k, p, "p", pl, sizeof pl));
        snprintf(term, sizeof term, "acc += pow(v < 0 ? -v : v, %s);", pl);
        snprintf(fin, sizeof fin, "pow(acc, 1.0 / %s)", pl);
    }
    text_buf_printf(&c->body,
                    "    {\n        const int32_t *G = n%d_g;\n        const %s *x = %s;\n        %s *y = %s;\n"
                    "        int32_t pl, o[3], t[3], lo[3], hi[3], a, yo = 0;\n"
                    "        for (pl = 0; pl < %lld; pl++)\n"
                    "            for (o[0] = 0; o[0] < G[3]; o[0]++)\n"
                    "                for (o[1] = 0; o[1] < G[4]; o[1]++)\n"
                    "                    for (o[2] = 0; o[2] < G[5]; o[2]++) {\n"
                    "                        double acc = 0.0;\n"
                    "                        for (a = 0; a < 3; a++) { /* the taps inside the input */\n"
                    "                            int32_t st = o[a] * G[9 + a] - G[15 + a], d = G[12 + a], h;\n"
                    "                            lo[a] = st < 0 ? (-st + d - 1) / d : 0;\n"
                    "                            h = G[a] - st <= 0 ? 0 : (G[a] - st + d - 1) / d;\n"
                    "                            hi[a] = h < G[6 + a] ? h : G[6 + a];\n                        }\n"
                    "                        for (t[0] = lo[0]; t[0] < hi[0]; t[0]++)\n"
                    "                            for (t[1] = lo[1]; t[1] < hi[1]; t[1]++)\n"
                    "                                for (t[2] = lo[2]; t[2] < hi[2]; t[2]++) {\n"
                    "                                    int32_t i0 = o[0] * G[9] - G[15] + t[0] * G[12];\n"
                    "                                    int32_t i1 = o[1] * G[10] - G[16] + t[1] * G[13];\n"
                    "                                    int32_t i2 = o[2] * G[11] - G[17] + t[2] * G[14];\n"
                    "                                    double v = x[pl * %lld + (i0 * G[1] + i1) * G[2] + i2];\n"
                    "                                    %s\n                                }\n"
                    "                        y[yo++] = (%s)%s;\n                    }\n    }\n",
                    k, xt, P(c, n, 0, px), xt, Y(c, n, py), (long long)planes, (long long)rt_geom_numel(g.in), term, xt, fin);
    return RT_OK;
}

/* ---------------------------------------------------------------- CumSum */

/* CumSum (ref/reduce.c): along axis, inclusive or exclusive, forward or reverse; floats sum
 * in double, integers in 64-bit wrapping arithmetic. A constant axis is resolved here; an
 * axis computed at run time is read by the C (int32 or int64), and one out of range makes
 * NAME_run return 1 (as an out-of-range Gather index does). */
static int e_cumsum(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *axv = vin(c, n, 1), *ax = kin(c, n, 1);
    const char *xt;
    RT_TRY(red_need_ctype(c, k, x, "input 'x'", &xt));
    if (x->dtype == RT_BOOL) return ec_fail(c, k, RT_ERR, "input 'x' has unsupported dtype bool");
    if (x->rank < 1) return ec_fail(c, k, RT_ERR, "input 'x' must have rank >= 1");
    if (!axv || rt_numel(axv) != 1 || (axv->dtype != RT_I64 && axv->dtype != RT_I32))
        return ec_fail(c, k, RT_ERR, "input 'axis' must hold one int32 or int64 value");
    int excl = rt_attr_int(n, "exclusive", 0) != 0, rev = rt_attr_int(n, "reverse", 0) != 0;
    if (rt_numel(x) == 0) {
        text_buf_printf(&c->body, "    /* node %d: empty tensor */\n", k);
        return RT_OK;
    }
    int fl = red_is_float(x->dtype);
    const char *acc = fl ? "double" : "uint64_t";
    char px[96], py[96], pa[96];
    text_buf_printf(&c->body, "    {\n        const %s *x = %s;\n        %s *y = %s;\n        int32_t o, i, s, outer, len, inner;\n",
                    xt, P(c, n, 0, px), xt, Y(c, n, py));
    if (ax) {
        int axis = 0;
        RT_TRY(red_axis(c, k, rt_get_i64(ax, 0), x->rank, "input 'axis'", &axis));
        int64_t outer, len, inner;
        red_view(x, axis, &outer, &len, &inner);
        text_buf_printf(&c->body, "        outer = %lld, len = %lld, inner = %lld;\n", (long long)outer, (long long)len,
                        (long long)inner);
    } else {
        int32_t d[RT_MAX_RANK];
        for (int i = 0; i < x->rank; i++) d[i] = (int32_t)x->dims[i];
        decl_i32s(c, k, "dims", d, x->rank);
        text_buf_printf(&c->body,
                        "        {\n            int64_t a = (int64_t)%s[0];\n            int32_t d;\n"
                        "            if (a < 0) a += %d;\n            if (a < 0 || a >= %d) return 1;\n"
                        "            outer = 1, inner = 1, len = n%d_dims[a];\n"
                        "            for (d = 0; d < (int32_t)a; d++) outer *= n%d_dims[d];\n"
                        "            for (d = (int32_t)a + 1; d < %d; d++) inner *= n%d_dims[d];\n        }\n",
                        P(c, n, 1, pa), x->rank, x->rank, k, k, x->rank, k);
    }
    text_buf_printf(&c->body,
                    "        for (o = 0; o < outer; o++)\n            for (i = 0; i < inner; i++) {\n"
                    "                const %s *p = x + o * len * inner + i;\n                %s *q = y + o * len * inner + i;\n"
                    "                %s sum = 0;\n                for (s = 0; s < len; s++) {\n"
                    "                    int32_t at = (%s) * inner;\n"
                    "                    %s e = (%s)p[at];\n%s                    q[at] = (%s)sum;\n%s"
                    "                }\n            }\n    }\n",
                    xt, xt, acc, rev ? "len - 1 - s" : "s", acc, acc, excl ? "" : "                    sum += e;\n", xt,
                    excl ? "                    sum += e;\n" : "");
    return RT_OK;
}

/* ---------------------------------------------------------------- NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss */

/* The two losses (ref/loss.c) over input / scores [N, C, d...] (D positions per (n, c)) and
 * int32 / int64 targets [N, d...]: per (n, d) with class t, unless t == ignore_index,
 * w = weight[t] (1 without weight) and loss = -logprob[n, t, d] * w; reduction none (the
 * losses), sum, or mean (sum / sum of applied weights; 0 / 0 = NaN when all are ignored).
 * SoftmaxCrossEntropyLoss takes logprob = x - (max + log(sum exp(x - max))) along C per
 * (n, d), in double, and writes it as the optional second output. A target outside [0, C)
 * that is not ignore_index makes NAME_run return 1 (the runtime fails naming it). */
static int e_loss(EcCtx *c, int k, const RtNode *n) {
    int sce = n->op == RT_OP_SOFTMAX_CROSS_ENTROPY_LOSS;
    const RtTensor *x = vin(c, n, 0), *t = vin(c, n, 1), *w = vin(c, n, 2);
    const char *xt, *tt;
    RT_TRY(red_need_float(c, k, x, sce ? "scores" : "input", &xt));
    if (!t || (t->dtype != RT_I32 && t->dtype != RT_I64))
        return ec_fail(c, k, RT_ERR, "input %s must be int32 or int64", sce ? "labels" : "target");
    tt = ec_ctype(t->dtype);
    if (x->rank < 2) return ec_fail(c, k, RT_ERR, "input must have rank >= 2 ([N, C, ...])");
    int64_t N = x->dims[0], C = x->dims[1], D = rt_shape_numel(x->rank - 2, x->dims + 2);
    if (rt_numel(t) != N * D) return ec_fail(c, k, RT_ERR, "the target's shape does not match the input's");
    if (w && (w->dtype != x->dtype || rt_numel(w) != C))
        return ec_fail(c, k, RT_ERR, "input weight must be [%lld] of the input's dtype", (long long)C);
    const char *red = rt_attr_str(n, "reduction", "mean");
    int reduction = strcmp(red, "none") == 0 ? 0 : strcmp(red, "sum") == 0 ? 1 : strcmp(red, "mean") == 0 ? 2 : -1;
    if (reduction < 0) return ec_fail(c, k, RT_ERR, "attribute reduction must be none, sum or mean, got '%s'", red);
    int has_ii = rt_attr(n, "ignore_index") != NULL;
    long long ii = (long long)rt_attr_int(n, "ignore_index", 0);
    int lpo = sce && n->n_out > 1 && n->out[1] >= 0;
    char px[96], pt[96], pw[96], py[96], pl[96], iis[48];
    if (ii == INT64_MIN) snprintf(iis, sizeof iis, "INT64_MIN");
    else snprintf(iis, sizeof iis, "%lldLL", ii);
    text_buf_printf(&c->body,
                    "    {\n        const %s *x = %s;\n        const %s *t = %s;\n        %s *y = %s;\n"
                    "        double sum = 0.0, wsum = 0.0;\n        int32_t nn, d, cc;\n",
                    xt, P(c, n, 0, px), tt, P(c, n, 1, pt), xt, Y(c, n, py));
    if (w) text_buf_printf(&c->body, "        const %s *w = %s;\n", xt, P(c, n, 2, pw));
    if (lpo) text_buf_printf(&c->body, "        %s *lpo = %s;\n", xt, ec_ptr(c, n->out[1], 0, pl, sizeof pl));
    text_buf_printf(&c->body,
                    "        (void)cc;\n        for (nn = 0; nn < %lld; nn++)\n            for (d = 0; d < %lld; d++) {\n"
                    "                const %s *p = x + nn * %lld + d;\n                int64_t cls = (int64_t)t[nn * %lld + d];\n"
                    "                double loss = 0.0, wt = 0.0;\n",
                    (long long)N, (long long)D, xt, (long long)(C * D), (long long)D);
    if (sce) {
        ec_tpl_use(c, "b0_reduce_exp");
        ec_tpl_use(c, "b0_reduce_log");
        text_buf_printf(&c->body,
                        "                double m = -HUGE_VAL, s = 0.0, ls;\n"
                        "                for (cc = 0; cc < %lld; cc++)\n                    if ((double)p[cc * %lld] > m) m = p[cc * %lld];\n"
                        "                for (cc = 0; cc < %lld; cc++) s += wk_reduce_exp((double)p[cc * %lld] - m);\n"
                        "                ls = m + wk_reduce_log(s);\n",
                        (long long)C, (long long)D, (long long)D, (long long)C, (long long)D);
        if (lpo)
            text_buf_printf(&c->body,
                            "                for (cc = 0; cc < %lld; cc++) lpo[nn * %lld + d + cc * %lld] = (%s)((double)p[cc * %lld] - ls);\n",
                            (long long)C, (long long)(C * D), (long long)D, xt, (long long)D);
    }
    /* the class element's log probability: stride D between classes, minus ls for the cross entropy */
    char lp[96], cond[96];
    snprintf(lp, sizeof lp, "(double)p[cls * %lld]%s", (long long)D, sce ? " - ls" : "");
    if (has_ii) snprintf(cond, sizeof cond, "cls != %s", iis);
    else snprintf(cond, sizeof cond, "1");
    text_buf_printf(&c->body,
                    "                if (%s) {\n                    if (cls < 0 || cls >= %lld) return 1;\n"
                    "                    wt = %s;\n                    loss = -(%s) * wt;\n                }\n",
                    cond, (long long)C, w ? "(double)w[cls]" : "1.0", lp);
    if (reduction == 0) text_buf_printf(&c->body, "                y[nn * %lld + d] = (%s)loss;\n", (long long)D, xt);
    text_buf_printf(&c->body, "                sum += loss;\n                wsum += wt;\n            }\n");
    if (reduction == 1) text_buf_printf(&c->body, "        y[0] = (%s)sum;\n", xt);
    else if (reduction == 2) text_buf_printf(&c->body, "        y[0] = (%s)(sum / wsum);\n", xt);
    text_buf_printf(&c->body, "        (void)sum, (void)wsum;\n    }\n");
    return RT_OK;
}

/* ---------------------------------------------------------------- QLinearSoftmax, QLinearReduceMean */

/* The scales and zero points of a com.microsoft quantized op: constants (per tensor). */
static int red_q8(EcCtx *c, int k, const RtNode *n, const char *what, const char **ct, int32_t *lo, int32_t *hi) {
    const RtTensor *x = vin(c, n, 0);
    if (!x || (x->dtype != RT_I8 && x->dtype != RT_U8))
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "input %s must be int8 or uint8", what);
    *ct = ec_ctype(x->dtype);
    *lo = x->dtype == RT_I8 ? -128 : 0;
    *hi = x->dtype == RT_I8 ? 127 : 255;
    return RT_OK;
}

/* QLinearSoftmax (ref/qlinear_contrib_reduce.c, onnxruntime's arithmetic): the 256-entry
 * table e[d + 255] = float(exp((d + shift) * x_scale)) is computed here (as the runtime
 * does, so the C needs no exp), rows of D take their max, sum e in float in order, and
 * y = round(e * floor(1 / y_scale) / sum) + y_zp, clamped. opset < 13: rows over the
 * flattened axes [axis, rank); from 13 over the one axis (stride inner). */
static int e_qlinear_softmax(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0);
    const char *xt;
    int32_t lo, hi, zy;
    double xs, ys;
    RT_TRY(red_q8(c, k, n, "X", &xt, &lo, &hi));
    RT_TRY(const_f32(c, k, n, 1, "X_scale", &xs));
    RT_TRY(const_f32(c, k, n, 3, "y_scale", &ys));
    RT_TRY(const_zp(c, k, n, 4, "y_zero_point", &zy));
    if (!rt_attr(n, "opset")) return ec_fail(c, k, RT_ERR, "attribute opset is required");
    if (x->rank < 1) return ec_fail(c, k, RT_ERR, "input X must have rank >= 1");
    int ax = 0;
    RT_TRY(red_axis(c, k, rt_attr_int(n, "axis", -1), x->rank, "attribute 'axis'", &ax));
    int64_t D, inner;
    if (rt_attr_int(n, "opset", 13) < 13) D = rt_shape_numel(x->rank - ax, x->dims + ax), inner = 1;
    else D = x->dims[ax], inner = rt_shape_numel(x->rank - ax - 1, x->dims + ax + 1);
    if (D == 0 || rt_numel(x) == 0) {
        text_buf_printf(&c->body, "    /* node %d: empty rows */\n", k);
        return RT_OK;
    }
    int64_t outer = rt_numel(x) / D;
    float fxs = (float)xs;
    double shift = log((double)(FLT_MAX / (float)D));
    shift = (shift - 5.0 > 0.0 ? shift - 5.0 : 0.0) / (double)fxs;
    text_buf_printf(&c->decl, "static const float n%d_e[256] = {", k);
    for (int i = 0; i < 256; i++) {
        char lit[48];
        ec_float_lit(lit, sizeof lit, (float)exp(((double)i - 255.0 + shift) * (double)fxs));
        text_buf_printf(&c->decl, "%s%s%s", i % 6 == 0 ? "\n    " : "", lit, i < 255 ? ", " : "");
    }
    text_buf_printf(&c->decl, "\n};\n");
    char ysl[48], px[96], py[96];
    ec_float_lit(ysl, sizeof ysl, floorf(1.0f / (float)ys));
    ec_tpl_use(c, "b0_reduce_qround");
    text_buf_printf(&c->body,
                    "    {\n        const %s *x = %s;\n        %s *y = %s;\n        int32_t r, j;\n"
                    "        for (r = 0; r < %lld; r++) {\n"
                    "            int32_t base = (r / %lld) * %lld + r %% %lld, mx = %ld;\n            float sum = 0.0f;\n"
                    "            for (j = 0; j < %lld; j++)\n                if (x[base + j * %lld] > mx) mx = x[base + j * %lld];\n"
                    "            for (j = 0; j < %lld; j++) sum += n%d_e[255 + x[base + j * %lld] - mx];\n"
                    "            for (j = 0; j < %lld; j++) {\n                float v = n%d_e[255 + x[base + j * %lld] - mx];\n"
                    "                y[base + j * %lld] = (%s)wk_reduce_qround((double)(v * %s / sum), %ld, %ld, %ld);\n"
                    "            }\n        }\n    }\n",
                    xt, P(c, n, 0, px), xt, Y(c, n, py), (long long)outer, (long long)inner, (long long)(D * inner),
                    (long long)inner, (long)lo, (long long)D, (long long)inner, (long long)inner, (long long)D, k,
                    (long long)inner, (long long)D, k, (long long)inner, (long long)inner, xt, ysl, (long)zy, (long)lo,
                    (long)hi);
    return RT_OK;
}

/* QLinearReduceMean: y = round(data_scale * S / n / reduced_scale) + reduced_zp, clamped,
 * S the exact integer sum of (x - data_zp) over the reduced elements (the ReduceX walk), n
 * their count, the quotient in double (ref/qlinear_contrib_reduce.c). */
static int e_qlinear_reduce_mean(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *y = yval(c, n);
    const char *xt;
    int32_t lo, hi, zx, zy;
    double xs, ys;
    RT_TRY(red_q8(c, k, n, "data", &xt, &lo, &hi));
    RT_TRY(const_f32(c, k, n, 1, "data_scale", &xs));
    RT_TRY(const_zp(c, k, n, 2, "data_zero_point", &zx));
    RT_TRY(const_f32(c, k, n, 3, "reduced_scale", &ys));
    RT_TRY(const_zp(c, k, n, 4, "reduced_zero_point", &zy));
    const int64_t *axes;
    int na = rt_attr_ints(n, "axes", &axes);
    if (na < 0) return ec_fail(c, k, RT_ERR, "attribute axes is required");
    unsigned char mask[RT_MAX_RANK] = {0};
    for (int i = 0; i < na; i++) {
        int a = 0;
        RT_TRY(red_axis(c, k, axes[i], x->rank, "axes value", &a));
        if (mask[a]) return ec_fail(c, k, RT_ERR, "axis %lld appears twice in axes", (long long)axes[i]);
        mask[a] = 1;
    }
    int64_t on = rt_numel(y);
    if (on == 0) {
        text_buf_printf(&c->body, "    /* node %d: empty output */\n", k);
        return RT_OK;
    }
    RedPlan p;
    red_plan_make(&p, x->rank, x->dims, mask);
    if (p.nk) {
        decl_i32s(c, k, "kd", p.kd, p.nk);
        decl_i32s(c, k, "ks", p.ks, p.nk);
    }
    if (p.nr > 1) {
        decl_i32s(c, k, "rd", p.rd, p.nr - 1);
        decl_i32s(c, k, "rs", p.rs, p.nr - 1);
    }
    if (p.nk || p.nr > 1) ec_tpl_use(c, "b0_reduce_off");
    ec_tpl_use(c, "b0_reduce_qround");
    char px[96], py[96], body[64], xsl[64], ysl[64];
    RT_TRY(red_double_lit(c, k, (double)(float)xs, "data_scale", xsl, sizeof xsl));
    RT_TRY(red_double_lit(c, k, (double)(float)ys, "reduced_scale", ysl, sizeof ysl));
    text_buf_printf(&c->body, "    {\n        const %s *x = %s;\n        %s *y = %s;\n        int32_t o, r, j;\n"
                              "        (void)r, (void)j;\n        for (o = 0; o < %lld; o++) {\n",
                    xt, P(c, n, 0, px), xt, Y(c, n, py), (long long)on);
    if (p.nk) text_buf_printf(&c->body, "            const %s *xo = x + wk_reduce_off(o, %d, n%d_kd, n%d_ks);\n", xt, p.nk, k, k);
    else text_buf_printf(&c->body, "            const %s *xo = x;\n", xt);
    text_buf_printf(&c->body, "            int64_t a = 0;\n            (void)xo;\n");
    snprintf(body, sizeof body, "a += v - %ld;", (long)zx);
    red_visit(c, k, &p, xt, "int64_t", body);
    if (p.count > 0)
        text_buf_printf(&c->body, "            y[o] = (%s)wk_reduce_qround(%s * (double)a / %lld.0 / %s, %ld, %ld, %ld);\n", xt, xsl,
                        (long long)p.count, ysl, (long)zy, (long)lo, (long)hi);
    else
        text_buf_printf(&c->body, "            y[o] = (%s)wk_reduce_qround(0.0 * (double)a, %ld, %ld, %ld);\n", xt, (long)zy, (long)lo, (long)hi);
    text_buf_printf(&c->body, "        }\n    }\n");
    return RT_OK;
}

/* ---------------------------------------------------------------- table */

int64_t ec_scratch_reduce(const EcCtx *c, int k, const RtNode *n) {
    (void)c, (void)k, (void)n;
    return 0;
}

const EcOpEntry ec_ops_reduce[] = {
    {RT_OP_REDUCE_SUM, e_reduce},
    {RT_OP_REDUCE_MEAN, e_reduce},
    {RT_OP_REDUCE_MAX, e_reduce},
    {RT_OP_REDUCE_MIN, e_reduce},
    {RT_OP_REDUCE_PROD, e_reduce},
    {RT_OP_REDUCE_L1, e_reduce},
    {RT_OP_REDUCE_L2, e_reduce},
    {RT_OP_REDUCE_LOG_SUM, e_reduce},
    {RT_OP_REDUCE_LOG_SUM_EXP, e_reduce},
    {RT_OP_REDUCE_SUM_SQUARE, e_reduce},
    {RT_OP_ARG_MAX, e_arg},
    {RT_OP_ARG_MIN, e_arg},
    {RT_OP_LOG_SOFTMAX, e_softmax_family},
    {RT_OP_HARDMAX, e_softmax_family},
    {RT_OP_BATCH_NORMALIZATION, e_batch_norm},
    {RT_OP_INSTANCE_NORMALIZATION, e_instance_norm},
    {RT_OP_GROUP_NORMALIZATION, e_group_norm},
    {RT_OP_MEAN_VARIANCE_NORMALIZATION, e_mvn},
    {RT_OP_LP_NORMALIZATION, e_lp_norm},
    {RT_OP_RMS_NORMALIZATION, e_rms_norm},
    {RT_OP_GLOBAL_MAX_POOL, e_global_pool},
    {RT_OP_GLOBAL_LP_POOL, e_global_pool},
    {RT_OP_LP_POOL, e_lp_pool},
    {RT_OP_CUMSUM, e_cumsum},
    {RT_OP_NEGATIVE_LOG_LIKELIHOOD_LOSS, e_loss},
    {RT_OP_QLINEAR_SOFTMAX, e_qlinear_softmax},
    {RT_OP_QLINEAR_REDUCE_MEAN, e_qlinear_reduce_mean},
    {RT_OP_SOFTMAX_CROSS_ENTROPY_LOSS, e_loss},
    {0, NULL},
};
