/*
 * test_onnx_opset26.c — models of default-domain opset 26 (ONNX 1.21, IR 13) run by wafer and
 * by onnxruntime-node 1.30 (which runs opsets up to 26), every output compared
 * (tests/ort_compare.h): the two ops opset 26 added, CumProd and BitCast, and Div, whose
 * integer form 26 states truncates toward zero. Cases onnxruntime cannot take are worked by
 * hand. Skips where onnxruntime-node is not installed.
 */
#include "../frontend/onnx_proto_build.h"
#include "../ort_compare.h"

TestSuite(onnx_opset26, .fini = pb_release_all);

/* Integer and bit-pattern outputs are exact. */
static const OrtcTol EXACT = {0, 0, 0};
/* CumProd of up to 5 float32 factors in [0.5, 2): wafer multiplies in double and rounds once,
 * onnxruntime rounds each product to float32: at most 4 roundings of 2^-24 apart. */
static const OrtcTol CUMPROD_TOL = {0, 5e-7, 0};

static Onnx__TensorProto *init_i64(Onnx__GraphProto *g, const char *name, int64_t v) {
    return pb_tensor_raw(pb_add_init(g, pb_tensor(name, RT_I64, 0, NULL)), &v, sizeof v);
}

/* CumProd over a [3, 4, 5] float tensor along axes 1 (inclusive), -1 (exclusive), 0
 * (reverse) and 2 (exclusive and reverse, axis given as int32), and over int64 and int32
 * tensors (exact products; int64 wraps the same in both: no value overflows here). */
