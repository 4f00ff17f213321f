/*
 * test_emit_reduce.c — emit-c's reduce family (codegen/emit_ops_reduce.c) on what the ONNX
 * node conformance cases do not reach: a one-node graph is built in the IR with random
 * inputs, emitted, compiled as C99 -pedantic -Werror (gcc, and clang for some), run by the
 * harness, and compared with the runtime's reference kernels on the same graph: integer
 * outputs bit for bit, float within REDUCE_FLOAT_REL_TOL.
 * Covered: every ReduceX over non-contiguous axes, negative axes, keepdims 0, all axes,
 * noop_with_empty_axes, an empty reduced set; integer dtypes (int8 .. uint64, wrapping sums
 * and products, signed/unsigned Max/Min, truncating Mean, integer L2/LogSum through double);
 * float64; the libm-free exp/log/sqrt (--no-libm).
 */
#include "emitc_util.h"

/* Both sides fold the same elements in the same order in double and round once to float;
 * the libm-free exp/log/sqrt are within 1e-14 of libm's. What is left is libm's own last
 * bits and float rounding at the end: well under 1e-6 relative. */
#define REDUCE_FLOAT_REL_TOL 1e-6

typedef struct {
    IrGraph *g;
    RtTensor in[4]; /* graph inputs with data (owned by the test) */
    int n_in;
    uint64_t seed;
    int no_libm;
    const char *cc; /* compiler (gcc default) */
} OneOp;

