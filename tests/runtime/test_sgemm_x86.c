/*
 * test_sgemm_x86.c — rt_sgemm_nn / rt_sgemm_op (runtime/kernels/x86/sgemm.h) against
 * rt_sgemm_ref on odd shapes (every micro-tile edge: M around 8, N around 16 and 48, K blocks
 * of 256, A blocks of 512 rows, column panels of 960), padded leading dimensions, biases,
 * transposed operands, K == 0, M == 1 (the GEMV path); 1 vs 2 threads bit-identical (a split
 * along N or M of every kind of last micro-panel included); two
 * threads calling it at once with their own pools; C's padding never written. Packed
 * operands (rt_sgemm_pack_a / _b) give the unpacked call's bits; the activation epilogue
 * gives the bits of rt_act_span run afterwards.
 */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/kernels/gemm.h"
#include "../../runtime/kernels/x86/sgemm.h"
#include "../../runtime/rt_threads.h"

/* Each output is a K-term float dot product (plus two bias adds); both sides round each step
 * in a different order, so they differ by at most about 2 * (K + 2) * FLT_EPSILON times
 * sum_k |a_k * b_k| + |biases| (the classic summation bound, once per side); a factor 2 of
 * slack on top. */
#define SG_REL_BOUND(K) (4.0 * (double)((K) + 2) * FLT_EPSILON)
/* Padding of C that must survive a call untouched. */
#define SG_GUARD 12345.0f

static float *rand_mat(int64_t n, unsigned *seed) {
    float *p = malloc(sizeof(float) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u;
        p[i] = (float)((*seed >> 8) & 0xffff) / 32768.0f - 1.0f; /* [-1, 1) */
    }
    return p;
}

typedef struct {
    int ta, tb;
    int64_t M, N, K, pad;
    int bias_m, bias_n;
} Case;

typedef struct {
    float *A, *B, *bm, *bn;
    int64_t lda, ldb, ldc;
} Operands;

static Operands operands_new(const Case *c, unsigned seed) {
    Operands o;
    int64_t ar = c->ta ? c->K : c->M, ac = c->ta ? c->M : c->K;
    int64_t br = c->tb ? c->N : c->K, bc = c->tb ? c->K : c->N;
    o.lda = ac + c->pad;
    o.ldb = bc + c->pad;
    o.ldc = c->N + c->pad;
    o.A = rand_mat(ar * o.lda, &seed);
    o.B = rand_mat(br * o.ldb, &seed);
    o.bm = c->bias_m ? rand_mat(c->M, &seed) : NULL;
    o.bn = c->bias_n ? rand_mat(c->N, &seed) : NULL;
    return o;
}

static void operands_free(Operands *o) {
    free(o->A);
    free(o->B);
    free(o->bm);
    free(o->bn);
}

static float *c_new(const Case *c, const Operands *o) {
    float *C = malloc(sizeof(float) * (size_t)(c->M * o->ldc + 1));
    for (int64_t i = 0; i < c->M * o->ldc + 1; i++) C[i] = SG_GUARD;
    return C;
}

static void run(RtThreadPool *pool, const Case *c, const Operands *o, float *C) {
    if (!c->ta && !c->tb)
        rt_sgemm_nn(pool, c->M, c->N, c->K, o->A, o->lda, o->B, o->ldb, C, o->ldc, o->bm, o->bn);
    else
        rt_sgemm_op(pool, c->ta, c->tb, c->M, c->N, c->K, o->A, o->lda, o->B, o->ldb, C, o->ldc, o->bm, o->bn);
}

