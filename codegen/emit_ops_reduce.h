/*
 * emit_ops_reduce.h — what the reduce family's files of emit-c share (private to codegen/):
 * dtype and axis checks, the emit-time walk of a reduction (RedPlan: kept and reduced merged
 * axes, and the loop that visits one output's elements), and the emitters each file adds to
 * the table ec_ops_reduce (emit_ops_reduce.c).
 *
 *   emit_ops_reduce.c        ReduceX, ArgMax/ArgMin, CumSum, QLinearReduceMean, the table
 *   emit_ops_reduce_norm.c   LogSoftmax, Hardmax, Batch/Instance/Group/RMS/Lp/MeanVariance
 *                            normalizations, QLinearSoftmax
 *   emit_ops_reduce_pool.c   GlobalMaxPool, GlobalLpPool, LpPool
 *   emit_ops_reduce_loss.c   NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss
 *
 * Static inline so each file gets them without a link-time API; unused ones cost nothing.
 */
#ifndef WAFER_EMIT_OPS_REDUCE_H
#define WAFER_EMIT_OPS_REDUCE_H

#include "emit_ops_common.h"

static inline int red_is_float(RtDtype t) { return t == RT_F32 || t == RT_F64; }

static inline int red_is_unsigned(RtDtype t) {
    return t == RT_U8 || t == RT_U16 || t == RT_U32 || t == RT_U64 || t == RT_BOOL;
}

/* The node's dtype check: an element type emit-c writes. */
static inline int red_need_ctype(EcCtx *c, int k, const RtTensor *t, const char *what, const char **ct) {
    *ct = NULL;
    if (!t) return ec_fail(c, k, RT_ERR, "input %s is required", what);
    *ct = ec_ctype(t->dtype);
    if (!*ct)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "%s has dtype %s, which emit-c has no C type for", what,
                       rt_dtype_name(t->dtype));
    return RT_OK;
}

/* One axis set as an emit-time walk: kept merged axes (output order) and reduced merged
 * axes, each with its extent and input stride (elements). */
typedef struct {
    int nk, nr;
    int32_t kd[RT_MAX_RANK], ks[RT_MAX_RANK]; /* kept extents, input strides */
    int32_t rd[RT_MAX_RANK], rs[RT_MAX_RANK]; /* reduced extents, input strides */
    int64_t count;                            /* elements per output (product of reduced dims) */
} RedPlan;

/* mask[i] = 1 for reduced axes of dims. Size-1 axes are dropped, neighbours of the same kind
 * merged (a merged axis spans contiguous memory, so its stride is the inner one's). */
static inline void red_plan_make(RedPlan *p, int rank, const int64_t *dims, const unsigned char *mask) {
    int64_t md[RT_MAX_RANK];
    unsigned char kind[RT_MAX_RANK];
    int r = 0;
    memset(p, 0, sizeof *p);
    for (int i = 0; i < rank; i++) {
        if (dims[i] == 1) continue;
        if (r > 0 && kind[r - 1] == mask[i])
            md[r - 1] *= dims[i];
        else
            kind[r] = mask[i], md[r++] = dims[i];
    }
    int64_t st[RT_MAX_RANK], s = 1;
    for (int i = r - 1; i >= 0; i--)
        st[i] = s, s *= md[i];
    p->count = 1;
    for (int i = 0; i < r; i++) {
        if (kind[i]) {
            p->rd[p->nr] = (int32_t)md[i], p->rs[p->nr++] = (int32_t)st[i];
            p->count *= md[i];
        } else {
            p->kd[p->nk] = (int32_t)md[i], p->ks[p->nk++] = (int32_t)st[i];
        }
    }
}

/* Writes the plan's walk tables n<k>_kd/ks (kept axes) and n<k>_rd/rs (reduced axes but the
 * inner one) and marks wk_reduce_off when a walk needs them. */
static inline void red_plan_emit(EcCtx *c, int k, const RedPlan *p) {
    if (p->nk) {
        decl_i32s(c, k, "kd", p->kd, p->nk);
        decl_i32s(c, k, "ks", p->ks, p->nk);
    }
    if (p->nr > 1) {
        decl_i32s(c, k, "rd", p->rd, p->nr - 1);
        decl_i32s(c, k, "rs", p->rs, p->nr - 1);
    }
    if (p->nk || p->nr > 1) ec_tpl_use(c, "b0_reduce_off");
}

/* The statement that points xo at the first input element of output o (inside the loop over
 * o): through the kept axes' walk tables, or x itself when every axis is reduced. */
static inline void red_origin_emit(EcCtx *c, int k, const RedPlan *p, const char *xt) {
    if (p->nk)
        text_buf_printf(&c->body, "            const %s *xo = x + wk_reduce_off(o, %d, n%d_kd, n%d_ks);\n", xt, p->nk,
                        k, k);
    else
        text_buf_printf(&c->body, "            const %s *xo = x;\n", xt);
}

/* The statements that visit every element of output o (xo points at its first): `v` holds
 * each (converted to VT) inside BODY. The last reduced merged axis is the inner loop. */
