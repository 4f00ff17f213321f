/*
 * onnx_contrib.c — models onnxruntime optimized (saved with optimized_model_filepath, the
 * published "model_optimized.onnx" files): its float contrib ops are rewritten, as the model
 * loads, into the standard ONNX ops they mean, so passes, quantization, GPTQ, emit-c, ONNX
 * export and the runtime see one form, and wafer's own fusion passes fuse it again for speed
 * (Conv + Relu/Clip/... -> wafer FusedConv, MatMul + Add + Gelu -> Linear, the LayerNorm and
 * erf-GELU chains -> LayerNormalization / Gelu).
 *
 * Semantics follow onnxruntime's docs/ContribOperators.md and its CPU kernels:
 *   FusedConv(X, W, B?, Z?)  act(Conv(X, W, B) + Z); activation Relu Tanh Sigmoid Silu (none),
 *                            LeakyRelu [alpha], Clip [min, max], HardSigmoid [alpha, beta] in
 *                            activation_params (exactly that many, as onnxruntime checks)
 *   FusedGemm(A, B, C?)      act(Gemm(...)); activation_alpha/_beta/_gamma are the activation
 *                            op's alpha/beta/gamma (absent: the ONNX op's default)
 *   FusedMatMul(A, B)        alpha * op(A) @ op(B): transBatch moves the first dim of an
 *                            [d0, d1 .. dr-2, dr-1] input next to the last,
 *                            perm [1 .. r-2, 0, r-1]; trans then swaps the last two dims
 *   Gelu(X)                  0.5 x (1 + erf(x / sqrt 2));  BiasGelu(A, B) = Gelu(A + B)
 *   FastGelu(X, bias?)       0.5 x (1 + tanh(0.797885 x + 0.035677 x^3)), x = X + bias
 *   QuickGelu(X)             x * Sigmoid(alpha x), alpha 1.702 by default
 *   BiasAdd(X, bias, skip)   X + bias + skip
 *   SkipLayerNormalization(input, skip, gamma, beta?, bias?)       LayerNorm(s) over the last
 *                            axis, s = input + skip (+ bias) (output 3), epsilon 1e-12 by
 *                            default; outputs mean and inv_std_var as LayerNormalization's
 *   SkipSimplifiedLayerNormalization(input, skip, gamma, bias?)    RMS norm of s, s as above
 *   SimplifiedLayerNormalization(X, scale) (domain "")  x / sqrt(mean(x^2) + eps) * scale over
 *                            the axes from `axis` (default -1), eps 1e-5; inv_std_var output
 *   Attention, MultiHeadAttention, EmbedLayerNormalization   onnx_contrib_attention.c
 * Gelu (opset 20) and LayerNormalization (opset 17) are used when the model's opset has them;
 * below, the primitive chains fuse_gelu.c and fuse_layernorm.c recognize (Div/Erf/Add/Mul/Mul,
 * ReduceMean/Sub/Mul/ReduceMean/Add/Sqrt/Div/Mul/Add); RMS norms and FastGelu's tanh form are
 * always chains. The node doing the real work (Conv, Gemm, MatMul) keeps the original name
 * (so --exclude still names it); the others are "<name>/<Op>"; new values "<output>_<what>".
 *
 * Algorithm, per graph (subgraphs first): the node list is rebuilt in order, each contrib
 * node replaced by its chain in place (inputs are defined before it, so the order stays
 * topological). A rewrite that needs a rank (FusedMatMul's transposes, an axis other than -1)
 * or the data's float type (its constants), when the file declares neither, waits: shape
 * inference runs and the list is rebuilt again; what is still unknown then is an error
 * naming the node (the dtype defaults to float32, the type of every CPU contrib kernel).
 */
#include "onnx_contrib_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONTRIB_MS "com.microsoft"
typedef int (*LowerFn)(ContribLow *L);

/* ---------------------------------------------------------------- messages, attributes */

int contrib_fail(ContribLow *L, const char *fmt, ...) {
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return onnx_fail(L->ctx, "%s: %s", L->nd, msg);
}

int contrib_oom(ContribLow *L) { return contrib_fail(L, "out of memory"); }

const RtAttr *contrib_attr(const ContribLow *L, const char *name) {
    for (int i = 0; i < L->n.n_attr; i++)
        if (strcmp(L->n.attrs[i].name, name) == 0) return &L->n.attrs[i];
    return NULL;
}

int contrib_int(ContribLow *L, const char *name, int64_t def, int64_t *v) {
    const RtAttr *a = contrib_attr(L, name);
    *v = def;
    if (!a) return RT_OK;
    if (a->type != RT_ATTR_INT) return contrib_fail(L, "attribute '%s' must be an int", name);
    *v = a->i;
    return RT_OK;
}

int contrib_float(ContribLow *L, const char *name, float def, float *v) {
    const RtAttr *a = contrib_attr(L, name);
    *v = def;
    if (!a) return RT_OK;
    if (a->type != RT_ATTR_FLOAT) return contrib_fail(L, "attribute '%s' must be a float", name);
    *v = a->f;
    return RT_OK;
}

/* Every attribute of the node is in `allowed` (comma-separated). */
int contrib_attrs_check(ContribLow *L, const char *allowed) {
    for (int i = 0; i < L->n.n_attr; i++) {
        const char *name = L->n.attrs[i].name;
        size_t len = strlen(name);
        int ok = 0;
        for (const char *p = allowed; *p && !ok;) {
            const char *e = strchr(p, ',');
            size_t m = e ? (size_t)(e - p) : strlen(p);
            ok = m == len && strncmp(p, name, m) == 0;
            p += m + (e ? 1 : 0);
        }
        if (!ok) return contrib_fail(L, "attribute '%s' is not one of %s's (%s)", name, L->n.op_type, allowed);
    }
    return RT_OK;
}

int contrib_in(const ContribLow *L, int i) { return i < L->n.n_in ? L->n.in[i] : -1; }
int contrib_out(const ContribLow *L, int i) { return i < L->n.n_out ? L->n.out[i] : -1; }

