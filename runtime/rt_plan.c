/*
 * rt_plan.c — building and checking arena memory plans (see rt_plan.h).
 *
 * Liveness: node k defines its outputs; value v lives over the node indices [def(v), last(v)]
 * where last(v) is its last consumer (n_nodes for graph outputs, def(v) for an unused output).
 * Two values may share bytes only when those ranges are disjoint, or in place: v = output 0 of
 * node k, u = its input 0, last(u) == k, the op elementwise (rt_plan_inplace_op) and both the
 * same size; v then takes u's offset and the pair is placed as one range [def(u), last(v)].
 * Placement is first fit over the values sorted by size (largest first, ties by slot index so
 * the plan does not depend on the sort's stability): each value goes to the lowest aligned
 * offset whose bytes no already placed, simultaneously live value uses. O(V^2) in the worst
 * case, a few milliseconds for thousands of values.
 */
#include "rt_plan.h"

#include <stdlib.h>
#include <string.h>

/* Outputs up to this many elements are computed for real while planning when all their
 * inputs are known, so Shape -> Gather -> Concat -> Reshape chains give Reshape its shape. */
#define PLAN_SHAPE_DATA_MAX 65536

int rt_plan_inplace_op(int op) {
    switch (op) {
    case RT_OP_RELU: case RT_OP_SIGMOID: case RT_OP_TANH: case RT_OP_EXP: case RT_OP_ERF:
    case RT_OP_NEG: case RT_OP_ABS: case RT_OP_SQRT: case RT_OP_CLIP: case RT_OP_LEAKY_RELU:
    case RT_OP_HARD_SIGMOID: case RT_OP_HARD_SWISH: case RT_OP_GELU:
    case RT_OP_ADD: case RT_OP_SUB: case RT_OP_MUL: case RT_OP_DIV:
    /* same bytes, new dims: the output is the input (shape_ops.c skips its copy) */
    case RT_OP_RESHAPE: case RT_OP_FLATTEN: case RT_OP_SQUEEZE: case RT_OP_UNSQUEEZE:
        return 1;
    default:
        return 0;
    }
}

void rt_plan_free(RtPlan *p) {
    if (!p) return;
    free(p->offset);
    free(p->bytes);
    free(p->value);
    memset(p, 0, sizeof *p);
}

static int64_t align_up(int64_t x) { return (x + RT_PLAN_ALIGN - 1) / RT_PLAN_ALIGN * RT_PLAN_ALIGN; }

/* ---- liveness ---- */

typedef struct {
    int *def;    /* [n_values] producing node, -1 for constants, graph inputs, unproduced */
    int *last;   /* [n_values] last node reading the value (n_nodes for graph outputs) */
} Live;

static void live_free(Live *l) {
    free(l->def);
    free(l->last);
}

static int live_build(const RtGraph *g, Live *l, RtError *err) {
    size_t nv = (size_t)(g->n_values > 0 ? g->n_values : 1);
    l->def = malloc(nv * sizeof(int));
    l->last = malloc(nv * sizeof(int));
    if (!l->def || !l->last) return rt_error_set(err, "out of memory");
    for (int v = 0; v < g->n_values; v++) l->def[v] = l->last[v] = -1;
    for (int k = 0; k < g->n_nodes; k++) {
        const RtNode *n = &g->nodes[k];
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] >= 0) l->last[n->in[j]] = k;
        for (int j = 0; j < n->n_out; j++)
            if (n->out[j] >= 0) {
                l->def[n->out[j]] = k;
                if (l->last[n->out[j]] < k) l->last[n->out[j]] = k;
            }
    }
    for (int i = 0; i < g->n_outputs; i++) l->last[g->outputs[i]] = g->n_nodes;
    return RT_OK;
}

static int is_const(const RtGraph *g, int v) { return g->consts && g->consts[v]; }

static int is_graph_input(const RtGraph *g, int v) {
    for (int i = 0; i < g->n_inputs; i++)
        if (g->inputs[i] == v) return 1;
    return 0;
}

