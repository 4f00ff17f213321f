/*
 * test_quant.c — hand-computed cases for the ONNX quantization kernels in
 * runtime/kernels/ref/quant.c: QuantizeLinear (ties to even at .5, saturation, int8 vs uint8,
 * per-axis, blocked, output_dtype), DequantizeLinear (per-axis, int32, float16 scale, blocked),
 * DynamicQuantizeLinear, QLinearConv (per-channel scales, bias), ConvInteger (padding reads
 * the zero point), MatMulInteger (per-row/per-column zero points, batch broadcast against a
 * naive loop), QLinearMatMul (per-column scale) and shape mode.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/kernels/kernel.h"
#include "rt_test_util.h"

static RtError err;

/* Runs op (opset) on in[n_in] (NULL = absent) into out[n_out]; returns the kernel's status. */
static int run(int op, int opset, RtTensor **in, int n_in, RtTensor *out, int n_out, RtAttr *attrs, int n_attr,
               int shape_only) {
    int slots_in[12], slots_out[3];
    RtTensor *outp[3];
    for (int i = 0; i < n_in; i++) slots_in[i] = in[i] ? i : -1;
    for (int i = 0; i < n_out; i++) {
        slots_out[i] = 20 + i;
        memset(&out[i], 0, sizeof out[i]);
        outp[i] = &out[i];
    }
    RtNode n = {op, "t", rt_op_name(op), "", opset, n_in, slots_in, n_out, slots_out, n_attr, attrs};
    RtKernelCtx c = {rt_allocator_default(), &err, shape_only, NULL, NULL};
    err.msg[0] = '\0';
    RtKernelFn fn = rt_kernel_find(op);
    cr_assert_not_null(fn, "no kernel for %s", rt_op_name(op));
    return fn(&c, &n, in, outp);
}

static void release(RtTensor *t, int n) {
    for (int i = 0; i < n; i++) free(t[i].data);
}

static const int64_t scalar_dims[1] = {0};

/* ---------------------------------------------------------------- QuantizeLinear */

Test(quantize_linear, ties_to_even_and_saturation_int8_vs_uint8) {
    const float x[] = {-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f, 1000.0f, -1000.0f};
    int64_t d[] = {8};
    float one = 1.0f;
    int8_t z8 = 0;
    uint8_t zu = 128;
    RtTensor tx = rtt_tensor_c(RT_F32, 1, d, x), ts = rtt_tensor_c(RT_F32, 0, scalar_dims, &one);
    RtTensor tz8 = rtt_tensor_c(RT_I8, 0, scalar_dims, &z8), tzu = rtt_tensor_c(RT_U8, 0, scalar_dims, &zu), out[1];
    RtTensor *in8[] = {&tx, &ts, &tz8}, *inu[] = {&tx, &ts, &tzu};
    cr_assert_eq(run(RT_OP_QUANTIZE_LINEAR, 13, in8, 3, out, 1, NULL, 0, 0), RT_OK, "%s", err.msg);
    const int8_t want8[] = {-2, -2, 0, 0, 2, 2, 127, -128};
    cr_assert_eq(out[0].dtype, RT_I8);
    cr_expect_arr_eq(out[0].data, want8, sizeof want8);
    release(out, 1);
    cr_assert_eq(run(RT_OP_QUANTIZE_LINEAR, 13, inu, 3, out, 1, NULL, 0, 0), RT_OK, "%s", err.msg);
    /* the tie is broken before the zero point is added */
    const uint8_t wantu[] = {126, 126, 128, 128, 130, 130, 255, 0};
    cr_assert_eq(out[0].dtype, RT_U8);
    cr_expect_arr_eq(out[0].data, wantu, sizeof wantu);
    release(out, 1);
}

