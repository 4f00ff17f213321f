/*
 * quant.c — the ONNX quantization ops: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear,
 * QLinearConv, ConvInteger, QLinearMatMul, MatMulInteger (opsets 10-21), and the integer
 * convolution they share with wafer's QConv (rt_qconv_acc, declared in quant.h).
 *
 * Quantize/Dequantize: scale granularity comes from the scale's shape — a scalar (per
 * tensor), a 1-D tensor of x's axis length (per axis, opset >= 13), or x's shape with the axis
 * divided into ceil(D / block_size) blocks (blocked, opset 21). x is viewed as
 * [outer, D, inner] around the axis and each element finds its scale by strides.
 *   QuantizeLinear    y = clamp(nearbyint(x / s) + zp, dtype range)  x / s in float32 (int32 x: double);
 *                     an output_dtype of int4 / uint4 (21+) or int2 / uint2 (25+) is held widened
 *                     in int8 / uint8 and clamped to that type's range
 *   DequantizeLinear  y = float(x - zp) * s, stored in the scale's dtype (opset >= 19)
 * Opset 23 names the arithmetic's precision P: QuantizeLinear's `precision` (default y_scale's
 * dtype), DequantizeLinear's output type (`output_dtype`, default x_scale's). Both operands are
 * rounded to P and the float32 result rounded to P once more; for float16 / bfloat16 that equals
 * the operation done in P (float32 carries more than 2p + 2 bits, so the double rounding of a
 * quotient or product is exact), for float32 it is the float32 operation.
 *   DynamicQuantizeLinear  uint8, range widened to include 0; s = (max - min) / 255 (1 when
 *                     max == min, as onnxruntime), zp = round_even(clamp(-min / s, 0, 255))
 * Integer products: operands minus zero points become int16 copies, multiplied with the int32
 * GEMMs of quant.h (convolution through int16 im2col, chunked by output columns). QLinearConv
 * and QLinearMatMul then requantize in float as the spec and onnxruntime do:
 *   y = clamp(nearbyint(float(acc) * (a_scale * b_scale / y_scale)) + y_zp), multiplier in float32.
 * MatMul zero points and scales may be per row of A / per column of B (1-D vectors or N-D
 * tensors broadcastable to [..., M, 1] / [..., 1, N]), as the spec allows.
 */
#include <string.h>

#include "../quant.h"
#include "conv_geom.h"

static int is_q8(RtDtype t) { return t == RT_I8 || t == RT_U8; }
static int is_fscale(RtDtype t) { return t == RT_F32 || t == RT_F16 || t == RT_BF16; }

static float load_f(const RtTensor *t, int64_t i) {
    switch (t->dtype) {
    case RT_F32: return ((const float *)t->data)[i];
    case RT_F16: return rt_f16_to_f32(((const uint16_t *)t->data)[i]);
    case RT_BF16: return rt_bf16_to_f32(((const uint16_t *)t->data)[i]);
    default: return (float)rt_get_f64(t, i);
    }
}

static void store_f(RtTensor *t, int64_t i, float v) {
    switch (t->dtype) {
    case RT_F32: ((float *)t->data)[i] = v; break;
    case RT_F16: ((uint16_t *)t->data)[i] = rt_f32_to_f16(v); break;
    case RT_BF16: ((uint16_t *)t->data)[i] = rt_f32_to_bf16(v); break;
    default: rt_set_f64(t, i, (double)v); break;
    }
}

static int unsupported(RtKernelCtx *c, const char *what, RtDtype t, const char *allowed) {
    rt_fail(c, "%s has dtype %s; supported: %s", what, rt_dtype_name(t), allowed);
    return RT_ERR_UNSUPPORTED;
}

/* ---------------------------------------------------------------- Quantize / Dequantize */

/* Element (o, a, i) of x viewed as [outer, D, inner] uses scale o*so + (a / block)*sa + i*si. */
typedef struct {
    int64_t outer, D, inner; /* x = [outer, D, inner] around the axis */
    int64_t block;           /* axis elements per scale: 1 unless blocked */
    int64_t so, sa, si;      /* scale strides; all 0 per tensor */
} QdqLayout;

static void layout_split(const RtTensor *x, int ax, QdqLayout *L) {
    L->outer = rt_shape_numel(ax, x->dims);
    L->D = x->dims[ax];
    L->inner = rt_shape_numel(x->rank - ax - 1, x->dims + ax + 1);
}

/* Reads the granularity of scale s (and checks zp against it) for x. */
static int qdq_layout(RtKernelCtx *c, const RtNode *n, const RtTensor *x, const RtTensor *s,
                      const RtTensor *zp, QdqLayout *L) {
    char sx[128], ss[128], sz[128];
    rt_shape_str(x->rank, x->dims, sx, sizeof sx);
    rt_shape_str(s->rank, s->dims, ss, sizeof ss);
    if (zp && (zp->rank != s->rank || !rt_shape_equal(zp, s)))
        return rt_fail(c, "zero point %s must have the shape of the scale %s",
                       rt_shape_str(zp->rank, zp->dims, sz, sizeof sz), ss);
    int64_t block = rt_attr_int(n, "block_size", 0);
    if (block < 0) return rt_fail(c, "attribute block_size = %lld must be >= 0", (long long)block);
    memset(L, 0, sizeof *L);
    L->outer = L->D = L->block = 1;
    L->inner = rt_numel(x);
    if (block == 0 && s->rank <= 1 && rt_numel(s) == 1) return RT_OK; /* per tensor */
    if (block == 0 && s->rank != 1)
        return rt_fail(c, "scale %s must be a scalar, 1-D (per axis) or blocked with block_size", ss);
    if (block == 0 && n->opset < 13)
        return rt_fail(c, "scale %s: per-axis quantization needs opset >= 13 (node has %d)", ss, n->opset);
    int ax = rt_axis(c, rt_attr_int(n, "axis", 1), x->rank, "attribute axis");
    if (ax < 0) return RT_ERR;
    layout_split(x, ax, L);
    if (block == 0) {
        if (s->dims[0] != x->dims[ax])
            return rt_fail(c, "per-axis scale %s must have x's axis %d length %lld (x %s)", ss, ax,
                           (long long)x->dims[ax], sx);
        L->sa = 1;
        return RT_OK;
    }
    if (s->rank != x->rank)
        return rt_fail(c, "blocked scale %s must have the rank of x %s", ss, sx);
    for (int d = 0; d < x->rank; d++) {
        int64_t want = d == ax ? (x->dims[d] + block - 1) / block : x->dims[d];
        if (s->dims[d] != want)
            return rt_fail(c, "blocked scale %s does not fit x %s with axis %d and block_size %lld "
                           "(dimension %d should be %lld)", ss, sx, ax, (long long)block, d, (long long)want);
    }
    L->block = block;
    L->sa = L->inner;
    L->so = s->dims[ax] * L->inner;
    L->si = 1;
    return RT_OK;
}

