/*
 * test_emit_tensor.c — emit-c's tensor family (codegen/emit_ops_tensor.c) on what the ONNX
 * conformance cases do not reach: a one-node graph is built in the IR (emitc_oneop.h) with
 * random inputs, emitted, compiled with gcc (and clang when installed) -pedantic -Werror, run
 * by the harness, and every output compared with the runtime's reference kernels on the same
 * graph (integer and byte-moving outputs bit for bit, float ones within TENSOR_FLOAT_REL_TOL
 * and TENSOR_DOUBLE_REL_TOL).
 * Covered: Gemm with B a graph input (transA, transB, alpha, beta, C as a row, a column),
 * int32 Gemm exact and through double; ConvTranspose 2-D with groups, strides, asymmetric pads,
 * dilations, output_padding, and 1-D SAME_LOWER; Slice with negative steps and axes on int8;
 * Pad reflect / edge / wrap with a cropping (negative) pad and constant with a value on
 * int32; Tile and Expand on int8; Split into three by num_outputs; DepthToSpace CRD on int16;
 * Resize linear antialias downscale, cubic exclude_outside with A = -0.5, nearest
 * round_prefer_ceil on int8, tf_crop_and_resize with an extrapolation value, sizes with
 * not_larger over two axes; GatherND with batch_dims 1; ScatterElements max and ScatterND
 * mul on int32; TopK smallest with ties (both outputs); an out-of-range ScatterElements
 * index makes NAME_run return 1; GridSample 3-D linear with reflection and 2-D cubic with
 * border, RoiAlign max with an adaptive sampling grid and int32 batch indices (both also
 * with --no-libm, whose C must call no libm function); LRN with an even size; Det batched;
 * float64 Gemm, Resize cubic, Det, and uint64 / uint32 Slice, Pad, Trilu, ScatterND add;
 * CenterCropPad cropping and padding by odd amounts over listed (negative) axes; Split with
 * its middle output unnamed (the later outputs keep their rows); Upsample linear with the
 * opset-7 scales attribute and nearest downscaling (ceil) on int8; float64 GridSample (with
 * a float32 grid) and RoiAlign avg; empty outputs (TopK k = 0,
 * Compress of empty rows, Tile by 0) still compile without unused tables or functions.
 * And the outside world: a small decoder-like ONNX model (ConvTranspose, Resize, Pad,
 * Slice, Split, Tile, Concat, Flatten, Gemm with B a graph input, TopK) through
 * `wafer emit-c` and the harness, against onnxruntime-node's outputs (skipped when
 * onnxruntime-node is not installed).
 */
#include "emitc_oneop.h"

#include "../../io/npy.h"
#include "../frontend/onnx_proto_build.h"

/* Gemm and ConvTranspose sum the same products in float as the runtime's reference in
 * another order (its GEMM blocks): a few ulps of the largest partial sum for these K <= 64
 * sums, far below 1e-5 of the output's magnitude. Resize sums in double on both sides. */
#define TENSOR_FLOAT_REL_TOL 1e-5

/* float64: the same sums in double (Gemm) or the same double arithmetic (Resize, Det): at
 * most a few double ulps apart. */
#define TENSOR_DOUBLE_REL_TOL 1e-12

/* The suite's graphs: seed 777, OP_FILL_INDEX values (int32 in [-100, 100], int64 indices
 * in [0, 2]). */
static OneOp *tt_new(void) { return op_new_with(777, OP_FILL_INDEX); }

/* Emits (with --no-libm: the C must call no libm function), compiles with gcc -O2 and, when
 * installed, clang -O1 (the same C99 -pedantic -Werror flags), runs the graph expecting
 * NAME_run's status want_status, and when it is 0 compares every output with the reference
 * kernels'. Frees o. */
static void tt_run(OneOp *o, const char *what, int no_libm, int want_status) {
    OneOpCheck k = {.also_clang = 1,
                    .no_libm = no_libm,
                    .want_status = want_status,
                    .tol = TENSOR_FLOAT_REL_TOL,
                    .tol_f64 = TENSOR_DOUBLE_REL_TOL};
    op_check_opts(o, what, &k);
}

static void tt_check(OneOp *o, const char *what) { tt_run(o, what, 0, 0); }

static int i64s(OneOp *o, const char *name, int n, const int64_t *v) {
    int64_t d[1] = {n};
    return op_const(o, name, RT_I64, 1, d, v);
}

/* ---------------------------------------------------------------- Gemm, ConvTranspose */

Test(emit_tensor, gemm_b_input_trans_alpha_beta_c_broadcast) {
    /* C as a row [N] and as a column [M, 1] */
    int64_t cds[2][2] = {{5, 0}, {3, 1}};
    for (int i = 0; i < 2; i++) {
        OneOp *o = tt_new();
        int64_t ad[2] = {4, 3}, bd[2] = {5, 4};
        int in[3] = {op_input(o, "a", RT_F32, 2, ad), op_input(o, "b", RT_F32, 2, bd),
                     op_const(o, "c", RT_F32, i ? 2 : 1, cds[i], NULL)};
        int k = op_node(o, RT_OP_GEMM, 3, in);
        RtAttr *a = attrs_new(o, k, 4);
        a[0] = attr_int(o, "transA", 1);
        a[1] = attr_int(o, "transB", 1);
        a[2] = attr_float(o, "alpha", 0.75f);
        a[3] = attr_float(o, "beta", -1.5f);
        tt_check(o, i ? "Gemm C [M, 1]" : "Gemm C [N]");
    }
}

