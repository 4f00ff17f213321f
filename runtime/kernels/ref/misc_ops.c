/*
 * misc_ops.c — reference kernels for older and smaller ops: Upsample, LRN, EyeLike,
 * Compress, NonZero, Shrink, ReverseSequence.
 *
 *   Upsample (opset 7-9; deprecated at 10): scales from the attribute (7-8) or from input 1
 *       (9), one per axis, > 0; output dim = floor(dim * scale). Coordinates are
 *       "asymmetric": output index o maps to input coordinate x = o / scale.
 *       nearest: input index floor(x) (ceil(x) when scale < 1, which the spec does not allow
 *       but onnxruntime does), clamped to dim - 1; elements copied as bytes (any dtype).
 *       linear: x clamped to [0, dim - 1], x0 = floor(x), x1 = min(x0 + 1, dim - 1),
 *       y = (1 - w) in[x0] + w in[x1] with w = x - x0, separable over every axis (n-linear),
 *       one axis after another in double.
 *   LRN: across channels (axis 1) of [N, C, ...]: y = x / (bias + alpha / size * s)^beta with
 *       s = sum of x^2 over channels c - floor((size-1)/2) .. c + ceil((size-1)/2) (clipped).
 *   EyeLike: a 2-D tensor of the input's shape, 1 where column = row + k, else 0; dtype from
 *       the attribute (ONNX code) or the input's. Reads no input data.
 *   Compress: the slices along axis (or the elements of the flattened input when axis is
 *       absent) whose condition entry is true; a shorter condition drops the rest, a longer
 *       one may only be false beyond the axis (numpy.compress). Output shape depends on the
 *       condition's values (RT_NEED_DATA).
 *   NonZero: the indices of the nonzero elements of X (any numeric dtype; NaN is nonzero),
 *       int64 [rank, count], one column per element in row-major order (numpy.nonzero stacked).
 *       A scalar X is read as [1] (numpy's atleast_1d), giving [1, count]. Output shape
 *       depends on X's values (RT_NEED_DATA).
 *   Shrink: y = x + bias where x < -lambd, x - bias where x > lambd, else 0 (in double,
 *       stored in x's dtype as Cast does: integers truncate and saturate, so an unsigned
 *       x - bias below 0 gives 0 instead of C's undefined conversion).
 *   ReverseSequence: for each batch entry b (along batch_axis), the first seq_lens[b] entries
 *       along time_axis are reversed, the rest copied; bytes, any dtype.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../kernel.h"
#include "../strided.h"

static int check_dtype(RtKernelCtx *c, const RtTensor *t, const char *what) {
    if (rt_dtype_size(t->dtype) == 0)
        return rt_fail(c, "%s has dtype %s, which wafer does not support", what, rt_dtype_name(t->dtype));
    return RT_OK;
}

static int check_numeric(RtKernelCtx *c, const RtTensor *t, const char *what) {
    RT_TRY(check_dtype(c, t, what));
    if (t->dtype == RT_BOOL) return rt_fail(c, "%s must be numeric, got bool", what);
    return RT_OK;
}

static int check_float(RtKernelCtx *c, const RtTensor *t, const char *what) {
    if (!rt_dtype_is_float(t->dtype))
        return rt_fail(c, "%s must be a float tensor, got %s", what, rt_dtype_name(t->dtype));
    return RT_OK;
}

/* ================================================================ Upsample */

