/*
 * qgemm_vnni.c — rt_qgemm_run_vnni (qgemm.h): the int8 GEMM on AVX-512 VNNI.
 *
 * vpdpbusd adds to each int32 lane the four products of the lane's unsigned bytes in one
 * operand with the signed bytes in the other, so both operands hold K in groups of four
 * ("quads"). A (the weights, [M, K] rows) is used as it is: the quad (m, 4q..4q+3) is four
 * consecutive bytes of row m, broadcast to every lane. A partial last quad reads on into the
 * next row, bytes that meet zeros in B (B is zero past K); only the last row, which has no
 * next row, is read from a zero-padded copy. B (the activations) is packed per call into panels
 * of NR = 64 columns: panel[q][n][4] = B[4q..4q+3, n], so one 64-byte load gives the quads
 * of 16 columns. A micro-tile is MR = 6 rows x up to 4 vectors of 16 columns, 24
 * accumulators in registers over the whole K; the epilogue adds the row constants,
 * requantizes (qvec_x86.h) and stores bytes with a mask for the column tail.
 *
 * Signedness: the operand in vpdpbusd's unsigned slot must be uint8. When A is int8, B goes
 * there (its bytes xor 0x80 when B is int8, i.e. B + 128); when A is uint8, A goes there and
 * B is the signed operand (xor 0x80 when B is uint8, i.e. B - 128). With v the packed value of
 * B, b = v - off and zb' = zb + off:
 *   sum_k (a - za)(b - zb) = sum_k a v - zb' rowsum(a) - za colsum(v) + K za zb'
 * rowc[m] = bias + K za zb' - zb' rowsum(a) is made once per row; colsum only when some za
 * is nonzero (symmetric weights have none). All of it modulo 2^32, like the reference.
 *
 * Threads: the (row tile, panel) pairs are split over the pool, panel-major when there are
 * many panels (each thread keeps its panels in L1 and streams the rows of A), row-major
 * otherwise (a few panels: each thread takes a share of the rows over all of them).
 */
#include "qgemm.h"

#include <string.h>

#include "../../rt_threads.h"
#include "qvec_x86.h"

#if defined(__x86_64__) && defined(__GNUC__)

#define MR 6                 /* rows of A per micro-tile */
#define NVMAX 4              /* 16-column vectors per micro-tile */
#define NR (16 * NVMAX)      /* columns per packed panel */

typedef struct {
    const RtQgemm *g;
    int64_t kq_all;          /* quads: ceil(K / 4) */
    int swap;                /* A is uint8: A in the unsigned slot, B (as int8) in the signed */
    uint8_t flip;            /* xor applied to B's bytes: 0 or 0x80 */
    int32_t zb;              /* zb' = B's zero point in packed values */
    int64_t np, mt;          /* panels of NR columns; tiles of MR rows */
    size_t panel_bytes;      /* kq_all * NR * 4 */
    uint8_t *bp;             /* scratch [np][kq_all][NR][4]: packed B */
    int32_t *colsum;         /* scratch [np * NR]: sum over k of packed B per column, or NULL */
    int32_t *rowc;           /* prep [M]: bias + K za zb' - zb' rowsum(A) */
    uint8_t *alast;          /* prep [kq_all * 4]: A's last row, zero-padded to whole quads */
    QxRowRq *rrq;            /* prep [M]: requantization per row (e = -1: multiplier >= 1, scalar) */
    int fast;                /* requantized output with unit column stride: the vector store path */
    int panel_major;         /* task order, see the header comment */
} Vplan;

/* ---------------------------------------------------------------- packing B */

