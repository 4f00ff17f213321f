/*
 * nbits_avx512.c — LinearNBits' gemv and tile dequantization with AVX-512 (F, BW, VL),
 * chosen at run time by rt_nbits_impl_select (nbits.h). Same results per weight as the
 * reference: every weight is the float (q - zero) * scale; only the order of the sums
 * differs (16 lanes, 4 partial sums per X row, then a tree).
 *
 * Decoding a block of 32 codes takes no byte shuffles thanks to qblock.h's layout: one
 * broadcast load puts the block's words in every lane (lane l holds word l % bits), a
 * per-lane shift (vpsrlvd) brings code l (or 16 + l) to the lane's low bits, and vpermps
 * looks the code up in a 16-entry table of already dequantized weights,
 *     lut[c] = ((c & (2^bits - 1)) - zero) * scale        (built once per group and row)
 * vpermps reads only the low 4 bits of each index, so the higher codes still in the lane do
 * no harm. 3-bit codes look up the low two bits in two tables (high bit 0 / 1) and pick per
 * lane with the high-bit word as the mask register. 8-bit codes are zero-extended and
 * converted: (float(q) - zero) * scale. So 32 4-bit weights cost 2 shifts and 2 permutes,
 * plus 2 FMAs per X row: 3 vector operations per 16 weights, about what one core of the
 * earlier Intel CI machine needed to keep up with its share of the memory bandwidth, which
 * is what batch-1 GEMV is bound by. The packed rows are prefetched in software (see below).
 *
 * Batch-1 special cases (the memory-bound ones): on AMD cores, 4-bit codes in groups of 32,
 * 64 or 128k columns take nbits_avx512_scaled.c first (the codes as denormal floats times a
 * pre-scaled X: no table, 8 vpandd + 1 vpsrld per 128 weights; cold 4096 x 4096 GEMV on the
 * Zen 4 CI machine at 37 G weights/s on one core, against 26 with the tables below). Else
 * (other CPUs, X out of its range, other formats, 2-4 rows of X): 4-bit codes in groups of
 * 4k whole blocks decode 64 bytes as 16 words at once (see "one packed word per lane"), and
 * groups of one block (G = 32) decode two output rows per loop (see "two output rows at a
 * time"); on the earlier Intel CI machine (16 GB/s a core) these ran the cold 4096 x 4096
 * GEMV at 85-90% of the read bandwidth (g128 and g32, 1 and 2 threads; bench_nbits.c), on
 * the Zen 4 one (32 GB/s a core, where they are compute bound) at 43% and 27% on one core.
 *
 * Groups that are not runs of whole blocks (act-order g_idx, odd G) take the general path:
 * clean integer codes, the scale and zero point of each lane fetched by its column's group
 * (vpermps from registers when the row has <= 32 groups, gathers otherwise), then
 * (float(q) - zero) * scale. Everything here is compiled for AVX-512 through target
 * attributes; the rest of the build stays baseline x86-64.
 */
#include "nbits.h"
#include "nbits_avx512_scaled.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,bmi,bmi2")))
#define INL static inline __attribute__((always_inline))

/* A group's lookup tables: 2/4-bit use lo; 3-bit lo (high bit 0) and hi (high bit 1);
 * 8-bit holds the broadcast scale in lo and zero point in hi. */
typedef struct {
    __m512 lo, hi;
} Lut;

T512 INL Lut lut_make(int bits, float scale, float zero) {
    const __m512 sv = _mm512_set1_ps(scale), zf = _mm512_set1_ps(zero);
    const __m512 iota16 = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512 iota4 = _mm512_setr_ps(0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3);
    Lut L;
    switch (bits) {
    case 4:
        L.lo = _mm512_mul_ps(_mm512_sub_ps(iota16, zf), sv);
        L.hi = L.lo;
        break;
    case 8:
        L.lo = sv;
        L.hi = zf;
        break;
    default: /* 2, 3: index = low two bits */
        L.lo = _mm512_mul_ps(_mm512_sub_ps(iota4, zf), sv);
        L.hi = _mm512_mul_ps(_mm512_sub_ps(_mm512_add_ps(iota4, _mm512_set1_ps(4.0f)), zf), sv);
        break;
    }
    return L;
}

/* zf[g] = zeros[g] for g < NG: one row's zero points as floats, 16 at a time, so that
 * building a group's table is two vector operations with broadcast memory operands. */
T512 INL void zeros_to_float(const uint8_t *zeros, int64_t NG, float *zf) {
    for (int64_t g = 0; g < NG; g += 16) {
        __mmask16 m = (__mmask16)(NG - g >= 16 ? 0xffff : (1u << (NG - g)) - 1);
        _mm512_mask_storeu_ps(zf + g, m, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, zeros + g))));
    }
}

