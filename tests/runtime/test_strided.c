/*
 * test_strided.c — runtime/kernels/strided.c: contiguous strides of a shape, and strided
 * view copies with unit, zero (broadcast), negative (reversed) and permuted strides, for
 * 1-byte, 4-byte and odd-sized (3-byte) elements, scalars and empty views.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "../../runtime/kernels/strided.h"

Test(strided, contiguous_strides) {
    int64_t dims[3] = {2, 3, 4}, st[3];
    rt_strides_contiguous(3, dims, st);
    cr_expect(st[0] == 12 && st[1] == 4 && st[2] == 1, "%lld %lld %lld", (long long)st[0], (long long)st[1],
              (long long)st[2]);
}

/* Transpose of a 2x3 int32 matrix: the view [3, 2] with strides [1, 3]. */
Test(strided, transpose_permuted_strides) {
    int32_t x[6] = {0, 1, 2, 3, 4, 5}, y[6];
    int64_t dims[2] = {3, 2}, st[2] = {1, 3};
    rt_copy_strided(y, x, 4, 2, dims, st);
    int32_t want[6] = {0, 3, 1, 4, 2, 5};
    cr_expect_arr_eq(y, want, sizeof want);
}

/* Reversing both axes (Slice with steps -1): src points at the last element. */
Test(strided, negative_strides) {
    uint8_t x[6] = {0, 1, 2, 3, 4, 5}, y[6];
    int64_t dims[2] = {2, 3}, st[2] = {-3, -1};
    rt_copy_strided(y, x + 5, 1, 2, dims, st);
    uint8_t want[6] = {5, 4, 3, 2, 1, 0};
    cr_expect_arr_eq(y, want, sizeof want);
}

/* Broadcast of a row (stride 0) and 3-byte elements, which take the generic element loop. */
Test(strided, zero_stride_odd_element_size) {
    const char x[6] = {'a', 'b', 'c', 'd', 'e', 'f'};
    char y[12];
    int64_t dims[2] = {2, 2}, st[2] = {0, 1};
    rt_copy_strided(y, x, 3, 2, dims, st);
    cr_expect_arr_eq(y, "abcdefabcdef", 12);
    int64_t cols[2] = {2, 2}, cst[2] = {1, 0}; /* each element twice */
    rt_copy_strided(y, x, 3, 2, cols, cst);
    cr_expect_arr_eq(y, "abcabcdefdef", 12);
}

Test(strided, scalar_and_empty) {
    float x = 2.5f, y = 0;
    rt_copy_strided(&y, &x, sizeof x, 0, NULL, NULL);
    cr_expect_eq(y, 2.5f);
    float z[2] = {7, 7};
    int64_t dims[2] = {0, 2}, st[2] = {2, 1};
    rt_copy_strided(z, &x, sizeof x, 2, dims, st);
    cr_expect(z[0] == 7 && z[1] == 7, "an empty view wrote data");
}
