/*
 * rt_fuse.c — which chains of nodes a planned run hands to one kernel (rt_plan_fast.h).
 *
 * Chains: attention, MatMul(Q, K^T) -> scale -> mask -> Softmax -> MatMul(P, V) with the
 * Reshape / Transpose steps around it (rt_fuse_attention.c, run by x86/attention_x86.c), and
 * a residual Add -> LayerNormalization (rt_fuse_add_ln.c, run by x86/math_x86.c), on CPUs
 * with AVX-512. The chain runs at its last node; the others are skipped.
 *
 * Running a chain at its last node reads its inputs later than the plan expected: the plan
 * (built for the unfused graph) may already have placed another value over an input whose
 * last reader was an early node of the chain (tinylm: q's projection is dead once its
 * Transpose ran, and k's projection is placed over it). So a chain is taken only when every
 * input it reads survives in its planned place until the chain runs (fuse_value_survives:
 * no node outside the chain writes over it in between); the matchers leave a step out of a
 * chain (it then runs as before) when that makes an input survive.
 */
#include <stdlib.h>
#include <string.h>

#include "kernels/x86/math_x86.h"
#include "rt_fuse_chain.h"

typedef struct {
    int n;
    FuseAttn *attn;          /* [n] owned */
    int *at_head;            /* [n_nodes] index into attn of the chain headed there, or -1 */
    int n_al;
    FuseAddLn *al;           /* [n_al] owned */
    int *al_head;            /* [n_nodes] index into al of the chain headed there, or -1 */
} FuseData;

int fuse_value_inner(const FuseGraph *fg, int v) {
    return v >= 0 && fg->producer[v] >= 0 && fg->readers[v] == 1 && !fg->is_out[v] && fg->p->offset[v] >= 0;
}

int fuse_value_survives(const FuseGraph *fg, int x, int head) {
    const RtPlan *p = fg->p;
    if (x < 0 || p->offset[x] < 0) return 1;
    const int64_t x0 = p->offset[x], x1 = x0 + p->bytes[x];
    for (int k = fg->producer[x] + 1; k < head; k++) {
        if (fg->member[k]) continue;
        const RtNode *n = &fg->g->nodes[k];
        for (int j = 0; j < n->n_out; j++) {
            int w = n->out[j];
            if (w < 0 || p->offset[w] < 0) continue;
            if (p->offset[w] < x1 && x0 < p->offset[w] + p->bytes[w]) return 0;
        }
    }
    return 1;
}

static void fuse_data_free(FuseData *fd) {
    if (!fd) return;
    for (int i = 0; i < fd->n; i++) free(fd->attn[i].rows);
    free(fd->attn);
    free(fd->at_head);
    free(fd->al);
    free(fd->al_head);
    free(fd);
}

/* The value facts of g (fg's arrays allocated). RT_OK or RT_ERR_NOMEM. */
static int fuse_graph_init(FuseGraph *fg, const RtGraph *g, const RtPlan *p) {
    size_t nv = (size_t)(g->n_values > 0 ? g->n_values : 1), nn = (size_t)(g->n_nodes > 0 ? g->n_nodes : 1);
    memset(fg, 0, sizeof *fg);
    fg->g = g;
    fg->p = p;
    fg->readers = calloc(nv, sizeof(int));
    fg->reader = malloc(nv * sizeof(int));
    fg->producer = malloc(nv * sizeof(int));
    fg->is_out = calloc(nv, 1);
    fg->member = calloc(nn, 1);
    if (!fg->readers || !fg->reader || !fg->producer || !fg->is_out || !fg->member) return RT_ERR_NOMEM;
    for (int v = 0; v < g->n_values; v++) fg->reader[v] = fg->producer[v] = -1;
    for (int k = 0; k < g->n_nodes; k++) {
        const RtNode *n = &g->nodes[k];
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] >= 0 && n->in[j] < g->n_values) fg->readers[n->in[j]]++, fg->reader[n->in[j]] = k;
        for (int j = 0; j < n->n_out; j++)
            if (n->out[j] >= 0 && n->out[j] < g->n_values) fg->producer[n->out[j]] = k;
    }
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] >= 0 && g->outputs[i] < g->n_values) fg->is_out[g->outputs[i]] = 1;
    return RT_OK;
}

static void fuse_graph_free(FuseGraph *fg) {
    free(fg->readers);
    free(fg->reader);
    free(fg->producer);
    free(fg->is_out);
    free(fg->member);
}

