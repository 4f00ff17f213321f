/*
 * attention_decode_x86.c — one decode step of grouped attention (attention_x86.h
 * rt_attention_decode), AVX-512: per batch b and key/value head g, the G query heads of the
 * group (one query row each) against the group's keys and values, read where they lie:
 *     O[b, h] = softmax(scale * q[b, h] K[b, g]^T + mask[b, h]) V[b, g],   h = g*G + r, r < G
 *
 * Why its own kernel: a decode step does ~2 multiply-adds per key and value element it reads
 * (G rows against one K and V), so its time is the memory it streams, not arithmetic. The
 * general fused kernel (attention_x86.c) first packs K^T and V per head (a copy as large as
 * the cache itself), which at Llama-3-8B's shape (8 heads x 2047 cached x 128) cost as much as
 * the attention. Here K and V are read once, and the copy of the cache into the present
 * outputs (which the step must write anyway: 2 x 8 MiB there) is done on the way:
 *   - scores: per key j, K_j's dh floats loaded once (dh / 16 vectors) from the cache (or the
 *     new rows), stored to present K, and dotted with every row's q (rows' q in L1), one
 *     horizontal sum per (row, key); V_j copied to present V in the same step, so the memory
 *     streams under the arithmetic; scores times scale, plus the row's mask; a row's scores
 *     [T] go to an L1/L2 buffer with their lane maxima;
 *   - softmax per row: e = exp(s - max) (vmath.h's polynomial), sum (ONNX Softmax's max
 *     subtraction; -inf scores give 0, a NaN gives NaN as the reference; a row all -inf, every
 *     key masked, gives e = 0 and an output row of 0, ONNX Attention's errata);
 *   - O = (e V) / sum: per key j, V_j's 64-float chunks loaded once for up to 4 rows (16
 *     accumulators), the row chunks and groups of 4 rows each streaming V once more.
 * Values differ from the reference (ref/attention.c: GEMMs, then a softmax pass) only by the
 * order of the float sums. Units (b, g) are split over the thread pool, each unit's numbers
 * computed the same way whatever the split. Needs dh and dv multiples of 16 and G <= 8 (the
 * caller, x86/attention23_x86.c, checks).
 */
#include "attention_x86.h"
#include "../ref/attention.h"

#include <math.h>
#include <string.h>

#include "../../rt_threads.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#include "vmath.h"

#define AD_T512 __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")))
#define AD_INL static inline __attribute__((always_inline))

typedef struct {
    const RtAttDecode *d;
    float *slots;       /* scratch: per slot S [G][T] */
    size_t slot_stride; /* bytes */
    int64_t n_slots;
} AdJob;

