/*
 * nbits_int8_x86.c — MatMulNBits' int8 compute (accuracy_level 4; ../nbits_int8.h) on
 * AVX-512 VNNI: the integer sums of ref/nbits_int8.c with vpdpbusd (u8 codes x s8 A, 64
 * multiply-adds an instruction against 16 for a float FMA).
 *
 * A weight row is one nibble stream (blocks follow each other, block / 2 bytes each). It is
 * read 64 bytes (128 codes, a "chunk") at a time: the low nibbles are the even codes, the high
 * nibbles the odd ones, so A is laid out per chunk the same way (Ax: 64 bytes of A's even
 * columns, then 64 of its odd columns). Two vpdpbusd give 16 int32 lanes, lane l the sum
 * over codes 128c + 8l .. 128c + 8l + 7: a block of 32 is 4 lanes, 64 is 8, 128+ all 16.
 * Each lane's integer sum becomes float and is multiplied by its block's sa * sb (lane
 * vectors: SAL from A, the weight's scales spread by vpermps, 16 blocks' loaded at once)
 * into a float accumulator, which also takes the zero points' part, -z sb (sa S) for 16
 * blocks at a time (ASA = sa * S from A). The integer parts equal the reference's; the float
 * sums run in another order (lanes and blocks interleaved, then the lanes), which is all
 * that differs.
 *
 * Rows of A go in batches of up to Q8_ROWS and (past two rows) weight rows Q8_COLS at a
 * time, each chunk of weights decoded once for the batch and each chunk of A read once for
 * the Q8_COLS columns; the output columns split over the threads, and within a thread's
 * range tiles of Q8_TILE_BYTES of packed weights stay in cache while every batch of rows
 * passes over them. A thread's outputs are each computed whole by it, in a fixed order:
 * results do not depend on the thread count.
 */
#include <stdlib.h>
#include <string.h>

#include "../../rt_threads.h"
#include "../nbits_int8.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define TVNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,bmi,bmi2")))
#define INL static inline __attribute__((always_inline))

#define Q8_ROWS 4                 /* rows of A per pass over the weights */
#define Q8_COLS 4                 /* weight rows decoded together (Q8_ROWS x Q8_COLS accumulators) */
#ifndef Q8_GEMM_ROWS
/* From this many rows of A on, the repacked GEMM (nbits_int8_gemm_x86.c) runs: 4096 x 4096
 * in cache, 4 rows 0.89 ms a call here, 1.01 repacked; 6 rows 1.37 and 1.22. */
#define Q8_GEMM_ROWS 6
#endif
/* Software prefetch of a lone weight row (one column at a time: batch 1 and 2), this many
 * bytes ahead into L1, for blocks under 128 codes; blocks of 128 or more (a plainer stream:
 * one scale a chunk) prefetch nothing. Cold 4096 x 4096, 1 thread, milliseconds a call
 * (three alternated runs each): block 32: 4 KiB 0.372-0.411, 2 KiB 0.40-0.48, none
 * 0.41-0.42, 4 KiB into L2 0.46-0.47; block 128: none 0.335-0.348, 2 KiB 0.40, 4 KiB 0.39-0.41. */
#ifndef Q8_PREFETCH_BYTES
#define Q8_PREFETCH_BYTES 4096
#endif
#define Q8_TILE_BYTES (96 * 1024) /* packed weights one thread keeps in L2 across row batches */

int rt_q4q8_vnni_supported(void) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vnni");
}

/* A quantized and laid out for the chunk loop (all arrays from scratch). */
typedef struct {
    const RtQ4Weight *w;
    int64_t M, nc;     /* rows; chunks per row: ceil(Kp / 128) */
    int64_t nb16;      /* n_blocks rounded up to 16 */
    /* Per batch of R rows (Q8_ROWS, the last batch the rows left: m = Q8_ROWS * batch + i),
     * chunk by chunk, so that one pointer walks a batch (A's rows stay dense when M < Q8_ROWS): */
    const int8_t *ax;  /* [batches, nc, R, 128]: A's 64 even columns, then its 64 odd ones */
    const float *sal;  /* [batches, nc, R, 16]: sa of lane l's block (0 past Kp) */
    const float *asa;  /* [M, nb16]: sa * S per block (0 past n_blocks) */
    const float *bias; /* [N] or NULL */
    float *y;          /* [M, N] */
    int64_t slots;     /* thread ranges of N */
} Q8Run;

