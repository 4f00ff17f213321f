/*
 * emitc_oneop.h — small graphs for the emit-c suites: OneOp builds a graph in the IR (usually
 * one node, or a few nodes over shared inputs, up to 8 inputs and 8 outputs: the harness's
 * HARNESS_MAX_IO) with random graph inputs and constants, and op_check_opts emits it, checks
 * the C (compiled with gcc -pedantic -Werror and the harness, optionally also with clang and
 * under UBSan; under --no-libm the object needs no libm symbol), runs it, expects NAME_run's
 * status, and compares every output with the runtime's reference kernels on the same graph:
 * integer outputs bit for bit, float32 / float64 within the given tolerances.
 *
 * Random values come from one LCG per OneOp (o->seed); a fill mode (o->fill for every random
 * input and constant, or one per input) says which values: see OneOpFill. The suites keep
 * their seeds and modes, so each draws the values it was written with.
 *
 * The graph:  op_new / op_new_with, op_input / op_input_data / op_input_fill, op_const, op_node (one
 * output) / op_node_outs (several, some absent) / op_node_attrs (attributes copied),
 * attrs_new + attr_int / attr_ints / attr_float / attr_floats / attr_str / attr_strs.
 * The check: op_check (defaults: gcc -O2, OPS_FLOAT_REL_TOL) or op_check_opts with a
 * OneOpCheck; both free the OneOp. op_free frees one that is not checked.
 */
#ifndef WAFER_TEST_EMITC_ONEOP_H
#define WAFER_TEST_EMITC_ONEOP_H

#include "emitc_util.h"

/* Float kernels sum the same products in the same order as the reference kernels or in the
 * reference GEMM's order: a few ulps of the largest partial sum (K <= 64 here). */
#define OPS_FLOAT_REL_TOL 1e-5

#define OP_MAX_IO 8 /* graph inputs and outputs: emitc_harness.c's HARNESS_MAX_IO */

/* The emitted C built with ASan + UBSan (appended to a suite's flags under WAFER_SANITIZED). */
#define OP_ASAN_CFLAGS " -fsanitize=address,undefined -fno-sanitize-recover=all"

/* Which random values fill an input or constant. */
typedef enum {
    /* one draw an element: floats uniform in [-1, 1] (steps of 1e-4), int8 / uint8 over their
     * whole range, bool, int32 in [-10000, 10000], int64 in [-4, 4] (indices, some negative);
     * int16 / uint32 / uint64 as OP_FILL_INDEX */
    OP_FILL_UNIT,
    /* one draw an element: as OP_FILL_UNIT but float64 in steps of 1e-6, int16 in [-30000,
     * 30000], int32 in [-100, 100] (products stay exact), int64 in [0, 2] (in range on any
     * axis of 3 or more), uint32 / uint64 over their whole range */
    OP_FILL_INDEX,
    /* two draws an element: floats in [-1, 1], every integer type over its whole range
     * (sums and products wrap) */
    OP_FILL_WIDE,
    OP_FILL_POSITIVE, /* OP_FILL_WIDE with floats in (0, 2] (logarithms, variances) */
    /* three draws an element: floats one in four a special value (NaN, infinities, signed
     * zeros, halves for Round, values beyond every integer range for Cast), else in [-4, 4];
     * integers over the whole range, one in eight the type's minimum, -1 or its maximum */
    OP_FILL_ANY,
    OP_FILL_NONZERO, /* OP_FILL_ANY without the special floats, no integer with a zero low byte */
    OP_FILL_SMALL,   /* no special floats; integers in [-8, 8], unsigned ones in [0, 70) (shifts) */
} OneOpFill;

typedef struct {
    IrGraph *g;
    RtTensor in[OP_MAX_IO]; /* graph inputs with data (owned by the OneOp) */
    int n_in;
    uint64_t seed;
    OneOpFill fill; /* the values of op_input / op_input_data / op_const without data */
} OneOp;

