/*
 * pool.c — MaxPool (with the optional Indices output), AveragePool, GlobalAveragePool,
 * GlobalMaxPool; 1-D, 2-D and 3-D.
 *
 * Shapes: X [N, C, in...] -> Y [N, C, out...]; output sizes, pads, auto_pad and ceil_mode come
 * from conv_geom (windows that would start inside the end padding are dropped).
 * Algorithm: one (n, c) plane at a time is widened to double (exact for every supported
 * dtype), each output's window is clipped to the input with rt_geom_taps, and results are
 * narrowed back to the input's dtype. Padding never wins a max and, for AveragePool, counts
 * in the divisor only with count_include_pad = 1; positions beyond the explicit end padding
 * (reachable with ceil_mode) never count.
 * MaxPool Indices (int64) index the unpadded input flattened over (N, C, spatial...):
 * storage_order 0 is row-major over the spatial axes, 1 column-major (first spatial axis
 * fastest); ties keep the first maximum in row-major window order.
 * Threads (c->pool, rt_threads.h): ranges of planes run in parallel, each range with its
 * own scratch planes.
 */
#include <math.h>
#include <string.h>

#include "../../rt_threads.h"
#include "conv_geom.h"

/* Least work (input plus output elements) per parallel chunk of planes: smaller chunks
 * cost about as much as handing them to a worker. */
#define POOL_PAR_MIN_WORK ((int64_t)1 << 15)

/* Widens n elements of t starting at element off into dst. */
static void plane_load(const RtTensor *t, int64_t off, int64_t n, double *dst) {
    switch (t->dtype) {
    case RT_F32: { const float *p = (const float *)t->data + off; for (int64_t i = 0; i < n; i++) dst[i] = p[i]; break; }
    case RT_F64: memcpy(dst, (const double *)t->data + off, (size_t)n * sizeof(double)); break;
    case RT_I8: { const int8_t *p = (const int8_t *)t->data + off; for (int64_t i = 0; i < n; i++) dst[i] = p[i]; break; }
    case RT_U8: { const uint8_t *p = (const uint8_t *)t->data + off; for (int64_t i = 0; i < n; i++) dst[i] = p[i]; break; }
    default: for (int64_t i = 0; i < n; i++) dst[i] = rt_get_f64(t, off + i); break;
    }
}

