/*
 * test_qmaxpool_x86.c — x86/qmaxpool_x86.c: MaxPool on int8 and uint8 codes against the
 * reference kernel (ref/pool.c), bit for bit, on odd sizes with pads, strides, dilations,
 * ceil_mode, 1-D/2-D/3-D windows and a pool of two threads; float input and the Indices output
 * still take the other kernels (same results as the reference).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/rt_threads.h"
#include "rt_test_util.h"

typedef struct {
    int rank;                 /* 3, 4 or 5 */
    int64_t dims[5];
    int64_t k[3], s[3], p[6], d[3];
    int ceil_mode;
} PoolCase;

static void run_case(const PoolCase *pc, RtDtype dt, RtThreadPool *pool) {
    int nsp = pc->rank - 2;
    int64_t n = 1;
    for (int i = 0; i < pc->rank; i++) n *= pc->dims[i];
    uint8_t *x = malloc((size_t)n);
    uint32_t seed = (uint32_t)(n * 7 + (int64_t)dt);
    for (int64_t i = 0; i < n; i++) x[i] = (uint8_t)(rtt_lcg(&seed) >> 24);
    RtTensor tx = rtt_tensor(dt, pc->rank, pc->dims, x);
    RtTensor *in[1] = {&tx};
    RtAttr at[5] = {rtt_attr_ints("kernel_shape", pc->k, nsp), rtt_attr_ints("strides", pc->s, nsp),
                    rtt_attr_ints("pads", pc->p, 2 * nsp), rtt_attr_ints("dilations", pc->d, nsp),
                    rtt_attr_int("ceil_mode", pc->ceil_mode)};
    RtTensor want, got;
    RttRun how = {.pool = pool};
    cr_assert_eq(rtt_run_kernel(rt_kernel_find(RT_OP_MAX_POOL), NULL, RT_OP_MAX_POOL, 12, in, 1, &want, 1, at, 5, 0),
                 RT_OK, "%s", rtt_err.msg);
    cr_assert_eq(rtt_run_kernel(rt_kernel_find_fast(RT_OP_MAX_POOL), &how, RT_OP_MAX_POOL, 12, in, 1, &got, 1, at, 5, 0),
                 RT_OK, "%s", rtt_err.msg);
    cr_assert(rt_shape_equal(&want, &got), "shapes differ");
    cr_assert_eq(got.dtype, dt);
    cr_assert_eq(memcmp(want.data, got.data, (size_t)rt_numel(&want)), 0, "rank %d %s: values differ", pc->rank,
                 rt_dtype_name(dt));
    rtt_free_outputs(&want, 1);
    rtt_free_outputs(&got, 1);
    free(x);
}

Test(qmaxpool_x86, int8_and_uint8_match_the_reference) {
    static const PoolCase cases[] = {
        {4, {1, 200, 2, 96}, {2, 2}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 0},  /* PaddleOCR cls */
        {4, {2, 3, 7, 9}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 0},
        {4, {1, 5, 17, 33}, {3, 2}, {2, 3}, {1, 0, 2, 1}, {2, 1}, 1},
        {4, {1, 1, 1, 1}, {1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 0},
        {3, {2, 3, 129}, {5}, {3}, {2, 2}, {1}, 1},
        {5, {1, 2, 5, 6, 7}, {2, 3, 2}, {1, 2, 2}, {0, 1, 1, 1, 0, 1}, {1, 1, 2}, 0},
    };
    RtThreadPool *pool = rt_pool_new(2, NULL);
    cr_assert_not_null(pool);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int t = 0; t < 2; t++) {
            run_case(&cases[i], RT_I8, t ? pool : NULL);
            run_case(&cases[i], RT_U8, t ? pool : NULL);
        }
    rt_pool_free(pool);
}

Test(qmaxpool_x86, float_and_indices_take_the_other_kernels) {
    float x[2 * 3 * 5 * 5];
    for (int i = 0; i < 150; i++) x[i] = (float)((i * 37) % 23) - 11.0f;
    int64_t xd[4] = {2, 3, 5, 5}, k[2] = {2, 2}, s[2] = {2, 2};
    RtTensor tx = rtt_tensor(RT_F32, 4, xd, x);
    RtTensor *in[1] = {&tx};
    RtAttr at[2] = {rtt_attr_ints("kernel_shape", k, 2), rtt_attr_ints("strides", s, 2)};
    RtTensor want[2], got[2];
    cr_assert_eq(rtt_run_kernel(rt_kernel_find(RT_OP_MAX_POOL), NULL, RT_OP_MAX_POOL, 12, in, 1, want, 2, at, 2, 0), RT_OK,
                 "%s", rtt_err.msg);
    cr_assert_eq(rtt_run_kernel(rt_kernel_find_fast(RT_OP_MAX_POOL), NULL, RT_OP_MAX_POOL, 12, in, 1, got, 2, at, 2, 0),
                 RT_OK, "%s", rtt_err.msg);
    for (int o = 0; o < 2; o++) {
        cr_assert(rt_shape_equal(&want[o], &got[o]));
        cr_expect_eq(memcmp(want[o].data, got[o].data, (size_t)rt_nbytes(&want[o])), 0, "output %d differs", o);
    }
    rtt_free_outputs(want, 2);
    rtt_free_outputs(got, 2);
}
