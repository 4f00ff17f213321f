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
 * vectors: SAL from A, the weight's scales spread by vpermps) into a float accumulator; the
 * zero points' part, -sum_b z sb (sa S)_b, is a float dot over blocks 16 at a time (ASA =
 * sa * S from A). The integer parts equal the reference's; the float sums run in another
 * order (lanes, then blocks), which is all that differs.
 *
 * Rows of A go in batches of up to Q8_ROWS, the weights decoded once per batch; the output
 * columns split over the threads, and within a thread's range tiles of Q8_TILE_BYTES of
 * packed weights stay in cache while every batch of rows passes over them.
 */
#include <stdlib.h>
#include <string.h>

#include "../../rt_threads.h"
#include "../nbits_int8.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define TVNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,bmi,bmi2")))
#define INL static inline __attribute__((always_inline))

#define Q8_ROWS 8                 /* rows of A per pass over the weights (accumulators) */
#define Q8_TILE_BYTES (96 * 1024) /* packed weights one thread keeps in L2 across row batches */
#define Q8_PREFETCH 2048          /* software prefetch distance into a packed row (bytes) */

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
    const int8_t *ax;  /* [M, nc, 128]: per chunk A's 64 even columns, then its 64 odd ones */
    const float *sal;  /* [M, nc, 16]: sa of lane l's block (0 past Kp) */
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

/* Outputs n of rows m0 .. m0 + R - 1. */
TVNNI INL void q8_rows(const int R, const Q8Run *g, int64_t m0, int64_t n) {
    const RtQ4Weight *w = g->w;
    const int64_t nb = w->n_blocks, per = w->block >= 128 ? 1 : 128 / w->block;
    const uint8_t *p = w->b + n * w->row_bytes;
    const float *sc = w->scales + n * nb;
    const __m512i nib = _mm512_set1_epi8(15), idx = q8_lane_blocks(w->block);
    __m512 acc[Q8_ROWS];
    for (int r = 0; r < R; r++) acc[r] = _mm512_setzero_ps();
    for (int64_t c = 0; c < g->nc; c++) {
        const int64_t left = w->row_bytes - 64 * c;
        const __m512i v = left >= 64 ? _mm512_loadu_si512(p + 64 * c)
                                     : _mm512_maskz_loadu_epi8((__mmask64)((1ull << left) - 1), p + 64 * c);
        _mm_prefetch((const char *)p + 64 * c + Q8_PREFETCH, _MM_HINT_T0);
        const __m512i lo = _mm512_and_si512(v, nib), hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), nib);
        const int64_t b0 = (128 * c) / w->block, cnt = nb - b0 < per ? nb - b0 : per;
        const __m512 sb = _mm512_permutexvar_ps(idx, _mm512_maskz_loadu_ps((__mmask16)((1u << cnt) - 1), sc + b0));
        for (int r = 0; r < R; r++) {
            const int8_t *a = g->ax + ((m0 + r) * g->nc + c) * 128;
            __m512i d = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, _mm512_loadu_si512(a));
            d = _mm512_dpbusd_epi32(d, hi, _mm512_loadu_si512(a + 64));
            const __m512 s = _mm512_mul_ps(sb, _mm512_loadu_ps(g->sal + ((m0 + r) * g->nc + c) * 16));
            acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), s, acc[r]);
        }
    }
    /* zero points: acc -= z_b sb_b (sa S)_b over blocks, 16 at a time */
    const __m512i shift = _mm512_setr_epi32(0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4);
    for (int64_t b = 0; b < nb; b += 16) {
        const int64_t nv = nb - b < 16 ? nb - b : 16;
        const __m512 s = _mm512_maskz_loadu_ps((__mmask16)((1u << nv) - 1), sc + b);
        __m512 z = _mm512_set1_ps(8.0f);
        if (w->zp) { /* 16 zero points = 8 bytes; byte j's nibbles go to lanes 2j, 2j + 1 */
            const int64_t bytes = (nv + 1) / 2;
            __m128i zb = _mm_maskz_loadu_epi8((__mmask16)((1u << bytes) - 1), w->zp + n * w->zp_row + b / 2);
            zb = _mm_unpacklo_epi8(zb, zb);
            z = _mm512_cvtepi32_ps(
                _mm512_and_si512(_mm512_srlv_epi32(_mm512_cvtepu8_epi32(zb), shift), _mm512_set1_epi32(15)));
        }
        const __m512 zs = _mm512_mul_ps(z, s);
        for (int r = 0; r < R; r++) acc[r] = _mm512_fnmadd_ps(_mm512_loadu_ps(g->asa + (m0 + r) * g->nb16 + b), zs, acc[r]);
    }
    for (int r = 0; r < R; r++) {
        const float v = _mm512_reduce_add_ps(acc[r]);
        g->y[(m0 + r) * w->N + n] = g->bias ? v + g->bias[n] : v;
    }
}

