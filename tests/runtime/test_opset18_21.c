/*
 * test_opset18_21.c — what opsets 18, 19, 20 and 21 changed in ops wafer already had (ONNX
 * Changelog.md), each checked against onnxruntime-node (tests/ort_compare.h) on a model
 * written at the op's new opset: Reduce* axes input and noop_with_empty_axes (18),
 * ReduceMax/Min on bool (20), Split num_outputs (18), Pad axes (18) and wrap (19), Resize
 * antialias / axes / keep_aspect_ratio_policy (18) and half_pixel_symmetric (19),
 * ScatterElements / ScatterND reduction max and min (18), AveragePool dilations (19),
 * Cast / CastLike saturate (19), QuantizeLinear / DequantizeLinear block_size and
 * output_dtype (21), GridSample N-D and linear/cubic (20), ConstantOfShape (20), Shape
 * start/end (19), IsNaN / IsInf (20), Reshape / Identity (21), DFT axis input (20), Gelu (20),
 * Mish (18). Types wafer has no dtype for (float8) are refused by name.
 * Skips where onnxruntime-node is not installed.
 */
#include "ort18.h"

TestSuite(opset18_21, .fini = pb_release_all);

/* float32 kernels that compute in float or double: elementwise results differ from
 * onnxruntime's by a few ulps (accumulation order, exp/log implementations) */
static const OrtcTol F32_TOL = {1e-6, 1e-5, 0};
/* resampling filters sum up to ~10 weighted taps per axis; ORT rounds its weights to float */
static const OrtcTol RESAMPLE_TOL = {1e-5, 1e-4, 0};
/* integer, bool and data-movement outputs are exact */
static const OrtcTol EXACT = {0, 0, 0};

/* ------------------------------------------------------------ reductions (18, 20) */

Test(opset18_21, reduce_axes_as_input_18) {
    static const char *ops[] = {"ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
                                "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare", "ReduceSum"};
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[2];
    int n = 0;
    o18_in_f32(g, ins, &n, "x", "2,3,4", 0.5f, 2.0f);
    int64_t ax[2] = {-1, 0};
    o18_init_i64(g, "axes", "2", ax);
    for (int i = 0; i < 10; i++) {
        char out[32];
        snprintf(out, sizeof out, "y%d", i);
        Onnx__NodeProto *nd = pb_add_node(g, pb_node(ops[i], ops[i], "x,axes", out));
        pb_attr_int(nd, "keepdims", i % 2);
        o18_out(g, pb_str(out), RT_F32);
    }
    o18_check("o18_reduce_axes", g, 18, ins, n, &F32_TOL);
}

/* axes absent or empty: reduce everything, or (noop_with_empty_axes = 1) pass the input
 * through; ReduceSumSquare / L1 / L2 / LogSum(Exp) still apply their elementwise step
 * (onnxruntime and the spec's reference agree on this) */
Test(opset18_21, reduce_noop_with_empty_axes_18) {
    static const char *ops[] = {"ReduceMean", "ReduceMax", "ReduceSumSquare", "ReduceL1", "ReduceL2",
                                "ReduceLogSumExp", "ReduceProd", "ReduceMin"};
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[2];
    int n = 0;
    o18_in_f32(g, ins, &n, "x", "2,3", -2.0f, 2.0f);
    o18_init_i64(g, "empty", "0", NULL);
    for (int i = 0; i < 8; i++) {
        char out[32];
        snprintf(out, sizeof out, "y%d", i);
        /* even: empty axes input with noop; odd: no axes input, reduce all, keepdims 0 */
        Onnx__NodeProto *nd = pb_add_node(g, pb_node(ops[i], ops[i], i % 2 ? "x" : "x,empty", out));
        if (i % 2 == 0) pb_attr_int(nd, "noop_with_empty_axes", 1);
        else pb_attr_int(nd, "keepdims", 0);
        o18_out(g, pb_str(out), RT_F32);
    }
    o18_check("o18_reduce_noop", g, 18, ins, n, &F32_TOL);
}

