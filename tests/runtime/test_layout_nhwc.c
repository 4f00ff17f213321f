/*
 * test_layout_nhwc.c — channels-last values of a planned run (runtime/rt_layout.c choosing,
 * the x86 conv and global pool kernels honouring RtKernelCtx.nhwc_in / nhwc_out).
 *
 * Graphs are built here: a first conv (3x3 on im2col, or 1x1), depthwise -> pointwise ->
 * depthwise -> pointwise (KWS's blocks), then a GlobalAveragePool, a GlobalMaxPool or the
 * last conv's output as the graph output; channel counts C, M in 1, 3, 17, 33, 64, planes 1x1, 5x3, 25x5, 9x17,
 * depthwise strides 1 / 2 and pads 0 / 1, every fused activation and plain Conv. Each graph:
 *  - the values rt_plan_fast_build marks NHWC are exactly the ones the layout's rules give
 *    (the chain values between convs that take the layout, when a depthwise conv of 16 or
 *    more channels is among them; never a graph output, never a value some other op
 *    reads), so the test fails if the layout silently stops being chosen;
 *  - rt_plan_run with those layouts gives every output within NHWC_REL_TOL of the
 *    reference kernels (WAFER_RT_REF's rt_graph_run_opts with ref_only), the same bits on
 *    1 and 2 threads, with and without the nodes' state (weights packed once), on the
 *    first and second run of a state.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/kernels/x86/conv_x86.h"
#include "../../runtime/rt_plan.h"
#include "../../runtime/rt_plan_fast.h"
#include "../../runtime/rt_threads.h"
#include "rt_test_util.h"

/* The bar for float kernels: |fast - ref| <= 1e-5 * max|ref| per output. The
 * kernels sum the same products as the reference in another order (FMAs, the bias last or
 * first, the GEMM's K order), each conv moving its outputs by a few float32 roundings of
 * sums of at most 9 * 64 terms of size ~1, which then pass through at most five layers:
 * ~1e-6 of the output's scale at worst, well below this. */
#define NHWC_REL_TOL 1e-5

enum { TG_MAXV = 64, TG_MAXN = 16, TG_MAXO = 6 };

/* A graph under construction: value 0 is the input; constants own their data. */
typedef struct {
    int n_values, n_nodes;
    int64_t dims[TG_MAXV][4];        /* every value's shape (4-D) */
    int rank[TG_MAXV];
    RtTensor cst[TG_MAXV];
    const RtTensor *consts[TG_MAXV];
    RtNode nodes[TG_MAXN];
    int io[TG_MAXN][4];              /* inputs 0..2, output at 3 */
    RtAttr attrs[TG_MAXN][8];
    int64_t ints[TG_MAXN][10];       /* kernel_shape 0-1, strides 2-3, pads 4-7, dilations 8-9 */
    int outputs[TG_MAXO], n_outputs;
    uint32_t seed;
    float *xdata;
} Tg;

static void tg_init(Tg *t, int64_t N, int64_t C, int64_t H, int64_t W) {
    memset(t, 0, sizeof *t);
    t->n_values = 1;
    t->rank[0] = 4;
    t->dims[0][0] = N, t->dims[0][1] = C, t->dims[0][2] = H, t->dims[0][3] = W;
    t->seed = 12345;
    int64_t n = N * C * H * W;
    t->xdata = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) t->xdata[i] = rtt_uniform(&t->seed, -1.0f, 1.0f);
}

static int tg_const(Tg *t, int rank, const int64_t *dims, float scale) {
    int v = t->n_values++;
    cr_assert_lt(v, TG_MAXV);
    int64_t n = rt_shape_numel(rank, dims);
    float *d = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) d[i] = scale * rtt_uniform(&t->seed, -1.0f, 1.0f);
    t->cst[v] = rtt_tensor(RT_F32, rank, dims, d);
    t->consts[v] = &t->cst[v];
    t->rank[v] = rank;
    return v;
}

