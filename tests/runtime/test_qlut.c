/*
 * test_qlut.c — wafer's QLut (y[i] = table[(uint8) x[i]], runtime/kernels/wafer_ops.h): the
 * reference kernel and the AVX-512 VBMI one against the definition, written out here as an
 * index per element, on every code and on odd lengths (tails of the 64-byte blocks), int8 and
 * uint8, one thread and a pool of two; bad inputs fail with a message.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/rt_threads.h"
#include "rt_test_util.h"

static const int64_t LENGTHS[] = {1, 3, 7, 17, 33, 63, 64, 65, 127, 129, 256, 1000, 300001};

/* Runs QLut (fast = the optimized kernel) on codes x[len] of dtype dt with table t[256]. */
static void run_lut(int fast, RtThreadPool *pool, RtDtype dt, const uint8_t *x, int64_t len, const uint8_t *t,
                    RtTensor *y) {
    float s = 0.1f;
    uint8_t z = 0;
    int64_t n256 = 256;
    RtTensor tx = rtt_tensor_c(dt, 1, &len, x), tt = rtt_tensor_c(dt, 1, &n256, t);
    RtTensor ts = rtt_tensor(RT_F32, 0, NULL, &s), tz = rtt_tensor(dt, 0, NULL, &z);
    RtTensor *in[6] = {&tx, &tt, &ts, &tz, &ts, &tz};
    RttRun how = {.pool = pool};
    RtKernelFn fn = fast ? rt_kernel_find_fast(RT_OP_QLUT) : rt_kernel_find(RT_OP_QLUT);
    int st = rtt_run_kernel(fn, &how, RT_OP_QLUT, 1, in, 6, y, 1, NULL, 0, 0);
    cr_assert_eq(st, RT_OK, "%s", rtt_err.msg);
}

Test(qlut, every_code_and_odd_lengths_match_the_definition) {
    uint32_t seed = 12345;
    uint8_t table[256];
    for (int i = 0; i < 256; i++) table[i] = (uint8_t)(rtt_lcg(&seed) >> 24);
    int64_t maxlen = LENGTHS[sizeof LENGTHS / sizeof LENGTHS[0] - 1];
    uint8_t *x = malloc((size_t)maxlen);
    cr_assert_not_null(x);
    RtThreadPool *pool = rt_pool_new(2, NULL);
    cr_assert_not_null(pool);
    for (size_t li = 0; li < sizeof LENGTHS / sizeof LENGTHS[0]; li++) {
        int64_t len = LENGTHS[li];
        /* codes 0..255 in turn from a random start, so every length >= 256 sees every code */
        uint8_t start = (uint8_t)(rtt_lcg(&seed) >> 24);
        for (int64_t i = 0; i < len; i++) x[i] = (uint8_t)(start + i * 7); /* 7 is odd: all 256 */
        for (int d = 0; d < 2; d++)
            for (int fast = 0; fast < 2; fast++)
                for (int threads = 1; threads <= 2; threads++) {
                    RtDtype dt = d ? RT_U8 : RT_I8;
                    RtTensor y;
                    run_lut(fast, threads == 2 ? pool : NULL, dt, x, len, table, &y);
                    cr_assert_eq(y.dtype, dt);
                    cr_assert_eq(y.rank, 1);
                    cr_assert_eq(y.dims[0], len);
                    const uint8_t *got = y.data;
                    for (int64_t i = 0; i < len; i++)
                        cr_assert_eq(got[i], table[x[i]], "len %lld %s fast %d threads %d: y[%lld] = %d, table[%d] = %d",
                                     (long long)len, rt_dtype_name(dt), fast, threads, (long long)i, got[i], x[i],
                                     table[x[i]]);
                    rtt_free_outputs(&y, 1);
                }
    }
    rt_pool_free(pool);
    free(x);
}

Test(qlut, int8_codes_index_by_their_byte) {
    /* -1 is byte 255, -128 byte 128: the definition's (uint8) cast, by hand */
    int8_t x[4] = {-1, -128, 0, 127};
    uint8_t table[256];
    for (int i = 0; i < 256; i++) table[i] = (uint8_t)(255 - i);
    for (int fast = 0; fast < 2; fast++) {
        RtTensor y;
        run_lut(fast, NULL, RT_I8, (const uint8_t *)x, 4, table, &y);
        const int8_t *got = y.data;
        cr_expect_eq(got[0], 0);              /* table[255] = 0 */
        cr_expect_eq(got[1], 127);            /* table[128] = 127 */
        cr_expect_eq(got[2], -1);             /* table[0] = 255 = int8 -1 */
        cr_expect_eq(got[3], -128);           /* table[127] = 128 = int8 -128 */
        rtt_free_outputs(&y, 1);
    }
}