Test(opset18_21, reduce_max_min_bool_20) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[1];
    int n = 0;
    static uint8_t b[12] = {1, 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 1};
    o18_in_typed(g, ins, &n, "b", RT_BOOL, "3,4", b);
    int64_t ax[1] = {1};
    o18_init_i64(g, "axes", "1", ax);
    pb_add_node(g, pb_node("ReduceMax", "mx", "b,axes", "any"));
    pb_add_node(g, pb_node("ReduceMin", "mn", "b,axes", "all"));
    o18_out(g, "any", RT_BOOL);
    o18_out(g, "all", RT_BOOL);
    o18_check("o18_reduce_bool", g, 20, ins, n, &EXACT);
}

/* ------------------------------------------------------------ Split (18) */

Test(opset18_21, split_num_outputs_18) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[1];
    int n = 0;
    o18_in_f32(g, ins, &n, "x", "2,7", -1, 1);
    /* 7 into 3: chunks of ceil(7/3) = 3, the last 1 */
    o18_ai(o18_ai(o18_node(g, "Split", "x", "a,b,c"), "axis", 1), "num_outputs", 3);
    o18_out(g, "a", RT_F32);
    o18_out(g, "b", RT_F32);
    o18_out(g, "c", RT_F32);
    o18_check("o18_split", g, 18, ins, n, &EXACT);
}

/* ------------------------------------------------------------ Pad (18 axes, 19 wrap) */

/* pads for the listed axes only: [begin per axis..., end per axis...]; a negative pad crops
 * (reflect pads stay below the cropped axis' size, which onnxruntime requires) */
static void pad_case(const char *tag, int opset, const char *mode) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[1];
    int n = 0;
    o18_in_f32(g, ins, &n, "x", "2,3,4", -1, 1);
    int64_t pads[4] = {2, -1, 1, 1}, axes[2] = {-1, 1};
    float cv = 1.5f;
    o18_init_i64(g, "pads", "4", pads);
    o18_init_i64(g, "axes", "2", axes);
    o18_init_f32(g, "cv", "", &cv);
    o18_as(o18_node(g, "Pad", strcmp(mode, "constant") == 0 ? "x,pads,cv,axes" : "x,pads,,axes", "y"), "mode", mode);
    o18_out(g, "y", RT_F32);
    o18_check(tag, g, opset, ins, n, &EXACT);
}

Test(opset18_21, pad_axes_constant_18) { pad_case("o18_pad_const", 18, "constant"); }
Test(opset18_21, pad_axes_reflect_18) { pad_case("o18_pad_reflect", 18, "reflect"); }
Test(opset18_21, pad_axes_edge_18) { pad_case("o18_pad_edge", 18, "edge"); }
Test(opset18_21, pad_wrap_19) { pad_case("o18_pad_wrap", 19, "wrap"); }

/* wrap with a pad as large as the axis (the pattern repeats whole) at opset 21 */
Test(opset18_21, pad_wrap_whole_axis_21) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[1];
    int n = 0;
    o18_in_f32(g, ins, &n, "x", "3,4", -1, 1);
    int64_t pads[4] = {3, 1, 2, 4};
    o18_init_i64(g, "pads", "4", pads);
    o18_as(o18_node(g, "Pad", "x,pads", "y"), "mode", "wrap");
    o18_out(g, "y", RT_F32);
    o18_check("o18_pad_wrap2", g, 21, ins, n, &EXACT);
}

/* ------------------------------------------------------------ Resize (18, 19) */

static Onnx__GraphProto *resize_graph(OrtcInput *ins, int *n, const char *dims) {
    Onnx__GraphProto *g = pb_graph("g");
    o18_in_f32(g, ins, n, "x", dims, -1, 1);
    return g;
}

Test(opset18_21, resize_antialias_linear_cubic_axes_18) {
    OrtcInput ins[1];
    int n = 0;
    Onnx__GraphProto *g = resize_graph(ins, &n, "1,2,9,10");
    float sc[2] = {0.5f, 0.4f};
    int64_t sz[2] = {4, 3}, axes[2] = {2, 3};
    o18_init_f32(g, "sc", "2", sc);
    o18_init_i64(g, "sz", "2", sz);
    o18_init_i64(g, "axes", "2", axes);
    Onnx__NodeProto *a = o18_node(g, "Resize", "x,,sc", "lin");
    o18_as(o18_ai(o18_aints(a, "axes", 2, axes), "antialias", 1), "mode", "linear");
    Onnx__NodeProto *b = pb_add_node(g, pb_node("Resize", "cub", "x,,,sz", "cub"));
    o18_as(o18_ai(o18_aints(b, "axes", 2, axes), "antialias", 1), "mode", "cubic");
    o18_out(g, "lin", RT_F32);
    o18_out(g, "cub", RT_F32);
    o18_check("o18_resize_aa", g, 18, ins, n, &RESAMPLE_TOL);
}

