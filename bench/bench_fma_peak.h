/*
 * bench_fma_peak.h — the float FMA peak loop the GEMM micro-benchmarks (bench_sgemm,
 * bench_sgemm_tinylm) measure their kernels against in the same run: 16 independent FMA chains
 * in registers, nothing from memory. bench_fma_loop(iters, seed) runs `iters` iterations of
 * BENCH_FMA_FLOPS_PER_ITER flops and returns a sum of the chains (keep it, so the loop stays).
 */
#ifndef WAFER_BENCH_FMA_PEAK_H
#define WAFER_BENCH_FMA_PEAK_H

#include <stdint.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/* 16 independent accumulators (named, so they stay in registers), 16 FMAs per iteration:
 * 512 flops per iteration. */
__attribute__((target("avx512f"))) static inline float bench_fma_loop(int64_t iters, float seed) {
    const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(seed * 1e-7f);
    __m512 a0 = _mm512_set1_ps(seed), a1 = _mm512_set1_ps(seed + 1), a2 = _mm512_set1_ps(seed + 2),
           a3 = _mm512_set1_ps(seed + 3), a4 = _mm512_set1_ps(seed + 4), a5 = _mm512_set1_ps(seed + 5),
           a6 = _mm512_set1_ps(seed + 6), a7 = _mm512_set1_ps(seed + 7), a8 = _mm512_set1_ps(seed + 8),
           a9 = _mm512_set1_ps(seed + 9), a10 = _mm512_set1_ps(seed + 10), a11 = _mm512_set1_ps(seed + 11),
           a12 = _mm512_set1_ps(seed + 12), a13 = _mm512_set1_ps(seed + 13), a14 = _mm512_set1_ps(seed + 14),
           a15 = _mm512_set1_ps(seed + 15);
    for (int64_t it = 0; it < iters; it++) {
#define F(v) v = _mm512_fmadd_ps(v, x, y)
        F(a0); F(a1); F(a2); F(a3); F(a4); F(a5); F(a6); F(a7);
        F(a8); F(a9); F(a10); F(a11); F(a12); F(a13); F(a14); F(a15);
#undef F
    }
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                             _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)),
                                       _mm512_add_ps(_mm512_add_ps(a12, a13), _mm512_add_ps(a14, a15))));
    return _mm512_reduce_add_ps(s);
}
#define BENCH_FMA_FLOPS_PER_ITER 512.0
#else
static inline float bench_fma_loop(int64_t iters, float seed) {
    float a[16];
    for (int i = 0; i < 16; i++) a[i] = seed + (float)i;
    for (int64_t it = 0; it < iters; it++)
        for (int i = 0; i < 16; i++) a[i] = a[i] * 0.999999f + 1e-7f;
    float s = 0;
    for (int i = 0; i < 16; i++) s += a[i];
    return s;
}
#define BENCH_FMA_FLOPS_PER_ITER 32.0
#endif

#endif
