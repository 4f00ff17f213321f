/*
 * test_signal.c — DFT, STFT, the three windows and MelWeightMatrix of
 * runtime/kernels/ref/signal.c on cases worked out by hand:
 *   DFT of [1, 2, 3, 4]: X = [10, -2+2i, -2, -2-2i] (X[k] = sum x[n] (-i)^(kn)), its inverse,
 *   one-sided, truncated and zero-padded dft_length, the axis attribute (opset 17) and input
 *   (opset 20, where -2 counts from the back); STFT frames of [1, 2, 3, 4] with and without a
 *   window; window values from the spec's formulas at n / N = 0, 1/4, 1/2, 3/4; a one-bin
 *   mel filter bank; shape mode and the error paths.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#include "rt_test_util.h"

/* The results are sums of a few products with cos/sin of multiples of pi/2, computed in
 * double and rounded once to float: 1e-6 covers the float rounding of values up to 10. */
#define SIG_TOL 1e-6

static float g_x4[4] = {1, 2, 3, 4};

/* DFT at the given opset of x (dims xd) with optional dft_length (< 0 absent), axis input
 * (opset 20; INT64_MIN absent) and attributes. */
static int run_dft(int opset, RtTensor *x, int64_t len, int64_t axis_in, RtAttr *attrs, int n_attr, RtTensor *out) {
    static int64_t l, ax;
    l = len;
    ax = axis_in;
    static RtTensor tl, ta;
    tl = rtt_tensor(RT_I64, 0, NULL, &l);
    ta = rtt_tensor(RT_I64, 0, NULL, &ax);
    RtTensor *in[] = {x, len < 0 ? NULL : &tl, axis_in == INT64_MIN ? NULL : &ta};
    return rtt_run1(RT_OP_DFT, opset, in, opset >= 20 ? 3 : 2, out, attrs, n_attr, 0);
}

