/*
 * pool_x86.c — optimized float32 MaxPool, AveragePool, GlobalAveragePool and GlobalMaxPool
 * for 2-D NCHW tensors.
 *
 * Each kernel takes float32 rank-4 data that is present (not shape mode), every size > 0,
 * MaxPool without its Indices output, on an x86-64 build; everything else (1-D and 3-D,
 * other dtypes, Indices and storage_order, malformed attributes, shape inference) goes to
 * the reference kernel (rt_kernel_find, ref/pool.c), so its dtypes and messages stay.
 * Geometry (output sizes, pads, auto_pad, ceil_mode, dilations) comes from ref/conv_geom.h,
 * the functions the reference uses, so the output shapes are the reference's.
 *
 * Windowed pools, per (n, c) plane; the in-range kernel rows [h0, h1) of each output row and
 * columns of each output column are tables (rt_geom_taps, as the reference). One of:
 *   flat (AVX-512; output rows under 8 columns, or horizontal strides above 2, when the
 *     tables take at most 32 KiB): 16 outputs of the plane in row-major order per vector;
 *     per vector and tap (kh, kw) a table of the lanes' input offsets and masks. A tap is one
 *     gather, or on planes of at most 64 floats (digits' 8x8) two vpermt2ps and a blend from
 *     the plane held in four registers.
 *   row (AVX-512; horizontal stride 1 or 2): 16 output columns of one output row per vector;
 *     tap (kh, kw) of lane i reads column ow0*s - pad + kw*d + s*i: stride 1 one load, stride 2
 *     loads at o and o + 15 and a vpermt2ps picking columns o + 2i (the span [o, o + 30] and
 *     no further). Vectors whose every lane has every tap in range load unmasked; the others
 *     through masks per (vector, kw) from a table, so columns outside the input are never
 *     read and load as the neutral fill.
 *   scalar (otherwise, and without AVX-512): a plain loop over the tabled tap ranges.
 *   Measured (bench/bench_pool.c, one thread, against ref/pool.c): digits' MaxPool
 *   [1,64,8,8] k2 s2 0.7 us vs 11 us (0.2 us of it per-call setup); [1,64,112,112] k3 s2 p1
 *   0.18 ms vs 6.7 ms; AveragePool [1,256,14,14] k3 s1 p1 0.08 ms vs 0.6 ms.
 * Results equal the reference's bit for bit:
 *   Max: the reference keeps the first in-range tap (row-major order), then takes a tap v
 *     only when v > best. So a NaN first tap sticks, later NaNs never win, and among equal
 *     values (±0) the first stays. vmaxps(v, best) is exactly "v > best ? v : best"; each
 *     lane starts from its own first in-range tap (masked moves: in the first in-range
 *     kernel row in row mode, by a tabled mask in flat mode), later taps fold in the same
 *     order, and NaNs are quieted at the end as the reference's trip through double does.
 *     An empty window (pads at least the kernel) is -inf.
 *   Average: as the reference, the in-range taps are summed in double in row-major order
 *     (16 lanes = two 8-double accumulators; out-of-range lanes add +0.0, which changes no
 *     sum that starts from +0.0), divided in double by the same divisor (in-range taps, or
 *     with count_include_pad those inside the padded extent: a product of per-axis counts),
 *     then rounded to float; a zero divisor gives NaN.
 * Global pools, per plane:
 *   GlobalMaxPool: the reference starts from -inf and takes v > acc, so NaNs never count
 *     (an all-NaN plane gives -inf): vmaxps(v, acc) folds, a lane reduction, and when the
 *     maximum is zero the plane is scanned for its first zero (the reference keeps the first
 *     of ±0). Bit-identical.
 *   GlobalAveragePool: each plane summed in double into 8 lanes, eight planes' lanes then
 *     reduced together by a transposing tree (the same additions for every plane), divided
 *     by the plane size in double, rounded to float. The reference sums in double one
 *     element after another; both double sums lie within n * 2^-53 * sum|x| of the exact sum,
 *     far below a float ulp, so the results are the same float except next to a rounding
 *     boundary (then one ulp apart; tests allow 1e-6 of the plane's mean |x|).
 * Global pools of channels-last input (RtKernelCtx.nhwc_in, rt_plan_fast.h: x holds
 *   [N, H*W, C] while its dims say NCHW; the output [N, C, 1, 1] is the same in both
 *   layouts): per image, 64 channels at a time, the positions walked in order, each
 *   position's channels as vectors: averages summed in double (8 channels a vector) one
 *   element after another, the reference's own order, so the same bits; maxima as
 *   "v > acc ? v : acc" per lane from -inf, the reference's rule, also the same bits.
 * Threads: planes split over c->pool in contiguous ranges of at least POOL_PAR_MIN_WORK
 * elements read and written, so small tensors stay on one thread; every output is computed
 * by one plane's code whatever the split, so any thread count gives the same bits.
 *
 * rt_kernels_x86_pool_scalar[] is the same kernels with the AVX-512 paths switched off, for
 * tests of the scalar paths on machines that have AVX-512.
 */
#include <math.h>
#include <string.h>

#include "../kernel.h"
#include "../ref/conv_geom.h"
#include "../../rt_threads.h"
#include "conv_x86.h"

/* Least work (input plus output elements) per parallel chunk of planes: the vector loops
 * take about 0.1-0.3 ns per element, so 16k elements are a few microseconds, well above the
 * 0.1-0.3 us a hand-off to a worker costs. */
#define POOL_PAR_MIN_WORK ((int64_t)1 << 14)
/* Table bytes kept on the stack; larger tables come from rt_scratch. */
#define POOL_STACK_TABLES 4096
/* Flat mode (gathers over the whole plane) for output rows shorter than this, or with
 * horizontal strides above 2 (no row mode), when its tables take at most
 * POOL_FLAT_MAX_BYTES. Measured on 64-channel k2 s2 / k3 s2 pools: output rows of 4, 5 and
 * 7 columns 2.2, 1.7 and 1.3x faster flat than in row vectors, 6 alike, 8 and 14 1.2x
 * slower (a 16-lane gather costs about 14 cycles here). */
