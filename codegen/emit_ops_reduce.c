/*
 * emit_ops_reduce.c — emit-c's reductions (reduce family): ReduceSum/Mean/Max/Min/Prod/L1/
 * L2/LogSum/LogSumExp/SumSquare, ArgMax/ArgMin, CumSum/CumProd, com.microsoft QLinearReduceMean, and
 * the family's table ec_ops_reduce (the other emitters are in emit_ops_reduce_norm.c,
 * _pool.c and _loss.c; shared helpers in emit_ops_reduce.h).
 *
 * Every loop is written inline into NAME_run with the node's element type, mirroring the
 * runtime's reference kernel (runtime/kernels/ref/reduce.c) so that integer results are
 * bit-exact and float results agree to a few ulps:
 *   ReduceX   the reduced axes form a mask; size-1 dims are dropped and neighbours of the
 *             same kind merged (the runtime's walk). Kept merged axes index the outputs,
 *             reduced ones the steps of one reduction; the last reduced merged axis is an
 *             inner strided loop, the others (and the kept ones) go through wk_reduce_off
 *             (template b0_reduce_off), so any set of axes is one emitter. Each output folds
 *             its elements in input memory order, as the runtime's row walk does: floats in
 *             double, integers in 64-bit wrapping arithmetic truncated to the type at the end.
 *   ArgMax/Min, CumSum/CumProd: an [outer, n, inner] view around the axis.
 * Anything the C cannot do the runtime's way is refused by name (ec_fail).
 */
#include "emit_ops_reduce.h"

/* ---------------------------------------------------------------- ReduceX */

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
        return ec_fail(c, k, RT_ERR_UNSUPPORTED,
                       "input 'axes' is computed at run time; emit-c needs it constant "
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
        if (a < 0 || a >= rank)
            return ec_fail(c, k, RT_ERR, "axes value %lld is out of range",
                           (long long)(ax ? rt_get_i64(ax, i) : attr[i]));
        if (mask[a]) return ec_fail(c, k, RT_ERR, "axis %lld appears twice in 'axes'", (long long)a);
        mask[a] = 1;
    }
    return RT_OK;
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
    red_plan_emit(c, k, &p);
    char px[160], py[160];
    ec_ptr(c, n->in[0], 1, px, sizeof px);
    ec_ptr(c, n->out[0], 0, py, sizeof py);
    text_buf_printf(&c->body,
                    "    {\n        const %s *x = %s;\n        %s *y = %s;\n"
                    "        int32_t o, r, j;\n        (void)r, (void)j;\n        for (o = 0; o < %lld; o++) {\n",
                    xt, px, xt, py, (long long)on);
    red_origin_emit(c, k, &p, xt);
    text_buf_printf(&c->body, "            (void)xo;\n");
    if (fpath) {
        const char *init = rk == RK_PROD                  ? "1.0"
                           : rk == RK_MAX || rk == RK_LSE ? "-HUGE_VAL"
                           : rk == RK_MIN                 ? "HUGE_VAL"
                                                          : "0.0";
        text_buf_printf(&c->body, "            double a = %s;\n", init);
        const char *body;
        switch (rk) {
        case RK_MAX:
        case RK_LSE: body = "if (v > a || v != v) { if (a == a) a = v; }"; break;
        case RK_MIN: body = "if (v < a || v != v) { if (a == a) a = v; }"; break;
        case RK_PROD: body = "a *= v;"; break;
        case RK_L1: body = "a += v < 0 ? -v : v;"; break;
        case RK_L2:
        case RK_SUM_SQUARE: body = "a += v * v;"; break;
        default: body = "a += v;"; break;
        }
        red_visit(c, k, &p, xt, "double", body);
        if (rk == RK_LSE) {
            if (p.count) ec_tpl_use(c, "b0_reduce_exp");
            text_buf_printf(&c->body, "            {\n            double m = a;\n            a = 0.0;\n"
                                      "            if (m - m == 0.0) {\n");
            red_visit(c, k, &p, xt, "double", "a += wk_reduce_exp(v - m);");
            ec_tpl_use(c, "b0_reduce_log");
            text_buf_printf(&c->body,
                            "            }\n            a = m - m != 0.0 ? m : m + wk_reduce_log(a);\n            }\n");
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
            if (y->dtype == RT_BOOL)
                text_buf_printf(&c->body, "            y[o] = (%s)(wk_reduce_f2i(a, 0) != 0);\n", xt);
            else
                text_buf_printf(&c->body, "            y[o] = (%s)wk_reduce_f2i(a, %d);\n", xt, y->dtype == RT_U64);
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
        if (rk == RK_PROD)
            init = "1";
        else if (rk == RK_MAX)
            init = imin[w];
        else if (rk == RK_MIN)
            init = umax;
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
            if (p.count == 0)
                text_buf_printf(&c->body, "            a = 0;\n");
            else if (uns)
                text_buf_printf(&c->body, "            a = a / (uint64_t)%lld;\n", (long long)p.count);
            else
                text_buf_printf(&c->body, "            a = (uint64_t)((int64_t)a / (int64_t)%lld);\n",
                                (long long)p.count);
        }
        if (y->dtype == RT_BOOL)
            text_buf_printf(&c->body, "            y[o] = (%s)(a != 0);\n", xt);
        else
            text_buf_printf(&c->body, "            y[o] = (%s)a;\n", xt);
    }
    text_buf_printf(&c->body, "        }\n    }\n");
    return RT_OK;
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
                    xt, P(c, n, 0, px), Y(c, n, py), (long long)outer, (long long)inner, xt, (long long)(len * inner),
                    xt, (long long)len, xt, (long long)inner, cmp, last ? " || e == b" : "", (long long)inner);
    return RT_OK;
}