static RtNode *tg_node(Tg *t, int op, const char *op_type, int n_in) {
    int k = t->n_nodes++;
    cr_assert_lt(k, TG_MAXN);
    RtNode *n = &t->nodes[k];
    n->op = op;
    n->name = op_type;
    n->op_type = op_type;
    n->domain = op == RT_OP_FUSED_CONV ? "wafer" : "";
    n->opset = op == RT_OP_FUSED_CONV ? 1 : 17;
    n->n_in = n_in;
    n->in = t->io[k];
    n->n_out = 1;
    n->out = &t->io[k][3];
    n->attrs = t->attrs[k];
    t->io[k][3] = t->n_values++;
    return n;
}

/* Conv (act NULL) or FusedConv with activation act of x by M kernels kh x kw in `group`
 * groups, square stride s, pads {top, left, bottom, right}, square dilation d; returns the
 * output value. */
static int tg_conv_ex(Tg *t, int x, int64_t M, int64_t kh, int64_t kw, int64_t s, const int64_t *pads, int64_t d,
                      int64_t group, const char *act) {
    const int64_t *xd = t->dims[x];
    int64_t wd[4] = {M, xd[1] / group, kh, kw}, bd[1] = {M};
    /* weights scaled to keep the outputs around 1 through the layers */
    int w = tg_const(t, 4, wd, 1.5f / sqrtf((float)(wd[1] * kh * kw))), b = tg_const(t, 1, bd, 0.5f);
    int k = t->n_nodes;
    RtNode *n = tg_node(t, act ? RT_OP_FUSED_CONV : RT_OP_CONV, act ? "FusedConv" : "Conv", 3);
    t->io[k][0] = x, t->io[k][1] = w, t->io[k][2] = b;
    int64_t *ints = t->ints[k];
    ints[0] = kh, ints[1] = kw, ints[2] = ints[3] = s, ints[8] = ints[9] = d;
    for (int i = 0; i < 4; i++) ints[4 + i] = pads[i];
    RtAttr *a = t->attrs[k];
    a[0] = rtt_attr_ints("kernel_shape", ints, 2);
    a[1] = rtt_attr_ints("strides", ints + 2, 2);
    a[2] = rtt_attr_ints("pads", ints + 4, 4);
    a[3] = rtt_attr_int("group", group);
    n->n_attr = 4;
    if (d != 1) a[n->n_attr++] = rtt_attr_ints("dilations", ints + 8, 2);
    if (act) {
        a[n->n_attr++] = rtt_attr_str("activation", act);
        if (!strcmp(act, "Clip")) a[n->n_attr++] = rtt_attr_float("alpha", -0.25f), a[n->n_attr++] = rtt_attr_float("beta", 0.75f);
        if (!strcmp(act, "LeakyRelu")) a[n->n_attr++] = rtt_attr_float("alpha", 0.1f);
    }
    int y = n->out[0];
    t->rank[y] = 4;
    t->dims[y][0] = xd[0], t->dims[y][1] = M;
    t->dims[y][2] = (xd[2] + pads[0] + pads[2] - (kh - 1) * d - 1) / s + 1;
    t->dims[y][3] = (xd[3] + pads[1] + pads[3] - (kw - 1) * d - 1) / s + 1;
    cr_assert(t->dims[y][2] >= 1 && t->dims[y][3] >= 1, "bad test geometry");
    return y;
}

/* tg_conv_ex with pad p on every side and no dilation. */
static int tg_conv(Tg *t, int x, int64_t M, int64_t kh, int64_t kw, int64_t s, int64_t p, int64_t group,
                   const char *act) {
    const int64_t pads[4] = {p, p, p, p};
    return tg_conv_ex(t, x, M, kh, kw, s, pads, 1, group, act);
}

/* A one-input op keeping the shape (Relu), or GlobalAveragePool. */
static int tg_unary(Tg *t, int op, const char *op_type, int x) {
    int k = t->n_nodes;
    RtNode *n = tg_node(t, op, op_type, 1);
    t->io[k][0] = x;
    int y = n->out[0];
    t->rank[y] = 4;
    memcpy(t->dims[y], t->dims[x], sizeof t->dims[y]);
    if (op == RT_OP_GLOBAL_AVERAGE_POOL || op == RT_OP_GLOBAL_MAX_POOL) t->dims[y][2] = t->dims[y][3] = 1;
    return y;
}

static void tg_output(Tg *t, int v) {
    cr_assert_lt(t->n_outputs, TG_MAXO);
    t->outputs[t->n_outputs++] = v;
}

