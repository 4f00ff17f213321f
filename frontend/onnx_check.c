/*
 * onnx_check.c — structural checks of a serialized ONNX model, the ones onnx.checker makes
 * that do not need operator schemas. The ONNX writer runs them on every model it produces;
 * they work on any file (`onnx_check_file`).
 *
 * Model:  an IR version (>= 3) and opset imports, one per domain ("" and "ai.onnx" are the
 *         same), each with a version; a graph.
 * Graph:  walked in node order with a scope of defined names (graph inputs, initializers,
 *         then each node's outputs as it is passed; a subgraph sees its enclosing scopes):
 *         every non-empty node input is defined before use; every output name is new in
 *         this graph and its ancestors (SSA); every node's domain is imported; attribute
 *         names are unique in the node, node names unique in the graph (onnxruntime's rule), the type is set and exactly the field the type names
 *         is present; initializers and tensor attributes have a known data type, non-negative
 *         dims, and exactly numel elements in the one data field used (raw_data: numel x
 *         element size bytes, 4-bit types ceil(numel / 2)); graph inputs and outputs are
 *         named and typed, and outputs are defined.
 * The first problem found is reported as "PATH: graph 'g': node 'n' (Op): ...".
 */
#include "onnx_internal.h"
#include "onnx_prescan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Names defined in one graph, chained to the enclosing graph's scope. */
typedef struct CheckScope CheckScope;
struct CheckScope {
    OnnxNameMap names;          /* owned map; keys borrowed from the proto */
    OnnxNameMap nodes;          /* owned: node names seen in this graph */
    const CheckScope *parent;   /* borrowed, NULL at the top */
    const char *graph;          /* borrowed: the graph's name, for messages */
};

typedef struct {
    const char *path;           /* borrowed */
    const Onnx__ModelProto *mp; /* borrowed */
    RtError *err;               /* borrowed */
} CheckCtx;

#define CHECK_TRY(expr) \
    do { int r_ = (expr); if (r_ != RT_OK) return r_; } while (0)

