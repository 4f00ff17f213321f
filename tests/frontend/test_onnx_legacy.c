/*
 * test_onnx_legacy.c — models of default-domain opsets 1-6 (frontend/onnx_legacy.c): each
 * legacy form, built here (onnx_proto_build.h), loads as its opset-7 form and runs to the values
 * the old spec gives, worked by hand in the comments; forms without an opset-7 equivalent and
 * legacy attributes in newer models are refused naming the node.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../frontend/onnx.h"
#include "../../passes/passes.h"
#include "../runtime/rt_test_util.h"
#include "onnx_proto_build.h"

TestSuite(onnx_legacy, .fini = pb_release_all);

/* ---------- this file's conventions over onnx_proto_build.h ---------- */

/* A node named n<its index> appended to g. */
static Onnx__NodeProto *add_node(Onnx__GraphProto *g, const char *op, const char *ins, const char *outs) {
    char name[64];
    snprintf(name, sizeof name, "n%zu", g->n_node);
    return pb_add_node(g, pb_node(op, name, ins, outs));
}

/* A float input of shape dims[rank]. */
static void add_input(Onnx__GraphProto *g, const char *name, int rank, const int64_t *dims) {
    pb_add_input(g, pb_value_typed(name, pb_type_dims(1, rank, dims)));
}
/* An output of dtype dt, shape undeclared. */
static void add_output(Onnx__GraphProto *g, const char *name, int dt) { pb_add_output(g, pb_value(name, dt, NULL)); }

/* An initializer with raw data of `bytes` bytes. */
static void add_init(Onnx__GraphProto *g, const char *name, int dt, int rank, const int64_t *dims, const void *data,
                     size_t bytes) {
    pb_add_init(g, pb_tensor_raw(pb_tensor(name, dt, (size_t)rank, dims), data, bytes));
}

static RtError err;

static int allow_unknown; /* OnnxLoadOptions.allow_unknown_ops for the next load */

/* Loads g packed as a model of default-domain opset `opset`; NULL (err set) on refusal. */
static IrGraph *load(Onnx__GraphProto *g, int64_t opset) {
    size_t len;
    uint8_t *buf = pb_model_pack(g, 3, opset, "test_onnx_legacy", &len);
    memset(&err, 0, sizeof err);
    OnnxLoadOptions o = {.allow_unknown_ops = allow_unknown};
    return onnx_load_memory(buf, len, NULL, "old.onnx", &o, &err);
}

static IrGraph *load_ok(Onnx__GraphProto *g, int64_t opset) {
    IrGraph *ir = load(g, opset);
    cr_assert_not_null(ir, "%s", err.msg);
    cr_expect_eq(ir->opset, 7, "the graph is upgraded to opset 7");
    for (int k = 0; k < ir->n_nodes; k++) cr_expect_eq(ir->nodes[k].opset, 7, "node %d", k);
    RtError e = {{0}};
    cr_assert_eq(ir_verify(ir, &e), RT_OK, "%s", e.msg);
    return ir;
}

static void expect_refused(Onnx__GraphProto *g, int64_t opset, const char *part) {
    IrGraph *ir = load(g, opset);
    if (ir) ir_graph_free(ir);
    cr_assert_null(ir, "should have been refused (%s)", part);
    cr_expect_not_null(strstr(err.msg, part), "message '%s' lacks '%s'", err.msg, part);
}

/* Runs ir on float inputs; out[0..n_out) get malloc'd data. */
static void run(const IrGraph *ir, int n_in, RtTensor *in, RtTensor *out) {
    cr_assert_eq(ir->n_inputs, n_in);
    RtError e = {{0}};
    cr_assert_eq(ir_run(ir, in, out, &e), RT_OK, "%s", e.msg);
}

static void expect_f32(const RtTensor *t, int rank, const int64_t *dims, const float *want, int n) {
    cr_assert_eq(t->dtype, RT_F32);
    cr_assert_eq(t->rank, rank);
    for (int i = 0; i < rank; i++) cr_expect_eq(t->dims[i], dims[i], "dim %d", i);
    /* every case is exact in float32 (small integers, halves), so equality is expected */
    for (int i = 0; i < n; i++) cr_expect_eq(((const float *)t->data)[i], want[i], "[%d] %g != %g", i,
                                             ((const float *)t->data)[i], want[i]);
}

/* Runs ir on the one float input x[in_dims] and expects its one output to be want[out_dims]
 * (n values); frees the output and ir. */
static void run1_expect_f32(IrGraph *ir, int in_rank, const int64_t *in_dims, float *x, int out_rank,
                            const int64_t *out_dims, const float *want, int n) {
    RtTensor in = rtt_tensor(RT_F32, in_rank, in_dims, x), out;
    run(ir, 1, &in, &out);
    expect_f32(&out, out_rank, out_dims, want, n);
    free(out.data);
    ir_graph_free(ir);
}

static const RtAttr *node_attr(const RtNode *n, const char *name) {
    for (int i = 0; i < n->n_attr; i++)
        if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
    return NULL;
}

/* ---------- dropped hints ---------- */

Test(onnx_legacy, consumed_inputs_accepted_and_dropped) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t d[1] = {3};
    add_input(g, "x", 1, d);
    Onnx__NodeProto *n = add_node(g, "Relu", "x", "y");
    pb_attr_ints(n, "consumed_inputs", 1, (int64_t[]){0});
    add_output(g, "y", 1);
    IrGraph *ir = load_ok(g, 1);
    cr_expect_eq(ir->nodes[0].n_attr, 0);
    float x[3] = {-1, 0, 2}, want[3] = {0, 0, 2};
    run1_expect_f32(ir, 1, d, x, 1, d, want, 3);
}