static inline void red_visit(EcCtx *c, int k, const RedPlan *p, const char *xt, const char *vt, const char *body) {
    int32_t L = p->nr ? p->rd[p->nr - 1] : 1, S = p->nr ? p->rs[p->nr - 1] : 0;
    int64_t steps = L ? p->count / L : 0;
    if (p->count == 0) return;
    text_buf_printf(&c->body, "            for (r = 0; r < %lld; r++) {\n", (long long)steps);
    if (p->nr > 1)
        text_buf_printf(&c->body, "                const %s *q = xo + wk_reduce_off(r, %d, n%d_rd, n%d_rs);\n", xt,
                        p->nr - 1, k, k);
    else
        text_buf_printf(&c->body, "                const %s *q = xo;\n", xt);
    text_buf_printf(&c->body,
                    "                for (j = 0; j < %ld; j++) {\n                    %s v = (%s)q[j * %ld];\n"
                    "                    %s\n                }\n            }\n",
                    (long)L, vt, vt, (long)S, body);
}

/* A float tensor (float32 or float64; float16 / bfloat16 have no C type here). */
static inline int red_need_float(EcCtx *c, int k, const RtTensor *t, const char *what, const char **ct) {
    *ct = NULL;
    if (!t) return ec_fail(c, k, RT_ERR, "input %s is required", what);
    if (!red_is_float(t->dtype))
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "%s has dtype %s; emit-c computes this op in float32 or float64", what,
                       rt_dtype_name(t->dtype));
    *ct = ec_ctype(t->dtype);
    return RT_OK;
}

/* An axis attribute (or value) normalized against rank. */
static inline int red_axis(EcCtx *c, int k, int64_t a, int rank, const char *what, int *axis) {
    if (a < 0) a += rank;
    if (a < 0 || a >= rank) return ec_fail(c, k, RT_ERR, "%s is out of range for rank %d", what, rank);
    *axis = (int)a;
    return RT_OK;
}

/* A double as an exact C99 hex literal (finite values only). */
static inline int red_double_lit(EcCtx *c, int k, double v, const char *what, char *buf, size_t n) {
    if (!isfinite(v)) return ec_fail(c, k, RT_ERR, "%s = %g is not a finite number", what, v);
    snprintf(buf, n, "%a", v);
    return RT_OK;
}

/* outer, n, inner around axis: x viewed as [outer, n, inner]. */
static inline void red_view(const RtTensor *x, int axis, int64_t *outer, int64_t *len, int64_t *inner) {
    *outer = rt_shape_numel(axis, x->dims);
    *len = x->dims[axis];
    *inner = rt_shape_numel(x->rank - axis - 1, x->dims + axis + 1);
}

/* p of LpPool / GlobalLpPool: INT (opset >= 2) or FLOAT (opset 1) attribute, default 2. */
static inline int red_lp_p(EcCtx *c, int k, const RtNode *n, double *p) {
    const RtAttr *a = rt_attr(n, "p");
    *p = !a ? 2.0 : a->type == RT_ATTR_FLOAT ? (double)a->f : (double)a->i;
    if (!(*p > 0) || !isfinite(*p)) return ec_fail(c, k, RT_ERR, "attribute p = %g must be > 0", *p);
    if (*p != 1.0 && *p != 2.0 && c->o->no_libm)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "p = %g needs pow(), which --no-libm excludes (p = 1 and 2 do not)",
                       *p);
    return RT_OK;
}

/* The scales and zero points of a com.microsoft quantized op: constants (per tensor). */
static inline int red_q8(EcCtx *c, int k, const RtNode *n, const char *what, const char **ct, int32_t *lo,
                         int32_t *hi) {
    *ct = NULL, *lo = 0, *hi = 0;
    const RtTensor *x = vin(c, n, 0);
    if (!x || (x->dtype != RT_I8 && x->dtype != RT_U8))
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "input %s must be int8 or uint8", what);
    *ct = ec_ctype(x->dtype);
    *lo = x->dtype == RT_I8 ? -128 : 0;
    *hi = x->dtype == RT_I8 ? 127 : 255;
    return RT_OK;
}

/* The emitters of the other reduce-family files (each an EcEmitFn). */
int ec_red_softmax_family(EcCtx *c, int k, const RtNode *n);
int ec_red_batch_norm(EcCtx *c, int k, const RtNode *n);
int ec_red_instance_norm(EcCtx *c, int k, const RtNode *n);
int ec_red_group_norm(EcCtx *c, int k, const RtNode *n);
int ec_red_mvn(EcCtx *c, int k, const RtNode *n);
int ec_red_lp_norm(EcCtx *c, int k, const RtNode *n);
int ec_red_rms_norm(EcCtx *c, int k, const RtNode *n);
int ec_red_qlinear_softmax(EcCtx *c, int k, const RtNode *n);
int ec_red_global_pool(EcCtx *c, int k, const RtNode *n);
int ec_red_lp_pool(EcCtx *c, int k, const RtNode *n);
int ec_red_loss(EcCtx *c, int k, const RtNode *n);

#endif
