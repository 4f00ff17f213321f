/*
 * gptq_driver.c — pass_quantize_gptq: the layers to quantize, their sequential steps, the
 * forward runs that feed each step's Hessians, and the per-layer quantization (gptq.h says
 * what the pass does; this file says how it schedules the work).
 *
 * Schedule. lvl(v) = the largest step among the targets value v depends on. Layer schedule: a
 * target's step is lvl(its input) + 1. Block schedule: the rank of its block. Node k runs in
 * segment first(k) = the smallest step whose layer inputs need it. Segment s runs, batch by
 * batch, as an RtGraph over the same value slots whose inputs are the "cut" (values of earlier
 * segments still to be read):
 *   run A, before step s's layers are quantized: returns step s's layer inputs and the values
 *     later steps read that do not depend on step s's layers; X^T X accumulates batch by batch;
 *   then step s's layers are quantized and their dequantized weights written into the graph;
 *   run B (block schedule only, where step s's layers feed later steps): recomputes the
 *     later-read values that depend on step s's layers, now quantized.
 * In the layer schedule every node runs once, after every target it depends on is quantized
 * (lvl(k) < first(k)), so the whole pass costs one forward pass over the calibration set (up to
 * the last layer input), the Hessians and the GPTQ of each layer; the block schedule runs the
 * nodes of each block twice. A value leaves the cut after the last step that reads it. The
 * cut holds activations for the whole calibration set (as the reference keeps its layers'
 * inputs); Hessians are per step, K x K each.
 */
#include "gptq_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../calib/hessian.h"
#include "../runtime/rt_exec.h"

#define GPTQ_NEVER 0x7fffffff

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void gptq_pass_options_default(GptqPassOptions *o) {
    memset(o, 0, sizeof *o);
    o->method = GPTQ_METHOD_GPTQ;
    gptq_spec_default(&o->spec);
    o->batch = 32;
}

void gptq_report_free(GptqReport *r) {
    if (!r) return;
    for (int i = 0; i < r->n_layers; i++) {
        free(r->layers[i].node);
        free(r->layers[i].op);
    }
    free(r->layers);
    memset(r, 0, sizeof *r);
}

/* ---- weight layouts ---- */
void gptq_target_get(const GptqTarget *t, const RtTensor *w, int gi, float *wt) {
    const float *src = w->data;
    int64_t K = t->K, N = t->N;
    if (t->kind == GPTQ_T_LINEAR) {
        memcpy(wt, src, sizeof(float) * (size_t)(K * N));
        return;
    }
    /* [N][K] rows (Gemm transB, or the Conv group's output channels) */
    const float *base = src + (int64_t)gi * N * K;
    for (int64_t n = 0; n < N; n++)
        for (int64_t k = 0; k < K; k++) wt[k * N + n] = base[n * K + k];
}

void gptq_target_put(const GptqTarget *t, RtTensor *w, int gi, const float *wt) {
    float *dst = w->data;
    int64_t K = t->K, N = t->N;
    if (t->kind == GPTQ_T_LINEAR) {
        memcpy(dst, wt, sizeof(float) * (size_t)(K * N));
        return;
    }
    float *base = dst + (int64_t)gi * N * K;
    for (int64_t n = 0; n < N; n++)
        for (int64_t k = 0; k < K; k++) base[n * K + k] = wt[k * N + n];
}

/* ---- targets ---- */
/* 1 when node k is named `name` (its node name, or the name of its first output). */
static int node_named(const IrGraph *g, int k, const char *name) {
    const RtNode *n = &g->nodes[k];
    if (n->name && strcmp(n->name, name) == 0) return 1;
    return n->n_out > 0 && n->out[0] >= 0 && strcmp(g->values[n->out[0]].name, name) == 0;
}

