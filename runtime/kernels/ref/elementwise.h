/*
 * elementwise.h — private helpers for the element-wise kernels (ref/unary.c, ref/binary.c):
 * shape-mode allocation, half-precision row conversion, the row-function macro and the
 * broadcast walker.
 *
 * The walker runs a row function over a broadcast output. It first simplifies the shapes:
 * size-1 output axes are dropped and an axis is merged into the next inner one wherever
 * every source steps through both as one run (or not at all). So [2,3,4]+[2,3,4] is one row
 * of 24, [1]+[2,3] one row of 6 where the first source has step 0, and [2,3,4]+[3,1] six
 * rows of 4 where the second source has step 0. An odometer over the remaining outer axes
 * then hands each row's start pointers to the row function; row functions (EW_ROW2)
 * special-case steps 0 and 1 so the innermost loop is a plain tight loop.
 *
 * Everything here is static inline: only the two element-wise files include it.
 */
#ifndef WAFER_REF_ELEMENTWISE_H
#define WAFER_REF_ELEMENTWISE_H

#include "../kernel.h"

#include <string.h>

#define EW_MAX_SRC 3  /* Where has three sources; everything else one or two */
#define EW_CHUNK 256  /* elements per half-precision conversion block (stack buffers) */

/* One output row: n elements; src[k] starts source k's row and advances step[k] elements
 * per output element (0 = broadcast, 1 = contiguous); dst is contiguous. */
typedef void (*EwRowFn)(int64_t n, const void *const *src, const int64_t *step, void *dst,
                        const void *ctx);

/* rt_out_alloc, except that the answer is shape-only when one of the first n_in inputs has
 * no data (shape inference over values that are not known yet). */
static inline int ew_out_alloc(RtKernelCtx *c, RtTensor *out, RtDtype dt, int rank,
                               const int64_t *dims, int n_in, const RtTensor *const *in) {
    if (rank < 0 || rank > RT_MAX_RANK) return rt_fail(c, "output rank %d out of range", rank);
    rt_out_set_shape(out, dt, rank, dims);
    for (int i = 0; i < n_in; i++)
        if (in[i] && !in[i]->data) return RT_SHAPE_ONLY;
    return rt_out_alloc_data(c, out);
}

/* The standard "this dtype is not supported" failure. */
static inline int ew_unsupported(RtKernelCtx *c, RtDtype dt, const char *input) {
    rt_fail(c, "dtype %s is not supported for input '%s'", rt_dtype_name(dt), input);
    return RT_ERR_UNSUPPORTED;
}

static inline int ew_is_half(RtDtype dt) { return dt == RT_F16 || dt == RT_BF16; }

/* n half-precision elements (every step-th) -> floats. */
static inline void ew_half_load(RtDtype dt, const uint16_t *x, int64_t step, int64_t n, float *y) {
    if (step == 1 && dt == RT_F16)
        rt_f16_to_f32_n(x, y, n);
    else if (dt == RT_F16)
        for (int64_t i = 0; i < n; i++) y[i] = rt_f16_to_f32(x[i * step]);
    else
        for (int64_t i = 0; i < n; i++) y[i] = rt_bf16_to_f32(x[i * step]);
}

/* n floats -> contiguous half-precision elements, rounding to nearest even. */
static inline void ew_half_store(RtDtype dt, const float *x, int64_t n, uint16_t *y) {
    if (dt == RT_F16)
        rt_f32_to_f16_n(x, y, n);
    else
        rt_f32_to_bf16_n(x, y, n);
}

/* Defines row function NAME computing y = EXPR of x0 (a TA from source 0) and x1 (a TB from
 * source 1) into a TY. The step cases are split so the common ones vectorize. */
