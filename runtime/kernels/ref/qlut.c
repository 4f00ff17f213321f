/*
 * qlut.c — reference kernel of wafer's QLut (wafer_ops.h): y[i] = table[(uint8) x[i]].
 *
 * The quantizer tabulates an element-wise function f of one 8-bit input once, at quantize
 * time (table[c] = Q(f(DQ(c))) for all 256 codes c; passes/quantize_lut.c), so the int8
 * graph needs no float round trip around HardSwish, HardSigmoid, Sigmoid, Tanh, Gelu ...
 * The index is the code's byte: int8 codes -128..-1 are entries 128..255. The scales and
 * zero points (inputs 2-5) describe the table for the ONNX export; the kernel checks only
 * that they are present.
 */
#include "qlut.h"

/* Checks the inputs, allocates y (x's shape, the table's dtype). */
int rt_qlut_prepare(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0), *t = rt_in(n, in, 1);
    if (!x || !t) return rt_fail(c, "inputs x and table are required");
    if (x->dtype != RT_I8 && x->dtype != RT_U8)
        return rt_fail(c, "input x is %s; QLut takes int8 or uint8", rt_dtype_name(x->dtype));
    if ((t->dtype != RT_I8 && t->dtype != RT_U8) || rt_numel(t) != 256)
        return rt_fail(c, "table must be 256 int8 or uint8 entries (got %s, %lld elements)", rt_dtype_name(t->dtype),
                       (long long)rt_numel(t));
    return rt_out_alloc(c, out[0], t->dtype, x->rank, x->dims);
}

static int k_qlut(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    RT_TRY(rt_qlut_prepare(c, n, in, out));
    const uint8_t *x = in[0]->data, *t = in[1]->data;
    uint8_t *y = out[0]->data;
    int64_t total = rt_numel(in[0]);
    if (!t) return rt_fail(c, "table has no data");
    for (int64_t i = 0; i < total; i++) y[i] = t[x[i]];
    return RT_OK;
}

const RtKernelEntry rt_kernels_qlut[] = {
    {RT_OP_QLUT, k_qlut},
    {-1, 0},
};