/* Reads the scales (attribute before opset 9, input 'scales' from 9) into s[rank]. */
static int upsample_scales(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, int rank, double *s) {
    const RtTensor *st = rt_in(n, in, 1);
    const RtAttr *a = rt_attr(n, "scales");
    int cnt;
    if (n->opset >= 9 || st) {
        if (a) return rt_fail(c, "attribute 'scales' is not allowed from opset 9 (scales is input 1)");
        if (!st) return rt_fail(c, "missing input 'scales'");
        if (!rt_dtype_is_float(st->dtype) || st->rank != 1)
            return rt_fail(c, "input 'scales' must be a 1-D float tensor");
        cnt = (int)(rt_numel(st) < 1000 ? rt_numel(st) : 1000);
        if (cnt == rank)
            for (int i = 0; i < rank; i++) s[i] = rt_get_f64(st, i);
    } else {
        if (!a || a->type != RT_ATTR_FLOATS) return rt_fail(c, "missing attribute 'scales' (floats)");
        cnt = a->n;
        if (cnt == rank)
            for (int i = 0; i < rank; i++) s[i] = a->floats[i];
    }
    if (cnt != rank) return rt_fail(c, "'scales' has %d values but input 'X' has rank %d", cnt, rank);
    for (int i = 0; i < rank; i++)
        if (!(s[i] > 0) || !isfinite(s[i])) return rt_fail(c, "'scales' value %g for axis %d is not > 0", s[i], i);
    return RT_OK;
}

/* Input coordinate of output index o (asymmetric). */
static double up_coord(int64_t o, double scale) { return (double)o / scale; }

static int k_upsample(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = in[0];
    int r = x->rank;
    double s[RT_MAX_RANK];
    const char *mode = rt_attr_str(n, "mode", "nearest");
    int linear = strcmp(mode, "linear") == 0;
    if (!linear && strcmp(mode, "nearest") != 0)
        return rt_fail(c, "attribute 'mode' is '%s'; expected nearest or linear", mode);
    RT_TRY(check_dtype(c, x, "input 'X'"));
    if (linear) RT_TRY(check_numeric(c, x, "input 'X' (linear mode)"));
    RT_NEED_DATA(c, rt_in(n, in, 1));
    RT_TRY(upsample_scales(c, n, in, r, s));
    int64_t dims[RT_MAX_RANK];
    for (int i = 0; i < r; i++) {
        double d = floor((double)x->dims[i] * s[i]);
        if (d > 1e15) return rt_fail(c, "output dimension %d is too large (%g)", i, d);
        dims[i] = (int64_t)d;
    }
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, r, dims));
    int64_t total = rt_numel(out[0]);
    if (total == 0) return RT_OK;
    if (!linear) {
        /* per-axis source index tables, then an odometer over the output */
        int64_t xs[RT_MAX_RANK], *map[RT_MAX_RANK] = {0}, pos[RT_MAX_RANK] = {0};
        rt_strides_contiguous(r, x->dims, xs);
        int64_t sum = 0;
        for (int i = 0; i < r; i++) sum += dims[i];
        int64_t *buf = rt_scratch(c, (size_t)(sum > 0 ? sum : 1) * sizeof(int64_t));
        if (!buf) return RT_ERR_NOMEM;
        for (int i = 0, k = 0; i < r; k += (int)dims[i], i++) {
            map[i] = buf + k;
            for (int64_t o = 0; o < dims[i]; o++) {
                double xc = up_coord(o, s[i]);
                int64_t v = (int64_t)(s[i] < 1 ? ceil(xc) : floor(xc));
                if (v > x->dims[i] - 1) v = x->dims[i] - 1;
                map[i][o] = v * xs[i];
            }
        }
        size_t esz = rt_dtype_size(x->dtype);
        char *dst = out[0]->data;
        const char *src = x->data;
        for (int64_t p = 0; p < total; p++) {
            int64_t off = 0;
            for (int i = 0; i < r; i++) off += map[i][pos[i]];
            memcpy(dst + (size_t)p * esz, src + (size_t)off * esz, esz);
            for (int i = r - 1; i >= 0; i--) {
                if (++pos[i] < dims[i]) break;
                pos[i] = 0;
            }
        }
        rt_scratch_free(c, buf);
        return RT_OK;
    }
    /* linear: resize one axis at a time in double; cur has shape cd */
    int64_t cd[RT_MAX_RANK], nin = rt_numel(x), biggest = total > nin ? total : nin;
    for (int i = 0; i < r; i++) cd[i] = x->dims[i];
    /* every intermediate shape is no larger than max(input, output) element-wise */
    int64_t cap = 1;
    for (int i = 0; i < r; i++) cap *= dims[i] > x->dims[i] ? dims[i] : x->dims[i];
    if (cap > biggest) biggest = cap;
    double *a = rt_scratch(c, (size_t)biggest * sizeof(double)), *b = rt_scratch(c, (size_t)biggest * sizeof(double));
    if (!a || !b) {
        if (a) rt_scratch_free(c, a);
        if (b) rt_scratch_free(c, b);
        return RT_ERR_NOMEM;
    }
    for (int64_t i = 0; i < nin; i++) a[i] = rt_get_f64(x, i);
    for (int ax = 0; ax < r; ax++) {
        if (cd[ax] == dims[ax] && s[ax] == 1) continue;
        int64_t outer = rt_shape_numel(ax, cd), inner = rt_shape_numel(r - ax - 1, cd + ax + 1);
        int64_t m = cd[ax], mo = dims[ax];
        for (int64_t q = 0; q < outer; q++)
            for (int64_t o = 0; o < mo; o++) {
                double xc = up_coord(o, s[ax]);
                if (xc > (double)(m - 1)) xc = (double)(m - 1);
                int64_t x0 = (int64_t)floor(xc), x1 = x0 + 1 < m ? x0 + 1 : m - 1;
                double w = xc - (double)x0;
                const double *r0 = a + (q * m + x0) * inner, *r1 = a + (q * m + x1) * inner;
                double *d = b + (q * mo + o) * inner;
                for (int64_t i = 0; i < inner; i++) d[i] = (1 - w) * r0[i] + w * r1[i];
            }
        cd[ax] = mo;
        double *t = a;
        a = b;
        b = t;
    }
    for (int64_t i = 0; i < total; i++) rt_set_f64(out[0], i, a[i]);
    rt_scratch_free(c, a);
    rt_scratch_free(c, b);
    return RT_OK;
}

