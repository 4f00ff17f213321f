/*
 * test_fuse_attention.c — fused attention chains (runtime/rt_fuse.c, rt_fuse_attention.c,
 * kernels/x86/attention_x86.c) against the unfused graph run by the reference kernels.
 *
 * Each test builds the graph exporters write for one attention block, in tinylm's node order
 * (so the memory plan places k's projection over q's, as it does there):
 *     X [B, T, C] -> q, k, v = MatMul(X, W) [B, T, H*dh] -> Reshape [B, T, H, dh] ->
 *     Transpose (0,2,1,3) for q and v, (0,2,3,1) for k -> MatMul(q, k^T) -> Mul / Div by a
 *     constant (or none) -> Add(mask) (or none) -> Softmax(-1) -> MatMul(P, v) ->
 *     Transpose (0,2,1,3) -> Reshape [B, T, H*dh] -> Y (graph output)
 * and runs it planned with the plan's run-time decisions (rt_plan_fast_build: the fused
 * chain), at 1 and 2 threads, and with the reference executor (WAFER_RT_REF's kernels, no
 * fusion). Every fused case also asserts the chain WAS fused (its MatMul is skipped), so a
 * fusion that silently stops fails here. Sizes: T in 1, 3, 17, 33, 129, heads 1 and 3,
 * head dims 1, 7, 64.
 *
 * On a CPU without AVX-512 nothing is fused; the fused-case tests then only check that the
 * planned run still equals the reference.
 */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/kernels/x86/attention_x86.h"
#include "../../runtime/rt_plan_fast.h"
#include "../../runtime/rt_threads.h"
#include "rt_test_util.h"

/* Fused vs reference: the fused kernel sums Q K^T and P V in its own order in float (the
 * reference MatMul in another) and uses a vector exp of ~1 ulp; with |q|, |k|, |v| <= 1 and
 * dh <= 64 the scores differ by a few 1e-7 relative, which the softmax passes on: 1e-5 of the
 * largest output is the runtime's contract for optimized float kernels. */
#define ATTN_REL_TOL 1e-5

enum { TG_MAX_NODES = 48, TG_MAX_VALUES = 96, TG_MAX_CONSTS = 16 };

/* A graph under construction: values numbered as added, constants owned (data malloc'ed). */
typedef struct {
    RtGraph g;
    RtNode nodes[TG_MAX_NODES];
    int io[TG_MAX_NODES][8];        /* per node: inputs then outputs */
    RtAttr attrs[TG_MAX_NODES][2];
    int64_t perms[TG_MAX_NODES][4];
    const RtTensor *consts[TG_MAX_VALUES];
    RtTensor cst[TG_MAX_CONSTS];
    int n_cst, n_values, n_nodes;
    int inputs[4], outputs[4];
} Tg;

static int tg_value(Tg *t) {
    cr_assert_lt(t->n_values, TG_MAX_VALUES);
    return t->n_values++;
}

/* A constant (data copied). */
static int tg_const(Tg *t, RtDtype dt, int rank, const int64_t *dims, const void *data) {
    cr_assert_lt(t->n_cst, TG_MAX_CONSTS);
    RtTensor *c = &t->cst[t->n_cst++];
    *c = rtt_tensor(dt, rank, dims, NULL);
    size_t bytes = (size_t)rt_nbytes(c);
    c->data = malloc(bytes ? bytes : 1);
    memcpy(c->data, data, bytes);
    int v = tg_value(t);
    t->consts[v] = c;
    return v;
}

/* A node of op over in[n_in]; returns its output value. perm (4 entries) or NULL. */
static int tg_node(Tg *t, int op, int n_in, const int *in, const int64_t *perm, int64_t axis) {
    cr_assert_lt(t->n_nodes, TG_MAX_NODES);
    int k = t->n_nodes++;
    RtNode *n = &t->nodes[k];
    memcpy(t->io[k], in, sizeof(int) * (size_t)n_in);
    int out = tg_value(t);
    t->io[k][n_in] = out;
    int na = 0;
    if (perm) {
        memcpy(t->perms[k], perm, sizeof t->perms[k]);
        t->attrs[k][na++] = rtt_attr_ints("perm", t->perms[k], 4);
    }
    if (op == RT_OP_SOFTMAX) t->attrs[k][na++] = rtt_attr_int("axis", axis);
    *n = (RtNode){op, "n", rt_op_name(op), "", 17, n_in, t->io[k], 1, t->io[k] + n_in, na, t->attrs[k]};
    return out;
}

static void tg_finish(Tg *t, int n_in, const int *inputs, int n_out, const int *outputs) {
    memcpy(t->inputs, inputs, sizeof(int) * (size_t)n_in);
    memcpy(t->outputs, outputs, sizeof(int) * (size_t)n_out);
    t->g = (RtGraph){t->n_values, NULL, t->consts, t->n_nodes, t->nodes, n_in, t->inputs, n_out, t->outputs};
}

