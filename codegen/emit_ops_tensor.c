/*
 * emit_ops_tensor.c — emit-c's emitters for data movement (Slice, Split, Pad, Tile, Expand,
 * DepthToSpace, SpaceToDepth, Resize, Upsample, gathers and scatters...), Gemm and
 * ConvTranspose. (Table ec_ops_tensor, searched by ec_node_emit after emit_ops.c's.)
 *
 * Each emitter mirrors the runtime's reference kernel (runtime/kernels/ref/: linalg.c,
 * conv.c, gather_slice.c, shape_ops.c, resize_pad.c, misc_ops.c, scatter_gather_nd.c):
 * everything that depends only on shapes and attributes (slice origins, pad index maps,
 * resize taps and weights, conv-transpose pads) is computed here at emit time with the
 * runtime's formulas and written as static const tables, so the C only moves bytes or sums.
 *
 *   strided views   Slice, Expand, Tile, DepthToSpace, SpaceToDepth are one strided gather
 *                   each: y[i] = x[base + sum q[d] * st[d]] over y (or a finer view of y:
 *                   Tile as [rep0, d0, rep1, d1...] with stride 0 on the rep axes, the
 *                   depth/space ops as the spec's 6-D reshape-transpose), copied by
 *                   k_tensor_strided (contiguous runs as one memcpy).
 *   typed loops     Gemm and ConvTranspose are written inline in NAME_run with the element
 *                   type substituted (float and double accumulate in their type; integer
 *                   Gemm wraps in 64 bits as the runtime does).
 *   templates       k_tensor_strided, k_tensor_pad (per-axis index maps), k_tensor_resize
 *                   (per-axis taps), k_tensor_topk, k_tensor_gridsample, k_tensor_roialign,
 *                   b0_tensor_walk (gather/scatter offsets).
 *
 * Shapes come from c->val (the runtime's shape inference), so an output's size is never
 * recomputed here; attributes and constant inputs (kin) give the rest. Anything not covered
 * fails with ec_fail naming the op and what is missing.
 */
#include "emit_ops_common.h"

/* ---------------------------------------------------------------- helpers */

/* The element type of t, or a failure naming what. */
static int ctype_of(EcCtx *c, int k, const RtTensor *t, const char *what, const char **ct) {
    *ct = t ? ec_ctype(t->dtype) : NULL;
    if (!t) return ec_fail(c, k, RT_ERR, "input %s is required", what);
    if (!*ct) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "%s has dtype %s, which emit-c has no C type for", what, rt_dtype_name(t->dtype));
    return RT_OK;
}

/* Reads a 1-D integer list: the constant input j, else attribute name (when attr_ok).
 * Returns the count, -2 when absent, -1 after ec_fail. */
static int ints_read(EcCtx *c, int k, const RtNode *n, int j, const char *name, int attr_ok, int64_t *v, int max) {
    if (j >= 0 && j < n->n_in && n->in[j] >= 0) {
        const RtTensor *t = kin(c, n, j);
        if (!t) {
            ec_fail(c, k, RT_ERR_UNSUPPORTED,
                    "input '%s' must be a constant for emit-c (give it with --freeze-input NAME=FILE.npy)", name);
            return -1;
        }
        if (t->dtype != RT_I64 && t->dtype != RT_I32) {
            ec_fail(c, k, RT_ERR, "input '%s' must be int32 or int64", name);
            return -1;
        }
        int64_t cnt = rt_numel(t);
        if (cnt > max) {
            ec_fail(c, k, RT_ERR, "input '%s' has %lld values, more than %d", name, (long long)cnt, max);
            return -1;
        }
        for (int64_t i = 0; i < cnt; i++) v[i] = rt_get_i64(t, i);
        return (int)cnt;
    }
    if (!attr_ok) return -2;
    const int64_t *a;
    int cnt = rt_attr_ints(n, name, &a);
    if (cnt < 0) return -2;
    if (cnt > max) {
        ec_fail(c, k, RT_ERR, "attribute '%s' has %d values, more than %d", name, cnt, max);
        return -1;
    }
    for (int i = 0; i < cnt; i++) v[i] = a[i];
    return cnt;
}

static void strides_of(int rank, const int64_t *dims, int64_t *st) {
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) st[i] = s, s *= dims[i];
}

