/*
 * test_conv_x86.c — the optimized float32 Conv / FusedConv kernels (runtime/kernels/x86/
 * conv_x86.c, dwconv_avx512.c, conv_direct_x86.c, conv_gemm_x86.c) against the reference
 * kernels (rt_kernel_find) on odd shapes: depthwise (row and flat kernels, strides 1, 2, 3,
 * dilations, asymmetric pads, auto_pad), 1x1, direct (few input channels, wide rows),
 * im2col (3x3 stems, KWS's 10x4, grouped,
 * depthwise with a channel multiplier), every fused activation; 1 and 2 threads must give
 * bit-identical outputs; float64, shape-only runs and malformed nodes go to the reference
 * unchanged. Each case also runs with the node's state kept across runs (weights packed
 * once): the same bits; the fused activation gives the bits of the Conv followed by
 * rt_act_span.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/kernels/ref/activation.h"
#include "../../runtime/rt_exec.h"
#include "../../runtime/rt_threads.h"
#include "rt_test_util.h"

/* The bar for float kernels: |fast - ref| <= 1e-5 * max|ref| over the output. The
 * optimized kernels sum the same products in another order (bias first, FMA, the GEMM's
 * blocking), which moves each output by a few float32 roundings of its largest partial sum,
 * far below this for the sums of at most a few hundred terms in [-1, 1] tested here. */
#define CONV_X86_REL_TOL 1e-5

