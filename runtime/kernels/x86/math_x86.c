/*
 * math_x86.c — optimized float32 kernels for the element-wise math and normalizations
 * transformer models spend their non-GEMM time in: Exp, Erf, Tanh, Sigmoid, Gelu, Softmax,
 * LogSoftmax, LayerNormalization, and Add/Sub/Mul/Div in their common broadcasts.
 *
 * Each kernel takes the case it is good at — float32 data present (not shape mode), AVX-512F
 * on the CPU, and for the normalizations rows that are contiguous — and hands everything
 * else to the reference kernel (rt_kernel_find), so every dtype, attribute and error message
 * stays the reference's.
 *   Exp/Erf/Tanh/Sigmoid/Gelu   vmath.h's vector functions over the flat tensor.
 *   Softmax/LogSoftmax          rows of length n = dims[axis] (opset >= 13) when every axis
 *                               after `axis` is 1, or n = prod(dims[axis:]) (opset < 13, the
 *                               input coerced to 2-D: always contiguous); per row three
 *                               vector passes: max, e = exp(x - max) stored and summed
 *                               (16 float lanes, then a fixed tree), y = e * (1 / sum); for
 *                               LogSoftmax y = (x - max) - log(sum).
 *   LayerNormalization          rows of prod(dims[axis:]) (always contiguous), Scale and B
 *                               of the full normalized size (else reference), stash_type
 *                               float; mean and variance summed in double as the reference
 *                               does (one pass over x - x[0], see layer_norm_row; x - mean
 *                               then taken as (x - hi) - lo with the mean split in two
 *                               floats), y = (x - mean) * inv * scale + b.
 *   HardSigmoid/HardSwish       over the flat tensor, one IEEE operation at a time as the
 *                               reference (bit for bit): clip(alpha * x + beta, 0, 1) and
 *                               x * clip(x / 6 + 0.5, 0, 1) (MobileNetV3's activations: as
 *                               SSE loops they cost PaddleOCR's classifier a third of its
 *                               float time).
 *   Add/Sub/Mul/Div             both float32 with one of: equal shapes, one side a scalar,
 *                               one side a block repeated along the outer axes (bias [N]
 *                               over [.., N], a mask [T, T] over [B, H, T, T]); results are
 *                               the reference's bit for bit (one IEEE operation each).
 * Threads: rows (or element ranges) split over c->pool with a minimum chunk, so small tensors
 * stay on one thread; each element is computed by the same code whatever the chunking (tails
 * use masked vectors), so 1 and 2 threads give the same bits.
 */
#include "../kernel.h"
#include "../../rt_threads.h"
#include "math_x86.h"
#include "vmath.h"

#include <math.h>
#include <string.h>

/* Least elements per chunk for the transcendental functions (about 0.5 ns each on one core:
 * 4 us, well over the 0.1-0.3 us a hand-off to a worker costs). */
#define MATH_PAR_MIN ((int64_t)1 << 13)
/* Least elements per chunk for memory-bound passes (binary ops, a row's three passes):
 * 2048 (8 KiB, ~0.3 us), small as such. At 2 threads the input of such an op was mostly
 * written by a split GEMM or conv just before, so half of it sits in the other core's
 * cache, and one core reading all of it ran far slower than at 1 thread (mobilenet_v2's
 * residual Adds 1-3 -> 3-12 us, tinylm's 4 -> 7 us); splitting lets each core read its
 * share (2 threads, 32768 -> 2048, wafer bench --profile, 6 alternating rounds: tinylm's
 * Adds 78 -> 52 us a run and LayerNorms 100 -> 72 us, mobilenet_v2's Adds 55 -> 46 us). */
#define MOVE_PAR_MIN ((int64_t)1 << 11)

static int run_ref(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    RtKernelFn ref = rt_kernel_find(n->op);
    if (!ref) return rt_fail(c, "no reference kernel for %s", rt_op_name(n->op));
    return ref(c, n, in, out);
}

/* The fast paths need computed inputs and the vector unit. */
static int fast_ok(RtKernelCtx *c, const RtTensor *x) {
    return !c->shape_only && x && x->dtype == RT_F32 && x->data && rt_vm_avx512();
}

