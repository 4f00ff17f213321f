/*
 * conv_gemm_x86.c — float32 convs as GEMMs on rt_sgemm_nn (x86/sgemm.h), with the bias and
 * the fused activation applied to each output block while it is in cache.
 *
 * Per image and group, Y_g[Mg, P] = W_g[Mg, Cg*K] * col[Cg*K, P] + b_g (P = output positions).
 *
 * 1x1, stride 1, no padding (cx_pointwise_f32): col is X_g itself, no copy. Without an
 * activation that is one rt_sgemm_nn over the pool (the GEMM adds the bias). With one, the
 * output is cut into blocks (below), each one rt_sgemm_nn on the calling thread followed by
 * the activation over the block it just wrote; blocks run in parallel.
 *
 * Other convs (cx_im2col_f32): im2col one column strip at a time (strip width nb chosen so
 * the strip, Cg*K x nb floats, stays in L2), then the GEMM of that strip with all of W_g's
 * rows and the activation. Strips (of every image and group) run in parallel, each thread
 * with its own strip buffer. When the whole output is one narrow strip (digits' 8x8 maps,
 * P < 128) the strip is built once and the GEMM is split into row blocks instead.
 *
 * Blocks are fixed by the shape (never by the thread count) and rt_sgemm_nn's sums do not
 * depend on its threads, so results are bit-identical for any number of threads.
 */
#include <string.h>

#include "../../rt_threads.h"
#include "sgemm.h"
#include "conv_x86.h"

/* Multiply-adds per GEMM block or strip: about 3-5 us of work, well above the cost of a call
 * and of handing a block to a worker, small enough that a block's output (at most a few
 * hundred KiB) is still in L2 when the activation runs. */
#define CX_BLOCK_WORK ((int64_t)1 << 18)
/* Thinnest blocks worth a GEMM call: narrower ones waste the micro-kernel's register tile. */
#define CX_MIN_COLS 64
#define CX_MIN_ROWS 8
/* Floats of one im2col strip (256 KiB). */
#define CX_COL_FLOATS ((int64_t)1 << 16)

static int64_t cx_round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }
static int64_t cx_ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* ---------------------------------------------------------------- activation over a block */

#if defined(__x86_64__) && defined(__GNUC__)
CX_T512 static void act_rows_512(const RtAct *a, float *C, int64_t ldc, int64_t rows, int64_t cols) {
    for (int64_t r = 0; r < rows; r++, C += ldc) {
        int64_t i = 0;
        for (; i + 16 <= cols; i += 16) _mm512_storeu_ps(C + i, cx_act_v512(a, _mm512_loadu_ps(C + i)));
        if (i < cols) {
            __mmask16 m = (__mmask16)((1u << (cols - i)) - 1);
            _mm512_mask_storeu_ps(C + i, m, cx_act_v512(a, _mm512_maskz_loadu_ps(m, C + i)));
        }
    }
}
#endif

void cx_act_rows(const RtAct *a, float *C, int64_t ldc, int64_t rows, int64_t cols) {
    if (a->kind == RT_ACT_NONE) return;
#if defined(__x86_64__) && defined(__GNUC__)
    if (a->kind != RT_ACT_SIGMOID && cx_cpu_ok()) { /* sigmoid: the scalar exp is the cost anyway */
        act_rows_512(a, C, ldc, rows, cols);
        return;
    }
#endif
    for (int64_t r = 0; r < rows; r++) rt_act_span(a, C + r * ldc, cols, NULL);
}

/* ---------------------------------------------------------------- blocked GEMM + activation */

/* C[M, N] = A[M, K] * B[K, N] + bias, then act, as mb x nb blocks. */
typedef struct {
    int64_t M, N, K;
    const float *A, *B;    /* [M, lda], [K, ldb] */
    int64_t lda, ldb, ldc;
    float *C;              /* [M, ldc] */
    const float *bias;     /* [M] or NULL */
    const RtAct *act;
    int64_t mb, nb;        /* block rows, columns */
    int64_t bm, bn;        /* blocks along M, along N */
} GemmJob;

/* Blocks for an M x N x K GEMM: about CX_BLOCK_WORK each, columns split first (strips of
 * whole rows keep B's strip and C's block contiguous), rows when columns run out. */
static void gemm_blocks(GemmJob *j) {
    int64_t want = cx_ceil_div(j->M * j->N * j->K, CX_BLOCK_WORK);
    int64_t bn = j->N / CX_MIN_COLS;
    if (bn > want) bn = want;
    if (bn < 1) bn = 1;
    j->nb = bn > 1 ? cx_round_up(cx_ceil_div(j->N, bn), 16) : j->N;
    j->bn = cx_ceil_div(j->N, j->nb);
    int64_t bm = cx_ceil_div(want, j->bn);
    if (bm > j->M / CX_MIN_ROWS) bm = j->M / CX_MIN_ROWS;
    if (bm < 1) bm = 1;
    j->mb = bm > 1 ? cx_round_up(cx_ceil_div(j->M, bm), CX_MIN_ROWS) : j->M;
    j->bm = cx_ceil_div(j->M, j->mb);
}

