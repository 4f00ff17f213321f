/*
 * linalg.c — Gemm, MatMul and Einsum.
 *
 * Gemm: Y[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, C broadcast one way to [M,N].
 * float32 goes through rt_sgemm (Y is first filled with C, then sgemm scales it by beta);
 * float16/bfloat16 are widened to float32 scratch and go the same way; float64 and the
 * integer types use a plain loop (integers wrap as their type does).
 *
 * MatMul follows numpy: a 1-D A is [1,K] and a 1-D B is [K,1], the added dim removed from
 * the result; dims before the last two are batch dims and broadcast. When B has no batch
 * dims, A's batch and M rows are one [batch*M, K] matrix and the product is a single sgemm
 * (the transformer's [B,T,D] x [D,F] case); otherwise one sgemm per output matrix, with A and
 * B picked through broadcast batch strides.
 *
 * Einsum parses the equation into one label per operand dim (letters, and the dims under
 * "..." get labels of their own, right-aligned and broadcast across operands), then runs
 * one loop nest: the output labels outside, the summed labels inside, each operand's offset
 * the sum over its dims of index * stride (a label repeated in one operand adds its strides,
 * which walks the diagonal). Correct rather than fast.
 */
#include "../kernel.h"
#include "../gemm.h"
#include "../matmul_plan.h"
#include "int_elems.h"

#include <string.h>

static int dtype_mm_ok(RtDtype t) {
    switch (t) {
    case RT_F32: case RT_F64: case RT_F16: case RT_BF16:
    case RT_I32: case RT_I64: case RT_U32: case RT_U64:
    case RT_I8: case RT_U8: case RT_I16: case RT_U16:
        return 1;
    default:
        return 0;
    }
}

/* float16/bfloat16 <-> float32 scratch. */
static float *widen(RtKernelCtx *c, const RtTensor *t) {
    int64_t n = rt_numel(t);
    float *f = rt_scratch(c, sizeof(float) * (size_t)(n ? n : 1));
    if (f)
        for (int64_t i = 0; i < n; i++) f[i] = (float)rt_get_f64(t, i);
    return f;
}

static void narrow(const float *f, RtTensor *t) {
    int64_t n = rt_numel(t);
    for (int64_t i = 0; i < n; i++) rt_set_f64(t, i, f[i]);
}

/* ---- Gemm ---- */

/* Plain loop for float64 and integers: Y = alpha * op(A) op(B) + beta * Y (Y holds C or 0). */
static void gemm_loop(const RtTensor *A, const RtTensor *B, RtTensor *Y, int ta, int tb, int64_t M,
                      int64_t N, int64_t K, double alpha, double beta, int has_c) {
    int fl = rt_dtype_is_float(Y->dtype);
    int exact = alpha == 1.0 && (!has_c || beta == 1.0); /* integer result needs no rounding */
    int64_t lda = A->dims[1], ldb = B->dims[1];
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            double accf = 0;
            uint64_t acci = 0;
            for (int64_t k = 0; k < K; k++) {
                int64_t ia = ta ? k * lda + m : m * lda + k, ib = tb ? n * ldb + k : k * ldb + n;
                if (fl) accf += rt_get_f64(A, ia) * rt_get_f64(B, ib);
                else acci += (uint64_t)load_i(A, ia) * (uint64_t)load_i(B, ib);
            }
            int64_t iy = m * N + n;
            if (fl) {
                rt_set_f64(Y, iy, alpha * accf + (has_c ? beta * rt_get_f64(Y, iy) : 0.0));
            } else if (exact) {
                store_i(Y, iy, acci + (has_c ? (uint64_t)load_i(Y, iy) : 0));
            } else {
                double r = alpha * (double)(int64_t)acci + (has_c ? beta * (double)load_i(Y, iy) : 0.0);
                store_i_from_f(Y, iy, r);
            }
        }
}

