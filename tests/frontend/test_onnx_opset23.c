/*
 * test_onnx_opset23.c — default-domain opsets 22 and 23 (ONNX 1.17 / 1.18): models at both
 * load and run (IR version 11 too); the ops whose semantics changed at 23 follow the spec
 * (QuantizeLinear's precision, DequantizeLinear's output_dtype, checked against hand-rounded
 * values); what wafer cannot hold (float4e2m1) is refused by name; an attribute or op of
 * opset 23 in an older model is refused; opset 27 and IR 14, beyond the bounds, are refused
 * naming the accepted range (opsets 24-25: test_onnx_opset25.c). The new ops' numerics are in tests/runtime/test_attention23.c.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../../frontend/onnx.h"
#include "onnx_proto_build.h"

TestSuite(onnx_opset23, .fini = pb_release_all);

static RtError err;

static IrGraph *load(Onnx__GraphProto *g, int64_t ir, int64_t opset) {
    size_t len;
    uint8_t *buf = pb_model_pack(g, ir, opset, "test_onnx_opset23", &len);
    memset(&err, 0, sizeof err);
    return onnx_load_memory(buf, len, NULL, "m.onnx", NULL, &err);
}

static IrGraph *load_ok(Onnx__GraphProto *g, int64_t ir, int64_t opset) {
    IrGraph *m = load(g, ir, opset);
    cr_assert_not_null(m, "%s", err.msg);
    cr_expect_eq(m->opset, opset);
    for (int k = 0; k < m->n_nodes; k++) cr_expect_eq(m->nodes[k].opset, opset, "node %d", k);
    return m;
}

static void expect_msg(const char *part) {
    cr_expect_not_null(strstr(err.msg, part), "message '%s' lacks '%s'", err.msg, part);
}

/* Runs m on its one input; returns ir_run's status (err set), out gets malloc'd data. */
static int run1(IrGraph *m, RtTensor in, RtTensor *out) {
    memset(&err, 0, sizeof err);
    memset(out, 0, sizeof *out);
    return ir_run(m, &in, out, &err);
}

static RtTensor tensor(RtDtype dt, int rank, const int64_t *dims, void *data) {
    RtTensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dt, t.rank = rank, t.data = data;
    memcpy(t.dims, dims, sizeof(int64_t) * (size_t)rank);
    return t;
}

/* Round (updated at 22 for bfloat16 only) rounds half to even, as before. */
Test(onnx_opset23, opset22_model_loads_and_runs) {
    Onnx__GraphProto *g = pb_graph("g");
    pb_add_input(g, pb_value("x", RT_F32, "4"));
    pb_add_node(g, pb_node("Round", "r", "x", "y"));
    pb_add_output(g, pb_value("y", RT_F32, NULL));
    IrGraph *m = load_ok(g, 10, 22);
    float x[4] = {0.5f, 1.5f, 2.5f, -2.5f}, want[4] = {0, 2, 2, -2};
    RtTensor y;
    cr_assert_eq(run1(m, tensor(RT_F32, 1, (int64_t[]){4}, x), &y), RT_OK, "%s", err.msg);
    for (int i = 0; i < 4; i++) cr_expect_eq(((float *)y.data)[i], want[i], "[%d]", i);
    free(y.data);
    ir_graph_free(m);
}

/* RMSNormalization at opset 23, IR 11: x = [3, 4], scale [1, 2], epsilon 0:
 * rms = sqrt((9 + 16) / 2) = sqrt(12.5), y = [3, 8] / sqrt(12.5). */
Test(onnx_opset23, opset23_model_with_a_new_op_loads_and_runs) {
    Onnx__GraphProto *g = pb_graph("g");
    pb_add_input(g, pb_value("x", RT_F32, "1,2"));
    float sc[2] = {1, 2};
    pb_tensor_floats(pb_add_init(g, pb_tensor("s", RT_F32, 1, (int64_t[]){2})), 2, sc);
    Onnx__NodeProto *n = pb_add_node(g, pb_node("RMSNormalization", "rms", "x,s", "y"));
    pb_attr_float(n, "epsilon", 0.0f);
    pb_add_output(g, pb_value("y", RT_F32, NULL));
    IrGraph *m = load_ok(g, 11, 23);
    cr_expect_eq(m->nodes[0].op, RT_OP_RMS_NORMALIZATION);
    float x[2] = {3, 4};
    RtTensor y;
    cr_assert_eq(run1(m, tensor(RT_F32, 2, (int64_t[]){1, 2}, x), &y), RT_OK, "%s", err.msg);
    /* one float rounding of each value: 1e-6 relative */
    cr_expect_float_eq(((float *)y.data)[0], 3 / sqrt(12.5), 1e-6);
    cr_expect_float_eq(((float *)y.data)[1], 8 / sqrt(12.5), 1e-6);
    free(y.data);
    ir_graph_free(m);
}

