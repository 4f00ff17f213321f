/*
 * test_ir_shape_loop.c — shape inference through Loop and Scan bodies (ir/ir_shape.c), and
 * the body's declared-input count kept by the .wafer writer and reader.
 *
 * Expected types follow from the ONNX definitions by hand: a Scan slice is the scan input
 * without its scan axis, a Scan output inserts the scan length at scan_output_axes, a Loop
 * body's iteration_num is int64 [] and its cond bool [].
 */
#include <criterion/criterion.h>
#include <unistd.h>

#include "../../format/wafer_file.h"
#include "../../frontend/onnx.h"
#include "../../runtime/kernels/kernel.h"
#include "../test_util.h"

#define LOOP11 "/usr/share/libonnx-testdata/data/node/test_loop11/model.onnx"

static void type_set(IrValue *v, RtDtype dt, int rank, const int64_t *dims) {
    v->dtype = dt;
    v->rank = rank;
    for (int d = 0; d < rank; d++) v->dims[d] = (IrDim){dims[d], NULL};
}

/* Scan(initial f32[2], x f32[3,2]) with scan_output_axes [out_axis]; the body (sum_in, next)
 * -> (sum_in + next, Identity) declares sum_in's type (a state may change shape between
 * iterations, so inference takes only its dtype and rank from the initial value; exporters
 * declare state types) and nothing else. */
static IrGraph *scan_model(int64_t out_axis) {
    IrGraph *g = ir_graph_new(), *b = ir_graph_new();
    cr_assert(g && b);
    b->parent = g;
    b->name = ir_strdup(b, "body");
    int si = ir_value_add(b, "sum_in"), nx = ir_value_add(b, "next"), so = ir_value_add(b, "sum_out"),
        sc = ir_value_add(b, "scan_out");
    type_set(&b->values[si], RT_F32, 1, (int64_t[]){2});
    int add_in[] = {si, nx}, add_out[] = {so}, id_in[] = {so}, id_out[] = {sc};
    cr_assert_geq(ir_node_add(b, RT_OP_ADD, "add", 2, add_in, 1, add_out), 0);
    cr_assert_geq(ir_node_add(b, RT_OP_IDENTITY, "id", 1, id_in, 1, id_out), 0);
    b->inputs = malloc(2 * sizeof(int));
    b->outputs = malloc(2 * sizeof(int));
    b->inputs[0] = si, b->inputs[1] = nx, b->n_inputs = 2, b->n_declared = 2;
    b->outputs[0] = so, b->outputs[1] = sc, b->n_outputs = 2;

    g->name = ir_strdup(g, "scan");
    g->opset = 16;
    int init = ir_value_add(g, "initial"), x = ir_value_add(g, "x"), y = ir_value_add(g, "y"), z = ir_value_add(g, "z");
    type_set(&g->values[init], RT_F32, 1, (int64_t[]){2});
    type_set(&g->values[x], RT_F32, 2, (int64_t[]){3, 2});
    int in[] = {init, x}, out[] = {y, z};
    int k = ir_node_add(g, RT_OP_SCAN, "scan", 2, in, 2, out);
    cr_assert_geq(k, 0);
    RtAttr *at = ir_alloc(g, 3 * sizeof(RtAttr));
    int64_t *axes = ir_alloc(g, sizeof(int64_t));
    *axes = out_axis;
    at[0] = (RtAttr){.name = "body", .type = RT_ATTR_GRAPH, .g = b};
    at[1] = (RtAttr){.name = "num_scan_inputs", .type = RT_ATTR_INT, .i = 1};
    at[2] = (RtAttr){.name = "scan_output_axes", .type = RT_ATTR_INTS, .n = 1, .ints = axes};
    g->nodes[k].attrs = at;
    g->nodes[k].n_attr = 3;
    g->nodes[k].opset = 16;
    g->inputs = malloc(2 * sizeof(int));
    g->outputs = malloc(2 * sizeof(int));
    g->inputs[0] = init, g->inputs[1] = x, g->n_inputs = 2;
    g->outputs[0] = y, g->outputs[1] = z, g->n_outputs = 2;
    return g;
}

