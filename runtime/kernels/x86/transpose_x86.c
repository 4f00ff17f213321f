/*
 * transpose_x86.c — optimized Transpose for 4-byte elements (float32, int32, uint32) with
 * AVX-512: attention's head split and merge in transformer models ([B, T, H, D] ->
 * [B, H, D, T] for K^T, [B, H, T, D] <-> [B, T, H, D]).
 *
 * Algorithm. The output is contiguous; output axis i reads the input with stride
 * S[i] = the input's stride of axis perm[i]. Axes of size 1 are dropped and neighbouring
 * output axes that read the input contiguously (S[i] == S[i+1] * D[i+1]) are merged, which
 * leaves one of two cases:
 *   - the last output axis reads the input with stride 1: the output is runs of D[last]
 *     contiguous input elements, one memcpy each ([B, T, H, D] <-> [B, H, T, D]: 64-float
 *     runs);
 *   - otherwise some output axis A reads the input with stride 1 and the last axis L with
 *     stride S[L]: for every index of the other axes, the (A, L) plane is a 2-D transpose,
 *     done in tiles of 16 x 16: 16 rows l (one masked load of 16 consecutive a each),
 *     transposed in registers (unpack, shuffle, two 128-bit lane shuffles: 64 shuffles),
 *     stored as 16 rows a of 16 consecutive l (masked at the plane's edges). K^T of tinylm
 *     (128 x 4 x 64 -> 4 x 64 x 128): 30 -> ~4 us.
 * Every element is moved, never computed: the output is the reference's bit for bit.
 * Anything else (other element sizes, shape-only runs, a bad perm, no AVX-512) goes to the
 * reference kernel (ref/shape_ops.c), which also gives the error messages.
 */
#include <string.h>

#include "../kernel.h"
#include "../../rt_threads.h"

/* Least elements per thread's chunk: ~1 us of moving at L2 speed, well over a hand-off. */
#define TR_PAR_MIN ((int64_t)1 << 13)

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#include "transpose16.h"

#define TR_T512 __attribute__((target("avx512f")))

static __mmask16 tr_mask(int64_t n) { return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1); }

/* out[a * ldo + l] = in[l * ldi + a] for a < na, l < nl (one plane). */
TR_T512 static void tr_plane(const float *in, int64_t ldi, int64_t na, int64_t nl, float *out, int64_t ldo) {
    for (int64_t a0 = 0; a0 < na; a0 += 16) {
        const int64_t ra = na - a0 < 16 ? na - a0 : 16;
        const __mmask16 ma = tr_mask(ra);
        for (int64_t l0 = 0; l0 < nl; l0 += 16) {
            const int64_t rl = nl - l0 < 16 ? nl - l0 : 16;
            const __mmask16 ml = tr_mask(rl);
            __m512 r[16];
            const float *src = in + l0 * ldi + a0;
            for (int i = 0; i < 16; i++)
                r[i] = i < rl ? _mm512_maskz_loadu_ps(ma, src + i * ldi) : _mm512_setzero_ps();
            rt_tr16_ps(r);
            float *dst = out + a0 * ldo + l0;
            for (int i = 0; i < ra; i++) _mm512_mask_storeu_ps(dst + i * ldo, ml, r[i]);
        }
    }
}

/* The merged view: q axes, output dims D (contiguous output), input strides S. */
typedef struct {
    int q;
    int64_t D[RT_MAX_RANK], S[RT_MAX_RANK], T[RT_MAX_RANK]; /* T: the output's strides */
} TrView;

/* 0 when the kernel does not take the node (the reference runs it). */
static int tr_view(const RtNode *n, const RtTensor *x, TrView *v, int64_t *out_dims) {
    const int r = x->rank;
    int64_t perm[RT_MAX_RANK], xs[RT_MAX_RANK];
    const int64_t *p;
    int np = rt_attr_ints(n, "perm", &p);
    if (r < 1 || r > RT_MAX_RANK || (np >= 0 && np != r)) return 0;
    int seen[RT_MAX_RANK] = {0};
    for (int i = 0; i < r; i++) {
        perm[i] = np >= 0 ? p[i] : r - 1 - i;
        if (perm[i] < 0 || perm[i] >= r || seen[perm[i]]) return 0;
        seen[perm[i]] = 1;
    }
    xs[r - 1] = 1;
    for (int i = r - 2; i >= 0; i--) xs[i] = xs[i + 1] * x->dims[i + 1];
    v->q = 0;
    for (int i = 0; i < r; i++) {
        int64_t d = x->dims[perm[i]], s = xs[perm[i]];
        out_dims[i] = d;
        if (d == 1) continue;
        if (v->q > 0 && v->S[v->q - 1] == s * d) { /* reads on where the previous axis's step lands */
            v->D[v->q - 1] *= d;
            v->S[v->q - 1] = s;
        } else {
            v->D[v->q] = d;
            v->S[v->q] = s;
            v->q++;
        }
    }
    int64_t t = 1;
    for (int i = v->q - 1; i >= 0; i--) {
        v->T[i] = t;
        t *= v->D[i];
    }
    return 1;
}

