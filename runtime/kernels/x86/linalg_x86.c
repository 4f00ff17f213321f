/*
 * linalg_x86.c — optimized kernels: Linear, MatMul and Gemm in float32 on the packed AVX-512
 * GEMM (x86/sgemm.h), split over the kernel context's thread pool.
 *
 * Each kernel takes the case when every operand is float32 with data present, the shapes
 * are valid and the CPU runs sgemm.h's own kernels; anything else (other dtypes, shape-only
 * runs, malformed nodes, whose messages the reference gives) goes to the reference kernel
 * of runtime/kernels/ref/ unchanged.
 *
 *   Linear(X[..., K], W[K, N], B?)  one GEMM over rows = product of X's leading dims, B and
 *       the activation (ref/activation.h) in the GEMM's store epilogue (bias_n, act).
 *   MatMul(A, B)  numpy semantics (ONNX MatMul): a 1-D A is [1, K], a 1-D B is [K, 1] (the
 *       added dim dropped from the result), leading dims are batch dims and broadcast. When B
 *       has one matrix and A's batch is the whole output batch, A's rows are one [batch*M, K]
 *       matrix and the product is one GEMM; otherwise one GEMM per output matrix, A and B
 *       picked through broadcast batch strides, the batches spread over the pool when there
 *       are at least as many as threads and each is small, else each GEMM is split itself.
 *   Gemm(A, B, C?)  Y = alpha * op(A) op(B) + beta * C with transA/transB through sgemm.h's
 *       transposed packing; C broadcast to [M, N]: a row ([N], [1, N], scalar) or a column
 *       ([M, 1]) goes into the epilogue as bias_n / bias_m (times beta), a full [M, N] is
 *       added after the GEMM; alpha != 1 scales the product in that pass too.
 * A constant weight operand (Linear's W, MatMul's one-matrix B, Gemm's B) is packed once into
 * the node's state when the model keeps one (rt_sgemm_state_packed; not for a GEMV, one row
 * of X, which reads W's rows in place as fast), with results bit-identical to packing per
 * call. Results do not depend on the thread count (sgemm.h's guarantee; batches are
 * independent).
 */
#include <string.h>

#include "../../rt_threads.h"
#include "../kernel.h"
#include "../ref/activation.h"
#include "../matmul_plan.h"
#include "sgemm.h"

/* Every present input float32 with data, on a CPU with sgemm.h's own kernels. */
static int lx_inputs_ok(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, int n_req) {
    if (c->shape_only || !rt_sgemm_nn_is_native()) return 0;
    for (int i = 0; i < n->n_in; i++) {
        const RtTensor *t = rt_in(n, in, i);
        if (!t) {
            if (i < n_req) return 0;
            continue;
        }
        if (t->dtype != RT_F32 || !t->data) return 0;
    }
    return n->n_in >= n_req;
}

/* ---- Linear ---- */

static int k_linear_x86(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    RtKernelFn ref = rt_kernel_find(n->op);
    const RtTensor *x = rt_in(n, in, 0), *w = rt_in(n, in, 1), *b = rt_in(n, in, 2);
    RtAct a;
    if (!lx_inputs_ok(c, n, in, 2) || x->rank < 1 || w->rank != 2 || w->dims[0] != x->dims[x->rank - 1] ||
        (b && (b->rank != 1 || b->dims[0] != w->dims[1])))
        return ref(c, n, in, out);
    if (rt_act_read(c, n, &a) != RT_OK) return ref(c, n, in, out);
    const int64_t K = w->dims[0], N = w->dims[1];
    int64_t dims[RT_MAX_RANK], rows = 1;
    for (int i = 0; i < x->rank - 1; i++) rows *= dims[i] = x->dims[i];
    dims[x->rank - 1] = N;
    RT_TRY(rt_out_alloc(c, out[0], RT_F32, x->rank, dims));
    float *y = out[0]->data;
    if (rows == 0 || N == 0) return RT_OK;
    /* W packed once when it is a constant and more than one row reads it (one row is a GEMV,
     * which reads W's rows in place as fast) */
    int64_t stride = 0;
    const float *wp = rows > 1 ? rt_sgemm_state_packed(c, 1, RT_SGEMM_SIDE_B, 0, K, N, 1, w->data, N, 0, &stride)
                               : NULL;
    RtSgemm g = {rows, N, K, 0, 0, x->data, NULL, K, w->data, wp, N, y, N, NULL, b ? b->data : NULL, &a};
    rt_sgemm_run(c->pool, &g);
    return RT_OK;
}