/* The attention chains (around each Softmax). RT_OK or RT_ERR_NOMEM. */
static int fuse_choose_attention(FuseGraph *fg, FuseData *fd, RtPlanFast *f, RtError *err) {
    const RtGraph *g = fg->g;
    for (int s = 0; s < g->n_nodes; s++) {
        if (g->nodes[s].op != RT_OP_SOFTMAX) continue;
        FuseAttn fa;
        int m = fuse_attention_match(fg, s, &fa, err);
        if (m < 0) return m;
        if (m != 1) continue;
        int taken = 0; /* a node of an earlier chain (its view steps end where this one's begin) */
        for (int k = 0; k < g->n_nodes; k++) taken |= fg->member[k] && f->fuse_head[k] >= 0;
        if (taken) {
            free(fa.rows);
            continue;
        }
        FuseAttn *grown = realloc(fd->attn, sizeof *grown * (size_t)(fd->n + 1));
        if (!grown) {
            free(fa.rows);
            return rt_error_set(err, "out of memory"), RT_ERR_NOMEM;
        }
        fd->attn = grown;
        fd->attn[fd->n] = fa;
        fd->at_head[fa.head] = fd->n++;
        for (int k = 0; k < g->n_nodes; k++)
            if (fg->member[k]) f->fuse_head[k] = fa.head;
    }
    return RT_OK;
}

/* The Add -> LayerNormalization chains (after attention: they never share a node with one,
 * and fg->claimed then keeps them apart anyway). RT_OK or RT_ERR_NOMEM. */
static int fuse_choose_add_ln(FuseGraph *fg, FuseData *fd, RtPlanFast *f, RtError *err) {
    const RtGraph *g = fg->g;
    for (int k = 0; k < g->n_nodes; k++) {
        FuseAddLn al;
        if (g->nodes[k].op != RT_OP_LAYER_NORMALIZATION || fuse_add_ln_match(fg, k, &al) != 1) continue;
        FuseAddLn *grown = realloc(fd->al, sizeof *grown * (size_t)(fd->n_al + 1));
        if (!grown) return rt_error_set(err, "out of memory"), RT_ERR_NOMEM;
        fd->al = grown;
        fd->al[fd->n_al] = al;
        fd->al_head[k] = fd->n_al++;
        for (int m = 0; m < g->n_nodes; m++)
            if (fg->member[m]) f->fuse_head[m] = k;
    }
    return RT_OK;
}

int rt_fuse_choose(const RtGraph *g, const RtPlan *p, RtPlanFast *f, RtError *err) {
    const int attn = rt_attention_supported(), add_ln = rt_add_layer_norm_supported();
    if ((!attn && !add_ln) || p->n_values != g->n_values) return RT_OK;
    FuseGraph fg;
    FuseData *fd = calloc(1, sizeof *fd);
    int r = fuse_graph_init(&fg, g, p);
    size_t nn = sizeof(int) * (size_t)(g->n_nodes > 0 ? g->n_nodes : 1);
    if (fd && r == RT_OK) fd->at_head = malloc(nn), fd->al_head = malloc(nn);
    if (!fd || r != RT_OK || !fd->at_head || !fd->al_head) {
        fuse_graph_free(&fg);
        fuse_data_free(fd);
        return rt_error_set(err, "out of memory"), RT_ERR_NOMEM;
    }
    for (int k = 0; k < g->n_nodes; k++) fd->at_head[k] = fd->al_head[k] = -1;
    fg.claimed = f->fuse_head;
    if (attn) r = fuse_choose_attention(&fg, fd, f, err);
    if (r == RT_OK && add_ln) r = fuse_choose_add_ln(&fg, fd, f, err);
    fuse_graph_free(&fg);
    if (r != RT_OK) {
        for (int k = 0; k < g->n_nodes; k++) f->fuse_head[k] = -1;
        fuse_data_free(fd);
        return r;
    }
    f->fuse_data = fd;
    return RT_OK;
}

void rt_fuse_free(RtPlanFast *f) {
    fuse_data_free(f->fuse_data);
    f->fuse_data = NULL;
}

int rt_fuse_run(const RtPlanFast *f, int head, const RtGraph *g, const RtPlan *p, char *arena, RtTensor *slot,
                RtKernelCtx *c) {
    const FuseData *fd = f->fuse_data;
    if (!fd || head < 0 || head >= g->n_nodes || (fd->at_head[head] < 0 && fd->al_head[head] < 0))
        return rt_error_set(c->err, "node %d heads no fused chain", head);
    if (fd->al_head[head] >= 0) return fuse_add_ln_run(&fd->al[fd->al_head[head]], p, arena, slot, c);
    int r = fuse_attention_run(&fd->attn[fd->at_head[head]], p, arena, slot, c);
    if (r != RT_OK && c->err->msg[0] == 0) rt_error_set(c->err, "fused attention at node '%s' failed", g->nodes[head].name);
    return r;
}
