/*
 * rt_test_util.h — what the kernel suites in tests/runtime share: build tensors and
 * attributes by hand, run one kernel through rt_kernel_find() as the executor would (normal
 * or shape-only mode), free its outputs, and compare results.
 *
 *   rtt_tensor(dtype, rank, dims, data)      a tensor (dims copied, data borrowed)
 *   rtt_tensor_c(dtype, rank, dims, data)    the same over const data (an input only)
 *   rtt_attr_int / _float / _str / _ints / _tensor / _graph    attributes
 *   rtt_run(op, opset, in, n_in, out, n_out, attrs, n_attr, shape_only)
 *   rtt_run1(op, opset, in, n_in, out, attrs, n_attr, shape_only)   the same, one output
 *   rtt_run_sub(run_subgraph, ...)           rtt_run with a subgraph runner (If)
 *   rtt_run_kernel(fn, how, op, ...)         any kernel fn, with a pool / node state (RttRun)
 *   rtt_lcg(&seed), rtt_uniform(&seed, lo, hi)   deterministic test data
 *   rtt_free_outputs(out, n)                 frees what a run allocated
 *   rtt_expect_dims / _f32 / _i32 / _u8      shape and element checks
 *
 * The node a run builds has input slots 0..n_in-1 (-1 where in[i] is NULL: an absent
 * optional input) and output slots n_in..n_in+n_out-1, so kernels see every output as used.
 * Outputs are cleared before the kernel runs (free what an earlier run left in them first);
 * the kernel's message, if any, is in rtt_err, which each run clears.
 *
 * Everything is static: each suite is its own program with its own rtt_err.
 */
#ifndef WAFER_RT_TEST_UTIL_H
#define WAFER_RT_TEST_UTIL_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/kernels/kernel.h"

/* Inputs and outputs one test node may have. */
#define RTT_MAX_IO 16

/* The last run's error message (empty when it succeeded). */
static RtError rtt_err;

static inline RtTensor rtt_tensor(RtDtype dt, int rank, const int64_t *dims, void *data) {
    RtTensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.rank = rank;
    for (int i = 0; i < rank; i++) t.dims[i] = dims[i];
    t.data = data;
    return t;
}

/* An input over read-only data (a static const table): kernels never write their inputs,
 * so the const is cast away only to fit RtTensor.data. */
static inline RtTensor rtt_tensor_c(RtDtype dt, int rank, const int64_t *dims, const void *data) {
    return rtt_tensor(dt, rank, dims, (void *)data);
}

/* Attributes as ONNX stores them; the _ints, _tensor and _graph ones borrow what they hold
 * (a GRAPH holds an RtGraph, as in a lowered graph's If). */
static inline RtAttr rtt_attr_int(const char *name, int64_t v) {
    return (RtAttr){.name = name, .type = RT_ATTR_INT, .i = v};
}

static inline RtAttr rtt_attr_float(const char *name, float v) {
    return (RtAttr){.name = name, .type = RT_ATTR_FLOAT, .f = v};
}

static inline RtAttr rtt_attr_str(const char *name, const char *s) {
    return (RtAttr){.name = name, .type = RT_ATTR_STRING, .s = s};
}

static inline RtAttr rtt_attr_ints(const char *name, const int64_t *v, int n) {
    return (RtAttr){.name = name, .type = RT_ATTR_INTS, .n = n, .ints = v};
}

static inline RtAttr rtt_attr_tensor(const char *name, const RtTensor *t) {
    return (RtAttr){.name = name, .type = RT_ATTR_TENSOR, .t = t};
}

static inline RtAttr rtt_attr_graph(const char *name, const RtGraph *g) {
    return (RtAttr){.name = name, .type = RT_ATTR_GRAPH, .g = g};
}

/* What RtKernelCtx.run_subgraph points at. */
typedef int (*RttSubgraphFn)(RtKernelCtx *c, const RtGraph *g, RtTensor *const *inputs, int n_in,
                             RtTensor *outputs, int n_out);

/* A small deterministic generator (LCG) for test data: 24 bits per step, and a float in
 * [lo, hi) on a 1/65536 grid. */
