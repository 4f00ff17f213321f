/*
 * emit_ops.c — the one op table of emit-c: for each op, which kernel template it uses and
 * how its call is written (emitters below, table at the end).
 *
 * An emitter reads the node's shapes (the memory plan's, so the same numbers as the
 * runtime), its attributes and any constant quantization parameters at emit time, and
 * writes one call: window geometry as a static const wk_geom, int8 multipliers as
 * (mult, shift) pairs made here by the runtime's rt_requant_make (the same integers the
 * runtime uses, so integer outputs are bit-identical), float parameters as hex literals.
 * Ops without an emitter, dtypes the kernels do not cover (uint8 activations, float16...)
 * and non-constant quantization parameters are reported with the node's name and op.
 */
#include <stdarg.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/kernels/qblock.h"
#include "../runtime/kernels/ref/conv_geom.h"
#include "../runtime/kernels/quant.h"
#include "emit_ops_common.h"

/* ---------------------------------------------------------------- helpers */

/* int8 output range narrowed by the qmin/qmax attributes (wafer_ops.h). */
static int out_range(EcCtx *c, int k, const RtNode *n, int32_t *lo, int32_t *hi) {
    const RtTensor *y = yval(c, n);
    RT_TRY(need_dtype(c, k, y, RT_I8, "output"));
    *lo = -128, *hi = 127;
    int64_t a = rt_attr_int(n, "qmin", *lo), b = rt_attr_int(n, "qmax", *hi);
    if (a > b) return ec_fail(c, k, RT_ERR, "attributes qmin = %lld > qmax = %lld", (long long)a, (long long)b);
    if (a > *lo) *lo = a > *hi ? *hi : (int32_t)a;
    if (b < *hi) *hi = b < *lo ? *lo : (int32_t)b;
    return RT_OK;
}

/* The fused activation (wafer_ops.h): kind as the act helper numbers it, alpha, beta. */
static int act_read(EcCtx *c, int k, const RtNode *n, int *kind, char *alpha, char *beta) {
    static const struct {
        const char *name;
        int kind, n_params;
        float alpha, beta;
    } acts[] = {
        {"", 0, 0, 0, 0},           {"Relu", 1, 0, 0, 0},          {"Clip", 2, 2, -HUGE_VALF, HUGE_VALF},
        {"LeakyRelu", 3, 1, 0.01f, 0}, {"Sigmoid", 4, 0, 0, 0}, {"HardSigmoid", 5, 2, 0.2f, 0.5f},
        {"Gelu", 6, 0, 0, 0},       {"GeluTanh", 7, 0, 0, 0},
    };
    const char *s = rt_attr_str(n, "activation", "");
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
        if (strcmp(s, acts[i].name) != 0) continue;
        if ((acts[i].n_params < 1 && rt_attr(n, "alpha")) || (acts[i].n_params < 2 && rt_attr(n, "beta")))
            return ec_fail(c, k, RT_ERR, "attribute alpha/beta is not used by activation '%s'", s);
        if (acts[i].kind >= 6 && n->op != RT_OP_LINEAR && n->op != RT_OP_LINEAR_NBITS)
            return ec_fail(c, k, RT_ERR_UNSUPPORTED, "activation '%s' is fused into Linear and LinearNBits only", s);
        *kind = acts[i].kind;
        ec_float_lit(alpha, 48, rt_attr_float(n, "alpha", acts[i].alpha));
        ec_float_lit(beta, 48, rt_attr_float(n, "beta", acts[i].beta));
        if (*kind == 4) {
            c->sigmoid = 1;
            ec_tpl_use(c, "b1_sigmoid");
        }
        if (*kind == 6) {
            c->gelu = 1;
            ec_tpl_use(c, "b1_erf");
        }
        if (*kind == 7) {
            c->gelu_tanh = 1;
            ec_tpl_use(c, "b1_tanh");
        }
        return RT_OK;
    }
    return ec_fail(c, k, RT_ERR_UNSUPPORTED, "activation '%s' is not one emit-c knows", s);
}

/* ---------------------------------------------------------------- window geometry */

/* Writes `static const wk_geom n<k>_g` for x [N, C, (H,) W] -> y [N, M, (OH,) OW] with
 * kernel kh x kw; pads from the attributes or auto_pad (the runtime's formulas). */
static int geom_emit(EcCtx *c, int k, const RtNode *n, const RtTensor *x, const RtTensor *y, int64_t kh,
                     int64_t kw, int64_t group) {
    if (x->rank != 4 && x->rank != 3)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "input has rank %d; emit-c's window kernels take 1-D and 2-D", x->rank);
    int two = x->rank == 4, nsp = x->rank - 2;
    int64_t H = two ? x->dims[2] : 1, W = x->dims[x->rank - 1], OH = two ? y->dims[2] : 1, OW = y->dims[y->rank - 1];
    int64_t s[2] = {1, 1}, d[2] = {1, 1}, p[2] = {0, 0}, in[2] = {H, W}, out[2] = {OH, OW}, ks[2] = {kh, kw};
    const char *ap = rt_attr_str(n, "auto_pad", "NOTSET");
    for (int a = 0; a < nsp; a++) {
        int i = two ? a : 1;
        s[i] = attr_at(n, "strides", a, 1);
        d[i] = attr_at(n, "dilations", a, 1);
        p[i] = attr_at(n, "pads", a, 0);
        if (strcmp(ap, "SAME_UPPER") == 0 || strcmp(ap, "SAME_LOWER") == 0) {
            int64_t e = (ks[i] - 1) * d[i] + 1, total = (out[i] - 1) * s[i] + e - in[i];
            if (total < 0) total = 0;
            p[i] = strcmp(ap, "SAME_UPPER") == 0 ? total / 2 : total - total / 2;
        } else if (strcmp(ap, "VALID") == 0) {
            p[i] = 0;
        }
    }
    text_buf_printf(&c->decl,
                    "static const wk_geom n%d_g = {%lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, "
                    "%lld, %lld, %lld, %lld, %lld};\n",
                    k, (long long)x->dims[0], (long long)x->dims[1], (long long)H, (long long)W,
                    (long long)y->dims[1], (long long)OH, (long long)OW, (long long)kh, (long long)kw,
                    (long long)s[0], (long long)s[1], (long long)p[0], (long long)p[1], (long long)d[0],
                    (long long)d[1], (long long)group);
    ec_tpl_use(c, "b0_common");
    return RT_OK;
}

/* ---------------------------------------------------------------- float ops */

typedef struct {
    int64_t outer, D, inner, block, so, sa, si;
} QdqLayout;

static int qdq_layout(EcCtx *c, int k, const RtNode *n, const RtTensor *x, const RtTensor *s, QdqLayout *L);

/* The weight of a Conv or Linear as codes the kernel dequantizes as it goes: `static const wk_dq
 * n<k>_dq` from the DequantizeLinear node that made it (ec_fuse_dq), directly or through a
 * Reshape of 2-D conv codes: the codes are the weight's elements in the same order, and the
 * layout read from the DequantizeLinear's own input ([M, K], scale [M, ceil(K / G)]) gives
 * element e = m * K + k the scale m * ceil(K / G) + k / G. */