static void tg_free(Tg *t) {
    for (int i = 0; i < t->n_cst; i++) free(t->cst[i].data);
}

typedef enum {
    MASK_NONE,
    MASK_CAUSAL,      /* -inf above the diagonal */
    MASK_CAUSAL_1E9,  /* -1e9 above the diagonal, as tinylm's exporter wrote it */
    MASK_CAUSAL_FMIN, /* -FLT_MAX above the diagonal (torch.finfo(float32).min) */
    MASK_PATTERN,     /* -inf scattered and a suffix per row, finite values elsewhere */
    MASK_DEAD_ROW,    /* causal -inf, one row all -inf */
    MASK_DEAD_1E9,    /* causal -1e9, one row all -1e9 (a finite mask: nothing may be skipped) */
    MASK_INPUT        /* causal -1e9 given as a graph input */
} MaskKind;
typedef enum { SCALE_NONE, SCALE_MUL, SCALE_DIV, SCALE_DIV3, SCALE_MUL_FIRST } ScaleKind;

typedef struct {
    int B, T, H, dh, C;
    MaskKind mask;
    ScaleKind scale;
    int softmax_is_output;  /* the Softmax's output is also a graph output: no fusion */
    int stacked;            /* a second block whose q is the first block's output */
    int mm_node;            /* set by build: the MatMul(q, k^T) node (of the last block) */
} Spec;

static float mask_value(MaskKind m, int i, int j, int T) {
    switch (m) {
    case MASK_CAUSAL: return j <= i ? 0.0f : -INFINITY;
    case MASK_CAUSAL_1E9:
    case MASK_INPUT: return j <= i ? 0.0f : -1e9f;
    case MASK_CAUSAL_FMIN: return j <= i ? 0.0f : -FLT_MAX;
    case MASK_PATTERN: /* -inf at the start, in the middle and a suffix per row, finite elsewhere */
        if (j == 0 && T > 2) return -INFINITY;
        if (j % 5 == 3) return -INFINITY;
        if (j > (i * 7) % T) return -INFINITY;
        return 0.25f * (float)((i + j) % 3) - 0.25f;
    case MASK_DEAD_ROW: return (i == T / 2 || j > i) ? -INFINITY : 0.0f;
    case MASK_DEAD_1E9: return (i == T / 2 || j > i) ? -1e9f : 0.0f;
    default: return 0.0f;
    }
}

/* One attention block over X (q from X's projection, or q_in when >= 0); returns Y, *p the
 * Softmax's output. */
static int block(Tg *t, Spec *s, int x, int q_in, const int *wv, int sv, int sb, int cv, int mv, int *p) {
    static const int64_t p_qv[4] = {0, 2, 1, 3}, p_k[4] = {0, 2, 3, 1};
    int q = q_in >= 0 ? q_in : tg_node(t, RT_OP_MATMUL, 2, (int[]){x, wv[0]}, NULL, 0);
    int q4 = tg_node(t, RT_OP_RESHAPE, 2, (int[]){q, sv}, NULL, 0);
    int qt = tg_node(t, RT_OP_TRANSPOSE, 1, (int[]){q4}, p_qv, 0);
    int k = tg_node(t, RT_OP_MATMUL, 2, (int[]){x, wv[1]}, NULL, 0);
    int k4 = tg_node(t, RT_OP_RESHAPE, 2, (int[]){k, sv}, NULL, 0);
    int v = tg_node(t, RT_OP_MATMUL, 2, (int[]){x, wv[2]}, NULL, 0);
    int v4 = tg_node(t, RT_OP_RESHAPE, 2, (int[]){v, sv}, NULL, 0);
    int vt = tg_node(t, RT_OP_TRANSPOSE, 1, (int[]){v4}, p_qv, 0);
    int kt = tg_node(t, RT_OP_TRANSPOSE, 1, (int[]){k4}, p_k, 0);
    s->mm_node = t->n_nodes;
    int sc = tg_node(t, RT_OP_MATMUL, 2, (int[]){qt, kt}, NULL, 0);
    if (s->scale == SCALE_MUL) sc = tg_node(t, RT_OP_MUL, 2, (int[]){sc, cv}, NULL, 0);
    if (s->scale == SCALE_MUL_FIRST) sc = tg_node(t, RT_OP_MUL, 2, (int[]){cv, sc}, NULL, 0);
    if (s->scale == SCALE_DIV || s->scale == SCALE_DIV3) sc = tg_node(t, RT_OP_DIV, 2, (int[]){sc, cv}, NULL, 0);
    if (mv >= 0) sc = tg_node(t, RT_OP_ADD, 2, (int[]){mv, sc}, NULL, 0);
    *p = tg_node(t, RT_OP_SOFTMAX, 1, (int[]){sc}, NULL, -1);
    int o = tg_node(t, RT_OP_MATMUL, 2, (int[]){*p, vt}, NULL, 0);
    int ot = tg_node(t, RT_OP_TRANSPOSE, 1, (int[]){o}, p_qv, 0);
    return tg_node(t, RT_OP_RESHAPE, 2, (int[]){ot, sb}, NULL, 0);
}