static void gemm_block_chunk(void *arg, int64_t b0, int64_t b1) {
    const GemmJob *j = arg;
    for (int64_t blk = b0; blk < b1; blk++) {
        int64_t m0 = (blk / j->bn) * j->mb, n0 = (blk % j->bn) * j->nb;
        int64_t m = j->M - m0 < j->mb ? j->M - m0 : j->mb, n = j->N - n0 < j->nb ? j->N - n0 : j->nb;
        float *C = j->C + m0 * j->ldc + n0;
        rt_sgemm_nn(NULL, m, n, j->K, j->A + m0 * j->lda, j->lda, j->B + n0, j->ldb, C, j->ldc,
                    j->bias ? j->bias + m0 : NULL, NULL);
        cx_act_rows(j->act, C, j->ldc, m, n);
    }
}

/* The GEMM of one image and group: one pool-wide rt_sgemm_nn without an activation, else
 * parallel blocks each followed by its activation. */
static void gemm_act(RtKernelCtx *c, GemmJob *j) {
    if (j->act->kind == RT_ACT_NONE) {
        rt_sgemm_nn(c->pool, j->M, j->N, j->K, j->A, j->lda, j->B, j->ldb, j->C, j->ldc, j->bias, NULL);
        return;
    }
    gemm_blocks(j);
    rt_parallel_for(c->pool, j->bm * j->bn, 1, gemm_block_chunk, j);
}

/* ---------------------------------------------------------------- 1x1 */

int cx_pointwise_f32(RtKernelCtx *c, const CxConv *cv) {
    for (int64_t im = 0; im < cv->N; im++)
        for (int64_t gr = 0; gr < cv->group; gr++) {
            GemmJob j = {cv->Mg, cv->Pout, cv->Cg, cv->w + gr * cv->Mg * cv->Cg,
                         cv->x + (im * cv->C + gr * cv->Cg) * cv->Pin, cv->Cg, cv->Pout, cv->Pout,
                         cv->y + (im * cv->M + gr * cv->Mg) * cv->Pout, cv->b ? cv->b + gr * cv->Mg : NULL,
                         &cv->act, 0, 0, 0, 0};
            gemm_act(c, &j);
        }
    return RT_OK;
}

/* ---------------------------------------------------------------- im2col */

/* Output columns [*lo, *hi) whose tap at input offset off (= kw * dw - pw) reads inside
 * [0, IW): 0 <= ow * s + off < IW. */
static void tap_cols(int64_t off, int64_t s, int64_t IW, int64_t OW, int64_t *lo, int64_t *hi) {
    int64_t l = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t h = IW - off <= 0 ? 0 : (IW - off + s - 1) / s;
    *lo = l < OW ? l : OW;
    *hi = h < OW ? h : OW;
    if (*hi < *lo) *hi = *lo;
}

/* col[Cg*K, n] = im2col of x[Cg, IH, IW] for output positions [p0, p0 + n): row
 * (ch, kh, kw), column p - p0 holds x[ch][oh * sh - ph + kh * dh][ow * sw - pw + kw * dw]
 * for p = oh * OW + ow, zero where that is padding. */
static void im2col_strip(const CxConv *cv, const float *x, int64_t p0, int64_t n, float *col) {
    const RtConvGeom *g = &cv->g;
    const int64_t IH = g->in[1], IW = g->in[2], OW = g->out[2], KH = g->k[1], KW = g->k[2];
    const int64_t sh = g->stride[1], sw = g->stride[2];
    for (int64_t ch = 0; ch < cv->Cg; ch++)
        for (int64_t kh = 0; kh < KH; kh++)
            for (int64_t kw = 0; kw < KW; kw++, col += n) {
                const float *xc = x + ch * IH * IW;
                const int64_t off = kw * g->dil[2] - g->pad0[2];
                int64_t lo, hi;
                tap_cols(off, sw, IW, OW, &lo, &hi);
                int64_t oh = p0 / OW, ow = p0 % OW;
                for (int64_t j = 0; j < n; oh++, ow = 0) {
                    int64_t e = OW - ow < n - j ? OW : ow + (n - j); /* this row's columns [ow, e) */
                    float *d = col + j - ow;                        /* d[ow'] is column ow' */
                    int64_t ih = oh * sh - g->pad0[1] + kh * g->dil[1];
                    int64_t a = lo > ow ? lo : ow, b = hi < e ? hi : e;
                    if (ih < 0 || ih >= IH || a >= b) {
                        for (int64_t q = ow; q < e; q++) d[q] = 0.0f;
                    } else {
                        const float *xr = xc + ih * IW + off;
                        for (int64_t q = ow; q < a; q++) d[q] = 0.0f;
                        if (sw == 1)
                            memcpy(d + a, xr + a, sizeof(float) * (size_t)(b - a));
                        else
                            for (int64_t q = a; q < b; q++) d[q] = xr[q * sw];
                        for (int64_t q = b; q < e; q++) d[q] = 0.0f;
                    }
                    j += e - ow;
                }
            }
}

