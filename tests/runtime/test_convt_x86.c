/*
 * test_convt_x86.c — the optimized float32 ConvTranspose (runtime/kernels/x86/convt_x86.c)
 * against onnxruntime-node and against the reference kernel, on a table of shapes and
 * attributes: 1-D, 2-D, 3-D; k == stride (pixel shuffle), k = 4 s = 2 p = 1, k = 3 s = 1
 * (decoders), odd sizes, groups, depthwise and a channel multiplier (no GEMM), dilations,
 * strides 1..4, asymmetric pads, output_padding, output_shape, auto_pad, batch > 1, with and
 * without bias. Each case runs on 1 and 2 threads (the same bits), and with the node's state
 * kept across runs (W^T packed once: the same bits again). float64, shape-only runs and
 * malformed nodes go to the reference unchanged.
 */
#include "../frontend/onnx_proto_build.h"
#include "../ort_compare.h"
#include "../../runtime/rt_exec.h"
#include "../../runtime/rt_threads.h"
#include "rt_test_util.h"

/* |fast - peer| <= CONVT_REL_TOL * max|peer| over the output. Both sides sum the same
 * products (at most 64 channels x 16 taps of values in [-1, 1]) in float32 in different
 * orders (the GEMM's blocking, FMA, the bias first here and last in the reference), which
 * moves each output by a few roundings of its largest partial sum: ~1e-7 of the output's
 * scale; 1e-5 is the bar the other conv kernels' suites use. */
#define CONVT_REL_TOL 1e-5

/* One case: X dims xd, W dims wd ([C, M / group, k...]), and the attributes (0 / NULL =
 * absent); nsp spatial axes. */
typedef struct {
    const char *name;
    int nsp;
    int64_t xd[5], wd[5];
    int64_t group;
    int64_t strides[3], dil[3], pads[6], opad[3], oshape[3];
    const char *auto_pad;
    int bias;
    int direct;         /* 1: Cg == 1, the path without a GEMM (and without a packed state); 2: the
                           same, where each output is one product (the reference's bits too) */
} ConvTCase;

