/*
 * wafer_read.c — reads a .wafer file into an IR graph for the compiler (wafer run, eval,
 * inspect, and passes over a compiled model).
 *
 * There is one parser of the format: the runtime's (runtime/rt_model.c), which checks the
 * magic, version, size and checksum and validates every offset, size, dtype, op, shape,
 * attribute and subgraph. This file opens the file with it, copies every graph into a fresh
 * IrGraph (values with their dims and dim names, constants, nodes, attributes, subgraphs,
 * metadata) and closes the model. Copying, rather than borrowing the mapped image, is
 * deliberate: the compiler's passes rewrite graphs and their constants in place, and the
 * IR's arena owns everything a graph points to. The result goes through ir_verify.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wafer_internal.h"

#include "../runtime/rt_arity.h"
#include "../runtime/rt_model.h"

static int conv_fail(RtError *err, const char *path, const char *what) {
    return rt_error_set(err, "%s: %s", path, what);
}

/* A copy of t (shape and data) in g's arena. */
static RtTensor *tensor_copy(IrGraph *g, const RtTensor *t) {
    RtTensor *c = ir_tensor_new(g, t->dtype, t->rank, t->dims);
    if (!c) return NULL;
    int64_t bytes = rt_nbytes(t);
    if (bytes > 0) memcpy(c->data, t->data, (size_t)bytes);
    return c;
}

static IrGraph *graph_convert(const RtModel *m, const RtGraph *rg, IrGraph *parent, const char *path,
                              RtError *err);

/* Attribute a of a model node into a (arena-owned) copy in g; GRAPH attributes recurse. */
static int attr_convert(const RtModel *m, IrGraph *g, const RtAttr *a, RtAttr *out, const char *path,
                        RtError *err) {
    *out = *a;
    out->name = ir_strdup(g, a->name);
    if (!out->name) return conv_fail(err, path, "out of memory");
    switch (a->type) {
    case RT_ATTR_FLOAT:
    case RT_ATTR_INT: return RT_OK;
    case RT_ATTR_STRING: out->s = ir_strdup(g, a->s); return out->s ? RT_OK : conv_fail(err, path, "out of memory");
    case RT_ATTR_TENSOR: out->t = tensor_copy(g, a->t); return out->t ? RT_OK : conv_fail(err, path, "out of memory");
    case RT_ATTR_GRAPH: {
        out->g = NULL;
        IrGraph *sg = graph_convert(m, (const RtGraph *)a->g, g, path, err);
        out->g = sg;
        return sg ? RT_OK : RT_ERR;
    }
    case RT_ATTR_FLOATS: {
        float *f = ir_alloc(g, sizeof(float) * (size_t)(a->n ? a->n : 1));
        if (!f) return conv_fail(err, path, "out of memory");
        if (a->n) memcpy(f, a->floats, sizeof(float) * (size_t)a->n);
        out->floats = f;
        return RT_OK;
    }
    case RT_ATTR_INTS: {
        int64_t *v = ir_alloc(g, sizeof(int64_t) * (size_t)(a->n ? a->n : 1));
        if (!v) return conv_fail(err, path, "out of memory");
        if (a->n) memcpy(v, a->ints, sizeof(int64_t) * (size_t)a->n);
        out->ints = v;
        return RT_OK;
    }
    case RT_ATTR_STRINGS: {
        const char **s = ir_alloc(g, sizeof(char *) * (size_t)(a->n ? a->n : 1));
        if (!s) return conv_fail(err, path, "out of memory");
        for (int i = 0; i < a->n; i++)
            if (!(s[i] = ir_strdup(g, a->strings[i]))) return conv_fail(err, path, "out of memory");
        out->strings = s;
        return RT_OK;
    }
    }
    return conv_fail(err, path, "attribute of unknown type"); /* rt_model refuses these */
}

static int node_convert(const RtModel *m, IrGraph *g, const RtNode *n, const char *path, RtError *err) {
    /* rt_model_load checked it already; checked again so no short node reaches the IR */
    RtError ae = {{0}};
    if (rt_node_arity_check(n, n->opset, &ae) != RT_OK) return conv_fail(err, path, ae.msg);
    int k = ir_node_add(g, n->op, n->name, n->n_in, n->in, n->n_out, n->out);
    if (k < 0) return conv_fail(err, path, "out of memory");
    g->nodes[k].opset = n->opset;
    RtAttr *attrs = ir_alloc(g, sizeof(RtAttr) * (size_t)(n->n_attr ? n->n_attr : 1));
    if (!attrs) return conv_fail(err, path, "out of memory");
    g->nodes[k].attrs = attrs;
    for (int a = 0; a < n->n_attr; a++) {
        if (attr_convert(m, g, &n->attrs[a], &attrs[a], path, err) != RT_OK) return RT_ERR;
        g->nodes[k].n_attr = a + 1; /* counted once complete, so ir_graph_free sees built subgraphs */
    }
    return RT_OK;
}

