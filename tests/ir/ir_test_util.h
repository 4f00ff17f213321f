/*
 * ir_test_util.h — building small IR graphs by hand for the ir/ and passes/ suites.
 */
#ifndef WAFER_IR_TEST_UTIL_H
#define WAFER_IR_TEST_UTIL_H

#include <criterion/criterion.h>
#include <string.h>

#include "../../ir/ir.h"

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

/* Adds an INT or INTS attribute to the last node (n < 0: INT with value *vals). */
static inline void tg_attr_ints(IrGraph *g, const char *name, int n, const int64_t *vals) {
    RtNode *nd = &g->nodes[g->n_nodes - 1];
    RtAttr *a = ir_alloc(g, sizeof(RtAttr) * (size_t)(nd->n_attr + 1));
    cr_assert_not_null(a);
    if (nd->n_attr) memcpy(a, nd->attrs, sizeof(RtAttr) * (size_t)nd->n_attr);
    RtAttr *x = &a[nd->n_attr];
    x->name = ir_strdup(g, name);
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
    nd->attrs = a;
    nd->n_attr++;
}

/* Number of live nodes of op in g. */
static inline int tg_count_op(const IrGraph *g, int op) {
    int c = 0;
    for (int k = 0; k < g->n_nodes; k++) c += g->nodes[k].op == op;
    return c;
}

#endif
