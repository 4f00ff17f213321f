/*
 * resize_nearest_x86.c — Resize's most common form in detection necks (PaddleOCR's FPN,
 * YOLO's upsampling): nearest, asymmetric coordinates, floor, integer scale factors on the two
 * spatial axes of an NCHW tensor, any element type (float32 and the int8 codes of a quantized
 * graph alike).
 *
 * With x_in = floor(x_out / s) for an integer s the source of output row oh is input row
 * oh / s and of column ow input column ow / s: each output row is its input row with every
 * element repeated s_w times, and s_h output rows share one input row (copied once, then
 * duplicated with memcpy). The reference kernel computes a tap and weight table for every
 * output element in double (one kernel for every mode): ~4 ns an element, a quarter of
 * PP-OCRv4 det's int8 run. Same elements as the reference's (the index arithmetic is exact
 * for integer scales); every other form of Resize goes to the reference kernel.
 */
#include "../kernel.h"
#include "../../rt_threads.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Integer factors up to this; larger ones are rare enough for the reference. */
#define RN_MAX_FACTOR 64

typedef struct {
    const uint8_t *x;         /* borrowed: [planes][H][W] elements of es bytes */
    uint8_t *y;               /* borrowed: [planes][H * sh][W * sw] */
    int64_t H, W, sh, sw;
    size_t es;                /* element size in bytes */
} RnJob;

/* Output row `row` (W * sw elements) from input row src. */
static void rn_row(const RnJob *J, const uint8_t *src, uint8_t *row) {
    const int64_t W = J->W, sw = J->sw;
    switch (J->es) {
    case 1:
        for (int64_t w = 0; w < W; w++)
            for (int64_t r = 0; r < sw; r++) row[w * sw + r] = src[w];
        break;
    case 4: {
        uint32_t v;
        for (int64_t w = 0; w < W; w++) {
            memcpy(&v, src + 4 * w, 4);
            for (int64_t r = 0; r < sw; r++) memcpy(row + 4 * (w * sw + r), &v, 4);
        }
        break;
    }
    default:
        for (int64_t w = 0; w < W; w++)
            for (int64_t r = 0; r < sw; r++) memcpy(row + J->es * (size_t)(w * sw + r), src + J->es * (size_t)w, J->es);
    }
}

static void rn_planes(void *arg, int64_t p0, int64_t p1) {
    const RnJob *J = arg;
    const size_t in_row = J->es * (size_t)J->W, out_row = in_row * (size_t)J->sw;
    for (int64_t p = p0; p < p1; p++)
        for (int64_t h = 0; h < J->H; h++) {
            const uint8_t *src = J->x + ((size_t)p * (size_t)J->H + (size_t)h) * in_row;
            uint8_t *dst = J->y + ((size_t)p * (size_t)J->H * (size_t)J->sh + (size_t)(h * J->sh)) * out_row;
            rn_row(J, src, dst);
            for (int64_t r = 1; r < J->sh; r++) memcpy(dst + (size_t)r * out_row, dst, out_row);
        }
}

/* The integer factor s when v is one (1 <= s <= RN_MAX_FACTOR), else 0. */
static int64_t rn_factor(double v) {
    return v >= 1 && v <= RN_MAX_FACTOR && v == floor(v) ? (int64_t)v : 0;
}

static int k_resize_x86(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    RtKernelFn ref = rt_kernel_find(n->op);
    if (!ref) return rt_fail(c, "no reference kernel for %s", rt_op_name(n->op));
    const RtTensor *x = rt_in(n, in, 0), *scales = rt_in(n, in, 2), *sizes = rt_in(n, in, 3);
    if (c->shape_only || n->opset < 11 || !x || !x->data || x->rank != 4 || rt_dtype_size(x->dtype) == 0 ||
        !scales || !scales->data || rt_numel(scales) != 4 || (scales->dtype != RT_F32 && scales->dtype != RT_F64) ||
        (sizes && rt_numel(sizes) != 0) || rt_attr(n, "axes") || rt_attr_int(n, "antialias", 0) != 0 ||
        strcmp(rt_attr_str(n, "mode", "nearest"), "nearest") != 0 ||
        strcmp(rt_attr_str(n, "coordinate_transformation_mode", "half_pixel"), "asymmetric") != 0 ||
        strcmp(rt_attr_str(n, "nearest_mode", "round_prefer_floor"), "floor") != 0)
        return ref(c, n, in, out);
    int64_t s0 = rn_factor(rt_get_f64(scales, 0)), s1 = rn_factor(rt_get_f64(scales, 1));
    int64_t sh = rn_factor(rt_get_f64(scales, 2)), sw = rn_factor(rt_get_f64(scales, 3));
    if (s0 != 1 || s1 != 1 || !sh || !sw) return ref(c, n, in, out);
    int64_t dims[4] = {x->dims[0], x->dims[1], x->dims[2] * sh, x->dims[3] * sw};
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, 4, dims));
    RnJob J = {x->data, out[0]->data, x->dims[2], x->dims[3], sh, sw, rt_dtype_size(x->dtype)};
    int64_t planes = x->dims[0] * x->dims[1], per = dims[2] * dims[3] * (int64_t)J.es;
    if (planes > 0 && per > 0) rt_parallel_for(c->pool, planes, (1 << 16) / per + 1, rn_planes, &J);
    return RT_OK;
}

const RtKernelEntry rt_kernels_x86_resize[] = {
    {RT_OP_RESIZE, k_resize_x86},
    {-1, 0},
};
