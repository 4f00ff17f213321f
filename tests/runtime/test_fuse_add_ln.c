/*
 * test_fuse_add_ln.c — the fused residual Add -> LayerNormalization (runtime/rt_fuse.c,
 * rt_fuse_add_ln.c, kernels/x86/math_x86.c's rt_add_layer_norm).
 *
 * Graphs are built in the IR (tests/ir/ir_test_util.h) and lowered, then run three ways:
 * planned with the plan's run-time decisions (the fused chain; 1 and 2 threads), planned
 * without them (the optimized Add and LayerNormalization kernels one after the other), and
 * by the reference kernels. The fused run must equal the unfused optimized one bit for bit
 * (it runs their loops), both Y and the sum Z its other reader sees, and be within the
 * LayerNormalization kernel's tolerance of the reference. Every must-fuse case asserts the
 * Add was taken into a chain, every near miss that it was not (and still computes the same).
 * Sizes: rows 1, 3, 129; normalized lengths 1, 7, 33, 256; axis -1 and over two axes.
 *
 * On a CPU without AVX-512 nothing is fused; the fused cases then only check the values.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../frontend/onnx.h"
#include "../../passes/passes.h"
#include "../../runtime/kernels/x86/math_x86.h"
#include "../../runtime/rt_plan_fast.h"
#include "../../runtime/rt_threads.h"
#include "../ir/ir_test_util.h"
#include "rt_test_util.h"

/* Fused vs reference: the optimized LayerNormalization sums in double as the reference does
 * but in another order and normalizes in float ((x - mh) - ml, times inv, times scale): a few
 * float roundings of values ~1-10, so 1e-5 of the largest output (the runtime's contract for
 * optimized float kernels). Fused vs unfused optimized: the same loops, so exactly equal. */
#define ADDLN_REL_TOL 1e-5

enum { AL_MAX_OUT = 3 };

static RtError err;

/* What a case changes from the pattern x = a + b -> LayerNorm(z) [-> Neg(z) after it]. */
typedef struct {
    int rank;
    int64_t dims[3];
    int axis;             /* LayerNormalization's axis */
    int bias;             /* 1: B given */
    int b_row;            /* 1: b is [len] (a broadcast Add: not fused) */
    int b_lead1;          /* 1: b has a leading 1 more than a (the same elements: fused) */
    int reader_between;   /* 1: z read by a node before the LayerNormalization (not fused) */
    int mean_out;         /* 1: Mean wanted too (not fused) */
    int z_output;         /* 1: z also a graph output (not fused) */
} AlCase;

static void fill(float *v, int64_t n, uint32_t seed, float lo, float hi) {
    for (int64_t i = 0; i < n; i++) v[i] = rtt_uniform(&seed, lo, hi);
}