/* Runs one case on `pool` and checks it against the reference; 1 when it agrees. */
static int check(RtThreadPool *pool, const Case *c, unsigned seed) {
    Operands o = operands_new(c, seed);
    float *C = c_new(c, &o), *R = calloc((size_t)(c->M * o.ldc + 1), sizeof(float));
    float *Aa = malloc(sizeof(float) * (size_t)((c->ta ? c->K : c->M) * o.lda + 1));
    float *Ba = malloc(sizeof(float) * (size_t)((c->tb ? c->N : c->K) * o.ldb + 1));
    float *Rabs = calloc((size_t)(c->M * o.ldc + 1), sizeof(float));
    for (int64_t i = 0; i < (c->ta ? c->K : c->M) * o.lda; i++) Aa[i] = fabsf(o.A[i]);
    for (int64_t i = 0; i < (c->tb ? c->N : c->K) * o.ldb; i++) Ba[i] = fabsf(o.B[i]);
    run(pool, c, &o, C);
    rt_sgemm_ref(c->ta, c->tb, (int)c->M, (int)c->N, (int)c->K, 1.0f, o.A, (int)o.lda, o.B, (int)o.ldb, 0.0f, R,
                 (int)o.ldc);
    rt_sgemm_ref(c->ta, c->tb, (int)c->M, (int)c->N, (int)c->K, 1.0f, Aa, (int)o.lda, Ba, (int)o.ldb, 0.0f, Rabs,
                 (int)o.ldc);
    int ok = 1;
    for (int64_t m = 0; m < c->M && ok; m++)
        for (int64_t n = 0; n < o.ldc && ok; n++) {
            float got = C[m * o.ldc + n];
            if (n >= c->N) { /* padding */
                if (got != SG_GUARD) {
                    cr_log_error("M=%lld N=%lld K=%lld pad=%lld: padding (%lld,%lld) written", (long long)c->M,
                                 (long long)c->N, (long long)c->K, (long long)c->pad, (long long)m, (long long)n);
                    ok = 0;
                }
                continue;
            }
            double want = R[m * o.ldc + n], mag = Rabs[m * o.ldc + n];
            if (o.bm) want += o.bm[m], mag += fabsf(o.bm[m]);
            if (o.bn) want += o.bn[n], mag += fabsf(o.bn[n]);
            double bound = SG_REL_BOUND(c->K) * (mag + 1e-30) + 1e-7;
            if (!(fabs(got - want) <= bound)) {
                cr_log_error("ta=%d tb=%d M=%lld N=%lld K=%lld pad=%lld bias %d%d at (%lld,%lld): %.9g, want %.9g",
                             c->ta, c->tb, (long long)c->M, (long long)c->N, (long long)c->K, (long long)c->pad,
                             c->bias_m, c->bias_n, (long long)m, (long long)n, got, want);
                ok = 0;
            }
        }
    if (C[c->M * o.ldc] != SG_GUARD) {
        cr_log_error("M=%lld N=%lld K=%lld: wrote past C", (long long)c->M, (long long)c->N, (long long)c->K);
        ok = 0;
    }
    free(C);
    free(R);
    free(Aa);
    free(Ba);
    free(Rabs);
    operands_free(&o);
    return ok;
}

static const int64_t ms[] = {1, 2, 3, 7, 8, 9, 16, 17, 33, 100};
static const int64_t ns[] = {1, 3, 15, 16, 17, 33, 47, 48, 49, 100, 129};
static const int64_t ks[] = {1, 3, 17, 100, 257};
#define COUNT(a) (int)(sizeof a / sizeof a[0])

Test(sgemm_x86, small_shapes_against_reference) {
    int bad = 0, n = 0;
    for (int i = 0; i < COUNT(ms); i++)
        for (int j = 0; j < COUNT(ns); j++)
            for (int k = 0; k < COUNT(ks); k++) {
                Case c = {0, 0, ms[i], ns[j], ks[k], (i + j + k) % 3 == 0 ? 5 : 0, (i + k) % 2, (j + k) % 2};
                bad += !check(NULL, &c, 1000u + (unsigned)n++);
            }
    cr_expect_eq(bad, 0, "%d of %d shapes differ from the reference", bad, n);
}

/* Shapes past every blocking size: A blocks of 512 rows, column panels of 960, K blocks of
 * 256 (uneven K splits too), and the model shapes the GEMM serves. */
