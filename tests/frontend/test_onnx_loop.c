/*
 * test_onnx_loop.c — Loop and Scan through the frontend: the capture convention of
 * frontend/onnx_subgraph.c (outer values a body reads become trailing inputs of the node and
 * of the body, after the body's declared inputs, whose count the body records), nested
 * captures two levels down, and the refusals (sequence/optional bodies, wrong arity), on
 * models built here (onnx_proto_build.h) and run with ir_run.
 *
 * Expected outputs are worked by hand from the ONNX Loop/Scan definitions; the values are
 * small integers, exact in float32.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../frontend/onnx.h"
#include "onnx_proto_build.h"

/* A value of type tp appended to g's inputs (outputs). */
static void in_add(Onnx__GraphProto *g, const char *name, Onnx__TypeProto *tp) {
    pb_add_input(g, pb_value_typed(name, tp));
}
static void out_add(Onnx__GraphProto *g, const char *name, Onnx__TypeProto *tp) {
    pb_add_output(g, pb_value_typed(name, tp));
}

/* Loads g as an IR 8, opset 16 model named loop.onnx; NULL (err set) on refusal. */
static IrGraph *load(Onnx__GraphProto *g, RtError *err) {
    size_t len;
    uint8_t *buf = pb_model_pack(g, 8, 16, "test_onnx_loop", &len);
    memset(err, 0, sizeof *err);
    return onnx_load_memory(buf, len, NULL, "loop.onnx", NULL, err);
}

#define F32 1
#define I64 7
#define BOOL 9
static const int64_t D2[] = {2};

/* Loop body: (i, cond_in, v f32[2]) -> (cond_in, v + w, v + w) where w is the outer graph's. */
static Onnx__GraphProto *add_w_body(const char *name, const char *w) {
    Onnx__GraphProto *b = pb_graph(name);
    in_add(b, "i", pb_type_dims(I64, 0, NULL));
    in_add(b, "cond_in", pb_type_dims(BOOL, 0, NULL));
    in_add(b, "v", pb_type_dims(F32, 1, D2));
    char ins[64];
    snprintf(ins, sizeof ins, "v,%s", w);
    pb_add_node(b, pb_node("Identity", "keep", "cond_in", "cond_out"));
    pb_add_node(b, pb_node("Add", "add_w", ins, "v_out"));
    pb_add_node(b, pb_node("Identity", "emit", "v_out", "scan"));
    out_add(b, "cond_out", pb_type_dims(BOOL, 0, NULL));
    out_add(b, "v_out", pb_type_dims(F32, 1, D2));
    out_add(b, "scan", pb_type_dims(F32, 1, D2));
    return b;
}

/* top(M i64 scalar, v0 f32[2], w f32[2]) with one Loop node `name`: (M, "", v0) -> outs over
 * body; the caller declares the outputs. */
static Onnx__GraphProto *loop_top(const char *name, const char *outs, Onnx__GraphProto *body) {
    Onnx__GraphProto *g = pb_graph("top");
    in_add(g, "M", pb_type_dims(I64, 0, NULL));
    in_add(g, "v0", pb_type_dims(F32, 1, D2));
    in_add(g, "w", pb_type_dims(F32, 1, D2));
    pb_attr_graph(pb_add_node(g, pb_node("Loop", name, "M,,v0", outs)), "body", body);
    return g;
}