/* Per-lane shifts: lane l of the first half-block needs code l, of the second code 16 + l;
 * code j sits in word j % bits at bit bits * (j / bits). */
T512 INL __m512i shifts(int bits, int half) {
    if (bits == 4)
        return _mm512_add_epi32(_mm512_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4, 8, 8, 8, 8, 12, 12, 12, 12),
                                _mm512_set1_epi32(16 * half));
    return _mm512_add_epi32(_mm512_setr_epi32(0, 0, 2, 2, 4, 4, 6, 6, 8, 8, 10, 10, 12, 12, 14, 14),
                            _mm512_set1_epi32(16 * half));
}

T512 INL __m512i block_words(int bits, const uint8_t *p) {
    if (bits == 4) return _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)p));
    uint64_t v;
    memcpy(&v, p, 8);
    return _mm512_set1_epi64((long long)v);
}

T512 INL uint32_t block_hi(const uint8_t *p) {
    uint32_t h;
    memcpy(&h, p + 8, 4);
    return h;
}

/* The block's 32 dequantized weights (w0: columns 0..15, w1: 16..31) from a group's Lut. */
T512 INL void block_fast(int bits, const uint8_t *p, const Lut *L, __m512i sa, __m512i sb, __m512 *w0,
                         __m512 *w1) {
    if (bits == 8) {
        __m512 q0 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)p)));
        __m512 q1 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(p + 16))));
        *w0 = _mm512_mul_ps(_mm512_sub_ps(q0, L->hi), L->lo);
        *w1 = _mm512_mul_ps(_mm512_sub_ps(q1, L->hi), L->lo);
        return;
    }
    __m512i v = block_words(bits, p);
    __m512i ia = _mm512_srlv_epi32(v, sa), ib = _mm512_srlv_epi32(v, sb);
    *w0 = _mm512_permutexvar_ps(ia, L->lo);
    *w1 = _mm512_permutexvar_ps(ib, L->lo);
    if (bits == 3) {
        uint32_t h = block_hi(p);
        *w0 = _mm512_mask_permutexvar_ps(*w0, (__mmask16)h, ia, L->hi);
        *w1 = _mm512_mask_permutexvar_ps(*w1, (__mmask16)(h >> 16), ib, L->hi);
    }
}

/* The block's codes as clean integers (c0: columns 0..15, c1: 16..31). */
T512 INL void block_codes(int bits, const uint8_t *p, __m512i sa, __m512i sb, __m512i *c0, __m512i *c1) {
    if (bits == 8) {
        *c0 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)p));
        *c1 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(p + 16)));
        return;
    }
    const __m512i m = _mm512_set1_epi32(bits == 4 ? 15 : 3);
    __m512i v = block_words(bits, p);
    *c0 = _mm512_and_si512(_mm512_srlv_epi32(v, sa), m);
    *c1 = _mm512_and_si512(_mm512_srlv_epi32(v, sb), m);
    if (bits == 3) {
        uint32_t h = block_hi(p);
        const __m512i four = _mm512_set1_epi32(4);
        *c0 = _mm512_mask_add_epi32(*c0, (__mmask16)h, *c0, four);
        *c1 = _mm512_mask_add_epi32(*c1, (__mmask16)(h >> 16), *c1, four);
    }
}

/* One output row's scales and zero points for the general path. */
typedef struct {
    __m512 s0, s1, z0, z1;  /* groups 0..15, 16..31 when the row has <= 32 */
    const float *s, *z;     /* [NG] scales, zero points as floats */
    int64_t NG;
} GroupRow;

T512 INL void group_row_make(GroupRow *gr, const float *s, const uint8_t *zeros, float *zbuf, int64_t NG) {
    for (int64_t g = 0; g < NG; g++) zbuf[g] = (float)zeros[g];
    gr->s = s;
    gr->z = zbuf;
    gr->NG = NG;
    gr->s0 = gr->s1 = gr->z0 = gr->z1 = _mm512_setzero_ps();
    if (NG <= 32) {
        __mmask16 m0 = (__mmask16)(NG >= 16 ? 0xffff : (1u << NG) - 1);
        __mmask16 m1 = (__mmask16)(NG <= 16 ? 0 : NG >= 32 ? 0xffff : (1u << (NG - 16)) - 1);
        gr->s0 = _mm512_maskz_loadu_ps(m0, s);
        gr->z0 = _mm512_maskz_loadu_ps(m0, zbuf);
        gr->s1 = _mm512_maskz_loadu_ps(m1, s + 16);
        gr->z1 = _mm512_maskz_loadu_ps(m1, zbuf + 16);
    }
}