static const ConvTCase CASES[] = {
    {"decoder k2 s2 64->32 17x13", 2, {1, 64, 17, 13}, {64, 32, 2, 2}, 0, {2, 2}, {0}, {0}, {0}, {0}, NULL, 1, 0},
    {"decoder k4 s2 p1 64->32 16x16", 2, {1, 64, 16, 16}, {64, 32, 4, 4}, 0, {2, 2}, {0}, {1, 1, 1, 1}, {0}, {0},
     NULL, 1, 0},
    {"decoder k3 s1 p1 64->32 9x37", 2, {1, 64, 9, 37}, {64, 32, 3, 3}, 0, {0}, {0}, {1, 1, 1, 1}, {0}, {0}, NULL,
     1, 0},
    {"depthwise k4 s2 p1 C8 15x17", 2, {1, 8, 15, 17}, {8, 1, 4, 4}, 8, {2, 2}, {0}, {1, 1, 1, 1}, {0}, {0}, NULL, 1,
     1},
    {"depthwise k2 s2 C16 33x7 no bias", 2, {1, 16, 33, 7}, {16, 1, 2, 2}, 16, {2, 2}, {0}, {0}, {0}, {0}, NULL, 0,
     2},
    {"channel multiplier group 4 Mg 2 k3 s2", 2, {2, 4, 7, 19}, {4, 2, 3, 3}, 4, {2, 2}, {0}, {0, 1, 1, 0}, {1, 1},
     {0}, NULL, 1, 1},
    {"groups 2 dilations asym pads output_padding", 2, {1, 6, 5, 7}, {6, 5, 2, 3}, 2, {2, 3}, {2, 1}, {1, 0, 0, 2},
     {1, 0}, {0}, NULL, 1, 0},
    {"batch 3 k3 s2 asym pads output_padding 1,1", 2, {3, 6, 5, 7}, {6, 4, 3, 3}, 0, {2, 2}, {0}, {0, 1, 1, 0},
     {1, 1}, {0}, NULL, 1, 0},
    /* several chunks of input rows (col2im's bias rows set as the chunks reach them) */
    {"4 chunks k4 s2 p1 8->32 21x40", 2, {1, 8, 21, 40}, {8, 32, 4, 4}, 0, {2, 2}, {0}, {1, 1, 1, 1}, {0}, {0}, NULL,
     1, 0},
    {"5 chunks k3 s1 dilation 2 pads 2", 2, {1, 4, 30, 50}, {4, 48, 3, 3}, 0, {0}, {2, 2}, {2, 2, 2, 2}, {0}, {0},
     NULL, 1, 0},
    {"3 chunks k2 s3 (rows no tap reaches)", 2, {2, 4, 25, 60}, {4, 60, 2, 2}, 0, {3, 3}, {0}, {0}, {1, 0}, {0},
     NULL, 1, 0},
    {"s2 k3 dilation 2 (no tap pairs)", 2, {1, 5, 6, 21}, {5, 3, 3, 3}, 0, {2, 2}, {2, 2}, {1, 2, 2, 1}, {0}, {0},
     NULL, 1, 0},
    {"s2 k5 pads past the edges wide rows", 2, {1, 3, 3, 37}, {3, 7, 5, 5}, 0, {2, 2}, {0}, {3, 3, 1, 4}, {0}, {0},
     NULL, 1, 0},
    {"s1 k5 dilation 3 wide rows", 2, {1, 4, 4, 40}, {4, 3, 2, 5}, 0, {0}, {1, 3}, {0, 2, 1, 1}, {0}, {0}, NULL, 1,
     0},
    {"s4 k4 (strided adds)", 2, {1, 7, 5, 9}, {7, 2, 4, 4}, 0, {4, 4}, {0}, {0}, {0}, {0}, NULL, 1, 0},
    {"s3 k2 output_padding 2", 2, {1, 3, 4, 5}, {3, 3, 2, 2}, 0, {3, 3}, {0}, {0}, {2, 1}, {0}, NULL, 1, 0},
    {"output_shape larger than natural", 2, {1, 4, 6, 5}, {4, 3, 3, 3}, 0, {2, 2}, {0}, {0}, {0}, {14, 12}, NULL, 1,
     0},
    {"output_shape smaller, SAME_UPPER", 2, {1, 4, 6, 5}, {4, 3, 4, 4}, 0, {2, 2}, {0}, {0}, {0}, {11, 9},
     "SAME_UPPER", 1, 0},
    {"auto_pad SAME_LOWER k3 s2", 2, {1, 3, 5, 6}, {3, 2, 3, 3}, 0, {2, 2}, {0}, {0}, {0}, {0}, "SAME_LOWER", 1, 0},
    {"auto_pad VALID k3 s2", 2, {1, 3, 5, 6}, {3, 2, 3, 3}, 0, {2, 2}, {0}, {0}, {0}, {0}, "VALID", 0, 0},
    {"1-D k5 s3 dilation 2", 1, {2, 4, 29}, {4, 6, 5}, 0, {3}, {2}, {1, 2}, {1}, {0}, NULL, 1, 0},
    {"1-D k2 s2 depthwise", 1, {1, 5, 31}, {5, 1, 2}, 5, {2}, {0}, {0}, {0}, {0}, NULL, 1, 1},
    {"3-D k2x3x3 s1,2,2 p1", 3, {1, 3, 3, 5, 6}, {3, 4, 2, 3, 3}, 0, {1, 2, 2}, {0}, {0, 1, 1, 1, 1, 0}, {0, 1, 0},
     {0}, NULL, 1, 0},
    {"3-D depth 1 k2x2x2 (output depth 2) s2, 3 chunks", 3, {1, 2, 1, 40, 64}, {2, 16, 2, 2, 2}, 0, {2, 2, 2}, {0}, {0}, {0},
     {0}, NULL, 1, 0},
    {"3-D k3x2x2 s2,1,2 pads output_padding", 3, {2, 2, 4, 3, 7}, {2, 3, 3, 2, 2}, 0, {2, 1, 2}, {1, 1, 2},
     {1, 0, 0, 0, 1, 1}, {1, 0, 0}, {0}, NULL, 1, 0},
    {"one input channel (Cg 1, group 1)", 2, {1, 1, 9, 10}, {1, 4, 3, 3}, 0, {2, 2}, {0}, {1, 1, 1, 1}, {0}, {0},
     NULL, 1, 1},
};

static RtThreadPool *pool2;

static void setup_pool(void) {
    pool2 = rt_pool_new(2, NULL);
    cr_assert_not_null(pool2);
}