/* The value whose bytes node k's output 0 may reuse in place, or -1. */
static int inplace_source(const RtGraph *g, const Live *l, const int64_t *bytes, int k) {
    const RtNode *n = &g->nodes[k];
    if (!rt_plan_inplace_op(n->op) || n->n_in < 1 || n->n_out < 1) return -1;
    int u = n->in[0], v = n->out[0];
    if (u < 0 || v < 0 || u == v || l->def[u] < 0 || l->last[u] != k) return -1;
    if (is_const(g, u) || is_graph_input(g, u) || bytes[u] != bytes[v]) return -1;
    return u;
}

/* ---- shapes by running the kernels in shape mode ---- */

static int plan_shapes(const RtGraph *g, const RtTensor *inputs, RtTensor *val, char *owned,
                       RtError *err) {
    RtKernelCtx c = {.alloc = rt_allocator_default(), .err = err, .shape_only = 1};
    for (int v = 0; v < g->n_values; v++)
        if (is_const(g, v)) val[v] = *g->consts[v];
    for (int i = 0; i < g->n_inputs; i++) val[g->inputs[i]] = inputs[i];
    for (int k = 0; k < g->n_nodes; k++) {
        const RtNode *n = &g->nodes[k];
        RtTensor *in[RT_NODE_MAX_IN], *out[RT_NODE_MAX_OUT], unused[RT_NODE_MAX_OUT];
        if (n->n_in > RT_NODE_MAX_IN || n->n_out > RT_NODE_MAX_OUT)
            return rt_error_set(err, "node '%s' (%s) has %d inputs and %d outputs; wafer's executor takes at most %d and %d",
                                n->name, rt_op_name(n->op), n->n_in, n->n_out, RT_NODE_MAX_IN, RT_NODE_MAX_OUT);
        int all_known = 1;
        for (int j = 0; j < n->n_in; j++) {
            in[j] = n->in[j] >= 0 ? &val[n->in[j]] : NULL;
            if (in[j] && in[j]->dtype == RT_UNDEFINED) return RT_SHAPE_UNKNOWN;
            if (in[j] && !in[j]->data) all_known = 0;
        }
        for (int j = 0; j < n->n_out; j++) {
            memset(&unused[j], 0, sizeof unused[j]);
            out[j] = n->out[j] >= 0 ? &val[n->out[j]] : &unused[j];
        }
        c.shape_only = 1;
        int r = rt_node_exec(&c, n, in, out);
        if (r == RT_SHAPE_UNKNOWN || r < 0) {
            for (int j = 0; j < n->n_out; j++) rt_tensor_free(rt_allocator_default(), out[j]);
            if (r == RT_SHAPE_UNKNOWN) /* callers that plan later anyway clear it */
                rt_error_set(err, "node '%s' (%s): its output shape depends on input data", n->name,
                             n->op_type ? n->op_type : "?");
            return r;
        }
        int64_t total = 0, missing = 0;
        for (int j = 0; j < n->n_out; j++) {
            int64_t ne = rt_numel(out[j]);
            total += ne < 0 ? PLAN_SHAPE_DATA_MAX + 1 : ne;
            missing += out[j]->data == NULL;
        }
        if (missing && all_known && total <= PLAN_SHAPE_DATA_MAX) { /* small data for shape chains */
            for (int j = 0; j < n->n_out; j++) rt_tensor_free(rt_allocator_default(), out[j]);
            c.shape_only = 0;
            r = rt_node_exec(&c, n, in, out);
            if (r < 0) {
                for (int j = 0; j < n->n_out; j++) rt_tensor_free(rt_allocator_default(), out[j]);
                return r;
            }
        }
        for (int j = 0; j < n->n_out; j++) {
            if (n->out[j] >= 0) owned[n->out[j]] = out[j]->data != NULL;
            else rt_tensor_free(rt_allocator_default(), &unused[j]);
        }
    }
    return RT_OK;
}

/* ---- placement ---- */

typedef struct {
    int64_t lo, hi;
} Span;

