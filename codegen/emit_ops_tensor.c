/*
 * emit_ops_tensor.c — emit-c's tensor family: the op table ec_ops_tensor (searched by
 * ec_node_emit after emit_ops.c's), the arena scratch its nodes ask for, and the data
 * movement emitters; the other emitters are in emit_ops_tensor_layers.c, _resize.c and
 * _index.c (see emit_ops_tensor.h).
 *
 * Every emitter of the family mirrors the runtime's reference kernel (runtime/kernels/ref/):
 * what depends only on shapes and attributes (slice origins, pad index maps, resize taps and
 * weights, conv-transpose pads) is computed at emit time with the runtime's formulas and
 * written as static const tables, so the C only moves bytes or sums. Shapes come from c->val
 * (the runtime's shape inference), so an output's size is never recomputed; attributes and
 * constant inputs (kin) give the rest. Anything not covered fails with ec_fail naming what.
 *
 * Here:
 *   strided views   Slice, Expand, Tile, DepthToSpace, SpaceToDepth are one strided gather
 *                   each: y[i] = x[base + sum q[d] * st[d]] over y (or a finer view of y:
 *                   Tile as [rep0, d0, rep1, d1...] with stride 0 on the rep axes, the
 *                   depth/space ops as the spec's 6-D reshape-transpose), copied by
 *                   k_tensor_strided (contiguous runs as one memcpy).
 *   Split           a memcpy of each output's rows of every outer row.
 *   Pad             per-axis maps output index -> input index or -1 (the pad value), made
 *                   here for every mode, read by k_tensor_pad; CenterCropPad is such a Pad.
 */
#include "emit_ops_tensor.h"

/* Node k's output as the strided view y[i] = x[base + sum q[d] * st[d]], q = i in the mixed
 * radix of dims[rank] (the output's elements in order): wk_tensor_strided, after dropping
 * 1-long axes and merging axes that are contiguous in x as well (d and d + 1 merge when
 * st[d] = st[d + 1] * dims[d + 1]). */
static int strided_emit(EcCtx *c, int k, const RtNode *n, int64_t base, int rank, const int64_t *dims,
                        const int64_t *st) {
    const RtTensor *x = vin(c, n, 0), *y = yval(c, n);
    const char *ct;
    RT_TRY(ctype_of(c, k, x, "input", &ct));
    if (rt_numel(y) == 0) {
        text_buf_printf(&c->body, "    /* node %d: empty output */\n", k);
        return RT_OK;
    }
    if (rt_numel(y) > INT32_MAX || rt_numel(x) > INT32_MAX)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "tensors above 2^31 elements are not emitted");
    int32_t d[2 * RT_MAX_RANK] = {1}, s[2 * RT_MAX_RANK] = {1};
    int r = 0;
    for (int i = 0; i < rank; i++) {
        if (dims[i] == 1) continue;
        if (r > 0 && s[r - 1] == st[i] * dims[i]) { /* contiguous with the previous axis */
            d[r - 1] *= (int32_t)dims[i];
            s[r - 1] = (int32_t)st[i];
            continue;
        }
        d[r] = (int32_t)dims[i], s[r] = (int32_t)st[i];
        r++;
    }
    if (r == 0) r = 1, d[0] = 1, s[0] = 1; /* one element */
    decl_i32s(c, k, "dims", d, r);
    decl_i32s(c, k, "st", s, r);
    char p0[96], py[96];
    ec_tpl_use(c, "k_tensor_strided");
    text_buf_printf(
        &c->body,
        "    wk_tensor_strided((const unsigned char *)%s + (size_t)%lld * %d, (unsigned char *)%s, %d, n%d_dims,"
        " n%d_st, %d);\n",
        P(c, n, 0, p0), (long long)base, (int)rt_dtype_size(x->dtype), Y(c, n, py), r, k, k,
        (int)rt_dtype_size(x->dtype));
    return RT_OK;
}

/* ---------------------------------------------------------------- Slice, Expand, Tile */

/* Slice (runtime's k_slice): starts/ends/axes/steps from constant inputs (opset >= 10) or
 * attributes; each axis clamped as the spec says, negative steps walk backwards. */
