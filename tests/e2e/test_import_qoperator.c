/*
 * test_import_qoperator.c — an int8 model as users save it after onnxruntime's graph
 * optimizations: perf/mobilenet_v2_int8_qdq_ort.onnx (onnxruntime's own QDQ quantization of
 * mobilenet_v2) saved by `node tests/e2e/ort_eval.js optimize` at test time, which turns it
 * into QOperator form: QLinearConv, QLinearAdd, com.microsoft QLinearGlobalAveragePool and
 * QGemm, a few QuantizeLinear / DequantizeLinear and float Convs it left unquantized.
 * `wafer run` on perf/mobilenet_v2_in.npy must give onnxruntime's logits on the same file
 * (ort_eval.js run) within the bound below, and the same top-1 class on every input.
 * The same with onnxruntime's "all" level (what a user saving with every optimization gets:
 * com.microsoft QLinearConv with channels_last between Transposes). Then small QDQ graphs
 * that onnxruntime's optimizer turns into its other quantized ops, run in wafer and compared.
 * Skipped where node / onnxruntime-node is missing; the mobilenet cases also under the
 * sanitizers (WAFER_SANITIZED: the 99-node model is slow there).
 */
#include <criterion/criterion.h>
#include <unistd.h>

#include "../test_util.h"

/* Largest |wafer - onnxruntime| over the logits, relative to the largest |logit|. Both run the
 * same integer graph; they differ only where a requantized value lies at a rounding tie
 * resolved differently (onnxruntime's x86 QLinearAdd, wafer's fixed-point multipliers in its
 * fast int8 convolutions): one step of one activation, which the following layers carry to
 * the logits as about one output step of the final QGemm (measured: 1.5% of the largest
 * logit). 5% bounds that and is far below what a wrong kernel gives (a wrong zero point,
 * scale or transposition moves the logits by their own size). */
#define QOP_MAX_REL_DIFF 0.05

static int argmax(const float *v, int64_t n) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return (int)best;
}

/* Saves onnxruntime's optimization of the int8 mobilenet at `level` into dir/q.onnx: 1, or 0
 * when onnxruntime-node is missing. "extended" through ort_eval.js; "all" (which adds
 * onnxruntime's NHWC forms: com.microsoft QLinearConv with channels_last between Transposes)
 * through the same module, as a user's script would save it. */
static int mobilenet_optimized(const char *level, const char *dir, char *model, size_t cap, char *log, size_t logcap) {
    snprintf(model, cap, "%s/q.onnx", dir);
    int rc = tu_run(log, logcap, "node tests/e2e/ort_eval.js optimize %s/perf/mobilenet_v2_int8_qdq_ort.onnx %s",
                    FIXTURES, model);
    if (rc == 3) return 0;
    cr_assert_eq(rc, 0, "ort_eval.js optimize failed:\n%s", log);
    if (strcmp(level, "all") == 0) {
        rc =
            tu_run(log, logcap,
                   "node -e \"require(process.env.WAFER_ORT_MODULE || './bench/node_modules/onnxruntime-node')"
                   ".InferenceSession.create('%s/perf/mobilenet_v2_int8_qdq_ort.onnx', {graphOptimizationLevel: 'all', "
                   "optimizedModelFilePath: '%s'}).catch(e => { console.error(e); process.exit(1); })\"",
                   FIXTURES, model);
        cr_assert_eq(rc, 0, "saving the 'all' optimization failed:\n%s", log);
    }
    return 1;
}