static void tg_free(Tg *t) {
    for (int v = 0; v < t->n_values; v++)
        if (t->consts[v]) free(t->cst[v].data);
    free(t->xdata);
}

/* Runs t's graph as the issue demands (file header): expect[v] = 1 for the values that must
 * be NHWC (all others must not be). */
static void tg_check(Tg *t, const unsigned char *expect, const char *what) {
    static const int input0 = 0;
    RtGraph g = {.n_values = t->n_values, .consts = t->consts, .n_nodes = t->n_nodes, .nodes = t->nodes,
                 .n_inputs = 1, .inputs = &input0, .n_outputs = t->n_outputs, .outputs = t->outputs};
    RtTensor x = rtt_tensor(RT_F32, 4, t->dims[0], t->xdata);
    RtError err = {{0}};
    RtTensor want[TG_MAXO];
    RtRunOptions oref = {.ref_only = 1};
    cr_assert_eq(rt_graph_run_opts(&g, &x, want, &oref, &err), RT_OK, "%s: reference: %s", what, err.msg);
    RtPlan p;
    cr_assert_eq(rt_plan_build(&g, &x, &p, &err), RT_OK, "%s: %s", what, err.msg);
    RtPlanFast f;
    cr_assert_eq(rt_plan_fast_build(&g, &p, &f, &err), RT_OK, "%s: %s", what, err.msg);
    int any = 0;
    for (int v = 0; v < t->n_values; v++) {
        int want_nhwc = cx_cpu_ok() && expect[v];
        cr_expect_eq(f.nhwc[v], want_nhwc, "%s: value %d: NHWC %d, expected %d", what, v, f.nhwc[v], want_nhwc);
        any |= f.nhwc[v];
    }
    void *arena = rt_allocator_default()->alloc(NULL, (size_t)p.arena_bytes + 64);
    cr_assert_not_null(arena);
    RtThreadPool *pool2 = rt_pool_new(2, NULL);
    cr_assert_not_null(pool2);
    float *first[TG_MAXO] = {0};
    void *state[TG_MAXN];
    for (int threads = 1; threads <= 2; threads++)
        for (int keep = 0; keep <= 1; keep++) {
            memset(state, 0, sizeof state);
            for (int rep = 0; rep <= keep; rep++) {
                RtRunOptions o = {.pool = threads > 1 ? pool2 : NULL, .fast = &f, .node_state = keep ? state : NULL};
                RtTensor got[TG_MAXO];
                cr_assert_eq(rt_plan_run(&g, &p, arena, &x, got, &o, &err), RT_OK, "%s: %s", what, err.msg);
                for (int i = 0; i < t->n_outputs; i++) {
                    cr_assert(rt_shape_equal(&got[i], &want[i]), "%s: output %d shape", what, i);
                    int64_t n = rt_numel(&want[i]);
                    const float *r = want[i].data, *o2 = got[i].data;
                    double big = 0;
                    for (int64_t e = 0; e < n; e++)
                        if (fabs(r[e]) > big) big = fabs(r[e]);
                    int bad = 0;
                    for (int64_t e = 0; e < n && bad < 3; e++) {
                        int ok = fabs((double)o2[e] - r[e]) <= NHWC_REL_TOL * big;
                        cr_expect(ok, "%s: output %d element %lld: %.9g, reference %.9g (%d threads, state %d run %d)",
                                  what, i, (long long)e, o2[e], r[e], threads, keep, rep);
                        bad += !ok;
                    }
                    if (!first[i]) {
                        first[i] = malloc(sizeof(float) * (size_t)n);
                        memcpy(first[i], o2, sizeof(float) * (size_t)n);
                    } else {
                        cr_expect_eq(memcmp(first[i], o2, sizeof(float) * (size_t)n), 0,
                                     "%s: output %d: %d threads, state %d run %d differs from 1 thread", what, i,
                                     threads, keep, rep);
                    }
                }
            }
            rt_node_state_free(state, t->n_nodes, rt_allocator_default());
        }
    (void)any;
    for (int i = 0; i < t->n_outputs; i++) {
        free(first[i]);
        rt_tensor_free(rt_allocator_default(), &want[i]);
    }
    rt_pool_free(pool2);
    rt_allocator_default()->free(NULL, arena);
    rt_plan_fast_free(&f);
    rt_plan_free(&p);
}

