/*
 * emit_ops_tensor_index.c — emit-c's index-driven ops (tensor family; the table is in
 * emit_ops_tensor.c): GatherElements, GatherND, ScatterElements / Scatter, ScatterND (with
 * reductions), TopK, and the generators and masks Trilu, EyeLike, ConstantOfShape, Range,
 * OneHot, ReverseSequence, Compress. Loops are written inline with the element types; every
 * index read at run time is checked first (out of range: NAME_run returns 1 before writing),
 * as the runtime's kernels (ref/gather_slice.c, ref/scatter_gather_nd.c, ref/shape_ops.c,
 * ref/misc_ops.c, ref/reduce.c) refuse them.
 */
#include "emit_ops_tensor.h"

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
    const char *ut = utype_of(rt_dtype_size(t));
    switch (red) {
    case RED_NONE:
        snprintf(buf, n, "%s = %s;", dst, src);
        break;
    case RED_ADD:
    case RED_MUL:
        if (fl)
            snprintf(buf, n, "%s = %s %s %s;", dst, dst, red == RED_ADD ? "+" : "*", src);
        else
            snprintf(buf, n, "%s = (%s)(%s)((uint64_t)%s %s (uint64_t)%s);", dst, ct, ut, dst,
                     red == RED_ADD ? "+" : "*", src);
        break;
    default:
        snprintf(buf, n, "%s = %s %s %s ? %s : %s;", dst, dst, red == RED_MAX ? ">" : "<", src, dst, src);
        break;
    }
}

/* Index tensor checks: int32 or int64 (ct set), every value in [-dim, dim) checked in C
 * (NAME_run returns 1 before writing anything otherwise). */
static int index_type(EcCtx *c, int k, const RtTensor *ind, const char **ct) {
    *ct = "int64_t";
    if (!ind || (ind->dtype != RT_I64 && ind->dtype != RT_I32))
        return ec_fail(c, k, RT_ERR, "input indices must be int32 or int64");
    *ct = ec_ctype(ind->dtype);
    return RT_OK;
}

/* GatherElements, ScatterElements (and Scatter): y has indices' shape (gather) or data's
 * (scatter); position p of indices reads/writes data at its own coordinates with the axis
 * one replaced by the index. */
int ect_elements(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *ind = vin(c, n, 1), *upd = vin(c, n, 2), *y = yval(c, n);
    const char *ct = NULL, *it = NULL;
    RT_TRY(ctype_of(c, k, x, "data", &ct));
    RT_TRY(index_type(c, k, ind, &it));
    int gather = n->op == RT_OP_GATHER_ELEMENTS, red = RED_NONE, r = x->rank;
    if (!gather) {
        if (!upd || upd->dtype != x->dtype || !rt_shape_equal(upd, ind))
            return ec_fail(c, k, RT_ERR, "updates must have data's dtype and indices' shape");
        RT_TRY(reduction_read(c, k, n, x, &red));
    }
    if (r < 1 || ind->rank != r) return ec_fail(c, k, RT_ERR, "indices must have data's rank (>= 1)");
    int64_t axis = rt_attr_int(n, "axis", 0);
    if (axis < 0) axis += r;
    if (axis < 0 || axis >= r) return ec_fail(c, k, RT_ERR, "attribute axis is out of range");
    if (rt_numel(x) > INT32_MAX || rt_numel(ind) > INT32_MAX)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "tensors above 2^31 elements are not emitted");
    int64_t xs[RT_MAX_RANK];
    int32_t d[RT_MAX_RANK], s[RT_MAX_RANK];
    strides_of(r, x->dims, xs);
    for (int i = 0; i < r; i++) d[i] = (int32_t)ind->dims[i], s[i] = (int32_t)xs[i];
    decl_i32s(c, k, "dims", d, r);
    decl_i32s(c, k, "xs", s, r);
    ec_tpl_use(c, "b0_tensor_walk");
    char p0[96], p1[96], p2[96], py[96], stmt[256];
    int64_t total = rt_numel(ind), dim = x->dims[axis];
    text_buf_printf(
        &c->body,
        "    {\n        const %s *x = %s;\n        const %s *ind = %s;\n        %s *y = %s;\n        int32_t p, o;\n"
        "        int64_t v;\n        for (p = 0; p < %lld; p++)\n"
        "            if (ind[p] < -%lld || ind[p] >= %lld) return 1; /* index out of range */\n",
        ct, P(c, n, 0, p0), it, P(c, n, 1, p1), ct, Y(c, n, py), (long long)total, (long long)dim, (long long)dim);
    if (gather) {
        text_buf_printf(
            &c->body,
            "        for (p = 0; p < %lld; p++) {\n            v = ind[p] < 0 ? ind[p] + %lld : ind[p];\n"
            "            o = wk_tensor_walk(p, %d, n%d_dims, n%d_xs, %d) + (int32_t)v * %lld;\n"
            "            y[p] = x[o];\n        }\n"
            "        (void)o;\n    }\n",
            (long long)total, (long long)dim, r, k, k, (int)axis, (long long)xs[axis]);
        (void)y;
        return RT_OK;
    }
    reduction_stmt(stmt, sizeof stmt, red, x->dtype, "y[o]", "u[p]");
    text_buf_printf(
        &c->body,
        "        const %s *u = %s;\n        memcpy(y, x, %lld);\n        for (p = 0; p < %lld; p++) {\n"
        "            v = ind[p] < 0 ? ind[p] + %lld : ind[p];\n"
        "            o = wk_tensor_walk(p, %d, n%d_dims, n%d_xs, %d) + (int32_t)v * %lld;\n            %s\n"
        "        }\n    }\n",
        ct, P(c, n, 2, p2), (long long)rt_nbytes(x), (long long)total, (long long)dim, r, k, k, (int)axis,
        (long long)xs[axis], stmt);
    return RT_OK;
}

