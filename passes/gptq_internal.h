/*
 * gptq_internal.h — what the GPTQ pass's files share: the layers it quantizes (targets), the
 * mapping between a weight's own layout and GPTQ's [K][N], and the emission step.
 */
#ifndef WAFER_GPTQ_INTERNAL_H
#define WAFER_GPTQ_INTERNAL_H

#include "gptq.h"
#include "quantize_internal.h"

typedef enum {
    GPTQ_T_LINEAR = 0,        /* W [K, N]: Linear, MatMul, Gemm */
    GPTQ_T_LINEAR_T,          /* W [N, K]: Gemm with transB */
    GPTQ_T_CONV               /* W [M, C/group, k...]: Conv, FusedConv; K = C/group * prod(k) */
} GptqTargetKind;

typedef struct GptqTarget {
    int node;                 /* node index (positions before emission) */
    int x, w;                 /* input and weight values */
    GptqTargetKind kind;
    int trans_a;              /* Gemm transA: X is [K, M], its columns are the rows */
    int64_t K, N;             /* per group: inputs and outputs */
    int groups;               /* Conv groups; 1 otherwise */
    int step;                 /* sequential step, 1-based */
    int hess;                 /* its Hessian in the current step (index), -1 */
    GptqLayer *res;           /* [groups] owned: the quantized layer per group */
    int rep;                  /* its line in the report, -1 */
} GptqTarget;

/* Group gi of the weight w (the target's own layout) as wt[K][N], and back. */
void gptq_target_get(const GptqTarget *t, const RtTensor *w, int gi, float *wt);
void gptq_target_put(const GptqTarget *t, RtTensor *w, int gi, const float *wt);

/* Replaces each target's float weight by its quantized form (gptq_emit.c). Targets are
 * processed from the last node to the first, so their node indices stay valid. */
int gptq_emit(IrGraph *g, const GptqTarget *t, int n, const GptqSpec *s, GptqEmit emit, RtError *err);

#endif