static int dq_weight_emit(EcCtx *c, int k, int v) {
    int kd = c->g->values[v].producer;
    if (c->g->nodes[kd].op == RT_OP_RESHAPE) kd = c->g->values[c->g->nodes[kd].in[0]].producer;
    const RtNode *d = &c->g->nodes[kd];
    const RtTensor *s = c->g->values[d->in[1]].konst, *zp = d->n_in > 2 && d->in[2] >= 0 ? c->g->values[d->in[2]].konst : NULL;
    if (!s || s->dtype != RT_F32 || (zp && zp->dtype != RT_I8))
        return ec_fail(c, kd, RT_ERR_UNSUPPORTED, "scale must be float32 and zero point int8");
    QdqLayout L;
    RT_TRY(qdq_layout(c, kd, d, &c->val[d->in[0]], s, &L));
    char p0[96], p1[96], p2[96];
    text_buf_printf(&c->decl, "static const wk_dq n%d_dq = {%s, %s, %s, %lld, %lld, %lld, %lld, %lld, %lld};\n", k,
                    ec_ptr(c, d->in[0], 1, p0, sizeof p0), ec_ptr(c, d->in[1], 1, p1, sizeof p1),
                    zp ? ec_ptr(c, d->in[2], 1, p2, sizeof p2) : "NULL", (long long)L.D, (long long)L.inner,
                    (long long)L.block, (long long)L.so, (long long)L.sa, (long long)L.si);
    return RT_OK;
}

/* Conv of a 3-D window (x [N, C, D, H, W]): k_conv3_f32 on the N-D pools' geometry read
 * by the runtime's own conv_geom with W's kernel shape. */
static int e_conv3(EcCtx *c, int k, const RtNode *n, const RtTensor *x, const RtTensor *w, int kind, const char *al,
                   const char *be) {
    int64_t group = rt_attr_int(n, "group", 1);
    if (w->rank != 5 || group < 1 || x->dims[1] % group || w->dims[0] % group || w->dims[1] * group != x->dims[1])
        return ec_fail(c, k, RT_ERR, "weight W of shape rank %d does not fit input X's channels and group %lld", w->rank,
                       (long long)group);
    RT_TRY(ec_window3_emit(c, k, n, x->dims + 2, 3, x->dims[0] * x->dims[1], w->dims + 2));
    char p0[96], p1[96], p2[96], py[96];
    ec_tpl_use(c, "k_conv3_f32");
    text_buf_printf(&c->body, "    wk_conv3_f32(%s, %s, %s, %s, &n%d_p3, %lld, %lld, %lld, %lld, %d, %s, %s);\n",
                    P(c, n, 0, p0), P(c, n, 1, p1), P(c, n, 2, p2), Y(c, n, py), k, (long long)x->dims[0],
                    (long long)x->dims[1], (long long)w->dims[0], (long long)group, kind, al, be);
    return RT_OK;
}

static int e_conv(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *w = vin(c, n, 1), *b = vin(c, n, 2), *y = yval(c, n);
    RT_TRY(need_dtype(c, k, x, RT_F32, "input X"));
    RT_TRY(need_dtype(c, k, w, RT_F32, "weight W"));
    if (b) RT_TRY(need_dtype(c, k, b, RT_F32, "bias B"));
    int dqw = c->fused_dq[n->in[1]];
    int kind = 0;
    char al[48] = "0.0f", be[48] = "0.0f", p0[96], p1[96], p2[96], py[96];
    if (n->op == RT_OP_FUSED_CONV) RT_TRY(act_read(c, k, n, &kind, al, be));
    if (x->rank == 5 && !dqw) return e_conv3(c, k, n, x, w, kind, al, be);
    RT_TRY(geom_emit(c, k, n, x, y, w->rank == 4 ? w->dims[2] : 1, w->dims[w->rank - 1], rt_attr_int(n, "group", 1)));
    if (dqw) {
        RT_TRY(dq_weight_emit(c, k, n->in[1]));
        snprintf(p1, sizeof p1, "&n%d_dq", k);
    }
    ec_tpl_use(c, dqw ? "k_conv_dqw_f32" : "k_conv_f32");
    char scratch[64] = "";
    if (dqw) snprintf(scratch, sizeof scratch, ", (float *)(A + %lld)", (long long)c->scratch_off[k]);
    text_buf_printf(&c->body, "    wk_conv%s_f32(%s, %s, %s, %s, &n%d_g, %d, %s, %s%s);\n", dqw ? "_dqw" : "", P(c, n, 0, p0),
                    dqw ? p1 : P(c, n, 1, p1), P(c, n, 2, p2), Y(c, n, py), k, kind, al, be, scratch);
    return RT_OK;
}

static int e_linear(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *w = vin(c, n, 1), *b = vin(c, n, 2);
    RT_TRY(need_dtype(c, k, x, RT_F32, "input X"));
    RT_TRY(need_dtype(c, k, w, RT_F32, "weight W"));
    if (b) RT_TRY(need_dtype(c, k, b, RT_F32, "bias B"));
    int kind, dqw = c->fused_dq[n->in[1]];
    char al[48], be[48], p0[96], p1[96], p2[96], py[96], scratch[64] = "";
    RT_TRY(act_read(c, k, n, &kind, al, be));
    int64_t K = w->dims[0], N = w->dims[1], R = K ? rt_numel(x) / K : 0;
    if (dqw) {
        RT_TRY(dq_weight_emit(c, k, n->in[1]));
        snprintf(p1, sizeof p1, "&n%d_dq", k);
        snprintf(scratch, sizeof scratch, ", (float *)(A + %lld)", (long long)c->scratch_off[k]);
    }
    ec_tpl_use(c, dqw ? "k_linear_dqw_f32" : "k_linear_f32");
    text_buf_printf(&c->body, "    wk_linear%s_f32(%s, %s, %s, %s, %lld, %lld, %lld, %d, %s, %s%s);\n", dqw ? "_dqw" : "",
                    P(c, n, 0, p0), dqw ? p1 : P(c, n, 1, p1), P(c, n, 2, p2), Y(c, n, py), (long long)R, (long long)K,
                    (long long)N, kind, al, be, scratch);
    return RT_OK;
}

/* MatMul in float: A [..., M, K] x B [K, N] (any leading dims of A), or A and B of one rank
 * with equal batch dims; each matrix product is wk_linear_f32 without bias. */
static int e_matmul(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *a = vin(c, n, 0), *b = vin(c, n, 1), *y = yval(c, n);
    RT_TRY(need_dtype(c, k, a, RT_F32, "input A"));
    RT_TRY(need_dtype(c, k, b, RT_F32, "input B"));
    if (a->rank < 2 || b->rank < 2 || (b->rank > 2 && (a->rank != b->rank)))
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "emit-c's MatMul takes A [..., M, K] with B [K, N] or a batch of B's");
    int64_t K = a->dims[a->rank - 1], N = b->dims[b->rank - 1], M = a->dims[a->rank - 2];
    int64_t batches = b->rank > 2 ? rt_shape_numel(b->rank - 2, b->dims) : 1;
    for (int d = 0; b->rank > 2 && d < b->rank - 2; d++)
        if (a->dims[d] != b->dims[d]) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "emit-c's MatMul does not broadcast batches");
    if (b->dims[b->rank - 2] != K) return ec_fail(c, k, RT_ERR, "A's K %lld != B's %lld", (long long)K, (long long)b->dims[b->rank - 2]);
    int64_t R = batches > 1 ? M : rt_numel(a) / (K ? K : 1);
    char p0[96], p1[96], py[96];
    ec_tpl_use(c, "k_linear_f32");
    text_buf_printf(&c->body,
                    "    {\n        int32_t t;\n        for (t = 0; t < %lld; t++)\n"
                    "            wk_linear_f32(%s + (size_t)t * %lld, %s + (size_t)t * %lld, NULL, %s + (size_t)t * %lld, "
                    "%lld, %lld, %lld, 0, 0.0f, 0.0f);\n    }\n",
                    (long long)batches, P(c, n, 0, p0), (long long)(R * K), P(c, n, 1, p1), (long long)(K * N),
                    Y(c, n, py), (long long)(R * N), (long long)R, (long long)K, (long long)N);
    (void)y;
    return RT_OK;
}

