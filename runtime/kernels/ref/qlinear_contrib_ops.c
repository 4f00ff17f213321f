/*
 * qlinear_contrib_ops.c — reference kernels of more of onnxruntime's quantized com.microsoft
 * ops (ContribOperators.md; arithmetic of onnxruntime/contrib_ops/cpu/quantization):
 *
 * Element-wise through a 256-entry table, as onnxruntime builds it (QlinearBuildLookupTable):
 *     table[q] = clamp(nearbyint(f(x_scale * float(q - x_zp)) / y_scale) + y_zp)   float32
 *   QLinearLeakyRelu   f(v) = v >= 0 ? v : alpha * v      (attribute alpha, default 0.01)
 *   QLinearSigmoid     f(v) = 1 / (1 + exp(-v))
 *   QLinearConcat      f = identity, per input (a copy when its scale and zero point are the
 *                      output's); inputs y_scale, y_zp, then (x, x_scale, x_zp) per input
 *   QLinearWhere       Z = condition ? table_x[X] : table_y[Y] with numpy broadcasting of the
 *                      three; inputs condition, X, x_scale, x_zp, Y, y_scale, y_zp, z_scale, z_zp
 * QLinearAveragePool   x dequantized (x_scale * (x - x_zp)), summed in float32 over each window's
 *                      taps inside the input, divided by the tap count (count_include_pad: by
 *                      the kernel size), y = clamp(nearbyint(avg / y_scale + y_zp)); AveragePool's
 *                      attributes (no dilations), channels_last: x is [N, spatial..., C].
 * MatMulIntegerToFloat(A, B, a_scale, b_scale, a_zp?, b_zp?, bias?)
 *                      Y = float(sum_k (A - a_zp)(B - b_zp[n])) * (a_scale * b_scale[n]) + bias[n]
 *                      A [..., M, K], B [K, N] or [..., K, N] with A's batch dims; b_scale and
 *                      b_zp one value or [N] (per column); int32 sums, float32 epilogue.
 * DynamicQuantizeMatMul(A float, B, b_scale, b_zp?, bias?)   A quantized to uint8 as
 *                      DynamicQuantizeLinear does (range widened to 0, scale (max - min) / 255,
 *                      zp = round(-min / scale)), then MatMulIntegerToFloat.
 * com.microsoft QuantizeLinear / DequantizeLinear (attribute axis): the ONNX ops' arithmetic
 *                      (ref/quant.c's kernels, at opset 19), with int16 / uint16 allowed too.
 */
#include <stdio.h>
#include <string.h>

#include "conv_geom.h"
#include "qlinear_contrib.h"

/* ---------------------------------------------------------------- tables */

enum { QLC_IDENTITY, QLC_LEAKY, QLC_SIGMOID };

/* table[v - lo] for every value v of dtype t, as onnxruntime's lookup tables. */
static void qlc_table(int32_t *table, RtDtype t, float xs, int32_t zx, float ys, int32_t zy, int fn, float alpha) {
    int32_t lo, hi;
    rt_qrange(t, &lo, &hi);
    for (int32_t v = lo; v <= hi; v++) {
        float d = xs * (float)(v - zx), f = d;
        if (fn == QLC_LEAKY) f = d >= 0.0f ? d : alpha * d;
        else if (fn == QLC_SIGMOID) f = 1.0f / (1.0f + expf(-d));
        table[v - lo] = rt_quantize_f32(f, ys, zy, lo, hi);
    }
}

/* x, x_scale, x_zp?, y_scale, y_zp? of the unary table ops; the table for fn. */
static int qlc_unary(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out, int fn) {
    const RtTensor *x = rt_in(n, in, 0), *xz = rt_in(n, in, 2), *yz = rt_in(n, in, 4);
    float xs = 1, ys = 1;
    RT_TRY(qlc_q8_input(c, x, "X"));
    RT_TRY(qlc_scale(c, rt_in(n, in, 1), "X_scale", &xs));
    RT_TRY(qlc_zero_point(c, xz, x->dtype, "X_zero_point", 0));
    RT_TRY(qlc_scale(c, rt_in(n, in, 3), "Y_scale", &ys));
    RT_TRY(qlc_zero_point(c, yz, x->dtype, "Y_zero_point", 0));
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, x->rank, x->dims));
    int32_t table[256], lo, hi;
    rt_qrange(x->dtype, &lo, &hi);
    qlc_table(table, x->dtype, xs, rt_qget(xz, 0), ys, rt_qget(yz, 0), fn, rt_attr_float(n, "alpha", 0.01f));
    int64_t total = rt_numel(x);
    for (int64_t i = 0; i < total; i++) rt_qset(out[0], i, table[rt_qget(x, i) - lo]);
    return RT_OK;
}

