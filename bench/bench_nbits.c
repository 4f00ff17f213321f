/*
 * bench_nbits.c — batch-1 GEMV on packed 4-bit weights (LinearNBits, 4096 x 4096, group 128,
 * asymmetric) against this machine's memory bandwidth, both measured in the same run.
 *
 * Bandwidth: a STREAM-style read (sum of every float, 4 vector accumulators) over one
 * buffer of BENCH_BUF_MB MiB, well beyond the caches (the last-level cache is printed), best
 * of BENCH_STREAM_REPS passes, on 1 thread and, through the runtime's pool, on 2.
 * GEMV: the same buffer is then filled with copies of one packed layer (codes, scales, zero
 * points: 0.539 bytes per weight) and the kernel runs over the copies in turn, so every call
 * streams its weights from memory as in a model far larger than the caches ("cold"); a
 * second figure runs one layer over and over, from the last-level cache ("hot").
 * Throughput is weights per second and bytes read per second; the fraction is the cold
 * GEMV's bytes per second over the read bandwidth with the same number of threads.
 *
 * Usage: bench_nbits [--impl ref|avx2|avx512] [--mb MIB]      (default: what LinearNBits picks)
 */
#define _DEFAULT_SOURCE /* madvise */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "../runtime/kernels/nbits.h"
#include "../runtime/rt_threads.h"

#define BENCH_N 4096
#define BENCH_K 4096
#define BENCH_G 128
#define BENCH_BITS 4
#define BENCH_BUF_MB 1024
#define BENCH_STREAM_REPS 5
#define BENCH_COLD_SWEEPS 3
#define BENCH_HOT_CALLS 200
#define BENCH_TARGET 0.80 /* the goal: cold GEMV at >= 80% of the read bandwidth */

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ---- STREAM-style read ---- */

