/*
 * test_onnx_prescan.c — hostile ONNX bytes (frontend/onnx_prescan.c and onnx_load.c's
 * required-field checks): wire-format cases built byte by byte here (nesting at the depth
 * limit, one under and one over, 10,000 deep; bad tags, varints, lengths and wire types;
 * runs of empty sub-messages that would inflate protobuf-c's memory), a fixture cut just
 * before its opset_import, every fixture model cut at each 1/64 of its length, and single-bit
 * flips. Every hostile case must be refused with a message naming the file, never crash
 * (the sanitizer build checks reads and leaks).
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../frontend/onnx.h"
#include "../../frontend/onnx_prescan.h"
#include "onnx.pb-c.h"

#ifndef FIXTURES
#define FIXTURES "../shared/fixtures"
#endif

/* ---------- writing the wire format by hand (the protobuf encoding spec) ---------- */

typedef struct {
    uint8_t *p;
    size_t n, cap;
} Buf;

static void buf_put(Buf *b, const void *data, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        cr_assert(b->p);
    }
    if (n) memcpy(b->p + b->n, data, n);
    b->n += n;
}

static void buf_varint(Buf *b, uint64_t v) {
    do {
        uint8_t c = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v) c |= 0x80;
        buf_put(b, &c, 1);
    } while (v);
}

/* field `id` with wire type 2 holding `inner` */
static void buf_sub(Buf *b, uint32_t id, const Buf *inner) {
    buf_varint(b, (uint64_t)id << 3 | 2);
    buf_varint(b, inner->n);
    buf_put(b, inner->p, inner->n);
}

/* A ModelProto whose deepest sub-message is `depth` levels down (depth >= 3):
 * Model > graph(7) > input(11) ValueInfo > type(2) TypeProto > sequence_type(4) Sequence >
 * elem_type(1) TypeProto > sequence_type(4) ... Levels 1-3 are graph, value info and type;
 * from there Sequence and TypeProto alternate. */
static Buf model_nested(int depth) {
    Buf cur = {0};
    for (int level = depth; level >= 1; level--) {
        /* the parent (level - 1) decides the field number */
        int parent = level - 1;
        uint32_t id;
        if (parent == 0) id = 7;            /* ModelProto.graph */
        else if (parent == 1) id = 11;      /* GraphProto.input */
        else if (parent == 2) id = 2;       /* ValueInfoProto.type */
        else if (parent % 2 == 1) id = 4;   /* TypeProto (levels 3, 5, ...).sequence_type */
        else id = 1;                        /* Sequence (levels 4, 6, ...).elem_type */
        Buf outer = {0};
        buf_sub(&outer, id, &cur);
        free(cur.p);
        cur = outer;
    }
    return cur;
}

static char why[256];

static int prescan_model(const Buf *b) {
    why[0] = '\0';
    return onnx_prescan(&onnx__model_proto__descriptor, b->p, b->n, ONNX_PRESCAN_MAX_DEPTH, why,
                        sizeof why);
}

/* onnx_load_memory; the graph (if any) is verified and freed, the message kept in *err. */
static int load(const uint8_t *data, size_t len, const char *name, size_t budget, RtError *err) {
    memset(err, 0, sizeof *err);
    OnnxLoadOptions o = {.allow_unknown_ops = 1, .max_parse_bytes = budget};
    IrGraph *g = onnx_load_memory(data, len, NULL, name, &o, err);
    if (!g) {
        cr_assert(err->msg[0], "%s: refused without a message", name);
        cr_assert_eq(strncmp(err->msg, name, strlen(name)), 0, "the message names the file: '%s'", err->msg);
        return 0;
    }
    RtError verr = {{0}};
    cr_assert_eq(ir_verify(g, &verr), RT_OK, "%s: loaded a graph failing ir_verify: %s", name, verr.msg);
    ir_graph_free(g);
    return 1;
}

/* ---------- nesting depth ---------- */

Test(onnx_prescan, nesting_at_the_limit_and_one_under_pass) {
    for (int d = ONNX_PRESCAN_MAX_DEPTH - 1; d <= ONNX_PRESCAN_MAX_DEPTH; d++) {
        Buf b = model_nested(d);
        cr_assert_eq(prescan_model(&b), 0, "depth %d: %s", d, why);
        /* the loader gets past the scan and unpack, then finds no opset_import */
        RtError err;
        cr_assert_eq(load(b.p, b.n, "deep.onnx", 0, &err), 0);
        cr_assert(strstr(err.msg, "no opset_import"), "depth %d: '%s'", d, err.msg);
        free(b.p);
    }
}

