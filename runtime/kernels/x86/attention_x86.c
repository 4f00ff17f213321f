/*
 * attention_x86.c — scaled, masked attention in one pass (attention_x86.h), AVX-512:
 *     O[b, h] = softmax(scale(Q K^T) + mask) V     per batch b and head h
 *
 * Algorithm. Per (b, h), K is packed transposed, K^T [dh][Tkp] (Tk rounded up to 16, zero
 * columns past Tk; 16x16 register transposes when K's rows are contiguous), V packed [Tk][dv]
 * (a head's rows 1 KiB apart in tinylm's projection fell into 16 of L1's 64 sets, so P V ran
 * from L2), both checked for inf/NaN and K's largest |k| noted on the way: by each thread
 * right before the head's blocks when that cannot clobber a head still to be packed
 * (at_lazy_ok), else every head first (phase 1).
 * Then per (b, h) and block of AT_R = 8 query rows:
 *   - the block's last column: per row, where the mask's low suffix starts (RtAttnRow: from a
 *     table made once for a constant mask, else split per run); past it every probability is
 *     exactly 0 (exp underflows), so the block stops there (a causal mask: half the work);
 *   - S[8, cols] = Q_blk K^T: 8 x 32 register tiles (16 accumulators; per k two vector loads
 *     of K^T, eight broadcasts of q), scaled and masked in registers (dot * scale, then
 *     + mask, as the unfused Mul and Add round) and stored to an L1 buffer;
 *   - Softmax per row: the max (taken as the tiles are stored), e = exp(x - max) (vmath.h's
 *     polynomial, results below FLT_MIN written as 0: at_exp) and their sum;
 *   - O_blk = P V over the same columns: 4 x 64 register tiles (per key four vector loads of
 *     V, four broadcasts of e), summed in key order, times 1 / sum, stored to O.
 * Skipping columns is exact only while every score is finite and bounded (a score of +inf or
 * NaN plus -inf is NaN, 0 * inf in P V is NaN, and a mask of -1e9 zeroes a probability only
 * while the scores are far smaller): a row's suffix is cut only when Q's block, K and V hold
 * no inf/NaN and the suffix lies more than 2 B + 200 below the row's largest mask entry, B =
 * dh * max|q| * max|k| * |scale| bounding every score; otherwise the block runs over every
 * column, giving the unfused graph's values and NaNs. A row whose every mask entry is -inf
 * gives NaN (max -inf, x - max NaN), as the reference Softmax does, or with zero_empty_rows
 * (ONNX Attention) probabilities of 0 and so an output row of 0.
 * Threads: blocks are split over the pool in a fixed order (each block interleaved with one
 * from the other end of its head, so causal blocks balance); a block's values never depend on
 * the split, so results are bit-identical for any thread count. When O overlaps Q or the mask
 * (the plan may place the output over dead inputs; K and V are packed before O is written),
 * O goes to scratch and is copied.
 */
#include "attention_x86.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "../../rt_threads.h"
#include "../ref/attention.h"

/* Entries more than this below the row's largest are candidates for the skipped suffix. */
#define AT_LOW_GAP 65536.0

/* The split from the row's largest entry mx: end = 1 + the last entry not below mx - AT_LOW_GAP,
 * gap from the suffix's largest entry sfx, less 2^-22 (|mx| + |sfx|) for the rounding of
 * score + mask and of x - max at those magnitudes. */
static void at_row_split(double mx, int64_t end, double sfx, int64_t Tk, int zero, RtAttnRow *ri) {
    ri->end = (int32_t)end;
    ri->zero = zero;
    ri->gap = end == Tk || sfx == -INFINITY ? INFINITY : mx - sfx - 0x1p-22 * (fabs(mx) + fabs(sfx));
}

void rt_attention_row_info(const float *row, int64_t stride, int64_t Tk, RtAttnRow *ri) {
    double mx = -INFINITY;
    int odd = 0;
    for (int64_t j = 0; j < Tk; j++) {
        float x = row[j * stride];
        if (x != x || x == INFINITY) odd = 1;
        else if (x > mx) mx = x;
    }
    ri->end = (int32_t)Tk, ri->zero = 0, ri->gap = -INFINITY;
    if (odd) return;
    if (mx == -INFINITY) {
        ri->end = 0, ri->zero = 1, ri->gap = INFINITY;
        return;
    }
    int64_t e = Tk;
    while (e > 0 && row[(e - 1) * stride] < mx - AT_LOW_GAP) e--;
    double sfx = -INFINITY;
    for (int64_t j = e; j < Tk; j++)
        if (row[j * stride] > sfx) sfx = row[j * stride];
    int zero = 1;
    for (int64_t j = 0; j < e; j++) zero &= row[j * stride] == 0.0f;
    at_row_split(mx, e, sfx, Tk, zero, ri);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#include "transpose16.h"
#include "vmath.h"

#define AT_T512 __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")))
#define AT_INL static inline __attribute__((always_inline))
#define AT_R 8                          /* query rows per block */
#define AT_PAR_MIN ((int64_t)1 << 17)   /* multiply-adds below which one thread runs it all */

int rt_attention_supported(void) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw");
}

