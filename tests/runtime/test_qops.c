/*
 * test_qops.c — wafer's int8 kernels (runtime/kernels/ref/qops.c) against float references:
 * dequantize, compute in double, quantize with round-half-to-even.
 *
 * Where the two may legitimately differ: the kernels requantize with a fixed-point multiplier
 * (gemmlowp rounding: a tie rounds up or away from zero, not to even; and for multipliers
 * < 1/2 the product is rounded twice, by up to 2^(shift-1) of an output step before the final
 * rounding). So an output may be 1 LSB off the float reference only where the real value
 * lies within TIE_TOL(M) = 2^(shift-1) + TIE_EPS of a half-way point; everywhere else the match
 * must be exact. TIE_EPS covers the 31-bit mantissa of M (relative error 2^-31, i.e. < 1e-6 for
 * the |values| < 2000 here) and the double-precision reference sums.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/kernels/quant.h"
#include "rt_test_util.h"

#define TIE_EPS 1e-6

static RtError err;

static int run(int op, RtTensor **in, int n_in, RtTensor *out, RtAttr *attrs, int n_attr) {
    int slots_in[16], slot_out = 30;
    for (int i = 0; i < n_in; i++) slots_in[i] = in[i] ? i : -1;
    memset(out, 0, sizeof *out);
    RtTensor *outp[] = {out};
    RtNode n = {op, "t", rt_op_name(op), "wafer", 1, n_in, slots_in, 1, &slot_out, n_attr, attrs};
    RtKernelCtx c = {rt_allocator_default(), &err, 0, NULL, NULL};
    err.msg[0] = '\0';
    RtKernelFn fn = rt_kernel_find(op);
    cr_assert_not_null(fn, "no kernel for %s", rt_op_name(op));
    return fn(&c, &n, in, outp);
}

static uint64_t lcg_state = 12345;
static uint32_t lcg(void) {
    lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(lcg_state >> 33);
}

static const int64_t sc[1] = {0}; /* dims of a rank-0 tensor (unused) */

/* Checks kernel output q against the real value v (in output steps, zero point excluded) of the
 * float reference: exact match with clamp(nearbyint(v) + zp), except 1 LSB within the tie
 * tolerance of a half. Returns 1 when the element differed (legitimately). */
static int check_q(int32_t q, double v, int32_t zp, int32_t lo, int32_t hi, double tie_tol, const char *where,
                   int64_t i) {
    int32_t want = rt_round_sat(v, zp, lo, hi);
    if (q == want) return 0;
    double frac = v - floor(v);
    cr_assert(abs(q - want) == 1 && fabs(frac - 0.5) <= tie_tol,
              "%s element %lld: got %d, float reference %d (real %.9f, tie tolerance %.3g)", where, (long long)i, q,
              want, v + zp, tie_tol);
    return 1;
}

static double tie_tol(double m) {
    RtRequant r = rt_requant_make(m);
    return (r.shift < 0 ? ldexp(1.0, r.shift - 1) : 0.0) + TIE_EPS;
}

/* ---------------------------------------------------------------- QConv */

typedef struct {
    int N, C, H, W, M, group, k, stride, pad;
    int relu;       /* qmin = y_zp */
    int wz_per_ch;  /* uint8 weights with a zero point per output channel */
} ConvCase;

