/*
 * test_wafer_integrity.c — `.wafer` integrity as the issue counts it: every single-bit flip
 * in the header (fixed part and section table) and 10,000 random single-bit flips in the
 * body of .wafer files written by `wafer quantize` (digits_mlp int8 with a memory plan,
 * kws_dscnn int8) are refused by the runtime's loader, and by the checksum before any
 * offset in the file is followed. The loader reads only fixed header fields before the
 * checksum (runtime/rt_model.c: magic at 0, version at 8, recorded size at 16), so a flip
 * there gets that field's message; every other flip must get "checksum mismatch" — a
 * message any later check (section table, offsets, strings, ops) would have replaced.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/rt_model.h"
#include "../../runtime/rt_wafer_format.h"
#include "../test_util.h"

static char dir[256];

static void setup(void) { cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_integrity"), 0); }
static void teardown(void) { tu_tmpdir_remove(dir); }

TestSuite(wafer_integrity, .init = setup, .fini = teardown, .timeout = 300);

/* wafer quantize MODEL -o dir/NAME.wafer; the file's bytes. */
static unsigned char *quantized(const char *model, const char *name, const char *opts, size_t *n) {
    char path[512], out[4096];
    snprintf(path, sizeof path, "%s/%s.wafer", dir, name);
    int rc = tu_run(out, sizeof out, "%s quantize %s/%s -o %s %s", WAFER_BIN, FIXTURES, model, path, opts);
    cr_assert_eq(rc, 0, "quantize %s: exit %d\n%s", model, rc, out);
    unsigned char *b = tu_file_read(path, n);
    cr_assert(b, "cannot read %s", path);
    return b;
}

/* The message a flip at byte pos must get. */
static const char *expected(size_t pos) {
    if (pos < 8) return "flip: not a .wafer file (no WAFERFMT magic)";
    if (pos < 12) return "flip: .wafer format version";
    if (pos >= 16 && pos < 24) return "flip: truncated: the header records"; /* or size mismatch */
    return "flip: checksum mismatch (file corrupted)";
}

static void open_flipped(unsigned char *b, size_t n, size_t pos, int bit) {
    b[pos] ^= (unsigned char)(1u << bit);
    RtError err = {{0}};
    RtModel *m = rt_model_open_memory(b, n, "flip", NULL, &err);
    cr_assert_null(m, "flip of bit %d at byte %zu opened", bit, pos);
    const char *want = expected(pos);
    int ok = strncmp(err.msg, want, strlen(want)) == 0 ||
             (pos >= 16 && pos < 24 && strncmp(err.msg, "flip: size mismatch", 19) == 0);
    cr_assert(ok, "flip of bit %d at byte %zu: '%s' (expected '%s...')", bit, pos, err.msg, want);
    b[pos] ^= (unsigned char)(1u << bit);
}

static void check_file(const char *model, const char *name, const char *opts, int body_flips,
                       int *n_header, int *n_body) {
    size_t n;
    unsigned char *b = quantized(model, name, opts, &n);
    RtError err = {{0}};
    RtModel *m = rt_model_open_memory(b, n, "ok", NULL, &err);
    cr_assert(m, "the unflipped file is refused: %s", err.msg);
    rt_model_close(m);
    const size_t header = WF_HEADER_BYTES + WF_SECTION_BYTES * (size_t)WF_SEC_COUNT;
    cr_assert_gt(n, header + WF_CHECKSUM_BYTES);
    for (size_t pos = 0; pos < header; pos++)
        for (int bit = 0; bit < 8; bit++, (*n_header)++) open_flipped(b, n, pos, bit);
    /* the body: everything after the section table, the checksum itself included */
    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < body_flips; i++, (*n_body)++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17; /* xorshift64: a fixed sequence */
        size_t pos = header + (size_t)(s % (n - header));
        open_flipped(b, n, pos, (int)((s >> 40) & 7));
    }
    free(b);
}

Test(wafer_integrity, header_and_body_bit_flips_fail_before_any_offset_is_followed) {
    int n_header = 0, n_body = 0;
    check_file("digits/digits_mlp.onnx", "mlp", "--activations int8 --calib x=" FIXTURES "/digits/calib_x.npy",
               5000, &n_header, &n_body);
    check_file("kws/kws_dscnn.onnx", "kws", "", 5000, &n_header, &n_body);
    cr_assert_eq(n_body, 10000);
    cr_log_info("%d header bit flips and %d random body bit flips: all refused, all by the checksum "
                "(or the magic, version or size field read before it)", n_header, n_body);
}
