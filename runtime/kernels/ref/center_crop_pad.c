/*
 * center_crop_pad.c — CenterCropPad (opset 18): each listed axis (attribute axes, default
 * all; negative counts from the back) is cropped or zero-padded to the length given by the
 * int input shape, keeping the centre.
 *
 * As the spec's function body does it: an axis of size d becoming t is first padded by
 * max(t - d, 0) zeros, floor of half of them before, then cropped starting at
 * floor((padded - t) / 2). So output index o along the axis reads input index o + off with
 *     off = floor((d - t) / 2)       when d >= t (crop)
 *     off = -floor((t - d) / 2)      when d < t  (pad; indices outside [0, d) read 0)
 * Any dtype: elements are copied as bytes.
 */
#include <string.h>

#include "../kernel.h"

static int k_center_crop_pad(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0), *shape = rt_in(n, in, 1);
    if (!x || !shape) return rt_fail(c, "inputs input_data and shape are required");
    if (shape->dtype != RT_I64 && shape->dtype != RT_I32)
        return rt_fail(c, "input shape must be int32 or int64, got %s", rt_dtype_name(shape->dtype));
    if (shape->rank != 1) return rt_fail(c, "input shape must be 1-D, got rank %d", shape->rank);
    size_t es = rt_dtype_size(x->dtype);
    if (es == 0) {
        rt_fail(c, "input input_data has dtype %s, which wafer does not support", rt_dtype_name(x->dtype));
        return RT_ERR_UNSUPPORTED;
    }
    RT_NEED_DATA(c, shape);
    const int64_t *axv;
    int na = rt_attr_ints(n, "axes", &axv);
    int k = na < 0 ? x->rank : na;
    if (shape->dims[0] != k)
        return rt_fail(c, "input shape has %lld values but %d axes are cropped/padded", (long long)shape->dims[0], k);
    int64_t dims[RT_MAX_RANK], off[RT_MAX_RANK];
    int seen[RT_MAX_RANK] = {0};
    for (int i = 0; i < x->rank; i++) dims[i] = x->dims[i], off[i] = 0;
    for (int i = 0; i < k; i++) {
        int a = na < 0 ? i : rt_axis(c, axv[i], x->rank, "attribute axes");
        if (a < 0) return RT_ERR;
        if (seen[a]++) return rt_fail(c, "attribute axes names axis %d twice", a);
        int64_t t = rt_get_i64(shape, i), d = x->dims[a];
        if (t < 0) return rt_fail(c, "input shape[%d] = %lld is negative", i, (long long)t);
        dims[a] = t;
        off[a] = d >= t ? (d - t) / 2 : -((t - d) / 2);
    }
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, x->rank, dims));
    int64_t total = rt_shape_numel(x->rank, dims), idx[RT_MAX_RANK] = {0};
    const uint8_t *px = x->data;
    uint8_t *py = out[0]->data;
    for (int64_t o = 0; o < total; o++) {
        int64_t src = 0, inside = 1;
        for (int a = 0; a < x->rank; a++) {
            int64_t j = idx[a] + off[a];
            if (j < 0 || j >= x->dims[a]) inside = 0;
            src = src * x->dims[a] + j;
        }
        if (inside) memcpy(py + (size_t)o * es, px + (size_t)src * es, es);
        else memset(py + (size_t)o * es, 0, es);
        for (int a = x->rank - 1; a >= 0; a--) {
            if (++idx[a] < dims[a]) break;
            idx[a] = 0;
        }
    }
    return RT_OK;
}

const RtKernelEntry rt_kernels_center_crop_pad[] = {
    {RT_OP_CENTER_CROP_PAD, k_center_crop_pad},
    {-1, 0},
};