Test(onnx_loop, capture_becomes_a_trailing_input_and_runs, .fini = pb_release_all) {
    Onnx__GraphProto *g = loop_top("loop", "v_final,scans", add_w_body("body", "w"));
    out_add(g, "v_final", pb_type_dims(F32, 1, D2));
    out_add(g, "scans", pb_type_dims(F32, -1, NULL));
    RtError err;
    IrGraph *ir = load(g, &err);
    cr_assert_not_null(ir, "%s", err.msg);
    const RtNode *n = &ir->nodes[0];
    cr_assert_eq(n->op, RT_OP_LOOP);
    cr_assert_eq(n->n_in, 4); /* M, cond (absent), v0, then the capture w */
    cr_expect_eq(n->in[1], -1);
    cr_expect_str_eq(ir->values[n->in[3]].name, "w");
    const IrGraph *b = n->attrs[0].g;
    cr_expect_eq(b->n_declared, 3);
    cr_assert_eq(b->n_inputs, 4);
    cr_expect_str_eq(b->values[b->inputs[3]].name, "w");

    /* M = 3, v0 = [1,2], w = [10,20]: v = [11,22], [21,42], [31,62] */
    int64_t m = 3;
    float v0[2] = {1, 2}, w[2] = {10, 20};
    RtTensor in[3] = {{RT_I64, 0, {0}, &m}, {RT_F32, 1, {2}, v0}, {RT_F32, 1, {2}, w}}, out[2];
    cr_assert_eq(ir_run(ir, in, out, &err), RT_OK, "%s", err.msg);
    cr_expect_eq(memcmp(out[0].data, (float[]){31, 62}, 8), 0);
    cr_assert_eq(out[1].rank, 2);
    cr_expect_eq(out[1].dims[0], 3);
    cr_expect_eq(memcmp(out[1].data, (float[]){11, 22, 21, 42, 31, 62}, 24), 0);
    free(out[0].data);
    free(out[1].data);
    ir_graph_free(ir);
}

Test(onnx_loop, nested_loop_captures_two_levels_up, .fini = pb_release_all) {
    /* The outer body runs an inner Loop of K iterations adding w (a top-level input, and K
     * too): the middle graph captures w and K and passes them down. v = v0 + M*K*w. */
    Onnx__GraphProto *inner = add_w_body("inner", "w");
    Onnx__GraphProto *outer = pb_graph("outer");
    in_add(outer, "j", pb_type_dims(I64, 0, NULL));
    in_add(outer, "c", pb_type_dims(BOOL, 0, NULL));
    in_add(outer, "u", pb_type_dims(F32, 1, D2));
    pb_add_node(outer, pb_node("Identity", "keep_c", "c", "c_out"));
    Onnx__NodeProto *il = pb_add_node(outer, pb_node("Loop", "inner_loop", "K,,u", "u_out,u_scan"));
    pb_attr_graph(il, "body", inner);
    out_add(outer, "c_out", pb_type_dims(BOOL, 0, NULL));
    out_add(outer, "u_out", pb_type_dims(F32, 1, D2));
    Onnx__GraphProto *g = pb_graph("top");
    in_add(g, "M", pb_type_dims(I64, 0, NULL));
    in_add(g, "K", pb_type_dims(I64, 0, NULL));
    in_add(g, "v0", pb_type_dims(F32, 1, D2));
    in_add(g, "w", pb_type_dims(F32, 1, D2));
    Onnx__NodeProto *lp = pb_add_node(g, pb_node("Loop", "outer_loop", "M,,v0", "v_final"));
    pb_attr_graph(lp, "body", outer);
    out_add(g, "v_final", pb_type_dims(F32, 1, D2));
    RtError err;
    IrGraph *ir = load(g, &err);
    cr_assert_not_null(ir, "%s", err.msg);
    const IrGraph *ob = ir->nodes[0].attrs[0].g;
    cr_expect_eq(ob->n_declared, 3);
    cr_expect_eq(ob->n_inputs, 5); /* j, c, u, then the captures K and w (first-use order) */
    cr_expect_eq(ir->nodes[0].n_in, 5);

    int64_t m = 2, k = 3;
    float v0[2] = {1, 2}, w[2] = {10, 20};
    RtTensor in[4] = {{RT_I64, 0, {0}, &m}, {RT_I64, 0, {0}, &k}, {RT_F32, 1, {2}, v0}, {RT_F32, 1, {2}, w}}, out[1];
    cr_assert_eq(ir_run(ir, in, out, &err), RT_OK, "%s", err.msg);
    cr_expect_eq(memcmp(out[0].data, (float[]){61, 122}, 8), 0); /* v0 + 6w */
    free(out[0].data);
    ir_graph_free(ir);
}