/* Walks every index of the axes other than A and L (odometer), with axis 0 restricted to
 * [lo, hi) (in units of 16 when axis 0 is A, the plane's contiguous axis), calling the copy
 * of the remaining axes with the input and output offsets of each. */
TR_T512 static void tr_run(const TrView *v, const float *x, float *y, int A, int L, int64_t lo, int64_t hi) {
    int64_t idx[RT_MAX_RANK] = {0}, a0 = 0, na = A >= 0 ? v->D[A] : 0;
    if (A == 0) { /* split along the plane's a: 16-wide tiles */
        a0 = lo * 16;
        na = (hi * 16 < v->D[0] ? hi * 16 : v->D[0]) - a0;
    } else {
        idx[0] = lo;
    }
    for (;;) {
        int64_t io = 0, oo = 0;
        for (int i = 0; i < v->q; i++) io += idx[i] * v->S[i], oo += idx[i] * v->T[i];
        if (A < 0) memcpy(y + oo, x + io, sizeof(float) * (size_t)v->D[L]);
        else tr_plane(x + io + a0 * v->S[A], v->S[L], na, v->D[L], y + oo + a0 * v->T[A], v->T[A]);
        int i = v->q - 1;
        for (; i >= 0; i--) {
            if (i == A || i == L) continue;
            if (++idx[i] < (i == 0 ? hi : v->D[i])) break;
            if (i == 0) return;
            idx[i] = 0;
        }
        if (i < 0) return;
    }
}

typedef struct {
    const TrView *v;
    const float *x;
    float *y;
    int A, L;
} TrJob;

static void tr_chunk(void *arg, int64_t lo, int64_t hi) {
    const TrJob *j = arg;
    tr_run(j->v, j->x, j->y, j->A, j->L, lo, hi);
}

static int k_transpose_x86(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = in[0];
    TrView v;
    int64_t dims[RT_MAX_RANK];
    if (c->shape_only || !x || !x->data || rt_dtype_size(x->dtype) != 4 || !__builtin_cpu_supports("avx512f") ||
        !tr_view(n, x, &v, dims))
        return rt_kernel_find(n->op)(c, n, in, out);
    RT_TRY(rt_out_alloc(c, out[0], x->dtype, x->rank, dims));
    if (rt_numel(x) == 0) return RT_OK;
    if (v.q == 0 || (v.q == 1 && v.S[0] == 1)) { /* one element, or the same order */
        memcpy(out[0]->data, x->data, sizeof(float) * (size_t)rt_numel(x));
        return RT_OK;
    }
    const int L = v.q - 1;
    int A = -1;
    if (v.S[L] != 1)
        for (int i = 0; i < L; i++)
            if (v.S[i] == 1) A = i;
    if (v.S[L] != 1 && A < 0) /* no axis reads the input contiguously: not this kernel's case */
        return rt_kernel_find(n->op)(c, n, in, out);
    /* Threads split axis 0 of the merged view (the output's outermost moving axis): a
     * transpose after a split GEMM or conv reads data that sits half in the other core's
     * cache, so one core alone ran tinylm's head split / merge 5 -> 9-11 us at 2 threads. */
    int64_t units = A == 0 ? (v.D[0] + 15) / 16 : v.D[0], numel = rt_numel(x);
    TrJob j = {&v, x->data, out[0]->data, A, L};
    rt_parallel_for(c->pool, units, (TR_PAR_MIN + numel / units - 1) / (numel / units), tr_chunk, &j);
    return RT_OK;
}

#else /* not x86-64 GCC/Clang: the reference */

static int k_transpose_x86(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    return rt_kernel_find(n->op)(c, n, in, out);
}

#endif

const RtKernelEntry rt_kernels_x86_shape[] = {
    {RT_OP_TRANSPOSE, k_transpose_x86},
    {-1, 0},
};
