/*
 * qvec_x86.h — quant.h's fixed-point requantization on AVX-512 and AVX2 vectors of int32,
 * bit for bit (private to the int8 kernels of runtime/kernels/x86/).
 *
 * For multipliers below 1 (shift <= 0, what every calibrated layer has; callers take the
 * scalar rt_requant_out for the others):
 *   SRDHM(a, b) = floor((a * b + 2^30) / 2^31)
 *     which is quant.h's nudge-then-truncate for both signs: for a*b < 0 the truncated
 *     quotient of a*b + 1 - 2^30 is its ceiling, floor((a*b + 1 - 2^30 + 2^31 - 1) / 2^31).
 *     The multiplier is in (0, 2^31), so the one saturating case (both INT32_MIN) never
 *     occurs. The 64-bit products come from vpmuldq on the even and the odd lanes; the
 *     quotient's bits 31..62 are moved into place by one 64-bit shift per half.
 *   RDBPOT(x, e) = (x >> e) + ((x & (2^e - 1)) > ((2^e - 1) >> 1) + (x < 0))   (quant.h's)
 *   y = clamp(v, lo - zp, hi - zp) + zp   = clamp(v + zp, lo, hi) without int32 overflow.
 */
#ifndef WAFER_RT_QVEC_X86_H
#define WAFER_RT_QVEC_X86_H

#include "../quant.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define QX_T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,bmi,bmi2")))
#define QX_T256 __attribute__((target("avx2,fma,bmi,bmi2")))
#define QX_INL static inline __attribute__((always_inline))

/* One requantization (multiplier, zero point, clamp) as AVX-512 operands. */
typedef struct {
    __m512i mult, e, mask, hmask, lo, hi, zp;
} QxRq512;

typedef struct {
    __m256i mult, e, mask, hmask, lo, hi, zp;
} QxRq256;

/* The per-row part of a requantization with shift <= 0, as scalars that the kernels
 * broadcast straight from memory (GEMM epilogues keep one per output row). */
typedef struct {
    int32_t mult, e, mask, hmask;  /* multiplier; shift e = -r.shift; 2^e - 1; (2^e - 1) >> 1 */
    int64_t c1;                    /* e >= 1: 2^30 + 2^(30 + e), see qx_apply512_e1 */
    int64_t sh_ev, sh_od;          /* e >= 1: 31 + e and e - 1 */
} QxRowRq;

/* Meaningful for r.shift <= 0 only; a larger shift gives the parameters of shift 0. */
static inline QxRowRq qx_row_rq(RtRequant r) {
    QxRowRq p;
    p.mult = r.mult;
    p.e = r.shift < 0 ? -r.shift : 0;
    uint32_t m = (uint32_t)((1ull << p.e) - 1u);
    p.mask = (int32_t)m;
    p.hmask = (int32_t)(m >> 1);
    p.c1 = ((int64_t)1 << 30) + ((int64_t)1 << (30 + p.e));
    p.sh_ev = 31 + p.e;
    p.sh_od = p.e - 1;
    return p;
}

QX_T512 QX_INL QxRq512 qx_rq512(RtRequant r, int32_t zp, int32_t lo, int32_t hi) {
    QxRowRq p = qx_row_rq(r);
    QxRq512 q = {_mm512_set1_epi32(p.mult), _mm512_set1_epi32(p.e), _mm512_set1_epi32(p.mask),
                 _mm512_set1_epi32(p.hmask), _mm512_set1_epi32(lo - zp), _mm512_set1_epi32(hi - zp),
                 _mm512_set1_epi32(zp)};
    return q;
}

/* SRDHM of every lane of x with mult (the same value in every lane: vpmuldq reads the low
 * half of each 64-bit lane, so the odd lanes need only x shifted). */
QX_T512 QX_INL __m512i qx_srdhm512(__m512i x, __m512i mult) {
    const __m512i half = _mm512_set1_epi64((int64_t)1 << 30);
    __m512i ev = _mm512_mul_epi32(x, mult);
    __m512i od = _mm512_mul_epi32(_mm512_srli_epi64(x, 32), mult);
    ev = _mm512_srli_epi64(_mm512_add_epi64(ev, half), 31); /* bits 31..62 -> low dword */
    od = _mm512_slli_epi64(_mm512_add_epi64(od, half), 1);  /* bits 31..62 -> high dword */
    return _mm512_mask_blend_epi32(0xAAAA, ev, od);
}