/* Scores of rows r < G of unit (b, g) into S[r][T]; vmax[r] their lane maxima. */
AD_T512 static void ad_scores(const RtAttDecode *d, int64_t b, int64_t g, float *S, __m512 *vmax) {
    const int64_t G = d->G, T = d->T, nc = d->dh / 16;
    float *K = (float *)d->k + b * d->ks[0] + g * d->ks[1]; /* written only in copy-in mode */
    float *V = (float *)d->v + b * d->vs[0] + g * d->vs[1];
    const float *kp = d->kpast ? d->kpast + b * d->kps[0] + g * d->kps[1] : NULL;
    const float *vp = d->vpast ? d->vpast + b * d->vps[0] + g * d->vps[1] : NULL;
    const float *kn = d->knew ? d->knew + b * d->kns[0] + g * d->kns[1] : NULL;
    const float *vn = d->vnew ? d->vnew + b * d->vns[0] + g * d->vns[1] : NULL;
    const int64_t ncv = d->dv / 16;
    const float *q[8];
    const float *mrow[8];
    for (int64_t r = 0; r < G; r++) {
        const int64_t h = g * G + r;
        q[r] = d->q + b * d->qs[0] + h * d->qs[1];
        mrow[r] = d->mask ? d->mask + b * d->ms[0] + h * d->ms[1] : NULL;
        vmax[r] = _mm512_set1_ps(-INFINITY);
    }
    const __m512 sc = _mm512_set1_ps(d->scale);
    for (int64_t j0 = 0; j0 < T; j0 += 16) {
        const int64_t nj = T - j0 < 16 ? T - j0 : 16;
        float dots[8][16];
        for (int64_t jj = 0; jj < nj; jj++) {
            const int64_t j = j0 + jj;
            float *kj = K + j * d->ks[2];
            const float *ksrc = kj;
            if (kn) { /* copy-in: row j from the cache or the new rows, into present as it is read */
                ksrc = j < d->P ? kp + j * d->dh : kn + (j - d->P) * d->kns[2];
                const float *vsrc = j < d->P ? vp + j * d->dv : vn + (j - d->P) * d->vns[2];
                float *vj = V + j * d->vs[2];
                for (int64_t cc = 0; cc < ncv; cc++) _mm512_storeu_ps(vj + cc * 16, _mm512_loadu_ps(vsrc + cc * 16));
            }
            __m512 acc[8];
            for (int64_t r = 0; r < G; r++) acc[r] = _mm512_setzero_ps();
            for (int64_t cc = 0; cc < nc; cc++) {
                const __m512 kv = _mm512_loadu_ps(ksrc + cc * 16);
                if (kn) _mm512_storeu_ps(kj + cc * 16, kv);
                for (int64_t r = 0; r < G; r++) acc[r] = _mm512_fmadd_ps(_mm512_loadu_ps(q[r] + cc * 16), kv, acc[r]);
            }
            for (int64_t r = 0; r < G; r++) dots[r][jj] = _mm512_reduce_add_ps(acc[r]);
        }
        const __mmask16 m = nj >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nj) - 1);
        for (int64_t r = 0; r < G; r++) {
            __m512 s = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, dots[r]), sc); /* dot * scale, then + mask */
            if (mrow[r]) s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(m, mrow[r] + j0));
            _mm512_mask_storeu_ps(S + r * T + j0, m, s);
            vmax[r] = _mm512_mask_max_ps(vmax[r], m, vmax[r], s);
        }
    }
}

/* Row x[0, n) in place: e = exp(x - max); returns 1 / sum e (NaN when a score or the max
 * is), or 0 with e = 0 for a row all -inf (see the header). */
AD_T512 static float ad_softmax_inv(float *x, int64_t n, __m512 vmax) {
    const __m512 mx = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
    if (_mm512_reduce_max_ps(vmax) == -INFINITY && rt_att_row_all_masked(x, n)) {
        memset(x, 0, sizeof(float) * (size_t)n);
        return 0.0f;
    }
    __m512 vs = _mm512_setzero_ps();
    for (int64_t j = 0; j < n; j += 16) {
        const __mmask16 m = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
        __m512 e = rt_vm512_exp(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + j), mx));
        e = _mm512_maskz_mov_ps(m, e);
        _mm512_mask_storeu_ps(x + j, m, e);
        vs = _mm512_add_ps(vs, e);
    }
    return 1.0f / _mm512_reduce_add_ps(vs);
}

/* o_r[c0, c0 + 16 NV) = sum_j e_r[j] V_j[c0..] / sum_r for NR rows from r0. */
AD_T512 AD_INL void ad_pv(int NR, int NV, const RtAttDecode *d, const float *V, const float *S, int64_t r0, int64_t c0,
                          float *const *orow, const float *inv) {
    __m512 acc[4][4];
    for (int r = 0; r < NR; r++)
        for (int c = 0; c < NV; c++) acc[r][c] = _mm512_setzero_ps();
    const int64_t T = d->T;
    for (int64_t j = 0; j < T; j++) {
        const float *vj = V + j * d->vs[2] + c0;
        __m512 vv[4];
        for (int c = 0; c < NV; c++) vv[c] = _mm512_loadu_ps(vj + 16 * c);
        for (int r = 0; r < NR; r++) {
            const __m512 e = _mm512_set1_ps(S[(r0 + r) * T + j]);
            for (int c = 0; c < NV; c++) acc[r][c] = _mm512_fmadd_ps(e, vv[c], acc[r][c]);
        }
    }
    for (int r = 0; r < NR; r++)
        for (int c = 0; c < NV; c++)
            _mm512_storeu_ps(orow[r0 + r] + c0 + 16 * c, _mm512_mul_ps(acc[r][c], _mm512_set1_ps(inv[r0 + r])));
}