/* The case's graph; *add_node gets the Add's index (the IR keeps it in the lowered graph). */
static IrGraph *al_graph(const AlCase *c, float **consts, int *add_node) {
    IrGraph *g = tg_graph(17);
    int64_t nd[3], len = 1;
    int axis = c->axis < 0 ? c->axis + c->rank : c->axis, nr = c->rank - axis;
    for (int i = 0; i < nr; i++) nd[i] = c->dims[axis + i], len *= nd[i];
    int a = tg_input(g, "a", RT_F32, c->rank, c->dims, NULL);
    int64_t bd[4] = {1, c->dims[0], c->dims[1], c->dims[2]};
    int b = c->b_row     ? tg_input(g, "b", RT_F32, nr, nd, NULL)
            : c->b_lead1 ? tg_input(g, "b", RT_F32, c->rank + 1, bd, NULL)
                         : tg_input(g, "b", RT_F32, c->rank, c->dims, NULL);
    consts[0] = malloc(sizeof(float) * (size_t)len);
    consts[1] = malloc(sizeof(float) * (size_t)len);
    fill(consts[0], len, 11, 0.5f, 1.5f);
    fill(consts[1], len, 12, -0.5f, 0.5f);
    int ai[2] = {a, b};
    *add_node = g->n_nodes;
    int z = tg_node(g, RT_OP_ADD, "add", 2, ai, "z");
    int between = c->reader_between ? tg_node(g, RT_OP_NEG, "neg_before", 1, &z, "zn0") : -1;
    int li[3] = {z, tg_const_f32(g, "scale", nr, nd, consts[0]), tg_const_f32(g, "bias", nr, nd, consts[1])};
    int y = ir_value_add(g, "y"), outs[2] = {y, c->mean_out ? ir_value_add(g, "mean") : -1};
    cr_assert(ir_node_add(g, RT_OP_LAYER_NORMALIZATION, "ln", c->bias ? 3 : 2, li, c->mean_out ? 2 : 1, outs) >= 0);
    int64_t ax = c->axis;
    tg_attr_ints(g, "axis", -1, &ax);
    tg_output(g, y);
    tg_output(g, tg_node(g, RT_OP_NEG, "neg_after", 1, &z, "zn")); /* the residual's next reader */
    if (between >= 0) tg_output(g, between);
    else if (c->mean_out) tg_output(g, outs[1]);
    else if (c->z_output) tg_output(g, z);
    cr_assert_eq(ir_infer_shapes(g, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(ir_verify(g, &err), RT_OK, "%s", err.msg);
    return g;
}

enum { AL_UNFUSED, AL_FAST, AL_FAST_BUT_ADD_LN };

/* Planned run at `threads`: AL_UNFUSED without the plan's decisions, AL_FAST with them,
 * AL_FAST_BUT_ADD_LN with them less the Add -> LayerNormalization chains (those nodes then run
 * alone); outputs copied (owned). Returns 1 when node k ran inside a chain headed elsewhere. */
static int al_run_planned(const RtGraph *g, const RtTensor *in, RtTensor *out, int fast, int threads, int k) {
    RtPlan p;
    RtPlanFast f;
    cr_assert_eq(rt_plan_build(g, in, &p, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(rt_plan_fast_build(g, &p, &f, &err), RT_OK, "%s", err.msg);
    if (fast == AL_FAST_BUT_ADD_LN)
        for (int m = 0; m < g->n_nodes; m++)
            if (f.fuse_head[m] >= 0 && g->nodes[f.fuse_head[m]].op == RT_OP_LAYER_NORMALIZATION) f.fuse_head[m] = -1;
    int fused = f.fuse_head[k] >= 0 && f.fuse_head[k] != k;
    void *arena = aligned_alloc(64, (size_t)(p.arena_bytes > 0 ? (p.arena_bytes + 63) / 64 * 64 : 64));
    memset(arena, 0x7f, (size_t)p.arena_bytes); /* stale bytes: nothing may read them */
    RtThreadPool *pool = threads > 1 ? rt_pool_new(threads, NULL) : NULL;
    RtRunOptions o = {.pool = pool, .fast = fast ? &f : NULL};
    RtTensor views[AL_MAX_OUT];
    cr_assert_eq(rt_plan_run(g, &p, arena, in, views, &o, &err), RT_OK, "%s", err.msg);
    for (int i = 0; i < g->n_outputs; i++) {
        out[i] = views[i];
        size_t nb = (size_t)rt_nbytes(&views[i]);
        out[i].data = malloc(nb ? nb : 1);
        memcpy(out[i].data, views[i].data, nb);
    }
    rt_pool_free(pool);
    free(arena);
    rt_plan_fast_free(&f);
    rt_plan_free(&p);
    return fused;
}

static void expect_same_bits(const RtTensor *got, const RtTensor *want, const char *what) {
    cr_assert(rt_shape_equal(got, want), "%s: shape", what);
    cr_expect(memcmp(got->data, want->data, (size_t)rt_nbytes(want)) == 0, "%s: not bit for bit", what);
}

static void expect_close(const RtTensor *got, const RtTensor *want, const char *what) {
    cr_assert(rt_shape_equal(got, want), "%s: shape", what);
    const float *g = got->data, *w = want->data;
    double big = 0, worst = 0;
    for (int64_t i = 0; i < rt_numel(want); i++) big = fmax(big, fabs(w[i]));
    for (int64_t i = 0; i < rt_numel(want); i++) worst = fmax(worst, fabs((double)g[i] - w[i]));
    cr_expect(worst <= ADDLN_REL_TOL * fmax(big, 1.0), "%s: off by %g (largest %g)", what, worst, big);
}

/* Builds, runs three ways, compares; expects the Add fused iff want_fused (on AVX-512). */
static void al_check(const AlCase *c, int want_fused) {
    float *consts[2];
    int add;
    IrGraph *g = al_graph(c, consts, &add);
    IrLowered *low = ir_lower(g, &err);
    cr_assert_not_null(low, "%s", err.msg);
    const RtGraph *rg = ir_lowered_graph(low);
    cr_assert_eq(rg->nodes[add].op, RT_OP_ADD);
    int64_t n = rt_shape_numel(c->rank, c->dims), blen = c->b_row ? 1 : n;
    int axis = c->axis < 0 ? c->axis + c->rank : c->axis;
    if (c->b_row) blen = rt_shape_numel(c->rank - axis, c->dims + axis);
    float *av = malloc(sizeof(float) * (size_t)n), *bv = malloc(sizeof(float) * (size_t)blen);
    fill(av, n, 1, -3.0f, 5.0f);
    fill(bv, blen, 2, -1.0f, 1.0f);
    int64_t bd[4] = {1, c->dims[0], c->dims[1], c->dims[2]};
    RtTensor in[2] = {rtt_tensor(RT_F32, c->rank, c->dims, av),
                      c->b_row     ? rtt_tensor(RT_F32, c->rank - axis, c->dims + axis, bv)
                      : c->b_lead1 ? rtt_tensor(RT_F32, c->rank + 1, bd, bv)
                                   : rtt_tensor(RT_F32, c->rank, c->dims, bv)};
    RtTensor ref[AL_MAX_OUT], plain[AL_MAX_OUT], fused[AL_MAX_OUT];
    RtRunOptions ro = {.ref_only = 1};
    cr_assert_eq(rt_graph_run_opts(rg, in, ref, &ro, &err), RT_OK, "%s", err.msg);
    al_run_planned(rg, in, plain, AL_UNFUSED, 1, add);
    for (int threads = 1; threads <= 2; threads++) {
        int was = al_run_planned(rg, in, fused, AL_FAST, threads, add);
        if (rt_add_layer_norm_supported()) cr_expect_eq(was, want_fused, "fused %d, want %d", was, want_fused);
        for (int o = 0; o < rg->n_outputs; o++) {
            expect_same_bits(&fused[o], &plain[o], rg->value_names[rg->outputs[o]]);
            expect_close(&fused[o], &ref[o], rg->value_names[rg->outputs[o]]);
        }
        rtt_free_outputs(fused, rg->n_outputs);
    }
    rtt_free_outputs(plain, rg->n_outputs);
    rtt_free_outputs(ref, rg->n_outputs);
    free(av), free(bv), free(consts[0]), free(consts[1]);
    ir_lowered_free(low);
    ir_graph_free(g);
}

Test(fuse_add_ln, sizes_axes_with_and_without_bias) {
    const int64_t rows[3] = {1, 3, 129}, lens[4] = {1, 7, 33, 256};
    for (int r = 0; r < 3; r++)
        for (int l = 0; l < 4; l++)
            for (int bias = 0; bias < 2; bias++) {
                AlCase c = {.rank = 2, .dims = {rows[r], lens[l]}, .axis = -1, .bias = bias};
                al_check(&c, 1);
            }
    AlCase two_axes = {.rank = 3, .dims = {3, 5, 17}, .axis = 1, .bias = 1}; /* normalized over [5, 17] */
    al_check(&two_axes, 1);
    AlCase tinylm_like = {.rank = 3, .dims = {1, 128, 256}, .axis = -1, .bias = 1};
    al_check(&tinylm_like, 1);
    AlCase lead1 = {.rank = 2, .dims = {6, 40}, .axis = -1, .bias = 1, .b_lead1 = 1}; /* [6,40] + [1,6,40] */
    al_check(&lead1, 1);
}

Test(fuse_add_ln, near_misses_stay_apart) {
    AlCase base = {.rank = 2, .dims = {5, 33}, .axis = -1, .bias = 1};
    AlCase c = base;
    c.b_row = 1; /* a broadcast Add */
    al_check(&c, 0);
    c = base;
    c.reader_between = 1; /* z read before the chain would write it */
    al_check(&c, 0);
    c = base;
    c.mean_out = 1; /* Mean wanted */
    al_check(&c, 0);
    c = base;
    c.z_output = 1; /* z a graph output */
    al_check(&c, 0);
}

/* tinylm for tokens [1, 128] as `wafer quantize --weights f32` compiles it: the 9 Adds in
 * front of a LayerNormalization (embedding [1, T, C] + positions [T, C] -> ln1, x + attention
 * -> ln2, x + mlp -> the next ln1 or lnf) are fused, the 4 mask Adds (inside attention) are
 * not; the logits are those
 * of the same run with these chains left out (attention still fused), bit for bit. */
Test(fuse_add_ln, tinylm_residuals, .timeout = 120) {
    IrGraph *g = onnx_load_file(FIXTURES "/tinylm/tinylm.onnx", NULL, &err);
    cr_assert_not_null(g, "%s", err.msg);
    int64_t dims[2] = {1, 128};
    cr_assert_eq(ir_bind_input(g, 0, 2, dims, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(pass_simplify(g, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(pass_fuse(g, &err), RT_OK, "%s", err.msg);
    IrLowered *low = ir_lower(g, &err);
    cr_assert_not_null(low, "%s", err.msg);
    const RtGraph *rg = ir_lowered_graph(low);
    int64_t tok[128];
    for (int i = 0; i < 128; i++) tok[i] = (i * 37 + 5) % 128;
    RtTensor in = rtt_tensor(RT_I64, 2, dims, tok);
    RtPlan p;
    RtPlanFast f;
    cr_assert_eq(rt_plan_build(rg, &in, &p, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(rt_plan_fast_build(rg, &p, &f, &err), RT_OK, "%s", err.msg);
    int fused = 0, adds = 0;
    for (int k = 0; k < rg->n_nodes; k++) {
        if (rg->nodes[k].op != RT_OP_ADD) continue;
        adds++;
        fused += f.fuse_head[k] >= 0 && rg->nodes[f.fuse_head[k]].op == RT_OP_LAYER_NORMALIZATION;
    }
    rt_plan_fast_free(&f);
    rt_plan_free(&p);
    cr_expect_eq(adds, 13, "13 Adds: 1 embedding, 4 x (mask, 2 residuals)");
    if (rt_add_layer_norm_supported()) cr_expect_eq(fused, 9);
    RtTensor plain, with;
    al_run_planned(rg, &in, &plain, AL_FAST_BUT_ADD_LN, 1, 0);
    al_run_planned(rg, &in, &with, AL_FAST, 1, 0);
    expect_same_bits(&with, &plain, "logits");
    free(plain.data), free(with.data);
    ir_lowered_free(low);
    ir_graph_free(g);
}
