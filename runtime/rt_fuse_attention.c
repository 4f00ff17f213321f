/*
 * rt_fuse_attention.c — finding attention chains in a planned graph and running them with
 * x86/attention_x86.c (rt_fuse_chain.h).
 *
 * The chain, as exporters write it, read backwards from a Softmax over the last axis:
 *     S = MatMul(Qop, KTop)                    [.., Tq, dh] x [.., dh, Tk]
 *     S = Mul(S, c) | Mul(c, S) | Div(S, c)    optional, c a constant float scalar
 *     S = Add(S, M) | Add(M, S)                optional, M any float broadcast to S
 *     P = Softmax(S, axis = last)
 *     O = MatMul(P, V)                         [.., Tk, dv]
 * and around it the view steps that make Qop, KTop and V out of projections and O back into
 * one (Transpose, Reshape, Flatten, Squeeze, Unsqueeze), each taken into the chain while its
 * output is read by the next step alone. Each operand is then a strided view of the value
 * its steps start from (its base): a Transpose permutes the strides, a reshape-like step
 * needs a contiguous view and starts a new contiguous one; the output side the same way
 * backwards from the value the last step writes. Every value inside the chain is read by one
 * node of it and is no graph output; everything is float32, rank 2..4, batch axes equal or
 * broadcast (1). Anything else: no chain, the nodes run as before.
 *
 * The chain runs at its last node, so each base must survive in its planned place until
 * then (rt_fuse.c); an operand whose base does not gets its steps back one by one from the
 * base end (they run as before, the base moves nearer), until all survive or nothing is left.
 * A constant mask's row splits (where the suffix it makes 0 starts, RtAttnRow) are found once here.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rt_fuse_chain.h"

enum { FA_MAX_STEPS = 8 }; /* view steps on one operand's path */

/* Dims and strides (elements) of a view over its base's data. */
typedef struct {
    int rank;
    int64_t d[RT_MAX_RANK], s[RT_MAX_RANK];
} FaView;

static void fa_contig(FaView *w, const RtTensor *t) {
    w->rank = t->rank;
    int64_t e = 1;
    for (int i = t->rank - 1; i >= 0; i--) {
        w->d[i] = t->dims[i];
        w->s[i] = e;
        e *= t->dims[i];
    }
}

static int fa_is_contig(const FaView *w) {
    int64_t e = 1;
    for (int i = w->rank - 1; i >= 0; i--) {
        if (w->d[i] != 1 && w->s[i] != e) return 0;
        e *= w->d[i];
    }
    return 1;
}

static int fa_reshape_like(int op) {
    return op == RT_OP_RESHAPE || op == RT_OP_FLATTEN || op == RT_OP_SQUEEZE || op == RT_OP_UNSQUEEZE;
}

static int fa_view_op(int op) { return op == RT_OP_TRANSPOSE || fa_reshape_like(op); }

/* Transpose's perm (rank r) into perm[]; 0 when it is not a permutation of 0..r-1. */
static int fa_perm(const RtNode *n, int r, int *perm) {
    const int64_t *pv;
    int np = rt_attr_ints(n, "perm", &pv);
    int seen[RT_MAX_RANK] = {0};
    if (r < 1 || r > RT_MAX_RANK || (np >= 0 && np != r)) return 0;
    for (int k = 0; k < r; k++) {
        int64_t a = np >= 0 ? pv[k] : r - 1 - k;
        if (a < 0 || a >= r || seen[a]) return 0;
        seen[a] = 1;
        perm[k] = (int)a;
    }
    return 1;
}

static int fa_same_dims(const FaView *w, const RtTensor *t) {
    if (w->rank != t->rank) return 0;
    for (int i = 0; i < w->rank; i++)
        if (w->d[i] != t->dims[i]) return 0;
    return 1;
}

/* Forward: the view of node n's output (planned as outv) from its data input's view. */
static int fa_step_fwd(const RtNode *n, const RtTensor *outv, const FaView *in, FaView *out) {
    if (fa_reshape_like(n->op)) {
        if (!fa_is_contig(in) || rt_shape_numel(in->rank, in->d) != rt_numel(outv)) return 0;
        fa_contig(out, outv);
        return 1;
    }
    int perm[RT_MAX_RANK];
    if (n->op != RT_OP_TRANSPOSE || !fa_perm(n, in->rank, perm)) return 0;
    out->rank = in->rank;
    for (int k = 0; k < in->rank; k++) out->d[k] = in->d[perm[k]], out->s[k] = in->s[perm[k]];
    return fa_same_dims(out, outv);
}

