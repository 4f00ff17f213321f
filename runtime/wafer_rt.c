/*
 * wafer_rt.c — the public API (wafer_rt.h) over the loader (rt_model.h), the memory plan and
 * its executor (rt_plan.h) and the thread pool (rt_threads.h).
 *
 * A model keeps: the loaded file, its thread pool, the plan in use (the file's, or one made
 * at the first run with shapes the file's plan does not cover) and the arena that plan needs
 * (the caller's when it is big enough, else allocated and grown as plans change). A graph
 * whose sizes depend on input values cannot be planned; it runs on the dynamic executor and
 * its outputs are kept by the model until the next run, so the API's view semantics hold.
 */
#include "wafer_rt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_model.h"
#include "rt_plan_fast.h"
#include "rt_ops.h"
#include "rt_threads.h"

#define WAFER_RT_VERSION_STRING "0.3.0"

struct WaferRtModel {
    RtModel *file;
    const RtGraph *g;
    RtAllocator alloc;           /* the caller's allocator, or the default */
    WaferRtAllocator user_alloc; /* copy of the caller's (alloc.user points here) */
    RtThreadPool *pool;          /* NULL = one thread */
    int ref_only;
    RtPlan own_plan;             /* planned at run time (n_values 0 = none) */
    void *arena;                 /* in use: caller's or own_arena */
    size_t arena_cap;
    void *user_arena;            /* caller's arena (not freed) */
    size_t user_arena_bytes;
    void *own_arena;
    RtTensor *ins;               /* [n_inputs] scratch for a run */
    RtTensor *dyn_out;           /* [n_outputs] dynamic-executor outputs kept until the next run */
    int dyn_live;
    const RtPlan *last_plan;     /* the plan of the last run (NULL = none or unplanned) */
    RtPlanFast fast;             /* run-time layouts and fusions (rt_plan_fast.h) ... */
    const RtPlan *fast_plan;     /* ... built for this plan (NULL = none built) */
    void **node_state;           /* [n_nodes] kernels' cached state (packed weights), kernel.h */
    int64_t *node_ns;            /* [n_nodes] profile totals (NULL = never profiled) */
    int profiling;               /* 1: runs add to node_ns */
    int64_t profile_runs;
};

const char *wafer_rt_version(void) { return WAFER_RT_VERSION_STRING; }

static void *user_alloc_fn(void *user, size_t bytes) {
    const WaferRtAllocator *a = user;
    return a->alloc(a->user, bytes);
}

static void user_free_fn(void *user, void *ptr) {
    const WaferRtAllocator *a = user;
    a->free(a->user, ptr);
}

static WaferRtStatus fail(WaferRtError *err, WaferRtStatus st, const char *msg) {
    if (err) snprintf(err->msg, sizeof err->msg, "%s", msg);
    return st;
}

/* RtError status -> API status, message copied. */
static WaferRtStatus from_rt(int r, const RtError *e, WaferRtError *err) {
    if (r == RT_OK) return WAFER_RT_OK;
    WaferRtStatus st = r == RT_ERR_NOMEM ? WAFER_RT_ERR_NOMEM
                       : r == RT_ERR_UNSUPPORTED ? WAFER_RT_ERR_UNSUPPORTED : WAFER_RT_ERR_INVALID;
    return fail(err, st, e->msg[0] ? e->msg : "failed");
}

static void model_free(WaferRtModel *m) {
    if (!m) return;
    RtAllocator a = m->alloc;
    if (m->dyn_live)
        for (int i = 0; i < m->g->n_outputs; i++) rt_tensor_free(&a, &m->dyn_out[i]);
    if (m->own_arena) a.free(a.user, m->own_arena);
    rt_plan_free(&m->own_plan);
    rt_plan_fast_free(&m->fast);
    if (m->node_state) {
        rt_node_state_free(m->node_state, m->g->n_nodes, &a);
        a.free(a.user, m->node_state);
    }
    if (m->ins) a.free(a.user, m->ins);
    if (m->dyn_out) a.free(a.user, m->dyn_out);
    if (m->node_ns) a.free(a.user, m->node_ns);
    rt_pool_free(m->pool);
    rt_model_close(m->file);
    free(m);
}

