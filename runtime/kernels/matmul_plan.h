/*
 * matmul_plan.h — MatMul's shapes as numpy defines them (1-D operands, broadcast batch dims),
 * worked out once for the reference kernel (ref/linalg.c) and the optimized one
 * (x86/linalg_x86.c): A [..., M, K] x B [..., K, N] -> Y [batch..., M, N].
 */
#ifndef WAFER_RT_MATMUL_PLAN_H
#define WAFER_RT_MATMUL_PLAN_H

#include "kernel.h"

typedef struct {
    int64_t M, N, K;
    int brank;                       /* output batch rank */
    int64_t bdims[RT_MAX_RANK];      /* output batch dims */
    int64_t sa[RT_MAX_RANK];         /* A's batch strides, in matrices (0 = broadcast) */
    int64_t sb[RT_MAX_RANK];         /* B's batch strides, in matrices */
    int64_t batches;                 /* product of bdims */
    int flat;                        /* B has no batch and A the full one: one GEMM over batches*M rows */
} RtMatMulPlan;

/* Fills p and Y's dims (ydims[*yrank]) for A and B; RT_ERR with a message naming both shapes
 * when they do not multiply or broadcast. */
int rt_matmul_plan(RtKernelCtx *c, const RtTensor *A, const RtTensor *B, RtMatMulPlan *p, int *yrank,
                   int64_t *ydims);

#endif
