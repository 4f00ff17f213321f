/*
 * qops.c — wafer's int8 ops (contract in runtime/kernels/wafer_ops.h): QConv, QLinear, QAdd,
 * QMul, QAveragePool, QGlobalAveragePool, QConcat. Integer arithmetic only after the
 * multipliers are made: int32 accumulation, fixed-point requantization (quant.h), clamps.
 *
 *   QConv, QLinear  acc = B + sum (x - x_zp)(w - w_zp[c]);  y = clamp(apply(acc, M_c) + y_zp)
 *                   M_c = x_scale * w_scale[c] / y_scale computed in double, per output channel
 *   QAdd            TFLite's quantized Add: each input is lifted to a common scale with 20
 *                   spare bits, a' = apply((a - a_zp) * 2^20, a_scale / (2 max(a_scale, b_scale))),
 *                   likewise b', then y = clamp(apply(a' + b', 2 max(a_scale, b_scale) /
 *                   (2^20 y_scale)) + y_zp). The 2^20 headroom keeps the rounding of each input
 *                   below 2^-19 of an input step, so the sum rounds (almost) once, at the output.
 *   QMul            y = clamp(apply((a - a_zp)(b - b_zp), a_scale * b_scale / y_scale) + y_zp)
 *   QAveragePool    s = sum (x - x_zp) over the window (padding is real 0, i.e. x_zp),
 *                   avg = s / count rounded half away from zero, y = clamp(apply(avg, x_s / y_s) + y_zp)
 *   QConcat         each input requantized to the output's scale and zero point (a copy when equal)
 * qmin/qmax (QConv, QLinear, QAdd, QMul) narrow the output dtype's range: a fused Relu is
 * qmin = y_zp, a fused ReLU6 also qmax = y_zp + round(6 / y_scale).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../quant.h"
#include "conv_geom.h"

static int is_q8(RtDtype t) { return t == RT_I8 || t == RT_U8; }

/* A per-tensor float32 scale: finite and > 0. */
static int scale_read(RtKernelCtx *c, const RtTensor *t, const char *what, double *v) {
    if (!t) return rt_fail(c, "input %s is required", what);
    if (t->dtype != RT_F32 || rt_numel(t) != 1) return rt_fail(c, "%s must be one float32 value", what);
    if (!t->data) return RT_OK; /* shape mode */
    *v = ((const float *)t->data)[0];
    if (!(*v > 0.0) || isinf(*v)) return rt_fail(c, "%s = %g must be a positive finite number", what, *v);
    return RT_OK;
}

/* A quantized input and its per-tensor zero point (NULL = 0). */
static int q_input(RtKernelCtx *c, const RtTensor *x, const RtTensor *zp, const char *what) {
    if (!x) return rt_fail(c, "input %s is required", what);
    if (!is_q8(x->dtype)) {
        rt_fail(c, "input %s has dtype %s; supported: int8, uint8", what, rt_dtype_name(x->dtype));
        return RT_ERR_UNSUPPORTED;
    }
    if (zp && (zp->dtype != x->dtype || rt_numel(zp) != 1))
        return rt_fail(c, "zero point of %s must be one %s value", what, rt_dtype_name(x->dtype));
    return RT_OK;
}

/* Output dtype (y_zp's, else ref's) and its range narrowed by the qmin/qmax attributes. */
static int out_range(RtKernelCtx *c, const RtNode *n, const RtTensor *yz, RtDtype ref, RtDtype *yt,
                     int32_t *lo, int32_t *hi) {
    *yt = yz ? yz->dtype : ref;
    if (!is_q8(*yt)) {
        rt_fail(c, "y_zero_point has dtype %s; supported: int8, uint8", rt_dtype_name(*yt));
        return RT_ERR_UNSUPPORTED;
    }
    if (yz && rt_numel(yz) != 1) return rt_fail(c, "y_zero_point must be one value");
    rt_qrange(*yt, lo, hi);
    int64_t a = rt_attr_int(n, "qmin", *lo), b = rt_attr_int(n, "qmax", *hi);
    if (a > b) return rt_fail(c, "attributes qmin = %lld > qmax = %lld", (long long)a, (long long)b);
    if (a > *lo) *lo = a > *hi ? *hi : (int32_t)a;
    if (b < *hi) *hi = b < *lo ? *lo : (int32_t)b;
    return RT_OK;
}