/* ---------- legacy broadcasting ---------- */

/* A [2,3,2] + B [3] along axis 1: out[i,j,k] = a[i,j,k] + b[j] (Add-1's "(3, 4), with axis=1"). */
static void broadcast_axis_case(int b_is_input, int a_declared) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t da[3] = {2, 3, 2}, db[1] = {3};
    float b[3] = {10, 20, 30};
    add_input(g, "x", 3, da);
    if (b_is_input) add_input(g, "b", 1, db);
    else add_init(g, "b", 1, 1, db, b, sizeof b);
    /* an undeclared A is a node's output: its rank comes from shape inference */
    if (!a_declared) add_node(g, "Relu", "x", "a");
    Onnx__NodeProto *n = add_node(g, "Add", a_declared ? "x,b" : "a,b", "y");
    pb_attr_int(n, "broadcast", 1);
    pb_attr_int(n, "axis", 1);
    add_output(g, "y", 1);
    IrGraph *ir = load_ok(g, 6);
    const RtNode *add = &ir->nodes[ir->n_nodes - 1];
    cr_assert_eq(add->op, RT_OP_ADD);
    cr_expect_null(node_attr(add, "broadcast"));
    cr_expect_null(node_attr(add, "axis"));
    const IrValue *nb = &ir->values[add->in[1]];
    if (b_is_input) { /* Unsqueeze(b, axes = [1]) makes [3, 1] */
        const RtNode *u = &ir->nodes[ir->n_nodes - 2];
        cr_assert_eq(u->op, RT_OP_UNSQUEEZE);
        const RtAttr *axes = node_attr(u, "axes");
        cr_assert(axes && axes->n == 1 && axes->ints[0] == 1);
        cr_expect_eq(u->out[0], add->in[1]);
    } else {
        cr_assert_not_null(nb->konst);
        cr_expect_eq(nb->konst->rank, 2, "B becomes [3, 1]");
        cr_expect_eq(nb->konst->dims[1], 1);
        cr_expect_str_eq(nb->name, "b", "read by this node only, B keeps its initializer's name");
    }
    float a[12], want[12];
    for (int f = 0; f < 12; f++) {
        a[f] = (float)f;
        want[f] = (float)f + b[(f / 2) % 3];
    }
    RtTensor in[2] = {rtt_tensor(RT_F32, 3, da, a), rtt_tensor(RT_F32, 1, db, b)}, out;
    run(ir, b_is_input ? 2 : 1, in, &out);
    expect_f32(&out, 3, da, want, 12);
    free(out.data);
    ir_graph_free(ir);
}

Test(onnx_legacy, broadcast_axis_constant_b) { broadcast_axis_case(0, 1); }
Test(onnx_legacy, broadcast_axis_computed_b_gets_unsqueeze) { broadcast_axis_case(1, 1); }
Test(onnx_legacy, broadcast_axis_rank_from_inference) { broadcast_axis_case(0, 0); }

/* One bias read by two legacy broadcasts and the graph output: reshaped copies for the
 * nodes, the output keeps [2]. y1 = x + b[j], y2 = x * b[j] along axis 1 of x [1, 2, 2]. */
Test(onnx_legacy, broadcast_axis_shared_constant) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t dx[3] = {1, 2, 2}, db[1] = {2};
    float b[2] = {2, 3};
    add_input(g, "x", 3, dx);
    add_init(g, "b", 1, 1, db, b, sizeof b);
    Onnx__NodeProto *n = add_node(g, "Add", "x,b", "y1");
    pb_attr_int(n, "broadcast", 1);
    pb_attr_int(n, "axis", 1);
    n = add_node(g, "Mul", "x,b", "y2");
    pb_attr_int(n, "broadcast", 1);
    pb_attr_int(n, "axis", 1);
    add_node(g, "Identity", "b", "bo");
    add_output(g, "y1", 1);
    add_output(g, "y2", 1);
    add_output(g, "bo", 1);
    IrGraph *ir = load_ok(g, 6);
    float x[4] = {1, 2, 3, 4}, w1[4] = {3, 4, 6, 7}, w2[4] = {2, 4, 9, 12};
    RtTensor in = rtt_tensor(RT_F32, 3, dx, x), out[3];
    run(ir, 1, &in, out);
    expect_f32(&out[0], 3, dx, w1, 4);
    expect_f32(&out[1], 3, dx, w2, 4);
    expect_f32(&out[2], 1, db, b, 2);
    for (int i = 0; i < 3; i++) free(out[i].data);
    ir_graph_free(ir);
}

/* Suffix matching by default: A [2,2] * B [2] with broadcast=1: out[i,k] = a[i,k] * b[k]. */
Test(onnx_legacy, broadcast_suffix_default) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t da[2] = {2, 2}, db[1] = {2};
    float b[2] = {2, 3};
    add_input(g, "x", 2, da);
    add_init(g, "b", 1, 1, db, b, sizeof b);
    Onnx__NodeProto *n = add_node(g, "Mul", "x,b", "y");
    pb_attr_int(n, "broadcast", 1);
    add_output(g, "y", 1);
    IrGraph *ir = load_ok(g, 6);
    float x[4] = {1, 2, 3, 4}, want[4] = {2, 6, 6, 12};
    run1_expect_f32(ir, 2, da, x, 2, da, want, 4);
}

