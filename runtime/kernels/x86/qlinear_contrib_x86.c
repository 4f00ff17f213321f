/*
 * qlinear_contrib_x86.c — the fast route of the quantized ops of onnxruntime's QOperator
 * models (QLinearConv, QLinearMatMul, QGemm, QLinearAdd, MatMulIntegerToFloat, ...): each is
 * lowered, at run time and per call, onto wafer's int8 machinery of qops_x86.c / qgemm.h
 * instead of the int16 reference loops.
 *
 *   QLinearConv  has exactly wafer QConv's inputs (x, x_scale, x_zp, w, w_scale, w_zp, y_scale,
 *                y_zp, B?) and attributes: it runs QConv's optimized kernel (depthwise direct,
 *                1x1 GEMM, im2col + GEMM, weights packed once in the node's state). QConv
 *                requantizes with a fixed-point multiplier made from x_scale * w_scale / y_scale
 *                in double; the spec's (and onnxruntime's) float32 product rounds to even: the
 *                two differ only for values within float rounding of a .5 tie, by one step.
 *   QLinearAdd   same-shape operands: QAdd's optimized kernel (TFLite's integer add); same
 *                bound, one step at rounding ties.
 *   QGemm        the int32 products on the int8 GEMM (y32 output: A rows are the activations,
 *                B^T the weight rows, b_zp per row), then the reference's own float32
 *                requantization: bit-identical to ref/qlinear_contrib.c. transB = 0 weights are
 *                transposed once into the node's state when B is a constant (per call into
 *                scratch otherwise).
 *   MatMulIntegerToFloat, DynamicQuantizeMatMul   (2-D B) the same int32 GEMM and the reference's
 *                float32 epilogue, bit-identical; DynamicQuantizeMatMul quantizes A with the
 *                DynamicQuantizeLinear kernel first, as its reference does.
 *   QLinearMatMul  (the ONNX op: per-tensor a and y, 2-D B) the same, with quant.c's epilogue.
 *   com.microsoft QLinearConv (channels_last, onnxruntime's NHWC form): the fast QLinearConv
 *                between two byte relayouts (ref/qlinear_contrib_conv.c; 16 x 16 SSE2
 *                transposes here).
 *   DequantizeLinear  (the standard op, which these models keep between their int8 part and the
 *                convolutions they leave in float) per tensor, int8/uint8 to float32: the
 *                reference's y = float(x - zp) * s, 16 values per AVX-512 step, long tensors
 *                split over the threads, bit-identical.
 * Each takes the cases it is built for — data present, a CPU the int8 GEMM runs on
 * (rt_qgemm_isa), the parameters the reference accepts — and hands everything else, every
 * error included, to the reference kernel of the op itself (QLinearConv / QLinearAdd once
 * handed to QConv / QAdd follow those kernels' own fallback, their references: the same
 * one-step bound).
 */
#include <math.h>
#include <string.h>

#include "../quant.h"
#include "../ref/qlinear_contrib.h"
#include "qgemm.h"
#include "../../rt_threads.h"

static int ref_run(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return rt_kernel_find(n->op)(c, n, in, out);
}

static int is_q8(RtDtype t) { return t == RT_I8 || t == RT_U8; }

/* One float32 value with data, finite and > 0. */
static int scale1_ok(const RtTensor *t) {
    if (!t || t->dtype != RT_F32 || rt_numel(t) != 1 || t->rank > 1 || !t->data) return 0;
    float v = ((const float *)t->data)[0];
    return v > 0.0f && !isinf(v);
}

/* Absent (when allowed), or one value of dtype dt with data. */
static int zp1_ok(const RtTensor *z, RtDtype dt, int optional) {
    if (!z) return optional;
    return z->dtype == dt && rt_numel(z) == 1 && z->rank <= 1 && z->data;
}

/* Scales (float32, > 0) or zero points (dtype dt) of one value or [M], with data. */
static int chan_ok(const RtTensor *t, RtDtype dt, int64_t M) {
    if (!t || t->dtype != dt || !t->data) return 0;
    int64_t k = rt_numel(t);
    if (k != 1 && (t->rank != 1 || k != M)) return 0;
    if (dt == RT_F32)
        for (int64_t i = 0; i < k; i++) {
            float v = ((const float *)t->data)[i];
            if (!(v > 0.0f) || isinf(v)) return 0;
        }
    return 1;
}

