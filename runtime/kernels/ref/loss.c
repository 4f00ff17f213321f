/*
 * loss.c — reference kernels for the two loss ops training and evaluation graphs carry:
 * NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (opset 12, 13).
 *
 * Shapes: input / scores [N, C] or [N, C, d1, ..., dk]; target / labels [N] or
 * [N, d1, ..., dk] (int32 or int64); optional weight [C] of the input's float dtype.
 * Element (n, c, d) of the input (d runs over d1..dk flattened, D of them) is at
 * (n * C + c) * D + d.
 *
 *   NegativeLogLikelihoodLoss: for each (n, d) with t = target[n, d]:
 *       t == ignore_index: loss 0 and applied weight 0;
 *       else (t must lie in [0, C)): w = weight[t] (1 without weight), loss = -input[n, t, d] * w.
 *   reduction "none": the loss tensor, shaped like the target;
 *             "sum":  the sum of the losses (a scalar);
 *             "mean" (default): sum of the losses / sum of the applied weights, so ignored
 *             elements leave both numerator and denominator (the spec's definition; it is the
 *             plain average over the kept elements when there is no weight). When every
 *             element is ignored the quotient is 0 / 0 = NaN, as in the spec's reference code.
 *   SoftmaxCrossEntropyLoss: log_prob = log(softmax(scores)) along axis 1, then the loss
 *       above over log_prob; the optional second output is log_prob itself (scores' shape).
 *       log softmax is taken stably as x - max - log(sum(exp(x - max))).
 * Everything is computed in double and stored once in the input's dtype (float16, float,
 * double). A target outside [0, C) that is not ignore_index is an error naming the element.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../kernel.h"

typedef struct {
    int64_t N, C, D;      /* batch, classes, spatial elements per (n, c) */
    int has_ii;           /* ignore_index attribute given */
    int64_t ii;
    int reduction;        /* 0 none, 1 sum, 2 mean */
} LossGeom;

/* Checks the shapes and attributes of a loss node: x [N, C, d...], t [N, d...], w [C]. */
static int loss_check(RtKernelCtx *c, const RtNode *n, const RtTensor *x, const RtTensor *t, const RtTensor *w,
                      const char *xname, const char *tname, LossGeom *g) {
    char sx[128], st[128];
    if (!t) return rt_fail(c, "missing input '%s'", tname);
    if (!rt_dtype_is_float(x->dtype) || x->dtype == RT_BF16)
        return rt_fail(c, "input '%s' must be float16, float or double, got %s", xname, rt_dtype_name(x->dtype));
    if (t->dtype != RT_I32 && t->dtype != RT_I64)
        return rt_fail(c, "input '%s' must be int32 or int64, got %s", tname, rt_dtype_name(t->dtype));
    if (x->rank < 2)
        return rt_fail(c, "input '%s' must have rank >= 2 ([N, C, ...]), got shape %s", xname,
                       rt_shape_str(x->rank, x->dims, sx, sizeof sx));
    int ok = t->rank == x->rank - 1 && t->dims[0] == x->dims[0];
    for (int i = 1; ok && i < t->rank; i++) ok = t->dims[i] == x->dims[i + 1];
    if (!ok)
        return rt_fail(c, "input '%s' of shape %s does not match input '%s' of shape %s (want [N, d1, ...])",
                       tname, rt_shape_str(t->rank, t->dims, st, sizeof st), xname,
                       rt_shape_str(x->rank, x->dims, sx, sizeof sx));
    g->N = x->dims[0];
    g->C = x->dims[1];
    g->D = rt_shape_numel(x->rank - 2, x->dims + 2);
    if (w) {
        if (w->dtype != x->dtype)
            return rt_fail(c, "input 'weight' must have the dtype of '%s' (%s), got %s", xname,
                           rt_dtype_name(x->dtype), rt_dtype_name(w->dtype));
        if (w->rank != 1 || w->dims[0] != g->C)
            return rt_fail(c, "input 'weight' must have shape [%lld], got %s", (long long)g->C,
                           rt_shape_str(w->rank, w->dims, sx, sizeof sx));
    }
    g->has_ii = rt_attr(n, "ignore_index") != NULL;
    g->ii = rt_attr_int(n, "ignore_index", 0);
    const char *red = rt_attr_str(n, "reduction", "mean");
    if (strcmp(red, "none") == 0) g->reduction = 0;
    else if (strcmp(red, "sum") == 0) g->reduction = 1;
    else if (strcmp(red, "mean") == 0) g->reduction = 2;
    else return rt_fail(c, "attribute 'reduction' must be none, sum or mean, got '%s'", red);
    return RT_OK;
}