static inline uint64_t lcg(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

/* OP_FILL_UNIT and OP_FILL_INDEX. */
static inline void op_fill_unit(RtTensor *t, uint64_t *seed, int index) {
    int64_t n = rt_numel(t);
    for (int64_t i = 0; i < n; i++) {
        uint64_t r = lcg(seed);
        switch (t->dtype) {
        case RT_F32: ((float *)t->data)[i] = (float)((double)(r % 20001) / 10000.0 - 1.0); break;
        case RT_F64:
            ((double *)t->data)[i] =
                index ? (double)(r % 2000001) / 1000000.0 - 1.0 : (double)(r % 20001) / 10000.0 - 1.0;
            break;
        case RT_I8: ((int8_t *)t->data)[i] = (int8_t)((int)(r % 256) - 128); break;
        case RT_U8: ((uint8_t *)t->data)[i] = (uint8_t)(r % 256); break;
        case RT_BOOL: ((uint8_t *)t->data)[i] = (uint8_t)(r % 2); break;
        case RT_I16: ((int16_t *)t->data)[i] = (int16_t)((int)(r % 60001) - 30000); break;
        case RT_I32: ((int32_t *)t->data)[i] = index ? (int32_t)(r % 201) - 100 : (int32_t)(r % 20001) - 10000; break;
        case RT_I64: ((int64_t *)t->data)[i] = index ? (int64_t)(r % 3) : (int64_t)(r % 9) - 4; break;
        case RT_U32: ((uint32_t *)t->data)[i] = (uint32_t)(r * 2654435761u); break;
        case RT_U64: ((uint64_t *)t->data)[i] = (uint64_t)r << 20 | (r & 0xfffff); break;
        default: cr_assert_fail("no OP_FILL_UNIT values for %s", rt_dtype_name(t->dtype));
        }
    }
}

/* OP_FILL_WIDE and OP_FILL_POSITIVE. */
static inline void op_fill_wide(RtTensor *t, uint64_t *seed, int positive) {
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
        default: cr_assert_fail("no OP_FILL_WIDE values for %s", rt_dtype_name(t->dtype));
        }
    }
}

/* OP_FILL_ANY, OP_FILL_NONZERO and OP_FILL_SMALL: every C-typed dtype (integers written as
 * the low bytes of a 64-bit pattern). */
static inline void op_fill_edge(RtTensor *t, uint64_t *seed, OneOpFill mode) {
    static const double special[] = {NAN, INFINITY, -INFINITY, 0.0, -0.0, 0.5, -0.5, 1.5, 2.5, -2.5,
                                     300.0, -300.0, 70000.0, 3e9, -3e9, 1e19, -1e19, 4e38, 1e-40};
    for (int64_t i = 0, n = rt_numel(t); i < n; i++) {
        uint64_t r = lcg(seed), r2 = lcg(seed);
        double d = (r % 4 == 0 && mode == OP_FILL_ANY) ? special[r2 % (sizeof special / sizeof special[0])]
                                                       : (double)(r2 % 80001) / 10000.0 - 4.0;
        uint64_t bits = (r << 31) ^ r2 ^ (lcg(seed) << 62);
        if (mode == OP_FILL_SMALL) bits = (uint64_t)((int64_t)(r2 % 17) - 8);
        else if (r % 8 == 1) { /* the type's minimum, -1 (all ones), its maximum: INT_MIN / -1 */
            uint64_t top = (uint64_t)1 << (8 * rt_dtype_size(t->dtype) - 1);
            bits = r2 % 3 == 0 ? top : r2 % 3 == 1 ? ~(uint64_t)0 : top - 1;
        }
        if (mode == OP_FILL_NONZERO && (bits & 0xff) == 0) bits |= 3;
        switch (t->dtype) {
        case RT_F32: ((float *)t->data)[i] = (float)d; break;
        case RT_F64: ((double *)t->data)[i] = d; break;
        case RT_BOOL: ((uint8_t *)t->data)[i] = (uint8_t)(r2 & 1); break;
        default: memcpy((char *)t->data + (size_t)i * rt_dtype_size(t->dtype), &bits, rt_dtype_size(t->dtype)); break;
        }
        int is_unsigned = t->dtype == RT_U8 || t->dtype == RT_U16 || t->dtype == RT_U32 || t->dtype == RT_U64;
        if (mode == OP_FILL_SMALL && is_unsigned)
            memcpy((char *)t->data + (size_t)i * rt_dtype_size(t->dtype), &(uint64_t){r2 % 70},
                   rt_dtype_size(t->dtype)); /* shifts past every width */
    }
}