/* Runs node n as wafer op `op` (same inputs and attributes) through its optimized kernel. */
static int run_as(RtKernelCtx *c, const RtNode *n, int op, RtTensor *const *in, RtTensor *const *out) {
    RtNode m = *n;
    m.op = op;
    return rt_kernel_find_fast(op)(c, &m, in, out);
}

/* The float32 requantization of the references, y = clamp(nearbyint(float(acc) * mult) + zy),
 * for many values: the clamp to [lo - zy, hi - zy] (integers) comes first, so the rounding only
 * sees |v| <= 510, where adding and removing 1.5 * 2^23 rounds half to even exactly as
 * nearbyint does under the default rounding mode (MLAS's trick); NaN gives zy as
 * rt_round_sat does. Bit-identical to rt_round_sat((double)((float)acc * mult), zy, lo, hi). */
typedef struct {
    float flo, fhi; /* lo - zy, hi - zy */
    int32_t zy;
    int u8;         /* output uint8, else int8 */
} RqOut;

static RqOut rq_out(RtDtype t, int32_t zy) {
    int32_t lo, hi;
    rt_qrange(t, &lo, &hi);
    RqOut o = {(float)(lo - zy), (float)(hi - zy), zy, t == RT_U8};
    return o;
}

static inline int32_t rq_one(int32_t acc, float mult, const RqOut *o) {
    float v = (float)acc * mult;
    if (v != v) v = 0.0f;
    v = v < o->flo ? o->flo : v > o->fhi ? o->fhi : v;
    v = (v + 12582912.0f) - 12582912.0f;
    return (int32_t)v + o->zy;
}

/* y[i * ldy + j] for rows i < R, columns j < N: acc[i * N + j] (+ bias[i * sm + j * sn]
 * modulo 2^32 when bias) requantized with mult[j]. */
static void rq_store(const RqOut *o, void *y, const int32_t *acc, int64_t R, int64_t N, const float *mult) {
    for (int64_t i = 0; i < R; i++) {
        const int32_t *a = acc + i * N;
        if (o->u8) {
            uint8_t *d = (uint8_t *)y + i * N;
            for (int64_t j = 0; j < N; j++) d[j] = (uint8_t)rq_one(a[j], mult[j], o);
        } else {
            int8_t *d = (int8_t *)y + i * N;
            for (int64_t j = 0; j < N; j++) d[j] = (int8_t)rq_one(a[j], mult[j], o);
        }
    }
}

/* ---------------------------------------------------------------- QLinearConv -> QConv */

static int k_qlinear_conv(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0), *w = rt_in(n, in, 3), *b = rt_in(n, in, 8);
    if (c->shape_only || rt_qgemm_isa() == RT_QGEMM_REF || !x || !w || !is_q8(x->dtype) || !is_q8(w->dtype) ||
        !x->data || !w->data || w->rank < 3 || x->rank != w->rank)
        return ref_run(c, n, in, out);
    int64_t M = w->dims[0];
    const RtTensor *yz = rt_in(n, in, 7);
    if (!scale1_ok(rt_in(n, in, 1)) || !zp1_ok(rt_in(n, in, 2), x->dtype, 1) || !chan_ok(rt_in(n, in, 4), RT_F32, M) ||
        (rt_in(n, in, 5) && !chan_ok(rt_in(n, in, 5), w->dtype, M)) || !scale1_ok(rt_in(n, in, 6)) ||
        !yz || !is_q8(yz->dtype) || !zp1_ok(yz, yz->dtype, 0) ||
        (b && (b->dtype != RT_I32 || b->rank != 1 || b->dims[0] != M || !b->data)))
        return ref_run(c, n, in, out);
    return run_as(c, n, RT_OP_QCONV, in, out);
}

/* ---------------------------------------------------------------- QLinearAdd -> QAdd */

static int k_qlinear_add(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *a = rt_in(n, in, 0), *bb = rt_in(n, in, 3), *cz = rt_in(n, in, 7);
    if (c->shape_only || rt_qgemm_isa() == RT_QGEMM_REF || !a || !bb || !is_q8(a->dtype) || bb->dtype != a->dtype ||
        !a->data || !bb->data || a->rank != bb->rank || !rt_shape_equal(a, bb) || !scale1_ok(rt_in(n, in, 1)) ||
        !zp1_ok(rt_in(n, in, 2), a->dtype, 1) || !scale1_ok(rt_in(n, in, 4)) || !zp1_ok(rt_in(n, in, 5), a->dtype, 1) ||
        !scale1_ok(rt_in(n, in, 6)) || (cz && (!is_q8(cz->dtype) || !zp1_ok(cz, cz->dtype, 0))))
        return ref_run(c, n, in, out);
    return run_as(c, n, RT_OP_QADD, in, out);
}