/* ================================================================ LRN */

static int k_lrn(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = in[0];
    RT_TRY(check_float(c, x, "input 'X'"));
    /* [N, C] is the spec's "non image case" with no D axes; C must exist */
    if (x->rank < 2) return rt_fail(c, "input 'X' must be [N, C, D1, ...] (rank >= 2), got rank %d", x->rank);
    if (!rt_attr(n, "size")) return rt_fail(c, "missing attribute 'size'");
    int64_t size = rt_attr_int(n, "size", 0);
    if (size < 1) return rt_fail(c, "attribute 'size' is %lld; must be >= 1", (long long)size);
    double alpha = rt_attr_float(n, "alpha", 1e-4f), beta = rt_attr_float(n, "beta", 0.75f),
           bias = rt_attr_float(n, "bias", 1.0f);
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, x->rank, x->dims));
    int64_t N = x->dims[0], C = x->dims[1], S = rt_shape_numel(x->rank - 2, x->dims + 2);
    int64_t lo = (size - 1) / 2, hi = size - 1 - lo; /* floor and ceil of (size-1)/2 */
    for (int64_t b = 0; b < N; b++)
        for (int64_t ch = 0; ch < C; ch++)
            for (int64_t p = 0; p < S; p++) {
                int64_t c0 = ch - lo < 0 ? 0 : ch - lo, c1 = ch + hi > C - 1 ? C - 1 : ch + hi;
                double sq = 0;
                for (int64_t k = c0; k <= c1; k++) {
                    double v = rt_get_f64(x, (b * C + k) * S + p);
                    sq += v * v;
                }
                int64_t i = (b * C + ch) * S + p;
                rt_set_f64(out[0], i, rt_get_f64(x, i) / pow(bias + alpha / (double)size * sq, beta));
            }
    return RT_OK;
}

/* ================================================================ EyeLike */

