/*
 * bench_sgemm.c — wafer's float32 GEMM (rt_sgemm_nn, runtime/kernels/x86/sgemm.h) against
 * OpenBLAS's cblas_sgemm (through rt_sgemm, the build's BLAS) on the shapes the fixture
 * models run at batch 1, plus M = N = K = 1024, on 1 and on 2 threads, and the fp32 FMA
 * peak measured in the same run.
 *
 * Peak: a register-only loop of independent zmm FMAs (16 accumulators, so neither latency
 * nor memory limits it), per thread; "2 threads" runs one such loop on each thread of the
 * runtime's pool, and the peak is their sum.
 * GEMM: each shape is timed in BENCH_ROUNDS rounds, each round running wafer then OpenBLAS
 * (alternating, so both see the same machine noise) for about 60 ms each; the figure is
 * the median round. On 2 threads each OpenBLAS round is followed by a pause (see
 * BENCH_BLAS_IDLE_MS). wafer adds the shape's bias in its store epilogue (Linear's
 * bias_n, Conv's bias_m); OpenBLAS runs without one (beta = 0), a slight advantage to it.
 *
 * "packed" is wafer with the weight operand (A for the conv shapes, B otherwise) packed
 * once beforehand (rt_sgemm_pack_a / _b), as the runtime keeps it in the node's state.
 *
 * Prints, per shape and thread count:
 *   sgemm <name> MxNxK threads T: wafer G GFLOP/s (P% of peak), packed G GFLOP/s (Q),
 *       openblas G GFLOP/s, ratio R
 * where Q = packed time / wafer time and R = wafer time / OpenBLAS time (< 1: wafer
 * faster); then the geometric mean of R.
 *
 * Usage: bench_sgemm [--quick] [--cold] [--only SUBSTRING] [--threads 1|2]
 *   --quick      3 rounds of ~20 ms instead of 7 of ~60 ms
 *   --cold       the weights come from memory: each call reads another copy of them
 *                (64 MiB of copies in all), as in a model whose weights exceed the caches
 *   --only S     only the shapes whose name contains S
 *   --threads T  only that thread count (default: 1, then 2)
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../runtime/kernels/gemm.h"
#include "../runtime/kernels/x86/sgemm.h"
#include "../runtime/rt_threads.h"
#include "bench_fma_peak.h"
#include "bench_util.h"

/* OpenBLAS's thread control, from its cblas.h (whose folder the bench's flags do not add). */
void openblas_set_num_threads(int num_threads);

#define BENCH_MAX_ROUNDS 7

static int bench_rounds = 7;
static double bench_round_ms = 60.0;

typedef struct {
    const char *name;
    int64_t M, N, K;
    int bias;   /* 0 none, 1 bias_m (Conv), 2 bias_n (Linear) */
} Shape;

/* Batch-1 shapes of the fixture models: tinylm (128 tokens, d 256, 4 heads of 64, MLP 1024,
 * vocabulary 128), mobilenet_v2's 1x1 convolutions W[M, K] x X[K, N = positions], its and
 * the small models' classifiers (M = 1), digits_cnn's im2col GEMMs (c2: 64 channels of 8x8,
 * c3: 64 of 4x4) and first Linear, kws_dscnn's pointwise convs (64 channels of 25x5); and the
 * square reference. */
static const Shape shapes[] = {
    {"tinylm.qkvo", 128, 256, 256, 2},
    {"tinylm.mlp_up", 128, 1024, 256, 2},
    {"tinylm.mlp_down", 128, 256, 1024, 2},
    {"tinylm.head", 128, 128, 256, 0},
    {"tinylm.attn_qk", 128, 128, 64, 0},
    {"tinylm.attn_v", 128, 64, 128, 0},
    {"mobilenet.expand_112", 96, 12544, 16, 1},
    {"mobilenet.project_56", 24, 3136, 144, 1},
    {"mobilenet.expand_56", 144, 3136, 24, 1},
    {"mobilenet.expand_14", 384, 196, 64, 1},
    {"mobilenet.project_14", 96, 196, 576, 1},
    {"mobilenet.expand_7", 960, 49, 160, 1},
    {"mobilenet.project_7", 320, 49, 960, 1},
    {"mobilenet.last_7", 1280, 49, 320, 1},
    {"mobilenet.classifier", 1, 1000, 1280, 2},
    {"digits.conv2_im2col", 32, 196, 144, 1},
    {"digits_cnn.c2", 64, 64, 288, 1},
    {"digits_cnn.c3", 64, 16, 576, 1},
    {"digits_cnn.fc1", 1, 128, 1024, 2},
    {"kws.pointwise", 64, 125, 64, 1},
    {"kws.linear", 1, 12, 64, 2},
    {"square_1024", 1024, 1024, 1024, 0},
};

