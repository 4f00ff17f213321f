/*
 * reduce.c — reductions: the ten ReduceX ops, ArgMax/ArgMin, CumSum, CumProd and TopK.
 *
 * ReduceX: the reduced axes form a mask over the input's dims. Size-1 dims are dropped and
 * adjacent dims with the same mask bit merged (a mean of [N,C,H,W] over H,W becomes
 * [N*C | H*W]); one pass then walks the input in memory order, row by row, folding each
 * element into the accumulator of its output element (output stride 0 on reduced axes).
 * Floats accumulate in double; integers in 64-bit wrapping arithmetic, which after the
 * final cast is the type's own modular result, so int64 sums are exact. A reduction over
 * an empty set leaves the identity (0 for sums, 1 for Prod, -inf or the type's minimum for
 * Max, log(0) = -inf for LogSum and LogSumExp, 0/0 = NaN for a float Mean). "No axes" with
 * noop_with_empty_axes reduces every element on its own (ReduceSumSquare squares it, as the
 * ONNX reference does).
 *
 * ArgMax/ArgMin, CumSum, CumProd and TopK view the input as [outer, n, inner] around their axis.
 * TopK sorts each slice with a stable merge sort, so equal values keep the lower index first.
 */
#include "../kernel.h"
#include "int_elems.h"

#include <math.h>
#include <string.h>

typedef enum {
    RED_SUM, RED_MEAN, RED_MAX, RED_MIN, RED_PROD, RED_L1, RED_L2, RED_LOG_SUM,
    RED_LOG_SUM_EXP, RED_SUM_SQUARE
} RedKind;

/* ---- element access shared by the ops here ---- */

static int dtype_is_unsigned(RtDtype t) {
    return t == RT_U8 || t == RT_U16 || t == RT_U32 || t == RT_U64 || t == RT_BOOL;
}

static int dtype_is_numeric(RtDtype t) {
    return rt_dtype_size(t) > 0;
}

static inline double load_f(const RtTensor *t, int64_t i) {
    return t->dtype == RT_F32 ? (double)((const float *)t->data)[i] : rt_get_f64(t, i);
}

/* Order key of an integer element: signed compare of the key = numeric order. */
static inline int64_t key_i(const RtTensor *t, int64_t i) {
    int64_t v = load_i(t, i);
    return t->dtype == RT_U64 ? (int64_t)((uint64_t)v ^ 0x8000000000000000ull) : v;
}

/* Smallest and largest values of an integer type, as 64-bit bits. */
static uint64_t int_type_min(RtDtype t) {
    switch (t) {
    case RT_I8: return (uint64_t)(int64_t)INT8_MIN;
    case RT_I16: return (uint64_t)(int64_t)INT16_MIN;
    case RT_I32: return (uint64_t)(int64_t)INT32_MIN;
    case RT_I64: return (uint64_t)INT64_MIN;
    default: return 0;
    }
}

static uint64_t int_type_max(RtDtype t) {
    switch (t) {
    case RT_I8: return INT8_MAX;
    case RT_U8: return UINT8_MAX;
    case RT_BOOL: return 1;
    case RT_I16: return INT16_MAX;
    case RT_U16: return UINT16_MAX;
    case RT_I32: return INT32_MAX;
    case RT_U32: return UINT32_MAX;
    case RT_I64: return INT64_MAX;
    default: return UINT64_MAX;
    }
}

/* ---- ReduceX ---- */

/* The input's dims with size-1 dims dropped and same-kind neighbours merged. */
typedef struct {
    int rank;                        /* >= 1 */
    int64_t dims[RT_MAX_RANK];       /* merged extents */
    int64_t ostride[RT_MAX_RANK];    /* output stride (elements) per merged axis; 0 if reduced */
} RedWalk;

static void red_walk_init(RedWalk *w, int rank, const int64_t *dims, const unsigned char *mask) {
    int r = 0;
    unsigned char kind[RT_MAX_RANK];
    for (int i = 0; i < rank; i++) {
        if (dims[i] == 1) continue;
        if (r > 0 && kind[r - 1] == mask[i]) {
            w->dims[r - 1] *= dims[i];
        } else {
            kind[r] = mask[i];
            w->dims[r++] = dims[i];
        }
    }
    if (r == 0) {
        kind[0] = 0;
        w->dims[r++] = 1;
    }
    w->rank = r;
    int64_t s = 1;
    for (int i = r - 1; i >= 0; i--) {
        w->ostride[i] = kind[i] ? 0 : s;
        if (!kind[i]) s *= w->dims[i];
    }
}

