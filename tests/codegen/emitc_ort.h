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

/* `wafer emit-c model --weights f32` into dir, compiled (dir/exe, ECO_CFLAGS); and, when
 * arm-none-eabi-gcc is installed, compiled for a Cortex-M4 without a word from the compiler
 * (the emitted C is plain C99 for a microcontroller too, as test_emit_arm.c's models). */
static inline void eco_emit_build(const char *dir, const char *model) {
    static char log[65536];
    int st = tu_run(log, sizeof log, "%s emit-c %s -o %s --weights f32", WAFER_BIN, model, dir);
    cr_assert_eq(st, 0, "emit-c: %s", log);
    cr_assert_eq(ecu_compile("cc", ECO_CFLAGS, dir, "exe", log, sizeof log), 0, "%s", log);
    if (tu_run(log, sizeof log, "command -v arm-none-eabi-gcc") != 0) return;
    st = tu_run(log, sizeof log,
                "arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os -std=c99 -Wall "
                "-Wextra -Werror -pedantic -c %s/model.c -o %s/model_m4.o",
                dir, dir);
    cr_expect(st == 0 && log[0] == '\0', "arm-none-eabi-gcc: %s", log);
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


/* One input of an emitted program's case (bytes: its raw size) and one float output. */
typedef struct {
    const char *name;
    RtDtype dt;
    int rank;
    int64_t dims[4];
    const void *data;
    size_t bytes;
} EcoIn;
typedef struct {
    const char *name;
    int n_el;
} EcoOut;

/* One case: each input written as dir/NAME.npy (for onnxruntime) and dir/NAME.bin (for the
 * program), onnxruntime run on the .npy files, the emitted program (dir/exe IN.bin ...
 * OUT.bin ...) on the raw ones, and every output expected within atol + rtol |ort|; `tag`
 * names the case in the messages. */
static inline void eco_case_run(const char *dir, const char *model, const EcoIn *in, int n_in, const EcoOut *out,
                                int n_out, double atol, double rtol, const char *tag) {
    static char log[65536], args[4096], cmd[4096];
    char npy[512], raw[512], what[128];
    size_t u = 0, c = (size_t)snprintf(cmd, sizeof cmd, "%s/exe", dir);
    for (int i = 0; i < n_in; i++) {
        snprintf(npy, sizeof npy, "%s/%s.npy", dir, in[i].name);
        eco_npy_put(npy, in[i].dt, in[i].rank, in[i].dims, in[i].data);
        snprintf(raw, sizeof raw, "%s/%s.bin", dir, in[i].name);
        ecu_raw_write(raw, in[i].data, in[i].bytes);
        u += (size_t)snprintf(args + u, sizeof args - u, "'%s=%s' ", in[i].name, npy);
        c += (size_t)snprintf(cmd + c, sizeof cmd - c, " %s", raw);
    }
    for (int o = 0; o < n_out; o++) c += (size_t)snprintf(cmd + c, sizeof cmd - c, " %s/%s.bin", dir, out[o].name);
    eco_ort_run(dir, model, args);
    int st = tu_run(log, sizeof log, "%s", cmd);
    cr_assert_eq(st, 0, "the emitted program (%s): %s", tag, log);
    for (int o = 0; o < n_out; o++) {
        snprintf(raw, sizeof raw, "%s/%s.bin", dir, out[o].name);
        snprintf(npy, sizeof npy, "%s/ort/%s.npy", dir, out[o].name);
        snprintf(what, sizeof what, "%s (%s)", out[o].name, tag);
        eco_expect_close(what, raw, npy, out[o].n_el, atol, rtol);
    }
}

#endif
