/*
 * wafer_file.c — the small file-level pieces of the .wafer format: FNV-1a 64 hashing, the
 * magic test, and a file's hex digest (the source_hash metadata). The atomic write of a
 * whole image is io_file_write_atomic (io/atomic_file.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "wafer_internal.h"

uint64_t wf_fnv1a64(uint64_t h, const void *data, size_t n) {
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= WF_FNV_PRIME;
    }
    return h;
}

int wafer_file_is(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char magic[8];
    int is = fread(magic, 1, sizeof magic, f) == sizeof magic && memcmp(magic, WF_MAGIC, 8) == 0;
    fclose(f);
    return is;
}

int wafer_file_hash(const char *path, char out[17], RtError *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return rt_error_set(err, "%s: cannot open: %s", path, strerror(errno));
    uint64_t h = WF_FNV_OFFSET;
    unsigned char buf[1 << 16];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) h = wf_fnv1a64(h, buf, got);
    int bad = ferror(f);
    fclose(f);
    if (bad) return rt_error_set(err, "%s: read error", path);
    snprintf(out, 17, "%016llx", (unsigned long long)h);
    return RT_OK;
}
