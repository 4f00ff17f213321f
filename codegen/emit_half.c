/*
 * emit_half.c — float16 and bfloat16 models in emit-c, computed in float32 as the runtime
 * computes them.
 *
 * C99 has no 16-bit float type, and the runtime's kernels compute a float16 / bfloat16 op by
 * widening its inputs to float32, computing in float32 and rounding the result to the type
 * once (runtime/kernels/ref: conv.c, linalg.c, binary.c, unary.c ...). emit-c does the same
 * with its float32 kernels:
 *   lower    a float32 view of the graph (EcHalf.g, a shallow copy: its own values[] and
 *            nodes[]): float16 / bfloat16 constants widened (exact), graph inputs declared
 *            float32, and the ops whose attribute names the type (Cast to, EyeLike dtype,
 *            ConstantOfShape value) asking for float32 instead; the planner then gives float32
 *            to exactly the values that were float16 / bfloat16 (ec_half_check refuses, by
 *            node, anything else), and EcHalf.half[v] remembers the 16-bit type of each.
 *   round    after the node that writes such a value, each element is rounded to the type
 *            (wk_f32_to_f16 then back, ties to even), so the arena holds float16 numbers as
 *            floats and every op reads what the runtime's reads;
 *   I/O      the caller's inputs and outputs keep the model's types: 16-bit patterns
 *            (uint16_t), widened into the arena before the first node and rounded into
 *            outputs[i] after the last (ec_plan keeps such inputs and outputs in the arena).
 * Memory: a 16-bit value takes 4 bytes in the arena (the planner's sizes are float32's).
 */
#include <stdlib.h>
#include <string.h>

#include "emit_internal.h"

static int is_half(RtDtype t) { return t == RT_F16 || t == RT_BF16; }

static void *owned_add(EcHalf *h, void *p) {
    if (!p) return NULL;
    void **o = realloc(h->owned, sizeof *o * (size_t)(h->n_owned + 1));
    if (!o) {
        free(p);
        return NULL;
    }
    h->owned = o;
    h->owned[h->n_owned++] = p;
    return p;
}

/* A float32 copy of the float16 / bfloat16 tensor t (values exact), owned by h. */
static RtTensor *tensor_widen(EcHalf *h, const RtTensor *t) {
    RtTensor *w = owned_add(h, calloc(1, sizeof *w));
    if (!w) return NULL;
    *w = *t;
    w->dtype = RT_F32;
    int64_t n = rt_numel(t);
    float *d = owned_add(h, malloc(sizeof(float) * (size_t)(n > 0 ? n : 1)));
    if (!d) return NULL;
    const uint16_t *s = t->data;
    for (int64_t i = 0; i < n; i++) d[i] = t->dtype == RT_F16 ? rt_f16_to_f32(s[i]) : rt_bf16_to_f32(s[i]);
    w->data = d;
    return w;
}

/* Node n's attributes with the 16-bit types it names made float32: a new array owned by h
 * when one changes, else n's own. NULL when out of memory. */
static RtAttr *attrs_widen(EcHalf *h, const RtNode *n) {
    RtAttr *a = n->attrs;
    for (int i = 0; i < n->n_attr; i++) {
        const RtAttr *at = &n->attrs[i];
        int type_attr = (n->op == RT_OP_CAST && strcmp(at->name, "to") == 0) ||
                        (n->op == RT_OP_EYE_LIKE && strcmp(at->name, "dtype") == 0);
        int value_attr = n->op == RT_OP_CONSTANT_OF_SHAPE && strcmp(at->name, "value") == 0 && at->t;
        if (!(type_attr && at->type == RT_ATTR_INT && is_half((RtDtype)at->i)) &&
            !(value_attr && at->type == RT_ATTR_TENSOR && is_half(at->t->dtype)))
            continue;
        if (a == n->attrs) {
            a = owned_add(h, malloc(sizeof *a * (size_t)n->n_attr));
            if (!a) return NULL;
            memcpy(a, n->attrs, sizeof *a * (size_t)n->n_attr);
        }
        if (type_attr) a[i].i = RT_F32;
        else if (!(a[i].t = tensor_widen(h, at->t))) return NULL;
    }
    return a;
}

int ec_half_lower(const IrGraph *g, const RtTensor *val, EcHalf *h, RtError *err) {
    memset(h, 0, sizeof *h);
    for (int v = 0; v < g->n_values; v++) h->any |= is_half(val[v].dtype) || is_half(g->values[v].dtype);
    if (!h->any) return RT_OK;
    h->g = *g;
    h->half = calloc((size_t)g->n_values + 1, 1);
    h->g.values = malloc(sizeof *h->g.values * ((size_t)g->n_values + 1));
    h->g.nodes = malloc(sizeof *h->g.nodes * ((size_t)g->n_nodes + 1));
    if (!h->half || !h->g.values || !h->g.nodes) return rt_error_set(err, "out of memory");
    memcpy(h->g.values, g->values, sizeof *h->g.values * (size_t)g->n_values);
    memcpy(h->g.nodes, g->nodes, sizeof *h->g.nodes * (size_t)g->n_nodes);
    for (int v = 0; v < g->n_values; v++) {
        IrValue *x = &h->g.values[v];
        RtDtype t = is_half(val[v].dtype) ? val[v].dtype : is_half(x->dtype) ? x->dtype : RT_UNDEFINED;
        if (t == RT_UNDEFINED) continue;
        h->half[v] = (unsigned char)t;
        x->dtype = RT_F32;
        if (x->konst && !(x->konst = tensor_widen(h, x->konst))) return rt_error_set(err, "out of memory");
    }
    for (int k = 0; k < g->n_nodes; k++)
        if (!(h->g.nodes[k].attrs = attrs_widen(h, &g->nodes[k])) && g->nodes[k].n_attr > 0)
            return rt_error_set(err, "out of memory");
    return RT_OK;
}