/* Deterministic values in [-1, 1]. */
static void fill(float *v, int64_t n, uint32_t seed) {
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        v[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

/* Runs fn (one output) on pool as the executor would; returns its status. With state not
 * NULL, as the runtime runs it: the node's state kept in *state, W and B constants. */
static int run_fn_state(RtKernelFn fn, RtThreadPool *pool, int op, RtTensor **in, int n_in, RtTensor *out,
                        RtAttr *attrs, int n_attr, int shape_only, void **state) {
    RttRun how = {.pool = pool, .node_state = state, .const_inputs = state ? 6u : 0};
    return rtt_run_kernel(fn, &how, op, 17, in, n_in, out, 1, attrs, n_attr, shape_only);
}

static int run_fn(RtKernelFn fn, RtThreadPool *pool, int op, RtTensor **in, int n_in, RtTensor *out, RtAttr *attrs,
                  int n_attr, int shape_only) {
    return run_fn_state(fn, pool, op, in, n_in, out, attrs, n_attr, shape_only, NULL);
}

/* One conv case: input dims xd (rank 3 or 4), weight dims wd, bias or not, attributes. */
typedef struct {
    int op;             /* RT_OP_CONV or RT_OP_FUSED_CONV */
    int rank;
    int64_t xd[4], wd[4];
    int bias;
    RtAttr attrs[8];
    int n_attr;
    float nan_at;       /* > 0: x[(int)(nan_at * numel)] = NaN */
} ConvCase;

static RtThreadPool *pool2;
static void check_act_fused(const ConvCase *k, const char *what);

static void setup_pool(void) {
    pool2 = rt_pool_new(2, NULL);
    cr_assert_not_null(pool2);
}

static void teardown_pool(void) { rt_pool_free(pool2); }

/* Runs the case through the reference and through the optimized kernel on 1 and 2
 * threads: optimized within CONV_X86_REL_TOL of the reference, 1 and 2 threads
 * bit-identical. */
static void check_case(const ConvCase *k, const char *what) {
    int64_t nx = 1, nw = 1, M = k->wd[0];
    for (int i = 0; i < k->rank; i++) nx *= k->xd[i], nw *= k->wd[i];
    int64_t bd[1] = {M};
    float *x = malloc(sizeof(float) * (size_t)nx), *w = malloc(sizeof(float) * (size_t)nw);
    float *b = malloc(sizeof(float) * (size_t)M);
    fill(x, nx, 11), fill(w, nw, 12), fill(b, M, 13);
    if (k->nan_at > 0) x[(int64_t)(k->nan_at * (float)nx)] = NAN;
    RtTensor tx = rtt_tensor(RT_F32, k->rank, k->xd, x), tw = rtt_tensor(RT_F32, k->rank, k->wd, w);
    RtTensor tb = rtt_tensor(RT_F32, 1, bd, b), ref, one, two;
    RtTensor *in[] = {&tx, &tw, k->bias ? &tb : NULL};
    RtAttr *attrs = (RtAttr *)k->attrs;
    cr_assert_eq(run_fn(rt_kernel_find(k->op), NULL, k->op, in, 3, &ref, attrs, k->n_attr, 0), RT_OK, "%s: ref: %s",
                 what, rtt_err.msg);
    RtKernelFn fast = rt_kernel_find_fast(k->op);
    cr_assert_eq(run_fn(fast, NULL, k->op, in, 3, &one, attrs, k->n_attr, 0), RT_OK, "%s: %s", what, rtt_err.msg);
    cr_assert_eq(run_fn(fast, pool2, k->op, in, 3, &two, attrs, k->n_attr, 0), RT_OK, "%s: %s", what, rtt_err.msg);
    rtt_expect_dims(&one, ref.rank, ref.dims);
    rtt_expect_dims(&two, ref.rank, ref.dims);
    int64_t ny = rt_numel(&ref);
    const float *r = ref.data, *o = one.data;
    double big = 0;
    for (int64_t i = 0; i < ny; i++)
        if (isfinite(r[i]) && fabs(r[i]) > big) big = fabs(r[i]);
    int bad = 0;
    for (int64_t i = 0; i < ny && bad < 5; i++) {
        int ok = isnan(r[i]) ? isnan(o[i]) : fabs((double)o[i] - r[i]) <= CONV_X86_REL_TOL * big;
        cr_expect(ok, "%s: element %lld: got %.9g, ref %.9g (max |ref| %g)", what, (long long)i, o[i], r[i], big);
        bad += !ok;
    }
    cr_expect_eq(memcmp(one.data, two.data, sizeof(float) * (size_t)ny), 0, "%s: 1 and 2 threads differ", what);
    /* with the node's state (the weights packed at the first run and read from the state at
     * the next): the same bits, on 1 and 2 threads */
    void *state = NULL;
    for (int run = 0; run < 3; run++) {
        RtTensor st;
        cr_assert_eq(run_fn_state(fast, run == 2 ? pool2 : NULL, k->op, in, 3, &st, attrs, k->n_attr, 0, &state), RT_OK,
                     "%s: with state: %s", what, rtt_err.msg);
        cr_expect_eq(memcmp(st.data, one.data, sizeof(float) * (size_t)ny), 0, "%s: run %d with the node's state differs",
                     what, run);
        free(st.data);
    }
    rt_node_state_free(&state, 1, rt_allocator_default());
    free(ref.data), free(one.data), free(two.data);
    free(x), free(w), free(b);
}

/* A 2-D case: X [N, C, H, W], W [M, C / group, kh, kw]. */
static ConvCase case2d(int64_t N, int64_t C, int64_t H, int64_t W, int64_t M, int64_t group, int64_t kh, int64_t kw) {
    ConvCase k;
    memset(&k, 0, sizeof k);
    k.op = RT_OP_CONV;
    k.rank = 4;
    int64_t xd[] = {N, C, H, W}, wd[] = {M, C / group, kh, kw};
    memcpy(k.xd, xd, sizeof xd);
    memcpy(k.wd, wd, sizeof wd);
    k.bias = 1;
    if (group != 1) k.attrs[k.n_attr++] = rtt_attr_int("group", group);
    return k;
}

static void add_attr(ConvCase *k, RtAttr a) {
    cr_assert(k->n_attr < 8);
    k->attrs[k->n_attr++] = a;
}

static const int64_t s1[] = {1, 1}, s2[] = {2, 2}, s3[] = {3, 3}, s21[] = {2, 1}, s12[] = {1, 2};
static const int64_t p1[] = {1, 1, 1, 1}, p0[] = {0, 0, 0, 0}, pasym[] = {0, 2, 1, 0}, pwide[] = {3, 1, 2, 4};
static const int64_t pvert[] = {3, 1, 2, 1}; /* uneven vertically, rows keep their width for kw = 3 */
static const int64_t d2[] = {2, 2}, d13[] = {1, 3}, d21[] = {2, 1};
static const int64_t p2x[] = {4, 4, 4, 4}; /* 5x5 dilated by 2 keeps the size */

TestSuite(conv_x86, .init = setup_pool, .fini = teardown_pool);

Test(conv_x86, optimized_kernels_are_registered) {
    cr_assert_not_null(rt_kernel_find_fast(RT_OP_CONV));
    cr_assert_neq((void *)rt_kernel_find_fast(RT_OP_CONV), (void *)rt_kernel_find(RT_OP_CONV));
    cr_assert_neq((void *)rt_kernel_find_fast(RT_OP_FUSED_CONV), (void *)rt_kernel_find(RT_OP_FUSED_CONV));
}

/* Depthwise (group = C = M): the row kernel (wide rows), strides 1, 2 (whole planes and
 * bands of rows split into even and odd columns) and 3 (gather), dilations, asymmetric and
 * no padding, 5x5, 10x4, 1-wide and 1-tall planes, batch 2. */
Test(conv_x86, depthwise_row_kernel) {
    struct { int64_t N, C, H, W, kh, kw; const int64_t *st, *pads, *dil; } cs[] = {
        {1, 17, 17, 33, 3, 3, s1, p1, NULL},  {2, 3, 33, 33, 3, 3, s2, p1, NULL},
        {1, 5, 17, 40, 3, 3, s3, p1, NULL},   {1, 3, 19, 37, 5, 5, s1, pasym, d2},
        {1, 4, 20, 35, 5, 5, s2, pwide, NULL}, {1, 2, 16, 48, 3, 3, s21, p0, NULL},
        {1, 3, 9, 100, 3, 3, s12, pasym, d13}, {1, 1, 33, 1, 3, 3, s1, p1, NULL},
        {1, 2, 1, 65, 3, 3, s2, p1, NULL},    {1, 3, 20, 20, 10, 4, s2, pwide, NULL},
        {1, 2, 30, 30, 1, 1, s2, p0, NULL},   {1, 3, 24, 32, 2, 2, s2, p0, NULL},
        /* stride 2 along W on planes too big to split whole: bands of output rows */
        {2, 3, 70, 100, 3, 3, s2, p1, NULL},  {1, 2, 100, 90, 5, 5, s2, pasym, d2},
        {1, 2, 90, 100, 3, 3, s12, pwide, NULL},
        /* enough work to be split over 2 threads */
        {1, 32, 56, 56, 3, 3, s1, p1, NULL},  {2, 16, 60, 61, 3, 3, s2, p1, NULL},
        /* planes of whole lines: at 2 threads split by output rows when the input plane is
         * 32 KiB or more (dw_rows_cut): 56x56 from 112x112, bands of stride 2 (100x80),
         * 96x96 (cut at row 48), batch 2 of 128x64, 5x5 dilated; smaller planes by channels
         * (28x28 from 56x56, 32x32) */
        {1, 7, 56, 56, 3, 3, s2, p1, NULL},   {2, 5, 32, 32, 3, 3, s1, p1, NULL},
        {1, 8, 112, 112, 3, 3, s2, p1, NULL}, {1, 2, 200, 160, 3, 3, s2, p1, NULL},
        {1, 4, 96, 96, 3, 3, s1, p1, NULL},   {2, 3, 128, 64, 3, 3, s1, p1, NULL},
        {1, 2, 96, 96, 5, 5, s1, p2x, d2},
    };
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        ConvCase k = case2d(cs[i].N, cs[i].C, cs[i].H, cs[i].W, cs[i].C, cs[i].C, cs[i].kh, cs[i].kw);
        add_attr(&k, rtt_attr_ints("strides", cs[i].st, 2));
        add_attr(&k, rtt_attr_ints("pads", cs[i].pads, 4));
        if (cs[i].dil) add_attr(&k, rtt_attr_ints("dilations", cs[i].dil, 2));
        k.bias = (int)(i % 3 != 1);
        char what[64];
        snprintf(what, sizeof what, "depthwise case %zu", i);
        check_case(&k, what);
        if (i >= 17) { /* the row split with the sigmoid, applied after the rows' taps */
            k.op = RT_OP_FUSED_CONV;
            add_attr(&k, rtt_attr_str("activation", "Sigmoid"));
            snprintf(what, sizeof what, "depthwise case %zu sigmoid", i);
            check_case(&k, what);
        }
    }
}

/* Depthwise on narrow planes, stride 1: the direct kernel (output rows as wide as the
 * input: KWS's 25x5, 7x7, 5x5 taps, vertical padding asymmetric and dilated) and the flat
 * one (other widths: dilated, asymmetric pads), a plane too big for the flat kernel's stack
 * buffer. */
Test(conv_x86, depthwise_narrow_kernels) {
    static const int64_t pv[] = {2, 1, 0, 1}, p2[] = {2, 2, 2, 2};
    struct { int64_t C, H, W, kh, kw; const int64_t *pads, *dil; } cs[] = {
        {64, 25, 5, 3, 3, p1, NULL}, {9, 7, 7, 3, 3, p1, NULL},  {5, 11, 6, 3, 3, pasym, d2},
        {3, 13, 3, 5, 5, pwide, NULL}, {7, 9, 9, 1, 1, p0, NULL}, {3, 200, 8, 3, 3, p1, NULL},
        {2, 5, 1, 3, 1, p1, d13},      {4, 9, 6, 3, 3, pv, d21},   {3, 12, 8, 5, 5, p2, NULL},
        {5, 3, 2, 1, 1, p0, NULL},
    };
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        ConvCase k = case2d(1, cs[i].C, cs[i].H, cs[i].W, cs[i].C, cs[i].C, cs[i].kh, cs[i].kw);
        add_attr(&k, rtt_attr_ints("pads", cs[i].pads, 4));
        if (cs[i].dil) add_attr(&k, rtt_attr_ints("dilations", cs[i].dil, 2));
        k.bias = (int)(i % 2 == 0);
        char what[64];
        snprintf(what, sizeof what, "narrow depthwise case %zu", i);
        check_case(&k, what);
    }
}