int ect_slice(EcCtx *c, int k, const RtNode *n) {
    static const char *names[4] = {"starts", "ends", "axes", "steps"};
    const RtTensor *x = vin(c, n, 0), *y = yval(c, n);
    if (!x) return ec_fail(c, k, RT_ERR, "input data is required");
    int r = x->rank, from_inputs = n->opset >= 10 || n->n_in > 1, cnt[4];
    int64_t v[4][RT_MAX_RANK];
    for (int i = 0; i < 4; i++) {
        if (!from_inputs && i == 3) {
            cnt[i] = -2;
            continue;
        }
        cnt[i] = ints_read(c, k, n, from_inputs ? i + 1 : -1, names[i], !from_inputs, v[i], RT_MAX_RANK);
        if (cnt[i] == -1) return RT_ERR;
        if (cnt[i] == -2 && i < 2) return ec_fail(c, k, RT_ERR, "missing '%s'", names[i]);
        if (cnt[i] >= 0 && cnt[i] != cnt[0])
            return ec_fail(c, k, RT_ERR, "'%s' has %d values but 'starts' has %d", names[i], cnt[i], cnt[0]);
    }
    int64_t first[RT_MAX_RANK], steps[RT_MAX_RANK], xs[RT_MAX_RANK], dims[RT_MAX_RANK];
    for (int d = 0; d < r; d++) first[d] = 0, steps[d] = 1, dims[d] = y->dims[d];
    for (int i = 0; i < cnt[0]; i++) {
        int64_t a = cnt[2] >= 0 ? v[2][i] : i;
        if (a < 0) a += r;
        if (a < 0 || a >= r) return ec_fail(c, k, RT_ERR, "axes value %lld is out of range", (long long)v[2][i]);
        int64_t dim = x->dims[a], st = cnt[3] >= 0 ? v[3][i] : 1, s = v[0][i];
        if (st == 0) return ec_fail(c, k, RT_ERR, "'steps' value for axis %lld is 0", (long long)a);
        if (s < 0) s += dim;
        s = st > 0 ? clampi(s, 0, dim) : clampi(s, 0, dim - 1);
        first[a] = s;
        steps[a] = st;
    }
    strides_of(r, x->dims, xs);
    int64_t base = 0;
    for (int d = 0; d < r; d++) {
        if (dims[d] > 0) base += first[d] * xs[d];
        xs[d] = dims[d] > 1 ? xs[d] * steps[d] : 0; /* a 1-long axis never advances */
    }
    return strided_emit(c, k, n, base, r, dims, xs);
}

/* Expand: numpy broadcasting of x to y's shape: stride 0 along broadcast axes. */
int ect_expand(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *y = yval(c, n);
    if (!x) return ec_fail(c, k, RT_ERR, "input is required");
    int64_t st[RT_MAX_RANK], s = 1;
    for (int i = y->rank - 1; i >= 0; i--) {
        int ix = i - (y->rank - x->rank);
        int64_t dx = ix >= 0 ? x->dims[ix] : 1;
        st[i] = dx == 1 ? 0 : s;
        s *= dx;
    }
    return strided_emit(c, k, n, 0, y->rank, y->dims, st);
}

/* Tile: y's axis i of d_i * rep_i is the view [rep_i, d_i] with stride 0 on the rep axis
 * (the repeats are y's dims over x's, both from shape inference). */
int ect_tile(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *y = yval(c, n);
    if (!x) return ec_fail(c, k, RT_ERR, "input is required");
    int64_t xs[RT_MAX_RANK], vd[2 * RT_MAX_RANK], vs[2 * RT_MAX_RANK];
    strides_of(x->rank, x->dims, xs);
    for (int i = 0; i < x->rank; i++) {
        vd[2 * i] = x->dims[i] ? y->dims[i] / x->dims[i] : 0;
        vs[2 * i] = 0;
        vd[2 * i + 1] = x->dims[i];
        vs[2 * i + 1] = xs[i];
    }
    return strided_emit(c, k, n, 0, 2 * x->rank, vd, vs);
}

/* DepthToSpace (DCR reads X as [N, b, b, Co, H, W], CRD as [N, Co, b, b, H, W]) and
 * SpaceToDepth (output channel (bh * b + bw) * C + c holds X[c, oh * b + bh, ow * b + bw]):
 * the output as a 6-D view over the input. */
