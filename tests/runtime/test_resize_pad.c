/*
 * test_resize_pad.c — hand-computed cases for Pad, Resize, DepthToSpace and SpaceToDepth in
 * runtime/kernels/ref/resize_pad.c.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rt_test_util.h"

/* Interpolation weights here are exact binary fractions (or thirds) of small integers; the
 * only error is the final rounding to float32 (~1e-7 relative). */
#define RS_TOL 1e-5

/* ================================================================ Pad */

Test(pad, reflect_and_negative_crop) {
    float x[5] = {1, 2, 3, 4, 5};
    int64_t xd[] = {3}, pd[] = {2};
    int64_t p1[] = {2, 2};
    RtTensor tx = rtt_tensor(RT_F32, 1, xd, x), tp = rtt_tensor(RT_I64, 1, pd, p1), out = {0};
    RtAttr reflect[] = {rtt_attr_str("mode", "reflect")};
    RtTensor *in[] = {&tx, &tp};
    cr_assert_eq(rtt_run1(RT_OP_PAD, 13, in, 2, &out, reflect, 1, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){3, 2, 1, 2, 3, 2, 1}, 7, RS_TOL, 0);
    free(out.data);

    /* [1,2,3,4] with pads (-1, 1) and constant 9: crop the first, append one 9 */
    int64_t xd4[] = {4}, p2[] = {-1, 1}, sd[] = {1};
    float nine = 9;
    RtTensor tx4 = rtt_tensor(RT_F32, 1, xd4, x), tp2 = rtt_tensor(RT_I64, 1, pd, p2),
             tv = rtt_tensor(RT_F32, 1, sd, &nine), out2 = {0};
    RtTensor *in2[] = {&tx4, &tp2, &tv};
    cr_assert_eq(rtt_run1(RT_OP_PAD, 13, in2, 3, &out2, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out2, (float[]){2, 3, 4, 9}, 4, RS_TOL, 0);
    free(out2.data);

    /* reflect works on the cropped range: [1..5] with (-1, 2) -> [2,3,4,5] reflected at the end */
    int64_t xd5[] = {5}, p3[] = {-1, 2};
    RtTensor tx5 = rtt_tensor(RT_F32, 1, xd5, x), tp3 = rtt_tensor(RT_I64, 1, pd, p3), out3 = {0};
    RtTensor *in3[] = {&tx5, &tp3};
    cr_assert_eq(rtt_run1(RT_OP_PAD, 19, in3, 2, &out3, reflect, 1, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out3, (float[]){2, 3, 4, 5, 4, 3}, 6, RS_TOL, 0);
    free(out3.data);
}

Test(pad, edge_and_wrap_2d) {
    float x[4] = {1, 2, 3, 4};
    int64_t xd[] = {2, 2}, pd[] = {4}, p[] = {1, 1, 1, 1};
    RtTensor tx = rtt_tensor(RT_F32, 2, xd, x), tp = rtt_tensor(RT_I64, 1, pd, p);
    RtTensor *in[] = {&tx, &tp};
    RtAttr edge[] = {rtt_attr_str("mode", "edge")}, wrap[] = {rtt_attr_str("mode", "wrap")};
    RtTensor out = {0}, out2 = {0};
    cr_assert_eq(rtt_run1(RT_OP_PAD, 19, in, 2, &out, edge, 1, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}, 16, RS_TOL, 0);
    cr_assert_eq(rtt_run1(RT_OP_PAD, 19, in, 2, &out2, wrap, 1, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out2, (float[]){4, 3, 4, 3, 2, 1, 2, 1, 4, 3, 4, 3, 2, 1, 2, 1}, 16, RS_TOL, 0);
    free(out.data), free(out2.data);
}

Test(pad, opset2_attributes_and_opset18_axes) {
    float x[2] = {1, 2};
    int64_t xd[] = {1, 2}, p[] = {0, 1, 0, 0};
    RtTensor tx = rtt_tensor(RT_F32, 2, xd, x), out = {0};
    RtTensor *in[] = {&tx};
    RtAttr a[] = {rtt_attr_ints("pads", p, 4), rtt_attr_float("value", 7.5f)};
    cr_assert_eq(rtt_run1(RT_OP_PAD, 2, in, 1, &out, a, 2, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){7.5f, 1, 2}, 3, RS_TOL, 0);
    free(out.data);

    int64_t xi[6] = {1, 2, 3, 4, 5, 6}, xid[] = {2, 3}, pd[] = {2}, pads[] = {1, 0}, ad[] = {1}, axes[] = {-1};
    RtTensor ti = rtt_tensor(RT_I64, 2, xid, xi), tp = rtt_tensor(RT_I64, 1, pd, pads),
             ta = rtt_tensor(RT_I64, 1, ad, axes), out2 = {0};
    RtTensor *in2[] = {&ti, &tp, NULL, &ta};
    cr_assert_eq(rtt_run1(RT_OP_PAD, 18, in2, 4, &out2, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert(out2.dims[0] == 2 && out2.dims[1] == 4);
    int64_t want[8] = {0, 1, 2, 3, 0, 4, 5, 6};
    cr_expect_eq(memcmp(out2.data, want, sizeof want), 0);
    free(out2.data);
}

/* Rows along the last axis are copied in runs (pad_rows): a 3-D int16 tensor (2-byte
 * elements) with a nonzero constant, an outer axis cropped and padded, the last axis padded
 * on both sides and cropped on one, checked element by element against the spec's mapping
 * y[i, j, k] = x[i - pb0, j - pb1, k - pb2] inside the source, else the constant. */
Test(pad, rows_in_runs_with_crop_and_fill) {
    enum { A = 3, B = 4, K = 6 };
    int16_t x[A * B * K];
    for (int i = 0; i < A * B * K; i++) x[i] = (int16_t)(100 + i);
    int64_t xd[] = {A, B, K}, pd[] = {6}, pads[] = {1, -1, 2, -1, 2, -3}, sd[] = {1};
    int16_t fillv = -7;
    RtTensor tx = rtt_tensor(RT_I16, 3, xd, x), tp = rtt_tensor(RT_I64, 1, pd, pads),
             tv = rtt_tensor(RT_I16, 0, sd, &fillv), out = {0};
    RtTensor *in[] = {&tx, &tp, &tv};
    cr_assert_eq(rtt_run1(RT_OP_PAD, 13, in, 3, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    const int64_t O0 = A + 1 - 1, O1 = B - 1 + 2, O2 = K + 2 - 3;
    cr_assert(out.dims[0] == O0 && out.dims[1] == O1 && out.dims[2] == O2);
    const int16_t *y = out.data;
    int bad = 0;
    for (int64_t i = 0; i < O0; i++)
        for (int64_t j = 0; j < O1; j++)
            for (int64_t k = 0; k < O2; k++) {
                int64_t si = i - 1, sj = j + 1, sk = k - 2;
                int in_src = si >= 0 && si < A && sj >= 0 && sj < B && sk >= 0 && sk < K;
                int16_t want = in_src ? x[(si * B + sj) * K + sk] : fillv;
                bad += y[(i * O1 + j) * O2 + k] != want;
            }
    cr_expect_eq(bad, 0, "%d elements differ", bad);
    free(out.data);
}

Test(pad, shape_needs_pads_data_and_errors) {
    int64_t xd[] = {2, 3}, pd[] = {4}, p[] = {0, 1, 2, 3};
    RtTensor tx = rtt_tensor(RT_F32, 2, xd, NULL), tp = rtt_tensor(RT_I64, 1, pd, NULL), out = {0};
    RtTensor *in[] = {&tx, &tp};
    cr_assert_eq(rtt_run1(RT_OP_PAD, 13, in, 2, &out, NULL, 0, 1), RT_SHAPE_UNKNOWN);
    tp.data = p;
    cr_assert_eq(rtt_run1(RT_OP_PAD, 13, in, 2, &out, NULL, 0, 1), RT_SHAPE_ONLY, "%s", rtt_err.msg);
    cr_expect(out.dims[0] == 4 && out.dims[1] == 7);
    int64_t pd3[] = {3};
    RtTensor tp3 = rtt_tensor(RT_I64, 1, pd3, p), out2 = {0};
    RtTensor *in3[] = {&tx, &tp3};
    cr_assert_eq(rtt_run1(RT_OP_PAD, 13, in3, 2, &out2, NULL, 0, 1), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "pads has 3 values; expected 4") != NULL, "message: %s", rtt_err.msg);
}

/* ================================================================ Resize */

Test(resize, nearest_2x_half_pixel) {
    float x[4] = {1, 2, 3, 4};
    float sc[4] = {1, 1, 2, 2};
    int64_t xd[] = {1, 1, 2, 2}, sd[] = {4};
    RtTensor tx = rtt_tensor(RT_F32, 4, xd, x), ts = rtt_tensor(RT_F32, 1, sd, sc), out = {0};
    RtTensor *in[] = {&tx, NULL, &ts};
    RtAttr a[] = {rtt_attr_str("mode", "nearest")};
    cr_assert_eq(rtt_run1(RT_OP_RESIZE, 13, in, 3, &out, a, 1, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert(out.dims[2] == 4 && out.dims[3] == 4);
    rtt_expect_f32(&out, (float[]){1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}, 16, RS_TOL, 0);
    free(out.data);
}

Test(resize, linear_align_corners_2x) {
    /* align_corners: x_in = o * (2 - 1) / (4 - 1) on both axes, so y[i][j] = 1 + 2 i/3 + j/3 */
    float x[4] = {1, 2, 3, 4};
    float sc[4] = {1, 1, 2, 2};
    int64_t xd[] = {1, 1, 2, 2}, sd[] = {4};
    RtTensor tx = rtt_tensor(RT_F32, 4, xd, x), ts = rtt_tensor(RT_F32, 1, sd, sc), out = {0};
    RtTensor *in[] = {&tx, NULL, &ts};
    RtAttr a[] = {rtt_attr_str("mode", "linear"), rtt_attr_str("coordinate_transformation_mode", "align_corners")};
    cr_assert_eq(rtt_run1(RT_OP_RESIZE, 13, in, 3, &out, a, 2, 0), RT_OK, "%s", rtt_err.msg);
    float want[16];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) want[i * 4 + j] = 1.0f + 2.0f * (float)i / 3.0f + (float)j / 3.0f;
    rtt_expect_f32(&out, want, 16, RS_TOL, 0);
    free(out.data);
}

Test(resize, opset10_nearest_downscale_uses_ceil) {
    /* Resize-10: asymmetric coordinates, x_in = o / 0.6 = 0, 1.67 -> ceil when downscaling: 0, 2 */
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    float sc[4] = {1, 1, 0.6f, 0.6f};
    int64_t xd[] = {1, 1, 2, 4}, sd[] = {4};
    RtTensor tx = rtt_tensor(RT_F32, 4, xd, x), ts = rtt_tensor(RT_F32, 1, sd, sc), out = {0};
    RtTensor *in[] = {&tx, &ts};
    cr_assert_eq(rtt_run1(RT_OP_RESIZE, 10, in, 2, &out, NULL, 0, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert(out.dims[2] == 1 && out.dims[3] == 2);
    rtt_expect_f32(&out, (float[]){1, 3}, 2, RS_TOL, 0);
    free(out.data);
}

Test(resize, tf_crop_and_resize_extrapolates) {
    /* axis 1: in 4, 3 outputs, crop [0.5, 1.5]: x_in = 0.5*3 + o * 1.0 * 3 / 2 = 1.5, 3, 4.5;
     * 4.5 > in - 1 gives the extrapolation value. */
    float x[4] = {0, 10, 20, 30};
    float roi[4] = {0, 0.5f, 1, 1.5f};
    int64_t xd[] = {1, 4}, rd[] = {4}, zd[] = {2}, sz[] = {1, 3};
    RtTensor tx = rtt_tensor(RT_F32, 2, xd, x), tr = rtt_tensor(RT_F32, 1, rd, roi), tz = rtt_tensor(RT_I64, 1, zd, sz),
             out = {0};
    RtTensor *in[] = {&tx, &tr, NULL, &tz};
    RtAttr a[] = {rtt_attr_str("mode", "linear"), rtt_attr_str("coordinate_transformation_mode", "tf_crop_and_resize"),
                  rtt_attr_float("extrapolation_value", -1.0f)};
    cr_assert_eq(rtt_run1(RT_OP_RESIZE, 13, in, 4, &out, a, 3, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){15, 30, -1}, 3, RS_TOL, 0);
    free(out.data);
}

Test(resize, antialias_linear_halves) {
    /* scale 0.5, half_pixel: x_in = 0.5 and 2.5; the triangle filter stretched 2x has taps
     * at distances 1.5, 0.5, 0.5, 1.5 with weights 1/8, 3/8, 3/8, 1/8 (edge-clamped):
     * 0/8 + 0*3/8 + 1*3/8 + 2/8 = 0.625 and 1/8 + 2*3/8 + 3*3/8 + 3/8 = 2.375 */
    float x[4] = {0, 1, 2, 3};
    float sc[1] = {0.5f};
    int64_t xd[] = {4}, sd[] = {1};
    RtTensor tx = rtt_tensor(RT_F32, 1, xd, x), ts = rtt_tensor(RT_F32, 1, sd, sc), out = {0};
    RtTensor *in[] = {&tx, NULL, &ts};
    RtAttr a[] = {rtt_attr_str("mode", "linear"), rtt_attr_int("antialias", 1)};
    cr_assert_eq(rtt_run1(RT_OP_RESIZE, 18, in, 3, &out, a, 2, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&out, (float[]){0.625f, 2.375f}, 2, RS_TOL, 0);
    free(out.data);
}

Test(resize, cubic_keeps_constants_and_axes_with_aspect_policy) {
    float x[8];
    for (int i = 0; i < 8; i++) x[i] = 4.0f;
    float sc[4] = {1, 1, 1.5f, 2.5f};
    int64_t xd[] = {1, 1, 2, 4}, sd[] = {4};
    RtTensor tx = rtt_tensor(RT_F32, 4, xd, x), ts = rtt_tensor(RT_F32, 1, sd, sc), out = {0};
    RtTensor *in[] = {&tx, NULL, &ts};
    RtAttr a[] = {rtt_attr_str("mode", "cubic"), rtt_attr_int("exclude_outside", 1)};
    cr_assert_eq(rtt_run1(RT_OP_RESIZE, 13, in, 3, &out, a, 2, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert(out.dims[2] == 3 && out.dims[3] == 10);
    for (int i = 0; i < 30; i++) cr_expect(fabsf(((float *)out.data)[i] - 4.0f) <= RS_TOL, "element %d", i);
    free(out.data);

    /* axes [2, 3], sizes [4, 4], not_larger: scales 2 and 1 -> min 1 -> the input size */
    int64_t sz[2] = {4, 4}, zd[] = {2}, axes[] = {2, 3};
    RtTensor tz = rtt_tensor(RT_I64, 1, zd, sz), out2 = {0};
    RtTensor *in2[] = {&tx, NULL, NULL, &tz};
    RtAttr b[] = {rtt_attr_ints("axes", axes, 2), rtt_attr_str("keep_aspect_ratio_policy", "not_larger")};
    cr_assert_eq(rtt_run1(RT_OP_RESIZE, 18, in2, 4, &out2, b, 2, 0), RT_OK, "%s", rtt_err.msg);
    cr_expect(out2.dims[2] == 2 && out2.dims[3] == 4, "got %lldx%lld", (long long)out2.dims[2], (long long)out2.dims[3]);
    free(out2.data);
}

/* float32 linear / cubic Resize of the last two axes runs a per-plane loop (resize_planes_f32);
 * float64 input takes the general per-element path with the same double sums, so the float32
 * result must equal the float64 one rounded to float, bit for bit, in every mode: upscale and
 * downscale, each coordinate mode, antialias, exclude_outside, cubic_coeff_a, a crop, and a
 * NaN/Inf in the input (zero weights skipped alike). */
Test(resize, plane_loop_equals_the_general_path) {
    enum { N = 2, C = 3, H = 5, W = 7, NX = N * C * H * W };
    float xf[NX];
    double xd64[NX];
    uint32_t seed = 7;
    for (int i = 0; i < NX; i++) {
        seed = seed * 1664525u + 1013904223u;
        xf[i] = (float)((double)(seed >> 8) / 16777216.0 * 8.0 - 4.0);
    }
    xf[17] = INFINITY, xf[40] = NAN; /* in plane 0 and 1 */
    for (int i = 0; i < NX; i++) xd64[i] = xf[i];
    const char *coords[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                            "half_pixel_symmetric", "tf_crop_and_resize"};
    const float scales[][2] = {{2.0f, 2.0f}, {1.5f, 0.6f}, {0.5f, 0.75f}, {3.0f, 1.0f}};
    int64_t xdims[] = {N, C, H, W}, sd[] = {4}, rd[] = {8};
    float roi[8] = {0, 0, 0.1f, 0.2f, 1, 1, 0.9f, 0.7f};
    int cases = 0;
    for (int mode = 0; mode < 2; mode++)
        for (size_t ci = 0; ci < sizeof coords / sizeof coords[0]; ci++)
            for (size_t si = 0; si < sizeof scales / sizeof scales[0]; si++)
                for (int extra = 0; extra < 2; extra++) {
                    float sc[4] = {1, 1, scales[si][0], scales[si][1]};
                    RtTensor tx = rtt_tensor(RT_F32, 4, xdims, xf), tx64 = rtt_tensor(RT_F64, 4, xdims, xd64),
                             ts = rtt_tensor(RT_F32, 1, sd, sc), tr = rtt_tensor(RT_F32, 1, rd, roi), y = {0},
                             y64 = {0};
                    RtAttr a[] = {rtt_attr_str("mode", mode ? "cubic" : "linear"),
                                  rtt_attr_str("coordinate_transformation_mode", coords[ci]),
                                  mode ? rtt_attr_int("exclude_outside", extra) : rtt_attr_int("antialias", extra),
                                  rtt_attr_float("cubic_coeff_a", -0.5f)};
                    RtTensor *in[] = {&tx, &tr, &ts}, *in64[] = {&tx64, &tr, &ts};
                    cr_assert_eq(rtt_run1(RT_OP_RESIZE, 18, in, 3, &y, a, 4, 0), RT_OK, "%s", rtt_err.msg);
                    cr_assert_eq(rtt_run1(RT_OP_RESIZE, 18, in64, 3, &y64, a, 4, 0), RT_OK, "%s", rtt_err.msg);
                    int64_t n = rt_numel(&y);
                    cr_assert_eq(n, rt_numel(&y64));
                    int bad = 0;
                    for (int64_t i = 0; i < n; i++) {
                        float want = (float)((const double *)y64.data)[i], got = ((const float *)y.data)[i];
                        if (memcmp(&want, &got, sizeof got) != 0 && !(isnan(want) && isnan(got))) bad++;
                    }
                    cr_expect_eq(bad, 0, "%s %s scale %gx%g extra %d: %d of %lld differ", mode ? "cubic" : "linear",
                                 coords[ci], scales[si][0], scales[si][1], extra, bad, (long long)n);
                    free(y.data), free(y64.data);
                    cases++;
                }
    cr_expect_eq(cases, 2 * 6 * 4 * 2);
}

Test(resize, shape_mode_and_errors) {
    int64_t xd[] = {1, 3, 10, 20}, sd[] = {4};
    float sc[4] = {1, 1, 0.5f, 1.5f};
    RtTensor tx = rtt_tensor(RT_F32, 4, xd, NULL), ts = rtt_tensor(RT_F32, 1, sd, NULL), out = {0};
    RtTensor *in[] = {&tx, NULL, &ts};
    cr_assert_eq(rtt_run1(RT_OP_RESIZE, 13, in, 3, &out, NULL, 0, 1), RT_SHAPE_UNKNOWN);
    ts.data = sc;
    cr_assert_eq(rtt_run1(RT_OP_RESIZE, 13, in, 3, &out, NULL, 0, 1), RT_SHAPE_ONLY, "%s", rtt_err.msg);
    cr_expect(out.dims[2] == 5 && out.dims[3] == 30);

    int64_t sz[4] = {1, 3, 5, 5};
    RtTensor tz = rtt_tensor(RT_I64, 1, sd, sz), out2 = {0};
    RtTensor *in2[] = {&tx, NULL, &ts, &tz};
    cr_assert_eq(rtt_run1(RT_OP_RESIZE, 13, in2, 4, &out2, NULL, 0, 1), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "scales and sizes") != NULL, "message: %s", rtt_err.msg);

    RtAttr bad[] = {rtt_attr_str("coordinate_transformation_mode", "corners")};
    cr_assert_eq(rtt_run1(RT_OP_RESIZE, 13, in, 3, &out2, bad, 1, 1), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "coordinate_transformation_mode") != NULL, "message: %s", rtt_err.msg);
}

/* ================================================================ DepthToSpace, SpaceToDepth */

Test(depth_to_space, dcr_crd_and_space_to_depth_inverse) {
    /* 8 channels of 1x1, blocksize 2 -> 2 channels of 2x2.
     * DCR: y[co][bh][bw] = x[(bh*2 + bw)*2 + co]; CRD: y[co][bh][bw] = x[co*4 + bh*2 + bw]. */
    float x[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    int64_t xd[] = {1, 8, 1, 1};
    RtTensor tx = rtt_tensor(RT_F32, 4, xd, x), dcr = {0}, crd = {0}, back = {0};
    RtTensor *in[] = {&tx};
    RtAttr a[] = {rtt_attr_int("blocksize", 2)}, b[] = {rtt_attr_int("blocksize", 2), rtt_attr_str("mode", "CRD")};
    cr_assert_eq(rtt_run1(RT_OP_DEPTH_TO_SPACE, 13, in, 1, &dcr, a, 1, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert(dcr.dims[1] == 2 && dcr.dims[2] == 2 && dcr.dims[3] == 2);
    rtt_expect_f32(&dcr, (float[]){0, 2, 4, 6, 1, 3, 5, 7}, 8, RS_TOL, 0);
    cr_assert_eq(rtt_run1(RT_OP_DEPTH_TO_SPACE, 13, in, 1, &crd, b, 2, 0), RT_OK, "%s", rtt_err.msg);
    rtt_expect_f32(&crd, (float[]){0, 1, 2, 3, 4, 5, 6, 7}, 8, RS_TOL, 0);
    RtTensor *in2[] = {&dcr};
    cr_assert_eq(rtt_run1(RT_OP_SPACE_TO_DEPTH, 13, in2, 1, &back, a, 1, 0), RT_OK, "%s", rtt_err.msg);
    cr_assert(back.dims[1] == 8 && back.dims[2] == 1 && back.dims[3] == 1);
    rtt_expect_f32(&back, x, 8, RS_TOL, 0);
    free(dcr.data), free(crd.data), free(back.data);

    int64_t bad[] = {1, 6, 1, 1};
    RtTensor tb = rtt_tensor(RT_F32, 4, bad, x), out = {0};
    RtTensor *in3[] = {&tb};
    cr_assert_eq(rtt_run1(RT_OP_DEPTH_TO_SPACE, 13, in3, 1, &out, a, 1, 1), RT_ERR);
    cr_expect(strstr(rtt_err.msg, "blocksize") != NULL, "message: %s", rtt_err.msg);
}
