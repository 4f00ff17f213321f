/*
 * test_emit_ops.c — emit-c's kernels one op at a time, on options the fixtures do not reach:
 * a one-node graph is built in the IR with random inputs and constants, emitted, compiled
 * with gcc -pedantic, run by the harness, and compared with the runtime's reference kernels
 * on the same graph: integer outputs bit for bit, float within OPS_FLOAT_REL_TOL.
 * Covered: Dropout with training_mode at run time (exit 1 when it would be random); MatMul (2-D B and batched), Transpose, LayerNormalization, Gather (int64 and
 * int32 indices, negative ones; an index out of range makes NAME_run return 1); Abs, Neg, Reciprocal, Softsign, HardSwish, LeakyRelu, ThresholdedRelu,
 * HardSigmoid, Clip with constant bounds, Gelu (erf and tanh); Conv (groups, strides, asymmetric pads, dilations, bias) and FusedConv with Clip;
 * MaxPool and AveragePool (pads, strides, dilations, ceil_mode, count_include_pad; 1-D to 3-D, int8/uint8 max);
 * Sub/Mul/Div with a scalar, Add broadcast; Concat; QConv and QLinear with per-channel scales, zero points,
 * qmin/qmax and multipliers above 1; QAdd with unequal scales, also broadcast; QMul broadcast; QConcat (copy and
 * requantize); QAveragePool with pads; QGlobalAveragePool;
 * QuantizeLinear per axis and uint8; DequantizeLinear blocked and uint8; LinearNBits with 3-bit codes, groups
 * that do not divide K and an act-order g_idx; Linear and LinearNBits with a fused Gelu (both forms).
 */
#include "emitc_oneop.h"

#include "../../runtime/kernels/qblock.h"

static void pool_case(int op, int include_pad, const char *what) {
    OneOp *o = op_new();
    int64_t xd[4] = {1, 3, 6, 7};
    int in[1] = {op_input(o, "x", RT_F32, 4, xd)};
    int k = op_node(o, op, 1, in);
    RtAttr *a = attrs_new(o, k, op == RT_OP_AVERAGE_POOL ? 5 : 5);
    a[0] = attr_ints(o, "kernel_shape", 2, (int64_t[]){3, 2});
    a[1] = attr_ints(o, "strides", 2, (int64_t[]){2, 2});
    a[2] = attr_ints(o, "pads", 4, (int64_t[]){1, 1, 1, 0});
    a[3] = attr_int(o, "ceil_mode", 1);
    a[4] = op == RT_OP_AVERAGE_POOL ? attr_int(o, "count_include_pad", include_pad)
                                    : attr_ints(o, "dilations", 2, (int64_t[]){1, 2});
    op_check(o, what);
}

Test(emit_ops, pools) {
    pool_case(RT_OP_MAX_POOL, 0, "MaxPool");
    pool_case(RT_OP_AVERAGE_POOL, 0, "AveragePool");
    pool_case(RT_OP_AVERAGE_POOL, 1, "AveragePool count_include_pad");
}

/* The N-D pool kernels (k_maxpool3_*, k_avgpool3_f32): 3-D windows with ceil_mode,
 * dilations and asymmetric pads, int8 and uint8 max, count_include_pad. */
static void pool3_case(int op, RtDtype dt, int rank, int include_pad, const char *what) {
    OneOp *o = op_new();
    int64_t xd[5] = {2, 2, 5, 6, 7};
    int in[1] = {op_input(o, "x", dt, rank, xd)};
    int k = op_node(o, op, 1, in), nsp = rank - 2;
    RtAttr *a = attrs_new(o, k, 5);
    a[0] = attr_ints(o, "kernel_shape", nsp, (int64_t[]){3, 2, 3});
    a[1] = attr_ints(o, "strides", nsp, (int64_t[]){2, 1, 2});
    a[2] = attr_ints(o, "pads", 2 * nsp, nsp == 3 ? (int64_t[]){1, 0, 1, 1, 1, 0} : (int64_t[]){1, 0});
    a[3] = attr_int(o, "ceil_mode", 1);
    a[4] = op == RT_OP_AVERAGE_POOL ? attr_int(o, "count_include_pad", include_pad)
                                    : attr_ints(o, "dilations", nsp, (int64_t[]){1, 2, 1});
    op_check(o, what);
}

