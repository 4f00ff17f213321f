/*
 * emit_ops_reduce_norm.c — emit-c's softmax variants and normalizations (reduce family;
 * table in emit_ops_reduce.c): LogSoftmax, Hardmax, BatchNormalization (inference),
 * InstanceNormalization, GroupNormalization, MeanVarianceNormalization, LpNormalization,
 * RMSNormalization, com.microsoft QLinearSoftmax. Each mirrors its reference kernel
 * (runtime/kernels/ref/norm.c, norm_group.c, lp.c, rms_norm.c, qlinear_contrib_reduce.c):
 * statistics in double in the runtime's order, one rounding to the output type.
 */
#include "emit_ops_reduce.h"

#include <float.h>

/* ---------------------------------------------------------------- LogSoftmax, Hardmax */

/* The runtime's softmax family (ref/norm.c): rows of length n (stride inner) of the
 * [outer, n, inner] view; before opset 13 the input is coerced to 2-D at axis (n = the
 * product of dims[axis:], inner = 1). Hardmax marks the first maximum. LogSoftmax: float32
 * rows with inner = 1 take float exp (sum in double) and y = (x - max) - (float)log(sum);
 * otherwise everything is in double, y = x - max - log(sum). */
int ec_red_softmax_family(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0);
    const char *xt;
    RT_TRY(red_need_float(c, k, x, "input", &xt));
    if (x->rank < 1) return ec_fail(c, k, RT_ERR, "input must have rank >= 1");
    int coerce2d = n->opset < 13, axis = 0;
    RT_TRY(red_axis(c, k, rt_attr_int(n, "axis", coerce2d ? 1 : -1), x->rank, "attribute 'axis'", &axis));
    int64_t outer = 1, len = 1, inner = 1;
    for (int i = 0; i < x->rank; i++) {
        if (i < axis)
            outer *= x->dims[i];
        else if (i == axis || coerce2d)
            len *= x->dims[i];
        else
            inner *= x->dims[i];
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
                    xt, P(c, n, 0, px), xt, Y(c, n, py), (long long)outer, (long long)inner, xt,
                    (long long)(len * inner), xt, (long long)(len * inner), (long long)len, (long long)inner,
                    (long long)inner);
    if (hard) {
        text_buf_printf(&c->body, "                for (j = 0; j < %lld; j++) q[j * %lld] = (%s)(j == arg ? 1 : 0);\n",
                        (long long)len, (long long)inner, xt);
    } else if (x->dtype == RT_F32 && inner == 1) {
        ec_tpl_use(c, "b0_exp");
        ec_tpl_use(c, "b0_reduce_log");
        text_buf_printf(
            &c->body,
            "                {\n                    float m = p[arg], ls;\n                    double s = 0.0;\n"
            "                    for (j = 0; j < %lld; j++) s += wk_expf(p[j] - m);\n"
            "                    ls = (float)wk_reduce_log(s);\n"
            "                    for (j = 0; j < %lld; j++) q[j] = (p[j] - m) - ls;\n                }\n",
            (long long)len, (long long)len);
    } else {
        ec_tpl_use(c, "b0_reduce_exp");
        ec_tpl_use(c, "b0_reduce_log");
        text_buf_printf(
            &c->body,
            "                {\n                    double m = (double)p[arg * %lld], s = 0.0, ls;\n"
            "                    for (j = 0; j < %lld; j++) s += wk_reduce_exp((double)p[j * %lld] - m);\n"
            "                    ls = wk_reduce_log(s);\n"
            "                    for (j = 0; j < %lld; j++) q[j * %lld] = (%s)((double)p[j * %lld] - m - ls);\n"
            "                }\n",
            (long long)inner, (long long)len, (long long)inner, (long long)len, (long long)inner, xt, (long long)inner);
    }
    text_buf_printf(&c->body, "            }\n    }\n");
    return RT_OK;
}

/* ---------------------------------------------------------------- BatchNormalization, InstanceNormalization */

/* Inference BatchNormalization (ref/norm.c): per channel a = scale / sqrt(var + epsilon),
 * b = B - mean * a in double, y = x * a + b. spatial = 0 (before opset 9) keeps one set per
 * activation: the same loop with C = C x D1 x ... and S = 1. Training mode (statistics
 * outputs) is refused: the C is inference only. */
