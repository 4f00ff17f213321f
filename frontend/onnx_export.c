/*
 * onnx_export.c — wafer's graph -> a graph of published ONNX ops, ready for onnx_write.
 *
 * Algorithm:
 *  1. target opset: the source's, raised to 13 when int8 ops become per-axis QDQ, to 21 when
 *     blocked or 4-bit DequantizeLinear appears (--onnx-int4 dq, or GPTQ's blocked Gemm/Conv
 *     weights), to 25 when 2-bit codes go into one (UINT2, ONNX 1.20); sources older than 13
 *     are refused when a raise is needed (too many ops changed form before 13).
 *  2. one pass over the nodes in order: wafer ops are lowered (onnx_export_q.c,
 *     onnx_export_nbits.c), a fused activation after the op (Gelu / GeluTanh as Gelu, or
 *     as below); Gelu below opset 20 becomes its Erf (or Tanh) formula; ops whose
 *     inputs changed between the source opset and the target are rewritten (Reduce* axes
 *     attribute -> input at 18, Split's num_outputs at 18); every other node is copied.
 *  3. graph inputs and outputs keep their names, dtypes and shapes.
 *  4. int8 activation chains become uint8 (onnx_export_u8.c), as onnxruntime fuses them.
 * The new graph owns copies of every constant it uses, so it outlives the source.
 */
#include "onnx_export_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ex_fail(ExCtx *x, const RtNode *n, const char *fmt, ...) {
    char msg[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    x->failed = 1;
    if (!n) return rt_error_set(x->err, "ONNX export: %s", msg);
    return rt_error_set(x->err, "ONNX export: node '%s' (%s): %s", n->name ? n->name : "", n->op_type, msg);
}

static int ex_nomem(ExCtx *x) { return ex_fail(x, NULL, "out of memory"); }

/* Adds a value named `name` (unique already) and records it in the name map. */
static int ex_value_named(ExCtx *x, const char *name) {
    int v = ir_value_add(x->g, name);
    if (v < 0 || onnx_names_put(&x->names, x->g->values[v].name, v) != 0) return ex_nomem(x), -1;
    return v;
}

/* base + suffix, with "_2", "_3", ... appended until no value has the name. */
static int ex_name_unique(ExCtx *x, const char *base, const char *suffix, char *buf, size_t n) {
    snprintf(buf, n, "%s%s", base, suffix);
    for (int i = 2; onnx_names_get(&x->names, buf) >= 0; i++) snprintf(buf, n, "%s%s_%d", base, suffix, i);
    return RT_OK;
}

int ex_fresh(ExCtx *x, const char *base, const char *suffix) {
    char name[512];
    ex_name_unique(x, base, suffix, name, sizeof name);
    return ex_value_named(x, name);
}

int ex_const(ExCtx *x, const char *base, const char *suffix, const RtTensor *t) {
    char name[512];
    ex_name_unique(x, base, suffix, name, sizeof name);
    int v = ir_const_add(x->g, name, t);
    if (v < 0 || onnx_names_put(&x->names, x->g->values[v].name, v) != 0) return ex_nomem(x), -1;
    return v;
}

int ex_const_f32(ExCtx *x, const char *base, const char *suffix, float v) {
    RtTensor t = {RT_F32, 0, {0}, &v};
    return ex_const(x, base, suffix, &t);
}

int ex_val(ExCtx *x, int sv) {
    if (sv < 0) return -1;
    if (x->map[sv] >= 0) return x->map[sv];
    const IrValue *s = &x->src->values[sv];
    int v = s->konst ? ex_const(x, s->name, "", s->konst) : ex_value_named(x, s->name);
    if (v < 0) return -1;
    IrValue *d = &x->g->values[v];
    if (!s->konst) {
        d->dtype = s->dtype;
        d->rank = s->rank;
        for (int i = 0; i < s->rank; i++) {
            d->dims[i].value = s->dims[i].value;
            d->dims[i].sym = s->dims[i].sym ? ir_strdup(x->g, s->dims[i].sym) : NULL;
        }
    }
    return x->map[sv] = v;
}

