/*
 * rt_plan_exec.c — running a graph on a memory plan (rt_plan_run, see rt_plan.h).
 *
 * Before node k runs, each of its planned outputs gets its arena address as data, and the
 * kernel context lists those outputs (planned_out) so rt_out_alloc_data keeps the address
 * instead of allocating. Nothing is freed after a node: the plan already reuses bytes of dead
 * values. Two cases are repaired rather than trusted:
 *  - a kernel that hands back an output it allocated itself (If moves its branch's result):
 *    the bytes are copied into the planned place and the kernel's buffer freed;
 *  - a kernel that frees its output on failure: the allocator the kernels see ignores frees
 *    of arena addresses (they were never allocated).
 * Kernel scratch and subgraph runs use the caller's allocator (o->alloc).
 */
#include <stdlib.h>
#include <string.h>

#include "rt_plan.h"

typedef struct {
    const RtAllocator *base;
    const char *lo, *hi; /* the arena */
} ArenaGuard;

static void *guard_alloc(void *user, size_t bytes) {
    const ArenaGuard *g = user;
    return g->base->alloc(g->base->user, bytes);
}

static void guard_free(void *user, void *ptr) {
    const ArenaGuard *g = user;
    const char *p = ptr;
    if (p >= g->lo && p < g->hi) return; /* an arena address: not the allocator's to free */
    g->base->free(g->base->user, ptr);
}

static const char *value_name(const RtGraph *g, int v) {
    return (g->value_names && g->value_names[v]) ? g->value_names[v] : "?";
}

/* Runs node k with its planned outputs in place. */
static int plan_node(const RtGraph *g, const RtPlan *p, char *arena, RtTensor *slot,
                     RtKernelCtx *c, const RtRunOptions *o, int k) {
    const RtNode *n = &g->nodes[k];
    RtTensor *in[64], *out[64], unused[64], *planned[64];
    int64_t cap[64];
    int np = 0;
    if (n->n_in > 64 || n->n_out > 64) return rt_error_set(c->err, "node '%s' has too many inputs", n->name);
    for (int j = 0; j < n->n_in; j++) {
        int v = n->in[j];
        in[j] = v >= 0 ? &slot[v] : NULL;
        if (v >= 0 && !slot[v].data)
            return rt_error_set(c->err, "node '%s' (%s): input '%s' has no value", n->name,
                                rt_op_name(n->op), value_name(g, v));
    }
    for (int j = 0; j < n->n_out; j++) {
        int v = n->out[j];
        memset(&unused[j], 0, sizeof unused[j]);
        out[j] = v >= 0 ? &slot[v] : &unused[j];
        if (v >= 0 && p->offset[v] >= 0) {
            slot[v] = p->value[v];
            slot[v].data = arena + p->offset[v];
            planned[np] = &slot[v];
            cap[np++] = p->bytes[v];
        } else if (v >= 0) {
            memset(&slot[v], 0, sizeof slot[v]);
        }
    }
    c->planned_out = planned;
    c->planned_bytes = cap;
    c->n_planned = np;
    if (o && o->node_state) {
        c->node_state = &o->node_state[k];
        c->state_alloc = o->alloc ? o->alloc : rt_allocator_default();
        c->const_inputs = rt_node_const_inputs(g, n);
    }
    int r = rt_node_exec(c, n, in, out);
    c->n_planned = 0;
    c->node_state = NULL;
    for (int j = 0; j < n->n_out; j++)
        if (n->out[j] < 0) rt_tensor_free(c->alloc, &unused[j]);
    if (r != RT_OK) {
        if (r > 0) r = rt_error_set(c->err, "node '%s' (%s): produced no data", n->name, rt_op_name(n->op));
        return r;
    }
    for (int j = 0; j < n->n_out; j++) {
        int v = n->out[j];
        if (v < 0) continue;
        if (p->offset[v] < 0)
            return rt_error_set(c->err, "node '%s' (%s): output '%s' has no place in the plan", n->name,
                                rt_op_name(n->op), value_name(g, v));
        char *want = arena + p->offset[v];
        if (slot[v].data != want) { /* the kernel allocated this output itself */
            int64_t b = rt_nbytes(&slot[v]);
            if (b < 0 || b > p->bytes[v]) {
                rt_tensor_free(c->alloc, &slot[v]);
                return rt_error_set(c->err, "node '%s' (%s): output '%s' is larger than planned", n->name,
                                    rt_op_name(n->op), value_name(g, v));
            }
            if (b > 0) memcpy(want, slot[v].data, (size_t)b);
            rt_tensor_free(c->alloc, &slot[v]);
            slot[v].data = want;
        }
        if (o && o->on_value) o->on_value(o->hook_user, v, &slot[v]);
    }
    return RT_OK;
}

int rt_plan_run(const RtGraph *g, const RtPlan *p, void *arena, const RtTensor *inputs,
                RtTensor *outputs, const RtRunOptions *o, RtError *err) {
    if (!rt_plan_matches(g, p, inputs))
        return rt_error_set(err, "inputs do not have the shapes the plan was made for");
    const RtAllocator *base = (o && o->alloc) ? o->alloc : rt_allocator_default();
    ArenaGuard guard = {base, arena, (const char *)arena + p->arena_bytes};
    RtAllocator a = {guard_alloc, guard_free, &guard};
    size_t nv = (size_t)(g->n_values > 0 ? g->n_values : 1);
    RtTensor *slot = base->alloc(base->user, nv * sizeof *slot);
    if (!slot) return rt_error_set(err, "out of memory");
    memset(slot, 0, nv * sizeof *slot);
    for (int v = 0; v < g->n_values; v++)
        if (g->consts && g->consts[v]) slot[v] = *g->consts[v];
    for (int i = 0; i < g->n_inputs; i++) slot[g->inputs[i]] = inputs[i];
    RtKernelCtx c = {.alloc = &a, .err = err, .run_subgraph = rt_exec_run_subgraph,
                     .pool = o ? o->pool : NULL, .ref_only = o ? o->ref_only : 0};
    int r = RT_OK;
    for (int k = 0; r == RT_OK && k < g->n_nodes; k++) r = plan_node(g, p, arena, slot, &c, o, k);
    for (int i = 0; r == RT_OK && i < g->n_outputs; i++) {
        int v = g->outputs[i];
        if (!slot[v].data)
            r = rt_error_set(err, "graph output '%s' was not produced", value_name(g, v));
        else
            outputs[i] = slot[v];
    }
    base->free(base->user, slot);
    return r;
}