Test(opset18_21, resize_keep_aspect_ratio_policy_18) {
    OrtcInput ins[1];
    int n = 0;
    Onnx__GraphProto *g = resize_graph(ins, &n, "1,1,6,8");
    int64_t sz[2] = {9, 9}, axes[2] = {2, 3};
    o18_init_i64(g, "sz", "2", sz);
    static const char *pol[2] = {"not_larger", "not_smaller"};
    for (int i = 0; i < 2; i++) {
        Onnx__NodeProto *nd = pb_add_node(g, pb_node("Resize", pol[i], "x,,,sz", pol[i]));
        o18_as(o18_as(o18_aints(nd, "axes", 2, axes), "keep_aspect_ratio_policy", pol[i]), "mode", "nearest");
        o18_out(g, pol[i], RT_F32);
    }
    o18_check("o18_resize_policy", g, 18, ins, n, &EXACT);
}

Test(opset18_21, resize_half_pixel_symmetric_19) {
    OrtcInput ins[1];
    int n = 0;
    Onnx__GraphProto *g = resize_graph(ins, &n, "1,2,5,6");
    float up[4] = {1, 1, 1.7f, 2.3f}, down[4] = {1, 1, 0.6f, 0.7f};
    o18_init_f32(g, "up", "4", up);
    o18_init_f32(g, "down", "4", down);
    static const char *modes[3] = {"linear", "cubic", "nearest"};
    for (int i = 0; i < 3; i++) {
        char o1[16], o2[16];
        snprintf(o1, sizeof o1, "u%d", i);
        snprintf(o2, sizeof o2, "d%d", i);
        o18_as(o18_as(pb_add_node(g, pb_node("Resize", pb_str(o1), "x,,up", pb_str(o1))), "mode", modes[i]),
               "coordinate_transformation_mode", "half_pixel_symmetric");
        o18_as(o18_as(pb_add_node(g, pb_node("Resize", pb_str(o2), "x,,down", pb_str(o2))), "mode", modes[i]),
               "coordinate_transformation_mode", "half_pixel_symmetric");
        o18_out(g, pb_str(o1), RT_F32);
        o18_out(g, pb_str(o2), RT_F32);
    }
    o18_check("o18_resize_hps", g, 19, ins, n, &RESAMPLE_TOL);
}

/* ------------------------------------------------------------ Scatter max/min (18) */

Test(opset18_21, scatter_elements_and_nd_max_min_18) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[3];
    int n = 0;
    o18_in_f32(g, ins, &n, "d", "4,3", -1, 1);
    o18_in_f32(g, ins, &n, "u", "2,3", -2, 2);
    o18_in_f32(g, ins, &n, "un", "3,3", -2, 2);
    /* duplicate targets: row 1 twice in column 0 and 2, row 3 twice in the ND case */
    int64_t ie[6] = {1, 0, 1, 1, 3, 1}, in_[3] = {3, 0, 3};
    o18_init_i64(g, "ie", "2,3", ie);
    o18_init_i64(g, "ind", "3,1", in_);
    static const char *red[2] = {"max", "min"};
    for (int i = 0; i < 2; i++) {
        char a[16], b[16];
        snprintf(a, sizeof a, "se_%s", red[i]);
        snprintf(b, sizeof b, "sn_%s", red[i]);
        o18_as(o18_ai(pb_add_node(g, pb_node("ScatterElements", pb_str(a), "d,ie,u", pb_str(a))), "axis", 0),
               "reduction", red[i]);
        o18_as(pb_add_node(g, pb_node("ScatterND", pb_str(b), "d,ind,un", pb_str(b))), "reduction", red[i]);
        o18_out(g, pb_str(a), RT_F32);
        o18_out(g, pb_str(b), RT_F32);
    }
    o18_check("o18_scatter", g, 18, ins, n, &EXACT);
}

/* ------------------------------------------------------------ AveragePool dilations (19) */