static void teardown(void) {
    rt_pool_free(pool2);
    pb_release_all();
}

TestSuite(convt_x86, .init = setup_pool, .fini = teardown);

/* Deterministic values in [-1, 1]. */
static void fill(float *v, int64_t n, uint32_t seed) {
    for (int64_t i = 0; i < n; i++) v[i] = rtt_uniform(&seed, -1.0f, 1.0f);
}

static int64_t numel(int rank, const int64_t *d) {
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= d[i];
    return n;
}

/* The case's attributes as the runtime's RtAttr list; returns the count. */
static int case_attrs(const ConvTCase *k, RtAttr *a) {
    int n = 0, s = k->nsp;
    if (k->group) a[n++] = rtt_attr_int("group", k->group);
    if (k->strides[0]) a[n++] = rtt_attr_ints("strides", k->strides, s);
    if (k->dil[0]) a[n++] = rtt_attr_ints("dilations", k->dil, s);
    int pads = 0;
    for (int i = 0; i < 2 * s; i++) pads |= k->pads[i] != 0;
    if (pads) a[n++] = rtt_attr_ints("pads", k->pads, 2 * s);
    if (k->opad[0] || k->opad[s - 1]) a[n++] = rtt_attr_ints("output_padding", k->opad, s);
    if (k->oshape[0]) a[n++] = rtt_attr_ints("output_shape", k->oshape, s);
    if (k->auto_pad) a[n++] = rtt_attr_str("auto_pad", k->auto_pad);
    return n;
}

/* The same node as a one-node ONNX model (W and B initializers), packed. */
static uint8_t *case_model(const ConvTCase *k, const float *w, const float *b, size_t *len) {
    int s = k->nsp, rank = s + 2;
    Onnx__GraphProto *g = pb_graph("g");
    Onnx__NodeProto *n = pb_add_node(g, pb_node("ConvTranspose", "up", k->bias ? "x,W,B" : "x,W", "y"));
    RtAttr a[8];
    int na = case_attrs(k, a);
    for (int i = 0; i < na; i++) {
        if (a[i].type == RT_ATTR_INT) pb_attr_int(n, a[i].name, a[i].i);
        else if (a[i].type == RT_ATTR_STRING) pb_attr_str(n, a[i].name, a[i].s);
        else pb_attr_ints(n, a[i].name, (size_t)a[i].n, a[i].ints);
    }
    pb_tensor_floats(pb_add_init(g, pb_tensor("W", 1, (size_t)rank, k->wd)), (size_t)numel(rank, k->wd), w);
    int64_t M = k->wd[1] * (k->group ? k->group : 1);
    if (k->bias) pb_tensor_floats(pb_add_init(g, pb_tensor("B", 1, 1, &M)), (size_t)M, b);
    pb_add_input(g, pb_value_typed("x", pb_type_dims(1, rank, k->xd)));
    pb_add_output(g, pb_value("y", 1, NULL));
    return pb_model_pack(g, 8, 17, "test", len);
}

/* y (float32) within CONVT_REL_TOL * max|want| of want, same dims. */
static void expect_close(const RtTensor *y, const RtTensor *want, const char *what, const char *peer) {
    cr_assert_eq(y->rank, want->rank, "%s: rank %d, %s %d", what, y->rank, peer, want->rank);
    for (int d = 0; d < y->rank; d++)
        cr_assert_eq(y->dims[d], want->dims[d], "%s: dim %d is %lld, %s %lld", what, d, (long long)y->dims[d], peer,
                     (long long)want->dims[d]);
    const float *g = y->data, *r = want->data;
    int64_t n = rt_numel(want);
    double big = 0;
    for (int64_t i = 0; i < n; i++) big = fabs(r[i]) > big ? fabs(r[i]) : big;
    int64_t bad = 0, first = -1;
    for (int64_t i = 0; i < n; i++)
        if (!(fabs((double)g[i] - r[i]) <= CONVT_REL_TOL * big) && bad++ == 0) first = i;
    cr_expect_eq(bad, 0, "%s: %lld of %lld elements differ from %s; first %lld: %.9g vs %.9g (max |%s| %g)", what,
                 (long long)bad, (long long)n, peer, (long long)first, first >= 0 ? g[first] : 0.0,
                 first >= 0 ? r[first] : 0.0, peer, big);
}

