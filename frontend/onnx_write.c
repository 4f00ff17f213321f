/*
 * onnx_write.c — an IR graph of standard ops -> a serialized ONNX ModelProto.
 *
 * The graph must hold only ops of the default domain and of other published domains
 * ("com.microsoft"); wafer's own ops ("wafer" domain) are lowered first by onnx_export_q.c.
 * The model gets:
 *   opset_import   the graph's default-domain opset, plus every other domain a node uses
 *                  (com.microsoft at 1, its only version; others at the node's opset);
 *   ir_version     the lowest IR version that opset needs (ONNX's versioning table), or the
 *                  graph's own when higher;
 *   graph          inputs and outputs with dtype and shape (named dims as dim_param), every
 *                  constant some node or output reads as an initializer in value order, with
 *                  raw_data little-endian, nodes in order with their attributes;
 *   producer       "wafer".
 * Values listed in OnnxWriteOptions.packed4 (one u8/i8 code per element in the IR) are
 * written as UINT4/INT4 (ONNX types 21/22), two elements per byte, the first in the low
 * nibble, as the ONNX IR spec packs them; those in packed2 as UINT2/INT2 (25/26, opset 25),
 * four per byte, the first in the low two bits.
 *
 * Everything the ModelProto points to is either borrowed from the graph (names, constant
 * bytes on a little-endian host) or allocated in a pool freed after packing, so writing does
 * not copy the weights. protobuf-c packs fields in declaration order, so the same graph
 * always gives the same bytes. The result goes through onnx_check_memory before it is handed
 * back: wafer never writes a model its own checker rejects.
 */
#include "onnx_internal.h"

#include "../io/atomic_file.h"

#include <stdlib.h>
#include <string.h>

#define ONNX_TYPE_UINT4 21
#define ONNX_TYPE_INT4 22
#define ONNX_TYPE_UINT2 25
#define ONNX_TYPE_INT2 26
#define WRITE_MS_DOMAIN "com.microsoft"

/* Allocations that live until the model is packed. */
typedef struct {
    void **ptrs;                 /* [n] owned */
    size_t n, cap;
    const IrGraph *g;            /* borrowed: the graph being written */
    const OnnxWriteOptions *o;   /* borrowed, never NULL */
    RtError *err;                /* borrowed */
} WriteCtx;

static void *write_alloc(WriteCtx *w, size_t bytes) {
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 256;
        void **p = realloc(w->ptrs, cap * sizeof *p);
        if (!p) return NULL;
        w->ptrs = p;
        w->cap = cap;
    }
    void *p = calloc(1, bytes ? bytes : 1);
    if (p) w->ptrs[w->n++] = p;
    return p;
}

static void write_pool_free(WriteCtx *w) {
    for (size_t i = 0; i < w->n; i++) free(w->ptrs[i]);
    free(w->ptrs);
    w->ptrs = NULL;
    w->n = w->cap = 0;
}

static int write_nomem(WriteCtx *w) {
    return rt_error_set(w->err, "%s: out of memory writing the ONNX model", w->g->name ? w->g->name : "graph");
}

/* A protobuf-c message of type T in the pool, set to its INIT macro's value. */
static void *write_msg(WriteCtx *w, size_t size, const void *init) {
    void *p = write_alloc(w, size);
    if (p) memcpy(p, init, size);
    return p;
}
#define WRITE_MSG(w, T, INIT) ((T *)write_msg((w), sizeof(T), &(const T)INIT))