/* Adds the node and makes its name unique (see ex_node). */
static int ex_node_add(ExCtx *x, int op, const char *op_type, const char *name, int n_in, const int *in, int n_out,
                       const int *out) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", name ? name : "");
    if (buf[0] && onnx_names_get(&x->node_names, buf) >= 0) {
        snprintf(buf, sizeof buf, "%s/%s", name, op_type);
        for (int i = 2; onnx_names_get(&x->node_names, buf) >= 0; i++) snprintf(buf, sizeof buf, "%s/%s_%d", name, op_type, i);
    }
    int k = ir_node_add(x->g, op, buf, n_in, in, n_out, out);
    if (k < 0) return ex_nomem(x), -1;
    if (buf[0] && onnx_names_put(&x->node_names, x->g->nodes[k].name, k) != 0) return ex_nomem(x), -1;
    return k;
}

int ex_node(ExCtx *x, int op, const char *name, int n_in, const int *in, int n_out, const int *out) {
    if (x->failed) return -1; /* some input or output failed to be made */
    for (int i = 0; i < n_out; i++)
        if (out[i] < 0) return ex_fail(x, NULL, "internal: node '%s' has an unmade output", name), -1;
    int k = ex_node_add(x, op, rt_op_name(op), name, n_in, in, n_out, out);
    if (k < 0) return -1;
    if (x->g->nodes[k].domain[0]) x->g->nodes[k].opset = 1;
    return k;
}

static RtAttr *ex_attr_push(ExCtx *x, int k, const char *name) {
    RtNode *n = &x->g->nodes[k];
    RtAttr *a = ir_alloc(x->g, sizeof *a * (size_t)(n->n_attr + 1));
    if (!a) return ex_nomem(x), NULL;
    if (n->n_attr) memcpy(a, n->attrs, sizeof *a * (size_t)n->n_attr);
    n->attrs = a;
    RtAttr *r = &a[n->n_attr++];
    memset(r, 0, sizeof *r);
    r->name = ir_strdup(x->g, name);
    return r->name ? r : (ex_nomem(x), NULL);
}

int ex_attr_int(ExCtx *x, int k, const char *name, int64_t v) {
    RtAttr *a = ex_attr_push(x, k, name);
    if (!a) return RT_ERR;
    a->type = RT_ATTR_INT;
    a->i = v;
    return RT_OK;
}

int ex_attr_float(ExCtx *x, int k, const char *name, float v) {
    RtAttr *a = ex_attr_push(x, k, name);
    if (!a) return RT_ERR;
    a->type = RT_ATTR_FLOAT;
    a->f = v;
    return RT_OK;
}

static int ex_attr_str(ExCtx *x, int k, const char *name, const char *v) {
    RtAttr *a = ex_attr_push(x, k, name);
    const char *p = a ? ir_strdup(x->g, v) : NULL;
    if (!p) return ex_nomem(x);
    a->type = RT_ATTR_STRING;
    a->s = p;
    return RT_OK;
}

int ex_attr_ints(ExCtx *x, int k, const char *name, int n, const int64_t *v) {
    RtAttr *a = ex_attr_push(x, k, name);
    int64_t *p = ir_alloc(x->g, sizeof(int64_t) * (size_t)(n + 1));
    if (!a || !p) return ex_nomem(x);
    memcpy(p, v, sizeof(int64_t) * (size_t)n);
    a->type = RT_ATTR_INTS;
    a->n = n;
    a->ints = p;
    return RT_OK;
}