static inline uint32_t rtt_lcg(uint32_t *s) {
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static inline float rtt_uniform(uint32_t *s, float lo, float hi) {
    return lo + (hi - lo) * (float)(rtt_lcg(s) & 0xffff) / 65536.0f;
}

/* How rtt_run_kernel runs a kernel beyond the node itself: all fields may be zero / NULL. */
typedef struct {
    struct RtThreadPool *pool;     /* threads for the kernel (NULL = one) */
    RttSubgraphFn run_subgraph;    /* If's branch runner */
    void **node_state;             /* the node's kept state, as the runtime passes it */
    uint64_t const_inputs;         /* which inputs count as graph constants (with node_state) */
} RttRun;

/* Runs kernel fn (of op, at the given opset) on in[n_in] into out[n_out] with attrs[n_attr]
 * as the executor would; shape_only = 1 is the executor's shape mode; how may be NULL.
 * Returns the kernel's status. The core of rtt_run and of the suites that compare an
 * optimized kernel with the reference one. */
static inline int rtt_run_kernel(RtKernelFn fn, const RttRun *how, int op, int opset, RtTensor **in, int n_in,
                                 RtTensor *out, int n_out, RtAttr *attrs, int n_attr, int shape_only) {
    int slots_in[RTT_MAX_IO], slots_out[RTT_MAX_IO];
    RtTensor *outp[RTT_MAX_IO];
    cr_assert(n_in <= RTT_MAX_IO && n_out <= RTT_MAX_IO, "at most %d inputs and outputs", RTT_MAX_IO);
    for (int i = 0; i < n_in; i++) slots_in[i] = in[i] ? i : -1;
    for (int i = 0; i < n_out; i++) {
        slots_out[i] = n_in + i;
        memset(&out[i], 0, sizeof out[i]);
        outp[i] = &out[i];
    }
    RtNode n = {op, "t", rt_op_name(op), "", opset, n_in, slots_in, n_out, slots_out, n_attr, attrs};
    RtKernelCtx c = {.alloc = rt_allocator_default(), .err = &rtt_err, .shape_only = shape_only};
    if (how) {
        c.pool = how->pool;
        c.run_subgraph = how->run_subgraph;
        c.node_state = how->node_state;
        c.state_alloc = rt_allocator_default();
        c.const_inputs = how->const_inputs;
    }
    rtt_err.msg[0] = '\0';
    cr_assert_not_null(fn, "no kernel for %s", rt_op_name(op));
    return fn(&c, &n, in, outp);
}

/* Runs op's reference kernel (at the given opset) on in[n_in] into out[n_out] with
 * attrs[n_attr]; shape_only = 1 is the executor's shape mode. Returns the kernel's status. */
static inline int rtt_run_sub(RttSubgraphFn run_subgraph, int op, int opset, RtTensor **in, int n_in,
                              RtTensor *out, int n_out, RtAttr *attrs, int n_attr, int shape_only) {
    RttRun how = {.run_subgraph = run_subgraph};
    return rtt_run_kernel(rt_kernel_find(op), &how, op, opset, in, n_in, out, n_out, attrs, n_attr, shape_only);
}

static inline int rtt_run(int op, int opset, RtTensor **in, int n_in, RtTensor *out, int n_out, RtAttr *attrs,
                          int n_attr, int shape_only) {
    return rtt_run_sub(NULL, op, opset, in, n_in, out, n_out, attrs, n_attr, shape_only);
}

/* The common case: one output. */
static inline int rtt_run1(int op, int opset, RtTensor **in, int n_in, RtTensor *out, RtAttr *attrs, int n_attr,
                           int shape_only) {
    return rtt_run_sub(NULL, op, opset, in, n_in, out, 1, attrs, n_attr, shape_only);
}

static inline void rtt_free_outputs(RtTensor *out, int n) {
    for (int i = 0; i < n; i++) {
        free(out[i].data);
        out[i].data = NULL;
    }
}

static inline void rtt_expect_dims(const RtTensor *t, int rank, const int64_t *dims) {
    cr_assert_eq(t->rank, rank, "rank %d, want %d", t->rank, rank);
    for (int i = 0; i < rank; i++)
        cr_assert_eq(t->dims[i], dims[i], "dim %d: %lld, want %lld", i, (long long)t->dims[i], (long long)dims[i]);
}

/* A float32 tensor of n elements, each within abs_tol + rel_tol * |want| of want (infinities
 * must match exactly, a NaN wants a NaN). Returns how many elements were off. */
static inline int rtt_expect_f32(const RtTensor *t, const float *want, int n, double abs_tol, double rel_tol) {
    cr_assert_eq(t->dtype, RT_F32, "dtype %s, want float32", rt_dtype_name(t->dtype));
    cr_assert_eq(rt_numel(t), n, "numel %lld, want %d", (long long)rt_numel(t), n);
    const float *got = t->data;
    int bad = 0;
    for (int i = 0; i < n; i++) {
        double g = got[i], w = want[i];
        int ok = isnan(w) ? isnan(g) : isinf(w) ? g == w : fabs(g - w) <= abs_tol + rel_tol * fabs(w);
        cr_expect(ok, "element %d: got %.9g, want %.9g", i, g, w);
        bad += !ok;
    }
    return bad;
}

static inline void rtt_expect_i32(const RtTensor *t, const int32_t *want, int n) {
    cr_assert_eq(t->dtype, RT_I32, "dtype %s, want int32", rt_dtype_name(t->dtype));
    cr_assert_eq(rt_numel(t), n, "numel %lld, want %d", (long long)rt_numel(t), n);
    const int32_t *got = t->data;
    for (int i = 0; i < n; i++) cr_expect_eq(got[i], want[i], "element %d: got %d, want %d", i, got[i], want[i]);
}

/* One-byte elements: uint8 or bool. */
static inline void rtt_expect_u8(const RtTensor *t, const uint8_t *want, int n) {
    cr_assert(rt_dtype_size(t->dtype) == 1, "dtype %s, want one byte per element", rt_dtype_name(t->dtype));
    cr_assert_eq(rt_numel(t), n, "numel %lld, want %d", (long long)rt_numel(t), n);
    const uint8_t *got = t->data;
    for (int i = 0; i < n; i++) cr_expect_eq(got[i], want[i], "element %d: got %d, want %d", i, got[i], want[i]);
}

#endif
