/*
 * emit_plan.c — where every value of an emitted model lives, and the arena plan.
 *
 * Locations: constants are static const arrays, graph inputs the caller's inputs[i], graph
 * outputs the caller's outputs[i] (the producing kernel writes there directly), an output of
 * a Reshape-like node the buffer of its input (no copy), everything else the arena.
 *
 * Arena (greedy by size, as TFLite Micro's planner): each arena buffer is live from the node
 * that produces it to the last node that reads it or any alias of it. Buffers are placed
 * largest first (ties: earlier producer, then lower value index, so the plan is
 * deterministic) at the lowest EC_ALIGN-aligned offset where they overlap no placed buffer
 * whose live range meets theirs. When that leaves the arena above the lower bound below, a
 * bounded depth-first search (plan_search) tries to fit every buffer under the lower bound
 * itself, in execution order, each at 0 or at the end of a placed buffer it meets, and is
 * kept when it succeeds within EC_PLAN_SEARCH_WORK buffer pairs looked at (tinylm with Gelu
 * fused into fc1: greedy 1.17x the bound, the search 1.0x after ~100 placements). A node's
 * output never shares bytes with its inputs (both are live at the node), so kernels need
 * not support in-place operation.
 * Weights that a Conv dequantizes as it goes (ec_fuse_dq) take no arena beyond one output
 * channel's worth of scratch, a buffer live at that node only. That holds also for codes
 * stored 2-D ([M, C*kh*kw], groups spanning kernel taps) and reshaped to the conv's weight
 * shape: a Reshape keeps the row-major order, so element e of the 4-D weight is element e of
 * the codes, and only the scale index (the DequantizeLinear's own layout) tells them apart.
 * Lower bound: the largest sum of the bytes of the buffers live at one node; no placement
 * can use less, and the arena is reported beside it.
 */
#include <stdlib.h>
#include <string.h>

#include "emit_internal.h"

int ec_is_alias_op(int op) {
    return op == RT_OP_FLATTEN || op == RT_OP_RESHAPE || op == RT_OP_SQUEEZE || op == RT_OP_UNSQUEEZE ||
           op == RT_OP_IDENTITY || op == RT_OP_DROPOUT;
}

typedef struct {
    int v;                 /* root value, or -1 - k for node k's scratch */
    int64_t bytes;         /* numel * element size */
    int first, last;       /* live range in node indices, inclusive */
    int64_t offset;        /* placed offset */
} EcBuf;

static int buf_cmp(const void *pa, const void *pb) {
    const EcBuf *a = pa, *b = pb;
    if (a->bytes != b->bytes) return a->bytes > b->bytes ? -1 : 1;
    if (a->first != b->first) return a->first < b->first ? -1 : 1;
    return a->v < b->v ? -1 : a->v > b->v;
}

static int buf_cmp_first(const void *pa, const void *pb) {
    const EcBuf *a = pa, *b = pb;
    if (a->first != b->first) return a->first < b->first ? -1 : 1;
    return buf_cmp(pa, pb);
}

static int64_t align_up(int64_t x) { return (x + EC_ALIGN - 1) / EC_ALIGN * EC_ALIGN; }

/* Buffer pairs the search may look at (overlap checks and candidate scans): ~0.1 s. */
#define EC_PLAN_SEARCH_WORK 50000000LL

static int live_meet(const EcBuf *a, const EcBuf *b) { return !(a->last < b->first || b->last < a->first); }

/* 1 when bufs[b] at off overlaps none of bufs[0..b) it meets in time. */
static int place_ok(const EcBuf *bufs, int b, int64_t off, int64_t *work) {
    *work += b;
    for (int o = 0; o < b; o++)
        if (live_meet(&bufs[o], &bufs[b]) && off < bufs[o].offset + bufs[o].bytes && bufs[o].offset < off + bufs[b].bytes)
            return 0;
    return 1;
}

/* Depth-first: bufs[b..nb) placed under `cap` bytes, each at 0 or at the aligned end of an
 * earlier buffer it meets, lowest first. 1 found, 0 none, -1 out of work. */
