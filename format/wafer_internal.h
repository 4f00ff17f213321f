/*
 * wafer_internal.h — what the compiler's .wafer writer shares with the rest of format/ and
 * with the runtime: the layout constants, little-endian field encoding and CRC-32C come from
 * runtime/rt_wafer_format.h (the runtime's reader, runtime/rt_model.c, is the one parser of
 * the format); the byte-level layout itself is documented at the top of wafer_write.c. Adds
 * the FNV-1a 64 hash (source_hash digests, string interning), which only the compiler uses.
 */
#ifndef WAFER_FORMAT_INTERNAL_H
#define WAFER_FORMAT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "../runtime/rt_wafer_format.h"
#include "wafer_file.h"

_Static_assert(WAFER_FILE_VERSION == WF_VERSION, "format/ and runtime/ disagree on the .wafer version");

/* FNV-1a 64: h starts at WF_FNV_OFFSET. */
#define WF_FNV_OFFSET 0xcbf29ce484222325ull
#define WF_FNV_PRIME 0x100000001b3ull
uint64_t wf_fnv1a64(uint64_t h, const void *data, size_t n);

/* CRC-32C of data[n] (runtime/rt_crc32c.c); allow_hw 0 forces the portable tables. */
static inline uint32_t wf_crc32c(const void *data, size_t n, int allow_hw) { return rt_crc32c(data, n, allow_hw); }

#endif
