/*
 * bench_attention.c — the fused attention kernel (runtime/kernels/x86/attention_x86.c) on
 * tinylm's shapes (T = 128 tokens, 4 heads of 64, q, k, v read straight from [T, 256]
 * projections, the causal mask constant): median of BENCH_REPS timed calls after warm-up,
 * inputs in the caches as in a model run, at 1 and 2 threads. One line each:
 *     attention T=128 H=4 dh=64 causal, 1 thread: 52.0 us
 * The same run also times the kernel with no mask (every column computed), which shows what
 * the causal cut saves.
 *
 * Usage: bench_attention [--reps N]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/kernels/x86/attention_x86.h"
#include "../runtime/rt_threads.h"
#include "bench_util.h"

#define BENCH_REPS 201

static double time_run(RtAttention *a, RtThreadPool *pool, int reps) {
    RtError err = {{0}};
    RtKernelCtx c = {.alloc = rt_allocator_default(), .err = &err, .pool = pool};
    double *t = malloc(sizeof(double) * (size_t)reps);
    for (int i = 0; i < 20; i++) rt_attention_run(&c, a);
    for (int i = 0; i < reps; i++) {
        double t0 = now_s();
        if (rt_attention_run(&c, a) != RT_OK) {
            fprintf(stderr, "bench_attention: %s\n", err.msg);
            exit(1);
        }
        t[i] = now_s() - t0;
    }
    qsort(t, (size_t)reps, sizeof(double), cmp_double);
    double m = t[reps / 2];
    free(t);
    return m;
}

int main(int argc, char **argv) {
    int reps = BENCH_REPS;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
    if (!rt_attention_supported()) {
        printf("attention: no AVX-512 on this CPU, nothing to measure\n");
        return 0;
    }
    enum { T = 128, H = 4, D = 64, W = H * D };
    float *q = malloc(sizeof(float) * T * W), *k = malloc(sizeof(float) * T * W), *v = malloc(sizeof(float) * T * W);
    float *o = malloc(sizeof(float) * T * W), *mask = malloc(sizeof(float) * T * T);
    uint32_t s = 1;
    for (int i = 0; i < T * W; i++) {
        s = s * 1664525u + 1013904223u, q[i] = (float)(s >> 8) / 16777216.0f - 0.5f;
        s = s * 1664525u + 1013904223u, k[i] = (float)(s >> 8) / 16777216.0f - 0.5f;
        s = s * 1664525u + 1013904223u, v[i] = (float)(s >> 8) / 16777216.0f - 0.5f;
    }
    RtAttnRow rows[T];
    for (int i = 0; i < T; i++) { /* tinylm's exporter wrote -1e9 above the diagonal */
        for (int j = 0; j < T; j++) mask[i * T + j] = j <= i ? 0.0f : -1e9f;
        rt_attention_row_info(mask + i * T, 1, T, &rows[i]);
    }
    RtAttention a = {.B = 1, .H = H, .Tq = T, .Tk = T, .dh = D, .dv = D,
                     .q = q, .qs = {T * W, D, W, 1}, .k = k, .ks = {T * W, D, W, 1},
                     .v = v, .vs = {T * W, D, W, 1}, .o = o, .os = {T * W, D, W, 1},
                     .scale_op = RT_ATTN_SCALE_MUL, .scale = 0.125f,
                     .mask = mask, .ms = {0, 0, T, 1}, .rows = rows, .rs = {0, 0}};
    RtThreadPool *pool = rt_pool_new(2, NULL);
    for (int th = 1; th <= 2; th++) {
        RtAttention full = a;
        full.mask = NULL, full.rows = NULL;
        double tc = time_run(&a, th == 2 ? pool : NULL, reps), tf = time_run(&full, th == 2 ? pool : NULL, reps);
        printf("attention T=%d H=%d dh=%d causal, %d thread%s: %.1f us (no mask: %.1f us)\n", T, H, D, th,
               th > 1 ? "s" : "", tc * 1e6, tf * 1e6);
    }
    rt_pool_free(pool);
    free(q), free(k), free(v), free(o), free(mask);
    return 0;
}
