/*
 * qdwconv.c — rt_qdw_run (qdwconv.h): int8 depthwise convolution, AVX-512 and AVX2.
 *
 * Planes. Each input plane minus its zero point is copied as int16 rows, zero where the
 * window reads padding, with the padded rows split by their index modulo the vertical
 * stride into sh "row phases" (phase rp holds padded rows i * sh + rp). A kernel row kh then
 * reads phase (kh * dh) % sh at row oh + (kh * dh) / sh. With the outputs laid out on a grid
 * of the planes' pitch, every tap reads its plane at the output's flat index (times the
 * horizontal stride) plus a constant, so a plane is one flat loop, vectorized with no regard
 * for rows or borders; columns past OW are computed too and dropped when the rows are copied
 * out (2 of 16 for 3x3 / stride 1 on 14x14).
 *
 * Taps in pairs, AVX-512 (horizontal stride 1 or 2). vpdpwssd multiplies int16 pairs, so a
 * 64-byte load at element o of a plane gives, in 32-bit lane i, the pair (o + 2i, o + 2i + 1):
 *   stride 2: pitch 2 * OP (OP outputs per row), output f reads 2 f + tap offset, so the load
 *             at 2 f + off holds in lane i two horizontally adjacent taps of output f + i:
 *             16 outputs per accumulator, one load per pair of taps;
 *   stride 1: output f reads f + off: the load at f + off serves the even outputs f + 2i and
 *             the one at f + off + 1 the odd ones: two accumulators, 32 outputs.
 * Taps one column apart pair up (3x3: (0,1) and (2,-) per row, 6 loads), no shuffles. The
 * sums are exact in int32 (|x - zx|, |w - zw| <= 255) and wrap modulo 2^32 like the
 * reference's; requantization is qvec_x86.h's single-rounding form (multipliers < 1/2).
 *
 * Channel blocks. The planes of a block of channels lie one after the other, so the flat
 * loop runs over the whole block: a vector straddling two planes takes each lane's weights
 * and multiplier from its own channel (mask blends), and small planes (7x7) cost no per-plane
 * loop overhead. Blocks are sized to stay in L2; the threads share them out.
 *
 * AVX2 and other horizontal strides: the same planes also split by column phase (phase
 * (rp, cp) holds padded pixel (i * sh + rp, j * sw + cp)), one channel per block, consecutive
 * taps paired by interleaving (unpacklo/hi_epi16) and vpmaddwd, 16 outputs per step.
 * Channels whose multiplier is >= 1/2 (rare) are recomputed by a scalar loop.
 */
#include "qdwconv.h"

#include <string.h>

#include "../../rt_threads.h"
#include "qvec_x86.h"

#if defined(__x86_64__) && defined(__GNUC__)

#define DW_MAX_TAPS 64                     /* kernels with more taps go to the reference */
#define DW_BLOCK_BYTES ((int64_t)96 << 10) /* scratch per channel block (planes + output rows) */

typedef struct {
    const RtQdw *d;
    int wide;                /* 1: the AVX-512 layout (sw 1 or 2); 0: AVX2 / column phases */
    int isa;
    int64_t cph;             /* column phases: 1 (wide) or sw */
    int64_t nph;             /* planes per channel: sh * cph */
    int64_t PH2, PW;         /* plane rows and row pitch (elements) */
    int64_t Sreal;           /* elements of a plane: PH2 * PW */
    int64_t S;               /* elements from one channel's plane to the next: Sreal rounded up (wide) */
    int64_t OP;              /* flat outputs per plane row: PW / step, step = 2 for wide stride 2, else 1 */
    int64_t step;            /* plane elements per output along a row (the wide stride-2 layout: 2) */
    int64_t Sf, F;           /* flat outputs per plane (S / step); those a plane needs: (OH-1) OP + OW */
    int64_t ntap, npair;     /* kh * kw taps; pairs of consecutive taps (AVX2) */
    int64_t toff[DW_MAX_TAPS + 1]; /* element offset of each tap in a block (and of a last partner) */
    int64_t npl;             /* wide: pair loads, taps whose offsets differ by one */
    int64_t ploff[DW_MAX_TAPS];    /* offset of each pair load's first tap */
    int pa[DW_MAX_TAPS], pb[DW_MAX_TAPS]; /* its taps; pb -1: none (weight 0) */
    int64_t cb;              /* channels per block */
    int64_t phase_el;        /* int16 elements per plane region of a block: cb * S + slack */
    int64_t nbpi, nblk;      /* blocks per image; blocks in all */
    int64_t chunks;          /* scratch slots (the threads' shares) */
    size_t off_ob, slot_bytes;
    uint8_t *scratch;        /* [chunks] slots: plane regions, then output rows [cb * Sf + 64] */
    int32_t *wp;             /* prep [M][npl or npair]: weight pairs (w - zw) as two int16 in an int32 */
    QxRowRq *rq;             /* prep [M] */
    int mode;                /* QX_OUT_* */
    int vbmi2;               /* the CPU has AVX512_VBMI2: planes by vpexpandb, rows out by vpcompressb */
    uint64_t *imask;         /* prep [S / 64 + 1] (vbmi2, sh 1): plane positions inside the input */
    uint64_t *omask;         /* prep [Sf / 64 + 1] (vbmi2): flat positions that are outputs */
} DwPlan;