/* Quads of 16 columns from four KN rows (NULL = a row past K, all zero), cnt valid columns. */
QX_T512 QX_INL __m512i quad16(const uint8_t *const r[4], int cnt, __m128i flip) {
    __mmask16 mk = (__mmask16)(cnt >= 16 ? 0xffff : (1u << cnt) - 1);
    __m128i x[4];
    for (int i = 0; i < 4; i++)
        x[i] = r[i] ? _mm_xor_si128(_mm_maskz_loadu_epi8(mk, r[i]), flip) : _mm_setzero_si128();
    __m128i t0 = _mm_unpacklo_epi8(x[0], x[1]), t1 = _mm_unpackhi_epi8(x[0], x[1]);
    __m128i t2 = _mm_unpacklo_epi8(x[2], x[3]), t3 = _mm_unpackhi_epi8(x[2], x[3]);
    __m512i z = _mm512_castsi128_si512(_mm_unpacklo_epi16(t0, t2));    /* columns 0..3 */
    z = _mm512_inserti32x4(z, _mm_unpackhi_epi16(t0, t2), 1);          /* 4..7 */
    z = _mm512_inserti32x4(z, _mm_unpacklo_epi16(t1, t3), 2);          /* 8..11 */
    return _mm512_inserti32x4(z, _mm_unpackhi_epi16(t1, t3), 3);       /* 12..15 */
}

QX_T512 static void pack_panel_kn(const Vplan *P, int64_t p) {
    const RtQgemm *g = P->g;
    const uint8_t *b = g->b;
    uint8_t *dst = P->bp + (size_t)p * P->panel_bytes;
    const __m128i flip = _mm_set1_epi8((char)P->flip);
    const __m512i ones = _mm512_set1_epi8(1);
    int64_t n0 = p * NR;
    for (int v = 0; v < NVMAX; v++) {
        int64_t c0 = n0 + 16 * v;
        if (c0 >= g->N) break;
        int cnt = g->N - c0 >= 16 ? 16 : (int)(g->N - c0);
        __m512i cs = _mm512_setzero_si512();
        for (int64_t q = 0; q < P->kq_all; q++) {
            const uint8_t *r[4];
            for (int i = 0; i < 4; i++) r[i] = 4 * q + i < g->K ? b + (4 * q + i) * g->ldb + c0 : NULL;
            __m512i z = quad16(r, cnt, flip);
            _mm512_storeu_si512(dst + (q * NR + 16 * v) * 4, z);
            if (P->colsum) cs = P->swap ? _mm512_dpbusd_epi32(cs, ones, z) : _mm512_dpbusd_epi32(cs, z, ones);
        }
        if (P->colsum) _mm512_storeu_si512(P->colsum + c0, cs);
    }
}

/* NK layout (QLinear's x[N, K]): column n's quads are consecutive bytes of row n. */
static void pack_panel_nk(const Vplan *P, int64_t p) {
    const RtQgemm *g = P->g;
    uint8_t *dst = P->bp + (size_t)p * P->panel_bytes;
    for (int64_t j = 0; j < NR && p * NR + j < g->N; j++) {
        int64_t n = p * NR + j;
        const uint8_t *src = (const uint8_t *)g->b + n * g->ldb;
        int32_t cs = 0;
        for (int64_t q = 0; q < P->kq_all; q++) {
            uint8_t *d = dst + (q * NR + j) * 4;
            for (int i = 0; i < 4; i++) {
                int64_t k = 4 * q + i;
                d[i] = k < g->K ? (uint8_t)(src[k] ^ P->flip) : 0;
                cs += P->swap ? (int32_t)(int8_t)d[i] : (int32_t)d[i];
            }
        }
        if (P->colsum) P->colsum[n] = cs;
    }
}

static void pack_chunk(void *arg, int64_t p0, int64_t p1) {
    const Vplan *P = arg;
    for (int64_t p = p0; p < p1; p++) {
        if (P->g->b_layout == RT_QGEMM_B_KN) pack_panel_kn(P, p);
        else pack_panel_nk(P, p);
    }
}

/* ---------------------------------------------------------------- row constants */

/* sum_k A[m, k] as A's dtype, by vpdpbusd against ones. */
QX_T512 static int32_t row_sum(const uint8_t *a, int64_t K, int a_u8) {
    const __m512i ones = _mm512_set1_epi8(1);
    __m512i s = _mm512_setzero_si512();
    for (int64_t k = 0; k < K; k += 64) {
        __mmask64 mk = K - k >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (K - k)) - 1);
        __m512i v = _mm512_maskz_loadu_epi8(mk, a + k);
        s = a_u8 ? _mm512_dpbusd_epi32(s, v, ones) : _mm512_dpbusd_epi32(s, ones, v);
    }
    return _mm512_reduce_add_epi32(s);
}

