/*
 * resize_pad.c — Pad, Resize, DepthToSpace, SpaceToDepth.
 *
 * Pad: per axis, a table maps each output index to the input index it copies (or to the
 * constant). Negative pads crop first; reflect, edge and wrap then work on the cropped range
 * (reflect is periodic with period 2 * (m - 1), as numpy's). Elements are copied as bytes,
 * so every dtype works.
 *
 * Resize: separable. For every resized axis a table gives, per output index, the input
 * indices (taps) and weights that produce it: 1 tap for nearest, 2 for linear, 4 for cubic,
 * more for antialiased downscaling (the filter stretched by 1/scale). An output element is
 * the tensor-product sum over the taps of all axes, accumulated in double. Coordinates map
 * output index o to input coordinate x by coordinate_transformation_mode, with
 * length_resized = scale * in (not rounded, as the spec's reference does); taps outside the
 * input are clamped to the edge unless exclude_outside drops them (weights renormalized).
 * tf_crop_and_resize outputs extrapolation_value where x falls outside [0, in - 1] on any axis.
 * Opset 10 Resize (scales only) uses asymmetric coordinates and, for nearest, floor when
 * upscaling and ceil when downscaling (the behaviour of Upsample and of onnxruntime).
 *
 * DepthToSpace / SpaceToDepth: index arithmetic of the spec's reshape-transpose-reshape,
 * copied as bytes.
 */
#include <math.h>
#include <string.h>

#include "../kernel.h"
#include "../strided.h"

static int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t pmod(int64_t a, int64_t m) { return ((a % m) + m) % m; }

/* ================================================================ Pad */

enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP };

/* Reads the pads (begin[rank], end[rank]) from the attribute (opset < 11) or from inputs
 * pads and axes (opset >= 11). */
static int pad_read_pads(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, int rank,
                         int64_t *begin, int64_t *end) {
    for (int i = 0; i < rank; i++) begin[i] = end[i] = 0;
    if (n->opset > 0 && n->opset < 11) {
        const int64_t *p;
        int np = rt_attr_ints(n, "pads", &p);
        if (np < 0) return rt_fail(c, "attribute pads is required (opset %d)", n->opset);
        if (np != 2 * rank)
            return rt_fail(c, "attribute pads has %d values; expected %d (2 x rank)", np, 2 * rank);
        for (int i = 0; i < rank; i++) begin[i] = p[i], end[i] = p[rank + i];
        return RT_OK;
    }
    const RtTensor *pads = rt_in(n, in, 1), *axes = rt_in(n, in, 3);
    if (!pads) return rt_fail(c, "input pads is required");
    if (pads->dtype != RT_I64) return rt_fail(c, "input pads must be int64, got %s", rt_dtype_name(pads->dtype));
    int64_t naxes = rank, ax[RT_MAX_RANK];
    for (int i = 0; i < rank; i++) ax[i] = i;
    if (axes) {
        if (axes->dtype != RT_I64 && axes->dtype != RT_I32)
            return rt_fail(c, "input axes must be int32 or int64, got %s", rt_dtype_name(axes->dtype));
        naxes = rt_numel(axes);
        if (naxes > rank) return rt_fail(c, "input axes has %lld values for rank %d", (long long)naxes, rank);
        unsigned seen = 0;
        for (int64_t i = 0; i < naxes; i++) {
            int a = rt_axis(c, rt_get_i64(axes, i), rank, "input axes value");
            if (a < 0) return RT_ERR;
            if (seen & (1u << a)) return rt_fail(c, "input axes repeats axis %d", a);
            seen |= 1u << a;
            ax[i] = a;
        }
    }
    if (rt_numel(pads) != 2 * naxes)
        return rt_fail(c, "input pads has %lld values; expected %lld (2 x %s)", (long long)rt_numel(pads),
                       (long long)(2 * naxes), axes ? "number of axes" : "rank");
    for (int64_t i = 0; i < naxes; i++) {
        begin[ax[i]] = rt_get_i64(pads, i);
        end[ax[i]] = rt_get_i64(pads, naxes + i);
    }
    return RT_OK;
}

/* The pad value as one element of dtype t in fill[] (zero when not given). */
static int pad_fill_value(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtDtype t, unsigned char *fill) {
    memset(fill, 0, 16);
    if (n->opset > 0 && n->opset < 11) {
        RtTensor tmp = {t, 0, {0}, fill};
        rt_set_f64(&tmp, 0, rt_attr_float(n, "value", 0.0f));
        return RT_OK;
    }
    const RtTensor *v = rt_in(n, in, 2);
    if (!v || rt_numel(v) == 0) return RT_OK;
    if (v->dtype != t)
        return rt_fail(c, "input constant_value is %s but data is %s", rt_dtype_name(v->dtype), rt_dtype_name(t));
    memcpy(fill, v->data, rt_dtype_size(t));
    return RT_OK;
}

