/*
 * nbits_avx512_scaled.c — LinearNBits' batch-1 GEMV for 4-bit codes in groups of 32, 64 or
 * a multiple of 128 columns, with the codes used as floats just as they lie in memory: no
 * table lookups, no conversions (AVX-512 F).
 *
 * Why: on this project's CI machine (AMD EPYC, cpuinfo family 25 model 17: Zen 4 cores,
 * where each 512-bit vector operation takes one of two slots a cycle and an FMA the one FMA
 * slot; measured) the table decode of nbits_avx512.c's word path (per 128 weights: 7
 * vpsrld, 8 vpermps, 8 FMAs and the group's table) ran the GEMV at ~27 G weights/s a core,
 * 43% of one core's read bandwidth (25% at G = 32, where every block builds its own table).
 * Here 128 weights of a row take 8 vpandd, 1 vpsrld, 8 FMAs, 1 add and 1 FMA.
 *
 * The decode. 64 bytes of a row are 4 blocks (qblock.h); read as 16 words, lane l holds word
 * l % 4 of block l / 4, its code j at bits 4j, column 32 (l / 4) + (l % 4) + 4j. The masked
 * word w & (0xF << 4j) is the integer q * 2^(4j), and an integer below 2^24 read as a float
 * is that integer times 2^-149 exactly (a denormal, or exponent field 1 once bit 23 is set):
 * for j = 0..5 the masked word IS the float q * 2^(4j - 149). Codes 6 and 7 (bits 24..31)
 * are shifted down by 24 first (one vpsrld per 64 bytes). X is permuted to the same column
 * order once per call and multiplied by the power of two that undoes each code's position,
 *     xs = x * 2^(149 - e_j - 64)      (e_j = 4j; 0 and 4 for codes 6 and 7),
 * so every FMA adds the exact product q * x * 2^-64, rounded once as for an integer q. The
 * 2^-64 keeps xs finite for |x| < 2^40 and the products far above the denormal range; y is
 * multiplied back by 2^64 (exact). The code sums start from zero with FMAs, not a multiply:
 * a multiply with a denormal operand costs a cycle more latency on this machine (measured),
 * an FMA does not.
 *
 * The zero point. W = (q - zero) * scale, so a row is
 *     y = sum_chunks s * (sum_j q x)  -  sum_g s_g z_g * (sum of x over group g),
 * the second sum once per row from group sums of X made once per call: per 128 weights only
 * the code sums, one add and the FMA by the scale remain (groups of a multiple of 128
 * columns broadcast their scale; groups of 32 or 64 give each lane its block's, one vpermps).
 * Every product is exact; the sums are rounded in another order than the reference's, and
 * with the zero points taken off each row's sum instead of off each code the rounding error
 * is bounded in sum |x| s (q + z) rather than sum |x| s |q - z| (test_nbits_scaled.c checks
 * that bound; the other nbits tests' tolerances hold unchanged).
 *
 * Two output rows per loop share the X loads (one 512-bit load a cycle is the other limit),
 * and the packed rows are prefetched 4 KiB ahead into L2 (see NBITS_SCALED_PREFETCH_*).
 *
 * nbits_avx512.c takes this path on AMD cores only (where it was measured): other cores may
 * trap multiplications with denormal operands into microcode assists.
 *
 * Not taken (the caller falls back to nbits_avx512.c's paths, exact for any X): X with a
 * value of magnitude >= 2^40 (xs would overflow), Inf or NaN (0 * Inf would turn a zero
 * code's exact 0 into NaN), or all of magnitude < 2^-32 (products near the denormal range
 * would lose bits); a calling thread with MXCSR's denormals-are-zero bit set (the codes
 * would all read as 0); other bit widths, act-order, other groups, K < 128.
 */
#include "nbits_avx512_scaled.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")))
#define INL static inline __attribute__((always_inline))

/* MXCSR's denormals-are-zero bit: a thread that has set it (a program built with -ffast-math
 * sets it at start-up, and so do some audio and game libraries) would read every code as 0. */
#define MXCSR_DAZ 0x0040u

/* The products are q * x * 2^-SCALED_EXP. */
#define SCALED_EXP 64
/* X accepted: every |x| < 2^40 (bits of 2^40: exponent 127 + 40), and the largest >= 2^-32
 * (exponent 127 - 32) unless all are zero. */
