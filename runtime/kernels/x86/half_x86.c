/*
 * half_x86.c — float16 and bfloat16 nodes on the float32 optimized kernels.
 *
 * The ONNX semantics wafer implements for a 16-bit float op: compute in float32, round each
 * output to the 16-bit type (what ref/conv.c's run_half and ref/elementwise.h do, and what
 * onnxruntime's CPU provider does by inserting Casts around ops it has no float16 kernel
 * for). The reference kernels do it per element and widen the weights on every run; a
 * float16 MobileNetV2 ran 20x slower than its float32 twin. Here, for the ops below, a node
 * whose float inputs all have one 16-bit type runs as (BatchNormalization, which has no x86
 * kernel, on the reference's float32 loop instead of its per-element double one):
 *   inputs  -> float32 (rt_f16_to_f32_n: F16C); constant inputs (weights, biases) widened
 *              once into the node's state, the others per run into scratch
 *   the op's float32 kernel (the x86 family's, which packs or transforms the widened
 *              weights once into its own state, nested in this node's: kernel.h RtStateNest)
 *   output  -> the 16-bit type, rounding to nearest even (rt_f32_to_f16_n)
 * so the outputs equal the reference kernel's up to the float32 kernels' own summation
 * order. The largest constant input's float32 copy (a Conv's or Gemm's weights) sits in a
 * block of its own (nest.extra): once the float32 kernel reports that its state holds that
 * input (kernel.h const_held: packed for the GEMM, Winograd's U), the copy is freed, and
 * later runs of the same shapes hand the kernel the freed copy's address, which it compares
 * with the one it packed from and never reads (float16 mobilenet_v2 kept 14 MB of widened
 * weights beside their packing). A run of other shapes after that widens the copy again and
 * keeps it (the kernel may take another path, one that reads W). Linear and cubic Resize (the reference's loop, which read each 16-bit tap with a
 * scalar conversion: 1.7x the float32 time) give the reference's bits: both sum in double,
 * then round to float32, then to the 16-bit type; its roi and scales pass through as they
 * are. Anything else (mixed float types, several outputs, shape-only runs, channels-last
 * values, more than HX_MAX_IN inputs) goes to the float32 kernel as it is, which hands it
 * to the reference.
 */
#include <string.h>

#include "../../rt_threads.h"
#include "../kernel.h"
#include "../ref/activation.h"

#define HX_MAX_IN 8              /* inputs of the ops below: Conv 3, Gemm 3, BatchNormalization 5 */
#define HX_MAGIC 0x46314858u     /* "XH1F": this file's block inside the nest header */

/* The node's state: the nest header, then where each constant input's float32 copy sits
 * (byte offset in this block, HX_OFF_EXTRA = nest.extra's block, 0 = none), the half data
 * and count it was made from; the copies follow, 64-byte aligned. */
#define HX_OFF_EXTRA (-1)
typedef struct {
    RtStateNest nest;
    uint32_t magic;
    int n_in;
    int keep;                       /* 1: nest.extra's copy is never dropped (see the header) */
    uint64_t dropped;               /* bit j: input j's copy (nest.extra's) was freed */
    int64_t off[HX_MAX_IN];
    const void *src[HX_MAX_IN];
    int64_t numel[HX_MAX_IN];
    uintptr_t ident[HX_MAX_IN];     /* a dropped copy's address: what the kernel saw, never read */
    int rank[HX_MAX_IN];            /* at the drop: every input's rank (-1 absent) and dims */
    int64_t dims[HX_MAX_IN][RT_MAX_RANK];
} HxState;
#define HX_HDR_BYTES ((sizeof(HxState) + 63) / 64 * 64)

static void hx_widen(RtDtype t, const void *src, float *dst, int64_t n) {
    if (t == RT_F16) rt_f16_to_f32_n(src, dst, n);
    else rt_bf16_to_f32_n(src, dst, n);
}

/* One conversion over the pool's threads (elementwise, so the same bits for any split). */
#define HX_MIN_CHUNK 32768 /* elements: ~10 us of conversion, worth a thread's wake-up */
typedef struct {
    RtDtype t;       /* RT_F16 or RT_BF16 */
    const void *src; /* 16-bit or float32 */
    void *dst;
    int widen;       /* 1: 16-bit -> float32; 0: float32 -> 16-bit */
} HxConvJob;

