/*
 * quant.h — integer arithmetic shared by the quantized kernels and the quantizer:
 * fixed-point requantization as gemmlowp and TFLite do it, float quantization with the
 * round-half-to-even of the ONNX spec, int16 x int16 -> int32 GEMMs, and the integer
 * convolution behind QLinearConv, ConvInteger and QConv.
 *
 * A real multiplier M (e.g. x_scale * w_scale / y_scale) is a Q0.31 mantissa and a shift:
 *   M = mult * 2^(shift - 31), |mult| in [2^30, 2^31)          (M = 0: mult = shift = 0)
 *   apply(acc) = RDBPOT(SRDHM(acc * 2^max(shift, 0), mult), max(-shift, 0))
 *   SRDHM(a, b) = (a*b + (a*b >= 0 ? 2^30 : 1 - 2^30)) / 2^31, truncated (gemmlowp's nudge)
 *   RDBPOT(x, e) = x / 2^e rounded to nearest, ties away from zero (gemmlowp's shift)
 * So a tie resolved by the right shift rounds away from zero, one resolved inside SRDHM
 * rounds up, exactly as TFLite's MultiplyByQuantizedMultiplier. With shift < 0 there are two
 * roundings (5 * 0.25: SRDHM 2.5 -> 3, RDBPOT 1.5 -> 2), so the error is at most
 * 1/2 + 2^(shift-1) of an output step rather than 1/2. For shift > 0 the product acc * 2^shift
 * is formed in 64 bits: results match TFLite wherever TFLite does not overflow, and saturate
 * otherwise.
 *
 * Float quantization (QuantizeLinear, the quantizer's weights): q = clamp(nearbyint(x / s) + zp,
 * qmin, qmax), x / s in float32 as onnxruntime does, nearbyint under the default rounding mode
 * (ties to even).
 */
#ifndef WAFER_RT_QUANT_H
#define WAFER_RT_QUANT_H

#include "kernel.h"

typedef struct {
    int32_t mult;   /* Q0.31 mantissa, |mult| in [2^30, 2^31); 0 for a zero multiplier */
    int32_t shift;  /* power of two: M = mult * 2^(shift - 31); in [-31, 62] */
} RtRequant;

/* The fixed-point form of m. |m| < 2^-32 (where every int32 acc rounds to 0), 0 and NaN
 * give the zero multiplier; |m| >= 2^62 (and inf) is clamped to shift 62, which saturates
 * every nonzero acc. */
RtRequant rt_requant_make(double m);
/* The two gemmlowp primitives (SRDHM, RDBPOT with e in [0, 31]); inline because every
 * requantized output goes through them. */