static int e_transpose(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *y = yval(c, n);
    if (!x || !ec_ctype(x->dtype)) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "dtype not emitted");
    const int64_t *perm;
    int np = rt_attr_ints(n, "perm", &perm);
    int32_t d[RT_MAX_RANK], st[RT_MAX_RANK], in_st[RT_MAX_RANK];
    int64_t s = 1;
    for (int i = x->rank - 1; i >= 0; i--) in_st[i] = (int32_t)s, s *= x->dims[i];
    for (int i = 0; i < y->rank; i++) {
        int64_t p = np >= 0 ? perm[i] : y->rank - 1 - i; /* default: reverse the axes */
        if (p < 0 || p >= x->rank) return ec_fail(c, k, RT_ERR, "attribute perm is out of range");
        d[i] = (int32_t)y->dims[i];
        st[i] = in_st[p];
    }
    decl_i32s(c, k, "dims", d, y->rank > 0 ? y->rank : 1);
    decl_i32s(c, k, "st", st, y->rank > 0 ? y->rank : 1);
    char p0[96], py[96];
    ec_tpl_use(c, "k_transpose");
    text_buf_printf(&c->body, "    wk_transpose((const unsigned char *)%s, (unsigned char *)%s, %lld, %d, %d, n%d_dims, n%d_st);\n",
                    P(c, n, 0, p0), Y(c, n, py), (long long)rt_numel(y), (int)rt_dtype_size(y->dtype), y->rank, k, k);
    return RT_OK;
}

static int e_layer_norm(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *s = vin(c, n, 1), *b = vin(c, n, 2);
    RT_TRY(need_dtype(c, k, x, RT_F32, "input X"));
    RT_TRY(need_dtype(c, k, s, RT_F32, "input Scale"));
    if (b) RT_TRY(need_dtype(c, k, b, RT_F32, "input B"));
    char stat[2][96] = {"NULL", "NULL"}; /* the optional outputs Mean, InvStdDev [rows] */
    for (int j = 1; j < 3; j++) {
        if (j >= n->n_out || n->out[j] < 0) continue;
        RT_TRY(need_dtype(c, k, &c->val[n->out[j]], RT_F32, j == 1 ? "output Mean" : "output InvStdDev"));
        ec_ptr(c, n->out[j], 0, stat[j - 1], sizeof stat[j - 1]);
    }
    int64_t axis = rt_attr_int(n, "axis", -1);
    if (axis < 0) axis += x->rank;
    if (axis < 0 || axis >= x->rank) return ec_fail(c, k, RT_ERR, "attribute axis is out of range");
    int64_t len = rt_shape_numel(x->rank - (int)axis, x->dims + axis), rows = len ? rt_numel(x) / len : 0;
    if (rt_numel(s) != len || (b && rt_numel(b) != len))
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "emit-c's LayerNormalization takes Scale and B of the normalized size");
    char p0[96], p1[96], p2[96], py[96];
    ec_tpl_use(c, "k_layernorm_f32");
    text_buf_printf(&c->body, "    wk_layernorm_f32(%s, %s, %s, %s, %s, %s, %lld, %lld, %.17g);\n", P(c, n, 0, p0),
                    P(c, n, 1, p1), P(c, n, 2, p2), Y(c, n, py), stat[0], stat[1], (long long)rows, (long long)len,
                    (double)rt_attr_float(n, "epsilon", 1e-5f));
    return RT_OK;
}

static int e_gather(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *ix = vin(c, n, 1), *y = yval(c, n);
    if (!x || !ec_ctype(x->dtype)) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "dtype not emitted");
    if (!ix || (ix->dtype != RT_I64 && ix->dtype != RT_I32))
        return ec_fail(c, k, RT_ERR, "indices must be int64 or int32");
    int64_t axis = rt_attr_int(n, "axis", 0);
    if (axis < 0) axis += x->rank;
    if (axis < 0 || axis >= x->rank) return ec_fail(c, k, RT_ERR, "attribute axis is out of range");
    int64_t outer = rt_shape_numel((int)axis, x->dims), D = x->dims[axis];
    int64_t inner = rt_shape_numel(x->rank - (int)axis - 1, x->dims + axis + 1);
    char p0[96], p1[96], py[96];
    ec_tpl_use(c, "k_gather");
    text_buf_printf(&c->body,
                    "    if (wk_gather((const unsigned char *)%s, %s%s%s, %s%s%s, %lld, (unsigned char *)%s, %lld, %lld, "
                    "%lld, %d))\n        return 1; /* an index out of range */\n",
                    P(c, n, 0, p0), ix->dtype == RT_I64 ? "" : "NULL", ix->dtype == RT_I64 ? P(c, n, 1, p1) : "", "",
                    ix->dtype == RT_I32 ? "" : "NULL", ix->dtype == RT_I32 ? P(c, n, 1, p1) : "", "", (long long)rt_numel(ix),
                    Y(c, n, py), (long long)outer, (long long)D, (long long)inner, (int)rt_dtype_size(y->dtype));
    return RT_OK;
}

int ec_pool3_emit(EcCtx *c, int k, const RtNode *n, const int64_t *sp, int nsp, int64_t planes) {
    const int64_t *ks;
    if (nsp < 1 || nsp > RT_GEOM_MAX_SP || rt_attr_ints(n, "kernel_shape", &ks) != nsp)
        return ec_fail(c, k, RT_ERR, "kernel_shape does not fit the input's %d spatial axes", nsp);
    return ec_window3_emit(c, k, n, sp, nsp, planes, ks);
}

int ec_window3_emit(EcCtx *c, int k, const RtNode *n, const int64_t *sp, int nsp, int64_t planes, const int64_t *ks) {
    RtError gerr = {{0}};
    RtKernelCtx kc;
    memset(&kc, 0, sizeof kc);
    kc.err = &gerr;
    RtConvGeom g;
    if (nsp < 1 || nsp > RT_GEOM_MAX_SP) return ec_fail(c, k, RT_ERR, "%d spatial axes; at most 3 are supported", nsp);
    if (rt_geom_read(&kc, n, nsp, sp, ks, &g) != RT_OK ||
        rt_geom_forward(&kc, n, (int)rt_attr_int(n, "ceil_mode", 0), &g) != RT_OK)
        return ec_fail(c, k, RT_ERR, "%s", gerr.msg);
    text_buf_printf(&c->decl, "static const wk_pool3 n%d_p3 = {%lld", k, (long long)planes);
    const int64_t *v[8] = {g.in, g.out, g.k, g.stride, g.dil, g.pad0, g.pad1};
    for (int f = 0; f < 7; f++)
        text_buf_printf(&c->decl, ", {%lld, %lld, %lld}", (long long)v[f][0], (long long)v[f][1], (long long)v[f][2]);
    text_buf_printf(&c->decl, "};\n");
    ec_tpl_use(c, "b0_pool3");
    return RT_OK;
}

static int pool3_emit(EcCtx *c, int k, const RtNode *n, const RtTensor *x) {
    return ec_pool3_emit(c, k, n, x->dims + 2, x->rank - 2, x->dims[0] * x->dims[1]);
}

/* MaxPool through the N-D kernel: 3-D windows, uint8, or the Indices output. */
static int e_max_pool3(EcCtx *c, int k, const RtNode *n, const RtTensor *x) {
    int64_t order = rt_attr_int(n, "storage_order", 0);
    if (order != 0 && order != 1) return ec_fail(c, k, RT_ERR, "attribute storage_order must be 0 or 1");
    RT_TRY(pool3_emit(c, k, n, x));
    const char *fn = x->dtype == RT_F32 ? "k_maxpool3_f32" : x->dtype == RT_I8 ? "k_maxpool3_i8" : "k_maxpool3_u8";
    char p0[96], py[96], pi[96] = "NULL";
    if (n->n_out > 1 && n->out[1] >= 0) {
        RT_TRY(need_dtype(c, k, &c->val[n->out[1]], RT_I64, "output Indices"));
        ec_ptr(c, n->out[1], 0, pi, sizeof pi);
    }
    ec_tpl_use(c, "b1_pool3_max");
    ec_tpl_use(c, fn);
    text_buf_printf(&c->body, "    wk_%s(%s, %s, %s, &n%d_p3, %d);\n", fn + 2, P(c, n, 0, p0), Y(c, n, py), pi, k, (int)order);
    return RT_OK;
}