#define SCALED_X_MAX_BITS 0x53800000u
#define SCALED_X_MIN_BITS 0x2F800000u
/* Columns of X scaled on the stack; more go to the heap. */
#define NBITS_SCALED_STACK 4096

/* Software prefetch of the packed rows, this many bytes ahead, into L2: measured on the cold
 * 4096 x 4096 GEMV (bench_nbits, 1 thread), 4-8 KiB to L2 ran g128 at 31 G weights/s and
 * g32 at 27 against 24-25 and 24 with the word path's 2 KiB to L1 (1 KiB, or none: 15, 14). */
#ifndef NBITS_SCALED_PREFETCH_BYTES
#define NBITS_SCALED_PREFETCH_BYTES 4096
#endif
#ifndef NBITS_SCALED_PREFETCH_HINT
#define NBITS_SCALED_PREFETCH_HINT _MM_HINT_T1
#endif

/* Bits of the largest |x| (as an unsigned integer: ordered like the magnitudes, Inf and
 * NaN above every finite value). */
T512 static uint32_t max_abs_bits(const float *x, int64_t n) {
    const __m512i mag = _mm512_set1_epi32(0x7FFFFFFF);
    __m512i m = _mm512_setzero_si512();
    int64_t k = 0;
    for (; k + 16 <= n; k += 16) m = _mm512_max_epu32(m, _mm512_and_si512(_mm512_loadu_si512(x + k), mag));
    if (k < n) {
        const __mmask16 t = (__mmask16)((1u << (n - k)) - 1);
        m = _mm512_max_epu32(m, _mm512_and_si512(_mm512_maskz_loadu_epi32(t, x + k), mag));
    }
    return (uint32_t)_mm512_reduce_max_epu32(m);
}

/* 2^e as a float, for -126 <= e <= 127: built from its bits, exactly. */
static float pow2f(int e) {
    const uint32_t b = (uint32_t)(127 + e) << 23;
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

/* Code j's power of two in xs: 2^(149 - e_j - SCALED_EXP). */
static float code_scale(int j) {
    static const int e[8] = {0, 4, 8, 12, 16, 20, 0, 4};
    return pow2f(149 - e[j] - SCALED_EXP);
}

/* xs[128 c + 16 j + l] = x[128 c + 32 (l / 4) + (l % 4) + 4 j] * code_scale(j) for each
 * whole chunk c of 128 columns, and past them (at most 3 blocks) xs = x * 2^-SCALED_EXP in
 * the natural order; xgrp[g] = 2^-SCALED_EXP * (sum of x over group g's columns in whole
 * chunks), the sums the zero points multiply (bpg: blocks per group, 1, 2 or 4k). */
T512 static void scale_x(const float *x, int64_t chunks, int64_t kpad, int64_t bpg, int64_t NG, float *xs,
                         float *xgrp) {
    const __m512 down = _mm512_set1_ps(pow2f(-SCALED_EXP));
    for (int64_t g = 0; g < NG; g++) xgrp[g] = 0;
    for (int64_t c = 0; c < chunks; c++) {
        const float *xc = x + 128 * c;
        __m512 sum = _mm512_setzero_ps();
        for (int j = 0; j < 8; j++) {
            /* lanes 4b..4b+3 = x[32 b + 4 j .. + 3]: one 128-bit piece of each block */
            __m512 v = _mm512_castps128_ps512(_mm_loadu_ps(xc + 4 * j));
            v = _mm512_insertf32x4(v, _mm_loadu_ps(xc + 32 + 4 * j), 1);
            v = _mm512_insertf32x4(v, _mm_loadu_ps(xc + 64 + 4 * j), 2);
            v = _mm512_insertf32x4(v, _mm_loadu_ps(xc + 96 + 4 * j), 3);
            sum = _mm512_add_ps(sum, v);
            _mm512_store_ps(xs + 128 * c + 16 * j, _mm512_mul_ps(v, _mm512_set1_ps(code_scale(j))));
        }
        float lane[16]; /* lane l: sum over its column of each code j, in block 4c + l / 4 */
        _mm512_storeu_ps(lane, _mm512_mul_ps(sum, down));
        for (int l = 0; l < 16; l++) xgrp[(4 * c + l / 4) / bpg] += lane[l];
    }
    for (int64_t k = 128 * chunks; k < kpad; k++) xs[k] = x[k] * pow2f(-SCALED_EXP);
}

/* sum_g zeros[g] * scales[g] * xgrp[g] over one row's groups: the zero points' share of the
 * row, taken off once per row instead of once per code. */
T512 INL float zero_share(const uint8_t *zeros, const float *scales, const float *xgrp, int64_t NG) {
    __m512 acc = _mm512_setzero_ps();
    for (int64_t g = 0; g < NG; g += 16) {
        const __mmask16 m = (__mmask16)(NG - g >= 16 ? 0xffff : (1u << (NG - g)) - 1);
        const __m512 z = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, zeros + g)));
        acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, scales + g), _mm512_mul_ps(z, _mm512_maskz_loadu_ps(m, xgrp + g)),
                              acc);
    }
    return _mm512_reduce_add_ps(acc);
}

