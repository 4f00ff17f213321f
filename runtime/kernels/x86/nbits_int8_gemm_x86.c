/*
 * nbits_int8_gemm_x86.c — MatMulNBits' int8 compute (../nbits_int8.h) for many rows of A on
 * AVX-512 VNNI: weights repacked so that a vector's 16 lanes are 16 output columns.
 *
 * The row-major kernel (nbits_int8_x86.c) gives each 32-bit lane 8 codes of one column, so
 * every 128 codes it must turn 16 lane sums into floats and scale them (cvt, mul, fma per
 * row of A). Here a thread packs a panel of 32 output columns (two halves of 16) once per
 * call: for each group of 8 codes along K, lane l holds the 4 bytes (8 nibbles) of column
 * n0 + l, exactly as the row stores them (a gather of 16 dwords). Then
 *   lo = v & 15 (the even codes), hi = (v >> 4) & 15 (the odd ones),
 *   vpdpbusd(I, lo, A's 4 even values broadcast), vpdpbusd(I, hi, A's 4 odd values)
 * sums a whole block in each lane's int32 I (at most block * 15 * 127: exact), and once per
 * block and row of A the floats follow:
 *   F += float(I) * (sb * sa),   F -= (z * sb) * (sa * S)      (lane = column)
 * so F needs no horizontal sum. Rows of A go Q8G_ROWS at a time over the packed panel
 * (16 int32 accumulators in registers), the panel (K / 8 * 128 bytes of codes, two floats
 * per block and column) staying in L1/L2. The threads split the panels; each output is
 * computed by one thread in a fixed order (results do not depend on the thread count).
 * Columns past N are packed as zeros and not stored.
 *
 * Packed once: when the weight's inputs are graph constants and the node keeps a state
 * (kernel.h), the first call packs every panel into one state block (a Q8gState header, then
 * the panels, n_panels x panel_bytes, ~ the codes' bytes + 8 bytes per block and column) and
 * later calls read them from there (bench_nbits_int8, 4096 x 4096 at 128 rows: 1-4% of a call
 * was the packing, which 128 rows amortize well). The panels' bytes are the per-call packing's, so
 * the results are the same bits. A state block that is not this layout for this weight
 * (another shape, another kernel's) is neither used nor replaced: the call packs per panel.
 */
#include <stdlib.h>
#include <string.h>

#include "../../rt_threads.h"
#include "../nbits_int8.h"
#include "transpose16.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define TVNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,bmi,bmi2")))
#define INL static inline __attribute__((always_inline))

#define Q8G_ROWS 8 /* rows of A per pass over a panel: 2 x Q8G_ROWS int32 accumulators */
#define Q8G_COLS 32 /* output columns per panel: two vectors of 16 */

typedef struct {
    const RtQ4Weight *w;
    int64_t M, K8;        /* rows of A; groups of 8 codes along K: n_blocks * block / 8 */
    const int32_t *ev;    /* [M, K8]: A's quantized values 8 k8 + 0, 2, 4, 6 as 4 bytes */
    const int32_t *od;    /* [M, K8]: 8 k8 + 1, 3, 5, 7 */
    const float *sa;      /* [M, n_blocks] */
    const float *asa;     /* [M, n_blocks]: sa * S (S = the block's sum of quantized A) */
    const float *bias;    /* [N] or NULL */
    float *y;             /* [M, N] */
    uint8_t *panels;      /* [slots][panel_bytes] scratch, one per chunk of work (NULL with kept) */
    const uint8_t *kept;  /* [n_panels][panel_bytes] every panel packed (the node's state), or NULL */
    size_t panel_bytes;
    int64_t slots, n_panels;
} Q8Gemm;

/* The node state's header; the panels follow at the first 64-byte boundary after it. The
 * weight's pointers and shapes say which weight it packs (constants keep their address). */
#define Q8G_STATE_MAGIC 0x38513447504b5751ull /* "QWKPG4Q8" */
typedef struct {
    uint64_t magic;                   /* Q8G_STATE_MAGIC (a foreign block's first word differs) */
    int64_t N, K8, n_blocks, block;   /* the weight's shape and its packed groups of 8 codes */
    int64_t qblock_order;
    const void *b, *scales, *zp, *zp_bytes; /* borrowed: the weight it was packed from */
    size_t panel_bytes;               /* bytes of one panel (a multiple of 64) */
} Q8gState;

static const uint8_t *q8g_state_panels(const Q8gState *s) {
    return (const uint8_t *)(((uintptr_t)(s + 1) + 63) & ~(uintptr_t)63);
}

/* Panel at column n0 into buf: codes [K8][2][64 bytes], then sb [n_blocks][32] and
 * z * sb [n_blocks][32] floats (0 past N). Each half (16 columns) moves 16 rows x 16 dwords
 * (codes) or 16 rows x 16 blocks (scales, z * sb) at a time through a 16 x 16 transpose. */