static void hx_convert_chunk(void *arg, int64_t b, int64_t e) {
    const HxConvJob *j = arg;
    if (j->widen) hx_widen(j->t, (const uint16_t *)j->src + b, (float *)j->dst + b, e - b);
    else if (j->t == RT_F16) rt_f32_to_f16_n((const float *)j->src + b, (uint16_t *)j->dst + b, e - b);
    else rt_f32_to_bf16_n((const float *)j->src + b, (uint16_t *)j->dst + b, e - b);
}

static void hx_convert(RtKernelCtx *c, RtDtype t, const void *src, void *dst, int64_t n, int widen) {
    HxConvJob j = {t, src, dst, widen};
    rt_parallel_for(c->pool, n, HX_MIN_CHUNK, hx_convert_chunk, &j);
}

/* The node's block when it is this file's and was made from these inputs; else NULL. */
static HxState *hx_state_find(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, uint32_t widen) {
    HxState *s = *c->node_state;
    if (s->nest.magic != RT_STATE_NEST_MAGIC || s->magic != HX_MAGIC || s->n_in != n->n_in) return NULL;
    for (int j = 0; j < n->n_in; j++)
        if (s->off[j] && (!(widen >> j & 1u) || s->src[j] != in[j]->data || s->numel[j] != rt_numel(in[j])))
            return NULL;
    return s;
}

/* The float32 data to hand the kernel for input j: its copy, a dropped copy's address (not
 * to be read), or NULL when the state has none. */
static void *hx_copy(HxState *s, int j) {
    if (!s->off[j]) return NULL;
    if (s->dropped >> j & 1u) return (void *)s->ident[j];
    return s->off[j] == HX_OFF_EXTRA ? s->nest.extra : (char *)s + s->off[j];
}

/* 1 when every input has the shape it had when the copy was dropped. */
static int hx_same_shapes(const HxState *s, const RtNode *n, RtTensor *const *in) {
    for (int j = 0; j < n->n_in; j++) {
        const RtTensor *x = in[j];
        if ((x ? x->rank : -1) != s->rank[j]) return 0;
        for (int d = 0; x && d < x->rank; d++)
            if (x->dims[d] != s->dims[j][d]) return 0;
    }
    return 1;
}

/* Frees input j's copy (nest.extra's) once the kernel's state holds the input. */
static void hx_drop(RtKernelCtx *c, HxState *s, const RtNode *n, RtTensor *const *in, int j) {
    s->ident[j] = (uintptr_t)s->nest.extra;
    for (int i = 0; i < n->n_in; i++) {
        s->rank[i] = in[i] ? in[i]->rank : -1;
        for (int d = 0; in[i] && d < in[i]->rank; d++) s->dims[i][d] = in[i]->dims[d];
    }
    c->state_alloc->free(c->state_alloc->user, s->nest.extra);
    s->nest.extra = NULL;
    s->dropped |= (uint64_t)1 << j;
}

/* A run of other shapes after a drop: input j widened again into a copy kept from now on. */
static int hx_undrop(RtKernelCtx *c, HxState *s, RtDtype t, int j) {
    float *copy = c->state_alloc->alloc(c->state_alloc->user, (size_t)s->numel[j] * sizeof(float));
    if (!copy) return rt_fail(c, "out of memory widening a constant input again"), RT_ERR_NOMEM;
    hx_widen(t, s->src[j], copy, s->numel[j]);
    s->nest.extra = copy;
    s->dropped &= ~((uint64_t)1 << j);
    s->keep = 1;
    return RT_OK;
}

/* A new block with the float32 copies of the constant 16-bit inputs (the bits of widen that
 * const_inputs also has), the largest in a block of its own (nest.extra); NULL when there is
 * no state or no memory (then nothing is kept). */