typedef struct {
    RedKind kind;
    const RtTensor *x;
    double *acc;        /* [numel(out)] float accumulators, or NULL */
    uint64_t *iacc;     /* [numel(out)] integer accumulators, or NULL */
    const double *mx;   /* [numel(out)] LogSumExp's per-output max (second pass), or NULL */
    int is_unsigned;    /* integer Max/Min compare unsigned */
} RedFold;

/* Folds x[in0 .. in0+len) into accumulators out0 + j*ostep. */
static void red_fold_row(RedFold *f, int64_t in0, int64_t out0, int64_t len, int64_t ostep) {
    if (f->iacc) {
        for (int64_t j = 0; j < len; j++) {
            uint64_t v = (uint64_t)load_i(f->x, in0 + j), *a = &f->iacc[out0 + j * ostep];
            int gt = f->is_unsigned ? v > *a : (int64_t)v > (int64_t)*a;
            int lt = f->is_unsigned ? v < *a : (int64_t)v < (int64_t)*a;
            switch (f->kind) {
            case RED_MAX: if (gt) *a = v; break;
            case RED_MIN: if (lt) *a = v; break;
            case RED_PROD: *a *= v; break;
            case RED_L1: *a += (!f->is_unsigned && (int64_t)v < 0) ? (uint64_t)0 - v : v; break;
            case RED_SUM_SQUARE: *a += v * v; break;
            default: *a += v; break; /* SUM, MEAN */
            }
        }
        return;
    }
    for (int64_t j = 0; j < len; j++) {
        double v = load_f(f->x, in0 + j), *a = &f->acc[out0 + j * ostep];
        switch (f->kind) {
        case RED_MAX: if (v > *a || v != v) { if (*a == *a) *a = v; } break;
        case RED_MIN: if (v < *a || v != v) { if (*a == *a) *a = v; } break;
        case RED_PROD: *a *= v; break;
        case RED_L1: *a += fabs(v); break;
        case RED_L2: case RED_SUM_SQUARE: *a += v * v; break;
        case RED_LOG_SUM_EXP:
            if (f->mx) {
                double m = f->mx[out0 + j * ostep];
                if (!isinf(m)) *a += exp(v - m);
            } else if (v > *a || v != v) {
                if (*a == *a) *a = v;
            }
            break;
        default: *a += v; break; /* SUM, MEAN, LOG_SUM */
        }
    }
}

/* Walks the input row by row (the last merged axis is the row). */
static void red_walk(const RedWalk *w, RedFold *f) {
    int last = w->rank - 1;
    int64_t len = w->dims[last], idx[RT_MAX_RANK] = {0}, out0 = 0, rows = 1;
    for (int i = 0; i < last; i++) rows *= w->dims[i];
    for (int64_t row = 0; row < rows; row++) {
        red_fold_row(f, row * len, out0, len, w->ostride[last]);
        for (int i = last - 1; i >= 0; i--) { /* odometer over the outer axes */
            out0 += w->ostride[i];
            if (++idx[i] < w->dims[i]) break;
            out0 -= w->ostride[i] * w->dims[i];
            idx[i] = 0;
        }
    }
}

/* Reads the axes (attribute, or input 1 from ReduceSum-13 / others-18) into mask. */
static int reduce_axes(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, int rank,
                       unsigned char *mask) {
    const int64_t *attr = NULL;
    int na = rt_attr_ints(n, "axes", &attr);
    const RtTensor *ax = rt_in(n, in, 1);
    if (na >= 0 && ax) return rt_fail(c, "axes given both as attribute and as input");
    /* the axes moved from an attribute to input 1 (ReduceSum at 13, the others at 18), and
     * noop_with_empty_axes came with the input: each is refused where its opset lacks it
     * (an axes attribute on ReduceSum 13-17 is still read, as wafer always has) */
    int from = n->op == RT_OP_REDUCE_SUM ? 13 : 18;
    if (n->opset >= 18 && na >= 0)
        return rt_fail(c, "attribute 'axes' is not in opset %d (axes is input 1 from opset %d)", n->opset, from);
    if (n->opset > 0 && n->opset < from && rt_attr(n, "noop_with_empty_axes"))
        return rt_fail(c, "attribute 'noop_with_empty_axes' needs opset %d (node has opset %d)", from, n->opset);
    int64_t list[RT_MAX_RANK];
    int count = na > 0 ? na : 0;
    if (ax) {
        RT_NEED_DATA(c, ax);
        if (ax->rank > 1 || (ax->dtype != RT_I64 && ax->dtype != RT_I32))
            return rt_fail(c, "input 'axes' must be a 1-D int64 tensor, got rank %d %s", ax->rank,
                           rt_dtype_name(ax->dtype));
        count = (int)rt_numel(ax);
    }
    if (count > rank) return rt_fail(c, "%d axes given for an input of rank %d", count, rank);
    for (int i = 0; i < count; i++) list[i] = ax ? rt_get_i64(ax, i) : attr[i];
    memset(mask, 0, RT_MAX_RANK);
    if (count == 0) {
        if (!rt_attr_int(n, "noop_with_empty_axes", 0)) memset(mask, 1, (size_t)rank);
        return RT_OK;
    }
    for (int i = 0; i < count; i++) {
        int a = rt_axis(c, list[i], rank, "axes value");
        if (a < 0) return RT_ERR;
        if (mask[a]) return rt_fail(c, "axis %d appears twice in 'axes'", a);
        mask[a] = 1;
    }
    return RT_OK;
}

