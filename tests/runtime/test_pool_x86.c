/*
 * test_pool_x86.c — the optimized float32 pools of runtime/kernels/x86/pool_x86.c against the
 * reference kernels of runtime/kernels/ref/pool.c.
 *
 * Both tables of pool_x86.c are tested: rt_kernels_x86_pool (AVX-512 where the horizontal
 * stride is 1 or 2, when the CPU has it) and rt_kernels_x86_pool_scalar (its scalar paths
 * only). Each runs on 1 thread and on a 2-thread pool; the two runs must give the same bits.
 * Sweeps: C 1, 3, 17; H and W 1, 5, 8, 33; kernels 1, 2, 3, 5 (square and not); strides 1, 2,
 * 3; pads none, symmetric, asymmetric, larger than the kernel; auto_pad SAME_UPPER,
 * SAME_LOWER, VALID; ceil_mode; dilations; count_include_pad; inputs with many ties and
 * signed zeros, generic floats, and NaNs (quiet, signaling, first tap of a window or later).
 * MaxPool and GlobalMaxPool must equal the reference bit for bit, NaN payloads included;
 * AveragePool too except that a NaN result may carry another payload (a window adding two
 * different NaNs keeps the first operand's, and the order of operands of a commutative add
 * is the compiler's); GlobalAveragePool within GAP_REL_TOL. Cases the optimized kernels hand to the
 * reference (Indices, 1-D/3-D, float64, shape mode, malformed attributes) must behave as the
 * reference.
 */
#include <stdio.h>

#include "rt_test_util.h"
#include "../../runtime/rt_threads.h"

extern const RtKernelEntry rt_kernels_x86_pool[];
extern const RtKernelEntry rt_kernels_x86_pool_scalar[];

/* GlobalAveragePool sums the plane in double in another order than the reference (8-lane
 * accumulators and a tree, the reference one element after another); both double sums are
 * within n * 2^-53 * sum|x| of the exact sum, so after rounding to float they differ by at
 * most one float ulp of the result (2^-24 relative) plus that, far inside 1e-6 of the plane's
 * mean |x|. */
#define GAP_REL_TOL 1e-6

static RtKernelFn table_find(const RtKernelEntry *t, int op) {
    for (; t->op >= 0; t++)
        if (t->op == op) return t->fn;
    return NULL;
}

/* Runs fn as the executor would (node slots 0 in, 1.. out); pool may be NULL. */
static int run_fn(RtKernelFn fn, int op, int opset, RtTensor *x, RtTensor *out, int n_out, RtAttr *attrs,
                  int n_attr, RtThreadPool *pool, int shape_only) {
    RttRun how = {.pool = pool};
    RtTensor *in[1] = {x};
    return rtt_run_kernel(fn, &how, op, opset, in, 1, out, n_out, attrs, n_attr, shape_only);
}