static int values_convert(const RtGraphInfo *info, const RtGraph *rg, IrGraph *g, const char *path, RtError *err) {
    for (int v = 0; v < rg->n_values; v++) {
        const RtValueInfo *vi = &info->values[v];
        if (ir_value_add(g, vi->name) != v) return conv_fail(err, path, "out of memory");
        IrValue *iv = &g->values[v];
        iv->dtype = vi->dtype;
        iv->rank = vi->rank;
        for (int d = 0; d < vi->rank; d++) {
            iv->dims[d].value = vi->dims[d];
            iv->dims[d].sym = NULL;
            if (vi->dim_names[d] && !(iv->dims[d].sym = ir_strdup(g, vi->dim_names[d])))
                return conv_fail(err, path, "out of memory");
        }
        if (rg->consts[v] && !(iv->konst = tensor_copy(g, rg->consts[v]))) return conv_fail(err, path, "out of memory");
    }
    return RT_OK;
}

static int *ids_copy(int n, const int *ids) {
    int *p = malloc(sizeof(int) * ((size_t)n + 1));
    if (p && n) memcpy(p, ids, sizeof(int) * (size_t)n);
    return p;
}

/* One model graph (and, through its attributes, its subgraphs) as a new IrGraph. */
static IrGraph *graph_convert(const RtModel *m, const RtGraph *rg, IrGraph *parent, const char *path,
                              RtError *err) {
    const RtGraphInfo *info = rt_model_graph_info(m, rg);
    IrGraph *g = ir_graph_new();
    if (!g || !info) {
        ir_graph_free(g);
        conv_fail(err, path, g ? "subgraph outside the model" : "out of memory");
        return NULL;
    }
    g->parent = parent;
    g->opset = info->opset;
    g->ir_version = info->ir_version;
    g->name = ir_strdup(g, info->name);
    g->producer_name = ir_strdup(g, info->producer);
    g->path = ir_strdup(g, path);
    g->inputs = ids_copy(rg->n_inputs, rg->inputs);
    g->outputs = ids_copy(rg->n_outputs, rg->outputs);
    int st = (g->name && g->producer_name && g->path && g->inputs && g->outputs) ? RT_OK
                                                                              : conv_fail(err, path, "out of memory");
    if (st == RT_OK) {
        g->n_inputs = rg->n_inputs;
        g->n_outputs = rg->n_outputs;
        g->n_declared = rg->n_declared;
        st = values_convert(info, rg, g, path, err);
    }
    for (int k = 0; st == RT_OK && k < rg->n_nodes; k++) st = node_convert(m, g, &rg->nodes[k], path, err);
    if (st != RT_OK) {
        ir_graph_free(g);
        return NULL;
    }
    return g;
}

/* A metadata value copied into g's arena ("" when the file has none). */
static const char *meta_copy(IrGraph *g, const RtModel *m, const char *key) {
    const char *v = rt_model_meta(m, key);
    return ir_strdup(g, v ? v : "");
}

IrGraph *wafer_file_read_meta(const char *path, WaferMeta *meta, RtError *err) {
    err->msg[0] = '\0';
    RtModel *m = rt_model_open_file(path, NULL, err);
    if (!m) return NULL;
    IrGraph *g = graph_convert(m, rt_model_graph(m), NULL, path, err);
    WaferMeta md = {"", "", ""};
    if (g) g->keep_dequantize = 1; /* a .wafer's DequantizeLinear of constants are its weights */
    if (g) {
        md.source_hash = meta_copy(g, m, WF_META_SOURCE_HASH);
        md.wafer_version = meta_copy(g, m, WF_META_WAFER_VERSION);
        md.options = meta_copy(g, m, WF_META_OPTIONS);
        RtError verr = {{0}};
        if (!md.source_hash || !md.wafer_version || !md.options) {
            conv_fail(err, path, "out of memory");
        } else if (ir_verify(g, &verr) != RT_OK) { /* rt_model checks the same: a bug if it fires */
            rt_error_set(err, "%s: %s", path, verr.msg);
        } else {
            if (meta) *meta = md;
            rt_model_close(m);
            return g;
        }
    }
    ir_graph_free(g);
    rt_model_close(m);
    return NULL;
}

IrGraph *wafer_file_read(const char *path, RtError *err) { return wafer_file_read_meta(path, NULL, err); }