/* Weights (float(q) - zero[g]) * scale[g] of 16 lanes with codes c and groups gidx. */
T512 INL __m512 general_weights(const GroupRow *gr, __m512i c, __m512i gidx) {
    __m512 s, z;
    if (gr->NG <= 16) {
        s = _mm512_permutexvar_ps(gidx, gr->s0);
        z = _mm512_permutexvar_ps(gidx, gr->z0);
    } else if (gr->NG <= 32) {
        s = _mm512_permutex2var_ps(gr->s0, gidx, gr->s1);
        z = _mm512_permutex2var_ps(gr->z0, gidx, gr->z1);
    } else {
        s = _mm512_i32gather_ps(gidx, gr->s, 4);
        z = _mm512_i32gather_ps(gidx, gr->z, 4);
    }
    return _mm512_mul_ps(_mm512_sub_ps(_mm512_cvtepi32_ps(c), z), s);
}

/* ---- gemv: R rows of X (1..4), fast path (groups of whole blocks) ---- */

#define ACC_ROWS RT_NBITS_DIRECT_ROWS

/* Software prefetch of the packed rows into L1, this many bytes ahead of the block being
 * decoded. Without it the cold (from memory) GEMV on the earlier Intel CI machine ran at a
 * third of the read bandwidth: the core's own prefetchers did not keep enough lines in
 * flight while it was busy decoding. Measured on 4096 x 4096 4-bit: 2 KiB (one row) was best of
 * 0.25-8 KiB; prefetching to L2 (T1/T2, alone or with a near T0), one prefetch per line
 * instead of per block pair, and prefetching the scale and zero-point rows were no better.
 * The fast path prefetches once per block pair (some lines twice: cheaper than a branch);
 * the general path once per line. */
#ifndef NBITS_PREFETCH_BYTES
#define NBITS_PREFETCH_BYTES 2048
#endif
#ifndef NBITS_PREFETCH_HINT
#define NBITS_PREFETCH_HINT _MM_HINT_T0
#endif
/* The one-group-per-block loop (G = 32) does better prefetching to L2 only: cold 4096 x 4096
 * g32 at 83-85% of the read bandwidth against 79-81% with T0 (the word path, for g128,
 * stays best with T0: 87-90% against 85%), measured on the earlier Intel CI machine. */
#ifndef NBITS_PREFETCH_HINT_G32
#define NBITS_PREFETCH_HINT_G32 _MM_HINT_T1
#endif

/* Prefetches the lines from *pf up to NBITS_PREFETCH_BYTES past `upto`. */
T512 INL void prefetch_upto(const char **pf, const uint8_t *upto) {
    const char *end = (const char *)upto + NBITS_PREFETCH_BYTES;
    for (; *pf < end; *pf += 64) _mm_prefetch(*pf, NBITS_PREFETCH_HINT);
}

/* The first line to prefetch for rows starting at p. */
T512 INL const char *prefetch_start(const uint8_t *p) {
    return (const char *)(((uintptr_t)p + NBITS_PREFETCH_BYTES) & ~(uintptr_t)63);
}

