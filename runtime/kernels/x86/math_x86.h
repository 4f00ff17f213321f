/*
 * math_x86.h — what x86/math_x86.c offers besides its kernel table: the residual Add and the
 * LayerNormalization after it in one pass (run by rt_fuse.c for an Add -> LayerNormalization
 * chain), computing exactly what math_x86.c's Add and LayerNormalization kernels compute
 * one after the other:
 *     z = a + b                                   rows x len, every element (one IEEE add)
 *     y = (z - mean) / sqrt(var + eps) * scale + bias    per row of len (bias may be NULL)
 * Each row's z is written and, while it is in L1, normalized into y; rows are split over the
 * pool's threads as the LayerNormalization kernel splits them (the same bits for any count).
 */
#ifndef WAFER_RT_X86_MATH_H
#define WAFER_RT_X86_MATH_H

#include <stdint.h>

struct RtThreadPool;

/* 1 when this CPU runs rt_add_layer_norm (AVX-512F code built and present). */
int rt_add_layer_norm_supported(void);

/* a, b, z: [rows, len]; y: [rows, len]; scale, bias: [len] (bias NULL = none). z and y may
 * each be a or b exactly (the same bytes) but must not overlap them otherwise: row r reads
 * a and b's row r before it writes z's and y's. */
void rt_add_layer_norm(struct RtThreadPool *pool, const float *a, const float *b, float *z, float *y, int64_t rows,
                       int64_t len, const float *scale, const float *bias, double eps);

#endif