static int64_t clampi(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Node k's output as the strided view y[i] = x[base + sum q[d] * st[d]], q = i in the mixed
 * radix of dims[rank] (the output's elements in order): wk_tensor_strided, after dropping
 * 1-long axes and merging axes that are contiguous in x as well (d and d + 1 merge when
 * st[d] = st[d + 1] * dims[d + 1]). */
static int strided_emit(EcCtx *c, int k, const RtNode *n, int64_t base, int rank, const int64_t *dims, const int64_t *st) {
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
    text_buf_printf(&c->body,
                    "    wk_tensor_strided((const unsigned char *)%s + (size_t)%lld * %d, (unsigned char *)%s, %d, n%d_dims, n%d_st, %d);\n",
                    P(c, n, 0, p0), (long long)base, (int)rt_dtype_size(x->dtype), Y(c, n, py), r, k, k, (int)rt_dtype_size(x->dtype));
    return RT_OK;
}

/* ---------------------------------------------------------------- Slice, Expand, Tile */

/* Slice (runtime's k_slice): starts/ends/axes/steps from constant inputs (opset >= 10) or
 * attributes; each axis clamped as the spec says, negative steps walk backwards. */
static int e_slice(EcCtx *c, int k, const RtNode *n) {
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
        if (cnt[i] >= 0 && cnt[i] != cnt[0]) return ec_fail(c, k, RT_ERR, "'%s' has %d values but 'starts' has %d", names[i], cnt[i], cnt[0]);
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
static int e_expand(EcCtx *c, int k, const RtNode *n) {
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
static int e_tile(EcCtx *c, int k, const RtNode *n) {
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
static int e_depth_space(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0);
    if (!x || x->rank != 4) return ec_fail(c, k, RT_ERR, "input must have rank 4 (N, C, H, W)");
    int64_t b = rt_attr_int(n, "blocksize", 0);
    if (b < 1) return ec_fail(c, k, RT_ERR, "attribute blocksize = %lld must be >= 1", (long long)b);
    int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
    int64_t d[6], s[6];
    if (n->op == RT_OP_DEPTH_TO_SPACE) {
        const char *mode = rt_attr_str(n, "mode", "DCR");
        int crd = strcmp(mode, "CRD") == 0;
        if (!crd && strcmp(mode, "DCR") != 0) return ec_fail(c, k, RT_ERR, "attribute mode '%s' is not DCR or CRD", mode);
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

/* Split: output i is rows [at, at + size_i) of every outer row (sizes from the outputs'
 * inferred shapes, which the runtime made from split / num_outputs). */
static int e_split(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0);
    const char *ct;
    RT_TRY(ctype_of(c, k, x, "input", &ct));
    if (x->rank == 0) return ec_fail(c, k, RT_ERR, "input must have rank >= 1");
    int64_t ax = rt_attr_int(n, "axis", 0);
    if (ax < 0) ax += x->rank;
    if (ax < 0 || ax >= x->rank) return ec_fail(c, k, RT_ERR, "attribute axis is out of range");
    int64_t es = (int64_t)rt_dtype_size(x->dtype), outer = rt_shape_numel((int)ax, x->dims);
    int64_t inner = rt_shape_numel(x->rank - (int)ax - 1, x->dims + ax + 1), row = x->dims[ax] * inner * es, at = 0;
    char p0[96], py[96];
    P(c, n, 0, p0);
    for (int i = 0; i < n->n_out; i++) {
        if (n->out[i] < 0) continue;
        const RtTensor *y = &c->val[n->out[i]];
        int64_t run = y->dims[ax] * inner * es;
        if (run > 0 && outer > 0)
            text_buf_printf(&c->body,
                            "    {\n        int32_t o;\n        for (o = 0; o < %lld; o++)\n"
                            "            memcpy((unsigned char *)%s + (size_t)o * %lld, (const unsigned char *)%s + (size_t)o * %lld + "
                            "%lld, %lld);\n    }\n",
                            (long long)outer, ec_ptr(c, n->out[i], 0, py, sizeof py), (long long)run, p0, (long long)row,
                            (long long)at, (long long)run);
        at += run;
    }
    return RT_OK;
}

/* ---------------------------------------------------------------- Pad */

enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP };

/* Output index -> input index along one axis of size `size` padded by (pb, pe); -1 = the
 * constant (the runtime's pad_axis_map: negative pads crop first; reflect is periodic with
 * period 2 (m - 1)). */
static int pad_axis_map(EcCtx *c, int k, int mode, int axis, int64_t size, int64_t pb, int64_t pe, int32_t *map, int64_t out) {
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
        if (m <= 0) return ec_fail(c, k, RT_ERR, "cannot pad axis %d in this mode: no elements left after cropping", axis);
        j = r - lo;
        if (mode == PAD_EDGE) j = j < 0 ? 0 : m - 1;
        else if (mode == PAD_WRAP) j = ((j % m) + m) % m;
        else if (m == 1) j = 0;
        else {
            j = ((j % (2 * (m - 1))) + 2 * (m - 1)) % (2 * (m - 1));
            if (j >= m) j = 2 * (m - 1) - j;
        }
        map[o] = (int32_t)(lo + j);
    }
    return RT_OK;
}

static int e_pad(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *y = yval(c, n);
    const char *ct;
    RT_TRY(ctype_of(c, k, x, "input data", &ct));
    const char *ms = rt_attr_str(n, "mode", "constant");
    int mode = strcmp(ms, "constant") == 0 ? PAD_CONSTANT : strcmp(ms, "reflect") == 0 ? PAD_REFLECT
             : strcmp(ms, "edge") == 0 ? PAD_EDGE : strcmp(ms, "wrap") == 0 ? PAD_WRAP : -1;
    if (mode < 0) return ec_fail(c, k, RT_ERR, "attribute mode '%s' is not constant, reflect, edge or wrap", ms);
    int rank = x->rank, old = n->opset > 0 && n->opset < 11;
    int64_t pb[RT_MAX_RANK] = {0}, pe[RT_MAX_RANK] = {0}, p[2 * RT_MAX_RANK], ax[RT_MAX_RANK];
    int np = ints_read(c, k, n, old ? -1 : 1, "pads", old, p, 2 * RT_MAX_RANK);
    if (np == -1) return RT_ERR;
    int na = old ? -2 : ints_read(c, k, n, 3, "axes", 0, ax, RT_MAX_RANK);
    if (na == -1) return RT_ERR;
    if (na == -2) {
        na = rank;
        for (int i = 0; i < rank; i++) ax[i] = i;
    }
    if (np != 2 * na) return ec_fail(c, k, RT_ERR, "pads has %d values; expected %d", np, 2 * na);
    for (int i = 0; i < na; i++) {
        int64_t a = ax[i] < 0 ? ax[i] + rank : ax[i];
        if (a < 0 || a >= rank) return ec_fail(c, k, RT_ERR, "axes value %lld is out of range", (long long)ax[i]);
        pb[a] = p[i];
        pe[a] = p[na + i];
    }
    int64_t es = (int64_t)rt_dtype_size(x->dtype);
    if (rt_numel(y) == 0) {
        text_buf_printf(&c->body, "    /* node %d: empty output */\n", k);
        return RT_OK;
    }
    /* the pad value: one element of x's type */
    char fill[160];
    unsigned char fb[16] = {0};
    const RtTensor *cv = old ? NULL : vin(c, n, 2);
    if (cv && rt_numel(cv) > 0 && !kin(c, n, 2)) {
        if (cv->dtype != x->dtype) return ec_fail(c, k, RT_ERR, "input constant_value's dtype differs from data's");
        char pv[96];
        snprintf(fill, sizeof fill, "(const unsigned char *)%s", P(c, n, 2, pv));
    } else {
        const RtTensor *kv = old ? NULL : kin(c, n, 2);
        if (kv && rt_numel(kv) > 0) {
            if (kv->dtype != x->dtype) return ec_fail(c, k, RT_ERR, "input constant_value's dtype differs from data's");
            memcpy(fb, kv->data, (size_t)es);
        } else if (old) {
            RtTensor tmp = {x->dtype, 0, {0}, fb};
            rt_set_f64(&tmp, 0, rt_attr_float(n, "value", 0.0f));
        }
        text_buf_printf(&c->decl, "static const unsigned char n%d_fill[%lld] = {", k, (long long)es);
        for (int64_t i = 0; i < es; i++) text_buf_printf(&c->decl, "%s%u", i ? ", " : "", (unsigned)fb[i]);
        text_buf_printf(&c->decl, "};\n");
        snprintf(fill, sizeof fill, "n%d_fill", k);
    }
    int64_t total = 0, xs[RT_MAX_RANK];
    int32_t at[RT_MAX_RANK + 1] = {0}, d[RT_MAX_RANK + 1] = {1}, s[RT_MAX_RANK + 1] = {0};
    for (int i = 0; i < rank; i++) at[i] = (int32_t)total, total += y->dims[i];
    int32_t *maps = calloc((size_t)total + 1, sizeof *maps);
    if (!maps) return rt_error_set(c->err, "out of memory");
    int r = RT_OK;
    for (int i = 0; r == RT_OK && i < rank; i++) r = pad_axis_map(c, k, mode, i, x->dims[i], pb[i], pe[i], maps + at[i], y->dims[i]);
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
                    "    wk_tensor_pad((const unsigned char *)%s, (unsigned char *)%s, %lld, %d, %d, n%d_dims, n%d_st, n%d_at, "
                    "n%d_maps, %s);\n",
                    P(c, n, 0, p0), Y(c, n, py), (long long)rt_numel(y), (int)es, rank, k, k, k, k, fill);
    return RT_OK;
}

/* ---------------------------------------------------------------- Gemm */

/* Gemm: Y = alpha op(A) op(B) + beta C, C broadcast to [M, N] (runtime's k_gemm). float and
 * double accumulate in their type; integers in 64-bit wrapping arithmetic, exact when alpha
 * = 1 and (no C or beta = 1), else through double with the runtime's saturation. */
static int e_gemm(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *a = vin(c, n, 0), *b = vin(c, n, 1), *cc = vin(c, n, 2), *y = yval(c, n);
    const char *ct;
    RT_TRY(ctype_of(c, k, a, "A", &ct));
    if (!b || b->dtype != a->dtype || (cc && cc->dtype != a->dtype))
        return ec_fail(c, k, RT_ERR, "inputs must share one dtype");
    if (a->rank != 2 || b->rank != 2) return ec_fail(c, k, RT_ERR, "inputs A and B must be 2-D");
    if (a->dtype == RT_BOOL) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "bool Gemm is not supported");
    int ta = rt_attr_int(n, "transA", 0) != 0, tb = rt_attr_int(n, "transB", 0) != 0;
    int64_t M = y->dims[0], N = y->dims[1], K = a->dims[!ta], lda = a->dims[1], ldb = b->dims[1];
    float alpha = rt_attr_float(n, "alpha", 1.0f), beta = rt_attr_float(n, "beta", 1.0f);
    int use_c = cc && beta != 0.0f;
    int64_t cs0 = 0, cs1 = 0;
    if (use_c) {
        int64_t dims[2] = {M, N}, s = 1, st[2] = {0, 0};
        for (int i = 1; i >= 0; i--) {
            int ic = i - (2 - cc->rank);
            int64_t d = ic >= 0 ? cc->dims[ic] : 1;
            if (d != 1 && d != dims[i]) return ec_fail(c, k, RT_ERR, "input C does not broadcast to [M, N]");
            st[i] = d == 1 ? 0 : s;
            s *= d;
        }
        cs0 = st[0], cs1 = st[1];
    }
    if (rt_numel(y) == 0) {
        text_buf_printf(&c->body, "    /* node %d: empty output */\n", k);
        return RT_OK;
    }
    char p0[96], p1[96], p2[96], py[96], al[64], be[64];
    int fl = a->dtype == RT_F32 || a->dtype == RT_F64, dbl = a->dtype == RT_F64;
    if (dbl) snprintf(al, sizeof al, "%a", (double)alpha), snprintf(be, sizeof be, "%a", (double)beta);
    else ec_float_lit(al, sizeof al, alpha), ec_float_lit(be, sizeof be, beta);
    text_buf_printf(&c->body,
                    "    {\n        const %s *a = %s, *b = %s;\n        %s *y = %s;\n        int32_t m, j, q;\n", ct,
                    P(c, n, 0, p0), P(c, n, 1, p1), ct, Y(c, n, py));
    if (use_c) text_buf_printf(&c->body, "        const %s *cc = %s;\n", ct, P(c, n, 2, p2));
    text_buf_printf(&c->body, "        for (m = 0; m < %lld; m++)\n            for (j = 0; j < %lld; j++) {\n", (long long)M,
                    (long long)N);
    char ia[96], ib[96], ic[96];
    snprintf(ia, sizeof ia, ta ? "(size_t)q * %lld + m" : "(size_t)m * %lld + q", (long long)lda);
    snprintf(ib, sizeof ib, tb ? "(size_t)j * %lld + q" : "(size_t)q * %lld + j", (long long)ldb);
    snprintf(ic, sizeof ic, "cc[(size_t)m * %lld + (size_t)j * %lld]", (long long)cs0, (long long)cs1);
    if (fl) {
        text_buf_printf(&c->body,
                        "                %s acc = 0;\n                for (q = 0; q < %lld; q++) acc += a[%s] * b[%s];\n"
                        "                y[(size_t)m * %lld + j] = %s * acc%s%s%s%s;\n            }\n    }\n",
                        ct, (long long)K, ia, ib, (long long)N, al, use_c ? " + " : "", use_c ? be : "", use_c ? " * " : "",
                        use_c ? ic : "");
        return RT_OK;
    }
    const char *ut = rt_dtype_size(a->dtype) == 8 ? "uint64_t" : rt_dtype_size(a->dtype) == 4 ? "uint32_t"
                   : rt_dtype_size(a->dtype) == 2 ? "uint16_t" : "uint8_t";
    text_buf_printf(&c->body,
                    "                uint64_t acc = 0;\n                for (q = 0; q < %lld; q++) acc += (uint64_t)(int64_t)a[%s] * "
                    "(uint64_t)(int64_t)b[%s];\n",
                    (long long)K, ia, ib);
    if (alpha == 1.0f && (!use_c || beta == 1.0f)) {
        text_buf_printf(&c->body, "                y[(size_t)m * %lld + j] = (%s)(%s)(acc%s%s%s);\n            }\n    }\n",
                        (long long)N, ct, ut, use_c ? " + (uint64_t)(int64_t)" : "", use_c ? ic : "", "");
        return RT_OK;
    }
    /* through double, saturating at the int64 range as the runtime's store_i_from_f */
    char cterm[192] = "";
    if (use_c) snprintf(cterm, sizeof cterm, " + %a * (double)(int64_t)%s", (double)beta, ic);
    text_buf_printf(&c->body,
                    "                double r = %a * (double)(int64_t)acc%s;\n"
                    "                int64_t v = r != r ? 0 : r >= 9.2e18 ? INT64_MAX : r <= -9.2e18 ? INT64_MIN : (int64_t)r;\n"
                    "                y[(size_t)m * %lld + j] = (%s)(%s)(uint64_t)v;\n            }\n    }\n",
                    (double)alpha, cterm, (long long)N, ct, ut);
    return RT_OK;
}

/* ---------------------------------------------------------------- ConvTranspose */

/* ConvTranspose (runtime's conv.c, convt_geom): 1-D to 3-D, normalized to [D, H, W]. Each
 * input element adds x * w into the output positions its kernel taps reach:
 * o = i * stride - pad0 + t * dilation. pad0 per axis from pads, or from output_shape /
 * auto_pad SAME (the total padding's odd unit at the end for SAME_UPPER), 0 for VALID. */
static int e_conv_transpose(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *w = vin(c, n, 1), *b = vin(c, n, 2), *y = yval(c, n);
    const char *ct;
    RT_TRY(ctype_of(c, k, x, "X", &ct));
    if (x->dtype != RT_F32 && x->dtype != RT_F64) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "X must be float32 or float64");
    if (!w || w->dtype != x->dtype || (b && b->dtype != x->dtype)) return ec_fail(c, k, RT_ERR, "W and B must have X's dtype");
    int nsp = x->rank - 2;
    if (nsp < 1 || nsp > 3 || w->rank != x->rank) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "emit-c's ConvTranspose takes 1-D to 3-D");
    int64_t group = rt_attr_int(n, "group", 1), N = x->dims[0], C = x->dims[1], Mg = w->dims[1], M = Mg * group;
    if (group < 1 || C % group) return ec_fail(c, k, RT_ERR, "channels %lld are not divisible by group %lld", (long long)C, (long long)group);
    int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, kk[3] = {1, 1, 1}, st[3] = {1, 1, 1}, dl[3] = {1, 1, 1}, p0[3] = {0, 0, 0};
    const char *ap = rt_attr_str(n, "auto_pad", "NOTSET");
    int same_upper = strcmp(ap, "SAME_UPPER") == 0, same_lower = strcmp(ap, "SAME_LOWER") == 0, valid = strcmp(ap, "VALID") == 0;
    const int64_t *oshape;
    int nos = rt_attr_ints(n, "output_shape", &oshape);
    if (nos == nsp + 2) oshape += 2;
    else if (nos >= 0 && nos != nsp) return ec_fail(c, k, RT_ERR, "attribute output_shape has %d values", nos);
    for (int i = 0; i < nsp; i++) {
        int a = 3 - nsp + i;
        in[a] = x->dims[2 + i], out[a] = y->dims[2 + i], kk[a] = w->dims[2 + i];
        st[a] = attr_at(n, "strides", i, 1), dl[a] = attr_at(n, "dilations", i, 1);
        p0[a] = valid ? 0 : attr_at(n, "pads", i, 0);
        if (nos >= 0 || same_upper || same_lower) {
            int64_t full = st[a] * (in[a] - 1) + attr_at(n, "output_padding", i, 0) + (kk[a] - 1) * dl[a] + 1;
            int64_t want = nos >= 0 ? oshape[i] : in[a] * st[a], total = full - want;
            int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
            p0[a] = same_upper ? half : total - half;
        }
    }
    if (rt_numel(y) == 0) {
        text_buf_printf(&c->body, "    /* node %d: empty output */\n", k);
        return RT_OK;
    }
    int64_t Cg = C / group, K = kk[0] * kk[1] * kk[2], Pn = out[0] * out[1] * out[2], Pin = in[0] * in[1] * in[2];
    char px[96], pw[96], pb[96], py[96];
    text_buf_printf(&c->body,
                    "    {\n        const %s *x = %s, *w = %s;\n        %s *y = %s;\n"
                    "        int32_t im, g, ci, co, i0, i1, i2, t0, t1, t2, o0, o1, o2, p;\n",
                    ct, P(c, n, 0, px), P(c, n, 1, pw), ct, Y(c, n, py));
    if (b) text_buf_printf(&c->body, "        const %s *bias = %s;\n", ct, P(c, n, 2, pb));
    text_buf_printf(&c->body,
                    "        for (im = 0; im < %lld; im++)\n            for (co = 0; co < %lld; co++)\n"
                    "                for (p = 0; p < %lld; p++) y[((size_t)im * %lld + co) * %lld + p] = %s;\n",
                    (long long)N, (long long)M, (long long)Pn, (long long)M, (long long)Pn, b ? "bias[co]" : "0");
    text_buf_printf(&c->body,
                    "        for (im = 0; im < %lld; im++)\n"
                    "            for (g = 0; g < %lld; g++)\n"
                    "                for (ci = g * %lld; ci < (g + 1) * %lld; ci++)\n"
                    "                    for (i0 = 0; i0 < %lld; i0++)\n"
                    "                        for (i1 = 0; i1 < %lld; i1++)\n"
                    "                            for (i2 = 0; i2 < %lld; i2++) {\n"
                    "                                %s v = x[((size_t)im * %lld + ci) * %lld + ((size_t)i0 * %lld + i1) * %lld + i2];\n"
                    "                                for (co = 0; co < %lld; co++) {\n"
                    "                                    const %s *wk = w + ((size_t)ci * %lld + co) * %lld;\n"
                    "                                    %s *yo = y + ((size_t)im * %lld + g * %lld + co) * %lld;\n",
                    (long long)N, (long long)group, (long long)Cg, (long long)Cg, (long long)in[0], (long long)in[1],
                    (long long)in[2], ct, (long long)C, (long long)Pin, (long long)in[1], (long long)in[2], (long long)Mg, ct,
                    (long long)Mg, (long long)K, ct, (long long)M, (long long)Mg, (long long)Pn);
    text_buf_printf(&c->body,
                    "                                    for (t0 = 0; t0 < %lld; t0++) {\n"
                    "                                        o0 = i0 * %lld - %lld + t0 * %lld;\n"
                    "                                        if (o0 < 0 || o0 >= %lld) continue;\n"
                    "                                        for (t1 = 0; t1 < %lld; t1++) {\n"
                    "                                            o1 = i1 * %lld - %lld + t1 * %lld;\n"
                    "                                            if (o1 < 0 || o1 >= %lld) continue;\n"
                    "                                            for (t2 = 0; t2 < %lld; t2++) {\n"
                    "                                                o2 = i2 * %lld - %lld + t2 * %lld;\n"
                    "                                                if (o2 < 0 || o2 >= %lld) continue;\n"
                    "                                                yo[((size_t)o0 * %lld + o1) * %lld + o2] += v * wk[(t0 * %lld + t1) * %lld + t2];\n"
                    "                                            }\n                                        }\n"
                    "                                    }\n                                }\n                            }\n    }\n",
                    (long long)kk[0], (long long)st[0], (long long)p0[0], (long long)dl[0], (long long)out[0],
                    (long long)kk[1], (long long)st[1], (long long)p0[1], (long long)dl[1], (long long)out[1],
                    (long long)kk[2], (long long)st[2], (long long)p0[2], (long long)dl[2], (long long)out[2],
                    (long long)out[1], (long long)out[2], (long long)kk[1], (long long)kk[2]);
    return RT_OK;
}