/* Channels the vector loops leave to dw_scalar: multipliers >= 1/2 (e < 1). */
static int dw_is_scalar(const RtQdw *d, int64_t m) { return d->rq[m].shift > -1; }

/* The input plane of output channel m of image n. */
static const uint8_t *in_plane(const RtQdw *d, int64_t n, int64_t m) {
    return (const uint8_t *)d->x + (n * d->C + m / (d->M / d->C)) * d->IH * d->IW;
}

/* One plane row: dst[j] = x[j * cs + c0] - zx where that column is inside, 0 elsewhere
 * (plain loops, vectorized by GCC for the caller's target). */
static inline __attribute__((always_inline)) void plane_row_c(int16_t *dst, int64_t PW, const uint8_t *row,
                                                              int x_u8, int32_t zx, int64_t IW, int64_t cs, int64_t c0) {
    int64_t jlo = c0 >= 0 ? 0 : (-c0 + cs - 1) / cs, jhi = IW - c0 <= 0 ? 0 : (IW - c0 + cs - 1) / cs;
    if (jhi > PW) jhi = PW;
    if (jlo > jhi) jlo = jhi;
    for (int64_t j = 0; j < jlo; j++) dst[j] = 0;
    for (int64_t j = jlo; j < jhi; j++) {
        int64_t i = j * cs + c0;
        dst[j] = (int16_t)((x_u8 ? (int32_t)row[i] : (int32_t)(int8_t)row[i]) - zx);
    }
    for (int64_t j = jhi; j < PW; j++) dst[j] = 0;
}

/* The planes of channels [m0, m0 + cbk) of image n, portable rows (the AVX2 layout). */
static inline __attribute__((always_inline)) void planes_build_c(const DwPlan *P, int64_t n, int64_t m0, int64_t cbk,
                                                                 int16_t *pl) {
    const RtQdw *d = P->d;
    for (int64_t rp = 0; rp < d->sh; rp++)
        for (int64_t cp = 0; cp < P->cph; cp++) {
            int16_t *region = pl + (rp * P->cph + cp) * P->phase_el;
            for (int64_t j = 0; j < cbk; j++) {
                const uint8_t *xp = in_plane(d, n, m0 + j);
                for (int64_t i = 0; i < P->PH2; i++) {
                    int64_t r = i * d->sh + rp - d->pt;
                    int16_t *dst = region + j * P->S + i * P->PW;
                    if (r < 0 || r >= d->IH) memset(dst, 0, (size_t)P->PW * sizeof *dst);
                    else plane_row_c(dst, P->PW, xp + r * d->IW, d->x_u8, d->zx, d->IW, P->cph, cp - d->pl);
                }
            }
            memset(region + cbk * P->S, 0, (size_t)(P->phase_el - cbk * P->S) * sizeof *region);
        }
}