/* Scales as floats and zero points as int32 in one scratch block: *sc[ns], *zs[ns]. */
static int qdq_params(RtKernelCtx *c, const RtTensor *s, const RtTensor *zp, float **sc, int32_t **zs) {
    int64_t ns = rt_numel(s);
    void *buf = rt_scratch(c, (size_t)ns * (sizeof(float) + sizeof(int32_t)));
    if (!buf) return RT_ERR_NOMEM;
    *sc = buf;
    *zs = (int32_t *)(*sc + ns);
    for (int64_t i = 0; i < ns; i++) {
        (*sc)[i] = load_f(s, i);
        (*zs)[i] = rt_qget(zp, i);
    }
    return RT_OK;
}

/* v rounded to the float type p (float32, or anything else: v itself). */
static float round_to(RtDtype p, float v) {
    switch (p) {
    case RT_F16: return rt_f16_to_f32(rt_f32_to_f16(v));
    case RT_BF16: return rt_bf16_to_f32(rt_f32_to_bf16(v));
    default: return v;
    }
}

/* The precision attribute of QuantizeLinear-23 (or DequantizeLinear-23's output_dtype): *p is
 * the attribute's float type, else def; RT_UNDEFINED before opset 23, where the attribute does
 * not exist and is refused. */
static int opset23_float_attr(RtKernelCtx *c, const RtNode *n, const char *name, RtDtype def, RtDtype *p) {
    const RtAttr *a = rt_attr(n, name);
    *p = RT_UNDEFINED;
    if (n->opset < 23) {
        if (a) return rt_fail(c, "attribute '%s' exists from opset 23; this node is at opset %d", name, n->opset);
        return RT_OK;
    }
    int64_t v = a && a->type == RT_ATTR_INT ? a->i : 0;
    *p = v == 0 ? def : (RtDtype)v;
    if (!is_fscale(*p)) {
        rt_fail(c, "attribute '%s' = %lld is not supported (float32, float16 or bfloat16)", name, (long long)v);
        return RT_ERR_UNSUPPORTED;
    }
    return RT_OK;
}

/* Output dtype of QuantizeLinear: y_zero_point's, else output_dtype (opset 21), else uint8;
 * *yt is how it is stored and [*qmin, *qmax] its range. output_dtype may name a sub-byte type
 * (int4 / uint4 from opset 21, int2 / uint2 from opset 25): the output is stored widened to
 * int8 / uint8 (the frontend sets the attribute from a sub-byte y_zero_point's type) and
 * saturates to that type's range. */
static int quantize_out_dtype(RtKernelCtx *c, const RtNode *n, const RtTensor *zp, RtDtype *yt, int32_t *qmin,
                              int32_t *qmax) {
    int64_t od = rt_attr_int(n, "output_dtype", 0);
    RtDtype low;
    if (od != 0 && rt_lowbit_range(od, &low, qmin, qmax) == RT_OK) {
        if (n->opset < (od >= 25 ? 25 : 21))
            return rt_fail(c, "attribute output_dtype = %lld needs opset %d (node has %d)", (long long)od,
                           od >= 25 ? 25 : 21, n->opset);
        if (zp && zp->dtype != low)
            return rt_fail(c, "attribute output_dtype = %lld does not match y_zero_point's dtype %s",
                           (long long)od, rt_dtype_name(zp->dtype));
        *yt = low;
        return RT_OK;
    }
    if (zp && od != 0 && od != (int64_t)zp->dtype)
        return rt_fail(c, "attribute output_dtype = %lld does not match y_zero_point's dtype %s",
                       (long long)od, rt_dtype_name(zp->dtype));
    *yt = zp ? zp->dtype : od != 0 ? (RtDtype)od : RT_U8;
    if (*yt == RT_I8 || *yt == RT_U8 || *yt == RT_I16 || *yt == RT_U16) return rt_qrange(*yt, qmin, qmax);
    if (od != 0 && !zp)
        return unsupported(c, "attribute output_dtype", (RtDtype)od, "int8, uint8, int16, uint16, int4, uint4, int2, uint2");
    return unsupported(c, "y_zero_point", *yt, "int8, uint8, int16, uint16, int4, uint4, int2, uint2");
}

