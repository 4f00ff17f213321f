/*
 * onnx_external.c — tensors whose bytes live in a separate file (data_location EXTERNAL).
 *
 * The tensor's external_data entries say where: `location` (a path relative to the model's
 * folder), `offset` and `length` (bytes, both optional). A model file is untrusted input,
 * so before reading anything:
 *   - the file is opened by onnx_safe_open (onnx_safe_open.c): relative, no '..', no
 *     symbolic link on the way, canonical path inside the folder, a regular file with one
 *     link, openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) where the kernel has it, and the
 *     opened descriptor re-checked against what was checked;
 *   - offset and length must be plain decimal numbers, and offset + length must lie inside
 *     the opened file (checked without overflow) and equal the tensor's byte size;
 *   - a model loaded from memory without a folder (base_dir NULL) may not use external data.
 */
#include "onnx_internal.h"
#include "onnx_safe_open.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* Parses a non-negative decimal number; -1 when it is not one or overflows. */
static int64_t external_parse_u63(const char *s) {
    if (!s || !*s) return -1;
    int64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        int d = *s - '0';
        if (v > (INT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    return v;
}

typedef struct {
    const char *location;    /* borrowed from the proto */
    int64_t offset;          /* bytes; 0 when absent */
    int64_t length;          /* bytes; -1 when absent */
} ExternalRef;

static int external_ref_parse(OnnxCtx *ctx, const Onnx__TensorProto *tp, const char *what,
                              ExternalRef *ref) {
    ref->location = NULL;
    ref->offset = 0;
    ref->length = -1;
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const char *k = tp->external_data[i]->key ? tp->external_data[i]->key : "";
        const char *v = tp->external_data[i]->value ? tp->external_data[i]->value : "";
        if (strcmp(k, "location") == 0) {
            ref->location = v;
        } else if (strcmp(k, "offset") == 0 || strcmp(k, "length") == 0) {
            int64_t x = external_parse_u63(v);
            if (x < 0)
                return onnx_fail(ctx, "%s: external data %s '%s' is not a non-negative number", what, k, v);
            *(k[0] == 'o' ? &ref->offset : &ref->length) = x;
        }
    }
    if (!ref->location || !ref->location[0])
        return onnx_fail(ctx, "%s: external data has no location", what);
    return RT_OK;
}

/* Reads exactly n bytes at offset (pread: the descriptor's position is not used). */
static int external_pread(int fd, void *dst, size_t n, int64_t offset) {
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, (char *)dst + done, n - done, (off_t)(offset + (int64_t)done));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        done += (size_t)r;
    }
    return 0;
}

int onnx_external_read(OnnxCtx *ctx, const Onnx__TensorProto *tp, const char *what,
                       const OnnxAlloc *a, size_t bytes, void **dst) {
    if (!ctx->base_dir)
        return onnx_fail(ctx, "%s: uses external data, which is refused for a model loaded from "
                         "memory without a folder", what);
    ExternalRef ref;
    ONNX_TRY(external_ref_parse(ctx, tp, what, &ref));
    char why[512];
    const char *dir = ctx->base_dir[0] ? ctx->base_dir : ".";
    int fd = onnx_safe_open(dir, ref.location, ONNX_OPEN_AUTO, NULL, why, sizeof why);
    if (fd < 0)
        return onnx_fail(ctx, "%s: external data location '%s' is refused: %s", what, ref.location, why);
    struct stat st;
    int r = RT_OK;
    int64_t length = ref.length >= 0 ? ref.length : (int64_t)bytes;
    /* offset + length <= size, written so that nothing can overflow */
    if (fstat(fd, &st) != 0 || st.st_size < 0)
        r = onnx_fail(ctx, "%s: cannot read external data file '%s'", what, ref.location);
    else if (ref.offset > (int64_t)st.st_size || length > (int64_t)st.st_size - ref.offset)
        r = onnx_fail(ctx, "%s: external data offset %lld + length %lld is past the end of '%s' "
                      "(%lld bytes)", what, (long long)ref.offset, (long long)length, ref.location,
                      (long long)st.st_size);
    else if ((uint64_t)length != (uint64_t)bytes)
        r = onnx_fail(ctx, "%s: external data length %lld does not match the tensor's %zu bytes",
                      what, (long long)length, bytes);
    else if (!(*dst = a->alloc(a->user, bytes ? bytes : 1)))
        r = onnx_fail(ctx, "%s: out of memory (%zu bytes)", what, bytes);
    else if (external_pread(fd, *dst, bytes, ref.offset) != 0)
        r = onnx_fail(ctx, "%s: read error in external data file '%s'", what, ref.location);
    close(fd);
    return r;
}
