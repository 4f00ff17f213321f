/*
 * test_qops_x86.c — the optimized int8 kernels of runtime/kernels/x86/qops_x86.c (QConv,
 * ConvInteger, QLinear, QAdd, QGlobalAveragePool, QuantizeLinear, DynamicQuantizeLinear) against the reference kernels of
 * runtime/kernels/ref/, bit for bit, through rt_kernel_find_fast(op) and rt_kernel_find(op)
 * on the same node: odd shapes (channels 1, 3, 17, 33; K not a multiple of 4 or 64), uint8
 * and int8 activations and weights, nonzero zero points, per-tensor and per-channel scales
 * (multipliers below 1/2, in [1/2, 1) and above 1), qmin/qmax clamps, with and without bias,
 * strides, pads, dilations, groups (depthwise, channel multiplier, grouped), 1-D and 2-D,
 * batch 2; each on 1 thread and on a pool of 2, with a node state (constants prepared by a
 * first run, used by a second), and for every implementation this CPU runs
 * (WAFER_RT_QGEMM=avx2 / vnni). End to end: the int8 kws_dscnn and mobilenet_v2 through the
 * CLI give the same output bytes with these kernels as without, on 1 and 2 threads.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <unistd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/kernels/kernel.h"
#include "../../runtime/kernels/x86/qgemm.h"
#include "../../runtime/rt_threads.h"
#include "../test_util.h"

static RtError err;
static uint64_t lcg_state = 7;
static uint32_t lcg(void) {
    lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(lcg_state >> 33);
}

/* Runs op's fast (fast = 1) or reference kernel on in[n_in] with attrs into *out. */
static int run_kernel_state(int fast, int op, RtTensor **in, int n_in, RtTensor *out, RtAttr *attrs, int n_attr,
                            RtThreadPool *pool, void **node_state) {
    int slots_in[16], slot_out = 30;
    for (int i = 0; i < n_in; i++) slots_in[i] = in[i] ? i : -1;
    memset(out, 0, sizeof *out);
    RtTensor *outp[] = {out};
    RtNode n = {op, "t", rt_op_name(op), "wafer", 19, n_in, slots_in, 1, &slot_out, n_attr, attrs};
    RtKernelCtx c = {rt_allocator_default(), &err, 0, NULL, pool, 0, NULL, NULL, 0};
    if (node_state) { /* every input but the first a graph constant, as in a quantized model */
        c.node_state = node_state;
        c.state_alloc = rt_allocator_default();
        c.const_inputs = ~(uint64_t)1;
    }
    err.msg[0] = '\0';
    RtKernelFn fn = fast ? rt_kernel_find_fast(op) : rt_kernel_find(op);
    cr_assert_not_null(fn, "no kernel for %s", rt_op_name(op));
    return fn(&c, &n, in, outp);
}

static int run_kernel(int fast, int op, RtTensor **in, int n_in, RtTensor *out, RtAttr *attrs, int n_attr,
                      RtThreadPool *pool) {
    return run_kernel_state(fast, op, in, n_in, out, attrs, n_attr, pool, NULL);
}

/* got against ref: same status, and on success the same dtype, shape and bytes. */
static void expect_same(int st, int st_ref, const RtTensor *got, const RtTensor *ref, const char *what, const char *how) {
    cr_assert_eq(st, st_ref, "%s (%s): status %d, reference %d (%s)", what, how, st, st_ref, err.msg);
    if (st != RT_OK) return;
    cr_assert_eq(got->dtype, ref->dtype, "%s: dtype", what);
    cr_assert_eq(got->rank, ref->rank, "%s: rank", what);
    for (int d = 0; d < ref->rank; d++) cr_assert_eq(got->dims[d], ref->dims[d], "%s: dim %d", what, d);
    int64_t nb = rt_nbytes(ref);
    for (int64_t b = 0; b < nb; b++)
        cr_assert_eq(((uint8_t *)got->data)[b], ((uint8_t *)ref->data)[b], "%s (%s): byte %lld is %d, reference %d", what,
                     how, (long long)b, ((uint8_t *)got->data)[b], ((uint8_t *)ref->data)[b]);
}

/* The implementations to test: "vnni" and "avx2" where this CPU runs them (set through
 * WAFER_RT_QGEMM, which rt_qgemm_isa reads on every call). */
static int isas(const char **names) {
    int k = 0;
    if (rt_qgemm_isa_supported(RT_QGEMM_VNNI)) names[k++] = "vnni";
    if (rt_qgemm_isa_supported(RT_QGEMM_AVX2)) names[k++] = "avx2";
    if (k == 0) cr_log_warn("no AVX2 on this CPU: only the reference path runs");
    return k;
}

/* Fast (1 and 2 threads, every implementation) against the reference: same status, and on
 * success the same dtype, shape and bytes. */