Test(onnx_opset23, opset27_refused_naming_the_range) {
    Onnx__GraphProto *g = pb_graph("g");
    pb_add_input(g, pb_value("x", RT_F32, "2"));
    pb_add_node(g, pb_node("Relu", "r", "x", "y"));
    pb_add_output(g, pb_value("y", RT_F32, NULL));
    cr_expect_null(load(g, 13, 27));
    expect_msg("m.onnx: default-domain opset 27 is not supported (accepted: 1 to 26)");
    cr_expect_null(load(g, 14, 23));
    expect_msg("IR version 14 is not supported (accepted: 3 to 13)");
}

/* QuantizeLinear x [1] -> int16 with scale 1 and the given precision attribute (0 = none). */
static IrGraph *quantize_model(int64_t opset, int64_t precision) {
    Onnx__GraphProto *g = pb_graph("g");
    pb_add_input(g, pb_value("x", RT_F32, "1"));
    float one = 1;
    int16_t zero = 0;
    pb_tensor_floats(pb_add_init(g, pb_tensor("s", RT_F32, 0, NULL)), 1, &one);
    pb_tensor_raw(pb_add_init(g, pb_tensor("z", RT_I16, 0, NULL)), &zero, sizeof zero);
    Onnx__NodeProto *n = pb_add_node(g, pb_node("QuantizeLinear", "q", "x,s,z", "y"));
    if (precision) pb_attr_int(n, "precision", precision);
    pb_add_output(g, pb_value("y", RT_I16, NULL));
    return load_ok(g, opset >= 23 ? 11 : 10, opset);
}

static int16_t quantize_run(IrGraph *m, float v) {
    RtTensor y;
    cr_assert_eq(run1(m, tensor(RT_F32, 1, (int64_t[]){1}, &v), &y), RT_OK, "%s", err.msg);
    int16_t q = ((int16_t *)y.data)[0];
    free(y.data);
    ir_graph_free(m);
    return q;
}

/* 1000.6 is 1000.5 in float16 (step 0.5 there): divided by 1 in float16 it rounds half to even
 * to 1000; in float32 (y_scale's type, the default precision) it stays 1000.6 -> 1001. */
Test(onnx_opset23, quantize_linear23_precision) {
    cr_expect_eq(quantize_run(quantize_model(23, 0), 1000.6f), 1001);
    cr_expect_eq(quantize_run(quantize_model(23, RT_F32), 1000.6f), 1001);
    cr_expect_eq(quantize_run(quantize_model(23, RT_F16), 1000.6f), 1000);
    /* bfloat16 keeps 8 significant bits (step 4 from 512 to 1024): 1003 -> 1004, float32 1003 */
    cr_expect_eq(quantize_run(quantize_model(23, 0), 1003.0f), 1003);
    cr_expect_eq(quantize_run(quantize_model(23, RT_BF16), 1003.0f), 1004);
}

Test(onnx_opset23, quantize_linear_precision_before_23_refused) {
    IrGraph *m = quantize_model(21, RT_F16);
    float v = 1;
    RtTensor y;
    cr_expect_neq(run1(m, tensor(RT_F32, 1, (int64_t[]){1}, &v), &y), RT_OK);
    expect_msg("attribute 'precision' exists from opset 23");
    ir_graph_free(m);
}

/* DequantizeLinear int8 x -> output_dtype (0 = the scale's float32). */
static IrGraph *dequantize_model(int64_t output_dtype) {
    Onnx__GraphProto *g = pb_graph("g");
    pb_add_input(g, pb_value("x", RT_I8, "1"));
    float s = 1.00390625f; /* 1 + 2^-8 */
    pb_tensor_floats(pb_add_init(g, pb_tensor("s", RT_F32, 0, NULL)), 1, &s);
    Onnx__NodeProto *n = pb_add_node(g, pb_node("DequantizeLinear", "dq", "x,s", "y"));
    if (output_dtype) pb_attr_int(n, "output_dtype", output_dtype);
    pb_add_output(g, pb_value("y", output_dtype ? (int)output_dtype : RT_F32, NULL));
    return load_ok(g, 11, 23);
}