static HxState *hx_state_new(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, uint32_t widen, RtDtype t) {
    if (!c->state_alloc) return NULL;
    const uint32_t kept = widen & (uint32_t)c->const_inputs;
    int big = -1;
    for (int j = 0; j < n->n_in; j++)
        if ((kept >> j & 1u) && (big < 0 || rt_numel(in[j]) > rt_numel(in[big]))) big = j;
    size_t bytes = HX_HDR_BYTES;
    for (int j = 0; j < n->n_in; j++)
        if ((kept >> j & 1u) && j != big) bytes += ((size_t)rt_numel(in[j]) * 4 + 63) / 64 * 64;
    char *blk = c->state_alloc->alloc(c->state_alloc->user, bytes);
    float *extra = big >= 0 ? c->state_alloc->alloc(c->state_alloc->user, (size_t)rt_numel(in[big]) * 4) : NULL;
    if (!blk || (big >= 0 && !extra)) {
        if (blk) c->state_alloc->free(c->state_alloc->user, blk);
        if (extra) c->state_alloc->free(c->state_alloc->user, extra);
        return NULL;
    }
    memset(blk, 0, HX_HDR_BYTES);
    HxState *s = (HxState *)blk;
    s->nest.magic = RT_STATE_NEST_MAGIC;
    s->nest.extra = extra;
    s->magic = HX_MAGIC;
    s->n_in = n->n_in;
    size_t at = HX_HDR_BYTES;
    for (int j = 0; j < n->n_in; j++) {
        if (!(kept >> j & 1u)) continue;
        s->off[j] = j == big ? HX_OFF_EXTRA : (int64_t)at;
        s->src[j] = in[j]->data;
        s->numel[j] = rt_numel(in[j]);
        hx_widen(t, in[j]->data, hx_copy(s, j), s->numel[j]);
        if (j != big) at += ((size_t)s->numel[j] * 4 + 63) / 64 * 64;
    }
    *c->node_state = s;
    return s;
}

/* Which inputs to widen (bit j) and their type, or 0 when the node is not a case for this file. */
static uint32_t hx_case(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtDtype *t) {
    if (c->shape_only || n->n_out != 1 || n->n_in > HX_MAX_IN || (c->nhwc_in && c->nhwc_in[0]) ||
        (c->nhwc_out && c->nhwc_out[0]))
        return 0;
    /* Resize: only X (input 0) is data. roi (any float type), scales (float32) and sizes
     * (int64) are coordinates and shapes the kernel reads as they are, so they pass through
     * unwidened. Nearest Resize copies elements, so its 16-bit ones go as they are too. */
    uint32_t data_inputs = ~0u;
    if (n->op == RT_OP_RESIZE) {
        if (strcmp(rt_attr_str(n, "mode", "nearest"), "nearest") == 0) return 0;
        data_inputs = 1u;
    }
    uint32_t widen = 0;
    *t = RT_UNDEFINED;
    for (int j = 0; j < n->n_in; j++) {
        const RtTensor *x = in[j];
        if (!x) continue;
        if (!x->data) return 0;
        if (c->nhwc_in && c->nhwc_in[j]) return 0;
        if (!(data_inputs >> j & 1u)) continue;
        if (!rt_dtype_is_float(x->dtype)) continue;
        if (x->dtype != RT_F16 && x->dtype != RT_BF16) return 0; /* float32 or mixed: as it is */
        if (*t != RT_UNDEFINED && x->dtype != *t) return 0;
        *t = x->dtype;
        widen |= 1u << j;
    }
    return widen;
}

/* A FusedConv stands for a Conv whose output is rounded to the 16-bit type, then an
 * activation node, rounded again. Relu and Clip commute with rounding (both monotone: clip
 * of the rounded value is the rounding of the clip, for any bounds), so the float32 kernel
 * applies them before the one rounding; any other activation runs as the reference's
 * FusedConv does, after the Conv's rounding: the node runs as a Conv (*conv_node) and
 * hx_act_after applies *a. Returns 1 in that case. */
static int hx_split_act(RtKernelCtx *c, const RtNode *n, RtNode *conv_node, RtAct *a) {
    if (n->op != RT_OP_FUSED_CONV || rt_act_read(c, n, a) != RT_OK) return 0;
    if (a->kind == RT_ACT_NONE || a->kind == RT_ACT_RELU || a->kind == RT_ACT_CLIP) return 0;
    *conv_node = *n;
    conv_node->op = RT_OP_CONV;
    return 1;
}

/* y (16-bit, rounded) = round(act(y)), through y32's float32 room. */
static void hx_act_after(RtKernelCtx *c, const RtAct *a, RtDtype t, RtTensor *y, float *y32) {
    int64_t cnt = rt_numel(y);
    hx_convert(c, t, y->data, y32, cnt, 1);
    rt_act_span(a, y32, cnt, NULL);
    hx_convert(c, t, y32, y->data, cnt, 0);
}

