/*
 * conv_x86.c — optimized kernels: Conv and FusedConv in float32 (depthwise direct, 1x1 and
 * im2col on x86/sgemm.h, Winograd for 3x3 stride-1 convs).
 *
 * The kernel reads the node as the reference does (ref/conv_geom.h for the window
 * geometry), and takes the case when it is float32 with 1 or 2 spatial axes, all sizes > 0,
 * data present and the CPU has AVX-512; anything else (other dtypes, 3-D, shape-only runs,
 * malformed nodes, whose messages the reference gives) goes to the reference kernel
 * unchanged. Five paths, by the conv's structure:
 *   depthwise (one input and one output channel per group)  dwconv_avx512.c, direct
 *   1x1 kernel, stride 1, no padding                          conv_gemm_x86.c, W * X
 *   few taps Cg*kH*kW, wide output rows (MobileNet's stem)    conv_direct_x86.c, direct
 *   3x3 stride-1 convs, one group (digits', M-LSD's 3x3s)    conv_winograd_x86.c, F(2x2, 3x3)
 *   anything else (KWS's 10x4, grouped convs)                conv_gemm_x86.c, im2col strips
 * Channels-last values (RtKernelCtx.nhwc_in / nhwc_out, chosen by rt_layout.c from what
 * cx_conv_nhwc_caps says here): a depthwise conv reads and writes them on the channel-lanes
 * kernel without its transposes, a 1x1 conv writes NHWC from either layout and a one-group
 * im2col conv from NCHW, both through cx_ngemm (conv_nhwc_x86.c: rows = positions) with
 * W^T packed once in the node's state. A node given a layout its path does not take fails
 * with a message instead of reading the data wrong (never reached: the layout asks first).
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

/* Fills cv's sizes and geometry from the node and its inputs' shapes when the optimized
 * paths take it (data pointers left NULL); 0 when the reference should run the node. */
static int conv_case_shapes(RtKernelCtx *c, const RtNode *n, const RtTensor *x, const RtTensor *w,
                            const RtTensor *b, CxConv *cv) {
    if (!x || !w || x->dtype != RT_F32 || w->dtype != RT_F32 || (b && b->dtype != RT_F32)) return 0;
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
    return cv->N >= 1 && cv->Cg >= 1 && cv->Mg >= 1 && cv->K >= 1 && cv->Pin >= 1 && cv->Pout >= 1;
}

/* Fills cv from the node when the optimized paths take it; 0 (and nothing reported) when
 * the reference should run the node instead. */