static void qconv_check(ConvCase cc) {
    const int Cg = cc.C / cc.group, Mg = cc.M / cc.group;
    const int OH = (cc.H + 2 * cc.pad - cc.k) / cc.stride + 1, OW = (cc.W + 2 * cc.pad - cc.k) / cc.stride + 1;
    int nx = cc.N * cc.C * cc.H * cc.W, nw = cc.M * Cg * cc.k * cc.k;
    uint8_t *x = malloc((size_t)nx), *w = malloc((size_t)nw), wz[16];
    float ws[16];
    int32_t b[16];
    for (int i = 0; i < nx; i++) x[i] = (uint8_t)(lcg() % 256);
    for (int i = 0; i < nw; i++) w[i] = (uint8_t)(lcg() % 256); /* int8 view unless wz_per_ch */
    for (int m = 0; m < cc.M; m++) {
        ws[m] = 0.002f + 0.0007f * (float)m;
        wz[m] = cc.wz_per_ch ? (uint8_t)(100 + 7 * m) : 0;
        b[m] = (int32_t)(lcg() % 2001) - 1000;
    }
    float xs = 0.02f, ys = 0.05f;
    uint8_t xz = 120, yz = 5;
    RtDtype wdt = cc.wz_per_ch ? RT_U8 : RT_I8;
    int64_t dx[] = {cc.N, cc.C, cc.H, cc.W}, dw[] = {cc.M, Cg, cc.k, cc.k}, dm[] = {cc.M};
    int64_t pads[] = {cc.pad, cc.pad, cc.pad, cc.pad}, strides[] = {cc.stride, cc.stride};
    RtTensor tx = rtt_tensor_c(RT_U8, 4, dx, x), txs = rtt_tensor_c(RT_F32, 0, sc, &xs);
    RtTensor txz = rtt_tensor_c(RT_U8, 0, sc, &xz);
    RtTensor tw = rtt_tensor_c(wdt, 4, dw, w), tws = rtt_tensor_c(RT_F32, 1, dm, ws);
    RtTensor twz = cc.wz_per_ch ? rtt_tensor_c(RT_U8, 1, dm, wz) : rtt_tensor_c(RT_I8, 0, sc, wz);
    RtTensor tys = rtt_tensor_c(RT_F32, 0, sc, &ys), tyz = rtt_tensor_c(RT_U8, 0, sc, &yz);
    RtTensor tb = rtt_tensor_c(RT_I32, 1, dm, b), out;
    RtTensor *in[] = {&tx, &txs, &txz, &tw, &tws, &twz, &tys, &tyz, &tb};
    RtAttr at[] = {rtt_attr_ints("pads", pads, 4), rtt_attr_ints("strides", strides, 2),
                   rtt_attr_int("group", cc.group), rtt_attr_int("qmin", yz)};
    cr_assert_eq(run(RT_OP_QCONV, in, 9, &out, at, cc.relu ? 4 : 3), RT_OK, "%s", err.msg);
    cr_assert(out.dtype == RT_U8 && out.rank == 4 && out.dims[0] == cc.N && out.dims[1] == cc.M &&
              out.dims[2] == OH && out.dims[3] == OW);
    const uint8_t *y = out.data;
    int diffs = 0;
    for (int n = 0; n < cc.N; n++)
        for (int m = 0; m < cc.M; m++) {
            int g = m / Mg;
            double mult = (double)xs * ws[m] / ys;
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    double acc = b[m] * (double)xs * ws[m]; /* the real-valued output, float reference */
                    for (int ci = 0; ci < Cg; ci++)
                        for (int kh = 0; kh < cc.k; kh++)
                            for (int kw = 0; kw < cc.k; kw++) {
                                int ih = oh * cc.stride - cc.pad + kh, iw = ow * cc.stride - cc.pad + kw;
                                if (ih < 0 || ih >= cc.H || iw < 0 || iw >= cc.W) continue;
                                int c = g * Cg + ci;
                                double xr = xs * ((double)x[((n * cc.C + c) * cc.H + ih) * cc.W + iw] - xz);
                                uint8_t wq = w[((m * Cg + ci) * cc.k + kh) * cc.k + kw];
                                int wv = cc.wz_per_ch ? wq - wz[m] : (int8_t)wq;
                                acc += xr * (ws[m] * (double)wv);
                            }
                    int64_t e = ((int64_t)(n * cc.M + m) * OH + oh) * OW + ow;
                    diffs += check_q(y[e], acc / ys, yz, cc.relu ? yz : 0, 255, tie_tol(mult), "QConv", e);
                }
        }
    /* ties within 2^(shift-1) of a half are rare: a handful at most on these sizes */
    cr_expect(diffs <= cc.N * cc.M * OH * OW / 50, "%d outputs differ by 1 LSB", diffs);
    free(out.data);
    free(x);
    free(w);
}

Test(qconv, dense_odd_sizes_per_channel) {
    qconv_check((ConvCase){1, 3, 7, 5, 4, 1, 3, 2, 1, 0, 0});
}

Test(qconv, depthwise_with_relu) {
    qconv_check((ConvCase){1, 3, 7, 5, 3, 3, 3, 2, 1, 1, 0});
}

Test(qconv, grouped_batch2_stride1_uint8_weights) {
    qconv_check((ConvCase){2, 6, 7, 5, 4, 2, 3, 1, 1, 0, 1});
}

Test(qconv, depthwise_channel_multiplier_2) {
    qconv_check((ConvCase){1, 3, 7, 5, 6, 3, 3, 1, 1, 0, 0});
}