/* onnxruntime's output for the case (x, w, b) into *y; 0 when onnxruntime-node is missing. */
static int ort_output(const ConvTCase *k, const RtTensor *tx, const float *w, const float *b, RtTensor *y) {
    static char log[65536];
    if (tu_run(log, sizeof log, "node --version") != 0) return 0;
    char dir[256], path[400];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_convt"), 0);
    size_t len;
    uint8_t *m = case_model(k, w, b, &len);
    snprintf(path, sizeof path, "%s/m.onnx", dir);
    FILE *f = fopen(path, "wb");
    cr_assert(f && fwrite(m, 1, len, f) == len && fclose(f) == 0, "%s: writing %s", k->name, path);
    snprintf(path, sizeof path, "%s/x.npy", dir);
    RtError err = {{0}};
    cr_assert_eq(npy_write(path, tx, &err), RT_OK, "%s", err.msg);
    int rc = tu_run(log, sizeof log, "node tests/e2e/ort_eval.js run '%s/m.onnx' 'x=%s' --out '%s/ort'", dir, path,
                    dir);
    if (rc == 3) {
        tu_tmpdir_remove(dir);
        return 0;
    }
    cr_assert_eq(rc, 0, "%s: onnxruntime failed:\n%s", k->name, log);
    snprintf(path, sizeof path, "%s/ort/y.npy", dir);
    cr_assert_eq(npy_read(path, y, &err), RT_OK, "%s: %s", k->name, err.msg);
    tu_tmpdir_remove(dir);
    return 1;
}

static int run(RtKernelFn fn, RtThreadPool *pool, RtTensor **in, RtTensor *out, RtAttr *a, int na, void **state) {
    RttRun how = {.pool = pool, .node_state = state, .const_inputs = state ? 6u : 0};
    return rtt_run_kernel(fn, &how, RT_OP_CONV_TRANSPOSE, 17, in, 3, out, 1, a, na, 0);
}

/* The case through the optimized kernel (1 and 2 threads, with and without the node's
 * state) against onnxruntime and the reference kernel; returns 1 when onnxruntime ran. */
static int check_case(const ConvTCase *k) {
    int rank = k->nsp + 2;
    int64_t M = k->wd[1] * (k->group ? k->group : 1), nx = numel(rank, k->xd), nw = numel(rank, k->wd);
    float *x = malloc(sizeof(float) * (size_t)nx), *w = malloc(sizeof(float) * (size_t)nw);
    float *b = malloc(sizeof(float) * (size_t)M);
    fill(x, nx, 31), fill(w, nw, 32), fill(b, M, 33);
    RtTensor tx = rtt_tensor(RT_F32, rank, k->xd, x), tw = rtt_tensor(RT_F32, rank, k->wd, w);
    RtTensor tb = rtt_tensor(RT_F32, 1, &M, b), ref, one, two, ort;
    RtTensor *in[] = {&tx, &tw, k->bias ? &tb : NULL};
    RtAttr a[8];
    int na = case_attrs(k, a);
    RtKernelFn fast = rt_kernel_find_fast(RT_OP_CONV_TRANSPOSE);
    cr_assert_eq(run(rt_kernel_find(RT_OP_CONV_TRANSPOSE), NULL, in, &ref, a, na, NULL), RT_OK, "%s: ref: %s",
                 k->name, rtt_err.msg);
    cr_assert_eq(run(fast, NULL, in, &one, a, na, NULL), RT_OK, "%s: %s", k->name, rtt_err.msg);
    cr_assert_eq(run(fast, pool2, in, &two, a, na, NULL), RT_OK, "%s: %s", k->name, rtt_err.msg);
    int64_t ny = rt_numel(&ref);
    expect_close(&one, &ref, k->name, "reference");
    cr_expect_eq(memcmp(one.data, two.data, sizeof(float) * (size_t)ny), 0, "%s: 1 and 2 threads differ", k->name);
    /* the optimized path ran, not the reference: a GEMM case packs W^T into the state, a
     * direct one sums in its own order (bias first, FMA) and so differs in some bits */
    if (!k->direct) {
        void *state = NULL;
        for (int r = 0; r < 3; r++) {
            RtTensor st;
            cr_assert_eq(run(fast, r == 2 ? pool2 : NULL, in, &st, a, na, &state), RT_OK, "%s: with state: %s",
                         k->name, rtt_err.msg);
            cr_expect_eq(memcmp(st.data, one.data, sizeof(float) * (size_t)ny), 0,
                         "%s: run %d with the node's state differs", k->name, r);
            free(st.data);
        }
        cr_expect_not_null(state, "%s: no packed weights in the node's state (did the reference run it?)", k->name);
        rt_node_state_free(&state, 1, rt_allocator_default());
    } else if (k->direct == 1) {
        cr_expect_neq(memcmp(one.data, ref.data, sizeof(float) * (size_t)ny), 0,
                      "%s: the same bits as the reference (did the reference run it?)", k->name);
    }
    int ran = ort_output(k, &tx, w, b, &ort);
    if (ran) {
        expect_close(&one, &ort, k->name, "onnxruntime");
        free(ort.data);
    }
    free(ref.data), free(one.data), free(two.data);
    free(x), free(w), free(b);
    return ran;
}