Test(onnx_prescan, nesting_one_over_the_limit_refused) {
    Buf b = model_nested(ONNX_PRESCAN_MAX_DEPTH + 1);
    cr_assert_eq(prescan_model(&b), -1);
    cr_assert(strstr(why, "nested deeper than 64 levels"), "'%s'", why);
    RtError err;
    cr_assert_eq(load(b.p, b.n, "deep.onnx", 0, &err), 0);
    cr_assert(strstr(err.msg, "deep.onnx: not a valid ONNX model"), "'%s'", err.msg);
    cr_assert(strstr(err.msg, "nested deeper than 64 levels"), "'%s'", err.msg);
    free(b.p);
}

/* 10,000 levels: protobuf-c alone overflows its stack near 8,700. */
Test(onnx_prescan, nesting_ten_thousand_deep_refused) {
    Buf b = model_nested(10000);
    RtError err;
    cr_assert_eq(load(b.p, b.n, "deep.onnx", 0, &err), 0);
    cr_assert(strstr(err.msg, "nested deeper than 64 levels"), "'%s'", err.msg);
    free(b.p);
}

/* ---------- tags, varints, lengths, wire types ---------- */

static void expect_scan_refusal(const uint8_t *bytes, size_t n, const char *needle) {
    Buf b = {0};
    buf_put(&b, bytes, n);
    cr_assert_eq(prescan_model(&b), -1, "accepted; expected '%s'", needle);
    cr_assert(strstr(why, needle), "'%s' does not say '%s'", why, needle);
    RtError err;
    cr_assert_eq(load(b.p, b.n, "bad.onnx", 0, &err), 0);
    free(b.p);
}

Test(onnx_prescan, bad_wire_format_refused) {
    /* field number 0 */
    expect_scan_refusal((const uint8_t[]){0x00}, 1, "byte 0: ModelProto: field number 0");
    /* a 5-byte tag whose last byte overflows 32 bits: the case protobuf-c shifts into the
     * sign bit (undefined behaviour) */
    expect_scan_refusal((const uint8_t[]){0x88, 0x80, 0x80, 0x80, 0x7f, 0x00}, 6, "tag does not fit");
    /* a 6-byte tag */
    expect_scan_refusal((const uint8_t[]){0x88, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00}, 7, "tag does not fit");
    /* a tag cut short */
    expect_scan_refusal((const uint8_t[]){0x88}, 1, "bad tag");
    /* wire types 3, 4 (groups), 6 and 7 */
    expect_scan_refusal((const uint8_t[]){0x0b}, 1, "wire type 3 is not valid here (groups");
    expect_scan_refusal((const uint8_t[]){0x0c}, 1, "wire type 4");
    expect_scan_refusal((const uint8_t[]){0x0e}, 1, "wire type 6");
    expect_scan_refusal((const uint8_t[]){0x0f}, 1, "wire type 7");
    /* ir_version (1, varint): an 11-byte varint, and one whose 10th byte carries bit 64 */
    expect_scan_refusal((const uint8_t[]){0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                          0x80, 0x01}, 12, "field 1: bad varint");
    expect_scan_refusal((const uint8_t[]){0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                          0x02}, 11, "field 1: bad varint");
    /* graph (7) claiming 100 bytes with 2 present, and a length near 2^64 */
    expect_scan_refusal((const uint8_t[]){0x3a, 0x64, 0x0a, 0x00}, 4, "length 100 runs past the end");
    expect_scan_refusal((const uint8_t[]){0x3a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                          0x01, 0x00}, 12, "runs past the end");
    /* graph (7) sent as a varint: wire type 0 where a message needs 2 */
    expect_scan_refusal((const uint8_t[]){0x38, 0x01}, 2, "ModelProto.graph: wire type 0 where its type needs 2");
    /* a node (graph.node, 1) whose inner length passes its enclosing graph's end */
    expect_scan_refusal((const uint8_t[]){0x3a, 0x02, 0x0a, 0x05, 0x00, 0x00, 0x00}, 7, "runs past the end of its message");
    /* a fixed64 cut short */
    expect_scan_refusal((const uint8_t[]){0x09, 1, 2, 3}, 4, "value runs past the end");
    /* TensorProto.dims (1, int64) packed with a varint cut in the middle */
    expect_scan_refusal((const uint8_t[]){0x3a, 0x06, 0x2a, 0x04, 0x0a, 0x02, 0x05, 0x80}, 8,
                        "TensorProto.dims: bad varint in a packed run");
    /* TensorProto.float_data (4) packed with 6 bytes */
    expect_scan_refusal((const uint8_t[]){0x3a, 0x0a, 0x2a, 0x08, 0x22, 0x06, 0, 0, 0, 0, 0, 0}, 12,
                        "packed run of 6 bytes is not whole 4-byte elements");
}