/* Output index -> input index along one axis of size `size` padded by (pb, pe); -1 = constant. */
static int pad_axis_map(RtKernelCtx *c, int mode, int axis, int64_t size, int64_t pb, int64_t pe,
                        int64_t *map, int64_t out) {
    int64_t lo = imax(0, -pb), hi = size - imax(0, -pe), m = hi - lo; /* the cropped source range */
    for (int64_t o = 0; o < out; o++) {
        int64_t r = o - pb;
        if (r >= lo && r < hi) {
            map[o] = r;
            continue;
        }
        if (mode == PAD_CONSTANT) {
            map[o] = -1;
            continue;
        }
        if (m <= 0) return rt_fail(c, "cannot pad axis %d in %s mode: no elements left after cropping", axis,
                                   mode == PAD_REFLECT ? "reflect" : mode == PAD_EDGE ? "edge" : "wrap");
        int64_t j = r - lo;
        if (mode == PAD_EDGE) j = j < 0 ? 0 : m - 1;
        else if (mode == PAD_WRAP) j = pmod(j, m);
        else if (m == 1) j = 0;
        else {
            j = pmod(j, 2 * (m - 1));
            if (j >= m) j = 2 * (m - 1) - j;
        }
        map[o] = lo + j;
    }
    return RT_OK;
}

/* n elements of es bytes, each the fill value: a memset when its bytes are all zero, else one
 * element copied and the filled span doubled. */
static void pad_fill_span(unsigned char *d, int64_t n, const unsigned char *fill, size_t es) {
    size_t bytes = (size_t)n * es, done = es, z = 0;
    if (n <= 0) return;
    while (z < es && fill[z] == 0) z++;
    if (z == es) {
        memset(d, 0, bytes);
        return;
    }
    memcpy(d, fill, es);
    for (; done < bytes; done *= 2) memcpy(d + done, d, done * 2 <= bytes ? done : bytes - done);
}

/* Pad's output row by row (rows along the last axis): the last axis's map cut once into runs of
 * consecutive outputs that read consecutive inputs (or the fill), one memcpy per run, and a
 * row whose outer index falls in a constant pad filled whole. Same bytes as an element at a
 * time, which took a quarter of M-LSD's run (tf2onnx writes an explicit Pad before its convs). */
static int pad_rows(RtKernelCtx *c, const int64_t *maps, const int64_t *map_at, const int64_t *st, int rank,
                    const int64_t *dims, size_t es, const unsigned char *fill, const unsigned char *src,
                    unsigned char *dst) {
    const int last = rank - 1;
    const int64_t W = dims[last], *mw = maps + map_at[last];
    int64_t *runs = rt_scratch(c, (size_t)(3 * W + 1) * sizeof(int64_t)); /* [start, length, source] */
    if (!runs) return RT_ERR_NOMEM;
    int64_t nr = 0;
    for (int64_t o = 0; o < W;) {
        int64_t len = 1;
        while (o + len < W && (mw[o] < 0 ? mw[o + len] < 0 : mw[o + len] == mw[o] + len)) len++;
        runs[3 * nr] = o, runs[3 * nr + 1] = len, runs[3 * nr + 2] = mw[o];
        nr++;
        o += len;
    }
    int64_t rows = 1, idx[RT_MAX_RANK] = {0};
    for (int a = 0; a < last; a++) rows *= dims[a];
    for (int64_t row = 0; row < rows; row++, dst += (size_t)W * es) {
        int64_t off = 0;
        for (int a = 0; a < last && off >= 0; a++) {
            int64_t m = maps[map_at[a] + idx[a]];
            off = m < 0 ? -1 : off + m * st[a];
        }
        if (off < 0) {
            pad_fill_span(dst, W, fill, es);
        } else {
            for (int64_t k = 0; k < nr; k++) {
                const int64_t *R = runs + 3 * k;
                if (R[2] < 0)
                    pad_fill_span(dst + (size_t)R[0] * es, R[1], fill, es);
                else
                    memcpy(dst + (size_t)R[0] * es, src + (size_t)(off + R[2]) * es, (size_t)R[1] * es);
            }
        }
        for (int a = last - 1; a >= 0 && ++idx[a] == dims[a]; a--) idx[a] = 0;
    }
    rt_scratch_free(c, runs);
    return RT_OK;
}