/* GatherND / ScatterND geometry: kk index values per tuple address a slice of `slice`
 * elements in data (within batch j / per_batch of slab elements for GatherND). */
typedef struct {
    int64_t kk, ntuple, per_batch, slab, slice;
} NdGeom;

static int nd_geom(EcCtx *c, int k, const RtNode *n, const RtTensor *x, const RtTensor *ind, NdGeom *G) {
    int r = x->rank, q = ind->rank;
    int64_t b = n->op == RT_OP_GATHER_ND ? rt_attr_int(n, "batch_dims", 0) : 0, xs[RT_MAX_RANK];
    if (r < 1 || q < 1 || b < 0 || b >= (r < q ? r : q)) return ec_fail(c, k, RT_ERR, "ranks or batch_dims do not fit");
    G->kk = ind->dims[q - 1];
    if (G->kk < 1 || G->kk > r - b)
        return ec_fail(c, k, RT_ERR, "the last dimension of indices (%lld) does not fit data", (long long)G->kk);
    if (rt_numel(x) > INT32_MAX || rt_numel(ind) > INT32_MAX)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "tensors above 2^31 elements are not emitted");
    strides_of(r, x->dims, xs);
    G->per_batch = rt_shape_numel(q - 1 - (int)b, ind->dims + b);
    G->ntuple = rt_shape_numel((int)b, x->dims) * G->per_batch;
    G->slab = b > 0 ? xs[b - 1] : rt_numel(x);
    G->slice = rt_shape_numel(r - (int)b - (int)G->kk, x->dims + b + G->kk);
    int32_t dd[RT_MAX_RANK], ss[RT_MAX_RANK];
    for (int i = 0; i < G->kk; i++) dd[i] = (int32_t)x->dims[b + i], ss[i] = (int32_t)xs[b + i];
    decl_i32s(c, k, "dims", dd, G->kk);
    decl_i32s(c, k, "xs", ss, G->kk);
    return RT_OK;
}

/* GatherND (batch_dims) and ScatterND (reduction): every index checked, then each tuple's
 * data offset and its slice copied (gather) or reduced into the copy of data (scatter). */