Test(onnx_prescan, valid_wire_format_accepted) {
    /* unknown fields of every wire type are skipped, packed runs of whole elements pass */
    const uint8_t ok[] = {0x08, 0x07,                                /* ir_version 7 */
                          0xf8, 0x07, 0x01,                          /* unknown field 127, varint */
                          0xf9, 0x07, 1, 2, 3, 4, 5, 6, 7, 8,        /* unknown field 127, fixed64 */
                          0xfa, 0x07, 0x02, 0xff, 0xff,              /* unknown field 127, bytes */
                          0xfd, 0x07, 1, 2, 3, 4,                    /* unknown field 127, fixed32 */
                          0x3a, 0x0a, 0x2a, 0x08, 0x22, 0x04, 0, 0, 0x80, 0x3f, 0x0a, 0x00};
    Buf b = {0};
    buf_put(&b, ok, sizeof ok);
    cr_assert_eq(prescan_model(&b), 0, "%s", why);
    free(b.p);
    /* the largest field number (2^29 - 1) in a 5-byte tag */
    const uint8_t big[] = {0xf8, 0xff, 0xff, 0xff, 0x0f, 0x01};
    Buf c = {0};
    buf_put(&c, big, sizeof big);
    cr_assert_eq(prescan_model(&c), 0, "%s", why);
    free(c.p);
}

/* ---------- memory budget ---------- */

/* A model whose graph holds n empty initializers: 2 bytes each on the wire, a whole
 * TensorProto struct each once unpacked. */
static Buf model_empty_initializers(size_t n) {
    Buf g = {0};
    for (size_t i = 0; i < n; i++) buf_put(&g, (const uint8_t[]){0x2a, 0x00}, 2);
    Buf m = {0};
    buf_varint(&m, 1 << 3);
    buf_varint(&m, 8);        /* ir_version 8 */
    buf_sub(&m, 7, &g);
    free(g.p);
    return m;
}

Test(onnx_prescan, empty_submessages_stop_at_the_budget) {
    Buf m = model_empty_initializers(20000); /* 40 KB on the wire */
    /* the inflation factor: live bytes after the unpack per wire byte */
    size_t peak = 0;
    char msg[256];
    ProtobufCMessage *pm = onnx_proto_unpack(&onnx__model_proto__descriptor, m.p, m.n, 0, &peak,
                                             msg, sizeof msg);
    cr_assert(pm, "%s", msg);
    onnx_proto_free(pm);
    cr_assert_gt(peak, 40 * m.n, "expected a large inflation, got %zu bytes for %zu", peak, m.n);
    cr_log_info("20000 empty initializers: %zu bytes unpack into %zu (%.0fx)", m.n, peak,
                (double)peak / (double)m.n);
    /* a budget of 1 MiB refuses it, with a message saying how to raise the budget */
    RtError err;
    cr_assert_eq(load(m.p, m.n, "inflate.onnx", 1 << 20, &err), 0);
    cr_assert(strstr(err.msg, "memory budget of 1 MiB"), "'%s'", err.msg);
    cr_assert(strstr(err.msg, "max_parse_bytes"), "'%s'", err.msg);
    free(m.p);
}

Test(onnx_prescan, empty_submessages_past_the_default_budget_refused) {
    /* 600,000 empty initializers = 1.2 MB; unpacked they would need over 150 MB, past the
     * default budget of 64 MiB + 8 x 1.2 MB */
    Buf m = model_empty_initializers(600000);
    RtError err;
    cr_assert_eq(load(m.p, m.n, "inflate.onnx", 0, &err), 0);
    cr_assert(strstr(err.msg, "memory budget"), "'%s'", err.msg);
    free(m.p);
}

/* ---------- fixtures cut short, flipped ---------- */