/* x = 3: in float32 3 * (1 + 2^-8) = 3.01171875. With output_dtype bfloat16 the product is
 * taken in bfloat16: the scale rounds (half to even, 7 fraction bits) to 1.0, so y = 3.0
 * (rounding the float32 product instead would give 3.015625). */
Test(onnx_opset23, dequantize_linear23_output_dtype) {
    int8_t x = 3;
    RtTensor y;
    IrGraph *m = dequantize_model(0);
    cr_assert_eq(run1(m, tensor(RT_I8, 1, (int64_t[]){1}, &x), &y), RT_OK, "%s", err.msg);
    cr_expect_eq(y.dtype, RT_F32);
    cr_expect_eq(((float *)y.data)[0], 3.01171875f);
    free(y.data);
    ir_graph_free(m);
    m = dequantize_model(RT_BF16);
    cr_assert_eq(run1(m, tensor(RT_I8, 1, (int64_t[]){1}, &x), &y), RT_OK, "%s", err.msg);
    cr_expect_eq(y.dtype, RT_BF16);
    cr_expect_eq(rt_bf16_to_f32(((uint16_t *)y.data)[0]), 3.0f);
    free(y.data);
    ir_graph_free(m);
    m = dequantize_model(RT_F16); /* float16 holds 1 + 2^-8 exactly: 3.01171875 */
    cr_assert_eq(run1(m, tensor(RT_I8, 1, (int64_t[]){1}, &x), &y), RT_OK, "%s", err.msg);
    cr_expect_eq(y.dtype, RT_F16);
    cr_expect_eq(rt_f16_to_f32(((uint16_t *)y.data)[0]), 3.01171875f);
    free(y.data);
    ir_graph_free(m);
}

Test(onnx_opset23, dequantize_linear23_output_dtype_int_refused) {
    IrGraph *m = dequantize_model(RT_I32);
    int8_t x = 3;
    RtTensor y;
    cr_expect_neq(run1(m, tensor(RT_I8, 1, (int64_t[]){1}, &x), &y), RT_OK);
    expect_msg("attribute 'output_dtype' = 6 is not supported");
    ir_graph_free(m);
}

/* Cast-23 / CastLike-23 add float4e2m1, which wafer cannot hold: refused by name. */
Test(onnx_opset23, cast_to_float4e2m1_refused_by_name) {
    Onnx__GraphProto *g = pb_graph("g");
    pb_add_input(g, pb_value("x", RT_F32, "2"));
    pb_attr_int(pb_add_node(g, pb_node("Cast", "c", "x", "y")), "to", 23);
    pb_add_output(g, pb_value("y", RT_F32, NULL));
    IrGraph *m = load(g, 11, 23);
    if (m) { /* refused at load (shape inference) or at run: either names the type */
        float x[2] = {1, 2};
        RtTensor y;
        cr_expect_neq(run1(m, tensor(RT_F32, 1, (int64_t[]){2}, x), &y), RT_OK);
        ir_graph_free(m);
    }
    expect_msg("float4e2m1");
}

/* A float4e2m1 initializer (IR 11's new type) or a float8 one is refused by name, never read
 * as another type. */
Test(onnx_opset23, float4e2m1_initializer_refused) {
    Onnx__GraphProto *g = pb_graph("g");
    pb_add_input(g, pb_value("x", RT_F32, "2"));
    uint8_t packed = 0x21;
    pb_tensor_raw(pb_add_init(g, pb_tensor("w", 23, 1, (int64_t[]){2})), &packed, 1);
    pb_add_node(g, pb_node("Identity", "i", "w", "y"));
    pb_add_output(g, pb_value("y", RT_F32, NULL));
    cr_expect_null(load(g, 11, 23));
    expect_msg("initializer 'w': data type 23 (float4e2m1) is not supported");
    g->initializer[0]->data_type = 17; /* float8 (opset 19's types, in more ops at 23) alike */
    uint8_t f8[2] = {0x38, 0x40};
    g->initializer[0]->raw_data.data = f8, g->initializer[0]->raw_data.len = 2;
    cr_expect_null(load(g, 11, 23));
    expect_msg("initializer 'w': data type 17 (float8e4m3fn) is not supported");
}

