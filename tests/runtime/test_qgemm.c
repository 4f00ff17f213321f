/*
 * test_qgemm.c — the int8 GEMM of runtime/kernels/x86/qgemm.h against a plain int32 loop,
 * for every implementation this CPU runs (portable, AVX2, VNNI), bit for bit: odd shapes (K
 * not a multiple of 4 or 64, N not of 16 or 48, M not of 8), int8 and uint8 operands, both
 * layouts of B, zero points per row of A and of B, with and without bias, int32 output,
 * requantized int8/uint8 output with per-row multipliers (some >= 1) and narrowed clamps,
 * transposed output, 1 and 2 threads, with the constants prepared once (rt_qgemm_prep) or per
 * call. Also rt_qgemm_requant_make against rt_requant_make.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/kernels/x86/qgemm.h"
#include "../../runtime/rt_threads.h"

static uint64_t lcg_state = 42;
static uint32_t lcg(void) {
    lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(lcg_state >> 33);
}

typedef struct {
    int64_t M, N, K;
    int a_u8, b_u8, layout;
    int za, zb, bias;  /* nonzero zero points of A (per row) / B; a bias */
    int out;           /* 0 int32, 1 int8, 2 uint8 */
    int narrow;        /* qmin/qmax inside the dtype's range */
    int transposed;    /* output written as [N, M] */
    int prep;          /* constants through rt_qgemm_prep */
} Case;

static int32_t v8(const uint8_t *p, int u8, int64_t i) { return u8 ? p[i] : (int8_t)p[i]; }

/* Runs one case with isa on 1 or 2 threads and compares with the plain loop. */
static void check_case(Case cs, RtQgemmIsa isa, RtThreadPool *pool) {
    const int64_t M = cs.M, N = cs.N, K = cs.K, lda = K + (M % 3), ldb = (cs.layout ? K : N) + 1;
    int64_t brows = cs.layout ? N : K;
    uint8_t *A = malloc((size_t)(M * lda + 1)), *B = malloc((size_t)(brows * ldb + 1));
    int32_t *za = malloc((size_t)M * 4), *bias = malloc((size_t)M * 4), *y32 = calloc((size_t)(M * N + 1), 4);
    uint8_t *y8 = calloc((size_t)(M * N + 1), 1);
    RtRequant *rq = malloc((size_t)M * sizeof *rq);
    for (int64_t i = 0; i < M * lda; i++) A[i] = (uint8_t)lcg();
    for (int64_t i = 0; i < brows * ldb; i++) B[i] = (uint8_t)lcg();
    for (int64_t m = 0; m < M; m++) {
        za[m] = cs.za ? (int32_t)(lcg() % 256) - (cs.a_u8 ? 0 : 128) : 0;
        bias[m] = (int32_t)(lcg() % 200001) - 100000;
        /* mostly small multipliers, every 7th row >= 1 (the scalar path) */
        double mult = m % 7 == 3 ? 1.0 + (lcg() % 1000) / 250.0 : ldexp(1.0 + (lcg() % 1000) / 1000.0, -8 - (int)(lcg() % 14));
        rq[m] = rt_requant_make(mult);
    }
    int32_t zb = cs.zb ? (int32_t)(lcg() % 256) - (cs.b_u8 ? 0 : 128) : 0;
    int y_u8 = cs.out == 2;
    int32_t lo = y_u8 ? 0 : -128, hi = y_u8 ? 255 : 127;
    if (cs.narrow) lo += 20, hi -= 30;
    int32_t zy = y_u8 ? 17 : -9;
    RtQgemm g;
    memset(&g, 0, sizeof g);
    g.M = M, g.N = N, g.K = K;
    g.a = A, g.lda = lda, g.a_u8 = cs.a_u8, g.za = cs.za ? za : NULL;
    g.b = B, g.ldb = ldb, g.b_u8 = cs.b_u8, g.b_layout = cs.layout, g.zb = zb;
    g.bias = cs.bias ? bias : NULL;
    g.ldy = cs.transposed ? 1 : N, g.ldyn = cs.transposed ? M : 1;
    if (cs.out == 0) g.y32 = y32;
    else g.y8 = y8, g.y_u8 = y_u8, g.rq = rq, g.zy = zy, g.lo = lo, g.hi = hi;
    RtError err;
    err.msg[0] = '\0';
    RtKernelCtx c = {rt_allocator_default(), &err, 0, NULL, pool, 0, NULL, NULL, 0};
    void *prep = NULL;
    if (cs.prep) { /* the layer's constants prepared once, as a node's state keeps them */
        prep = malloc(rt_qgemm_prep_bytes(&g, isa) + 8);
        rt_qgemm_prep(&g, isa, prep);
        g.prep = prep;
    }
    cr_assert_eq(rt_qgemm_run(&c, &g, isa), RT_OK, "%s", err.msg);
    free(prep);
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            uint32_t s = cs.bias ? (uint32_t)bias[m] : 0u;
            for (int64_t k = 0; k < K; k++) {
                int32_t a = v8(A, cs.a_u8, m * lda + k) - (cs.za ? za[m] : 0);
                int32_t b = v8(B, cs.b_u8, cs.layout ? n * ldb + k : k * ldb + n) - zb;
                s += (uint32_t)(a * b);
            }
            int64_t o = m * g.ldy + n * g.ldyn;
            if (cs.out == 0) {
                cr_assert_eq(y32[o], (int32_t)s, "%s M%lld N%lld K%lld: acc (%lld, %lld) = %d, want %d",
                             rt_qgemm_isa_name(isa), (long long)M, (long long)N, (long long)K, (long long)m,
                             (long long)n, y32[o], (int32_t)s);
            } else {
                int32_t want = rt_requant_out((int32_t)s, rq[m], zy, lo, hi);
                int32_t got = y_u8 ? y8[o] : (int8_t)y8[o];
                cr_assert_eq(got, want, "%s M%lld N%lld K%lld a_u8 %d b_u8 %d layout %d: y (%lld, %lld) = %d, want %d",
                             rt_qgemm_isa_name(isa), (long long)M, (long long)N, (long long)K, cs.a_u8, cs.b_u8,
                             cs.layout, (long long)m, (long long)n, got, want);
            }
        }
    free(A), free(B), free(za), free(bias), free(y32), free(y8), free(rq);
}