static int k_pad(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0);
    if (!x) return rt_fail(c, "input data is required");
    size_t es = rt_dtype_size(x->dtype);
    if (es == 0) {
        rt_fail(c, "input data has dtype %s, which Pad does not support", rt_dtype_name(x->dtype));
        return RT_ERR_UNSUPPORTED;
    }
    const char *ms = rt_attr_str(n, "mode", "constant");
    int mode = strcmp(ms, "constant") == 0 ? PAD_CONSTANT : strcmp(ms, "reflect") == 0 ? PAD_REFLECT
             : strcmp(ms, "edge") == 0 ? PAD_EDGE : strcmp(ms, "wrap") == 0 ? PAD_WRAP : -1;
    if (mode < 0) return rt_fail(c, "attribute mode '%s' is not constant, reflect, edge or wrap", ms);
    RT_NEED_DATA(c, rt_in(n, in, 1));
    RT_NEED_DATA(c, rt_in(n, in, 3));
    int rank = x->rank;
    int64_t pb[RT_MAX_RANK], pe[RT_MAX_RANK], dims[RT_MAX_RANK];
    RT_TRY(pad_read_pads(c, n, in, rank, pb, pe));
    for (int i = 0; i < rank; i++) {
        dims[i] = x->dims[i] + pb[i] + pe[i];
        if (dims[i] < 0)
            return rt_fail(c, "axis %d: size %lld with pads (%lld, %lld) would be negative", i,
                           (long long)x->dims[i], (long long)pb[i], (long long)pe[i]);
    }
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, rank, dims));
    unsigned char fill[16];
    RT_TRY(pad_fill_value(c, n, in, x->dtype, fill));
    int64_t total_maps = 0, map_at[RT_MAX_RANK], st[RT_MAX_RANK];
    for (int i = 0; i < rank; i++) map_at[i] = total_maps, total_maps += dims[i];
    int64_t *maps = rt_scratch(c, (size_t)(total_maps + 1) * sizeof(int64_t));
    if (!maps) return RT_ERR_NOMEM;
    int r = RT_OK;
    for (int i = 0; r == RT_OK && i < rank; i++)
        r = pad_axis_map(c, mode, i, x->dims[i], pb[i], pe[i], maps + map_at[i], dims[i]);
    rt_strides_contiguous(rank, x->dims, st);
    int64_t total = rt_numel(out[0]), idx[RT_MAX_RANK] = {0};
    const unsigned char *src = x->data;
    unsigned char *dst = out[0]->data;
    if (r == RT_OK && rank > 0 && total > 0) {
        r = pad_rows(c, maps, map_at, st, rank, dims, es, fill, src, dst);
        rt_scratch_free(c, maps);
        return r;
    }
    for (int64_t e = 0; r == RT_OK && e < total; e++) { /* a scalar */
        int64_t off = 0;
        for (int a = 0; a < rank && off >= 0; a++) {
            int64_t s = maps[map_at[a] + idx[a]];
            off = s < 0 ? -1 : off + s * st[a];
        }
        memcpy(dst + (size_t)e * es, off < 0 ? fill : src + (size_t)off * es, es);
        for (int a = rank - 1; a >= 0 && ++idx[a] == dims[a]; a--) idx[a] = 0;
    }
    rt_scratch_free(c, maps);
    return r;
}

/* ================================================================ DepthToSpace, SpaceToDepth */

static int block_check(RtKernelCtx *c, const RtNode *n, const RtTensor *x, int64_t *b) {
    if (!x) return rt_fail(c, "input is required");
    if (x->rank != 4) return rt_fail(c, "input has rank %d; expected 4 (N, C, H, W)", x->rank);
    if (rt_dtype_size(x->dtype) == 0) {
        rt_fail(c, "input dtype %s is not supported", rt_dtype_name(x->dtype));
        return RT_ERR_UNSUPPORTED;
    }
    const RtAttr *a = rt_attr(n, "blocksize");
    if (!a) return rt_fail(c, "attribute blocksize is required");
    *b = rt_attr_int(n, "blocksize", 0);
    if (*b < 1) return rt_fail(c, "attribute blocksize = %lld must be >= 1", (long long)*b);
    return RT_OK;
}

static int k_depth_to_space(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0);
    int64_t b;
    RT_TRY(block_check(c, n, x, &b));
    const char *mode = rt_attr_str(n, "mode", "DCR");
    int crd = strcmp(mode, "CRD") == 0;
    if (!crd && strcmp(mode, "DCR") != 0) return rt_fail(c, "attribute mode '%s' is not DCR or CRD", mode);
    int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
    if (C % (b * b) != 0)
        return rt_fail(c, "input channels %lld are not divisible by blocksize^2 = %lld", (long long)C,
                       (long long)(b * b));
    int64_t Co = C / (b * b), dims[4] = {N, Co, H * b, W * b};
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, 4, dims));
    size_t es = rt_dtype_size(x->dtype);
    const unsigned char *src = x->data;
    unsigned char *dst = out[0]->data;
    /* DCR reads X viewed as [N, b, b, Co, H, W], CRD as [N, Co, b, b, H, W]. */
    for (int64_t im = 0; im < N; im++)
        for (int64_t co = 0; co < Co; co++)
            for (int64_t oh = 0; oh < H * b; oh++)
                for (int64_t ow = 0; ow < W * b; ow++) {
                    int64_t bh = oh % b, bw = ow % b;
                    int64_t ci = crd ? (co * b + bh) * b + bw : (bh * b + bw) * Co + co;
                    int64_t si = ((im * C + ci) * H + oh / b) * W + ow / b;
                    memcpy(dst, src + (size_t)si * es, es);
                    dst += es;
                }
    return RT_OK;
}