int ect_depth_space(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0);
    if (!x || x->rank != 4) return ec_fail(c, k, RT_ERR, "input must have rank 4 (N, C, H, W)");
    int64_t b = rt_attr_int(n, "blocksize", 0);
    if (b < 1) return ec_fail(c, k, RT_ERR, "attribute blocksize = %lld must be >= 1", (long long)b);
    int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
    int64_t d[6], s[6];
    if (n->op == RT_OP_DEPTH_TO_SPACE) {
        const char *mode = rt_attr_str(n, "mode", "DCR");
        int crd = strcmp(mode, "CRD") == 0;
        if (!crd && strcmp(mode, "DCR") != 0)
            return ec_fail(c, k, RT_ERR, "attribute mode '%s' is not DCR or CRD", mode);
        int64_t Co = C / (b * b), HW = H * W;
        /* view [N, Co, H, bh, W, bw] */
        int64_t dd[6] = {N, Co, H, b, W, b};
        int64_t ss[6] = {C * HW, crd ? b * b * HW : HW, W, crd ? b * HW : b * Co * HW, 1, crd ? HW : Co * HW};
        memcpy(d, dd, sizeof d), memcpy(s, ss, sizeof s);
    } else {
        /* view [N, bh, bw, C, oh, ow] */
        int64_t dd[6] = {N, b, b, C, H / b, W / b};
        int64_t ss[6] = {C * H * W, W, 1, H * W, b * W, b};
        memcpy(d, dd, sizeof d), memcpy(s, ss, sizeof s);
    }
    return strided_emit(c, k, n, 0, 6, d, s);
}

/* ---------------------------------------------------------------- Split */

/* The size of each Split output along the axis (the runtime's split_sizes): the split input
 * (constant) or attribute, else num_outputs (chunks of ceil(dim / num), the last smaller),
 * else equal parts. Needed for an output left unnamed, whose shape inference gives nothing. */
static int split_sizes(EcCtx *c, int k, const RtNode *n, int64_t dim, int64_t *sizes) {
    int m = n->n_out, cnt = ints_read(c, k, n, 1, "split", 1, sizes, m);
    if (cnt == -1) return RT_ERR;
    if (cnt >= 0) return cnt == m ? RT_OK : ec_fail(c, k, RT_ERR, "'split' has %d values for %d outputs", cnt, m);
    const RtAttr *no = rt_attr(n, "num_outputs");
    int64_t chunk = no ? (dim + m - 1) / m : dim / m;
    for (int i = 0; i < m; i++) {
        int64_t left = dim - (int64_t)i * chunk;
        sizes[i] = left < 0 ? 0 : left < chunk ? left : chunk;
    }
    return RT_OK;
}

/* Split: output i is rows [at, at + size_i) of every outer row of x. */
int ect_split(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0);
    const char *ct;
    RT_TRY(ctype_of(c, k, x, "input", &ct));
    if (x->rank == 0) return ec_fail(c, k, RT_ERR, "input must have rank >= 1");
    int64_t ax = rt_attr_int(n, "axis", 0);
    if (ax < 0) ax += x->rank;
    if (ax < 0 || ax >= x->rank) return ec_fail(c, k, RT_ERR, "attribute axis is out of range");
    int64_t es = (int64_t)rt_dtype_size(x->dtype), outer = rt_shape_numel((int)ax, x->dims);
    int64_t inner = rt_shape_numel(x->rank - (int)ax - 1, x->dims + ax + 1), row = x->dims[ax] * inner * es, at = 0;
    int64_t *sizes = calloc((size_t)n->n_out + 1, sizeof *sizes);
    if (!sizes) return rt_error_set(c->err, "out of memory");
    int r = split_sizes(c, k, n, x->dims[ax], sizes);
    for (int i = 0; r == RT_OK && i < n->n_out; i++) /* the inferred shapes agree (else our bug) */
        if (n->out[i] >= 0 && c->val[n->out[i]].dims[ax] != sizes[i])
            r = ec_fail(c, k, RT_ERR, "output %d: %lld rows, split sizes say %lld", i,
                        (long long)c->val[n->out[i]].dims[ax], (long long)sizes[i]);
    char p0[96], py[96];
    P(c, n, 0, p0);
    for (int i = 0; r == RT_OK && i < n->n_out; i++) {
        int64_t run = sizes[i] * inner * es;
        if (n->out[i] >= 0 && run > 0 && outer > 0)
            text_buf_printf(&c->body,
                            "    {\n        int32_t o;\n        for (o = 0; o < %lld; o++)\n"
                            "            memcpy((unsigned char *)%s + (size_t)o * %lld,\n"
                            "                   (const unsigned char *)%s + (size_t)o * %lld + %lld, %lld);\n    }\n",
                            (long long)outer, ec_ptr(c, n->out[i], 0, py, sizeof py), (long long)run, p0,
                            (long long)row, (long long)at, (long long)run);
        at += run;
    }
    free(sizes);
    return r;
}

