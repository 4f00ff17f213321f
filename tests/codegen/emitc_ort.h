/*
 * emitc_ort.h — what the emit-c suites that check the emitted program against
 * onnxruntime-node share: .npy inputs for it, running it (tests/e2e/ort_eval.js; the test
 * is skipped, saying why, when onnxruntime-node is not installed) and comparing the
 * program's raw float output with its .npy, and the flags it is compiled with.
 */
#ifndef WAFER_TEST_EMITC_ORT_H
#define WAFER_TEST_EMITC_ORT_H

#include <math.h>

#include "../../io/npy.h"
#include "emitc_util.h"

/* The emitted C's flags: under ASan + UBSan too when this suite is a sanitizer build (as
 * build/emitc_conformance does), so an out-of-bounds copy in the emitted code fails. */
#if defined(__SANITIZE_ADDRESS__)
#define ECO_CFLAGS "-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all"
#else
#define ECO_CFLAGS "-O1"
#endif

static inline void eco_npy_put(const char *path, RtDtype dt, int rank, const int64_t *dims, const void *data) {
    RtTensor t = {.dtype = dt, .rank = rank, .data = (void *)data};
    for (int d = 0; d < rank; d++) t.dims[d] = dims[d];
    RtError err = {{0}};
    cr_assert_eq(npy_write(path, &t, &err), RT_OK, "%s", err.msg);
}

/* onnxruntime on model with "'NAME=FILE.npy' ..." args into dir/ort; skips the test (removing
 * dir) when onnxruntime-node is missing. */
static inline void eco_ort_run(const char *dir, const char *model, const char *args) {
    static char log[65536];
    char ver[256];
    int rc = tu_run(log, sizeof log, "node tests/e2e/ort_eval.js run '%s' %s --out %s/ort", model, args, dir);
    if (rc == 3 || tu_run(ver, sizeof ver, "node --version") != 0) {
        tu_tmpdir_remove(dir);
        cr_skip_test("onnxruntime-node is not installed");
    }
    cr_assert_eq(rc, 0, "onnxruntime: %s", log);
}

/* The emitted program's raw output file (n_el floats) against onnxruntime's .npy of it:
 * |C - ort| <= atol + rtol |ort| element by element. */
static inline void eco_expect_close(const char *what, const char *raw, const char *npy, int n_el, double atol,
                                    double rtol) {
    size_t n = 0;
    float *y = (float *)tu_file_read(raw, &n);
    RtTensor ref = {0};
    RtError err = {{0}};
    cr_assert_eq(npy_read(npy, &ref, &err), RT_OK, "%s: %s", what, err.msg);
    cr_assert(y && ref.dtype == RT_F32 && rt_numel(&ref) == n_el && n == sizeof(float) * (size_t)n_el,
              "%s: %zu bytes from the C, onnxruntime %lld elements", what, n, (long long)rt_numel(&ref));
    for (int i = 0; i < n_el; i++) {
        double r = ((const float *)ref.data)[i];
        cr_expect(fabs(y[i] - r) <= atol + rtol * fabs(r), "%s[%d]: C %.9g, onnxruntime %.9g", what, i, y[i], r);
    }
    free(y);
    free(ref.data);
}

#endif