static void compare(int op, RtTensor **in, int n_in, RtAttr *attrs, int n_attr, const char *what) {
    RtThreadPool *pool = rt_pool_new(2, NULL);
    cr_assert_not_null(pool);
    RtTensor ref;
    int st_ref = run_kernel(0, op, in, n_in, &ref, attrs, n_attr, NULL);
    const char *names[2];
    int k = isas(names);
    for (int i = 0; i < k; i++) {
        setenv("WAFER_RT_QGEMM", names[i], 1);
        for (int threads = 1; threads <= 2; threads++) {
            RtTensor got;
            int st = run_kernel(1, op, in, n_in, &got, attrs, n_attr, threads == 2 ? pool : NULL);
            char how[64];
            snprintf(how, sizeof how, "%s, %d threads", names[i], threads);
            expect_same(st, st_ref, &got, &ref, what, how);
            free(got.data);
        }
        /* with a node state: made by the first run, used by the second */
        void *state = NULL;
        for (int run = 0; run < 2; run++) {
            RtTensor got;
            int st = run_kernel_state(1, op, in, n_in, &got, attrs, n_attr, run ? pool : NULL, &state);
            char how[64];
            snprintf(how, sizeof how, "%s, node state run %d", names[i], run);
            expect_same(st, st_ref, &got, &ref, what, how);
            free(got.data);
        }
        free(state);
    }
    unsetenv("WAFER_RT_QGEMM");
    free(ref.data);
    rt_pool_free(pool);
}

static void fill8(uint8_t *p, int64_t n) {
    for (int64_t i = 0; i < n; i++) p[i] = (uint8_t)lcg();
}

static const int64_t scalar_dims[1] = {1};

/* ---------------------------------------------------------------- QConv */

typedef struct {
    int N, C, H, W, M, group;
    int kh, kw, sh, sw, pt, pl, pb, pr, dh, dw;
    int x_u8, w_u8;
    int per_ch;      /* w_scale and w_zero_point per output channel */
    int wz;          /* nonzero weight zero points */
    int bias;
    int clamp;       /* qmin / qmax attributes */
    int mult;        /* multipliers: 0 below 1/2, 1 some in [1/2, 1), 2 some above 1 */
    int one_d;       /* rank 3 (H = 1 dropped) */
} ConvCase;

static void qconv_case(ConvCase k, const char *what) {
    int Cg = k.C / k.group;
    int64_t nx = (int64_t)k.N * k.C * k.H * k.W, nw = (int64_t)k.M * Cg * k.kh * k.kw;
    uint8_t *x = malloc((size_t)nx), *w = malloc((size_t)nw), xz, yz, wz[64];
    float xs = 0.02f + (lcg() % 100) * 1e-4f, ws[64], ys;
    int32_t b[64];
    fill8(x, nx);
    fill8(w, nw);
    xz = (uint8_t)lcg(), yz = (uint8_t)lcg();
    for (int m = 0; m < 64; m++) {
        ws[m] = 0.001f + (lcg() % 1000) * 1e-5f;
        wz[m] = k.wz ? (uint8_t)lcg() : (uint8_t)0;
        b[m] = (int32_t)(lcg() % 40001) - 20000;
    }
    /* y_scale so that M = xs * ws / ys is about 2^-7 (typical), or spans [1/2, 4) */
    ys = k.mult == 0 ? xs * 0.005f * 128.0f : k.mult == 1 ? xs * 0.005f * 1.4f : xs * 0.005f * 0.4f;
    int64_t xd[4] = {k.N, k.C, k.H, k.W}, wd[4] = {k.M, Cg, k.kh, k.kw}, md[1] = {k.M};
    if (k.one_d) xd[2] = k.W, wd[2] = k.kw;
    int rank = k.one_d ? 3 : 4;
    RtDtype xt = k.x_u8 ? RT_U8 : RT_I8, wt = k.w_u8 ? RT_U8 : RT_I8;
    RtTensor tx = {xt, rank, {0}, x}, tw = {wt, rank, {0}, w};
    memcpy(tx.dims, xd, sizeof xd);
    memcpy(tw.dims, wd, sizeof wd);
    RtTensor txs = {RT_F32, 0, {0}, &xs}, txz = {xt, 0, {0}, &xz}, tys = {RT_F32, 0, {0}, &ys}, tyz = {xt, 0, {0}, &yz};
    RtTensor tws = {RT_F32, k.per_ch ? 1 : 0, {k.M}, ws}, twz = {wt, k.per_ch ? 1 : 0, {k.M}, wz};
    RtTensor tb = {RT_I32, 1, {k.M}, b};
    (void)md, (void)scalar_dims;
    RtTensor *in[9] = {&tx, &txs, &txz, &tw, &tws, &twz, &tys, &tyz, k.bias ? &tb : NULL};
    int64_t ks[2] = {k.kh, k.kw}, st[2] = {k.sh, k.sw}, dl[2] = {k.dh, k.dw}, pads[4] = {k.pt, k.pl, k.pb, k.pr};
    int64_t ks1[1] = {k.kw}, st1[1] = {k.sw}, dl1[1] = {k.dw}, pads1[2] = {k.pl, k.pr};
    RtAttr attrs[8];
    int na = 0;
    attrs[na++] = (RtAttr){.name = "group", .type = RT_ATTR_INT, .i = k.group};
    attrs[na++] = (RtAttr){.name = "kernel_shape", .type = RT_ATTR_INTS, .n = rank - 2, .ints = k.one_d ? ks1 : ks};
    attrs[na++] = (RtAttr){.name = "strides", .type = RT_ATTR_INTS, .n = rank - 2, .ints = k.one_d ? st1 : st};
    attrs[na++] = (RtAttr){.name = "dilations", .type = RT_ATTR_INTS, .n = rank - 2, .ints = k.one_d ? dl1 : dl};
    attrs[na++] = (RtAttr){.name = "pads", .type = RT_ATTR_INTS, .n = 2 * (rank - 2), .ints = k.one_d ? pads1 : pads};
    if (k.clamp) {
        int lo = k.x_u8 ? 0 : -128;
        attrs[na++] = (RtAttr){.name = "qmin", .type = RT_ATTR_INT, .i = lo + 30};
        attrs[na++] = (RtAttr){.name = "qmax", .type = RT_ATTR_INT, .i = lo + 200};
    }
    compare(RT_OP_QCONV, in, 9, attrs, na, what);
    free(x);
    free(w);
}