static __mmask16 at_mask(int64_t n) { return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1); }
static __mmask16 at_mask0(int64_t n) { return n <= 0 ? 0 : at_mask(n); }

/* What both phases share. */
typedef struct {
    const RtAttention *a;
    int64_t Tkp;           /* Tk rounded up to 16: K^T's row length, S's row length */
    float *kt;             /* scratch [B*H][dh][Tkp], or NULL (lazy) */
    float *vp;             /* scratch [B*H][Tk][dv]: V packed, or NULL (lazy) */
    float *kmax;           /* scratch [B*H]: max |k|, +inf when some k is inf or NaN */
    unsigned char *vbad;   /* scratch [B*H]: 1 when some v is inf or NaN */
    float *o;              /* where O goes: a->o, or scratch [B,H,Tq,dv] */
    int64_t os[4];
    int scale_op;          /* after a Div by a power of two became a Mul */
    float scale;
    double scale_abs;      /* the factor's magnitude (1 without scaling) */
    int64_t nqb, n_units, n_slots;
    int lazy;              /* 1: each slot packs its heads itself (at_lazy_ok), kt/vp unused */
    float *slots;          /* scratch: per slot S [AT_R][Tkp], Q [AT_R][dh], lazily K^T and V */
    size_t slot_stride;    /* bytes */
} AtJob;

/* ---- phase 1: K^T packed, K and V checked ---- */

/* Over n contiguous floats: max |x| into *amax; returns 1 when some x is inf or NaN. */
AT_T512 static int at_scan(const float *x, int64_t n, float *amax) {
    __m512 m = _mm512_setzero_ps();
    __mmask16 bad = 0;
    const __m512 sign = _mm512_set1_ps(-0.0f);
    for (int64_t i = 0; i < n; i += 16) {
        __m512 v = _mm512_maskz_loadu_ps(at_mask(n - i), x + i);
        bad |= _mm512_fpclass_ps_mask(v, 0x01 | 0x08 | 0x10 | 0x80); /* NaN, +inf, -inf */
        m = _mm512_max_ps(m, _mm512_andnot_ps(sign, v));
    }
    *amax = _mm512_reduce_max_ps(m);
    return bad != 0;
}

/* kt[d * Tkp + j] = k(j, d) (element (j, d) at k + j * sj + d * sd), zeros for Tk <= j < Tkp;
 * returns max |k|, +inf when some k is inf or NaN. */
AT_T512 static float at_pack_kt(const float *k, int64_t sj, int64_t sd, int64_t Tk, int64_t dh, int64_t Tkp,
                                float *kt) {
    if (sd == 1) { /* rows of K contiguous: 16 keys x 16 dims per register transpose */
        const __m512 sign = _mm512_set1_ps(-0.0f);
        __m512 m = _mm512_setzero_ps();
        __mmask16 bad = 0;
        for (int64_t d0 = 0; d0 < dh; d0 += 16) {
            const int64_t rd = dh - d0 < 16 ? dh - d0 : 16;
            const __mmask16 md = at_mask(rd);
            for (int64_t j0 = 0; j0 < Tkp; j0 += 16) {
                __m512 r[16];
                for (int i = 0; i < 16; i++) {
                    r[i] = j0 + i < Tk ? _mm512_maskz_loadu_ps(md, k + (j0 + i) * sj + d0) : _mm512_setzero_ps();
                    bad |= _mm512_fpclass_ps_mask(r[i], 0x01 | 0x08 | 0x10 | 0x80); /* NaN, +-inf */
                    m = _mm512_max_ps(m, _mm512_andnot_ps(sign, r[i]));
                }
                rt_tr16_ps(r);
                for (int i = 0; i < rd; i++) _mm512_storeu_ps(kt + (d0 + i) * Tkp + j0, r[i]);
            }
        }
        return bad ? INFINITY : _mm512_reduce_max_ps(m);
    }
    for (int64_t d = 0; d < dh; d++) {
        float *dst = kt + d * Tkp;
        if (sj == 1) {
            memcpy(dst, k + d * sd, (size_t)Tk * sizeof(float));
        } else {
            for (int64_t j = 0; j < Tk; j++) dst[j] = k[j * sj + d * sd];
        }
        for (int64_t j = Tk; j < Tkp; j++) dst[j] = 0.0f;
    }
    float km;
    return at_scan(kt, dh * Tkp, &km) ? INFINITY : km;
}

/* dst[i] = src[i] for i < n; max |x| folded into *m, inf/NaN lanes into *bad. */
AT_T512 static void at_copy_scan(const float *src, int64_t n, float *dst, __m512 *m, __mmask16 *bad) {
    const __m512 sign = _mm512_set1_ps(-0.0f);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 k = at_mask(n - i);
        __m512 x = _mm512_maskz_loadu_ps(k, src + i);
        _mm512_mask_storeu_ps(dst + i, k, x);
        *bad |= _mm512_fpclass_ps_mask(x, 0x01 | 0x08 | 0x10 | 0x80);
        *m = _mm512_max_ps(*m, _mm512_andnot_ps(sign, x));
    }
}