static double red_finish_f(RedKind k, double a, double mx, int64_t count) {
    switch (k) {
    case RED_MEAN: return a / (double)count;
    case RED_L2: return sqrt(a);
    case RED_LOG_SUM: return log(a);
    case RED_LOG_SUM_EXP: return isinf(mx) || mx != mx ? mx : mx + log(a);
    default: return a;
    }
}

static double red_init_f(RedKind k) {
    switch (k) {
    case RED_PROD: return 1.0;
    case RED_MAX: return -INFINITY;
    case RED_MIN: return INFINITY;
    default: return 0.0;
    }
}

/* Float path, also used for integer L2/LogSum/LogSumExp (result cast back). */
static int reduce_float(RtKernelCtx *c, RedKind k, const RedWalk *w, const RtTensor *x, RtTensor *y,
                        int64_t count) {
    int64_t on = rt_numel(y);
    double *acc = rt_scratch(c, sizeof(double) * (size_t)(on ? on : 1) * 2);
    if (!acc) return RT_ERR_NOMEM;
    double *mx = acc + on;
    RedFold f = {k, x, acc, NULL, NULL, 0};
    for (int64_t i = 0; i < on; i++) acc[i] = red_init_f(k == RED_LOG_SUM_EXP ? RED_MAX : k);
    red_walk(w, &f);
    if (k == RED_LOG_SUM_EXP) { /* second pass: sum exp(x - max) */
        memcpy(mx, acc, sizeof(double) * (size_t)on);
        for (int64_t i = 0; i < on; i++) acc[i] = 0.0;
        f.mx = mx;
        red_walk(w, &f);
    }
    int is_float = rt_dtype_is_float(y->dtype);
    for (int64_t i = 0; i < on; i++) {
        double r = red_finish_f(k, acc[i], k == RED_LOG_SUM_EXP ? mx[i] : 0.0, count);
        if (is_float) rt_set_f64(y, i, r);
        else store_i_from_f(y, i, r);
    }
    rt_scratch_free(c, acc);
    return RT_OK;
}

static int reduce_int(RtKernelCtx *c, RedKind k, const RedWalk *w, const RtTensor *x, RtTensor *y,
                      int64_t count) {
    int64_t on = rt_numel(y);
    uint64_t *acc = rt_scratch(c, sizeof(uint64_t) * (size_t)(on ? on : 1));
    if (!acc) return RT_ERR_NOMEM;
    uint64_t init = k == RED_PROD ? 1 : k == RED_MAX ? int_type_min(x->dtype)
                  : k == RED_MIN ? int_type_max(x->dtype) : 0;
    for (int64_t i = 0; i < on; i++) acc[i] = init;
    RedFold f = {k, x, NULL, acc, NULL, dtype_is_unsigned(x->dtype)};
    red_walk(w, &f);
    for (int64_t i = 0; i < on; i++) {
        uint64_t r = acc[i];
        if (k == RED_MEAN) /* truncating division, as the reference's mean-then-cast does */
            r = count == 0 ? 0 : f.is_unsigned ? r / (uint64_t)count
                                               : (uint64_t)((int64_t)r / count);
        store_i(y, i, r);
    }
    rt_scratch_free(c, acc);
    return RT_OK;
}

