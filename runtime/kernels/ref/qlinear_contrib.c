/*
 * qlinear_contrib.c — reference kernels of onnxruntime's quantized com.microsoft ops that
 * models quantized in its QOperator format (and int8 QDQ models after its graph
 * optimizations) contain: QGemm and QLinearGlobalAveragePool (ContribOperators.md; the
 * arithmetic of onnxruntime/contrib_ops/cpu/quantization, see qlinear_contrib.h).
 *
 * QGemm(A, a_scale, a_zp, B, b_scale, b_zp, C?, y_scale?, y_zp?)   attributes alpha, transA, transB
 *   A [M, K] (transA: [K, M]) and B [K, N] (transB: [N, K]), int8 or uint8; a_scale, a_zp one
 *   value; b_scale, b_zp one value or [N] (per column); C int32 broadcast to [M, N] (scalar, [N],
 *   [1, N], [M, 1], [M, N]), added to the integer accumulator:
 *     acc[m, n] = C[m, n] + sum_k (A[m, k] - a_zp)(B[k, n] - b_zp[n])      int32, wrapping
 *     s[n] = alpha * a_scale * b_scale[n] (/ y_scale when given), in float32 in that order
 *   with y_zp:    y = clamp(nearbyint(float(acc) * s[n]) + y_zp)  of y_zp's dtype
 *   without it:   y = float(acc) * s[n]  as float32 (y_scale, when given, still divides)
 *   The products go through the int16 GEMM of quant.h (operands minus zero points).
 *
 * QLinearGlobalAveragePool(x, x_scale, x_zp, y_scale, y_zp)   attribute channels_last
 *   x [N, C, spatial...] (channels_last: [N, spatial..., C]); y keeps x's rank, spatial dims 1:
 *     y[n, c] = clamp(nearbyint(float(sum_i x[n, c, i] - x_zp * S) * (x_scale / (y_scale * S))) + y_zp)
 *   with S the spatial size, the scale formed in float32 as MLAS forms it.
 */
#include <string.h>

#include "qlinear_contrib.h"

/* ---------------------------------------------------------------- QGemm */

/* b_scale / b_zp: one value, or [N]. */
static int qgemm_bparam(RtKernelCtx *c, const RtTensor *t, int64_t N, const char *what) {
    int64_t k = rt_numel(t);
    if (t->rank > 1 || (k != 1 && k != N))
        return rt_fail(c, "%s must be a scalar or 1-D of size 1 or N = %lld", what, (long long)N);
    return RT_OK;
}

/* C's strides over [M, N] (0 on broadcast axes); -1 when C does not broadcast there. */
static int qgemm_bias_strides(const RtTensor *C, int64_t M, int64_t N, int64_t *sm, int64_t *sn) {
    int64_t d0 = C->rank == 2 ? C->dims[0] : 1, d1 = C->rank >= 1 ? C->dims[C->rank - 1] : 1;
    if (C->rank > 2 || (d0 != 1 && d0 != M) || (d1 != 1 && d1 != N)) return -1;
    *sm = d0 == 1 ? 0 : d1;
    *sn = d1 == 1 ? 0 : 1;
    return 0;
}

/* The int16 operands: a16 [M, K] = A - a_zp, b16 [K, N] = B - b_zp[n], transposes undone. */
static void qgemm_operands(const RtTensor *A, int32_t za, int ta, const RtTensor *B, const RtTensor *bz, int tb,
                           int64_t M, int64_t N, int64_t K, int16_t *a16, int16_t *b16) {
    int per_col = bz && rt_numel(bz) > 1;
    for (int64_t m = 0; m < M; m++)
        for (int64_t k = 0; k < K; k++) a16[m * K + k] = (int16_t)(rt_qget(A, ta ? k * M + m : m * K + k) - za);
    for (int64_t k = 0; k < K; k++)
        for (int64_t n = 0; n < N; n++)
            b16[k * N + n] = (int16_t)(rt_qget(B, tb ? n * K + k : k * N + n) - rt_qget(bz, per_col ? n : 0));
}

