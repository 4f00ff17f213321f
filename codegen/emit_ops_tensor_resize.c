/*
 * emit_ops_tensor_resize.c — emit-c's Resize, Upsample, GridSample and RoiAlign (tensor family;
 * the table is in emit_ops_tensor.c).
 *
 * Resize and Upsample are separable: every table that depends only on shapes and attributes
 * (per axis and output index: the input offsets of the taps, their weights, the crop flags)
 * is computed here with the runtime's formulas (ref/resize_pad.c, ref/misc_ops.c) and written
 * as static const arrays; k_tensor_resize only sums (in double) or copies. GridSample and
 * RoiAlign depend on run-time coordinates, so their templates (k_tensor_gridsample,
 * k_tensor_roialign) port the runtime's ref/sampling.c, libm-free under WK_NO_LIBM.
 */
#include "emit_ops_tensor.h"

/* ---------------------------------------------------------------- Resize, Upsample */

enum { RS_NEAREST, RS_LINEAR, RS_CUBIC };
enum {
    CT_HALF_PIXEL,
    CT_HALF_PIXEL_SYMMETRIC,
    CT_PYTORCH_HALF_PIXEL,
    CT_ALIGN_CORNERS,
    CT_ASYMMETRIC,
    CT_TF_HALF_PIXEL_FOR_NN,
    CT_TF_CROP_AND_RESIZE
};
enum { NM_ROUND_PREFER_FLOOR, NM_ROUND_PREFER_CEIL, NM_FLOOR, NM_CEIL, NM_SIMPLE, NM_UPSAMPLE };

typedef struct {
    int mode, coord, nearest, exclude_outside, antialias; /* RS_*, CT_*, NM_*, flags */
    int up, old;                                          /* Upsample; Upsample or Resize before opset 11 */
    double cubic_a;                                       /* cubic_coeff_a */
} RsAttrs;

/* Per-axis scales of a Resize and the crop box. */
typedef struct {
    double scale[RT_MAX_RANK];   /* output / input per axis (1 for axes not resized) */
    double roi[2 * RT_MAX_RANK]; /* tf_crop_and_resize: starts then ends, per listed axis */
    int ax_of[RT_MAX_RANK];      /* axis -> position in scales/sizes/roi, or -1 */
    int naxes;                   /* resized axes listed */
} RsScales;

/* The runtime's resize_coord: input coordinate of output index o along one axis. */
static double rs_coord(const RsAttrs *ra, int64_t o, int64_t in, int64_t out, double scale, double r0, double r1) {
    double len = scale * (double)in, x = (double)o;
    switch (ra->coord) {
    case CT_HALF_PIXEL:
        return (x + 0.5) / scale - 0.5;
    case CT_HALF_PIXEL_SYMMETRIC: {
        double adj = (double)out / len, center = (double)in / 2.0;
        return center * (1.0 - adj) + (x + 0.5) / scale - 0.5;
    }
    case CT_PYTORCH_HALF_PIXEL:
        return len > 1.0 ? (x + 0.5) / scale - 0.5 : 0.0;
    case CT_ALIGN_CORNERS:
        return len == 1.0 ? 0.0 : x * (double)(in - 1) / (len - 1.0);
    case CT_ASYMMETRIC:
        return x / scale;
    case CT_TF_HALF_PIXEL_FOR_NN:
        return (x + 0.5) / scale;
    default:
        if (len == 1.0) return (r1 - r0) * (double)(in - 1) / 2.0 + r0 * (double)(in - 1);
        return x * (r1 - r0) * (double)(in - 1) / (len - 1.0) + r0 * (double)(in - 1);
    }
}

static double rs_filter(const RsAttrs *ra, double d) {
    d = fabs(d);
    if (ra->mode == RS_LINEAR) return d < 1.0 ? 1.0 - d : 0.0;
    double A = ra->cubic_a;
    if (d <= 1.0) return ((A + 2.0) * d - (A + 3.0)) * d * d + 1.0;
    if (d < 2.0) return ((A * d - 5.0 * A) * d + 8.0 * A) * d - 4.0 * A;
    return 0.0;
}