Test(qlut, bad_inputs_fail_with_a_message) {
    float xf[2] = {0, 1}, s = 1;
    int8_t x[2] = {0, 1}, t[255] = {0}, z = 0;
    int64_t two = 2, n255 = 255;
    RtTensor tx = rtt_tensor(RT_F32, 1, &two, xf), tt = rtt_tensor(RT_I8, 1, &n255, t);
    RtTensor ts = rtt_tensor(RT_F32, 0, NULL, &s), tz = rtt_tensor(RT_I8, 0, NULL, &z);
    RtTensor *in[6] = {&tx, &tt, &ts, &tz, &ts, &tz}, y;
    for (int fast = 0; fast < 2; fast++) {
        RtKernelFn fn = fast ? rt_kernel_find_fast(RT_OP_QLUT) : rt_kernel_find(RT_OP_QLUT);
        tx = rtt_tensor(RT_F32, 1, &two, xf);
        cr_expect_neq(rtt_run_kernel(fn, NULL, RT_OP_QLUT, 1, in, 6, &y, 1, NULL, 0, 0), RT_OK);
        cr_expect(strstr(rtt_err.msg, "input x") != NULL, "%s", rtt_err.msg);
        tx = rtt_tensor(RT_I8, 1, &two, x);
        cr_expect_neq(rtt_run_kernel(fn, NULL, RT_OP_QLUT, 1, in, 6, &y, 1, NULL, 0, 0), RT_OK);
        cr_expect(strstr(rtt_err.msg, "256") != NULL, "%s", rtt_err.msg);
    }
}

/* ---- QMul by a per-plane constant (x86/qlut_x86.c) against the reference kernel ---- */

/* x [1, C, H, W] times s [1, C, 1, 1] (or s first when swap), random codes, scales where the
 * multiplier is below 1 (the vector path) and above (the scalar fallback), qmin/qmax. */