Test(quantize_linear, default_is_uint8_with_zero_point_0) {
    const float x[] = {-1.0f, 3.5f, 0.75f};
    int64_t d[] = {3};
    float s = 0.5f;
    RtTensor tx = rtt_tensor_c(RT_F32, 1, d, x), ts = rtt_tensor_c(RT_F32, 0, scalar_dims, &s), out[1];
    RtTensor *in[] = {&tx, &ts};
    cr_assert_eq(run(RT_OP_QUANTIZE_LINEAR, 10, in, 2, out, 1, NULL, 0, 0), RT_OK, "%s", err.msg);
    const uint8_t want[] = {0, 7, 2}; /* 0.75 / 0.5 = 1.5 -> 2 */
    cr_assert_eq(out[0].dtype, RT_U8);
    cr_expect_arr_eq(out[0].data, want, sizeof want);
    release(out, 1);
}

Test(quantize_linear, per_axis) {
    const float x[] = {1, 2, 4, -8, 3, 10};
    const float s[] = {1, 2, 4};
    const int8_t z[] = {0, 1, -1};
    int64_t dx[] = {2, 3}, ds[] = {3};
    RtTensor tx = rtt_tensor_c(RT_F32, 2, dx, x), ts = rtt_tensor_c(RT_F32, 1, ds, s);
    RtTensor tz = rtt_tensor_c(RT_I8, 1, ds, z), out[1];
    RtTensor *in[] = {&tx, &ts, &tz};
    cr_assert_eq(run(RT_OP_QUANTIZE_LINEAR, 13, in, 3, out, 1, NULL, 0, 0), RT_OK, "%s", err.msg);
    /* column 1: 2/2 + 1, 3/2 = 1.5 -> 2, + 1; column 2: 4/4 - 1, 10/4 = 2.5 -> 2, - 1 */
    const int8_t want[] = {1, 2, 0, -8, 3, 1};
    cr_expect_arr_eq(out[0].data, want, sizeof want);
    release(out, 1);
    /* opset 10 knows only per-tensor scales */
    cr_expect_eq(run(RT_OP_QUANTIZE_LINEAR, 10, in, 3, out, 1, NULL, 0, 0), RT_ERR);
    cr_expect(strstr(err.msg, "opset") != NULL, "%s", err.msg);
}