Test(onnx_loop, scan_capture_after_declared_inputs, .fini = pb_release_all) {
    /* Scan(s0, x) with body (s, xt) -> (s + xt, s + xt + w); w captured. */
    Onnx__GraphProto *b = pb_graph("scan_body");
    in_add(b, "s", pb_type_dims(F32, 1, D2));
    in_add(b, "xt", pb_type_dims(F32, 1, D2));
    pb_add_node(b, pb_node("Add", "acc", "s,xt", "s_out"));
    pb_add_node(b, pb_node("Add", "shift", "s_out,w", "y"));
    out_add(b, "s_out", pb_type_dims(F32, 1, D2));
    out_add(b, "y", pb_type_dims(F32, 1, D2));
    Onnx__GraphProto *g = pb_graph("top");
    in_add(g, "s0", pb_type_dims(F32, 1, D2));
    in_add(g, "x", pb_type_dims(F32, 2, (int64_t[]){3, 2}));
    in_add(g, "w", pb_type_dims(F32, 1, D2));
    Onnx__NodeProto *sc = pb_add_node(g, pb_node("Scan", "scan", "s0,x", "s_final,ys"));
    pb_attr_graph(sc, "body", b);
    pb_attr_int(sc, "num_scan_inputs", 1);
    out_add(g, "s_final", pb_type_dims(F32, 1, D2));
    out_add(g, "ys", pb_type_dims(F32, 2, (int64_t[]){3, 2}));
    RtError err;
    IrGraph *ir = load(g, &err);
    cr_assert_not_null(ir, "%s", err.msg);
    cr_expect_eq(((const IrGraph *)ir->nodes[0].attrs[0].g)->n_declared, 2);
    cr_expect_eq(ir->nodes[0].n_in, 3);
    /* x rows [1,2], [3,4], [5,6]: s = [1,2], [4,6], [9,12]; y = s + [100,200] */
    float s0[2] = {0, 0}, x[6] = {1, 2, 3, 4, 5, 6}, w[2] = {100, 200};
    RtTensor in[3] = {{RT_F32, 1, {2}, s0}, {RT_F32, 2, {3, 2}, x}, {RT_F32, 1, {2}, w}}, out[2];
    cr_assert_eq(ir_run(ir, in, out, &err), RT_OK, "%s", err.msg);
    cr_expect_eq(memcmp(out[0].data, (float[]){9, 12}, 8), 0);
    cr_expect_eq(memcmp(out[1].data, (float[]){101, 202, 104, 206, 109, 212}, 24), 0);
    free(out[0].data);
    free(out[1].data);
    ir_graph_free(ir);
}

Test(onnx_loop, sequence_and_optional_bodies_are_refused_by_node, .fini = pb_release_all) {
    for (int kind = 0; kind < 2; kind++) {
        Onnx__GraphProto *b = add_w_body("body", "w");
        Onnx__TypeProto *tp = pb_zalloc(sizeof *tp);
        onnx__type_proto__init(tp);
        if (kind == 0) {
            Onnx__TypeProto__Sequence *sq = pb_zalloc(sizeof *sq);
            onnx__type_proto__sequence__init(sq);
            sq->elem_type = pb_type_dims(F32, -1, NULL);
            tp->value_case = ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE;
            tp->sequence_type = sq;
        } else {
            Onnx__TypeProto__Optional *op = pb_zalloc(sizeof *op);
            onnx__type_proto__optional__init(op);
            op->elem_type = pb_type_dims(F32, -1, NULL);
            tp->value_case = ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE;
            tp->optional_type = op;
        }
        b->input[2]->type = tp;
        Onnx__GraphProto *g = loop_top("seq_loop", "v_final,scans", b);
        out_add(g, "v_final", pb_type_dims(F32, -1, NULL));
        RtError err;
        IrGraph *ir = load(g, &err);
        cr_expect_null(ir);
        ir_graph_free(ir);
        cr_expect_not_null(strstr(err.msg, "seq_loop"), "%s", err.msg);
        cr_expect_not_null(strstr(err.msg, kind == 0 ? "is a sequence value" : "is an optional value"), "%s", err.msg);
    }
}

Test(onnx_loop, wrong_arity_is_refused, .fini = pb_release_all) {
    /* The body carries one value and emits one scan output (2 node outputs); this node asks
     * for 3. */
    Onnx__GraphProto *g = loop_top("bad_loop", "a,b,c", add_w_body("body", "w"));
    out_add(g, "a", pb_type_dims(F32, -1, NULL));
    RtError err;
    IrGraph *ir = load(g, &err);
    cr_expect_null(ir);
    ir_graph_free(ir);
    cr_expect_not_null(strstr(err.msg, "bad_loop"), "%s", err.msg);
    cr_expect_not_null(strstr(err.msg, "the body has 3 inputs and 3 outputs"), "%s", err.msg);
}