/* ---------------------------------------------------------------- Resize, Upsample */

enum { RS_NEAREST, RS_LINEAR, RS_CUBIC };
enum { CT_HALF_PIXEL, CT_HALF_PIXEL_SYMMETRIC, CT_PYTORCH_HALF_PIXEL, CT_ALIGN_CORNERS, CT_ASYMMETRIC,
       CT_TF_HALF_PIXEL_FOR_NN, CT_TF_CROP_AND_RESIZE };
enum { NM_ROUND_PREFER_FLOOR, NM_ROUND_PREFER_CEIL, NM_FLOOR, NM_CEIL, NM_SIMPLE, NM_UPSAMPLE };

typedef struct {
    int mode, coord, nearest, exclude_outside, antialias;
    double cubic_a;
} RsAttrs;

static int str_pick(const char *s, const char *const *names, int n) {
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

/* The runtime's resize_coord: input coordinate of output index o along one axis. */
static double rs_coord(const RsAttrs *ra, int64_t o, int64_t in, int64_t out, double scale, double r0, double r1) {
    double len = scale * (double)in, x = (double)o;
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
    case NM_ROUND_PREFER_FLOOR: return (int64_t)f + (r > 0.5);
    case NM_ROUND_PREFER_CEIL: return (int64_t)f + (r >= 0.5);
    case NM_FLOOR: return (int64_t)f;
    case NM_CEIL: return (int64_t)f + 1;
    default: return (int64_t)f + (scale < 1.0); /* opset 10: ceil when downscaling */
    }
}

/* One axis's table (the runtime's resize_axis_fill; Upsample's linear as 2 taps on a
 * coordinate clamped to in - 1). off/w at [o * T + t], oob at [o]. */
static void rs_axis_fill(const RsAttrs *ra, int upsample, int64_t T, int64_t in, int64_t out, double scale, int64_t stride,
                         double r0, double r1, int32_t *off, double *w, unsigned char *oob) {
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
        ec_fail(c, k, RT_ERR_UNSUPPORTED, "input '%s' must be a constant for emit-c (give it with --freeze-input NAME=FILE.npy)", name);
        return -1;
    }
    if (rt_numel(t) > max) {
        ec_fail(c, k, RT_ERR, "input '%s' has too many values", name);
        return -1;
    }
    for (int64_t i = 0; i < rt_numel(t); i++) v[i] = rt_get_f64(t, i);
    return (int)rt_numel(t);
}

