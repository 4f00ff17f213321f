/*
 * test_half_x86.c — float16 and bfloat16 nodes on the float32 optimized kernels
 * (runtime/kernels/x86/half_x86.c) against the reference kernels, which widen, compute in
 * float32 and round per element: Conv on each path (1x1 GEMM, depthwise, direct stem,
 * Winograd, im2col, grouped), ConvTranspose (GEMM and depthwise), FusedConv with activations, Gemm, MatMul, pools, Softmax,
 * Gelu, LayerNormalization, BatchNormalization, broadcast Add and a large Mul, on odd
 * sizes; Resize in every mode (bit for bit, its float32 scales and roi as they are). Each
 * case also runs with the node's state kept over three runs (the weights widened at the
 * first, the float32 kernel's packed weights nested in the same block; rt_node_state_free
 * frees both: ASan's leak check), giving the stateless run's bits, the third on two threads
 * (conversions split too); shape-only runs give the reference's shape. Where the float32
 * kernel's state holds the weights (GEMM packing), the widened copy is freed after the first
 * run and later runs keep the bits (ASan: its address is never read); a run of another
 * shape widens it again; a direct conv, which reads W every run, keeps it.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/rt_exec.h"
#include "../../runtime/rt_threads.h"
#include "rt_test_util.h"

/* Both sides compute in float32 and round once to the 16-bit type; their float32 sums differ
 * in order (FMA, blocking: ~1e-6 of the largest term), so a result may round to the
 * neighbouring 16-bit number: one step of the type (2^-10 relative for float16, 2^-7 for
 * bfloat16), plus 1e-5 of the output's largest magnitude for results near zero. */
#define HALF_F16_STEP (1.0 / 1024.0)
#define HALF_BF16_STEP (1.0 / 128.0)
#define HALF_NEAR_ZERO 1e-5

#define MAXIN 5

typedef struct {
    int op;
    int n_in;
    int rank[MAXIN];
    int64_t dims[MAXIN][4];
    RtAttr attrs[4];
    int n_attr;
} HalfCase;

static float half_value(RtDtype t, uint16_t h) { return t == RT_F16 ? rt_f16_to_f32(h) : rt_bf16_to_f32(h); }

static RtThreadPool *pool2; /* two threads: conversions and kernels split, the same bits */

static int run_on(RtThreadPool *pool, RtKernelFn fn, const HalfCase *k, RtTensor **in, RtTensor *out, void **state,
                  int shape_only) {
    RttRun how = {.pool = pool, .node_state = state, .const_inputs = state ? 6u : 0};
    return rtt_run_kernel(fn, &how, k->op, 17, in, k->n_in, out, 1, (RtAttr *)k->attrs, k->n_attr, shape_only);
}

static int run(RtKernelFn fn, const HalfCase *k, RtTensor **in, RtTensor *out, void **state, int shape_only) {
    return run_on(NULL, fn, k, in, out, state, shape_only);
}