int ect_nd(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *ind = vin(c, n, 1), *upd = vin(c, n, 2);
    const char *ct = NULL, *it = NULL;
    RT_TRY(ctype_of(c, k, x, "data", &ct));
    RT_TRY(index_type(c, k, ind, &it));
    int gather = n->op == RT_OP_GATHER_ND, red = RED_NONE;
    NdGeom G = {0, 0, 0, 0, 0};
    RT_TRY(nd_geom(c, k, n, x, ind, &G));
    if (!gather) {
        if (!upd || upd->dtype != x->dtype || rt_numel(upd) != G.ntuple * G.slice)
            return ec_fail(c, k, RT_ERR, "updates must have data's dtype and indices.shape[:-1] + data.shape[kk:]");
        RT_TRY(reduction_read(c, k, n, x, &red));
    }
    char p0[96], p1[96], p2[96], py[96], src[96], stmt[256];
    long long kk = (long long)G.kk, nt = (long long)G.ntuple, sl = (long long)G.slice;
    text_buf_printf(&c->body,
                    "    {\n        const %s *x = %s;\n        const %s *ind = %s;\n        %s *y = %s;\n"
                    "        int32_t j, i, e, off;\n        int64_t v;\n        for (j = 0; j < %lld; j++)\n"
                    "            for (i = 0; i < %lld; i++) {\n                v = ind[j * %lld + i];\n"
                    "                if (v < -n%d_dims[i] || v >= n%d_dims[i]) return 1; /* index out of range */\n"
                    "            }\n",
                    ct, P(c, n, 0, p0), it, P(c, n, 1, p1), ct, Y(c, n, py), nt, kk, kk, k, k);
    if (!gather)
        text_buf_printf(&c->body, "        const %s *u = %s;\n        memcpy(y, x, %lld);\n", ct, P(c, n, 2, p2),
                        (long long)rt_nbytes(x));
    text_buf_printf(
        &c->body,
        "        for (j = 0; j < %lld; j++) {\n            off = 0;\n            for (i = 0; i < %lld; i++) {\n"
        "                v = ind[j * %lld + i];\n"
        "                off += (int32_t)(v < 0 ? v + n%d_dims[i] : v) * n%d_xs[i];\n            }\n",
        nt, kk, kk, k, k);
    if (gather) {
        text_buf_printf(
            &c->body,
            "            off += (j / %lld) * %lld;\n"
            "            for (e = 0; e < %lld; e++) y[(size_t)j * %lld + e] = x[off + e];\n        }\n    }\n",
            (long long)(G.per_batch ? G.per_batch : 1), (long long)G.slab, sl, sl);
        return RT_OK;
    }
    snprintf(src, sizeof src, "u[(size_t)j * %lld + e]", sl);
    reduction_stmt(stmt, sizeof stmt, red, x->dtype, "y[off + e]", src);
    text_buf_printf(&c->body, "            for (e = 0; e < %lld; e++) %s\n        }\n    }\n", sl, stmt);
    return RT_OK;
}

/* ---------------------------------------------------------------- generators and masks */

/* Trilu: keeps the upper (j - i >= k) or lower (j - i <= k) triangle of each trailing
 * matrix, zero elsewhere; k a constant input (default 0). */
int ect_trilu(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0);
    const char *ct;
    RT_TRY(ctype_of(c, k, x, "input", &ct));
    if (x->rank < 2) return ec_fail(c, k, RT_ERR, "input must have rank >= 2");
    /* k: a constant, or read in C from a run-time input (one integer) */
    char kexpr[128] = "0LL", pk[96];
    if (n->n_in > 1 && n->in[1] >= 0) {
        const RtTensor *t = kin(c, n, 1), *tv = vin(c, n, 1);
        if (!tv || rt_numel(tv) != 1 || (tv->dtype != RT_I64 && tv->dtype != RT_I32))
            return ec_fail(c, k, RT_ERR, "input k must be one integer");
        if (t)
            snprintf(kexpr, sizeof kexpr, "%lldLL", (long long)rt_get_i64(t, 0));
        else
            snprintf(kexpr, sizeof kexpr, "(int64_t)%s[0]", P(c, n, 1, pk));
    }
    int upper = rt_attr_int(n, "upper", 1) != 0;
    int64_t N = x->dims[x->rank - 2], M = x->dims[x->rank - 1], batch = rt_shape_numel(x->rank - 2, x->dims);
    if (rt_numel(x) == 0) return RT_OK;
    char p0[96], py[96];
    text_buf_printf(
        &c->body,
        "    {\n        const %s *x = %s;\n        %s *y = %s;\n        int32_t b, i, j;\n        size_t o;\n"
        "        for (b = 0; b < %lld; b++)\n            for (i = 0; i < %lld; i++)\n"
        "                for (j = 0; j < %lld; j++) {\n"
        "                    o = ((size_t)b * %lld + i) * %lld + j;\n"
        "                    y[o] = (int64_t)j - i %s %s ? x[o] : (%s)0;\n"
        "                }\n    }\n",
        ct, P(c, n, 0, p0), ct, Y(c, n, py), (long long)batch, (long long)N, (long long)M, (long long)N, (long long)M,
        upper ? ">=" : "<=", kexpr, ct);
    return RT_OK;
}

