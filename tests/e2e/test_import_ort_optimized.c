/*
 * test_import_ort_optimized.c — the fixture models as onnxruntime optimizes them (its extended
 * graph optimizations, saved with optimizedModelFilePath: `node tests/e2e/ort_eval.js
 * optimize`), made here at test time, load and run in wafer like their plain ONNX twins
 * (frontend/onnx_contrib.c rewrites the contrib ops back into standard ones):
 *  - digits_mlp (FusedGemm), digits_cnn (FusedConv, FusedGemm), kws_dscnn and mobilenet_v2
 *    (FusedConv), tinylm (FusedMatMul, BiasGelu): `wafer run` gives onnxruntime's outputs on
 *    the fixtures' inputs (tests/ort_compare.h);
 *  - `wafer eval` gives the original models' figures (fixture README): digits_mlp 0.9800,
 *    digits_cnn 0.9933, tinylm perplexity 2.4166;
 *  - `wafer quantize` (static int8) of the optimized digits_cnn gives the accuracy of the
 *    original's quantization, and the .wafer files hold the same fused ops.
 * Skips with a message where node / onnxruntime-node is missing; the mobilenet and tinylm
 * runs are slow under the sanitizers and skipped there (WAFER_SANITIZED).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../frontend/onnx.h"
#include "../ort_compare.h"

/* The original models' fixture check (test_fixtures.c) allows 1e-4 of the largest logit for
 * the digits models (|logit| <= ~25 here): wafer and onnxruntime sum the same products in
 * different orders, ~1e-6 relative each, over layers of at most 256 inputs. */
static const OrtcTol DIGITS_TOL = {2e-3, 1e-4, 0};
/* Deeper nets (kws 9 convs, mobilenet 52 convs, tinylm 4 transformer blocks): test_fixtures.c
 * allows 1e-3 of the largest logit; per element, that as atol plus 1e-3 relative. The largest
 * logits: tinylm ~15, kws 0.17, mobilenet (random weights) 9.4e-10. */
static const OrtcTol TINYLM_TOL = {1.5e-2, 1e-3, 0};
static const OrtcTol KWS_TOL = {1.7e-4, 1e-3, 0};
static const OrtcTol MOBILENET_TOL = {9.4e-13, 1e-3, 0};

/* Accuracy and perplexity as `wafer eval` prints them (4 decimals) equal the fixture
 * README's figures for the original models. */
#define FIGURE_TOL 5e-5

static int sanitized(void) { return getenv("WAFER_SANITIZED") != NULL; }

/* Optimizes FIXTURES/rel with onnxruntime into dir/opt.onnx (path out); 0 when node or
 * onnxruntime-node is missing. The optimized file must use every op of `want` (comma-
 * separated "com.microsoft:Op"), or the test would check the plain ops only. */
static int optimize(const char *rel, const char *dir, char *out, size_t n, const char *want) {
    char log[4096];
    if (tu_run(log, sizeof log, "node --version") != 0) return 0;
    snprintf(out, n, "%s/opt.onnx", dir);
    int rc = tu_run(log, sizeof log, "node tests/e2e/ort_eval.js optimize '%s/%s' '%s'", FIXTURES, rel, out);
    if (rc == 3) return 0;
    cr_assert_eq(rc, 0, "onnxruntime could not optimize %s:\n%s", rel, log);
    char **ops = NULL;
    int n_ops = 0;
    RtError err = {{0}};
    cr_assert_eq(onnx_model_op_types(out, &ops, &n_ops, &err), RT_OK, "%s", err.msg);
    char list[1024] = "";
    for (int i = 0; i < n_ops; i++) snprintf(list + strlen(list), sizeof list - strlen(list), " %s", ops[i]);
    free(ops);
    char w[256];
    snprintf(w, sizeof w, "%s", want);
    for (char *t = strtok(w, ","); t; t = strtok(NULL, ",")) {
        char pad[300];
        snprintf(pad, sizeof pad, " %s", t);
        cr_assert(strstr(list, pad), "%s optimized has no %s (ops:%s)", rel, t, list);
    }
    return 1;
}