Test(onnx_legacy, unequal_shapes_without_broadcast_refused) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t da[2] = {2, 2}, db[1] = {2};
    float b[2] = {2, 3};
    add_input(g, "x", 2, da);
    add_init(g, "b", 1, 1, db, b, sizeof b);
    add_node(g, "Sub", "x,b", "y");
    add_output(g, "y", 1);
    expect_refused(g, 6, "node 'n0' (Sub): inputs A and B differ in shape");
}

Test(onnx_legacy, broadcast_axis_dim_mismatch_refused) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t da[3] = {2, 3, 2}, db[1] = {3};
    float b[3] = {1, 2, 3};
    add_input(g, "x", 3, da);
    add_init(g, "b", 1, 1, db, b, sizeof b);
    Onnx__NodeProto *n = add_node(g, "Div", "x,b", "y");
    pb_attr_int(n, "broadcast", 1);
    pb_attr_int(n, "axis", 0); /* dim 0 of A is 2, B has 3 */
    add_output(g, "y", 1);
    expect_refused(g, 6, "node 'n0' (Div): dim 0 of input B (3) differs");
}

/* A dim of 1 in B stretches (PyTorch 0.3 exported [2, 3] + [2, 1] with axis 0 so; onnx's
 * version converter leaves it to numpy's rules): out[i, k] = a[i, k] + b[i]. */
Test(onnx_legacy, broadcast_axis_size1_dim_stretches) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t da[2] = {2, 3}, db[2] = {2, 1};
    float b[2] = {10, 20};
    add_input(g, "x", 2, da);
    add_init(g, "b", 1, 2, db, b, sizeof b);
    Onnx__NodeProto *n = add_node(g, "Add", "x,b", "y");
    pb_attr_int(n, "broadcast", 1);
    pb_attr_int(n, "axis", 0);
    add_output(g, "y", 1);
    IrGraph *ir = load_ok(g, 6);
    float x[6] = {1, 2, 3, 4, 5, 6}, want[6] = {11, 12, 13, 24, 25, 26};
    run1_expect_f32(ir, 2, da, x, 2, da, want, 6);
}

/* PRelu-6's slope [C] is per channel (axis 1): x [1, 3, 2], slope (0.5, 0.25, 2):
 * y = x where x >= 0, slope[c] * x where x < 0. Numpy rules would pair the slope with the
 * last axis (of 2) and refuse. */
Test(onnx_legacy, prelu_slope_per_channel) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t dx[3] = {1, 3, 2}, ds[1] = {3};
    float slope[3] = {0.5f, 0.25f, 2.0f};
    add_input(g, "x", 3, dx);
    add_init(g, "slope", 1, 1, ds, slope, sizeof slope);
    add_node(g, "PRelu", "x,slope", "y");
    add_output(g, "y", 1);
    IrGraph *ir = load_ok(g, 6);
    float x[6] = {-2, 4, -4, -8, 1, -1}, want[6] = {-1, 4, -1, -2, 1, -2};
    run1_expect_f32(ir, 3, dx, x, 3, dx, want, 6);
}

/* Gemm-6 broadcast=1: C [3] to [2, 3]; Y = A B + C. */
Test(onnx_legacy, gemm_broadcast_dropped) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t da[2] = {2, 2}, db[2] = {2, 3}, dc[1] = {3}, dy[2] = {2, 3};
    float b[6] = {1, 0, 1, 0, 1, 1}, c[3] = {10, 20, 30};
    add_input(g, "a", 2, da);
    add_init(g, "b", 1, 2, db, b, sizeof b);
    add_init(g, "c", 1, 1, dc, c, sizeof c);
    Onnx__NodeProto *n = add_node(g, "Gemm", "a,b,c", "y");
    pb_attr_int(n, "broadcast", 1);
    add_output(g, "y", 1);
    IrGraph *ir = load_ok(g, 6);
    cr_expect_null(node_attr(&ir->nodes[0], "broadcast"));
    /* rows of A: [1,2] -> [1, 2, 3] + c; [3,4] -> [3, 4, 7] + c */
    float a[4] = {1, 2, 3, 4}, want[6] = {11, 22, 33, 13, 24, 37};
    run1_expect_f32(ir, 2, da, a, 2, dy, want, 6);
}

/* ---------- BatchNormalization 1/6 ---------- */

Test(onnx_legacy, batchnorm_spatial0_is_test) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t dx[3] = {2, 1, 2}, dp[2] = {1, 2};
    float sc[2] = {1, 2}, bb[2] = {0, 1}, m[2] = {2, 4}, v[2] = {4, 1};
    add_input(g, "x", 3, dx);
    add_init(g, "s", 1, 2, dp, sc, sizeof sc);
    add_init(g, "b", 1, 2, dp, bb, sizeof bb);
    add_init(g, "m", 1, 2, dp, m, sizeof m);
    add_init(g, "v", 1, 2, dp, v, sizeof v);
    Onnx__NodeProto *n = add_node(g, "BatchNormalization", "x,s,b,m,v", "y");
    pb_attr_ints(n, "consumed_inputs", 2, (int64_t[]){0, 0});
    pb_attr_int(n, "is_test", 1);
    pb_attr_int(n, "spatial", 0);
    pb_attr_float(n, "epsilon", 0);
    add_output(g, "y", 1);
    IrGraph *ir = load_ok(g, 1);
    cr_expect_null(node_attr(&ir->nodes[0], "is_test"));
    cr_expect_not_null(node_attr(&ir->nodes[0], "spatial"));
    /* per activation: j0 (x - 2) / 2 * 1 + 0, j1 (x - 4) / 1 * 2 + 1 */
    float x[4] = {1, 2, 3, 6}, want[4] = {-0.5f, -3, 0.5f, 5};
    run1_expect_f32(ir, 3, dx, x, 3, dx, want, 4);
}