/* The parts of opening shared by file and memory: options, pool, per-run tables. */
static WaferRtStatus model_setup(WaferRtModel *m, const WaferRtOptions *o, WaferRtError *err) {
    m->g = rt_model_graph(m->file);
    const char *env = getenv("WAFER_RT_REF");
    m->ref_only = (o && o->reference_kernels) || (env && strcmp(env, "1") == 0);
    if (o && o->arena) {
        if (((uintptr_t)o->arena % RT_PLAN_ALIGN) != 0)
            return fail(err, WAFER_RT_ERR_INVALID, "the caller's arena must be 64-byte aligned");
        m->user_arena = o->arena;
        m->user_arena_bytes = o->arena_bytes;
    }
    size_t ni = (size_t)(m->g->n_inputs > 0 ? m->g->n_inputs : 1);
    size_t no = (size_t)(m->g->n_outputs > 0 ? m->g->n_outputs : 1);
    size_t nn = (size_t)(m->g->n_nodes > 0 ? m->g->n_nodes : 1);
    m->ins = m->alloc.alloc(m->alloc.user, ni * sizeof(RtTensor));
    m->dyn_out = m->alloc.alloc(m->alloc.user, no * sizeof(RtTensor));
    m->node_state = m->alloc.alloc(m->alloc.user, nn * sizeof(void *));
    if (!m->ins || !m->dyn_out || !m->node_state) return fail(err, WAFER_RT_ERR_NOMEM, "out of memory");
    memset(m->dyn_out, 0, no * sizeof(RtTensor));
    memset(m->node_state, 0, nn * sizeof(void *));
    if (o && o->threads > 1) return wafer_rt_set_threads(m, o->threads, err);
    return WAFER_RT_OK;
}

static WaferRtModel *model_new(const WaferRtOptions *o) {
    WaferRtModel *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    if (o && o->allocator) {
        m->user_alloc = *o->allocator;
        m->alloc = (RtAllocator){user_alloc_fn, user_free_fn, &m->user_alloc};
    } else {
        m->alloc = *rt_allocator_default();
    }
    return m;
}

/* After the loader: set the model up, or free it and report the loader's or setup's error. */
static WaferRtStatus model_finish(WaferRtModel *m, const WaferRtOptions *opts, const RtError *load_err,
                                  WaferRtModel **model, WaferRtError *err) {
    WaferRtStatus st = m->file ? model_setup(m, opts, err) : from_rt(RT_ERR, load_err, err);
    if (st != WAFER_RT_OK) {
        model_free(m);
        return st;
    }
    *model = m;
    return WAFER_RT_OK;
}

WaferRtStatus wafer_rt_open_file(const char *path, const WaferRtOptions *opts, WaferRtModel **model,
                                 WaferRtError *err) {
    if (!model || !path) return fail(err, WAFER_RT_ERR_INVALID, "wafer_rt_open_file: NULL argument");
    *model = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s: %s", path, strerror(errno));
        return fail(err, WAFER_RT_ERR_IO, msg);
    }
    fclose(f);
    WaferRtModel *m = model_new(opts);
    if (!m) return fail(err, WAFER_RT_ERR_NOMEM, "out of memory");
    RtError e = {{0}};
    m->file = rt_model_open_file(path, &m->alloc, &e);
    return model_finish(m, opts, &e, model, err);
}

WaferRtStatus wafer_rt_open_memory(const void *data, size_t size, const WaferRtOptions *opts,
                                   WaferRtModel **model, WaferRtError *err) {
    if (!model || !data) return fail(err, WAFER_RT_ERR_INVALID, "wafer_rt_open_memory: NULL argument");
    *model = NULL;
    WaferRtModel *m = model_new(opts);
    if (!m) return fail(err, WAFER_RT_ERR_NOMEM, "out of memory");
    RtError e = {{0}};
    m->file = rt_model_open_memory(data, size, "<memory>", &m->alloc, &e);
    return model_finish(m, opts, &e, model, err);
}

void wafer_rt_close(WaferRtModel *model) { model_free(model); }

int wafer_rt_num_inputs(const WaferRtModel *m) { return m ? m->g->n_inputs : 0; }
int wafer_rt_num_outputs(const WaferRtModel *m) { return m ? m->g->n_outputs : 0; }

static const char *value_info(const WaferRtModel *m, int v, WaferRtTensor *info) {
    const RtValueInfo *vi = rt_model_value(m->file, v);
    if (info) {
        memset(info, 0, sizeof *info);
        info->dtype = (int)vi->dtype;
        info->rank = vi->rank;
        for (int d = 0; d < vi->rank && d < WAFER_RT_MAX_RANK; d++) info->dims[d] = vi->dims[d];
    }
    return vi->name;
}

const char *wafer_rt_input_info(const WaferRtModel *m, int i, WaferRtTensor *info) {
    if (!m || i < 0 || i >= m->g->n_inputs) return NULL;
    return value_info(m, m->g->inputs[i], info);
}

const char *wafer_rt_output_info(const WaferRtModel *m, int i, WaferRtTensor *info) {
    if (!m || i < 0 || i >= m->g->n_outputs) return NULL;
    return value_info(m, m->g->outputs[i], info);
}