static void mobilenet_case(const char *level, const char *must_have) {
    if (getenv("WAFER_SANITIZED")) cr_skip_test("slow under the sanitizers");
    static char log[65536];
    if (tu_run(log, sizeof log, "node --version") != 0) cr_skip_test("node is not installed");
    char dir[256], model[300];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_qop"), 0);
    if (!mobilenet_optimized(level, dir, model, sizeof model, log, sizeof log)) {
        tu_tmpdir_remove(dir);
        cr_skip_test("onnxruntime-node is not installed");
    }
    int rc;
    rc = tu_run(log, sizeof log, WAFER_BIN " inspect %s", model);
    cr_assert_eq(rc, 0, "wafer inspect:\n%s", log);
    cr_expect(strstr(log, "QGemm") && strstr(log, "QLinearGlobalAveragePool") && strstr(log, must_have),
              "the optimized model is not in QOperator form:\n%s", log);
    cr_expect(strstr(log, "unsupported ops: none") != NULL, "wafer reports unsupported ops:\n%s", log);
    rc = tu_run(log, sizeof log, "node tests/e2e/ort_eval.js run %s input=%s/perf/mobilenet_v2_in.npy --out %s/ort",
                model, FIXTURES, dir);
    cr_assert_eq(rc, 0, "onnxruntime run:\n%s", log);
    rc = tu_run(log, sizeof log, WAFER_BIN " run %s --input input=%s/perf/mobilenet_v2_in.npy --out %s/w", model,
                FIXTURES, dir);
    cr_assert_eq(rc, 0, "wafer run (exit %d):\n%s", rc, log);
    char po[400], pw[400];
    snprintf(po, sizeof po, "%s/ort/logits.npy", dir);
    snprintf(pw, sizeof pw, "%s/w/logits.npy", dir);
    RtTensor o, w;
    RtError err = {{0}};
    cr_assert_eq(npy_read(po, &o, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(npy_read(pw, &w, &err), RT_OK, "%s", err.msg);
    tu_tmpdir_remove(dir);
    cr_assert(o.dtype == RT_F32 && w.dtype == RT_F32 && o.rank == 2 && w.rank == 2 && o.dims[0] == w.dims[0] &&
              o.dims[1] == w.dims[1], "logits differ in dtype or shape");
    int64_t rows = o.dims[0], classes = o.dims[1];
    const float *y = w.data, *r = o.data;
    for (int64_t i = 0; i < rows; i++) {
        const float *yi = y + i * classes, *ri = r + i * classes;
        double dmax = 0, amax = 0;
        for (int64_t j = 0; j < classes; j++) {
            dmax = fmax(dmax, fabs((double)yi[j] - ri[j]));
            amax = fmax(amax, fabs((double)ri[j]));
        }
        cr_log_info("input %lld: max |diff| %.3g of max |logit| %.3g (%.2f%%), top-1 %d (onnxruntime %d)", (long long)i,
                    dmax, amax, 100 * dmax / amax, argmax(yi, classes), argmax(ri, classes));
        cr_expect(dmax <= QOP_MAX_REL_DIFF * amax, "input %lld: max |diff| %.3g > %.2f of max |logit| %.3g",
                  (long long)i, dmax, QOP_MAX_REL_DIFF, amax);
        cr_expect_eq(argmax(yi, classes), argmax(ri, classes), "input %lld: top-1 differs", (long long)i);
    }
    free(o.data);
    free(w.data);
}

Test(import_qoperator, optimized_mobilenet_v2_matches_onnxruntime, .timeout = 600) {
    mobilenet_case("extended", "QLinearConv ");
}

Test(import_qoperator, nhwc_optimized_mobilenet_v2_matches_onnxruntime, .timeout = 600) {
    mobilenet_case("all", "Transpose");
}

/* ---- onnxruntime's own conversions of small QDQ graphs ---- */

#include "../frontend/onnx_proto_build.h"
#include "../ort_compare.h"

enum { E_F32 = 1, E_U8 = 2, E_I8 = 3 };

static void e_scale(Onnx__GraphProto *g, const char *name, float v) {
    pb_tensor_floats(pb_add_init(g, pb_tensor(name, E_F32, 0, NULL)), 1, &v);
}

static void e_zp(Onnx__GraphProto *g, const char *name, int t, int v) {
    uint8_t b = (uint8_t)v;
    pb_tensor_raw(pb_add_init(g, pb_tensor(name, t, 0, NULL)), &b, 1);
}

/* Q then DQ of value `in` with parameters (s, z): returns the DQ output's name (q_<out>). */
static void e_qdq(Onnx__GraphProto *g, const char *in, const char *out, const char *s, const char *z) {
    char qn[64], q[64], dn[64];
    snprintf(q, sizeof q, "%s_q", out);
    snprintf(qn, sizeof qn, "Q_%s", out);
    snprintf(dn, sizeof dn, "DQ_%s", out);
    char ins[160];
    snprintf(ins, sizeof ins, "%s,%s,%s", in, s, z);
    pb_add_node(g, pb_node("QuantizeLinear", qn, ins, q));
    snprintf(ins, sizeof ins, "%s,%s,%s", q, s, z);
    pb_add_node(g, pb_node("DequantizeLinear", dn, ins, out));
}

/* Saves g, has onnxruntime optimize it (QDQ groups -> its quantized ops), checks the ops
 * `want` (comma-separated) are there, then compares wafer and onnxruntime on input x. */
static void e_optimized_compare(const char *tag, Onnx__GraphProto *g, const char *want, const OrtcInput *x,
                                const OrtcTol *tol) {
    static char log[65536];
    if (tu_run(log, sizeof log, "node --version") != 0) cr_skip_test("node is not installed");
    char dir[256], src[300], opt[300];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, tag), 0);
    snprintf(src, sizeof src, "%s/qdq.onnx", dir);
    snprintf(opt, sizeof opt, "%s/qop.onnx", dir);
    size_t len;
    uint8_t *m = pb_model_pack(g, 8, 17, "test", &len);
    FILE *f = fopen(src, "wb");
    cr_assert(f && fwrite(m, 1, len, f) == len && fclose(f) == 0);
    int rc = tu_run(log, sizeof log, "node tests/e2e/ort_eval.js optimize %s %s", src, opt);
    if (rc == 3) {
        tu_tmpdir_remove(dir);
        cr_skip_test("onnxruntime-node is not installed");
    }
    cr_assert_eq(rc, 0, "%s: optimize failed:\n%s", tag, log);
    cr_assert_eq(tu_run(log, sizeof log, WAFER_BIN " inspect %s", opt), 0, "%s: inspect:\n%s", tag, log);
    size_t n;
    char **ops = pb_split(want, &n);
    for (size_t i = 0; i < n; i++)
        cr_expect(strstr(log, ops[i]) != NULL, "%s: onnxruntime made no %s:\n%s", tag, ops[i], log);
    cr_expect(strstr(log, "unsupported ops: none") != NULL, "%s: unsupported ops:\n%s", tag, log);
    ortc_compare_file(tag, opt, x, 1, tol);
    tu_tmpdir_remove(dir);
}

