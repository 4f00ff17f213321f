/*
 * test_half_convert.c — the bulk float16 / bfloat16 conversions (runtime/rt_half.c: F16C
 * blocks of eight, NaN blocks redone by the scalar code) give the scalar functions' bits
 * (rt_core.c) for every input: all 65536 halves widened; 16.8 million floats spread over
 * every exponent, the exact ties and their neighbours for every half, and NaNs of every
 * payload narrowed; array lengths that leave every tail. The scalar functions themselves
 * are pinned to IEEE 754's binary16 by values worked by hand.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/rt_core.h"

static uint32_t f2u(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static float u2f(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* binary16 by hand: 1 = 0x3c00 (exponent 15, bias 15); the largest finite 65504 = 0x7bff
 * ((2 - 2^-10) * 2^15); the smallest subnormal 2^-24 = 0x0001; 1 + 2^-11 lies halfway
 * between 1 and 1 + 2^-10 and rounds to the even 0x3c00, 1 + 3 * 2^-11 to the even 0x3c02;
 * 65520 (halfway to 2^16) rounds to infinity; 2^-25 (half the smallest subnormal) to 0,
 * just above it to 0x0001. */
Test(half_convert, scalar_matches_binary16_worked_by_hand) {
    cr_assert_eq(rt_f32_to_f16(1.0f), 0x3c00);
    cr_assert_eq(rt_f32_to_f16(65504.0f), 0x7bff);
    cr_assert_eq(rt_f32_to_f16(0x1p-24f), 0x0001);
    cr_assert_eq(rt_f32_to_f16(1.0f + 0x1p-11f), 0x3c00);
    cr_assert_eq(rt_f32_to_f16(1.0f + 3 * 0x1p-11f), 0x3c02);
    cr_assert_eq(rt_f32_to_f16(65520.0f), 0x7c00);
    cr_assert_eq(rt_f32_to_f16(-0x1p-25f), 0x8000);
    cr_assert_eq(rt_f32_to_f16(u2f(f2u(0x1p-25f) + 1)), 0x0001);
    cr_assert_eq(f2u(rt_f16_to_f32(0x0001)), f2u(0x1p-24f));
    cr_assert_eq(f2u(rt_f16_to_f32(0xfc00)), 0xff800000u);
    cr_assert_eq(f2u(rt_f16_to_f32(0x03ff)), f2u(0x3ffp-24f)); /* the largest subnormal */
    /* bfloat16 is float32's top half: 1 + 2^-8 is halfway and rounds to even 0x3f80 */
    cr_assert_eq(rt_f32_to_bf16(1.0f + 0x1p-8f), 0x3f80);
    cr_assert_eq(rt_f32_to_bf16(1.0f + 3 * 0x1p-8f), 0x3f82);
}

Test(half_convert, every_half_widens_to_the_scalar_bits) {
    enum { N = 65536 };
    uint16_t *h = malloc(N * 2);
    float *f = malloc(N * 4), *g = malloc(N * 4);
    for (int i = 0; i < N; i++) h[i] = (uint16_t)i;
    rt_f16_to_f32_n(h, f, N);
    rt_bf16_to_f32_n(h, g, N);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(f2u(f[i]), f2u(rt_f16_to_f32(h[i])), "f16 %04x: %08x, scalar %08x", i, f2u(f[i]),
                     f2u(rt_f16_to_f32(h[i])));
        cr_assert_eq(f2u(g[i]), f2u(rt_bf16_to_f32(h[i])), "bf16 %04x", i);
    }
    free(h), free(f), free(g);
}

/* Narrows x[0..n) both ways and compares every element's bits. */
static void check_narrow(const float *x, int64_t n) {
    uint16_t *a = malloc((size_t)n * 2 + 2), *b = malloc((size_t)n * 2 + 2);
    rt_f32_to_f16_n(x, a, n);
    rt_f32_to_bf16_n(x, b, n);
    for (int64_t i = 0; i < n; i++) {
        cr_assert_eq(a[i], rt_f32_to_f16(x[i]), "f16 of %08x: %04x, scalar %04x", f2u(x[i]), a[i],
                     rt_f32_to_f16(x[i]));
        cr_assert_eq(b[i], rt_f32_to_bf16(x[i]), "bf16 of %08x: %04x, scalar %04x", f2u(x[i]), b[i],
                     rt_f32_to_bf16(x[i]));
    }
    free(a), free(b);
}

/* Every 256th float bit pattern (16.8 million: every exponent, both signs, NaN payloads,
 * infinities, float32 subnormals), offset so the low mantissa bits vary too. */
Test(half_convert, floats_over_every_exponent_narrow_to_the_scalar_bits) {
    enum { CHUNK = 1 << 20 };
    float *x = malloc(CHUNK * 4);
    for (uint64_t base = 0; base < (1ull << 32); base += (uint64_t)CHUNK * 256) {
        for (uint32_t i = 0; i < CHUNK; i++) x[i] = u2f((uint32_t)(base + (uint64_t)i * 256 + (i * 37u & 255u)));
        check_narrow(x, CHUNK);
    }
    free(x);
}

/* For every finite half h: the float halfway to the next half (a tie) and its two float
 * neighbours, where rounding to nearest even decides; and h itself. */
Test(half_convert, ties_and_neighbours_of_every_half_narrow_to_the_scalar_bits) {
    float *x = malloc(65536 * 4 * sizeof(float));
    int64_t n = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        if ((h & 0x7c00) == 0x7c00) continue;
        float lo = rt_f16_to_f32((uint16_t)h);
        float hi = (h & 0x7fff) == 0x7bff ? (h & 0x8000 ? -65536.0f : 65536.0f) : rt_f16_to_f32((uint16_t)(h + 1));
        float mid = (lo + hi) / 2; /* exact: halves have 11 significant bits */
        x[n++] = lo;
        x[n++] = mid;
        x[n++] = u2f(f2u(mid) + 1);
        x[n++] = f2u(mid) & 0x7fffffff ? u2f(f2u(mid) - 1) : mid;
    }
    check_narrow(x, n);
    free(x);
}

/* NaNs of both signs and many payloads (quiet and signalling) mixed with numbers, and every
 * length from 0 to 40 at every start offset mod 8, so each block and tail path runs. */
Test(half_convert, nans_and_every_tail_length_match_the_scalar_bits) {
    float x[48];
    uint16_t hx[48];
    for (int i = 0; i < 48; i++) {
        x[i] = i % 5 == 3 ? u2f((i & 1 ? 0xff800000u : 0x7f800000u) | ((uint32_t)(i * 0x2b1f3 + 1) % 0x7fffffu + 1))
                          : (float)(i - 20) * 0.37f;
        hx[i] = i % 7 == 2 ? (uint16_t)(0x7c00 | (i * 97 % 0x3ff + 1) | (i & 1 ? 0x8000 : 0)) : (uint16_t)(i * 1111);
    }
    for (int off = 0; off < 8; off++)
        for (int n = 0; n + off <= 48 && n <= 40; n++) {
            check_narrow(x + off, n);
            float f[48];
            rt_f16_to_f32_n(hx + off, f, n);
            for (int i = 0; i < n; i++) cr_assert_eq(f2u(f[i]), f2u(rt_f16_to_f32(hx[off + i])), "len %d +%d", n, off);
        }
}
