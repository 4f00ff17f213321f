/*
 * quantize_util.c — graph edits and Q/DQ parameter reading for the quantizer (see
 * quantize_internal.h). Inserting a node appends it and rotates it into place, then renumbers
 * the producers of the nodes that moved: O(nodes) per insertion, which is nothing next to the
 * calibration runs for graphs of a few thousand nodes.
 */
#include "quantize_internal.h"

#include <stdio.h>
#include <string.h>

int qz_node_insert(IrGraph *g, int pos, int op, const char *name, int n_in, const int *in, int n_out,
                   const int *out, RtError *err) {
    int idx = ir_node_add(g, op, name, n_in, in, n_out, out);
    if (idx < 0) return rt_error_set(err, "out of memory"), -1;
    if (op == RT_OP_QUANTIZE_LINEAR || op == RT_OP_DEQUANTIZE_LINEAR) g->nodes[idx].opset = QZ_QDQ_OPSET;
    if (pos < 0 || pos > idx) pos = idx;
    RtNode tmp = g->nodes[idx];
    memmove(&g->nodes[pos + 1], &g->nodes[pos], sizeof(RtNode) * (size_t)(idx - pos));
    g->nodes[pos] = tmp;
    for (int k = pos; k < g->n_nodes; k++) {
        const RtNode *n = &g->nodes[k];
        if (n->op == IR_OP_DELETED) continue;
        for (int j = 0; j < n->n_out; j++)
            if (n->out[j] >= 0) g->values[n->out[j]].producer = k;
    }
    return pos;
}

/* Room for one more attribute on node k; returns its slot. */
static RtAttr *attr_slot(IrGraph *g, int k, const char *name, RtError *err) {
    RtNode *n = &g->nodes[k];
    for (int a = 0; a < n->n_attr; a++)
        if (strcmp(n->attrs[a].name, name) == 0) return &n->attrs[a];
    RtAttr *p = ir_alloc(g, sizeof(RtAttr) * (size_t)(n->n_attr + 1));
    const char *nm = ir_strdup(g, name);
    if (!p || !nm) return rt_error_set(err, "out of memory"), NULL;
    if (n->n_attr) memcpy(p, n->attrs, sizeof(RtAttr) * (size_t)n->n_attr);
    n->attrs = p;
    RtAttr *a = &p[n->n_attr++];
    memset(a, 0, sizeof *a);
    a->name = nm;
    return a;
}

int qz_attr_set_int(IrGraph *g, int k, const char *name, int64_t v, RtError *err) {
    RtAttr *a = attr_slot(g, k, name, err);
    if (!a) return RT_ERR;
    const char *nm = a->name;
    memset(a, 0, sizeof *a);
    a->name = nm;
    a->type = RT_ATTR_INT;
    a->i = v;
    return RT_OK;
}

int qz_attr_set_str(IrGraph *g, int k, const char *name, const char *v, RtError *err) {
    RtAttr *a = attr_slot(g, k, name, err);
    const char *copy = a ? ir_strdup(g, v) : NULL;
    if (!copy) return a ? rt_error_set(err, "out of memory") : RT_ERR;
    const char *nm = a->name;
    memset(a, 0, sizeof *a);
    a->name = nm;
    a->type = RT_ATTR_STRING;
    a->s = copy;
    return RT_OK;
}

int qz_attr_set_float(IrGraph *g, int k, const char *name, float v, RtError *err) {
    RtAttr *a = attr_slot(g, k, name, err);
    if (!a) return RT_ERR;
    const char *nm = a->name;
    memset(a, 0, sizeof *a);
    a->name = nm;
    a->type = RT_ATTR_FLOAT;
    a->f = v;
    return RT_OK;
}

/* 1 when `name` is an item of the comma-separated list. */
static int in_list(const char *list, const char *name) {
    size_t len = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == len && strncmp(p, name, len) == 0) return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

int qz_attrs_copy(IrGraph *g, int k, const RtNode *src, const char *names, RtError *err) {
    int n = 0;
    for (int a = 0; a < src->n_attr; a++) n += in_list(names, src->attrs[a].name);
    RtAttr *p = n ? ir_alloc(g, sizeof(RtAttr) * (size_t)n) : NULL;
    if (n && !p) return rt_error_set(err, "out of memory");
    int m = 0;
    for (int a = 0; a < src->n_attr; a++)
        if (in_list(names, src->attrs[a].name)) p[m++] = src->attrs[a]; /* arena data stays shared */
    g->nodes[k].attrs = p;
    g->nodes[k].n_attr = n;
    return RT_OK;
}