typedef struct {
    const float *p;
    int64_t n;          /* floats; a multiple of 64 */
    double sums[2];     /* per chunk, so the reads cannot be optimized away */
} ReadJob;

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
__attribute__((target("avx2"))) static double read_span(const float *p, int64_t n) {
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
static double read_span(const float *p, int64_t n) {
    float a[8] = {0};
    for (int64_t i = 0; i < n; i += 8)
        for (int j = 0; j < 8; j++) a[j] += p[i + j];
    return (double)a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
}
#endif

static void read_chunk(void *arg, int64_t c0, int64_t c1) {
    ReadJob *j = arg;
    for (int64_t c = c0; c < c1; c++) {
        int64_t b, e;
        rt_chunk_range(j->n / 64, 2, c, &b, &e);
        j->sums[c] = read_span(j->p + b * 64, (e - b) * 64);
    }
}

/* Best read bandwidth in bytes/s over `reps` passes, on `threads` (1 or 2) threads. */
static double stream_read(const float *p, int64_t n, int threads, RtThreadPool *pool) {
    ReadJob j = {p, n, {0, 0}};
    double best = 1e30, sink = 0;
    for (int r = 0; r < BENCH_STREAM_REPS; r++) {
        double t = now_s();
        if (threads == 1)
            read_chunk(&j, 0, 2);
        else
            rt_parallel_for(pool, 2, 1, read_chunk, &j);
        t = now_s() - t;
        sink += j.sums[0] + j.sums[1];
        if (t < best) best = t;
    }
    if (sink == 12345.678) fprintf(stderr, "(unlikely sum)\n");
    return (double)n * sizeof(float) / best;
}

/* ---- GEMV over copies of one layer ---- */

typedef struct {
    RtNbitsLinear *layers;  /* [count], each pointing into the big buffer */
    int64_t count;
    size_t bytes;           /* bytes one layer's call reads: codes + scales + zeros */
} Ring;

static size_t round64(size_t b) {
    return (b + 63) & ~(size_t)63;
}

static int ring_make(Ring *r, uint8_t *buf, size_t buf_bytes) {
    const int64_t NG = rt_nbits_groups(BENCH_K, BENCH_G);
    const size_t wbytes = rt_qblock_packed_size(BENCH_BITS, BENCH_N, BENCH_K);
    const size_t sbytes = sizeof(float) * (size_t)(BENCH_N * NG), zbytes = (size_t)(BENCH_N * NG);
    const size_t one = round64(wbytes) + round64(sbytes) + round64(zbytes);
    r->bytes = wbytes + sbytes + zbytes;
    r->count = (int64_t)(buf_bytes / one);
    if (r->count < 1) return -1;
    r->layers = calloc((size_t)r->count, sizeof *r->layers);
    uint8_t *codes = malloc((size_t)BENCH_N * BENCH_K);
    if (!r->layers || !codes) return -1;
    uint32_t s = 12345;
    for (size_t i = 0; i < (size_t)BENCH_N * BENCH_K; i++) {
        s = s * 1664525u + 1013904223u;
        codes[i] = (uint8_t)((s >> 13) & 15);
    }
    /* layer 0 built once, the others copied from it */
    uint8_t *w0 = buf, *z0 = buf + round64(wbytes) + round64(sbytes);
    float *s0 = (float *)(buf + round64(wbytes));
    if (rt_qblock_pack(BENCH_BITS, BENCH_N, BENCH_K, codes, w0, wbytes) != 0) return -1;
    for (int64_t i = 0; i < BENCH_N * NG; i++) {
        s = s * 1664525u + 1013904223u;
        s0[i] = 0.01f + 0.01f * (float)((s >> 8) & 255) / 256.0f;
        z0[i] = (uint8_t)((s >> 20) & 15);
    }
    free(codes);
    for (int64_t l = 0; l < r->count; l++) {
        uint8_t *base = buf + (size_t)l * one;
        if (l > 0) memcpy(base, buf, one);
        r->layers[l] = (RtNbitsLinear){BENCH_BITS, BENCH_N, BENCH_K, BENCH_G, base,
                                       (const float *)(base + round64(wbytes)),
                                       base + round64(wbytes) + round64(sbytes), NULL, NULL,
                                       {RT_NBITS_ACT_NONE, 0, 0}};
    }
    return 0;
}

/* Seconds per call: cold = best sweep over all layers / count; hot = best of 5 runs of
 * BENCH_HOT_CALLS / 5 calls on layer 0. */
static int gemv_time(const RtNbitsImpl *impl, const Ring *r, const float *x, float *y, RtThreadPool *pool,
                     int cold, double *sec) {
    RtError err = {{0}};
    double best = 1e30;
    const int reps = cold ? BENCH_COLD_SWEEPS : 5;
    const int64_t calls = cold ? r->count : BENCH_HOT_CALLS / 5;
    if (rt_nbits_linear_run(impl, &r->layers[0], x, 1, y, pool, NULL, &err) != RT_OK) { /* warm up */
        fprintf(stderr, "bench_nbits: %s\n", err.msg);
        return -1;
    }
    for (int rep = 0; rep < reps; rep++) {
        double t = now_s();
        for (int64_t c = 0; c < calls; c++)
            rt_nbits_linear_run(impl, &r->layers[cold ? c : 0], x, 1, y, pool, NULL, &err);
        t = (now_s() - t) / (double)calls;
        if (t < best) best = t;
    }
    *sec = best;
    return 0;
}

static long l3_bytes(void) {
    FILE *f = fopen("/sys/devices/system/cpu/cpu0/cache/index3/size", "r");
    long v = 0;
    char unit = 0;
    if (!f) return 0;
    if (fscanf(f, "%ld%c", &v, &unit) < 1) v = 0;
    fclose(f);
    return unit == 'K' ? v << 10 : unit == 'M' ? v << 20 : v;
}

int main(int argc, char **argv) {
    const RtNbitsImpl *impl = rt_nbits_impl_select();
    long mb = BENCH_BUF_MB;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--impl") == 0 && i + 1 < argc) {
            const char *name = argv[++i];
            impl = strcmp(name, "ref") == 0 ? &rt_nbits_impl_ref
                   : strcmp(name, "avx2") == 0 ? &rt_nbits_impl_avx2
                   : strcmp(name, "avx512") == 0 ? &rt_nbits_impl_avx512 : NULL;
            if (!impl || !impl->supported()) {
                fprintf(stderr, "bench_nbits: implementation '%s' unknown or not supported here\n", name);
                return 2;
            }
        } else if (strcmp(argv[i], "--mb") == 0 && i + 1 < argc) {
            mb = atol(argv[++i]);
        } else {
            fprintf(stderr, "usage: bench_nbits [--impl ref|avx2|avx512] [--mb MIB]\n");
            return 2;
        }
    }
    const size_t buf_bytes = (size_t)mb << 20;
    uint8_t *buf = aligned_alloc((size_t)2 << 20, buf_bytes);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (buf) madvise(buf, buf_bytes, MADV_HUGEPAGE); /* 2 MiB pages if the kernel allows: fewer TLB misses */
