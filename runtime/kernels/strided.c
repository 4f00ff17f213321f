/*
 * strided.c — strided view copies (see strided.h).
 *
 * The walk keeps an index counter over the outer dims and the source offset it implies,
 * updated incrementally (add the stride on increment, subtract dim * stride on wrap), and
 * copies each innermost run at once: one memcpy when its stride is 1, else an element loop
 * whose fixed-size cases (1/2/4/8 bytes) let the compiler turn each memcpy into one load and
 * one store.
 */
#include "strided.h"

#include <string.h>

#include "../rt_core.h"

void rt_strides_contiguous(int rank, const int64_t *dims, int64_t *strides) {
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) {
        strides[i] = s;
        s *= dims[i];
    }
}

/* n elements from src, src + stride, ... (stride in elements) into contiguous dst. */
static void copy_run(char *dst, const char *src, size_t esz, int64_t n, int64_t stride) {
    int64_t step = stride * (int64_t)esz;
    switch (esz) {
    case 1: for (int64_t j = 0; j < n; j++) dst[j] = src[j * step]; break;
    case 2: for (int64_t j = 0; j < n; j++) memcpy(dst + 2 * j, src + j * step, 2); break;
    case 4: for (int64_t j = 0; j < n; j++) memcpy(dst + 4 * j, src + j * step, 4); break;
    case 8: for (int64_t j = 0; j < n; j++) memcpy(dst + 8 * j, src + j * step, 8); break;
    default: for (int64_t j = 0; j < n; j++) memcpy(dst + (int64_t)esz * j, src + j * step, esz); break;
    }
}

void rt_copy_strided(void *dst, const void *src, size_t esz, int rank, const int64_t *dims,
                     const int64_t *strides) {
    int64_t total = rt_shape_numel(rank, dims);
    if (total <= 0) return;
    if (rank == 0) {
        memcpy(dst, src, esz);
        return;
    }
    char *d = dst;
    const char *s = src;
    int64_t idx[2 * RT_MAX_RANK] = {0};
    int64_t inner = dims[rank - 1], is = strides[rank - 1], off = 0, e = (int64_t)esz;
    for (int64_t done = 0; done < total; done += inner) {
        if (is == 1)
            memcpy(d, s + off * e, (size_t)(inner * e));
        else
            copy_run(d, s + off * e, esz, inner, is);
        d += inner * e;
        for (int k = rank - 2; k >= 0; k--) {
            off += strides[k];
            if (++idx[k] < dims[k]) break;
            off -= strides[k] * dims[k];
            idx[k] = 0;
        }
    }
}