/* Rows per chunk so a chunk holds at least min_el elements. */
static int64_t rows_min(int64_t len, int64_t min_el) {
    return len >= min_el ? 1 : (min_el + len - 1) / (len ? len : 1);
}

/* ---- Exp, Erf, Tanh, Sigmoid, Gelu ---- */

typedef struct {
    int op;
    int gelu_tanh;   /* Gelu approximate="tanh" */
    const float *x;
    float *y;
} UnaryJob;

static void unary_chunk(void *arg, int64_t i0, int64_t i1) {
    const UnaryJob *j = arg;
    const float *x = j->x + i0;
    float *y = j->y + i0;
    int64_t n = i1 - i0;
    switch (j->op) {
    case RT_OP_EXP: rt_vm_exp_f32(x, y, n); break;
    case RT_OP_ERF: rt_vm_erf_f32(x, y, n); break;
    case RT_OP_TANH: rt_vm_tanh_f32(x, y, n); break;
    case RT_OP_SIGMOID: rt_vm_sigmoid_f32(x, y, n); break;
    default: rt_vm_gelu_f32(x, y, n, j->gelu_tanh); break;
    }
}

static int k_unary(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0);
    int gelu_tanh = 0;
    if (n->op == RT_OP_GELU) {
        const char *a = rt_attr_str(n, "approximate", "none");
        if (strcmp(a, "tanh") == 0) gelu_tanh = 1;
        else if (strcmp(a, "none") != 0) return run_ref(c, n, in, out); /* its message */
    }
    if (!fast_ok(c, x)) return run_ref(c, n, in, out);
    RT_TRY(rt_out_alloc(c, out[0], RT_F32, x->rank, x->dims));
    UnaryJob j = {n->op, gelu_tanh, x->data, out[0]->data};
    rt_parallel_for(c->pool, rt_numel(x), MATH_PAR_MIN, unary_chunk, &j);
    return RT_OK;
}

#if defined(__x86_64__) && defined(__GNUC__)
#define T512 RT_VM_T512

/* Lanes [0, n) of a 16-lane step, n in [1, 16]. */
static inline __mmask16 tail_mask(int64_t n) { return (__mmask16)((1u << n) - 1); }

/* ---- Softmax, LogSoftmax: one contiguous row ---- */

T512 static void softmax_row(const float *x, float *y, int64_t n, int log_softmax) {
    __m512 vm = _mm512_set1_ps(-INFINITY), vs = _mm512_setzero_ps();
    int64_t j = 0;
    for (; j + 16 <= n; j += 16) vm = _mm512_max_ps(vm, _mm512_loadu_ps(x + j));
    if (j < n) vm = _mm512_max_ps(vm, _mm512_mask_loadu_ps(vm, tail_mask(n - j), x + j));
    /* A NaN the lane maxima drop still makes the sum, and so the row, NaN (as in the
     * reference); +inf makes x - m NaN for itself and the row NaN too. */
    __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(vm));
    for (j = 0; j + 16 <= n; j += 16) {
        __m512 e = rt_vm512_exp(_mm512_sub_ps(_mm512_loadu_ps(x + j), m));
        if (!log_softmax) _mm512_storeu_ps(y + j, e);
        vs = _mm512_add_ps(vs, e);
    }
    if (j < n) {
        __mmask16 k = tail_mask(n - j);
        __m512 e = rt_vm512_exp(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + j), m));
        if (!log_softmax) _mm512_mask_storeu_ps(y + j, k, e);
        vs = _mm512_mask_add_ps(vs, k, vs, e);
    }
    float s = _mm512_reduce_add_ps(vs);
    if (log_softmax) {
        __m512 ls = _mm512_set1_ps((float)log((double)s));
        for (j = 0; j + 16 <= n; j += 16)
            _mm512_storeu_ps(y + j, _mm512_sub_ps(_mm512_sub_ps(_mm512_loadu_ps(x + j), m), ls));
        if (j < n) {
            __mmask16 k = tail_mask(n - j);
            _mm512_mask_storeu_ps(y + j, k, _mm512_sub_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + j), m), ls));
        }
        return;
    }
    __m512 inv = _mm512_set1_ps(1.0f / s);
    for (j = 0; j + 16 <= n; j += 16) _mm512_storeu_ps(y + j, _mm512_mul_ps(_mm512_loadu_ps(y + j), inv));
    if (j < n) {
        __mmask16 k = tail_mask(n - j);
        _mm512_mask_storeu_ps(y + j, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, y + j), inv));
    }
}