#define EW_ROW2(NAME, TA, TB, TY, EXPR)                                                   \
    static void NAME(int64_t n, const void *const *src_, const int64_t *st_, void *dst_,  \
                     const void *ctx_) {                                                  \
        const TA *a_ = (const TA *)src_[0];                                               \
        const TB *b_ = (const TB *)src_[1];                                               \
        TY *y_ = (TY *)dst_;                                                              \
        (void)ctx_;                                                                       \
        if (st_[0] == 1 && st_[1] == 1) {                                                 \
            for (int64_t i = 0; i < n; i++) {                                             \
                TA x0 = a_[i];                                                            \
                TB x1 = b_[i];                                                            \
                y_[i] = (EXPR);                                                           \
            }                                                                             \
        } else if (st_[0] == 1 && st_[1] == 0) {                                          \
            TB x1 = b_[0];                                                                \
            for (int64_t i = 0; i < n; i++) {                                             \
                TA x0 = a_[i];                                                            \
                y_[i] = (EXPR);                                                           \
            }                                                                             \
        } else if (st_[0] == 0 && st_[1] == 1) {                                          \
            TA x0 = a_[0];                                                                \
            for (int64_t i = 0; i < n; i++) {                                             \
                TB x1 = b_[i];                                                            \
                y_[i] = (EXPR);                                                           \
            }                                                                             \
        } else {                                                                          \
            for (int64_t i = 0; i < n; i++) {                                             \
                TA x0 = a_[i * st_[0]];                                                   \
                TB x1 = b_[i * st_[1]];                                                   \
                y_[i] = (EXPR);                                                           \
            }                                                                             \
        }                                                                                 \
    }

/* Output shape of all n sources broadcast together (numpy rules); RT_ERR naming the
 * shapes when they are incompatible. */
static inline int ew_broadcast_all(RtKernelCtx *c, int n, const RtTensor *const *src, int *rank,
                                   int64_t *dims) {
    *rank = src[0]->rank;
    memcpy(dims, src[0]->dims, sizeof(int64_t) * (size_t)src[0]->rank);
    for (int k = 1; k < n; k++) {
        int64_t prev[RT_MAX_RANK];
        int r = *rank;
        memcpy(prev, dims, sizeof(int64_t) * (size_t)r);
        RT_TRY(rt_broadcast_shape(c, r, prev, src[k]->rank, src[k]->dims, rank, dims));
    }
    return RT_OK;
}

/* Runs fn over out (already allocated, shape = broadcast of the sources). Sources may alias
 * out when they have out's shape (accumulation). */
static inline void ew_broadcast_run(int n_src, const RtTensor *const *src, RtTensor *out,
                                    EwRowFn fn, const void *ctx) {
    int64_t full[EW_MAX_SRC][RT_MAX_RANK];   /* per source: element strides on out's axes */
    int64_t dims[RT_MAX_RANK];               /* simplified output shape */
    int64_t st[EW_MAX_SRC][RT_MAX_RANK];     /* per source: strides on the simplified axes */
    size_t esz[EW_MAX_SRC];
    int r = 0;
    if (rt_numel(out) == 0) return;
    for (int k = 0; k < n_src; k++) {
        rt_broadcast_strides(src[k]->rank, src[k]->dims, out->rank, out->dims, full[k]);
        esz[k] = rt_dtype_size(src[k]->dtype);
    }
    for (int i = 0; i < out->rank; i++) {
        int64_t d = out->dims[i];
        if (d == 1) continue;
        int merge = r > 0;
        for (int k = 0; k < n_src && merge; k++) merge = st[k][r - 1] == full[k][i] * d;
        if (merge) {
            dims[r - 1] *= d;
            for (int k = 0; k < n_src; k++) st[k][r - 1] = full[k][i];
        } else {
            dims[r] = d;
            for (int k = 0; k < n_src; k++) st[k][r] = full[k][i];
            r++;
        }
    }
    if (r == 0) { /* every axis is 1: a single element */
        dims[0] = 1;
        for (int k = 0; k < n_src; k++) st[k][0] = 0;
        r = 1;
    }
    int64_t inner = dims[r - 1], step[EW_MAX_SRC], off[EW_MAX_SRC] = {0}, idx[RT_MAX_RANK] = {0};
    for (int k = 0; k < n_src; k++) step[k] = st[k][r - 1];
    int64_t rows = rt_shape_numel(r - 1, dims);
    size_t ysz = rt_dtype_size(out->dtype);
    for (int64_t row = 0; row < rows; row++) {
        const void *p[EW_MAX_SRC];
        for (int k = 0; k < n_src; k++) p[k] = (const char *)src[k]->data + (size_t)off[k] * esz[k];
        fn(inner, p, step, (char *)out->data + (size_t)(row * inner) * ysz, ctx);
        for (int a = r - 2; a >= 0; a--) { /* odometer over the outer axes */
            for (int k = 0; k < n_src; k++) off[k] += st[k][a];
            if (++idx[a] < dims[a]) break;
            for (int k = 0; k < n_src; k++) off[k] -= st[k][a] * dims[a];
            idx[a] = 0;
        }
    }
}

#endif
