/*
 * qmaxpool_x86.c — MaxPool on int8 / uint8 codes (the int8 graphs' MaxPool: max commutes with
 * the monotonic DequantizeLinear, so the quantizer runs it on the codes, passes/quantize_qdq.c).
 *
 * The reference kernel widens every plane to double and back (one generic kernel for every
 * dtype): ~26 ns an output on PaddleOCR's classifier, a third of its int8 run. Here each
 * output is the max over its window's in-range taps (conv_geom.h's geometry, so the same
 * windows, pads, dilations and ceil_mode as the reference) read straight from the 8-bit plane;
 * planes are split over the threads. A max of codes is exact, so the result is the
 * reference's bit for bit. Cases this does not take (other dtypes, the Indices output, column-
 * major storage_order) go to the optimized float kernel (x86/pool_x86.c), which hands what it
 * does not cover to the reference. Listed before pool_x86.c in the registry for that reason.
 */
#include "../kernel.h"
#include "../ref/conv_geom.h"
#include "../../rt_threads.h"

#include <stdint.h>

extern const RtKernelEntry rt_kernels_x86_pool[]; /* x86/pool_x86.c */

typedef struct {
    const RtConvGeom *g;      /* borrowed */
    const int64_t *taps[3];   /* [out[a]][2] per axis a: in-range taps [lo, hi) of each output
                                 position (rt_geom_taps, computed once: it divides) */
    const uint8_t *x;         /* borrowed: [planes][pin] codes */
    uint8_t *y;               /* borrowed: [planes][pout] */
    int64_t pin, pout;
    int u8;                   /* 1: uint8 codes, 0: int8 */
} QMaxJob;

/* Planes [p0, p1). int8 codes compare as unsigned after flipping the sign bit. The geometry is
 * copied into locals: stores through the uint8_t output may alias anything, which would make
 * the compiler reload every field per tap. */
static void qmax_planes(void *arg, int64_t p0, int64_t p1) {
    const QMaxJob *J = arg;
    const RtConvGeom *g = J->g;
    const uint8_t bias = J->u8 ? 0 : 128;
    const int64_t OD = g->out[0], OH = g->out[1], OW = g->out[2], IH = g->in[1], IW = g->in[2];
    const int64_t s0 = g->stride[0], s1 = g->stride[1], s2 = g->stride[2];
    const int64_t q0 = g->pad0[0], q1 = g->pad0[1], q2 = g->pad0[2];
    const int64_t d0 = g->dil[0], d1 = g->dil[1], d2 = g->dil[2];
    const int64_t *const T0 = J->taps[0], *const T1 = J->taps[1], *const T2 = J->taps[2];
    const int64_t pin = J->pin, pout = J->pout;
    for (int64_t p = p0; p < p1; p++) {
        const uint8_t *x = J->x + p * pin;
        uint8_t *y = J->y + p * pout;
        for (int64_t od = 0; od < OD; od++)
            for (int64_t oh = 0; oh < OH; oh++) {
                uint8_t *yrow = y + (od * OH + oh) * OW;
                for (int64_t ow = 0; ow < OW; ow++) {
                    const int64_t w0 = T2[2 * ow], w1 = T2[2 * ow + 1];
                    unsigned best = 0; /* at most every biased code; windows are never empty */
                    for (int64_t kd = T0[2 * od]; kd < T0[2 * od + 1]; kd++) {
                        const int64_t id = od * s0 - q0 + kd * d0;
                        for (int64_t kh = T1[2 * oh]; kh < T1[2 * oh + 1]; kh++) {
                            const uint8_t *row = x + (id * IH + oh * s1 - q1 + kh * d1) * IW + ow * s2 - q2;
                            for (int64_t kw = w0; kw < w1; kw++) {
                                unsigned v = (uint8_t)(row[kw * d2] ^ bias);
                                best = v > best ? v : best;
                            }
                        }
                    }
                    yrow[ow] = (uint8_t)(best ^ bias);
                }
            }
    }
}

/* The common 2-D case (no dilation, no padding, every window inside the plane): one pass per
 * tap over a whole output row, y[ow] = max(y[ow], x[ih][ow * s + kw]), which the compiler
 * vectorizes; ~20x the general loop's speed on 2x2 windows. */
