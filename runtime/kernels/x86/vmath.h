/*
 * vmath.h — float32 exp, erf, tanh, sigmoid and Gelu, 16 lanes at a time with AVX-512F,
 * accurate to a few ulp over the whole float range (±0, denormals, large |x|, ±inf, NaN).
 *
 * Two layers:
 *   rt_vm512_exp / _erf / _tanh / _sigmoid / _gelu / _gelu_tanh(__m512)   inline, for
 *       AVX-512 code (compiled through target attributes; callers need the same target and a
 *       run-time check rt_vm_avx512());
 *   rt_vm_exp_f32(x, y, n) and friends (vmath_avx512.c)   arrays of n floats, AVX-512 when
 *       the CPU has it (the tail through masked loads, so every element goes through the same
 *       vector code and a result never depends on where the element sits), else libm loops
 *       with the formulas of the reference kernels (runtime/kernels/ref/unary.c).
 *
 * Method (published approaches: Cody & Waite's argument reduction, minimax polynomials as in
 * Cephes and SLEEF; the code and coefficients here are our own). Every polynomial but
 * Gelu's table (see there) was fitted by a weighted Remez exchange in 40-digit arithmetic
 * (mpmath) over its interval, with the weight turning the error into the function's relative
 * error, and rounded to float; the figures are the fit's weighted error before that
 * rounding. tests/runtime/test_math_x86.c
 * measures the final error against double libm over sweeps of the whole range.
 *   exp(x)     x clamped to [-104, 88.8] (outside, the result rounds to 0 or overflows to
 *              inf all the same); n = round(x / ln2), r = x - n*ln2 in two FMA steps with
 *              ln2 split in a 24-bit head (r - n*ln2_hi is exact) and a tail, so
 *              |r| <= ln2/2; e^r = 1 + r + r^2 * Q(r), Q of degree 4 (3e-9); the result is
 *              scalef(e^r, n) = e^r * 2^n, which rounds once into the denormals and gives
 *              inf on overflow. Results below FLT_MIN that round to 0 are zeroed by a write
 *              mask instead (an underflowing instruction costs a microcode assist).
 *              Measured: 0.98 ulp.
 *   erf(x)     odd: computed on a = |x|, the sign put back. a < 0.921875: a * P(a^2), P of
 *              degree 6 (4e-10 relative), evaluated as a + a * (P - 1). Above: 1 - erfc(a),
 *              erfc(a) = e^(M(a) - a^2) with M ~ log(erfc(a)) + a^2 (smooth, in [-2, -0.8]) of
 *              degree 8 in a - 2.5 on [0.921875, 4] (1.2e-8 absolute, so erfc is that
 *              accurate relatively, which Gelu needs for x < 0); a^2 is split exactly into
 *              float head and tail (FMA) and exp's reduction runs on the head. a is clamped to
 *              4, where 1 - erfc(4) = 1 - 1.5e-8 rounds to 1 as erf does from 3.92 on.
 *              Measured: 1.01 ulp.
 *   tanh(x)    odd. a < 0.5625: a + a^3 * P(a^2), P of degree 4 (1.3e-9 relative). Above:
 *              1 - 2 / (exp(2a) + 1), no cancellation since tanh(a) >= 0.5 there; exp
 *              overflowing to inf gives 1. Measured: 1.37 ulp.
 *   sigmoid(x) e = exp(-|x|) in (0, 1], so nothing overflows: 1 / (1 + e) for x >= 0,
 *              e / (1 + e) below (one division either way). Measured: 2.19 ulp.
 *   Gelu       exact: 0.5 x (1 + erf(x / sqrt 2)) = x Phi(x), Phi(x) = q or 1 - q with
 *              q = Phi(-|x|) (no 1 + erf cancellation for x < 0), q read from a table of
 *              polynomials (rt_vm_gelu_tab, scripts/fit_gelu_table.py): u = |x| cut into 32
 *              intervals, per interval a degree-6 polynomial fitted for q's relative error
 *              (5.3e-8 with its float coefficients), its coefficients picked per lane by
 *              two-register permutes; no exp. 0 from x < -4 sqrt 2 on (the true value is
 *              below 4.4e-8 there; the reference's erf is -1 too). Measured: 2.09 ulp (was
 *              3.79 with e^(V(u) - u^2/2) through a polynomial V and exp, 1.8x slower).
 *              tanh approximation: 1 + tanh(u) = 2 sigmoid(2u), so gelu = x * sigmoid(2u),
 *              2u = x (2 sqrt(2/pi) + 2 sqrt(2/pi) 0.044715 x^2);
 *              for x < 0 the error grows with |2u| (the float rounding of 2u, inherent to
 *              the formula's conditioning): 2.45 ulp * (1 + |2u|).
 * NaN in gives NaN out everywhere: the clamps use min/max with the data as the second
 * operand, which is what they return when it is NaN.
 */