/* Resize (opset 10: scales input 1, asymmetric, nearest floor/ceil) and Upsample. */
static int e_resize(EcCtx *c, int k, const RtNode *n) {
    static const char *const modes[] = {"nearest", "linear", "cubic"};
    static const char *const coords[] = {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
                                         "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize"};
    static const char *const nearests[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    const RtTensor *x = vin(c, n, 0), *y = yval(c, n);
    const char *ct;
    RT_TRY(ctype_of(c, k, x, "X", &ct));
    int up = n->op == RT_OP_UPSAMPLE, old = up || (n->opset > 0 && n->opset < 11), rank = x->rank;
    RsAttrs ra;
    memset(&ra, 0, sizeof ra);
    const char *m = rt_attr_str(n, "mode", "nearest");
    ra.mode = str_pick(m, modes, up ? 2 : 3);
    if (ra.mode < 0) return ec_fail(c, k, RT_ERR, "attribute mode '%s' is not supported", m);
    ra.coord = old ? CT_ASYMMETRIC : str_pick(rt_attr_str(n, "coordinate_transformation_mode", "half_pixel"), coords, 7);
    ra.nearest = up ? NM_UPSAMPLE : old ? NM_SIMPLE : str_pick(rt_attr_str(n, "nearest_mode", "round_prefer_floor"), nearests, 4);
    if (ra.coord < 0 || ra.nearest < 0) return ec_fail(c, k, RT_ERR, "coordinate_transformation_mode or nearest_mode is not known");
    ra.cubic_a = rt_attr_float(n, "cubic_coeff_a", -0.75f);
    ra.exclude_outside = rt_attr_int(n, "exclude_outside", 0) != 0;
    ra.antialias = rt_attr_int(n, "antialias", 0) != 0;
    int kind = ra.mode == RS_NEAREST ? 0 : x->dtype == RT_F32 ? 1 : 2;
    if (ra.mode != RS_NEAREST && x->dtype != RT_F32 && x->dtype != RT_F64)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "linear and cubic %s take float32 or float64 X in emit-c", up ? "Upsample" : "Resize");
    /* per-axis scales, as the runtime's resize_shape / upsample_scales */
    double scale[RT_MAX_RANK], sv[RT_MAX_RANK], roi[2 * RT_MAX_RANK];
    int64_t szv[RT_MAX_RANK];
    int ax_of[RT_MAX_RANK], naxes = rank;
    for (int a = 0; a < rank; a++) ax_of[a] = a, scale[a] = 1.0;
    const int64_t *axv;
    int na = up || old ? -1 : rt_attr_ints(n, "axes", &axv);
    if (na >= 0) {
        for (int a = 0; a < rank; a++) ax_of[a] = -1;
        for (int i = 0; i < na; i++) {
            int64_t a = axv[i] < 0 ? axv[i] + rank : axv[i];
            if (a < 0 || a >= rank) return ec_fail(c, k, RT_ERR, "attribute axes is out of range");
            ax_of[a] = i;
        }
        naxes = na;
    }
    int ns = -2, nz = -2;
    if (up && n->opset < 9 && !(n->n_in > 1 && n->in[1] >= 0)) {
        const RtAttr *sa = rt_attr(n, "scales");
        if (!sa || sa->type != RT_ATTR_FLOATS || sa->n != rank) return ec_fail(c, k, RT_ERR, "attribute scales must have %d floats", rank);
        for (int i = 0; i < rank; i++) sv[i] = sa->floats[i];
        ns = rank;
    } else {
        ns = floats_read(c, k, n, old ? 1 : 2, "scales", sv, RT_MAX_RANK);
        if (ns == -1) return RT_ERR;
        if (!old) {
            nz = ints_read(c, k, n, 3, "sizes", 0, szv, RT_MAX_RANK);
            if (nz == -1) return RT_ERR;
            if (nz == 0) nz = -2;
        }
    }
    if (ns < 0 && nz < 0) return ec_fail(c, k, RT_ERR, "one of scales and sizes must be given");
    if ((ns >= 0 ? ns : nz) != naxes) return ec_fail(c, k, RT_ERR, "scales/sizes must have %d values", naxes);
    for (int a = 0; a < rank; a++) {
        if (ax_of[a] < 0) continue;
        if (ns >= 0) scale[a] = sv[ax_of[a]];
        else scale[a] = x->dims[a] > 0 ? (double)szv[ax_of[a]] / (double)x->dims[a] : 1.0;
        if (!(scale[a] > 0)) return ec_fail(c, k, RT_ERR, "scale %g must be > 0", scale[a]);
    }
    const char *policy = rt_attr_str(n, "keep_aspect_ratio_policy", "stretch");
    if (ns < 0 && !old && strcmp(policy, "stretch") != 0) {
        int larger = strcmp(policy, "not_smaller") == 0;
        double s = larger ? 0.0 : HUGE_VAL;
        for (int a = 0; a < rank; a++)
            if (ax_of[a] >= 0) s = larger ? fmax(s, scale[a]) : fmin(s, scale[a]);
        for (int a = 0; a < rank; a++)
            if (ax_of[a] >= 0) scale[a] = s;
    }
    if (ra.coord == CT_TF_CROP_AND_RESIZE) {
        int nr = floats_read(c, k, n, 1, "roi", roi, 2 * RT_MAX_RANK);
        if (nr == -1) return RT_ERR;
        if (nr != 2 * naxes) return ec_fail(c, k, RT_ERR, "tf_crop_and_resize needs roi with %d values", 2 * naxes);
    }
    if (rt_numel(y) == 0) {
        text_buf_printf(&c->body, "    /* node %d: empty output */\n", k);
        return RT_OK;
    }
    if (rt_numel(y) > INT32_MAX || rt_numel(x) > INT32_MAX)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "tensors above 2^31 elements are not emitted");
    /* the tables */
    int64_t xs[RT_MAX_RANK], T[RT_MAX_RANK], words = 0, obn = 0;
    int32_t taps[RT_MAX_RANK + 1] = {1}, at[RT_MAX_RANK + 1] = {0}, ob[RT_MAX_RANK + 1] = {0}, dims[RT_MAX_RANK + 1] = {1};
    strides_of(rank, x->dims, xs);
    for (int a = 0; a < rank; a++) {
        T[a] = up && ra.mode == RS_LINEAR ? 2 : rs_taps(&ra, scale[a]);
        taps[a] = (int32_t)T[a], at[a] = (int32_t)words, ob[a] = (int32_t)obn, dims[a] = (int32_t)y->dims[a];
        words += y->dims[a] * T[a];
        obn += y->dims[a];
    }
    int32_t *off = calloc((size_t)words + 1, sizeof *off);
    double *w = calloc((size_t)words + 1, sizeof *w);
    unsigned char *oob = calloc((size_t)obn + 1, 1);
    if (!off || !w || !oob) {
        free(off), free(w), free(oob);
        return rt_error_set(c->err, "out of memory");
    }
    int any_oob = 0;
    for (int a = 0; a < rank; a++) {
        double r0 = 0.0, r1 = 1.0;
        if (ra.coord == CT_TF_CROP_AND_RESIZE && ax_of[a] >= 0) r0 = roi[ax_of[a]], r1 = roi[naxes + ax_of[a]];
        rs_axis_fill(&ra, up, T[a], x->dims[a], y->dims[a], scale[a], xs[a], r0, r1, off + at[a], w + at[a], oob + ob[a]);
    }
    for (int64_t i = 0; i < obn; i++) any_oob |= oob[i];
    decl_i32s(c, k, "offs", off, words > 0 ? words : 1);
    if (kind) {
        text_buf_printf(&c->decl, "static const double n%d_w[%lld] = {", k, (long long)(words > 0 ? words : 1));
        for (int64_t i = 0; i < (words > 0 ? words : 1); i++)
            text_buf_printf(&c->decl, "%s%a%s", i % 6 == 0 ? "\n    " : "", w[i], i + 1 < words ? ", " : "");
        text_buf_printf(&c->decl, "\n};\n");
    }
    if (any_oob) {
        text_buf_printf(&c->decl, "static const unsigned char n%d_oob[%lld] = {", k, (long long)obn);
        for (int64_t i = 0; i < obn; i++) text_buf_printf(&c->decl, "%s%u%s", i % 24 == 0 ? "\n    " : "", oob[i], i + 1 < obn ? ", " : "");
        text_buf_printf(&c->decl, "\n};\n");
        unsigned char eb[16] = {0};
        RtTensor tmp = {x->dtype, 0, {0}, eb};
        rt_set_f64(&tmp, 0, rt_attr_float(n, "extrapolation_value", 0.0f));
        text_buf_printf(&c->decl, "static const unsigned char n%d_ext[%d] = {", k, (int)rt_dtype_size(x->dtype));
        for (size_t i = 0; i < rt_dtype_size(x->dtype); i++) text_buf_printf(&c->decl, "%s%u", i ? ", " : "", eb[i]);
        text_buf_printf(&c->decl, "};\n");
    }
    free(off), free(w), free(oob);
    decl_i32s(c, k, "dims", dims, rank > 0 ? rank : 1);
    decl_i32s(c, k, "taps", taps, rank > 0 ? rank : 1);
    decl_i32s(c, k, "at", at, rank > 0 ? rank : 1);
    decl_i32s(c, k, "ob", ob, rank > 0 ? rank : 1);
    char p0[96], py[96], wn[32] = "NULL", on[32] = "NULL", en[32] = "NULL";
    if (kind) snprintf(wn, sizeof wn, "n%d_w", k);
    if (any_oob) snprintf(on, sizeof on, "n%d_oob", k), snprintf(en, sizeof en, "n%d_ext", k);
    ec_tpl_use(c, "k_tensor_resize");
    text_buf_printf(&c->body, "    wk_tensor_resize(%s, %s, %lld, %d, %d, %d, n%d_dims, n%d_taps, n%d_at, n%d_offs, %s, n%d_ob, %s, %s);\n",
                    P(c, n, 0, p0), Y(c, n, py), (long long)rt_numel(y), (int)rt_dtype_size(x->dtype), kind, rank, k, k, k, k,
                    wn, k, on, en);
    return RT_OK;
}

/* ---------------------------------------------------------------- gathers and scatters */

enum { RED_NONE, RED_ADD, RED_MUL, RED_MAX, RED_MIN };

/* The reduction attribute (ScatterND, ScatterElements from opset 16). */
static int reduction_read(EcCtx *c, int k, const RtNode *n, const RtTensor *x, int *red) {
    static const char *const names[] = {"none", "add", "mul", "max", "min"};
    const char *s = rt_attr_str(n, "reduction", "none");
    *red = n->op == RT_OP_SCATTER ? RED_NONE : str_pick(s, names, 5);
    if (*red < 0) return ec_fail(c, k, RT_ERR, "attribute reduction '%s' is not none, add, mul, max or min", s);
    if (*red != RED_NONE && x->dtype == RT_BOOL) return ec_fail(c, k, RT_ERR, "reduction '%s' needs numeric data", s);
    return RT_OK;
}

/* The statement `dst (red)= src` for element type ct (the runtime's reduce_run: floats
 * directly, integers wrapping in 64 bits then truncated to the type). */
static void reduction_stmt(char *buf, size_t n, int red, RtDtype t, const char *dst, const char *src) {
    const char *ct = ec_ctype(t);
    int fl = t == RT_F32 || t == RT_F64;
    const char *ut = rt_dtype_size(t) == 8 ? "uint64_t" : rt_dtype_size(t) == 4 ? "uint32_t" : rt_dtype_size(t) == 2 ? "uint16_t" : "uint8_t";
    switch (red) {
    case RED_NONE: snprintf(buf, n, "%s = %s;", dst, src); break;
    case RED_ADD:
    case RED_MUL:
        if (fl) snprintf(buf, n, "%s = %s %s %s;", dst, dst, red == RED_ADD ? "+" : "*", src);
        else snprintf(buf, n, "%s = (%s)(%s)((uint64_t)%s %s (uint64_t)%s);", dst, ct, ut, dst, red == RED_ADD ? "+" : "*", src);
        break;
    default: snprintf(buf, n, "%s = %s %s %s ? %s : %s;", dst, dst, red == RED_MAX ? ">" : "<", src, dst, src); break;
    }
}

/* Index tensor checks: int32 or int64 (ct set), every value in [-dim, dim) checked in C
 * (NAME_run returns 1 before writing anything otherwise). */
static int index_type(EcCtx *c, int k, const RtTensor *ind, const char **ct) {
    *ct = "int64_t";
    if (!ind || (ind->dtype != RT_I64 && ind->dtype != RT_I32)) return ec_fail(c, k, RT_ERR, "input indices must be int32 or int64");
    *ct = ec_ctype(ind->dtype);
    return RT_OK;
}

