/*
 * test_col2im.c — Col2Im (opset 18, runtime/kernels/ref/col2im.c) against onnxruntime-node in
 * 2-D with pads, strides and dilations, and a 1-D case computed by hand.
 */
#include "ort18.h"

TestSuite(col2im, .fini = pb_release_all);

/* each output sums at most prod(block) = 6 inputs: float rounding of a few ulps */
static const OrtcTol C2I_TOL = {1e-6, 1e-6, 0};

Test(col2im, two_d_pads_strides_dilations) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[2];
    int n = 0;
    /* image 5x6, block 2x3, dilations [2, 1], strides [1, 2], pads [1, 0, 0, 1]:
     * H: (5 + 1 - 3) / 1 + 1 = 4 positions, W: (6 + 1 - 3) / 2 + 1 = 3 -> L = 12 */
    o18_in_f32(g, ins, &n, "x", "2,12,12", -1, 1);
    int64_t img[2] = {5, 6}, blk[2] = {2, 3}, dil[2] = {2, 1}, st[2] = {1, 2}, pads[4] = {1, 0, 0, 1};
    o18_init_i64(g, "img", "2", img);
    o18_init_i64(g, "blk", "2", blk);
    Onnx__NodeProto *nd = o18_node(g, "Col2Im", "x,img,blk", "y");
    o18_aints(o18_aints(o18_aints(nd, "dilations", 2, dil), "strides", 2, st), "pads", 4, pads);
    o18_out(g, "y", RT_F32);
    o18_check("col2im2d", g, 18, ins, n, &C2I_TOL);
}

Test(col2im, two_d_defaults) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[1];
    int n = 0;
    /* image 3x4, block 2x2: 2 x 3 = 6 positions, C = 2 */
    o18_in_f32(g, ins, &n, "x", "1,8,6", -1, 1);
    int64_t img[2] = {3, 4}, blk[2] = {2, 2};
    o18_init_i64(g, "img", "2", img);
    o18_init_i64(g, "blk", "2", blk);
    o18_node(g, "Col2Im", "x,img,blk", "y");
    o18_out(g, "y", RT_F32);
    o18_check("col2im_def", g, 18, ins, n, &C2I_TOL);
}

/* 1-D image of 4, block 2, stride 1: columns [a0 a1 a2] (offset 0) and [b0 b1 b2] (offset 1)
 * land at positions l and l + 1: y = [a0, a1 + b0, a2 + b1, b2] */
Test(col2im, one_d_by_hand) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[1];
    int n = 0;
    static float x[6] = {1, 2, 3, 10, 20, 30};
    o18_in_typed(g, ins, &n, "x", RT_F32, "1,2,3", x);
    int64_t img[1] = {4}, blk[1] = {2};
    o18_init_i64(g, "img", "1", img);
    o18_init_i64(g, "blk", "1", blk);
    o18_node(g, "Col2Im", "x,img,blk", "y");
    o18_out(g, "y", RT_F32);
    RtTensor y;
    o18_wafer_run("c2i_hand", g, 18, ins, n, "y", &y);
    static const float want[4] = {1, 12, 23, 30};
    cr_assert_eq(y.rank, 3);
    cr_assert_eq(y.dims[2], 4);
    for (int i = 0; i < 4; i++) cr_expect_float_eq(((float *)y.data)[i], want[i], 0, "y[%d]", i);
    free(y.data);
}

/* three spatial axes: image 3x3x4, block 2x2x2 -> 2 x 2 x 3 = 12 positions, C = 1 */
Test(col2im, three_d) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[1];
    int n = 0;
    o18_in_f32(g, ins, &n, "x", "1,8,12", -1, 1);
    int64_t img[3] = {3, 3, 4}, blk[3] = {2, 2, 2};
    o18_init_i64(g, "img", "3", img);
    o18_init_i64(g, "blk", "3", blk);
    o18_node(g, "Col2Im", "x,img,blk", "y");
    o18_out(g, "y", RT_F32);
    o18_check("col2im3d", g, 18, ins, n, &C2I_TOL);
}

/* a block count that does not match the image, and sizes whose product would overflow:
 * refused with a message (exit 2), no crash */
Test(col2im, bad_sizes_are_refused) {
    for (int k = 0; k < 2; k++) {
        Onnx__GraphProto *g = pb_graph("g");
        OrtcInput ins[1];
        int n = 0;
        o18_in_f32(g, ins, &n, "x", "1,4,5", -1, 1);
        int64_t img[3] = {3, 3, 3}, blk[3] = {2, 2, 1};
        int64_t big[3] = {INT32_MAX, INT32_MAX, INT32_MAX}, bigb[3] = {1, 1, 1};
        o18_init_i64(g, "img", "3", k ? big : img);
        o18_init_i64(g, "blk", "3", k ? bigb : blk);
        o18_node(g, "Col2Im", "x,img,blk", "y");
        o18_out(g, "y", RT_F32);
        o18_wafer_refuses("c2i_bad", g, 18, ins, n, k ? "overflows" : "blocks");
    }
}