#ifndef WAFER_RT_X86_VMATH_H
#define WAFER_RT_X86_VMATH_H

#include <stdint.h>

/* 1 when the CPU runs the AVX-512 paths (AVX-512F; this file needs nothing more). */
int rt_vm_avx512(void);

/* y[i] = f(x[i]) for i < n; x and y may be the same array (or not overlap at all). */
void rt_vm_exp_f32(const float *x, float *y, int64_t n);
void rt_vm_erf_f32(const float *x, float *y, int64_t n);
void rt_vm_tanh_f32(const float *x, float *y, int64_t n);
void rt_vm_sigmoid_f32(const float *x, float *y, int64_t n);
/* ONNX Gelu: approximate "none" (tanh_approx 0) or "tanh" (1). */
void rt_vm_gelu_f32(const float *x, float *y, int64_t n, int tanh_approx);

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define RT_VM_T512 __attribute__((target("avx512f,avx2,fma")))
#define RT_VM_INL static inline __attribute__((always_inline))

/* Horner steps: p = p * t + c. */
#define RT_VM_STEP(p, t, c) _mm512_fmadd_ps(p, t, _mm512_set1_ps(c))

/* e^r * 2^n for |r| <~ ln2/2: 1 + r + r^2 Q(r), scaled. */
RT_VM_T512 RT_VM_INL __m512 rt_vm512_exp_reduced(__m512 r, __m512 n) {
    __m512 q = _mm512_set1_ps(0x1.6a242ep-10f);
    q = RT_VM_STEP(q, r, 0x1.1239e2p-7f);
    q = RT_VM_STEP(q, r, 0x1.5558f2p-5f);
    q = RT_VM_STEP(q, r, 0x1.555492p-3f);
    q = RT_VM_STEP(q, r, 0x1.fffffcp-2f);
    __m512 p = _mm512_fmadd_ps(_mm512_mul_ps(r, r), q, r);
    return _mm512_scalef_ps(_mm512_add_ps(p, _mm512_set1_ps(1.0f)), n);
}

#define RT_VM_LOG2E 0x1.715476p+0f
#define RT_VM_LN2_HI 0x1.62e43p-1f   /* ln 2 in 24 bits: n * RT_VM_LN2_HI is exact in an FMA */
#define RT_VM_LN2_LO -0x1.05c61p-29f /* ln 2 - RT_VM_LN2_HI */

/* Underflow costs a microcode assist of ~100 cycles per instruction on Intel cores (no FTZ in
 * library code), which made masked attention scores (-inf, -1e9) 20x slower than the rest.
 * So lanes whose result is below FLT_MIN (n < -125) are zeroed by the write mask instead of
 * computed, and only lanes with a true denormal result (-104 < x < -87.3, rare in models)
 * are computed again, under a mask, where the assist is paid. A vector with every lane 0
 * (x <= -104: the masked part of a causal attention row) skips the polynomial altogether
 * (tinylm's Softmax [4,128,128] 23.4 -> 21.6 us). */
