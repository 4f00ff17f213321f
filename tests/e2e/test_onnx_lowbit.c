/*
 * test_onnx_lowbit.c — QuantizeLinear to, DequantizeLinear of and Cast to / from the sub-byte
 * integers (int4 / uint4 of opset 21, int2 / uint2 of opset 25) on activations, run by wafer
 * and by onnxruntime-node 1.30, every output compared exactly (tests/ort_compare.h). wafer
 * holds these types widened to one byte (int8 / uint8); the graphs end in a Cast to int8 /
 * uint8 or a DequantizeLinear, since the comparison's .npy files have no 4-bit dtype. Cases
 * onnxruntime cannot run here are worked by hand in comments. Skips where onnxruntime-node is
 * not installed.
 */
#include "../frontend/onnx_proto_build.h"
#include "../ort_compare.h"

TestSuite(onnx_lowbit, .fini = pb_release_all);

/* Integer outputs are exact; DequantizeLinear's (q - zp) * s is one float32 product of an
 * exact small integer and the scale, so the same in both. */
static const OrtcTol EXACT = {0, 0, 0};

/* Packs codes (each in the type's range) 8 / bits per byte, the first in the low bits, as the
 * ONNX IR packs INT4 / INT2. */
static Onnx__TensorProto *init_packed(Onnx__GraphProto *g, const char *name, int dt, int rank, const int64_t *dims,
                                      const int *codes) {
    int n = 1, bits = dt == 21 || dt == 22 ? 4 : 2, per = 8 / bits;
    for (int i = 0; i < rank; i++) n *= (int)dims[i];
    size_t bytes = (size_t)(n + per - 1) / (size_t)per;
    uint8_t *p = pb_zalloc(bytes);
    for (int i = 0; i < n; i++) p[i / per] |= (uint8_t)((codes[i] & ((1 << bits) - 1)) << (bits * (i % per)));
    return pb_tensor_raw(pb_add_init(g, pb_tensor(name, dt, (size_t)rank, dims)), p, bytes);
}

static Onnx__TensorProto *init_f(Onnx__GraphProto *g, const char *name, int rank, const int64_t *dims,
                                 const float *v) {
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    return pb_tensor_floats(pb_add_init(g, pb_tensor(name, 1, (size_t)rank, dims)), (size_t)n, v);
}

/* x [3, 5]: multiples of 0.25 from -5 to 5.5 (ties of x / 0.5 at every odd quarter) and the
 * extremes that saturate every sub-byte range. */
static void x_values(float *x) {
    for (int i = 0; i < 15; i++) x[i] = -5.0f + 0.75f * (float)i;
    x[3] = -100.0f, x[11] = 100.0f, x[7] = 0.25f, x[8] = -0.25f;
}

/* Adds Cast(name -> to) as graph output out. */
static void cast_out(Onnx__GraphProto *g, const char *name, int to, const char *out, const char *dims) {
    char nn[64];
    snprintf(nn, sizeof nn, "cast_%s", out);
    pb_attr_int(pb_add_node(g, pb_node("Cast", nn, name, out)), "to", to);
    pb_add_output(g, pb_value(out, to, dims));
}

/* QuantizeLinear to int4 / uint4 (opset 21) per tensor with an int4 zero point (the type only
 * the zero point says), per axis with output_dtype = uint4 and no zero point, blocked along
 * axis 1 (block 2: the last block short) with int4 zero points, each read back as int8 /
 * uint8 and through DequantizeLinear. */