static int e_max_pool(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *y = yval(c, n);
    if (!x || (x->dtype != RT_F32 && x->dtype != RT_I8 && x->dtype != RT_U8))
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "input X must be float32, int8 or uint8 for emit-c");
    if (x->rank == 5 || x->dtype == RT_U8 || (n->n_out > 1 && n->out[1] >= 0)) return e_max_pool3(c, k, n, x);
    int nsp = x->rank - 2;
    RT_TRY(geom_emit(c, k, n, x, y, nsp == 2 ? attr_at(n, "kernel_shape", 0, 1) : 1,
                     attr_at(n, "kernel_shape", nsp - 1, 1), 1));
    const char *fn = x->dtype == RT_F32 ? "k_maxpool_f32" : "k_maxpool_i8";
    char p0[96], py[96];
    ec_tpl_use(c, fn);
    text_buf_printf(&c->body, "    wk_%s(%s, %s, &n%d_g);\n", fn + 2, P(c, n, 0, p0), Y(c, n, py), k);
    return RT_OK;
}

/* The pools' geometry and trailing pads p1[2] (for count_include_pad: auto_pad SAME puts the
 * rest of the total there). */
static int avg_geom(EcCtx *c, int k, const RtNode *n, const RtTensor *x, const RtTensor *y, int64_t *p1) {
    if (x->rank != 3 && x->rank != 4)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "input has rank %d; emit-c's pools take 1-D and 2-D", x->rank);
    int nsp = x->rank - 2, two = nsp == 2;
    RT_TRY(geom_emit(c, k, n, x, y, two ? attr_at(n, "kernel_shape", 0, 1) : 1, attr_at(n, "kernel_shape", nsp - 1, 1), 1));
    p1[0] = p1[1] = 0;
    const char *ap = rt_attr_str(n, "auto_pad", "NOTSET");
    for (int a = 0; a < nsp; a++) {
        int i = two ? a : 1;
        int64_t in = x->dims[2 + a], out = y->dims[2 + a], s = attr_at(n, "strides", a, 1), d = attr_at(n, "dilations", a, 1);
        int64_t kk = attr_at(n, "kernel_shape", a, 1), total = (out - 1) * s + (kk - 1) * d + 1 - in;
        if (total < 0) total = 0;
        if (strcmp(ap, "SAME_UPPER") == 0) p1[i] = total - total / 2;
        else if (strcmp(ap, "SAME_LOWER") == 0) p1[i] = total / 2;
        else if (strcmp(ap, "VALID") != 0) p1[i] = attr_at(n, "pads", nsp + a, 0);
    }
    return RT_OK;
}

static int e_average_pool(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *y = yval(c, n);
    RT_TRY(need_dtype(c, k, x, RT_F32, "input X"));
    if (x->rank == 5) { /* 3-D windows: the N-D kernel */
        int64_t include = rt_attr_int(n, "count_include_pad", 0);
        if (include != 0 && include != 1) return ec_fail(c, k, RT_ERR, "attribute count_include_pad must be 0 or 1");
        RT_TRY(pool3_emit(c, k, n, x));
        char p0[96], py[96];
        ec_tpl_use(c, "k_avgpool3_f32");
        text_buf_printf(&c->body, "    wk_avgpool3_f32(%s, %s, &n%d_p3, %d);\n", P(c, n, 0, p0), Y(c, n, py), k, (int)include);
        return RT_OK;
    }
    int64_t p1[2];
    RT_TRY(avg_geom(c, k, n, x, y, p1));
    char p0[96], py[96];
    ec_tpl_use(c, "k_avgpool_f32");
    text_buf_printf(&c->body, "    wk_avgpool_f32(%s, %s, &n%d_g, %lld, %lld, %d);\n", P(c, n, 0, p0), Y(c, n, py), k,
                    (long long)p1[0], (long long)p1[1], (int)rt_attr_int(n, "count_include_pad", 0));
    return RT_OK;
}

/* Concat: each input's rows of `axis..` copied into place, any emitted dtype. */
static int e_concat(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *y = yval(c, n);
    if (!ec_ctype(y->dtype)) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "dtype %s is not emitted", rt_dtype_name(y->dtype));
    int64_t ax = rt_attr_int(n, "axis", 0);
    if (ax < 0) ax += y->rank;
    if (ax < 0 || ax >= y->rank) return ec_fail(c, k, RT_ERR, "attribute axis is out of range");
    int64_t outer = rt_shape_numel((int)ax, y->dims), es = (int64_t)rt_dtype_size(y->dtype);
    int64_t row = rt_numel(y) / (outer ? outer : 1) * es, at = 0;
    char py[96], pi[96];
    Y(c, n, py);
    for (int j = 0; j < n->n_in; j++) {
        const RtTensor *x = vin(c, n, j);
        if (!x) continue;
        int64_t chunk = rt_numel(x) / (outer ? outer : 1) * es;
        if (chunk > 0)
            text_buf_printf(&c->body,
                            "    {\n        int32_t o;\n        for (o = 0; o < %lld; o++)\n"
                            "            memcpy((unsigned char *)%s + (size_t)o * %lld + %lld, "
                            "(const unsigned char *)%s + (size_t)o * %lld, %lld);\n    }\n",
                            (long long)outer, py, (long long)row, (long long)at, P(c, n, j, pi), (long long)chunk,
                            (long long)chunk);
        at += chunk;
    }
    return RT_OK;
}

static int e_global_average_pool(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0);
    RT_TRY(need_dtype(c, k, x, RT_F32, "input X"));
    if (x->rank < 2) return ec_fail(c, k, RT_ERR, "input X has rank %d; expected (N, C, spatial...)", x->rank);
    int64_t planes = x->dims[0] * x->dims[1], count = planes ? rt_numel(x) / planes : 0;
    char p0[96], py[96];
    ec_tpl_use(c, "k_gap_f32");
    text_buf_printf(&c->body, "    wk_gap_f32(%s, %s, %lld, %lld);\n", P(c, n, 0, p0), Y(c, n, py), (long long)planes,
                    (long long)count);
    return RT_OK;
}

static int e_softmax(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0);
    RT_TRY(need_dtype(c, k, x, RT_F32, "input"));
    int coerce2d = n->opset < 13; /* before 13: x as 2-D [prod(dims < axis), prod(dims >= axis)] */
    int64_t axis = rt_attr_int(n, "axis", coerce2d ? 1 : -1);
    if (axis < 0) axis += x->rank;
    if (axis < 0 || axis >= x->rank) return ec_fail(c, k, RT_ERR, "attribute axis is out of range");
    int64_t len = coerce2d ? rt_shape_numel(x->rank - (int)axis, x->dims + axis) : x->dims[axis];
    int64_t inner = coerce2d ? 1 : rt_shape_numel(x->rank - (int)axis - 1, x->dims + axis + 1);
    int64_t outer = len && inner ? rt_numel(x) / (len * inner) : 0;
    char p0[96], py[96];
    ec_tpl_use(c, "k_softmax_f32");
    text_buf_printf(&c->body, "    wk_softmax_f32(%s, %s, %lld, %lld, %lld);\n", P(c, n, 0, p0), Y(c, n, py),
                    (long long)outer, (long long)len, (long long)inner);
    return RT_OK;
}

