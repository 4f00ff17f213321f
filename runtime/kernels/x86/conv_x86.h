/*
 * conv_x86.h — what the optimized float32 Conv / FusedConv kernels share (private to
 * runtime/kernels/x86: conv_x86.c dispatches, dwconv_avx512.c runs depthwise convs,
 * conv_direct_x86.c convs with few input channels, conv_winograd_x86.c 3x3 stride-1
 * convs, conv_gemm_x86.c runs 1x1 and im2col convs on rt_sgemm_nn).
 *
 * A conv reaches these paths only as float32 with 1 or 2 spatial axes (normalized to the
 * 3-D geometry of ref/conv_geom.h with depth 1), every size > 0, on a CPU with AVX-512;
 * conv_x86.c hands everything else to the reference kernel. The bias and the fused
 * activation are applied on data still in registers: by the depthwise kernels, or by the
 * GEMM's store epilogue (sgemm.h).
 *
 * cx_act_v512 is the activation on 16 lanes with the element formulas of ref/activation.h
 * (same NaN behaviour: max/min keep a NaN operand that comes second; mul then add, no FMA,
 * as the reference's C99 code is compiled without contraction). Sigmoid is left to a pass
 * of rt_act_span (the reference's scalar formula) over each finished plane or block: exp
 * has no AVX-512 instruction, a call inside the vector loops would cost them their
 * registers, and fused sigmoids are rare in convs.
 */
#ifndef WAFER_RT_CONV_X86_H
#define WAFER_RT_CONV_X86_H

#include "../kernel.h"
#include "../ref/activation.h"
#include "../ref/conv_geom.h"

typedef struct {
    RtConvGeom g;          /* spatial geometry, 3-D normalized (g.in[0] = g.out[0] = 1) */
    int64_t N;             /* batch */
    int64_t C, M;          /* input / output channels */
    int64_t group;         /* channel groups */
    int64_t Cg, Mg;        /* input / output channels per group */
    int64_t K;             /* kernel taps kH*kW */
    int64_t Pin, Pout;     /* positions per channel of the input / the output: H*W */
    const float *x;        /* borrowed: [N, C, Pin] */
    const float *w;        /* borrowed: [M, Cg, K] */
    const float *b;        /* borrowed: [M] or NULL */
    const float *wp;       /* borrowed: w packed for the GEMM (sgemm.h, side A), group g's Mg x Cg*K
                              at wp + g * wp_stride; NULL = packed per call */
    int64_t wp_stride;
    const float *wu;       /* borrowed: Winograd's transformed weights [16][C][M rounded up to
                              16] (cx_winograd_u_make), kept in the node's state; NULL = made per call */
    int wino;              /* 1: the Winograd path runs this conv (cx_winograd_fits) */
    float *y;              /* output: [N, M, Pout] */
    RtAct act;             /* fused activation (RT_ACT_NONE for Conv) */
    /* Channels-last values (rt_plan_fast.h): 1 when x holds [N, Pin, C] / y gets [N, Pout, M]
     * although the dims say NCHW (kernel.h's nhwc_in / nhwc_out) */
    int nhwc_in, nhwc_out;
    const float *wt;       /* borrowed: W^T packed for cx_ngemm (cx_ngemm_pack), the path of an
                              NHWC output; NULL = packed per call */
    const float *wdw;      /* borrowed: a channel-lanes depthwise conv's weights and bias per
                              group of 16 channels, [ceil(C / 16)][K + 1][16] (cx_dw_pack), kept
                              in the node's state; NULL = transposed per call */
    int64_t ksplit;        /* 1x1 summed in two halves of the input channels (cx_pointwise_ksplit):
                              the first half's channels, C - ksplit the second's (then wp holds
                              the two halves, M x ksplit each, the second at wp + wp_stride);
                              0 = one GEMM over all of C */
} CxConv;

/* What a conv node can do channels-last (cx_conv_nhwc_caps): read its input NHWC, write its
 * output NHWC, read NHWC only when it also writes NHWC (CX_NHWC_IN_OUT: a 1x1 conv, whose
 * NCHW output from an NHWC input would be a transposed GEMM, slower than the transposes
 * the layout saves), and whether it is a depthwise conv on the channel-lanes kernel (where
 * keeping its neighbours NHWC pays: no transposes at all). */
enum { CX_NHWC_IN = 1, CX_NHWC_OUT = 2, CX_NHWC_DW = 4, CX_NHWC_IN_OUT = 8 };
/* The CX_NHWC_* bits of Conv / FusedConv node n for inputs of the planned shapes x, w and b
 * (b NULL when absent; data not read): 0 unless the optimized paths would run it (float32,
 * 2-D, AVX-512) with NHWC support: depthwise convs on the channel-lanes kernel (in and out,
 * in any combination), 1x1 stride-1 unpadded convs of one group (out, or in and out), other
 * one-group convs that would run on im2col (out only). */