/* A float output after the last DequantizeLinear: a requantized value at a rounding tie
 * resolved differently moves it by one step of the last scale (0.02 here), and at most one
 * such step reaches the output through the chain (each op requantizes its input's codes). */
static const OrtcTol ONE_STEP_002 = {0.0201, 0, 0};

Test(import_qoperator, onnxruntime_qdq_pool_sigmoid_leakyrelu_run_as_its_quantized_ops) {
    Onnx__GraphProto *g = pb_graph("g");
    e_scale(g, "s0", 0.03f), e_scale(g, "s1", 0.02f), e_scale(g, "s2", 1.0f / 255), e_zp(g, "z", E_U8, 128);
    e_zp(g, "z0", E_U8, 0);
    e_qdq(g, "x", "x_dq", "s0", "z");
    Onnx__NodeProto *ap = pb_add_node(g, pb_node("AveragePool", "ap", "x_dq", "ap"));
    int64_t k[2] = {3, 3}, st[2] = {1, 1}, pads[4] = {1, 1, 1, 1};
    pb_attr_ints(ap, "kernel_shape", 2, k);
    pb_attr_ints(ap, "strides", 2, st);
    pb_attr_ints(ap, "pads", 4, pads);
    e_qdq(g, "ap", "ap_dq", "s1", "z");
    pb_add_node(g, pb_node("Sigmoid", "sig", "ap_dq", "sig"));
    e_qdq(g, "sig", "sig_dq", "s2", "z0");
    pb_attr_float(pb_add_node(g, pb_node("LeakyRelu", "lr", "sig_dq", "lr")), "alpha", 0.1f);
    e_qdq(g, "lr", "y", "s1", "z");
    pb_add_input(g, pb_value("x", E_F32, "1,4,6,6"));
    pb_add_output(g, pb_value("y", E_F32, "1,4,6,6"));
    float *x = pb_zalloc(sizeof(float) * 144);
    uint32_t s = 3;
    for (int i = 0; i < 144; i++) x[i] = (float)((s = s * 1664525u + 1013904223u) >> 8) / (1 << 24) * 7 - 3.5f;
    OrtcInput in = {"x", {.dtype = RT_F32, .rank = 4, .dims = {1, 4, 6, 6}, .data = x}};
    e_optimized_compare("qop_pool_sig", g, "QLinearAveragePool,QLinearSigmoid,QLinearLeakyRelu", &in, &ONE_STEP_002);
}