static void rows_chunk(void *arg, int64_t m0, int64_t m1) {
    const Vplan *P = arg;
    const RtQgemm *g = P->g;
    for (int64_t m = m0; m < m1; m++) {
        const uint8_t *a = (const uint8_t *)g->a + m * g->lda;
        uint32_t za = g->za ? (uint32_t)g->za[m] : 0u, zb = (uint32_t)P->zb;
        uint32_t rs = P->zb ? (uint32_t)row_sum(a, g->K, g->a_u8) : 0u;
        uint32_t c = (g->bias ? (uint32_t)g->bias[m] : 0u) + (uint32_t)g->K * za * zb - zb * rs;
        P->rowc[m] = (int32_t)c;
        if (!g->y32) {
            P->rrq[m] = qx_row_rq(g->rq[m].shift <= 0 ? g->rq[m] : (RtRequant){0, 0});
            if (g->rq[m].shift > 0) P->rrq[m].e = -1;
        }
    }
}

/* ---------------------------------------------------------------- micro-tile */

/* Stores 16 int32 (cnt valid) of output row m from column n: requantized or as int32. */
QX_T512 QX_INL void store_row(const RtQgemm *g, int64_t m, int64_t n, int cnt, __m512i x, const QxRq512 *q,
                              int vec_rq) {
    __mmask16 mk = (__mmask16)(cnt >= 16 ? 0xffff : (1u << cnt) - 1);
    int64_t o = m * g->ldy + n * g->ldyn;
    if (g->y32) {
        if (g->ldyn == 1) {
            _mm512_mask_storeu_epi32(g->y32 + o, mk, x);
        } else {
            int32_t t[16];
            _mm512_storeu_si512(t, x);
            for (int i = 0; i < cnt; i++) g->y32[o + i * g->ldyn] = t[i];
        }
        return;
    }
    if (vec_rq) {
        __m128i bytes = _mm512_cvtepi32_epi8(qx_requant512(x, q)); /* in range: truncation is exact */
        if (g->ldyn == 1) {
            _mm_mask_storeu_epi8((uint8_t *)g->y8 + o, mk, bytes);
        } else {
            uint8_t t[16];
            _mm_storeu_si128((__m128i *)t, bytes);
            for (int i = 0; i < cnt; i++) ((uint8_t *)g->y8)[o + i * g->ldyn] = t[i];
        }
        return;
    }
    int32_t t[16]; /* multiplier >= 1: the scalar form */
    _mm512_storeu_si512(t, x);
    for (int i = 0; i < cnt; i++) {
        int32_t v = rt_requant_out(t[i], g->rq[m], g->zy, g->lo, g->hi);
        ((uint8_t *)g->y8)[o + i * g->ldyn] = (uint8_t)v;
    }
}

/* The output clamp of a call as vectors (lo - zy, hi - zy, zy), made once per tile. */
typedef struct {
    __m512i lo, hi, zp;
    int mode;                /* QX_OUT_* */
} QgClamp;

/* The epilogue of output row m (skipped past M): row constant, zero-point correction,
 * requantization, store of the NV vectors of panel p. */