/* Copies C broadcast to [M,N] into Y (any dtype; float32 scratch when yf is set). */
static void gemm_fill_c(const RtTensor *C, RtTensor *Y, float *yf, int64_t M, int64_t N) {
    int64_t dims[2] = {M, N}, s[2];
    rt_broadcast_strides(C->rank, C->dims, 2, dims, s);
    size_t es = rt_dtype_size(C->dtype);
    if (!yf && s[1] == 1) { /* a bias row [N] or a full [M,N]: whole rows at once */
        for (int64_t m = 0; m < M; m++)
            memcpy((char *)Y->data + (size_t)(m * N) * es, (const char *)C->data + (size_t)(m * s[0]) * es,
                   (size_t)N * es);
        return;
    }
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            int64_t src = m * s[0] + n * s[1], dst = m * N + n;
            if (yf) yf[dst] = (float)rt_get_f64(C, src);
            else memcpy((char *)Y->data + (size_t)dst * es, (const char *)C->data + (size_t)src * es, es);
        }
}

static int k_gemm(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *A = in[0], *B = rt_in(n, in, 1), *C = rt_in(n, in, 2);
    char sa[128], sb[128];
    if (!A || !B) return rt_fail(c, "Gemm needs inputs 'A' and 'B'");
    if (A->rank != 2 || B->rank != 2)
        return rt_fail(c, "inputs 'A' %s and 'B' %s must both be 2-D", rt_shape_str(A->rank, A->dims, sa, sizeof sa),
                       rt_shape_str(B->rank, B->dims, sb, sizeof sb));
    if (!dtype_mm_ok(A->dtype) || A->dtype != B->dtype || (C && C->dtype != A->dtype))
        return rt_fail(c, "inputs must share one numeric dtype, got A %s, B %s%s%s", rt_dtype_name(A->dtype),
                       rt_dtype_name(B->dtype), C ? ", C " : "", C ? rt_dtype_name(C->dtype) : "");
    int ta = rt_attr_int(n, "transA", 0) != 0, tb = rt_attr_int(n, "transB", 0) != 0;
    int64_t M = A->dims[ta], K = A->dims[!ta], Kb = B->dims[tb], N = B->dims[!tb];
    if (K != Kb)
        return rt_fail(c, "inner dimensions differ: A %s (transA=%d) gives K=%lld, B %s (transB=%d) gives K=%lld",
                       rt_shape_str(2, A->dims, sa, sizeof sa), ta, (long long)K,
                       rt_shape_str(2, B->dims, sb, sizeof sb), tb, (long long)Kb);
    int64_t ydims[2] = {M, N};
    if (C) {
        int ok = C->rank <= 2;
        for (int i = 0; ok && i < C->rank; i++) {
            int64_t d = C->dims[C->rank - 1 - i];
            ok = d == 1 || d == ydims[1 - i];
        }
        if (!ok)
            return rt_fail(c, "input 'C' %s does not broadcast to [M,N] = [%lld,%lld]",
                           rt_shape_str(C->rank, C->dims, sa, sizeof sa), (long long)M, (long long)N);
    }
    RT_TRY(rt_out_alloc(c, out[0], A->dtype, 2, ydims));
    RtTensor *Y = out[0];
    float alpha = rt_attr_float(n, "alpha", 1.0f), beta = rt_attr_float(n, "beta", 1.0f);
    int use_c = C != NULL && beta != 0.0f;
    if (A->dtype == RT_F32) {
        if (use_c) gemm_fill_c(C, Y, NULL, M, N);
        rt_sgemm(ta, tb, (int)M, (int)N, (int)K, alpha, A->data, (int)A->dims[1], B->data,
                 (int)B->dims[1], use_c ? beta : 0.0f, Y->data, (int)N);
        return RT_OK;
    }
    if (A->dtype == RT_F16 || A->dtype == RT_BF16) {
        float *af = widen(c, A), *bf = af ? widen(c, B) : NULL;
        float *yf = bf ? rt_scratch(c, sizeof(float) * (size_t)(M * N > 0 ? M * N : 1)) : NULL;
        if (yf) {
            if (use_c) gemm_fill_c(C, Y, yf, M, N);
            rt_sgemm(ta, tb, (int)M, (int)N, (int)K, alpha, af, (int)A->dims[1], bf, (int)B->dims[1],
                     use_c ? beta : 0.0f, yf, (int)N);
            narrow(yf, Y);
        }
        rt_scratch_free(c, af);
        rt_scratch_free(c, bf);
        rt_scratch_free(c, yf);
        return yf ? RT_OK : RT_ERR_NOMEM;
    }
    if (use_c) gemm_fill_c(C, Y, NULL, M, N);
    gemm_loop(A, B, Y, ta, tb, M, N, K, alpha, beta, use_c);
    return RT_OK;
}

