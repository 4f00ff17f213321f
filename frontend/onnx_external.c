/*
 * onnx_external.c — tensors whose bytes live in a separate file (data_location EXTERNAL).
 *
 * The tensor's external_data entries say where: `location` (a path relative to the model's
 * folder), `offset` and `length` (bytes, both optional). A model file is untrusted input,
 * so before reading anything:
 *   - the location must be relative and must not climb out of the model's folder: absolute
 *     paths, drive letters and any `..` component are refused;
 *   - offset and length must be plain decimal numbers, and offset + length must lie inside
 *     the file (checked without overflow) and equal the tensor's byte size;
 *   - a model loaded from memory without a folder (base_dir NULL) may not use external data.
 */
#include "onnx_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define EXTERNAL_PATH_MAX 4096

/* 1 when `loc` stays inside the model's folder: relative, no `..` component. */
static int external_location_safe(const char *loc) {
    if (loc[0] == '/' || loc[0] == '\\') return 0;
    if (((loc[0] | 0x20) >= 'a' && (loc[0] | 0x20) <= 'z') && loc[1] == ':') return 0;
    const char *p = loc;
    while (*p) {
        size_t len = strcspn(p, "/\\");
        if (len == 2 && p[0] == '.' && p[1] == '.') return 0;
        p += len;
        if (*p) p++;
    }
    return 1;
}

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
    if (!external_location_safe(ref->location))
        return onnx_fail(ctx, "%s: external data location '%s' is refused: it must be a relative "
                         "path inside the model's folder (no absolute path, no '..')", what,
                         ref->location);
    return RT_OK;
}

int onnx_external_read(OnnxCtx *ctx, const Onnx__TensorProto *tp, const char *what,
                       const OnnxAlloc *a, size_t bytes, void **dst) {
    if (!ctx->base_dir)
        return onnx_fail(ctx, "%s: uses external data, which is refused for a model loaded from "
                         "memory without a folder", what);
    ExternalRef ref;
    ONNX_TRY(external_ref_parse(ctx, tp, what, &ref));
    char full[EXTERNAL_PATH_MAX];
    int n = snprintf(full, sizeof full, "%s/%s", ctx->base_dir[0] ? ctx->base_dir : ".", ref.location);
    if (n < 0 || (size_t)n >= sizeof full)
        return onnx_fail(ctx, "%s: external data path '%s' is too long", what, ref.location);
    FILE *f = fopen(full, "rb");
    if (!f) return onnx_fail(ctx, "%s: cannot open external data file '%s': %s", what, full, strerror(errno));
    off_t size = -1;
    if (fseeko(f, 0, SEEK_END) == 0) size = ftello(f);
    int r = RT_OK;
    int64_t length = ref.length >= 0 ? ref.length : (int64_t)bytes;
    /* offset + length <= size, written so that nothing can overflow */
    if (size < 0)
        r = onnx_fail(ctx, "%s: cannot read external data file '%s'", what, full);
    else if (ref.offset > (int64_t)size || length > (int64_t)size - ref.offset)
        r = onnx_fail(ctx, "%s: external data offset %lld + length %lld is past the end of '%s' "
                      "(%lld bytes)", what, (long long)ref.offset, (long long)length, full,
                      (long long)size);
    else if ((uint64_t)length != (uint64_t)bytes)
        r = onnx_fail(ctx, "%s: external data length %lld does not match the tensor's %zu bytes",
                      what, (long long)length, bytes);
    else if (!(*dst = a->alloc(a->user, bytes ? bytes : 1)))
        r = onnx_fail(ctx, "%s: out of memory (%zu bytes)", what, bytes);
    else if (fseeko(f, (off_t)ref.offset, SEEK_SET) != 0 || fread(*dst, 1, bytes, f) != bytes)
        r = onnx_fail(ctx, "%s: read error in external data file '%s'", what, full);
    fclose(f);
    return r;
}