QX_T512 QX_INL void tile_row_out(const Vplan *P, int64_t m, int64_t p, const int NV, __m512i x0, __m512i x1,
                                 __m512i x2, __m512i x3, const QgClamp *cl) {
    const RtQgemm *g = P->g;
    if (m >= g->M) return;
    int64_t n0 = p * NR;
    __m512i rc = _mm512_set1_epi32(P->rowc[m]);
    x0 = _mm512_add_epi32(x0, rc);
    if (NV > 1) x1 = _mm512_add_epi32(x1, rc);
    if (NV > 2) x2 = _mm512_add_epi32(x2, rc);
    if (NV > 3) x3 = _mm512_add_epi32(x3, rc);
    if (P->colsum && g->za[m]) {
        __m512i za = _mm512_set1_epi32(g->za[m]);
        x0 = _mm512_sub_epi32(x0, _mm512_mullo_epi32(za, _mm512_loadu_si512(P->colsum + n0)));
        if (NV > 1) x1 = _mm512_sub_epi32(x1, _mm512_mullo_epi32(za, _mm512_loadu_si512(P->colsum + n0 + 16)));
        if (NV > 2) x2 = _mm512_sub_epi32(x2, _mm512_mullo_epi32(za, _mm512_loadu_si512(P->colsum + n0 + 32)));
        if (NV > 3) x3 = _mm512_sub_epi32(x3, _mm512_mullo_epi32(za, _mm512_loadu_si512(P->colsum + n0 + 48)));
    }
    if (P->fast && P->rrq[m].e >= 0) { /* the common case: vector requantization, byte stores */
        const QxRowRq *pr = &P->rrq[m];
        uint8_t *dst = (uint8_t *)g->y8 + m * g->ldy + n0;
        __m128i b0, b1 = _mm_setzero_si128(), b2 = b1, b3 = b1;
        if (pr->e >= 1) { /* one rounding per product, saturating stores when the clamp is the dtype's */
            const __m512i mu = _mm512_set1_epi32(pr->mult), c1 = _mm512_set1_epi64(pr->c1);
            const __m512i se = _mm512_set1_epi64(pr->sh_ev), so = _mm512_set1_epi64(pr->sh_od);
            b0 = qx_out8_512(qx_apply512_e1(x0, mu, mu, c1, c1, se, so), cl->mode, cl->zp, cl->lo, cl->hi);
            if (NV > 1) b1 = qx_out8_512(qx_apply512_e1(x1, mu, mu, c1, c1, se, so), cl->mode, cl->zp, cl->lo, cl->hi);
            if (NV > 2) b2 = qx_out8_512(qx_apply512_e1(x2, mu, mu, c1, c1, se, so), cl->mode, cl->zp, cl->lo, cl->hi);
            if (NV > 3) b3 = qx_out8_512(qx_apply512_e1(x3, mu, mu, c1, c1, se, so), cl->mode, cl->zp, cl->lo, cl->hi);
        } else {
            b0 = _mm512_cvtepi32_epi8(qx_requant512_row(x0, pr, cl->lo, cl->hi, cl->zp));
            if (NV > 1) b1 = _mm512_cvtepi32_epi8(qx_requant512_row(x1, pr, cl->lo, cl->hi, cl->zp));
            if (NV > 2) b2 = _mm512_cvtepi32_epi8(qx_requant512_row(x2, pr, cl->lo, cl->hi, cl->zp));
            if (NV > 3) b3 = _mm512_cvtepi32_epi8(qx_requant512_row(x3, pr, cl->lo, cl->hi, cl->zp));
        }
        int64_t rem = g->N - n0;
        if (rem >= 16 * NV) {
            _mm_storeu_si128((__m128i *)dst, b0);
            if (NV > 1) _mm_storeu_si128((__m128i *)(dst + 16), b1);
            if (NV > 2) _mm_storeu_si128((__m128i *)(dst + 32), b2);
            if (NV > 3) _mm_storeu_si128((__m128i *)(dst + 48), b3);
            return;
        }
        __m128i bs[NVMAX] = {b0, b1, b2, b3};
        for (int v = 0; v < NV && rem > 16 * v; v++) {
            int64_t cnt = rem - 16 * v;
            _mm_mask_storeu_epi8(dst + 16 * v, (__mmask16)(cnt >= 16 ? 0xffff : (1u << cnt) - 1), bs[v]);
        }
        return;
    }
    RtRequant r0 = {0, 0};
    QxRq512 q = qx_rq512(g->y32 ? r0 : g->rq[m], g->zy, g->lo, g->hi);
    __m512i xs[NVMAX] = {x0, x1, x2, x3};
    for (int v = 0; v < NV; v++) {
        int64_t n = n0 + 16 * v;
        if (n >= g->N) break;
        store_row(g, m, n, g->N - n >= 16 ? 16 : (int)(g->N - n), xs[v], &q, !g->y32 && g->rq[m].shift <= 0);
    }
}

