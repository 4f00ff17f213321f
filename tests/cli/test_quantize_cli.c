/*
 * test_quantize_cli.c — `wafer quantize` as a command: usage errors exit 2 with a message
 * naming the option, file or node; the report is JSON with every quantized tensor and layer;
 * --exclude keeps a layer float; the same options (in any order) give a byte-identical
 * .wafer whose metadata records them; calibration reports progress on stderr.
 */
#include <criterion/criterion.h>
#include <unistd.h>

#include "../test_util.h"

static char tmpdir[256];
static char out[32768];

static void setup(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/wafer_quant_cli_%d", (int)getpid());
    cr_assert_eq(tu_run(out, sizeof out, "mkdir -p %s", tmpdir), 0);
}

static void teardown(void) { tu_run(out, sizeof out, "rm -rf %s", tmpdir); }

TestSuite(quantize_cli, .init = setup, .fini = teardown, .timeout = 300);

#define MLP FIXTURES "/digits/digits_mlp.onnx"
#define CNN FIXTURES "/digits/digits_cnn.onnx"
#define CNN_CALIB "image=" FIXTURES "/digits/calib_img.npy"

static int quantize(const char *args) {
    return tu_run(out, sizeof out, "%s quantize %s", WAFER_BIN, args);
}

static int count(const char *s, const char *pat) {
    int c = 0;
    for (const char *p = s; (p = strstr(p, pat)) != NULL; p += strlen(pat)) c++;
    return c;
}

Test(quantize_cli, help_lists_the_options) {
    cr_assert_eq(quantize("--help"), 0, "%s", out);
    const char *opts[] = {"--weights", "--sym", "--asym", "--group", "--per-tensor", "--activations", "--calib",
                          "--calib-method", "--percentile", "--exclude", "--quantize-head", "--report", "--method"};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) cr_expect(strstr(out, opts[i]) != NULL, "%s", opts[i]);
}

Test(quantize_cli, usage_errors_exit_2) {
    char a[1024];
    cr_expect_eq(quantize(MLP), 2, "%s", out);
    cr_expect(strstr(out, "-o") != NULL, "%s", out);
    snprintf(a, sizeof a, "%s -o %s/x.wafer --activations int8", MLP, tmpdir);
    cr_expect_eq(quantize(a), 2, "%s", out);
    cr_expect(strstr(out, "--calib") != NULL, "%s", out);
    snprintf(a, sizeof a, "%s -o %s/x.wafer --weights int5", MLP, tmpdir);
    cr_expect_eq(quantize(a), 2, "%s", out);
    cr_expect(strstr(out, "int5") != NULL, "%s", out);
    snprintf(a, sizeof a, "%s -o %s/x.wafer --bogus", MLP, tmpdir);
    cr_expect_eq(quantize(a), 2, "%s", out);
    cr_expect(strstr(out, "--bogus") != NULL, "%s", out);
    snprintf(a, sizeof a, "%s -o %s/x.wafer --method gptq", MLP, tmpdir);
    cr_expect_eq(quantize(a), 2, "%s", out);
    cr_expect(strstr(out, "gptq") != NULL, "%s", out);
    snprintf(a, sizeof a, "%s -o %s/x.wafer --calib-method kl --activations int8 --calib x=%s/digits/calib_x.npy", MLP,
             tmpdir, FIXTURES);
    cr_expect_eq(quantize(a), 2, "%s", out);
    cr_expect(strstr(out, "kl") != NULL, "%s", out);
    snprintf(a, sizeof a, "%s/x.wafer", tmpdir);
    cr_expect_neq(access(a, F_OK), 0, "nothing written on a usage error");
}

Test(quantize_cli, bad_inputs_name_the_file_or_node) {
    char a[1024];
    snprintf(a, sizeof a, "%s/missing.onnx -o %s/x.wafer", tmpdir, tmpdir);
    cr_expect_eq(quantize(a), 2, "%s", out);
    cr_expect(strstr(out, "missing.onnx") != NULL, "%s", out);
    snprintf(a, sizeof a, "%s -o %s/x.wafer --exclude /0/Gemm,not_a_node", MLP, tmpdir);
    cr_expect_eq(quantize(a), 2, "%s", out);
    cr_expect(strstr(out, "not_a_node") != NULL, "%s", out);
    snprintf(a, sizeof a, "%s -o %s/x.wafer --activations int8 --calib wrong=%s/digits/calib_x.npy", MLP, tmpdir,
             FIXTURES);
    cr_expect_eq(quantize(a), 2, "%s", out);
    cr_expect(strstr(out, "wrong") != NULL || strstr(out, "'x'") != NULL, "names the input: %s", out);
    snprintf(a, sizeof a, "%s -o %s/x.wafer --activations int8 --calib x=%s/nope.npy", MLP, tmpdir, tmpdir);
    cr_expect_eq(quantize(a), 2, "%s", out);
    cr_expect(strstr(out, "nope.npy") != NULL, "%s", out);
    snprintf(a, sizeof a, "%s/x.wafer", tmpdir);
    cr_expect_neq(access(a, F_OK), 0, "nothing written on failure");
}

