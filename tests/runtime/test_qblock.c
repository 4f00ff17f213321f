/*
 * test_qblock.c — the packed 2/3/4/8-bit code formats (runtime/kernels/qblock.c): block and
 * row sizes, the exact bit position of single codes in each format (so the layout the
 * kernels decode cannot drift), pack -> unpack round trips on odd K with zero padding in the
 * last block, and the refusals (bad bits, short buffer, codes out of range) that leave the
 * output untouched.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/kernels/qblock.h"

static const int all_bits[] = {2, 3, 4, 8};
static const int64_t odd_k[] = {1, 3, 7, 17, 31, 32, 33, 64, 127, 129};

static uint32_t lcg(uint32_t *s) {
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

Test(qblock, sizes) {
    cr_expect_eq(sizeof(RtQBlock2), 8);
    cr_expect_eq(sizeof(RtQBlock3), 12);
    cr_expect_eq(sizeof(RtQBlock4), 16);
    cr_expect_eq(sizeof(RtQBlock8), 32);
    cr_expect_eq(RT_QBLOCK_BYTES(2), sizeof(RtQBlock2));
    cr_expect_eq(RT_QBLOCK_BYTES(3), sizeof(RtQBlock3));
    cr_expect_eq(RT_QBLOCK_BYTES(4), sizeof(RtQBlock4));
    cr_expect_eq(RT_QBLOCK_BYTES(8), sizeof(RtQBlock8));
    cr_expect_eq(rt_qblock_row_blocks(0), 0);
    cr_expect_eq(rt_qblock_row_blocks(1), 1);
    cr_expect_eq(rt_qblock_row_blocks(32), 1);
    cr_expect_eq(rt_qblock_row_blocks(33), 2);
    cr_expect_eq(rt_qblock_row_bytes(4, 33), 32);
    cr_expect_eq(rt_qblock_row_bytes(3, 4096), 128 * 12);
    cr_expect_eq(rt_qblock_packed_size(4, 4096, 4096), (size_t)4096 * 4096 / 2);
    cr_expect_eq(rt_qblock_packed_size(2, 3, 33), 3 * 16);
    cr_expect_eq(rt_qblock_packed_size(8, 0, 33), 0);
    cr_expect_eq(rt_qblock_packed_size(5, 3, 33), 0, "5 bits is not a format");
    cr_expect_eq(rt_qblock_packed_size(4, -1, 33), 0);
    cr_expect_eq(rt_qblock_packed_size(8, INT64_MAX / 2, INT64_MAX / 2), SIZE_MAX, "overflow saturates");
    for (int b = 0; b <= 9; b++) cr_expect_eq(rt_qblock_bits_ok(b), b == 2 || b == 3 || b == 4 || b == 8, "bits %d", b);
}

/* One code set in an otherwise zero block lands on exactly the documented bits. */
typedef struct {
    int bits, j, code;
    int byte[2];       /* bytes that must be non-zero (-1 = none) */
    uint8_t value[2];  /* their values */
} OneCode;

static const OneCode one_codes[] = {
    /* 2-bit: code j in LE word j % 2 at bit 2 * (j / 2) */
    {2, 0, 1, {0, -1}, {0x01, 0}},
    {2, 1, 2, {4, -1}, {0x02, 0}},
    {2, 2, 3, {0, -1}, {0x0c, 0}},
    {2, 31, 3, {7, -1}, {0xc0, 0}},
    {2, 14, 1, {1, -1}, {0x40, 0}},
    /* 3-bit: low two bits as 2-bit, bit 2 of code j = bit j of the LE word at byte 8 */
    {3, 5, 7, {4, 8}, {0x30, 0x20}},
    {3, 30, 4, {11, -1}, {0x40, 0}},
    {3, 0, 6, {0, 8}, {0x02, 0x01}},
    /* 4-bit: code j in LE word j % 4 at bit 4 * (j / 4) */
    {4, 1, 15, {4, -1}, {0x0f, 0}},
    {4, 4, 3, {0, -1}, {0x30, 0}},
    {4, 31, 9, {15, -1}, {0x90, 0}},
    {4, 10, 5, {9, -1}, {0x05, 0}},
    /* 8-bit: byte j */
    {8, 17, 200, {17, -1}, {200, 0}},
};