static double clamp(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Narrows n doubles into t starting at element off (round to nearest for floats; integers
 * only ever receive values read from an integer plane, clamped for the -inf of an empty
 * window). */
static void plane_store(RtTensor *t, int64_t off, int64_t n, const double *src) {
    switch (t->dtype) {
    case RT_F32: { float *p = (float *)t->data + off; for (int64_t i = 0; i < n; i++) p[i] = (float)src[i]; break; }
    case RT_F64: memcpy((double *)t->data + off, src, (size_t)n * sizeof(double)); break;
    case RT_I8: { int8_t *p = (int8_t *)t->data + off; for (int64_t i = 0; i < n; i++) p[i] = (int8_t)clamp(src[i], -128, 127); break; }
    case RT_U8: { uint8_t *p = (uint8_t *)t->data + off; for (int64_t i = 0; i < n; i++) p[i] = (uint8_t)clamp(src[i], 0, 255); break; }
    default: for (int64_t i = 0; i < n; i++) rt_set_f64(t, off + i, src[i]); break;
    }
}

static int dtype_check(RtKernelCtx *c, const RtTensor *x, int allow_int8) {
    RtDtype t = x->dtype;
    if (rt_dtype_is_float(t) || (allow_int8 && (t == RT_I8 || t == RT_U8))) return RT_OK;
    rt_fail(c, "input X has dtype %s; supported: float16, bfloat16, float32, float64%s", rt_dtype_name(t),
            allow_int8 ? ", int8, uint8" : "");
    return RT_ERR_UNSUPPORTED;
}

/* Reads the window attributes of a MaxPool/AveragePool and computes the output shape. */
static int pool_geom(RtKernelCtx *c, const RtNode *n, const RtTensor *x, int allow_int8, RtConvGeom *g) {
    if (!x) return rt_fail(c, "input X is required");
    int nsp;
    RT_TRY(rt_geom_spatial_rank(c, x->rank, "input X", &nsp));
    RT_TRY(dtype_check(c, x, allow_int8));
    const int64_t *ks;
    int nk = rt_attr_ints(n, "kernel_shape", &ks);
    if (nk < 0) return rt_fail(c, "attribute kernel_shape is required");
    if (nk != nsp) {
        char sx[128];
        return rt_fail(c, "attribute kernel_shape has %d values but input X %s has %d spatial axes", nk,
                       rt_shape_str(x->rank, x->dims, sx, sizeof sx), nsp);
    }
    RT_TRY(rt_geom_read(c, n, nsp, x->dims + 2, ks, g));
    int64_t ceil_mode = rt_attr_int(n, "ceil_mode", 0);
    if (ceil_mode != 0 && ceil_mode != 1)
        return rt_fail(c, "attribute ceil_mode = %lld must be 0 or 1", (long long)ceil_mode);
    return rt_geom_forward(c, n, (int)ceil_mode, g);
}

/* Max over each window of one plane x[in] into y[out]; idx (optional) gets the winner's
 * position inside the plane in the requested storage order. */
static void max_plane(const RtConvGeom *g, const double *x, double *y, int64_t *idx, int col_major) {
    const int64_t ID = g->in[0], IH = g->in[1], IW = g->in[2];
    for (int64_t od = 0; od < g->out[0]; od++)
        for (int64_t oh = 0; oh < g->out[1]; oh++)
            for (int64_t ow = 0; ow < g->out[2]; ow++) {
                int64_t d0, d1, h0, h1, w0, w1;
                rt_geom_taps(od, g->stride[0], g->pad0[0], g->dil[0], g->k[0], ID, &d0, &d1);
                rt_geom_taps(oh, g->stride[1], g->pad0[1], g->dil[1], g->k[1], IH, &h0, &h1);
                rt_geom_taps(ow, g->stride[2], g->pad0[2], g->dil[2], g->k[2], IW, &w0, &w1);
                double best = -INFINITY;
                int64_t bd = -1, bh = -1, bw = -1;
                for (int64_t kd = d0; kd < d1; kd++) {
                    int64_t id = od * g->stride[0] - g->pad0[0] + kd * g->dil[0];
                    for (int64_t kh = h0; kh < h1; kh++) {
                        int64_t ih = oh * g->stride[1] - g->pad0[1] + kh * g->dil[1];
                        for (int64_t kw = w0; kw < w1; kw++) {
                            int64_t iw = ow * g->stride[2] - g->pad0[2] + kw * g->dil[2];
                            double v = x[(id * IH + ih) * IW + iw];
                            if (v > best || bd < 0) {
                                best = v;
                                bd = id, bh = ih, bw = iw;
                            }
                        }
                    }
                }
                *y++ = best;
                if (idx) {
                    if (bd < 0) *idx++ = -1; /* empty window (only with huge pads) */
                    else if (col_major) *idx++ = bd + bh * ID + bw * ID * IH;
                    else *idx++ = (bd * IH + bh) * IW + bw;
                }
            }
}

/* Average over each window of one plane; with count_include_pad the divisor counts taps
 * inside the explicitly padded extent [-p0, in + p1), otherwise only taps inside the input. */
static void avg_plane(const RtConvGeom *g, const double *x, double *y, int include_pad) {
    const int64_t IH = g->in[1], IW = g->in[2];
    for (int64_t od = 0; od < g->out[0]; od++)
        for (int64_t oh = 0; oh < g->out[1]; oh++)
            for (int64_t ow = 0; ow < g->out[2]; ow++) {
                int64_t r[3][2], o[3] = {od, oh, ow};
                int64_t count = rt_geom_avg_window(g, o, include_pad, r);
                double sum = 0.0;
                for (int64_t kd = r[0][0]; kd < r[0][1]; kd++) {
                    int64_t id = od * g->stride[0] - g->pad0[0] + kd * g->dil[0];
                    for (int64_t kh = r[1][0]; kh < r[1][1]; kh++) {
                        int64_t ih = oh * g->stride[1] - g->pad0[1] + kh * g->dil[1];
                        for (int64_t kw = r[2][0]; kw < r[2][1]; kw++)
                            sum += x[(id * IH + ih) * IW + ow * g->stride[2] - g->pad0[2] + kw * g->dil[2]];
                    }
                }
                *y++ = count > 0 ? sum / (double)count : NAN;
            }
}

/* Planes split into `slots` parallel ranges, each with its own scratch. */
typedef struct {
    const RtConvGeom *g;
    const RtTensor *x;
    RtTensor *y, *ind;   /* ind: MaxPool's Indices, or NULL */
    int max, opt;        /* as for pool_run */
    int64_t planes, slots;
    int64_t pin, pout;   /* elements per input / output plane */
    double *buf;         /* [slots, pin + pout] (global pools: [slots, pin]) */
    double *res;         /* global pools: [planes] results */
} PoolJob;

/* Number of parallel slots for `planes` planes of `work` elements each, at least 1. */
static int64_t pool_slots(RtKernelCtx *c, int64_t planes, int64_t work) {
    int64_t min = work >= POOL_PAR_MIN_WORK ? 1 : POOL_PAR_MIN_WORK / (work > 0 ? work : 1);
    int64_t k = rt_pool_chunks(c->pool, planes, min);
    return k < 1 ? 1 : k;
}

/* Slots [s0, s1) of pool_run: each slot's range of planes through the slot's scratch,
 * plane by plane: widen, max_plane or avg_plane, narrow. */
static void pool_chunk(void *arg, int64_t s0, int64_t s1) {
    const PoolJob *j = arg;
    const int64_t pin = j->pin, pout = j->pout;
    for (int64_t s = s0; s < s1; s++) {
        int64_t p0, p1;
        rt_chunk_range(j->planes, j->slots, s, &p0, &p1);
        double *buf = j->buf + s * (pin + pout);
        for (int64_t p = p0; p < p1; p++) {
            plane_load(j->x, p * pin, pin, buf);
            if (j->max) {
                int64_t *idx = j->ind ? (int64_t *)j->ind->data + p * pout : NULL;
                max_plane(j->g, buf, buf + pin, idx, j->opt);
                for (int64_t i = 0; idx && i < pout; i++)
                    if (idx[i] >= 0) idx[i] += p * pin;
            } else {
                avg_plane(j->g, buf, buf + pin, j->opt);
            }
            plane_store(j->y, p * pout, pout, buf + pin);
        }
    }
}

/* Pools every (n, c) plane, in parallel over ranges of planes. opt is storage_order for
 * max, count_include_pad for average; ind (max only, optional) receives global indices. */
static int pool_run(RtKernelCtx *c, const RtConvGeom *g, const RtTensor *x, RtTensor *y, RtTensor *ind,
                    int max, int opt) {
    PoolJob j = {g, x, y, ind, max, opt, x->dims[0] * x->dims[1], 1, rt_geom_numel(g->in),
                 rt_geom_numel(g->out), NULL, NULL};
    j.slots = pool_slots(c, j.planes, j.pin + j.pout);
    j.buf = rt_scratch(c, (size_t)(j.slots * (j.pin + j.pout)) * sizeof(double));
    if (!j.buf) return RT_ERR_NOMEM;
    rt_parallel_for(c->pool, j.slots, 1, pool_chunk, &j);
    rt_scratch_free(c, j.buf);
    return RT_OK;
}

/* Slots [s0, s1) of a global pool: each plane's mean or max into res. */
static void global_chunk(void *arg, int64_t s0, int64_t s1) {
    const PoolJob *j = arg;
    const int64_t pin = j->pin;
    for (int64_t s = s0; s < s1; s++) {
        int64_t p0, p1;
        rt_chunk_range(j->planes, j->slots, s, &p0, &p1);
        double *buf = j->buf + s * pin;
        for (int64_t p = p0; p < p1; p++) {
            plane_load(j->x, p * pin, pin, buf);
            double acc = j->max ? -INFINITY : 0.0;
            for (int64_t i = 0; i < pin; i++) {
                if (!j->max) acc += buf[i];
                else if (buf[i] > acc) acc = buf[i];
            }
            j->res[p] = j->max ? acc : (pin > 0 ? acc / (double)pin : NAN);
        }
    }
}

static int k_max_pool(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0);
    RtConvGeom g;
    RT_TRY(pool_geom(c, n, x, 1, &g));
    int64_t order = rt_attr_int(n, "storage_order", 0);
    if (order != 0 && order != 1)
        return rt_fail(c, "attribute storage_order = %lld must be 0 or 1", (long long)order);
    int64_t dims[RT_MAX_RANK];
    rt_geom_out_dims(&g, x->dims[0], x->dims[1], dims);
    RtTensor *ind = n->n_out > 1 ? out[1] : NULL;
    if (ind) rt_out_set_shape(ind, RT_I64, x->rank, dims);
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, x->rank, dims));
    if (ind) RT_TRY(rt_out_alloc_data(c, ind));
    return pool_run(c, &g, x, out[0], ind, 1, (int)order);
}

