/*
 * kernel_util.c — helpers shared by all kernels: outputs, attributes, axes, element
 * access for any dtype, and numpy broadcasting.
 */
#include "kernel.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int rt_fail(RtKernelCtx *c, const char *fmt, ...) {
    if (c->err && c->err->msg[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err->msg, sizeof c->err->msg, fmt, ap);
        va_end(ap);
    }
    return RT_ERR;
}

void rt_out_set_shape(RtTensor *t, RtDtype dtype, int rank, const int64_t *dims) {
    t->dtype = dtype;
    t->rank = rank;
    for (int i = 0; i < rank; i++) t->dims[i] = dims[i];
}

int rt_out_alloc_data(RtKernelCtx *c, RtTensor *t) {
    if (c->shape_only) return RT_SHAPE_ONLY;
    int64_t bytes = rt_nbytes(t);
    if (bytes < 0) {
        char s[128];
        return rt_fail(c, "output of shape %s and dtype %s is too large",
                       rt_shape_str(t->rank, t->dims, s, sizeof s), rt_dtype_name(t->dtype));
    }
    if ((uint64_t)bytes > (uint64_t)SIZE_MAX) return rt_fail(c, "output too large");
    for (int j = 0; j < c->n_planned; j++)
        if (c->planned_out[j] == t && t->data) {
            if (bytes > c->planned_bytes[j])
                return rt_fail(c, "output needs %lld bytes, the plan gave it %lld (shapes differ from the planned ones)",
                               (long long)bytes, (long long)c->planned_bytes[j]);
            return RT_OK;
        }
    t->data = c->alloc->alloc(c->alloc->user, (size_t)(bytes ? bytes : 1));
    if (!t->data) {
        rt_fail(c, "out of memory allocating %lld bytes", (long long)bytes);
        return RT_ERR_NOMEM;
    }
    return RT_OK;
}

int rt_out_alloc(RtKernelCtx *c, RtTensor *t, RtDtype dtype, int rank, const int64_t *dims) {
    if (rank < 0 || rank > RT_MAX_RANK) return rt_fail(c, "output rank %d out of range", rank);
    rt_out_set_shape(t, dtype, rank, dims);
    return rt_out_alloc_data(c, t);
}

void *rt_scratch(RtKernelCtx *c, size_t bytes) {
    void *p = c->alloc->alloc(c->alloc->user, bytes ? bytes : 1);
    if (!p) rt_fail(c, "out of memory allocating %zu bytes of scratch", bytes);
    return p;
}

void rt_scratch_free(RtKernelCtx *c, void *p) {
    if (p) c->alloc->free(c->alloc->user, p);
}

const RtAttr *rt_attr(const RtNode *n, const char *name) {
    for (int i = 0; i < n->n_attr; i++)
        if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
    return NULL;
}

int64_t rt_attr_int(const RtNode *n, const char *name, int64_t def) {
    const RtAttr *a = rt_attr(n, name);
    return (a && a->type == RT_ATTR_INT) ? a->i : def;
}

float rt_attr_float(const RtNode *n, const char *name, float def) {
    const RtAttr *a = rt_attr(n, name);
    if (a && a->type == RT_ATTR_FLOAT) return a->f;
    if (a && a->type == RT_ATTR_INT) return (float)a->i;
    return def;
}

const char *rt_attr_str(const RtNode *n, const char *name, const char *def) {
    const RtAttr *a = rt_attr(n, name);
    return (a && a->type == RT_ATTR_STRING) ? a->s : def;
}

int rt_attr_ints(const RtNode *n, const char *name, const int64_t **v) {
    const RtAttr *a = rt_attr(n, name);
    if (!a || a->type != RT_ATTR_INTS) return -1;
    *v = a->ints;
    return a->n;
}

int rt_axis(RtKernelCtx *c, int64_t axis, int rank, const char *what) {
    int64_t a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= (rank > 0 ? rank : 1)) {
        rt_fail(c, "%s %lld is out of range for rank %d", what, (long long)axis, rank);
        return -1;
    }
    return (int)a;
}

double rt_get_f64(const RtTensor *t, int64_t i) {
    const void *p = t->data;
    switch (t->dtype) {
    case RT_F32: return ((const float *)p)[i];
    case RT_F64: return ((const double *)p)[i];
    case RT_F16: return rt_f16_to_f32(((const uint16_t *)p)[i]);
    case RT_BF16: return rt_bf16_to_f32(((const uint16_t *)p)[i]);
    case RT_I8: return ((const int8_t *)p)[i];
    case RT_U8: case RT_BOOL: return ((const uint8_t *)p)[i];
    case RT_I16: return ((const int16_t *)p)[i];
    case RT_U16: return ((const uint16_t *)p)[i];
    case RT_I32: return ((const int32_t *)p)[i];
    case RT_U32: return ((const uint32_t *)p)[i];
    case RT_I64: return (double)((const int64_t *)p)[i];
    case RT_U64: return (double)((const uint64_t *)p)[i];
    default: return 0;
    }
}

int64_t rt_get_i64(const RtTensor *t, int64_t i) {
    const void *p = t->data;
    switch (t->dtype) {
    case RT_I64: return ((const int64_t *)p)[i];
    case RT_U64: return (int64_t)((const uint64_t *)p)[i];
    case RT_I32: return ((const int32_t *)p)[i];
    case RT_U32: return ((const uint32_t *)p)[i];
    case RT_I16: return ((const int16_t *)p)[i];
    case RT_U16: return ((const uint16_t *)p)[i];
    case RT_I8: return ((const int8_t *)p)[i];
    case RT_U8: case RT_BOOL: return ((const uint8_t *)p)[i];
    default: {
        double d = rt_get_f64(t, i);
        if (d != d) return 0;
        if (d >= 9.2e18) return INT64_MAX;
        if (d <= -9.2e18) return INT64_MIN;
        return (int64_t)d;
    }
    }
}