/* ---- MatMul ---- */


/* Calls f(p, i, a, b) for every output matrix i with its A and B matrix indices. */
static void mm_batches(const RtMatMulPlan *p, void (*f)(const RtMatMulPlan *, int64_t, int64_t, int64_t, void *),
                       void *ctx) {
    int64_t idx[RT_MAX_RANK] = {0}, a = 0, b = 0;
    for (int64_t i = 0; i < p->batches; i++) {
        f(p, i, a, b, ctx);
        for (int d = p->brank - 1; d >= 0; d--) {
            a += p->sa[d];
            b += p->sb[d];
            if (++idx[d] < p->bdims[d]) break;
            a -= p->sa[d] * p->bdims[d];
            b -= p->sb[d] * p->bdims[d];
            idx[d] = 0;
        }
    }
}

typedef struct {
    const float *a, *b;
    float *y;
} MmF32;

static void mm_one_f32(const RtMatMulPlan *p, int64_t i, int64_t a, int64_t b, void *ctx) {
    MmF32 *m = ctx;
    rt_sgemm(0, 0, (int)p->M, (int)p->N, (int)p->K, 1.0f, m->a + a * p->M * p->K, (int)p->K,
             m->b + b * p->K * p->N, (int)p->N, 0.0f, m->y + i * p->M * p->N, (int)p->N);
}

static void mm_f32(const RtMatMulPlan *p, const float *a, const float *b, float *y) {
    if (p->flat) {
        rt_sgemm(0, 0, (int)(p->batches * p->M), (int)p->N, (int)p->K, 1.0f, a, (int)p->K, b, (int)p->N,
                 0.0f, y, (int)p->N);
        return;
    }
    MmF32 m = {a, b, y};
    mm_batches(p, mm_one_f32, &m);
}

typedef struct {
    const RtTensor *a, *b;
    RtTensor *y;
} MmAny;

/* float64 and integer matrices: plain loop (integers wrap as their type). */
static void mm_one_any(const RtMatMulPlan *p, int64_t i, int64_t a, int64_t b, void *ctx) {
    MmAny *m = ctx;
    int64_t ao = a * p->M * p->K, bo = b * p->K * p->N, yo = i * p->M * p->N;
    if (m->y->dtype == RT_F64) {
        const double *A = (const double *)m->a->data + ao, *B = (const double *)m->b->data + bo;
        double *Y = (double *)m->y->data + yo;
        for (int64_t r = 0; r < p->M; r++) {
            for (int64_t n = 0; n < p->N; n++) Y[r * p->N + n] = 0;
            for (int64_t k = 0; k < p->K; k++)
                for (int64_t n = 0; n < p->N; n++) Y[r * p->N + n] += A[r * p->K + k] * B[k * p->N + n];
        }
        return;
    }
    for (int64_t r = 0; r < p->M; r++)
        for (int64_t n = 0; n < p->N; n++) {
            uint64_t acc = 0;
            for (int64_t k = 0; k < p->K; k++)
                acc += (uint64_t)load_i(m->a, ao + r * p->K + k) * (uint64_t)load_i(m->b, bo + k * p->N + n);
            store_i(m->y, yo + r * p->N + n, acc);
        }
}

