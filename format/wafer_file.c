/*
 * wafer_file.c — the small file-level pieces of the .wafer format: FNV-1a 64 hashing, the
 * magic test, a file's hex digest (the source_hash metadata), and the atomic write.
 *
 * Atomic write: the bytes go to a temporary file created (mkstemp) in the destination's own
 * folder, so the final rename(2) stays within one file system and replaces the old file in
 * one step; fwrite, fflush and fsync make the bytes durable before the rename. Any failure
 * unlinks the temporary file, so a reader sees either the old file or the whole new one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

int wf_file_write_atomic(const char *path, const void *data, size_t len, RtError *err) {
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp) return rt_error_set(err, "%s: out of memory", path);
    snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return rt_error_set(err, "%s: cannot create a temporary file beside it: %s", path, strerror(e));
    }
    mode_t mask = umask(0); /* mkstemp makes 0600 files; give the usual 0666 & ~umask */
    umask(mask);
    FILE *f = fdopen(fd, "wb");
    int ok = f != NULL, e = 0;
    if (!f) {
        e = errno;
        close(fd);
    }
    if (ok && (fwrite(data, 1, len, f) != len || fflush(f) != 0 || fchmod(fd, (mode_t)0666 & ~mask) != 0 ||
               fsync(fd) != 0)) {
        e = errno;
        ok = 0;
    }
    if (f && fclose(f) != 0 && ok) {
        e = errno;
        ok = 0;
    }
    if (ok && rename(tmp, path) != 0) {
        e = errno;
        ok = 0;
    }
    if (!ok) unlink(tmp);
    free(tmp);
    return ok ? RT_OK : rt_error_set(err, "%s: cannot write: %s", path, strerror(e ? e : EIO));
}
