/*
 * test_winograd_x86.c — the Winograd F(2x2, 3x3) float32 conv (runtime/kernels/x86/
 * conv_winograd_x86.c) against the reference Conv kernel (runtime/kernels/ref):
 *   - the kernel itself (cx_winograd_f32, called directly so every size is reached, also
 *     those the dispatch leaves to im2col): C, M in 1, 3, 7, 17, 33, planes 1x1 .. 17x13,
 *     pads 0 / 1 on each side (asymmetric too), batch 2, every fused activation; large
 *     planes cut into bands of tile rows (a band crossing from one image to the next);
 *     dilations 2, 3, 5 (and 2 x 3) with pads 0 .. 2d; weights transformed per call and
 *     from cx_winograd_u_make bit-identical; 1 and 2 threads bit-identical (bands over the
 *     threads, or one band's channel blocks);
 *   - through the optimized Conv / FusedConv kernel (rt_kernel_find_fast) on shapes the
 *     dispatch sends to Winograd (digits' 32 -> 64 on 8x8, 64 -> 64 on 4x4): the node's state
 *     kept across runs gives the same bits, a changed input shape and other weights are not
 *     served from a stale state, nor is the im2col path of another shape;
 *   - against onnxruntime (tests/ort_compare.h, `wafer run` on a one-Conv model): M-LSD's
 *     64 -> 64 on a large plane, plain and with dilation 5, and a dilation-2 conv with
 *     asymmetric pads.
 * Skipped without AVX-512 (the path is never selected there).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/kernels/ref/activation.h"
#include "../../runtime/kernels/x86/conv_x86.h"
#include "../../runtime/rt_exec.h"
#include "../../runtime/rt_threads.h"
#include "../frontend/onnx_proto_build.h"
#include "../ort_compare.h"
#include "rt_test_util.h"

/* The runtime's bar for float kernels: |fast - ref| <= 1e-5 * max|ref| over the output.
 * Winograd is exact in real arithmetic; in float the transforms add and subtract up to 9
 * terms on each side of the sum over channels (values up to ~4x the inputs, G's halves
 * exact), which moves an output by a few float32 roundings of the largest partial sums:
 * ~1e-6 of the largest output for the sums of at most 33 * 9 terms in [-1, 1] tested. */
#define WINO_REL_TOL 1e-5

static RtThreadPool *pool2;
static void setup_pool(void) {
    pool2 = rt_pool_new(2, NULL);
    cr_assert_not_null(pool2);
}
static void teardown_pool(void) { rt_pool_free(pool2); }

/* Deterministic values in [-1, 1]. */
static void fill(float *v, int64_t n, uint32_t seed) {
    for (int64_t i = 0; i < n; i++) v[i] = rtt_uniform(&seed, -1.0f, 1.0f);
}

/* max |ref| over finite elements, then the elements off by more than tol * that. */
static int count_off(const float *got, const float *ref, int64_t n, const char *what) {
    double big = 0;
    for (int64_t i = 0; i < n; i++)
        if (isfinite(ref[i]) && fabs(ref[i]) > big) big = fabs(ref[i]);
    int bad = 0;
    for (int64_t i = 0; i < n && bad < 5; i++) {
        int ok = fabs((double)got[i] - ref[i]) <= WINO_REL_TOL * big;
        cr_expect(ok, "%s: element %lld: got %.9g, ref %.9g (max |ref| %g)", what, (long long)i, got[i], ref[i], big);
        bad += !ok;
    }
    return bad;
}

/* The reference Conv (op RT_OP_CONV) of x [N, C, H, W] by w [M, C, 3, 3] + b, pads
 * (top, left, bottom, right), dilations dil (rows, columns), then act over the output
 * (rt_act_span, the reference's activation). Returns the output (caller frees), its dims
 * in yd. */
static float *ref_conv(int64_t N, int64_t C, int64_t H, int64_t W, int64_t M, const int64_t pads[4],
                       const int64_t dil[2], float *x, float *w, float *b, const RtAct *act, int64_t yd[4]) {
    int64_t xd[] = {N, C, H, W}, wd[] = {M, C, 3, 3}, bd[] = {M};
    RtTensor tx = rtt_tensor(RT_F32, 4, xd, x), tw = rtt_tensor(RT_F32, 4, wd, w), tb = rtt_tensor(RT_F32, 1, bd, b);
    RtTensor *in[] = {&tx, &tw, &tb}, out;
    RtAttr attrs[] = {rtt_attr_ints("pads", pads, 4), rtt_attr_ints("dilations", dil, 2)};
    cr_assert_eq(rtt_run_kernel(rt_kernel_find(RT_OP_CONV), NULL, RT_OP_CONV, 17, in, 3, &out, 1, attrs, 2, 0), RT_OK,
                 "ref: %s", rtt_err.msg);
    memcpy(yd, out.dims, sizeof(int64_t) * 4);
    if (act->kind != RT_ACT_NONE) rt_act_span(act, out.data, rt_numel(&out), NULL);
    return out.data;
}

