/*
 * test_dataset.c — calibration datasets streamed from .npy files: batches across a file
 * (12 rows as 5 + 5 + 2), every common dtype in either byte order converted to the graph
 * input's dtype, and the refusals: Fortran order, row counts that differ between files (both
 * named), files that do not fit the graph's inputs.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../calib/calib.h"
#include "../../io/npy.h"
#include "../ir/ir_test_util.h"

#define ROWS 12
#define COLS 3

static char dir[64];

static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/wafer_calib_ds_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

static const char *path_of(const char *name) {
    static char buf[4][160];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* Element (r, c) of every test file: small integers, exact in every dtype. */
static double value_at(int r, int c) { return r * COLS + c; }

/* Writes a version 1.0 .npy with the given dict text (the test controls descr and order). */
static void write_raw(const char *path, const char *dict, const void *data, size_t bytes) {
    char head[256];
    int n = snprintf(head, sizeof head, "%s", dict);
    int total = 10 + n + 1;
    int pad = (64 - total % 64) % 64;
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    unsigned hlen = (unsigned)(n + pad + 1);
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    fwrite(pre, 1, 10, f);
    fwrite(head, 1, (size_t)n, f);
    for (int i = 0; i < pad; i++) fputc(' ', f);
    fputc('\n', f);
    if (bytes) fwrite(data, 1, bytes, f);
    fclose(f);
}

/* One dtype as numpy names it, with a writer of one element in that dtype (native order). */
typedef struct {
    const char *code;   /* numpy's kind+size, e.g. "f4" */
    RtDtype dt;
    size_t size;
} Kind;

static const Kind kinds[] = {
    {"f4", RT_F32, 4}, {"f8", RT_F64, 8}, {"f2", RT_F16, 2}, {"i1", RT_I8, 1}, {"u1", RT_U8, 1},
    {"i2", RT_I16, 2}, {"u2", RT_U16, 2}, {"i4", RT_I32, 4}, {"u4", RT_U32, 4}, {"i8", RT_I64, 8},
    {"u8", RT_U64, 8},
};

static void put(RtDtype dt, unsigned char *p, double v) {
    switch (dt) {
    case RT_F32: { float x = (float)v; memcpy(p, &x, 4); break; }
    case RT_F64: memcpy(p, &v, 8); break;
    case RT_F16: { uint16_t x = rt_f32_to_f16((float)v); memcpy(p, &x, 2); break; }
    case RT_I8: *(int8_t *)p = (int8_t)v; break;
    case RT_U8: *p = (uint8_t)v; break;
    case RT_I16: { int16_t x = (int16_t)v; memcpy(p, &x, 2); break; }
    case RT_U16: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
    case RT_I32: { int32_t x = (int32_t)v; memcpy(p, &x, 4); break; }
    case RT_U32: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
    case RT_I64: { int64_t x = (int64_t)v; memcpy(p, &x, 8); break; }
    case RT_U64: { uint64_t x = (uint64_t)v; memcpy(p, &x, 8); break; }
    default: cr_assert_fail("dtype");
    }
}

static int host_little(void) {
    uint16_t one = 1;
    return *(uint8_t *)&one == 1;
}

/* A [rows, COLS] file of kind k in byte order `order` ('<' or '>'). */
static void write_kind(const char *path, const Kind *k, char order, int rows) {
    size_t bytes = (size_t)rows * COLS * k->size;
    unsigned char *buf = malloc(bytes + 1);
    cr_assert_not_null(buf);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < COLS; c++) {
            unsigned char *e = buf + ((size_t)r * COLS + c) * k->size;
            put(k->dt, e, value_at(r, c));
            if ((order == '<') != host_little())
                for (size_t a = 0, b = k->size - 1; a < b; a++, b--) {
                    unsigned char t = e[a];
                    e[a] = e[b];
                    e[b] = t;
                }
        }
    char dict[160];
    snprintf(dict, sizeof dict, "{'descr': '%c%s', 'fortran_order': False, 'shape': (%d, %d), }",
             k->size == 1 ? '|' : order, k->code, rows, COLS);
    write_raw(path, dict, buf, bytes);
    free(buf);
}

/* A graph with one input "x" of dtype dt and shape [n, COLS] (no nodes: binding only looks
 * at the inputs). */