static int check_fail(CheckCtx *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static int check_fail(CheckCtx *c, const char *fmt, ...) {
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rt_error_set(c->err, "%s: %s", c->path, msg);
}

static int check_default_domain(const char *d) { return !d || !d[0] || strcmp(d, "ai.onnx") == 0; }

static int check_name_defined(const CheckScope *s, const char *name) {
    for (; s; s = s->parent)
        if (onnx_names_get(&s->names, name) >= 0) return 1;
    return 0;
}

/* Bits per element of an ONNX data type, 0 when unknown. */
static int check_dtype_bits(int32_t t) {
    switch (t) {
    case 1: case 6: case 12: return 32;             /* float, int32, uint32 */
    case 2: case 3: case 9: return 8;               /* uint8, int8, bool */
    case 4: case 5: case 10: case 16: return 16;    /* uint16, int16, float16, bfloat16 */
    case 7: case 11: case 13: case 14: return 64;   /* int64, double, uint64, complex64 */
    case 15: return 128;                            /* complex128 */
    case 17: case 18: case 19: case 20: return 8;   /* float8 variants */
    case 21: case 22: case 23: return 4;            /* uint4, int4, float4e2m1 */
    case 24: return 8;                              /* float8e8m0 (IR 12) */
    case 25: case 26: return 2;                     /* uint2, int2 (IR 13) */
    case 8: return -1;                              /* string: no fixed size */
    default: return 0;
    }
}

/* Which typed field holds type t's elements, and how many entries numel elements take. */
static size_t check_typed_count(const Onnx__TensorProto *tp, int64_t numel, int64_t *want) {
    int32_t t = tp->data_type;
    *want = numel;
    switch (t) {
    case 1: return tp->n_float_data;
    case 14: *want = 2 * numel; return tp->n_float_data;
    case 7: return tp->n_int64_data;
    case 11: return tp->n_double_data;
    case 15: *want = 2 * numel; return tp->n_double_data;
    case 12: case 13: return tp->n_uint64_data;
    case 8: return tp->n_string_data;
    case 21: case 22: case 23: *want = (numel + 1) / 2; return tp->n_int32_data;
    case 25: case 26: *want = (numel + 3) / 4; return tp->n_int32_data;
    default: return tp->n_int32_data;
    }
}

static int check_tensor(CheckCtx *c, const Onnx__TensorProto *tp, const char *what) {
    if (!tp->has_data_type || tp->data_type == 0)
        return check_fail(c, "%s: data_type is not set", what);
    int bits = check_dtype_bits(tp->data_type);
    if (bits == 0) return check_fail(c, "%s: unknown data_type %d", what, (int)tp->data_type);
    int64_t numel = 1;
    for (size_t i = 0; i < tp->n_dims; i++) {
        if (tp->dims[i] < 0) return check_fail(c, "%s: negative dim %lld", what, (long long)tp->dims[i]);
        if (tp->dims[i] > 0 && numel > INT64_MAX / 8 / tp->dims[i])
            return check_fail(c, "%s: element count overflows", what);
        numel *= tp->dims[i];
    }
    if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        for (size_t i = 0; i < tp->n_external_data; i++)
            if (tp->external_data[i]->key && strcmp(tp->external_data[i]->key, "location") == 0) return RT_OK;
        return check_fail(c, "%s: external data without a 'location' entry", what);
    }
    int fields = (tp->has_raw_data ? 1 : 0) + (tp->n_float_data > 0) + (tp->n_int32_data > 0) +
                 (tp->n_string_data > 0) + (tp->n_int64_data > 0) + (tp->n_double_data > 0) +
                 (tp->n_uint64_data > 0);
    if (fields > 1) return check_fail(c, "%s: data in %d fields (one allowed)", what, fields);
    if (tp->has_raw_data) {
        if (bits < 0) return check_fail(c, "%s: string tensors cannot use raw_data", what);
        int64_t bytes = (numel * bits + 7) / 8;
        if ((int64_t)tp->raw_data.len != bytes)
            return check_fail(c, "%s: raw_data holds %zu bytes, dims x dtype need %lld", what, tp->raw_data.len,
                              (long long)bytes);
        return RT_OK;
    }
    int64_t want;
    size_t have = check_typed_count(tp, numel, &want);
    if (fields == 0 && numel == 0) return RT_OK;
    if ((int64_t)have != want)
        return check_fail(c, "%s: %zu data entries, dims x dtype need %lld", what, have, (long long)want);
    return RT_OK;
}

static int check_type(CheckCtx *c, const Onnx__ValueInfoProto *vi, const char *graph, const char *role) {
    if (!vi->name || !vi->name[0]) return check_fail(c, "graph '%s': a graph %s has no name", graph, role);
    const Onnx__TypeProto *t = vi->type;
    if (!t || t->value_case == ONNX__TYPE_PROTO__VALUE__NOT_SET)
        return check_fail(c, "graph '%s': %s '%s' has no type", graph, role, vi->name);
    if (t->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE &&
        (!t->tensor_type || !t->tensor_type->has_elem_type || check_dtype_bits(t->tensor_type->elem_type) == 0))
        return check_fail(c, "graph '%s': %s '%s' has no valid elem_type", graph, role, vi->name);
    return RT_OK;
}

static int check_graph(CheckCtx *c, const Onnx__GraphProto *gp, const CheckScope *parent);

static int check_node_domain(CheckCtx *c, const Onnx__NodeProto *np, const char *nd) {
    for (size_t i = 0; i < c->mp->n_opset_import; i++) {
        const char *d = c->mp->opset_import[i]->domain;
        if (check_default_domain(np->domain) ? check_default_domain(d) : (d && strcmp(d, np->domain) == 0))
            return RT_OK;
    }
    return check_fail(c, "%s: domain '%s' is not in the model's opset_import", nd,
                      check_default_domain(np->domain) ? "" : np->domain);
}