/* Backward: the view of node n's data input (planned as inv) from its output's view. */
static int fa_step_back(const RtNode *n, const RtTensor *inv, const FaView *out, FaView *in) {
    if (fa_reshape_like(n->op)) {
        if (!fa_is_contig(out) || rt_shape_numel(out->rank, out->d) != rt_numel(inv)) return 0;
        fa_contig(in, inv);
        return 1;
    }
    int perm[RT_MAX_RANK];
    if (n->op != RT_OP_TRANSPOSE || !fa_perm(n, out->rank, perm)) return 0;
    in->rank = out->rank;
    for (int k = 0; k < out->rank; k++) in->d[perm[k]] = out->d[k], in->s[perm[k]] = out->s[k];
    return fa_same_dims(in, inv);
}

static int fa_f32(const FuseGraph *fg, int v) { return v >= 0 && fg->p->value[v].dtype == RT_F32; }

/* One operand: the values from the MatMul's input back through view steps (path[0] = the
 * operand, path[t] = the data input of path[t-1]'s producer), and for each depth whether the
 * operand is a view of path[t] (view[t]). */
typedef struct {
    int n;                            /* depths 0..n-1 */
    int path[FA_MAX_STEPS + 1];
    int ok[FA_MAX_STEPS + 1];
    FaView view[FA_MAX_STEPS + 1];
    int depth;                        /* the depth in use */
} FaOperand;

static void fa_operand_find(const FuseGraph *fg, int v, FaOperand *o) {
    memset(o, 0, sizeof *o);
    o->path[0] = v;
    o->n = 1;
    while (o->n <= FA_MAX_STEPS) {
        int u = o->path[o->n - 1];
        if (!fuse_value_inner(fg, u)) break;
        const RtNode *n = &fg->g->nodes[fg->producer[u]];
        if (fg->claimed[fg->producer[u]] >= 0 || !fa_view_op(n->op) || n->n_in < 1 || n->in[0] < 0 || n->n_out != 1 ||
            !fa_f32(fg, n->in[0]))
            break;
        o->path[o->n++] = n->in[0];
    }
    for (int t = 0; t < o->n; t++) { /* walk forward from base path[t] to the operand */
        FaView w, next;
        fa_contig(&w, &fg->p->value[o->path[t]]);
        int good = fg->p->value[o->path[t]].rank >= 0;
        for (int u = t; good && u > 0; u--) {
            const RtNode *n = &fg->g->nodes[fg->producer[o->path[u - 1]]];
            good = fa_step_fwd(n, &fg->p->value[o->path[u - 1]], &w, &next);
            w = next;
        }
        o->ok[t] = good;
        o->view[t] = w;
    }
    o->depth = o->n - 1;
    while (o->depth > 0 && !o->ok[o->depth]) o->depth--;
}

/* Marks the view steps in use (the producers of path[0..depth-1]). */
static void fa_operand_mark(FuseGraph *fg, const FaOperand *o) {
    for (int t = 0; t < o->depth; t++) fg->member[fg->producer[o->path[t]]] = 1;
}

/* Next shallower usable depth; 0 when there is none. */
static int fa_operand_back_off(FaOperand *o) {
    while (o->depth > 0) {
        o->depth--;
        if (o->ok[o->depth]) return 1;
    }
    return 0;
}

/* View w (rank 2..4) as [A0, A1, m, n] against batch dims (B, H): leading 1s with stride
 * 0, a batch axis of 1 broadcast (stride 0). 0 when it does not fit. */
static int fa_to4(const FaView *w, int64_t B, int64_t H, int64_t m, int64_t n, int64_t *s4) {
    if (w->rank < 2 || w->rank > 4 || w->d[w->rank - 2] != m || w->d[w->rank - 1] != n) return 0;
    int64_t d4[4] = {1, 1, 1, 1}, bd[2] = {B, H};
    int pad = 4 - w->rank;
    for (int i = 0; i < 4; i++) s4[i] = 0;
    for (int i = 0; i < w->rank; i++) d4[pad + i] = w->d[i], s4[pad + i] = w->s[i];
    for (int a = 0; a < 2; a++) {
        if (d4[a] == 1) s4[a] = 0;
        else if (d4[a] != bd[a]) return 0;
    }
    return 1;
}