/* Attention exists from opset 23: in an opset-21 model it is refused naming the opset. */
Test(onnx_opset23, attention_before_23_refused) {
    Onnx__GraphProto *g = pb_graph("g");
    pb_add_input(g, pb_value("q", RT_F32, "1,1,2,4"));
    pb_add_node(g, pb_node("Attention", "att", "q,q,q", "y"));
    pb_add_output(g, pb_value("y", RT_F32, NULL));
    IrGraph *m = load(g, 10, 21);
    if (m) {
        float q[8] = {0};
        RtTensor y;
        cr_expect_neq(run1(m, tensor(RT_F32, 4, (int64_t[]){1, 1, 2, 4}, q), &y), RT_OK);
        ir_graph_free(m);
    }
    expect_msg("Attention exists from opset 23");
}

/* Attention-23's attn_mask must broadcast to [batch, q_heads, q_seq, total_seq]: a last dim
 * shorter than the keys (Attention-24 pads it) is refused. */
Test(onnx_opset23, attention23_short_mask_refused) {
    Onnx__GraphProto *g = pb_graph("g");
    pb_add_input(g, pb_value("q", RT_F32, "1,1,3,4"));
    pb_add_input(g, pb_value("m", RT_F32, "3,2"));
    pb_add_node(g, pb_node("Attention", "att", "q,q,q,m", "y"));
    pb_add_output(g, pb_value("y", RT_F32, NULL));
    IrGraph *m = load(g, 11, 23);
    if (m) {
        float q[12] = {0}, mk[6] = {0};
        RtTensor in[2] = {tensor(RT_F32, 4, (int64_t[]){1, 1, 3, 4}, q), tensor(RT_F32, 2, (int64_t[]){3, 2}, mk)}, y;
        memset(&err, 0, sizeof err);
        cr_expect_neq(ir_run(m, in, &y, &err), RT_OK);
        ir_graph_free(m);
    }
    expect_msg("attn_mask [3,2] does not broadcast");
}

/* Written back, an opset-23 graph gets IR version 11 at least (onnx/docs/Versioning.md: opset
 * 23 came with IR 11), even when it was read from an IR-10 file. */
Test(onnx_opset23, written_opset23_model_has_ir11) {
    Onnx__GraphProto *g = pb_graph("g");
    pb_add_input(g, pb_value("x", RT_F32, "2"));
    pb_add_node(g, pb_node("Relu", "r", "x", "y"));
    pb_add_output(g, pb_value("y", RT_F32, NULL));
    IrGraph *m = load_ok(g, 10, 23);
    uint8_t *bytes = NULL;
    size_t len = 0;
    cr_assert_eq(onnx_write_memory(m, NULL, &bytes, &len, &err), RT_OK, "%s", err.msg);
    ir_graph_free(m);
    m = onnx_load_memory(bytes, len, NULL, "w.onnx", NULL, &err);
    free(bytes);
    cr_assert_not_null(m, "%s", err.msg);
    cr_expect_eq(m->ir_version, 11);
    cr_expect_eq(m->opset, 23);
    ir_graph_free(m);
}

/* Arity at 23: Attention takes 3 to 6 inputs (a 7th, nonpad_kv_seqlen, came with opset 24)
 * and RotaryEmbedding 3 to 4; a node outside is refused at load, naming it. */
Test(onnx_opset23, new_ops_arity_checked) {
    Onnx__GraphProto *g = pb_graph("g");
    pb_add_input(g, pb_value("q", RT_F32, "1,1,2,4"));
    pb_add_node(g, pb_node("Attention", "att7", "q,q,q,,,,q", "y"));
    pb_add_output(g, pb_value("y", RT_F32, NULL));
    cr_expect_null(load(g, 11, 23));
    expect_msg("att7");
    g = pb_graph("g");
    pb_add_input(g, pb_value("q", RT_F32, "1,1,2,4"));
    pb_add_node(g, pb_node("RotaryEmbedding", "rope2", "q,q", "y"));
    pb_add_output(g, pb_value("y", RT_F32, NULL));
    cr_expect_null(load(g, 11, 23));
    expect_msg("rope2");
}