/* Multiplier >= 1/2: channel j's outputs again, scalar, with rt_requant_out. */
static void dw_scalar(const DwPlan *P, const int16_t *pl, int64_t j, int64_t m, uint8_t *ob) {
    const RtQdw *d = P->d;
    const uint8_t *w = (const uint8_t *)d->w + m * P->ntap;
    for (int64_t f = j * P->Sf; f < j * P->Sf + P->F; f++) {
        uint32_t s = d->bias ? (uint32_t)d->bias[m] : 0u;
        for (int64_t t = 0; t < P->ntap; t++) {
            int32_t wt = (d->w_u8 ? (int32_t)w[t] : (int32_t)(int8_t)w[t]) - d->zw[m];
            s += (uint32_t)((int32_t)pl[P->toff[t] + P->step * f] * wt);
        }
        ob[f] = (uint8_t)rt_requant_out((int32_t)s, d->rq[m], d->zy, d->lo, d->hi);
    }
}

/* ---------------------------------------------------------------- AVX-512 */

/* The wide layout's planes: a row is a shifted copy of the input row, 32 columns per step,
 * lanes outside the input zeroed by the mask; a store may run past the row into the next
 * (written after it) or into the slack. */
QX_T512 static void planes_build512(const DwPlan *P, int64_t n, int64_t m0, int64_t cbk, int16_t *pl) {
    const RtQdw *d = P->d;
    const int64_t PW = P->PW;
    const __m512i z = _mm512_set1_epi16((short)d->zx), zero = _mm512_setzero_si512();
    int64_t jlo = d->pl < PW ? d->pl : PW, jhi = d->pl + d->IW < PW ? d->pl + d->IW : PW; /* inside: [jlo, jhi) */
    __mmask32 mk[64];
    for (int64_t k = 0; k < PW && k < 64 * 32; k += 32) {
        int64_t a = jlo > k ? jlo : k, b = jhi < k + 32 ? jhi : k + 32;
        mk[k / 32] = b > a ? (__mmask32)((b - a >= 32 ? 0xffffffffu : (1u << (b - a)) - 1u) << (a - k)) : 0;
    }
    for (int64_t rp = 0; rp < d->sh; rp++) {
        int16_t *region = pl + rp * P->phase_el;
        for (int64_t j = 0; j < cbk; j++) {
            const uint8_t *xp = in_plane(d, n, m0 + j) - d->pl; /* column k of a padded row: xp[r * IW + k] */
            for (int64_t i = 0; i < P->PH2; i++) {
                int64_t r = i * d->sh + rp - d->pt;
                int16_t *dst = region + j * P->S + i * PW;
                if (r < 0 || r >= d->IH) {
                    for (int64_t k = 0; k < PW; k += 32) _mm512_storeu_si512(dst + k, zero);
                    continue;
                }
                const uint8_t *row = xp + r * d->IW;
                for (int64_t k = 0; k < PW; k += 32) {
                    __mmask32 m = mk[k / 32];
                    __m256i bytes = _mm256_maskz_loadu_epi8(m, row + k);
                    __m512i v = d->x_u8 ? _mm512_cvtepu8_epi16(bytes) : _mm512_cvtepi8_epi16(bytes);
                    _mm512_storeu_si512(dst + k, _mm512_maskz_sub_epi16(m, v, z));
                }
            }
            for (int64_t k = P->Sreal; k < P->S; k += 32) _mm512_storeu_si512(region + j * P->S + k, zero);
        }
        for (int64_t k = cbk * P->S; k < P->phase_el; k += 32) _mm512_storeu_si512(region + k, zero);
    }
}

/* One channel's parameters as vectors. */
typedef struct {
    __m512i w[DW_MAX_TAPS];  /* weights of the pair loads */
    __m512i bias, mult, c1, sh_ev, sh_od;
} DwLanes;

QX_T512 QX_INL void lanes_of(const DwPlan *P, int64_t m, int64_t npl, DwLanes *L) {
    const int32_t *wp = P->wp + m * P->npl;
    const QxRowRq *r = &P->rq[m];
    for (int64_t t = 0; t < npl; t++) L->w[t] = _mm512_set1_epi32(wp[t]);
    L->bias = _mm512_set1_epi32(P->d->bias ? P->d->bias[m] : 0);
    L->mult = _mm512_set1_epi32(r->mult);
    L->c1 = _mm512_set1_epi64(r->c1);
    L->sh_ev = _mm512_set1_epi64(r->sh_ev);
    L->sh_od = _mm512_set1_epi64(r->sh_od);
}