/* RDBPOT, then clamp(v, lo - zp, hi - zp) + zp (lo_z = lo - zp, hi_z = hi - zp). */
QX_T512 QX_INL __m512i qx_round_clamp512(__m512i x, __m512i e, __m512i mask, __m512i hmask, __m512i lo_z,
                                         __m512i hi_z, __m512i zp) {
    __m512i rem = _mm512_and_si512(x, mask);
    __m512i thr = _mm512_add_epi32(hmask, _mm512_srli_epi32(x, 31));
    __m512i v = _mm512_srav_epi32(x, e);
    v = _mm512_mask_sub_epi32(v, _mm512_cmpgt_epi32_mask(rem, thr), v, _mm512_set1_epi32(-1));
    v = _mm512_min_epi32(_mm512_max_epi32(v, lo_z), hi_z);
    return _mm512_add_epi32(v, zp);
}

QX_T512 QX_INL __m512i qx_requant512(__m512i acc, const QxRq512 *q) {
    return qx_round_clamp512(qx_srdhm512(acc, q->mult), q->e, q->mask, q->hmask, q->lo, q->hi, q->zp);
}

/* The same with the row's scalars p (broadcast from memory) and the clamp vectors. */
QX_T512 QX_INL __m512i qx_requant512_row(__m512i acc, const QxRowRq *p, __m512i lo_z, __m512i hi_z, __m512i zp) {
    __m512i x = qx_srdhm512(acc, _mm512_set1_epi32(p->mult));
    return qx_round_clamp512(x, _mm512_set1_epi32(p->e), _mm512_set1_epi32(p->mask), _mm512_set1_epi32(p->hmask),
                             lo_z, hi_z, zp);
}

/* RDBPOT(SRDHM(acc, mult), e) for e >= 1 with one rounding per 64-bit product. With
 * Y = acc * mult + 2^30, SRDHM = floor(Y / 2^31) and RDBPOT(s, e) = floor((s + 2^(e-1) -
 * [s < 0]) / 2^e) (quant.h's threshold form, ties away from zero), and s < 0 exactly when
 * Y < 0; nested floors of integers merge:
 *   result = floor((acc * mult + 2^30 + 2^(30+e) - 2^31 [acc * mult < -2^30]) / 2^(31+e))
 * The sum stays below 2^63. The even lanes' quotient is the low dword of the shift by 31 + e;
 * the odd lanes' shift by e - 1 leaves it in the high dword. The result is below 2^30 in
 * magnitude (e >= 1), so adding a zero point cannot overflow. mult_odd: the odd dwords'
 * multipliers moved to the low halves (mult itself when it is the same in every lane); c1 and
 * the shifts per 64-bit lane, for the even and the odd dwords. */
QX_T512 QX_INL __m512i qx_apply512_e1(__m512i acc, __m512i mult, __m512i mult_odd, __m512i c1_ev, __m512i c1_od,
                                      __m512i sh_ev, __m512i sh_od) {
    const __m512i lim = _mm512_set1_epi64(-((int64_t)1 << 30)), two31 = _mm512_set1_epi64((int64_t)1 << 31);
    __m512i ev = _mm512_mul_epi32(acc, mult);
    __m512i od = _mm512_mul_epi32(_mm512_srli_epi64(acc, 32), mult_odd);
    __mmask8 ke = _mm512_cmplt_epi64_mask(ev, lim), ko = _mm512_cmplt_epi64_mask(od, lim);
    ev = _mm512_add_epi64(ev, c1_ev);
    od = _mm512_add_epi64(od, c1_od);
    ev = _mm512_mask_sub_epi64(ev, ke, ev, two31);
    od = _mm512_mask_sub_epi64(od, ko, od, two31);
    ev = _mm512_srav_epi64(ev, sh_ev);
    od = _mm512_srav_epi64(od, sh_od);
    return _mm512_mask_blend_epi32(0xAAAA, ev, od);
}

