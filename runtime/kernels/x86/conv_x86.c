/*
 * conv_x86.c — optimized kernels: Conv and FusedConv in float32 (depthwise direct, 1x1 and
 * im2col on x86/sgemm.h, Winograd for small 3x3 convs).
 *
 * The kernel reads the node as the reference does (ref/conv_geom.h for the window
 * geometry), and takes the case when it is float32 with 1 or 2 spatial axes, all sizes > 0,
 * data present and the CPU has AVX-512; anything else (other dtypes, 3-D, shape-only runs,
 * malformed nodes, whose messages the reference gives) goes to the reference kernel
 * unchanged. Five paths, by the conv's structure:
 *   depthwise (one input and one output channel per group)  dwconv_avx512.c, direct
 *   1x1 kernel, stride 1, no padding                          conv_gemm_x86.c, W * X
 *   few taps Cg*kH*kW, wide output rows (MobileNet's stem)    conv_direct_x86.c, direct
 *   small 3x3 stride-1 convs, one group (digits' 3x3s)       conv_winograd_x86.c, F(2x2, 3x3)
 *   anything else (KWS's 10x4, grouped convs)                conv_gemm_x86.c, im2col strips
 * FusedConv applies its activation inside each path, in registers before the store (the
 * depthwise and direct kernels, or the GEMM's store epilogue). The GEMM paths take the
 * weights packed once into the node's state (rt_sgemm_state_packed) when the model keeps one
 * and W is a constant; otherwise the GEMM packs them per call.
 *
 * The node's state also keeps what the first run derived from the node (ConvCache: the
 * geometry, the activation, the path, the packed weights' place), in front of the packed
 * weights (rt_sgemm_state_packed_pre) or Winograd's transformed ones, or alone for a
 * depthwise or direct conv; later runs with the same input shape and the same weight and
 * bias tensors take it from there instead of reading the attributes again (name lookups:
 * ~3% of KWS's run).
 */
#include <string.h>

#include "conv_x86.h"
#include "sgemm.h"

int cx_cpu_ok(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
#else
    return 0;
#endif
}

/* Fills cv from the node when the optimized paths take it; 0 (and nothing reported) when
 * the reference should run the node instead. */
static int conv_case_read(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, CxConv *cv) {
    const RtTensor *x = rt_in(n, in, 0), *w = rt_in(n, in, 1), *b = rt_in(n, in, 2);
    if (c->shape_only || !x || !w || !x->data || !w->data || (b && !b->data)) return 0;
    if (x->dtype != RT_F32 || w->dtype != RT_F32 || (b && b->dtype != RT_F32)) return 0;
    if ((x->rank != 3 && x->rank != 4) || w->rank != x->rank) return 0;
    memset(cv, 0, sizeof *cv);
    cv->N = x->dims[0];
    cv->C = x->dims[1];
    cv->M = w->dims[0];
    cv->group = rt_attr_int(n, "group", 1);
    if (cv->group < 1 || cv->C % cv->group != 0 || cv->M % cv->group != 0) return 0;
    cv->Cg = cv->C / cv->group;
    cv->Mg = cv->M / cv->group;
    if (w->dims[1] != cv->Cg || (b && (b->rank != 1 || b->dims[0] != cv->M))) return 0;
    /* The geometry calls report into c->err on a malformed node; the reference, which then
     * runs it, reports the same problem again. */
    if (rt_geom_read_weighted(c, n, x->rank - 2, x, w, "weight W", &cv->g) != RT_OK) return 0;
    if (rt_geom_forward(c, n, 0, &cv->g) != RT_OK) return 0;
    cv->K = rt_geom_numel(cv->g.k);
    cv->Pin = rt_geom_numel(cv->g.in);
    cv->Pout = rt_geom_numel(cv->g.out);
    if (cv->N < 1 || cv->Cg < 1 || cv->Mg < 1 || cv->K < 1 || cv->Pin < 1 || cv->Pout < 1) return 0;
    cv->x = x->data;
    cv->w = w->data;
    cv->b = b ? b->data : NULL;
    return 1;
}