/* Head (b, h): K^T into kt [dh][Tkp], V into vp [Tk][dv]; *kmax = max |k| (+inf when some k
 * is inf or NaN), *vbad = 1 when some v is. */
AT_T512 static void at_pack_head(const RtAttention *a, int64_t Tkp, int64_t b, int64_t h, float *kt, float *vp,
                                 float *kmax, unsigned char *vbad) {
    *kmax = at_pack_kt(a->k + b * a->ks[0] + h * a->ks[1], a->ks[2], a->ks[3], a->Tk, a->dh, Tkp, kt);
    const float *v = a->v + b * a->vs[0] + h * a->vs[1];
    __m512 vm = _mm512_setzero_ps();
    __mmask16 bad = 0;
    for (int64_t j = 0; j < a->Tk; j++) {
        if (a->vs[3] == 1) {
            at_copy_scan(v + j * a->vs[2], a->dv, vp + j * a->dv, &vm, &bad);
        } else {
            for (int64_t e = 0; e < a->dv; e++) vp[j * a->dv + e] = v[j * a->vs[2] + e * a->vs[3]];
            at_copy_scan(vp + j * a->dv, a->dv, vp + j * a->dv, &vm, &bad);
        }
    }
    *vbad = bad != 0;
}

/* Phase 1 over heads [u0, u1) (when every head is packed before any block runs). */
AT_T512 static void at_phase1(void *arg, int64_t u0, int64_t u1) {
    const AtJob *J = arg;
    const RtAttention *a = J->a;
    for (int64_t u = u0; u < u1; u++)
        at_pack_head(a, J->Tkp, u / a->H, u % a->H, J->kt + u * a->dh * J->Tkp, J->vp + u * a->Tk * a->dv, &J->kmax[u],
                     &J->vbad[u]);
}

/* ---- phase 2: one block of query rows ---- */

/* S[r][j0 + 16 c] for r < R, c < NV: sum over d of q[r][d] * kt[d][..], then scaled and
 * masked (mrow[r]: the row's mask, NULL = none); vmax[r] takes the lane maxima of the row's
 * columns (< end[r]). */
AT_T512 AT_INL void at_scores(int R, int NV, const float *q, int64_t dh, const float *kt, int64_t Tkp, int64_t j0,
                              const AtJob *J, const float *const *mrow, int64_t Tk, const int64_t *end, float *S,
                              __m512 *vmax) {
    __m512 acc[AT_R][2];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
        for (int c = 0; c < NV; c++) acc[r][c] = _mm512_setzero_ps();
    const float *kp = kt + j0;
    for (int64_t d = 0; d < dh; d++, kp += Tkp) {
        __m512 k0 = _mm512_loadu_ps(kp), k1 = NV > 1 ? _mm512_loadu_ps(kp + 16) : k0;
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            __m512 qv = _mm512_set1_ps(q[r * dh + d]);
            acc[r][0] = _mm512_fmadd_ps(qv, k0, acc[r][0]);
            if (NV > 1) acc[r][1] = _mm512_fmadd_ps(qv, k1, acc[r][1]);
        }
    }
    const __m512 sc = _mm512_set1_ps(J->scale);
    const int64_t ms3 = J->a->ms[3];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
        for (int c = 0; c < NV; c++) {
            __m512 s = acc[r][c];
            if (J->scale_op == RT_ATTN_SCALE_MUL) s = _mm512_mul_ps(s, sc);
            else if (J->scale_op == RT_ATTN_SCALE_DIV) s = _mm512_div_ps(s, sc);
            const int64_t j = j0 + 16 * c;
            if (mrow[r]) {
                __m512 m = ms3 ? _mm512_maskz_loadu_ps(at_mask(Tk - j), mrow[r] + j) : _mm512_set1_ps(mrow[r][0]);
                s = _mm512_add_ps(s, m);
            }
            _mm512_storeu_ps(S + r * Tkp + j, s);
            vmax[r] = _mm512_mask_max_ps(vmax[r], at_mask0(end[r] - j), vmax[r], s);
        }
}

/* The S tiles of R rows over columns [0, n). */
AT_T512 AT_INL void at_scores_rows(int R, const float *q, int64_t dh, const float *kt, int64_t Tkp, int64_t n,
                                   const AtJob *J, const float *const *mrow, int64_t Tk, const int64_t *end, float *S,
                                   __m512 *vmax) {
    for (int64_t j0 = 0; j0 < n; j0 += 32) {
        if (n - j0 > 16)
            at_scores(R, 2, q, dh, kt, Tkp, j0, J, mrow, Tk, end, S, vmax);
        else
            at_scores(R, 1, q, dh, kt, Tkp, j0, J, mrow, Tk, end, S, vmax);
    }
}

