/*
 * emit_ops_common.h — the small helpers every op emitter of emit-c uses (private to
 * codegen/; included by emit_ops.c and the emit_ops_<family>.c files): a node's input and
 * output tensors (shapes and dtypes from the memory plan), their C pointer expressions,
 * constant inputs read at emit time, dtype checks with the node-naming error, per-node
 * int32 tables, and numpy broadcasting tables for wk_bcast (template b0_bcast).
 *
 * Static inline so each family file gets them without a link-time API; unused ones cost
 * nothing.
 */
#ifndef WAFER_EMIT_OPS_COMMON_H
#define WAFER_EMIT_OPS_COMMON_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/kernels/quant.h"
#include "emit_internal.h"

static inline const RtTensor *vin(EcCtx *c, const RtNode *n, int j) {
    return j < n->n_in && n->in[j] >= 0 ? &c->val[n->in[j]] : NULL;
}

static inline const RtTensor *kin(EcCtx *c, const RtNode *n, int j) {
    return j < n->n_in && n->in[j] >= 0 ? c->g->values[n->in[j]].konst : NULL;
}

static inline const char *P(EcCtx *c, const RtNode *n, int j, char *buf) {
    if (j >= n->n_in || n->in[j] < 0) return "NULL";
    return ec_ptr(c, n->in[j], 1, buf, 96);
}

static inline const char *Y(EcCtx *c, const RtNode *n, char *buf) { return ec_ptr(c, n->out[0], 0, buf, 96); }

static inline const RtTensor *yval(EcCtx *c, const RtNode *n) { return &c->val[n->out[0]]; }

static inline int need_dtype(EcCtx *c, int k, const RtTensor *t, RtDtype want, const char *what) {
    if (!t) return ec_fail(c, k, RT_ERR, "input %s is required", what);
    if (t->dtype != want)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "%s has dtype %s; emit-c's kernel takes %s", what,
                       rt_dtype_name(t->dtype), rt_dtype_name(want));
    return RT_OK;
}

/* One float32 constant (a per-tensor scale). */
static inline int const_f32(EcCtx *c, int k, const RtNode *n, int j, const char *what, double *v) {
    const RtTensor *t = kin(c, n, j);
    *v = 0;
    if (!t || t->dtype != RT_F32 || rt_numel(t) != 1)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "%s must be one constant float32 value", what);
    *v = ((const float *)t->data)[0];
    if (!(*v > 0.0) || *v > 3.4e38) return ec_fail(c, k, RT_ERR, "%s = %g must be a positive finite number", what, *v);
    return RT_OK;
}

/* A constant per-tensor zero point (0 when absent). */
static inline int const_zp(EcCtx *c, int k, const RtNode *n, int j, const char *what, int32_t *z) {
    *z = 0;
    if (j >= n->n_in || n->in[j] < 0) return RT_OK;
    const RtTensor *t = kin(c, n, j);
    if (!t || rt_numel(t) != 1) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "%s must be one constant value", what);
    *z = rt_qget(t, 0);
    return RT_OK;
}

static inline void decl_i32s(EcCtx *c, int k, const char *what, const int32_t *v, int64_t n) {
    text_buf_printf(&c->decl, "static const int32_t n%d_%s[%lld] = {", k, what, (long long)n);
    for (int64_t i = 0; i < n; i++)
        text_buf_printf(&c->decl, "%s%ld%s", i % 12 == 0 ? "\n    " : "", (long)v[i], i + 1 < n ? ", " : "");
    text_buf_printf(&c->decl, "\n};\n");
}

static inline int64_t attr_at(const RtNode *n, const char *name, int i, int64_t def) {
    const int64_t *v;
    int cnt = rt_attr_ints(n, name, &v);
    return cnt > i ? v[i] : def;
}

/* Numpy broadcasting of a and b to y: n<k>_dims, n<k>_sa, n<k>_sb [rank] for wk_bcast.
 * Returns 0 when both operands have y's shape (no tables needed), 1 when written. */
static inline int bcast_emit(EcCtx *c, int k, const RtTensor *a, const RtTensor *b, const RtTensor *y) {
    if (rt_shape_equal(a, y) && rt_shape_equal(b, y)) return 0;
    int32_t d[RT_MAX_RANK], sa[RT_MAX_RANK], sb[RT_MAX_RANK];
    int64_t st_a = 1, st_b = 1;
    for (int i = y->rank - 1; i >= 0; i--) {
        int ia = i - (y->rank - a->rank), ib = i - (y->rank - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        d[i] = (int32_t)y->dims[i];
        sa[i] = da == 1 ? 0 : (int32_t)st_a;
        sb[i] = db == 1 ? 0 : (int32_t)st_b;
        st_a *= da, st_b *= db;
    }
    decl_i32s(c, k, "dims", d, y->rank > 0 ? y->rank : 1);
    decl_i32s(c, k, "sa", sa, y->rank > 0 ? y->rank : 1);
    decl_i32s(c, k, "sb", sb, y->rank > 0 ? y->rank : 1);
    ec_tpl_use(c, "b0_bcast");
    return 1;
}

#endif