/* `wafer eval` of model with extra arguments; the JSON key `key`. */
static double eval_number(const char *model, const char *args, const char *key) {
    char log[8192], json[256];
    snprintf(json, sizeof json, "/tmp/wafer_ortopt_eval_%d.json", (int)getpid());
    int rc = tu_run(log, sizeof log, WAFER_BIN " eval '%s' %s --json %s", model, args, json);
    cr_assert_eq(rc, 0, "eval %s: exit %d:\n%s", model, rc, log);
    double v = tu_json_number(json, key);
    unlink(json);
    return v;
}

static OrtcInput fixture_input(const char *name, const char *rel) {
    OrtcInput in = {name, tu_fixture_npy(rel)};
    return in;
}

Test(import_ort_optimized, digits_mlp_fused_gemm_runs_as_onnxruntime_and_keeps_its_accuracy) {
    char dir[256], opt[300], args[1024];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_ortopt_mlp"), 0);
    if (!optimize("digits/digits_mlp.onnx", dir, opt, sizeof opt, "com.microsoft:FusedGemm")) {
        tu_tmpdir_remove(dir);
        cr_skip_test("onnxruntime-node is not installed");
    }
    OrtcInput in = fixture_input("x", "digits/test_x.npy");
    cr_assert(ortc_compare_file("digits_mlp_opt", opt, &in, 1, &DIGITS_TOL), "onnxruntime-node stopped answering");
    free(in.t.data);
    snprintf(args, sizeof args, "--input x=%s/digits/test_x.npy --labels %s/digits/test_y.npy", FIXTURES, FIXTURES);
    double acc = eval_number(opt, args, "accuracy");
    cr_expect(fabs(acc - 0.9800) <= FIGURE_TOL, "accuracy %.4f, the original's is 0.9800", acc);
    tu_tmpdir_remove(dir);
}

Test(import_ort_optimized, digits_cnn_fused_conv_runs_as_onnxruntime_and_quantizes_like_the_original, .timeout = 120) {
    char dir[256], opt[300], args[1024], log[8192];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_ortopt_cnn"), 0);
    if (!optimize("digits/digits_cnn.onnx", dir, opt, sizeof opt, "com.microsoft:FusedConv,com.microsoft:FusedGemm")) {
        tu_tmpdir_remove(dir);
        cr_skip_test("onnxruntime-node is not installed");
    }
    OrtcInput in = fixture_input("image", "digits/test_img.npy");
    cr_assert(ortc_compare_file("digits_cnn_opt", opt, &in, 1, &DIGITS_TOL), "onnxruntime-node stopped answering");
    free(in.t.data);
    snprintf(args, sizeof args, "--input image=%s/digits/test_img.npy --labels %s/digits/test_y.npy", FIXTURES,
             FIXTURES);
    double acc = eval_number(opt, args, "accuracy");
    cr_expect(fabs(acc - 0.9933) <= FIGURE_TOL, "accuracy %.4f, the original's is 0.9933", acc);

    /* static int8 of both forms: the same fused graph, so the same accuracy */
    double q[2];
    for (int i = 0; i < 2; i++) {
        char src[512], dst[300];
        if (i == 0) snprintf(src, sizeof src, "%s/digits/digits_cnn.onnx", FIXTURES);
        else snprintf(src, sizeof src, "%s", opt);
        snprintf(dst, sizeof dst, "%s/q%d.wafer", dir, i);
        int rc = tu_run(log, sizeof log,
                        WAFER_BIN " quantize '%s' -o '%s' --activations int8 --calib image=%s/digits/calib_img.npy",
                        src, dst, FIXTURES);
        cr_assert_eq(rc, 0, "quantize %s: exit %d:\n%s", src, rc, log);
        q[i] = eval_number(dst, args, "accuracy");
    }
    cr_expect_eq(q[1], q[0], "int8 accuracy of the optimized model %.4f, of the original %.4f", q[1], q[0]);
    tu_tmpdir_remove(dir);
}

Test(import_ort_optimized, kws_dscnn_fused_conv_runs_as_onnxruntime) {
    char dir[256], opt[300];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_ortopt_kws"), 0);
    if (!optimize("kws/kws_dscnn.onnx", dir, opt, sizeof opt, "com.microsoft:FusedConv")) {
        tu_tmpdir_remove(dir);
        cr_skip_test("onnxruntime-node is not installed");
    }
    OrtcInput in = fixture_input("mfcc", "kws/kws_in.npy");
    cr_assert(ortc_compare_file("kws_opt", opt, &in, 1, &KWS_TOL), "onnxruntime-node stopped answering");
    free(in.t.data);
    tu_tmpdir_remove(dir);
}

