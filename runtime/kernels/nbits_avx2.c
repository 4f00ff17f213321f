/*
 * nbits_avx2.c — LinearNBits' gemv and tile dequantization with AVX2 + FMA, for x86-64 CPUs
 * without AVX-512 (chosen at run time by rt_nbits_impl_select, nbits.h).
 *
 * A block of 32 codes becomes four vectors of 8 integer codes: one broadcast load puts the
 * block's words in every lane (lane l holds word l % bits, qblock.h's layout), a per-lane
 * shift (vpsrlvd) and a mask give code 8i + l; the 3-bit high bits come from testing one
 * bit of the high word per lane; 8-bit codes are zero-extended bytes. AVX2's vpermps reads
 * only 3 index bits, too few for a 16-entry table, so the codes are converted instead:
 * d = float(q) - zero, exact for these small integers.
 *
 * gemv (groups of whole blocks) sums x * d over each group and multiplies the group's sum by
 * its scale once, which saves a multiply per weight: scale * sum(x * d) is the same sum as
 * the reference's sum(x * (d * scale)) up to rounding (one more rounded product per group).
 * The general path (act-order g_idx, odd G) and the tile dequantization form each weight
 * as the reference does, d * scale[g(k)], with the lane's scale and zero point gathered by
 * its column's group. Compiled for AVX2 through target attributes only.
 */
#include "nbits.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <string.h>

#define T256 __attribute__((target("avx2,fma,bmi,bmi2")))
#define INL static inline __attribute__((always_inline))

/* Per-lane shifts for codes 8i..8i+7 (code j in word j % bits at bit bits * (j / bits)). */
T256 INL __m256i shifts(int bits, int i) {
    const __m256i base = bits == 4 ? _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4) : _mm256_setr_epi32(0, 0, 2, 2, 4, 4, 6, 6);
    return _mm256_add_epi32(base, _mm256_set1_epi32(8 * i));
}

typedef struct {
    __m256i sh[4];   /* shifts for the four 8-code vectors */
    __m256i bit[4];  /* 3-bit: lane's bit of the high word, 1 << (8i + l) */
} Decoder;

T256 INL void decoder_make(Decoder *d, int bits) {
    for (int i = 0; i < 4; i++) {
        d->sh[i] = shifts(bits, i);
        d->bit[i] = _mm256_sllv_epi32(_mm256_set1_epi32(1), _mm256_setr_epi32(8 * i, 8 * i + 1, 8 * i + 2, 8 * i + 3,
                                                                              8 * i + 4, 8 * i + 5, 8 * i + 6, 8 * i + 7));
    }
}

/* The block's 32 codes as integers, c[i] = codes 8i..8i+7. */
T256 INL void block_codes(int bits, const Decoder *d, const uint8_t *p, __m256i c[4]) {
    if (bits == 8) {
        for (int i = 0; i < 4; i++) c[i] = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p + 8 * i)));
        return;
    }
    __m256i v;
    if (bits == 4) {
        v = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)p));
    } else {
        uint64_t u;
        memcpy(&u, p, 8);
        v = _mm256_set1_epi64x((long long)u);
    }
    const __m256i m = _mm256_set1_epi32(bits == 4 ? 15 : 3);
    for (int i = 0; i < 4; i++) c[i] = _mm256_and_si256(_mm256_srlv_epi32(v, d->sh[i]), m);
    if (bits == 3) {
        uint32_t h;
        memcpy(&h, p + 8, 4);
        const __m256i hb = _mm256_set1_epi32((int)h), four = _mm256_set1_epi32(4);
        for (int i = 0; i < 4; i++) {
            __m256i set = _mm256_cmpeq_epi32(_mm256_and_si256(hb, d->bit[i]), d->bit[i]);
            c[i] = _mm256_or_si256(c[i], _mm256_and_si256(set, four));
        }
    }
}

T256 INL float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Weights (float(q) - zero[g]) * scale[g] of 8 lanes with codes c and groups gidx;
 * zf: the row's zero points as floats. */
T256 INL __m256 general_weights(const float *s, const float *zf, __m256i c, __m256i gidx) {
    __m256 sv = _mm256_i32gather_ps(s, gidx, 4), zv = _mm256_i32gather_ps(zf, gidx, 4);
    return _mm256_mul_ps(_mm256_sub_ps(_mm256_cvtepi32_ps(c), zv), sv);
}

#define ACC_ROWS RT_NBITS_DIRECT_ROWS

/* Software prefetch of the packed rows, one per 64-byte line, this many bytes ahead (see
 * nbits_avx512.c: the core's own prefetchers leave a cold GEMV latency-bound). */
#define NBITS_PREFETCH_BYTES 2048