/* is_test = 1 with the five outputs listed (an exporter's habit): test mode, the running
 * statistics are not computed (training mode would normalize with the batch's own, giving
 * 0 here); a statistics output that is read is refused. */
static Onnx__GraphProto *batchnorm_five_outputs(int read_mean) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t dx[2] = {2, 1}, dc[1] = {1};
    float sc[1] = {1}, bb[1] = {0}, m[1] = {1}, v[1] = {4};
    add_input(g, "x", 2, dx);
    add_init(g, "s", 1, 1, dc, sc, sizeof sc);
    add_init(g, "b", 1, 1, dc, bb, sizeof bb);
    add_init(g, "m", 1, 1, dc, m, sizeof m);
    add_init(g, "v", 1, 1, dc, v, sizeof v);
    Onnx__NodeProto *n = add_node(g, "BatchNormalization", "x,s,b,m,v", "y,rm,rv,sm,sv");
    pb_attr_int(n, "is_test", 1);
    pb_attr_float(n, "epsilon", 0);
    add_output(g, "y", 1);
    if (read_mean) add_output(g, "rm", 1);
    return g;
}

Test(onnx_legacy, batchnorm_is_test_detaches_statistics) {
    IrGraph *ir = load_ok(batchnorm_five_outputs(0), 6);
    const RtNode *bn = &ir->nodes[0];
    for (int i = 1; i < bn->n_out; i++) cr_expect_eq(bn->out[i], -1, "output %d detached", i);
    int64_t dx[2] = {2, 1};
    float x[2] = {3, 5}, want[2] = {1, 2}; /* (x - 1) / 2 */
    run1_expect_f32(ir, 2, dx, x, 2, dx, want, 2);
    expect_refused(batchnorm_five_outputs(1), 6, "node 'n0' (BatchNormalization): output 1 ('rm') is read");
}

/* ---------- changed forms ---------- */

Test(onnx_legacy, reshape_shape_attribute) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t dx[2] = {2, 3}, dy[2] = {3, 2};
    add_input(g, "x", 2, dx);
    Onnx__NodeProto *n = add_node(g, "Reshape", "x", "y");
    pb_attr_ints(n, "shape", 2, (int64_t[]){3, -1});
    add_output(g, "y", 1);
    IrGraph *ir = load_ok(g, 4);
    const RtNode *r = &ir->nodes[0];
    cr_assert_eq(r->n_in, 2);
    const RtTensor *shape = ir->values[r->in[1]].konst;
    cr_assert_not_null(shape);
    cr_expect_eq(shape->dtype, RT_I64);
    cr_expect_eq(((int64_t *)shape->data)[0], 3);
    cr_expect_eq(((int64_t *)shape->data)[1], -1);
    cr_expect_null(node_attr(r, "shape"));
    float x[6] = {1, 2, 3, 4, 5, 6};
    run1_expect_f32(ir, 2, dx, x, 2, dy, x, 6);
}

Test(onnx_legacy, reshape_shape_input_refused_before_5) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t dx[2] = {2, 3}, ds[1] = {2}, s[2] = {3, 2};
    add_input(g, "x", 2, dx);
    add_init(g, "s", 7, 1, ds, s, sizeof s);
    Onnx__NodeProto *n = add_node(g, "Reshape", "x,s", "y");
    pb_attr_ints(n, "shape", 2, s);
    add_output(g, "y", 1);
    expect_refused(g, 4, "node 'n0' (Reshape): Reshape before opset 5 takes one input");
    /* and from opset 5 the attribute is gone */
    expect_refused(g, 5, "node 'n0' (Reshape): from opset 5 Reshape takes the shape as input 2");
}

Test(onnx_legacy, cast_to_string) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t d[1] = {3};
    add_input(g, "x", 1, d);
    Onnx__NodeProto *n = add_node(g, "Cast", "x", "y");
    pb_attr_str(n, "to", "INT32");
    add_output(g, "y", 6);
    IrGraph *ir = load_ok(g, 5);
    const RtAttr *to = node_attr(&ir->nodes[0], "to");
    cr_assert_not_null(to);
    cr_expect_eq(to->type, RT_ATTR_INT);
    cr_expect_eq(to->i, 6, "INT32 is TensorProto code 6");
    float x[3] = {1.75f, -2.5f, 7};
    RtTensor in = rtt_tensor(RT_F32, 1, d, x), out;
    run(ir, 1, &in, &out);
    cr_assert_eq(out.dtype, RT_I32);
    int32_t want[3] = {1, -2, 7}; /* float -> int truncates toward zero */
    for (int i = 0; i < 3; i++) cr_expect_eq(((int32_t *)out.data)[i], want[i]);
    free(out.data);
    ir_graph_free(ir);
}

Test(onnx_legacy, cast_unknown_type_name_refused) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t d[1] = {3};
    add_input(g, "x", 1, d);
    Onnx__NodeProto *n = add_node(g, "Cast", "x", "y");
    pb_attr_str(n, "to", "REAL");
    add_output(g, "y", 6);
    expect_refused(g, 1, "node 'n0' (Cast): attribute 'to' is 'REAL'");
    /* from opset 6 the code is an integer: a name is refused */
    g = pb_graph("g");
    add_input(g, "x", 1, d);
    n = add_node(g, "Cast", "x", "y");
    pb_attr_str(n, "to", "INT32");
    add_output(g, "y", 6);
    expect_refused(g, 6, "node 'n0' (Cast): Cast from opset 6 takes 'to' as an integer");
}