/* Deep copy of one attribute into the new graph's arena. */
static int ex_attr_clone(ExCtx *x, const RtNode *src, const RtAttr *s, RtAttr *d) {
    IrGraph *g = x->g;
    *d = *s;
    d->name = ir_strdup(g, s->name);
    if (!d->name) return ex_nomem(x);
    switch (s->type) {
    case RT_ATTR_STRING:
        if (s->s && !(d->s = ir_strdup(g, s->s))) return ex_nomem(x);
        break;
    case RT_ATTR_INTS: case RT_ATTR_FLOATS: {
        size_t es = s->type == RT_ATTR_INTS ? sizeof(int64_t) : sizeof(float);
        void *p = ir_alloc(g, es * (size_t)(s->n + 1));
        if (!p) return ex_nomem(x);
        if (s->n) memcpy(p, s->type == RT_ATTR_INTS ? (const void *)s->ints : (const void *)s->floats, es * (size_t)s->n);
        if (s->type == RT_ATTR_INTS) d->ints = p; else d->floats = p;
        break;
    }
    case RT_ATTR_STRINGS: {
        const char **p = ir_alloc(g, sizeof(char *) * (size_t)(s->n + 1));
        if (!p) return ex_nomem(x);
        for (int i = 0; i < s->n; i++)
            if (!(p[i] = ir_strdup(g, s->strings[i]))) return ex_nomem(x);
        d->strings = p;
        break;
    }
    case RT_ATTR_TENSOR: {
        RtTensor *t = ir_tensor_new(g, s->t->dtype, s->t->rank, s->t->dims);
        int64_t bytes = rt_nbytes(s->t);
        if (!t) return ex_nomem(x);
        if (bytes > 0) memcpy(t->data, s->t->data, (size_t)bytes);
        d->t = t;
        break;
    }
    case RT_ATTR_GRAPH:
        d->g = NULL; /* the source graph owns the subgraph: freeing the export must not free it */
        return ex_fail(x, src, "attribute '%s': subgraphs are not exported yet", s->name);
    default:
        break;
    }
    return RT_OK;
}

static int ex_name_in_list(const char *name, const char *list) {
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0) return 1;
        p = e ? e + 1 : NULL;
    }
    return 0;
}

int ex_attrs_copy(ExCtx *x, int k, const RtNode *src, const char *skip) {
    for (int i = 0; i < src->n_attr; i++) {
        if (skip && ex_name_in_list(src->attrs[i].name, skip)) continue;
        RtAttr *a = ex_attr_push(x, k, src->attrs[i].name);
        if (!a || ex_attr_clone(x, src, &src->attrs[i], a) != RT_OK) return RT_ERR;
    }
    return RT_OK;
}

static int ex_list_add(ExCtx *x, int **list, int *n, int *cap, int v) {
    if (*n == *cap) {
        int c = *cap ? 2 * *cap : 16;
        int *p = realloc(*list, sizeof(int) * (size_t)c);
        if (!p) return ex_nomem(x);
        *list = p;
        *cap = c;
    }
    (*list)[(*n)++] = v;
    return RT_OK;
}

int ex_packed4_add(ExCtx *x, int v) { return ex_list_add(x, &x->packed4, &x->n_packed4, &x->cap_packed4, v); }
int ex_packed2_add(ExCtx *x, int v) { return ex_list_add(x, &x->packed2, &x->n_packed2, &x->cap_packed2, v); }

const RtTensor *ex_src_const(ExCtx *x, const RtNode *n, int sv, const char *what) {
    if (sv < 0 || !x->src->values[sv].konst || !x->src->values[sv].konst->data)
        return ex_fail(x, n, "%s is not a constant, which the standard form needs", what), NULL;
    return x->src->values[sv].konst;
}

static const RtAttr *ex_attr_find(const RtNode *n, const char *name) {
    for (int i = 0; i < n->n_attr; i++)
        if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
    return NULL;
}

static float ex_attr_f(const RtNode *n, const char *name, float dflt) {
    const RtAttr *a = ex_attr_find(n, name);
    return a && a->type == RT_ATTR_FLOAT ? a->f : dflt;
}

/* Y = Gelu(X) (approximate "tanh" when tanh_form) as nodes named `name`: one Gelu node from
 * opset 20 on, its formula below:
 *   none: y = x * (1 + erf(x / sqrt 2)) * 0.5
 *   tanh: y = x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))) * 0.5 */