/* Fills t for node k when its weight is one GPTQ handles; 0 otherwise. */
static int target_describe(const IrGraph *g, int k, GptqTarget *t) {
    const RtNode *n = &g->nodes[k];
    int oa, ia;
    if (!quant_weight_axes(g, n, &oa, &ia) || n->in[0] < 0) return 0;
    const RtTensor *w = g->values[n->in[1]].konst;
    memset(t, 0, sizeof *t);
    t->node = k, t->x = n->in[0], t->w = n->in[1], t->groups = 1, t->hess = -1, t->rep = -1;
    switch (n->op) {
    case RT_OP_LINEAR:
    case RT_OP_MATMUL:
        if (w->rank != 2) return 0;
        t->kind = GPTQ_T_LINEAR, t->K = w->dims[0], t->N = w->dims[1];
        return 1;
    case RT_OP_GEMM:
        t->trans_a = rt_attr_int(n, "transA", 0) != 0;
        if (rt_attr_int(n, "transB", 0)) t->kind = GPTQ_T_LINEAR_T, t->K = w->dims[1], t->N = w->dims[0];
        else t->kind = GPTQ_T_LINEAR, t->K = w->dims[0], t->N = w->dims[1];
        return 1;
    case RT_OP_CONV:
    case RT_OP_FUSED_CONV: {
        int64_t groups = rt_attr_int(n, "group", 1);
        if (groups < 1 || groups > 1 << 20 || w->dims[0] % groups) return 0;
        t->kind = GPTQ_T_CONV, t->groups = (int)groups, t->N = w->dims[0] / groups;
        t->K = rt_numel(w) / w->dims[0];
        return 1;
    }
    default:
        return 0;
    }
}

static int targets_find(const IrGraph *g, const GptqPassOptions *o, GptqTarget **out, int *n_out, RtError *err) {
    char *skip = calloc((size_t)g->n_nodes + 1, 1), *head = malloc((size_t)g->n_nodes + 1);
    GptqTarget *t = calloc((size_t)g->n_nodes + 1, sizeof *t);
    int n = 0, rc = (skip && head && t) ? RT_OK : rt_error_set(err, "out of memory");
    for (int i = 0; rc == RT_OK && i < o->n_exclude; i++) {
        int found = 0;
        for (int k = 0; k < g->n_nodes; k++)
            if (node_named(g, k, o->exclude[i])) skip[k] = 1, found = 1;
        if (!found)
            rc = rt_error_set(err, "--exclude: no node named '%s' in the graph after fusion (see wafer inspect "
                                   "--passes --ir)", o->exclude[i]);
    }
    if (rc == RT_OK) rc = quant_head_mark(g, head, err);
    for (int k = 0; rc == RT_OK && k < g->n_nodes; k++)
        if (g->nodes[k].op != IR_OP_DELETED && !skip[k] && (!head[k] || o->quantize_head) &&
            target_describe(g, k, &t[n]))
            n++;
    free(skip);
    free(head);
    if (rc != RT_OK) {
        free(t);
        return rc;
    }
    *out = t;
    *n_out = n;
    return RT_OK;
}

/* A target whose weight is read elsewhere too (tied weights) gets its own copy, since its
 * quantized values are written into the weight. */
static int weights_unshare(IrGraph *g, GptqTarget *t, int n, RtError *err) {
    for (int i = 0; i < n; i++) {
        if (qz_readers(g, t[i].w, NULL) <= 1 && !ir_value_is_output(g, t[i].w)) continue;
        char base[512];
        snprintf(base, sizeof base, "%s_%s", g->values[t[i].w].name, g->nodes[t[i].node].name);
        int v = qz_const_new(g, base, g->values[t[i].w].konst, err);
        if (v < 0) return RT_ERR;
        g->nodes[t[i].node].in[1] = v;
        t[i].w = v;
    }
    return RT_OK;
}

/* ---- schedule ---- */
typedef struct {
    int n_steps;
    int *lvl;                 /* [n_values] largest step of the targets v depends on */
    int *first;               /* [n_nodes] segment a node runs in; 0 = never */
    int *hess_last;           /* [n_values] last step whose Hessians read v; 0 = none */
    int *cons_last;           /* [n_values] last segment with a node reading v; 0 = none */
} GptqPlan;

/* Frees the arrays and forgets them, so a second call (a failed build, then the run's
 * clean-up) is harmless. */
static void plan_free(GptqPlan *p) {
    free(p->lvl);
    free(p->first);
    free(p->hess_last);
    free(p->cons_last);
    p->lvl = p->first = p->hess_last = p->cons_last = NULL;
}

/* Block mode, for graphs without module scopes: block[k] for every node, a new block
 * starting wherever at most one float activation is live (a value computed from the inputs
 * and read later), e.g. the residual stream between two layers of a network. */
