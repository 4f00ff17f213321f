/*
 * bench_stream.h — the STREAM-style read the bandwidth-bound micro-benchmarks (bench_nbits,
 * bench_nbits_int8) measure their kernels against in the same run: a sum of every float of
 * a buffer far past the caches, 4 vector accumulators, on 1 thread or split in two halves
 * over the runtime's pool.
 */
#ifndef WAFER_BENCH_STREAM_H
#define WAFER_BENCH_STREAM_H

#include <stdint.h>
#include <stdio.h>

#include "../runtime/rt_threads.h"
#include "bench_util.h"

typedef struct {
    const float *p;
    int64_t n;          /* floats; a multiple of 64 */
    double sums[2];     /* per chunk, so the reads cannot be optimized away */
} BenchReadJob;

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
__attribute__((target("avx2"))) static inline double bench_read_span(const float *p, int64_t n) {
    __m256 a = _mm256_setzero_ps(), b = a, c = a, d = a;
    for (int64_t i = 0; i < n; i += 32) {
        a = _mm256_add_ps(a, _mm256_load_ps(p + i));
        b = _mm256_add_ps(b, _mm256_load_ps(p + i + 8));
        c = _mm256_add_ps(c, _mm256_load_ps(p + i + 16));
        d = _mm256_add_ps(d, _mm256_load_ps(p + i + 24));
    }
    float t[8];
    _mm256_storeu_ps(t, _mm256_add_ps(_mm256_add_ps(a, b), _mm256_add_ps(c, d)));
    return (double)t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
#else
static inline double bench_read_span(const float *p, int64_t n) {
    float a[8] = {0};
    for (int64_t i = 0; i < n; i += 8)
        for (int j = 0; j < 8; j++) a[j] += p[i + j];
    return (double)a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
}
#endif

static inline void bench_read_chunk(void *arg, int64_t c0, int64_t c1) {
    BenchReadJob *j = arg;
    for (int64_t c = c0; c < c1; c++) {
        int64_t b, e;
        rt_chunk_range(j->n / 64, 2, c, &b, &e);
        j->sums[c] = bench_read_span(j->p + b * 64, (e - b) * 64);
    }
}

/* Read bandwidth in bytes/s of one pass over p[n] (64-byte aligned, n a multiple of 64) on
 * the pool's two threads, or on this one when pool is NULL. */
static inline double bench_stream_read(const float *p, int64_t n, RtThreadPool *pool) {
    BenchReadJob j = {p, n, {0, 0}};
    double t = now_s();
    if (!pool)
        bench_read_chunk(&j, 0, 2);
    else
        rt_parallel_for(pool, 2, 1, bench_read_chunk, &j);
    t = now_s() - t;
    if (j.sums[0] + j.sums[1] == 12345.678) fprintf(stderr, "(unlikely sum)\n");
    return (double)n * sizeof(float) / t;
}

#endif