/* Exactly the field the attribute's type names is set (lists may be empty). */
static int check_attr_fields(CheckCtx *c, const Onnx__AttributeProto *a, const char *nd) {
    int set[13] = {0};
    set[1] = a->has_f; set[2] = a->has_i; set[3] = a->has_s; set[4] = a->t != NULL; set[5] = a->g != NULL;
    set[6] = a->n_floats > 0; set[7] = a->n_ints > 0; set[8] = a->n_strings > 0; set[9] = a->n_tensors > 0;
    set[10] = a->n_graphs > 0; set[11] = a->sparse_tensor != NULL; set[12] = a->n_sparse_tensors > 0;
    int t = (int)a->type, others = 0;
    if (!a->has_type || t < 1 || t > 12)
        return check_fail(c, "%s: attribute '%s' has no valid type", nd, a->name);
    for (int i = 1; i < 13; i++) others += i != t && set[i];
    if (others) return check_fail(c, "%s: attribute '%s' of type %d also sets another type's field", nd, a->name, t);
    if (t <= 5 && !set[t]) return check_fail(c, "%s: attribute '%s' of type %d has no value", nd, a->name, t);
    if (t == 11 && !set[t]) return check_fail(c, "%s: attribute '%s' has no sparse tensor", nd, a->name);
    return RT_OK;
}

static int check_attrs(CheckCtx *c, const Onnx__NodeProto *np, const char *nd, const CheckScope *s) {
    for (size_t i = 0; i < np->n_attribute; i++) {
        const Onnx__AttributeProto *a = np->attribute[i];
        if (!a->name || !a->name[0]) return check_fail(c, "%s: an attribute has no name", nd);
        for (size_t j = 0; j < i; j++)
            if (strcmp(np->attribute[j]->name, a->name) == 0)
                return check_fail(c, "%s: attribute '%s' appears twice", nd, a->name);
        if (a->ref_attr_name && a->ref_attr_name[0]) continue; /* inside functions only */
        CHECK_TRY(check_attr_fields(c, a, nd));
        char what[400];
        snprintf(what, sizeof what, "%s: attribute '%s'", nd, a->name);
        if (a->t) CHECK_TRY(check_tensor(c, a->t, what));
        for (size_t j = 0; j < a->n_tensors; j++) CHECK_TRY(check_tensor(c, a->tensors[j], what));
        if (a->g) CHECK_TRY(check_graph(c, a->g, s));
        for (size_t j = 0; j < a->n_graphs; j++) CHECK_TRY(check_graph(c, a->graphs[j], s));
    }
    return RT_OK;
}

static int check_define(CheckCtx *c, CheckScope *s, const char *name, const char *what) {
    if (check_name_defined(s, name))
        return check_fail(c, "graph '%s': %s '%s' is already defined (values are assigned once)", s->graph, what,
                          name);
    if (onnx_names_put(&s->names, name, 1) != 0) return check_fail(c, "out of memory");
    return RT_OK;
}

static int check_node(CheckCtx *c, const Onnx__NodeProto *np, CheckScope *s) {
    char nd[300];
    snprintf(nd, sizeof nd, "graph '%s': node '%s' (%s)", s->graph, np->name ? np->name : "",
             np->op_type ? np->op_type : "");
    if (!np->op_type || !np->op_type[0]) return check_fail(c, "%s: op_type is empty", nd);
    /* onnx.checker allows repeated node names; onnxruntime refuses them, so wafer does too. */
    if (np->name && np->name[0]) {
        if (onnx_names_get(&s->nodes, np->name) >= 0) return check_fail(c, "%s: another node has this name", nd);
        if (onnx_names_put(&s->nodes, np->name, 1) != 0) return check_fail(c, "out of memory");
    }
    CHECK_TRY(check_node_domain(c, np, nd));
    for (size_t i = 0; i < np->n_input; i++)
        if (np->input[i][0] && !check_name_defined(s, np->input[i]))
            return check_fail(c, "%s: input '%s' is not defined before use (no graph input, initializer or "
                              "earlier node output has that name)", nd, np->input[i]);
    /* Subgraphs see the names defined so far (not this node's outputs). */
    CHECK_TRY(check_attrs(c, np, nd, s));
    for (size_t i = 0; i < np->n_output; i++) {
        if (!np->output[i][0]) continue;
        char what[400];
        snprintf(what, sizeof what, "node '%s' (%s): output", np->name ? np->name : "", np->op_type);
        CHECK_TRY(check_define(c, s, np->output[i], what));
    }
    return RT_OK;
}