static int64_t rs_taps(const RsAttrs *ra, double scale) {
    if (ra->mode == RS_NEAREST) return 1;
    double support = ra->mode == RS_LINEAR ? 1.0 : 2.0, s = ra->antialias && scale < 1.0 ? scale : 1.0;
    return 2 - 2 * ((int64_t)floor(-support / s) + 1);
}

static int64_t rs_nearest(const RsAttrs *ra, double x, double scale) {
    double f = floor(x), r = x - f;
    if (ra->nearest == NM_UPSAMPLE) return (int64_t)(scale < 1 ? ceil(x) : f);
    if (r == 0.0) return (int64_t)f;
    switch (ra->nearest) {
    case NM_ROUND_PREFER_FLOOR:
        return (int64_t)f + (r > 0.5);
    case NM_ROUND_PREFER_CEIL:
        return (int64_t)f + (r >= 0.5);
    case NM_FLOOR:
        return (int64_t)f;
    case NM_CEIL:
        return (int64_t)f + 1;
    default:
        return (int64_t)f + (scale < 1.0); /* opset 10: ceil when downscaling */
    }
}

/* One axis's table (the runtime's resize_axis_fill; Upsample's linear as 2 taps on a
 * coordinate clamped to in - 1). off/w at [o * T + t], oob at [o]. */
static void rs_axis_fill(const RsAttrs *ra, int upsample, int64_t T, int64_t in, int64_t out, double scale,
                         int64_t stride, double r0, double r1, int32_t *off, double *w, unsigned char *oob) {
    double s = ra->antialias && scale < 1.0 ? scale : 1.0;
    int64_t start = 1 - T / 2;
    for (int64_t o = 0; o < out; o++) {
        double x = upsample ? (double)o / scale : rs_coord(ra, o, in, out, scale, r0, r1);
        oob[o] = !upsample && ra->coord == CT_TF_CROP_AND_RESIZE && (x < 0.0 || x > (double)(in - 1));
        int32_t *of = off + o * T;
        double *wt = w + o * T;
        if (ra->mode == RS_NEAREST) {
            of[0] = (int32_t)(clampi(rs_nearest(ra, x, scale), 0, in - 1) * stride);
            wt[0] = 1.0;
            continue;
        }
        if (upsample) { /* Upsample linear */
            if (x > (double)(in - 1)) x = (double)(in - 1);
            int64_t x0 = (int64_t)floor(x), x1 = x0 + 1 < in ? x0 + 1 : in - 1;
            double f = x - (double)x0;
            of[0] = (int32_t)(x0 * stride), of[1] = (int32_t)(x1 * stride);
            wt[0] = 1 - f, wt[1] = f;
            continue;
        }
        double f = floor(x), ratio = x - f, sum = 0.0;
        for (int64_t t = 0; t < T; t++) {
            int64_t i = (int64_t)f + start + t;
            wt[t] = rs_filter(ra, s * ((double)(start + t) - ratio));
            if (ra->exclude_outside && (i < 0 || i >= in)) wt[t] = 0.0;
            of[t] = (int32_t)(clampi(i, 0, in - 1) * stride);
            sum += wt[t];
        }
        if ((ra->antialias || ra->exclude_outside) && sum != 0.0)
            for (int64_t t = 0; t < T; t++) wt[t] /= sum;
    }
}