/* vpdpbusd with A's broadcast quad a in the slot its signedness needs. */
#define QG_DP(acc, b, a) acc = SWAP ? _mm512_dpbusd_epi32(acc, a, b) : _mm512_dpbusd_epi32(acc, b, a)
/* One row's products with the panel's NV vectors (unused vectors are compiled away). */
#define QG_ROW(r, a)                          \
    do {                                      \
        __m512i a_ = (a);                     \
        QG_DP(c##r##0, b0, a_);               \
        if (NV > 1) QG_DP(c##r##1, b1, a_);   \
        if (NV > 2) QG_DP(c##r##2, b2, a_);   \
        if (NV > 3) QG_DP(c##r##3, b3, a_);   \
    } while (0)
#define QG_ZERO(r) __m512i c##r##0 = _mm512_setzero_si512(), c##r##1 = c##r##0, c##r##2 = c##r##0, c##r##3 = c##r##0

QX_T512 QX_INL __m512i bcast32(const uint8_t *p) {
    int32_t w;
    memcpy(&w, p, 4);
    return _mm512_set1_epi32(w);
}

/* Rows m0..m0+MR-1 (those < M) x the NV vectors of panel p. NV and SWAP are constants in
 * each instantiation below; the 24 accumulators are named variables (GCC keeps an array of
 * them in memory). */
QX_T512 QX_INL void tile(const Vplan *P, int64_t m0, int64_t p, const int NV, const int SWAP) {
    const RtQgemm *g = P->g;
    const uint8_t *ar[MR];
    for (int r = 0; r < MR; r++) /* the last row, and those past M, read the padded copy */
        ar[r] = m0 + r < g->M - 1 ? (const uint8_t *)g->a + (m0 + r) * g->lda : P->alast;
    const uint8_t *a0 = ar[0], *a1 = ar[1], *a2 = ar[2], *a3 = ar[3], *a4 = ar[4], *a5 = ar[5];
    QG_ZERO(0); QG_ZERO(1); QG_ZERO(2); QG_ZERO(3); QG_ZERO(4); QG_ZERO(5);
    const uint8_t *b = P->bp + (size_t)p * P->panel_bytes;
    __m512i b0, b1 = _mm512_setzero_si512(), b2 = b1, b3 = b1;
    for (int64_t q = 0; q < P->kq_all; q++, b += NR * 4) {
        b0 = _mm512_loadu_si512(b);
        if (NV > 1) b1 = _mm512_loadu_si512(b + 64);
        if (NV > 2) b2 = _mm512_loadu_si512(b + 128);
        if (NV > 3) b3 = _mm512_loadu_si512(b + 192);
        int64_t o = 4 * q;
        QG_ROW(0, bcast32(a0 + o)); QG_ROW(1, bcast32(a1 + o)); QG_ROW(2, bcast32(a2 + o));
        QG_ROW(3, bcast32(a3 + o)); QG_ROW(4, bcast32(a4 + o)); QG_ROW(5, bcast32(a5 + o));
    }
    QgClamp cl = {_mm512_set1_epi32(g->lo - g->zy), _mm512_set1_epi32(g->hi - g->zy), _mm512_set1_epi32(g->zy),
                  qx_out_mode(g->y_u8, g->lo, g->hi)};
    tile_row_out(P, m0 + 0, p, NV, c00, c01, c02, c03, &cl);
    tile_row_out(P, m0 + 1, p, NV, c10, c11, c12, c13, &cl);
    tile_row_out(P, m0 + 2, p, NV, c20, c21, c22, c23, &cl);
    tile_row_out(P, m0 + 3, p, NV, c30, c31, c32, c33, &cl);
    tile_row_out(P, m0 + 4, p, NV, c40, c41, c42, c43, &cl);
    tile_row_out(P, m0 + 5, p, NV, c50, c51, c52, c53, &cl);
}

QX_T512 static void tile_s1(const Vplan *P, int64_t m0, int64_t p) { tile(P, m0, p, 1, 0); }
QX_T512 static void tile_s2(const Vplan *P, int64_t m0, int64_t p) { tile(P, m0, p, 2, 0); }
QX_T512 static void tile_s3(const Vplan *P, int64_t m0, int64_t p) { tile(P, m0, p, 3, 0); }
QX_T512 static void tile_s4(const Vplan *P, int64_t m0, int64_t p) { tile(P, m0, p, 4, 0); }
QX_T512 static void tile_u1(const Vplan *P, int64_t m0, int64_t p) { tile(P, m0, p, 1, 1); }
QX_T512 static void tile_u2(const Vplan *P, int64_t m0, int64_t p) { tile(P, m0, p, 2, 1); }
QX_T512 static void tile_u3(const Vplan *P, int64_t m0, int64_t p) { tile(P, m0, p, 3, 1); }
QX_T512 static void tile_u4(const Vplan *P, int64_t m0, int64_t p) { tile(P, m0, p, 4, 1); }

static void tiles_chunk(void *arg, int64_t t0, int64_t t1) {
    const Vplan *P = arg;
    static void (*const fns[2][NVMAX])(const Vplan *, int64_t, int64_t) = {
        {tile_s1, tile_s2, tile_s3, tile_s4}, {tile_u1, tile_u2, tile_u3, tile_u4}};
    for (int64_t t = t0; t < t1; t++) {
        int64_t p = P->panel_major ? t / P->mt : t % P->np, mi = P->panel_major ? t % P->mt : t / P->np;
        int64_t cols = P->g->N - p * NR;
        int nv = cols >= NR ? NVMAX : (int)((cols + 15) / 16);
        fns[P->swap][nv - 1](P, mi * MR, p);
    }
}

/* ---------------------------------------------------------------- GEMV (QLinear, a few rows) */

/* With B in NK layout (QLinear's x[R, K]) and at most GV_MAX columns, packing panels would use
 * one lane in sixteen. Instead each output row m is a dot product along K, 64 bytes per
 * vpdpbusd, with every column of B: acc[n] = sum_k A[m, k] v[n, k] (v = B's bytes xor flip,
 * as for the panels), and A's row sum in the same pass (A is read once: the weights stream
 * from memory), reduced across lanes, then the same corrections and requantization (scalar:
 * there are only M * N outputs). */
#define GV_MAX 4

typedef struct {
    const Vplan *P;
    int32_t cs[GV_MAX];      /* colsum of v per column of B */
} Gv;

/* Rows [m0, m1) in groups of GV_ROWS (independent accumulators: vpdpbusd's latency is hidden
 * across rows), each B chunk loaded once per group. */
#define GV_ROWS 4

QX_T512 QX_INL void gemv_rows_n(const Gv *G, int64_t m0, int64_t m1, const int NN) {
    const Vplan *P = G->P;
    const RtQgemm *g = P->g;
    const __m512i flip = _mm512_set1_epi8((char)P->flip), ones = _mm512_set1_epi8(1);
    for (int64_t mb = m0; mb < m1; mb += GV_ROWS) {
        int nr = m1 - mb < GV_ROWS ? (int)(m1 - mb) : GV_ROWS;
        const uint8_t *a[GV_ROWS];
        __m512i acc[GV_ROWS][GV_MAX], rs[GV_ROWS]; /* rs: A's row sums, read in the same pass */
        for (int r = 0; r < GV_ROWS; r++) {
            a[r] = (const uint8_t *)g->a + (mb + (r < nr ? r : 0)) * g->lda;
            rs[r] = _mm512_setzero_si512();
            for (int n = 0; n < GV_MAX; n++) acc[r][n] = _mm512_setzero_si512();
        }
        for (int64_t k = 0; k < g->K; k += 64) {
            __mmask64 mk = g->K - k >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (g->K - k)) - 1);
            __m512i bv[GV_MAX];
            for (int n = 0; n < NN; n++)
                bv[n] = _mm512_maskz_mov_epi8(
                    mk, _mm512_xor_si512(_mm512_maskz_loadu_epi8(mk, (const uint8_t *)g->b + n * g->ldb + k), flip));
            for (int r = 0; r < GV_ROWS; r++) {
                __m512i av = _mm512_maskz_loadu_epi8(mk, a[r] + k);
                rs[r] = P->swap ? _mm512_dpbusd_epi32(rs[r], av, ones) : _mm512_dpbusd_epi32(rs[r], ones, av);
                for (int n = 0; n < NN; n++)
                    acc[r][n] = P->swap ? _mm512_dpbusd_epi32(acc[r][n], av, bv[n]) : _mm512_dpbusd_epi32(acc[r][n], bv[n], av);
            }
        }
        for (int r = 0; r < nr; r++) {
            int64_t m = mb + r;
            uint32_t za = g->za ? (uint32_t)g->za[m] : 0u, zb = (uint32_t)P->zb;
            uint32_t rowc = (g->bias ? (uint32_t)g->bias[m] : 0u) + (uint32_t)g->K * za * zb -
                            zb * (uint32_t)_mm512_reduce_add_epi32(rs[r]);
            for (int n = 0; n < NN; n++) {
                int32_t v = (int32_t)((uint32_t)_mm512_reduce_add_epi32(acc[r][n]) + rowc - za * (uint32_t)G->cs[n]);
                int64_t o = m * g->ldy + n * g->ldyn;
                if (g->y32) g->y32[o] = v;
                else ((uint8_t *)g->y8)[o] = (uint8_t)rt_requant_out(v, g->rq[m], g->zy, g->lo, g->hi);
            }
        }
    }
}

QX_T512 static void gemv_rows(void *arg, int64_t m0, int64_t m1) {
    const Gv *G = arg;
    switch (G->P->g->N) { /* constant column counts: the accumulators stay in registers */
    case 1: gemv_rows_n(G, m0, m1, 1); break;
    case 2: gemv_rows_n(G, m0, m1, 2); break;
    case 3: gemv_rows_n(G, m0, m1, 3); break;
    default: gemv_rows_n(G, m0, m1, 4); break;
    }
}

/* colsum of v for column n of B (NK layout). */
QX_T512 static int32_t gemv_colsum(const Vplan *P, int64_t n) {
    const RtQgemm *g = P->g;
    const __m512i flip = _mm512_set1_epi8((char)P->flip), ones = _mm512_set1_epi8(1);
    __m512i s = _mm512_setzero_si512();
    for (int64_t k = 0; k < g->K; k += 64) {
        __mmask64 mk = g->K - k >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (g->K - k)) - 1);
        __m512i bv = _mm512_maskz_mov_epi8(
            mk, _mm512_xor_si512(_mm512_maskz_loadu_epi8(mk, (const uint8_t *)g->b + n * g->ldb + k), flip));
        s = P->swap ? _mm512_dpbusd_epi32(s, ones, bv) : _mm512_dpbusd_epi32(s, bv, ones);
    }
    return _mm512_reduce_add_epi32(s);
}