/* first conv -> dw(C) -> pw(C -> M) -> dw(M) -> pw(M -> M) -> [gap 1: GlobalAveragePool,
 * 2: GlobalMaxPool]:
 * first = 0: 3x3 pad 1 from 2 channels (im2col; the direct kernel for rows of 16+
 * columns, which writes NCHW), 1: 1x1 from 2 channels. A chain pays through a depthwise
 * conv of 16+ channels reading and writing NHWC. With the pool: the first one when C >= 16
 * and the first conv writes NHWC, the second when M >= 16. Without: the last 1x1 conv
 * writes the graph's output, NCHW, so its input is NCHW too (no 1x1 conv reads NHWC to
 * write NCHW; with M = 1 it is a depthwise conv, which may), and only the first
 * depthwise conv can pay. */
static void chain(int64_t N, int64_t C, int64_t M, int64_t H, int64_t W, int64_t s, int64_t pad, const char *act,
                  int first, int gap) {
    Tg t;
    tg_init(&t, N, 2, H, W);
    int v0 = first ? tg_conv(&t, 0, C, 1, 1, 1, 0, 1, act) : tg_conv(&t, 0, C, 3, 3, 1, 1, 1, act);
    int v1 = tg_conv(&t, v0, C, 3, 3, s, pad, C, act);
    int v2 = tg_conv(&t, v1, M, 1, 1, 1, 0, 1, act);
    int v3 = tg_conv(&t, v2, M, 3, 3, 1, 1, M, act);
    int v4 = tg_conv(&t, v3, M, 1, 1, 1, 0, 1, act);
    int out = gap == 2 ? tg_unary(&t, RT_OP_GLOBAL_MAX_POOL, "GlobalMaxPool", v4)
              : gap ? tg_unary(&t, RT_OP_GLOBAL_AVERAGE_POOL, "GlobalAveragePool", v4) : v4;
    tg_output(&t, out);
    unsigned char expect[TG_MAXV] = {0};
    const int nhwc0 = first || W < 16, pays = (C >= 16 && nhwc0) || (gap && M >= 16);
    expect[v0] = pays && nhwc0;
    expect[v1] = expect[v2] = (unsigned char)pays;
    expect[v3] = pays && (gap || M == 1);
    expect[v4] = pays && gap;
    char what[160];
    snprintf(what, sizeof what, "N%lld C%lld M%lld %lldx%lld s%lld p%lld %s first %s%s", (long long)N, (long long)C,
             (long long)M, (long long)H, (long long)W, (long long)s, (long long)pad, act ? act : "Conv",
             first ? "1x1" : "3x3", gap == 2 ? " gmp" : gap ? " gap" : "");
    tg_check(&t, expect, what);
    tg_free(&t);
}

Test(layout_nhwc, kws_block_shapes) {
    chain(1, 64, 64, 25, 5, 1, 1, "Relu", 0, 1);
    chain(1, 64, 64, 25, 5, 2, 1, "Relu", 0, 1);
    chain(1, 64, 64, 25, 5, 1, 0, "Relu", 1, 0);
}

Test(layout_nhwc, channel_counts) {
    static const int64_t cs[] = {1, 3, 17, 33, 64};
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++) chain(1, cs[i], cs[j], 5, 3, 1, 1, "Relu", (i + j) % 2, (i + j) % 3 != 0);
}

Test(layout_nhwc, planes_strides_pads) {
    static const int64_t hw[][2] = {{1, 1}, {5, 3}, {25, 5}, {9, 17}};
    for (int i = 0; i < 4; i++)
        for (int64_t s = 1; s <= 2; s++)
            for (int64_t pad = 0; pad <= 1; pad++) {
                if (hw[i][0] + 2 * pad < 3 || hw[i][1] + 2 * pad < 3) continue; /* no output */
                chain(1, 17, 33, hw[i][0], hw[i][1], s, pad, "Relu", (int)(s + pad) % 2, (int)pad);
            }
}

Test(layout_nhwc, activations_and_batch) {
    static const char *acts[] = {NULL, "Relu", "Clip", "LeakyRelu", "HardSigmoid", "Sigmoid"};
    for (int i = 0; i < 6; i++) chain(1 + i % 2, 33, 17, 9, 17, 1 + i % 2, 1, acts[i], i % 2, i % 3);
}

