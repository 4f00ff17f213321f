/*
 * bench_linear_gelu.c — a Linear with its Gelu fused (activation "Gelu": the x86 float GEMM
 * applies the vector Gelu to each finished tile while it is in L1) against the two nodes it
 * replaces (Linear without activation, then the x86 Gelu kernel over the output), on
 * tinylm's fc1 shape: X [128, 256] * W [256, 1024] + B. The weights are packed once into the
 * node's state, as in a model run; median of BENCH_REPS timed calls after warm-up, at 1 and
 * 2 threads. One line each:
 *     linear+gelu 128x256x1024, 1 thread: fused 402.1 us, unfused 398.7 us (linear 329.0 +
 *     gelu 69.7), fused/unfused 1.009
 * Both give the same bits (checked here too).
 *
 * Usage: bench_linear_gelu [--reps N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/kernels/kernel.h"
#include "../runtime/rt_exec.h"
#include "../runtime/rt_threads.h"
#include "bench_util.h"

#define BENCH_REPS 101

enum { M = 128, K = 256, N = 1024 };

typedef struct {
    RtNode node;
    int slots_in[3], slots_out[1];
    RtAttr attr;
    void *state;                 /* owned: the node's state (W packed) */
} BenchNode;

static void node_make(BenchNode *b, int op, int n_in, const char *attr, const char *value) {
    memset(b, 0, sizeof *b);
    for (int i = 0; i < n_in; i++) b->slots_in[i] = i;
    b->slots_out[0] = n_in;
    b->attr = (RtAttr){.name = attr, .type = RT_ATTR_STRING, .s = value};
    b->node = (RtNode){op, "bench", rt_op_name(op), "", op == RT_OP_GELU ? 20 : 1, n_in, b->slots_in, 1,
                       b->slots_out, 1, &b->attr};
}

/* One call of node b's fast kernel into the preallocated *y (as the planned executor does). */
static void node_run(BenchNode *b, RtThreadPool *pool, RtTensor **in, RtTensor *y) {
    static RtError err;
    int64_t bytes = (int64_t)sizeof(float) * M * N;
    RtTensor *outp[1] = {y};
    RtKernelCtx c = {.alloc = rt_allocator_default(), .err = &err, .pool = pool, .node_state = &b->state,
                     .state_alloc = rt_allocator_default(), .const_inputs = 6u, .planned_out = outp,
                     .planned_bytes = &bytes, .n_planned = 1};
    if (rt_kernel_find_fast(b->node.op)(&c, &b->node, in, outp) != RT_OK) {
        fprintf(stderr, "bench_linear_gelu: %s\n", err.msg);
        exit(1);
    }
}

static float *floats(int64_t n, uint32_t seed) {
    float *v = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        v[i] = (float)(seed >> 8) / 8388608.0f - 1.0f; /* [-1, 1) */
    }
    return v;
}

int main(int argc, char **argv) {
    int reps = BENCH_REPS;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
    float *x = floats(M * K, 1), *w = floats(K * N, 2), *b = floats(N, 3);
    for (int64_t i = 0; i < K * N; i++) w[i] *= 0.125f; /* outputs of a few units: both Gelu tails */
    float *yf = malloc(sizeof(float) * M * N), *yl = malloc(sizeof(float) * M * N), *yg = malloc(sizeof(float) * M * N);
    RtTensor tx = {RT_F32, 2, {M, K}, x}, tw = {RT_F32, 2, {K, N}, w}, tb = {RT_F32, 1, {N}, b};
    RtTensor tf = {RT_F32, 2, {M, N}, yf}, tl = {RT_F32, 2, {M, N}, yl}, tg = {RT_F32, 2, {M, N}, yg};
    RtTensor *lin_in[3] = {&tx, &tw, &tb}, *gelu_in[1] = {&tl};
    BenchNode fused, plain, gelu;
    node_make(&fused, RT_OP_LINEAR, 3, "activation", "Gelu");
    node_make(&plain, RT_OP_LINEAR, 3, "activation", "");
    node_make(&gelu, RT_OP_GELU, 1, "approximate", "none");
    double *t = malloc(sizeof(double) * (size_t)reps * 4);
    for (int threads = 1; threads <= 2; threads++) {
        RtThreadPool *pool = threads > 1 ? rt_pool_new(threads, NULL) : NULL;
        for (int i = 0; i < 10; i++) {
            node_run(&fused, pool, lin_in, &tf);
            node_run(&plain, pool, lin_in, &tl);
            node_run(&gelu, pool, gelu_in, &tg);
        }
        /* alternated, so machine noise falls on both */
        for (int i = 0; i < reps; i++) {
            double t0 = now_s();
            node_run(&fused, pool, lin_in, &tf);
            double t1 = now_s();
            node_run(&plain, pool, lin_in, &tl);
            double t2 = now_s();
            node_run(&gelu, pool, gelu_in, &tg);
            double t3 = now_s();
            t[i] = t1 - t0, t[reps + i] = t3 - t1, t[2 * reps + i] = t2 - t1, t[3 * reps + i] = t3 - t2;
        }
        double med[4];
        for (int k = 0; k < 4; k++) {
            qsort(t + k * reps, (size_t)reps, sizeof(double), cmp_double);
            med[k] = t[k * reps + reps / 2] * 1e6;
        }
        int same = memcmp(yf, yg, sizeof(float) * M * N) == 0;
        printf("linear+gelu %dx%dx%d, %d thread%s: fused %.1f us, unfused %.1f us (linear %.1f + gelu %.1f), "
               "fused/unfused %.3f%s\n",
               M, K, N, threads, threads > 1 ? "s" : "", med[0], med[1], med[2], med[3], med[0] / med[1],
               same ? "" : "  DIFFERENT BITS");
        rt_pool_free(pool);
        if (!same) return 1;
    }
    rt_node_state_free(&fused.state, 1, rt_allocator_default());
    rt_node_state_free(&plain.state, 1, rt_allocator_default());
    free(t), free(x), free(w), free(b), free(yf), free(yl), free(yg);
    return 0;
}