/* Shapes and the batch plan; fills the output dims. */
static int k_matmul(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *A = in[0], *B = rt_in(n, in, 1);
    if (!A || !B) return rt_fail(c, "MatMul needs inputs 'A' and 'B'");
    if (!dtype_mm_ok(A->dtype) || A->dtype != B->dtype)
        return rt_fail(c, "inputs must share one numeric dtype, got A %s and B %s", rt_dtype_name(A->dtype),
                       rt_dtype_name(B->dtype));
    RtMatMulPlan p;
    int yrank = 0;
    int64_t ydims[RT_MAX_RANK + 2];
    RT_TRY(rt_matmul_plan(c, A, B, &p, &yrank, ydims));
    RT_TRY(rt_out_alloc(c, out[0], A->dtype, yrank, ydims));
    if (A->dtype == RT_F32) {
        mm_f32(&p, A->data, B->data, out[0]->data);
        return RT_OK;
    }
    if (A->dtype == RT_F16 || A->dtype == RT_BF16) {
        float *af = widen(c, A), *bf = af ? widen(c, B) : NULL;
        int64_t yn = rt_numel(out[0]);
        float *yf = bf ? rt_scratch(c, sizeof(float) * (size_t)(yn ? yn : 1)) : NULL;
        if (yf) {
            mm_f32(&p, af, bf, yf);
            narrow(yf, out[0]);
        }
        rt_scratch_free(c, af);
        rt_scratch_free(c, bf);
        rt_scratch_free(c, yf);
        return yf ? RT_OK : RT_ERR_NOMEM;
    }
    MmAny m = {A, B, out[0]};
    mm_batches(&p, mm_one_any, &m);
    return RT_OK;
}

/* ---- Einsum ---- */

#define EIN_LETTERS 52                       /* 'A'-'Z' = 0..25, 'a'-'z' = 26..51 (ASCII order) */
#define EIN_LABELS (EIN_LETTERS + RT_MAX_RANK) /* then one label per ellipsis dim */
#define EIN_MAX_OPS 16

typedef struct {
    int n_ops;
    int rank[EIN_MAX_OPS];
    int lab[EIN_MAX_OPS][RT_MAX_RANK];       /* label of each operand dim */
    int out_rank;
    int out_lab[RT_MAX_RANK];
    int64_t size[EIN_LABELS];                /* extent per label, -1 = unused */
    int n_loop;                              /* output labels then summed labels */
    int loop[EIN_LABELS];
    int64_t stride[EIN_MAX_OPS][EIN_LABELS]; /* per operand, per loop position (elements) */
} EinPlan;

static int ein_letter(char ch) {
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return 26 + (ch - 'a');
    return -1;
}

/* Parses one term into labels; an ellipsis is -1. Returns the count, or -1 on a bad term. */
static int ein_term(const char *s, size_t len, int *labs, int max, int *has_ell) {
    int k = 0;
    *has_ell = 0;
    for (size_t i = 0; i < len; i++) {
        if (k >= max) return -1;
        if (s[i] == '.') {
            if (*has_ell || i + 2 >= len || s[i + 1] != '.' || s[i + 2] != '.') return -1;
            *has_ell = 1;
            labs[k++] = -1;
            i += 2;
        } else if (ein_letter(s[i]) >= 0) {
            labs[k++] = ein_letter(s[i]);
        } else {
            return -1;
        }
    }
    return k;
}

/* Expands an operand's term (with -1 for "...") against its rank, right-aligning its
 * ellipsis dims with the shared ellipsis labels. */
static int ein_operand(RtKernelCtx *c, EinPlan *p, int op, const int *t, int nt, int has_ell,
                       const RtTensor *x, int ell_rank) {
    int nletters = nt - has_ell, ne = x->rank - nletters, r = 0;
    for (int j = 0; j < nt; j++) {
        if (t[j] >= 0) {
            p->lab[op][r++] = t[j];
            continue;
        }
        for (int e = 0; e < ne; e++) p->lab[op][r++] = EIN_LETTERS + (ell_rank - ne) + e;
    }
    p->rank[op] = r;
    for (int d = 0; d < r; d++) {
        int L = p->lab[op][d];
        int64_t ext = x->dims[d];
        if (p->size[L] < 0 || p->size[L] == 1) p->size[L] = ext;
        else if (ext != 1 && ext != p->size[L]) {
            char s[128];
            return rt_fail(c, "operand %d %s: dimension %d has size %lld where the same label has size %lld",
                           op, rt_shape_str(x->rank, x->dims, s, sizeof s), d, (long long)ext,
                           (long long)p->size[L]);
        }
    }
    return RT_OK;
}