/* Per-output-channel weight scales: one float32 value or [M], each finite and > 0. */
static int wscale_check(RtKernelCtx *c, const RtTensor *ws, int64_t M) {
    if (!ws) return rt_fail(c, "input w_scale is required");
    int64_t k = rt_numel(ws);
    if (ws->dtype != RT_F32 || (k != 1 && (ws->rank != 1 || k != M)))
        return rt_fail(c, "w_scale must be float32, one value or [%lld] (per output channel)", (long long)M);
    return RT_OK;
}

/* Multipliers x_scale * w_scale[m] / y_scale (in double) for m < M: scratch the caller frees. */
static RtRequant *channel_requants(RtKernelCtx *c, double xs, const RtTensor *ws, double ys, int64_t M) {
    RtRequant *r = rt_scratch(c, (size_t)(M > 0 ? M : 1) * sizeof *r);
    if (!r) return NULL;
    int64_t k = rt_numel(ws);
    for (int64_t m = 0; m < M; m++) {
        double w = ((const float *)ws->data)[k > 1 ? m : 0];
        if (!(w > 0.0) || isinf(w)) {
            rt_fail(c, "w_scale[%lld] = %g must be a positive finite number", (long long)m, w);
            rt_scratch_free(c, r);
            return NULL;
        }
        r[m] = rt_requant_make(xs * w / ys);
    }
    return r;
}

/* ---------------------------------------------------------------- QConv, QLinear */

/* y[off + i] = clamp(apply(acc[i], r) + zp, lo, hi) for i < n, into an int8/uint8 tensor. */
static void requant_store(RtTensor *y, int64_t off, const int32_t *acc, int64_t n, RtRequant r, int32_t zp,
                          int32_t lo, int32_t hi) {
    if (r.shift > 0 || (y->dtype != RT_I8 && y->dtype != RT_U8)) { /* multipliers >= 1: rare */
        for (int64_t i = 0; i < n; i++) rt_qset(y, off + i, rt_requant_out(acc[i], r, zp, lo, hi));
        return;
    }
    /* M < 1: SRDHM then RDBPOT, with the shift-path test hoisted out of the loop */
    const int e = -r.shift;
    if (y->dtype == RT_I8) {
        int8_t *d = (int8_t *)y->data + off;
        for (int64_t i = 0; i < n; i++) {
            int64_t v = (int64_t)rt_rdbpot(rt_srdhm(acc[i], r.mult), e) + zp;
            d[i] = (int8_t)(v < lo ? lo : v > hi ? hi : v);
        }
    } else {
        uint8_t *d = (uint8_t *)y->data + off;
        for (int64_t i = 0; i < n; i++) {
            int64_t v = (int64_t)rt_rdbpot(rt_srdhm(acc[i], r.mult), e) + zp;
            d[i] = (uint8_t)(v < lo ? lo : v > hi ? hi : v);
        }
    }
}

