/*
 * rt_half.c — bulk float16 / bfloat16 <-> float32 conversion of arrays, bit-identical to the
 * scalar rt_f16_to_f32, rt_f32_to_f16, rt_bf16_to_f32 and rt_f32_to_bf16 (rt_core.c) for
 * every input: float16 kernels widen their inputs and round their outputs through these,
 * which were per-element calls (~4 ns each: most of a float16 MobileNet's run).
 *
 * On x86 with F16C (and AVX2 for the lane tests) eight elements convert per instruction:
 * vcvtph2ps is exact, vcvtps2ph with immediate 0 rounds to nearest even, both handling
 * infinities and subnormals as the scalar code does (MXCSR's DAZ/FTZ are not set by wafer:
 * no -ffast-math). They differ only on NaNs: the instructions quiet a signalling NaN and
 * keep the payload's top bits, where the scalar code keeps the payload as is (f16 -> f32)
 * or makes every NaN the quiet 0x7e00 with its sign (f32 -> f16); so a block of eight that
 * holds a NaN is redone by the scalar code. tests/runtime/test_half_convert.c checks all
 * 65536 halves and millions of floats against the scalar functions. bfloat16 is a shift
 * (widening) and the scalar rounding's integer arithmetic (narrowing), which GCC vectorizes.
 */
#include "rt_core.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define RT_HALF_X86 1
#define HALF_TGT __attribute__((target("avx2,f16c")))

static int half_cpu_ok(void) {
    static int ok = -1; /* benign race: every thread computes the same answer */
    if (ok < 0) ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c");
    return ok;
}

/* Eight halves -> floats; a NaN among them (|h| > 0x7c00) makes the block scalar. */
HALF_TGT static int64_t f16_to_f32_x86(const uint16_t *h, float *f, int64_t n) {
    const __m128i abs_mask = _mm_set1_epi16(0x7fff), inf = _mm_set1_epi16(0x7c00);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i v = _mm_loadu_si128((const __m128i *)(h + i));
        if (_mm_movemask_epi8(_mm_cmpgt_epi16(_mm_and_si128(v, abs_mask), inf))) {
            for (int k = 0; k < 8; k++) f[i + k] = rt_f16_to_f32(h[i + k]);
            continue;
        }
        _mm256_storeu_ps(f + i, _mm256_cvtph_ps(v));
    }
    return i;
}

/* Eight floats -> halves, rounding to nearest even; a NaN among them makes the block scalar. */
HALF_TGT static int64_t f32_to_f16_x86(const float *f, uint16_t *h, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(f + i);
        if (_mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q))) {
            for (int k = 0; k < 8; k++) h[i + k] = rt_f32_to_f16(f[i + k]);
            continue;
        }
        _mm_storeu_si128((__m128i *)(h + i), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
    }
    return i;
}
#endif

void rt_f16_to_f32_n(const uint16_t *h, float *f, int64_t n) {
    int64_t i = 0;
#ifdef RT_HALF_X86
    if (half_cpu_ok()) i = f16_to_f32_x86(h, f, n);
#endif
    for (; i < n; i++) f[i] = rt_f16_to_f32(h[i]);
}

void rt_f32_to_f16_n(const float *f, uint16_t *h, int64_t n) {
    int64_t i = 0;
#ifdef RT_HALF_X86
    if (half_cpu_ok()) i = f32_to_f16_x86(f, h, n);
#endif
    for (; i < n; i++) h[i] = rt_f32_to_f16(f[i]);
}

void rt_bf16_to_f32_n(const uint16_t *h, float *f, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        uint32_t bits = (uint32_t)h[i] << 16;
        memcpy(f + i, &bits, 4);
    }
}

/* rt_f32_to_bf16's steps, written branch-free so the loop vectorizes. */
void rt_f32_to_bf16_n(const float *f, uint16_t *h, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        uint32_t x;
        memcpy(&x, f + i, 4);
        uint32_t nan = (x & 0x7fffffffu) > 0x7f800000u;
        uint32_t rounded = (x + 0x7fffu + ((x >> 16) & 1u)) >> 16;
        h[i] = (uint16_t)(nan ? (x >> 16) | 0x40u : rounded);
    }
}