Test(dft, four_point_real_full_and_onesided) {
    RtTensor x = rtt_tensor(RT_F32, 3, (int64_t[]){1, 4, 1}, g_x4), out;
    cr_assert_eq(run_dft(17, &x, -1, INT64_MIN, NULL, 0, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 3, (int64_t[]){1, 4, 2});
    rtt_expect_f32(&out, (float[]){10, 0, -2, 2, -2, 0, -2, -2}, 8, SIG_TOL, 0);
    rtt_free_outputs(&out, 1);
    RtAttr os[] = {rtt_attr_int("onesided", 1)};
    cr_assert_eq(run_dft(17, &x, -1, INT64_MIN, os, 1, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 3, (int64_t[]){1, 3, 2}); /* floor(4 / 2) + 1 bins */
    rtt_expect_f32(&out, (float[]){10, 0, -2, 2, -2, 0}, 6, SIG_TOL, 0);
    rtt_free_outputs(&out, 1);
}

Test(dft, inverse_of_the_spectrum_is_the_signal) {
    float spec[8] = {10, 0, -2, 2, -2, 0, -2, -2};
    RtTensor x = rtt_tensor(RT_F32, 3, (int64_t[]){1, 4, 2}, spec), out;
    RtAttr inv[] = {rtt_attr_int("inverse", 1)};
    cr_assert_eq(run_dft(17, &x, -1, INT64_MIN, inv, 1, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){1, 0, 2, 0, 3, 0, 4, 0}, 8, SIG_TOL, 0);
    rtt_free_outputs(&out, 1);
}

Test(dft, dft_length_truncates_and_pads) {
    RtTensor x = rtt_tensor(RT_F32, 3, (int64_t[]){1, 4, 1}, g_x4), out;
    /* [1, 2]: X = [3, -1] */
    cr_assert_eq(run_dft(17, &x, 2, INT64_MIN, NULL, 0, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 3, (int64_t[]){1, 2, 2});
    rtt_expect_f32(&out, (float[]){3, 0, -1, 0}, 4, SIG_TOL, 0);
    rtt_free_outputs(&out, 1);
    /* [1, 2, 3, 4, 0, 0]: X[0] = 10; X[3] = sum x[n] (-1)^n = -2;
     * X[1] = sum x[n] w^n, w = e^(-i pi/3) = 1/2 - i sqrt(3)/2:
     *   1 + 2 w + 3 w^2 + 4 w^3 with w^2 = -1/2 - i sqrt(3)/2, w^3 = -1
     *   = 1 + 1 - 1.5 - 4 + i (-sqrt(3) - 1.5 sqrt(3)) = -3.5 - 2.5 sqrt(3) i */
    cr_assert_eq(run_dft(17, &x, 6, INT64_MIN, NULL, 0, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 3, (int64_t[]){1, 6, 2});
    const float *y = out.data;
    cr_expect_float_eq(y[0], 10.0f, SIG_TOL);
    cr_expect_float_eq(y[2], -3.5f, SIG_TOL);
    cr_expect_float_eq(y[3], (float)(-2.5 * sqrt(3.0)), SIG_TOL);
    cr_expect_float_eq(y[6], -2.0f, SIG_TOL);
    cr_expect_float_eq(y[7], 0.0f, SIG_TOL);
    rtt_free_outputs(&out, 1);
}

/* x = [[1, 2], [3, 4]] as [1, 2, 2, 1]. Along axis 2 the lines are [1, 2] -> [3, -1] and
 * [3, 4] -> [7, -1]; along axis 1 they are [1, 3] -> [4, -2] and [2, 4] -> [6, -2]. */
Test(dft, axis_attribute_and_input) {
    RtTensor x = rtt_tensor(RT_F32, 4, (int64_t[]){1, 2, 2, 1}, g_x4), out;
    RtAttr a2[] = {rtt_attr_int("axis", 2)};
    cr_assert_eq(run_dft(17, &x, -1, INT64_MIN, a2, 1, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){3, 0, -1, 0, 7, 0, -1, 0}, 8, SIG_TOL, 0);
    rtt_free_outputs(&out, 1);
    /* opset 17's default axis is 1 */
    cr_assert_eq(run_dft(17, &x, -1, INT64_MIN, NULL, 0, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){4, 0, 6, 0, -2, 0, -2, 0}, 8, SIG_TOL, 0);
    rtt_free_outputs(&out, 1);
    /* opset 20: axis input -2 of rank 4 is axis 2; absent it defaults to -2 too */
    cr_assert_eq(run_dft(20, &x, -1, -2, NULL, 0, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){3, 0, -1, 0, 7, 0, -1, 0}, 8, SIG_TOL, 0);
    rtt_free_outputs(&out, 1);
    cr_assert_eq(run_dft(20, &x, -1, INT64_MIN, NULL, 0, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){3, 0, -1, 0, 7, 0, -1, 0}, 8, SIG_TOL, 0);
    rtt_free_outputs(&out, 1);
    cr_assert_eq(run_dft(20, &x, -1, 1, NULL, 0, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){4, 0, 6, 0, -2, 0, -2, 0}, 8, SIG_TOL, 0);
    rtt_free_outputs(&out, 1);
}

/* 8 points (the FFT path; 4 above too, 6 the direct sum):
 *   x = delta[n - 1]: X[k] = e^(-2 pi i k / 8) = cos(pi k / 4) - i sin(pi k / 4)
 *   x = cos(2 pi n / 8): X[1] = X[7] = 4, every other bin 0
 *   inverse of X = 1 everywhere: x[n] = 1/8 sum_k e^(2 pi i k n / 8) = delta[n] */
Test(dft, eight_points) {
    float d[8] = {0, 1, 0, 0, 0, 0, 0, 0}, cw[8], want[16];
    for (int n = 0; n < 8; n++) cw[n] = (float)cos(M_PI * n / 4);
    RtTensor x = rtt_tensor(RT_F32, 3, (int64_t[]){1, 8, 1}, d), out;
    cr_assert_eq(run_dft(17, &x, -1, INT64_MIN, NULL, 0, &out), RT_OK, "%s", rtt_err.msg);
    for (int k = 0; k < 8; k++) want[2 * k] = (float)cos(M_PI * k / 4), want[2 * k + 1] = (float)-sin(M_PI * k / 4);
    rtt_expect_f32(&out, want, 16, SIG_TOL, 0);
    rtt_free_outputs(&out, 1);
    x.data = cw;
    cr_assert_eq(run_dft(17, &x, -1, INT64_MIN, NULL, 0, &out), RT_OK, "%s", rtt_err.msg);
    memset(want, 0, sizeof want);
    want[2] = want[14] = 4;
    rtt_expect_f32(&out, want, 16, SIG_TOL, 0);
    rtt_free_outputs(&out, 1);
    float ones[16];
    for (int k = 0; k < 8; k++) ones[2 * k] = 1, ones[2 * k + 1] = 0;
    RtTensor X = rtt_tensor(RT_F32, 3, (int64_t[]){1, 8, 2}, ones);
    RtAttr inv[] = {rtt_attr_int("inverse", 1)};
    cr_assert_eq(run_dft(17, &X, -1, INT64_MIN, inv, 1, &out), RT_OK, "%s", rtt_err.msg);
    memset(want, 0, sizeof want);
    want[0] = 1;
    rtt_expect_f32(&out, want, 16, SIG_TOL, 0);
    rtt_free_outputs(&out, 1);
}

/* Mixed-radix lengths 9 (3 x 3), 10 (2 x 5), 12 (2 x 2 x 3) and the prime 7: the DFT of
 * delta[n - 2] is X[k] = e^(-2 pi i 2k / L) = cos(4 pi k / L) - i sin(4 pi k / L). */
Test(dft, impulse_at_mixed_radix_lengths) {
    static const int lens[] = {7, 9, 10, 12};
    for (int li = 0; li < 4; li++) {
        int L = lens[li];
        float d[12] = {0}, want[24];
        d[2] = 1;
        RtTensor x = rtt_tensor(RT_F32, 3, (int64_t[]){1, L, 1}, d), out;
        cr_assert_eq(run_dft(17, &x, -1, INT64_MIN, NULL, 0, &out), RT_OK, "%s", rtt_err.msg);
        for (int k = 0; k < L; k++)
            want[2 * k] = (float)cos(4 * M_PI * k / L), want[2 * k + 1] = (float)-sin(4 * M_PI * k / L);
        cr_expect_eq(rtt_expect_f32(&out, want, 2 * L, SIG_TOL, 0), 0, "length %d", L);
        rtt_free_outputs(&out, 1);
    }
}

Test(dft, double_input_gives_double_output) {
    double xd[4] = {1, 2, 3, 4};
    RtTensor x = rtt_tensor(RT_F64, 3, (int64_t[]){1, 4, 1}, xd), out;
    cr_assert_eq(run_dft(17, &x, -1, INT64_MIN, NULL, 0, &out), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(out.dtype, RT_F64);
    const double *y = out.data;
    double want[8] = {10, 0, -2, 2, -2, 0, -2, -2};
    for (int i = 0; i < 8; i++) cr_expect(fabs(y[i] - want[i]) < 1e-12, "element %d: %.17g", i, y[i]);
    rtt_free_outputs(&out, 1);
}

Test(dft, shape_mode) {
    RtTensor x = rtt_tensor(RT_F32, 3, (int64_t[]){2, 7, 1}, NULL), out;
    RtAttr os[] = {rtt_attr_int("onesided", 1)};
    RtTensor *in[] = {&x};
    cr_assert_eq(rtt_run1(RT_OP_DFT, 17, in, 1, &out, os, 1, 1), RT_SHAPE_ONLY, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 3, (int64_t[]){2, 4, 2});
}

Test(dft, errors) {
    float buf[12] = {0};
    RtTensor out;
    RtTensor bad_last = rtt_tensor(RT_F32, 3, (int64_t[]){1, 4, 3}, buf);
    cr_expect_eq(run_dft(17, &bad_last, -1, INT64_MIN, NULL, 0, &out), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "last axis") != NULL, "%s", rtt_err.msg);
    RtTensor x = rtt_tensor(RT_F32, 3, (int64_t[]){1, 4, 1}, g_x4);
    RtAttr ax[] = {rtt_attr_int("axis", 2)}; /* the complex axis */
    cr_expect_eq(run_dft(17, &x, -1, INT64_MIN, ax, 1, &out), RT_ERR);
    RtAttr ax5[] = {rtt_attr_int("axis", -4)};
    cr_expect_eq(run_dft(17, &x, -1, INT64_MIN, ax5, 1, &out), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "out of range") != NULL, "%s", rtt_err.msg);
    cr_expect_eq(run_dft(17, &x, 0, INT64_MIN, NULL, 0, &out), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "dft_length") != NULL, "%s", rtt_err.msg);
    RtTensor cx = rtt_tensor(RT_F32, 3, (int64_t[]){1, 4, 2}, buf);
    RtAttr os[] = {rtt_attr_int("onesided", 1)};
    cr_expect_eq(run_dft(17, &cx, -1, INT64_MIN, os, 1, &out), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "onesided") != NULL, "%s", rtt_err.msg);
    RtTensor empty = rtt_tensor(RT_F32, 3, (int64_t[]){1, 0, 1}, buf);
    cr_expect_eq(run_dft(17, &empty, -1, INT64_MIN, NULL, 0, &out), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "empty") != NULL, "%s", rtt_err.msg);
    /* the inverse of a one-sided spectrum is refused as unsupported, not guessed */
    RtAttr osinv[] = {rtt_attr_int("onesided", 1), rtt_attr_int("inverse", 1)};
    cr_expect_eq(run_dft(17, &x, -1, INT64_MIN, osinv, 2, &out), RT_ERR_UNSUPPORTED);
    /* opset 20 takes axis as input 2 only */
    RtAttr ax1[] = {rtt_attr_int("axis", 1)};
    cr_expect_eq(run_dft(20, &x, -1, INT64_MIN, ax1, 1, &out), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "input 2") != NULL, "%s", rtt_err.msg);
    int32_t ib[4] = {1, 2, 3, 4};
    RtTensor xi = rtt_tensor(RT_I32, 3, (int64_t[]){1, 4, 1}, ib);
    cr_expect_eq(run_dft(17, &xi, -1, INT64_MIN, NULL, 0, &out), RT_ERR_UNSUPPORTED);
}

