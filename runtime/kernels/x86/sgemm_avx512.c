/*
 * sgemm_avx512.c — rt_sgemm_nn / rt_sgemm_op (sgemm.h): float32 GEMM with an AVX-512
 * register-blocked micro-kernel over packed panels, OpenBLAS (rt_sgemm) where the CPU lacks
 * AVX-512F or the target is not x86-64.
 *
 * Algorithm (the BLIS/GotoBLAS loop nest, sizes for this project's Xeon: 48 KiB L1d, 2 MiB
 * L2 per core):
 *   for each panel of SG_NC columns of C
 *     for each block of kc rows of B (kc <= SG_KC, fixed by K alone)
 *       for each block of SG_MC rows of C
 *         pack op(A)[mc, kc] into micro-panels of SG_MR = 8 rows: [kc][8] (8x8 transposes)
 *         for each 48-column micro-panel of B (packed [kc][48], zero-padded past N):
 *           for each 8-row micro-panel of A:
 *             micro-kernel: C[8, 48] (+)= A[8, kc] * B[kc, 48], 24 zmm accumulators; per k
 *             it loads 3 vectors of B and broadcasts 8 values of A into 24 FMAs
 * B's micro-panel is packed by the first row panel's micro-kernel itself: it reads B in
 * place (prefetching SG_PF_ROWS rows ahead) and stores each row it loads into the packed
 * buffer the other row panels then read, so reading the weights from memory overlaps FMAs
 * rather than being a copy pass of its own; meanwhile the other row panels' tiles prefetch
 * the next micro-panel into L2, a slice each. One packed micro-panel is live at a time, so
 * its buffer stays in cache. A transposed B is packed beforehand, whole panels (8x8
 * transposes), and so is a shallow one (kc <= SG_KC_SHALLOW: conv layers with few input
 * channels), whose row panels then sweep C left to right: there each tile is mostly its
 * stores, and whole rows of C stream to memory better than column strips. When one micro-panel of A covers all rows (M <= 8), B is used once and is
 * read in place, never packed; M == 1 is a GEMV with 8 vector accumulators (128 columns) per
 * block, reading B row by row.
 * Operands packed beforehand (rt_sgemm_pack_a / _b: the weights, packed once per model) are
 * laid out exactly as the per-call packing writes them, K block by K block, so the loop
 * nest reads them in place of its own buffers, straight from memory the first time: A's
 * micro-panels instead of packing the A block (the first column of tiles prefetches the
 * next micro-panel of A in step, a line every other k: 7x7 convs 1.4-1.5x faster than
 * packing per call with weights from memory), B's instead of packing (the first row panel
 * prefetches SG_PF_ROWS rows ahead, and every later row panel's tile fetches a slice of
 * the lines of the micro-panel that comes next, into L2, one line every few k: the next
 * one of the block, or the first of the next A block, K block or column panel; so with
 * the weights in the last-level cache (tinylm's 12 MiB) each micro-panel is in L2 when its
 * first row panel starts: bench_sgemm_tinylm's Linears 4.50 -> 4.14 ms of the model's run
 * at 1 thread, where one tile fetching the whole next micro-panel could not keep up). A column split then cuts
 * N at micro-panel boundaries (48 columns); the GEMV reads a packed B through the same K
 * chunks. Every element is summed by the same instructions in the same order as without
 * packing, so the results are the same bits.
 * The first K block writes C, later ones add to it, the last one adds bias_m then bias_n
 * and applies the activation before the store (C = act(((sum_kblock1 + sum_kblock2 + ...)
 * + bias_m) + bias_n)): the vector formulas of ref/activation.h for the clip kinds,
 * LeakyRelu and HardSigmoid, rt_act_span itself over the stored tile (in L1) for sigmoid, and
 * for Gelu vmath.h's rt_vm512_gelu / _gelu_tanh (the vector code the x86 Gelu kernel runs,
 * element by element the same bits as Linear + Gelu unfused): the 8x48 tile is staged in a
 * contiguous buffer and sg_act_vm_tile stores its Gelu to C (out of line, so the ~250
 * micro-kernel instances carry no copy of it; staged rather than reloaded from C, whose rows
 * 4 KiB apart alias the stores just made: tinylm's fc1 + Gelu 1.016x -> 0.985x the two
 * nodes unfused, bench_linear_gelu); the other tiles run sg_act_vm_rows over what they
 * stored.
 * Edges: the micro-kernel is
 * instantiated for 1..8 rows and 1..3 vectors, and the last vector of a row is loaded and
 * stored through a lane mask, so any M, N, K works without padding C. A last micro-panel of
 * one vector (N = 16, 64 = 48 + 16, 256 = 5 * 48 + 16) goes through tall tiles of 24 or 16
 * rows (sg_tall: 24 or 16 FMA chains per B vector instead of the 8-row tile's 8; not when A
 * is read in place with rows that share an L1 set, sg_rows_alias), and one
 * of at most 4 columns through sg_tail.
 *
 * Threads: the output is split into at most T parts, along N in 16-column units or along M
 * in 8-row panels, whichever makes the largest part cheapest counting its FMAs and the
 * packing it repeats (a part of a row split packs or reads all of B, one of a column split
 * all of A);
 * each part has its own packing buffers. Every element's sum runs over the same K blocks in
 * the same order whatever the split, so results are bit-identical for any thread count. No
 * state outside the call: buffers are allocated per call (packed operands are the caller's),
 * on the caller's stack when they fit in 48 KiB (SG_STACK_WS_FLOATS), else from malloc.
 */
#include <stdlib.h>
#include <string.h>

#include "../../rt_threads.h"
#include "../gemm.h"
#include "sgemm.h"
#include "vmath.h"

/* rt_sgemm (OpenBLAS or the portable loop), then the biases and the activation: the path
 * without AVX-512 (unpacked operands only). */