/* ---- LayerNormalization: one contiguous row ---- */

/* The 16 floats of v widened into two vectors of 8 doubles less k, added to s1 and, squared,
 * to s2 (lo: floats 0-7, hi: 8-15). */
T512 static inline void acc_shifted(__m512 v, __m512d k, __m512d *s1lo, __m512d *s1hi, __m512d *s2lo,
                                    __m512d *s2hi) {
    __m512d a = _mm512_sub_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(v)), k);
    __m512d b = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))), k);
    *s1lo = _mm512_add_pd(*s1lo, a);
    *s1hi = _mm512_add_pd(*s1hi, b);
    *s2lo = _mm512_fmadd_pd(a, a, *s2lo);
    *s2hi = _mm512_fmadd_pd(b, b, *s2hi);
}

/* y = (x - mean) / sqrt(var + eps) * s + b over one row of len (b may be NULL); the row's mean
 * and 1 / sqrt(var + eps) into *mean_out / *inv_out. */
T512 static void layer_norm_row(const float *x, float *y, int64_t len, const float *s, const float *b,
                                double eps, float *mean_out, float *inv_out) {
    /* One pass in double over d = x - x[0]: mean = x[0] + E[d], var = E[d^2] - E[d]^2. The
     * shift keeps the subtraction harmless: no element lies further than sqrt(len - 1)
     * standard deviations from the mean, so E[d]^2 / var <= len and the cancellation costs
     * at most len * 2^-53 of var (the two passes this replaces read the row twice and
     * waited for the mean between them: 10.9 -> 8.3 us on tinylm's [128, 256]). */
    const float x0 = x[0];
    const __m512d k0 = _mm512_set1_pd((double)x0);
    __m512d s1lo = _mm512_setzero_pd(), s1hi = _mm512_setzero_pd(), s2lo = _mm512_setzero_pd(),
            s2hi = _mm512_setzero_pd();
    int64_t j = 0;
    __mmask16 k = tail_mask(len % 16 ? len % 16 : 16);
    for (; j + 16 <= len; j += 16) acc_shifted(_mm512_loadu_ps(x + j), k0, &s1lo, &s1hi, &s2lo, &s2hi);
    if (j < len) /* lanes past the row read as x[0]: d = 0 there */
        acc_shifted(_mm512_mask_loadu_ps(_mm512_set1_ps(x0), k, x + j), k0, &s1lo, &s1hi, &s2lo, &s2hi);
    double md = _mm512_reduce_add_pd(_mm512_add_pd(s1lo, s1hi)) / (double)len;
    double var = _mm512_reduce_add_pd(_mm512_add_pd(s2lo, s2hi)) / (double)len - md * md;
    if (var < 0) var = 0; /* rounding when every element is equal */
    double mean = (double)x0 + md;
    /* x - mean as (x - mh) - ml: exact first step wherever it cancels (x near mh) */
    float mh_f = (float)mean;
    __m512 mh = _mm512_set1_ps(mh_f), ml = _mm512_set1_ps((float)(mean - (double)mh_f));
    double inv = 1.0 / sqrt(var + eps);
    *mean_out = (float)mean;
    *inv_out = (float)inv;
    if (!(inv >= 0x1p-100 && inv <= 0x1p100)) { /* inv would lose bits (or be inf) as a float */
        for (j = 0; j < len; j++) y[j] = (float)(((double)x[j] - mean) * inv * s[j] + (b ? b[j] : 0.0));
        return;
    }
    __m512 vi = _mm512_set1_ps((float)inv);
    for (j = 0; j < len; j += 16) {
        __mmask16 m = j + 16 <= len ? (__mmask16)0xffff : k;
        __m512 d = _mm512_sub_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + j), mh), ml);
        __m512 t = _mm512_mul_ps(_mm512_mul_ps(d, vi), _mm512_maskz_loadu_ps(m, s + j));
        if (b) t = _mm512_add_ps(t, _mm512_maskz_loadu_ps(m, b + j));
        _mm512_mask_storeu_ps(y + j, m, t);
    }
}

/* ---- HardSigmoid, HardSwish ---- */