/* t's elements drawn from seed as mode says. */
static inline void op_fill(RtTensor *t, uint64_t *seed, OneOpFill mode) {
    switch (mode) {
    case OP_FILL_UNIT:
    case OP_FILL_INDEX: op_fill_unit(t, seed, mode == OP_FILL_INDEX); break;
    case OP_FILL_WIDE:
    case OP_FILL_POSITIVE: op_fill_wide(t, seed, mode == OP_FILL_POSITIVE); break;
    default: op_fill_edge(t, seed, mode); break;
    }
}

/* An empty graph at opset 21, seed 12345, OP_FILL_UNIT values (a suite sets its own after). */
static inline OneOp *op_new(void) {
    OneOp *o = calloc(1, sizeof *o);
    o->g = ir_graph_new();
    o->g->opset = 21;
    o->seed = 12345;
    o->fill = OP_FILL_UNIT;
    return o;
}

/* op_new with a suite's own seed and values. */
static inline OneOp *op_new_with(uint64_t seed, OneOpFill fill) {
    OneOp *o = op_new();
    o->seed = seed;
    o->fill = fill;
    return o;
}

static inline void op_free(OneOp *o) {
    for (int i = 0; i < o->n_in; i++) free(o->in[i].data);
    ir_graph_free(o->g);
    free(o);
}

/* A graph input: a copy of data when given, else random values of the given mode. */
static inline int op_input_with(OneOp *o, const char *name, RtDtype dt, int rank, const int64_t *dims,
                                const void *data, OneOpFill mode) {
    cr_assert(o->n_in < OP_MAX_IO, "more than %d graph inputs", OP_MAX_IO);
    int v = ir_value_add(o->g, name);
    ir_value_set_shape(&o->g->values[v], dt, rank, dims);
    RtTensor *t = &o->in[o->n_in++];
    t->dtype = dt, t->rank = rank;
    memcpy(t->dims, dims, sizeof(int64_t) * (size_t)rank);
    t->data = malloc((size_t)rt_nbytes(t) + 1);
    if (data) memcpy(t->data, data, (size_t)rt_nbytes(t));
    else op_fill(t, &o->seed, mode);
    o->g->inputs = realloc(o->g->inputs, sizeof(int) * (size_t)(o->g->n_inputs + 1));
    o->g->inputs[o->g->n_inputs++] = v;
    return v;
}

/* A graph input of random data (o->fill). */
static inline int op_input(OneOp *o, const char *name, RtDtype dt, int rank, const int64_t *dims) {
    return op_input_with(o, name, dt, rank, dims, NULL, o->fill);
}

/* A graph input holding a copy of data, or random data (o->fill) when data is NULL. */
static inline int op_input_data(OneOp *o, const char *name, RtDtype dt, int rank, const int64_t *dims,
                                const void *data) {
    return op_input_with(o, name, dt, rank, dims, data, o->fill);
}

/* A graph input of random data of the given mode. */
static inline int op_input_fill(OneOp *o, const char *name, RtDtype dt, int rank, const int64_t *dims,
                                OneOpFill mode) {
    return op_input_with(o, name, dt, rank, dims, NULL, mode);
}

/* A constant: random data (o->fill), or a copy of data when given. */
static inline int op_const(OneOp *o, const char *name, RtDtype dt, int rank, const int64_t *dims, const void *data) {
    RtTensor t = {dt, rank, {0}, NULL};
    memcpy(t.dims, dims, sizeof(int64_t) * (size_t)rank);
    t.data = malloc((size_t)rt_nbytes(&t) + 1);
    if (data) memcpy(t.data, data, (size_t)rt_nbytes(&t));
    else op_fill(&t, &o->seed, o->fill);
    int v = ir_const_add(o->g, name, &t);
    free(t.data);
    cr_assert(v >= 0);
    return v;
}

/* A node of op with n_out outputs; bit j of absent leaves output j unused (-1: an empty name
 * in ONNX), the others become the graph's next outputs, named y<k> after their index k among
 * the graph's outputs. The graph's first node is "the_node", later ones "the_node2"...
 * Returns the node's index. */