T512 INL void gemv_fast(const RtNbitsWeight *w, const int bits, const int R, const float *x, int64_t ldx, float *y,
                        int64_t ldy, int64_t n0, int64_t n1, float *zf) {
    const int64_t NG = w->NG, bpg = w->G / RT_QBLOCK_K, full = w->nb / bpg; /* groups of bpg blocks */
    const size_t bb = RT_QBLOCK_BYTES(bits);
    const __m512i sa = shifts(bits, 0), sb = shifts(bits, 1);
    /* Independent sums per X row: 4 for one or two rows (FMA latency 4 cycles, a block pair
     * every ~6), 2 above, where the rows give enough and 4 would spill registers. */
    const int A2 = R <= 2 ? 2 : 0, A3 = R <= 2 ? 3 : 1;
    for (int64_t n = n0; n < n1; n++) {
        /* pointers, not indices: the loop bookkeeping competes with the vector work for ports */
        const uint8_t *p = w->packed + (size_t)n * w->row_bytes;
        const float *xb = x, *sr = w->scales + n * NG;
        zeros_to_float(w->zeros + n * NG, NG, zf);
        __m512 acc[ACC_ROWS][4];
        for (int r = 0; r < R; r++)
            for (int i = 0; i < 4; i++) acc[r][i] = _mm512_setzero_ps();
        if (bpg == 1) { /* G = 32: a group per block, two per iteration without the group bookkeeping */
            const float *zr = zf;
            for (int64_t g = NG >> 1; g > 0; g--, p += 2 * bb, xb += 2 * RT_QBLOCK_K, sr += 2, zr += 2) {
                __m512 w0, w1, w2, w3;
                _mm_prefetch((const char *)p + NBITS_PREFETCH_BYTES, NBITS_PREFETCH_HINT_G32);
                const Lut L0 = lut_make(bits, sr[0], zr[0]), L1 = lut_make(bits, sr[1], zr[1]);
                block_fast(bits, p, &L0, sa, sb, &w0, &w1);
                block_fast(bits, p + bb, &L1, sa, sb, &w2, &w3);
                for (int r = 0; r < R; r++) {
                    const float *xr = xb + r * ldx;
                    acc[r][0] = _mm512_fmadd_ps(_mm512_loadu_ps(xr), w0, acc[r][0]);
                    acc[r][1] = _mm512_fmadd_ps(_mm512_loadu_ps(xr + 16), w1, acc[r][1]);
                    acc[r][A2] = _mm512_fmadd_ps(_mm512_loadu_ps(xr + 32), w2, acc[r][A2]);
                    acc[r][A3] = _mm512_fmadd_ps(_mm512_loadu_ps(xr + 48), w3, acc[r][A3]);
                }
            }
            if (NG & 1) { /* the last block */
                __m512 w0, w1;
                const Lut L = lut_make(bits, sr[0], zr[0]);
                block_fast(bits, p, &L, sa, sb, &w0, &w1);
                for (int r = 0; r < R; r++) {
                    const float *xr = xb + r * ldx;
                    acc[r][0] = _mm512_fmadd_ps(_mm512_loadu_ps(xr), w0, acc[r][0]);
                    acc[r][1] = _mm512_fmadd_ps(_mm512_loadu_ps(xr + 16), w1, acc[r][1]);
                }
            }
        }
        for (int64_t g = 0; bpg > 1 && g < NG; g++) {
            const Lut L = lut_make(bits, sr[g], zf[g]);
            const int64_t blocks = g < full ? bpg : w->nb - full * bpg; /* the last group may be short */
            for (int64_t i = blocks >> 1; i > 0; i--, p += 2 * bb, xb += 2 * RT_QBLOCK_K) { /* two blocks */
                __m512 w0, w1, w2, w3;
                _mm_prefetch((const char *)p + NBITS_PREFETCH_BYTES, NBITS_PREFETCH_HINT);
                block_fast(bits, p, &L, sa, sb, &w0, &w1);
                block_fast(bits, p + bb, &L, sa, sb, &w2, &w3);
                for (int r = 0; r < R; r++) {
                    const float *xr = xb + r * ldx;
                    acc[r][0] = _mm512_fmadd_ps(_mm512_loadu_ps(xr), w0, acc[r][0]);
                    acc[r][1] = _mm512_fmadd_ps(_mm512_loadu_ps(xr + 16), w1, acc[r][1]);
                    acc[r][A2] = _mm512_fmadd_ps(_mm512_loadu_ps(xr + 32), w2, acc[r][A2]);
                    acc[r][A3] = _mm512_fmadd_ps(_mm512_loadu_ps(xr + 48), w3, acc[r][A3]);
                }
            }
            if (blocks & 1) { /* an odd block at the group's end */
                __m512 w0, w1;
                _mm_prefetch((const char *)p + NBITS_PREFETCH_BYTES, NBITS_PREFETCH_HINT);
                block_fast(bits, p, &L, sa, sb, &w0, &w1);
                for (int r = 0; r < R; r++) {
                    const float *xr = xb + r * ldx;
                    acc[r][0] = _mm512_fmadd_ps(_mm512_loadu_ps(xr), w0, acc[r][0]);
                    acc[r][1] = _mm512_fmadd_ps(_mm512_loadu_ps(xr + 16), w1, acc[r][1]);
                }
                p += bb;
                xb += RT_QBLOCK_K;
            }
        }
        for (int r = 0; r < R; r++)
            y[r * ldy + n] = _mm512_reduce_add_ps(
                _mm512_add_ps(_mm512_add_ps(acc[r][0], acc[r][1]), _mm512_add_ps(acc[r][2], acc[r][3])));
    }
}

/* ---- gemv, one X row, a group per block (G = 32): two output rows at a time ---- */

/* Two packed rows decoded in the same loop: twice the independent work between the loads
 * and twice the streams in flight, which kept the cold 4096 x 4096 g32 GEMV at 84-85% of the
 * read bandwidth against 82% one row at a time (measured on the earlier Intel CI machine).
 * Each output is still one row's sum in the same order (4 partial sums, then a tree). */
#define NBITS_PAIR_MAX_GROUPS 1024