static int k_quantize_linear(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0), *s = rt_in(n, in, 1), *zp = rt_in(n, in, 2);
    if (!x || !s) return rt_fail(c, "inputs x and y_scale are required");
    if (!is_fscale(x->dtype) && x->dtype != RT_I32)
        return unsupported(c, "input x", x->dtype, "float32, float16, bfloat16, int32");
    if (!is_fscale(s->dtype)) return unsupported(c, "y_scale", s->dtype, "float32, float16, bfloat16");
    int64_t sat = rt_attr_int(n, "saturate", 1); /* only meaningful for float8 outputs */
    if (sat != 0 && sat != 1) return rt_fail(c, "attribute saturate = %lld must be 0 or 1", (long long)sat);
    RtDtype yt = RT_U8, prec;
    RT_TRY(opset23_float_attr(c, n, "precision", s->dtype, &prec));
    int32_t qmin, qmax;
    RT_TRY(quantize_out_dtype(c, n, zp, &yt, &qmin, &qmax));
    QdqLayout L;
    RT_TRY(qdq_layout(c, n, x, s, zp, &L));
    RT_TRY(rt_out_alloc(c, out[0], yt, x->rank, x->dims));
    float *sc;
    int32_t *zs;
    RT_TRY(qdq_params(c, s, zp, &sc, &zs));
    for (int64_t o = 0; o < L.outer; o++)
        for (int64_t a = 0; a < L.D; a++) {
            int64_t sbase = o * L.so + (a / L.block) * L.sa, e0 = (o * L.D + a) * L.inner;
            for (int64_t i = 0; i < L.inner; i++) {
                int64_t si = sbase + i * L.si;
                if (prec != RT_UNDEFINED) { /* opset 23: x / s in precision prec */
                    float xv = x->dtype == RT_I32 ? (float)((const int32_t *)x->data)[e0 + i] : load_f(x, e0 + i);
                    float qv = round_to(prec, round_to(prec, xv) / round_to(prec, sc[si]));
                    rt_qset(out[0], e0 + i, rt_round_sat((double)qv, zs[si], qmin, qmax));
                    continue;
                }
                int32_t q = x->dtype == RT_I32
                                ? rt_round_sat((double)((const int32_t *)x->data)[e0 + i] / (double)sc[si],
                                               zs[si], qmin, qmax)
                                : rt_quantize_f32(load_f(x, e0 + i), sc[si], zs[si], qmin, qmax);
                rt_qset(out[0], e0 + i, q);
            }
        }
    rt_scratch_free(c, sc);
    return RT_OK;
}

static int k_dequantize_linear(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0), *s = rt_in(n, in, 1), *zp = rt_in(n, in, 2);
    if (!x || !s) return rt_fail(c, "inputs x and x_scale are required");
    int32_t lo, hi;
    if (rt_qrange(x->dtype, &lo, &hi) != RT_OK)
        return unsupported(c, "input x", x->dtype, "int8, uint8, int16, uint16, int32");
    if (zp && zp->dtype != x->dtype)
        return rt_fail(c, "x_zero_point is %s but x is %s", rt_dtype_name(zp->dtype), rt_dtype_name(x->dtype));
    if (n->opset < 19 ? s->dtype != RT_F32 : !is_fscale(s->dtype))
        return unsupported(c, "x_scale", s->dtype, n->opset < 19 ? "float32" : "float32, float16, bfloat16");
    RtDtype yt;
    RT_TRY(opset23_float_attr(c, n, "output_dtype", s->dtype, &yt));
    if (yt == RT_UNDEFINED) yt = s->dtype;
    QdqLayout L;
    RT_TRY(qdq_layout(c, n, x, s, zp, &L));
    RT_TRY(rt_out_alloc(c, out[0], yt, x->rank, x->dims));
    float *sc;
    int32_t *zs;
    RT_TRY(qdq_params(c, s, zp, &sc, &zs));
    for (int64_t o = 0; o < L.outer; o++)
        for (int64_t a = 0; a < L.D; a++) {
            int64_t sbase = o * L.so + (a / L.block) * L.sa, e0 = (o * L.D + a) * L.inner;
            for (int64_t i = 0; i < L.inner; i++) {
                int64_t si = sbase + i * L.si;
                float d = (float)((int64_t)rt_qget(x, e0 + i) - zs[si]);
                /* opset 23: the product in the output's precision (a no-op for float32) */
                if (n->opset >= 23) d = round_to(yt, d) * round_to(yt, sc[si]);
                else d *= sc[si];
                store_f(out[0], e0 + i, d);
            }
        }
    rt_scratch_free(c, sc);
    return RT_OK;
}

static int k_dynamic_quantize_linear(RtKernelCtx *c, const RtNode *n, RtTensor *const *in,
                                     RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0);
    if (!x) return rt_fail(c, "input x is required");
    if (x->dtype != RT_F32) return unsupported(c, "input x", x->dtype, "float32");
    if (n->n_out < 3) return rt_fail(c, "DynamicQuantizeLinear has 3 outputs (y, y_scale, y_zero_point)");
    rt_out_set_shape(out[1], RT_F32, 0, NULL);
    rt_out_set_shape(out[2], RT_U8, 0, NULL);
    RT_TRY(rt_out_alloc(c, out[0], RT_U8, x->rank, x->dims));
    RT_TRY(rt_out_alloc_data(c, out[1]));
    RT_TRY(rt_out_alloc_data(c, out[2]));
    const float *xv = x->data;
    int64_t cnt = rt_numel(x);
    float lo = 0.0f, hi = 0.0f; /* the range always includes 0 */
    for (int64_t i = 0; i < cnt; i++) {
        if (xv[i] < lo) lo = xv[i];
        if (xv[i] > hi) hi = xv[i];
    }
    float scale = hi == lo ? 1.0f : (hi - lo) / 255.0f;
    float zp0 = 0.0f - lo / scale;
    int32_t zp = rt_round_sat((double)(zp0 < 0.0f ? 0.0f : zp0 > 255.0f ? 255.0f : zp0), 0, 0, 255);
    uint8_t *y = out[0]->data;
    for (int64_t i = 0; i < cnt; i++) y[i] = (uint8_t)rt_quantize_f32(xv[i], scale, zp, 0, 255);
    *(float *)out[1]->data = scale;
    *(uint8_t *)out[2]->data = (uint8_t)zp;
    return RT_OK;
}

/* ---------------------------------------------------------------- integer convolution */

typedef struct {
    RtConvGeom g;
    int64_t N, C, M;   /* batch, input channels, output channels */
    int64_t group;
    int64_t Cg, Mg;    /* channels per group, in and out */
    int64_t K;         /* kernel taps kD*kH*kW */
} QConvShape;