size_t wafer_rt_arena_bytes(const WaferRtModel *m) {
    if (!m) return 0;
    if (m->last_plan) return (size_t)m->last_plan->arena_bytes;
    const RtPlan *p = rt_model_plan(m->file);
    return p ? (size_t)p->arena_bytes : 0;
}

size_t wafer_rt_weight_bytes(const WaferRtModel *m) {
    return m ? (size_t)rt_model_weight_bytes(m->file) : 0;
}

const char *wafer_rt_meta(const WaferRtModel *m, const char *key) {
    return m && key ? rt_model_meta(m->file, key) : NULL;
}

WaferRtStatus wafer_rt_set_threads(WaferRtModel *m, int threads, WaferRtError *err) {
    if (!m || threads < 1) return fail(err, WAFER_RT_ERR_INVALID, "threads must be >= 1");
    if (rt_pool_threads(m->pool) == threads) return WAFER_RT_OK;
    RtThreadPool *p = threads > 1 ? rt_pool_new(threads, &m->alloc) : NULL;
    if (threads > 1 && !p) return fail(err, WAFER_RT_ERR_NOMEM, "could not start the threads");
    rt_pool_free(m->pool);
    m->pool = p;
    return WAFER_RT_OK;
}

WaferRtStatus wafer_rt_profile_enable(WaferRtModel *m, int on, WaferRtError *err) {
    if (!m) return fail(err, WAFER_RT_ERR_INVALID, "wafer_rt_profile_enable: NULL model");
    if (on && !m->node_ns) {
        m->node_ns = m->alloc.alloc(m->alloc.user, sizeof(int64_t) * (size_t)(m->g->n_nodes > 0 ? m->g->n_nodes : 1));
        if (!m->node_ns) return fail(err, WAFER_RT_ERR_NOMEM, "out of memory (profile table)");
    }
    if (on) {
        memset(m->node_ns, 0, sizeof(int64_t) * (size_t)m->g->n_nodes);
        m->profile_runs = 0;
    }
    m->profiling = on != 0;
    return WAFER_RT_OK;
}

int wafer_rt_profile(const WaferRtModel *m, WaferRtNodeTime *nodes, int max_nodes, int64_t *runs) {
    if (runs) *runs = m ? m->profile_runs : 0;
    if (!m || !m->node_ns) return 0;
    for (int k = 0; nodes && k < m->g->n_nodes && k < max_nodes; k++) {
        const RtNode *n = &m->g->nodes[k];
        nodes[k].name = n->name ? n->name : "";
        nodes[k].op = rt_op_name(n->op);
        nodes[k].total_ms = (double)m->node_ns[k] / 1e6;
    }
    return m->g->n_nodes;
}

/* Checks the caller's inputs against the model's input infos and fills m->ins. */
static WaferRtStatus inputs_take(WaferRtModel *m, const WaferRtTensor *in, int n, WaferRtError *err) {
    char msg[1024];
    if (n != m->g->n_inputs) {
        snprintf(msg, sizeof msg, "the model has %d inputs, %d given", m->g->n_inputs, n);
        return fail(err, WAFER_RT_ERR_INVALID, msg);
    }
    for (int i = 0; i < n; i++) {
        const RtValueInfo *vi = rt_model_value(m->file, m->g->inputs[i]);
        const WaferRtTensor *t = &in[i];
        int ok = t->data && t->rank >= 0 && t->rank <= WAFER_RT_MAX_RANK && t->dtype == (int)vi->dtype &&
                 (vi->rank < 0 || t->rank == vi->rank);
        for (int d = 0; ok && d < t->rank; d++)
            if (t->dims[d] < 0 || (vi->rank >= 0 && vi->dims[d] >= 0 && vi->dims[d] != t->dims[d])) ok = 0;
        if (!ok) {
            char want[160], got[160];
            RtTensor w = {.rank = vi->rank > 0 ? vi->rank : 0};
            memcpy(w.dims, vi->dims, sizeof w.dims);
            snprintf(msg, sizeof msg, "input '%s': expected %s%s, got %s%s%s", vi->name, rt_dtype_name(vi->dtype),
                     rt_shape_str(w.rank, w.dims, want, sizeof want), rt_dtype_name((RtDtype)t->dtype),
                     t->rank >= 0 && t->rank <= WAFER_RT_MAX_RANK ? rt_shape_str(t->rank, t->dims, got, sizeof got) : "[?]",
                     t->data ? "" : " with no data");
            return fail(err, WAFER_RT_ERR_INVALID, msg);
        }
        RtTensor *r = &m->ins[i];
        memset(r, 0, sizeof *r);
        r->dtype = (RtDtype)t->dtype;
        r->rank = t->rank;
        memcpy(r->dims, t->dims, sizeof(int64_t) * (size_t)t->rank);
        r->data = t->data;
    }
    return WAFER_RT_OK;
}