/* Depthwise on small planes of at least 16 channels: the channel-lanes kernel (16 channels
 * per vector through a padded grid), a last group of fewer than 16 channels, strides 1 and
 * 2, dilations, asymmetric pads, 5x5 taps, batch 2, every activation. */
Test(conv_x86, depthwise_channel_lanes) {
    static const int64_t pv[] = {2, 1, 0, 1};
    struct { int64_t N, C, H, W, kh, kw; const int64_t *st, *pads, *dil; } cs[] = {
        {1, 64, 25, 5, 3, 3, s1, p1, NULL},   {1, 17, 7, 7, 3, 3, s1, p1, NULL},  {2, 40, 14, 14, 3, 3, s2, p1, NULL},
        {1, 33, 9, 11, 3, 3, s21, pasym, d2}, {1, 16, 6, 5, 5, 5, s1, pwide, NULL}, {1, 48, 8, 3, 3, 1, s12, pv, d13},
        {2, 20, 1, 1, 3, 3, s1, p1, NULL},    {1, 31, 16, 16, 3, 3, s1, p0, NULL},
        {1, 160, 14, 14, 3, 3, s1, p1, NULL}, /* enough work to be split over 2 threads */
    };
    static const char *acts[] = {"", "Relu", "LeakyRelu", "Sigmoid", "HardSigmoid"};
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++)
        for (int a = 0; a < 5; a++) {
            ConvCase k = case2d(cs[i].N, cs[i].C, cs[i].H, cs[i].W, cs[i].C, cs[i].C, cs[i].kh, cs[i].kw);
            k.op = RT_OP_FUSED_CONV;
            add_attr(&k, rtt_attr_ints("strides", cs[i].st, 2));
            add_attr(&k, rtt_attr_ints("pads", cs[i].pads, 4));
            if (cs[i].dil) add_attr(&k, rtt_attr_ints("dilations", cs[i].dil, 2));
            if (acts[a][0]) add_attr(&k, rtt_attr_str("activation", acts[a]));
            k.bias = (int)((i + (size_t)a) % 2 == 0);
            k.nan_at = a == 1 ? 0.3f : 0.0f;
            char what[80];
            snprintf(what, sizeof what, "channel-lanes depthwise case %zu activation '%s'", i, acts[a]);
            check_case(&k, what);
            check_act_fused(&k, what);
        }
}

