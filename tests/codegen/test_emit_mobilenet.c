/*
 * test_emit_mobilenet.c — `wafer emit-c` at scale. MobileNetV2 int8 (52 QConv, 10 QAdd,
 * 3.5M weights, a 32 MB source) emits, compiles with gcc -pedantic, runs on the fixture's
 * two images (weights in their own model_weights.c, --split-weights) and matches the runtime's reference kernels: the int8 features before the
 * float classifier bit for bit, the logits within ECU_FLOAT_REL_TOL; the arena within 1.1x
 * of its lower bound. And tinylm, a 3.3M-parameter transformer (Gather, LayerNormalization,
 * Linear, batched MatMul, Softmax, Transpose; Gelu fused into fc1's Linear), emitted in float
 * for one 128-token window: the logits match the runtime and onnxruntime's, the arena within
 * 1.1x of its lower bound too (the planner's search: greedy alone left 1.17x); onnxruntime's
 * own 4-bit tinylm (MatMulNBits) with its codes kept packed; and onnxruntime's QDQ MobileNetV2
 * as all-integer C. About 15 s each (compiling the
 * weights dominates); the sanitizer build (WAFER_SANITIZED) skips them.
 */
#include <unistd.h>

#include "emitc_util.h"

#define ARENA_MAX_OVER_BOUND 1.1

/* Compiles the emitted dir/model.c with the harness, runs it on the fixture's two images and
 * compares with the runtime's reference kernels on the .wafer: the last integer tensor
 * before the float head bit for bit, the logits within ECU_FLOAT_REL_TOL. */
static void mobilenet_int8_check(const char *dir, const char *wafer) {
    char log[8192], path[600];
    RtTensor x = tu_fixture_npy("perf/mobilenet_v2_in.npy");
    snprintf(path, sizeof path, "%s/in.bin", dir);
    ecu_raw_write(path, x.data, (size_t)rt_nbytes(&x));
    cr_assert_eq(ecu_compile("gcc", "-O2", dir, "h", log, sizeof log), 0, "%s", log);
    cr_assert_eq(log[0], '\0', "gcc printed: %s", log);
    int rc = tu_run(log, sizeof log, "%s/h %s/in.bin %s/y0.bin %s/y1.bin", dir, dir, dir, dir);
    cr_assert_eq(rc, 0, "%s", log);
    RtTensor ref[2];
    memset(ref, 0, sizeof ref);
    cr_assert_eq(ecu_reference(wafer, 1, &x, ref), 2);
    size_t n0 = 0, n1 = 0;
    snprintf(path, sizeof path, "%s/y0.bin", dir);
    float *y = (float *)tu_file_read(path, &n0);
    snprintf(path, sizeof path, "%s/y1.bin", dir);
    unsigned char *q = tu_file_read(path, &n1);
    cr_assert(y && q && (int64_t)n0 == rt_nbytes(&ref[0]) && (int64_t)n1 == rt_nbytes(&ref[1]));
    double rel = tu_max_rel_diff(y, ref[0].data, (long)rt_numel(&ref[0]));
    cr_expect(rel <= ECU_FLOAT_REL_TOL, "logits: relative difference %g", rel);
    cr_expect_eq(memcmp(q, ref[1].data, n1), 0, "the integer tensor before the float head differs from the runtime's");
    free(y);
    free(q);
    free(ref[0].data);
    free(ref[1].data);
    free(x.data);
}

Test(emit_mobilenet, int8_matches_runtime, .timeout = 300) {
    if (getenv("WAFER_SANITIZED")) cr_skip_test("MobileNetV2 emit-c takes minutes under the sanitizers: skipped");
    char dir[256], wafer[512], path[600];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "emitc_mb"), 0);
    ecu_quantize(dir, "perf/mobilenet_v2.onnx", "m",
                 "--weights int8 --activations int8 --calib input=" FIXTURES "/perf/mobilenet_v2_in.npy", wafer,
                 sizeof wafer);
    EmitCStats st = ecu_emit_split(wafer, dir, 1, 0, 1); /* 32 MB of weights: their own file */
    snprintf(path, sizeof path, "%s/model_weights.c", dir);
    cr_assert_eq(access(path, F_OK), 0, "no %s", path);
    cr_expect(st.arena_bytes <= ARENA_MAX_OVER_BOUND * (double)st.lower_bound, "arena %lld vs lower bound %lld",
              (long long)st.arena_bytes, (long long)st.lower_bound);
    mobilenet_int8_check(dir, wafer);
    tu_tmpdir_remove(dir);
}

/* onnxruntime's QDQ-quantized MobileNetV2 (its quantizer's output, the fixture): emit-c
 * imports the DQ -> op -> Q groups as `wafer run` does (QLinearConv, QLinearAdd, QGemm,
 * QLinearGlobalAveragePool), so the C is all-integer up to the last DequantizeLinear, and equals
 * the runtime's reference kernels on the same file: the int8 logits before that
 * DequantizeLinear bit for bit, the float logits within ECU_FLOAT_REL_TOL. */