/* Concat-1..3 without axis concatenates on axis 1. */
Test(onnx_legacy, concat_default_axis_1) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t d[2] = {2, 2}, dy[2] = {2, 4};
    add_input(g, "a", 2, d);
    add_input(g, "b", 2, d);
    add_node(g, "Concat", "a,b", "y");
    add_output(g, "y", 1);
    IrGraph *ir = load_ok(g, 3);
    const RtAttr *ax = node_attr(&ir->nodes[0], "axis");
    cr_assert_not_null(ax);
    cr_expect_eq(ax->i, 1);
    float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8}, want[8] = {1, 2, 5, 6, 3, 4, 7, 8};
    RtTensor in[2] = {rtt_tensor(RT_F32, 2, d, a), rtt_tensor(RT_F32, 2, d, b)}, out;
    run(ir, 2, in, &out);
    expect_f32(&out, 2, dy, want, 8);
    free(out.data);
    ir_graph_free(ir);
}

/* Split-1 with the lengths as its second input: [1, 3] of x [4] on axis 0. */
Test(onnx_legacy, split_lengths_input) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t d[1] = {4}, ds[1] = {2}, s[2] = {1, 3}, d0[1] = {1}, d1[1] = {3};
    add_input(g, "x", 1, d);
    add_init(g, "s", 7, 1, ds, s, sizeof s);
    Onnx__NodeProto *n = add_node(g, "Split", "x,s", "y0,y1");
    pb_attr_int(n, "axis", 0);
    add_output(g, "y0", 1);
    add_output(g, "y1", 1);
    IrGraph *ir = load_ok(g, 1);
    cr_expect_eq(ir->nodes[0].n_in, 1);
    float x[4] = {1, 2, 3, 4}, w1[3] = {2, 3, 4};
    RtTensor in = rtt_tensor(RT_F32, 1, d, x), out[2];
    run(ir, 1, &in, out);
    expect_f32(&out[0], 1, d0, x, 1);
    expect_f32(&out[1], 1, d1, w1, 3);
    free(out[0].data);
    free(out[1].data);
    ir_graph_free(ir);
}

/* Pad-1's own example: paddings [0, 2, 0, 0] put two zeros before each row of a [3, 2]. */
Test(onnx_legacy, pad_paddings) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t d[2] = {3, 2}, dy[2] = {3, 4};
    add_input(g, "x", 2, d);
    Onnx__NodeProto *n = add_node(g, "Pad", "x", "y");
    pb_attr_ints(n, "paddings", 4, (int64_t[]){0, 2, 0, 0});
    pb_attr_str(n, "mode", "constant");
    add_output(g, "y", 1);
    IrGraph *ir = load_ok(g, 1);
    cr_expect_not_null(node_attr(&ir->nodes[0], "pads"));
    float x[6] = {1.0f, 1.25f, 2.5f, 3.5f, 4.5f, 5.75f};
    float want[12] = {0, 0, 1.0f, 1.25f, 0, 0, 2.5f, 3.5f, 0, 0, 4.5f, 5.75f};
    run1_expect_f32(ir, 2, d, x, 2, dy, want, 12);
}

/* Tile-1: tiles = 2 copies along axis = 1 of a [2, 2]. */
Test(onnx_legacy, tile_tiles_axis_inputs) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t d[2] = {2, 2}, dy[2] = {2, 4}, tiles = 2, axis = 1;
    add_input(g, "x", 2, d);
    add_init(g, "t", 7, 0, NULL, &tiles, sizeof tiles);
    add_init(g, "ax", 7, 0, NULL, &axis, sizeof axis);
    add_node(g, "Tile", "x,t,ax", "y");
    add_output(g, "y", 1);
    IrGraph *ir = load_ok(g, 5);
    cr_expect_eq(ir->nodes[0].n_in, 2);
    float x[4] = {1, 2, 3, 4}, want[8] = {1, 2, 1, 2, 3, 4, 3, 4};
    run1_expect_f32(ir, 2, d, x, 2, dy, want, 8);
}

/* Tile-1 on a computed value whose rank only shape inference knows: tiles = 2 on axis 0. */
Test(onnx_legacy, tile_rank_from_inference) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t d[2] = {1, 2}, dy[2] = {2, 2}, tiles = 2, axis = 0;
    add_input(g, "x", 2, d);
    add_init(g, "t", 7, 0, NULL, &tiles, sizeof tiles);
    add_init(g, "ax", 7, 0, NULL, &axis, sizeof axis);
    add_node(g, "Neg", "x", "nx");
    add_node(g, "Tile", "nx,t,ax", "y");
    add_output(g, "y", 1);
    IrGraph *ir = load_ok(g, 5);
    const RtTensor *rep = ir->values[ir->nodes[1].in[1]].konst;
    cr_assert(rep && rep->rank == 1 && rep->dims[0] == 2);
    cr_expect_eq(((int64_t *)rep->data)[0], 2);
    cr_expect_eq(((int64_t *)rep->data)[1], 1);
    float x[2] = {1, -2}, want[4] = {-1, 2, -1, 2};
    run1_expect_f32(ir, 2, d, x, 2, dy, want, 4);
}