static const int64_t dil1[2] = {1, 1};

/* cv for cx_winograd_f32: x [N, C, H, W], w [M, C, 3, 3], pads (top, left, bottom, right),
 * dilations dil (rows, columns). */
static CxConv wino_cv(int64_t N, int64_t C, int64_t H, int64_t W, int64_t M, const int64_t pads[4],
                      const int64_t dil[2], const float *x, const float *w, const float *b, float *y, RtAct act) {
    CxConv cv;
    memset(&cv, 0, sizeof cv);
    RtConvGeom *g = &cv.g;
    g->nsp = 2;
    int64_t in[] = {1, H, W}, out[] = {1, H + pads[0] + pads[2] - 2 * dil[0], W + pads[1] + pads[3] - 2 * dil[1]};
    for (int a = 0; a < 3; a++) {
        g->in[a] = in[a], g->out[a] = out[a];
        g->k[a] = a ? 3 : 1, g->stride[a] = 1, g->dil[a] = a ? dil[a - 1] : 1;
        g->pad0[a] = a ? pads[a - 1] : 0, g->pad1[a] = a ? pads[a + 1] : 0;
    }
    cv.N = N, cv.C = C, cv.M = M, cv.group = 1, cv.Cg = C, cv.Mg = M, cv.K = 9;
    cv.Pin = H * W, cv.Pout = out[1] * out[2];
    cv.x = x, cv.w = w, cv.b = b, cv.y = y, cv.act = act;
    return cv;
}

static int run_wino(RtThreadPool *pool, const CxConv *cv) {
    RtKernelCtx c = {.alloc = rt_allocator_default(), .err = &rtt_err, .pool = pool};
    return cx_winograd_f32(&c, cv);
}

/* One case through the kernel directly: per-call weights on 1 thread within tolerance of
 * the reference; the same bits with U made beforehand and on 2 threads. */
static void check_kernel_dil(int64_t N, int64_t C, int64_t H, int64_t W, int64_t M, const int64_t pads[4],
                             const int64_t dil[2], RtAct act) {
    char what[160];
    snprintf(what, sizeof what, "N %lld C %lld %lldx%lld M %lld pads %lld,%lld,%lld,%lld dil %lld,%lld act %d",
             (long long)N, (long long)C, (long long)H, (long long)W, (long long)M, (long long)pads[0],
             (long long)pads[1], (long long)pads[2], (long long)pads[3], (long long)dil[0], (long long)dil[1],
             (int)act.kind);
    int64_t nx = N * C * H * W, nw = M * C * 9;
    float *x = malloc(sizeof(float) * (size_t)nx), *w = malloc(sizeof(float) * (size_t)nw);
    float *b = malloc(sizeof(float) * (size_t)M);
    fill(x, nx, 21 + (uint32_t)C), fill(w, nw, 22 + (uint32_t)M), fill(b, M, 23);
    int64_t yd[4];
    float *ref = ref_conv(N, C, H, W, M, pads, dil, x, w, b, &act, yd);
    int64_t ny = yd[0] * yd[1] * yd[2] * yd[3];
    float *y1 = malloc(sizeof(float) * (size_t)ny), *y2 = malloc(sizeof(float) * (size_t)ny);
    float *y3 = malloc(sizeof(float) * (size_t)ny);
    CxConv cv = wino_cv(N, C, H, W, M, pads, dil, x, w, b, y1, act);
    cr_assert_eq(cv.g.out[1], yd[2], "%s: output height", what);
    cr_assert_eq(cv.g.out[2], yd[3], "%s: output width", what);
    cr_assert_eq(run_wino(NULL, &cv), RT_OK, "%s", what);
    count_off(y1, ref, ny, what);
    float *u = rt_allocator_default()->alloc(NULL, sizeof(float) * (size_t)cx_winograd_u_floats(&cv));
    cr_assert_not_null(u);
    cx_winograd_u_make(&cv, u);
    cv.wu = u, cv.y = y2;
    cr_assert_eq(run_wino(pool2, &cv), RT_OK, "%s", what);
    cr_expect_eq(memcmp(y1, y2, sizeof(float) * (size_t)ny), 0, "%s: 2 threads with U made once differ", what);
    cv.y = y3;
    cr_assert_eq(run_wino(NULL, &cv), RT_OK, "%s", what);
    cr_expect_eq(memcmp(y1, y3, sizeof(float) * (size_t)ny), 0, "%s: U made once differs", what);
    rt_allocator_default()->free(NULL, u);
    free(ref), free(y1), free(y2), free(y3), free(x), free(w), free(b);
}