Test(opset18_21, average_pool_dilations_19) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[1];
    int n = 0;
    o18_in_f32(g, ins, &n, "x", "1,2,8,7", -1, 1);
    int64_t k[2] = {3, 2}, d[2] = {2, 3}, s[2] = {1, 2}, p[4] = {1, 1, 2, 1};
    for (int i = 0; i < 4; i++) {
        char o[16];
        snprintf(o, sizeof o, "y%d", i);
        Onnx__NodeProto *nd = pb_add_node(g, pb_node("AveragePool", pb_str(o), "x", pb_str(o)));
        o18_aints(o18_aints(o18_aints(nd, "kernel_shape", 2, k), "dilations", 2, d), "strides", 2, s);
        o18_ai(o18_ai(o18_aints(nd, "pads", 4, p), "count_include_pad", i & 1), "ceil_mode", i >> 1);
        o18_out(g, pb_str(o), RT_F32);
    }
    o18_check("o18_avgpool", g, 19, ins, n, &F32_TOL);
}

/* ------------------------------------------------------------ Cast / CastLike (19, 21) */

Test(opset18_21, cast_castlike_19) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[1];
    int n = 0;
    o18_in_f32(g, ins, &n, "x", "3,5", -100, 100);
    int32_t like = 0;
    o18_init_raw(g, "like", RT_I32, "", &like, 4);
    /* saturate (19) only concerns float8 targets; onnxruntime refuses it on any other, so
     * the comparison leaves it out (wafer accepts it, as the spec allows, and ignores it) */
    o18_ai(o18_node(g, "Cast", "x", "a"), "to", RT_I8);
    o18_node(g, "CastLike", "x,like", "b");
    o18_ai(pb_add_node(g, pb_node("Cast", "c16", "x", "c")), "to", RT_F64);
    o18_out(g, "a", RT_I8);
    o18_out(g, "b", RT_I32);
    o18_out(g, "c", RT_F64);
    o18_check("o18_cast", g, 19, ins, n, &EXACT);
}

Test(opset18_21, cast_to_float8_is_refused_by_name_19) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[1];
    int n = 0;
    o18_in_f32(g, ins, &n, "x", "3", -1, 1);
    o18_ai(o18_node(g, "Cast", "x", "y"), "to", 17); /* FLOAT8E4M3FN */
    o18_out(g, "y", 17);
    o18_wafer_refuses("o18_cast_f8", g, 19, ins, n, "Cast");
}

/* ------------------------------------------------------------ Q / DQ (19, 21) */

Test(opset18_21, quantize_dequantize_blocked_21) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[2];
    int n = 0;
    o18_in_f32(g, ins, &n, "x", "4,6", -3, 3);
    static int8_t q[24];
    for (int i = 0; i < 24; i++) q[i] = (int8_t)(i * 11 - 128);
    o18_in_typed(g, ins, &n, "q", RT_I8, "4,6", q);
    /* axis 1, block_size 4: each row's 6 columns in blocks of 4 and 2 -> scale [4, 2] */
    float sc[8] = {0.02f, 0.05f, 0.03f, 0.01f, 0.04f, 0.06f, 0.025f, 0.015f};
    int8_t zp[8] = {0, 3, -2, 5, 1, -7, 0, 2};
    o18_init_f32(g, "sc", "4,2", sc);
    o18_init_raw(g, "zp", RT_I8, "4,2", zp, 1);
    o18_ai(o18_ai(o18_node(g, "QuantizeLinear", "x,sc,zp", "xq"), "axis", 1), "block_size", 4);
    o18_ai(o18_ai(o18_node(g, "DequantizeLinear", "q,sc,zp", "qd"), "axis", 1), "block_size", 4);
    o18_out(g, "xq", RT_I8);
    o18_out(g, "qd", RT_F32);
    o18_check("o18_qdq_block", g, 21, ins, n, &F32_TOL);
}

Test(opset18_21, quantize_output_dtype_int16_21) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[2];
    int n = 0;
    o18_in_f32(g, ins, &n, "x", "3,4", -500, 500);
    static int16_t q[12] = {-32768, -1000, -1, 0, 1, 77, 1000, 32767, 12345, -12345, 5, -5};
    o18_in_typed(g, ins, &n, "q", RT_I16, "3,4", q);
    float sc[3] = {0.01f, 0.02f, 0.5f};
    o18_init_f32(g, "sc", "3", sc);
    /* no zero point: output_dtype chooses int16; per-axis scales along axis 0 */
    o18_ai(o18_ai(o18_node(g, "QuantizeLinear", "x,sc", "xq"), "axis", 0), "output_dtype", RT_I16);
    o18_ai(o18_node(g, "DequantizeLinear", "q,sc", "qd"), "axis", 0);
    o18_out(g, "xq", RT_I16);
    o18_out(g, "qd", RT_F32);
    o18_check("o18_q_int16", g, 21, ins, n, &F32_TOL);
}