/* ---- MatMul ---- */

typedef struct {
    const RtMatMulPlan *p;
    const float *a, *b;
    float *y;
    struct RtThreadPool *pool;       /* for each GEMM; NULL when the batches are spread */
} LxMmJob;

/* Matrix indices of A and B for output matrix i (the broadcast batch strides). */
static void lx_mm_index(const RtMatMulPlan *p, int64_t i, int64_t *ia, int64_t *ib) {
    *ia = 0, *ib = 0;
    for (int d = p->brank - 1; d >= 0; d--) {
        int64_t k = i % p->bdims[d];
        i /= p->bdims[d];
        *ia += k * p->sa[d];
        *ib += k * p->sb[d];
    }
}

static void lx_mm_batches(void *arg, int64_t i0, int64_t i1) {
    const LxMmJob *j = arg;
    const RtMatMulPlan *p = j->p;
    for (int64_t i = i0; i < i1; i++) {
        int64_t ia, ib;
        lx_mm_index(p, i, &ia, &ib);
        rt_sgemm_nn(j->pool, p->M, p->N, p->K, j->a + ia * p->M * p->K, p->K, j->b + ib * p->K * p->N, p->N,
                    j->y + i * p->M * p->N, p->N, NULL, NULL);
    }
}

/* One output matrix's multiply-adds below which the batches are spread over the pool rather
 * than each GEMM split (about 10 us of work: the hand-off per GEMM would show). */
#define LX_MM_SMALL (2 << 20)

static int k_matmul_x86(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    RtKernelFn ref = rt_kernel_find(n->op);
    const RtTensor *A = rt_in(n, in, 0), *B = rt_in(n, in, 1);
    RtMatMulPlan p;
    int yrank = 0;
    int64_t ydims[RT_MAX_RANK + 2];
    if (!lx_inputs_ok(c, n, in, 2) || rt_matmul_plan(c, A, B, &p, &yrank, ydims) != RT_OK || yrank > RT_MAX_RANK)
        return ref(c, n, in, out);
    RT_TRY(rt_out_alloc(c, out[0], RT_F32, yrank, ydims));
    float *y = out[0]->data;
    if (p.batches == 0 || p.M == 0 || p.N == 0) return RT_OK;
    if (p.flat) {
        int64_t stride = 0;
        const float *bp = p.batches * p.M > 1
                              ? rt_sgemm_state_packed(c, 1, RT_SGEMM_SIDE_B, 0, p.K, p.N, 1, B->data, p.N, 0, &stride)
                              : NULL;
        if (bp) rt_const_held(c, 1); /* B is read packed from the state only */
        RtSgemm g = {p.batches * p.M, p.N, p.K, 0, 0, A->data, NULL, p.K, B->data, bp, p.N, y, p.N, NULL, NULL, NULL};
        rt_sgemm_run(c->pool, &g);
        return RT_OK;
    }
    const int threads = rt_pool_threads(c->pool);
    const int spread = threads > 1 && p.batches >= threads && p.M * p.N * p.K < LX_MM_SMALL;
    LxMmJob j = {&p, A->data, B->data, y, spread ? NULL : c->pool};
    if (spread) rt_parallel_for(c->pool, p.batches, 1, lx_mm_batches, &j);
    else lx_mm_batches(&j, 0, p.batches);
    return RT_OK;
}

/* ---- Gemm ---- */

/* y[m, n] = alpha * y[m, n] + beta * C[m, n] (C's broadcast strides sm, sn), row by row. */
typedef struct {
    float *y;
    const float *c;
    int64_t N, sm, sn;
    float alpha, beta;
    int has_c;
} LxGemmPost;

