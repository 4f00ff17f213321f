/*
 * test_emit_half.c — float16 and bfloat16 models through `wafer emit-c` (codegen/emit_half.c):
 * computed in float32, each 16-bit value rounded to its type after the op that writes it, the
 * caller's 16-bit inputs and outputs as uint16_t bit patterns.
 *   - a float16 CNN head (Conv, Relu, Add, GlobalAveragePool, Flatten, MatMul, Softmax, and a
 *     Cast to float32 as a second output) against onnxruntime-node on the same file;
 *   - bfloat16 Mul by 3, against values worked out by hand (ties to even);
 *   - the header declares the 16-bit types and their 2-byte sizes.
 */
#include "../../io/npy.h"
#include "../frontend/onnx_proto_build.h"
#include "emitc_util.h"

TestSuite(emit_half, .fini = pb_release_all);

/* onnxruntime's CPU kernels and wafer's sum the float16 products in their own order (in
 * float32 either way, or onnxruntime's fp16 GEMM); the sums then round to float16 and may land
 * on neighbouring float16 numbers: one float16 step, 2^-10 relative, plus the smallest normal
 * float16 as absolute slack for results near zero. */
#define HALF_REL_TOL (1.0 / 1024.0)
#define HALF_ABS_TOL 6.2e-5

#define F16 ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16
#define BF16 ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16
#define F32 ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT

