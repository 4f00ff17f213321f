/*
 * qgemm_avx2.c — rt_qgemm_run_avx2 (qgemm.h): the int8 GEMM for CPUs with AVX2 but not
 * AVX-512 VNNI.
 *
 * vpmaddubsw (u8 x s8, pairs summed into int16) saturates: 255 * 127 * 2 > 32767. So both
 * operands are widened to int16 with their zero points already subtracted (values in
 * [-255, 255]) and multiplied with vpmaddwd, whose pair sums (at most 2 * 255^2) are exact
 * in int32: acc = bias + sum_k (a - za)(b - zb) needs no correction terms. Both operands are
 * packed per call in pairs of K: A per tile of MR2 = 4 rows as one int32 (two int16) per row
 * and pair, broadcast to all lanes; B per panel of NR2 = 24 columns as [pair][column][2].
 * A micro-tile is 4 rows x 3 vectors of 8 columns: 12 accumulators, the three B vectors and
 * the broadcast fill the 16 ymm registers. Threads and task order as qgemm_vnni.c.
 */
#include "qgemm.h"

#include <string.h>

#include "../../rt_threads.h"
#include "qvec_x86.h"

#if defined(__x86_64__) && defined(__GNUC__)

#define MR2 4                /* rows per micro-tile */
#define NV2 3                /* 8-column vectors per micro-tile */
#define NR2 (8 * NV2)        /* columns per packed panel */

typedef struct {
    const RtQgemm *g;
    int64_t kp;              /* pairs of K: ceil(K / 2) */
    int64_t np, mt;          /* panels of NR2 columns; tiles of MR2 rows */
    int16_t *ap;             /* scratch or prep [mt][kp][MR2][2]: A - za, zero past K and M */
    int16_t *bp;             /* scratch [np][kp][NR2][2]: B - zb, zero past K and N */
    int panel_major;
} A2plan;

static int32_t qv(const void *p, int u8, int64_t i) {
    return u8 ? (int32_t)((const uint8_t *)p)[i] : (int32_t)((const int8_t *)p)[i];
}

static void pack_a(void *arg, int64_t t0, int64_t t1) {
    const A2plan *P = arg;
    const RtQgemm *g = P->g;
    for (int64_t t = t0; t < t1; t++) {
        int16_t *d = P->ap + t * P->kp * MR2 * 2;
        for (int r = 0; r < MR2; r++) {
            int64_t m = t * MR2 + r;
            int32_t za = m < g->M && g->za ? g->za[m] : 0;
            for (int64_t k = 0; k < 2 * P->kp; k++)
                d[((k / 2) * MR2 + r) * 2 + k % 2] =
                    (int16_t)(m < g->M && k < g->K ? qv(g->a, g->a_u8, m * g->lda + k) - za : 0);
        }
    }
}

static void pack_b(void *arg, int64_t p0, int64_t p1) {
    const A2plan *P = arg;
    const RtQgemm *g = P->g;
    for (int64_t p = p0; p < p1; p++) {
        int16_t *d = P->bp + p * P->kp * NR2 * 2;
        for (int64_t k = 0; k < 2 * P->kp; k++)
            for (int j = 0; j < NR2; j++) {
                int64_t n = p * NR2 + j, i = g->b_layout == RT_QGEMM_B_KN ? k * g->ldb + n : n * g->ldb + k;
                d[((k / 2) * NR2 + j) * 2 + k % 2] = (int16_t)(n < g->N && k < g->K ? qv(g->b, g->b_u8, i) - g->zb : 0);
            }
    }
}

QX_T256 QX_INL void store_row2(const RtQgemm *g, int64_t m, int64_t n, int cnt, __m256i x, const QxRq256 *q,
                               int vec_rq) {
    int64_t o = m * g->ldy + n * g->ldyn;
    int32_t t[8];
    if (vec_rq) {
        __m256i v = qx_requant256(x, q);
        if (g->ldyn == 1) {
            qx_store8_256(v, g->y_u8, (uint8_t *)g->y8 + o, cnt);
            return;
        }
        _mm256_storeu_si256((__m256i *)t, v);
        for (int i = 0; i < cnt; i++) ((uint8_t *)g->y8)[o + i * g->ldyn] = (uint8_t)t[i];
        return;
    }
    _mm256_storeu_si256((__m256i *)t, x);
    for (int i = 0; i < cnt; i++) {
        int32_t v = g->y32 ? t[i] : rt_requant_out(t[i], g->rq[m], g->zy, g->lo, g->hi);
        if (g->y32) g->y32[o + i * g->ldyn] = v;
        else ((uint8_t *)g->y8)[o + i * g->ldyn] = (uint8_t)v;
    }
}