#define POOL_FLAT_MAX_OW 8
#define POOL_FLAT_MAX_BYTES ((int64_t)32 << 10)

enum { PK_MAX, PK_AVG };

typedef struct PoolJob PoolJob;
/* Runs planes [p0, p1) of the job. */
typedef void (*PlaneFn)(const PoolJob *j, int64_t p0, int64_t p1);

struct PoolJob {
    int64_t IH, IW, OH, OW;   /* plane sizes */
    int64_t KH, KW, SH, SW, PH, PW, DH, DW;
    int64_t pin, pout;        /* elements per input / output plane */
    const float *x;           /* [planes, IH, IW] */
    float *y;                 /* [planes, OH, OW] */
    const int64_t *hr;        /* [OH][2]: in-range kernel rows [h0, h1) of output row oh */
    const int64_t *wr;        /* [OW][2]: in-range kernel columns of output column ow */
    const double *hc, *wc;    /* AveragePool: divisor factors per oh / per ow */
    /* row mode: [ceil(OW / 16)] vectors, each a flag (1: every tap of every lane in range)
     * then [KW][3] masks: lanes whose tap kw is in range, the loads at o and o + 15 */
    const uint16_t *vm;
    /* flat mode: [nflat = ceil(pout / 16)][KH * KW] taps: fidx the lanes' input offsets in
     * the plane, fm the in-range lanes and those whose first in-range tap this is; fcnt the
     * AveragePool divisor of every output of the plane */
    const int32_t *fidx;
    const uint16_t *fm;
    const double *fcnt;
    PlaneFn plane;
};

static int run_ref(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    RtKernelFn ref = rt_kernel_find(n->op);
    if (!ref) return rt_fail(c, "no reference kernel for %s", rt_op_name(n->op));
    return ref(c, n, in, out);
}

/* 1 when this CPU runs the AVX-512 paths (AVX-512F is all they use). */
static int pool_cpu_avx512(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

/* The kernels here run on x86-64 builds only (the scalar paths on any x86-64 CPU); other
 * targets keep the reference. */
static int pool_build_ok(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    return 1;
#else
    return 0;
#endif
}

/* float32 rank-4 data present, every size > 0. */
static int pool_input_ok(RtKernelCtx *c, const RtTensor *x) {
    if (c->shape_only || !x || !x->data || x->dtype != RT_F32 || x->rank != 4) return 0;
    for (int i = 0; i < 4; i++)
        if (x->dims[i] < 1) return 0;
    return pool_build_ok();
}

/* A NaN with its quiet bit set, as float -> double -> float leaves it. */
static float quiet_nan(float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    u |= 0x00400000u;
    memcpy(&v, &u, 4);
    return v;
}

/* ---- scalar planes ---- */

static void max_s(const PoolJob *j, const float *x, float *y) {
    for (int64_t oh = 0; oh < j->OH; oh++) {
        int64_t h0 = j->hr[2 * oh], h1 = j->hr[2 * oh + 1], ih0 = oh * j->SH - j->PH;
        for (int64_t ow = 0; ow < j->OW; ow++) {
            int64_t w0 = j->wr[2 * ow], w1 = j->wr[2 * ow + 1], iw0 = ow * j->SW - j->PW;
            if (h0 >= h1 || w0 >= w1) {
                *y++ = -INFINITY;
                continue;
            }
            float best = x[(ih0 + h0 * j->DH) * j->IW + iw0 + w0 * j->DW];
            for (int64_t kh = h0; kh < h1; kh++) {
                const float *row = x + (ih0 + kh * j->DH) * j->IW;
                for (int64_t kw = w0; kw < w1; kw++) {
                    float v = row[iw0 + kw * j->DW];
                    if (v > best) best = v;
                }
            }
            *y++ = best != best ? quiet_nan(best) : best;
        }
    }
}

static void avg_s(const PoolJob *j, const float *x, float *y) {
    for (int64_t oh = 0; oh < j->OH; oh++) {
        int64_t h0 = j->hr[2 * oh], h1 = j->hr[2 * oh + 1], ih0 = oh * j->SH - j->PH;
        for (int64_t ow = 0; ow < j->OW; ow++) {
            int64_t w0 = j->wr[2 * ow], w1 = j->wr[2 * ow + 1], iw0 = ow * j->SW - j->PW;
            double sum = 0.0, count = j->hc[oh] * j->wc[ow];
            for (int64_t kh = h0; kh < h1; kh++) {
                const float *row = x + (ih0 + kh * j->DH) * j->IW;
                for (int64_t kw = w0; kw < w1; kw++) sum += row[iw0 + kw * j->DW];
            }
            *y++ = count > 0 ? (float)(sum / count) : NAN;
        }
    }
}

static void planes_max_s(const PoolJob *j, int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; p++) max_s(j, j->x + p * j->pin, j->y + p * j->pout);
}

static void planes_avg_s(const PoolJob *j, int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; p++) avg_s(j, j->x + p * j->pin, j->y + p * j->pout);
}

/* ---- AVX-512 planes ---- */

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define PT512 __attribute__((target("avx512f")))
#define PINL static inline __attribute__((always_inline))

/* Tap values of 16 output lanes: column o + s*i of row for lane i, fill where the masks
 * m[1] (s = 1) or m[1], m[2] (s = 2) leave a column out. s = 2: loads at o and o + 15 (the
 * span [o, o + 30] the lanes read, no further), even lanes of the first and odd lanes of the
 * second picked. */
PT512 PINL __m512 tap_load(const float *row, int64_t o, int s, const uint16_t *m, __m512 fill) {
    if (s == 1) return _mm512_mask_loadu_ps(fill, (__mmask16)m[1], row + o);
    const __m512i pick = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 14, 12, 10, 8, 6, 4, 2, 0);
    __m512 lo = _mm512_mask_loadu_ps(fill, (__mmask16)m[1], row + o);
    __m512 hi = _mm512_mask_loadu_ps(fill, (__mmask16)m[2], row + o + 15);
    return _mm512_permutex2var_ps(lo, pick, hi);
}