/* Sets the loss output's shape: the target's for "none", a scalar otherwise. */
static void loss_shape(RtTensor *o, const RtTensor *x, const RtTensor *t, const LossGeom *g) {
    if (g->reduction == 0) rt_out_set_shape(o, x->dtype, t->rank, t->dims);
    else rt_out_set_shape(o, x->dtype, 0, NULL);
}

/* The loss over log-probabilities lp (double [N, C, D]) into o (allocated). */
static int loss_compute(RtKernelCtx *c, const double *lp, const RtTensor *t, const RtTensor *w, const LossGeom *g,
                        const char *tname, RtTensor *o) {
    double sum = 0.0, wsum = 0.0;
    for (int64_t nn = 0; nn < g->N; nn++)
        for (int64_t d = 0; d < g->D; d++) {
            int64_t k = nn * g->D + d, cls = rt_get_i64(t, k);
            double loss = 0.0, wt = 0.0;
            if (!(g->has_ii && cls == g->ii)) {
                if (cls < 0 || cls >= g->C)
                    return rt_fail(c, "input '%s' element %lld is %lld, outside [0, %lld) and not ignore_index",
                                   tname, (long long)k, (long long)cls, (long long)g->C);
                wt = w ? rt_get_f64(w, cls) : 1.0;
                loss = -lp[(nn * g->C + cls) * g->D + d] * wt;
            }
            if (g->reduction == 0) rt_set_f64_sat(o, k, loss);
            sum += loss;
            wsum += wt;
        }
    if (g->reduction == 1) rt_set_f64_sat(o, 0, sum);
    else if (g->reduction == 2) rt_set_f64_sat(o, 0, sum / wsum);
    return RT_OK;
}

static int k_nll_loss(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = in[0], *t = rt_in(n, in, 1), *w = rt_in(n, in, 2);
    LossGeom g;
    RT_TRY(loss_check(c, n, x, t, w, "input", "target", &g));
    loss_shape(out[0], x, t, &g);
    RT_TRY(rt_out_alloc_data(c, out[0]));
    int64_t total = rt_numel(x);
    double *lp = rt_scratch(c, (size_t)total * sizeof(double));
    if (!lp) return RT_ERR_NOMEM;
    for (int64_t i = 0; i < total; i++) lp[i] = rt_get_f64(x, i);
    int r = loss_compute(c, lp, t, w, &g, "target", out[0]);
    rt_scratch_free(c, lp);
    return r;
}

static int k_softmax_ce_loss(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = in[0], *t = rt_in(n, in, 1), *w = rt_in(n, in, 2);
    LossGeom g;
    RT_TRY(loss_check(c, n, x, t, w, "scores", "labels", &g));
    loss_shape(out[0], x, t, &g);
    if (n->n_out > 1) rt_out_set_shape(out[1], x->dtype, x->rank, x->dims);
    RT_TRY(rt_out_alloc_data(c, out[0]));
    if (n->n_out > 1) RT_TRY(rt_out_alloc_data(c, out[1]));
    int64_t total = rt_numel(x);
    double *lp = rt_scratch(c, (size_t)total * sizeof(double));
    if (!lp) return RT_ERR_NOMEM;
    /* log softmax along C for each (n, d): stride D between classes */
    for (int64_t nn = 0; nn < g.N; nn++)
        for (int64_t d = 0; d < g.D; d++) {
            int64_t base = nn * g.C * g.D + d;
            double m = -INFINITY, s = 0.0;
            for (int64_t k = 0; k < g.C; k++) {
                double v = rt_get_f64(x, base + k * g.D);
                lp[base + k * g.D] = v;
                if (v > m) m = v;
            }
            for (int64_t k = 0; k < g.C; k++) s += exp(lp[base + k * g.D] - m);
            double ls = m + log(s);
            for (int64_t k = 0; k < g.C; k++) lp[base + k * g.D] -= ls;
        }
    if (n->n_out > 1)
        for (int64_t i = 0; i < total; i++) rt_set_f64_sat(out[1], i, lp[i]);
    int r = loss_compute(c, lp, t, w, &g, "labels", out[0]);
    rt_scratch_free(c, lp);
    return r;
}

const RtKernelEntry rt_kernels_loss[] = {
    {RT_OP_NEGATIVE_LOG_LIKELIHOOD_LOSS, k_nll_loss},
    {RT_OP_SOFTMAX_CROSS_ENTROPY_LOSS, k_softmax_ce_loss},
    {-1, 0},
};
