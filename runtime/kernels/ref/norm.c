/*
 * norm.c — normalizations: Softmax, LogSoftmax, Hardmax, LayerNormalization,
 * BatchNormalization, InstanceNormalization, MeanVarianceNormalization.
 *
 * Softmax family: the input is viewed as [outer, n, inner] and each of the outer*inner rows
 * of length n (stride inner) is normalized. Before opset 13 the input is coerced to 2-D at
 * `axis` (default 1), so n is the product of dims[axis:] and inner = 1; from opset 13 on,
 * n = dims[axis] (default -1). Rows subtract their max before exp, so large inputs do not
 * overflow; Hardmax marks the first maximum.
 *
 * The statistics normalizations compute means and variances (population, divided by the
 * count) in double, then y = (x - mean) * scale / sqrt(var + epsilon) + bias as
 * y = x * a + b with per-row or per-channel a, b in double. Inference BatchNormalization uses
 * the given running statistics; training mode (training_mode=1 from opset 14, or the
 * optional statistics outputs requested before it) uses the batch's own and also returns
 * the updated running statistics, running = running * momentum + batch * (1 - momentum).
 * Before opset 9, spatial = 0 keeps statistics per activation ([C, D1 .. Dn]) instead of per
 * channel.
 *
 * MeanVarianceNormalization (opset 9, 13; an ONNX function): over the axes of attribute
 * `axes` (default [0, 2, 3]), y = (x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9), the function
 * body's formula with its epsilon added after the square root. Each group of elements that
 * agree on the other axes gets its own E[x] and E[x^2], accumulated in double; the variance
 * is clamped at 0 where rounding would make it negative.
 */
#include "../kernel.h"

#include <math.h>
#include <string.h>

#include "norm.h"

static inline double ld(const RtTensor *t, int64_t i) {
    return t->dtype == RT_F32 ? (double)((const float *)t->data)[i] : rt_get_f64(t, i);
}

static inline void st(RtTensor *t, int64_t i, double v) {
    if (t->dtype == RT_F32) ((float *)t->data)[i] = (float)v;
    else rt_set_f64(t, i, v);
}

static int check_float(RtKernelCtx *c, const RtTensor *t, const char *what) {
    if (!t) return rt_fail(c, "input '%s' is missing", what);
    if (!rt_dtype_is_float(t->dtype))
        return rt_fail(c, "input '%s' must be a float tensor, got %s", what, rt_dtype_name(t->dtype));
    return RT_OK;
}

/* Output i is wanted unless the node marks it absent (slot -1). Output 0 always is. */
static int out_wanted(const RtNode *n, int i) {
    return i < n->n_out && (i == 0 || !n->out || n->out[i] >= 0);
}

/* Allocates outputs 0..count-1 whose shapes are already set (skipping unwanted ones). */
static int outs_alloc(RtKernelCtx *c, const RtNode *n, RtTensor *const *out, int count) {
    for (int i = 0; i < count && i < n->n_out; i++)
        if (out_wanted(n, i)) RT_TRY(rt_out_alloc_data(c, out[i]));
    return RT_OK;
}

/* ---- Softmax, LogSoftmax, Hardmax ---- */

typedef enum { SM_SOFTMAX, SM_LOG_SOFTMAX, SM_HARDMAX } SmKind;

/* Normalizes one row in place (double). */
static void sm_row(SmKind k, double *r, int64_t n) {
    int64_t arg = 0;
    for (int64_t j = 1; j < n; j++)
        if (r[j] > r[arg]) arg = j;
    double m = n ? r[arg] : 0, s = 0;
    if (k == SM_HARDMAX) {
        for (int64_t j = 0; j < n; j++) r[j] = j == arg ? 1.0 : 0.0;
        return;
    }
    for (int64_t j = 0; j < n; j++) s += exp(r[j] - m);
    if (k == SM_SOFTMAX)
        for (int64_t j = 0; j < n; j++) r[j] = exp(r[j] - m) / s;
    else
        for (int64_t j = 0; j < n; j++) r[j] = r[j] - m - log(s);
}