/* exp(x) for the softmax's x = score - max <= 0 (or NaN): vmath.h's polynomial and scaling,
 * with every lane whose result would be below FLT_MIN (x < -87.33) set to 0 by the write mask
 * instead: such an e is under 1.2e-38 of the row's sum (>= 1), far below any tolerance, and a
 * denormal result costs a microcode assist per instruction (rt_vm512_exp computes those
 * lanes again, exactly: tinylm's peaked rows paid it). NaN stays NaN. */
AT_T512 AT_INL __m512 at_exp(__m512 x) {
    const __m512 c = _mm512_min_ps(_mm512_set1_ps(88.8f), _mm512_max_ps(_mm512_set1_ps(-88.0f), x));
    const __mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.33f), _CMP_NLT_UQ);
    if (!keep) return _mm512_setzero_ps();
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(c, _mm512_set1_ps(RT_VM_LOG2E)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(RT_VM_LN2_HI), c);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(RT_VM_LN2_LO), r);
    __m512 q = _mm512_set1_ps(0x1.6a242ep-10f);
    q = RT_VM_STEP(q, r, 0x1.1239e2p-7f);
    q = RT_VM_STEP(q, r, 0x1.5558f2p-5f);
    q = RT_VM_STEP(q, r, 0x1.555492p-3f);
    q = RT_VM_STEP(q, r, 0x1.fffffcp-2f);
    __m512 p = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(r, r), q, r), _mm512_set1_ps(1.0f));
    return _mm512_maskz_scalef_ps(keep, p, n);
}

/* Row x[0, n) in place: e = exp(x - m), m the row's max (its lane maxima vm); returns
 * 1 / sum e, which P V applies to its sums (P = e / sum, one rounding later). A NaN that the
 * lane maxima drop still makes the sum, and so the row, NaN. A row all -inf gives NaN too,
 * unless zero_empty: then e = 0 and the factor 0. */
AT_T512 static float at_softmax(float *x, int64_t n, __m512 vm, int zero_empty) {
    __m512 vs = _mm512_setzero_ps();
    const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(vm));
    if (zero_empty && _mm512_reduce_max_ps(vm) == -INFINITY && rt_att_row_all_masked(x, n)) {
        memset(x, 0, sizeof(float) * (size_t)n);
        return 0.0f;
    }
    int64_t j = 0;
    for (; j + 16 <= n; j += 16) {
        __m512 e = at_exp(_mm512_sub_ps(_mm512_loadu_ps(x + j), m));
        _mm512_storeu_ps(x + j, e);
        vs = _mm512_add_ps(vs, e);
    }
    if (j < n) {
        __mmask16 k = at_mask(n - j);
        __m512 e = at_exp(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + j), m));
        _mm512_mask_storeu_ps(x + j, k, e);
        vs = _mm512_mask_add_ps(vs, k, vs, e);
    }
    return 1.0f / _mm512_reduce_add_ps(vs);
}

/* O[r][e0 + 16 c] (r < R, c < NV, the last vector's lanes by mlast) = inv[r] * the sum over
 * j < n of E[r][j] * V[j][..]; orow[r]: row r of O (element e at orow[r] + e * os3). */
AT_T512 AT_INL void at_pv(int R, int NV, const float *P, int64_t ldp, const float *v, int64_t ldv, int64_t n,
                          int64_t e0, __mmask16 mlast, float *const *orow, int64_t os3, const float *inv) {
    __m512 acc[4][4];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int c = 0; c < NV; c++) acc[r][c] = _mm512_setzero_ps();
    const float *vp = v + e0;
    for (int64_t j = 0; j < n; j++, vp += ldv) {
        __m512 vv[4];
#pragma GCC unroll 4
        for (int c = 0; c < NV; c++) vv[c] = _mm512_maskz_loadu_ps(c == NV - 1 ? mlast : 0xffff, vp + 16 * c);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            __m512 p = _mm512_set1_ps(P[r * ldp + j]);
#pragma GCC unroll 4
            for (int c = 0; c < NV; c++) acc[r][c] = _mm512_fmadd_ps(p, vv[c], acc[r][c]);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int c = 0; c < NV; c++) {
            const __mmask16 k = c == NV - 1 ? mlast : 0xffff;
            acc[r][c] = _mm512_mul_ps(acc[r][c], _mm512_set1_ps(inv[r]));
            if (os3 == 1) {
                _mm512_mask_storeu_ps(orow[r] + e0 + 16 * c, k, acc[r][c]);
            } else {
                float t[16];
                _mm512_storeu_ps(t, acc[r][c]);
                for (int l = 0; l < 16 && ((k >> l) & 1); l++) orow[r][(e0 + 16 * c + l) * os3] = t[l];
            }
        }
}

