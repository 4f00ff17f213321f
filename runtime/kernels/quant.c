/*
 * quant.c — fixed-point requantization, float quantization and the int16 GEMMs of quant.h.
 *
 * Requantization follows gemmlowp (SaturatingRoundingDoublingHighMul, RoundingDivideByPOT)
 * and TFLite's QuantizeMultiplier; the formulas are in quant.h. The GEMMs are plain loops
 * written so GCC vectorizes them at -O3: the NN form is an axpy over a row of C per element
 * of A, the NT form a dot product per element of C. Accumulation is in uint32 so that a
 * (legal, if unlikely) int32 overflow wraps instead of being undefined behaviour.
 */
#include "quant.h"

#include <math.h>
#include <string.h>

RtRequant rt_requant_make(double m) {
    RtRequant r = {0, 0};
    if (m == 0.0 || m != m) return r;
    if (isinf(m)) {
        r.mult = m > 0 ? INT32_MAX : -INT32_MAX;
        r.shift = 62;
        return r;
    }
    int e;
    double q = frexp(m, &e); /* m = q * 2^e, |q| in [0.5, 1) */
    long long qf = llround(q * 2147483648.0);
    if (qf == 2147483648LL || qf == -2147483648LL) { /* q rounded up to 1 */
        qf /= 2;
        e++;
    }
    if (e < -31) return r; /* |m| < 2^-32: |acc * m| < 0.5 for every int32 acc */
    if (e > 62) {
        e = 62;
        qf = qf > 0 ? INT32_MAX : -INT32_MAX;
    }
    r.mult = (int32_t)qf;
    r.shift = e;
    return r;
}

int32_t rt_round_sat(double v, int32_t zp, int32_t qmin, int32_t qmax) {
    if (v != v) v = 0.0;
    double t = nearbyint(v) + (double)zp;
    if (t < (double)qmin) return qmin;
    if (t > (double)qmax) return qmax;
    return (int32_t)t;
}

int32_t rt_quantize_f32(float x, float scale, int32_t zp, int32_t qmin, int32_t qmax) {
    float q = x / scale; /* float32 division, as onnxruntime's MlasQuantizeLinear */
    return rt_round_sat((double)q, zp, qmin, qmax);
}

int rt_qrange(RtDtype t, int32_t *qmin, int32_t *qmax) {
    switch (t) {
    case RT_I8: *qmin = INT8_MIN; *qmax = INT8_MAX; return RT_OK;
    case RT_U8: *qmin = 0; *qmax = UINT8_MAX; return RT_OK;
    case RT_I16: *qmin = INT16_MIN; *qmax = INT16_MAX; return RT_OK;
    case RT_U16: *qmin = 0; *qmax = UINT16_MAX; return RT_OK;
    case RT_I32: *qmin = INT32_MIN; *qmax = INT32_MAX; return RT_OK;
    default: return RT_ERR_UNSUPPORTED;
    }
}

int rt_lowbit_range(int64_t onnx_type, RtDtype *store, int32_t *qmin, int32_t *qmax) {
    switch (onnx_type) {
    case 21: *store = RT_U8; *qmin = 0; *qmax = 15; return RT_OK;  /* uint4 */
    case 22: *store = RT_I8; *qmin = -8; *qmax = 7; return RT_OK;  /* int4 */
    case 25: *store = RT_U8; *qmin = 0; *qmax = 3; return RT_OK;   /* uint2 */
    case 26: *store = RT_I8; *qmin = -2; *qmax = 1; return RT_OK;  /* int2 */
    default: return RT_ERR_UNSUPPORTED;
    }
}

int32_t rt_qget(const RtTensor *t, int64_t i) {
    if (!t) return 0;
    switch (t->dtype) {
    case RT_I8: return ((const int8_t *)t->data)[i];
    case RT_U8: return ((const uint8_t *)t->data)[i];
    case RT_I16: return ((const int16_t *)t->data)[i];
    case RT_U16: return ((const uint16_t *)t->data)[i];
    case RT_I32: return ((const int32_t *)t->data)[i];
    default: return (int32_t)rt_get_i64(t, i);
    }
}

void rt_qset(RtTensor *t, int64_t i, int32_t v) {
    switch (t->dtype) {
    case RT_I8: ((int8_t *)t->data)[i] = (int8_t)v; break;
    case RT_U8: ((uint8_t *)t->data)[i] = (uint8_t)v; break;
    case RT_I16: ((int16_t *)t->data)[i] = (int16_t)v; break;
    case RT_U16: ((uint16_t *)t->data)[i] = (uint16_t)v; break;
    case RT_I32: ((int32_t *)t->data)[i] = v; break;
    default: rt_set_f64(t, i, (double)v); break;
    }
}

void rt_igemm_s16(int64_t M, int64_t N, int64_t K, const int16_t *A, int64_t lda, const int16_t *B,
                  int64_t ldb, int32_t *C, int64_t ldc, int accumulate) {
    for (int64_t m = 0; m < M; m++) {
        /* int32 and uint32 may alias: the row is summed modulo 2^32 */
        uint32_t *c = (uint32_t *)(C + m * ldc);
        if (!accumulate) memset(c, 0, (size_t)N * sizeof *c);
        const int16_t *a = A + m * lda;
        for (int64_t k = 0; k < K; k++) {
            int32_t av = a[k];
            if (av == 0) continue; /* zero-point padding and ReLU zeros are common */
            const int16_t *b = B + k * ldb;
            for (int64_t n = 0; n < N; n++) c[n] += (uint32_t)(av * (int32_t)b[n]);
        }
    }
}

void rt_igemm_s16_nt(int64_t M, int64_t N, int64_t K, const int16_t *A, int64_t lda, const int16_t *B,
                     int64_t ldb, int32_t *C, int64_t ldc) {
    for (int64_t m = 0; m < M; m++) {
        const int16_t *a = A + m * lda;
        for (int64_t n = 0; n < N; n++) {
            const int16_t *b = B + n * ldb;
            uint32_t s = 0;
            for (int64_t k = 0; k < K; k++) s += (uint32_t)((int32_t)a[k] * (int32_t)b[k]);
            C[m * ldc + n] = (int32_t)s;
        }
    }
}
