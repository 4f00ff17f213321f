/*
 * qlinear_contrib_conv.c — com.microsoft QLinearConv, the form onnxruntime's NHWC
 * transformer writes (graph optimization level "all"): the ONNX QLinearConv's inputs and
 * attributes plus channels_last. With channels_last = 1, X is [N, spatial..., C] and Y
 * [N, spatial..., M]; W stays [M, C/group, k...] and every parameter means what it means in
 * the ONNX op. So the op is the ONNX QLinearConv between two layout changes:
 *     X -> [N, C, spatial...],  ONNX QLinearConv,  [N, M, spatial...] -> Y
 * (bytes moved, the arithmetic untouched), run through the reference ONNX kernel here and
 * through the fast one (QConv's kernels) by x86/qlinear_contrib_x86.c.
 */
#include <string.h>

#include "qlinear_contrib.h"

/* dst = src with the axes [N, C, S] <-> [N, S, C] swapped; to_nchw says which way. In 32 x 32
 * tiles, so that both sides stay in cache (a plain loop strides one of them by C or S). */
void rt_q8_relayout(const uint8_t *src, uint8_t *dst, int64_t N, int64_t C, int64_t S, int to_nchw) {
    enum { T = 32 };
    for (int64_t b = 0; b < N; b++) {
        const uint8_t *sb = src + b * C * S;
        uint8_t *db = dst + b * C * S;
        for (int64_t c0 = 0; c0 < C; c0 += T)
            for (int64_t s0 = 0; s0 < S; s0 += T) {
                int64_t c1 = c0 + T < C ? c0 + T : C, s1 = s0 + T < S ? s0 + T : S;
                if (to_nchw)
                    for (int64_t ch = c0; ch < c1; ch++)
                        for (int64_t s = s0; s < s1; s++) db[ch * S + s] = sb[s * C + ch];
                else
                    for (int64_t s = s0; s < s1; s++)
                        for (int64_t ch = c0; ch < c1; ch++) db[s * C + ch] = sb[ch * S + s];
            }
    }
}

int rt_ms_qlinear_conv(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out, int fast,
                       RtQ8Relayout relayout) {
    RtNode m = *n;
    m.op = RT_OP_QLINEAR_CONV;
    RtKernelFn conv = fast ? rt_kernel_find_fast(RT_OP_QLINEAR_CONV) : rt_kernel_find(RT_OP_QLINEAR_CONV);
    if (rt_attr_int(n, "channels_last", 0) == 0) return conv(c, &m, in, out);
    const RtTensor *x = rt_in(n, in, 0);
    RT_TRY(qlc_q8_input(c, x, "X"));
    if (x->rank < 3) return rt_fail(c, "input X has rank %d; expected [N, spatial..., C]", x->rank);
    int r = x->rank;
    int64_t N = x->dims[0], C = x->dims[r - 1], S = rt_shape_numel(r - 2, x->dims + 1);
    RtTensor xc = *x, yc; /* the NCHW views */
    memset(&yc, 0, sizeof yc);
    xc.dims[1] = C;
    memcpy(xc.dims + 2, x->dims + 1, sizeof(int64_t) * (size_t)(r - 2));
    xc.data = NULL;
    uint8_t *xbuf = NULL;
    if (x->data) {
        xbuf = rt_scratch(c, (size_t)(N * C * S > 0 ? N * C * S : 1));
        if (!xbuf) return RT_ERR_NOMEM;
        relayout(x->data, xbuf, N, C, S, 1);
        xc.data = xbuf;
    }
    RtTensor *ins[9]; /* at most 9 inputs (arity) */
    for (int j = 0; j < n->n_in && j < 9; j++) ins[j] = in[j];
    ins[0] = &xc;
    RtTensor *outs[1] = {&yc};
    RtKernelCtx c2 = *c; /* the NCHW result in scratch, not in the node's planned output */
    c2.planned_out = NULL, c2.planned_bytes = NULL, c2.n_planned = 0;
    c2.nhwc_in = c2.nhwc_out = NULL;
    int st = conv(&c2, &m, ins, outs);
    rt_scratch_free(c, xbuf);
    if (st == RT_OK || st == RT_SHAPE_ONLY) {
        int64_t dims[RT_MAX_RANK];
        dims[0] = yc.dims[0];
        memcpy(dims + 1, yc.dims + 2, sizeof(int64_t) * (size_t)(r - 2));
        dims[r - 1] = yc.dims[1];
        int st2 = rt_out_alloc(c, out[0], yc.dtype, r, dims);
        if (st2 == RT_OK && st == RT_OK)
            relayout(yc.data, out[0]->data, yc.dims[0], yc.dims[1], rt_shape_numel(r - 2, yc.dims + 2), 0);
        else if (st2 != RT_OK)
            st = st2;
    }
    if (yc.data) c->alloc->free(c->alloc->user, yc.data);
    return st;
}

static int k_ms_qlinear_conv(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return rt_ms_qlinear_conv(c, n, in, out, 0, rt_q8_relayout);
}

const RtKernelEntry rt_kernels_qlinear_contrib_conv[] = {
    {RT_OP_MS_QLINEAR_CONV, k_ms_qlinear_conv},
    {-1, 0},
};
