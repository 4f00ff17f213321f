/*
 * qlut_x86.c — QLut (y[i] = table[(uint8) x[i]], wafer_ops.h) with AVX-512 VBMI.
 *
 * The 256-byte table sits in four zmm registers T0..T3 (64 entries each). For 64 codes at a
 * time, vpermi2b looks up the low 7 bits of each code in T0:T1 and in T2:T3 (one 128-entry
 * table each), and bit 7 of the code picks which of the two results a byte takes
 * (vpmovb2m + a byte blend): 3 shuffles/blends per 64 bytes, no gathers. The tail is the
 * same with a masked load and store. Long tensors are split over the threads in chunks of
 * 64-byte blocks. Per-channel tables ([C, 256], ref/qlut.c) load one table per plane of the
 * channel axis and split the planes over the threads. CPUs without AVX-512 VBMI (and non-x86
 * builds) run the reference kernel.
 *
 * QMul (wafer_ops.h) of an int8 tensor x [..., C, H, W] by a per-channel int8 s [..., C, 1, 1]
 * (the squeeze-excitation multiply x * HardSigmoid(...)) runs here too: within one plane s is
 * one code, so each step is 16 codes of x times one int32 and qvec_x86.h's bit-exact vector
 * requantization (the reference's generic broadcasting loop reads and writes every element
 * through rt_qget / rt_qset and took ~8 ns an element). Other shapes and dtypes go to the
 * reference kernel.
 *
 * QConcat of int8 inputs: each input's rows requantized 16 codes at a time with the same
 * vector requantization (a copy where an input has the output's scale and zero point, as
 * the reference does); the reference converts element by element through rt_qget / rt_qset.
 */
#include "../kernel.h"
#include "../quant.h"
#include "../ref/qlut.h"
#include "qvec_x86.h"
#include "../../rt_threads.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define QLUT_X86 1
#define QLUT_TARGET __attribute__((target("avx512f,avx512bw,avx512vbmi")))
#else
#define QLUT_X86 0
#endif

/* Below this many bytes one thread does the whole tensor (a chunk's hand-off costs more). */
#define QLUT_MIN_PAR_BYTES (256 * 1024)

static int qlut_cpu_ok(void) {
#if QLUT_X86
    /* QMul's code is compiled for qvec_x86.h's feature set (QX_T512) */
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vnni") &&
           __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi2");
#else
    return 0;
#endif
}

typedef struct {
    const uint8_t *x;   /* borrowed: [total] codes */
    const uint8_t *t;   /* borrowed: [channels][256] tables */
    uint8_t *y;         /* borrowed: [total] */
    int64_t total;      /* bytes */
    int64_t channels;   /* 1, or per channel: planes of `inner` bytes, plane p reads table p % channels */
    int64_t inner;
} QlutJob;

#if QLUT_X86
/* y[i] = t[x[i]] for i < n (t: one 256-entry table). */
QLUT_TARGET static void qlut_bytes(const uint8_t *t, const uint8_t *x, uint8_t *y, int64_t n) {
    __m512i t0 = _mm512_loadu_si512(t), t1 = _mm512_loadu_si512(t + 64);
    __m512i t2 = _mm512_loadu_si512(t + 128), t3 = _mm512_loadu_si512(t + 192);
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512i idx = _mm512_loadu_si512(x + i);
        __m512i lo = _mm512_permutex2var_epi8(t0, idx, t1), hi = _mm512_permutex2var_epi8(t2, idx, t3);
        _mm512_storeu_si512(y + i, _mm512_mask_blend_epi8(_mm512_movepi8_mask(idx), lo, hi));
    }
    if (i < n) {
        __mmask64 m = ~0ULL >> (64 - (n - i)); /* 1..63 low bits */
        __m512i idx = _mm512_maskz_loadu_epi8(m, x + i);
        __m512i lo = _mm512_permutex2var_epi8(t0, idx, t1), hi = _mm512_permutex2var_epi8(t2, idx, t3);
        _mm512_mask_storeu_epi8(y + i, m, _mm512_mask_blend_epi8(_mm512_movepi8_mask(idx), lo, hi));
    }
}

/* Bytes [64 begin, min(64 end, total)) of the job (one table). */
QLUT_TARGET static void qlut_range(void *arg, int64_t begin, int64_t end) {
    const QlutJob *J = arg;
    int64_t i = begin * 64, stop = end * 64 < J->total ? end * 64 : J->total;
    if (i < stop) qlut_bytes(J->t, J->x + i, J->y + i, stop - i);
}