int qz_value_new(IrGraph *g, const char *base, const IrValue *like, RtDtype dtype, RtError *err) {
    IrValue copy;
    memset(&copy, 0, sizeof copy);
    if (like) copy = *like; /* values may move when the array grows */
    const char *name = pass_name_unique(g, base);
    int v = name ? ir_value_add(g, name) : -1;
    if (v < 0) return rt_error_set(err, "out of memory"), -1;
    if (like) {
        g->values[v].rank = copy.rank;
        for (int d = 0; d < copy.rank && d < RT_MAX_RANK; d++) g->values[v].dims[d] = copy.dims[d];
    }
    g->values[v].dtype = dtype;
    return v;
}

int qz_const_new(IrGraph *g, const char *base, const RtTensor *t, RtError *err) {
    const char *name = pass_name_unique(g, base);
    int v = name ? ir_const_add(g, name, t) : -1;
    if (v < 0) return rt_error_set(err, "out of memory"), -1;
    return v;
}

int qz_const_f32(IrGraph *g, const char *base, float v, RtError *err) {
    RtTensor t = {RT_F32, 0, {0}, &v};
    return qz_const_new(g, base, &t, err);
}

int qz_const_i8(IrGraph *g, const char *base, int v, RtError *err) {
    int8_t b = (int8_t)v;
    RtTensor t = {RT_I8, 0, {0}, &b};
    return qz_const_new(g, base, &t, err);
}

int qz_readers(const IrGraph *g, int v, int *only) {
    int count = 0;
    for (int k = 0; k < g->n_nodes; k++) {
        const RtNode *n = &g->nodes[k];
        if (n->op == IR_OP_DELETED) continue;
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] == v) {
                count++;
                if (only) *only = k;
            }
    }
    return count;
}

int qz_params(const IrGraph *g, const RtNode *n, int op, QzParams *p) {
    if (n->op != op || n->n_in < 2 || n->in[0] < 0 || n->in[1] < 0) return 0;
    memset(p, 0, sizeof *p);
    p->x = n->in[0];
    p->scale = g->values[n->in[1]].konst;
    if (!p->scale || !p->scale->data) return 0;
    int z = qz_in(n, 2);
    p->zp_absent = z < 0;
    if (z >= 0) {
        p->zp = g->values[z].konst;
        if (!p->zp || !p->zp->data) return 0;
    }
    /* opset 23: a division or product in another precision than the scale's, or a
     * DequantizeLinear output of another dtype, is not the plain pair the passes rewrite */
    int64_t prec = rt_attr_int(n, "precision", 0);
    int64_t od = op == RT_OP_DEQUANTIZE_LINEAR ? rt_attr_int(n, "output_dtype", 0) : 0;
    if ((prec != 0 && prec != (int64_t)p->scale->dtype) || (od != 0 && od != (int64_t)p->scale->dtype)) return 0;
    /* a QuantizeLinear to int4 / uint4 / int2 / uint2 (output_dtype; stored widened, so its
     * zero point looks 8-bit) saturates to a narrower range than its zero point's dtype */
    int64_t qt = op == RT_OP_QUANTIZE_LINEAR ? rt_attr_int(n, "output_dtype", 0) : 0;
    if (qt == 21 || qt == 22 || qt == 25 || qt == 26) return 0;
    p->axis = rt_attr_int(n, "axis", 1);
    p->block = rt_attr_int(n, "block_size", 0);
    return 1;
}

static int tensors_equal(const RtTensor *a, const RtTensor *b) {
    if (!a || !b) return a == b;
    if (a->dtype != b->dtype || !rt_shape_equal(a, b)) return 0;
    int64_t bytes = rt_nbytes(a);
    return bytes >= 0 && memcmp(a->data, b->data, (size_t)bytes) == 0;
}

int qz_params_equal(const QzParams *a, const QzParams *b) {
    if (!tensors_equal(a->scale, b->scale)) return 0;
    if (a->zp_absent != b->zp_absent || !tensors_equal(a->zp, b->zp)) return 0;
    if (rt_numel(a->scale) > 1 && (a->axis != b->axis || a->block != b->block)) return 0;
    return 1;
}

int qz_dq_per_tensor(const IrGraph *g, int v, QzParams *p) {
    if (v < 0) return -1;
    int k = g->values[v].producer;
    if (k < 0 || !qz_params(g, &g->nodes[k], RT_OP_DEQUANTIZE_LINEAR, p)) return -1;
    if (p->scale->dtype != RT_F32 || rt_numel(p->scale) != 1) return -1;
    if (!p->zp || p->zp->dtype != RT_I8 || rt_numel(p->zp) != 1) return -1;
    if (g->values[p->x].dtype != RT_I8) return -1;
    return k;
}
