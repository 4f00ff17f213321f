/*
 * rt_fuse_add_ln.c — the residual Add and the LayerNormalization reading it as one pass
 * (x86/math_x86.h's rt_add_layer_norm), as transformers write them (tinylm: x + attention ->
 * ln2, x + mlp -> the next block's ln1):
 *     z = Add(a, b)                   a, b, z float32 of one shape (leading 1s aside: no broadcast)
 *     y = LayerNormalization(z, scale, bias?)      float32, only Y wanted
 * z keeps its other readers (the next residual Add): the chain writes it to its planned
 * place as the Add would, and y from each row of it while the row is in L1, instead of the
 * LayerNormalization reading all of z back.
 *
 * Taken only where the chain computes what math_x86.c's Add and LayerNormalization kernels
 * compute (their fast paths, whose loops it runs): stash_type float, Scale and B holding the
 * whole normalized shape; and only where running both at the LayerNormalization is safe:
 * z read by nothing before it, a and b surviving in their places until then
 * (fuse_value_survives), and z and y each either apart from a and b or laid exactly over
 * one (a row of a and b is read before the same row of z and y is written).
 */
#include <string.h>

#include "kernels/x86/math_x86.h"
#include "rt_fuse_chain.h"

static int al_f32(const FuseGraph *fg, int v) { return v >= 0 && fg->p->value[v].dtype == RT_F32; }

/* LayerNormalization's Scale / B t against the normalized dims nd[nr] (ln_full in math_x86.c):
 * float32, rank <= nr, trailing dims equal, numel len. */
static int al_full(const RtTensor *t, int nr, const int64_t *nd, int64_t len) {
    if (t->dtype != RT_F32 || t->rank < 0 || t->rank > nr || rt_numel(t) != len) return 0;
    for (int i = 0; i < t->rank; i++)
        if (t->dims[t->rank - 1 - i] != nd[nr - 1 - i]) return 0;
    return 1;
}

/* t lays its elements out as z does: the same dims once leading 1s are dropped (the Add
 * kernel then adds element i to element i: tinylm's embedding [1, T, C] + positions [T, C]). */
static int al_same_layout(const RtTensor *t, const RtTensor *z) {
    int i = 0, j = 0;
    while (i < t->rank && t->dims[i] == 1) i++;
    while (j < z->rank && z->dims[j] == 1) j++;
    if (t->rank - i != z->rank - j) return 0;
    for (; i < t->rank; i++, j++)
        if (t->dims[i] != z->dims[j]) return 0;
    return 1;
}

/* Planned values x and y: apart, or the very same bytes. */
static int al_apart_or_same(const RtPlan *p, int x, int y) {
    int64_t x0 = p->offset[x], y0 = p->offset[y];
    if (x0 < 0 || y0 < 0) return 1; /* outside the arena (a constant, a graph input) */
    if (x0 == y0 && p->bytes[x] == p->bytes[y]) return 1;
    return x0 + p->bytes[x] <= y0 || y0 + p->bytes[y] <= x0;
}

/* The LayerNormalization node k's fast-path facts: rows and len from z's shape. */
static int al_match_ln(const FuseGraph *fg, const RtNode *ln, FuseAddLn *al) {
    if (ln->n_in < 2 || ln->n_out < 1 || ln->in[1] < 0 || ln->out[0] < 0 || fg->p->offset[ln->out[0]] < 0 ||
        !al_f32(fg, ln->in[0]) || !al_f32(fg, ln->out[0]))
        return 0;
    for (int i = 1; i < ln->n_out; i++)
        if (ln->out[i] >= 0) return 0; /* Mean / InvStdDev wanted */
    if (rt_attr_int(ln, "stash_type", RT_F32) != RT_F32) return 0;
    const RtTensor *x = &fg->p->value[ln->in[0]];
    int64_t a = rt_attr_int(ln, "axis", -1);
    if (x->rank < 1 || a < -x->rank || a >= x->rank) return 0;
    int axis = (int)(a < 0 ? a + x->rank : a), nr = x->rank - axis;
    al->len = rt_shape_numel(nr, x->dims + axis);
    al->rows = rt_shape_numel(axis, x->dims);
    if (al->len <= 0 || al->rows <= 0 || !al_full(&fg->p->value[ln->in[1]], nr, x->dims + axis, al->len)) return 0;
    al->bias = ln->n_in > 2 ? ln->in[2] : -1;
    if (al->bias >= 0 && !al_full(&fg->p->value[al->bias], nr, x->dims + axis, al->len)) return 0;
    al->scale = ln->in[1];
    al->eps = rt_attr_float(ln, "epsilon", 1e-5f);
    al->y = ln->out[0];
    return 1;
}