/* int4 / uint4 (21) initializers are widened to a byte per element by the frontend; blocked
 * along axis 1 with block_size 2 */
Test(opset18_21, dequantize_int4_uint4_blocked_21) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[1];
    int n = 0;
    o18_in_f32(g, ins, &n, "unused", "1", 0, 1);
    uint8_t packed[4] = {0x8F, 0x71, 0x0E, 0x93}; /* 8 nibbles, low first: int4 -1,-8,1,7,-2,0,3,-7 */
    int64_t d[2] = {2, 4};
    pb_tensor_raw(pb_add_init(g, pb_tensor("q", 22, 2, d)), packed, 4);  /* INT4 */
    pb_tensor_raw(pb_add_init(g, pb_tensor("uq", 21, 2, d)), packed, 4); /* UINT4: 15,8,1,7,14,0,3,9 */
    float sc[4] = {0.5f, 0.25f, 2.0f, 0.125f};
    o18_init_f32(g, "sc", "2,2", sc);
    uint8_t zp[2] = {0x38, 0xF0}; /* uint4 zero points [8, 3, 0, 15], one block row [1, 4] */
    int64_t zd[2] = {1, 4};
    pb_tensor_raw(pb_add_init(g, pb_tensor("uzp", 21, 2, zd)), zp, 2);
    float sc1[4] = {0.5f, 0.75f, 1.5f, 0.0625f};
    o18_init_f32(g, "sc1", "1,4", sc1);
    o18_ai(o18_ai(o18_node(g, "DequantizeLinear", "q,sc", "y"), "axis", 1), "block_size", 2);
    o18_ai(o18_ai(o18_node(g, "DequantizeLinear", "uq,sc1,uzp", "uy"), "axis", 0), "block_size", 2);
    o18_node(g, "Identity", "unused", "u");
    o18_out(g, "y", RT_F32);
    o18_out(g, "uy", RT_F32);
    o18_out(g, "u", RT_F32);
    o18_check("o18_dq_int4", g, 21, ins, n, &EXACT);
}

/* ------------------------------------------------------------ GridSample (20) */

Test(opset18_21, grid_sample_3d_linear_nearest_20) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[2];
    int n = 0;
    o18_in_f32(g, ins, &n, "x", "1,2,3,4,5", -1, 1);
    o18_in_f32(g, ins, &n, "grid", "1,2,3,2,3", -1.2f, 1.2f);
    static const char *modes[2] = {"linear", "nearest"}, *pads[2] = {"zeros", "border"};
    for (int i = 0; i < 4; i++) {
        char o[16];
        snprintf(o, sizeof o, "y%d", i);
        Onnx__NodeProto *nd = pb_add_node(g, pb_node("GridSample", pb_str(o), "x,grid", pb_str(o)));
        o18_ai(o18_as(o18_as(nd, "mode", modes[i & 1]), "padding_mode", pads[i >> 1]), "align_corners", i >> 1);
        o18_out(g, pb_str(o), RT_F32);
    }
    o18_check("o18_gridsample3d", g, 20, ins, n, &F32_TOL);
}

Test(opset18_21, grid_sample_2d_cubic_reflection_20) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[2];
    int n = 0;
    o18_in_f32(g, ins, &n, "x", "2,2,5,6", -1, 1);
    o18_in_f32(g, ins, &n, "grid", "2,3,4,2", -1.3f, 1.3f);
    for (int i = 0; i < 2; i++) {
        char o[16];
        snprintf(o, sizeof o, "y%d", i);
        Onnx__NodeProto *nd = pb_add_node(g, pb_node("GridSample", pb_str(o), "x,grid", pb_str(o)));
        o18_ai(o18_as(o18_as(nd, "mode", "cubic"), "padding_mode", i ? "reflection" : "zeros"), "align_corners", i);
        o18_out(g, pb_str(o), RT_F32);
    }
    o18_check("o18_gridsample_cubic", g, 20, ins, n, &RESAMPLE_TOL);
}