T256 INL void prefetch_upto(const char **pf, const uint8_t *upto) {
    const char *end = (const char *)upto + NBITS_PREFETCH_BYTES;
    for (; *pf < end; *pf += 64) _mm_prefetch(*pf, _MM_HINT_T0);
}

T256 INL const char *prefetch_start(const uint8_t *p) {
    return (const char *)(((uintptr_t)p + NBITS_PREFETCH_BYTES) & ~(uintptr_t)63);
}

/* ---- gemv, fast path: groups of whole blocks, the scale applied once per group ---- */

T256 INL void gemv_fast(const RtNbitsWeight *w, const int bits, const int R, const float *x, int64_t ldx, float *y,
                        int64_t ldy, int64_t n0, int64_t n1) {
    const int64_t nb = w->nb, bpg = w->G / RT_QBLOCK_K, NG = w->NG;
    const size_t bb = RT_QBLOCK_BYTES(bits);
    Decoder d;
    decoder_make(&d, bits);
    const char *pf = prefetch_start(w->packed + (size_t)n0 * w->row_bytes);
    for (int64_t n = n0; n < n1; n++) {
        const uint8_t *row = w->packed + (size_t)n * w->row_bytes;
        __m256 acc[ACC_ROWS][2];
        for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
        int64_t b = 0;
        for (int64_t g = 0; g < NG; g++) {
            const __m256 zf = _mm256_set1_ps((float)w->zeros[n * NG + g]);
            const __m256 sv = _mm256_set1_ps(w->scales[n * NG + g]);
            const int64_t be = b + bpg < nb ? b + bpg : nb;
            __m256 gacc[ACC_ROWS][2];
            for (int r = 0; r < R; r++) gacc[r][0] = gacc[r][1] = _mm256_setzero_ps();
            prefetch_upto(&pf, row + (size_t)be * bb);
            for (; b < be; b++) {
                __m256i c[4];
                block_codes(bits, &d, row + (size_t)b * bb, c);
                for (int i = 0; i < 4; i++) {
                    __m256 dq = _mm256_sub_ps(_mm256_cvtepi32_ps(c[i]), zf); /* q - zero, exact */
                    for (int r = 0; r < R; r++)
                        gacc[r][i & 1] = _mm256_fmadd_ps(_mm256_loadu_ps(x + r * ldx + b * RT_QBLOCK_K + 8 * i), dq,
                                                         gacc[r][i & 1]);
                }
            }
            for (int r = 0; r < R; r++) {
                acc[r][0] = _mm256_fmadd_ps(sv, gacc[r][0], acc[r][0]);
                acc[r][1] = _mm256_fmadd_ps(sv, gacc[r][1], acc[r][1]);
            }
        }
        for (int r = 0; r < R; r++) y[r * ldy + n] = hsum(_mm256_add_ps(acc[r][0], acc[r][1]));
    }
}

/* ---- gemv, general path (per-column groups in w->gi) ---- */

T256 INL void gemv_general(const RtNbitsWeight *w, const int bits, const int R, const float *x, int64_t ldx,
                           float *y, int64_t ldy, int64_t n0, int64_t n1, float *zbuf) {
    const int64_t nb = w->nb, NG = w->NG;
    const size_t bb = RT_QBLOCK_BYTES(bits);
    Decoder d;
    decoder_make(&d, bits);
    const char *pf = prefetch_start(w->packed + (size_t)n0 * w->row_bytes);
    for (int64_t n = n0; n < n1; n++) {
        const uint8_t *row = w->packed + (size_t)n * w->row_bytes;
        const float *sr = w->scales + n * NG;
        for (int64_t g = 0; g < NG; g++) zbuf[g] = (float)w->zeros[n * NG + g];
        __m256 acc[ACC_ROWS][2];
        for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            __m256i c[4];
            prefetch_upto(&pf, row + (size_t)(b + 1) * bb);
            block_codes(bits, &d, row + (size_t)b * bb, c);
            for (int i = 0; i < 4; i++) {
                __m256i gidx = _mm256_loadu_si256((const __m256i *)(w->gi + b * RT_QBLOCK_K + 8 * i));
                __m256 wv = general_weights(sr, zbuf, c[i], gidx);
                for (int r = 0; r < R; r++)
                    acc[r][i & 1] = _mm256_fmadd_ps(_mm256_loadu_ps(x + r * ldx + b * RT_QBLOCK_K + 8 * i), wv,
                                                    acc[r][i & 1]);
            }
        }
        for (int r = 0; r < R; r++) y[r * ldy + n] = hsum(_mm256_add_ps(acc[r][0], acc[r][1]));
    }
}