static int k_space_to_depth(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0);
    int64_t b;
    RT_TRY(block_check(c, n, x, &b));
    int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
    if (H % b != 0 || W % b != 0)
        return rt_fail(c, "input height %lld and width %lld must be divisible by blocksize %lld", (long long)H,
                       (long long)W, (long long)b);
    int64_t dims[4] = {N, C * b * b, H / b, W / b};
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, 4, dims));
    size_t es = rt_dtype_size(x->dtype);
    const unsigned char *src = x->data;
    unsigned char *dst = out[0]->data;
    /* output channel (bh * b + bw) * C + c holds X[c, oh * b + bh, ow * b + bw] */
    for (int64_t im = 0; im < N; im++)
        for (int64_t co = 0; co < C * b * b; co++) {
            int64_t ci = co % C, bw = (co / C) % b, bh = co / C / b;
            for (int64_t oh = 0; oh < H / b; oh++)
                for (int64_t ow = 0; ow < W / b; ow++) {
                    int64_t si = ((im * C + ci) * H + oh * b + bh) * W + ow * b + bw;
                    memcpy(dst, src + (size_t)si * es, es);
                    dst += es;
                }
        }
    return RT_OK;
}

/* ================================================================ Resize */

enum { RS_NEAREST, RS_LINEAR, RS_CUBIC };
enum { CT_HALF_PIXEL, CT_HALF_PIXEL_SYMMETRIC, CT_PYTORCH_HALF_PIXEL, CT_ALIGN_CORNERS, CT_ASYMMETRIC,
       CT_TF_HALF_PIXEL_FOR_NN, CT_TF_CROP_AND_RESIZE };
enum { NM_ROUND_PREFER_FLOOR, NM_ROUND_PREFER_CEIL, NM_FLOOR, NM_CEIL, NM_SIMPLE };

typedef struct {
    int mode;              /* RS_* */
    int coord;             /* CT_* */
    int nearest;           /* NM_* */
    double cubic_a;        /* cubic_coeff_a */
    int exclude_outside;   /* drop taps outside the input and renormalize */
    int antialias;         /* stretch linear/cubic filters by 1/scale when downscaling */
    double extrapolation;  /* tf_crop_and_resize value outside the crop */
    const char *policy;    /* keep_aspect_ratio_policy */
} ResizeAttrs;

/* One axis's interpolation table. */
typedef struct {
    int64_t taps;          /* taps per output index */
    int64_t *off;          /* [out * taps] input element offsets (index * stride, clamped) */
    double *w;             /* [out * taps] weights */
    unsigned char *oob;    /* [out] 1 = outside the tf_crop_and_resize crop */
} ResizeAxis;