/* The float type of the node's data, from its first input whose type is known. */
int contrib_dtype(ContribLow *L) {
    for (int i = 0; i < L->n.n_in; i++) {
        int v = L->n.in[i];
        if (v >= 0 && rt_dtype_is_float(L->g->values[v].dtype)) {
            L->dt = L->g->values[v].dtype;
            return RT_OK;
        }
    }
    if (!L->final) return CONTRIB_PENDING;
    L->dt = RT_F32;
    return RT_OK;
}

/* The rank of value v, or CONTRIB_PENDING / an error (naming `what`) when it is not known. */
int contrib_rank(ContribLow *L, int v, const char *what, int *rank) {
    *rank = L->g->values[v].rank;
    if (*rank >= 0) return RT_OK;
    if (!L->final) return CONTRIB_PENDING;
    return contrib_fail(L, "the rank of input '%s' is not known (needed for %s)", L->g->values[v].name, what);
}

/* ---------------------------------------------------------------- values and nodes */

/* A new computed value named after the node's first output; -2 when out of memory (so
 * contrib_emit tells it from -1, an absent optional input). The constants below do the same. */
int contrib_value(ContribLow *L, const char *what) {
    const char *name = ir_value_name_fresh(L->g, L->g->values[L->n.out[0]].name, what);
    int v = name ? ir_value_add(L->g, name) : -1;
    return v < 0 ? -2 : v;
}

static int contrib_const(ContribLow *L, const char *what, RtTensor *t) {
    int v = t ? contrib_value(L, what) : -2;
    if (v < 0) return -2;
    L->g->values[v].konst = t;
    ir_value_set_shape(&L->g->values[v], t->dtype, t->rank, t->dims);
    return v;
}

/* A scalar constant of the data's float type. */
int contrib_scalar(ContribLow *L, const char *what, double x) {
    RtTensor *t = ir_tensor_new(L->g, L->dt, 0, NULL);
    if (!t) return -2;
    switch (L->dt) {
    case RT_F64: *(double *)t->data = x; break;
    case RT_F16: *(uint16_t *)t->data = rt_f32_to_f16((float)x); break;
    case RT_BF16: *(uint16_t *)t->data = rt_f32_to_bf16((float)x); break;
    default: *(float *)t->data = (float)x; break;
    }
    return contrib_const(L, what, t);
}

int contrib_ints(ContribLow *L, const char *what, int n, const int64_t *x) {
    int64_t d = n;
    RtTensor *t = ir_tensor_new(L->g, RT_I64, 1, &d);
    if (!t) return -2;
    if (n) memcpy(t->data, x, sizeof(int64_t) * (size_t)n);
    return contrib_const(L, what, t);
}

/* Appends op(in) -> out, named "<name>/<suffix>" (the original name when suffix is NULL).
 * Returns the node's index, or -1 with the error set. */
int contrib_emit(ContribLow *L, int op, const char *suffix, int n_in, const int *in, int n_out, const int *out) {
    for (int j = 0; j < n_in; j++)
        if (in[j] < -1) return contrib_oom(L), -1; /* a constant or value that could not be made */
    for (int j = 0; j < n_out; j++)
        if (out[j] < -1) return contrib_oom(L), -1;
    char name[600];
    const char *base = L->n.name ? L->n.name : "";
    if (suffix) snprintf(name, sizeof name, "%s/%s", base, suffix);
    int k = ir_node_add(L->g, op, suffix ? name : base, n_in, in, n_out, out);
    if (k < 0) return contrib_oom(L), -1;
    return k;
}

/* op(x) -> y for a one-input node; -1 with the error set. */
int contrib_emit1(ContribLow *L, int op, const char *suffix, int x, int y) {
    return contrib_emit(L, op, suffix, 1, &x, 1, &y);
}

int contrib_emit2(ContribLow *L, int op, const char *suffix, int a, int b, int y) {
    int in[2] = {a, b};
    return contrib_emit(L, op, suffix, 2, in, 1, &y);
}

/* Appends an attribute to node k (the array is re-made in the arena); NULL when out of memory. */
RtAttr *contrib_attr_push(ContribLow *L, int k, const char *name, RtAttrType type) {
    RtNode *n = &L->g->nodes[k];
    RtAttr *a = ir_alloc(L->g, sizeof(RtAttr) * ((size_t)n->n_attr + 1));
    const char *nm = ir_strdup(L->g, name);
    if (!a || !nm) return NULL;
    if (n->n_attr) memcpy(a, n->attrs, sizeof(RtAttr) * (size_t)n->n_attr);
    memset(&a[n->n_attr], 0, sizeof *a);
    a[n->n_attr].name = nm;
    a[n->n_attr].type = type;
    n->attrs = a;
    return &a[n->n_attr++];
}

int contrib_set_int(ContribLow *L, int k, const char *name, int64_t v) {
    RtAttr *a = contrib_attr_push(L, k, name, RT_ATTR_INT);
    if (!a) return contrib_oom(L);
    a->i = v;
    return RT_OK;
}

int contrib_set_float(ContribLow *L, int k, const char *name, float v) {
    RtAttr *a = contrib_attr_push(L, k, name, RT_ATTR_FLOAT);
    if (!a) return contrib_oom(L);
    a->f = v;
    return RT_OK;
}