/* A chain value that is a graph output stays NCHW, and so does one read by a Relu (no NHWC
 * kernel) besides its conv; the rest of the chain still goes NHWC after them. Before them
 * the first conv's output stays NCHW too: the depthwise conv reading it would write NCHW,
 * which does not pay. */
Test(layout_nhwc, outputs_and_other_readers_stay_nchw) {
    for (int relu = 0; relu <= 1; relu++) {
        Tg t;
        tg_init(&t, 1, 2, 25, 5);
        int v0 = tg_conv(&t, 0, 64, 1, 1, 1, 0, 1, "Relu");
        int v1 = tg_conv(&t, v0, 64, 3, 3, 1, 1, 64, "Relu");
        int v2 = tg_conv(&t, v1, 33, 1, 1, 1, 0, 1, "Relu");
        int v3 = tg_conv(&t, v2, 33, 3, 3, 1, 1, 33, "Relu");
        int v4 = tg_conv(&t, v3, 17, 1, 1, 1, 0, 1, "Relu");
        int v5 = tg_unary(&t, RT_OP_GLOBAL_AVERAGE_POOL, "GlobalAveragePool", v4);
        tg_output(&t, v5);
        if (relu) tg_output(&t, tg_unary(&t, RT_OP_RELU, "Relu", v1));
        else tg_output(&t, v1);
        unsigned char expect[TG_MAXV] = {0};
        (void)v0;
        expect[v2] = expect[v3] = expect[v4] = 1;
        tg_check(&t, expect, relu ? "chain value also read by Relu" : "chain value is a graph output");
        tg_free(&t);
    }
}

/* A first conv whose padded input is too big to read its taps in place (more than 2^15
 * floats) writes NHWC through im2col: in strips (256 positions) or whole (100). */
Test(layout_nhwc, first_conv_on_im2col) {
    static const int64_t cases[][2] = {{128, 8}, {160, 16}}; /* input side, stride */
    for (int i = 0; i < 2; i++) {
        Tg t;
        tg_init(&t, 1, 2, cases[i][0], cases[i][0]);
        int v0 = tg_conv(&t, 0, 17, 3, 3, cases[i][1], 1, 1, "Relu");
        int v1 = tg_conv(&t, v0, 17, 3, 3, 1, 1, 17, "Relu");
        int v2 = tg_conv(&t, v1, 33, 1, 1, 1, 0, 1, "Clip");
        tg_output(&t, tg_unary(&t, RT_OP_GLOBAL_AVERAGE_POOL, "GlobalAveragePool", v2));
        unsigned char expect[TG_MAXV] = {0};
        expect[v0] = expect[v1] = expect[v2] = 1;
        tg_check(&t, expect, i ? "first conv on whole im2col" : "first conv on im2col strips");
        tg_free(&t);
    }
}

/* Work big enough that the kernels split it over 2 threads (the 1x1 GEMM's rows, the
 * depthwise conv's channel groups, the pool's channel blocks), and a batch of 2 on the
 * first conv's taps path: still the reference's results and one thread's bits. */
Test(layout_nhwc, split_work_and_batch) {
    chain(1, 128, 128, 16, 16, 1, 1, "Relu", 1, 1);
    chain(2, 128, 64, 16, 16, 2, 1, "Clip", 0, 1);
    chain(2, 33, 17, 9, 5, 1, 1, "Relu", 0, 1);
}

/* Dilated and asymmetrically padded convs on the NHWC paths: KWS's first conv shape (10x4,
 * stride 2, pads 5 1 5 1 as the model has them) and a dilated 3x3 first conv on the taps
 * path, then a dilated depthwise conv with pads on two sides only. */