/* A sweep of variants around one geometry. */
static void qconv_sweep(ConvCase base, const char *what) {
    for (int v = 0; v < 8; v++) {
        ConvCase k = base;
        k.x_u8 = v & 1;
        k.w_u8 = (v >> 1) & 1;
        k.per_ch = v != 2;
        k.wz = v == 3 || v == 6;
        k.bias = v != 4;
        k.clamp = v == 5;
        k.mult = v == 6 ? 1 : v == 7 ? 2 : 0;
        qconv_case(k, what);
    }
}

Test(qops_x86, qconv_depthwise) {
    /* N C H W M group kh kw sh sw pt pl pb pr dh dw */
    ConvCase cases[] = {
        {1, 1, 7, 7, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},       {1, 3, 5, 9, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
        {1, 17, 14, 14, 17, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},  {2, 33, 13, 11, 33, 33, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},
        {1, 17, 16, 16, 17, 17, 3, 3, 2, 2, 0, 0, 1, 1, 1, 1},  {1, 3, 17, 17, 3, 3, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1},
        {1, 5, 12, 10, 5, 5, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2},     {1, 4, 11, 13, 8, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
        {1, 6, 10, 20, 6, 6, 3, 5, 3, 3, 1, 2, 0, 1, 1, 1},     {1, 33, 7, 7, 33, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
        {1, 40, 3, 3, 40, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},    {1, 3, 9, 70, 3, 3, 1, 4, 1, 2, 0, 1, 0, 2, 1, 1},
        {1, 2, 1, 1, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1},       {1, 7, 30, 30, 7, 7, 3, 3, 2, 1, 1, 1, 1, 1, 1, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "depthwise case %zu", i);
        qconv_sweep(cases[i], what);
    }
    ConvCase d1 = {1, 17, 1, 40, 17, 17, 1, 5, 1, 2, 0, 2, 0, 2, 1, 1};
    d1.one_d = 1;
    qconv_sweep(d1, "depthwise 1-D");
}

Test(qops_x86, qconv_pointwise) {
    ConvCase cases[] = {
        {1, 1, 7, 7, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1},       {1, 3, 5, 9, 17, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1},
        {2, 17, 14, 14, 33, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1},   {1, 33, 7, 7, 40, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1},
        {1, 67, 3, 5, 9, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1},      {1, 16, 10, 10, 24, 2, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1},
        {1, 130, 2, 3, 5, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "pointwise case %zu", i);
        qconv_sweep(cases[i], what);
    }
}

Test(qops_x86, qconv_general) {
    ConvCase cases[] = {
        {1, 3, 15, 15, 17, 1, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},    {2, 1, 11, 7, 5, 1, 10, 4, 2, 2, 5, 1, 5, 1, 1, 1},
        {1, 4, 9, 9, 6, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},       {1, 5, 8, 13, 7, 1, 2, 3, 3, 1, 0, 2, 1, 0, 2, 1},
        {1, 33, 6, 6, 3, 1, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1},      {1, 8, 5, 5, 8, 1, 1, 1, 2, 2, 1, 1, 0, 0, 1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "general case %zu", i);
        qconv_sweep(cases[i], what);
    }
    ConvCase d1 = {1, 3, 1, 50, 9, 1, 1, 5, 1, 2, 0, 2, 0, 1, 1, 1};
    d1.one_d = 1;
    qconv_sweep(d1, "general 1-D");
}

/* The flat im2col path splits input channels (phase planes) and im2col rows over the pool's
 * threads: each must write its own rows only. Rows of PW or F bytes that are not multiples of
 * the vector stores (64 and 32) once let a thread's last store spill into the next row, which
 * another thread may already have written (PaddleOCR's int8 detector gave different maps on 2
 * threads, ~1 run in 4). A race shows only sometimes: each geometry is run 20 times on 2
 * threads against the reference (stride 1: Cg 96 over chunks of 18 channels; stride 2: rows of
 * F = 143 bytes). */
Test(qops_x86, qconv_flat_threads_write_their_rows_only) {
    ConvCase cases[] = {
        {1, 96, 16, 24, 24, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
        {1, 64, 18, 30, 16, 1, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int rep = 0; rep < 20; rep++) {
            char what[64];
            snprintf(what, sizeof what, "flat case %zu, run %d", i, rep);
            qconv_case(cases[i], what);
        }
}

/* Inputs the fast kernel must leave to the reference, which fails or handles them. */
Test(qops_x86, qconv_errors_and_fallbacks) {
    ConvCase k = {1, 4, 5, 5, 6, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}; /* group 3 does not divide C = 4 */
    qconv_case(k, "bad group");
    uint8_t x[50], w[18], z = 0;
    fill8(x, 50);
    fill8(w, 18);
    float s = 0.1f, bad = -1.0f;
    RtTensor tx = {RT_I8, 4, {1, 2, 5, 5}, x}, tw = {RT_I8, 4, {2, 1, 3, 3}, w};
    RtTensor ts = {RT_F32, 0, {0}, &s}, tbad = {RT_F32, 0, {0}, &bad}, tz = {RT_I8, 0, {0}, &z};
    RtTensor tzu = {RT_U8, 0, {0}, &z};
    int64_t ks[2] = {3, 3};
    RtAttr a[2] = {{.name = "group", .type = RT_ATTR_INT, .i = 2}, {.name = "kernel_shape", .type = RT_ATTR_INTS, .n = 2, .ints = ks}};
    RtTensor *in1[9] = {&tx, &ts, &tz, &tw, &ts, &tz, &tbad, &tz, NULL}; /* y_scale < 0 */
    compare(RT_OP_QCONV, in1, 9, a, 2, "negative y_scale");
    RtTensor *in2[9] = {&tx, &ts, &tzu, &tw, &ts, &tz, &ts, &tz, NULL}; /* x_zero_point of another dtype */
    compare(RT_OP_QCONV, in2, 9, a, 2, "x_zero_point dtype");
    RtAttr a3[3] = {a[0], a[1], {.name = "qmin", .type = RT_ATTR_INT, .i = 50}};
    RtAttr q3 = {.name = "qmax", .type = RT_ATTR_INT, .i = 10};
    RtAttr a4[4] = {a3[0], a3[1], a3[2], q3};
    RtTensor *in3[9] = {&tx, &ts, &tz, &tw, &ts, &tz, &ts, &tz, NULL}; /* qmin > qmax */
    compare(RT_OP_QCONV, in3, 9, a4, 4, "qmin > qmax");
}

/* ---------------------------------------------------------------- ConvInteger */

/* ONNX ConvInteger on k's geometry: x, w, and zero points as wz_kind says (0: neither given,
 * 1: both scalars, 2: x's scalar and w's per output channel, 3: w's only, per channel); the
 * fast kernel's int32 sums against the reference's, byte for byte. */
static void conv_integer_case(ConvCase k, int wz_kind, const char *what) {
    int Cg = k.C / k.group;
    int64_t nx = (int64_t)k.N * k.C * k.H * k.W, nw = (int64_t)k.M * Cg * k.kh * k.kw;
    uint8_t *x = malloc((size_t)nx), *w = malloc((size_t)nw), xz = (uint8_t)lcg(), wz[64];
    fill8(x, nx);
    fill8(w, nw);
    for (int m = 0; m < 64; m++) wz[m] = (uint8_t)lcg();
    int64_t xd[4] = {k.N, k.C, k.H, k.W}, wd[4] = {k.M, Cg, k.kh, k.kw};
    if (k.one_d) xd[2] = k.W, wd[2] = k.kw;
    int rank = k.one_d ? 3 : 4;
    RtDtype xt = k.x_u8 ? RT_U8 : RT_I8, wt = k.w_u8 ? RT_U8 : RT_I8;
    RtTensor tx = {xt, rank, {0}, x}, tw = {wt, rank, {0}, w};
    memcpy(tx.dims, xd, sizeof xd);
    memcpy(tw.dims, wd, sizeof wd);
    RtTensor txz = {xt, 0, {0}, &xz}, twz = {wt, wz_kind >= 2 ? 1 : 0, {k.M}, wz};
    RtTensor *in[4] = {&tx, &tw, wz_kind == 1 || wz_kind == 2 ? &txz : NULL, wz_kind ? &twz : NULL};
    int64_t ks[2] = {k.kh, k.kw}, st[2] = {k.sh, k.sw}, dl[2] = {k.dh, k.dw}, pads[4] = {k.pt, k.pl, k.pb, k.pr};
    int64_t ks1[1] = {k.kw}, st1[1] = {k.sw}, dl1[1] = {k.dw}, pads1[2] = {k.pl, k.pr};
    RtAttr attrs[5] = {
        {.name = "group", .type = RT_ATTR_INT, .i = k.group},
        {.name = "kernel_shape", .type = RT_ATTR_INTS, .n = rank - 2, .ints = k.one_d ? ks1 : ks},
        {.name = "strides", .type = RT_ATTR_INTS, .n = rank - 2, .ints = k.one_d ? st1 : st},
        {.name = "dilations", .type = RT_ATTR_INTS, .n = rank - 2, .ints = k.one_d ? dl1 : dl},
        {.name = "pads", .type = RT_ATTR_INTS, .n = 2 * (rank - 2), .ints = k.one_d ? pads1 : pads}};
    compare(RT_OP_CONV_INTEGER, in, 4, attrs, 5, what);
    free(x);
    free(w);
}

/* The 1x1 (input planes as the GEMM's B) and im2col paths, grouped, strided, dilated, padded,
 * 1-D and 2-D, batch 2, uint8/int8 operands, every zero-point form; depthwise and a group
 * that does not divide C go to the reference (its result or its error). IS-Net's dynamically
 * quantized background remover (imgly) runs 119 of these, 3x faster than the reference. */
Test(qops_x86, conv_integer) {
    /* N C H W M group kh kw sh sw pt pl pb pr dh dw */
    ConvCase cases[] = {
        {1, 3, 15, 15, 17, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},    {2, 17, 14, 14, 33, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1},
        {1, 4, 9, 9, 6, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},       {1, 5, 8, 13, 7, 1, 2, 3, 3, 1, 0, 2, 1, 0, 2, 1},
        {1, 33, 6, 6, 3, 1, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1},      {1, 8, 5, 5, 8, 1, 1, 1, 2, 2, 1, 1, 0, 0, 1, 1},
        {1, 16, 20, 20, 16, 1, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2},   {1, 17, 7, 7, 17, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
        {1, 4, 5, 5, 6, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int v = 0; v < 16; v++) {
            ConvCase k = cases[i];
            k.x_u8 = v & 1, k.w_u8 = (v >> 1) & 1;
            char what[64];
            snprintf(what, sizeof what, "ConvInteger case %zu, variant %d", i, v);
            conv_integer_case(k, v >> 2, what);
        }
    ConvCase d1 = {1, 3, 1, 50, 9, 1, 1, 5, 1, 2, 0, 2, 0, 1, 1, 1};
    d1.one_d = 1, d1.x_u8 = 1;
    conv_integer_case(d1, 2, "ConvInteger 1-D");
}

/* ---------------------------------------------------------------- QLinear */

static void qlinear_case(int R0, int R1, int K, int N, int x_u8, int w_u8, int per_ch, int wz, int bias, int clamp,
                         const char *what) {
    int64_t R = (int64_t)R0 * R1;
    uint8_t *x = malloc((size_t)(R * K)), *w = malloc((size_t)N * K), *wzv = malloc((size_t)N), xz = (uint8_t)lcg(),
            yz = (uint8_t)lcg();
    float *ws = malloc((size_t)N * sizeof(float)), xs = 0.03f, ys = 0.03f * 0.004f * 90.0f;
    int32_t *b = malloc((size_t)N * sizeof(int32_t));
    fill8(x, R * K);
    fill8(w, (int64_t)N * K);
    for (int n = 0; n < N; n++) {
        ws[n] = 0.001f + (lcg() % 1000) * 1e-5f;
        wzv[n] = wz ? (uint8_t)lcg() : 0;
        b[n] = (int32_t)(lcg() % 100001) - 50000;
    }
    RtDtype xt = x_u8 ? RT_U8 : RT_I8, wt = w_u8 ? RT_U8 : RT_I8;
    RtTensor tx = {xt, 3, {R0, R1, K}, x}, tw = {wt, 2, {N, K}, w};
    RtTensor txs = {RT_F32, 0, {0}, &xs}, txz = {xt, 0, {0}, &xz}, tys = {RT_F32, 0, {0}, &ys}, tyz = {xt, 0, {0}, &yz};
    RtTensor tws = {RT_F32, per_ch ? 1 : 0, {N}, ws}, twz = {wt, per_ch ? 1 : 0, {N}, wzv}, tb = {RT_I32, 1, {N}, b};
    RtTensor *in[9] = {&tx, &txs, &txz, &tw, &tws, &twz, &tys, &tyz, bias ? &tb : NULL};
    RtAttr attrs[2] = {{.name = "qmin", .type = RT_ATTR_INT, .i = x_u8 ? 10 : -100},
                       {.name = "qmax", .type = RT_ATTR_INT, .i = x_u8 ? 200 : 90}};
    compare(RT_OP_QLINEAR, in, 9, attrs, clamp ? 2 : 0, what);
    free(x), free(w), free(wzv), free(ws), free(b);
}

Test(qops_x86, qlinear) {
    int shapes[][4] = {{1, 1, 1, 1}, {1, 1, 64, 10}, {1, 3, 17, 33}, {2, 3, 67, 5}, {1, 49, 131, 17}, {1, 1, 1280, 100}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int v = 0; v < 6; v++) {
            char what[64];
            snprintf(what, sizeof what, "qlinear shape %zu variant %d", s, v);
            qlinear_case(shapes[s][0], shapes[s][1], shapes[s][2], shapes[s][3], v & 1, (v >> 1) & 1, v != 2, v == 3,
                         v != 4, v == 5, what);
        }
}

/* ---------------------------------------------------------------- QAdd */

static void qadd_case(int64_t na, int64_t nb, int a_u8, int b_u8, float sa, float sb, float sy, int clamp,
                      const char *what) {
    uint8_t *a = malloc((size_t)na), *b = malloc((size_t)nb), az = (uint8_t)lcg(), bz = (uint8_t)lcg(), yz = (uint8_t)lcg();
    fill8(a, na);
    fill8(b, nb);
    RtDtype at = a_u8 ? RT_U8 : RT_I8, bt = b_u8 ? RT_U8 : RT_I8;
    RtTensor ta = {at, 2, {1, na}, a}, tb = {bt, 2, {1, nb}, b};
    RtTensor tas = {RT_F32, 0, {0}, &sa}, taz = {at, 0, {0}, &az}, tbs = {RT_F32, 0, {0}, &sb}, tbz = {bt, 0, {0}, &bz};
    RtTensor tys = {RT_F32, 0, {0}, &sy}, tyz = {at, 0, {0}, &yz};
    RtTensor *in[8] = {&ta, &tas, &taz, &tb, &tbs, &tbz, &tys, &tyz};
    RtAttr attrs[1] = {{.name = "qmin", .type = RT_ATTR_INT, .i = a_u8 ? 40 : -60}};
    compare(RT_OP_QADD, in, 8, attrs, clamp, what);
    free(a), free(b);
}

Test(qops_x86, qadd) {
    int64_t sizes[] = {1, 3, 17, 33, 100, 1000, 75264};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int v = 0; v < 4; v++) {
            char what[64];
            snprintf(what, sizeof what, "qadd %lld variant %d", (long long)sizes[s], v);
            float sa = 0.05f, sb = v == 1 ? 0.011f : 0.07f, sy = v == 2 ? 0.5f : 0.09f;
            qadd_case(sizes[s], sizes[s], v & 1, v == 3 ? 0 : v & 1, sa, sb, sy, v == 2, what);
        }
    qadd_case(17, 1, 0, 0, 0.05f, 0.05f, 0.05f, 0, "qadd broadcast (reference path)");
    qadd_case(64, 64, 0, 0, 0.05f, 0.05f, 1e-9f, 0, "qadd output multiplier >= 1 (reference path)");
}

/* ---------------------------------------------------------------- QGlobalAveragePool */

Test(qops_x86, qglobal_average_pool) {
    int shapes[][4] = {{1, 1, 1, 1}, {1, 3, 7, 7}, {2, 17, 5, 3}, {1, 33, 14, 14}, {1, 64, 25, 5}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int v = 0; v < 2; v++) {
            int64_t n = (int64_t)shapes[s][0] * shapes[s][1] * shapes[s][2] * shapes[s][3];
            uint8_t *x = malloc((size_t)n), xz = (uint8_t)lcg(), yz = (uint8_t)lcg();
            fill8(x, n);
            float xs = 0.04f, ys = v ? 0.01f : 0.05f;
            RtDtype t = v ? RT_U8 : RT_I8;
            RtTensor tx = {t, 4, {shapes[s][0], shapes[s][1], shapes[s][2], shapes[s][3]}, x};
            RtTensor txs = {RT_F32, 0, {0}, &xs}, txz = {t, 0, {0}, &xz}, tys = {RT_F32, 0, {0}, &ys}, tyz = {t, 0, {0}, &yz};
            RtTensor *in[5] = {&tx, &txs, &txz, &tys, &tyz};
            char what[64];
            snprintf(what, sizeof what, "qgap shape %zu variant %d", s, v);
            compare(RT_OP_QGLOBAL_AVERAGE_POOL, in, 5, NULL, 0, what);
            free(x);
        }
}

/* ---------------------------------------------------------------- QuantizeLinear */

Test(qops_x86, quantize_linear) {
    int64_t sizes[] = {1, 5, 17, 100, 150528};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int v = 0; v < 4; v++) {
            int64_t n = sizes[s];
            float *x = malloc((size_t)n * sizeof(float)), sc = v == 3 ? 0.0f : 0.0173f;
            for (int64_t i = 0; i < n; i++) {
                uint32_t r = lcg();
                x[i] = (float)((int32_t)(r % 2001) - 1000) * 0.0173f * 0.5f; /* many exact ties */
                if (r % 97 == 0) x[i] = (r & 1) ? INFINITY : -INFINITY;
                if (r % 89 == 0) x[i] = NAN;
                if (r % 83 == 0) x[i] = (float)(r % 5) * 1e30f;
            }
            uint8_t zp = (uint8_t)lcg();
            RtDtype t = v & 1 ? RT_U8 : RT_I8;
            RtTensor tx = {RT_F32, 2, {1, n}, x}, ts = {RT_F32, 0, {0}, &sc}, tz = {t, 0, {0}, &zp};
            RtTensor *in[3] = {&tx, &ts, &tz};
            char what[64];
            snprintf(what, sizeof what, "quantize %lld variant %d", (long long)n, v);
            compare(RT_OP_QUANTIZE_LINEAR, in, 3, NULL, 0, what);
            free(x);
        }
}

/* ---------------------------------------------------------------- end to end */

/* The int8 models through the CLI: quantized from the fixtures, run with the optimized
 * kernels and without, outputs compared byte for byte. With --quantize-head every layer is
 * int8 and WAFER_RT_REF=1 (every kernel the reference) must give the same bytes; the default
 * models keep a float head whose kernel is not this file's, so there WAFER_RT_QGEMM=ref turns
 * only these kernels off. Two threads must give the same bytes as one. */
/* ---------------------------------------------------------------- DynamicQuantizeLinear */

/* Runs DynamicQuantizeLinear's fast (fast = 1) or reference kernel on x into y, scale, zp. */
static int run_dql(int fast, RtTensor *x, RtTensor *y, RtTensor *scale, RtTensor *zp, RtThreadPool *pool) {
    int slot_in = 0, slots_out[3] = {30, 31, 32};
    memset(y, 0, sizeof *y);
    memset(scale, 0, sizeof *scale);
    memset(zp, 0, sizeof *zp);
    RtTensor *in[] = {x}, *outp[] = {y, scale, zp};
    RtNode n = {RT_OP_DYNAMIC_QUANTIZE_LINEAR, "t", "DynamicQuantizeLinear", "", 11, 1, &slot_in, 3, slots_out, 0, NULL};
    RtKernelCtx c = {rt_allocator_default(), &err, 0, NULL, pool, 0, NULL, NULL, 0};
    err.msg[0] = '\0';
    RtKernelFn fn = fast ? rt_kernel_find_fast(RT_OP_DYNAMIC_QUANTIZE_LINEAR) : rt_kernel_find(RT_OP_DYNAMIC_QUANTIZE_LINEAR);
    return fn(&c, &n, in, outp);
}

/* Codes, scale and zero point of the fast kernel against the reference's, bit for bit: sizes
 * around the 16-lane vectors and the 64-element chunks, one-signed and mixed ranges, a
 * constant tensor (scale 1), NaNs (skipped by the range, coded 0 + zp), -0.0, infinities. */
Test(qops_x86, dynamic_quantize_linear) {
    static const int64_t sizes[] = {1, 15, 16, 17, 63, 64, 65, 1000, 4099};
    RtThreadPool *pool = rt_pool_new(2, NULL);
    cr_assert_not_null(pool);
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
        for (int kind = 0; kind < 7; kind++) {
            int64_t n = sizes[si];
            float *x = malloc(sizeof(float) * (size_t)n);
            for (int64_t i = 0; i < n; i++) {
                float u = (float)(lcg() % 20001) / 10000.0f - 1.0f; /* [-1, 1] */
                x[i] = kind == 0 ? u * 3.0f : kind == 1 ? fabsf(u) + 0.5f : kind == 2 ? -fabsf(u) - 0.25f : kind == 3 ? 2.5f : u;
            }
            if (kind == 4) x[n / 2] = NAN, x[0] = -0.0f;
            if (kind == 5) x[n - 1] = INFINITY;
            if (kind == 6) x[n / 3] = -INFINITY, x[n - 1] = NAN;
            RtTensor tx = {RT_F32, 1, {n}, x};
            RtTensor ry, rs, rz;
            int st_ref = run_dql(0, &tx, &ry, &rs, &rz, NULL);
            for (int threads = 1; threads <= 2; threads++) {
                RtTensor y, sc, zp;
                char what[96], how[32];
                snprintf(what, sizeof what, "DynamicQuantizeLinear n %lld kind %d", (long long)n, kind);
                snprintf(how, sizeof how, "%d threads", threads);
                int st = run_dql(1, &tx, &y, &sc, &zp, threads == 2 ? pool : NULL);
                expect_same(st, st_ref, &y, &ry, what, how);
                expect_same(st, st_ref, &sc, &rs, what, how);
                expect_same(st, st_ref, &zp, &rz, what, how);
                free(y.data), free(sc.data), free(zp.data);
            }
            free(ry.data), free(rs.data), free(rz.data);
            free(x);
        }
    rt_pool_free(pool);
}

static char e2e_dir[256];

static void e2e_setup(void) {
    snprintf(e2e_dir, sizeof e2e_dir, "/tmp/wafer_qops_x86_%d", (int)getpid());
    char out[256];
    cr_assert_eq(tu_run(out, sizeof out, "mkdir -p %s", e2e_dir), 0);
}

static void e2e_teardown(void) {
    char out[256];
    tu_run(out, sizeof out, "rm -rf %s", e2e_dir);
}

/* wafer run with env (e.g. "WAFER_RT_REF=1") and extra arguments; the output file's bytes. */
static unsigned char *e2e_run(const char *env, const char *model, const char *input, const char *args, const char *tag,
                              size_t *n) {
    char out[8192], dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/%s", e2e_dir, tag);
    int rc = tu_run(out, sizeof out, "mkdir -p %s && env %s %s run %s --input %s %s --out %s", dir, env, WAFER_BIN, model,
                    input, args, dir);
    cr_assert_eq(rc, 0, "run %s (%s %s): exit %d\n%s", model, env, args, rc, out);
    snprintf(path, sizeof path, "%s/logits.npy", dir);
    unsigned char *b = tu_file_read(path, n);
    cr_assert_not_null(b, "no output %s", path);
    return b;
}

static void e2e_model(const char *name, const char *onnx, const char *calib, const char *input, const char *qargs) {
    char out[8192], wafer[512];
    snprintf(wafer, sizeof wafer, "%s/%s.wafer", e2e_dir, name);
    int rc = tu_run(out, sizeof out, "%s quantize %s/%s -o %s --activations int8 --calib %s %s", WAFER_BIN, FIXTURES, onnx,
                    wafer, calib, qargs);
    cr_assert_eq(rc, 0, "quantize %s: exit %d\n%s", onnx, rc, out);
    int head = strstr(qargs, "--quantize-head") != NULL;
    size_t n0, n1, n2;
    unsigned char *ref = e2e_run(head ? "WAFER_RT_REF=1" : "WAFER_RT_QGEMM=ref", wafer, input, "", "ref", &n0);
    unsigned char *fast = e2e_run("", wafer, input, "", "fast", &n1);
    unsigned char *two = e2e_run("", wafer, input, "--threads 2", "two", &n2);
    cr_assert(n0 == n1 && memcmp(ref, fast, n0) == 0, "%s: optimized kernels' output differs from the reference", name);
    cr_assert(n0 == n2 && memcmp(ref, two, n0) == 0, "%s: 2 threads' output differs", name);
    free(ref), free(fast), free(two);
}

TestSuite(qops_x86_e2e, .init = e2e_setup, .fini = e2e_teardown, .timeout = 600);

Test(qops_x86_e2e, kws_int8) {
    e2e_model("kws", "kws/kws_dscnn.onnx", "mfcc=" FIXTURES "/kws/kws_in.npy", "mfcc=" FIXTURES "/kws/kws_in.npy", "");
    e2e_model("kws_head", "kws/kws_dscnn.onnx", "mfcc=" FIXTURES "/kws/kws_in.npy", "mfcc=" FIXTURES "/kws/kws_in.npy",
              "--quantize-head");
}

Test(qops_x86_e2e, mobilenet_v2_int8) {
    if (getenv("WAFER_SANITIZED")) cr_skip_test("slow under the sanitizers");
    e2e_model("mob", "perf/mobilenet_v2.onnx", "input=" FIXTURES "/perf/mobilenet_v2_in.npy",
              "input=" FIXTURES "/perf/mobilenet_v2_in.npy", "");
    e2e_model("mob_head", "perf/mobilenet_v2.onnx", "input=" FIXTURES "/perf/mobilenet_v2_in.npy",
              "input=" FIXTURES "/perf/mobilenet_v2_in.npy", "--quantize-head");
}