Test(onnx_opset26, cumprod_agrees_with_onnxruntime) {
    Onnx__GraphProto *g = pb_graph("g");
    init_i64(g, "a1", 1);
    init_i64(g, "am1", -1);
    init_i64(g, "a0", 0);
    int32_t two = 2;
    pb_tensor_raw(pb_add_init(g, pb_tensor("a2", RT_I32, 0, NULL)), &two, sizeof two);
    pb_add_node(g, pb_node("CumProd", "p1", "x,a1", "y1"));
    pb_attr_int(pb_add_node(g, pb_node("CumProd", "p2", "x,am1", "y2")), "exclusive", 1);
    pb_attr_int(pb_add_node(g, pb_node("CumProd", "p3", "x,a0", "y3")), "reverse", 1);
    Onnx__NodeProto *p4 = pb_add_node(g, pb_node("CumProd", "p4", "x,a2", "y4"));
    pb_attr_int(p4, "exclusive", 1);
    pb_attr_int(p4, "reverse", 1);
    pb_add_node(g, pb_node("CumProd", "p5", "n,am1", "y5"));
    pb_attr_int(pb_add_node(g, pb_node("CumProd", "p6", "m,a0", "y6")), "reverse", 1);
    pb_add_input(g, pb_value("x", 1, "3,4,5"));
    pb_add_input(g, pb_value("n", RT_I64, "2,6"));
    pb_add_input(g, pb_value("m", RT_I32, "3,2"));
    pb_add_output(g, pb_value("y1", 1, "3,4,5"));
    pb_add_output(g, pb_value("y2", 1, "3,4,5"));
    pb_add_output(g, pb_value("y3", 1, "3,4,5"));
    pb_add_output(g, pb_value("y4", 1, "3,4,5"));
    pb_add_output(g, pb_value("y5", RT_I64, "2,6"));
    pb_add_output(g, pb_value("y6", RT_I32, "3,2"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 13, 26, "test_onnx_opset26", &len);
    static float x[60];
    uint32_t s = 11;
    for (int i = 0; i < 60; i++) x[i] = 0.5f + (float)((s = s * 1664525u + 1013904223u) >> 8) / (1 << 24) * 1.5f;
    x[7] = -1.25f, x[13] = 0.0f, x[22] = -0.0f; /* signs and zeros through the products */
    int64_t n[12] = {1, -2, 3, -4, 5, -6, 7, 0, -1, 1000000, 3, 2};
    int32_t mi[6] = {-3, 2, 5, -7, 11, 4};
    OrtcInput in[3] = {{"x", {.dtype = RT_F32, .rank = 3, .dims = {3, 4, 5}, .data = x}},
                       {"n", {.dtype = RT_I64, .rank = 2, .dims = {2, 6}, .data = n}},
                       {"m", {.dtype = RT_I32, .rank = 2, .dims = {3, 2}, .data = mi}}};
    if (!ortc_compare("wafer_cumprod", m, len, in, 3, &CUMPROD_TOL)) cr_skip_test("onnxruntime-node is not installed");
}

/* BitCast between types of one width: float32 -> int32 -> uint32 -> float32, int64 ->
 * float64, int8 -> uint8 -> int8, int16 -> uint16, float16 (as its uint16 bit patterns) ->
 * int16. Values include -0.0, a subnormal, infinity and negative integers. */
Test(onnx_opset26, bitcast_agrees_with_onnxruntime) {
    Onnx__GraphProto *g = pb_graph("g");
    pb_attr_int(pb_add_node(g, pb_node("BitCast", "b1", "f", "fi")), "to", RT_I32);
    pb_attr_int(pb_add_node(g, pb_node("BitCast", "b2", "fi", "fu")), "to", RT_U32);
    pb_attr_int(pb_add_node(g, pb_node("BitCast", "b3", "fu", "ff")), "to", RT_F32);
    pb_attr_int(pb_add_node(g, pb_node("BitCast", "b4", "l", "ld")), "to", RT_F64);
    pb_attr_int(pb_add_node(g, pb_node("BitCast", "b5", "c", "cu")), "to", RT_U8);
    pb_attr_int(pb_add_node(g, pb_node("BitCast", "b6", "cu", "ci")), "to", RT_I8);
    pb_attr_int(pb_add_node(g, pb_node("BitCast", "b7", "h", "hu")), "to", RT_U16);
    pb_attr_int(pb_add_node(g, pb_node("BitCast", "b8", "hu", "hh")), "to", RT_F16);
    pb_attr_int(pb_add_node(g, pb_node("BitCast", "b9", "hh", "hs")), "to", RT_I16);
    pb_attr_int(pb_add_node(g, pb_node("Cast", "c1", "fu", "fu64")), "to", RT_I64); /* uint32 is not in the comparison */
    pb_add_input(g, pb_value("f", 1, "6"));
    pb_add_input(g, pb_value("l", RT_I64, "3"));
    pb_add_input(g, pb_value("c", RT_I8, "4"));
    pb_add_input(g, pb_value("h", RT_I16, "4"));
    pb_add_output(g, pb_value("fi", RT_I32, "6"));
    pb_add_output(g, pb_value("fu64", RT_I64, "6"));
    pb_add_output(g, pb_value("ff", 1, "6"));
    pb_add_output(g, pb_value("ld", RT_F64, "3"));
    pb_add_output(g, pb_value("cu", RT_U8, "4"));
    pb_add_output(g, pb_value("ci", RT_I8, "4"));
    pb_add_output(g, pb_value("hu", RT_U16, "4"));
    pb_add_output(g, pb_value("hs", RT_I16, "4"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 13, 26, "test_onnx_opset26", &len);
    float f[6] = {1.0f, -0.0f, -2.5f, 3.4e38f, 1e-40f, (float)INFINITY};
    int64_t l[3] = {0x3FF0000000000000LL, (int64_t)0xC000000000000000ULL, 0x7FF0000000000000LL}; /* 1, -2, +inf */
    int8_t c[4] = {-128, -1, 0, 127};
    int16_t h[4] = {(int16_t)0x3C00, (int16_t)0xC000, 0x7BFF, (int16_t)0x8001}; /* 1, -2, 65504, -tiny */
    OrtcInput in[4] = {{"f", {.dtype = RT_F32, .rank = 1, .dims = {6}, .data = f}},
                       {"l", {.dtype = RT_I64, .rank = 1, .dims = {3}, .data = l}},
                       {"c", {.dtype = RT_I8, .rank = 1, .dims = {4}, .data = c}},
                       {"h", {.dtype = RT_I16, .rank = 1, .dims = {4}, .data = h}}};
    if (!ortc_compare("wafer_bitcast", m, len, in, 4, &EXACT)) cr_skip_test("onnxruntime-node is not installed");
}

/* Div-26 on integers truncates toward zero (-7 / 2 = -3, 7 / -2 = -3, -7 / -2 = 3), int32
 * and int64, broadcast, beside a float Div. */
Test(onnx_opset26, integer_div_truncates_as_onnxruntime) {
    Onnx__GraphProto *g = pb_graph("g");
    pb_add_node(g, pb_node("Div", "d1", "a,b", "q"));
    pb_add_node(g, pb_node("Div", "d2", "la,lb", "lq"));
    pb_add_node(g, pb_node("Div", "d3", "fa,fb", "fq"));
    pb_add_input(g, pb_value("a", RT_I32, "2,4"));
    pb_add_input(g, pb_value("b", RT_I32, "4"));
    pb_add_input(g, pb_value("la", RT_I64, "4"));
    pb_add_input(g, pb_value("lb", RT_I64, "4"));
    pb_add_input(g, pb_value("fa", 1, "2"));
    pb_add_input(g, pb_value("fb", 1, "2"));
    pb_add_output(g, pb_value("q", RT_I32, "2,4"));
    pb_add_output(g, pb_value("lq", RT_I64, "4"));
    pb_add_output(g, pb_value("fq", 1, "2"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 13, 26, "test_onnx_opset26", &len);
    int32_t a[8] = {-7, 7, -7, 9, -1, 1, 100, -100}, b[4] = {2, -2, -2, 4};
    int64_t la[4] = {-9000000000LL, 5, -5, 3}, lb[4] = {7, 3, 3, -4};
    float fa[2] = {-7, 1}, fb[2] = {2, 3};
    OrtcInput in[6] = {{"a", {.dtype = RT_I32, .rank = 2, .dims = {2, 4}, .data = a}},
                       {"b", {.dtype = RT_I32, .rank = 1, .dims = {4}, .data = b}},
                       {"la", {.dtype = RT_I64, .rank = 1, .dims = {4}, .data = la}},
                       {"lb", {.dtype = RT_I64, .rank = 1, .dims = {4}, .data = lb}},
                       {"fa", {.dtype = RT_F32, .rank = 1, .dims = {2}, .data = fa}},
                       {"fb", {.dtype = RT_F32, .rank = 1, .dims = {2}, .data = fb}}};
    if (!ortc_compare("wafer_div26", m, len, in, 6, &EXACT)) cr_skip_test("onnxruntime-node is not installed");
}

/* Packs codes 2 per byte, the first in the low nibble (ONNX's INT4 / UINT4). */
static Onnx__TensorProto *init_4bit(Onnx__GraphProto *g, const char *name, int dt, int n, const int *codes) {
    int64_t d = n;
    uint8_t *p = pb_zalloc((size_t)(n + 1) / 2);
    for (int i = 0; i < n; i++) p[i / 2] |= (uint8_t)((codes[i] & 15) << (4 * (i % 2)));
    return pb_tensor_raw(pb_add_init(g, pb_tensor(name, dt, 1, &d)), p, (size_t)(n + 1) / 2);
}

/* Runs model m with `wafer run` (no inputs) and reads output `name` into *t. */
static void run_wafer(const uint8_t *m, size_t len, const char *name, RtTensor *t) {
    char dir[256], path[300], log[8192], f[320];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_op26_hand"), 0);
    snprintf(path, sizeof path, "%s/m.onnx", dir);
    FILE *fp = fopen(path, "wb");
    cr_assert(fp && fwrite(m, 1, len, fp) == len && fclose(fp) == 0);
    cr_assert_eq(tu_run(log, sizeof log, WAFER_BIN " run %s --out %s", path, dir), 0, "%s", log);
    RtError err = {{0}};
    snprintf(f, sizeof f, "%s/%s.npy", dir, name);
    cr_assert_eq(npy_read(f, t, &err), RT_OK, "%s", err.msg);
    tu_tmpdir_remove(dir);
}

/* BitCast between int4 and uint4 (held widened in wafer), by hand (onnxruntime 1.30 has no
 * BitCast kernel for 4-bit types): int4 -> uint4 keeps the nibble (-8 = 1000 -> 8, -1 ->
 * 15), uint4 -> int4 sign-extends it (15 -> -1, 9 = 1001 -> -7, 8 -> -8). */
Test(onnx_opset26, bitcast_int4_uint4_by_hand) {
    Onnx__GraphProto *g = pb_graph("g");
    int si[5] = {-8, -1, 0, 7, 3}, ui[5] = {15, 9, 0, 8, 7};
    init_4bit(g, "s4", 22, 5, si);
    init_4bit(g, "u4", 21, 5, ui);
    pb_attr_int(pb_add_node(g, pb_node("BitCast", "b1", "s4", "su")), "to", 21);
    pb_attr_int(pb_add_node(g, pb_node("BitCast", "b2", "u4", "us")), "to", 22);
    pb_add_output(g, pb_value("su", 21, "5"));
    pb_add_output(g, pb_value("us", 22, "5"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 13, 26, "test_onnx_opset26", &len);
    RtTensor su, us;
    run_wafer(m, len, "su", &su);
    run_wafer(m, len, "us", &us);
    const uint8_t wsu[5] = {8, 15, 0, 7, 3};
    const int8_t wus[5] = {-1, -7, 0, -8, 7};
    cr_assert(su.dtype == RT_U8 && us.dtype == RT_I8, "dtypes %d %d", (int)su.dtype, (int)us.dtype);
    for (int i = 0; i < 5; i++) {
        cr_expect_eq(((uint8_t *)su.data)[i], wsu[i], "su[%d] = %d", i, ((uint8_t *)su.data)[i]);
        cr_expect_eq(((int8_t *)us.data)[i], wus[i], "us[%d] = %d", i, ((int8_t *)us.data)[i]);
    }
    free(su.data);
    free(us.data);
}

/* The spec's CumProd example by hand: x = [1, 2, 3] -> [1, 2, 6]; exclusive [1, 1, 2];
 * reverse [6, 6, 3]; both [6, 3, 1]. */
Test(onnx_opset26, cumprod_spec_example_by_hand) {
    const float want[4][3] = {{1, 2, 6}, {1, 1, 2}, {6, 6, 3}, {6, 3, 1}};
    for (int k = 0; k < 4; k++) {
        Onnx__GraphProto *g = pb_graph("g");
        int64_t d = 3;
        float x[3] = {1, 2, 3};
        pb_tensor_floats(pb_add_init(g, pb_tensor("x", 1, 1, &d)), 3, x);
        init_i64(g, "ax", 0);
        Onnx__NodeProto *p = pb_add_node(g, pb_node("CumProd", "p", "x,ax", "y"));
        pb_attr_int(p, "exclusive", k & 1);
        pb_attr_int(p, "reverse", k >= 2);
        pb_add_output(g, pb_value("y", 1, "3"));
        size_t len;
        uint8_t *m = pb_model_pack(g, 13, 26, "test_onnx_opset26", &len);
        RtTensor y;
        run_wafer(m, len, "y", &y);
        for (int i = 0; i < 3; i++)
            cr_expect_eq(((float *)y.data)[i], want[k][i], "mode %d: y[%d] = %g, want %g", k, i, ((float *)y.data)[i],
                         want[k][i]);
        free(y.data);
    }
}

/* What wafer refuses in opset 26, by name with exit 2: BitCast between widths (float32 ->
 * int16), to bool from a byte that is not 0 or 1, an int8 value that is no int4 BitCast to
 * uint4; emit-c of a BitCast to bool (the emitted C could not report a bad byte); opset 27. */
Test(onnx_opset26, bitcast_misuse_and_opset27_refused_by_name) {
    const char *want[5] = {"BitCast from float32 (32 bits) to int16 (16 bits): the widths must be equal",
                           "BitCast to bool: input element 1 = 2 is not 0 or 1",
                           "BitCast to uint4: input element 0 = 9 is not a 4-bit signed value",
                           "BitCast to bool: emit-c cannot check the bytes",
                           "default-domain opset 27 is not supported (accepted: 1 to 26)"};
    for (int k = 0; k < 5; k++) {
        Onnx__GraphProto *g = pb_graph("g");
        int64_t d = 2;
        float f[2] = {1, 2};
        uint8_t u[2] = {1, 2};
        int8_t c[2] = {9, 1};
        if (k == 0 || k >= 3) pb_tensor_floats(pb_add_init(g, pb_tensor("x", 1, 1, &d)), 2, f);
        if (k == 1) pb_tensor_raw(pb_add_init(g, pb_tensor("x", RT_U8, 1, &d)), u, 2);
        if (k == 2) pb_tensor_raw(pb_add_init(g, pb_tensor("x", RT_I8, 1, &d)), c, 2);
        int to = k == 0 ? RT_I16 : k == 1 || k == 3 ? RT_BOOL : k == 2 ? 21 : RT_I32;
        pb_attr_int(pb_add_node(g, pb_node("BitCast", "b", k == 3 ? "xin" : "x", "y")), "to", to);
        if (k == 3) pb_add_input(g, pb_value("xin", RT_U8, "2"));
        pb_add_output(g, pb_value("y", to, "2"));
        size_t len;
        uint8_t *m = pb_model_pack(g, 13, k == 4 ? 27 : 26, "test_onnx_opset26", &len);
        char dir[256], path[300], log[8192];
        cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_op26_bad"), 0);
        snprintf(path, sizeof path, "%s/m.onnx", dir);
        FILE *fp = fopen(path, "wb");
        cr_assert(fp && fwrite(m, 1, len, fp) == len && fclose(fp) == 0);
        int rc = k == 3 ? tu_run(log, sizeof log, WAFER_BIN " emit-c %s -o %s/c --weights f32", path, dir)
                        : tu_run(log, sizeof log, WAFER_BIN " run %s --out %s/o", path, dir);
        cr_expect_eq(rc, 2, "case %d: exit %d, want 2:\n%s", k, rc, log);
        cr_expect(strstr(log, want[k]) != NULL, "case %d: message lacks '%s':\n%s", k, want[k], log);
        tu_tmpdir_remove(dir);
    }
}