static int qconv_shape(RtKernelCtx *c, const RtNode *n, const RtTensor *x, const RtTensor *x_zp,
                       const RtTensor *w, const RtTensor *w_zp, const RtTensor *b, QConvShape *s) {
    char sx[128], sw[128];
    if (!x || !w) return rt_fail(c, "inputs x and w are required");
    int nsp;
    RT_TRY(rt_geom_spatial_rank(c, x->rank, "input x", &nsp));
    if (!is_q8(x->dtype)) return unsupported(c, "input x", x->dtype, "int8, uint8");
    if (!is_q8(w->dtype)) return unsupported(c, "input w", w->dtype, "int8, uint8");
    rt_shape_str(x->rank, x->dims, sx, sizeof sx);
    rt_shape_str(w->rank, w->dims, sw, sizeof sw);
    if (w->rank != x->rank) return rt_fail(c, "weight w %s must have the rank of input x %s", sw, sx);
    memset(s, 0, sizeof *s);
    s->N = x->dims[0];
    s->C = x->dims[1];
    s->M = w->dims[0];
    s->group = rt_attr_int(n, "group", 1);
    if (s->group < 1) return rt_fail(c, "attribute group = %lld must be >= 1", (long long)s->group);
    if (s->C % s->group != 0 || s->M % s->group != 0 || w->dims[1] * s->group != s->C)
        return rt_fail(c, "input x %s and weight w %s do not fit group %lld", sx, sw, (long long)s->group);
    s->Cg = s->C / s->group;
    s->Mg = s->M / s->group;
    if (x_zp && (rt_numel(x_zp) != 1 || x_zp->dtype != x->dtype))
        return rt_fail(c, "x_zero_point must be one %s value (per tensor)", rt_dtype_name(x->dtype));
    if (w_zp && ((rt_numel(w_zp) != 1 && (w_zp->rank != 1 || w_zp->dims[0] != s->M)) || w_zp->dtype != w->dtype))
        return rt_fail(c, "w_zero_point must be a %s scalar or [%lld] (per output channel)",
                       rt_dtype_name(w->dtype), (long long)s->M);
    if (b && (b->dtype != RT_I32 || b->rank != 1 || b->dims[0] != s->M))
        return rt_fail(c, "bias B must be int32 [%lld]", (long long)s->M);
    RT_TRY(rt_geom_read_weighted(c, n, nsp, x, w, "weight w", &s->g));
    s->K = rt_geom_numel(s->g.k);
    return rt_geom_forward(c, n, 0, &s->g);
}

/* Output positions o in [*lo, *hi) whose tap at offset off = t * d - p reads inside [0, in):
 * 0 <= o * s + off < in. */
static void tap_range(int64_t off, int64_t s, int64_t in, int64_t out, int64_t *lo, int64_t *hi) {
    int64_t l = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t h = in - off <= 0 ? 0 : (in - off + s - 1) / s;
    *lo = l < out ? l : out;
    *hi = h < out ? h : out;
    if (*hi < *lo) *hi = *lo;
}

/* Rows (ch, kd, kh, kw) of the im2col matrix of one group's input xg[Cg, in] (int16, zero
 * point removed) for output positions [p0, p0 + pc): col[Cg * K, pc], 0 where a tap reads
 * padding. Walks output rows (od, oh) and copies each row's in-range span at once. */
static void im2col_s16(const RtConvGeom *g, int64_t Cg, const int16_t *xg, int64_t p0, int64_t pc,
                       int16_t *col) {
    const int64_t OH = g->out[1], OW = g->out[2], ID = g->in[0], IH = g->in[1], IW = g->in[2];
    const int64_t s2 = g->stride[2];
    for (int64_t ch = 0; ch < Cg; ch++) {
        const int16_t *xc = xg + ch * ID * IH * IW;
        for (int64_t kd = 0; kd < g->k[0]; kd++)
            for (int64_t kh = 0; kh < g->k[1]; kh++)
                for (int64_t kw = 0; kw < g->k[2]; kw++, col += pc) {
                    int64_t off = kw * g->dil[2] - g->pad0[2], wlo, whi;
                    tap_range(off, s2, IW, OW, &wlo, &whi);
                    int64_t od = p0 / (OH * OW), oh = (p0 / OW) % OH, ow = p0 % OW;
                    for (int64_t j = 0; j < pc;) {
                        int64_t id = od * g->stride[0] - g->pad0[0] + kd * g->dil[0];
                        int64_t ih = oh * g->stride[1] - g->pad0[1] + kh * g->dil[1];
                        int64_t end = ow + (pc - j) < OW ? ow + (pc - j) : OW; /* this row's part */
                        int16_t *dst = col + j - ow; /* dst[o] for output column o */
                        if (id < 0 || id >= ID || ih < 0 || ih >= IH) {
                            for (int64_t o = ow; o < end; o++) dst[o] = 0;
                        } else {
                            const int16_t *src = xc + (id * IH + ih) * IW + off;
                            int64_t lo = wlo > ow ? wlo : ow, hi = whi < end ? whi : end;
                            if (hi < lo) hi = lo;
                            for (int64_t o = ow; o < lo; o++) dst[o] = 0;
                            if (s2 == 1) memcpy(dst + lo, src + lo, (size_t)(hi - lo) * sizeof *dst);
                            else for (int64_t o = lo; o < hi; o++) dst[o] = src[o * s2];
                            for (int64_t o = hi; o < end; o++) dst[o] = 0;
                        }
                        j += end - ow;
                        ow = 0;
                        if (++oh == OH) { oh = 0; od++; }
                    }
                }
    }
}

/* Depthwise: one output plane acc[out] += sum over taps w[tap] * x[in] for a single input
 * channel x[in]. Tap-major so the inner loop runs along an output row (contiguous input
 * when the stride is 1). */
