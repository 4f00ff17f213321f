/*
 * gptq.h — low-bit weight quantization (2..8 bits) by GPTQ (Frantar et al., 2022) or by
 * round to nearest (RTN), as the reference code (IST-DASLab gptq.py, quant.py) does it.
 *
 * Layout: a layer's weight is handled as WT[K][N], row k holding the N output channels' weights
 * for input feature k (wafer's Linear layout W[K, N]; the reference's W[N, K] transposed), so
 * "column k" of the paper is row k here and every row operation is contiguous.
 *
 * Grid (the reference's Quantizer, maxq = 2^bits - 1), per output channel n over the rows of
 * one group, computed in float32 as the reference does:
 *   xmin = min(0, min w), xmax = max(0, max w)
 *   sym:  xmax = max(|xmin|, xmax); xmin = -xmax when xmin < 0; zero = (maxq + 1) / 2
 *   xmin = -1, xmax = 1 when both are 0;  scale = (xmax - xmin) / maxq
 *   asym: zero = round(-xmin / scale)
 *   q = clamp(round(w / scale) + zero, 0, maxq),  w_hat = scale * (q - zero)
 * (rounding half to even; w / scale in float32: rt_quantize_f32, the int8 quantizer's).
 *
 * GPTQ per layer, from S = X^T X (double, X = the layer's calibration inputs, n rows):
 *   H = 2 S / n; dead inputs (H[k,k] = 0): H[k,k] = 1, row k of W zeroed; act-order: rows and
 *   H permuted by decreasing diag(H); H += damp * mean(diag H) * I; U = the upper Cholesky
 *   factor of H^-1 (H^-1 = U^T U); then for each row i in lazy blocks of `block` rows:
 *     q_i = quant(w_i), e_i = (w_i - q_i) / U[i,i], w_j -= U[i,j] e_i for j > i
 *   (rows inside the block at once, rows after the block by one GEMM at the block's end).
 *   Group parameters: per output channel (group 0) from the original weight before GPTQ; for
 *   groups of G rows, when row i with i % G == 0 is reached, from rows [i, i + G) as they were
 *   at the start of the lazy block holding row i (the reference reads its W, which is updated
 *   only between blocks); with static_groups, from the original rows [kG, kG + G) before any
 *   update (groups then follow the original order even with act-order).
 *   With act-order, group j holds the rows at permuted positions [jG, jG + G); g_idx[k] is the
 *   group of input row k. K need not be a multiple of G: the last group is shorter.
 *
 * Output error of a quantized layer on its calibration inputs: ||X W - X W_hat||^2 =
 * sum_n dW[:,n]^T S dW[:,n] (S undamped).
 */
#ifndef WAFER_GPTQ_H
#define WAFER_GPTQ_H

#include "../calib/calib.h"
#include "../ir/ir.h"

#define GPTQ_DEFAULT_BLOCK 128
#define GPTQ_DEFAULT_DAMP 0.01

typedef struct GptqSpec {
    int bits;                 /* 2..8 */
    int sym;                  /* 1 symmetric grid (zero = 2^(bits-1)), 0 min-max with a zero point */
    int64_t group;            /* G rows (input features) per scale; 0 = one per output channel */
    int act_order;            /* 1: rows in decreasing diag(H) order */
    int static_groups;        /* 1: group parameters fixed from the original weight up front */
    double damp;              /* dampening as a fraction of mean(diag H); default 0.01 */
    int64_t block;            /* lazy block rows; default 128 */
    int clip_search;          /* 1: each group's range shrunk to the factor in [0.21, 1] that
                                 minimizes sum |w_hat - w|^2.4 (the reference Quantizer's mse
                                 option; not what its table used) */
    int accuracy_level;       /* written on each LinearNBits: 0 float compute (default), 4 int8
                                 compute of A (--compute int8; runtime/kernels/nbits_int8.h) */
} GptqSpec;

void gptq_spec_default(GptqSpec *s);
/* RT_OK, or RT_ERR naming the bad field. */
int gptq_spec_check(const GptqSpec *s, RtError *err);