static int conv_is_pointwise(const CxConv *cv) {
    const RtConvGeom *g = &cv->g;
    if (cv->K != 1) return 0;
    for (int a = 0; a < RT_GEOM_MAX_SP; a++)
        if (g->stride[a] != 1 || g->pad0[a] != 0 || g->pad1[a] != 0) return 0;
    return 1;
}

/* What a conv node's first run derived, kept at the start of its state block. Valid for a
 * later run when the input has the same dtype and shape and the weight and bias are the same
 * tensors (constants: the same data pointers). */
#define CONV_CACHE_MAGIC 0x56434357u /* "WCCV" */
typedef struct {
    uint32_t magic;
    int fused, rank;
    int64_t xdims[RT_MAX_RANK];
    const void *w, *b;
    CxConv cv;             /* x, y are set per run; wp points into this block */
} ConvCache;
#define CONV_CACHE_BYTES ((sizeof(ConvCache) + 63) / 64 * 64)

static ConvCache *conv_cache_find(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, int fused) {
    if (!c->node_state || !*c->node_state || c->shape_only) return NULL;
    ConvCache *cc = *c->node_state;
    const RtTensor *x = rt_in(n, in, 0), *w = rt_in(n, in, 1), *b = rt_in(n, in, 2);
    if (cc->magic != CONV_CACHE_MAGIC || cc->fused != fused || !x || !x->data || x->dtype != RT_F32 ||
        x->rank != cc->rank || !w || w->data != cc->w || w->rank != x->rank || w->dims[0] != cc->cv.M ||
        (b ? b->data : NULL) != cc->b)
        return NULL;
    for (int d = 0; d < x->rank; d++)
        if (x->dims[d] != cc->xdims[d]) return NULL;
    return cc;
}

/* Records cv in the state block: the one the GEMM path's packing made (prefix reserved), or a
 * new one for a depthwise or direct conv. Nothing when there is no state, or it is someone else's. */
static void conv_cache_store(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, int fused, const CxConv *cv,
                             int made_block) {
    if (!c->node_state || !c->state_alloc) return;
    if (!*c->node_state) {
        if (made_block) return; /* the GEMM path's packing failed: nothing to put it in */
        void *blk = c->state_alloc->alloc(c->state_alloc->user, CONV_CACHE_BYTES);
        if (!blk) return;
        memset(blk, 0, CONV_CACHE_BYTES);
        *c->node_state = blk;
    } else if (!made_block) {
        return;
    }
    ConvCache *cc = *c->node_state;
    if (cc->magic != 0) return; /* already filled, or another kernel's block */
    const RtTensor *x = rt_in(n, in, 0), *b = rt_in(n, in, 2);
    cc->fused = fused;
    cc->rank = x->rank;
    memcpy(cc->xdims, x->dims, sizeof(int64_t) * (size_t)x->rank);
    cc->w = rt_in(n, in, 1)->data;
    cc->b = b ? b->data : NULL;
    cc->cv = *cv;
    cc->magic = CONV_CACHE_MAGIC;
}

/* A Winograd conv's state: the cache, then the transformed weights (cv->wu set to them),
 * made on the first run when the node keeps a state and W is a constant. Without one (or
 * when the block cannot be had) cv->wu stays NULL and the kernel transforms per call.
 * U depends on the weights alone: a state this path made for another input shape (a batch
 * of 64 in an evaluation, then batch 1) keeps its U and takes the new shape's cache. */