Test(qconv, pointwise_direct_path) {
    /* 1x1, stride 1, no padding: the input is used as the im2col matrix directly */
    qconv_check((ConvCase){1, 5, 7, 5, 3, 1, 1, 1, 0, 1, 1});
}

Test(qconv, im2col_chunks_start_mid_row) {
    /* Cg*K = 27 columns per position and 400 x 401 positions exceed the 4M-value im2col
     * budget, so the output columns are done in two chunks, the second starting inside a row */
    qconv_check((ConvCase){1, 3, 400, 401, 2, 1, 3, 1, 1, 0, 0});
}

/* ---------------------------------------------------------------- QLinear */

static void qlinear_check(int K, int N, int per_ch_zp) {
    enum { R = 6 }; /* x [2, 3, K] */
    uint8_t *x = malloc((size_t)(R * K));
    int8_t *w = malloc((size_t)(N * K)), wz[8];
    float ws[8];
    int32_t b[8];
    for (int i = 0; i < R * K; i++) x[i] = (uint8_t)(lcg() % 256);
    for (int i = 0; i < N * K; i++) w[i] = (int8_t)((int)(lcg() % 255) - 127);
    for (int j = 0; j < N; j++) {
        ws[j] = 0.004f + 0.0013f * (float)j;
        wz[j] = per_ch_zp ? (int8_t)(j - 3) : 0;
        b[j] = (int32_t)(lcg() % 4001) - 2000;
    }
    float xs = 0.03f, ys = 0.2f;
    uint8_t xz = 128, yz = 128;
    int64_t dx[] = {2, 3, K}, dw[] = {N, K}, dn[] = {N};
    RtTensor tx = rtt_tensor_c(RT_U8, 3, dx, x), txs = rtt_tensor_c(RT_F32, 0, sc, &xs);
    RtTensor txz = rtt_tensor_c(RT_U8, 0, sc, &xz);
    RtTensor tw = rtt_tensor_c(RT_I8, 2, dw, w), tws = rtt_tensor_c(RT_F32, 1, dn, ws);
    RtTensor twz = per_ch_zp ? rtt_tensor_c(RT_I8, 1, dn, wz) : rtt_tensor_c(RT_I8, 0, sc, wz);
    RtTensor tys = rtt_tensor_c(RT_F32, 0, sc, &ys), tyz = rtt_tensor_c(RT_U8, 0, sc, &yz);
    RtTensor tb = rtt_tensor_c(RT_I32, 1, dn, b), out;
    RtTensor *in[] = {&tx, &txs, &txz, &tw, &tws, &twz, &tys, &tyz, &tb};
    cr_assert_eq(run(RT_OP_QLINEAR, in, 9, &out, NULL, 0), RT_OK, "K=%d N=%d: %s", K, N, err.msg);
    cr_assert(out.rank == 3 && out.dims[0] == 2 && out.dims[1] == 3 && out.dims[2] == N);
    for (int r = 0; r < R; r++)
        for (int j = 0; j < N; j++) {
            double v = b[j] * (double)xs * ws[j];
            for (int k = 0; k < K; k++) v += xs * ((double)x[r * K + k] - xz) * (ws[j] * (double)(w[j * K + k] - wz[j]));
            char where[32];
            snprintf(where, sizeof where, "QLinear K=%d N=%d", K, N);
            check_q(((uint8_t *)out.data)[r * N + j], v / ys, yz, 0, 255, tie_tol((double)xs * ws[j] / ys), where,
                    r * N + j);
        }
    free(out.data);
    free(x);
    free(w);
}

Test(qlinear, k_and_n_sweep) {
    const int Ks[] = {1, 3, 17, 129}, Ns[] = {1, 7};
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 2; j++) qlinear_check(Ks[i], Ns[j], (i + j) % 2);
}

Test(qlinear, refuses_mismatched_k) {
    uint8_t x[6] = {0}, z = 0;
    int8_t w[6] = {0};
    float s = 1.0f;
    int64_t dx[] = {2, 3}, dw[] = {3, 2};
    RtTensor tx = rtt_tensor_c(RT_U8, 2, dx, x), tw = rtt_tensor_c(RT_I8, 2, dw, w);
    RtTensor ts = rtt_tensor_c(RT_F32, 0, sc, &s), tz = rtt_tensor_c(RT_U8, 0, sc, &z);
    RtTensor out, *in[] = {&tx, &ts, &tz, &tw, &ts, NULL, &ts, &tz};
    cr_expect_eq(run(RT_OP_QLINEAR, in, 8, &out, NULL, 0), RT_ERR);
    cr_expect(strstr(err.msg, "w[N, K]") != NULL, "%s", err.msg);
}