/* The R <= 4 rows' O for every chunk of up to 64 output columns. */
AT_T512 AT_INL void at_pv_rows(int R, const float *P, int64_t ldp, const float *v, int64_t ldv, int64_t n, int64_t dv,
                               float *const *orow, int64_t os3, const float *inv) {
    for (int64_t e0 = 0; e0 < dv; e0 += 64) {
        const int64_t w = dv - e0 < 64 ? dv - e0 : 64;
        const int nv = (int)((w + 15) / 16);
        const __mmask16 ml = at_mask(w - 16 * (nv - 1));
        switch (nv) {
        case 1: at_pv(R, 1, P, ldp, v, ldv, n, e0, ml, orow, os3, inv); break;
        case 2: at_pv(R, 2, P, ldp, v, ldv, n, e0, ml, orow, os3, inv); break;
        case 3: at_pv(R, 3, P, ldp, v, ldv, n, e0, ml, orow, os3, inv); break;
        default: at_pv(R, 4, P, ldp, v, ldv, n, e0, ml, orow, os3, inv); break;
        }
    }
}

/* rt_attention_row_info for a contiguous row, 16 entries at a time. */
AT_T512 static void at_row_info(const float *row, int64_t stride, int64_t Tk, RtAttnRow *ri) {
    if (stride != 1) {
        rt_attention_row_info(row, stride, Tk, ri);
        return;
    }
    __m512 vm = _mm512_set1_ps(-INFINITY);
    __mmask16 odd = 0;
    for (int64_t j = 0; j < Tk; j += 16) {
        __m512 x = _mm512_maskz_loadu_ps(at_mask(Tk - j), row + j);
        odd |= _mm512_fpclass_ps_mask(x, 0x01 | 0x08 | 0x80); /* NaN, +inf */
        vm = _mm512_max_ps(vm, x);
    }
    ri->end = (int32_t)Tk, ri->zero = 0, ri->gap = -INFINITY;
    if (odd) return;
    const double mx = _mm512_reduce_max_ps(vm);
    if (mx == -INFINITY) {
        ri->end = 0, ri->zero = 1, ri->gap = INFINITY;
        return;
    }
    const __m512 lo = _mm512_set1_ps((float)(mx - AT_LOW_GAP));
    int64_t e = 0;
    for (int64_t j0 = (Tk - 1) & ~(int64_t)15; j0 >= 0; j0 -= 16) {
        __mmask16 k = at_mask(Tk - j0);
        __mmask16 high = _mm512_mask_cmp_ps_mask(k, _mm512_maskz_loadu_ps(k, row + j0), lo, _CMP_GE_OQ);
        if (high) {
            e = j0 + 32 - __builtin_clz((unsigned)high); /* 1 + the highest such lane */
            break;
        }
    }
    /* (float)(mx - AT_LOW_GAP) may round up: entries between it and mx - AT_LOW_GAP are then
     * low in the float test; the gap below accounts for whatever the suffix holds */
    __m512 vs = _mm512_set1_ps(-INFINITY);
    for (int64_t j = e; j < Tk; j += 16) vs = _mm512_max_ps(vs, _mm512_mask_loadu_ps(vs, at_mask(Tk - j), row + j));
    __mmask16 nz = 0;
    for (int64_t j = 0; j < e; j += 16)
        nz |= _mm512_cmp_ps_mask(_mm512_maskz_loadu_ps(at_mask(e - j), row + j), _mm512_setzero_ps(), _CMP_NEQ_UQ);
    at_row_split(mx, e, _mm512_reduce_max_ps(vs), Tk, nz == 0, ri);
}

