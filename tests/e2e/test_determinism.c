/*
 * test_determinism.c — the same model and options give byte-identical .wafer files,
 * whatever the threads: every fixture model is compiled by build/wafer twice, once with
 * OpenBLAS and OpenMP at 1 thread and once at 2 (quantize has no --threads; the float
 * GEMMs of calibration and GPTQ's Hessian algebra are OpenBLAS's, whose thread count the
 * environment sets), for float weights, int8 (static with calibration where the fixture has
 * calibration data, else weight-only) and 4-bit GPTQ (where it has calibration data). The
 * two runs are separate processes, so addresses (ASLR) and timing differ too; the .wafer
 * metadata carries no timestamp. tinylm's GPTQ calibrates on its first 8 windows (the whole
 * set takes seconds). The sanitizer build (WAFER_SANITIZED) skips the two 13 MB models.
 * The other artifacts the same way, on the small fixtures: `wafer emit-c` (model.c and
 * model.h) and `wafer quantize --onnx` (standard ONNX), float, int8 and 4-bit GPTQ.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../io/npy.h"
#include "../test_util.h"

static char tmpdir[256];

static void setup(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/wafer_determinism_%d", (int)getpid());
    char out[256];
    cr_assert_eq(tu_run(out, sizeof out, "mkdir -p %s", tmpdir), 0);
}

static void teardown(void) {
    char out[256];
    tu_run(out, sizeof out, "rm -rf %s", tmpdir);
}

TestSuite(determinism, .init = setup, .fini = teardown, .timeout = 300);

/* Asserts two files hold the same bytes. */
static void same_bytes(const char *p0, const char *p1, const char *label) {
    size_t n0 = 0, n1 = 0;
    unsigned char *a = tu_file_read(p0, &n0), *b = tu_file_read(p1, &n1);
    cr_assert(a && b, "%s: cannot read %s or %s", label, p0, p1);
    size_t first = 0;
    while (first < n0 && first < n1 && a[first] == b[first]) first++;
    cr_assert(n0 == n1 && first == n0, "%s: 1 thread gives %zu bytes, 2 threads %zu; first difference "
              "at byte %zu", label, n0, n1, first);
    cr_log_info("%s: %zu bytes, identical", label, n0);
    free(a);
    free(b);
}

typedef enum { OUT_WAFER, OUT_ONNX, OUT_C } OutKind;

/* Builds `kind` from model with opts at 1 and at 2 threads; asserts both succeed with the
 * same bytes (emit-c: model.c and model.h). */
static void build_twice(const char *model, const char *opts, const char *label, OutKind kind) {
    static const char *const ext[] = {"wafer", "onnx", "c"};
    char path[2][512], out[8192];
    for (int t = 0; t < 2; t++) {
        snprintf(path[t], sizeof path[t], "%s/%s_%dt.%s", tmpdir, label, t + 1, ext[kind]);
        const char *cmd = kind == OUT_C ? "emit-c" : "quantize", *flag = kind == OUT_ONNX ? "--onnx" : "-o";
        int rc = tu_run(out, sizeof out,
                        "OPENBLAS_NUM_THREADS=%d OMP_NUM_THREADS=%d %s %s %s/%s %s %s %s",
                        t + 1, t + 1, WAFER_BIN, cmd, FIXTURES, model, flag, path[t], opts);
        cr_assert_eq(rc, 0, "%s at %d threads: exit %d\n%s", label, t + 1, rc, out);
    }
    if (kind != OUT_C) {
        same_bytes(path[0], path[1], label);
        return;
    }
    static const char *const files[] = {"model.c", "model.h"};
    for (int f = 0; f < 2; f++) {
        char p0[600], p1[600], l[200];
        snprintf(p0, sizeof p0, "%s/%s", path[0], files[f]);
        snprintf(p1, sizeof p1, "%s/%s", path[1], files[f]);
        snprintf(l, sizeof l, "%s/%s", label, files[f]);
        same_bytes(p0, p1, l);
    }
}

static void compile_twice(const char *model, const char *opts, const char *label) {
    build_twice(model, opts, label, OUT_WAFER);
}

typedef struct {
    const char *model;     /* under FIXTURES */
    const char *calib;     /* "NAME=rel/file.npy" or NULL */
    int big;               /* skipped under the sanitizers */
} Fixture;

