/*
 * bench_nhwc.c — KWS's conv layers with their tensors NCHW (as a plan without layouts runs
 * them) and channels-last (as rt_layout.c lets them run: RtKernelCtx.nhwc_in / nhwc_out),
 * on the optimized x86 FusedConv kernel, batch 1, one thread, measured in the same run.
 *
 * Each layer runs as FusedConv with ReLU, the node's state kept across calls (weights packed
 * once, as the runtime does). The two layouts alternate, BENCH_REPS rounds of enough calls
 * for about a millisecond each; the median per call of each is printed with the ratio
 * nhwc / nchw. The inputs and weights stay in cache from call to call, as they mostly do
 * in the model (its whole working set is ~200 KiB).
 *
 * Usage: bench_nhwc [--threads T] [--only SUBSTRING]
 * Prints one line per layer:
 *   <layer> <shape> <in>-><out>  nchw <us> us  nhwc <us> us  ratio <nhwc/nchw>
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/kernels/kernel.h"
#include "../runtime/rt_exec.h"
#include "../runtime/rt_threads.h"
#include "bench_util.h"

#define BENCH_REPS 7
#define BENCH_ROUND_S 1e-3

typedef struct {
    const char *name;
    int64_t C, H, W, M, group, kh, kw, sh, sw;
    int64_t pads[4];
    int nhwc_in;          /* in the layout run: the input NHWC (else only the output) */
} Layer;

/* KWS (kws_dscnn): the first conv, a depthwise and a pointwise layer (each x4 in the model). */
static const Layer layers[] = {
    {"kws f.0 10x4 s2", 1, 49, 10, 64, 1, 10, 4, 2, 2, {5, 1, 5, 1}, 0},
    {"kws dw 3x3", 64, 25, 5, 64, 64, 3, 3, 1, 1, {1, 1, 1, 1}, 1},
    {"kws pw 1x1", 64, 25, 5, 64, 1, 1, 1, 1, 1, {0, 0, 0, 0}, 1},
};

typedef struct {
    RtTensor x, w, b, y;
    RtAttr attrs[5];
    int64_t ks[2], st[2];
    RtNode node;
    int io[4];
    void *state;
    unsigned char lin, lout;
} Run;

/* 64-byte aligned, as the runtime's arena places values. */
static float *floats_alloc(int64_t n) { return aligned_alloc(64, (sizeof(float) * (size_t)n + 63) / 64 * 64); }

