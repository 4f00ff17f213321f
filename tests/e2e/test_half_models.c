/*
 * test_half_models.c — float16 CNNs end to end against onnxruntime-node: the fixtures'
 * digits_cnn (Conv, BatchNormalization, Relu, MaxPool, Gemm) and mobilenet_v2 (depthwise and
 * 1x1 Conv, Clip, Add, GlobalAveragePool, Gemm) converted at test time to float16 as
 * onnxconverter-common's convert_float_to_float16(keep_io_types=False) does
 * (tests/onnx_half_convert.h), inputs rounded to float16. Both the .onnx (wafer run: the
 * optimized kernels, x86/half_x86.c) and a .wafer compiled from it (wafer quantize --weights
 * f32: fused, planned, node states kept) must give onnxruntime's float16 outputs. Skips
 * where node or onnxruntime-node is missing.
 */
#include <math.h>

#include "../onnx_half_convert.h"
#include "../ort_compare.h"
#include "../../io/npy.h"

/* Both round every op's output to float16 (2^-11 relative): wafer computes each op in
 * float32 and rounds once, onnxruntime's CPU provider the same through the Casts it inserts
 * (or its own float16 kernels); float32 sums in another order may round a value to the
 * neighbouring float16, and later layers carry that, so a logit moves by a few float16
 * steps of the terms it sums (hidden values of order 1) plus its own rounding: 0.5% of the
 * value plus 0.005 (digits' worst seen: 0.003, on a logit of 0.03 that cancels larger terms). */
static const OrtcTol HALF_MODEL_TOL = {0.005, 0.005, 0};

/* The first rows of a fixture input as float16. */
static RtTensor first_rows_f16(const char *path, int64_t rows) {
    RtTensor x;
    RtError err = {{0}};
    cr_assert_eq(npy_read(path, &x, &err), RT_OK, "%s", err.msg);
    cr_assert(x.dtype == RT_F32 && x.dims[0] >= rows);
    x.dims[0] = rows;
    int64_t n = rt_numel(&x);
    uint16_t *h = malloc((size_t)n * 2);
    rt_f32_to_f16_n(x.data, h, n);
    free(x.data);
    x.dtype = RT_F16;
    x.data = h;
    return x;
}

static void check_model(const char *tag, const char *model, const char *input, const char *data, int64_t rows,
                        const char *shape) {
    char dir[256], f16[400], wf[400], log[8192];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, tag), 0);
    snprintf(f16, sizeof f16, "%s/model_f16.onnx", dir);
    snprintf(wf, sizeof wf, "%s/model_f16.wafer", dir);
    char err[512];
    cr_assert_eq(ohc_convert_file(model, f16, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16, err, sizeof err), 0, "%s", err);
    OrtcInput in = {input, first_rows_f16(data, rows)};
    if (!ortc_compare_file(tag, f16, &in, 1, &HALF_MODEL_TOL)) {
        free(in.t.data);
        tu_tmpdir_remove(dir);
        cr_skip_test("onnxruntime-node is not installed");
    }
    /* the compiled .wafer against onnxruntime's outputs of the same input */
    cr_assert_eq(tu_run(log, sizeof log, WAFER_BIN " quantize '%s' -o '%s' --weights f32 --shape %s=%s", f16, wf, input,
                        shape),
                 0, "%s: quantize: %s", tag, log);
    char xin[400];
    snprintf(xin, sizeof xin, "%s/x.npy", dir);
    RtError e = {{0}};
    cr_assert_eq(npy_write(xin, &in.t, &e), RT_OK, "%s", e.msg);
    cr_assert_eq(tu_run(log, sizeof log, "node tests/e2e/ort_eval.js run '%s' '%s=%s' --out %s/ort", f16, input, xin, dir),
                 0, "%s: onnxruntime: %s", tag, log);
    cr_assert_eq(tu_run(log, sizeof log, WAFER_BIN " run '%s' --input '%s=%s' --out %s/w", wf, input, xin, dir), 0,
                 "%s: wafer run: %s", tag, log);
    ortc__compare_one(tag, dir, "logits.npy", &HALF_MODEL_TOL);
    free(in.t.data);
    tu_tmpdir_remove(dir);
}

Test(half_models, digits_cnn_float16_matches_onnxruntime) {
    check_model("wafer_half_cnn", FIXTURES "/digits/digits_cnn.onnx", "image", FIXTURES "/digits/test_img.npy", 32,
                "32,1,8,8");
}

Test(half_models, mobilenet_v2_float16_matches_onnxruntime) {
    check_model("wafer_half_mbv2", FIXTURES "/perf/mobilenet_v2.onnx", "input", FIXTURES "/perf/mobilenet_v2_in.npy", 2,
                "2,3,224,224");
}