/* GatherElements, ScatterElements (and Scatter): y has indices' shape (gather) or data's
 * (scatter); position p of indices reads/writes data at its own coordinates with the axis
 * one replaced by the index. */
static int e_elements(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *ind = vin(c, n, 1), *upd = vin(c, n, 2), *y = yval(c, n);
    const char *ct = NULL, *it = NULL;
    RT_TRY(ctype_of(c, k, x, "data", &ct));
    RT_TRY(index_type(c, k, ind, &it));
    int gather = n->op == RT_OP_GATHER_ELEMENTS, red = RED_NONE, r = x->rank;
    if (!gather) {
        if (!upd || upd->dtype != x->dtype || !rt_shape_equal(upd, ind)) return ec_fail(c, k, RT_ERR, "updates must have data's dtype and indices' shape");
        RT_TRY(reduction_read(c, k, n, x, &red));
    }
    if (r < 1 || ind->rank != r) return ec_fail(c, k, RT_ERR, "indices must have data's rank (>= 1)");
    int64_t axis = rt_attr_int(n, "axis", 0);
    if (axis < 0) axis += r;
    if (axis < 0 || axis >= r) return ec_fail(c, k, RT_ERR, "attribute axis is out of range");
    if (rt_numel(x) > INT32_MAX || rt_numel(ind) > INT32_MAX) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "tensors above 2^31 elements are not emitted");
    int64_t xs[RT_MAX_RANK];
    int32_t d[RT_MAX_RANK], s[RT_MAX_RANK];
    strides_of(r, x->dims, xs);
    for (int i = 0; i < r; i++) d[i] = (int32_t)ind->dims[i], s[i] = (int32_t)xs[i];
    decl_i32s(c, k, "dims", d, r);
    decl_i32s(c, k, "xs", s, r);
    ec_tpl_use(c, "b0_tensor_walk");
    char p0[96], p1[96], p2[96], py[96], stmt[256];
    int64_t total = rt_numel(ind), dim = x->dims[axis];
    text_buf_printf(&c->body,
                    "    {\n        const %s *x = %s;\n        const %s *ind = %s;\n        %s *y = %s;\n        int32_t p, o;\n"
                    "        int64_t v;\n        for (p = 0; p < %lld; p++)\n            if (ind[p] < -%lld || ind[p] >= %lld) return 1; /* index out of range */\n",
                    ct, P(c, n, 0, p0), it, P(c, n, 1, p1), ct, Y(c, n, py), (long long)total, (long long)dim, (long long)dim);
    if (gather) {
        text_buf_printf(&c->body,
                        "        for (p = 0; p < %lld; p++) {\n            v = ind[p] < 0 ? ind[p] + %lld : ind[p];\n"
                        "            o = wk_tensor_walk(p, %d, n%d_dims, n%d_xs, %d) + (int32_t)v * %lld;\n            y[p] = x[o];\n        }\n"
                        "        (void)o;\n    }\n",
                        (long long)total, (long long)dim, r, k, k, (int)axis, (long long)xs[axis]);
        (void)y;
        return RT_OK;
    }
    reduction_stmt(stmt, sizeof stmt, red, x->dtype, "y[o]", "u[p]");
    text_buf_printf(&c->body,
                    "        const %s *u = %s;\n        memcpy(y, x, %lld);\n        for (p = 0; p < %lld; p++) {\n"
                    "            v = ind[p] < 0 ? ind[p] + %lld : ind[p];\n"
                    "            o = wk_tensor_walk(p, %d, n%d_dims, n%d_xs, %d) + (int32_t)v * %lld;\n            %s\n        }\n    }\n",
                    ct, P(c, n, 2, p2), (long long)rt_nbytes(x), (long long)total, (long long)dim, r, k, k, (int)axis,
                    (long long)xs[axis], stmt);
    return RT_OK;
}

/* GatherND (batch_dims) and ScatterND (reduction): index tuples of kk values address slices
 * of data (within a batch for GatherND). */
static int e_nd(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *ind = vin(c, n, 1), *upd = vin(c, n, 2);
    const char *ct = NULL, *it = NULL;
    RT_TRY(ctype_of(c, k, x, "data", &ct));
    RT_TRY(index_type(c, k, ind, &it));
    int gather = n->op == RT_OP_GATHER_ND, red = RED_NONE, r = x->rank, q = ind->rank;
    int64_t b = gather ? rt_attr_int(n, "batch_dims", 0) : 0;
    if (!gather) {
        if (!upd || upd->dtype != x->dtype) return ec_fail(c, k, RT_ERR, "updates must have data's dtype");
        RT_TRY(reduction_read(c, k, n, x, &red));
    }
    if (r < 1 || q < 1 || b < 0 || b >= (r < q ? r : q)) return ec_fail(c, k, RT_ERR, "ranks or batch_dims do not fit");
    int64_t kk = ind->dims[q - 1];
    if (kk < 1 || kk > r - b) return ec_fail(c, k, RT_ERR, "the last dimension of indices (%lld) does not fit data", (long long)kk);
    if (rt_numel(x) > INT32_MAX || rt_numel(ind) > INT32_MAX) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "tensors above 2^31 elements are not emitted");
    int64_t xs[RT_MAX_RANK];
    strides_of(r, x->dims, xs);
    int64_t nbatch = rt_shape_numel((int)b, x->dims), per_batch = rt_shape_numel(q - 1 - (int)b, ind->dims + b);
    int64_t slab = b > 0 ? xs[b - 1] : rt_numel(x), slice = rt_shape_numel(r - (int)b - (int)kk, x->dims + b + kk);
    int32_t dd[RT_MAX_RANK], ss[RT_MAX_RANK];
    for (int i = 0; i < kk; i++) dd[i] = (int32_t)x->dims[b + i], ss[i] = (int32_t)xs[b + i];
    decl_i32s(c, k, "dims", dd, kk);
    decl_i32s(c, k, "xs", ss, kk);
    char p0[96], p1[96], p2[96], py[96], stmt[256];
    int64_t ntuple = nbatch * per_batch;
    text_buf_printf(&c->body,
                    "    {\n        const %s *x = %s;\n        const %s *ind = %s;\n        %s *y = %s;\n        int32_t j, i, e, off;\n"
                    "        int64_t v;\n        for (j = 0; j < %lld; j++)\n            for (i = 0; i < %lld; i++) {\n"
                    "                v = ind[j * %lld + i];\n                if (v < -n%d_dims[i] || v >= n%d_dims[i]) return 1; /* index out of range */\n"
                    "            }\n",
                    ct, P(c, n, 0, p0), it, P(c, n, 1, p1), ct, Y(c, n, py), (long long)ntuple, (long long)kk, (long long)kk, k, k);
    const char *tuple = "            off = 0;\n            for (i = 0; i < %lld; i++) {\n                v = ind[j * %lld + i];\n"
                        "                off += (int32_t)(v < 0 ? v + n%d_dims[i] : v) * n%d_xs[i];\n            }\n";
    if (gather) {
        text_buf_printf(&c->body, "        for (j = 0; j < %lld; j++) {\n", (long long)ntuple);
        text_buf_printf(&c->body, tuple, (long long)kk, (long long)kk, k, k);
        text_buf_printf(&c->body,
                        "            off += (j / %lld) * %lld;\n            for (e = 0; e < %lld; e++) y[(size_t)j * %lld + e] = x[off + e];\n"
                        "        }\n    }\n",
                        (long long)(per_batch ? per_batch : 1), (long long)slab, (long long)slice, (long long)slice);
        return RT_OK;
    }
    reduction_stmt(stmt, sizeof stmt, red, x->dtype, "y[off + e]", "u[(size_t)j * SLICE + e]");
    char sl[32], stmt2[320];
    snprintf(sl, sizeof sl, "%lld", (long long)slice);
    /* SLICE -> the slice length */
    char *at = strstr(stmt, "SLICE");
    if (at) {
        *at = '\0';
        snprintf(stmt2, sizeof stmt2, "%s%s%s", stmt, sl, at + 5);
        at = strstr(stmt2, "SLICE");
        if (at) { /* min/max name src twice */
            char tmp[320];
            *at = '\0';
            snprintf(tmp, sizeof tmp, "%s%s%s", stmt2, sl, at + 5);
            snprintf(stmt2, sizeof stmt2, "%s", tmp);
        }
    } else {
        snprintf(stmt2, sizeof stmt2, "%s", stmt);
    }
    text_buf_printf(&c->body, "        const %s *u = %s;\n        memcpy(y, x, %lld);\n        for (j = 0; j < %lld; j++) {\n", ct,
                    P(c, n, 2, p2), (long long)rt_nbytes(x), (long long)ntuple);
    text_buf_printf(&c->body, tuple, (long long)kk, (long long)kk, k, k);
    text_buf_printf(&c->body, "            for (e = 0; e < %lld; e++) %s\n        }\n    }\n", (long long)slice, stmt2);
    return RT_OK;
}

/* ---------------------------------------------------------------- generators and masks */

/* Trilu: keeps the upper (j - i >= k) or lower (j - i <= k) triangle of each trailing
 * matrix, zero elsewhere; k a constant input (default 0). */
static int e_trilu(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0);
    const char *ct;
    RT_TRY(ctype_of(c, k, x, "input", &ct));
    if (x->rank < 2) return ec_fail(c, k, RT_ERR, "input must have rank >= 2");
    /* k: a constant, or read in C from a run-time input (one integer) */
    char kexpr[128] = "0LL", pk[96];
    if (n->n_in > 1 && n->in[1] >= 0) {
        const RtTensor *t = kin(c, n, 1), *tv = vin(c, n, 1);
        if (!tv || rt_numel(tv) != 1 || (tv->dtype != RT_I64 && tv->dtype != RT_I32)) return ec_fail(c, k, RT_ERR, "input k must be one integer");
        if (t) snprintf(kexpr, sizeof kexpr, "%lldLL", (long long)rt_get_i64(t, 0));
        else snprintf(kexpr, sizeof kexpr, "(int64_t)%s[0]", P(c, n, 1, pk));
    }
    int upper = rt_attr_int(n, "upper", 1) != 0;
    int64_t N = x->dims[x->rank - 2], M = x->dims[x->rank - 1], batch = rt_shape_numel(x->rank - 2, x->dims);
    if (rt_numel(x) == 0) return RT_OK;
    char p0[96], py[96];
    text_buf_printf(&c->body,
                    "    {\n        const %s *x = %s;\n        %s *y = %s;\n        int32_t b, i, j;\n        size_t o;\n"
                    "        for (b = 0; b < %lld; b++)\n            for (i = 0; i < %lld; i++)\n                for (j = 0; j < %lld; j++) {\n"
                    "                    o = ((size_t)b * %lld + i) * %lld + j;\n                    y[o] = (int64_t)j - i %s %s ? x[o] : (%s)0;\n"
                    "                }\n    }\n",
                    ct, P(c, n, 0, p0), ct, Y(c, n, py), (long long)batch, (long long)N, (long long)M, (long long)N, (long long)M,
                    upper ? ">=" : "<=", kexpr, ct);
    return RT_OK;
}

