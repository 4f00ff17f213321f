/*
 * test_runtime_api.c — the companion runtime through its public API (runtime/wafer_rt.h) on
 * .wafer files that `wafer quantize` writes from the fixture models:
 *  - float models: the runtime (planned arena, optimized kernels) against the compiler's
 *    reference execution (ir_run on the ONNX model, reference kernels only) within
 *    TOL_FLOAT_REL of the output's largest magnitude;
 *  - int8 and 4-bit models: optimized kernels against the reference kernels of the same file
 *    (int8 with the head quantized too, so the whole path is integer: bit-identical; 4-bit
 *    weights with float activations: TOL_FLOAT_REL);
 *  - errors: a missing file, a file that is not a .wafer, wrong input count, dtype, shape;
 *  - two models running at the same time on two threads give their single-thread results;
 *  - a caller's allocator sees every allocation freed at close; a caller's arena is used.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <unistd.h>
#include <string.h>
#include <time.h>

#include "../../frontend/onnx.h"
#include "../../passes/passes.h"
#include "../../runtime/rt_exec.h"
#include "../../runtime/wafer_rt.h"
#include "../test_util.h"

/* The runtime's float kernels sum in another order than the reference kernels (packed GEMM
 * blocks, vectorized transcendental functions within a few ulp): the bar, relative
 * to the largest output magnitude. */
#define TOL_FLOAT_REL 1e-5

static char dir[256];

static void setup_dir(void) { cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_rtapi"), 0); }
static void teardown_dir(void) { tu_tmpdir_remove(dir); }

/* `wafer quantize FX/onnx -o dir/out ARGS`, asserting success. */
static void compile(const char *onnx, const char *out, const char *args) {
    char log[4096];
    int st = tu_run(log, sizeof log, "%s quantize %s/%s -o %s/%s %s", WAFER_BIN, FIXTURES, onnx, dir, out, args);
    cr_assert_eq(st, 0, "quantize %s: %s", onnx, log);
}

/* The first row of a fixture input as a batch-1 WaferRtTensor (cols > 0 cuts the last axis). */
static WaferRtTensor first_row(const char *npy, RtTensor *hold, int64_t cols) {
    char path[512];
    RtError err = {{0}};
    snprintf(path, sizeof path, "%s/%s", FIXTURES, npy);
    cr_assert_eq(npy_read(path, hold, &err), RT_OK, "%s", err.msg);
    WaferRtTensor x = {(int)hold->dtype, hold->rank, {0}, hold->data};
    memcpy(x.dims, hold->dims, sizeof x.dims);
    x.dims[0] = 1;
    if (cols > 0) x.dims[x.rank - 1] = cols;
    return x;
}

static WaferRtModel *open_model(const char *file, const WaferRtOptions *o) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    WaferRtModel *m = NULL;
    WaferRtError e = {{0}};
    cr_assert_eq(wafer_rt_open_file(path, o, &m, &e), WAFER_RT_OK, "%s", e.msg);
    return m;
}

static int64_t numel(const WaferRtTensor *t) {
    int64_t n = 1;
    for (int d = 0; d < t->rank; d++) n *= t->dims[d];
    return n;
}

