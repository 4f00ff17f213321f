/*
 * ir_graph.c — building and editing IR graphs, and the arena behind them.
 *
 * The arena is a list of chunks; small requests are carved from the newest chunk, large
 * ones (weights) get a chunk of their own. Nothing is freed before the graph is.
 */
#include "ir.h"

#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK (64 * 1024)

typedef struct ArenaChunk {
    struct ArenaChunk *next;
    size_t used, cap;        /* bytes */
    _Alignas(64) unsigned char data[];
} ArenaChunk;

struct IrArena {
    ArenaChunk *head;        /* owned list, newest first */
};

static ArenaChunk *chunk_new(size_t cap) {
    if (cap > SIZE_MAX - sizeof(ArenaChunk) - 64) return NULL;
    ArenaChunk *c = NULL;
    if (posix_memalign((void **)&c, 64, sizeof(ArenaChunk) + cap) != 0) return NULL;
    c->next = NULL;
    c->used = 0;
    c->cap = cap;
    return c;
}

void *ir_alloc(IrGraph *g, size_t bytes) {
    IrArena *a = g->arena;
    size_t need = (bytes + 63) & ~(size_t)63;
    if (need < bytes) return NULL;
    if (need == 0) need = 64;
    ArenaChunk *c = a->head;
    if (!c || c->cap - c->used < need) {
        if (need > ARENA_CHUNK / 4) { /* big: own chunk, kept behind the current one */
            ArenaChunk *big = chunk_new(need);
            if (!big) return NULL;
            big->used = need;
            if (c) {
                big->next = c->next;
                c->next = big;
            } else {
                a->head = big;
            }
            memset(big->data, 0, need);
            return big->data;
        }
        c = chunk_new(ARENA_CHUNK);
        if (!c) return NULL;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += need;
    memset(p, 0, need);
    return p;
}

const char *ir_strdup(IrGraph *g, const char *s) {
    if (!s) s = "";
    size_t n = strlen(s) + 1;
    char *p = ir_alloc(g, n);
    if (p) memcpy(p, s, n);
    return p;
}

IrGraph *ir_graph_new(void) {
    IrGraph *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->arena = calloc(1, sizeof *g->arena);
    if (!g->arena) {
        free(g);
        return NULL;
    }
    g->name = g->producer_name = g->path = "";
    return g;
}

void ir_graph_free(IrGraph *g) {
    if (!g) return;
    for (int k = 0; k < g->n_nodes; k++)
        for (int a = 0; a < g->nodes[k].n_attr; a++)
            if (g->nodes[k].attrs[a].type == RT_ATTR_GRAPH)
                ir_graph_free((IrGraph *)g->nodes[k].attrs[a].g);
    ArenaChunk *c = g->arena->head;
    while (c) {
        ArenaChunk *next = c->next;
        free(c);
        c = next;
    }
    free(g->arena);
    free(g->values);
    free(g->nodes);
    free(g->inputs);
    free(g->outputs);
    free(g);
}

static int grow(void **arr, int *cap, int need, size_t elem) {
    if (need <= *cap) return 0;
    int ncap = *cap ? *cap * 2 : 64;
    while (ncap < need) ncap *= 2;
    void *p = realloc(*arr, (size_t)ncap * elem);
    if (!p) return -1;
    memset((char *)p + (size_t)*cap * elem, 0, (size_t)(ncap - *cap) * elem);
    *arr = p;
    *cap = ncap;
    return 0;
}

int ir_value_add(IrGraph *g, const char *name) {
    if (grow((void **)&g->values, &g->cap_values, g->n_values + 1, sizeof(IrValue))) return -1;
    IrValue *v = &g->values[g->n_values];
    memset(v, 0, sizeof *v);
    v->name = ir_strdup(g, name);
    if (!v->name) return -1;
    v->dtype = RT_UNDEFINED;
    v->rank = -1;
    v->producer = -1;
    return g->n_values++;
}

int ir_value_find(const IrGraph *g, const char *name) {
    for (int i = 0; i < g->n_values; i++)
        if (strcmp(g->values[i].name, name) == 0) return i;
    return -1;
}

const char *ir_value_name_fresh(IrGraph *g, const char *base, const char *what) {
    char buf[512];
    for (int i = 0; i < 10000; i++) {
        if (i) snprintf(buf, sizeof buf, "%s_%s_%d", base, what, i);
        else snprintf(buf, sizeof buf, "%s_%s", base, what);
        int clash = 0;
        for (const IrGraph *s = g; s && !clash; s = s->parent) clash = ir_value_find(s, buf) >= 0;
        if (!clash) return ir_strdup(g, buf);
    }
    return NULL;
}

RtTensor *ir_tensor_new(IrGraph *g, RtDtype dtype, int rank, const int64_t *dims) {
    RtTensor *t = ir_alloc(g, sizeof *t);
    if (!t || rank < 0 || rank > RT_MAX_RANK) return NULL;
    t->dtype = dtype;
    t->rank = rank;
    for (int i = 0; i < rank; i++) t->dims[i] = dims[i];
    int64_t bytes = rt_nbytes(t);
    if (bytes < 0) return NULL;
    t->data = ir_alloc(g, (size_t)bytes);
    return t->data ? t : NULL;
}

void ir_value_set_shape(IrValue *v, RtDtype dtype, int rank, const int64_t *dims) {
    v->dtype = dtype;
    v->rank = rank;
    for (int i = 0; i < rank; i++) {
        v->dims[i].value = dims[i];
        v->dims[i].sym = NULL;
    }
}

int ir_const_add(IrGraph *g, const char *name, const RtTensor *t) {
    RtTensor *c = ir_tensor_new(g, t->dtype, t->rank, t->dims);
    if (!c) return -1;
    int64_t bytes = rt_nbytes(t);
    if (bytes > 0) memcpy(c->data, t->data, (size_t)bytes);
    int v = ir_value_add(g, name);
    if (v < 0) return -1;
    g->values[v].konst = c;
    ir_value_set_shape(&g->values[v], t->dtype, t->rank, t->dims);
    return v;
}

int ir_node_add(IrGraph *g, int op, const char *name, int n_in, const int *in, int n_out,
                const int *out) {
    if (grow((void **)&g->nodes, &g->cap_nodes, g->n_nodes + 1, sizeof(RtNode))) return -1;
    RtNode *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->name = ir_strdup(g, name);
    n->op_type = rt_op_name(op);
    n->domain = rt_op_domain(op);
    n->opset = g->opset;
    n->n_in = n_in;
    n->n_out = n_out;
    n->in = ir_alloc(g, sizeof(int) * (size_t)(n_in > 0 ? n_in : 1));
    n->out = ir_alloc(g, sizeof(int) * (size_t)(n_out > 0 ? n_out : 1));
    if (!n->name || !n->in || !n->out) return -1;
    if (n_in) memcpy(n->in, in, sizeof(int) * (size_t)n_in);
    if (n_out) memcpy(n->out, out, sizeof(int) * (size_t)n_out);
    for (int j = 0; j < n_out; j++)
        if (out[j] >= 0 && out[j] < g->n_values) g->values[out[j]].producer = g->n_nodes;
    return g->n_nodes++;
}

int ir_value_uses(const IrGraph *g, int v) {
    int uses = 0;
    for (int k = 0; k < g->n_nodes; k++)
        for (int j = 0; j < g->nodes[k].n_in; j++)
            if (g->nodes[k].in[j] == v) uses++;
    return uses;
}

int ir_value_is_output(const IrGraph *g, int v) {
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == v) return 1;
    return 0;
}