static void qmax_planes_2d(void *arg, int64_t p0, int64_t p1) {
    const QMaxJob *J = arg;
    const RtConvGeom *g = J->g;
    const uint8_t bias = J->u8 ? 0 : 128;
    const int64_t OH = g->out[1], OW = g->out[2], IW = g->in[2], KH = g->k[1], KW = g->k[2];
    const int64_t s1 = g->stride[1], s2 = g->stride[2], pin = J->pin, pout = J->pout;
    for (int64_t p = p0; p < p1; p++)
        for (int64_t oh = 0; oh < OH; oh++) {
            uint8_t *restrict yrow = J->y + p * pout + oh * OW;
            for (int64_t ow = 0; ow < OW; ow++) yrow[ow] = 0; /* biased: below every code */
            for (int64_t kh = 0; kh < KH; kh++) {
                const uint8_t *restrict row = J->x + p * pin + (oh * s1 + kh) * IW;
                for (int64_t kw = 0; kw < KW; kw++)
                    for (int64_t ow = 0; ow < OW; ow++) {
                        uint8_t v = (uint8_t)(row[ow * s2 + kw] ^ bias);
                        yrow[ow] = v > yrow[ow] ? v : yrow[ow];
                    }
            }
            for (int64_t ow = 0; ow < OW; ow++) yrow[ow] ^= bias;
        }
}

/* 1 when g is 2-D without dilation or padding and every window lies inside the plane. */
static int qmax_simple_2d(const RtConvGeom *g) {
    return g->out[0] == 1 && g->k[0] == 1 && g->in[0] == 1 && g->dil[1] == 1 && g->dil[2] == 1 && g->pad0[1] == 0 &&
           g->pad0[2] == 0 && (g->out[1] - 1) * g->stride[1] + g->k[1] <= g->in[1] &&
           (g->out[2] - 1) * g->stride[2] + g->k[2] <= g->in[2];
}

static int k_max_pool_fallback(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    for (const RtKernelEntry *e = rt_kernels_x86_pool; e->op >= 0; e++)
        if (e->op == n->op) return e->fn(c, n, in, out);
    RtKernelFn ref = rt_kernel_find(n->op);
    return ref ? ref(c, n, in, out) : rt_fail(c, "no kernel for %s", rt_op_name(n->op));
}

static int k_max_pool_q8(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0);
    const int64_t *ks;
    int nk = rt_attr_ints(n, "kernel_shape", &ks);
    int64_t ceil_mode = rt_attr_int(n, "ceil_mode", 0);
    if (c->shape_only || !x || !x->data || (x->dtype != RT_I8 && x->dtype != RT_U8) || x->rank < 3 || x->rank > 5 ||
        nk != x->rank - 2 || (n->n_out > 1 && out[1]) || rt_attr_int(n, "storage_order", 0) != 0 ||
        (ceil_mode != 0 && ceil_mode != 1))
        return k_max_pool_fallback(c, n, in, out);
    RtConvGeom g;
    RT_TRY(rt_geom_read(c, n, x->rank - 2, x->dims + 2, ks, &g));
    RT_TRY(rt_geom_forward(c, n, (int)ceil_mode, &g));
    int64_t dims[RT_MAX_RANK];
    rt_geom_out_dims(&g, x->dims[0], x->dims[1], dims);
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, x->rank, dims));
    int64_t nt = 2 * (g.out[0] + g.out[1] + g.out[2]);
    int64_t *taps = rt_scratch(c, sizeof(int64_t) * (size_t)nt);
    if (!taps) return RT_ERR_NOMEM;
    QMaxJob J = {&g, {taps, taps + 2 * g.out[0], taps + 2 * (g.out[0] + g.out[1])}, x->data, out[0]->data,
                 rt_geom_numel(g.in), rt_geom_numel(g.out), x->dtype == RT_U8};
    for (int a = 0; a < 3; a++)
        for (int64_t o = 0; o < g.out[a]; o++) {
            int64_t *t = taps + (J.taps[a] - taps) + 2 * o;
            rt_geom_taps(o, g.stride[a], g.pad0[a], g.dil[a], g.k[a], g.in[a], &t[0], &t[1]);
        }
    int64_t planes = x->dims[0] * x->dims[1];
    if (planes > 0 && J.pout > 0)
        rt_parallel_for(c->pool, planes, (4096 + J.pout - 1) / J.pout, qmax_simple_2d(&g) ? qmax_planes_2d : qmax_planes,
                        &J);
    rt_scratch_free(c, taps);
    return RT_OK;
}

const RtKernelEntry rt_kernels_x86_qmaxpool[] = {
    {RT_OP_MAX_POOL, k_max_pool_q8},
    {-1, 0},
};
