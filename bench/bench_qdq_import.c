/*
 * bench_qdq_import.c — a weight-only blocked-DQ model (DequantizeLinear(block_size) -> MatMul,
 * e.g. `wafer quantize --onnx-int4 dq`'s tinylm) run two ways in the same process:
 *   float-DQ  the file as written: pass_simplify folds each DQ of a constant into a float32
 *             weight at load, the MatMuls run on float weights (the path before the import)
 *   imported  passes/qdq_import.c first: each group becomes MatMulNBits on the packed codes
 * Each is prepared as `wafer bench` prepares an ONNX file (bind the input shape, simplify,
 * lower, plan one arena, kernels' state kept across runs), then timed in ROUNDS alternating
 * rounds of ITERS runs (after WARMUP), so both see the same machine load; each keeps its
 * lowest round median. Also printed: the bytes of constants each graph holds after
 * simplification (the weights resident at run time) and the largest |difference| of the
 * outputs relative to the largest |output| (the same weights: summation order only).
 *
 * Usage: bench_qdq_import MODEL.onnx INPUT=FILE.npy [--iters N] [--rounds R]
 *        (one input; N = 20, R = 3). Kernels run on one thread (no pool); set
 *        OPENBLAS_NUM_THREADS=1 for the float GEMMs to match.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../frontend/onnx.h"
#include "../io/npy.h"
#include "../passes/passes.h"
#include "../passes/qdq_import.h"
#include "../runtime/rt_exec.h"
#include "../runtime/rt_plan.h"
#include "bench_util.h"

#define WARMUP 3

typedef struct {
    const char *label;
    IrGraph *g;
    IrLowered *l;
    RtPlan plan;
    void *arena;
    void **state;       /* [n_nodes] kernels' state across runs */
    double load_ms;     /* load + import + bind + simplify + lower + plan */
    int64_t const_bytes; /* constants held after simplification */
    int n_nbits;        /* MatMulNBits nodes */
    double best_ms;     /* lowest round median */
    RtTensor out;       /* first output of the last run (arena view) */
} Way;

static int way_prepare(Way *w, const char *path, int import, const RtTensor *x, RtError *err) {
    double t0 = now_s();
    w->g = onnx_load_file(path, NULL, err);
    if (!w->g) return RT_ERR;
    if (import && pass_qdq_import(w->g, NULL, err) != RT_OK) return RT_ERR;
    if (ir_bind_input(w->g, 0, x->rank, x->dims, err) != RT_OK || pass_simplify(w->g, err) != RT_OK) return RT_ERR;
    w->l = ir_lower(w->g, err);
    if (!w->l) return RT_ERR;
    const RtGraph *rg = ir_lowered_graph(w->l);
    if (rt_plan_build(rg, x, &w->plan, err) != RT_OK) return RT_ERR;
    w->arena = rt_allocator_default()->alloc(NULL, (size_t)(w->plan.arena_bytes ? w->plan.arena_bytes : 1));
    w->state = calloc((size_t)(rg->n_nodes > 0 ? rg->n_nodes : 1), sizeof(void *));
    if (!w->arena || !w->state) return rt_error_set(err, "out of memory");
    w->load_ms = 1e3 * (now_s() - t0);
    for (int v = 0; v < w->g->n_values; v++)
        if (w->g->values[v].konst && w->g->values[v].konst->data) w->const_bytes += rt_nbytes(w->g->values[v].konst);
    for (int k = 0; k < w->g->n_nodes; k++) w->n_nbits += w->g->nodes[k].op == RT_OP_MATMUL_NBITS;
    w->best_ms = INFINITY;
    return RT_OK;
}

static int way_run(Way *w, const RtTensor *x, RtError *err) {
    RtRunOptions o = {.alloc = rt_allocator_default(), .node_state = w->state};
    return rt_plan_run(ir_lowered_graph(w->l), &w->plan, w->arena, x, &w->out, &o, err);
}