void rt_set_f64(RtTensor *t, int64_t i, double v) {
    void *p = t->data;
    switch (t->dtype) {
    case RT_F32: ((float *)p)[i] = (float)v; break;
    case RT_F64: ((double *)p)[i] = v; break;
    case RT_F16: ((uint16_t *)p)[i] = rt_f32_to_f16((float)v); break;
    case RT_BF16: ((uint16_t *)p)[i] = rt_f32_to_bf16((float)v); break;
    case RT_BOOL: ((uint8_t *)p)[i] = v != 0; break;
    case RT_I8: ((int8_t *)p)[i] = (int8_t)v; break;
    case RT_U8: ((uint8_t *)p)[i] = (uint8_t)v; break;
    case RT_I16: ((int16_t *)p)[i] = (int16_t)v; break;
    case RT_U16: ((uint16_t *)p)[i] = (uint16_t)v; break;
    case RT_I32: ((int32_t *)p)[i] = (int32_t)v; break;
    case RT_U32: ((uint32_t *)p)[i] = (uint32_t)v; break;
    case RT_I64: ((int64_t *)p)[i] = (int64_t)v; break;
    case RT_U64: ((uint64_t *)p)[i] = (uint64_t)v; break;
    default: break;
    }
}

/* double -> float rounded to odd: truncate, then set the last bit if anything was lost.
 * A later round-to-nearest to float16/bfloat16 (>= 2 bits shorter) then rounds as if
 * straight from the double. */
static float f64_to_f32_odd(double d) {
    float f = (float)d;
    if ((double)f == d || f != f) return f;
    if (fabs((double)f) > fabs(d)) f = nextafterf(f, 0.0f);
    uint32_t b;
    memcpy(&b, &f, 4);
    b |= 1;
    memcpy(&f, &b, 4);
    return f;
}

/* Truncate toward zero, saturating at [LO, HI]; NaN -> 0. */
#define SAT_TRUNC(T, LO, HI) \
    (d != d ? (T)0 : d <= (double)(LO) ? (T)(LO) : d >= (double)(HI) ? (T)(HI) : (T)d)

void rt_set_f64_sat(RtTensor *t, int64_t i, double d) {
    void *o = t->data;
    switch (t->dtype) {
    case RT_F32: ((float *)o)[i] = (float)d; break;
    case RT_F64: ((double *)o)[i] = d; break;
    case RT_F16: ((uint16_t *)o)[i] = rt_f32_to_f16(f64_to_f32_odd(d)); break;
    case RT_BF16: ((uint16_t *)o)[i] = rt_f32_to_bf16(f64_to_f32_odd(d)); break;
    case RT_BOOL: ((uint8_t *)o)[i] = d != 0; break;  /* NaN -> true, as numpy */
    case RT_I8: ((int8_t *)o)[i] = SAT_TRUNC(int8_t, INT8_MIN, INT8_MAX); break;
    case RT_I16: ((int16_t *)o)[i] = SAT_TRUNC(int16_t, INT16_MIN, INT16_MAX); break;
    case RT_I32: ((int32_t *)o)[i] = SAT_TRUNC(int32_t, INT32_MIN, INT32_MAX); break;
    case RT_I64: ((int64_t *)o)[i] = SAT_TRUNC(int64_t, INT64_MIN, INT64_MAX); break;
    case RT_U8: ((uint8_t *)o)[i] = SAT_TRUNC(uint8_t, 0, UINT8_MAX); break;
    case RT_U16: ((uint16_t *)o)[i] = SAT_TRUNC(uint16_t, 0, UINT16_MAX); break;
    case RT_U32: ((uint32_t *)o)[i] = SAT_TRUNC(uint32_t, 0, UINT32_MAX); break;
    case RT_U64: ((uint64_t *)o)[i] = SAT_TRUNC(uint64_t, 0, UINT64_MAX); break;
    default: break;
    }
}

int rt_broadcast_shape(RtKernelCtx *c, int ra, const int64_t *da, int rb, const int64_t *db,
                       int *rank, int64_t *dims) {
    int r = ra > rb ? ra : rb;
    for (int i = 0; i < r; i++) {
        int64_t a = (i - (r - ra) >= 0) ? da[i - (r - ra)] : 1;
        int64_t b = (i - (r - rb) >= 0) ? db[i - (r - rb)] : 1;
        if (a != b && a != 1 && b != 1) {
            char sa[128], sb[128];
            return rt_fail(c, "shapes %s and %s cannot be broadcast", rt_shape_str(ra, da, sa, sizeof sa),
                           rt_shape_str(rb, db, sb, sizeof sb));
        }
        dims[i] = (a == 1) ? b : a;
    }
    *rank = r;
    return RT_OK;
}

void rt_broadcast_strides(int r, const int64_t *d, int rank, const int64_t *dims, int64_t *strides) {
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) {
        int j = i - (rank - r);
        if (j < 0) {
            strides[i] = 0;
            continue;
        }
        strides[i] = (d[j] == 1 && dims[i] != 1) ? 0 : s;
        s *= d[j];
    }
}