static void check_kernel(int64_t N, int64_t C, int64_t H, int64_t W, int64_t M, const int64_t pads[4], RtAct act) {
    check_kernel_dil(N, C, H, W, M, pads, dil1, act);
}

static const RtAct no_act = {RT_ACT_NONE, 0, 0};

/* Every channel pair on a few planes, batch 2. */
Test(winograd_x86, channels, .init = setup_pool, .fini = teardown_pool) {
    if (!cx_cpu_ok()) cr_skip_test("no AVX-512");
    const int64_t ch[] = {1, 3, 7, 17, 33};
    const int64_t p1[] = {1, 1, 1, 1}, p0[] = {0, 0, 0, 0};
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++) {
            check_kernel(2, ch[i], 8, 8, ch[j], p1, no_act);
            check_kernel(2, ch[i], 7, 5, ch[j], p0, no_act);
        }
}

/* Planes 1x1 .. 17x13 (odd output sizes: partial last tiles), pads 0 / 1 on each side. */
Test(winograd_x86, planes_and_pads, .init = setup_pool, .fini = teardown_pool) {
    if (!cx_cpu_ok()) cr_skip_test("no AVX-512");
    const int64_t planes[][2] = {{1, 1}, {1, 3}, {2, 2}, {3, 3}, {4, 4}, {5, 4}, {3, 7}, {8, 8}, {9, 6}, {17, 13}};
    const int64_t pads[][4] = {{1, 1, 1, 1}, {0, 0, 0, 0}, {1, 0, 0, 1}, {0, 1, 1, 0}, {1, 1, 0, 0}, {0, 0, 1, 1}};
    for (size_t p = 0; p < sizeof planes / sizeof planes[0]; p++)
        for (size_t q = 0; q < sizeof pads / sizeof pads[0]; q++) {
            int64_t H = planes[p][0], W = planes[p][1];
            if (H + pads[q][0] + pads[q][2] < 3 || W + pads[q][1] + pads[q][3] < 3) continue; /* no output */
            check_kernel(2, 17, H, W, 33, pads[q], no_act);
            check_kernel(1, 3, H, W, 7, pads[q], no_act);
        }
}

/* Every fused activation (bias then activation, in registers; sigmoid by rt_act_span). */
Test(winograd_x86, activations, .init = setup_pool, .fini = teardown_pool) {
    if (!cx_cpu_ok()) cr_skip_test("no AVX-512");
    const RtAct acts[] = {{RT_ACT_RELU, 0, 0},         {RT_ACT_CLIP, -0.5f, 0.75f},     {RT_ACT_LEAKY_RELU, 0.1f, 0},
                          {RT_ACT_SIGMOID, 0, 0},      {RT_ACT_HARD_SIGMOID, 0.2f, 0.5f}};
    const int64_t p1[] = {1, 1, 1, 1};
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
        check_kernel(2, 17, 9, 7, 33, p1, acts[a]);
        check_kernel(1, 33, 4, 4, 17, p1, acts[a]);
    }
}

/* ---- through the optimized Conv kernel, with and without the node's state ---- */

typedef struct {
    int64_t xd[4], wd[4], bd[1];
    float *x, *w, *b;
} Net;

static Net net_make(int64_t N, int64_t C, int64_t H, int64_t W, int64_t M, uint32_t seed) {
    Net t = {{N, C, H, W}, {M, C, 3, 3}, {M}, NULL, NULL, NULL};
    t.x = malloc(sizeof(float) * (size_t)(N * C * H * W));
    t.w = malloc(sizeof(float) * (size_t)(M * C * 9));
    t.b = malloc(sizeof(float) * (size_t)M);
    fill(t.x, N * C * H * W, seed), fill(t.w, M * C * 9, seed + 1), fill(t.b, M, seed + 2);
    return t;
}

static void net_free(Net *t) { free(t->x), free(t->w), free(t->b); }