static int k_qgemm(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *A = rt_in(n, in, 0), *az = rt_in(n, in, 2), *B = rt_in(n, in, 3), *bs = rt_in(n, in, 4);
    const RtTensor *bz = rt_in(n, in, 5), *C = rt_in(n, in, 6), *ysc = rt_in(n, in, 7), *yz = rt_in(n, in, 8);
    int ta = rt_attr_int(n, "transA", 0) != 0, tb = rt_attr_int(n, "transB", 0) != 0;
    float alpha = rt_attr_float(n, "alpha", 1.0f), as = 1, ys = 1;
    RT_TRY(qlc_q8_input(c, A, "A"));
    RT_TRY(qlc_q8_input(c, B, "B"));
    if (A->rank != 2 || B->rank != 2) return rt_fail(c, "A and B must be 2-D (got rank %d and %d)", A->rank, B->rank);
    int64_t M = A->dims[ta], K = A->dims[1 - ta], N = B->dims[1 - tb];
    if (B->dims[tb] != K)
        return rt_fail(c, "inner dimensions differ: A gives K = %lld, B %lld", (long long)K, (long long)B->dims[tb]);
    RT_TRY(qlc_scale(c, rt_in(n, in, 1), "a_scale", &as));
    RT_TRY(qlc_zero_point(c, az, A->dtype, "a_zero_point", 1));
    if (!bs) return rt_fail(c, "input b_scale is required");
    if (!bz) return rt_fail(c, "input b_zero_point is required");
    if (bs->dtype != RT_F32) return rt_fail(c, "b_scale must be float32");
    if (bz->dtype != B->dtype)
        return rt_fail(c, "b_zero_point has dtype %s but B is %s; they must be the same", rt_dtype_name(bz->dtype),
                       rt_dtype_name(B->dtype));
    RT_TRY(qgemm_bparam(c, bs, N, "b_scale"));
    RT_TRY(qgemm_bparam(c, bz, N, "b_zero_point"));
    if (rt_numel(bs) != rt_numel(bz)) return rt_fail(c, "b_scale and b_zero_point must have the same size");
    int64_t sm = 0, sn = 0;
    if (C && (C->dtype != RT_I32 || qgemm_bias_strides(C, M, N, &sm, &sn) != 0))
        return rt_fail(c, "C must be int32 and broadcast to [M, N] = [%lld, %lld]", (long long)M, (long long)N);
    if (ysc) RT_TRY(qlc_scale(c, ysc, "y_scale", &ys));
    if (yz && !ysc) return rt_fail(c, "y_zero_point is given without y_scale");
    if (yz && (!qlc_is_q8(yz->dtype) || rt_numel(yz) != 1 || yz->rank > 1))
        return rt_fail(c, "y_zero_point must be one int8 or uint8 value");
    RtDtype yt = yz ? yz->dtype : RT_F32;
    int64_t dims[2] = {M, N};
    RT_TRY(rt_out_alloc(c, out[0], yt, 2, dims));
    if (M == 0 || N == 0) return RT_OK;
    int16_t *a16 = rt_scratch(c, sizeof(int16_t) * (size_t)(M * K + K * N + 1));
    int32_t *acc = rt_scratch(c, sizeof(int32_t) * (size_t)(M * N));
    float *s = rt_scratch(c, sizeof(float) * (size_t)N);
    int st = RT_ERR_NOMEM;
    if (a16 && acc && s) {
        int16_t *b16 = a16 + M * K;
        qgemm_operands(A, rt_qget(az, 0), ta, B, bz, tb, M, N, K, a16, b16);
        for (int64_t i = 0; i < M * N; i++) /* the bias first: MLAS accumulates onto it */
            acc[i] = C ? ((const int32_t *)C->data)[(i / N) * sm + (i % N) * sn] : 0;
        if (K > 0) rt_igemm_s16(M, N, K, a16, K, b16, N, acc, N, 1);
        const float *bsd = bs->data;
        for (int64_t j = 0; j < N; j++) {
            s[j] = alpha * as * bsd[rt_numel(bs) > 1 ? j : 0];
            if (ysc) s[j] /= ys;
        }
        int32_t zy = rt_qget(yz, 0), lo = 0, hi = 0;
        if (yz) rt_qrange(yt, &lo, &hi);
        for (int64_t i = 0; i < M * N; i++) {
            if (yz) rt_qset(out[0], i, qlc_requant(acc[i], s[i % N], zy, lo, hi));
            else ((float *)out[0]->data)[i] = (float)acc[i] * s[i % N];
        }
        st = RT_OK;
    }
    rt_scratch_free(c, a16);
    rt_scratch_free(c, acc);
    rt_scratch_free(c, s);
    return st;
}