static void check(const HalfCase *k, RtDtype t, const char *what) {
    RtTensor tin[MAXIN], *in[MAXIN];
    uint16_t *data[MAXIN];
    uint32_t seed = 7;
    for (int j = 0; j < k->n_in; j++) {
        int64_t n = rt_shape_numel(k->rank[j], k->dims[j]);
        data[j] = malloc((size_t)n * 2 + 2);
        for (int64_t i = 0; i < n; i++) {
            float v = rtt_uniform(&seed, -1.0f, 1.0f);
            if (k->op == RT_OP_BATCH_NORMALIZATION && j == 4) v = fabsf(v) + 0.25f; /* a variance */
            data[j][i] = t == RT_F16 ? rt_f32_to_f16(v) : rt_f32_to_bf16(v);
        }
        tin[j] = rtt_tensor(t, k->rank[j], k->dims[j], data[j]);
        in[j] = &tin[j];
    }
    RtTensor ref, fast, shp;
    RtKernelFn fastfn = rt_kernel_find_fast(k->op);
    cr_assert_eq(run(rt_kernel_find(k->op), k, in, &ref, NULL, 0), RT_OK, "%s: ref: %s", what, rtt_err.msg);
    cr_assert_eq(run(fastfn, k, in, &fast, NULL, 0), RT_OK, "%s: %s", what, rtt_err.msg);
    cr_assert_eq(fast.dtype, t, "%s: output dtype %s", what, rt_dtype_name(fast.dtype));
    rtt_expect_dims(&fast, ref.rank, ref.dims);
    int64_t n = rt_numel(&ref);
    double big = 0, step = t == RT_F16 ? HALF_F16_STEP : HALF_BF16_STEP;
    for (int64_t i = 0; i < n; i++) big = fmax(big, fabs(half_value(t, ((uint16_t *)ref.data)[i])));
    int bad = 0;
    for (int64_t i = 0; i < n && bad < 5; i++) {
        double r = half_value(t, ((uint16_t *)ref.data)[i]), f = half_value(t, ((uint16_t *)fast.data)[i]);
        int ok = fabs(f - r) <= step * fabs(r) + HALF_NEAR_ZERO * big;
        cr_expect(ok, "%s: element %lld: %.7g, reference %.7g", what, (long long)i, f, r);
        bad += !ok;
    }
    void *state = NULL;
    for (int r = 0; r < 3; r++) { /* the third run on two threads */
        RtTensor st;
        cr_assert_eq(run_on(r == 2 ? pool2 : NULL, fastfn, k, in, &st, &state, 0), RT_OK, "%s: with state: %s", what,
                     rtt_err.msg);
        cr_expect_eq(memcmp(st.data, fast.data, (size_t)n * 2), 0, "%s: run %d with the node's state differs", what, r);
        free(st.data);
    }
    if (k->op == RT_OP_CONV || k->op == RT_OP_CONV_TRANSPOSE || k->op == RT_OP_GEMM) /* constant weights: the nest holds them */
        cr_expect(state && ((RtStateNest *)state)->magic == RT_STATE_NEST_MAGIC, "%s: no state kept", what);
    rt_node_state_free(&state, 1, rt_allocator_default());
    cr_assert_eq(run(fastfn, k, in, &shp, NULL, 1), RT_SHAPE_ONLY, "%s: shape-only: %s", what, rtt_err.msg);
    rtt_expect_dims(&shp, ref.rank, ref.dims);
    free(ref.data), free(fast.data);
    for (int j = 0; j < k->n_in; j++) free(data[j]);
}

static void check_both(const HalfCase *k, const char *what) {
    char w[160];
    snprintf(w, sizeof w, "%s float16", what);
    check(k, RT_F16, w);
    snprintf(w, sizeof w, "%s bfloat16", what);
    check(k, RT_BF16, w);
}

/* Conv / FusedConv: X [N, C, H, W], W [M, C / group, kh, kw], bias [M]. */
static HalfCase conv(int op, int64_t C, int64_t H, int64_t W, int64_t M, int64_t group, int64_t k) {
    HalfCase c = {op, 3, {4, 4, 1}, {{1, C, H, W}, {M, C / group, k, k}, {M}}, {{0}}, 0};
    c.attrs[c.n_attr++] = rtt_attr_int("group", group);
    return c;
}

static void setup_pool(void) {
    pool2 = rt_pool_new(2, NULL);
    cr_assert_not_null(pool2);
}
static void teardown_pool(void) { rt_pool_free(pool2); }
TestSuite(half_x86, .init = setup_pool, .fini = teardown_pool);