typedef struct {
    int op;
    float alpha, beta; /* HardSigmoid */
    const float *x;
    float *y;
} HardJob;

#if defined(__x86_64__) && defined(__GNUC__)
/* clip(t, 0, 1) as the reference's (t < 0 ? 0 : t) then (t > 1 ? 1 : t): MAXPS / MINPS return
 * their second operand when either is NaN, so t goes second and a NaN passes through. */
T512 static inline __m512 hard_clip01(__m512 t) {
    return _mm512_min_ps(_mm512_set1_ps(1.0f), _mm512_max_ps(_mm512_setzero_ps(), t));
}

T512 static inline __m512 hard_one(const HardJob *j, __m512 v) {
    if (j->op == RT_OP_HARD_SWISH)
        return _mm512_mul_ps(v, hard_clip01(_mm512_add_ps(_mm512_div_ps(v, _mm512_set1_ps(6.0f)), _mm512_set1_ps(0.5f))));
    __m512 t = _mm512_mul_ps(_mm512_set1_ps(j->alpha), v);
    __asm__("" : "+v"(t)); /* two roundings, as the reference: no fused multiply-add */
    return hard_clip01(_mm512_add_ps(t, _mm512_set1_ps(j->beta)));
}

T512 static void hard_chunk(void *arg, int64_t i0, int64_t i1) {
    const HardJob *j = arg;
    int64_t i = i0;
    for (; i + 16 <= i1; i += 16) _mm512_storeu_ps(j->y + i, hard_one(j, _mm512_loadu_ps(j->x + i)));
    if (i < i1) {
        __mmask16 k = tail_mask(i1 - i);
        _mm512_mask_storeu_ps(j->y + i, k, hard_one(j, _mm512_maskz_loadu_ps(k, j->x + i)));
    }
}

static int k_hard(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0);
    if (!fast_ok(c, x)) return run_ref(c, n, in, out);
    RT_TRY(rt_out_alloc(c, out[0], RT_F32, x->rank, x->dims));
    HardJob j = {n->op, rt_attr_float(n, "alpha", 0.2f), rt_attr_float(n, "beta", 0.5f), x->data, out[0]->data};
    rt_parallel_for(c->pool, rt_numel(x), MOVE_PAR_MIN, hard_chunk, &j);
    return RT_OK;
}
#else
static int k_hard(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return run_ref(c, n, in, out);
}
#endif

/* ---- Add, Sub, Mul, Div ---- */

/* y = a op b over n elements: both arrays (vv), b one scalar (vs), a one scalar (sv). */
#define BIN_FNS(OP, VOP)                                                                        \
    T512 static void OP##_vv(const float *a, const float *b, float *y, int64_t n) {             \
        int64_t i = 0;                                                                          \
        for (; i + 16 <= n; i += 16)                                                            \
            _mm512_storeu_ps(y + i, VOP(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i)));      \
        if (i < n) {                                                                            \
            __mmask16 k = tail_mask(n - i);                                                     \
            _mm512_mask_storeu_ps(y + i, k, VOP(_mm512_maskz_loadu_ps(k, a + i), _mm512_maskz_loadu_ps(k, b + i))); \
        }                                                                                       \
    }                                                                                           \
    T512 static void OP##_vs(const float *a, const float *b, float *y, int64_t n) {             \
        __m512 s = _mm512_set1_ps(*b);                                                          \
        int64_t i = 0;                                                                          \
        for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, VOP(_mm512_loadu_ps(a + i), s));   \
        if (i < n) {                                                                            \
            __mmask16 k = tail_mask(n - i);                                                     \
            _mm512_mask_storeu_ps(y + i, k, VOP(_mm512_maskz_loadu_ps(k, a + i), s));           \
        }                                                                                       \
    }                                                                                           \
    T512 static void OP##_sv(const float *a, const float *b, float *y, int64_t n) {             \
        __m512 s = _mm512_set1_ps(*a);                                                          \
        int64_t i = 0;                                                                          \
        for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, VOP(s, _mm512_loadu_ps(b + i)));   \
        if (i < n) {                                                                            \
            __mmask16 k = tail_mask(n - i);                                                     \
            _mm512_mask_storeu_ps(y + i, k, VOP(s, _mm512_maskz_loadu_ps(k, b + i)));           \
        }                                                                                       \
    }