static inline int op_node_outs(OneOp *o, int op, int n_in, const int *in, int n_out, unsigned absent) {
    char name[32];
    int out[OP_MAX_IO];
    cr_assert(n_out <= OP_MAX_IO);
    for (int j = 0; j < n_out; j++) {
        out[j] = -1;
        if ((absent >> j) & 1) continue;
        cr_assert(o->g->n_outputs < OP_MAX_IO, "more than %d graph outputs", OP_MAX_IO);
        snprintf(name, sizeof name, "y%d", o->g->n_outputs);
        out[j] = ir_value_add(o->g, name);
        o->g->outputs = realloc(o->g->outputs, sizeof(int) * (size_t)(o->g->n_outputs + 1));
        o->g->outputs[o->g->n_outputs++] = out[j];
    }
    if (o->g->n_nodes == 0) snprintf(name, sizeof name, "the_node");
    else snprintf(name, sizeof name, "the_node%d", o->g->n_nodes + 1);
    int k = ir_node_add(o->g, op, name, n_in, in, n_out, out);
    cr_assert(k >= 0);
    return k;
}

/* A node with one output (the graph's next output). */
static inline int op_node(OneOp *o, int op, int n_in, const int *in) {
    return op_node_outs(o, op, n_in, in, 1, 0);
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

static inline RtAttr attr_floats(OneOp *o, const char *name, int n, const float *v) {
    float *c = ir_alloc(o->g, sizeof(float) * (size_t)n);
    memcpy(c, v, sizeof(float) * (size_t)n);
    return (RtAttr){.name = ir_strdup(o->g, name), .type = RT_ATTR_FLOATS, .n = n, .floats = c};
}

static inline RtAttr attr_str(OneOp *o, const char *name, const char *v) {
    return (RtAttr){.name = ir_strdup(o->g, name), .type = RT_ATTR_STRING, .s = ir_strdup(o->g, v)};
}

/* A comma-separated list (at most 8 items) as a STRINGS attribute. */
static inline RtAttr attr_strs(OneOp *o, const char *name, const char *list) {
    const char **s = ir_alloc(o->g, sizeof(char *) * 8);
    char buf[256];
    int n = 0;
    snprintf(buf, sizeof buf, "%s", list);
    for (char *t = strtok(buf, ","); t && n < 8; t = strtok(NULL, ",")) s[n++] = ir_strdup(o->g, t);
    return (RtAttr){.name = ir_strdup(o->g, name), .type = RT_ATTR_STRINGS, .n = n, .strings = (const char *const *)s};
}

/* Node k's attributes: copies of a[0..n) (names, strings and lists copied into the graph). */
static inline void op_attrs_copy(OneOp *o, int k, const RtAttr *a, int n) {
    if (n == 0) return;
    RtAttr *c = attrs_new(o, k, n);
    for (int i = 0; i < n; i++) {
        c[i] = a[i];
        c[i].name = ir_strdup(o->g, a[i].name);
        if (a[i].type == RT_ATTR_STRING) c[i].s = ir_strdup(o->g, a[i].s);
        if (a[i].type == RT_ATTR_INTS) c[i] = attr_ints(o, a[i].name, a[i].n, a[i].ints);
        if (a[i].type == RT_ATTR_FLOATS) c[i] = attr_floats(o, a[i].name, a[i].n, a[i].floats);
        cr_assert(a[i].type != RT_ATTR_STRINGS, "op_attrs_copy: use attr_strs");
    }
}

/* A node with one output and copies of the n_attr attributes a. */
static inline int op_node_attrs(OneOp *o, int op, int n_in, const int *in, const RtAttr *a, int n_attr) {
    int k = op_node(o, op, n_in, in);
    op_attrs_copy(o, k, a, n_attr);
    return k;
}

/* Set under the sanitizer build of the suites (tests/run_all.sh). */
static inline int op_sanitized(void) { return getenv("WAFER_SANITIZED") != NULL; }

/* How op_check_opts builds, runs and compares. A zero field is the default named. */
typedef struct {
    const char *cc;     /* compiler of the harness build (NULL: gcc) */
    const char *cflags; /* its flags besides -std=c99 -Wall -Wextra -Werror -pedantic (NULL: -O2) */
    int also_clang;     /* build it with clang -O1 too when clang is installed: no message either */
    int ubsan;          /* build it with gcc -O1 under UBSan too and run: no runtime error, same status */
    int no_libm;        /* emit with --no-libm; the object of model.c then needs no libm symbol */
    int want_status;    /* the harness's exit status: 0, or 1 when NAME_run must refuse the input */
    double tol;         /* float32 outputs: largest |c - ref| over the largest finite |ref| (0: exact) */
    double tol_f64;     /* the same for float64 outputs */
    /* compare each float element instead: equal, both NaN, or within tol of the larger of the
     * two magnitudes */
    int per_element;
} OneOpCheck;

/* With --no-libm: model.c's object, at -O0 (every call the C writes) and at -O2 (calls the
 * optimizer adds: memcpy / memset for loops), needs no symbol but memcpy and memset. */
static inline void op_expect_no_libm(const char *dir, const char *what) {
    static const char *const opt[2] = {"-O0", "-O2"};
    char log[8192];
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(tu_run(log, sizeof log, "gcc -std=c99 %s -c %s/model.c -o %s/m.o", opt[i], dir, dir), 0, "%s: %s",
                     what, log);
        int st = tu_run(log, sizeof log, "nm -u %s/m.o | grep -v -w -e memcpy -e memset", dir);
        cr_expect(st == 1 && log[0] == '\0', "%s: with --no-libm the C (gcc %s) still needs %s", what, opt[i], log);
    }
}

