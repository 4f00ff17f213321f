/*
 * qlinear_binary.c — com.microsoft QLinearAdd and QLinearMul (onnxruntime's
 * ContribOperators.md), the int8/uint8 element-wise ops of models onnxruntime quantized
 * in its QOperator format:
 *     QLinearAdd: C = (A_scale (A - A_zp) + B_scale (B - B_zp)) / C_scale + C_zp
 *     QLinearMul: C = (A_scale (A - A_zp)) (B_scale (B - B_zp)) / C_scale + C_zp
 * Inputs A, A_scale, A_zero_point?, B, B_scale, B_zero_point?, C_scale, C_zero_point?; the
 * scales one float32 each, the zero points one element of A's type (absent = 0), A and B of
 * one type (int8 or uint8), numpy broadcasting; C has C_zero_point's type (A's when absent).
 * Arithmetic as the formula reads, in float32: each operand dequantized (scale times the
 * integer difference), summed or multiplied, divided by C_scale, rounded half to even and
 * saturated (the spec's Q step; onnxruntime's portable kernel computes the same).
 */
#include <string.h>

#include "../kernel.h"
#include "../quant.h"

static int qlb_scale(RtKernelCtx *c, const RtTensor *t, const char *what, float *v) {
    if (!t || t->dtype != RT_F32 || rt_numel(t) != 1) return rt_fail(c, "%s must be one float32 value", what);
    *v = t->data ? ((const float *)t->data)[0] : 1.0f;
    if (t->data && !(*v > 0.0f && *v < 3.4e38f)) return rt_fail(c, "%s = %g must be positive and finite", what, *v);
    return RT_OK;
}

static int qlb_zero_point(RtKernelCtx *c, const RtTensor *z, RtDtype t, const char *what) {
    if (z && (z->dtype != t || rt_numel(z) != 1)) return rt_fail(c, "%s must be one %s value", what, rt_dtype_name(t));
    return RT_OK;
}

static int qlinear_binary(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out, int mul) {
    const RtTensor *A = rt_in(n, in, 0), *Az = rt_in(n, in, 2), *B = rt_in(n, in, 3), *Bz = rt_in(n, in, 5);
    const RtTensor *Cz = rt_in(n, in, 7);
    float sa = 1, sb = 1, sc = 1;
    if (!A || !B) return rt_fail(c, "inputs A and B are required");
    if ((A->dtype != RT_I8 && A->dtype != RT_U8) || B->dtype != A->dtype) {
        rt_fail(c, "A and B must both be int8 or both uint8 (got %s, %s)", rt_dtype_name(A->dtype), rt_dtype_name(B->dtype));
        return RT_ERR_UNSUPPORTED;
    }
    RT_TRY(qlb_scale(c, rt_in(n, in, 1), "A_scale", &sa));
    RT_TRY(qlb_scale(c, rt_in(n, in, 4), "B_scale", &sb));
    RT_TRY(qlb_scale(c, rt_in(n, in, 6), "C_scale", &sc));
    RT_TRY(qlb_zero_point(c, Az, A->dtype, "A_zero_point"));
    RT_TRY(qlb_zero_point(c, Bz, A->dtype, "B_zero_point"));
    RtDtype ct = Cz ? Cz->dtype : A->dtype;
    if (Cz && ((ct != RT_I8 && ct != RT_U8) || rt_numel(Cz) != 1))
        return rt_fail(c, "C_zero_point must be one int8 or uint8 value");
    int rank;
    int64_t dims[RT_MAX_RANK], sta[RT_MAX_RANK], stb[RT_MAX_RANK], idx[RT_MAX_RANK] = {0};
    RT_TRY(rt_broadcast_shape(c, A->rank, A->dims, B->rank, B->dims, &rank, dims));
    RT_TRY(rt_out_alloc(c, out[0], ct, rank, dims));
    int32_t za = rt_qget(Az, 0), zb = rt_qget(Bz, 0), zc = rt_qget(Cz, 0), lo, hi;
    rt_qrange(ct, &lo, &hi);
    rt_broadcast_strides(A->rank, A->dims, rank, dims, sta);
    rt_broadcast_strides(B->rank, B->dims, rank, dims, stb);
    int64_t total = rt_shape_numel(rank, dims), ia = 0, ib = 0;
    for (int64_t i = 0; i < total; i++) {
        float va = sa * (float)(rt_qget(A, ia) - za), vb = sb * (float)(rt_qget(B, ib) - zb);
        rt_qset(out[0], i, rt_quantize_f32(mul ? va * vb : va + vb, sc, zc, lo, hi));
        for (int d = rank - 1; d >= 0; d--) { /* odometer over every axis */
            ia += sta[d];
            ib += stb[d];
            if (++idx[d] < dims[d]) break;
            ia -= sta[d] * dims[d];
            ib -= stb[d] * dims[d];
            idx[d] = 0;
        }
    }
    return RT_OK;
}

static int k_qlinear_add(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return qlinear_binary(c, n, in, out, 0);
}

static int k_qlinear_mul(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return qlinear_binary(c, n, in, out, 1);
}

const RtKernelEntry rt_kernels_qlinear_binary[] = {
    {RT_OP_QLINEAR_ADD, k_qlinear_add},
    {RT_OP_QLINEAR_MUL, k_qlinear_mul},
    {-1, 0},
};
