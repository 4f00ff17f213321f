/*
 * rt_exec.c — the reference executor (see rt_exec.h).
 *
 * Value slots live in one array. A slot is either borrowed (a constant or a caller's input)
 * or owned (produced by a node); owned slots are freed as soon as their remaining-use count
 * drops to zero, so peak memory follows the graph's live set, not its size.
 */
#include "rt_exec.h"

#include "rt_arity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rt_tensor_free(const RtAllocator *a, RtTensor *t) {
    if (t && t->data) a->free(a->user, t->data);
    if (t) t->data = NULL;
}

static void prefix_error(RtError *e, const RtNode *n) {
    if (!e) return;
    char tmp[sizeof e->msg];
    snprintf(tmp, sizeof tmp, "%s", e->msg[0] ? e->msg : "failed");
    snprintf(e->msg, sizeof e->msg, "node '%s' (%s): %s", n->name ? n->name : "",
             rt_op_name(n->op), tmp);
}

int rt_node_exec(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    /* the last guard: kernels read the inputs their spec requires without checking */
    if (rt_node_arity_check(n, n->opset, c->err) != RT_OK) return RT_ERR;
    RtKernelFn fn = c->ref_only ? rt_kernel_find(n->op) : rt_kernel_find_fast(n->op);
    if (!fn) {
        rt_fail(c, "op %s is not supported", rt_op_name(n->op));
        prefix_error(c->err, n);
        return RT_ERR_UNSUPPORTED;
    }
    int r = fn(c, n, in, out);
    if (r < 0) prefix_error(c->err, n);
    return r;
}

uint64_t rt_node_const_inputs(const RtGraph *g, const RtNode *n) {
    uint64_t m = 0;
    for (int j = 0; j < n->n_in && j < 64; j++)
        if (n->in[j] >= 0 && g->consts && g->consts[n->in[j]]) m |= (uint64_t)1 << j;
    return m;
}

/* One state block and, for a nest (kernel.h RtStateNest), the blocks inside it. */
static void state_block_free(void *block, const RtAllocator *a) {
    const RtStateNest *nest = block;
    if (nest->magic == RT_STATE_NEST_MAGIC && nest->inner) state_block_free(nest->inner, a);
    if (nest->magic == RT_STATE_NEST_MAGIC && nest->extra) a->free(a->user, nest->extra);
    a->free(a->user, block);
}

void rt_node_state_free(void **node_state, int n, const RtAllocator *a) {
    if (!node_state) return;
    for (int k = 0; k < n; k++)
        if (node_state[k]) {
            state_block_free(node_state[k], a);
            node_state[k] = NULL;
        }
}

int rt_exec_run_subgraph(RtKernelCtx *c, const RtGraph *g, RtTensor *const *inputs, int n_in,
                         RtTensor *outputs, int n_out) {
    if (n_in != g->n_inputs || n_out != g->n_outputs)
        return rt_fail(c, "subgraph expects %d inputs and %d outputs, got %d and %d", g->n_inputs,
                       g->n_outputs, n_in, n_out);
    RtTensor *copy = n_in ? malloc(sizeof(RtTensor) * (size_t)n_in) : NULL;
    if (n_in && !copy) return rt_fail(c, "out of memory");
    for (int i = 0; i < n_in; i++) copy[i] = *inputs[i];
    RtRunOptions o = {.alloc = c->alloc, .pool = c->pool, .ref_only = c->ref_only};
    int r = rt_graph_run_opts(g, copy, outputs, &o, c->err);
    free(copy);
    return r;
}

typedef struct {
    const RtGraph *g;
    const RtAllocator *a;
    const RtRunOptions *opts; /* borrowed: hooks */
    RtTensor *slot;   /* [n_values] */
    char *owned;      /* [n_values] 1 when slot data came from a */
    int *uses;        /* [n_values] remaining consumers (graph outputs count as one forever) */
} ExecState;

static void state_free(ExecState *s) {
    if (s->slot && s->owned)
        for (int i = 0; i < s->g->n_values; i++)
            if (s->owned[i]) rt_tensor_free(s->a, &s->slot[i]);
    free(s->slot);
    free(s->owned);
    free(s->uses);
}

static int state_init(ExecState *s, const RtGraph *g, const RtTensor *inputs, RtError *err) {
    size_t nv = (size_t)(g->n_values > 0 ? g->n_values : 1);
    s->slot = calloc(nv, sizeof *s->slot);
    s->owned = calloc(nv, 1);
    s->uses = calloc(nv, sizeof *s->uses);
    if (!s->slot || !s->owned || !s->uses) return rt_error_set(err, "out of memory");
    for (int i = 0; i < g->n_values; i++)
        if (g->consts && g->consts[i]) s->slot[i] = *g->consts[i];
    for (int i = 0; i < g->n_inputs; i++) s->slot[g->inputs[i]] = inputs[i];
    for (int k = 0; k < g->n_nodes; k++)
        for (int j = 0; j < g->nodes[k].n_in; j++)
            if (g->nodes[k].in[j] >= 0) s->uses[g->nodes[k].in[j]]++;
    for (int i = 0; i < g->n_outputs; i++) s->uses[g->outputs[i]] += 1 << 24;
    return RT_OK;
}

