/*
 * ir_test_util.h — building small IR graphs by hand for the ir/ and passes/ suites: a graph
 * at an opset, inputs, outputs, constants, nodes with one output, INT/INTS and GRAPH
 * attributes on the last node added, and one shared sample graph (a Shape -> Reshape chain).
 * Every helper asserts that the IR call it makes succeeded.
 */
#ifndef WAFER_IR_TEST_UTIL_H
#define WAFER_IR_TEST_UTIL_H

#include <criterion/criterion.h>
#include <string.h>

#include "../../ir/ir.h"

/* An empty graph whose default domain is at `opset`. */
static inline IrGraph *tg_graph(int opset) {
    IrGraph *g = ir_graph_new();
    cr_assert_not_null(g);
    g->opset = opset;
    return g;
}

/* A graph input named `name` of dtype dt; dims < 0 are dynamic, named by syms[i] (may be NULL). */
static inline int tg_input(IrGraph *g, const char *name, RtDtype dt, int rank, const int64_t *dims,
                           const char *const *syms) {
    int v = ir_value_add(g, name);
    cr_assert(v >= 0);
    IrValue *iv = &g->values[v];
    iv->dtype = dt;
    iv->rank = rank;
    for (int i = 0; i < rank; i++) {
        iv->dims[i].value = dims[i];
        iv->dims[i].sym = (dims[i] < 0 && syms && syms[i]) ? ir_strdup(g, syms[i]) : NULL;
    }
    int *in = realloc(g->inputs, sizeof(int) * (size_t)(g->n_inputs + 1));
    cr_assert_not_null(in);
    g->inputs = in;
    g->inputs[g->n_inputs++] = v;
    return v;
}

static inline void tg_output(IrGraph *g, int v) {
    int *out = realloc(g->outputs, sizeof(int) * (size_t)(g->n_outputs + 1));
    cr_assert_not_null(out);
    g->outputs = out;
    g->outputs[g->n_outputs++] = v;
}

/* An int64 constant of rank 1 (n values) or rank 0 (n = -1, one value). */
static inline int tg_const_i64(IrGraph *g, const char *name, int n, const int64_t *vals) {
    RtTensor t;
    memset(&t, 0, sizeof t);
    t.dtype = RT_I64;
    t.rank = n < 0 ? 0 : 1;
    t.dims[0] = n;
    t.data = (void *)vals;
    int v = ir_const_add(g, name, &t);
    cr_assert(v >= 0);
    return v;
}

static inline int tg_const_f32(IrGraph *g, const char *name, int rank, const int64_t *dims, const float *vals) {
    RtTensor t;
    memset(&t, 0, sizeof t);
    t.dtype = RT_F32;
    t.rank = rank;
    for (int i = 0; i < rank; i++) t.dims[i] = dims[i];
    t.data = (void *)vals;
    int v = ir_const_add(g, name, &t);
    cr_assert(v >= 0);
    return v;
}

/* Node with one output value named `out` (created here); returns the output value. */
static inline int tg_node(IrGraph *g, int op, const char *name, int n_in, const int *in, const char *out) {
    int v = ir_value_add(g, out);
    cr_assert(v >= 0);
    cr_assert(ir_node_add(g, op, name, n_in, in, 1, &v) >= 0);
    return v;
}

/* Appends a zeroed attribute called `name` to the last node added; the caller sets its type
 * and value. */
static inline RtAttr *tg_attr_add(IrGraph *g, const char *name) {
    RtNode *nd = &g->nodes[g->n_nodes - 1];
    RtAttr *a = ir_alloc(g, sizeof(RtAttr) * (size_t)(nd->n_attr + 1));
    cr_assert_not_null(a);
    if (nd->n_attr) memcpy(a, nd->attrs, sizeof(RtAttr) * (size_t)nd->n_attr);
    nd->attrs = a;
    RtAttr *x = &a[nd->n_attr++];
    x->name = ir_strdup(g, name);
    return x;
}

/* Adds an INT or INTS attribute to the last node (n < 0: INT with value *vals). */
static inline void tg_attr_ints(IrGraph *g, const char *name, int n, const int64_t *vals) {
    RtAttr *x = tg_attr_add(g, name);
    if (n < 0) {
        x->type = RT_ATTR_INT;
        x->i = vals[0];
    } else {
        int64_t *p = ir_alloc(g, sizeof(int64_t) * (size_t)(n ? n : 1));
        memcpy(p, vals, sizeof(int64_t) * (size_t)n);
        x->type = RT_ATTR_INTS;
        x->n = n;
        x->ints = p;
    }
}

/* Adds a GRAPH attribute (an If branch) to the last node; g takes ownership of sub, whose
 * parent the caller sets. */
static inline void tg_attr_graph(IrGraph *g, const char *name, IrGraph *sub) {
    RtAttr *x = tg_attr_add(g, name);
    x->type = RT_ATTR_GRAPH;
    x->g = sub;
}

/* x[batch,64] -> Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [8, 8])) -> y, at opset 17:
 * a shape chain that folds once batch is known. *y (if y is not NULL) gets y's value. */
static inline IrGraph *tg_reshape_chain(int *y) {
    IrGraph *g = tg_graph(17);
    int64_t xd[2] = {-1, 64};
    const char *xs[2] = {"batch", NULL};
    int x = tg_input(g, "x", RT_F32, 2, xd, xs);
    int s = tg_node(g, RT_OP_SHAPE, "shape", 1, &x, "s");
    int64_t zero = 0, eights[2] = {8, 8};
    int gi[2] = {s, tg_const_i64(g, "zero", -1, &zero)};
    int b = tg_node(g, RT_OP_GATHER, "gather", 2, gi, "b");
    int ui[2] = {b, tg_const_i64(g, "axes", 1, &zero)};
    int bu = tg_node(g, RT_OP_UNSQUEEZE, "unsq", 2, ui, "bu");
    int ci[2] = {bu, tg_const_i64(g, "eights", 2, eights)};
    int shape = tg_node(g, RT_OP_CONCAT, "concat", 2, ci, "shape");
    tg_attr_ints(g, "axis", -1, &zero);
    int ri[2] = {x, shape};
    int out = tg_node(g, RT_OP_RESHAPE, "reshape", 2, ri, "y");
    tg_output(g, out);
    if (y) *y = out;
    return g;
}

/* Number of live nodes of op in g. */
static inline int tg_count_op(const IrGraph *g, int op) {
    int c = 0;
    for (int k = 0; k < g->n_nodes; k++) c += g->nodes[k].op == op;
    return c;
}

#endif