static int blocks_find(const IrGraph *g, int *block, RtError *err) {
    int *uses = calloc((size_t)g->n_values + 1, sizeof(int));
    if (!uses) return rt_error_set(err, "out of memory");
    for (int k = 0; k < g->n_nodes; k++)
        if (g->nodes[k].op != IR_OP_DELETED)
            for (int j = 0; j < g->nodes[k].n_in; j++)
                if (g->nodes[k].in[j] >= 0) uses[g->nodes[k].in[j]]++;
    int live = 0, id = 0;
#define GPTQ_ACT(v) (!g->values[v].konst && rt_dtype_is_float(g->values[v].dtype))
    for (int i = 0; i < g->n_inputs; i++) live += GPTQ_ACT(g->inputs[i]) && uses[g->inputs[i]] > 0;
    for (int k = 0; k < g->n_nodes; k++) {
        const RtNode *nd = &g->nodes[k];
        if (live <= 1) id++;
        block[k] = id;
        if (nd->op == IR_OP_DELETED) continue;
        for (int j = 0; j < nd->n_in; j++)
            if (nd->in[j] >= 0 && --uses[nd->in[j]] == 0 && GPTQ_ACT(nd->in[j])) live--;
        for (int j = 0; j < nd->n_out; j++)
            if (nd->out[j] >= 0 && uses[nd->out[j]] > 0 && GPTQ_ACT(nd->out[j])) live++;
    }
#undef GPTQ_ACT
    free(uses);
    return RT_OK;
}

/* Length of the module scope of a node name: "/blocks.0/q/MatMul" -> 9 ("/blocks.0"), the
 * first component of the names PyTorch's exporter writes; 0 when the name has none. */
static size_t name_scope(const char *name) {
    const char *e = name && name[0] == '/' ? strchr(name + 1, '/') : NULL;
    return e ? (size_t)(e - name) : 0;
}

/* Block mode: consecutive targets (node order) share a step while they share a module scope;
 * where either has no scope, while no block boundary (blocks_find) lies between them. */
static int steps_by_block(const IrGraph *g, GptqTarget *t, int n, RtError *err) {
    int *block = malloc(sizeof(int) * ((size_t)g->n_nodes + 1));
    if (!block) return rt_error_set(err, "out of memory");
    int rc = blocks_find(g, block, err), step = 0;
    for (int i = 0; rc == RT_OK && i < n; i++) {
        const char *a = i ? g->nodes[t[i - 1].node].name : NULL, *b = g->nodes[t[i].node].name;
        size_t la = i ? name_scope(a) : 0, lb = name_scope(b);
        int same = 0;
        if (i && la && lb) same = la == lb && strncmp(a, b, la) == 0;
        else if (i) same = block[t[i - 1].node] == block[t[i].node];
        if (!same) step++;
        t[i].step = step;
    }
    free(block);
    return rc;
}

static int plan_make(const IrGraph *g, GptqTarget *t, int n, int by_block, GptqPlan *p, RtError *err) {
    memset(p, 0, sizeof *p);
    size_t nv = (size_t)g->n_values + 1, nn = (size_t)g->n_nodes + 1;
    int *tix = malloc(sizeof(int) * nn), *need = malloc(sizeof(int) * nv);
    p->lvl = calloc(nv, sizeof(int));
    p->first = calloc(nn, sizeof(int));
    p->hess_last = calloc(nv, sizeof(int));
    p->cons_last = calloc(nv, sizeof(int));
    if (!tix || !need || !p->lvl || !p->first || !p->hess_last || !p->cons_last) {
        free(tix), free(need), plan_free(p);
        return rt_error_set(err, "out of memory");
    }
    for (size_t k = 0; k < nn; k++) tix[k] = -1;
    for (int i = 0; i < n; i++) tix[t[i].node] = i;
    if (by_block && steps_by_block(g, t, n, err) != RT_OK) {
        free(tix), free(need), plan_free(p);
        return RT_ERR;
    }
    for (int k = 0; k < g->n_nodes; k++) { /* lvl and steps, in topological order */
        const RtNode *nd = &g->nodes[k];
        if (nd->op == IR_OP_DELETED) continue;
        int m = 0;
        for (int j = 0; j < nd->n_in; j++)
            if (nd->in[j] >= 0 && p->lvl[nd->in[j]] > m) m = p->lvl[nd->in[j]];
        if (tix[k] >= 0) {
            GptqTarget *T = &t[tix[k]];
            if (g->values[T->x].konst) T->step = 0; /* constant input: no Hessian */
            else if (!by_block) T->step = p->lvl[T->x] + 1;
            if (T->step > m) m = T->step;
            if (T->step > p->n_steps) p->n_steps = T->step;
        }
        for (int j = 0; j < nd->n_out; j++)
            if (nd->out[j] >= 0) p->lvl[nd->out[j]] = m;
    }
    for (size_t v = 0; v < nv; v++) need[v] = GPTQ_NEVER;
    for (int i = 0; i < n; i++)
        if (t[i].step > 0) {
            if (t[i].step < need[t[i].x]) need[t[i].x] = t[i].step;
            if (t[i].step > p->hess_last[t[i].x]) p->hess_last[t[i].x] = t[i].step;
        }
    for (int k = g->n_nodes - 1; k >= 0; k--) { /* first(k), backwards */
        const RtNode *nd = &g->nodes[k];
        if (nd->op == IR_OP_DELETED) continue;
        int f = GPTQ_NEVER;
        for (int j = 0; j < nd->n_out; j++)
            if (nd->out[j] >= 0 && need[nd->out[j]] < f) f = need[nd->out[j]];
        if (f == GPTQ_NEVER) continue;
        p->first[k] = f;
        for (int j = 0; j < nd->n_out; j++)
            if (nd->out[j] >= 0 && p->lvl[nd->out[j]] >= f + by_block) {
                free(tix), free(need);
                return rt_error_set(err, "internal: node '%s' would run before a layer it depends on is quantized",
                                    nd->name);
            }
        for (int j = 0; j < nd->n_in; j++) {
            int v = nd->in[j];
            if (v < 0) continue;
            if (f < need[v]) need[v] = f;
            if (f > p->cons_last[v]) p->cons_last[v] = f;
        }
    }
    free(tix);
    free(need);
    return RT_OK;
}