/* ---------------------------------------------------------------- QGemm */

/* The node state of a transB = 0 QGemm: B^T [N, K] kept once (B is a constant). */
#define QGEMM_STATE_MAGIC 0x5147454d4d425431ull /* "QGEMMBT1" */
typedef struct {
    uint64_t magic;
    int64_t N, K;
    int b_u8;
} QGemmState;

/* B^T [N, K] of B [K, N] (input bj of the node) from the node's state, made there first; NULL
 * when the node keeps no state or B is not a constant. */
static const uint8_t *qgemm_bt_cached(RtKernelCtx *c, const RtTensor *B, int bj, int64_t K, int64_t N) {
    if (!c->node_state || !c->state_alloc || !((c->const_inputs >> bj) & 1)) return NULL;
    QGemmState *s = *c->node_state;
    size_t hdr = (sizeof(QGemmState) + 63) & ~(size_t)63;
    if (s && s->magic == QGEMM_STATE_MAGIC && s->N == N && s->K == K && s->b_u8 == (B->dtype == RT_U8))
        return (const uint8_t *)s + hdr;
    uint8_t *blk = c->state_alloc->alloc(c->state_alloc->user, hdr + (size_t)(N * K));
    if (!blk) return NULL;
    s = (QGemmState *)blk;
    s->magic = QGEMM_STATE_MAGIC, s->N = N, s->K = K, s->b_u8 = B->dtype == RT_U8;
    const uint8_t *src = B->data;
    for (int64_t k = 0; k < K; k++)
        for (int64_t j = 0; j < N; j++) blk[hdr + j * K + k] = src[k * N + j];
    if (*c->node_state) c->state_alloc->free(c->state_alloc->user, *c->node_state);
    *c->node_state = s;
    return blk + hdr;
}

/* acc[M, N] = sum_k (A[m, k] - za)(B[k, n] - zw[n]) on the int8 GEMM, from B^T [N, K] (bt) and
 * A [M, K] rows; zw NULL = 0. The weight rows are the GEMM's A, the activations its B. */
static int gemm_s32(RtKernelCtx *c, RtQgemmIsa isa, const void *a, int a_u8, int32_t za, int64_t M, int64_t K,
                    const uint8_t *bt, int b_u8, const int32_t *zw, int64_t N, int32_t *acc) {
    RtQgemm G;
    memset(&G, 0, sizeof G);
    G.M = N, G.N = M, G.K = K; /* acc^T[N, M] = B^T[N, K] x A^T */
    G.a = bt, G.lda = K, G.a_u8 = b_u8, G.za = zw;
    G.b = a, G.ldb = K, G.b_u8 = a_u8, G.b_layout = RT_QGEMM_B_NK, G.zb = za;
    G.y32 = acc, G.ldy = 1, G.ldyn = N;
    return rt_qgemm_run(c, &G, isa);
}

/* B^T [N, K] of a [K, N] B: from the node state (input bj constant) or into *own (scratch the
 * caller frees); NULL when out of memory. */
static const uint8_t *b_transposed(RtKernelCtx *c, const RtTensor *B, int bj, int64_t K, int64_t N, uint8_t **own) {
    *own = NULL;
    const uint8_t *bt = qgemm_bt_cached(c, B, bj, K, N);
    if (bt) return bt;
    *own = rt_scratch(c, (size_t)(N * K > 0 ? N * K : 1));
    if (!*own) return NULL;
    const uint8_t *src = B->data;
    for (int64_t k = 0; k < K; k++)
        for (int64_t j = 0; j < N; j++) (*own)[j * K + k] = src[k * N + j];
    return *own;
}