/* Lane l of chunk c (codes 128c + 8l ...) lies in block b0 + idx[l], b0 = 128c / block. */
TVNNI INL __m512i q8_lane_blocks(int64_t block) {
    const __m512i l8 = _mm512_setr_epi32(0, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120);
    return block >= 128 ? _mm512_setzero_si512() : _mm512_srlv_epi32(l8, _mm512_set1_epi32(__builtin_ctzll(block)));
}

/* Column n's scales of blocks b .. b + 15 (nv of them; 0 past) into *s; returns z * sb,
 * the zero points' factor of those blocks' terms -z sb (sa S). */
TVNNI INL __m512 q8_zs16(const RtQ4Weight *w, int64_t n, int64_t b, int64_t nv, __m512 *s) {
    const int64_t nb = w->n_blocks;
    const __m512i shift = _mm512_setr_epi32(0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4);
    *s = _mm512_maskz_loadu_ps((__mmask16)((1u << nv) - 1), w->scales + n * nb + b);
    __m512 z = _mm512_set1_ps(8.0f);
    if (w->zp_bytes) {
        z = _mm512_cvtepi32_ps(
            _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8((__mmask16)((1u << nv) - 1), w->zp_bytes + n * nb + b)));
    } else if (w->zp) { /* 16 zero points = 8 bytes; byte j's nibbles go to lanes 2j, 2j + 1 */
        const int64_t bytes = (nv + 1) / 2;
        __m128i zb = _mm_maskz_loadu_epi8((__mmask16)((1u << bytes) - 1), w->zp + n * w->zp_row + b / 2);
        zb = _mm_unpacklo_epi8(zb, zb);
        z = _mm512_cvtepi32_ps(
            _mm512_and_si512(_mm512_srlv_epi32(_mm512_cvtepu8_epi32(zb), shift), _mm512_set1_epi32(15)));
    }
    return _mm512_mul_ps(z, *s);
}

/* Chunk c of the C weight rows at p (row stride row_bytes; `bytes` of its 64 valid) against
 * the R rows of A at a / sl (this chunk's): acc[j][r] += the lanes' sums times their blocks'
 * sa * sb. The lanes' scales sb: BC (blocks of 128 codes or more, one block a chunk) the
 * broadcast of bs[j * n_blocks]; else lane l takes element idx[l] of s16[j]. */
TVNNI INL void q8_chunk_acc(const int R, const int C, const int BC, const RtQ4Weight *w, const uint8_t *p,
                            __mmask64 bytes, const float *bs, const __m512 *s16, __m512i idx, const int8_t *a,
                            const float *sl, __m512 acc[Q8_COLS][Q8_ROWS]) {
    const __m512i nib = _mm512_set1_epi8(15);
    for (int j = 0; j < C; j++) {
        const uint8_t *pj = p + j * w->row_bytes;
        if (C > 1) _mm_prefetch((const char *)pj + C * w->row_bytes, _MM_HINT_T0); /* the next tile's row */
        else if (!BC) _mm_prefetch((const char *)pj + Q8_PREFETCH_BYTES, _MM_HINT_T0);
        const __m512i v = _mm512_maskz_loadu_epi8(bytes, pj);
        const __m512i lo = _mm512_and_si512(v, nib), hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), nib);
        const __m512 sb = BC ? _mm512_set1_ps(bs[j * w->n_blocks]) : _mm512_permutexvar_ps(idx, s16[j]);
        for (int r = 0; r < R; r++) {
            __m512i d = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, _mm512_loadu_si512(a + r * 128));
            d = _mm512_dpbusd_epi32(d, hi, _mm512_loadu_si512(a + r * 128 + 64));
            const __m512 s = _mm512_mul_ps(sb, _mm512_loadu_ps(sl + r * 16));
            acc[j][r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), s, acc[j][r]);
        }
    }
}