/* The CPU features the optimized kernel needs (conv_x86.c's cx_cpu_ok). */
static int cpu_has_avx512(void) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}

Test(convt_x86, matches_onnxruntime_and_reference_on_shapes_and_attributes) {
    if (!cpu_has_avx512()) cr_skip_test("no AVX-512: the reference runs ConvTranspose");
    int ort = 0;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) ort += check_case(&CASES[i]);
    if (!ort) cr_log_warn("onnxruntime-node is not installed: compared with the reference kernel only");
}

/* What the optimized kernel does not take goes to the reference unchanged: float64 (the
 * same bits), a shape-only run (the same dims, no data), a malformed node (the same
 * status and message). */
Test(convt_x86, other_dtypes_shape_only_and_bad_nodes_go_to_the_reference) {
    int64_t xd[] = {1, 2, 3, 4}, wd[] = {2, 3, 2, 2}, s2[] = {2, 2}, bad_opad[] = {1, 1, 1};
    double x64[24], w64[24];
    for (int i = 0; i < 24; i++) x64[i] = (i % 7) * 0.25 - 0.5, w64[i] = (i % 5) * 0.5 - 1.0;
    RtTensor tx = rtt_tensor(RT_F64, 4, xd, x64), tw = rtt_tensor(RT_F64, 4, wd, w64), ref, got;
    RtTensor *in[] = {&tx, &tw, NULL};
    RtAttr a[] = {rtt_attr_ints("strides", s2, 2), rtt_attr_ints("output_padding", bad_opad, 3)};
    RtKernelFn fast = rt_kernel_find_fast(RT_OP_CONV_TRANSPOSE), slow = rt_kernel_find(RT_OP_CONV_TRANSPOSE);
    cr_assert_eq(run(slow, NULL, in, &ref, a, 1, NULL), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(run(fast, pool2, in, &got, a, 1, NULL), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&got, 4, ref.dims);
    cr_expect_eq(memcmp(got.data, ref.data, sizeof(double) * (size_t)rt_numel(&ref)), 0, "float64 differs");
    free(ref.data), free(got.data);
    /* float32 in shape-only mode: dims [1, 3, 6, 8], no data */
    float x[24] = {0}, w[24] = {0};
    RtTensor fx = rtt_tensor(RT_F32, 4, xd, x), fw = rtt_tensor(RT_F32, 4, wd, w);
    RtTensor *fin[] = {&fx, &fw, NULL};
    RttRun how = {.pool = NULL};
    int r = rtt_run_kernel(fast, &how, RT_OP_CONV_TRANSPOSE, 17, fin, 3, &got, 1, a, 1, 1);
    cr_expect(r == RT_OK || r == RT_SHAPE_ONLY, "shape-only run: %d %s", r, rtt_err.msg);
    rtt_expect_dims(&got, 4, (int64_t[]){1, 3, 6, 8});
    cr_expect_null(got.data, "shape-only run wrote data");
    /* output_padding with 3 values on a 2-D node: the reference's message */
    cr_assert_neq(run(slow, NULL, fin, &ref, a, 2, NULL), RT_OK);
    char want[sizeof rtt_err.msg];
    memcpy(want, rtt_err.msg, sizeof want);
    cr_assert_neq(run(fast, NULL, fin, &got, a, 2, NULL), RT_OK, "a bad output_padding was accepted");
    cr_expect_str_eq(rtt_err.msg, want);
}