static void sg_fallback(const RtSgemm *g) {
    const int64_t M = g->M, N = g->N, K = g->K, ldc = g->ldc;
    float *C = g->C;
    if (K > 0)
        rt_sgemm(g->trans_a, g->trans_b, (int)M, (int)N, (int)K, 1.0f, g->A, (int)g->lda, g->B, (int)g->ldb, 0.0f,
                 C, (int)ldc);
    for (int64_t m = 0; m < M; m++) {
        float *c = C + m * ldc;
        if (K <= 0) memset(c, 0, sizeof(float) * (size_t)N);
        if (g->bias_m)
            for (int64_t n = 0; n < N; n++) c[n] += g->bias_m[m];
        if (g->bias_n)
            for (int64_t n = 0; n < N; n++) c[n] += g->bias_n[n];
        if (g->act && (g->act->kind == RT_ACT_GELU || g->act->kind == RT_ACT_GELU_TANH))
            rt_vm_gelu_f32(c, c, N, g->act->kind == RT_ACT_GELU_TANH); /* the x86 Gelu kernel's code */
        else if (g->act && g->act->kind != RT_ACT_NONE)
            rt_act_span(g->act, c, N, NULL);
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define T512 __attribute__((target("avx512f,avx512vl,avx2,fma")))
#define INL static inline __attribute__((always_inline))

enum {
    SG_MR = 8,        /* rows of a micro-tile (A values broadcast per k) */
    SG_NV = 3,        /* zmm vectors per micro-tile row */
    SG_NR = 48,       /* columns of a micro-tile = 16 * SG_NV */
    SG_KC = 256,      /* deepest K block: a B micro-panel is 48 KiB, an A one 8 KiB */
    SG_MC = 512,      /* rows of a packed A block: 512 KiB at kc 256, stays in L2 */
    SG_NC = 960,      /* columns of C per panel; a whole packed B panel (sg_panel_packed) is
                         at most 960 x kc floats */
    SG_GV = 8,        /* GEMV (M == 1): vectors per column block */
    SG_GK = 32,       /* GEMV: rows of B per sweep across the columns */
    SG_KC_SHALLOW = 32, /* K blocks this shallow pack whole B panels first (sg_panel_packed):
                           96x12544x16 73 -> 127 GFLOP/s, while kc 64 is better off without */
    SG_PF_ROWS = 16,  /* rows of B read from memory are prefetched this far ahead */
    SG_PAR_MIN = 1 << 21, /* multiply-adds below which one thread does it all (~10 us): a
                             smaller product's operands and output would travel between the
                             cores' caches (kws's 64x125x64, digits' 64x64x288: 2 threads no
                             faster than 1 within a model, often slower) */
    SG_GEMV_PAR_MIN = 1 << 18, /* the same for the GEMV, which streams its B once */
    SG_TAIL_COLS = 4, /* a last micro-panel this narrow goes to sg_tail (N = 49, 196: 7x7, 14x14) */
    SG_TAIL_PANELS = 4, /* row panels per sg_tail tile */
    SG_STACK_WS_FLOATS = 12288, /* workspaces up to 48 KiB live on rt_sgemm_run's stack */
    SG_CUT_PARTS = 8, /* most parts of a column split cut by tile cost (sg_plan_cuts) */
};

/* The activation as the store epilogue runs it: None/Relu/Clip are all min(hi, max(lo, v))
 * (lo = -inf, hi = +inf is the identity, NaN included); sigmoid is rt_act_span over each
 * stored tile row, which is the reference's own code; Gelu is vmath.h's vector Gelu over each
 * stored tile row (sg_act_vm_rows), the x86 Gelu kernel's own code. */
enum { SG_ACT_NONE, SG_ACT_CLIP, SG_ACT_LEAKY, SG_ACT_HSIG, SG_ACT_SPAN, SG_ACT_VM };

typedef struct {
    int kind;                    /* SG_ACT_* */
    int tanh_approx;             /* SG_ACT_VM: Gelu's tanh approximation (1) or erf (0) */
    float lo, hi;                /* SG_ACT_CLIP bounds */
    float alpha, beta;           /* LeakyRelu slope; HardSigmoid alpha * v + beta */
    const RtAct *ref;            /* borrowed: the activation itself (SG_ACT_SPAN) */
} SgAct;

typedef struct {
    int ta, tb;                  /* op(A) = A^T, op(B) = B^T */
    int64_t M, N, K;
    const float *A, *B;          /* borrowed */
    int64_t lda, ldb;
    const float *Ap, *Bp;        /* borrowed: op(A), op(B) packed beforehand (sg_pa / sg_pb), or NULL */
    int64_t m8, n48;             /* M rounded up to 8, N to 48: a packed K block's floats per k */
    float *C;                    /* borrowed [M, ldc] */
    int64_t ldc;
    const float *bm, *bn;        /* borrowed [M], [N] or NULL */
    SgAct act;
    int64_t kc;                  /* K block depth, fixed by K alone */
    int gemv;                    /* M == 1 and B not transposed: the GEMV path */
    int split_n;                 /* parts are column ranges (1) or row ranges (0) */
    int64_t ncol;                /* columns per unit of a column split (16, or 48 with Bp) or per
                                    GEMV block (128, or 96 with Bp) */
    int64_t parts, units;        /* parts over `units` micro-panels (or GEMV blocks) */
    int cuts;                    /* split_n: part p is columns [cut[p], cut[p + 1]) instead */
    int64_t cut[SG_CUT_PARTS + 1];
    float *ws;                   /* owned by the caller: parts slots of `slot` bytes */
    size_t slot;
} SgJob;

typedef struct {
    const float *a;              /* packed A micro-panel [kc][SG_MR] */
    const float *b;              /* B micro-panel: kc rows of up to 48 floats, bs apart */
    float *bpack;                /* SG_B_PACK only: where the micro-panel is copied, [kc][48] */
    int64_t bs, kc;
    float *c;                    /* C at the tile's first element */
    int64_t ldc;
    __mmask16 lm;                /* lanes of the tile's last vector inside C */
    int first, last;             /* first K block (write C) / last (add the biases, activation) */
    const float *bm, *bn;        /* biases at the tile's first row / column, or NULL */
    const SgAct *act;            /* the job's activation (applied when last) */
    float *stage;                /* SG_ACT_VM: [SG_MR][SG_NR], 64-byte aligned, where a
                                    finished tile waits for its Gelu (sg_act_vm_tile) */
    int64_t apf;                 /* A-prefetching kernels: floats from a to what they prefetch
                                    in step (the next micro-panel of A packed beforehand) */
    int64_t lda;                 /* direct-A kernels: A's row stride (a is A's row 0 at k0) */
    const float *npf;            /* SG_B_NEXTPF: the next micro-panel's first line to fetch */
    int64_t npf_lines, npf_every; /* lines to fetch, one every npf_every k */
    int npf_nv, npf_l;           /* lines per row of the next micro-panel; npf's line in its row */
} SgTile;

/* Fetching a slice of the next micro-panel of B into L2 while a tile runs (SG_B_NEXTPF, the
 * tall tiles): one line every `every` k, `left` lines in all, walking the packed rows' nv
 * lines each (l: the line's place in its row). */
typedef struct {
    const float *p;
    int64_t left, cnt, every;
    int l, nv;
} SgNextPf;

INL SgNextPf sg_npf_start(const SgTile *t) {
    return (SgNextPf){t->npf, t->npf_lines, t->npf_every, t->npf_every, t->npf_l, t->npf_nv};
}

/* One k step: the next line into L2 when its turn has come. */
T512 INL void sg_npf_step(SgNextPf *f) {
    if (--f->cnt != 0) return;
    f->cnt = f->every;
    if (f->left <= 0) return;
    _mm_prefetch((const char *)f->p, _MM_HINT_T1);
    f->left--;
    if (++f->l == f->nv) f->l = 0, f->p += SG_NR - 16 * (f->nv - 1);
    else f->p += 16;
}

/* ---- micro-kernel ---- */

/* How a micro-kernel reads B. */
enum {
    SG_B_PACKED = 0,  /* packed [kc][48], zero-padded: whole vectors */
    SG_B_DIRECT = 1,  /* in place, rows bs apart: the last vector through lm (reading past
                         the row could leave the buffer) */
    SG_B_PACK = 2,    /* in place as SG_B_DIRECT, and each row copied to t->bpack as packed
                         (the first row panel packs B for the others while it computes, so
                         the weights' trip from memory overlaps the FMAs) */
    SG_B_PREPF = 3,   /* packed as SG_B_PACKED, from memory (packed beforehand: the first row
                         panel to read a micro-panel), prefetched SG_PF_ROWS rows ahead */
    SG_B_NEXTPF = 4,  /* packed as SG_B_PACKED, and a slice of the lines of the next
                         micro-panel packed beforehand (t->npf) prefetched into L2, one line
                         every t->npf_every k (sg_next_pf), for SG_B_PREPF */
};

/* act(v) for the vector kinds (ref/activation.h's formulas, bit for bit: max(lo, v) is
 * lo > v ? lo : v, i.e. v < lo ? lo : v, keeping a NaN v; mul then add, not fused, as the
 * reference is compiled without contraction). */
T512 INL __m512 sg_act_v(int kind, __m512 lo, __m512 hi, __m512 al, __m512 be, __m512 v) {
    switch (kind) {
    case SG_ACT_CLIP:
        return _mm512_min_ps(hi, _mm512_max_ps(lo, v));
    case SG_ACT_LEAKY:
        return _mm512_mask_mul_ps(v, _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ), v, al);
    case SG_ACT_HSIG:
        v = _mm512_add_ps(_mm512_mul_ps(al, v), be);
        return _mm512_min_ps(_mm512_set1_ps(1.0f), _mm512_max_ps(_mm512_setzero_ps(), v));
    default:
        return v;
    }
}

/* rows x cols of C at c (rows ldc apart) = Gelu of themselves, 16 lanes at a time with a
 * masked last vector (vmath_avx512.c's loop, so the same bits wherever an element sits). */
T512 __attribute__((noinline)) static void sg_act_vm_rows(const SgAct *a, float *c, int64_t ldc, int64_t rows,
                                                          int64_t cols) {
    const __mmask16 lm = (__mmask16)(cols % 16 ? (1u << (cols % 16)) - 1 : 0);
    for (int64_t i = 0; i < rows; i++, c += ldc) {
        int64_t j = 0;
        if (a->tanh_approx) {
            for (; j + 16 <= cols; j += 16) _mm512_storeu_ps(c + j, rt_vm512_gelu_tanh(_mm512_loadu_ps(c + j)));
            if (lm) _mm512_mask_storeu_ps(c + j, lm, rt_vm512_gelu_tanh(_mm512_maskz_loadu_ps(lm, c + j)));
        } else {
            for (; j + 16 <= cols; j += 16) _mm512_storeu_ps(c + j, rt_vm512_gelu(_mm512_loadu_ps(c + j)));
            if (lm) _mm512_mask_storeu_ps(c + j, lm, rt_vm512_gelu(_mm512_maskz_loadu_ps(lm, c + j)));
        }
    }
}

/* The finished tile, biases added, staged contiguously in t[i][j] (row i, vector j: no
 * 4 KiB aliasing between its rows as C's rows 4 KiB apart would have): Gelu of each vector
 * stored to C's rows i < rows (ldc apart), the last vector through lm. */
T512 __attribute__((noinline)) static void sg_act_vm_tile(const SgAct *a, const float *t, float *c, int64_t ldc,
                                                          int rows, int nv, __mmask16 lm) {
    if (nv == SG_NV && lm == 0xffff && !a->tanh_approx) { /* whole rows: three Gelus side by side */
        for (int i = 0; i < rows; i++, c += ldc, t += SG_NR) {
            const __m512 g0 = rt_vm512_gelu(_mm512_load_ps(t)), g1 = rt_vm512_gelu(_mm512_load_ps(t + 16)),
                         g2 = rt_vm512_gelu(_mm512_load_ps(t + 32));
            _mm512_storeu_ps(c, g0);
            _mm512_storeu_ps(c + 16, g1);
            _mm512_storeu_ps(c + 32, g2);
        }
        return;
    }
    for (int i = 0; i < rows; i++, c += ldc, t += SG_NR)
        for (int j = 0; j < nv; j++) {
            const __m512 v = _mm512_load_ps(t + 16 * j);
            const __mmask16 m = j == nv - 1 ? lm : (__mmask16)0xffff;
            _mm512_mask_storeu_ps(c + 16 * j, m, a->tanh_approx ? rt_vm512_gelu_tanh(v) : rt_vm512_gelu(v));
        }
}

/* MR x 16 NV tile, B read as BMODE says; APF: A's next micro-panel (t->apf floats on, read
 * from memory the first time: packed beforehand) prefetched in step, a line every 2 k. AD:
 * A read in place (row i at a + i * lda, k along the row) instead of from a packed
 * micro-panel: the same values in the same order, so the same bits. */
T512 INL void sg_tile(const int MR, const int NV, const int BMODE, const int APF, const int AD, const SgTile *t) {
    __m512 acc[SG_MR][SG_NV];
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 3
        for (int j = 0; j < NV; j++) acc[i][j] = _mm512_setzero_ps();
    const float *a = t->a, *b = t->b;
    float *bp = t->bpack;
    const int64_t bs = t->bs, apf = t->apf, lda = AD ? t->lda : 0;
    const __mmask16 lm = t->lm;
    SgNextPf npf = sg_npf_start(t); /* SG_B_NEXTPF */
#pragma GCC unroll 4
    for (int64_t k = t->kc; k > 0; k--, a += AD ? 1 : SG_MR, b += bs) {
        __m512 bv[SG_NV];
#pragma GCC unroll 3
        for (int j = 0; j < NV; j++) {
            bv[j] = (BMODE == SG_B_DIRECT || BMODE == SG_B_PACK) && j == NV - 1 ? _mm512_maskz_loadu_ps(lm, b + 16 * j)
                                                                               : _mm512_loadu_ps(b + 16 * j);
            if (BMODE == SG_B_PACK) _mm512_storeu_ps(bp + 16 * j, bv[j]);
        }
        if (BMODE == SG_B_PACK) bp += SG_NR; /* only here: bpack is unset in the other modes */
        if (BMODE == SG_B_PACK) { /* B comes from memory here: fetch SG_PF_ROWS rows ahead */
#pragma GCC unroll 3
            for (int j = 0; j < NV; j++) _mm_prefetch((const char *)(b + SG_PF_ROWS * bs + 16 * j), _MM_HINT_T0);
            _mm_prefetch((const char *)(b + SG_PF_ROWS * bs + 16 * NV - 1), _MM_HINT_T0);
        }
        if (BMODE == SG_B_PREPF) { /* packed rows are whole lines: one prefetch per vector */
#pragma GCC unroll 3
            for (int j = 0; j < NV; j++) _mm_prefetch((const char *)(b + SG_PF_ROWS * SG_NR + 16 * j), _MM_HINT_T0);
        }
        if (BMODE == SG_B_NEXTPF) sg_npf_step(&npf); /* a line of the next micro-panel into L2 */
        if (APF && (k & 1)) _mm_prefetch((const char *)(a + apf), _MM_HINT_T1);
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            const __m512 av = _mm512_set1_ps(a[AD ? i * lda : i]);
#pragma GCC unroll 3
            for (int j = 0; j < NV; j++) acc[i][j] = _mm512_fmadd_ps(av, bv[j], acc[i][j]);
        }
    }
    /* locals: the stores to C below could alias *t as far as the compiler knows */
    float *const c0 = t->c;
    const int64_t ldc = t->ldc;
    const int first = t->first, last = t->last;
    const float *const bm = t->bm, *const bn = t->bn;
    const SgAct *const act = t->act;
    const int ak = last ? act->kind : SG_ACT_NONE;
    const __m512 lo = _mm512_set1_ps(act->lo), hi = _mm512_set1_ps(act->hi);
    const __m512 al = _mm512_set1_ps(act->alpha), be = _mm512_set1_ps(act->beta);
    float *const stage = t->stage;
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
        float *c = c0 + i * ldc;
#pragma GCC unroll 3
        for (int j = 0; j < NV; j++) {
            const __mmask16 m = j == NV - 1 ? lm : (__mmask16)0xffff;
            __m512 v = acc[i][j];
            if (!first) v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, c + 16 * j), v);
            if (last) {
                if (bm) v = _mm512_add_ps(v, _mm512_set1_ps(bm[i]));
                if (bn) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, bn + 16 * j));
            }
            if (ak == SG_ACT_VM) {
                _mm512_store_ps(stage + i * SG_NR + 16 * j, v);
                continue;
            }
            v = sg_act_v(ak, lo, hi, al, be, v);
            _mm512_mask_storeu_ps(c + 16 * j, m, v);
        }
    }
    if (ak == SG_ACT_SPAN) { /* the tile's rows are in L1 */
        const int64_t cols = 16 * (NV - 1) + __builtin_popcount(lm);
        for (int i = 0; i < MR; i++) rt_act_span(act->ref, c0 + i * ldc, cols, NULL);
    }
    if (ak == SG_ACT_VM) sg_act_vm_tile(act, stage, c0, ldc, MR, NV, lm);
}