/* ---------------------------------------------------------------- STFT */

static int run_stft(RtTensor *sig, int64_t step, RtTensor *win, int64_t flen, RtAttr *attrs, int n_attr,
                    RtTensor *out) {
    static int64_t s, f;
    s = step;
    f = flen;
    static RtTensor ts, tf;
    ts = rtt_tensor(RT_I64, 0, NULL, &s);
    tf = rtt_tensor(RT_I64, 0, NULL, &f);
    RtTensor *in[] = {sig, &ts, win, flen < 0 ? NULL : &tf};
    return rtt_run1(RT_OP_STFT, 17, in, 4, out, attrs, n_attr, 0);
}

/* Frames of length 2 every 2 samples of [1, 2, 3, 4]: [1, 2] -> [3, -1], [3, 4] -> [7, -1];
 * with window [0.5, 1]: [0.5, 2] -> [2.5, -1.5], [1.5, 4] -> [5.5, -2.5]. */
Test(stft, frames_with_and_without_window) {
    RtTensor sig = rtt_tensor(RT_F32, 3, (int64_t[]){1, 4, 1}, g_x4), out;
    cr_assert_eq(run_stft(&sig, 2, NULL, 2, NULL, 0, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 4, (int64_t[]){1, 2, 2, 2});
    rtt_expect_f32(&out, (float[]){3, 0, -1, 0, 7, 0, -1, 0}, 8, SIG_TOL, 0);
    rtt_free_outputs(&out, 1);
    float w[2] = {0.5f, 1.0f};
    RtTensor win = rtt_tensor(RT_F32, 1, (int64_t[]){2}, w);
    cr_assert_eq(run_stft(&sig, 2, &win, -1, NULL, 0, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){2.5f, 0, -1.5f, 0, 5.5f, 0, -2.5f, 0}, 8, SIG_TOL, 0);
    rtt_free_outputs(&out, 1);
    /* step 1, length 3, two-sided: frames [1,2,3], [2,3,4]; X[0] = 6 and 9,
     * X[1] = x0 + x1 w + x2 w^2 with w = e^(-2 pi i / 3): 1 + 2w + 3w^2 = -1.5 + i sqrt(3)/2 */
    RtAttr two[] = {rtt_attr_int("onesided", 0)};
    cr_assert_eq(run_stft(&sig, 1, NULL, 3, two, 1, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 4, (int64_t[]){1, 2, 3, 2});
    const float *y = out.data;
    cr_expect_float_eq(y[0], 6.0f, SIG_TOL);
    cr_expect_float_eq(y[2], -1.5f, SIG_TOL);
    cr_expect_float_eq(y[3], (float)(sqrt(3.0) / 2), SIG_TOL);
    cr_expect_float_eq(y[6], 9.0f, SIG_TOL);
    rtt_free_outputs(&out, 1);
}

Test(stft, errors) {
    RtTensor sig = rtt_tensor(RT_F32, 3, (int64_t[]){1, 4, 1}, g_x4), out;
    cr_expect_eq(run_stft(&sig, 2, NULL, -1, NULL, 0, &out), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "frame_length") != NULL, "%s", rtt_err.msg);
    cr_expect_eq(run_stft(&sig, 0, NULL, 2, NULL, 0, &out), RT_ERR);
    cr_expect_eq(run_stft(&sig, 1, NULL, 5, NULL, 0, &out), RT_ERR);
    float w[3] = {1, 1, 1};
    RtTensor win = rtt_tensor(RT_F32, 1, (int64_t[]){3}, w);
    cr_expect_eq(run_stft(&sig, 1, &win, 2, NULL, 0, &out), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "differs") != NULL, "%s", rtt_err.msg);
    RtTensor flat = rtt_tensor(RT_F32, 2, (int64_t[]){1, 4}, g_x4);
    cr_expect_eq(run_stft(&flat, 1, NULL, 2, NULL, 0, &out), RT_ERR);
}