static int plan_search(EcBuf *bufs, int b, int nb, int64_t cap, int64_t *work) {
    if (b == nb) return 1;
    if (*work > EC_PLAN_SEARCH_WORK) return -1;
    int64_t tried = -1; /* candidates in increasing order: the next above `tried` each round */
    for (;;) {
        int64_t off = -1;
        *work += b;
        if (*work > EC_PLAN_SEARCH_WORK) return -1;
        for (int cand = -1; cand < b; cand++) {
            int64_t o = cand < 0 ? 0 : align_up(bufs[cand].offset + bufs[cand].bytes);
            if (cand >= 0 && !live_meet(&bufs[cand], &bufs[b])) continue;
            if (o > tried && (off < 0 || o < off)) off = o;
        }
        if (off < 0 || off + bufs[b].bytes > cap) return 0;
        tried = off;
        if (!place_ok(bufs, b, off, work)) continue;
        bufs[b].offset = off;
        int r = plan_search(bufs, b + 1, nb, cap, work);
        if (r != 0) return r;
    }
}

static int root_of(const EcCtx *c, int v) {
    while (c->loc[v].alias >= 0) v = c->loc[v].alias;
    return v;
}

/* Locations of constants, inputs, outputs and aliases; arena candidates stay EC_LOC_NONE. */
static void locations_assign(EcCtx *c) {
    const IrGraph *g = c->g;
    for (int v = 0; v < g->n_values; v++) {
        c->loc[v].kind = g->values[v].konst ? EC_LOC_CONST : EC_LOC_NONE;
        c->loc[v].alias = -1;
    }
    /* 16-bit float inputs and outputs live in the arena as floats (emit_half.c converts) */
    for (int i = 0; i < g->n_inputs; i++)
        if (c->loc[g->inputs[i]].kind == EC_LOC_NONE && !(c->half && c->half[g->inputs[i]]))
            c->loc[g->inputs[i]] = (EcLoc){EC_LOC_INPUT, i, 0, -1};
    for (int i = 0; i < g->n_outputs; i++) {
        int v = g->outputs[i];
        if (c->loc[v].kind == EC_LOC_NONE && g->values[v].producer >= 0 && !(c->half && c->half[v]))
            c->loc[v] = (EcLoc){EC_LOC_OUTPUT, i, 0, -1};
    }
    for (int k = 0; k < g->n_nodes; k++) {
        const RtNode *n = &g->nodes[k];
        if (!ec_is_alias_op(n->op) || n->n_in < 1 || n->in[0] < 0 || n->n_out < 1 || n->out[0] < 0) continue;
        int y = n->out[0];
        if (c->loc[y].kind != EC_LOC_NONE) continue; /* a graph output: the kernel copies */
        c->loc[y].alias = root_of(c, n->in[0]);
    }
}

/* The value v's only reader, or -1 (none, several, or v is a graph output). */
static int only_reader(const IrGraph *g, int v) {
    if (ir_value_is_output(g, v) || ir_value_uses(g, v) != 1) return -1;
    for (int u = 0; u < g->n_nodes; u++)
        for (int j = 0; j < g->nodes[u].n_in; j++)
            if (g->nodes[u].in[j] == v) return u;
    return -1;
}