/* Planes [begin, end) of the job (per channel: plane p is `inner` bytes, table p % channels). */
QLUT_TARGET static void qlut_planes(void *arg, int64_t begin, int64_t end) {
    const QlutJob *J = arg;
    for (int64_t p = begin; p < end; p++)
        qlut_bytes(J->t + (p % J->channels) * 256, J->x + p * J->inner, J->y + p * J->inner, J->inner);
}
#endif

static int k_qlut_x86(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    RtKernelFn ref = rt_kernel_find(n->op);
    if (!ref) return rt_fail(c, "no reference kernel for %s", rt_op_name(n->op));
    if (!qlut_cpu_ok() || c->shape_only) return ref(c, n, in, out);
    const RtTensor *x = rt_in(n, in, 0), *t = rt_in(n, in, 1);
    if (!x || !t || !x->data || !t->data) return ref(c, n, in, out);
#if QLUT_X86
    RtQlutLayout l;
    RT_TRY(rt_qlut_prepare(c, n, in, out, &l));
    QlutJob J = {x->data, t->data, out[0]->data, rt_numel(x), l.channels, l.inner};
    if (l.channels == 1)
        rt_parallel_for(c->pool, (J.total + 63) / 64, QLUT_MIN_PAR_BYTES / 64, qlut_range, &J);
    else if (l.inner > 0)
        rt_parallel_for(c->pool, l.outer * l.channels, (QLUT_MIN_PAR_BYTES + l.inner - 1) / l.inner, qlut_planes, &J);
    return RT_OK;
#else
    return ref(c, n, in, out);
#endif
}

/* ---- QMul by a per-plane constant ---- */

typedef struct {
    const int8_t *x, *s;      /* borrowed: x [outer * inner], s [outer] */
    int8_t *y;                /* borrowed: [outer * inner] */
    int64_t inner;
    int32_t zx, zs, zy, lo, hi;
    RtRequant r;              /* x_scale * s_scale / y_scale */
} QmulJob;

#if QLUT_X86
/* Planes [begin, end): 16 codes per step, acc = (x - zx)(s - zs) in int32 (|acc| <= 2^16),
 * requantized by qvec_x86.h's bit-exact AVX-512 form of quant.h (multipliers below 1); the
 * scalar rt_requant_out for a multiplier >= 1 (a layer whose output scale is below
 * x_scale * s_scale, which calibration does not make; kept correct, not fast). */
QX_T512 static void qmul_planes(void *arg, int64_t begin, int64_t end) {
    const QmulJob *J = arg;
    const QxRq512 q = qx_rq512(J->r, J->zy, J->lo, J->hi);
    const __m512i zx = _mm512_set1_epi32(J->zx);
    for (int64_t o = begin; o < end; o++) {
        const int8_t *x = J->x + o * J->inner;
        int8_t *y = J->y + o * J->inner;
        int32_t sv = J->s[o] - J->zs;
        if (J->r.shift > 0) {
            for (int64_t i = 0; i < J->inner; i++)
                y[i] = (int8_t)rt_requant_out((x[i] - J->zx) * sv, J->r, J->zy, J->lo, J->hi);
            continue;
        }
        const __m512i m = _mm512_set1_epi32(sv);
        for (int64_t i = 0; i < J->inner; i += 16) {
            __mmask16 mk = (__mmask16)(J->inner - i >= 16 ? 0xffff : (1u << (J->inner - i)) - 1);
            __m512i a = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mk, x + i));
            __m512i acc = _mm512_mullo_epi32(_mm512_sub_epi32(a, zx), m);
            _mm_mask_storeu_epi8(y + i, mk, _mm512_cvtepi32_epi8(qx_requant512(acc, &q)));
        }
    }
}
#endif

static int scalar_f32(const RtTensor *t, double *v) {
    if (!t || t->dtype != RT_F32 || rt_numel(t) != 1 || !t->data) return 0;
    *v = ((const float *)t->data)[0];
    return *v > 0.0 && *v < 1e300;
}

static int scalar_i8(const RtTensor *t, int32_t *v) {
    if (!t || t->dtype != RT_I8 || rt_numel(t) != 1 || !t->data) return 0;
    *v = ((const int8_t *)t->data)[0];
    return 1;
}