static int k_average_pool(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0);
    RtConvGeom g;
    RT_TRY(pool_geom(c, n, x, 0, &g));
    int64_t include = rt_attr_int(n, "count_include_pad", 0);
    if (include != 0 && include != 1)
        return rt_fail(c, "attribute count_include_pad = %lld must be 0 or 1", (long long)include);
    int64_t dims[RT_MAX_RANK];
    rt_geom_out_dims(&g, x->dims[0], x->dims[1], dims);
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, x->rank, dims));
    return pool_run(c, &g, x, out[0], NULL, 0, (int)include);
}

/* GlobalAveragePool / GlobalMaxPool: X [N, C, spatial...] -> Y [N, C, 1, ...]. */
static int global_pool(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out, int max) {
    const RtTensor *x = rt_in(n, in, 0);
    if (!x) return rt_fail(c, "input X is required");
    if (x->rank < 2) return rt_fail(c, "input X has rank %d; expected (N, C, spatial...)", x->rank);
    RT_TRY(dtype_check(c, x, max));
    int64_t dims[RT_MAX_RANK];
    for (int i = 0; i < x->rank; i++) dims[i] = i < 2 ? x->dims[i] : 1;
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, x->rank, dims));
    PoolJob j = {NULL, x, out[0], NULL, max, 0, x->dims[0] * x->dims[1], 1,
                 rt_shape_numel(x->rank - 2, x->dims + 2), 1, NULL, NULL};
    j.slots = pool_slots(c, j.planes, j.pin);
    j.buf = rt_scratch(c, (size_t)(j.slots * j.pin + j.planes) * sizeof(double));
    if (!j.buf) return RT_ERR_NOMEM;
    j.res = j.buf + j.slots * j.pin;
    rt_parallel_for(c->pool, j.slots, 1, global_chunk, &j);
    plane_store(out[0], 0, j.planes, j.res);
    rt_scratch_free(c, j.buf);
    return RT_OK;
}

static int k_global_average_pool(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return global_pool(c, n, in, out, 0);
}

static int k_global_max_pool(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return global_pool(c, n, in, out, 1);
}

const RtKernelEntry rt_kernels_pool[] = {
    {RT_OP_MAX_POOL, k_max_pool},
    {RT_OP_AVERAGE_POOL, k_average_pool},
    {RT_OP_GLOBAL_AVERAGE_POOL, k_global_average_pool},
    {RT_OP_GLOBAL_MAX_POOL, k_global_max_pool},
    {-1, 0},
};