Test(quantize_cli, report_lists_tensors_and_layers) {
    char a[1024], rep[512];
    snprintf(rep, sizeof rep, "%s/r.json", tmpdir);
    snprintf(a, sizeof a, "%s -o %s/cnn.wafer --activations int8 --calib %s --report %s", CNN, tmpdir, CNN_CALIB, rep);
    cr_assert_eq(quantize(a), 0, "%s", out);
    cr_expect(strstr(out, "calibrating") != NULL, "progress on stderr: %s", out);
    char *s = (char *)tu_file_read(rep, NULL);
    cr_assert_not_null(s);
    cr_expect(s[0] == '{' && strstr(s, "\"tensors\":[") && strstr(s, "\"layers\":["), "%s", s);
    /* 4 weights (3 convs + fc1; fc2 is the head), 3 int32 biases of the convs + fc1's */
    cr_expect_eq(count(s, "\"kind\":\"weight\""), 4, "%s", s);
    cr_expect_eq(count(s, "\"kind\":\"bias\""), 4, "%s", s);
    cr_expect_geq(count(s, "\"kind\":\"activation\""), 5, "%s", s);
    cr_expect_eq(count(s, "\"granularity\":\"channel\""), 8, "per-channel weights and biases: %s", s);
    cr_expect(strstr(s, "\"scale_min\":") && strstr(s, "\"scale_mean\":") && strstr(s, "\"zero_point\":-128"), "%s", s);
    cr_expect_eq(count(s, "\"quantized_op\":\"QConv\""), 3, "%s", s);
    cr_expect_eq(count(s, "\"error\":null"), 0, "every layer measured: %s", s);
    cr_expect_eq(count(s, "\"rows\":128"), count(s, "\"error\":"), "on all 128 calibration rows");
    free(s);
    cr_expect_eq(tu_run(out, sizeof out, "ls -a %s | grep -c tmp", tmpdir), 1, "no temporary file left: %s", out);
}

/* onnxruntime's QDQ mobilenet_v2 (uint8 activations): its 52 convs are imported as integer
 * ops (passes/qdq_import.c) and the report counts them as int8 nodes, not float ones. */
Test(quantize_cli, imported_uint8_qdq_nodes_count_as_int8) {
    if (getenv("WAFER_SANITIZED")) cr_skip_test("slow under the sanitizers");
    char a[1024], rep[512];
    snprintf(rep, sizeof rep, "%s/q.json", tmpdir);
    snprintf(a, sizeof a, "%s/perf/mobilenet_v2_int8_qdq_ort.onnx -o %s/q.wafer --activations int8 --calib input=%s/perf/mobilenet_v2_in.npy --report %s",
             FIXTURES, tmpdir, FIXTURES, rep);
    cr_assert_eq(quantize(a), 0, "%s", out);
    cr_expect_geq(tu_json_number(rep, "int8_nodes"), 52, "%s", out);
    cr_expect_eq(tu_json_number(rep, "float_nodes"), 0, "%s", out);
}

Test(quantize_cli, weight_only_report_without_calibration_has_no_errors) {
    char a[1024], rep[512];
    snprintf(rep, sizeof rep, "%s/w.json", tmpdir);
    snprintf(a, sizeof a, "%s -o %s/mlp.wafer --report %s", MLP, tmpdir, rep);
    cr_assert_eq(quantize(a), 0, "%s", out);
    char *s = (char *)tu_file_read(rep, NULL);
    cr_assert_not_null(s);
    cr_expect_eq(count(s, "\"kind\":\"weight\""), 2, "%s", s);
    cr_expect_eq(count(s, "\"observer\":\"absmax\""), 2, "%s", s);
    cr_expect_eq(count(s, "\"error\":null"), 2, "%s", s);
    free(s);
    snprintf(a, sizeof a, "%s -o %s/mlp.wafer --calib x=%s/digits/calib_x.npy --report %s", MLP, tmpdir, FIXTURES, rep);
    cr_assert_eq(quantize(a), 0, "%s", out);
    s = (char *)tu_file_read(rep, NULL);
    cr_assert_not_null(s);
    cr_expect_eq(count(s, "\"error\":null"), 0, "with --calib the errors are measured: %s", s);
    free(s);
}