static const char *value_name(const RtGraph *g, int v) {
    return (g->value_names && g->value_names[v]) ? g->value_names[v] : "?";
}

/* Runs node k: gathers its inputs and outputs, calls the kernel, releases dead values. */
static int exec_node(ExecState *s, RtKernelCtx *c, int k) {
    const RtNode *n = &s->g->nodes[k];
    RtTensor *in[RT_NODE_MAX_IN], *out[RT_NODE_MAX_OUT], unused[RT_NODE_MAX_OUT];
    if (n->n_in > RT_NODE_MAX_IN || n->n_out > RT_NODE_MAX_OUT)
        return rt_error_set(c->err, "node '%s' (%s) has %d inputs and %d outputs; wafer's executor takes at most %d and %d",
                            n->name, rt_op_name(n->op), n->n_in, n->n_out, RT_NODE_MAX_IN, RT_NODE_MAX_OUT);
    for (int j = 0; j < n->n_in; j++) {
        int v = n->in[j];
        in[j] = v >= 0 ? &s->slot[v] : NULL;
        if (v >= 0 && !s->slot[v].data) {
            rt_fail(c, "input '%s' has no value (not a graph input, constant or earlier output)",
                    value_name(s->g, v));
            prefix_error(c->err, n);
            return RT_ERR;
        }
    }
    for (int j = 0; j < n->n_out; j++) {
        memset(&unused[j], 0, sizeof unused[j]);
        out[j] = n->out[j] >= 0 ? &s->slot[n->out[j]] : &unused[j];
    }
    if (s->opts && s->opts->node_state) {
        c->node_state = &s->opts->node_state[k];
        c->state_alloc = s->a;
        c->const_inputs = rt_node_const_inputs(s->g, n);
    }
    int r = rt_node_exec(c, n, in, out);
    c->node_state = NULL;
    for (int j = 0; j < n->n_out; j++) {
        if (n->out[j] >= 0) s->owned[n->out[j]] = out[j]->data != NULL;
        else rt_tensor_free(s->a, &unused[j]);
    }
    if (r != RT_OK) {
        if (r > 0) r = rt_error_set(c->err, "node '%s' (%s): produced no data", n->name, rt_op_name(n->op));
        return r;
    }
    if (s->opts && s->opts->on_value)
        for (int j = 0; j < n->n_out; j++)
            if (n->out[j] >= 0) s->opts->on_value(s->opts->hook_user, n->out[j], out[j]);
    for (int j = 0; j < n->n_in; j++) {
        int v = n->in[j];
        if (v >= 0 && --s->uses[v] == 0 && s->owned[v]) {
            rt_tensor_free(s->a, &s->slot[v]);
            s->owned[v] = 0;
        }
    }
    return RT_OK;
}

/* Moves (or copies, when borrowed or repeated) the graph outputs to the caller. */
static int take_outputs(ExecState *s, RtTensor *outputs, RtError *err) {
    const RtGraph *g = s->g;
    for (int i = 0; i < g->n_outputs; i++) {
        int v = g->outputs[i];
        RtTensor *t = &s->slot[v];
        if (!t->data) return rt_error_set(err, "graph output '%s' was not produced", value_name(g, v));
        outputs[i] = *t;
        if (s->owned[v]) {
            s->owned[v] = 0;
            continue;
        }
        int64_t bytes = rt_nbytes(t);
        outputs[i].data = s->a->alloc(s->a->user, (size_t)(bytes > 0 ? bytes : 1));
        if (!outputs[i].data) {
            for (int j = 0; j < i; j++) rt_tensor_free(s->a, &outputs[j]);
            return rt_error_set(err, "out of memory");
        }
        memcpy(outputs[i].data, t->data, (size_t)bytes);
    }
    return RT_OK;
}

int rt_graph_run(const RtGraph *g, const RtTensor *inputs, RtTensor *outputs,
                 const RtAllocator *a, RtError *err) {
    RtRunOptions o = {.alloc = a};
    return rt_graph_run_opts(g, inputs, outputs, &o, err);
}

int rt_graph_run_opts(const RtGraph *g, const RtTensor *inputs, RtTensor *outputs,
                      const RtRunOptions *o, RtError *err) {
    const RtAllocator *a = (o && o->alloc) ? o->alloc : rt_allocator_default();
    ExecState s = {g, a, o, NULL, NULL, NULL};
    RtKernelCtx c = {.alloc = a, .err = err, .run_subgraph = rt_exec_run_subgraph, .pool = o ? o->pool : NULL,
                     .ref_only = o ? o->ref_only : 0};
    int r = state_init(&s, g, inputs, err);
    for (int k = 0; r == RT_OK && k < g->n_nodes; k++) {
        int64_t t0 = o && o->node_ns ? rt_clock_ns() : 0;
        r = exec_node(&s, &c, k);
        if (o && o->node_ns) o->node_ns[k] += rt_clock_ns() - t0;
    }
    if (r == RT_OK) r = take_outputs(&s, outputs, err);
    state_free(&s);
    return r;
}