Test(layout_nhwc, dilations_and_asymmetric_pads) {
    static const int64_t kws_pads[4] = {5, 1, 5, 1}, pads2[4] = {2, 0, 1, 2}, dwp[4] = {0, 2, 2, 0};
    for (int i = 0; i < 2; i++) {
        Tg t;
        tg_init(&t, 1, i ? 3 : 1, i ? 21 : 49, i ? 13 : 10);
        int v0 = i ? tg_conv_ex(&t, 0, 33, 3, 3, 1, pads2, 2, 1, "Relu") : tg_conv_ex(&t, 0, 64, 10, 4, 2, kws_pads, 1, 1, "Relu");
        int v1 = tg_conv_ex(&t, v0, i ? 33 : 64, 3, 3, 1, dwp, 2, i ? 33 : 64, "Clip");
        int v2 = tg_conv(&t, v1, 17, 1, 1, 1, 0, 1, "Relu");
        tg_output(&t, tg_unary(&t, RT_OP_GLOBAL_AVERAGE_POOL, "GlobalAveragePool", v2));
        unsigned char expect[TG_MAXV] = {0};
        expect[v0] = expect[v1] = expect[v2] = 1;
        tg_check(&t, expect, i ? "dilated 3x3 first conv, dilated depthwise" : "KWS's first conv, dilated depthwise");
        tg_free(&t);
    }
}

/* One node state across two plans of the same graph (a batch of 3, then 1, as wafer sweep
 * runs a model): the states the NHWC paths made for the first shape (W^T for cx_ngemm, the
 * depthwise packing) serve the second, whose outputs still match the reference. */
Test(layout_nhwc, state_across_input_shapes) {
    Tg t;
    tg_init(&t, 3, 2, 25, 5);
    int v0 = tg_conv(&t, 0, 64, 3, 3, 1, 1, 1, "Relu");
    int v1 = tg_conv(&t, v0, 64, 3, 3, 1, 1, 64, "Relu");
    int v2 = tg_conv(&t, v1, 33, 1, 1, 1, 0, 1, "Relu");
    tg_output(&t, tg_unary(&t, RT_OP_GLOBAL_AVERAGE_POOL, "GlobalAveragePool", v2));
    static const int input0 = 0;
    RtGraph g = {.n_values = t.n_values, .consts = t.consts, .n_nodes = t.n_nodes, .nodes = t.nodes,
                 .n_inputs = 1, .inputs = &input0, .n_outputs = t.n_outputs, .outputs = t.outputs};
    void *state[TG_MAXN] = {0};
    RtError err = {{0}};
    for (int64_t batch = 3; batch >= 1; batch -= 2) {
        int64_t xd[4] = {batch, 2, 25, 5};
        RtTensor x = rtt_tensor(RT_F32, 4, xd, t.xdata), want, got;
        RtRunOptions oref = {.ref_only = 1};
        cr_assert_eq(rt_graph_run_opts(&g, &x, &want, &oref, &err), RT_OK, "%s", err.msg);
        RtPlan p;
        RtPlanFast f;
        cr_assert_eq(rt_plan_build(&g, &x, &p, &err), RT_OK, "%s", err.msg);
        cr_assert_eq(rt_plan_fast_build(&g, &p, &f, &err), RT_OK, "%s", err.msg);
        cr_expect_eq(f.nhwc[v0] && f.nhwc[v1] && f.nhwc[v2], cx_cpu_ok(), "batch %lld: chain not NHWC", (long long)batch);
        void *arena = rt_allocator_default()->alloc(NULL, (size_t)p.arena_bytes + 64);
        RtRunOptions o = {.fast = &f, .node_state = state};
        for (int rep = 0; rep < 2; rep++) {
            cr_assert_eq(rt_plan_run(&g, &p, arena, &x, &got, &o, &err), RT_OK, "%s", err.msg);
            const float *r = want.data, *q = got.data;
            double big = 0;
            for (int64_t e = 0; e < rt_numel(&want); e++)
                if (fabs(r[e]) > big) big = fabs(r[e]);
            for (int64_t e = 0; e < rt_numel(&want); e++)
                cr_assert_leq(fabs((double)q[e] - r[e]), NHWC_REL_TOL * big, "batch %lld run %d element %lld: %.9g vs %.9g",
                              (long long)batch, rep, (long long)e, q[e], r[e]);
        }
        rt_allocator_default()->free(NULL, arena);
        rt_tensor_free(rt_allocator_default(), &want);
        rt_plan_fast_free(&f);
        rt_plan_free(&p);
    }
    for (int k = 0; k < t.n_nodes; k++) cr_expect(state[k] || k == t.n_nodes - 1, "node %d kept no state", k);
    rt_node_state_free(state, t.n_nodes, rt_allocator_default());
    tg_free(&t);
}