/* The same for a vector whose lanes are all in range. */
PT512 PINL __m512 tap_load_full(const float *row, int64_t o, int s) {
    if (s == 1) return _mm512_loadu_ps(row + o);
    const __m512i pick = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 14, 12, 10, 8, 6, 4, 2, 0);
    return _mm512_permutex2var_ps(_mm512_loadu_ps(row + o), pick, _mm512_loadu_ps(row + o + 15));
}

/* NaN lanes get their quiet bit, as the reference's float -> double -> float does. */
PT512 PINL __m512 quiet_v(__m512 v) {
    __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    return _mm512_castsi512_ps(_mm512_mask_or_epi32(_mm512_castps_si512(v), nan, _mm512_castps_si512(v),
                                                    _mm512_set1_epi32(0x00400000)));
}

/* Row mode MaxPool: each output row in vectors of 16 columns. */
PT512 PINL void plane_max_v(const PoolJob *j, const float *x, float *y, int s) {
    const int64_t OW = j->OW, KW = j->KW, IW = j->IW, DW = j->DW, DH = j->DH;
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    for (int64_t oh = 0; oh < j->OH; oh++, y += OW) {
        int64_t h0 = j->hr[2 * oh], h1 = j->hr[2 * oh + 1];
        const int64_t ih0 = oh * j->SH - j->PH; /* input row of kernel row 0 */
        const uint16_t *vm = j->vm;
        for (int64_t ow0 = 0; ow0 < OW; ow0 += 16, vm += 1 + 3 * KW) {
            const int64_t o0 = ow0 * s - j->PW;
            int64_t nl = OW - ow0 < 16 ? OW - ow0 : 16;
            __m512 best = ninf;
            if (h0 >= h1) {
                /* every window empty */
            } else if (vm[0]) { /* interior: tap (h0, 0) first for every lane */
                const float *row = x + (ih0 + h0 * DH) * IW;
                best = tap_load_full(row, o0, s);
                for (int64_t kw = 1; kw < KW; kw++) best = _mm512_max_ps(tap_load_full(row, o0 + kw * DW, s), best);
                for (int64_t kh = h0 + 1; kh < h1; kh++) {
                    row = x + (ih0 + kh * DH) * IW;
                    for (int64_t kw = 0; kw < KW; kw++)
                        best = _mm512_max_ps(tap_load_full(row, o0 + kw * DW, s), best);
                }
                best = quiet_v(best);
            } else {
                /* first in-range kernel row: each lane starts from its first in-range tap */
                const uint16_t *m = vm + 1;
                const float *row = x + (ih0 + h0 * DH) * IW;
                __mmask16 set = 0;
                for (int64_t kw = 0; kw < KW; kw++) {
                    __mmask16 in = (__mmask16)m[3 * kw];
                    if (!in) continue;
                    __m512 v = tap_load(row, o0 + kw * DW, s, m + 3 * kw, ninf);
                    best = _mm512_mask_max_ps(best, in & set, v, best);
                    best = _mm512_mask_mov_ps(best, in & (__mmask16)~set, v);
                    set |= in;
                }
                for (int64_t kh = h0 + 1; kh < h1; kh++) {
                    row = x + (ih0 + kh * DH) * IW;
                    for (int64_t kw = 0; kw < KW; kw++) {
                        __mmask16 in = (__mmask16)m[3 * kw];
                        if (!in) continue;
                        best = _mm512_mask_max_ps(best, in, tap_load(row, o0 + kw * DW, s, m + 3 * kw, ninf), best);
                    }
                }
                best = quiet_v(best);
            }
            _mm512_mask_storeu_ps(y + ow0, (__mmask16)((1u << nl) - 1), best);
        }
    }
}

/* 16 floats widened to two vectors of 8 doubles, added to s0 (lanes 0-7) and s1 (8-15). */
PT512 PINL void add_wide(__m512 v, __m512d *s0, __m512d *s1) {
    *s0 = _mm512_add_pd(*s0, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
    *s1 = _mm512_add_pd(*s1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
}

/* (s0, s1) / (c0, c1) in double, NaN where the divisor is 0, rounded to 16 floats. */
PT512 PINL __m512 avg_finish(__m512d s0, __m512d s1, __m512d c0, __m512d c1) {
    const __m512d zero = _mm512_setzero_pd(), dnan = _mm512_set1_pd(NAN);
    __m512d q0 = _mm512_div_pd(s0, c0), q1 = _mm512_div_pd(s1, c1);
    q0 = _mm512_mask_mov_pd(q0, _mm512_cmp_pd_mask(c0, zero, _CMP_EQ_OQ), dnan);
    q1 = _mm512_mask_mov_pd(q1, _mm512_cmp_pd_mask(c1, zero, _CMP_EQ_OQ), dnan);
    __m256 f0 = _mm512_cvtpd_ps(q0), f1 = _mm512_cvtpd_ps(q1);
    return _mm512_castpd_ps(
        _mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(f0)), _mm256_castps_pd(f1), 1));
}