static int k_qlinear_leaky_relu(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return qlc_unary(c, n, in, out, QLC_LEAKY);
}

static int k_qlinear_sigmoid(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return qlc_unary(c, n, in, out, QLC_SIGMOID);
}

/* ---------------------------------------------------------------- QLinearConcat */

static int k_qlinear_concat(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    if (n->n_in < 5 || (n->n_in - 2) % 3 != 0)
        return rt_fail(c, "needs Y_scale, Y_zero_point and whole (X, X_scale, X_zero_point) triples, has %d inputs",
                       n->n_in);
    const RtTensor *yz = rt_in(n, in, 1), *x0 = rt_in(n, in, 2);
    int k = (n->n_in - 2) / 3;
    float ys = 1;
    RT_TRY(qlc_q8_input(c, x0, "X 0"));
    RT_TRY(qlc_scale(c, rt_in(n, in, 0), "Y_scale", &ys));
    RT_TRY(qlc_zero_point(c, yz, x0->dtype, "Y_zero_point", 1));
    int ax = rt_axis(c, rt_attr_int(n, "axis", 0), x0->rank, "axis");
    if (ax < 0) return RT_ERR;
    int64_t dims[RT_MAX_RANK];
    memcpy(dims, x0->dims, sizeof(int64_t) * (size_t)x0->rank);
    dims[ax] = 0;
    for (int i = 0; i < k; i++) {
        const RtTensor *x = rt_in(n, in, 2 + 3 * i);
        float s;
        char what[40];
        snprintf(what, sizeof what, "X %d", i);
        RT_TRY(qlc_q8_input(c, x, what));
        if (x->dtype != x0->dtype || x->rank != x0->rank)
            return rt_fail(c, "input X %d must have X 0's dtype and rank", i);
        for (int d = 0; d < x->rank; d++)
            if (d != ax && x->dims[d] != x0->dims[d]) return rt_fail(c, "input X %d differs from X 0 off the axis", i);
        snprintf(what, sizeof what, "X_scale %d", i);
        RT_TRY(qlc_scale(c, rt_in(n, in, 3 + 3 * i), what, &s));
        snprintf(what, sizeof what, "X_zero_point %d", i);
        RT_TRY(qlc_zero_point(c, rt_in(n, in, 4 + 3 * i), x0->dtype, what, 1));
        dims[ax] += x->dims[ax];
    }
    RT_TRY(rt_out_alloc(c, out[0], x0->dtype, x0->rank, dims));
    int64_t outer = rt_shape_numel(ax, dims), inner = rt_shape_numel(x0->rank - ax - 1, dims + ax + 1), off = 0;
    int32_t zy = rt_qget(yz, 0), table[256], lo, hi;
    rt_qrange(x0->dtype, &lo, &hi);
    for (int i = 0; i < k; i++) {
        const RtTensor *x = in[2 + 3 * i], *xz = in[4 + 3 * i];
        float xs = ((const float *)in[3 + 3 * i]->data)[0];
        int32_t zx = rt_qget(xz, 0);
        int same = xs == ys && zx == zy; /* onnxruntime copies these */
        if (!same) qlc_table(table, x0->dtype, xs, zx, ys, zy, QLC_IDENTITY, 0);
        int64_t run = x->dims[ax] * inner;
        for (int64_t o = 0; o < outer; o++)
            for (int64_t j = 0; j < run; j++) {
                int32_t v = rt_qget(x, o * run + j);
                rt_qset(out[0], o * dims[ax] * inner + off + j, same ? v : table[v - lo]);
            }
        off += run;
    }
    return RT_OK;
}

