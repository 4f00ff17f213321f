/*
 * test_threads.c — the worker pool (runtime/rt_threads.c) and the kernels' parallel loops.
 *
 * The pool: rt_parallel_for covers [0, n) exactly once in at most `threads` contiguous
 * chunks of at least min_chunk, for pools of 1, 2 and 3 threads and no pool; pools survive
 * being created and freed in a loop, two pools work from two threads at once, and a call
 * made from inside a chunk runs inline, and idle workers and a waiting caller that fell
 * asleep are woken (no lost wake-up). The kernels: every parallel path (depthwise conv,
 * stride 1 and 2; the conv GEMM split by columns and by rows; im2col; Relu; broadcast Add;
 * AveragePool; MaxPool with indices; GlobalAveragePool) gives bit-identical output with no
 * pool, 2 threads and 3 threads — the chunks never change any element's arithmetic.
 */
#include <pthread.h>
#include <time.h>

#include "../../runtime/rt_threads.h"
#include "rt_test_util.h"

/* ---------------------------------------------------------------- rt_parallel_for */

#define MAX_N 1000
#define MAX_CHUNKS 16

typedef struct {
    int hits[MAX_N];                     /* times each index was visited */
    int64_t begin[MAX_CHUNKS], end[MAX_CHUNKS];
    int chunks;
    pthread_mutex_t mu;
} Cover;

static void cover_fn(void *arg, int64_t b, int64_t e) {
    Cover *cv = arg;
    for (int64_t i = b; i < e; i++) __atomic_add_fetch(&cv->hits[i], 1, __ATOMIC_RELAXED);
    pthread_mutex_lock(&cv->mu);
    if (cv->chunks < MAX_CHUNKS) {
        cv->begin[cv->chunks] = b;
        cv->end[cv->chunks] = e;
    }
    cv->chunks++;
    pthread_mutex_unlock(&cv->mu);
}

/* Runs one loop and checks: every index once, chunks <= threads, each >= min_chunk unless
 * there is a single chunk, and as many chunks as rt_pool_chunks promised. */
static void check_cover(RtThreadPool *p, int64_t n, int64_t min_chunk) {
    static Cover cv;
    memset(cv.hits, 0, sizeof cv.hits);
    cv.chunks = 0;
    pthread_mutex_init(&cv.mu, NULL);
    rt_parallel_for(p, n, min_chunk, cover_fn, &cv);
    for (int64_t i = 0; i < n; i++)
        cr_assert_eq(cv.hits[i], 1, "threads %d, n %lld: index %lld visited %d times", rt_pool_threads(p),
                     (long long)n, (long long)i, cv.hits[i]);
    cr_assert_eq(cv.chunks, rt_pool_chunks(p, n, min_chunk), "threads %d, n %lld: %d chunks, promised %lld",
                 rt_pool_threads(p), (long long)n, cv.chunks, (long long)rt_pool_chunks(p, n, min_chunk));
    cr_assert_leq(cv.chunks, rt_pool_threads(p));
    for (int k = 0; cv.chunks > 1 && k < cv.chunks; k++)
        cr_assert_geq(cv.end[k] - cv.begin[k], min_chunk, "chunk [%lld, %lld) is shorter than %lld",
                      (long long)cv.begin[k], (long long)cv.end[k], (long long)min_chunk);
    pthread_mutex_destroy(&cv.mu);
}

Test(parallel_for, covers_every_index_once) {
    static const int64_t ns[] = {0, 1, 7, 1000};
    static const int64_t mins[] = {1, 3, 100};
    check_cover(NULL, 1000, 1);
    for (int t = 1; t <= 3; t++) {
        RtThreadPool *p = rt_pool_new(t, NULL);
        cr_assert_not_null(p);
        cr_assert_eq(rt_pool_threads(p), t);
        for (int i = 0; i < 4; i++)
            for (int m = 0; m < 3; m++)
                for (int rep = 0; rep < 20; rep++) check_cover(p, ns[i], mins[m]);
        rt_pool_free(p);
    }
}

/* A chunk that takes ~300 us, longer than the pool's polling (POOL_SPIN_NS = 100 us): the
 * caller, done with its own chunk, has to sleep on the condition variable until it ends. */
static void slow_cover_fn(void *arg, int64_t b, int64_t e) {
    if (b > 0) {
        struct timespec ts = {0, 300000};
        nanosleep(&ts, NULL);
    }
    cover_fn(arg, b, e);
}

/* The sleeping paths: workers idle for longer than they poll fall asleep and must be woken
 * by the next loop, and a caller waiting on a slow worker sleeps and must be woken by it.
 * A lost wake-up hangs the loop, which the timeout turns into a failure. */