Test(onnx_lowbit, quantize_int4_agrees_with_onnxruntime) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t d3[1] = {3}, d33[2] = {3, 3};
    float s1 = 0.5f, sa[3] = {0.25f, 0.5f, 1.0f}, sb[9] = {0.5f, 1, 0.25f, 1, 0.5f, 2, 0.75f, 0.5f, 1};
    init_f(g, "s1", 0, NULL, &s1);
    init_f(g, "sa", 1, d3, sa);
    init_f(g, "sb", 2, d33, sb);
    int z1[1] = {-3}, zb[9] = {-8, 7, 0, 3, -1, -5, 2, 0, -2};
    init_packed(g, "z1", 22, 0, NULL, z1);
    init_packed(g, "zb", 22, 2, d33, zb);
    pb_add_node(g, pb_node("QuantizeLinear", "q1", "x,s1,z1", "y1"));
    Onnx__NodeProto *q2 = pb_add_node(g, pb_node("QuantizeLinear", "q2", "x,sa", "y2"));
    pb_attr_int(q2, "axis", 0);
    pb_attr_int(q2, "output_dtype", 21);
    Onnx__NodeProto *q3 = pb_add_node(g, pb_node("QuantizeLinear", "q3", "x,sb,zb", "y3"));
    pb_attr_int(q3, "axis", 1);
    pb_attr_int(q3, "block_size", 2);
    pb_add_node(g, pb_node("DequantizeLinear", "dq1", "y1,s1,z1", "f1"));
    pb_attr_int(pb_add_node(g, pb_node("DequantizeLinear", "dq2", "y2,sa", "f2")), "axis", 0);
    Onnx__NodeProto *dq3 = pb_add_node(g, pb_node("DequantizeLinear", "dq3", "y3,sb,zb", "f3"));
    pb_attr_int(dq3, "axis", 1);
    pb_attr_int(dq3, "block_size", 2);
    pb_add_input(g, pb_value("x", 1, "3,5"));
    cast_out(g, "y1", RT_I8, "i1", "3,5");
    cast_out(g, "y2", RT_U8, "u2", "3,5");
    cast_out(g, "y3", RT_I8, "i3", "3,5");
    pb_add_output(g, pb_value("f1", 1, "3,5"));
    pb_add_output(g, pb_value("f2", 1, "3,5"));
    pb_add_output(g, pb_value("f3", 1, "3,5"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 10, 21, "test_onnx_lowbit", &len);
    float x[15];
    x_values(x);
    OrtcInput in = {"x", {.dtype = RT_F32, .rank = 2, .dims = {3, 5}, .data = x}};
    if (!ortc_compare("wafer_q_int4", m, len, &in, 1, &EXACT)) cr_skip_test("onnxruntime-node is not installed");
}

/* The same for int2 / uint2 (opset 25, IR 13) per tensor: an int2 zero point alone, a uint2
 * zero point with output_dtype = uint2 too. (Per axis see the hand-worked test below.) */