static void dw_plane_s16(const RtConvGeom *g, const int16_t *x, const int16_t *w, int32_t *acc) {
    const int64_t OH = g->out[1], OW = g->out[2], ID = g->in[0], IH = g->in[1], IW = g->in[2];
    const int64_t s2 = g->stride[2];
    int64_t t = 0;
    for (int64_t kd = 0; kd < g->k[0]; kd++)
        for (int64_t kh = 0; kh < g->k[1]; kh++)
            for (int64_t kw = 0; kw < g->k[2]; kw++, t++) {
                int32_t wv = w[t];
                int64_t off = kw * g->dil[2] - g->pad0[2], lo, hi;
                if (wv == 0) continue;
                tap_range(off, s2, IW, OW, &lo, &hi);
                for (int64_t od = 0; od < g->out[0]; od++) {
                    int64_t id = od * g->stride[0] - g->pad0[0] + kd * g->dil[0];
                    if (id < 0 || id >= ID) continue;
                    for (int64_t oh = 0; oh < OH; oh++) {
                        int64_t ih = oh * g->stride[1] - g->pad0[1] + kh * g->dil[1];
                        if (ih < 0 || ih >= IH) continue;
                        uint32_t *a = (uint32_t *)(acc + (od * OH + oh) * OW); /* wraps mod 2^32 */
                        const int16_t *src = x + (id * IH + ih) * IW + off;
                        if (s2 == 1)
                            for (int64_t o = lo; o < hi; o++) a[o] += (uint32_t)(wv * (int32_t)src[o]);
                        else
                            for (int64_t o = lo; o < hi; o++) a[o] += (uint32_t)(wv * (int32_t)src[o * s2]);
                    }
                }
            }
}

/* n elements of an int8/uint8 tensor from element off, minus zp, into int16. */
static void load_s16(const RtTensor *t, int64_t off, int64_t n, int32_t zp, int16_t *dst) {
    if (t->dtype == RT_I8) {
        const int8_t *s = (const int8_t *)t->data + off;
        for (int64_t i = 0; i < n; i++) dst[i] = (int16_t)(s[i] - zp);
    } else {
        const uint8_t *s = (const uint8_t *)t->data + off;
        for (int64_t i = 0; i < n; i++) dst[i] = (int16_t)(s[i] - zp);
    }
}

/* im2col scratch is bounded to this many int16 values (8 MB) by chunking output columns. */
#define QCONV_COL_BUDGET ((int64_t)4 << 20)

/* One image: acc[M, P] (already holding the bias) += conv of x16[C, Pin]. */
static void qconv_image(const QConvShape *s, const int16_t *x16, const int16_t *w16, int16_t *col, int64_t pc,
                        int32_t *acc) {
    const RtConvGeom *g = &s->g;
    int64_t P = rt_geom_numel(g->out), Pin = rt_geom_numel(g->in), CK = s->Cg * s->K;
    int direct = s->K == 1 && P == Pin && g->stride[0] * g->stride[1] * g->stride[2] == 1 &&
                 g->pad0[0] + g->pad0[1] + g->pad0[2] == 0; /* 1x1, stride 1, no padding */
    for (int64_t grp = 0; grp < s->group; grp++) {
        const int16_t *xg = x16 + grp * s->Cg * Pin, *wg = w16 + grp * s->Mg * CK;
        int32_t *ag = acc + grp * s->Mg * P;
        if (s->Cg == 1) { /* depthwise: every output channel of the group reads one plane */
            for (int64_t m = 0; m < s->Mg; m++) dw_plane_s16(g, xg, wg + m * CK, ag + m * P);
            continue;
        }
        if (direct) { /* the input already is the im2col matrix [Cg, P] */
            rt_igemm_s16(s->Mg, P, CK, wg, CK, xg, Pin, ag, P, 1);
            continue;
        }
        for (int64_t p0 = 0; p0 < P; p0 += pc) {
            int64_t cnt = P - p0 < pc ? P - p0 : pc;
            im2col_s16(g, s->Cg, xg, p0, cnt, col);
            rt_igemm_s16(s->Mg, cnt, CK, wg, CK, col, cnt, ag + p0, P, 1);
        }
    }
}

int rt_qconv_acc(RtKernelCtx *c, const RtNode *n, const RtTensor *x, const RtTensor *x_zp,
                 const RtTensor *w, const RtTensor *w_zp, const RtTensor *b, RtTensor *y, RtDtype ydt,
                 RtQConvAcc *acc) {
    QConvShape s;
    RT_TRY(qconv_shape(c, n, x, x_zp, w, w_zp, b, &s));
    int64_t dims[RT_MAX_RANK];
    rt_geom_out_dims(&s.g, s.N, s.M, dims);
    RT_TRY(rt_out_alloc(c, y, ydt, x->rank, dims));
    int64_t P = rt_geom_numel(s.g.out), Pin = rt_geom_numel(s.g.in), CK = s.Cg * s.K;
    acc->N = s.N, acc->M = s.M, acc->P = P;
    acc->owned = ydt != RT_I32;
    acc->data = acc->owned ? rt_scratch(c, (size_t)(s.N * s.M * P) * sizeof(int32_t)) : y->data;
    int64_t pc = CK > 0 ? QCONV_COL_BUDGET / CK : P;
    if (pc < 1) pc = 1;
    if (pc > P) pc = P;
    int16_t *w16 = rt_scratch(c, (size_t)(s.M * CK + s.C * Pin + CK * pc) * sizeof(int16_t));
    if (!acc->data || !w16) {
        if (acc->owned) rt_scratch_free(c, acc->data);
        rt_scratch_free(c, w16);
        return RT_ERR_NOMEM;
    }
    int16_t *x16 = w16 + s.M * CK, *col = x16 + s.C * Pin;
    int per_m = w_zp && rt_numel(w_zp) > 1;
    for (int64_t m = 0; m < s.M; m++) load_s16(w, m * CK, CK, rt_qget(w_zp, per_m ? m : 0), w16 + m * CK);
    int32_t xz = rt_qget(x_zp, 0);
    for (int64_t img = 0; img < s.N; img++) {
        load_s16(x, img * s.C * Pin, s.C * Pin, xz, x16);
        int32_t *an = acc->data + img * s.M * P;
        for (int64_t m = 0; m < s.M; m++) {
            int32_t bias = b ? ((const int32_t *)b->data)[m] : 0;
            for (int64_t p = 0; p < P; p++) an[m * P + p] = bias;
        }
        qconv_image(&s, x16, w16, col, pc, an);
    }
    rt_scratch_free(c, w16);
    return RT_OK;
}