/* The accumulator of 16 outputs: bias + sum over the pair loads at element base + ploff. */
QX_T512 QX_INL __m512i dw_acc512(const DwPlan *P, const int16_t *base, const DwLanes *L, const int NPL) {
    const int64_t npl = NPL ? NPL : P->npl;
    __m512i acc = L->bias;
    for (int64_t t = 0; t < npl; t++) acc = _mm512_dpwssd_epi32(acc, _mm512_loadu_si512(base + P->ploff[t]), L->w[t]);
    return acc;
}

/* Outputs from flat position f: 32 (stride 1: even and odd accumulators) or 16 (stride 2). */
QX_T512 QX_INL void dw_vec512(const DwPlan *P, const int16_t *pl, int64_t f, const DwLanes *L, __m512i lo_z,
                              __m512i hi_z, __m512i zp, uint8_t *ob, const int NPL, const int S2) {
    if (S2) {
        __m512i acc = dw_acc512(P, pl + 2 * f, L, NPL);
        __m512i v = qx_apply512_e1(acc, L->mult, L->mult, L->c1, L->c1, L->sh_ev, L->sh_od);
        _mm_storeu_si128((__m128i *)(ob + f), qx_out8_512(v, P->mode, zp, lo_z, hi_z));
        return;
    }
    __m512i ev = dw_acc512(P, pl + f, L, NPL), od = dw_acc512(P, pl + f + 1, L, NPL);
    ev = qx_apply512_e1(ev, L->mult, L->mult, L->c1, L->c1, L->sh_ev, L->sh_od);
    od = qx_apply512_e1(od, L->mult, L->mult, L->c1, L->c1, L->sh_ev, L->sh_od);
    __m128i be = qx_out8_512(ev, P->mode, zp, lo_z, hi_z), bo = qx_out8_512(od, P->mode, zp, lo_z, hi_z);
    _mm_storeu_si128((__m128i *)(ob + f), _mm_unpacklo_epi8(be, bo));
    _mm_storeu_si128((__m128i *)(ob + f + 16), _mm_unpackhi_epi8(be, bo));
}

/* The flat loop over a block of cbk channels from channel m0; each channel's flat range is a
 * whole number of vectors (Sf), so every vector has one channel's parameters. */
QX_T512 QX_INL void dw_block512(const DwPlan *P, const int16_t *pl, int64_t m0, int64_t cbk, uint8_t *ob, const int NPL,
                                const int S2) {
    const RtQdw *d = P->d;
    const int64_t npl = NPL ? NPL : P->npl, V = S2 ? 16 : 32;
    const __m512i lo_z = _mm512_set1_epi32(d->lo - d->zy), hi_z = _mm512_set1_epi32(d->hi - d->zy);
    const __m512i zp = _mm512_set1_epi32(d->zy);
    DwLanes L;
    for (int64_t j = 0; j < cbk; j++) {
        lanes_of(P, m0 + j, npl, &L);
        for (int64_t f = j * P->Sf; f < j * P->Sf + P->F; f += V) dw_vec512(P, pl, f, &L, lo_z, hi_z, zp, ob, NPL, S2);
    }
}

QX_T512 static void dw_block512_any(const DwPlan *P, const int16_t *pl, int64_t m0, int64_t cbk, uint8_t *ob) {
    if (P->step == 2) {
        if (P->npl == 6) dw_block512(P, pl, m0, cbk, ob, 6, 1); /* 3x3 */
        else dw_block512(P, pl, m0, cbk, ob, 0, 1);
    } else {
        if (P->npl == 6) dw_block512(P, pl, m0, cbk, ob, 6, 0);
        else dw_block512(P, pl, m0, cbk, ob, 0, 0);
    }
}

/* Output rows of one plane out of the pitch-OP buffer: masked 64-byte moves. */
QX_T512 static void rows_out512(const DwPlan *P, const uint8_t *ob, uint8_t *y) {
    const int64_t OW = P->d->OW;
    for (int64_t oh = 0; oh < P->d->OH; oh++)
        for (int64_t j = 0; j < OW; j += 64) {
            int64_t n = OW - j;
            __mmask64 m = n >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << n) - 1);
            _mm512_mask_storeu_epi8(y + oh * OW + j, m, _mm512_loadu_si512(ob + oh * P->OP + j));
        }
}

