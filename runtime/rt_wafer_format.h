/*
 * rt_wafer_format.h — what the .wafer writer (format/wafer_write.c, which documents the
 * byte-level layout at its top) and the runtime's reader (runtime/rt_model.c) share: the
 * format version, the layout constants, little-endian field encoding that does not depend
 * on the host, and the CRC-32C checksum (runtime/rt_crc32c.c). C99, runtime/ only.
 */
#ifndef WAFER_RT_WAFER_FORMAT_H
#define WAFER_RT_WAFER_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define WF_VERSION 2             /* the one format version this code writes and reads */
#define WF_MAGIC "WAFERFMT"      /* 8 bytes, no NUL in the file */
#define WF_HEADER_BYTES 32       /* magic .. reserved, before the section table */
#define WF_SECTION_BYTES 24      /* one section table entry */
#define WF_ALIGN 64              /* sections and constant data blobs start at multiples of this */
#define WF_CHECKSUM_BYTES 8      /* the file's last 8 bytes: u32 CRC-32C, u32 zero */
#define WF_STR_NONE 0xFFFFFFFFu  /* string reference meaning "no string" (a NULL pointer) */

/* Section kinds, in the order they are written (each exactly once). */
enum {
    WF_SEC_STRINGS = 1,
    WF_SEC_VALUES = 2,
    WF_SEC_NODES = 3,
    WF_SEC_GRAPH = 4,
    WF_SEC_DATA = 5,
    WF_SEC_META = 6,
    WF_SEC_PLAN = 7,             /* version 2 */
    WF_SEC_COUNT = 7
};

/* The metadata keys the writer stores (a reader keeps any other key too). */
#define WF_META_SOURCE_HASH "source_hash"
#define WF_META_WAFER_VERSION "wafer_version"
#define WF_META_OPTIONS "options"

/* ---- little-endian fields, byte by byte (identical files on any host) ---- */
static inline void wf_put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void wf_put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t wf_get_u32(const uint8_t *p) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
    return v;
}
static inline uint64_t wf_get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* 1 on little-endian hosts, where tensor bytes are already in file order. */
static inline int wf_host_is_le(void) {
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

/* Reverses the bytes of each elem-byte element of buf[n_bytes] (big-endian hosts). */
static inline void wf_swap_elems(uint8_t *buf, size_t n_bytes, size_t elem) {
    if (elem < 2) return;
    for (size_t o = 0; o + elem <= n_bytes; o += elem)
        for (size_t i = 0; i < elem / 2; i++) {
            uint8_t t = buf[o + i];
            buf[o + i] = buf[o + elem - 1 - i];
            buf[o + elem - 1 - i] = t;
        }
}

/* CRC-32C (Castagnoli) of data[n]; the file checksum covers bytes [0, size - 8). allow_hw 0
 * forces the portable tables (tests compare both paths). */
uint32_t rt_crc32c(const void *data, size_t n, int allow_hw);

#endif
