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

static unsigned char *file_read(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    unsigned char *b = malloc((size_t)n + 1);
    cr_assert(b);
    cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* Compiles model with opts at 1 and at 2 threads; asserts both succeed with the same bytes. */
static void compile_twice(const char *model, const char *opts, const char *label) {
    char path[2][512], out[8192];
    for (int t = 0; t < 2; t++) {
        snprintf(path[t], sizeof path[t], "%s/%s_%dt.wafer", tmpdir, label, t + 1);
        int rc = tu_run(out, sizeof out,
                        "OPENBLAS_NUM_THREADS=%d OMP_NUM_THREADS=%d %s quantize %s/%s -o %s %s",
                        t + 1, t + 1, WAFER_BIN, FIXTURES, model, path[t], opts);
        cr_assert_eq(rc, 0, "%s at %d threads: exit %d\n%s", label, t + 1, rc, out);
    }
    size_t n0, n1;
    unsigned char *a = file_read(path[0], &n0), *b = file_read(path[1], &n1);
    size_t first = 0;
    while (first < n0 && first < n1 && a[first] == b[first]) first++;
    cr_assert(n0 == n1 && first == n0, "%s: 1 thread gives %zu bytes, 2 threads %zu; first difference "
              "at byte %zu", label, n0, n1, first);
    cr_log_info("%s: %zu bytes, identical", label, n0);
    free(a);
    free(b);
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
