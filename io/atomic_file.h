/*
 * atomic_file.h — write a whole file so that readers see either the old file or the complete
 * new one, never a torn mix: the one writer behind .npy, .wafer, reports and CLI outputs.
 */
#ifndef WAFER_ATOMIC_FILE_H
#define WAFER_ATOMIC_FILE_H

#include <stddef.h>

#include "../runtime/rt_core.h"

/* Writes data[len] to path atomically: a temporary file beside the target (mkstemp), all the
 * bytes, mode 0666 & ~umask (what open(2) would give), fsync, rename over the target, fsync
 * of the folder. On failure the temporary file is unlinked, an existing file is untouched,
 * and err says "PATH: cannot write (STEP failed): REASON". */
int io_file_write_atomic(const char *path, const void *data, size_t len, RtError *err);

/* Streaming form for content too large to assemble in memory first: fill(ctx, fd) writes
 * the bytes to fd (e.g. with io_fd_write_all) and returns 0, or -1 with errno set. */
typedef int (*IoFileFill)(void *ctx, int fd);
int io_file_write_atomic_with(const char *path, IoFileFill fill, void *ctx, RtError *err);

/* write(2) until all len bytes are written, retrying on EINTR; 0, or -1 with errno set
 * (EIO when the file system takes no more bytes without saying why). */
int io_fd_write_all(int fd, const void *data, size_t len);

#endif