/* The cases the fast QGemm takes (else the reference runs and reports). */
static int qgemm_ok(const RtNode *n, RtTensor *const *in, int64_t *M, int64_t *K, int64_t *N) {
    const RtTensor *A = rt_in(n, in, 0), *B = rt_in(n, in, 3), *C = rt_in(n, in, 6), *ys = rt_in(n, in, 7);
    const RtTensor *yz = rt_in(n, in, 8);
    int tb = rt_attr_int(n, "transB", 0) != 0;
    if (!A || !B || !is_q8(A->dtype) || !is_q8(B->dtype) || !A->data || !B->data || A->rank != 2 || B->rank != 2 ||
        rt_attr_int(n, "transA", 0) != 0)
        return 0;
    *M = A->dims[0], *K = A->dims[1], *N = B->dims[1 - tb];
    if (B->dims[tb] != *K || *K == 0 || *M == 0 || *N == 0) return 0;
    if (!scale1_ok(rt_in(n, in, 1)) || !zp1_ok(rt_in(n, in, 2), A->dtype, 0) || !chan_ok(rt_in(n, in, 4), RT_F32, *N) ||
        !chan_ok(rt_in(n, in, 5), B->dtype, *N) || rt_numel(rt_in(n, in, 4)) != rt_numel(rt_in(n, in, 5)) ||
        rt_in(n, in, 4)->rank != rt_in(n, in, 5)->rank)
        return 0;
    if (C) { /* int32 broadcast to [M, N]: scalar, [N], [1, N], [M, 1], [M, N] */
        int64_t d0 = C->rank == 2 ? C->dims[0] : 1, d1 = C->rank >= 1 ? C->dims[C->rank - 1] : 1;
        if (C->dtype != RT_I32 || !C->data || C->rank > 2 || (d0 != 1 && d0 != *M) || (d1 != 1 && d1 != *N)) return 0;
    }
    if (ys && !scale1_ok(ys)) return 0;
    if (yz && (!ys || !is_q8(yz->dtype) || !zp1_ok(yz, yz->dtype, 0))) return 0;
    return 1;
}

static int k_qgemm(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    int64_t M, K, N;
    RtQgemmIsa isa = rt_qgemm_isa();
    if (c->shape_only || isa == RT_QGEMM_REF || !qgemm_ok(n, in, &M, &K, &N)) return ref_run(c, n, in, out);
    const RtTensor *A = in[0], *B = in[3], *bs = in[4], *bz = in[5], *C = rt_in(n, in, 6);
    const RtTensor *ysc = rt_in(n, in, 7), *yz = rt_in(n, in, 8);
    RtDtype yt = yz ? yz->dtype : RT_F32;
    int64_t dims[2] = {M, N};
    RT_TRY(rt_out_alloc(c, out[0], yt, 2, dims));
    int tb = rt_attr_int(n, "transB", 0) != 0;
    uint8_t *own_bt = NULL;
    int32_t *acc = rt_scratch(c, sizeof(int32_t) * (size_t)(M * N + 2 * N));
    const uint8_t *bt = !acc ? NULL : tb ? B->data : b_transposed(c, B, 3, K, N, &own_bt);
    if (!acc || !bt) {
        rt_scratch_free(c, acc);
        return RT_ERR_NOMEM;
    }
    int32_t *zw = acc + M * N;
    float *s = (float *)(zw + N);
    int64_t kz = rt_numel(bz);
    int any_zw = 0;
    float alpha = rt_attr_float(n, "alpha", 1.0f), as = ((const float *)in[1]->data)[0];
    for (int64_t j = 0; j < N; j++) {
        zw[j] = rt_qget(bz, kz > 1 ? j : 0);
        any_zw |= zw[j] != 0;
        s[j] = alpha * as * ((const float *)bs->data)[kz > 1 ? j : 0]; /* the reference's order */
        if (ysc) s[j] /= ((const float *)ysc->data)[0];
    }
    int st = gemm_s32(c, isa, A->data, A->dtype == RT_U8, rt_qget(in[2], 0), M, K, bt, B->dtype == RT_U8,
                      any_zw ? zw : NULL, N, acc);
    if (st == RT_OK) {
        int64_t sm = 0, sn = 0;
        if (C) {
            int64_t d0 = C->rank == 2 ? C->dims[0] : 1, d1 = C->rank >= 1 ? C->dims[C->rank - 1] : 1;
            sm = d0 == 1 ? 0 : d1, sn = d1 == 1 ? 0 : 1;
        }
        if (C) /* C + products modulo 2^32, as the reference accumulates onto C */
            for (int64_t m = 0; m < M; m++)
                for (int64_t j = 0; j < N; j++)
                    acc[m * N + j] =
                        (int32_t)((uint32_t)acc[m * N + j] + (uint32_t)((const int32_t *)C->data)[m * sm + j * sn]);
        if (yz) {
            RqOut o = rq_out(yt, rt_qget(yz, 0));
            rq_store(&o, out[0]->data, acc, M, N, s);
        } else {
            for (int64_t i = 0; i < M * N; i++) ((float *)out[0]->data)[i] = (float)acc[i] * s[i % N];
        }
    }
    rt_scratch_free(c, own_bt);
    rt_scratch_free(c, acc);
    return st;
}