void ec_fuse_dq(EcCtx *c) {
    const IrGraph *g = c->g;
    for (int k = 0; k < g->n_nodes; k++) {
        const RtNode *n = &g->nodes[k];
        if (n->op != RT_OP_DEQUANTIZE_LINEAR || n->n_out < 1 || n->out[0] < 0) continue;
        int v = n->out[0], consts = 1;
        for (int j = 0; j < n->n_in; j++) consts &= n->in[j] < 0 || g->values[n->in[j]].konst != NULL;
        int u = only_reader(g, v);
        if (!consts || c->val[n->in[0]].dtype != RT_I8 || c->val[v].dtype != RT_F32 || u < 0) continue;
        if (c->half && c->half[v]) continue; /* its float16 weights are rounded in the arena first */
        int w = v; /* the weight value the conv or linear reads */
        if (g->nodes[u].op == RT_OP_RESHAPE && g->nodes[u].in[0] == v && g->nodes[u].n_out > 0) {
            w = g->nodes[u].out[0]; /* 2-D conv codes: read through the Reshape, convs only */
            u = w >= 0 ? only_reader(g, w) : -1;
            if (u < 0 || (g->nodes[u].op != RT_OP_CONV && g->nodes[u].op != RT_OP_FUSED_CONV)) continue;
        }
        const RtNode *m = &g->nodes[u];
        int conv = m->op == RT_OP_CONV || m->op == RT_OP_FUSED_CONV, lin = m->op == RT_OP_LINEAR;
        if (conv && c->val[m->in[0]].rank > 4) continue; /* 3-D windows read float weights (k_conv3_f32) */
        if (!(conv || lin) || m->n_in < 2 || m->in[1] != w || m->in[0] == w || (m->n_in > 2 && m->in[2] == w) ||
            c->val[w].rank < 2 || c->val[w].dims[0] <= 0 || c->val[w].dims[1] <= 0)
            continue;
        c->fused_dq[v] = c->fused_dq[w] = 1;
        /* scratch: one output channel of a conv W [M, ...], one column of a Linear W [K, N] */
        c->scratch_bytes[u] = rt_nbytes(&c->val[w]) / c->val[w].dims[conv ? 0 : 1];
    }
}