static int k_eye_like(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = in[0];
    char sx[128];
    if (x->rank != 2)
        return rt_fail(c, "input 'input' must be 2-D, got shape %s", rt_shape_str(x->rank, x->dims, sx, sizeof sx));
    int64_t dt = rt_attr_int(n, "dtype", (int64_t)x->dtype), k = rt_attr_int(n, "k", 0);
    if (dt <= 0 || dt >= RT_DTYPE_END || rt_dtype_size((RtDtype)dt) == 0 || dt == RT_STRING)
        return rt_fail(c, "attribute 'dtype' %lld is not a dtype wafer supports", (long long)dt);
    RT_TRY(rt_out_alloc(c, out[0], (RtDtype)dt, 2, x->dims));
    int64_t rows = x->dims[0], cols = x->dims[1];
    if (rt_nbytes(out[0])) memset(out[0]->data, 0, (size_t)rt_nbytes(out[0]));
    for (int64_t i = 0; i < rows; i++) {
        /* column i + k, compared without forming it when k is huge */
        if ((k >= 0 && k < cols && i < cols - k) || (k < 0 && i >= -k && i + k < cols))
            rt_set_f64(out[0], i * cols + i + k, 1.0);
    }
    return RT_OK;
}

/* ================================================================ Compress */

static int k_compress(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = in[0], *cond = rt_in(n, in, 1);
    if (!cond) return rt_fail(c, "missing input 'condition'");
    RT_TRY(check_dtype(c, x, "input 'input'"));
    if (cond->rank != 1) return rt_fail(c, "input 'condition' must be 1-D, got rank %d", cond->rank);
    if (cond->dtype != RT_BOOL && (rt_dtype_is_float(cond->dtype) || rt_dtype_size(cond->dtype) == 0))
        return rt_fail(c, "input 'condition' must be bool, got %s", rt_dtype_name(cond->dtype));
    const RtAttr *aa = rt_attr(n, "axis");
    int axis = -1, r;
    int64_t dims[RT_MAX_RANK], outer, len, inner;
    if (aa) {
        if (x->rank < 1) return rt_fail(c, "input 'input' is a scalar; attribute 'axis' needs rank >= 1");
        axis = rt_axis(c, rt_attr_int(n, "axis", 0), x->rank, "attribute 'axis'");
        if (axis < 0) return RT_ERR;
        r = x->rank;
        for (int i = 0; i < r; i++) dims[i] = x->dims[i];
        outer = rt_shape_numel(axis, x->dims);
        len = x->dims[axis];
        inner = rt_shape_numel(r - axis - 1, x->dims + axis + 1);
    } else {
        r = 1;
        outer = inner = 1;
        len = rt_numel(x);
    }
    RT_NEED_DATA(c, cond);
    int64_t nc = rt_numel(cond), kept = 0;
    for (int64_t i = 0; i < nc; i++) {
        if (rt_get_i64(cond, i) == 0) continue;
        if (i >= len)
            return rt_fail(c, "input 'condition' is true at %lld, beyond the %lld %s", (long long)i, (long long)len,
                           aa ? "slices along the axis" : "elements of the input");
        kept++;
    }
    dims[aa ? axis : 0] = kept;
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, r, dims));
    size_t row = (size_t)inner * rt_dtype_size(x->dtype);
    char *dst = out[0]->data;
    const char *src = x->data;
    for (int64_t q = 0; q < outer; q++)
        for (int64_t i = 0; i < nc && i < len; i++)
            if (rt_get_i64(cond, i) != 0) {
                if (row) memcpy(dst, src + (size_t)(q * len + i) * row, row);
                dst += row;
            }
    return RT_OK;
}

/* ================================================================ Shrink */

static int k_shrink(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = in[0];
    RT_TRY(check_numeric(c, x, "input 'input'"));
    double lambd = rt_attr_float(n, "lambd", 0.5f), bias = rt_attr_float(n, "bias", 0.0f);
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, x->rank, x->dims));
    int64_t total = rt_numel(x);
    for (int64_t i = 0; i < total; i++) {
        double v = rt_get_f64(x, i);
        rt_set_f64_sat(out[0], i, v < -lambd ? v + bias : v > lambd ? v - bias : 0.0);
    }
    return RT_OK;
}

