/*
 * test_ir_shape.c — ir_infer_shapes through the kernels' shape mode: named dynamic dims
 * survive MatMul, Shape->Gather->Unsqueeze->Concat->Reshape chains and broadcasting; unknown
 * dims, unknown ops and binding-dependent failures leave outputs unknown; contradictions
 * with declared shapes and real kernel errors are reported by name; ir_bind_input.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "../../ir/ir.h"
#include "ir_test_util.h"

static RtError err;

static void expect_dims(const IrGraph *g, int v, RtDtype dt, int rank, const int64_t *vals,
                        const char *const *syms) {
    const IrValue *iv = &g->values[v];
    cr_expect_eq(iv->dtype, dt, "'%s' dtype %d, want %d", iv->name, iv->dtype, dt);
    cr_assert_eq(iv->rank, rank, "'%s' rank %d, want %d", iv->name, iv->rank, rank);
    for (int i = 0; i < rank; i++) {
        cr_expect_eq(iv->dims[i].value, vals[i], "'%s' dim %d = %lld, want %lld", iv->name, i,
                     (long long)iv->dims[i].value, (long long)vals[i]);
        const char *want = syms ? syms[i] : NULL;
        if (want) cr_expect(iv->dims[i].sym && strcmp(iv->dims[i].sym, want) == 0, "'%s' dim %d: want symbol %s",
                            iv->name, i, want);
        else cr_expect_null(iv->dims[i].sym, "'%s' dim %d has symbol %s", iv->name, i, iv->dims[i].sym);
    }
}

static int infer(IrGraph *g) {
    memset(&err, 0, sizeof err);
    return ir_infer_shapes(g, &err);
}

/* x[batch,64] @ w[64,10] -> y[batch,10] */
static IrGraph *matmul_graph(int *y) {
    IrGraph *g = tg_graph(17);
    int64_t xd[2] = {-1, 64}, wd[2] = {64, 10};
    const char *xs[2] = {"batch", NULL};
    int x = tg_input(g, "x", RT_F32, 2, xd, xs);
    static float w[640];
    int in[2] = {x, tg_const_f32(g, "w", 2, wd, w)};
    *y = tg_node(g, RT_OP_MATMUL, "mm", 2, in, "y");
    tg_output(g, *y);
    return g;
}

Test(ir_shape, matmul_keeps_named_batch) {
    int y;
    IrGraph *g = matmul_graph(&y);
    cr_assert_eq(infer(g), RT_OK, "%s", err.msg);
    int64_t want[2] = {-1, 10};
    const char *syms[2] = {"batch", NULL};
    expect_dims(g, y, RT_F32, 2, want, syms);
    ir_graph_free(g);
}

Test(ir_shape, unnamed_dynamic_dims_stay_unknown) {
    IrGraph *g = tg_graph(17);
    int64_t xd[2] = {-1, 4};
    int x = tg_input(g, "x", RT_F32, 2, xd, NULL);
    int y = tg_node(g, RT_OP_RELU, "r", 1, &x, "y");
    tg_output(g, y);
    cr_assert_eq(infer(g), RT_OK, "%s", err.msg);
    int64_t want[2] = {-1, 4};
    expect_dims(g, y, RT_F32, 2, want, NULL);
    ir_graph_free(g);
}

Test(ir_shape, broadcasting_two_symbols) {
    IrGraph *g = tg_graph(17);
    int64_t ad[2] = {-1, 1}, bd[2] = {1, -1};
    const char *as[2] = {"batch", NULL}, *bs[2] = {NULL, "seq"};
    int in[2] = {tg_input(g, "a", RT_F32, 2, ad, as), tg_input(g, "b", RT_F32, 2, bd, bs)};
    int y = tg_node(g, RT_OP_ADD, "add", 2, in, "y");
    tg_output(g, y);
    cr_assert_eq(infer(g), RT_OK, "%s", err.msg);
    int64_t want[2] = {-1, -1};
    const char *syms[2] = {"batch", "seq"};
    expect_dims(g, y, RT_F32, 2, want, syms);
    ir_graph_free(g);
}

Test(ir_shape, shape_chain_into_reshape_keeps_symbol) {
    int y;
    IrGraph *g = tg_reshape_chain(&y);
    cr_assert_eq(infer(g), RT_OK, "%s", err.msg);
    int64_t want[3] = {-1, 8, 8};
    const char *syms[3] = {"batch", NULL, NULL};
    expect_dims(g, y, RT_F32, 3, want, syms);
    int64_t one = 1;
    expect_dims(g, ir_value_find(g, "b"), RT_I64, 0, NULL, NULL);
    expect_dims(g, ir_value_find(g, "bu"), RT_I64, 1, &one, NULL);
    ir_graph_free(g);
}

