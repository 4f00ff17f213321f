/*
 * emitc_oneop.h — one-node graphs for the emit-c suites: OneOp builds a graph in the IR with
 * random inputs (graph inputs with data) and constants, op_check emits it, compiles the C
 * with gcc -pedantic -Werror and the harness, runs it, and compares its first output with
 * the runtime's reference kernels on the same graph: integer outputs bit for bit, float
 * within OPS_FLOAT_REL_TOL.
 */
#ifndef WAFER_TEST_EMITC_ONEOP_H
#define WAFER_TEST_EMITC_ONEOP_H

#include "emitc_util.h"

/* Float kernels sum the same products in the same order as the reference kernels or in the
 * reference GEMM's order: a few ulps of the largest partial sum (K <= 64 here). */
#define OPS_FLOAT_REL_TOL 1e-5

typedef struct {
    IrGraph *g;
    RtTensor in[4];     /* graph inputs with data (owned by the test) */
    int n_in;
    uint64_t seed;
} OneOp;

static inline uint64_t lcg(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

static inline void fill(RtTensor *t, uint64_t *seed) {
    int64_t n = rt_numel(t);
    for (int64_t i = 0; i < n; i++) {
        uint64_t r = lcg(seed);
        switch (t->dtype) {
        case RT_F32: ((float *)t->data)[i] = (float)((double)(r % 20001) / 10000.0 - 1.0); break;
        case RT_I8: ((int8_t *)t->data)[i] = (int8_t)((int)(r % 256) - 128); break;
        case RT_U8: ((uint8_t *)t->data)[i] = (uint8_t)(r % 256); break;
        case RT_BOOL: ((uint8_t *)t->data)[i] = (uint8_t)(r % 2); break;
        case RT_I32: ((int32_t *)t->data)[i] = (int32_t)(r % 20001) - 10000; break;
        case RT_I64: ((int64_t *)t->data)[i] = (int64_t)(r % 9) - 4; break; /* indices, some negative */
        default: cr_assert_fail("dtype");
        }
    }
}

static inline OneOp *op_new(void) {
    OneOp *o = calloc(1, sizeof *o);
    o->g = ir_graph_new();
    o->g->opset = 21;
    o->seed = 12345;
    return o;
}

/* A graph input of random data. */
static inline int op_input(OneOp *o, const char *name, RtDtype dt, int rank, const int64_t *dims) {
    int v = ir_value_add(o->g, name);
    ir_value_set_shape(&o->g->values[v], dt, rank, dims);
    RtTensor *t = &o->in[o->n_in++];
    t->dtype = dt, t->rank = rank;
    memcpy(t->dims, dims, sizeof(int64_t) * (size_t)rank);
    t->data = malloc((size_t)rt_nbytes(t) + 1);
    fill(t, &o->seed);
    o->g->inputs = realloc(o->g->inputs, sizeof(int) * (size_t)(o->g->n_inputs + 1));
    o->g->inputs[o->g->n_inputs++] = v;
    return v;
}

/* A constant: random data, or a copy of data when given. */
static inline int op_const(OneOp *o, const char *name, RtDtype dt, int rank, const int64_t *dims, const void *data) {
    RtTensor t = {dt, rank, {0}, NULL};
    memcpy(t.dims, dims, sizeof(int64_t) * (size_t)rank);
    t.data = malloc((size_t)rt_nbytes(&t) + 1);
    if (data) memcpy(t.data, data, (size_t)rt_nbytes(&t));
    else fill(&t, &o->seed);
    int v = ir_const_add(o->g, name, &t);
    free(t.data);
    cr_assert(v >= 0);
    return v;
}

static inline int op_node(OneOp *o, int op, int n_in, const int *in) {
    int y = ir_value_add(o->g, "y");
    cr_assert(ir_node_add(o->g, op, "the_node", n_in, in, 1, &y) >= 0);
    o->g->outputs = realloc(o->g->outputs, sizeof(int));
    o->g->outputs[0] = y;
    o->g->n_outputs = 1;
    return o->g->n_nodes - 1;
}

static inline RtAttr *attrs_new(OneOp *o, int k, int n) {
    RtAttr *a = ir_alloc(o->g, sizeof(RtAttr) * (size_t)n);
    o->g->nodes[k].attrs = a;
    o->g->nodes[k].n_attr = n;
    return a;
}

static inline RtAttr attr_ints(OneOp *o, const char *name, int n, const int64_t *v) {
    int64_t *c = ir_alloc(o->g, sizeof(int64_t) * (size_t)n);
    memcpy(c, v, sizeof(int64_t) * (size_t)n);
    return (RtAttr){.name = ir_strdup(o->g, name), .type = RT_ATTR_INTS, .n = n, .ints = c};
}

static inline RtAttr attr_int(OneOp *o, const char *name, int64_t v) {
    return (RtAttr){.name = ir_strdup(o->g, name), .type = RT_ATTR_INT, .i = v};
}

static inline RtAttr attr_float(OneOp *o, const char *name, float v) {
    return (RtAttr){.name = ir_strdup(o->g, name), .type = RT_ATTR_FLOAT, .f = v};
}

static inline RtAttr attr_str(OneOp *o, const char *name, const char *v) {
    return (RtAttr){.name = ir_strdup(o->g, name), .type = RT_ATTR_STRING, .s = ir_strdup(o->g, v)};
}

/* Emits, compiles and runs the graph, and compares with the reference kernels. */
static inline void op_check(OneOp *o, const char *what) {
    char dir[256], log[8192], path[600], cmd_in[2048] = "";
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "emitc_op"), 0);
    RtError err = {{0}};
    EmitCOptions eo = {"model", 0, "test", "test", "test", 0};
    cr_assert_eq(emit_c_write(o->g, &eo, dir, NULL, &err), RT_OK, "%s: %s", what, err.msg);
    for (int i = 0; i < o->n_in; i++) {
        snprintf(path, sizeof path, "%s/in%d.bin", dir, i);
        ecu_raw_write(path, o->in[i].data, (size_t)rt_nbytes(&o->in[i]));
        size_t l = strlen(cmd_in);
        snprintf(cmd_in + l, sizeof cmd_in - l, " %s", path);
    }
    cr_assert_eq(ecu_compile("gcc", "-O2", dir, "h", log, sizeof log), 0, "%s: %s", what, log);
    cr_assert_eq(log[0], '\0', "%s: gcc printed %s", what, log);
    int st = tu_run(log, sizeof log, "%s/h%s %s/y.bin", dir, cmd_in, dir);
    cr_assert_eq(st, 0, "%s: %s", what, log);
    RtTensor y = {0};
    RtRunOptions ro = {0};
    ro.ref_only = 1;
    cr_assert_eq(ir_run_opts(o->g, o->in, &y, &ro, &err), RT_OK, "%s: %s", what, err.msg);
    snprintf(path, sizeof path, "%s/y.bin", dir);
    size_t n = 0;
    unsigned char *c = tu_file_read(path, &n);
    cr_assert(c && (int64_t)n == rt_nbytes(&y), "%s: %zu bytes, reference %lld", what, n, (long long)rt_nbytes(&y));
    if (y.dtype == RT_F32) {
        double rel = tu_max_rel_diff((const float *)c, y.data, (long)rt_numel(&y));
        cr_expect(rel <= OPS_FLOAT_REL_TOL, "%s: relative difference %g", what, rel);
    } else {
        cr_expect_eq(memcmp(c, y.data, n), 0, "%s: integer output differs from the runtime's", what);
    }
    free(c);
    free(y.data);
    for (int i = 0; i < o->n_in; i++) free(o->in[i].data);
    ir_graph_free(o->g);
    free(o);
    tu_tmpdir_remove(dir);
}