#define AD_PV_CASE(nr, nv) ad_pv(nr, nv, d, V, S, r0, c0, orow, inv)

AD_T512 static void ad_unit(const RtAttDecode *d, int64_t u, float *S) {
    const int64_t b = u / d->Nkv, g = u % d->Nkv, G = d->G;
    __m512 vmax[8];
    ad_scores(d, b, g, S, vmax);
    float inv[8];
    float *orow[8];
    for (int64_t r = 0; r < G; r++) {
        inv[r] = ad_softmax_inv(S + r * d->T, d->T, vmax[r]);
        orow[r] = d->o + b * d->os[0] + (g * G + r) * d->os[1];
    }
    const float *V = d->v + b * d->vs[0] + g * d->vs[1]; /* the head's values just written: L2 */
    for (int64_t r0 = 0; r0 < G; r0 += 4) {
        const int nr = (int)(G - r0 < 4 ? G - r0 : 4);
        for (int64_t c0 = 0; c0 < d->dv; c0 += 64) {
            const int nv = (int)((d->dv - c0) / 16 < 4 ? (d->dv - c0) / 16 : 4);
            switch (nr * 4 + nv) { /* constant row and vector counts: accumulators in registers */
            case 4 + 1: AD_PV_CASE(1, 1); break;
            case 4 + 2: AD_PV_CASE(1, 2); break;
            case 4 + 3: AD_PV_CASE(1, 3); break;
            case 4 + 4: AD_PV_CASE(1, 4); break;
            case 8 + 1: AD_PV_CASE(2, 1); break;
            case 8 + 2: AD_PV_CASE(2, 2); break;
            case 8 + 3: AD_PV_CASE(2, 3); break;
            case 8 + 4: AD_PV_CASE(2, 4); break;
            case 12 + 1: AD_PV_CASE(3, 1); break;
            case 12 + 2: AD_PV_CASE(3, 2); break;
            case 12 + 3: AD_PV_CASE(3, 3); break;
            case 12 + 4: AD_PV_CASE(3, 4); break;
            case 16 + 1: AD_PV_CASE(4, 1); break;
            case 16 + 2: AD_PV_CASE(4, 2); break;
            case 16 + 3: AD_PV_CASE(4, 3); break;
            default: AD_PV_CASE(4, 4); break;
            }
        }
    }
}

AD_T512 static void ad_slots(void *arg, int64_t s0, int64_t s1) {
    const AdJob *J = arg;
    for (int64_t s = s0; s < s1; s++) {
        float *S = (float *)((char *)J->slots + (size_t)s * J->slot_stride);
        int64_t u0, u1;
        rt_chunk_range(J->d->B * J->d->Nkv, J->n_slots, s, &u0, &u1);
        for (int64_t u = u0; u < u1; u++) ad_unit(J->d, u, S);
    }
}

int rt_attention_decode(RtKernelCtx *c, const RtAttDecode *d) {
    if (!rt_attention_supported() || d->G < 1 || d->G > 8 || d->dh % 16 || d->dv % 16 || d->T < 1)
        return rt_error_set(c->err, "attention decode: unsupported case"), RT_ERR_UNSUPPORTED;
    AdJob J;
    memset(&J, 0, sizeof J);
    J.d = d;
    const int64_t units = d->B * d->Nkv;
    J.n_slots = units * d->G * d->T * (d->dh + d->dv) < ((int64_t)1 << 17) ? 1 : rt_pool_chunks(c->pool, units, 1);
    J.slot_stride = (rt_slot_stride(sizeof(float) * (size_t)(d->G * d->T + 16), J.n_slots) + 63) & ~(size_t)63;
    J.slots = rt_scratch(c, J.slot_stride * (size_t)J.n_slots);
    if (!J.slots) return RT_ERR_NOMEM;
    rt_parallel_for(J.n_slots > 1 ? c->pool : NULL, J.n_slots, 1, ad_slots, &J);
    rt_scratch_free(c, J.slots);
    return RT_OK;
}

#else /* not x86-64 with GCC */

int rt_attention_decode(RtKernelCtx *c, const RtAttDecode *d) {
    (void)d;
    return rt_error_set(c->err, "attention decode: no AVX-512 on this CPU"), RT_ERR_UNSUPPORTED;
}

#endif