Test(emit_tensor, gemm_int32) {
    for (int i = 0; i < 2; i++) {
        OneOp *o = tt_new();
        int64_t ad[2] = {3, 6}, bd[2] = {6, 4}, cd[2] = {3, 4};
        int in[3] = {op_input(o, "a", RT_I32, 2, ad), op_input(o, "b", RT_I32, 2, bd),
                     op_input(o, "c", RT_I32, 2, cd)};
        int k = op_node(o, RT_OP_GEMM, 3, in);
        if (i) {
            RtAttr *a = attrs_new(o, k, 2);
            a[0] = attr_float(o, "alpha", 2.5f);
            a[1] = attr_float(o, "beta", 0.5f);
        }
        tt_check(o, i ? "int32 Gemm alpha 2.5 beta 0.5 (through double)" : "int32 Gemm (exact)");
    }
}

Test(emit_tensor, conv_transpose_groups_strides_pads_output_padding) {
    OneOp *o = tt_new();
    int64_t xd[4] = {2, 4, 3, 4}, wd[4] = {4, 3, 3, 2}, bd[1] = {6};
    int in[3] = {op_input(o, "x", RT_F32, 4, xd), op_const(o, "w", RT_F32, 4, wd, NULL), op_const(o, "b", RT_F32, 1, bd, NULL)};
    int k = op_node(o, RT_OP_CONV_TRANSPOSE, 3, in);
    RtAttr *a = attrs_new(o, k, 5);
    a[0] = attr_int(o, "group", 2);
    a[1] = attr_ints(o, "strides", 2, (int64_t[]){2, 3});
    a[2] = attr_ints(o, "pads", 4, (int64_t[]){1, 0, 0, 2});
    a[3] = attr_ints(o, "dilations", 2, (int64_t[]){2, 1});
    a[4] = attr_ints(o, "output_padding", 2, (int64_t[]){1, 2});
    tt_check(o, "ConvTranspose 2-D groups, strides, pads, dilations, output_padding");
    o = tt_new();
    int64_t xd1[3] = {1, 2, 5}, wd1[3] = {2, 3, 4};
    int in1[2] = {op_input(o, "x", RT_F32, 3, xd1), op_const(o, "w", RT_F32, 3, wd1, NULL)};
    k = op_node(o, RT_OP_CONV_TRANSPOSE, 2, in1);
    a = attrs_new(o, k, 2);
    a[0] = attr_str(o, "auto_pad", "SAME_LOWER");
    a[1] = attr_ints(o, "strides", 1, (int64_t[]){2});
    tt_check(o, "ConvTranspose 1-D SAME_LOWER");
}

/* ---------------------------------------------------------------- data movement */

Test(emit_tensor, slice_negative_steps_int8) {
    OneOp *o = tt_new();
    int64_t xd[3] = {4, 7, 5};
    int in[5] = {op_input(o, "x", RT_I8, 3, xd), i64s(o, "starts", 2, (int64_t[]){-1, 1}),
                 i64s(o, "ends", 2, (int64_t[]){-100, 5}), i64s(o, "axes", 2, (int64_t[]){-2, 2}),
                 i64s(o, "steps", 2, (int64_t[]){-3, 2})};
    op_node(o, RT_OP_SLICE, 5, in);
    tt_check(o, "Slice steps -3 and 2, negative axes, int8");
}

Test(emit_tensor, pad_modes_int32) {
    const char *modes[4] = {"reflect", "edge", "wrap", "constant"};
    for (int i = 0; i < 4; i++) {
        OneOp *o = tt_new();
        int64_t xd[3] = {2, 4, 5}, one[1] = {1};
        int in[4] = {op_input(o, "x", RT_I32, 3, xd), i64s(o, "pads", 4, (int64_t[]){3, -1, 2, 4}),
                     op_const(o, "v", RT_I32, 0, one, (int32_t[]){-7}), i64s(o, "axes", 2, (int64_t[]){1, -1})};
        int k = op_node(o, RT_OP_PAD, 4, in);
        attrs_new(o, k, 1)[0] = attr_str(o, "mode", modes[i]);
        tt_check(o, modes[i]);
    }
}