TVNNI static void q8g_pack(const Q8Gemm *g, int64_t n0, uint8_t *buf) {
    const RtQ4Weight *w = g->w;
    const int64_t nb = w->n_blocks;
    float *sbp = (float *)(buf + g->K8 * 128), *zsp = sbp + nb * Q8G_COLS;
    const __m512i shift = _mm512_setr_epi32(0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4);
    for (int h = 0; h < 2; h++) {
        const int64_t first = n0 + 16 * h;
        const int64_t dwords = w->row_bytes / 4; /* the row's; K8 past them: codes 0 */
        for (int64_t k8 = 0; k8 < g->K8; k8 += 16) {
            const int64_t cnt = g->K8 - k8 < 16 ? g->K8 - k8 : 16;
            const int64_t have = dwords - k8 < cnt ? (dwords - k8 > 0 ? dwords - k8 : 0) : cnt;
            const __mmask16 m = (__mmask16)((1u << have) - 1);
            __m512 r[16];
            for (int i = 0; i < 16; i++)
                r[i] = first + i < w->N ? _mm512_maskz_loadu_ps(m, w->b + (first + i) * w->row_bytes + 4 * k8)
                                        : _mm512_setzero_ps();
            rt_tr16_ps(r);
            for (int64_t j = 0; j < cnt; j++) _mm512_store_ps((float *)(buf + ((k8 + j) * 2 + h) * 64), r[j]);
        }
        for (int64_t b = 0; b < nb; b += 16) {
            const int64_t cnt = nb - b < 16 ? nb - b : 16;
            const __mmask16 m = (__mmask16)((1u << cnt) - 1);
            __m512 s[16], z[16];
            for (int i = 0; i < 16; i++) {
                const int64_t n = first + i;
                if (n >= w->N) {
                    s[i] = z[i] = _mm512_setzero_ps();
                    continue;
                }
                s[i] = _mm512_maskz_loadu_ps(m, w->scales + n * nb + b);
                __m512 zf = _mm512_set1_ps(8.0f);
                if (w->zp_bytes) {
                    zf = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, w->zp_bytes + n * nb + b)));
                } else if (w->zp) { /* 16 zero points = 8 bytes; byte j's nibbles go to lanes 2j, 2j + 1 */
                    __m128i zb = _mm_maskz_loadu_epi8((__mmask16)((1u << ((cnt + 1) / 2)) - 1), w->zp + n * w->zp_row + b / 2);
                    zb = _mm_unpacklo_epi8(zb, zb);
                    zf = _mm512_cvtepi32_ps(
                        _mm512_and_si512(_mm512_srlv_epi32(_mm512_cvtepu8_epi32(zb), shift), _mm512_set1_epi32(15)));
                }
                z[i] = _mm512_mul_ps(zf, s[i]);
            }
            rt_tr16_ps(s);
            rt_tr16_ps(z);
            for (int64_t j = 0; j < cnt; j++) {
                _mm512_storeu_ps(sbp + (b + j) * Q8G_COLS + 16 * h, s[j]);
                _mm512_storeu_ps(zsp + (b + j) * Q8G_COLS + 16 * h, z[j]);
            }
        }
    }
}