static uint64_t lcg(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

/* n random float16 numbers in [-scale, scale] as bit patterns. */
static uint16_t *f16_random(size_t n, double scale, uint64_t *seed) {
    uint16_t *h = pb_keep(malloc(n * sizeof *h));
    for (size_t i = 0; i < n; i++) h[i] = rt_f32_to_f16((float)(((double)(lcg(seed) % 20001) / 10000.0 - 1.0) * scale));
    return h;
}

static Onnx__TensorProto *f16_init(Onnx__GraphProto *g, const char *name, int rank, const int64_t *dims, double scale,
                                   uint64_t *seed) {
    size_t n = 1;
    for (int d = 0; d < rank; d++) n *= (size_t)dims[d];
    Onnx__TensorProto *t = pb_tensor(name, F16, (size_t)rank, dims);
    pb_tensor_raw(t, f16_random(n, scale, seed), n * 2);
    return pb_add_init(g, t);
}

#define CNN_X_ELEMS (1 * 3 * 8 * 8)
#define CNN_CLASSES 5

/* x f16 [1,3,8,8] -> Conv 4x3x3x3 (pads 1, bias) -> Relu -> Add c [1,4,1,1] -> GAP -> Flatten
 * -> MatMul [4,5] -> Softmax = y (f16), and Cast(MatMul, to float) = y32. */
static void cnn_write(const char *path, uint64_t *seed) {
    Onnx__GraphProto *g = pb_graph("half_cnn");
    Onnx__NodeProto *conv = pb_add_node(g, pb_node("Conv", "conv", "x,w,b", "c1"));
    pb_attr_ints(conv, "pads", 4, (int64_t[]){1, 1, 1, 1});
    pb_add_node(g, pb_node("Relu", "relu", "c1", "r"));
    pb_add_node(g, pb_node("Add", "add", "r,shift", "a"));
    pb_add_node(g, pb_node("GlobalAveragePool", "gap", "a", "p"));
    pb_add_node(g, pb_node("Flatten", "flatten", "p", "f"));
    pb_add_node(g, pb_node("MatMul", "fc", "f,fcw", "logits"));
    pb_add_node(g, pb_node("Softmax", "softmax", "logits", "y"));
    Onnx__NodeProto *cast = pb_add_node(g, pb_node("Cast", "cast", "logits", "y32"));
    pb_attr_int(cast, "to", F32);
    f16_init(g, "w", 4, (int64_t[]){4, 3, 3, 3}, 0.5, seed);
    f16_init(g, "b", 1, (int64_t[]){4}, 0.25, seed);
    f16_init(g, "shift", 4, (int64_t[]){1, 4, 1, 1}, 1.0, seed);
    f16_init(g, "fcw", 2, (int64_t[]){4, CNN_CLASSES}, 2.0, seed);
    pb_add_input(g, pb_value("x", F16, "1,3,8,8"));
    pb_add_output(g, pb_value("y", F16, NULL));
    pb_add_output(g, pb_value("y32", F32, NULL));
    size_t len = 0;
    uint8_t *bytes = pb_model_pack(g, 8, 17, "test", &len);
    ecu_raw_write(path, bytes, len);
}

static double half_value(const void *p, int dtype, int64_t i) {
    return dtype == RT_F16 ? rt_f16_to_f32(((const uint16_t *)p)[i]) : ((const float *)p)[i];
}

/* The emitted program's raw output file against onnxruntime's .npy of the same output. */
static void output_compare(const char *what, const char *raw, const char *npy, RtDtype dtype, int64_t n) {
    size_t bytes = 0;
    unsigned char *got = tu_file_read(raw, &bytes);
    cr_assert(got, "%s: no output file %s", what, raw);
    RtTensor ref = {0};
    RtError err = {{0}};
    cr_assert_eq(npy_read(npy, &ref, &err), RT_OK, "%s: %s", what, err.msg);
    cr_assert_eq(ref.dtype, dtype, "%s: onnxruntime's dtype %d", what, (int)ref.dtype);
    cr_assert_eq(rt_numel(&ref), n, "%s: onnxruntime's element count", what);
    cr_assert_eq((int64_t)bytes, rt_nbytes(&ref), "%s: %zu bytes, onnxruntime %lld", what, bytes,
                 (long long)rt_nbytes(&ref));
    for (int64_t i = 0; i < n; i++) {
        double a = half_value(got, dtype, i), b = half_value(ref.data, dtype, i);
        cr_expect(fabs(a - b) <= HALF_ABS_TOL + HALF_REL_TOL * fabs(b), "%s[%lld]: C %.8g, onnxruntime %.8g", what,
                  (long long)i, a, b);
    }
    free(got);
    free(ref.data);
}

Test(emit_half, float16_cnn_matches_onnxruntime) {
    char dir[256], log[16384], path[400], model[400];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "emit_half"), 0);
    uint64_t seed = 7;
    snprintf(model, sizeof model, "%s/m.onnx", dir);
    cnn_write(model, &seed);
    uint16_t *x = f16_random(CNN_X_ELEMS, 1.0, &seed);
    RtTensor xt = {.dtype = RT_F16, .rank = 4, .dims = {1, 3, 8, 8}, .data = x};
    RtError err = {{0}};
    snprintf(path, sizeof path, "%s/x.npy", dir);
    cr_assert_eq(npy_write(path, &xt, &err), RT_OK, "%s", err.msg);
    int rc = tu_run(log, sizeof log, "node tests/e2e/ort_eval.js run '%s' 'x=%s' --out %s/ort", model, path, dir);
    if (rc == 3 || tu_run(log, sizeof log, "node --version") != 0) {
        tu_tmpdir_remove(dir);
        cr_skip_test("onnxruntime-node is not installed");
    }
    cr_assert_eq(rc, 0, "onnxruntime: %s", log);
    rc = tu_run(log, sizeof log, "%s emit-c %s -o %s --weights f32", WAFER_BIN, model, dir);
    cr_assert_eq(rc, 0, "emit-c: %s", log);
    cr_assert_eq(ecu_compile("cc", "-O1", dir, "exe", log, sizeof log), 0, "%s", log);
    snprintf(path, sizeof path, "%s/x.bin", dir);
    ecu_raw_write(path, x, sizeof(uint16_t) * CNN_X_ELEMS);
    rc = tu_run(log, sizeof log, "%s/exe %s %s/y.bin %s/y32.bin", dir, path, dir, dir);
    cr_assert_eq(rc, 0, "the emitted program: %s", log);
    char raw[400], npy[400];
    snprintf(raw, sizeof raw, "%s/y.bin", dir);
    snprintf(npy, sizeof npy, "%s/ort/y.npy", dir);
    output_compare("y (float16 Softmax)", raw, npy, RT_F16, CNN_CLASSES);
    snprintf(raw, sizeof raw, "%s/y32.bin", dir);
    snprintf(npy, sizeof npy, "%s/ort/y32.npy", dir);
    output_compare("y32 (float16 logits cast to float)", raw, npy, RT_F32, CNN_CLASSES);
    /* the header gives the 16-bit interface: 2 bytes per element */
    rc = tu_run(log, sizeof log, "grep -c 'model_INPUT_0_BYTES %d' %s/model.h && grep -c 'float16 (uint16_t bit' %s/model.h",
                CNN_X_ELEMS * 2, dir, dir);
    cr_expect_eq(rc, 0, "model.h does not declare the float16 input as 2-byte elements: %s", log);
    tu_tmpdir_remove(dir);
}

#define HALF_CASE_ELEMS 4

