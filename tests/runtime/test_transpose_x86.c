/*
 * test_transpose_x86.c — the optimized Transpose (runtime/kernels/x86/transpose_x86.c)
 * against the reference kernel (ref/shape_ops.c), which it must equal bit for bit (a
 * transpose moves elements, it computes nothing: NaN payloads included).
 *
 * Sweeps: ranks 1-5, every permutation of ranks 2-4 and some of rank 5, sizes 1, 3, 7, 17,
 * 33, 127, 129 (so the 16 x 16 tiles have every kind of edge, and axes of size 1 drop out),
 * the attention shapes of tinylm ([1, 128, 4, 64] with perms 0213 and 0231), float32 and
 * int32 data, no perm (reversed axes); the cases handed to the reference (int64, float64,
 * a bad perm, shape mode) behave as the reference does. Plus hand-computed expectations for
 * a 2x3 transpose, so the suite does not only compare two of our kernels. Every case also
 * runs on 2 and 3 threads (the sizes of 8192 elements and more split along the outermost
 * axis, in 16-wide tiles when that axis is the plane's contiguous one), with the same result.
 */
#include <stdio.h>

#include "rt_test_util.h"
#include "../../runtime/rt_threads.h"

extern const RtKernelEntry rt_kernels_x86_shape[];

static RtKernelFn x86_transpose(void) {
    for (const RtKernelEntry *e = rt_kernels_x86_shape; e->op >= 0; e++)
        if (e->op == RT_OP_TRANSPOSE) return e->fn;
    return NULL;
}

/* Runs fn on x with perm (np < 0: no attribute) on pool's threads (NULL: one). */
static int run_on(RtKernelFn fn, RtThreadPool *pool, RtTensor *x, const int64_t *perm, int np, RtTensor *out,
                  int shape_only) {
    RtAttr a[1];
    int na = 0;
    if (np >= 0) a[na++] = rtt_attr_ints("perm", perm, np);
    RtTensor *in[1] = {x};
    RttRun how = {.pool = pool};
    return rtt_run_kernel(fn, &how, RT_OP_TRANSPOSE, 17, in, 1, out, 1, a, na, shape_only);
}

/* Runs fn on x with perm (np < 0: no attribute); returns the status, output in *out. */
static int run(RtKernelFn fn, RtTensor *x, const int64_t *perm, int np, RtTensor *out, int shape_only) {
    return run_on(fn, NULL, x, perm, np, out, shape_only);
}

/* x86 and reference on dims/perm over 4-byte data of dtype dt; they must agree exactly. */
static void check_case(RtDtype dt, int rank, const int64_t *dims, const int64_t *perm, int np) {
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    uint32_t *data = malloc(sizeof(uint32_t) * (size_t)(n > 0 ? n : 1));
    cr_assert(data);
    uint32_t seed = (uint32_t)(n * 31 + rank);
    for (int64_t i = 0; i < n; i++) {
        float f = rtt_uniform(&seed, -4, 4);
        uint32_t u;
        memcpy(&u, &f, 4);
        data[i] = dt == RT_F32 && i % 37 == 5 ? 0x7fa00000u + (uint32_t)i % 7 : dt == RT_F32 ? u : (uint32_t)i * 2654435761u;
    }
    RtTensor x = rtt_tensor(dt, rank, dims, data);
    RtTensor ref, opt;
    memset(&ref, 0, sizeof ref);
    memset(&opt, 0, sizeof opt);
    int r1 = run(rt_kernel_find(RT_OP_TRANSPOSE), &x, perm, np, &ref, 0);
    int r2 = run(x86_transpose(), &x, perm, np, &opt, 0);
    cr_assert_eq(r1, RT_OK, "reference failed: %s", rtt_err.msg);
    cr_assert_eq(r2, RT_OK, "x86 failed: %s", rtt_err.msg);
    cr_assert_eq(opt.rank, ref.rank);
    for (int i = 0; i < rank; i++) cr_assert_eq(opt.dims[i], ref.dims[i]);
    if (n > 0) {
        int64_t bad = -1;
        for (int64_t i = 0; i < n && bad < 0; i++)
            if (((uint32_t *)opt.data)[i] != ((uint32_t *)ref.data)[i]) bad = i;
        if (bad >= 0) {
            char msg[256];
            int q = snprintf(msg, sizeof msg, "dims");
            for (int i = 0; i < rank; i++) q += snprintf(msg + q, sizeof msg - (size_t)q, " %lld", (long long)dims[i]);
            q += snprintf(msg + q, sizeof msg - (size_t)q, " perm");
            for (int i = 0; i < np; i++) q += snprintf(msg + q, sizeof msg - (size_t)q, " %lld", (long long)perm[i]);
            cr_assert_fail("%s: element %lld differs", msg, (long long)bad);
        }
    }
    /* 2 and 3 threads (chunks of the outermost axis, uneven with 3): the same elements */
    for (int t = 2; t <= 3 && n > 0; t++) {
        RtThreadPool *pool = rt_pool_new(t, NULL);
        cr_assert_not_null(pool);
        RtTensor par;
        memset(&par, 0, sizeof par);
        cr_assert_eq(run_on(x86_transpose(), pool, &x, perm, np, &par, 0), RT_OK, "x86 on %d threads: %s", t,
                     rtt_err.msg);
        cr_assert_eq(memcmp(par.data, ref.data, sizeof(uint32_t) * (size_t)n), 0,
                     "x86 on %d threads differs from the reference (n = %lld)", t, (long long)n);
        rtt_free_outputs(&par, 1);
        rt_pool_free(pool);
    }
    rtt_free_outputs(&ref, 1);
    rtt_free_outputs(&opt, 1);
    free(data);
}