/* FusedConv Relu pad 1 of t on fn, the state in *state (NULL: none); the output (caller frees). */
static RtTensor net_run(RtKernelFn fn, RtThreadPool *pool, const Net *t, void **state) {
    RtTensor tx = rtt_tensor(RT_F32, 4, t->xd, t->x), tw = rtt_tensor(RT_F32, 4, t->wd, t->w);
    RtTensor tb = rtt_tensor(RT_F32, 1, t->bd, t->b), out;
    RtTensor *in[] = {&tx, &tw, &tb};
    const int64_t pads[] = {1, 1, 1, 1};
    RtAttr attrs[] = {rtt_attr_ints("pads", pads, 4), rtt_attr_str("activation", "Relu")};
    RttRun how = {.pool = pool, .node_state = state, .const_inputs = state ? 6u : 0};
    cr_assert_eq(rtt_run_kernel(fn, &how, RT_OP_FUSED_CONV, 17, in, 3, &out, 1, attrs, 2, 0), RT_OK, "%s",
                 rtt_err.msg);
    return out;
}

/* Digits' convs and larger planes in bands (M-LSD's 64 -> 64, 64 -> 48 on 24x20): the fast
 * kernel within tolerance, and with the node's state (U made at the first run, read at the
 * next ones, 1 and 2 threads) the same bits. */
Test(winograd_x86, dispatch_with_state, .init = setup_pool, .fini = teardown_pool) {
    if (!cx_cpu_ok()) cr_skip_test("no AVX-512");
    const int64_t shapes[][5] = {
        {1, 32, 8, 8, 64}, {1, 64, 4, 4, 64}, {2, 33, 7, 9, 17}, {1, 64, 40, 40, 64}, {2, 64, 24, 20, 48}};
    for (int s = 0; s < 5; s++) {
        Net t = net_make(shapes[s][0], shapes[s][1], shapes[s][2], shapes[s][3], shapes[s][4], 31 + (uint32_t)s);
        RtTensor ref = net_run(rt_kernel_find(RT_OP_FUSED_CONV), NULL, &t, NULL);
        RtTensor one = net_run(rt_kernel_find_fast(RT_OP_FUSED_CONV), NULL, &t, NULL);
        int64_t ny = rt_numel(&ref);
        char what[32];
        snprintf(what, sizeof what, "shape %d", s);
        count_off(one.data, ref.data, ny, what);
        /* the dispatch took the Winograd path: the kernel's own bits */
        const int64_t p1[] = {1, 1, 1, 1};
        float *yw = malloc(sizeof(float) * (size_t)ny);
        CxConv cv = wino_cv(t.xd[0], t.xd[1], t.xd[2], t.xd[3], t.wd[0], p1, dil1, t.x, t.w, t.b, yw,
                            (RtAct){RT_ACT_RELU, 0, 0});
        cr_expect(cx_winograd_fits(&cv), "%s: not a Winograd shape", what);
        cr_assert_eq(run_wino(NULL, &cv), RT_OK);
        cr_expect_eq(memcmp(yw, one.data, sizeof(float) * (size_t)ny), 0, "%s: not the Winograd kernel's bits", what);
        free(yw);
        void *state = NULL;
        for (int run = 0; run < 3; run++) {
            RtTensor st = net_run(rt_kernel_find_fast(RT_OP_FUSED_CONV), run == 2 ? pool2 : NULL, &t, &state);
            cr_expect_eq(memcmp(st.data, one.data, sizeof(float) * (size_t)ny), 0, "%s: run %d with state differs",
                         what, run);
            free(st.data);
        }
        cr_expect_not_null(state, "%s: no state kept", what);
        rt_node_state_free(&state, 1, rt_allocator_default());
        free(ref.data), free(one.data);
        net_free(&t);
    }
}

/* A state made for one conv is never used for another: the same node run on a new input
 * shape, with other weights of the same shape, on a shape for im2col, matches the
 * reference each time; a's weights on another batch keep the state's transformed weights. */