/* Reshape-like: nothing when the output aliases the input, else a copy. */
static int e_alias(EcCtx *c, int k, const RtNode *n) {
    char p0[96], py[96];
    if (c->fused_dq[n->out[0]]) {
        text_buf_printf(&c->body, "    /* node %d: weight codes read in this shape by the kernel (no copy) */\n", k);
        return RT_OK;
    }
    if (c->loc[n->out[0]].alias >= 0) {
        text_buf_printf(&c->body, "    /* node %d: output is its input's buffer (no copy) */\n", k);
        return RT_OK;
    }
    const RtTensor *y = yval(c, n);
    if (!ec_ctype(y->dtype)) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "dtype %s is not emitted", rt_dtype_name(y->dtype));
    text_buf_printf(&c->body, "    memcpy(%s, %s, %lld);\n", Y(c, n, py), P(c, n, 0, p0), (long long)rt_nbytes(y));
    return RT_OK;
}

/* Dropout at inference: Y is X (e_alias); the optional mask is all ones (bool from opset 10,
 * X's dtype before), as the runtime's k_dropout. A training_mode given at run time may ask
 * for random dropout, which the C does not do: NAME_run then returns 1 when it is true and
 * the ratio (default 0.5) is above 0, as the runtime refuses it. */
static int e_dropout(EcCtx *c, int k, const RtNode *n) {
    if (n->opset >= 12 && n->n_in > 2 && n->in[2] >= 0 && !kin(c, n, 2)) {
        const RtTensor *t = vin(c, n, 2), *r = vin(c, n, 1);
        char pt[96], pr[96], ratio[128] = "0.5f";
        if (!t || t->dtype != RT_BOOL || rt_numel(t) != 1)
            return ec_fail(c, k, RT_ERR, "training_mode must be one bool");
        if (r && (r->dtype != RT_F32 || rt_numel(r) != 1))
            return ec_fail(c, k, RT_ERR_UNSUPPORTED, "ratio must be one float32 value for emit-c");
        if (r) snprintf(ratio, sizeof ratio, "%s[0]", P(c, n, 1, pr));
        text_buf_printf(&c->body, "    if (%s[0] && %s > 0.0f) return 1; /* random dropout (training) is not run */\n",
                        P(c, n, 2, pt), ratio);
    }
    RT_TRY(e_alias(c, k, n));
    if (n->n_out < 2 || n->out[1] < 0) return RT_OK;
    const RtTensor *m = &c->val[n->out[1]];
    const char *ct = ec_ctype(m->dtype);
    if (!ct) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "mask dtype %s is not emitted", rt_dtype_name(m->dtype));
    char pm[96];
    text_buf_printf(&c->body, "    {\n        %s *mask = %s;\n        int32_t i;\n        for (i = 0; i < %lld; i++) mask[i] = (%s)1;\n    }\n",
                    ct, ec_ptr(c, n->out[1], 0, pm, sizeof pm), (long long)rt_numel(m), ct);
    return RT_OK;
}

/* ---------------------------------------------------------------- Quantize / Dequantize */

/* Scale granularity (per tensor, per axis, blocked) as the runtime's qdq_layout reads it. */
static int qdq_layout(EcCtx *c, int k, const RtNode *n, const RtTensor *x, const RtTensor *s, QdqLayout *L) {
    int64_t block = rt_attr_int(n, "block_size", 0);
    memset(L, 0, sizeof *L);
    L->outer = L->D = L->block = 1;
    L->inner = rt_numel(x);
    if (block == 0 && s->rank <= 1 && rt_numel(s) == 1) return RT_OK;
    int64_t ax = rt_attr_int(n, "axis", 1);
    if (ax < 0) ax += x->rank;
    if (ax < 0 || ax >= x->rank) return ec_fail(c, k, RT_ERR, "attribute axis is out of range");
    L->outer = rt_shape_numel((int)ax, x->dims);
    L->D = x->dims[ax];
    L->inner = rt_shape_numel(x->rank - (int)ax - 1, x->dims + ax + 1);
    if (block == 0) {
        if (s->rank != 1 || s->dims[0] != L->D) return ec_fail(c, k, RT_ERR, "per-axis scale does not fit x");
        L->sa = 1;
        return RT_OK;
    }
    if (s->rank != x->rank) return ec_fail(c, k, RT_ERR, "blocked scale must have x's rank");
    L->block = block;
    L->sa = L->inner;
    L->so = s->dims[ax] * L->inner;
    L->si = 1;
    return RT_OK;
}

static int e_qdq(EcCtx *c, int k, const RtNode *n) {
    int quant = n->op == RT_OP_QUANTIZE_LINEAR;
    /* scale and zero point may be constants or run-time values: the kernels read them by pointer */
    const RtTensor *x = vin(c, n, 0), *s = vin(c, n, 1), *zp = vin(c, n, 2), *y = yval(c, n);
    if (!s || s->dtype != RT_F32) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "the scale must be float32");
    int64_t prec = rt_attr_int(n, "precision", 0); /* QuantizeLinear-23: emitted kernels divide in float32 */
    if (prec != 0 && prec != RT_F32) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "precision %lld is not float32", (long long)prec);
    /* the output's range: int8 / uint8, or a sub-byte output_dtype held widened in them */
    int64_t od = quant ? rt_attr_int(n, "output_dtype", 0) : 0;
    int qmin = od == 22 ? -8 : od == 26 ? -2 : 0, qmax = od == 21 ? 15 : od == 22 ? 7 : od == 25 ? 3 : od == 26 ? 1 : 0;
    const RtTensor *q = quant ? y : x; /* the integer side: int8 or uint8 */
    if (!x || !q || (q->dtype != RT_I8 && q->dtype != RT_U8))
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "%s has dtype %s; emit-c's kernels take int8 and uint8", quant ? "output y" : "input x",
                       q ? rt_dtype_name(q->dtype) : "?");
    RT_TRY(need_dtype(c, k, quant ? x : y, RT_F32, quant ? "input x" : "output y"));
    if (zp && zp->dtype != q->dtype) return ec_fail(c, k, RT_ERR, "the zero point's dtype differs from %s's", rt_dtype_name(q->dtype));
    QdqLayout L;
    RT_TRY(qdq_layout(c, k, n, x, s, &L));
    if (!quant && c->fused_dq[n->out[0]]) {
        text_buf_printf(&c->body, "    /* node %d: dequantized by the kernel that reads it, a channel at a time */\n", k);
        return RT_OK;
    }
    char p0[96], p1[96], p2[96], py[96];
    const char *fn = quant ? (q->dtype == RT_I8 ? "k_quantize_i8" : "k_quantize_u8")
                           : (q->dtype == RT_I8 ? "k_dequantize_i8" : "k_dequantize_u8");
    ec_tpl_use(c, fn);
    char range[48] = "";
    if (quant) {
        if (qmax == 0) qmin = q->dtype == RT_I8 ? -128 : 0, qmax = q->dtype == RT_I8 ? 127 : 255;
        snprintf(range, sizeof range, ", %d, %d", qmin, qmax);
    }
    text_buf_printf(&c->body, "    wk_%s(%s, %s, %s, %s, %lld, %lld, %lld, %lld, %lld, %lld, %lld%s);\n", fn + 2,
                    P(c, n, 0, p0), P(c, n, 1, p1), P(c, n, 2, p2), Y(c, n, py), (long long)L.outer, (long long)L.D,
                    (long long)L.inner, (long long)L.block, (long long)L.so, (long long)L.sa, (long long)L.si, range);
    return RT_OK;
}

/* ---------------------------------------------------------------- int8 ops */

/* Per-channel multipliers x_scale * w_scale[m] / y_scale (double, as the runtime) and the
 * weight zero points, as n<k>_mult, n<k>_shift, n<k>_wz [M]. */