Test(emit_tensor, tile_expand_split_depth_to_space) {
    OneOp *o = tt_new();
    int64_t xd[3] = {2, 1, 3};
    int in[2] = {op_input(o, "x", RT_I8, 3, xd), i64s(o, "r", 3, (int64_t[]){2, 3, 2})};
    op_node(o, RT_OP_TILE, 2, in);
    tt_check(o, "Tile int8");
    o = tt_new();
    int ein[2] = {op_input(o, "x", RT_I8, 3, xd), i64s(o, "s", 4, (int64_t[]){2, 1, 4, 1})};
    op_node(o, RT_OP_EXPAND, 2, ein);
    tt_check(o, "Expand int8 to a higher rank");
    o = tt_new();
    int64_t sd[2] = {3, 8};
    int sin[1] = {op_input(o, "x", RT_F32, 2, sd)};
    int k = op_node_outs(o, RT_OP_SPLIT, 1, sin, 3, 0);
    RtAttr *a = attrs_new(o, k, 2);
    a[0] = attr_int(o, "axis", -1);
    a[1] = attr_int(o, "num_outputs", 3);
    tt_check(o, "Split num_outputs 3 of 8 (3, 3, 2)");
    o = tt_new();
    int64_t dd[4] = {2, 8, 2, 3};
    int din[1] = {op_input(o, "x", RT_I16, 4, dd)};
    k = op_node(o, RT_OP_DEPTH_TO_SPACE, 1, din);
    a = attrs_new(o, k, 2);
    a[0] = attr_int(o, "blocksize", 2);
    a[1] = attr_str(o, "mode", "CRD");
    tt_check(o, "DepthToSpace CRD int16");
}

/* ---------------------------------------------------------------- Resize */

/* Resize of x [1, 2, 5, 7] by scales (or sizes with axes), with attributes a[n]. */
static void resize_case(RtDtype dt, const float *scales, const int64_t *sizes, int n_sizes, const float *roi, const RtAttr *attrs,
                        int n_attr, const char *what) {
    OneOp *o = tt_new();
    int64_t xd[4] = {1, 2, 5, 7}, d4[1] = {4}, d8[1] = {8};
    int in[4] = {op_input_data(o, "x", dt, 4, xd, NULL), roi ? op_const(o, "roi", RT_F32, 1, d8, roi) : -1,
                 scales ? op_const(o, "scales", RT_F32, 1, d4, scales) : -1, sizes ? i64s(o, "sizes", n_sizes, sizes) : -1};
    int k = op_node(o, RT_OP_RESIZE, 4, in);
    op_attrs_copy(o, k, attrs, n_attr);
    tt_check(o, what);
}

Test(emit_tensor, resize_modes) {
    RtAttr lin[3] = {{.name = "mode", .type = RT_ATTR_STRING, .s = "linear"},
                     {.name = "antialias", .type = RT_ATTR_INT, .i = 1},
                     {.name = "coordinate_transformation_mode", .type = RT_ATTR_STRING, .s = "half_pixel_symmetric"}};
    resize_case(RT_F32, (float[]){1, 1, 0.6f, 0.45f}, NULL, 0, NULL, lin, 3, "linear antialias downscale, half_pixel_symmetric");
    RtAttr cub[3] = {{.name = "mode", .type = RT_ATTR_STRING, .s = "cubic"},
                     {.name = "exclude_outside", .type = RT_ATTR_INT, .i = 1},
                     {.name = "cubic_coeff_a", .type = RT_ATTR_FLOAT, .f = -0.5f}};
    resize_case(RT_F32, (float[]){1, 1, 1.7f, 0.8f}, NULL, 0, NULL, cub, 3, "cubic exclude_outside A=-0.5");
    RtAttr near[2] = {{.name = "nearest_mode", .type = RT_ATTR_STRING, .s = "round_prefer_ceil"},
                      {.name = "coordinate_transformation_mode", .type = RT_ATTR_STRING, .s = "asymmetric"}};
    resize_case(RT_I8, (float[]){1, 1, 2.5f, 0.7f}, NULL, 0, NULL, near, 2, "nearest round_prefer_ceil asymmetric int8");
    RtAttr crop[3] = {{.name = "mode", .type = RT_ATTR_STRING, .s = "linear"},
                      {.name = "coordinate_transformation_mode", .type = RT_ATTR_STRING, .s = "tf_crop_and_resize"},
                      {.name = "extrapolation_value", .type = RT_ATTR_FLOAT, .f = 9.5f}};
    resize_case(RT_F32, NULL, (int64_t[]){1, 2, 6, 4}, 4, (float[]){0, 0, -0.2f, 0.3f, 1, 1, 0.9f, 1.4f}, crop, 3,
                "tf_crop_and_resize with extrapolation");
    int64_t axes[2] = {3, 2};
    RtAttr keep[3] = {{.name = "mode", .type = RT_ATTR_STRING, .s = "linear"},
                      {.name = "keep_aspect_ratio_policy", .type = RT_ATTR_STRING, .s = "not_larger"},
                      {.name = "axes", .type = RT_ATTR_INTS, .n = 2, .ints = axes}};
    resize_case(RT_F32, NULL, (int64_t[]){9, 11}, 2, NULL, keep, 3, "sizes over axes (3, 2), not_larger");
}

/* ---------------------------------------------------------------- gathers, scatters, TopK */