Test(quantize_cli, exclude_keeps_a_layer_float) {
    char a[1024];
    snprintf(a, sizeof a, "%s -o %s/ex.wafer --activations int8 --calib %s --exclude /c2/Conv", CNN, tmpdir, CNN_CALIB);
    cr_assert_eq(quantize(a), 0, "%s", out);
    snprintf(a, sizeof a, "%s/ex.wafer", tmpdir);
    cr_assert_eq(tu_run(out, sizeof out, "%s inspect %s", WAFER_BIN, a), 0, "%s", out);
    cr_expect(strstr(out, "FusedConv") != NULL, "the excluded conv stays float:\n%s", out);
    cr_expect(strstr(out, "exclude=/c2/Conv") != NULL, "options recorded:\n%s", out);
    char *p = strstr(out, "QConv");
    cr_assert_not_null(p, "%s", out);
    cr_expect_eq(atoi(p + 5), 2, "two convs stay int8:\n%s", out);
    snprintf(a, sizeof a, "%s/ex.wafer", tmpdir);
    cr_expect_eq(tu_run(out, sizeof out, "%s eval %s --input image=%s/digits/test_img.npy --labels %s/digits/test_y.npy",
                        WAFER_BIN, a, FIXTURES, FIXTURES), 0, "%s", out);
}

Test(quantize_cli, same_options_same_bytes) {
    char a[1024];
    snprintf(a, sizeof a, "%s -o %s/a.wafer --activations int8 --calib %s --sym --weights int8", CNN, tmpdir, CNN_CALIB);
    cr_assert_eq(quantize(a), 0, "%s", out);
    snprintf(a, sizeof a, "--weights int8 --calib %s %s --activations int8 -o %s/b.wafer", CNN_CALIB, CNN, tmpdir);
    cr_assert_eq(quantize(a), 0, "%s", out);
    cr_expect_eq(tu_run(out, sizeof out, "cmp %s/a.wafer %s/b.wafer", tmpdir, tmpdir), 0, "%s", out);
    snprintf(a, sizeof a, "%s/a.wafer", tmpdir);
    cr_assert_eq(tu_run(out, sizeof out, "%s inspect %s", WAFER_BIN, a), 0, "%s", out);
    cr_expect(strstr(out, "weights=int8 sym per-channel activations=int8 calib-method=minmax") != NULL, "%s", out);
}

/* --shape folds shape chains after quantization; the weight codes behind DequantizeLinear must
 * survive that folding (stored as float again they would be four times the bytes). */
Test(quantize_cli, shape_keeps_weight_codes) {
    const char *weights[] = {"--weights int8", "--weights int4 --group 32"};
    for (int w = 0; w < 2; w++) {
        char a[1024];
        snprintf(a, sizeof a, "%s -o %s/s.wafer %s --shape image=1,1,8,8", CNN, tmpdir, weights[w]);
        cr_assert_eq(quantize(a), 0, "%s", out);
        snprintf(a, sizeof a, "%s/s.wafer", tmpdir);
        cr_assert_eq(tu_run(out, sizeof out, "%s inspect %s", WAFER_BIN, a), 0, "%s", out);
        cr_expect(strstr(out, "[1,1,8,8]") != NULL, "%s: the input is bound:\n%s", weights[w], out);
        char *p = strstr(out, "DequantizeLinear");
        cr_assert_not_null(p, "%s: the conv weights stay codes + DequantizeLinear:\n%s", weights[w], out);
        cr_expect_geq(atoi(p + strlen("DequantizeLinear")), 3, "%s: (at least) the three conv weights:\n%s", weights[w],
                      out);
    }
}

Test(quantize_cli, f32_says_nothing_was_quantized) {
    char a[1024];
    snprintf(a, sizeof a, "%s -o %s/f.wafer --weights f32", CNN, tmpdir);
    cr_assert_eq(quantize(a), 0, "%s", out);
    cr_expect(strstr(out, "nothing quantized") != NULL && strstr(out, "weights quantized") == NULL, "%s", out);
}