static int ein_parse(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, EinPlan *p) {
    const char *eq0 = rt_attr_str(n, "equation", NULL);
    if (!eq0) return rt_fail(c, "attribute 'equation' is missing");
    char eq[512];
    size_t len = 0;
    for (const char *s = eq0; *s && len + 1 < sizeof eq; s++)
        if (*s != ' ' && *s != '\t') eq[len++] = *s;
    eq[len] = '\0';
    const char *arrow = strstr(eq, "->");
    size_t lhs_len = arrow ? (size_t)(arrow - eq) : len;
    if (n->n_in < 1 || n->n_in > EIN_MAX_OPS) return rt_fail(c, "Einsum takes 1 to %d inputs", EIN_MAX_OPS);
    p->n_ops = n->n_in;
    int terms[EIN_MAX_OPS][RT_MAX_RANK + 1], nt[EIN_MAX_OPS], ell[EIN_MAX_OPS], ell_rank = 0, op = 0;
    size_t start = 0;
    for (size_t i = 0; i <= lhs_len; i++) {
        if (i < lhs_len && eq[i] != ',') continue;
        if (op >= p->n_ops) return rt_fail(c, "equation '%s' has more terms than the %d inputs", eq0, p->n_ops);
        const RtTensor *x = in[op];
        if (!x) return rt_fail(c, "input %d is missing", op);
        nt[op] = ein_term(eq + start, i - start, terms[op], RT_MAX_RANK + 1, &ell[op]);
        if (nt[op] < 0 || nt[op] - ell[op] > x->rank || (!ell[op] && nt[op] != x->rank)) {
            char s[128];
            return rt_fail(c, "equation '%s': term %d '%.*s' does not fit input %d of shape %s", eq0, op,
                           (int)(i - start), eq + start, op, rt_shape_str(x->rank, x->dims, s, sizeof s));
        }
        if (ell[op] && x->rank - (nt[op] - 1) > ell_rank) ell_rank = x->rank - (nt[op] - 1);
        start = i + 1;
        op++;
    }
    if (op != p->n_ops) return rt_fail(c, "equation '%s' has %d terms for %d inputs", eq0, op, p->n_ops);
    for (int L = 0; L < EIN_LABELS; L++) p->size[L] = -1;
    for (int k = 0; k < p->n_ops; k++) RT_TRY(ein_operand(c, p, k, terms[k], nt[k], ell[k], in[k], ell_rank));
    /* output labels */
    int count[EIN_LABELS] = {0};
    for (int k = 0; k < p->n_ops; k++)
        for (int d = 0; d < p->rank[k]; d++) count[p->lab[k][d]]++;
    p->out_rank = 0;
    if (arrow) {
        int t[RT_MAX_RANK + 1], has_ell, m = ein_term(arrow + 2, strlen(arrow + 2), t, RT_MAX_RANK + 1, &has_ell);
        if (m < 0) return rt_fail(c, "equation '%s': bad output term", eq0);
        for (int j = 0; j < m; j++) {
            if (t[j] < 0) {
                for (int e = 0; e < ell_rank; e++) p->out_lab[p->out_rank++] = EIN_LETTERS + e;
                continue;
            }
            if (count[t[j]] == 0) return rt_fail(c, "equation '%s': output label '%c' is not in any input", eq0,
                                                 t[j] < 26 ? 'A' + t[j] : 'a' + t[j] - 26);
            for (int q = 0; q < p->out_rank; q++)
                if (p->out_lab[q] == t[j]) return rt_fail(c, "equation '%s': output repeats a label", eq0);
            if (p->out_rank >= RT_MAX_RANK) return rt_fail(c, "equation '%s': output rank too large", eq0);
            p->out_lab[p->out_rank++] = t[j];
        }
    } else { /* implicit: ellipsis dims, then letters seen once, alphabetically */
        for (int e = 0; e < ell_rank; e++) p->out_lab[p->out_rank++] = EIN_LETTERS + e;
        for (int L = 0; L < EIN_LETTERS; L++)
            if (count[L] == 1) {
                if (p->out_rank >= RT_MAX_RANK) return rt_fail(c, "equation '%s': output rank too large", eq0);
                p->out_lab[p->out_rank++] = L;
            }
    }
    /* loop order and strides */
    int in_out[EIN_LABELS] = {0};
    p->n_loop = 0;
    for (int q = 0; q < p->out_rank; q++) {
        p->loop[p->n_loop++] = p->out_lab[q];
        in_out[p->out_lab[q]] = 1;
    }
    for (int L = 0; L < EIN_LABELS; L++)
        if (count[L] && !in_out[L]) p->loop[p->n_loop++] = L;
    for (int k = 0; k < p->n_ops; k++) {
        int64_t s = 1, es[RT_MAX_RANK];
        for (int d = p->rank[k] - 1; d >= 0; d--) {
            es[d] = s;
            s *= in[k]->dims[d];
        }
        for (int q = 0; q < p->n_loop; q++) {
            p->stride[k][q] = 0;
            for (int d = 0; d < p->rank[k]; d++)
                if (p->lab[k][d] == p->loop[q] && !(in[k]->dims[d] == 1 && p->size[p->loop[q]] != 1))
                    p->stride[k][q] += es[d];
        }
    }
    return RT_OK;
}

