/*
 * bench_tinylm_fusions.c — what this session's graph-level work saves on float tinylm at one
 * thread, measured inside one process so that the three variants share the machine's noise:
 *   before     pass_fuse's passes without sink_views (q's Reshape and Transpose run as
 *              copies: the plan had put k's projection over q's), no Add -> LayerNorm chains
 *   +sink      with sink_views (every view step in its attention chain)
 *   +sink+ln   and the Add -> LayerNormalization chains (rt_fuse_add_ln.c): as `wafer` runs it
 * Each variant is compiled for tokens [1, 128] (simplify, fuse, lower, plan, the plan's
 * run-time decisions), then the variants are timed round-robin: per round each runs RUNS
 * times after a warm-up and its median is kept; the line shows each variant's best and
 * median round (the best is the least disturbed by other tenants of the machine).
 *
 * Usage: bench_tinylm_fusions [--rounds N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../frontend/onnx.h"
#include "../passes/passes.h"
#include "../runtime/rt_exec.h"
#include "../runtime/rt_plan_fast.h"
#include "bench_util.h"

#define MODEL "../shared/fixtures/tinylm/tinylm.onnx"
#define RUNS 21
#define MAX_ROUNDS 31

typedef struct {
    const char *name;
    int sink, add_ln;
    IrGraph *g;
    IrLowered *low;
    RtPlan p;
    RtPlanFast f;
    void *arena;
    void **state;           /* [n_nodes] node states (packed weights) */
    double med[MAX_ROUNDS]; /* per round, ms */
} Variant;

static int fail(const char *what, const RtError *e) {
    fprintf(stderr, "bench_tinylm_fusions: %s: %s\n", what, e->msg);
    return 1;
}

/* pass_fuse's steps (passes/fuse.c) with or without sink_views. */
static int fuse(IrGraph *g, int sink, RtError *e) {
    int (*steps[])(IrGraph *, RtError *) = {pass_fold_batchnorm, pass_fuse_linear,    pass_fuse_layernorm,
                                           pass_fuse_gelu,      pass_fuse_hardswish, pass_fuse_activation,
                                           pass_dead_nodes};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (steps[i](g, e) != RT_OK) return RT_ERR;
    if (sink && pass_sink_views(g, e) != RT_OK) return RT_ERR;
    return ir_infer_shapes(g, e);
}

static int setup(Variant *v, const RtTensor *in, RtError *e) {
    int64_t dims[2] = {1, 128};
    v->g = onnx_load_file(MODEL, NULL, e);
    if (!v->g || ir_bind_input(v->g, 0, 2, dims, e) != RT_OK || pass_simplify(v->g, e) != RT_OK ||
        fuse(v->g, v->sink, e) != RT_OK || !(v->low = ir_lower(v->g, e)))
        return RT_ERR;
    const RtGraph *rg = ir_lowered_graph(v->low);
    if (rt_plan_build(rg, in, &v->p, e) != RT_OK || rt_plan_fast_build(rg, &v->p, &v->f, e) != RT_OK) return RT_ERR;
    if (!v->add_ln) /* those chains' nodes run alone again */
        for (int k = 0; k < rg->n_nodes; k++)
            if (v->f.fuse_head[k] >= 0 && rg->nodes[v->f.fuse_head[k]].op == RT_OP_LAYER_NORMALIZATION)
                v->f.fuse_head[k] = -1;
    v->arena = aligned_alloc(64, (size_t)((v->p.arena_bytes + 63) / 64 * 64 + 64));
    v->state = calloc((size_t)rg->n_nodes, sizeof *v->state);
    return v->arena && v->state ? RT_OK : RT_ERR;
}

static double run_once(Variant *v, const RtTensor *in, RtError *e, int *ok) {
    RtRunOptions o = {.fast = &v->f, .node_state = v->state};
    RtTensor out;
    double t0 = now_s();
    *ok = rt_plan_run(ir_lowered_graph(v->low), &v->p, v->arena, in, &out, &o, e) == RT_OK;
    return (now_s() - t0) * 1e3;
}

int main(int argc, char **argv) {
    int rounds = 9;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: bench_tinylm_fusions [--rounds N]\n");
            return 2;
        }
    }
    if (rounds < 1 || rounds > MAX_ROUNDS) rounds = 9;
    RtError e = {{0}};
    int64_t tok[128];
    for (int i = 0; i < 128; i++) tok[i] = (i * 37 + 5) % 128;
    RtTensor in = {RT_I64, 2, {1, 128}, tok};
    Variant v[3] = {{.name = "before", 0, 0}, {.name = "+sink", 1, 0}, {.name = "+sink+ln", 1, 1}};
    for (int i = 0; i < 3; i++)
        if (setup(&v[i], &in, &e) != RT_OK) return fail(v[i].name, &e);
    int ok = 1;
    for (int r = 0; r < rounds && ok; r++)
        for (int i = 0; i < 3 && ok; i++) {
            double t[RUNS];
            for (int w = 0; w < 3 && ok; w++) run_once(&v[i], &in, &e, &ok);
            for (int k = 0; k < RUNS && ok; k++) t[k] = run_once(&v[i], &in, &e, &ok);
            qsort(t, RUNS, sizeof t[0], cmp_double);
            v[i].med[r] = t[RUNS / 2];
        }
    if (!ok) return fail("run", &e);
    for (int i = 0; i < 3; i++) {
        qsort(v[i].med, (size_t)rounds, sizeof v[i].med[0], cmp_double);
        printf("tinylm 1 thread %-9s best round %.3f ms, median round %.3f ms (%d rounds x %d runs)\n", v[i].name,
               v[i].med[0], v[i].med[rounds / 2], rounds, RUNS);
    }
    for (int i = 0; i < 3; i++) {
        rt_node_state_free(v[i].state, ir_lowered_graph(v[i].low)->n_nodes, rt_allocator_default());
        free(v[i].state);
        free(v[i].arena);
        rt_plan_fast_free(&v[i].f);
        rt_plan_free(&v[i].p);
        ir_lowered_free(v[i].low);
        ir_graph_free(v[i].g);
    }
    return 0;
}