Test(emit_tensor, gather_nd_batch_dims_scatter_reductions) {
    OneOp *o = tt_new();
    int64_t xd[3] = {2, 3, 4}, id[3] = {2, 2, 1};
    int in[2] = {op_input(o, "x", RT_F32, 3, xd), op_input_data(o, "i", RT_I64, 3, id, (int64_t[]){2, -1, 0, 1})};
    int k = op_node(o, RT_OP_GATHER_ND, 2, in);
    attrs_new(o, k, 1)[0] = attr_int(o, "batch_dims", 1);
    tt_check(o, "GatherND batch_dims 1");
    o = tt_new();
    int64_t sd[2] = {3, 4}, ud[2] = {3, 4};
    int sin[3] = {op_input(o, "x", RT_I32, 2, sd), op_input(o, "i", RT_I64, 2, ud), op_input(o, "u", RT_I32, 2, ud)};
    k = op_node(o, RT_OP_SCATTER_ELEMENTS, 3, sin);
    RtAttr *a = attrs_new(o, k, 2);
    a[0] = attr_int(o, "axis", 1);
    a[1] = attr_str(o, "reduction", "max");
    tt_check(o, "ScatterElements max int32 (duplicate indices)");
    o = tt_new();
    int64_t nd[3] = {3, 2, 2}, nid[2] = {4, 1}, nud[3] = {4, 2, 2};
    int nin[3] = {op_input(o, "x", RT_I32, 3, nd), op_input_data(o, "i", RT_I64, 2, nid, (int64_t[]){2, 0, 2, -3}),
                  op_input(o, "u", RT_I32, 3, nud)};
    k = op_node(o, RT_OP_SCATTER_ND, 3, nin);
    attrs_new(o, k, 1)[0] = attr_str(o, "reduction", "mul");
    tt_check(o, "ScatterND mul int32 (repeated tuples)");
}

Test(emit_tensor, scatter_index_out_of_range_returns_1) {
    OneOp *o = tt_new();
    int64_t sd[2] = {3, 4}, ud[2] = {1, 2};
    int sin[3] = {op_input(o, "x", RT_F32, 2, sd), op_input_data(o, "i", RT_I64, 2, ud, (int64_t[]){1, 4}),
                  op_input(o, "u", RT_F32, 2, ud)};
    int k = op_node(o, RT_OP_SCATTER_ELEMENTS, 3, sin);
    attrs_new(o, k, 1)[0] = attr_int(o, "axis", 1);
    tt_run(o, "ScatterElements index 4 of 4", 0, 1);
}

Test(emit_tensor, topk_smallest_ties_both_outputs) {
    OneOp *o = tt_new();
    int64_t xd[3] = {2, 6, 3};
    int32_t x[36];
    for (int i = 0; i < 36; i++) x[i] = (i * 7) % 4; /* many equal values */
    int in[2] = {op_input_data(o, "x", RT_I32, 3, xd, x), i64s(o, "k", 1, (int64_t[]){4})};
    int k = op_node_outs(o, RT_OP_TOPK, 2, in, 2, 0);
    RtAttr *a = attrs_new(o, k, 2);
    a[0] = attr_int(o, "axis", 1);
    a[1] = attr_int(o, "largest", 0);
    tt_check(o, "TopK smallest int32 with ties");
    o = tt_new();
    int64_t fd[2] = {3, 9};
    int fin[2] = {op_input(o, "x", RT_F32, 2, fd), i64s(o, "k", 1, (int64_t[]){9})};
    op_node_outs(o, RT_OP_TOPK, 2, fin, 2, 0);
    tt_check(o, "TopK largest float, k = n");
}

/* ---------------------------------------------------------------- sampling, LRN, Det */

static void grid_case(int no_libm, int k3, const char *mode, const char *pad, int align, const char *what) {
    OneOp *o = tt_new();
    int64_t xd[5] = {1, 2, 3, 4, 5}, gd[5] = {1, 2, 3, 4, 3}, xd2[4] = {2, 3, 4, 5}, gd2[4] = {2, 3, 6, 2};
    int in[2] = {op_input_data(o, "x", RT_F32, k3 ? 5 : 4, k3 ? xd : xd2, NULL), -1};
    /* grid values in [-1.2, 1.2): some points outside the image */
    RtTensor g = {RT_F32, k3 ? 5 : 4, {0}, NULL};
    memcpy(g.dims, k3 ? gd : gd2, sizeof(int64_t) * (size_t)g.rank);
    float *gv = malloc((size_t)rt_nbytes(&g));
    for (int64_t i = 0; i < rt_numel(&g); i++) gv[i] = (float)((double)(lcg(&o->seed) % 2401) / 1000.0 - 1.2);
    in[1] = op_input_data(o, "grid", RT_F32, g.rank, g.dims, gv);
    free(gv);
    int k = op_node(o, RT_OP_GRID_SAMPLE, 2, in);
    RtAttr *a = attrs_new(o, k, 3);
    a[0] = attr_str(o, "mode", mode);
    a[1] = attr_str(o, "padding_mode", pad);
    a[2] = attr_int(o, "align_corners", align);
    tt_run(o, what, no_libm, 0);
}

