/*
 * test_deform_conv.c — DeformConv (opset 19, runtime/kernels/ref/deform_conv.c) against
 * onnxruntime-node: offsets only (v1), with mask and bias (v2), groups and offset groups,
 * strides, pads and dilations; zero offsets equal a plain Conv (checked against wafer's own
 * Conv, itself checked by the conformance data). 1-D and 3-D (the spec's N-D case, which
 * neither onnxruntime nor the spec's reference implements) are checked by hand and against
 * Conv.
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

/* 1-D by hand: X = [1, 2, 3, 4], W = [1, 10], tap 0 offset 0.5, tap 1 offset 0:
 * y[i] = x(i + 0.5) + 10 x(i + 1) = [1.5 + 20, 2.5 + 30, 3.5 + 40] */
Test(deform_conv, one_d_by_hand) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[1];
    int n = 0;
    static float x[4] = {1, 2, 3, 4};
    o18_in_typed(g, ins, &n, "x", RT_F32, "1,1,4", x);
    float w[2] = {1, 10}, off[6] = {0.5f, 0.5f, 0.5f, 0, 0, 0};
    o18_init_f32(g, "w", "1,1,2", w);
    o18_init_f32(g, "off", "1,2,3", off);
    o18_node(g, "DeformConv", "x,w,off", "y");
    o18_out(g, "y", RT_F32);
    RtTensor y;
    o18_wafer_run("deform_1d", g, 19, ins, n, "y", &y);
    static const float want[3] = {21.5f, 32.5f, 43.5f};
    cr_assert(y.rank == 3 && y.dims[2] == 3);
    for (int i = 0; i < 3; i++) cr_expect_float_eq(((float *)y.data)[i], want[i], 1e-6f, "y[%d]", i);
    free(y.data);
}

/* 3-D with zero offsets and a mask of ones equals Conv (same strides, pads, dilations) */
Test(deform_conv, three_d_zero_offsets_equal_conv) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[2];
    int n = 0;
    o18_in_f32(g, ins, &n, "x", "1,2,4,5,5", -1, 1);
    o18_in_f32(g, ins, &n, "w", "2,2,2,3,2", -1, 1);
    /* out: (4 + 1 - 2) / 1 + 1 = 4, (5 + 0 - 3) / 2 + 1 = 2, (5 + 1 - 3) / 1 + 1 = 4 with
     * dilation 2 on the last axis: kernel 2 spans 3 */
    static float zero[2 * 12 * 3 * 32], ones[2 * 12 * 32];
    for (int i = 0; i < 2 * 12 * 32; i++) ones[i] = 1;
    o18_init_f32(g, "off", "1,36,4,2,4", zero);
    o18_init_f32(g, "m", "1,12,4,2,4", ones);
    int64_t st[3] = {1, 2, 1}, dl[3] = {1, 1, 2}, pd[6] = {1, 0, 1, 0, 0, 0};
    Onnx__NodeProto *a = o18_node(g, "DeformConv", "x,w,off,,m", "y");
    Onnx__NodeProto *b = o18_node(g, "Conv", "x,w", "ref");
    o18_aints(o18_aints(o18_aints(a, "strides", 3, st), "dilations", 3, dl), "pads", 6, pd);
    o18_aints(o18_aints(o18_aints(b, "strides", 3, st), "dilations", 3, dl), "pads", 6, pd);
    o18_node(g, "Sub", "y,ref", "diff");
    o18_out(g, "diff", RT_F32);
    RtTensor d;
    o18_wafer_run("deform_3d", g, 19, ins, n, "diff", &d);
    cr_assert(d.rank == 5 && d.dims[1] == 2 && d.dims[2] == 4 && d.dims[3] == 2 && d.dims[4] == 4);
    /* 12 products of values in [-1, 1], summed in two orders: float rounding */
    for (int64_t i = 0; i < rt_numel(&d); i++) cr_expect(fabsf(((float *)d.data)[i]) < 1e-5f, "diff[%lld]", (long long)i);
    free(d.data);
}

/* float64 takes the direct (double) loop, float32 the im2col + GEMM route: the two agree on
 * the same model (offsets, mask, bias, groups), the float64 run cast to float32 */
Test(deform_conv, float64_loop_agrees_with_float32_route) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[5];
    int n = 0;
    o18_in_f32(g, ins, &n, "x", "1,4,5,6", -1, 1);
    o18_in_f32(g, ins, &n, "w", "4,2,3,3", -1, 1);
    o18_in_f32(g, ins, &n, "off", "1,36,5,3", -1.5f, 1.5f);
    o18_in_f32(g, ins, &n, "b", "4", -1, 1);
    o18_in_f32(g, ins, &n, "m", "1,18,5,3", 0, 1);
    static const char *names[5] = {"x", "w", "off", "b", "m"};
    char cast_ins[64] = "";
    for (int i = 0; i < 5; i++) {
        char o[16];
        snprintf(o, sizeof o, "%s64", names[i]);
        o18_ai(o18_node(g, "Cast", names[i], pb_str(o)), "to", RT_F64);
        strcat(cast_ins, o);
        if (i < 4) strcat(cast_ins, ",");
    }
    int64_t st[2] = {1, 2}, pads[4] = {1, 1, 1, 1};
    Onnx__NodeProto *a = o18_node(g, "DeformConv", "x,w,off,b,m", "y");
    Onnx__NodeProto *b = o18_node(g, "DeformConv", pb_str(cast_ins), "y64");
    o18_ai(o18_ai(o18_aints(o18_aints(a, "strides", 2, st), "pads", 4, pads), "group", 2), "offset_group", 2);
    o18_ai(o18_ai(o18_aints(o18_aints(b, "strides", 2, st), "pads", 4, pads), "group", 2), "offset_group", 2);
    o18_ai(o18_node(g, "Cast", "y64", "y64f"), "to", RT_F32);
    o18_node(g, "Sub", "y,y64f", "diff");
    o18_out(g, "diff", RT_F32);
    RtTensor d;
    o18_wafer_run("deform_f64", g, 19, ins, n, "diff", &d);
    /* float accumulation of 18 terms of magnitude <= 1 against double: a few float ulps of ~5 */
    for (int64_t i = 0; i < rt_numel(&d); i++) cr_expect(fabsf(((float *)d.data)[i]) < 1e-5f, "diff[%lld] = %g", (long long)i, ((float *)d.data)[i]);
    cr_expect_eq(rt_numel(&d), 4 * 5 * 3);
    free(d.data);
}
