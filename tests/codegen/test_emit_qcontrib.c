/*
 * test_emit_qcontrib.c — emit-c's onnxruntime quantized com.microsoft ops
 * (codegen/emit_ops_qcontrib.c) one node at a time against the runtime's reference kernels
 * (which follow onnxruntime's arithmetic and were checked against onnxruntime-node op by op):
 * integer outputs bit for bit. Covered: QLinearAdd with broadcasting (int8) and QLinearMul
 * (uint8) with zero points absent; QGemm with per-column b parameters, transB, an int32 C of
 * [N] and a uint8 output, and with transA, alpha, C of [M, 1] and a float output;
 * QLinearGlobalAveragePool NCHW and channels-last; QLinearAveragePool with pads, ceil_mode,
 * count_include_pad, channels-last; QLinearConcat with one input copied and one requantized;
 * QLinearLeakyRelu and QLinearSigmoid.
 */
#include "emitc_oneop.h"

static const int64_t one[1] = {1};

static int f32c(OneOp *o, const char *name, float v) { return op_const(o, name, RT_F32, 1, one, &v); }
static int i8c(OneOp *o, const char *name, int8_t v) { return op_const(o, name, RT_I8, 1, one, &v); }
static int u8c(OneOp *o, const char *name, uint8_t v) { return op_const(o, name, RT_U8, 1, one, &v); }

Test(emit_qcontrib, qlinear_add_mul) {
    OneOp *o = op_new();
    int64_t da[3] = {2, 3, 4}, db[1] = {4};
    int in[8] = {op_input(o, "a", RT_I8, 3, da), f32c(o, "as", 0.03f), i8c(o, "az", 5), op_input(o, "b", RT_I8, 1, db),
                 f32c(o, "bs", 0.011f), i8c(o, "bz", -9), f32c(o, "ys", 0.04f), i8c(o, "yz", 2)};
    op_node(o, RT_OP_QLINEAR_ADD, 8, in);
    op_check(o, "QLinearAdd int8, B broadcast");
    o = op_new();
    int64_t d[2] = {3, 5};
    int min[8] = {op_input(o, "a", RT_U8, 2, d), f32c(o, "as", 0.02f), -1, op_input(o, "b", RT_U8, 2, d),
                  f32c(o, "bs", 0.05f), u8c(o, "bz", 128), f32c(o, "ys", 0.3f), u8c(o, "yz", 10)};
    op_node(o, RT_OP_QLINEAR_MUL, 8, min);
    op_check(o, "QLinearMul uint8, A's zero point absent");
}

Test(emit_qcontrib, qgemm_quantized_and_float_outputs) {
    OneOp *o = op_new();
    int64_t da[2] = {3, 5}, db[2] = {4, 5}, dn[1] = {4};
    const float bs[4] = {0.01f, 0.02f, 0.005f, 0.03f};
    const int8_t bz[4] = {0, 3, -2, 1};
    const int32_t cb[4] = {100, -250, 7, 0};
    int in[9] = {op_input(o, "a", RT_U8, 2, da), f32c(o, "as", 0.04f), u8c(o, "az", 120),
                 op_const(o, "b", RT_I8, 2, db, NULL), op_const(o, "bs", RT_F32, 1, dn, bs),
                 op_const(o, "bz", RT_I8, 1, dn, bz), op_const(o, "c", RT_I32, 1, dn, cb), f32c(o, "ys", 0.1f),
                 u8c(o, "yz", 128)};
    int k = op_node(o, RT_OP_QGEMM, 9, in);
    RtAttr *a = attrs_new(o, k, 1);
    a[0] = attr_int(o, "transB", 1);
    op_check(o, "QGemm per-column b, transB, C [N], uint8 y");
    o = op_new();
    int64_t ta[2] = {5, 3}, tb[2] = {5, 4}, dc[2] = {3, 1};
    const int32_t cm[3] = {-40, 0, 90};
    int fin[7] = {op_input(o, "a", RT_I8, 2, ta), f32c(o, "as", 0.02f), i8c(o, "az", -3), op_input(o, "b", RT_I8, 2, tb),
                  f32c(o, "bs", 0.015f), i8c(o, "bz", 0), op_const(o, "c", RT_I32, 2, dc, cm)};
    k = op_node(o, RT_OP_QGEMM, 7, fin);
    a = attrs_new(o, k, 2);
    a[0] = attr_int(o, "transA", 1);
    a[1] = attr_float(o, "alpha", 0.5f);
    op_check(o, "QGemm transA, alpha, C [M, 1], float y");
}