static uint32_t lcg(uint32_t *s) {
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* Input data kinds: ties (quarter integers in [-1, 1], zeros of either sign: many equal
 * maxima), generic floats in [-1, 1], generic with NaNs sprinkled (about 1 in 16, quiet and
 * signaling, one payload each). */
enum { D_TIES, D_GENERIC, D_NAN };

static const uint32_t QNAN = 0x7fc00000u, SNAN = 0x7fa00000u;

static float bits_f(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void fill(float *x, int64_t n, int kind, uint32_t seed) {
    for (int64_t i = 0; i < n; i++) {
        uint32_t r = lcg(&seed);
        if (kind == D_TIES) {
            int q = (int)(r % 9) - 4;
            x[i] = q == 0 ? ((r >> 4) & 1 ? -0.0f : 0.0f) : (float)q * 0.25f;
        } else {
            x[i] = (float)(r & 0xFFFF) / 32768.0f - 1.0f;
            if (kind == D_NAN && ((r >> 16) & 15) == 0) x[i] = bits_f((r >> 20) & 1 ? QNAN : SNAN);
        }
    }
}

/* a == b bit for bit (shape and data). */
static void expect_same(const RtTensor *got, const RtTensor *want, const char *what) {
    cr_assert_eq(got->dtype, want->dtype, "%s: dtype", what);
    cr_assert_eq(got->rank, want->rank, "%s: rank", what);
    for (int i = 0; i < got->rank; i++)
        cr_assert_eq(got->dims[i], want->dims[i], "%s: dim %d: %lld, want %lld", what, i, (long long)got->dims[i],
                     (long long)want->dims[i]);
    int64_t n = rt_numel(want);
    const uint32_t *g = got->data, *w = want->data;
    for (int64_t i = 0; i < n; i++)
        if (g[i] != w[i]) {
            cr_expect(0, "%s: element %lld: got %.9g (0x%08x), want %.9g (0x%08x)", what, (long long)i,
                      bits_f(g[i]), g[i], bits_f(w[i]), w[i]);
            return;
        }
}

/* GlobalAveragePool result vs the reference: within GAP_REL_TOL of each plane's mean |x|. */
static void expect_gap(const RtTensor *got, const RtTensor *want, const RtTensor *x, const char *what) {
    cr_assert_eq(rt_numel(got), rt_numel(want), "%s: numel", what);
    int64_t planes = rt_numel(want), pin = rt_numel(x) / planes;
    const float *g = got->data, *w = want->data, *xd = x->data;
    for (int64_t p = 0; p < planes; p++) {
        double mean = 0;
        for (int64_t i = 0; i < pin; i++) mean += fabs(xd[p * pin + i]);
        mean /= (double)pin;
        int ok = isnan(w[p]) ? isnan(g[p]) : fabs((double)g[p] - w[p]) <= GAP_REL_TOL * mean;
        cr_expect(ok, "%s: plane %lld: got %.9g, want %.9g", what, (long long)p, g[p], w[p]);
        if (!ok) return;
    }
}

/* How NaN payloads may differ: an AveragePool window adding two different NaNs may keep
 * either (x86 returns the first operand's); the sweeps use one payload per window then. */
static int avg_nan_ok(const RtTensor *got, const RtTensor *want) {
    int64_t n = rt_numel(want);
    const float *g = got->data, *w = want->data;
    for (int64_t i = 0; i < n; i++) {
        if (isnan(w[i]) ? !isnan(g[i]) : memcmp(&g[i], &w[i], 4) != 0) return 0;
    }
    return 1;
}

/* Runs op on x through the reference and through both tables on 1 and 2 threads; checks
 * the statuses agree, the results (see the file header) and the threads' bits. */
static void check(int op, int opset, RtTensor *x, RtAttr *attrs, int n_attr, const char *what) {
    static RtThreadPool *p2;
    if (!p2) p2 = rt_pool_new(2, NULL);
    cr_assert_not_null(p2);
    RtTensor ref[2];
    int sr = run_fn(rt_kernel_find(op), op, opset, x, ref, 1, attrs, n_attr, NULL, 0);
    char ref_msg[sizeof rtt_err.msg];
    memcpy(ref_msg, rtt_err.msg, sizeof ref_msg);
    const RtKernelEntry *tabs[2] = {rt_kernels_x86_pool, rt_kernels_x86_pool_scalar};
    for (int t = 0; t < 2; t++) {
        for (int th = 0; th < 2; th++) {
            RtTensor got[2];
            char w[320];
            snprintf(w, sizeof w, "%s [%s, %d thread%s]", what, t ? "scalar" : "vector", th + 1, th ? "s" : "");
            int s = run_fn(table_find(tabs[t], op), op, opset, x, got, 1, attrs, n_attr, th ? p2 : NULL, 0);
            cr_assert_eq(s, sr, "%s: status %d, reference %d (%s)", w, s, sr, rtt_err.msg);
            if (sr != RT_OK) {
                cr_expect_str_eq(rtt_err.msg, ref_msg, "%s: message", w);
                continue;
            }
            if (op == RT_OP_GLOBAL_AVERAGE_POOL) expect_gap(&got[0], &ref[0], x, w);
            else if (op == RT_OP_AVERAGE_POOL && !avg_nan_ok(&got[0], &ref[0])) expect_same(&got[0], &ref[0], w);
            else if (op != RT_OP_AVERAGE_POOL) expect_same(&got[0], &ref[0], w);
            rtt_free_outputs(got, 1);
        }
    }
    /* 1 and 2 threads, bit for bit (GlobalAveragePool too) */
    for (int t = 0; t < 2; t++) {
        RtTensor a[2], b[2];
        int s1 = run_fn(table_find(tabs[t], op), op, opset, x, a, 1, attrs, n_attr, NULL, 0);
        int s2 = run_fn(table_find(tabs[t], op), op, opset, x, b, 1, attrs, n_attr, p2, 0);
        if (s1 == RT_OK && s2 == RT_OK) {
            cr_expect(rt_nbytes(&a[0]) == rt_nbytes(&b[0]) && memcmp(a[0].data, b[0].data, (size_t)rt_nbytes(&a[0])) == 0,
                      "%s: 1 and 2 threads differ", what);
            rtt_free_outputs(a, 1);
            rtt_free_outputs(b, 1);
        }
    }
    if (sr == RT_OK) rtt_free_outputs(ref, 1);
}

/* One window-pool case. pads NULL = attribute absent; auto_pad NULL = absent. */
typedef struct {
    int64_t N, C, H, W, kh, kw, sh, sw, dh, dw;
    const int64_t *pads;
    const char *auto_pad;
    int ceil_mode, include_pad, data;
} Case;

static void run_case(int op, const Case *k) {
    int64_t xd[4] = {k->N, k->C, k->H, k->W};
    int64_t n = k->N * k->C * k->H * k->W;
    float *x = malloc(sizeof(float) * (size_t)n);
    cr_assert_not_null(x);
    fill(x, n, k->data, (uint32_t)(n * 7 + k->kh * 131 + k->sw * 17 + k->data));
    RtTensor tx = rtt_tensor(RT_F32, 4, xd, x);
    int64_t ks[2] = {k->kh, k->kw}, st[2] = {k->sh, k->sw}, dl[2] = {k->dh, k->dw};
    RtAttr a[8];
    int na = 0;
    a[na++] = rtt_attr_ints("kernel_shape", ks, 2);
    a[na++] = rtt_attr_ints("strides", st, 2);
    if (k->dh != 1 || k->dw != 1) a[na++] = rtt_attr_ints("dilations", dl, 2);
    if (k->pads) a[na++] = rtt_attr_ints("pads", k->pads, 4);
    if (k->auto_pad) a[na++] = rtt_attr_str("auto_pad", k->auto_pad);
    if (k->ceil_mode) a[na++] = rtt_attr_int("ceil_mode", 1);
    if (op == RT_OP_AVERAGE_POOL && k->include_pad) a[na++] = rtt_attr_int("count_include_pad", 1);
    char what[256];
    snprintf(what, sizeof what, "%s x[%lld,%lld,%lld,%lld] k %lldx%lld s %lldx%lld d %lldx%lld pads %s%lld,%lld,%lld,%lld "
             "auto_pad %s ceil %d incl %d data %d", rt_op_name(op), (long long)k->N, (long long)k->C, (long long)k->H,
             (long long)k->W, (long long)k->kh, (long long)k->kw, (long long)k->sh, (long long)k->sw, (long long)k->dh,
             (long long)k->dw, k->pads ? "" : "(none) ", (long long)(k->pads ? k->pads[0] : 0),
             (long long)(k->pads ? k->pads[1] : 0), (long long)(k->pads ? k->pads[2] : 0),
             (long long)(k->pads ? k->pads[3] : 0), k->auto_pad ? k->auto_pad : "-", k->ceil_mode, k->include_pad, k->data);
    check(op, 19, &tx, a, na, what);
    free(x);
}

static const int64_t HW[] = {1, 5, 8, 33};
static const int64_t KS[][2] = {{1, 1}, {2, 2}, {3, 3}, {5, 5}, {2, 3}, {3, 1}, {1, 5}};
static const int64_t ST[][2] = {{1, 1}, {2, 2}, {3, 3}, {1, 2}, {2, 1}, {1, 3}};
static const int64_t PAD_SYM[4] = {1, 1, 1, 1}, PAD_ASYM[4] = {0, 1, 2, 0}, PAD_BIG[4] = {2, 6, 5, 1};

/* The sweep for one op: every H, W, kernel and stride with one padding variant each, the
 * variants and channel counts cycling so all meet. */
static void sweep(int op) {
    int idx = 0;
    for (int hi = 0; hi < 4; hi++)
        for (int wi = 0; wi < 4; wi++)
            for (size_t ki = 0; ki < sizeof KS / sizeof KS[0]; ki++)
                for (size_t si = 0; si < sizeof ST / sizeof ST[0]; si++, idx++) {
                    Case k = {1, 1, HW[hi], HW[wi], KS[ki][0], KS[ki][1], ST[si][0], ST[si][1], 1, 1, NULL, NULL,
                              0, 0, D_TIES};
                    static const int64_t CS[] = {1, 3, 17};
                    k.C = CS[idx % 3];
                    k.N = (idx % 5 == 0) ? 2 : 1;
                    k.data = (idx / 3) % 3;
                    switch ((idx / 9) % 9) {
                    case 0: break;
                    case 1: k.pads = PAD_SYM; break;
                    case 2: k.pads = PAD_ASYM; break;
                    case 3: k.auto_pad = "SAME_UPPER"; break;
                    case 4: k.auto_pad = "SAME_LOWER"; break;
                    case 5: k.auto_pad = "VALID"; break;
                    case 6: k.pads = PAD_SYM, k.ceil_mode = 1; break;
                    case 7: k.pads = PAD_BIG, k.ceil_mode = (idx & 1); break;
                    case 8: k.dh = 2, k.dw = 1 + (idx & 1), k.pads = PAD_ASYM; break;
                    }
                    k.include_pad = (idx / 2) & 1;
                    run_case(op, &k);
                }
}

Test(pool_x86, max_pool_sweep) { sweep(RT_OP_MAX_POOL); }
Test(pool_x86, average_pool_sweep) { sweep(RT_OP_AVERAGE_POOL); }

/* The shapes models have, large enough to split over two threads, and each mode of the
 * vector table (flat gathers, row vectors interior and at the edges, scalar). */
Test(pool_x86, model_shapes_two_threads) {
    static const int64_t p1[4] = {1, 1, 1, 1};
    const Case cases[] = {
        {1, 64, 8, 8, 2, 2, 2, 2, 1, 1, NULL, NULL, 0, 0, D_GENERIC},        /* digits_cnn */
        {2, 40, 33, 33, 3, 3, 2, 2, 1, 1, p1, NULL, 0, 0, D_GENERIC},        /* 3x3 s2 p1 */
        {1, 17, 100, 37, 3, 3, 2, 2, 1, 1, p1, NULL, 1, 1, D_NAN},
        {1, 9, 50, 77, 2, 2, 2, 2, 1, 1, NULL, NULL, 1, 0, D_TIES},
        {1, 9, 61, 45, 3, 3, 1, 1, 1, 1, p1, NULL, 0, 1, D_GENERIC},
        {1, 5, 40, 70, 5, 5, 3, 3, 1, 1, NULL, "SAME_UPPER", 0, 1, D_NAN},
        /* short output rows whose gather tables would be too large: row vectors; stride 3
         * likewise: scalar */
        {1, 3, 400, 9, 5, 5, 1, 1, 1, 1, p1, NULL, 0, 1, D_NAN},
        {1, 3, 400, 60, 3, 3, 3, 3, 1, 1, NULL, NULL, 1, 0, D_TIES},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_case(RT_OP_MAX_POOL, &cases[i]);
        run_case(RT_OP_AVERAGE_POOL, &cases[i]);
    }
}

/* NaN placement in MaxPool: a NaN first in-range tap wins (quieted), later NaNs never do. */
Test(pool_x86, max_pool_nan_rules) {
    /* 1x1x2x6, k 2x2, s 2 -> 1x3: windows {0,1,6,7}, {2,3,8,9}, {4,5,10,11} */
    float x[12] = {bits_f(SNAN), 5, 1, bits_f(QNAN), 1, 2, /* */ 9, 1, 3, 2, bits_f(QNAN), bits_f(SNAN)};
    int64_t xd[4] = {1, 1, 2, 6}, ks[2] = {2, 2}, st[2] = {2, 2};
    RtTensor tx = rtt_tensor(RT_F32, 4, xd, x);
    RtAttr a[] = {rtt_attr_ints("kernel_shape", ks, 2), rtt_attr_ints("strides", st, 2)};
    check(RT_OP_MAX_POOL, 12, &tx, a, 2, "max nan rules");
    RtTensor out[2];
    cr_assert_eq(run_fn(table_find(rt_kernels_x86_pool, RT_OP_MAX_POOL), RT_OP_MAX_POOL, 12, &tx, out, 1, a, 2, NULL, 0),
                 RT_OK);
    const float *y = out[0].data;
    uint32_t y0;
    memcpy(&y0, &y[0], 4);
    cr_expect_eq(y0, SNAN | 0x00400000u, "first tap sNaN -> its quiet NaN, got 0x%08x", y0);
    cr_expect_eq(y[1], 3.0f, "later NaN never wins");
    cr_expect_eq(y[2], 2.0f, "later NaNs never win");
    rtt_free_outputs(out, 1);
    /* with a pad the first in-range tap of the left window is x[0][0] (NaN), of an edge lane
     * shifted by the pad */
    int64_t p[4] = {1, 1, 0, 0};
    RtAttr b[] = {rtt_attr_ints("kernel_shape", ks, 2), rtt_attr_ints("strides", st, 2), rtt_attr_ints("pads", p, 4)};
    check(RT_OP_MAX_POOL, 12, &tx, b, 3, "max nan rules padded");
}

/* Signed zeros: the first zero in row-major window order stays. */
Test(pool_x86, max_pool_signed_zero_order) {
    float x[8] = {-0.0f, 0.0f, 0.0f, -0.0f, -1, -0.0f, -2, 0.0f};
    int64_t xd[4] = {1, 1, 2, 4}, ks[2] = {2, 2}, st[2] = {1, 2};
    RtTensor tx = rtt_tensor(RT_F32, 4, xd, x);
    RtAttr a[] = {rtt_attr_ints("kernel_shape", ks, 2), rtt_attr_ints("strides", st, 2)};
    RtTensor out[2];
    cr_assert_eq(run_fn(table_find(rt_kernels_x86_pool, RT_OP_MAX_POOL), RT_OP_MAX_POOL, 12, &tx, out, 1, a, 2, NULL, 0),
                 RT_OK);
    const float *y = out[0].data;
    cr_expect(y[0] == 0 && signbit(y[0]), "window {-0, +0, -1, -0}: -0 first");
    cr_expect(y[1] == 0 && !signbit(y[1]), "window {+0, -0, -2, +0}: +0 first");
    rtt_free_outputs(out, 1);
    check(RT_OP_MAX_POOL, 12, &tx, a, 2, "signed zeros");
}

/* A window entirely in the padding is -inf (MaxPool) or NaN (AveragePool, zero divisor). */
Test(pool_x86, empty_windows) {
    float x[3] = {1, 2, 3};
    int64_t xd[4] = {1, 1, 1, 3}, ks[2] = {1, 1}, p[4] = {0, 3, 0, 2};
    RtTensor tx = rtt_tensor(RT_F32, 4, xd, x);
    RtAttr a[] = {rtt_attr_ints("kernel_shape", ks, 2), rtt_attr_ints("pads", p, 4)};
    RtTensor out[2];
    cr_assert_eq(run_fn(table_find(rt_kernels_x86_pool, RT_OP_MAX_POOL), RT_OP_MAX_POOL, 12, &tx, out, 1, a, 2, NULL, 0),
                 RT_OK);
    const float *y = out[0].data;
    cr_assert_eq(rt_numel(&out[0]), 8);
    cr_expect(isinf(y[0]) && y[0] < 0 && y[3] == 1 && y[5] == 3 && isinf(y[7]), "-inf, ..., 1, 2, 3, -inf");
    rtt_free_outputs(out, 1);
    check(RT_OP_MAX_POOL, 12, &tx, a, 2, "empty max windows");
    check(RT_OP_AVERAGE_POOL, 19, &tx, a, 2, "empty average windows");
}

static void global_case(int op, int64_t N, int64_t C, int64_t H, int64_t W, int data) {
    int64_t xd[4] = {N, C, H, W}, n = N * C * H * W;
    float *x = malloc(sizeof(float) * (size_t)n);
    cr_assert_not_null(x);
    fill(x, n, data, (uint32_t)(n + 3 * data));
    RtTensor tx = rtt_tensor(RT_F32, 4, xd, x);
    char what[128];
    snprintf(what, sizeof what, "%s x[%lld,%lld,%lld,%lld] data %d", rt_op_name(op), (long long)N, (long long)C,
             (long long)H, (long long)W, data);
    check(op, 13, &tx, NULL, 0, what);
    free(x);
}

Test(pool_x86, global_pools) {
    static const int64_t C[] = {1, 3, 17};
    for (int op = 0; op < 2; op++)
        for (int c = 0; c < 3; c++)
            for (int h = 0; h < 4; h++)
                for (int w = 0; w < 4; w++)
                    for (int d = 0; d < 3; d++)
                        global_case(op ? RT_OP_GLOBAL_MAX_POOL : RT_OP_GLOBAL_AVERAGE_POOL, 1 + (w == 2), C[c], HW[h],
                                    HW[w], d);
    /* model shapes (kws, mobilenet_v2) and planes large enough for two threads */
    global_case(RT_OP_GLOBAL_AVERAGE_POOL, 1, 64, 25, 5, D_GENERIC);
    global_case(RT_OP_GLOBAL_AVERAGE_POOL, 1, 1280, 7, 7, D_GENERIC);
    global_case(RT_OP_GLOBAL_AVERAGE_POOL, 2, 33, 100, 101, D_GENERIC);
    global_case(RT_OP_GLOBAL_MAX_POOL, 2, 33, 100, 101, D_TIES);
    global_case(RT_OP_GLOBAL_MAX_POOL, 1, 1280, 7, 7, D_NAN);
}

/* GlobalMaxPool: NaNs never count (an all-NaN plane is -inf); the first zero stays. */
Test(pool_x86, global_max_rules) {
    float x[3 * 20];
    for (int i = 0; i < 20; i++) {
        x[i] = bits_f(QNAN);
        x[20 + i] = i == 3 ? -0.0f : i == 17 ? 0.0f : -1.0f - (float)i;
        x[40 + i] = i == 0 ? bits_f(QNAN) : i == 19 ? 0.0f : i == 18 ? -0.0f : -3.0f;
    }
    int64_t xd[4] = {1, 3, 4, 5};
    RtTensor tx = rtt_tensor(RT_F32, 4, xd, x);
    RtTensor out[2];
    cr_assert_eq(run_fn(table_find(rt_kernels_x86_pool, RT_OP_GLOBAL_MAX_POOL), RT_OP_GLOBAL_MAX_POOL, 13, &tx, out, 1,
                        NULL, 0, NULL, 0), RT_OK);
    const float *y = out[0].data;
    cr_expect(isinf(y[0]) && y[0] < 0, "all NaN -> -inf, got %g", y[0]);
    cr_expect(y[1] == 0 && signbit(y[1]), "first zero -0");
    cr_expect(y[2] == 0 && signbit(y[2]), "first zero -0 after a NaN");
    rtt_free_outputs(out, 1);
    check(RT_OP_GLOBAL_MAX_POOL, 13, &tx, NULL, 0, "global max rules");
    check(RT_OP_GLOBAL_AVERAGE_POOL, 13, &tx, NULL, 0, "global average NaNs");
}

/* What the optimized kernels hand to the reference gives the reference's results. */
Test(pool_x86, reference_cases) {
    float x[2 * 3 * 2 * 4 * 5]; /* the 3-D case's size; the others use the front */
    fill(x, 240, D_GENERIC, 9);
    int64_t ks2[2] = {2, 2}, ks1[1] = {2}, ks3[3] = {1, 2, 2};
    /* Indices output, both storage orders */
    int64_t xd4[4] = {2, 3, 4, 5};
    RtTensor tx = rtt_tensor(RT_F32, 4, xd4, x);
    for (int order = 0; order < 2; order++) {
        RtAttr a[] = {rtt_attr_ints("kernel_shape", ks2, 2), rtt_attr_int("storage_order", order)};
        RtTensor r[2], g[2];
        cr_assert_eq(run_fn(rt_kernel_find(RT_OP_MAX_POOL), RT_OP_MAX_POOL, 12, &tx, r, 2, a, 2, NULL, 0), RT_OK);
        cr_assert_eq(run_fn(table_find(rt_kernels_x86_pool, RT_OP_MAX_POOL), RT_OP_MAX_POOL, 12, &tx, g, 2, a, 2, NULL, 0),
                     RT_OK);
        expect_same(&g[0], &r[0], "indices run: values");
        cr_expect(rt_nbytes(&g[1]) == rt_nbytes(&r[1]) && memcmp(g[1].data, r[1].data, (size_t)rt_nbytes(&r[1])) == 0,
                  "indices");
        rtt_free_outputs(r, 2);
        rtt_free_outputs(g, 2);
    }
    /* 1-D and 3-D */
    int64_t xd3[3] = {2, 3, 20}, xd5[5] = {2, 3, 2, 4, 5};
    RtTensor t3 = rtt_tensor(RT_F32, 3, xd3, x), t5 = rtt_tensor(RT_F32, 5, xd5, x);
    RtAttr a1[] = {rtt_attr_ints("kernel_shape", ks1, 1)}, a3[] = {rtt_attr_ints("kernel_shape", ks3, 3)};
    check(RT_OP_MAX_POOL, 12, &t3, a1, 1, "1-D max");
    check(RT_OP_AVERAGE_POOL, 19, &t3, a1, 1, "1-D average");
    check(RT_OP_MAX_POOL, 12, &t5, a3, 1, "3-D max");
    check(RT_OP_GLOBAL_AVERAGE_POOL, 13, &t3, NULL, 0, "1-D global average");
    check(RT_OP_GLOBAL_MAX_POOL, 13, &t5, NULL, 0, "3-D global max");
    /* malformed attributes: same status and message */
    int64_t bad_pads[4] = {1, -1, 0, 0}, ks_bad[2] = {0, 2};
    RtAttr b1[] = {rtt_attr_ints("kernel_shape", ks2, 2), rtt_attr_ints("pads", bad_pads, 4)};
    RtAttr b2[] = {rtt_attr_ints("kernel_shape", ks2, 2), rtt_attr_int("ceil_mode", 2)};
    RtAttr b3[] = {rtt_attr_ints("kernel_shape", ks_bad, 2)};
    RtAttr b4[] = {rtt_attr_ints("kernel_shape", ks2, 2), rtt_attr_int("count_include_pad", 3)};
    RtAttr b5[] = {rtt_attr_ints("kernel_shape", ks2, 2), rtt_attr_str("auto_pad", "BOGUS")};
    RtAttr b6[] = {rtt_attr_ints("kernel_shape", ks1, 1)};
    check(RT_OP_MAX_POOL, 12, &tx, b1, 2, "negative pad");
    check(RT_OP_MAX_POOL, 12, &tx, b2, 2, "ceil_mode 2");
    check(RT_OP_MAX_POOL, 12, &tx, b3, 1, "kernel 0");
    check(RT_OP_AVERAGE_POOL, 19, &tx, b4, 2, "count_include_pad 3");
    check(RT_OP_AVERAGE_POOL, 19, &tx, b5, 2, "bad auto_pad");
    check(RT_OP_AVERAGE_POOL, 19, &tx, b6, 1, "kernel_shape rank");
    check(RT_OP_MAX_POOL, 12, &tx, NULL, 0, "no kernel_shape");
    int64_t ks9[2] = {9, 9};
    RtAttr b7[] = {rtt_attr_ints("kernel_shape", ks9, 2)};
    check(RT_OP_MAX_POOL, 12, &tx, b7, 1, "kernel larger than the input");
}

Test(pool_x86, other_dtypes_and_shape_mode) {
    double xd64[40];
    for (int i = 0; i < 40; i++) xd64[i] = (double)((i * 7) % 11) - 5.0;
    int64_t xd[4] = {1, 2, 4, 5}, ks[2] = {2, 2};
    RtTensor t = rtt_tensor(RT_F64, 4, xd, xd64);
    RtAttr a[] = {rtt_attr_ints("kernel_shape", ks, 2)};
    const int ops[4] = {RT_OP_MAX_POOL, RT_OP_AVERAGE_POOL, RT_OP_GLOBAL_AVERAGE_POOL, RT_OP_GLOBAL_MAX_POOL};
    for (int o = 0; o < 4; o++) {
        int na = o < 2 ? 1 : 0;
        RtTensor r[2], g[2];
        cr_assert_eq(run_fn(rt_kernel_find(ops[o]), ops[o], 19, &t, r, 1, a, na, NULL, 0), RT_OK);
        cr_assert_eq(run_fn(table_find(rt_kernels_x86_pool, ops[o]), ops[o], 19, &t, g, 1, a, na, NULL, 0), RT_OK);
        cr_expect_eq(g[0].dtype, RT_F64);
        cr_expect(rt_nbytes(&g[0]) == rt_nbytes(&r[0]) && memcmp(g[0].data, r[0].data, (size_t)rt_nbytes(&r[0])) == 0,
                  "%s float64", rt_op_name(ops[o]));
        rtt_free_outputs(r, 1);
        rtt_free_outputs(g, 1);
        /* shape mode: float32 without data */
        RtTensor ts = rtt_tensor(RT_F32, 4, xd, NULL);
        cr_expect_eq(run_fn(table_find(rt_kernels_x86_pool, ops[o]), ops[o], 19, &ts, g, 1, a, na, NULL, 1), RT_SHAPE_ONLY);
        int64_t want[4] = {1, 2, o < 2 ? 3 : 1, o < 2 ? 4 : 1};
        rtt_expect_dims(&g[0], 4, want);
    }
}