/* Largest |a - b| over the largest |b| among the finite elements of b (the caller checks
 * that the others are equal); a NaN where b is finite counts as an infinite difference. */
static inline double op_max_rel(const void *a, const void *b, int64_t n, int f32) {
    double big = 0, d = 0;
    for (int64_t i = 0; i < n; i++) {
        double x = f32 ? ((const float *)a)[i] : ((const double *)a)[i];
        double r = f32 ? ((const float *)b)[i] : ((const double *)b)[i];
        if (!isfinite(r)) continue;
        if (fabs(r) > big) big = fabs(r);
        if (!(fabs(x - r) <= d)) d = x != x ? INFINITY : fabs(x - r);
    }
    return big > 0 ? d / big : d;
}

/* Equal, both NaN, or within tol of the larger magnitude. */
static inline int op_float_close(double a, double b, double tol) {
    if (a != a || b != b) return a != a && b != b;
    if (a == b) return 1;
    return fabs(a - b) <= tol * fmax(fabs(a), fabs(b));
}

/* Output i (bytes c) against the reference y. */
static inline void op_compare(const OneOp *o, const char *what, int i, const unsigned char *c, const RtTensor *y,
                              const OneOpCheck *k) {
    int prod = o->g->values[o->g->outputs[i]].producer;
    const char *op = prod >= 0 ? rt_op_name(o->g->nodes[prod].op) : "?";
    int f32 = y->dtype == RT_F32;
    if (!f32 && y->dtype != RT_F64) {
        cr_expect_eq(memcmp(c, y->data, (size_t)rt_nbytes(y)), 0, "%s: output %d (%s, %s) differs from the runtime's",
                     what, i, op, rt_dtype_name(y->dtype));
        return;
    }
    double tol = f32 ? k->tol : k->tol_f64;
    int64_t n = rt_numel(y);
    if (k->per_element) {
        int64_t bad = -1;
        for (int64_t e = 0; e < n && bad < 0; e++) {
            double a = f32 ? ((const float *)(const void *)c)[e] : ((const double *)(const void *)c)[e];
            double b = f32 ? ((const float *)y->data)[e] : ((const double *)y->data)[e];
            if (!op_float_close(a, b, tol)) bad = e;
        }
        cr_expect(bad < 0, "%s: output %d (%s, %s) differs from the runtime's at element %lld", what, i, op,
                  rt_dtype_name(y->dtype), (long long)bad);
        return;
    }
    for (int64_t e = 0; e < n; e++) { /* NaN and infinities must match exactly: the tolerance skips them */
        double a = f32 ? ((const float *)(const void *)c)[e] : ((const double *)(const void *)c)[e];
        double b = f32 ? ((const float *)y->data)[e] : ((const double *)y->data)[e];
        cr_assert(!isnan(a) == !isnan(b) && (isfinite(b) || isnan(b) || a == b),
                  "%s: output %d (%s): element %lld is %g, reference %g", what, i, op, (long long)e, a, b);
    }
    double rel = op_max_rel(c, y->data, n, f32);
    cr_expect(rel <= tol, "%s: output %d (%s): relative difference %g", what, i, op, rel);
}