/* A constant float list (input j) into v; count, or -1 after ec_fail, -2 when absent/empty. */
static int floats_read(EcCtx *c, int k, const RtNode *n, int j, const char *name, double *v, int max) {
    if (j >= n->n_in || n->in[j] < 0) return -2;
    const RtTensor *t = kin(c, n, j), *tv = vin(c, n, j);
    if (tv && rt_numel(tv) == 0) return -2;
    if (!t) {
        ec_fail(c, k, RT_ERR_UNSUPPORTED,
                "input '%s' must be a constant for emit-c (give it with --freeze-input NAME=FILE.npy)", name);
        return -1;
    }
    if (rt_numel(t) > max) {
        ec_fail(c, k, RT_ERR, "input '%s' has too many values", name);
        return -1;
    }
    for (int64_t i = 0; i < rt_numel(t); i++) v[i] = rt_get_f64(t, i);
    return (int)rt_numel(t);
}

/* Resize's (or Upsample's) attributes as the runtime's resize_attrs reads them; opset 10
 * Resize and Upsample use asymmetric coordinates and their own nearest rounding. */
static int rs_attrs_read(EcCtx *c, int k, const RtNode *n, RsAttrs *ra) {
    static const char *const modes[] = {"nearest", "linear", "cubic"};
    static const char *const coords[] = {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
                                         "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize"};
    static const char *const nearests[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    memset(ra, 0, sizeof *ra);
    ra->up = n->op == RT_OP_UPSAMPLE;
    ra->old = ra->up || (n->opset > 0 && n->opset < 11);
    const char *m = rt_attr_str(n, "mode", "nearest");
    ra->mode = str_pick(m, modes, ra->up ? 2 : 3);
    if (ra->mode < 0) return ec_fail(c, k, RT_ERR, "attribute mode '%s' is not supported", m);
    ra->coord =
        ra->old ? CT_ASYMMETRIC : str_pick(rt_attr_str(n, "coordinate_transformation_mode", "half_pixel"), coords, 7);
    ra->nearest = ra->up ? NM_UPSAMPLE
        : ra->old        ? NM_SIMPLE
                         : str_pick(rt_attr_str(n, "nearest_mode", "round_prefer_floor"), nearests, 4);
    if (ra->coord < 0 || ra->nearest < 0)
        return ec_fail(c, k, RT_ERR, "coordinate_transformation_mode or nearest_mode is not known");
    ra->cubic_a = rt_attr_float(n, "cubic_coeff_a", -0.75f);
    ra->exclude_outside = rt_attr_int(n, "exclude_outside", 0) != 0;
    ra->antialias = rt_attr_int(n, "antialias", 0) != 0;
    return RT_OK;
}

/* The resized axes: ax_of[a] = position of axis a in scales/sizes/roi (attribute axes,
 * opset 18), -1 when not resized; returns their count, or -1 after ec_fail. */
static int rs_axes_read(EcCtx *c, int k, const RtNode *n, const RsAttrs *ra, int rank, int *ax_of) {
    const int64_t *axv;
    int na = ra->old ? -1 : rt_attr_ints(n, "axes", &axv);
    for (int a = 0; a < rank; a++) ax_of[a] = na >= 0 ? -1 : a;
    for (int i = 0; i < na; i++) {
        int64_t a = axv[i] < 0 ? axv[i] + rank : axv[i];
        if (a < 0 || a >= rank) return ec_fail(c, k, RT_ERR, "attribute axes is out of range"), -1;
        ax_of[a] = i;
    }
    return na >= 0 ? na : rank;
}

/* Per-axis scales (the runtime's resize_shape / upsample_scales): from scales (input or
 * Upsample's attribute before opset 9) or sizes / input size with keep_aspect_ratio_policy;
 * the crop roi for tf_crop_and_resize. */
static int rs_scales_read(EcCtx *c, int k, const RtNode *n, const RsAttrs *ra, const RtTensor *x, RsScales *S) {
    int rank = x->rank, ns = -2, nz = -2;
    double sv[RT_MAX_RANK];
    int64_t szv[RT_MAX_RANK];
    S->naxes = rs_axes_read(c, k, n, ra, rank, S->ax_of);
    if (S->naxes < 0) return RT_ERR;
    if (ra->up && n->opset < 9 && !(n->n_in > 1 && n->in[1] >= 0)) {
        const RtAttr *sa = rt_attr(n, "scales");
        if (!sa || sa->type != RT_ATTR_FLOATS || sa->n != rank)
            return ec_fail(c, k, RT_ERR, "attribute scales must have %d floats", rank);
        for (int i = 0; i < rank; i++) sv[i] = sa->floats[i];
        ns = rank;
    } else {
        if ((ns = floats_read(c, k, n, ra->old ? 1 : 2, "scales", sv, RT_MAX_RANK)) == -1) return RT_ERR;
        if (!ra->old && (nz = ints_read(c, k, n, 3, "sizes", 0, szv, RT_MAX_RANK)) == -1) return RT_ERR;
        if (nz == 0) nz = -2;
    }
    if (ns < 0 && nz < 0) return ec_fail(c, k, RT_ERR, "one of scales and sizes must be given");
    if ((ns >= 0 ? ns : nz) != S->naxes) return ec_fail(c, k, RT_ERR, "scales/sizes must have %d values", S->naxes);
    const char *policy = rt_attr_str(n, "keep_aspect_ratio_policy", "stretch");
    int keep = ns < 0 && !ra->old && strcmp(policy, "stretch") != 0, larger = strcmp(policy, "not_smaller") == 0;
    double s = larger ? 0.0 : HUGE_VAL;
    for (int a = 0; a < rank; a++) {
        int i = S->ax_of[a];
        S->scale[a] = i < 0 ? 1.0 : ns >= 0 ? sv[i] : x->dims[a] > 0 ? (double)szv[i] / (double)x->dims[a] : 1.0;
        if (!(S->scale[a] > 0)) return ec_fail(c, k, RT_ERR, "scale %g must be > 0", S->scale[a]);
        if (i >= 0) s = larger ? fmax(s, S->scale[a]) : fmin(s, S->scale[a]);
    }
    for (int a = 0; keep && a < rank; a++)
        if (S->ax_of[a] >= 0) S->scale[a] = s;
    if (ra->coord == CT_TF_CROP_AND_RESIZE) {
        int nr = floats_read(c, k, n, 1, "roi", S->roi, 2 * RT_MAX_RANK);
        if (nr == -1) return RT_ERR;
        if (nr != 2 * S->naxes)
            return ec_fail(c, k, RT_ERR, "tf_crop_and_resize needs roi with %d values", 2 * S->naxes);
    }
    return RT_OK;
}

/* Writes n<k>_offs and (kind 1/2) n<k>_w [words], and when tf_crop_and_resize leaves the crop
 * anywhere n<k>_oob [obn] and n<k>_ext (the extrapolation value as one element); fills the
 * per-axis index tables taps/at/ob. Returns 1 when oob was written, 0 if not, -1 on OOM. */
static int rs_tables_emit(EcCtx *c, int k, const RtNode *n, const RsAttrs *ra, const RsScales *S, const RtTensor *x,
                          const RtTensor *y, int kind, int32_t *taps, int32_t *at, int32_t *ob) {
    int64_t xs[RT_MAX_RANK], words = 0, obn = 0;
    strides_of(x->rank, x->dims, xs);
    for (int a = 0; a < x->rank; a++) {
        taps[a] = (int32_t)(ra->up && ra->mode == RS_LINEAR ? 2 : rs_taps(ra, S->scale[a]));
        at[a] = (int32_t)words, ob[a] = (int32_t)obn;
        words += y->dims[a] * taps[a];
        obn += y->dims[a];
    }
    int32_t *off = calloc((size_t)words + 1, sizeof *off);
    double *w = calloc((size_t)words + 1, sizeof *w);
    unsigned char *oob = calloc((size_t)obn + 1, 1);
    int any_oob = 0;
    for (int a = 0; off && w && oob && a < x->rank; a++) {
        int i = S->ax_of[a];
        double r0 = ra->coord == CT_TF_CROP_AND_RESIZE && i >= 0 ? S->roi[i] : 0.0;
        double r1 = ra->coord == CT_TF_CROP_AND_RESIZE && i >= 0 ? S->roi[S->naxes + i] : 1.0;
        rs_axis_fill(ra, ra->up, taps[a], x->dims[a], y->dims[a], S->scale[a], xs[a], r0, r1, off + at[a], w + at[a],
                     oob + ob[a]);
    }
    for (int64_t i = 0; oob && i < obn; i++) any_oob |= oob[i];
    if (off && w && oob) {
        decl_i32s(c, k, "offs", off, words > 0 ? words : 1);
        if (kind) {
            text_buf_printf(&c->decl, "static const double n%d_w[%lld] = {", k, (long long)(words > 0 ? words : 1));
            for (int64_t i = 0; i < (words > 0 ? words : 1); i++)
                text_buf_printf(&c->decl, "%s%a%s", i % 6 == 0 ? "\n    " : "", w[i], i + 1 < words ? ", " : "");
            text_buf_printf(&c->decl, "\n};\n");
        }
    }
    if (off && w && oob && any_oob) {
        text_buf_printf(&c->decl, "static const unsigned char n%d_oob[%lld] = {", k, (long long)obn);
        for (int64_t i = 0; i < obn; i++)
            text_buf_printf(&c->decl, "%s%u%s", i % 24 == 0 ? "\n    " : "", oob[i], i + 1 < obn ? ", " : "");
        text_buf_printf(&c->decl, "\n};\n");
        unsigned char eb[16] = {0};
        RtTensor tmp = {x->dtype, 0, {0}, eb};
        rt_set_f64(&tmp, 0, rt_attr_float(n, "extrapolation_value", 0.0f));
        text_buf_printf(&c->decl, "static const unsigned char n%d_ext[%d] = {", k, (int)rt_dtype_size(x->dtype));
        for (size_t i = 0; i < rt_dtype_size(x->dtype); i++) text_buf_printf(&c->decl, "%s%u", i ? ", " : "", eb[i]);
        text_buf_printf(&c->decl, "};\n");
    }
    int r = off && w && oob ? any_oob : -1;
    free(off), free(w), free(oob);
    return r;
}

/* Resize (every mode, coordinate mode, nearest mode, antialias, axes, keep_aspect_ratio_policy;
 * opset 10: scales input 1) and Upsample: tables here, k_tensor_resize at run time. nearest
 * copies any dtype; linear and cubic take float32 or float64. */
int ect_resize(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *y = yval(c, n);
    const char *ct;
    RT_TRY(ctype_of(c, k, x, "X", &ct));
    RsAttrs ra;
    RT_TRY(rs_attrs_read(c, k, n, &ra));
    int kind = ra.mode == RS_NEAREST ? 0 : x->dtype == RT_F32 ? 1 : 2, rank = x->rank;
    if (ra.mode != RS_NEAREST && x->dtype != RT_F32 && x->dtype != RT_F64)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "linear and cubic %s take float32 or float64 X in emit-c",
                       ra.up ? "Upsample" : "Resize");
    RsScales S;
    RT_TRY(rs_scales_read(c, k, n, &ra, x, &S));
    if (rt_numel(y) == 0) return RT_OK;
    if (rt_numel(y) > INT32_MAX || rt_numel(x) > INT32_MAX)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "tensors above 2^31 elements are not emitted");
    int32_t taps[RT_MAX_RANK + 1] = {1}, at[RT_MAX_RANK + 1] = {0}, ob[RT_MAX_RANK + 1] = {0},
                               dims[RT_MAX_RANK + 1] = {1};
    int any_oob = rs_tables_emit(c, k, n, &ra, &S, x, y, kind, taps, at, ob);
    if (any_oob < 0) return rt_error_set(c->err, "out of memory");
    for (int a = 0; a < rank; a++) dims[a] = (int32_t)y->dims[a];
    decl_i32s(c, k, "dims", dims, rank > 0 ? rank : 1);
    decl_i32s(c, k, "taps", taps, rank > 0 ? rank : 1);
    decl_i32s(c, k, "at", at, rank > 0 ? rank : 1);
    decl_i32s(c, k, "ob", ob, rank > 0 ? rank : 1);
    char p0[96], py[96], wn[32] = "NULL", on[32] = "NULL", en[32] = "NULL";
    if (kind) snprintf(wn, sizeof wn, "n%d_w", k);
    if (any_oob) snprintf(on, sizeof on, "n%d_oob", k), snprintf(en, sizeof en, "n%d_ext", k);
    ec_tpl_use(c, "k_tensor_resize");
    text_buf_printf(
        &c->body,
        "    wk_tensor_resize(%s, %s, %lld, %d, %d, %d, n%d_dims, n%d_taps, n%d_at, n%d_offs, %s, n%d_ob, %s, %s);\n",
        P(c, n, 0, p0), Y(c, n, py), (long long)rt_numel(y), (int)rt_dtype_size(x->dtype), kind, rank, k, k, k, k, wn,
        k, on, en);
    return RT_OK;
}