Test(emit_ops, pools_nd) {
    pool3_case(RT_OP_MAX_POOL, RT_F32, 5, 0, "MaxPool 3-D float");
    pool3_case(RT_OP_MAX_POOL, RT_I8, 5, 0, "MaxPool 3-D int8");
    pool3_case(RT_OP_MAX_POOL, RT_U8, 3, 0, "MaxPool 1-D uint8");
    pool3_case(RT_OP_AVERAGE_POOL, RT_F32, 5, 0, "AveragePool 3-D");
    pool3_case(RT_OP_AVERAGE_POOL, RT_F32, 5, 1, "AveragePool 3-D count_include_pad");
}

Test(emit_ops, binary_and_concat) {
    int ops[] = {RT_OP_SUB, RT_OP_MUL, RT_OP_DIV};
    for (int i = 0; i < 3; i++) {
        OneOp *o = op_new();
        int64_t xd[2] = {3, 5}, sd[1] = {1};
        int in[2] = {op_input(o, "x", RT_F32, 2, xd), op_const(o, "s", RT_F32, 1, sd, (float[]){0.75f})};
        op_node(o, ops[i], 2, in);
        op_check(o, rt_op_name(ops[i]));
    }
    /* numpy broadcasting: [2, 3, 4] + [3, 1] */
    OneOp *ob = op_new();
    int64_t xd3[3] = {2, 3, 4}, cd[2] = {3, 1};
    int bin[2] = {op_input(ob, "x", RT_F32, 3, xd3), op_const(ob, "c", RT_F32, 2, cd, NULL)};
    op_node(ob, RT_OP_ADD, 2, bin);
    op_check(ob, "Add broadcast");
    OneOp *o = op_new();
    int64_t ad[3] = {2, 3, 4}, bd[3] = {2, 2, 4};
    int in[2] = {op_input(o, "a", RT_F32, 3, ad), op_const(o, "b", RT_F32, 3, bd, NULL)};
    int k = op_node(o, RT_OP_CONCAT, 2, in);
    attrs_new(o, k, 1)[0] = attr_int(o, "axis", 1);
    op_check(o, "Concat");
}

/* The elementwise float ops emitted as loops, with their attributes and Clip's inputs. */
Test(emit_ops, unary_float) {
    int ops[] = {RT_OP_ABS, RT_OP_NEG, RT_OP_RECIPROCAL, RT_OP_SOFTSIGN, RT_OP_HARD_SWISH, RT_OP_LEAKY_RELU,
                 RT_OP_THRESHOLDED_RELU, RT_OP_HARD_SIGMOID, RT_OP_CLIP, RT_OP_GELU, RT_OP_GELU, RT_OP_RELU};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        OneOp *o = op_new();
        int64_t xd[2] = {4, 9}, one[1] = {1};
        int in[3] = {op_input(o, "x", RT_F32, 2, xd), -1, -1};
        int n_in = 1;
        if (ops[i] == RT_OP_CLIP) {
            in[1] = op_const(o, "lo", RT_F32, 1, one, (float[]){-0.3f});
            in[2] = op_const(o, "hi", RT_F32, 1, one, (float[]){0.45f});
            n_in = 3;
        }
        int k = op_node(o, ops[i], n_in, in);
        if (ops[i] == RT_OP_LEAKY_RELU || ops[i] == RT_OP_THRESHOLDED_RELU) attrs_new(o, k, 1)[0] = attr_float(o, "alpha", 0.2f);
        if (ops[i] == RT_OP_HARD_SIGMOID) {
            RtAttr *a = attrs_new(o, k, 2);
            a[0] = attr_float(o, "alpha", 0.7f);
            a[1] = attr_float(o, "beta", 0.4f);
        }
        if (ops[i] == RT_OP_GELU && i == 10) attrs_new(o, k, 1)[0] = attr_str(o, "approximate", "tanh");
        op_check(o, rt_op_name(ops[i]));
    }
}