/* ---------------------------------------------------------------- MatMulIntegerToFloat */

/* Y = float(acc) * (a_scale * b_scale[n]) + bias[n] over A [..., M, K] (rows R = all of A's
 * rows) and a 2-D B [K, N] (input bj), as the reference's epilogue; b_scale, b_zp, bias
 * checked by the caller. */
static int mmitf_run(RtKernelCtx *c, RtQgemmIsa isa, const RtTensor *A, int32_t za, float as, const RtTensor *B, int bj,
                     const RtTensor *bs, const RtTensor *bz, const RtTensor *bias, RtTensor *y) {
    int64_t K = B->dims[0], N = B->dims[1], R = rt_numel(A) / K;
    int64_t dims[RT_MAX_RANK];
    memcpy(dims, A->dims, sizeof(int64_t) * (size_t)A->rank);
    dims[A->rank - 1] = N;
    RT_TRY(rt_out_alloc(c, y, RT_F32, A->rank, dims));
    if (R == 0 || N == 0) return RT_OK;
    uint8_t *own_bt = NULL;
    int32_t *acc = rt_scratch(c, sizeof(int32_t) * (size_t)(R * N + N));
    const uint8_t *bt = acc ? b_transposed(c, B, bj, K, N, &own_bt) : NULL;
    if (!acc || !bt) {
        rt_scratch_free(c, acc);
        return RT_ERR_NOMEM;
    }
    int32_t *zw = acc + R * N;
    int64_t kz = bz ? rt_numel(bz) : 0, ks = rt_numel(bs);
    int any_zw = 0;
    for (int64_t j = 0; j < N; j++) any_zw |= (zw[j] = kz ? rt_qget(bz, kz > 1 ? j : 0) : 0) != 0;
    int st = gemm_s32(c, isa, A->data, A->dtype == RT_U8, za, R, K, bt, B->dtype == RT_U8, any_zw ? zw : NULL, N, acc);
    if (st == RT_OK) {
        const float *bsv = bs->data, *bv = bias ? bias->data : NULL;
        float *yv = y->data;
        for (int64_t r = 0; r < R; r++)
            for (int64_t j = 0; j < N; j++) {
                float v = (float)acc[r * N + j] * (as * bsv[ks > 1 ? j : 0]);
                yv[r * N + j] = bv ? v + bv[j] : v;
            }
    }
    rt_scratch_free(c, own_bt);
    rt_scratch_free(c, acc);
    return st;
}

/* A 2-D B with data and its b_scale / b_zp / bias as the reference accepts them. */
static int mm_b_ok(const RtTensor *A, const RtTensor *B, const RtTensor *bs, const RtTensor *bz, const RtTensor *bias) {
    if (!B || !is_q8(B->dtype) || !B->data || B->rank != 2 || A->rank < 2 || A->dims[A->rank - 1] != B->dims[0] ||
        B->dims[0] == 0)
        return 0;
    int64_t N = B->dims[1];
    if (!chan_ok(bs, RT_F32, N) || bs->rank > 1 || (bz && (!chan_ok(bz, B->dtype, N) || bz->rank > 1))) return 0;
    return !bias || (bias->dtype == RT_F32 && bias->rank == 1 && bias->dims[0] == N && bias->data);
}

static int k_matmul_integer_to_float(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *A = rt_in(n, in, 0), *B = rt_in(n, in, 1), *as = rt_in(n, in, 2), *bs = rt_in(n, in, 3);
    const RtTensor *az = rt_in(n, in, 4), *bz = rt_in(n, in, 5), *bias = rt_in(n, in, 6);
    RtQgemmIsa isa = rt_qgemm_isa();
    if (c->shape_only || isa == RT_QGEMM_REF || !A || !is_q8(A->dtype) || !A->data || !scale1_ok(as) ||
        !zp1_ok(az, A->dtype, 1) || !mm_b_ok(A, B, bs, bz, bias))
        return ref_run(c, n, in, out);
    return mmitf_run(c, isa, A, rt_qget(az, 0), ((const float *)as->data)[0], B, 1, bs, bz, bias, out[0]);
}