Test(emit_tensor, grid_sample) {
    for (int nl = 0; nl < 2; nl++) {
        grid_case(nl, 1, "linear", "reflection", 0, nl ? "GridSample 3-D linear reflection, --no-libm" : "GridSample 3-D linear reflection");
        grid_case(nl, 0, "cubic", "border", 1, nl ? "GridSample cubic border align_corners, --no-libm" : "GridSample cubic border align_corners");
        grid_case(nl, 0, "nearest", "zeros", 0, nl ? "GridSample nearest zeros, --no-libm" : "GridSample nearest zeros");
    }
}

Test(emit_tensor, roi_align_max_adaptive_int32_batch) {
    for (int nl = 0; nl < 2; nl++) {
        OneOp *o = tt_new();
        int64_t xd[4] = {2, 3, 8, 9}, rd[2] = {3, 4}, bd[1] = {3};
        float rois[12] = {0.5f, 1.0f, 7.5f, 6.2f, -2.0f, 3.0f, 4.0f, 9.5f, 2.2f, 2.2f, 2.6f, 2.4f};
        int in[3] = {op_input(o, "x", RT_F32, 4, xd), op_input_data(o, "rois", RT_F32, 2, rd, rois),
                     op_input_data(o, "bi", RT_I32, 1, bd, (int32_t[]){1, 0, 1})};
        int k = op_node(o, RT_OP_ROI_ALIGN, 3, in);
        RtAttr *a = attrs_new(o, k, 4);
        a[0] = attr_str(o, "mode", "max");
        a[1] = attr_int(o, "output_height", 3);
        a[2] = attr_int(o, "output_width", 2);
        a[3] = attr_float(o, "spatial_scale", 0.9f);
        tt_run(o, nl ? "RoiAlign max, --no-libm" : "RoiAlign max", nl, 0);
    }
}

Test(emit_tensor, lrn_even_size_det_batched) {
    OneOp *o = tt_new();
    int64_t xd[4] = {2, 5, 3, 2};
    int in[1] = {op_input(o, "x", RT_F32, 4, xd)};
    int k = op_node(o, RT_OP_LRN, 1, in);
    RtAttr *a = attrs_new(o, k, 4);
    a[0] = attr_int(o, "size", 4);
    a[1] = attr_float(o, "alpha", 0.3f);
    a[2] = attr_float(o, "beta", 0.6f);
    a[3] = attr_float(o, "bias", 2.0f);
    tt_check(o, "LRN size 4");
    o = tt_new();
    int64_t dd[3] = {3, 4, 4};
    int din[1] = {op_input(o, "x", RT_F32, 3, dd)};
    op_node(o, RT_OP_DET, 1, din);
    tt_check(o, "Det of 3 matrices 4 x 4");
}

/* ---------------------------------------------------------------- against onnxruntime */

/* The emitted C and onnxruntime both sum in float in their own orders (ConvTranspose taps,
 * Resize weights, a K = 48 Gemm): differences are a few float ulps of the partial sums, far
 * below these bounds; TopK's indices must be equal (no near-ties in random data). */
#define TENSOR_ORT_ATOL 1e-5
#define TENSOR_ORT_RTOL 1e-4

static Onnx__TensorProto *init_i64(Onnx__GraphProto *g, const char *name, int n, const int64_t *v) {
    int64_t d[1] = {n};
    return pb_add_init(g, pb_tensor_raw(pb_tensor(name, ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 1, d), v, sizeof(int64_t) * (size_t)n));
}

static Onnx__TensorProto *init_f32(Onnx__GraphProto *g, const char *name, int rank, const int64_t *dims, uint64_t *seed) {
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    float *v = pb_zalloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) v[i] = (float)((double)(lcg(seed) % 20001) / 10000.0 - 1.0);
    return pb_add_init(g, pb_tensor_floats(pb_tensor(name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, (size_t)rank, dims), (size_t)n, v));
}