/* The plan for these inputs and an arena big enough for it; *plan NULL = run unplanned. */
static int plan_for(WaferRtModel *m, const RtPlan **plan, RtError *e) {
    *plan = NULL;
    const RtPlan *p = rt_model_plan(m->file);
    if (!(p && rt_plan_matches(m->g, p, m->ins))) {
        p = NULL;
        if (m->own_plan.n_values && rt_plan_matches(m->g, &m->own_plan, m->ins)) {
            p = &m->own_plan;
        } else {
            if (m->fast_plan == &m->own_plan) m->fast_plan = NULL; /* its decisions go with it */
            rt_plan_free(&m->own_plan);
            int r = rt_plan_build(m->g, m->ins, &m->own_plan, e);
            if (r == RT_SHAPE_UNKNOWN) {
                e->msg[0] = '\0';
                return RT_OK;
            }
            if (r != RT_OK) return r;
            p = &m->own_plan;
        }
    }
    size_t need = (size_t)p->arena_bytes;
    if (m->user_arena && m->user_arena_bytes >= need) {
        m->arena = m->user_arena;
    } else if (!m->own_arena || m->arena_cap < need) {
        if (m->own_arena) m->alloc.free(m->alloc.user, m->own_arena);
        m->own_arena = m->alloc.alloc(m->alloc.user, need ? need : 1);
        m->arena_cap = m->own_arena ? need : 0;
        if (!m->own_arena) return rt_error_set(e, "out of memory for a %zu-byte arena", need), RT_ERR_NOMEM;
        m->arena = m->own_arena;
    } else {
        m->arena = m->own_arena;
    }
    *plan = p;
    return RT_OK;
}

WaferRtStatus wafer_rt_run(WaferRtModel *m, const WaferRtTensor *inputs, int n_inputs,
                           WaferRtTensor *outputs, int n_outputs, WaferRtError *err) {
    if (!m || (n_inputs && !inputs) || (n_outputs && !outputs))
        return fail(err, WAFER_RT_ERR_INVALID, "wafer_rt_run: NULL argument");
    if (n_outputs != m->g->n_outputs) {
        char msg[128];
        snprintf(msg, sizeof msg, "the model has %d outputs, room for %d given", m->g->n_outputs, n_outputs);
        return fail(err, WAFER_RT_ERR_INVALID, msg);
    }
    WaferRtStatus st = inputs_take(m, inputs, n_inputs, err);
    if (st != WAFER_RT_OK) return st;
    if (m->dyn_live) {
        for (int i = 0; i < m->g->n_outputs; i++) rt_tensor_free(&m->alloc, &m->dyn_out[i]);
        m->dyn_live = 0;
    }
    RtError e = {{0}};
    const RtPlan *plan;
    m->last_plan = NULL;
    int r = plan_for(m, &plan, &e);
    if (r != RT_OK) return from_rt(r, &e, err);
    m->last_plan = plan;
    if (plan && !m->ref_only && m->fast_plan != plan) {
        rt_plan_fast_free(&m->fast);
        r = rt_plan_fast_build(m->g, plan, &m->fast, &e);
        if (r != RT_OK) return from_rt(r, &e, err);
        m->fast_plan = plan;
    }
    RtRunOptions o = {.alloc = &m->alloc, .pool = m->pool, .ref_only = m->ref_only, .node_state = m->node_state,
                      .node_ns = m->profiling ? m->node_ns : NULL, .fast = plan && m->fast_plan == plan ? &m->fast : NULL};
    if (plan) {
        r = rt_plan_run(m->g, plan, m->arena, m->ins, m->dyn_out, &o, &e);
    } else {
        r = rt_graph_run_opts(m->g, m->ins, m->dyn_out, &o, &e);
        m->dyn_live = r == RT_OK;
    }
    if (r != RT_OK) return from_rt(r, &e, err);
    if (m->profiling) m->profile_runs++;
    for (int i = 0; i < n_outputs; i++) {
        const RtTensor *t = &m->dyn_out[i];
        memset(&outputs[i], 0, sizeof outputs[i]);
        outputs[i].dtype = (int)t->dtype;
        outputs[i].rank = t->rank;
        memcpy(outputs[i].dims, t->dims, sizeof(int64_t) * (size_t)t->rank);
        outputs[i].data = t->data;
    }
    if (!m->dyn_live) memset(m->dyn_out, 0, sizeof(RtTensor) * (size_t)n_outputs); /* views only */
    return WAFER_RT_OK;
}