Test(ir_shape, binding_dependent_failure_leaves_unknown) {
    /* Reshape [batch,6] to the fixed [2,6] only works for batch = 2: not an error, unknown. */
    IrGraph *g = tg_graph(17);
    int64_t xd[2] = {-1, 6}, target[2] = {2, 6};
    const char *xs[2] = {"batch", NULL};
    int in[2] = {tg_input(g, "x", RT_F32, 2, xd, xs), tg_const_i64(g, "t", 2, target)};
    int y = tg_node(g, RT_OP_RESHAPE, "fixed", 2, in, "y");
    int z = tg_node(g, RT_OP_RELU, "after", 1, &y, "z");
    tg_output(g, z);
    cr_assert_eq(infer(g), RT_OK, "%s", err.msg);
    cr_expect_eq(g->values[y].rank, -1);
    cr_expect_eq(g->values[z].rank, -1);
    /* once batch is bound to 2 the same graph infers */
    cr_assert_eq(ir_bind_input(g, 0, 2, target, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(infer(g), RT_OK, "%s", err.msg);
    expect_dims(g, z, RT_F32, 2, target, NULL);
    ir_graph_free(g);
}

Test(ir_shape, real_kernel_error_names_the_node) {
    IrGraph *g = tg_graph(17);
    int64_t ad[2] = {2, 3}, bd[2] = {4, 5};
    int in[2] = {tg_input(g, "a", RT_F32, 2, ad, NULL), tg_input(g, "b", RT_F32, 2, bd, NULL)};
    tg_output(g, tg_node(g, RT_OP_MATMUL, "bad_mm", 2, in, "y"));
    cr_expect_neq(infer(g), RT_OK);
    cr_expect(strstr(err.msg, "bad_mm") != NULL, "%s", err.msg);
    ir_graph_free(g);
}

Test(ir_shape, declared_contradiction_is_an_error) {
    int y;
    IrGraph *g = matmul_graph(&y);
    IrValue *v = &g->values[y];
    v->dtype = RT_F32;
    v->rank = 2;
    v->dims[0].value = -1;
    v->dims[0].sym = "batch";
    v->dims[1].value = 11; /* the model claims 11 columns; MatMul makes 10 */
    cr_expect_neq(infer(g), RT_OK);
    cr_expect(strstr(err.msg, "'y'") && strstr(err.msg, "11") && strstr(err.msg, "mm"), "%s", err.msg);
    ir_graph_free(g);
}

Test(ir_shape, unknown_ops_leave_outputs_unknown_and_keep_declared_dims) {
    IrGraph *g = tg_graph(17);
    int64_t xd[1] = {4};
    int x = tg_input(g, "x", RT_F32, 1, xd, NULL);
    int a = tg_node(g, RT_OP_RELU, "custom", 1, &x, "a");
    g->nodes[0].op = RT_OP_UNKNOWN;
    g->nodes[0].op_type = "Custom";
    int b = tg_node(g, RT_OP_RELU, "r", 1, &a, "b");
    int c = tg_node(g, RT_OP_RELU, "r2", 1, &b, "c");
    g->values[c].dtype = RT_F32; /* declared by the model */
    g->values[c].rank = 1;
    g->values[c].dims[0].value = 4;
    tg_output(g, c);
    cr_assert_eq(infer(g), RT_OK, "%s", err.msg);
    cr_expect_eq(g->values[a].rank, -1);
    cr_expect_eq(g->values[b].rank, -1);
    expect_dims(g, c, RT_F32, 1, xd, NULL);
    ir_graph_free(g);
}

Test(ir_shape, bind_input_makes_dims_concrete) {
    int y;
    IrGraph *g = matmul_graph(&y);
    int64_t d[2] = {3, 64};
    cr_assert_eq(ir_bind_input(g, 0, 2, d, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(infer(g), RT_OK, "%s", err.msg);
    int64_t want[2] = {3, 10};
    expect_dims(g, y, RT_F32, 2, want, NULL);
    ir_graph_free(g);
}

Test(ir_shape, bind_input_substitutes_the_symbol_everywhere) {
    IrGraph *g = tg_graph(17);
    int64_t d[2] = {-1, 4};
    const char *s[2] = {"batch", NULL};
    int a = tg_input(g, "a", RT_F32, 2, d, s);
    int b = tg_input(g, "b", RT_F32, 2, d, s);
    int in[2] = {a, b};
    tg_output(g, tg_node(g, RT_OP_ADD, "add", 2, in, "y"));
    int64_t bound[2] = {5, 4};
    cr_assert_eq(ir_bind_input(g, 0, 2, bound, &err), RT_OK, "%s", err.msg);
    expect_dims(g, b, RT_F32, 2, bound, NULL);
    ir_graph_free(g);
}

Test(ir_shape, bind_input_refuses_mismatches) {
    int y;
    IrGraph *g = matmul_graph(&y);
    int64_t wrong[2] = {3, 65}, rank3[3] = {1, 2, 3};
    memset(&err, 0, sizeof err);
    cr_expect_neq(ir_bind_input(g, 0, 2, wrong, &err), RT_OK);
    cr_expect(strstr(err.msg, "'x'") && strstr(err.msg, "[batch,64]") && strstr(err.msg, "[3,65]"), "%s", err.msg);
    memset(&err, 0, sizeof err);
    cr_expect_neq(ir_bind_input(g, 0, 3, rank3, &err), RT_OK);
    cr_expect(strstr(err.msg, "[1,2,3]") != NULL, "%s", err.msg);
    memset(&err, 0, sizeof err);
    cr_expect_neq(ir_bind_input(g, 1, 2, wrong, &err), RT_OK, "input 1 does not exist");
    /* the failed binds changed nothing */
    cr_expect_eq(g->values[g->inputs[0]].dims[0].value, -1);
    ir_graph_free(g);
}

Test(ir_shape, constant_data_flows_through_computed_nodes) {
    /* Range(0, Gather(Shape(x), 1), 1) needs the computed value 6 to know its length. */
    IrGraph *g = tg_graph(17);
    int64_t xd[2] = {-1, 6};
    const char *xs[2] = {"n", NULL};
    int x = tg_input(g, "x", RT_F32, 2, xd, xs);
    int s = tg_node(g, RT_OP_SHAPE, "shape", 1, &x, "s");
    int64_t zero = 0, one = 1;
    int gi[2] = {s, tg_const_i64(g, "one", -1, &one)};
    int len = tg_node(g, RT_OP_GATHER, "gather", 2, gi, "len");
    int ri[3] = {tg_const_i64(g, "zero", -1, &zero), len, ir_value_find(g, "one")};
    int r = tg_node(g, RT_OP_RANGE, "range", 3, ri, "r");
    tg_output(g, r);
    cr_assert_eq(infer(g), RT_OK, "%s", err.msg);
    expect_dims(g, r, RT_I64, 1, &xd[1], NULL);
    ir_graph_free(g);
}

/* If(cond unknown) { then: Relu(x) ; else: ret } with x[batch,3] captured. */
static IrGraph *if_graph(int else_const, int *y) {
    IrGraph *g = tg_graph(17);
    int64_t d[2] = {-1, 3}, one = 1;
    const char *syms[2] = {"batch", NULL};
    int cond = tg_input(g, "cond", RT_BOOL, 1, &one, NULL);
    int x = tg_input(g, "x", RT_F32, 2, d, syms);
    IrGraph *br[2];
    for (int i = 0; i < 2; i++) {
        br[i] = tg_graph(17);
        br[i]->parent = g;
        int bx = tg_input(br[i], "x", RT_UNDEFINED, -1, NULL, NULL); /* types come from the parent */
        if (i == 1 && else_const) {
            static const float c[6];
            int64_t cd[2] = {2, 3};
            tg_output(br[i], tg_const_f32(br[i], "c", 2, cd, c));
        } else {
            tg_output(br[i], tg_node(br[i], i ? RT_OP_NEG : RT_OP_RELU, "op", 1, &bx, "t"));
        }
    }
    int in[2] = {cond, x};
    *y = ir_value_add(g, "y");
    cr_assert(ir_node_add(g, RT_OP_IF, "if0", 2, in, 1, y) >= 0);
    tg_attr_graph(g, "then_branch", br[0]);
    tg_attr_graph(g, "else_branch", br[1]);
    int z = tg_node(g, RT_OP_RELU, "after", 1, y, "z");
    tg_output(g, z);
    return g;
}

Test(ir_shape, if_with_unknown_condition_takes_what_branches_agree_on) {
    int y;
    IrGraph *g = if_graph(0, &y);
    cr_assert_eq(infer(g), RT_OK, "%s", err.msg);
    int64_t want[2] = {-1, 3};
    const char *syms[2] = {"batch", NULL};
    expect_dims(g, y, RT_F32, 2, want, syms);
    expect_dims(g, ir_value_find(g, "z"), RT_F32, 2, want, syms);
    const IrGraph *then = g->nodes[0].attrs[0].g;
    expect_dims(then, then->outputs[0], RT_F32, 2, want, syms); /* the branch itself was inferred */
    ir_graph_free(g);

    g = if_graph(1, &y); /* else returns a [2,3] constant: batch vs 2 -> unknown */
    cr_assert_eq(infer(g), RT_OK, "%s", err.msg);
    expect_dims(g, y, RT_F32, 2, want, NULL);
    ir_graph_free(g);
}

Test(ir_shape, inferred_symbol_replaces_a_declared_example_number) {
    int y;
    IrGraph *g = matmul_graph(&y);
    IrValue *v = &g->values[y]; /* an exporter traced with batch 1 and wrote it down */
    v->dtype = RT_F32;
    v->rank = 2;
    v->dims[0].value = 1;
    v->dims[1].value = 10;
    cr_assert_eq(infer(g), RT_OK, "%s", err.msg);
    int64_t want[2] = {-1, 10};
    const char *syms[2] = {"batch", NULL};
    expect_dims(g, y, RT_F32, 2, want, syms);
    ir_graph_free(g);
}