/* Runtime on dir/file vs the reference executor on the ONNX model, first output. */
static void check_float_model(const char *onnx, const char *npy, int64_t cols, int threads) {
    compile(onnx, "f.wafer", "--weights f32");
    WaferRtOptions o = {.threads = threads};
    WaferRtModel *m = open_model("f.wafer", &o);
    RtTensor hold;
    WaferRtTensor x = first_row(npy, &hold, cols), y[4];
    WaferRtError e = {{0}};
    cr_assert_leq(wafer_rt_num_outputs(m), 4);
    cr_assert_eq(wafer_rt_run(m, &x, 1, y, wafer_rt_num_outputs(m), &e), WAFER_RT_OK, "%s", e.msg);

    char path[512];
    RtError err = {{0}};
    snprintf(path, sizeof path, "%s/%s", FIXTURES, onnx);
    IrGraph *g = onnx_load_file(path, NULL, &err);
    cr_assert_not_null(g, "%s", err.msg);
    RtTensor xin = {.dtype = (RtDtype)x.dtype, .rank = x.rank, .data = x.data}, want[4];
    memcpy(xin.dims, x.dims, sizeof xin.dims);
    RtRunOptions ro = {.ref_only = 1};
    cr_assert_eq(ir_run_opts(g, &xin, want, &ro, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(y[0].dtype, WAFER_RT_F32);
    cr_assert_eq(numel(&y[0]), rt_numel(&want[0]));
    double d = tu_max_rel_diff(y[0].data, want[0].data, (long)rt_numel(&want[0]));
    cr_assert_leq(d, TOL_FLOAT_REL, "%s: runtime vs reference differ by %g", onnx, d);
    for (int i = 0; i < g->n_outputs; i++) free(want[i].data);
    ir_graph_free(g);
    free(hold.data);
    wafer_rt_close(m);
}

TestSuite(runtime_api, .init = setup_dir, .fini = teardown_dir);

Test(runtime_api, digits_mlp_float_matches_reference) {
    check_float_model("digits/digits_mlp.onnx", "digits/test_x.npy", 0, 1);
}
Test(runtime_api, digits_cnn_float_matches_reference) {
    check_float_model("digits/digits_cnn.onnx", "digits/test_img.npy", 0, 1);
}
Test(runtime_api, kws_float_matches_reference) { check_float_model("kws/kws_dscnn.onnx", "kws/kws_in.npy", 0, 2); }
Test(runtime_api, mobilenet_float_matches_reference) {
    check_float_model("perf/mobilenet_v2.onnx", "perf/mobilenet_v2_in.npy", 0, 2);
}
Test(runtime_api, tinylm_float_matches_reference) {
    check_float_model("tinylm/tinylm.onnx", "tinylm/tinylm_eval_tokens.npy", 128, 1);
}

/* The same .wafer through the optimized and the reference kernels. */
static void check_fast_vs_ref(const char *file, const char *npy, int64_t cols, int exact) {
    WaferRtOptions fast = {.threads = 2}, ref = {.reference_kernels = 1};
    WaferRtModel *a = open_model(file, &fast), *b = open_model(file, &ref);
    RtTensor hold;
    WaferRtTensor x = first_row(npy, &hold, cols), ya, yb;
    WaferRtError e = {{0}};
    cr_assert_eq(wafer_rt_run(a, &x, 1, &ya, 1, &e), WAFER_RT_OK, "%s", e.msg);
    cr_assert_eq(wafer_rt_run(b, &x, 1, &yb, 1, &e), WAFER_RT_OK, "%s", e.msg);
    cr_assert_eq(ya.dtype, yb.dtype);
    cr_assert_eq(numel(&ya), numel(&yb));
    if (exact) {
        cr_assert_eq(memcmp(ya.data, yb.data, (size_t)numel(&ya) * (ya.dtype == WAFER_RT_F32 ? 4 : 1)), 0,
                     "%s: optimized and reference kernels differ", file);
    } else {
        double d = tu_max_rel_diff(ya.data, yb.data, (long)numel(&ya));
        cr_assert_leq(d, TOL_FLOAT_REL, "%s: optimized vs reference differ by %g", file, d);
    }
    free(hold.data);
    wafer_rt_close(a);
    wafer_rt_close(b);
}

Test(runtime_api, digits_cnn_int8_bit_identical_to_reference) {
    compile("digits/digits_cnn.onnx", "q.wafer", "--activations int8 --quantize-head --calib image=" FIXTURES "/digits/calib_img.npy");
    check_fast_vs_ref("q.wafer", "digits/test_img.npy", 0, 1);
}
Test(runtime_api, kws_int8_bit_identical_to_reference) {
    compile("kws/kws_dscnn.onnx", "q.wafer", "--activations int8 --quantize-head --calib mfcc=" FIXTURES "/kws/kws_in.npy");
    check_fast_vs_ref("q.wafer", "kws/kws_in.npy", 0, 1);
}
Test(runtime_api, mobilenet_int8_bit_identical_to_reference) {
    compile("perf/mobilenet_v2.onnx", "q.wafer",
            "--activations int8 --quantize-head --calib input=" FIXTURES "/perf/mobilenet_v2_in.npy --shape input=1,3,224,224");
    check_fast_vs_ref("q.wafer", "perf/mobilenet_v2_in.npy", 0, 1);
}
Test(runtime_api, tinylm_int4_matches_reference) {
    compile("tinylm/tinylm.onnx", "q4.wafer", "--weights int4 --group 128 --asym");
    check_fast_vs_ref("q4.wafer", "tinylm/tinylm_eval_tokens.npy", 128, 0);
}

Test(runtime_api, errors_are_statuses_with_messages) {
    WaferRtModel *m = NULL;
    WaferRtError e = {{0}};
    cr_assert_eq(wafer_rt_open_file("/nonexistent/x.wafer", NULL, &m, &e), WAFER_RT_ERR_IO);
    cr_assert(strstr(e.msg, "/nonexistent/x.wafer") != NULL, "%s", e.msg);
    cr_assert_null(m);
    static const char junk[] = "this is not a wafer file at all, just text long enough";
    cr_assert_eq(wafer_rt_open_memory(junk, sizeof junk, NULL, &m, &e), WAFER_RT_ERR_INVALID);
    cr_assert_null(m);

    compile("digits/digits_cnn.onnx", "f.wafer", "--weights f32");
    m = open_model("f.wafer", NULL);
    cr_assert_eq(wafer_rt_num_inputs(m), 1);
    WaferRtTensor info;
    const char *name = wafer_rt_input_info(m, 0, &info);
    cr_assert_str_eq(name, "image");
    cr_assert_eq(info.dtype, WAFER_RT_F32);
    cr_assert_null(wafer_rt_input_info(m, 1, NULL));
    RtTensor hold;
    WaferRtTensor x = first_row("digits/test_img.npy", &hold, 0), y;
    cr_assert_eq(wafer_rt_run(m, &x, 0, &y, 1, &e), WAFER_RT_ERR_INVALID);
    WaferRtTensor bad = x;
    bad.dtype = WAFER_RT_I64;
    cr_assert_eq(wafer_rt_run(m, &bad, 1, &y, 1, &e), WAFER_RT_ERR_INVALID);
    cr_assert(strstr(e.msg, "image") != NULL, "%s", e.msg);
    bad = x;
    bad.dims[bad.rank - 1] += 1;
    cr_assert_eq(wafer_rt_run(m, &bad, 1, &y, 1, &e), WAFER_RT_ERR_INVALID);
    bad = x;
    bad.data = NULL;
    cr_assert_eq(wafer_rt_run(m, &bad, 1, &y, 1, &e), WAFER_RT_ERR_INVALID);
    cr_assert_eq(wafer_rt_run(m, &x, 1, &y, 1, &e), WAFER_RT_OK, "%s", e.msg); /* still usable */
    free(hold.data);
    wafer_rt_close(m);
}

/* ---- two models at once ---- */

typedef struct {
    WaferRtModel *m;
    WaferRtTensor x;
    const float *want;
    int64_t n;
    int mismatches;
} Worker;

static void *worker_run(void *arg) {
    Worker *w = arg;
    for (int rep = 0; rep < 20; rep++) {
        WaferRtTensor y;
        WaferRtError e;
        if (wafer_rt_run(w->m, &w->x, 1, &y, 1, &e) != WAFER_RT_OK || numel(&y) != w->n ||
            memcmp(y.data, w->want, sizeof(float) * (size_t)w->n) != 0)
            w->mismatches++;
    }
    return NULL;
}

Test(runtime_api, two_models_run_concurrently) {
    compile("digits/digits_cnn.onnx", "a.wafer", "--weights f32");
    compile("kws/kws_dscnn.onnx", "b.wafer", "--weights f32");
    WaferRtModel *ma = open_model("a.wafer", NULL), *mb = open_model("b.wafer", NULL);
    RtTensor ha, hb;
    Worker w[2] = {{ma, first_row("digits/test_img.npy", &ha, 0), NULL, 0, 0},
                   {mb, first_row("kws/kws_in.npy", &hb, 0), NULL, 0, 0}};
    float *want[2];
    for (int i = 0; i < 2; i++) { /* single-threaded results first */
        WaferRtTensor y;
        WaferRtError e = {{0}};
        cr_assert_eq(wafer_rt_run(w[i].m, &w[i].x, 1, &y, 1, &e), WAFER_RT_OK, "%s", e.msg);
        w[i].n = numel(&y);
        want[i] = malloc(sizeof(float) * (size_t)w[i].n);
        memcpy(want[i], y.data, sizeof(float) * (size_t)w[i].n);
        w[i].want = want[i];
    }
    pthread_t t[2];
    for (int i = 0; i < 2; i++) cr_assert_eq(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    cr_assert_eq(w[0].mismatches + w[1].mismatches, 0);
    for (int i = 0; i < 2; i++) free(want[i]);
    free(ha.data);
    free(hb.data);
    wafer_rt_close(ma);
    wafer_rt_close(mb);
}

/* Per-node profile: off until enabled (no runs counted), then one entry per graph node whose
 * times add up to no more than the runs' wall time, and enabling again starts from zero. */
static double wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

Test(runtime_api, profile_times_every_node) {
    compile("kws/kws_dscnn.onnx", "p.wafer", "--weights f32");
    WaferRtModel *m = open_model("p.wafer", NULL);
    RtTensor h;
    WaferRtTensor x = first_row("kws/kws_in.npy", &h, 0), y;
    WaferRtError e = {{0}};
    int64_t runs = -1;
    cr_assert_eq(wafer_rt_run(m, &x, 1, &y, 1, &e), WAFER_RT_OK, "%s", e.msg);
    cr_expect_eq(wafer_rt_profile(m, NULL, 0, &runs), 0);
    cr_expect_eq(runs, 0);
    cr_assert_eq(wafer_rt_profile_enable(m, 1, &e), WAFER_RT_OK, "%s", e.msg);
    double t0 = wall_ms();
    for (int i = 0; i < 3; i++) cr_assert_eq(wafer_rt_run(m, &x, 1, &y, 1, &e), WAFER_RT_OK, "%s", e.msg);
    double wall = wall_ms() - t0;
    int n = wafer_rt_profile(m, NULL, 0, &runs);
    cr_assert_gt(n, 0);
    cr_expect_eq(runs, 3);
    WaferRtNodeTime *t = calloc((size_t)n, sizeof *t);
    cr_assert_eq(wafer_rt_profile(m, t, n, NULL), n);
    double sum = 0;
    int convs = 0;
    for (int k = 0; k < n; k++) {
        cr_expect_geq(t[k].total_ms, 0);
        cr_expect_not_null(t[k].name);
        sum += t[k].total_ms;
        convs += strcmp(t[k].op, "FusedConv") == 0;
    }
    cr_expect_eq(convs, 9, "kws_dscnn lowers to 9 convolutions with their activations");
    cr_expect(sum > 0 && sum <= wall, "nodes %g ms, runs %g ms", sum, wall);
    cr_assert_eq(wafer_rt_profile_enable(m, 1, &e), WAFER_RT_OK, "%s", e.msg);
    wafer_rt_profile(m, t, n, &runs);
    cr_expect_eq(runs, 0);
    cr_expect_eq(t[0].total_ms, 0);
    free(t);
    free(h.data);
    wafer_rt_close(m);
}

/* ---- caller's memory ---- */

typedef struct {
    long allocs, frees;
    size_t largest;
} Counting;

static void *count_alloc(void *user, size_t bytes) {
    Counting *c = user;
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 1) != 0) return NULL;
    c->allocs++;
    if (bytes > c->largest) c->largest = bytes;
    return p;
}

static void count_free(void *user, void *p) {
    Counting *c = user;
    if (p) c->frees++;
    free(p);
}

Test(runtime_api, caller_allocator_and_arena) {
    compile("kws/kws_dscnn.onnx", "f.wafer", "--weights f32 --shape mfcc=1,1,49,10");
    Counting cnt = {0, 0, 0};
    WaferRtAllocator al = {count_alloc, count_free, &cnt};
    WaferRtOptions o = {.allocator = &al};
    WaferRtModel *m = open_model("f.wafer", &o);
    size_t need = wafer_rt_arena_bytes(m);
    cr_assert_gt(need, 0, "kws compiled for batch 1: the file carries a plan");
    wafer_rt_close(m);
    cr_assert_eq(cnt.allocs, cnt.frees);

    void *arena = NULL;
    cr_assert_eq(posix_memalign(&arena, 64, need), 0);
    Counting cnt2 = {0, 0, 0};
    WaferRtAllocator al2 = {count_alloc, count_free, &cnt2};
    WaferRtOptions o2 = {.allocator = &al2, .arena = arena, .arena_bytes = need};
    m = open_model("f.wafer", &o2);
    RtTensor hold;
    WaferRtTensor x = first_row("kws/kws_in.npy", &hold, 0), y;
    WaferRtError e = {{0}};
    cr_assert_eq(wafer_rt_run(m, &x, 1, &y, 1, &e), WAFER_RT_OK, "%s", e.msg);
    cr_assert((char *)y.data >= (char *)arena && (char *)y.data < (char *)arena + need,
              "the output lives in the caller's arena");
    wafer_rt_close(m);
    cr_assert_eq(cnt2.allocs, cnt2.frees);
    free(arena);
    free(hold.data);
}

/* quantize --shape: malformed specs and unknown inputs are usage errors (exit 2, message),
 * a wrong rank is refused naming the input; nothing is written. */
Test(runtime_api, quantize_shape_errors) {
    const char *bad[] = {"mfcc=1,,2", "mfcc=", "=1,2", "mfcc=1,", "mfcc=-1,1,49,10", "nosuch=1,1,49,10", "mfcc=1,1,49"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char log[4096];
        int st = tu_run(log, sizeof log, "%s quantize %s/kws/kws_dscnn.onnx -o %s/bad.wafer --weights f32 --shape %s",
                        WAFER_BIN, FIXTURES, dir, bad[i]);
        cr_expect_eq(st, 2, "--shape %s: exit %d: %s", bad[i], st, log);
        cr_expect(strstr(log, "shape") != NULL || strstr(log, "mfcc") != NULL || strstr(log, "nosuch") != NULL,
                  "--shape %s: %s", bad[i], log);
        char path[512];
        snprintf(path, sizeof path, "%s/bad.wafer", dir);
        cr_expect_neq(access(path, F_OK), 0, "--shape %s left a file", bad[i]);
    }
}