static int host_little_endian(void) {
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

/* The lowest IR version an opset needs (onnx/docs/Versioning.md's table). */
static int64_t write_ir_for_opset(int opset) {
    if (opset >= 25) return 13; /* ONNX 1.20 */
    if (opset >= 24) return 12; /* ONNX 1.19 */
    if (opset >= 23) return 11;
    if (opset >= 21) return 10; /* 22 too (ONNX 1.17) */
    if (opset >= 19) return 9;
    if (opset >= 15) return 8;
    if (opset >= 13) return 7;
    if (opset >= 12) return 7;
    if (opset >= 10) return 5;
    if (opset >= 9) return 4;
    return 3;
}

/* Bits per element value v is written with: 4 or 2 when listed in the options, else 0. */
static int write_packed_bits(const WriteCtx *w, int v) {
    for (int i = 0; i < w->o->n_packed4; i++)
        if (w->o->packed4[i] == v) return 4;
    for (int i = 0; i < w->o->n_packed2; i++)
        if (w->o->packed2[i] == v) return 2;
    return 0;
}

/* Bytes of t, little-endian: borrowed on a little-endian host, else swapped into the pool. */
static int write_raw_le(WriteCtx *w, const RtTensor *t, ProtobufCBinaryData *out) {
    int64_t bytes = rt_nbytes(t);
    size_t es = rt_dtype_size(t->dtype);
    if (bytes < 0 || es == 0) return rt_error_set(w->err, "tensor of %s cannot be written", rt_dtype_name(t->dtype));
    out->len = (size_t)bytes;
    if (host_little_endian() || es == 1) {
        out->data = t->data;
        return RT_OK;
    }
    uint8_t *p = write_alloc(w, (size_t)bytes);
    if (!p) return write_nomem(w);
    const uint8_t *s = t->data;
    for (size_t i = 0; i < (size_t)bytes; i += es)
        for (size_t b = 0; b < es; b++) p[i + b] = s[i + es - 1 - b];
    out->data = p;
    return RT_OK;
}

/* One element per byte -> 8 / bits elements per byte (bits 4 or 2), the first in the low bits. */
static int write_raw_packed(WriteCtx *w, const RtTensor *t, int bits, ProtobufCBinaryData *out) {
    int64_t n = rt_numel(t), k = 8 / bits;
    unsigned mask = (1u << bits) - 1u;
    uint8_t *p = write_alloc(w, (size_t)((n + k - 1) / k));
    if (!p) return write_nomem(w);
    const uint8_t *s = t->data;
    for (int64_t i = 0; i < n; i++) p[i / k] |= (uint8_t)((s[i] & mask) << (bits * (i % k)));
    out->data = p;
    out->len = (size_t)((n + k - 1) / k);
    return RT_OK;
}

static Onnx__TensorProto *write_tensor(WriteCtx *w, const char *name, const RtTensor *t, int packed_bits) {
    Onnx__TensorProto *tp = WRITE_MSG(w, Onnx__TensorProto, ONNX__TENSOR_PROTO__INIT);
    int64_t *dims = write_alloc(w, sizeof(int64_t) * (size_t)(t->rank + 1));
    if (!tp || !dims) return write_nomem(w), NULL;
    if (!t->data) return rt_error_set(w->err, "constant '%s' has no data", name), NULL;
    tp->name = (char *)name;
    tp->n_dims = (size_t)t->rank;
    memcpy(dims, t->dims, sizeof(int64_t) * (size_t)t->rank);
    tp->dims = dims;
    tp->has_data_type = 1;
    tp->data_type = (int32_t)t->dtype;
    tp->has_raw_data = 1;
    if (packed_bits) {
        if (t->dtype != RT_U8 && t->dtype != RT_I8)
            return rt_error_set(w->err, "constant '%s': only uint8/int8 codes can be written as %d-bit", name,
                                packed_bits), NULL;
        tp->data_type = packed_bits == 4 ? (t->dtype == RT_U8 ? ONNX_TYPE_UINT4 : ONNX_TYPE_INT4)
                                         : (t->dtype == RT_U8 ? ONNX_TYPE_UINT2 : ONNX_TYPE_INT2);
        return write_raw_packed(w, t, packed_bits, &tp->raw_data) == RT_OK ? tp : NULL;
    }
    if (t->dtype == RT_STRING || rt_dtype_size(t->dtype) == 0)
        return rt_error_set(w->err, "constant '%s' of type %s cannot be written", name, rt_dtype_name(t->dtype)), NULL;
    return write_raw_le(w, t, &tp->raw_data) == RT_OK ? tp : NULL;
}

static Onnx__ValueInfoProto *write_value_info(WriteCtx *w, const IrValue *v) {
    if (v->dtype == RT_UNDEFINED)
        return rt_error_set(w->err, "graph input/output '%s' has no known dtype", v->name), NULL;
    Onnx__ValueInfoProto *vi = WRITE_MSG(w, Onnx__ValueInfoProto, ONNX__VALUE_INFO_PROTO__INIT);
    Onnx__TypeProto *tp = WRITE_MSG(w, Onnx__TypeProto, ONNX__TYPE_PROTO__INIT);
    Onnx__TypeProto__Tensor *tt = WRITE_MSG(w, Onnx__TypeProto__Tensor, ONNX__TYPE_PROTO__TENSOR__INIT);
    if (!vi || !tp || !tt) return write_nomem(w), NULL;
    vi->name = (char *)v->name;
    vi->type = tp;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    tt->has_elem_type = 1;
    tt->elem_type = (int32_t)v->dtype;
    if (v->rank < 0) return vi; /* shape unknown: no shape field */
    Onnx__TensorShapeProto *sp = WRITE_MSG(w, Onnx__TensorShapeProto, ONNX__TENSOR_SHAPE_PROTO__INIT);
    Onnx__TensorShapeProto__Dimension **d = write_alloc(w, sizeof *d * (size_t)(v->rank + 1));
    if (!sp || !d) return write_nomem(w), NULL;
    for (int i = 0; i < v->rank; i++) {
        d[i] = WRITE_MSG(w, Onnx__TensorShapeProto__Dimension, ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT);
        if (!d[i]) return write_nomem(w), NULL;
        if (v->dims[i].value >= 0) {
            d[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d[i]->dim_value = v->dims[i].value;
        } else if (v->dims[i].sym) {
            d[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d[i]->dim_param = (char *)v->dims[i].sym;
        } /* else: an unknown dim, neither field set (allowed by ONNX) */
    }
    sp->n_dim = (size_t)v->rank;
    sp->dim = d;
    tt->shape = sp;
    return vi;
}

static Onnx__AttributeProto *write_attr(WriteCtx *w, const RtNode *n, const RtAttr *a) {
    Onnx__AttributeProto *ap = WRITE_MSG(w, Onnx__AttributeProto, ONNX__ATTRIBUTE_PROTO__INIT);
    if (!ap) return write_nomem(w), NULL;
    ap->name = (char *)a->name;
    ap->has_type = 1;
    ap->type = (Onnx__AttributeProto__AttributeType)a->type;
    switch (a->type) {
    case RT_ATTR_FLOAT: ap->has_f = 1; ap->f = a->f; break;
    case RT_ATTR_INT: ap->has_i = 1; ap->i = a->i; break;
    case RT_ATTR_STRING:
        ap->has_s = 1;
        ap->s.data = (uint8_t *)(a->s ? a->s : "");
        ap->s.len = a->s ? strlen(a->s) : 0;
        break;
    case RT_ATTR_FLOATS: ap->n_floats = (size_t)a->n; ap->floats = (float *)a->floats; break;
    case RT_ATTR_INTS: ap->n_ints = (size_t)a->n; ap->ints = (int64_t *)a->ints; break;
    case RT_ATTR_STRINGS: {
        ProtobufCBinaryData *s = write_alloc(w, sizeof *s * (size_t)(a->n + 1));
        if (!s) return write_nomem(w), NULL;
        for (int i = 0; i < a->n; i++) {
            s[i].data = (uint8_t *)a->strings[i];
            s[i].len = strlen(a->strings[i]);
        }
        ap->n_strings = (size_t)a->n;
        ap->strings = s;
        break;
    }
    case RT_ATTR_TENSOR:
        if (!(ap->t = write_tensor(w, "", a->t, 0))) return NULL;
        break;
    default:
        return rt_error_set(w->err, "node '%s' (%s): attribute '%s' is a subgraph, which the ONNX writer does not "
                            "support yet", n->name, n->op_type, a->name), NULL;
    }
    return ap;
}

static const char *write_value_name(const WriteCtx *w, int v) {
    return v < 0 ? "" : w->g->values[v].name;
}

static Onnx__NodeProto *write_node(WriteCtx *w, const RtNode *n) {
    const char *domain = n->domain ? n->domain : rt_op_domain(n->op);
    if (strcmp(domain, "wafer") == 0)
        return rt_error_set(w->err, "node '%s' (%s): wafer's own op has no standard ONNX form; lower the graph with "
                            "onnx_export_lower first", n->name, n->op_type), NULL;
    Onnx__NodeProto *np = WRITE_MSG(w, Onnx__NodeProto, ONNX__NODE_PROTO__INIT);
    int n_in = n->n_in;
    while (n_in > 0 && n->in[n_in - 1] < 0) n_in--; /* trailing optional inputs: omitted */
    char **in = write_alloc(w, sizeof(char *) * (size_t)(n_in + 1));
    char **out = write_alloc(w, sizeof(char *) * (size_t)(n->n_out + 1));
    Onnx__AttributeProto **at = write_alloc(w, sizeof *at * (size_t)(n->n_attr + 1));
    if (!np || !in || !out || !at) return write_nomem(w), NULL;
    for (int i = 0; i < n_in; i++) in[i] = (char *)write_value_name(w, n->in[i]);
    for (int i = 0; i < n->n_out; i++) out[i] = (char *)write_value_name(w, n->out[i]);
    for (int i = 0; i < n->n_attr; i++)
        if (!(at[i] = write_attr(w, n, &n->attrs[i]))) return NULL;
    np->n_input = (size_t)n_in;
    np->input = in;
    np->n_output = (size_t)n->n_out;
    np->output = out;
    np->name = (char *)(n->name ? n->name : "");
    np->op_type = (char *)(n->op_type ? n->op_type : rt_op_name(n->op));
    np->domain = (char *)domain;
    np->n_attribute = (size_t)n->n_attr;
    np->attribute = at;
    return np;
}

/* Constants some node or graph output reads, in value order. */
static int write_initializers(WriteCtx *w, Onnx__GraphProto *gp) {
    const IrGraph *g = w->g;
    Onnx__TensorProto **init = write_alloc(w, sizeof *init * (size_t)(g->n_values + 1));
    unsigned char *used = write_alloc(w, (size_t)g->n_values + 1); /* one pass, not a scan per value */
    if (!init || !used) return write_nomem(w);
    for (int k = 0; k < g->n_nodes; k++)
        for (int j = 0; j < g->nodes[k].n_in; j++)
            if (g->nodes[k].in[j] >= 0) used[g->nodes[k].in[j]] = 1;
    for (int i = 0; i < g->n_outputs; i++) used[g->outputs[i]] = 1;
    size_t k = 0;
    for (int v = 0; v < g->n_values; v++) {
        const IrValue *val = &g->values[v];
        if (!val->konst || !used[v]) continue;
        if (!(init[k++] = write_tensor(w, val->name, val->konst, write_packed_bits(w, v)))) return RT_ERR;
    }
    gp->n_initializer = k;
    gp->initializer = init;
    return RT_OK;
}

static int write_graph(WriteCtx *w, Onnx__GraphProto *gp) {
    const IrGraph *g = w->g;
    gp->name = (char *)(g->name && g->name[0] ? g->name : "wafer");
    gp->node = write_alloc(w, sizeof *gp->node * (size_t)(g->n_nodes + 1));
    gp->input = write_alloc(w, sizeof *gp->input * (size_t)(g->n_inputs + 1));
    gp->output = write_alloc(w, sizeof *gp->output * (size_t)(g->n_outputs + 1));
    if (!gp->node || !gp->input || !gp->output) return write_nomem(w);
    for (int i = 0; i < g->n_nodes; i++)
        if (!(gp->node[gp->n_node++] = write_node(w, &g->nodes[i]))) return RT_ERR;
    for (int i = 0; i < g->n_inputs; i++)
        if (!(gp->input[gp->n_input++] = write_value_info(w, &g->values[g->inputs[i]]))) return RT_ERR;
    for (int i = 0; i < g->n_outputs; i++)
        if (!(gp->output[gp->n_output++] = write_value_info(w, &g->values[g->outputs[i]]))) return RT_ERR;
    return write_initializers(w, gp);
}

/* The default domain, then every other domain in first-use order. */
static int write_opsets(WriteCtx *w, Onnx__ModelProto *mp) {
    const IrGraph *g = w->g;
    Onnx__OperatorSetIdProto **ops = write_alloc(w, sizeof *ops * (size_t)(g->n_nodes + 2));
    if (!ops) return write_nomem(w);
    size_t k = 0;
    for (int i = -1; i < g->n_nodes; i++) {
        const char *d = i < 0 ? "" : g->nodes[i].domain ? g->nodes[i].domain : rt_op_domain(g->nodes[i].op);
        if (i >= 0 && (!d[0] || strcmp(d, "ai.onnx") == 0)) continue;
        size_t j = 0;
        while (j < k && strcmp(ops[j]->domain, d) != 0) j++;
        if (j < k) continue;
        if (!(ops[k] = WRITE_MSG(w, Onnx__OperatorSetIdProto, ONNX__OPERATOR_SET_ID_PROTO__INIT))) return write_nomem(w);
        ops[k]->domain = (char *)d;
        ops[k]->has_version = 1;
        /* com.microsoft has one version; ir_node_add stamps new nodes with the default opset */
        ops[k]->version = i < 0 ? g->opset : strcmp(d, WRITE_MS_DOMAIN) == 0 ? 1
                                           : (g->nodes[i].opset > 0 ? g->nodes[i].opset : 1);
        k++;
    }
    mp->n_opset_import = k;
    mp->opset_import = ops;
    return RT_OK;
}

int onnx_write_memory(const IrGraph *g, const OnnxWriteOptions *o, uint8_t **data, size_t *len, RtError *err) {
    static const OnnxWriteOptions none = {NULL, NULL, 0, NULL, 0};
    WriteCtx w = {NULL, 0, 0, g, o ? o : &none, err};
    *data = NULL;
    *len = 0;
    if (g->opset <= 0) return rt_error_set(err, "the graph has no default-domain opset");
    Onnx__ModelProto mp = ONNX__MODEL_PROTO__INIT;
    Onnx__GraphProto gp = ONNX__GRAPH_PROTO__INIT;
    int64_t ir = write_ir_for_opset(g->opset);
    for (int i = 0; i < w.o->n_packed4; i++) ir = ir < 10 ? 10 : ir; /* 4-bit types: IR 10 */
    for (int i = 0; i < w.o->n_packed2; i++) ir = ir < 13 ? 13 : ir; /* 2-bit types: IR 13 */
    mp.has_ir_version = 1;
    mp.ir_version = g->ir_version > ir ? g->ir_version : ir;
    mp.producer_name = "wafer";
    mp.producer_version = (char *)(w.o->producer_version ? w.o->producer_version : "");
    mp.graph = &gp;
    int r = write_opsets(&w, &mp);
    if (r == RT_OK) r = write_graph(&w, &gp);
    if (r == RT_OK) {
        size_t n = protobuf_c_message_get_packed_size(&mp.base);
        *data = malloc(n ? n : 1);
        if (!*data) {
            r = write_nomem(&w);
        } else {
            *len = protobuf_c_message_pack(&mp.base, *data);
        }
    }
    write_pool_free(&w);
    if (r == RT_OK) r = onnx_check_memory(*data, *len, g->path && g->path[0] ? g->path : "<written model>", err);
    if (r != RT_OK) {
        free(*data);
        *data = NULL;
        *len = 0;
    }
    return r;
}

int onnx_write_file(const IrGraph *g, const OnnxWriteOptions *o, const char *path, RtError *err) {
    uint8_t *data;
    size_t len;
    int r = onnx_write_memory(g, o, &data, &len, err);
    if (r != RT_OK) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        err->msg[0] = '\0';
        return rt_error_set(err, "%s: %s", path, msg);
    }
    r = io_file_write_atomic(path, data, len, err);
    free(data);
    return r;
}