Test(parallel_for, wakes_sleeping_workers_and_caller, .timeout = 20) {
    for (int t = 2; t <= 3; t++) {
        RtThreadPool *p = rt_pool_new(t, NULL);
        cr_assert_not_null(p);
        for (int rep = 0; rep < 30; rep++) {
            struct timespec ts = {0, rep % 2 ? 400000 : 1000}; /* 400 us: the workers sleep */
            nanosleep(&ts, NULL);
            check_cover(p, 1000, 1);
            static Cover cv;
            memset(cv.hits, 0, sizeof cv.hits);
            cv.chunks = 0;
            pthread_mutex_init(&cv.mu, NULL);
            rt_parallel_for(p, 1000, 1, slow_cover_fn, &cv);
            for (int64_t i = 0; i < 1000; i++) cr_assert_eq(cv.hits[i], 1, "index %lld", (long long)i);
            pthread_mutex_destroy(&cv.mu);
        }
        rt_pool_free(p);
    }
}

Test(parallel_for, chunk_counts) {
    RtThreadPool *p = rt_pool_new(3, NULL);
    cr_assert_eq(rt_pool_chunks(p, 0, 1), 0);
    cr_assert_eq(rt_pool_chunks(p, 1, 1), 1);
    cr_assert_eq(rt_pool_chunks(p, 7, 1), 3);
    cr_assert_eq(rt_pool_chunks(p, 7, 3), 2);   /* 7 / 3: two chunks of >= 3 */
    cr_assert_eq(rt_pool_chunks(p, 7, 8), 1);
    cr_assert_eq(rt_pool_chunks(p, 7, 0), 3);   /* min_chunk < 1 counts as 1 */
    cr_assert_eq(rt_pool_chunks(NULL, 1000, 1), 1);
    cr_assert_eq(rt_pool_threads(NULL), 1);
    rt_pool_free(p);
    rt_pool_free(NULL);
    cr_assert_null(rt_pool_new(0, NULL));
}

Test(parallel_for, chunk_ranges_split_evenly) {
    int64_t b, e, total = 0;
    for (int64_t i = 0; i < 3; i++) { /* 10 in 3 parts: [0,4) [4,7) [7,10) */
        rt_chunk_range(10, 3, i, &b, &e);
        cr_assert_eq(b, total);
        cr_assert_eq(e - b, i == 0 ? 4 : 3);
        total = e;
    }
    cr_assert_eq(total, 10);
    cr_assert_eq(rt_slot_stride(100, 1), 100);
    cr_assert_geq(rt_slot_stride(100, 2), 100 + ((size_t)16 << 10));
}

Test(parallel_for, pools_created_and_freed_repeatedly) {
    for (int k = 0; k < 50; k++) {
        RtThreadPool *p = rt_pool_new(1 + k % 3, NULL);
        cr_assert_not_null(p);
        if (k % 2) check_cover(p, 1000, 1); /* half of them freed without ever running a loop */
        rt_pool_free(p);
    }
}

/* A chunk that runs a loop of its own on the same pool: the inner call must run inline. */
typedef struct {
    RtThreadPool *p;
    int inner_hits[64];
} Nested;

static void inner_fn(void *arg, int64_t b, int64_t e) {
    int *hits = arg;
    for (int64_t i = b; i < e; i++) __atomic_add_fetch(&hits[i], 1, __ATOMIC_RELAXED);
}

static void outer_fn(void *arg, int64_t b, int64_t e) {
    Nested *nt = arg;
    for (int64_t i = b; i < e; i++) rt_parallel_for(nt->p, 8, 1, inner_fn, nt->inner_hits + 8 * i);
}

Test(parallel_for, nested_call_runs_inline) {
    static Nested nt;
    nt.p = rt_pool_new(2, NULL);
    memset(nt.inner_hits, 0, sizeof nt.inner_hits);
    rt_parallel_for(nt.p, 8, 1, outer_fn, &nt);
    for (int i = 0; i < 64; i++) cr_assert_eq(nt.inner_hits[i], 1, "inner index %d visited %d times", i, nt.inner_hits[i]);
    rt_pool_free(nt.p);
}

/* Two pools, each driven by its own thread, many loops at once. */
typedef struct {
    RtThreadPool *p;
    int64_t sums[64];
    int ok;
} Driver;

static void sum_fn(void *arg, int64_t b, int64_t e) {
    int64_t *s = arg;
    for (int64_t i = b; i < e; i++) s[i] = i * i;
}

static void *drive(void *arg) {
    Driver *d = arg;
    d->ok = 1;
    for (int rep = 0; rep < 2000; rep++) {
        memset(d->sums, 0, sizeof d->sums);
        rt_parallel_for(d->p, 64, 1 + rep % 5, sum_fn, d->sums);
        for (int64_t i = 0; i < 64; i++)
            if (d->sums[i] != i * i) d->ok = 0;
    }
    return NULL;
}

