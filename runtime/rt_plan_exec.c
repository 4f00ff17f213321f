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
 * Kernel scratch and subgraph runs use the caller's allocator (o->alloc), through a small
 * cache: a block a kernel frees is kept (GUARD_KEEP at most) and handed to the next request
 * it is big enough for, and the kept blocks go back to the allocator when the run ends. Most
 * nodes of a small model take one scratch block (im2col columns, a depthwise grid) and give
 * it back: one allocation per run instead of one per node (each cost an aligned malloc and
 * a free, and large requests made glibc consolidate its free lists: ~2% of KWS's run). The
 * cache has a lock (a spin on an atomic flag, free in practice: kernels allocate from the
 * calling thread), so a kernel allocating from its pool's workers stays correct.
 *
 * Stored weights: a DequantizeLinear whose inputs are all graph constants (weight codes kept
 * quantized in the file, IrGraph.keep_dequantize) gives the same floats on every run. With
 * per-node state (a model's runs), its output is copied into the node's state block after the
 * first run and later runs read it there without calling the kernel; its readers see it as a
 * constant (const_inputs), so a conv or GEMM also keeps its packed weights. The price is the
 * float weights' bytes for the model's life, as onnxruntime pays for its constant folding.
 * A Reshape of such a cached value (conv codes stored 2-D) is served as a view of it.
 *
 * Run-time decisions (RtRunOptions.fast, rt_plan_fast.h): a node inside a fused chain is
 * skipped, the chain's head runs the whole chain (rt_fuse_run, its time counted on the head);
 * a node's channels-last inputs and outputs are flagged in its context (nhwc_in / nhwc_out).
 */
#include <stdlib.h>
#include <string.h>

#include "rt_plan_fast.h"

enum {
    GUARD_LIVE = 32, /* allocations tracked (their sizes), beyond that passed straight through */
    GUARD_KEEP = 4,  /* freed blocks kept for reuse */
};

typedef struct {
    void *p;
    size_t bytes;
} GuardBlock;

typedef struct {
    const RtAllocator *base;
    const char *lo, *hi; /* the arena */
    GuardBlock live[GUARD_LIVE], keep[GUARD_KEEP];
    int n_live, n_keep;
    int lock;            /* atomic flag */
} ArenaGuard;

#if defined(__GNUC__)
static void guard_lock(ArenaGuard *g) {
    while (__atomic_test_and_set(&g->lock, __ATOMIC_ACQUIRE)) {
    }
}
static void guard_unlock(ArenaGuard *g) { __atomic_clear(&g->lock, __ATOMIC_RELEASE); }
#define GUARD_CACHE 1
#else /* no atomics: no cache (every request goes to the allocator) */
#define GUARD_CACHE 0
static void guard_lock(ArenaGuard *g) { (void)g; }
static void guard_unlock(ArenaGuard *g) { (void)g; }
#endif

static void *guard_alloc(void *user, size_t bytes) {
    ArenaGuard *g = user;
    if (!GUARD_CACHE) return g->base->alloc(g->base->user, bytes);
    guard_lock(g);
    int best = -1; /* the smallest kept block that fits */
    for (int i = 0; i < g->n_keep; i++)
        if (g->keep[i].bytes >= bytes && (best < 0 || g->keep[i].bytes < g->keep[best].bytes)) best = i;
    GuardBlock b = {NULL, bytes};
    if (best >= 0) {
        b = g->keep[best];
        g->keep[best] = g->keep[--g->n_keep];
    }
    guard_unlock(g);
    if (!b.p) b.p = g->base->alloc(g->base->user, bytes);
    if (!b.p) return NULL;
    guard_lock(g);
    if (g->n_live < GUARD_LIVE) g->live[g->n_live++] = b;
    guard_unlock(g);
    return b.p;
}

static void guard_free(void *user, void *ptr) {
    ArenaGuard *g = user;
    const char *p = ptr;
    if (!ptr || (p >= g->lo && p < g->hi)) return; /* an arena address: not the allocator's to free */
    GuardBlock drop = {ptr, 0};
    guard_lock(g);
    for (int i = 0; i < g->n_live; i++)
        if (g->live[i].p == ptr) {
            GuardBlock b = g->live[i];
            g->live[i] = g->live[--g->n_live];
            drop.p = NULL;
            if (g->n_keep < GUARD_KEEP) {
                g->keep[g->n_keep++] = b;
            } else { /* full: keep the larger ones */
                int small = 0;
                for (int k = 1; k < GUARD_KEEP; k++)
                    if (g->keep[k].bytes < g->keep[small].bytes) small = k;
                if (g->keep[small].bytes < b.bytes) {
                    drop = g->keep[small];
                    g->keep[small] = b;
                } else {
                    drop = b;
                }
            }
            break;
        }
    guard_unlock(g);
    if (drop.p) g->base->free(g->base->user, drop.p);
}

/* Returns the kept blocks to the allocator (the end of a run). */
static void guard_release(ArenaGuard *g) {
    for (int i = 0; i < g->n_keep; i++) g->base->free(g->base->user, g->keep[i].p);
    g->n_keep = 0;
}

/* The state block of a cached DequantizeLinear output: this header, then the data at
 * DQ_CACHE_DATA (64-byte aligned when the block is). */
#define DQ_CACHE_MAGIC 0x51444357u /* "WCDQ" */
#define DQ_CACHE_DATA 64
typedef struct {
    uint32_t magic;
    int64_t bytes;
} DqCache;

/* 1 when node n's output can be cached in its state: a DequantizeLinear of constants. */
static int dq_cacheable(const RtGraph *g, const RtNode *n, const RtRunOptions *o) {
    if (!o || !o->node_state || n->op != RT_OP_DEQUANTIZE_LINEAR || n->n_out != 1 || n->out[0] < 0) return 0;
    for (int j = 0; j < n->n_in; j++)
        if (n->in[j] >= 0 && !(g->consts && g->consts[n->in[j]])) return 0;
    return 1;
}

/* Serves node k's output from its cache when there is one (1), else 0. */
static int dq_cache_serve(const RtPlan *p, RtTensor *slot, const RtNode *n, void *state) {
    const DqCache *dc = state;
    int v = n->out[0];
    if (!dc || dc->magic != DQ_CACHE_MAGIC || dc->bytes != p->bytes[v]) return 0;
    slot[v] = p->value[v];
    slot[v].data = (char *)state + DQ_CACHE_DATA;
    return rt_nbytes(&slot[v]) <= dc->bytes;
}

/* After node k's first run: its output copied into a new state block, the slot pointing there
 * (so this run's readers see what later runs will). No block (out of memory): nothing cached. */
static void dq_cache_store(const RtPlan *p, RtTensor *slot, const RtNode *n, void **state, const RtAllocator *a) {
    int v = n->out[0];
    int64_t b = rt_nbytes(&slot[v]);
    if (*state || b < 0 || b > p->bytes[v]) return;
    char *blk = a->alloc(a->user, (size_t)(DQ_CACHE_DATA + p->bytes[v]));
    if (!blk) return;
    DqCache *dc = (DqCache *)blk;
    dc->magic = DQ_CACHE_MAGIC;
    dc->bytes = p->bytes[v];
    if (b > 0) memcpy(blk + DQ_CACHE_DATA, slot[v].data, (size_t)b);
    slot[v].data = blk + DQ_CACHE_DATA;
    *state = blk;
}

static const char *value_name(const RtGraph *g, int v) {
    return (g->value_names && g->value_names[v]) ? g->value_names[v] : "?";
}

/* A Reshape of a cached stored weight (the codes of a conv weight kept 2-D [M, C*kh*kw] so that
 * its quantization groups can run across the kernel taps, then reshaped to [M, C, kh, kw]) is a
 * view of the cache: the same bytes with the planned shape, no copy, and a constant to its
 * readers too (a conv keeps its packed weights). 1 when node n was served so. */
static int reshape_view(const RtGraph *g, const RtPlan *p, RtTensor *slot, char *stable, const RtNode *n) {
    if (n->op != RT_OP_RESHAPE || n->n_in < 1 || n->in[0] < 0 || !stable[n->in[0]] || n->n_out != 1 || n->out[0] < 0)
        return 0;
    if (n->n_in > 1 && n->in[1] >= 0 && !(g->consts && g->consts[n->in[1]])) return 0;
    const RtTensor *x = &slot[n->in[0]];
    RtTensor y = p->value[n->out[0]];
    if (y.dtype != x->dtype || y.rank < 0 || rt_numel(&y) != rt_numel(x)) return 0;
    y.data = x->data;
    slot[n->out[0]] = y;
    stable[n->out[0]] = 1;
    return 1;
}

/* Points c's nhwc_in / nhwc_out at node n's flags from f (in lay_in / lay_out), or NULL
 * where none of its inputs / outputs is channels-last. */
static void layout_flags(const RtPlanFast *f, const RtNode *n, RtKernelCtx *c, unsigned char *lay_in,
                         unsigned char *lay_out) {
    c->nhwc_in = c->nhwc_out = NULL;
    if (!f || !f->nhwc) return;
    int any_in = 0, any_out = 0;
    for (int j = 0; j < n->n_in; j++) {
        lay_in[j] = n->in[j] >= 0 && f->nhwc[n->in[j]];
        any_in |= lay_in[j];
    }
    for (int j = 0; j < n->n_out; j++) {
        lay_out[j] = n->out[j] >= 0 && f->nhwc[n->out[j]];
        any_out |= lay_out[j];
    }
    if (any_in) c->nhwc_in = lay_in;
    if (any_out) c->nhwc_out = lay_out;
}

/* Runs node k with its planned outputs in place. */
static int plan_node(const RtGraph *g, const RtPlan *p, char *arena, RtTensor *slot, char *stable,
                     RtKernelCtx *c, const RtRunOptions *o, const RtPlanFast *f, int k) {
    const RtNode *n = &g->nodes[k];
    int cacheable = dq_cacheable(g, n, o);
    if (cacheable && p->offset[n->out[0]] >= 0 && dq_cache_serve(p, slot, n, o->node_state[k])) {
        stable[n->out[0]] = 1;
        if (o->on_value) o->on_value(o->hook_user, n->out[0], &slot[n->out[0]]);
        return RT_OK;
    }
    if (reshape_view(g, p, slot, stable, n)) {
        if (o && o->on_value) o->on_value(o->hook_user, n->out[0], &slot[n->out[0]]);
        return RT_OK;
    }
    RtTensor *in[RT_NODE_MAX_IN], *out[RT_NODE_MAX_OUT], unused[RT_NODE_MAX_OUT], *planned[RT_NODE_MAX_OUT];
    int64_t cap[RT_NODE_MAX_OUT];
    unsigned char lay_in[RT_NODE_MAX_IN], lay_out[RT_NODE_MAX_OUT];
    int np = 0;
    if (n->n_in > RT_NODE_MAX_IN || n->n_out > RT_NODE_MAX_OUT)
        return rt_error_set(c->err, "node '%s' (%s) has %d inputs and %d outputs; wafer's executor takes at most %d and %d",
                            n->name, rt_op_name(n->op), n->n_in, n->n_out, RT_NODE_MAX_IN, RT_NODE_MAX_OUT);
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
        for (int j = 0; j < n->n_in && j < 64; j++) /* cached stored weights are constants too */
            if (n->in[j] >= 0 && stable[n->in[j]]) c->const_inputs |= (uint64_t)1 << j;
    }
    layout_flags(f, n, c, lay_in, lay_out);
    int r = rt_node_exec(c, n, in, out);
    c->n_planned = 0;
    c->node_state = NULL;
    c->nhwc_in = c->nhwc_out = NULL;
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
        if (cacheable) {
            dq_cache_store(p, slot, n, &o->node_state[k], o->alloc ? o->alloc : rt_allocator_default());
            stable[v] = slot[v].data != want;
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
    ArenaGuard guard;
    memset(&guard, 0, sizeof guard);
    guard.base = base;
    guard.lo = arena;
    guard.hi = (const char *)arena + p->arena_bytes;
    RtAllocator a = {guard_alloc, guard_free, &guard};
    size_t nv = (size_t)(g->n_values > 0 ? g->n_values : 1);
    RtTensor *slot = base->alloc(base->user, nv * (sizeof *slot + 1));
    if (!slot) return rt_error_set(err, "out of memory");
    memset(slot, 0, nv * (sizeof *slot + 1));
    char *stable = (char *)(slot + nv); /* [nv] 1: the value is a cached stored weight */
    for (int v = 0; v < g->n_values; v++)
        if (g->consts && g->consts[v]) slot[v] = *g->consts[v];
    for (int i = 0; i < g->n_inputs; i++) slot[g->inputs[i]] = inputs[i];
    RtKernelCtx c = {.alloc = &a, .err = err, .run_subgraph = rt_exec_run_subgraph,
                     .pool = o ? o->pool : NULL, .ref_only = o ? o->ref_only : 0};
    const RtPlanFast *f = o && o->fast && !o->ref_only && !o->on_value ? o->fast : NULL;
    if (f && (f->n_values != g->n_values || f->n_nodes != g->n_nodes)) f = NULL; /* made for another graph */
    int r = RT_OK;
    for (int k = 0; r == RT_OK && k < g->n_nodes; k++) {
        int head = f ? f->fuse_head[k] : -1;
        if (head >= 0 && head != k) continue; /* ran with its chain's head */
        int64_t t0 = o && o->node_ns ? rt_clock_ns() : 0;
        if (head == k)
            r = rt_fuse_run(f, k, g, p, arena, slot, &c);
        else
            r = plan_node(g, p, arena, slot, stable, &c, o, f, k);
        if (o && o->node_ns) o->node_ns[k] += rt_clock_ns() - t0;
    }
    for (int i = 0; r == RT_OK && i < g->n_outputs; i++) {
        int v = g->outputs[i];
        if (!slot[v].data)
            r = rt_error_set(err, "graph output '%s' was not produced", value_name(g, v));
        else
            outputs[i] = slot[v];
    }
    base->free(base->user, slot);
    guard_release(&guard);
    return r;
}