int ec_red_batch_norm(EcCtx *c, int k, const RtNode *n) {
    static const char *const names[5] = {"X", "scale", "B", "input_mean", "input_var"};
    const RtTensor *x = vin(c, n, 0);
    const char *xt, *pt[5];
    RT_TRY(red_need_float(c, k, x, "input X", &xt));
    if (x->rank < 2) return ec_fail(c, k, RT_ERR, "input X must be [N, C, ...]");
    int training = 0;
    if (n->opset >= 14)
        training = rt_attr_int(n, "training_mode", 0) != 0;
    else
        for (int i = 1; i < n->n_out; i++)
            training |= n->out[i] >= 0;
    if (training)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED,
                       "training mode (batch statistics and running-statistics outputs): "
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
    text_buf_printf(
        &c->body,
        "    {\n        const %s *x = %s;\n        %s *y = %s;\n        const %s *sc = %s;\n"
        "        const %s *bi = %s;\n        const %s *mean = %s;\n        const %s *var = %s;\n"
        "        int32_t b, ch, s;\n        for (ch = 0; ch < %lld; ch++) {\n"
        "            double a = (double)sc[ch] / wk_reduce_sqrt((double)var[ch] + %s);\n"
        "            double b0 = (double)bi[ch] - (double)mean[ch] * a;\n"
        "            for (b = 0; b < %lld; b++) {\n"
        "                const %s *xs = x + ((int32_t)b * %lld + ch) * %lld;\n"
        "                %s *ys = y + ((int32_t)b * %lld + ch) * %lld;\n"
        "                for (s = 0; s < %lld; s++) ys[s] = (%s)(xs[s] * a + b0);\n            }\n        }\n    }\n",
        xt, P(c, n, 0, px), xt, Y(c, n, py), pt[1], P(c, n, 1, p1), pt[2], P(c, n, 2, p2), pt[3], P(c, n, 3, p3), pt[4],
        P(c, n, 4, p4), (long long)C, eps, (long long)N, xt, (long long)C, (long long)S, xt, (long long)C, (long long)S,
        (long long)S, xt);
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
int ec_red_instance_norm(EcCtx *c, int k, const RtNode *n) {
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
                    "                const %s *xs = x + (b * %lld + ch) * %lld;\n                %s *ys = y + (b * "
                    "%lld + ch) * %lld;\n",
                    xt, P(c, n, 0, px), xt, Y(c, n, py), st, P(c, n, 1, p1), bt, P(c, n, 2, p2), (long long)N,
                    (long long)C, xt, (long long)C, (long long)S, xt, (long long)C, (long long)S);
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
int ec_red_group_norm(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *sc = vin(c, n, 1), *bi = vin(c, n, 2);
    const char *xt, *st, *bt;
    RT_TRY(red_need_float(c, k, x, "input X", &xt));
    RT_TRY(red_need_float(c, k, sc, "scale", &st));
    RT_TRY(red_need_float(c, k, bi, "bias", &bt));
    if (x->rank < 2) return ec_fail(c, k, RT_ERR, "input X must be [N, C, ...]");
    const RtAttr *ga = rt_attr(n, "num_groups");
    if (!ga) return ec_fail(c, k, RT_ERR, "attribute num_groups is required");
    int64_t G = ga->i, C = x->dims[1], N = x->dims[0], S = rt_shape_numel(x->rank - 2, x->dims + 2);
    if (G < 1 || C % G != 0)
        return ec_fail(c, k, RT_ERR, "num_groups = %lld must divide C = %lld", (long long)G, (long long)C);
    int64_t stash = rt_attr_int(n, "stash_type", RT_F32);
    int per_channel = n->opset <= 0 || n->opset >= 21;
    if (!per_channel) stash = RT_F64;
    if (stash != RT_F32 && stash != RT_F64)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "stash_type %lld: emit-c rounds to float32 or float64 only",
                       (long long)stash);
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
                    xt, P(c, n, 0, px), xt, Y(c, n, py), st, P(c, n, 1, p1), bt, P(c, n, 2, p2), (long long)N,
                    (long long)G, xt, (long long)C, (long long)cg, (long long)S, xt, (long long)C, (long long)cg,
                    (long long)S);
    red_stats_emit(c, "                ", (long long)(len ? len : 1));
    text_buf_printf(&c->body,
                    "                {\n                    double inv = 1.0 / wk_reduce_sqrt(var + %s);\n"
                    "                    for (ch = 0; ch < %lld; ch++) {\n",
                    eps, (long long)cg);
    /* kk: the scale / bias index of this channel (its own, or its group's) */
    if (per_channel)
        text_buf_printf(&c->body, "                        int32_t kk = g * %lld + ch;\n", (long long)cg);
    else
        text_buf_printf(&c->body, "                        int32_t kk = g;\n");
    if (f32)
        text_buf_printf(&c->body,
                        "                        double a = inv * sc[kk], bb = bi[kk] - mean * a;\n"
                        "                        for (s = 0; s < %lld; s++) ys[ch * %lld + s] = (float)(xs[ch * %lld + "
                        "s] * a + bb);\n",
                        (long long)S, (long long)S, (long long)S);
    else
        text_buf_printf(&c->body,
                        "                        double sv = (double)sc[kk], bb = (double)bi[kk];\n"
                        "                        for (s = 0; s < %lld; s++)\n"
                        "                            ys[ch * %lld + s] = (%s)((double)(%s)(((double)xs[ch * %lld + s] "
                        "- mean) * inv) * sv + bb);\n",
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
int ec_red_mvn(EcCtx *c, int k, const RtNode *n) {
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
    red_plan_emit(c, k, &p);
    ec_tpl_use(c, "b0_reduce_sqrt");
    char px[96], py[96];
    text_buf_printf(&c->body,
                    "    {\n        const %s *x = %s;\n        %s *y = %s;\n        int32_t o, r, j;\n"
                    "        for (o = 0; o < %lld; o++) {\n",
                    xt, P(c, n, 0, px), xt, Y(c, n, py), (long long)groups);
    red_origin_emit(c, k, &p, xt);
    text_buf_printf(&c->body, "            double m = 0.0, m2 = 0.0, mean, var, den;\n");
    red_visit(c, k, &p, xt, "double", "m += v, m2 += v * v;");
    text_buf_printf(&c->body,
                    "            mean = m / %lld.0;\n            var = m2 / %lld.0 - mean * mean;\n"
                    "            den = wk_reduce_sqrt(var > 0 ? var : 0) + %s;\n",
                    (long long)p.count, (long long)p.count, RED_MVN_EPSILON);
    /* second pass: the same walk writes y at x's offsets */
    char body[160];
    snprintf(body, sizeof body, "y[(q - x) + j * %ld] = (%s)((v - mean) / den);", (long)(p.nr ? p.rs[p.nr - 1] : 0),
             xt);
    red_visit(c, k, &p, xt, "double", body);
    text_buf_printf(&c->body, "        }\n    }\n");
    return RT_OK;
}
/* LpNormalization (ref/lp.c): y = x / ||x||_p along axis (default -1), p = 1 or 2, the norm
 * in double; a line whose norm is 0 gives 0s. */
int ec_red_lp_norm(EcCtx *c, int k, const RtNode *n) {
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
    text_buf_printf(
        &c->body,
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
int ec_red_rms_norm(EcCtx *c, int k, const RtNode *n) {
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

/* QLinearSoftmax (ref/qlinear_contrib_reduce.c, onnxruntime's arithmetic): the 256-entry
 * table e[d + 255] = float(exp((d + shift) * x_scale)) is computed here (as the runtime
 * does, so the C needs no exp), rows of D take their max, sum e in float in order, and
 * y = round(e * floor(1 / y_scale) / sum) + y_zp, clamped. opset < 13: rows over the
 * flattened axes [axis, rank); from 13 over the one axis (stride inner). */
int ec_red_qlinear_softmax(EcCtx *c, int k, const RtNode *n) {
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
    if (rt_attr_int(n, "opset", 13) < 13)
        D = rt_shape_numel(x->rank - ax, x->dims + ax), inner = 1;
    else
        D = x->dims[ax], inner = rt_shape_numel(x->rank - ax - 1, x->dims + ax + 1);
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
    text_buf_printf(
        &c->body,
        "    {\n        const %s *x = %s;\n        %s *y = %s;\n        int32_t r, j;\n"
        "        for (r = 0; r < %lld; r++) {\n"
        "            int32_t base = (r / %lld) * %lld + r %% %lld, mx = %ld;\n            float sum = 0.0f;\n"
        "            for (j = 0; j < %lld; j++)\n                if (x[base + j * %lld] > mx) mx = x[base + j * "
        "%lld];\n"
        "            for (j = 0; j < %lld; j++) sum += n%d_e[255 + x[base + j * %lld] - mx];\n"
        "            for (j = 0; j < %lld; j++) {\n                float v = n%d_e[255 + x[base + j * %lld] - mx];\n"
        "                y[base + j * %lld] = (%s)wk_reduce_qround((double)(v * %s / sum), %ld, %ld, %ld);\n"
        "            }\n        }\n    }\n",
        xt, P(c, n, 0, px), xt, Y(c, n, py), (long long)outer, (long long)inner, (long long)(D * inner),
        (long long)inner, (long)lo, (long long)D, (long long)inner, (long long)inner, (long long)D, k, (long long)inner,
        (long long)D, k, (long long)inner, (long long)inner, xt, ysl, (long)zy, (long)lo, (long)hi);
    return RT_OK;
}