Test(half_x86, conv_paths_match_the_reference) {
    int64_t pads[4] = {1, 1, 1, 1}, s2[2] = {2, 2};
    HalfCase pw = conv(RT_OP_CONV, 33, 7, 9, 17, 1, 1);
    check_both(&pw, "1x1 conv");
    HalfCase dw = conv(RT_OP_CONV, 17, 13, 11, 17, 17, 3);
    dw.attrs[dw.n_attr++] = rtt_attr_ints("pads", pads, 4);
    dw.attrs[dw.n_attr++] = rtt_attr_ints("strides", s2, 2);
    check_both(&dw, "depthwise 3x3 stride 2");
    HalfCase stem = conv(RT_OP_CONV, 3, 33, 29, 7, 1, 3);
    stem.attrs[stem.n_attr++] = rtt_attr_ints("pads", pads, 4);
    stem.attrs[stem.n_attr++] = rtt_attr_ints("strides", s2, 2);
    check_both(&stem, "3x3 stem");
    HalfCase wino = conv(RT_OP_CONV, 16, 8, 8, 17, 1, 3);
    wino.attrs[wino.n_attr++] = rtt_attr_ints("pads", pads, 4);
    check_both(&wino, "3x3 small");
    HalfCase grouped = conv(RT_OP_CONV, 12, 9, 7, 6, 3, 3);
    check_both(&grouped, "grouped 3x3");
    /* ConvTranspose: W is [C, M / group, k, k] */
    HalfCase up = {RT_OP_CONV_TRANSPOSE, 3, {4, 4, 1}, {{1, 8, 9, 11}, {8, 6, 4, 4}, {6}}, {{0}}, 0};
    up.attrs[up.n_attr++] = rtt_attr_ints("pads", pads, 4);
    up.attrs[up.n_attr++] = rtt_attr_ints("strides", s2, 2);
    check_both(&up, "ConvTranspose 4x4 stride 2");
    HalfCase updw = {RT_OP_CONV_TRANSPOSE, 3, {4, 4, 1}, {{1, 6, 7, 5}, {6, 1, 3, 3}, {6}}, {{0}}, 0};
    updw.attrs[updw.n_attr++] = rtt_attr_int("group", 6);
    updw.attrs[updw.n_attr++] = rtt_attr_ints("strides", s2, 2);
    check_both(&updw, "depthwise ConvTranspose 3x3 stride 2");
}

Test(half_x86, fused_conv_activations_match_the_reference) {
    const char *acts[] = {"Relu", "Sigmoid", "LeakyRelu", "HardSigmoid"};
    for (int a = 0; a < 4; a++) {
        HalfCase k = conv(RT_OP_FUSED_CONV, 19, 5, 7, 33, 1, 1);
        k.attrs[k.n_attr++] = rtt_attr_str("activation", acts[a]);
        char w[64];
        snprintf(w, sizeof w, "FusedConv %s", acts[a]);
        check_both(&k, w);
    }
    /* an activation FusedConv does not take: refused as the reference refuses it */
    HalfCase k = conv(RT_OP_FUSED_CONV, 3, 5, 5, 4, 1, 1);
    k.attrs[k.n_attr++] = rtt_attr_str("activation", "GeluTanh");
    uint16_t one[75] = {0};
    RtTensor x = rtt_tensor(RT_F16, 4, k.dims[0], one), w = rtt_tensor(RT_F16, 4, k.dims[1], one), y;
    RtTensor *in[3] = {&x, &w, NULL};
    cr_expect_neq(run(rt_kernel_find_fast(k.op), &k, in, &y, NULL, 0), RT_OK, "GeluTanh FusedConv accepted");
    cr_expect(strstr(rtt_err.msg, "GeluTanh") != NULL, "message: %s", rtt_err.msg);
}