Test(winograd_x86, stale_state, .init = setup_pool, .fini = teardown_pool) {
    if (!cx_cpu_ok()) cr_skip_test("no AVX-512");
    Net a = net_make(1, 32, 8, 8, 64, 41), b = net_make(1, 32, 6, 10, 64, 51), c = net_make(1, 32, 8, 8, 64, 61);
    void *state = NULL;
    RtTensor first = net_run(rt_kernel_find_fast(RT_OP_FUSED_CONV), NULL, &a, &state);
    cr_assert_not_null(state);
    /* d: a's weights on a 20x20 input, which goes to im2col (planes over 16x16 take
     * Winograd's bands only with C * M / (C + M) >= 24, and 32 x 64 gives 21): that path
     * must not take Winograd's state for its packed weights */
    Net d = a;
    d.xd[2] = d.xd[3] = 20;
    d.x = malloc(sizeof(float) * 32 * 20 * 20);
    fill(d.x, 32 * 20 * 20, 81);
    /* e: a's weights on a batch of 3 (the state's U is kept, the cache takes e's shape) */
    Net e = a;
    e.xd[0] = 3;
    e.x = malloc(sizeof(float) * 3 * 32 * 8 * 8);
    fill(e.x, 3 * 32 * 8 * 8, 91);
    void *kept = state;
    const Net *later[] = {&b, &c, &d, &e, &e, &a};
    for (int i = 0; i < 6; i++) {
        RtTensor ref = net_run(rt_kernel_find(RT_OP_FUSED_CONV), NULL, later[i], NULL);
        RtTensor got = net_run(rt_kernel_find_fast(RT_OP_FUSED_CONV), NULL, later[i], &state);
        cr_assert_eq(rt_numel(&got), rt_numel(&ref), "case %d: output size", i);
        char what[32];
        snprintf(what, sizeof what, "later case %d", i);
        count_off(got.data, ref.data, rt_numel(&ref), what);
        if (i == 5)
            cr_expect_eq(memcmp(got.data, first.data, sizeof(float) * (size_t)rt_numel(&ref)), 0,
                         "the first conv again: other bits");
        free(ref.data), free(got.data);
    }
    cr_expect_eq(state, kept, "the state block was replaced");
    rt_node_state_free(&state, 1, rt_allocator_default());
    free(first.data);
    net_free(&a), net_free(&b), net_free(&c);
    free(d.x), free(e.x);
}

/* Convs big enough for the products to be split over 2 threads (WG_PAR_MIN: 2^21
 * multiply-adds), into blocks of 32 channels, and of 32 + 16 for M = 33: the same bits as
 * one thread (check_kernel). */
Test(winograd_x86, split_over_threads, .init = setup_pool, .fini = teardown_pool) {
    if (!cx_cpu_ok()) cr_skip_test("no AVX-512");
    const int64_t p1[] = {1, 1, 1, 1}, p0[] = {0, 0, 0, 0};
    check_kernel(2, 64, 16, 16, 64, p1, (RtAct){RT_ACT_RELU, 0, 0});
    check_kernel(2, 64, 15, 13, 33, p0, no_act);
    check_kernel(3, 40, 17, 13, 17, p1, no_act);
}

/* Large planes in bands of tile rows (WG_BAND_FLOATS: 1 to 3 tile rows for these widths):
 * the last band short, a band crossing into the next image (th = 20 tile rows, 3 a band),
 * partial last tiles, pads 0 / 1; 2 threads take the bands (check_kernel: the same bits). */
Test(winograd_x86, large_planes_in_bands, .init = setup_pool, .fini = teardown_pool) {
    if (!cx_cpu_ok()) cr_skip_test("no AVX-512");
    const int64_t p1[] = {1, 1, 1, 1}, p0[] = {0, 0, 0, 0}, pa[] = {0, 1, 1, 0};
    check_kernel(2, 64, 40, 37, 64, p1, (RtAct){RT_ACT_RELU, 0, 0});
    check_kernel(1, 48, 33, 45, 80, pa, no_act);
    check_kernel(2, 17, 29, 90, 33, p0, (RtAct){RT_ACT_SIGMOID, 0, 0});
    check_kernel(1, 128, 21, 19, 128, p1, (RtAct){RT_ACT_CLIP, 0, 6});
}

/* Dilated convs: a tile's points and outputs d apart, d tile rows interleaved over 2d
 * output rows; planes not a multiple of 2d (partial blocks), pads 0 .. 2d on each side,
 * other dilations on rows and columns, small planes and large ones (bands). */