static int check_graph_body(CheckCtx *c, const Onnx__GraphProto *gp, CheckScope *s) {
    for (size_t i = 0; i < gp->n_input; i++) {
        CHECK_TRY(check_type(c, gp->input[i], s->graph, "input"));
        CHECK_TRY(check_define(c, s, gp->input[i]->name, "input"));
    }
    OnnxNameMap inits;
    memset(&inits, 0, sizeof inits);
    int r = RT_OK;
    for (size_t i = 0; i < gp->n_initializer && r == RT_OK; i++) {
        const Onnx__TensorProto *tp = gp->initializer[i];
        char what[400];
        snprintf(what, sizeof what, "graph '%s': initializer '%s'", s->graph, tp->name ? tp->name : "");
        if (!tp->name || !tp->name[0]) r = check_fail(c, "%s: no name", what);
        else if (onnx_names_get(&inits, tp->name) >= 0) r = check_fail(c, "%s appears twice", what);
        else if (onnx_names_put(&inits, tp->name, 1) != 0) r = check_fail(c, "out of memory");
        else r = check_tensor(c, tp, what);
        /* An initializer may share its name with a graph input (the input's default value). */
        if (r == RT_OK && onnx_names_get(&s->names, tp->name) < 0) r = check_define(c, s, tp->name, "initializer");
    }
    onnx_names_free(&inits);
    CHECK_TRY(r);
    for (size_t i = 0; i < gp->n_node; i++) CHECK_TRY(check_node(c, gp->node[i], s));
    for (size_t i = 0; i < gp->n_output; i++) {
        CHECK_TRY(check_type(c, gp->output[i], s->graph, "output"));
        if (!check_name_defined(s, gp->output[i]->name))
            return check_fail(c, "graph '%s': output '%s' is never defined", s->graph, gp->output[i]->name);
    }
    return RT_OK;
}

static int check_graph(CheckCtx *c, const Onnx__GraphProto *gp, const CheckScope *parent) {
    CheckScope s;
    memset(&s, 0, sizeof s);
    s.parent = parent;
    s.graph = gp->name ? gp->name : "";
    int r = check_graph_body(c, gp, &s);
    onnx_names_free(&s.names);
    onnx_names_free(&s.nodes);
    return r;
}

static int check_model(CheckCtx *c, const Onnx__ModelProto *mp) {
    if (!mp->has_ir_version || mp->ir_version < 3)
        return check_fail(c, "ir_version %lld: ONNX models need 3 or later", (long long)mp->ir_version);
    if (mp->n_opset_import == 0) return check_fail(c, "no opset_import");
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = mp->opset_import[i];
        if (!o->has_version || o->version < 1)
            return check_fail(c, "opset_import of domain '%s' has no version", o->domain ? o->domain : "");
        for (size_t j = 0; j < i; j++) {
            const char *a = mp->opset_import[j]->domain, *b = o->domain;
            if (check_default_domain(a) ? check_default_domain(b) : (b && strcmp(a, b) == 0))
                return check_fail(c, "domain '%s' is imported twice", b ? b : "");
        }
    }
    if (!mp->graph) return check_fail(c, "the model has no graph");
    return check_graph(c, mp->graph, NULL);
}

int onnx_check_memory(const void *data, size_t len, const char *path, RtError *err) {
    CheckCtx c = {path ? path : "<memory>", NULL, err};
    char why[200];
    Onnx__ModelProto *mp = (Onnx__ModelProto *)onnx_proto_unpack(&onnx__model_proto__descriptor, data, len, 0,
                                                                   NULL, why, sizeof why);
    if (!mp) return check_fail(&c, "not a valid ONNX model: %s", why);
    c.mp = mp;
    int r = check_model(&c, mp);
    onnx_proto_free(&mp->base);
    return r;
}

int onnx_check_file(const char *path, RtError *err) {
    size_t len = 0;
    unsigned char *buf = onnx_file_read(path, &len, err);
    if (!buf) return RT_ERR;
    int r = onnx_check_memory(buf, len, path, err);
    free(buf);
    return r;
}