typedef void (*SgKernel)(const SgTile *t);

#define SG_K(R, V) \
    T512 static void sg_kp##R##_##V(const SgTile *t) { sg_tile(R, V, SG_B_PACKED, 0, 0, t); } \
    T512 static void sg_kd##R##_##V(const SgTile *t) { sg_tile(R, V, SG_B_DIRECT, 0, 0, t); } \
    T512 static void sg_kw##R##_##V(const SgTile *t) { sg_tile(R, V, SG_B_PACK, 0, 0, t); } \
    T512 static void sg_kq##R##_##V(const SgTile *t) { sg_tile(R, V, SG_B_PREPF, 0, 0, t); } \
    T512 static void sg_kn##R##_##V(const SgTile *t) { sg_tile(R, V, SG_B_NEXTPF, 0, 0, t); } \
    T512 static void sg_xp##R##_##V(const SgTile *t) { sg_tile(R, V, SG_B_PACKED, 0, 1, t); } \
    T512 static void sg_xd##R##_##V(const SgTile *t) { sg_tile(R, V, SG_B_DIRECT, 0, 1, t); } \
    T512 static void sg_xw##R##_##V(const SgTile *t) { sg_tile(R, V, SG_B_PACK, 0, 1, t); } \
    T512 static void sg_xq##R##_##V(const SgTile *t) { sg_tile(R, V, SG_B_PREPF, 0, 1, t); } \
    T512 static void sg_xn##R##_##V(const SgTile *t) { sg_tile(R, V, SG_B_NEXTPF, 0, 1, t); }
#define SG_KROW(R) SG_K(R, 1) SG_K(R, 2) SG_K(R, 3)
SG_KROW(1) SG_KROW(2) SG_KROW(3) SG_KROW(4) SG_KROW(5) SG_KROW(6) SG_KROW(7) SG_KROW(8)
#undef SG_KROW
#undef SG_K
/* A-prefetching tiles: full row panels only (a short one is the last, with no next) */
#define SG_KA(V) \
    T512 static void sg_kap8_##V(const SgTile *t) { sg_tile(8, V, SG_B_PACKED, 1, 0, t); } \
    T512 static void sg_kaw8_##V(const SgTile *t) { sg_tile(8, V, SG_B_PACK, 1, 0, t); }
SG_KA(1) SG_KA(2) SG_KA(3)
#undef SG_KA

/* sg_kernels[B mode][rows - 1][vectors - 1] */
#define SG_KROW(P, R) {sg_##P##R##_1, sg_##P##R##_2, sg_##P##R##_3}
#define SG_KMODE(P) \
    {SG_KROW(P, 1), SG_KROW(P, 2), SG_KROW(P, 3), SG_KROW(P, 4), SG_KROW(P, 5), SG_KROW(P, 6), SG_KROW(P, 7), \
     SG_KROW(P, 8)}
static const SgKernel sg_kernels[5][SG_MR][SG_NV] = {SG_KMODE(kp), SG_KMODE(kd), SG_KMODE(kw), SG_KMODE(kq),
                                                     SG_KMODE(kn)};
/* the same, reading A in place (t->lda) */
static const SgKernel sg_kernels_ad[5][SG_MR][SG_NV] = {SG_KMODE(xp), SG_KMODE(xd), SG_KMODE(xw), SG_KMODE(xq),
                                                        SG_KMODE(xn)};
#undef SG_KMODE
#undef SG_KROW
/* sg_kernels_apf[B mode: 0 SG_B_PACKED, 1 SG_B_PACK][vectors - 1], 8 rows */
static const SgKernel sg_kernels_apf[2][SG_NV] = {{sg_kap8_1, sg_kap8_2, sg_kap8_3}, {sg_kaw8_1, sg_kaw8_2, sg_kaw8_3}};

/* The kernel for a tile of mr rows and nv vectors in B mode `mode`, prefetching A's next
 * micro-panel (t->apf on) when apf and the tile can; ad: reading A in place. */
static SgKernel sg_kernel(int mode, int64_t mr, int64_t nv, int apf, int ad) {
    if (ad) return sg_kernels_ad[mode][mr - 1][nv - 1];
    if (apf && mr == SG_MR && (mode == SG_B_PACKED || mode == SG_B_PACK))
        return sg_kernels_apf[mode == SG_B_PACK][nv - 1];
    return sg_kernels[mode][mr - 1][nv - 1];
}

static __mmask16 sg_mask(int64_t lanes) {
    return lanes >= 16 ? (__mmask16)0xffff : lanes <= 0 ? (__mmask16)0 : (__mmask16)((1u << lanes) - 1);
}

/* ---- one-vector micro-panels: tall tiles ----
 * A micro-panel of at most 16 columns (N = 16, digits' 4x4 maps; N = 64 = 48 + 16) gives the
 * 8-row tile 8 accumulators: 8 FMA chains are just enough to cover the FMA latency on two
 * ports, and any stall shows (8x16 runs at ~85% of the 8x48 tile in L1). Here P = 2 or 3
 * row panels share each k's B vector: 16 or 24 accumulators, each element the same fma
 * chain over k as in the 8-row tile, and the same epilogue: the same bits. B is read in
 * place (rows bs apart, the vector through lm); PF: rows SG_PF_ROWS ahead are prefetched
 * (the first tall tile of a micro-panel, which brings B in from wherever it is). */
T512 INL void sg_tall(const int P, const int AD, const int PF, const SgTile *t) {
    __m512 acc[3 * SG_MR];
#pragma GCC unroll 24
    for (int i = 0; i < P * SG_MR; i++) acc[i] = _mm512_setzero_ps();
    const float *b = t->b;
    const int64_t bs = t->bs, lda = AD ? t->lda : 0;
    /* row panel p's first row: a micro-panel of packed A, or A's row 8p read in place */
    const int64_t ps = AD ? SG_MR * lda : t->kc * SG_MR;
    const float *a0 = t->a, *a1 = a0 + ps, *a2 = a0 + (P > 2 ? 2 * ps : 0);
    const __mmask16 lm = t->lm;
    SgNextPf npf = sg_npf_start(t); /* a slice of the next micro-panel, as sg_tile's SG_B_NEXTPF */
    for (int64_t k = t->kc; k > 0; k--, b += bs) {
        const __m512 bv = _mm512_maskz_loadu_ps(lm, b);
        if (PF) {
            _mm_prefetch((const char *)(b + SG_PF_ROWS * bs), _MM_HINT_T0);
            _mm_prefetch((const char *)(b + SG_PF_ROWS * bs + 15), _MM_HINT_T0);
        }
        sg_npf_step(&npf);
#pragma GCC unroll 24
        for (int i = 0; i < P * SG_MR; i++) {
            const float *ar = i < SG_MR ? a0 : i < 2 * SG_MR ? a1 : a2;
            acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(ar[AD ? (i % SG_MR) * lda : i % SG_MR]), bv, acc[i]);
        }
        a0 += AD ? 1 : SG_MR, a1 += AD ? 1 : SG_MR, a2 += AD ? 1 : SG_MR;
    }
    float *const c0 = t->c;
    const int64_t ldc = t->ldc;
    const int first = t->first, last = t->last;
    const float *const bm = t->bm, *const bn = t->bn;
    const SgAct *const act = t->act;
    const int ak = last ? act->kind : SG_ACT_NONE;
    const __m512 lo = _mm512_set1_ps(act->lo), hi = _mm512_set1_ps(act->hi);
    const __m512 al = _mm512_set1_ps(act->alpha), be = _mm512_set1_ps(act->beta);
    const __m512 bnv = last && bn ? _mm512_maskz_loadu_ps(lm, bn) : _mm512_setzero_ps();
