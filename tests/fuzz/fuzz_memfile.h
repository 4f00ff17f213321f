/*
 * fuzz_memfile.h — the fuzz targets' in-memory file: the readers under test take a path, so
 * each input is written to one memfd (created once per process, truncated and rewritten per
 * input) and the reader opens it by its /proc/self/fd/N path. No disk traffic, nothing left
 * behind, and every open sees exactly the input's bytes.
 */
#ifndef WAFER_FUZZ_MEMFILE_H
#define WAFER_FUZZ_MEMFILE_H

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Puts data[size] in the memfd; returns its path (static storage). Aborts on a setup error:
 * that is the harness failing, never the code under test. */
static const char *fuzz_memfile(const uint8_t *data, size_t size) {
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("wafer_fuzz", 0);
        if (fd < 0) abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0) abort();
    size_t done = 0;
    while (done < size) {
        ssize_t w = pwrite(fd, data + done, size - done, (off_t)done);
        if (w <= 0) abort();
        done += (size_t)w;
    }
    return path;
}

#endif