/* The median of n timed runs, in ms. */
static int way_round(Way *w, const RtTensor *x, int n, RtError *err) {
    double *t = malloc(sizeof(double) * (size_t)n);
    if (!t) return rt_error_set(err, "out of memory");
    for (int i = 0; i < n; i++) {
        double t0 = now_s();
        if (way_run(w, x, err) != RT_OK) return free(t), RT_ERR;
        t[i] = 1e3 * (now_s() - t0);
    }
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    double med = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
    if (med < w->best_ms) w->best_ms = med;
    free(t);
    return RT_OK;
}

static void way_free(Way *w) {
    if (w->state && w->l) rt_node_state_free(w->state, ir_lowered_graph(w->l)->n_nodes, rt_allocator_default());
    free(w->state);
    if (w->arena) rt_allocator_default()->free(NULL, w->arena);
    rt_plan_free(&w->plan);
    if (w->l) ir_lowered_free(w->l);
    if (w->g) ir_graph_free(w->g);
}

int main(int argc, char **argv) {
    if (argc < 3 || strchr(argv[2], '=') == NULL) {
        fprintf(stderr, "usage: bench_qdq_import MODEL.onnx INPUT=FILE.npy [--iters N] [--rounds R]\n");
        return 2;
    }
    int iters = 20, rounds = 3;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--iters") == 0) iters = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--rounds") == 0) rounds = atoi(argv[i + 1]);
    }
    if (iters < 1 || rounds < 1) return fprintf(stderr, "bench_qdq_import: --iters and --rounds must be >= 1\n"), 2;
    RtError err = {{0}};
    RtTensor x;
    if (npy_read(strchr(argv[2], '=') + 1, &x, &err) != RT_OK) return fprintf(stderr, "%s\n", err.msg), 2;
    Way w[2];
    memset(w, 0, sizeof w);
    w[0].label = "float-DQ", w[1].label = "imported";
    int st = RT_OK;
    for (int i = 0; i < 2 && st == RT_OK; i++) st = way_prepare(&w[i], argv[1], i, &x, &err);
    for (int i = 0; i < 2 && st == RT_OK; i++)
        for (int r = 0; r < WARMUP && st == RT_OK; r++) st = way_run(&w[i], &x, &err);
    for (int r = 0; r < rounds && st == RT_OK; r++)
        for (int i = 0; i < 2 && st == RT_OK; i++) st = way_round(&w[i], &x, iters, &err);
    if (st == RT_OK) {
        double dmax = 0, amax = 0;
        int64_t n = rt_numel(&w[0].out);
        for (int64_t i = 0; n == rt_numel(&w[1].out) && w[0].out.dtype == RT_F32 && i < n; i++) {
            double a = ((const float *)w[0].out.data)[i], b = ((const float *)w[1].out.data)[i];
            dmax = fmax(dmax, fabs(a - b));
            amax = fmax(amax, fabs(a));
        }
        printf("%s, input %s: %d rounds of %d runs, lowest round median\n", argv[1], argv[2], rounds, iters);
        for (int i = 0; i < 2; i++)
            printf("  %-9s %9.3f ms/run  load %8.1f ms  constants %6.2f MB  MatMulNBits %d\n", w[i].label,
                   w[i].best_ms, w[i].load_ms, (double)w[i].const_bytes / 1e6, w[i].n_nbits);
        printf("  imported / float-DQ: time %.3fx, constants %.3fx; outputs max |diff| / max |out| %.2e\n",
               w[1].best_ms / w[0].best_ms, (double)w[1].const_bytes / (double)w[0].const_bytes,
               amax > 0 ? dmax / amax : dmax);
    }
    for (int i = 0; i < 2; i++) way_free(&w[i]);
    free(x.data);
    if (st != RT_OK) return fprintf(stderr, "bench_qdq_import: %s\n", err.msg), 2;
    return 0;
}