/* Dims of planned value v (rank 2..4) as 4 with leading 1s; 0 when the rank does not fit. */
static int fa_dims4(const RtTensor *t, int64_t *d4) {
    if (t->rank < 2 || t->rank > 4) return 0;
    int pad = 4 - t->rank;
    for (int i = 0; i < 4; i++) d4[i] = i < pad ? 1 : t->dims[i - pad];
    return 1;
}

/* The scalar of constant value v (float32, one element); 0 when it is not one. */
static int fa_const_scalar(const FuseGraph *fg, int v, float *x) {
    const RtTensor *t = v >= 0 && fg->g->consts ? fg->g->consts[v] : NULL;
    if (!t || t->dtype != RT_F32 || rt_numel(t) != 1 || !t->data) return 0;
    *x = *(const float *)t->data;
    return 1;
}

static int fa_node_is(const FuseGraph *fg, int v, int op) {
    return v >= 0 && fg->producer[v] >= 0 && fg->g->nodes[fg->producer[v]].op == op;
}

/* The chain's fixed part (scores to O) as node indices; the operand paths come on top. */
typedef struct {
    int nodes[4 + 2 + FA_MAX_STEPS]; /* MatMul, scale, Add, Softmax, MatMul, output steps */
    int n;
} FaCore;

/* Walks from Softmax s back to the first MatMul: scores' MatMul node, the scale and mask.
 * Returns the MatMul node or -1. */
static int fa_match_scores(const FuseGraph *fg, int s, FaCore *core, RtAttention *at, int *mask) {
    const RtGraph *g = fg->g;
    const RtNode *sm = &g->nodes[s];
    if (sm->n_in < 1 || sm->n_out < 1 || !fa_f32(fg, sm->in[0]) || !fa_f32(fg, sm->out[0])) return -1;
    const RtTensor *sv = &fg->p->value[sm->in[0]];
    int64_t ax = rt_attr_int(sm, "axis", sm->opset >= 13 ? -1 : 1);
    if (ax < 0) ax += sv->rank;
    if (sv->rank < 2 || sv->rank > 4 || ax != sv->rank - 1 || !rt_shape_equal(sv, &fg->p->value[sm->out[0]])) return -1;
    core->nodes[core->n++] = s;
    int cur = sm->in[0];
    *mask = -1;
    if (fa_node_is(fg, cur, RT_OP_ADD) && fuse_value_inner(fg, cur)) {
        const RtNode *add = &g->nodes[fg->producer[cur]];
        if (add->n_in != 2) return -1;
        int side = -1;
        for (int j = 0; j < 2 && side < 0; j++) {
            int a = add->in[j];
            if (fuse_value_inner(fg, a) && (fa_node_is(fg, a, RT_OP_MUL) || fa_node_is(fg, a, RT_OP_DIV) ||
                                            fa_node_is(fg, a, RT_OP_MATMUL)))
                side = j;
        }
        if (side < 0 || !rt_shape_equal(&fg->p->value[add->in[side]], sv) || !fa_f32(fg, add->in[1 - side])) return -1;
        *mask = add->in[1 - side];
        core->nodes[core->n++] = fg->producer[cur];
        cur = add->in[side];
    }
    at->scale_op = RT_ATTN_SCALE_NONE;
    if ((fa_node_is(fg, cur, RT_OP_MUL) || fa_node_is(fg, cur, RT_OP_DIV)) && fuse_value_inner(fg, cur)) {
        const RtNode *sc = &g->nodes[fg->producer[cur]];
        if (sc->n_in != 2) return -1;
        int side = -1;
        if (sc->op == RT_OP_DIV) side = fa_const_scalar(fg, sc->in[1], &at->scale) ? 0 : -1;
        else if (fa_const_scalar(fg, sc->in[1], &at->scale)) side = 0;
        else if (fa_const_scalar(fg, sc->in[0], &at->scale)) side = 1;
        if (side < 0 || !fuse_value_inner(fg, sc->in[side]) || !rt_shape_equal(&fg->p->value[sc->in[side]], sv))
            return -1;
        at->scale_op = sc->op == RT_OP_DIV ? RT_ATTN_SCALE_DIV : RT_ATTN_SCALE_MUL;
        core->nodes[core->n++] = fg->producer[cur];
        cur = sc->in[side];
    }
    if (!fa_node_is(fg, cur, RT_OP_MATMUL) || !fuse_value_inner(fg, cur) || !rt_shape_equal(&fg->p->value[cur], sv))
        return -1;
    const RtNode *mm = &g->nodes[fg->producer[cur]];
    if (mm->n_in != 2 || !fa_f32(fg, mm->in[0]) || !fa_f32(fg, mm->in[1])) return -1;
    core->nodes[core->n++] = fg->producer[cur];
    return fg->producer[cur];
}