/* Row mode AveragePool. */
PT512 PINL void plane_avg_v(const PoolJob *j, const float *x, float *y, int s) {
    const int64_t OW = j->OW, KW = j->KW, IW = j->IW, DW = j->DW, DH = j->DH;
    const __m512 zero = _mm512_setzero_ps();
    const __m512d one = _mm512_set1_pd(1.0);
    for (int64_t oh = 0; oh < j->OH; oh++, y += OW) {
        int64_t h0 = j->hr[2 * oh], h1 = j->hr[2 * oh + 1];
        const int64_t ih0 = oh * j->SH - j->PH;
        const __m512d hc = _mm512_set1_pd(j->hc[oh]);
        const uint16_t *vm = j->vm;
        for (int64_t ow0 = 0; ow0 < OW; ow0 += 16, vm += 1 + 3 * KW) {
            const uint16_t *m = vm + 1;
            const int64_t o0 = ow0 * s - j->PW;
            int64_t nl = OW - ow0 < 16 ? OW - ow0 : 16;
            __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
            for (int64_t kh = h0; kh < h1; kh++) {
                const float *row = x + (ih0 + kh * DH) * IW;
                if (vm[0])
                    for (int64_t kw = 0; kw < KW; kw++) add_wide(tap_load_full(row, o0 + kw * DW, s), &s0, &s1);
                else
                    for (int64_t kw = 0; kw < KW; kw++)
                        if (m[3 * kw]) add_wide(tap_load(row, o0 + kw * DW, s, m + 3 * kw, zero), &s0, &s1);
            }
            __mmask8 m0 = (__mmask8)(nl >= 8 ? 0xFF : (1u << nl) - 1);
            __mmask8 m1 = (__mmask8)(nl <= 8 ? 0 : (1u << (nl - 8)) - 1);
            __m512d c0 = _mm512_mul_pd(hc, _mm512_mask_loadu_pd(one, m0, j->wc + ow0));
            __m512d c1 = _mm512_mul_pd(hc, _mm512_mask_loadu_pd(one, m1, j->wc + ow0 + (m1 ? 8 : 0)));
            _mm512_mask_storeu_ps(y + ow0, (__mmask16)((1u << nl) - 1), avg_finish(s0, s1, c0, c1));
        }
    }
}

/* Flat mode on planes of at most 64 floats (regs = 1): the plane sits in four registers
 * r[0..3] and a tap is two vpermt2ps and a blend on bit 5 of the offsets; otherwise one
 * gather from the plane. Lanes outside `in` read offset 0; they get `fill` when need_fill
 * (the gather always fills them). */
PT512 PINL __m512 flat_tap(const float *x, int regs, const __m512 *r, __m512i idx, __mmask16 in, __m512 fill,
                           int need_fill) {
    if (!regs) return _mm512_mask_i32gather_ps(fill, in, idx, x, 4);
    __m512 lo = _mm512_permutex2var_ps(r[0], idx, r[1]), hi = _mm512_permutex2var_ps(r[2], idx, r[3]);
    __m512 v = _mm512_mask_blend_ps(_mm512_test_epi32_mask(idx, _mm512_set1_epi32(32)), lo, hi);
    return need_fill ? _mm512_mask_mov_ps(fill, in, v) : v;
}

/* The plane's first 64 floats (zeros beyond pin). */
PT512 PINL void flat_regs(const float *x, int64_t pin, __m512 *r) {
    for (int i = 0; i < 4; i++) {
        int64_t n = pin - 16 * i;
        __mmask16 m = (__mmask16)(n >= 16 ? 0xFFFF : n <= 0 ? 0 : (1u << n) - 1);
        r[i] = _mm512_maskz_loadu_ps(m, x + (m ? 16 * i : 0));
    }
}

/* Flat mode MaxPool: 16 outputs of the plane in row-major order per vector, the taps from
 * the tabled offsets. */
PT512 PINL void plane_max_flat(const PoolJob *j, const float *x, float *y, int regs) {
    const int64_t T = j->KH * j->KW;
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    const int32_t *idx = j->fidx;
    const uint16_t *fm = j->fm;
    __m512 r[4];
    if (regs) flat_regs(x, j->pin, r);
    for (int64_t q0 = 0; q0 < j->pout; q0 += 16) {
        __m512 best = ninf;
        for (int64_t t = 0; t < T; t++, idx += 16, fm += 3) {
            __mmask16 in = (__mmask16)fm[0];
            if (!in) continue;
            __m512 v = flat_tap(x, regs, r, _mm512_loadu_si512(idx), in, ninf, 0);
            best = _mm512_mask_max_ps(best, (__mmask16)fm[1], v, best);
            best = _mm512_mask_mov_ps(best, (__mmask16)fm[2], v);
        }
        int64_t nl = j->pout - q0 < 16 ? j->pout - q0 : 16;
        _mm512_mask_storeu_ps(y + q0, (__mmask16)((1u << nl) - 1), quiet_v(best));
    }
}

/* Flat mode AveragePool. */
PT512 PINL void plane_avg_flat(const PoolJob *j, const float *x, float *y, int regs) {
    const int64_t T = j->KH * j->KW;
    const __m512 zero = _mm512_setzero_ps();
    const __m512d one = _mm512_set1_pd(1.0);
    const int32_t *idx = j->fidx;
    const uint16_t *fm = j->fm;
    __m512 r[4];
    if (regs) flat_regs(x, j->pin, r);
    for (int64_t q0 = 0; q0 < j->pout; q0 += 16) {
        __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
        for (int64_t t = 0; t < T; t++, idx += 16, fm += 3) {
            __mmask16 in = (__mmask16)fm[0];
            if (in) add_wide(flat_tap(x, regs, r, _mm512_loadu_si512(idx), in, zero, 1), &s0, &s1);
        }
        int64_t nl = j->pout - q0 < 16 ? j->pout - q0 : 16;
        __mmask8 m0 = (__mmask8)(nl >= 8 ? 0xFF : (1u << nl) - 1);
        __mmask8 m1 = (__mmask8)(nl <= 8 ? 0 : (1u << (nl - 8)) - 1);
        __m512d c0 = _mm512_mask_loadu_pd(one, m0, j->fcnt + q0);
        __m512d c1 = _mm512_mask_loadu_pd(one, m1, j->fcnt + q0 + (m1 ? 8 : 0));
        _mm512_mask_storeu_ps(y + q0, (__mmask16)((1u << nl) - 1), avg_finish(s0, s1, c0, c1));
    }
}

#define PLANES(name, body, ...)                                                        \
    PT512 static void name(const PoolJob *j, int64_t p0, int64_t p1) {                   \
        for (int64_t p = p0; p < p1; p++) body(j, j->x + p * j->pin, j->y + p * j->pout, __VA_ARGS__); \
    }
