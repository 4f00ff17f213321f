/*
 * qgemm.c — rt_qgemm_run's dispatch (qgemm.h): which implementation this CPU runs, and the
 * portable C implementation.
 *
 * The portable implementation is the definition written as loops: per output element a dot
 * product over K of the two operands minus their zero points, accumulated in uint32 so that
 * it wraps modulo 2^32 like the reference kernels, then the bias and the requantization.
 * Rows of the output are split over the pool's threads.
 */
#include "qgemm.h"

#include <stdlib.h>
#include <string.h>

#include "../../rt_threads.h"

int rt_qgemm_isa_supported(RtQgemmIsa isa) {
    switch (isa) {
    case RT_QGEMM_REF: return 1;
#if defined(__x86_64__) && defined(__GNUC__)
    case RT_QGEMM_AVX2: return __builtin_cpu_supports("avx2");
    case RT_QGEMM_VNNI:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx2");
#endif
    default: return 0;
    }
}

const char *rt_qgemm_isa_name(RtQgemmIsa isa) {
    return isa == RT_QGEMM_VNNI ? "vnni" : isa == RT_QGEMM_AVX2 ? "avx2" : "ref";
}

RtQgemmIsa rt_qgemm_isa(void) {
    RtQgemmIsa cap = RT_QGEMM_VNNI;
    const char *e = getenv("WAFER_RT_QGEMM");
    if (e && strcmp(e, "ref") == 0) cap = RT_QGEMM_REF;
    else if (e && strcmp(e, "avx2") == 0) cap = RT_QGEMM_AVX2;
    for (int i = (int)cap; i > 0; i--)
        if (rt_qgemm_isa_supported((RtQgemmIsa)i)) return (RtQgemmIsa)i;
    return RT_QGEMM_REF;
}

/* ---------------------------------------------------------------- portable implementation */

static int32_t qget8(const void *p, int u8, int64_t i) {
    return u8 ? (int32_t)((const uint8_t *)p)[i] : (int32_t)((const int8_t *)p)[i];
}

static void ref_rows(void *arg, int64_t m0, int64_t m1) {
    const RtQgemm *g = arg;
    for (int64_t m = m0; m < m1; m++) {
        int32_t za = g->za ? g->za[m] : 0;
        for (int64_t n = 0; n < g->N; n++) {
            uint32_t s = g->bias ? (uint32_t)g->bias[m] : 0u;
            for (int64_t k = 0; k < g->K; k++) {
                int64_t bi = g->b_layout == RT_QGEMM_B_KN ? k * g->ldb + n : n * g->ldb + k;
                int32_t a = qget8(g->a, g->a_u8, m * g->lda + k) - za, b = qget8(g->b, g->b_u8, bi) - g->zb;
                s += (uint32_t)(a * b);
            }
            int64_t o = m * g->ldy + n * g->ldyn;
            if (g->y32) {
                g->y32[o] = (int32_t)s;
                continue;
            }
            int32_t v = rt_requant_out((int32_t)s, g->rq[m], g->zy, g->lo, g->hi);
            if (g->y_u8) ((uint8_t *)g->y8)[o] = (uint8_t)v;
            else ((int8_t *)g->y8)[o] = (int8_t)v;
        }
    }
}

size_t rt_qgemm_prep_bytes(const RtQgemm *g, RtQgemmIsa isa) {
    if (g->M <= 0) return 0;
    if (isa == RT_QGEMM_VNNI) return rt_qgemm_prep_bytes_vnni(g);
    if (isa == RT_QGEMM_AVX2) return rt_qgemm_prep_bytes_avx2(g);
    return 0;
}

void rt_qgemm_prep(const RtQgemm *g, RtQgemmIsa isa, void *prep) {
    if (g->M <= 0) return;
    if (isa == RT_QGEMM_VNNI) rt_qgemm_prep_vnni(g, prep);
    else if (isa == RT_QGEMM_AVX2) rt_qgemm_prep_avx2(g, prep);
}

int rt_qgemm_run(RtKernelCtx *c, const RtQgemm *g, RtQgemmIsa isa) {
    if (g->M <= 0 || g->N <= 0) return RT_OK;
    switch (isa) {
    case RT_QGEMM_VNNI: return rt_qgemm_run_vnni(c, g);
    case RT_QGEMM_AVX2: return rt_qgemm_run_avx2(c, g);
    default: break;
    }
    int64_t per_row = g->N * (g->K > 0 ? g->K : 1);
    rt_parallel_for(c->pool, g->M, RT_QGEMM_MIN_PAR_MACS / per_row + 1, ref_rows, (void *)g);
    return RT_OK;
}