#pragma GCC unroll 24
    for (int i = 0; i < P * SG_MR; i++) { /* sg_tile's epilogue, one vector a row */
        float *c = c0 + i * ldc;
        __m512 v = acc[i];
        if (!first) v = _mm512_add_ps(_mm512_maskz_loadu_ps(lm, c), v);
        if (last) {
            if (bm) v = _mm512_add_ps(v, _mm512_set1_ps(bm[i]));
            if (bn) v = _mm512_add_ps(v, bnv);
        }
        _mm512_mask_storeu_ps(c, lm, sg_act_v(ak, lo, hi, al, be, v));
    }
    if (ak == SG_ACT_SPAN)
        for (int i = 0; i < P * SG_MR; i++) rt_act_span(act->ref, c0 + i * ldc, __builtin_popcount(lm), NULL);
    if (ak == SG_ACT_VM) sg_act_vm_rows(act, c0, ldc, P * SG_MR, __builtin_popcount(lm));
}

#define SG_T(P) \
    T512 static void sg_tall##P(const SgTile *t) { sg_tall(P, 0, 0, t); } \
    T512 static void sg_tallf##P(const SgTile *t) { sg_tall(P, 0, 1, t); } \
    T512 static void sg_talld##P(const SgTile *t) { sg_tall(P, 1, 0, t); } \
    T512 static void sg_talldf##P(const SgTile *t) { sg_tall(P, 1, 1, t); }
SG_T(2) SG_T(3)
#undef SG_T
/* sg_talls[A in place][prefetch B][panels - 2] */
static const SgKernel sg_talls[2][2][2] = {{{sg_tall2, sg_tall3}, {sg_tallf2, sg_tallf3}},
                                           {{sg_talld2, sg_talld3}, {sg_talldf2, sg_talldf3}}};

/* ---- packing ---- */

