/*
 * onnx_legacy.c — models of default-domain opsets 1-6 (old model zoo "-3"/"-6" models, old
 * exporters): rewritten, as they load, into the opset-7 forms of the same ops, so passes,
 * quantization, emit-c and .wafer files see one form (what onnx's version converter does).
 *
 * Algorithm, per default-domain node of the graph and of its subgraphs:
 *   - an op that no opset 1-6 defines (Expand, Where, ...), or whose old form differs and is
 *     not handled (experimental MeanVarianceNormalization), is an error naming the node, as is
 *     a node without the inputs its spec requires (shape inference may run its kernel);
 *   - the experimental ImageScaler (opsets 1-9; also rewritten in opset 7-9 models) becomes
 *     Mul(x, scale) then Add(., bias as [C, 1, 1]);
 *   - attributes without effect on inference results are dropped: consumed_inputs (a
 *     memory-reuse hint), is_test of BatchNormalization and Dropout (from opset 7 the outputs
 *     asked for tell training from test mode, so with is_test = 1 the unfilled statistics /
 *     mask outputs are detached; Dropout runs as inference either way), Gemm's broadcast (opset 7
 *     always broadcasts C to [M, N]), output_sequence of RNN / GRU / LSTM (0 only allowed
 *     output Y to be left out);
 *   - forms that changed are rewritten: Cast's string `to` ("FLOAT") -> the dtype code,
 *     Reshape's shape attribute -> a constant input, Concat without axis -> axis=1 (its
 *     opset 1-3 default), Split's second input -> the split attribute, Pad's paddings -> pads,
 *     Tile(input, tiles, axis) -> Tile(input, repeats = [1.. tiles at axis ..1]), Upsample's
 *     height_scale / width_scale -> scales [1, 1, h, w] (mode bilinear -> linear);
 *   - legacy broadcasting (Add Sub Mul Div Pow And Or Xor Equal Greater Less): without
 *     broadcast=1 the shapes must be equal (numpy rules agree then); with it, B's shape is a
 *     contiguous run of A's dims starting at `axis` (a suffix by default), a dim of 1 in B
 *     stretching as numpy's does (PyTorch 0.3 exported [2, 1] + [2, 3] so). PRelu's 1-D slope
 *     is per channel (axis 1) likewise. numpy aligns from the right, so B gets trailing 1s, [b0 .. bk] -> [b0 .. bk, 1 .. 1] (rank(A) - axis -
 *     rank(B) of them): the constant reshaped when B is one (a copy if other nodes read it),
 *     else an Unsqueeze before the node. That needs rank(A) (and Tile-1 its input's rank):
 *     declared in the model, or else found by one shape inference over the graph (the
 *     binary and Tile kernels implement the old forms for it).
 * Then the nodes and the graph say opset 7.
 */
#include "onnx_legacy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Ops of opsets 1-6 (experimental ones included) whose old forms wafer runs. Their input and
 * output counts were checked as each node was built (rt_node_arity_check, at the node's own
 * opset, in onnx_graph.c), so the rewrites below may read the inputs the old specs require. */
static const char *const legacy_ops[] = {
    "Abs", "Add", "And", "ArgMax", "ArgMin", "AveragePool", "BatchNormalization", "Cast", "Ceil",
    "Clip", "Concat", "Constant", "Conv", "ConvTranspose", "DepthToSpace", "Div", "Dropout", "Elu",
    "Equal", "Exp", "Flatten", "Floor", "GRU", "Gather", "Gemm", "GlobalAveragePool",
    "GlobalLpPool", "GlobalMaxPool", "Greater", "HardSigmoid", "Hardmax", "Identity", "If",
    "ImageScaler", "InstanceNormalization", "LRN", "LSTM", "LeakyRelu", "Less", "Log", "LogSoftmax",
    "Loop", "LpNormalization", "LpPool", "MatMul", "Max", "MaxPool", "Mean", "Min", "Mul", "Neg",
    "Not", "Or", "PRelu", "Pad", "Pow", "RNN", "RandomNormal", "RandomNormalLike", "RandomUniform",
    "RandomUniformLike", "Reciprocal", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax",
    "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSum", "ReduceSumSquare", "Relu", "Reshape",
    "Selu", "Shape", "Sigmoid", "Size", "Slice", "Softmax", "Softplus", "Softsign", "SpaceToDepth",
    "Split", "Sqrt", "Squeeze", "Sub", "Sum", "Tanh", "ThresholdedRelu", "Tile", "TopK",
    "Transpose", "Unsqueeze", "Upsample", "Xor"};

/* TensorProto.DataType names, as Cast 1-5 spells its `to`; the index is the code. */
static const char *const legacy_dtype_names[] = {
    "UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64", "STRING", "BOOL",
    "FLOAT16", "DOUBLE", "UINT32", "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16"};