/* ---------------------------------------------------------------- GridSample */

/* The taps of one GridSample point: ntap^k (linear 2, cubic 4, nearest 1 per axis), or -1. */
int64_t ect_gs_corners(const RtNode *n, int rank, int *mode) {
    const char *ms = rt_attr_str(n, "mode", n->opset >= 20 ? "linear" : "bilinear");
    *mode = (strcmp(ms, "bilinear") == 0 || strcmp(ms, "linear") == 0) ? 0
        : strcmp(ms, "nearest") == 0                                   ? 1
        : (strcmp(ms, "bicubic") == 0 || strcmp(ms, "cubic") == 0)     ? 2
                                                                       : -1;
    int64_t cn = 1;
    for (int i = 0; i < rank - 2; i++) cn *= *mode == 0 ? 2 : *mode == 2 ? 4 : 1;
    return *mode < 0 ? -1 : cn;
}

/* GridSample, float32 or float64 X and grid, any spatial rank up to 6 (cubic up to 3), opsets
 * 16 and 20 (mode names of both accepted, as the runtime does). */
int ect_grid_sample(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *g = vin(c, n, 1), *y = yval(c, n);
    if (!x || !g || (x->dtype != RT_F32 && x->dtype != RT_F64) || (g->dtype != RT_F32 && g->dtype != RT_F64))
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "X and grid must be float32 or float64 for emit-c");
    int ks = x->rank - 2;
    if (ks < 1 || ks > 6 || g->rank != ks + 2 || g->dims[ks + 1] != ks)
        return ec_fail(c, k, RT_ERR, "X and grid do not fit");
    int mode;
    int64_t corners = ect_gs_corners(n, x->rank, &mode);
    if (mode < 0) return ec_fail(c, k, RT_ERR, "attribute mode '%s' is not known", rt_attr_str(n, "mode", ""));
    if (mode == 2 && ks > 3) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "cubic GridSample on %d spatial axes", ks);
    const char *ps = rt_attr_str(n, "padding_mode", "zeros");
    int pad = strcmp(ps, "zeros") == 0 ? 0 : strcmp(ps, "border") == 0 ? 1 : strcmp(ps, "reflection") == 0 ? 2 : -1;
    if (pad < 0) return ec_fail(c, k, RT_ERR, "attribute padding_mode '%s' is not known", ps);
    if (rt_numel(y) == 0) return RT_OK;
    if (rt_numel(x) > INT32_MAX || rt_numel(y) > INT32_MAX)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "tensors above 2^31 elements are not emitted");
    if (rt_shape_numel(ks, x->dims + 2) == 0) return ec_fail(c, k, RT_ERR, "input X has an empty spatial axis");
    int32_t sd[8];
    for (int i = 0; i < ks; i++) sd[i] = (int32_t)x->dims[2 + i];
    decl_i32s(c, k, "sd", sd, ks);
    char p0[96], p1[96], py[96];
    int64_t off = c->scratch_off[k];
    ec_tpl_use(c, "k_tensor_gridsample");
    text_buf_printf(
        &c->body,
        "    wk_tensor_gridsample(%s, %d, %s, %d, %s, %lld, %lld, %d, n%d_sd, %lld, %d, %d, %d,\n"
        "                         (int32_t *)(void *)(A + %lld), (double *)(void *)(A + %lld));\n",
        P(c, n, 0, p0), x->dtype == RT_F64, P(c, n, 1, p1), g->dtype == RT_F64, Y(c, n, py), (long long)x->dims[0], (long long)x->dims[1], ks, k,
        (long long)rt_shape_numel(ks, y->dims + 2), mode, pad, (int)rt_attr_int(n, "align_corners", 0),
        (long long)(off + 8 * corners), (long long)off);
    return RT_OK;
}