Test(emit_ops, conv_groups_strides_pads_dilations) {
    OneOp *o = op_new();
    int64_t xd[4] = {2, 4, 7, 9}, wd[4] = {6, 2, 3, 3}, bd[1] = {6};
    int in[3] = {op_input(o, "x", RT_F32, 4, xd), op_const(o, "w", RT_F32, 4, wd, NULL), op_const(o, "b", RT_F32, 1, bd, NULL)};
    int k = op_node(o, RT_OP_CONV, 3, in);
    RtAttr *a = attrs_new(o, k, 4);
    a[0] = attr_int(o, "group", 2);
    a[1] = attr_ints(o, "strides", 2, (int64_t[]){2, 1});
    a[2] = attr_ints(o, "pads", 4, (int64_t[]){1, 0, 2, 1});
    a[3] = attr_ints(o, "dilations", 2, (int64_t[]){1, 2});
    op_check(o, "Conv");
}

Test(emit_ops, fused_conv_clip_depthwise_same_upper) {
    OneOp *o = op_new();
    int64_t xd[4] = {1, 3, 6, 5}, wd[4] = {3, 1, 3, 2};
    int in[2] = {op_input(o, "x", RT_F32, 4, xd), op_const(o, "w", RT_F32, 4, wd, NULL)};
    int k = op_node(o, RT_OP_FUSED_CONV, 2, in);
    RtAttr *a = attrs_new(o, k, 6);
    a[0] = attr_int(o, "group", 3);
    a[1] = attr_str(o, "auto_pad", "SAME_UPPER");
    a[2] = attr_ints(o, "strides", 2, (int64_t[]){2, 2});
    a[3] = attr_str(o, "activation", "Clip");
    a[4] = attr_float(o, "alpha", -0.25f);
    a[5] = attr_float(o, "beta", 0.3f);
    op_check(o, "FusedConv depthwise SAME_UPPER with Clip");
}

#endif