static int k_qconv(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0), *xs = rt_in(n, in, 1), *xz = rt_in(n, in, 2);
    const RtTensor *w = rt_in(n, in, 3), *ws = rt_in(n, in, 4), *wz = rt_in(n, in, 5);
    const RtTensor *ys = rt_in(n, in, 6), *yz = rt_in(n, in, 7), *b = rt_in(n, in, 8);
    double xsv = 0, ysv = 0;
    RT_TRY(scale_read(c, xs, "x_scale", &xsv));
    RT_TRY(scale_read(c, ys, "y_scale", &ysv));
    if (!x || !w) return rt_fail(c, "inputs x and w are required");
    RT_TRY(wscale_check(c, ws, w->rank > 0 ? w->dims[0] : 0));
    RtDtype yt;
    int32_t lo, hi;
    RT_TRY(out_range(c, n, yz, x->dtype, &yt, &lo, &hi));
    RtQConvAcc acc;
    RT_TRY(rt_qconv_acc(c, n, x, xz, w, wz, b, out[0], yt, &acc));
    RtRequant *r = channel_requants(c, xsv, ws, ysv, acc.M);
    if (!r) {
        rt_scratch_free(c, acc.data);
        return c->err && c->err->msg[0] ? RT_ERR : RT_ERR_NOMEM;
    }
    int32_t zy = rt_qget(yz, 0);
    for (int64_t img = 0; img < acc.N; img++)
        for (int64_t m = 0; m < acc.M; m++) {
            int64_t off = (img * acc.M + m) * acc.P;
            requant_store(out[0], off, acc.data + off, acc.P, r[m], zy, lo, hi);
        }
    rt_scratch_free(c, r);
    rt_scratch_free(c, acc.data);
    return RT_OK;
}

/* x[R, K] or w[N, K] minus its zero point (per row when zp has `rows` values) into int16. */
static void to_s16(const RtTensor *t, const RtTensor *zp, int64_t rows, int64_t K, int16_t *dst) {
    int per_row = zp && rt_numel(zp) > 1;
    for (int64_t r = 0; r < rows; r++) {
        int32_t z = rt_qget(zp, per_row ? r : 0);
        if (t->dtype == RT_I8) {
            const int8_t *s = (const int8_t *)t->data + r * K;
            for (int64_t k = 0; k < K; k++) dst[r * K + k] = (int16_t)(s[k] - z);
        } else {
            const uint8_t *s = (const uint8_t *)t->data + r * K;
            for (int64_t k = 0; k < K; k++) dst[r * K + k] = (int16_t)(s[k] - z);
        }
    }
}

static int k_qlinear(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0), *xs = rt_in(n, in, 1), *xz = rt_in(n, in, 2);
    const RtTensor *w = rt_in(n, in, 3), *ws = rt_in(n, in, 4), *wz = rt_in(n, in, 5);
    const RtTensor *ys = rt_in(n, in, 6), *yz = rt_in(n, in, 7), *b = rt_in(n, in, 8);
    double xsv = 0, ysv = 0;
    RT_TRY(scale_read(c, xs, "x_scale", &xsv));
    RT_TRY(scale_read(c, ys, "y_scale", &ysv));
    RT_TRY(q_input(c, x, xz, "x"));
    if (!w) return rt_fail(c, "input w is required");
    if (!is_q8(w->dtype)) return rt_fail(c, "weight w has dtype %s; expected int8 or uint8", rt_dtype_name(w->dtype));
    char sx[128], sw[128];
    rt_shape_str(x->rank, x->dims, sx, sizeof sx);
    rt_shape_str(w->rank, w->dims, sw, sizeof sw);
    if (x->rank < 1 || w->rank != 2 || w->dims[1] != x->dims[x->rank - 1])
        return rt_fail(c, "x %s and w %s do not fit x[..., K] and w[N, K]", sx, sw);
    int64_t N = w->dims[0], K = w->dims[1], R = rt_shape_numel(x->rank - 1, x->dims);
    RT_TRY(wscale_check(c, ws, N));
    if (wz && (wz->dtype != w->dtype || (rt_numel(wz) != 1 && (wz->rank != 1 || wz->dims[0] != N))))
        return rt_fail(c, "w_zero_point must be a %s scalar or [%lld]", rt_dtype_name(w->dtype), (long long)N);
    if (b && (b->dtype != RT_I32 || b->rank != 1 || b->dims[0] != N))
        return rt_fail(c, "bias B must be int32 [%lld]", (long long)N);
    RtDtype yt;
    int32_t lo, hi;
    RT_TRY(out_range(c, n, yz, x->dtype, &yt, &lo, &hi));
    int64_t dims[RT_MAX_RANK];
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->rank);
    dims[x->rank - 1] = N;
    RT_TRY(rt_out_alloc(c, out[0], yt, x->rank, dims));
    RtRequant *r = channel_requants(c, xsv, ws, ysv, N);
    if (!r) return c->err && c->err->msg[0] ? RT_ERR : RT_ERR_NOMEM;
    char *buf = rt_scratch(c, (size_t)(R * N) * sizeof(int32_t) + (size_t)((R + N) * K) * sizeof(int16_t));
    if (!buf) {
        rt_scratch_free(c, r);
        return RT_ERR_NOMEM;
    }
    int32_t *acc = (int32_t *)buf;
    int16_t *x16 = (int16_t *)(acc + R * N), *w16 = x16 + R * K;
    to_s16(x, xz, R, K, x16);
    to_s16(w, wz, N, K, w16);
    rt_igemm_s16_nt(R, N, K, x16, K, w16, K, acc, N);
    int32_t zy = rt_qget(yz, 0);
    for (int64_t i = 0; i < R; i++)
        for (int64_t j = 0; j < N; j++) {
            int32_t a = (int32_t)((uint32_t)acc[i * N + j] + (uint32_t)(b ? ((const int32_t *)b->data)[j] : 0));
            rt_qset(out[0], i * N + j, rt_requant_out(a, r[j], zy, lo, hi));
        }
    rt_scratch_free(c, buf);
    rt_scratch_free(c, r);
    return RT_OK;
}

