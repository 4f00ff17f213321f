/*
 * bench_conv.c — the optimized float32 Conv kernels (runtime/kernels/x86/conv_x86.c) against
 * the reference Conv (runtime/kernels/ref/conv.c: im2col + OpenBLAS, direct depthwise loop)
 * on the layer shapes of the fixture models, batch 1, measured in the same run.
 *
 * Each layer runs as FusedConv with ReLU6 (Clip 0..6, what MobileNet's Conv + Clip pairs
 * fuse into; the reference applies it as a second pass) or, with --plain, as Conv. The
 * optimized kernel runs twice: as the plain executor runs it ("x86": weights packed per
 * call) and as the runtime does ("state": the node's state kept across calls, so a GEMM
 * conv's weights are packed once). Timing: the three alternate, BENCH_REPS rounds of
 * enough calls for about a millisecond each; the median per call of each is printed with
 * the ratio state / reference and the state run's GFLOP/s (2 flops per multiply-add). The
 * weights stay in cache from call to call, unlike in a model.
 *
 * Usage: bench_conv [--threads T] [--plain] [--only SUBSTRING]
 * Prints one line per layer:
 *   <model> <layer> <shape>  x86 <us> us  state <us> us  ref <us> us  ratio <state/ref>  <GFLOP/s>
 * then a line per model with the sums over its layers.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../runtime/kernels/kernel.h"
#include "../runtime/rt_exec.h"
#include "../runtime/rt_threads.h"
#include "bench_util.h"

/* OpenBLAS's thread control (the reference's GEMMs), from its cblas.h; set to T as the CLI does. */
void openblas_set_num_threads(int num_threads);

#define BENCH_REPS 7
#define BENCH_ROUND_S 1e-3

typedef struct {
    const char *model, *name;
    int64_t C, H, W, M, group, k0, k1, stride, pad; /* square stride, symmetric pads */
    int count;                                       /* layers of this shape in the model */
    int dil;                                         /* square dilation; 0 = 1 */
} Layer;

/* dil, the last field, left out where it is 1 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
static const Layer layers[] = {
    {"mobilenet_v2", "stem", 3, 224, 224, 32, 1, 3, 3, 2, 1, 1},
    {"mobilenet_v2", "dw112", 32, 112, 112, 32, 32, 3, 3, 1, 1, 1},
    {"mobilenet_v2", "pw112", 32, 112, 112, 16, 1, 1, 1, 1, 0, 1},
    {"mobilenet_v2", "ex112", 16, 112, 112, 96, 1, 1, 1, 1, 0, 1},
    {"mobilenet_v2", "dw112s2", 96, 112, 112, 96, 96, 3, 3, 2, 1, 1},
    {"mobilenet_v2", "pw56", 96, 56, 56, 24, 1, 1, 1, 1, 0, 1},
    {"mobilenet_v2", "ex56", 24, 56, 56, 144, 1, 1, 1, 1, 0, 2},
    {"mobilenet_v2", "dw56", 144, 56, 56, 144, 144, 3, 3, 1, 1, 1},
    {"mobilenet_v2", "pw56b", 144, 56, 56, 24, 1, 1, 1, 1, 0, 1},
    {"mobilenet_v2", "dw56s2", 144, 56, 56, 144, 144, 3, 3, 2, 1, 1},
    {"mobilenet_v2", "pw28", 144, 28, 28, 32, 1, 1, 1, 1, 0, 1},
    {"mobilenet_v2", "ex28", 32, 28, 28, 192, 1, 1, 1, 1, 0, 3},
    {"mobilenet_v2", "dw28", 192, 28, 28, 192, 192, 3, 3, 1, 1, 2},
    {"mobilenet_v2", "pw28b", 192, 28, 28, 32, 1, 1, 1, 1, 0, 2},
    {"mobilenet_v2", "dw28s2", 192, 28, 28, 192, 192, 3, 3, 2, 1, 1},
    {"mobilenet_v2", "pw14", 192, 14, 14, 64, 1, 1, 1, 1, 0, 1},
    {"mobilenet_v2", "ex14", 64, 14, 14, 384, 1, 1, 1, 1, 0, 4},
    {"mobilenet_v2", "dw14", 384, 14, 14, 384, 384, 3, 3, 1, 1, 4},
    {"mobilenet_v2", "pw14b", 384, 14, 14, 64, 1, 1, 1, 1, 0, 3},
    {"mobilenet_v2", "pw14c", 384, 14, 14, 96, 1, 1, 1, 1, 0, 1},
    {"mobilenet_v2", "ex14b", 96, 14, 14, 576, 1, 1, 1, 1, 0, 3},
    {"mobilenet_v2", "dw14b", 576, 14, 14, 576, 576, 3, 3, 1, 1, 2},
    {"mobilenet_v2", "pw14d", 576, 14, 14, 96, 1, 1, 1, 1, 0, 2},
    {"mobilenet_v2", "dw14s2", 576, 14, 14, 576, 576, 3, 3, 2, 1, 1},
    {"mobilenet_v2", "pw7", 576, 7, 7, 160, 1, 1, 1, 1, 0, 1},
    {"mobilenet_v2", "ex7", 160, 7, 7, 960, 1, 1, 1, 1, 0, 3},
    {"mobilenet_v2", "dw7", 960, 7, 7, 960, 960, 3, 3, 1, 1, 3},
    {"mobilenet_v2", "pw7b", 960, 7, 7, 160, 1, 1, 1, 1, 0, 2},
    {"mobilenet_v2", "pw7c", 960, 7, 7, 320, 1, 1, 1, 1, 0, 1},
    {"mobilenet_v2", "head", 320, 7, 7, 1280, 1, 1, 1, 1, 0, 1},
    {"kws_dscnn", "first10x4", 1, 49, 10, 64, 1, 10, 4, 2, -1, 1},
    {"kws_dscnn", "dw", 64, 25, 5, 64, 64, 3, 3, 1, 1, 4},
    {"kws_dscnn", "pw", 64, 25, 5, 64, 1, 1, 1, 1, 0, 4},
    {"digits_cnn", "conv1", 1, 8, 8, 32, 1, 3, 3, 1, 1, 1},
    {"digits_cnn", "conv2", 32, 8, 8, 64, 1, 3, 3, 1, 1, 1},
    {"digits_cnn", "conv3", 64, 4, 4, 64, 1, 3, 3, 1, 1, 1},
    /* M-LSD tiny 320x320's decoder (jp.keijiro.mlsd): its 3x3 convs, ~70% of the model's time */
    {"mlsd_tiny", "up40", 128, 40, 40, 128, 1, 3, 3, 1, 1, 1},
    {"mlsd_tiny", "up40b", 128, 40, 40, 64, 1, 3, 3, 1, 1, 1},
    {"mlsd_tiny", "up80", 64, 80, 80, 64, 1, 3, 3, 1, 1, 3},
    {"mlsd_tiny", "up80d5", 64, 80, 80, 64, 1, 3, 3, 1, 5, 1, 5},
};
#pragma GCC diagnostic pop