static int reduce_run(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out,
                      RedKind k) {
    const RtTensor *x = in[0];
    if (!x) return rt_fail(c, "input 'data' is missing");
    if (!dtype_is_numeric(x->dtype))
        return rt_fail(c, "input 'data' has unsupported dtype %s", rt_dtype_name(x->dtype));
    unsigned char mask[RT_MAX_RANK];
    RT_TRY(reduce_axes(c, n, in, x->rank, mask));
    int keep = rt_attr_int(n, "keepdims", 1) != 0, r = 0;
    int64_t dims[RT_MAX_RANK], count = 1;
    for (int i = 0; i < x->rank; i++) {
        if (mask[i]) count *= x->dims[i];
        if (!mask[i]) dims[r++] = x->dims[i];
        else if (keep) dims[r++] = 1;
    }
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, r, dims));
    RedWalk w;
    red_walk_init(&w, x->rank, x->dims, mask);
    int float_path = rt_dtype_is_float(x->dtype) || k == RED_L2 || k == RED_LOG_SUM ||
                     k == RED_LOG_SUM_EXP;
    return float_path ? reduce_float(c, k, &w, x, out[0], count)
                      : reduce_int(c, k, &w, x, out[0], count);
}

#define REDUCE_KERNEL(fn, kind)                                                                  \
    static int fn(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) { \
        return reduce_run(c, n, in, out, kind);                                                 \
    }
REDUCE_KERNEL(k_reduce_sum, RED_SUM)
REDUCE_KERNEL(k_reduce_mean, RED_MEAN)
REDUCE_KERNEL(k_reduce_max, RED_MAX)
REDUCE_KERNEL(k_reduce_min, RED_MIN)
REDUCE_KERNEL(k_reduce_prod, RED_PROD)
REDUCE_KERNEL(k_reduce_l1, RED_L1)
REDUCE_KERNEL(k_reduce_l2, RED_L2)
REDUCE_KERNEL(k_reduce_log_sum, RED_LOG_SUM)
REDUCE_KERNEL(k_reduce_log_sum_exp, RED_LOG_SUM_EXP)
REDUCE_KERNEL(k_reduce_sum_square, RED_SUM_SQUARE)

/* ---- [outer, n, inner] view around one axis ---- */

typedef struct {
    int64_t outer, n, inner;
} AxisView;

static AxisView axis_view(const RtTensor *x, int axis) {
    AxisView v = {1, x->dims[axis], 1};
    for (int i = 0; i < axis; i++) v.outer *= x->dims[i];
    for (int i = axis + 1; i < x->rank; i++) v.inner *= x->dims[i];
    return v;
}

/* ---- ArgMax / ArgMin ---- */

static int arg_run(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out,
                   int want_max) {
    const RtTensor *x = in[0];
    if (!x) return rt_fail(c, "input 'data' is missing");
    if (!dtype_is_numeric(x->dtype))
        return rt_fail(c, "input 'data' has unsupported dtype %s", rt_dtype_name(x->dtype));
    if (x->rank < 1) return rt_fail(c, "input 'data' must have rank >= 1, got a scalar");
    int axis = rt_axis(c, rt_attr_int(n, "axis", 0), x->rank, "attribute 'axis'");
    if (axis < 0) return RT_ERR;
    int keep = rt_attr_int(n, "keepdims", 1) != 0;
    int last = rt_attr_int(n, "select_last_index", 0) != 0;
    int64_t dims[RT_MAX_RANK];
    int r = 0;
    for (int i = 0; i < x->rank; i++)
        if (i != axis) dims[r++] = x->dims[i];
        else if (keep) dims[r++] = 1;
    if (x->dims[axis] == 0 && rt_shape_numel(r, dims) > 0)
        return rt_fail(c, "cannot take %s over axis %d of size 0", want_max ? "ArgMax" : "ArgMin", axis);
    RT_TRY(rt_out_alloc(c, out[0], RT_I64, r, dims));
    AxisView v = axis_view(x, axis);
    int64_t *y = out[0]->data;
    int fl = rt_dtype_is_float(x->dtype);
    for (int64_t o = 0; o < v.outer; o++)
        for (int64_t i = 0; i < v.inner; i++) {
            int64_t base = o * v.n * v.inner + i, best = 0;
            double bf = fl ? load_f(x, base) : 0;
            int64_t bi = fl ? 0 : key_i(x, base);
            for (int64_t j = 1; j < v.n; j++) {
                int64_t at = base + j * v.inner;
                int better, equal;
                if (fl) {
                    double e = load_f(x, at);
                    better = want_max ? e > bf : e < bf;
                    equal = e == bf;
                    if (better || (last && equal)) bf = e;
                } else {
                    int64_t e = key_i(x, at);
                    better = want_max ? e > bi : e < bi;
                    equal = e == bi;
                    if (better || (last && equal)) bi = e;
                }
                if (better || (last && equal)) best = j;
            }
            y[o * v.inner + i] = best;
        }
    return RT_OK;
}