/* Block qb of rows of head (b, h): slot S holds the scores, Qb the query rows. */
AT_T512 static void at_block(const AtJob *J, int64_t b, int64_t h, int64_t qb, float *S, float *Qb, const float *kt,
                             const float *vp, float kmax, int vbad) {
    const RtAttention *a = J->a;
    const int64_t i0 = qb * AT_R, R = a->Tq - i0 < AT_R ? a->Tq - i0 : AT_R, dh = a->dh, Tk = a->Tk;
    const float *q = a->q + b * a->qs[0] + h * a->qs[1] + i0 * a->qs[2];
    for (int64_t r = 0; r < R; r++) {
        if (a->qs[3] == 1)
            memcpy(Qb + r * dh, q + r * a->qs[2], (size_t)dh * sizeof(float));
        else
            for (int64_t d = 0; d < dh; d++) Qb[r * dh + d] = q[r * a->qs[2] + d * a->qs[3]];
    }
    float qmax;
    int qbad = at_scan(Qb, R * dh, &qmax);
    const float *mrow[AT_R] = {NULL}, *madd[AT_R] = {NULL}; /* madd[r]: the mask to add, NULL = none */
    int64_t n = Tk, end[AT_R]; /* end[r]: row r's columns; [end[r], n) its probabilities are 0 */
    for (int64_t r = 0; r < R; r++) end[r] = Tk;
    if (a->mask) {
        /* B bounds every score of the block: |q . k| <= dh max|q| max|k| (1 + slack for the
         * float sums), then the scale. A row's suffix is cut only where its gap is well past
         * 2 B (see RtAttnRow) and nothing is inf or NaN (see the header). */
        const double B = (double)dh * (double)qmax * (double)kmax * 1.001 * J->scale_abs;
        const int safe = !qbad && !vbad && (double)dh * qmax * kmax < 0.25 * FLT_MAX && B < 0.25 * FLT_MAX;
        const double need = 2.002 * B + 200.0;
        for (int64_t r = 0; r < R; r++) mrow[r] = a->mask + b * a->ms[0] + h * a->ms[1] + (i0 + r) * a->ms[2];
        n = 0;
        for (int64_t r = 0; r < R; r++) {
            RtAttnRow ri;
            if (a->rows)
                ri = a->rows[b * a->rs[0] + h * a->rs[1] + i0 + r];
            else
                at_row_info(mrow[r], a->ms[3], Tk, &ri);
            end[r] = safe && ri.gap > need ? ri.end : Tk;
            if (end[r] > n) n = end[r];
            /* a row cut where its mask is all 0 before the cut: x + 0 is x (and -0 + 0 = +0
             * changes no exp), and nothing past the cut is used */
            madd[r] = ri.zero && end[r] == ri.end && end[r] > 0 ? NULL : mrow[r];
        }
        if (n < 1) n = 1; /* every row all -inf: one column gives their NaN */
        for (int64_t r = 0; r < R; r++)
            if (end[r] < 1 || end[r] > n) end[r] = n; /* all -inf: the row's NaN over the columns computed */
    }
    __m512 vmax[AT_R];
    for (int r = 0; r < AT_R; r++) vmax[r] = _mm512_set1_ps(-INFINITY);
    switch (R) {
    case 8: at_scores_rows(8, Qb, dh, kt, J->Tkp, n, J, madd, Tk, end, S, vmax); break;
    case 7: at_scores_rows(7, Qb, dh, kt, J->Tkp, n, J, madd, Tk, end, S, vmax); break;
    case 6: at_scores_rows(6, Qb, dh, kt, J->Tkp, n, J, madd, Tk, end, S, vmax); break;
    case 5: at_scores_rows(5, Qb, dh, kt, J->Tkp, n, J, madd, Tk, end, S, vmax); break;
    case 4: at_scores_rows(4, Qb, dh, kt, J->Tkp, n, J, madd, Tk, end, S, vmax); break;
    case 3: at_scores_rows(3, Qb, dh, kt, J->Tkp, n, J, madd, Tk, end, S, vmax); break;
    case 2: at_scores_rows(2, Qb, dh, kt, J->Tkp, n, J, madd, Tk, end, S, vmax); break;
    default: at_scores_rows(1, Qb, dh, kt, J->Tkp, n, J, madd, Tk, end, S, vmax); break;
    }
    float inv[AT_R];
    for (int64_t r = 0; r < R; r++) {
        inv[r] = at_softmax(S + r * J->Tkp, end[r], vmax[r], a->zero_empty_rows);
        for (int64_t j = end[r]; j < n; j += 16) /* exactly what exp gives there */
            _mm512_mask_storeu_ps(S + r * J->Tkp + j, at_mask(n - j), _mm512_setzero_ps());
    }
    const float *v = vp;
    const int64_t ldv = a->dv;
    float *orow[AT_R];
    for (int64_t r = 0; r < R; r++) orow[r] = J->o + b * J->os[0] + h * J->os[1] + (i0 + r) * J->os[2];
    for (int64_t r0 = 0; r0 < R; r0 += 4) {
        const float *P = S + r0 * J->Tkp;
        const int64_t rows = R - r0 < 4 ? R - r0 : 4;
        int64_t n4 = 0; /* the group's columns: past them every P is 0 */
        for (int64_t r = r0; r < r0 + rows; r++) n4 = end[r] > n4 ? end[r] : n4;
        switch (rows) {
        case 4: at_pv_rows(4, P, J->Tkp, v, ldv, n4, a->dv, orow + r0, J->os[3], inv + r0); break;
        case 3: at_pv_rows(3, P, J->Tkp, v, ldv, n4, a->dv, orow + r0, J->os[3], inv + r0); break;
        case 2: at_pv_rows(2, P, J->Tkp, v, ldv, n4, a->dv, orow + r0, J->os[3], inv + r0); break;
        default: at_pv_rows(1, P, J->Tkp, v, ldv, n4, a->dv, orow + r0, J->os[3], inv + r0); break;
        }
    }
}

/* Slots [s0, s1): each runs its share of the blocks. Unit u: head u / nqb, and within the
 * head block t = u % nqb taken from alternate ends (0, nqb-1, 1, nqb-2, ...), so any
 * contiguous share of a causal head's blocks costs about the same. Lazily (J->lazy: each
 * slot holds whole heads) a slot packs each head's K^T and V into its own buffers right
 * before the head's blocks, which then find them in L1/L2. */