int fuse_add_ln_match(FuseGraph *fg, int k, FuseAddLn *al) {
    const RtGraph *g = fg->g;
    const RtPlan *p = fg->p;
    const RtNode *ln = &g->nodes[k];
    memset(al, 0, sizeof *al);
    memset(fg->member, 0, (size_t)g->n_nodes);
    if (ln->op != RT_OP_LAYER_NORMALIZATION || !al_match_ln(fg, ln, al)) return 0;
    int z = ln->in[0], pa = z >= 0 ? fg->producer[z] : -1;
    if (pa < 0 || fg->claimed[pa] >= 0 || fg->claimed[k] >= 0 || fg->is_out[z] || p->offset[z] < 0) return 0;
    const RtNode *add = &g->nodes[pa];
    if (add->op != RT_OP_ADD || add->n_in != 2 || add->n_out != 1 || rt_attr(add, "broadcast")) return 0;
    al->a = add->in[0], al->b = add->in[1], al->z = z;
    if (!al_f32(fg, al->a) || !al_f32(fg, al->b) || !al_same_layout(&p->value[al->a], &p->value[z]) ||
        !al_same_layout(&p->value[al->b], &p->value[z]))
        return 0;
    for (int m = pa + 1; m < k; m++) /* z's readers all come after the chain runs */
        for (int j = 0; j < g->nodes[m].n_in; j++)
            if (g->nodes[m].in[j] == z) return 0;
    if (!al_apart_or_same(p, z, al->a) || !al_apart_or_same(p, z, al->b) || !al_apart_or_same(p, al->y, al->a) ||
        !al_apart_or_same(p, al->y, al->b) || !al_apart_or_same(p, al->y, z))
        return 0;
    fg->member[pa] = fg->member[k] = 1;
    if (!fuse_value_survives(fg, al->a, k) || !fuse_value_survives(fg, al->b, k) ||
        (al->bias >= 0 && !fuse_value_survives(fg, al->bias, k)) || !fuse_value_survives(fg, al->scale, k)) {
        memset(fg->member, 0, (size_t)g->n_nodes);
        return 0;
    }
    al->head = k;
    return 1;
}

int fuse_add_ln_run(const FuseAddLn *al, const RtPlan *p, char *arena, RtTensor *slot, RtKernelCtx *c) {
    const float *a = slot[al->a].data, *b = slot[al->b].data, *scale = slot[al->scale].data;
    const float *bias = al->bias >= 0 ? slot[al->bias].data : NULL;
    if (!a || !b || !scale || (al->bias >= 0 && !bias))
        return rt_error_set(c->err, "fused Add + LayerNormalization: an input has no value");
    const int outs[2] = {al->z, al->y};
    for (int i = 0; i < 2; i++) {
        slot[outs[i]] = p->value[outs[i]];
        slot[outs[i]].data = arena + p->offset[outs[i]];
    }
    rt_add_layer_norm(c->pool, a, b, slot[al->z].data, slot[al->y].data, al->rows, al->len, scale, bias, al->eps);
    return RT_OK;
}