/* ---------------------------------------------------------------- QLinearWhere */

static int k_qlinear_where(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *cond = rt_in(n, in, 0), *x = rt_in(n, in, 1), *y = rt_in(n, in, 4), *zz = rt_in(n, in, 8);
    float xs = 1, ys = 1, zs = 1;
    if (!cond || cond->dtype != RT_BOOL) return rt_fail(c, "input condition must be bool");
    RT_TRY(qlc_q8_input(c, x, "X"));
    RT_TRY(qlc_q8_input(c, y, "Y"));
    if (y->dtype != x->dtype) return rt_fail(c, "X and Y must have one dtype");
    RT_TRY(qlc_scale(c, rt_in(n, in, 2), "x_scale", &xs));
    RT_TRY(qlc_zero_point(c, rt_in(n, in, 3), x->dtype, "x_zero_point", 1));
    RT_TRY(qlc_scale(c, rt_in(n, in, 5), "y_scale", &ys));
    RT_TRY(qlc_zero_point(c, rt_in(n, in, 6), x->dtype, "y_zero_point", 1));
    RT_TRY(qlc_scale(c, rt_in(n, in, 7), "z_scale", &zs));
    RT_TRY(qlc_zero_point(c, zz, x->dtype, "z_zero_point", 1));
    int r1, rank;
    int64_t d1[RT_MAX_RANK], dims[RT_MAX_RANK], sc[RT_MAX_RANK], sx[RT_MAX_RANK], sy[RT_MAX_RANK],
        idx[RT_MAX_RANK] = {0};
    RT_TRY(rt_broadcast_shape(c, cond->rank, cond->dims, x->rank, x->dims, &r1, d1));
    RT_TRY(rt_broadcast_shape(c, r1, d1, y->rank, y->dims, &rank, dims));
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, rank, dims));
    int32_t tx[256], ty[256], lo, hi, zc = rt_qget(zz, 0);
    rt_qrange(x->dtype, &lo, &hi);
    qlc_table(tx, x->dtype, xs, rt_qget(in[3], 0), zs, zc, QLC_IDENTITY, 0);
    qlc_table(ty, x->dtype, ys, rt_qget(in[6], 0), zs, zc, QLC_IDENTITY, 0);
    rt_broadcast_strides(cond->rank, cond->dims, rank, dims, sc);
    rt_broadcast_strides(x->rank, x->dims, rank, dims, sx);
    rt_broadcast_strides(y->rank, y->dims, rank, dims, sy);
    int64_t total = rt_shape_numel(rank, dims), ic = 0, ix = 0, iy = 0;
    const uint8_t *cv = cond->data;
    for (int64_t i = 0; i < total; i++) {
        rt_qset(out[0], i, cv[ic] ? tx[rt_qget(x, ix) - lo] : ty[rt_qget(y, iy) - lo]);
        for (int d = rank - 1; d >= 0; d--) { /* odometer over every axis */
            ic += sc[d], ix += sx[d], iy += sy[d];
            if (++idx[d] < dims[d]) break;
            ic -= sc[d] * dims[d], ix -= sx[d] * dims[d], iy -= sy[d] * dims[d];
            idx[d] = 0;
        }
    }
    return RT_OK;
}

/* ---------------------------------------------------------------- QLinearAveragePool */

/* The spatial sizes of x (channels_last: dims[1..rank-2]) and its N, C. */
static void qap_split(const RtTensor *x, int cl, int64_t *sp, int64_t *N, int64_t *C) {
    *N = x->dims[0];
    *C = cl ? x->dims[x->rank - 1] : x->dims[1];
    for (int i = 0; i < x->rank - 2; i++) sp[i] = x->dims[(cl ? 1 : 2) + i];
}