/* Strips of every image and group: item i is strip i % strips of image-group i / strips. */
typedef struct {
    const CxConv *cv;
    int64_t nb, strips;    /* strip width, strips per image-group */
    int64_t CK;            /* Cg * K: rows of a strip */
    float *scratch;        /* [slots, stride] strip buffers */
    int64_t slots, stride; /* buffers, floats from one to the next */
    int64_t items;         /* N * group * strips */
} StripJob;

static void strip_items(const StripJob *s, int64_t i0, int64_t i1, float *col) {
    const CxConv *cv = s->cv;
    for (int64_t i = i0; i < i1; i++) {
        int64_t ig = i / s->strips, p0 = (i % s->strips) * s->nb;
        int64_t im = ig / cv->group, gr = ig % cv->group;
        int64_t n = cv->Pout - p0 < s->nb ? cv->Pout - p0 : s->nb;
        im2col_strip(cv, cv->x + (im * cv->C + gr * cv->Cg) * cv->Pin, p0, n, col);
        float *C = cv->y + (im * cv->M + gr * cv->Mg) * cv->Pout + p0;
        rt_sgemm_nn(NULL, cv->Mg, n, s->CK, cv->w + gr * cv->Mg * s->CK, s->CK, col, n, C, cv->Pout,
                    cv->b ? cv->b + gr * cv->Mg : NULL, NULL);
        cx_act_rows(&cv->act, C, cv->Pout, cv->Mg, n);
    }
}

/* Slot s: its contiguous share of the items, through its own strip buffer. */
static void strip_slot(void *arg, int64_t s0, int64_t s1) {
    const StripJob *s = arg;
    for (int64_t slot = s0; slot < s1; slot++) {
        int64_t i0, i1;
        rt_chunk_range(s->items, s->slots, slot, &i0, &i1);
        strip_items(s, i0, i1, s->scratch + slot * s->stride);
    }
}

/* Narrow outputs: per image and group, the whole strip once, then row blocks in parallel. */
static int im2col_rows(RtKernelCtx *c, const CxConv *cv, int64_t CK) {
    float *col = rt_scratch(c, sizeof(float) * (size_t)(CK * cv->Pout));
    if (!col) return RT_ERR_NOMEM;
    for (int64_t im = 0; im < cv->N; im++)
        for (int64_t gr = 0; gr < cv->group; gr++) {
            im2col_strip(cv, cv->x + (im * cv->C + gr * cv->Cg) * cv->Pin, 0, cv->Pout, col);
            GemmJob j = {cv->Mg, cv->Pout, CK, cv->w + gr * cv->Mg * CK, col, CK, cv->Pout, cv->Pout,
                         cv->y + (im * cv->M + gr * cv->Mg) * cv->Pout, cv->b ? cv->b + gr * cv->Mg : NULL,
                         &cv->act, 0, 0, 0, 0};
            gemm_act(c, &j);
        }
    rt_scratch_free(c, col);
    return RT_OK;
}

int cx_im2col_f32(RtKernelCtx *c, const CxConv *cv) {
    const int64_t CK = cv->Cg * cv->K, P = cv->Pout;
    int64_t cap = CX_COL_FLOATS / CK; /* widest strip within the budget */
    if (cap < 16) cap = 16;
    if (P < 2 * CX_MIN_COLS && CK * P <= 4 * CX_COL_FLOATS) return im2col_rows(c, cv, CK);
    int64_t want = cx_ceil_div(cv->Mg * CK * P, CX_BLOCK_WORK);
    int64_t nb = cx_round_up(cx_ceil_div(P, want), 16);
    if (nb < CX_MIN_COLS) nb = CX_MIN_COLS;
    if (nb > cap) nb = cap / 16 * 16;
    if (nb > P) nb = P;
    StripJob s = {cv, nb, cx_ceil_div(P, nb), CK, NULL, 0, 0, 0};
    s.items = cv->N * cv->group * s.strips;
    s.slots = rt_pool_chunks(c->pool, s.items, 1);
    if (s.slots < 1) s.slots = 1;
    s.stride = (int64_t)(rt_slot_stride(sizeof(float) * (size_t)(CK * nb), s.slots) / sizeof(float));
    s.scratch = rt_scratch(c, sizeof(float) * (size_t)(s.slots * s.stride));
    if (!s.scratch) return RT_ERR_NOMEM;
    rt_parallel_for(c->pool, s.slots, 1, strip_slot, &s);
    rt_scratch_free(c, s.scratch);
    return RT_OK;
}