/* Outputs n .. n + C - 1 (C <= Q8_COLS) of rows m0 .. m0 + R - 1 (R <= Q8_ROWS): per chunk
 * each of the C weight rows is decoded once and meets the R rows of A (read once per chunk
 * for all C columns). The blocks go 16 at a time (block / 8 chunks): their scales are loaded
 * once and their zero points' terms -z sb (sa S) join the same accumulators, so one
 * reduction per output ends it (a separate pass over the zero points with its own reduction
 * was a quarter of the in-cache batch-1 time at block 32). The whole chunks run with
 * loop-invariant masks; a last partial chunk (the row's bytes or blocks end inside it) with
 * its own. BC: w->block >= 128. Blocks are powers of two (MatMulNBits' block_size). */
TVNNI INL void q8_tile(const int R, const int C, const int BC, const Q8Run *g, int64_t m0, int64_t n) {
    const RtQ4Weight *w = g->w;
    const int64_t nb = w->n_blocks, full = w->row_bytes / 64, G = w->block / 8; /* chunks per 16 blocks */
    const int lg = __builtin_ctzll((unsigned long long)w->block) - 7;          /* BC: chunk c's block c >> lg */
    const __m512i idx = q8_lane_blocks(w->block), per = _mm512_set1_epi32(BC ? 0 : (int)(128 / w->block));
    __m512 acc[Q8_COLS][Q8_ROWS], s16[Q8_COLS];
    for (int j = 0; j < C; j++)
        for (int r = 0; r < R; r++) acc[j][r] = _mm512_setzero_ps();
    const int8_t *a = g->ax + m0 * g->nc * 128; /* batches before m0 are whole: Q8_ROWS rows */
    const float *sl = g->sal + m0 * g->nc * 16;
    const uint8_t *p = w->b + n * w->row_bytes;
    const float *sc = w->scales + n * nb;
    for (int64_t b0 = 0, c0 = 0; b0 < nb; b0 += 16, c0 += G) {
        const int64_t nv = nb - b0 < 16 ? nb - b0 : 16, c1 = c0 + G < full ? c0 + G : full;
        for (int j = 0; j < C; j++) {
            const __m512 zs = q8_zs16(w, n + j, b0, nv, &s16[j]);
            for (int r = 0; r < R; r++)
                acc[j][r] = _mm512_fnmadd_ps(_mm512_loadu_ps(g->asa + (m0 + r) * g->nb16 + b0), zs, acc[j][r]);
        }
        __m512i ic = idx; /* lane l's block, counted from b0 */
#pragma GCC unroll 2
        for (int64_t c = c0; c < c1; c++, a += R * 128, sl += R * 16, p += 64, ic = _mm512_add_epi32(ic, per))
            q8_chunk_acc(R, C, BC, w, p, ~(__mmask64)0, sc + b0 + (BC ? (c - c0) >> lg : 0), s16, ic, a, sl, acc);
    }
    if (full < g->nc) { /* 16, 32 or 48 bytes left: whole blocks of 32 or 64 */
        const int64_t left = w->row_bytes - 64 * full, bt = 128 * full / w->block;
        for (int j = 0; j < C; j++)
            s16[j] = _mm512_maskz_loadu_ps((__mmask16)((1u << (nb - bt)) - 1), sc + j * nb + bt);
        q8_chunk_acc(R, C, 0, w, p, (__mmask64)((1ull << left) - 1), sc, s16, idx, a, sl, acc);
    }
    for (int j = 0; j < C; j++)
        for (int r = 0; r < R; r++) {
            const float v = _mm512_reduce_add_ps(acc[j][r]);
            g->y[(m0 + r) * w->N + n + j] = g->bias ? v + g->bias[n + j] : v;
        }
}

/* Rows m0 .. m0 + R - 1 over columns [n0, n1): Q8_COLS at a time, then one by one. With
 * one or two rows of A the layer is bound by reading the weights, which streams best one row
 * at a time (4096 x 4096, block 32, one row: 0.50 ms a call one row at a time, 0.80 four at
 * a time; the other way round once the rows of A make it compute bound). */