static int gemv_run(RtKernelCtx *c, Vplan *P) {
    const RtQgemm *g = P->g;
    Gv G;
    memset(&G, 0, sizeof G);
    G.P = P;
    for (int64_t m = 0; g->za && m < g->M; m++)
        if (g->za[m]) {
            for (int64_t n = 0; n < g->N; n++) G.cs[n] = gemv_colsum(P, n);
            break;
        }
    int64_t kk = g->K > 0 ? g->K : 1;
    rt_parallel_for(c->pool, g->M, RT_QGEMM_MIN_PAR_MACS / (kk * g->N) + 1, gemv_rows, &G);
    return RT_OK;
}

/* The signedness arrangement of a GEMM (see the header comment). */
static void vplan_init(Vplan *P, const RtQgemm *g) {
    memset(P, 0, sizeof *P);
    P->g = g;
    P->kq_all = (g->K + 3) / 4;
    P->swap = g->a_u8;
    P->flip = (uint8_t)(g->b_u8 == P->swap ? 0x80 : 0); /* B must be the other signedness */
    P->zb = g->zb + (P->flip ? (P->swap ? -128 : 128) : 0);
}

/* The constants' block (rt_qgemm_prep): rrq [M], rowc [M], alast [kq_all * 4]. */
size_t rt_qgemm_prep_bytes_vnni(const RtQgemm *g) {
    size_t kq = (size_t)((g->K + 3) / 4);
    return (size_t)g->M * (sizeof(QxRowRq) + sizeof(int32_t)) + ((kq * 4 + 7) & ~(size_t)7);
}

