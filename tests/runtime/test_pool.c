/*
 * test_pool.c — hand-computed cases for MaxPool (ceil_mode, dilations, Indices in both
 * storage orders, int8), AveragePool (count_include_pad both ways, ceil_mode overhang),
 * GlobalAveragePool and GlobalMaxPool in runtime/kernels/ref/pool.c.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rt_test_util.h"

/* Averages of at most 9 small integers: exact up to one float rounding of the quotient. */
#define POOL_TOL 1e-6

/* The pools take one input; every case here is at opset 19. */
static int pool_run(int op, RtTensor *x, RtTensor *out, int n_out, RtAttr *attrs, int n_attr, int shape_only) {
    return rtt_run(op, 19, &x, 1, out, n_out, attrs, n_attr, shape_only);
}

Test(max_pool, ceil_mode_4x4_k3_s2) {
    /* 1..16 in a 4x4: floor mode gives 1x1, ceil mode 2x2 with windows clipped at the edge */
    float x[16];
    for (int i = 0; i < 16; i++) x[i] = (float)(i + 1);
    int64_t xd[] = {1, 1, 4, 4}, k[] = {3, 3}, s[] = {2, 2};
    RtTensor tx = rtt_tensor(RT_F32, 4, xd, x), out[2] = {{0}};
    RtAttr a[] = {rtt_attr_ints("kernel_shape", k, 2), rtt_attr_ints("strides", s, 2), rtt_attr_int("ceil_mode", 1)};
    cr_assert_eq(pool_run(RT_OP_MAX_POOL, &tx, out, 1, a, 3, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert(out[0].dims[2] == 2 && out[0].dims[3] == 2);
    rtt_expect_f32(&out[0], (float[]){11, 12, 15, 16}, 4, POOL_TOL, 0);
    free(out[0].data);
    RtTensor floor_out[2] = {{0}};
    cr_assert_eq(pool_run(RT_OP_MAX_POOL, &tx, floor_out, 1, a, 2, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&floor_out[0], (float[]){11}, 1, POOL_TOL, 0);
    free(floor_out[0].data);
}

Test(max_pool, ceil_mode_drops_window_starting_in_end_padding) {
    /* in 3, k 1, s 2, pads (0, 1): ceil((3 + 1 - 1) / 2) + 1 = 3, but the third window would
     * start at 4 >= in + pad_begin = 3 (only padding), so 2 outputs. */
    float x[3] = {5, 6, 7};
    int64_t xd[] = {1, 1, 3}, k[] = {1}, s[] = {2}, p[] = {0, 1};
    RtTensor tx = rtt_tensor(RT_F32, 3, xd, x), out[2] = {{0}};
    RtAttr a[] = {rtt_attr_ints("kernel_shape", k, 1), rtt_attr_ints("strides", s, 1), rtt_attr_ints("pads", p, 2),
                  rtt_attr_int("ceil_mode", 1)};
    cr_assert_eq(pool_run(RT_OP_MAX_POOL, &tx, out, 1, a, 4, 1), RT_SHAPE_ONLY, "%s", rtt_err.msg);
    cr_expect_eq(out[0].dims[2], 2);
}

Test(max_pool, indices_in_both_storage_orders_and_dilation) {
    /* 2 channels of 3x3; k 2x2, stride 1, dilation 2 -> 1x1 output reading the corners. */
    float x[18] = {9, 1, 2, 3, 4, 5, 6, 7, 8, /* corners 9, 2, 6, 8 -> max 9 at (0,0) */
                   1, 2, 3, 4, 5, 6, 7, 8, 0}; /* corners 1, 3, 7, 0 -> max 7 at (2,0) */
    int64_t xd[] = {1, 2, 3, 3}, k[] = {2, 2}, d[] = {2, 2};
    RtTensor tx = rtt_tensor(RT_F32, 4, xd, x);
    for (int order = 0; order < 2; order++) {
        RtTensor out[2] = {{0}};
        RtAttr a[] = {rtt_attr_ints("kernel_shape", k, 2), rtt_attr_ints("dilations", d, 2),
                      rtt_attr_int("storage_order", order)};
        cr_assert_eq(pool_run(RT_OP_MAX_POOL, &tx, out, 2, a, 3, 0), RT_OK, "%s", rtt_err.msg);
        rtt_expect_f32(&out[0], (float[]){9, 7}, 2, POOL_TOL, 0);
        cr_assert_eq(out[1].dtype, RT_I64);
        int64_t *idx = out[1].data;
        cr_expect_eq(idx[0], 0);
        /* (h 2, w 0) of channel 1: row-major 9 + 2*3 + 0 = 15; column-major 9 + 2 + 0*3 = 11 */
        cr_expect_eq(idx[1], order ? 11 : 15, "order %d: index %lld", order, (long long)idx[1]);
        free(out[0].data), free(out[1].data);
    }
}

Test(max_pool, int8_with_padding_and_same_upper) {
    int8_t x[5] = {-5, -3, -9, -1, -7};
    int64_t xd[] = {1, 1, 5}, k[] = {2};
    RtTensor tx = rtt_tensor(RT_I8, 3, xd, x), out[2] = {{0}};
    /* SAME_UPPER, stride 1: out 5, total pad 1 at the end; padding never wins even though all
     * values are negative */
    RtAttr a[] = {rtt_attr_ints("kernel_shape", k, 1), rtt_attr_str("auto_pad", "SAME_UPPER")};
    cr_assert_eq(pool_run(RT_OP_MAX_POOL, &tx, out, 1, a, 2, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(out[0].dtype, RT_I8);
    int8_t want[5] = {-3, -3, -1, -1, -7};
    cr_expect_eq(memcmp(out[0].data, want, 5), 0);
    free(out[0].data);
}

Test(average_pool, count_include_pad_both_ways) {
    /* 1..9 in a 3x3, k 3, stride 1, pads 1: the corner window holds 1, 2, 4, 5 (sum 12) and
     * five padding cells; the centre holds all nine (sum 45). */
    float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    int64_t xd[] = {1, 1, 3, 3}, k[] = {3, 3}, p[] = {1, 1, 1, 1};
    RtTensor tx = rtt_tensor(RT_F32, 4, xd, x);
    for (int inc = 0; inc < 2; inc++) {
        RtTensor out[2] = {{0}};
        RtAttr a[] = {rtt_attr_ints("kernel_shape", k, 2), rtt_attr_ints("pads", p, 4),
                      rtt_attr_int("count_include_pad", inc)};
        cr_assert_eq(pool_run(RT_OP_AVERAGE_POOL, &tx, out, 1, a, 3, 0), RT_OK, "%s", rtt_err.msg);
        float *y = out[0].data;
        cr_expect(fabsf(y[0] - (inc ? 12.0f / 9 : 12.0f / 4)) <= POOL_TOL, "corner %g (include %d)", y[0], inc);
        cr_expect(fabsf(y[1] - (inc ? 21.0f / 9 : 21.0f / 6)) <= POOL_TOL, "edge %g (include %d)", y[1], inc);
        cr_expect(fabsf(y[4] - 5.0f) <= POOL_TOL, "centre %g", y[4]);
        free(out[0].data);
    }
}

Test(average_pool, ceil_mode_overhang_not_counted) {
    /* [1..5], k 2, s 2, ceil: windows {1,2} {3,4} {5}; the last one reaches past the input
     * (no explicit pad there), so even with count_include_pad it averages one value. */
    float x[5] = {1, 2, 3, 4, 5};
    int64_t xd[] = {1, 1, 5}, k[] = {2}, s[] = {2};
    RtTensor tx = rtt_tensor(RT_F32, 3, xd, x);
    for (int inc = 0; inc < 2; inc++) {
        RtTensor out[2] = {{0}};
        RtAttr a[] = {rtt_attr_ints("kernel_shape", k, 1), rtt_attr_ints("strides", s, 1), rtt_attr_int("ceil_mode", 1),
                      rtt_attr_int("count_include_pad", inc)};
        cr_assert_eq(pool_run(RT_OP_AVERAGE_POOL, &tx, out, 1, a, 4, 0), RT_OK, "%s", rtt_err.msg);
        rtt_expect_f32(&out[0], (float[]){1.5f, 3.5f, 5.0f}, 3, POOL_TOL, 0);
        free(out[0].data);
    }
}

Test(average_pool, dilations_3d) {
    /* 3-D: 1x1x3x3x3 with values 0..26, kernel 2x2x2, dilation 2 -> one output averaging the
     * 8 corners: (0 + 2 + 6 + 8 + 18 + 20 + 24 + 26) / 8 = 13 */
    float x[27];
    for (int i = 0; i < 27; i++) x[i] = (float)i;
    int64_t xd[] = {1, 1, 3, 3, 3}, k[] = {2, 2, 2}, d[] = {2, 2, 2};
    RtTensor tx = rtt_tensor(RT_F32, 5, xd, x), out[2] = {{0}};
    RtAttr a[] = {rtt_attr_ints("kernel_shape", k, 3), rtt_attr_ints("dilations", d, 3)};
    cr_assert_eq(pool_run(RT_OP_AVERAGE_POOL, &tx, out, 1, a, 2, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(out[0].rank, 5);
    rtt_expect_f32(&out[0], (float[]){13}, 1, POOL_TOL, 0);
    free(out[0].data);
}

Test(global_pool, average_and_max) {
    float x[12] = {1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6};
    int64_t xd[] = {1, 2, 2, 3};
    RtTensor tx = rtt_tensor(RT_F32, 4, xd, x), avg[2] = {{0}}, mx[2] = {{0}};
    cr_assert_eq(pool_run(RT_OP_GLOBAL_AVERAGE_POOL, &tx, avg, 1, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert(avg[0].rank == 4 && avg[0].dims[1] == 2 && avg[0].dims[2] == 1 && avg[0].dims[3] == 1);
    rtt_expect_f32(&avg[0], (float[]){3.5f, -3.5f}, 2, POOL_TOL, 0);
    cr_assert_eq(pool_run(RT_OP_GLOBAL_MAX_POOL, &tx, mx, 1, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&mx[0], (float[]){6, -1}, 2, POOL_TOL, 0);
    free(avg[0].data), free(mx[0].data);
}

Test(pool, errors_name_the_attribute) {
    float x[4] = {0};
    int64_t xd[] = {1, 1, 2, 2}, k3[] = {3}, k[] = {2, 2}, s[] = {1};
    RtTensor tx = rtt_tensor(RT_F32, 4, xd, x), out[2] = {{0}};
    cr_assert_eq(pool_run(RT_OP_MAX_POOL, &tx, out, 1, NULL, 0, 0), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "kernel_shape") != NULL, "message: %s", rtt_err.msg);
    RtAttr a[] = {rtt_attr_ints("kernel_shape", k3, 1)};
    cr_assert_eq(pool_run(RT_OP_AVERAGE_POOL, &tx, out, 1, a, 1, 0), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "kernel_shape has 1 values") != NULL, "message: %s", rtt_err.msg);
    RtAttr b[] = {rtt_attr_ints("kernel_shape", k, 2), rtt_attr_ints("strides", s, 1)};
    cr_assert_eq(pool_run(RT_OP_MAX_POOL, &tx, out, 1, b, 2, 0), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "strides") != NULL, "message: %s", rtt_err.msg);
    int32_t xi[4] = {0};
    RtTensor ti = rtt_tensor(RT_I32, 4, xd, xi);
    RtAttr c[] = {rtt_attr_ints("kernel_shape", k, 2)};
    cr_assert_eq(pool_run(RT_OP_AVERAGE_POOL, &ti, out, 1, c, 1, 0), RT_ERR_UNSUPPORTED);
    cr_expect(strstr(rtt_err.msg, "int32") != NULL, "message: %s", rtt_err.msg);
}