static const int64_t sizes[][3] = {
    {1, 1, 1}, {3, 17, 5}, {8, 48, 64}, {9, 49, 67}, {17, 33, 3}, {33, 100, 129}, {7, 3, 200}, {40, 97, 27},
    {16, 196, 96}, {1, 5, 0},
};

static void sweep(RtQgemmIsa isa) {
    if (!rt_qgemm_isa_supported(isa)) {
        cr_log_warn("qgemm %s: not supported by this CPU, skipped", rt_qgemm_isa_name(isa));
        return;
    }
    RtThreadPool *pool = rt_pool_new(2, NULL);
    cr_assert_not_null(pool);
    int i = 0;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int signs = 0; signs < 4; signs++, i++) {
            Case cs = {sizes[s][0], sizes[s][1], sizes[s][2], signs & 1, signs >> 1, i % 2, i % 3 != 0,
                       i % 5 != 1, i % 4 != 2, i % 3, i % 4 == 1, i % 7 == 5};
            check_case(cs, isa, NULL);
            check_case(cs, isa, pool);
            cs.prep = 1;
            check_case(cs, isa, i % 2 ? NULL : pool);
            cs.prep = 0;
            cs.out = (cs.out + 1) % 3; /* every size sees every output kind */
            cs.layout ^= 1;
            check_case(cs, isa, i % 2 ? pool : NULL);
        }
    rt_pool_free(pool);
}

Test(qgemm, ref_matches_loop) { sweep(RT_QGEMM_REF); }
Test(qgemm, avx2_matches_loop) { sweep(RT_QGEMM_AVX2); }
Test(qgemm, vnni_matches_loop) { sweep(RT_QGEMM_VNNI); }

/* A larger case where the threads really split the work (both task orders of the VNNI path). */
Test(qgemm, big_two_threads) {
    RtThreadPool *pool = rt_pool_new(2, NULL);
    cr_assert_not_null(pool);
    Case wide = {37, 1000, 131, 0, 1, 0, 1, 1, 1, 1, 0, 0};
    Case tall = {300, 49, 320, 1, 0, 1, 1, 1, 1, 2, 1, 0};
    for (int isa = 0; isa <= RT_QGEMM_VNNI; isa++) {
        if (!rt_qgemm_isa_supported((RtQgemmIsa)isa)) continue;
        check_case(wide, (RtQgemmIsa)isa, pool);
        check_case(tall, (RtQgemmIsa)isa, pool);
    }
    rt_pool_free(pool);
}

Test(qgemm, requant_make_matches) {
    double special[] = {0.0, -0.0, 1.0, 0.5, 0.25, 0.75, 2.0, ldexp(1.0, -31), ldexp(1.0, -32), ldexp(1.0, -33),
                        ldexp(1.0, 62), ldexp(1.0, 63), 0.999999999999, 1.0 - ldexp(1.0, -32),
                        1.0 - ldexp(1.0, -33), 5e-324, -3.0, INFINITY, NAN};
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) {
        RtRequant a = rt_requant_make(special[i]), b = rt_qgemm_requant_make(special[i]);
        cr_assert(a.mult == b.mult && a.shift == b.shift, "m = %.17g: (%d, %d) vs (%d, %d)", special[i], a.mult,
                  a.shift, b.mult, b.shift);
    }
    for (int i = 0; i < 200000; i++) {
        uint64_t u = ((uint64_t)lcg() << 32) | lcg();
        double m = ldexp((double)(u >> 11) / 9007199254740992.0, (int)(lcg() % 100) - 60);
        if (i % 3 == 0) m = ldexp(1.0 + (double)(lcg() % 4096) / 4096.0 - ldexp(1.0, -(int)(lcg() % 40)), (int)(lcg() % 20) - 10);
        RtRequant a = rt_requant_make(m), b = rt_qgemm_requant_make(m);
        cr_assert(a.mult == b.mult && a.shift == b.shift, "m = %.17g: (%d, %d) vs (%d, %d)", m, a.mult, a.shift, b.mult,
                  b.shift);
    }
}