/* ---------------------------------------------------------------- QAdd, QMul */

typedef struct {
    int32_t za, zb, zy, lo, hi;
    RtRequant ra, rb, ry; /* QAdd: inputs to the common scale, sum to y; QMul: ry only */
    int mul;
} QBinary;

/* QAdd's inputs are lifted by 2^QADD_LEFT_SHIFT before their multipliers (TFLite's value). */
#define QADD_LEFT_SHIFT 20

static int32_t qbinary_one(const QBinary *q, int32_t a, int32_t b) {
    if (q->mul) return rt_requant_out((a - q->za) * (b - q->zb), q->ry, q->zy, q->lo, q->hi);
    int32_t sa = rt_requant_apply((a - q->za) * (1 << QADD_LEFT_SHIFT), q->ra);
    int32_t sb = rt_requant_apply((b - q->zb) * (1 << QADD_LEFT_SHIFT), q->rb);
    return rt_requant_out(sa + sb, q->ry, q->zy, q->lo, q->hi);
}

static int qbinary(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out, int mul) {
    const RtTensor *a = rt_in(n, in, 0), *as = rt_in(n, in, 1), *az = rt_in(n, in, 2);
    const RtTensor *b = rt_in(n, in, 3), *bs = rt_in(n, in, 4), *bz = rt_in(n, in, 5);
    const RtTensor *ys = rt_in(n, in, 6), *yz = rt_in(n, in, 7);
    double sa = 0, sb = 0, sy = 0;
    RT_TRY(q_input(c, a, az, "a"));
    RT_TRY(q_input(c, b, bz, "b"));
    RT_TRY(scale_read(c, as, "a_scale", &sa));
    RT_TRY(scale_read(c, bs, "b_scale", &sb));
    RT_TRY(scale_read(c, ys, "y_scale", &sy));
    QBinary q;
    memset(&q, 0, sizeof q);
    RtDtype yt;
    RT_TRY(out_range(c, n, yz, a->dtype, &yt, &q.lo, &q.hi));
    int rank;
    int64_t dims[RT_MAX_RANK], sta[RT_MAX_RANK], stb[RT_MAX_RANK], idx[RT_MAX_RANK] = {0};
    RT_TRY(rt_broadcast_shape(c, a->rank, a->dims, b->rank, b->dims, &rank, dims));
    RT_TRY(rt_out_alloc(c, out[0], yt, rank, dims));
    q.mul = mul;
    q.za = rt_qget(az, 0), q.zb = rt_qget(bz, 0), q.zy = rt_qget(yz, 0);
    if (mul) {
        q.ry = rt_requant_make(sa * sb / sy);
    } else {
        double twice_max = 2.0 * (sa > sb ? sa : sb);
        q.ra = rt_requant_make(sa / twice_max);
        q.rb = rt_requant_make(sb / twice_max);
        q.ry = rt_requant_make(twice_max / ((double)(1 << QADD_LEFT_SHIFT) * sy));
    }
    rt_broadcast_strides(a->rank, a->dims, rank, dims, sta);
    rt_broadcast_strides(b->rank, b->dims, rank, dims, stb);
    int64_t total = rt_shape_numel(rank, dims), inner = rank > 0 ? dims[rank - 1] : 1;
    int64_t ia = rank > 0 ? sta[rank - 1] : 0, ib = rank > 0 ? stb[rank - 1] : 0, oa = 0, ob = 0;
    for (int64_t o = 0; inner > 0 && o < total / inner; o++) {
        for (int64_t j = 0; j < inner; j++)
            rt_qset(out[0], o * inner + j, qbinary_one(&q, rt_qget(a, oa + j * ia), rt_qget(b, ob + j * ib)));
        for (int d = rank - 2; d >= 0; d--) { /* odometer over the outer axes */
            oa += sta[d];
            ob += stb[d];
            if (++idx[d] < dims[d]) break;
            oa -= sta[d] * dims[d];
            ob -= stb[d] * dims[d];
            idx[d] = 0;
        }
    }
    return RT_OK;
}