/* Rows m0 .. m0 + R - 1 of the panel at n0 (packed in buf). */
TVNNI INL void q8g_rows(const int R, const Q8Gemm *g, const uint8_t *buf, int64_t m0, int64_t n0) {
    const RtQ4Weight *w = g->w;
    const int64_t nb = w->n_blocks, steps = w->block / 8;
    const float *sbp = (const float *)(buf + g->K8 * 128), *zsp = sbp + nb * Q8G_COLS;
    const __m512i nib = _mm512_set1_epi8(15);
    __m512 F[Q8G_ROWS][2];
    for (int r = 0; r < R; r++) F[r][0] = F[r][1] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        __m512i I[Q8G_ROWS][2];
        for (int r = 0; r < R; r++) I[r][0] = I[r][1] = _mm512_setzero_si512();
        const uint8_t *pv = buf + b * steps * 128;
        for (int64_t s = 0; s < steps; s++, pv += 128) {
            const int64_t k8 = b * steps + s;
            const __m512i v0 = _mm512_load_si512(pv), v1 = _mm512_load_si512(pv + 64);
            const __m512i lo0 = _mm512_and_si512(v0, nib), hi0 = _mm512_and_si512(_mm512_srli_epi16(v0, 4), nib);
            const __m512i lo1 = _mm512_and_si512(v1, nib), hi1 = _mm512_and_si512(_mm512_srli_epi16(v1, 4), nib);
            for (int r = 0; r < R; r++) {
                const __m512i e = _mm512_set1_epi32(g->ev[(m0 + r) * g->K8 + k8]);
                const __m512i o = _mm512_set1_epi32(g->od[(m0 + r) * g->K8 + k8]);
                I[r][0] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(I[r][0], lo0, e), hi0, o);
                I[r][1] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(I[r][1], lo1, e), hi1, o);
            }
        }
        const __m512 sb0 = _mm512_loadu_ps(sbp + b * Q8G_COLS), sb1 = _mm512_loadu_ps(sbp + b * Q8G_COLS + 16);
        const __m512 zs0 = _mm512_loadu_ps(zsp + b * Q8G_COLS), zs1 = _mm512_loadu_ps(zsp + b * Q8G_COLS + 16);
        for (int r = 0; r < R; r++) {
            const __m512 sa = _mm512_set1_ps(g->sa[(m0 + r) * nb + b]), as = _mm512_set1_ps(g->asa[(m0 + r) * nb + b]);
            F[r][0] = _mm512_fnmadd_ps(zs0, as, _mm512_fmadd_ps(_mm512_cvtepi32_ps(I[r][0]), _mm512_mul_ps(sb0, sa), F[r][0]));
            F[r][1] = _mm512_fnmadd_ps(zs1, as, _mm512_fmadd_ps(_mm512_cvtepi32_ps(I[r][1]), _mm512_mul_ps(sb1, sa), F[r][1]));
        }
    }
    for (int h = 0; h < 2; h++) {
        const int64_t first = n0 + 16 * h, valid = w->N - first;
        if (valid <= 0) break;
        const __mmask16 vm = valid >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << valid) - 1);
        const __m512 bias = g->bias ? _mm512_maskz_loadu_ps(vm, g->bias + first) : _mm512_setzero_ps();
        for (int r = 0; r < R; r++)
            _mm512_mask_storeu_ps(g->y + (m0 + r) * w->N + first, vm,
                                  g->bias ? _mm512_add_ps(F[r][h], bias) : F[r][h]);
    }
}

TVNNI static void q8g_chunk(void *arg, int64_t s0, int64_t s1) {
    const Q8Gemm *g = arg;
    for (int64_t s = s0; s < s1; s++) {
        uint8_t *scratch = g->kept ? NULL : g->panels + (size_t)s * g->panel_bytes;
        int64_t p0, p1;
        rt_chunk_range(g->n_panels, g->slots, s, &p0, &p1);
        for (int64_t p = p0; p < p1; p++) {
            const int64_t n0 = p * Q8G_COLS;
            const uint8_t *buf = g->kept ? g->kept + (size_t)p * g->panel_bytes : scratch;
            if (!g->kept) q8g_pack(g, n0, scratch);
            for (int64_t m0 = 0; m0 < g->M; m0 += Q8G_ROWS) switch (g->M - m0 < Q8G_ROWS ? g->M - m0 : Q8G_ROWS) {
                case 1: q8g_rows(1, g, buf, m0, n0); break;
                case 2: q8g_rows(2, g, buf, m0, n0); break;
                case 3: q8g_rows(3, g, buf, m0, n0); break;
                case 4: q8g_rows(4, g, buf, m0, n0); break;
                case 5: q8g_rows(5, g, buf, m0, n0); break;
                case 6: q8g_rows(6, g, buf, m0, n0); break;
                case 7: q8g_rows(7, g, buf, m0, n0); break;
                default: q8g_rows(8, g, buf, m0, n0); break;
                }
        }
    }
}

TVNNI static void q8g_pack_chunk(void *arg, int64_t p0, int64_t p1) {
    const Q8Gemm *g = arg;
    for (int64_t p = p0; p < p1; p++) q8g_pack(g, p * Q8G_COLS, (uint8_t *)g->kept + (size_t)p * g->panel_bytes);
}

static int q8g_state_matches(const Q8gState *s, const Q8Gemm *g) {
    const RtQ4Weight *w = g->w;
    return s->magic == Q8G_STATE_MAGIC && s->N == w->N && s->K8 == g->K8 && s->n_blocks == w->n_blocks &&
           s->block == w->block && s->qblock_order == w->qblock_order && s->b == (const void *)w->b &&
           s->scales == (const void *)w->scales && s->zp == (const void *)w->zp &&
           s->zp_bytes == (const void *)w->zp_bytes && s->panel_bytes == g->panel_bytes;
}

/* Every panel of the weight, packed in the node's state (made and filled on the first call,
 * the threads splitting the panels), or NULL: no state kept, a weight input that is not a
 * constant, no memory, or the node's block is not this weight's panels. */