/* ---------------------------------------------------------------- QAdd, QMul */

/* a [256] holding every value of its dtype, b [B, 1]: y [B, 256] with broadcasting both ways. */
static void qbinary_check(int op, RtDtype dt, float sa, int za, float sb, int zb, float sy, int zy, int relu) {
    enum { B = 5 };
    uint8_t a[256], b[B];
    for (int i = 0; i < 256; i++) a[i] = (uint8_t)i;
    for (int i = 0; i < B; i++) b[i] = (uint8_t)(lcg() % 256);
    int32_t lo, hi;
    rt_qrange(dt, &lo, &hi);
    uint8_t zab[3] = {(uint8_t)za, (uint8_t)zb, (uint8_t)zy};
    int64_t da[] = {256}, db[] = {B, 1};
    RtTensor ta = rtt_tensor_c(dt, 1, da, a), tb = rtt_tensor_c(dt, 2, db, b);
    RtTensor tas = rtt_tensor_c(RT_F32, 0, sc, &sa), tbs = rtt_tensor_c(RT_F32, 0, sc, &sb);
    RtTensor tys = rtt_tensor_c(RT_F32, 0, sc, &sy), taz = rtt_tensor_c(dt, 0, sc, &zab[0]);
    RtTensor tbz = rtt_tensor_c(dt, 0, sc, &zab[1]);
    RtTensor tyz = rtt_tensor_c(dt, 0, sc, &zab[2]), out, *in[] = {&ta, &tas, &taz, &tb, &tbs, &tbz, &tys, &tyz};
    RtAttr at[] = {rtt_attr_int("qmin", dt == RT_I8 ? (int8_t)zy : zy)}; /* fused Relu: qmin = y_zp */
    cr_assert_eq(run(op, in, 8, &out, at, relu), RT_OK, "%s", err.msg);
    cr_assert(out.rank == 2 && out.dims[0] == B && out.dims[1] == 256);
    int mul = op == RT_OP_QMUL;
    /* QAdd's inputs are rounded at 2^-20 of their step and its output multiplier is tiny
     * (shift about -19), so only the final rounding matters: tie tolerance TIE_EPS + 2^-19 */
    double tol = mul ? tie_tol((double)sa * sb / sy) : TIE_EPS + ldexp(1.0, -19);
    for (int r = 0; r < B; r++)
        for (int i = 0; i < 256; i++) {
            int va = dt == RT_I8 ? (int8_t)a[i] : a[i], vb = dt == RT_I8 ? (int8_t)b[r] : b[r];
            double ra = sa * (double)(va - (dt == RT_I8 ? (int8_t)za : za));
            double rb = sb * (double)(vb - (dt == RT_I8 ? (int8_t)zb : zb));
            int64_t e = r * 256 + i;
            int32_t q = dt == RT_I8 ? ((int8_t *)out.data)[e] : ((uint8_t *)out.data)[e];
            int32_t z = dt == RT_I8 ? (int8_t)zy : zy;
            check_q(q, (mul ? ra * rb : ra + rb) / sy, z, relu ? z : lo, hi, tol, mul ? "QMul" : "QAdd", e);
        }
    free(out.data);
}

Test(qadd, uint8_broadcast_with_fused_relu) {
    qbinary_check(RT_OP_QADD, RT_U8, 0.1f, 100, 0.07f, 30, 0.15f, 60, 1);
}

Test(qadd, int8_different_scales_saturating) {
    qbinary_check(RT_OP_QADD, RT_I8, 0.02f, 0, 0.5f, 10, 0.3f, (uint8_t)(int8_t)-5, 0);
}

Test(qmul, int8_broadcast_with_fused_relu) {
    qbinary_check(RT_OP_QMUL, RT_I8, 0.05f, (uint8_t)(int8_t)3, 0.02f, 0, 0.01f, (uint8_t)(int8_t)-20, 1);
}

Test(qmul, uint8_large_multiplier) {
    /* M = 0.5 * 0.4 / 0.05 = 4 > 1: the left-shift path */
    qbinary_check(RT_OP_QMUL, RT_U8, 0.5f, 128, 0.4f, 120, 0.05f, 128, 0);
}

