/*
 * gptq_linalg.c — the dense double-precision linear algebra of GPTQ: Cholesky factor, inverse
 * of a lower triangle, the upper Cholesky factor of an inverse, and GEMM. Row-major.
 *
 * Algorithms (blocked, nb-column panels, right-looking, as LAPACK's dpotrf / dtrtri):
 *   Cholesky   for each panel j: factor the diagonal block (unblocked, below), solve the panel
 *              below it (A21 = A21 L11^-T, TRSM), update the trailing matrix (A22 -= A21 A21^T,
 *              SYRK on the lower triangle).
 *   inverse    panels from the last to the first: A21 = -inv(L22) A21 inv(L11) (TRMM with the
 *              already inverted L22, then TRSM with L11), then L11 inverted unblocked.
 * The level-3 steps call OpenBLAS's CBLAS when built with WAFER_HAVE_BLAS (the Makefile sets it
 * for this file); without it nb = n and the unblocked loops do everything (same results up to
 * rounding, K^3/3 flops either way). A 4096 x 4096 Cholesky is ~2.3e10 flops: seconds with BLAS.
 */
#include "gptq.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef WAFER_HAVE_BLAS
#include <cblas.h>
#define LA_NB 96 /* panel width: the unblocked panel work stays small next to the BLAS-3 updates */
#endif

/* Unblocked lower Cholesky of A[n][n] in place (lower triangle); 0 or failing order. */
static int64_t chol_unblocked(double *A, int64_t n, int64_t lda) {
    for (int64_t j = 0; j < n; j++) {
        double *rj = A + j * lda;
        double d = rj[j];
        for (int64_t k = 0; k < j; k++) d -= rj[k] * rj[k];
        if (!(d > 0) || !isfinite(d)) return j + 1;
        d = sqrt(d);
        rj[j] = d;
        for (int64_t i = j + 1; i < n; i++) {
            double *ri = A + i * lda;
            double s = ri[j];
            for (int64_t k = 0; k < j; k++) s -= ri[k] * rj[k];
            ri[j] = s / d;
        }
    }
    return 0;
}

/* Unblocked inverse of the lower triangular L[n][n] in place, row by row: from L X = I,
 *   X[i][i] = 1 / L[i][i],  X[i][j] = -(sum_{j<=k<i} L[i][k] X[k][j]) / L[i][i]  (j < i).
 * Rows k < i hold X already; in row i, X[i][j] needs L[i][k] only for k >= j, so computing
 * j upwards overwrites each L[i][j] right after its last use. */
static void trinv_unblocked(double *L, int64_t n, int64_t lda) {
    for (int64_t i = 0; i < n; i++) {
        double *ri = L + i * lda;
        double inv = 1.0 / ri[i];
        for (int64_t j = 0; j < i; j++) {
            double s = 0;
            for (int64_t k = j; k < i; k++) s += ri[k] * L[k * lda + j];
            ri[j] = -s * inv;
        }
        ri[i] = inv;
    }
}

int64_t gptq_cholesky(double *A, int64_t n, int64_t lda) {
#ifdef WAFER_HAVE_BLAS
    for (int64_t j = 0; j < n; j += LA_NB) {
        int64_t jb = n - j < LA_NB ? n - j : LA_NB, rest = n - j - jb;
        double *Ajj = A + j * lda + j;
        int64_t bad = chol_unblocked(Ajj, jb, lda);
        if (bad) return j + bad;
        if (!rest) break;
        double *A21 = A + (j + jb) * lda + j;
        cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, (int)rest, (int)jb, 1.0, Ajj,
                    (int)lda, A21, (int)lda);
        cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, (int)rest, (int)jb, -1.0, A21, (int)lda, 1.0,
                    A21 + jb, (int)lda);
    }
    return 0;
#else
    return chol_unblocked(A, n, lda);
#endif
}

void gptq_tril_inverse(double *L, int64_t n, int64_t lda) {
#ifdef WAFER_HAVE_BLAS
    int64_t last = n ? ((n - 1) / LA_NB) * LA_NB : 0;
    for (int64_t j = last; j >= 0 && n; j -= LA_NB) {
        int64_t jb = n - j < LA_NB ? n - j : LA_NB, rest = n - j - jb;
        double *Ljj = L + j * lda + j;
        if (rest) {
            double *A21 = L + (j + jb) * lda + j, *X22 = A21 + jb;
            /* A21 = X22 * A21 (X22 = inv(L22), lower), then A21 = -A21 * inv(L11) */
            cblas_dtrmm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, (int)rest, (int)jb, 1.0,
                        X22, (int)lda, A21, (int)lda);
            cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasNoTrans, CblasNonUnit, (int)rest, (int)jb, -1.0,
                        Ljj, (int)lda, A21, (int)lda);
        }
        trinv_unblocked(Ljj, jb, lda);
    }
#else
    trinv_unblocked(L, n, lda);
#endif
}

int64_t gptq_inverse_cholesky_upper(const double *H, int64_t n, double *U) {
    /* U <- J H J, then its lower Cholesky factor L, then L^-1, then U = J L^-1 J */
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) U[i * n + j] = H[(n - 1 - i) * n + (n - 1 - j)];
    int64_t bad = gptq_cholesky(U, n, n);
    if (bad) return n - bad + 1; /* report the order in H's numbering (from the end) */
    gptq_tril_inverse(U, n, n);
    /* reverse both axes in place: element (i, j) swaps with (n-1-i, n-1-j); the lower
     * triangle of L^-1 lands in the upper triangle */
    int64_t total = n * n;
    for (int64_t a = 0, b = total - 1; a < b; a++, b--) {
        double t = U[a];
        U[a] = U[b];
        U[b] = t;
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < i; j++) U[i * n + j] = 0;
    return 0;
}

void gptq_dgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, double alpha, const double *A,
                int64_t lda, const double *B, int64_t ldb, double beta, double *C, int64_t ldc) {
    if (M <= 0 || N <= 0) return;
#ifdef WAFER_HAVE_BLAS
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)M,
                (int)N, (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
#else
    for (int64_t i = 0; i < M; i++) {
        double *ci = C + i * ldc;
        for (int64_t j = 0; j < N; j++) ci[j] = beta == 0 ? 0 : beta * ci[j];
        for (int64_t k = 0; k < K; k++) {
            double a = alpha * (trans_a ? A[k * lda + i] : A[i * lda + k]);
            if (a == 0) continue;
            if (!trans_b) {
                const double *bk = B + k * ldb;
                for (int64_t j = 0; j < N; j++) ci[j] += a * bk[j];
            } else {
                for (int64_t j = 0; j < N; j++) ci[j] += a * B[j * ldb + k];
            }
        }
    }
#endif
}