static int by_lo(const void *a, const void *b) {
    const Span *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Insertion sort by size, largest first (stable, no global state: plans may be built from
 * two threads at once). */
static void sort_values(int *order, int n, const int64_t *bytes) {
    for (int i = 1; i < n; i++) {
        int v = order[i], j = i - 1;
        while (j >= 0 && (bytes[order[j]] < bytes[v] || (bytes[order[j]] == bytes[v] && order[j] > v))) {
            order[j + 1] = order[j];
            j--;
        }
        order[j + 1] = v;
    }
}

/* Places the root values (alias[v] == v) in order; lo/hi are each root's merged live range. */
static int place(const int *order, int n_order, const int64_t *bytes, const int *lo, const int *hi,
                 int64_t *offset, int64_t *arena, RtError *err) {
    Span *sp = malloc(sizeof(Span) * (size_t)(n_order > 0 ? n_order : 1));
    if (!sp) return rt_error_set(err, "out of memory");
    *arena = 0;
    for (int i = 0; i < n_order; i++) {
        int v = order[i];
        int ns = 0;
        for (int q = 0; q < i; q++) {
            int u = order[q];
            if (lo[u] <= hi[v] && lo[v] <= hi[u]) sp[ns++] = (Span){offset[u], offset[u] + bytes[u]};
        }
        qsort(sp, (size_t)ns, sizeof *sp, by_lo);
        int64_t at = 0;
        for (int s = 0; s < ns; s++) {
            if (sp[s].lo >= at + bytes[v]) break; /* the gap before this span fits */
            if (sp[s].hi > at) at = align_up(sp[s].hi);
        }
        offset[v] = at;
        if (at + bytes[v] > *arena) *arena = at + bytes[v];
    }
    free(sp);
    return RT_OK;
}

int rt_plan_build(const RtGraph *g, const RtTensor *inputs, RtPlan *p, RtError *err) {
    memset(p, 0, sizeof *p);
    int nv = g->n_values;
    size_t n1 = (size_t)(nv > 0 ? nv : 1);
    RtTensor *val = calloc(n1, sizeof *val);
    char *owned = calloc(n1, 1);
    int64_t *bytes = calloc(n1, sizeof *bytes), *offset = malloc(n1 * sizeof *offset);
    int *alias = malloc(n1 * sizeof(int)), *lo = malloc(n1 * sizeof(int)), *hi = malloc(n1 * sizeof(int));
    int *order = malloc(n1 * sizeof(int));
    Live l = {0};
    int r = RT_OK;
    if (!val || !owned || !bytes || !offset || !alias || !lo || !hi || !order) {
        r = rt_error_set(err, "out of memory");
        goto done;
    }
    r = plan_shapes(g, inputs, val, owned, err);
    if (r != RT_OK) goto done;
    r = live_build(g, &l, err);
    if (r != RT_OK) goto done;
    /* sizes of the values nodes produce; everything else stays out of the arena */
    for (int v = 0; v < nv; v++) {
        alias[v] = v;
        offset[v] = -1;
        if (l.def[v] < 0) continue;
        int64_t b = rt_nbytes(&val[v]);
        if (b < 0 || val[v].dtype == RT_UNDEFINED) {
            r = rt_error_set(err, "value '%s' has no known size",
                             g->value_names && g->value_names[v] ? g->value_names[v] : "?");
            goto done;
        }
        bytes[v] = align_up(b > 0 ? b : 1);
        lo[v] = l.def[v];
        hi[v] = l.last[v];
    }
    /* in-place pairs: the output joins its input's root, whose range grows to cover both */
    for (int k = 0; k < g->n_nodes; k++) {
        int u = inplace_source(g, &l, bytes, k);
        if (u < 0) continue;
        int v = g->nodes[k].out[0], root = alias[u];
        alias[v] = root;
        if (hi[v] > hi[root]) hi[root] = hi[v];
    }
    int n_order = 0;
    for (int v = 0; v < nv; v++)
        if (l.def[v] >= 0 && alias[v] == v) order[n_order++] = v;
    sort_values(order, n_order, bytes);
    r = place(order, n_order, bytes, lo, hi, offset, &p->arena_bytes, err);
    if (r != RT_OK) goto done;
    for (int v = 0; v < nv; v++)
        if (l.def[v] >= 0) offset[v] = offset[alias[v]];
    p->n_values = nv;
    p->offset = offset;
    p->bytes = bytes;
    p->value = val;
    for (int v = 0; v < nv; v++) { /* keep shapes only: data was borrowed or temporary */
        if (owned[v]) rt_tensor_free(rt_allocator_default(), &val[v]);
        val[v].data = NULL;
    }
    offset = NULL;
    bytes = NULL;
    val = NULL;
done:
    if (val && owned) /* either may be the allocation that failed */
        for (int v = 0; v < nv; v++)
            if (owned[v]) rt_tensor_free(rt_allocator_default(), &val[v]);
    free(val);
    free(owned);
    free(bytes);
    free(offset);
    free(alias);
    free(lo);
    free(hi);
    free(order);
    live_free(&l);
    return r;
}

/* ---- checking a plan (from a file) ---- */

int rt_plan_check(const RtGraph *g, const RtPlan *p, RtError *err) {
    if (p->n_values != g->n_values)
        return rt_error_set(err, "plan has %d values, the graph %d", p->n_values, g->n_values);
    if (p->arena_bytes < 0 || p->arena_bytes % RT_PLAN_ALIGN)
        return rt_error_set(err, "plan arena size %lld is not a non-negative multiple of %d",
                            (long long)p->arena_bytes, RT_PLAN_ALIGN);
    Live l = {0};
    RT_TRY(live_build(g, &l, err));
    int r = RT_OK;
    for (int v = 0; v < g->n_values && r == RT_OK; v++) {
        const char *name = g->value_names && g->value_names[v] ? g->value_names[v] : "?";
        int64_t o = p->offset[v], b = p->bytes[v];
        if (l.def[v] < 0) {
            if (o != -1) r = rt_error_set(err, "plan places value '%s', which no node produces", name);
            continue;
        }
        int64_t need = rt_nbytes(&p->value[v]);
        if (o < 0 || o % RT_PLAN_ALIGN || b < 0 || b > p->arena_bytes - o || need < 0 || need > b)
            r = rt_error_set(err, "plan entry of value '%s' (offset %lld, %lld bytes) does not fit "
                             "its shape or the %lld-byte arena", name, (long long)o, (long long)b,
                             (long long)p->arena_bytes);
    }
    /* no two simultaneously live values overlap, except an in-place pair at the same offset */
    for (int v = 0; v < g->n_values && r == RT_OK; v++) {
        if (l.def[v] < 0) continue;
        for (int u = 0; u < v && r == RT_OK; u++) {
            if (l.def[u] < 0) continue;
            int live_meet = l.def[u] <= l.last[v] && l.def[v] <= l.last[u];
            int mem_meet = p->offset[u] < p->offset[v] + p->bytes[v] && p->offset[v] < p->offset[u] + p->bytes[u];
            if (!live_meet || !mem_meet) continue;
            int a = l.def[u] < l.def[v] ? u : v, b2 = a == u ? v : u; /* a made first */
            const RtNode *n = &g->nodes[l.def[b2]];
            int inplace = rt_plan_inplace_op(n->op) && n->n_in > 0 && n->in[0] == a && n->out[0] == b2 &&
                          l.last[a] == l.def[b2] && p->offset[a] == p->offset[b2] && p->bytes[a] == p->bytes[b2];
            if (!inplace)
                r = rt_error_set(err, "plan overlaps values '%s' and '%s', which are live at the same time",
                                 g->value_names && g->value_names[u] ? g->value_names[u] : "?",
                                 g->value_names && g->value_names[v] ? g->value_names[v] : "?");
        }
    }
    live_free(&l);
    return r;
}

int rt_plan_matches(const RtGraph *g, const RtPlan *p, const RtTensor *inputs) {
    if (!p || p->n_values != g->n_values) return 0;
    for (int i = 0; i < g->n_inputs; i++) {
        const RtTensor *want = &p->value[g->inputs[i]];
        if (inputs[i].dtype != want->dtype || !rt_shape_equal(&inputs[i], want)) return 0;
    }
    return 1;
}
