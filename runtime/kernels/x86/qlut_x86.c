/*
 * qlut_x86.c — QLut (y[i] = table[(uint8) x[i]], wafer_ops.h) with AVX-512 VBMI.
 *
 * The 256-byte table sits in four zmm registers T0..T3 (64 entries each). For 64 codes at a
 * time, vpermi2b looks up the low 7 bits of each code in T0:T1 and in T2:T3 (one 128-entry
 * table each), and bit 7 of the code picks which of the two results a byte takes
 * (vpmovb2m + a byte blend): 3 shuffles/blends per 64 bytes, no gathers. The tail is the
 * same with a masked load and store. Long tensors are split over the threads in chunks of
 * 64-byte blocks. CPUs without AVX-512 VBMI (and non-x86 builds) run the reference kernel.
 */
#include "../kernel.h"
#include "../ref/qlut.h"
#include "../../rt_threads.h"

#include <stdint.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define QLUT_X86 1
#define QLUT_TARGET __attribute__((target("avx512f,avx512bw,avx512vbmi")))
#else
#define QLUT_X86 0
#endif

/* Below this many bytes one thread does the whole tensor (a chunk's hand-off costs more). */
#define QLUT_MIN_PAR_BYTES (256 * 1024)

static int qlut_cpu_ok(void) {
#if QLUT_X86
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vbmi");
#else
    return 0;
#endif
}

typedef struct {
    const uint8_t *x;   /* borrowed: [total] codes */
    const uint8_t *t;   /* borrowed: [256] table */
    uint8_t *y;         /* borrowed: [total] */
    int64_t total;      /* bytes */
} QlutJob;

#if QLUT_X86
/* Bytes [64 begin, min(64 end, total)) of the job. */
QLUT_TARGET static void qlut_range(void *arg, int64_t begin, int64_t end) {
    const QlutJob *J = arg;
    __m512i t0 = _mm512_loadu_si512(J->t), t1 = _mm512_loadu_si512(J->t + 64);
    __m512i t2 = _mm512_loadu_si512(J->t + 128), t3 = _mm512_loadu_si512(J->t + 192);
    int64_t i = begin * 64, stop = end * 64 < J->total ? end * 64 : J->total;
    for (; i + 64 <= stop; i += 64) {
        __m512i idx = _mm512_loadu_si512(J->x + i);
        __m512i lo = _mm512_permutex2var_epi8(t0, idx, t1), hi = _mm512_permutex2var_epi8(t2, idx, t3);
        _mm512_storeu_si512(J->y + i, _mm512_mask_blend_epi8(_mm512_movepi8_mask(idx), lo, hi));
    }
    if (i < stop) {
        __mmask64 m = ~0ULL >> (64 - (stop - i)); /* 1..63 low bits */
        __m512i idx = _mm512_maskz_loadu_epi8(m, J->x + i);
        __m512i lo = _mm512_permutex2var_epi8(t0, idx, t1), hi = _mm512_permutex2var_epi8(t2, idx, t3);
        _mm512_mask_storeu_epi8(J->y + i, m, _mm512_mask_blend_epi8(_mm512_movepi8_mask(idx), lo, hi));
    }
}
#endif

static int k_qlut_x86(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    RtKernelFn ref = rt_kernel_find(n->op);
    if (!ref) return rt_fail(c, "no reference kernel for %s", rt_op_name(n->op));
    if (!qlut_cpu_ok() || c->shape_only) return ref(c, n, in, out);
    const RtTensor *x = rt_in(n, in, 0), *t = rt_in(n, in, 1);
    if (!x || !t || !x->data || !t->data) return ref(c, n, in, out);
#if QLUT_X86
    RT_TRY(rt_qlut_prepare(c, n, in, out));
    QlutJob J = {x->data, t->data, out[0]->data, rt_numel(x)};
    rt_parallel_for(c->pool, (J.total + 63) / 64, QLUT_MIN_PAR_BYTES / 64, qlut_range, &J);
    return RT_OK;
#else
    return ref(c, n, in, out);
#endif
}

const RtKernelEntry rt_kernels_x86_qlut[] = {
    {RT_OP_QLUT, k_qlut_x86},
    {-1, 0},
};
