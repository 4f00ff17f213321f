/*
 * onnx_prescan.c — untrusted protobuf bytes made safe for protobuf-c (see onnx_prescan.h).
 *
 * protobuf-c 1.4.1 trusts its input in ways a hostile file exploits: it recurses once per
 * nested message with no limit (a stack overflow near 8,700 levels), shifts a 5-byte tag's
 * last byte into the sign bit (undefined behaviour), and allocates a full struct for each
 * 2-byte empty sub-message with no ceiling (45-129x the file's size). So before it sees a
 * byte, a pre-scan walks the wire format with the generated descriptors:
 *
 *   message := (tag value)*      tag = varint (field << 3 | wire type), at most 5 bytes,
 *                                field 1 .. 2^29-1, wire type 0 varint, 1 fixed64,
 *                                2 length-delimited, 5 fixed32 (3/4 are groups: refused)
 *   length-delimited values lie inside their enclosing message; a known field of message
 *   type is scanned recursively (depth-limited); a known scalar field must carry the wire
 *   type its type needs, or 2 for a packed run of whole elements; unknown fields are only
 *   skipped (protobuf-c keeps them as opaque bytes and never recurses into them).
 *
 * The scan recurses at most max_depth frames. Then protobuf-c unpacks with an allocator
 * that counts the live bytes and fails any allocation that would pass the budget; the
 * unpack then fails cleanly (protobuf-c frees what it built through the same allocator).
 */
#include "onnx_prescan.h"

#include <stdarg.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#define MIB ((size_t)1 << 20)

size_t onnx_proto_budget_default(size_t len) {
    /* 64 MiB of slack for small files, plus 8x the file: the fixtures' unpacks peak at
     * about 1x (mostly raw_data) and all stay far below. */
    size_t base = 64 * MIB;
    if (len > (SIZE_MAX - base) / 8) return SIZE_MAX;
    return base + 8 * len;
}

/* ---------------- the pre-scan ---------------- */

typedef struct {
    const uint8_t *start;   /* borrowed: the whole buffer, for offsets in messages */
    int max_depth;
    char *why;              /* [why_len] borrowed: the caller's message buffer */
    size_t why_len;
} Scan;

