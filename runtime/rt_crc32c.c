/*
 * rt_crc32c.c — CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the .wafer checksum
 * (in runtime/ because both the runtime's loader and the compiler's writer need it).
 *
 * Why CRC-32C rather than FNV-1a: it detects every burst error up to 32 bits and every
 * 1-3 bit error in files of this size, and it is fast enough that checking a 14 MB model
 * costs ~1-2 ms (FNV-1a's byte-serial multiply chain costs ~15 ms, most of a load).
 * Two implementations with identical results: the SSE4.2 crc32 instruction on x86-64 CPUs
 * that have it (checked at run time), else slice-by-8 tables (8 x 256 entries built once),
 * which consume 8 bytes per step. Convention: initial value ~0, final complement, so
 * crc32c("123456789") = 0xE3069283. The tables are the only process-wide data: built once
 * (pthread_once), read-only after.
 */
#include <pthread.h>
#include <string.h>

#include "rt_wafer_format.h"

#define CRC32C_POLY 0x82F63B78u

static uint32_t crc_table[8][256];   /* [k][b]: CRC of byte b followed by k zero bytes */
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_table_build(void) {
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int i = 0; i < 8; i++) c = (c >> 1) ^ (CRC32C_POLY & (0u - (c & 1)));
        crc_table[0][b] = c;
    }
    for (uint32_t b = 0; b < 256; b++)
        for (int k = 1; k < 8; k++) crc_table[k][b] = (crc_table[k - 1][b] >> 8) ^ crc_table[0][crc_table[k - 1][b] & 0xFF];
}

static uint32_t crc_soft(uint32_t c, const uint8_t *p, size_t n) {
    pthread_once(&crc_once, crc_table_build);
    while (n >= 8) {
        uint32_t lo = c ^ wf_get_u32(p), hi = wf_get_u32(p + 4);
        c = crc_table[7][lo & 0xFF] ^ crc_table[6][(lo >> 8) & 0xFF] ^ crc_table[5][(lo >> 16) & 0xFF] ^
            crc_table[4][lo >> 24] ^ crc_table[3][hi & 0xFF] ^ crc_table[2][(hi >> 8) & 0xFF] ^
            crc_table[1][(hi >> 16) & 0xFF] ^ crc_table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--) c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xFF];
    return c;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <nmmintrin.h>

__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t c, const uint8_t *p, size_t n) {
    uint64_t c64 = c;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8); /* x86 is little-endian: bytes in file order */
        c64 = _mm_crc32_u64(c64, w);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c64;
    while (n--) c32 = _mm_crc32_u8(c32, *p++);
    return c32;
}

static int crc_hw_ok(void) { return __builtin_cpu_supports("sse4.2"); }
#else
static uint32_t crc_hw(uint32_t c, const uint8_t *p, size_t n) { return crc_soft(c, p, n); }
static int crc_hw_ok(void) { return 0; }
#endif

uint32_t rt_crc32c(const void *data, size_t n, int allow_hw) {
    uint32_t c = 0xFFFFFFFFu;
    c = (allow_hw && crc_hw_ok()) ? crc_hw(c, data, n) : crc_soft(c, data, n);
    return ~c;
}
