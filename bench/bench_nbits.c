/*
 * bench_nbits.c — batch-1 GEMV on packed 4-bit weights (LinearNBits, 4096 x 4096,
 * asymmetric, groups of 128 and of 32) against this machine's memory read bandwidth, both
 * measured in the same run, on 1 and on 2 threads.
 *
 * Bandwidth: a STREAM-style read (sum of every float, 4 vector accumulators) over one
 * buffer of BENCH_BUF_MB MiB, well beyond the caches (the last-level cache is printed), on
 * 1 thread and, through the runtime's pool, on 2 (each thread half of the buffer).
 * GEMV: each half of the same buffer is filled with copies of one packed layer (codes,
 * scales, zero points: 0.539 bytes per weight for g128, 0.656 for g32; 512 MiB, far past
 * the caches, measured) and the kernel runs over the copies in turn, so every call streams its weights from memory as in a model far larger
 * than the caches ("cold"); a second figure runs one layer over and over ("hot", from the
 * last-level cache). Throughput is weights per second and bytes read per second; the
 * fraction is the cold GEMV's bytes per second over the read bandwidth with the same
 * number of threads.
 *
 * The machine is shared and its bandwidth varies from second to second, so the read and
 * the GEMVs are measured in BENCH_ROUNDS rounds, one after the other within each round (per
 * thread count: read, then each group's cold sweep and hot calls), and each keeps its best
 * round (the one with the least interference); a round reads the whole buffer once and
 * sweeps each group's copies once.
 *
 * Output: a header, one "read bandwidth" line, then one line per (group, threads, data)
 * with ms/call, G weights/s, GB/s and the fraction, then "target: ... met" or "NOT met"
 * (cold, every group and thread count, >= BENCH_TARGET).
 *
 * Usage: bench_nbits [--impl ref|avx2|avx512] [--mb MIB] [--rounds R]
 *        (default: what LinearNBits picks, 1024 MiB, 5 rounds)
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
#include "bench_stream.h"
#include "bench_util.h"

#define BENCH_N 4096
#define BENCH_K 4096
#define BENCH_BITS 4
#define BENCH_BUF_MB 1024
#define BENCH_ROUNDS 5
#define BENCH_HOT_CALLS 40
#define BENCH_TARGET 0.80 /* the goal: cold GEMV at >= 80% of the read bandwidth */

static const int64_t bench_groups[] = {128, 32};
#define BENCH_NGROUPS 2

/* ---- GEMV over copies of one layer ---- */

typedef struct {
    RtNbitsLinear *layers;  /* [count], each pointing into the big buffer */
    int64_t count;
    size_t bytes;           /* bytes one layer's call reads: codes + scales + zeros */
} Ring;

static size_t round64(size_t b) {
    return (b + 63) & ~(size_t)63;
}

/* Fills buf with copies of one random layer of group G. */
static int ring_make(Ring *r, int64_t G, uint8_t *buf, size_t buf_bytes) {
    const int64_t NG = rt_nbits_groups(BENCH_K, G);
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
        r->layers[l] = (RtNbitsLinear){BENCH_BITS, BENCH_N, BENCH_K, G, base,
                                       (const float *)(base + round64(wbytes)),
                                       base + round64(wbytes) + round64(sbytes), NULL, NULL,
                                       {RT_NBITS_ACT_NONE, 0, 0}};
    }
    return 0;
}

/* Seconds per call: cold = one sweep over all layers / count; hot = BENCH_HOT_CALLS calls
 * on layer 0. */