/* A float32 quantized to uint8 by the DynamicQuantizeLinear kernel, then as above. */
static int k_dynamic_quantize_matmul(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *A = rt_in(n, in, 0), *B = rt_in(n, in, 1), *bs = rt_in(n, in, 2), *bz = rt_in(n, in, 3);
    const RtTensor *bias = rt_in(n, in, 4);
    RtQgemmIsa isa = rt_qgemm_isa();
    if (c->shape_only || isa == RT_QGEMM_REF || !A || A->dtype != RT_F32 || !A->data || !mm_b_ok(A, B, bs, bz, bias))
        return ref_run(c, n, in, out);
    int slots_in[1] = {0}, slots_out[3] = {1, 2, 3};
    RtNode dq = {
        RT_OP_DYNAMIC_QUANTIZE_LINEAR, n->name, "DynamicQuantizeLinear", "", 11, 1, slots_in, 3, slots_out, 0, NULL};
    RtTensor qa, qs, qz, *qo[3] = {&qa, &qs, &qz};
    memset(&qa, 0, sizeof qa), memset(&qs, 0, sizeof qs), memset(&qz, 0, sizeof qz);
    RtKernelCtx c2 = *c; /* A's codes in scratch, not in the node's planned output */
    c2.planned_out = NULL, c2.planned_bytes = NULL, c2.n_planned = 0, c2.node_state = NULL;
    c2.nhwc_in = c2.nhwc_out = NULL;
    RtTensor *const dq_in[1] = {(RtTensor *)A};
    int st = rt_kernel_find_fast(RT_OP_DYNAMIC_QUANTIZE_LINEAR)(&c2, &dq, dq_in, qo);
    if (st == RT_OK)
        st = mmitf_run(c, isa, &qa, rt_qget(&qz, 0), ((const float *)qs.data)[0], B, 1, bs, bz, bias, out[0]);
    for (int i = 0; i < 3; i++)
        if (qo[i]->data) c->alloc->free(c->alloc->user, qo[i]->data);
    return st;
}

/* ---------------------------------------------------------------- QLinearMatMul */

/* The ONNX op with per-tensor a and y parameters and a 2-D B (per-tensor or per-column b):
 * the int32 GEMM, then ref/quant.c's epilogue, bit-identical:
 *   y = clamp(nearbyint(float(acc) * (a_scale * b_scale[n] / y_scale)) + y_zp), float32. */
static int k_qlinear_matmul(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *A = rt_in(n, in, 0), *as = rt_in(n, in, 1), *az = rt_in(n, in, 2), *B = rt_in(n, in, 3);
    const RtTensor *bs = rt_in(n, in, 4), *bz = rt_in(n, in, 5), *ys = rt_in(n, in, 6), *yz = rt_in(n, in, 7);
    RtQgemmIsa isa = rt_qgemm_isa();
    if (c->shape_only || isa == RT_QGEMM_REF || !A || !is_q8(A->dtype) || !A->data || !scale1_ok(as) ||
        !zp1_ok(az, A->dtype, 0) || !mm_b_ok(A, B, bs, bz, NULL) || !bz || !scale1_ok(ys) || !yz ||
        !is_q8(yz->dtype) || !zp1_ok(yz, yz->dtype, 0))
        return ref_run(c, n, in, out);
    int64_t K = B->dims[0], N = B->dims[1], R = rt_numel(A) / K;
    int64_t dims[RT_MAX_RANK];
    memcpy(dims, A->dims, sizeof(int64_t) * (size_t)A->rank);
    dims[A->rank - 1] = N;
    RT_TRY(rt_out_alloc(c, out[0], yz->dtype, A->rank, dims));
    if (R == 0 || N == 0) return RT_OK;
    uint8_t *own_bt = NULL;
    int32_t *acc = rt_scratch(c, sizeof(int32_t) * (size_t)(R * N + 2 * N));
    const uint8_t *bt = acc ? b_transposed(c, B, 3, K, N, &own_bt) : NULL;
    if (!acc || !bt) {
        rt_scratch_free(c, acc);
        return RT_ERR_NOMEM;
    }
    int32_t *zw = acc + R * N;
    float *mult = (float *)(zw + N), fa = ((const float *)as->data)[0], fy = ((const float *)ys->data)[0];
    int64_t kz = rt_numel(bz), ks = rt_numel(bs);
    int any_zw = 0;
    for (int64_t j = 0; j < N; j++) {
        any_zw |= (zw[j] = rt_qget(bz, kz > 1 ? j : 0)) != 0;
        mult[j] = fa * ((const float *)bs->data)[ks > 1 ? j : 0] / fy; /* the reference's order */
    }
    int st = gemm_s32(c, isa, A->data, A->dtype == RT_U8, rt_qget(az, 0), R, K, bt, B->dtype == RT_U8,
                      any_zw ? zw : NULL, N, acc);
    if (st == RT_OK) {
        RqOut o = rq_out(yz->dtype, rt_qget(yz, 0));
        rq_store(&o, out[0]->data, acc, R, N, mult);
    }
    rt_scratch_free(c, own_bt);
    rt_scratch_free(c, acc);
    return st;
}