/* EyeLike: zeros with ones on diagonal k (positions made here), dtype attribute or x's. */
int ect_eye_like(EcCtx *c, int k, const RtNode *n) {
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
    text_buf_printf(&c->body, "    {\n        %s *y = %s;\n        int32_t i;\n        memset(y, 0, %lld);\n", ct,
                    Y(c, n, py), (long long)rt_nbytes(y));
    if (i0 >= 0)
        text_buf_printf(&c->body, "        for (i = %lld; i < %lld; i++) y[(size_t)i * %lld + i + %lld] = (%s)1;\n",
                        (long long)i0, (long long)i1, (long long)cols, (long long)kv, ct);
    text_buf_printf(&c->body, "        (void)i;\n    }\n");
    return RT_OK;
}

/* ConstantOfShape: y filled with the value attribute (one element; default float32 0). */
int ect_constant_of_shape(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *y = yval(c, n);
    const char *ct;
    RT_TRY(ctype_of(c, k, y, "output", &ct));
    const RtAttr *a = rt_attr(n, "value");
    unsigned char v[16] = {0};
    if (a) {
        if (a->type != RT_ATTR_TENSOR || !a->t || rt_numel(a->t) != 1 || !a->t->data)
            return ec_fail(c, k, RT_ERR, "attribute value must be a one-element tensor");
        memcpy(v, a->t->data, rt_dtype_size(a->t->dtype));
    }
    if (rt_numel(y) == 0) return RT_OK;
    int64_t es = (int64_t)rt_dtype_size(y->dtype);
    text_buf_printf(&c->decl, "static const unsigned char n%d_v[%lld] = {", k, (long long)es);
    for (int64_t i = 0; i < es; i++) text_buf_printf(&c->decl, "%s%u", i ? ", " : "", v[i]);
    text_buf_printf(&c->decl, "};\n");
    char py[96];
    text_buf_printf(&c->body,
                    "    {\n        unsigned char *y = (unsigned char *)%s;\n        int32_t i;\n"
                    "        for (i = 0; i < %lld; i++) memcpy(y + (size_t)i * %lld, n%d_v, %lld);\n    }\n",
                    Y(c, n, py), (long long)rt_numel(y), (long long)es, k, (long long)es);
    return RT_OK;
}

/* Range: y[i] = start + i * delta (constants; floats in double, integers wrapping in 64 bits). */
int ect_range(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *t[3] = {kin(c, n, 0), kin(c, n, 1), kin(c, n, 2)}, *y = yval(c, n);
    const char *ct;
    RT_TRY(ctype_of(c, k, y, "output", &ct));
    if (!t[0] || !t[2]) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "start and delta must be constants for emit-c");
    if (rt_numel(y) == 0) return RT_OK;
    char py[96];
    if (y->dtype == RT_F32 || y->dtype == RT_F64)
        text_buf_printf(
            &c->body,
            "    {\n        %s *y = %s;\n        int32_t i;\n"
            "        for (i = 0; i < %lld; i++) y[i] = (%s)(%a + (double)i * %a);\n    }\n",
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
int ect_one_hot(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *ind = vin(c, n, 0), *dep = kin(c, n, 1), *val = vin(c, n, 2), *y = yval(c, n);
    const char *ct, *it;
    RT_TRY(ctype_of(c, k, ind, "indices", &it));
    RT_TRY(ctype_of(c, k, val, "values", &ct));
    if (!dep || rt_numel(dep) != 1)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "depth must be one constant value for emit-c");
    if (rt_numel(val) != 2) return ec_fail(c, k, RT_ERR, "values must have two elements");
    int64_t depth = rt_get_i64(dep, 0), axis = rt_attr_int(n, "axis", -1);
    if (axis < 0) axis += ind->rank + 1;
    if (axis < 0 || axis > ind->rank) return ec_fail(c, k, RT_ERR, "attribute axis is out of range");
    int64_t outer = rt_shape_numel((int)axis, ind->dims),
            inner = rt_shape_numel(ind->rank - (int)axis, ind->dims + axis);
    if (rt_numel(y) == 0) return RT_OK;
    char p0[96], p2[96], py[96];
    text_buf_printf(
        &c->body,
        "    {\n        const %s *ind = %s;\n        const %s *val = %s;\n        %s *y = %s;\n        int32_t q, p;\n"
        "        int64_t v;\n        for (p = 0; p < %lld; p++) y[p] = val[0];\n"
        "        for (q = 0; q < %lld; q++)\n            for (p = 0; p < %lld; p++) {\n"
        "                v = (int64_t)ind[(size_t)q * %lld + p];\n                if (v < 0) v += %lld;\n"
        "                if (v >= 0 && v < %lld) y[((size_t)q * %lld + (size_t)v) * %lld + p] = val[1];\n"
        "            }\n    }\n",
        it, P(c, n, 0, p0), ct, P(c, n, 2, p2), ct, Y(c, n, py), (long long)rt_numel(y), (long long)outer,
        (long long)inner, (long long)inner, (long long)depth, (long long)depth, (long long)depth, (long long)inner);
    return RT_OK;
}

