/*
 * onnx_attr.c — node attributes (AttributeProto -> RtAttr) and Constant nodes.
 *
 * Attributes are copied into the graph arena so the proto can be freed after loading.
 * Every attribute name is checked against the op table (runtime/ops.def): an attribute the
 * spec does not define for the op is an error, never silently ignored. Attributes of ops
 * wafer does not know (kept with allow_unknown_ops) cannot be checked and are kept as they are.
 * GRAPH attributes are only marked here; onnx_subgraph.c builds them, since their scoping
 * needs the enclosing graph.
 *
 * A Constant node does not become a node: its tensor becomes a constant value, exactly as
 * an initializer would, so passes see one kind of constant.
 */
#include "onnx_internal.h"

#include <stdio.h>
#include <string.h>

const char *onnx_node_desc(const Onnx__NodeProto *np, char *buf, size_t n) {
    snprintf(buf, n, "node '%s' (%s)", np->name ? np->name : "", np->op_type ? np->op_type : "");
    return buf;
}

static void *attr_arena_alloc(void *user, size_t bytes) { return ir_alloc(user, bytes); }

/* Older writers leave `type` unset; the field that is present tells it then. */
static int attr_type_of(const Onnx__AttributeProto *ap) {
    if (ap->has_type && ap->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED) return ap->type;
    if (ap->has_f) return RT_ATTR_FLOAT;
    if (ap->has_i) return RT_ATTR_INT;
    if (ap->has_s) return RT_ATTR_STRING;
    if (ap->t) return RT_ATTR_TENSOR;
    if (ap->g) return RT_ATTR_GRAPH;
    if (ap->n_floats) return RT_ATTR_FLOATS;
    if (ap->n_ints) return RT_ATTR_INTS;
    if (ap->n_strings) return RT_ATTR_STRINGS;
    return 0;
}

/* A NUL-terminated arena copy of protobuf bytes. */
static const char *attr_bytes_dup(IrGraph *g, const ProtobufCBinaryData *b) {
    char *s = ir_alloc(g, b->len + 1);
    if (s && b->len) memcpy(s, b->data, b->len);
    return s;
}

static int attr_lists_convert(const Onnx__AttributeProto *ap, IrGraph *g, RtAttr *a) {
    if (a->type == RT_ATTR_FLOATS) {
        float *v = ir_alloc(g, sizeof(float) * (ap->n_floats + 1));
        if (!v) return RT_ERR_NOMEM;
        if (ap->n_floats) memcpy(v, ap->floats, sizeof(float) * ap->n_floats);
        a->floats = v;
        a->n = (int)ap->n_floats;
    } else if (a->type == RT_ATTR_INTS) {
        int64_t *v = ir_alloc(g, sizeof(int64_t) * (ap->n_ints + 1));
        if (!v) return RT_ERR_NOMEM;
        if (ap->n_ints) memcpy(v, ap->ints, sizeof(int64_t) * ap->n_ints);
        a->ints = v;
        a->n = (int)ap->n_ints;
    } else {
        const char **v = ir_alloc(g, sizeof(char *) * (ap->n_strings + 1));
        if (!v) return RT_ERR_NOMEM;
        for (size_t i = 0; i < ap->n_strings; i++)
            if (!(v[i] = attr_bytes_dup(g, &ap->strings[i]))) return RT_ERR_NOMEM;
        a->strings = v;
        a->n = (int)ap->n_strings;
    }
    return RT_OK;
}

static const char *attr_type_name(int type) {
    static const char *const names[] = {"undefined", "float", "int", "string", "tensor", "graph",
                                        "floats", "ints", "strings", "tensors", "graphs",
                                        "sparse tensor", "sparse tensors", "type proto", "type protos"};
    return (type >= 0 && type < (int)(sizeof names / sizeof *names)) ? names[type] : "unknown";
}

