/*
 * test_cli_eval.c — `wafer eval` and `wafer run` end to end on the fixtures, checked against
 * the numbers onnxruntime and PyTorch produced (../shared/fixtures/README.md):
 * digits test accuracy 0.9800 (MLP) and 0.9933 (CNN) exactly; tinylm perplexity 2.4166.
 */
#include <criterion/criterion.h>
#include <unistd.h>

#include "../test_util.h"

/* The fixture README gives perplexity to 4 decimals; the issue allows +-0.0005. */
#define TINYLM_PPL 2.4166
#define TINYLM_PPL_TOL 0.0005

static double eval_accuracy(const char *model, const char *input) {
    char out[8192], json[256];
    snprintf(json, sizeof json, "/tmp/wafer_eval_%d.json", (int)getpid());
    int rc = tu_run(out, sizeof out, "%s eval %s/%s --input %s --labels %s/digits/test_y.npy --json %s",
                    WAFER_BIN, FIXTURES, model, input, FIXTURES, json);
    cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
    double acc = tu_json_number(json, "accuracy");
    cr_assert_eq(tu_json_number(json, "samples"), 600);
    unlink(json);
    return acc;
}

Test(cli_eval, digits_mlp_accuracy) {
    char in[512];
    snprintf(in, sizeof in, "x=%s/digits/test_x.npy", FIXTURES);
    double acc = eval_accuracy("digits/digits_mlp.onnx", in);
    cr_expect_float_eq(acc, 588.0 / 600.0, 1e-9, "accuracy %.6f, want 0.9800", acc);
}

Test(cli_eval, digits_cnn_accuracy) {
    char in[512];
    snprintf(in, sizeof in, "image=%s/digits/test_img.npy", FIXTURES);
    double acc = eval_accuracy("digits/digits_cnn.onnx", in);
    cr_expect_float_eq(acc, 596.0 / 600.0, 1e-9, "accuracy %.6f, want 0.9933", acc);
}

Test(cli_eval, digits_cnn_dynamo_fixed_batch_accuracy) {
    char in[512];
    snprintf(in, sizeof in, "x=%s/digits/test_img.npy", FIXTURES);
    char out[8192];
    /* the dynamo export names its input differently; find it with inspect --json */
    int rc = tu_run(out, sizeof out, "%s inspect %s/digits/digits_cnn_dynamo.onnx --json", WAFER_BIN, FIXTURES);
    cr_assert_eq(rc, 0, "%s", out);
    char *p = strstr(out, "\"inputs\"");
    cr_assert_not_null(p, "%s", out);
    p = strstr(p, "\"name\":");
    cr_assert_not_null(p);
    p = strchr(p + 7, '"') + 1;
    char name[128];
    size_t k = 0;
    while (p[k] && p[k] != '"' && k < sizeof name - 1) { name[k] = p[k]; k++; }
    name[k] = '\0';
    snprintf(in, sizeof in, "%s=%s/digits/test_img.npy", name, FIXTURES);
    double acc = eval_accuracy("digits/digits_cnn_dynamo.onnx", in);
    cr_expect_float_eq(acc, 596.0 / 600.0, 1e-9, "accuracy %.6f, want 0.9933", acc);
}

Test(cli_eval, tinylm_perplexity, .timeout = 600) {
    char out[8192], json[256];
    snprintf(json, sizeof json, "/tmp/wafer_ppl_%d.json", (int)getpid());
    int rc = tu_run(out, sizeof out, "%s eval %s/tinylm/tinylm.onnx --task lm --tokens %s/tinylm/tinylm_eval_tokens.npy --json %s",
                    WAFER_BIN, FIXTURES, FIXTURES, json);
    cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
    double ppl = tu_json_number(json, "perplexity");
    unlink(json);
    cr_expect(fabs(ppl - TINYLM_PPL) <= TINYLM_PPL_TOL, "perplexity %.5f, want %.4f +- %.4f", ppl, TINYLM_PPL,
              TINYLM_PPL_TOL);
}

/* --max-drop: a model against itself passes (exit 0); the untrained student (same input x)
 * against the trained MLP as baseline drops ~0.9 in accuracy and fails (exit 1). */
Test(cli_eval, max_drop_gate) {
    char out[8192];
    const char *fmt = "%s eval %s/digits/%s --input x=%s/digits/test_x.npy --labels %s/digits/test_y.npy "
                      "--baseline %s/digits/digits_mlp.onnx --max-drop 0.005";
    int rc = tu_run(out, sizeof out, fmt, WAFER_BIN, FIXTURES, "digits_mlp.onnx", FIXTURES, FIXTURES, FIXTURES);
    cr_expect_eq(rc, 0, "self-baseline: exit %d\n%s", rc, out);
    rc = tu_run(out, sizeof out, fmt, WAFER_BIN, FIXTURES, "digits_student_init.onnx", FIXTURES, FIXTURES, FIXTURES);
    cr_expect_eq(rc, 1, "untrained student vs MLP baseline: exit %d (want 1)\n%s", rc, out);
}

Test(cli_eval, run_writes_outputs) {
    char out[8192], dir[256];
    snprintf(dir, sizeof dir, "/tmp/wafer_run_%d", (int)getpid());
    int rc = tu_run(out, sizeof out, "%s run %s/kws/kws_dscnn.onnx --input mfcc=%s/kws/kws_in.npy --out %s",
                    WAFER_BIN, FIXTURES, FIXTURES, dir);
    cr_assert_eq(rc, 0, "%s", out);
    char path[512];
    snprintf(path, sizeof path, "%s/logits.npy", dir);
    RtTensor got, want;
    RtError err = {{0}};
    cr_assert_eq(npy_read(path, &got, &err), RT_OK, "%s", err.msg);
    snprintf(path, sizeof path, "%s/kws/kws_out.npy", FIXTURES);
    cr_assert_eq(npy_read(path, &want, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(rt_numel(&got), rt_numel(&want));
    double d = tu_max_rel_diff(got.data, want.data, (long)rt_numel(&want));
    cr_expect_leq(d, 1e-3, "kws logits differ by %g relative", d);
    free(got.data);
    free(want.data);
    tu_run(out, sizeof out, "rm -rf %s", dir);
}
