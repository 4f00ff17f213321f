/*
 * test_center_crop_pad.c — CenterCropPad (opset 18, runtime/kernels/ref/center_crop_pad.c)
 * against onnxruntime-node: crop and pad on the same tensor, odd differences (which side
 * gets the extra element), axes given or all, float and int64 data.
 */
#include "ort18.h"

TestSuite(center_crop_pad, .fini = pb_release_all);

/* Cropping and zero padding only copy values: equal. */
static const OrtcTol EXACT = {0, 0, 0};

Test(center_crop_pad, crop_and_pad_agree_with_onnxruntime) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[2];
    int n = 0;
    o18_in_f32(g, ins, &n, "x", "5,6,3", -1, 1);
    static int64_t iv[20];
    for (int i = 0; i < 20; i++) iv[i] = i * 7 - 50;
    o18_in_typed(g, ins, &n, "iv", RT_I64, "4,5", iv);
    /* all axes: 5 -> 2 (crop 3, odd), 6 -> 9 (pad 3, odd), 3 -> 3 */
    int64_t all[3] = {2, 9, 3}, two[2] = {8, 1}, ax[2] = {-1, 0};
    o18_init_i64(g, "all", "3", all);
    o18_init_i64(g, "two", "2", two);
    o18_node(g, "CenterCropPad", "x,all", "a");
    /* axes [-1, 0]: 3 -> 8 (pad 5), 5 -> 1 */
    o18_aints(o18_node(g, "CenterCropPad", "x,two", "b"), "axes", 2, ax);
    /* int64 [4, 5] -> [1 (crop), 8 (pad)] with axes [-1, 0] read as [5 -> 8, 4 -> 1] */
    o18_aints(o18_node(g, "CenterCropPad", "iv,two", "c"), "axes", 2, ax);
    o18_out(g, "a", RT_F32);
    o18_out(g, "b", RT_F32);
    o18_out(g, "c", RT_I64);
    o18_check("ccp", g, 18, ins, n, &EXACT);
}
