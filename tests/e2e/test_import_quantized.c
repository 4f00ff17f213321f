/*
 * test_import_quantized.c — models that onnxruntime already quantized, loaded and run by
 * wafer (issue 9, import):
 *  - perf/tinylm_int4_default_asym.onnx: onnxruntime's 4-bit MatMulNBits quantization of
 *    tinylm (24 MatMulNBits, bits 4, block 128, asymmetric:
 *    uint8 zero points packed two blocks per byte, no accuracy_level). `wafer eval --task lm` on
 *    tinylm/tinylm_eval_tokens.npy must give onnxruntime's perplexity, 2.4600 +- 0.0005.
 *  - perf/mobilenet_v2_int8_qdq_ort.onnx: onnxruntime's static int8 QDQ quantization of
 *    mobilenet_v2 (QuantizeLinear/DequantizeLinear around float Conv). The fixtures hold no
 *    onnxruntime output of this model, only the float model's (perf/mobilenet_v2_out.npy),
 *    so what is checked is what int8 quantization allows: the same top-1 class as the float
 *    model on every input, and logits close to the float ones within the bound below.
 * Both load through the library's ONNX frontend; the tinylm case runs the CLI as users do.
 * The mobilenet case is slow under the sanitizers and is skipped there (WAFER_SANITIZED).
 */
#include <criterion/criterion.h>
#include <unistd.h>

#include "../../frontend/onnx.h"
#include "../test_util.h"

/* onnxruntime's perplexity for its own int4 model (fixture README, 4 decimals); the issue
 * allows +-0.0005. */
#define TINYLM_INT4_PPL 2.4600
#define TINYLM_INT4_PPL_TOL 0.0005

/* QDQ int8 against float logits: ||y_int8 - y_f32|| / ||y_f32|| per input. Every activation
 * and weight of MobileNetV2 passes through an 8-bit grid (per-tensor activation scales, 255
 * steps over each tensor's calibrated range); each rounding adds noise of about
 * 1/(255 sqrt 12) ~ 0.1% of the range, and ~100 such roundings through 52 convs with ReLU6
 * and residual adds compound to a few percent of the logits' norm (measured here: 3.1% on
 * both inputs; published int8 PTQ of MobileNetV2 lands at 2-10%). 0.10 leaves room for that
 * spread and stays far below what a wrong kernel gives (a wrong zero point, axis or rounding
 * mode makes the error of order 1). */
#define QDQ_REL_ERR_MAX 0.10

Test(import_quantized, tinylm_int4_matmul_nbits_perplexity, .timeout = 600) {
    char out[8192], json[256];
    snprintf(json, sizeof json, "/tmp/wafer_import_ppl_%d.json", (int)getpid());
    int rc = tu_run(out, sizeof out, "%s eval %s/perf/tinylm_int4_default_asym.onnx --task lm --tokens %s/tinylm/tinylm_eval_tokens.npy --json %s",
                    WAFER_BIN, FIXTURES, FIXTURES, json);
    cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
    double ppl = tu_json_number(json, "perplexity");
    unlink(json);
    cr_expect(fabs(ppl - TINYLM_INT4_PPL) <= TINYLM_INT4_PPL_TOL, "perplexity %.6f, want %.4f +- %.4f", ppl,
              TINYLM_INT4_PPL, TINYLM_INT4_PPL_TOL);
}

static int argmax(const float *v, int64_t n) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return (int)best;
}

Test(import_quantized, mobilenet_v2_int8_qdq_runs_close_to_float, .timeout = 300) {
    if (getenv("WAFER_SANITIZED")) cr_skip_test("slow under the sanitizers");
    char path[512];
    snprintf(path, sizeof path, "%s/perf/mobilenet_v2_int8_qdq_ort.onnx", FIXTURES);
    RtError err = {{0}};
    IrGraph *g = onnx_load_file(path, NULL, &err);
    cr_assert_not_null(g, "%s", err.msg);
    RtTensor x = tu_fixture_npy("perf/mobilenet_v2_in.npy"), want = tu_fixture_npy("perf/mobilenet_v2_out.npy");
    RtTensor out[4];
    cr_assert_eq(ir_run(g, &x, out, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(out[0].dtype, RT_F32);
    cr_assert_eq(rt_numel(&out[0]), rt_numel(&want));
    int64_t rows = want.dims[0], classes = rt_numel(&want) / rows;
    const float *y = out[0].data, *r = want.data;
    for (int64_t i = 0; i < rows; i++) {
        const float *yi = y + i * classes, *ri = r + i * classes;
        double num = 0, den = 0;
        for (int64_t j = 0; j < classes; j++) {
            num += ((double)yi[j] - ri[j]) * ((double)yi[j] - ri[j]);
            den += (double)ri[j] * ri[j];
        }
        double rel = sqrt(num / den);
        cr_log_info("input %lld: relative error %.4f, top-1 %d (float %d)", (long long)i, rel,
                    argmax(yi, classes), argmax(ri, classes));
        cr_expect(rel <= QDQ_REL_ERR_MAX, "input %lld: relative error %.4f > %.2f", (long long)i, rel,
                  QDQ_REL_ERR_MAX);
        cr_expect_eq(argmax(yi, classes), argmax(ri, classes), "input %lld: top-1 %d, float model's %d",
                     (long long)i, argmax(yi, classes), argmax(ri, classes));
    }
    for (int i = 0; i < g->n_outputs; i++) free(out[i].data);
    free(x.data);
    free(want.data);
    ir_graph_free(g);
}