/* auto_pad SAME_UPPER, SAME_LOWER (odd total padding lands on opposite sides) and VALID,
 * on the depthwise and the im2col paths. */
Test(conv_x86, auto_pad) {
    const char *modes[] = {"SAME_UPPER", "SAME_LOWER", "VALID"};
    for (int m = 0; m < 3; m++)
        for (int dw = 0; dw < 2; dw++) {
            ConvCase k = dw ? case2d(1, 6, 17, 18, 6, 6, 4, 3) : case2d(1, 3, 17, 18, 5, 1, 4, 3);
            add_attr(&k, rtt_attr_str("auto_pad", modes[m]));
            add_attr(&k, rtt_attr_ints("strides", m == 2 ? s1 : s2, 2));
            char what[64];
            snprintf(what, sizeof what, "auto_pad %s %s", modes[m], dw ? "depthwise" : "im2col");
            check_case(&k, what);
        }
}

/* 1x1 stride-1 unpadded convs: plain, batched, grouped, large outputs, 1-D. */
Test(conv_x86, pointwise) {
    struct { int64_t N, C, H, W, M, group; } cs[] = {
        {1, 17, 5, 7, 33, 1}, {2, 3, 17, 33, 1, 1}, {1, 1, 3, 3, 17, 1},
        {1, 6, 9, 11, 10, 2}, {1, 64, 40, 41, 96, 1}, {1, 320, 7, 7, 100, 1},
        {1, 5, 120, 121, 37, 1}, /* output beyond 2^19 floats */
        /* summed in two halves of the input channels (cx_pointwise_ksplit: C >= 256, a
         * multiple of 32, M <= C / 2; Conv only): odd positions, batch 2, one position,
         * MobileNet's 14x14 shape, M of one row panel plus one */
        {2, 288, 13, 9, 17, 1}, {1, 256, 1, 1, 3, 1}, {1, 384, 14, 14, 64, 1}, {1, 512, 3, 43, 129, 1},
        {1, 256, 7, 7, 129, 1}, /* M > C / 2: one GEMM */
    };
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++)
        for (int fused = 0; fused < 2; fused++) {
            /* the halves' cases as Conv only: the split is for no activation, and Clip at 0.5
             * would leave max |ref| far below the sums of ~500 terms the tolerance covers */
            if (fused && i >= 7) continue;
            ConvCase k = case2d(cs[i].N, cs[i].C, cs[i].H, cs[i].W, cs[i].M, cs[i].group, 1, 1);
            if (fused) {
                k.op = RT_OP_FUSED_CONV;
                add_attr(&k, rtt_attr_str("activation", "Clip"));
                add_attr(&k, rtt_attr_float("alpha", 0.0f));
                add_attr(&k, rtt_attr_float("beta", 0.5f));
            }
            k.bias = (int)(i != 2);
            char what[64];
            snprintf(what, sizeof what, "pointwise case %zu fused %d", i, fused);
            check_case(&k, what);
        }
    ConvCase k1 = {RT_OP_CONV, 3, {2, 17, 33, 0}, {5, 17, 1, 0}, 1, {{0}}, 0, 0};
    check_case(&k1, "pointwise 1-D");
}

/* im2col (and the direct kernel, for the cases with few taps and wide rows): 3x3 stems
 * (stride 2, C = 3), a 5x5 one, KWS's 10x4 stride-2 first conv, digits' 3x3 convs on
 * 8x8 and 4x4 maps (narrow outputs: the direct im2col when rows keep their width, else the
 * flat one, strides 1 and 2 on either axis),
 * grouped, depthwise with a channel multiplier, a strided 1x1, dilations, batch 2, wide
 * outputs cut into several strips, stride 3, 1-D. */