int ex_gelu_emit(ExCtx *x, const char *name, int X, int Y, int tanh_form) {
    if (X < 0 || Y < 0) return RT_ERR;
    if (x->g->opset >= 20) {
        int k = ex_node(x, RT_OP_GELU, name, 1, &X, 1, &Y);
        if (k < 0) return RT_ERR;
        return tanh_form ? ex_attr_str(x, k, "approximate", "tanh") : RT_OK;
    }
    const char *b = x->g->values[Y].name;
    int one = ex_const_f32(x, b, "_one", 1.0f), half = ex_const_f32(x, b, "_half", 0.5f);
    int t = ex_fresh(x, b, "_inner"), e = ex_fresh(x, b, "_erf"), p = ex_fresh(x, b, "_plus1"),
        m = ex_fresh(x, b, "_xmul");
    int in[2];
    if (!tanh_form) {
        in[0] = X, in[1] = ex_const_f32(x, b, "_rsqrt2", (float)(1.0 / sqrt(2.0)));
        if (ex_node(x, RT_OP_MUL, name, 2, in, 1, &t) < 0) return RT_ERR;
        if (ex_node(x, RT_OP_ERF, name, 1, &t, 1, &e) < 0) return RT_ERR;
    } else {
        int x2 = ex_fresh(x, b, "_x2"), x3 = ex_fresh(x, b, "_x3"), c3 = ex_fresh(x, b, "_cx3"),
            s = ex_fresh(x, b, "_sum");
        in[0] = X, in[1] = X;
        if (ex_node(x, RT_OP_MUL, name, 2, in, 1, &x2) < 0) return RT_ERR;
        in[0] = x2, in[1] = X;
        if (ex_node(x, RT_OP_MUL, name, 2, in, 1, &x3) < 0) return RT_ERR;
        in[0] = x3, in[1] = ex_const_f32(x, b, "_c", 0.044715f);
        if (ex_node(x, RT_OP_MUL, name, 2, in, 1, &c3) < 0) return RT_ERR;
        in[0] = X, in[1] = c3;
        if (ex_node(x, RT_OP_ADD, name, 2, in, 1, &s) < 0) return RT_ERR;
        in[0] = s, in[1] = ex_const_f32(x, b, "_k", (float)sqrt(2.0 / 3.14159265358979323846));
        if (ex_node(x, RT_OP_MUL, name, 2, in, 1, &t) < 0) return RT_ERR;
        if (ex_node(x, RT_OP_TANH, name, 1, &t, 1, &e) < 0) return RT_ERR;
    }
    in[0] = e, in[1] = one;
    if (ex_node(x, RT_OP_ADD, name, 2, in, 1, &p) < 0) return RT_ERR;
    in[0] = X, in[1] = p;
    if (ex_node(x, RT_OP_MUL, name, 2, in, 1, &m) < 0) return RT_ERR;
    in[0] = m, in[1] = half;
    return ex_node(x, RT_OP_MUL, name, 2, in, 1, &Y) < 0 ? RT_ERR : RT_OK;
}