/* OpenBLAS's worker threads keep spinning on their cores for a while after a call (its
 * thread timeout, about 2^28 cycles), which would take the second core from the next wafer
 * round; this long a pause lets them go to sleep first. */
#define BENCH_BLAS_IDLE_MS 150

static void pause_ms(int ms) {
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* ---- FMA peak ---- */

#define PEAK_ITERS 20000000LL

typedef struct {
    double secs[2];
    float sink[2];
} PeakJob;

static void peak_chunk(void *arg, int64_t b, int64_t e) {
    PeakJob *p = arg;
    for (int64_t i = b; i < e; i++) {
        double t0 = now_s();
        p->sink[i] = bench_fma_loop(PEAK_ITERS, (float)i);
        p->secs[i] = now_s() - t0;
    }
}

/* GFLOP/s of `threads` FMA loops run at once (best of 3). */
static double peak_gflops(RtThreadPool *pool, int threads) {
    double best = 0;
    for (int r = 0; r < 3; r++) {
        PeakJob p = {{0, 0}, {0, 0}};
        rt_parallel_for(pool, threads, 1, peak_chunk, &p);
        double g = 0;
        for (int i = 0; i < threads; i++) g += PEAK_ITERS * BENCH_FMA_FLOPS_PER_ITER / p.secs[i] * 1e-9;
        if (p.sink[0] == 12345.0f) g += 1e-9; /* keeps the sums alive */
        if (g > best) best = g;
    }
    return best;
}

/* ---- GEMM ---- */

/* The weight operand of a shape: A for a conv (bias_m), B otherwise. With --cold the runs
 * cycle through `copies` copies of it (at least BENCH_COLD_BYTES in all), so every call
 * reads its weights from memory as a model does whose weights exceed the caches; the
 * packed copies (rt_sgemm_pack_a / _b, made once, as the runtime keeps them in the node's
 * state) likewise. */
#define BENCH_COLD_BYTES ((int64_t)64 << 20)
#define BENCH_MAX_COPIES 4096

typedef struct {
    const Shape *s;
    float *A, *B, *C, *bias;
    RtThreadPool *pool;
    float *w[BENCH_MAX_COPIES], *wp[BENCH_MAX_COPIES]; /* weight copies, packed copies */
    int copies, next;
} Run;

static int weight_is_a(const Shape *s) { return s->bias == 1; }

static void run_gemm(Run *r, int packed) {
    const Shape *s = r->s;
    const int c = r->next;
    r->next = (r->next + 1) % r->copies;
    const int wa = weight_is_a(s);
    RtSgemm g = {s->M, s->N, s->K, 0, 0, wa ? r->w[c] : r->A, wa && packed ? r->wp[c] : NULL, s->K,
                 wa ? r->B : r->w[c], !wa && packed ? r->wp[c] : NULL, s->N, r->C, s->N,
                 s->bias == 1 ? r->bias : NULL, s->bias == 2 ? r->bias : NULL, NULL};
    rt_sgemm_run(r->pool, &g);
}

static void run_wafer(Run *r) { run_gemm(r, 0); }
static void run_packed(Run *r) { run_gemm(r, 1); }

static void run_blas(Run *r) {
    const Shape *s = r->s;
    const int c = r->next;
    r->next = (r->next + 1) % r->copies;
    const int wa = weight_is_a(s);
    rt_sgemm(0, 0, (int)s->M, (int)s->N, (int)s->K, 1.0f, wa ? r->w[c] : r->A, (int)s->K, wa ? r->B : r->w[c],
             (int)s->N, 0.0f, r->C, (int)s->N);
}

/* Seconds per call of fn, over calls sized to about bench_round_ms. */
static double time_round(void (*fn)(Run *), Run *r, int64_t calls) {
    double t0 = now_s();
    for (int64_t i = 0; i < calls; i++) fn(r);
    return (now_s() - t0) / (double)calls;
}

static float *rand_buf(int64_t n, unsigned seed) {
    float *p = malloc(sizeof(float) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
    return p;
}

static int bench_cold = 0;

/* Returns wafer time / OpenBLAS time for one shape on `threads`; prints the line. */
static double bench_shape(const Shape *s, RtThreadPool *pool, int threads, double peak) {
    Run r;
    memset(&r, 0, sizeof r);
    r.s = s;
    r.A = rand_buf(s->M * s->K, 1), r.B = rand_buf(s->K * s->N, 2), r.C = rand_buf(s->M * s->N, 3);
    r.bias = rand_buf(s->M > s->N ? s->M : s->N, 4);
    r.pool = threads > 1 ? pool : NULL;
    const int wa = weight_is_a(s);
    const int64_t wn = wa ? s->M * s->K : s->K * s->N;
    const int64_t pn = wa ? rt_sgemm_packed_a_floats(s->M, s->K) : rt_sgemm_packed_b_floats(s->K, s->N);
    r.copies = 1;
    if (bench_cold) {
        int64_t c = BENCH_COLD_BYTES / (int64_t)(sizeof(float) * (size_t)wn) + 1;
        r.copies = (int)(c < BENCH_MAX_COPIES ? c : BENCH_MAX_COPIES);
    }
    for (int i = 0; i < r.copies; i++) {
        r.w[i] = rand_buf(wn, 5u + (unsigned)i);
        r.wp[i] = NULL;
        if (pn > 0 && posix_memalign((void **)&r.wp[i], 64, sizeof(float) * (size_t)pn) == 0) {
            if (wa) rt_sgemm_pack_a(0, s->M, s->K, r.w[i], s->K, r.wp[i]);
            else rt_sgemm_pack_b(0, s->K, s->N, r.w[i], s->N, r.wp[i]);
        }
    }
    const int packed = pn > 0 && r.wp[r.copies - 1] != NULL;
    openblas_set_num_threads(threads);
    run_wafer(&r); /* warm up both, and size the rounds */
    run_blas(&r);
    double once = time_round(run_wafer, &r, 3);
    int64_t calls = (int64_t)(bench_round_ms * 1e-3 / (once > 1e-9 ? once : 1e-9));
    if (calls < 1) calls = 1;
    double tw[BENCH_MAX_ROUNDS], tp[BENCH_MAX_ROUNDS], tb[BENCH_MAX_ROUNDS];
    for (int i = 0; i < bench_rounds; i++) {
        tw[i] = time_round(run_wafer, &r, calls);
        tp[i] = packed ? time_round(run_packed, &r, calls) : tw[i];
        tb[i] = time_round(run_blas, &r, calls);
        if (threads > 1) pause_ms(BENCH_BLAS_IDLE_MS);
    }
    qsort(tw, (size_t)bench_rounds, sizeof *tw, cmp_double);
    qsort(tp, (size_t)bench_rounds, sizeof *tp, cmp_double);
    qsort(tb, (size_t)bench_rounds, sizeof *tb, cmp_double);
    double w = tw[bench_rounds / 2], p = tp[bench_rounds / 2], b = tb[bench_rounds / 2];
    double flops = 2.0 * (double)s->M * (double)s->N * (double)s->K;
    printf("sgemm %-22s %5lldx%-5lldx%-5lld threads %d: wafer %7.1f GFLOP/s (%5.1f%% of peak), "
           "packed %7.1f GFLOP/s (%.3f), openblas %7.1f GFLOP/s, ratio %.3f\n",
           s->name, (long long)s->M, (long long)s->N, (long long)s->K, threads, flops / w * 1e-9,
           100.0 * flops / w * 1e-9 / peak, flops / p * 1e-9, p / w, flops / b * 1e-9, w / b);
    fflush(stdout);
    free(r.A);
    free(r.B);
    free(r.C);
    free(r.bias);
    for (int i = 0; i < r.copies; i++) {
        free(r.w[i]);
        free(r.wp[i]);
    }
    return w / b;
}

int main(int argc, char **argv) {
    int t_first = 1, t_last = 2;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            bench_rounds = 3;
            bench_round_ms = 20.0;
        } else if (strcmp(argv[i], "--cold") == 0) {
            bench_cold = 1;
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc && (atoi(argv[i + 1]) == 1 || atoi(argv[i + 1]) == 2)) {
            t_first = t_last = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: bench_sgemm [--quick] [--cold] [--only SUBSTRING] [--threads 1|2]\n");
            return 2;
        }
    }
    RtThreadPool *pool = rt_pool_new(2, NULL);
    if (!pool) {
        fprintf(stderr, "bench_sgemm: could not start 2 threads\n");
        return 1;
    }
    printf("sgemm: own AVX-512 kernels %s\n", rt_sgemm_nn_is_native() ? "on" : "off (OpenBLAS fallback)");
    const int n_shapes = (int)(sizeof shapes / sizeof shapes[0]);
    for (int threads = t_first; threads <= t_last; threads++) {
        double peak = peak_gflops(pool, threads), logsum = 0;
        printf("fp32 FMA peak, %d thread%s: %.1f GFLOP/s\n", threads, threads > 1 ? "s" : "", peak);
        int n_run = 0;
        for (int i = 0; i < n_shapes; i++) {
            if (only && !strstr(shapes[i].name, only)) continue;
            logsum += log(bench_shape(&shapes[i], pool, threads, peak));
            n_run++;
        }
        printf("sgemm geomean ratio wafer/openblas, %d thread%s: %.3f\n", threads, threads > 1 ? "s" : "",
               exp(logsum / (n_run > 0 ? n_run : 1)));
    }
    rt_pool_free(pool);
    return 0;
}