/* ---------------------------------------------------------------- Pad */

enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP };

/* Output index -> input index along one axis of size `size` padded by (pb, pe); -1 = the
 * constant (the runtime's pad_axis_map: negative pads crop first; reflect is periodic with
 * period 2 (m - 1)). */
static int pad_axis_map(EcCtx *c, int k, int mode, int axis, int64_t size, int64_t pb, int64_t pe, int32_t *map,
                        int64_t out) {
    int64_t lo = pb < 0 ? -pb : 0, hi = size - (pe < 0 ? -pe : 0), m = hi - lo;
    for (int64_t o = 0; o < out; o++) {
        int64_t r = o - pb, j;
        if (r >= lo && r < hi) {
            map[o] = (int32_t)r;
            continue;
        }
        if (mode == PAD_CONSTANT) {
            map[o] = -1;
            continue;
        }
        if (m <= 0)
            return ec_fail(c, k, RT_ERR, "cannot pad axis %d in this mode: no elements left after cropping", axis);
        j = r - lo;
        if (mode == PAD_EDGE)
            j = j < 0 ? 0 : m - 1;
        else if (mode == PAD_WRAP)
            j = ((j % m) + m) % m;
        else if (m == 1)
            j = 0;
        else {
            j = ((j % (2 * (m - 1))) + 2 * (m - 1)) % (2 * (m - 1));
            if (j >= m) j = 2 * (m - 1) - j;
        }
        map[o] = (int32_t)(lo + j);
    }
    return RT_OK;
}

/* The pads per axis (begin pb[rank], end pe[rank]): the attribute before opset 11, else the
 * constant inputs pads and axes. */
static int pad_read(EcCtx *c, int k, const RtNode *n, int rank, int64_t *pb, int64_t *pe) {
    int old = n->opset > 0 && n->opset < 11;
    int64_t p[2 * RT_MAX_RANK], ax[RT_MAX_RANK];
    int np = ints_read(c, k, n, old ? -1 : 1, "pads", old, p, 2 * RT_MAX_RANK);
    if (np == -1) return RT_ERR;
    int na = old ? -2 : ints_read(c, k, n, 3, "axes", 0, ax, RT_MAX_RANK);
    if (na == -1) return RT_ERR;
    if (na == -2) {
        na = rank;
        for (int i = 0; i < rank; i++) ax[i] = i;
    }
    if (np != 2 * na) return ec_fail(c, k, RT_ERR, "pads has %d values; expected %d", np, 2 * na);
    for (int i = 0; i < rank; i++) pb[i] = pe[i] = 0;
    for (int i = 0; i < na; i++) {
        int64_t a = ax[i] < 0 ? ax[i] + rank : ax[i];
        if (a < 0 || a >= rank) return ec_fail(c, k, RT_ERR, "axes value %lld is out of range", (long long)ax[i]);
        pb[a] = p[i];
        pe[a] = p[na + i];
    }
    return RT_OK;
}

/* The pad value as a C expression of one element's bytes into fill: a run-time input's
 * pointer, or n<k>_fill from the constant input / the value attribute (opset < 11) / zero. */
static int pad_fill_emit(EcCtx *c, int k, const RtNode *n, const RtTensor *x, char *fill, size_t size) {
    int old = n->opset > 0 && n->opset < 11;
    size_t es = rt_dtype_size(x->dtype);
    unsigned char fb[16] = {0};
    const RtTensor *cv = old ? NULL : vin(c, n, 2), *kv = old ? NULL : kin(c, n, 2);
    if (cv && rt_numel(cv) > 0 && cv->dtype != x->dtype)
        return ec_fail(c, k, RT_ERR, "input constant_value's dtype differs from data's");
    if (cv && rt_numel(cv) > 0 && !kv) {
        char pv[96];
        snprintf(fill, size, "(const unsigned char *)%s", P(c, n, 2, pv));
        return RT_OK;
    }
    if (kv && rt_numel(kv) > 0) {
        memcpy(fb, kv->data, es);
    } else if (old) {
        RtTensor tmp = {x->dtype, 0, {0}, fb};
        rt_set_f64(&tmp, 0, rt_attr_float(n, "value", 0.0f));
    }
    text_buf_printf(&c->decl, "static const unsigned char n%d_fill[%d] = {", k, (int)es);
    for (size_t i = 0; i < es; i++) text_buf_printf(&c->decl, "%s%u", i ? ", " : "", (unsigned)fb[i]);
    text_buf_printf(&c->decl, "};\n");
    snprintf(fill, size, "n%d_fill", k);
    return RT_OK;
}