static int k_conv_integer(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    RtQConvAcc acc;
    return rt_qconv_acc(c, n, rt_in(n, in, 0), rt_in(n, in, 2), rt_in(n, in, 1), rt_in(n, in, 3), NULL,
                        out[0], RT_I32, &acc);
}

/* A scale input that must hold one value. */
static int scalar_scale(RtKernelCtx *c, const RtTensor *t, const char *what) {
    if (!t) return rt_fail(c, "input %s is required", what);
    if (!is_fscale(t->dtype)) return unsupported(c, what, t->dtype, "float32, float16, bfloat16");
    if (rt_numel(t) != 1) return rt_fail(c, "%s must be a scalar (per tensor)", what);
    return RT_OK;
}

static int k_qlinear_conv(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0), *xs = rt_in(n, in, 1), *xz = rt_in(n, in, 2);
    const RtTensor *w = rt_in(n, in, 3), *ws = rt_in(n, in, 4), *wz = rt_in(n, in, 5);
    const RtTensor *ys = rt_in(n, in, 6), *yz = rt_in(n, in, 7), *b = rt_in(n, in, 8);
    RT_TRY(scalar_scale(c, xs, "x_scale"));
    RT_TRY(scalar_scale(c, ys, "y_scale"));
    if (!ws || !is_fscale(ws->dtype)) return rt_fail(c, "w_scale is required (float32, float16, bfloat16)");
    if (!x || !w) return rt_fail(c, "inputs x and w are required");
    int64_t M = w->rank > 0 ? w->dims[0] : 0, nws = rt_numel(ws);
    if (nws != 1 && (ws->rank != 1 || nws != M))
        return rt_fail(c, "w_scale must be a scalar or [%lld] (per output channel)", (long long)M);
    RtDtype yt = yz ? yz->dtype : x->dtype;
    if (!is_q8(yt)) return unsupported(c, "y_zero_point", yt, "int8, uint8");
    if (yz && rt_numel(yz) != 1) return rt_fail(c, "y_zero_point must be a scalar (per tensor)");
    RtQConvAcc acc;
    RT_TRY(rt_qconv_acc(c, n, x, xz, w, wz, b, out[0], yt, &acc));
    int32_t qmin, qmax, zy = rt_qget(yz, 0);
    rt_qrange(yt, &qmin, &qmax);
    float xsv = load_f(xs, 0), ysv = load_f(ys, 0);
    for (int64_t img = 0; img < acc.N; img++)
        for (int64_t m = 0; m < acc.M; m++) {
            float mult = xsv * load_f(ws, nws > 1 ? m : 0) / ysv; /* float32, as onnxruntime */
            int64_t off = (img * acc.M + m) * acc.P;
            for (int64_t p = 0; p < acc.P; p++)
                rt_qset(out[0], off + p, rt_round_sat((double)((float)acc.data[off + p] * mult), zy, qmin, qmax));
        }
    if (acc.owned) rt_scratch_free(c, acc.data);
    return RT_OK;
}

/* ---------------------------------------------------------------- integer matmul */

typedef struct {
    int64_t M, N, K;
    int bra, brb;                   /* batch ranks of A and B */
    int brank;                      /* output batch rank */
    int64_t bdims[RT_MAX_RANK];     /* output batch dims */
    int64_t batches, na, nb;        /* output, A and B matrices */
    int yrank;
    int64_t ydims[RT_MAX_RANK];
} QmmPlan;

