/*
 * emit_ops_reduce_pool.c — emit-c's GlobalMaxPool, GlobalLpPool and LpPool (reduce family;
 * table in emit_ops_reduce.c), as the reference kernels (runtime/kernels/ref/pool.c, lp.c):
 * the max or the p-norm in double over each (n, c) plane or window; LpPool's window geometry
 * is the other N-D pools' (ec_pool3_emit, the runtime's conv_geom read at emit time).
 */
#include "emit_ops_reduce.h"

#include "../runtime/kernels/ref/conv_geom.h"

/* The C of an Lp norm's accumulation over v into a double acc (term) and of its result (fin):
 * p 1 and 2 exactly (sqrt from b0_reduce_sqrt, libm-free), any other p through pow. term and
 * fin hold 128 bytes each. */
static int lp_terms(EcCtx *c, int k, double p, char *term, char *fin) {
    char pl[64];
    if (p == 1.0) {
        snprintf(term, 128, "acc += v < 0 ? -v : v;");
        snprintf(fin, 128, "acc");
    } else if (p == 2.0) {
        ec_tpl_use(c, "b0_reduce_sqrt");
        snprintf(term, 128, "acc += v * v;");
        snprintf(fin, 128, "wk_reduce_sqrt(acc)");
    } else {
        RT_TRY(red_double_lit(c, k, p, "p", pl, sizeof pl));
        snprintf(term, 128, "acc += pow(v < 0 ? -v : v, %s);", pl);
        snprintf(fin, 128, "pow(acc, 1.0 / %s)", pl);
    }
    return RT_OK;
}

/* GlobalMaxPool (float, int8, uint8) and GlobalLpPool (float) over each (n, c) plane
 * (ref/pool.c, ref/lp.c): the max in double starting at -inf (NaN never wins; int8 / uint8
 * start at the type's minimum, which is what the runtime's clamp of -inf gives), or
 * (sum |x|^p)^(1/p) in double with exact forms for p = 1, 2. */
int ec_red_global_pool(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0);
    const char *xt;
    int lp = n->op == RT_OP_GLOBAL_LP_POOL;
    if (x && !lp && (x->dtype == RT_I8 || x->dtype == RT_U8))
        xt = ec_ctype(x->dtype);
    else
        RT_TRY(red_need_float(c, k, x, "input X", &xt));
    if (x->rank < 2) return ec_fail(c, k, RT_ERR, "input X has rank %d; expected (N, C, spatial...)", x->rank);
    double p = 2.0;
    if (lp) RT_TRY(red_lp_p(c, k, n, &p));
    int64_t planes = x->dims[0] * x->dims[1], pin = rt_shape_numel(x->rank - 2, x->dims + 2);
    if (planes == 0) {
        text_buf_printf(&c->body, "    /* node %d: empty output */\n", k);
        return RT_OK;
    }
    char px[96], py[96], term[128], fin[128];
    const char *init = "-HUGE_VAL", *acc_t = "double";
    if (!lp) {
        snprintf(term, sizeof term, "if (v > acc) acc = v;");
        snprintf(fin, sizeof fin, "acc");
        if (x->dtype == RT_I8) init = "-128", acc_t = "int32_t";
        if (x->dtype == RT_U8) init = "0", acc_t = "int32_t";
    } else {
        init = "0.0";
        RT_TRY(lp_terms(c, k, p, term, fin));
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

/* LpPool (ref/lp.c), 1-D to 3-D: the window geometry of the other N-D pools (ec_pool3_emit:
 * the runtime's conv_geom read at emit time into a wk_pool3 constant, taps from
 * wk_pool3_taps); each output is (sum |x|^p)^(1/p) in double over the taps inside the input
 * (padding adds 0). */
int ec_red_lp_pool(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *y = yval(c, n);
    const char *xt;
    RT_TRY(red_need_float(c, k, x, "input X", &xt));
    int nsp = x->rank - 2;
    if (nsp < 1 || nsp > RT_GEOM_MAX_SP)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "input X must have 1 to 3 spatial axes");
    double p = 2.0;
    RT_TRY(red_lp_p(c, k, n, &p));
    int64_t cm = rt_attr_int(n, "ceil_mode", 0);
    if (cm != 0 && cm != 1) return ec_fail(c, k, RT_ERR, "attribute ceil_mode must be 0 or 1");
    if (rt_numel(y) == 0) {
        text_buf_printf(&c->body, "    /* node %d: empty output */\n", k);
        return RT_OK;
    }
    RT_TRY(ec_pool3_emit(c, k, n, x->dims + 2, nsp, x->dims[0] * x->dims[1]));
    char term[128], fin[128], px[96], py[96];
    RT_TRY(lp_terms(c, k, p, term, fin));
    text_buf_printf(&c->body,
                    "    {\n        const wk_pool3 *g = &n%d_p3;\n        const %s *x = %s;\n        %s *y = %s;\n"
                    "        int32_t pl, o[3], t[3], lo[3], hi[3], a;\n"
                    "        const int64_t pin = (int64_t)g->in[0] * g->in[1] * g->in[2];\n"
                    "        for (pl = 0; pl < g->planes; pl++)\n"
                    "            for (o[0] = 0; o[0] < g->out[0]; o[0]++)\n"
                    "                for (o[1] = 0; o[1] < g->out[1]; o[1]++)\n"
                    "                    for (o[2] = 0; o[2] < g->out[2]; o[2]++) {\n"
                    "                        double acc = 0.0;\n"
                    "                        for (a = 0; a < 3; a++)\n"
                    "                            wk_pool3_taps(o[a], g->s[a], g->p0[a], g->d[a], g->k[a], g->in[a], &lo[a], &hi[a]);\n"
                    "                        for (t[0] = lo[0]; t[0] < hi[0]; t[0]++)\n"
                    "                            for (t[1] = lo[1]; t[1] < hi[1]; t[1]++)\n"
                    "                                for (t[2] = lo[2]; t[2] < hi[2]; t[2]++) {\n"
                    "                                    int32_t i0 = o[0] * g->s[0] - g->p0[0] + t[0] * g->d[0];\n"
                    "                                    int32_t i1 = o[1] * g->s[1] - g->p0[1] + t[1] * g->d[1];\n"
                    "                                    int32_t i2 = o[2] * g->s[2] - g->p0[2] + t[2] * g->d[2];\n"
                    "                                    double v = x[pl * pin + ((int64_t)i0 * g->in[1] + i1) * g->in[2] + i2];\n"
                    "                                    %s\n                                }\n"
                    "                        *y++ = (%s)%s;\n                    }\n    }\n",
                    k, xt, P(c, n, 0, px), xt, Y(c, n, py), term, xt, fin);
    return RT_OK;
}