Test(emit_ops, matmul_transpose) {
    OneOp *o = op_new();
    int64_t ad[3] = {2, 3, 5}, bd[2] = {5, 4}, bb[3] = {2, 5, 4};
    int in[2] = {op_input(o, "a", RT_F32, 3, ad), op_const(o, "b", RT_F32, 2, bd, NULL)};
    op_node(o, RT_OP_MATMUL, 2, in);
    op_check(o, "MatMul [2,3,5] x [5,4]");
    o = op_new();
    int bin[2] = {op_input(o, "a", RT_F32, 3, ad), op_input(o, "b", RT_F32, 3, bb)};
    op_node(o, RT_OP_MATMUL, 2, bin);
    op_check(o, "MatMul batched");
    RtDtype dts[2] = {RT_F32, RT_I8};
    for (int i = 0; i < 2; i++) {
        o = op_new();
        int64_t xd[3] = {2, 3, 4};
        int tin[1] = {op_input(o, "x", dts[i], 3, xd)};
        int k = op_node(o, RT_OP_TRANSPOSE, 1, tin);
        attrs_new(o, k, 1)[0] = attr_ints(o, "perm", 3, (int64_t[]){2, 0, 1});
        op_check(o, i ? "Transpose int8" : "Transpose");
    }
}

Test(emit_ops, layer_norm_gather) {
    OneOp *o = op_new();
    int64_t xd[3] = {2, 3, 16}, sd[1] = {16};
    int in[3] = {op_input(o, "x", RT_F32, 3, xd), op_const(o, "s", RT_F32, 1, sd, NULL), op_const(o, "b", RT_F32, 1, sd, NULL)};
    int k = op_node(o, RT_OP_LAYER_NORMALIZATION, 3, in);
    attrs_new(o, k, 1)[0] = attr_float(o, "epsilon", 1e-3f);
    op_check(o, "LayerNormalization");
    /* an embedding: int64 indices (one negative) into [10, 6] along axis 0; then int32
     * indices along axis 1 of an int8 tensor */
    o = op_new();
    int64_t ed[2] = {10, 6}, id[2] = {2, 3};
    int gin[2] = {op_const(o, "table", RT_F32, 2, ed, NULL), op_input(o, "i", RT_I64, 2, id)};
    op_node(o, RT_OP_GATHER, 2, gin);
    op_check(o, "Gather int64 indices");
    o = op_new();
    int64_t qd[3] = {2, 5, 3}, jd[1] = {4};
    int qin[2] = {op_input(o, "x", RT_I8, 3, qd), op_const(o, "j", RT_I32, 1, jd, (int32_t[]){4, 0, -2, 1})};
    k = op_node(o, RT_OP_GATHER, 2, qin);
    attrs_new(o, k, 1)[0] = attr_int(o, "axis", 1);
    op_check(o, "Gather int32 indices, axis 1");
}

/* An index out of range: NAME_run returns 1 instead of reading outside the table. */
/* Dropout-12 with training_mode and ratio given at run time: training with ratio > 0 would be
 * random, which the C refuses as the runtime does (NAME_run returns 1); otherwise y = x. */