static uint64_t lcg(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

/* Random elements: floats in [-1, 1] (or (0, 2] when positive), integers over the type's
 * range so that sums and products wrap. */
static void fill(RtTensor *t, uint64_t *seed, int positive) {
    int64_t n = rt_numel(t);
    for (int64_t i = 0; i < n; i++) {
        uint64_t r = lcg(seed), r2 = lcg(seed);
        double f = (double)(r % 20001) / 10000.0 - 1.0;
        if (positive) f = f + 1.0001;
        switch (t->dtype) {
        case RT_F32: ((float *)t->data)[i] = (float)f; break;
        case RT_F64: ((double *)t->data)[i] = f; break;
        case RT_I8: ((int8_t *)t->data)[i] = (int8_t)((int)(r % 256) - 128); break;
        case RT_U8: ((uint8_t *)t->data)[i] = (uint8_t)(r % 256); break;
        case RT_I16: ((int16_t *)t->data)[i] = (int16_t)((int)(r % 65536) - 32768); break;
        case RT_U16: ((uint16_t *)t->data)[i] = (uint16_t)(r % 65536); break;
        case RT_I32: ((int32_t *)t->data)[i] = (int32_t)(uint32_t)(r << 1 ^ r2); break;
        case RT_U32: ((uint32_t *)t->data)[i] = (uint32_t)(r << 1 ^ r2); break;
        case RT_I64: ((int64_t *)t->data)[i] = (int64_t)(r << 31 ^ r2); break;
        case RT_U64: ((uint64_t *)t->data)[i] = (r << 33 ^ r2 << 2) | (r & 1) << 63; break;
        case RT_BOOL: ((uint8_t *)t->data)[i] = (uint8_t)(r & 1); break;
        default: cr_assert_fail("dtype");
        }
    }
}

static OneOp *op_new(int opset) {
    OneOp *o = calloc(1, sizeof *o);
    o->g = ir_graph_new();
    o->g->opset = opset;
    o->seed = 12345;
    o->cc = "gcc";
    return o;
}

/* A graph input of random data. */
static int op_input(OneOp *o, const char *name, RtDtype dt, int rank, const int64_t *dims, int positive) {
    int v = ir_value_add(o->g, name);
    ir_value_set_shape(&o->g->values[v], dt, rank, dims);
    RtTensor *t = &o->in[o->n_in++];
    t->dtype = dt, t->rank = rank;
    memcpy(t->dims, dims, sizeof(int64_t) * (size_t)rank);
    t->data = malloc((size_t)rt_nbytes(t) + 1);
    fill(t, &o->seed, positive);
    o->g->inputs = realloc(o->g->inputs, sizeof(int) * (size_t)(o->g->n_inputs + 1));
    o->g->inputs[o->g->n_inputs++] = v;
    return v;
}

/* A constant holding data. */
static int op_const(OneOp *o, const char *name, RtDtype dt, int rank, const int64_t *dims, const void *data) {
    RtTensor t = {dt, rank, {0}, NULL};
    memcpy(t.dims, dims, sizeof(int64_t) * (size_t)rank);
    t.data = malloc((size_t)rt_nbytes(&t) + 1);
    memcpy(t.data, data, (size_t)rt_nbytes(&t));
    int v = ir_const_add(o->g, name, &t);
    free(t.data);
    cr_assert(v >= 0);
    return v;
}

/* A node whose output is a new graph output (at most OP_MAX_OUT per graph: the harness). */
#define OP_MAX_OUT 8
static int op_node(OneOp *o, int op, int n_in, const int *in) {
    char name[32];
    cr_assert(o->g->n_outputs < OP_MAX_OUT);
    snprintf(name, sizeof name, "y%d", o->g->n_outputs);
    int y = ir_value_add(o->g, name);
    snprintf(name, sizeof name, "node%d", o->g->n_nodes);
    cr_assert(ir_node_add(o->g, op, name, n_in, in, 1, &y) >= 0);
    o->g->outputs = realloc(o->g->outputs, sizeof(int) * (size_t)(o->g->n_outputs + 1));
    o->g->outputs[o->g->n_outputs++] = y;
    return o->g->n_nodes - 1;
}

static RtAttr *attrs_new(OneOp *o, int k, int n) {
    RtAttr *a = ir_alloc(o->g, sizeof(RtAttr) * (size_t)n);
    o->g->nodes[k].attrs = a;
    o->g->nodes[k].n_attr = n;
    return a;
}

static RtAttr attr_int(OneOp *o, const char *name, int64_t v) {
    return (RtAttr){.name = ir_strdup(o->g, name), .type = RT_ATTR_INT, .i = v};
}

/* Largest |a - b| over the largest |b| among the finite elements of b (the others are
 * compared exactly by the caller); a or b as float (is_f32) or double arrays. */
static double max_rel(const void *a, const void *b, long n, int is_f32) {
    double big = 0, d = 0;
    for (long i = 0; i < n; i++) {
        double x = is_f32 ? ((const float *)a)[i] : ((const double *)a)[i];
        double r = is_f32 ? ((const float *)b)[i] : ((const double *)b)[i];
        if (!isfinite(r)) continue;
        if (fabs(r) > big) big = fabs(r);
        if (!(fabs(x - r) <= d)) d = x != x ? INFINITY : fabs(x - r);
    }
    return big > 0 ? d / big : d;
}

/* Emits, compiles and runs the graph, and compares with the reference kernels. */
static void op_check(OneOp *o, const char *what) {
    char dir[256], log[8192], path[600], cmd_in[2048] = "";
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "emitc_red"), 0);
    RtError err = {{0}};
    EmitCOptions eo = {"model", o->no_libm, "test", "test", "test", 0};
    cr_assert_eq(emit_c_write(o->g, &eo, dir, NULL, &err), RT_OK, "%s: %s", what, err.msg);
    if (o->no_libm) { /* no libm call may be left: exp(, log(, sqrt( only inside #else branches */
        snprintf(path, sizeof path, "%s/model.c", dir);
        char *src = (char *)tu_file_read(path, NULL);
        cr_assert(src);
        cr_expect(strstr(src, "#define WK_NO_LIBM 1"), "%s: WK_NO_LIBM is not set", what);
        free(src);
    }
    for (int i = 0; i < o->n_in; i++) {
        snprintf(path, sizeof path, "%s/in%d.bin", dir, i);
        ecu_raw_write(path, o->in[i].data, (size_t)rt_nbytes(&o->in[i]));
        size_t l = strlen(cmd_in);
        snprintf(cmd_in + l, sizeof cmd_in - l, " %s", path);
    }
    /* -fno-builtin with no libm: a call to exp/log/sqrt would stay a call and fail to link */
    cr_assert_eq(ecu_compile(o->cc, o->no_libm ? "-O2 -fno-builtin" : "-O2", dir, "h", log, sizeof log), 0, "%s: %s",
                 what, log);
    cr_assert_eq(log[0], '\0', "%s: %s printed %s", what, o->cc, log);
    char cmd_out[2048] = "";
    for (int i = 0; i < o->g->n_outputs; i++) {
        size_t l = strlen(cmd_out);
        snprintf(cmd_out + l, sizeof cmd_out - l, " %s/y%d.bin", dir, i);
    }
    int st = tu_run(log, sizeof log, "%s/h%s%s", dir, cmd_in, cmd_out);
    cr_assert_eq(st, 0, "%s: %s", what, log);
    RtTensor ys[OP_MAX_OUT];
    memset(ys, 0, sizeof ys);
    RtRunOptions ro = {0};
    ro.ref_only = 1;
    cr_assert_eq(ir_run_opts(o->g, o->in, ys, &ro, &err), RT_OK, "%s: %s", what, err.msg);
    for (int out = 0; out < o->g->n_outputs; out++) {
        RtTensor y = ys[out];
        const RtNode *nd = &o->g->nodes[o->g->values[o->g->outputs[out]].producer];
        snprintf(path, sizeof path, "%s/y%d.bin", dir, out);
        size_t n = 0;
        unsigned char *c = tu_file_read(path, &n);
        cr_assert(c && (int64_t)n == rt_nbytes(&y), "%s %s: %zu bytes, reference %lld", what, rt_op_name(nd->op), n,
                  (long long)rt_nbytes(&y));
        for (int64_t i = 0; i < rt_numel(&y) && (y.dtype == RT_F32 || y.dtype == RT_F64); i++) {
            /* NaN and infinities (empty sets, log 0) must match exactly: the tolerance skips them */
            double a = y.dtype == RT_F32 ? ((const float *)(void *)c)[i] : ((const double *)(void *)c)[i];
            double b = y.dtype == RT_F32 ? ((const float *)y.data)[i] : ((const double *)y.data)[i];
            cr_assert(!isnan(a) == !isnan(b) && (isfinite(b) || isnan(b) || a == b), "%s %s: element %lld is %g, reference %g", what,
                      rt_op_name(nd->op), (long long)i, a, b);
        }
        if (y.dtype == RT_F32 || y.dtype == RT_F64) {
            double rel = max_rel(c, y.data, (long)rt_numel(&y), y.dtype == RT_F32);
            cr_expect(rel <= REDUCE_FLOAT_REL_TOL, "%s %s: relative difference %g", what, rt_op_name(nd->op), rel);
        } else {
            cr_expect_eq(memcmp(c, y.data, n), 0, "%s %s: integer output differs from the runtime's", what,
                         rt_op_name(nd->op));
        }
        free(c);
        free(y.data);
    }
    for (int i = 0; i < o->n_in; i++) free(o->in[i].data);
    ir_graph_free(o->g);
    free(o);
    tu_tmpdir_remove(dir);
}