BIN_FNS(add, _mm512_add_ps)
BIN_FNS(sub, _mm512_sub_ps)
BIN_FNS(mul, _mm512_mul_ps)
BIN_FNS(div, _mm512_div_ps)

typedef void (*BinFn)(const float *a, const float *b, float *y, int64_t n);

static int have_avx512_code(void) { return 1; }

#else /* no AVX-512 code: the kernels below only ever take the reference path */

typedef void (*BinFn)(const float *a, const float *b, float *y, int64_t n);

static void softmax_row(const float *x, float *y, int64_t n, int log_softmax) {
    (void)x, (void)y, (void)n, (void)log_softmax;
}
static void layer_norm_row(const float *x, float *y, int64_t len, const float *s, const float *b,
                           double eps, float *mean_out, float *inv_out) {
    (void)x, (void)y, (void)len, (void)s, (void)b, (void)eps, (void)mean_out, (void)inv_out;
}
static int have_avx512_code(void) { return 0; }
static void add_vv(const float *a, const float *b, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}

#endif

/* ---- Softmax, LogSoftmax ---- */

typedef struct {
    const float *x;
    float *y;
    int64_t len;       /* row length */
    int log_softmax;
} SoftmaxJob;

static void softmax_chunk(void *arg, int64_t r0, int64_t r1) {
    const SoftmaxJob *j = arg;
    for (int64_t r = r0; r < r1; r++) softmax_row(j->x + r * j->len, j->y + r * j->len, j->len, j->log_softmax);
}

static int k_softmax(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0);
    if (!fast_ok(c, x) || !have_avx512_code() || x->rank < 1) return run_ref(c, n, in, out);
    int coerce2d = n->opset < 13;
    int64_t a = rt_attr_int(n, "axis", coerce2d ? 1 : -1);
    if (a < -x->rank || a >= x->rank) return run_ref(c, n, in, out); /* its message */
    int axis = (int)(a < 0 ? a + x->rank : a);
    int64_t rows = 1, len = 1;
    for (int i = 0; i < x->rank; i++) {
        if (i < axis) rows *= x->dims[i];
        else if (i == axis || coerce2d) len *= x->dims[i];
        else if (x->dims[i] != 1) return run_ref(c, n, in, out); /* rows strided: reference */
    }
    RT_TRY(rt_out_alloc(c, out[0], RT_F32, x->rank, x->dims));
    if (len == 0) return RT_OK;
    SoftmaxJob j = {x->data, out[0]->data, len, n->op == RT_OP_LOG_SOFTMAX};
    rt_parallel_for(c->pool, rows, rows_min(3 * len, MOVE_PAR_MIN), softmax_chunk, &j);
    return RT_OK;
}

/* ---- LayerNormalization ---- */

/* t is float32 with data and holds the whole normalized shape ndims[nr] (leading 1s aside). */
static int ln_full(const RtTensor *t, int nr, const int64_t *ndims, int64_t len) {
    if (!t || t->dtype != RT_F32 || !t->data || t->rank > nr || rt_numel(t) != len) return 0;
    for (int i = 0; i < t->rank; i++)
        if (t->dims[t->rank - 1 - i] != ndims[nr - 1 - i]) return 0;
    return 1;
}

/* Output i is wanted unless the node marks it absent (slot -1); output 0 always is. */
static int out_wanted(const RtNode *n, int i) {
    return i < n->n_out && (i == 0 || !n->out || n->out[i] >= 0);
}

typedef struct {
    const float *x, *scale, *bias; /* bias may be NULL */
    float *y, *mean, *inv;         /* mean, inv may be NULL (not requested) */
    int64_t len;
    double eps;
} LayerNormJob;

static void layer_norm_chunk(void *arg, int64_t r0, int64_t r1) {
    const LayerNormJob *j = arg;
    for (int64_t r = r0; r < r1; r++) {
        float mean, inv;
        layer_norm_row(j->x + r * j->len, j->y + r * j->len, j->len, j->scale, j->bias, j->eps, &mean, &inv);
        if (j->mean) j->mean[r] = mean;
        if (j->inv) j->inv[r] = inv;
    }
}

/* ---- Add -> LayerNormalization (math_x86.h) ---- */

typedef struct {
    const float *a, *b;
    float *z;
    LayerNormJob ln;  /* over z */
} AddLnJob;