static uint8_t *fixture_read(const char *rel, size_t *len) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", FIXTURES, rel);
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    cr_assert_gt(n, 0);
    rewind(f);
    uint8_t *buf = malloc((size_t)n);
    cr_assert(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Offset of the first top-level field `id` (decoded here independently of the loader). */
static size_t top_field_offset(const uint8_t *p, size_t n, uint32_t id) {
    size_t i = 0;
    while (i < n) {
        size_t at = i;
        uint64_t tag = 0, v = 0;
        for (int s = 0; i < n; s += 7) {
            tag |= (uint64_t)(p[i] & 0x7f) << s;
            if (!(p[i++] & 0x80)) break;
        }
        if ((tag >> 3) == id) return at;
        int wt = (int)(tag & 7);
        if (wt == 0) {
            while (i < n && (p[i++] & 0x80)) {}
        } else if (wt == 1) {
            i += 8;
        } else if (wt == 5) {
            i += 4;
        } else {
            for (int s = 0; i < n; s += 7) {
                v |= (uint64_t)(p[i] & 0x7f) << s;
                if (!(p[i++] & 0x80)) break;
            }
            i += v;
        }
    }
    return n;
}

/* Writers put opset_import (field 8) after the graph: a file cut right there is still a
 * well-formed ModelProto, and only the required-field check notices. */
Test(onnx_prescan, cut_before_opset_import_refused) {
    size_t n;
    uint8_t *buf = fixture_read("digits/digits_mlp.onnx", &n);
    size_t at = top_field_offset(buf, n, 8);
    cr_assert_lt(at, n, "no opset_import found");
    cr_assert_gt(at, top_field_offset(buf, n, 7), "opset_import comes after the graph");
    char msg[256];
    ProtobufCMessage *pm = onnx_proto_unpack(&onnx__model_proto__descriptor, buf, at, 0, NULL, msg,
                                             sizeof msg);
    cr_assert(pm, "the cut file still parses: %s", msg);
    onnx_proto_free(pm);
    RtError err;
    cr_assert_eq(load(buf, at, "cut.onnx", 0, &err), 0);
    cr_assert(strstr(err.msg, "cut.onnx: the model has no opset_import"), "'%s'", err.msg);
    free(buf);
}

static const char *const FIXTURE_MODELS[] = {
    "digits/digits_mlp.onnx", "digits/digits_cnn.onnx", "digits/digits_cnn_dynamo.onnx",
    "digits/digits_student_init.onnx", "kws/kws_dscnn.onnx", "perf/mobilenet_v2.onnx",
    "perf/mobilenet_v2_int8_qdq_ort.onnx", "perf/tinylm_int4_default_asym.onnx", "tinylm/tinylm.onnx",
};
#define N_FIXTURE_MODELS (sizeof FIXTURE_MODELS / sizeof FIXTURE_MODELS[0])

Test(onnx_prescan, every_fixture_cut_at_each_64th_refused, .timeout = 120) {
    int refused = 0;
    for (size_t m = 0; m < N_FIXTURE_MODELS; m++) {
        size_t n;
        uint8_t *buf = fixture_read(FIXTURE_MODELS[m], &n);
        for (size_t k = 1; k < 64; k++) {
            size_t cut = n * k / 64;
            RtError err;
            int loaded = load(buf, cut, "cut.onnx", 0, &err);
            cr_assert_eq(loaded, 0, "%s cut at %zu/64 (%zu bytes) loaded", FIXTURE_MODELS[m], k, cut);
            refused++;
        }
        free(buf);
    }
    cr_log_info("%d truncations refused", refused);
}

/* Single-bit flips: every bit of the first 1 KB of two small models (their structure: graph
 * header, node list, value infos), then 1,000 random bits anywhere in each. A flip inside
 * tensor data or a name can leave a valid model; then it must pass ir_verify. */
Test(onnx_prescan, single_bit_flips_refused_or_valid, .timeout = 120) {
    static const char *const small[] = {"digits/digits_student_init.onnx", "kws/kws_dscnn.onnx"};
    int refused = 0, loaded = 0;
    const int sanitized = getenv("WAFER_SANITIZED") != NULL;
    for (size_t m = 0; m < 2; m++) {
        size_t n;
        uint8_t *buf = fixture_read(small[m], &n);
        size_t head = n < 1024 ? n : 1024;
        size_t n_flips = head * 8 + 1000;
        uint32_t lcg = 12345;
        for (size_t f = 0; f < n_flips; f++) {
            size_t bit;
            if (f < head * 8) {
                if (sanitized && f % 4) continue; /* every 4th bit under the sanitizers */
                bit = f;
            } else {
                lcg = lcg * 1664525u + 1013904223u;
                bit = (size_t)(lcg >> 8) % (n * 8);
            }
            buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            RtError err;
            if (load(buf, n, "flip.onnx", 0, &err)) loaded++;
            else refused++;
            buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
        free(buf);
    }
    cr_assert_gt(refused, 0);
    cr_log_info("bit flips: %d refused, %d still valid", refused, loaded);
}

/* Real models stay far inside the default budget (they unpack into about their own size:
 * the raw_data bytes are copied once). */
Test(onnx_prescan, fixtures_unpack_within_the_default_budget) {
    for (size_t m = 0; m < N_FIXTURE_MODELS; m++) {
        size_t n, peak = 0;
        uint8_t *buf = fixture_read(FIXTURE_MODELS[m], &n);
        char msg[256];
        ProtobufCMessage *pm = onnx_proto_unpack(&onnx__model_proto__descriptor, buf, n, 0, &peak,
                                                 msg, sizeof msg);
        cr_assert(pm, "%s: %s", FIXTURE_MODELS[m], msg);
        onnx_proto_free(pm);
        cr_assert_lt(peak, onnx_proto_budget_default(n) / 2, "%s", FIXTURE_MODELS[m]);
        cr_log_info("%s: %zu bytes unpack into %zu (%.2fx)", FIXTURE_MODELS[m], n, peak,
                    (double)peak / (double)n);
        free(buf);
    }
}

/* Serialized TensorProto files (the conformance tests' inputs) go through the same scan and
 * budget: every cut of a real one, and a tensor claiming a huge shape with 8 bytes of data,
 * are refused with a message naming the file. */
Test(onnx_prescan, tensor_pb_cut_or_lying_refused) {
    const char *src = "/usr/share/libonnx-testdata/data/node/test_conv_with_strides_padding/test_data_set_0/input_0.pb";
    FILE *f = fopen(src, "rb");
    if (!f) cr_skip_test("%s not installed", src);
    uint8_t buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    cr_assert(n > 16 && n < sizeof buf);
    char tmp[] = "/tmp/wafer_pb_XXXXXX";
    int fd = mkstemp(tmp);
    cr_assert(fd >= 0);
    close(fd);
    RtTensor t;
    RtError err;
    int refused = 0, consistent = 0;
    for (size_t cut = 1; cut < n; cut++) {
        FILE *o = fopen(tmp, "wb");
        cr_assert(o);
        cr_assert_eq(fwrite(buf, 1, cut, o), cut);
        fclose(o);
        memset(&err, 0, sizeof err);
        if (onnx_tensor_read_pb(tmp, &t, NULL, 0, &err) == RT_OK) {
            free(t.data); /* a cut at a field boundary can still be a consistent tensor */
            consistent++;
            continue;
        }
        cr_assert_eq(strncmp(err.msg, tmp, strlen(tmp)), 0, "cut %zu: '%s'", cut, err.msg);
        refused++;
    }
    cr_assert_gt(refused, (int)n / 2);
    /* dims [2^40] float, raw_data 8 bytes: dims(1) varint, data_type(2) = 1, raw_data(9) */
    Buf b = {0};
    buf_varint(&b, 1 << 3);
    buf_varint(&b, (uint64_t)1 << 40);
    buf_varint(&b, 2 << 3);
    buf_varint(&b, 1);
    buf_varint(&b, 9 << 3 | 2);
    buf_varint(&b, 8);
    buf_put(&b, (const uint8_t[]){0, 0, 0, 0, 0, 0, 0, 0}, 8);
    FILE *o = fopen(tmp, "wb");
    cr_assert(o);
    cr_assert_eq(fwrite(b.p, 1, b.n, o), b.n);
    fclose(o);
    memset(&err, 0, sizeof err);
    cr_assert_neq(onnx_tensor_read_pb(tmp, &t, NULL, 0, &err), RT_OK);
    cr_assert(strstr(err.msg, "raw data holds 8 bytes, but shape [1099511627776]"), "'%s'", err.msg);
    free(b.p);
    unlink(tmp);
    cr_log_info("%zu cuts of a .pb tensor: %d refused, %d consistent tensors", n - 1, refused, consistent);
}