#define QX_TVB __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512vbmi2,avx2,fma,bmi,bmi2")))

/* Bits [k, k + 64) of a bit array (k a multiple of 64). */
static inline uint64_t bits64(const uint64_t *a, int64_t k) { return a[k / 64]; }

/* planes_build512 for vertical stride 1 with vpexpandb: a plane is its input plane's bytes
 * spread over the interior positions (imask) 64 plane elements at a time, no row loop. */
QX_TVB static void planes_expand512(const DwPlan *P, int64_t n, int64_t m0, int64_t cbk, int16_t *pl) {
    const RtQdw *d = P->d;
    const __m512i z = _mm512_set1_epi16((short)d->zx), zero = _mm512_setzero_si512();
    for (int64_t j = 0; j < cbk; j++) {
        const uint8_t *src = in_plane(d, n, m0 + j);
        int16_t *dst = pl + j * P->S;
        for (int64_t k = 0; k < P->S; k += 64) {
            uint64_t m = bits64(P->imask, k);
            int cnt = __builtin_popcountll(m);
            __m512i v = _mm512_maskz_expand_epi8(m, _mm512_maskz_loadu_epi8(cnt >= 64 ? ~0ull : (1ull << cnt) - 1, src));
            src += cnt;
            __m512i lo = d->x_u8 ? _mm512_cvtepu8_epi16(_mm512_castsi512_si256(v)) : _mm512_cvtepi8_epi16(_mm512_castsi512_si256(v));
            __m512i hi = d->x_u8 ? _mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64(v, 1))
                                 : _mm512_cvtepi8_epi16(_mm512_extracti64x4_epi64(v, 1));
            _mm512_storeu_si512(dst + k, _mm512_maskz_sub_epi16((__mmask32)m, lo, z));
            _mm512_storeu_si512(dst + k + 32, _mm512_maskz_sub_epi16((__mmask32)(m >> 32), hi, z));
        }
    }
    for (int64_t k = cbk * P->S; k < P->phase_el; k += 32) _mm512_storeu_si512(pl + k, zero);
}

/* rows_out512 with vpcompressb: the output positions (omask) of 64 flat positions at a time. */
QX_TVB static void rows_compress512(const DwPlan *P, const uint8_t *ob, uint8_t *y) {
    for (int64_t k = 0; k < P->F; k += 64) {
        uint64_t m = bits64(P->omask, k);
        int cnt = __builtin_popcountll(m);
        __m512i v = _mm512_maskz_compress_epi8(m, _mm512_loadu_si512(ob + k));
        _mm512_mask_storeu_epi8(y, cnt >= 64 ? ~0ull : (1ull << cnt) - 1, v);
        y += cnt;
    }
}

/* ---------------------------------------------------------------- AVX2 (one channel per block) */

QX_T256 static void planes_build256(const DwPlan *P, int64_t n, int64_t m, int16_t *pl) {
    planes_build_c(P, n, m, 1, pl);
}

QX_T256 static void dw_plane256(const DwPlan *P, const int16_t *pl, int64_t m, uint8_t *ob) {
    const RtQdw *d = P->d;
    RtRequant r = dw_is_scalar(d, m) ? (RtRequant){0, 0} : d->rq[m];
    QxRq256 q = qx_rq256(r, d->zy, d->lo, d->hi);
    const int32_t *wp = P->wp + m * P->npair;
    const __m256i bias = _mm256_set1_epi32(d->bias ? d->bias[m] : 0);
    for (int64_t f = 0; f < P->F; f += 16) {
        __m256i lo = bias, hi = bias;
        for (int64_t t = 0; t < P->npair; t++) {
            __m256i a = _mm256_loadu_si256((const __m256i *)(pl + P->toff[2 * t] + f));
            __m256i b = _mm256_loadu_si256((const __m256i *)(pl + P->toff[2 * t + 1] + f));
            __m256i w = _mm256_set1_epi32(wp[t]);
            lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(a, b), w));
            hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(a, b), w));
        }
        __m256i v = _mm256_packs_epi32(qx_requant256(lo, &q), qx_requant256(hi, &q)); /* 16 int16 in order */
        __m256i bt = d->y_u8 ? _mm256_packus_epi16(v, v) : _mm256_packs_epi16(v, v);
        bt = _mm256_permute4x64_epi64(bt, 0x08); /* qwords 0 and 2: the low 8 bytes of each lane */
        _mm_storeu_si128((__m128i *)(ob + f), _mm256_castsi256_si128(bt));
    }
}

