/*
 * emit_ops_reduce_loss.c — emit-c's NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss
 * (reduce family; table in emit_ops_reduce.c), as runtime/kernels/ref/loss.c.
 */
#include "emit_ops_reduce.h"

/* The two losses (ref/loss.c) over input / scores [N, C, d...] (D positions per (n, c)) and
 * int32 / int64 targets [N, d...]: per (n, d) with class t, unless t == ignore_index,
 * w = weight[t] (1 without weight) and loss = -logprob[n, t, d] * w; reduction none (the
 * losses), sum, or mean (sum / sum of applied weights; 0 / 0 = NaN when all are ignored).
 * SoftmaxCrossEntropyLoss takes logprob = x - (max + log(sum exp(x - max))) along C per
 * (n, d), in double, and writes it as the optional second output. A target outside [0, C)
 * that is not ignore_index makes NAME_run return 1 (the runtime fails naming it). */
int ec_red_loss(EcCtx *c, int k, const RtNode *n) {
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
    if (ii == INT64_MIN)
        snprintf(iis, sizeof iis, "INT64_MIN");
    else
        snprintf(iis, sizeof iis, "%lldLL", ii);
    text_buf_printf(&c->body,
                    "    {\n        const %s *x = %s;\n        const %s *t = %s;\n        %s *y = %s;\n"
                    "        double sum = 0.0, wsum = 0.0;\n        int32_t nn, d, cc;\n",
                    xt, P(c, n, 0, px), tt, P(c, n, 1, pt), xt, Y(c, n, py));
    if (w) text_buf_printf(&c->body, "        const %s *w = %s;\n", xt, P(c, n, 2, pw));
    if (lpo) text_buf_printf(&c->body, "        %s *lpo = %s;\n", xt, ec_ptr(c, n->out[1], 0, pl, sizeof pl));
    text_buf_printf(
        &c->body,
        "        (void)cc;\n        for (nn = 0; nn < %lld; nn++)\n            for (d = 0; d < %lld; d++) {\n"
        "                const %s *p = x + nn * %lld + d;\n                int64_t cls = (int64_t)t[nn * %lld + d];\n"
        "                double loss = 0.0, wt = 0.0;\n",
        (long long)N, (long long)D, xt, (long long)(C * D), (long long)D);
    if (sce) {
        ec_tpl_use(c, "b0_reduce_exp");
        ec_tpl_use(c, "b0_reduce_log");
        text_buf_printf(&c->body,
                        "                double m = -HUGE_VAL, s = 0.0, ls;\n"
                        "                for (cc = 0; cc < %lld; cc++)\n                    if ((double)p[cc * %lld] > "
                        "m) m = p[cc * %lld];\n"
                        "                for (cc = 0; cc < %lld; cc++) s += wk_reduce_exp((double)p[cc * %lld] - m);\n"
                        "                ls = m + wk_reduce_log(s);\n",
                        (long long)C, (long long)D, (long long)D, (long long)C, (long long)D);
        if (lpo)
            text_buf_printf(&c->body,
                            "                for (cc = 0; cc < %lld; cc++) lpo[nn * %lld + d + cc * %lld] = "
                            "(%s)((double)p[cc * %lld] - ls);\n",
                            (long long)C, (long long)(C * D), (long long)D, xt, (long long)D);
    }
    /* the class element's log probability: stride D between classes, minus ls for the cross entropy */
    char lp[96], cond[96];
    snprintf(lp, sizeof lp, "(double)p[cls * %lld]%s", (long long)D, sce ? " - ls" : "");
    if (has_ii)
        snprintf(cond, sizeof cond, "cls != %s", iis);
    else
        snprintf(cond, sizeof cond, "1");
    text_buf_printf(&c->body,
                    "                if (%s) {\n                    if (cls < 0 || cls >= %lld) return 1;\n"
                    "                    wt = %s;\n                    loss = -(%s) * wt;\n                }\n",
                    cond, (long long)C, w ? "(double)w[cls]" : "1.0", lp);
    if (reduction == 0) text_buf_printf(&c->body, "                y[nn * %lld + d] = (%s)loss;\n", (long long)D, xt);
    text_buf_printf(&c->body, "                sum += loss;\n                wsum += wt;\n            }\n");
    if (reduction == 1)
        text_buf_printf(&c->body, "        y[0] = (%s)sum;\n", xt);
    else if (reduction == 2)
        text_buf_printf(&c->body, "        y[0] = (%s)(sum / wsum);\n", xt);
    text_buf_printf(&c->body, "        (void)sum, (void)wsum;\n    }\n");
    return RT_OK;
}