AT_T512 static void at_phase2(void *arg, int64_t s0, int64_t s1) {
    const AtJob *J = arg;
    const RtAttention *a = J->a;
    for (int64_t s = s0; s < s1; s++) {
        float *S = (float *)((char *)J->slots + (size_t)s * J->slot_stride);
        float *Qb = S + AT_R * J->Tkp;
        float *hk = Qb + ((AT_R * a->dh + 15) & ~(int64_t)15), *hv = hk + a->dh * J->Tkp, hkmax = 0;
        unsigned char hvbad = 0;
        int64_t u0, u1, packed = -1;
        rt_chunk_range(J->n_units, J->n_slots, s, &u0, &u1);
        for (int64_t u = u0; u < u1; u++) {
            const int64_t bh = u / J->nqb, t = u % J->nqb;
            const int64_t qb = (t & 1) ? J->nqb - 1 - t / 2 : t / 2;
            if (!J->lazy) {
                at_block(J, bh / a->H, bh % a->H, qb, S, Qb, J->kt + bh * a->dh * J->Tkp, J->vp + bh * a->Tk * a->dv,
                         J->kmax[bh], J->vbad[bh]);
                continue;
            }
            if (bh != packed) at_pack_head(a, J->Tkp, bh / a->H, bh % a->H, hk, hv, &hkmax, &hvbad), packed = bh;
            at_block(J, bh / a->H, bh % a->H, qb, S, Qb, hk, hv, hkmax, hvbad);
        }
    }
}

/* [lo, hi) bytes an operand of dims (B, H, n, m) with strides s spans. */
static void at_extent(const void *p, int64_t B, int64_t H, int64_t n, int64_t m, const int64_t *s, const char **lo,
                      const char **hi) {
    int64_t last = (B - 1) * s[0] + (H - 1) * s[1] + (n - 1) * s[2] + (m - 1) * s[3];
    *lo = p;
    *hi = (const char *)p + (last + 1) * (int64_t)sizeof(float);
}

static int at_overlap(const char *a0, const char *a1, const char *b0, const char *b1) { return a0 < b1 && b0 < a1; }

/* 1 when O may be written while Q or the mask are still being read (K and V are packed
 * before any O is written). */
static int at_o_aliases(const RtAttention *a) {
    const char *o0, *o1, *x0, *x1;
    at_extent(a->o, a->B, a->H, a->Tq, a->dv, a->os, &o0, &o1);
    at_extent(a->q, a->B, a->H, a->Tq, a->dh, a->qs, &x0, &x1);
    if (at_overlap(o0, o1, x0, x1)) return 1;
    if (a->mask) {
        at_extent(a->mask, a->B, a->H, a->Tq, a->Tk, a->ms, &x0, &x1);
        if (at_overlap(o0, o1, x0, x1)) return 1;
    }
    return 0;
}

/* 1 when x (dims [B, H, n, m], strides xs) is laid exactly as O: then O's head (b, h) covers
 * x's head (b, h) and no other (distinct heads of a view are disjoint, none broadcast). */
static int at_same_layout(const RtAttention *a, const float *x, const int64_t *xs, int64_t n, int64_t m,
                          const float *o, const int64_t *os) {
    return x == o && n == a->Tq && m == a->dv && memcmp(xs, os, 4 * sizeof *xs) == 0 && (xs[0] || a->B == 1) &&
           (xs[1] || a->H == 1);
}

/* 1 when each slot may pack its heads right before their blocks (no phase 1): slots hold
 * whole heads, and O (at o, os) never covers K or V of a head packed later, being apart from
 * them or laid exactly over one (tinylm's plan puts the output over k's projection). */
static int at_lazy_ok(const RtAttention *a, const float *o, const int64_t *os, int64_t n_slots) {
    if ((a->B * a->H) % n_slots) return 0;
    const char *o0, *o1, *x0, *x1;
    at_extent(o, a->B, a->H, a->Tq, a->dv, os, &o0, &o1);
    at_extent(a->k, a->B, a->H, a->Tk, a->dh, a->ks, &x0, &x1);
    if (at_overlap(o0, o1, x0, x1) && !at_same_layout(a, a->k, a->ks, a->Tk, a->dh, o, os)) return 0;
    at_extent(a->v, a->B, a->H, a->Tk, a->dv, a->vs, &x0, &x1);
    return !at_overlap(o0, o1, x0, x1) || at_same_layout(a, a->v, a->vs, a->Tk, a->dv, o, os);
}

/* The factor the scores are multiplied or divided by; a Div by a power of two becomes the
 * Mul by its exact inverse (the same rounding: both round the same real quotient). */