/* ------------------------------------------------------------ small changes (19-21) */

Test(opset18_21, constant_of_shape_shape_size_20_21) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[1];
    int n = 0;
    o18_in_f32(g, ins, &n, "x", "2,3,4,5", -1, 1);
    int64_t shp[2] = {2, 3}, one = 1;
    o18_init_i64(g, "shp", "2", shp);
    Onnx__NodeProto *c = o18_node(g, "ConstantOfShape", "shp", "c");
    Onnx__TensorProto *v = pb_tensor("value", RT_I16, 1, &one);
    int16_t seven = 7;
    pb_tensor_raw(v, &seven, 2);
    pb_attr(c, "value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR)->t = v;
    o18_ai(o18_ai(pb_add_node(g, pb_node("Shape", "s1", "x", "s1")), "start", -3), "end", -1);
    o18_ai(pb_add_node(g, pb_node("Shape", "s2", "x", "s2")), "start", 2);
    o18_node(g, "Size", "x", "sz");
    o18_out(g, "c", RT_I16);
    o18_out(g, "s1", RT_I64);
    o18_out(g, "s2", RT_I64);
    o18_out(g, "sz", RT_I64);
    o18_check("o18_cos_shape", g, 21, ins, n, &EXACT);
}

Test(opset18_21, isnan_isinf_20) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[1];
    int n = 0;
    static float x[6] = {1.0f, -INFINITY, INFINITY, NAN, -0.0f, 3e38f};
    o18_in_typed(g, ins, &n, "x", RT_F32, "6", x);
    o18_node(g, "IsNaN", "x", "nan");
    o18_ai(pb_add_node(g, pb_node("IsInf", "pos", "x", "pos")), "detect_negative", 0);
    o18_ai(pb_add_node(g, pb_node("IsInf", "neg", "x", "neg")), "detect_positive", 0);
    o18_node(g, "IsInf", "x", "any");
    static const char *outs[4] = {"nan", "pos", "neg", "any"};
    for (int i = 0; i < 4; i++) o18_out(g, outs[i], RT_BOOL);
    o18_check("o18_isnan", g, 20, ins, n, &EXACT);
}

Test(opset18_21, reshape_identity_flatten_squeeze_transpose_21) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[2];
    int n = 0;
    o18_in_f32(g, ins, &n, "x", "2,1,6", -1, 1);
    static int16_t h[6] = {1, -2, 3, -4, 5, 32767};
    o18_in_typed(g, ins, &n, "h", RT_I16, "6", h);
    int64_t shp[3] = {0, 3, -1}, ax[1] = {1}, perm[3] = {2, 0, 1};
    o18_init_i64(g, "shp", "3", shp);
    o18_init_i64(g, "ax", "1", ax);
    o18_node(g, "Reshape", "x", "r"); /* replaced below: Reshape needs its shape input */
    g->node[g->n_node - 1]->input = pb_split("x,shp", &g->node[g->n_node - 1]->n_input);
    o18_node(g, "Identity", "h", "i");
    o18_ai(o18_node(g, "Flatten", "x", "f"), "axis", 2);
    o18_node(g, "Squeeze", "x,ax", "sq");
    o18_node(g, "Unsqueeze", "h,ax", "us");
    o18_aints(o18_node(g, "Transpose", "x", "t"), "perm", 3, perm);
    o18_out(g, "r", RT_F32);
    o18_out(g, "i", RT_I16);
    o18_out(g, "f", RT_F32);
    o18_out(g, "sq", RT_F32);
    o18_out(g, "us", RT_I16);
    o18_out(g, "t", RT_F32);
    o18_check("o18_reshape21", g, 21, ins, n, &EXACT);
}

Test(opset18_21, dft_axis_input_20) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[1];
    int n = 0;
    o18_in_f32(g, ins, &n, "x", "2,6,3,1", -1, 1);
    int64_t ax = 2, len = 4;
    o18_init_i64(g, "ax", "", &ax);
    o18_init_i64(g, "len", "", &len);
    o18_node(g, "DFT", "x,,ax", "a");
    o18_ai(pb_add_node(g, pb_node("DFT", "b", "x,len", "b")), "onesided", 1); /* default axis -2 */
    o18_out(g, "a", RT_F32);
    o18_out(g, "b", RT_F32);
    o18_check("o18_dft20", g, 20, ins, n, &F32_TOL);
}