/* ---- the pass state ---- */
typedef struct {
    IrGraph *g;
    const GptqPassOptions *o;
    GptqReport *rep;          /* may be NULL */
    GptqTarget *t;            /* [n] owned */
    int n;
    GptqPlan plan;
    IrLowered *low;           /* owned: executable view of g (weights borrowed from g) */
    int64_t nb;               /* calibration batches */
    int nv;                   /* values when the cut was made (emission adds more) */
    RtTensor **cut;           /* [nb][nv] owned data (malloc'd) where non-NULL */
    int done;                 /* layers quantized, for progress lines */
} GptqRun;

static void cut_drop(GptqRun *r, int v) {
    for (int64_t b = 0; b < r->nb; b++) {
        if (!r->cut[b]) continue;
        free(r->cut[b][v].data);
        r->cut[b][v].data = NULL;
    }
}

static void run_free(GptqRun *r) {
    if (r->cut) {
        for (int v = 0; v < r->nv; v++) cut_drop(r, v);
        for (int64_t b = 0; b < r->nb; b++) free(r->cut[b]);
    }
    free(r->cut);
    ir_lowered_free(r->low);
    plan_free(&r->plan);
    if (r->t)
        for (int i = 0; i < r->n; i++) {
            for (int gi = 0; r->t[i].res && gi < r->t[i].groups; gi++) gptq_layer_free(&r->t[i].res[gi]);
            free(r->t[i].res);
        }
    free(r->t);
}

/* Batch b of the calibration set: a copy of each graph input into the cut. */
static int cut_init(GptqRun *r, RtError *err) {
    IrGraph *g = r->g;
    int64_t rows = calib_dataset_rows(r->o->data), B = r->o->batch > 0 ? r->o->batch : 32;
    if (rows < 1) return rt_error_set(err, "the calibration set has no rows");
    r->nb = (rows + B - 1) / B;
    r->nv = g->n_values;
    r->cut = calloc((size_t)r->nb, sizeof *r->cut);
    if (!r->cut) return rt_error_set(err, "out of memory");
    RtTensor *in = calloc((size_t)g->n_inputs + 1, sizeof *in);
    if (!in) return rt_error_set(err, "out of memory");
    int rc = RT_OK;
    for (int64_t b = 0; rc == RT_OK && b < r->nb; b++) {
        r->cut[b] = calloc((size_t)g->n_values + 1, sizeof(RtTensor));
        if (!r->cut[b]) {
            rc = rt_error_set(err, "out of memory");
            break;
        }
        if (calib_dataset_batch(r->o->data, b * B, B, in, err) <= 0) {
            rc = err->msg[0] ? RT_ERR : rt_error_set(err, "calibration batch %lld is empty", (long long)b);
            break;
        }
        for (int i = 0; rc == RT_OK && i < g->n_inputs; i++) {
            int v = g->inputs[i];
            int64_t bytes = rt_nbytes(&in[i]);
            RtTensor *c = &r->cut[b][v];
            *c = in[i];
            c->data = malloc((size_t)(bytes > 0 ? bytes : 1));
            if (!c->data) rc = rt_error_set(err, "out of memory");
            else memcpy(c->data, in[i].data, (size_t)bytes);
        }
    }
    free(in);
    if (r->rep) r->rep->rows = rows;
    return rc;
}