Test(emit_ops, dropout_training_mode_at_run_time) {
    char dir[256], log[8192], path[600];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "emitc_dropout"), 0);
    OneOp *o = op_new();
    int64_t xd[1] = {4};
    int din[3] = {op_input(o, "x", RT_F32, 1, xd), op_input(o, "ratio", RT_F32, 0, xd), op_input(o, "train", RT_BOOL, 0, xd)};
    op_node(o, RT_OP_DROPOUT, 3, din);
    RtError err = {{0}};
    EmitCOptions eo = {"model", 0, "test", "test", "test", 0};
    cr_assert_eq(emit_c_write(o->g, &eo, dir, NULL, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(ecu_compile("gcc", "-O2", dir, "h", log, sizeof log), 0, "%s", log);
    const float x[4] = {1.5f, -2, 3, 0.25f}, half = 0.5f, zero = 0;
    const unsigned char on = 1, off = 0;
    const struct {
        const float *ratio;
        const unsigned char *train;
        int status;
    } runs[] = {{&half, &on, 1}, {&zero, &on, 0}, {&half, &off, 0}};
    snprintf(path, sizeof path, "%s/x.bin", dir);
    ecu_raw_write(path, x, sizeof x);
    for (int r = 0; r < 3; r++) {
        snprintf(path, sizeof path, "%s/r.bin", dir);
        ecu_raw_write(path, runs[r].ratio, sizeof(float));
        snprintf(path, sizeof path, "%s/t.bin", dir);
        ecu_raw_write(path, runs[r].train, 1);
        int st = tu_run(log, sizeof log, "%s/h %s/x.bin %s/r.bin %s/t.bin %s/y.bin", dir, dir, dir, dir, dir);
        cr_expect_eq(st, runs[r].status, "run %d: exit %d: %s", r, st, log);
        if (st != 0) continue;
        snprintf(path, sizeof path, "%s/y.bin", dir);
        size_t n = 0;
        unsigned char *y = tu_file_read(path, &n);
        cr_expect(y && n == sizeof x && memcmp(y, x, sizeof x) == 0, "run %d: y is not x", r);
        free(y);
    }
    op_free(o);
    tu_tmpdir_remove(dir);
}

Test(emit_ops, gather_out_of_range_returns_1) {
    char dir[256], log[8192], path[600];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "emitc_gather"), 0);
    OneOp *o = op_new();
    int64_t ed[2] = {10, 6}, id[1] = {3};
    int gin[2] = {op_const(o, "table", RT_F32, 2, ed, NULL), op_input(o, "i", RT_I64, 1, id)};
    op_node(o, RT_OP_GATHER, 2, gin);
    RtError err = {{0}};
    EmitCOptions eo = {"model", 0, "test", "test", "test", 0};
    cr_assert_eq(emit_c_write(o->g, &eo, dir, NULL, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(ecu_compile("gcc", "-O2", dir, "h", log, sizeof log), 0, "%s", log);
    int64_t good[3] = {1, -10, 9}, bad[3] = {1, 10, 2};
    snprintf(path, sizeof path, "%s/good.bin", dir);
    ecu_raw_write(path, good, sizeof good);
    snprintf(path, sizeof path, "%s/bad.bin", dir);
    ecu_raw_write(path, bad, sizeof bad);
    cr_expect_eq(tu_run(log, sizeof log, "%s/h %s/good.bin %s/y.bin", dir, dir, dir), 0, "%s", log);
    cr_expect_eq(tu_run(log, sizeof log, "%s/h %s/bad.bin %s/y.bin", dir, dir, dir), 1, "index 10 of 10: %s", log);
    op_free(o);
    tu_tmpdir_remove(dir);
}

/* QConv / QLinear: per-channel scales chosen so some multipliers exceed 1, zero points,
 * a narrowed output range. */
static void qlinear_case(int conv) {
    OneOp *o = op_new();
    int64_t one[1] = {1}, M = 6, md[1] = {6};
    float ws[6] = {0.02f, 0.5f, 0.001f, 3.0f, 0.07f, 0.9f};
    int8_t wz[6] = {0, 3, -2, 0, 1, -1};
    int x;
    int64_t wd[4] = {M, 2, 2, 3}, xd[4] = {1, 4, 5, 6}, ld[2] = {3, 7}, lw[2] = {M, 7};
    x = conv ? op_input(o, "x", RT_I8, 4, xd) : op_input(o, "x", RT_I8, 2, ld);
    int in[9] = {x,
                 op_const(o, "xs", RT_F32, 1, one, (float[]){0.05f}),
                 op_const(o, "xz", RT_I8, 1, one, (int8_t[]){-7}),
                 conv ? op_const(o, "w", RT_I8, 4, wd, NULL) : op_const(o, "w", RT_I8, 2, lw, NULL),
                 op_const(o, "ws", RT_F32, 1, md, ws),
                 op_const(o, "wz", RT_I8, 1, md, wz),
                 op_const(o, "ys", RT_F32, 1, one, (float[]){0.01f}),
                 op_const(o, "yz", RT_I8, 1, one, (int8_t[]){4}),
                 op_const(o, "b", RT_I32, 1, md, NULL)};
    int k = op_node(o, conv ? RT_OP_QCONV : RT_OP_QLINEAR, 9, in);
    RtAttr *a = attrs_new(o, k, conv ? 5 : 2);
    a[0] = attr_int(o, "qmin", -100);
    a[1] = attr_int(o, "qmax", 90);
    if (conv) {
        a[2] = attr_int(o, "group", 2);
        a[3] = attr_ints(o, "pads", 4, (int64_t[]){0, 1, 1, 2});
        a[4] = attr_ints(o, "strides", 2, (int64_t[]){1, 2});
    }
    op_check(o, conv ? "QConv" : "QLinear");
}

Test(emit_ops, qconv_qlinear) {
    qlinear_case(1);
    qlinear_case(0);
}

Test(emit_ops, qadd_qgap) {
    OneOp *o = op_new();
    int64_t d[4] = {1, 3, 4, 5}, one[1] = {1};
    int in[8] = {op_input(o, "a", RT_I8, 4, d), op_const(o, "as", RT_F32, 1, one, (float[]){0.03f}),
                 op_const(o, "az", RT_I8, 1, one, (int8_t[]){5}), op_input(o, "b", RT_I8, 4, d),
                 op_const(o, "bs", RT_F32, 1, one, (float[]){0.011f}), op_const(o, "bz", RT_I8, 1, one, (int8_t[]){-9}),
                 op_const(o, "ys", RT_F32, 1, one, (float[]){0.04f}), op_const(o, "yz", RT_I8, 1, one, (int8_t[]){2})};
    op_node(o, RT_OP_QADD, 8, in);
    op_check(o, "QAdd");
    /* a per-channel operand [1, 3, 1, 1] broadcast over the planes, on the left */
    o = op_new();
    int64_t cd[4] = {1, 3, 1, 1};
    int bin[8] = {op_input(o, "a", RT_I8, 4, cd), op_const(o, "as", RT_F32, 1, one, (float[]){0.2f}),
                  op_const(o, "az", RT_I8, 1, one, (int8_t[]){0}), op_input(o, "b", RT_I8, 4, d),
                  op_const(o, "bs", RT_F32, 1, one, (float[]){0.011f}), op_const(o, "bz", RT_I8, 1, one, (int8_t[]){-9}),
                  op_const(o, "ys", RT_F32, 1, one, (float[]){0.3f}), op_const(o, "yz", RT_I8, 1, one, (int8_t[]){2})};
    op_node(o, RT_OP_QADD, 8, bin);
    op_check(o, "QAdd broadcast");
    o = op_new();
    int gin[5] = {op_input(o, "x", RT_I8, 4, d), op_const(o, "xs", RT_F32, 1, one, (float[]){0.03f}),
                  op_const(o, "xz", RT_I8, 1, one, (int8_t[]){5}), op_const(o, "ys", RT_F32, 1, one, (float[]){0.007f}),
                  op_const(o, "yz", RT_I8, 1, one, (int8_t[]){-3})};
    op_node(o, RT_OP_QGLOBAL_AVERAGE_POOL, 5, gin);
    op_check(o, "QGlobalAveragePool");
}

Test(emit_ops, qmul_qconcat_qavgpool) {
    int64_t d[4] = {1, 3, 4, 5}, cd[4] = {1, 1, 4, 1}, one[1] = {1};
    OneOp *o = op_new();
    int in[8] = {op_input(o, "a", RT_I8, 4, d), op_const(o, "as", RT_F32, 1, one, (float[]){0.05f}),
                 op_const(o, "az", RT_I8, 1, one, (int8_t[]){3}), op_input(o, "b", RT_I8, 4, cd),
                 op_const(o, "bs", RT_F32, 1, one, (float[]){0.02f}), op_const(o, "bz", RT_I8, 1, one, (int8_t[]){-4}),
                 op_const(o, "ys", RT_F32, 1, one, (float[]){0.09f}), op_const(o, "yz", RT_I8, 1, one, (int8_t[]){1})};
    op_node(o, RT_OP_QMUL, 8, in);
    op_check(o, "QMul broadcast");
    /* QConcat on axis 2: the first input shares the output's parameters (a copy), the
     * second is requantized */
    o = op_new();
    int64_t bd[4] = {1, 3, 2, 5};
    int cin[8] = {op_const(o, "ys", RT_F32, 1, one, (float[]){0.05f}), op_const(o, "yz", RT_I8, 1, one, (int8_t[]){3}),
                  op_input(o, "a", RT_I8, 4, d), op_const(o, "as", RT_F32, 1, one, (float[]){0.05f}),
                  op_const(o, "az", RT_I8, 1, one, (int8_t[]){3}), op_input(o, "b", RT_I8, 4, bd),
                  op_const(o, "bs", RT_F32, 1, one, (float[]){0.13f}), op_const(o, "bz", RT_I8, 1, one, (int8_t[]){-6})};
    int k = op_node(o, RT_OP_QCONCAT, 8, cin);
    attrs_new(o, k, 1)[0] = attr_int(o, "axis", 2);
    op_check(o, "QConcat");
    for (int inc = 0; inc < 2; inc++) {
        o = op_new();
        int64_t xd[4] = {1, 2, 6, 7};
        int pin[5] = {op_input(o, "x", RT_I8, 4, xd), op_const(o, "xs", RT_F32, 1, one, (float[]){0.03f}),
                      op_const(o, "xz", RT_I8, 1, one, (int8_t[]){-5}), op_const(o, "ys", RT_F32, 1, one, (float[]){0.02f}),
                      op_const(o, "yz", RT_I8, 1, one, (int8_t[]){7})};
        k = op_node(o, RT_OP_QAVERAGE_POOL, 5, pin);
        RtAttr *a = attrs_new(o, k, 4);
        a[0] = attr_ints(o, "kernel_shape", 2, (int64_t[]){3, 3});
        a[1] = attr_ints(o, "strides", 2, (int64_t[]){2, 2});
        a[2] = attr_ints(o, "pads", 4, (int64_t[]){1, 1, 1, 1});
        a[3] = attr_int(o, "count_include_pad", inc);
        op_check(o, inc ? "QAveragePool count_include_pad" : "QAveragePool");
    }
}

Test(emit_ops, quantize_per_axis_dequantize_blocked) {
    OneOp *o = op_new();
    int64_t d[3] = {2, 3, 4}, ad[1] = {3};
    int in[3] = {op_input(o, "x", RT_F32, 3, d), op_const(o, "s", RT_F32, 1, ad, (float[]){0.01f, 0.003f, 0.2f}),
                 op_const(o, "z", RT_I8, 1, ad, (int8_t[]){0, -5, 7})};
    int k = op_node(o, RT_OP_QUANTIZE_LINEAR, 3, in);
    attrs_new(o, k, 1)[0] = attr_int(o, "axis", 1);
    op_check(o, "QuantizeLinear per axis");
    /* uint8, as onnxruntime's QDQ models quantize activations: per tensor, then back */
    o = op_new();
    int64_t one[1] = {1};
    int uin[3] = {op_input(o, "x", RT_F32, 3, d), op_const(o, "s", RT_F32, 1, one, (float[]){0.007f}),
                  op_const(o, "z", RT_U8, 1, one, (uint8_t[]){128})};
    op_node(o, RT_OP_QUANTIZE_LINEAR, 3, uin);
    op_check(o, "QuantizeLinear uint8");
    o = op_new();
    int vin_[3] = {op_input(o, "x", RT_U8, 3, d), op_const(o, "s", RT_F32, 1, one, (float[]){0.007f}),
                   op_const(o, "z", RT_U8, 1, one, (uint8_t[]){120})};
    op_node(o, RT_OP_DEQUANTIZE_LINEAR, 3, vin_);
    op_check(o, "DequantizeLinear uint8");
    o = op_new();
    int64_t xd[2] = {3, 10}, sd[2] = {3, 4};
    int din[3] = {op_input(o, "x", RT_I8, 2, xd), op_const(o, "s", RT_F32, 2, sd, NULL), op_const(o, "z", RT_I8, 2, sd, NULL)};
    k = op_node(o, RT_OP_DEQUANTIZE_LINEAR, 3, din);
    RtAttr *a = attrs_new(o, k, 2);
    a[0] = attr_int(o, "axis", 1);
    a[1] = attr_int(o, "block_size", 3);
    op_check(o, "DequantizeLinear blocked");
    /* output_dtype int4 / uint4 (opset 21), held widened: saturates to -8..7 / 0..15 */
    for (int u = 0; u < 2; u++) {
        o = op_new();
        int qin[3] = {op_input(o, "x", RT_F32, 3, d), op_const(o, "s", RT_F32, 1, ad, (float[]){0.01f, 0.003f, 0.2f}),
                      u ? op_const(o, "z", RT_U8, 1, ad, (uint8_t[]){0, 8, 15}) : op_const(o, "z", RT_I8, 1, ad, (int8_t[]){0, -5, 7})};
        k = op_node(o, RT_OP_QUANTIZE_LINEAR, 3, qin);
        a = attrs_new(o, k, 2);
        a[0] = attr_int(o, "axis", 1);
        a[1] = attr_int(o, "output_dtype", u ? 21 : 22);
        op_check(o, u ? "QuantizeLinear uint4" : "QuantizeLinear int4");
    }
}

/* LinearNBits: 3-bit codes, K = 45 (a short last block), groups of 10 through an act-order
 * g_idx, bias and Relu. */
Test(emit_ops, linear_nbits_3bit_act_order) {
    OneOp *o = op_new();
    enum { K = 45, N = 6, G = 10, NG = 5 };
    uint8_t codes[N * K], zeros[N * NG];
    int32_t gidx[K];
    float scales[N * NG];
    uint64_t s = 99;
    for (int i = 0; i < N * K; i++) codes[i] = (uint8_t)(lcg(&s) % 8);
    for (int i = 0; i < N * NG; i++) zeros[i] = (uint8_t)(lcg(&s) % 8), scales[i] = 0.01f + (float)(lcg(&s) % 100) / 1000.0f;
    for (int k = 0; k < K; k++) gidx[k] = (int32_t)((k * 7) % K / G);
    size_t pb = rt_qblock_packed_size(3, N, K);
    uint8_t *packed = malloc(pb);
    cr_assert_eq(rt_qblock_pack(3, N, K, codes, packed, pb), 0);
    int64_t xd[2] = {2, K}, pd[1] = {(int64_t)pb}, sd[2] = {N, NG}, gd[1] = {K}, bd[1] = {N};
    int in[6] = {op_input(o, "x", RT_F32, 2, xd), op_const(o, "wp", RT_U8, 1, pd, packed),
                 op_const(o, "sc", RT_F32, 2, sd, scales), op_const(o, "zs", RT_U8, 2, sd, zeros),
                 op_const(o, "gi", RT_I32, 1, gd, gidx), op_const(o, "b", RT_F32, 1, bd, NULL)};
    free(packed);
    int k = op_node(o, RT_OP_LINEAR_NBITS, 6, in);
    RtAttr *a = attrs_new(o, k, 3);
    a[0] = attr_int(o, "bits", 3);
    a[1] = attr_int(o, "group", G);
    a[2] = attr_str(o, "activation", "Relu");
    op_check(o, "LinearNBits 3-bit act-order");
}

/* Linear (float weights) and LinearNBits (4-bit codes) with a fused Gelu / GeluTanh: the
 * emitted wk_act computes the reference's formula (K = 33: outputs reach past +-3, where both
 * of Gelu's tails matter). */
Test(emit_ops, linear_fused_gelu_both_forms) {
    static const char *acts[2] = {"Gelu", "GeluTanh"};
    for (int i = 0; i < 2; i++) {
        OneOp *o = op_new();
        int64_t xd[2] = {3, 33}, wd[2] = {33, 17}, bd[1] = {17};
        int in[3] = {op_input(o, "x", RT_F32, 2, xd), op_const(o, "w", RT_F32, 2, wd, NULL),
                     op_const(o, "b", RT_F32, 1, bd, NULL)};
        int k = op_node(o, RT_OP_LINEAR, 3, in);
        attrs_new(o, k, 1)[0] = attr_str(o, "activation", acts[i]);
        op_check(o, acts[i]);
    }
    for (int i = 0; i < 2; i++) {
        OneOp *o = op_new();
        enum { K = 64, N = 5, G = 32, NG = 2 };
        uint8_t codes[N * K], zeros[N * NG];
        float scales[N * NG];
        uint64_t s = 7 + (uint64_t)i;
        for (int j = 0; j < N * K; j++) codes[j] = (uint8_t)(lcg(&s) % 16);
        for (int j = 0; j < N * NG; j++) zeros[j] = (uint8_t)(lcg(&s) % 16), scales[j] = 0.05f + (float)(lcg(&s) % 100) / 1000.0f;
        size_t pb = rt_qblock_packed_size(4, N, K);
        uint8_t *packed = malloc(pb);
        cr_assert_eq(rt_qblock_pack(4, N, K, codes, packed, pb), 0);
        int64_t xd[2] = {2, K}, pd[1] = {(int64_t)pb}, sd[2] = {N, NG};
        int in[4] = {op_input(o, "x", RT_F32, 2, xd), op_const(o, "wp", RT_U8, 1, pd, packed),
                     op_const(o, "sc", RT_F32, 2, sd, scales), op_const(o, "zs", RT_U8, 2, sd, zeros)};
        free(packed);
        int k = op_node(o, RT_OP_LINEAR_NBITS, 4, in);
        RtAttr *a = attrs_new(o, k, 3);
        a[0] = attr_int(o, "bits", 4);
        a[1] = attr_int(o, "group", G);
        a[2] = attr_str(o, "activation", acts[i]);
        op_check(o, acts[i]);
    }
}

Test(emit_ops, conv_groups_strides_pads_dilations) {
    OneOp *o = op_new();
    int64_t xd[4] = {2, 4, 7, 9}, wd[4] = {6, 2, 3, 3}, bd[1] = {6};
    int in[3] = {op_input(o, "x", RT_F32, 4, xd), op_const(o, "w", RT_F32, 4, wd, NULL), op_const(o, "b", RT_F32, 1, bd, NULL)};
    int k = op_node(o, RT_OP_CONV, 3, in);
    RtAttr *a = attrs_new(o, k, 4);
    a[0] = attr_int(o, "group", 2);
    a[1] = attr_ints(o, "strides", 2, (int64_t[]){2, 1});
    a[2] = attr_ints(o, "pads", 4, (int64_t[]){1, 0, 2, 1});
    a[3] = attr_ints(o, "dilations", 2, (int64_t[]){1, 2});
    op_check(o, "Conv");
}

Test(emit_ops, fused_conv_clip_depthwise_same_upper) {
    OneOp *o = op_new();
    int64_t xd[4] = {1, 3, 6, 5}, wd[4] = {3, 1, 3, 2};
    int in[2] = {op_input(o, "x", RT_F32, 4, xd), op_const(o, "w", RT_F32, 4, wd, NULL)};
    int k = op_node(o, RT_OP_FUSED_CONV, 2, in);
    RtAttr *a = attrs_new(o, k, 6);
    a[0] = attr_int(o, "group", 3);
    a[1] = attr_str(o, "auto_pad", "SAME_UPPER");
    a[2] = attr_ints(o, "strides", 2, (int64_t[]){2, 2});
    a[3] = attr_str(o, "activation", "Clip");
    a[4] = attr_float(o, "alpha", -0.25f);
    a[5] = attr_float(o, "beta", 0.3f);
    op_check(o, "FusedConv depthwise SAME_UPPER with Clip");
}

/* 3-D windows (x [N, C, D, H, W]): k_conv3_f32 on the runtime's geometry; groups, strides,
 * asymmetric pads, dilations, and FusedConv's LeakyRelu with SAME_LOWER. */
Test(emit_ops, conv3d_groups_strides_pads_dilations) {
    OneOp *o = op_new();
    int64_t xd[5] = {2, 4, 5, 6, 7}, wd[5] = {6, 2, 2, 3, 2}, bd[1] = {6};
    int in[3] = {op_input(o, "x", RT_F32, 5, xd), op_const(o, "w", RT_F32, 5, wd, NULL), op_const(o, "b", RT_F32, 1, bd, NULL)};
    int k = op_node(o, RT_OP_CONV, 3, in);
    RtAttr *a = attrs_new(o, k, 4);
    a[0] = attr_int(o, "group", 2);
    a[1] = attr_ints(o, "strides", 3, (int64_t[]){1, 2, 1});
    a[2] = attr_ints(o, "pads", 6, (int64_t[]){1, 0, 2, 0, 1, 1});
    a[3] = attr_ints(o, "dilations", 3, (int64_t[]){2, 1, 2});
    op_check(o, "Conv 3-D");
}

Test(emit_ops, fused_conv3d_leaky_relu_same_lower) {
    OneOp *o = op_new();
    int64_t xd[5] = {1, 3, 4, 5, 3}, wd[5] = {2, 3, 3, 2, 2};
    int in[2] = {op_input(o, "x", RT_F32, 5, xd), op_const(o, "w", RT_F32, 5, wd, NULL)};
    int k = op_node(o, RT_OP_FUSED_CONV, 2, in);
    RtAttr *a = attrs_new(o, k, 4);
    a[0] = attr_str(o, "auto_pad", "SAME_LOWER");
    a[1] = attr_ints(o, "strides", 3, (int64_t[]){2, 2, 1});
    a[2] = attr_str(o, "activation", "LeakyRelu");
    a[3] = attr_float(o, "alpha", 0.1f);
    op_check(o, "FusedConv 3-D SAME_LOWER with LeakyRelu");
}