/* float32 contiguous rows (inner == 1): the models' attention and classifier softmax. */
static void sm_rows_f32(SmKind k, const float *x, float *y, int64_t rows, int64_t n) {
    for (int64_t r = 0; r < rows; r++, x += n, y += n) {
        float m = n ? x[0] : 0;
        int64_t arg = 0;
        for (int64_t j = 1; j < n; j++)
            if (x[j] > m) { m = x[j]; arg = j; }
        if (k == SM_HARDMAX) {
            for (int64_t j = 0; j < n; j++) y[j] = j == arg ? 1.0f : 0.0f;
            continue;
        }
        double s = 0;
        for (int64_t j = 0; j < n; j++) {
            float e = expf(x[j] - m);
            if (k == SM_SOFTMAX) y[j] = e;
            s += e;
        }
        if (k == SM_SOFTMAX) {
            float inv = (float)(1.0 / s);
            for (int64_t j = 0; j < n; j++) y[j] *= inv;
        } else {
            float ls = (float)log(s); /* (x - m) first: exact for x near m, as in large inputs */
            for (int64_t j = 0; j < n; j++) y[j] = (x[j] - m) - ls;
        }
    }
}

static int softmax_run(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out,
                       SmKind k) {
    const RtTensor *x = in[0];
    RT_TRY(check_float(c, x, "input"));
    if (x->rank < 1) return rt_fail(c, "input must have rank >= 1, got a scalar");
    int coerce2d = n->opset < 13;
    int axis = rt_axis(c, rt_attr_int(n, "axis", coerce2d ? 1 : -1), x->rank, "attribute 'axis'");
    if (axis < 0) return RT_ERR;
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, x->rank, x->dims));
    int64_t outer = 1, len = 1, inner = 1;
    for (int i = 0; i < x->rank; i++) {
        if (i < axis) outer *= x->dims[i];
        else if (i == axis || coerce2d) len *= x->dims[i];
        else inner *= x->dims[i];
    }
    if (x->dtype == RT_F32 && inner == 1) {
        sm_rows_f32(k, x->data, out[0]->data, outer, len);
        return RT_OK;
    }
    double *row = rt_scratch(c, sizeof(double) * (size_t)(len ? len : 1));
    if (!row) return RT_ERR_NOMEM;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t base = o * len * inner + i;
            for (int64_t j = 0; j < len; j++) row[j] = ld(x, base + j * inner);
            sm_row(k, row, len);
            for (int64_t j = 0; j < len; j++) st(out[0], base + j * inner, row[j]);
        }
    rt_scratch_free(c, row);
    return RT_OK;
}

static int k_softmax(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return softmax_run(c, n, in, out, SM_SOFTMAX);
}

static int k_log_softmax(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return softmax_run(c, n, in, out, SM_LOG_SOFTMAX);
}

static int k_hardmax(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return softmax_run(c, n, in, out, SM_HARDMAX);
}

/* ---- LayerNormalization ---- */

/* norm.h */
int norm_param_expand(RtKernelCtx *c, const RtTensor *t, const char *what, int rank, const int64_t *dims,
                      double *dst) {
    char s1[128], s2[128];
    int ok = t->rank <= rank;
    for (int i = 0; ok && i < t->rank; i++) {
        int64_t d = t->dims[t->rank - 1 - i];
        ok = d == 1 || d == dims[rank - 1 - i];
    }
    if (!ok)
        return rt_fail(c, "input '%s' %s does not broadcast to the normalized shape %s", what,
                       rt_shape_str(t->rank, t->dims, s1, sizeof s1), rt_shape_str(rank, dims, s2, sizeof s2));
    if (!dst) return RT_OK;
    int64_t strides[RT_MAX_RANK], idx[RT_MAX_RANK] = {0}, off = 0, total = rt_shape_numel(rank, dims);
    rt_broadcast_strides(t->rank, t->dims, rank, dims, strides);
    for (int64_t j = 0; j < total; j++) {
        dst[j] = ld(t, off);
        for (int i = rank - 1; i >= 0; i--) {
            off += strides[i];
            if (++idx[i] < dims[i]) break;
            off -= strides[i] * dims[i];
            idx[i] = 0;
        }
    }
    return RT_OK;
}