/* ---------------------------------------------------------------- ReduceX */

/* ReduceX nodes ops[0..n_ops) (at most OP_MAX_OUT) on one input at opset 18, axes as a
 * constant input (n_axes < 0: no axes input); one emitted program for all of them. */
static void reduce_case(const int *ops, int n_ops, RtDtype dt, int rank, const int64_t *dims, int n_axes,
                        const int64_t *axes, int keepdims, int noop, int no_libm, const char *cc) {
    OneOp *o = op_new(18);
    o->no_libm = no_libm;
    if (cc) o->cc = cc;
    int positive = ops[0] == RT_OP_REDUCE_LOG_SUM; /* log of a positive sum */
    int in[2] = {op_input(o, "x", dt, rank, dims, positive), -1};
    int64_t na = n_axes > 0 ? n_axes : 0;
    if (n_axes >= 0) in[1] = op_const(o, "axes", RT_I64, 1, &na, axes);
    for (int i = 0; i < n_ops; i++) {
        int k = op_node(o, ops[i], n_axes >= 0 ? 2 : 1, in);
        RtAttr *a = attrs_new(o, k, 2);
        a[0] = attr_int(o, "keepdims", keepdims);
        a[1] = attr_int(o, "noop_with_empty_axes", noop);
    }
    char what[160];
    snprintf(what, sizeof what, "%s axes %d keepdims %d noop %d no_libm %d %s", rt_dtype_name(dt), n_axes, keepdims,
             noop, no_libm, cc ? cc : "gcc");
    op_check(o, what);
}