Test(emit_tensor, decoder_model_against_onnxruntime, .fini = pb_release_all) {
    const int F = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    uint64_t seed = 99;
    Onnx__GraphProto *g = pb_graph("decoder");
    pb_add_input(g, pb_value("x", F, "1,4,5,6"));
    pb_add_input(g, pb_value("w2", F, "5,48"));
    pb_add_output(g, pb_value("feat", F, NULL));
    pb_add_output(g, pb_value("logits", F, NULL));
    pb_add_output(g, pb_value("top", F, NULL));
    pb_add_output(g, pb_value("top_i", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, NULL));
    init_f32(g, "W", 4, (int64_t[]){4, 3, 3, 3}, &seed);
    init_f32(g, "B", 1, (int64_t[]){3}, &seed);
    init_f32(g, "C", 1, (int64_t[]){5}, &seed);
    float sc[4] = {1, 1, 0.5f, 0.75f};
    pb_add_init(g, pb_tensor_floats(pb_tensor("scales", F, 1, (int64_t[]){4}), 4, sc));
    init_i64(g, "pads", 8, (int64_t[]){0, 0, 1, 2, 0, 0, 1, 0});
    init_i64(g, "starts", 2, (int64_t[]){6, 1});
    init_i64(g, "ends", 2, (int64_t[]){-100, 10});
    init_i64(g, "axes", 2, (int64_t[]){2, 3});
    init_i64(g, "steps", 2, (int64_t[]){-2, 3});
    init_i64(g, "split", 2, (int64_t[]){1, 2});
    init_i64(g, "reps", 4, (int64_t[]){1, 2, 1, 1});
    init_i64(g, "k", 1, (int64_t[]){3});
    Onnx__NodeProto *n = pb_add_node(g, pb_node("ConvTranspose", "up", "x,W,B", "y1"));
    pb_attr_ints(n, "strides", 2, (int64_t[]){2, 2});
    pb_attr_ints(n, "pads", 4, (int64_t[]){1, 1, 0, 0});
    pb_attr_ints(n, "output_padding", 2, (int64_t[]){1, 0});
    n = pb_add_node(g, pb_node("Resize", "rs", "y1,,scales", "r"));
    pb_attr_str(n, "mode", "linear");
    n = pb_add_node(g, pb_node("Pad", "pad", "r,pads", "p"));
    pb_attr_str(n, "mode", "reflect");
    pb_add_node(g, pb_node("Slice", "sl", "p,starts,ends,axes,steps", "s"));
    n = pb_add_node(g, pb_node("Split", "sp", "s,split", "a,b"));
    pb_attr_int(n, "axis", 1);
    pb_add_node(g, pb_node("Tile", "tl", "a,reps", "t"));
    n = pb_add_node(g, pb_node("Concat", "cat", "t,b", "feat"));
    pb_attr_int(n, "axis", 1);
    pb_add_node(g, pb_node("Flatten", "fl", "feat", "f"));
    n = pb_add_node(g, pb_node("Gemm", "fc", "f,w2,C", "logits"));
    pb_attr_int(n, "transB", 1);
    pb_attr_float(n, "alpha", 0.5f);
    pb_attr_float(n, "beta", 2.0f);
    pb_add_node(g, pb_node("TopK", "tk", "logits,k", "top,top_i"));
    size_t len = 0;
    uint8_t *bytes = pb_model_pack(g, 8, 17, "wafer-test", &len);

    char dir[256], log[8192], path[700];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "emitc_tensor_ort"), 0);
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    ecu_raw_write(path, bytes, len);
    RtTensor in[2] = {{RT_F32, 4, {1, 4, 5, 6}, NULL}, {RT_F32, 2, {5, 48}, NULL}};
    const char *names[2] = {"x", "w2"};
    RtError err = {{0}};
    for (int i = 0; i < 2; i++) {
        in[i].data = malloc((size_t)rt_nbytes(&in[i]));
        for (int64_t e = 0; e < rt_numel(&in[i]); e++) ((float *)in[i].data)[e] = (float)((double)(lcg(&seed) % 20001) / 10000.0 - 1.0);
        snprintf(path, sizeof path, "%s/%s.npy", dir, names[i]);
        cr_assert_eq(npy_write(path, &in[i], &err), RT_OK, "%s", err.msg);
        snprintf(path, sizeof path, "%s/%s.bin", dir, names[i]);
        ecu_raw_write(path, in[i].data, (size_t)rt_nbytes(&in[i]));
        free(in[i].data);
    }
    int st = tu_run(log, sizeof log, "node tests/e2e/ort_eval.js run %s/model.onnx x=%s/x.npy w2=%s/w2.npy --out %s/ort", dir, dir, dir, dir);
    if (st != 0) {
        tu_tmpdir_remove(dir);
        cr_assert_neq(st, 1, "onnxruntime failed: %s", log);
        cr_skip_test("onnxruntime-node is not installed: %s", log);
    }
    st = tu_run(log, sizeof log, "%s emit-c %s/model.onnx -o %s/c --weights f32", WAFER_BIN, dir, dir);
    cr_assert_eq(st, 0, "emit-c: %s", log);
    snprintf(path, sizeof path, "%s/c", dir);
    cr_assert_eq(ecu_compile("gcc", "-O2", path, "h", log, sizeof log), 0, "%s", log);
    st = tu_run(log, sizeof log, "%s/c/h %s/x.bin %s/w2.bin %s/feat.bin %s/logits.bin %s/top.bin %s/top_i.bin", dir, dir, dir, dir, dir, dir,
                dir);
    cr_assert_eq(st, 0, "harness: %s", log);
    const char *outs[4] = {"feat", "logits", "top", "top_i"};
    for (int i = 0; i < 4; i++) {
        RtTensor ref = {0};
        snprintf(path, sizeof path, "%s/ort/%s.npy", dir, outs[i]);
        cr_assert_eq(npy_read(path, &ref, &err), RT_OK, "%s", err.msg);
        snprintf(path, sizeof path, "%s/%s.bin", dir, outs[i]);
        size_t nb = 0;
        unsigned char *got = tu_file_read(path, &nb);
        cr_assert(got && (int64_t)nb == rt_nbytes(&ref), "%s: %zu bytes, onnxruntime %lld", outs[i], nb, (long long)rt_nbytes(&ref));
        if (ref.dtype == RT_F32) {
            for (int64_t e = 0; e < rt_numel(&ref); e++) {
                double a = ((const float *)(const void *)got)[e], b = ((const float *)ref.data)[e];
                cr_expect(fabs(a - b) <= TENSOR_ORT_ATOL + TENSOR_ORT_RTOL * fabs(b), "%s[%lld]: emitted C %g, onnxruntime %g", outs[i],
                          (long long)e, a, b);
            }
        } else {
            cr_expect_eq(memcmp(got, ref.data, nb), 0, "%s: indices differ from onnxruntime's", outs[i]);
        }
        free(got);
        free(ref.data);
    }
    tu_tmpdir_remove(dir);
}