/* Upsample-1's own example: nearest, width_scale = height_scale = 2. */
Test(onnx_legacy, upsample_height_width_scale) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t d[4] = {1, 1, 2, 2}, dy[4] = {1, 1, 4, 4};
    add_input(g, "x", 4, d);
    Onnx__NodeProto *n = add_node(g, "Upsample", "x", "y");
    pb_attr_float(n, "height_scale", 2);
    pb_attr_float(n, "width_scale", 2);
    pb_attr_str(n, "mode", "nearest");
    add_output(g, "y", 1);
    IrGraph *ir = load_ok(g, 6);
    float x[4] = {1, 2, 3, 4}, want[16] = {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4};
    run1_expect_f32(ir, 4, d, x, 4, dy, want, 16);
}

/* Dropout-6 with is_test: a copy; Clip-6 bounds from attributes. */
Test(onnx_legacy, dropout_is_test_and_clip_attributes) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t d[1] = {4};
    add_input(g, "x", 1, d);
    Onnx__NodeProto *n = add_node(g, "Dropout", "x", "t");
    pb_attr_int(n, "is_test", 1);
    pb_attr_float(n, "ratio", 0.5f);
    n = add_node(g, "Clip", "t", "y");
    pb_attr_float(n, "min", -1);
    pb_attr_float(n, "max", 2);
    add_output(g, "y", 1);
    IrGraph *ir = load_ok(g, 6);
    cr_expect_null(node_attr(&ir->nodes[0], "is_test"));
    float x[4] = {-3, -0.5f, 1.5f, 9}, want[4] = {-1, -0.5f, 1.5f, 2};
    run1_expect_f32(ir, 1, d, x, 1, d, want, 4);
}

/* RNN-1's output_sequence only let Y be left out: h = tanh(W x + R h0) with h0 = 0. */
Test(onnx_legacy, rnn_output_sequence_dropped) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t dx[3] = {1, 1, 1}, dw[3] = {1, 1, 1};
    float w[1] = {1}, r[1] = {3};
    add_input(g, "x", 3, dx);
    add_init(g, "w", 1, 3, dw, w, sizeof w);
    add_init(g, "r", 1, 3, dw, r, sizeof r);
    Onnx__NodeProto *n = add_node(g, "RNN", "x,w,r", ",h");
    pb_attr_int(n, "hidden_size", 1);
    pb_attr_int(n, "output_sequence", 0);
    add_output(g, "h", 1);
    IrGraph *ir = load_ok(g, 1);
    cr_expect_null(node_attr(&ir->nodes[0], "output_sequence"));
    float x[1] = {0.5f};
    RtTensor in = rtt_tensor(RT_F32, 3, dx, x), out;
    run(ir, 1, &in, &out);
    /* float32 tanh of 0.5: within an ulp or two of the double value */
    cr_expect(fabs(((float *)out.data)[0] - tanh(0.5)) < 1e-6, "%g", ((float *)out.data)[0]);
    free(out.data);
    ir_graph_free(ir);
}

/* If-1's branches are upgraded too: then Add-1 (suffix broadcast), else Sub-1 along axis 0
 * of the captured x [2, 2]: x + b[k] or x - b[i]. */
Test(onnx_legacy, if_branches_upgraded) {
    Onnx__GraphProto *g = pb_graph("g"), *gt = pb_graph("g"), *ge = pb_graph("g");
    int64_t d[2] = {2, 2}, db[1] = {2};
    float b[2] = {10, 20};
    pb_add_input(g, pb_value("c", 9, ""));
    add_input(g, "x", 2, d);
    add_init(g, "b", 1, 1, db, b, sizeof b);
    Onnx__NodeProto *n = add_node(gt, "Add", "x,b", "yt");
    pb_attr_int(n, "broadcast", 1);
    pb_attr_ints(n, "consumed_inputs", 2, (int64_t[]){0, 0});
    add_output(gt, "yt", 1);
    n = add_node(ge, "Sub", "x,b", "ye");
    pb_attr_int(n, "broadcast", 1);
    pb_attr_int(n, "axis", 0);
    add_output(ge, "ye", 1);
    n = add_node(g, "If", "c", "y");
    pb_attr(n, "then_branch", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH)->g = gt;
    pb_attr(n, "else_branch", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH)->g = ge;
    add_output(g, "y", 1);
    IrGraph *ir = load_ok(g, 6);
    const RtNode *iff = &ir->nodes[ir->n_nodes - 1];
    for (int i = 0; i < iff->n_attr; i++) {
        const IrGraph *sg = iff->attrs[i].g;
        cr_assert_not_null(sg);
        cr_expect_eq(sg->opset, 7);
        for (int k = 0; k < sg->n_nodes; k++) {
            cr_expect_eq(sg->nodes[k].opset, 7);
            cr_expect_null(node_attr(&sg->nodes[k], "broadcast"));
            cr_expect_null(node_attr(&sg->nodes[k], "consumed_inputs"));
        }
    }
    float x[4] = {1, 2, 3, 4}, want[2][4] = {{-9, -8, -17, -16}, {11, 22, 13, 24}};
    for (int cond = 0; cond < 2; cond++) {
        uint8_t c = (uint8_t)cond;
        RtTensor in[2], out;
        memset(&in[0], 0, sizeof in[0]);
        in[0].dtype = RT_BOOL;
        in[0].data = &c;
        in[1] = rtt_tensor(RT_F32, 2, d, x);
        run(ir, 2, in, &out);
        expect_f32(&out, 2, d, want[cond], 4);
        free(out.data);
    }
    ir_graph_free(ir);
}

/* ---------- refusals ---------- */