/* The mask's strides broadcast to [B, H, Tq, Tk] (its own shape rank <= 4). */
static int fa_mask_strides(const RtTensor *m, const int64_t *S4, int64_t *ms) {
    if (m->rank > 4) return 0;
    FaView w;
    fa_contig(&w, m);
    int pad = 4 - m->rank;
    for (int i = 0; i < 4; i++) {
        int64_t d = i < pad ? 1 : w.d[i - pad];
        ms[i] = i < pad ? 0 : w.s[i - pad];
        if (d == 1) ms[i] = 0;
        else if (d != S4[i]) return 0;
    }
    return 1;
}

/* The constant mask's row splits (attention_x86.h: rows, rs). RT_OK or RT_ERR_NOMEM. */
static int fa_mask_rows(const FuseGraph *fg, FuseAttn *fa) {
    const RtTensor *m = fg->g->consts ? fg->g->consts[fa->mask] : NULL;
    RtAttention *at = &fa->at;
    if (!m || !m->data) return RT_OK; /* computed: scanned per run */
    int64_t nb = at->ms[0] ? at->B : 1, nh = at->ms[1] ? at->H : 1;
    fa->rows = malloc(sizeof(RtAttnRow) * (size_t)(nb * nh * at->Tq));
    if (!fa->rows) return RT_ERR_NOMEM;
    at->rs[1] = at->ms[1] ? at->Tq : 0;
    at->rs[0] = at->ms[0] ? nh * at->Tq : 0;
    const float *d = m->data;
    for (int64_t b = 0; b < nb; b++)
        for (int64_t h = 0; h < nh; h++)
            for (int64_t i = 0; i < at->Tq; i++)
                rt_attention_row_info(d + b * at->ms[0] + h * at->ms[1] + i * at->ms[2], at->ms[3], at->Tk,
                                      &fa->rows[(b * nh + h) * at->Tq + i]);
    return RT_OK;
}

/* Output side: from O (MatMul(P, V)'s output) forward through the view steps read by
 * nothing else; O's strides (as [B, H, Tq, dv]) in the last value taken. */
static int fa_match_output(const FuseGraph *fg, int o, FaCore *core, int64_t B, int64_t H, FuseAttn *fa) {
    const RtGraph *g = fg->g;
    int chain[FA_MAX_STEPS + 1], n = 0;
    chain[0] = o;
    while (n < FA_MAX_STEPS && fuse_value_inner(fg, chain[n])) {
        const RtNode *r = &g->nodes[fg->reader[chain[n]]];
        if (fg->claimed[fg->reader[chain[n]]] >= 0 || !fa_view_op(r->op) || r->n_in < 1 || r->in[0] != chain[n] ||
            r->n_out != 1 || !fa_f32(fg, r->out[0]))
            break;
        chain[++n] = r->out[0];
    }
    for (; n >= 0; n--) { /* the longest run of steps that still gives O a view */
        FaView w, prev;
        fa_contig(&w, &fg->p->value[chain[n]]);
        int good = 1;
        for (int t = n; good && t > 0; t--) {
            good = fa_step_back(&g->nodes[fg->producer[chain[t]]], &fg->p->value[chain[t - 1]], &w, &prev);
            w = prev;
        }
        if (!good || !fa_to4(&w, B, H, fa->at.Tq, fa->at.dv, fa->at.os)) continue;
        if (fg->p->offset[chain[n]] < 0) return 0;
        for (int t = 1; t <= n; t++) core->nodes[core->n++] = fg->producer[chain[t]];
        fa->out = chain[n];
        return 1;
    }
    return 0;
}