T512 INL void gemv_g32_pairs(const RtNbitsWeight *w, const int bits, const float *x, float *y, int64_t n0, int64_t n1,
                             float *zf2) {
    const int64_t NG = w->NG;
    const size_t bb = RT_QBLOCK_BYTES(bits);
    const __m512i sa = shifts(bits, 0), sb = shifts(bits, 1);
    for (int64_t n = n0; n + 1 < n1; n += 2) {
        const uint8_t *pa = w->packed + (size_t)n * w->row_bytes, *pb = pa + w->row_bytes;
        const float *sra = w->scales + n * NG, *srb = sra + NG, *xb = x;
        zeros_to_float(w->zeros + n * NG, NG, zf2);
        zeros_to_float(w->zeros + (n + 1) * NG, NG, zf2 + NG);
        const float *za = zf2, *zb = zf2 + NG;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        for (int64_t g = NG >> 1; g > 0; g--, pa += 2 * bb, pb += 2 * bb, xb += 2 * RT_QBLOCK_K) {
            __m512 w0, w1, w2, w3;
            _mm_prefetch((const char *)pa + NBITS_PREFETCH_BYTES, NBITS_PREFETCH_HINT_G32);
            _mm_prefetch((const char *)pb + NBITS_PREFETCH_BYTES, NBITS_PREFETCH_HINT_G32);
            const __m512 x0 = _mm512_loadu_ps(xb), x1 = _mm512_loadu_ps(xb + 16), x2 = _mm512_loadu_ps(xb + 32),
                         x3 = _mm512_loadu_ps(xb + 48);
            Lut L0 = lut_make(bits, *sra++, *za++), L1 = lut_make(bits, *sra++, *za++);
            block_fast(bits, pa, &L0, sa, sb, &w0, &w1);
            block_fast(bits, pa + bb, &L1, sa, sb, &w2, &w3);
            a0 = _mm512_fmadd_ps(x0, w0, a0);
            a1 = _mm512_fmadd_ps(x1, w1, a1);
            a2 = _mm512_fmadd_ps(x2, w2, a2);
            a3 = _mm512_fmadd_ps(x3, w3, a3);
            L0 = lut_make(bits, *srb++, *zb++);
            L1 = lut_make(bits, *srb++, *zb++);
            block_fast(bits, pb, &L0, sa, sb, &w0, &w1);
            block_fast(bits, pb + bb, &L1, sa, sb, &w2, &w3);
            b0 = _mm512_fmadd_ps(x0, w0, b0);
            b1 = _mm512_fmadd_ps(x1, w1, b1);
            b2 = _mm512_fmadd_ps(x2, w2, b2);
            b3 = _mm512_fmadd_ps(x3, w3, b3);
        }
        if (NG & 1) { /* the last block of each row */
            __m512 w0, w1;
            const __m512 x0 = _mm512_loadu_ps(xb), x1 = _mm512_loadu_ps(xb + 16);
            Lut L = lut_make(bits, *sra, *za);
            block_fast(bits, pa, &L, sa, sb, &w0, &w1);
            a0 = _mm512_fmadd_ps(x0, w0, a0);
            a1 = _mm512_fmadd_ps(x1, w1, a1);
            L = lut_make(bits, *srb, *zb);
            block_fast(bits, pb, &L, sa, sb, &w0, &w1);
            b0 = _mm512_fmadd_ps(x0, w0, b0);
            b1 = _mm512_fmadd_ps(x1, w1, b1);
        }
        y[n] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
        y[n + 1] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(b0, b1), _mm512_add_ps(b2, b3)));
    }
}

/* ---- gemv, general path (per-column groups in w->gi) ---- */

T512 INL void gemv_general(const RtNbitsWeight *w, const int bits, const int R, const float *x, int64_t ldx,
                           float *y, int64_t ldy, int64_t n0, int64_t n1, float *zbuf) {
    const int64_t nb = w->nb, NG = w->NG;
    const size_t bb = RT_QBLOCK_BYTES(bits);
    const __m512i sa = shifts(bits, 0), sb = shifts(bits, 1);
    const char *pf = prefetch_start(w->packed + (size_t)n0 * w->row_bytes);
    for (int64_t n = n0; n < n1; n++) {
        const uint8_t *row = w->packed + (size_t)n * w->row_bytes;
        GroupRow gr;
        group_row_make(&gr, w->scales + n * NG, w->zeros + n * NG, zbuf, NG);
        __m512 acc[ACC_ROWS][2];
        for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            __m512i c0, c1;
            prefetch_upto(&pf, row + (size_t)(b + 1) * bb);
            block_codes(bits, row + (size_t)b * bb, sa, sb, &c0, &c1);
            const int32_t *gi = w->gi + b * RT_QBLOCK_K;
            __m512 w0 = general_weights(&gr, c0, _mm512_loadu_si512(gi));
            __m512 w1 = general_weights(&gr, c1, _mm512_loadu_si512(gi + 16));
            for (int r = 0; r < R; r++) {
                const float *xr = x + r * ldx + b * RT_QBLOCK_K;
                acc[r][0] = _mm512_fmadd_ps(_mm512_loadu_ps(xr), w0, acc[r][0]);
                acc[r][1] = _mm512_fmadd_ps(_mm512_loadu_ps(xr + 16), w1, acc[r][1]);
            }
        }
        for (int r = 0; r < R; r++) y[r * ldy + n] = _mm512_reduce_add_ps(_mm512_add_ps(acc[r][0], acc[r][1]));
    }
}

