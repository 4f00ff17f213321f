/*
 * test_affine_grid.c — AffineGrid (opset 20, runtime/kernels/ref/affine_grid.c) against
 * onnxruntime-node in 2-D and 3-D with both align_corners, and feeding GridSample (the pair
 * a spatial transformer exports).
 */
#include "ort18.h"

TestSuite(affine_grid, .fini = pb_release_all);

/* a 3- or 4-term dot product per coordinate: float rounding */
static const OrtcTol AG_TOL = {1e-6, 1e-5, 0};

Test(affine_grid, two_d_and_three_d_both_align_corners) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[2];
    int n = 0;
    o18_in_f32(g, ins, &n, "t2", "2,2,3", -1.5f, 1.5f);
    o18_in_f32(g, ins, &n, "t3", "1,3,4", -1.5f, 1.5f);
    int64_t s2[4] = {2, 3, 4, 5}, s3[5] = {1, 1, 3, 2, 4};
    o18_init_i64(g, "s2", "4", s2);
    o18_init_i64(g, "s3", "5", s3);
    o18_node(g, "AffineGrid", "t2,s2", "a");
    o18_ai(o18_node(g, "AffineGrid", "t2,s2", "b"), "align_corners", 1);
    o18_node(g, "AffineGrid", "t3,s3", "c");
    o18_ai(o18_node(g, "AffineGrid", "t3,s3", "d"), "align_corners", 1);
    static const char *outs[4] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++) o18_out(g, outs[i], RT_F32);
    o18_check("affine_grid", g, 20, ins, n, &AG_TOL);
}

/* sampling an image through the grid of a rotation + scale: GridSample's bilinear taps
 * amplify the grid's rounding by the image's gradient (values in [-1, 1] over 6 pixels) */
static const OrtcTol STN_TOL = {1e-5, 1e-4, 0};

Test(affine_grid, spatial_transformer_with_grid_sample) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[1];
    int n = 0;
    o18_in_f32(g, ins, &n, "x", "1,2,6,7", -1, 1);
    float th[6] = {0.8f, -0.5f, 0.1f, 0.5f, 0.8f, -0.2f};
    o18_init_f32(g, "th", "1,2,3", th);
    int64_t s[4] = {1, 2, 5, 5};
    o18_init_i64(g, "s", "4", s);
    o18_node(g, "AffineGrid", "th,s", "grid");
    o18_node(g, "GridSample", "x,grid", "y");
    o18_out(g, "y", RT_F32);
    o18_check("affine_stn", g, 20, ins, n, &STN_TOL);
}

/* an axis of length 1 with align_corners = 1: the spec's reference (numpy arange from -1
 * with step 2 / 0) and PyTorch's affine_grid (linspace(-1, 1, 1)) give -1; onnxruntime gives
 * another value, so this is checked by hand. Identity theta, size [1, 1, 1, 3]:
 * grid = [(-1, -1), (0, -1), (1, -1)] */
Test(affine_grid, length_one_axis_align_corners_by_hand) {
    Onnx__GraphProto *g = pb_graph("g");
    float th[6] = {1, 0, 0, 0, 1, 0};
    int64_t s[4] = {1, 1, 1, 3};
    o18_init_f32(g, "th", "1,2,3", th);
    o18_init_i64(g, "s", "4", s);
    o18_ai(o18_node(g, "AffineGrid", "th,s", "y"), "align_corners", 1);
    o18_out(g, "y", RT_F32);
    RtTensor y;
    o18_wafer_run("ag_len1", g, 20, NULL, 0, "y", &y);
    cr_assert(y.rank == 4 && y.dims[1] == 1 && y.dims[2] == 3 && y.dims[3] == 2);
    static const float want[6] = {-1, -1, 0, -1, 1, -1};
    for (int i = 0; i < 6; i++) cr_expect_float_eq(((float *)y.data)[i], want[i], 0, "grid[%d]", i);
    free(y.data);
}