/* One instance per (bits, rows): the constants fold into straight-line loops. */
#define GEMV_ONE(BITS, R)                                                        \
    do {                                                                         \
        if (general)                                                             \
            gemv_general(w, BITS, R, x, ldx, y, ldy, n0, n1, zbuf);              \
        else                                                                     \
            gemv_fast(w, BITS, R, x, ldx, y, ldy, n0, n1);                       \
    } while (0)
#define GEMV_ROWS(BITS)                                                          \
    do {                                                                         \
        if (rows == 1) GEMV_ONE(BITS, 1);                                        \
        else if (rows == 2) GEMV_ONE(BITS, 2);                                   \
        else if (rows == 3) GEMV_ONE(BITS, 3);                                   \
        else GEMV_ONE(BITS, 4);                                                  \
    } while (0)

T256 static void avx2_gemv(const RtNbitsWeight *w, const float *x, int64_t ldx, int rows, float *y, int64_t ldy,
                           int64_t n0, int64_t n1, float *zbuf) {
    const int general = w->gi != NULL;
    switch (w->bits) {
    case 2: GEMV_ROWS(2); break;
    case 3: GEMV_ROWS(3); break;
    case 4: GEMV_ROWS(4); break;
    default: GEMV_ROWS(8); break;
    }
}

/* ---- tile dequantization: each weight (float(q) - zero) * scale, as the reference ---- */

T256 INL void dequant_bits(const RtNbitsWeight *w, const int bits, int64_t n0, int64_t n1, int64_t k0, int64_t k1,
                           float *tile, int64_t ldt, float *zbuf) {
    const int64_t NG = w->NG, b0 = k0 / RT_QBLOCK_K, b1 = (k1 + RT_QBLOCK_K - 1) / RT_QBLOCK_K;
    const size_t bb = RT_QBLOCK_BYTES(bits);
    Decoder d;
    decoder_make(&d, bits);
    for (int64_t n = n0; n < n1; n++) {
        const uint8_t *row = w->packed + (size_t)n * w->row_bytes;
        const float *sr = w->scales + n * NG;
        float *t = tile + (n - n0) * ldt - k0;
        if (w->gi)
            for (int64_t g = 0; g < NG; g++) zbuf[g] = (float)w->zeros[n * NG + g];
        for (int64_t b = b0; b < b1; b++) {
            __m256i c[4];
            __m256 wv[4];
            block_codes(bits, &d, row + (size_t)b * bb, c);
            if (w->gi) {
                for (int i = 0; i < 4; i++)
                    wv[i] = general_weights(sr, zbuf, c[i],
                                            _mm256_loadu_si256((const __m256i *)(w->gi + b * RT_QBLOCK_K + 8 * i)));
            } else {
                const int64_t g = b / (w->G / RT_QBLOCK_K);
                const __m256 zf = _mm256_set1_ps((float)w->zeros[n * NG + g]), sv = _mm256_set1_ps(sr[g]);
                for (int i = 0; i < 4; i++) wv[i] = _mm256_mul_ps(_mm256_sub_ps(_mm256_cvtepi32_ps(c[i]), zf), sv);
            }
            float *dst = t + b * RT_QBLOCK_K;
            const int64_t cols = k1 - b * RT_QBLOCK_K;
            if (cols >= RT_QBLOCK_K) {
                for (int i = 0; i < 4; i++) _mm256_storeu_ps(dst + 8 * i, wv[i]);
            } else { /* the last, partial block of the range */
                float buf[RT_QBLOCK_K];
                for (int i = 0; i < 4; i++) _mm256_storeu_ps(buf + 8 * i, wv[i]);
                memcpy(dst, buf, sizeof(float) * (size_t)cols);
            }
        }
    }
}

T256 static void avx2_dequant(const RtNbitsWeight *w, int64_t n0, int64_t n1, int64_t k0, int64_t k1, float *tile,
                              int64_t ldt, float *zbuf) {
    switch (w->bits) {
    case 2: dequant_bits(w, 2, n0, n1, k0, k1, tile, ldt, zbuf); break;
    case 3: dequant_bits(w, 3, n0, n1, k0, k1, tile, ldt, zbuf); break;
    case 4: dequant_bits(w, 4, n0, n1, k0, k1, tile, ldt, zbuf); break;
    default: dequant_bits(w, 8, n0, n1, k0, k1, tile, ldt, zbuf); break;
    }
}

static int avx2_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

const RtNbitsImpl rt_nbits_impl_avx2 = {"avx2", avx2_supported, avx2_gemv, avx2_dequant};

#else /* not x86-64 with GCC-style target attributes: never selected */

static int avx2_supported(void) {
    return 0;
}

const RtNbitsImpl rt_nbits_impl_avx2 = {"avx2", avx2_supported, 0, 0};

#endif