Test(opset18_21, gelu_20_mish_18) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[1];
    int n = 0;
    o18_in_f32(g, ins, &n, "x", "4,9", -6, 6);
    o18_node(g, "Gelu", "x", "a");
    o18_as(pb_add_node(g, pb_node("Gelu", "b", "x", "b")), "approximate", "tanh");
    o18_node(g, "Mish", "x", "c");
    o18_out(g, "a", RT_F32);
    o18_out(g, "b", RT_F32);
    o18_out(g, "c", RT_F32);
    o18_check("o18_gelu", g, 20, ins, n, &F32_TOL);
}

/* ------------------------------------------------------------ refusals and float16 (18-21) */

/* Split-18: "either input 'split' or the attribute 'num_outputs' should be specified, but
 * not both" — wafer refuses instead of silently ignoring one */
Test(opset18_21, split_with_both_split_and_num_outputs_is_refused_18) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[1];
    int n = 0;
    o18_in_f32(g, ins, &n, "x", "6", -1, 1);
    int64_t sp[2] = {2, 4};
    o18_init_i64(g, "sp", "2", sp);
    o18_ai(o18_node(g, "Split", "x,sp", "a,b"), "num_outputs", 2);
    o18_out(g, "a", RT_F32);
    o18_out(g, "b", RT_F32);
    o18_wafer_refuses("o18_split_both", g, 18, ins, n, "num_outputs");
}

/* QuantizeLinear / DequantizeLinear-19 take float16 x and scales (output float16) */
Test(opset18_21, quantize_dequantize_float16_19) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[1];
    int n = 0;
    o18_in_f32(g, ins, &n, "x", "2,5", -4, 4);
    uint16_t s16 = rt_f32_to_f16(0.03125f);
    int8_t zp = -3;
    o18_init_raw(g, "s", RT_F16, "", &s16, 2);
    o18_init_raw(g, "zp", RT_I8, "", &zp, 1);
    o18_ai(o18_node(g, "Cast", "x", "x16"), "to", RT_F16);
    o18_node(g, "QuantizeLinear", "x16,s,zp", "q");
    o18_node(g, "DequantizeLinear", "q,s,zp", "d16");
    o18_ai(o18_node(g, "Cast", "d16", "d"), "to", RT_F32);
    o18_out(g, "q", RT_I8);
    o18_out(g, "d", RT_F32);
    o18_check("o18_qdq_f16", g, 19, ins, n, &EXACT);
}

/* Cast-21 to float8e4m3fn: wafer has no float8 dtype (Cast to int4 / uint4 runs, widened
 * to a byte: tests/e2e/test_onnx_lowbit.c) */
Test(opset18_21, cast_to_float8_is_refused_by_name_21) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[1];
    int n = 0;
    o18_in_f32(g, ins, &n, "x", "4", -3, 3);
    o18_ai(o18_node(g, "Cast", "x", "y"), "to", 17); /* FLOAT8E4M3FN */
    o18_out(g, "y", 17);
    o18_wafer_refuses("o18_cast_float8", g, 21, ins, n, "cast to float8e4m3fn");
}

/* GridSample cubic + border where one axis is out of range and the other inside
 * [x_min, 0): the spec's reference clamps only the out-of-range axis (per-axis loop), while
 * onnxruntime clamps both, so this case is checked by hand against the reference instead.
 * X [1,1,4,4] column 3 holds rows a = 1, b = 2, ...; grid (1.5, -0.9), align_corners 0:
 * x = 4.5 -> clamped to 3 (t = 0: column 3 exactly); y = -0.3 stays, floor -1, t = 0.7,
 * taps -2..1 clamp to rows 0,0,0,1 with Keys weights (A = -0.75) -0.04725, 0.32625,
 * 0.83125, -0.11025: y = 1.11025 a - 0.11025 b = 0.88975 (onnxruntime: a = 1). */
