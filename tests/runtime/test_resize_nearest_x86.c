/*
 * test_resize_nearest_x86.c — x86/resize_nearest_x86.c (nearest, asymmetric, floor, integer
 * factors) against the reference Resize, byte for byte: float32, int8 and int64 tensors of odd
 * sizes, factors 1-4 per axis, one thread and two; forms it hands back (half_pixel, a factor
 * of 1.5, sizes) give the reference's result too.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/rt_threads.h"
#include "rt_test_util.h"

static void resize_case(RtDtype dt, const int64_t *xd, float sh, float sw, const char *coord, RtThreadPool *pool) {
    size_t es = rt_dtype_size(dt);
    int64_t n = xd[0] * xd[1] * xd[2] * xd[3];
    uint8_t *x = malloc((size_t)n * es);
    uint32_t seed = (uint32_t)(n + es);
    for (int64_t i = 0; i < n * (int64_t)es; i++) x[i] = (uint8_t)(rtt_lcg(&seed) >> 24);
    if (dt == RT_F32)
        for (int64_t i = 0; i < n; i++) ((float *)x)[i] = (float)((int)(rtt_lcg(&seed) >> 20) - 2048) / 16.0f;
    float sc[4] = {1, 1, sh, sw};
    int64_t four = 4;
    RtTensor tx = rtt_tensor(dt, 4, xd, x), ts = rtt_tensor(RT_F32, 1, &four, sc);
    RtTensor *in[3] = {&tx, NULL, &ts};
    RtAttr at[3] = {rtt_attr_str("mode", "nearest"), rtt_attr_str("coordinate_transformation_mode", coord),
                    rtt_attr_str("nearest_mode", "floor")};
    RtTensor want, got;
    RttRun how = {.pool = pool};
    cr_assert_eq(rtt_run_kernel(rt_kernel_find(RT_OP_RESIZE), NULL, RT_OP_RESIZE, 13, in, 3, &want, 1, at, 3, 0), RT_OK,
                 "%s", rtt_err.msg);
    cr_assert_eq(rtt_run_kernel(rt_kernel_find_fast(RT_OP_RESIZE), &how, RT_OP_RESIZE, 13, in, 3, &got, 1, at, 3, 0),
                 RT_OK, "%s", rtt_err.msg);
    cr_assert(rt_shape_equal(&want, &got), "%s %gx%g %s: shapes differ", rt_dtype_name(dt), sh, sw, coord);
    cr_assert_eq(memcmp(want.data, got.data, (size_t)rt_nbytes(&want)), 0, "%s %gx%g %s: values differ",
                 rt_dtype_name(dt), sh, sw, coord);
    rtt_free_outputs(&want, 1);
    rtt_free_outputs(&got, 1);
    free(x);
}

Test(resize_nearest_x86, integer_factors_match_the_reference) {
    static const int64_t shapes[][4] = {{1, 96, 4, 6}, {2, 3, 7, 5}, {1, 1, 1, 1}, {1, 5, 17, 33}};
    static const float f[][2] = {{2, 2}, {1, 3}, {3, 1}, {4, 2}, {1, 1}};
    static const RtDtype dts[] = {RT_F32, RT_I8, RT_I64};
    RtThreadPool *pool = rt_pool_new(2, NULL);
    cr_assert_not_null(pool);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (size_t k = 0; k < sizeof f / sizeof f[0]; k++)
            for (size_t d = 0; d < sizeof dts / sizeof dts[0]; d++)
                resize_case(dts[d], shapes[s], f[k][0], f[k][1], "asymmetric", (s + k) % 2 ? pool : NULL);
    rt_pool_free(pool);
}

Test(resize_nearest_x86, other_forms_give_the_reference_result) {
    static const int64_t xd[4] = {1, 3, 5, 7};
    resize_case(RT_F32, xd, 2, 2, "half_pixel", NULL);
    resize_case(RT_I8, xd, 1.5f, 2, "asymmetric", NULL);
}
