/*
 * onnx_safe_open.h — opening a file named by an untrusted model (external data) so that it
 * cannot be anything but a regular file inside the model's folder (onnx_safe_open.c).
 */
#ifndef WAFER_ONNX_SAFE_OPEN_H
#define WAFER_ONNX_SAFE_OPEN_H

#include <stddef.h>

typedef enum {
    ONNX_OPEN_AUTO = 0,      /* openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) when the kernel
                                has it, else the fallback */
    ONNX_OPEN_FALLBACK = 1   /* always the fallback: openat one component at a time with
                                O_NOFOLLOW (tests use it to cover kernels without openat2) */
} OnnxOpenMode;

/* Opens dir/rel read-only. rel must be relative with no '..' component; no component may be
 * a symbolic link; its canonical path must lie inside dir's; the file must be a regular file
 * with one link (a hard link could make a file from anywhere appear inside). All of this is
 * checked without opening anything else than dir and its sub-folders, and re-checked on the
 * opened descriptor (the same inode as checked: no swap between check and open).
 * Returns an open fd, or -1 with why set ("is a symbolic link", ...). *how (may be NULL)
 * receives "openat2" or "openat" (which way it opened). */
int onnx_safe_open(const char *dir, const char *rel, OnnxOpenMode mode, const char **how,
                   char *why, size_t why_len);

#endif