TVNNI static void q8_range(const Q8Run *g, int64_t n0, int64_t n1) {
    for (int64_t m0 = 0; m0 < g->M; m0 += Q8_ROWS)
        for (int64_t n = n0; n < n1; n++) switch (g->M - m0 < Q8_ROWS ? g->M - m0 : Q8_ROWS) {
            case 1: q8_rows(1, g, m0, n); break;
            case 2: q8_rows(2, g, m0, n); break;
            case 3: q8_rows(3, g, m0, n); break;
            case 4: q8_rows(4, g, m0, n); break;
            case 5: q8_rows(5, g, m0, n); break;
            case 6: q8_rows(6, g, m0, n); break;
            case 7: q8_rows(7, g, m0, n); break;
            default: q8_rows(8, g, m0, n); break;
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
static void q8_layout_row(const Q8Run *g, const int8_t *q, const float *sa, const int32_t *sum, int64_t m,
                          int8_t *ax, float *sal, float *asa) {
    const RtQ4Weight *w = g->w;
    const int64_t Kp = w->n_blocks * w->block;
    int8_t *x = ax + m * g->nc * 128;
    float *sl = sal + m * g->nc * 16, *as = asa + m * g->nb16;
    for (int64_t c = 0; c < g->nc; c++)
        for (int64_t i = 0; i < 64; i++) {
            const int64_t k = 128 * c + 2 * i;
            x[c * 128 + i] = k < Kp ? q[k] : 0;
            x[c * 128 + 64 + i] = k + 1 < Kp ? q[k + 1] : 0;
        }
    for (int64_t c = 0; c < g->nc; c++)
        for (int64_t l = 0; l < 16; l++) {
            const int64_t k = 128 * c + 8 * l;
            sl[c * 16 + l] = k < Kp ? sa[k / w->block] : 0.0f;
        }
    for (int64_t b = 0; b < g->nb16; b++) as[b] = b < w->n_blocks ? sa[b] * (float)sum[b] : 0.0f;
}

int rt_q4q8_run_vnni(RtKernelCtx *c, const RtQ4Weight *w, const float *a, int64_t M, const float *bias, float *y) {
    const int64_t nb = w->n_blocks, Kp = nb * w->block;
    Q8Run g = {w, M, (Kp + 127) / 128, (nb + 15) / 16 * 16, NULL, NULL, NULL, bias, y, 0};
    int8_t *q = rt_scratch(c, (size_t)(M * Kp + 1));
    float *sa = rt_scratch(c, sizeof(float) * (size_t)(M * nb + 1));
    int32_t *sum = rt_scratch(c, sizeof(int32_t) * (size_t)(M * nb + 1));
    int8_t *ax = rt_scratch(c, (size_t)(M * g.nc * 128 + 1));
    float *sal = rt_scratch(c, sizeof(float) * (size_t)(M * g.nc * 16 + 1));
    float *asa = rt_scratch(c, sizeof(float) * (size_t)(M * g.nb16 + 1));
    int r = q && sa && sum && ax && sal && asa ? RT_OK : RT_ERR_NOMEM;
    if (r == RT_OK) {
        rt_q8_quantize_rows(a, M, w->K, w->block, q, sa, sum);
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
    void *bufs[] = {q, sa, sum, ax, sal, asa};
    for (int i = 0; i < 6; i++)
        if (bufs[i]) rt_scratch_free(c, bufs[i]);
    return r;
}

#else /* not x86-64 with GCC-style target attributes */

int rt_q4q8_vnni_supported(void) {
    return 0;
}

int rt_q4q8_run_vnni(RtKernelCtx *c, const RtQ4Weight *w, const float *a, int64_t M, const float *bias, float *y) {
    (void)w, (void)a, (void)M, (void)bias, (void)y;
    return rt_fail(c, "MatMulNBits: the VNNI int8 kernel is not built for this target");
}

#endif