static float *rand_floats(int64_t n, uint32_t seed) {
    float *v = floats_alloc(n);
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        v[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
    return v;
}

static void run_make(Run *r, const Layer *l, int nhwc) {
    memset(r, 0, sizeof *r);
    int64_t xd[] = {1, l->C, l->H, l->W}, wd[] = {l->M, l->C / l->group, l->kh, l->kw}, bd[] = {l->M};
    int64_t OH = (l->H + l->pads[0] + l->pads[2] - l->kh) / l->sh + 1, OW = (l->W + l->pads[1] + l->pads[3] - l->kw) / l->sw + 1;
    int64_t yd[] = {1, l->M, OH, OW};
    r->x = (RtTensor){RT_F32, 4, {xd[0], xd[1], xd[2], xd[3]}, rand_floats(l->C * l->H * l->W, 1)};
    r->w = (RtTensor){RT_F32, 4, {wd[0], wd[1], wd[2], wd[3]}, rand_floats(wd[0] * wd[1] * wd[2] * wd[3], 2)};
    r->b = (RtTensor){RT_F32, 1, {bd[0]}, rand_floats(l->M, 3)};
    r->y = (RtTensor){RT_F32, 4, {yd[0], yd[1], yd[2], yd[3]}, floats_alloc(l->M * OH * OW)};
    r->ks[0] = l->kh, r->ks[1] = l->kw, r->st[0] = l->sh, r->st[1] = l->sw;
    r->attrs[0] = (RtAttr){.name = "kernel_shape", .type = RT_ATTR_INTS, .n = 2, .ints = r->ks};
    r->attrs[1] = (RtAttr){.name = "strides", .type = RT_ATTR_INTS, .n = 2, .ints = r->st};
    r->attrs[2] = (RtAttr){.name = "pads", .type = RT_ATTR_INTS, .n = 4, .ints = l->pads};
    r->attrs[3] = (RtAttr){.name = "group", .type = RT_ATTR_INT, .i = l->group};
    r->attrs[4] = (RtAttr){.name = "activation", .type = RT_ATTR_STRING, .s = "Relu"};
    r->io[0] = 0, r->io[1] = 1, r->io[2] = 2, r->io[3] = 3;
    r->node = (RtNode){.op = RT_OP_FUSED_CONV, .name = l->name, .op_type = "FusedConv", .domain = "wafer", .opset = 1,
                       .n_in = 3, .in = r->io, .n_out = 1, .out = r->io + 3, .n_attr = 5, .attrs = r->attrs};
    r->lin = (unsigned char)(nhwc && l->nhwc_in);
    r->lout = (unsigned char)nhwc;
}

/* One call of the optimized kernel as the planned executor makes it. */
static void run_call(Run *r, RtThreadPool *pool) {
    RtError err = {{0}};
    RtTensor *in[] = {&r->x, &r->w, &r->b}, *out[] = {&r->y};
    int64_t cap = rt_nbytes(&r->y);
    RtKernelCtx c = {.alloc = rt_allocator_default(), .err = &err, .pool = pool, .planned_out = out,
                     .planned_bytes = &cap, .n_planned = 1, .node_state = &r->state,
                     .state_alloc = rt_allocator_default(), .const_inputs = 6,
                     .nhwc_in = r->lin ? &r->lin : NULL, .nhwc_out = r->lout ? &r->lout : NULL};
    if (rt_kernel_find_fast(RT_OP_FUSED_CONV)(&c, &r->node, in, out) != RT_OK) {
        fprintf(stderr, "bench_nhwc: %s: %s\n", r->node.name, err.msg);
        exit(2);
    }
}

static void run_free(Run *r) {
    free(r->x.data), free(r->w.data), free(r->b.data), free(r->y.data);
    rt_allocator_default()->free(NULL, r->state);
}

/* Seconds per call of r, over about BENCH_ROUND_S. */
static double run_round(Run *r, RtThreadPool *pool, int calls) {
    double t0 = now_s();
    for (int i = 0; i < calls; i++) run_call(r, pool);
    return (now_s() - t0) / calls;
}

int main(int argc, char **argv) {
    int threads = 1;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            threads = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
            only = argv[++i];
        } else {
            fprintf(stderr, "usage: bench_nhwc [--threads T] [--only SUBSTRING]\n");
            return strcmp(argv[i], "--help") ? 2 : 0;
        }
    }
    RtThreadPool *pool = threads > 1 ? rt_pool_new(threads, NULL) : NULL;
    for (size_t li = 0; li < sizeof layers / sizeof layers[0]; li++) {
        const Layer *l = &layers[li];
        if (only && !strstr(l->name, only)) continue;
        Run r[2];
        double t[2][BENCH_REPS];
        int calls = 1;
        for (int k = 0; k < 2; k++) {
            run_make(&r[k], l, k);
            run_call(&r[k], pool); /* state made, caches warm */
        }
        while (run_round(&r[0], pool, calls) * calls < BENCH_ROUND_S && calls < 1 << 20) calls *= 2;
        for (int rep = 0; rep < BENCH_REPS; rep++)
            for (int k = 0; k < 2; k++) t[k][rep] = run_round(&r[k], pool, calls);
        for (int k = 0; k < 2; k++) qsort(t[k], BENCH_REPS, sizeof(double), cmp_double);
        double a = t[0][BENCH_REPS / 2] * 1e6, b = t[1][BENCH_REPS / 2] * 1e6;
        printf("%-18s %lldx%lldx%lld -> %lld  %s  nchw %7.2f us  nhwc %7.2f us  ratio %.2f\n", l->name,
               (long long)l->C, (long long)l->H, (long long)l->W, (long long)l->M,
               l->nhwc_in ? "nhwc->nhwc" : "nchw->nhwc", a, b, b / a);
        for (int k = 0; k < 2; k++) run_free(&r[k]);
    }
    rt_pool_free(pool);
    return 0;
}