/* Every permutation of 0..r-1 (Heap's algorithm), each checked on dims. */
static void all_perms(RtDtype dt, int r, const int64_t *dims) {
    int64_t p[RT_MAX_RANK];
    int c[RT_MAX_RANK] = {0};
    for (int i = 0; i < r; i++) p[i] = i;
    check_case(dt, r, dims, p, r);
    for (int i = 1; i < r;) {
        if (c[i] < i) {
            int j = i % 2 ? c[i] : 0;
            int64_t t = p[j];
            p[j] = p[i];
            p[i] = t;
            check_case(dt, r, dims, p, r);
            c[i]++;
            i = 1;
        } else {
            c[i++] = 0;
        }
    }
}

static const int64_t SIZES[] = {1, 3, 7, 17, 33, 127, 129};
#define N_SIZES (int)(sizeof SIZES / sizeof SIZES[0])

Test(transpose_x86, hand_computed_2x3) {
    const float v[6] = {1, 2, 3, 4, 5, 6};
    const float want[6] = {1, 4, 2, 5, 3, 6}; /* [[1,2,3],[4,5,6]]^T */
    int64_t dims[2] = {2, 3}, perm[2] = {1, 0};
    RtTensor x = rtt_tensor_c(RT_F32, 2, dims, v), y;
    memset(&y, 0, sizeof y);
    cr_assert_eq(run(x86_transpose(), &x, perm, 2, &y, 0), RT_OK);
    int64_t wd[2] = {3, 2};
    rtt_expect_dims(&y, 2, wd);
    cr_assert_eq(rtt_expect_f32(&y, want, 6, 0, 0), 0);
    rtt_free_outputs(&y, 1);
}

Test(transpose_x86, matrices_all_edge_sizes) {
    for (int a = 0; a < N_SIZES; a++)
        for (int b = 0; b < N_SIZES; b++) {
            int64_t dims[2] = {SIZES[a], SIZES[b]}, perm[2] = {1, 0};
            check_case(RT_F32, 2, dims, perm, 2);
            check_case(RT_I32, 2, dims, perm, 2);
        }
}

Test(transpose_x86, rank3_and_4_every_perm) {
    for (int a = 0; a < N_SIZES; a += 2)
        for (int b = 1; b < N_SIZES; b += 2) {
            int64_t d3[3] = {SIZES[a], SIZES[b], 17};
            all_perms(RT_F32, 3, d3);
            int64_t d4[4] = {3, SIZES[b], 1, SIZES[a]};
            all_perms(RT_F32, 4, d4);
        }
    int64_t d4[4] = {7, 17, 3, 33};
    all_perms(RT_F32, 4, d4);
    all_perms(RT_I32, 4, d4);
}

Test(transpose_x86, attention_shapes) {
    int64_t dims[4] = {1, 128, 4, 64}, p0213[4] = {0, 2, 1, 3}, p0231[4] = {0, 2, 3, 1};
    check_case(RT_F32, 4, dims, p0213, 4);
    check_case(RT_F32, 4, dims, p0231, 4);
    int64_t back[4] = {1, 4, 128, 64};
    check_case(RT_F32, 4, back, p0213, 4);
}

Test(transpose_x86, rank1_rank5_and_default_perm) {
    int64_t d1[1] = {129}, p1[1] = {0};
    check_case(RT_F32, 1, d1, p1, 1);
    int64_t d5[5] = {2, 3, 7, 1, 17}, p5a[5] = {4, 2, 0, 3, 1}, p5b[5] = {0, 1, 4, 3, 2};
    check_case(RT_F32, 5, d5, p5a, 5);
    check_case(RT_F32, 5, d5, p5b, 5);
    int64_t d3[3] = {33, 7, 129};
    check_case(RT_F32, 3, d3, NULL, -1); /* no perm: axes reversed */
    int64_t d0[3] = {3, 0, 5}, p[3] = {2, 0, 1};
    check_case(RT_F32, 3, d0, p, 3);
}

Test(transpose_x86, reference_cases) {
    /* int64 goes to the reference: same result */
    int64_t v[6] = {1, 2, 3, 4, 5, 6}, dims[2] = {2, 3}, perm[2] = {1, 0};
    RtTensor x = rtt_tensor(RT_I64, 2, dims, v), y;
    memset(&y, 0, sizeof y);
    cr_assert_eq(run(x86_transpose(), &x, perm, 2, &y, 0), RT_OK);
    const int64_t want[6] = {1, 4, 2, 5, 3, 6};
    for (int i = 0; i < 6; i++) cr_assert_eq(((int64_t *)y.data)[i], want[i]);
    rtt_free_outputs(&y, 1);
    /* a perm that is not a permutation: the reference's error */
    float f[6] = {0};
    RtTensor xf = rtt_tensor(RT_F32, 2, dims, f);
    int64_t bad[2] = {0, 0};
    cr_assert_lt(run(x86_transpose(), &xf, bad, 2, &y, 0), 0);
    cr_assert(strstr(rtt_err.msg, "perm"), "message: %s", rtt_err.msg);
    int64_t three[3] = {0, 1, 2};
    cr_assert_lt(run(x86_transpose(), &xf, three, 3, &y, 0), 0);
    /* shape mode: the output shape only */
    RtTensor xs = rtt_tensor(RT_F32, 2, dims, NULL);
    memset(&y, 0, sizeof y);
    int r = run(x86_transpose(), &xs, perm, 2, &y, 1);
    cr_assert(r == RT_SHAPE_ONLY || r == RT_OK);
    int64_t wd[2] = {3, 2};
    rtt_expect_dims(&y, 2, wd);
    rtt_free_outputs(&y, 1);
}