static void prep_layout(Vplan *P, void *prep) {
    P->rrq = (QxRowRq *)prep;
    P->rowc = (int32_t *)(P->rrq + P->g->M);
    P->alast = (uint8_t *)(P->rowc + P->g->M);
}

static void prep_alast(Vplan *P) {
    const RtQgemm *g = P->g;
    memset(P->alast, 0, (size_t)P->kq_all * 4);
    memcpy(P->alast, (const uint8_t *)g->a + (g->M - 1) * g->lda, (size_t)g->K);
}

void rt_qgemm_prep_vnni(const RtQgemm *g, void *prep) {
    Vplan P;
    vplan_init(&P, g);
    prep_layout(&P, prep);
    prep_alast(&P);
    rows_chunk(&P, 0, g->M);
}

int rt_qgemm_run_vnni(RtKernelCtx *c, const RtQgemm *g) {
    Vplan P;
    vplan_init(&P, g);
    if (g->b_layout == RT_QGEMM_B_NK && g->N <= GV_MAX) return gemv_run(c, &P);
    P.np = (g->N + NR - 1) / NR;
    P.mt = (g->M + MR - 1) / MR;
    P.panel_bytes = (size_t)(P.kq_all > 0 ? P.kq_all : 1) * NR * 4;
    int need_cs = 0;
    for (int64_t m = 0; g->za && m < g->M && !need_cs; m++) need_cs = g->za[m] != 0;
    size_t prep_bytes = g->prep ? 0 : rt_qgemm_prep_bytes_vnni(g);
    size_t bytes = (size_t)P.np * P.panel_bytes + (size_t)(need_cs ? P.np * NR : 0) * 4 + prep_bytes;
    uint8_t *buf = rt_scratch(c, bytes);
    if (!buf) return RT_ERR_NOMEM;
    P.bp = buf;
    P.colsum = need_cs ? (int32_t *)(buf + (size_t)P.np * P.panel_bytes) : NULL;
    P.fast = !g->y32 && g->ldyn == 1;
    int64_t kk = P.kq_all > 0 ? P.kq_all * 4 : 1;
    if (g->prep) {
        prep_layout(&P, (void *)(uintptr_t)g->prep); /* read only from here on */
    } else {
        prep_layout(&P, buf + (size_t)P.np * P.panel_bytes + (size_t)(need_cs ? P.np * NR : 0) * 4);
        prep_alast(&P);
        rt_parallel_for(c->pool, g->M, RT_QGEMM_MIN_PAR_MACS / (kk * 64) + 1, rows_chunk, &P);
    }
    rt_parallel_for(c->pool, P.np, RT_QGEMM_MIN_PAR_MACS / (kk * NR * 16) + 1, pack_chunk, &P);
    P.panel_major = P.np >= 8;
    rt_parallel_for(c->pool, P.np * P.mt, RT_QGEMM_MIN_PAR_MACS / (kk * NR * MR) + 1, tiles_chunk, &P);
    rt_scratch_free(c, buf);
    return RT_OK;
}

#else /* not x86-64 GCC: never selected (rt_qgemm_isa_supported says so) */

int rt_qgemm_run_vnni(RtKernelCtx *c, const RtQgemm *g) {
    (void)g;
    return rt_fail(c, "qgemm: VNNI kernels are not built for this target");
}

size_t rt_qgemm_prep_bytes_vnni(const RtQgemm *g) {
    (void)g;
    return 0;
}

void rt_qgemm_prep_vnni(const RtQgemm *g, void *prep) {
    (void)g, (void)prep;
}

#endif