/* ---------------------------------------------------------------- DequantizeLinear */

typedef struct {
    const void *x; /* borrowed: int8 / uint8 */
    float *y;      /* borrowed */
    float sc;
    int32_t zp;
    int u8;
} DqJob;

#define DQ_PAR_MIN ((int64_t)1 << 16) /* elements per thread's chunk: ~5 us of streaming */

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/* 16 values per step: widened to int32, minus zp (exact), to float (exact: |x - zp| <= 255),
 * times the scale: the scalar loop's one rounding. */
__attribute__((target("avx512f,avx512bw,avx512vl"))) static void dq512(const DqJob *J, int64_t i0, int64_t i1) {
    const __m512 s = _mm512_set1_ps(J->sc);
    const __m512i zp = _mm512_set1_epi32(J->zp);
    for (int64_t i = i0; i < i1; i += 16) {
        const __mmask16 m = i1 - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (i1 - i)) - 1);
        const __m128i b = _mm_maskz_loadu_epi8(m, (const char *)J->x + i);
        const __m512i v = J->u8 ? _mm512_cvtepu8_epi32(b) : _mm512_cvtepi8_epi32(b);
        _mm512_mask_storeu_ps(J->y + i, m, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(v, zp)), s));
    }
}
#endif

static void dq_chunk(void *arg, int64_t i0, int64_t i1) {
    const DqJob *J = arg;
#if defined(__x86_64__) && defined(__GNUC__)
    if (rt_qgemm_isa() == RT_QGEMM_VNNI) { /* AVX-512 F/BW/VL (and VNNI) */
        dq512(J, i0, i1);
        return;
    }
#endif
    if (J->u8) {
        const uint8_t *p = J->x;
        for (int64_t i = i0; i < i1; i++) J->y[i] = (float)((int32_t)p[i] - J->zp) * J->sc;
    } else {
        const int8_t *p = J->x;
        for (int64_t i = i0; i < i1; i++) J->y[i] = (float)((int32_t)p[i] - J->zp) * J->sc;
    }
}

static int k_dequantize_linear(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0), *s = rt_in(n, in, 1), *z = rt_in(n, in, 2);
    if (c->shape_only || !x || !is_q8(x->dtype) || !x->data || !scale1_ok(s) || !zp1_ok(z, x->dtype, 1) ||
        (z && z->rank != s->rank) || rt_attr(n, "output_dtype") || rt_attr_int(n, "block_size", 0) != 0)
        return ref_run(c, n, in, out);
    RT_TRY(rt_out_alloc(c, out[0], RT_F32, x->rank, x->dims));
    DqJob J = {x->data, out[0]->data, ((const float *)s->data)[0], rt_qget(z, 0), x->dtype == RT_U8};
    rt_parallel_for(c->pool, rt_numel(x), DQ_PAR_MIN, dq_chunk, &J);
    return RT_OK;
}

/* ---------------------------------------------------------------- com.microsoft QLinearConv */

#if defined(__x86_64__) && defined(__GNUC__)
#include <emmintrin.h>

/* t[j] = column j of the 16 x 16 bytes a[i] (rows): four rounds of interleaves, 8, 16, 32 and
 * 64 bits wide, each pairing rows (or row groups) that are 1, 2, 4 and 8 apart. */