/* ---------------------------------------------------------------- float64, unsigned */

Test(emit_tensor, float64_and_unsigned) {
    OneOp *o = tt_new();
    int64_t ad[2] = {6, 3}, bd[2] = {6, 5}, cd[1] = {5};
    int in[3] = {op_input(o, "a", RT_F64, 2, ad), op_input(o, "b", RT_F64, 2, bd), op_const(o, "c", RT_F64, 1, cd, NULL)};
    int k = op_node(o, RT_OP_GEMM, 3, in);
    RtAttr *a = attrs_new(o, k, 2);
    a[0] = attr_int(o, "transA", 1);
    a[1] = attr_float(o, "alpha", 1.25f);
    tt_check(o, "float64 Gemm transA");
    o = tt_new();
    int64_t xd[4] = {1, 2, 4, 5}, d4[1] = {4};
    int rin[3] = {op_input(o, "x", RT_F64, 4, xd), -1, op_const(o, "s", RT_F32, 1, d4, (float[]){1, 1, 1.5f, 0.6f})};
    k = op_node(o, RT_OP_RESIZE, 3, rin);
    attrs_new(o, k, 1)[0] = attr_str(o, "mode", "cubic");
    tt_check(o, "float64 Resize cubic");
    o = tt_new();
    int64_t dd[3] = {2, 3, 3};
    int din[1] = {op_input(o, "x", RT_F64, 3, dd)};
    op_node(o, RT_OP_DET, 1, din);
    tt_check(o, "float64 Det");
    o = tt_new();
    int64_t ud[2] = {5, 6};
    int sin[5] = {op_input(o, "x", RT_U64, 2, ud), i64s(o, "st", 1, (int64_t[]){-1}), i64s(o, "en", 1, (int64_t[]){0}),
                  i64s(o, "ax", 1, (int64_t[]){1}), i64s(o, "sp", 1, (int64_t[]){-2})};
    op_node(o, RT_OP_SLICE, 5, sin);
    tt_check(o, "uint64 Slice");
    o = tt_new();
    int pin[2] = {op_input(o, "x", RT_U32, 2, ud), i64s(o, "pads", 4, (int64_t[]){1, 2, 2, 0})};
    k = op_node(o, RT_OP_PAD, 2, pin);
    attrs_new(o, k, 1)[0] = attr_str(o, "mode", "wrap");
    tt_check(o, "uint32 Pad wrap");
    o = tt_new();
    int tin[2] = {op_input(o, "x", RT_U64, 2, ud), op_input_data(o, "k", RT_I64, 0, ud, (int64_t[]){-1})};
    k = op_node(o, RT_OP_TRILU, 2, tin);
    attrs_new(o, k, 1)[0] = attr_int(o, "upper", 0);
    tt_check(o, "uint64 Trilu lower, k a graph input");
    o = tt_new();
    int64_t id[2] = {3, 1}, upd[2] = {3, 6};
    int nin[3] = {op_input(o, "x", RT_U32, 2, ud), op_input_data(o, "i", RT_I64, 2, id, (int64_t[]){4, -1, 0}),
                  op_input(o, "u", RT_U32, 2, upd)};
    k = op_node(o, RT_OP_SCATTER_ND, 3, nin);
    attrs_new(o, k, 1)[0] = attr_str(o, "reduction", "add");
    tt_check(o, "uint32 ScatterND add (wrapping, index 4 twice)");
}

Test(emit_tensor, center_crop_pad) {
    OneOp *o = tt_new();
    int64_t xd[3] = {3, 7, 4};
    int in[2] = {op_input(o, "x", RT_I16, 3, xd), i64s(o, "shape", 2, (int64_t[]){4, 7})};
    int k = op_node(o, RT_OP_CENTER_CROP_PAD, 2, in);
    attrs_new(o, k, 1)[0] = attr_ints(o, "axes", 2, (int64_t[]){-2, 2});
    tt_check(o, "CenterCropPad crop 7 -> 4, pad 4 -> 7");
}