static int conv_case_read(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, CxConv *cv) {
    const RtTensor *x = rt_in(n, in, 0), *w = rt_in(n, in, 1), *b = rt_in(n, in, 2);
    if (c->shape_only || !x || !w || !x->data || !w->data || (b && !b->data)) return 0;
    if (!conv_case_shapes(c, n, x, w, b, cv)) return 0;
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
 * later run when the input has the same dtype and shape, the weight and bias are the same
 * tensors (constants: the same data pointers) and the input and output have the layouts it
 * was made for (cv.nhwc_in / nhwc_out: a plan's channels-last values, rt_plan_fast.h). */
#define CONV_CACHE_MAGIC 0x56434357u /* "WCCV" */
typedef struct {
    uint32_t magic;
    int fused, rank;
    int64_t xdims[RT_MAX_RANK];
    const void *w, *b;
    CxConv cv;             /* x, y are set per run; wp points into this block */
} ConvCache;
#define CONV_CACHE_BYTES ((sizeof(ConvCache) + 63) / 64 * 64)

static ConvCache *conv_cache_find(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, int fused, int lin,
                                  int lout) {
    if (!c->node_state || !*c->node_state || c->shape_only) return NULL;
    ConvCache *cc = *c->node_state;
    const RtTensor *x = rt_in(n, in, 0), *w = rt_in(n, in, 1), *b = rt_in(n, in, 2);
    if (cc->magic != CONV_CACHE_MAGIC || cc->fused != fused || cc->cv.nhwc_in != lin || cc->cv.nhwc_out != lout ||
        !x || !x->data || x->dtype != RT_F32 || x->rank != cc->rank || !w || w->data != cc->w ||
        w->rank != x->rank || w->dims[0] != cc->cv.M || (b ? b->data : NULL) != cc->b)
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
/* A new state block for a path that keeps derived weights: the cache's room, 64 zero bytes
 * (where the GEMM path looks for its packing header, rt_sgemm_state_packed_pre, so a later run
 * of another shape on that path finds no match there and never reads these floats as packed
 * weights), then `floats` floats for the caller to fill before conv_cache_store. Installed as
 * the node's state; NULL when out of memory (the caller then computes per call). */
static float *conv_state_new(RtKernelCtx *c, int64_t floats) {
    char *blk = c->state_alloc->alloc(c->state_alloc->user, CONV_CACHE_BYTES + 64 + sizeof(float) * (size_t)floats);
    if (!blk) return NULL;
    memset(blk, 0, CONV_CACHE_BYTES + 64);
    *c->node_state = blk;
    return (float *)(blk + CONV_CACHE_BYTES + 64);
}

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
    float *u = conv_state_new(c, cx_winograd_u_floats(cv));
    if (!u) return;
    cx_winograd_u_make(cv, u);
    cv->wu = u;
    conv_cache_store(c, n, in, fused, cv, 1);
}

/* A conv with a channels-last output on cx_ngemm (1x1, or im2col): its state is the cache,
 * 64 zero bytes (where the GEMM path looks for its packing header, as for Winograd), then
 * W^T packed for cx_ngemm (cv->wt set to it), made on the first run when the node keeps a
 * state and W is a constant; else cv->wt stays NULL and the kernel packs per call. A state
 * this path made for another input shape keeps its W^T (it depends on the weights alone). */
static void conv_nhwc_state(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, int fused, CxConv *cv) {
    if (!c->node_state || !c->state_alloc || !(c->const_inputs >> 1 & 1u)) return;
    const int64_t CK = cv->Cg * cv->K;
    ConvCache *old = *c->node_state;
    if (old) {
        if (old->magic != CONV_CACHE_MAGIC || !old->cv.wt || !old->cv.nhwc_out || old->fused != fused ||
            old->w != rt_in(n, in, 1)->data || old->cv.M != cv->M || old->cv.Cg != cv->Cg || old->cv.K != cv->K)
            return;
        cv->wt = old->cv.wt;
        old->magic = 0; /* refilled for this shape below */
        conv_cache_store(c, n, in, fused, cv, 1);
        return;
    }
    float *wt = conv_state_new(c, cx_ngemm_packed_floats(cv->M, CK));
    if (!wt) return;
    cx_ngemm_pack(cv->w, cv->M, CK, wt);
    cv->wt = wt;
    conv_cache_store(c, n, in, fused, cv, 1);
}

/* A depthwise conv on the channel-lanes kernel: its state is the cache, 64 zero bytes (as
 * for Winograd), then the weights and bias packed per group of 16 channels (cx_dw_pack,
 * cv->wdw set to them), made on the first run when the node keeps a state and W and B are
 * constants; else cv->wdw stays NULL and the kernel transposes them per call. A state this
 * path made for another input shape keeps its packing (it depends on W and B alone). */
static void conv_dw_state(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, int fused, CxConv *cv) {
    const RtTensor *b = rt_in(n, in, 2);
    if (!c->node_state || !c->state_alloc || !(c->const_inputs >> 1 & 1u) || (b && !(c->const_inputs >> 2 & 1u)))
        return;
    ConvCache *old = *c->node_state;
    if (old) {
        if (old->magic != CONV_CACHE_MAGIC || !old->cv.wdw || old->fused != fused || old->w != cv->w ||
            old->b != cv->b || old->cv.C != cv->C || old->cv.K != cv->K)
            return;
        cv->wdw = old->cv.wdw;
        old->magic = 0; /* refilled for this shape below */
        conv_cache_store(c, n, in, fused, cv, 1);
        return;
    }
    float *wdw = conv_state_new(c, cx_dw_packed_floats(cv));
    if (!wdw) return;
    cx_dw_pack(cv, wdw);
    cv->wdw = wdw;
    conv_cache_store(c, n, in, fused, cv, 1);
}

/* Runs cv (geometry read, output not yet allocated) on its path. A channels-first path whose
 * weights come from the state (GEMM packing wp, Winograd's U, the depthwise packing with the
 * bias) reads W (and B) no more: reported to a caller that asks (kernel.h const_held). */
static int conv_x86_path(RtKernelCtx *c, RtTensor *const *in, RtTensor *const *out, CxConv *cv) {
    if (!cv->nhwc_in && !cv->nhwc_out && (cv->wp || cv->wu || cv->wdw)) rt_const_held(c, 1);
    if (!cv->nhwc_in && !cv->nhwc_out && cv->wdw) rt_const_held(c, 2);
    int64_t dims[RT_MAX_RANK];
    rt_geom_out_dims(&cv->g, cv->N, cv->M, dims);
    RT_TRY(rt_out_alloc(c, out[0], RT_F32, in[0]->rank, dims));
    cv->y = out[0]->data;
    if (cv->Cg == 1 && cv->Mg == 1) return cx_depthwise_f32(c, cv);
    if (conv_is_pointwise(cv)) return cv->nhwc_in || cv->nhwc_out ? cx_pointwise_nhwc_f32(c, cv) : cx_pointwise_f32(c, cv);
    if (cv->nhwc_in) return rt_fail(c, "channels-last input on a conv that is not 1x1 nor depthwise");
    if (cv->nhwc_out) return cx_taps_nhwc_fits(cv) ? cx_taps_nhwc_f32(c, cv) : cx_im2col_f32(c, cv);
    if (cx_direct_fits(cv)) return cx_direct_f32(c, cv);
    if (cv->wino) return cx_winograd_f32(c, cv);
    return cx_im2col_f32(c, cv);
}

/* The reference kernel for a node the optimized paths do not take; never for channels-last
 * data, which it would read as NCHW (rt_layout.c only marks what these paths take, so this
 * is a bug caught rather than a wrong result). */
static int conv_ref(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out, int nhwc) {
    if (nhwc && !c->shape_only) return rt_fail(c, "channels-last data on a conv the optimized kernels do not take");
    return rt_kernel_find(n->op)(c, n, in, out);
}

/* Conv (fused = 0) or FusedConv (1). */
static int conv_x86_run(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out, int fused) {
    const int lin = c->nhwc_in && c->nhwc_in[0], lout = c->nhwc_out && c->nhwc_out[0];
    if (!cx_cpu_ok()) return conv_ref(c, n, in, out, lin | lout);
    const ConvCache *cc = conv_cache_find(c, n, in, fused, lin, lout);
    if (cc) {
        CxConv cv = cc->cv;
        cv.x = in[0]->data;
        return conv_x86_path(c, in, out, &cv);
    }
    CxConv cv;
    if (!conv_case_read(c, n, in, &cv)) return conv_ref(c, n, in, out, lin | lout);
    if (fused && rt_act_read(c, n, &cv.act) != RT_OK) return conv_ref(c, n, in, out, lin | lout);
    cv.nhwc_in = lin;
    cv.nhwc_out = lout;
    int depthwise = cv.Cg == 1 && cv.Mg == 1;
    if (depthwise && !(lin || lout ? cx_depthwise_nhwc_fits(&cv) : cx_depthwise_fits(&cv)))
        return conv_ref(c, n, in, out, lin | lout);
    if ((lin || lout) && !depthwise && (cv.group != 1 || cv.g.nsp != 2 || (lin && !(lout && conv_is_pointwise(&cv)))))
        return conv_ref(c, n, in, out, 1);
    if (depthwise && cx_depthwise_cl(&cv)) { /* weights packed in the state */
        conv_dw_state(c, n, in, fused, &cv);
        if (cv.wdw) return conv_x86_path(c, in, out, &cv);
    }
    if (lout && !depthwise) { /* cx_ngemm with W^T packed in the state */
        conv_nhwc_state(c, n, in, fused, &cv);
        return conv_x86_path(c, in, out, &cv);
    }
    cv.wino = !depthwise && !conv_is_pointwise(&cv) && !cx_direct_fits(&cv) && cx_winograd_fits(&cv);
    if (cv.wino) {
        conv_wino_state(c, n, in, fused, &cv);
        return conv_x86_path(c, in, out, &cv);
    }
    /* no GEMM: the cache alone in the state block */
    int nogemm = depthwise || (!conv_is_pointwise(&cv) && cx_direct_fits(&cv));
    /* the weights of a GEMM conv packed once, when they are a constant and the model keeps
     * the node's state (with room for the cache in front) */
    if (!nogemm && conv_is_pointwise(&cv)) cv.ksplit = cx_pointwise_ksplit(&cv);
    if (!nogemm && cv.ksplit) /* the two halves of the input channels, each M x ksplit */
        cv.wp = rt_sgemm_state_packed_pre(c, CONV_CACHE_BYTES, 1, RT_SGEMM_SIDE_A, 0, cv.M, cv.ksplit, 2, cv.w, cv.C,
                                          cv.ksplit, &cv.wp_stride);
    else if (!nogemm)
        cv.wp = rt_sgemm_state_packed_pre(c, CONV_CACHE_BYTES, 1, RT_SGEMM_SIDE_A, 0, cv.Mg, cv.Cg * cv.K, cv.group,
                                          cv.w, cv.Cg * cv.K, cv.Mg * cv.Cg * cv.K, &cv.wp_stride);
    if (nogemm || cv.wp) conv_cache_store(c, n, in, fused, &cv, !nogemm);
    return conv_x86_path(c, in, out, &cv);
}

int cx_conv_nhwc_caps(const RtNode *n, const RtTensor *x, const RtTensor *w, const RtTensor *b) {
    if ((n->op != RT_OP_CONV && n->op != RT_OP_FUSED_CONV) || !cx_cpu_ok() || !x || x->rank != 4) return 0;
    RtError e;
    RtKernelCtx c;
    memset(&c, 0, sizeof c);
    c.err = &e;
    e.msg[0] = 0;
    CxConv cv;
    if (!conv_case_shapes(&c, n, x, w, b, &cv)) return 0;
    if (n->op == RT_OP_FUSED_CONV && rt_act_read(&c, n, &cv.act) != RT_OK) return 0;
    if (cv.Cg == 1 && cv.Mg == 1) return cx_depthwise_nhwc_fits(&cv) ? CX_NHWC_IN | CX_NHWC_OUT | CX_NHWC_DW : 0;
    /* an NHWC output comes from cx_ngemm, fast while its block of W^T (K x 64 floats) stays
     * in L1 across the row tiles: MobileNet's 1x1 convs of 160..960 input channels ran
     * 1.2-1.3x slower there than the NCHW GEMM */
    if (cv.group != 1 || cv.Cg * cv.K > CX_NGEMM_MAX_K) return 0;
    if (conv_is_pointwise(&cv)) return CX_NHWC_IN | CX_NHWC_OUT | CX_NHWC_IN_OUT;
    /* another conv writes NHWC from im2col only: where the direct or Winograd kernel would
     * run it, they are faster than im2col */
    return cx_direct_fits(&cv) || cx_winograd_fits(&cv) ? 0 : CX_NHWC_OUT;
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