Test(opset18_21, grid_sample_cubic_border_clamps_per_axis_20) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[2];
    int n = 0;
    static float x[16];
    for (int i = 0; i < 16; i++) x[i] = (float)(i / 4 + 1); /* row r holds r + 1 */
    static float grid[2] = {1.5f, -0.9f};
    o18_in_typed(g, ins, &n, "x", RT_F32, "1,1,4,4", x);
    o18_in_typed(g, ins, &n, "grid", RT_F32, "1,1,1,2", grid);
    o18_as(o18_as(o18_node(g, "GridSample", "x,grid", "y"), "mode", "cubic"), "padding_mode", "border");
    o18_out(g, "y", RT_F32);
    RtTensor y;
    o18_wafer_run("o18_gs_border", g, 20, ins, n, "y", &y);
    /* -0.9f is -0.89999998: y = -0.29999995, t moves by 5e-8; the weights by less than 1e-6 */
    cr_expect_float_eq(((float *)y.data)[0], 0.88975f, 1e-5f, "got %.7g", ((float *)y.data)[0]);
    free(y.data);
}

/* QLinearMatMul-21 (new scale types; float scales as before) on uint8 x int8 */
Test(opset18_21, qlinear_matmul_21) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[1];
    int n = 0;
    static uint8_t a[12];
    for (int i = 0; i < 12; i++) a[i] = (uint8_t)(i * 21 + 3);
    o18_in_typed(g, ins, &n, "a", RT_U8, "3,4", a);
    int8_t b[8] = {-100, 50, 7, -3, 127, -128, 20, 60}, bzp = 2;
    uint8_t azp = 120, yzp = 128;
    float as = 0.02f, bs = 0.01f, ys = 0.05f;
    o18_init_raw(g, "b", RT_I8, "4,2", b, 1);
    o18_init_f32(g, "as", "", &as);
    o18_init_f32(g, "bs", "", &bs);
    o18_init_f32(g, "ys", "", &ys);
    o18_init_raw(g, "azp", RT_U8, "", &azp, 1);
    o18_init_raw(g, "bzp", RT_I8, "", &bzp, 1);
    o18_init_raw(g, "yzp", RT_U8, "", &yzp, 1);
    o18_node(g, "QLinearMatMul", "a,as,azp,b,bs,bzp,ys,yzp", "y");
    o18_out(g, "y", RT_U8);
    /* the requantization's rounding of an exact .5 is the implementation's: 1 code */
    static const OrtcTol Q_TOL = {0, 0, 1};
    o18_check("o18_qlmm21", g, 21, ins, n, &Q_TOL);
}

/* Equal-19 added string inputs: wafer has no string kernels and says so */
Test(opset18_21, equal_on_strings_is_refused_by_name_19) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t d[1] = {2};
    static const char *words[2] = {"ab", "cd"};
    for (int k = 0; k < 2; k++) {
        Onnx__TensorProto *t = pb_add_init(g, pb_tensor(k ? "t" : "s", RT_STRING, 1, d));
        t->n_string_data = 2;
        t->string_data = pb_zalloc(2 * sizeof *t->string_data);
        for (int i = 0; i < 2; i++) {
            t->string_data[i].data = (uint8_t *)pb_str(words[(i + k) % 2]);
            t->string_data[i].len = 2;
        }
    }
    o18_node(g, "Equal", "s,t", "y");
    o18_out(g, "y", RT_BOOL);
    o18_wafer_refuses("o18_eq_str", g, 19, NULL, 0, "string");
}

/* Reduce*-18 take axes as input 1 only: the old attribute is refused by name (onnxruntime
 * rejects such a model too), and noop_with_empty_axes before the axes input existed */
Test(opset18_21, reduce_axes_attribute_refused_from_18) {
    Onnx__GraphProto *g = pb_graph("g");
    OrtcInput ins[1];
    int n = 0;
    o18_in_f32(g, ins, &n, "x", "2,3", -1, 1);
    int64_t ax[1] = {1};
    o18_aints(o18_node(g, "ReduceMean", "x", "y"), "axes", 1, ax);
    o18_out(g, "y", RT_F32);
    o18_wafer_refuses("o18_reduce_attr", g, 18, ins, n, "attribute 'axes' is not in opset 18");
    Onnx__GraphProto *h = pb_graph("h");
    n = 0;
    o18_in_f32(h, ins, &n, "x", "2,3", -1, 1);
    o18_ai(o18_node(h, "ReduceMax", "x", "y"), "noop_with_empty_axes", 1);
    o18_out(h, "y", RT_F32);
    o18_wafer_refuses("o18_reduce_noop13", h, 13, ins, n, "noop_with_empty_axes");
}
