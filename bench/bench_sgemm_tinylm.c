/*
 * bench_sgemm_tinylm.c — the float GEMM (runtime/kernels/x86/sgemm.h) on tinylm's Linears at
 * one thread, each timed as the runtime calls it, against the fp32 FMA peak measured in the
 * same run: where the GEMM loses to the peak.
 *
 * The runtime's call (linalg_x86.c's Linear): C[128, N] = X[128, K] * W[K, N] + b[N] with X
 * read in place (rows K floats apart), W packed once beforehand (rt_sgemm_pack_b, the node's
 * state), bias_n, and fc1's Gelu in the store epilogue. tinylm's four blocks hold 12 MiB of
 * weights, more than the 2 MiB L2, so in the model each Linear's W comes from the last-level
 * cache: "cold" rotates over copies of the packed W (>= 24 MiB in all) so that every call
 * reads another; "warm" reuses one (W in L2). X (128 KiB or 512 KiB) is the previous node's
 * output, in L2 in both.
 * Diagnostic variants of the same product (same FLOPs), to see what each part costs:
 *   nobias   no bias, no activation (fc1: is the Gelu epilogue's share)
 *   packA    X packed beforehand too (rt_sgemm_pack_a): the cost of reading A in place
 *   ldc+16   C's rows N + 16 floats apart instead of N (rows 1 / 4 KiB apart alias in L1)
 *   n48      one 48-column micro-panel of W only (M x 48 x K): the micro-kernel with its B
 *            micro-panel resident, the loop nest's best case
 *
 * Peak: 16 independent zmm FMA chains in registers (no memory), best of 3. Each figure is the
 * median of BENCH_ROUNDS rounds of ~BENCH_ROUND_MS each; the variants of a shape are timed
 * round-robin (one round of each, then the next round), so they share the machine's noise.
 * The last line sums the runtime-form cold times as the model runs them (16 qkvo, 4 fc1 +
 * Gelu, 4 fc2, the head) against the same FLOPs at peak.
 *
 * Usage: bench_sgemm_tinylm [--quick] [--only SUBSTRING]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/kernels/ref/activation.h"
#include "../runtime/kernels/x86/sgemm.h"
#include "bench_fma_peak.h"
#include "bench_util.h"

#define BENCH_MAX_ROUNDS 9
#define COLD_BYTES (24u << 20)

static int bench_rounds = 9;
static double bench_round_ms = 25.0;

static float peak_sink;

/* GFLOP/s of one thread's FMA loop, best of 3 runs of ~50 ms. */
static double peak_gflops(void) {
    const int64_t iters = 10000000;
    double best = 0;
    for (int r = 0; r < 3; r++) {
        double t0 = now_s();
        peak_sink += bench_fma_loop(iters, (float)r);
        double g = (double)iters * BENCH_FMA_FLOPS_PER_ITER / (now_s() - t0) * 1e-9;
        if (g > best) best = g;
    }
    return best;
}

typedef struct {
    const char *name;
    int64_t M, N, K;
    int bias, gelu;   /* the model's Linear: bias_n, Gelu fused (fc1) */
    int count;        /* times the model runs it */
} Shape;

static const Shape shapes[] = {
    {"qkvo", 128, 256, 256, 1, 0, 16},
    {"fc1+gelu", 128, 1024, 256, 1, 1, 4},
    {"fc2", 128, 256, 1024, 1, 0, 4},
    {"head", 128, 128, 256, 0, 0, 1},
};

enum { V_RUNTIME, V_WARM, V_NOBIAS, V_PACKA, V_LDC, V_N48, V_COUNT };
static const char *const vnames[V_COUNT] = {"runtime cold", "runtime warm", "nobias", "packA", "ldc+16", "n48"};

typedef struct {
    RtSgemm g;
    float **bcopies;   /* packed W copies (cold: many, else 1) */
    int ncopies, next;
    float *A, *Ap, *C;
} Case;

static float *falloc(int64_t n) {
    void *p = NULL;
    if (posix_memalign(&p, 64, (size_t)(n > 0 ? n : 1) * sizeof(float)) != 0) {
        fprintf(stderr, "bench_sgemm_tinylm: out of memory\n");
        exit(1);
    }
    return p;
}

static void fill(float *x, int64_t n, unsigned seed) {
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)((seed >> 9) & 0xffff) / 65536.0f - 0.5f;
    }
}

static RtAct gelu_act = {RT_ACT_GELU, 0.0f, 0.0f};

