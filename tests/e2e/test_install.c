/*
 * test_install.c — `make install` into a staging folder (DESTDIR) gives a usable runtime: the
 * CLI, libwafer_rt.a, wafer_rt.h and wafer-rt.pc; the example classifier compiles against the
 * installed files through pkg-config alone, and classifies the shipped digits with the
 * accuracy `wafer eval` reports for the same .wafer file.
 */
#include <criterion/criterion.h>

#include <unistd.h>

/* Both accuracies are the same count over 600 rows; wafer eval's JSON prints it with 10
 * significant digits, so they agree far within this. */
#define ACC_JSON_TOL 1e-9

#include "../../runtime/kernels/kernel.h"
#include "../test_util.h"

static char dir[256];
static void setup_dir(void) { cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_install"), 0); }
static void teardown_dir(void) { tu_tmpdir_remove(dir); }

TestSuite(install, .init = setup_dir, .fini = teardown_dir, .timeout = 600);

/* The same build flavour as this test binary (the sanitized build installs sanitized code). */
static int sanitized(void) { return strstr(BUILD_DIR, "asan") != NULL; }

Test(install, pkg_config_builds_the_example_which_classifies_digits) {
    char log[8192];
    const char *san = sanitized() ? "SANITIZE=1" : "";
    int st = tu_run(log, sizeof log, "make -s %s install DESTDIR=%s PREFIX=/opt/wafer", san, dir);
    cr_assert_eq(st, 0, "make install: %s", log);
    const char *files[] = {"bin/wafer", "lib/libwafer_rt.a", "include/wafer_rt.h", "lib/pkgconfig/wafer-rt.pc"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/opt/wafer/%s", dir, files[i]);
        cr_assert_eq(access(path, F_OK), 0, "%s not installed", path);
    }
    /* pkg-config with the staged prefix, as a packager would check it */
    st = tu_run(log, sizeof log,
                "cc -std=c99 -Wall -Werror %s -o %s/classify examples/classify/classify.c "
                "$(PKG_CONFIG_PATH=%s/opt/wafer/lib/pkgconfig pkg-config --define-variable=prefix=%s/opt/wafer "
                "--cflags --libs wafer-rt)",
                sanitized() ? "-fsanitize=address,undefined" : "", dir, dir, dir);
    cr_assert_eq(st, 0, "building the example against the installed runtime: %s", log);

    st = tu_run(log, sizeof log,
                "%s/opt/wafer/bin/wafer quantize examples/digits/digits_mlp.onnx -o %s/m.wafer --activations int8 "
                "--calib x=examples/digits/calib_x.npy --shape x=1,64",
                dir, dir);
    cr_assert_eq(st, 0, "%s", log);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/classify %s/m.wafer examples/digits/test_x.npy > %s/pred.txt", dir, dir, dir);
    cr_assert_eq(system(cmd), 0);
    st = tu_run(log, sizeof log, "%s/opt/wafer/bin/wafer eval %s/m.wafer --input x=examples/digits/test_x.npy "
                "--labels examples/digits/test_y.npy --json %s/eval.json", dir, dir, dir);
    cr_assert_eq(st, 0, "%s", log);

    /* accuracy of the example's predictions against the labels */
    char path[512];
    snprintf(path, sizeof path, "examples/digits/test_y.npy");
    RtTensor y;
    RtError err = {{0}};
    cr_assert_eq(npy_read(path, &y, &err), RT_OK, "%s", err.msg);
    snprintf(path, sizeof path, "%s/pred.txt", dir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    long n = 0, right = 0, p;
    while (fscanf(f, "%ld", &p) == 1) {
        cr_assert_lt(n, rt_numel(&y));
        right += p == rt_get_i64(&y, n);
        n++;
    }
    fclose(f);
    cr_assert_eq(n, rt_numel(&y), "one prediction per test row");
    snprintf(path, sizeof path, "%s/eval.json", dir);
    double acc = tu_json_number(path, "accuracy");
    cr_assert_float_eq((double)right / (double)n, acc, ACC_JSON_TOL, "example %ld/%ld vs wafer eval %.4f", right, n, acc);
    cr_assert_geq(acc, 0.97);
    free(y.data);
}