int fuse_attention_match(FuseGraph *fg, int s, FuseAttn *fa, RtError *err) {
    const RtGraph *g = fg->g;
    memset(fa, 0, sizeof *fa);
    memset(fg->member, 0, (size_t)g->n_nodes);
    FaCore core = {{0}, 0};
    RtAttention *at = &fa->at;
    int mm = fa_match_scores(fg, s, &core, at, &fa->mask);
    if (mm < 0) return 0;
    int y = g->nodes[s].out[0];
    if (!fuse_value_inner(fg, y)) return 0;
    const RtNode *pv = &g->nodes[fg->reader[y]];
    if (pv->op != RT_OP_MATMUL || pv->n_in != 2 || pv->in[0] != y || pv->n_out != 1 || !fa_f32(fg, pv->in[1]) ||
        !fa_f32(fg, pv->out[0]))
        return 0;
    core.nodes[core.n++] = fg->reader[y];
    int64_t S4[4], O4[4];
    if (!fa_dims4(&fg->p->value[y], S4) || !fa_dims4(&fg->p->value[pv->out[0]], O4)) return 0;
    if (O4[0] != S4[0] || O4[1] != S4[1] || O4[2] != S4[2]) return 0;
    at->B = S4[0], at->H = S4[1], at->Tq = S4[2], at->Tk = S4[3], at->dv = O4[3];
    FaOperand Q, K, V;
    fa_operand_find(fg, g->nodes[mm].in[0], &Q);
    fa_operand_find(fg, g->nodes[mm].in[1], &K);
    fa_operand_find(fg, pv->in[1], &V);
    const FaView *qv0 = &Q.view[0];
    if (qv0->rank < 2) return 0;
    at->dh = qv0->d[qv0->rank - 1];
    if (at->B < 1 || at->H < 1 || at->Tq < 1 || at->Tk < 1 || at->dh < 1 || at->dv < 1) return 0;
    if (fa->mask >= 0 && !fa_mask_strides(&fg->p->value[fa->mask], S4, at->ms)) return 0;
    if (fa->mask >= 0 && at->ms[3] > 1) return 0;
    if (!fa_match_output(fg, pv->out[0], &core, at->B, at->H, fa)) return 0;
    for (;;) { /* back the operands off until every base survives until the chain runs */
        int64_t kt[4];
        memset(fg->member, 0, (size_t)g->n_nodes);
        for (int i = 0; i < core.n; i++) fg->member[core.nodes[i]] = 1;
        fa_operand_mark(fg, &Q);
        fa_operand_mark(fg, &K);
        fa_operand_mark(fg, &V);
        if (!fa_to4(&Q.view[Q.depth], at->B, at->H, at->Tq, at->dh, at->qs) ||
            !fa_to4(&K.view[K.depth], at->B, at->H, at->dh, at->Tk, kt) ||
            !fa_to4(&V.view[V.depth], at->B, at->H, at->Tk, at->dv, at->vs))
            return 0;
        at->ks[0] = kt[0], at->ks[1] = kt[1], at->ks[2] = kt[3], at->ks[3] = kt[2]; /* K = (K^T)^T */
        fa->head = 0;
        for (int k = 0; k < g->n_nodes; k++)
            if (fg->member[k]) fa->head = k;
        fa->q = Q.path[Q.depth], fa->k = K.path[K.depth], fa->v = V.path[V.depth];
        int sq = fuse_value_survives(fg, fa->q, fa->head), sk = fuse_value_survives(fg, fa->k, fa->head);
        int sv = fuse_value_survives(fg, fa->v, fa->head);
        int smask = fa->mask < 0 || (g->consts && g->consts[fa->mask]) || fuse_value_survives(fg, fa->mask, fa->head);
        if (sq && sk && sv && smask) break;
        if (!smask || (!sq && !fa_operand_back_off(&Q)) || (!sk && !fa_operand_back_off(&K)) ||
            (!sv && !fa_operand_back_off(&V)))
            return 0;
    }
    if (fa->mask >= 0 && fa_mask_rows(fg, fa) != RT_OK) return rt_error_set(err, "out of memory"), RT_ERR_NOMEM;
    return 1;
}

int fuse_attention_run(const FuseAttn *fa, const RtPlan *p, char *arena, RtTensor *slot, RtKernelCtx *c) {
    RtAttention at = fa->at;
    at.q = slot[fa->q].data;
    at.k = slot[fa->k].data;
    at.v = slot[fa->v].data;
    at.mask = fa->mask >= 0 ? slot[fa->mask].data : NULL;
    at.rows = fa->rows;
    if (!at.q || !at.k || !at.v || (fa->mask >= 0 && !at.mask))
        return rt_error_set(c->err, "fused attention: an input has no value");
    slot[fa->out] = p->value[fa->out];
    slot[fa->out].data = arena + p->offset[fa->out];
    at.o = slot[fa->out].data;
    return rt_attention_run(c, &at);
}
