/*
 * test_deform_conv.c — DeformConv (opset 19, runtime/kernels/ref/deform_conv.c) against
 * onnxruntime-node: offsets only (v1), with mask and bias (v2), groups and offset groups,
 * strides, pads and dilations; zero offsets equal a plain Conv (checked against wafer's own
 * Conv, itself checked by the conformance data).
 */
#include "ort18.h"

TestSuite(deform_conv, .fini = pb_release_all);

/* sums of up to 4 channels x 9 taps of bilinear samples: float accumulation in onnxruntime */
static const OrtcTol DC_TOL = {1e-5, 1e-4, 0};

Test(deform_conv, offsets_mask_bias_groups) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[5];
    int n = 0;
    /* X [1, 4, 5, 6], W [4, 2, 3, 3] (group 2), offset_group 2, stride [1, 2], pads 1,
     * dilation [1, 1]: oH = 5, oW = (6 + 2 - 3) / 2 + 1 = 3 */
    o18_in_f32(g, ins, &n, "x", "1,4,5,6", -1, 1);
    o18_in_f32(g, ins, &n, "w", "4,2,3,3", -1, 1);
    o18_in_f32(g, ins, &n, "off", "1,36,5,3", -1.5f, 1.5f);
    o18_in_f32(g, ins, &n, "b", "4", -1, 1);
    o18_in_f32(g, ins, &n, "m", "1,18,5,3", 0, 1);
    int64_t st[2] = {1, 2}, pads[4] = {1, 1, 1, 1};
    Onnx__NodeProto *a = o18_node(g, "DeformConv", "x,w,off,b,m", "y");
    o18_ai(o18_ai(o18_aints(o18_aints(a, "strides", 2, st), "pads", 4, pads), "group", 2), "offset_group", 2);
    o18_out(g, "y", RT_F32);
    o18_check("deform_v2", g, 19, ins, n, &DC_TOL);
}

Test(deform_conv, offsets_only_dilated) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[3];
    int n = 0;
    o18_in_f32(g, ins, &n, "x", "2,3,7,7", -1, 1);
    o18_in_f32(g, ins, &n, "w", "2,3,2,3", -1, 1);
    /* dilations [2, 1]: kernel spans 3 x 3; oH = 5, oW = 5 */
    o18_in_f32(g, ins, &n, "off", "2,12,5,5", -2.5f, 2.5f);
    int64_t dil[2] = {2, 1};
    o18_aints(o18_node(g, "DeformConv", "x,w,off", "y"), "dilations", 2, dil);
    o18_out(g, "y", RT_F32);
    o18_check("deform_v1", g, 19, ins, n, &DC_TOL);
}

/* zero offsets: DeformConv is Conv */
Test(deform_conv, zero_offsets_equal_conv) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[2];
    int n = 0;
    o18_in_f32(g, ins, &n, "x", "1,2,5,5", -1, 1);
    o18_in_f32(g, ins, &n, "w", "3,2,3,3", -1, 1);
    static float zero[1 * 18 * 3 * 3];
    int64_t od[4] = {1, 18, 3, 3};
    pb_tensor_floats(pb_add_init(g, pb_tensor("off", RT_F32, 4, od)), 162, zero);
    o18_node(g, "DeformConv", "x,w,off", "y");
    o18_node(g, "Conv", "x,w", "ref");
    o18_node(g, "Sub", "y,ref", "diff");
    o18_out(g, "diff", RT_F32);
    o18_out(g, "y", RT_F32);
    o18_check("deform_zero", g, 19, ins, n, &DC_TOL);
}
