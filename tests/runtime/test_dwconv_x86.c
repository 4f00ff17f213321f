/*
 * test_dwconv_x86.c — the channel-lanes depthwise kernel (runtime/kernels/x86/dwconv_avx512.c)
 * on the geometries its buffers depend on, against the reference Conv (rt_kernel_find):
 * grids that fit the per-thread stack buffer and grids just past it (a scratch allocation),
 * strided convs whose last input rows or columns no output reads (the padded grid must
 * still hold every input cell, or the last rows land past the grid on the group's weights),
 * and enough channels for 2 threads. Each case: within CONV_DW_REL_TOL of the reference,
 * 1 and 2 threads bit-identical, and the same bits with the node's state kept (weights and
 * bias packed once per group).
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

/* The bar for float kernels: |fast - ref| <= 1e-5 * max|ref|. The kernel sums the
 * same products as the reference, bias first with FMAs, so each output moves by a few
 * float32 roundings of a sum of at most 25 terms in [-1, 1]: far below this. */
#define CONV_DW_REL_TOL 1e-5

/* Deterministic values in [-1, 1]. */
static void fill(float *v, int64_t n, uint32_t seed) {
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        v[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

static RtThreadPool *pool2;
static void setup_pool(void) {
    pool2 = rt_pool_new(2, NULL);
    cr_assert_not_null(pool2);
}
static void teardown_pool(void) { rt_pool_free(pool2); }

TestSuite(dwconv_x86, .init = setup_pool, .fini = teardown_pool);

/* Depthwise FusedConv (Relu) of x [1, C, H, W] by kh x kw taps, square stride s, pads
 * {top, left, bottom, right}: the optimized kernel on 1 and 2 threads against the reference. */
static void check_dw(int64_t C, int64_t H, int64_t W, int64_t kh, int64_t kw, int64_t s, const int64_t *pads) {
    int64_t xd[] = {1, C, H, W}, wd[] = {C, 1, kh, kw}, bd[] = {C}, st[] = {s, s};
    int64_t nx = C * H * W, nw = C * kh * kw;
    float *x = malloc(sizeof(float) * (size_t)nx), *w = malloc(sizeof(float) * (size_t)nw);
    float *b = malloc(sizeof(float) * (size_t)C);
    fill(x, nx, 21), fill(w, nw, 22), fill(b, C, 23);
    RtTensor tx = rtt_tensor(RT_F32, 4, xd, x), tw = rtt_tensor(RT_F32, 4, wd, w), tb = rtt_tensor(RT_F32, 1, bd, b);
    RtTensor *in[] = {&tx, &tw, &tb};
    RtAttr attrs[] = {rtt_attr_int("group", C), rtt_attr_ints("strides", st, 2), rtt_attr_ints("pads", pads, 4),
                      rtt_attr_str("activation", "Relu")};
    char what[96];
    snprintf(what, sizeof what, "%lldx%lldx%lld k%lldx%lld s%lld pads %lld %lld %lld %lld", (long long)C,
             (long long)H, (long long)W, (long long)kh, (long long)kw, (long long)s, (long long)pads[0],
             (long long)pads[1], (long long)pads[2], (long long)pads[3]);
    RtTensor ref, one, two;
    RttRun plain = {0}, par = {.pool = pool2};
    const int op = RT_OP_FUSED_CONV;
    cr_assert_eq(rtt_run_kernel(rt_kernel_find(op), &plain, op, 17, in, 3, &ref, 1, attrs, 4, 0), RT_OK, "%s: ref: %s",
                 what, rtt_err.msg);
    cr_assert_eq(rtt_run_kernel(rt_kernel_find_fast(op), &plain, op, 17, in, 3, &one, 1, attrs, 4, 0), RT_OK, "%s: %s",
                 what, rtt_err.msg);
    cr_assert_eq(rtt_run_kernel(rt_kernel_find_fast(op), &par, op, 17, in, 3, &two, 1, attrs, 4, 0), RT_OK, "%s: %s",
                 what, rtt_err.msg);
    rtt_expect_dims(&one, ref.rank, ref.dims);
    int64_t ny = rt_numel(&ref);
    const float *r = ref.data, *o = one.data;
    double big = 0;
    for (int64_t i = 0; i < ny; i++)
        if (fabs(r[i]) > big) big = fabs(r[i]);
    int bad = 0;
    for (int64_t i = 0; i < ny && bad < 5; i++) {
        int ok = fabs((double)o[i] - r[i]) <= CONV_DW_REL_TOL * big;
        cr_expect(ok, "%s: element %lld: got %.9g, ref %.9g", what, (long long)i, o[i], r[i]);
        bad += !ok;
    }
    cr_expect_eq(memcmp(one.data, two.data, sizeof(float) * (size_t)ny), 0, "%s: 1 and 2 threads differ", what);
    /* as the runtime runs it: the node's state kept (weights and bias packed once per group
     * of 16 channels), on its first and a later run: the same bits */
    void *state = NULL;
    RttRun kept = {.node_state = &state, .const_inputs = 6};
    for (int rep = 0; rep < 2; rep++) {
        RtTensor st;
        cr_assert_eq(rtt_run_kernel(rt_kernel_find_fast(op), &kept, op, 17, in, 3, &st, 1, attrs, 4, 0), RT_OK,
                     "%s: %s", what, rtt_err.msg);
        cr_expect_eq(memcmp(one.data, st.data, sizeof(float) * (size_t)ny), 0, "%s: run %d with state differs", what,
                     rep);
        free(st.data);
    }
    cr_expect_not_null(state, "%s: no state kept", what);
    rt_allocator_default()->free(NULL, state);
    free(ref.data), free(one.data), free(two.data);
    free(x), free(w), free(b);
}

static const int64_t p0[] = {0, 0, 0, 0}, p1[] = {1, 1, 1, 1}, p01[] = {0, 0, 1, 1};

/* KWS's 25x5 and MobileNet's 7x7 and 14x14 (stride 1 and 2): grids on the stack; 16x16
 * and 17x15 pad 1 (18x18, 19x17 cells): grids past the stack buffer, a scratch allocation;
 * 160 channels: split over 2 threads, each with its own buffer. */
Test(dwconv_x86, stack_and_scratch_grids) {
    check_dw(64, 25, 5, 3, 3, 1, p1);
    check_dw(33, 7, 7, 3, 3, 1, p1);
    check_dw(40, 14, 14, 3, 3, 1, p1);
    check_dw(17, 14, 14, 3, 3, 2, p1);
    check_dw(31, 16, 16, 3, 3, 1, p1);
    check_dw(18, 17, 15, 3, 3, 1, p1);
    check_dw(160, 14, 14, 3, 3, 1, p1);
    check_dw(160, 16, 16, 3, 3, 1, p1);
}

/* Stride 2 without padding on even planes: the last input row and column are read by no
 * output (8x8 k3 s2 -> 3x3 reads rows and columns 0..6), and a pad on the bottom and right
 * only; 1x1 taps with stride 2 skip every other row. */
Test(dwconv_x86, inputs_no_output_reads) {
    check_dw(16, 8, 8, 3, 3, 2, p0);
    check_dw(35, 10, 12, 3, 3, 2, p0);
    check_dw(20, 9, 9, 3, 3, 2, p01);
    check_dw(16, 7, 7, 1, 1, 2, p0);
    check_dw(48, 12, 6, 3, 3, 3, p0);
}