/* One instance per (bits, rows): the constants fold into straight-line loops. */
#define GEMV_ONE(BITS, R)                                                        \
    do {                                                                         \
        if (general)                                                             \
            gemv_general(w, BITS, R, x, ldx, y, ldy, n0, n1, zbuf);              \
        else                                                                     \
            gemv_fast(w, BITS, R, x, ldx, y, ldy, n0, n1, zbuf);                 \
    } while (0)
#define GEMV_ROWS(BITS)                                                          \
    do {                                                                         \
        if (rows == 1) GEMV_ONE(BITS, 1);                                        \
        else if (rows == 2) GEMV_ONE(BITS, 2);                                   \
        else if (rows == 3) GEMV_ONE(BITS, 3);                                   \
        else GEMV_ONE(BITS, 4);                                                  \
    } while (0)

/* ---- gemv, 4-bit, groups of 4k whole blocks: one packed word per lane ---- */

/* 64 bytes of a row are 4 blocks, 128 codes of one group. Loaded as 16 words, lane l holds
 * word l % 4 of block l / 4 (qblock.h), so a right shift by 4 j puts code (l % 4) + 4 j of
 * that block in the lane's low bits, column 32 (l / 4) + (l % 4) + 4 j: eight vpermps
 * (shifts 0, 4, .., 28) turn the 64 bytes into 128 weights with 7 shifts and no broadcasts,
 * against 8 + 8 for the block-at-a-time path. X is permuted once per call to the same
 * order, xp[c][j][l] = x[128 c + 32 (l / 4) + (l % 4) + 4 j] for each whole 128-column chunk
 * c (the blocks past the last whole chunk, at most 3, keep the natural order and take the
 * block path). With the group tables built from a float row of zero points, this loop ran
 * the cold 4096 x 4096 g128 GEMV at 85% of the read bandwidth against 75% for the block
 * path, on the earlier Intel CI machine. */

/* Columns whose X a call permutes on the stack; more go to the heap. */
#define NBITS_XP_STACK 4096

T512 static void permute_x_rows(const float *x, int64_t ldx, int rows, int64_t chunks, int64_t kpad, float *xp) {
    const __m512i base = _mm512_setr_epi32(0, 1, 2, 3, 32, 33, 34, 35, 64, 65, 66, 67, 96, 97, 98, 99);
    for (int r = 0; r < rows; r++) {
        const float *xr = x + r * ldx;
        float *d = xp + r * kpad;
        for (int64_t c = 0; c < chunks; c++)
            for (int j = 0; j < 8; j++)
                _mm512_storeu_ps(d + c * 128 + 16 * j,
                                 _mm512_i32gather_ps(_mm512_add_epi32(base, _mm512_set1_epi32(4 * j)), xr + 128 * c, 4));
        memcpy(d + chunks * 128, xr + chunks * 128, sizeof(float) * (size_t)(kpad - chunks * 128));
    }
}