/* p when s's dims are x's for d < p and 1 from p on (same rank, p < rank, x[p..] not all 1),
 * else -1: s is one value per plane x[i0..ip-1, :]. */
static int plane_split(const RtTensor *x, const RtTensor *s) {
    if (x->rank != s->rank || x->rank < 1) return -1;
    int p = x->rank;
    while (p > 0 && s->dims[p - 1] == 1) p--;
    for (int d = 0; d < p; d++)
        if (s->dims[d] != x->dims[d]) return -1;
    int64_t inner = 1;
    for (int d = p; d < x->rank; d++) inner *= x->dims[d];
    return p < x->rank && inner > 1 ? p : -1;
}

static int k_qmul_x86(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    RtKernelFn ref = rt_kernel_find(n->op);
    if (!ref) return rt_fail(c, "no reference kernel for %s", rt_op_name(n->op));
#if QLUT_X86
    if (!qlut_cpu_ok() || c->shape_only || n->n_in != 8) return ref(c, n, in, out);
    const RtTensor *a = in[0], *b = in[3];
    double sa, sb, sy;
    int32_t za, zb, zy;
    if (!a || !b || a->dtype != RT_I8 || b->dtype != RT_I8 || !a->data || !b->data || !scalar_f32(in[1], &sa) ||
        !scalar_f32(in[4], &sb) || !scalar_f32(in[6], &sy) || !scalar_i8(in[2], &za) || !scalar_i8(in[5], &zb) ||
        !scalar_i8(in[7], &zy))
        return ref(c, n, in, out);
    int swap = plane_split(a, b) < 0; /* x is the big operand, s the per-plane one */
    const RtTensor *x = swap ? b : a, *s = swap ? a : b;
    int p = plane_split(x, s);
    int64_t qmin = rt_attr_int(n, "qmin", -128), qmax = rt_attr_int(n, "qmax", 127);
    if (p < 0 || qmin > qmax) return ref(c, n, in, out); /* the reference reports bad bounds */
    RT_TRY(rt_out_alloc(c, out[0], RT_I8, x->rank, x->dims));
    QmulJob J;
    memset(&J, 0, sizeof J);
    J.x = x->data, J.s = s->data, J.y = out[0]->data;
    J.inner = rt_numel(x) / rt_numel(s);
    J.zx = swap ? zb : za, J.zs = swap ? za : zb, J.zy = zy;
    J.lo = qmin > -128 ? (int32_t)(qmin > 127 ? 127 : qmin) : -128;
    J.hi = qmax < 127 ? (int32_t)(qmax < J.lo ? J.lo : qmax) : 127;
    J.r = rt_requant_make(sa * sb / sy); /* as the reference: a's scale times b's */
    rt_parallel_for(c->pool, rt_numel(s), (QLUT_MIN_PAR_BYTES + J.inner - 1) / J.inner, qmul_planes, &J);
    return RT_OK;
#else
    return ref(c, n, in, out);
#endif
}

/* ---- QConcat (int8) ---- */

/* One input's rows of QConcat: y[o * row + at + j] = requant(x[o * chunk + j] - zx) for
 * j < chunk, o < outer; a copy when the input has the output's parameters (M = 1 exactly). */
typedef struct {
    const int8_t *x;          /* borrowed: [outer][chunk] */
    int8_t *y;                /* borrowed: output at the input's first column */
    int64_t chunk, row;       /* elements per outer index of x, of y */
    int32_t zx, zy, lo, hi;
    RtRequant r;              /* x_scale / y_scale */
    int same;
} QcatPart;

#if QLUT_X86
QX_T512 static void qcat_rows(void *arg, int64_t o0, int64_t o1) {
    const QcatPart *P = arg;
    const QxRq512 q = qx_rq512(P->r, P->zy, P->lo, P->hi);
    const __m512i zx = _mm512_set1_epi32(P->zx);
    for (int64_t o = o0; o < o1; o++) {
        const int8_t *x = P->x + o * P->chunk;
        int8_t *y = P->y + o * P->row;
        if (P->same) {
            memcpy(y, x, (size_t)P->chunk);
            continue;
        }
        if (P->r.shift > 0) { /* multiplier >= 1: the scalar form */
            for (int64_t j = 0; j < P->chunk; j++) y[j] = (int8_t)rt_requant_out(x[j] - P->zx, P->r, P->zy, P->lo, P->hi);
            continue;
        }
        for (int64_t j = 0; j < P->chunk; j += 16) {
            __mmask16 mk = (__mmask16)(P->chunk - j >= 16 ? 0xffff : (1u << (P->chunk - j)) - 1);
            __m512i a = _mm512_sub_epi32(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mk, x + j)), zx);
            _mm_mask_storeu_epi8(y + j, mk, _mm512_cvtepi32_epi8(qx_requant512(a, &q)));
        }
    }
}
#endif