/* The block's graph for s (see the header). */
static void build(Tg *t, Spec *s, uint32_t seed) {
    memset(t, 0, sizeof *t);
    const int64_t W = (int64_t)s->H * s->dh;
    int x = tg_value(t), mask_in = -1;
    int64_t wd[2] = {s->C, W};
    float *w = malloc(sizeof(float) * (size_t)(s->C * W));
    int wv[3];
    for (int m = 0; m < 3; m++) {
        for (int64_t i = 0; i < s->C * W; i++) w[i] = rtt_uniform(&seed, -1.0f, 1.0f) / (float)s->C;
        wv[m] = tg_const(t, RT_F32, 2, wd, w);
    }
    free(w);
    int64_t shp[4] = {s->B, s->T, s->H, s->dh}, shp_back[3] = {s->B, s->T, W}, d1[1] = {4}, d3[1] = {3};
    int sv = tg_const(t, RT_I64, 1, d1, shp), sb = tg_const(t, RT_I64, 1, d3, shp_back);
    float c = s->scale == SCALE_DIV ? 8.0f : s->scale == SCALE_DIV3 ? 3.0f : 0.35f;
    int cv = tg_const(t, RT_F32, 0, NULL, &c);
    int mv = -1;
    if (s->mask == MASK_INPUT) {
        mask_in = tg_value(t);
        mv = mask_in;
    } else if (s->mask != MASK_NONE) {
        float *m = malloc(sizeof(float) * (size_t)(s->T * s->T));
        for (int i = 0; i < s->T; i++)
            for (int j = 0; j < s->T; j++) m[i * s->T + j] = mask_value(s->mask, i, j, s->T);
        int64_t md[2] = {s->T, s->T};
        mv = tg_const(t, RT_F32, 2, md, m);
        free(m);
    }
    int p = -1, y = block(t, s, x, -1, wv, sv, sb, cv, mv, &p);
    if (s->stacked) y = block(t, s, x, y, wv, sv, sb, cv, mv, &p);
    int ins[2] = {x, mask_in}, outs[2] = {y, p};
    tg_finish(t, mask_in >= 0 ? 2 : 1, ins, s->softmax_is_output ? 2 : 1, outs);
}

/* The graph's inputs for s: X uniform in [-1, 1] (scaled by x_gain), the mask when it is one. */
static void make_inputs(const Spec *s, uint32_t seed, float x_gain, RtTensor *in, float **bufs) {
    int64_t xd[3] = {s->B, s->T, s->C}, md[2] = {s->T, s->T};
    bufs[0] = malloc(sizeof(float) * (size_t)(s->B * s->T * s->C));
    for (int64_t i = 0; i < (int64_t)s->B * s->T * s->C; i++) bufs[0][i] = x_gain * rtt_uniform(&seed, -1.0f, 1.0f);
    in[0] = rtt_tensor(RT_F32, 3, xd, bufs[0]);
    bufs[1] = NULL;
    if (s->mask == MASK_INPUT) {
        bufs[1] = malloc(sizeof(float) * (size_t)(s->T * s->T));
        for (int i = 0; i < s->T; i++)
            for (int j = 0; j < s->T; j++) bufs[1][i * s->T + j] = mask_value(MASK_INPUT, i, j, s->T);
        in[1] = rtt_tensor(RT_F32, 2, md, bufs[1]);
    }
}

/* Reference outputs (owned, free each .data). */
static void run_ref(const RtGraph *g, const RtTensor *in, RtTensor *out) {
    RtError err = {{0}};
    RtRunOptions o = {.ref_only = 1};
    cr_assert_eq(rt_graph_run_opts(g, in, out, &o, &err), RT_OK, "%s", err.msg);
}

/* Planned run with the fast decisions at `threads`; outputs copied into out[i] (owned).
 * *fused: 1 when node mm was inside a fused chain. */