/* ---------------------------------------------------------------- pools */

static int32_t div_away(int64_t s, int64_t n) { return (int32_t)(s >= 0 ? (s + n / 2) / n : -((-s + n / 2) / n)); }

/* x [1, 2, 5, 5], kernel 3, stride 2, pads 1: 3x3 outputs per channel. */
static void qavgpool_check(float xs, float ys, int include_pad) {
    enum { C = 2, H = 5, W = 5, O = 3 };
    uint8_t x[C * H * W], xz = 77, yz = 77;
    for (int i = 0; i < C * H * W; i++) x[i] = (uint8_t)(lcg() % 256);
    int64_t dx[] = {1, C, H, W}, k[] = {3, 3}, s[] = {2, 2}, p[] = {1, 1, 1, 1};
    RtTensor tx = rtt_tensor_c(RT_U8, 4, dx, x), txs = rtt_tensor_c(RT_F32, 0, sc, &xs);
    RtTensor txz = rtt_tensor_c(RT_U8, 0, sc, &xz);
    RtTensor tys = rtt_tensor_c(RT_F32, 0, sc, &ys);
    RtTensor tyz = rtt_tensor_c(RT_U8, 0, sc, &yz), out, *in[] = {&tx, &txs, &txz, &tys, &tyz};
    RtAttr at[] = {rtt_attr_ints("kernel_shape", k, 2), rtt_attr_ints("strides", s, 2), rtt_attr_ints("pads", p, 4),
                   rtt_attr_int("count_include_pad", include_pad)};
    cr_assert_eq(run(RT_OP_QAVERAGE_POOL, in, 5, &out, at, 4), RT_OK, "%s", err.msg);
    cr_assert(out.rank == 4 && out.dims[2] == O && out.dims[3] == O);
    double m = (double)xs / ys;
    for (int c = 0; c < C; c++)
        for (int oh = 0; oh < O; oh++)
            for (int ow = 0; ow < O; ow++) {
                int64_t sum = 0, cnt = 0;
                for (int kh = 0; kh < 3; kh++)
                    for (int kw = 0; kw < 3; kw++) {
                        int ih = oh * 2 - 1 + kh, iw = ow * 2 - 1 + kw;
                        int inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
                        if (inside) sum += x[(c * H + ih) * W + iw] - xz;
                        cnt += inside || include_pad;
                    }
                int e = (c * O + oh) * O + ow;
                int32_t q = ((uint8_t *)out.data)[e];
                if (xs == ys) {
                    /* M = 1 is exact: the kernel's average is the rounding half away from zero */
                    int32_t want = div_away(sum, cnt) + yz;
                    want = want < 0 ? 0 : want > 255 ? 255 : want;
                    cr_expect_eq(q, want, "element %d: got %d want %d", e, q, want);
                } else {
                    /* two roundings (the average, then the requantization by M): within
                     * 1/2 + M/2 (+ SRDHM's 2^(shift-1)) of the real value, clamped like q */
                    double v = (double)sum / (double)cnt * m + yz;
                    v = v < 0 ? 0 : v > 255 ? 255 : v;
                    cr_expect(fabs(q - v) <= 0.5 + 0.5 * m + tie_tol(m), "element %d: got %d real %.6f", e, q, v);
                }
            }
    free(out.data);
}

Test(qaverage_pool, same_scale_exact_both_pad_counts) {
    qavgpool_check(0.1f, 0.1f, 0);
    qavgpool_check(0.1f, 0.1f, 1);
}

Test(qaverage_pool, rescaled) {
    qavgpool_check(0.1f, 0.13f, 0);
    qavgpool_check(0.1f, 0.07f, 1);
}