Test(conv_x86, im2col) {
    struct { int64_t N, C, H, W, M, group, kh, kw; const int64_t *st, *pads, *dil; } cs[] = {
        {1, 3, 33, 33, 17, 1, 3, 3, s2, p1, NULL},   {1, 1, 49, 10, 64, 1, 10, 4, s2, pwide, NULL},
        {1, 1, 8, 8, 32, 1, 3, 3, s1, p1, NULL},     {1, 32, 8, 8, 64, 1, 3, 3, s1, p1, NULL},
        {1, 64, 4, 4, 64, 1, 3, 3, s1, p1, NULL},    {2, 6, 17, 17, 10, 2, 3, 3, s1, pasym, NULL},
        {1, 3, 17, 19, 6, 3, 3, 3, s1, p1, NULL},    {1, 5, 17, 17, 7, 1, 1, 1, s2, p0, NULL},
        {1, 4, 21, 23, 3, 1, 3, 5, s12, pwide, d2},  {1, 3, 100, 101, 8, 1, 3, 3, s1, p1, NULL},
        {1, 3, 224, 224, 32, 1, 3, 3, s2, p1, NULL}, {1, 8, 40, 40, 33, 1, 5, 5, s1, pasym, d13},
        {1, 2, 3, 3, 3, 1, 3, 3, s3, p0, NULL},      {1, 3, 9, 11, 5, 1, 3, 3, s21, pasym, d13},
        {1, 4, 10, 7, 6, 2, 3, 2, s12, pwide, NULL}, {2, 2, 12, 9, 3, 1, 5, 3, s2, pwide, d2},
        {1, 3, 5, 30, 4, 1, 1, 3, s2, p1, NULL},      {1, 3, 40, 41, 8, 1, 5, 5, s2, p1, NULL},
        /* stride 1, output rows as wide as the input: the direct im2col (vertical pads free) */
        {1, 5, 7, 9, 6, 1, 3, 3, s1, p1, NULL},     {2, 4, 6, 5, 3, 1, 5, 3, s1, pvert, d21},
        /* ... with 48 + 1 columns (the GEMM's narrow last panel) over two K blocks, three
         * 48-column panels and a partial one, fewer than 16 columns, groups */
        {1, 33, 7, 7, 9, 1, 3, 3, s1, p1, NULL},    {1, 40, 13, 13, 20, 1, 3, 3, s1, p1, NULL},
        {1, 2, 3, 3, 5, 1, 3, 3, s1, p1, NULL},     {2, 6, 8, 8, 4, 2, 3, 3, s1, p1, NULL},
    };
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        ConvCase k = case2d(cs[i].N, cs[i].C, cs[i].H, cs[i].W, cs[i].M, cs[i].group, cs[i].kh, cs[i].kw);
        add_attr(&k, rtt_attr_ints("strides", cs[i].st, 2));
        add_attr(&k, rtt_attr_ints("pads", cs[i].pads, 4));
        if (cs[i].dil) add_attr(&k, rtt_attr_ints("dilations", cs[i].dil, 2));
        k.bias = (int)(i % 4 != 3);
        char what[64];
        snprintf(what, sizeof what, "im2col case %zu", i);
        check_case(&k, what);
    }
    const int64_t st1[] = {2}, pd1[] = {1, 2};
    ConvCase k1 = {RT_OP_CONV, 3, {1, 16, 40, 0}, {7, 16, 5, 0}, 1, {{0}}, 0, 0};
    add_attr(&k1, rtt_attr_ints("strides", st1, 1));
    add_attr(&k1, rtt_attr_ints("pads", pd1, 2));
    check_case(&k1, "im2col 1-D");
}

/* Few taps (Cg * kH * kW <= 64) and output rows of 16+ columns: the direct kernel
 * (MobileNet's stem and smaller: strides 1 and 2 along W, 1 to 3 along H, dilations,
 * asymmetric pads, M not a multiple of 8, a 1-wide M, 64 taps, output rows of 16, 17, 127,
 * 128, 129 columns, bands of fewer rows on wide planes, batch 2 over 2 threads, 1-D, a padded
 * 1x1); rows too wide for its band buffer go to im2col. */