/* Drops the cut values no later step reads. */
static void cut_prune(GptqRun *r, int s) {
    for (int v = 0; v < r->nv; v++)
        if (r->plan.hess_last[v] <= s && r->plan.cons_last[v] <= s && r->cut[0][v].data) cut_drop(r, v);
}

/* The nodes of segment s as an RtGraph over the lowered graph's slots. Arrays owned
 * (nodes, inputs, outputs). */
typedef struct {
    RtGraph g;
    RtNode *nodes;
    int *inputs, *outputs;
} GptqSegment;

/* Which values of segment s a run returns into the cut. Run A (before step s's layers are
 * quantized): step s's layer inputs and the later-read values that do not depend on step s's
 * layers. Run B (after; block mode only): the later-read values that do. */
static int segment_wants(const GptqPlan *p, int v, int s, int run_b) {
    int later = p->cons_last[v] > s, clean = p->lvl[v] < s;
    return run_b ? later && !clean : p->hess_last[v] >= s || (later && clean);
}

static int segment_make(GptqRun *r, int s, int run_b, GptqSegment *seg, RtError *err) {
    const RtGraph *L = ir_lowered_graph(r->low);
    int nv = r->g->n_values;
    memset(seg, 0, sizeof *seg);
    char *made = calloc((size_t)nv + 1, 1), *isin = calloc((size_t)nv + 1, 1), *need = calloc((size_t)nv + 1, 1);
    char *take = calloc((size_t)L->n_nodes + 1, 1);
    seg->nodes = malloc(sizeof(RtNode) * (size_t)(L->n_nodes + 1));
    seg->inputs = malloc(sizeof(int) * (size_t)(nv + 1));
    seg->outputs = malloc(sizeof(int) * (size_t)(nv + 1));
    int rc = made && isin && need && take && seg->nodes && seg->inputs && seg->outputs ? RT_OK
                                                                                   : rt_error_set(err, "out of memory");
    /* the segment's nodes that the wanted values need, found backwards */
    for (int k = L->n_nodes - 1; rc == RT_OK && k >= 0; k--) {
        const RtNode *nd = &L->nodes[k];
        if (r->plan.first[k] != s) continue;
        for (int j = 0; j < nd->n_out; j++)
            if (nd->out[j] >= 0 && (need[nd->out[j]] || segment_wants(&r->plan, nd->out[j], s, run_b))) take[k] = 1;
        for (int j = 0; take[k] && j < nd->n_in; j++)
            if (nd->in[j] >= 0) need[nd->in[j]] = 1;
    }
    int nn = 0, ni = 0, no = 0;
    for (int k = 0; rc == RT_OK && k < L->n_nodes; k++) {
        if (!take[k]) continue;
        const RtNode *nd = &L->nodes[k];
        seg->nodes[nn++] = *nd;
        for (int j = 0; rc == RT_OK && j < nd->n_in; j++) {
            int v = nd->in[j];
            if (v < 0 || made[v] || isin[v] || L->consts[v]) continue;
            if (!r->cut[0][v].data)
                rc = rt_error_set(err, "internal: value '%s' is needed by node '%s' but was not kept",
                                  r->g->values[v].name, nd->name);
            isin[v] = 1;
            seg->inputs[ni++] = v;
        }
        for (int j = 0; j < nd->n_out; j++) {
            int v = nd->out[j];
            if (v < 0) continue;
            made[v] = 1;
            if (segment_wants(&r->plan, v, s, run_b)) seg->outputs[no++] = v;
        }
    }
    free(made), free(isin), free(need), free(take);
    seg->g = *L;
    seg->g.n_nodes = nn, seg->g.nodes = seg->nodes;
    seg->g.n_inputs = ni, seg->g.inputs = seg->inputs;
    seg->g.n_outputs = no, seg->g.outputs = seg->outputs;
    return rc;
}

static void segment_free(GptqSegment *seg) {
    free(seg->nodes);
    free(seg->inputs);
    free(seg->outputs);
}

