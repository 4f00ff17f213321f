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