static int k_qlinear_average_pool(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0), *xz = rt_in(n, in, 2), *yz = rt_in(n, in, 4);
    float xs = 1, ys = 1;
    int cl = rt_attr_int(n, "channels_last", 0) != 0;
    RT_TRY(qlc_q8_input(c, x, "X"));
    RT_TRY(qlc_scale(c, rt_in(n, in, 1), "x_scale", &xs));
    RT_TRY(qlc_zero_point(c, xz, x->dtype, "x_zero_point", 0));
    RT_TRY(qlc_scale(c, rt_in(n, in, 3), "y_scale", &ys));
    RT_TRY(qlc_zero_point(c, yz, x->dtype, "y_zero_point", 0));
    int nsp;
    RT_TRY(rt_geom_spatial_rank(c, x->rank, "input X", &nsp));
    const int64_t *ks;
    if (rt_attr_ints(n, "kernel_shape", &ks) != nsp)
        return rt_fail(c, "attribute kernel_shape must have %d values (one per spatial axis)", nsp);
    int64_t sp[RT_GEOM_MAX_SP], N, C;
    qap_split(x, cl, sp, &N, &C);
    RtConvGeom g;
    RT_TRY(rt_geom_read(c, n, nsp, sp, ks, &g));
    int64_t ceil_mode = rt_attr_int(n, "ceil_mode", 0), include = rt_attr_int(n, "count_include_pad", 0);
    RT_TRY(rt_geom_forward(c, n, ceil_mode != 0, &g));
    int64_t dims[RT_MAX_RANK];
    rt_geom_out_dims(&g, N, C, dims);
    if (cl) { /* [N, C, out...] -> [N, out..., C] */
        memmove(dims + 1, dims + 2, sizeof(int64_t) * (size_t)nsp);
        dims[x->rank - 1] = C;
    }
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, x->rank, dims));
    int32_t zx = rt_qget(xz, 0), zy = rt_qget(yz, 0), lo, hi;
    rt_qrange(x->dtype, &lo, &hi);
    int64_t pin = rt_geom_numel(g.in), pout = rt_geom_numel(g.out), ksz = rt_geom_numel(g.k);
    for (int64_t b = 0; b < N; b++)
        for (int64_t ch = 0; ch < C; ch++)
            for (int64_t p = 0; p < pout; p++) {
                int64_t o[3] = {p / (g.out[1] * g.out[2]), p / g.out[2] % g.out[1], p % g.out[2]}, r[3][2];
                for (int a = 0; a < 3; a++)
                    rt_geom_taps(o[a], g.stride[a], g.pad0[a], 1, g.k[a], g.in[a], &r[a][0], &r[a][1]);
                float sum = 0.0f;
                int64_t taps = 1;
                for (int a = 0; a < 3; a++) taps *= r[a][1] > r[a][0] ? r[a][1] - r[a][0] : 0;
                for (int64_t t0 = r[0][0]; t0 < r[0][1]; t0++)
                    for (int64_t t1 = r[1][0]; t1 < r[1][1]; t1++)
                        for (int64_t t2 = r[2][0]; t2 < r[2][1]; t2++) {
                            int64_t q = ((o[0] * g.stride[0] - g.pad0[0] + t0) * g.in[1] +
                                         (o[1] * g.stride[1] - g.pad0[1] + t1)) * g.in[2] +
                                        (o[2] * g.stride[2] - g.pad0[2] + t2);
                            int64_t xi = cl ? (b * pin + q) * C + ch : (b * C + ch) * pin + q;
                            sum += xs * (float)(rt_qget(x, xi) - zx); /* onnxruntime's dequantized plane */
                        }
                int64_t cnt = include ? ksz : taps;
                float avg = cnt > 0 ? sum / (float)cnt : 0.0f;
                int64_t yi = cl ? (b * pout + p) * C + ch : (b * C + ch) * pout + p;
                rt_qset(out[0], yi, qlc_round(avg / ys + (float)zy, 0, lo, hi));
            }
    return RT_OK;
}

/* ---------------------------------------------------------------- MatMulIntegerToFloat */

/* Y[..., M, N] = float(sum (A - za)(B - zb[n])) * s[n] + bias[n]; A and B int8/uint8; checks
 * shapes, allocates Y, computes. s[n] = a_scale * b_scale[n]. */