/* The pad tables (n<k>_maps: per axis, output index -> input index or -1; n<k>_at: where
 * each axis's map starts; dims, x's strides) and the k_tensor_pad call; fill is one element
 * of the pad value. */
static int pad_emit(EcCtx *c, int k, const RtNode *n, int mode, const int64_t *pb, const int64_t *pe, const char *fill) {
    const RtTensor *x = vin(c, n, 0), *y = yval(c, n);
    int rank = x->rank, r = RT_OK;
    int64_t total = 0, xs[RT_MAX_RANK];
    int32_t at[RT_MAX_RANK + 1] = {0}, d[RT_MAX_RANK + 1] = {1}, s[RT_MAX_RANK + 1] = {0};
    for (int i = 0; i < rank; i++) at[i] = (int32_t)total, total += y->dims[i];
    int32_t *maps = calloc((size_t)total + 1, sizeof *maps);
    if (!maps) return rt_error_set(c->err, "out of memory");
    for (int i = 0; r == RT_OK && i < rank; i++)
        r = pad_axis_map(c, k, mode, i, x->dims[i], pb[i], pe[i], maps + at[i], y->dims[i]);
    if (r == RT_OK) decl_i32s(c, k, "maps", maps, total > 0 ? total : 1);
    free(maps);
    RT_TRY(r);
    strides_of(rank, x->dims, xs);
    for (int i = 0; i < rank; i++) d[i] = (int32_t)y->dims[i], s[i] = (int32_t)xs[i];
    decl_i32s(c, k, "dims", d, rank > 0 ? rank : 1);
    decl_i32s(c, k, "st", s, rank > 0 ? rank : 1);
    decl_i32s(c, k, "at", at, rank > 0 ? rank : 1);
    char p0[96], py[96];
    ec_tpl_use(c, "k_tensor_pad");
    text_buf_printf(&c->body,
                    "    wk_tensor_pad((const unsigned char *)%s, (unsigned char *)%s, %lld, %d, %d, n%d_dims, n%d_st, "
                    "n%d_at, n%d_maps, %s);\n",
                    P(c, n, 0, p0), Y(c, n, py), (long long)rt_numel(y), (int)rt_dtype_size(x->dtype), rank, k, k, k, k,
                    fill);
    return RT_OK;
}

/* Pad (the runtime's k_pad): every dtype, modes constant / reflect / edge / wrap, negative
 * pads crop. */
int ect_pad(EcCtx *c, int k, const RtNode *n) {
    static const char *const modes[] = {"constant", "reflect", "edge", "wrap"}; /* PAD_* order */
    const RtTensor *x = vin(c, n, 0), *y = yval(c, n);
    const char *ct, *ms = rt_attr_str(n, "mode", "constant");
    RT_TRY(ctype_of(c, k, x, "input data", &ct));
    int mode = str_pick(ms, modes, 4);
    if (mode < 0) return ec_fail(c, k, RT_ERR, "attribute mode '%s' is not constant, reflect, edge or wrap", ms);
    int64_t pb[RT_MAX_RANK], pe[RT_MAX_RANK];
    RT_TRY(pad_read(c, k, n, x->rank, pb, pe));
    if (rt_numel(y) == 0) return RT_OK;
    char fill[160];
    RT_TRY(pad_fill_emit(c, k, n, x, fill, sizeof fill));
    return pad_emit(c, k, n, mode, pb, pe, fill);
}

/* CenterCropPad (the runtime's k_center_crop_pad): a constant Pad with zeros whose pads keep
 * the centre: output index o reads input o + off, off = floor((d - t) / 2) when cropping,
 * -floor((t - d) / 2) when padding (t = the output's size from shape inference). */