RT_VM_T512 RT_VM_INL __m512 rt_vm512_exp(__m512 x) {
    const __m512 lo = _mm512_set1_ps(-104.0f);
    __m512 c = _mm512_min_ps(_mm512_set1_ps(88.8f), _mm512_max_ps(lo, x));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(c, _mm512_set1_ps(RT_VM_LOG2E)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(RT_VM_LN2_HI), c);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(RT_VM_LN2_LO), r);
    __mmask16 tiny = _mm512_cmp_ps_mask(n, _mm512_set1_ps(-125.0f), _CMP_LT_OQ);
    if (!tiny) return rt_vm512_exp_reduced(r, n);
    __mmask16 denormal = tiny & _mm512_cmp_ps_mask(c, lo, _CMP_GT_OQ);
    if (tiny == 0xffff && !denormal) return _mm512_setzero_ps(); /* all 0: a masked-off row's tail */
    __m512 q = _mm512_set1_ps(0x1.6a242ep-10f); /* rt_vm512_exp_reduced with a write mask */
    q = RT_VM_STEP(q, r, 0x1.1239e2p-7f);
    q = RT_VM_STEP(q, r, 0x1.5558f2p-5f);
    q = RT_VM_STEP(q, r, 0x1.555492p-3f);
    q = RT_VM_STEP(q, r, 0x1.fffffcp-2f);
    __m512 p = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(r, r), q, r), _mm512_set1_ps(1.0f));
    __m512 y = _mm512_maskz_scalef_ps((__mmask16)~tiny, p, n);
    return denormal ? _mm512_mask_scalef_ps(y, denormal, p, n) : y;
}

/* erf(a) for 0 <= a < 0.921875: a + a * (P(a^2) - 1), P - 1 in [-0.15, 0.13] (its rounding
 * errors are small next to a). */
RT_VM_T512 RT_VM_INL __m512 rt_vm512_erf_small(__m512 a) {
    __m512 t = _mm512_mul_ps(a, a), p = _mm512_set1_ps(0x1.5f1144p-14f);
    p = RT_VM_STEP(p, t, -0x1.aae986p-11f);
    p = RT_VM_STEP(p, t, 0x1.54dad8p-8f);
    p = RT_VM_STEP(p, t, -0x1.b8107cp-6f);
    p = RT_VM_STEP(p, t, 0x1.ce2e2p-4f);
    p = RT_VM_STEP(p, t, -0x1.812744p-2f);
    p = RT_VM_STEP(p, t, 0x1.06eba8p-3f); /* 2/sqrt(pi) - 1 */
    return _mm512_fmadd_ps(a, p, a);
}

/* erfc(a) for 0.921875 <= a <= 4, given a^2 = h + l (head and tail): e^(M(a) - h - l), M ~
 * log(erfc(a)) + a^2 a polynomial in s = a - 2.5 (exact for a >= 1.25). exp's reduction runs
 * on -h with M and l added once r is small, so the large part of the exponent (up to -16)
 * adds no rounding of its own. */