QX_T256 QX_INL void tile2(const A2plan *P, int64_t mi, int64_t p, const int NV) {
    const RtQgemm *g = P->g;
    const int32_t *a = (const int32_t *)(P->ap + mi * P->kp * MR2 * 2); /* one int16 pair per row and pair of K */
    const int16_t *b = P->bp + p * P->kp * NR2 * 2;
    __m256i acc[MR2][NV2];
    for (int r = 0; r < MR2; r++)
        for (int v = 0; v < NV; v++) acc[r][v] = _mm256_setzero_si256();
    for (int64_t k = 0; k < P->kp; k++, a += MR2, b += NR2 * 2) {
        __m256i bv[NV2];
        for (int v = 0; v < NV; v++) bv[v] = _mm256_loadu_si256((const __m256i *)(b + 16 * v));
        for (int r = 0; r < MR2; r++) {
            __m256i w = _mm256_set1_epi32(a[r]);
            for (int v = 0; v < NV; v++) acc[r][v] = _mm256_add_epi32(acc[r][v], _mm256_madd_epi16(bv[v], w));
        }
    }
    for (int r = 0; r < MR2 && mi * MR2 + r < g->M; r++) {
        int64_t m = mi * MR2 + r;
        __m256i rc = _mm256_set1_epi32(g->bias ? g->bias[m] : 0);
        int vec_rq = !g->y32 && g->rq[m].shift <= 0;
        RtRequant r0 = {0, 0};
        QxRq256 q = qx_rq256(vec_rq ? g->rq[m] : r0, g->zy, g->lo, g->hi);
        for (int v = 0; v < NV; v++) {
            int64_t n = p * NR2 + 8 * v;
            if (n >= g->N) break;
            store_row2(g, m, n, g->N - n >= 8 ? 8 : (int)(g->N - n), _mm256_add_epi32(acc[r][v], rc), &q, vec_rq);
        }
    }
}

QX_T256 static void tile2_1(const A2plan *P, int64_t mi, int64_t p) { tile2(P, mi, p, 1); }
QX_T256 static void tile2_2(const A2plan *P, int64_t mi, int64_t p) { tile2(P, mi, p, 2); }
QX_T256 static void tile2_3(const A2plan *P, int64_t mi, int64_t p) { tile2(P, mi, p, 3); }

static void tiles2_chunk(void *arg, int64_t t0, int64_t t1) {
    const A2plan *P = arg;
    static void (*const fns[NV2])(const A2plan *, int64_t, int64_t) = {tile2_1, tile2_2, tile2_3};
    for (int64_t t = t0; t < t1; t++) {
        int64_t p = P->panel_major ? t / P->mt : t % P->np, mi = P->panel_major ? t % P->mt : t / P->np;
        int64_t cols = P->g->N - p * NR2;
        int nv = cols >= NR2 ? NV2 : (int)((cols + 7) / 8);
        fns[nv - 1](P, mi, p);
    }
}

/* The constants' block (rt_qgemm_prep): A packed, [mt][kp][MR2][2] int16. */
size_t rt_qgemm_prep_bytes_avx2(const RtQgemm *g) {
    return (size_t)(((g->M + MR2 - 1) / MR2) * ((g->K + 1) / 2) * MR2 * 2) * sizeof(int16_t);
}

void rt_qgemm_prep_avx2(const RtQgemm *g, void *prep) {
    A2plan P;
    memset(&P, 0, sizeof P);
    P.g = g;
    P.kp = (g->K + 1) / 2;
    P.mt = (g->M + MR2 - 1) / MR2;
    P.ap = prep;
    pack_a(&P, 0, P.mt);
}

int rt_qgemm_run_avx2(RtKernelCtx *c, const RtQgemm *g) {
    A2plan P;
    memset(&P, 0, sizeof P);
    P.g = g;
    P.kp = (g->K + 1) / 2;
    P.np = (g->N + NR2 - 1) / NR2;
    P.mt = (g->M + MR2 - 1) / MR2;
    size_t a_el = g->prep ? 0 : (size_t)(P.mt * P.kp * MR2 * 2), b_el = (size_t)(P.np * P.kp * NR2 * 2);
    int16_t *buf = rt_scratch(c, (a_el + b_el) * sizeof(int16_t));
    if (!buf) return RT_ERR_NOMEM;
    P.ap = g->prep ? (int16_t *)(uintptr_t)g->prep : buf; /* read only when it is the prep */
    P.bp = buf + a_el;
    int64_t kk = P.kp > 0 ? 2 * P.kp : 1;
    if (!g->prep) rt_parallel_for(c->pool, P.mt, RT_QGEMM_MIN_PAR_MACS / (kk * MR2 * 16) + 1, pack_a, &P);
    rt_parallel_for(c->pool, P.np, RT_QGEMM_MIN_PAR_MACS / (kk * NR2 * 16) + 1, pack_b, &P);
    P.panel_major = P.np >= 8;
    rt_parallel_for(c->pool, P.np * P.mt, RT_QGEMM_MIN_PAR_MACS / (kk * NR2 * MR2) + 1, tiles2_chunk, &P);
    rt_scratch_free(c, buf);
    return RT_OK;
}

#else /* not x86-64 GCC: never selected (rt_qgemm_isa_supported says so) */

int rt_qgemm_run_avx2(RtKernelCtx *c, const RtQgemm *g) {
    (void)g;
    return rt_fail(c, "qgemm: AVX2 kernels are not built for this target");
}

size_t rt_qgemm_prep_bytes_avx2(const RtQgemm *g) {
    (void)g;
    return 0;
}

void rt_qgemm_prep_avx2(const RtQgemm *g, void *prep) {
    (void)g, (void)prep;
}

#endif