/* The masked word as the float it is: q * 2^(4j - 149). */
#define AS_PS(v) _mm512_castsi512_ps(v)

/* The blocks past the last whole chunk (at most 3), as nbits_avx512.c's block path: the
 * group's table (q - z) * s looked up by vpermps, times xs = x * 2^-64. */
T512 INL __m512 tail_row(const RtNbitsWeight *w, const uint8_t *row, const float *sr, const uint8_t *zr,
                         const float *xs, __m512 acc) {
    const int64_t bpg = w->G / RT_QBLOCK_K;
    const __m512 iota = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i sa = _mm512_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4, 8, 8, 8, 8, 12, 12, 12, 12);
    const __m512i sb = _mm512_add_epi32(sa, _mm512_set1_epi32(16));
    for (int64_t b = w->nb / 4 * 4; b < w->nb; b++) {
        const int64_t g = b / bpg;
        const __m512 lut = _mm512_mul_ps(_mm512_sub_ps(iota, _mm512_set1_ps((float)zr[g])), _mm512_set1_ps(sr[g]));
        const __m512i v = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(row + 16 * b)));
        acc = _mm512_fmadd_ps(_mm512_permutexvar_ps(_mm512_srlv_epi32(v, sa), lut), _mm512_loadu_ps(xs + 32 * b), acc);
        acc = _mm512_fmadd_ps(_mm512_permutexvar_ps(_mm512_srlv_epi32(v, sb), lut), _mm512_loadu_ps(xs + 32 * b + 16),
                              acc);
    }
    return acc;
}

/* NR (1 or 2) output rows from n:
 *     y = 2^64 * ( sum_chunks s * (sum_j q x 2^-64)  -  zero_share )
 * with s lane-wise (the lane's group). A chunk's code sums are two FMA chains of four from
 * zero (FMAs, not a mul: a multiply with a denormal operand costs a cycle more latency on
 * this machine, an FMA does not), added and scaled into the row's accumulator. The two
 * rows are interleaved code by code, each X vector loaded once for both.
 * LANE: 0 when a chunk lies in one group (G a multiple of 128: a broadcast scale), 1 when
 * it spans 4 / bpg groups (G = 32, 64: lane l takes group 4c / bpg + l / (4 bpg), fetched
 * with vpermps). */