TVNNI INL void q8_rows(const int R, const Q8Run *g, int64_t m0, int64_t n0, int64_t n1) {
    int64_t n = n0;
    if (g->w->block >= 128) {
        if (g->M > 2)
            for (; n + Q8_COLS <= n1; n += Q8_COLS) q8_tile(R, Q8_COLS, 1, g, m0, n);
        for (; n < n1; n++) q8_tile(R, 1, 1, g, m0, n);
    } else {
        if (g->M > 2)
            for (; n + Q8_COLS <= n1; n += Q8_COLS) q8_tile(R, Q8_COLS, 0, g, m0, n);
        for (; n < n1; n++) q8_tile(R, 1, 0, g, m0, n);
    }
}

TVNNI static void q8_range(const Q8Run *g, int64_t n0, int64_t n1) {
    for (int64_t m0 = 0; m0 < g->M; m0 += Q8_ROWS) switch (g->M - m0 < Q8_ROWS ? g->M - m0 : Q8_ROWS) {
        case 1: q8_rows(1, g, m0, n0, n1); break;
        case 2: q8_rows(2, g, m0, n0, n1); break;
        case 3: q8_rows(3, g, m0, n0, n1); break;
        default: q8_rows(4, g, m0, n0, n1); break;
        }
}

/* A thread's range of N, in tiles of Q8_TILE_BYTES of packed weights. */
TVNNI static void q8_chunk(void *arg, int64_t s0, int64_t s1) {
    const Q8Run *g = arg;
    const int64_t tile = Q8_TILE_BYTES / g->w->row_bytes > 0 ? Q8_TILE_BYTES / g->w->row_bytes : 1;
    for (int64_t s = s0; s < s1; s++) {
        int64_t n0, n1;
        rt_chunk_range(g->w->N, g->slots, s, &n0, &n1);
        for (int64_t t = n0; t < n1; t += tile) q8_range(g, t, t + tile < n1 ? t + tile : n1);
    }
}

/* Ax, SAL and ASA of row m from its quantized values (q [Kp], sa and S [n_blocks]). */
TVNNI static void q8_layout_row(const Q8Run *g, const int8_t *q, const float *sa, const int32_t *sum, int64_t m,
                                int8_t *ax, float *sal, float *asa) {
    const RtQ4Weight *w = g->w;
    const int64_t Kp = w->n_blocks * w->block;
    const int64_t m0 = m / Q8_ROWS * Q8_ROWS, i = m - m0, rows = g->M - m0 < Q8_ROWS ? g->M - m0 : Q8_ROWS;
    float *as = asa + m * g->nb16;
    int64_t b = 0;
    for (int64_t c = 0; c < g->nc; c++) {
        int8_t *x = ax + (m0 * g->nc + c * rows + i) * 128;
        float *sl = sal + (m0 * g->nc + c * rows + i) * 16;
        if (!w->qblock_order && 128 * (c + 1) <= Kp) { /* the even bytes (vpmovwb keeps words' low bytes), the odd */
            const __m512i v0 = _mm512_loadu_si512(q + 128 * c), v1 = _mm512_loadu_si512(q + 128 * c + 64);
            _mm256_storeu_si256((__m256i *)x, _mm512_cvtepi16_epi8(v0));
            _mm256_storeu_si256((__m256i *)(x + 32), _mm512_cvtepi16_epi8(v1));
            _mm256_storeu_si256((__m256i *)(x + 64), _mm512_cvtepi16_epi8(_mm512_srli_epi16(v0, 8)));
            _mm256_storeu_si256((__m256i *)(x + 96), _mm512_cvtepi16_epi8(_mm512_srli_epi16(v1, 8)));
        } else if (w->qblock_order && 128 * (c + 1) <= Kp) {
            /* qblock.h's order, per 32 codes as a 4 x 8 matrix (row r = codes 8r .. 8r + 7):
             * byte 4i + r holds codes 8r + i (low) and 8r + 4 + i (high), so the low nibbles
             * want columns 0..3 column by column, the high ones columns 4..7: rows interleaved
             * by pairs (vpshufb), then the pairs by 16-bit words */
            const __m128i pairs = _mm_setr_epi8(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
            for (int64_t g32 = 0; g32 < 4; g32++) {
                const int8_t *qb = q + 128 * c + 32 * g32;
                const __m128i r01 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)qb), pairs);
                const __m128i r23 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(qb + 16)), pairs);
                _mm_storeu_si128((__m128i *)(x + 16 * g32), _mm_unpacklo_epi16(r01, r23));
                _mm_storeu_si128((__m128i *)(x + 64 + 16 * g32), _mm_unpackhi_epi16(r01, r23));
            }
        } else {
            for (int64_t j = 0; j < 64; j++) {
                /* the codes in byte j's low and high nibbles: 2j and 2j + 1, or in qblock.h's
                 * order (byte 4 w + i of a 32-code block: codes 8 i + w and 8 i + 4 + w) */
                const int64_t bb = j % 16;
                const int64_t k = w->qblock_order ? 128 * c + 32 * (j / 16) + 8 * (bb % 4) + bb / 4 : 128 * c + 2 * j;
                const int64_t k1 = w->qblock_order ? k + 4 : k + 1;
                x[j] = k < Kp ? q[k] : 0;
                x[64 + j] = k1 < Kp ? q[k1] : 0;
            }
        }
        for (int64_t l = 0; l < 16; l++) { /* lane l's block: b, walked up (no division a lane) */
            const int64_t k = 128 * c + 8 * l;
            while (b + 1 < w->n_blocks && k >= (b + 1) * w->block) b++;
            sl[l] = k < Kp ? sa[b] : 0.0f;
        }
    }
    for (b = 0; b < g->nb16; b++) as[b] = b < w->n_blocks ? sa[b] * (float)sum[b] : 0.0f;
}