Test(quantize_linear, blocked_opset21_with_output_dtype) {
    const float x[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    const float s[] = {1, 2, 4, 0.5f, 1, 10};
    int64_t dx[] = {2, 5}, ds[] = {2, 3};
    RtTensor tx = rtt_tensor_c(RT_F32, 2, dx, x), ts = rtt_tensor_c(RT_F32, 2, ds, s), out[1];
    RtTensor *in[] = {&tx, &ts};
    RtAttr at[] = {rtt_attr_int("axis", 1), rtt_attr_int("block_size", 2), rtt_attr_int("output_dtype", RT_I8)};
    cr_assert_eq(run(RT_OP_QUANTIZE_LINEAR, 21, in, 2, out, 1, at, 3, 0), RT_OK, "%s", err.msg);
    /* blocks along axis 1: columns {0,1} {2,3} {4} */
    const int8_t want[] = {1, 2, 2, 2, 1, 12, 14, 8, 9, 1};
    cr_assert_eq(out[0].dtype, RT_I8);
    cr_expect_arr_eq(out[0].data, want, sizeof want);
    release(out, 1);
    /* block_size 3 would need ceil(5/3) = 2 scales per row, not 3 */
    at[1] = rtt_attr_int("block_size", 3);
    cr_expect_eq(run(RT_OP_QUANTIZE_LINEAR, 21, in, 2, out, 1, at, 3, 0), RT_ERR);
}

Test(quantize_linear, int16_output_and_dtype_mismatch) {
    const float x[] = {40000.0f, -40000.0f, 2.5f};
    int64_t d[] = {3};
    float s = 1.0f;
    uint8_t zu = 0;
    RtTensor tx = rtt_tensor_c(RT_F32, 1, d, x), ts = rtt_tensor_c(RT_F32, 0, scalar_dims, &s);
    RtTensor tz = rtt_tensor_c(RT_U8, 0, scalar_dims, &zu), out[1];
    RtTensor *in[] = {&tx, &ts}, *inz[] = {&tx, &ts, &tz};
    RtAttr at[] = {rtt_attr_int("output_dtype", RT_I16)};
    cr_assert_eq(run(RT_OP_QUANTIZE_LINEAR, 21, in, 2, out, 1, at, 1, 0), RT_OK, "%s", err.msg);
    const int16_t want[] = {32767, -32768, 2};
    cr_assert_eq(out[0].dtype, RT_I16);
    cr_expect_arr_eq(out[0].data, want, sizeof want);
    release(out, 1);
    cr_expect_eq(run(RT_OP_QUANTIZE_LINEAR, 21, inz, 3, out, 1, at, 1, 0), RT_ERR);
    cr_expect(strstr(err.msg, "output_dtype") != NULL, "%s", err.msg);
}

Test(quantize_linear, shape_mode_without_data) {
    int64_t d[] = {2, 3};
    RtTensor tx = rtt_tensor_c(RT_F32, 2, d, NULL), ts = rtt_tensor_c(RT_F32, 0, scalar_dims, NULL);
    RtTensor tz = rtt_tensor_c(RT_I8, 0, scalar_dims, NULL), out[1];
    RtTensor *in[] = {&tx, &ts, &tz};
    cr_assert_eq(run(RT_OP_QUANTIZE_LINEAR, 13, in, 3, out, 1, NULL, 0, 1), RT_SHAPE_ONLY, "%s", err.msg);
    cr_expect_eq(out[0].dtype, RT_I8);
    cr_expect(out[0].rank == 2 && out[0].dims[0] == 2 && out[0].dims[1] == 3);
    cr_expect_null(out[0].data);
}

/* ---------------------------------------------------------------- DequantizeLinear */

Test(dequantize_linear, per_axis_and_int32) {
    const int8_t x[] = {3, 5, -1, 0};
    const float s[] = {0.5f, 2.0f};
    const int8_t z[] = {1, -1};
    int64_t dx[] = {2, 2}, ds[] = {2};
    RtTensor tx = rtt_tensor_c(RT_I8, 2, dx, x), ts = rtt_tensor_c(RT_F32, 1, ds, s);
    RtTensor tz = rtt_tensor_c(RT_I8, 1, ds, z), out[1];
    RtTensor *in[] = {&tx, &ts, &tz};
    RtAttr at[] = {rtt_attr_int("axis", 0)};
    cr_assert_eq(run(RT_OP_DEQUANTIZE_LINEAR, 13, in, 3, out, 1, at, 1, 0), RT_OK, "%s", err.msg);
    const float want[] = {1.0f, 2.0f, 0.0f, 2.0f};
    cr_assert_eq(out[0].dtype, RT_F32);
    for (int i = 0; i < 4; i++) cr_expect_eq(((float *)out[0].data)[i], want[i], "element %d", i);
    release(out, 1);

    const int32_t xi[] = {100000, -7};
    float si = 0.25f;
    int64_t di[] = {2};
    RtTensor txi = rtt_tensor_c(RT_I32, 1, di, xi), tsi = rtt_tensor_c(RT_F32, 0, scalar_dims, &si);
    RtTensor *ini[] = {&txi, &tsi};
    cr_assert_eq(run(RT_OP_DEQUANTIZE_LINEAR, 10, ini, 2, out, 1, NULL, 0, 0), RT_OK, "%s", err.msg);
    cr_expect_eq(((float *)out[0].data)[0], 25000.0f);
    cr_expect_eq(((float *)out[0].data)[1], -1.75f);
    release(out, 1);
}

Test(dequantize_linear, float16_scale_gives_float16_output) {
    const uint8_t x[] = {0, 10, 255};
    uint16_t s = rt_f32_to_f16(0.5f);
    uint8_t z = 10;
    int64_t d[] = {3};
    RtTensor tx = rtt_tensor_c(RT_U8, 1, d, x), ts = rtt_tensor_c(RT_F16, 0, scalar_dims, &s);
    RtTensor tz = rtt_tensor_c(RT_U8, 0, scalar_dims, &z), out[1];
    RtTensor *in[] = {&tx, &ts, &tz};
    cr_assert_eq(run(RT_OP_DEQUANTIZE_LINEAR, 19, in, 3, out, 1, NULL, 0, 0), RT_OK, "%s", err.msg);
    cr_assert_eq(out[0].dtype, RT_F16);
    const float want[] = {-5.0f, 0.0f, 122.5f};
    for (int i = 0; i < 3; i++)
        cr_expect_eq(rt_f16_to_f32(((uint16_t *)out[0].data)[i]), want[i], "element %d", i);
    release(out, 1);
    /* before opset 19 the scale must be float32 */
    cr_expect_eq(run(RT_OP_DEQUANTIZE_LINEAR, 13, in, 3, out, 1, NULL, 0, 0), RT_ERR_UNSUPPORTED);
}

Test(dequantize_linear, blocked_rank1) {
    const uint8_t x[] = {10, 20, 30, 40};
    const float s[] = {1.0f, 0.5f};
    const uint8_t z[] = {10, 20};
    int64_t dx[] = {4}, ds[] = {2};
    RtTensor tx = rtt_tensor_c(RT_U8, 1, dx, x), ts = rtt_tensor_c(RT_F32, 1, ds, s);
    RtTensor tz = rtt_tensor_c(RT_U8, 1, ds, z), out[1];
    RtTensor *in[] = {&tx, &ts, &tz};
    RtAttr at[] = {rtt_attr_int("axis", 0), rtt_attr_int("block_size", 2)};
    cr_assert_eq(run(RT_OP_DEQUANTIZE_LINEAR, 21, in, 3, out, 1, at, 2, 0), RT_OK, "%s", err.msg);
    const float want[] = {0.0f, 10.0f, 5.0f, 10.0f};
    for (int i = 0; i < 4; i++) cr_expect_eq(((float *)out[0].data)[i], want[i], "element %d", i);
    release(out, 1);
}

/* ---------------------------------------------------------------- DynamicQuantizeLinear */

Test(dynamic_quantize_linear, spec_example_and_all_zeros) {
    const float x[] = {0.0f, 2.0f, -3.0f, -2.5f, 1.34f, 0.5f};
    int64_t d[] = {6};
    RtTensor tx = rtt_tensor_c(RT_F32, 1, d, x), out[3];
    RtTensor *in[] = {&tx};
    cr_assert_eq(run(RT_OP_DYNAMIC_QUANTIZE_LINEAR, 11, in, 1, out, 3, NULL, 0, 0), RT_OK, "%s", err.msg);
    cr_expect_eq(*(float *)out[1].data, 5.0f / 255.0f);
    cr_expect_eq(*(uint8_t *)out[2].data, 153);
    cr_expect_eq(out[1].rank, 0);
    const uint8_t want[] = {153, 255, 0, 26, 221, 179};
    cr_expect_arr_eq(out[0].data, want, sizeof want);
    release(out, 3);

    const float zeros[] = {0.0f, 0.0f};
    int64_t d2[] = {2};
    RtTensor tz = rtt_tensor_c(RT_F32, 1, d2, zeros);
    RtTensor *in2[] = {&tz};
    cr_assert_eq(run(RT_OP_DYNAMIC_QUANTIZE_LINEAR, 11, in2, 1, out, 3, NULL, 0, 0), RT_OK, "%s", err.msg);
    /* max == min: scale 1 as onnxruntime (the spec's formula would divide 0 by 0) */
    cr_expect_eq(*(float *)out[1].data, 1.0f);
    cr_expect_eq(*(uint8_t *)out[2].data, 0);
    release(out, 3);
}

/* ---------------------------------------------------------------- convolutions */

Test(qlinear_conv, per_channel_scales_and_bias) {
    const uint8_t x[] = {1, 2, 3, 4, 5, 6, 7, 8, 9}; /* zero point 1: values 0..8 */
    const int8_t w[] = {1, 0, 0, 1, 1, 1, 1, 0};
    const float ws[] = {1.0f, 0.5f};
    const int32_t b[] = {1, -1};
    float xs = 1.0f, ys = 1.0f;
    uint8_t xz = 1, yz = 0;
    int8_t wz = 0;
    int64_t dx[] = {1, 1, 3, 3}, dw[] = {2, 1, 2, 2}, dm[] = {2};
    RtTensor tx = rtt_tensor_c(RT_U8, 4, dx, x), txs = rtt_tensor_c(RT_F32, 0, scalar_dims, &xs);
    RtTensor txz = rtt_tensor_c(RT_U8, 0, scalar_dims, &xz);
    RtTensor tw = rtt_tensor_c(RT_I8, 4, dw, w), tws = rtt_tensor_c(RT_F32, 1, dm, ws);
    RtTensor twz = rtt_tensor_c(RT_I8, 0, scalar_dims, &wz);
    RtTensor tys = rtt_tensor_c(RT_F32, 0, scalar_dims, &ys), tyz = rtt_tensor_c(RT_U8, 0, scalar_dims, &yz);
    RtTensor tb = rtt_tensor_c(RT_I32, 1, dm, b);
    RtTensor out[1], *in[] = {&tx, &txs, &txz, &tw, &tws, &twz, &tys, &tyz, &tb};
    cr_assert_eq(run(RT_OP_QLINEAR_CONV, 10, in, 9, out, 1, NULL, 0, 0), RT_OK, "%s", err.msg);
    cr_assert(out[0].rank == 4 && out[0].dims[1] == 2 && out[0].dims[2] == 2 && out[0].dims[3] == 2);
    /* channel 0: diagonal sums 4 6 10 12, + 1; channel 1: (4 7 13 16 - 1) * 0.5 = 1.5 3 6 7.5,
     * ties to even -> 2 3 6 8 */
    const uint8_t want[] = {5, 7, 11, 13, 2, 3, 6, 8};
    cr_expect_arr_eq(out[0].data, want, sizeof want);
    release(out, 1);
}

Test(conv_integer, padding_contributes_the_zero_point) {
    const uint8_t x[] = {2, 3, 4, 5};
    const uint8_t w[] = {1, 1, 1, 1};
    uint8_t xz = 1;
    int64_t dx[] = {1, 1, 2, 2}, dw[] = {1, 1, 2, 2}, pads[] = {1, 1, 1, 1};
    RtTensor tx = rtt_tensor_c(RT_U8, 4, dx, x), tw = rtt_tensor_c(RT_U8, 4, dw, w);
    RtTensor txz = rtt_tensor_c(RT_U8, 0, scalar_dims, &xz), out[1];
    RtTensor *in[] = {&tx, &tw, &txz};
    RtAttr at[] = {rtt_attr_ints("pads", pads, 4)};
    cr_assert_eq(run(RT_OP_CONV_INTEGER, 10, in, 3, out, 1, at, 1, 0), RT_OK, "%s", err.msg);
    cr_assert_eq(out[0].dtype, RT_I32);
    const int32_t want[] = {1, 3, 2, 4, 10, 6, 3, 7, 4};
    cr_expect_arr_eq(out[0].data, want, 9 * sizeof(int32_t));
    release(out, 1);
}

/* ---------------------------------------------------------------- matmuls */

Test(matmul_integer, per_row_and_per_column_zero_points) {
    const uint8_t a[] = {1, 2, 3, 4, 5, 6};
    const uint8_t az[] = {1, 2};
    const int8_t b[] = {1, 0, 0, 1, 1, 1};
    const int8_t bz[] = {0, 1};
    int64_t da[] = {2, 3}, db[] = {3, 2}, dz[] = {2};
    RtTensor ta = rtt_tensor_c(RT_U8, 2, da, a), tb = rtt_tensor_c(RT_I8, 2, db, b);
    RtTensor taz = rtt_tensor_c(RT_U8, 1, dz, az), tbz = rtt_tensor_c(RT_I8, 1, dz, bz);
    RtTensor out[1], *in[] = {&ta, &tb, &taz, &tbz};
    cr_assert_eq(run(RT_OP_MATMUL_INTEGER, 10, in, 4, out, 1, NULL, 0, 0), RT_OK, "%s", err.msg);
    /* A - zp = [0 1 2; 2 3 4], B - zp = [1 -1; 0 0; 1 0] */
    const int32_t want[] = {2, 0, 6, -2};
    cr_expect_arr_eq(out[0].data, want, sizeof want);
    release(out, 1);
}

Test(matmul_integer, batch_broadcast_against_naive_loop) {
    enum { BA = 2, M = 3, K = 5, N = 4 };
    uint8_t a[BA * M * K];
    int8_t b[K * N];
    for (int i = 0; i < BA * M * K; i++) a[i] = (uint8_t)(i * 37 % 251);
    for (int i = 0; i < K * N; i++) b[i] = (int8_t)(i * 53 % 255 - 127);
    uint8_t az = 128;
    int8_t bz = -3;
    int64_t da[] = {BA, M, K}, db[] = {K, N};
    RtTensor ta = rtt_tensor_c(RT_U8, 3, da, a), tb = rtt_tensor_c(RT_I8, 2, db, b);
    RtTensor taz = rtt_tensor_c(RT_U8, 0, scalar_dims, &az);
    RtTensor tbz = rtt_tensor_c(RT_I8, 0, scalar_dims, &bz), out[1], *in[] = {&ta, &tb, &taz, &tbz};
    cr_assert_eq(run(RT_OP_MATMUL_INTEGER, 10, in, 4, out, 1, NULL, 0, 0), RT_OK, "%s", err.msg);
    cr_assert(out[0].rank == 3 && out[0].dims[0] == BA && out[0].dims[1] == M && out[0].dims[2] == N);
    const int32_t *y = out[0].data;
    for (int p = 0; p < BA; p++)
        for (int m = 0; m < M; m++)
            for (int n = 0; n < N; n++) {
                int32_t s = 0;
                for (int k = 0; k < K; k++) s += (a[(p * M + m) * K + k] - az) * (b[k * N + n] - bz);
                cr_expect_eq(y[(p * M + m) * N + n], s, "[%d,%d,%d]", p, m, n);
            }
    release(out, 1);
}

Test(qlinear_matmul, per_column_b_scale) {
    const uint8_t a[] = {2, 4, 6, 8};
    const int8_t b[] = {1, 2, 3, 4};
    const float bs[] = {1.0f, 0.25f};
    const int8_t bz[] = {0, 0};
    float as = 0.5f, ys = 1.0f;
    uint8_t az = 0, yz = 10;
    int64_t d[] = {2, 2}, dv[] = {2};
    RtTensor ta = rtt_tensor_c(RT_U8, 2, d, a), tas = rtt_tensor_c(RT_F32, 0, scalar_dims, &as);
    RtTensor taz = rtt_tensor_c(RT_U8, 0, scalar_dims, &az);
    RtTensor tb = rtt_tensor_c(RT_I8, 2, d, b), tbs = rtt_tensor_c(RT_F32, 1, dv, bs);
    RtTensor tbz = rtt_tensor_c(RT_I8, 1, dv, bz);
    RtTensor tys = rtt_tensor_c(RT_F32, 0, scalar_dims, &ys), tyz = rtt_tensor_c(RT_U8, 0, scalar_dims, &yz);
    RtTensor out[1], *in[] = {&ta, &tas, &taz, &tb, &tbs, &tbz, &tys, &tyz};
    cr_assert_eq(run(RT_OP_QLINEAR_MATMUL, 10, in, 8, out, 1, NULL, 0, 0), RT_OK, "%s", err.msg);
    /* acc = [14 20; 30 44]; multipliers 0.5 and 0.125 by column: 7 2.5->2; 15 5.5->6; + 10 */
    const uint8_t want[] = {17, 12, 25, 16};
    cr_expect_arr_eq(out[0].data, want, sizeof want);
    release(out, 1);
    /* a per-row scale of the wrong length is refused */
    const float bad[] = {1, 1, 1};
    int64_t d3[] = {3};
    RtTensor tbad = rtt_tensor_c(RT_F32, 1, d3, bad);
    in[1] = &tbad;
    cr_expect_eq(run(RT_OP_QLINEAR_MATMUL, 10, in, 8, out, 1, NULL, 0, 0), RT_ERR);
}

/* output_dtype int4 (22, opset 21): stored widened in int8, saturated to -8..7. x / 0.5 =
 * [-40, -5, 0.5, 3, 14.5] -> rounded half to even [-40, -5, 0, 3, 14], + zp -1 -> [-41, -6,
 * -1, 2, 13] -> [-8, -6, -1, 2, 7]. With uint2 (25, opset 25) and no zero point: [-40, -5, 0,
 * 3, 14] -> [0, 0, 0, 3, 3]. An int4 type below opset 21, or a uint8 zero point beside
 * output_dtype int4, is refused. */
Test(quantize_linear, lowbit_output_dtype_saturates_to_its_range) {
    float x[] = {-20.0f, -2.5f, 0.25f, 1.5f, 7.25f};
    int64_t d[] = {5};
    float s = 0.5f;
    int8_t zi = -1;
    uint8_t zu = 0;
    RtTensor tx = rtt_tensor_c(RT_F32, 1, d, x), ts = rtt_tensor_c(RT_F32, 0, scalar_dims, &s);
    RtTensor tz = rtt_tensor_c(RT_I8, 0, scalar_dims, &zi), tzu = rtt_tensor_c(RT_U8, 0, scalar_dims, &zu), out[1];
    RtTensor *in[] = {&tx, &ts}, *inz[] = {&tx, &ts, &tz}, *inu[] = {&tx, &ts, &tzu};
    RtAttr a4[] = {rtt_attr_int("output_dtype", 22)}, a2[] = {rtt_attr_int("output_dtype", 25)};
    cr_assert_eq(run(RT_OP_QUANTIZE_LINEAR, 21, inz, 3, out, 1, a4, 1, 0), RT_OK, "%s", err.msg);
    const int8_t want4[] = {-8, -6, -1, 2, 7};
    cr_assert_eq(out[0].dtype, RT_I8);
    cr_expect_arr_eq(out[0].data, want4, sizeof want4);
    release(out, 1);
    cr_assert_eq(run(RT_OP_QUANTIZE_LINEAR, 25, in, 2, out, 1, a2, 1, 0), RT_OK, "%s", err.msg);
    const uint8_t want2[] = {0, 0, 0, 3, 3};
    cr_assert_eq(out[0].dtype, RT_U8);
    cr_expect_arr_eq(out[0].data, want2, sizeof want2);
    release(out, 1);
    cr_expect_eq(run(RT_OP_QUANTIZE_LINEAR, 19, inz, 3, out, 1, a4, 1, 0), RT_ERR);
    cr_expect(strstr(err.msg, "needs opset 21") != NULL, "%s", err.msg);
    cr_expect_eq(run(RT_OP_QUANTIZE_LINEAR, 21, inu, 3, out, 1, a4, 1, 0), RT_ERR);
    cr_expect(strstr(err.msg, "does not match y_zero_point") != NULL, "%s", err.msg);
}
