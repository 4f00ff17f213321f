/*
 * bench_attention.c — fused attention (runtime/rt_fuse.c, x86/attention_x86.c) against the
 * same graph run node by node by the optimized kernels, both planned and measured in the same
 * run, on tinylm's block: q, k, v [1, 128, 256] (4 heads of 64) -> Reshape / Transpose ->
 * MatMul(q, k^T) -> Mul 0.125 -> Add(-1e9 causal mask) -> Softmax -> MatMul(P, v) ->
 * Transpose -> Reshape, as its exporter wrote it. Median of BENCH_REPS timed runs after
 * warm-up, inputs in the caches as in a model run, at 1 and 2 threads. One line each:
 *     attention T=128 H=4 dh=64 causal, 1 thread: fused 71.0 us, unfused 140.0 us, ratio 0.507
 * (ratio = fused / unfused; lower is better). A last line times the kernel alone without
 * the mask (every column computed), which shows what the causal cut saves.
 *
 * Usage: bench_attention [--reps N]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/kernels/x86/attention_x86.h"
#include "../runtime/rt_plan_fast.h"
#include "../runtime/rt_threads.h"
#include "bench_util.h"

#define BENCH_REPS 201

enum { T = 128, H = 4, D = 64, W = H * D };

/* The block's graph: values 0..2 the inputs q, k, v, then constants, then node outputs. */
typedef struct {
    RtGraph g;
    RtNode nodes[16];
    int io[16][3];
    RtAttr attrs[16];
    int64_t perm[16][4];
    const RtTensor *consts[40];
    RtTensor shp4, shp3, scale, mask;
    int n_values, n_nodes, inputs[3], output;
} Block;

static int node(Block *b, int op, int a, int c, const int64_t *perm, int axis) {
    int k = b->n_nodes++, v = b->n_values++, na = 0;
    b->io[k][0] = a, b->io[k][1] = c;
    int n_in = c >= 0 ? 2 : 1;
    b->io[k][n_in] = v;
    if (perm) {
        memcpy(b->perm[k], perm, sizeof b->perm[k]);
        b->attrs[k] = (RtAttr){.name = "perm", .type = RT_ATTR_INTS, .n = 4, .ints = b->perm[k]};
        na = 1;
    } else if (op == RT_OP_SOFTMAX) {
        b->attrs[k] = (RtAttr){.name = "axis", .type = RT_ATTR_INT, .i = axis};
        na = 1;
    }
    b->nodes[k] = (RtNode){op, "n", rt_op_name(op), "", 17, n_in, b->io[k], 1, b->io[k] + n_in, na, &b->attrs[k]};
    return v;
}

static RtTensor tensor(RtDtype dt, int rank, const int64_t *dims, void *data) {
    RtTensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.rank = rank;
    memcpy(t.dims, dims, sizeof(int64_t) * (size_t)rank);
    t.data = data;
    return t;
}

static void block_build(Block *b, float *mask) {
    static int64_t s4[4] = {1, T, H, D}, s3[3] = {1, T, W}, d1[1] = {4}, d3[1] = {3}, md[2] = {T, T};
    static float scale = 0.125f;
    static const int64_t p_qv[4] = {0, 2, 1, 3}, p_k[4] = {0, 2, 3, 1};
    memset(b, 0, sizeof *b);
    b->n_values = 3;
    b->shp4 = tensor(RT_I64, 1, d1, s4), b->shp3 = tensor(RT_I64, 1, d3, s3);
    b->scale = tensor(RT_F32, 0, NULL, &scale), b->mask = tensor(RT_F32, 2, md, mask);
    int c4 = b->n_values++, c3 = b->n_values++, cs = b->n_values++, cm = b->n_values++;
    b->consts[c4] = &b->shp4, b->consts[c3] = &b->shp3, b->consts[cs] = &b->scale, b->consts[cm] = &b->mask;
    int q = node(b, RT_OP_TRANSPOSE, node(b, RT_OP_RESHAPE, 0, c4, NULL, 0), -1, p_qv, 0);
    int k = node(b, RT_OP_TRANSPOSE, node(b, RT_OP_RESHAPE, 1, c4, NULL, 0), -1, p_k, 0);
    int v = node(b, RT_OP_TRANSPOSE, node(b, RT_OP_RESHAPE, 2, c4, NULL, 0), -1, p_qv, 0);
    int s = node(b, RT_OP_MATMUL, q, k, NULL, 0);
    s = node(b, RT_OP_ADD, node(b, RT_OP_MUL, s, cs, NULL, 0), cm, NULL, 0);
    int o = node(b, RT_OP_MATMUL, node(b, RT_OP_SOFTMAX, s, -1, NULL, -1), v, NULL, 0);
    b->output = node(b, RT_OP_RESHAPE, node(b, RT_OP_TRANSPOSE, o, -1, p_qv, 0), c3, NULL, 0);
    for (int i = 0; i < 3; i++) b->inputs[i] = i;
    b->g = (RtGraph){.n_values = b->n_values, .consts = b->consts, .n_nodes = b->n_nodes, .nodes = b->nodes,
                     .n_inputs = 3, .inputs = b->inputs, .n_outputs = 1, .outputs = &b->output};
}