Test(sgemm_x86, blocked_shapes_against_reference) {
    static const Case cases[] = {
        {0, 0, 200, 1000, 600, 0, 1, 1},  {0, 0, 193, 961, 257, 3, 0, 1}, {0, 0, 128, 256, 256, 0, 0, 1},
        {0, 0, 128, 1024, 256, 0, 0, 1},  {0, 0, 128, 256, 1024, 0, 0, 1}, {0, 0, 128, 128, 32, 0, 0, 0},
        {0, 0, 128, 32, 128, 0, 0, 0},    {0, 0, 96, 3136, 16, 0, 1, 0},   {0, 0, 1280, 49, 320, 0, 1, 0},
        {0, 0, 1, 1000, 1280, 0, 0, 1},   {0, 0, 1, 129, 3, 7, 1, 1},      {0, 0, 4, 300, 513, 0, 1, 1},
        {0, 0, 9, 2000, 40, 0, 0, 0},     {0, 0, 300, 7, 700, 0, 1, 1},   {0, 0, 1100, 100, 300, 2, 1, 1},
        {1, 1, 600, 97, 260, 1, 1, 0},    {0, 0, 64, 16, 576, 0, 1, 0},   {0, 0, 64, 64, 288, 0, 1, 0},
        {0, 0, 41, 13, 300, 2, 1, 1},     {0, 0, 24, 3136, 144, 0, 1, 0},  {0, 0, 521, 976, 300, 0, 1, 1},
        /* A read in place with rows 4 KiB apart (one L1 set): its one-vector micro-panel
         * through 8-row tiles instead of tall ones */
        {0, 0, 33, 112, 1000, 24, 1, 1},
    };
    for (int i = 0; i < COUNT(cases); i++) cr_expect(check(NULL, &cases[i], 77u + (unsigned)i), "case %d", i);
}

Test(sgemm_x86, transposed_operands) {
    static const int64_t tm[] = {1, 3, 8, 17, 200}, tn[] = {1, 7, 48, 50, 1000}, tk[] = {1, 9, 300};
    int bad = 0, n = 0;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int i = 0; i < COUNT(tm); i++)
                for (int j = 0; j < COUNT(tn); j++)
                    for (int k = 0; k < COUNT(tk); k++) {
                        Case c = {ta, tb, tm[i], tn[j], tk[k], (i + j) % 2 ? 3 : 0, (j + k) % 2, (i + k) % 2};
                        bad += !check(NULL, &c, 500u + (unsigned)n++);
                    }
    cr_expect_eq(bad, 0, "%d of %d transposed cases differ from the reference", bad, n);
}

Test(sgemm_x86, k_zero_gives_the_biases) {
    float bm[3] = {1, 2, 3}, bn[2] = {10, 20}, C[6];
    rt_sgemm_nn(NULL, 3, 2, 0, NULL, 1, NULL, 2, C, 2, bm, bn);
    for (int m = 0; m < 3; m++)
        for (int n = 0; n < 2; n++) cr_expect_eq(C[m * 2 + n], bm[m] + bn[n], "(%d,%d) = %g", m, n, C[m * 2 + n]);
    rt_sgemm_nn(NULL, 3, 2, 0, NULL, 1, NULL, 2, C, 2, NULL, NULL);
    for (int i = 0; i < 6; i++) cr_expect_eq(C[i], 0.0f);
}

/* Bit-identical for 1 and 2 threads, on shapes split along N (in equal 16-column units, or
 * at whole micro-panels balanced by tile cost: N = 196, 100), along M, and the GEMV. */
Test(sgemm_x86, one_and_two_threads_bit_identical) {
    static const Case cases[] = {
        {0, 0, 128, 256, 1024, 0, 0, 1}, {0, 0, 1280, 49, 320, 0, 1, 0}, {0, 0, 17, 1000, 300, 1, 1, 1},
        {0, 0, 1, 5000, 300, 0, 1, 1},   {0, 0, 300, 33, 513, 0, 0, 0},  {1, 1, 300, 200, 70, 2, 1, 1},
        {0, 0, 256, 1024, 32, 0, 0, 0},  {0, 0, 300, 16, 513, 0, 1, 0},  {0, 0, 96, 196, 576, 0, 1, 0},
        {0, 0, 200, 112, 300, 3, 1, 1},  {0, 0, 64, 100, 400, 0, 1, 1},  {0, 0, 9, 4000, 300, 2, 0, 1},
    };
    RtThreadPool *pool = rt_pool_new(2, NULL);
    cr_assert_not_null(pool);
    for (int i = 0; i < COUNT(cases); i++) {
        const Case *c = &cases[i];
        Operands o = operands_new(c, 42u + (unsigned)i);
        float *C1 = c_new(c, &o), *C2 = c_new(c, &o);
        run(NULL, c, &o, C1);
        run(pool, c, &o, C2);
        cr_expect(memcmp(C1, C2, sizeof(float) * (size_t)(c->M * o.ldc + 1)) == 0,
                  "case %d (M=%lld N=%lld K=%lld): 1 and 2 threads differ", i, (long long)c->M, (long long)c->N,
                  (long long)c->K);
        cr_expect(check(pool, c, 42u + (unsigned)i), "case %d on 2 threads against the reference", i);
        free(C1);
        free(C2);
        operands_free(&o);
    }
    rt_pool_free(pool);
}