static void add_ln_chunk(void *arg, int64_t r0, int64_t r1) {
    const AddLnJob *j = arg;
    const int64_t len = j->ln.len;
    for (int64_t r = r0; r < r1; r++) { /* the Add kernel's loop, then the LayerNorm's, on the row */
        add_vv(j->a + r * len, j->b + r * len, j->z + r * len, len);
        layer_norm_chunk((void *)&j->ln, r, r + 1);
    }
}

int rt_add_layer_norm_supported(void) { return have_avx512_code() && rt_vm_avx512(); }

void rt_add_layer_norm(struct RtThreadPool *pool, const float *a, const float *b, float *z, float *y, int64_t rows,
                       int64_t len, const float *scale, const float *bias, double eps) {
    AddLnJob j = {a, b, z, {z, scale, bias, y, NULL, NULL, len, eps}};
    rt_parallel_for(pool, rows, rows_min(3 * len, MOVE_PAR_MIN), add_ln_chunk, &j);
}

static int k_layer_norm(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0), *scale = rt_in(n, in, 1), *bias = rt_in(n, in, 2);
    if (!fast_ok(c, x) || !have_avx512_code() || x->rank < 1 || rt_attr_int(n, "stash_type", RT_F32) != RT_F32)
        return run_ref(c, n, in, out);
    int64_t a = rt_attr_int(n, "axis", -1);
    if (a < -x->rank || a >= x->rank) return run_ref(c, n, in, out);
    int axis = (int)(a < 0 ? a + x->rank : a), nr = x->rank - axis;
    const int64_t *ndims = x->dims + axis;
    int64_t len = rt_shape_numel(nr, ndims), rows = rt_shape_numel(axis, x->dims), sdims[RT_MAX_RANK];
    if (len == 0 || !ln_full(scale, nr, ndims, len) || (bias && !ln_full(bias, nr, ndims, len)))
        return run_ref(c, n, in, out);
    for (int i = 0; i < x->rank; i++) sdims[i] = i < axis ? x->dims[i] : 1;
    rt_out_set_shape(out[0], RT_F32, x->rank, x->dims);
    for (int i = 1; i < 3 && i < n->n_out; i++) rt_out_set_shape(out[i], RT_F32, x->rank, sdims);
    for (int i = 0; i < 3; i++)
        if (out_wanted(n, i)) RT_TRY(rt_out_alloc_data(c, out[i]));
    LayerNormJob j = {x->data, scale->data, bias ? bias->data : NULL, out[0]->data,
                      out_wanted(n, 1) ? out[1]->data : NULL, out_wanted(n, 2) ? out[2]->data : NULL,
                      len, rt_attr_float(n, "epsilon", 1e-5f)};
    rt_parallel_for(c->pool, rows, rows_min(3 * len, MOVE_PAR_MIN), layer_norm_chunk, &j);
    return RT_OK;
}

/* ---- Add, Sub, Mul, Div ---- */

/* How source t (shape broadcast to out's rank, dims) lies in the output: the length of the
 * contiguous block of it that repeats along out's outer axes — numel(out) when t has out's
 * layout, 1 for a scalar — or 0 when it is not such a block (e.g. [N, 1] over [N, M]). */
static int64_t bin_block(const RtTensor *t, int rank, const int64_t *dims) {
    int64_t st[RT_MAX_RANK], blk = 1;
    rt_broadcast_strides(t->rank, t->dims, rank, dims, st);
    int i = rank - 1;
    for (; i >= 0; i--) {
        if (dims[i] == 1) continue;
        if (st[i] != blk) break;
        blk *= dims[i];
    }
    for (; i >= 0; i--)
        if (dims[i] != 1 && st[i] != 0) return 0;
    return blk;
}

typedef enum { BIN_SAME, BIN_SCALAR_A, BIN_SCALAR_B, BIN_ROWS_A, BIN_ROWS_B } BinMode;

typedef struct {
    BinFn vv, vs, sv;  /* the op on two arrays, array-scalar, scalar-array */
    BinMode mode;
    const float *a, *b;
    float *y;
    int64_t len;       /* BIN_ROWS_*: the repeated block's length (the row) */
} BinJob;