int ex_activation(ExCtx *x, const RtNode *n, int y, int out) {
    const RtAttr *a = ex_attr_find(n, "activation");
    const char *act = a && a->type == RT_ATTR_STRING && a->s ? a->s : "";
    if (!act[0]) return y;
    const char *base = x->g->values[y].name;
    if (out < 0 && (out = ex_fresh(x, base, "_act")) < 0) return -1;
    int k;
    if (strcmp(act, "Relu") == 0 || strcmp(act, "Sigmoid") == 0) {
        k = ex_node(x, act[0] == 'R' ? RT_OP_RELU : RT_OP_SIGMOID, n->name, 1, &y, 1, &out);
    } else if (strcmp(act, "Clip") == 0) {
        int in[3] = {y, ex_const_f32(x, base, "_clip_min", ex_attr_f(n, "alpha", -INFINITY)),
                     ex_const_f32(x, base, "_clip_max", ex_attr_f(n, "beta", INFINITY))};
        k = ex_node(x, RT_OP_CLIP, n->name, 3, in, 1, &out);
    } else if (strcmp(act, "LeakyRelu") == 0) {
        k = ex_node(x, RT_OP_LEAKY_RELU, n->name, 1, &y, 1, &out);
        if (k >= 0 && ex_attr_float(x, k, "alpha", ex_attr_f(n, "alpha", 0.01f)) != RT_OK) return -1;
    } else if (strcmp(act, "HardSigmoid") == 0) {
        k = ex_node(x, RT_OP_HARD_SIGMOID, n->name, 1, &y, 1, &out);
        if (k >= 0 && (ex_attr_float(x, k, "alpha", ex_attr_f(n, "alpha", 0.2f)) != RT_OK ||
                       ex_attr_float(x, k, "beta", ex_attr_f(n, "beta", 0.5f)) != RT_OK))
            return -1;
    } else if (strcmp(act, "Gelu") == 0 || strcmp(act, "GeluTanh") == 0) {
        k = ex_gelu_emit(x, n->name, y, out, act[4] != '\0') == RT_OK ? 0 : -1;
    } else {
        return ex_fail(x, n, "activation '%s' has no export", act), -1;
    }
    return k < 0 ? -1 : out;
}

/* ---- default-domain nodes ---- */

static int ex_is_reduce_axes18(int op) {
    return op == RT_OP_REDUCE_MEAN || op == RT_OP_REDUCE_MAX || op == RT_OP_REDUCE_MIN ||
           op == RT_OP_REDUCE_PROD || op == RT_OP_REDUCE_L1 || op == RT_OP_REDUCE_L2 ||
           op == RT_OP_REDUCE_LOG_SUM || op == RT_OP_REDUCE_LOG_SUM_EXP || op == RT_OP_REDUCE_SUM_SQUARE;
}

/* A default-domain node copied, with the input changes of opset 18 applied when the export
 * crosses it. */
static int ex_copy_node(ExCtx *x, const RtNode *n) {
    /* scratch in the arena (ir_node_add copies them): one more input for a moved axes */
    int *in = ir_alloc(x->g, sizeof(int) * (size_t)(n->n_in + 2)), *out = ir_alloc(x->g, sizeof(int) * (size_t)(n->n_out + 1));
    if (!in || !out) return ex_nomem(x);
    for (int i = 0; i < n->n_in; i++) {
        in[i] = -1;
        if (n->in[i] >= 0 && (in[i] = ex_val(x, n->in[i])) < 0) return RT_ERR;
    }
    /* unused optional outputs (-1) get names: the writer needs one per declared output slot */
    for (int i = 0; i < n->n_out; i++) {
        out[i] = n->out[i] >= 0 ? ex_val(x, n->out[i]) : ex_fresh(x, n->name, "_unused");
        if (out[i] < 0) return RT_ERR;
    }
    int n_in = n->n_in, crosses18 = x->src->opset < 18 && x->g->opset >= 18;
    const RtAttr *axes = ex_attr_find(n, "axes");
    const char *skip = NULL;
    if (crosses18 && ex_is_reduce_axes18(n->op) && axes) {
        RtTensor t = {RT_I64, 1, {axes->n}, (void *)axes->ints};
        in[n_in++] = ex_const(x, n->name, "_axes", &t);
        if (in[n_in - 1] < 0) return RT_ERR;
        skip = "axes";
    }
    int k = ex_node_add(x, n->op, n->op_type, n->name, n_in, in, n->n_out, out);
    if (k < 0) return RT_ERR;
    RtNode *d = &x->g->nodes[k];
    d->op_type = ir_strdup(x->g, n->op_type);
    d->domain = ir_strdup(x->g, n->domain ? n->domain : "");
    if (d->domain[0]) d->opset = n->opset > 0 ? n->opset : 1;
    if (ex_attrs_copy(x, k, n, skip) != RT_OK) return RT_ERR;
    if (crosses18 && n->op == RT_OP_SPLIT && (n->n_in < 2 || n->in[1] < 0) && !ex_attr_find(n, "num_outputs"))
        return ex_attr_int(x, k, "num_outputs", n->n_out);
    return RT_OK;
}