Test(qblock, layout_of_single_codes) {
    for (size_t i = 0; i < sizeof one_codes / sizeof one_codes[0]; i++) {
        const OneCode *t = &one_codes[i];
        uint8_t codes[32] = {0}, out[40], want[32] = {0};
        codes[t->j] = (uint8_t)t->code;
        memset(out, 0xee, sizeof out);
        cr_assert_eq(rt_qblock_pack(t->bits, 1, 32, codes, out, sizeof out), 0);
        for (int k = 0; k < 2; k++)
            if (t->byte[k] >= 0) want[t->byte[k]] = t->value[k];
        for (size_t b = 0; b < RT_QBLOCK_BYTES(t->bits); b++)
            cr_expect_eq(out[b], want[b], "%d-bit code %d = %d: byte %zu is 0x%02x, want 0x%02x", t->bits, t->j,
                         t->code, b, out[b], want[b]);
        cr_expect_eq(out[RT_QBLOCK_BYTES(t->bits)], 0xee, "wrote past the block");
        cr_expect_eq(rt_qblock_code(t->bits, out, t->j), (unsigned)t->code);
    }
}

Test(qblock, round_trip_odd_k) {
    uint32_t seed = 7;
    for (size_t bi = 0; bi < 4; bi++) {
        const int bits = all_bits[bi];
        for (size_t ki = 0; ki < sizeof odd_k / sizeof odd_k[0]; ki++) {
            const int64_t N = 3, K = odd_k[ki];
            uint8_t *codes = malloc((size_t)(N * K)), *back = malloc((size_t)K);
            size_t size = rt_qblock_packed_size(bits, N, K);
            uint8_t *packed = malloc(size + 1);
            for (int64_t i = 0; i < N * K; i++) codes[i] = (uint8_t)(lcg(&seed) & ((1u << bits) - 1));
            /* the extremes in every row */
            for (int64_t n = 0; n < N; n++) {
                codes[n * K] = (uint8_t)((1u << bits) - 1);
                codes[n * K + K - 1] = 0;
            }
            packed[size] = 0x5a;
            cr_assert_eq(rt_qblock_pack(bits, N, K, codes, packed, size), 0);
            cr_expect_eq(packed[size], 0x5a, "wrote past the packed size");
            const size_t row = rt_qblock_row_bytes(bits, K);
            for (int64_t n = 0; n < N; n++) {
                rt_qblock_unpack_row(bits, K, packed + n * row, back);
                cr_expect_eq(memcmp(back, codes + n * K, (size_t)K), 0, "%d-bit K=%lld row %lld differs", bits,
                             (long long)K, (long long)n);
                /* padding past K in the last block is code 0 */
                const uint8_t *last = packed + n * row + row - RT_QBLOCK_BYTES(bits);
                for (int j = (int)(K % 32); K % 32 && j < 32; j++)
                    cr_expect_eq(rt_qblock_code(bits, last, j), 0u, "%d-bit K=%lld pad column %d", bits, (long long)K, j);
            }
            free(codes);
            free(back);
            free(packed);
        }
    }
}

Test(qblock, pack_row_matches_pack) {
    uint8_t codes[2 * 45], a[2 * 2 * 12], b[2 * 2 * 12];
    uint32_t seed = 3;
    for (int i = 0; i < 90; i++) codes[i] = (uint8_t)(lcg(&seed) & 7);
    cr_assert_eq(rt_qblock_pack(3, 2, 45, codes, a, sizeof a), 0);
    rt_qblock_pack_row(3, 45, codes, b);
    rt_qblock_pack_row(3, 45, codes + 45, b + 24);
    cr_expect_eq(memcmp(a, b, sizeof a), 0);
}

Test(qblock, refusals_leave_output_untouched) {
    uint8_t codes[40], out[64], keep[64];
    memset(codes, 1, sizeof codes);
    memset(out, 0xab, sizeof out);
    memcpy(keep, out, sizeof out);
    codes[39] = 16; /* not a 4-bit code */
    cr_expect_eq(rt_qblock_pack(4, 1, 40, codes, out, sizeof out), -1, "code 16 in 4 bits");
    codes[39] = 4;
    cr_expect_eq(rt_qblock_pack(2, 1, 40, codes, out, sizeof out), -1, "code 4 in 2 bits");
    cr_expect_eq(rt_qblock_pack(3, 1, 40, codes, out, sizeof out), 0, "code 4 fits 3 bits");
    memcpy(out, keep, sizeof out);
    cr_expect_eq(rt_qblock_pack(4, 1, 40, codes, out, 31), -1, "32 bytes needed");
    cr_expect_eq(rt_qblock_pack(5, 1, 40, codes, out, sizeof out), -1, "5 bits");
    cr_expect_eq(rt_qblock_pack(4, -1, 40, codes, out, sizeof out), -1, "negative N");
    cr_expect_eq(rt_qblock_pack(4, 1, 40, NULL, out, sizeof out), -1, "no codes");
    cr_expect_eq(memcmp(out, keep, sizeof out), 0, "a refused pack wrote into out");
    cr_expect_eq(rt_qblock_pack(4, 0, 40, NULL, NULL, 0), 0, "nothing to pack");
}