/* dst[c * ds + r] = src[r * ss + c] for r, c < 8: an 8x8 transpose in ymm registers. */
T512 INL void sg_tr8(const float *src, int64_t ss, float *dst, int64_t ds) {
    __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + ss), r2 = _mm256_loadu_ps(src + 2 * ss),
           r3 = _mm256_loadu_ps(src + 3 * ss), r4 = _mm256_loadu_ps(src + 4 * ss),
           r5 = _mm256_loadu_ps(src + 5 * ss), r6 = _mm256_loadu_ps(src + 6 * ss),
           r7 = _mm256_loadu_ps(src + 7 * ss);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3),
           t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
           t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xee),
           u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xee),
           u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xee),
           u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xee);
    _mm256_storeu_ps(dst, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(dst + ds, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(dst + 2 * ds, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(dst + 3 * ds, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(dst + 4 * ds, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(dst + 5 * ds, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(dst + 6 * ds, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(dst + 7 * ds, _mm256_permute2f128_ps(u3, u7, 0x31));
}

/* op(A) rows [m0, m0 + mc) x [k0, k0 + kc) into micro-panels ap[p][k][8] (panel p = rows
 * m0 + 8p ..); the rows a short last panel lacks are left unwritten (its kernel reads fewer). */
T512 static void sg_pack_a(const SgJob *j, int64_t m0, int64_t mc, int64_t k0, int64_t kc, float *ap) {
    for (int64_t p = 0; p * SG_MR < mc; p++) {
        const int64_t mr = mc - p * SG_MR < SG_MR ? mc - p * SG_MR : SG_MR;
        float *dst = ap + p * kc * SG_MR;
        if (j->ta) { /* element (m, k) at A[k * lda + m]: 8 rows are contiguous per k */
            const float *src = j->A + k0 * j->lda + m0 + p * SG_MR;
            const __mmask8 m = (__mmask8)((1u << mr) - 1);
            for (int64_t k = 0; k < kc; k++)
                _mm256_storeu_ps(dst + k * SG_MR, _mm256_maskz_loadu_ps(m, src + k * j->lda));
            continue;
        }
        const float *src = j->A + (m0 + p * SG_MR) * j->lda + k0;
        int64_t k = 0;
        if (mr == SG_MR)
            for (; k + 8 <= kc; k += 8) sg_tr8(src + k, j->lda, dst + k * SG_MR, SG_MR);
        for (; k < kc; k++)
            for (int64_t i = 0; i < mr; i++) dst[k * SG_MR + i] = src[i * j->lda + k];
    }
}

/* op(B) [k0, k0 + kc) x columns [n0, n0 + nc) into micro-panels bp[q][k][48], zeros past nc:
 * a transposed B, or a shallow one (sg_panel_packed); the others are packed by the first row
 * panel's micro-kernels (SG_B_PACK). */
T512 static void sg_pack_b(const SgJob *j, int64_t n0, int64_t nc, int64_t k0, int64_t kc, float *bp) {
    if (!j->tb) { /* element (k, n) at B[k * ldb + n]: row by row, so B is read sequentially */
        const int64_t full = nc / SG_NR, rest = nc - full * SG_NR;
        const __mmask16 m0 = sg_mask(rest), m1 = sg_mask(rest - 16), m2 = sg_mask(rest - 32);
        for (int64_t k = 0; k < kc; k++) {
            const float *src = j->B + (k0 + k) * j->ldb + n0;
            float *dst = bp + k * SG_NR;
            for (int64_t q = 0; q < full; q++, src += SG_NR, dst += kc * SG_NR) {
                _mm512_storeu_ps(dst, _mm512_loadu_ps(src));
                _mm512_storeu_ps(dst + 16, _mm512_loadu_ps(src + 16));
                _mm512_storeu_ps(dst + 32, _mm512_loadu_ps(src + 32));
            }
            if (rest) {
                _mm512_storeu_ps(dst, _mm512_maskz_loadu_ps(m0, src));
                _mm512_storeu_ps(dst + 16, _mm512_maskz_loadu_ps(m1, src + 16));
                _mm512_storeu_ps(dst + 32, _mm512_maskz_loadu_ps(m2, src + 32));
            }
        }
        return;
    }
    for (int64_t q = 0; q * SG_NR < nc; q++) {
        const int64_t nr = nc - q * SG_NR < SG_NR ? nc - q * SG_NR : SG_NR;
        float *dst = bp + q * kc * SG_NR;
        /* element (k, n) at B[n * ldb + k]: transpose 8 columns x 8 k at a time */
        const float *src = j->B + (n0 + q * SG_NR) * j->ldb + k0;
        for (int64_t jb = 0; jb < SG_NR; jb += 8) {
            const int64_t cols = nr - jb;
            int64_t k = 0;
            if (cols >= 8)
                for (; k + 8 <= kc; k += 8) sg_tr8(src + jb * j->ldb + k, j->ldb, dst + k * SG_NR + jb, SG_NR);
            for (; k < kc; k++)
                for (int64_t c = 0; c < 8; c++)
                    dst[k * SG_NR + jb + c] = c < cols ? src[(jb + c) * j->ldb + k] : 0.0f;
        }
    }
}

/* ---- the loop nest over one part of C ---- */

static int64_t sg_min(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t sg_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

/* K block depth: K cut into ceil(K / SG_KC) near-equal blocks. It depends on K alone, so
 * every element's sum runs over the same blocks whatever the split, and so do the packed
 * layouts. */
static int64_t sg_kc_of(int64_t K) {
    const int64_t nk = (K + SG_KC - 1) / SG_KC;
    return (K + nk - 1) / nk;
}

/* Operands packed beforehand (rt_sgemm_pack_a / _b), K block by K block: the block at k0
 * (depth kc = min(j->kc, K - k0)) holds A's rows as micro-panels [m8 / 8][kc][8] and B's
 * columns as micro-panels [n48 / 48][kc][48], exactly what sg_pack_a / sg_pack_b write, and
 * starts at k0 * m8 (k0 * n48): every block before it is j->kc deep. */
static const float *sg_pa(const SgJob *j, int64_t m, int64_t k0, int64_t kc) { return j->Ap + k0 * j->m8 + m * kc; }
static const float *sg_pb(const SgJob *j, int64_t n, int64_t k0, int64_t kc) { return j->Bp + k0 * j->n48 + n * kc; }

/* Rows of C a part's A buffer holds. */
static int64_t sg_rows_max(int64_t rows) { return sg_min(SG_MC, (rows + SG_MR - 1) / SG_MR * SG_MR); }
/* B packed a whole panel at a time beforehand (sg_pack_b), the row panels then sweeping it
 * left to right: when transposed, or when shallow (kc <= SG_KC_SHALLOW: the panel is small,
 * each tile is mostly its store of C, and C rows written left to right stream to memory far
 * better than column strips). Otherwise one micro-panel at a time, packed in the kernels. */
static int sg_panel_packed(const SgJob *j) { return j->tb || j->kc <= SG_KC_SHALLOW; }

/* Columns of B a part's packed buffer holds. */
static int64_t sg_cols_max(const SgJob *j, int64_t cols) {
    return sg_panel_packed(j) ? sg_min(SG_NC, (cols + SG_NR - 1) / SG_NR * SG_NR) : SG_NR;
}
/* Whether a part of `rows` rows packs B: not packed beforehand, and used by more than two
 * micro-panels of rows, or transposed. Two row panels read B in place (the second from L1
 * or L2 after the first): packing it would be a whole extra pass over B for two reads
 * (mobilenet's 16x12544x32 1x1 conv 108 -> 76 us). */
static int sg_pack_b_needed(const SgJob *j, int64_t rows) { return !j->Bp && (j->tb || rows > 2 * SG_MR); }

/* Prefetches rows [r0, r1) of B's in-place micro-panel at column n (48 columns, kc rows
 * from row k0) into L2: the next panel, fetched while this one's row panels compute. */
T512 static void sg_prefetch_b(const SgJob *j, int64_t k0, int64_t n, int64_t ncols, int64_t r0, int64_t r1) {
    if (ncols <= 0) return;
    const float *row = j->B + (k0 + r0) * j->ldb + n;
    for (int64_t r = r0; r < r1; r++, row += j->ldb) {
        for (int64_t c = 0; c < ncols; c += 16) _mm_prefetch((const char *)(row + c), _MM_HINT_T1);
        _mm_prefetch((const char *)(row + ncols - 1), _MM_HINT_T1);
    }
}

/* ---- narrow last micro-panels ----
 * A last micro-panel of at most SG_TAIL_COLS columns (N = 49 = 48 + 1) would cost the full
 * one-vector tile, mostly masked lanes: 9 loads and 8 FMAs per k for 8 rows, as much as a
 * third of the 8 x 48 tile. Here instead the 8 rows of an A micro-panel are the vector and
 * each column of B a broadcast: SG_TAIL_PANELS micro-panels of rows x E columns of ymm
 * accumulators, per k P loads of A, E broadcasts of B and P * E FMAs. Each element is the
 * same fma chain over k as in the tile (a product and its sum rounded by one fma, k in
 * order), and the epilogue runs the tile's operations in scalar: the same bits. */

/* out[p][e][0..8] = sum over k of A's micro-panel p (ap + p * kc * 8) times column e of B
 * (b, rows bs apart). */
T512 INL void sg_tail_tile(const int P, const int E, const float *ap, int64_t kc, const float *b, int64_t bs,
                           float *out) {
    __m256 acc[SG_TAIL_PANELS][SG_TAIL_COLS];
#pragma GCC unroll 4
    for (int p = 0; p < P; p++)
#pragma GCC unroll 4
        for (int e = 0; e < E; e++) acc[p][e] = _mm256_setzero_ps();
    for (int64_t k = 0; k < kc; k++, b += bs) {
        __m256 bv[SG_TAIL_COLS];
#pragma GCC unroll 4
        for (int e = 0; e < E; e++) bv[e] = _mm256_broadcast_ss(b + e);
#pragma GCC unroll 4
        for (int p = 0; p < P; p++) {
            const __m256 av = _mm256_loadu_ps(ap + p * kc * SG_MR + k * SG_MR);
#pragma GCC unroll 4
            for (int e = 0; e < E; e++) acc[p][e] = _mm256_fmadd_ps(av, bv[e], acc[p][e]);
        }
    }
#pragma GCC unroll 4
    for (int p = 0; p < P; p++)
#pragma GCC unroll 4
        for (int e = 0; e < E; e++) _mm256_storeu_ps(out + (p * SG_TAIL_COLS + e) * SG_MR, acc[p][e]);
}

typedef void (*SgTailKernel)(const float *ap, int64_t kc, const float *b, int64_t bs, float *out);
#define SG_TK(P, E) \
    T512 static void sg_tail##P##_##E(const float *ap, int64_t kc, const float *b, int64_t bs, float *out) { \
        sg_tail_tile(P, E, ap, kc, b, bs, out); \
    }
#define SG_TKROW(P) SG_TK(P, 1) SG_TK(P, 2) SG_TK(P, 3) SG_TK(P, 4)
SG_TKROW(1) SG_TKROW(2) SG_TKROW(3) SG_TKROW(4)
#undef SG_TKROW
#undef SG_TK
#define SG_TKROW(P) {sg_tail##P##_1, sg_tail##P##_2, sg_tail##P##_3, sg_tail##P##_4}
static const SgTailKernel sg_tails[SG_TAIL_PANELS][SG_TAIL_COLS] = {SG_TKROW(1), SG_TKROW(2), SG_TKROW(3), SG_TKROW(4)};
#undef SG_TKROW

/* act(v) in scalar, the operations of sg_act_v lane by lane (sigmoid: rt_act_span). */
static float sg_act_s(const SgAct *a, float v) {
    switch (a->kind) {
    case SG_ACT_CLIP:
        v = a->lo > v ? a->lo : v;
        return a->hi < v ? a->hi : v;
    case SG_ACT_LEAKY:
        return v < 0.0f ? v * a->alpha : v;
    case SG_ACT_HSIG:
        v = a->alpha * v + a->beta;
        v = 0.0f > v ? 0.0f : v;
        return 1.0f < v ? 1.0f : v;
    case SG_ACT_SPAN:
        rt_act_span(a->ref, &v, 1, NULL);
        return v;
    case SG_ACT_VM:
        sg_act_vm_rows(a, &v, 1, 1, 1);
        return v;
    default:
        return v;
    }
}

/* Columns [n, n + E) of C (E <= SG_TAIL_COLS) for rows [ic, ic + mc): A's micro-panels at
 * ap, B's columns at b (rows bs apart), the K block t describes (kc, first, last). */
T512 static void sg_tail(const SgJob *j, const SgTile *t, const float *ap, int64_t ic, int64_t mc, const float *b,
                         int64_t bs, int64_t n, int64_t E) {
    const int64_t kc = t->kc;
    float out[SG_TAIL_PANELS * SG_TAIL_COLS * SG_MR];
    for (int64_t ir = 0; ir < mc; ir += SG_TAIL_PANELS * SG_MR) {
        const int64_t rows = sg_min(SG_TAIL_PANELS * SG_MR, mc - ir), P = (rows + SG_MR - 1) / SG_MR;
        sg_tails[P - 1][E - 1](ap + ir * kc, kc, b, bs, out);
        for (int64_t r = 0; r < rows; r++) {
            const int64_t m = ic + ir + r;
            float *c = j->C + m * j->ldc + n;
            const float *o = out + ((r / SG_MR) * SG_TAIL_COLS) * SG_MR + r % SG_MR;
            for (int64_t e = 0; e < E; e++) {
                float v = o[e * SG_MR];
                if (!t->first) v = c[e] + v;
                if (t->last) {
                    if (j->bm) v = v + j->bm[m];
                    if (j->bn) v = v + j->bn[n + e];
                    v = sg_act_s(&j->act, v);
                }
                c[e] = v;
            }
        }
    }
}

/* Row panels [ir0, mc) of an A block against a whole packed B panel (sg_panel_packed), each
 * row panel sweeping the columns left to right. */
T512 static void sg_block_rows(const SgJob *j, SgTile *t, const float *ap, const float *bp, int64_t ic,
                               int64_t mc, int64_t jc, int64_t nc, int64_t kc) {
    t->bs = SG_NR;
    t->apf = kc * SG_MR;
    const int64_t tail = nc % SG_NR <= SG_TAIL_COLS ? nc % SG_NR : 0, ncw = nc - tail;
    if (tail) sg_tail(j, t, ap, ic, mc, bp + ncw * kc, SG_NR, jc + ncw, tail);
    for (int64_t ir = 0; ir < mc; ir += SG_MR) {
        const int64_t mr = sg_min(SG_MR, mc - ir);
        t->a = ap + ir * kc;
        t->bm = j->bm ? j->bm + ic + ir : NULL;
        for (int64_t jr = 0; jr < ncw; jr += SG_NR) {
            const int64_t nr = sg_min(SG_NR, nc - jr), nv = (nr + 15) / 16;
            t->lm = sg_mask(nr - 16 * (nv - 1));
            t->b = bp + jr * kc;
            t->bn = j->bn ? j->bn + jc + jr : NULL;
            t->c = j->C + (ic + ir) * j->ldc + jc + jr;
            sg_kernel(SG_B_PACKED, mr, nv, j->Ap && jr == 0 && ir + SG_MR < mc, 0)(t);
        }
    }
}

/* The next micro-panel of B packed beforehand (its lines fetched into L2 by the tiles before
 * it, a slice each: sg_pf_slice), or none. */
typedef struct {
    const float *p;   /* its first row (NULL: none) */
    int64_t rows;     /* its depth kc */
    int nv;           /* lines read per row: its vectors */
} SgNext;

/* Tile `part` of `parts` fetches part `part` of nx's lines (row by row, nv lines each), spread
 * over its kc k steps (one line every npf_every k); none when nx has no panel. */
static void sg_pf_slice(SgTile *t, const SgNext *nx, int64_t part, int64_t parts, int64_t kc) {
    t->npf_lines = 0, t->npf_every = INT64_MAX, t->npf = NULL, t->npf_nv = 1, t->npf_l = 0;
    if (!nx->p || parts <= 0) return;
    const int64_t lines = nx->rows * nx->nv, per = (lines + parts - 1) / parts, l0 = part * per;
    if (l0 >= lines) return;
    t->npf_lines = sg_min(sg_min(per, lines - l0), kc);
    t->npf_every = kc / t->npf_lines;
    t->npf_nv = nx->nv;
    t->npf_l = (int)(l0 % nx->nv);
    t->npf = nx->p + l0 / nx->nv * SG_NR + 16 * (l0 % nx->nv);
}

/* Whether rows of A read in place, lda floats apart, fall into so few sets of the 12-way
 * L1 that a tall tile's 16 or 24 rows cannot stay there together (rows 4 KiB apart share
 * one set): then the one-vector micro-panel goes through the 8-row tiles, whose 8 rows fit
 * (tinylm's fc2, A = [128, 1024]: its last 16 columns 35 -> 22 us). */
static int sg_rows_alias(int64_t lda) {
    int per_set[64] = {0};
    for (int64_t r = 0; r < 2 * SG_MR; r++)
        if (++per_set[(r * lda / 16) % 64] > SG_MR) return 1;
    return 0;
}

/* Rows [ic, ic + mc) of a one-vector micro-panel (columns [n, n + nr), nr <= 16) through tall
 * tiles of 3 or 2 row panels (sg_tall; 4 panels as 2 + 2), the rows left over (under 16)
 * through the 8-row kernels in B mode `mode`; B at b, rows bs apart, read in place by every
 * tile (a column strip's rows are one or two lines each: no packing pass). */
T512 static void sg_tall_cols(const SgJob *j, SgTile *t, const float *ap, int mode, const float *b, int64_t bs,
                              int64_t ic, int64_t mc, int64_t n, int64_t nr, const SgNext *nx) {
    const int ad = t->lda != 0;
    t->b = b;
    t->bs = bs;
    t->lm = sg_mask(nr);
    t->bn = j->bn ? j->bn + n : NULL;
    const int64_t tall_end = ad && sg_rows_alias(t->lda) ? 0 : mc;
    int64_t ir = 0, talls = 0;
    for (int64_t left = tall_end / SG_MR; left >= 2; left -= left == 2 || left == 4 ? 2 : 3) talls++;
    for (int pf = 1, q = 0; tall_end - ir >= 2 * SG_MR; pf = 0, q++) {
        const int64_t left = (mc - ir) / SG_MR, P = left == 2 || left == 4 ? 2 : 3;
        t->a = ap + ir * (ad ? t->lda : t->kc);
        t->bm = j->bm ? j->bm + ic + ir : NULL;
        t->c = j->C + (ic + ir) * j->ldc + n;
        sg_pf_slice(t, nx, q, talls, t->kc);
        sg_talls[ad][pf][P - 2](t);
        ir += P * SG_MR;
    }
    /* the rows left: 8-row tiles, fetching the next micro-panel in slices when no tall tile
     * did (B packed beforehand) */
    const int64_t eights = (mc - ir + SG_MR - 1) / SG_MR;
    const int spread = talls == 0 && mode == SG_B_PACKED && nx->p;
    for (int64_t q = 0; ir < mc; ir += SG_MR, q++) {
        t->a = ap + ir * (ad ? t->lda : t->kc);
        t->bm = j->bm ? j->bm + ic + ir : NULL;
        t->c = j->C + (ic + ir) * j->ldc + n;
        if (spread) sg_pf_slice(t, nx, q, eights, t->kc);
        sg_kernel(spread ? SG_B_NEXTPF : mode, sg_min(SG_MR, mc - ir), 1, 0, ad)(t);
    }
}

/* Where sg_block_cols' B micro-panels come from. */
enum {
    SG_SRC_DIRECT, /* read in place (one micro-panel of rows: B is used once) */
    SG_SRC_PACK,   /* packed into bp by the first row panel's kernels (SG_B_PACK) */
    SG_SRC_PRE,    /* packed beforehand (j->Bp) */
};

/* An A block against B's columns one micro-panel at a time, B's micro-panels from `src`.
 * Meanwhile the row panels' tiles prefetch the next micro-panel into L2, a slice each (the
 * first row panel's, when it packs, excepted: it is busy reading the current one). */
T512 static void sg_block_cols(const SgJob *j, SgTile *t, const float *ap, float *bp, int src, int64_t ic,
                               int64_t mc, int64_t jc, int64_t nc, int64_t pc, int64_t kc, const SgNext *after) {
    const int64_t panels = (mc + SG_MR - 1) / SG_MR;
    t->apf = kc * SG_MR;
    for (int64_t jr = 0; jr < nc; jr += SG_NR) {
        const int64_t nr = sg_min(SG_NR, nc - jr), nv = (nr + 15) / 16;
        const float *pre = src == SG_SRC_PRE ? sg_pb(j, jc + jr, pc, kc) : NULL;
        /* the micro-panel packed beforehand that comes next (this block's next, or the first
         * of the next block): the tiles after the first row panel fetch it into L2 */
        SgNext nx = {NULL, 0, 0};
        if (pre && jr + SG_NR < nc) nx = (SgNext){pre + kc * SG_NR, kc, (int)((sg_min(SG_NR, nc - jr - SG_NR) + 15) / 16)};
        else if (pre) nx = *after;
        if (nr <= SG_TAIL_COLS) { /* B's columns read where they are, packed or not */
            if (pre) sg_tail(j, t, ap, ic, mc, pre, SG_NR, jc + jr, nr);
            else sg_tail(j, t, ap, ic, mc, j->B + pc * j->ldb + jc + jr, j->ldb, jc + jr, nr);
            continue;
        }
        if (nv == 1 && mc >= 2 * SG_MR) { /* B's last, one-vector micro-panel: tall tiles */
            if (pre) sg_tall_cols(j, t, ap, SG_B_PACKED, pre, SG_NR, ic, mc, jc + jr, nr, &nx);
            else sg_tall_cols(j, t, ap, SG_B_DIRECT, j->B + pc * j->ldb + jc + jr, j->ldb, ic, mc, jc + jr, nr, &nx);
            continue;
        }
        t->lm = sg_mask(nr - 16 * (nv - 1));
        t->bpack = bp;
        t->bn = j->bn ? j->bn + jc + jr : NULL;
        for (int64_t ir = 0, p = 0; ir < mc; ir += SG_MR, p++) {
            const int64_t mr = sg_min(SG_MR, mc - ir);
            const int apf = j->Ap && jr == 0 && ir + SG_MR < mc; /* sg_kernel's A-prefetching tiles */
            const int mode = src == SG_SRC_DIRECT ? SG_B_DIRECT
                             : src == SG_SRC_PACK ? (ir == 0 ? SG_B_PACK : SG_B_PACKED)
                             : ir == 0            ? SG_B_PREPF
                             : nx.p && !apf       ? SG_B_NEXTPF
                                                  : SG_B_PACKED;
            if (mode == SG_B_NEXTPF) sg_pf_slice(t, &nx, p - 1, panels - 1, kc);
            t->bs = mode == SG_B_DIRECT || mode == SG_B_PACK ? j->ldb : SG_NR;
            t->b = pre ? pre : mode == SG_B_PACKED ? bp : j->B + pc * j->ldb + jc + jr;
            t->a = ap + ir * (t->lda ? t->lda : kc);
            t->bm = j->bm ? j->bm + ic + ir : NULL;
            t->c = j->C + (ic + ir) * j->ldc + jc + jr;
            /* the first column of tiles reads A packed beforehand from memory */
            sg_kernel(mode, mr, nv, apf, t->lda != 0)(t);
            if (p == 0 || src != SG_SRC_PACK || jr + SG_NR >= nc) continue;
            const int64_t per = (kc + panels - 2) / (panels - 1), r0 = sg_min((p - 1) * per, kc), r1 = sg_min(p * per, kc);
            if (src == SG_SRC_PACK) {
                sg_prefetch_b(j, pc, jc + jr + SG_NR, sg_min(SG_NR, nc - jr - SG_NR), r0, r1);
            } else { /* the next packed micro-panel: rows of 48 floats, 3 lines each */
                const float *next = pre + kc * SG_NR;
                for (int64_t r = r0; r < r1; r++)
                    for (int l = 0; l < 3; l++) _mm_prefetch((const char *)(next + r * SG_NR + 16 * l), _MM_HINT_T1);
            }
        }
    }
}

T512 static void sg_block(const SgJob *j, int64_t m0, int64_t m1, int64_t n0, int64_t n1, float *ws) {
    const int pack_b = sg_pack_b_needed(j, m1 - m0);
    /* row panels sweep whole B panels: when this call packs B whole panels at a time, or
     * when B was packed beforehand and is shallow (see sg_panel_packed) */
    const int whole = pack_b ? sg_panel_packed(j) : j->Bp != NULL && j->kc <= SG_KC_SHALLOW;
    float *abuf = ws, *bp = ws + (j->Ap ? 0 : sg_rows_max(m1 - m0) * j->kc);
    const int src = j->Bp ? SG_SRC_PRE : pack_b ? SG_SRC_PACK : SG_SRC_DIRECT;
    SgTile t;
    memset(&t, 0, sizeof t);
    t.ldc = j->ldc;
    t.act = &j->act;
    float stage[SG_MR * SG_NR] __attribute__((aligned(64)));
    t.stage = stage;
    /* A read in place rather than packed, when it is not transposed and every micro-panel of
     * B goes through the tiles (no sg_tail: its narrow last panels read packed A), B one
     * micro-panel at a time: the activations of a transformer's Linears (packing them cost
     * ~3% of tinylm's run) */
    int ad = !j->Ap && !j->ta && !whole && j->lda > 0;
    for (int64_t jc = n0; ad && jc < n1; jc += SG_NC) {
        const int64_t rest = sg_min(SG_NC, n1 - jc) % SG_NR;
        if (rest > 0 && rest <= SG_TAIL_COLS) ad = 0;
    }
    t.lda = ad ? j->lda : 0;
    for (int64_t jc = n0; jc < n1; jc += SG_NC) {
        const int64_t nc = sg_min(SG_NC, n1 - jc);
        for (int64_t pc = 0; pc < j->K; pc += j->kc) {
            const int64_t kc = sg_min(j->kc, j->K - pc);
            t.kc = kc;
            t.first = pc == 0;
            t.last = pc + kc >= j->K;
            if (whole && pack_b) sg_pack_b(j, jc, nc, pc, kc, bp);
            const float *bw = whole ? (pack_b ? bp : sg_pb(j, jc, pc, kc)) : NULL;
            for (int64_t ic = m0; ic < m1; ic += SG_MC) {
                const int64_t mc = sg_min(SG_MC, m1 - ic);
                /* the first B micro-panel comes from memory while A is packed */
                if (src == SG_SRC_PACK && !whole) sg_prefetch_b(j, pc, jc, sg_min(SG_NR, nc), 0, kc);
                /* the part's first packed micro-panel: kc rows of 3 lines (the tiles before each
                 * later one fetch it, sg_pf_slice) */
                if (src == SG_SRC_PRE && !whole && jc == n0 && pc == 0 && ic == m0) {
                    const float *pb = sg_pb(j, jc, pc, kc);
                    for (int64_t r = 0; r < 3 * kc; r++) _mm_prefetch((const char *)(pb + 16 * r), _MM_HINT_T1);
                }
                /* the micro-panel after this block's last: the next A block's first, the next
                 * K block's first, or the next column panel's first */
                SgNext after = {NULL, 0, 0};
                if (src == SG_SRC_PRE && !whole) {
                    const int64_t nk = pc + kc, jn = jc + SG_NC;
                    if (ic + SG_MC < m1) after = (SgNext){sg_pb(j, jc, pc, kc), kc, (int)((sg_min(SG_NR, nc) + 15) / 16)};
                    else if (nk < j->K)
                        after = (SgNext){sg_pb(j, jc, nk, sg_min(j->kc, j->K - nk)), sg_min(j->kc, j->K - nk),
                                         (int)((sg_min(SG_NR, nc) + 15) / 16)};
                    else if (jn < n1)
                        after = (SgNext){sg_pb(j, jn, 0, sg_min(j->kc, j->K)), sg_min(j->kc, j->K),
                                         (int)((sg_min(SG_NR, n1 - jn) + 15) / 16)};
                }
                const float *ap = abuf;
                if (j->Ap) ap = sg_pa(j, ic, pc, kc);
                else if (ad) ap = j->A + ic * j->lda + pc;
                else sg_pack_a(j, ic, mc, pc, kc, abuf);
                if (whole) sg_block_rows(j, &t, ap, bw, ic, mc, jc, nc, kc);
                else sg_block_cols(j, &t, ap, bp, src, ic, mc, jc, nc, pc, kc, &after);
            }
        }
    }
}

/* ---- M == 1: GEMV ---- */

/* C[0, n0 .. n0 + 16 NV) += A[0, k0 .. k1) * B[k0 .. k1, same columns] (written at k0 == 0,
 * biases and activation at k1 == K); the vectors' masks cut the block at n1. B in place, or
 * packed beforehand (then n0 is a multiple of 48 and vector v is in micro-panel v / 3). */
T512 INL void sg_gemv_tile(const int NV, const SgJob *j, int64_t n0, int64_t n1, int64_t k0, int64_t k1) {
    __m512 acc[SG_GV];
    __mmask16 m[SG_GV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++) {
        acc[v] = _mm512_setzero_ps();
        m[v] = sg_mask(n1 - n0 - 16 * v);
    }
    /* op(A) is one row: K values `as` apart (a packed A's row 0 is every 8th float) */
    const int64_t as = j->Ap ? SG_MR : j->ta ? j->lda : 1;
    const float *a = (j->Ap ? j->Ap : j->A) + k0 * as;
    if (j->Bp) {
        for (int64_t k = k0; k < k1;) { /* each K block's stretch of [k0, k1) */
            const int64_t pc = k / j->kc * j->kc, kc = sg_min(j->kc, j->K - pc), ke = sg_min(k1, pc + kc);
            const float *b = sg_pb(j, n0, pc, kc) + (k - pc) * SG_NR;
            for (; k < ke; k++, a += as, b += SG_NR) {
                const __m512 av = _mm512_set1_ps(*a);
#pragma GCC unroll 8
                for (int v = 0; v < NV; v++)
                    acc[v] = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m[v], b + (v / 3) * SG_NR * kc + 16 * (v % 3)),
                                             acc[v]);
            }
        }
    } else {
        const float *b = j->B + k0 * j->ldb + n0;
        /* the same columns of the next chunk's rows are fetched meanwhile (B streams from
         * memory once: a classifier's weights) */
        const int64_t pf = k1 < j->K ? SG_GK * j->ldb : 0;
        for (int64_t k = k0; k < k1; k++, a += as, b += j->ldb) {
            const __m512 av = _mm512_set1_ps(*a);
#pragma GCC unroll 8
            for (int v = 0; v < NV; v++) {
                _mm_prefetch((const char *)(b + pf + 16 * v), _MM_HINT_T0);
                acc[v] = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m[v], b + 16 * v), acc[v]);
            }
        }
    }
    float *c = j->C + n0;
    const SgAct *act = &j->act;
    const int ak = k1 == j->K ? act->kind : SG_ACT_NONE;
    const __m512 lo = _mm512_set1_ps(act->lo), hi = _mm512_set1_ps(act->hi);
    const __m512 al = _mm512_set1_ps(act->alpha), be = _mm512_set1_ps(act->beta);
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++) {
        __m512 r = acc[v];
        if (k0 > 0) r = _mm512_add_ps(_mm512_maskz_loadu_ps(m[v], c + 16 * v), r);
        if (k1 == j->K) {
            if (j->bm) r = _mm512_add_ps(r, _mm512_set1_ps(j->bm[0]));
            if (j->bn) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(m[v], j->bn + n0 + 16 * v));
        }
        _mm512_mask_storeu_ps(c + 16 * v, m[v], sg_act_v(ak, lo, hi, al, be, r));
    }
    if (ak == SG_ACT_SPAN) rt_act_span(act->ref, c, n1 - n0, NULL);
    if (ak == SG_ACT_VM) sg_act_vm_rows(act, c, 0, 1, n1 - n0);
}