/* numpy matmul shapes: a 1-D A is [1, K], a 1-D B is [K, 1], the added dims dropped from Y. */
static int qmm_plan(RtKernelCtx *c, const RtTensor *A, const RtTensor *B, QmmPlan *p) {
    char sa[128], sb[128];
    rt_shape_str(A->rank, A->dims, sa, sizeof sa);
    rt_shape_str(B->rank, B->dims, sb, sizeof sb);
    if (A->rank < 1 || B->rank < 1) return rt_fail(c, "inputs A %s and B %s must have rank >= 1", sa, sb);
    int ra = A->rank, rb = B->rank;
    memset(p, 0, sizeof *p);
    p->bra = ra > 2 ? ra - 2 : 0;
    p->brb = rb > 2 ? rb - 2 : 0;
    p->M = ra == 1 ? 1 : A->dims[ra - 2];
    p->K = A->dims[ra - 1];
    p->N = rb == 1 ? 1 : B->dims[rb - 1];
    if ((rb == 1 ? B->dims[0] : B->dims[rb - 2]) != p->K)
        return rt_fail(c, "shapes A %s and B %s are incompatible (inner dimensions differ)", sa, sb);
    p->brank = p->bra > p->brb ? p->bra : p->brb;
    for (int i = 0; i < p->brank; i++) {
        int ia = i - (p->brank - p->bra), ib = i - (p->brank - p->brb);
        int64_t da = ia >= 0 ? A->dims[ia] : 1, db = ib >= 0 ? B->dims[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return rt_fail(c, "shapes A %s and B %s: batch dims %lld and %lld do not broadcast", sa, sb,
                           (long long)da, (long long)db);
        p->bdims[i] = da == 1 ? db : da;
    }
    p->batches = rt_shape_numel(p->brank, p->bdims);
    p->na = rt_shape_numel(p->bra, A->dims);
    p->nb = rt_shape_numel(p->brb, B->dims);
    for (int i = 0; i < p->brank; i++) p->ydims[p->yrank++] = p->bdims[i];
    if (ra > 1) p->ydims[p->yrank++] = p->M;
    if (rb > 1) p->ydims[p->yrank++] = p->N;
    return RT_OK;
}

/* The A and B matrix of every output matrix (broadcast batches): amap[batches], bmap[batches]. */
static void qmm_maps(const QmmPlan *p, const RtTensor *A, const RtTensor *B, int64_t *amap, int64_t *bmap) {
    int64_t sa[RT_MAX_RANK], sb[RT_MAX_RANK], idx[RT_MAX_RANK] = {0}, a = 0, b = 0;
    rt_broadcast_strides(p->bra, A->dims, p->brank, p->bdims, sa);
    rt_broadcast_strides(p->brb, B->dims, p->brank, p->bdims, sb);
    for (int64_t i = 0; i < p->batches; i++) {
        amap[i] = a;
        bmap[i] = b;
        for (int d = p->brank - 1; d >= 0; d--) {
            a += sa[d];
            b += sb[d];
            if (++idx[d] < p->bdims[d]) break;
            a -= sa[d] * p->bdims[d];
            b -= sb[d] * p->bdims[d];
            idx[d] = 0;
        }
    }
}

/* Which operand a scale or zero point belongs to: its values vary along rows of A (or Y) or
 * along columns of B, never along K. */
enum { QMM_ROWS_A, QMM_COLS_B, QMM_ROWS_Y };

/* Target shape of a parameter of `side`: [batch..., M, 1] for rows, [batch..., 1, N] for columns. */
static int qmm_target(const QmmPlan *p, const RtTensor *A, const RtTensor *B, int side, int64_t *dims) {
    int r = 0;
    if (side == QMM_ROWS_A) for (int i = 0; i < p->bra; i++) dims[r++] = A->dims[i];
    if (side == QMM_COLS_B) for (int i = 0; i < p->brb; i++) dims[r++] = B->dims[i];
    if (side == QMM_ROWS_Y) for (int i = 0; i < p->brank; i++) dims[r++] = p->bdims[i];
    dims[r++] = side == QMM_COLS_B ? 1 : p->M;
    dims[r++] = side == QMM_COLS_B ? p->N : 1;
    return r;
}

/* Checks parameter t (NULL = absent, all 0) of `side` and, when dst is given, writes its value
 * for every row (or column) of the side's matrices: dst[matrices * M] or dst[matrices * N].
 * A 1-D t of more than one element is a per-row [M, 1] or per-column [1, N] vector. */
static int qmm_param(RtKernelCtx *c, const QmmPlan *p, const RtTensor *A, const RtTensor *B, int side,
                     const RtTensor *t, const char *what, double *dst) {
    int64_t td[RT_MAX_RANK + 2], pd[RT_MAX_RANK], st[RT_MAX_RANK + 2];
    int tr = qmm_target(p, A, B, side, td), pr = t ? t->rank : 0;
    if (t && t->rank == 1 && t->dims[0] != 1) {
        pr = 2;
        pd[0] = side == QMM_COLS_B ? 1 : t->dims[0];
        pd[1] = side == QMM_COLS_B ? t->dims[0] : 1;
    } else if (t) {
        memcpy(pd, t->dims, sizeof(int64_t) * (size_t)pr);
    }
    int ok = pr <= tr;
    for (int i = 0; ok && i < pr; i++) {
        int64_t want = td[tr - pr + i];
        ok = pd[i] == 1 || pd[i] == want;
    }
    if (!ok) {
        char s1[128], s2[128];
        return rt_fail(c, "%s %s must be a scalar or per %s, broadcastable to %s", what,
                       rt_shape_str(t->rank, t->dims, s1, sizeof s1), side == QMM_COLS_B ? "column" : "row",
                       rt_shape_str(tr, td, s2, sizeof s2));
    }
    if (!dst) return RT_OK;
    int64_t total = rt_shape_numel(tr, td);
    if (!t) {
        for (int64_t i = 0; i < total; i++) dst[i] = 0.0;
        return RT_OK;
    }
    rt_broadcast_strides(pr, pd, tr, td, st);
    int64_t idx[RT_MAX_RANK + 2] = {0}, off = 0;
    for (int64_t i = 0; i < total; i++) {
        dst[i] = is_fscale(t->dtype) ? (double)load_f(t, off) : (double)rt_qget(t, off);
        for (int d = tr - 1; d >= 0; d--) {
            off += st[d];
            if (++idx[d] < td[d]) break;
            off -= st[d] * td[d];
            idx[d] = 0;
        }
    }
    return RT_OK;
}

/* acc[batches, M, N] = (A - a_zp) x (B - b_zp) for every broadcast batch. */
static int qmm_acc(RtKernelCtx *c, const QmmPlan *p, const RtTensor *A, const RtTensor *azp, const RtTensor *B,
                   const RtTensor *bzp, int32_t *acc) {
    int64_t rowsA = p->na * p->M, colsB = p->nb * p->N;
    size_t bytes = (size_t)(rowsA * p->K + p->nb * p->K * p->N) * sizeof(int16_t) +
                   (size_t)(rowsA + colsB) * sizeof(double) + (size_t)(2 * p->batches) * sizeof(int64_t);
    char *buf = rt_scratch(c, bytes);
    if (!buf) return RT_ERR_NOMEM;
    double *za = (double *)buf, *zb = za + rowsA;
    int64_t *amap = (int64_t *)(zb + colsB), *bmap = amap + p->batches;
    int16_t *a16 = (int16_t *)(bmap + p->batches), *b16 = a16 + rowsA * p->K;
    qmm_param(c, p, A, B, QMM_ROWS_A, azp, "a_zero_point", za);
    qmm_param(c, p, A, B, QMM_COLS_B, bzp, "b_zero_point", zb);
    qmm_maps(p, A, B, amap, bmap);
    for (int64_t r = 0; r < rowsA; r++)
        for (int64_t k = 0; k < p->K; k++)
            a16[r * p->K + k] = (int16_t)(rt_qget(A, r * p->K + k) - (int32_t)za[r]);
    for (int64_t mb = 0; mb < p->nb; mb++)
        for (int64_t k = 0; k < p->K; k++)
            for (int64_t j = 0; j < p->N; j++) {
                int64_t e = (mb * p->K + k) * p->N + j;
                b16[e] = (int16_t)(rt_qget(B, e) - (int32_t)zb[mb * p->N + j]);
            }
    for (int64_t i = 0; i < p->batches; i++)
        rt_igemm_s16(p->M, p->N, p->K, a16 + amap[i] * p->M * p->K, p->K, b16 + bmap[i] * p->K * p->N, p->N,
                     acc + i * p->M * p->N, p->N, 0);
    rt_scratch_free(c, buf);
    return RT_OK;
}

static int qmm_inputs(RtKernelCtx *c, const RtTensor *A, const RtTensor *azp, const RtTensor *B,
                      const RtTensor *bzp) {
    if (!A || !B) return rt_fail(c, "inputs A and B are required");
    if (!is_q8(A->dtype)) return unsupported(c, "input A", A->dtype, "int8, uint8");
    if (!is_q8(B->dtype)) return unsupported(c, "input B", B->dtype, "int8, uint8");
    if (azp && azp->dtype != A->dtype) return rt_fail(c, "a_zero_point must have A's dtype %s", rt_dtype_name(A->dtype));
    if (bzp && bzp->dtype != B->dtype) return rt_fail(c, "b_zero_point must have B's dtype %s", rt_dtype_name(B->dtype));
    return RT_OK;
}

static int k_matmul_integer(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *A = rt_in(n, in, 0), *B = rt_in(n, in, 1), *azp = rt_in(n, in, 2), *bzp = rt_in(n, in, 3);
    RT_TRY(qmm_inputs(c, A, azp, B, bzp));
    QmmPlan p;
    RT_TRY(qmm_plan(c, A, B, &p));
    RT_TRY(qmm_param(c, &p, A, B, QMM_ROWS_A, azp, "a_zero_point", NULL));
    RT_TRY(qmm_param(c, &p, A, B, QMM_COLS_B, bzp, "b_zero_point", NULL));
    RT_TRY(rt_out_alloc(c, out[0], RT_I32, p.yrank, p.ydims));
    return qmm_acc(c, &p, A, azp, B, bzp, out[0]->data);
}

static int k_qlinear_matmul(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *A = rt_in(n, in, 0), *as = rt_in(n, in, 1), *azp = rt_in(n, in, 2);
    const RtTensor *B = rt_in(n, in, 3), *bs = rt_in(n, in, 4), *bzp = rt_in(n, in, 5);
    const RtTensor *ys = rt_in(n, in, 6), *yzp = rt_in(n, in, 7);
    RT_TRY(qmm_inputs(c, A, azp, B, bzp));
    if (!as || !bs || !ys) return rt_fail(c, "inputs a_scale, b_scale and y_scale are required");
    if (!is_fscale(as->dtype) || !is_fscale(bs->dtype) || !is_fscale(ys->dtype))
        return rt_fail(c, "scales must be float32, float16 or bfloat16");
    RtDtype yt = yzp ? yzp->dtype : A->dtype;
    if (!is_q8(yt)) return unsupported(c, "y_zero_point", yt, "int8, uint8");
    QmmPlan p;
    RT_TRY(qmm_plan(c, A, B, &p));
    const RtTensor *par[6] = {as, azp, bs, bzp, ys, yzp};
    static const char *const names[6] = {"a_scale", "a_zero_point", "b_scale", "b_zero_point", "y_scale", "y_zero_point"};
    static const int sides[6] = {QMM_ROWS_A, QMM_ROWS_A, QMM_COLS_B, QMM_COLS_B, QMM_ROWS_Y, QMM_ROWS_Y};
    for (int i = 0; i < 6; i++) RT_TRY(qmm_param(c, &p, A, B, sides[i], par[i], names[i], NULL));
    RT_TRY(rt_out_alloc(c, out[0], yt, p.yrank, p.ydims));
    int64_t MN = p.M * p.N, rowsA = p.na * p.M, colsB = p.nb * p.N, rowsY = p.batches * p.M;
    size_t bytes = (size_t)(p.batches * MN) * sizeof(int32_t) + (size_t)(rowsA + colsB + 2 * rowsY) * sizeof(double) +
                   (size_t)(2 * p.batches) * sizeof(int64_t);
    char *buf = rt_scratch(c, bytes);
    if (!buf) return RT_ERR_NOMEM;
    double *sa = (double *)buf, *sb = sa + rowsA, *sy = sb + colsB, *zy = sy + rowsY;
    int64_t *amap = (int64_t *)(zy + rowsY), *bmap = amap + p.batches;
    int32_t *acc = (int32_t *)(bmap + p.batches);
    qmm_param(c, &p, A, B, QMM_ROWS_A, as, "a_scale", sa);
    qmm_param(c, &p, A, B, QMM_COLS_B, bs, "b_scale", sb);
    qmm_param(c, &p, A, B, QMM_ROWS_Y, ys, "y_scale", sy);
    qmm_param(c, &p, A, B, QMM_ROWS_Y, yzp, "y_zero_point", zy);
    qmm_maps(&p, A, B, amap, bmap);
    int st = qmm_acc(c, &p, A, azp, B, bzp, acc);
    if (st != RT_OK) {
        rt_scratch_free(c, buf);
        return st;
    }
    int32_t qmin, qmax;
    rt_qrange(yt, &qmin, &qmax);
    for (int64_t i = 0; i < p.batches; i++)
        for (int64_t m = 0; m < p.M; m++) {
            double fa = sa[amap[i] * p.M + m], fy = sy[i * p.M + m];
            int32_t z = (int32_t)zy[i * p.M + m];
            for (int64_t j = 0; j < p.N; j++) {
                float mult = (float)fa * (float)sb[bmap[i] * p.N + j] / (float)fy; /* float32, as onnxruntime */
                int64_t e = i * MN + m * p.N + j;
                rt_qset(out[0], e, rt_round_sat((double)((float)acc[e] * mult), z, qmin, qmax));
            }
        }
    rt_scratch_free(c, buf);
    return RT_OK;
}

const RtKernelEntry rt_kernels_quant[] = {
    {RT_OP_QUANTIZE_LINEAR, k_quantize_linear},
    {RT_OP_DEQUANTIZE_LINEAR, k_dequantize_linear},
    {RT_OP_DYNAMIC_QUANTIZE_LINEAR, k_dynamic_quantize_linear},
    {RT_OP_QLINEAR_CONV, k_qlinear_conv},
    {RT_OP_CONV_INTEGER, k_conv_integer},
    {RT_OP_QLINEAR_MATMUL, k_qlinear_matmul},
    {RT_OP_MATMUL_INTEGER, k_matmul_integer},
    {-1, 0},
};
