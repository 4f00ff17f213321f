/*
 * inline_if.c — replaces an If whose condition is known by the nodes of the chosen branch
 * (used by constant folding; see pass_internal.h).
 *
 * The capture convention (frontend/onnx_subgraph.c): both branches take exactly the If's
 * inputs in[1..] as their inputs, in order. So inlining maps branch input i to in[1+i],
 * branch output i to the If's output i (which keeps its name and type), branch constants to
 * new constants, and every other branch value to a fresh value named "<if name>/<value>".
 * Branch nodes are copied into the parent's arena (attributes deep-copied; nested subgraphs
 * change owner) and inserted right after the If, which is marked deleted: everything they
 * read is defined before the If, and everything reading the If's outputs comes after it, so
 * topological order holds. A branch output that no branch node produces (a captured value or
 * constant passed straight through, or one value returned twice) gets an Identity node.
 */
#include "pass_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    IrGraph *g;          /* borrowed: the parent graph */
    IrGraph *b;          /* borrowed: the branch being inlined (freed by the caller after) */
    const char *prefix;  /* borrowed: name prefix for new values and nodes */
    int *map;            /* [b->n_values] owned: branch value -> parent value, -1 unset */
    RtError *err;        /* borrowed */
} Inliner;

static const char *prefixed(Inliner *in, const char *name) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s/%s", in->prefix, name ? name : "");
    return pass_name_unique(in->g, buf);
}

/* A parent value standing for branch value bv, with its type (symbols copied). */
static int value_copy(Inliner *in, int bv) {
    const IrValue *src = &in->b->values[bv];
    const char *name = prefixed(in, src->name);
    int v = name ? ir_value_add(in->g, name) : -1;
    if (v < 0) return -1;
    IrValue *dst = &in->g->values[v];
    dst->dtype = src->dtype;
    dst->rank = src->rank;
    for (int d = 0; d < src->rank; d++) {
        dst->dims[d].value = src->dims[d].value;
        dst->dims[d].sym = src->dims[d].sym ? ir_strdup(in->g, src->dims[d].sym) : NULL;
    }
    return v;
}

static int attr_copy(Inliner *in, RtAttr *dst, RtAttr *src) {
    IrGraph *g = in->g;
    *dst = *src;
    dst->name = ir_strdup(g, src->name);
    if (src->type == RT_ATTR_STRING) dst->s = ir_strdup(g, src->s);
    if (src->type == RT_ATTR_INTS && src->n > 0) {
        int64_t *p = ir_alloc(g, sizeof(int64_t) * (size_t)src->n);
        if (!p) return -1;
        memcpy(p, src->ints, sizeof(int64_t) * (size_t)src->n);
        dst->ints = p;
    }
    if (src->type == RT_ATTR_FLOATS && src->n > 0) {
        float *p = ir_alloc(g, sizeof(float) * (size_t)src->n);
        if (!p) return -1;
        memcpy(p, src->floats, sizeof(float) * (size_t)src->n);
        dst->floats = p;
    }
    if (src->type == RT_ATTR_STRINGS && src->n > 0) {
        const char **p = ir_alloc(g, sizeof(char *) * (size_t)src->n);
        if (!p) return -1;
        for (int i = 0; i < src->n; i++)
            if (!(p[i] = ir_strdup(g, src->strings[i]))) return -1;
        dst->strings = p;
    }
    if (src->type == RT_ATTR_TENSOR && src->t) {
        RtTensor *t = ir_tensor_new(g, src->t->dtype, src->t->rank, src->t->dims);
        if (!t) return -1;
        int64_t bytes = rt_nbytes(t);
        if (bytes > 0 && src->t->data) memcpy(t->data, src->t->data, (size_t)bytes);
        dst->t = t;
    }
    if (src->type == RT_ATTR_GRAPH && src->g) { /* the nested graph moves to the parent */
        ((IrGraph *)src->g)->parent = g;
        src->g = NULL;
    }
    return dst->name ? 0 : -1;
}

/* The parent copy of branch node bn (inputs and outputs mapped). */
static int node_copy(Inliner *in, const RtNode *bn, RtNode *dst) {
    IrGraph *g = in->g;
    *dst = *bn;
    dst->name = prefixed(in, bn->name);
    dst->op_type = ir_strdup(g, bn->op_type);
    dst->domain = ir_strdup(g, bn->domain);
    dst->in = ir_alloc(g, sizeof(int) * (size_t)(bn->n_in > 0 ? bn->n_in : 1));
    dst->out = ir_alloc(g, sizeof(int) * (size_t)(bn->n_out > 0 ? bn->n_out : 1));
    dst->attrs = bn->n_attr ? ir_alloc(g, sizeof(RtAttr) * (size_t)bn->n_attr) : NULL;
    if (!dst->name || !dst->op_type || !dst->domain || !dst->in || !dst->out || (bn->n_attr && !dst->attrs))
        return -1;
    for (int j = 0; j < bn->n_in; j++) dst->in[j] = bn->in[j] >= 0 ? in->map[bn->in[j]] : -1;
    for (int j = 0; j < bn->n_out; j++) dst->out[j] = bn->out[j] >= 0 ? in->map[bn->out[j]] : -1;
    for (int a = 0; a < bn->n_attr; a++)
        if (attr_copy(in, &dst->attrs[a], &bn->attrs[a]) != 0) return -1;
    return 0;
}

/* Fills in->map for the branch's inputs, constants, outputs and node outputs. Branch outputs
 * needing an Identity are listed in need_id[n_outputs] (1 = Identity). */