/* One quantized layer in the [K][N] layout. */
typedef struct GptqLayer {
    int64_t K, N;             /* input features, output channels */
    int64_t NG;               /* groups: ceil(K / G), 1 when G = 0 */
    int bits;
    uint8_t *q;               /* [K][N] owned: codes in [0, 2^bits) */
    float *scale;             /* [NG][N] owned */
    uint8_t *zero;            /* [NG][N] owned: zero points in [0, 2^bits) */
    int32_t *g_idx;           /* [K] owned: group of each input row */
    float *wq;                /* [K][N] owned: scale * (q - zero), what the model computes with */
    int n_dead;               /* inputs that were zero over the whole calibration set */
    double loss;              /* GPTQ's running loss sum (w - q)^2 / U[i,i]^2 / 2 in H's units
                                 (0 for RTN) */
} GptqLayer;

void gptq_layer_free(GptqLayer *l);

/* GPTQ of wt[K][N] (float32, borrowed) with S[K][K] = X^T X over `rows` calibration rows
 * (double, symmetric, borrowed). Fills out (owned allocations). Fails when H + damping is not
 * positive definite (the message suggests a larger damp). */
int gptq_quantize(const float *wt, int64_t K, int64_t N, const double *S, int64_t rows, const GptqSpec *s,
                  GptqLayer *out, RtError *err);
/* Round to nearest on the same grid (act_order and damp ignored; group parameters from the
 * original weight). */
int gptq_rtn(const float *wt, int64_t K, int64_t N, const GptqSpec *s, GptqLayer *out, RtError *err);
/* ||X wt - X wq||^2 from S = X^T X: sum over n of dW[:,n]^T S dW[:,n]. -1 when out of memory. */
double gptq_output_error(const float *wt, const float *wq, int64_t K, int64_t N, const double *S);

/* Grid parameters of one group: rows [0, rows) of w (stride ld between rows, N channels),
 * values taken as float32. scale[N], zero[N]. Exposed for tests. */
void gptq_grid(const double *w, int64_t rows, int64_t N, int64_t ld, int bits, int sym, float *scale,
               uint8_t *zero);

/* ---- the pass (gptq_driver.c, gptq_emit.c, gptq_report.c) ----
 * Targets: the float32 constant weights of Linear, MatMul (2-D weight), Gemm and Conv /
 * FusedConv nodes, except excluded nodes and, unless quantize_head, the head (the quantizer's
 * rule: weight-bearing nodes reachable backwards from a graph output without passing another
 * one; quant_head_mark). Each target gets a step: 1 + the largest step among the targets its
 * input depends on. Step s runs, over the calibration set in batches, only the nodes whose
 * results the inputs of step s need and that were not run before (every node runs once, with
 * all the targets it depends on already quantized: the reference's sequential order, with q,
 * k and v sharing one Hessian), keeps the values later steps read (the "cut", held for the
 * whole calibration set, as the reference keeps its layer inputs), accumulates X^T X for the
 * step's inputs, then quantizes the step's targets and writes their dequantized weights back
 * into the float graph so later steps see the quantized model. At the end each target's
 * weight becomes codes + DequantizeLinear in front of the unchanged op (GPTQ_EMIT_DQ), or the
 * linears become LinearNBits (GPTQ_EMIT_NBITS; Conv keeps the DequantizeLinear form). */
typedef enum { GPTQ_METHOD_RTN = 0, GPTQ_METHOD_GPTQ = 1 } GptqMethod;
typedef enum {
    GPTQ_EMIT_DQ = 0,         /* int8 codes (code - 2^(bits-1)), int8 zero points, float scales
                                 and a DequantizeLinear (blocked when groups are contiguous, per
                                 element with act-order) feeding the float op */
    GPTQ_EMIT_NBITS = 1       /* Linear / MatMul -> wafer LinearNBits with packed codes */
} GptqEmit;

typedef enum {
    GPTQ_SEQ_LAYER = 0,       /* a layer's inputs come from the model with every layer it
                                 depends on quantized (q, k, v share a step; o follows them) */
    GPTQ_SEQ_BLOCK = 1        /* the reference's default (llama.py without --true-sequential):
                                 the layers of one block take their inputs from the model with
                                 the earlier blocks quantized and their own block still float.
                                 Blocks: the module scope of the node names ("/blocks.0/..."),
                                 else the graph cut wherever at most one float activation is
                                 live. The fixtures' reference numbers were made this way. */
} GptqSequential;

