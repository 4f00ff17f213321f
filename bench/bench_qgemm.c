/*
 * bench_qgemm.c — the int8 GEMM (runtime/kernels/x86/qgemm.h) on M = N = K = 1024 against
 * this machine's vpdpbusd peak, both measured in the same run.
 *
 * Peak: a register-only loop of independent vpdpbusd (AVX-512, 16 accumulators, enough to
 * cover the instruction's latency at two per cycle), 64 multiply-adds = 128 ops each; on 2
 * threads the loop runs on both at once. GEMM: u8 activations x s8 weights (B[K, N] rows,
 * as a 1x1 convolution's input plane) with per-row requantization to int8, the shape QConv
 * runs, through rt_qgemm_run on 1 thread and on a pool of 2. The two are alternated
 * BENCH_ROUNDS times and the best of each compared (other processes on this shared machine
 * only ever lower a throughput, and lower the peak loop and the GEMM alike): ops = 2 M N K
 * per GEMM.
 *
 * Prints one line per measurement:
 *   qgemm 1024^3 vnni, 1 thread: <GOPS> GOPS, vpdpbusd peak <GOPS> GOPS (1 thread): <pct>% of peak
 * and the same for 2 threads and for the AVX2 fallback (against the same peak, for scale).
 *
 * Usage: bench_qgemm [--size S] [--rounds R]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../runtime/kernels/x86/qgemm.h"
#include "../runtime/rt_threads.h"
#include "bench_util.h"

#define BENCH_ROUNDS 7
#define BENCH_TARGET 0.60 /* the goal: >= 60% of the VNNI peak per core */
#define PEAK_ITERS 4000000

static double best(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n - 1];
}

/* ---- peak ---- */

typedef struct {
    int64_t iters;
    int32_t sink[2][16];
} PeakJob;

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define ACC16(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static void peak_loop(int64_t iters, int32_t *sink) {
    __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-5);
#define DECL(i) __m512i c##i = _mm512_set1_epi32(i);
    ACC16(DECL)
    for (int64_t i = 0; i < iters; i++) {
#define STEP(i) c##i = _mm512_dpbusd_epi32(c##i, a, b);
        ACC16(STEP)
        __asm__ volatile("" : "+v"(a)); /* keeps the loop from being folded */
    }
    __m512i s = c0;
#define SUM(i) s = _mm512_add_epi32(s, c##i);
    ACC16(SUM)
    _mm512_storeu_si512(sink, s);
}
#else
static void peak_loop(int64_t iters, int32_t *sink) {
    (void)iters;
    memset(sink, 0, 64);
}
#endif

static void peak_chunk(void *arg, int64_t b, int64_t e) {
    PeakJob *j = arg;
    for (int64_t i = b; i < e; i++) peak_loop(j->iters, j->sink[i]);
}

/* GOPS of the vpdpbusd loop on `threads` threads at once. */
static double peak_gops(RtThreadPool *pool, int threads) {
    PeakJob j;
    j.iters = PEAK_ITERS;
    double t0 = now_s();
    rt_parallel_for(threads > 1 ? pool : NULL, threads, 1, peak_chunk, &j);
    double t = now_s() - t0;
    return (double)threads * (double)j.iters * 16 * 64 * 2 / t * 1e-9;
}

/* ---- GEMM ---- */

static double gemm_s(RtKernelCtx *c, const RtQgemm *g, RtQgemmIsa isa) {
    double t0 = now_s();
    if (rt_qgemm_run(c, g, isa) != RT_OK) {
        fprintf(stderr, "bench_qgemm: %s\n", c->err->msg);
        exit(2);
    }
    return now_s() - t0;
}