Test(conv_x86, direct_kernel) {
    static const int64_t s31[] = {3, 1}, p2[] = {2, 2, 2, 2};
    struct { int64_t N, C, H, W, M, kh, kw; const int64_t *st, *pads, *dil; } cs[] = {
        {1, 3, 33, 33, 17, 3, 3, s2, p1, NULL},      {2, 3, 40, 37, 8, 3, 3, s1, p1, NULL},
        {1, 1, 20, 129, 5, 3, 3, s1, pasym, NULL},   {1, 2, 31, 127, 33, 3, 3, s2, pwide, NULL},
        {1, 4, 18, 40, 9, 4, 4, s2, p1, NULL},       {1, 3, 19, 50, 7, 3, 3, s21, pasym, d2},
        {1, 3, 21, 70, 16, 3, 5, s12, pwide, d13},   {1, 3, 10, 33, 3, 1, 1, s1, p1, NULL},
        {1, 7, 30, 17, 24, 3, 3, s1, p1, NULL},      {1, 3, 25, 16, 1, 3, 3, s31, p2, NULL},
        {1, 2, 9, 600, 4, 3, 3, s1, p1, NULL},       {1, 3, 5, 3000, 2, 3, 3, s2, p1, NULL},
        {1, 3, 12, 258, 6, 3, 3, s2, p0, NULL},      {2, 3, 64, 64, 32, 3, 3, s2, p1, NULL},
        {1, 3, 7, 127, 3, 3, 3, s1, p1, NULL},       {1, 2, 5, 16, 9, 3, 3, s1, p1, NULL},
    };
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        ConvCase k = case2d(cs[i].N, cs[i].C, cs[i].H, cs[i].W, cs[i].M, 1, cs[i].kh, cs[i].kw);
        add_attr(&k, rtt_attr_ints("strides", cs[i].st, 2));
        add_attr(&k, rtt_attr_ints("pads", cs[i].pads, 4));
        if (cs[i].dil) add_attr(&k, rtt_attr_ints("dilations", cs[i].dil, 2));
        k.bias = (int)(i % 3 != 2);
        if (i % 2) {
            k.op = RT_OP_FUSED_CONV;
            add_attr(&k, rtt_attr_str("activation", i % 4 == 1 ? "Relu" : "LeakyRelu"));
        }
        char what[64];
        snprintf(what, sizeof what, "direct case %zu", i);
        check_case(&k, what);
        if (i % 2) check_act_fused(&k, what);
    }
    const int64_t st1[] = {2}, pd1[] = {1, 2};
    ConvCase k1 = {RT_OP_CONV, 3, {1, 3, 40, 0}, {7, 3, 5, 0}, 1, {{0}}, 0, 0};
    add_attr(&k1, rtt_attr_ints("strides", st1, 1));
    add_attr(&k1, rtt_attr_ints("pads", pd1, 2));
    check_case(&k1, "direct 1-D");
}

/* The fused activation (in the GEMM's store, or in registers for depthwise) gives the bits
 * of the optimized Conv without it followed by rt_act_span over its output. k: a FusedConv. */
static void check_act_fused(const ConvCase *k, const char *what) {
    int64_t nx = 1, nw = 1, M = k->wd[0];
    for (int i = 0; i < k->rank; i++) nx *= k->xd[i], nw *= k->wd[i];
    int64_t bd[1] = {M};
    float *x = malloc(sizeof(float) * (size_t)nx), *w = malloc(sizeof(float) * (size_t)nw);
    float *b = malloc(sizeof(float) * (size_t)M);
    fill(x, nx, 21), fill(w, nw, 22), fill(b, M, 23);
    if (k->nan_at > 0) x[(int64_t)(k->nan_at * (float)nx)] = NAN;
    x[nx / 3] = -0.0f;
    RtTensor tx = rtt_tensor(RT_F32, k->rank, k->xd, x), tw = rtt_tensor(RT_F32, k->rank, k->wd, w);
    RtTensor tb = rtt_tensor(RT_F32, 1, bd, b), fused, plain;
    RtTensor *in[] = {&tx, &tw, k->bias ? &tb : NULL};
    /* the same node without its activation attributes is the Conv */
    RtAttr conv_attrs[8];
    int n_conv = 0;
    for (int i = 0; i < k->n_attr; i++)
        if (strcmp(k->attrs[i].name, "activation") && strcmp(k->attrs[i].name, "alpha") &&
            strcmp(k->attrs[i].name, "beta"))
            conv_attrs[n_conv++] = k->attrs[i];
    int slots[4] = {0, 1, 2, 3};
    RtNode node = {RT_OP_FUSED_CONV, "t", "FusedConv", "", 17, 3, slots, 1, slots + 3, k->n_attr, (RtAttr *)k->attrs};
    RtKernelCtx c = {.alloc = rt_allocator_default(), .err = &rtt_err};
    RtAct act;
    cr_assert_eq(rt_act_read(&c, &node, &act), RT_OK);
    for (int t = 0; t < 2; t++) {
        RtThreadPool *p = t ? pool2 : NULL;
        cr_assert_eq(run_fn(rt_kernel_find_fast(RT_OP_FUSED_CONV), p, RT_OP_FUSED_CONV, in, 3, &fused,
                            (RtAttr *)k->attrs, k->n_attr, 0), RT_OK, "%s", what);
        cr_assert_eq(run_fn(rt_kernel_find_fast(RT_OP_CONV), p, RT_OP_CONV, in, 3, &plain, conv_attrs, n_conv, 0), RT_OK,
                     "%s", what);
        int64_t ny = rt_numel(&plain);
        rt_act_span(&act, plain.data, ny, NULL);
        cr_expect_eq(memcmp(fused.data, plain.data, sizeof(float) * (size_t)ny), 0,
                     "%s: fused activation differs from Conv then rt_act_span (%d threads)", what, t + 1);
        free(fused.data), free(plain.data);
    }
    free(x), free(w), free(b);
}