static int str_pick(const char *s, const char *const *names, int n) {
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

static int resize_attrs(RtKernelCtx *c, const RtNode *n, ResizeAttrs *ra) {
    static const char *const modes[] = {"nearest", "linear", "cubic"};
    static const char *const coords[] = {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",
                                         "align_corners", "asymmetric", "tf_half_pixel_for_nn",
                                         "tf_crop_and_resize"};
    static const char *const nearests[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    int old = n->opset > 0 && n->opset < 11;
    const char *m = rt_attr_str(n, "mode", "nearest");
    const char *ct = rt_attr_str(n, "coordinate_transformation_mode", "half_pixel");
    const char *nm = rt_attr_str(n, "nearest_mode", "round_prefer_floor");
    ra->mode = str_pick(m, modes, 3);
    if (ra->mode < 0 || (old && ra->mode == RS_CUBIC))
        return rt_fail(c, "attribute mode '%s' is not nearest, linear%s", m, old ? "" : " or cubic");
    ra->coord = old ? CT_ASYMMETRIC : str_pick(ct, coords, 7);
    if (ra->coord < 0) return rt_fail(c, "attribute coordinate_transformation_mode '%s' is not known", ct);
    ra->nearest = old ? NM_SIMPLE : str_pick(nm, nearests, 4);
    if (ra->nearest < 0)
        return rt_fail(c, "attribute nearest_mode '%s' is not round_prefer_floor, round_prefer_ceil, floor or ceil", nm);
    ra->cubic_a = rt_attr_float(n, "cubic_coeff_a", -0.75f);
    ra->exclude_outside = rt_attr_int(n, "exclude_outside", 0) != 0;
    ra->antialias = rt_attr_int(n, "antialias", 0) != 0;
    ra->extrapolation = rt_attr_float(n, "extrapolation_value", 0.0f);
    ra->policy = rt_attr_str(n, "keep_aspect_ratio_policy", "stretch");
    if (strcmp(ra->policy, "stretch") && strcmp(ra->policy, "not_larger") && strcmp(ra->policy, "not_smaller"))
        return rt_fail(c, "attribute keep_aspect_ratio_policy '%s' is not stretch, not_larger or not_smaller",
                       ra->policy);
    return RT_OK;
}

/* Output sizes and per-axis scales from scales or sizes (and axes, keep_aspect_ratio_policy).
 * ax_of[a] = position of axis a in the scales/sizes/roi lists, or -1 when not resized. */
static int resize_shape(RtKernelCtx *c, const RtNode *n, const ResizeAttrs *ra, const RtTensor *x,
                        const RtTensor *scales, const RtTensor *sizes, int64_t *dims, double *scale,
                        int *ax_of, int *naxes_out) {
    int rank = x->rank;
    int naxes = rank;
    for (int a = 0; a < rank; a++) ax_of[a] = a;
    const int64_t *axv;
    int na = rt_attr_ints(n, "axes", &axv);
    if (na >= 0) {
        if (na > rank) return rt_fail(c, "attribute axes has %d values for rank %d", na, rank);
        for (int a = 0; a < rank; a++) ax_of[a] = -1;
        for (int i = 0; i < na; i++) {
            int a = rt_axis(c, axv[i], rank, "attribute axes value");
            if (a < 0) return RT_ERR;
            if (ax_of[a] >= 0) return rt_fail(c, "attribute axes repeats axis %d", a);
            ax_of[a] = i;
        }
        naxes = na;
    }
    *naxes_out = naxes;
    const RtTensor *t = scales ? scales : sizes;
    if (!t) return rt_fail(c, "one of the inputs scales and sizes must be given (non-empty)");
    if (rt_numel(t) != naxes)
        return rt_fail(c, "input %s has %lld values; expected %d (%s)", scales ? "scales" : "sizes",
                       (long long)rt_numel(t), naxes, na >= 0 ? "one per axis in axes" : "the rank of X");
    if (scales && !rt_dtype_is_float(scales->dtype))
        return rt_fail(c, "input scales must be a float tensor, got %s", rt_dtype_name(scales->dtype));
    if (sizes && sizes->dtype != RT_I64)
        return rt_fail(c, "input sizes must be int64, got %s", rt_dtype_name(sizes->dtype));
    for (int a = 0; a < rank; a++) {
        dims[a] = x->dims[a];
        scale[a] = 1.0;
        if (ax_of[a] < 0) continue;
        if (scales) {
            scale[a] = rt_get_f64(scales, ax_of[a]);
            if (!(scale[a] > 0)) return rt_fail(c, "input scales[%d] = %g must be > 0", ax_of[a], scale[a]);
            dims[a] = (int64_t)floor((double)x->dims[a] * scale[a]);
        } else {
            dims[a] = rt_get_i64(sizes, ax_of[a]);
            if (dims[a] < 0) return rt_fail(c, "input sizes[%d] = %lld must be >= 0", ax_of[a], (long long)dims[a]);
            scale[a] = x->dims[a] > 0 ? (double)dims[a] / (double)x->dims[a] : 1.0;
        }
    }
    if (sizes && strcmp(ra->policy, "stretch") != 0) {
        int larger = strcmp(ra->policy, "not_smaller") == 0;
        double s = larger ? 0.0 : INFINITY;
        for (int a = 0; a < rank; a++)
            if (ax_of[a] >= 0) s = larger ? fmax(s, scale[a]) : fmin(s, scale[a]);
        for (int a = 0; a < rank; a++)
            if (ax_of[a] >= 0) {
                scale[a] = s;
                dims[a] = (int64_t)floor(s * (double)x->dims[a] + 0.5);
            }
    }
    return RT_OK;
}

/* Input coordinate of output index o along one axis (in, out sizes, scale, crop [r0, r1]). */
static double resize_coord(const ResizeAttrs *ra, int64_t o, int64_t in, int64_t out, double scale, double r0,
                           double r1) {
    double len = scale * (double)in; /* length_resized, unrounded */
    double x = (double)o;
    switch (ra->coord) {
    case CT_HALF_PIXEL: return (x + 0.5) / scale - 0.5;
    case CT_HALF_PIXEL_SYMMETRIC: {
        double adj = (double)out / len, center = (double)in / 2.0;
        return center * (1.0 - adj) + (x + 0.5) / scale - 0.5;
    }
    case CT_PYTORCH_HALF_PIXEL: return len > 1.0 ? (x + 0.5) / scale - 0.5 : 0.0;
    case CT_ALIGN_CORNERS: return len == 1.0 ? 0.0 : x * (double)(in - 1) / (len - 1.0);
    case CT_ASYMMETRIC: return x / scale;
    case CT_TF_HALF_PIXEL_FOR_NN: return (x + 0.5) / scale;
    default: /* tf_crop_and_resize */
        if (len == 1.0) return (r1 - r0) * (double)(in - 1) / 2.0 + r0 * (double)(in - 1);
        return x * (r1 - r0) * (double)(in - 1) / (len - 1.0) + r0 * (double)(in - 1);
    }
}

/* Filter value at distance d (in input pixels, already scaled for antialias). */
static double resize_filter(const ResizeAttrs *ra, double d) {
    d = fabs(d);
    if (ra->mode == RS_LINEAR) return d < 1.0 ? 1.0 - d : 0.0;
    double A = ra->cubic_a;
    if (d <= 1.0) return ((A + 2.0) * d - (A + 3.0)) * d * d + 1.0;
    if (d < 2.0) return ((A * d - 5.0 * A) * d + 8.0 * A) * d - 4.0 * A;
    return 0.0;
}

/* Taps per output index along an axis with this scale. */
static int64_t resize_taps(const ResizeAttrs *ra, double scale) {
    if (ra->mode == RS_NEAREST) return 1;
    double support = ra->mode == RS_LINEAR ? 1.0 : 2.0;
    double s = ra->antialias && scale < 1.0 ? scale : 1.0;
    int64_t start = (int64_t)floor(-support / s) + 1;
    return 2 - 2 * start;
}

static int64_t nearest_index(const ResizeAttrs *ra, double x, double scale) {
    double f = floor(x), r = x - f;
    if (r == 0.0) return (int64_t)f;
    switch (ra->nearest) {
    case NM_ROUND_PREFER_FLOOR: return (int64_t)f + (r > 0.5);
    case NM_ROUND_PREFER_CEIL: return (int64_t)f + (r >= 0.5);
    case NM_FLOOR: return (int64_t)f;
    case NM_CEIL: return (int64_t)f + 1;
    default: return (int64_t)f + (scale < 1.0); /* opset 10: ceil when downscaling */
    }
}

/* Fills one axis table: taps, weights (normalized when antialias or exclude_outside), edge
 * clamping, crop flags. */
static void resize_axis_fill(const ResizeAttrs *ra, ResizeAxis *ax, int64_t in, int64_t out, double scale,
                             int64_t stride, double r0, double r1) {
    int64_t T = ax->taps;
    double s = ra->antialias && scale < 1.0 ? scale : 1.0;
    int64_t start = 1 - T / 2; /* first tap relative to floor(x) */
    for (int64_t o = 0; o < out; o++) {
        double x = resize_coord(ra, o, in, out, scale, r0, r1);
        ax->oob[o] = ra->coord == CT_TF_CROP_AND_RESIZE && (x < 0.0 || x > (double)(in - 1));
        int64_t *off = ax->off + o * T;
        double *w = ax->w + o * T;
        if (ra->mode == RS_NEAREST) {
            int64_t i = nearest_index(ra, x, scale);
            off[0] = imin(imax(i, 0), in - 1) * stride;
            w[0] = 1.0;
            continue;
        }
        double f = floor(x), ratio = x - f, sum = 0.0;
        for (int64_t t = 0; t < T; t++) {
            int64_t i = (int64_t)f + start + t;
            w[t] = resize_filter(ra, s * ((double)(start + t) - ratio));
            if (ra->exclude_outside && (i < 0 || i >= in)) w[t] = 0.0;
            off[t] = imin(imax(i, 0), in - 1) * stride;
            sum += w[t];
        }
        if ((ra->antialias || ra->exclude_outside) && sum != 0.0)
            for (int64_t t = 0; t < T; t++) w[t] /= sum;
    }
}

/* Sum over the taps of axes a.. of weight * X[offset] for output index o[]. */
static double resize_gather(const ResizeAxis *axes, int rank, const int64_t *o, int a, int64_t off,
                            const RtTensor *x) {
    if (a == rank) return rt_get_f64(x, off);
    const ResizeAxis *ax = &axes[a];
    double acc = 0.0;
    for (int64_t t = 0; t < ax->taps; t++) {
        double w = ax->w[o[a] * ax->taps + t];
        if (w != 0.0) acc += w * resize_gather(axes, rank, o, a + 1, off + ax->off[o[a] * ax->taps + t], x);
    }
    return acc;
}

/* 1 when axis a's table is the identity (each output index reads its own input index with
 * weight 1, every other tap weight 0, nothing out of the crop): the leading axes of the usual
 * NCHW Resize, whose scale is 1. */
static int resize_axis_is_identity(const ResizeAxis *ax, int64_t out, int64_t stride) {
    for (int64_t o = 0; o < out; o++) {
        if (ax->oob[o] || ax->off[o * ax->taps] != o * stride || ax->w[o * ax->taps] != 1.0) return 0;
        for (int64_t t = 1; t < ax->taps; t++)
            if (ax->w[o * ax->taps + t] != 0.0) return 0;
    }
    return 1;
}

/* Linear or cubic float32 Resize of the last two axes (rank >= 2, every leading axis the
 * identity, no crop): per plane of H x W inputs, each output is
 *     sum over row taps th of wH[th] * (sum over column taps tw of wW[tw] * x[row][col])
 * in double, zero weights skipped, then rounded to float: resize_gather's sums in its order
 * (an identity axis adds 1.0 * the inner sum to 0.0, which changes nothing), so the same bits,
 * without its per-element recursion and dtype switch (~10x faster on segmentation nets' 2x
 * bilinear upsampling). The inner sums depend on the input row and the output column only:
 * each input row's are made once per plane, when an output row first needs them, into
 * rows [H][OW] (done[r] says which are made), and each output row sums its taps' rows into
 * acc [OW] (a 2x upsampling reads every input row's sums twice; M-LSD's Resizes ~3x faster). */
static void resize_planes_f32(const ResizeAxis *ah, const ResizeAxis *aw, int64_t planes, int64_t H, int64_t W,
                              int64_t OH, int64_t OW, const float *x, float *y, double *rows, double *acc,
                              unsigned char *done) {
    for (int64_t p = 0; p < planes; p++, x += H * W) {
        memset(done, 0, (size_t)H);
        for (int64_t oh = 0; oh < OH; oh++) {
            for (int64_t ow = 0; ow < OW; ow++) acc[ow] = 0.0;
            for (int64_t th = 0; th < ah->taps; th++) {
                double wh = ah->w[oh * ah->taps + th];
                if (wh == 0.0) continue;
                int64_t r = ah->off[oh * ah->taps + th] / W;
                double *inner = rows + r * OW;
                if (!done[r]) {
                    const float *row = x + r * W;
                    for (int64_t ow = 0; ow < OW; ow++) {
                        double v = 0.0;
                        for (int64_t tw = 0; tw < aw->taps; tw++) {
                            double ww = aw->w[ow * aw->taps + tw];
                            if (ww != 0.0) v += ww * (double)row[aw->off[ow * aw->taps + tw]];
                        }
                        inner[ow] = v;
                    }
                    done[r] = 1;
                }
                for (int64_t ow = 0; ow < OW; ow++) acc[ow] += wh * inner[ow];
            }
            for (int64_t ow = 0; ow < OW; ow++) *y++ = (float)acc[ow];
        }
    }
}

static int resize_compute(RtKernelCtx *c, const ResizeAttrs *ra, const RtTensor *x, const RtTensor *roi,
                          const double *scale, const int *ax_of, int naxes, RtTensor *y) {
    int rank = x->rank;
    int64_t st[RT_MAX_RANK], words = 0;
    rt_strides_contiguous(rank, x->dims, st);
    ResizeAxis axes[RT_MAX_RANK];
    for (int a = 0; a < rank; a++) {
        axes[a].taps = resize_taps(ra, scale[a]);
        words += y->dims[a] * (2 * axes[a].taps + 1);
    }
    double *buf = rt_scratch(c, (size_t)(words + 1) * sizeof(double));
    if (!buf) return RT_ERR_NOMEM;
    double *p = buf;
    for (int a = 0; a < rank; a++) {
        int64_t cnt = y->dims[a] * axes[a].taps;
        axes[a].w = p;
        axes[a].off = (int64_t *)(void *)(p + cnt); /* int64 and double are both 8 bytes */
        axes[a].oob = (unsigned char *)(p + 2 * cnt);
        p += 2 * cnt + y->dims[a];
        double r0 = 0.0, r1 = 1.0;
        if (ra->coord == CT_TF_CROP_AND_RESIZE && ax_of[a] >= 0) {
            r0 = rt_get_f64(roi, ax_of[a]);
            r1 = rt_get_f64(roi, naxes + ax_of[a]);
        }
        resize_axis_fill(ra, &axes[a], x->dims[a], y->dims[a], scale[a], st[a], r0, r1);
    }
    int planes_ok = ra->mode != RS_NEAREST && x->dtype == RT_F32 && rank >= 2;
    for (int a = 0; planes_ok && a < rank; a++)
        planes_ok = a >= rank - 2 ? !memchr(axes[a].oob, 1, (size_t)y->dims[a])
                                  : y->dims[a] == x->dims[a] && resize_axis_is_identity(&axes[a], y->dims[a], st[a]);
    if (planes_ok) {
        int64_t planes = 1;
        for (int a = 0; a < rank - 2; a++) planes *= x->dims[a];
        const int64_t H = x->dims[rank - 2], W = x->dims[rank - 1], OW = y->dims[rank - 1];
        double *rows = rt_scratch(c, sizeof(double) * (size_t)((H + 1) * OW) + (size_t)H);
        if (!rows) {
            rt_scratch_free(c, buf);
            return RT_ERR_NOMEM;
        }
        resize_planes_f32(&axes[rank - 2], &axes[rank - 1], planes, H, W, y->dims[rank - 2], OW, x->data, y->data,
                          rows, rows + H * OW, (unsigned char *)(rows + (H + 1) * OW));
        rt_scratch_free(c, rows);
        rt_scratch_free(c, buf);
        return RT_OK;
    }
    int64_t total = rt_numel(y), o[RT_MAX_RANK] = {0};
    size_t es = rt_dtype_size(x->dtype);
    for (int64_t e = 0; e < total; e++) {
        int oob = 0;
        for (int a = 0; a < rank; a++) oob |= axes[a].oob[o[a]];
        if (oob) {
            rt_set_f64(y, e, ra->extrapolation);
        } else if (ra->mode == RS_NEAREST) {
            int64_t off = 0;
            for (int a = 0; a < rank; a++) off += axes[a].off[o[a]];
            memcpy((char *)y->data + (size_t)e * es, (const char *)x->data + (size_t)off * es, es);
        } else {
            rt_set_f64(y, e, resize_gather(axes, rank, o, 0, 0, x));
        }
        for (int a = rank - 1; a >= 0 && ++o[a] == y->dims[a]; a--) o[a] = 0;
    }
    rt_scratch_free(c, buf);
    return RT_OK;
}

static int k_resize(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0);
    if (!x) return rt_fail(c, "input X is required");
    ResizeAttrs ra;
    memset(&ra, 0, sizeof ra);
    RT_TRY(resize_attrs(c, n, &ra));
    int old = n->opset > 0 && n->opset < 11;
    const RtTensor *roi = old ? NULL : rt_in(n, in, 1);
    const RtTensor *scales = rt_in(n, in, old ? 1 : 2), *sizes = old ? NULL : rt_in(n, in, 3);
    RT_NEED_DATA(c, scales);
    RT_NEED_DATA(c, sizes);
    if (scales && rt_numel(scales) == 0) scales = NULL; /* opset 11-12 pass an empty scales with sizes */
    if (sizes && rt_numel(sizes) == 0) sizes = NULL;
    if (scales && sizes) return rt_fail(c, "inputs scales and sizes are both given; only one may be");
    if (rt_dtype_size(x->dtype) == 0) {
        rt_fail(c, "input X has dtype %s, which Resize does not support", rt_dtype_name(x->dtype));
        return RT_ERR_UNSUPPORTED;
    }
    if (ra.mode != RS_NEAREST && !rt_dtype_is_float(x->dtype)) {
        rt_fail(c, "input X has dtype %s; linear and cubic Resize support float types only",
                rt_dtype_name(x->dtype));
        return RT_ERR_UNSUPPORTED;
    }
    int64_t dims[RT_MAX_RANK];
    double scale[RT_MAX_RANK];
    int ax_of[RT_MAX_RANK], naxes = 0;
    RT_TRY(resize_shape(c, n, &ra, x, scales, sizes, dims, scale, ax_of, &naxes));
    if (ra.coord == CT_TF_CROP_AND_RESIZE) {
        if (!roi || rt_numel(roi) != 2 * naxes)
            return rt_fail(c, "tf_crop_and_resize needs input roi with %d values (starts, ends); got %lld",
                           2 * naxes, roi ? (long long)rt_numel(roi) : 0LL);
        if (!rt_dtype_is_float(roi->dtype))
            return rt_fail(c, "input roi must be a float tensor, got %s", rt_dtype_name(roi->dtype));
    }
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, x->rank, dims));
    return resize_compute(c, &ra, x, roi, scale, ax_of, naxes, out[0]);
}

const RtKernelEntry rt_kernels_resize[] = {
    {RT_OP_PAD, k_pad},
    {RT_OP_RESIZE, k_resize},
    {RT_OP_DEPTH_TO_SPACE, k_depth_to_space},
    {RT_OP_SPACE_TO_DEPTH, k_space_to_depth},
    {-1, 0},
};