Test(import_ort_optimized, mobilenet_v2_fused_conv_runs_as_onnxruntime_and_fuses_like_the_original, .timeout = 300) {
    if (sanitized()) cr_skip_test("slow under the sanitizers");
    char dir[256], opt[300], log[8192];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_ortopt_mbv2"), 0);
    if (!optimize("perf/mobilenet_v2.onnx", dir, opt, sizeof opt, "com.microsoft:FusedConv")) {
        tu_tmpdir_remove(dir);
        cr_skip_test("onnxruntime-node is not installed");
    }
    OrtcInput in = fixture_input("input", "perf/mobilenet_v2_in.npy");
    cr_assert(ortc_compare_file("mobilenet_v2_opt", opt, &in, 1, &MOBILENET_TOL), "onnxruntime-node stopped answering");
    free(in.t.data);
    /* compiled (simplify + fuse) both forms give the same graph: 35 Conv+Clip as wafer's
     * FusedConv, 17 plain Conv */
    char fused[2][2048];
    for (int i = 0; i < 2; i++) {
        char src[512], dst[300];
        if (i == 0) snprintf(src, sizeof src, "%s/perf/mobilenet_v2.onnx", FIXTURES);
        else snprintf(src, sizeof src, "%s", opt);
        snprintf(dst, sizeof dst, "%s/f%d.wafer", dir, i);
        int rc = tu_run(log, sizeof log, WAFER_BIN " quantize '%s' -o '%s' --weights f32", src, dst);
        cr_assert_eq(rc, 0, "quantize %s: exit %d:\n%s", src, rc, log);
        rc = tu_run(fused[i], sizeof fused[i], WAFER_BIN " inspect '%s'", dst);
        cr_assert_eq(rc, 0, "inspect %s:\n%s", dst, fused[i]);
        char *ops = strstr(fused[i], "ops (");
        cr_assert(ops, "%s", fused[i]);
        memmove(fused[i], ops, strlen(ops) + 1);
        char *end = strstr(fused[i], "parameters:");
        if (end) *end = '\0';
    }
    cr_expect(strstr(fused[1], "FusedConv                35"), "optimized, compiled:\n%s", fused[1]);
    cr_expect_str_eq(fused[1], fused[0], "the compiled forms differ");
    tu_tmpdir_remove(dir);
}

Test(import_ort_optimized, tinylm_fused_matmul_and_bias_gelu_run_as_onnxruntime_with_the_original_perplexity,
     .timeout = 300) {
    char dir[256], opt[300], args[1024];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_ortopt_tinylm"), 0);
    if (!optimize("tinylm/tinylm.onnx", dir, opt, sizeof opt, "com.microsoft:FusedMatMul,com.microsoft:BiasGelu")) {
        tu_tmpdir_remove(dir);
        cr_skip_test("onnxruntime-node is not installed");
    }
    /* the first 4 eval windows: tokens [:4, :128] */
    RtTensor all = tu_fixture_npy("tinylm/tinylm_eval_tokens.npy");
    int64_t T = all.dims[1] - 1, w = sanitized() ? 1 : 4;
    int64_t *tok = malloc(sizeof(int64_t) * (size_t)(w * T));
    cr_assert(tok);
    for (int64_t b = 0; b < w; b++) memcpy(tok + b * T, (int64_t *)all.data + b * (T + 1), sizeof(int64_t) * (size_t)T);
    OrtcInput in = {"tokens", {.dtype = RT_I64, .rank = 2, .dims = {w, T}, .data = tok}};
    cr_assert(ortc_compare_file("tinylm_opt", opt, &in, 1, &TINYLM_TOL), "onnxruntime-node stopped answering");
    free(tok);
    free(all.data);
    if (!sanitized()) {
        snprintf(args, sizeof args, "--task lm --tokens %s/tinylm/tinylm_eval_tokens.npy", FIXTURES);
        double ppl = eval_number(opt, args, "perplexity");
        cr_expect(fabs(ppl - 2.4166) <= FIGURE_TOL, "perplexity %.5f, the original's is 2.4166", ppl);
    }
    tu_tmpdir_remove(dir);
}
