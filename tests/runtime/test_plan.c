/*
 * test_plan.c — arena memory plans (runtime/rt_plan.h): planned runs give exactly the dynamic
 * executor's outputs on the fixture models, plans respect liveness (no two live values share
 * bytes), in-place reuse happens and is safe, and rt_plan_check refuses broken plans.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "../../frontend/onnx.h"
#include "../../passes/passes.h"
#include "../../runtime/rt_plan.h"
#include "../../runtime/rt_threads.h"
#include "../test_util.h"

typedef struct {
    IrGraph *ir;
    IrLowered *low;
    const RtGraph *g;
    RtTensor x;      /* batch-1 input view (data owned by xfull) */
    RtTensor xfull;
} Model;

/* Loads a fixture model, binds its input to the first row of the fixture input, simplifies
 * and fuses as `wafer run` does, and lowers it. */
static void model_open(Model *m, const char *onnx, const char *npy) {
    char path[512];
    RtError err = {{0}};
    snprintf(path, sizeof path, "%s/%s", FIXTURES, onnx);
    m->ir = onnx_load_file(path, NULL, &err);
    cr_assert_not_null(m->ir, "%s", err.msg);
    snprintf(path, sizeof path, "%s/%s", FIXTURES, npy);
    cr_assert_eq(npy_read(path, &m->xfull, &err), RT_OK, "%s", err.msg);
    m->x = m->xfull;
    m->x.dims[0] = 1;
    if (strstr(onnx, "tinylm")) m->x.dims[1] = 128; /* the model's context: first 128 tokens of row 0 */
    cr_assert_eq(ir_bind_input(m->ir, 0, m->x.rank, m->x.dims, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(pass_simplify(m->ir, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(pass_fuse(m->ir, &err), RT_OK, "%s", err.msg);
    m->low = ir_lower(m->ir, &err);
    cr_assert_not_null(m->low, "%s", err.msg);
    m->g = ir_lowered_graph(m->low);
}

static void model_close(Model *m) {
    ir_lowered_free(m->low);
    ir_graph_free(m->ir);
    free(m->xfull.data);
}

/* Planned and dynamic runs (same kernels, same pool) agree bit for bit, and again on a second
 * planned run over the same, now dirty, arena. */
static void check_planned_equals_dynamic(const char *onnx, const char *npy, int threads) {
    Model m;
    model_open(&m, onnx, npy);
    RtError err = {{0}};
    RtPlan p;
    cr_assert_eq(rt_plan_build(m.g, &m.x, &p, &err), RT_OK, "%s: %s", onnx, err.msg);
    cr_assert_eq(rt_plan_check(m.g, &p, &err), RT_OK, "%s: %s", onnx, err.msg);
    RtThreadPool *pool = threads > 1 ? rt_pool_new(threads, NULL) : NULL;
    RtRunOptions o = {.pool = pool};
    RtTensor want[8], got[8];
    cr_assert_leq(m.g->n_outputs, 8);
    cr_assert_eq(rt_graph_run_opts(m.g, &m.x, want, &o, &err), RT_OK, "%s", err.msg);
    void *arena = rt_allocator_default()->alloc(NULL, (size_t)p.arena_bytes + 1);
    cr_assert_not_null(arena);
    for (int rep = 0; rep < 2; rep++) {
        cr_assert_eq(rt_plan_run(m.g, &p, arena, &m.x, got, &o, &err), RT_OK, "%s", err.msg);
        for (int i = 0; i < m.g->n_outputs; i++) {
            cr_assert(rt_shape_equal(&want[i], &got[i]));
            cr_assert_eq(memcmp(want[i].data, got[i].data, (size_t)rt_nbytes(&want[i])), 0,
                         "%s output %d differs between planned and dynamic runs", onnx, i);
        }
    }
    for (int i = 0; i < m.g->n_outputs; i++) rt_tensor_free(rt_allocator_default(), &want[i]);
    rt_allocator_default()->free(NULL, arena);
    rt_pool_free(pool);
    rt_plan_free(&p);
    model_close(&m);
}

Test(plan, digits_cnn_planned_equals_dynamic) {
    check_planned_equals_dynamic("digits/digits_cnn.onnx", "digits/test_img.npy", 1);
}
Test(plan, kws_planned_equals_dynamic) { check_planned_equals_dynamic("kws/kws_dscnn.onnx", "kws/kws_in.npy", 2); }
Test(plan, mobilenet_planned_equals_dynamic) {
    check_planned_equals_dynamic("perf/mobilenet_v2.onnx", "perf/mobilenet_v2_in.npy", 2);
}
Test(plan, tinylm_planned_equals_dynamic) {
    check_planned_equals_dynamic("tinylm/tinylm.onnx", "tinylm/tinylm_eval_tokens.npy", 1);
}

/* The arena is smaller than the sum of the values (reuse happened) and no larger than it. */
Test(plan, arena_reuses_bytes_of_dead_values) {
    Model m;
    model_open(&m, "perf/mobilenet_v2.onnx", "perf/mobilenet_v2_in.npy");
    RtError err = {{0}};
    RtPlan p;
    cr_assert_eq(rt_plan_build(m.g, &m.x, &p, &err), RT_OK, "%s", err.msg);
    int64_t sum = 0, largest = 0;
    for (int v = 0; v < p.n_values; v++)
        if (p.offset[v] >= 0) {
            sum += p.bytes[v];
            if (p.bytes[v] > largest) largest = p.bytes[v];
        }
    cr_assert_gt(sum, 0);
    cr_assert_lt(p.arena_bytes, sum / 4, "arena %lld of %lld value bytes", (long long)p.arena_bytes, (long long)sum);
    cr_assert_geq(p.arena_bytes, largest);
    rt_plan_free(&p);
    model_close(&m);
}

/* A two-node graph x -> Relu -> y -> Neg -> z: y's bytes are reused in place by z, and the
 * planned run is right. */
Test(plan, inplace_elementwise_chain) {
    int in0[] = {0}, out0[] = {1}, in1[] = {1}, out1[] = {2}, in2[] = {2}, out2[] = {3};
    RtNode nodes[3] = {
        {.op = RT_OP_EXP, .name = "e", .op_type = "Exp", .domain = "", .opset = 17, .n_in = 1, .in = in0, .n_out = 1, .out = out0},
        {.op = RT_OP_RELU, .name = "r", .op_type = "Relu", .domain = "", .opset = 17, .n_in = 1, .in = in1, .n_out = 1, .out = out1},
        {.op = RT_OP_NEG, .name = "n", .op_type = "Neg", .domain = "", .opset = 17, .n_in = 1, .in = in2, .n_out = 1, .out = out2},
    };
    int gin[] = {0}, gout[] = {3};
    RtGraph g = {.n_values = 4, .n_nodes = 3, .nodes = nodes, .n_inputs = 1, .inputs = gin, .n_outputs = 1, .outputs = gout};
    float xs[37];
    for (int i = 0; i < 37; i++) xs[i] = (float)(i - 18) * 0.25f;
    RtTensor x = {.dtype = RT_F32, .rank = 1, .dims = {37}, .data = xs};
    RtError err = {{0}};
    RtPlan p;
    cr_assert_eq(rt_plan_build(&g, &x, &p, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(p.offset[1], p.offset[2]);
    cr_assert_eq(p.offset[2], p.offset[3]);
    cr_assert_eq(p.arena_bytes, 192); /* 37 floats = 148 bytes, rounded to 64 */
    cr_assert_eq(rt_plan_check(&g, &p, &err), RT_OK, "%s", err.msg);
    void *arena = rt_allocator_default()->alloc(NULL, (size_t)p.arena_bytes);
    RtTensor y, want;
    cr_assert_eq(rt_graph_run(&g, &x, &want, rt_allocator_default(), &err), RT_OK, "%s", err.msg);
    cr_assert_eq(rt_plan_run(&g, &p, arena, &x, &y, NULL, &err), RT_OK, "%s", err.msg);
    for (int i = 0; i < 37; i++) { /* same kernels, separate buffers: same bits */
        cr_assert_eq(((float *)y.data)[i], ((float *)want.data)[i]);
        cr_assert_leq(fabsf(((float *)y.data)[i] + expf(xs[i])), 1e-6f * expf(xs[i]));
    }
    rt_tensor_free(rt_allocator_default(), &want);
    rt_allocator_default()->free(NULL, arena);
    rt_plan_free(&p);
}

/* rt_plan_check refuses: overlapping live values, a value outside the arena, misalignment, a
 * value too small for its shape, a placed value no node produces. */
Test(plan, check_refuses_broken_plans) {
    Model m;
    model_open(&m, "kws/kws_dscnn.onnx", "kws/kws_in.npy");
    RtError err = {{0}};
    RtPlan p;
    cr_assert_eq(rt_plan_build(m.g, &m.x, &p, &err), RT_OK, "%s", err.msg);
    /* two consecutive conv outputs are live together at the second conv */
    const RtNode *n = &m.g->nodes[1];
    int a = n->in[0], b = n->out[0];
    int64_t keep_b = p.offset[b];
    p.offset[b] = p.offset[a];
    cr_assert_neq(rt_plan_check(m.g, &p, &err), RT_OK);
    cr_assert(strstr(err.msg, "overlaps") != NULL, "%s", err.msg);
    p.offset[b] = keep_b;
    err.msg[0] = 0;
    p.offset[b] = p.arena_bytes; /* past the end */
    cr_assert_neq(rt_plan_check(m.g, &p, &err), RT_OK);
    p.offset[b] = keep_b + 4; /* misaligned */
    err.msg[0] = 0;
    cr_assert_neq(rt_plan_check(m.g, &p, &err), RT_OK);
    p.offset[b] = keep_b;
    int64_t keep_bytes = p.bytes[b];
    p.bytes[b] = 64; /* smaller than the value's shape */
    err.msg[0] = 0;
    cr_assert_neq(rt_plan_check(m.g, &p, &err), RT_OK);
    p.bytes[b] = keep_bytes;
    int in0 = m.g->inputs[0];
    p.offset[in0] = 0; /* a graph input placed */
    err.msg[0] = 0;
    cr_assert_neq(rt_plan_check(m.g, &p, &err), RT_OK);
    p.offset[in0] = -1;
    err.msg[0] = 0;
    cr_assert_eq(rt_plan_check(m.g, &p, &err), RT_OK, "%s", err.msg);
    rt_plan_free(&p);
    model_close(&m);
}

/* Inputs of another shape than planned are refused, not run over a too-small arena. */
Test(plan, run_refuses_other_input_shapes) {
    Model m;
    model_open(&m, "digits/digits_cnn.onnx", "digits/test_img.npy");
    RtError err = {{0}};
    RtPlan p;
    cr_assert_eq(rt_plan_build(m.g, &m.x, &p, &err), RT_OK, "%s", err.msg);
    void *arena = rt_allocator_default()->alloc(NULL, (size_t)p.arena_bytes);
    RtTensor x2 = m.xfull, y[4];
    x2.dims[0] = 2;
    cr_assert_neq(rt_plan_run(m.g, &p, arena, &x2, y, NULL, &err), RT_OK);
    cr_assert(strstr(err.msg, "shapes") != NULL, "%s", err.msg);
    rt_allocator_default()->free(NULL, arena);
    rt_plan_free(&p);
    model_close(&m);
}