/* One block of n floats (n <= block) into q[block] (zero past n); returns sa, sets *sum: the
 * reference's q8_block (ref/nbits_int8.c) operation for operation. max(|a|, m) keeps m when
 * |a| is NaN, as fmaxf does; the products round half to even (the default MXCSR mode, as
 * nearbyintf); a NaN product (a NaN, or an infinity times inv = 0) gives 0 as there. */
TVNNI static float q8_block_avx512(const float *a, int64_t n, int64_t block, int8_t *q, int32_t *sum) {
    const __m512 sign = _mm512_set1_ps(-0.0f);
    __m512 m = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 k = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        m = _mm512_max_ps(_mm512_andnot_ps(sign, _mm512_maskz_loadu_ps(k, a + i)), m);
    }
    const float amax = _mm512_reduce_max_ps(m);
    const float sa = amax / 127.0f, inv = amax != 0.0f ? 127.0f / amax : 0.0f;
    const __m512 vinv = _mm512_set1_ps(inv), hi = _mm512_set1_ps(127.0f), lo = _mm512_set1_ps(-127.0f);
    __m512i s = _mm512_setzero_si512();
    for (int64_t i = 0; i < block; i += 16) {
        const int64_t left = n - i;
        const __mmask16 k = left >= 16 ? (__mmask16)0xffff : left <= 0 ? 0 : (__mmask16)((1u << left) - 1);
        const __m512 t = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, a + i), vinv);
        const __m512 r = _mm512_min_ps(_mm512_max_ps(_mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), lo), hi);
        const __m512i v = _mm512_maskz_cvtps_epi32(_mm512_cmp_ps_mask(t, t, _CMP_ORD_Q), r);
        _mm_storeu_si128((__m128i *)(q + i), _mm512_cvtepi32_epi8(v));
        s = _mm512_add_epi32(s, v);
    }
    *sum = _mm512_reduce_add_epi32(s);
    return sa;
}

void rt_q8_quantize_rows_avx512(const float *a, int64_t M, int64_t K, int64_t block, int8_t *q, float *sa,
                                int32_t *sum) {
    const int64_t nb = (K + block - 1) / block;
    for (int64_t m = 0; m < M; m++)
        for (int64_t b = 0; b < nb; b++) {
            const int64_t k0 = b * block, n = K - k0 < block ? K - k0 : block;
            sa[m * nb + b] = q8_block_avx512(a + m * K + k0, n, block, q + m * nb * block + k0, &sum[m * nb + b]);
        }
}