static int legacy_is_default(const RtNode *n) {
    return !n->domain || !n->domain[0] || strcmp(n->domain, "ai.onnx") == 0;
}

static int legacy_op_known(const RtNode *n) {
    for (size_t i = 0; i < sizeof legacy_ops / sizeof *legacy_ops; i++)
        if (strcmp(n->op_type, legacy_ops[i]) == 0) return 1;
    return 0;
}

/* The ops whose opset 1-6 versions broadcast with `broadcast` / `axis`. */
static int legacy_is_broadcast_op(int op) {
    switch (op) {
    case RT_OP_ADD: case RT_OP_SUB: case RT_OP_MUL: case RT_OP_DIV: case RT_OP_POW: case RT_OP_AND:
    case RT_OP_OR: case RT_OP_XOR: case RT_OP_EQUAL: case RT_OP_GREATER: case RT_OP_LESS:
        return 1;
    default:
        return 0;
    }
}

static const char *legacy_desc(const RtNode *n, char *buf, size_t len) {
    snprintf(buf, len, "node '%s' (%s)", n->name ? n->name : "", n->op_type ? n->op_type : "?");
    return buf;
}

/* ---------------------------------------------------------------- attributes */

static RtAttr *legacy_attr(RtNode *n, const char *name) {
    for (int i = 0; i < n->n_attr; i++)
        if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
    return NULL;
}

static void legacy_attr_drop(RtNode *n, const char *name) {
    RtAttr *a = legacy_attr(n, name);
    if (!a) return;
    size_t i = (size_t)(a - n->attrs);
    memmove(a, a + 1, sizeof(RtAttr) * ((size_t)n->n_attr - i - 1));
    n->n_attr--;
}

/* Appends an attribute (the array is re-made in the arena); NULL when out of memory. */
static RtAttr *legacy_attr_add(IrGraph *g, RtNode *n, const char *name, RtAttrType type) {
    RtAttr *a = ir_alloc(g, sizeof(RtAttr) * ((size_t)n->n_attr + 1));
    const char *nm = ir_strdup(g, name);
    if (!a || !nm) return NULL;
    if (n->n_attr) memcpy(a, n->attrs, sizeof(RtAttr) * (size_t)n->n_attr);
    RtAttr *x = &a[n->n_attr];
    x->name = nm;
    x->type = type;
    n->attrs = a;
    n->n_attr++;
    return x;
}

/* ---------------------------------------------------------------- values and nodes */

/* The name new values of node k are named after: its first output. */
static const char *legacy_base(const IrGraph *g, const RtNode *n) {
    if (n->n_out > 0 && n->out[0] >= 0) return g->values[n->out[0]].name;
    return n->name && n->name[0] ? n->name : "legacy";
}

/* Adds a constant value holding t (arena tensor); -1 when out of memory. */
static int legacy_const(IrGraph *g, const char *base, const char *what, RtTensor *t) {
    const char *name = ir_value_name_fresh(g, base, what);
    int v = name ? ir_value_add(g, name) : -1;
    if (v < 0) return -1;
    g->values[v].konst = t;
    ir_value_set_shape(&g->values[v], t->dtype, t->rank, t->dims);
    return v;
}

static int legacy_const_i64(IrGraph *g, const char *base, const char *what, int n, const int64_t *vals) {
    int64_t d = n;
    RtTensor *t = ir_tensor_new(g, RT_I64, 1, &d);
    if (!t) return -1;
    if (n) memcpy(t->data, vals, sizeof(int64_t) * (size_t)n);
    return legacy_const(g, base, what, t);
}

static int legacy_inputs_set(IrGraph *g, RtNode *n, int n_in, const int *in) {
    int *a = ir_alloc(g, sizeof(int) * (size_t)(n_in > 0 ? n_in : 1));
    if (!a) return RT_ERR_NOMEM;
    if (n_in) memcpy(a, in, sizeof(int) * (size_t)n_in);
    n->in = a;
    n->n_in = n_in;
    return RT_OK;
}

/* Inserts a one-input, one-output node before node k (which becomes k + 1); the node's
 * index, or -1. Producers of values after k are renumbered. */
static int legacy_node_insert(IrGraph *g, int k, int op, const char *name, int in_v, int out_v) {
    int m = ir_node_add(g, op, name, 1, &in_v, 1, &out_v);
    if (m < 0) return -1;
    RtNode tmp = g->nodes[m];
    memmove(&g->nodes[k + 1], &g->nodes[k], sizeof(RtNode) * (size_t)(m - k));
    g->nodes[k] = tmp;
    for (int v = 0; v < g->n_values; v++) {
        int p = g->values[v].producer;
        if (p == m) g->values[v].producer = k;
        else if (p >= k) g->values[v].producer = p + 1;
    }
    return k;
}