/* EyeLike: zeros with ones on diagonal k (positions made here), dtype attribute or x's. */
static int e_eye_like(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *y = yval(c, n);
    const char *ct;
    RT_TRY(ctype_of(c, k, y, "output", &ct));
    if (y->rank != 2) return ec_fail(c, k, RT_ERR, "input must be 2-D");
    int64_t kv = rt_attr_int(n, "k", 0), rows = y->dims[0], cols = y->dims[1], i0 = -1, i1 = -1;
    for (int64_t i = 0; i < rows; i++)
        if ((kv >= 0 && kv < cols && i < cols - kv) || (kv < 0 && i >= -kv && i + kv < cols)) {
            if (i0 < 0) i0 = i;
            i1 = i + 1;
        }
    if (rt_numel(y) == 0) return RT_OK;
    char py[96];
    text_buf_printf(&c->body, "    {\n        %s *y = %s;\n        int32_t i;\n        memset(y, 0, %lld);\n", ct, Y(c, n, py),
                    (long long)rt_nbytes(y));
    if (i0 >= 0)
        text_buf_printf(&c->body, "        for (i = %lld; i < %lld; i++) y[(size_t)i * %lld + i + %lld] = (%s)1;\n", (long long)i0,
                        (long long)i1, (long long)cols, (long long)kv, ct);
    text_buf_printf(&c->body, "        (void)i;\n    }\n");
    return RT_OK;
}

/* ConstantOfShape: y filled with the value attribute (one element; default float32 0). */
static int e_constant_of_shape(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *y = yval(c, n);
    const char *ct;
    RT_TRY(ctype_of(c, k, y, "output", &ct));
    const RtAttr *a = rt_attr(n, "value");
    unsigned char v[16] = {0};
    if (a) {
        if (a->type != RT_ATTR_TENSOR || !a->t || rt_numel(a->t) != 1 || !a->t->data) return ec_fail(c, k, RT_ERR, "attribute value must be a one-element tensor");
        memcpy(v, a->t->data, rt_dtype_size(a->t->dtype));
    }
    if (rt_numel(y) == 0) return RT_OK;
    int64_t es = (int64_t)rt_dtype_size(y->dtype);
    text_buf_printf(&c->decl, "static const unsigned char n%d_v[%lld] = {", k, (long long)es);
    for (int64_t i = 0; i < es; i++) text_buf_printf(&c->decl, "%s%u", i ? ", " : "", v[i]);
    text_buf_printf(&c->decl, "};\n");
    char py[96];
    text_buf_printf(&c->body, "    {\n        unsigned char *y = (unsigned char *)%s;\n        int32_t i;\n"
                              "        for (i = 0; i < %lld; i++) memcpy(y + (size_t)i * %lld, n%d_v, %lld);\n    }\n",
                    Y(c, n, py), (long long)rt_numel(y), (long long)es, k, (long long)es);
    return RT_OK;
}

/* Range: y[i] = start + i * delta (constants; floats in double, integers wrapping in 64 bits). */
static int e_range(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *t[3] = {kin(c, n, 0), kin(c, n, 1), kin(c, n, 2)}, *y = yval(c, n);
    const char *ct;
    RT_TRY(ctype_of(c, k, y, "output", &ct));
    if (!t[0] || !t[2]) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "start and delta must be constants for emit-c");
    if (rt_numel(y) == 0) return RT_OK;
    char py[96];
    if (y->dtype == RT_F32 || y->dtype == RT_F64)
        text_buf_printf(&c->body, "    {\n        %s *y = %s;\n        int32_t i;\n        for (i = 0; i < %lld; i++) y[i] = (%s)(%a + (double)i * %a);\n    }\n",
                        ct, Y(c, n, py), (long long)rt_numel(y), ct, rt_get_f64(t[0], 0), rt_get_f64(t[2], 0));
    else
        text_buf_printf(&c->body,
                        "    {\n        %s *y = %s;\n        int32_t i;\n"
                        "        for (i = 0; i < %lld; i++) y[i] = (%s)(%lluULL + (uint64_t)i * %lluULL);\n    }\n",
                        ct, Y(c, n, py), (long long)rt_numel(y), ct, (unsigned long long)rt_get_i64(t[0], 0),
                        (unsigned long long)rt_get_i64(t[2], 0));
    return RT_OK;
}

/* OneHot: y = indices' shape with depth inserted at axis; values[1] where the class equals
 * the index (negative ones count from depth), values[0] elsewhere. depth a constant. */
static int e_one_hot(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *ind = vin(c, n, 0), *dep = kin(c, n, 1), *val = vin(c, n, 2), *y = yval(c, n);
    const char *ct, *it;
    RT_TRY(ctype_of(c, k, ind, "indices", &it));
    RT_TRY(ctype_of(c, k, val, "values", &ct));
    if (!dep || rt_numel(dep) != 1) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "depth must be one constant value for emit-c");
    if (rt_numel(val) != 2) return ec_fail(c, k, RT_ERR, "values must have two elements");
    int64_t depth = rt_get_i64(dep, 0), axis = rt_attr_int(n, "axis", -1);
    if (axis < 0) axis += ind->rank + 1;
    if (axis < 0 || axis > ind->rank) return ec_fail(c, k, RT_ERR, "attribute axis is out of range");
    int64_t outer = rt_shape_numel((int)axis, ind->dims), inner = rt_shape_numel(ind->rank - (int)axis, ind->dims + axis);
    if (rt_numel(y) == 0) return RT_OK;
    char p0[96], p2[96], py[96];
    text_buf_printf(&c->body,
                    "    {\n        const %s *ind = %s;\n        const %s *val = %s;\n        %s *y = %s;\n        int32_t q, p;\n"
                    "        int64_t v;\n        for (p = 0; p < %lld; p++) y[p] = val[0];\n"
                    "        for (q = 0; q < %lld; q++)\n            for (p = 0; p < %lld; p++) {\n"
                    "                v = (int64_t)ind[(size_t)q * %lld + p];\n                if (v < 0) v += %lld;\n"
                    "                if (v >= 0 && v < %lld) y[((size_t)q * %lld + (size_t)v) * %lld + p] = val[1];\n            }\n    }\n",
                    it, P(c, n, 0, p0), ct, P(c, n, 2, p2), ct, Y(c, n, py), (long long)rt_numel(y), (long long)outer,
                    (long long)inner, (long long)inner, (long long)depth, (long long)depth, (long long)depth, (long long)inner);
    return RT_OK;
}

/* ReverseSequence: along time, the first sequence_lens[b] rows of batch b reversed (lens
 * checked in C: outside [0, T] makes NAME_run return 1). */
static int e_reverse_sequence(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *lens = vin(c, n, 1);
    const char *ct = NULL, *lt = NULL;
    RT_TRY(ctype_of(c, k, x, "input", &ct));
    RT_TRY(index_type(c, k, lens, &lt));
    if (x->rank < 2) return ec_fail(c, k, RT_ERR, "input must have rank >= 2");
    int64_t ba = rt_attr_int(n, "batch_axis", 1), ta = rt_attr_int(n, "time_axis", 0);
    if (!((ba == 0 && ta == 1) || (ba == 1 && ta == 0))) return ec_fail(c, k, RT_ERR, "batch_axis and time_axis must be 0 and 1");
    int64_t B = x->dims[ba], T = x->dims[ta], row = rt_shape_numel(x->rank - 2, x->dims + 2) * (int64_t)rt_dtype_size(x->dtype);
    if (rt_numel(lens) != B) return ec_fail(c, k, RT_ERR, "sequence_lens must have %lld values", (long long)B);
    if (rt_numel(x) == 0) return RT_OK;
    char p0[96], p1[96], py[96];
    text_buf_printf(&c->body,
                    "    {\n        const unsigned char *x = (const unsigned char *)%s;\n        const %s *lens = %s;\n"
                    "        unsigned char *y = (unsigned char *)%s;\n        int32_t b, t, ts;\n        int64_t L;\n"
                    "        for (b = 0; b < %lld; b++)\n            if (lens[b] < 0 || lens[b] > %lld) return 1; /* length out of range */\n"
                    "        for (b = 0; b < %lld; b++) {\n            L = lens[b];\n            for (t = 0; t < %lld; t++) {\n"
                    "                ts = t < L ? (int32_t)L - 1 - t : t;\n",
                    P(c, n, 0, p0), lt, P(c, n, 1, p1), Y(c, n, py), (long long)B, (long long)T, (long long)B, (long long)T);
    if (ba == 0)
        text_buf_printf(&c->body, "                memcpy(y + ((size_t)b * %lld + t) * %lld, x + ((size_t)b * %lld + ts) * %lld, %lld);\n",
                        (long long)T, (long long)row, (long long)T, (long long)row, (long long)row);
    else
        text_buf_printf(&c->body, "                memcpy(y + ((size_t)t * %lld + b) * %lld, x + ((size_t)ts * %lld + b) * %lld, %lld);\n",
                        (long long)B, (long long)row, (long long)B, (long long)row, (long long)row);
    text_buf_printf(&c->body, "            }\n        }\n    }\n");
    return RT_OK;
}

/* Compress with a constant condition (the output's shape depends on it): the kept slices
 * along the axis (or of the flattened input) listed here and copied. */