static int k_layer_norm(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = in[0], *scale = rt_in(n, in, 1), *bias = rt_in(n, in, 2);
    RT_TRY(check_float(c, x, "X"));
    RT_TRY(check_float(c, scale, "Scale"));
    if (bias) RT_TRY(check_float(c, bias, "B"));
    if (x->rank < 1) return rt_fail(c, "input 'X' must have rank >= 1, got a scalar");
    int axis = rt_axis(c, rt_attr_int(n, "axis", -1), x->rank, "attribute 'axis'");
    if (axis < 0) return RT_ERR;
    double eps = rt_attr_float(n, "epsilon", 1e-5f);
    int64_t stash = rt_attr_int(n, "stash_type", RT_F32);
    if (stash <= 0 || stash >= RT_DTYPE_END || !rt_dtype_is_float((RtDtype)stash))
        return rt_fail(c, "attribute 'stash_type' = %lld is not a float type", (long long)stash);
    int nr = x->rank - axis;
    const int64_t *ndims = x->dims + axis;
    RT_TRY(norm_param_expand(c, scale, "Scale", nr, ndims, NULL));
    if (bias) RT_TRY(norm_param_expand(c, bias, "B", nr, ndims, NULL));
    int64_t sdims[RT_MAX_RANK], rows = 1, len = rt_shape_numel(nr, ndims);
    for (int i = 0; i < x->rank; i++) {
        sdims[i] = i < axis ? x->dims[i] : 1;
        if (i < axis) rows *= x->dims[i];
    }
    rt_out_set_shape(out[0], x->dtype, x->rank, x->dims);
    for (int i = 1; i < 3 && i < n->n_out; i++) rt_out_set_shape(out[i], (RtDtype)stash, x->rank, sdims);
    RT_TRY(outs_alloc(c, n, out, 3));
    double *sc = rt_scratch(c, sizeof(double) * (size_t)(len ? len : 1) * 2);
    if (!sc) return RT_ERR_NOMEM;
    double *bi = sc + len;
    norm_param_expand(c, scale, "Scale", nr, ndims, sc);
    if (bias) norm_param_expand(c, bias, "B", nr, ndims, bi);
    else memset(bi, 0, sizeof(double) * (size_t)len);
    for (int64_t r = 0; r < rows; r++) {
        int64_t base = r * len;
        double mean = 0, var = 0;
        for (int64_t j = 0; j < len; j++) mean += ld(x, base + j);
        mean /= (double)len;
        for (int64_t j = 0; j < len; j++) {
            double d = ld(x, base + j) - mean;
            var += d * d;
        }
        var /= (double)len;
        double inv = 1.0 / sqrt(var + eps);
        for (int64_t j = 0; j < len; j++) st(out[0], base + j, (ld(x, base + j) - mean) * inv * sc[j] + bi[j]);
        if (out_wanted(n, 1)) rt_set_f64(out[1], r, mean);
        if (out_wanted(n, 2)) rt_set_f64(out[2], r, inv);
    }
    rt_scratch_free(c, sc);
    return RT_OK;
}

/* ---- BatchNormalization, InstanceNormalization ---- */

/* Checks a per-channel input holds C values. */
static int check_channel(RtKernelCtx *c, const RtTensor *t, const char *what, int64_t C) {
    RT_TRY(check_float(c, t, what));
    if (rt_numel(t) != C || t->rank != 1) {
        char s[128];
        return rt_fail(c, "input '%s' has shape %s, expected [%lld] (the channel count)", what,
                       rt_shape_str(t->rank, t->dims, s, sizeof s), (long long)C);
    }
    return RT_OK;
}

/* Mean and population variance of x over [N, C, S] for channel ch, or for one (n, ch). */
static void channel_stats(const RtTensor *x, int64_t N, int64_t C, int64_t S, int64_t ch,
                          double *mean, double *var) {
    double m = 0, v = 0, cnt = (double)N * (double)S;
    for (int64_t b = 0; b < N; b++)
        for (int64_t s = 0; s < S; s++) m += ld(x, (b * C + ch) * S + s);
    m /= cnt;
    for (int64_t b = 0; b < N; b++)
        for (int64_t s = 0; s < S; s++) {
            double d = ld(x, (b * C + ch) * S + s) - m;
            v += d * d;
        }
    *mean = m;
    *var = v / cnt;
}

/* y[b, ch, :] = x[b, ch, :] * a + b0. */
static void channel_affine(const RtTensor *x, RtTensor *y, int64_t base, int64_t S, double a, double b0) {
    if (x->dtype == RT_F32) {
        const float *xs = (const float *)x->data + base;
        float *ys = (float *)y->data + base;
        for (int64_t s = 0; s < S; s++) ys[s] = (float)(xs[s] * a + b0);
        return;
    }
    for (int64_t s = 0; s < S; s++) rt_set_f64(y, base + s, ld(x, base + s) * a + b0);
}