static const Fixture FIXTURE_LIST[] = {
    {"digits/digits_mlp.onnx", "x=digits/calib_x.npy", 0},
    {"digits/digits_cnn.onnx", "image=digits/calib_img.npy", 0},
    {"digits/digits_cnn_dynamo.onnx", NULL, 0},   /* fixed batch 4: calib_img has 128 rows */
    {"digits/digits_student_init.onnx", "x=digits/calib_x.npy", 0},
    {"kws/kws_dscnn.onnx", "mfcc=kws/kws_in.npy", 0},
    {"perf/mobilenet_v2.onnx", "input=perf/mobilenet_v2_in.npy", 1},
    {"perf/mobilenet_v2_int8_qdq_ort.onnx", NULL, 0},
    {"perf/tinylm_int4_default_asym.onnx", NULL, 0},
    {"tinylm/tinylm.onnx", "tokens=@small", 1},
};

/* tokens=@small: tinylm's first 8 calibration windows, written to tmpdir. */
static void calib_arg(const char *spec, char *buf, size_t n) {
    if (strcmp(spec, "tokens=@small") != 0) {
        const char *eq = strchr(spec, '=');
        snprintf(buf, n, "%.*s=%s/%s", (int)(eq - spec), spec, FIXTURES, eq + 1);
        return;
    }
    RtTensor t = tu_fixture_npy("tinylm/tinylm_calib_tokens.npy");
    cr_assert(t.rank == 2 && t.dims[0] >= 8);
    t.dims[0] = 8;
    char path[512];
    snprintf(path, sizeof path, "%s/tinylm_calib8.npy", tmpdir);
    RtError err = {{0}};
    cr_assert_eq(npy_write(path, &t, &err), RT_OK, "%s", err.msg);
    free(t.data);
    snprintf(buf, n, "tokens=%s", path);
}

Test(determinism, every_fixture_float_int8_gptq_at_1_and_2_threads) {
    const int sanitized = getenv("WAFER_SANITIZED") != NULL;
    int compared = 0;
    for (size_t i = 0; i < sizeof FIXTURE_LIST / sizeof FIXTURE_LIST[0]; i++) {
        const Fixture *f = &FIXTURE_LIST[i];
        if (sanitized && f->big) continue;
        char label[128], opts[1024], calib[600] = "";
        const char *base = strrchr(f->model, '/') + 1;
        if (f->calib) calib_arg(f->calib, calib, sizeof calib);
        snprintf(label, sizeof label, "%.*s_f32", (int)strcspn(base, "."), base);
        compile_twice(f->model, "--weights f32", label);
        snprintf(label, sizeof label, "%.*s_int8", (int)strcspn(base, "."), base);
        if (f->calib) snprintf(opts, sizeof opts, "--activations int8 --calib %s", calib);
        else snprintf(opts, sizeof opts, "--weights int8");
        compile_twice(f->model, opts, label);
        compared += 2;
        if (!f->calib) continue;
        snprintf(label, sizeof label, "%.*s_gptq4", (int)strcspn(base, "."), base);
        snprintf(opts, sizeof opts, "--weights int4 --method gptq --group 32 --calib %s", calib);
        compile_twice(f->model, opts, label);
        compared++;
    }
    cr_log_info("%d configurations compiled at 1 and 2 threads: all byte-identical", compared);
}

/* emit-c and --onnx on the small fixtures (the large ones' C source alone is tens of MB). */
Test(determinism, emit_c_and_onnx_at_1_and_2_threads) {
    static const Fixture small[] = {
        {"digits/digits_mlp.onnx", "x=digits/calib_x.npy", 0},
        {"digits/digits_cnn.onnx", "image=digits/calib_img.npy", 0},
        {"kws/kws_dscnn.onnx", "mfcc=kws/kws_in.npy", 0},
    };
    int compared = 0;
    for (size_t i = 0; i < sizeof small / sizeof small[0]; i++) {
        char calib[600], opts[3][1024], label[128];
        calib_arg(small[i].calib, calib, sizeof calib);
        snprintf(opts[0], sizeof opts[0], "--weights f32");
        snprintf(opts[1], sizeof opts[1], "--activations int8 --calib %s", calib);
        snprintf(opts[2], sizeof opts[2], "--weights int4 --method gptq --group 32 --calib %s", calib);
        static const char *const mode[3] = {"f32", "int8", "gptq4"};
        const char *base = strrchr(small[i].model, '/') + 1;
        for (int m = 0; m < 3; m++)
            for (int kind = OUT_ONNX; kind <= OUT_C; kind++, compared++) {
                snprintf(label, sizeof label, "%.*s_%s_%s", (int)strcspn(base, "."), base, mode[m],
                         kind == OUT_C ? "emit_c" : "onnx");
                build_twice(small[i].model, opts[m], label, (OutKind)kind);
            }
    }
    cr_log_info("%d emit-c / ONNX configurations at 1 and 2 threads: all byte-identical", compared);
}