static double gemv_time(const RtNbitsImpl *impl, const Ring *r, const float *x, float *y, RtThreadPool *pool,
                        int cold) {
    RtError err = {{0}};
    const int64_t calls = cold ? r->count : BENCH_HOT_CALLS;
    double t = now_s();
    for (int64_t c = 0; c < calls; c++) rt_nbits_linear_run(impl, &r->layers[cold ? c : 0], x, 1, y, pool, NULL, &err);
    return (now_s() - t) / (double)calls;
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

static double max_d(double a, double b) {
    return a > b ? a : b;
}

int main(int argc, char **argv) {
    const RtNbitsImpl *impl = rt_nbits_impl_select();
    long mb = BENCH_BUF_MB;
    int rounds = BENCH_ROUNDS;
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
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
            rounds = rounds < 1 ? 1 : rounds;
        } else {
            fprintf(stderr, "usage: bench_nbits [--impl ref|avx2|avx512] [--mb MIB] [--rounds R]\n");
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
    const int64_t nfloats = (int64_t)(buf_bytes / sizeof(float)) & ~(int64_t)63;

    /* each group's copies in its own half of the buffer (each half well past the caches), so
     * that every round measures everything under the same conditions; per group the best cold
     * and hot seconds per call on 1 and 2 threads, and the best read bandwidth */
    double bw[2] = {0, 0}, cold[BENCH_NGROUPS][2], hot[BENCH_NGROUPS][2];
    Ring rings[BENCH_NGROUPS];
    memset(rings, 0, sizeof rings);
    const size_t part = buf_bytes / BENCH_NGROUPS & ~(size_t)63;
    for (int gi = 0; gi < BENCH_NGROUPS; gi++) {
        RtError err = {{0}};
        if (ring_make(&rings[gi], bench_groups[gi], buf + (size_t)gi * part, part) != 0) {
            fprintf(stderr, "bench_nbits: could not build the layers\n");
            return 2;
        }
        if (rt_nbits_linear_run(impl, &rings[gi].layers[0], x, 1, y, pool, NULL, &err) != RT_OK) {
            fprintf(stderr, "bench_nbits: %s\n", err.msg);
            return 1;
        }
        for (int t = 0; t < 2; t++) cold[gi][t] = hot[gi][t] = 1e30;
    }
    for (int round = 0; round < rounds; round++)
        for (int t = 0; t < 2; t++) {
            RtThreadPool *p = t == 0 ? NULL : pool;
            bw[t] = max_d(bw[t], bench_stream_read((const float *)buf, nfloats, t == 0 ? NULL : pool));
            for (int gi = 0; gi < BENCH_NGROUPS; gi++) {
                double c = gemv_time(impl, &rings[gi], x, y, p, 1), h = gemv_time(impl, &rings[gi], x, y, p, 0);
                cold[gi][t] = c < cold[gi][t] ? c : cold[gi][t];
                hot[gi][t] = h < hot[gi][t] ? h : hot[gi][t];
            }
        }
    const double weights = (double)BENCH_N * BENCH_K;
    printf("nbits GEMV: %dx%d %d-bit asym, batch 1, kernel %s; %lld/%lld layer copies (g%lld/g%lld) in a %ld MiB "
           "buffer (L3 %ld MiB), best of %d rounds\n",
           BENCH_N, BENCH_K, BENCH_BITS, impl->name, (long long)rings[0].count, (long long)rings[1].count,
           (long long)bench_groups[0], (long long)bench_groups[1], mb, l3_bytes() >> 20, rounds);
    printf("read bandwidth (STREAM-style sum over the buffer): 1 thread %.1f GB/s, 2 threads %.1f GB/s\n", bw[0] / 1e9,
           bw[1] / 1e9);
    printf("%-6s %-8s %-5s %10s %14s %10s %14s\n", "group", "threads", "data", "ms/call", "G weights/s", "GB/s",
           "of bandwidth");
    int met = 1;
    for (int gi = 0; gi < BENCH_NGROUPS; gi++)
        for (int t = 0; t < 2; t++)
            for (int c = 1; c >= 0; c--) {
                const double sec = c ? cold[gi][t] : hot[gi][t], bytes = (double)rings[gi].bytes, frac = bytes / sec / bw[t];
                printf("g%-5lld %-8d %-5s %10.3f %14.2f %10.2f %13.0f%%\n", (long long)bench_groups[gi], t + 1,
                       c ? "cold" : "hot", sec * 1e3, weights / sec / 1e9, bytes / sec / 1e9, 100.0 * frac);
                if (c && frac < BENCH_TARGET) met = 0;
            }
    printf("target: cold GEMV >= %.0f%% of the read bandwidth (g128 and g32, 1 and 2 threads): %s\n",
           100 * BENCH_TARGET, met ? "met" : "NOT met");
    rt_pool_free(pool);
    for (int gi = 0; gi < BENCH_NGROUPS; gi++) free(rings[gi].layers);
    free(buf);
    free(x);
    free(y);
    return 0;
}