T512 INL void gemv_words(const RtNbitsWeight *w, const int R, const float *xp, int64_t kpad, float *y, int64_t ldy,
                         int64_t n0, int64_t n1, float *zf) {
    const int64_t NG = w->NG, bpg = w->G / RT_QBLOCK_K, full = w->nb / bpg, chunks = w->nb / 4;
    const __m512 iota = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i sa = shifts(4, 0), sb = shifts(4, 1);
    for (int64_t n = n0; n < n1; n++) {
        const uint8_t *p = w->packed + (size_t)n * w->row_bytes;
        const float *xb = xp, *sr = w->scales + n * NG;
        zeros_to_float(w->zeros + n * NG, NG, zf);
        __m512 acc[ACC_ROWS][4];
        for (int r = 0; r < R; r++)
            for (int i = 0; i < 4; i++) acc[r][i] = _mm512_setzero_ps();
        int64_t c = 0;
        for (int64_t g = 0; g < NG; g++) {
            const __m512 lut = _mm512_mul_ps(_mm512_sub_ps(iota, _mm512_set1_ps(zf[g])), _mm512_set1_ps(sr[g]));
            const int64_t blocks = g < full ? bpg : w->nb - full * bpg;
            for (int64_t i = blocks >> 2; i > 0; i--, c++, p += 64, xb += 128) {
                _mm_prefetch((const char *)p + NBITS_PREFETCH_BYTES, NBITS_PREFETCH_HINT);
                __m512i v = _mm512_loadu_si512(p);
                /* one load into a register: GCC would otherwise fold the load into each of
                 * the seven shifts (seven more loads of the line per 128 weights) */
                __asm__("" : "+v"(v));
                for (int j = 0; j < 8; j++) {
                    const __m512 wj = _mm512_permutexvar_ps(j ? _mm512_srli_epi32(v, (unsigned)(4 * j)) : v, lut);
                    for (int r = 0; r < R; r++)
                        acc[r][j % 4] = _mm512_fmadd_ps(_mm512_loadu_ps(xb + r * kpad + 16 * j), wj, acc[r][j % 4]);
                }
            }
            for (int64_t i = blocks & 3; i > 0; i--, p += 16, xb += 32) { /* past the last whole chunk */
                const Lut L = {lut, lut};
                __m512 w0, w1;
                block_fast(4, p, &L, sa, sb, &w0, &w1);
                for (int r = 0; r < R; r++) {
                    acc[r][0] = _mm512_fmadd_ps(_mm512_loadu_ps(xb + r * kpad), w0, acc[r][0]);
                    acc[r][1] = _mm512_fmadd_ps(_mm512_loadu_ps(xb + r * kpad + 16), w1, acc[r][1]);
                }
            }
        }
        (void)chunks;
        for (int r = 0; r < R; r++)
            y[r * ldy + n] = _mm512_reduce_add_ps(
                _mm512_add_ps(_mm512_add_ps(acc[r][0], acc[r][1]), _mm512_add_ps(acc[r][2], acc[r][3])));
    }
}

/* The word path for 4-bit codes in groups of a multiple of 4 blocks; 0 when it does not
 * apply (or no memory for the permuted X), and the caller takes the block path. */
T512 static int gemv_words_run(const RtNbitsWeight *w, const float *x, int64_t ldx, int rows, float *y, int64_t ldy,
                               int64_t n0, int64_t n1, float *zbuf) {
    const int64_t bpg = w->G / RT_QBLOCK_K, kpad = w->nb * RT_QBLOCK_K, chunks = w->nb / 4;
    if (w->bits != 4 || w->gi || bpg % 4 != 0 || chunks == 0) return 0;
    float stack[NBITS_XP_STACK];
    const size_t need = (size_t)rows * (size_t)kpad;
    float *xp = need <= NBITS_XP_STACK ? stack : malloc(sizeof(float) * need);
    if (!xp) return 0;
    permute_x_rows(x, ldx, rows, chunks, kpad, xp);
    switch (rows) {
    case 1: gemv_words(w, 1, xp, kpad, y, ldy, n0, n1, zbuf); break;
    case 2: gemv_words(w, 2, xp, kpad, y, ldy, n0, n1, zbuf); break;
    case 3: gemv_words(w, 3, xp, kpad, y, ldy, n0, n1, zbuf); break;
    default: gemv_words(w, 4, xp, kpad, y, ldy, n0, n1, zbuf); break;
    }
    if (xp != stack) free(xp);
    return 1;
}

/* nbits_avx512_scaled.c's path only on AMD cores, where it was measured (Zen 4: an FMA with
 * a denormal operand costs nothing extra). Intel cores may send multiplications with denormal
 * operands to microcode assists (DAZ is off), which that path would hit on every code. */
static int scaled_gemv_here(void) {
    __builtin_cpu_init();
    return __builtin_cpu_is("amd");
}

T512 static void avx512_gemv(const RtNbitsWeight *w, const float *x, int64_t ldx, int rows, float *y, int64_t ldy,
                             int64_t n0, int64_t n1, float *zbuf) {
    const int general = w->gi != NULL;
    if (rows == 1 && scaled_gemv_here() && rt_nbits_avx512_gemv1_scaled(w, x, y, n0, n1, zbuf)) return;
    if (gemv_words_run(w, x, ldx, rows, y, ldy, n0, n1, zbuf)) return;
    if (rows == 1 && !general && w->G == RT_QBLOCK_K && w->NG <= NBITS_PAIR_MAX_GROUPS && n1 - n0 >= 2) {
        float zf2[2 * NBITS_PAIR_MAX_GROUPS];
        switch (w->bits) {
        case 2: gemv_g32_pairs(w, 2, x, y, n0, n1, zf2); break;
        case 3: gemv_g32_pairs(w, 3, x, y, n0, n1, zf2); break;
        case 4: gemv_g32_pairs(w, 4, x, y, n0, n1, zf2); break;
        default: gemv_g32_pairs(w, 8, x, y, n0, n1, zf2); break;
        }
        if ((n1 - n0) % 2 == 0) return;
        n0 = n1 - 1; /* an odd row left: the one-row path below */
    }
    switch (w->bits) {
    case 2: GEMV_ROWS(2); break;
    case 3: GEMV_ROWS(3); break;
    case 4: GEMV_ROWS(4); break;
    default: GEMV_ROWS(8); break;
    }
}