/* ---------------------------------------------------------------- per-op rewrites */

/* Element i of an integer constant (the spec's int64 lengths, tiles and axis; int32 read too). */
static int64_t legacy_int(const RtTensor *t, int64_t i) {
    switch (t->dtype) {
    case RT_I64: return ((const int64_t *)t->data)[i];
    case RT_I32: return ((const int32_t *)t->data)[i];
    default: return INT64_MIN;
    }
}

static int legacy_cast(OnnxCtx *ctx, RtNode *n, const char *nd) {
    RtAttr *to = legacy_attr(n, "to");
    if (!to) return onnx_fail(ctx, "%s: attribute 'to' is required", nd);
    if (n->opset >= 6) { /* Cast-6 takes the code, as opset 7 does */
        if (to->type != RT_ATTR_INT)
            return onnx_fail(ctx, "%s: Cast from opset 6 takes 'to' as an integer data type code", nd);
        return RT_OK;
    }
    if (to->type != RT_ATTR_STRING)
        return onnx_fail(ctx, "%s: Cast before opset 6 takes 'to' as a string (\"FLOAT\", \"INT64\" ...)", nd);
    for (size_t i = 1; i < sizeof legacy_dtype_names / sizeof *legacy_dtype_names; i++)
        if (strcasecmp(to->s, legacy_dtype_names[i]) == 0) {
            to->type = RT_ATTR_INT;
            to->i = (int64_t)i;
            to->s = NULL;
            return RT_OK;
        }
    return onnx_fail(ctx, "%s: attribute 'to' is '%s', not a TensorProto data type name", nd, to->s);
}

static int legacy_reshape(OnnxCtx *ctx, IrGraph *g, RtNode *n, const char *nd) {
    RtAttr *a = legacy_attr(n, "shape");
    if (n->opset >= 5) {
        if (a) return onnx_fail(ctx, "%s: from opset 5 Reshape takes the shape as input 2, not an attribute", nd);
        return RT_OK;
    }
    if (!a || a->type != RT_ATTR_INTS)
        return onnx_fail(ctx, "%s: Reshape before opset 5 needs the ints attribute 'shape'", nd);
    if (n->n_in != 1 || n->in[0] < 0)
        return onnx_fail(ctx, "%s: Reshape before opset 5 takes one input (the shape is an attribute)", nd);
    int v = legacy_const_i64(g, legacy_base(g, n), "shape", a->n, a->ints);
    int in[2] = {n->in[0], v};
    if (v < 0 || legacy_inputs_set(g, n, 2, in) != RT_OK) return onnx_fail(ctx, "%s: out of memory", nd);
    legacy_attr_drop(n, "shape");
    return RT_OK;
}

static int legacy_concat(OnnxCtx *ctx, IrGraph *g, RtNode *n, const char *nd) {
    if (n->opset >= 4 || legacy_attr(n, "axis")) return RT_OK;
    RtAttr *a = legacy_attr_add(g, n, "axis", RT_ATTR_INT);
    if (!a) return onnx_fail(ctx, "%s: out of memory", nd);
    a->i = 1; /* Concat-1: "Default value is 1" */
    return RT_OK;
}

/* Split-1: the lengths come from the attribute or from the optional second input. */
static int legacy_split(OnnxCtx *ctx, IrGraph *g, RtNode *n, const char *nd) {
    if (n->n_in < 2 || n->in[1] < 0) {
        if (n->n_in > 1) n->n_in = 1;
        return RT_OK;
    }
    if (n->opset >= 2) return onnx_fail(ctx, "%s: Split from opset 2 takes one input", nd);
    if (legacy_attr(n, "split"))
        return onnx_fail(ctx, "%s: the lengths are given twice (attribute 'split' and input 2)", nd);
    const RtTensor *t = g->values[n->in[1]].konst;
    if (!t || !t->data || t->rank > 1 || (t->dtype != RT_I64 && t->dtype != RT_I32))
        return onnx_fail(ctx, "%s: input 'split' must be a constant 1-D integer tensor (opset 7 takes the lengths "
                         "as an attribute)", nd);
    RtAttr *a = legacy_attr_add(g, n, "split", RT_ATTR_INTS);
    int64_t cnt = rt_numel(t), *v = a ? ir_alloc(g, sizeof(int64_t) * (size_t)(cnt + 1)) : NULL;
    if (!v) return onnx_fail(ctx, "%s: out of memory", nd);
    for (int64_t i = 0; i < cnt; i++) v[i] = legacy_int(t, i);
    a->ints = v;
    a->n = (int)cnt;
    n->n_in = 1;
    return RT_OK;
}