typedef struct GptqPassOptions {
    GptqMethod method;
    GptqSequential sequential;
    GptqSpec spec;            /* bits, sym, group, act_order, static_groups, damp, block */
    const char *const *exclude; /* [n_exclude] borrowed: node names (or first output names) kept float */
    int n_exclude;
    int quantize_head;        /* 1: the head's weights too */
    CalibDataset *data;       /* borrowed: calibration set (GPTQ needs it; with RTN it only
                                 serves the measured errors); bound to the graph here */
    int64_t batch;            /* calibration rows per forward run; 0 = 32 */
    int measure;              /* 1: each layer's output error for GPTQ and RTN (needs data) */
    GptqEmit emit;
    struct RtThreadPool *pool; /* borrowed, may be NULL: threads for the forward runs */
    void (*on_progress)(void *user, const char *line); /* NULL = none; one line per layer */
    void *progress_user;
} GptqPassOptions;

void gptq_pass_options_default(GptqPassOptions *o);

typedef struct GptqLayerReport {
    char *node;               /* owned: node name */
    char *op;                 /* owned: its op type before quantization */
    int64_t K, N;             /* inputs (per Conv group) and outputs of the weight */
    int groups;               /* Conv groups (1 for linears) */
    int step;                 /* sequential step (0 without calibration) */
    int64_t rows;             /* calibration rows of its Hessian (0 without) */
    int n_dead;               /* inputs that were zero on every calibration row */
    double err_gptq;          /* ||X W - X W_q||^2 over the calibration rows, GPTQ; NaN when
                                 not measured or not GPTQ */
    double err_rtn;           /* the same for round to nearest on the same grid and inputs */
    double seconds;           /* time to quantize it (and measure) */
} GptqLayerReport;

typedef struct GptqReport {
    GptqMethod method;
    GptqSpec spec;
    GptqLayerReport *layers;  /* [n_layers] owned, in the order the layers were quantized */
    int n_layers, cap_layers;
    int steps;                /* sequential steps */
    int64_t rows;             /* calibration rows */
    double seconds_forward;   /* running the model over the calibration set */
    double seconds_hessian;   /* accumulating X^T X */
    double seconds_quantize;  /* GPTQ / RTN and the error measurement */
    double seconds_total;
} GptqReport;

void gptq_report_free(GptqReport *r);
/* The report as JSON text (malloc'd; NULL when out of memory). */
char *gptq_report_json(const GptqReport *r, const char *model);
/* One human-readable line per layer and a total (malloc'd text; NULL when out of memory). */
char *gptq_report_text(const GptqReport *r);

/* Requires: pass_simplify and pass_fuse have run. Provides: the targets' weights quantized
 * and emitted as o->emit says; shapes inferred, graph verified. rep may be NULL. */
int pass_quantize_gptq(IrGraph *g, const GptqPassOptions *o, GptqReport *rep, RtError *err);

/* ---- the dense linear algebra GPTQ needs (gptq_linalg.c), row-major double ---- */
/* In-place lower Cholesky factor of the symmetric positive definite A[n][n] (only the lower
 * triangle is read; the strict upper triangle is left as it was). Returns 0, or i + 1 when
 * the leading minor of order i + 1 is not positive definite. */
int64_t gptq_cholesky(double *A, int64_t n, int64_t lda);
/* In-place inverse of the lower triangular L[n][n] (upper triangle untouched). */
void gptq_tril_inverse(double *L, int64_t n, int64_t lda);
/* U[n][n] upper triangular with H^-1 = U^T U (the upper Cholesky factor of H^-1), for the
 * symmetric positive definite H (borrowed). Computed without forming H^-1: with J the order
 * reversal, J H J = L L^T gives U = J L^-1 J. Lower triangle of U set to 0. Returns as
 * gptq_cholesky. */
int64_t gptq_inverse_cholesky_upper(const double *H, int64_t n, double *U);
/* C[M][N] = alpha * op(A) op(B) + beta * C (row-major, leading dimensions in elements). */
void gptq_dgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, double alpha, const double *A,
                int64_t lda, const double *B, int64_t ldb, double beta, double *C, int64_t ldc);

#endif