Test(onnx_legacy, op_newer_than_the_opset_refused) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t d[1] = {2}, ds[1] = {1}, s[1] = {2};
    add_input(g, "x", 1, d);
    add_init(g, "s", 7, 1, ds, s, sizeof s);
    add_node(g, "Expand", "x,s", "y"); /* Expand arrived in opset 8 */
    add_output(g, "y", 1);
    expect_refused(g, 6, "node 'n0' (Expand): op Expand is not in default-domain opset 6");
}

/* Crop (experimental in opset 1) is not a wafer op: refused by name, or kept unconverted
 * for inspection when unknown ops are allowed. */
Test(onnx_legacy, unknown_experimental_op) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t d[4] = {1, 1, 1, 2};
    add_input(g, "x", 4, d);
    Onnx__NodeProto *n = add_node(g, "Crop", "x", "y");
    pb_attr_ints(n, "border", 4, (int64_t[]){0, 0, 0, 0});
    add_output(g, "y", 1);
    expect_refused(g, 6, "node 'n0': op 'Crop' (domain '', opset 6) is not supported");
    allow_unknown = 1;
    IrGraph *ir = load(g, 6);
    allow_unknown = 0;
    cr_assert_not_null(ir, "%s", err.msg);
    cr_expect_eq(ir->nodes[0].op, RT_OP_UNKNOWN);
    cr_expect_eq(ir->opset, 7);
    ir_graph_free(ir);
}

/* ImageScaler-1 (experimental, opsets 1-9): y = scale * x + bias[c] on [N, C, H, W]; by hand
 * with scale 2, bias [1, -1]: channel 0 [1, 2] -> [3, 5], channel 1 [3, 4] -> [5, 7]. */
static void image_scaler_case(int64_t opset, int with_bias) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t d[4] = {1, 2, 1, 2};
    add_input(g, "x", 4, d);
    Onnx__NodeProto *n = add_node(g, "ImageScaler", "x", "y");
    pb_attr_float(n, "scale", 2);
    if (with_bias) pb_attr_floats(n, "bias", 2, (float[]){1, -1});
    add_output(g, "y", 1);
    IrGraph *ir = load(g, opset);
    cr_assert_not_null(ir, "%s", err.msg);
    RtError e = {{0}};
    cr_assert_eq(ir_verify(ir, &e), RT_OK, "%s", e.msg);
    cr_assert_eq(ir->n_nodes, with_bias ? 2 : 1);
    cr_expect_eq(ir->nodes[0].op, RT_OP_MUL);
    if (with_bias) cr_expect_eq(ir->nodes[1].op, RT_OP_ADD);
    for (int k = 0; k < ir->n_nodes; k++) cr_expect_eq(ir->nodes[k].opset, opset < 7 ? 7 : opset);
    float x[4] = {1, 2, 3, 4}, wb[4] = {3, 5, 5, 7}, wn[4] = {2, 4, 6, 8};
    run1_expect_f32(ir, 4, d, x, 4, d, with_bias ? wb : wn, 4);
}

Test(onnx_legacy, image_scaler_opset1) { image_scaler_case(1, 1); }
Test(onnx_legacy, image_scaler_opset8_no_bias) { image_scaler_case(8, 0); }
Test(onnx_legacy, image_scaler_opset8) { image_scaler_case(8, 1); }

Test(onnx_legacy, image_scaler_after_opset9_refused) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t d[4] = {1, 1, 1, 2};
    add_input(g, "x", 4, d);
    add_node(g, "ImageScaler", "x", "y");
    add_output(g, "y", 1);
    expect_refused(g, 10, "node 'n0' (ImageScaler): ImageScaler was removed in opset 10");
}

Test(onnx_legacy, legacy_attribute_in_newer_model_refused) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t d[1] = {2};
    add_input(g, "x", 1, d);
    Onnx__NodeProto *n = add_node(g, "Relu", "x", "y");
    pb_attr_ints(n, "consumed_inputs", 1, (int64_t[]){0});
    add_output(g, "y", 1);
    expect_refused(g, 13, "node 'n0' (Relu): attribute 'consumed_inputs' exists only up to opset 6");
}

Test(onnx_legacy, paddings_after_pad_1_refused) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t d[1] = {2};
    add_input(g, "x", 1, d);
    Onnx__NodeProto *n = add_node(g, "Pad", "x", "y");
    pb_attr_ints(n, "paddings", 2, (int64_t[]){1, 1});
    add_output(g, "y", 1);
    expect_refused(g, 2, "node 'n0' (Pad): attribute 'paddings' is Pad-1's");
}

/* ---------- a caffe2-era model through the pipeline ---------- */

/* Results after folding BatchNormalization into the Conv weights differ from the unfused
 * run by float32 rounding of a few operations on values below 10: 1e-5 absolute is ~100 ulps. */
#define PIPELINE_TOL 1e-5

/* Opset 4, as the ONNX model zoo's oldest CNNs: Conv -> BatchNormalization-1 (is_test,
 * consumed_inputs) -> Add-1 (bias [C], broadcast along axis 1) -> Relu -> GlobalAveragePool ->
 * Reshape-1 (shape attribute) -> Gemm-1 (broadcast C) -> Softmax-1. */