int ec_plan(EcCtx *c) {
    const IrGraph *g = c->g;
    locations_assign(c);
    /* QConv sums one output channel at a time in int32: OH * OW of them */
    for (int k = 0; k < g->n_nodes; k++) {
        const RtNode *n = &g->nodes[k];
        const RtTensor *y = n->n_out > 0 && n->out[0] >= 0 ? &c->val[n->out[0]] : NULL;
        if (n->op == RT_OP_QCONV && y && y->rank >= 3 && y->dims[0] > 0 && y->dims[1] > 0)
            c->scratch_bytes[k] = (int64_t)sizeof(int32_t) * (rt_numel(y) / (y->dims[0] * y->dims[1]));
        /* MatMulNBits decodes one output row of W, K floats */
        if (n->op == RT_OP_MATMUL_NBITS) c->scratch_bytes[k] = (int64_t)sizeof(float) * (rt_attr_int(n, "K", 0) > 0 ? rt_attr_int(n, "K", 0) : 1);
        /* the family emitters' own scratch (ec_scratch_<family>) */
        int64_t fam[4] = {ec_scratch_math(c, k, n), ec_scratch_reduce(c, k, n), ec_scratch_tensor(c, k, n),
                          ec_scratch_seq(c, k, n)};
        for (int f = 0; f < 4; f++)
            if (fam[f] > c->scratch_bytes[k]) c->scratch_bytes[k] = fam[f];
    }
    int nv = g->n_values, nb = 0;
    EcBuf *bufs = calloc((size_t)(nv + g->n_nodes) + 1, sizeof *bufs);
    int *slot = malloc(((size_t)nv + 1) * sizeof *slot);
    if (!bufs || !slot) {
        free(bufs);
        free(slot);
        return rt_error_set(c->err, "out of memory");
    }
    for (int v = 0; v < nv; v++) {
        slot[v] = -1;
        int half_in = c->half && c->half[v] && g->values[v].producer < 0 && !g->values[v].konst;
        if (c->loc[v].kind != EC_LOC_NONE || c->loc[v].alias >= 0 || (g->values[v].producer < 0 && !half_in) ||
            c->fused_dq[v])
            continue;
        int64_t bytes = rt_nbytes(&c->val[v]);
        if (bytes < 0) {
            free(bufs);
            free(slot);
            return rt_error_set(c->err, "value '%s': size overflows", g->values[v].name);
        }
        slot[v] = nb;
        int first = half_in ? 0 : g->values[v].producer; /* a 16-bit input: widened before node 0 */
        bufs[nb++] = (EcBuf){v, bytes, first, first, 0};
    }
    for (int k = 0; k < g->n_nodes; k++)
        if (c->scratch_bytes[k] > 0) bufs[nb++] = (EcBuf){-1 - k, c->scratch_bytes[k], k, k, 0};
    for (int k = 0; k < g->n_nodes; k++) {
        const RtNode *n = &g->nodes[k];
        for (int j = 0; j < n->n_in; j++) {
            if (n->in[j] < 0) continue;
            int r = slot[root_of(c, n->in[j])];
            if (r >= 0 && bufs[r].last < k) bufs[r].last = k;
        }
    }
    /* what a Scan's loop keeps across its iterations (emit_control.c) */
    for (int v = 0; c->flat && c->flat->live_first && v < nv; v++) {
        int r = slot[root_of(c, v)];
        if (r < 0) continue;
        if (c->flat->live_first[v] >= 0 && c->flat->live_first[v] < bufs[r].first) bufs[r].first = c->flat->live_first[v];
        if (c->flat->live_last[v] > bufs[r].last) bufs[r].last = c->flat->live_last[v];
    }
    /* a 16-bit float output is converted into outputs[i] after the last node */
    for (int i = 0; i < g->n_outputs; i++) {
        int r = c->half && c->half[g->outputs[i]] ? slot[root_of(c, g->outputs[i])] : -1;
        if (r >= 0) bufs[r].last = g->n_nodes > 0 ? g->n_nodes - 1 : 0;
    }
    /* lower bound before sorting (any order works) */
    c->lower_bound = 0;
    for (int k = 0; k < g->n_nodes; k++) {
        int64_t live = 0;
        for (int b = 0; b < nb; b++)
            if (bufs[b].first <= k && k <= bufs[b].last) live += bufs[b].bytes;
        if (live > c->lower_bound) c->lower_bound = live;
    }
    qsort(bufs, (size_t)nb, sizeof *bufs, buf_cmp);
    c->arena_bytes = 0;
    int64_t ignore = 0;
    for (int b = 0; b < nb; b++) {
        /* lowest offset clear of every placed buffer whose live range meets this one's:
         * try 0 and the end of each such buffer, keep the lowest that fits */
        int64_t best = -1;
        for (int cand = -1; cand < b; cand++) {
            int64_t off = cand < 0 ? 0 : align_up(bufs[cand].offset + bufs[cand].bytes);
            if (cand >= 0 && (bufs[cand].last < bufs[b].first || bufs[b].last < bufs[cand].first)) continue;
            if (best >= 0 && off >= best) continue;
            if (place_ok(bufs, b, off, &ignore)) best = off;
        }
        bufs[b].offset = best;
        if (best + bufs[b].bytes > c->arena_bytes) c->arena_bytes = best + bufs[b].bytes;
    }
    c->arena_bytes = align_up(c->arena_bytes);
    if (c->arena_bytes > align_up(c->lower_bound) && nb > 0) {
        EcBuf *alt = malloc(sizeof *alt * (size_t)nb);
        int64_t work = 0;
        if (alt) {
            memcpy(alt, bufs, sizeof *alt * (size_t)nb);
            qsort(alt, (size_t)nb, sizeof *alt, buf_cmp_first);
            if (plan_search(alt, 0, nb, align_up(c->lower_bound), &work) == 1) {
                memcpy(bufs, alt, sizeof *alt * (size_t)nb);
                c->arena_bytes = align_up(c->lower_bound);
            }
            free(alt);
        }
    }
    for (int b = 0; b < nb; b++) {
        if (bufs[b].v >= 0) c->loc[bufs[b].v] = (EcLoc){EC_LOC_ARENA, 0, bufs[b].offset, -1};
        else c->scratch_off[-1 - bufs[b].v] = bufs[b].offset;
    }
    for (int v = 0; v < nv; v++) {
        if (c->loc[v].alias < 0) continue;
        int r = root_of(c, v);
        EcLoc l = c->loc[r];
        l.alias = c->loc[v].alias;
        c->loc[v] = l;
    }
    free(bufs);
    free(slot);
    return RT_OK;
}