#define SG_GV_DEF(V) \
    T512 static void sg_gemv##V(const SgJob *j, int64_t n0, int64_t n1, int64_t k0, int64_t k1) { \
        sg_gemv_tile(V, j, n0, n1, k0, k1); \
    }
SG_GV_DEF(1) SG_GV_DEF(2) SG_GV_DEF(3) SG_GV_DEF(4) SG_GV_DEF(5) SG_GV_DEF(6) SG_GV_DEF(7) SG_GV_DEF(8)
#undef SG_GV_DEF

static void (*const sg_gemvs[SG_GV])(const SgJob *, int64_t, int64_t, int64_t, int64_t) = {
    sg_gemv1, sg_gemv2, sg_gemv3, sg_gemv4, sg_gemv5, sg_gemv6, sg_gemv7, sg_gemv8,
};

/* Columns [n0, n1) in chunks of SG_GK rows of B, each chunk swept across the columns in
 * blocks of j->ncol columns (128; 96 = two micro-panels when B is packed): a chunk's rows
 * are few enough pages for the TLB and the prefetchers' streams, and each row is read left
 * to right. Every element sums its chunks in order whatever the blocks. */
static void sg_gemv(const SgJob *j, int64_t n0, int64_t n1) {
    for (int64_t k0 = 0; k0 < j->K; k0 += SG_GK) {
        const int64_t k1 = sg_min(k0 + SG_GK, j->K);
        for (int64_t n = n0; n < n1; n += j->ncol) {
            const int64_t e = sg_min(n + j->ncol, n1);
            sg_gemvs[(e - n + 15) / 16 - 1](j, n, e, k0, k1);
        }
    }
}