/* ---------------------------------------------------------------- windows */

static int run_window(int op, int64_t size, RtAttr *attrs, int n_attr, RtTensor *out) {
    static int64_t s;
    s = size;
    static RtTensor ts;
    ts = rtt_tensor(RT_I64, 0, NULL, &s);
    RtTensor *in[] = {&ts};
    return rtt_run1(op, 17, in, 1, out, attrs, n_attr, 0);
}

/* Periodic size 4: N = 4, 2 pi n / N = 0, pi/2, pi, 3pi/2 (cos 1, 0, -1, 0).
 * Hann 0.5 - 0.5 cos: 0, .5, 1, .5. Hamming 25/46 - 21/46 cos: 4/46, 25/46, 1, 25/46.
 * Blackman 0.42 - 0.5 cos + 0.08 cos(2t) (cos 2t: 1, -1, 1, -1): 0, .34, 1, .34. */
Test(window, periodic_values_from_the_formulas) {
    RtTensor out;
    cr_assert_eq(run_window(RT_OP_HANN_WINDOW, 4, NULL, 0, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){0, 0.5f, 1, 0.5f}, 4, SIG_TOL, 0);
    rtt_free_outputs(&out, 1);
    cr_assert_eq(run_window(RT_OP_HAMMING_WINDOW, 4, NULL, 0, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){4.0f / 46, 25.0f / 46, 1, 25.0f / 46}, 4, SIG_TOL, 0);
    rtt_free_outputs(&out, 1);
    cr_assert_eq(run_window(RT_OP_BLACKMAN_WINDOW, 4, NULL, 0, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){0, 0.34f, 1, 0.34f}, 4, SIG_TOL, 0);
    rtt_free_outputs(&out, 1);
}