/* ---- tile dequantization ---- */

T512 INL void store_block(float *dst, int64_t cols, __m512 w0, __m512 w1) {
    if (cols >= RT_QBLOCK_K) {
        _mm512_storeu_ps(dst, w0);
        _mm512_storeu_ps(dst + 16, w1);
        return;
    }
    __mmask16 m0 = (__mmask16)(cols >= 16 ? 0xffff : (1u << cols) - 1);
    __mmask16 m1 = (__mmask16)(cols <= 16 ? 0 : (1u << (cols - 16)) - 1);
    _mm512_mask_storeu_ps(dst, m0, w0);
    _mm512_mask_storeu_ps(dst + 16, m1, w1);
}

T512 INL void dequant_bits(const RtNbitsWeight *w, const int bits, int64_t n0, int64_t n1, int64_t k0, int64_t k1,
                           float *tile, int64_t ldt, float *zbuf) {
    const int64_t NG = w->NG, b0 = k0 / RT_QBLOCK_K, b1 = (k1 + RT_QBLOCK_K - 1) / RT_QBLOCK_K;
    const int64_t bpg = w->G / RT_QBLOCK_K;
    const size_t bb = RT_QBLOCK_BYTES(bits);
    const __m512i sa = shifts(bits, 0), sb = shifts(bits, 1);
    if (b0 >= b1) return;
    for (int64_t n = n0; n < n1; n++) {
        const uint8_t *row = w->packed + (size_t)n * w->row_bytes;
        float *t = tile + (n - n0) * ldt - k0;
        if (w->gi) {
            GroupRow gr;
            group_row_make(&gr, w->scales + n * NG, w->zeros + n * NG, zbuf, NG);
            for (int64_t b = b0; b < b1; b++) {
                __m512i c0, c1;
                block_codes(bits, row + (size_t)b * bb, sa, sb, &c0, &c1);
                const int32_t *gi = w->gi + b * RT_QBLOCK_K;
                store_block(t + b * RT_QBLOCK_K, k1 - b * RT_QBLOCK_K, general_weights(&gr, c0, _mm512_loadu_si512(gi)),
                            general_weights(&gr, c1, _mm512_loadu_si512(gi + 16)));
            }
            continue;
        }
        int64_t g = b0 / bpg;
        Lut L = lut_make(bits, w->scales[n * NG + g], (float)w->zeros[n * NG + g]);
        for (int64_t b = b0; b < b1; b++) {
            if (b / bpg != g) {
                g = b / bpg;
                L = lut_make(bits, w->scales[n * NG + g], (float)w->zeros[n * NG + g]);
            }
            __m512 w0, w1;
            block_fast(bits, row + (size_t)b * bb, &L, sa, sb, &w0, &w1);
            store_block(t + b * RT_QBLOCK_K, k1 - b * RT_QBLOCK_K, w0, w1);
        }
    }
}

T512 static void avx512_dequant(const RtNbitsWeight *w, int64_t n0, int64_t n1, int64_t k0, int64_t k1, float *tile,
                                int64_t ldt, float *zbuf) {
    switch (w->bits) {
    case 2: dequant_bits(w, 2, n0, n1, k0, k1, tile, ldt, zbuf); break;
    case 3: dequant_bits(w, 3, n0, n1, k0, k1, tile, ldt, zbuf); break;
    case 4: dequant_bits(w, 4, n0, n1, k0, k1, tile, ldt, zbuf); break;
    default: dequant_bits(w, 8, n0, n1, k0, k1, tile, ldt, zbuf); break;
    }
}

static int avx512_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

const RtNbitsImpl rt_nbits_impl_avx512 = {"avx512", avx512_supported, avx512_gemv, avx512_dequant};

#else /* not x86-64 with GCC-style target attributes: never selected */

static int avx512_supported(void) {
    return 0;
}

const RtNbitsImpl rt_nbits_impl_avx512 = {"avx512", avx512_supported, 0, 0};

#endif