/* ---------------------------------------------------------------- QLinearGlobalAveragePool */

static int k_qlinear_global_average_pool(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0), *xz = rt_in(n, in, 2), *yz = rt_in(n, in, 4);
    float xs = 1, ys = 1;
    int cl = rt_attr_int(n, "channels_last", 0) != 0;
    RT_TRY(qlc_q8_input(c, x, "X"));
    if (x->rank < 3) return rt_fail(c, "input X has rank %d; expected at least 3 (N, C, spatial...)", x->rank);
    RT_TRY(qlc_scale(c, rt_in(n, in, 1), "x_scale", &xs));
    RT_TRY(qlc_zero_point(c, xz, x->dtype, "x_zero_point", 1));
    RT_TRY(qlc_scale(c, rt_in(n, in, 3), "y_scale", &ys));
    RT_TRY(qlc_zero_point(c, yz, x->dtype, "y_zero_point", 1));
    int64_t dims[RT_MAX_RANK];
    int s0 = cl ? 1 : 2, s1 = s0 + x->rank - 2; /* spatial axes [s0, s1) */
    for (int d = 0; d < x->rank; d++) dims[d] = d >= s0 && d < s1 ? 1 : x->dims[d];
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, x->rank, dims));
    int64_t N = x->dims[0], C = cl ? x->dims[x->rank - 1] : x->dims[1];
    int64_t S = rt_shape_numel(x->rank - 2, x->dims + s0);
    int32_t zx = rt_qget(xz, 0), zy = rt_qget(yz, 0), lo, hi;
    rt_qrange(x->dtype, &lo, &hi);
    float scale = xs / (ys * (float)S);
    int64_t *sum = rt_scratch(c, sizeof(int64_t) * (size_t)(C > 0 ? C : 1));
    if (!sum) return RT_ERR_NOMEM;
    const uint8_t *xu = x->data;
    const int8_t *xi = x->data;
    int u8 = x->dtype == RT_U8;
    for (int64_t b = 0; b < N; b++) {
        /* exact integer sums (S * 255 stays far inside int64) */
        memset(sum, 0, sizeof(int64_t) * (size_t)C);
        const int64_t at = b * C * S, sc = cl ? 1 : S, si = cl ? C : 1; /* (ch, i) at ch * sc + i * si */
        for (int64_t ch = 0; ch < C; ch++)
            for (int64_t i = 0; i < S; i++) sum[ch] += u8 ? xu[at + ch * sc + i * si] : xi[at + ch * sc + i * si];
        for (int64_t ch = 0; ch < C; ch++) {
            int32_t acc = (int32_t)(sum[ch] - (int64_t)zx * S);
            rt_qset(out[0], b * C + ch, S > 0 ? qlc_requant(acc, scale, zy, lo, hi) : zy);
        }
    }
    rt_scratch_free(c, sum);
    return RT_OK;
}

const RtKernelEntry rt_kernels_qlinear_contrib[] = {
    {RT_OP_QGEMM, k_qgemm},
    {RT_OP_QLINEAR_GLOBAL_AVERAGE_POOL, k_qlinear_global_average_pool},
    {-1, 0},
};