static const uint8_t *q8g_kept_panels(RtKernelCtx *c, Q8Gemm *g) {
    const uint64_t inputs = g->w->inputs;
    if (!c->node_state || !c->state_alloc || !inputs || (c->const_inputs & inputs) != inputs) return NULL;
    if (*c->node_state) {
        const Q8gState *s = *c->node_state;
        return q8g_state_matches(s, g) ? q8g_state_panels(s) : NULL;
    }
    if ((uint64_t)g->n_panels > (SIZE_MAX - sizeof(Q8gState) - 64) / g->panel_bytes) return NULL;
    const size_t bytes = sizeof(Q8gState) + 64 + g->panel_bytes * (size_t)g->n_panels;
    Q8gState *s = c->state_alloc->alloc(c->state_alloc->user, bytes);
    if (!s) return NULL; /* packed per call */
    const RtQ4Weight *w = g->w;
    *s = (Q8gState){Q8G_STATE_MAGIC, w->N, g->K8, w->n_blocks, w->block, w->qblock_order, w->b, w->scales, w->zp,
                    w->zp_bytes, g->panel_bytes};
    g->kept = q8g_state_panels(s);
    rt_parallel_for(c->pool, g->n_panels, 1, q8g_pack_chunk, g);
    *c->node_state = s;
    return g->kept;
}

int rt_q4q8_gemm_vnni(RtKernelCtx *c, const RtQ4Weight *w, const int8_t *q, const float *sa, const int32_t *sum,
                      int64_t M, const float *bias, float *y) {
    const int64_t nb = w->n_blocks, Kp = nb * w->block;
    Q8Gemm g = {w, M, Kp / 8, NULL, NULL, sa, NULL, bias, y, NULL, NULL, 0, 0, (w->N + Q8G_COLS - 1) / Q8G_COLS};
    g.panel_bytes = (size_t)(g.K8 * 128) + sizeof(float) * 2 * (size_t)(nb * Q8G_COLS);
    g.slots = rt_pool_chunks(c->pool, g.n_panels, 1);
    g.kept = q8g_kept_panels(c, &g);
    int32_t *ev = rt_scratch(c, sizeof(int32_t) * (size_t)(M * g.K8 + 1));
    int32_t *od = rt_scratch(c, sizeof(int32_t) * (size_t)(M * g.K8 + 1));
    float *asa = rt_scratch(c, sizeof(float) * (size_t)(M * nb + 1));
    uint8_t *panels = g.kept ? NULL : rt_scratch(c, g.panel_bytes * (size_t)(g.slots ? g.slots : 1) + 64);
    int r = ev && od && asa && (panels || g.kept) ? RT_OK : RT_ERR_NOMEM;
    if (r == RT_OK) {
        for (int64_t i = 0; i < M * g.K8; i++) {
            /* the codes in the low and high nibbles of the 4 bytes of dword k8 = i % K8:
             * 8 k8 + 2 b and + 1, or in qblock.h's order (dword w of a 32-code block, byte b:
             * codes 8 b + w and 8 b + 4 + w) */
            const int64_t k8 = i % g.K8;
            const int8_t *x = w->qblock_order ? q + (i - k8) * 8 + (k8 / 4) * 32 + k8 % 4 : q + 8 * i;
            const int st = w->qblock_order ? 8 : 2, hi = w->qblock_order ? 4 : 1;
            const uint8_t e[4] = {(uint8_t)x[0], (uint8_t)x[st], (uint8_t)x[2 * st], (uint8_t)x[3 * st]};
            const uint8_t o[4] = {(uint8_t)x[hi], (uint8_t)x[st + hi], (uint8_t)x[2 * st + hi], (uint8_t)x[3 * st + hi]};
            memcpy(ev + i, e, 4);
            memcpy(od + i, o, 4);
        }
        for (int64_t i = 0; i < M * nb; i++) asa[i] = sa[i] * (float)sum[i];
        g.ev = ev;
        g.od = od;
        g.asa = asa;
        if (panels) g.panels = (uint8_t *)(((uintptr_t)panels + 63) & ~(uintptr_t)63);
        rt_parallel_for(c->pool, g.slots, 1, q8g_chunk, &g);
    }
    void *bufs[] = {ev, od, asa, panels};
    for (int i = 0; i < 4; i++)
        if (bufs[i]) rt_scratch_free(c, bufs[i]);
    return r;
}

#else /* not x86-64 with GCC-style target attributes */

int rt_q4q8_gemm_vnni(RtKernelCtx *c, const RtQ4Weight *w, const int8_t *q, const float *sa, const int32_t *sum,
                      int64_t M, const float *bias, float *y) {
    (void)w, (void)q, (void)sa, (void)sum, (void)M, (void)bias, (void)y;
    return rt_fail(c, "MatMulNBits: the VNNI int8 kernel is not built for this target");
}

#endif