/* Emits the graph g (input x, output y: HALF_CASE_ELEMS 16-bit values), compiles and runs the
 * C on the bit patterns x, and expects the bit patterns want. */
static void half_case(Onnx__GraphProto *g, const char *tag, const uint16_t *x, const uint16_t *want) {
    char dir[256], log[16384], path[400], model[400];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, tag), 0);
    size_t len = 0;
    uint8_t *bytes = pb_model_pack(g, 8, 17, "test", &len);
    snprintf(model, sizeof model, "%s/m.onnx", dir);
    ecu_raw_write(model, bytes, len);
    int rc = tu_run(log, sizeof log, "%s emit-c %s -o %s --weights f32", WAFER_BIN, model, dir);
    cr_assert_eq(rc, 0, "emit-c: %s", log);
    cr_assert_eq(ecu_compile("cc", "-O1", dir, "exe", log, sizeof log), 0, "%s", log);
    snprintf(path, sizeof path, "%s/x.bin", dir);
    ecu_raw_write(path, x, sizeof(uint16_t) * HALF_CASE_ELEMS);
    rc = tu_run(log, sizeof log, "%s/exe %s %s/y.bin", dir, path, dir);
    cr_assert_eq(rc, 0, "the emitted program: %s", log);
    snprintf(path, sizeof path, "%s/y.bin", dir);
    size_t n = 0;
    uint16_t *y = (uint16_t *)tu_file_read(path, &n);
    cr_assert(y && n == sizeof(uint16_t) * HALF_CASE_ELEMS, "%zu bytes", n);
    for (int i = 0; i < HALF_CASE_ELEMS; i++)
        cr_expect_eq(y[i], want[i], "%s: y[%d] = 0x%04x, want 0x%04x", tag, i, y[i], want[i]);
    free(y);
    tu_tmpdir_remove(dir);
}

/* bfloat16: y = x * 3 with the 3 a bfloat16 constant. By hand: 1.0 * 3 = 3.0 (0x4040);
 * (1 + 2^-7) * 3 = 3.0234375 = 2 * (1 + 65.5/128): a tie between mantissas 65 and 66, to the
 * even 66: 2 * (1 + 66/128) = 3.03125 (0x4042); -2.5 * 3 = -7.5 (0xc0f0); 2^-10 (0x3a80) * 3 =
 * 1.5 * 2^-9 (0x3b40). */
Test(emit_half, bfloat16_mul_rounds_ties_to_even) {
    Onnx__GraphProto *g = pb_graph("bf16_mul");
    pb_add_node(g, pb_node("Mul", "mul", "x,three", "y"));
    uint16_t three = 0x4040;
    pb_add_init(g, pb_tensor_raw(pb_tensor("three", BF16, 0, NULL), &three, 2));
    pb_add_input(g, pb_value("x", BF16, "4"));
    pb_add_output(g, pb_value("y", BF16, NULL));
    const uint16_t x[HALF_CASE_ELEMS] = {0x3f80, 0x3f81, 0xc020, 0x3a80};
    const uint16_t want[HALF_CASE_ELEMS] = {0x4040, 0x4042, 0xc0f0, 0x3b40};
    half_case(g, "emit_bf16", x, want);
}

/* Every float16 op's result is rounded, not only the outputs: y = (x + 1024) - 1024 in float16,
 * where the float16 step at 1024 is 1. By hand: 0.25 -> 1024.25 -> 1024 -> 0; 0.5 -> 1024.5, a
 * tie, to the even 1024 -> 0; 0.75 -> 1025 -> 1 (0x3c00); 1.5 -> 1025.5, a tie, to the even
 * 1026 -> 2 (0x4000). Computing in float32 without the rounding would give x back. */
Test(emit_half, float16_intermediate_values_are_rounded) {
    Onnx__GraphProto *g = pb_graph("f16_round");
    pb_add_node(g, pb_node("Add", "add", "x,big", "t"));
    pb_add_node(g, pb_node("Sub", "sub", "t,big", "y"));
    uint16_t big = 0x6400; /* 1024 */
    pb_add_init(g, pb_tensor_raw(pb_tensor("big", F16, 0, NULL), &big, 2));
    pb_add_input(g, pb_value("x", F16, "4"));
    pb_add_output(g, pb_value("y", F16, NULL));
    const uint16_t x[HALF_CASE_ELEMS] = {0x3400, 0x3800, 0x3a00, 0x3e00};
    const uint16_t want[HALF_CASE_ELEMS] = {0x0000, 0x0000, 0x3c00, 0x4000};
    half_case(g, "emit_f16_round", x, want);
}
