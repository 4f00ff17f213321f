/*
 * matmul_plan.c — rt_matmul_plan (see matmul_plan.h).
 */
#include "matmul_plan.h"

int rt_matmul_plan(RtKernelCtx *c, const RtTensor *A, const RtTensor *B, RtMatMulPlan *p, int *yrank,
                   int64_t *ydims) {
    char sa[128], sb[128];
    rt_shape_str(A->rank, A->dims, sa, sizeof sa);
    rt_shape_str(B->rank, B->dims, sb, sizeof sb);
    if (A->rank < 1 || B->rank < 1) return rt_fail(c, "inputs A %s and B %s must have rank >= 1", sa, sb);
    int ra = A->rank, rb = B->rank, bra = ra > 2 ? ra - 2 : 0, brb = rb > 2 ? rb - 2 : 0;
    p->M = ra == 1 ? 1 : A->dims[ra - 2];
    p->K = A->dims[ra - 1];
    int64_t kb = rb == 1 ? B->dims[0] : B->dims[rb - 2];
    p->N = rb == 1 ? 1 : B->dims[rb - 1];
    if (p->K != kb)
        return rt_fail(c, "shapes A %s and B %s are incompatible: A has K=%lld columns, B has %lld rows", sa, sb,
                       (long long)p->K, (long long)kb);
    p->brank = bra > brb ? bra : brb;
    for (int i = 0; i < p->brank; i++) {
        int64_t da = i - (p->brank - bra) >= 0 ? A->dims[i - (p->brank - bra)] : 1;
        int64_t db = i - (p->brank - brb) >= 0 ? B->dims[i - (p->brank - brb)] : 1;
        if (da != db && da != 1 && db != 1)
            return rt_fail(c, "shapes A %s and B %s are incompatible: batch dims %lld and %lld do not broadcast",
                           sa, sb, (long long)da, (long long)db);
        p->bdims[i] = da == 1 ? db : da;
    }
    rt_broadcast_strides(bra, A->dims, p->brank, p->bdims, p->sa);
    rt_broadcast_strides(brb, B->dims, p->brank, p->bdims, p->sb);
    p->batches = rt_shape_numel(p->brank, p->bdims);
    p->flat = brb == 0 || rt_shape_numel(brb, B->dims) == 1;
    /* A's batch must be the full output batch for the flat [batch*M, K] view */
    if (p->flat && rt_shape_numel(bra, A->dims) != p->batches) p->flat = 0;
    int r = 0;
    for (int i = 0; i < p->brank; i++) ydims[r++] = p->bdims[i];
    if (ra > 1) ydims[r++] = p->M;
    if (rb > 1) ydims[r++] = p->N;
    *yrank = r;
    return RT_OK;
}