static void expect_type(const IrValue *v, RtDtype dt, int rank, const int64_t *dims) {
    cr_expect_eq(v->dtype, dt, "%s: dtype %d", v->name, v->dtype);
    cr_assert_eq(v->rank, rank, "%s: rank %d", v->name, v->rank);
    for (int d = 0; d < rank; d++) cr_expect_eq(v->dims[d].value, dims[d], "%s dim %d", v->name, d);
}

Test(ir_shape_loop, scan_body_and_outputs_are_inferred) {
    IrGraph *g = scan_model(1);
    RtError err = {{0}};
    cr_assert_eq(ir_infer_shapes(g, &err), RT_OK, "%s", err.msg);
    IrGraph *b = (IrGraph *)g->nodes[0].attrs[0].g;
    expect_type(&b->values[ir_value_find(b, "next")], RT_F32, 1, (int64_t[]){2}); /* x without axis 0 */
    expect_type(&b->values[ir_value_find(b, "scan_out")], RT_F32, 1, (int64_t[]){2});
    /* z: the scan length 3 inserted at axis 1 of the per-iteration [2] */
    expect_type(&g->values[ir_value_find(g, "z")], RT_F32, 2, (int64_t[]){2, 3});
    /* y: a state, rank known, dims left to the run (a state may change shape) */
    cr_expect_eq(g->values[ir_value_find(g, "y")].rank, 1);
    ir_graph_free(g);
}

Test(ir_shape_loop, scan_output_axis_0) {
    IrGraph *g = scan_model(0);
    RtError err = {{0}};
    cr_assert_eq(ir_infer_shapes(g, &err), RT_OK, "%s", err.msg);
    expect_type(&g->values[ir_value_find(g, "z")], RT_F32, 2, (int64_t[]){3, 2});
    ir_graph_free(g);
}

Test(ir_shape_loop, loop_body_values_get_types_and_wafer_keeps_declared_inputs) {
    if (access(LOOP11, R_OK) != 0) cr_skip_test("libonnx-testdata is not installed");
    RtError err = {{0}};
    IrGraph *g = onnx_load_file(LOOP11, NULL, &err);
    cr_assert_not_null(g, "%s", err.msg);
    cr_assert_eq(ir_infer_shapes(g, &err), RT_OK, "%s", err.msg);
    const RtNode *loop = NULL;
    for (int k = 0; k < g->n_nodes; k++)
        if (g->nodes[k].op == RT_OP_LOOP) loop = &g->nodes[k];
    cr_assert_not_null(loop);
    IrGraph *b = (IrGraph *)rt_attr(loop, "body")->g;
    cr_expect_eq(b->n_declared, 3); /* iteration_num, cond, y; the body captures nothing */
    expect_type(&b->values[ir_value_find(b, "end")], RT_I64, 0, NULL);          /* iter + 1 */
    expect_type(&b->values[ir_value_find(b, "slice_start")], RT_I64, 1, (int64_t[]){1});

    char dir[256], path[300];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_loopfmt"), 0);
    snprintf(path, sizeof path, "%s/l.wafer", dir);
    cr_assert_eq(wafer_file_write(g, NULL, path, &err), RT_OK, "%s", err.msg);
    IrGraph *h = wafer_file_read(path, &err);
    cr_assert_not_null(h, "%s", err.msg);
    const RtNode *l2 = NULL;
    for (int k = 0; k < h->n_nodes; k++)
        if (h->nodes[k].op == RT_OP_LOOP) l2 = &h->nodes[k];
    cr_assert_not_null(l2);
    cr_expect_eq(((IrGraph *)rt_attr(l2, "body")->g)->n_declared, 3);
    cr_expect_eq(h->n_declared, 0);
    ir_graph_free(h);
    ir_graph_free(g);
    tu_tmpdir_remove(dir);
}
