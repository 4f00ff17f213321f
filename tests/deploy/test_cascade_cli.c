/*
 * test_cascade_cli.c — `wafer cascade` end to end: the int8 digits MLP in front of the float
 * CNN. --sweep must choose a threshold whose accuracy is within 0.3 points of the CNN alone
 * (596/600 in the fixtures) while escalating at most 30% of the test inputs (the issue's
 * point 2), record it in the registry, and --threshold must reproduce that row. Bad inputs
 * exit 2.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "../../deploy/deploy.h"
#include "../test_util.h"

static const char *const F = FIXTURES "/digits";
static char dir[128];

static void models(void) {
    char out[8192];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_cascade_cli"), 0);
    int rc = tu_run(out, sizeof out,
                    "%s quantize %s/digits_mlp.onnx -o %s/mlp8.wafer --weights int8 --activations int8 "
                    "--calib x=%s/calib_x.npy && %s quantize %s/digits_cnn.onnx -o %s/cnn.wafer --weights f32",
                    WAFER_BIN, F, dir, F, WAFER_BIN, F, dir);
    cr_assert_eq(rc, 0, "%s", out);
}

Test(cascade_cli, sweep_meets_the_goal_and_threshold_reproduces_it) {
    models();
    char out[16384], json[256], reg[256];
    snprintf(json, sizeof json, "%s/c.json", dir);
    snprintf(reg, sizeof reg, "%s/r.json", dir);
    int rc = tu_run(out, sizeof out,
                    "%s cascade --small %s/mlp8.wafer --large %s/cnn.wafer --input x=%s/test_x.npy "
                    "--input image=%s/test_img.npy --labels %s/test_y.npy --sweep --max-drop 0.003 --json %s "
                    "--registry %s --small-name int8-mlp --large-name f32-cnn",
                    WAFER_BIN, dir, dir, F, F, F, json, reg);
    cr_assert_eq(rc, 0, "%s", out);
    cr_expect(strstr(out, "cost/correct") && strstr(out, "<- chosen"), "%s", out);
    double large = tu_json_number(json, "large_accuracy");
    cr_expect_float_eq(large, 596.0 / 600.0, 1e-9, "the CNN alone (onnxruntime: 0.9933)");
    /* the last "accuracy"/"escalated" keys are the chosen cascade's: read them from the
     * registry, which holds the chosen point */
    DeployRegistry r;
    RtError err = {{0}};
    cr_assert_eq(deploy_registry_load(reg, 0, &r, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(r.nc, 1);
    cr_expect_str_eq(r.c[0].small, "int8-mlp");
    cr_expect_geq(r.c[0].accuracy, large - 0.003, "accuracy %.4f", r.c[0].accuracy);
    cr_expect_leq(r.c[0].escalated, 0.30, "escalated %.3f", r.c[0].escalated);
    cr_expect_gt(r.c[0].escalated, 0.0);
    double thr = r.c[0].threshold, acc = r.c[0].accuracy, esc = r.c[0].escalated;
    deploy_registry_free(&r);
    /* the same threshold on its own gives the same accuracy and fraction */
    rc = tu_run(out, sizeof out,
                "%s cascade --small %s/mlp8.wafer --large %s/cnn.wafer --input x=%s/test_x.npy "
                "--input image=%s/test_img.npy --labels %s/test_y.npy --threshold %.17g --json %s",
                WAFER_BIN, dir, dir, F, F, F, thr, json);
    cr_assert_eq(rc, 0, "%s", out);
    cr_expect_float_eq(tu_json_number(json, "accuracy"), acc, 1e-12);
    cr_expect_float_eq(tu_json_number(json, "escalated"), esc, 1e-12);
    /* a price signal above the cap: the small model alone (the MLP's 0.98) */
    rc = tu_run(out, sizeof out,
                "%s cascade --small %s/mlp8.wafer --large %s/cnn.wafer --input x=%s/test_x.npy "
                "--input image=%s/test_img.npy --labels %s/test_y.npy --threshold %.17g --price-signal 0.9 "
                "--price-cap 0.5 --json %s",
                WAFER_BIN, dir, dir, F, F, F, thr, json);
    cr_assert_eq(rc, 0, "%s", out);
    cr_expect_float_eq(tu_json_number(json, "escalated"), 0.0, 0);
    tu_tmpdir_remove(dir);
}

Test(cascade_cli, bad_inputs_exit_2) {
    models();
    char out[8192];
    int rc = tu_run(out, sizeof out,
                    "%s cascade --small %s/mlp8.wafer --large %s/cnn.wafer --input x=%s/test_x.npy "
                    "--input pixels=%s/test_img.npy --labels %s/test_y.npy",
                    WAFER_BIN, dir, dir, F, F, F);
    cr_expect_eq(rc, 2, "%s", out);
    cr_expect(strstr(out, "pixels"), "%s", out);
    rc = tu_run(out, sizeof out,
                "%s cascade --small %s/mlp8.wafer --large %s/cnn.wafer --input x=%s/test_x.npy "
                "--input image=%s/test_img.npy --labels %s/train_y.npy",
                WAFER_BIN, dir, dir, F, F, F);
    cr_expect_eq(rc, 2, "%s", out);
    cr_expect(strstr(out, "train_y.npy"), "%s", out);
    rc = tu_run(out, sizeof out, "%s cascade --small %s/mlp8.wafer --sweep --threshold 0.5", WAFER_BIN, dir);
    cr_expect_eq(rc, 2, "%s", out);
    rc = tu_run(out, sizeof out, "%s cascade --help", WAFER_BIN);
    cr_expect_eq(rc, 0, "%s", out);
    tu_tmpdir_remove(dir);
}