static int k_argmax(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return arg_run(c, n, in, out, 1);
}

static int k_argmin(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return arg_run(c, n, in, out, 0);
}

/* ---- CumSum, CumProd (opset 26) ---- */

/* The running sum or product along the axis, inclusive or exclusive, forward or reverse;
 * floats accumulate in double and round once per output, integers in 64-bit wrapping
 * arithmetic (the same low bits as products in the narrower type). */
static int cum_run(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out, int prod) {
    const char *op = prod ? "CumProd" : "CumSum";
    const RtTensor *x = in[0], *ax = rt_in(n, in, 1);
    if (!x || !ax) return rt_fail(c, "%s needs inputs 'x' and 'axis'", op);
    if (!dtype_is_numeric(x->dtype) || x->dtype == RT_BOOL)
        return rt_fail(c, "input 'x' has unsupported dtype %s", rt_dtype_name(x->dtype));
    if (x->rank < 1) return rt_fail(c, "input 'x' must have rank >= 1, got a scalar");
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, x->rank, x->dims));
    if (rt_numel(ax) != 1)
        return rt_fail(c, "input 'axis' must hold one value, got %lld", (long long)rt_numel(ax));
    int axis = rt_axis(c, rt_get_i64(ax, 0), x->rank, "input 'axis'");
    if (axis < 0) return RT_ERR;
    int excl = rt_attr_int(n, "exclusive", 0) != 0, rev = rt_attr_int(n, "reverse", 0) != 0;
    int fl = rt_dtype_is_float(x->dtype);
    AxisView v = axis_view(x, axis);
    RtTensor *y = out[0];
    for (int64_t o = 0; o < v.outer; o++)
        for (int64_t i = 0; i < v.inner; i++) {
            int64_t base = o * v.n * v.inner + i;
            double sf = prod ? 1 : 0;
            uint64_t si = prod ? 1 : 0;
            for (int64_t s = 0; s < v.n; s++) {
                int64_t at = base + (rev ? v.n - 1 - s : s) * v.inner;
                if (fl) {
                    double e = load_f(x, at);
                    if (!excl) sf = prod ? sf * e : sf + e;
                    rt_set_f64(y, at, sf);
                    if (excl) sf = prod ? sf * e : sf + e;
                } else {
                    uint64_t e = (uint64_t)load_i(x, at);
                    if (!excl) si = prod ? si * e : si + e;
                    store_i(y, at, si);
                    if (excl) si = prod ? si * e : si + e;
                }
            }
        }
    return RT_OK;
}

static int k_cumsum(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return cum_run(c, n, in, out, 0);
}

static int k_cumprod(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return cum_run(c, n, in, out, 1);
}

/* ---- TopK ---- */

typedef struct {
    const double *kf;   /* [n] float keys, or NULL */
    const int64_t *ki;  /* [n] integer order keys */
    int largest;
} TopkOrder;

/* 1 when element a goes before element b (NaN counts as the largest value). */
static int topk_before(const TopkOrder *o, int64_t a, int64_t b) {
    if (o->kf) {
        double x = o->kf[a], y = o->kf[b];
        int xn = x != x, yn = y != y;
        if (xn || yn) return o->largest ? (xn && !yn) : (!xn && yn);
        return o->largest ? x > y : x < y;
    }
    return o->largest ? o->ki[a] > o->ki[b] : o->ki[a] < o->ki[b];
}

/* Stable merge sort of idx[0..n) by topk_before; tmp has room for n. */
static void topk_sort(const TopkOrder *o, int64_t *idx, int64_t *tmp, int64_t n) {
    if (n < 2) return;
    int64_t h = n / 2;
    topk_sort(o, idx, tmp, h);
    topk_sort(o, idx + h, tmp, n - h);
    int64_t i = 0, j = h, t = 0;
    while (i < h && j < n) tmp[t++] = topk_before(o, idx[j], idx[i]) ? idx[j++] : idx[i++];
    while (i < h) tmp[t++] = idx[i++];
    while (j < n) tmp[t++] = idx[j++];
    memcpy(idx, tmp, sizeof(int64_t) * (size_t)n);
}

