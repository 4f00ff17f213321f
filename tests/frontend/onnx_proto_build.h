/*
 * onnx_proto_build.h — builds small ONNX protos (nodes, attributes, tensors, value infos,
 * graphs, models) with protobuf-c for the frontend suites, so a test states a model in a few
 * lines and hands its packed bytes to the loader.
 *
 * Every allocation goes through pb_zalloc/pb_str, which record it; pb_release_all() frees them
 * all, so a suite registers it as its .fini (TestSuite(x, .fini = pb_release_all) or per Test)
 * and never frees a proto by hand. A test may also use pb_zalloc/pb_str for arrays it fills in
 * itself (floats of an attribute, int32_data of a tensor, ...).
 *
 *   pb_split("a,b,,c", &n)             strings, "" kept (an absent optional input); NULL if empty
 *   pb_node(op, name, ins, outs)       a node, not yet in a graph; ins/outs are pb_split lists
 *   pb_attr(n, name, type)             an attribute of n with only name and type set
 *   pb_attr_int/_float/_str/_ints/_floats/_graph(n, name, ...)   typed attributes
 *   pb_tensor(name, dtype, rank, dims) an initializer without data; then pb_tensor_raw,
 *                                      pb_tensor_floats or pb_tensor_external give it data
 *   pb_type_dims(elem, rank, dims)     a tensor TypeProto; rank < 0 leaves the shape undeclared
 *   pb_type(elem, "n,64")              the same from a dims list: numbers are dim_value, names
 *                                      dim_param, "?" neither; NULL leaves the shape undeclared
 *   pb_value_typed(name, type)         a ValueInfoProto of any TypeProto
 *   pb_value(name, elem, "n,64")       pb_value_typed(name, pb_type(elem, dims))
 *   pb_graph(name)                     an empty graph with room for PB_GRAPH_CAP of each list
 *   pb_add_node/_init/_input/_output/_value_info(g, x)   append x to g (returns x)
 *   pb_model_pack(g, ir, opset, producer, &len)          g as a model of IR version ir that
 *                                      imports the default domain at `opset`, packed; the
 *                                      bytes are tracked like everything else
 *   pb_model_pack_domain(g, ir, opset, domain, version, producer, &len)   the same, also
 *                                      importing domain ("com.microsoft"...) at version
 *
 * The graph and node lists have fixed room (the tests' models are small); going past it fails
 * the test at the call rather than writing out of bounds.
 */
#ifndef WAFER_ONNX_PROTO_BUILD_H
#define WAFER_ONNX_PROTO_BUILD_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "onnx.pb-c.h"

#define PB_KEPT_CAP 4096 /* allocations one test may make */
#define PB_GRAPH_CAP 128 /* nodes, initializers, inputs, outputs, value infos of one graph */
#define PB_NODE_CAP 128   /* inputs/outputs of one node (a pb_split list) */
#define PB_ATTR_CAP 8    /* attributes of one node */

/* ---------- tracked allocations ---------- */

static void *pb_kept[PB_KEPT_CAP];
static int pb_n_kept;

static inline void *pb_keep(void *p) {
    cr_assert(p && pb_n_kept < PB_KEPT_CAP, "pb_keep: out of memory or more than %d allocations", PB_KEPT_CAP);
    pb_kept[pb_n_kept++] = p;
    return p;
}

/* Zeroed and tracked; n = 0 still gives a distinct pointer (calloc(1, 1)). */
static inline void *pb_zalloc(size_t n) { return pb_keep(calloc(1, n ? n : 1)); }
static inline char *pb_str(const char *s) { return pb_keep(strdup(s)); }

static inline void pb_release_all(void) {
    while (pb_n_kept) free(pb_kept[--pb_n_kept]);
}

/* ---------- nodes and attributes ---------- */

/* Splits "a,b,,c" into tracked strings ("" kept: an absent optional input); NULL, n = 0 for
 * NULL or "". */