/* ================================================================ ReverseSequence */

static int k_reverse_sequence(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = in[0], *lens = rt_in(n, in, 1);
    char sx[128];
    if (!lens) return rt_fail(c, "missing input 'sequence_lens'");
    RT_TRY(check_dtype(c, x, "input 'input'"));
    if (x->rank < 2) return rt_fail(c, "input 'input' must have rank >= 2, got %d", x->rank);
    int64_t ba = rt_attr_int(n, "batch_axis", 1), ta = rt_attr_int(n, "time_axis", 0);
    if (!((ba == 0 && ta == 1) || (ba == 1 && ta == 0)))
        return rt_fail(c, "attributes 'batch_axis' %lld and 'time_axis' %lld must be 0 and 1 in some order",
                       (long long)ba, (long long)ta);
    int64_t B = x->dims[ba], T = x->dims[ta];
    if (lens->rank != 1 || lens->dims[0] != B || (lens->dtype != RT_I64 && lens->dtype != RT_I32))
        return rt_fail(c, "input 'sequence_lens' must be int64 [%lld] for input of shape %s", (long long)B,
                       rt_shape_str(x->rank, x->dims, sx, sizeof sx));
    for (int64_t b = 0; lens->data && b < B; b++) {
        int64_t L = rt_get_i64(lens, b);
        if (L < 0 || L > T)
            return rt_fail(c, "input 'sequence_lens' value %lld for batch %lld is outside [0, %lld]", (long long)L,
                           (long long)b, (long long)T);
    }
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, x->rank, x->dims));
    /* axes 0 and 1 are batch and time; everything after is one row of `inner` elements */
    size_t row = (size_t)rt_shape_numel(x->rank - 2, x->dims + 2) * rt_dtype_size(x->dtype);
    char *dst = out[0]->data;
    const char *src = x->data;
    for (int64_t b = 0; b < B; b++) {
        int64_t L = rt_get_i64(lens, b);
        for (int64_t t = 0; t < T; t++) {
            int64_t ts = t < L ? L - 1 - t : t;
            int64_t od = ba == 0 ? b * T + t : t * B + b, os = ba == 0 ? b * T + ts : ts * B + b;
            if (row) memcpy(dst + (size_t)od * row, src + (size_t)os * row, row);
        }
    }
    return RT_OK;
}

static int k_non_zero(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    (void)n;
    const RtTensor *x = in[0];
    RT_TRY(check_dtype(c, x, "input 'X'"));
    int r = x->rank ? x->rank : 1;
    RT_NEED_DATA(c, x);
    int64_t total = rt_numel(x), count = 0;
    for (int64_t i = 0; i < total; i++) count += rt_get_f64(x, i) != 0;
    int64_t dims[2] = {r, count};
    RT_TRY(rt_out_alloc(c, out[0], RT_I64, 2, dims));
    int64_t *y = out[0]->data, idx[RT_MAX_RANK] = {0}, col = 0;
    for (int64_t i = 0; i < total; i++) {
        if (rt_get_f64(x, i) != 0) {
            for (int d = 0; d < r; d++) y[d * count + col] = idx[d];
            col++;
        }
        for (int d = x->rank - 1; d >= 0 && ++idx[d] == x->dims[d]; d--) idx[d] = 0; /* next row-major index */
    }
    return RT_OK;
}

const RtKernelEntry rt_kernels_misc[] = {
    {RT_OP_UPSAMPLE, k_upsample},
    {RT_OP_LRN, k_lrn},
    {RT_OP_EYE_LIKE, k_eye_like},
    {RT_OP_COMPRESS, k_compress},
    {RT_OP_NON_ZERO, k_non_zero},
    {RT_OP_SHRINK, k_shrink},
    {RT_OP_REVERSE_SEQUENCE, k_reverse_sequence},
    {-1, 0},
};