static int e_compress(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *cond = kin(c, n, 1);
    const char *ct;
    RT_TRY(ctype_of(c, k, x, "input", &ct));
    if (!cond || cond->rank != 1) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "condition must be a 1-D constant for emit-c (its values set the output's shape)");
    const RtAttr *aa = rt_attr(n, "axis");
    int64_t axis = 0, outer = 1, len = rt_numel(x), inner = 1;
    if (aa) {
        axis = rt_attr_int(n, "axis", 0);
        if (axis < 0) axis += x->rank;
        if (axis < 0 || axis >= x->rank) return ec_fail(c, k, RT_ERR, "attribute axis is out of range");
        outer = rt_shape_numel((int)axis, x->dims), len = x->dims[axis], inner = rt_shape_numel(x->rank - (int)axis - 1, x->dims + axis + 1);
    }
    int64_t nc = rt_numel(cond), kept = 0;
    int32_t *keep = calloc((size_t)nc + 1, sizeof *keep);
    if (!keep) return rt_error_set(c->err, "out of memory");
    for (int64_t i = 0; i < nc && i < len; i++)
        if (rt_get_i64(cond, i) != 0) keep[kept++] = (int32_t)i;
    if (kept > 0) decl_i32s(c, k, "keep", keep, kept);
    free(keep);
    int64_t row = inner * (int64_t)rt_dtype_size(x->dtype);
    if (kept == 0 || row == 0 || outer == 0) return RT_OK;
    char p0[96], py[96];
    text_buf_printf(&c->body,
                    "    {\n        const unsigned char *x = (const unsigned char *)%s;\n        unsigned char *y = (unsigned char *)%s;\n"
                    "        int32_t q, i;\n        for (q = 0; q < %lld; q++)\n            for (i = 0; i < %lld; i++)\n"
                    "                memcpy(y + ((size_t)q * %lld + i) * %lld, x + ((size_t)q * %lld + n%d_keep[i]) * %lld, %lld);\n    }\n",
                    P(c, n, 0, p0), Y(c, n, py), (long long)outer, (long long)kept, (long long)kept, (long long)row, (long long)len, k,
                    (long long)row, (long long)row);
    return RT_OK;
}

/* ---------------------------------------------------------------- TopK */

/* TopK's axis view and k (constant input K, or attribute k before opset 10). */
static int topk_geom(const EcCtx *c, const RtNode *n, int64_t *outer, int64_t *len, int64_t *inner, int64_t *kk) {
    const RtTensor *x = &c->val[n->in[0]];
    int64_t axis = rt_attr_int(n, "axis", -1);
    if (axis < 0) axis += x->rank;
    if (x->rank < 1 || axis < 0 || axis >= x->rank) return -1;
    *outer = rt_shape_numel((int)axis, x->dims), *len = x->dims[axis], *inner = rt_shape_numel(x->rank - (int)axis - 1, x->dims + axis + 1);
    *kk = c->val[n->out[0] >= 0 ? n->out[0] : n->out[1]].dims[axis];
    return 0;
}

static int e_topk(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0);
    const char *ct;
    RT_TRY(ctype_of(c, k, x, "X", &ct));
    int64_t outer, len, inner, kk;
    if (topk_geom(c, n, &outer, &len, &inner, &kk) < 0) return ec_fail(c, k, RT_ERR, "attribute axis is out of range");
    if (rt_numel(x) > INT32_MAX) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "tensors above 2^31 elements are not emitted");
    int largest = rt_attr_int(n, "largest", 1) != 0, fl = x->dtype == RT_F32 || x->dtype == RT_F64;
    /* the order: NaN counts as the largest value (the runtime's topk_before) */
    text_buf_printf(&c->decl, "static int n%d_before(const unsigned char *xb, int32_t a, int32_t b) {\n"
                              "    const %s *x = (const %s *)(const void *)xb;\n", k, ct, ct);
    if (fl)
        text_buf_printf(&c->decl, "    int an = x[a] != x[a], bn = x[b] != x[b];\n    if (an || bn) return %s;\n", largest ? "an && !bn" : "!an && bn");
    text_buf_printf(&c->decl, "    return x[a] %s x[b];\n}\n", largest ? ">" : "<");
    if (outer * inner * kk == 0) return RT_OK;
    char p0[96], py[96], pi[96];
    const char *yv = n->out[0] >= 0 ? ec_ptr(c, n->out[0], 0, py, sizeof py) : "NULL";
    const char *yi = n->n_out > 1 && n->out[1] >= 0 ? ec_ptr(c, n->out[1], 0, pi, sizeof pi) : "NULL";
    int64_t off = c->scratch_off[k];
    ec_tpl_use(c, "k_tensor_topk");
    text_buf_printf(&c->body,
                    "    wk_tensor_topk((const unsigned char *)%s, (unsigned char *)%s, %s, %lld, %lld, %lld, %lld, %d, n%d_before, "
                    "(int32_t *)(A + %lld), (int32_t *)(A + %lld));\n",
                    P(c, n, 0, p0), yv, yi, (long long)outer, (long long)len, (long long)inner, (long long)kk,
                    (int)rt_dtype_size(x->dtype), k, (long long)off, (long long)(off + 4 * len));
    return RT_OK;
}

/* ---------------------------------------------------------------- MaxUnpool, Det, LRN */

/* MaxUnpool: y (shape from inference: output_shape or the pool's inverse) zeroed, then each
 * x element written at its flat index I (outside y: NAME_run returns 1). */
static int e_max_unpool(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *ind = vin(c, n, 1), *y = yval(c, n);
    const char *ct;
    RT_TRY(ctype_of(c, k, x, "X", &ct));
    if (!ind || ind->dtype != RT_I64 || !rt_shape_equal(ind, x)) return ec_fail(c, k, RT_ERR, "input I must be int64 of X's shape");
    char p0[96], p1[96], py[96];
    text_buf_printf(&c->body,
                    "    {\n        const %s *x = %s;\n        const int64_t *ind = %s;\n        %s *y = %s;\n        int32_t j;\n"
                    "        for (j = 0; j < %lld; j++)\n            if (ind[j] < 0 || ind[j] >= %lld) return 1; /* index outside Y */\n"
                    "        memset(y, 0, %lld);\n        for (j = 0; j < %lld; j++) y[ind[j]] = x[j];\n    }\n",
                    ct, P(c, n, 0, p0), P(c, n, 1, p1), ct, Y(c, n, py), (long long)rt_numel(x), (long long)rt_numel(y),
                    (long long)rt_nbytes(y), (long long)rt_numel(x));
    return RT_OK;
}

/* Det: Gaussian elimination with partial pivoting in double per matrix (the runtime's
 * k_det), the matrix copied into arena scratch. */
static int e_det(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0);
    const char *ct;
    RT_TRY(ctype_of(c, k, x, "X", &ct));
    if (x->dtype != RT_F32 && x->dtype != RT_F64) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "input X must be float32 or float64");
    if (x->rank < 2 || x->dims[x->rank - 1] != x->dims[x->rank - 2]) return ec_fail(c, k, RT_ERR, "input X must be [..., M, M]");
    int64_t M = x->dims[x->rank - 1], batch = rt_shape_numel(x->rank - 2, x->dims);
    if (batch == 0) return RT_OK;
    char p0[96], py[96];
    text_buf_printf(&c->body,
                    "    {\n        const %s *x = %s;\n        %s *y = %s;\n        double *a = (double *)(void *)(A + %lld), det, piv, f, t;\n"
                    "        int32_t b, i, j, q, p;\n        for (b = 0; b < %lld; b++) {\n"
                    "            for (i = 0; i < %lld; i++) a[i] = x[(size_t)b * %lld + i];\n            det = 1.0;\n"
                    "            for (q = 0; q < %lld; q++) {\n                p = q;\n"
                    "                for (i = q + 1; i < %lld; i++)\n"
                    "                    if ((a[i * %lld + q] < 0 ? -a[i * %lld + q] : a[i * %lld + q]) > (a[p * %lld + q] < 0 ? -a[p * %lld + q] : a[p * %lld + q])) p = i;\n"
                    "                if (a[p * %lld + q] == 0.0) {\n                    det = 0.0;\n                    break;\n                }\n"
                    "                if (p != q) {\n                    for (j = 0; j < %lld; j++) {\n"
                    "                        t = a[q * %lld + j];\n                        a[q * %lld + j] = a[p * %lld + j];\n                        a[p * %lld + j] = t;\n"
                    "                    }\n                    det = -det;\n                }\n"
                    "                piv = a[q * %lld + q];\n                det *= piv;\n"
                    "                for (i = q + 1; i < %lld; i++) {\n                    f = a[i * %lld + q] / piv;\n"
                    "                    for (j = q + 1; j < %lld; j++) a[i * %lld + j] -= f * a[q * %lld + j];\n                }\n"
                    "            }\n            y[b] = (%s)det;\n        }\n    }\n",
                    ct, P(c, n, 0, p0), ct, Y(c, n, py), (long long)c->scratch_off[k], (long long)batch, (long long)(M * M), (long long)(M * M),
                    (long long)M, (long long)M, (long long)M, (long long)M, (long long)M, (long long)M, (long long)M, (long long)M,
                    (long long)M, (long long)M, (long long)M, (long long)M, (long long)M, (long long)M, (long long)M, (long long)M,
                    (long long)M, (long long)M, (long long)M, (long long)M, ct);
    return RT_OK;
}

/* LRN: x / (bias + alpha / size * sum of squares over the channel window)^beta in double
 * (the runtime's k_lrn); needs pow, so refused under --no-libm. */
static int e_lrn(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0);
    const char *ct;
    RT_TRY(ctype_of(c, k, x, "X", &ct));
    if (x->dtype != RT_F32 && x->dtype != RT_F64) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "input X must be float32 or float64");
    if (x->rank < 2) return ec_fail(c, k, RT_ERR, "input X must have rank >= 2");
    if (c->o->no_libm) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "LRN needs pow from libm; not emitted with --no-libm");
    int64_t size = rt_attr_int(n, "size", 0);
    if (size < 1) return ec_fail(c, k, RT_ERR, "attribute size must be >= 1");
    double alpha = rt_attr_float(n, "alpha", 1e-4f), beta = rt_attr_float(n, "beta", 0.75f), bias = rt_attr_float(n, "bias", 1.0f);
    int64_t N = x->dims[0], C = x->dims[1], S = rt_shape_numel(x->rank - 2, x->dims + 2), lo = (size - 1) / 2, hi = size - 1 - lo;
    if (rt_numel(x) == 0) return RT_OK;
    char p0[96], py[96];
    text_buf_printf(&c->body,
                    "    {\n        const %s *x = %s;\n        %s *y = %s;\n        int32_t b, ch, p, q, c0, c1;\n        double sq, v;\n"
                    "        for (b = 0; b < %lld; b++)\n            for (ch = 0; ch < %lld; ch++)\n                for (p = 0; p < %lld; p++) {\n"
                    "                    c0 = ch - %lld < 0 ? 0 : ch - %lld;\n                    c1 = ch + %lld > %lld ? %lld : ch + %lld;\n"
                    "                    sq = 0;\n                    for (q = c0; q <= c1; q++) {\n"
                    "                        v = x[((size_t)b * %lld + q) * %lld + p];\n                        sq += v * v;\n                    }\n"
                    "                    y[((size_t)b * %lld + ch) * %lld + p] = (%s)(x[((size_t)b * %lld + ch) * %lld + p] / pow(%a + %a / %lld.0 * sq, %a));\n"
                    "                }\n    }\n",
                    ct, P(c, n, 0, p0), ct, Y(c, n, py), (long long)N, (long long)C, (long long)S, (long long)lo, (long long)lo, (long long)hi,
                    (long long)(C - 1), (long long)(C - 1), (long long)hi, (long long)C, (long long)S, (long long)C, (long long)S,
                    ct, (long long)C, (long long)S, bias, alpha, (long long)size, beta);
    return RT_OK;
}