static void at_scale_setup(const RtAttention *a, AtJob *J) {
    J->scale_op = a->scale_op;
    J->scale = a->scale;
    J->scale_abs = a->scale_op == RT_ATTN_SCALE_NONE  ? 1.0
                   : a->scale_op == RT_ATTN_SCALE_MUL ? fabs((double)a->scale)
                                                      : 1.0 / fabs((double)a->scale);
    if (a->scale_op == RT_ATTN_SCALE_DIV && isfinite(a->scale) && a->scale != 0.0f) {
        int e;
        float inv = 1.0f / a->scale;
        if (fabsf(frexpf(a->scale, &e)) == 0.5f && isfinite(inv) && fabsf(inv) >= FLT_MIN) {
            J->scale_op = RT_ATTN_SCALE_MUL;
            J->scale = inv;
        }
    }
}

int rt_attention_run(RtKernelCtx *c, const RtAttention *a) {
    if (!rt_attention_supported()) return rt_error_set(c->err, "attention: no AVX-512 on this CPU"), RT_ERR_UNSUPPORTED;
    AtJob J;
    memset(&J, 0, sizeof J);
    J.a = a;
    at_scale_setup(a, &J);
    J.Tkp = (a->Tk + 15) & ~(int64_t)15;
    const int64_t BH = a->B * a->H;
    const int o_scratch = at_o_aliases(a);
    J.nqb = (a->Tq + AT_R - 1) / AT_R;
    J.n_units = BH * J.nqb;
    const int64_t work = BH * a->Tq * a->Tk * (a->dh + a->dv);
    J.n_slots = work < AT_PAR_MIN ? 1 : rt_pool_chunks(c->pool, J.n_units, 1);
    if (o_scratch) {
        J.os[3] = 1, J.os[2] = a->dv, J.os[1] = a->Tq * a->dv, J.os[0] = a->H * a->Tq * a->dv;
    } else {
        memcpy(J.os, a->os, sizeof J.os);
    }
    J.lazy = o_scratch ? (BH % J.n_slots) == 0 : at_lazy_ok(a, a->o, a->os, J.n_slots);
    const int64_t head_floats = a->dh * J.Tkp + a->Tk * a->dv; /* one head's K^T and V */
    const size_t slot_bytes =
        (size_t)(AT_R * J.Tkp + ((AT_R * a->dh + 15) & ~(int64_t)15) + (J.lazy ? head_floats : 0) + 16) * sizeof(float);
    J.slot_stride = (rt_slot_stride(slot_bytes, J.n_slots) + 63) & ~(size_t)63;
    size_t kt_b = J.lazy ? 0 : (size_t)(BH * a->dh * J.Tkp) * sizeof(float);
    size_t vp_b = J.lazy ? 0 : (size_t)(BH * a->Tk * a->dv) * sizeof(float);
    size_t o_b = o_scratch ? (size_t)(BH * a->Tq * a->dv) * sizeof(float) : 0;
    size_t small_b = (size_t)BH * (sizeof(float) + 1);
#define AT_ALIGN(x) (((x) + 63) & ~(size_t)63)
    size_t total = AT_ALIGN(kt_b) + AT_ALIGN(vp_b) + AT_ALIGN(o_b) + AT_ALIGN(small_b) + J.slot_stride * (size_t)J.n_slots;
    char *buf = rt_scratch(c, total);
    if (!buf) return RT_ERR_NOMEM;
    char *p = buf;
    J.kt = J.lazy ? NULL : (float *)p, p += AT_ALIGN(kt_b);
    J.vp = J.lazy ? NULL : (float *)p, p += AT_ALIGN(vp_b);
    J.o = o_scratch ? (float *)p : a->o, p += AT_ALIGN(o_b);
    J.kmax = (float *)p;
    J.vbad = (unsigned char *)(J.kmax + BH), p += AT_ALIGN(small_b);
    J.slots = (float *)p;
#undef AT_ALIGN
    if (!J.lazy) {
        const int64_t per_head = a->Tk * (a->dh + a->dv);
        rt_parallel_for(work < AT_PAR_MIN ? NULL : c->pool, BH, per_head >= 8192 ? 1 : 8192 / per_head, at_phase1, &J);
    }
    rt_parallel_for(J.n_slots > 1 ? c->pool : NULL, J.n_slots, 1, at_phase2, &J);
    if (o_scratch) /* after every read of the inputs */
        for (int64_t b = 0; b < a->B; b++)
            for (int64_t h = 0; h < a->H; h++)
                for (int64_t i = 0; i < a->Tq; i++) {
                    const float *src = J.o + b * J.os[0] + h * J.os[1] + i * J.os[2];
                    float *dst = a->o + b * a->os[0] + h * a->os[1] + i * a->os[2];
                    for (int64_t e = 0; e < a->dv; e++) dst[e * a->os[3]] = src[e];
                }
    rt_scratch_free(c, buf);
    return RT_OK;
}

#else /* not x86-64 with GCC: no kernel (the fusion is never chosen) */

int rt_attention_supported(void) { return 0; }

int rt_attention_run(RtKernelCtx *c, const RtAttention *a) {
    (void)a;
    return rt_error_set(c->err, "attention: no AVX-512 on this CPU"), RT_ERR_UNSUPPORTED;
}

#endif