/* Symmetric size 5: N = 4, the same four points plus the end point n = 4 (= n = 0). */
Test(window, symmetric_and_dtype) {
    RtAttr sym[] = {rtt_attr_int("periodic", 0), rtt_attr_int("output_datatype", RT_F64)};
    RtTensor out;
    cr_assert_eq(run_window(RT_OP_HANN_WINDOW, 5, sym, 2, &out), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(out.dtype, RT_F64);
    rtt_expect_dims(&out, 1, (int64_t[]){5});
    const double *y = out.data;
    double want[5] = {0, 0.5, 1, 0.5, 0};
    for (int i = 0; i < 5; i++) cr_expect(fabs(y[i] - want[i]) < 1e-15, "element %d: %.17g", i, y[i]);
    rtt_free_outputs(&out, 1);
    /* symmetric size 1 (N = 0): the single value 1 */
    cr_assert_eq(run_window(RT_OP_BLACKMAN_WINDOW, 1, sym, 1, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){1}, 1, 0, 0);
    rtt_free_outputs(&out, 1);
    cr_assert_eq(run_window(RT_OP_HAMMING_WINDOW, 0, NULL, 0, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 1, (int64_t[]){0});
    rtt_free_outputs(&out, 1);
}

Test(window, errors) {
    RtTensor out;
    cr_expect_eq(run_window(RT_OP_HANN_WINDOW, -1, NULL, 0, &out), RT_ERR);
    RtAttr str[] = {rtt_attr_int("output_datatype", RT_STRING)};
    cr_expect_eq(run_window(RT_OP_HANN_WINDOW, 4, str, 1, &out), RT_ERR_UNSUPPORTED);
    RtAttr per[] = {rtt_attr_int("periodic", 2)};
    cr_expect_eq(run_window(RT_OP_HANN_WINDOW, 4, per, 1, &out), RT_ERR);
    float f = 4;
    RtTensor fs = rtt_tensor(RT_F32, 0, NULL, &f);
    RtTensor *in[] = {&fs};
    cr_expect_eq(rtt_run1(RT_OP_HANN_WINDOW, 17, in, 1, &out, NULL, 0, 0), RT_ERR);
}

/* ---------------------------------------------------------------- MelWeightMatrix */

/* One mel bin, dft_length 8, sample_rate 8, 0..6 Hz. mel(6) = 2595 log10(1 + 6/700), step
 * mel(6) / 3; the points in Hz are 0, 700((1 + 6/700)^(1/3) - 1) = 1.9966 and
 * 700((1 + 6/700)^(2/3) - 1) = 3.9977; in bins floor(9 hz / 8): 0, 2, 4. The triangle rises
 * over bins 0..2 (0, 1/2, 1) and falls over 2..3 (1, 1/2); 5 = 8/2 + 1 rows. */
Test(mel, one_triangle_by_hand) {
    int64_t nb = 1, dl = 8, sr = 8;
    float lo = 0, hi = 6;
    RtTensor t0 = rtt_tensor(RT_I64, 0, NULL, &nb), t1 = rtt_tensor(RT_I64, 0, NULL, &dl),
             t2 = rtt_tensor(RT_I64, 0, NULL, &sr), t3 = rtt_tensor(RT_F32, 0, NULL, &lo),
             t4 = rtt_tensor(RT_F32, 0, NULL, &hi), out;
    RtTensor *in[] = {&t0, &t1, &t2, &t3, &t4};
    cr_assert_eq(rtt_run1(RT_OP_MEL_WEIGHT_MATRIX, 17, in, 5, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 2, (int64_t[]){5, 1});
    rtt_expect_f32(&out, (float[]){0, 0.5f, 1, 0.5f, 0}, 5, 0, 0);
    rtt_free_outputs(&out, 1);
    hi = -1; /* below lower_edge_hertz */
    cr_expect_eq(rtt_run1(RT_OP_MEL_WEIGHT_MATRIX, 17, in, 5, &out, NULL, 0, 0), RT_ERR);
    RtTensor *missing[] = {&t0, &t1, NULL, &t3, &t4};
    cr_expect_eq(rtt_run1(RT_OP_MEL_WEIGHT_MATRIX, 17, missing, 5, &out, NULL, 0, 0), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "sample_rate") != NULL, "%s", rtt_err.msg);
}