static int k_qadd(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return qbinary(c, n, in, out, 0);
}

static int k_qmul(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return qbinary(c, n, in, out, 1);
}

/* ---------------------------------------------------------------- pools */

/* s / count rounded to nearest, ties away from zero; count > 0. */
static int32_t div_round(int64_t s, int64_t count) {
    return (int32_t)(s >= 0 ? (s + count / 2) / count : -((-s + count / 2) / count));
}

/* One (n, c) plane x[in] (zero point removed) averaged into acc[out]. Window and divisor as
 * AveragePool: taps inside the input, plus padded taps when include_pad; 0 when empty. */
static void qavg_plane(const RtConvGeom *g, const int32_t *x, int32_t *acc, int include_pad) {
    const int64_t IH = g->in[1], IW = g->in[2];
    for (int64_t od = 0; od < g->out[0]; od++)
        for (int64_t oh = 0; oh < g->out[1]; oh++)
            for (int64_t ow = 0; ow < g->out[2]; ow++) {
                int64_t r[3][2], o[3] = {od, oh, ow};
                int64_t count = rt_geom_avg_window(g, o, include_pad, r);
                int64_t sum = 0;
                for (int64_t kd = r[0][0]; kd < r[0][1]; kd++) {
                    int64_t id = od * g->stride[0] - g->pad0[0] + kd * g->dil[0];
                    for (int64_t kh = r[1][0]; kh < r[1][1]; kh++) {
                        int64_t ih = oh * g->stride[1] - g->pad0[1] + kh * g->dil[1];
                        for (int64_t kw = r[2][0]; kw < r[2][1]; kw++)
                            sum += x[(id * IH + ih) * IW + ow * g->stride[2] - g->pad0[2] + kw * g->dil[2]];
                    }
                }
                *acc++ = count > 0 ? div_round(sum, count) : 0;
            }
}

/* Shared checks of the pools: x, x_scale, x_zp, y_scale, y_zp. */
static int qpool_inputs(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, double *xs, double *ys,
                        RtDtype *yt, int32_t *lo, int32_t *hi) {
    RT_TRY(q_input(c, rt_in(n, in, 0), rt_in(n, in, 2), "x"));
    RT_TRY(scale_read(c, rt_in(n, in, 1), "x_scale", xs));
    RT_TRY(scale_read(c, rt_in(n, in, 3), "y_scale", ys));
    return out_range(c, n, rt_in(n, in, 4), in[0]->dtype, yt, lo, hi);
}