Test(emit_mobilenet, onnxruntime_qdq_model_emits_int8_c, .timeout = 300) {
    if (getenv("WAFER_SANITIZED")) cr_skip_test("MobileNetV2 emit-c takes minutes under the sanitizers: skipped");
    char dir[256], wafer[512];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "emitc_mbq"), 0);
    ecu_quantize(dir, "perf/mobilenet_v2_int8_qdq_ort.onnx", "m", "--weights f32 --shape input=2,3,224,224", wafer,
                 sizeof wafer); /* the batch bound: the uint8 logits then have a known dtype */
    EmitCStats st = ecu_emit_split(wafer, dir, 1, 0, 1);
    cr_expect(st.weight_bytes < 4000000, "weights %lld bytes: the int8 codes were not kept", (long long)st.weight_bytes);
    mobilenet_int8_check(dir, wafer);
    tu_tmpdir_remove(dir);
}

/* Compiles the emitted tinylm (dir/model.c + model_weights.c: the weights file at -O0, it is
 * data; the code at -O2), runs it on the first eval window and checks its logits against the
 * runtime's reference kernels on the .wafer (what names the model in messages). Returns the
 * logits [128, 128] (the caller frees them). */
static float *tinylm_c_check(const char *dir, const char *wafer, const char *what) {
    char log[8192], path[600];
    int st = tu_run(log, sizeof log,
                    "gcc -std=c99 -Wall -Wextra -Werror -pedantic -O0 -c %s/model_weights.c -o %s/w.o && "
                    "gcc -std=c99 -Wall -Wextra -Werror -pedantic -O2 -I%s %s/model.c tests/codegen/emitc_harness.c %s/w.o "
                    "-o %s/h -lm",
                    dir, dir, dir, dir, dir, dir);
    cr_assert_eq(st, 0, "%s", log);
    cr_assert_eq(log[0], '\0', "gcc printed: %s", log);
    RtTensor toks = tu_fixture_npy("tinylm/tinylm_eval_tokens.npy"); /* [64, 129]: input = [:, :128] */
    RtTensor x = {RT_I64, 2, {1, 128}, toks.data};
    snprintf(path, sizeof path, "%s/in.bin", dir);
    ecu_raw_write(path, x.data, 128 * sizeof(int64_t));
    st = tu_run(log, sizeof log, "%s/h %s/in.bin %s/y.bin", dir, dir, dir);
    cr_assert_eq(st, 0, "%s", log);
    RtTensor ref = {0};
    cr_assert_eq(ecu_reference(wafer, 0, &x, &ref), 1);
    size_t n = 0;
    snprintf(path, sizeof path, "%s/y.bin", dir);
    float *y = (float *)tu_file_read(path, &n);
    cr_assert(y && (int64_t)n == rt_nbytes(&ref), "%zu bytes vs %lld", n, (long long)rt_nbytes(&ref));
    double rel = tu_max_rel_diff(y, ref.data, (long)rt_numel(&ref));
    cr_expect(rel <= ECU_FLOAT_REL_TOL, "%s logits vs the runtime: relative difference %g", what, rel);
    free(ref.data);
    free(toks.data);
    return y;
}

Test(emit_mobilenet, tinylm_float_matches_runtime_and_onnxruntime, .timeout = 300) {
    if (getenv("WAFER_SANITIZED")) cr_skip_test("tinylm emit-c takes minutes under the sanitizers: skipped");
    char dir[256], wafer[512];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "emitc_lm"), 0);
    ecu_quantize(dir, "tinylm/tinylm.onnx", "m", "--weights f32 --shape tokens=1,128", wafer, sizeof wafer);
    EmitCStats es = ecu_emit_split(wafer, dir, 0, 0, 1);
    cr_expect(es.arena_bytes >= es.lower_bound, "arena %lld below its lower bound %lld", (long long)es.arena_bytes,
              (long long)es.lower_bound);
    cr_expect(es.arena_bytes <= ARENA_MAX_OVER_BOUND * (double)es.lower_bound, "arena %lld vs lower bound %lld",
              (long long)es.arena_bytes, (long long)es.lower_bound);
    float *y = tinylm_c_check(dir, wafer, "tinylm");
    RtTensor ort = tu_fixture_npy("tinylm/tinylm_eval_logits_first4.npy"); /* [4, 128, 128] */
    double rel = tu_max_rel_diff(y, ort.data, 128 * 128);
    cr_expect(rel <= ECU_FLOAT_REL_TOL, "tinylm logits vs onnxruntime: relative difference %g", rel);
    free(y);
    free(ort.data);
    tu_tmpdir_remove(dir);
}

/* onnxruntime's own 4-bit tinylm (MatMulNBits, block 128, asymmetric: the fixture its
 * quantizer wrote): emit-c keeps its codes, scales and zero points as the file has them and
 * the C's logits equal the runtime's reference kernels on the same file. */
Test(emit_mobilenet, tinylm_matmul_nbits_matches_runtime, .timeout = 300) {
    if (getenv("WAFER_SANITIZED")) cr_skip_test("tinylm emit-c takes minutes under the sanitizers: skipped");
    char dir[256], wafer[512];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "emitc_lm4"), 0);
    ecu_quantize(dir, "perf/tinylm_int4_default_asym.onnx", "m", "--weights f32 --shape tokens=1,128", wafer, sizeof wafer);
    EmitCStats es = ecu_emit_split(wafer, dir, 0, 0, 1);
    cr_expect(es.weight_bytes < 3000000, "weights %lld bytes: the 4-bit codes were not kept", (long long)es.weight_bytes);
    free(tinylm_c_check(dir, wafer, "int4 tinylm"));
    tu_tmpdir_remove(dir);
}