/* Emits the graph (in a temporary folder), builds and runs the C as k says, and when the
 * harness exits 0 compares every output with the reference kernels'. Frees o. */
static inline void op_check_opts(OneOp *o, const char *what, const OneOpCheck *k) {
    const char *cc = k->cc ? k->cc : "gcc", *cflags = k->cflags ? k->cflags : "-O2";
    char dir[256], log[8192], path[600], args[4096] = "";
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "emitc_op"), 0);
    RtError err = {{0}};
    EmitCOptions eo = {"model", k->no_libm, "test", "test", "test", 0};
    cr_assert_eq(emit_c_write(o->g, &eo, dir, NULL, &err), RT_OK, "%s: %s", what, err.msg);
    if (k->no_libm) op_expect_no_libm(dir, what);
    for (int i = 0; i < o->n_in; i++) {
        snprintf(path, sizeof path, "%s/in%d.bin", dir, i);
        ecu_raw_write(path, o->in[i].data, (size_t)rt_nbytes(&o->in[i]));
        size_t l = strlen(args);
        snprintf(args + l, sizeof args - l, " %s", path);
    }
    for (int i = 0; i < o->g->n_outputs; i++) {
        size_t l = strlen(args);
        snprintf(args + l, sizeof args - l, " %s/y%d.bin", dir, i);
    }
    cr_assert_eq(ecu_compile(cc, cflags, dir, "h", log, sizeof log), 0, "%s: %s", what, log);
    cr_assert_eq(log[0], '\0', "%s: %s printed %s", what, cc, log);
    if (k->also_clang && tu_run(log, sizeof log, "command -v clang") == 0) {
        cr_assert_eq(ecu_compile("clang", "-O1", dir, "hc", log, sizeof log), 0, "%s: clang: %s", what, log);
        cr_assert_eq(log[0], '\0', "%s: clang printed %s", what, log);
    }
    int st = tu_run(log, sizeof log, "%s/h%s", dir, args);
    char run_log[8192];
    snprintf(run_log, sizeof run_log, "%s", log);
    if (k->ubsan) { /* no undefined behaviour on these inputs: the same program under UBSan exits as cleanly */
        cr_assert_eq(ecu_compile("gcc", "-O1 -fsanitize=undefined,float-cast-overflow -fno-sanitize-recover=all", dir,
                                 "hu", log, sizeof log),
                     0, "%s: gcc -fsanitize: %s", what, log);
        int st_ub = tu_run(log, sizeof log, "%s/hu%s", dir, args);
        cr_expect(strstr(log, "runtime error") == NULL, "%s: UBSan: %s", what, log);
        cr_expect_eq(st_ub, st, "%s: exit %d under UBSan, %d without", what, st_ub, st);
    }
    cr_assert_eq(st, k->want_status, "%s: harness status %d, want %d: %s", what, st, k->want_status, run_log);
    if (st == 0) {
        RtTensor y[OP_MAX_IO];
        memset(y, 0, sizeof y);
        RtRunOptions ro = {0};
        ro.ref_only = 1;
        cr_assert_eq(ir_run_opts(o->g, o->in, y, &ro, &err), RT_OK, "%s: %s", what, err.msg);
        for (int i = 0; i < o->g->n_outputs; i++) {
            snprintf(path, sizeof path, "%s/y%d.bin", dir, i);
            size_t n = 0;
            unsigned char *c = tu_file_read(path, &n);
            cr_assert(c && (int64_t)n == rt_nbytes(&y[i]), "%s: output %d: %zu bytes, reference %lld", what, i, n,
                      (long long)rt_nbytes(&y[i]));
            op_compare(o, what, i, c, &y[i], k);
            free(c);
            free(y[i].data);
        }
    }
    op_free(o);
    tu_tmpdir_remove(dir);
}

/* op_check_opts with gcc -O2, float32 outputs within OPS_FLOAT_REL_TOL, float64 ones exact. */
static inline void op_check(OneOp *o, const char *what) {
    OneOpCheck k = {.tol = OPS_FLOAT_REL_TOL, .tol_f64 = 0};
    op_check_opts(o, what, &k);
}

#endif