static int legacy_pad(OnnxCtx *ctx, RtNode *n, const char *nd) {
    RtAttr *a = legacy_attr(n, "paddings");
    if (n->opset >= 2) {
        if (a) return onnx_fail(ctx, "%s: attribute 'paddings' is Pad-1's; from opset 2 it is 'pads'", nd);
        return RT_OK;
    }
    if (legacy_attr(n, "pads")) return onnx_fail(ctx, "%s: Pad-1 takes 'paddings', not 'pads'", nd);
    if (!a) return onnx_fail(ctx, "%s: Pad-1 needs the attribute 'paddings'", nd);
    a->name = "pads"; /* same layout: [x1_begin, x2_begin, ..., x1_end, x2_end, ...] */
    return RT_OK;
}

/* Tile-1: repeat the input `tiles` times along `axis` (both scalar inputs). *pending = 1
 * when the input's rank is not known yet. */
static int legacy_tile(OnnxCtx *ctx, IrGraph *g, RtNode *n, const char *nd, int *pending) {
    *pending = 0;
    if (n->opset >= 6) return RT_OK;
    if (n->n_in != 3 || n->in[1] < 0 || n->in[2] < 0)
        return onnx_fail(ctx, "%s: Tile before opset 6 takes three inputs (input, tiles, axis)", nd);
    const RtTensor *tiles = g->values[n->in[1]].konst, *axis = g->values[n->in[2]].konst;
    int rank = g->values[n->in[0]].rank;
    if (!tiles || !axis || !tiles->data || !axis->data || rt_numel(tiles) != 1 || rt_numel(axis) != 1 ||
        legacy_int(tiles, 0) == INT64_MIN || legacy_int(axis, 0) == INT64_MIN)
        return onnx_fail(ctx, "%s: inputs 'tiles' and 'axis' must be constant integer scalars", nd);
    if (rank < 0) {
        *pending = 1;
        return RT_OK;
    }
    int64_t ax = legacy_int(axis, 0), rep[RT_MAX_RANK];
    if (ax < 0 || ax >= rank) return onnx_fail(ctx, "%s: axis %lld is outside rank %d", nd, (long long)ax, rank);
    for (int i = 0; i < rank; i++) rep[i] = i == ax ? legacy_int(tiles, 0) : 1;
    int v = legacy_const_i64(g, legacy_base(g, n), "repeats", rank, rep);
    int in[2] = {n->in[0], v};
    if (v < 0 || legacy_inputs_set(g, n, 2, in) != RT_OK) return onnx_fail(ctx, "%s: out of memory", nd);
    return RT_OK;
}

/* Upsample-1 (experimental): 4-D NCHW input, height_scale and width_scale. */
static int legacy_upsample(OnnxCtx *ctx, IrGraph *g, RtNode *n, const char *nd) {
    RtAttr *h = legacy_attr(n, "height_scale"), *w = legacy_attr(n, "width_scale"), *m = legacy_attr(n, "mode");
    if (legacy_attr(n, "scales")) return onnx_fail(ctx, "%s: Upsample before opset 7 has no attribute 'scales'", nd);
    if (!h || !w || h->type != RT_ATTR_FLOAT || w->type != RT_ATTR_FLOAT)
        return onnx_fail(ctx, "%s: Upsample before opset 7 needs the float attributes height_scale and width_scale", nd);
    if (m && m->type == RT_ATTR_STRING && strcmp(m->s, "bilinear") == 0) m->s = "linear";
    float *s = ir_alloc(g, sizeof(float) * 4);
    RtAttr *a = s ? legacy_attr_add(g, n, "scales", RT_ATTR_FLOATS) : NULL;
    if (!a) return onnx_fail(ctx, "%s: out of memory", nd);
    s[0] = s[1] = 1.0f;
    s[2] = legacy_attr(n, "height_scale")->f;
    s[3] = legacy_attr(n, "width_scale")->f;
    a->floats = s;
    a->n = 4;
    legacy_attr_drop(n, "height_scale");
    legacy_attr_drop(n, "width_scale");
    return RT_OK;
}

/* ImageScaler (experimental, opsets 1-9): y[n, c, h, w] = scale * x[n, c, h, w] + bias[c] on
 * an [N, C, H, W] input. Node *k becomes Add(t, bias as [C, 1, 1]) after an inserted
 * Mul(x, scale) -> t (or just the Mul without bias), ops every pass and kernel knows. */
