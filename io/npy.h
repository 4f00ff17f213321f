/*
 * npy.h — NumPy .npy files (format versions 1.0, 2.0, 3.0): read and write tensors.
 */
#ifndef WAFER_NPY_H
#define WAFER_NPY_H

#include "../runtime/rt_core.h"

/* Reads a .npy file: all common dtypes (bool, int8..int64, uint8..uint64, float16/32/64),
 * either byte order (converted to native). Fortran order is refused with a clear error.
 * out->data is malloc'd (caller frees with free()). */
int npy_read(const char *path, RtTensor *out, RtError *err);
/* Reads only the header of a .npy file, with the same checks as npy_read (dtype, Fortran
 * order refused, data size equal to what the shape needs): out gets dtype and shape (data
 * NULL), *data_offset the byte offset of the C-order array, *swap 1 when its elements must
 * be byte-swapped to native order. Lets callers read slices (e.g. rows) with pread. */
int npy_read_header(const char *path, RtTensor *out, int64_t *data_offset, int *swap, RtError *err);
/* Reverses each `size`-byte element of data[n] in place (byte order conversion). */
void npy_bytes_swap(void *data, int64_t n, size_t size);
/* Writes t as a little-endian, C-order .npy (version 1.0), atomically: a temporary file in
 * the same folder, then rename; on failure nothing is left behind. */
int npy_write(const char *path, const RtTensor *t, RtError *err);

#endif