static int qlc_matmul_to_float(RtKernelCtx *c, const RtTensor *A, int32_t za, const RtTensor *B, const RtTensor *bs,
                               const RtTensor *bz, float as, const RtTensor *bias, RtTensor *y) {
    if (A->rank < 2 || B->rank < 2) return rt_fail(c, "A and B must have rank >= 2");
    int64_t M = A->dims[A->rank - 2], K = A->dims[A->rank - 1], N = B->dims[B->rank - 1];
    if (B->dims[B->rank - 2] != K)
        return rt_fail(c, "inner dimensions differ: A has K = %lld, B %lld", (long long)K,
                       (long long)B->dims[B->rank - 2]);
    int64_t batch = rt_shape_numel(A->rank - 2, A->dims);
    if (B->rank > 2 && (B->rank != A->rank || memcmp(B->dims, A->dims, sizeof(int64_t) * (size_t)(A->rank - 2)) != 0)) {
        rt_fail(c, "B [..., K, N] must be 2-D or have A's batch dims (other broadcasts are not supported)");
        return RT_ERR_UNSUPPORTED;
    }
    int64_t ks = rt_numel(bs);
    if (bs->dtype != RT_F32 || bs->rank > 1 || (ks != 1 && ks != N))
        return rt_fail(c, "b_scale must be float32, one value or [N = %lld]", (long long)N);
    if (bz && (bz->dtype != B->dtype || bz->rank > 1 || (rt_numel(bz) != 1 && rt_numel(bz) != N)))
        return rt_fail(c, "b_zero_point must have B's dtype (%s), one value or [N]", rt_dtype_name(B->dtype));
    if (bias && (bias->dtype != RT_F32 || bias->rank != 1 || bias->dims[0] != N))
        return rt_fail(c, "bias must be float32 [N = %lld]", (long long)N);
    int64_t dims[RT_MAX_RANK];
    memcpy(dims, A->dims, sizeof(int64_t) * (size_t)A->rank);
    dims[A->rank - 1] = N;
    RT_TRY(rt_out_alloc(c, y, RT_F32, A->rank, dims));
    int16_t *a16 = rt_scratch(c, sizeof(int16_t) * (size_t)(M * K + K * N + 1));
    int32_t *acc = rt_scratch(c, sizeof(int32_t) * (size_t)(M * N + 1));
    int st = RT_ERR_NOMEM;
    if (a16 && acc) {
        int16_t *b16 = a16 + M * K;
        int64_t kz = bz ? rt_numel(bz) : 0;
        float *yv = y->data;
        for (int64_t bt = 0; bt < batch; bt++) {
            int64_t boff = B->rank > 2 ? bt * K * N : 0;
            for (int64_t i = 0; i < M * K; i++) a16[i] = (int16_t)(rt_qget(A, bt * M * K + i) - za);
            for (int64_t i = 0; i < K * N; i++)
                b16[i] = (int16_t)(rt_qget(B, boff + i) - (kz ? rt_qget(bz, kz > 1 ? i % N : 0) : 0));
            memset(acc, 0, sizeof(int32_t) * (size_t)(M * N));
            if (K > 0) rt_igemm_s16(M, N, K, a16, K, b16, N, acc, N, 1);
            for (int64_t i = 0; i < M * N; i++) {
                float s = as * ((const float *)bs->data)[ks > 1 ? i % N : 0];
                float v = (float)acc[i] * s;
                yv[bt * M * N + i] = bias ? v + ((const float *)bias->data)[i % N] : v;
            }
        }
        st = RT_OK;
    }
    rt_scratch_free(c, a16);
    rt_scratch_free(c, acc);
    return st;
}

static int k_matmul_integer_to_float(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *A = rt_in(n, in, 0), *B = rt_in(n, in, 1), *bs = rt_in(n, in, 3), *az = rt_in(n, in, 4);
    float as = 1;
    RT_TRY(qlc_q8_input(c, A, "A"));
    RT_TRY(qlc_q8_input(c, B, "B"));
    RT_TRY(qlc_scale(c, rt_in(n, in, 2), "a_scale", &as));
    if (!bs) return rt_fail(c, "input b_scale is required");
    RT_TRY(qlc_zero_point(c, az, A->dtype, "a_zero_point", 0));
    /* a graph-input a_zero_point has no data while shapes are planned (its value is unused then) */
    int32_t za = az && az->data ? rt_qget(az, 0) : 0;
    return qlc_matmul_to_float(c, A, za, B, bs, rt_in(n, in, 5), as, rt_in(n, in, 6), out[0]);
}