/* ---------------------------------------------------------------- driver */

static void dw_slot(void *arg, int64_t s0, int64_t s1) {
    const DwPlan *P = arg;
    const RtQdw *d = P->d;
    for (int64_t s = s0; s < s1; s++) {
        uint8_t *slot = P->scratch + (size_t)s * P->slot_bytes;
        int16_t *pl = (int16_t *)slot;
        uint8_t *ob = slot + P->off_ob;
        int64_t b0, b1;
        rt_chunk_range(P->nblk, P->chunks, s, &b0, &b1);
        for (int64_t b = b0; b < b1; b++) {
            int64_t n = b / P->nbpi, m0 = (b % P->nbpi) * P->cb, cbk = d->M - m0 < P->cb ? d->M - m0 : P->cb;
            if (P->wide) {
                if (P->imask) planes_expand512(P, n, m0, cbk, pl);
                else planes_build512(P, n, m0, cbk, pl);
                dw_block512_any(P, pl, m0, cbk, ob);
            } else {
                planes_build256(P, n, m0, pl);
                dw_plane256(P, pl, m0, ob);
            }
            for (int64_t j = 0; j < cbk; j++) {
                int64_t m = m0 + j;
                if (dw_is_scalar(d, m)) dw_scalar(P, pl, j, m, ob);
                uint8_t *y = (uint8_t *)d->y + (n * d->M + m) * d->OH * d->OW;
                if (P->omask) rows_compress512(P, ob + j * P->Sf, y);
                else if (P->isa == RT_QGEMM_VNNI) rows_out512(P, ob + j * P->Sf, y);
                else
                    for (int64_t oh = 0; oh < d->OH; oh++)
                        memcpy(y + oh * d->OW, ob + j * P->Sf + oh * P->OP, (size_t)d->OW);
            }
        }
    }
}

/* Geometry of the planes and the taps' offsets. */
static void dw_layout(DwPlan *P) {
    const RtQdw *d = P->d;
    P->wide = P->isa == RT_QGEMM_VNNI && d->sw <= 2 && d->OW + (d->kw - 1) * d->dw + 2 <= 2 * 64 * 32 / d->sw;
    P->cph = P->wide ? 1 : d->sw;
    P->nph = d->sh * P->cph;
    P->step = P->wide ? d->sw : 1;
    P->PH2 = d->OH + ((d->kh - 1) * d->dh) / d->sh;
    if (P->wide && d->sw == 2) {
        P->OP = d->OW + ((d->kw - 1) * d->dw + 1) / 2; /* the pair partner of the last tap fits the row */
        P->PW = 2 * P->OP;
    } else {
        P->PW = d->OW + ((d->kw - 1) * d->dw) / P->cph;
        P->OP = P->PW;
    }
    P->Sreal = P->PH2 * P->PW;
    P->Sf = P->Sreal / P->step;
    if (P->wide) { /* whole vectors per plane: a vector never mixes two channels */
        int64_t V = P->step == 2 ? 16 : 32;
        P->Sf = (P->Sf + V - 1) / V * V;
    }
    P->S = P->Sf * P->step;
    P->F = (d->OH - 1) * P->OP + d->OW;
    int64_t per_ch = P->S * 2 * P->nph + P->Sf;
    P->cb = P->wide ? DW_BLOCK_BYTES / per_ch : 1;
    if (P->cb < 1) P->cb = 1;
    if (P->cb > d->M) P->cb = d->M;
    P->phase_el = (P->cb * P->S + 64 + 31) / 32 * 32; /* + slack for the vector overruns */
    for (int64_t t = 0; t <= P->ntap; t++) {
        int64_t tt = t < P->ntap ? t : t - 1; /* an odd last tap pairs with itself (weight 0) */
        int64_t ky = (tt / d->kw) * d->dh, kx = (tt % d->kw) * d->dw;
        P->toff[t] = ((ky % d->sh) * P->cph + kx % P->cph) * P->phase_el + (ky / d->sh) * P->PW + kx / P->cph;
    }
    int used[DW_MAX_TAPS] = {0}; /* pair loads: each tap with the one whose offset is one more */
    for (int64_t t = 0; t < P->ntap; t++) {
        if (used[t]) continue;
        int64_t u = 0;
        while (u < P->ntap && (used[u] || u == t || P->toff[u] != P->toff[t] + 1)) u++;
        used[t] = 1;
        P->pa[P->npl] = (int)t;
        P->pb[P->npl] = u < P->ntap ? (int)u : -1;
        if (u < P->ntap) used[u] = 1;
        P->ploff[P->npl++] = P->toff[t];
    }
}