/* ---- the driver ---- */

static int ex_is_wafer_q(int op) {
    return op == RT_OP_QCONV || op == RT_OP_QLINEAR || op == RT_OP_QADD || op == RT_OP_QMUL ||
           op == RT_OP_QAVERAGE_POOL || op == RT_OP_QGLOBAL_AVERAGE_POOL || op == RT_OP_QCONCAT || op == RT_OP_QLUT;
}

/* The opset the lowered graph needs (step 1). */
static int ex_target_opset(ExCtx *x) {
    const IrGraph *s = x->src;
    int need = s->opset;
    for (int k = 0; k < s->n_nodes; k++) {
        const RtNode *n = &s->nodes[k];
        int want = 0;
        if (ex_is_wafer_q(n->op)) want = 13;
        if (n->op == RT_OP_QLUT) want = ex_lut_opset(n); /* the tabulated op's: HardSwish 14, Gelu 20 */
        if (n->op == RT_OP_LINEAR_NBITS && ex_nbits_uses_dq(x, n)) /* blocked DequantizeLinear; 2-bit codes as */
            want = ex_attr_find(n, "bits") && ex_attr_find(n, "bits")->i == 2 ? 25 : 21; /* UINT2 from opset 25 */
        if (n->op == RT_OP_QUANTIZE_LINEAR || n->op == RT_OP_DEQUANTIZE_LINEAR) {
            const RtAttr *b = ex_attr_find(n, "block_size");
            want = b && b->i > 0 ? 21 : ex_attr_find(n, "axis") ? 13 : 10;
        }
        if (want > need) need = want;
    }
    if (need > s->opset && s->opset < 13)
        return ex_fail(x, NULL, "the model's opset %d is below 13; the quantized export needs opset %d "
                       "(re-export the float model at opset 13 or later)", s->opset, need), -1;
    return need;
}

static int ex_node_lower(ExCtx *x, const RtNode *n) {
    switch (n->op) {
    case RT_OP_QCONV: case RT_OP_QLINEAR: case RT_OP_QADD: case RT_OP_QMUL:
    case RT_OP_QAVERAGE_POOL: case RT_OP_QGLOBAL_AVERAGE_POOL: case RT_OP_QCONCAT: case RT_OP_QLUT:
        return ex_lower_q(x, n);
    case RT_OP_FUSED_CONV: case RT_OP_LINEAR:
        return ex_lower_float(x, n);
    case RT_OP_LINEAR_NBITS:
        return ex_lower_nbits(x, n);
    case RT_OP_GELU:
        if (x->g->opset < 20) {
            const RtAttr *a = ex_attr_find(n, "approximate");
            int tanh_form = a && a->type == RT_ATTR_STRING && a->s && strcmp(a->s, "tanh") == 0;
            return ex_gelu_emit(x, n->name, ex_val(x, n->in[0]), ex_val(x, n->out[0]), tanh_form);
        }
        return ex_copy_node(x, n);
    case RT_OP_LAYER_NORMALIZATION:
        if (x->g->opset < 17) return ex_fail(x, n, "LayerNormalization needs opset 17 (the model has %d)", x->g->opset);
        return ex_copy_node(x, n);
    case RT_OP_QUANTIZE_LINEAR: case RT_OP_CAST: {
        /* a 4- or 2-bit activation is held widened: the writer would declare it int8 / uint8,
         * beside a node that makes int4 (only constants are written packed) */
        const RtAttr *a = ex_attr_find(n, n->op == RT_OP_CAST ? "to" : "output_dtype");
        int64_t t = a && a->type == RT_ATTR_INT ? a->i : 0;
        if (t == 21 || t == 22 || t == 25 || t == 26)
            return ex_fail(x, n, "a %s activation has no ONNX export yet (type %lld)",
                           t == 21 ? "uint4" : t == 22 ? "int4" : t == 25 ? "uint2" : "int2", (long long)t);
        return ex_copy_node(x, n);
    }
    default:
        if (n->domain && strcmp(n->domain, "wafer") == 0) return ex_fail(x, n, "wafer op without an ONNX export");
        return ex_copy_node(x, n);
    }
}