RT_VM_T512 RT_VM_INL __m512 rt_vm512_erfc_big_hl(__m512 a, __m512 h, __m512 l) {
    a = _mm512_min_ps(_mm512_set1_ps(4.0f), a);
    __m512 s = _mm512_sub_ps(a, _mm512_set1_ps(2.5f)), p = _mm512_set1_ps(0x1.ae2a0ep-20f);
    p = RT_VM_STEP(p, s, -0x1.be6f28p-17f);
    p = RT_VM_STEP(p, s, 0x1.44d4d2p-14f);
    p = RT_VM_STEP(p, s, -0x1.b892cap-12f);
    p = RT_VM_STEP(p, s, 0x1.1bc862p-9f);
    p = RT_VM_STEP(p, s, -0x1.63cfaap-7f);
    p = RT_VM_STEP(p, s, 0x1.cb9fap-5f);
    p = RT_VM_STEP(p, s, -0x1.69252p-2f);
    p = RT_VM_STEP(p, s, -0x1.8e8b72p+0f);
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(_mm512_sub_ps(p, h), _mm512_set1_ps(RT_VM_LOG2E)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_add_ps(_mm512_fnmsub_ps(n, _mm512_set1_ps(RT_VM_LN2_HI), h), p); /* -h - n ln2_hi + M */
    r = _mm512_sub_ps(_mm512_fnmadd_ps(n, _mm512_set1_ps(RT_VM_LN2_LO), r), l);
    return rt_vm512_exp_reduced(r, n);
}

RT_VM_T512 RT_VM_INL __m512 rt_vm512_erfc_big(__m512 a) {
    a = _mm512_min_ps(_mm512_set1_ps(4.0f), a);
    __m512 h = _mm512_mul_ps(a, a);
    return rt_vm512_erfc_big_hl(a, h, _mm512_fmsub_ps(a, a, h));
}

#define RT_VM_ERF_SPLIT 0.921875f

/* x with the sign bit of s. */
RT_VM_T512 RT_VM_INL __m512 rt_vm512_copysign(__m512 x, __m512 s) {
    const __m512i sign = _mm512_set1_epi32((int)0x80000000u);
    return _mm512_castsi512_ps(_mm512_ternarylogic_epi32(_mm512_castps_si512(x), _mm512_castps_si512(s),
                                                         sign, 0xd8)); /* sign ? s : x, bitwise */
}

RT_VM_T512 RT_VM_INL __m512 rt_vm512_erf(__m512 x) {
    __m512 a = _mm512_abs_ps(x), y;
    __mmask16 big = _mm512_cmp_ps_mask(a, _mm512_set1_ps(RT_VM_ERF_SPLIT), _CMP_NLT_UQ); /* or NaN */
    if (big == 0) {
        y = rt_vm512_erf_small(a);
    } else {
        y = _mm512_sub_ps(_mm512_set1_ps(1.0f), rt_vm512_erfc_big(a));
        if (big != 0xffff) y = _mm512_mask_blend_ps(big, rt_vm512_erf_small(a), y);
    }
    return rt_vm512_copysign(y, x);
}

RT_VM_T512 RT_VM_INL __m512 rt_vm512_tanh(__m512 x) {
    __m512 a = _mm512_abs_ps(x), y = _mm512_setzero_ps();
    __mmask16 big = _mm512_cmp_ps_mask(a, _mm512_set1_ps(0.5625f), _CMP_NLT_UQ); /* or NaN */
    if (big != 0xffff) {
        __m512 t = _mm512_mul_ps(a, a), p = _mm512_set1_ps(-0x1.950016p-8f);
        p = RT_VM_STEP(p, t, 0x1.582fbp-6f);
        p = RT_VM_STEP(p, t, -0x1.b90946p-5f);
        p = RT_VM_STEP(p, t, 0x1.110c72p-3f);
        p = RT_VM_STEP(p, t, -0x1.555548p-2f);
        y = _mm512_fmadd_ps(_mm512_mul_ps(a, t), p, a);
    }
    if (big) {
        __m512 e = rt_vm512_exp(_mm512_add_ps(a, a));
        __m512 q = _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(e, _mm512_set1_ps(1.0f)));
        y = _mm512_mask_sub_ps(y, big, _mm512_set1_ps(1.0f), q);
    }
    return rt_vm512_copysign(y, x);
}

RT_VM_T512 RT_VM_INL __m512 rt_vm512_sigmoid(__m512 x) {
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 e = rt_vm512_exp(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_abs_ps(x)));
    __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
    return _mm512_div_ps(_mm512_mask_blend_ps(neg, one, e), _mm512_add_ps(one, e));
}

/* Gelu's q = Phi(-u) = erfc(u / sqrt 2) / 2 for u = |x| in [0, 4 sqrt 2] as 32 polynomials:
 * s = u * RT_VM_GELU_S in [0, 31.4], interval i = round(s), q = sum_j tab[j][i] t^j with
 * t = s - i in [-0.5, 0.5]. Each polynomial was fitted for relative error and its coefficients
 * rounded to float one at a time, the later ones refitted to make up for the rounding
 * (scripts/fit_gelu_table.py prints the table; vmath_avx512.c holds it). */