static void tr16x16(const uint8_t *src, int64_t lds, uint8_t *dst, int64_t ldd) {
    __m128i a[16], b[16], c[16];
    for (int i = 0; i < 16; i++) a[i] = _mm_loadu_si128((const __m128i *)(src + i * lds));
    for (int k = 0; k < 8; k++) { /* b[2k]: columns 0-7 of rows 2k, 2k+1 as 16-bit pairs; b[2k+1]: 8-15 */
        b[2 * k] = _mm_unpacklo_epi8(a[2 * k], a[2 * k + 1]);
        b[2 * k + 1] = _mm_unpackhi_epi8(a[2 * k], a[2 * k + 1]);
    }
    for (int g = 0; g < 4; g++) { /* rows 4g..4g+3; c[4g + q]: columns 4q..4q+3 as 32-bit groups */
        const __m128i *p = b + 4 * g;
        c[4 * g + 0] = _mm_unpacklo_epi16(p[0], p[2]);
        c[4 * g + 1] = _mm_unpackhi_epi16(p[0], p[2]);
        c[4 * g + 2] = _mm_unpacklo_epi16(p[1], p[3]);
        c[4 * g + 3] = _mm_unpackhi_epi16(p[1], p[3]);
    }
    for (int q = 0; q < 4; q++) {
        __m128i lo01 = _mm_unpacklo_epi32(c[q], c[4 + q]), hi01 = _mm_unpackhi_epi32(c[q], c[4 + q]);
        __m128i lo23 = _mm_unpacklo_epi32(c[8 + q], c[12 + q]), hi23 = _mm_unpackhi_epi32(c[8 + q], c[12 + q]);
        _mm_storeu_si128((__m128i *)(dst + (4 * q + 0) * ldd), _mm_unpacklo_epi64(lo01, lo23));
        _mm_storeu_si128((__m128i *)(dst + (4 * q + 1) * ldd), _mm_unpackhi_epi64(lo01, lo23));
        _mm_storeu_si128((__m128i *)(dst + (4 * q + 2) * ldd), _mm_unpacklo_epi64(hi01, hi23));
        _mm_storeu_si128((__m128i *)(dst + (4 * q + 3) * ldd), _mm_unpackhi_epi64(hi01, hi23));
    }
}

/* dst[j * rows + i] = src[i * cols + j]: 16 x 16 blocks, the edges byte by byte. */
static void tr_u8(const uint8_t *src, int64_t rows, int64_t cols, uint8_t *dst) {
    int64_t r16 = rows & ~(int64_t)15, c16 = cols & ~(int64_t)15;
    for (int64_t i = 0; i < r16; i += 16)
        for (int64_t j = 0; j < c16; j += 16) tr16x16(src + i * cols + j, cols, dst + j * rows + i, rows);
    for (int64_t i = 0; i < rows; i++) /* the right edge: columns c16.. */
        for (int64_t j = c16; j < cols; j++) dst[j * rows + i] = src[i * cols + j];
    for (int64_t i = r16; i < rows; i++) /* the bottom edge: rows r16.. */
        for (int64_t j = 0; j < c16; j++) dst[j * rows + i] = src[i * cols + j];
}

/* rt_q8_relayout with SSE2 (every x86-64 CPU): the same bytes moved, 16 x 16 at a time. */
static void q8_relayout_sse2(const uint8_t *src, uint8_t *dst, int64_t N, int64_t C, int64_t S, int to_nchw) {
    for (int64_t b = 0; b < N; b++) {
        if (to_nchw) tr_u8(src + b * C * S, S, C, dst + b * C * S);
        else tr_u8(src + b * C * S, C, S, dst + b * C * S);
    }
}
#define MS_RELAYOUT q8_relayout_sse2
#else
#define MS_RELAYOUT rt_q8_relayout
#endif

/* channels_last: the fast QLinearConv above between two byte relayouts
 * (ref/qlinear_contrib_conv.c), 16 x 16 blocks with SSE2. A 1x1 convolution run as one GEMM
 * straight on the NHWC bytes (activation rows as the GEMM's A, int32 output, float32
 * epilogue) measured no faster on mobilenet_v2 (10.8 against 10.4 ms, batch 1) than the
 * relayouts with the scalar tiles. */
static int k_ms_qlinear_conv(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return rt_ms_qlinear_conv(c, n, in, out, 1, MS_RELAYOUT);
}

const RtKernelEntry rt_kernels_x86_qlinear_contrib[] = {
    {RT_OP_MS_QLINEAR_CONV, k_ms_qlinear_conv},
    {RT_OP_DEQUANTIZE_LINEAR, k_dequantize_linear},
    {RT_OP_QLINEAR_CONV, k_qlinear_conv},
    {RT_OP_QLINEAR_ADD, k_qlinear_add},
    {RT_OP_QGEMM, k_qgemm},
    {RT_OP_MATMUL_INTEGER_TO_FLOAT, k_matmul_integer_to_float},
    {RT_OP_QLINEAR_MATMUL, k_qlinear_matmul},
    {RT_OP_DYNAMIC_QUANTIZE_MATMUL, k_dynamic_quantize_matmul},
    {-1, 0},
};