static int attr_convert(OnnxCtx *ctx, const Onnx__NodeProto *np, int op,
                        const Onnx__AttributeProto *ap, IrGraph *g, RtAttr *a) {
    char nd[300], what[400];
    onnx_node_desc(np, nd, sizeof nd);
    const char *name = ap->name ? ap->name : "";
    memset(a, 0, sizeof *a);
    a->name = ir_strdup(g, name);
    if (!a->name) return onnx_fail(ctx, "%s: out of memory", nd);
    if (ap->ref_attr_name && ap->ref_attr_name[0])
        return onnx_fail(ctx, "%s: attribute '%s' refers to a function attribute, which is not supported",
                         nd, name);
    a->type = (RtAttrType)attr_type_of(ap);
    switch (a->type) {
    case RT_ATTR_FLOAT: a->f = ap->f; return RT_OK;
    case RT_ATTR_INT: a->i = ap->i; return RT_OK;
    case RT_ATTR_STRING:
        a->s = attr_bytes_dup(g, &ap->s);
        return a->s ? RT_OK : onnx_fail(ctx, "%s: out of memory", nd);
    case RT_ATTR_FLOATS: case RT_ATTR_INTS: case RT_ATTR_STRINGS:
        return attr_lists_convert(ap, g, a) == RT_OK ? RT_OK : onnx_fail(ctx, "%s: out of memory", nd);
    case RT_ATTR_TENSOR: {
        if (!ap->t) return onnx_fail(ctx, "%s: attribute '%s' has no tensor", nd, name);
        RtTensor *t = ir_alloc(g, sizeof *t);
        if (!t) return onnx_fail(ctx, "%s: out of memory", nd);
        snprintf(what, sizeof what, "%s: attribute '%s'", nd, name);
        OnnxAlloc al = {attr_arena_alloc, g};
        ONNX_TRY(onnx_tensor_convert(ctx, ap->t, what, &al, t));
        a->t = t;
        return RT_OK;
    }
    case RT_ATTR_GRAPH:
        if (!ap->g) return onnx_fail(ctx, "%s: attribute '%s' has no graph", nd, name);
        return RT_OK; /* built by onnx_subgraphs_convert */
    default:
        /* An unknown op's node never runs (it is kept for inspection): its attribute keeps
         * its name and ONNX type number, without a payload. */
        if (op == RT_OP_UNKNOWN) return RT_OK;
        return onnx_fail(ctx, "%s: attribute '%s' has type %s, which is not supported", nd, name,
                         attr_type_name((int)a->type));
    }
}

int onnx_attrs_convert(OnnxCtx *ctx, const Onnx__NodeProto *np, int op, IrGraph *g, RtAttr *attrs) {
    char nd[300];
    for (size_t i = 0; i < np->n_attribute; i++) {
        const Onnx__AttributeProto *ap = np->attribute[i];
        const char *name = ap->name ? ap->name : "";
        if (op != RT_OP_UNKNOWN && !rt_op_attr_allowed(op, name))
            return onnx_fail(ctx, "%s: unknown attribute '%s'", onnx_node_desc(np, nd, sizeof nd), name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(np->attribute[j]->name ? np->attribute[j]->name : "", name) == 0)
                return onnx_fail(ctx, "%s: attribute '%s' appears twice", onnx_node_desc(np, nd, sizeof nd),
                                 name);
        ONNX_TRY(attr_convert(ctx, np, op, ap, g, &attrs[i]));
    }
    return RT_OK;
}

/* value_float(s) / value_int(s): a scalar or 1-D tensor in the arena. */
static RtTensor *constant_from_list(IrGraph *g, RtDtype dt, int rank, size_t n, const void *src) {
    int64_t dims[1] = {(int64_t)n};
    RtTensor *t = ir_tensor_new(g, dt, rank, dims);
    if (t && n) memcpy(t->data, src, n * rt_dtype_size(dt));
    return t;
}

int onnx_constant_convert(OnnxCtx *ctx, const Onnx__NodeProto *np, IrGraph *g, RtTensor **t) {
    char nd[300], what[400];
    onnx_node_desc(np, nd, sizeof nd);
    if (np->n_attribute != 1)
        return onnx_fail(ctx, "%s: needs exactly one value attribute, has %zu", nd, np->n_attribute);
    const Onnx__AttributeProto *ap = np->attribute[0];
    const char *name = ap->name ? ap->name : "";
    if (!rt_op_attr_allowed(RT_OP_CONSTANT, name))
        return onnx_fail(ctx, "%s: unknown attribute '%s'", nd, name);
    *t = NULL;
    if (strcmp(name, "value") == 0) {
        if (!ap->t) return onnx_fail(ctx, "%s: attribute 'value' has no tensor", nd);
        *t = ir_alloc(g, sizeof **t);
        if (!*t) return onnx_fail(ctx, "%s: out of memory", nd);
        snprintf(what, sizeof what, "%s: attribute 'value'", nd);
        OnnxAlloc al = {attr_arena_alloc, g};
        return onnx_tensor_convert(ctx, ap->t, what, &al, *t);
    }
    if (strcmp(name, "value_float") == 0) *t = constant_from_list(g, RT_F32, 0, 1, &ap->f);
    else if (strcmp(name, "value_int") == 0) *t = constant_from_list(g, RT_I64, 0, 1, &ap->i);
    else if (strcmp(name, "value_floats") == 0) *t = constant_from_list(g, RT_F32, 1, ap->n_floats, ap->floats);
    else if (strcmp(name, "value_ints") == 0) *t = constant_from_list(g, RT_I64, 1, ap->n_ints, ap->ints);
    else if (strcmp(name, "sparse_value") == 0)
        return onnx_fail(ctx, "%s: sparse constants (attribute 'sparse_value') are not supported", nd);
    else
        return onnx_fail(ctx, "%s: attribute '%s': string tensors are not supported", nd, name);
    return *t ? RT_OK : onnx_fail(ctx, "%s: out of memory", nd);
}