#define RT_VM_GELU_UMAX 0x1.6a09e6p+2f /* 4 sqrt 2: Phi(-u) < 7.7e-9 beyond */
#define RT_VM_GELU_S 0x1.63401ep+2f    /* 31.4 / (4 sqrt 2), rounded: s stays below 31.5 */
#define RT_VM_GELU_DEG 6
extern const float rt_vm_gelu_tab[RT_VM_GELU_DEG + 1][32]; /* [coefficient j][interval i] */

/* 0.5 x (1 + erf(x / sqrt 2)) = x Phi(x): Phi(x) = q for x <= 0 and 1 - q for x > 0, q from
 * the table (relative accuracy where Phi is tiny, no cancellation). s + 1.5 * 2^23 rounds s
 * to the integer i in its low mantissa bits, which index the permutes (5 bits: 32 entries in
 * two registers); t = u * S - i in one FMA (exact product). u is clamped to 4 sqrt 2: there
 * 1 - q rounds to 1 for x > 0, and x < -4 sqrt 2 gives 0 (the true value is below 4.4e-8
 * there; the reference's erf is -1). NaN stays NaN through u and t. */
RT_VM_T512 RT_VM_INL __m512 rt_vm512_gelu(__m512 x) {
    const __m512 magic = _mm512_set1_ps(0x1.8p23f), S = _mm512_set1_ps(RT_VM_GELU_S);
    __m512 u = _mm512_min_ps(_mm512_set1_ps(RT_VM_GELU_UMAX), _mm512_abs_ps(x)); /* NaN stays */
    __m512 k = _mm512_fmadd_ps(u, S, magic);
    __m512 t = _mm512_fmsub_ps(u, S, _mm512_sub_ps(k, magic));
    const __m512i i = _mm512_castps_si512(k);
#define RT_VM_GELU_C(j) \
    _mm512_permutex2var_ps(_mm512_loadu_ps(rt_vm_gelu_tab[j]), i, _mm512_loadu_ps(rt_vm_gelu_tab[j] + 16))
    __m512 q = RT_VM_GELU_C(6);
    q = _mm512_fmadd_ps(q, t, RT_VM_GELU_C(5));
    q = _mm512_fmadd_ps(q, t, RT_VM_GELU_C(4));
    q = _mm512_fmadd_ps(q, t, RT_VM_GELU_C(3));
    q = _mm512_fmadd_ps(q, t, RT_VM_GELU_C(2));
    q = _mm512_fmadd_ps(q, t, RT_VM_GELU_C(1));
    q = _mm512_fmadd_ps(q, t, RT_VM_GELU_C(0));
#undef RT_VM_GELU_C
    __mmask16 pos = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ);
    __m512 phi = _mm512_mask_sub_ps(q, pos, _mm512_set1_ps(1.0f), q);
    /* x < -4 sqrt 2: 0 (x = -inf: -inf * 0 = NaN, as the reference's -inf * (1 + erf)) */
    phi = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(-RT_VM_GELU_UMAX), _CMP_NLT_UQ), phi);
    return _mm512_mul_ps(x, phi);
}

/* x * sigmoid(x (2 sqrt(2/pi) + 2 sqrt(2/pi) 0.044715 x^2)): Gelu's tanh approximation. */
RT_VM_T512 RT_VM_INL __m512 rt_vm512_gelu_tanh(__m512 x) {
    __m512 k = _mm512_fmadd_ps(_mm512_mul_ps(x, x), _mm512_set1_ps(0x1.2444f2p-4f), _mm512_set1_ps(0x1.988454p+0f));
    return _mm512_mul_ps(x, rt_vm512_sigmoid(_mm512_mul_ps(x, k)));
}

#endif /* x86-64 GCC-style */
#endif