static int legacy_image_scaler(OnnxCtx *ctx, IrGraph *g, int *k, const char *nd) {
    RtNode *n = &g->nodes[*k];
    RtAttr *sa = legacy_attr(n, "scale"), *ba = legacy_attr(n, "bias");
    if ((sa && sa->type != RT_ATTR_FLOAT) || (ba && ba->type != RT_ATTR_FLOATS))
        return onnx_fail(ctx, "%s: attribute 'scale' must be a float and 'bias' floats", nd);
    RtDtype dt = g->values[n->in[0]].dtype;
    if (dt == RT_UNDEFINED) dt = RT_F32;
    if (dt != RT_F32 && dt != RT_F64)
        return onnx_fail(ctx, "%s: input of dtype %s is not supported (float32 or float64)", nd, rt_dtype_name(dt));
    const char *base = legacy_base(g, n);
    int64_t cdims[3] = {ba ? ba->n : 0, 1, 1};
    RtTensor *st = ir_tensor_new(g, dt, 0, NULL), *bt = ba ? ir_tensor_new(g, dt, 3, cdims) : NULL;
    if (!st || (ba && !bt)) return onnx_fail(ctx, "%s: out of memory", nd);
    double scale = sa ? sa->f : 1.0;
    if (dt == RT_F32) *(float *)st->data = (float)scale;
    else *(double *)st->data = scale;
    for (int c = 0; ba && c < ba->n; c++) {
        if (dt == RT_F32) ((float *)bt->data)[c] = ba->floats[c];
        else ((double *)bt->data)[c] = ba->floats[c];
    }
    int sv = legacy_const(g, base, "scale", st), bv = bt ? legacy_const(g, base, "bias", bt) : -1;
    if (sv < 0 || (bt && bv < 0)) return onnx_fail(ctx, "%s: out of memory", nd);
    int x = n->in[0];
    if (!bt) { /* y = x * scale */
        int in[2] = {x, sv};
        if (legacy_inputs_set(g, n, 2, in) != RT_OK) return onnx_fail(ctx, "%s: out of memory", nd);
    } else {
        const char *tn = ir_value_name_fresh(g, base, "scaled"), *mn = ir_value_name_fresh(g, base, "mul_scale");
        int t = tn && mn ? ir_value_add(g, tn) : -1;
        int m = t >= 0 ? legacy_node_insert(g, *k, RT_OP_MUL, mn, x, t) : -1;
        int in[2] = {m >= 0 ? g->nodes[m].in[0] : -1, sv};
        if (m < 0 || legacy_inputs_set(g, &g->nodes[m], 2, in) != RT_OK) return onnx_fail(ctx, "%s: out of memory", nd);
        g->nodes[m].opset = g->opset < ONNX_LEGACY_TARGET ? ONNX_LEGACY_TARGET : g->opset;
        (*k)++;
        n = &g->nodes[*k];
        int in2[2] = {t, bv};
        if (legacy_inputs_set(g, n, 2, in2) != RT_OK) return onnx_fail(ctx, "%s: out of memory", nd);
    }
    n->op = bt ? RT_OP_ADD : RT_OP_MUL;
    n->op_type = rt_op_name(n->op);
    n->n_attr = 0;
    return RT_OK;
}

/* BatchNormalization / Dropout 1-6 with is_test != 0: test mode, whose extra outputs (running
 * statistics, mask) the spec leaves unfilled; opset 7 tells test mode by their absence, so
 * unused ones are detached and a used one is refused. */
static int legacy_is_test(OnnxCtx *ctx, IrGraph *g, RtNode *n, const char *nd) {
    RtAttr *t = legacy_attr(n, "is_test");
    int test = t && t->i != 0;
    legacy_attr_drop(n, "is_test");
    for (int i = 1; test && i < n->n_out; i++) {
        int v = n->out[i];
        if (v < 0) continue;
        if (ir_value_uses(g, v) > 0 || ir_value_is_output(g, v))
            return onnx_fail(ctx, "%s: output %d ('%s') is read, but is_test = 1 leaves it unfilled", nd, i,
                             g->values[v].name);
        n->out[i] = -1;
        g->values[v].producer = -1;
    }
    return RT_OK;
}

/* 1 when value v's shape is fully known. */
static int legacy_shape_known(const IrValue *v) {
    if (v->rank < 0) return 0;
    for (int d = 0; d < v->rank; d++)
        if (v->dims[d].value < 0) return 0;
    return 1;
}

static int64_t legacy_numel(const IrValue *v) {
    int64_t c = 1;
    for (int d = 0; d < v->rank; d++) c *= v->dims[d].value;
    return c;
}

/* B (input 1 of node *k) aligned with A (input 0) from `axis` for numpy broadcasting: B's
 * dims must each equal A's dim there or be 1 (a size-1 dim stretches, as onnx's version
 * converter leaves it to numpy's rules), and B gets trailing 1s, [b0 .. bk] -> [b0 .. bk,
 * 1 .. 1]: the constant reshaped (a copy when other nodes read it), else an Unsqueeze
 * inserted before the node. *pending = 1 when a rank is not known yet. */
