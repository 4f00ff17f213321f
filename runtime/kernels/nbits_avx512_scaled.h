/*
 * nbits_avx512_scaled.h — the batch-1 4-bit GEMV of nbits_avx512.c that multiplies the raw
 * codes (as denormal floats) by a pre-scaled X; see nbits_avx512_scaled.c.
 */
#ifndef WAFER_RT_NBITS_AVX512_SCALED_H
#define WAFER_RT_NBITS_AVX512_SCALED_H

#include "nbits.h"

/* y[n] = sum_k x[k] * W[k, n] for n in [n0, n1), one row of X (nb * 32 floats, zero past
 * K), 4-bit codes in groups of 32, 64 or a multiple of 128 columns (whole 128-column chunks:
 * K >= 128), no g_idx. Returns 0 (and writes nothing) when the case is not one it takes:
 * other codes or groups, or X with a value of magnitude >= 2^40, Inf or NaN, or all below
 * 2^-32 in magnitude (the scaled products would not stay exact), or a calling thread with
 * MXCSR's denormals-are-zero bit set (the codes would read as 0), or no memory; the caller
 * then takes another path. zbuf: NG floats of scratch. Compiled for AVX-512: call it only
 * where rt_nbits_impl_avx512.supported(). */
int rt_nbits_avx512_gemv1_scaled(const RtNbitsWeight *w, const float *x, float *y, int64_t n0, int64_t n1,
                                 float *zbuf);

#endif