static int scan_fail(Scan *s, const uint8_t *at, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int scan_fail(Scan *s, const uint8_t *at, const char *fmt, ...) {
    if (!s->why || !s->why_len) return -1;
    int n = snprintf(s->why, s->why_len, "byte %zu: ", (size_t)(at - s->start));
    if (n < 0 || (size_t)n >= s->why_len) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->why + n, s->why_len - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* Reads a varint at p (< end): bytes used (1-10), or 0 when it runs past end, is longer
 * than 10 bytes or does not fit in 64 bits. */
static size_t scan_varint(const uint8_t *p, const uint8_t *end, uint64_t *v) {
    uint64_t x = 0;
    for (size_t i = 0; i < 10 && p + i < end; i++) {
        uint64_t b = p[i] & 0x7f;
        if (i == 9 && b > 1) return 0; /* bit 64 and above */
        x |= b << (7 * i);
        if (!(p[i] & 0x80)) {
            *v = x;
            return i + 1;
        }
    }
    return 0;
}

/* Wire type a field of this type carries unpacked: 0 varint, 1 fixed64, 5 fixed32, 2 else. */
static int scan_wire_type_of(ProtobufCType t) {
    switch (t) {
    case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE:
        return 1;
    case PROTOBUF_C_TYPE_SFIXED32: case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_FLOAT:
        return 5;
    case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_BYTES: case PROTOBUF_C_TYPE_MESSAGE:
        return 2;
    default:
        return 0;
    }
}

static const ProtobufCFieldDescriptor *scan_field_find(const ProtobufCMessageDescriptor *d,
                                                       uint32_t id) {
    for (unsigned i = 0; i < d->n_fields; i++)
        if (d->fields[i].id == id) return &d->fields[i];
    return NULL;
}

/* A packed run of a repeated scalar field: whole elements only. */
static int scan_packed(Scan *s, const ProtobufCMessageDescriptor *d,
                       const ProtobufCFieldDescriptor *f, const uint8_t *p, const uint8_t *end) {
    int wt = scan_wire_type_of(f->type);
    size_t n = (size_t)(end - p);
    if ((wt == 1 && n % 8) || (wt == 5 && n % 4))
        return scan_fail(s, p, "%s.%s: packed run of %zu bytes is not whole %d-byte elements",
                         d->short_name, f->name, n, wt == 1 ? 8 : 4);
    if (wt != 0) return 0;
    while (p < end) {
        uint64_t v;
        size_t k = scan_varint(p, end, &v);
        if (!k) return scan_fail(s, p, "%s.%s: bad varint in a packed run", d->short_name, f->name);
        p += k;
    }
    return 0;
}

static int scan_message(Scan *s, const ProtobufCMessageDescriptor *d, const uint8_t *p,
                        const uint8_t *end, int depth);

/* One known field's value [p, vend) of wire type wt. */
static int scan_known(Scan *s, const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *f,
                      int wt, const uint8_t *p, const uint8_t *vend, int depth) {
    int want = scan_wire_type_of(f->type);
    if (wt == want) {
        if (f->type != PROTOBUF_C_TYPE_MESSAGE) return 0;
        if (depth + 1 > s->max_depth)
            return scan_fail(s, p, "%s.%s: messages nested deeper than %d levels", d->short_name, f->name,
                             s->max_depth);
        return scan_message(s, f->descriptor, p, vend, depth + 1);
    }
    if (wt == 2 && f->label == PROTOBUF_C_LABEL_REPEATED) return scan_packed(s, d, f, p, vend);
    return scan_fail(s, p, "%s.%s: wire type %d where its type needs %d", d->short_name, f->name, wt, want);
}

static int scan_message(Scan *s, const ProtobufCMessageDescriptor *d, const uint8_t *p,
                        const uint8_t *end, int depth) {
    while (p < end) {
        const uint8_t *at = p;
        uint64_t tag;
        size_t k = scan_varint(p, end, &tag);
        if (!k) return scan_fail(s, at, "%s: bad tag (runs past the end of its message)", d->short_name);
        if (k > 5 || tag > 0xFFFFFFFFu)
            return scan_fail(s, at, "%s: tag does not fit in 32 bits", d->short_name);
        p += k;
        int wt = (int)(tag & 7);
        uint32_t id = (uint32_t)(tag >> 3);
        if (id == 0) return scan_fail(s, at, "%s: field number 0", d->short_name);
        const uint8_t *vend;
        uint64_t v;
        switch (wt) {
        case 0:
            if (!(k = scan_varint(p, end, &v)))
                return scan_fail(s, p, "%s: field %u: bad varint", d->short_name, id);
            vend = p + k;
            break;
        case 1: case 5:
            if ((size_t)(end - p) < (wt == 1 ? 8u : 4u))
                return scan_fail(s, p, "%s: field %u: value runs past the end", d->short_name, id);
            vend = p + (wt == 1 ? 8 : 4);
            break;
        case 2:
            if (!(k = scan_varint(p, end, &v)))
                return scan_fail(s, p, "%s: field %u: bad length", d->short_name, id);
            p += k;
            if (v > (uint64_t)(end - p))
                return scan_fail(s, at, "%s: field %u: length %llu runs past the end of its "
                                 "message (%zu bytes left)", d->short_name, id, (unsigned long long)v,
                                 (size_t)(end - p));
            vend = p + v;
            break;
        default:
            return scan_fail(s, at, "%s: field %u: wire type %d is not valid here%s", d->short_name, id,
                             wt, wt == 3 || wt == 4 ? " (groups are not used by ONNX)" : "");
        }
        const ProtobufCFieldDescriptor *f = scan_field_find(d, id);
        if (f && scan_known(s, d, f, wt, p, vend, depth) != 0) return -1;
        p = vend;
    }
    return 0;
}

int onnx_prescan(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                 int max_depth, char *why, size_t why_len) {
    Scan s = {data, max_depth, why, why_len};
    if (len && !data) return scan_fail(&s, data, "no data");
    return scan_message(&s, desc, data, data + len, 0);
}

/* ---------------- unpack under a budget ---------------- */

/* Every block carries its size in front, so a free can give the bytes back. */
typedef union {
    size_t size;
    max_align_t align;
} BudgetHead;

typedef struct {
    size_t used, limit;     /* bytes, heads included */
    int over;               /* 1 once an allocation was refused */
} Budget;

static void *budget_alloc(void *data, size_t size) {
    Budget *b = data;
    if (size > SIZE_MAX - sizeof(BudgetHead)) return NULL;
    size_t total = size + sizeof(BudgetHead);
    if (b && total > b->limit - b->used) {
        b->over = 1;
        return NULL;
    }
    BudgetHead *h = malloc(total);
    if (!h) return NULL;
    h->size = total;
    if (b) b->used += total;
    return h + 1;
}

static void budget_free(void *data, void *p) {
    if (!p) return;
    Budget *b = data;
    BudgetHead *h = (BudgetHead *)p - 1;
    if (b) b->used -= h->size;
    free(h);
}

/* Frees what budget_alloc made after the unpack (nothing left to count). */
static ProtobufCAllocator budget_free_only = {budget_alloc, budget_free, NULL};

ProtobufCMessage *onnx_proto_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
                                    size_t len, size_t budget, size_t *peak, char *why,
                                    size_t why_len) {
    if (onnx_prescan(desc, data, len, ONNX_PRESCAN_MAX_DEPTH, why, why_len) != 0) return NULL;
    Budget b = {0, budget ? budget : onnx_proto_budget_default(len), 0};
    ProtobufCAllocator a = {budget_alloc, budget_free, &b};
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, &a, len, data);
    if (peak) *peak = b.used;
    if (m) return m;
    if (why && why_len) {
        if (b.over)
            snprintf(why, why_len, "unpacking needs more than the memory budget of %zu MiB "
                     "(OnnxLoadOptions.max_parse_bytes raises it)", b.limit / MIB);
        else
            snprintf(why, why_len, "protobuf-c refused it (a required field missing, or out of memory)");
    }
    return NULL;
}

void onnx_proto_free(ProtobufCMessage *m) {
    if (m) protobuf_c_message_free_unpacked(m, &budget_free_only);
}
