/*
 * fuse_util.c — pattern questions and node edits the fusion passes share (fuse_internal.h).
 */
#include "fuse_internal.h"

#include <string.h>

int fuse_sole_consumer(const IrGraph *g, int v) {
    if (v < 0 || ir_value_is_output(g, v)) return -1;
    int found = -1, uses = 0;
    for (int k = 0; k < g->n_nodes; k++) {
        const RtNode *n = &g->nodes[k];
        if (n->op == IR_OP_DELETED) continue;
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] == v) {
                uses++;
                found = k;
            }
    }
    return uses == 1 ? found : -1;
}

int fuse_producer(const IrGraph *g, int v) {
    if (v < 0) return -1;
    for (int k = 0; k < g->n_nodes; k++) {
        const RtNode *n = &g->nodes[k];
        if (n->op == IR_OP_DELETED) continue;
        for (int o = 0; o < n->n_out; o++)
            if (n->out[o] == v) return k;
    }
    return -1;
}

const RtTensor *fuse_const_f32(const IrGraph *g, int v) {
    if (v < 0 || v >= g->n_values) return NULL;
    const RtTensor *t = g->values[v].konst;
    return t && t->dtype == RT_F32 && t->data ? t : NULL;
}

int fuse_is_channel_vector(const RtTensor *t, int64_t N, int rank) {
    int64_t n = rt_numel(t);
    if (n != N && n != 1) return 0;
    if (t->rank > (rank < 0 ? 1 : rank)) return 0;
    for (int d = 0; d + 1 < t->rank; d++)
        if (t->dims[d] != 1) return 0;
    return 1;
}

int fuse_const_new(IrGraph *g, const char *base, RtDtype dtype, int rank, const int64_t *dims, void **data,
                   RtError *err) {
    RtTensor *t = ir_tensor_new(g, dtype, rank, dims);
    const char *name = t ? pass_name_unique(g, base) : NULL;
    int v = name ? ir_value_add(g, name) : -1;
    if (v < 0) return rt_error_set(err, "out of memory making constant '%s'", base), -1;
    g->values[v].konst = t;
    ir_value_set_shape(&g->values[v], dtype, rank, dims);
    *data = t->data;
    return v;
}

int fuse_const_new_f32(IrGraph *g, const char *base, int rank, const int64_t *dims, float **data,
                       RtError *err) {
    void *p = NULL;
    int v = fuse_const_new(g, base, RT_F32, rank, dims, &p, err);
    *data = p;
    return v;
}

void fuse_node_set_op(IrGraph *g, int k, int op) {
    RtNode *n = &g->nodes[k];
    n->op = op;
    n->op_type = rt_op_name(op);
    n->domain = rt_op_domain(op);
    /* wafer's own ops have one version; ONNX ops keep the graph's opset */
    if (n->domain[0] != '\0') n->opset = 1;
    else n->opset = g->opset;
}

int fuse_node_set_inputs(IrGraph *g, int k, int n_in, const int *in, RtError *err) {
    int *p = ir_alloc(g, sizeof(int) * (size_t)(n_in > 0 ? n_in : 1));
    if (!p) return rt_error_set(err, "out of memory editing node '%s'", g->nodes[k].name);
    memcpy(p, in, sizeof(int) * (size_t)n_in);
    g->nodes[k].in = p;
    g->nodes[k].n_in = n_in;
    return RT_OK;
}

/* The slot for attribute `name` of node k: the existing one, or a new one appended. */
static RtAttr *attr_slot(IrGraph *g, int k, const char *name, RtError *err) {
    RtNode *n = &g->nodes[k];
    for (int a = 0; a < n->n_attr; a++)
        if (strcmp(n->attrs[a].name, name) == 0) {
            const char *keep = n->attrs[a].name;
            memset(&n->attrs[a], 0, sizeof n->attrs[a]);
            n->attrs[a].name = keep;
            return &n->attrs[a];
        }
    RtAttr *attrs = ir_alloc(g, sizeof(RtAttr) * (size_t)(n->n_attr + 1));
    const char *nm = ir_strdup(g, name);
    if (!attrs || !nm) {
        rt_error_set(err, "out of memory editing node '%s'", n->name);
        return NULL;
    }
    if (n->n_attr) memcpy(attrs, n->attrs, sizeof(RtAttr) * (size_t)n->n_attr);
    attrs[n->n_attr].name = nm;
    n->attrs = attrs;
    return &n->attrs[n->n_attr++];
}

int fuse_attr_set_float(IrGraph *g, int k, const char *name, float f, RtError *err) {
    RtAttr *a = attr_slot(g, k, name, err);
    if (!a) return rt_error_set(err, "out of memory editing node '%s'", g->nodes[k].name);
    a->type = RT_ATTR_FLOAT;
    a->f = f;
    return RT_OK;
}

int fuse_attr_set_int(IrGraph *g, int k, const char *name, int64_t i, RtError *err) {
    RtAttr *a = attr_slot(g, k, name, err);
    if (!a) return rt_error_set(err, "out of memory editing node '%s'", g->nodes[k].name);
    a->type = RT_ATTR_INT;
    a->i = i;
    return RT_OK;
}

int fuse_attr_set_ints(IrGraph *g, int k, const char *name, int n, const int64_t *v, RtError *err) {
    RtAttr *a = attr_slot(g, k, name, err);
    int64_t *copy = a ? ir_alloc(g, sizeof(int64_t) * (size_t)(n ? n : 1)) : NULL;
    if (!copy) return rt_error_set(err, "out of memory editing node '%s'", g->nodes[k].name);
    memcpy(copy, v, sizeof(int64_t) * (size_t)n);
    a->type = RT_ATTR_INTS;
    a->n = n;
    a->ints = copy;
    return RT_OK;
}

int fuse_attr_set_str(IrGraph *g, int k, const char *name, const char *s, RtError *err) {
    RtAttr *a = attr_slot(g, k, name, err);
    const char *copy = a ? ir_strdup(g, s) : NULL;
    if (!copy) return rt_error_set(err, "out of memory editing node '%s'", g->nodes[k].name);
    a->type = RT_ATTR_STRING;
    a->s = copy;
    return RT_OK;
}

void fuse_node_absorb(IrGraph *g, int k, int j) {
    int y = g->nodes[j].out[0];
    pass_node_delete(g, j);
    g->nodes[k].out[0] = y;
    g->values[y].producer = k;
}

const char *fuse_activation_of(const RtNode *n) {
    for (int a = 0; a < n->n_attr; a++)
        if (strcmp(n->attrs[a].name, "activation") == 0 && n->attrs[a].type == RT_ATTR_STRING)
            return n->attrs[a].s ? n->attrs[a].s : "";
    return "";
}