PLANES(planes_max_gather, plane_max_flat, 0)
PLANES(planes_max_regs, plane_max_flat, 1)
PLANES(planes_avg_gather, plane_avg_flat, 0)
PLANES(planes_avg_regs, plane_avg_flat, 1)
PLANES(planes_max_v1, plane_max_v, 1)
PLANES(planes_max_v2, plane_max_v, 2)
PLANES(planes_avg_v1, plane_avg_v, 1)
PLANES(planes_avg_v2, plane_avg_v, 2)
#undef PLANES

/* The vector plane function: flat (1 = gathers, 2 = plane in registers) or row mode. */
static PlaneFn plane_vec(int kind, int flat, int64_t s) {
    if (flat == 2) return kind == PK_MAX ? planes_max_regs : planes_avg_regs;
    if (flat) return kind == PK_MAX ? planes_max_gather : planes_avg_gather;
    if (kind == PK_MAX) return s == 1 ? planes_max_v1 : planes_max_v2;
    return s == 1 ? planes_avg_v1 : planes_avg_v2;
}

/* The plane of n floats summed into 8 double lanes (lane l: the elements i = l mod 8 of
 * each 16, in the order of the loop). */
PT512 PINL __m512d gap_lanes(const float *x, int64_t n) {
    __m512d a0 = _mm512_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        add_wide(_mm512_loadu_ps(x + i), &a0, &a1);
        add_wide(_mm512_loadu_ps(x + i + 16), &a2, &a3);
    }
    for (; i < n; i += 16) {
        __mmask16 m = (__mmask16)(n - i >= 16 ? 0xFFFF : (1u << (n - i)) - 1);
        add_wide(_mm512_maskz_loadu_ps(m, x + i), &a0, &a1);
    }
    return _mm512_add_pd(_mm512_add_pd(a0, a1), _mm512_add_pd(a2, a3));
}

/* GlobalAveragePool of planes [p0, p1) of n floats each: eight planes at a time, their lane
 * sums reduced together by a transposing tree (lane k of the result = plane k's total, every
 * plane through the same additions: lanes (0+1), (2+3), ..., then pairs, then halves), one
 * division and one store per eight. */