/* How requantized int32 values become output bytes: + zp, then a saturating narrowing when
 * the clamp range is the whole int8 (QX_OUT_S8) or uint8 (QX_OUT_U8) range, else an explicit
 * clamp (QX_OUT_CLAMP). */
enum { QX_OUT_S8 = 0, QX_OUT_U8 = 1, QX_OUT_CLAMP = 2 };

static inline int qx_out_mode(int y_u8, int32_t lo, int32_t hi) {
    if (y_u8) return lo == 0 && hi == 255 ? QX_OUT_U8 : QX_OUT_CLAMP;
    return lo == -128 && hi == 127 ? QX_OUT_S8 : QX_OUT_CLAMP;
}

/* v = the requantized value before the zero point; lo_z / hi_z = lo - zp / hi - zp. */
QX_T512 QX_INL __m128i qx_out8_512(__m512i v, int mode, __m512i zp, __m512i lo_z, __m512i hi_z) {
    if (mode == QX_OUT_S8) return _mm512_cvtsepi32_epi8(_mm512_add_epi32(v, zp));
    if (mode == QX_OUT_U8) return _mm512_cvtusepi32_epi8(_mm512_max_epi32(_mm512_add_epi32(v, zp), _mm512_setzero_si512()));
    return _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(v, lo_z), hi_z), zp));
}

QX_T256 QX_INL QxRq256 qx_rq256(RtRequant r, int32_t zp, int32_t lo, int32_t hi) {
    QxRowRq p = qx_row_rq(r);
    QxRq256 q = {_mm256_set1_epi32(p.mult), _mm256_set1_epi32(p.e), _mm256_set1_epi32(p.mask),
                 _mm256_set1_epi32(p.hmask), _mm256_set1_epi32(lo - zp), _mm256_set1_epi32(hi - zp),
                 _mm256_set1_epi32(zp)};
    return q;
}

QX_T256 QX_INL __m256i qx_requant256(__m256i acc, const QxRq256 *q) {
    const __m256i half = _mm256_set1_epi64x((int64_t)1 << 30);
    __m256i ev = _mm256_mul_epi32(acc, q->mult);
    __m256i od = _mm256_mul_epi32(_mm256_srli_epi64(acc, 32), q->mult); /* mult: the same in every lane */
    ev = _mm256_srli_epi64(_mm256_add_epi64(ev, half), 31);
    od = _mm256_slli_epi64(_mm256_add_epi64(od, half), 1);
    __m256i x = _mm256_blend_epi32(ev, od, 0xAA);
    __m256i rem = _mm256_and_si256(x, q->mask);
    __m256i thr = _mm256_add_epi32(q->hmask, _mm256_srli_epi32(x, 31));
    __m256i v = _mm256_srav_epi32(x, q->e);
    v = _mm256_sub_epi32(v, _mm256_cmpgt_epi32(rem, thr)); /* -(-1): one up */
    v = _mm256_min_epi32(_mm256_max_epi32(v, q->lo), q->hi);
    return _mm256_add_epi32(v, q->zp);
}

/* 8 int32 already inside [-128, 255] of the output dtype -> 8 bytes at dst (n <= 8 of them). */
QX_T256 QX_INL void qx_store8_256(__m256i v, int y_u8, void *dst, int n) {
    __m256i w = _mm256_packs_epi32(v, v); /* [v0..3 v0..3 | v4..7 v4..7] as int16 */
    __m256i b = y_u8 ? _mm256_packus_epi16(w, w) : _mm256_packs_epi16(w, w);
    __m128i lo = _mm256_castsi256_si128(b), hi = _mm256_extracti128_si256(b, 1);
    __m128i r = _mm_unpacklo_epi32(lo, hi); /* bytes 0..7 = v0..v7 */
    if (n >= 8) {
        _mm_storel_epi64((__m128i *)dst, r);
    } else {
        uint8_t tmp[16];
        _mm_storeu_si128((__m128i *)tmp, r);
        for (int i = 0; i < n; i++) ((uint8_t *)dst)[i] = tmp[i];
    }
}

#endif
#endif