static int k_einsum(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    for (int k = 0; k < n->n_in; k++)
        if (!in[k] || !dtype_mm_ok(in[k]->dtype) || in[k]->dtype != in[0]->dtype)
            return rt_fail(c, "inputs must share one numeric dtype (input %d is %s)", k,
                           in[k] ? rt_dtype_name(in[k]->dtype) : "missing");
    EinPlan *p = rt_scratch(c, sizeof *p);
    if (!p) return RT_ERR_NOMEM;
    int r = ein_parse(c, n, in, p);
    int64_t ydims[RT_MAX_RANK];
    for (int q = 0; r == RT_OK && q < p->out_rank; q++) ydims[q] = p->size[p->out_lab[q]];
    if (r == RT_OK) r = rt_out_alloc(c, out[0], in[0]->dtype, p->out_rank, ydims);
    if (r != RT_OK) {
        rt_scratch_free(c, p);
        return r;
    }
    RtTensor *y = out[0];
    int fl = rt_dtype_is_float(y->dtype), no = p->out_rank, nl = p->n_loop;
    int64_t total_out = rt_numel(y), total_sum = 1, idx[EIN_LABELS] = {0}, off[EIN_MAX_OPS] = {0};
    for (int q = no; q < nl; q++) total_sum *= p->size[p->loop[q]];
    for (int64_t o = 0; o < total_out; o++) {
        double accf = 0;
        uint64_t acci = 0;
        for (int64_t s = 0; s < total_sum; s++) {
            double pf = 1;
            uint64_t pi = 1;
            for (int k = 0; k < p->n_ops; k++) {
                if (fl) pf *= rt_get_f64(in[k], off[k]);
                else pi *= (uint64_t)load_i(in[k], off[k]);
            }
            accf += pf;
            acci += pi;
            for (int q = nl - 1; q >= no; q--) { /* odometer over summed labels */
                for (int k = 0; k < p->n_ops; k++) off[k] += p->stride[k][q];
                if (++idx[q] < p->size[p->loop[q]]) break;
                for (int k = 0; k < p->n_ops; k++) off[k] -= p->stride[k][q] * idx[q];
                idx[q] = 0;
            }
        }
        if (fl) rt_set_f64(y, o, accf);
        else store_i(y, o, acci);
        for (int q = no - 1; q >= 0; q--) { /* odometer over output labels */
            for (int k = 0; k < p->n_ops; k++) off[k] += p->stride[k][q];
            if (++idx[q] < p->size[p->loop[q]]) break;
            for (int k = 0; k < p->n_ops; k++) off[k] -= p->stride[k][q] * idx[q];
            idx[q] = 0;
        }
    }
    rt_scratch_free(c, p);
    return RT_OK;
}

const RtKernelEntry rt_kernels_linalg[] = {
    {RT_OP_GEMM, k_gemm},
    {RT_OP_MATMUL, k_matmul},
    {RT_OP_EINSUM, k_einsum},
    {-1, 0},
};