PT512 static void gap_planes(const float *x, float *y, int64_t n, int64_t p0, int64_t p1) {
    const __m512d dn = _mm512_set1_pd((double)n);
    for (int64_t p = p0; p < p1; p += 8) {
        int64_t np = p1 - p < 8 ? p1 - p : 8;
        __m512d a[8];
        for (int64_t k = 0; k < 8; k++) a[k] = k < np ? gap_lanes(x + (p + k) * n, n) : _mm512_setzero_pd();
        __m512d t[4], u[2];
        for (int k = 0; k < 4; k++) /* 128-bit block b: (plane 2k lanes 2b+(2b+1), plane 2k+1 the same) */
            t[k] = _mm512_add_pd(_mm512_unpacklo_pd(a[2 * k], a[2 * k + 1]), _mm512_unpackhi_pd(a[2 * k], a[2 * k + 1]));
        for (int k = 0; k < 2; k++) /* blocks: (planes 4k, 4k+1) lanes 0-3, the same 4-7, (4k+2, 4k+3) ... */
            u[k] = _mm512_add_pd(_mm512_shuffle_f64x2(t[2 * k], t[2 * k + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                                 _mm512_shuffle_f64x2(t[2 * k], t[2 * k + 1], _MM_SHUFFLE(3, 1, 3, 1)));
        __m512d tot = _mm512_add_pd(_mm512_shuffle_f64x2(u[0], u[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                    _mm512_shuffle_f64x2(u[0], u[1], _MM_SHUFFLE(3, 1, 3, 1)));
        __m512 q = _mm512_castps256_ps512(_mm512_cvtpd_ps(_mm512_div_pd(tot, dn)));
        _mm512_mask_storeu_ps(y + p, (__mmask16)((1u << np) - 1), q);
    }
}

/* GlobalMaxPool of planes [p0, p1) of n floats each, as the file header says. */
PT512 static void gmp_planes(const float *x, float *y, int64_t n, int64_t p0, int64_t p1) {
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    for (int64_t p = p0; p < p1; p++) {
        const float *xp = x + p * n;
        __m512 a0 = ninf, a1 = ninf;
        int64_t i = 0;
        for (; i + 32 <= n; i += 32) {
            a0 = _mm512_max_ps(_mm512_loadu_ps(xp + i), a0);
            a1 = _mm512_max_ps(_mm512_loadu_ps(xp + i + 16), a1);
        }
        for (; i < n; i += 16) {
            __mmask16 m = (__mmask16)(n - i >= 16 ? 0xFFFF : (1u << (n - i)) - 1);
            a0 = _mm512_max_ps(_mm512_mask_loadu_ps(ninf, m, xp + i), a0);
        }
        /* no NaN reaches the accumulators, so the lane reduction is the maximum */
        float best = _mm512_reduce_max_ps(_mm512_max_ps(a0, a1));
        if (best == 0.0f) /* the reference keeps the first zero it meets, +0 or -0 */
            for (i = 0; i < n; i++)
                if (xp[i] == 0.0f) {
                    best = xp[i];
                    break;
                }
        y[p] = best;
    }
}

/* Channels-last global pool of image im's channels [c0, c0 + 64) (fewer at the end), over
 * n positions of C channels: y[im * C + c] (see the file header). Averages convert 8 floats
 * at a time straight from memory (one load and convert per 8 channels, no lane extracts). */
CX_T512 static void global_nhwc_block(const float *x, float *y, int64_t n, int64_t C, int64_t c0, int avg) {
    const int64_t nc = C - c0 < 64 ? C - c0 : 64, nv = (nc + 15) / 16;
    __mmask16 m[4];
    for (int64_t v = 0; v < 4; v++) {
        int64_t l = nc - 16 * v;
        m[v] = (__mmask16)(l >= 16 ? 0xFFFF : l > 0 ? (1u << l) - 1 : 0);
    }
    if (avg) {
        __m512d s[8];
        for (int k = 0; k < 8; k++) s[k] = _mm512_setzero_pd();
        if (nc == 64)
            for (int64_t q = 0; q < n; q++) {
                const float *xq = x + q * C + c0;
#pragma GCC unroll 8
                for (int k = 0; k < 8; k++) s[k] = _mm512_add_pd(s[k], _mm512_cvtps_pd(_mm256_loadu_ps(xq + 8 * k)));
            }
        else
            for (int64_t q = 0; q < n; q++)
                for (int64_t v = 0; v < nv; v++)
                    add_wide(_mm512_maskz_loadu_ps(m[v], x + q * C + c0 + 16 * v), &s[2 * v], &s[2 * v + 1]);
        const __m512d dn = _mm512_set1_pd((double)n);
        for (int64_t v = 0; v < nv; v++) {
            __m256 lo = _mm512_cvtpd_ps(_mm512_div_pd(s[2 * v], dn)), hi = _mm512_cvtpd_ps(_mm512_div_pd(s[2 * v + 1], dn));
            __m512 r = _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(lo)), _mm256_castps_pd(hi), 1));
            _mm512_mask_storeu_ps(y + c0 + 16 * v, m[v], r);
        }
        return;
    }
    __m512 a[4];
    for (int k = 0; k < 4; k++) a[k] = _mm512_set1_ps(-INFINITY);
    for (int64_t q = 0; q < n; q++)
        for (int64_t v = 0; v < nv; v++) {
            __m512 e = _mm512_maskz_loadu_ps(m[v], x + q * C + c0 + 16 * v);
            a[v] = _mm512_mask_mov_ps(a[v], _mm512_cmp_ps_mask(e, a[v], _CMP_GT_OQ), e);
        }
    for (int64_t v = 0; v < nv; v++) _mm512_mask_storeu_ps(y + c0 + 16 * v, m[v], a[v]);
}

#else /* not x86-64 GCC/Clang: never selected (pool_cpu_avx512() is 0) */
static void global_nhwc_block(const float *x, float *y, int64_t n, int64_t C, int64_t c0, int avg) {
    (void)x, (void)y, (void)n, (void)C, (void)c0, (void)avg;
}
static PlaneFn plane_vec(int kind, int flat, int64_t s) {
    (void)kind, (void)flat, (void)s;
    return 0;
}
static void gap_planes(const float *x, float *y, int64_t n, int64_t p0, int64_t p1) {
    (void)x, (void)y, (void)n, (void)p0, (void)p1;
}
static void gmp_planes(const float *x, float *y, int64_t n, int64_t p0, int64_t p1) {
    (void)x, (void)y, (void)n, (void)p0, (void)p1;
}
#endif

/* ---- windowed pools ---- */

static void plane_chunk(void *arg, int64_t p0, int64_t p1) {
    const PoolJob *j = arg;
    j->plane(j, p0, p1);
}

/* Bits [lo, hi) of a 16-bit lane mask. */
static uint16_t bit_range(int64_t lo, int64_t hi) {
    if (lo < 0) lo = 0;
    if (hi > 16) hi = 16;
    if (lo >= hi) return 0;
    return (uint16_t)(((1u << hi) - 1) & ~((1u << lo) - 1));
}

/* Row mode tables (see PoolJob.vm). */
static void row_masks(const PoolJob *j, uint16_t *vm) {
    const int64_t s = j->SW;
    for (int64_t ow0 = 0; ow0 < j->OW; ow0 += 16) {
        int64_t nl = j->OW - ow0 < 16 ? j->OW - ow0 : 16;
        uint16_t *flag = vm++;
        *flag = nl == 16;
        for (int64_t kw = 0; kw < j->KW; kw++, vm += 3) {
            int64_t o = ow0 * s - j->PW + kw * j->DW; /* input column of lane 0 */
            /* lanes i with 0 <= o + s*i < IW */
            int64_t lo = o >= 0 ? 0 : (-o + s - 1) / s;
            int64_t hi = j->IW - o <= 0 ? 0 : (j->IW - o + s - 1) / s;
            vm[0] = bit_range(lo, hi < nl ? hi : nl);
            if (vm[0] != 0xFFFF) *flag = 0;
            /* the loads: stride 1 the lanes themselves; stride 2 the columns of [o, o + 16)
             * and [o + 15, o + 31) inside the input */
            vm[1] = s == 1 ? vm[0] : bit_range(-o, j->IW - o);
            vm[2] = s == 1 ? 0 : bit_range(-o - 15, j->IW - o - 15);
        }
    }
}

/* Flat mode tables (see PoolJob.fidx): per vector of 16 outputs and tap (kh, kw) in
 * row-major order, each lane's input offset, the lanes whose tap is in range, and those
 * for which it is the first in-range tap. */
static void flat_tables(const PoolJob *j, int32_t *idx, uint16_t *fm) {
    int64_t oh = 0, ow = 0; /* output position of the vector's lane 0 */
    for (int64_t q0 = 0; q0 < j->pout; q0 += 16) {
        /* per lane: the input offset of tap (0, 0) and the in-range tap ranges */
        int64_t base[16], h0[16], h1[16], w0[16], w1[16];
        for (int l = 0; l < 16; l++) {
            if (q0 + l < j->pout) {
                base[l] = (oh * j->SH - j->PH) * j->IW + ow * j->SW - j->PW;
                h0[l] = j->hr[2 * oh], h1[l] = j->hr[2 * oh + 1], w0[l] = j->wr[2 * ow], w1[l] = j->wr[2 * ow + 1];
                if (++ow == j->OW) ow = 0, oh++;
            } else {
                base[l] = h0[l] = h1[l] = w0[l] = w1[l] = 0; /* no taps */
            }
        }
        uint16_t set = 0;
        for (int64_t kh = 0; kh < j->KH; kh++)
            for (int64_t kw = 0; kw < j->KW; kw++, idx += 16, fm += 3) {
                int64_t off = kh * j->DH * j->IW + kw * j->DW;
                uint16_t in = 0;
                for (int l = 0; l < 16; l++) {
                    int ok = kh >= h0[l] && kh < h1[l] && kw >= w0[l] && kw < w1[l];
                    idx[l] = ok ? (int32_t)(base[l] + off) : 0;
                    in |= (uint16_t)(ok << l);
                }
                fm[0] = in;
                fm[1] = in & set;             /* fold into the lane's maximum */
                fm[2] = in & (uint16_t)~set;  /* the lane's first in-range tap */
                set |= in;
            }
    }
}

static int window_pool(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out, int kind,
                       int vec_ok) {
    const RtTensor *x = rt_in(n, in, 0);
    if (!pool_input_ok(c, x)) return run_ref(c, n, in, out);
    if (kind == PK_MAX && n->n_out > 1) return run_ref(c, n, in, out); /* Indices */
    const int64_t *ks;
    if (rt_attr_ints(n, "kernel_shape", &ks) != 2) return run_ref(c, n, in, out);
    int64_t ceil_mode = rt_attr_int(n, "ceil_mode", 0);
    int64_t order = rt_attr_int(n, "storage_order", 0);
    int64_t include = rt_attr_int(n, "count_include_pad", 0);
    if (ceil_mode < 0 || ceil_mode > 1 || order < 0 || order > 1 || include < 0 || include > 1)
        return run_ref(c, n, in, out);
    /* The geometry calls report into c->err on a malformed node; the reference, which then
     * runs it, reports the same problem again. */
    RtConvGeom g;
    if (rt_geom_read(c, n, 2, x->dims + 2, ks, &g) != RT_OK || rt_geom_forward(c, n, (int)ceil_mode, &g) != RT_OK)
        return run_ref(c, n, in, out);
    int64_t dims[RT_MAX_RANK];
    rt_geom_out_dims(&g, x->dims[0], x->dims[1], dims);
    RT_TRY(rt_out_alloc(c, out[0], RT_F32, 4, dims));

    PoolJob j;
    memset(&j, 0, sizeof j);
    j.IH = g.in[1], j.IW = g.in[2], j.OH = g.out[1], j.OW = g.out[2];
    j.KH = g.k[1], j.KW = g.k[2], j.SH = g.stride[1], j.SW = g.stride[2];
    j.PH = g.pad0[1], j.PW = g.pad0[2], j.DH = g.dil[1], j.DW = g.dil[2];
    j.pin = j.IH * j.IW, j.pout = j.OH * j.OW;
    j.x = x->data, j.y = out[0]->data;
    /* the mode: flat for short output rows (a row vector would be mostly empty) when its
     * tables are small, row mode for horizontal strides 1 and 2, scalar otherwise */
    int avx = vec_ok && pool_cpu_avx512();
    int64_t nflat = (j.pout + 15) / 16, ntap = j.KH * j.KW;
    int flat = avx && (j.OW < POOL_FLAT_MAX_OW || j.SW > 2) && j.pin <= INT32_MAX && ntap <= POOL_FLAT_MAX_BYTES &&
               nflat * ntap * (16 * 4 + 3 * 2) <= POOL_FLAT_MAX_BYTES;
    int row = avx && !flat && (j.SW == 1 || j.SW == 2);
    int64_t nvm = row ? (j.OW + 15) / 16 * (1 + 3 * j.KW) : 0;
    int64_t nidx = flat ? nflat * ntap * 16 : 0, nfm = flat ? nflat * ntap * 3 : 0;
    int64_t ncnt = flat && kind == PK_AVG ? j.pout : 0;

    /* tables: hr, wr (int64), hc, wc, fcnt (double), fidx (int32), vm, fm (uint16) */
    size_t bytes = (size_t)(2 * j.OH + 2 * j.OW) * sizeof(int64_t) + (size_t)(j.OH + j.OW + ncnt) * sizeof(double) +
                   (size_t)nidx * sizeof(int32_t) + (size_t)(nvm + nfm) * sizeof(uint16_t);
    int64_t stack[POOL_STACK_TABLES / sizeof(int64_t)];
    void *tab = bytes <= sizeof stack ? (void *)stack : rt_scratch(c, bytes);
    if (!tab) return RT_ERR_NOMEM;
    int64_t *hr = tab, *wr = hr + 2 * j.OH;
    double *hc = (double *)(wr + 2 * j.OW), *wc = hc + j.OH, *fcnt = wc + j.OW;
    int32_t *fidx = (int32_t *)(fcnt + ncnt);
    uint16_t *vm = (uint16_t *)(fidx + nidx), *fm = vm + nvm;
    /* per axis as rt_geom_avg_window: in-range taps, the divisor's factor */
    for (int a = 1; a < 3; a++) {
        int64_t no = g.out[a], *r = a == 1 ? hr : wr;
        double *cnt = a == 1 ? hc : wc;
        for (int64_t o = 0; o < no; o++) {
            rt_geom_taps(o, g.stride[a], g.pad0[a], g.dil[a], g.k[a], g.in[a], &r[2 * o], &r[2 * o + 1]);
            int64_t lo = r[2 * o], hi = r[2 * o + 1];
            if (include)
                rt_geom_taps(o, g.stride[a], 0, g.dil[a], g.k[a], g.in[a] + g.pad0[a] + g.pad1[a], &lo, &hi);
            cnt[o] = hi > lo ? (double)(hi - lo) : 0.0;
        }
    }
    j.hr = hr, j.wr = wr, j.hc = hc, j.wc = wc, j.vm = vm, j.fidx = fidx, j.fm = fm, j.fcnt = fcnt;
    if (flat) {
        flat_tables(&j, fidx, fm);
        if (kind == PK_AVG)
            for (int64_t oh = 0, q = 0; oh < j.OH; oh++)
                for (int64_t ow = 0; ow < j.OW; ow++) fcnt[q++] = hc[oh] * wc[ow];
        j.plane = plane_vec(kind, j.pin <= 64 ? 2 : 1, j.SW);
    } else if (row) {
        row_masks(&j, vm);
        j.plane = plane_vec(kind, 0, j.SW);
    } else {
        j.plane = kind == PK_MAX ? planes_max_s : planes_avg_s;
    }
    int64_t work = j.pin + j.pout;
    int64_t min = work >= POOL_PAR_MIN_WORK ? 1 : (POOL_PAR_MIN_WORK + work - 1) / work;
    rt_parallel_for(c->pool, x->dims[0] * x->dims[1], min, plane_chunk, &j);
    if (tab != (void *)stack) rt_scratch_free(c, tab);
    return RT_OK;
}

/* ---- global pools ---- */

typedef struct {
    const float *x;
    float *y;
    int64_t pin;
    int avg, vec;
    int64_t C;             /* channels; nhwc: x is [N, pin, C] */
    int nhwc;
} GlobalJob;

/* Channels-last: items [i0, i1), item i = image i / blocks, channels from 64 * (i % blocks). */
static void global_chunk_nhwc(const GlobalJob *j, int64_t i0, int64_t i1) {
    const int64_t blocks = (j->C + 63) / 64;
    for (int64_t i = i0; i < i1; i++) {
        const int64_t im = i / blocks, c0 = (i % blocks) * 64;
        const float *x = j->x + im * j->pin * j->C;
        float *y = j->y + im * j->C;
        if (j->vec) {
            global_nhwc_block(x, y, j->pin, j->C, c0, j->avg);
            continue;
        }
        for (int64_t c = c0; c < c0 + 64 && c < j->C; c++) { /* the reference's order and rule */
            double sum = 0.0;
            float best = -INFINITY;
            for (int64_t q = 0; q < j->pin; q++) {
                float v = x[q * j->C + c];
                sum += v;
                if (v > best) best = v;
            }
            y[c] = j->avg ? (float)(sum / (double)j->pin) : best;
        }
    }
}

static void global_chunk(void *arg, int64_t p0, int64_t p1) {
    const GlobalJob *j = arg;
    if (j->nhwc) {
        global_chunk_nhwc(j, p0, p1);
        return;
    }
    if (j->vec) {
        if (j->avg) gap_planes(j->x, j->y, j->pin, p0, p1);
        else gmp_planes(j->x, j->y, j->pin, p0, p1);
        return;
    }
    for (int64_t p = p0; p < p1; p++) {
        const float *x = j->x + p * j->pin;
        if (j->avg) { /* the reference's order */
            double acc = 0.0;
            for (int64_t i = 0; i < j->pin; i++) acc += x[i];
            j->y[p] = (float)(acc / (double)j->pin);
        } else {
            float acc = -INFINITY;
            for (int64_t i = 0; i < j->pin; i++)
                if (x[i] > acc) acc = x[i];
            j->y[p] = acc;
        }
    }
}

static int global_pool(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out, int avg,
                       int vec_ok) {
    const RtTensor *x = rt_in(n, in, 0);
    const int nhwc = c->nhwc_in && c->nhwc_in[0];
    if (!pool_input_ok(c, x)) {
        if (nhwc && !c->shape_only) return rt_fail(c, "channels-last input the optimized global pool does not take");
        return run_ref(c, n, in, out);
    }
    int64_t dims[4] = {x->dims[0], x->dims[1], 1, 1};
    RT_TRY(rt_out_alloc(c, out[0], RT_F32, 4, dims));
    GlobalJob j = {x->data, out[0]->data, x->dims[2] * x->dims[3], avg, vec_ok && pool_cpu_avx512(), x->dims[1], nhwc};
    int64_t items = nhwc ? x->dims[0] * ((x->dims[1] + 63) / 64) : x->dims[0] * x->dims[1];
    int64_t work = nhwc ? j.pin * (x->dims[1] < 64 ? x->dims[1] : 64) : j.pin; /* elements read per item */
    int64_t min = work >= POOL_PAR_MIN_WORK ? 1 : (POOL_PAR_MIN_WORK + work - 1) / work;
    rt_parallel_for(c->pool, items, min, global_chunk, &j);
    return RT_OK;
}

int cx_pool_nhwc_ok(const RtNode *n, const RtTensor *x) {
    if (n->op != RT_OP_GLOBAL_AVERAGE_POOL && n->op != RT_OP_GLOBAL_MAX_POOL) return 0;
    if (!x || x->dtype != RT_F32 || x->rank != 4 || !pool_build_ok()) return 0;
    for (int i = 0; i < 4; i++)
        if (x->dims[i] < 1) return 0;
    return 1;
}

/* ---- entries ---- */

static int k_max_pool(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return window_pool(c, n, in, out, PK_MAX, 1);
}
static int k_average_pool(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return window_pool(c, n, in, out, PK_AVG, 1);
}
static int k_global_average_pool(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return global_pool(c, n, in, out, 1, 1);
}
static int k_global_max_pool(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return global_pool(c, n, in, out, 0, 1);
}

static int k_max_pool_s(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return window_pool(c, n, in, out, PK_MAX, 0);
}
static int k_average_pool_s(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return window_pool(c, n, in, out, PK_AVG, 0);
}
static int k_global_average_pool_s(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return global_pool(c, n, in, out, 1, 0);
}
static int k_global_max_pool_s(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return global_pool(c, n, in, out, 0, 0);
}

const RtKernelEntry rt_kernels_x86_pool[] = {
    {RT_OP_MAX_POOL, k_max_pool},
    {RT_OP_AVERAGE_POOL, k_average_pool},
    {RT_OP_GLOBAL_AVERAGE_POOL, k_global_average_pool},
    {RT_OP_GLOBAL_MAX_POOL, k_global_max_pool},
    {-1, 0},
};

const RtKernelEntry rt_kernels_x86_pool_scalar[] = {
    {RT_OP_MAX_POOL, k_max_pool_s},
    {RT_OP_AVERAGE_POOL, k_average_pool_s},
    {RT_OP_GLOBAL_AVERAGE_POOL, k_global_average_pool_s},
    {RT_OP_GLOBAL_MAX_POOL, k_global_max_pool_s},
    {-1, 0},
};
