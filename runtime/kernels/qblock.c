/*
 * qblock.c — packing and unpacking of 2/3/4/8-bit code blocks (formats in qblock.h).
 *
 * Packing builds each block's little-endian words from the block's 32 codes (zeros past
 * column K), so the bytes are the same on every host; unpacking reads them back with
 * rt_qblock_code(). Both are plain loops: they run once per layer at quantization time, or
 * in tests and the reference kernel.
 */
#include "qblock.h"

#include <string.h>

int rt_qblock_bits_ok(int bits) {
    return bits == 2 || bits == 3 || bits == 4 || bits == 8;
}

int64_t rt_qblock_row_blocks(int64_t K) {
    return K > 0 ? (K + RT_QBLOCK_K - 1) / RT_QBLOCK_K : 0;
}

size_t rt_qblock_row_bytes(int bits, int64_t K) {
    if (!rt_qblock_bits_ok(bits) || K < 0) return 0;
    return (size_t)rt_qblock_row_blocks(K) * RT_QBLOCK_BYTES(bits);
}

size_t rt_qblock_packed_size(int bits, int64_t N, int64_t K) {
    if (!rt_qblock_bits_ok(bits) || N < 0 || K < 0) return 0;
    size_t row = rt_qblock_row_bytes(bits, K);
    if (row != 0 && (uint64_t)N > (uint64_t)(SIZE_MAX / row)) return SIZE_MAX;
    return (size_t)N * row;
}

static void word_put(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* One block from q[32] (already padded), as the formulas in qblock.h. */
static void block_pack(int bits, const uint8_t *q, uint8_t *p) {
    uint32_t w[4] = {0, 0, 0, 0}, hi = 0;
    switch (bits) {
    case 8:
        memcpy(p, q, RT_QBLOCK_K);
        return;
    case 3:
        for (int j = 0; j < RT_QBLOCK_K; j++) {
            w[j % 2] |= (uint32_t)(q[j] & 3u) << (2 * (j / 2));
            hi |= (uint32_t)((q[j] >> 2) & 1u) << j;
        }
        word_put(p, w[0]);
        word_put(p + 4, w[1]);
        word_put(p + 8, hi);
        return;
    default: /* 2 or 4: `bits` words, 32 / bits codes in each */
        for (int j = 0; j < RT_QBLOCK_K; j++)
            w[j % bits] |= (uint32_t)(q[j] & ((1u << bits) - 1)) << (bits * (j / bits));
        for (int i = 0; i < bits; i++) word_put(p + 4 * i, w[i]);
        return;
    }
}

void rt_qblock_pack_row(int bits, int64_t K, const uint8_t *codes, uint8_t *row) {
    int64_t nb = rt_qblock_row_blocks(K);
    for (int64_t b = 0; b < nb; b++) {
        uint8_t q[RT_QBLOCK_K] = {0}; /* the last block's columns past K stay code 0 */
        int64_t k0 = b * RT_QBLOCK_K, n = K - k0 < RT_QBLOCK_K ? K - k0 : RT_QBLOCK_K;
        memcpy(q, codes + k0, (size_t)n);
        block_pack(bits, q, row + (size_t)b * RT_QBLOCK_BYTES(bits));
    }
}

int rt_qblock_pack(int bits, int64_t N, int64_t K, const uint8_t *codes, uint8_t *out, size_t out_size) {
    size_t need = rt_qblock_packed_size(bits, N, K);
    if (!rt_qblock_bits_ok(bits) || N < 0 || K < 0 || need > out_size) return -1;
    if (need == 0) return 0;
    if (!codes || !out) return -1;
    const int64_t total = N * K;
    for (int64_t i = 0; i < total; i++) /* check all first: never leave half a packing */
        if (codes[i] >> bits) return -1;
    size_t row = rt_qblock_row_bytes(bits, K);
    for (int64_t n = 0; n < N; n++) rt_qblock_pack_row(bits, K, codes + n * K, out + (size_t)n * row);
    return 0;
}

void rt_qblock_unpack_row(int bits, int64_t K, const uint8_t *row, uint8_t *codes) {
    for (int64_t k = 0; k < K; k++)
        codes[k] = (uint8_t)rt_qblock_code(bits, row + (size_t)(k / RT_QBLOCK_K) * RT_QBLOCK_BYTES(bits),
                                           (int)(k % RT_QBLOCK_K));
}