static int channel_params(EcCtx *c, int k, const RtNode *n, int64_t M) {
    double xs, ys;
    RT_TRY(const_f32(c, k, n, 1, "x_scale", &xs));
    RT_TRY(const_f32(c, k, n, 6, "y_scale", &ys));
    const RtTensor *ws = kin(c, n, 4), *wz = kin(c, n, 5);
    if (!ws || ws->dtype != RT_F32 || (rt_numel(ws) != 1 && rt_numel(ws) != M))
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "w_scale must be a float32 constant, one value or [%lld]", (long long)M);
    if (n->n_in > 5 && n->in[5] >= 0 && (!wz || (rt_numel(wz) != 1 && rt_numel(wz) != M)))
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "w_zero_point must be a constant, one value or [%lld]", (long long)M);
    int32_t *v = malloc(sizeof(int32_t) * (size_t)(3 * (M > 0 ? M : 1)));
    if (!v) return rt_error_set(c->err, "out of memory");
    for (int64_t m = 0; m < M; m++) {
        double w = ((const float *)ws->data)[rt_numel(ws) > 1 ? m : 0];
        RtRequant r = rt_requant_make(xs * w / ys);
        v[m] = r.mult;
        v[M + m] = r.shift;
        v[2 * M + m] = wz ? rt_qget(wz, rt_numel(wz) > 1 ? m : 0) : 0;
    }
    decl_i32s(c, k, "mult", v, M);
    decl_i32s(c, k, "shift", v + M, M);
    decl_i32s(c, k, "wz", v + 2 * M, M);
    free(v);
    return RT_OK;
}

static int e_qconv_qlinear(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *w = vin(c, n, 3), *b = vin(c, n, 8), *y = yval(c, n);
    int conv = n->op == RT_OP_QCONV;
    RT_TRY(need_dtype(c, k, x, RT_I8, "input x"));
    RT_TRY(need_dtype(c, k, w, RT_I8, "weight w"));
    if (b) RT_TRY(need_dtype(c, k, b, RT_I32, "bias B"));
    int32_t xz, yz, lo, hi;
    RT_TRY(const_zp(c, k, n, 2, "x_zero_point", &xz));
    RT_TRY(const_zp(c, k, n, 7, "y_zero_point", &yz));
    RT_TRY(out_range(c, k, n, &lo, &hi));
    int64_t M = w->dims[0];
    RT_TRY(channel_params(c, k, n, M));
    char p0[96], p3[96], p8[96], py[96];
    if (conv) {
        RT_TRY(geom_emit(c, k, n, x, y, w->rank == 4 ? w->dims[2] : 1, w->dims[w->rank - 1], rt_attr_int(n, "group", 1)));
        ec_tpl_use(c, "k_qconv_i8");
        text_buf_printf(&c->body,
                        "    wk_qconv_i8(%s, %ld, %s, n%d_wz, %s, n%d_mult, n%d_shift, %ld, %ld, %ld, %s, &n%d_g, "
                        "(uint32_t *)(A + %lld));\n",
                        P(c, n, 0, p0), (long)xz, P(c, n, 3, p3), k, P(c, n, 8, p8), k, k, (long)yz, (long)lo,
                        (long)hi, Y(c, n, py), k, (long long)c->scratch_off[k]);
    } else {
        int64_t K = w->dims[1], R = K ? rt_numel(x) / K : 0;
        ec_tpl_use(c, "k_qlinear_i8");
        text_buf_printf(&c->body,
                        "    wk_qlinear_i8(%s, %ld, %s, n%d_wz, %s, n%d_mult, n%d_shift, %ld, %ld, %ld, %s, %lld, %lld, "
                        "%lld);\n",
                        P(c, n, 0, p0), (long)xz, P(c, n, 3, p3), k, P(c, n, 8, p8), k, k, (long)yz, (long)lo,
                        (long)hi, Y(c, n, py), (long long)R, (long long)K, (long long)M);
    }
    return RT_OK;
}

static int e_qadd_qmul(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *a = vin(c, n, 0), *b = vin(c, n, 3), *y = yval(c, n);
    RT_TRY(need_dtype(c, k, a, RT_I8, "input a"));
    RT_TRY(need_dtype(c, k, b, RT_I8, "input b"));
    double sa, sb, sy;
    int32_t za, zb, zy, lo, hi;
    RT_TRY(const_f32(c, k, n, 1, "a_scale", &sa));
    RT_TRY(const_f32(c, k, n, 4, "b_scale", &sb));
    RT_TRY(const_f32(c, k, n, 6, "y_scale", &sy));
    RT_TRY(const_zp(c, k, n, 2, "a_zero_point", &za));
    RT_TRY(const_zp(c, k, n, 5, "b_zero_point", &zb));
    RT_TRY(const_zp(c, k, n, 7, "y_zero_point", &zy));
    RT_TRY(out_range(c, k, n, &lo, &hi));
    int bc = bcast_emit(c, k, a, b, y);
    char p0[96], p3[96], py[96], tabs[96];
    if (bc) snprintf(tabs, sizeof tabs, "%d, n%d_dims, n%d_sa, n%d_sb", y->rank, k, k, k);
    else snprintf(tabs, sizeof tabs, "0, NULL, NULL, NULL");
    if (n->op == RT_OP_QMUL) {
        RtRequant rm = rt_requant_make(sa * sb / sy);
        int32_t q[7] = {za, zb, rm.mult, rm.shift, zy, lo, hi};
        decl_i32s(c, k, "q", q, 7);
        ec_tpl_use(c, "k_qmul_i8");
        text_buf_printf(&c->body, "    wk_qmul_i8(%s, %s, n%d_q, %s, %lld, %s);\n", P(c, n, 0, p0), P(c, n, 3, p3), k,
                        Y(c, n, py), (long long)rt_numel(y), tabs);
        return RT_OK;
    }
    /* TFLite's quantized Add, as runtime/kernels/ref/qops.c: 2^20 headroom */
    double twice_max = 2.0 * (sa > sb ? sa : sb);
    RtRequant ra = rt_requant_make(sa / twice_max), rb = rt_requant_make(sb / twice_max);
    RtRequant ry = rt_requant_make(twice_max / ((double)(1 << 20) * sy));
    int32_t q[11] = {za, ra.mult, ra.shift, zb, rb.mult, rb.shift, ry.mult, ry.shift, zy, lo, hi};
    decl_i32s(c, k, "q", q, 11);
    ec_tpl_use(c, "k_qadd_i8");
    text_buf_printf(&c->body, "    wk_qadd_i8(%s, %s, n%d_q, %s, %lld, %s);\n", P(c, n, 0, p0), P(c, n, 3, p3), k, Y(c, n, py),
                    (long long)rt_numel(y), tabs);
    return RT_OK;
}

static int e_qgap(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0);
    RT_TRY(need_dtype(c, k, x, RT_I8, "input x"));
    double xs, ys;
    int32_t xz, yz, lo, hi;
    RT_TRY(const_f32(c, k, n, 1, "x_scale", &xs));
    RT_TRY(const_f32(c, k, n, 3, "y_scale", &ys));
    RT_TRY(const_zp(c, k, n, 2, "x_zero_point", &xz));
    RT_TRY(const_zp(c, k, n, 4, "y_zero_point", &yz));
    RT_TRY(out_range(c, k, n, &lo, &hi));
    if (x->rank < 2) return ec_fail(c, k, RT_ERR, "input x has rank %d; expected (N, C, spatial...)", x->rank);
    int64_t planes = x->dims[0] * x->dims[1], count = planes ? rt_numel(x) / planes : 0;
    if (count > INT32_MAX / 256) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "planes of %lld values overflow the int32 sum", (long long)count);
    RtRequant r = rt_requant_make(xs / ys);
    char p0[96], py[96];
    ec_tpl_use(c, "k_qgap_i8");
    text_buf_printf(&c->body, "    wk_qgap_i8(%s, %ld, %ld, %ld, %ld, %ld, %ld, %s, %lld, %lld);\n", P(c, n, 0, p0),
                    (long)xz, (long)r.mult, (long)r.shift, (long)yz, (long)lo, (long)hi, Y(c, n, py),
                    (long long)planes, (long long)count);
    return RT_OK;
}

