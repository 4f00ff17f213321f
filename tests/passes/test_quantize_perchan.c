/*
 * test_quantize_perchan.c — passes/quantize_perchan.c's channel gains, worked by hand: a
 * channel's scale is y_scale / g_c with g_c = min(hi / max_c, lo / min_c) stretching it into
 * the tensor's range [lo, hi] = [(-128 - zp) s, (127 - zp) s], never below 1, at most 128, and
 * at most what keeps QConv's multiplier x_scale * (max|W_c| / 127) * g_c / y_scale <= 0.5.
 */
#include <criterion/criterion.h>
#include <math.h>

#include "../../passes/quantize_internal.h"

/* float32 rounding of y_scale / g (one division) */
#define SCALE_TOL 1e-6

Test(quantize_perchan, gains_stretch_each_channel_into_the_tensor_range) {
    /* W [3, 2, 1, 1]: max |W_c| = 1, 0.1, 100 */
    float w[6] = {1.0f, -0.5f, 0.1f, 0.05f, 100.0f, 0.0f};
    RtTensor tw = {RT_F32, 4, {3, 2, 1, 1}, w};
    /* y_scale 1, zp -28: lo = (-128 + 28) * 1 = -100, hi = (127 + 28) * 1 = 155 */
    float cmin[3] = {-100.0f, -2.0f, -0.1f}, cmax[3] = {155.0f, 5.0f, 0.1f}, s[3];
    cr_assert_eq(qz_perchan_gains(&tw, 0.01f, 1.0f, -28, cmin, cmax, s), 1);
    /* channel 0 fills the range: g = min(155 / 155, -100 / -100) = 1 */
    cr_expect(fabs(s[0] - 1.0) <= SCALE_TOL, "%g", s[0]);
    /* channel 1: g = min(155 / 5, 100 / 2) = 31 (multiplier 0.01 * 0.1 / 127 * 31 = 2.4e-4) */
    cr_expect(fabs(s[1] - 1.0 / 31.0) <= SCALE_TOL, "%g", s[1]);
    /* channel 2: min(1550, 1000) capped at 128, then by the multiplier: at g = 1 it is
     * 0.01 * 100 / 127 = 0.007874, so g = 0.5 / 0.007874 = 63.5 */
    cr_expect(fabs(s[2] - 1.0 / 63.5) <= SCALE_TOL, "%g", s[2]);
}

Test(quantize_perchan, no_channel_narrower_than_the_range_means_no_gain) {
    float w[2] = {1.0f, 1.0f};
    RtTensor tw = {RT_F32, 4, {2, 1, 1, 1}, w};
    /* zp 0, scale 0.5: [lo, hi] = [-64, 63.5]; both channels reach an end (one at lo, one at
     * hi), and one wider than the range (a percentile clip) is not squeezed: g = 1 */
    float cmin[2] = {-64.0f, -1.0f}, cmax[2] = {10.0f, 80.0f}, s[2];
    cr_assert_eq(qz_perchan_gains(&tw, 0.1f, 0.5f, 0, cmin, cmax, s), 0);
    cr_expect_eq(s[0], 0.5f);
    cr_expect_eq(s[1], 0.5f);
}