static int hx_run(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    RtKernelFn inner = rt_kernel_find_inner(n->op);
    RtDtype t;
    uint32_t widen = hx_case(c, n, in, &t);
    if (!widen) return inner(c, n, in, out);
    RtNode conv_node;
    RtAct act;
    const int split = hx_split_act(c, n, &conv_node, &act);
    if (split) n = &conv_node, inner = rt_kernel_find_inner(RT_OP_CONV);
    HxState *s = NULL;
    if (c->node_state) s = *c->node_state ? hx_state_find(c, n, in, widen) : hx_state_new(c, n, in, widen, t);
    RtTensor wide[HX_MAX_IN], *win[HX_MAX_IN];
    float *scratch[HX_MAX_IN] = {0};
    int r = RT_OK;
    for (int j = 0; s && s->dropped && j < n->n_in && r == RT_OK; j++)
        if ((s->dropped >> j & 1u) && !hx_same_shapes(s, n, in)) r = hx_undrop(c, s, t, j);
    for (int j = 0; j < n->n_in && r == RT_OK; j++) {
        win[j] = in[j];
        if (!(widen >> j & 1u)) continue;
        wide[j] = *in[j];
        wide[j].dtype = RT_F32;
        if (s && s->off[j]) {
            wide[j].data = hx_copy(s, j);
        } else {
            int64_t cnt = rt_numel(in[j]);
            scratch[j] = rt_scratch(c, (size_t)cnt * sizeof(float));
            if (!scratch[j]) { r = RT_ERR_NOMEM; break; }
            hx_convert(c, t, in[j]->data, scratch[j], cnt, 1);
            wide[j].data = scratch[j];
        }
        win[j] = &wide[j];
    }
    RtTensor y32 = {0};
    RtTensor *yp = &y32;
    uint64_t held = 0;
    if (r == RT_OK) {
        void **saved = c->node_state;
        uint64_t *saved_held = c->const_held;
        c->node_state = s ? &s->nest.inner : NULL; /* the float32 kernel's own block */
        c->const_held = &held;
        r = inner(c, n, win, &yp);
        c->node_state = saved;
        c->const_held = saved_held;
    }
    for (int j = 0; r == RT_OK && s && !s->keep && j < n->n_in; j++)
        if (s->off[j] == HX_OFF_EXTRA && (held >> j & 1u) && !(s->dropped >> j & 1u)) hx_drop(c, s, n, in, j);
    if (r == RT_OK && y32.dtype != RT_F32) r = rt_fail(c, "float32 kernel gave %s", rt_dtype_name(y32.dtype));
    if (r == RT_OK) r = rt_out_alloc(c, out[0], t, y32.rank, y32.dims);
    if (r == RT_OK) {
        hx_convert(c, t, y32.data, out[0]->data, rt_numel(&y32), 0);
        if (split) hx_act_after(c, &act, t, out[0], y32.data);
    }
    if (y32.data) c->alloc->free(c->alloc->user, y32.data);
    for (int j = 0; j < n->n_in; j++) rt_scratch_free(c, scratch[j]);
    return r;
}

const RtKernelEntry rt_kernels_x86_half[] = {
    {RT_OP_CONV, hx_run},        {RT_OP_FUSED_CONV, hx_run},      {RT_OP_GEMM, hx_run},
    {RT_OP_CONV_TRANSPOSE, hx_run}, /* x86/convt_x86.c */
    {RT_OP_MATMUL, hx_run},      {RT_OP_MAX_POOL, hx_run},
    {RT_OP_AVERAGE_POOL, hx_run}, {RT_OP_GLOBAL_AVERAGE_POOL, hx_run}, {RT_OP_GLOBAL_MAX_POOL, hx_run},
    {RT_OP_EXP, hx_run},         {RT_OP_ERF, hx_run},             {RT_OP_TANH, hx_run},
    {RT_OP_SIGMOID, hx_run},     {RT_OP_GELU, hx_run},            {RT_OP_HARD_SIGMOID, hx_run},
    {RT_OP_HARD_SWISH, hx_run},  {RT_OP_SOFTMAX, hx_run},         {RT_OP_LOG_SOFTMAX, hx_run},
    {RT_OP_LAYER_NORMALIZATION, hx_run}, {RT_OP_ADD, hx_run},     {RT_OP_SUB, hx_run},
    {RT_OP_MUL, hx_run},         {RT_OP_DIV, hx_run},
    {RT_OP_BATCH_NORMALIZATION, hx_run}, /* the reference's float32 loop (no x86 kernel) */
    {RT_OP_RESIZE, hx_run}, /* linear and cubic: the reference's loop reads float32 in bulk */
    {-1, 0},
};
