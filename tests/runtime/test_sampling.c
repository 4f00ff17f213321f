/*
 * test_sampling.c — GridSample and RoiAlign of runtime/kernels/ref/sampling.c on cases
 * worked out by hand:
 *   GridSample on the 2x2 image [[1, 2], [3, 4]]: grid points at corners, centres and
 *   outside, each mode and padding mode and both align_corners (coordinates from the spec's
 *   denormalization, values by hand); the bicubic weights at t = 0 and t = 1/2 from the
 *   cubic convolution with A = -0.75; a 3-D (opset 20) case.
 *   RoiAlign on the 4x4 image f(y, x) = 4y + x, which bilinear sampling reproduces exactly,
 *   so a bin's average is f at the mean of its sample points.
 * Plus shape mode and the error paths.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>

#include "rt_test_util.h"

/* Results are short sums of products of exact binary fractions, computed in double and
 * rounded once to float. */
#define SMP_TOL 1e-6

static float g_img[4] = {1, 2, 3, 4};

/* GridSample (opset 16) of the 2x2 image at the given (x, y) grid points (1 x npts). */
static int run_gs(const float *pts, int npts, const char *mode, const char *pad, int align, RtTensor *out) {
    static int64_t xd[] = {1, 1, 2, 2}, gd[4];
    gd[0] = 1, gd[1] = 1, gd[2] = npts, gd[3] = 2;
    static RtTensor tx, tg;
    tx = rtt_tensor(RT_F32, 4, xd, g_img);
    tg = rtt_tensor_c(RT_F32, 4, gd, pts);
    RtTensor *in[] = {&tx, &tg};
    RtAttr at[] = {rtt_attr_str("mode", mode), rtt_attr_str("padding_mode", pad), rtt_attr_int("align_corners", align)};
    return rtt_run1(RT_OP_GRID_SAMPLE, 16, in, 2, out, at, 3, 0);
}