int ec_half_check(const EcHalf *h, const RtTensor *before, const RtTensor *after, RtError *err) {
    const IrGraph *g = &h->g;
    for (int v = 0; v < g->n_values; v++) {
        RtDtype want = h->half[v] ? RT_F32 : before[v].dtype;
        if (after[v].dtype == want) continue;
        int p = g->values[v].producer;
        const RtNode *n = p >= 0 ? &g->nodes[p] : NULL;
        return rt_error_set(err, "node '%s' (%s): emit-c computes float16/bfloat16 models in float32, but this op's "
                            "output '%s' would then be %s instead of %s",
                            n && n->name ? n->name : "", n ? rt_op_name(n->op) : "graph input", g->values[v].name,
                            rt_dtype_name(after[v].dtype), rt_dtype_name(h->half[v] ? (RtDtype)h->half[v] : want));
    }
    return RT_OK;
}

void ec_half_free(EcHalf *h) {
    for (int i = 0; i < h->n_owned; i++) free(h->owned[i]);
    free(h->owned);
    free(h->half);
    free(h->g.values);
    free(h->g.nodes);
    memset(h, 0, sizeof *h);
}

/* The conversion templates of type t: from the 16 bits, to them, or both (rounding). */
static void tpl_half(EcCtx *c, int t, int to_f32, int from_f32) {
    if (to_f32) ec_tpl_use(c, t == RT_F16 ? "b0_f16_to_f32" : "b0_bf16_to_f32");
    if (from_f32) ec_tpl_use(c, t == RT_F16 ? "b0_f32_to_f16" : "b0_f32_to_bf16");
}

static const char *sfx(int t) { return t == RT_F16 ? "f16" : "bf16"; }

void ec_half_inputs_emit(EcCtx *c) {
    if (!c->half) return;
    for (int i = 0; i < c->g->n_inputs; i++) {
        int v = c->g->inputs[i], t = c->half[v];
        if (!t || c->loc[v].kind != EC_LOC_ARENA || rt_numel(&c->val[v]) == 0) continue;
        char p[96];
        tpl_half(c, t, 1, 0);
        text_buf_printf(&c->body,
                        "    { /* input %d: %s bits -> float */\n        const uint16_t *h = (const uint16_t *)inputs[%d];\n"
                        "        float *x = %s;\n        int32_t e;\n        for (e = 0; e < %lld; e++) x[e] = wk_%s_to_f32(h[e]);\n    }\n",
                        i, rt_dtype_name((RtDtype)t), i, ec_ptr(c, v, 0, p, sizeof p), (long long)rt_numel(&c->val[v]), sfx(t));
    }
}

void ec_half_round_emit(EcCtx *c, int k) {
    const RtNode *n = &c->g->nodes[k];
    if (!c->half || ec_is_alias_op(n->op)) return; /* an alias holds its input's (rounded) numbers */
    for (int j = 0; j < n->n_out; j++) {
        int v = n->out[j], t = v >= 0 ? c->half[v] : 0;
        if (!t || rt_numel(&c->val[v]) == 0 || c->loc[v].kind == EC_LOC_NONE) continue;
        char p[96];
        tpl_half(c, t, 1, 1);
        text_buf_printf(&c->body,
                        "    { /* node %d's output %d to %s */\n        float *x = %s;\n        int32_t e;\n"
                        "        for (e = 0; e < %lld; e++) x[e] = wk_%s_to_f32(wk_f32_to_%s(x[e]));\n    }\n",
                        k, j, rt_dtype_name((RtDtype)t), ec_ptr(c, v, 0, p, sizeof p), (long long)rt_numel(&c->val[v]),
                        sfx(t), sfx(t));
    }
}

int ec_half_output_emit(EcCtx *c, int i) {
    int v = c->g->outputs[i], t = c->half ? c->half[v] : 0;
    if (!t) return 0;
    if (rt_numel(&c->val[v]) > 0) {
        char p[96];
        tpl_half(c, t, 0, 1);
        text_buf_printf(&c->body,
                        "    { /* output %d: float -> %s bits */\n        const float *x = %s;\n"
                        "        uint16_t *h = (uint16_t *)outputs[%d];\n        int32_t e;\n"
                        "        for (e = 0; e < %lld; e++) h[e] = wk_f32_to_%s(x[e]);\n    }\n",
                        i, rt_dtype_name((RtDtype)t), ec_ptr(c, v, 1, p, sizeof p), i, (long long)rt_numel(&c->val[v]),
                        sfx(t));
    }
    return 1;
}

int64_t ec_value_io_bytes(const EcCtx *c, int v) {
    return c->half && c->half[v] ? 2 * rt_numel(&c->val[v]) : rt_nbytes(&c->val[v]);
}