Test(half_x86, gemm_matmul_and_pointwise_ops_match_the_reference) {
    HalfCase gemm = {RT_OP_GEMM, 3, {2, 2, 1}, {{3, 129}, {33, 129}, {33}}, {{0}}, 0};
    gemm.attrs[gemm.n_attr++] = rtt_attr_int("transB", 1);
    check_both(&gemm, "Gemm transB");
    HalfCase gemv = {RT_OP_GEMM, 3, {2, 2, 1}, {{1, 127}, {127, 17}, {17}}, {{0}}, 0};
    check_both(&gemv, "Gemm one row");
    HalfCase mm = {RT_OP_MATMUL, 2, {3, 2}, {{2, 7, 33}, {33, 17}}, {{0}}, 0};
    check_both(&mm, "MatMul");
    HalfCase add = {RT_OP_ADD, 2, {4, 3}, {{1, 17, 3, 5}, {17, 1, 5}}, {{0}}, 0};
    check_both(&add, "broadcast Add");
    HalfCase big = {RT_OP_MUL, 2, {4, 1}, {{1, 65, 33, 35}, {35}}, {{0}}, 0}; /* conversions in 2 chunks */
    check_both(&big, "large Mul");
    HalfCase gap = {RT_OP_GLOBAL_AVERAGE_POOL, 1, {4}, {{2, 17, 7, 9}}, {{0}}, 0};
    check_both(&gap, "GlobalAveragePool");
    int64_t k3[2] = {3, 3};
    HalfCase mp = {RT_OP_MAX_POOL, 1, {4}, {{1, 5, 13, 11}}, {{0}}, 0};
    mp.attrs[mp.n_attr++] = rtt_attr_ints("kernel_shape", k3, 2);
    check_both(&mp, "MaxPool 3x3");
    HalfCase sm = {RT_OP_SOFTMAX, 1, {2}, {{7, 129}}, {{0}}, 0};
    check_both(&sm, "Softmax");
    HalfCase gelu = {RT_OP_GELU, 1, {2}, {{3, 133}}, {{0}}, 0};
    check_both(&gelu, "Gelu");
    HalfCase ln = {RT_OP_LAYER_NORMALIZATION, 3, {2, 1, 1}, {{5, 65}, {65}, {65}}, {{0}}, 0};
    check_both(&ln, "LayerNormalization");
    HalfCase bn = {RT_OP_BATCH_NORMALIZATION, 5, {4, 1, 1, 1, 1}, {{2, 17, 5, 3}, {17}, {17}, {17}, {17}}, {{0}}, 0};
    check_both(&bn, "BatchNormalization");
}

/* Resize(X [1, 3, 7, 9] 16-bit, roi float32, scales float32) on the fast entry: linear and
 * cubic go through half_x86.c (X widened, roi and scales as they are), nearest copies the
 * 16-bit elements. Both sides sum the taps in double and round to float32, then to the 16-bit
 * type, so the bits equal the reference kernel's, stateless, with the node's state, on two
 * threads; shape-only runs give the reference's shape. */
static void check_resize(RtDtype t, const char *mode, const char *coord, const float *scales) {
    int64_t xd[4] = {1, 3, 7, 9}, four = 4, eight = 8;
    uint16_t xh[189];
    uint32_t seed = 11;
    for (int i = 0; i < 189; i++) {
        float v = rtt_uniform(&seed, -2.0f, 2.0f);
        xh[i] = t == RT_F16 ? rt_f32_to_f16(v) : rt_f32_to_bf16(v);
    }
    const float roi_v[8] = {0, 0, 0.1f, 0.2f, 1, 1, 0.9f, 0.7f}; /* tf_crop_and_resize's window */
    RtTensor x = rtt_tensor(t, 4, xd, xh), roi = rtt_tensor(RT_F32, 1, &eight, (void *)roi_v),
             sc = rtt_tensor(RT_F32, 1, &four, (void *)scales);
    RtTensor *in[3] = {&x, &roi, &sc};
    HalfCase k = {RT_OP_RESIZE, 3, {0}, {{0}}, {{0}}, 0};
    k.attrs[k.n_attr++] = rtt_attr_str("mode", mode);
    k.attrs[k.n_attr++] = rtt_attr_str("coordinate_transformation_mode", coord);
    k.attrs[k.n_attr++] = rtt_attr_float("extrapolation_value", -0.5f);
    char what[160];
    snprintf(what, sizeof what, "Resize %s %s %s scales %g x %g", rt_dtype_name(t), mode, coord, scales[2],
             scales[3]);
    RtTensor ref, fast, shp;
    RtKernelFn fastfn = rt_kernel_find_fast(RT_OP_RESIZE);
    cr_assert_eq(run(rt_kernel_find(RT_OP_RESIZE), &k, in, &ref, NULL, 0), RT_OK, "%s: ref: %s", what, rtt_err.msg);
    cr_assert_eq(run(fastfn, &k, in, &fast, NULL, 0), RT_OK, "%s: %s", what, rtt_err.msg);
    cr_assert_eq(fast.dtype, t, "%s: output dtype %s", what, rt_dtype_name(fast.dtype));
    rtt_expect_dims(&fast, ref.rank, ref.dims);
    size_t bytes = (size_t)rt_numel(&ref) * 2;
    cr_expect_eq(memcmp(fast.data, ref.data, bytes), 0, "%s: differs from the reference", what);
    void *state = NULL;
    for (int r = 0; r < 3; r++) { /* the third run on two threads */
        RtTensor st;
        cr_assert_eq(run_on(r == 2 ? pool2 : NULL, fastfn, &k, in, &st, &state, 0), RT_OK, "%s: with state: %s",
                     what, rtt_err.msg);
        cr_expect_eq(memcmp(st.data, ref.data, bytes), 0, "%s: run %d with the node's state differs", what, r);
        free(st.data);
    }
    /* half_x86.c's block (the nest) only when it ran the node: linear and cubic */
    const int widened = strcmp(mode, "nearest") != 0;
    cr_expect_eq(state && ((RtStateNest *)state)->magic == RT_STATE_NEST_MAGIC, widened,
                 "%s: %s through half_x86.c", what, widened ? "not" : "");
    rt_node_state_free(&state, 1, rt_allocator_default());
    cr_assert_eq(run(fastfn, &k, in, &shp, NULL, 1), RT_SHAPE_ONLY, "%s: shape-only: %s", what, rtt_err.msg);
    rtt_expect_dims(&shp, ref.rank, ref.dims);
    free(ref.data), free(fast.data);
}

