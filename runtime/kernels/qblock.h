/*
 * qblock.h — packed storage of 2, 3, 4 and 8-bit weight codes (LinearNBits' Wp input).
 *
 * A weight matrix W[K, N] quantized per output row n and group g (GPTQ, RTN) is stored as
 * codes q[n, k] in [0, 2^bits), one f32 scale and one u8 zero point per (n, g):
 *     W[k, n] = (q[n, k] - zeros[n, g(k)]) * scales[n, g(k)]
 * Scales and zero points are separate tensors (LinearNBits' inputs 2 and 3); only the codes
 * are packed here. Row n's K codes are cut into blocks of RT_QBLOCK_K = 32 consecutive
 * columns (the last block padded with code 0), blocks of a row are consecutive, rows are
 * consecutive: byte size N * ceil(K / 32) * RT_QBLOCK_BYTES(bits), no header, no alignment.
 * The packing is independent of the group size (any G works; G a multiple of 32 keeps a
 * block inside one group, which the optimized kernels use) and of act-order (codes stay in
 * the original column order; g_idx says the group of each column).
 *
 * Within a 2- or 4-bit block the 32 codes are spread over `bits` little-endian u32 words,
 * code j in word j % bits at bit offset bits * (j / bits): a vector unit broadcasts the
 * block and shifts each lane by its own count to get 8 or 16 codes at once, with no byte
 * shuffles. The 3-bit block is a 2-bit block of the low two bits plus one word of high bits;
 * the 8-bit block is plain bytes. All multi-byte words are little-endian on every host.
 */
#ifndef WAFER_RT_QBLOCK_H
#define WAFER_RT_QBLOCK_H

#include <stddef.h>
#include <stdint.h>

/* _Static_assert where the language has it (C11; the runtime itself builds as C99, where a
 * negative array size stops the build instead). */
#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define RT_STATIC_ASSERT(cond, name) _Static_assert(cond, #name)
#else
#define RT_STATIC_ASSERT(cond, name) typedef char rt_static_assert_##name[(cond) ? 1 : -1]
#endif

#define RT_QBLOCK_K 32 /* codes per block, for every bit width */

/* 2-bit: 32 codes in 8 bytes.
 *   bytes = 32 * 2 / 8 = 8, read as 2 little-endian u32 words w[0], w[1]
 *   q[j] = (w[j % 2] >> (2 * (j / 2))) & 3                 j = 0..31, column = 32 * block + j
 *   W[k, n] = (q - zero[n, g(k)]) * scale[n, g(k)]        (scale, zero: separate inputs) */
typedef struct {
    uint8_t qs[8];   /* 2 LE u32 words, 16 codes each */
} RtQBlock2;
RT_STATIC_ASSERT(sizeof(RtQBlock2) == RT_QBLOCK_K * 2 / 8, qblock2_size);

/* 3-bit: 32 codes in 12 bytes = a 2-bit block of the low bits + one word of the high bits.
 *   bytes = 8 (low two bits, as RtQBlock2) + 4 (bit 2 of each code) = 32 * 3 / 8 = 12
 *   q[j] = ((lo[j % 2] >> (2 * (j / 2))) & 3) | (((hi >> j) & 1) << 2)   lo, hi: LE u32
 *   W[k, n] = (q - zero[n, g(k)]) * scale[n, g(k)]                       */
typedef struct {
    uint8_t lo[8];   /* 2 LE u32 words: bits 0-1 of each code, laid out as RtQBlock2 */
    uint8_t hi[4];   /* 1 LE u32 word: bit j = bit 2 of code j */
} RtQBlock3;
RT_STATIC_ASSERT(sizeof(RtQBlock3) == RT_QBLOCK_K * 3 / 8, qblock3_size);

/* 4-bit: 32 codes in 16 bytes.
 *   bytes = 32 * 4 / 8 = 16, read as 4 little-endian u32 words w[0..3]
 *   q[j] = (w[j % 4] >> (4 * (j / 4))) & 15                j = 0..31
 *   W[k, n] = (q - zero[n, g(k)]) * scale[n, g(k)]        */
typedef struct {
    uint8_t qs[16];  /* 4 LE u32 words, 8 codes each */
} RtQBlock4;
RT_STATIC_ASSERT(sizeof(RtQBlock4) == RT_QBLOCK_K * 4 / 8, qblock4_size);

/* 8-bit: 32 codes in 32 bytes.
 *   bytes = 32 * 8 / 8 = 32
 *   q[j] = qs[j]                                           j = 0..31
 *   W[k, n] = (q - zero[n, g(k)]) * scale[n, g(k)]        */
typedef struct {
    uint8_t qs[32];  /* one code per byte */
} RtQBlock8;
RT_STATIC_ASSERT(sizeof(RtQBlock8) == RT_QBLOCK_K, qblock8_size);

/* Bytes of one block: bits * 4 (8, 12, 16, 32) for bits 2, 3, 4, 8. */
#define RT_QBLOCK_BYTES(bits) ((size_t)(bits) * RT_QBLOCK_K / 8)

/* 1 when bits is 2, 3, 4 or 8. */
int rt_qblock_bits_ok(int bits);
/* Blocks per row: ceil(K / 32). */
int64_t rt_qblock_row_blocks(int64_t K);
/* Packed bytes of one row of K codes; 0 when bits is unsupported or K < 0. */
size_t rt_qblock_row_bytes(int bits, int64_t K);
/* Packed bytes of N rows of K codes: N * rt_qblock_row_bytes(bits, K); 0 when bits is
 * unsupported or N or K is negative, SIZE_MAX when it does not fit in size_t. */
size_t rt_qblock_packed_size(int bits, int64_t N, int64_t K);

/* Packs codes[N, K] (row-major, one code per byte, each < 2^bits) into out. Returns 0, or
 * -1 with out untouched when bits is not 2/3/4/8, N or K is negative, codes or out is NULL
 * with data to pack, out_size < rt_qblock_packed_size(bits, N, K), or some code is >= 2^bits. */
int rt_qblock_pack(int bits, int64_t N, int64_t K, const uint8_t *codes, uint8_t *out, size_t out_size);
/* Packs one row: codes[K] into row[rt_qblock_row_bytes(bits, K)]; codes must be < 2^bits
 * (only the low `bits` bits of each are stored). */
void rt_qblock_pack_row(int bits, int64_t K, const uint8_t *codes, uint8_t *row);
/* Unpacks one packed row (row = packed + n * rt_qblock_row_bytes(bits, K)) into codes[K]. */
void rt_qblock_unpack_row(int bits, int64_t K, const uint8_t *row, uint8_t *codes);

/* Code j (0..31) of the block at p: the formulas above, one code at a time. */
static inline unsigned rt_qblock_code(int bits, const uint8_t *p, int j) {
    const uint8_t *w; /* the LE u32 word holding the code */
    unsigned v;
    switch (bits) {
    case 8:
        return p[j];
    case 3:
        w = p + 4 * (j % 2);
        v = (((unsigned)w[0] | (unsigned)w[1] << 8 | (unsigned)w[2] << 16 | (unsigned)w[3] << 24)
             >> (2 * (j / 2))) & 3u;
        return v | ((p[8 + j / 8] >> (j % 8)) & 1u) << 2;
    default: /* 2 or 4 */
        w = p + 4 * (j % bits);
        v = (unsigned)w[0] | (unsigned)w[1] << 8 | (unsigned)w[2] << 16 | (unsigned)w[3] << 24;
        return (v >> (bits * (j / bits))) & ((1u << bits) - 1);
    }
}

#endif