/* The row-major kernel on A quantized (q, sa, sum). */
static int q8_run_rows(RtKernelCtx *c, const RtQ4Weight *w, const int8_t *q, const float *sa, const int32_t *sum,
                       int64_t M, const float *bias, float *y) {
    const int64_t nb = w->n_blocks, Kp = nb * w->block;
    Q8Run g = {w, M, (Kp + 127) / 128, (nb + 15) / 16 * 16, NULL, NULL, NULL, bias, y, 0};
    const int64_t Mb = (M + Q8_ROWS - 1) / Q8_ROWS * Q8_ROWS; /* rows rounded up to whole batches */
    int8_t *ax = rt_scratch(c, (size_t)(Mb * g.nc * 128 + 1));
    float *sal = rt_scratch(c, sizeof(float) * (size_t)(Mb * g.nc * 16 + 1));
    float *asa = rt_scratch(c, sizeof(float) * (size_t)(M * g.nb16 + 1));
    int r = ax && sal && asa ? RT_OK : RT_ERR_NOMEM;
    if (r == RT_OK) {
        for (int64_t m = 0; m < M; m++)
            q8_layout_row(&g, q + m * Kp, sa + m * nb, sum + m * nb, m, ax, sal, asa);
        g.ax = ax;
        g.sal = sal;
        g.asa = asa;
        /* enough work per thread to pay for waking it: 64 Ki multiply-adds */
        const int64_t per_n = Kp * M;
        g.slots = rt_pool_chunks(c->pool, w->N, per_n >= ((int64_t)1 << 16) ? 1 : ((int64_t)1 << 16) / per_n);
        rt_parallel_for(c->pool, g.slots, 1, q8_chunk, &g);
    }
    void *bufs[] = {ax, sal, asa};
    for (int i = 0; i < 3; i++)
        if (bufs[i]) rt_scratch_free(c, bufs[i]);
    return r;
}

int rt_q4q8_run_vnni(RtKernelCtx *c, const RtQ4Weight *w, const float *a, int64_t M, const float *bias, float *y) {
    const int64_t nb = w->n_blocks, Kp = nb * w->block;
    if (M <= 0 || w->N <= 0) return RT_OK;
    if (Kp <= 0) { /* empty sums: the bias */
        for (int64_t i = 0; i < M * w->N; i++) y[i] = bias ? bias[i % w->N] : 0.0f;
        return RT_OK;
    }
    /* The chunk loops take a block's lanes by shifts (powers of two, as MatMulNBits' block_size);
     * LinearNBits' groups need only be multiples of 32: others run the reference. */
    if (w->block & (w->block - 1)) return rt_q4q8_run_ref(c, w, a, M, bias, y);
    int8_t *q = rt_scratch(c, (size_t)(M * Kp + 1));
    float *sa = rt_scratch(c, sizeof(float) * (size_t)(M * nb + 1));
    int32_t *sum = rt_scratch(c, sizeof(int32_t) * (size_t)(M * nb + 1));
    int r = q && sa && sum ? RT_OK : RT_ERR_NOMEM;
    if (r == RT_OK) {
        rt_q8_quantize_rows_avx512(a, M, w->K, w->block, q, sa, sum);
        r = M >= Q8_GEMM_ROWS ? rt_q4q8_gemm_vnni(c, w, q, sa, sum, M, bias, y) : q8_run_rows(c, w, q, sa, sum, M, bias, y);
    }
    void *bufs[] = {q, sa, sum};
    for (int i = 0; i < 3; i++)
        if (bufs[i]) rt_scratch_free(c, bufs[i]);
    return r;
}

#else /* not x86-64 with GCC-style target attributes */

void rt_q8_quantize_rows_avx512(const float *a, int64_t M, int64_t K, int64_t block, int8_t *q, float *sa,
                                int32_t *sum) {
    rt_q8_quantize_rows(a, M, K, block, q, sa, sum);
}

int rt_q4q8_vnni_supported(void) {
    return 0;
}

int rt_q4q8_run_vnni(RtKernelCtx *c, const RtQ4Weight *w, const float *a, int64_t M, const float *bias, float *y) {
    (void)w, (void)a, (void)M, (void)bias, (void)y;
    return rt_fail(c, "MatMulNBits: the VNNI int8 kernel is not built for this target");
}

#endif
