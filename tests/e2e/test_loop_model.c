/*
 * test_loop_model.c — a model with a Loop end to end through the CLI: `wafer run` on the
 * ONNX file, `wafer quantize` to a .wafer file (the writer and the runtime's reader carry the
 * body subgraph and its declared-input count), `wafer run` on that file, and `wafer inspect`.
 *
 * The model is the ONNX backend suite's Range expanded into a Loop
 * (test_range_float_type_positive_delta_expanded: trip count = max(ceil((limit - start) /
 * delta), 0), the body adds delta to a carried value and emits it as a scan output). The
 * expected outputs are the Range definition worked by hand: start, start + delta, ... < limit.
 */
#include <criterion/criterion.h>
#include <unistd.h>

#include "../test_util.h"

#define RANGE_MODEL "/usr/share/libonnx-testdata/data/node/test_range_float_type_positive_delta_expanded/model.onnx"

static char dir[256];

static void setup(void) {
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_loop"), 0);
}

static void teardown(void) {
    tu_tmpdir_remove(dir);
}

static void scalar_write(const char *name, float v) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);
    RtTensor t = {.dtype = RT_F32, .rank = 0, .data = &v};
    RtError err = {{0}};
    cr_assert_eq(npy_write(path, &t, &err), RT_OK, "%s", err.msg);
}

/* Runs MODEL on start/limit/delta, returns output.npy (caller frees data). */
static RtTensor range_run(const char *model, float start, float limit, float delta) {
    scalar_write("start", start);
    scalar_write("limit", limit);
    scalar_write("delta", delta);
    char out[4096], path[512];
    int st = tu_run(out, sizeof out, "%s run %s --input start=%s/start.npy --input limit=%s/limit.npy "
                    "--input delta=%s/delta.npy --out %s/out", WAFER_BIN, model, dir, dir, dir, dir);
    cr_assert_eq(st, 0, "%s", out);
    snprintf(path, sizeof path, "%s/out/output.npy", dir);
    RtTensor t;
    RtError err = {{0}};
    cr_assert_eq(npy_read(path, &t, &err), RT_OK, "%s", err.msg);
    return t;
}

static void expect_range(const RtTensor *t, float start, float delta, int n) {
    cr_assert_eq(t->dtype, RT_F32);
    cr_assert_eq(t->rank, 1);
    cr_assert_eq(t->dims[0], n, "%lld elements, expected %d", (long long)t->dims[0], n);
    /* start + i*delta accumulated in float32 one addition at a time, as the body does: the
     * values here (halves and small integers) are exact, so equality is exact */
    float v = start;
    for (int i = 0; i < n; i++, v += delta) cr_expect_eq(((float *)t->data)[i], v, "element %d", i);
}

TestSuite(loop_model, .init = setup, .fini = teardown);

Test(loop_model, onnx_and_wafer_round_trip_agree_with_range) {
    if (access(RANGE_MODEL, R_OK) != 0) cr_skip_test("libonnx-testdata is not installed");
    RtTensor a = range_run(RANGE_MODEL, 1.0f, 5.0f, 0.5f); /* 1, 1.5, ..., 4.5 */
    expect_range(&a, 1.0f, 0.5f, 8);
    free(a.data);

    char out[4096], wf[512];
    snprintf(wf, sizeof wf, "%s/range.wafer", dir);
    cr_assert_eq(tu_run(out, sizeof out, "%s quantize %s -o %s", WAFER_BIN, RANGE_MODEL, wf), 0, "%s", out);
    RtTensor b = range_run(wf, 1.0f, 5.0f, 0.5f);
    expect_range(&b, 1.0f, 0.5f, 8);
    free(b.data);
    RtTensor c = range_run(wf, -3.0f, 3.0f, 2.0f); /* -3, -1, 1 */
    expect_range(&c, -3.0f, 2.0f, 3);
    free(c.data);

    cr_assert_eq(tu_run(out, sizeof out, "%s inspect %s", WAFER_BIN, wf), 0, "%s", out);
    cr_expect_not_null(strstr(out, "Loop"), "%s", out);
}

Test(loop_model, zero_iterations_give_an_empty_output) {
    if (access(RANGE_MODEL, R_OK) != 0) cr_skip_test("libonnx-testdata is not installed");
    char out[4096], wf[512];
    snprintf(wf, sizeof wf, "%s/range.wafer", dir);
    cr_assert_eq(tu_run(out, sizeof out, "%s quantize %s -o %s", WAFER_BIN, RANGE_MODEL, wf), 0, "%s", out);
    RtTensor t = range_run(wf, 5.0f, 1.0f, 1.0f); /* limit below start: Range is empty */
    expect_range(&t, 5.0f, 1.0f, 0);
    free(t.data);
}

Test(loop_model, emit_c_refuses_the_loop_by_name) {
    if (access(RANGE_MODEL, R_OK) != 0) cr_skip_test("libonnx-testdata is not installed");
    char out[4096], path[512];
    int st = tu_run(out, sizeof out, "%s emit-c %s -o %s/ec", WAFER_BIN, RANGE_MODEL, dir);
    cr_expect_eq(st, 2, "%s", out);
    cr_expect_not_null(strstr(out, "(Loop): emit-c cannot emit Loop"), "%s", out);
    snprintf(path, sizeof path, "%s/ec/model.c", dir);
    cr_expect_neq(access(path, F_OK), 0, "emit-c left %s behind", path);
}

Test(loop_model, onnx_export_refuses_the_loop_without_crashing) {
    /* the export used to free the source's body subgraph on this refusal (a double free) */
    if (access(RANGE_MODEL, R_OK) != 0) cr_skip_test("libonnx-testdata is not installed");
    char out[4096], path[512];
    snprintf(path, sizeof path, "%s/out.onnx", dir);
    int st = tu_run(out, sizeof out, "%s quantize %s --onnx %s", WAFER_BIN, RANGE_MODEL, path);
    cr_expect_eq(st, 2, "%s", out);
    cr_expect_not_null(strstr(out, "(Loop): attribute 'body': subgraphs are not exported yet"), "%s", out);
    cr_expect_neq(access(path, F_OK), 0, "%s left behind", path);
}