static IrGraph *graph_x(RtDtype dt) {
    IrGraph *g = tg_graph(17);
    int64_t dims[2] = {-1, COLS};
    const char *syms[2] = {"n", NULL};
    tg_input(g, "x", dt, 2, dims, syms);
    return g;
}

static CalibDataset *open1(const char *name, const char *path, RtError *err) {
    const char *names[1] = {name}, *paths[1] = {path};
    return calib_dataset_open(1, names, paths, err);
}

/* Checks a batch: n rows starting at row0, as float32 values value_at. */
static void expect_rows_f32(const RtTensor *t, int64_t row0, int64_t n) {
    cr_assert_eq(t->dtype, RT_F32);
    cr_assert_eq(t->rank, 2);
    cr_assert_eq(t->dims[0], n);
    cr_assert_eq(t->dims[1], COLS);
    const float *p = t->data;
    for (int64_t r = 0; r < n; r++)
        for (int c = 0; c < COLS; c++)
            cr_expect_eq(p[r * COLS + c], (float)value_at((int)(row0 + r), c), "row %lld col %d",
                         (long long)(row0 + r), c);
}

TestSuite(dataset, .init = setup, .fini = teardown);

Test(dataset, batches_stream_across_the_file) {
    write_kind(path_of("x.npy"), &kinds[0], '<', ROWS);
    RtError err = {{0}};
    CalibDataset *d = open1("x", path_of("x.npy"), &err);
    cr_assert_not_null(d, "%s", err.msg);
    cr_expect_eq(calib_dataset_rows(d), ROWS);
    IrGraph *g = graph_x(RT_F32);
    RtTensor in;
    cr_expect_lt(calib_dataset_batch(d, 0, 5, &in, &err), 0, "batch before bind must fail");
    cr_assert_eq(calib_dataset_bind(d, g, &err), RT_OK, "%s", err.msg);
    const int64_t want[] = {5, 5, 2, 0};
    int64_t row = 0;
    for (int b = 0; b < 4; b++) {
        int64_t got = calib_dataset_batch(d, row, 5, &in, &err);
        cr_assert_eq(got, want[b], "batch %d: %lld rows (%s)", b, (long long)got, err.msg);
        if (got) expect_rows_f32(&in, row, got);
        row += got;
    }
    /* Random access and a bigger batch after smaller ones. */
    cr_assert_eq(calib_dataset_batch(d, 3, 9, &in, &err), 9);
    expect_rows_f32(&in, 3, 9);
    calib_dataset_free(d);
    ir_graph_free(g);
}

/* Every dtype, both byte orders, read into a float32 graph input. */
Test(dataset, all_dtypes_both_byte_orders) {
    IrGraph *g = graph_x(RT_F32);
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        for (int o = 0; o < 2; o++) {
            char order = o ? '>' : '<';
            const char *p = path_of("t.npy");
            write_kind(p, &kinds[k], order, ROWS);
            RtError err = {{0}};
            CalibDataset *d = open1("x", p, &err);
            cr_assert_not_null(d, "%c%s: %s", order, kinds[k].code, err.msg);
            cr_assert_eq(calib_dataset_bind(d, g, &err), RT_OK, "%s", err.msg);
            RtTensor in;
            cr_assert_eq(calib_dataset_batch(d, 7, 4, &in, &err), 4, "%c%s: %s", order, kinds[k].code,
                         err.msg);
            expect_rows_f32(&in, 7, 4);
            calib_dataset_free(d);
        }
    ir_graph_free(g);
}

/* A big-endian int64 file feeding an int64 input (token ids): swapped, not converted. */
Test(dataset, big_endian_int64_stays_int64) {
    write_kind(path_of("tok.npy"), &kinds[9], '>', ROWS);
    IrGraph *g = graph_x(RT_I64);
    RtError err = {{0}};
    CalibDataset *d = open1("x", path_of("tok.npy"), &err);
    cr_assert_not_null(d, "%s", err.msg);
    cr_assert_eq(calib_dataset_bind(d, g, &err), RT_OK, "%s", err.msg);
    RtTensor in;
    cr_assert_eq(calib_dataset_batch(d, 10, 5, &in, &err), 2);
    cr_assert_eq(in.dtype, RT_I64);
    const int64_t *p = in.data;
    for (int i = 0; i < 2 * COLS; i++) cr_expect_eq(p[i], (int64_t)value_at(10, 0) + i);
    calib_dataset_free(d);
    ir_graph_free(g);
}