T512 INL void scaled_rows(const RtNbitsWeight *w, const int NR, const int LANE, const float *xs, const float *xgrp,
                          float *y, int64_t n) {
    const int64_t NG = w->NG, bpg = w->G / RT_QBLOCK_K, chunks = w->nb / 4;
    __m512i mk[6];
    for (int j = 0; j < 6; j++) mk[j] = _mm512_set1_epi32(0xF << (4 * j));
    const __m512i gl = _mm512_srli_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                         bpg == 1 ? 2 : 3); /* a lane's group within its chunk */
    const __mmask16 gm = (__mmask16)(bpg == 1 ? 0xF : 0x3);  /* the chunk's groups */
    const __m512 zero = _mm512_setzero_ps();
    const uint8_t *p[2];
    const float *sr[2];
    __m512 acc[2];
    for (int r = 0; r < NR; r++) {
        p[r] = w->packed + (size_t)(n + r) * w->row_bytes;
        sr[r] = w->scales + (n + r) * NG;
        acc[r] = zero;
    }
    const int64_t cpg = bpg / 4; /* !LANE: chunks per group */
    for (int64_t c = 0, g = 0, cin = 0; c < chunks; c++) {
        __m512 sv[2];
        for (int r = 0; r < NR; r++)
            sv[r] = LANE ? _mm512_permutexvar_ps(gl, _mm512_maskz_loadu_ps(gm, sr[r] + (bpg == 1 ? 4 * c : 2 * c)))
                         : _mm512_set1_ps(sr[r][g]);
        if (!LANE && ++cin == cpg) { /* the next chunk starts the next group */
            cin = 0;
            g++;
        }
        const float *xc = xs + 128 * c;
        __m512i v[2], u[2];
        __m512 q0[2], q1[2];
        for (int r = 0; r < NR; r++) {
            if (NBITS_SCALED_PREFETCH_BYTES)
                _mm_prefetch((const char *)p[r] + 64 * c + NBITS_SCALED_PREFETCH_BYTES, NBITS_SCALED_PREFETCH_HINT);
            v[r] = _mm512_loadu_si512(p[r] + 64 * c);
            /* one load into a register: GCC would otherwise fold it into each vpandd */
            __asm__("" : "+v"(v[r]));
            u[r] = _mm512_srli_epi32(v[r], 24); /* codes 6, 7 at bits 0, 4 */
            q0[r] = q1[r] = zero;
        }
        for (int j = 0; j < 8; j++) {
            __m512 x = _mm512_load_ps(xc + 16 * j);
            /* in a register for both rows (GCC would fold the load into each row's FMA) */
            if (NR == 2) __asm__("" : "+v"(x));
            for (int r = 0; r < NR; r++) {
                const __m512 qj = AS_PS(_mm512_and_si512(j < 6 ? v[r] : u[r], mk[j < 6 ? j : j - 6]));
                if (j % 2 == 0) q0[r] = _mm512_fmadd_ps(qj, x, q0[r]);
                else q1[r] = _mm512_fmadd_ps(qj, x, q1[r]);
            }
        }
        for (int r = 0; r < NR; r++) acc[r] = _mm512_fmadd_ps(sv[r], _mm512_add_ps(q0[r], q1[r]), acc[r]);
    }
    for (int r = 0; r < NR; r++) {
        if (w->nb % 4) acc[r] = tail_row(w, p[r], sr[r], w->zeros + (n + r) * NG, xs, acc[r]);
        const float zs = zero_share(w->zeros + (n + r) * NG, sr[r], xgrp, NG);
        y[n + r] = (_mm512_reduce_add_ps(acc[r]) - zs) * pow2f(SCALED_EXP);
    }
}

T512 INL void scaled_run(const RtNbitsWeight *w, const int LANE, const float *xs, const float *xgrp, float *y,
                         int64_t n0, int64_t n1) {
    int64_t n = n0;
    for (; n + 1 < n1; n += 2) scaled_rows(w, 2, LANE, xs, xgrp, y, n);
    if (n < n1) scaled_rows(w, 1, LANE, xs, xgrp, y, n);
}

T512 int rt_nbits_avx512_gemv1_scaled(const RtNbitsWeight *w, const float *x, float *y, int64_t n0, int64_t n1,
                                      float *zbuf) {
    const int64_t bpg = w->G / RT_QBLOCK_K, chunks = w->nb / 4, kpad = w->nb * RT_QBLOCK_K;
    if (w->bits != 4 || w->gi || chunks == 0) return 0;
    if (!(bpg == 1 || bpg == 2 || bpg % 4 == 0)) return 0;
    if (_mm_getcsr() & MXCSR_DAZ) return 0;
    const uint32_t mx = max_abs_bits(x, kpad);
    if (mx >= SCALED_X_MAX_BITS || (mx != 0 && mx < SCALED_X_MIN_BITS)) return 0;
    float stack[NBITS_SCALED_STACK] __attribute__((aligned(64)));
    void *heap = NULL;
    if (kpad > NBITS_SCALED_STACK && posix_memalign(&heap, 64, sizeof(float) * (size_t)kpad) != 0) return 0;
    float *xs = heap ? heap : stack;
    scale_x(x, chunks, kpad, bpg, w->NG, xs, zbuf); /* zbuf: NG floats, the group sums */
    if (bpg % 4 == 0)
        scaled_run(w, 0, xs, zbuf, y, n0, n1);
    else
        scaled_run(w, 1, xs, zbuf, y, n0, n1);
    free(heap);
    return 1;
}
#else /* not x86-64 with GCC-style target attributes: never taken */

int rt_nbits_avx512_gemv1_scaled(const RtNbitsWeight *w, const float *x, float *y, int64_t n0, int64_t n1,
                                 float *zbuf) {
    (void)w, (void)x, (void)y, (void)n0, (void)n1, (void)zbuf;
    return 0;
}

#endif
