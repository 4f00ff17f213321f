/*
 * fuzz_wafer.c — libFuzzer target for the .wafer reader (format/wafer_read.c). Each input is
 * read twice by wafer_file_read_meta: as it is, and with its checksum made valid (the CRC-32C
 * of bytes [0, size - 8) written into the last 8 bytes, as wafer_write.c does). Random
 * mutations almost never keep the CRC right, so the as-is read tests the header and checksum
 * checks, and the fixed-up read gets every mutation past them into the section, string,
 * value, node and data parsing a real corrupt-but-checksummed file would reach.
 *
 * The reader promises a graph that passed ir_verify; the target verifies it again (a reader
 * that lets a bad graph through aborts here), then frees it. A refusal is fine; a crash, a
 * sanitizer report or a leak is a bug.
 */
#include "fuzz_memfile.h"

#include <string.h>

#include "../../format/wafer_internal.h"

static void read_once(const uint8_t *data, size_t size) {
    const char *path = fuzz_memfile(data, size);
    RtError err;
    memset(&err, 0, sizeof err);
    WaferMeta meta;
    IrGraph *g = wafer_file_read_meta(path, &meta, &err);
    if (!g) return;
    if (ir_verify(g, &err) != RT_OK) {
        fprintf(stderr, "wafer_file_read returned a graph that fails ir_verify: %s\n", err.msg);
        abort();
    }
    ir_graph_free(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    read_once(data, size);
    if (size < WF_CHECKSUM_BYTES) return 0;
    uint8_t *fixed = malloc(size);
    if (!fixed) abort();
    memcpy(fixed, data, size);
    wf_put_u32(fixed + size - 8, wf_crc32c(fixed, size - 8, 1));
    wf_put_u32(fixed + size - 4, 0);
    read_once(fixed, size);
    free(fixed);
    return 0;
}