/* Every activation of wafer_ops.h on each path (depthwise row and flat, 1x1, im2col strips
 * and whole narrow outputs), with a NaN in the input (it must stay NaN where the
 * reference keeps it). */
Test(conv_x86, fused_activations) {
    struct { const char *name; int n_params; float alpha, beta; } acts[] = {
        {"", 0, 0, 0},           {"Relu", 0, 0, 0},          {"Clip", 2, -0.25f, 0.5f},
        {"Clip", 0, 0, 0},       {"LeakyRelu", 1, 0.1f, 0},  {"LeakyRelu", 0, 0, 0},
        {"Sigmoid", 0, 0, 0},    {"HardSigmoid", 2, 0.3f, 0.4f}, {"HardSigmoid", 0, 0, 0},
    };
    ConvCase shapes[] = {
        case2d(1, 5, 17, 33, 5, 5, 3, 3),  case2d(1, 7, 7, 7, 7, 7, 3, 3),
        case2d(1, 33, 30, 31, 17, 1, 1, 1), case2d(1, 3, 45, 47, 9, 1, 3, 3),
        case2d(1, 9, 6, 6, 11, 1, 3, 3),
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++)
            for (int nan = 0; nan < 2; nan++) {
                ConvCase k = shapes[s];
                k.op = RT_OP_FUSED_CONV;
                if (k.wd[2] == 3) add_attr(&k, rtt_attr_ints("pads", p1, 4));
                if (acts[a].name[0]) add_attr(&k, rtt_attr_str("activation", acts[a].name));
                if (acts[a].n_params > 0) add_attr(&k, rtt_attr_float("alpha", acts[a].alpha));
                if (acts[a].n_params > 1) add_attr(&k, rtt_attr_float("beta", acts[a].beta));
                k.nan_at = nan ? 0.37f : 0.0f;
                char what[96];
                snprintf(what, sizeof what, "shape %zu activation '%s' (%zu) nan %d", s, acts[a].name, a, nan);
                check_case(&k, what);
                check_act_fused(&k, what);
            }
}

/* float64 (and float16) convs are the reference's: identical bytes. */
Test(conv_x86, other_dtypes_go_to_the_reference) {
    int64_t xd[] = {1, 3, 9, 9}, wd[] = {3, 1, 3, 3};
    double x[243], w[27];
    for (int i = 0; i < 243; i++) x[i] = sin(i * 0.3);
    for (int i = 0; i < 27; i++) w[i] = cos(i * 0.7);
    RtTensor tx = rtt_tensor(RT_F64, 4, xd, x), tw = rtt_tensor(RT_F64, 4, wd, w), ref, fast;
    RtTensor *in[] = {&tx, &tw, NULL};
    RtAttr attrs[] = {rtt_attr_int("group", 3), rtt_attr_ints("pads", p1, 4), rtt_attr_str("activation", "Relu")};
    for (int fused = 0; fused < 2; fused++) {
        int op = fused ? RT_OP_FUSED_CONV : RT_OP_CONV, na = fused ? 3 : 2;
        cr_assert_eq(run_fn(rt_kernel_find(op), NULL, op, in, 3, &ref, attrs, na, 0), RT_OK, "%s", rtt_err.msg);
        cr_assert_eq(run_fn(rt_kernel_find_fast(op), pool2, op, in, 3, &fast, attrs, na, 0), RT_OK, "%s", rtt_err.msg);
        cr_assert_eq(fast.dtype, RT_F64);
        rtt_expect_dims(&fast, 4, ref.dims);
        cr_assert_eq(memcmp(fast.data, ref.data, sizeof(double) * 243), 0, "fused %d", fused);
        free(ref.data), free(fast.data);
    }
}

/* Shape-only runs give the reference's shapes; malformed nodes the reference's status and
 * message. */