int cx_conv_nhwc_caps(const RtNode *n, const RtTensor *x, const RtTensor *w, const RtTensor *b);
/* 1 when GlobalAveragePool / GlobalMaxPool node n reads an input of planned shape x NHWC
 * (pool_x86.c). */
int cx_pool_nhwc_ok(const RtNode *n, const RtTensor *x);

/* 1 when the depthwise kernel takes cv's geometry (its per-conv tables have fixed sizes);
 * else the caller runs the reference. */
int cx_depthwise_fits(const CxConv *cv);
/* Depthwise conv (Cg == Mg == 1, cx_depthwise_fits) of every image, parallel over channels;
 * NHWC input or output (cv->nhwc_in / nhwc_out) only where cx_depthwise_nhwc_fits. */
int cx_depthwise_f32(RtKernelCtx *c, const CxConv *cv);
/* 1 when the channel-lanes kernel takes cv's geometry (any number of channels): the
 * depthwise convs that read and write NHWC. */
int cx_depthwise_nhwc_fits(const CxConv *cv);
/* 1 when cx_depthwise_f32 runs cv on the channel-lanes kernel (which reads cv->wdw). */
int cx_depthwise_cl(const CxConv *cv);
/* Floats of cv's weights and bias packed for the channel-lanes kernel, and packing them into
 * dst (64-byte aligned): group g's taps t at dst[(g * (K + 1) + t) * 16 + lane], its bias at
 * t = K, zeros past C. */
int64_t cx_dw_packed_floats(const CxConv *cv);
void cx_dw_pack(const CxConv *cv, float *dst);

/* 1x1 stride-1 unpadded conv: per image and group Y[Mg, P] = W[Mg, Cg] * X[Cg, P]; with an
 * NHWC input or output (one group) cx_pointwise_nhwc_f32 runs it. */
int cx_pointwise_f32(RtKernelCtx *c, const CxConv *cv);
/* Where a 1x1 conv of cv's shape splits its sum over the input channels (the channels of
 * the first half), or 0 for one GEMM over all of them; by the shape alone (see
 * conv_gemm_x86.c), so the same for any thread count. */
int64_t cx_pointwise_ksplit(const CxConv *cv);
/* The same with y channels-last, x in either layout (group 1, conv_nhwc_x86.c):
 * Y[P, M] = X[P, C] * W^T on cx_ngemm. */
int cx_pointwise_nhwc_f32(RtKernelCtx *c, const CxConv *cv);

/* ---- conv_nhwc_x86.c: the GEMM of a channels-last output ----
 * Y[p, m] = act(sum_k A[p, k] * W[m, k] + b[m]) for p < P, m < M, A[p, k] at a[p * sp + k * sk]
 * (an NHWC input: sp = K, sk = 1; NCHW or im2col columns: sp = 1, sk = P), Y[p, m] at
 * y[p * ldy + m]. W comes packed (cx_ngemm_pack): blocks of 64 output channels, each
 * [K][64] (zeros past M), so a tile of 6 rows x 64 columns loads 4 vectors of W per k and
 * broadcasts its 6 A values from memory: no packing of A. Each element's sum runs over k
 * in order in one tile whatever the split, so any thread count gives the same bits. */
typedef struct {
    int64_t P, M, K;
    const float *a;        /* borrowed */
    int64_t sp, sk;        /* A's strides in floats */
    const float *wt;       /* borrowed: cx_ngemm_pack(W) */
    const float *b;        /* borrowed [M] or NULL */
    float *y;              /* borrowed */
    int64_t ldy;
    const RtAct *act;      /* borrowed; NULL = none */
    /* Offset tables instead of the strides (both or neither; borrowed): A[p, k] at
     * a[poff[p] + koff[k]] (a conv's taps read from its zero-padded input, no im2col) */
    const int32_t *poff, *koff;
} CxNgemm;
/* Deepest K the layout gives cx_ngemm (cx_conv_nhwc_caps): a 128 x 64 block of W^T is
 * 32 KiB, within L1 next to the A rows and Y tiles. */
#define CX_NGEMM_MAX_K 128
/* Floats of W[M, K] packed (64-byte aligned when dst is). */
int64_t cx_ngemm_packed_floats(int64_t M, int64_t K);
void cx_ngemm_pack(const float *w, int64_t M, int64_t K, float *dst);
/* The product on pool (one thread below ~2^21 multiply-adds). */
void cx_ngemm_run(struct RtThreadPool *pool, const CxNgemm *g);

