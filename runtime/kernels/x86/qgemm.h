/*
 * qgemm.h — the int8 GEMM behind the optimized quantized kernels (qops_x86.c), with the
 * requantization epilogue of wafer's QConv / QLinear fused in:
 *
 *   acc[m, n] = bias[m] + sum_k (A[m, k] - za[m]) * (B[k, n] - zb)      int32, wrapping mod 2^32
 *   y[m, n]   = clamp(apply(acc[m, n], rq[m]) + zy, lo, hi)              (quant.h's rounding)
 *           or acc[m, n] itself when y32 is given
 *
 * A is the weight matrix [M, K] (rows contiguous along K: a conv's w[M, C/group * kH * kW],
 * a QLinear's w[N, K]); B holds the activations, either as [K, N] rows (a 1x1 conv's input
 * plane, an im2col matrix) or as [N, K] rows (QLinear's x). A and B are int8 or uint8 each.
 * Everything is computed modulo 2^32, as the reference kernels do, so the results are
 * bit-identical to them however the sums are split and ordered.
 *
 * Implementations (RtQgemmIsa), best first: VNNI (AVX-512 vpdpbusd over packed panels of B,
 * qgemm_vnni.c), AVX2 (16-bit operands and vpmaddwd, qgemm_avx2.c), and a portable C loop
 * (qgemm.c). rt_qgemm_isa() picks the best one this CPU runs; the environment variable
 * WAFER_RT_QGEMM=ref|avx2|vnni caps the choice (tests and benchmarks use it to reach the
 * fallbacks on this machine). Work is split over c->pool by blocks of the output, so results
 * do not depend on the thread count either.
 */
#ifndef WAFER_RT_QGEMM_H
#define WAFER_RT_QGEMM_H

#include <string.h>

#include "../quant.h"

typedef enum {
    RT_QGEMM_REF = 0,   /* portable C */
    RT_QGEMM_AVX2 = 1,  /* AVX2: 16-bit operands, vpmaddwd */
    RT_QGEMM_VNNI = 2,  /* AVX-512 F/BW/VL + VNNI: vpdpbusd */
} RtQgemmIsa;

/* 1 when this CPU runs isa (REF always). */
int rt_qgemm_isa_supported(RtQgemmIsa isa);
/* The best supported isa, capped by WAFER_RT_QGEMM (ref, avx2 or vnni) when set. */
RtQgemmIsa rt_qgemm_isa(void);
/* "ref", "avx2", "vnni". */
const char *rt_qgemm_isa_name(RtQgemmIsa isa);

enum { RT_QGEMM_B_KN = 0, RT_QGEMM_B_NK = 1 }; /* B's layout: element (k, n) at k * ldb + n, or n * ldb + k */

typedef struct {
    int64_t M, N, K;        /* output rows (A's rows), output columns (B's columns), depth */
    const void *a;          /* borrowed: A[m, k] at a[m * lda + k] */
    int64_t lda;            /* >= K */
    int a_u8;               /* 1: A is uint8, 0: int8 */
    const int32_t *za;      /* borrowed [M]: A's zero point per row; NULL = 0 */
    const void *b;          /* borrowed: B[k, n] at b[k * ldb + n] (KN) or b[n * ldb + k] (NK) */
    int64_t ldb;
    int b_u8;               /* 1: B is uint8, 0: int8 */
    int b_layout;           /* RT_QGEMM_B_KN or RT_QGEMM_B_NK */
    int32_t zb;             /* B's zero point (one for the whole matrix) */
    const int32_t *bias;    /* borrowed [M] or NULL */
    /* Output element (m, n) goes to y[m * ldy + n * ldyn]: int32 acc into y32 when it is not
     * NULL, else the requantized value into y8 (uint8 when y_u8, else int8). */
    int32_t *y32;           /* borrowed, or NULL */
    void *y8;               /* borrowed, used when y32 is NULL */
    int y_u8;
    int64_t ldy, ldyn;      /* strides of the output's rows (m) and columns (n), in elements */
    const RtRequant *rq;    /* borrowed [M]: multiplier per row (y8 only) */
    int32_t zy, lo, hi;     /* output zero point and clamp range (y8 only), lo <= hi */
    const void *prep;       /* borrowed: rt_qgemm_prep's result for this GEMM's constants, or NULL */
} RtQgemm;

/* Computes g with isa (which must be supported) on c->pool's threads; scratch from c->alloc.
 * RT_OK, or RT_ERR_NOMEM with c->err set. */
int rt_qgemm_run(RtKernelCtx *c, const RtQgemm *g, RtQgemmIsa isa);

/* The per-call work that depends only on A, za, zb, bias and rq — a layer's constants — done
 * once: rt_qgemm_prep writes rt_qgemm_prep_bytes(g, isa) bytes (8-byte aligned) at prep, and
 * a later rt_qgemm_run with the same constants, M, K and isa and g->prep = prep skips it
 * (VNNI: the row constants and requantization rows; AVX2: A packed as 16-bit pairs). The
 * output is the same with or without. 0 bytes: nothing to keep. */
size_t rt_qgemm_prep_bytes(const RtQgemm *g, RtQgemmIsa isa);
void rt_qgemm_prep(const RtQgemm *g, RtQgemmIsa isa, void *prep);

/* The implementations rt_qgemm_run and the prep dispatch to (same contracts; qgemm_vnni.c,
 * qgemm_avx2.c; on other CPUs they are never called). */
int rt_qgemm_run_vnni(RtKernelCtx *c, const RtQgemm *g);
int rt_qgemm_run_avx2(RtKernelCtx *c, const RtQgemm *g);
size_t rt_qgemm_prep_bytes_vnni(const RtQgemm *g);
void rt_qgemm_prep_vnni(const RtQgemm *g, void *prep);
size_t rt_qgemm_prep_bytes_avx2(const RtQgemm *g);
void rt_qgemm_prep_avx2(const RtQgemm *g, void *prep);

/* rt_requant_make(m) computed from the bits of m (no frexp / llround), with the same result
 * for every m: the kernels make one per output channel on every call. For a positive normal
 * m = mant * 2^(be - 1075), mant in [2^52, 2^53): frexp gives q = mant / 2^53 and e = be - 1022,
 * and llround(q * 2^31) = llround(mant / 2^22) rounds half away from zero, i.e. up here. */
static inline RtRequant rt_qgemm_requant_make(double m) {
    uint64_t u;
    memcpy(&u, &m, sizeof u);
    int be = (int)((u >> 52) & 0x7ff);
    if ((u >> 63) != 0 || be == 0 || be == 0x7ff) return rt_requant_make(m); /* <= 0, subnormal, inf, NaN */
    int64_t mant = (int64_t)((u & (((uint64_t)1 << 52) - 1)) | ((uint64_t)1 << 52));
    int e = be - 1022;
    int64_t qf = (mant + ((int64_t)1 << 21)) >> 22;
    if (qf == ((int64_t)1 << 31)) {
        qf >>= 1;
        e++;
    }
    if (e < -31 || e > 62) return rt_requant_make(m);
    RtRequant r = {(int32_t)qf, e};
    return r;
}

/* The work, in multiply-adds, below which a kernel stays on one thread: handing a loop to
 * another thread costs about 0.1-0.3 us on this project's machine, a few thousand MACs. */
#define RT_QGEMM_MIN_PAR_MACS ((int64_t)1 << 17)

#endif
