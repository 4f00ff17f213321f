/*
 * transpose16.h — a 16x16 float transpose in AVX-512 registers, the step every channel-lanes
 * kernel takes between "16 values of one row" and "one value of 16 rows" (depthwise and
 * Winograd convs, attention's K^T, low-bit GEMV's scales, the Transpose op).
 *
 * r[i] holds row i (16 floats) before; r[j] holds column j after. Two rounds of in-lane
 * unpacks/shuffles, then two of 128-bit lane shuffles: 64 shuffles per 256 floats, no memory.
 * Needs only AVX-512F, so it inlines into any kernel compiled for a superset.
 */
#ifndef WAFER_RT_X86_TRANSPOSE16_H
#define WAFER_RT_X86_TRANSPOSE16_H

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

__attribute__((target("avx512f"))) static inline __attribute__((always_inline)) void rt_tr16_ps(__m512 r[16]) {
    __m512 t[16], u[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) { /* u[4i + j], 128-bit lane k: rows 4i..4i+3 of column 4k + j */
        u[4 * i + 0] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0x44);
        u[4 * i + 1] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0xEE);
        u[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        u[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (int j = 0; j < 4; j++) { /* column 4k + j: lane k of u[j], u[4 + j], u[8 + j], u[12 + j] */
        __m512 v0 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x88), v1 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xDD);
        __m512 v2 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x88), v3 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xDD);
        r[j] = _mm512_shuffle_f32x4(v0, v2, 0x88);
        r[8 + j] = _mm512_shuffle_f32x4(v0, v2, 0xDD);
        r[4 + j] = _mm512_shuffle_f32x4(v1, v3, 0x88);
        r[12 + j] = _mm512_shuffle_f32x4(v1, v3, 0xDD);
    }
}
#endif

#endif