static int map_values(Inliner *in, const RtNode *ifn, char *need_id) {
    IrGraph *b = in->b;
    for (int i = 0; i < b->n_inputs; i++) in->map[b->inputs[i]] = ifn->in[1 + i];
    for (int v = 0; v < b->n_values; v++) {
        if (!b->values[v].konst || in->map[v] >= 0) continue;
        const char *name = prefixed(in, b->values[v].name);
        if (!name || (in->map[v] = ir_const_add(in->g, name, b->values[v].konst)) < 0) return -1;
    }
    for (int i = 0; i < b->n_outputs; i++) {
        int bv = b->outputs[i];
        need_id[i] = in->map[bv] >= 0 || b->values[bv].producer < 0 || ifn->out[i] < 0;
        if (!need_id[i]) in->map[bv] = ifn->out[i];
    }
    for (int k = 0; k < b->n_nodes; k++)
        for (int j = 0; j < b->nodes[k].n_out; j++) {
            int bv = b->nodes[k].out[j];
            if (bv >= 0 && in->map[bv] < 0 && (in->map[bv] = value_copy(in, bv)) < 0) return -1;
        }
    return 0;
}

/* Makes room for `extra` nodes right after node k. */
static int nodes_open_gap(IrGraph *g, int k, int extra) {
    int need = g->n_nodes + extra;
    if (need > g->cap_nodes) {
        RtNode *p = realloc(g->nodes, sizeof(RtNode) * (size_t)need);
        if (!p) return -1;
        g->nodes = p;
        g->cap_nodes = need;
    }
    memmove(&g->nodes[k + 1 + extra], &g->nodes[k + 1], sizeof(RtNode) * (size_t)(g->n_nodes - k - 1));
    g->n_nodes = need;
    return 0;
}

static int inline_into(Inliner *in, int k, char *need_id) {
    IrGraph *g = in->g, *b = in->b;
    RtNode ifn = g->nodes[k]; /* a copy: the node array moves below */
    if (map_values(in, &ifn, need_id) != 0) return -1;
    int n_id = 0;
    for (int i = 0; i < b->n_outputs; i++) n_id += need_id[i];
    int extra = b->n_nodes + n_id;
    RtNode *copies = calloc((size_t)(extra ? extra : 1), sizeof *copies);
    if (!copies) return -1;
    int c = 0, bad = 0;
    for (int j = 0; j < b->n_nodes && !bad; j++) bad = node_copy(in, &b->nodes[j], &copies[c++]) != 0;
    for (int i = 0; i < b->n_outputs && !bad; i++) {
        if (!need_id[i]) continue;
        int src = in->map[b->outputs[i]], dst = ifn.out[i] >= 0 ? ifn.out[i] : -1;
        RtNode *id = &copies[c++];
        id->op = RT_OP_IDENTITY;
        id->op_type = rt_op_name(RT_OP_IDENTITY);
        id->domain = "";
        id->opset = g->opset;
        id->name = prefixed(in, "output");
        id->n_in = id->n_out = 1;
        id->in = ir_alloc(g, sizeof(int));
        id->out = ir_alloc(g, sizeof(int));
        bad = !id->name || !id->in || !id->out || dst < 0;
        if (!bad) {
            id->in[0] = src;
            id->out[0] = dst;
        }
    }
    if (bad || nodes_open_gap(g, k, extra) != 0) {
        free(copies);
        return -1;
    }
    memcpy(&g->nodes[k + 1], copies, sizeof(RtNode) * (size_t)extra);
    free(copies);
    return 0;
}

int pass_if_inline(IrGraph *g, int k, int take_then, RtError *err) {
    RtNode *n = &g->nodes[k];
    const RtAttr *a = NULL;
    for (int i = 0; i < n->n_attr; i++)
        if (strcmp(n->attrs[i].name, take_then ? "then_branch" : "else_branch") == 0) a = &n->attrs[i];
    IrGraph *b = a && a->type == RT_ATTR_GRAPH ? (IrGraph *)a->g : NULL;
    if (!b || b->n_inputs != n->n_in - 1 || b->n_outputs != n->n_out)
        return rt_error_set(err, "node '%s' (If): branch '%s' does not match the node's %d inputs and %d outputs",
                            n->name, take_then ? "then_branch" : "else_branch", n->n_in, n->n_out);
    Inliner in = {g, b, (n->name && n->name[0]) || n->n_out < 1 || n->out[0] < 0 ? n->name : g->values[n->out[0]].name, NULL, err};
    in.map = malloc(sizeof(int) * (size_t)(b->n_values + 1));
    char *need_id = calloc((size_t)b->n_outputs + 1, 1);
    if (!in.map || !need_id) {
        free(in.map);
        free(need_id);
        return rt_error_set(err, "out of memory");
    }
    for (int v = 0; v < b->n_values; v++) in.map[v] = -1;
    int r = inline_into(&in, k, need_id);
    free(in.map);
    free(need_id);
    if (r != 0) return rt_error_set(err, "node '%s' (If): out of memory inlining a branch", g->nodes[k].name);
    pass_node_delete(g, k); /* frees both branches (their nested graphs have moved) */
    for (int j = k + 1; j < g->n_nodes; j++)
        for (int o = 0; o < g->nodes[j].n_out; o++)
            if (g->nodes[j].out[o] >= 0) g->values[g->nodes[j].out[o]].producer = j;
    return RT_OK;
}