int ect_center_crop_pad(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *y = yval(c, n);
    const char *ct;
    RT_TRY(ctype_of(c, k, x, "input data", &ct));
    int64_t pb[RT_MAX_RANK], pe[RT_MAX_RANK];
    for (int a = 0; a < x->rank; a++) {
        int64_t d = x->dims[a], t = y->dims[a], off = d >= t ? (d - t) / 2 : -((t - d) / 2);
        pb[a] = -off;
        pe[a] = t - d - pb[a];
    }
    if (rt_numel(y) == 0) return RT_OK;
    text_buf_printf(&c->decl, "static const unsigned char n%d_fill[8] = {0};\n", k);
    char fill[32];
    snprintf(fill, sizeof fill, "n%d_fill", k);
    return pad_emit(c, k, n, PAD_CONSTANT, pb, pe, fill);
}

/* ---------------------------------------------------------------- table */

/* Arena scratch: TopK sorts positions in two int32 arrays of the axis length; GridSample
 * keeps one point's taps; RoiAlign one bin's per-channel sums; Det one matrix in double. */
int64_t ec_scratch_tensor(const EcCtx *c, int k, const RtNode *n) {
    (void)k;
    int64_t outer, len, inner, kk;
    if (n->op == RT_OP_TOPK && n->n_in > 0 && n->in[0] >= 0 && ect_topk_geom(c, n, &outer, &len, &inner, &kk) == 0)
        return 8 * (len > 0 ? len : 1);
    int mode;
    if (n->op == RT_OP_GRID_SAMPLE && n->n_in > 0 && n->in[0] >= 0) /* a point's taps: a double and an int32 each */
        return 12 *
            (ect_gs_corners(n, c->val[n->in[0]].rank, &mode) > 0 ? ect_gs_corners(n, c->val[n->in[0]].rank, &mode) : 1);
    if (n->op == RT_OP_ROI_ALIGN && n->n_in > 0 && n->in[0] >= 0) /* one bin's sums per channel */
        return 8 * (c->val[n->in[0]].rank == 4 && c->val[n->in[0]].dims[1] > 0 ? c->val[n->in[0]].dims[1] : 1);
    if (n->op == RT_OP_DET && n->n_in > 0 && n->in[0] >= 0) { /* one matrix in double */
        const RtTensor *x = &c->val[n->in[0]];
        int64_t M = x->rank >= 2 ? x->dims[x->rank - 1] : 0;
        return 8 * (M > 0 ? M * M : 1);
    }
    return 0;
}

const EcOpEntry ec_ops_tensor[] = {
    {RT_OP_GEMM, ect_gemm},
    {RT_OP_CONV_TRANSPOSE, ect_conv_transpose},
    {RT_OP_SLICE, ect_slice},
    {RT_OP_EXPAND, ect_expand},
    {RT_OP_TILE, ect_tile},
    {RT_OP_DEPTH_TO_SPACE, ect_depth_space},
    {RT_OP_SPACE_TO_DEPTH, ect_depth_space},
    {RT_OP_SPLIT, ect_split},
    {RT_OP_PAD, ect_pad},
    {RT_OP_CENTER_CROP_PAD, ect_center_crop_pad},
    {RT_OP_RESIZE, ect_resize},
    {RT_OP_UPSAMPLE, ect_resize},
    {RT_OP_GATHER_ELEMENTS, ect_elements},
    {RT_OP_SCATTER_ELEMENTS, ect_elements},
    {RT_OP_SCATTER, ect_elements},
    {RT_OP_GATHER_ND, ect_nd},
    {RT_OP_SCATTER_ND, ect_nd},
    {RT_OP_TRILU, ect_trilu},
    {RT_OP_EYE_LIKE, ect_eye_like},
    {RT_OP_CONSTANT_OF_SHAPE, ect_constant_of_shape},
    {RT_OP_RANGE, ect_range},
    {RT_OP_ONE_HOT, ect_one_hot},
    {RT_OP_REVERSE_SEQUENCE, ect_reverse_sequence},
    {RT_OP_COMPRESS, ect_compress},
    {RT_OP_TOPK, ect_topk},
    {RT_OP_MAX_UNPOOL, ect_max_unpool},
    {RT_OP_DET, ect_det},
    {RT_OP_LRN, ect_lrn},
    {RT_OP_GRID_SAMPLE, ect_grid_sample},
    {RT_OP_ROI_ALIGN, ect_roi_align},
    {0, NULL},
};