static Onnx__GraphProto *caffe2_style_model(void) {
    Onnx__GraphProto *g = pb_graph("g");
    int64_t dx[4] = {1, 2, 2, 2}, dw[4] = {2, 2, 1, 1}, dc[1] = {2}, dg[2] = {2, 2};
    float w[4] = {1, 1, 1, -1}, sc[2] = {2, 1}, bb[2] = {0, 0}, m[2] = {1, 2}, v[2] = {4, 1}, bias[2] = {1, -0.5f};
    float wg[4] = {1, 2, 4, 0}, cg[2] = {0.5f, -1};
    add_input(g, "x", 4, dx);
    add_init(g, "w", 1, 4, dw, w, sizeof w);
    add_init(g, "s", 1, 1, dc, sc, sizeof sc);
    add_init(g, "bnb", 1, 1, dc, bb, sizeof bb);
    add_init(g, "m", 1, 1, dc, m, sizeof m);
    add_init(g, "v", 1, 1, dc, v, sizeof v);
    add_init(g, "bias", 1, 1, dc, bias, sizeof bias);
    add_init(g, "wg", 1, 2, dg, wg, sizeof wg);
    add_init(g, "cg", 1, 1, dc, cg, sizeof cg);
    Onnx__NodeProto *n = add_node(g, "Conv", "x,w", "c");
    pb_attr_ints(n, "kernel_shape", 2, (int64_t[]){1, 1});
    n = add_node(g, "BatchNormalization", "c,s,bnb,m,v", "bn");
    pb_attr_ints(n, "consumed_inputs", 5, (int64_t[]){0, 0, 0, 1, 1});
    pb_attr_int(n, "is_test", 1);
    pb_attr_float(n, "epsilon", 0);
    n = add_node(g, "Add", "bn,bias", "ab");
    pb_attr_int(n, "broadcast", 1);
    pb_attr_int(n, "axis", 1);
    pb_attr_ints(n, "consumed_inputs", 2, (int64_t[]){0, 0});
    add_node(g, "Relu", "ab", "r");
    add_node(g, "GlobalAveragePool", "r", "p");
    n = add_node(g, "Reshape", "p", "f");
    pb_attr_ints(n, "shape", 2, (int64_t[]){1, -1});
    n = add_node(g, "Gemm", "f,wg,cg", "z");
    pb_attr_int(n, "broadcast", 1);
    add_node(g, "Softmax", "z", "prob");
    add_output(g, "z", 1);
    add_output(g, "prob", 1);
    return g;
}

/* By hand: conv channels x0 + x1 = [1,3,3,5], x0 - x1 = [1,1,3,3]; BN (eps 0) with
 * scale/sqrt(var) = [1, 1], shift -mean: [0,2,2,4], [-1,-1,1,1]; + bias [1, -0.5] and Relu:
 * [1,3,3,5], [0,0,.5,.5]; pool [3, 0.25]; Gemm [3*1 + .25*4, 3*2] + [.5, -1] = [4.5, 5];
 * softmax [1 / (1 + e^.5), e^.5 / (1 + e^.5)]. */
static void caffe2_style_check(const IrGraph *ir, double tol) {
    float x[8] = {1, 2, 3, 4, 0, 1, 0, 1};
    int64_t dx[4] = {1, 2, 2, 2}, dz[2] = {1, 2};
    RtTensor in = rtt_tensor(RT_F32, 4, dx, x), out[2];
    run(ir, 1, &in, out);
    double p0 = 1 / (1 + exp(0.5)), want[2][2] = {{4.5, 5}, {p0, 1 - p0}};
    for (int o = 0; o < 2; o++) {
        cr_assert_eq(out[o].rank, 2);
        cr_expect_eq(out[o].dims[1], dz[1]);
        for (int i = 0; i < 2; i++)
            cr_expect(fabs(((float *)out[o].data)[i] - want[o][i]) <= tol, "output %d [%d]: %g, want %g", o, i,
                      ((float *)out[o].data)[i], want[o][i]);
        free(out[o].data);
    }
}

/* float32 softmax of exact logits: within a few ulps of the double formula */
#define SOFTMAX_TOL 1e-6

Test(onnx_legacy, caffe2_style_model_runs_fuses_and_writes_as_opset7) {
    IrGraph *ir = load_ok(caffe2_style_model(), 4);
    cr_expect_eq(ir->opset, 7);
    cr_expect_eq(ir->source_opset, 4, "the file's own opset is kept for wafer inspect");
    caffe2_style_check(ir, SOFTMAX_TOL);
    /* the passes see opset-7 forms: BatchNormalization folds into the Conv */
    RtError e = {{0}};
    cr_assert_eq(pass_simplify(ir, &e), RT_OK, "%s", e.msg);
    cr_assert_eq(pass_fuse(ir, &e), RT_OK, "%s", e.msg);
    for (int k = 0; k < ir->n_nodes; k++) cr_expect_neq(ir->nodes[k].op, RT_OP_BATCH_NORMALIZATION);
    caffe2_style_check(ir, PIPELINE_TOL);
    ir_graph_free(ir);
    /* written back, the model is a valid opset-7 model with the same results */
    ir = load_ok(caffe2_style_model(), 4);
    uint8_t *data = NULL;
    size_t len = 0;
    cr_assert_eq(onnx_write_memory(ir, NULL, &data, &len, &e), RT_OK, "%s", e.msg);
    ir_graph_free(ir);
    memset(&err, 0, sizeof err);
    ir = onnx_load_memory(data, len, NULL, "written.onnx", NULL, &err);
    free(data);
    cr_assert_not_null(ir, "%s", err.msg);
    cr_expect_eq(ir->opset, 7);
    cr_expect_eq(ir->source_opset, 7);
    caffe2_style_check(ir, SOFTMAX_TOL);
    ir_graph_free(ir);
}