Test(emit_tensor, split_unnamed_middle_output) {
    OneOp *o = tt_new();
    int64_t xd[2] = {2, 7};
    int in[2] = {op_input(o, "x", RT_I8, 2, xd), i64s(o, "split", 3, (int64_t[]){2, 3, 2})};
    int k = op_node_outs(o, RT_OP_SPLIT, 2, in, 3, 2); /* output 1 unused: an empty output name in ONNX */
    attrs_new(o, k, 1)[0] = attr_int(o, "axis", 1);
    tt_check(o, "Split [2, 3, 2] without its middle output");
}

Test(emit_tensor, empty_outputs) {
    OneOp *o = tt_new();
    int64_t xd[2] = {3, 5}, one[1] = {1};
    int in[2] = {op_input(o, "x", RT_F32, 2, xd), i64s(o, "k", 1, (int64_t[]){0})};
    op_node_outs(o, RT_OP_TOPK, 2, in, 2, 0);
    tt_check(o, "TopK k = 0");
    o = tt_new();
    int64_t ed[2] = {3, 0};
    int cin[2] = {op_input(o, "x", RT_I32, 2, ed), op_const(o, "c", RT_BOOL, 1, (int64_t[]){3}, (uint8_t[]){1, 0, 1})};
    int k = op_node(o, RT_OP_COMPRESS, 2, cin);
    attrs_new(o, k, 1)[0] = attr_int(o, "axis", 0);
    tt_check(o, "Compress of rows of 0 elements");
    (void)one;
    o = tt_new();
    int tin[2] = {op_input(o, "x", RT_I8, 2, xd), i64s(o, "r", 2, (int64_t[]){0, 2})};
    op_node(o, RT_OP_TILE, 2, tin);
    tt_check(o, "Tile by 0");
}

Test(emit_tensor, upsample_attribute_and_downscale) {
    OneOp *o = tt_new();
    o->g->opset = 8; /* scales as an attribute */
    int64_t xd[4] = {1, 2, 3, 4}, d4[1] = {4};
    int in[1] = {op_input(o, "x", RT_F32, 4, xd)};
    int k = op_node(o, RT_OP_UPSAMPLE, 1, in);
    RtAttr *a = attrs_new(o, k, 2);
    a[0] = attr_str(o, "mode", "linear");
    float *sc = ir_alloc(o->g, 4 * sizeof(float));
    sc[0] = 1, sc[1] = 1, sc[2] = 2, sc[3] = 1.5f;
    a[1] = (RtAttr){.name = ir_strdup(o->g, "scales"), .type = RT_ATTR_FLOATS, .n = 4, .floats = sc};
    tt_check(o, "Upsample-8 linear, scales attribute");
    o = tt_new();
    o->g->opset = 9;
    int64_t xd2[4] = {1, 2, 7, 5};
    int in2[2] = {op_input(o, "x", RT_I8, 4, xd2), op_const(o, "s", RT_F32, 1, d4, (float[]){1, 1, 0.6f, 2.2f})};
    op_node(o, RT_OP_UPSAMPLE, 2, in2);
    tt_check(o, "Upsample-9 nearest int8, downscale 0.6 (ceil)");
}

Test(emit_tensor, sampling_float64) {
    OneOp *o = tt_new();
    int64_t xd[4] = {1, 2, 4, 5}, gd[4] = {1, 3, 3, 2};
    RtTensor g = {RT_F32, 4, {1, 3, 3, 2}, NULL};
    float gv[18];
    for (int i = 0; i < 18; i++) gv[i] = (float)((double)(lcg(&o->seed) % 2401) / 1000.0 - 1.2);
    int in[2] = {op_input(o, "x", RT_F64, 4, xd), op_input_data(o, "grid", RT_F32, 4, gd, gv)};
    (void)g;
    int k = op_node(o, RT_OP_GRID_SAMPLE, 2, in);
    attrs_new(o, k, 1)[0] = attr_str(o, "padding_mode", "border");
    tt_check(o, "GridSample float64 X, float32 grid");
    o = tt_new();
    int64_t rd[2] = {2, 4}, bd[1] = {2}, xd2[4] = {1, 2, 6, 7};
    double rois[8] = {0.5, 1.0, 5.5, 4.2, 1.0, 0.0, 3.0, 5.5};
    int rin[3] = {op_input(o, "x", RT_F64, 4, xd2), op_input_data(o, "rois", RT_F64, 2, rd, rois),
                  op_input_data(o, "bi", RT_I64, 1, bd, (int64_t[]){0, 0})};
    k = op_node(o, RT_OP_ROI_ALIGN, 3, rin);
    RtAttr *a = attrs_new(o, k, 3);
    a[0] = attr_int(o, "output_height", 2);
    a[1] = attr_int(o, "output_width", 3);
    a[2] = attr_int(o, "sampling_ratio", 2);
    tt_check(o, "RoiAlign avg float64");
}
