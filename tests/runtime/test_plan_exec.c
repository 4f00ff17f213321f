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
 *
 * Stored weights: digits_cnn with int8 weight-only quantization (codes + DequantizeLinear)
 * run with per-node state gives the dynamic executor's outputs bit for bit on every run; after
 * the first run each DequantizeLinear of constants has its output in its node state, and later
 * runs are served from there: zeroing the codes afterwards changes the dynamic executor's
 * outputs but not the planned run's (the contract: constants are the same on every run).
 *
 * Conv codes stored 2-D: DequantizeLinear of [M, C*k*k] codes (blocked on axis 1) -> Reshape
 * to [M, C, k, k] -> Conv. From the second run on, the Reshape's output is the cached
 * DequantizeLinear output itself (same address, no copy), and the outputs equal the dynamic
 * executor's bit for bit.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "../../frontend/onnx.h"
#include "../../passes/passes.h"
#include "../../passes/quantize.h"
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

/* Loads fixture model `onnx` for batch 1 of fixture input `npy` (x: its first row, xfull
 * owns the data), simplified and fused. */
static IrGraph *model_batch1(const char *onnx, const char *npy, RtTensor *xfull, RtTensor *x) {
    char path[512];
    RtError err = {{0}};
    snprintf(path, sizeof path, "%s/%s", FIXTURES, onnx);
    IrGraph *ir = onnx_load_file(path, NULL, &err);
    cr_assert_not_null(ir, "%s", err.msg);
    snprintf(path, sizeof path, "%s/%s", FIXTURES, npy);
    cr_assert_eq(npy_read(path, xfull, &err), RT_OK, "%s", err.msg);
    *x = *xfull;
    x->dims[0] = 1;
    cr_assert_eq(ir_bind_input(ir, 0, x->rank, x->dims, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(pass_simplify(ir, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(pass_fuse(ir, &err), RT_OK, "%s", err.msg);
    return ir;
}

static void check_kws(int threads) {
    RtError err = {{0}};
    RtTensor xfull, x;
    IrGraph *ir = model_batch1("kws/kws_dscnn.onnx", "kws/kws_in.npy", &xfull, &x);
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

Test(plan_exec, stored_weights_dequantized_once) {
    RtError err = {{0}};
    RtTensor xfull, x;
    IrGraph *ir = model_batch1("digits/digits_cnn.onnx", "digits/test_img.npy", &xfull, &x);
    QuantOptions q;
    quant_options_default(&q); /* int8 weights, float activations: codes + DequantizeLinear */
    cr_assert_eq(pass_quantize_int8(ir, &q, NULL, &err), RT_OK, "%s", err.msg);
    IrLowered *low = ir_lower(ir, &err);
    cr_assert_not_null(low, "%s", err.msg);
    const RtGraph *g = ir_lowered_graph(low);
    int dq = -1, n_dq = 0;
    for (int k = 0; k < g->n_nodes; k++)
        if (g->nodes[k].op == RT_OP_DEQUANTIZE_LINEAR && g->consts[g->nodes[k].in[0]]) dq = dq < 0 ? k : dq, n_dq++;
    cr_assert_geq(n_dq, 3, "the conv weights are stored as codes");
    RtPlan p;
    cr_assert_eq(rt_plan_build(g, &x, &p, &err), RT_OK, "%s", err.msg);
    RtTensor want, got, first;
    cr_assert_eq(g->n_outputs, 1);
    cr_assert_eq(rt_graph_run_opts(g, &x, &want, NULL, &err), RT_OK, "%s", err.msg);
    void *arena = rt_allocator_default()->alloc(NULL, (size_t)p.arena_bytes + 1);
    void **state = calloc((size_t)g->n_nodes, sizeof *state);
    cr_assert(arena && state);
    RtRunOptions o = {.node_state = state};
    float keep[10];
    for (int rep = 0; rep < 3; rep++) {
        cr_assert_eq(rt_plan_run(g, &p, arena, &x, &got, &o, &err), RT_OK, "%s", err.msg);
        cr_assert(rt_shape_equal(&want, &got));
        cr_assert_eq(memcmp(want.data, got.data, (size_t)rt_nbytes(&want)), 0, "run %d differs from the dynamic run", rep);
        cr_assert_not_null(state[dq], "the DequantizeLinear's output is kept after run %d", rep);
    }
    first = got;
    memcpy(keep, first.data, sizeof keep);
    /* the codes change: the dynamic executor sees it, the planned run keeps its dequantized copy */
    RtTensor *codes = (RtTensor *)g->consts[g->nodes[dq].in[0]]; /* the test owns the graph */
    memset(codes->data, 0, (size_t)rt_nbytes(codes));
    RtTensor changed;
    cr_assert_eq(rt_graph_run_opts(g, &x, &changed, NULL, &err), RT_OK, "%s", err.msg);
    cr_assert_neq(memcmp(changed.data, want.data, (size_t)rt_nbytes(&want)), 0, "zeroed codes change the dynamic run");
    cr_assert_eq(rt_plan_run(g, &p, arena, &x, &got, &o, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(memcmp(keep, got.data, sizeof keep), 0, "the planned run is served from the kept copy");
    rt_node_state_free(state, g->n_nodes, rt_allocator_default());
    free(state);
    rt_tensor_free(rt_allocator_default(), &want);
    rt_tensor_free(rt_allocator_default(), &changed);
    rt_allocator_default()->free(NULL, arena);
    rt_plan_free(&p);
    ir_lowered_free(low);
    ir_graph_free(ir);
    free(xfull.data);
}

/* The value hook of the 2-D codes test: the data address of every value of the run. */
typedef struct {
    const void *addr[16];
} Addrs;

static void note_addr(void *user, int v, const RtTensor *t) {
    Addrs *a = user;
    if (v >= 0 && v < 16) a->addr[v] = t->data;
}

/* x[1, 2, 4, 4] -> Conv(W = Reshape(DequantizeLinear(codes[3, 18], scale[3, 2], zp[3, 2],
 * axis 1, block 9), [3, 2, 3, 3]), pads 1) -> y[1, 3, 4, 4]. */
static IrGraph *codes_2d_graph(int *dq_out, int *reshape_out) {
    IrGraph *g = ir_graph_new();
    cr_assert_not_null(g);
    int8_t codes[54], zp[6];
    float scale[6];
    for (int i = 0; i < 54; i++) codes[i] = (int8_t)((i * 7) % 15 - 7);
    for (int i = 0; i < 6; i++) scale[i] = 0.05f + 0.01f * (float)i, zp[i] = (int8_t)(i % 3 - 1);
    RtTensor ct = {RT_I8, 2, {3, 18}, codes}, st = {RT_F32, 2, {3, 2}, scale}, zt = {RT_I8, 2, {3, 2}, zp};
    int64_t shape[4] = {3, 2, 3, 3};
    RtTensor sh = {RT_I64, 1, {4}, shape};
    int c = ir_const_add(g, "codes", &ct), s = ir_const_add(g, "scale", &st), z = ir_const_add(g, "zp", &zt);
    int k = ir_const_add(g, "shape", &sh);
    int64_t xd[4] = {1, 2, 4, 4};
    int x = ir_value_add(g, "x"), w2 = ir_value_add(g, "w2d"), w = ir_value_add(g, "w"), y = ir_value_add(g, "y");
    ir_value_set_shape(&g->values[x], RT_F32, 4, xd);
    int din[3] = {c, s, z}, rin[2] = {w2, k}, cin[2] = {x, w};
    int kd = ir_node_add(g, RT_OP_DEQUANTIZE_LINEAR, "dq", 3, din, 1, &w2);
    ir_node_add(g, RT_OP_RESHAPE, "reshape", 2, rin, 1, &w);
    int kc = ir_node_add(g, RT_OP_CONV, "conv", 2, cin, 1, &y);
    RtAttr *at = ir_alloc(g, 3 * sizeof *at);
    static const int64_t pads[4] = {1, 1, 1, 1};
    at[0] = (RtAttr){.name = "axis", .type = RT_ATTR_INT, .i = 1};
    at[1] = (RtAttr){.name = "block_size", .type = RT_ATTR_INT, .i = 9};
    at[2] = (RtAttr){.name = "pads", .type = RT_ATTR_INTS, .n = 4, .ints = pads};
    g->nodes[kd].attrs = at, g->nodes[kd].n_attr = 2;
    g->nodes[kc].attrs = at + 2, g->nodes[kc].n_attr = 1;
    g->inputs = malloc(sizeof(int));
    g->outputs = malloc(sizeof(int));
    g->inputs[0] = x, g->n_inputs = 1;
    g->outputs[0] = y, g->n_outputs = 1;
    g->opset = 21;
    g->keep_dequantize = 1;
    *dq_out = w2, *reshape_out = w;
    return g;
}

Test(plan_exec, reshape_of_stored_weights_is_a_view) {
    RtError err = {{0}};
    int w2, w;
    IrGraph *ir = codes_2d_graph(&w2, &w);
    IrLowered *low = ir_lower(ir, &err);
    cr_assert_not_null(low, "%s", err.msg);
    const RtGraph *g = ir_lowered_graph(low);
    cr_assert_lt(g->n_values, 16);
    float xv[32];
    for (int i = 0; i < 32; i++) xv[i] = (float)((i * 5) % 11) * 0.25f - 1.0f;
    RtTensor x = {RT_F32, 4, {1, 2, 4, 4}, xv}, want, got;
    cr_assert_eq(rt_graph_run_opts(g, &x, &want, NULL, &err), RT_OK, "%s", err.msg);
    RtPlan p;
    cr_assert_eq(rt_plan_build(g, &x, &p, &err), RT_OK, "%s", err.msg);
    void *arena = rt_allocator_default()->alloc(NULL, (size_t)p.arena_bytes + 1);
    void **state = calloc((size_t)g->n_nodes, sizeof *state);
    cr_assert(arena && state);
    Addrs a;
    RtRunOptions o = {.node_state = state, .on_value = note_addr, .hook_user = &a};
    for (int rep = 0; rep < 3; rep++) {
        memset(&a, 0, sizeof a);
        cr_assert_eq(rt_plan_run(g, &p, arena, &x, &got, &o, &err), RT_OK, "%s", err.msg);
        cr_assert(rt_shape_equal(&want, &got));
        cr_assert_eq(memcmp(want.data, got.data, (size_t)rt_nbytes(&want)), 0, "run %d differs", rep);
        cr_assert_not_null(a.addr[w2]);
        cr_assert_eq(a.addr[w], a.addr[w2], "run %d: the Reshape copied the cached weights", rep);
    }
    rt_node_state_free(state, g->n_nodes, rt_allocator_default());
    free(state);
    rt_tensor_free(rt_allocator_default(), &want);
    rt_allocator_default()->free(NULL, arena);
    rt_plan_free(&p);
    ir_lowered_free(low);
    ir_graph_free(ir);
}