/* ---- parts and threads ---- */

/* Units a part covers: micro-panels of rows (split_n 0), j->ncol columns (split_n 1), or
 * GEMV blocks. */
static void sg_part_range(const SgJob *j, int64_t part, int64_t *m0, int64_t *m1, int64_t *n0, int64_t *n1) {
    int64_t b, e;
    rt_chunk_range(j->units, j->parts, part, &b, &e);
    *m0 = 0, *m1 = j->M, *n0 = 0, *n1 = j->N;
    if (j->cuts) {
        *n0 = j->cut[part], *n1 = j->cut[part + 1];
    } else if (j->gemv || j->split_n) {
        *n0 = b * j->ncol, *n1 = sg_min(e * j->ncol, j->N);
    } else {
        *m0 = b * SG_MR, *m1 = sg_min(e * SG_MR, j->M);
    }
}

static void sg_parts_chunk(void *arg, int64_t begin, int64_t end) {
    const SgJob *j = arg;
    for (int64_t p = begin; p < end; p++) {
        int64_t m0, m1, n0, n1;
        sg_part_range(j, p, &m0, &m1, &n0, &n1);
        if (j->gemv) sg_gemv(j, n0, n1);
        else sg_block(j, m0, m1, n0, n1, j->ws ? (float *)((char *)j->ws + (size_t)p * j->slot) : NULL);
    }
}

/* The largest of `parts` ranges when `len` is split in whole units of `unit`. */
static int64_t sg_split_worst(int64_t len, int64_t unit, int64_t parts) {
    int64_t units = (len + unit - 1) / unit, worst = 0;
    for (int64_t p = 0; p < parts; p++) {
        int64_t b, e;
        rt_chunk_range(units, parts, p, &b, &e);
        int64_t span = sg_min(e * unit, len) - b * unit;
        if (span > worst) worst = span;
    }
    return worst;
}

/* FMAs per k per 8-row panel over a part of w columns, its micro-panels counted from its
 * first column: 8 per vector of a tile (the last one masked), 1 per column of a tail. */
static int64_t sg_cols_cost(int64_t w) {
    const int64_t r = w % SG_NR;
    return w / SG_NR * 8 * SG_NV + (r == 0 ? 0 : r <= SG_TAIL_COLS ? r : 8 * ((r + 15) / 16));
}

/* A column split into `parts` at whole micro-panels, each part's tile cost (sg_cols_cost)
 * as near 1 / parts of the whole as the micro-panels allow, into j->cut, when that makes
 * the costliest part cheaper than the split in equal j->ncol units does. 16-column units
 * can start a part mid micro-panel, leaving it a one-vector panel: N = 196 splits as
 * 112 + 84 columns (tile costs 56 + 48), where 96 + 100 costs 48 + 52 (mobilenet's 14x14
 * projection convs). */
static void sg_plan_cuts(SgJob *j) {
    const int64_t parts = j->parts, N = j->N, panels = (N + SG_NR - 1) / SG_NR, total = sg_cols_cost(N);
    if (parts < 2 || parts > SG_CUT_PARTS || parts > panels) return;
    int64_t cut[SG_CUT_PARTS + 1], even = 0, best = 0, q = 0;
    for (int64_t p = 0; p < parts; p++) {
        int64_t b, e;
        rt_chunk_range(j->units, parts, p, &b, &e);
        const int64_t c = sg_cols_cost(sg_min(e * j->ncol, N) - b * j->ncol);
        if (c > even) even = c;
    }
    cut[0] = 0, cut[parts] = N;
    for (int64_t p = 1; p < parts; p++) {
        const int64_t goal = total * p / parts; /* cost before cut p: sg_cols_cost(q * 48) */
        while (q + 1 < panels && sg_cols_cost((q + 1) * SG_NR) <= goal) q++;
        int64_t c = q;
        if (q + 1 < panels && sg_cols_cost((q + 1) * SG_NR) - goal < goal - sg_cols_cost(q * SG_NR)) c = q + 1;
        if (c * SG_NR <= cut[p - 1]) c = cut[p - 1] / SG_NR + 1;
        if (c >= panels) return; /* no micro-panel left for the parts after */
        cut[p] = c * SG_NR;
        q = c;
    }
    for (int64_t p = 0; p < parts; p++) {
        const int64_t c = sg_cols_cost(cut[p + 1] - cut[p]);
        if (c > best) best = c;
    }
    if (best >= even) return;
    memcpy(j->cut, cut, sizeof cut);
    j->cuts = 1;
}