static int legacy_align_b(OnnxCtx *ctx, IrGraph *g, int *k, const char *nd, int64_t axis, int *pending) {
    RtNode *n = &g->nodes[*k];
    const IrValue *A = &g->values[n->in[0]], *B = &g->values[n->in[1]];
    if (A->rank < 0 || B->rank < 0) {
        *pending = 1;
        return RT_OK;
    }
    int64_t trailing = A->rank - axis - B->rank;
    int one = legacy_shape_known(B) && legacy_numel(B) == 1; /* an element of size 1 broadcasts anywhere */
    if (!one && (axis < 0 || trailing < 0))
        return onnx_fail(ctx, "%s: input B of rank %d does not fit input A of rank %d at axis %lld", nd, B->rank,
                         A->rank, (long long)axis);
    for (int d = 0; !one && d < B->rank; d++) {
        int64_t a = A->dims[axis + d].value, b = B->dims[d].value;
        if (a >= 0 && b >= 0 && a != b && b != 1)
            return onnx_fail(ctx, "%s: dim %d of input B (%lld) differs from dim %lld of input A (%lld) "
                             "(legacy broadcasting matches dims, or stretches a 1, from axis %lld)", nd, d,
                             (long long)b, (long long)(axis + d), (long long)a, (long long)axis);
    }
    if (one || trailing == 0) return RT_OK;
    int nb = n->in[1], newb;
    const char *base = legacy_base(g, n);
    if (B->konst) { /* reshaped to [b0 .. bk, 1 .. 1] */
        int64_t dims[RT_MAX_RANK];
        if (B->rank + trailing > RT_MAX_RANK) return onnx_fail(ctx, "%s: rank too large", nd);
        for (int d = 0; d < B->rank + trailing; d++) dims[d] = d < B->rank ? B->konst->dims[d] : 1;
        RtTensor *t = ir_tensor_new(g, B->konst->dtype, B->rank + (int)trailing, dims);
        if (!t) return onnx_fail(ctx, "%s: out of memory", nd);
        if (rt_nbytes(t) > 0) memcpy(t->data, B->konst->data, (size_t)rt_nbytes(t));
        if (ir_value_uses(g, nb) == 1 && !ir_value_is_output(g, nb)) {
            /* only this node reads it: reshaped in place, keeping the initializer's name
             * (onnx_save_weights writes trained weights back by name) */
            g->values[nb].konst = t;
            ir_value_set_shape(&g->values[nb], t->dtype, t->rank, t->dims);
            newb = nb;
        } else if ((newb = legacy_const(g, base, "B", t)) < 0) {
            return onnx_fail(ctx, "%s: out of memory", nd);
        }
    } else { /* Unsqueeze(B, axes = [rank(B) .. rank(A) - axis - 1]) */
        int64_t *axes = ir_alloc(g, sizeof(int64_t) * (size_t)trailing);
        const char *vn = ir_value_name_fresh(g, base, "B"), *nn = ir_value_name_fresh(g, base, "unsqueeze_B");
        newb = vn && nn && axes ? ir_value_add(g, vn) : -1;
        int u = newb >= 0 ? legacy_node_insert(g, *k, RT_OP_UNSQUEEZE, nn, nb, newb) : -1;
        RtAttr *a = u >= 0 ? legacy_attr_add(g, &g->nodes[u], "axes", RT_ATTR_INTS) : NULL;
        if (!a) return onnx_fail(ctx, "%s: out of memory", nd);
        for (int64_t i = 0; i < trailing; i++) axes[i] = g->values[nb].rank + i;
        a->ints = axes;
        a->n = (int)trailing;
        g->nodes[u].opset = ONNX_LEGACY_TARGET;
        (*k)++;
        n = &g->nodes[*k];
    }
    n->in[1] = newb;
    return RT_OK;
}

/* Legacy broadcasting -> numpy broadcasting. *pending = 1 when rank(A) is not known yet. */
static int legacy_broadcast(OnnxCtx *ctx, IrGraph *g, int *k, const char *nd, int *pending) {
    RtNode *n = &g->nodes[*k];
    RtAttr *bc = legacy_attr(n, "broadcast"), *ax = legacy_attr(n, "axis");
    *pending = 0;
    if (n->n_in != 2 || n->in[0] < 0 || n->in[1] < 0) return onnx_fail(ctx, "%s: needs inputs A and B", nd);
    if ((bc && bc->type != RT_ATTR_INT) || (ax && ax->type != RT_ATTR_INT))
        return onnx_fail(ctx, "%s: attributes 'broadcast' and 'axis' must be ints", nd);
    const IrValue *A = &g->values[n->in[0]], *B = &g->values[n->in[1]];
    if (!bc || bc->i == 0) {
        /* equal shapes required; numpy agrees on them, so only a known mismatch is refused */
        int same = A->rank == B->rank;
        for (int d = 0; same && d < A->rank; d++) same = A->dims[d].value == B->dims[d].value;
        if (legacy_shape_known(A) && legacy_shape_known(B) && !same)
            return onnx_fail(ctx, "%s: inputs A and B differ in shape and attribute 'broadcast' is not 1 "
                             "(opset < 7 broadcasts only when asked)", nd);
    } else if (ax) {
        ONNX_TRY(legacy_align_b(ctx, g, k, nd, ax->i, pending));
        if (*pending) return RT_OK;
        n = &g->nodes[*k];
    }
    legacy_attr_drop(n, "broadcast");
    legacy_attr_drop(n, "axis");
    return RT_OK;
}