Test(half_x86, resize_matches_the_reference_bit_for_bit) {
    const char *modes[] = {"linear", "cubic", "nearest"};
    const char *coords[] = {"half_pixel", "align_corners", "asymmetric", "pytorch_half_pixel", "tf_crop_and_resize"};
    const float up[4] = {1, 1, 2, 1.5f}, down[4] = {1, 1, 0.5f, 0.75f};
    const RtDtype types[2] = {RT_F16, RT_BF16};
    for (int t = 0; t < 2; t++)
        for (int m = 0; m < 3; m++)
            for (int ct = 0; ct < 5; ct++) {
                check_resize(types[t], modes[m], coords[ct], up);
                check_resize(types[t], modes[m], coords[ct], down);
            }
}

/* The spec's linear half_pixel upsampling worked by hand: X = [1, 2], scale 2 on the last
 * axis; output o reads x = (o + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25, clamped to [0, 1]:
 * 1, 1 + 0.25, 1 + 0.75, 2 (all exact in float16). */
Test(half_x86, resize_linear_float16_worked_by_hand) {
    int64_t xd[4] = {1, 1, 1, 2}, four = 4;
    uint16_t xh[2] = {rt_f32_to_f16(1.0f), rt_f32_to_f16(2.0f)};
    const float scales[4] = {1, 1, 1, 2}, want[4] = {1.0f, 1.25f, 1.75f, 2.0f};
    RtTensor x = rtt_tensor(RT_F16, 4, xd, xh), sc = rtt_tensor(RT_F32, 1, &four, (void *)scales), y;
    RtTensor *in[3] = {&x, NULL, &sc};
    HalfCase k = {RT_OP_RESIZE, 3, {0}, {{0}}, {{0}}, 0};
    k.attrs[k.n_attr++] = rtt_attr_str("mode", "linear");
    cr_assert_eq(run(rt_kernel_find_fast(RT_OP_RESIZE), &k, in, &y, NULL, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(y.dtype, RT_F16);
    int64_t yd[4] = {1, 1, 1, 4};
    rtt_expect_dims(&y, 4, yd);
    for (int i = 0; i < 4; i++)
        cr_expect_eq(rt_f16_to_f32(((uint16_t *)y.data)[i]), want[i], "element %d: %g, want %g", i,
                     rt_f16_to_f32(((uint16_t *)y.data)[i]), want[i]);
    free(y.data);
}

/* Runs k (16-bit type t, inputs in) on the fast kernel with the node's state `state`, expects
 * the stateless run's bits, and returns whether the widened copy of the largest constant
 * input (RtStateNest.extra) is still kept. */
static int run_kept(const HalfCase *k, RtTensor **in, void **state, const char *what) {
    RtKernelFn fastfn = rt_kernel_find_fast(k->op);
    RtTensor plain, st;
    cr_assert_eq(run(fastfn, k, in, &plain, NULL, 0), RT_OK, "%s: %s", what, rtt_err.msg);
    cr_assert_eq(run(fastfn, k, in, &st, state, 0), RT_OK, "%s: with state: %s", what, rtt_err.msg);
    cr_expect_eq(memcmp(st.data, plain.data, (size_t)rt_numel(&plain) * 2), 0, "%s: the state changed the bits", what);
    free(plain.data), free(st.data);
    const RtStateNest *nest = *state;
    cr_assert(nest && nest->magic == RT_STATE_NEST_MAGIC, "%s: no state kept", what);
    return nest->extra != NULL;
}

/* The case's inputs as float16 (x with batch `batch`), data[j] owned by the caller. */
static void inputs_f16(HalfCase *k, int64_t batch, RtTensor *tin, RtTensor **in, uint16_t **data) {
    uint32_t seed = 5;
    k->dims[0][0] = batch;
    for (int j = 0; j < k->n_in; j++) {
        int64_t n = rt_shape_numel(k->rank[j], k->dims[j]);
        data[j] = malloc((size_t)n * 2 + 2);
        for (int64_t i = 0; i < n; i++) data[j][i] = rt_f32_to_f16(rtt_uniform(&seed, -1.0f, 1.0f));
        tin[j] = rtt_tensor(RT_F16, k->rank[j], k->dims[j], data[j]);
        in[j] = &tin[j];
    }
}

/* One node's runs: batch 1 (twice), then batch 2, then batch 1 again; the weights and bias
 * (inputs 1, 2) are the same data throughout, as a model's constants are. want_drop: the
 * float32 kernel holds W packed, so the copy goes after the first run. */
static void check_drop(HalfCase k, int want_drop, const char *what) {
    RtTensor t1[MAXIN], t2[MAXIN], *in1[MAXIN], *in2[MAXIN];
    uint16_t *d1[MAXIN], *d2[MAXIN];
    inputs_f16(&k, 2, t2, in2, d2);
    inputs_f16(&k, 1, t1, in1, d1);
    for (int j = 1; j < k.n_in; j++) in2[j] = in1[j]; /* the same constants */
    void *state = NULL;
    cr_expect_eq(run_kept(&k, in1, &state, what), !want_drop, "%s: first run: copy %s", what,
                 want_drop ? "kept" : "dropped");
    cr_expect_eq(run_kept(&k, in1, &state, what), !want_drop, "%s: second run", what);
    cr_expect(run_kept(&k, in2, &state, what), "%s: another batch runs on a kept copy again", what);
    cr_expect(run_kept(&k, in1, &state, what), "%s: and keeps it", what);
    rt_node_state_free(&state, 1, rt_allocator_default());
    for (int j = 0; j < k.n_in; j++) free(d1[j]), free(d2[j]);
}

Test(half_x86, packed_weights_free_the_widened_copy) {
    check_drop(conv(RT_OP_CONV, 33, 7, 9, 17, 1, 1), 1, "1x1 conv (GEMM, W packed)");
    HalfCase gemm = {RT_OP_GEMM, 3, {2, 2, 1}, {{3, 129}, {33, 129}, {33}}, {{0}}, 0};
    gemm.attrs[gemm.n_attr++] = rtt_attr_int("transB", 1);
    check_drop(gemm, 1, "Gemm transB (B packed)");
    int64_t pads[4] = {1, 1, 1, 1}, s2[2] = {2, 2};
    HalfCase stem = conv(RT_OP_CONV, 3, 33, 45, 7, 1, 3); /* 23 output columns: the direct kernel's */
    stem.attrs[stem.n_attr++] = rtt_attr_ints("pads", pads, 4);
    stem.attrs[stem.n_attr++] = rtt_attr_ints("strides", s2, 2);
    check_drop(stem, 0, "3x3 stem (direct: reads W every run)");
}