/* ---------------------------------------------------------------- CumSum, CumProd */

/* CumSum and CumProd (ref/reduce.c): along axis, inclusive or exclusive, forward or reverse;
 * floats sum or multiply in double, integers in 64-bit wrapping arithmetic. A constant axis
 * is resolved here; an axis computed at run time is read by the C (int32 or int64), and one
 * out of range makes NAME_run return 1 (as an out-of-range Gather index does). */
static int e_cumsum(EcCtx *c, int k, const RtNode *n) {
    int prod = n->op == RT_OP_CUMPROD;
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
    const char *step = prod ? "                    sum *= e;\n" : "                    sum += e;\n";
    char px[96], py[96], pa[96];
    text_buf_printf(
        &c->body,
        "    {\n        const %s *x = %s;\n        %s *y = %s;\n        int32_t o, i, s, outer, len, inner;\n", xt,
        P(c, n, 0, px), xt, Y(c, n, py));
    if (ax) {
        int axis = 0;
        RT_TRY(red_axis(c, k, rt_get_i64(ax, 0), x->rank, "input 'axis'", &axis));
        int64_t outer, len, inner;
        red_view(x, axis, &outer, &len, &inner);
        text_buf_printf(&c->body, "        outer = %lld, len = %lld, inner = %lld;\n", (long long)outer, (long long)len,
                        (long long)inner);
    } else {
        int32_t d[RT_MAX_RANK];
        for (int i = 0; i < x->rank; i++)
            d[i] = (int32_t)x->dims[i];
        decl_i32s(c, k, "dims", d, x->rank);
        text_buf_printf(&c->body,
                        "        {\n            int64_t a = (int64_t)%s[0];\n            int32_t d;\n"
                        "            if (a < 0) a += %d;\n            if (a < 0 || a >= %d) return 1;\n"
                        "            outer = 1, inner = 1, len = n%d_dims[a];\n"
                        "            for (d = 0; d < (int32_t)a; d++) outer *= n%d_dims[d];\n"
                        "            for (d = (int32_t)a + 1; d < %d; d++) inner *= n%d_dims[d];\n        }\n",
                        P(c, n, 1, pa), x->rank, x->rank, k, k, x->rank, k);
    }
    text_buf_printf(
        &c->body,
        "        for (o = 0; o < outer; o++)\n            for (i = 0; i < inner; i++) {\n"
        "                const %s *p = x + o * len * inner + i;\n                %s *q = y + o * len * inner + i;\n"
        "                %s sum = %d;\n                for (s = 0; s < len; s++) {\n"
        "                    int32_t at = (%s) * inner;\n"
        "                    %s e = (%s)p[at];\n%s                    q[at] = (%s)sum;\n%s"
        "                }\n            }\n    }\n",
        xt, xt, acc, prod, rev ? "len - 1 - s" : "s", acc, acc, excl ? "" : step, xt, excl ? step : "");
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
    red_plan_emit(c, k, &p);
    ec_tpl_use(c, "b0_reduce_qround");
    char px[96], py[96], body[64], xsl[64], ysl[64];
    RT_TRY(red_double_lit(c, k, (double)(float)xs, "data_scale", xsl, sizeof xsl));
    RT_TRY(red_double_lit(c, k, (double)(float)ys, "reduced_scale", ysl, sizeof ysl));
    text_buf_printf(&c->body,
                    "    {\n        const %s *x = %s;\n        %s *y = %s;\n        int32_t o, r, j;\n"
                    "        (void)r, (void)j;\n        for (o = 0; o < %lld; o++) {\n",
                    xt, P(c, n, 0, px), xt, Y(c, n, py), (long long)on);
    red_origin_emit(c, k, &p, xt);
    text_buf_printf(&c->body, "            int64_t a = 0;\n            (void)xo;\n");
    snprintf(body, sizeof body, "a += v - %ld;", (long)zx);
    red_visit(c, k, &p, xt, "int64_t", body);
    if (p.count > 0)
        text_buf_printf(&c->body,
                        "            y[o] = (%s)wk_reduce_qround(%s * (double)a / %lld.0 / %s, %ld, %ld, %ld);\n", xt,
                        xsl, (long long)p.count, ysl, (long)zy, (long)lo, (long)hi);
    else
        text_buf_printf(&c->body, "            y[o] = (%s)wk_reduce_qround(0.0 * (double)a, %ld, %ld, %ld);\n", xt,
                        (long)zy, (long)lo, (long)hi);
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
    {RT_OP_LOG_SOFTMAX, ec_red_softmax_family},
    {RT_OP_HARDMAX, ec_red_softmax_family},
    {RT_OP_BATCH_NORMALIZATION, ec_red_batch_norm},
    {RT_OP_INSTANCE_NORMALIZATION, ec_red_instance_norm},
    {RT_OP_GROUP_NORMALIZATION, ec_red_group_norm},
    {RT_OP_MEAN_VARIANCE_NORMALIZATION, ec_red_mvn},
    {RT_OP_LP_NORMALIZATION, ec_red_lp_norm},
    {RT_OP_RMS_NORMALIZATION, ec_red_rms_norm},
    {RT_OP_GLOBAL_MAX_POOL, ec_red_global_pool},
    {RT_OP_GLOBAL_LP_POOL, ec_red_global_pool},
    {RT_OP_LP_POOL, ec_red_lp_pool},
    {RT_OP_CUMSUM, e_cumsum},
    {RT_OP_CUMPROD, e_cumsum},
    {RT_OP_NEGATIVE_LOG_LIKELIHOOD_LOSS, ec_red_loss},
    {RT_OP_QLINEAR_SOFTMAX, ec_red_qlinear_softmax},
    {RT_OP_QLINEAR_REDUCE_MEAN, e_qlinear_reduce_mean},
    {RT_OP_SOFTMAX_CROSS_ENTROPY_LOSS, ec_red_loss},
    {0, NULL},
};