/* 1 when the direct kernel takes cv (conv_direct_x86.c: one group, few taps Cg*kH*kW,
 * stride 1 or 2 along W, output rows of 16+ columns: MobileNet's stem). */
int cx_direct_fits(const CxConv *cv);
/* Such a conv directly: 16 outputs of a row times 8 output channels per tap load. */
int cx_direct_f32(RtKernelCtx *c, const CxConv *cv);

/* 1 when Winograd F(2x2, 3x3) takes cv (conv_winograd_x86.c: 2-D 3x3, stride 1, any
 * dilation d, one group, pads 0..2d; 16..128 channels on planes up to 16x16, 48+ on each side
 * (C * M / (C + M) >= 24) on larger ones: where it measured faster). */
int cx_winograd_fits(const CxConv *cv);
/* Floats of cv's transformed weights, and making them into u (64-byte aligned). */
int64_t cx_winograd_u_floats(const CxConv *cv);
void cx_winograd_u_make(const CxConv *cv, float *u);
/* Such a conv by Winograd F(2x2, 3x3), the weights from cv->wu or transformed per call. */
int cx_winograd_f32(RtKernelCtx *c, const CxConv *cv);

/* A one-group conv with an NHWC output whose zero-padded input is small (KWS's first conv):
 * cx_ngemm reading the taps from the padded input through offset tables, no im2col.
 * cx_taps_nhwc_fits says when; conv_nhwc_x86.c. */
int cx_taps_nhwc_fits(const CxConv *cv);
int cx_taps_nhwc_f32(RtKernelCtx *c, const CxConv *cv);

/* Any other conv: per image and group, column strips of im2col(X) times W; an NHWC output
 * (group 1) takes each strip's product from cx_ngemm instead. */
int cx_im2col_f32(RtKernelCtx *c, const CxConv *cv);

/* 1 when this CPU runs the AVX-512 code of these files. */
int cx_cpu_ok(void);

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define CX_T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")))
#define CX_INL static inline __attribute__((always_inline))

/* act(v) on 16 lanes for every kind but sigmoid (returned unchanged: callers run
 * rt_act_span over what they stored, see the header comment). */
CX_T512 CX_INL __m512 cx_act_v512(const RtAct *a, __m512 v) {
    switch (a->kind) {
    case RT_ACT_NONE:
    case RT_ACT_SIGMOID:
        return v;
    case RT_ACT_RELU: /* v < 0 ? 0 : v; max(0, v) returns v when v is NaN */
        return _mm512_max_ps(_mm512_setzero_ps(), v);
    case RT_ACT_CLIP:
        v = _mm512_max_ps(_mm512_set1_ps(a->alpha), v);
        return _mm512_min_ps(_mm512_set1_ps(a->beta), v);
    case RT_ACT_LEAKY_RELU: {
        __mmask16 neg = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ);
        return _mm512_mask_mul_ps(v, neg, v, _mm512_set1_ps(a->alpha));
    }
    case RT_ACT_HARD_SIGMOID:
        v = _mm512_add_ps(_mm512_mul_ps(_mm512_set1_ps(a->alpha), v), _mm512_set1_ps(a->beta));
        v = _mm512_max_ps(_mm512_setzero_ps(), v);
        return _mm512_min_ps(_mm512_set1_ps(1.0f), v);
    default: /* Gelu: rt_act_read refuses it on FusedConv, so no conv kernel meets it */
        return v;
    }
    return v;
}

/* None, Relu and Clip are all min(hi, max(lo, v)) (lo = -inf, hi = +inf is the identity,
 * NaN included): kernels run them through one branch-free instance. */
typedef struct {
    __m512 lo, hi;
} CxClip;

static inline int cx_act_is_clip(const RtAct *a) {
    return a->kind == RT_ACT_NONE || a->kind == RT_ACT_RELU || a->kind == RT_ACT_CLIP;
}

CX_T512 CX_INL CxClip cx_clip_make(const RtAct *a) {
    CxClip c;
    c.lo = _mm512_set1_ps(a->kind == RT_ACT_NONE ? -INFINITY : a->kind == RT_ACT_RELU ? 0.0f : a->alpha);
    c.hi = _mm512_set1_ps(a->kind == RT_ACT_CLIP ? a->beta : INFINITY);
    return c;
}

/* The activation of a kernel instance: clip = 1 runs c, else cx_act_v512. */
CX_T512 CX_INL __m512 cx_act_apply(int clip, CxClip c, const RtAct *a, __m512 v) {
    if (clip) return _mm512_min_ps(c.hi, _mm512_max_ps(c.lo, v));
    return cx_act_v512(a, v);
}
#endif

#endif