/* ---------------------------------------------------------------- DynamicQuantizeMatMul */

static int k_dynamic_quantize_matmul(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *A = rt_in(n, in, 0), *B = rt_in(n, in, 1), *bs = rt_in(n, in, 2);
    if (!A || A->dtype != RT_F32) return rt_fail(c, "input A must be float32");
    RT_TRY(qlc_q8_input(c, B, "B"));
    if (!bs) return rt_fail(c, "input b_scale is required");
    /* A's uint8 codes through the DynamicQuantizeLinear kernel (same arithmetic as onnxruntime's) */
    int slots_in[1] = {0}, slots_out[3] = {1, 2, 3};
    RtNode dq = {
        RT_OP_DYNAMIC_QUANTIZE_LINEAR, n->name, "DynamicQuantizeLinear", "", 11, 1, slots_in, 3, slots_out, 0, NULL};
    RtTensor qa, qs, qz, *qo[3] = {&qa, &qs, &qz};
    memset(&qa, 0, sizeof qa), memset(&qs, 0, sizeof qs), memset(&qz, 0, sizeof qz);
    RtKernelCtx c2 = *c;
    c2.planned_out = NULL, c2.planned_bytes = NULL, c2.n_planned = 0, c2.node_state = NULL;
    c2.nhwc_in = c2.nhwc_out = NULL;
    RtTensor *const dq_in[1] = {(RtTensor *)A};
    int st = rt_kernel_find(RT_OP_DYNAMIC_QUANTIZE_LINEAR)(&c2, &dq, dq_in, qo);
    if (st == RT_OK)
        st = qlc_matmul_to_float(c, &qa, rt_qget(&qz, 0), B, bs, rt_in(n, in, 3), ((const float *)qs.data)[0],
                                 rt_in(n, in, 4), out[0]);
    else if (st == RT_SHAPE_ONLY || st == RT_SHAPE_UNKNOWN) { /* shapes only: Y is A's with N last */
        int64_t dims[RT_MAX_RANK];
        memcpy(dims, A->dims, sizeof(int64_t) * (size_t)A->rank);
        dims[A->rank - 1] = B->dims[B->rank - 1];
        st = rt_out_alloc(c, out[0], RT_F32, A->rank, dims);
    }
    for (int i = 0; i < 3; i++)
        if (qo[i]->data) c->alloc->free(c->alloc->user, qo[i]->data);
    return st;
}

/* ---------------------------------------------------------------- com.microsoft Q / DQ */

static int run_onnx_op(RtKernelCtx *c, const RtNode *n, int op, RtTensor *const *in, RtTensor *const *out) {
    RtNode m = *n;
    m.op = op;
    m.opset = 19; /* the ONNX form with per-axis scales, float16 scales and no block_size */
    return rt_kernel_find(op)(c, &m, in, out);
}

static int k_ms_quantize_linear(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return run_onnx_op(c, n, RT_OP_QUANTIZE_LINEAR, in, out);
}

static int k_ms_dequantize_linear(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return run_onnx_op(c, n, RT_OP_DEQUANTIZE_LINEAR, in, out);
}

const RtKernelEntry rt_kernels_qlinear_contrib_ops[] = {
    {RT_OP_QLINEAR_LEAKY_RELU, k_qlinear_leaky_relu},
    {RT_OP_QLINEAR_SIGMOID, k_qlinear_sigmoid},
    {RT_OP_QLINEAR_CONCAT, k_qlinear_concat},
    {RT_OP_QLINEAR_WHERE, k_qlinear_where},
    {RT_OP_QLINEAR_AVERAGE_POOL, k_qlinear_average_pool},
    {RT_OP_MATMUL_INTEGER_TO_FLOAT, k_matmul_integer_to_float},
    {RT_OP_DYNAMIC_QUANTIZE_MATMUL, k_dynamic_quantize_matmul},
    {RT_OP_MS_QUANTIZE_LINEAR, k_ms_quantize_linear},
    {RT_OP_MS_DEQUANTIZE_LINEAR, k_ms_dequantize_linear},
    {-1, 0},
};