/* Sets bits [a, b) of a bit array. */
static void bits_set(uint64_t *bits, int64_t a, int64_t b) {
    while (a < b) {
        int64_t w = a / 64, e = b < (w + 1) * 64 ? b : (w + 1) * 64; /* [a, e) within word w */
        int n = (int)(e - a), s = (int)(a % 64);
        bits[w] |= (n >= 64 ? ~0ull : (1ull << n) - 1) << s;
        a = e;
    }
}

/* The plan of d (geometry, blocks, pair loads) without any memory. 0 when the kernel is too
 * large for this file (the caller leaves it to the reference). */
static int dw_plan(DwPlan *P, const RtQdw *d, RtQgemmIsa isa) {
    memset(P, 0, sizeof *P);
    P->d = d;
    P->isa = isa;
    P->ntap = d->kh * d->kw;
    if (P->ntap > DW_MAX_TAPS || P->ntap < 1) return 0;
    P->npair = (P->ntap + 1) / 2;
    dw_layout(P);
    P->mode = qx_out_mode(d->y_u8, d->lo, d->hi);
    P->nbpi = (d->M + P->cb - 1) / P->cb;
    P->nblk = d->N * P->nbpi;
    P->vbmi2 = P->wide && __builtin_cpu_supports("avx512vbmi2");
    return 1;
}

/* The constants' block: rq [M], wp [M][nw], then (VBMI2) the interior and output masks. */
static size_t dw_prep_size(const DwPlan *P, size_t *ibits, size_t *obits) {
    int64_t nw = P->wide ? P->npl : P->npair;
    *ibits = (size_t)(P->S / 64 + 1), *obits = (size_t)(P->Sf / 64 + 1);
    size_t wbytes = ((size_t)P->d->M * (sizeof(QxRowRq) + (size_t)nw * 4) + 63) & ~(size_t)63;
    return wbytes + (P->vbmi2 ? (*ibits + *obits) * 8 : 0);
}