Test(import_qoperator, onnxruntime_qdq_matmul_concat_softmax_run_as_its_quantized_ops) {
    Onnx__GraphProto *g = pb_graph("g");
    e_scale(g, "s0", 0.03f), e_scale(g, "s1", 0.02f), e_scale(g, "s3", 1.0f / 256), e_zp(g, "z", E_U8, 128);
    e_zp(g, "z0", E_U8, 0);
    e_scale(g, "ws", 0.01f), e_zp(g, "wz", E_I8, 0);
    int8_t w[64];
    for (int i = 0; i < 64; i++) w[i] = (int8_t)((i * 37) % 255 - 127);
    int64_t wd[2] = {8, 8};
    pb_tensor_raw(pb_add_init(g, pb_tensor("wq", E_I8, 2, wd)), w, 64);
    pb_add_node(g, pb_node("DequantizeLinear", "DQ_w", "wq,ws,wz", "w"));
    e_qdq(g, "x", "x_dq", "s0", "z");
    pb_add_node(g, pb_node("MatMul", "mm", "x_dq,w", "mm"));
    e_qdq(g, "mm", "mm_dq", "s0", "z");
    pb_attr_int(pb_add_node(g, pb_node("Concat", "cat", "mm_dq,x_dq", "cat")), "axis", -1);
    e_qdq(g, "cat", "cat_dq", "s0", "z");
    pb_attr_int(pb_add_node(g, pb_node("Softmax", "sm", "cat_dq", "sm")), "axis", -1);
    e_qdq(g, "sm", "y", "s3", "z0");
    pb_add_input(g, pb_value("x", E_F32, "2,5,8"));
    pb_add_output(g, pb_value("y", E_F32, "2,5,16"));
    float *x = pb_zalloc(sizeof(float) * 80);
    uint32_t s = 5;
    for (int i = 0; i < 80; i++) x[i] = (float)((s = s * 1664525u + 1013904223u) >> 8) / (1 << 24) * 6 - 3.0f;
    OrtcInput in = {"x", {.dtype = RT_F32, .rank = 3, .dims = {2, 5, 8}, .data = x}};
    /* the output's step is 1/256 */
    static const OrtcTol ONE_STEP_256 = {1.01 / 256, 0, 0};
    e_optimized_compare("qop_mm_cat_sm", g, "QLinearMatMul,QLinearConcat,QLinearSoftmax", &in, &ONE_STEP_256);
}
