/*
 * atomic_file.c — atomic whole-file writes (see atomic_file.h).
 *
 * The bytes go to a temporary file created with mkstemp in the target's own folder, so the
 * final rename(2) stays within one file system and replaces the old file in one step. Before
 * the rename the temporary file gets the mode a new file would get from open(path, 0666)
 * (mkstemp makes 0600 files) and is fsync'd, so the name never points at bytes that are not
 * on disk yet; after it the folder is fsync'd so the rename itself survives a crash. Any
 * failure before the rename unlinks the temporary file: a reader sees the old file or the
 * whole new one, and no "PATH.tmp.XXXXXX" is left behind.
 */
#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int io_fd_write_all(int fd, const void *data, size_t len) {
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, (const char *)data + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        if (w == 0) {
            errno = EIO;
            return -1;
        }
        done += (size_t)w;
    }
    return 0;
}

/* Mode a new file would get from open(..., 0666). umask can only be read by setting it. */
static mode_t new_file_mode(void) {
    mode_t mask = umask(0);
    umask(mask);
    return (mode_t)0666 & ~mask;
}

/* fsync of the folder holding path, so the rename is durable. Best effort: by now the new
 * file has replaced the old one, so a failure here cannot be reported as "nothing changed",
 * and some file systems refuse fsync on folders (EINVAL). */
static void folder_sync(const char *path) {
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 1;
    if (slash && n == 0) n = 1; /* "/name": the root folder */
    char *dir = malloc(n + 1);
    if (!dir) return;
    if (slash)
        memcpy(dir, path, n);
    else
        dir[0] = '.';
    dir[n] = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    free(dir);
    if (fd < 0) return;
    (void)fsync(fd);
    close(fd);
}

int io_file_write_atomic_with(const char *path, IoFileFill fill, void *ctx, RtError *err) {
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
    const char *step = "write";
    errno = 0;
    int ok = fill(ctx, fd) == 0;
    if (ok) {
        step = "chmod";
        ok = fchmod(fd, new_file_mode()) == 0;
    }
    if (ok) {
        step = "fsync";
        ok = fsync(fd) == 0;
    }
    int e = errno;
    if (close(fd) != 0 && ok) {
        e = errno;
        step = "close";
        ok = 0;
    }
    if (ok && rename(tmp, path) != 0) {
        e = errno;
        step = "rename";
        ok = 0;
    }
    if (!ok) unlink(tmp);
    free(tmp);
    if (!ok) return rt_error_set(err, "%s: cannot write (%s failed): %s", path, step, strerror(e ? e : EIO));
    folder_sync(path);
    return RT_OK;
}

typedef struct {
    const void *data;
    size_t len;
} Bytes;

static int bytes_fill(void *ctx, int fd) {
    const Bytes *b = ctx;
    return io_fd_write_all(fd, b->data, b->len);
}

int io_file_write_atomic(const char *path, const void *data, size_t len, RtError *err) {
    Bytes b = {data, len};
    return io_file_write_atomic_with(path, bytes_fill, &b, err);
}