/* PRelu of opsets 1-6 applies a 1-D slope of C elements per channel (axis 1, as Caffe2 and
 * PyTorch 0.3 exported it); from opset 7 the slope broadcasts from the right: a slope [C] of
 * an input of rank >= 3 becomes [C, 1 .. 1]. A single slope broadcasts either way. */
static int legacy_prelu(OnnxCtx *ctx, IrGraph *g, int *k, const char *nd, int *pending) {
    RtNode *n = &g->nodes[*k];
    *pending = 0;
    if (n->n_in != 2 || n->in[0] < 0 || n->in[1] < 0) return onnx_fail(ctx, "%s: needs inputs X and slope", nd);
    const IrValue *X = &g->values[n->in[0]], *S = &g->values[n->in[1]];
    if (S->rank != 1 || (legacy_shape_known(S) && legacy_numel(S) == 1)) return RT_OK;
    if (X->rank < 0) {
        *pending = 1;
        return RT_OK;
    }
    return X->rank >= 3 ? legacy_align_b(ctx, g, k, nd, 1, pending) : RT_OK;
}

/* Rewrites node *k (which may move when a node is inserted before it). *pending = 1 when it
 * waits for shape inference. */
static int legacy_node_upgrade(OnnxCtx *ctx, IrGraph *g, int *k, int *pending) {
    RtNode *n = &g->nodes[*k];
    char nd[300];
    legacy_desc(n, nd, sizeof nd);
    *pending = 0;
    if (!legacy_op_known(n))
        return onnx_fail(ctx, "%s: op %s is not in default-domain opset %d (the model's), or its form there "
                         "is not supported", nd, n->op_type, n->opset);
    /* inputs were checked as the node was built; RNN/GRU/LSTM may have no output there */
    if (n->n_out < 1) return onnx_fail(ctx, "%s: needs an output", nd);
    legacy_attr_drop(n, "consumed_inputs");
    switch (n->op) {
    case RT_OP_CAST: ONNX_TRY(legacy_cast(ctx, n, nd)); break;
    case RT_OP_RESHAPE: ONNX_TRY(legacy_reshape(ctx, g, n, nd)); break;
    case RT_OP_CONCAT: ONNX_TRY(legacy_concat(ctx, g, n, nd)); break;
    case RT_OP_SPLIT: ONNX_TRY(legacy_split(ctx, g, n, nd)); break;
    case RT_OP_PAD: ONNX_TRY(legacy_pad(ctx, n, nd)); break;
    case RT_OP_TILE: ONNX_TRY(legacy_tile(ctx, g, n, nd, pending)); break;
    case RT_OP_UPSAMPLE: ONNX_TRY(legacy_upsample(ctx, g, n, nd)); break;
    case RT_OP_BATCH_NORMALIZATION: case RT_OP_DROPOUT: ONNX_TRY(legacy_is_test(ctx, g, n, nd)); break;
    case RT_OP_GEMM: legacy_attr_drop(n, "broadcast"); break;
    case RT_OP_PRELU: ONNX_TRY(legacy_prelu(ctx, g, k, nd, pending)); break;
    case RT_OP_IMAGE_SCALER: ONNX_TRY(legacy_image_scaler(ctx, g, k, nd)); break;
    case RT_OP_RNN: case RT_OP_GRU: case RT_OP_LSTM:
        legacy_attr_drop(n, "output_sequence"); /* 0 only let output Y be left out */
        break;
    default:
        if (legacy_is_broadcast_op(n->op)) ONNX_TRY(legacy_broadcast(ctx, g, k, nd, pending));
        break;
    }
    if (!*pending) g->nodes[*k].opset = ONNX_LEGACY_TARGET;
    return RT_OK;
}