static int ex_run(ExCtx *x) {
    const IrGraph *s = x->src;
    int opset = ex_target_opset(x);
    if (opset < 0) return RT_ERR;
    IrGraph *g = x->g;
    g->opset = opset;
    g->ir_version = s->ir_version;
    g->name = ir_strdup(g, s->name && s->name[0] ? s->name : "wafer");
    g->path = ir_strdup(g, s->path ? s->path : "");
    g->producer_name = ir_strdup(g, "wafer");
    g->inputs = malloc(sizeof(int) * (size_t)(s->n_inputs + 1));
    g->outputs = malloc(sizeof(int) * (size_t)(s->n_outputs + 1));
    if (!g->name || !g->path || !g->producer_name || !g->inputs || !g->outputs) return ex_nomem(x);
    for (int i = 0; i < s->n_inputs; i++)
        if ((g->inputs[g->n_inputs++] = ex_val(x, s->inputs[i])) < 0) return RT_ERR;
    for (int k = 0; k < s->n_nodes; k++)
        if (ex_node_lower(x, &s->nodes[k]) != RT_OK) return RT_ERR;
    for (int i = 0; i < s->n_outputs; i++)
        if ((g->outputs[g->n_outputs++] = ex_val(x, s->outputs[i])) < 0) return RT_ERR;
    return ex_activations_u8(x);
}

int onnx_export_lower(const IrGraph *src, const OnnxExportOptions *o, OnnxExport *ex, RtError *err) {
    static const OnnxExportOptions dflt = {ONNX_INT4_NBITS, NULL};
    memset(ex, 0, sizeof *ex);
    ExCtx x;
    memset(&x, 0, sizeof x);
    x.src = src;
    x.o = o ? o : &dflt;
    x.err = err;
    x.g = ir_graph_new();
    x.map = malloc(sizeof(int) * (size_t)(src->n_values + 1));
    int r = x.g && x.map ? RT_OK : ex_nomem(&x);
    if (r == RT_OK) {
        for (int i = 0; i < src->n_values; i++) x.map[i] = -1;
        r = ex_run(&x);
    }
    free(x.map);
    onnx_names_free(&x.names);
    onnx_names_free(&x.node_names);
    if (r != RT_OK) {
        ir_graph_free(x.g);
        free(x.packed4);
        free(x.packed2);
        return RT_ERR;
    }
    ex->g = x.g;
    ex->packed4 = x.packed4;
    ex->n_packed4 = x.n_packed4;
    ex->packed2 = x.packed2;
    ex->n_packed2 = x.n_packed2;
    return RT_OK;
}

void onnx_export_free(OnnxExport *ex) {
    ir_graph_free(ex->g);
    free(ex->packed4);
    free(ex->packed2);
    memset(ex, 0, sizeof *ex);
}

int onnx_export_file(const IrGraph *src, const OnnxExportOptions *o, const char *path, RtError *err) {
    OnnxExport ex;
    if (onnx_export_lower(src, o, &ex, err) != RT_OK) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        err->msg[0] = '\0';
        return rt_error_set(err, "%s: %s", path, msg);
    }
    OnnxWriteOptions w = {o ? o->producer_version : NULL, ex.packed4, ex.n_packed4, ex.packed2, ex.n_packed2};
    int r = onnx_write_file(ex.g, &w, path, err);
    onnx_export_free(&ex);
    return r;
}