static inline char **pb_split(const char *list, size_t *n) {
    *n = 0;
    if (!list || !*list) return NULL;
    char **out = pb_zalloc(sizeof(char *) * PB_NODE_CAP);
    for (const char *p = list;;) {
        size_t len = strcspn(p, ",");
        cr_assert(*n < PB_NODE_CAP, "pb_split: more than %d names in '%s'", PB_NODE_CAP, list);
        char *s = pb_zalloc(len + 1);
        memcpy(s, p, len);
        out[(*n)++] = s;
        if (!p[len]) break;
        p += len + 1;
    }
    return out;
}

static inline Onnx__NodeProto *pb_node(const char *op, const char *name, const char *ins, const char *outs) {
    Onnx__NodeProto *n = pb_zalloc(sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = pb_str(op);
    n->name = pb_str(name);
    n->input = pb_split(ins, &n->n_input);
    n->output = pb_split(outs, &n->n_output);
    n->attribute = pb_zalloc(sizeof(Onnx__AttributeProto *) * PB_ATTR_CAP);
    return n;
}

static inline Onnx__AttributeProto *pb_attr(Onnx__NodeProto *n, const char *name,
                                            Onnx__AttributeProto__AttributeType t) {
    cr_assert(n->n_attribute < PB_ATTR_CAP, "pb_attr: node '%s' has %d attributes already", n->name, PB_ATTR_CAP);
    Onnx__AttributeProto *a = pb_zalloc(sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = pb_str(name);
    a->has_type = 1;
    a->type = t;
    n->attribute[n->n_attribute++] = a;
    return a;
}

static inline void pb_attr_int(Onnx__NodeProto *n, const char *name, int64_t v) {
    Onnx__AttributeProto *a = pb_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = v;
}

static inline void pb_attr_float(Onnx__NodeProto *n, const char *name, float v) {
    Onnx__AttributeProto *a = pb_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1;
    a->f = v;
}

static inline void pb_attr_str(Onnx__NodeProto *n, const char *name, const char *v) {
    Onnx__AttributeProto *a = pb_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    a->has_s = 1;
    a->s.data = (uint8_t *)pb_str(v);
    a->s.len = strlen(v);
}

static inline void pb_attr_ints(Onnx__NodeProto *n, const char *name, size_t k, const int64_t *v) {
    Onnx__AttributeProto *a = pb_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->ints = pb_zalloc(sizeof(int64_t) * k);
    if (k) memcpy(a->ints, v, sizeof(int64_t) * k);
    a->n_ints = k;
}

static inline void pb_attr_floats(Onnx__NodeProto *n, const char *name, size_t k, const float *v) {
    Onnx__AttributeProto *a = pb_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
    a->floats = pb_zalloc(sizeof(float) * k);
    if (k) memcpy(a->floats, v, sizeof(float) * k);
    a->n_floats = k;
}

static inline void pb_attr_graph(Onnx__NodeProto *n, const char *name, Onnx__GraphProto *g) {
    pb_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH)->g = g;
}

/* ---------- tensors ---------- */

/* An initializer of dtype (ONNX TensorProto code) and shape dims[rank], no data yet. */
static inline Onnx__TensorProto *pb_tensor(const char *name, int dtype, size_t rank, const int64_t *dims) {
    Onnx__TensorProto *t = pb_zalloc(sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = pb_str(name);
    t->has_data_type = 1;
    t->data_type = dtype;
    t->n_dims = rank;
    t->dims = pb_zalloc(sizeof(int64_t) * (rank + 1));
    if (rank) memcpy(t->dims, dims, sizeof(int64_t) * rank);
    return t;
}

/* raw_data: `bytes` bytes copied from data (little-endian, as ONNX stores them). */
static inline Onnx__TensorProto *pb_tensor_raw(Onnx__TensorProto *t, const void *data, size_t bytes) {
    t->has_raw_data = 1;
    t->raw_data.len = bytes;
    t->raw_data.data = pb_zalloc(bytes);
    if (bytes) memcpy(t->raw_data.data, data, bytes);
    return t;
}

static inline Onnx__TensorProto *pb_tensor_floats(Onnx__TensorProto *t, size_t n, const float *v) {
    t->float_data = pb_zalloc(sizeof(float) * n);
    if (n) memcpy(t->float_data, v, sizeof(float) * n);
    t->n_float_data = n;
    return t;
}

/* data_location EXTERNAL with the entries location/offset/length; a NULL one is left out. */
static inline Onnx__TensorProto *pb_tensor_external(Onnx__TensorProto *t, const char *location,
                                                    const char *offset, const char *length) {
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    t->external_data = pb_zalloc(sizeof(Onnx__StringStringEntryProto *) * 3);
    const char *keys[3] = {"location", "offset", "length"}, *vals[3] = {location, offset, length};
    for (int i = 0; i < 3; i++) {
        if (!vals[i]) continue;
        Onnx__StringStringEntryProto *e = pb_zalloc(sizeof *e);
        onnx__string_string_entry_proto__init(e);
        e->key = pb_str(keys[i]);
        e->value = pb_str(vals[i]);
        t->external_data[t->n_external_data++] = e;
    }
    return t;
}

/* ---------- types and value infos ---------- */

/* A tensor TypeProto of elem with a shape of n empty dims (filled by the caller), or none
 * (n < 0). Returns the TypeProto; *tt gets its tensor part. */
static inline Onnx__TypeProto *pb__type_new(int elem, long n, Onnx__TypeProto__Tensor **tt_out) {
    Onnx__TypeProto *tp = pb_zalloc(sizeof *tp);
    onnx__type_proto__init(tp);
    Onnx__TypeProto__Tensor *tt = pb_zalloc(sizeof *tt);
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = 1;
    tt->elem_type = elem;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    *tt_out = tt;
    if (n < 0) return tp;
    Onnx__TensorShapeProto *sh = pb_zalloc(sizeof *sh);
    onnx__tensor_shape_proto__init(sh);
    sh->dim = pb_zalloc(sizeof(Onnx__TensorShapeProto__Dimension *) * (size_t)(n + 1));
    for (long i = 0; i < n; i++) {
        Onnx__TensorShapeProto__Dimension *d = pb_zalloc(sizeof *d);
        onnx__tensor_shape_proto__dimension__init(d);
        sh->dim[sh->n_dim++] = d;
    }
    tt->shape = sh;
    return tp;
}

/* Tensor type of elem and shape dims[rank] (all dim_value); rank < 0: shape undeclared. */
static inline Onnx__TypeProto *pb_type_dims(int elem, int rank, const int64_t *dims) {
    Onnx__TypeProto__Tensor *tt;
    Onnx__TypeProto *tp = pb__type_new(elem, rank, &tt);
    for (int i = 0; i < rank; i++) {
        tt->shape->dim[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        tt->shape->dim[i]->dim_value = dims[i];
    }
    return tp;
}

/* Tensor type of elem; dims "n,64": numbers are dim_value, names dim_param, "?" neither;
 * "" is a scalar, NULL leaves the shape undeclared. */
static inline Onnx__TypeProto *pb_type(int elem, const char *dims) {
    size_t n = 0;
    char **parts = pb_split(dims, &n);
    Onnx__TypeProto__Tensor *tt;
    Onnx__TypeProto *tp = pb__type_new(elem, dims ? (long)n : -1, &tt);
    for (size_t i = 0; i < n; i++) {
        Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        if (parts[i][0] >= '0' && parts[i][0] <= '9') {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = atoll(parts[i]);
        } else if (strcmp(parts[i], "?") != 0) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = parts[i];
        }
    }
    return tp;
}

static inline Onnx__ValueInfoProto *pb_value_typed(const char *name, Onnx__TypeProto *tp) {
    Onnx__ValueInfoProto *v = pb_zalloc(sizeof *v);
    onnx__value_info_proto__init(v);
    v->name = pb_str(name);
    v->type = tp;
    return v;
}

static inline Onnx__ValueInfoProto *pb_value(const char *name, int elem, const char *dims) {
    return pb_value_typed(name, pb_type(elem, dims));
}

/* ---------- graphs and models ---------- */

static inline Onnx__GraphProto *pb_graph(const char *name) {
    Onnx__GraphProto *g = pb_zalloc(sizeof *g);
    onnx__graph_proto__init(g);
    g->name = pb_str(name);
    g->node = pb_zalloc(sizeof(void *) * PB_GRAPH_CAP);
    g->initializer = pb_zalloc(sizeof(void *) * PB_GRAPH_CAP);
    g->input = pb_zalloc(sizeof(void *) * PB_GRAPH_CAP);
    g->output = pb_zalloc(sizeof(void *) * PB_GRAPH_CAP);
    g->value_info = pb_zalloc(sizeof(void *) * PB_GRAPH_CAP);
    return g;
}

/* Appends x to g's list[count], failing the test when the list is full. */
#define PB__APPEND(g, list, count, x, what)                                                     \
    do {                                                                                        \
        cr_assert((count) < PB_GRAPH_CAP, "graph '%s': more than %d %s", (g)->name, PB_GRAPH_CAP, \
                  what);                                                                        \
        (list)[(count)++] = (x);                                                                \
    } while (0)

static inline Onnx__NodeProto *pb_add_node(Onnx__GraphProto *g, Onnx__NodeProto *n) {
    PB__APPEND(g, g->node, g->n_node, n, "nodes");
    return n;
}
static inline Onnx__TensorProto *pb_add_init(Onnx__GraphProto *g, Onnx__TensorProto *t) {
    PB__APPEND(g, g->initializer, g->n_initializer, t, "initializers");
    return t;
}
static inline Onnx__ValueInfoProto *pb_add_input(Onnx__GraphProto *g, Onnx__ValueInfoProto *v) {
    PB__APPEND(g, g->input, g->n_input, v, "inputs");
    return v;
}
static inline Onnx__ValueInfoProto *pb_add_output(Onnx__GraphProto *g, Onnx__ValueInfoProto *v) {
    PB__APPEND(g, g->output, g->n_output, v, "outputs");
    return v;
}
static inline Onnx__ValueInfoProto *pb_add_value_info(Onnx__GraphProto *g, Onnx__ValueInfoProto *v) {
    PB__APPEND(g, g->value_info, g->n_value_info, v, "value infos");
    return v;
}

/* Packs a model around g: IR version ir, the default domain imported at opset, and, when
 * domain is not NULL, that domain too at domain_version (e.g. "com.microsoft", 1, for
 * onnxruntime's contrib ops); producer_name producer (NULL: none). The bytes are tracked; *len
 * gets their count. */
static inline uint8_t *pb_model_pack_domain(Onnx__GraphProto *g, int64_t ir, int64_t opset, const char *domain,
                                            int64_t domain_version, const char *producer, size_t *len) {
    Onnx__ModelProto m;
    onnx__model_proto__init(&m);
    m.has_ir_version = 1;
    m.ir_version = ir;
    Onnx__OperatorSetIdProto os[2];
    Onnx__OperatorSetIdProto *ops[2] = {&os[0], &os[1]};
    for (int i = 0; i < 2; i++) onnx__operator_set_id_proto__init(&os[i]);
    os[0].domain = pb_str("");
    os[0].has_version = 1;
    os[0].version = opset;
    if (domain) {
        os[1].domain = pb_str(domain);
        os[1].has_version = 1;
        os[1].version = domain_version;
    }
    m.opset_import = ops;
    m.n_opset_import = domain ? 2 : 1;
    if (producer) m.producer_name = pb_str(producer);
    m.graph = g;
    *len = onnx__model_proto__get_packed_size(&m);
    uint8_t *buf = pb_zalloc(*len);
    onnx__model_proto__pack(&m, buf);
    return buf;
}

/* pb_model_pack_domain with the default domain only. */
static inline uint8_t *pb_model_pack(Onnx__GraphProto *g, int64_t ir, int64_t opset, const char *producer,
                                     size_t *len) {
    return pb_model_pack_domain(g, ir, opset, NULL, 0, producer, len);
}

#endif /* WAFER_ONNX_PROTO_BUILD_H */