/* QLut (wafer_ops.h): a 256-entry lookup; the table is a constant input, [256] or one table
 * per channel [C, 256] along attribute axis. */
static int e_qlut(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *t = kin(c, n, 1);
    RT_TRY(need_dtype(c, k, x, RT_I8, "input x"));
    if (rt_numel(x) > INT32_MAX) return ec_fail(c, k, RT_ERR_UNSUPPORTED, "input x has more than 2^31 values");
    char px[96], pt[96], py[96];
    if (t && t->dtype == RT_I8 && t->rank == 2 && t->dims[1] == 256) { /* per channel */
        int64_t axis = rt_attr_int(n, "axis", 1), outer = 1, inner = 1;
        if (axis < 0) axis += x->rank;
        if (axis < 0 || axis >= x->rank || x->dims[axis] != t->dims[0])
            return ec_fail(c, k, RT_ERR_UNSUPPORTED, "the %lld tables do not match input x's axis %lld",
                           (long long)t->dims[0], (long long)rt_attr_int(n, "axis", 1));
        for (int d = 0; d < axis; d++) outer *= x->dims[d];
        for (int d = (int)axis + 1; d < x->rank; d++) inner *= x->dims[d];
        ec_tpl_use(c, "k_qlut_ch_i8");
        text_buf_printf(&c->body, "    wk_qlut_ch_i8(%s, %s, %s, %lld, %lld, %lld);\n", P(c, n, 0, px), P(c, n, 1, pt),
                        Y(c, n, py), (long long)outer, (long long)t->dims[0], (long long)inner);
        return RT_OK;
    }
    if (!t || t->dtype != RT_I8 || rt_numel(t) != 256)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "the table must be a constant of 256 int8 entries or [C, 256]");
    ec_tpl_use(c, "k_qlut_i8");
    text_buf_printf(&c->body, "    wk_qlut_i8(%s, %s, %s, %lld);\n", P(c, n, 0, px), P(c, n, 1, pt), Y(c, n, py),
                    (long long)rt_numel(x));
    return RT_OK;
}

static int e_qavgpool(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *y = yval(c, n);
    RT_TRY(need_dtype(c, k, x, RT_I8, "input x"));
    double xs, ys;
    int32_t xz, yz, lo, hi;
    RT_TRY(const_f32(c, k, n, 1, "x_scale", &xs));
    RT_TRY(const_f32(c, k, n, 3, "y_scale", &ys));
    RT_TRY(const_zp(c, k, n, 2, "x_zero_point", &xz));
    RT_TRY(const_zp(c, k, n, 4, "y_zero_point", &yz));
    RT_TRY(out_range(c, k, n, &lo, &hi));
    int64_t p1[2];
    RT_TRY(avg_geom(c, k, n, x, y, p1));
    RtRequant r = rt_requant_make(xs / ys);
    char p0[96], py[96];
    ec_tpl_use(c, "k_qavgpool_i8");
    text_buf_printf(&c->body, "    wk_qavgpool_i8(%s, %ld, %ld, %ld, %ld, %ld, %ld, %s, &n%d_g, %lld, %lld, %d);\n",
                    P(c, n, 0, p0), (long)xz, (long)r.mult, (long)r.shift, (long)yz, (long)lo, (long)hi, Y(c, n, py), k,
                    (long long)p1[0], (long long)p1[1], (int)rt_attr_int(n, "count_include_pad", 0));
    return RT_OK;
}

/* QConcat(y_scale, y_zp, (x, x_scale, x_zp)...): each input's rows copied when its scale, zero
 * point and dtype equal the output's (M = 1 is exact), else requantized to the output's. */
static int e_qconcat(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *y = yval(c, n);
    if (n->n_in < 5 || (n->n_in - 2) % 3 != 0) return ec_fail(c, k, RT_ERR, "QConcat takes y_scale, y_zp and triples");
    double sy;
    int32_t zy, lo, hi;
    RT_TRY(const_f32(c, k, n, 0, "y_scale", &sy));
    RT_TRY(const_zp(c, k, n, 1, "y_zero_point", &zy));
    RT_TRY(out_range(c, k, n, &lo, &hi));
    int64_t ax = rt_attr_int(n, "axis", 0);
    if (ax < 0) ax += y->rank;
    if (ax < 0 || ax >= y->rank) return ec_fail(c, k, RT_ERR, "attribute axis is out of range");
    int64_t outer = rt_shape_numel((int)ax, y->dims), row = rt_numel(y) / (outer ? outer : 1), at = 0;
    char py[96], pi[96];
    Y(c, n, py);
    for (int j = 2; j + 2 < n->n_in; j += 3) {
        const RtTensor *x = vin(c, n, j);
        RT_TRY(need_dtype(c, k, x, RT_I8, "input x"));
        double sx;
        int32_t zx;
        RT_TRY(const_f32(c, k, n, j + 1, "x_scale", &sx));
        RT_TRY(const_zp(c, k, n, j + 2, "x_zero_point", &zx));
        int64_t chunk = rt_numel(x) / (outer ? outer : 1);
        RtRequant r = rt_requant_make(sx / sy);
        int same = (float)sx == (float)sy && zx == zy;
        text_buf_printf(&c->body, "    {\n        int32_t o;\n        for (o = 0; o < %lld; o++)\n", (long long)outer);
        if (same)
            text_buf_printf(&c->body, "            memcpy(%s + (size_t)o * %lld + %lld, %s + (size_t)o * %lld, %lld);\n    }\n",
                            py, (long long)row, (long long)at, P(c, n, j, pi), (long long)chunk, (long long)chunk);
        else {
            ec_tpl_use(c, "k_qrequant_i8");
            text_buf_printf(&c->body,
                            "            wk_qrequant_i8(%s + (size_t)o * %lld, %lld, %ld, %ld, %ld, %ld, %ld, %ld, "
                            "%s + (size_t)o * %lld + %lld);\n    }\n",
                            P(c, n, j, pi), (long long)chunk, (long long)chunk, (long)zx, (long)r.mult, (long)r.shift,
                            (long)zy, (long)lo, (long)hi, py, (long long)row, (long long)at);
        }
        at += chunk;
    }
    return RT_OK;
}

static int e_linear_nbits(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *wp = kin(c, n, 1), *sc = kin(c, n, 2), *zs = kin(c, n, 3), *gi = kin(c, n, 4);
    const RtTensor *b = vin(c, n, 5);
    RT_TRY(need_dtype(c, k, x, RT_F32, "input X"));
    if (!wp || !sc || !zs || sc->dtype != RT_F32 || zs->dtype != RT_U8 || wp->dtype != RT_U8 || sc->rank < 1)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "packed weights, scales and zeros must be constants (u8, f32, u8)");
    if (n->n_in > 4 && n->in[4] >= 0 && (!gi || gi->dtype != RT_I32))
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "g_idx must be an int32 constant");
    if (b) RT_TRY(need_dtype(c, k, b, RT_F32, "bias B"));
    int64_t bits = rt_attr_int(n, "bits", 4), group = rt_attr_int(n, "group", 0);
    int64_t K = x->dims[x->rank - 1], N = sc->dims[0], NG = N ? rt_numel(sc) / N : 0, R = K ? rt_numel(x) / K : 0;
    if (!rt_qblock_bits_ok((int)bits)) return ec_fail(c, k, RT_ERR, "attribute bits = %lld is not 2, 3, 4 or 8", (long long)bits);
    int kind;
    char al[48], be[48], p0[96], p1[96], p2[96], p3[96], p4[96], p5[96], py[96];
    RT_TRY(act_read(c, k, n, &kind, al, be));
    ec_tpl_use(c, "k_linear_nbits");
    text_buf_printf(&c->body,
                    "    wk_linear_nbits(%s, %s, %lld, %lld, %lld, %s, %lld, %d, %s, %s, %lld, %lld, %s, %s, %d, %s, "
                    "%s);\n",
                    P(c, n, 0, p0), Y(c, n, py), (long long)R, (long long)K, (long long)N, P(c, n, 1, p1),
                    (long long)rt_qblock_row_bytes((int)bits, K), (int)bits, P(c, n, 2, p2), P(c, n, 3, p3),
                    (long long)NG, (long long)(group > 0 ? group : (K > 0 ? K : 1)), P(c, n, 4, p4), P(c, n, 5, p5),
                    kind, al, be);
    return RT_OK;
}