static void conv_wino_state(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, int fused, CxConv *cv) {
    if (!c->node_state || !c->state_alloc || !(c->const_inputs >> 1 & 1u)) return;
    ConvCache *old = *c->node_state;
    if (old) {
        if (old->magic != CONV_CACHE_MAGIC || !old->cv.wino || !old->cv.wu || old->fused != fused ||
            old->w != rt_in(n, in, 1)->data || old->cv.M != cv->M || old->cv.Cg != cv->Cg || old->cv.K != cv->K)
            return;
        cv->wu = old->cv.wu;
        old->magic = 0; /* refilled for this shape below */
        conv_cache_store(c, n, in, fused, cv, 1);
        return;
    }
    /* 64 zero bytes after the cache: where the GEMM path looks for its packing header
     * (rt_sgemm_state_packed_pre), so a later run of another shape on that path finds no
     * match there and never reads U as packed weights */
    const size_t bytes = CONV_CACHE_BYTES + 64 + sizeof(float) * (size_t)cx_winograd_u_floats(cv);
    char *blk = c->state_alloc->alloc(c->state_alloc->user, bytes);
    if (!blk) return;
    memset(blk, 0, CONV_CACHE_BYTES + 64);
    float *u = (float *)(blk + CONV_CACHE_BYTES + 64);
    cx_winograd_u_make(cv, u);
    cv->wu = u;
    *c->node_state = blk;
    conv_cache_store(c, n, in, fused, cv, 1);
}

/* Runs cv (geometry read, output not yet allocated) on its path. */
static int conv_x86_path(RtKernelCtx *c, RtTensor *const *in, RtTensor *const *out, CxConv *cv) {
    int64_t dims[RT_MAX_RANK];
    rt_geom_out_dims(&cv->g, cv->N, cv->M, dims);
    RT_TRY(rt_out_alloc(c, out[0], RT_F32, in[0]->rank, dims));
    cv->y = out[0]->data;
    if (cv->Cg == 1 && cv->Mg == 1) return cx_depthwise_f32(c, cv);
    if (conv_is_pointwise(cv)) return cx_pointwise_f32(c, cv);
    if (cx_direct_fits(cv)) return cx_direct_f32(c, cv);
    if (cv->wino) return cx_winograd_f32(c, cv);
    return cx_im2col_f32(c, cv);
}

/* Conv (fused = 0) or FusedConv (1). */
static int conv_x86_run(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out, int fused) {
    if (!cx_cpu_ok()) return rt_kernel_find(n->op)(c, n, in, out);
    const ConvCache *cc = conv_cache_find(c, n, in, fused);
    if (cc) {
        CxConv cv = cc->cv;
        cv.x = in[0]->data;
        return conv_x86_path(c, in, out, &cv);
    }
    CxConv cv;
    if (!conv_case_read(c, n, in, &cv)) return rt_kernel_find(n->op)(c, n, in, out);
    if (fused && rt_act_read(c, n, &cv.act) != RT_OK) return rt_kernel_find(n->op)(c, n, in, out);
    int depthwise = cv.Cg == 1 && cv.Mg == 1;
    if (depthwise && !cx_depthwise_fits(&cv)) return rt_kernel_find(n->op)(c, n, in, out);
    cv.wino = !depthwise && !conv_is_pointwise(&cv) && !cx_direct_fits(&cv) && cx_winograd_fits(&cv);
    if (cv.wino) {
        conv_wino_state(c, n, in, fused, &cv);
        return conv_x86_path(c, in, out, &cv);
    }
    /* no GEMM: the cache alone in the state block */
    int nogemm = depthwise || (!conv_is_pointwise(&cv) && cx_direct_fits(&cv));
    /* the weights of a GEMM conv packed once, when they are a constant and the model keeps
     * the node's state (with room for the cache in front) */
    if (!nogemm)
        cv.wp = rt_sgemm_state_packed_pre(c, CONV_CACHE_BYTES, 1, RT_SGEMM_SIDE_A, 0, cv.Mg, cv.Cg * cv.K, cv.group,
                                          cv.w, cv.Cg * cv.K, cv.Mg * cv.Cg * cv.K, &cv.wp_stride);
    if (nogemm || cv.wp) conv_cache_store(c, n, in, fused, &cv, !nogemm);
    return conv_x86_path(c, in, out, &cv);
}

static int k_conv_x86(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return conv_x86_run(c, n, in, out, 0);
}

static int k_fused_conv_x86(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return conv_x86_run(c, n, in, out, 1);
}

const RtKernelEntry rt_kernels_x86_conv[] = {
    {RT_OP_CONV, k_conv_x86},
    {RT_OP_FUSED_CONV, k_fused_conv_x86},
    {-1, 0},
};