Test(winograd_x86, dilations, .init = setup_pool, .fini = teardown_pool) {
    if (!cx_cpu_ok()) cr_skip_test("no AVX-512");
    const int64_t d2[] = {2, 2}, d3[] = {3, 3}, d5[] = {5, 5}, d23[] = {2, 3}, d51[] = {5, 1};
    const int64_t p1[] = {1, 1, 1, 1}, p0[] = {0, 0, 0, 0}, p2[] = {2, 2, 2, 2}, p5[] = {5, 5, 5, 5};
    const int64_t pa[] = {0, 4, 3, 1}, pb[] = {6, 0, 2, 6};
    check_kernel_dil(2, 17, 9, 11, 33, p2, d2, no_act);
    check_kernel_dil(1, 33, 13, 8, 17, pa, d2, no_act);
    check_kernel_dil(2, 16, 23, 17, 16, p0, d3, (RtAct){RT_ACT_LEAKY_RELU, 0.1f, 0});
    check_kernel_dil(1, 20, 17, 25, 24, pb, d3, no_act);
    check_kernel_dil(1, 64, 40, 40, 64, p5, d5, (RtAct){RT_ACT_RELU, 0, 0});
    check_kernel_dil(2, 24, 19, 31, 40, p1, d23, no_act);
    check_kernel_dil(1, 48, 34, 29, 48, p2, d51, (RtAct){RT_ACT_HARD_SIGMOID, 0.2f, 0.5f});
}

/* ---- against onnxruntime: a one-Conv model run by `wafer run` (whose optimized Conv
 * takes these shapes to Winograd, checked with cx_winograd_fits) ---- */

/* Every output within atol of onnxruntime's (which sums directly, in its own order): the
 * runtime's 1e-5 of max|ref| (WINO_REL_TOL) for these sums of up to 576 products of values
 * in [-1, 1] with random signs, whose largest outputs are ~30 (|sum| ~ sqrt(576) / 3 = 8
 * typical, over 10^5 outputs up to ~4.5 times that): 3e-4. */
static const OrtcTol WINO_ORT_TOL = {3e-4, 0, 0};

static void check_ort(const char *tag, int64_t C, int64_t H, int64_t W, int64_t M, const int64_t pads[4],
                      const int64_t dil[2]) {
    CxConv cv = wino_cv(1, C, H, W, M, pads, dil, NULL, NULL, NULL, NULL, no_act);
    cr_expect(cx_winograd_fits(&cv), "%s: not a Winograd shape", tag);
    Onnx__GraphProto *g = pb_graph("g");
    Onnx__NodeProto *n = pb_add_node(g, pb_node("Conv", "conv", "x,w,b", "y"));
    pb_attr_ints(n, "pads", 4, pads);
    pb_attr_ints(n, "dilations", 2, dil);
    const int64_t ks[] = {3, 3};
    pb_attr_ints(n, "kernel_shape", 2, ks);
    float *w = pb_zalloc(sizeof(float) * (size_t)(M * C * 9)), *b = pb_zalloc(sizeof(float) * (size_t)M);
    fill(w, M * C * 9, 71), fill(b, M, 72);
    const int64_t wd[] = {M, C, 3, 3}, bd[] = {M};
    pb_add_init(g, pb_tensor_floats(pb_tensor("w", RT_F32, 4, wd), (size_t)(M * C * 9), w));
    pb_add_init(g, pb_tensor_floats(pb_tensor("b", RT_F32, 1, bd), (size_t)M, b));
    char dims[64];
    snprintf(dims, sizeof dims, "1,%lld,%lld,%lld", (long long)C, (long long)H, (long long)W);
    pb_add_input(g, pb_value("x", RT_F32, dims));
    pb_add_output(g, pb_value("y", RT_F32, NULL));
    size_t len;
    uint8_t *m = pb_model_pack(g, 8, 17, "test_winograd_x86", &len);
    float *x = pb_zalloc(sizeof(float) * (size_t)(C * H * W));
    fill(x, C * H * W, 73);
    OrtcInput in = {"x", {.dtype = RT_F32, .rank = 4, .dims = {1, C, H, W}, .data = x}};
    if (!ortc_compare(tag, m, len, &in, 1, &WINO_ORT_TOL)) cr_skip_test("onnxruntime-node is not installed");
}

Test(winograd_x86, against_onnxruntime, .init = setup_pool, .fini = teardown_pool) {
    if (!cx_cpu_ok()) cr_skip_test("no AVX-512");
    const int64_t p1[] = {1, 1, 1, 1}, p5[] = {5, 5, 5, 5}, pa[] = {2, 0, 1, 3}, d2[] = {2, 2}, d5[] = {5, 5};
    check_ort("wafer_wino_80", 64, 80, 80, 64, p1, dil1);
    check_ort("wafer_wino_80d5", 64, 80, 80, 64, p5, d5);
    check_ort("wafer_wino_d2", 48, 30, 33, 56, pa, d2);
    pb_release_all();
}
