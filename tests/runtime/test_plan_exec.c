/*
 * test_plan_exec.c — the planned executor's scratch cache (runtime/rt_plan_exec.c): kernels'
 * scratch blocks freed during a run are handed to later requests instead of going back to
 * the allocator, and every block is returned when the run ends.
 *
 * On KWS (an im2col conv and four depthwise convs, each taking a scratch block, 12 nodes) with
 * a counting allocator: the planned outputs equal the dynamic executor's bit for bit on every
 * run (1 and 2 threads); after each run every allocation has been freed; and a run makes at
 * most 3 allocations (the value table and the scratch blocks, reused), where one per scratch
 * request would be 6.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "../../frontend/onnx.h"
#include "../../passes/passes.h"
#include "../../runtime/rt_plan.h"
#include "../../runtime/rt_threads.h"
#include "../test_util.h"

typedef struct {
    long allocs, frees;
} Counts;

static void *count_alloc(void *user, size_t bytes) {
    Counts *c = user;
    __atomic_add_fetch(&c->allocs, 1, __ATOMIC_RELAXED);
    return rt_allocator_default()->alloc(NULL, bytes);
}

static void count_free(void *user, void *p) {
    Counts *c = user;
    if (p) __atomic_add_fetch(&c->frees, 1, __ATOMIC_RELAXED);
    rt_allocator_default()->free(NULL, p);
}

static void check_kws(int threads) {
    char path[512];
    RtError err = {{0}};
    snprintf(path, sizeof path, "%s/kws/kws_dscnn.onnx", FIXTURES);
    IrGraph *ir = onnx_load_file(path, NULL, &err);
    cr_assert_not_null(ir, "%s", err.msg);
    RtTensor xfull, x;
    snprintf(path, sizeof path, "%s/kws/kws_in.npy", FIXTURES);
    cr_assert_eq(npy_read(path, &xfull, &err), RT_OK, "%s", err.msg);
    x = xfull;
    x.dims[0] = 1;
    cr_assert_eq(ir_bind_input(ir, 0, x.rank, x.dims, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(pass_simplify(ir, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(pass_fuse(ir, &err), RT_OK, "%s", err.msg);
    IrLowered *low = ir_lower(ir, &err);
    cr_assert_not_null(low, "%s", err.msg);
    const RtGraph *g = ir_lowered_graph(low);
    RtPlan p;
    cr_assert_eq(rt_plan_build(g, &x, &p, &err), RT_OK, "%s", err.msg);
    RtThreadPool *pool = threads > 1 ? rt_pool_new(threads, NULL) : NULL;
    RtTensor want[4], got[4];
    cr_assert_leq(g->n_outputs, 4);
    RtRunOptions od = {.pool = pool};
    cr_assert_eq(rt_graph_run_opts(g, &x, want, &od, &err), RT_OK, "%s", err.msg);
    void *arena = rt_allocator_default()->alloc(NULL, (size_t)p.arena_bytes + 1);
    cr_assert_not_null(arena);
    Counts c = {0, 0};
    RtAllocator a = {count_alloc, count_free, &c};
    RtRunOptions o = {.alloc = &a, .pool = pool};
    for (int rep = 0; rep < 3; rep++) {
        long a0 = c.allocs;
        cr_assert_eq(rt_plan_run(g, &p, arena, &x, got, &o, &err), RT_OK, "%s", err.msg);
        cr_assert_eq(c.allocs, c.frees, "run %d: %ld allocations, %ld frees", rep, c.allocs, c.frees);
        cr_assert_leq(c.allocs - a0, 3, "run %d made %ld allocations (scratch not reused)", rep, c.allocs - a0);
        for (int i = 0; i < g->n_outputs; i++) {
            cr_assert(rt_shape_equal(&want[i], &got[i]));
            cr_assert_eq(memcmp(want[i].data, got[i].data, (size_t)rt_nbytes(&want[i])), 0,
                         "output %d differs between planned and dynamic runs", i);
        }
    }
    cr_assert_gt(g->n_nodes, 6);
    for (int i = 0; i < g->n_outputs; i++) rt_tensor_free(rt_allocator_default(), &want[i]);
    rt_allocator_default()->free(NULL, arena);
    rt_pool_free(pool);
    rt_plan_free(&p);
    ir_lowered_free(low);
    ir_graph_free(ir);
    free(xfull.data);
}

Test(plan_exec, kws_scratch_reused_and_returned_1_thread) { check_kws(1); }
Test(plan_exec, kws_scratch_reused_and_returned_2_threads) { check_kws(2); }