/* spatial = 0 (opsets 1-8): statistics per activation. scale, B, mean and var hold one value
 * per (channel, position), shape [C, D1 .. Dn] (C x S values), and training averages over the
 * batch only: for each of the C x S activations j, y[b, j] = (x[b, j] - mean[j]) /
 * sqrt(var[j] + epsilon) * scale[j] + B[j]. */
static int batch_norm_per_activation(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out,
                                     int training) {
    static const char *names[5] = {"X", "scale", "B", "mean", "var"};
    const RtTensor *x = in[0];
    int64_t N = x->dims[0], CS = rt_shape_numel(x->rank - 1, x->dims + 1);
    for (int i = 1; i < 5; i++) {
        const RtTensor *t = rt_in(n, in, i);
        RT_TRY(check_float(c, t, names[i]));
        if (rt_numel(t) != CS) {
            char s[128];
            return rt_fail(c, "input '%s' has shape %s; with spatial = 0 it holds one value per activation "
                              "(C x D1 x ... = %lld values)", names[i], rt_shape_str(t->rank, t->dims, s, sizeof s),
                           (long long)CS);
        }
    }
    int n_stats = training ? 4 : 0;
    rt_out_set_shape(out[0], x->dtype, x->rank, x->dims);
    for (int i = 1; i <= n_stats && i < n->n_out; i++) rt_out_set_shape(out[i], in[3]->dtype, in[3]->rank, in[3]->dims);
    RT_TRY(outs_alloc(c, n, out, 1 + n_stats));
    double eps = rt_attr_float(n, "epsilon", 1e-5f), mom = rt_attr_float(n, "momentum", 0.9f);
    for (int64_t j = 0; j < CS; j++) {
        double mean = ld(in[3], j), var = ld(in[4], j);
        if (training) { /* channel_stats over [N, CS, 1] at "channel" j: the batch of activation j */
            channel_stats(x, N, CS, 1, j, &mean, &var);
            double stats[4] = {ld(in[3], j) * mom + mean * (1 - mom), ld(in[4], j) * mom + var * (1 - mom), mean, var};
            for (int i = 1; i <= n_stats; i++)
                if (out_wanted(n, i)) rt_set_f64(out[i], j, stats[i - 1]);
        }
        double a = ld(in[1], j) / sqrt(var + eps), b0 = ld(in[2], j) - mean * a;
        for (int64_t b = 0; b < N; b++) channel_affine(x, out[0], b * CS + j, 1, a, b0);
    }
    return RT_OK;
}

static int k_batch_norm(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    static const char *names[5] = {"X", "scale", "B", "input_mean", "input_var"};
    const RtTensor *x = in[0];
    RT_TRY(check_float(c, x, "X"));
    if (x->rank < 2) return rt_fail(c, "input 'X' must be [N, C, ...], got rank %d", x->rank);
    int64_t N = x->dims[0], C = x->dims[1], S = rt_shape_numel(x->rank - 2, x->dims + 2);
    int training = 0;
    if (n->opset >= 14) training = rt_attr_int(n, "training_mode", 0) != 0;
    else
        for (int i = 1; i < n->n_out; i++) training |= out_wanted(n, i);
    if (n->opset < 9 && rt_attr_int(n, "spatial", 1) == 0) return batch_norm_per_activation(c, n, in, out, training);
    for (int i = 1; i < 5; i++) RT_TRY(check_channel(c, rt_in(n, in, i), names[i], C));
    const RtTensor *scale = in[1], *bias = in[2], *rmean = in[3], *rvar = in[4];
    int n_stats = !training ? 0 : n->opset >= 14 ? 2 : 4;
    rt_out_set_shape(out[0], x->dtype, x->rank, x->dims);
    for (int i = 1; i <= n_stats && i < n->n_out; i++) rt_out_set_shape(out[i], rmean->dtype, 1, &C);
    RT_TRY(outs_alloc(c, n, out, 1 + n_stats));
    double eps = rt_attr_float(n, "epsilon", 1e-5f), mom = rt_attr_float(n, "momentum", 0.9f);
    for (int64_t ch = 0; ch < C; ch++) {
        double mean = ld(rmean, ch), var = ld(rvar, ch);
        if (training) {
            channel_stats(x, N, C, S, ch, &mean, &var);
            double stats[4] = {ld(rmean, ch) * mom + mean * (1 - mom), ld(rvar, ch) * mom + var * (1 - mom),
                               mean, var};
            for (int i = 1; i <= n_stats; i++)
                if (out_wanted(n, i)) rt_set_f64(out[i], ch, stats[i - 1]);
        }
        double a = ld(scale, ch) / sqrt(var + eps), b0 = ld(bias, ch) - mean * a;
        for (int64_t b = 0; b < N; b++) channel_affine(x, out[0], (b * C + ch) * S, S, a, b0);
    }
    return RT_OK;
}