/* ---------------------------------------------------------------- GridSample */

/* The taps of one GridSample point: ntap^k (linear 2, cubic 4, nearest 1 per axis), or -1. */
static int64_t gs_corners(const RtNode *n, int rank, int *mode) {
    const char *ms = rt_attr_str(n, "mode", n->opset >= 20 ? "linear" : "bilinear");
    *mode = (strcmp(ms, "bilinear") == 0 || strcmp(ms, "linear") == 0) ? 0 : strcmp(ms, "nearest") == 0 ? 1
          : (strcmp(ms, "bicubic") == 0 || strcmp(ms, "cubic") == 0) ? 2 : -1;
    int64_t cn = 1;
    for (int i = 0; i < rank - 2; i++) cn *= *mode == 0 ? 2 : *mode == 2 ? 4 : 1;
    return *mode < 0 ? -1 : cn;
}

/* GridSample, float32 X and grid, any spatial rank up to 6 (cubic up to 3), opsets 16 and 20
 * (mode names of both accepted, as the runtime does). */
static int e_grid_sample(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *g = vin(c, n, 1), *y = yval(c, n);
    RT_TRY(need_dtype(c, k, x, RT_F32, "input X"));
    RT_TRY(need_dtype(c, k, g, RT_F32, "input grid"));
    int ks = x->rank - 2;
    if (ks < 1 || ks > 6 || g->rank != ks + 2 || g->dims[ks + 1] != ks) return ec_fail(c, k, RT_ERR, "X and grid do not fit");
    int mode;
    int64_t corners = gs_corners(n, x->rank, &mode);
    if (mode < 0) return ec_fail(c, k, RT_ERR, "attribute mode '%s' is not known", rt_attr_str(n, "mode", ""));
    if (mode == 2 && ks > 3) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "cubic GridSample on %d spatial axes", ks);
    const char *ps = rt_attr_str(n, "padding_mode", "zeros");
    int pad = strcmp(ps, "zeros") == 0 ? 0 : strcmp(ps, "border") == 0 ? 1 : strcmp(ps, "reflection") == 0 ? 2 : -1;
    if (pad < 0) return ec_fail(c, k, RT_ERR, "attribute padding_mode '%s' is not known", ps);
    if (rt_numel(y) == 0) return RT_OK;
    if (rt_numel(x) > INT32_MAX || rt_numel(y) > INT32_MAX) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "tensors above 2^31 elements are not emitted");
    if (rt_shape_numel(ks, x->dims + 2) == 0) return ec_fail(c, k, RT_ERR, "input X has an empty spatial axis");
    int32_t sd[8];
    for (int i = 0; i < ks; i++) sd[i] = (int32_t)x->dims[2 + i];
    decl_i32s(c, k, "sd", sd, ks);
    char p0[96], p1[96], py[96];
    int64_t off = c->scratch_off[k];
    ec_tpl_use(c, "k_tensor_gridsample");
    text_buf_printf(&c->body, "    wk_tensor_gridsample(%s, %s, %s, %lld, %lld, %d, n%d_sd, %lld, %d, %d, %d, (int32_t *)(void *)(A + %lld), "
                              "(double *)(void *)(A + %lld));\n",
                    P(c, n, 0, p0), P(c, n, 1, p1), Y(c, n, py), (long long)x->dims[0], (long long)x->dims[1], ks, k,
                    (long long)rt_shape_numel(ks, y->dims + 2), mode, pad, (int)rt_attr_int(n, "align_corners", 0),
                    (long long)(off + 8 * corners), (long long)off);
    return RT_OK;
}

/* ---------------------------------------------------------------- RoiAlign */

/* RoiAlign, float32 X and rois, opsets 10 (output_half_pixel) and 16 (half_pixel default). */
static int e_roi_align(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *rois = vin(c, n, 1), *bi = vin(c, n, 2);
    RT_TRY(need_dtype(c, k, x, RT_F32, "input X"));
    RT_TRY(need_dtype(c, k, rois, RT_F32, "input rois"));
    if (!bi || (bi->dtype != RT_I64 && bi->dtype != RT_I32)) return ec_fail(c, k, RT_ERR, "input batch_indices must be int64 or int32");
    if (x->rank != 4 || rois->rank != 2 || rois->dims[1] != 4) return ec_fail(c, k, RT_ERR, "X must be 4-D and rois [R, 4]");
    const char *ms = rt_attr_str(n, "mode", "avg");
    int is_max = strcmp(ms, "max") == 0;
    if (!is_max && strcmp(ms, "avg") != 0) return ec_fail(c, k, RT_ERR, "attribute mode '%s' is not avg or max", ms);
    const char *cs = rt_attr_str(n, "coordinate_transformation_mode", n->opset > 0 && n->opset < 16 ? "output_half_pixel" : "half_pixel");
    int half = strcmp(cs, "half_pixel") == 0;
    if (!half && strcmp(cs, "output_half_pixel") != 0) return ec_fail(c, k, RT_ERR, "attribute coordinate_transformation_mode '%s' is not known", cs);
    int64_t oh = rt_attr_int(n, "output_height", 1), ow = rt_attr_int(n, "output_width", 1), sr = rt_attr_int(n, "sampling_ratio", 0);
    if (oh < 1 || ow < 1 || sr < 0) return ec_fail(c, k, RT_ERR, "output_height, output_width must be >= 1 and sampling_ratio >= 0");
    int64_t R = rois->dims[0];
    if (R * x->dims[1] * oh * ow == 0) return RT_OK;
    if (x->dims[2] == 0 || x->dims[3] == 0) return ec_fail(c, k, RT_ERR, "input X is empty");
    char p0[96], p1[96], p2[96], py[96];
    ec_tpl_use(c, "k_tensor_roialign");
    text_buf_printf(&c->body,
                    "    if (wk_tensor_roialign(%s, %s, %s%s, %s%s, %s, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %a, %d, %d, "
                    "(double *)(void *)(A + %lld)))\n        return 1; /* a batch index out of range */\n",
                    P(c, n, 0, p0), P(c, n, 1, p1), bi->dtype == RT_I64 ? "" : "NULL", bi->dtype == RT_I64 ? P(c, n, 2, p2) : "",
                    bi->dtype == RT_I32 ? "" : "NULL", bi->dtype == RT_I32 ? P(c, n, 2, p2) : "", Y(c, n, py), (long long)x->dims[0],
                    (long long)x->dims[1], (long long)x->dims[2], (long long)x->dims[3], (long long)R, (long long)oh, (long long)ow,
                    (long long)sr, (double)rt_attr_float(n, "spatial_scale", 1.0f), half, is_max, (long long)c->scratch_off[k]);
    return RT_OK;
}

/* ---------------------------------------------------------------- table */

/* Arena scratch: TopK sorts positions in two int32 arrays of the axis length; GridSample
 * keeps one point's taps; RoiAlign one bin's per-channel sums; Det one matrix in double. */
int64_t ec_scratch_tensor(const EcCtx *c, int k, const RtNode *n) {
    (void)k;
    int64_t outer, len, inner, kk;
    if (n->op == RT_OP_TOPK && n->n_in > 0 && n->in[0] >= 0 && topk_geom(c, n, &outer, &len, &inner, &kk) == 0)
        return 8 * (len > 0 ? len : 1);
    int mode;
    if (n->op == RT_OP_GRID_SAMPLE && n->n_in > 0 && n->in[0] >= 0) /* a point's taps: a double and an int32 each */
        return 12 * (gs_corners(n, c->val[n->in[0]].rank, &mode) > 0 ? gs_corners(n, c->val[n->in[0]].rank, &mode) : 1);
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
    {RT_OP_GEMM, e_gemm},
    {RT_OP_CONV_TRANSPOSE, e_conv_transpose},
    {RT_OP_SLICE, e_slice},
    {RT_OP_EXPAND, e_expand},
    {RT_OP_TILE, e_tile},
    {RT_OP_DEPTH_TO_SPACE, e_depth_space},
    {RT_OP_SPACE_TO_DEPTH, e_depth_space},
    {RT_OP_SPLIT, e_split},
    {RT_OP_PAD, e_pad},
    {RT_OP_RESIZE, e_resize},
    {RT_OP_UPSAMPLE, e_resize},
    {RT_OP_GATHER_ELEMENTS, e_elements},
    {RT_OP_SCATTER_ELEMENTS, e_elements},
    {RT_OP_SCATTER, e_elements},
    {RT_OP_GATHER_ND, e_nd},
    {RT_OP_SCATTER_ND, e_nd},
    {RT_OP_TRILU, e_trilu},
    {RT_OP_EYE_LIKE, e_eye_like},
    {RT_OP_CONSTANT_OF_SHAPE, e_constant_of_shape},
    {RT_OP_RANGE, e_range},
    {RT_OP_ONE_HOT, e_one_hot},
    {RT_OP_REVERSE_SEQUENCE, e_reverse_sequence},
    {RT_OP_COMPRESS, e_compress},
    {RT_OP_TOPK, e_topk},
    {RT_OP_MAX_UNPOOL, e_max_unpool},
    {RT_OP_DET, e_det},
    {RT_OP_LRN, e_lrn},
    {RT_OP_GRID_SAMPLE, e_grid_sample},
    {RT_OP_ROI_ALIGN, e_roi_align},
    {0, NULL},
};