typedef struct {
    RtKernelCtx c;
    RtNode n;
    RtTensor *in[3];
    RtTensor out;
} Run;

/* Seconds per call of fn over `calls` calls. */
static double time_calls(Run *r, RtKernelFn fn, int calls) {
    RtTensor *outp[1] = {&r->out};
    double t0 = now_s();
    for (int i = 0; i < calls; i++)
        if (fn(&r->c, &r->n, r->in, outp) != RT_OK) {
            fprintf(stderr, "bench_conv: %s\n", r->c.err->msg);
            exit(1);
        }
    return (now_s() - t0) / calls;
}

int main(int argc, char **argv) {
    int threads = 1, plain = 0;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--plain")) plain = 1;
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else {
            fprintf(stderr, "usage: bench_conv [--threads T] [--plain] [--only SUBSTRING]\n");
            return 2;
        }
    }
    openblas_set_num_threads(threads);
    RtThreadPool *pool = threads > 1 ? rt_pool_new(threads, NULL) : NULL;
    RtError err = {{0}};
    const int op = plain ? RT_OP_CONV : RT_OP_FUSED_CONV;
    printf("bench_conv: %s, batch 1, %d thread%s, median of %d rounds\n", plain ? "Conv" : "FusedConv Clip(0, 6)",
           threads, threads > 1 ? "s" : "", BENCH_REPS);
    const char *model = NULL;
    double sum_fast = 0, sum_state = 0, sum_ref = 0;
    size_t n_layers = sizeof layers / sizeof layers[0];
    for (size_t li = 0; li <= n_layers; li++) {
        const Layer *L = li < n_layers ? &layers[li] : NULL;
        if (model && (!L || strcmp(L->model, model))) {
            printf("%-13s total (x count)                      x86 %8.1f us  state %8.1f us  ref %8.1f us  ratio %.3f\n",
                   model, sum_fast * 1e6, sum_state * 1e6, sum_ref * 1e6, sum_state / sum_ref);
            sum_fast = sum_state = sum_ref = 0;
        }
        if (!L) break;
        model = L->model;
        if (only && !strstr(L->name, only) && !strstr(L->model, only)) continue;
        int64_t xd[] = {1, L->C, L->H, L->W}, wd[] = {L->M, L->C / L->group, L->k0, L->k1}, bd[] = {L->M};
        int64_t nx = L->C * L->H * L->W, nw = wd[0] * wd[1] * wd[2] * wd[3];
        float *x = malloc(sizeof(float) * (size_t)nx), *w = malloc(sizeof(float) * (size_t)nw);
        float *b = malloc(sizeof(float) * (size_t)L->M);
        for (int64_t i = 0; i < nx; i++) x[i] = (float)((i * 7919) % 1000) / 500.0f - 1.0f;
        for (int64_t i = 0; i < nw; i++) w[i] = (float)((i * 104729) % 1000) / 5000.0f - 0.1f;
        for (int64_t i = 0; i < L->M; i++) b[i] = 0.01f * (float)(i % 7);
        RtTensor tx = {.dtype = RT_F32, .rank = 4, .data = x}, tw = {.dtype = RT_F32, .rank = 4, .data = w};
        RtTensor tb = {.dtype = RT_F32, .rank = 1, .data = b};
        memcpy(tx.dims, xd, sizeof xd), memcpy(tw.dims, wd, sizeof wd), memcpy(tb.dims, bd, sizeof bd);
        int64_t strides[] = {L->stride, L->stride}, pads[] = {L->pad, L->pad, L->pad, L->pad};
        int64_t dils[] = {L->dil ? L->dil : 1, L->dil ? L->dil : 1};
        if (L->pad < 0) pads[0] = 4, pads[1] = 1, pads[2] = 5, pads[3] = 2; /* KWS's 10x4: (9, 3) total */
        RtAttr attrs[] = {
            {.name = "strides", .type = RT_ATTR_INTS, .n = 2, .ints = strides},
            {.name = "pads", .type = RT_ATTR_INTS, .n = 4, .ints = pads},
            {.name = "group", .type = RT_ATTR_INT, .i = L->group},
            {.name = "dilations", .type = RT_ATTR_INTS, .n = 2, .ints = dils},
            {.name = "activation", .type = RT_ATTR_STRING, .s = "Clip"},
            {.name = "alpha", .type = RT_ATTR_FLOAT, .f = 0.0f},
            {.name = "beta", .type = RT_ATTR_FLOAT, .f = 6.0f},
        };
        int slots_in[] = {0, 1, 2}, slots_out[] = {3};
        Run r = {{.alloc = rt_allocator_default(), .err = &err, .pool = pool},
                 {op, L->name, rt_op_name(op), "", 17, 3, slots_in, 1, slots_out, plain ? 4 : 7, attrs},
                 {&tx, &tw, &tb},
                 {0}};
        /* One planned output buffer, as the executor gives: kernels write into it. */
        RtTensor *outp[1] = {&r.out};
        RtKernelFn ref = rt_kernel_find(op), fast = rt_kernel_find_fast(op);
        if (ref(&r.c, &r.n, r.in, outp) != RT_OK) {
            fprintf(stderr, "bench_conv: %s: %s\n", L->name, err.msg);
            return 1;
        }
        int64_t planned = rt_nbytes(&r.out);
        RtTensor *planned_out[1] = {&r.out};
        r.c.planned_out = planned_out;
        r.c.planned_bytes = &planned;
        r.c.n_planned = 1;
        /* the runtime's way: the node's state kept across calls (weights packed once) */
        Run rs = r; /* rs.out shares r.out's planned buffer */
        RtTensor *planned_rs[1] = {&rs.out};
        rs.c.planned_out = planned_rs;
        void *state = NULL;
        rs.c.node_state = &state;
        rs.c.state_alloc = rt_allocator_default();
        rs.c.const_inputs = 6u; /* W and B */
        double once = time_calls(&r, fast, 1) + time_calls(&r, ref, 1) + time_calls(&rs, fast, 1);
        int calls = (int)(BENCH_ROUND_S / (once > 1e-7 ? once : 1e-7)) + 1;
        double tf[BENCH_REPS], tr[BENCH_REPS], ts[BENCH_REPS];
        for (int rep = 0; rep < BENCH_REPS; rep++) {
            tf[rep] = time_calls(&r, fast, calls);
            ts[rep] = time_calls(&rs, fast, calls);
            tr[rep] = time_calls(&r, ref, calls);
        }
        rt_node_state_free(&state, 1, rt_allocator_default());
        qsort(tf, BENCH_REPS, sizeof tf[0], cmp_double);
        qsort(ts, BENCH_REPS, sizeof ts[0], cmp_double);
        qsort(tr, BENCH_REPS, sizeof tr[0], cmp_double);
        double f = tf[BENCH_REPS / 2], st = ts[BENCH_REPS / 2], rf = tr[BENCH_REPS / 2];
        double flops = 2.0 * (double)(L->M * (L->C / L->group) * L->k0 * L->k1) * (double)(r.out.dims[2] * r.out.dims[3]);
        char shape[64];
        snprintf(shape, sizeof shape, "%lldx%lldx%lld->%lld k%lldx%lld s%lld g%lld d%d", (long long)L->C,
                 (long long)L->H, (long long)L->W, (long long)L->M, (long long)L->k0, (long long)L->k1,
                 (long long)L->stride, (long long)L->group, L->dil ? L->dil : 1);
        printf("%-13s %-10s %-32s x86 %8.1f us  state %8.1f us  ref %8.1f us  ratio %.3f  %6.1f GFLOP/s\n", L->model,
               L->name, shape, f * 1e6, st * 1e6, rf * 1e6, st / rf, flops / st * 1e-9);
        sum_fast += f * L->count;
        sum_state += st * L->count;
        sum_ref += rf * L->count;
        free(r.out.data);
        free(x), free(w), free(b);
    }
    rt_pool_free(pool);
    return 0;
}