static int k_topk(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = in[0], *kt = rt_in(n, in, 1);
    if (!x) return rt_fail(c, "input 'X' is missing");
    if (!dtype_is_numeric(x->dtype))
        return rt_fail(c, "input 'X' has unsupported dtype %s", rt_dtype_name(x->dtype));
    if (x->rank < 1) return rt_fail(c, "input 'X' must have rank >= 1, got a scalar");
    int64_t k;
    if (kt) {
        RT_NEED_DATA(c, kt);
        if (rt_numel(kt) != 1) return rt_fail(c, "input 'K' must hold one value");
        k = rt_get_i64(kt, 0);
    } else {
        if (!rt_attr(n, "k")) return rt_fail(c, "TopK needs input 'K' (or attribute 'k' before opset 10)");
        k = rt_attr_int(n, "k", 0);
    }
    int axis = rt_axis(c, rt_attr_int(n, "axis", -1), x->rank, "attribute 'axis'");
    if (axis < 0) return RT_ERR;
    if (k < 0 || k > x->dims[axis]) {
        char s[128];
        return rt_fail(c, "K = %lld is out of range for axis %d of input 'X' %s", (long long)k, axis,
                       rt_shape_str(x->rank, x->dims, s, sizeof s));
    }
    int64_t dims[RT_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    dims[axis] = k;
    rt_out_set_shape(out[0], x->dtype, x->rank, dims);
    if (n->n_out > 1) rt_out_set_shape(out[1], RT_I64, x->rank, dims);
    RT_TRY(rt_out_alloc_data(c, out[0]));
    if (n->n_out > 1) RT_TRY(rt_out_alloc_data(c, out[1]));
    AxisView v = axis_view(x, axis);
    size_t es = rt_dtype_size(x->dtype);
    int fl = rt_dtype_is_float(x->dtype);
    int64_t nn = v.n ? v.n : 1;
    int64_t *idx = rt_scratch(c, sizeof(int64_t) * (size_t)nn * 3);
    if (!idx) return RT_ERR_NOMEM;
    int64_t *tmp = idx + nn, *keys = tmp + nn; /* keys: int64 or double, same size */
    TopkOrder ord = {fl ? (const double *)(void *)keys : NULL, fl ? NULL : keys,
                     rt_attr_int(n, "largest", 1) != 0};
    for (int64_t o = 0; o < v.outer; o++)
        for (int64_t i = 0; i < v.inner; i++) {
            int64_t base = o * v.n * v.inner + i, obase = o * k * v.inner + i;
            for (int64_t j = 0; j < v.n; j++) {
                idx[j] = j;
                if (fl) ((double *)(void *)keys)[j] = load_f(x, base + j * v.inner);
                else keys[j] = key_i(x, base + j * v.inner);
            }
            topk_sort(&ord, idx, tmp, v.n);
            for (int64_t j = 0; j < k; j++) {
                memcpy((char *)out[0]->data + (size_t)(obase + j * v.inner) * es,
                       (const char *)x->data + (size_t)(base + idx[j] * v.inner) * es, es);
                if (n->n_out > 1) ((int64_t *)out[1]->data)[obase + j * v.inner] = idx[j];
            }
        }
    rt_scratch_free(c, idx);
    return RT_OK;
}

const RtKernelEntry rt_kernels_reduce[] = {
    {RT_OP_REDUCE_SUM, k_reduce_sum},
    {RT_OP_REDUCE_MEAN, k_reduce_mean},
    {RT_OP_REDUCE_MAX, k_reduce_max},
    {RT_OP_REDUCE_MIN, k_reduce_min},
    {RT_OP_REDUCE_PROD, k_reduce_prod},
    {RT_OP_REDUCE_L1, k_reduce_l1},
    {RT_OP_REDUCE_L2, k_reduce_l2},
    {RT_OP_REDUCE_LOG_SUM, k_reduce_log_sum},
    {RT_OP_REDUCE_LOG_SUM_EXP, k_reduce_log_sum_exp},
    {RT_OP_REDUCE_SUM_SQUARE, k_reduce_sum_square},
    {RT_OP_ARG_MAX, k_argmax},
    {RT_OP_ARG_MIN, k_argmin},
    {RT_OP_CUMSUM, k_cumsum},
    {RT_OP_CUMPROD, k_cumprod},
    {RT_OP_TOPK, k_topk},
    {-1, 0},
};