typedef struct {
    int ok;
    unsigned seed;
} Worker;

static void *worker_main(void *arg) {
    Worker *w = arg;
    RtThreadPool *pool = rt_pool_new(2, NULL);
    Case c = {0, 0, 150, 400, 300, 1, 1, 1};
    w->ok = pool != NULL;
    for (int r = 0; r < 5 && w->ok; r++) w->ok = check(pool, &c, w->seed + (unsigned)r);
    rt_pool_free(pool);
    return NULL;
}

/* No state shared between calls: two threads, each with its own pool, at the same time. */
Test(sgemm_x86, two_callers_at_once) {
    Worker w[2] = {{0, 1u}, {0, 99u}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) cr_assert_eq(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    cr_expect(w[0].ok && w[1].ok, "callers: %d %d", w[0].ok, w[1].ok);
}

/* ---- packed operands and the activation epilogue ---- */

static float *aligned_floats(int64_t n) {
    size_t bytes = ((size_t)(n > 0 ? n : 1) * sizeof(float) + 63) & ~(size_t)63;
    return aligned_alloc(64, bytes);
}

/* The activations of ref/activation.h, with parameters that bite on [-1, 1) values. */
static RtAct act_of(int i) {
    static const RtAct acts[] = {
        {RT_ACT_NONE, 0, 0},          {RT_ACT_RELU, 0, 0},           {RT_ACT_CLIP, -0.25f, 0.5f},
        {RT_ACT_LEAKY_RELU, 0.1f, 0}, {RT_ACT_SIGMOID, 0, 0},        {RT_ACT_HARD_SIGMOID, 0.3f, 0.4f},
        {RT_ACT_CLIP, -INFINITY, 0.2f},
    };
    return acts[i % (int)(sizeof acts / sizeof acts[0])];
}
#define N_ACTS 7

/* rt_sgemm_run on c with activation act: unpacked, then with A packed, B packed and both;
 * each must equal the unpacked result bit for bit (C's padding included). 1 when all agree. */
static int packed_agrees(RtThreadPool *pool, const Case *c, const RtAct *act, unsigned seed) {
    Operands o = operands_new(c, seed);
    float *want = c_new(c, &o);
    RtSgemm g = {c->M, c->N, c->K, c->ta, c->tb, o.A, NULL, o.lda, o.B, NULL, o.ldb, want, o.ldc, o.bm, o.bn, act};
    rt_sgemm_run(pool, &g);
    int64_t fa = rt_sgemm_packed_a_floats(c->M, c->K), fb = rt_sgemm_packed_b_floats(c->K, c->N);
    cr_assert(fa > 0 && fb > 0, "packing available on this CPU");
    float *pa = aligned_floats(fa), *pb = aligned_floats(fb);
    rt_sgemm_pack_a(c->ta, c->M, c->K, o.A, o.lda, pa);
    rt_sgemm_pack_b(c->tb, c->K, c->N, o.B, o.ldb, pb);
    int ok = 1;
    for (int mode = 1; mode <= 3; mode++) {
        float *got = c_new(c, &o);
        RtSgemm h = g;
        h.C = got;
        if (mode & 1) h.A_packed = pa;
        if (mode & 2) h.B_packed = pb;
        rt_sgemm_run(pool, &h);
        if (memcmp(got, want, sizeof(float) * (size_t)(c->M * o.ldc + 1)) != 0) {
            cr_log_error("ta=%d tb=%d M=%lld N=%lld K=%lld act %d: packed %s differs from unpacked", c->ta, c->tb,
                         (long long)c->M, (long long)c->N, (long long)c->K, act ? (int)act->kind : -1,
                         mode == 1 ? "A" : mode == 2 ? "B" : "A and B");
            ok = 0;
        }
        free(got);
    }
    free(pa);
    free(pb);
    free(want);
    operands_free(&o);
    return ok;
}

/* Packed A, packed B or both give the unpacked call's bits: every micro-tile edge, several
 * K blocks (uneven too), A blocks past 512 rows, column panels past 960, M == 1 (GEMV, B
 * packed or A packed), shallow K, transposes, each activation; 1 and 2 threads. */
Test(sgemm_x86, packed_operands_bit_identical) {
    static const Case cases[] = {
        {0, 0, 1, 1, 1, 0, 0, 0},        {0, 0, 1, 100, 300, 2, 1, 1},   {0, 0, 1, 1000, 70, 0, 0, 1},
        {0, 0, 3, 49, 17, 1, 1, 0},      {0, 0, 8, 48, 256, 0, 0, 1},    {0, 0, 9, 97, 257, 3, 1, 1},
        {0, 0, 17, 129, 33, 0, 1, 0},    {0, 0, 33, 17, 600, 0, 0, 0},   {0, 0, 96, 1000, 16, 0, 1, 0},
        {0, 0, 130, 49, 160, 0, 1, 0},   {0, 0, 600, 50, 40, 1, 1, 1},   {0, 0, 20, 1000, 300, 0, 0, 1},
        {1, 0, 17, 100, 40, 2, 1, 1},    {0, 1, 1, 77, 300, 0, 1, 1},    {0, 1, 40, 100, 33, 1, 0, 1},
        {1, 1, 9, 50, 260, 0, 1, 0},     {1, 0, 1, 200, 90, 1, 0, 1},    {0, 0, 128, 256, 1024, 0, 0, 1},
        /* big enough for rt_sgemm_run to split them over 2 threads (SG_PAR_MIN) */
        {0, 0, 600, 500, 40, 0, 1, 1},   {1, 1, 200, 300, 50, 1, 1, 0},  {0, 1, 300, 400, 30, 0, 0, 1},
        {0, 0, 1, 5000, 300, 0, 1, 1},   {0, 0, 200, 49, 300, 0, 1, 0},  {0, 0, 32, 784, 192, 0, 1, 0},
        {0, 0, 64, 100, 400, 1, 1, 1},
        /* B packed beforehand, the tiles after the first row panel fetching the next
         * micro-panel: the next A block's (M > 512), the next K block's, the next column
         * panel's first (N > 960, a one-vector micro-panel's tall tiles fetching for it) */
        {0, 0, 521, 976, 300, 0, 1, 1},  {0, 0, 17, 1009, 257, 1, 0, 1}, {0, 0, 9, 64, 520, 0, 1, 1},
        {0, 0, 33, 112, 1000, 24, 1, 1}, {0, 0, 129, 64, 1024, 0, 0, 1},
    };
    RtThreadPool *pool = rt_pool_new(2, NULL);
    cr_assert_not_null(pool);
    int bad = 0, n = 0;
    for (int i = 0; i < COUNT(cases); i++)
        for (int t = 0; t < 2; t++) {
            RtAct a = act_of(i + t);
            bad += !packed_agrees(t ? pool : NULL, &cases[i], i % 3 == 2 ? NULL : &a, 300u + (unsigned)n++);
        }
    cr_expect_eq(bad, 0, "%d of %d packed cases differ", bad, n);
    rt_pool_free(pool);
}

/* The activation in the store epilogue equals rt_act_span over the finished output bit for
 * bit, NaN, infinities and signed zeros included (put into C through bias_n), on the tile
 * path, the GEMV, and the packed paths; 1 and 2 threads give the same bits. */
Test(sgemm_x86, activation_epilogue_equals_separate_pass) {
    static const Case cases[] = {
        {0, 0, 1, 100, 70, 0, 0, 1},   {0, 0, 7, 49, 17, 1, 1, 1}, {0, 0, 40, 130, 300, 0, 0, 1},
        {0, 0, 100, 200, 16, 2, 1, 1}, {0, 1, 9, 60, 40, 0, 0, 1}, {1, 1, 1, 33, 20, 0, 1, 1},
    };
    RtThreadPool *pool = rt_pool_new(2, NULL);
    cr_assert_not_null(pool);
    int bad = 0;
    for (int i = 0; i < COUNT(cases); i++)
        for (int k = 0; k < N_ACTS; k++) {
            const Case *c = &cases[i];
            Operands o = operands_new(c, 900u + (unsigned)(i * N_ACTS + k));
            static const float specials[] = {NAN, INFINITY, -INFINITY, -0.0f, 0.0f, 1e30f, -1e30f};
            for (int s = 0; s < 7 && s < c->N; s++) o.bn[(s * 5) % c->N] = specials[s];
            RtAct a = act_of(k);
            float *want = c_new(c, &o), *got = c_new(c, &o), *got2 = c_new(c, &o);
            RtSgemm g = {c->M, c->N, c->K, c->ta, c->tb, o.A, NULL, o.lda, o.B, NULL, o.ldb, want, o.ldc, o.bm, o.bn, NULL};
            rt_sgemm_run(NULL, &g);
            for (int64_t m = 0; m < c->M; m++) rt_act_span(&a, want + m * o.ldc, c->N, NULL);
            g.act = &a;
            g.C = got;
            rt_sgemm_run(NULL, &g);
            g.C = got2;
            rt_sgemm_run(pool, &g);
            size_t bytes = sizeof(float) * (size_t)(c->M * o.ldc + 1);
            if (memcmp(got, want, bytes) != 0 || memcmp(got2, want, bytes) != 0) {
                cr_log_error("case %d act %d: epilogue differs from rt_act_span afterwards", i, (int)a.kind);
                bad++;
            }
            free(want);
            free(got);
            free(got2);
            operands_free(&o);
        }
    cr_expect_eq(bad, 0, "%d cases differ", bad);
    rt_pool_free(pool);
}

/* A narrow last micro-panel (N = 48 + 1..4, 7x7 and 14x14 convs) runs another kernel than
 * the full-width tiles, and so does a last one-vector micro-panel (N = 48 q + 5..16: tall
 * tiles of 2 or 3 row panels, the rows left over through 8-row tiles); each column's bits
 * must not depend on it: C[:, :N] of a narrow N equals the same columns of a wider product
 * (ldb, ldc fixed), packed or not, with biases and an activation. */
Test(sgemm_x86, narrow_last_columns_same_bits_as_full_tiles) {
    static const int64_t ms_[] = {3, 8, 17, 24, 40, 64, 130}, ks_[] = {17, 300};
    static const int64_t narrow[] = {1, 4, 49, 52, 196, 97, 5, 16, 64, 112};
    const int64_t wide = 240;
    int bad = 0;
    for (int i = 0; i < COUNT(ms_); i++)
        for (int k = 0; k < COUNT(ks_); k++)
            for (int w = 0; w < COUNT(narrow); w++) {
                const int64_t M = ms_[i], K = ks_[k], N = narrow[w];
                Case c = {0, 0, M, wide, K, 0, 1, 1};
                Operands o = operands_new(&c, 700u + (unsigned)(i * 31 + k * 7 + w));
                RtAct act = act_of(i + k + w);
                float *full = c_new(&c, &o), *part = c_new(&c, &o);
                RtSgemm g = {M, wide, K, 0, 0, o.A, NULL, o.lda, o.B, NULL, o.ldb, full, o.ldc, o.bm, o.bn, &act};
                rt_sgemm_run(NULL, &g);
                for (int packed = 0; packed < 2; packed++) {
                    float *pa = NULL;
                    g.N = N;
                    g.C = part;
                    g.A_packed = NULL;
                    if (packed) {
                        pa = aligned_floats(rt_sgemm_packed_a_floats(M, K));
                        rt_sgemm_pack_a(0, M, K, o.A, o.lda, pa);
                        g.A_packed = pa;
                    }
                    rt_sgemm_run(NULL, &g);
                    for (int64_t m = 0; m < M; m++)
                        if (memcmp(full + m * o.ldc, part + m * o.ldc, sizeof(float) * (size_t)N) != 0) {
                            cr_log_error("M=%lld N=%lld K=%lld packed %d: row %lld differs from N=%lld", (long long)M,
                                         (long long)N, (long long)K, packed, (long long)m, (long long)wide);
                            bad++;
                            break;
                        }
                    free(pa);
                }
                free(full);
                free(part);
                operands_free(&o);
            }
    cr_expect_eq(bad, 0, "%d narrow products differ from the wide one", bad);
}