/* Points P's constants into prep; fills them when fill. */
static void dw_prep_point(DwPlan *P, void *prep, int fill) {
    const RtQdw *d = P->d;
    size_t ibits, obits, total = dw_prep_size(P, &ibits, &obits);
    int64_t nw = P->wide ? P->npl : P->npair;
    P->rq = (QxRowRq *)prep;
    P->wp = (int32_t *)(P->rq + d->M);
    if (P->vbmi2) {
        uint64_t *ib = (uint64_t *)((uint8_t *)prep + total - (ibits + obits) * 8), *obm = ib + ibits;
        P->imask = d->sh == 1 ? ib : NULL;
        P->omask = obm;
        if (fill) { /* which plane positions read the input, which flat positions are outputs */
            memset(ib, 0, (ibits + obits) * 8);
            int64_t c0 = d->pl < P->PW ? d->pl : P->PW, c1 = d->pl + d->IW < P->PW ? d->pl + d->IW : P->PW;
            for (int64_t i = 0; i < P->PH2; i++)
                if (i - d->pt >= 0 && i - d->pt < d->IH) bits_set(ib, i * P->PW + c0, i * P->PW + c1);
            for (int64_t oh = 0; oh < d->OH; oh++) bits_set(obm, oh * P->OP, oh * P->OP + d->OW);
        }
    }
    if (!fill) return;
    int ia[DW_MAX_TAPS], ib2[DW_MAX_TAPS]; /* taps of each weight pair; ntap = the zero weight */
    for (int64_t t = 0; t < nw; t++) {
        ia[t] = P->wide ? P->pa[t] : (int)(2 * t);
        ib2[t] = P->wide ? (P->pb[t] >= 0 ? P->pb[t] : (int)P->ntap) : (int)(2 * t + 1);
    }
    for (int64_t m = 0; m < d->M; m++) { /* weights minus their zero point, in pairs */
        const uint8_t *w = (const uint8_t *)d->w + m * P->ntap;
        int16_t w16[DW_MAX_TAPS + 1];
        if (d->w_u8) for (int64_t t = 0; t < P->ntap; t++) w16[t] = (int16_t)(w[t] - d->zw[m]);
        else for (int64_t t = 0; t < P->ntap; t++) w16[t] = (int16_t)((int8_t)w[t] - d->zw[m]);
        w16[P->ntap] = 0;
        int32_t *wp = P->wp + m * nw;
        for (int64_t t = 0; t < nw; t++)
            wp[t] = (int32_t)((uint32_t)(uint16_t)w16[ia[t]] | (uint32_t)(uint16_t)w16[ib2[t]] << 16);
        P->rq[m] = qx_row_rq(dw_is_scalar(d, m) ? (RtRequant){1 << 30, -1} : d->rq[m]);
    }
}

size_t rt_qdw_prep_bytes(const RtQdw *d, RtQgemmIsa isa) {
    DwPlan P;
    size_t ib, ob;
    return dw_plan(&P, d, isa) ? dw_prep_size(&P, &ib, &ob) : 0;
}

void rt_qdw_prep(const RtQdw *d, RtQgemmIsa isa, void *prep) {
    DwPlan P;
    if (dw_plan(&P, d, isa)) dw_prep_point(&P, prep, 1);
}

int rt_qdw_run(RtKernelCtx *c, const RtQdw *d, RtQgemmIsa isa) {
    DwPlan P;
    if (!dw_plan(&P, d, isa))
        return rt_fail(c, "qdwconv: %lld taps (at most %d)", (long long)(d->kh * d->kw), DW_MAX_TAPS);
    int64_t macs = P.cb * d->OH * d->OW * P.ntap;
    P.chunks = rt_pool_chunks(c->pool, P.nblk, RT_QGEMM_MIN_PAR_MACS / (macs > 0 ? macs : 1) + 1);
    P.off_ob = ((size_t)(P.nph * P.phase_el) * 2 + 63) & ~(size_t)63;
    P.slot_bytes = rt_slot_stride((P.off_ob + (size_t)(P.cb * P.Sf + 64) + 63) & ~(size_t)63, P.chunks);
    size_t ib, ob, pbytes = d->prep ? 0 : (dw_prep_size(&P, &ib, &ob) + 63) & ~(size_t)63;
    uint8_t *buf = rt_scratch(c, pbytes + P.slot_bytes * (size_t)P.chunks);
    if (!buf) return RT_ERR_NOMEM;
    if (d->prep) dw_prep_point(&P, (void *)(uintptr_t)d->prep, 0); /* read only */
    else dw_prep_point(&P, buf, 1);
    P.scratch = buf + pbytes;
    rt_parallel_for(c->pool, P.chunks, 1, dw_slot, &P);
    rt_scratch_free(c, buf);
    return RT_OK;
}

#else /* not x86-64 GCC: never selected */

int rt_qdw_run(RtKernelCtx *c, const RtQdw *d, RtQgemmIsa isa) {
    (void)d, (void)isa;
    return rt_fail(c, "qdwconv: x86 kernels are not built for this target");
}

size_t rt_qdw_prep_bytes(const RtQdw *d, RtQgemmIsa isa) {
    (void)d, (void)isa;
    return 0;
}

void rt_qdw_prep(const RtQdw *d, RtQgemmIsa isa, void *prep) {
    (void)d, (void)isa, (void)prep;
}

#endif