/* align_corners = 1: -1 and 1 are the pixel centres 0 and 1, so x = (g + 1) / 2. */
Test(gridsample, bilinear_align_corners) {
    static const float pts[] = {-1, -1, 1, 1, 0, 0, 0, -1, 1, 0};
    RtTensor out;
    cr_assert_eq(run_gs(pts, 5, "bilinear", "zeros", 1, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 4, (int64_t[]){1, 1, 1, 5});
    /* corners 1 and 4; centre (1+2+3+4)/4; (x .5, y 0): (1+2)/2; (x 1, y .5): (2+4)/2 */
    rtt_expect_f32(&out, (float[]){1, 4, 2.5f, 1.5f, 3}, 5, SMP_TOL, 0);
    rtt_free_outputs(&out, 1);
}

/* align_corners = 0: x = ((g + 1) * 2 - 1) / 2, so g = -1 -> -0.5, 0 -> 0.5, -2 -> -1.5.
 * (-1, -1): taps -1 and 0 with weights 1/2 on each axis. zeros: only (0, 0) is inside, 1/4.
 * border and reflection: -0.5 is inside [-0.5, 1.5] (not moved); tap -1 reads pixel 0
 * (clamped; reflected at -0.5: -1 -> 0), so all four taps read 1.
 * (-2, 0): x = -1.5, y = 0.5. zeros: both x taps (-2, -1) outside: 0. border: x clamped to
 * 0: (1 + 3) / 2. reflection: -1.5 reflected at -0.5 is 0.5: the centre 2.5. */
Test(gridsample, padding_modes) {
    static const float pts[] = {0, 0, -1, -1, -2, 0};
    RtTensor out;
    cr_assert_eq(run_gs(pts, 3, "bilinear", "zeros", 0, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){2.5f, 0.25f, 0}, 3, SMP_TOL, 0);
    rtt_free_outputs(&out, 1);
    cr_assert_eq(run_gs(pts, 3, "bilinear", "border", 0, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){2.5f, 1, 2}, 3, SMP_TOL, 0);
    rtt_free_outputs(&out, 1);
    cr_assert_eq(run_gs(pts, 3, "bilinear", "reflection", 0, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){2.5f, 1, 2.5f}, 3, SMP_TOL, 0);
    rtt_free_outputs(&out, 1);
}

/* nearest, align_corners = 0: (-0.5, 0.5) -> x 0, y 1: 3. (0, 0) -> x = y = 0.5, rounded half
 * to even: 0: 1. (0.5, 0.5) -> 1, 1: 4. (-3, 0) -> x -2.5 -> -2: zeros 0. */
Test(gridsample, nearest_rounds_half_to_even) {
    static const float pts[] = {-0.5f, 0.5f, 0, 0, 0.5f, 0.5f, -3, 0};
    RtTensor out;
    cr_assert_eq(run_gs(pts, 4, "nearest", "zeros", 0, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){3, 1, 4, 0}, 4, 0, 0);
    rtt_free_outputs(&out, 1);
}

/* bicubic, align_corners = 1. At a pixel centre (t = 0) the weights are 0, 1, 0, 0: pixel
 * (0, 0) = 1. At the centre (x = y = 0.5, t = 1/2) the weights of taps -1, 0, 1, 2 are
 * 0.125 A = -0.09375, 0.59375, 0.59375, -0.09375. zeros: taps -1 and 2 read 0, so the value
 * is 0.59375^2 * (1 + 2 + 3 + 4) = 3.525390625. border: tap -1 reads pixel 0 and tap 2
 * pixel 1, each pixel weighted 0.5 per axis: 2.5. */
/* An int32 image: nearest reads pixels as they are; bilinear at the centre of [[1, 2],
 * [3, 4]] is 2.5, stored in int32 as C truncates it: 2. */
Test(gridsample, integer_image) {
    int32_t img[4] = {1, 2, 3, 4};
    float pts[4] = {1, 1, 0, 0};
    RtTensor x = rtt_tensor(RT_I32, 4, (int64_t[]){1, 1, 2, 2}, img);
    RtTensor g = rtt_tensor(RT_F32, 4, (int64_t[]){1, 1, 2, 2}, pts), out;
    RtTensor *in[] = {&x, &g};
    RtAttr at[] = {rtt_attr_str("mode", "nearest"), rtt_attr_int("align_corners", 1)};
    cr_assert_eq(rtt_run1(RT_OP_GRID_SAMPLE, 16, in, 2, &out, at, 2, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(out.dtype, RT_I32);
    /* (1, 1) -> pixel (1, 1) = 4; (0, 0) -> 0.5, 0.5 rounded half to even -> (0, 0) = 1 */
    rtt_expect_i32(&out, (int32_t[]){4, 1}, 2);
    rtt_free_outputs(&out, 1);
    at[0] = rtt_attr_str("mode", "bilinear");
    cr_assert_eq(rtt_run1(RT_OP_GRID_SAMPLE, 16, in, 2, &out, at, 2, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_i32(&out, (int32_t[]){4, 2}, 2);
    rtt_free_outputs(&out, 1);
}

Test(gridsample, bicubic_weights) {
    static const float pts[] = {-1, -1, 0, 0};
    RtTensor out;
    cr_assert_eq(run_gs(pts, 2, "bicubic", "zeros", 1, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){1, 3.525390625f}, 2, SMP_TOL, 0);
    rtt_free_outputs(&out, 1);
    cr_assert_eq(run_gs(pts, 2, "bicubic", "border", 1, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){1, 2.5f}, 2, SMP_TOL, 0);
    rtt_free_outputs(&out, 1);
}

/* Opset 20, 3-D: a 2x2x2 volume v = 4z + 2y + x, grid (x, y, z) = (0, 0, 0) with
 * align_corners = 1 is its centre: the mean 3.5; (1, -1, 1) is (x 1, y 0, z 1): 5. */
Test(gridsample, volumetric_opset20) {
    float vol[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    float pts[6] = {0, 0, 0, 1, -1, 1};
    RtTensor x = rtt_tensor(RT_F32, 5, (int64_t[]){1, 1, 2, 2, 2}, vol);
    RtTensor g = rtt_tensor(RT_F32, 5, (int64_t[]){1, 1, 1, 2, 3}, pts), out;
    RtTensor *in[] = {&x, &g};
    RtAttr at[] = {rtt_attr_str("mode", "linear"), rtt_attr_int("align_corners", 1)};
    cr_assert_eq(rtt_run1(RT_OP_GRID_SAMPLE, 20, in, 2, &out, at, 2, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 5, (int64_t[]){1, 1, 1, 1, 2});
    rtt_expect_f32(&out, (float[]){3.5f, 5}, 2, SMP_TOL, 0);
    rtt_free_outputs(&out, 1);
    /* opset 16 refuses anything but 4-D */
    cr_expect_eq(rtt_run1(RT_OP_GRID_SAMPLE, 16, in, 2, &out, at, 1, 0), RT_ERR);
}

Test(gridsample, shape_mode_nan_and_errors) {
    RtTensor x = rtt_tensor(RT_F32, 4, (int64_t[]){2, 3, 5, 5}, NULL);
    RtTensor g = rtt_tensor(RT_F32, 4, (int64_t[]){2, 4, 6, 2}, NULL), out;
    RtTensor *in[] = {&x, &g};
    cr_assert_eq(rtt_run1(RT_OP_GRID_SAMPLE, 16, in, 2, &out, NULL, 0, 1), RT_SHAPE_ONLY, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 4, (int64_t[]){2, 3, 4, 6});
    static const float nanpt[] = {NAN, 0};
    cr_assert_eq(run_gs(nanpt, 1, "bilinear", "border", 0, &out), RT_OK, "%s", rtt_err.msg);
    cr_expect(isnan(((float *)out.data)[0]));
    rtt_free_outputs(&out, 1);
    static const float pt[] = {0, 0};
    cr_expect_eq(run_gs(pt, 1, "area", "zeros", 0, &out), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "mode") != NULL, "%s", rtt_err.msg);
    cr_expect_eq(run_gs(pt, 1, "bilinear", "wrap", 0, &out), RT_ERR);
    RtTensor g_bad = rtt_tensor(RT_F32, 4, (int64_t[]){2, 4, 6, 3}, NULL);
    RtTensor *in2[] = {&x, &g_bad};
    cr_expect_eq(rtt_run1(RT_OP_GRID_SAMPLE, 16, in2, 2, &out, NULL, 0, 1), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "grid") != NULL, "%s", rtt_err.msg);
    /* an empty image cannot be sampled at a non-empty grid */
    float gp[2] = {0, 0};
    RtTensor x0 = rtt_tensor(RT_F32, 4, (int64_t[]){1, 1, 0, 2}, g_img);
    RtTensor g1 = rtt_tensor(RT_F32, 4, (int64_t[]){1, 1, 1, 2}, gp);
    RtTensor *in3[] = {&x0, &g1};
    RtAttr border[] = {rtt_attr_str("padding_mode", "border")};
    cr_expect_eq(rtt_run1(RT_OP_GRID_SAMPLE, 16, in3, 2, &out, border, 1, 0), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "empty") != NULL, "%s", rtt_err.msg);
}

/* Random and extreme grid points (up to +-1e30, infinities) in every mode, padding mode
 * and align_corners: no read outside the image (ASan), NaN only for non-finite points, and
 * for linear and nearest (convex combinations of pixels and zeros) every value within
 * [min(0, pixels), max(pixels)] = [0, 4]. */
Test(gridsample, random_and_extreme_points_stay_in_range) {
    static const char *modes[] = {"bilinear", "nearest", "bicubic"};
    static const char *pads[] = {"zeros", "border", "reflection"};
    float pts[2 * 64];
    uint32_t seed = 7;
    for (int i = 0; i < 2 * 64; i++) pts[i] = rtt_uniform(&seed, -3, 3);
    pts[0] = 1e30f, pts[3] = -1e30f, pts[4] = INFINITY, pts[7] = -INFINITY, pts[8] = 1, pts[9] = -1;
    for (int m = 0; m < 3; m++)
        for (int p = 0; p < 3; p++)
            for (int a = 0; a < 2; a++) {
                RtTensor out;
                cr_assert_eq(run_gs(pts, 64, modes[m], pads[p], a, &out), RT_OK, "%s", rtt_err.msg);
                const float *y = out.data;
                for (int i = 0; i < 64; i++) {
                    int finite = isfinite(pts[2 * i]) && isfinite(pts[2 * i + 1]);
                    cr_expect(finite ? !isnan(y[i]) : isnan(y[i]), "%s %s align %d point %d: %g", modes[m], pads[p],
                              a, i, y[i]);
                    if (finite && m < 2)
                        cr_expect(y[i] >= -1e-6f && y[i] <= 4 + 1e-6f, "%s %s align %d point %d (%g, %g): %g",
                                  modes[m], pads[p], a, i, pts[2 * i], pts[2 * i + 1], y[i]);
                }
                rtt_free_outputs(&out, 1);
            }
}

/* ---------------------------------------------------------------- RoiAlign */

/* f(y, x) = 4y + x on a 4x4 image. */
static float g_lin[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

static int run_roi(const float *roi, int64_t batch, RtAttr *at, int n_at, RtTensor *out) {
    static int64_t xd[] = {1, 1, 4, 4}, rd[] = {1, 4}, bd[] = {1};
    static int64_t b;
    b = batch;
    static RtTensor tx, tr, tb;
    tx = rtt_tensor(RT_F32, 4, xd, g_lin);
    tr = rtt_tensor_c(RT_F32, 2, rd, roi);
    tb = rtt_tensor(RT_I64, 1, bd, &b);
    RtTensor *in[] = {&tx, &tr, &tb};
    return rtt_run1(RT_OP_ROI_ALIGN, 16, in, 3, out, at, n_at, 0);
}

Test(roialign, averages_by_hand) {
    static const float r02[] = {0, 0, 2, 2}, r04[] = {0, 0, 4, 4}, far[] = {-4, -4, -2, -2};
    RtTensor out;
    /* output_half_pixel, 2x2 samples at 0.5, 1.5: mean (1, 1): 5 */
    RtAttr a1[] = {rtt_attr_str("coordinate_transformation_mode", "output_half_pixel"),
                   rtt_attr_int("sampling_ratio", 2)};
    cr_assert_eq(run_roi(r02, 0, a1, 2, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 4, (int64_t[]){1, 1, 1, 1});
    rtt_expect_f32(&out, (float[]){5}, 1, SMP_TOL, 0);
    rtt_free_outputs(&out, 1);
    /* half_pixel (the default): the roi shifts by -0.5, samples at 0, 1: mean (0.5, 0.5): 2.5 */
    cr_assert_eq(run_roi(r02, 0, a1 + 1, 1, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){2.5f}, 1, SMP_TOL, 0);
    rtt_free_outputs(&out, 1);
    /* spatial_scale 0.5 maps roi (0, 0, 4, 4) to (0, 0, 2, 2): 5 again */
    RtAttr a2[] = {a1[0], a1[1], rtt_attr_float("spatial_scale", 0.5f)};
    cr_assert_eq(run_roi(r04, 0, a2, 3, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){5}, 1, SMP_TOL, 0);
    rtt_free_outputs(&out, 1);
    /* 2x2 bins of size 2, one sample each at the bin centres 1 and 3 (3 is the last pixel) */
    RtAttr a3[] = {a1[0], rtt_attr_int("sampling_ratio", 1), rtt_attr_int("output_height", 2),
                   rtt_attr_int("output_width", 2)};
    cr_assert_eq(run_roi(r04, 0, a3, 4, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_dims(&out, 4, (int64_t[]){1, 1, 2, 2});
    rtt_expect_f32(&out, (float[]){5, 7, 13, 15}, 4, SMP_TOL, 0);
    rtt_free_outputs(&out, 1);
    /* adaptive (sampling_ratio 0): ceil(4 / 1) = 4 samples at 0.5, 1.5, 2.5, 3.5; 3.5 is past
     * the last pixel and read as 3: mean 1.875 per axis, 5 * 1.875 = 9.375 */
    cr_assert_eq(run_roi(r04, 0, a1, 1, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){9.375f}, 1, SMP_TOL, 0);
    rtt_free_outputs(&out, 1);
    /* a roi far outside: its sample at -3 is beyond -1 and contributes 0 */
    cr_assert_eq(run_roi(far, 0, a3, 2, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){0}, 1, 0, 0);
    rtt_free_outputs(&out, 1);
}

/* max mode: one sample at (0.5, 0.5); the corner values 0, 1, 4, 5 each weighted 1/4: the
 * largest weighted corner is 1.25 (the reference's rule; the interpolated value is 2.5). */
Test(roialign, max_takes_the_largest_weighted_corner) {
    static const float r01[] = {0, 0, 1, 1};
    RtAttr at[] = {rtt_attr_str("coordinate_transformation_mode", "output_half_pixel"),
                   rtt_attr_int("sampling_ratio", 1), rtt_attr_str("mode", "max")};
    RtTensor out;
    cr_assert_eq(run_roi(r01, 0, at, 3, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){1.25f}, 1, SMP_TOL, 0);
    rtt_free_outputs(&out, 1);
}

/* A NaN roi with a fixed sampling_ratio samples NaN points: they count as outside (0),
 * never an index. */
Test(roialign, nan_roi_gives_zero) {
    static const float r[] = {NAN, 0, 2, 2};
    RtAttr at[] = {rtt_attr_int("sampling_ratio", 2)};
    RtTensor out;
    cr_assert_eq(run_roi(r, 0, at, 1, &out), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){0}, 1, 0, 0);
    rtt_free_outputs(&out, 1);
}

/* Opset 10 has no coordinate_transformation_mode: its behaviour is output_half_pixel (no
 * -0.5 shift), so roi (0, 0, 2, 2) with 2x2 samples gives 5 as above, not 2.5. */
Test(roialign, opset10_is_output_half_pixel) {
    static int64_t xd[] = {1, 1, 4, 4}, rd[] = {1, 4}, bd[] = {1};
    static const float roi[] = {0, 0, 2, 2};
    int64_t b = 0;
    RtTensor tx = rtt_tensor(RT_F32, 4, xd, g_lin), tr = rtt_tensor_c(RT_F32, 2, rd, roi),
             tb = rtt_tensor(RT_I64, 1, bd, &b), out;
    RtTensor *in[] = {&tx, &tr, &tb};
    RtAttr at[] = {rtt_attr_int("sampling_ratio", 2)};
    cr_assert_eq(rtt_run1(RT_OP_ROI_ALIGN, 10, in, 3, &out, at, 1, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){5}, 1, SMP_TOL, 0);
    rtt_free_outputs(&out, 1);
}

/* Random and extreme rois (up to +-1e30) in both modes: every output is an average or max
 * of weighted pixels of the 0..15 image or 0, so within [0, 15]; ASan checks the reads. */
Test(roialign, random_and_extreme_rois_stay_in_range) {
    uint32_t seed = 11;
    for (int t = 0; t < 200; t++) {
        float roi[4];
        for (int j = 0; j < 4; j++) roi[j] = rtt_uniform(&seed, -6, 10);
        if (t % 10 == 0) roi[t / 10 % 4] = (t % 20 == 0) ? 1e30f : -1e30f;
        RtAttr at[] = {rtt_attr_str("mode", t % 2 ? "max" : "avg"), rtt_attr_int("sampling_ratio", t % 3),
                       rtt_attr_int("output_height", 1 + t % 3), rtt_attr_int("output_width", 2),
                       rtt_attr_str("coordinate_transformation_mode", t % 4 < 2 ? "half_pixel" : "output_half_pixel")};
        RtTensor out;
        /* sampling_ratio 0 with a 1e30 roi would ask for ~1e29 points: keep those fixed */
        if (t % 10 == 0) at[1] = rtt_attr_int("sampling_ratio", 2);
        cr_assert_eq(run_roi(roi, 0, at, 5, &out), RT_OK, "%s", rtt_err.msg);
        const float *y = out.data;
        for (int i = 0; i < rt_numel(&out); i++)
            cr_expect(y[i] >= -1e-5f && y[i] <= 15 + 1e-5f, "roi (%g %g %g %g) %s: %g", roi[0], roi[1], roi[2],
                      roi[3], t % 2 ? "max" : "avg", y[i]);
        rtt_free_outputs(&out, 1);
    }
}

Test(roialign, errors) {
    static const float r[] = {0, 0, 2, 2};
    RtTensor out;
    cr_expect_eq(run_roi(r, 1, NULL, 0, &out), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "batch_indices") != NULL, "%s", rtt_err.msg);
    cr_expect_eq(run_roi(r, -1, NULL, 0, &out), RT_ERR);
    RtAttr m[] = {rtt_attr_str("mode", "min")};
    cr_expect_eq(run_roi(r, 0, m, 1, &out), RT_ERR);
    RtAttr ct[] = {rtt_attr_str("coordinate_transformation_mode", "asymmetric")};
    cr_expect_eq(run_roi(r, 0, ct, 1, &out), RT_ERR);
    RtAttr sr[] = {rtt_attr_int("sampling_ratio", -1)};
    cr_expect_eq(run_roi(r, 0, sr, 1, &out), RT_ERR);
    RtAttr oh[] = {rtt_attr_int("output_height", 0)};
    cr_expect_eq(run_roi(r, 0, oh, 1, &out), RT_ERR);
    float x[16] = {0}, rr[3] = {0};
    int64_t b = 0;
    RtTensor tx = rtt_tensor(RT_F32, 4, (int64_t[]){1, 1, 4, 4}, x);
    RtTensor tr = rtt_tensor(RT_F32, 2, (int64_t[]){1, 3}, rr), tb = rtt_tensor(RT_I64, 1, (int64_t[]){1}, &b);
    RtTensor *in[] = {&tx, &tr, &tb};
    cr_expect_eq(rtt_run1(RT_OP_ROI_ALIGN, 16, in, 3, &out, NULL, 0, 0), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "rois") != NULL, "%s", rtt_err.msg);
}
