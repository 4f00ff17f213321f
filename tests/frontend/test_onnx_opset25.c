/*
 * test_onnx_opset25.c — the loader at opsets 24 and 25 (ONNX 1.19 / 1.20): IR versions 12
 * and 13 load, a written graph declares the IR version its opset needs (Versioning.md: 24 ->
 * 12, 25 -> 13); UINT2 / INT2 tensors widen to one byte each (values by hand); a
 * QuantizeLinear whose 2-bit output type only its zero point says gets output_dtype wherever
 * it is (a Constant zero point, an If branch); float8e8m0 is refused by name. Running models of these opsets
 * against onnxruntime is tests/e2e/test_onnx_opset25.c.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "../../frontend/onnx.h"
#include "../../runtime/kernels/kernel.h"
#include "onnx_proto_build.h"

TestSuite(onnx_opset25_load, .fini = pb_release_all);

static RtError err;

static IrGraph *load(Onnx__GraphProto *g, int64_t ir, int64_t opset) {
    size_t len;
    uint8_t *buf = pb_model_pack(g, ir, opset, "test_onnx_opset25", &len);
    memset(&err, 0, sizeof err);
    return onnx_load_memory(buf, len, NULL, "m.onnx", NULL, &err);
}

static Onnx__GraphProto *relu_graph(void) {
    Onnx__GraphProto *g = pb_graph("g");
    pb_add_input(g, pb_value("x", RT_F32, "2"));
    pb_add_node(g, pb_node("Relu", "r", "x", "y"));
    pb_add_output(g, pb_value("y", RT_F32, "2"));
    return g;
}

Test(onnx_opset25_load, written_graph_declares_ir_of_its_opset) {
    for (int opset = 24; opset <= 25; opset++) {
        IrGraph *m = load(relu_graph(), opset == 24 ? 12 : 13, opset);
        cr_assert_not_null(m, "%s", err.msg);
        uint8_t *bytes = NULL;
        size_t len = 0;
        cr_assert_eq(onnx_write_memory(m, NULL, &bytes, &len, &err), RT_OK, "%s", err.msg);
        ir_graph_free(m);
        m = onnx_load_memory(bytes, len, NULL, "w.onnx", NULL, &err);
        free(bytes);
        cr_assert_not_null(m, "%s", err.msg);
        cr_expect_eq(m->opset, opset);
        cr_expect_eq(m->ir_version, opset == 24 ? 12 : 13, "opset %d written as IR %lld", opset,
                     (long long)m->ir_version);
        ir_graph_free(m);
    }
}

/* INT2 codes -2, 1, -1, 0, 1 packed low bits first: 0b00'11'01'10 = 0x36, then 0x01;
 * UINT2 0..3 then 2: 0b11'10'01'00 = 0xE4, then 0x02. */
Test(onnx_opset25_load, int2_and_uint2_widen_to_bytes) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t d5 = 5;
    uint8_t pi[2] = {0x36, 0x01}, pu[2] = {0xE4, 0x02};
    pb_tensor_raw(pb_add_init(g, pb_tensor("qi", 26, 1, &d5)), pi, 2);
    pb_tensor_raw(pb_add_init(g, pb_tensor("qu", 25, 1, &d5)), pu, 2);
    pb_add_node(g, pb_node("Identity", "a", "qi", "yi"));
    pb_add_node(g, pb_node("Identity", "b", "qu", "yu"));
    pb_add_output(g, pb_value("yi", 26, "5"));
    pb_add_output(g, pb_value("yu", 25, "5"));
    IrGraph *m = load(g, 13, 25);
    cr_assert_not_null(m, "%s", err.msg);
    const int8_t wi[5] = {-2, 1, -1, 0, 1};
    const uint8_t wu[5] = {0, 1, 2, 3, 2};
    int found = 0;
    for (int v = 0; v < m->n_values; v++) {
        const RtTensor *t = m->values[v].konst;
        if (!t || !m->values[v].name) continue;
        if (strcmp(m->values[v].name, "qi") == 0) {
            cr_expect_eq(t->dtype, RT_I8);
            cr_expect_arr_eq(t->data, wi, 5);
            found++;
        } else if (strcmp(m->values[v].name, "qu") == 0) {
            cr_expect_eq(t->dtype, RT_U8);
            cr_expect_arr_eq(t->data, wu, 5);
            found++;
        }
    }
    cr_expect_eq(found, 2, "both constants were found");
    ir_graph_free(m);
    /* a short packed buffer is refused, naming the tensor and the need: 5 int2 need 2 bytes */
    g = pb_graph("g");
    pb_tensor_raw(pb_add_init(g, pb_tensor("qs", 26, 1, &d5)), pi, 1);
    pb_add_node(g, pb_node("Identity", "a", "qs", "y"));
    pb_add_output(g, pb_value("y", 26, "5"));
    cr_expect_null(load(g, 13, 25));
    cr_expect(strstr(err.msg, "qs") && strstr(err.msg, "5 int2 elements need 2"), "%s", err.msg);
}