/* [i0, i1): elements (BIN_SAME, BIN_SCALAR_*) or rows of len (BIN_ROWS_*). */
static void bin_chunk(void *arg, int64_t i0, int64_t i1) {
    const BinJob *j = arg;
    int64_t n = i1 - i0, L = j->len;
    switch (j->mode) {
    case BIN_SAME: j->vv(j->a + i0, j->b + i0, j->y + i0, n); break;
    case BIN_SCALAR_A: j->sv(j->a, j->b + i0, j->y + i0, n); break;
    case BIN_SCALAR_B: j->vs(j->a + i0, j->b, j->y + i0, n); break;
    case BIN_ROWS_A:
        for (int64_t r = i0; r < i1; r++) j->vv(j->a, j->b + r * L, j->y + r * L, L);
        break;
    case BIN_ROWS_B:
        for (int64_t r = i0; r < i1; r++) j->vv(j->a + r * L, j->b, j->y + r * L, L);
        break;
    }
}

/* The op's three loops; 0 when there is no vector code. */
static int bin_fns(int op, BinJob *j) {
#if defined(__x86_64__) && defined(__GNUC__)
    switch (op) {
    case RT_OP_ADD: j->vv = add_vv, j->vs = add_vs, j->sv = add_sv; return 1;
    case RT_OP_SUB: j->vv = sub_vv, j->vs = sub_vs, j->sv = sub_sv; return 1;
    case RT_OP_MUL: j->vv = mul_vv, j->vs = mul_vs, j->sv = mul_sv; return 1;
    case RT_OP_DIV: j->vv = div_vv, j->vs = div_vs, j->sv = div_sv; return 1;
    default: return 0;
    }
#else
    (void)op, (void)j;
    return 0;
#endif
}

static int k_binary(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *a = rt_in(n, in, 0), *b = rt_in(n, in, 1);
    BinJob j;
    memset(&j, 0, sizeof j);
    if (!fast_ok(c, a) || !fast_ok(c, b) || rt_attr(n, "broadcast") || !bin_fns(n->op, &j))
        return run_ref(c, n, in, out);
    int rank;
    int64_t dims[RT_MAX_RANK];
    RT_TRY(rt_broadcast_shape(c, a->rank, a->dims, b->rank, b->dims, &rank, dims));
    int64_t total = rt_shape_numel(rank, dims);
    int64_t ba = bin_block(a, rank, dims), bb = bin_block(b, rank, dims);
    if (total > 0 && ba == total && bb == total) j.mode = BIN_SAME;
    else if (total > 0 && ba == total && bb == 1) j.mode = BIN_SCALAR_B;
    else if (total > 0 && bb == total && ba == 1) j.mode = BIN_SCALAR_A;
    else if (total > 0 && ba == total && bb > 1) j.mode = BIN_ROWS_B, j.len = bb;
    else if (total > 0 && bb == total && ba > 1) j.mode = BIN_ROWS_A, j.len = ba;
    else return run_ref(c, n, in, out);
    RT_TRY(rt_out_alloc(c, out[0], RT_F32, rank, dims));
    j.a = a->data, j.b = b->data, j.y = out[0]->data;
    if (j.mode == BIN_ROWS_A || j.mode == BIN_ROWS_B)
        rt_parallel_for(c->pool, total / j.len, rows_min(j.len, MOVE_PAR_MIN), bin_chunk, &j);
    else
        rt_parallel_for(c->pool, total, MOVE_PAR_MIN, bin_chunk, &j);
    return RT_OK;
}

const RtKernelEntry rt_kernels_x86_math[] = {
    {RT_OP_EXP, k_unary},
    {RT_OP_ERF, k_unary},
    {RT_OP_TANH, k_unary},
    {RT_OP_SIGMOID, k_unary},
    {RT_OP_GELU, k_unary},
    {RT_OP_HARD_SIGMOID, k_hard},
    {RT_OP_HARD_SWISH, k_hard},
    {RT_OP_SOFTMAX, k_softmax},
    {RT_OP_LOG_SOFTMAX, k_softmax},
    {RT_OP_LAYER_NORMALIZATION, k_layer_norm},
    {RT_OP_ADD, k_binary},
    {RT_OP_SUB, k_binary},
    {RT_OP_MUL, k_binary},
    {RT_OP_DIV, k_binary},
    {-1, 0},
};