Test(onnx_lowbit, quantize_int2_agrees_with_onnxruntime) {
    Onnx__GraphProto *g = pb_graph("g");
    float s1 = 0.75f, s2 = 0.5f;
    init_f(g, "s1", 0, NULL, &s1);
    init_f(g, "s2", 0, NULL, &s2);
    int z1[1] = {-1}, z2[1] = {2};
    init_packed(g, "z1", 26, 0, NULL, z1);
    init_packed(g, "z2", 25, 0, NULL, z2);
    pb_add_node(g, pb_node("QuantizeLinear", "q1", "x,s1,z1", "y1"));
    pb_attr_int(pb_add_node(g, pb_node("QuantizeLinear", "q2", "x,s2,z2", "y2")), "output_dtype", 25);
    pb_add_node(g, pb_node("DequantizeLinear", "dq1", "y1,s1,z1", "f1"));
    pb_add_node(g, pb_node("DequantizeLinear", "dq2", "y2,s2,z2", "f2"));
    pb_add_input(g, pb_value("x", 1, "3,5"));
    cast_out(g, "y1", RT_I8, "i1", "3,5");
    cast_out(g, "y2", RT_U8, "u2", "3,5");
    pb_add_output(g, pb_value("f1", 1, "3,5"));
    pb_add_output(g, pb_value("f2", 1, "3,5"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 13, 25, "test_onnx_lowbit", &len);
    float x[15];
    x_values(x);
    OrtcInput in = {"x", {.dtype = RT_F32, .rank = 2, .dims = {3, 5}, .data = x}};
    if (!ortc_compare("wafer_q_int2", m, len, &in, 1, &EXACT)) cr_skip_test("onnxruntime-node is not installed");
}

/* Runs model m (written to a fresh folder) with `wafer run`, inputs given as NAME=FILE pairs of
 * tensors, and reads output `name` into *t. */
static void run_wafer(const uint8_t *m, size_t len, const char *in_name, const RtTensor *in, const char *name,
                      RtTensor *t) {
    char dir[256], path[300], xp[300], log[8192], f[320], args[400] = "";
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_lowbit_hand"), 0);
    snprintf(path, sizeof path, "%s/m.onnx", dir);
    FILE *fp = fopen(path, "wb");
    cr_assert(fp && fwrite(m, 1, len, fp) == len && fclose(fp) == 0);
    RtError err = {{0}};
    if (in_name) {
        snprintf(xp, sizeof xp, "%s/in.npy", dir);
        cr_assert_eq(npy_write(xp, in, &err), RT_OK, "%s", err.msg);
        snprintf(args, sizeof args, " --input %s=%s", in_name, xp);
    }
    cr_assert_eq(tu_run(log, sizeof log, WAFER_BIN " run %s%s --out %s", path, args, dir), 0, "%s", log);
    snprintf(f, sizeof f, "%s/%s.npy", dir, name);
    cr_assert_eq(npy_read(f, t, &err), RT_OK, "%s", err.msg);
    tu_tmpdir_remove(dir);
}

/* Per-axis QuantizeLinear to uint2, by hand: onnxruntime 1.30 gives different codes within
 * one column of a constant input here (x = -0.25 everywhere: [2,2,2,3,1], [1,1,2,0,0], ...),
 * so it cannot be the reference. Columns (axis 1) have scales [0.25, 0.5, 1, 2, 0.5] and
 * zero points [0, 1, 2, 3, 1]: -0.25 / s = [-1, -0.5, -0.25, -0.125, -0.5], rounded half to
 * even [-1, -0, -0, -0, -0], plus the zero point [-1, 1, 2, 3, 1], saturated to 0..3:
 * [0, 1, 2, 3, 1]. And 1.0 / s + zp = [4, 3, 3, 3.5 -> 4 (3.5 rounds to 4: ties to even), 3]
 * saturates to [3, 3, 3, 3, 3]. The output is a graph output of type uint2: `wafer run`
 * writes it as uint8, one code per byte. */
Test(onnx_lowbit, quantize_uint2_per_axis_by_hand) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t d5[1] = {5};
    float sa[5] = {0.25f, 0.5f, 1.0f, 2.0f, 0.5f};
    init_f(g, "sa", 1, d5, sa);
    int za[5] = {0, 1, 2, 3, 1};
    init_packed(g, "za", 25, 1, d5, za);
    pb_add_node(g, pb_node("QuantizeLinear", "q", "x,sa,za", "y"));
    pb_add_input(g, pb_value("x", 1, "2,5"));
    pb_add_output(g, pb_value("y", 25, "2,5"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 13, 25, "test_onnx_lowbit", &len);
    float x[10] = {-0.25f, -0.25f, -0.25f, -0.25f, -0.25f, 1, 1, 1, 1, 1};
    RtTensor xt = {.dtype = RT_F32, .rank = 2, .dims = {2, 5}, .data = x}, y;
    run_wafer(m, len, "x", &xt, "y", &y);
    const uint8_t want[10] = {0, 1, 2, 3, 1, 3, 3, 3, 3, 3};
    cr_assert_eq(y.dtype, RT_U8, "a uint2 output is written as uint8, got %d", (int)y.dtype);
    for (int i = 0; i < 10; i++) cr_expect_eq(((uint8_t *)y.data)[i], want[i], "y[%d] = %d, want %d", i, ((uint8_t *)y.data)[i], want[i]);
    free(y.data);
}

/* Cast float -> int4 / uint4 / int2 / uint2, int32 -> int4 / uint4 / int2 and int4 -> uint4
 * (out-of-range values, negatives into unsigned types), each read back as int8 / uint8 /
 * float. No float here lies halfway between two integers: onnxruntime rounds those away from
 * zero, the spec to even (the hand-worked test below). */
Test(onnx_lowbit, cast_lowbit_agrees_with_onnxruntime) {
    Onnx__GraphProto *g = pb_graph("g");
    pb_attr_int(pb_add_node(g, pb_node("Cast", "c1", "x", "a")), "to", 22);
    pb_attr_int(pb_add_node(g, pb_node("Cast", "c2", "x", "b")), "to", 21);
    pb_attr_int(pb_add_node(g, pb_node("Cast", "c3", "n", "c")), "to", 22);
    pb_attr_int(pb_add_node(g, pb_node("Cast", "c4", "n", "d")), "to", 21);
    pb_attr_int(pb_add_node(g, pb_node("Cast", "c5", "a", "e")), "to", 21);
    pb_attr_int(pb_add_node(g, pb_node("Cast", "c6", "x", "h")), "to", 26);
    pb_attr_int(pb_add_node(g, pb_node("Cast", "c7", "x", "k")), "to", 25);
    pb_attr_int(pb_add_node(g, pb_node("Cast", "c8", "n", "l")), "to", 26);
    pb_add_input(g, pb_value("x", 1, "3,5"));
    pb_add_input(g, pb_value("n", RT_I32, "7"));
    cast_out(g, "a", RT_I8, "ai", "3,5");
    cast_out(g, "b", RT_U8, "bu", "3,5");
    cast_out(g, "c", RT_I8, "ci", "7");
    cast_out(g, "d", RT_U8, "du", "7");
    cast_out(g, "e", RT_U8, "eu", "3,5");
    cast_out(g, "a", RT_F32, "af", "3,5");
    cast_out(g, "h", RT_I8, "hi", "3,5");
    cast_out(g, "k", RT_U8, "ku", "3,5");
    cast_out(g, "l", RT_I8, "li", "7");
    size_t len;
    uint8_t *m = pb_model_pack(g, 13, 25, "test_onnx_lowbit", &len);
    float x[15] = {-100.3f, -9.2f, -8.4f, -7.6f, -2.7f, -1.3f, -0.2f, 0.0f, 0.4f, 1.6f, 6.8f, 7.3f, 8.1f, 15.7f, 100.2f};
    int32_t n[7] = {-1000, -9, -8, 0, 7, 15, 16};
    OrtcInput in[2] = {{"x", {.dtype = RT_F32, .rank = 2, .dims = {3, 5}, .data = x}},
                       {"n", {.dtype = RT_I32, .rank = 1, .dims = {7}, .data = n}}};
    if (!ortc_compare("wafer_cast_lowbit", m, len, in, 2, &EXACT)) cr_skip_test("onnxruntime-node is not installed");
}

/* Cast's halfway floats by hand, to ONNX's int4 note ("rounding to the nearest-even integer
 * and truncating"): 2.5 -> 2, -2.5 -> -2, 3.5 -> 4, 0.5 -> 0, -0.5 -> 0, 7.5 -> 8, whose low
 * four bits 1000 are int4 -8 and uint4 8; -1.5 -> -2 is uint4 14 (low bits of 1110) and int2
 * -2; 1.5 -> 2 is int2 -2 (low bits 10) and uint2 2. The int4 result is a graph output of
 * type int4, written as int8. */
Test(onnx_lowbit, cast_ties_to_even_by_hand) {
    Onnx__GraphProto *g = pb_graph("g");
    pb_attr_int(pb_add_node(g, pb_node("Cast", "c1", "x", "a")), "to", 22);
    pb_attr_int(pb_add_node(g, pb_node("Cast", "c2", "x", "b")), "to", 21);
    pb_attr_int(pb_add_node(g, pb_node("Cast", "c3", "x", "c")), "to", 26);
    pb_attr_int(pb_add_node(g, pb_node("Cast", "c4", "x", "d")), "to", 25);
    pb_add_input(g, pb_value("x", 1, "8"));
    pb_add_output(g, pb_value("a", 22, "8"));
    pb_add_output(g, pb_value("b", 21, "8"));
    pb_add_output(g, pb_value("c", 26, "8"));
    pb_add_output(g, pb_value("d", 25, "8"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 13, 25, "test_onnx_lowbit", &len);
    float x[8] = {2.5f, -2.5f, 3.5f, 0.5f, -0.5f, 7.5f, -1.5f, 1.5f};
    const int want[4][8] = {{2, -2, 4, 0, 0, -8, -2, 2},   /* int4 */
                            {2, 14, 4, 0, 0, 8, 14, 2},    /* uint4 */
                            {-2, -2, 0, 0, 0, 0, -2, -2},  /* int2: 2 -> 10, -2, 4 -> 00, 8 -> 00 */
                            {2, 2, 0, 0, 0, 0, 2, 2}};     /* uint2 */
    const char *names[4] = {"a", "b", "c", "d"};
    RtTensor xt = {.dtype = RT_F32, .rank = 1, .dims = {8}, .data = x};
    for (int k = 0; k < 4; k++) {
        RtTensor y;
        run_wafer(m, len, "x", &xt, names[k], &y);
        cr_expect_eq(y.dtype, k % 2 == 0 ? RT_I8 : RT_U8, "%s: dtype %d", names[k], (int)y.dtype);
        for (int i = 0; i < 8; i++) {
            int got = y.dtype == RT_I8 ? ((int8_t *)y.data)[i] : ((uint8_t *)y.data)[i];
            cr_expect_eq(got, want[k][i], "%s[%d] (x = %g) = %d, want %d", names[k], i, x[i], got, want[k][i]);
        }
        free(y.data);
    }
}

/* An int4 graph input (given as int8, one code per byte) through DequantizeLinear and a
 * Cast to int8, by hand: zero point 1, scale 0.5, codes [-8, -1, 0, 3, 7] -> (q - 1) * 0.5 =
 * [-4.5, -1, -0.5, 1, 3]. onnxruntime-node's comparison files have no int4 input. */
Test(onnx_lowbit, int4_graph_input_by_hand) {
    Onnx__GraphProto *g = pb_graph("g");
    float s = 0.5f;
    init_f(g, "s", 0, NULL, &s);
    int z[1] = {1};
    init_packed(g, "z", 22, 0, NULL, z);
    pb_add_node(g, pb_node("DequantizeLinear", "dq", "q,s,z", "f"));
    pb_add_input(g, pb_value("q", 22, "5"));
    pb_add_output(g, pb_value("f", 1, "5"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 10, 21, "test_onnx_lowbit", &len);
    int8_t q[5] = {-8, -1, 0, 3, 7};
    RtTensor qt = {.dtype = RT_I8, .rank = 1, .dims = {5}, .data = q}, f;
    run_wafer(m, len, "q", &qt, "f", &f);
    const float want[5] = {-4.5f, -1.0f, -0.5f, 1.0f, 3.0f};
    for (int i = 0; i < 5; i++) cr_expect_eq(((float *)f.data)[i], want[i], "f[%d] = %g", i, ((float *)f.data)[i]);
    free(f.data);
}

/* emit-c's Cast to a 4-bit type takes float32 and integer sources: from float64 it is
 * refused by name; the ONNX writer would declare a widened 4-bit activation int8, so it
 * refuses too; exit 2 each. (emit-c's QuantizeLinear and Cast to 4-bit types:
 * tests/codegen/test_emit_ops.c, test_emit_math.c.) */
Test(onnx_lowbit, emit_c_cast_and_onnx_export_refuse_lowbit_activations_by_name) {
    const char *want[4] = {NULL, "cast from float64 to a 4- or 2-bit type: emit-c takes float32 and integers",
                           "a int4 activation has no ONNX export yet", "a uint4 activation has no ONNX export yet"};
    for (int k = 1; k < 4; k++) {
        Onnx__GraphProto *g = pb_graph("g");
        float s = 0.5f;
        init_f(g, "s", 0, NULL, &s);
        if (k % 2 == 0) pb_attr_int(pb_add_node(g, pb_node("QuantizeLinear", "q", "x,s", "y")), "output_dtype", 22);
        else pb_attr_int(pb_add_node(g, pb_node("Cast", "c", "x", "y")), "to", 21);
        pb_attr_int(pb_add_node(g, pb_node("Cast", "back", "y", "z")), "to", RT_F32);
        pb_add_input(g, pb_value("x", k == 1 ? RT_F64 : RT_F32, "4"));
        pb_add_output(g, pb_value("z", 1, "4"));
        size_t len;
        uint8_t *m = pb_model_pack(g, 10, 21, "test_onnx_lowbit", &len);
        char dir[256], path[300], log[8192];
        cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_lowbit_emitc"), 0);
        snprintf(path, sizeof path, "%s/m.onnx", dir);
        FILE *fp = fopen(path, "wb");
        cr_assert(fp && fwrite(m, 1, len, fp) == len && fclose(fp) == 0);
        int rc = k < 2 ? tu_run(log, sizeof log, WAFER_BIN " emit-c %s -o %s/c --weights f32", path, dir)
                       : tu_run(log, sizeof log, WAFER_BIN " quantize %s -o %s/m.wafer --weights f32 --onnx %s/o.onnx",
                                path, dir, dir);
        cr_expect_eq(rc, 2, "case %d: exit %d, want 2:\n%s", k, rc, log);
        cr_expect(strstr(log, want[k]) != NULL, "case %d: message lacks '%s':\n%s", k, want[k], log);
        tu_tmpdir_remove(dir);
    }
}

/* An int4 graph input given a value outside -8..7 (9, which fits int8) is refused naming the
 * input, the file and the element, exit 2: it is no int4. */
Test(onnx_lowbit, int4_graph_input_out_of_range_refused) {
    Onnx__GraphProto *g = pb_graph("g");
    pb_attr_int(pb_add_node(g, pb_node("Cast", "c", "q", "f")), "to", RT_F32);
    pb_add_input(g, pb_value("q", 22, "3"));
    pb_add_output(g, pb_value("f", 1, "3"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 10, 21, "test_onnx_lowbit", &len);
    char dir[256], path[300], xp[300], log[8192];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_lowbit_range"), 0);
    snprintf(path, sizeof path, "%s/m.onnx", dir);
    FILE *fp = fopen(path, "wb");
    cr_assert(fp && fwrite(m, 1, len, fp) == len && fclose(fp) == 0);
    int8_t q[3] = {-8, 9, 7};
    RtTensor qt = {.dtype = RT_I8, .rank = 1, .dims = {3}, .data = q};
    RtError err = {{0}};
    snprintf(xp, sizeof xp, "%s/q.npy", dir);
    cr_assert_eq(npy_write(xp, &qt, &err), RT_OK, "%s", err.msg);
    int rc = tu_run(log, sizeof log, WAFER_BIN " run %s --input q=%s --out %s/o", path, xp, dir);
    cr_expect_eq(rc, 2, "exit %d, want 2:\n%s", rc, log);
    cr_expect(strstr(log, "input 'q' is int4 (given as one int8 per value)") && strstr(log, "element 1 = 9 is outside -8..7"),
              "message:\n%s", log);
    tu_tmpdir_remove(dir);
}

/* A QuantizeLinear whose zero point is an int4 graph input (no output_dtype: only the input's
 * declared type says int4) saturates to -8..7, by hand: x / 0.5 = [20, -3, 1], + zp 2 =
 * [22, -1, 3] -> [7, -1, 3]. A CastLike whose target_type comes from a Cast to int4 is
 * refused by name (its widened int8 would name the wrong type). */
Test(onnx_lowbit, zero_point_input_and_castlike_target_by_type) {
    Onnx__GraphProto *g = pb_graph("g");
    float s = 0.5f, x[3] = {10, -1.5f, 0.5f};
    int64_t d3 = 3;
    init_f(g, "s", 0, NULL, &s);
    pb_tensor_floats(pb_add_init(g, pb_tensor("x", 1, 1, &d3)), 3, x);
    pb_add_node(g, pb_node("QuantizeLinear", "q", "x,s,z", "y"));
    pb_add_input(g, pb_value("z", 22, ""));
    pb_add_output(g, pb_value("y", 22, "3"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 10, 21, "test_onnx_lowbit", &len);
    int8_t z = 2;
    RtTensor zt = {.dtype = RT_I8, .rank = 0, .data = &z}, y;
    run_wafer(m, len, "z", &zt, "y", &y);
    const int8_t want[3] = {7, -1, 3};
    for (int i = 0; i < 3; i++) cr_expect_eq(((int8_t *)y.data)[i], want[i], "y[%d] = %d", i, ((int8_t *)y.data)[i]);
    free(y.data);

    g = pb_graph("g");
    pb_tensor_floats(pb_add_init(g, pb_tensor("x", 1, 1, &d3)), 3, x);
    pb_attr_int(pb_add_node(g, pb_node("Cast", "c", "x", "t4")), "to", 22);
    pb_add_node(g, pb_node("CastLike", "cl", "x,t4", "y"));
    pb_add_output(g, pb_value("y", 22, "3"));
    m = pb_model_pack(g, 10, 21, "test_onnx_lowbit", &len);
    char dir[256], path[300], log[8192];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_lowbit_castlike"), 0);
    snprintf(path, sizeof path, "%s/m.onnx", dir);
    FILE *fp = fopen(path, "wb");
    cr_assert(fp && fwrite(m, 1, len, fp) == len && fclose(fp) == 0);
    int rc = tu_run(log, sizeof log, WAFER_BIN " run %s --out %s/o", path, dir);
    cr_expect_eq(rc, 2, "exit %d, want 2:\n%s", rc, log);
    cr_expect(strstr(log, "node 'cl' (CastLike): a int4 target_type is not supported") != NULL, "message:\n%s", log);
    tu_tmpdir_remove(dir);
}