static void qpool_case(int global, int cl, RtDtype dt, const char *what) {
    OneOp *o = op_new();
    int64_t nchw[4] = {2, 3, 5, 6}, nhwc[4] = {2, 5, 6, 3};
    int in[5] = {op_input(o, "x", dt, 4, cl ? nhwc : nchw), f32c(o, "xs", 0.03f),
                 dt == RT_I8 ? i8c(o, "xz", -4) : u8c(o, "xz", 131), f32c(o, "ys", 0.025f),
                 dt == RT_I8 ? i8c(o, "yz", 3) : u8c(o, "yz", 120)};
    int k = op_node(o, global ? RT_OP_QLINEAR_GLOBAL_AVERAGE_POOL : RT_OP_QLINEAR_AVERAGE_POOL, 5, in);
    RtAttr *a = attrs_new(o, k, global ? 1 : 6);
    a[0] = attr_int(o, "channels_last", cl);
    if (!global) {
        a[1] = attr_ints(o, "kernel_shape", 2, (int64_t[]){3, 2});
        a[2] = attr_ints(o, "strides", 2, (int64_t[]){2, 2});
        a[3] = attr_ints(o, "pads", 4, (int64_t[]){1, 1, 1, 0});
        a[4] = attr_int(o, "ceil_mode", 1);
        a[5] = attr_int(o, "count_include_pad", 1);
    }
    op_check(o, what);
}

Test(emit_qcontrib, qlinear_pools) {
    qpool_case(1, 0, RT_I8, "QLinearGlobalAveragePool int8");
    qpool_case(1, 1, RT_U8, "QLinearGlobalAveragePool uint8 channels_last");
    qpool_case(0, 0, RT_U8, "QLinearAveragePool uint8");
    qpool_case(0, 1, RT_I8, "QLinearAveragePool int8 channels_last");
}

Test(emit_qcontrib, qlinear_concat) {
    OneOp *o = op_new();
    int64_t d0[3] = {2, 3, 4}, d1[3] = {2, 2, 4};
    int in[8] = {f32c(o, "ys", 0.05f), i8c(o, "yz", 1),
                 op_input(o, "x0", RT_I8, 3, d0), f32c(o, "x0s", 0.05f), i8c(o, "x0z", 1), /* copied */
                 op_input(o, "x1", RT_I8, 3, d1), f32c(o, "x1s", 0.031f), i8c(o, "x1z", -7)};
    int k = op_node(o, RT_OP_QLINEAR_CONCAT, 8, in);
    RtAttr *a = attrs_new(o, k, 1);
    a[0] = attr_int(o, "axis", 1);
    op_check(o, "QLinearConcat");
}

Test(emit_qcontrib, qlinear_leaky_relu_sigmoid) {
    OneOp *o = op_new();
    int64_t d[2] = {4, 9};
    int in[5] = {op_input(o, "x", RT_I8, 2, d), f32c(o, "xs", 0.05f), i8c(o, "xz", 2), f32c(o, "ys", 0.04f), i8c(o, "yz", -1)};
    int k = op_node(o, RT_OP_QLINEAR_LEAKY_RELU, 5, in);
    RtAttr *a = attrs_new(o, k, 1);
    a[0] = attr_float(o, "alpha", 0.2f);
    op_check(o, "QLinearLeakyRelu");
    o = op_new();
    int sin[5] = {op_input(o, "x", RT_U8, 2, d), f32c(o, "xs", 0.06f), u8c(o, "xz", 128), f32c(o, "ys", 1.0f / 256),
                  u8c(o, "yz", 0)};
    op_node(o, RT_OP_QLINEAR_SIGMOID, 5, sin);
    op_check(o, "QLinearSigmoid");
}