static int legacy_graph_upgrade(OnnxCtx *ctx, IrGraph *g) {
    int n_pending = 0;
    for (int k = 0; k < g->n_nodes; k++) {
        RtNode *n = &g->nodes[k];
        for (int i = 0; i < n->n_attr; i++)
            if (n->attrs[i].type == RT_ATTR_GRAPH && n->attrs[i].g)
                ONNX_TRY(legacy_graph_upgrade(ctx, (IrGraph *)n->attrs[i].g));
        /* an op wafer does not know (kept for inspection with allow_unknown_ops) never runs */
        if (!legacy_is_default(n) || n->opset >= ONNX_LEGACY_TARGET || n->op == RT_OP_UNKNOWN) continue;
        int pending;
        ONNX_TRY(legacy_node_upgrade(ctx, g, &k, &pending));
        n_pending += pending;
    }
    if (n_pending) {
        /* ranks the rewrites need (legacy broadcasts along an axis, Tile-1): one inference
         * over the graph; the kernels run those nodes in their old forms meanwhile */
        RtError e = {{0}};
        if (ir_infer_shapes(g, &e) != RT_OK) return onnx_fail(ctx, "%s", e.msg);
        for (int k = 0; k < g->n_nodes; k++) {
            RtNode *n = &g->nodes[k];
            if (!legacy_is_default(n) || n->opset >= ONNX_LEGACY_TARGET || n->op == RT_OP_UNKNOWN) continue;
            char nd[300];
            int pending;
            legacy_desc(n, nd, sizeof nd);
            if (n->op == RT_OP_TILE) ONNX_TRY(legacy_tile(ctx, g, n, nd, &pending));
            else if (n->op == RT_OP_PRELU) ONNX_TRY(legacy_prelu(ctx, g, &k, nd, &pending));
            else ONNX_TRY(legacy_broadcast(ctx, g, &k, nd, &pending));
            if (pending)
                return onnx_fail(ctx, "%s: the rewrite into opset 7 needs the rank of input %s, which is not "
                                 "known (declare its shape)", nd,
                                 n->op == RT_OP_TILE ? "'input'" : n->op == RT_OP_PRELU ? "X" : "A or B");
            g->nodes[k].opset = ONNX_LEGACY_TARGET;
        }
    }
    g->opset = ONNX_LEGACY_TARGET;
    return RT_OK;
}

int onnx_legacy_upgrade(OnnxCtx *ctx, IrGraph *g) { return legacy_graph_upgrade(ctx, g); }

/* ---------------------------------------------------------------- newer models */

/* 1 when `attr` of node n exists only in opsets 1-6 of its op. */
static int legacy_attr_only_old(const RtNode *n, const char *attr) {
    if (strcmp(attr, "consumed_inputs") == 0) return 1;
    if (legacy_is_broadcast_op(n->op)) return strcmp(attr, "broadcast") == 0 || strcmp(attr, "axis") == 0;
    switch (n->op) {
    case RT_OP_GEMM: return strcmp(attr, "broadcast") == 0;
    case RT_OP_PAD: return strcmp(attr, "paddings") == 0;
    case RT_OP_UPSAMPLE: return strcmp(attr, "height_scale") == 0 || strcmp(attr, "width_scale") == 0;
    case RT_OP_BATCH_NORMALIZATION: case RT_OP_DROPOUT: return strcmp(attr, "is_test") == 0;
    case RT_OP_RESHAPE: return strcmp(attr, "shape") == 0;
    case RT_OP_RNN: case RT_OP_GRU: case RT_OP_LSTM: return strcmp(attr, "output_sequence") == 0;
    default: return 0;
    }
}

int onnx_legacy_newer(OnnxCtx *ctx, IrGraph *g) {
    for (int k = 0; k < g->n_nodes; k++) {
        RtNode *n = &g->nodes[k];
        char nd[300];
        for (int i = 0; i < n->n_attr; i++) {
            if (n->attrs[i].type == RT_ATTR_GRAPH && n->attrs[i].g)
                ONNX_TRY(onnx_legacy_newer(ctx, (IrGraph *)n->attrs[i].g));
            if (n->op != RT_OP_UNKNOWN && legacy_is_default(n) && legacy_attr_only_old(n, n->attrs[i].name))
                return onnx_fail(ctx, "%s: attribute '%s' exists only up to opset 6; this model imports opset %d",
                                 legacy_desc(n, nd, sizeof nd), n->attrs[i].name, n->opset);
        }
        if (n->op != RT_OP_IMAGE_SCALER) continue;
        legacy_desc(n, nd, sizeof nd);
        if (n->opset > 9)
            return onnx_fail(ctx, "%s: ImageScaler was removed in opset 10; this model imports opset %d", nd, n->opset);
        if (n->n_in < 1 || n->in[0] < 0 || n->n_out < 1) return onnx_fail(ctx, "%s: needs an input and an output", nd);
        ONNX_TRY(legacy_image_scaler(ctx, g, &k, nd));
    }
    return RT_OK;
}