/* QConcat(y_scale, y_zp, (x, x_scale, x_zp)...) with int8 everywhere and one scale / zero point
 * each; the reference kernel (which checks and reports everything else) otherwise. */
static int k_qconcat_x86(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    RtKernelFn ref = rt_kernel_find(n->op);
    if (!ref) return rt_fail(c, "no reference kernel for %s", rt_op_name(n->op));
#if QLUT_X86
    int k = (n->n_in - 2) / 3;
    double sy, sx;
    int32_t zy, zx;
    if (!qlut_cpu_ok() || c->shape_only || k < 1 || n->n_in != 2 + 3 * k || !rt_attr(n, "axis") ||
        !scalar_f32(in[0], &sy) || !scalar_i8(in[1], &zy))
        return ref(c, n, in, out);
    const RtTensor *x0 = in[2];
    if (!x0 || x0->dtype != RT_I8 || !x0->data) return ref(c, n, in, out);
    int64_t ax = rt_attr_int(n, "axis", 0);
    if (ax < 0) ax += x0->rank;
    if (ax < 0 || ax >= x0->rank) return ref(c, n, in, out);
    int64_t dims[RT_MAX_RANK];
    memcpy(dims, x0->dims, sizeof(int64_t) * (size_t)x0->rank);
    dims[ax] = 0;
    for (int i = 0; i < k; i++) {
        const RtTensor *x = in[2 + 3 * i];
        if (!x || x->dtype != RT_I8 || !x->data || x->rank != x0->rank || !scalar_f32(in[3 + 3 * i], &sx) ||
            !scalar_i8(in[4 + 3 * i], &zx))
            return ref(c, n, in, out);
        for (int d = 0; d < x->rank; d++)
            if (d != ax && x->dims[d] != x0->dims[d]) return ref(c, n, in, out);
        dims[ax] += x->dims[ax];
    }
    int64_t qmin = rt_attr_int(n, "qmin", -128), qmax = rt_attr_int(n, "qmax", 127);
    if (qmin > qmax) return ref(c, n, in, out);
    int32_t lo = qmin > -128 ? (int32_t)(qmin > 127 ? 127 : qmin) : -128;
    int32_t hi = qmax < 127 ? (int32_t)(qmax < lo ? lo : qmax) : 127;
    RT_TRY(rt_out_alloc(c, out[0], RT_I8, x0->rank, dims));
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < ax; d++) outer *= dims[d];
    for (int d = (int)ax + 1; d < x0->rank; d++) inner *= dims[d];
    int64_t row = dims[ax] * inner, at = 0;
    for (int i = 0; i < k; i++) {
        const RtTensor *x = in[2 + 3 * i];
        scalar_f32(in[3 + 3 * i], &sx);
        scalar_i8(in[4 + 3 * i], &zx);
        QcatPart P = {x->data, (int8_t *)out[0]->data + at, x->dims[ax] * inner, row, zx, zy, lo, hi,
                      rt_requant_make(sx / sy), 0};
        P.same = sx == sy && zx == zy; /* as the reference: M = 1 is exact, a copy (qmin/qmax not applied) */
        if (outer > 0 && P.chunk > 0)
            rt_parallel_for(c->pool, outer, (QLUT_MIN_PAR_BYTES + P.chunk - 1) / P.chunk, qcat_rows, &P);
        at += P.chunk;
    }
    return RT_OK;
#else
    return ref(c, n, in, out);
#endif
}

const RtKernelEntry rt_kernels_x86_qlut[] = {
    {RT_OP_QCONCAT, k_qconcat_x86},
    {RT_OP_QLUT, k_qlut_x86},
    {RT_OP_QMUL, k_qmul_x86},
    {-1, 0},
};