int contrib_set_ints(ContribLow *L, int k, const char *name, int n, const int64_t *v) {
    RtAttr *a = contrib_attr_push(L, k, name, RT_ATTR_INTS);
    int64_t *c = ir_alloc(L->g, sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
    if (!a || !c) return contrib_oom(L);
    memcpy(c, v, sizeof(int64_t) * (size_t)n);
    a->ints = c;
    a->n = n;
    return RT_OK;
}

/* Copies the contrib node's attributes named in `names` (comma-separated) onto node k. */
static int contrib_attrs_copy(ContribLow *L, int k, const char *names) {
    for (int i = 0; i < L->n.n_attr; i++) {
        const RtAttr *src = &L->n.attrs[i];
        size_t len = strlen(src->name);
        const char *p = strstr(names, src->name);
        while (p && !((p == names || p[-1] == ',') && (p[len] == ',' || p[len] == '\0'))) p = strstr(p + 1, src->name);
        if (!p) continue;
        RtAttr *a = contrib_attr_push(L, k, src->name, src->type);
        if (!a) return contrib_oom(L);
        const char *nm = a->name;
        *a = *src;
        a->name = nm;
    }
    return RT_OK;
}

/* ReduceMean(x) over `axes`, keeping dims: the axes as an attribute before opset 18, as a
 * constant input from 18. */
static int contrib_reduce_mean(ContribLow *L, const char *suffix, int x, int n_axes, const int64_t *axes, int y) {
    int k;
    if (L->g->opset >= 18) {
        int a = contrib_ints(L, "axes", n_axes, axes);
        if ((k = contrib_emit2(L, RT_OP_REDUCE_MEAN, suffix, x, a < 0 ? -2 : a, y)) < 0) return RT_ERR;
    } else {
        if ((k = contrib_emit1(L, RT_OP_REDUCE_MEAN, suffix, x, y)) < 0) return RT_ERR;
        ONNX_TRY(contrib_set_ints(L, k, "axes", n_axes, axes));
    }
    return contrib_set_int(L, k, "keepdims", 1);
}

/* ---------------------------------------------------------------- activations */

/* The activations FusedConv (MLAS) and FusedGemm (onnxruntime's element-wise functors)
 * apply; params are the ONNX op's attributes, in activation_params order. */
typedef struct {
    const char *name;
    int op;                 /* RtOp; -1 for Silu (x * Sigmoid(x), no ONNX op) */
    int n_params;
    const char *params[2];
    int conv, gemm;         /* 1: FusedConv / FusedGemm take it */
} ActKind;

static const ActKind act_kinds[] = {
    {"Relu", RT_OP_RELU, 0, {NULL, NULL}, 1, 1},
    {"Tanh", RT_OP_TANH, 0, {NULL, NULL}, 1, 1},
    {"Sigmoid", RT_OP_SIGMOID, 0, {NULL, NULL}, 1, 1},
    {"Silu", -1, 0, {NULL, NULL}, 1, 0},
    {"LeakyRelu", RT_OP_LEAKY_RELU, 1, {"alpha", NULL}, 1, 1},
    {"Clip", RT_OP_CLIP, 2, {"min", "max"}, 1, 0},
    {"HardSigmoid", RT_OP_HARD_SIGMOID, 2, {"alpha", "beta"}, 1, 1},
    {"Elu", RT_OP_ELU, 1, {"alpha", NULL}, 0, 1},
    {"Selu", RT_OP_SELU, 2, {"alpha", "gamma"}, 0, 1},
    {"ThresholdedRelu", RT_OP_THRESHOLDED_RELU, 1, {"alpha", NULL}, 0, 1},
    {"Softplus", RT_OP_SOFTPLUS, 0, {NULL, NULL}, 0, 1},
    {"Softsign", RT_OP_SOFTSIGN, 0, {NULL, NULL}, 0, 1},
};

typedef struct {
    const ActKind *kind;    /* NULL: no activation */
    float p[2];
    int has[2];             /* 1: p[i] given (else the ONNX op's default) */
} Act;

/* The `activation` attribute: NULL kind when absent; an error naming it when the op does not
 * take it. */
static int act_kind_find(ContribLow *L, int conv, Act *act) {
    memset(act, 0, sizeof *act);
    const RtAttr *a = contrib_attr(L, "activation");
    if (!a) return RT_OK;
    if (a->type != RT_ATTR_STRING) return contrib_fail(L, "attribute 'activation' must be a string");
    for (size_t i = 0; i < sizeof act_kinds / sizeof *act_kinds; i++)
        if (strcmp(act_kinds[i].name, a->s) == 0 && (conv ? act_kinds[i].conv : act_kinds[i].gemm)) {
            act->kind = &act_kinds[i];
            return RT_OK;
        }
    char list[300] = "";
    for (size_t i = 0; i < sizeof act_kinds / sizeof *act_kinds; i++)
        if (conv ? act_kinds[i].conv : act_kinds[i].gemm)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", list[0] ? ", " : "", act_kinds[i].name);
    return contrib_fail(L, "activation '%s' is not supported (%s takes %s)", a->s, L->n.op_type, list);
}

/* FusedConv: activation_params holds exactly the activation's parameters. */
static int act_parse_conv(ContribLow *L, Act *act) {
    ONNX_TRY(act_kind_find(L, 1, act));
    const RtAttr *p = contrib_attr(L, "activation_params");
    if (p && p->type != RT_ATTR_FLOATS) return contrib_fail(L, "attribute 'activation_params' must be floats");
    if (!act->kind) {
        if (p) return contrib_fail(L, "attribute 'activation_params' is given without an activation");
        return RT_OK;
    }
    int want = act->kind->n_params, got = p ? p->n : 0;
    if (want == 0 && !p) return RT_OK;
    if (!p || got != want)
        return contrib_fail(L, "activation '%s' takes %d activation_params, got %d", act->kind->name, want, got);
    for (int i = 0; i < want; i++) {
        act->p[i] = p->floats[i];
        act->has[i] = 1;
    }
    return RT_OK;
}

/* FusedGemm: activation_alpha / _beta / _gamma are the activation's attributes of that name. */
static int act_parse_gemm(ContribLow *L, Act *act) {
    ONNX_TRY(act_kind_find(L, 0, act));
    static const char *const names[3] = {"alpha", "beta", "gamma"};
    for (int j = 0; j < 3; j++) {
        char an[32];
        snprintf(an, sizeof an, "activation_%s", names[j]);
        const RtAttr *a = contrib_attr(L, an);
        if (!a) continue;
        if (a->type != RT_ATTR_FLOAT) return contrib_fail(L, "attribute '%s' must be a float", an);
        int slot = -1;
        for (int i = 0; act->kind && i < act->kind->n_params; i++)
            if (strcmp(act->kind->params[i], names[j]) == 0) slot = i;
        if (slot < 0)
            return contrib_fail(L, "attribute '%s' has no meaning for activation '%s'", an,
                            act->kind ? act->kind->name : "(none)");
        act->p[slot] = a->f;
        act->has[slot] = 1;
    }
    return RT_OK;
}

/* 1 when the activation needs constants of the data type (Silu none, Clip's bounds from 11). */
static int act_needs_dtype(const ContribLow *L, const Act *act) {
    return act->kind && act->kind->op == RT_OP_CLIP && L->g->opset >= 11;
}

/* act(x) -> y. */
static int act_emit(ContribLow *L, const Act *act, int x, int y) {
    const ActKind *a = act->kind;
    if (a->op < 0) { /* Silu */
        int s = contrib_value(L, "sigmoid");
        if (contrib_emit1(L, RT_OP_SIGMOID, "Sigmoid", x, s < 0 ? -2 : s) < 0) return RT_ERR;
        return contrib_emit2(L, RT_OP_MUL, "Mul", x, s, y) < 0 ? RT_ERR : RT_OK;
    }
    if (a->op == RT_OP_CLIP && L->g->opset >= 11) {
        int lo = contrib_scalar(L, "min", act->p[0]), hi = contrib_scalar(L, "max", act->p[1]);
        int in[3] = {x, lo < 0 ? -2 : lo, hi < 0 ? -2 : hi};
        return contrib_emit(L, RT_OP_CLIP, a->name, 3, in, 1, &y) < 0 ? RT_ERR : RT_OK;
    }
    int k = contrib_emit1(L, a->op, a->name, x, y);
    if (k < 0) return RT_ERR;
    for (int i = 0; i < a->n_params; i++)
        if (act->has[i]) ONNX_TRY(contrib_set_float(L, k, a->params[i], act->p[i]));
    return RT_OK;
}

/* ---------------------------------------------------------------- the rewrites */

static int lower_fused_conv(ContribLow *L) {
    ONNX_TRY(contrib_attrs_check(L, "activation,activation_params,auto_pad,dilations,group,kernel_shape,pads,strides"));
    Act act;
    ONNX_TRY(act_parse_conv(L, &act));
    if (act_needs_dtype(L, &act)) ONNX_TRY(contrib_dtype(L));
    int z = contrib_in(L, 3), y = L->n.out[0];
    int in[3] = {L->n.in[0], L->n.in[1], contrib_in(L, 2)};
    int t = (z < 0 && !act.kind) ? y : contrib_value(L, "conv");
    int k = contrib_emit(L, RT_OP_CONV, NULL, in[2] >= 0 ? 3 : 2, in, 1, &t);
    if (k < 0) return RT_ERR;
    ONNX_TRY(contrib_attrs_copy(L, k, "auto_pad,dilations,group,kernel_shape,pads,strides"));
    if (z >= 0) { /* Z is summed before the activation (Conv + Add + act fused) */
        int s = act.kind ? contrib_value(L, "sum") : y;
        if (contrib_emit2(L, RT_OP_ADD, "Add", t, z, s) < 0) return RT_ERR;
        t = s;
    }
    return act.kind ? act_emit(L, &act, t, y) : RT_OK;
}

static int lower_fused_gemm(ContribLow *L) {
    ONNX_TRY(contrib_attrs_check(L, "activation,activation_alpha,activation_beta,activation_gamma,alpha,beta,transA,"
                                "transB"));
    Act act;
    ONNX_TRY(act_parse_gemm(L, &act));
    int y = L->n.out[0], st;
    int in[3] = {L->n.in[0], L->n.in[1], contrib_in(L, 2)};
    if (in[2] < 0 && L->g->opset < 11) { /* Gemm takes C from opset 11 only: C = 0 */
        if ((st = contrib_dtype(L)) != RT_OK) return st;
        in[2] = contrib_scalar(L, "c", 0.0);
    }
    int t = act.kind ? contrib_value(L, "gemm") : y;
    int k = contrib_emit(L, RT_OP_GEMM, NULL, in[2] >= 0 ? 3 : 2, in, 1, &t);
    if (k < 0) return RT_ERR;
    ONNX_TRY(contrib_attrs_copy(L, k, "alpha,beta,transA,transB"));
    return act.kind ? act_emit(L, &act, t, y) : RT_OK;
}

/* The permutation FusedMatMul applies to one input of rank r (identity: *n_perm = 0). */
static int matmul_perm(ContribLow *L, int v, int64_t trans, int64_t trans_batch, const char *what, int64_t *perm,
                       int *n_perm) {
    *n_perm = 0;
    if (!trans && !trans_batch) return RT_OK;
    int r;
    int st = contrib_rank(L, v, what, &r);
    if (st != RT_OK) return st;
    if (r < 2)
        return contrib_fail(L, "%s needs an input of rank 2 or more; '%s' has rank %d", what, L->g->values[v].name, r);
    for (int i = 0; i < r; i++) perm[i] = i;
    if (trans_batch) { /* [d0, d1 .. dr-2, dr-1] -> [d1 .. dr-2, d0, dr-1] */
        for (int i = 0; i < r - 2; i++) perm[i] = i + 1;
        perm[r - 2] = 0;
    }
    if (trans) {
        int64_t s = perm[r - 2];
        perm[r - 2] = perm[r - 1];
        perm[r - 1] = s;
    }
    int identity = 1;
    for (int i = 0; i < r; i++) identity &= perm[i] == i;
    *n_perm = identity ? 0 : r;
    return RT_OK;
}

static int lower_fused_matmul(ContribLow *L) {
    ONNX_TRY(contrib_attrs_check(L, "alpha,transA,transB,transBatchA,transBatchB"));
    float alpha;
    int64_t ta, tb, tba, tbb;
    ONNX_TRY(contrib_float(L, "alpha", 1.0f, &alpha));
    ONNX_TRY(contrib_int(L, "transA", 0, &ta));
    ONNX_TRY(contrib_int(L, "transB", 0, &tb));
    ONNX_TRY(contrib_int(L, "transBatchA", 0, &tba));
    ONNX_TRY(contrib_int(L, "transBatchB", 0, &tbb));
    int64_t pa[RT_MAX_RANK], pb[RT_MAX_RANK];
    int na, nb, st;
    if ((st = matmul_perm(L, L->n.in[0], ta, tba, "transA/transBatchA", pa, &na)) != RT_OK) return st;
    if ((st = matmul_perm(L, L->n.in[1], tb, tbb, "transB/transBatchB", pb, &nb)) != RT_OK) return st;
    if (alpha != 1.0f && (st = contrib_dtype(L)) != RT_OK) return st;
    int a = L->n.in[0], b = L->n.in[1], y = L->n.out[0];
    if (na) {
        int t = contrib_value(L, "a_t");
        int k = contrib_emit1(L, RT_OP_TRANSPOSE, "TransposeA", a, t < 0 ? -2 : t);
        if (k < 0) return RT_ERR;
        ONNX_TRY(contrib_set_ints(L, k, "perm", na, pa));
        a = t;
    }
    if (nb) {
        int t = contrib_value(L, "b_t");
        int k = contrib_emit1(L, RT_OP_TRANSPOSE, "TransposeB", b, t < 0 ? -2 : t);
        if (k < 0) return RT_ERR;
        ONNX_TRY(contrib_set_ints(L, k, "perm", nb, pb));
        b = t;
    }
    int m = alpha != 1.0f ? contrib_value(L, "matmul") : y;
    if (contrib_emit2(L, RT_OP_MATMUL, NULL, a, b, m < 0 ? -2 : m) < 0) return RT_ERR;
    if (alpha == 1.0f) return RT_OK;
    int c = contrib_scalar(L, "alpha", alpha);
    return contrib_emit2(L, RT_OP_MUL, "Mul", m, c < 0 ? -2 : c, y) < 0 ? RT_ERR : RT_OK;
}

/* Gelu(x) -> y: the ONNX op from opset 20, else the chain (erf form: the one fuse_gelu.c
 * makes a Gelu again; tanh form: onnxruntime's FastGelu function body). */
static int gelu_emit(ContribLow *L, int x, int y, int tanh_form) {
    IrGraph *g = L->g;
    if (g->opset >= 20) {
        int k = contrib_emit1(L, RT_OP_GELU, "Gelu", x, y);
        if (k < 0) return RT_ERR;
        if (!tanh_form) return RT_OK;
        RtAttr *a = contrib_attr_push(L, k, "approximate", RT_ATTR_STRING);
        if (!a || !(a->s = ir_strdup(g, "tanh"))) return contrib_oom(L);
        return RT_OK;
    }
    if (!tanh_form) {
        if (g->opset < 9) return contrib_fail(L, "Gelu needs Erf, which opset %d does not have (9 or later)", g->opset);
        int u = contrib_value(L, "gelu_div"), e = contrib_value(L, "gelu_erf"), a = contrib_value(L, "gelu_add");
        int m = contrib_value(L, "gelu_mul");
        int c_sqrt2 = contrib_scalar(L, "sqrt2", sqrt(2.0)), c_one = contrib_scalar(L, "one", 1.0);
        int c_half = contrib_scalar(L, "half", 0.5);
        if (contrib_emit2(L, RT_OP_DIV, "Div", x, c_sqrt2 < 0 ? -2 : c_sqrt2, u < 0 ? -2 : u) < 0 ||
            contrib_emit1(L, RT_OP_ERF, "Erf", u, e < 0 ? -2 : e) < 0 ||
            contrib_emit2(L, RT_OP_ADD, "Add1", e, c_one < 0 ? -2 : c_one, a < 0 ? -2 : a) < 0 ||
            contrib_emit2(L, RT_OP_MUL, "MulX", x, a, m < 0 ? -2 : m) < 0 ||
            contrib_emit2(L, RT_OP_MUL, "MulHalf", m, c_half < 0 ? -2 : c_half, y) < 0)
            return RT_ERR;
        return RT_OK;
    }
    /* 0.5 x (1 + tanh(x (0.797885 + 0.035677 x^2))) */
    int v[7];
    static const char *const what[7] = {"gelu_sq", "gelu_c", "gelu_b", "gelu_in", "gelu_tanh", "gelu_one", "gelu_x"};
    for (int i = 0; i < 7; i++)
        if ((v[i] = contrib_value(L, what[i])) < 0) v[i] = -2;
    int ca = contrib_scalar(L, "half", 0.5), cb = contrib_scalar(L, "b", 0.797885),
        cc = contrib_scalar(L, "c", 0.035677);
    int c1 = contrib_scalar(L, "one", 1.0);
    if (ca < 0 || cb < 0 || cc < 0 || c1 < 0) return contrib_oom(L);
    if (contrib_emit2(L, RT_OP_MUL, "Square", x, x, v[0]) < 0 ||
        contrib_emit2(L, RT_OP_MUL, "MulC", cc, v[0], v[1]) < 0 ||
        contrib_emit2(L, RT_OP_ADD, "AddB", cb, v[1], v[2]) < 0 ||
        contrib_emit2(L, RT_OP_MUL, "MulX", x, v[2], v[3]) < 0 ||
        contrib_emit1(L, RT_OP_TANH, "Tanh", v[3], v[4]) < 0 ||
        contrib_emit2(L, RT_OP_ADD, "Add1", c1, v[4], v[5]) < 0 ||
        contrib_emit2(L, RT_OP_MUL, "MulX2", x, v[5], v[6]) < 0 ||
        contrib_emit2(L, RT_OP_MUL, "MulHalf", ca, v[6], y) < 0)
        return RT_ERR;
    return RT_OK;
}

/* x + b -> a new value (or y when given); returns the value, -1 on error. */
static int add_emit(ContribLow *L, const char *suffix, const char *what, int x, int b, int y) {
    int s = y >= 0 ? y : contrib_value(L, what);
    if (contrib_emit2(L, RT_OP_ADD, suffix, x, b, s < 0 ? -2 : s) < 0) return -1;
    return s;
}

static int lower_gelu(ContribLow *L) {
    ONNX_TRY(contrib_attrs_check(L, ""));
    int st = contrib_dtype(L);
    if (st != RT_OK) return st;
    return gelu_emit(L, L->n.in[0], L->n.out[0], 0);
}

static int lower_bias_gelu(ContribLow *L) {
    ONNX_TRY(contrib_attrs_check(L, ""));
    int st = contrib_dtype(L);
    if (st != RT_OK) return st;
    int s = add_emit(L, "Add", "biased", L->n.in[0], L->n.in[1], -1);
    return s < 0 ? RT_ERR : gelu_emit(L, s, L->n.out[0], 0);
}

static int lower_fast_gelu(ContribLow *L) {
    ONNX_TRY(contrib_attrs_check(L, ""));
    int st = contrib_dtype(L);
    if (st != RT_OK) return st;
    int x = L->n.in[0];
    if (contrib_in(L, 1) >= 0 && (x = add_emit(L, "Add", "biased", x, L->n.in[1], -1)) < 0) return RT_ERR;
    return gelu_emit(L, x, L->n.out[0], 1);
}

static int lower_quick_gelu(ContribLow *L) {
    ONNX_TRY(contrib_attrs_check(L, "alpha"));
    float alpha;
    ONNX_TRY(contrib_float(L, "alpha", 1.702f, &alpha));
    int st = contrib_dtype(L);
    if (st != RT_OK) return st;
    int x = L->n.in[0], ax = x;
    if (alpha != 1.0f) {
        int c = contrib_scalar(L, "alpha", alpha);
        ax = contrib_value(L, "scaled");
        if (contrib_emit2(L, RT_OP_MUL, "MulAlpha", x, c < 0 ? -2 : c, ax < 0 ? -2 : ax) < 0) return RT_ERR;
    }
    int s = contrib_value(L, "sigmoid");
    if (contrib_emit1(L, RT_OP_SIGMOID, "Sigmoid", ax, s < 0 ? -2 : s) < 0) return RT_ERR;
    return contrib_emit2(L, RT_OP_MUL, "Mul", x, s, L->n.out[0]) < 0 ? RT_ERR : RT_OK;
}

static int lower_bias_add(ContribLow *L) {
    ONNX_TRY(contrib_attrs_check(L, ""));
    int s = add_emit(L, "AddBias", "biased", L->n.in[0], L->n.in[1], -1);
    return s < 0 || add_emit(L, "AddSkip", "", s, L->n.in[2], L->n.out[0]) < 0 ? RT_ERR : RT_OK;
}

/* input + skip (+ bias) -> the sum (output `sum_out` when the graph reads it). */
static int skip_sum_emit(ContribLow *L, int bias, int sum_out) {
    int s = add_emit(L, "AddSkip", "skip_sum", L->n.in[0], L->n.in[1], bias >= 0 ? -1 : sum_out);
    if (s >= 0 && bias >= 0) s = add_emit(L, "AddBias", "skip_sum_bias", s, bias, sum_out);
    return s;
}

/* RMS norm of x over `axes`: x / sqrt(mean(x^2) + eps) * scale -> y, 1 / sqrt(...) -> inv
 * when inv >= 0. */
static int rms_emit(ContribLow *L, int x, int scale, float eps, int n_axes, const int64_t *axes, int y, int inv) {
    int sq = contrib_value(L, "sq"), ms = contrib_value(L, "ms"), ve = contrib_value(L, "ms_eps"),
        r = contrib_value(L, "rms");
    int nrm = contrib_value(L, "normed"), ce = contrib_scalar(L, "epsilon", eps);
    if (sq < 0 || ms < 0 || ve < 0 || r < 0 || nrm < 0 || ce < 0) return contrib_oom(L);
    if (contrib_emit2(L, RT_OP_MUL, "Square", x, x, sq) < 0) return RT_ERR;
    ONNX_TRY(contrib_reduce_mean(L, "ReduceMean", sq, n_axes, axes, ms));
    if (contrib_emit2(L, RT_OP_ADD, "AddEps", ms, ce, ve) < 0 || contrib_emit1(L, RT_OP_SQRT, "Sqrt", ve, r) < 0 ||
        contrib_emit2(L, RT_OP_DIV, "Div", x, r, nrm) < 0 || contrib_emit2(L, RT_OP_MUL, "MulScale", nrm, scale, y) < 0)
        return RT_ERR;
    if (inv >= 0 && contrib_emit1(L, RT_OP_RECIPROCAL, "InvStdVar", r, inv) < 0) return RT_ERR;
    return RT_OK;
}

/* LayerNorm of x over the last axis with gamma, beta (-1: none) -> y; mean and inv_std
 * outputs when >= 0. LayerNormalization from opset 17, else fuse_layernorm.c's chain. */
int contrib_layer_norm_emit(ContribLow *L, int x, int gamma, int beta, float eps, int y, int mean, int inv) {
    if (L->g->opset >= 17) {
        int in[3] = {x, gamma, beta}, out[3] = {y, mean, inv};
        int n_out = inv >= 0 ? 3 : mean >= 0 ? 2 : 1;
        int k = contrib_emit(L, RT_OP_LAYER_NORMALIZATION, "LayerNormalization", beta >= 0 ? 3 : 2, in, n_out, out);
        if (k < 0) return RT_ERR;
        ONNX_TRY(contrib_set_int(L, k, "axis", -1));
        return contrib_set_float(L, k, "epsilon", eps);
    }
    static const int64_t last[1] = {-1};
    int mu = mean >= 0 ? mean : contrib_value(L, "mean"), d = contrib_value(L, "centered"), sq = contrib_value(L, "sq");
    int var = contrib_value(L, "var"), ve = contrib_value(L, "var_eps"), sd = contrib_value(L, "std"),
        nrm = contrib_value(L, "normed");
    int sc = beta >= 0 ? contrib_value(L, "scaled") : y, ce = contrib_scalar(L, "epsilon", eps);
    if (mu < 0 || d < 0 || sq < 0 || var < 0 || ve < 0 || sd < 0 || nrm < 0 || sc < 0 || ce < 0) return contrib_oom(L);
    ONNX_TRY(contrib_reduce_mean(L, "ReduceMean", x, 1, last, mu));
    if (contrib_emit2(L, RT_OP_SUB, "Sub", x, mu, d) < 0 || contrib_emit2(L, RT_OP_MUL, "Square", d, d, sq) < 0)
        return RT_ERR;
    ONNX_TRY(contrib_reduce_mean(L, "ReduceMeanVar", sq, 1, last, var));
    if (contrib_emit2(L, RT_OP_ADD, "AddEps", var, ce, ve) < 0 || contrib_emit1(L, RT_OP_SQRT, "Sqrt", ve, sd) < 0 ||
        contrib_emit2(L, RT_OP_DIV, "Div", d, sd, nrm) < 0 ||
        contrib_emit2(L, RT_OP_MUL, "MulGamma", nrm, gamma, sc) < 0)
        return RT_ERR;
    if (beta >= 0 && contrib_emit2(L, RT_OP_ADD, "AddBeta", sc, beta, y) < 0) return RT_ERR;
    if (inv >= 0 && contrib_emit1(L, RT_OP_RECIPROCAL, "InvStdVar", sd, inv) < 0) return RT_ERR;
    return RT_OK;
}

static int lower_skip_layer_norm(ContribLow *L) {
    ONNX_TRY(contrib_attrs_check(L, "epsilon"));
    float eps;
    ONNX_TRY(contrib_float(L, "epsilon", 1e-12f, &eps));
    int st = contrib_dtype(L);
    if (st != RT_OK) return st;
    int s = skip_sum_emit(L, contrib_in(L, 4), contrib_out(L, 3));
    if (s < 0) return RT_ERR;
    return contrib_layer_norm_emit(L, s, L->n.in[2], contrib_in(L, 3), eps, L->n.out[0], contrib_out(L, 1),
                                   contrib_out(L, 2));
}

static int lower_skip_simplified_layer_norm(ContribLow *L) {
    ONNX_TRY(contrib_attrs_check(L, "epsilon"));
    float eps;
    ONNX_TRY(contrib_float(L, "epsilon", 1e-12f, &eps));
    if (contrib_out(L, 1) >= 0)
        return contrib_fail(L, "output 'mean' is not produced: an RMS normalization subtracts no mean");
    int st = contrib_dtype(L);
    if (st != RT_OK) return st;
    int s = skip_sum_emit(L, contrib_in(L, 3), contrib_out(L, 3));
    static const int64_t last[1] = {-1};
    return s < 0 ? RT_ERR : rms_emit(L, s, L->n.in[2], eps, 1, last, L->n.out[0], contrib_out(L, 2));
}

static int lower_simplified_layer_norm(ContribLow *L) {
    ONNX_TRY(contrib_attrs_check(L, "axis,epsilon,stash_type"));
    float eps;
    int64_t axis, stash;
    ONNX_TRY(contrib_float(L, "epsilon", 1e-5f, &eps));
    ONNX_TRY(contrib_int(L, "axis", -1, &axis));
    ONNX_TRY(contrib_int(L, "stash_type", 1, &stash));
    if (stash != 1)
        return contrib_fail(L, "stash_type %lld is not supported (1: float32 statistics)", (long long)stash);
    int64_t axes[RT_MAX_RANK];
    int n_axes = 1, st;
    axes[0] = -1;
    if (axis != -1) {
        int r;
        if ((st = contrib_rank(L, L->n.in[0], "axis", &r)) != RT_OK) return st;
        int64_t a = axis < 0 ? axis + r : axis;
        if (a < 0 || a >= r) return contrib_fail(L, "axis %lld is outside rank %d", (long long)axis, r);
        for (n_axes = 0; a + n_axes < r; n_axes++) axes[n_axes] = a + n_axes;
    }
    if ((st = contrib_dtype(L)) != RT_OK) return st;
    return rms_emit(L, L->n.in[0], L->n.in[1], eps, n_axes, axes, L->n.out[0], contrib_out(L, 1));
}

/* ---------------------------------------------------------------- the op table */

typedef struct {
    const char *domain, *op;
    LowerFn fn;
    int min_in, max_in, max_out;
    unsigned opt_in;        /* bit i: input i < min_in may still be "" */
} ContribOp;

static const ContribOp contrib_ops[] = {
    {CONTRIB_MS, "FusedConv", lower_fused_conv, 2, 4, 1, 0},
    {CONTRIB_MS, "FusedGemm", lower_fused_gemm, 2, 3, 1, 0},
    {CONTRIB_MS, "FusedMatMul", lower_fused_matmul, 2, 2, 1, 0},
    {CONTRIB_MS, "Gelu", lower_gelu, 1, 1, 1, 0},
    {CONTRIB_MS, "BiasGelu", lower_bias_gelu, 2, 2, 1, 0},
    {CONTRIB_MS, "FastGelu", lower_fast_gelu, 1, 2, 1, 0},
    {CONTRIB_MS, "QuickGelu", lower_quick_gelu, 1, 1, 1, 0},
    {CONTRIB_MS, "BiasAdd", lower_bias_add, 3, 3, 1, 0},
    {CONTRIB_MS, "SkipLayerNormalization", lower_skip_layer_norm, 3, 5, 4, 0},
    {CONTRIB_MS, "SkipSimplifiedLayerNormalization", lower_skip_simplified_layer_norm, 3, 4, 4, 0},
    {"", "SimplifiedLayerNormalization", lower_simplified_layer_norm, 2, 2, 2, 0},
    {CONTRIB_MS, "Attention", contrib_lower_attention, 2, 7, 2, 0},
    {CONTRIB_MS, "MultiHeadAttention", contrib_lower_multi_head_attention, 1, 10, 4, 0},
    {CONTRIB_MS, "EmbedLayerNormalization", contrib_lower_embed_layer_norm, 7, 9, 3, 1u << 1 | 1u << 4},
    /* onnxruntime-genai decoders (onnx_contrib_gqa.c) */
    {CONTRIB_MS, "RotaryEmbedding", contrib_lower_rotary_embedding, 4, 4, 1, 0},
    {CONTRIB_MS, "GroupQueryAttention", contrib_lower_group_query_attention, 7, 12, 4, 0xFu << 1},
};

static int contrib_is_default(const char *d) { return !d || !d[0] || strcmp(d, "ai.onnx") == 0; }

static const ContribOp *contrib_find(const char *domain, const char *op_type) {
    if (!op_type) return NULL;
    for (size_t i = 0; i < sizeof contrib_ops / sizeof *contrib_ops; i++) {
        const ContribOp *c = &contrib_ops[i];
        int same = c->domain[0] ? (domain && strcmp(domain, c->domain) == 0) : contrib_is_default(domain);
        if (same && strcmp(op_type, c->op) == 0) return c;
    }
    return NULL;
}

static int contrib_graph_present(const Onnx__GraphProto *gp, int depth) {
    if (!gp || depth > 64) return 0;
    for (size_t k = 0; k < gp->n_node; k++) {
        const Onnx__NodeProto *np = gp->node[k];
        if (contrib_find(np->domain, np->op_type)) return 1;
        for (size_t a = 0; a < np->n_attribute; a++) {
            const Onnx__AttributeProto *ap = np->attribute[a];
            if (contrib_graph_present(ap->g, depth + 1)) return 1;
            for (size_t j = 0; j < ap->n_graphs; j++)
                if (contrib_graph_present(ap->graphs[j], depth + 1)) return 1;
        }
    }
    return 0;
}

int onnx_contrib_present(const Onnx__ModelProto *mp) { return mp && contrib_graph_present(mp->graph, 0); }

/* ---------------------------------------------------------------- driver */

/* Input and output counts, required inputs present, output 0 used. */
static int contrib_arity_check(ContribLow *L, const ContribOp *c) {
    const RtNode *n = &L->n;
    if (n->n_in < c->min_in || n->n_in > c->max_in)
        return contrib_fail(L, "takes %d to %d inputs, got %d", c->min_in, c->max_in, n->n_in);
    for (int i = 0; i < c->min_in; i++)
        if (n->in[i] < 0 && !(c->opt_in >> i & 1u))
            return contrib_fail(L, "required input %d is missing (the name is empty)", i + 1);
    if (n->n_out < 1 || n->n_out > c->max_out)
        return contrib_fail(L, "takes 1 to %d outputs, got %d", c->max_out, n->n_out);
    if (n->out[0] < 0) return contrib_fail(L, "output 1 is required (the name is empty)");
    return RT_OK;
}

/* Rewrites node `n` into g's (new) node list: RT_OK, CONTRIB_PENDING (nothing emitted), or an
 * error. */
static int contrib_node_lower(OnnxCtx *ctx, IrGraph *g, const RtNode *n, const ContribOp *c, int final) {
    ContribLow L;
    memset(&L, 0, sizeof L);
    L.ctx = ctx;
    L.g = g;
    L.n = *n;
    L.dt = RT_F32;
    L.final = final;
    snprintf(L.nd, sizeof L.nd, "node '%s' (%s%s%s)", n->name ? n->name : "", c->domain, c->domain[0] ? "." : "",
             c->op);
    if (c->domain[0] && onnx_domain_opset(ctx, c->domain) == 0)
        return contrib_fail(&L, "domain '%s' is not imported by the model", c->domain);
    ONNX_TRY(contrib_arity_check(&L, c));
    return c->fn(&L);
}

/* One rebuild of g's node list; *pending counts the nodes left for later, *done those
 * rewritten. */
static int contrib_graph_pass(OnnxCtx *ctx, IrGraph *g, int final, int *pending, int *done) {
    RtNode *old = g->nodes;
    int n_old = g->n_nodes, cap_old = g->cap_nodes, r = RT_OK;
    g->nodes = NULL;
    g->n_nodes = g->cap_nodes = 0;
    *pending = *done = 0;
    for (int i = 0; i < n_old && r == RT_OK; i++) {
        const RtNode *n = &old[i];
        const ContribOp *c = contrib_find(n->domain, n->op_type);
        if (c) {
            r = contrib_node_lower(ctx, g, n, c, final);
            if (r == RT_OK) {
                (*done)++;
                continue;
            }
            if (r != CONTRIB_PENDING) break;
            (*pending)++;
            r = RT_OK;
        }
        int k = ir_node_add(g, n->op, n->name, n->n_in, n->in, n->n_out, n->out);
        if (k < 0) {
            r = onnx_fail(ctx, "out of memory");
            break;
        }
        g->nodes[k] = *n;
    }
    if (r != RT_OK) { /* back to the original list, which owns the subgraphs; g is freed */
        free(g->nodes);
        g->nodes = old;
        g->n_nodes = n_old;
        g->cap_nodes = cap_old;
        return r;
    }
    free(old);
    return RT_OK;
}

static int contrib_graph_lower(OnnxCtx *ctx, IrGraph *g, int depth) {
    if (depth > 64) return onnx_fail(ctx, "subgraphs nest more than 64 deep");
    for (int k = 0; k < g->n_nodes; k++)
        for (int a = 0; a < g->nodes[k].n_attr; a++)
            if (g->nodes[k].attrs[a].type == RT_ATTR_GRAPH && g->nodes[k].attrs[a].g)
                ONNX_TRY(contrib_graph_lower(ctx, (IrGraph *)g->nodes[k].attrs[a].g, depth + 1));
    int final = 0, inferred = 0;
    for (;;) {
        int pending, done;
        ONNX_TRY(contrib_graph_pass(ctx, g, final, &pending, &done));
        if (!pending) return RT_OK;
        if (!inferred || done) { /* ranks and types flow past the nodes just rewritten */
            RtError ie = {{0}};
            if (ir_infer_shapes(g, &ie) != RT_OK) return onnx_fail(ctx, "%s", ie.msg);
            inferred = 1;
        } else {
            final = 1;
        }
    }
}

/* The loader's refusal of unknown ops, for the nodes it kept while contrib ops were loading. */
static int contrib_unknown_refuse(OnnxCtx *ctx, const IrGraph *g, int depth) {
    for (int k = 0; k < g->n_nodes && depth <= 64; k++) {
        const RtNode *n = &g->nodes[k];
        if (n->op == RT_OP_UNKNOWN) {
            const char *d = n->domain ? n->domain : "";
            return onnx_fail(ctx, "node '%s': op '%s' (domain '%s', opset %d) is not supported", n->name ? n->name : "",
                             n->op_type ? n->op_type : "", d, onnx_domain_opset(ctx, d));
        }
        for (int a = 0; a < n->n_attr; a++)
            if (n->attrs[a].type == RT_ATTR_GRAPH && n->attrs[a].g)
                ONNX_TRY(contrib_unknown_refuse(ctx, (const IrGraph *)n->attrs[a].g, depth + 1));
    }
    return RT_OK;
}

int onnx_contrib_lower(OnnxCtx *ctx, IrGraph *g, int refuse_unknown) {
    ONNX_TRY(contrib_graph_lower(ctx, g, 0));
    return refuse_unknown ? contrib_unknown_refuse(ctx, g, 0) : RT_OK;
}