Test(qglobal_average_pool, rounds_half_away_and_rescales) {
    /* plane sums (zero point 10 removed): 2 / 4 = 0.5 -> 1; -2 / 4 = -0.5 -> -1; 6 / 4 = 1.5 -> 2 */
    const int8_t x[] = {10, 11, 11, 10, 10, 9, 9, 10, 12, 12, 11, 11};
    float xs = 0.5f, ys = 0.25f;
    int8_t xz = 10, yz = -3;
    int64_t dx[] = {1, 3, 2, 2};
    RtTensor tx = rtt_tensor_c(RT_I8, 4, dx, x), txs = rtt_tensor_c(RT_F32, 0, sc, &xs);
    RtTensor txz = rtt_tensor_c(RT_I8, 0, sc, &xz);
    RtTensor tys = rtt_tensor_c(RT_F32, 0, sc, &ys);
    RtTensor tyz = rtt_tensor_c(RT_I8, 0, sc, &yz), out, *in[] = {&tx, &txs, &txz, &tys, &tyz};
    cr_assert_eq(run(RT_OP_QGLOBAL_AVERAGE_POOL, in, 5, &out, NULL, 0), RT_OK, "%s", err.msg);
    cr_assert(out.rank == 4 && out.dims[1] == 3 && out.dims[2] == 1 && out.dims[3] == 1);
    const int8_t want[] = {-1, -5, 1}; /* averages 1, -1, 2 times M = 2, then -3 */
    cr_expect_arr_eq(out.data, want, sizeof want);
    free(out.data);
}

/* ---------------------------------------------------------------- QConcat */

Test(qconcat, inputs_with_different_scales) {
    const uint8_t x0[] = {0, 10, 200, 255}; /* [2, 2], same parameters as the output: copied */
    const uint8_t x1[] = {1, 3, 255, 0, 2, 4}; /* [2, 3], half the output's scale */
    const uint8_t x2[] = {0, 250};            /* [2, 1], twice the output's scale: saturates */
    float ys = 0.5f, s0 = 0.5f, s1 = 0.25f, s2 = 1.0f;
    uint8_t yz = 10, z0 = 10, z1 = 0, z2 = 100;
    int64_t d0[] = {2, 2}, d1[] = {2, 3}, d2[] = {2, 1};
    RtTensor tys = rtt_tensor_c(RT_F32, 0, sc, &ys), tyz = rtt_tensor_c(RT_U8, 0, sc, &yz);
    RtTensor t0 = rtt_tensor_c(RT_U8, 2, d0, x0), ts0 = rtt_tensor_c(RT_F32, 0, sc, &s0);
    RtTensor tz0 = rtt_tensor_c(RT_U8, 0, sc, &z0);
    RtTensor t1 = rtt_tensor_c(RT_U8, 2, d1, x1), ts1 = rtt_tensor_c(RT_F32, 0, sc, &s1);
    RtTensor tz1 = rtt_tensor_c(RT_U8, 0, sc, &z1);
    RtTensor t2 = rtt_tensor_c(RT_U8, 2, d2, x2), ts2 = rtt_tensor_c(RT_F32, 0, sc, &s2);
    RtTensor tz2 = rtt_tensor_c(RT_U8, 0, sc, &z2);
    RtTensor out, *in[] = {&tys, &tyz, &t0, &ts0, &tz0, &t1, &ts1, &tz1, &t2, &ts2, &tz2};
    RtAttr at[] = {rtt_attr_int("axis", -1)};
    cr_assert_eq(run(RT_OP_QCONCAT, in, 11, &out, at, 1), RT_OK, "%s", err.msg);
    cr_assert(out.rank == 2 && out.dims[0] == 2 && out.dims[1] == 6);
    /* x1 * 0.5 (M = 0.5, SRDHM ties up): 0.5 -> 1, 1.5 -> 2, 127.5 -> 128, 0, 1, 2; + 10
     * x2: (q - 100) * 2 + 10: -190 -> 0 and 310 -> 255 (saturated) */
    const uint8_t want[] = {0, 10, 11, 12, 138, 0, 200, 255, 10, 11, 12, 255};
    cr_expect_arr_eq(out.data, want, sizeof want);
    free(out.data);
}

Test(qconcat, refuses_mismatched_shapes) {
    uint8_t x[6] = {0}, z = 0;
    float s = 1.0f;
    int64_t d0[] = {2, 3}, d1[] = {3, 2};
    RtTensor ts = rtt_tensor_c(RT_F32, 0, sc, &s), tz = rtt_tensor_c(RT_U8, 0, sc, &z);
    RtTensor t0 = rtt_tensor_c(RT_U8, 2, d0, x), t1 = rtt_tensor_c(RT_U8, 2, d1, x);
    RtTensor out, *in[] = {&ts, &tz, &t0, &ts, &tz, &t1, &ts, &tz};
    RtAttr at[] = {rtt_attr_int("axis", 1)};
    cr_expect_eq(run(RT_OP_QCONCAT, in, 8, &out, at, 1), RT_ERR);
}