/* A QuantizeLinear to int2 inside an If branch, its zero point a Constant of the outer graph:
 * the widened zero point reads int8, so the node gets output_dtype = 26 (int2), which the
 * runtime saturates to; the else branch's QuantizeLinear (no zero point) gets nothing. */
Test(onnx_opset25_load, int2_quantize_in_subgraph_gets_output_dtype) {
    Onnx__GraphProto *br = pb_graph("then");
    pb_add_node(br, pb_node("QuantizeLinear", "q_in_branch", "x,s,z", "qo"));
    pb_add_output(br, pb_value("qo", 26, ""));
    Onnx__GraphProto *el = pb_graph("else");
    pb_add_node(el, pb_node("QuantizeLinear", "q_else", "x,s", "qo2"));
    pb_add_output(el, pb_value("qo2", RT_U8, ""));
    Onnx__GraphProto *g = pb_graph("g");
    pb_add_input(g, pb_value("c", RT_BOOL, ""));
    pb_add_input(g, pb_value("x", RT_F32, "4"));
    float one = 1;
    pb_tensor_floats(pb_add_init(g, pb_tensor("s", 1, 0, NULL)), 1, &one);
    Onnx__NodeProto *kz = pb_add_node(g, pb_node("Constant", "kz", "", "z"));
    Onnx__AttributeProto *va = pb_attr(kz, "value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    uint8_t zc = 0x01;
    va->t = pb_tensor_raw(pb_tensor("zt", 26, 0, NULL), &zc, 1);
    Onnx__NodeProto *n = pb_add_node(g, pb_node("If", "if", "c", "y"));
    pb_attr_graph(n, "then_branch", br);
    pb_attr_graph(n, "else_branch", el);
    pb_add_output(g, pb_value("y", RT_U8, NULL));
    IrGraph *m = load(g, 13, 25);
    cr_assert_not_null(m, "%s", err.msg);
    int seen = 0;
    for (int k = 0; k < m->n_nodes; k++) {
        const RtNode *n = &m->nodes[k];
        for (int a = 0; a < n->n_attr; a++) {
            if (n->attrs[a].type != RT_ATTR_GRAPH) continue;
            const IrGraph *b = n->attrs[a].g;
            for (int j = 0; j < b->n_nodes; j++) {
                const RtNode *q = &b->nodes[j];
                int64_t od = rt_attr_int(q, "output_dtype", 0);
                if (strcmp(q->name, "q_in_branch") == 0) cr_expect_eq(od, 26, "q_in_branch: output_dtype %lld", (long long)od);
                if (strcmp(q->name, "q_else") == 0) cr_expect_eq(od, 0, "q_else: output_dtype %lld", (long long)od);
                seen++;
            }
        }
    }
    cr_expect_eq(seen, 2, "%d branch nodes", seen);
    ir_graph_free(m);
}

Test(onnx_opset25_load, float8e8m0_refused_by_name) {
    Onnx__GraphProto *g = pb_graph("g");
    uint8_t e = 127;
    pb_tensor_raw(pb_add_init(g, pb_tensor("e8", 24, 0, NULL)), &e, 1);
    pb_add_node(g, pb_node("Identity", "i", "e8", "y"));
    pb_add_output(g, pb_value("y", 24, ""));
    cr_expect_null(load(g, 12, 24));
    cr_expect(strstr(err.msg, "e8") && strstr(err.msg, "data type 24 (float8e8m0) is not supported"), "%s", err.msg);
}