/* Requantizes the averages of every plane: y = clamp(apply(avg, x_s / y_s) + y_zp). */
static void qpool_store(RtTensor *y, const int32_t *avg, int64_t cnt, int64_t off, RtRequant r, int32_t zy,
                        int32_t lo, int32_t hi) {
    for (int64_t i = 0; i < cnt; i++) rt_qset(y, off + i, rt_requant_out(avg[i], r, zy, lo, hi));
}

static int k_qaverage_pool(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    double xs = 0, ys = 0;
    RtDtype yt;
    int32_t lo, hi;
    RT_TRY(qpool_inputs(c, n, in, &xs, &ys, &yt, &lo, &hi));
    const RtTensor *x = in[0];
    int nsp;
    RT_TRY(rt_geom_spatial_rank(c, x->rank, "input x", &nsp));
    const int64_t *ks;
    if (rt_attr_ints(n, "kernel_shape", &ks) != nsp)
        return rt_fail(c, "attribute kernel_shape must have %d values (one per spatial axis)", nsp);
    RtConvGeom g;
    RT_TRY(rt_geom_read(c, n, nsp, x->dims + 2, ks, &g));
    int64_t ceil_mode = rt_attr_int(n, "ceil_mode", 0), include = rt_attr_int(n, "count_include_pad", 0);
    if ((ceil_mode != 0 && ceil_mode != 1) || (include != 0 && include != 1))
        return rt_fail(c, "attributes ceil_mode and count_include_pad must be 0 or 1");
    RT_TRY(rt_geom_forward(c, n, (int)ceil_mode, &g));
    int64_t dims[RT_MAX_RANK];
    rt_geom_out_dims(&g, x->dims[0], x->dims[1], dims);
    RT_TRY(rt_out_alloc(c, out[0], yt, x->rank, dims));
    int64_t planes = x->dims[0] * x->dims[1], pin = rt_geom_numel(g.in), pout = rt_geom_numel(g.out);
    int32_t *buf = rt_scratch(c, (size_t)(pin + pout) * sizeof(int32_t));
    if (!buf) return RT_ERR_NOMEM;
    RtRequant r = rt_requant_make(xs / ys);
    int32_t zx = rt_qget(rt_in(n, in, 2), 0), zy = rt_qget(rt_in(n, in, 4), 0);
    for (int64_t p = 0; p < planes; p++) {
        for (int64_t i = 0; i < pin; i++) buf[i] = rt_qget(x, p * pin + i) - zx;
        qavg_plane(&g, buf, buf + pin, (int)include);
        qpool_store(out[0], buf + pin, pout, p * pout, r, zy, lo, hi);
    }
    rt_scratch_free(c, buf);
    return RT_OK;
}

static int k_qglobal_average_pool(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    double xs = 0, ys = 0;
    RtDtype yt;
    int32_t lo, hi;
    RT_TRY(qpool_inputs(c, n, in, &xs, &ys, &yt, &lo, &hi));
    const RtTensor *x = in[0];
    if (x->rank < 2) return rt_fail(c, "input x has rank %d; expected (N, C, spatial...)", x->rank);
    int64_t dims[RT_MAX_RANK];
    for (int i = 0; i < x->rank; i++) dims[i] = i < 2 ? x->dims[i] : 1;
    RT_TRY(rt_out_alloc(c, out[0], yt, x->rank, dims));
    int64_t planes = x->dims[0] * x->dims[1], pin = rt_shape_numel(x->rank - 2, x->dims + 2);
    RtRequant r = rt_requant_make(xs / ys);
    int32_t zx = rt_qget(rt_in(n, in, 2), 0), zy = rt_qget(rt_in(n, in, 4), 0);
    for (int64_t p = 0; p < planes; p++) {
        int64_t sum = 0;
        for (int64_t i = 0; i < pin; i++) sum += rt_qget(x, p * pin + i) - zx;
        int32_t avg = pin > 0 ? div_round(sum, pin) : 0;
        qpool_store(out[0], &avg, 1, p, r, zy, lo, hi);
    }
    return RT_OK;
}

/* ---------------------------------------------------------------- QConcat */

