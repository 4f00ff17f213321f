/*
 * test_emit_mobilenet.c — `wafer emit-c` at scale: MobileNetV2 int8 (52 QConv, 10 QAdd,
 * 3.5M weights, a 32 MB source) emits, compiles with gcc -pedantic, runs on the fixture's
 * two images (weights in their own model_weights.c, --split-weights) and matches the runtime's reference kernels: the int8 features before the
 * float classifier bit for bit, the logits within ECU_FLOAT_REL_TOL; the arena within 1.1x
 * of its lower bound. About 15 s (compiling the weights dominates); the sanitizer build
 * (WAFER_SANITIZED) skips it.
 */
#include <unistd.h>

#include "emitc_util.h"

#define ARENA_MAX_OVER_BOUND 1.1

Test(emit_mobilenet, int8_matches_runtime, .timeout = 300) {
    if (getenv("WAFER_SANITIZED")) cr_skip_test("MobileNetV2 emit-c takes minutes under the sanitizers: skipped");
    char dir[256], wafer[512], log[8192], path[600];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "emitc_mb"), 0);
    ecu_quantize(dir, "perf/mobilenet_v2.onnx", "m",
                 "--weights int8 --activations int8 --calib input=" FIXTURES "/perf/mobilenet_v2_in.npy", wafer,
                 sizeof wafer);
    EmitCStats st = ecu_emit_split(wafer, dir, 1, 0, 1); /* 32 MB of weights: their own file */
    snprintf(path, sizeof path, "%s/model_weights.c", dir);
    cr_assert_eq(access(path, F_OK), 0, "no %s", path);
    cr_expect(st.arena_bytes <= ARENA_MAX_OVER_BOUND * (double)st.lower_bound, "arena %lld vs lower bound %lld",
              (long long)st.arena_bytes, (long long)st.lower_bound);
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
    cr_expect_eq(memcmp(q, ref[1].data, n1), 0, "int8 features differ from the runtime's");
    free(y);
    free(q);
    free(ref[0].data);
    free(ref[1].data);
    free(x.data);
    tu_tmpdir_remove(dir);
}