Test(conv_x86, shape_only_and_errors) {
    int64_t xd[] = {1, 4, 9, 9}, wd[] = {4, 1, 3, 3}, wbad[] = {4, 3, 3, 3};
    float x[324] = {0}, w[108] = {0};
    RtTensor tx = rtt_tensor(RT_F32, 4, xd, x), tw = rtt_tensor(RT_F32, 4, wd, w), out;
    RtTensor *in[] = {&tx, &tw, NULL};
    RtAttr attrs[] = {rtt_attr_int("group", 4), rtt_attr_ints("strides", s2, 2)};
    cr_assert_eq(run_fn(rt_kernel_find_fast(RT_OP_CONV), NULL, RT_OP_CONV, in, 3, &out, attrs, 2, 1), RT_SHAPE_ONLY);
    int64_t want[] = {1, 4, 4, 4};
    rtt_expect_dims(&out, 4, want);
    cr_assert_null(out.data);

    RtTensor tbad = rtt_tensor(RT_F32, 4, wbad, w);
    RtTensor *inb[] = {&tx, &tbad, NULL};
    RtAttr bad_pads[] = {rtt_attr_ints("pads", p1, 2)};
    struct { RtTensor **in; RtAttr *a; int na; } cs[] = {{inb, attrs, 2}, {in, bad_pads, 1}};
    for (int i = 0; i < 2; i++) {
        char msg[sizeof rtt_err.msg];
        int r_ref = run_fn(rt_kernel_find(RT_OP_CONV), NULL, RT_OP_CONV, cs[i].in, 3, &out, cs[i].a, cs[i].na, 0);
        memcpy(msg, rtt_err.msg, sizeof msg);
        cr_assert_neq(r_ref, RT_OK);
        int r_fast = run_fn(rt_kernel_find_fast(RT_OP_CONV), pool2, RT_OP_CONV, cs[i].in, 3, &out, cs[i].a, cs[i].na, 0);
        cr_assert_eq(r_fast, r_ref, "case %d", i);
        cr_assert_str_eq(rtt_err.msg, msg, "case %d", i);
    }
    RtAttr bad_act[] = {rtt_attr_str("activation", "Tanh")};
    int r_ref = run_fn(rt_kernel_find(RT_OP_FUSED_CONV), NULL, RT_OP_FUSED_CONV, in, 3, &out, bad_act, 1, 0);
    cr_assert_neq(r_ref, RT_OK);
    cr_assert_eq(run_fn(rt_kernel_find_fast(RT_OP_FUSED_CONV), NULL, RT_OP_FUSED_CONV, in, 3, &out, bad_act, 1, 0),
                 r_ref);
}

/* The geometry a node's first run keeps in its state (conv_x86.c's ConvCache) is only reused
 * for the same input shape: a run on new data of the same shape, then one on another shape,
 * then the first shape again, each within CONV_X86_REL_TOL of the reference (GEMM,
 * depthwise and direct paths, FusedConv with Relu). */
static void check_state_reuse(int64_t C, int64_t M, int64_t group, int64_t k, int wide) {
    int64_t wd[4] = {M, C / group, k, k}, bd[1] = {M};
    float w[64 * 64 * 9], b[64];
    cr_assert_leq(M * (C / group) * k * k, 64 * 64 * 9);
    fill(w, M * (C / group) * k * k, 21), fill(b, M, 22);
    RtTensor tw = rtt_tensor(RT_F32, 4, wd, w), tb = rtt_tensor(RT_F32, 1, bd, b);
    const int64_t pads[4] = {1, 1, 1, 1};
    RtAttr attrs[3] = {rtt_attr_int("group", group), rtt_attr_ints("pads", pads, 4), rtt_attr_str("activation", "Relu")};
    void *state = NULL;
    const int64_t narrow[4][2] = {{9, 7}, {9, 7}, {5, 12}, {9, 7}}, rows[4][2] = {{9, 40}, {9, 40}, {5, 19}, {9, 40}};
    const int64_t(*hw)[2] = wide ? rows : narrow;
    for (int run = 0; run < 4; run++) {
        int64_t xd[4] = {1, C, hw[run][0], hw[run][1]}, nx = C * hw[run][0] * hw[run][1];
        float *x = malloc(sizeof(float) * (size_t)nx);
        fill(x, nx, 30 + (uint32_t)run);
        RtTensor tx = rtt_tensor(RT_F32, 4, xd, x), ref, st;
        RtTensor *in[] = {&tx, &tw, &tb};
        cr_assert_eq(run_fn(rt_kernel_find(RT_OP_FUSED_CONV), NULL, RT_OP_FUSED_CONV, in, 3, &ref, attrs, 3, 0), RT_OK,
                     "%s", rtt_err.msg);
        cr_assert_eq(run_fn_state(rt_kernel_find_fast(RT_OP_FUSED_CONV), NULL, RT_OP_FUSED_CONV, in, 3, &st, attrs, 3, 0,
                                  &state),
                     RT_OK, "%s", rtt_err.msg);
        cr_assert_not_null(state);
        rtt_expect_dims(&st, ref.rank, ref.dims);
        int64_t ny = rt_numel(&ref);
        double big = 0;
        for (int64_t i = 0; i < ny; i++) big = fmax(big, fabs(((float *)ref.data)[i]));
        for (int64_t i = 0; i < ny; i++)
            cr_assert_leq(fabs((double)((float *)st.data)[i] - ((float *)ref.data)[i]), CONV_X86_REL_TOL * big,
                          "run %d (C %lld, group %lld): element %lld", run, (long long)C, (long long)group, (long long)i);
        free(ref.data), free(st.data), free(x);
    }
    rt_node_state_free(&state, 1, rt_allocator_default());
}

Test(conv_x86, node_state_geometry_reused_only_for_the_same_shape) {
    check_state_reuse(17, 33, 1, 3, 0);  /* im2col GEMM */
    check_state_reuse(33, 33, 33, 3, 0); /* depthwise */
    check_state_reuse(3, 20, 1, 3, 1);   /* direct */
}