static int k_instance_norm(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = in[0];
    RT_TRY(check_float(c, x, "input"));
    if (x->rank < 2) return rt_fail(c, "input must be [N, C, ...], got rank %d", x->rank);
    int64_t N = x->dims[0], C = x->dims[1], S = rt_shape_numel(x->rank - 2, x->dims + 2);
    RT_TRY(check_channel(c, rt_in(n, in, 1), "scale", C));
    RT_TRY(check_channel(c, rt_in(n, in, 2), "B", C));
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, x->rank, x->dims));
    double eps = rt_attr_float(n, "epsilon", 1e-5f);
    for (int64_t b = 0; b < N; b++)
        for (int64_t ch = 0; ch < C; ch++) {
            double mean, var;
            /* one instance = a batch of one with this channel: offset b*C*S through N=1 view */
            RtTensor xv = *x;
            xv.data = (char *)x->data + (size_t)(b * C * S) * rt_dtype_size(x->dtype);
            channel_stats(&xv, 1, C, S, ch, &mean, &var);
            double a = ld(in[1], ch) / sqrt(var + eps), b0 = ld(in[2], ch) - mean * a;
            channel_affine(x, out[0], (b * C + ch) * S, S, a, b0);
        }
    return RT_OK;
}

/* Epsilon of the spec's function body for MeanVarianceNormalization, added to the deviation. */
#define MVN_EPSILON 1e-9

static int k_mvn(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = in[0];
    RT_TRY(check_float(c, x, "input"));
    const int64_t def_axes[3] = {0, 2, 3}, *axes = def_axes;
    int n_axes = rt_attr_ints(n, "axes", &axes);
    if (n_axes < 0) n_axes = 3, axes = def_axes;
    int reduced[RT_MAX_RANK] = {0};
    for (int i = 0; i < n_axes; i++) {
        int a = rt_axis(c, axes[i], x->rank, "attribute 'axes'");
        if (a < 0) return RT_ERR;
        reduced[a] = 1;
    }
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, x->rank, x->dims));
    /* group of element i: its row-major index over the kept axes only (gstride[d] = 0 on reduced ones) */
    int64_t gstride[RT_MAX_RANK], groups = 1, total = rt_numel(x);
    for (int d = x->rank - 1; d >= 0; d--) {
        gstride[d] = reduced[d] ? 0 : groups;
        if (!reduced[d]) groups *= x->dims[d];
    }
    double *acc = rt_scratch(c, sizeof(double) * (size_t)(2 * groups + 1));
    if (!acc) return RT_ERR_NOMEM;
    memset(acc, 0, sizeof(double) * (size_t)(2 * groups));
    int64_t count = groups ? total / groups : 0;
    for (int pass = 0; pass < 2; pass++) {
        int64_t idx[RT_MAX_RANK] = {0}, gi = 0;
        for (int64_t i = 0; i < total; i++) {
            double v = ld(x, i);
            if (pass == 0) {
                acc[2 * gi] += v, acc[2 * gi + 1] += v * v;
            } else {
                double mean = acc[2 * gi] / (double)count, var = acc[2 * gi + 1] / (double)count - mean * mean;
                st(out[0], i, (v - mean) / (sqrt(var > 0 ? var : 0) + MVN_EPSILON));
            }
            for (int d = x->rank - 1; d >= 0; d--) { /* next row-major index, and its group */
                gi += gstride[d];
                if (++idx[d] < x->dims[d]) break;
                gi -= gstride[d] * idx[d];
                idx[d] = 0;
            }
        }
    }
    rt_scratch_free(c, acc);
    return RT_OK;
}

const RtKernelEntry rt_kernels_norm[] = {
    {RT_OP_SOFTMAX, k_softmax},
    {RT_OP_LOG_SOFTMAX, k_log_softmax},
    {RT_OP_HARDMAX, k_hardmax},
    {RT_OP_LAYER_NORMALIZATION, k_layer_norm},
    {RT_OP_BATCH_NORMALIZATION, k_batch_norm},
    {RT_OP_INSTANCE_NORMALIZATION, k_instance_norm},
    {RT_OP_MEAN_VARIANCE_NORMALIZATION, k_mvn},
    {-1, 0},
};
