/*
 * hessian.h — streaming accumulation of S = X^T X over a layer's calibration inputs, the
 * statistic GPTQ needs (its Hessian is H = 2 S / n for n rows).
 *
 * X's rows are what the layer multiplies by its weight: for Linear / MatMul / Gemm the input's
 * last axis (every leading index is a row; Gemm with transA reads columns), for Conv the
 * im2col patches (one row per output position and image, Cg * prod(kernel) values ordered as
 * the weight's [Cg, k...] axes; one S per convolution group). Rows are converted to double in
 * chunks and added with a symmetric rank-k update, so memory is K x K per group plus one
 * chunk, whatever the dataset size.
 */
#ifndef WAFER_CALIB_HESSIAN_H
#define WAFER_CALIB_HESSIAN_H

#include "../runtime/rt_core.h"

typedef struct CalibHessian {
    int64_t K;                /* features per row */
    int groups;               /* independent S matrices (a Conv's groups); 1 for linears */
    double *S;                /* [groups][K][K] owned: sum of x x^T; only the lower triangle is
                                 accumulated until calib_hessian_finish mirrors it */
    int64_t rows;             /* rows added to each group */
    double *buf;              /* [CALIB_HESSIAN_CHUNK][K] owned: rows converted to double */
} CalibHessian;

#define CALIB_HESSIAN_CHUNK 256

int calib_hessian_init(CalibHessian *h, int64_t K, int groups, RtError *err);
void calib_hessian_free(CalibHessian *h);

/* Adds rows x[rows][K] (row stride ld, float32) to group g. */
void calib_hessian_add_rows(CalibHessian *h, int g, const float *x, int64_t rows, int64_t ld);
/* Adds a linear layer's input: x float32 [..., K] (every leading index a row), or with trans
 * x [K, M] (Gemm's transA: the M columns are the rows). */
int calib_hessian_add_linear(CalibHessian *h, const RtTensor *x, int trans, RtError *err);
/* Adds a Conv's input x float32 [N, C, spatial...] (1 to 3 spatial axes) as im2col patches,
 * with the node's kernel (from w [M, C/group, k...]), strides, dilations, pads or auto_pad and
 * group. h must have K = C/group * prod(k) and `group` groups. */
int calib_hessian_add_conv(CalibHessian *h, const RtNode *conv, const RtTensor *x, const RtTensor *w,
                           RtError *err);
/* Mirrors the lower triangles into the upper ones: S is then the full symmetric matrix. */
void calib_hessian_finish(CalibHessian *h);

#endif