/* onnxruntime's MatMulNBits (com.microsoft; the int4 models its quantizer and
 * onnxruntime-genai write): the codes, scales and zero points stay as the file has them and
 * k_matmul_nbits decodes one output row of W at a time into arena scratch (K floats,
 * ec_plan). B, scales, zero points and g_idx must be constants; A float32. */
static int e_matmul_nbits(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *a = vin(c, n, 0), *b = kin(c, n, 1), *sc = kin(c, n, 2), *zp = kin(c, n, 3), *gi = kin(c, n, 4);
    const RtTensor *bias = vin(c, n, 5);
    RT_TRY(need_dtype(c, k, a, RT_F32, "input A"));
    int64_t K = rt_attr_int(n, "K", -1), N = rt_attr_int(n, "N", -1), bits = rt_attr_int(n, "bits", 4);
    int64_t block = rt_attr_int(n, "block_size", -1);
    if (K < 0 || N < 0 || bits < 2 || bits > 8 || block < 16 || (block & (block - 1)) != 0)
        return ec_fail(c, k, RT_ERR, "attributes K, N, bits (2..8) and block_size (a power of 2 >= 16) are required");
    int64_t n_blocks = (K + block - 1) / block, blob = block * bits / 8, zp_row = (n_blocks * bits + 7) / 8;
    if (!b || !sc || (n->n_in > 3 && n->in[3] >= 0 && !zp) || (n->n_in > 4 && n->in[4] >= 0 && !gi))
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "B, scales, zero_points and g_idx must be constants for emit-c");
    if (b->dtype != RT_U8 || rt_numel(b) != N * n_blocks * blob || sc->dtype != RT_F32 || rt_numel(sc) != N * n_blocks)
        return ec_fail(c, k, RT_ERR, "B must be uint8 [N, n_blocks, blob] and scales float32 [N * n_blocks]");
    if (zp && !((zp->dtype == RT_U8 && rt_numel(zp) == N * zp_row) || (zp->dtype == RT_F32 && rt_numel(zp) == N * n_blocks)))
        return ec_fail(c, k, RT_ERR, "zero_points must be uint8 packed [N, %lld] or float32 [N, %lld]", (long long)zp_row,
                       (long long)n_blocks);
    if (gi) {
        if (gi->dtype != RT_I32 || rt_numel(gi) != K) return ec_fail(c, k, RT_ERR, "g_idx must be int32 [K]");
        for (int64_t j = 0; j < K; j++)
            if (((const int32_t *)gi->data)[j] < 0 || ((const int32_t *)gi->data)[j] >= n_blocks)
                return ec_fail(c, k, RT_ERR, "g_idx[%lld] is outside [0, %lld)", (long long)j, (long long)n_blocks);
    }
    if (bias) RT_TRY(need_dtype(c, k, bias, RT_F32, "bias"));
    if (a->rank < 1 || a->dims[a->rank - 1] != K) return ec_fail(c, k, RT_ERR, "A's last dimension must be K");
    char pb[96], ps[96], pz[96], pg[96], pbias[96], pa[96], py[96];
    int zu8 = zp && zp->dtype == RT_U8, zf = zp && zp->dtype == RT_F32;
    text_buf_printf(&c->decl, "static const wk_mnb n%d_mnb = {%s, %s, %s, %s, %s, %s, %lld, %lld, %lld, %lld, %lld, %lld, %lld};\n",
                    k, P(c, n, 1, pb), P(c, n, 2, ps), zu8 ? P(c, n, 3, pz) : "NULL",
                    zf ? P(c, n, 3, pz) : "NULL", gi ? P(c, n, 4, pg) : "NULL", bias ? P(c, n, 5, pbias) : "NULL",
                    (long long)K, (long long)N, (long long)bits, (long long)block, (long long)n_blocks, (long long)blob,
                    (long long)zp_row);
    ec_tpl_use(c, "k_matmul_nbits");
    text_buf_printf(&c->body, "    wk_matmul_nbits(%s, %s, %lld, &n%d_mnb, (float *)(A + %lld));\n", P(c, n, 0, pa), Y(c, n, py),
                    (long long)(K ? rt_numel(a) / K : 0), k, (long long)c->scratch_off[k]);
    return RT_OK;
}

/* ---------------------------------------------------------------- the table */

const EcOpEntry ec_ops_core[] = {
    {RT_OP_CONV, e_conv},
    {RT_OP_FUSED_CONV, e_conv},
    {RT_OP_LINEAR, e_linear},
    {RT_OP_MATMUL, e_matmul},
    {RT_OP_LAYER_NORMALIZATION, e_layer_norm},
    {RT_OP_GATHER, e_gather},
    {RT_OP_TRANSPOSE, e_transpose},
    {RT_OP_MAX_POOL, e_max_pool},
    {RT_OP_GLOBAL_AVERAGE_POOL, e_global_average_pool},
    {RT_OP_SOFTMAX, e_softmax},
    {RT_OP_AVERAGE_POOL, e_average_pool},
    {RT_OP_CONCAT, e_concat},
    {RT_OP_FLATTEN, e_alias},
    {RT_OP_RESHAPE, e_alias},
    {RT_OP_SQUEEZE, e_alias},
    {RT_OP_UNSQUEEZE, e_alias},
    {RT_OP_IDENTITY, e_alias},
    {RT_OP_DROPOUT, e_dropout},
    {RT_OP_QUANTIZE_LINEAR, e_qdq},
    {RT_OP_DEQUANTIZE_LINEAR, e_qdq},
    {RT_OP_QCONV, e_qconv_qlinear},
    {RT_OP_QLINEAR, e_qconv_qlinear},
    {RT_OP_QADD, e_qadd_qmul},
    {RT_OP_QMUL, e_qadd_qmul},
    {RT_OP_QAVERAGE_POOL, e_qavgpool},
    {RT_OP_QCONCAT, e_qconcat},
    {RT_OP_QGLOBAL_AVERAGE_POOL, e_qgap},
    {RT_OP_QLUT, e_qlut},
    {RT_OP_LINEAR_NBITS, e_linear_nbits},
    {RT_OP_MATMUL_NBITS, e_matmul_nbits},
    {0, NULL},
};

int ec_node_emit(EcCtx *c, int k) {
    static const EcOpEntry *const tables[] = {ec_ops_core, ec_ops_qcontrib, ec_ops_math, ec_ops_reduce, ec_ops_tensor,
                                               ec_ops_seq, ec_ops_text};
    const RtNode *n = &c->g->nodes[k];
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
        for (const EcOpEntry *e = tables[t]; e->fn; e++)
            if (e->op == (int)n->op) {
                text_buf_printf(&c->body, "    /* node %d: %s */\n", k, n->op_type ? n->op_type : "?");
                return e->fn(c, k, n);
            }
    return ec_fail(c, k, RT_ERR_UNSUPPORTED, "emit-c has no C kernel for this op");
}