int ir_graph_compact(IrGraph *g, RtError *err) {
    int *map = malloc(sizeof(int) * (size_t)(g->n_values + 1));
    char *live = calloc((size_t)g->n_values + 1, 1);
    if (!map || !live) {
        free(map);
        free(live);
        return rt_error_set(err, "out of memory");
    }
    int nk = 0;
    for (int k = 0; k < g->n_nodes; k++)
        if (g->nodes[k].op != IR_OP_DELETED) g->nodes[nk++] = g->nodes[k];
    g->n_nodes = nk;
    for (int k = 0; k < g->n_nodes; k++) {
        for (int j = 0; j < g->nodes[k].n_in; j++)
            if (g->nodes[k].in[j] >= 0) live[g->nodes[k].in[j]] = 1;
        for (int j = 0; j < g->nodes[k].n_out; j++)
            if (g->nodes[k].out[j] >= 0) live[g->nodes[k].out[j]] = 1;
    }
    for (int i = 0; i < g->n_inputs; i++) live[g->inputs[i]] = 1;
    for (int i = 0; i < g->n_outputs; i++) live[g->outputs[i]] = 1;
    int nv = 0;
    for (int v = 0; v < g->n_values; v++) {
        map[v] = live[v] ? nv : -1;
        if (live[v]) g->values[nv++] = g->values[v];
    }
    g->n_values = nv;
    for (int v = 0; v < nv; v++) g->values[v].producer = -1;
    for (int k = 0; k < g->n_nodes; k++) {
        RtNode *n = &g->nodes[k];
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] >= 0) n->in[j] = map[n->in[j]];
        for (int j = 0; j < n->n_out; j++) {
            if (n->out[j] >= 0) n->out[j] = map[n->out[j]];
            if (n->out[j] >= 0) g->values[n->out[j]].producer = k;
        }
    }
    for (int i = 0; i < g->n_inputs; i++) g->inputs[i] = map[g->inputs[i]];
    for (int i = 0; i < g->n_outputs; i++) g->outputs[i] = map[g->outputs[i]];
    free(map);
    free(live);
    return RT_OK;
}