/* ReverseSequence: along time, the first sequence_lens[b] rows of batch b reversed (lens
 * checked in C: outside [0, T] makes NAME_run return 1). */
int ect_reverse_sequence(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *lens = vin(c, n, 1);
    const char *ct = NULL, *lt = NULL;
    RT_TRY(ctype_of(c, k, x, "input", &ct));
    RT_TRY(index_type(c, k, lens, &lt));
    if (x->rank < 2) return ec_fail(c, k, RT_ERR, "input must have rank >= 2");
    int64_t ba = rt_attr_int(n, "batch_axis", 1), ta = rt_attr_int(n, "time_axis", 0);
    if (!((ba == 0 && ta == 1) || (ba == 1 && ta == 0)))
        return ec_fail(c, k, RT_ERR, "batch_axis and time_axis must be 0 and 1");
    int64_t B = x->dims[ba], T = x->dims[ta],
            row = rt_shape_numel(x->rank - 2, x->dims + 2) * (int64_t)rt_dtype_size(x->dtype);
    if (rt_numel(lens) != B) return ec_fail(c, k, RT_ERR, "sequence_lens must have %lld values", (long long)B);
    if (rt_numel(x) == 0) return RT_OK;
    char p0[96], p1[96], py[96];
    text_buf_printf(
        &c->body,
        "    {\n        const unsigned char *x = (const unsigned char *)%s;\n        const %s *lens = %s;\n"
        "        unsigned char *y = (unsigned char *)%s;\n        int32_t b, t, ts;\n        int64_t L;\n"
        "        for (b = 0; b < %lld; b++)\n"
        "            if (lens[b] < 0 || lens[b] > %lld) return 1; /* length out of range */\n"
        "        for (b = 0; b < %lld; b++) {\n            L = lens[b];\n            for (t = 0; t < %lld; t++) {\n"
        "                ts = t < L ? (int32_t)L - 1 - t : t;\n",
        P(c, n, 0, p0), lt, P(c, n, 1, p1), Y(c, n, py), (long long)B, (long long)T, (long long)B, (long long)T);
    if (ba == 0)
        text_buf_printf(
            &c->body,
            "                memcpy(y + ((size_t)b * %lld + t) * %lld, x + ((size_t)b * %lld + ts) * %lld, %lld);\n",
            (long long)T, (long long)row, (long long)T, (long long)row, (long long)row);
    else
        text_buf_printf(
            &c->body,
            "                memcpy(y + ((size_t)t * %lld + b) * %lld, x + ((size_t)ts * %lld + b) * %lld, %lld);\n",
            (long long)B, (long long)row, (long long)B, (long long)row, (long long)row);
    text_buf_printf(&c->body, "            }\n        }\n    }\n");
    return RT_OK;
}

/* Compress with a constant condition (the output's shape depends on it): the kept slices
 * along the axis (or of the flattened input) listed here and copied. */