/* Runs segment s on batch b: its outputs join the cut. */
static int segment_run(GptqRun *r, const GptqSegment *seg, int64_t b, RtError *err) {
    if (!seg->g.n_nodes) return RT_OK;
    int ni = seg->g.n_inputs, no = seg->g.n_outputs;
    RtTensor *in = calloc((size_t)ni + 1, sizeof *in), *out = calloc((size_t)no + 1, sizeof *out);
    if (!in || !out) {
        free(in), free(out);
        return rt_error_set(err, "out of memory");
    }
    for (int i = 0; i < ni; i++) in[i] = r->cut[b][seg->inputs[i]];
    RtRunOptions ro = {.pool = r->o->pool};
    int rc = rt_graph_run_opts(&seg->g, in, out, &ro, err);
    for (int i = 0; rc == RT_OK && i < no; i++) { /* default allocator: malloc */
        free(r->cut[b][seg->outputs[i]].data); /* run B replaces run A's value */
        r->cut[b][seg->outputs[i]] = out[i];
    }
    free(in), free(out);
    return rc;
}

/* ---- one step ---- */
/* The Hessians of step s: targets reading the same value the same way share one. */
static int hessians_make(GptqRun *r, int s, CalibHessian **hs, int *n_hs, RtError *err) {
    CalibHessian *h = calloc((size_t)r->n + 1, sizeof *h);
    if (!h) return rt_error_set(err, "out of memory");
    int m = 0;
    for (int i = 0; i < r->n; i++) {
        GptqTarget *t = &r->t[i];
        t->hess = -1;
        if (t->step != s) continue;
        for (int j = 0; j < i && t->kind != GPTQ_T_CONV; j++) {
            const GptqTarget *u = &r->t[j];
            if (u->step == s && u->kind != GPTQ_T_CONV && u->x == t->x && u->trans_a == t->trans_a && u->K == t->K)
                t->hess = u->hess;
        }
        if (t->hess >= 0) continue;
        if (calib_hessian_init(&h[m], t->K, t->groups, err) != RT_OK) {
            for (int j = 0; j < m; j++) calib_hessian_free(&h[j]);
            free(h);
            return RT_ERR;
        }
        t->hess = m++;
    }
    *hs = h;
    *n_hs = m;
    return RT_OK;
}

/* Adds batch b's inputs of step s's targets to their Hessians (each Hessian once). */
static int hessians_add(GptqRun *r, int s, CalibHessian *hs, int64_t b, RtError *err) {
    for (int i = 0; i < r->n; i++) {
        const GptqTarget *t = &r->t[i];
        if (t->step != s) continue;
        int first = 1;
        for (int j = 0; j < i; j++) first &= !(r->t[j].step == s && r->t[j].hess == t->hess);
        if (!first) continue;
        const RtTensor *x = &r->cut[b][t->x];
        if (!x->data) return rt_error_set(err, "internal: the input of '%s' was not kept", r->g->nodes[t->node].name);
        int rc = t->kind == GPTQ_T_CONV ? calib_hessian_add_conv(&hs[t->hess], &r->g->nodes[t->node], x,
                                                                 r->g->values[t->w].konst, err)
                                        : calib_hessian_add_linear(&hs[t->hess], x, t->trans_a, err);
        if (rc != RT_OK) {
            char tmp[sizeof err->msg];
            snprintf(tmp, sizeof tmp, "%s", err->msg);
            snprintf(err->msg, sizeof err->msg, "node '%s': %s", r->g->nodes[t->node].name, tmp);
            return rc;
        }
    }
    return RT_OK;
}

static int report_line(GptqRun *r, GptqTarget *t, RtError *err) {
    GptqReport *rep = r->rep;
    if (!rep) return RT_OK;
    if (rep->n_layers == rep->cap_layers) {
        int cap = rep->cap_layers ? 2 * rep->cap_layers : 16;
        GptqLayerReport *p = realloc(rep->layers, sizeof *p * (size_t)cap);
        if (!p) return rt_error_set(err, "out of memory");
        rep->layers = p, rep->cap_layers = cap;
    }
    GptqLayerReport *l = &rep->layers[rep->n_layers];
    memset(l, 0, sizeof *l);
    const RtNode *nd = &r->g->nodes[t->node];
    l->node = malloc(strlen(nd->name) + 1);
    l->op = malloc(strlen(nd->op_type) + 1);
    if (!l->node || !l->op) {
        free(l->node), free(l->op);
        return rt_error_set(err, "out of memory");
    }
    strcpy(l->node, nd->name);
    strcpy(l->op, nd->op_type);
    l->K = t->K, l->N = t->N, l->groups = t->groups;
    l->err_gptq = l->err_rtn = NAN;
    t->rep = rep->n_layers++;
    return RT_OK;
}

/* Quantizes target t with Hessian h (NULL: RTN without data), writes the dequantized weight
 * into the graph, measures and reports. */