/* The ten kinds in two programs (LogSum alone first: its input is positive). */
static void reduce_all(RtDtype dt, int rank, const int64_t *dims, int n_axes, const int64_t *axes, int keepdims,
                       int noop, int no_libm, const char *cc) {
    static const int first[] = {RT_OP_REDUCE_LOG_SUM, RT_OP_REDUCE_SUM, RT_OP_REDUCE_MEAN};
    static const int rest[] = {RT_OP_REDUCE_MAX, RT_OP_REDUCE_MIN, RT_OP_REDUCE_PROD, RT_OP_REDUCE_L1,
                               RT_OP_REDUCE_L2, RT_OP_REDUCE_LOG_SUM_EXP, RT_OP_REDUCE_SUM_SQUARE};
    reduce_case(first, 3, dt, rank, dims, n_axes, axes, keepdims, noop, no_libm, cc);
    reduce_case(rest, 7, dt, rank, dims, n_axes, axes, keepdims, noop, no_libm, cc);
}

Test(emit_reduce, every_kind_float_noncontiguous_axes) {
    int64_t d[4] = {3, 4, 5, 2}, ax[2] = {0, -2};
    reduce_all(RT_F32, 4, d, 2, ax, 1, 0, 0, NULL);
}

Test(emit_reduce, every_kind_float_middle_axes_no_keepdims_clang) {
    int64_t d[4] = {2, 3, 4, 5}, ax[2] = {2, 1};
    reduce_all(RT_F32, 4, d, 2, ax, 0, 0, 0, "clang");
}

Test(emit_reduce, every_kind_float_no_libm) {
    int64_t d[3] = {4, 1, 6}, ax[1] = {2};
    reduce_all(RT_F32, 3, d, 1, ax, 1, 0, 1, NULL);
}

Test(emit_reduce, all_axes_and_noop_and_empty_set) {
    int64_t d[3] = {2, 3, 4}, e[3] = {2, 0, 4}, ax[1] = {1};
    reduce_all(RT_F32, 3, d, -1, NULL, 0, 0, 0, NULL); /* no axes: all */
    reduce_all(RT_F32, 3, d, 0, NULL, 1, 1, 0, NULL);  /* empty axes, noop */
    reduce_all(RT_F32, 3, e, 1, ax, 1, 0, 0, NULL);    /* reduce a 0-sized axis */
}

Test(emit_reduce, integer_dtypes_exact) {
    static const RtDtype dts[] = {RT_I8, RT_U8, RT_I16, RT_U16, RT_I32, RT_U32, RT_I64, RT_U64};
    int64_t d[3] = {3, 7, 4}, ax[2] = {0, 2};
    for (size_t t = 0; t < sizeof dts / sizeof dts[0]; t++) reduce_all(dts[t], 3, d, 2, ax, 1, 0, 0, NULL);
}

Test(emit_reduce, float64_and_integer_empty_set) {
    int64_t d[2] = {5, 6}, e[2] = {3, 0}, ax[1] = {1};
    reduce_all(RT_F64, 2, d, 1, ax, 0, 0, 0, NULL);
    reduce_all(RT_I32, 2, e, 1, ax, 0, 0, 0, NULL);
}