/* One timed call: a planned run of a graph, or the kernel alone. RT_OK or an error in *err. */
typedef struct {
    const RtGraph *g;       /* a planned run (g != NULL) ... */
    const RtPlan *p;
    RtRunOptions o;
    void *arena;
    RtTensor *in, out;
    RtAttention *a;         /* ... or the kernel on its own */
    RtKernelCtx c;
    RtError err;
} Timed;

static int timed_call(Timed *t) {
    return t->g ? rt_plan_run(t->g, t->p, t->arena, t->in, &t->out, &t->o, &t->err) : rt_attention_run(&t->c, t->a);
}

/* Median seconds of reps calls after 20 untimed ones; exits on a failed call. */
static double median_s(Timed *t, int reps) {
    double *s = malloc(sizeof(double) * (size_t)reps);
    for (int i = -20; i < reps; i++) {
        double t0 = now_s();
        if (timed_call(t) != RT_OK) {
            fprintf(stderr, "bench_attention: %s\n", t->err.msg);
            exit(1);
        }
        if (i >= 0) s[i] = now_s() - t0;
    }
    qsort(s, (size_t)reps, sizeof(double), cmp_double);
    double m = s[reps / 2];
    free(s);
    return m;
}

/* Median seconds of one planned run of g (f: with the plan's fused chains, NULL: node by node). */
static double time_graph(const RtGraph *g, const RtPlan *p, const RtPlanFast *f, void *arena, RtTensor *in,
                         RtThreadPool *pool, int reps) {
    Timed t = {.g = g, .p = p, .o = {.pool = pool, .fast = f}, .arena = arena, .in = in};
    return median_s(&t, reps);
}

static double time_kernel(RtAttention *a, RtThreadPool *pool, int reps) {
    Timed t = {.a = a};
    t.c = (RtKernelCtx){.alloc = rt_allocator_default(), .err = &t.err, .pool = pool};
    return median_s(&t, reps);
}

int main(int argc, char **argv) {
    int reps = BENCH_REPS;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_attention [--reps N]\n");
            return 2;
        }
    }
    if (reps < 1) reps = 1;
    if (!rt_attention_supported()) {
        printf("attention: no AVX-512 on this CPU, nothing fused to measure\n");
        return 0;
    }
    float *qkv[3], *o = aligned_alloc(64, sizeof(float) * T * W), *mask = malloc(sizeof(float) * T * T);
    uint32_t s = 1;
    for (int m = 0; m < 3; m++) {
        qkv[m] = aligned_alloc(64, sizeof(float) * T * W);
        for (int i = 0; i < T * W; i++) s = s * 1664525u + 1013904223u, qkv[m][i] = (float)(s >> 8) / 16777216.0f - 0.5f;
    }
    for (int i = 0; i < T; i++) /* tinylm's exporter wrote -1e9 above the diagonal */
        for (int j = 0; j < T; j++) mask[i * T + j] = j <= i ? 0.0f : -1e9f;
    Block b;
    block_build(&b, mask);
    int64_t xd[3] = {1, T, W};
    RtTensor in[3] = {tensor(RT_F32, 3, xd, qkv[0]), tensor(RT_F32, 3, xd, qkv[1]), tensor(RT_F32, 3, xd, qkv[2])};
    RtError err = {{0}};
    RtPlan p;
    RtPlanFast f;
    if (rt_plan_build(&b.g, in, &p, &err) != RT_OK || rt_plan_fast_build(&b.g, &p, &f, &err) != RT_OK) {
        fprintf(stderr, "bench_attention: %s\n", err.msg);
        return 1;
    }
    int fused = 0;
    for (int k = 0; k < b.g.n_nodes; k++) fused += f.fuse_head[k] >= 0;
    if (!fused) {
        fprintf(stderr, "bench_attention: the block was not fused\n");
        return 1;
    }
    void *arena = aligned_alloc(64, (size_t)p.arena_bytes);
    RtThreadPool *pool = rt_pool_new(2, NULL);
    for (int th = 1; th <= 2; th++) {
        RtThreadPool *tp = th == 2 ? pool : NULL;
        double tf = time_graph(&b.g, &p, &f, arena, in, tp, reps), tu = time_graph(&b.g, &p, NULL, arena, in, tp, reps);
        printf("attention T=%d H=%d dh=%d causal, %d thread%s: fused %.1f us, unfused %.1f us, ratio %.3f\n", T, H, D,
               th, th > 1 ? "s" : "", tf * 1e6, tu * 1e6, tf / tu);
    }
    RtAttention full = {.B = 1, .H = H, .Tq = T, .Tk = T, .dh = D, .dv = D, .q = qkv[0], .qs = {T * W, D, W, 1},
                        .k = qkv[1], .ks = {T * W, D, W, 1}, .v = qkv[2], .vs = {T * W, D, W, 1}, .o = o,
                        .os = {T * W, D, W, 1}, .scale_op = RT_ATTN_SCALE_MUL, .scale = 0.125f};
    printf("attention kernel without the mask (every column), 1 thread: %.1f us\n", time_kernel(&full, NULL, reps) * 1e6);
    rt_pool_free(pool);
    rt_plan_fast_free(&f);
    rt_plan_free(&p);
    free(arena), free(o), free(mask);
    for (int m = 0; m < 3; m++) free(qkv[m]);
    return 0;
}