static int target_quantize(GptqRun *r, GptqTarget *t, const CalibHessian *h, RtError *err) {
    const GptqPassOptions *o = r->o;
    double t0 = now_s();
    RtTensor *w = r->g->values[t->w].konst;
    int64_t K = t->K, N = t->N;
    float *wt = malloc(sizeof(float) * (size_t)(K * N > 0 ? K * N : 1));
    t->res = calloc((size_t)t->groups, sizeof *t->res);
    if (!wt || !t->res) {
        free(wt);
        return rt_error_set(err, "out of memory");
    }
    if (report_line(r, t, err) != RT_OK) {
        free(wt);
        return RT_ERR;
    }
    GptqLayerReport *l = r->rep ? &r->rep->layers[t->rep] : NULL;
    double eg = 0, er = 0;
    int rc = RT_OK, gptq = o->method == GPTQ_METHOD_GPTQ && h, measure = o->measure && h;
    for (int gi = 0; rc == RT_OK && gi < t->groups; gi++) {
        const double *S = h ? h->S + (size_t)gi * (size_t)(K * K) : NULL;
        GptqLayer *res = &t->res[gi];
        gptq_target_get(t, w, gi, wt);
        rc = gptq ? gptq_quantize(wt, K, N, S, h->rows, &o->spec, res, err) : gptq_rtn(wt, K, N, &o->spec, res, err);
        if (rc != RT_OK) break;
        if (measure && gptq) {
            GptqLayer rtn;
            eg += gptq_output_error(wt, res->wq, K, N, S);
            rc = gptq_rtn(wt, K, N, &o->spec, &rtn, err);
            if (rc == RT_OK) er += gptq_output_error(wt, rtn.wq, K, N, S);
            gptq_layer_free(&rtn);
        } else if (measure) {
            er += gptq_output_error(wt, res->wq, K, N, S);
        }
        gptq_target_put(t, w, gi, res->wq);
        if (l) l->n_dead += res->n_dead;
        free(res->wq); /* the graph holds it now; emission needs codes, scales and zeros */
        res->wq = NULL;
    }
    free(wt);
    if (rc != RT_OK) {
        char tmp[sizeof err->msg];
        snprintf(tmp, sizeof tmp, "%s", err->msg);
        snprintf(err->msg, sizeof err->msg, "node '%s' (%s): %s", r->g->nodes[t->node].name,
                 r->g->nodes[t->node].op_type, tmp);
        return rc;
    }
    double dt = now_s() - t0;
    if (l) {
        l->step = h ? t->step : 0;
        l->rows = h ? h->rows : 0;
        if (measure && gptq) l->err_gptq = eg;
        if (measure) l->err_rtn = er;
        l->seconds = dt;
    }
    r->done++;
    if (o->on_progress) {
        char line[768];
        int p = snprintf(line, sizeof line, "%s: layer %d/%d", o->method == GPTQ_METHOD_GPTQ ? "gptq" : "rtn", r->done,
                         r->n);
        if (h) p += snprintf(line + p, sizeof line - (size_t)p, " (step %d/%d)", t->step, r->plan.n_steps);
        p += snprintf(line + p, sizeof line - (size_t)p, " %s %lldx%lld", r->g->nodes[t->node].name, (long long)K,
                      (long long)N);
        if (measure && gptq) p += snprintf(line + p, sizeof line - (size_t)p, " err %.4g (rtn %.4g)", eg, er);
        else if (measure) p += snprintf(line + p, sizeof line - (size_t)p, " err %.4g", er);
        snprintf(line + p, sizeof line - (size_t)p, " %.3f s", dt);
        o->on_progress(o->progress_user, line);
    }
    return RT_OK;
}