int main(int argc, char **argv) {
    int64_t S = 1024;
    int rounds = BENCH_ROUNDS;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--size") == 0 && i + 1 < argc) S = atoll(argv[++i]);
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) rounds = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_qgemm [--size S] [--rounds R]\n");
            return 2;
        }
    }
    if (!rt_qgemm_isa_supported(RT_QGEMM_VNNI)) {
        printf("qgemm: this CPU has no AVX-512 VNNI; nothing to compare with the vpdpbusd peak\n");
        return 0;
    }
    if (rounds < 1 || rounds > 64 || S < 1) return 2;
    uint8_t *A = malloc((size_t)(S * S)), *B = malloc((size_t)(S * S)), *Y = malloc((size_t)(S * S));
    int32_t *bias = malloc((size_t)S * sizeof(int32_t));
    RtRequant *rq = malloc((size_t)S * sizeof(RtRequant));
    if (!A || !B || !Y || !bias || !rq) return 2;
    uint32_t s = 1;
    for (int64_t i = 0; i < S * S; i++) {
        s = s * 1664525u + 1013904223u;
        A[i] = (uint8_t)(s >> 24);
        B[i] = (uint8_t)(s >> 16);
    }
    for (int64_t m = 0; m < S; m++) {
        bias[m] = (int32_t)(m * 37) - 1000;
        rq[m] = rt_qgemm_requant_make(1.0 / (4096.0 * (double)S + (double)m));
    }
    RtQgemm g;
    memset(&g, 0, sizeof g);
    g.M = g.N = g.K = S;
    g.a = A, g.lda = S, g.a_u8 = 0;
    g.b = B, g.ldb = S, g.b_u8 = 1, g.b_layout = RT_QGEMM_B_KN, g.zb = 3;
    g.bias = bias;
    g.y8 = Y, g.y_u8 = 0, g.ldy = S, g.ldyn = 1;
    g.rq = rq, g.zy = -2, g.lo = -128, g.hi = 127;

    RtError err;
    err.msg[0] = '\0';
    RtThreadPool *pool = rt_pool_new(2, NULL);
    RtKernelCtx c1;
    memset(&c1, 0, sizeof c1);
    c1.alloc = rt_allocator_default();
    c1.err = &err;
    RtKernelCtx c2 = c1;
    c2.pool = pool;
    double ops = 2.0 * (double)S * (double)S * (double)S;
    double pk1[64], pk2[64], v1[64], v2[64], a1[64];
    gemm_s(&c1, &g, RT_QGEMM_VNNI); /* warm-up: page faults, caches */
    for (int r = 0; r < rounds; r++) {
        pk1[r] = peak_gops(pool, 1);
        v1[r] = ops / gemm_s(&c1, &g, RT_QGEMM_VNNI) * 1e-9;
        pk2[r] = pool ? peak_gops(pool, 2) : pk1[r];
        v2[r] = ops / gemm_s(&c2, &g, RT_QGEMM_VNNI) * 1e-9;
        a1[r] = rt_qgemm_isa_supported(RT_QGEMM_AVX2) ? ops / gemm_s(&c1, &g, RT_QGEMM_AVX2) * 1e-9 : 0.0;
    }
    double p1 = best(pk1, rounds), p2 = best(pk2, rounds);
    double g1 = best(v1, rounds), g2 = best(v2, rounds), ga = best(a1, rounds);
    printf("qgemm %lld^3 vnni, 1 thread: %.1f GOPS, vpdpbusd peak %.1f GOPS (1 thread): %.1f%% of peak (target %.0f%%)\n",
           (long long)S, g1, p1, 100.0 * g1 / p1, 100.0 * BENCH_TARGET);
    printf("qgemm %lld^3 vnni, 2 threads: %.1f GOPS, vpdpbusd peak %.1f GOPS (2 threads): %.1f%% of peak\n",
           (long long)S, g2, p2, 100.0 * g2 / p2);
    if (ga > 0)
        printf("qgemm %lld^3 avx2 fallback, 1 thread: %.1f GOPS, vpdpbusd peak %.1f GOPS (1 thread): %.1f%% of peak\n",
               (long long)S, ga, p1, 100.0 * ga / p1);
    rt_pool_free(pool);
    free(A), free(B), free(Y), free(bias), free(rq);
    return 0;
}
