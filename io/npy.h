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
/* Writes t as a little-endian, C-order .npy (version 1.0), atomically: a temporary file in
 * the same folder, then rename; on failure nothing is left behind. */
int npy_write(const char *path, const RtTensor *t, RtError *err);

#endif