Test(parallel_for, two_pools_from_two_threads) {
    static Driver d[2];
    pthread_t th[2];
    for (int k = 0; k < 2; k++) {
        d[k].p = rt_pool_new(2, NULL);
        cr_assert_not_null(d[k].p);
        cr_assert_eq(pthread_create(&th[k], NULL, drive, &d[k]), 0);
    }
    for (int k = 0; k < 2; k++) {
        pthread_join(th[k], NULL);
        cr_expect(d[k].ok, "pool %d computed a wrong value", k);
        rt_pool_free(d[k].p);
    }
}

Test(parallel_for, one_pool_from_two_threads) {
    /* A busy pool runs a second caller's loop inline: still correct. */
    static Driver d[2];
    pthread_t th[2];
    RtThreadPool *p = rt_pool_new(2, NULL);
    for (int k = 0; k < 2; k++) {
        d[k].p = p;
        cr_assert_eq(pthread_create(&th[k], NULL, drive, &d[k]), 0);
    }
    for (int k = 0; k < 2; k++) {
        pthread_join(th[k], NULL);
        cr_expect(d[k].ok, "caller %d computed a wrong value", k);
    }
    rt_pool_free(p);
}

/* ---------------------------------------------------------------- kernels */

/* Deterministic values in [-1, 1]. */
static void fill(float *v, int64_t n, uint32_t seed) {
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        v[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

static float *fvec(int64_t n, uint32_t seed) {
    float *v = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    cr_assert_not_null(v);
    fill(v, n, seed);
    return v;
}

/* Runs op with the given pool; out[n_out] receive the outputs. */
static void run_pool(RtThreadPool *p, int op, RtTensor **in, int n_in, RtTensor *out, int n_out, RtAttr *attrs,
                     int n_attr) {
    RttRun how = {.pool = p};
    int r = rtt_run_kernel(rt_kernel_find(op), &how, op, 17, in, n_in, out, n_out, attrs, n_attr, 0);
    cr_assert_eq(r, RT_OK, "%s failed: %s", rt_op_name(op), rtt_err.msg);
}

/* Output k of a run with no pool, then with 2 and 3 threads: identical bytes. */
static void expect_same_any_threads(int op, RtTensor **in, int n_in, int n_out, RtAttr *attrs, int n_attr) {
    RtTensor ref[4], got[4];
    run_pool(NULL, op, in, n_in, ref, n_out, attrs, n_attr);
    for (int t = 2; t <= 3; t++) {
        RtThreadPool *p = rt_pool_new(t, NULL);
        for (int rep = 0; rep < 3; rep++) {
            run_pool(p, op, in, n_in, got, n_out, attrs, n_attr);
            for (int k = 0; k < n_out; k++) {
                cr_assert(rt_shape_equal(&got[k], &ref[k]), "%s output %d: shape differs", rt_op_name(op), k);
                int64_t bytes = rt_nbytes(&ref[k]);
                cr_assert(memcmp(got[k].data, ref[k].data, (size_t)bytes) == 0,
                          "%s output %d differs between 1 and %d threads", rt_op_name(op), k, t);
            }
            rtt_free_outputs(got, n_out);
        }
        rt_pool_free(p);
    }
    rtt_free_outputs(ref, n_out);
}

/* Depthwise conv (group = C) with bias; stride 1 takes the padded-plane path, stride 2 the
 * direct loop. */
static void depthwise_case(int64_t C, int64_t H, int64_t W, int64_t stride) {
    int64_t xd[4] = {1, C, H, W}, wd[4] = {C, 1, 3, 3}, bd[1] = {C};
    float *x = fvec(C * H * W, 1), *w = fvec(C * 9, 2), *b = fvec(C, 3);
    RtTensor tx = rtt_tensor(RT_F32, 4, xd, x), tw = rtt_tensor(RT_F32, 4, wd, w), tb = rtt_tensor(RT_F32, 1, bd, b);
    RtTensor *in[3] = {&tx, &tw, &tb};
    int64_t pads[4] = {1, 1, 1, 1}, st[2] = {stride, stride};
    RtAttr at[3] = {rtt_attr_int("group", C), rtt_attr_ints("pads", pads, 4), rtt_attr_ints("strides", st, 2)};
    expect_same_any_threads(RT_OP_CONV, in, 3, 1, at, 3);
    free(x);
    free(w);
    free(b);
}

Test(kernels, conv_depthwise_same_for_any_threads) {
    depthwise_case(37, 29, 31, 1);
    depthwise_case(37, 29, 31, 2);
    depthwise_case(5, 3, 3, 1); /* too small to split: one chunk */
}

/* Dense conv: 1x1 (GEMM straight on the input, blocked by columns or by rows) and 3x3
 * (im2col rows in parallel, then the blocked GEMM). */
static void dense_case(int64_t C, int64_t M, int64_t H, int64_t W, int64_t k) {
    int64_t xd[4] = {1, C, H, W}, wd[4] = {M, C, k, k}, bd[1] = {M};
    float *x = fvec(C * H * W, 4), *w = fvec(M * C * k * k, 5), *b = fvec(M, 6);
    RtTensor tx = rtt_tensor(RT_F32, 4, xd, x), tw = rtt_tensor(RT_F32, 4, wd, w), tb = rtt_tensor(RT_F32, 1, bd, b);
    RtTensor *in[3] = {&tx, &tw, &tb};
    int64_t p = k / 2, pads[4] = {p, p, p, p};
    RtAttr at[1] = {rtt_attr_ints("pads", pads, 4)};
    expect_same_any_threads(RT_OP_CONV, in, 3, 1, at, 1);
    free(x);
    free(w);
    free(b);
}

Test(kernels, conv_gemm_and_im2col_same_for_any_threads) {
    dense_case(24, 40, 30, 30, 1);   /* 864k multiply-adds: 4 column blocks */
    dense_case(200, 48, 7, 7, 1);    /* 470k, 49 columns: 2 row blocks */
    dense_case(3, 16, 67, 65, 3);    /* im2col of 27 rows over 4355 positions */
}

Test(kernels, relu_large_same_for_any_threads) {
    int64_t n = 200003, d[1] = {n};
    float *x = fvec(n, 7);
    RtTensor tx = rtt_tensor(RT_F32, 1, d, x);
    RtTensor *in[1] = {&tx};
    expect_same_any_threads(RT_OP_RELU, in, 1, 1, NULL, 0);
    RtTensor y;
    run_pool(NULL, RT_OP_RELU, in, 1, &y, 1, NULL, 0);
    const float *yv = y.data;
    for (int64_t i = 0; i < n; i++) cr_assert_eq(yv[i], x[i] < 0 ? 0.0f : x[i], "element %lld", (long long)i);
    rtt_free_outputs(&y, 1);
    free(x);
}

Test(kernels, add_broadcast_same_for_any_threads) {
    int64_t ad[4] = {1, 64, 40, 41}, bd[4] = {1, 64, 1, 1}, n = 64 * 40 * 41;
    float *a = fvec(n, 8), *b = fvec(64, 9), *a2 = fvec(n, 10);
    RtTensor ta = rtt_tensor(RT_F32, 4, ad, a), tb = rtt_tensor(RT_F32, 4, bd, b), ta2 = rtt_tensor(RT_F32, 4, ad, a2);
    RtTensor *in[2] = {&ta, &tb};
    expect_same_any_threads(RT_OP_ADD, in, 2, 1, NULL, 0);
    RtTensor *in2[2] = {&ta, &ta2}; /* same shapes */
    expect_same_any_threads(RT_OP_ADD, in2, 2, 1, NULL, 0);
    RtTensor *in3[2] = {&tb, &ta}; /* the broadcast source first */
    expect_same_any_threads(RT_OP_MUL, in3, 2, 1, NULL, 0);
    free(a);
    free(b);
    free(a2);
}

Test(kernels, pools_same_for_any_threads) {
    int64_t xd[4] = {2, 21, 40, 40}, n = 2 * 21 * 40 * 40;
    float *x = fvec(n, 11);
    RtTensor tx = rtt_tensor(RT_F32, 4, xd, x);
    RtTensor *in[1] = {&tx};
    int64_t ks[2] = {3, 3}, st[2] = {2, 2}, pads[4] = {1, 1, 1, 1};
    RtAttr at[4] = {rtt_attr_ints("kernel_shape", ks, 2), rtt_attr_ints("strides", st, 2),
                    rtt_attr_ints("pads", pads, 4), rtt_attr_int("count_include_pad", 0)};
    expect_same_any_threads(RT_OP_AVERAGE_POOL, in, 1, 1, at, 4);
    expect_same_any_threads(RT_OP_MAX_POOL, in, 1, 2, at, 3); /* with Indices */
    int64_t gd[4] = {1, 300, 15, 15};
    float *g = fvec(300 * 15 * 15, 12);
    RtTensor tg = rtt_tensor(RT_F32, 4, gd, g);
    RtTensor *ing[1] = {&tg};
    expect_same_any_threads(RT_OP_GLOBAL_AVERAGE_POOL, ing, 1, 1, NULL, 0);
    free(x);
    free(g);
}