/* Parts and their direction. A part's cost, in cycles of one core: its tiles' FMAs (rows
 * padded to 8, columns to 16; 32 flops a cycle) plus what it packs or reads: a part of a
 * column split packs all of A (from cache, transposed: about 2 floats a cycle) and its
 * share of B; a part of a row split packs all of B (the weights, often from the last-level
 * cache: about a float a cycle) and its share of A. An operand packed beforehand is only
 * read (about 4 floats a cycle); a B read in place (parts of at most two row panels) costs
 * as much as packing it (its rows are far apart, often in the other core's cache), which
 * keeps products with few rows (16x12544x32, 32x784x192) from having both threads read all
 * of B. The split with the cheaper largest part wins, N on a tie. */
static void sg_plan(SgJob *j, int threads) {
    j->kc = sg_kc_of(j->K);
    j->parts = 1;
    j->split_n = 1;
    j->gemv = j->M == 1 && !j->tb;
    if (j->gemv) {
        j->ncol = j->Bp ? 2 * SG_NR : 16 * SG_GV;
        j->units = (j->N + j->ncol - 1) / j->ncol;
        if (threads > 1 && j->N * j->K >= SG_GEMV_PAR_MIN) j->parts = sg_min(threads, j->units);
        return;
    }
    j->ncol = j->Bp ? SG_NR : 16; /* a part's columns start at a packed micro-panel */
    const int64_t pm = (j->M + SG_MR - 1) / SG_MR, pn = (j->N + j->ncol - 1) / j->ncol;
    j->units = pn;
    if (threads < 2 || j->M * j->N * j->K < SG_PAR_MIN || (pm < 2 && pn < 2)) return;
    const int64_t tn = sg_min(threads, pn), tm = sg_min(threads, pm), K = j->K;
    const int64_t m8 = sg_up(j->M, 8), n16 = sg_up(j->N, 16);
    int64_t cn = INT64_MAX, cm = INT64_MAX;
    if (tn > 1) {
        const int64_t wc = sg_split_worst(j->N, j->ncol, tn);
        cn = m8 * sg_up(wc, 16) * K / 32 + (j->Ap ? j->M * K / 4 : j->M * K / 2) +
             (j->Bp ? wc * K / 4 : wc * K);
    }
    if (tm > 1) {
        const int64_t wr = sg_split_worst(j->M, SG_MR, tm);
        cm = sg_up(wr, 8) * n16 * K / 32 + (j->Ap ? wr * K / 4 : wr * K / 2) +
             (j->Bp ? j->N * K / 4 : j->N * K);
    }
    if (cn <= cm) {
        j->parts = tn;
        sg_plan_cuts(j);
    } else {
        j->split_n = 0;
        j->units = pm;
        j->parts = tm;
    }
}

static SgAct sg_act_make(const RtAct *a) {
    SgAct s = {SG_ACT_NONE, 0, -INFINITY, INFINITY, 0.0f, 0.0f, a};
    if (!a) return s;
    switch (a->kind) {
    case RT_ACT_NONE:
        break;
    case RT_ACT_RELU:
        s.kind = SG_ACT_CLIP, s.lo = 0.0f;
        break;
    case RT_ACT_CLIP:
        s.kind = SG_ACT_CLIP, s.lo = a->alpha, s.hi = a->beta;
        break;
    case RT_ACT_LEAKY_RELU:
        s.kind = SG_ACT_LEAKY, s.alpha = a->alpha;
        break;
    case RT_ACT_HARD_SIGMOID:
        s.kind = SG_ACT_HSIG, s.alpha = a->alpha, s.beta = a->beta;
        break;
    case RT_ACT_SIGMOID:
        s.kind = SG_ACT_SPAN;
        break;
    case RT_ACT_GELU:
    case RT_ACT_GELU_TANH:
        s.kind = SG_ACT_VM, s.tanh_approx = a->kind == RT_ACT_GELU_TANH;
        break;
    }
    return s;
}

int rt_sgemm_nn_is_native(void) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

int64_t rt_sgemm_packed_a_floats(int64_t M, int64_t K) {
    return M > 0 && K > 0 && rt_sgemm_nn_is_native() ? sg_up(M, SG_MR) * K : 0;
}

int64_t rt_sgemm_packed_b_floats(int64_t K, int64_t N) {
    return N > 0 && K > 0 && rt_sgemm_nn_is_native() ? K * sg_up(N, SG_NR) : 0;
}

void rt_sgemm_pack_a(int trans_a, int64_t M, int64_t K, const float *A, int64_t lda, float *dst) {
    const int64_t floats = rt_sgemm_packed_a_floats(M, K);
    if (floats <= 0) return;
    SgJob j;
    memset(&j, 0, sizeof j);
    j.ta = trans_a != 0, j.M = M, j.K = K, j.A = A, j.lda = lda;
    const int64_t kc = sg_kc_of(K), m8 = sg_up(M, SG_MR);
    memset(dst, 0, sizeof(float) * (size_t)floats); /* the last micro-panel's missing rows */
    for (int64_t pc = 0; pc < K; pc += kc) sg_pack_a(&j, 0, M, pc, sg_min(kc, K - pc), dst + pc * m8);
}

void rt_sgemm_pack_b(int trans_b, int64_t K, int64_t N, const float *B, int64_t ldb, float *dst) {
    if (rt_sgemm_packed_b_floats(K, N) <= 0) return;
    SgJob j;
    memset(&j, 0, sizeof j);
    j.tb = trans_b != 0, j.N = N, j.K = K, j.B = B, j.ldb = ldb;
    const int64_t kc = sg_kc_of(K), n48 = sg_up(N, SG_NR);
    for (int64_t pc = 0; pc < K; pc += kc) sg_pack_b(&j, 0, N, pc, sg_min(kc, K - pc), dst + pc * n48);
}

void rt_sgemm_run(struct RtThreadPool *pool, const RtSgemm *g) {
    if (g->M <= 0 || g->N <= 0) return;
    if (g->K <= 0 || !rt_sgemm_nn_is_native()) {
        sg_fallback(g);
        return;
    }
    SgJob j;
    memset(&j, 0, sizeof j);
    j.ta = g->trans_a != 0, j.tb = g->trans_b != 0;
    j.M = g->M, j.N = g->N, j.K = g->K;
    j.A = g->A, j.B = g->B, j.lda = g->lda, j.ldb = g->ldb;
    j.Ap = g->A_packed, j.Bp = g->B_packed;
    j.m8 = sg_up(g->M, SG_MR), j.n48 = sg_up(g->N, SG_NR);
    j.C = g->C, j.ldc = g->ldc, j.bm = g->bias_m, j.bn = g->bias_n;
    j.act = sg_act_make(g->act);
    sg_plan(&j, rt_pool_threads(pool));
    /* small workspaces on the stack: the GEMMs of small convs (KWS, digits: 8-40 KiB) are a
     * few microseconds each, and an aligned malloc and free per call cost them ~2-3% */
    float stack_ws[SG_STACK_WS_FLOATS] __attribute__((aligned(64)));
    void *ws = NULL;
    if (!j.gemv) {
        int64_t m0, m1, n0, n1, floats = 0;
        for (int64_t p = 0; p < j.parts; p++) { /* the largest part's A block and B panel */
            sg_part_range(&j, p, &m0, &m1, &n0, &n1);
            int64_t f = (j.Ap ? 0 : sg_rows_max(m1 - m0) * j.kc) +
                        (sg_pack_b_needed(&j, m1 - m0) ? sg_cols_max(&j, n1 - n0) * j.kc : 0);
            if (f > floats) floats = f;
        }
        if (floats > 0) {
            j.slot = rt_slot_stride(((size_t)floats * sizeof(float) + 63) & ~(size_t)63, j.parts);
            if (j.slot * (size_t)j.parts <= sizeof stack_ws) {
                j.ws = stack_ws;
            } else if (posix_memalign(&ws, 64, j.slot * (size_t)j.parts) != 0) {
                sg_fallback(g); /* reads the unpacked operands, which callers always pass */
                return;
            } else {
                j.ws = ws;
            }
        }
    }
    rt_parallel_for(pool, j.parts, 1, sg_parts_chunk, &j);
    free(ws);
}

#else /* not x86-64 GCC/Clang: OpenBLAS or the portable loop, no packing */

int rt_sgemm_nn_is_native(void) { return 0; }

int64_t rt_sgemm_packed_a_floats(int64_t M, int64_t K) {
    (void)M, (void)K;
    return 0;
}

int64_t rt_sgemm_packed_b_floats(int64_t K, int64_t N) {
    (void)K, (void)N;
    return 0;
}

void rt_sgemm_pack_a(int trans_a, int64_t M, int64_t K, const float *A, int64_t lda, float *dst) {
    (void)trans_a, (void)M, (void)K, (void)A, (void)lda, (void)dst;
}

void rt_sgemm_pack_b(int trans_b, int64_t K, int64_t N, const float *B, int64_t ldb, float *dst) {
    (void)trans_b, (void)K, (void)N, (void)B, (void)ldb, (void)dst;
}

void rt_sgemm_run(struct RtThreadPool *pool, const RtSgemm *g) {
    (void)pool;
    if (g->M <= 0 || g->N <= 0) return;
    sg_fallback(g);
}

#endif

void rt_sgemm_op(struct RtThreadPool *pool, int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                 const float *A, int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc,
                 const float *bias_m, const float *bias_n) {
    RtSgemm g = {M, N, K, trans_a, trans_b, A, NULL, lda, B, NULL, ldb, C, ldc, bias_m, bias_n, NULL};
    rt_sgemm_run(pool, &g);
}

void rt_sgemm_nn(struct RtThreadPool *pool, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                 const float *B, int64_t ldb, float *C, int64_t ldc, const float *bias_m, const float *bias_n) {
    rt_sgemm_op(pool, 0, 0, M, N, K, A, lda, B, ldb, C, ldc, bias_m, bias_n);
}