int ect_compress(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *cond = kin(c, n, 1);
    const char *ct;
    RT_TRY(ctype_of(c, k, x, "input", &ct));
    if (!cond || cond->rank != 1)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED,
                       "condition must be a 1-D constant for emit-c (its values set the output's shape)");
    const RtAttr *aa = rt_attr(n, "axis");
    int64_t axis = 0, outer = 1, len = rt_numel(x), inner = 1;
    if (aa) {
        axis = rt_attr_int(n, "axis", 0);
        if (axis < 0) axis += x->rank;
        if (axis < 0 || axis >= x->rank) return ec_fail(c, k, RT_ERR, "attribute axis is out of range");
        outer = rt_shape_numel((int)axis, x->dims), len = x->dims[axis],
        inner = rt_shape_numel(x->rank - (int)axis - 1, x->dims + axis + 1);
    }
    int64_t nc = rt_numel(cond), kept = 0;
    int32_t *keep = calloc((size_t)nc + 1, sizeof *keep);
    if (!keep) return rt_error_set(c->err, "out of memory");
    for (int64_t i = 0; i < nc && i < len; i++)
        if (rt_get_i64(cond, i) != 0) keep[kept++] = (int32_t)i;
    int64_t row = inner * (int64_t)rt_dtype_size(x->dtype);
    if (kept > 0 && row > 0 && outer > 0) decl_i32s(c, k, "keep", keep, kept); /* (an unused table would warn) */
    free(keep);
    if (kept == 0 || row == 0 || outer == 0) return RT_OK;
    char p0[96], py[96];
    text_buf_printf(
        &c->body,
        "    {\n        const unsigned char *x = (const unsigned char *)%s;\n"
        "        unsigned char *y = (unsigned char *)%s;\n"
        "        int32_t q, i;\n        for (q = 0; q < %lld; q++)\n            for (i = 0; i < %lld; i++)\n"
        "                memcpy(y + ((size_t)q * %lld + i) * %lld, x + ((size_t)q * %lld + n%d_keep[i]) * %lld,"
        " %lld);\n"
        "    }\n",
        P(c, n, 0, p0), Y(c, n, py), (long long)outer, (long long)kept, (long long)kept, (long long)row, (long long)len,
        k, (long long)row, (long long)row);
    return RT_OK;
}

/* ---------------------------------------------------------------- TopK */

/* TopK's axis view and k (constant input K, or attribute k before opset 10). */
int ect_topk_geom(const EcCtx *c, const RtNode *n, int64_t *outer, int64_t *len, int64_t *inner, int64_t *kk) {
    const RtTensor *x = &c->val[n->in[0]];
    int64_t axis = rt_attr_int(n, "axis", -1);
    if (axis < 0) axis += x->rank;
    if (x->rank < 1 || axis < 0 || axis >= x->rank) return -1;
    *outer = rt_shape_numel((int)axis, x->dims), *len = x->dims[axis],
    *inner = rt_shape_numel(x->rank - (int)axis - 1, x->dims + axis + 1);
    *kk = c->val[n->out[0] >= 0 ? n->out[0] : n->out[1]].dims[axis];
    return 0;
}

int ect_topk(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0);
    const char *ct;
    RT_TRY(ctype_of(c, k, x, "X", &ct));
    int64_t outer, len, inner, kk;
    if (ect_topk_geom(c, n, &outer, &len, &inner, &kk) < 0)
        return ec_fail(c, k, RT_ERR, "attribute axis is out of range");
    if (rt_numel(x) > INT32_MAX)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "tensors above 2^31 elements are not emitted");
    int largest = rt_attr_int(n, "largest", 1) != 0, fl = x->dtype == RT_F32 || x->dtype == RT_F64;
    if (outer * inner * kk == 0) return RT_OK; /* nothing to sort (and no unused function) */
    /* the order: NaN counts as the largest value (the runtime's topk_before) */
    text_buf_printf(&c->decl,
                    "static int n%d_before(const unsigned char *xb, int32_t a, int32_t b) {\n"
                    "    const %s *x = (const %s *)(const void *)xb;\n",
                    k, ct, ct);
    if (fl)
        text_buf_printf(&c->decl, "    int an = x[a] != x[a], bn = x[b] != x[b];\n    if (an || bn) return %s;\n",
                        largest ? "an && !bn" : "!an && bn");
    text_buf_printf(&c->decl, "    return x[a] %s x[b];\n}\n", largest ? ">" : "<");
    char p0[96], py[96], pi[96];
    const char *yv = n->out[0] >= 0 ? ec_ptr(c, n->out[0], 0, py, sizeof py) : "NULL";
    const char *yi = n->n_out > 1 && n->out[1] >= 0 ? ec_ptr(c, n->out[1], 0, pi, sizeof pi) : "NULL";
    int64_t off = c->scratch_off[k];
    ec_tpl_use(c, "k_tensor_topk");
    text_buf_printf(
        &c->body,
        "    wk_tensor_topk((const unsigned char *)%s, (unsigned char *)%s, %s, %lld, %lld, %lld, %lld, %d,"
        " n%d_before, "
        "(int32_t *)(A + %lld), (int32_t *)(A + %lld));\n",
        P(c, n, 0, p0), yv, yi, (long long)outer, (long long)len, (long long)inner, (long long)kk,
        (int)rt_dtype_size(x->dtype), k, (long long)off, (long long)(off + 4 * len));
    return RT_OK;
}