/* Step s: run A and the Hessians batch by batch, the step's layers, then run B. */
static int step_run(GptqRun *r, int s, RtError *err) {
    GptqSegment seg, segb;
    CalibHessian *hs = NULL;
    int n_hs = 0;
    memset(&segb, 0, sizeof segb);
    int rc = segment_make(r, s, 0, &seg, err);
    if (rc == RT_OK) rc = segment_make(r, s, 1, &segb, err);
    if (rc == RT_OK) rc = hessians_make(r, s, &hs, &n_hs, err);
    double tf = 0, th = 0;
    for (int64_t b = 0; rc == RT_OK && b < r->nb; b++) {
        double t0 = now_s();
        rc = segment_run(r, &seg, b, err);
        double t1 = now_s();
        if (rc == RT_OK) rc = hessians_add(r, s, hs, b, err);
        tf += t1 - t0, th += now_s() - t1;
    }
    for (int j = 0; rc == RT_OK && j < n_hs; j++) calib_hessian_finish(&hs[j]);
    double t0 = now_s();
    for (int i = 0; rc == RT_OK && i < r->n; i++)
        if (r->t[i].step == s) rc = target_quantize(r, &r->t[i], &hs[r->t[i].hess], err);
    double tq = now_s() - t0;
    for (int64_t b = 0; rc == RT_OK && b < r->nb; b++) rc = segment_run(r, &segb, b, err);
    if (r->rep) {
        r->rep->seconds_forward += tf + (now_s() - t0 - tq);
        r->rep->seconds_hessian += th;
        r->rep->seconds_quantize += tq;
    }
    segment_free(&seg);
    segment_free(&segb);
    for (int j = 0; j < n_hs; j++) calib_hessian_free(&hs[j]);
    free(hs);
    if (rc == RT_OK) cut_prune(r, s);
    return rc;
}

static int options_check(const GptqPassOptions *o, RtError *err) {
    RT_TRY(gptq_spec_check(&o->spec, err));
    if (o->method == GPTQ_METHOD_GPTQ && !o->data) return rt_error_set(err, "GPTQ needs a calibration set (--calib)");
    if (o->measure && !o->data) return rt_error_set(err, "measuring layer errors needs a calibration set (--calib)");
    if (o->emit == GPTQ_EMIT_NBITS && o->spec.bits != 2 && o->spec.bits != 3 && o->spec.bits != 4 && o->spec.bits != 8)
        return rt_error_set(err, "LinearNBits stores 2, 3, 4 or 8-bit weights, not %d", o->spec.bits);
    return RT_OK;
}

static int pass_run(IrGraph *g, const GptqPassOptions *o, GptqReport *rep, RtError *err) {
    GptqRun r;
    memset(&r, 0, sizeof r);
    r.g = g, r.o = o, r.rep = rep;
    int rc = targets_find(g, o, &r.t, &r.n, err);
    if (rc == RT_OK) rc = weights_unshare(g, r.t, r.n, err);
    if (rc == RT_OK) rc = plan_make(g, r.t, r.n, o->sequential == GPTQ_SEQ_BLOCK, &r.plan, err);
    int sequential = o->data && (o->method == GPTQ_METHOD_GPTQ || o->measure);
    if (rc == RT_OK && rep) rep->steps = sequential ? r.plan.n_steps : 0;
    /* layers with nothing to calibrate (constant inputs, or RTN without measuring) first */
    for (int i = 0; rc == RT_OK && i < r.n; i++)
        if (!sequential || r.t[i].step == 0) rc = target_quantize(&r, &r.t[i], NULL, err);
    if (rc == RT_OK && sequential) {
        rc = calib_dataset_bind(o->data, g, err);
        if (rc == RT_OK) r.low = ir_lower(g, err);
        if (rc == RT_OK && !r.low) rc = RT_ERR;
        if (rc == RT_OK) rc = cut_init(&r, err);
        for (int s = 1; rc == RT_OK && s <= r.plan.n_steps; s++) rc = step_run(&r, s, err);
    }
    ir_lowered_free(r.low);
    r.low = NULL;
    if (rc == RT_OK) rc = gptq_emit(g, r.t, r.n, &o->spec, o->emit, err);
    run_free(&r);
    return rc;
}

int pass_quantize_gptq(IrGraph *g, const GptqPassOptions *o, GptqReport *rep, RtError *err) {
    double t0 = now_s();
    if (rep) {
        memset(rep, 0, sizeof *rep);
        rep->method = o->method;
        rep->spec = o->spec;
    }
    int rc = options_check(o, err);
    if (rc == RT_OK) rc = pass_run(g, o, rep, err);
    g->keep_dequantize = 1; /* weight codes behind DequantizeLinear stay codes */
    if (rc == RT_OK) rc = ir_graph_compact(g, err);
    if (rc == RT_OK) rc = pass_dead_nodes(g, err);
    if (rc == RT_OK) rc = ir_infer_shapes(g, err);
    if (rc == RT_OK) rc = ir_verify(g, err);
    if (rc != RT_OK) {
        char tmp[sizeof err->msg];
        snprintf(tmp, sizeof tmp, "%s", err->msg);
        snprintf(err->msg, sizeof err->msg, "%s: %s", o->method == GPTQ_METHOD_GPTQ ? "gptq" : "rtn", tmp);
    }
    if (rep) rep->seconds_total = now_s() - t0;
    return rc;
}
