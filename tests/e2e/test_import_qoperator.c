/*
 * test_import_qoperator.c — an int8 model as users save it after onnxruntime's graph
 * optimizations: perf/mobilenet_v2_int8_qdq_ort.onnx (onnxruntime's own QDQ quantization of
 * mobilenet_v2) saved by `node tests/e2e/ort_eval.js optimize` at test time, which turns it
 * into QOperator form: QLinearConv, QLinearAdd, com.microsoft QLinearGlobalAveragePool and
 * QGemm, a few QuantizeLinear / DequantizeLinear and float Convs it left unquantized.
 * `wafer run` on perf/mobilenet_v2_in.npy must give onnxruntime's logits on the same file
 * (ort_eval.js run) within the bound below, and the same top-1 class on every input.
 * Skipped where node / onnxruntime-node is missing, and under the sanitizers (WAFER_SANITIZED:
 * the 99-node model is slow there).
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

Test(import_qoperator, optimized_mobilenet_v2_matches_onnxruntime, .timeout = 600) {
    if (getenv("WAFER_SANITIZED")) cr_skip_test("slow under the sanitizers");
    static char log[65536];
    if (tu_run(log, sizeof log, "node --version") != 0) cr_skip_test("node is not installed");
    char dir[256], model[300];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_qop"), 0);
    snprintf(model, sizeof model, "%s/q.onnx", dir);
    int rc = tu_run(log, sizeof log, "node tests/e2e/ort_eval.js optimize %s/perf/mobilenet_v2_int8_qdq_ort.onnx %s",
                    FIXTURES, model);
    if (rc == 3) {
        tu_tmpdir_remove(dir);
        cr_skip_test("onnxruntime-node is not installed");
    }
    cr_assert_eq(rc, 0, "ort_eval.js optimize failed:\n%s", log);
    rc = tu_run(log, sizeof log, WAFER_BIN " inspect %s", model);
    cr_assert_eq(rc, 0, "wafer inspect:\n%s", log);
    cr_expect(strstr(log, "QGemm") && strstr(log, "QLinearGlobalAveragePool") && strstr(log, "QLinearConv"),
              "the optimized model is not in QOperator form:\n%s", log);
    cr_expect(strstr(log, "unsupported ops: none") != NULL, "wafer reports unsupported ops:\n%s", log);
    rc = tu_run(log, sizeof log, "node tests/e2e/ort_eval.js run %s input=%s/perf/mobilenet_v2_in.npy --out %s/ort", model,
                FIXTURES, dir);
    cr_assert_eq(rc, 0, "onnxruntime run:\n%s", log);
    rc = tu_run(log, sizeof log, WAFER_BIN " run %s --input input=%s/perf/mobilenet_v2_in.npy --out %s/w", model, FIXTURES,
                dir);
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
        cr_expect(dmax <= QOP_MAX_REL_DIFF * amax, "input %lld: max |diff| %.3g > %.2f of max |logit| %.3g", (long long)i,
                  dmax, QOP_MAX_REL_DIFF, amax);
        cr_expect_eq(argmax(yi, classes), argmax(ri, classes), "input %lld: top-1 differs", (long long)i);
    }
    free(o.data);
    free(w.data);
}