Test(dataset, fortran_order_refused) {
    float data[ROWS * COLS] = {0};
    char dict[128];
    snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': True, 'shape': (%d, %d), }", ROWS, COLS);
    write_raw(path_of("f.npy"), dict, data, sizeof data);
    RtError err = {{0}};
    CalibDataset *d = open1("x", path_of("f.npy"), &err);
    cr_expect_null(d);
    cr_expect(strstr(err.msg, "Fortran") && strstr(err.msg, "f.npy"), "%s", err.msg);
}

Test(dataset, mismatched_rows_name_both_files) {
    write_kind(path_of("a.npy"), &kinds[0], '<', ROWS);
    write_kind(path_of("b.npy"), &kinds[0], '<', ROWS - 2);
    const char *names[2] = {"a", "b"}, *paths[2] = {path_of("a.npy"), path_of("b.npy")};
    RtError err = {{0}};
    CalibDataset *d = calib_dataset_open(2, names, paths, &err);
    cr_expect_null(d);
    cr_expect(strstr(err.msg, "a.npy") && strstr(err.msg, "b.npy") && strstr(err.msg, "rows"), "%s",
              err.msg);
}

Test(dataset, bind_refuses_what_does_not_fit) {
    IrGraph *g = graph_x(RT_F32);
    RtError err = {{0}};
    /* Wrong name: the graph input has no data, and the file feeds nothing. */
    write_kind(path_of("x.npy"), &kinds[0], '<', ROWS);
    CalibDataset *d = open1("y", path_of("x.npy"), &err);
    cr_assert_not_null(d, "%s", err.msg);
    cr_expect_eq(calib_dataset_bind(d, g, &err), RT_ERR);
    cr_expect(strstr(err.msg, "'x'") != NULL, "%s", err.msg);
    calib_dataset_free(d);
    /* Wrong row shape: [12, 3] is fine, [4, 9] is not. */
    float data[4 * 9] = {0};
    write_raw(path_of("w.npy"), "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 9), }", data,
              sizeof data);
    memset(&err, 0, sizeof err);
    d = open1("x", path_of("w.npy"), &err);
    cr_assert_not_null(d, "%s", err.msg);
    cr_expect_eq(calib_dataset_bind(d, g, &err), RT_ERR);
    cr_expect(strstr(err.msg, "w.npy") && strstr(err.msg, "[4,9]"), "%s", err.msg);
    calib_dataset_free(d);
    /* A scalar has no rows. */
    float one = 1;
    write_raw(path_of("s.npy"), "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", &one, 4);
    memset(&err, 0, sizeof err);
    cr_expect_null(open1("x", path_of("s.npy"), &err));
    cr_expect(strstr(err.msg, "rows") != NULL, "%s", err.msg);
    ir_graph_free(g);
}

/* The dataset reads with pread from the file, not from a copy: a file truncated after
 * opening is reported on the batch that needs the missing rows. */
Test(dataset, reads_from_the_file_per_batch) {
    const char *p = path_of("x.npy");
    write_kind(p, &kinds[0], '<', ROWS);
    IrGraph *g = graph_x(RT_F32);
    RtError err = {{0}};
    CalibDataset *d = open1("x", p, &err);
    cr_assert_not_null(d, "%s", err.msg);
    cr_assert_eq(calib_dataset_bind(d, g, &err), RT_OK, "%s", err.msg);
    RtTensor shape;
    int64_t off;
    int swap;
    cr_assert_eq(npy_read_header(p, &shape, &off, &swap, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(truncate(p, off + 6 * COLS * 4), 0); /* keep the header and 6 rows */
    RtTensor in;
    cr_expect_eq(calib_dataset_batch(d, 0, 6, &in, &err), 6);
    expect_rows_f32(&in, 0, 6);
    cr_expect_lt(calib_dataset_batch(d, 6, 6, &in, &err), 0);
    cr_expect(strstr(err.msg, "x.npy") != NULL, "%s", err.msg);
    calib_dataset_free(d);
    ir_graph_free(g);
}