static void qmul_case(int64_t C, int64_t H, int64_t W, int swap, float ys, int64_t qmin, RtThreadPool *pool) {
    uint32_t seed = (uint32_t)(C * 131 + H * 17 + W + swap);
    int64_t xd[4] = {1, C, H, W}, sd[4] = {1, C, 1, 1}, n = C * H * W;
    int8_t *x = malloc((size_t)n), s[256];
    cr_assert_not_null(x);
    for (int64_t i = 0; i < n; i++) x[i] = (int8_t)(rtt_lcg(&seed) >> 24);
    for (int64_t i = 0; i < C; i++) s[i] = (int8_t)(rtt_lcg(&seed) >> 24);
    float xs = 0.05f, ss = 1.0f / 255.0f;
    int8_t xz = -3, sz = -128, yz = 5;
    RtTensor tx = rtt_tensor(RT_I8, 4, xd, x), ts = rtt_tensor(RT_I8, 4, sd, s);
    RtTensor txs = rtt_tensor(RT_F32, 0, NULL, &xs), txz = rtt_tensor(RT_I8, 0, NULL, &xz);
    RtTensor tss = rtt_tensor(RT_F32, 0, NULL, &ss), tsz = rtt_tensor(RT_I8, 0, NULL, &sz);
    RtTensor tys = rtt_tensor(RT_F32, 0, NULL, &ys), tyz = rtt_tensor(RT_I8, 0, NULL, &yz);
    RtTensor *in[8] = {&tx, &txs, &txz, &ts, &tss, &tsz, &tys, &tyz};
    RtTensor *ins[8] = {&ts, &tss, &tsz, &tx, &txs, &txz, &tys, &tyz};
    RtAttr at[1] = {rtt_attr_int("qmin", qmin)};
    RtTensor want, got;
    RttRun how = {.pool = pool};
    cr_assert_eq(rtt_run_kernel(rt_kernel_find(RT_OP_QMUL), NULL, RT_OP_QMUL, 1, swap ? ins : in, 8, &want, 1, at,
                                qmin > -128, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(rtt_run_kernel(rt_kernel_find_fast(RT_OP_QMUL), &how, RT_OP_QMUL, 1, swap ? ins : in, 8, &got, 1, at,
                                qmin > -128, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert(rt_shape_equal(&want, &got));
    cr_assert_eq(memcmp(want.data, got.data, (size_t)n), 0, "C %lld H %lld W %lld swap %d y_scale %g qmin %lld: differs",
                 (long long)C, (long long)H, (long long)W, swap, ys, (long long)qmin);
    rtt_free_outputs(&want, 1);
    rtt_free_outputs(&got, 1);
    free(x);
}

Test(qlut, qmul_per_channel_is_bit_identical_to_the_reference) {
    RtThreadPool *pool = rt_pool_new(2, NULL);
    cr_assert_not_null(pool);
    static const int64_t shapes[][3] = {{1, 1, 2}, {3, 1, 7}, {7, 3, 11}, {17, 2, 33}, {33, 9, 15}, {200, 2, 96}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (int swap = 0; swap < 2; swap++) {
            qmul_case(shapes[i][0], shapes[i][1], shapes[i][2], swap, 0.02f, -128, NULL);  /* multiplier < 1 */
            qmul_case(shapes[i][0], shapes[i][1], shapes[i][2], swap, 1e-5f, -128, NULL);  /* >= 1: saturates */
            qmul_case(shapes[i][0], shapes[i][1], shapes[i][2], swap, 0.02f, 5, pool);     /* a fused Relu */
        }
    rt_pool_free(pool);
}

/* ---- QConcat (x86/qlut_x86.c) against the reference kernel ---- */

/* Three int8 inputs [2, C_i, 5, 7] along axis `ax` (1 or -1 via 3), scales so that one input
 * is copied (the output's parameters), one requantized below 1, one above (scalar path). */
static void qconcat_case(int ax, int64_t qmin, RtThreadPool *pool) {
    static const int64_t C[3] = {3, 1, 17};
    static float sc[3] = {0.1f, 0.05f, 0.3f};
    static int8_t zs[3] = {4, -7, 0};
    float ys = 0.1f;
    int8_t yz = 4;
    uint32_t seed = 77;
    RtTensor t[3], ts[3], tz[3];
    int8_t *data[3];
    for (int i = 0; i < 3; i++) {
        int64_t d[4] = {2, ax == 1 ? C[i] : 3, 5, ax == 1 ? 7 : C[i]};
        data[i] = malloc((size_t)(d[0] * d[1] * d[2] * d[3]));
        for (int64_t e = 0; e < d[0] * d[1] * d[2] * d[3]; e++) data[i][e] = (int8_t)(rtt_lcg(&seed) >> 24);
        t[i] = rtt_tensor(RT_I8, 4, d, data[i]);
        ts[i] = rtt_tensor(RT_F32, 0, NULL, &sc[i]);
        tz[i] = rtt_tensor(RT_I8, 0, NULL, &zs[i]);
    }
    RtTensor tys = rtt_tensor(RT_F32, 0, NULL, &ys), tyz = rtt_tensor(RT_I8, 0, NULL, &yz);
    RtTensor *in[11] = {&tys, &tyz, &t[0], &ts[0], &tz[0], &t[1], &ts[1], &tz[1], &t[2], &ts[2], &tz[2]};
    RtAttr at[2] = {rtt_attr_int("axis", ax == 1 ? 1 : -1), rtt_attr_int("qmin", qmin)};
    RtTensor want, got;
    RttRun how = {.pool = pool};
    cr_assert_eq(rtt_run_kernel(rt_kernel_find(RT_OP_QCONCAT), NULL, RT_OP_QCONCAT, 1, in, 11, &want, 1, at, 2, 0), RT_OK,
                 "%s", rtt_err.msg);
    cr_assert_eq(rtt_run_kernel(rt_kernel_find_fast(RT_OP_QCONCAT), &how, RT_OP_QCONCAT, 1, in, 11, &got, 1, at, 2, 0),
                 RT_OK, "%s", rtt_err.msg);
    cr_assert(rt_shape_equal(&want, &got));
    cr_assert_eq(memcmp(want.data, got.data, (size_t)rt_numel(&want)), 0, "axis %d qmin %lld: differs", ax,
                 (long long)qmin);
    rtt_free_outputs(&want, 1);
    rtt_free_outputs(&got, 1);
    for (int i = 0; i < 3; i++) free(data[i]);
}

Test(qlut, qconcat_is_bit_identical_to_the_reference) {
    RtThreadPool *pool = rt_pool_new(2, NULL);
    cr_assert_not_null(pool);

    for (int ax = 1; ax <= 3; ax += 2) {
        qconcat_case(ax, -128, NULL);
        qconcat_case(ax, -5, pool);
    }
    rt_pool_free(pool);
}

/* ---- per-channel tables [C, 256] along an axis ---- */

/* Runs QLut with tables t[C][256] on x [dims] along `axis`. */
static int run_lut_axis(int fast, RtThreadPool *pool, const int8_t *x, int rank, const int64_t *dims, const int8_t *t,
                        int64_t C, int64_t axis, RtTensor *y) {
    float s = 0.1f;
    int8_t z = 0;
    int64_t tdims[2] = {C, 256};
    RtTensor tx = rtt_tensor_c(RT_I8, rank, dims, x), tt = rtt_tensor_c(RT_I8, 2, tdims, t);
    RtTensor ts = rtt_tensor(RT_F32, 0, NULL, &s), tz = rtt_tensor(RT_I8, 0, NULL, &z);
    RtTensor *in[6] = {&tx, &tt, &ts, &tz, &ts, &tz};
    RtAttr a = rtt_attr_int("axis", axis);
    RttRun how = {.pool = pool};
    RtKernelFn fn = fast ? rt_kernel_find_fast(RT_OP_QLUT) : rt_kernel_find(RT_OP_QLUT);
    return rtt_run_kernel(fn, &how, RT_OP_QLUT, 1, in, 6, y, 1, &a, 1, 0);
}

Test(qlut, per_channel_tables_index_by_channel_and_code) {
    /* x [N, C, H, W] = [2, 5, 3, 67] (planes of 201 bytes: 3 full 64-byte blocks and a tail),
     * tables t[c][b] random: y[n, c, h, w] must be t[c][(uint8) x[n, c, h, w]], the
     * definition written out with the channel index computed here from the coordinates. */
    enum { N = 2, C = 5, H = 3, W = 67 };
    int64_t dims[4] = {N, C, H, W};
    static int8_t x[N * C * H * W], t[C * 256];
    uint32_t seed = 777;
    for (int i = 0; i < C * 256; i++) t[i] = (int8_t)(rtt_lcg(&seed) >> 24);
    for (int i = 0; i < N * C * H * W; i++) x[i] = (int8_t)(rtt_lcg(&seed) >> 24);
    RtThreadPool *pool = rt_pool_new(2, NULL);
    cr_assert_not_null(pool);
    for (int axis_neg = 0; axis_neg < 2; axis_neg++)
        for (int fast = 0; fast < 2; fast++)
            for (int threads = 1; threads <= 2; threads++) {
                RtTensor y;
                int st = run_lut_axis(fast, threads == 2 ? pool : NULL, x, 4, dims, t, C, axis_neg ? -3 : 1, &y);
                cr_assert_eq(st, RT_OK, "%s", rtt_err.msg);
                const int8_t *got = y.data;
                for (int n = 0; n < N; n++)
                    for (int c = 0; c < C; c++)
                        for (int i = 0; i < H * W; i++) {
                            int at = (n * C + c) * H * W + i;
                            cr_assert_eq(got[at], t[c * 256 + (uint8_t)x[at]], "fast %d threads %d n %d c %d i %d",
                                         fast, threads, n, c, i);
                        }
                rtt_free_outputs(&y, 1);
            }
    rt_pool_free(pool);
}

Test(qlut, per_channel_tables_must_match_the_axis) {
    int8_t x[6] = {0}, t[3 * 256] = {0};
    int64_t dims[2] = {2, 3};
    for (int fast = 0; fast < 2; fast++) {
        RtTensor y;
        /* axis 0 has 2 channels, the tables 3 */
        cr_expect_neq(run_lut_axis(fast, NULL, x, 2, dims, t, 3, 0, &y), RT_OK);
        cr_expect(strstr(rtt_err.msg, "3 channels") != NULL, "%s", rtt_err.msg);
        cr_expect_neq(run_lut_axis(fast, NULL, x, 2, dims, t, 3, 2, &y), RT_OK);
        cr_expect(strstr(rtt_err.msg, "axis 2") != NULL, "%s", rtt_err.msg);
        /* axis 1 (3 channels) runs */
        cr_expect_eq(run_lut_axis(fast, NULL, x, 2, dims, t, 3, 1, &y), RT_OK, "%s", rtt_err.msg);
        rtt_free_outputs(&y, 1);
    }
}