/* ---------------------------------------------------------------- RoiAlign */

/* RoiAlign, float32 or float64 X and rois (one type), opsets 10 (output_half_pixel) and 16
 * (half_pixel default). */
int ect_roi_align(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *rois = vin(c, n, 1), *bi = vin(c, n, 2);
    if (!x || !rois || (x->dtype != RT_F32 && x->dtype != RT_F64) || rois->dtype != x->dtype)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "X and rois must both be float32 or both float64 for emit-c");
    if (!bi || (bi->dtype != RT_I64 && bi->dtype != RT_I32))
        return ec_fail(c, k, RT_ERR, "input batch_indices must be int64 or int32");
    if (x->rank != 4 || rois->rank != 2 || rois->dims[1] != 4)
        return ec_fail(c, k, RT_ERR, "X must be 4-D and rois [R, 4]");
    const char *ms = rt_attr_str(n, "mode", "avg");
    int is_max = strcmp(ms, "max") == 0;
    if (!is_max && strcmp(ms, "avg") != 0) return ec_fail(c, k, RT_ERR, "attribute mode '%s' is not avg or max", ms);
    const char *cs = rt_attr_str(n, "coordinate_transformation_mode",
                                 n->opset > 0 && n->opset < 16 ? "output_half_pixel" : "half_pixel");
    int half = strcmp(cs, "half_pixel") == 0;
    if (!half && strcmp(cs, "output_half_pixel") != 0)
        return ec_fail(c, k, RT_ERR, "attribute coordinate_transformation_mode '%s' is not known", cs);
    int64_t oh = rt_attr_int(n, "output_height", 1), ow = rt_attr_int(n, "output_width", 1),
            sr = rt_attr_int(n, "sampling_ratio", 0);
    if (oh < 1 || ow < 1 || sr < 0)
        return ec_fail(c, k, RT_ERR, "output_height, output_width must be >= 1 and sampling_ratio >= 0");
    int64_t R = rois->dims[0];
    if (R * x->dims[1] * oh * ow == 0) return RT_OK;
    if (x->dims[2] == 0 || x->dims[3] == 0) return ec_fail(c, k, RT_ERR, "input X is empty");
    char p0[96], p1[96], p2[96], py[96];
    ec_tpl_use(c, "k_tensor_roialign");
    text_buf_printf(
        &c->body,
        "    if (wk_tensor_roialign(%s, %s, %d, %s, %d, %s, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %a,\n"
        "                           %d, %d, (double *)(void *)(A + %lld)))\n"
        "        return 1; /* a batch index out of range */\n",
        P(c, n, 0, p0), P(c, n, 1, p1), x->dtype == RT_F64, P(c, n, 2, p2), bi->dtype == RT_I64, Y(c, n, py),
        (long long)x->dims[0], (long long)x->dims[1], (long long)x->dims[2], (long long)x->dims[3], (long long)R,
        (long long)oh, (long long)ow, (long long)sr, (double)rt_attr_float(n, "spatial_scale", 1.0f), half, is_max,
        (long long)c->scratch_off[k]);
    return RT_OK;
}
