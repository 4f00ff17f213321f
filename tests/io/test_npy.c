/*
 * test_npy.c — io/npy.c: round trips of every dtype, numpy's exact header layout, files numpy
 * would write that we must read (big-endian, version 2.0, scalars, empty arrays, odd header
 * spacing) and files we must refuse with a message (Fortran order, truncation, bad headers),
 * plus the atomic-write guarantees (failure leaves the folder as it was).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../io/npy.h"
#include "../test_util.h"

static char dir[256];

static void dir_make(void) { cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_npy"), 0); }

static void dir_remove(void) { cr_assert_eq(tu_tmpdir_remove(dir), 0); }

TestSuite(npy, .init = dir_make, .fini = dir_remove);

static const char *path_in_dir(const char *name) {
    static char p[2][512];
    static int k;
    k ^= 1;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

/* Writes a .npy by hand: version 1.0 preamble, dict text padded to 64, then raw bytes. */
static void write_raw_npy(const char *name, const char *dict, const void *data, size_t n) {
    size_t dl = strlen(dict);
    size_t total = (10 + dl + 1 + 63) / 64 * 64;
    char *buf = calloc(1, total + n);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (char)((total - 10) & 0xff);
    buf[9] = (char)((total - 10) >> 8);
    memcpy(buf + 10, dict, dl);
    memset(buf + 10 + dl, ' ', total - 10 - dl - 1);
    buf[total - 1] = '\n';
    if (n) memcpy(buf + total, data, n);
    FILE *f = fopen(path_in_dir(name), "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(buf, 1, total + n, f), total + n);
    fclose(f);
    free(buf);
}

static int count_entries(void) {
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void expect_refused(const char *name, const char *needle) {
    RtTensor t;
    RtError err = {{0}};
    cr_expect_neq(npy_read(path_in_dir(name), &t, &err), RT_OK, "%s was accepted", name);
    cr_expect(strstr(err.msg, needle) != NULL, "message '%s' lacks '%s'", err.msg, needle);
    cr_expect(strstr(err.msg, name) != NULL, "message '%s' does not name the file", err.msg);
}

Test(npy, round_trip_every_dtype) {
    static const RtDtype dts[] = {RT_BOOL, RT_I8, RT_I16, RT_I32, RT_I64, RT_U8, RT_U16,
                                  RT_U32,  RT_U64, RT_F16, RT_F32, RT_F64};
    for (size_t k = 0; k < sizeof dts / sizeof dts[0]; k++) {
        RtTensor t = {dts[k], 3, {2, 3, 5}, NULL};
        size_t nb = (size_t)rt_nbytes(&t);
        unsigned char *d = malloc(nb);
        for (size_t i = 0; i < nb; i++) d[i] = (unsigned char)(i * 37 + k);
        if (dts[k] == RT_BOOL)
            for (size_t i = 0; i < nb; i++) d[i] &= 1;
        t.data = d;
        RtError err = {{0}};
        const char *p = path_in_dir("rt.npy");
        cr_assert_eq(npy_write(p, &t, &err), RT_OK, "%s: %s", rt_dtype_name(dts[k]), err.msg);
        RtTensor u;
        cr_assert_eq(npy_read(p, &u, &err), RT_OK, "%s: %s", rt_dtype_name(dts[k]), err.msg);
        cr_expect_eq(u.dtype, dts[k], "%s", rt_dtype_name(dts[k]));
        cr_expect(rt_shape_equal(&t, &u), "%s: shape changed", rt_dtype_name(dts[k]));
        cr_expect_eq(memcmp(u.data, d, nb), 0, "%s: data changed", rt_dtype_name(dts[k]));
        free(u.data);
        free(d);
    }
    cr_expect_eq(count_entries(), 1, "temporary files left behind");
}

/* The header numpy itself writes for float32 (2, 3): same text, data at offset 64. */
Test(npy, header_matches_numpy) {
    float x[6] = {0, 1, 2, 3, 4, 5};
    RtTensor t = {RT_F32, 2, {2, 3}, x};
    RtError err = {{0}};
    cr_assert_eq(npy_write(path_in_dir("h.npy"), &t, &err), RT_OK, "%s", err.msg);
    FILE *f = fopen(path_in_dir("h.npy"), "rb");
    char buf[256];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    /* numpy adds 21 - len("2") spare spaces (room to grow axis 0 in place), then pads to 64 */
    cr_assert_eq(n, 128 + sizeof x);
    cr_expect_eq(memcmp(buf, "\x93NUMPY\x01\x00\x76\x00", 10), 0);
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    cr_expect_eq(memcmp(buf + 10, dict, strlen(dict)), 0, "%.54s", buf + 10);
    cr_expect_eq(buf[127], '\n');
    for (size_t i = 10 + strlen(dict); i < 127; i++) cr_expect_eq(buf[i], ' ', "byte %zu", i);
    cr_expect_eq(memcmp(buf + 128, x, sizeof x), 0);

    RtTensor v = {RT_I64, 1, {3}, (int64_t[]){1, 2, 3}};
    cr_assert_eq(npy_write(path_in_dir("v.npy"), &v, &err), RT_OK, "%s", err.msg);
    f = fopen(path_in_dir("v.npy"), "rb");
    n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    const char *dict1 = "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }";
    cr_expect_eq(memcmp(buf + 10, dict1, strlen(dict1)), 0, "%.56s", buf + 10);
}

Test(npy, big_endian_is_swapped) {
    /* >i4 [2] = {1, -2}, >f8 [1] = {1.5}, >u2 [1] = {0x1234} */
    unsigned char i4[8] = {0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe};
    unsigned char f8[8] = {0x3f, 0xf8, 0, 0, 0, 0, 0, 0};
    unsigned char u2[2] = {0x12, 0x34};
    write_raw_npy("i4.npy", "{'descr': '>i4', 'fortran_order': False, 'shape': (2,), }", i4, 8);
    write_raw_npy("f8.npy", "{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }", f8, 8);
    write_raw_npy("u2.npy", "{'descr': '>u2', 'fortran_order': False, 'shape': (1,), }", u2, 2);
    RtTensor t;
    RtError err = {{0}};
    cr_assert_eq(npy_read(path_in_dir("i4.npy"), &t, &err), RT_OK, "%s", err.msg);
    cr_expect_eq(t.dtype, RT_I32);
    cr_expect_eq(((int32_t *)t.data)[0], 1);
    cr_expect_eq(((int32_t *)t.data)[1], -2);
    free(t.data);
    cr_assert_eq(npy_read(path_in_dir("f8.npy"), &t, &err), RT_OK, "%s", err.msg);
    cr_expect_eq(((double *)t.data)[0], 1.5);
    free(t.data);
    cr_assert_eq(npy_read(path_in_dir("u2.npy"), &t, &err), RT_OK, "%s", err.msg);
    cr_expect_eq(((uint16_t *)t.data)[0], 0x1234);
    free(t.data);
}

Test(npy, scalar_and_empty_shapes) {
    float s = 2.5f;
    write_raw_npy("s.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", &s, 4);
    write_raw_npy("e.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", NULL, 0);
    RtTensor t;
    RtError err = {{0}};
    cr_assert_eq(npy_read(path_in_dir("s.npy"), &t, &err), RT_OK, "%s", err.msg);
    cr_expect_eq(t.rank, 0);
    cr_expect_eq(*(float *)t.data, 2.5f);
    free(t.data);
    cr_assert_eq(npy_read(path_in_dir("e.npy"), &t, &err), RT_OK, "%s", err.msg);
    cr_expect_eq(t.rank, 2);
    cr_expect_eq(t.dims[0], 0);
    cr_expect_eq(t.dims[1], 3);
    cr_expect_not_null(t.data, "empty arrays still get a data pointer (NULL means unknown)");
    free(t.data);
    /* and both survive our own writer */
    RtTensor sc = {RT_F32, 0, {0}, &s};
    cr_assert_eq(npy_write(path_in_dir("s2.npy"), &sc, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(npy_read(path_in_dir("s2.npy"), &t, &err), RT_OK, "%s", err.msg);
    cr_expect_eq(t.rank, 0);
    cr_expect_eq(*(float *)t.data, 2.5f);
    free(t.data);
    RtTensor em = {RT_F32, 2, {0, 3}, NULL};
    cr_assert_eq(npy_write(path_in_dir("e2.npy"), &em, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(npy_read(path_in_dir("e2.npy"), &t, &err), RT_OK, "%s", err.msg);
    cr_expect_eq(t.dims[0], 0);
    cr_expect_eq(t.dims[1], 3);
    free(t.data);
}

/* Key order, quote style, spacing and Python-2 longs vary between writers. */
Test(npy, header_variants_accepted) {
    int16_t d[4] = {1, 2, 3, 4};
    write_raw_npy("var.npy", "{ \"shape\" :(2L,2L) ,\"fortran_order\":False,'descr':'=i2'}", d, 8);
    RtTensor t;
    RtError err = {{0}};
    cr_assert_eq(npy_read(path_in_dir("var.npy"), &t, &err), RT_OK, "%s", err.msg);
    cr_expect_eq(t.dtype, RT_I16);
    cr_expect_eq(t.dims[0], 2);
    cr_expect_eq(((int16_t *)t.data)[3], 4);
    free(t.data);

    /* version 2.0: 4-byte header length */
    const char *dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }";
    size_t dl = strlen(dict), total = (12 + dl + 1 + 63) / 64 * 64;
    unsigned char buf[256] = {0};
    memcpy(buf, "\x93NUMPY\x02\x00", 8);
    buf[8] = (unsigned char)(total - 12);
    memcpy(buf + 12, dict, dl);
    memset(buf + 12 + dl, ' ', total - 12 - dl - 1);
    buf[total - 1] = '\n';
    buf[total] = 7;
    buf[total + 1] = 8;
    buf[total + 2] = 9;
    FILE *f = fopen(path_in_dir("v2.npy"), "wb");
    fwrite(buf, 1, total + 3, f);
    fclose(f);
    cr_assert_eq(npy_read(path_in_dir("v2.npy"), &t, &err), RT_OK, "%s", err.msg);
    cr_expect_eq(t.dtype, RT_U8);
    cr_expect_eq(((uint8_t *)t.data)[2], 9);
    free(t.data);
}

Test(npy, fortran_order_refused) {
    float d[6] = {0};
    write_raw_npy("fo.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", d, sizeof d);
    expect_refused("fo.npy", "Fortran-order arrays are not supported; save with np.ascontiguousarray");
}

Test(npy, truncated_refused) {
    float x[6] = {1, 2, 3, 4, 5, 6};
    RtTensor t = {RT_F32, 2, {2, 3}, x};
    RtError err = {{0}};
    cr_assert_eq(npy_write(path_in_dir("tr.npy"), &t, &err), RT_OK, "%s", err.msg);
    struct stat st;
    cr_assert_eq(stat(path_in_dir("tr.npy"), &st), 0);
    cr_assert_eq(truncate(path_in_dir("tr.npy"), st.st_size - 4), 0);
    expect_refused("tr.npy", "expected 24 bytes of data, found 20");
    cr_assert_eq(truncate(path_in_dir("tr.npy"), 40), 0); /* inside the header */
    expect_refused("tr.npy", "truncated");
    cr_assert_eq(truncate(path_in_dir("tr.npy"), 5), 0); /* inside the magic */
    expect_refused("tr.npy", "not a .npy file");
}

Test(npy, malformed_headers_refused) {
    float d[2] = {0};
    write_raw_npy("m1.npy", "{'descr': '<f4', 'fortran_order': False}", d, 8);
    expect_refused("m1.npy", "missing 'shape'");
    write_raw_npy("m2.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -1), }", d, 8);
    expect_refused("m2.npy", "malformed");
    write_raw_npy("m3.npy", "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", d, 8);
    expect_refused("m3.npy", "'<c8' is not supported");
    write_raw_npy("m4.npy", "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", d, 8);
    expect_refused("m4.npy", "structured");
    write_raw_npy("m5.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", d, 8);
    expect_refused("m5.npy", "'extra'");
    write_raw_npy("m6.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", d, 4);
    expect_refused("m6.npy", "rank");
    write_raw_npy("m7.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }",
                  d, 8);
    expect_refused("m7.npy", "overflow");
    write_raw_npy("m8.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", d, 8);
    expect_refused("m8.npy", "needs 4");
}

Test(npy, missing_file_named) {
    RtTensor t;
    RtError err = {{0}};
    cr_expect_neq(npy_read("/nonexistent/q.npy", &t, &err), RT_OK);
    cr_expect(strstr(err.msg, "/nonexistent/q.npy") != NULL, "%s", err.msg);
}

/* A failed write leaves an existing file untouched and no temporary file behind. */
Test(npy, failed_write_leaves_nothing) {
    float x[2] = {1, 2};
    RtTensor t = {RT_F32, 1, {2}, x};
    RtError err = {{0}};
    char p[512];
    snprintf(p, sizeof p, "%s", path_in_dir("keep.npy"));
    cr_assert_eq(npy_write(p, &t, &err), RT_OK, "%s", err.msg);
    RtTensor bad = {RT_BF16, 1, {2}, x};
    cr_expect_neq(npy_write(p, &bad, &err), RT_OK);
    cr_expect(strstr(err.msg, "keep.npy") != NULL, "%s", err.msg);
    RtTensor nodata = {RT_F32, 1, {2}, NULL};
    cr_expect_neq(npy_write(p, &nodata, &err), RT_OK);
    /* a directory in the way of the rename */
    cr_assert_eq(mkdir(path_in_dir("adir.npy"), 0755), 0);
    err.msg[0] = '\0';
    cr_expect_neq(npy_write(path_in_dir("adir.npy"), &t, &err), RT_OK);
    cr_expect(strstr(err.msg, "adir.npy") != NULL, "%s", err.msg);
    cr_expect_eq(count_entries(), 2, "temporary file left behind");
    RtTensor u;
    err.msg[0] = '\0';
    cr_assert_eq(npy_read(p, &u, &err), RT_OK, "%s", err.msg);
    cr_expect_eq(((float *)u.data)[1], 2.0f);
    free(u.data);
    /* a folder that does not exist */
    err.msg[0] = '\0';
    cr_expect_neq(npy_write("/nonexistent/dir/o.npy", &t, &err), RT_OK);
    cr_expect(strstr(err.msg, "/nonexistent/dir/o.npy") != NULL, "%s", err.msg);
}

/* New files get the usual umask'd permissions, not mkstemp's 0600. */
Test(npy, written_file_mode) {
    float x[1] = {1};
    RtTensor t = {RT_F32, 1, {1}, x};
    RtError err = {{0}};
    mode_t old = umask(022);
    cr_assert_eq(npy_write(path_in_dir("mode.npy"), &t, &err), RT_OK, "%s", err.msg);
    umask(old);
    struct stat st;
    cr_assert_eq(stat(path_in_dir("mode.npy"), &st), 0);
    cr_expect_eq(st.st_mode & 0777, 0644, "mode %o", (unsigned)(st.st_mode & 0777));
}

/* Sizes taken from the file: every product and sum checked before anything is allocated
 * (under the sanitizer build an allocation of the claimed size would abort the test). */
Test(npy, oversized_dims_refused_before_allocating) {
    float d[2] = {0};
    /* a dimension past INT64_MAX */
    write_raw_npy("o1.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", d, 8);
    expect_refused("o1.npy", "dimension too large");
    /* the element count fits in int64, the byte count (x 8) does not */
    write_raw_npy("o2.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (1152921504606846976, 8), }", d, 8);
    expect_refused("o2.npy", "overflow");
    /* dims whose product overflows only at the last one */
    write_raw_npy("o3.npy", "{'descr': '|u1', 'fortran_order': False, 'shape': (4294967296, 4294967296, 2), }", d, 8);
    expect_refused("o3.npy", "overflow");
    /* 4 TiB claimed, 8 bytes present: refused by the size check, not by a failed malloc */
    write_raw_npy("o4.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }", d, 8);
    expect_refused("o4.npy", "expected 4398046511104 bytes of data, found 8");
    /* a zero dim makes the product 0 whatever the others: no overflow, but the 8 extra bytes */
    write_raw_npy("o5.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 9223372036854775807), }", d, 8);
    expect_refused("o5.npy", "header's shape needs 0");
}

Test(npy, oversized_header_lengths_refused) {
    /* v2.0: a u32 header length of 4 GiB - 1 in a 16-byte file; v1.0: 65535 in 12 bytes */
    const unsigned char v2[16] = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0xff, 0xff, 0xff, 0xff, '{', '}', ' ', '\n'};
    const unsigned char v1[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0xff, 0xff, '{', '}'};
    const unsigned char *files[2] = {v2, v1};
    const size_t sizes[2] = {sizeof v2, sizeof v1};
    const char *names[2] = {"h2.npy", "h1.npy"};
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(path_in_dir(names[i]), "wb");
        cr_assert_not_null(f);
        cr_assert_eq(fwrite(files[i], 1, sizes[i], f), sizes[i]);
        fclose(f);
        expect_refused(names[i], "truncated .npy header (declares");
    }
}
