/*
 * strided.h — strided views of row-major tensors: the contiguous strides of a shape, and the
 * copy of a strided view into a contiguous buffer. Transpose, Expand, Tile (shape_ops.c) and
 * Slice (gather_slice.c) are all "build the view's dims and strides, then rt_copy_strided".
 * Strides are in elements, not bytes.
 */
#ifndef WAFER_RT_STRIDED_H
#define WAFER_RT_STRIDED_H

#include <stddef.h>
#include <stdint.h>

/* strides[i] = prod(dims[i+1..rank-1]): the row-major strides of a contiguous tensor. */
void rt_strides_contiguous(int rank, const int64_t *dims, int64_t *strides);

/* Copies the view of src with dims[rank] and strides[rank] into contiguous dst, row-major:
 * dst[i_0, ..., i_{r-1}] = src[sum_k i_k * strides[k]]. Strides may be 0 (broadcast) or
 * negative (src then points at the view's first element, not the buffer's). esz is the
 * element size in bytes; rank is at most 2 * RT_MAX_RANK (Tile's [rep, dim] pairs). */
void rt_copy_strided(void *dst, const void *src, size_t esz, int rank, const int64_t *dims,
                     const int64_t *strides);

/* One step of a row-major walk over the positions of dims[rank] (coordinates in idx[rank],
 * all 0 at the start) that keeps *base = the position's offset under strides xs with
 * coordinate `skip` left out: GatherElements and ScatterElements add their index value times
 * xs[skip] to it to address the data element a position of their indices names. */
static inline void rt_walk_next_skip(int rank, const int64_t *dims, const int64_t *xs, int skip, int64_t *idx,
                                     int64_t *base) {
    for (int d = rank - 1; d >= 0; d--) {
        if (d != skip) *base += xs[d];
        if (++idx[d] < dims[d]) return;
        if (d != skip) *base -= xs[d] * dims[d];
        idx[d] = 0;
    }
}

#endif