static inline int32_t rt_srdhm(int32_t a, int32_t b) {
    if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
    int64_t ab = (int64_t)a * b;
    int64_t nudge = ab >= 0 ? ((int64_t)1 << 30) : 1 - ((int64_t)1 << 30);
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

static inline int32_t rt_rdbpot(int32_t x, int e) {
    int64_t mask = ((int64_t)1 << e) - 1;
    int64_t rem = (int64_t)x & mask;
    int64_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (int32_t)(((int64_t)x >> e) + (rem > threshold ? 1 : 0));
}

static inline int32_t rt_sat32(int64_t v) {
    return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
}

/* round(acc * M) saturated to int32, rounding as the header comment says. */
static inline int32_t rt_requant_apply(int32_t acc, RtRequant r) {
    /* no early exit for acc or mult 0: both paths give 0 for them, and branch-free loops
     * over acc are what the kernels want */
    if (r.shift <= 0) return rt_rdbpot(rt_srdhm(acc, r.mult), -r.shift);
    /* M >= 1. TFLite computes SRDHM(acc * 2^s, mult) = trunc((p * 2^s + nudge) / 2^31) with
     * p = acc * mult. Dividing through by 2^s keeps everything in 64 bits (|p| < 2^62):
     * p >= 0: floor((p + 2^(30-s)) / 2^(31-s)); p < 0: TFLite's numerator p*2^s + 1 - 2^30 and
     * 2^s times ours, p*2^s + 2^s - 2^30, both lie in (I, I + 2^s] with I = p*2^s - 2^30 a
     * multiple of 2^s, on which ceil(x / 2^31) is constant, so the truncated quotients agree.
     * Beyond int32, saturate. */
    int64_t p = (int64_t)acc * r.mult;
    int s = r.shift;
    if (s >= 31) {
        int k = s - 31;
        int64_t lim = (int64_t)INT32_MAX >> k;
        if (p > lim) return INT32_MAX;
        if (p < -lim - 1) return INT32_MIN;
        return rt_sat32(p * ((int64_t)1 << k));
    }
    int64_t half = (int64_t)1 << (30 - s);
    int64_t nudge = p >= 0 ? half : 1 - half;
    return rt_sat32((p + nudge) / ((int64_t)1 << (31 - s)));
}

/* clamp(apply(acc) + zp, qmin, qmax): one requantized output value. */
static inline int32_t rt_requant_out(int32_t acc, RtRequant r, int32_t zp, int32_t qmin, int32_t qmax) {
    int64_t v = (int64_t)rt_requant_apply(acc, r) + zp;
    return v < qmin ? qmin : v > qmax ? qmax : (int32_t)v;
}

/* clamp(nearbyint(v) + zp, qmin, qmax); NaN gives clamp(zp). */
int32_t rt_round_sat(double v, int32_t zp, int32_t qmin, int32_t qmax);
/* clamp(nearbyint(x / scale) + zp, qmin, qmax) with the division in float32. */
int32_t rt_quantize_f32(float x, float scale, int32_t zp, int32_t qmin, int32_t qmax);

/* The value range of an integer dtype usable as a quantized type (int8, uint8, int16,
 * uint16, int32): RT_OK, or RT_ERR_UNSUPPORTED for any other dtype. */
int rt_qrange(RtDtype t, int32_t *qmin, int32_t *qmax);
/* The sub-byte ONNX types (TensorProto codes uint4 = 21, int4 = 22, uint2 = 25, int2 = 26),
 * which wafer holds widened to one byte per element: *store = RT_U8 / RT_I8 and [*qmin, *qmax]
 * the type's range (0..15, -8..7, 0..3, -2..1). RT_ERR_UNSUPPORTED for any other code. */
int rt_lowbit_range(int64_t onnx_type, RtDtype *store, int32_t *qmin, int32_t *qmax);
/* Element i of an int8/uint8/int16/uint16/int32 tensor; 0 when t is NULL (absent zero point). */
int32_t rt_qget(const RtTensor *t, int64_t i);
/* Stores v (already inside the dtype's range) as element i of an integer tensor. */
void rt_qset(RtTensor *t, int64_t i, int32_t v);

/* C[M,N] = A[M,K] * B[K,N] (accumulate = 0) or C += A * B (accumulate = 1): int16 operands
 * (zero points already subtracted), int32 accumulation wrapping modulo 2^32 as the ONNX
 * integer ops allow. Row-major with row strides lda, ldb, ldc. */
void rt_igemm_s16(int64_t M, int64_t N, int64_t K, const int16_t *A, int64_t lda, const int16_t *B,
                  int64_t ldb, int32_t *C, int64_t ldc, int accumulate);
/* C[M,N] = A[M,K] * B[N,K]^T (rows of both contiguous along K), same arithmetic. */
void rt_igemm_s16_nt(int64_t M, int64_t N, int64_t K, const int16_t *A, int64_t lda, const int16_t *B,
                     int64_t ldb, int32_t *C, int64_t ldc);

/* Integer convolution (ref/quant.c), Conv's attributes and geometry:
 *   acc[n, m, p] = B[m] + sum (x - x_zp) * (w[m] - w_zp[m])     int32, padding contributes 0
 * x [N, C, in...] and w [M, C/group, k...] int8 or uint8; x_zp a scalar of x's dtype; w_zp a
 * scalar or [M] of w's dtype; b int32 [M]; any of the three may be NULL. Checks everything,
 * sets y to [N, M, out...] of dtype ydt and allocates it (returning RT_SHAPE_ONLY in shape
 * mode), then fills acc: y's own data when ydt is int32, otherwise scratch the caller frees
 * with rt_scratch_free when acc->owned. */
typedef struct {
    int64_t N, M, P;  /* batch, output channels, output positions per channel */
    int32_t *data;    /* [N, M, P] */
    int owned;        /* 1: scratch from c->alloc; 0: y's data */
} RtQConvAcc;

int rt_qconv_acc(RtKernelCtx *c, const RtNode *n, const RtTensor *x, const RtTensor *x_zp,
                 const RtTensor *w, const RtTensor *w_zp, const RtTensor *b, RtTensor *y, RtDtype ydt,
                 RtQConvAcc *acc);

#endif