static int k_qconcat(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *ys = rt_in(n, in, 0), *yz = rt_in(n, in, 1);
    int k = (n->n_in - 2) / 3;
    if (n->n_in < 5 || (n->n_in - 2) % 3 != 0)
        return rt_fail(c, "QConcat takes y_scale, y_zero_point and (x, x_scale, x_zero_point) triples; got %d inputs",
                       n->n_in);
    double sy = 0;
    RT_TRY(scale_read(c, ys, "y_scale", &sy));
    const RtTensor *x0 = in[2];
    RT_TRY(q_input(c, x0, in[4], "x0"));
    RtDtype yt;
    int32_t lo, hi;
    RT_TRY(out_range(c, n, yz, x0->dtype, &yt, &lo, &hi));
    if (!rt_attr(n, "axis")) return rt_fail(c, "attribute axis is required");
    int ax = rt_axis(c, rt_attr_int(n, "axis", 0), x0->rank, "attribute axis");
    if (ax < 0) return RT_ERR;
    int64_t dims[RT_MAX_RANK];
    memcpy(dims, x0->dims, sizeof(int64_t) * (size_t)x0->rank);
    dims[ax] = 0;
    for (int i = 0; i < k; i++) {
        const RtTensor *x = in[2 + 3 * i];
        double sx;
        char what[32];
        snprintf(what, sizeof what, "x%d", i);
        RT_TRY(q_input(c, x, in[4 + 3 * i], what));
        RT_TRY(scale_read(c, in[3 + 3 * i], "x_scale", &sx));
        int ok = x->rank == x0->rank;
        for (int d = 0; ok && d < x->rank; d++) ok = d == ax || x->dims[d] == x0->dims[d];
        if (!ok) {
            char s0[128], s1[128];
            return rt_fail(c, "input %s %s does not match x0 %s outside axis %d", what,
                           rt_shape_str(x->rank, x->dims, s1, sizeof s1), rt_shape_str(x0->rank, x0->dims, s0, sizeof s0),
                           ax);
        }
        dims[ax] += x->dims[ax];
    }
    RT_TRY(rt_out_alloc(c, out[0], yt, x0->rank, dims));
    int64_t outer = rt_shape_numel(ax, dims), inner = rt_shape_numel(x0->rank - ax - 1, dims + ax + 1);
    int64_t row = dims[ax] * inner, at = 0; /* output elements per outer index; column where input i starts */
    int32_t zy = rt_qget(yz, 0);
    for (int i = 0; i < k; i++) {
        const RtTensor *x = in[2 + 3 * i];
        double sx = ((const float *)in[3 + 3 * i]->data)[0];
        int32_t zx = rt_qget(in[4 + 3 * i], 0);
        RtRequant r = rt_requant_make(sx / sy);
        int64_t chunk = x->dims[ax] * inner;
        /* same scale, zero point and dtype: M = 1 is exact, so a copy gives the same bytes */
        int same = sx == sy && zx == zy && x->dtype == yt;
        for (int64_t o = 0; o < outer; o++) {
            if (same) {
                memcpy((char *)out[0]->data + o * row + at, (const char *)x->data + o * chunk, (size_t)chunk);
                continue;
            }
            for (int64_t j = 0; j < chunk; j++)
                rt_qset(out[0], o * row + at + j, rt_requant_out(rt_qget(x, o * chunk + j) - zx, r, zy, lo, hi));
        }
        at += chunk;
    }
    return RT_OK;
}

const RtKernelEntry rt_kernels_qops[] = {
    {RT_OP_QCONV, k_qconv},
    {RT_OP_QLINEAR, k_qlinear},
    {RT_OP_QADD, k_qadd},
    {RT_OP_QMUL, k_qmul},
    {RT_OP_QAVERAGE_POOL, k_qaverage_pool},
    {RT_OP_QGLOBAL_AVERAGE_POOL, k_qglobal_average_pool},
    {RT_OP_QCONCAT, k_qconcat},
    {-1, 0},
};