static void case_make(Case *c, const Shape *s, int v, const float *W, const float *bias) {
    memset(c, 0, sizeof *c);
    const int64_t M = s->M, K = s->K, N = v == V_N48 ? 48 : s->N, ldc = v == V_LDC ? N + 16 : N;
    c->A = falloc(M * K);
    fill(c->A, M * K, 7u);
    c->C = falloc(M * ldc);
    memset(c->C, 0, sizeof(float) * (size_t)(M * ldc));
    const int64_t bf = rt_sgemm_packed_b_floats(K, N);
    c->ncopies = v == V_RUNTIME ? (int)(COLD_BYTES / (size_t)(bf * 4) + 1) : 1;
    c->bcopies = calloc((size_t)c->ncopies, sizeof *c->bcopies);
    for (int i = 0; i < c->ncopies; i++) {
        c->bcopies[i] = falloc(bf);
        rt_sgemm_pack_b(0, K, N, W, s->N, c->bcopies[i]);
    }
    if (v == V_PACKA) {
        c->Ap = falloc(rt_sgemm_packed_a_floats(M, K));
        rt_sgemm_pack_a(0, M, K, c->A, K, c->Ap);
    }
    RtSgemm g = {M, N, K, 0, 0, c->A, c->Ap, K, W, c->bcopies[0], s->N, c->C, ldc, NULL,
                 v == V_NOBIAS || !s->bias ? NULL : bias, v == V_NOBIAS || !s->gelu ? NULL : &gelu_act};
    c->g = g;
}

static void case_free(Case *c) {
    for (int i = 0; i < c->ncopies; i++) free(c->bcopies[i]);
    free(c->bcopies);
    free(c->A);
    free(c->Ap);
    free(c->C);
}

/* Seconds per call over one round of ~bench_round_ms. */
static double case_round(Case *c) {
    int64_t calls = 0;
    double t0 = now_s(), t;
    do {
        for (int i = 0; i < 8; i++) {
            c->g.B_packed = c->bcopies[c->next];
            c->next = (c->next + 1) % c->ncopies;
            rt_sgemm_run(NULL, &c->g);
        }
        calls += 8;
        t = now_s() - t0;
    } while (t < bench_round_ms * 1e-3);
    return t / (double)calls;
}

int main(int argc, char **argv) {
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) {
            bench_rounds = 3, bench_round_ms = 10.0;
        } else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
            only = argv[++i];
        } else {
            fprintf(stderr, "usage: bench_sgemm_tinylm [--quick] [--only SUBSTRING]\n"
                            "  tinylm's Linears on the float GEMM at 1 thread, as the runtime calls them,\n"
                            "  in %% of the FMA peak measured in the same run, with diagnostic variants\n");
            return !strcmp(argv[i], "--help") ? 0 : 2;
        }
    }
    if (!rt_sgemm_nn_is_native()) {
        printf("bench_sgemm_tinylm: no AVX-512 on this CPU, nothing to measure\n");
        return 0;
    }
    const double peak = peak_gflops();
    printf("fp32 FMA peak, 1 thread: %.1f GFLOP/s\n", peak);
    double model_s = 0, model_flops = 0;
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const Shape *s = &shapes[si];
        if (only && !strstr(s->name, only)) continue;
        float *W = falloc(s->K * s->N), *bias = falloc(s->N);
        fill(W, s->K * s->N, 11u);
        fill(bias, s->N, 13u);
        Case cs[V_COUNT];
        double t[V_COUNT][BENCH_MAX_ROUNDS];
        for (int v = 0; v < V_COUNT; v++) case_make(&cs[v], s, v, W, bias);
        for (int v = 0; v < V_COUNT; v++) case_round(&cs[v]); /* warm-up */
        for (int r = 0; r < bench_rounds; r++)
            for (int v = 0; v < V_COUNT; v++) t[v][r] = case_round(&cs[v]);
        printf("%s %lldx%lldx%lld (M x N x K)\n", s->name, (long long)s->M, (long long)s->N, (long long)s->K);
        for (int v = 0; v < V_COUNT; v++) {
            qsort(t[v], (size_t)bench_rounds, sizeof(double), cmp_double);
            const double med = t[v][bench_rounds / 2];
            const double flops = 2.0 * (double)cs[v].g.M * (double)cs[v].g.N * (double)cs[v].g.K;
            printf("  %-13s %8.2f us  %6.1f GFLOP/s  %5.1f%% of peak\n", vnames[v], med * 1e6, flops / med * 1e-9,
                   100.0 * flops / med * 1e-9 / peak);
            if (v == V_RUNTIME) model_s += med * s->count, model_flops += flops * s->count;
            case_free(&cs[v]);
        }
        free(W);
        free(bias);
    }
    if (model_flops > 0)
        printf("model's Linears (runtime cold x count): %.1f us, at peak %.1f us (%.1f%%)\n", model_s * 1e6,
               model_flops / (peak * 1e9) * 1e6, 100.0 * model_flops / (peak * 1e9) / model_s);
    return 0;
}