#endif
    float *x = aligned_alloc(64, sizeof(float) * BENCH_K), *y = aligned_alloc(64, sizeof(float) * BENCH_N);
    RtThreadPool *pool = rt_pool_new(2, NULL);
    if (!buf || !x || !y || !pool) {
        fprintf(stderr, "bench_nbits: out of memory (%ld MiB buffer)\n", mb);
        return 2;
    }
    for (size_t i = 0; i < buf_bytes / sizeof(float); i++) ((float *)buf)[i] = (float)(i & 7); /* touch every page */
    for (int k = 0; k < BENCH_K; k++) x[k] = (float)((k * 37) % 101) / 50.0f - 1.0f;

    double bw[2];
    for (int t = 0; t < 2; t++) bw[t] = stream_read((const float *)buf, (int64_t)(buf_bytes / sizeof(float)) & ~(int64_t)63, t + 1, pool);
    Ring r;
    if (ring_make(&r, buf, buf_bytes) != 0) {
        fprintf(stderr, "bench_nbits: could not build the layers\n");
        return 2;
    }
    const double weights = (double)BENCH_N * BENCH_K;
    printf("nbits GEMV: %dx%d %d-bit g%d asym, batch 1, kernel %s; %lld layer copies in a %ld MiB buffer (L3 %ld MiB)\n",
           BENCH_N, BENCH_K, BENCH_BITS, BENCH_G, impl->name, (long long)r.count, mb, l3_bytes() >> 20);
    printf("read bandwidth (STREAM-style sum over the buffer): 1 thread %.1f GB/s, 2 threads %.1f GB/s\n", bw[0] / 1e9,
           bw[1] / 1e9);
    printf("%-8s %-5s %10s %14s %10s %14s\n", "threads", "data", "ms/call", "G weights/s", "GB/s", "of bandwidth");
    int met = 1;
    for (int t = 1; t <= 2; t++)
        for (int cold = 1; cold >= 0; cold--) {
            double sec;
            if (gemv_time(impl, &r, x, y, t == 1 ? NULL : pool, cold, &sec) != 0) return 1;
            double frac = (double)r.bytes / sec / bw[t - 1];
            printf("%-8d %-5s %10.3f %14.2f %10.2f %13.0f%%\n", t, cold ? "cold" : "hot", sec * 1e3, weights / sec / 1e9,
                   (double)r.bytes / sec / 1e9, 100.0 * frac);
            if (cold && frac < BENCH_TARGET) met = 0;
        }
    printf("target: cold GEMV >= %.0f%% of the read bandwidth: %s\n", 100 * BENCH_TARGET, met ? "met" : "NOT met");
    rt_pool_free(pool);
    free(r.layers);
    free(buf);
    free(x);
    free(y);
    return 0;
}