static void lx_gemm_post(void *arg, int64_t m0, int64_t m1) {
    const LxGemmPost *j = arg;
    for (int64_t m = m0; m < m1; m++) {
        float *y = j->y + m * j->N;
        const float *c = j->has_c ? j->c + m * j->sm : NULL;
        for (int64_t n = 0; n < j->N; n++) {
            float v = j->alpha * y[n];
            y[n] = c ? v + j->beta * c[n * j->sn] : v;
        }
    }
}

static int k_gemm_x86(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    RtKernelFn ref = rt_kernel_find(n->op);
    const RtTensor *A = rt_in(n, in, 0), *B = rt_in(n, in, 1), *C = rt_in(n, in, 2);
    if (!lx_inputs_ok(c, n, in, 2) || A->rank != 2 || B->rank != 2) return ref(c, n, in, out);
    const int ta = rt_attr_int(n, "transA", 0) != 0, tb = rt_attr_int(n, "transB", 0) != 0;
    const int64_t M = A->dims[ta], K = A->dims[!ta], N = B->dims[!tb];
    if (B->dims[tb] != K) return ref(c, n, in, out);
    int64_t ydims[2] = {M, N}, cs[2] = {0, 0};
    if (C) {
        if (C->rank > 2) return ref(c, n, in, out);
        for (int i = 0; i < C->rank; i++) {
            int64_t d = C->dims[C->rank - 1 - i];
            if (d != 1 && d != ydims[1 - i]) return ref(c, n, in, out);
        }
        rt_broadcast_strides(C->rank, C->dims, 2, ydims, cs);
    }
    RT_TRY(rt_out_alloc(c, out[0], RT_F32, 2, ydims));
    float *y = out[0]->data;
    if (M == 0 || N == 0) return RT_OK;
    const float alpha = rt_attr_float(n, "alpha", 1.0f), beta = rt_attr_float(n, "beta", 1.0f);
    const int use_c = C && beta != 0.0f;
    /* C as an epilogue bias: a row (column stride 1, row stride 0), a column, or a scalar;
     * scaled by beta into scratch unless beta is 1 and C already is the bias vector. */
    const int row = use_c && cs[0] == 0 && (cs[1] == 1 || N == 1), col = use_c && !row && cs[1] == 0;
    const int epilogue = alpha == 1.0f && (row || col);
    const float *bias_m = NULL, *bias_n = NULL;
    float *scratch = NULL;
    if (epilogue) {
        const int64_t len = row ? N : M, stride = row ? cs[1] : cs[0];
        const float *cv = C->data;
        if (beta == 1.0f && stride == 1) {
            scratch = NULL;
            if (row) bias_n = cv;
            else bias_m = cv;
        } else {
            scratch = rt_scratch(c, sizeof(float) * (size_t)len);
            if (!scratch) return RT_ERR_NOMEM;
            for (int64_t i = 0; i < len; i++) scratch[i] = beta * cv[i * stride];
            if (row) bias_n = scratch;
            else bias_m = scratch;
        }
    }
    /* a constant B packed once (Gemm with transB = 1 is a Linear layer's usual form) */
    int64_t stride = 0;
    const float *bp = M > 1 || tb ? rt_sgemm_state_packed(c, 1, RT_SGEMM_SIDE_B, tb, K, N, 1, B->data, B->dims[1], 0, &stride)
                                  : NULL;
    if (bp) rt_const_held(c, 1); /* B is read packed from the state only (C still per run) */
    RtSgemm g = {M, N, K, ta, tb, A->data, NULL, A->dims[1], B->data, bp, B->dims[1], y, N, bias_m, bias_n, NULL};
    rt_sgemm_run(c->pool, &g);
    rt_scratch_free(c, scratch);
    if (epilogue || (alpha == 1.0f && !use_c)) return RT_OK;
    LxGemmPost j = {y, use_c ? C->data : NULL, N, cs[0], cs[1], alpha, beta, use_c};
    rt_parallel_for(c->pool, M, N >= 4096 ? 1 : 4096 / N, lx_gemm_post, &j);
    return RT_OK;
}

const RtKernelEntry rt_kernels_x86_linalg[] = {
    {RT_OP_LINEAR, k_linear_x86},
    {RT_OP_MATMUL, k_matmul_x86},
    {RT_OP_GEMM, k_gemm_x86},
    {-1, 0},
};
