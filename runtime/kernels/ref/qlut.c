/*
 * qlut.c — reference kernel of wafer's QLut (wafer_ops.h): y[i] = table[(uint8) x[i]].
 *
 * The quantizer tabulates an element-wise function f of one 8-bit input once, at quantize
 * time (table[c] = Q(f(DQ(c))) for all 256 codes c; passes/quantize_lut.c), so the int8
 * graph needs no float round trip around HardSwish, HardSigmoid, Sigmoid, Tanh, Gelu ...
 * The index is the code's byte: int8 codes -128..-1 are entries 128..255. The scales and
 * zero points (inputs 2-5) describe the table for the ONNX export; the kernel checks only
 * that they are present.
 *
 * Per channel: a table [C, 256] holds one table per channel of x along attribute axis
 * (default 1, NCHW's channels): the quantizer gives a conv output read only by a table one
 * scale per channel (passes/quantize_perchan.c), so channel c's codes mean (q - zp_c) s_c and
 * need their own table.
 */
#include "qlut.h"

/* Checks the inputs, allocates y (x's shape, the table's dtype). */
int rt_qlut_prepare(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out, RtQlutLayout *l) {
    const RtTensor *x = rt_in(n, in, 0), *t = rt_in(n, in, 1);
    if (!x || !t) return rt_fail(c, "inputs x and table are required");
    if (x->dtype != RT_I8 && x->dtype != RT_U8)
        return rt_fail(c, "input x is %s; QLut takes int8 or uint8", rt_dtype_name(x->dtype));
    if (t->dtype != RT_I8 && t->dtype != RT_U8)
        return rt_fail(c, "table must be int8 or uint8 (got %s)", rt_dtype_name(t->dtype));
    l->outer = rt_numel(x), l->channels = 1, l->inner = 1;
    if (t->rank == 2 && t->dims[1] == 256) { /* per channel along axis */
        int64_t axis = rt_attr_int(n, "axis", 1);
        if (axis < 0) axis += x->rank;
        if (axis < 0 || axis >= x->rank)
            return rt_fail(c, "axis %lld is outside x's rank %d", (long long)rt_attr_int(n, "axis", 1), x->rank);
        if (x->dims[axis] != t->dims[0])
            return rt_fail(c, "table has %lld channels, x has %lld on axis %lld", (long long)t->dims[0],
                           (long long)x->dims[axis], (long long)axis);
        l->outer = 1;
        for (int d = 0; d < axis; d++) l->outer *= x->dims[d];
        for (int d = (int)axis + 1; d < x->rank; d++) l->inner *= x->dims[d];
        l->channels = t->dims[0];
    } else if (rt_numel(t) != 256 || t->rank > 1) {
        return rt_fail(c, "table must be 256 entries or [C, 256] (got %lld elements, rank %d)",
                       (long long)rt_numel(t), t->rank);
    }
    return rt_out_alloc(c, out[0], t->dtype, x->rank, x->dims);
}

static int k_qlut(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    RtQlutLayout l;
    RT_TRY(rt_qlut_prepare(c, n, in, out, &l));
    const uint8_t *x = in[0]->data, *t = in[1]->data;
    uint8_t *y = out[0]->data;
    if (!t) return rt_fail(c, "table has no data");
    for (int64_t o = 0, i = 0; o < l.outer; o++)
        for (int64_t ch = 0; ch < l.channels; ch++)
            for (int64_t j = 0; j < l.inner; j++, i++) y[i] = t[ch * 256 + x[i]];
    return RT_OK;
}

const RtKernelEntry rt_kernels_qlut[] = {
    {RT_OP_QLUT, k_qlut},
    {-1, 0},
};