static void run_fused(const RtGraph *g, const RtTensor *in, RtTensor *out, int threads, int mm, int *fused) {
    RtError err = {{0}};
    RtPlan p;
    RtPlanFast f;
    cr_assert_eq(rt_plan_build(g, in, &p, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(rt_plan_fast_build(g, &p, &f, &err), RT_OK, "%s", err.msg);
    *fused = f.fuse_head[mm] >= 0 && f.fuse_head[mm] != mm;
    void *arena = aligned_alloc(64, (size_t)(p.arena_bytes > 0 ? p.arena_bytes : 64));
    memset(arena, 0x7f, (size_t)p.arena_bytes); /* stale bytes: nothing may read them */
    RtThreadPool *pool = threads > 1 ? rt_pool_new(threads, NULL) : NULL;
    RtRunOptions o = {.pool = pool, .fast = &f};
    RtTensor views[4];
    cr_assert_eq(rt_plan_run(g, &p, arena, in, views, &o, &err), RT_OK, "%s", err.msg);
    for (int i = 0; i < g->n_outputs; i++) {
        out[i] = views[i];
        size_t b = (size_t)rt_nbytes(&views[i]);
        out[i].data = malloc(b);
        memcpy(out[i].data, views[i].data, b);
    }
    rt_pool_free(pool);
    free(arena);
    rt_plan_fast_free(&f);
    rt_plan_free(&p);
}

/* got == want within ATTN_REL_TOL of want's largest finite magnitude; NaN where want has NaN,
 * the same infinities. */
static void expect_close(const RtTensor *got, const RtTensor *want, const char *what) {
    int64_t n = rt_numel(want);
    cr_assert_eq(rt_numel(got), n, "%s: numel", what);
    const float *a = got->data, *b = want->data;
    double big = 0;
    for (int64_t i = 0; i < n; i++)
        if (isfinite(b[i]) && fabs(b[i]) > big) big = fabs(b[i]);
    for (int64_t i = 0; i < n; i++) {
        if (isnan(b[i])) {
            cr_assert(isnan(a[i]), "%s: element %lld is %g, want NaN", what, (long long)i, a[i]);
            continue;
        }
        if (isinf(b[i])) {
            cr_assert_eq(a[i], b[i], "%s: element %lld is %g, want %g", what, (long long)i, a[i], b[i]);
            continue;
        }
        cr_assert(fabs((double)a[i] - b[i]) <= ATTN_REL_TOL * big, "%s: element %lld is %.9g, want %.9g (largest %g)",
                  what, (long long)i, a[i], b[i], big);
    }
}

static void expect_same_bits(const RtTensor *a, const RtTensor *b, const char *what) {
    cr_assert_eq(rt_numel(a), rt_numel(b), "%s: numel", what);
    cr_assert(memcmp(a->data, b->data, (size_t)rt_nbytes(a)) == 0, "%s: 1 and 2 threads differ", what);
}

/* Builds s, runs reference and fused (1 and 2 threads), compares; want_fused: assert the
 * chain was (1) or was not (0) fused when the CPU has AVX-512. */
static void check_spec(Spec s, uint32_t seed, float x_gain, int want_fused) {
    Tg t;
    build(&t, &s, seed);
    RtTensor in[2];
    float *bufs[2];
    make_inputs(&s, seed * 7 + 1, x_gain, in, bufs);
    RtTensor ref[2], f1[2], f2[2];
    run_ref(&t.g, in, ref);
    int fused1, fused2;
    run_fused(&t.g, in, f1, 1, s.mm_node, &fused1);
    run_fused(&t.g, in, f2, 2, s.mm_node, &fused2);
    char what[160];
    snprintf(what, sizeof what, "B=%d T=%d H=%d dh=%d mask %d scale %d", s.B, s.T, s.H, s.dh, s.mask, s.scale);
    if (rt_attention_supported()) {
        cr_assert_eq(fused1, want_fused, "%s: fused %d, want %d", what, fused1, want_fused);
        cr_assert_eq(fused2, want_fused, "%s: fused at 2 threads %d, want %d", what, fused2, want_fused);
    }
    for (int i = 0; i < t.g.n_outputs; i++) {
        expect_close(&f1[i], &ref[i], what);
        expect_same_bits(&f1[i], &f2[i], what);
        free(ref[i].data), free(f1[i].data), free(f2[i].data);
    }
    free(bufs[0]), free(bufs[1]);
    tg_free(&t);
}

static const int Ts[] = {1, 3, 17, 33, 129}, Hs[] = {1, 3}, Ds[] = {1, 7, 64};

Test(fuse_attention, causal_mul_all_sizes) {
    uint32_t seed = 11;
    for (int a = 0; a < 5; a++)
        for (int b = 0; b < 2; b++)
            for (int c = 0; c < 3; c++) {
                Spec s = {1, Ts[a], Hs[b], Ds[c], 16, MASK_CAUSAL, SCALE_MUL, 0, 0};
                check_spec(s, seed++, 1.0f, 1);
            }
}

Test(fuse_attention, pattern_mask_and_scales) {
    uint32_t seed = 101;
    const ScaleKind scales[] = {SCALE_NONE, SCALE_MUL, SCALE_MUL_FIRST, SCALE_DIV, SCALE_DIV3};
    for (int a = 0; a < 5; a++)
        for (int sc = 0; sc < 5; sc++) {
            Spec s = {1, Ts[a], 3, 7, 12, MASK_PATTERN, scales[sc], 0, 0};
            check_spec(s, seed++, 1.0f, 1);
        }
}

Test(fuse_attention, no_mask) {
    uint32_t seed = 201;
    for (int a = 0; a < 5; a++)
        for (int c = 0; c < 3; c++) {
            Spec s = {1, Ts[a], 3, Ds[c], 16, MASK_NONE, SCALE_DIV, 0, 0};
            check_spec(s, seed++, 1.0f, 1);
        }
}

/* Row T/2 has every mask entry -inf: the reference gives NaN there (max -inf, x - max NaN),
 * and so must the fused kernel. */
Test(fuse_attention, fully_masked_row_is_nan) {
    for (int a = 1; a < 5; a++) {
        Spec s = {1, Ts[a], 3, 7, 12, MASK_DEAD_ROW, SCALE_MUL, 0, 0};
        check_spec(s, 301 + (uint32_t)a, 1.0f, 1);
    }
}

/* Large finite masks: -1e9 and -FLT_MAX make the masked probabilities exactly 0 as long as
 * the scores are far smaller, so the kernel may cut there too. */
Test(fuse_attention, finite_causal_masks) {
    uint32_t seed = 351;
    for (int a = 0; a < 5; a++)
        for (int c = 0; c < 3; c += 2) {
            Spec s = {1, Ts[a], 3, Ds[c], 16, MASK_CAUSAL_1E9, SCALE_MUL, 0, 0};
            check_spec(s, seed++, 1.0f, 1);
            s.mask = MASK_CAUSAL_FMIN;
            check_spec(s, seed++, 1.0f, 1);
        }
}

/* A row all -1e9: its softmax is over s - 1e9 for every column (not NaN, not cut short). */
Test(fuse_attention, fully_masked_finite_row) {
    for (int a = 1; a < 5; a++) {
        Spec s = {1, Ts[a], 3, 7, 12, MASK_DEAD_1E9, SCALE_MUL, 0, 0};
        check_spec(s, 361 + (uint32_t)a, 1.0f, 1);
    }
}

/* Scores around 1e8 (beyond what a -1e9 mask hides after exp): the kernel may not cut; the
 * reference's values (including the masked columns' weight) come out. */
Test(fuse_attention, large_scores_with_finite_mask) {
    Spec s = {1, 33, 3, 7, 12, MASK_CAUSAL_1E9, SCALE_NONE, 0, 0};
    check_spec(s, 371, 3e4f, 1);
}

/* Peaked rows (scores spread over hundreds): many exp(x - max) fall below FLT_MIN, which the
 * kernel writes as 0 where the reference has denormals (< 1.2e-38 of the row's sum). */
Test(fuse_attention, peaked_rows) {
    Spec s = {1, 129, 3, 64, 16, MASK_CAUSAL_1E9, SCALE_MUL, 0, 0};
    check_spec(s, 381, 40.0f, 1);
}

/* A mask that is a graph input: read on every run, not derived once. */
Test(fuse_attention, mask_from_input) {
    for (int a = 0; a < 5; a++) {
        Spec s = {1, Ts[a], 3, 64, 16, MASK_INPUT, SCALE_MUL, 0, 0};
        check_spec(s, 401 + (uint32_t)a, 1.0f, 1);
    }
}

/* The batch axis: two sequences, each with its own rows. */
Test(fuse_attention, batch_of_two) {
    Spec s = {2, 33, 3, 7, 12, MASK_CAUSAL, SCALE_MUL, 0, 0};
    check_spec(s, 501, 1.0f, 1);
}

/* Two blocks, the second's q the first's output: the first chain takes the view steps up to
 * the second MatMul, the second starts where those end; both fused, the values the reference's. */
Test(fuse_attention, stacked_blocks) {
    Spec s = {1, 33, 3, 7, 21, MASK_CAUSAL_1E9, SCALE_MUL, 0, 1, 0};
    check_spec(s, 551, 1.0f, 1);
    Spec s2 = {1, 17, 1, 64, 64, MASK_NONE, SCALE_DIV, 0, 1, 0};
    check_spec(s2, 552, 1.0f, 1);
}

/* The Softmax's output is also a graph output: an inner value read outside the chain, so no
 * fusion, and the planned run still equals the reference. */
Test(fuse_attention, inner_value_read_outside_is_not_fused) {
    Spec s = {1, 17, 3, 7, 12, MASK_CAUSAL, SCALE_MUL, 1, 0};
    check_spec(s, 601, 1.0f, 0);
}

/* Huge inputs: the scores overflow to +-inf (and the masked ones give NaN once added to
 * -inf), so the kernel may not skip the masked columns; the NaN pattern equals the reference's. */
Test(fuse_attention, overflowing_scores_match_reference) {
    Spec s = {1, 17, 1, 7, 12, MASK_CAUSAL, SCALE_MUL, 0, 0};
    check_spec(s, 701, 1e19f, 1);
    Spec s2 = {1, 33, 3, 64, 16, MASK_CAUSAL, SCALE_NONE, 0, 0};
    check_spec(s2, 702, 3e18f, 1);
}

/* The kernel on its own: V holding an inf in a row every query skips (masked), which the
 * reference's 0 * inf turns into NaN for every row; and a NaN in K's last row. Both must
 * reach the output exactly as in a plain loop over all columns. */
static void naive_attention(const RtAttention *a, float *o) {
    for (int64_t h = 0; h < a->H; h++)
        for (int64_t i = 0; i < a->Tq; i++) {
            double s[64];
            float m = -INFINITY, e[64];
            for (int64_t j = 0; j < a->Tk; j++) {
                float d = 0;
                for (int64_t x = 0; x < a->dh; x++)
                    d += a->q[h * a->qs[1] + i * a->qs[2] + x] * a->k[h * a->ks[1] + j * a->ks[2] + x];
                float sc = d * a->scale + (a->mask ? a->mask[i * a->ms[2] + j] : 0.0f);
                s[j] = sc;
                if (j == 0 || sc > m) m = sc;
            }
            double sum = 0;
            for (int64_t j = 0; j < a->Tk; j++) e[j] = expf((float)s[j] - m), sum += e[j];
            for (int64_t x = 0; x < a->dv; x++) {
                float acc = 0;
                for (int64_t j = 0; j < a->Tk; j++)
                    acc += e[j] * (float)(1.0 / sum) * a->v[h * a->vs[1] + j * a->vs[2] + x];
                o[h * a->os[1] + i * a->os[2] + x] = acc;
            }
        }
}

Test(fuse_attention, kernel_nonfinite_in_skipped_columns) {
    if (!rt_attention_supported()) return;
    enum { T = 20, H = 2, D = 5 };
    float q[T * H * D], k[T * H * D], v[T * H * D], mask[T * T], o[T * H * D], want[T * H * D];
    uint32_t seed = 801;
    for (int i = 0; i < T * H * D; i++)
        q[i] = rtt_uniform(&seed, -1, 1), k[i] = rtt_uniform(&seed, -1, 1), v[i] = rtt_uniform(&seed, -1, 1);
    RtAttnRow rows[T];
    for (int i = 0; i < T; i++) {
        for (int j = 0; j < T; j++) mask[i * T + j] = j <= i ? 0.0f : -INFINITY;
        rt_attention_row_info(mask + i * T, 1, T, &rows[i]);
        cr_assert_eq(rows[i].end, i + 1, "row %d's split", i);
    }
    v[(T - 1) * H * D + 0 * D + 2] = INFINITY; /* head 0, last key: masked for every row but the last */
    k[(T - 1) * H * D + 1 * D + 0] = NAN;      /* head 1, last key */
    RtAttention a = {.B = 1, .H = H, .Tq = T, .Tk = T, .dh = D, .dv = D,
                     .q = q, .qs = {0, D, H * D, 1}, .k = k, .ks = {0, D, H * D, 1},
                     .v = v, .vs = {0, D, H * D, 1}, .o = o, .os = {0, D, H * D, 1},
                     .scale_op = RT_ATTN_SCALE_MUL, .scale = 0.5f,
                     .mask = mask, .ms = {0, 0, T, 1}, .rows = rows};
    RtError err = {{0}};
    RtKernelCtx c = {.alloc = rt_allocator_default(), .err = &err};
    cr_assert_eq(rt_attention_run(&c, &a), RT_OK, "%s", err.msg);
    naive_attention(&a, want);
    for (int i = 0; i < T * H * D; i++) {
        if (isnan(want[i])) cr_assert(isnan(o[i]), "element %d: %g, want NaN", i, o[i]);
        else if (isinf(want[i])) cr_assert_eq(o[i], want[i], "element %d: %g, want %g", i, o[i], want[i]);
        else cr_assert(fabsf(o[i] - want[i]) <= 1e-5f, "element %d: %g, want %g", i, o[i], want[i]);
    }
    cr_assert(isnan(o[0 * H * D + 0 * D + 2]), "0 * inf in the skipped column must make row 0's lane NaN");
    cr_assert(isnan(o[0 * H * D + 1 * D + 0]), "a NaN score in the skipped column must make the row NaN");
}

/* O ([T, H*D]) written over Q ([H, T, D]: another layout, so a block's O rows land on Q rows
 * other blocks still read; the plan may place the output over a dead input so): the kernel
 * computes into scratch first, so the result is the one into a separate buffer, bit for bit. */
Test(fuse_attention, kernel_output_over_q) {
    if (!rt_attention_supported()) return;
    enum { T = 37, H = 3, D = 16 };
    static float q[T * H * D], k[T * H * D], v[T * H * D], o[T * H * D], qo[T * H * D];
    uint32_t seed = 901;
    for (int i = 0; i < T * H * D; i++)
        q[i] = rtt_uniform(&seed, -1, 1), k[i] = rtt_uniform(&seed, -1, 1), v[i] = rtt_uniform(&seed, -1, 1);
    memcpy(qo, q, sizeof q);
    RtAttention a = {.B = 1, .H = H, .Tq = T, .Tk = T, .dh = D, .dv = D,
                     .q = q, .qs = {0, T * D, D, 1}, .k = k, .ks = {0, D, H * D, 1},
                     .v = v, .vs = {0, D, H * D, 1}, .o = o, .os = {0, D, H * D, 1},
                     .scale_op = RT_ATTN_SCALE_DIV, .scale = 4.0f};
    RtError err = {{0}};
    RtKernelCtx c = {.alloc = rt_allocator_default(), .err = &err};
    cr_assert_eq(rt_attention_run(&c, &a), RT_OK, "%s", err.msg);
    a.q = qo, a.o = qo;
    cr_assert_eq(rt_attention_run(&c, &a), RT_OK, "%s", err.msg);
    cr_assert(memcmp(o, qo, sizeof o) == 0, "O over Q differs from O apart");
}

/* V wider than the heads' dim (dv 19 != dh 5: P V's column chunks and tail lanes), no mask,
 * K given transposed ([H, dh, T]: strided keys, packed without register transposes). */
Test(fuse_attention, kernel_dv_other_than_dh) {
    if (!rt_attention_supported()) return;
    enum { T = 20, H = 2, D = 5, DV = 19 };
    static float q[T * H * D], k[H * D * T], v[T * H * DV], o[T * H * DV], want[T * H * DV];
    uint32_t seed = 951;
    for (int i = 0; i < T * H * D; i++) q[i] = rtt_uniform(&seed, -1, 1), k[i] = rtt_uniform(&seed, -1, 1);
    for (int i = 0; i < T * H * DV; i++) v[i] = rtt_uniform(&seed, -1, 1);
    RtAttention a = {.B = 1, .H = H, .Tq = T, .Tk = T, .dh = D, .dv = DV,
                     .q = q, .qs = {0, D, H * D, 1}, .k = k, .ks = {0, D * T, 1, T},
                     .v = v, .vs = {0, DV, H * DV, 1}, .o = o, .os = {0, DV, H * DV, 1},
                     .scale_op = RT_ATTN_SCALE_MUL, .scale = 0.7f};
    RtError err = {{0}};
    RtKernelCtx c = {.alloc = rt_allocator_default(), .err = &err};
    cr_assert_eq(rt_attention_run(&c, &a), RT_OK, "%s", err.msg);
    RtAttention n = a; /* the naive loop reads K as [.., j, d] with unit d stride */
    static float kk[T * H * D];
    for (int h = 0; h < H; h++)
        for (int j = 0; j < T; j++)
            for (int d = 0; d < D; d++) kk[h * D + j * H * D + d] = k[h * D * T + d * T + j];
    n.k = kk, n.ks[1] = D, n.ks[2] = H * D, n.ks[3] = 1;
    naive_attention(&n, want);
    for (int i = 0; i < T * H * DV; i++)
        cr_assert(fabsf(o[i] - want[i]) <= 1e-5f, "element %d: %g, want %g", i, o[i], want[i]);
}

/* O ([T, H*D]) written over K or over V held as [H, T, D]: a head's O rows land on the K or
 * V of heads not yet packed, so the kernel must pack every head first (a slot packing its
 * heads lazily may do so only when O lies exactly over K or V, as tinylm's plan has it). The
 * results equal those into a separate buffer, bit for bit; the exact overlay too. */
Test(fuse_attention, kernel_output_over_k_or_v) {
    if (!rt_attention_supported()) return;
    enum { T = 29, H = 3, D = 16, N = T * H * D };
    static float q[N], k[N], v[N], o[N], x[N];
    uint32_t seed = 971;
    for (int i = 0; i < N; i++)
        q[i] = rtt_uniform(&seed, -1, 1), k[i] = rtt_uniform(&seed, -1, 1), v[i] = rtt_uniform(&seed, -1, 1);
    RtAttention a = {.B = 1, .H = H, .Tq = T, .Tk = T, .dh = D, .dv = D,
                     .q = q, .qs = {0, D, H * D, 1}, .k = k, .ks = {0, T * D, D, 1},
                     .v = v, .vs = {0, T * D, D, 1}, .o = o, .os = {0, D, H * D, 1},
                     .scale_op = RT_ATTN_SCALE_MUL, .scale = 0.3f};
    RtError err = {{0}};
    RtKernelCtx c = {.alloc = rt_allocator_default(), .err = &err};
    cr_assert_eq(rt_attention_run(&c, &a), RT_OK, "%s", err.msg);
    for (int which = 0; which < 4; which++) { /* K other layout, V other layout, K exact, V exact */
        RtAttention b = a;
        const float *src = which % 2 ? v : k;
        memcpy(x, src, sizeof x);
        if (which < 2) {
            if (which == 0) b.k = x;
            else b.v = x;
        } else { /* the operand laid exactly as O */
            for (int h = 0; h < H; h++)
                for (int t = 0; t < T; t++)
                    for (int d = 0; d < D; d++) x[t * H * D + h * D + d] = src[h * T * D + t * D + d];
            int64_t *s = which == 2 ? b.ks : b.vs;
            s[1] = D, s[2] = H * D;
            if (which == 2) b.k = x;
            else b.v = x;
        }
        b.o = x;
        cr_assert_eq(rt_attention_run(&c, &b), RT_OK, "%s", err.msg);
        cr_assert(memcmp(o, x, sizeof o) == 0, "case %d: O over %s differs from O apart", which, which % 2 ? "V" : "K");
    }
}

/* Another exporter's form: rank-3 operands as graph inputs (Q [BH, T, dh], K^T [BH, dh, T],
 * V [BH, T, dv], no view steps), a per-head rank-3 mask, Softmax over axis 2, dv != dh. */
Test(fuse_attention, rank3_inputs_per_head_mask) {
    enum { BH = 3, T = 19, D = 6, DV = 11 };
    Tg t;
    memset(&t, 0, sizeof t);
    int q = tg_value(&t), kt = tg_value(&t), v = tg_value(&t);
    static float mask[BH * T * T];
    for (int h = 0; h < BH; h++)
        for (int i = 0; i < T; i++)
            for (int j = 0; j < T; j++) /* head h sees a window of h + 2 keys back, ALiBi-like slope */
                mask[(h * T + i) * T + j] = (j <= i && j >= i - h - 2) ? -0.1f * (float)(i - j) : -INFINITY;
    int64_t md[3] = {BH, T, T};
    int mv = tg_const(&t, RT_F32, 3, md, mask);
    float c = 2.5f;
    int cv = tg_const(&t, RT_F32, 0, NULL, &c);
    int mm = t.n_nodes;
    int s = tg_node(&t, RT_OP_MATMUL, 2, (int[]){q, kt}, NULL, 0);
    s = tg_node(&t, RT_OP_DIV, 2, (int[]){s, cv}, NULL, 0);
    s = tg_node(&t, RT_OP_ADD, 2, (int[]){s, mv}, NULL, 0);
    int p = tg_node(&t, RT_OP_SOFTMAX, 1, (int[]){s}, NULL, 2);
    int o = tg_node(&t, RT_OP_MATMUL, 2, (int[]){p, v}, NULL, 0);
    tg_finish(&t, 3, (int[]){q, kt, v}, 1, (int[]){o});
    static float qd[BH * T * D], ktd[BH * D * T], vd[BH * T * DV];
    uint32_t seed = 991;
    for (int i = 0; i < BH * T * D; i++) qd[i] = rtt_uniform(&seed, -1, 1), ktd[i] = rtt_uniform(&seed, -1, 1);
    for (int i = 0; i < BH * T * DV; i++) vd[i] = rtt_uniform(&seed, -1, 1);
    int64_t qdims[3] = {BH, T, D}, kdims[3] = {BH, D, T}, vdims[3] = {BH, T, DV};
    RtTensor in[3] = {rtt_tensor(RT_F32, 3, qdims, qd), rtt_tensor(RT_F32, 3, kdims, ktd), rtt_tensor(RT_F32, 3, vdims, vd)};
    RtTensor ref, f1, f2;
    run_ref(&t.g, in, &ref);
    int fused1, fused2;
    run_fused(&t.g, in, &f1, 1, mm, &fused1);
    run_fused(&t.g, in, &f2, 2, mm, &fused2);
    if (rt_attention_supported()) cr_assert(fused1 && fused2, "the rank-3 chain was not fused");
    expect_close(&f1, &ref, "rank 3");
    expect_same_bits(&f1, &f2, "rank 3");
    free(ref.data), free(f1.data), free(f2.data);
    tg_free(&t);
}
