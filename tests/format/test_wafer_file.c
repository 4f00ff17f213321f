/*
 * test_wafer_file.c — the .wafer file: round trips, determinism, and refusal of damaged files.
 *
 * Round trips: every fixture model is loaded from ONNX, written, read back, compared field
 * by field with the original (values, dims with their names, constant bytes, nodes,
 * attributes, subgraphs) and run on the fixture inputs: the outputs must be bit-identical
 * (same kernels, same constants, so no tolerance). Hand-built graphs cover nested If
 * subgraphs with branch constants, every attribute type and every storable dtype (int8
 * included). Damage: truncation at every 1/16 of a file, every single-bit flip of the
 * header, 200 random single-bit flips in the body (fixed seed), a wrong version, a wrong
 * magic, and structural lies sealed with a correct checksum — each must give a message
 * naming the file, never a crash (the suite also runs under ASan+UBSan in make test).
 * Version 2: a static-shape model carries its memory plan and still round-trips to the
 * byte; wafer quantize writes the same bytes with OpenBLAS on 1 and on 2 threads. The
 * runtime-side loader has its own suite (tests/runtime/test_rt_model.c).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../format/wafer_file.h"
#include "../../format/wafer_internal.h"
#include "../../frontend/onnx.h"
#include "../../io/npy.h"
#include "../test_util.h"

#define CONFORMANCE_DIR "/usr/share/libonnx-testdata/data/node"

/* ---- files and folders ---- */

static char tmp_dir[256];

static void dir_make(void) {
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/wafer_fmt_XXXXXX");
    cr_assert_not_null(mkdtemp(tmp_dir));
}

/* Removes the folder's files, then the folder. */
static void dir_remove(void) {
    DIR *d = opendir(tmp_dir);
    if (!d) return;
    struct dirent *e;
    char p[600];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "%s/%s", tmp_dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(tmp_dir);
}

/* Number of entries in the temporary folder (leftover temporary files show up here). */
static int dir_count(void) {
    DIR *d = opendir(tmp_dir);
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static const char *tmp_path(const char *name) {
    static char p[4][600];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", tmp_dir, name);
    return p[k];
}

static unsigned char *file_read(const char *path, size_t *n) {
    unsigned char *b = tu_file_read(path, n);
    cr_assert_not_null(b, "cannot open %s", path);
    return b;
}

static void file_put(const char *path, const void *b, size_t n) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(b, 1, n, f), n);
    fclose(f);
}

static uint64_t get_le(const unsigned char *p, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void put_le(unsigned char *p, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* Recomputes the checksum, so a test can present a structural lie to the validator. */
static void reseal(unsigned char *b, size_t n) { put_le(b + n - 8, wf_crc32c(b, n - 8, 1), 8); }

/* ---- graphs ---- */

static IrGraph *onnx_fixture(const char *rel) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", FIXTURES, rel);
    RtError err = {{0}};
    IrGraph *g = onnx_load_file(path, NULL, &err);
    cr_assert_not_null(g, "%s", err.msg);
    return g;
}

static void write_ok(const IrGraph *g, const WaferMeta *m, const char *path) {
    RtError err = {{0}};
    cr_assert_eq(wafer_file_write(g, m, path, &err), RT_OK, "%s", err.msg);
}

static IrGraph *read_ok(const char *path) {
    RtError err = {{0}};
    IrGraph *g = wafer_file_read(path, &err);
    cr_assert_not_null(g, "%s", err.msg);
    return g;
}

/* The message wafer_file_read gives for path (which must fail). */
static const char *read_fails(const char *path) {
    static RtError err;
    memset(&err, 0, sizeof err);
    IrGraph *g = wafer_file_read(path, &err);
    if (g) ir_graph_free(g);
    cr_assert_null(g, "%s: read succeeded, expected an error", path);
    cr_assert(strncmp(err.msg, path, strlen(path)) == 0, "message does not start with the path: %s", err.msg);
    return err.msg;
}

static int str_same(const char *a, const char *b) {
    if (!a || !b) return a == b;
    return strcmp(a, b) == 0;
}

static void tensor_expect_same(const RtTensor *a, const RtTensor *b, const char *what) {
    cr_assert_eq(a->dtype, b->dtype, "%s: dtype", what);
    cr_assert_eq(a->rank, b->rank, "%s: rank", what);
    for (int d = 0; d < a->rank; d++) cr_assert_eq(a->dims[d], b->dims[d], "%s: dim %d", what, d);
    int64_t n = rt_nbytes(a);
    cr_assert_geq(n, 0);
    if (n) cr_assert(memcmp(a->data, b->data, (size_t)n) == 0, "%s: data differs", what);
}

static void graph_expect_same(const IrGraph *a, const IrGraph *b);

static void attr_expect_same(const RtAttr *x, const RtAttr *y, const char *node) {
    if (!tu_attr_expect_same(x, y, node)) return;
    if (x->type == RT_ATTR_TENSOR) tensor_expect_same(x->t, y->t, x->name);
    else graph_expect_same(x->g, y->g);
}

/* Field by field: what the file must carry. */
static void graph_expect_same(const IrGraph *a, const IrGraph *b) {
    cr_assert_str_eq(a->name, b->name);
    cr_assert_str_eq(a->producer_name, b->producer_name);
    cr_assert_eq(a->opset, b->opset);
    cr_assert_eq(a->ir_version, b->ir_version);
    cr_assert_eq(a->n_values, b->n_values);
    cr_assert_eq(a->n_nodes, b->n_nodes);
    cr_assert_eq(a->n_inputs, b->n_inputs);
    cr_assert_eq(a->n_outputs, b->n_outputs);
    for (int i = 0; i < a->n_inputs; i++) cr_assert_eq(a->inputs[i], b->inputs[i]);
    for (int i = 0; i < a->n_outputs; i++) cr_assert_eq(a->outputs[i], b->outputs[i]);
    for (int v = 0; v < a->n_values; v++) {
        const IrValue *x = &a->values[v], *y = &b->values[v];
        cr_assert_str_eq(x->name, y->name);
        cr_assert_eq(x->dtype, y->dtype, "value %s", x->name);
        cr_assert_eq(x->rank, y->rank, "value %s", x->name);
        cr_assert_eq(x->producer, y->producer, "value %s", x->name);
        for (int d = 0; d < x->rank; d++) {
            cr_assert_eq(x->dims[d].value < 0 ? -1 : x->dims[d].value, y->dims[d].value, "value %s dim %d", x->name, d);
            cr_assert(str_same(x->dims[d].sym, y->dims[d].sym), "value %s dim %d name", x->name, d);
        }
        cr_assert_eq(!x->konst, !y->konst, "value %s", x->name);
        if (x->konst) tensor_expect_same(x->konst, y->konst, x->name);
    }
    for (int k = 0; k < a->n_nodes; k++) {
        const RtNode *x = &a->nodes[k], *y = &b->nodes[k];
        cr_assert_eq(x->op, y->op, "node %s", x->name);
        cr_assert_str_eq(x->name, y->name);
        cr_assert_str_eq(x->op_type, y->op_type);
        cr_assert_eq(x->opset, y->opset, "node %s", x->name);
        cr_assert_eq(x->n_in, y->n_in);
        cr_assert_eq(x->n_out, y->n_out);
        for (int j = 0; j < x->n_in; j++) cr_assert_eq(x->in[j], y->in[j]);
        for (int j = 0; j < x->n_out; j++) cr_assert_eq(x->out[j], y->out[j]);
        cr_assert_eq(x->n_attr, y->n_attr, "node %s", x->name);
        for (int t = 0; t < x->n_attr; t++) attr_expect_same(&x->attrs[t], &y->attrs[t], x->name);
    }
}

/* Runs both graphs on the same inputs; every output must match to the bit. */
static void run_expect_identical(const IrGraph *a, const IrGraph *b, const RtTensor *in) {
    RtTensor oa[8], ob[8];
    RtError err = {{0}};
    cr_assert_leq(a->n_outputs, 8);
    cr_assert_eq(ir_run(a, in, oa, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(ir_run(b, in, ob, &err), RT_OK, "%s", err.msg);
    for (int o = 0; o < a->n_outputs; o++) {
        tensor_expect_same(&oa[o], &ob[o], "output");
        free(oa[o].data);
        free(ob[o].data);
    }
}

/* ONNX -> .wafer -> graph: same fields, bit-identical outputs; writing is deterministic. */
static void fixture_round_trip(const char *model, const RtTensor *inputs) {
    dir_make();
    IrGraph *g = onnx_fixture(model);
    WaferMeta m = {"0123456789abcdef", "0.1.0", "--test"};
    write_ok(g, &m, tmp_path("a.wafer"));
    write_ok(g, &m, tmp_path("b.wafer"));
    IrGraph *h = read_ok(tmp_path("a.wafer"));
    graph_expect_same(g, h);
    write_ok(h, &m, tmp_path("c.wafer"));
    size_t na, nb, nc;
    unsigned char *fa = file_read(tmp_path("a.wafer"), &na), *fb = file_read(tmp_path("b.wafer"), &nb),
                  *fc = file_read(tmp_path("c.wafer"), &nc);
    cr_assert(na == nb && memcmp(fa, fb, na) == 0, "writing twice gave different files");
    cr_assert(na == nc && memcmp(fa, fc, na) == 0, "write(read(file)) differs from file");
    run_expect_identical(g, h, inputs);
    free(fa);
    free(fb);
    free(fc);
    ir_graph_free(g);
    ir_graph_free(h);
    dir_remove();
}

Test(wafer_file, digits_mlp_round_trip) {
    RtTensor x = tu_fixture_npy("digits/test_x.npy");
    fixture_round_trip("digits/digits_mlp.onnx", &x);
    free(x.data);
}

Test(wafer_file, digits_cnn_round_trip) {
    RtTensor x = tu_fixture_npy("digits/test_img.npy");
    fixture_round_trip("digits/digits_cnn.onnx", &x);
    free(x.data);
}

Test(wafer_file, digits_cnn_dynamo_round_trip) {
    RtTensor x = tu_fixture_npy("digits/test_img.npy");
    x.dims[0] = 4; /* the dynamo export has a fixed batch of 4: the first 4 rows */
    fixture_round_trip("digits/digits_cnn_dynamo.onnx", &x);
    free(x.data);
}

Test(wafer_file, kws_dscnn_round_trip) {
    RtTensor x = tu_fixture_npy("kws/kws_in.npy");
    fixture_round_trip("kws/kws_dscnn.onnx", &x);
    free(x.data);
}

Test(wafer_file, mobilenet_v2_round_trip, .timeout = 600) {
    RtTensor x = tu_fixture_npy("perf/mobilenet_v2_in.npy");
    fixture_round_trip("perf/mobilenet_v2.onnx", &x);
    free(x.data);
}

Test(wafer_file, tinylm_round_trip, .timeout = 600) {
    RtTensor tok = tu_fixture_npy("tinylm/tinylm_eval_tokens.npy");
    int64_t T = tok.dims[1] - 1; /* inputs are tokens[:2, :T] */
    RtTensor x = {RT_I64, 2, {2, T}, malloc(sizeof(int64_t) * 2 * (size_t)T)};
    for (int b = 0; b < 2; b++)
        memcpy((int64_t *)x.data + b * T, (int64_t *)tok.data + b * tok.dims[1], sizeof(int64_t) * (size_t)T);
    fixture_round_trip("tinylm/tinylm.onnx", &x);
    free(x.data);
    free(tok.data);
}

/* A static-shape model (digits_cnn with its batch bound to 1) carries a PLAN section; the
 * plan is recomputed identically from the graph read back, so the file still round-trips to
 * the byte. */
Test(wafer_file, static_shape_round_trip_keeps_the_plan) {
    dir_make();
    IrGraph *g = onnx_fixture("digits/digits_cnn.onnx");
    RtError err = {{0}};
    const int64_t dims[4] = {1, 1, 8, 8};
    cr_assert_eq(ir_bind_input(g, 0, 4, dims, &err), RT_OK, "%s", err.msg);
    write_ok(g, NULL, tmp_path("a.wafer"));
    IrGraph *h = read_ok(tmp_path("a.wafer"));
    graph_expect_same(g, h);
    write_ok(h, NULL, tmp_path("b.wafer"));
    size_t na, nb;
    unsigned char *fa = file_read(tmp_path("a.wafer"), &na), *fb = file_read(tmp_path("b.wafer"), &nb);
    cr_assert(na == nb && memcmp(fa, fb, na) == 0, "write(read(file)) differs from file");
    const unsigned char *plan = fa + get_le(fa + 32 + 24 * (WF_SEC_PLAN - 1) + 8, 8);
    cr_expect_eq(get_le(plan, 4), 1, "no plan in a static-shape file");
    cr_expect_gt(get_le(plan + 8, 8), 0, "empty arena");
    cr_expect_eq(get_le(plan + 16, 4), (uint64_t)g->n_values);
    free(fa);
    free(fb);
    ir_graph_free(g);
    ir_graph_free(h);
    dir_remove();
}

/* Same inputs and options, same bytes, whatever the thread count: wafer quantize (int8 with
 * calibrated activations, and 4-bit GPTQ, whose Hessian algebra runs on OpenBLAS) with
 * OpenBLAS on 1 and on 2 threads (quantize has no --threads: OpenBLAS's threads are its only
 * parallelism). */
Test(wafer_file, quantize_gives_identical_bytes_on_1_and_2_threads, .timeout = 600) {
    dir_make();
    static const char *const cases[][2] = {
        {"digits/digits_cnn.onnx", "--activations int8 --calib image=%s/digits/calib_img.npy"},
        {"digits/digits_mlp.onnx", "--weights int4 --method gptq --group 16 --calib x=%s/digits/calib_x.npy"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        char opts[600], out[8192];
        snprintf(opts, sizeof opts, cases[c][1], FIXTURES);
        for (int t = 1; t <= 2; t++) {
            char name[32];
            snprintf(name, sizeof name, "q%d.wafer", t);
            int rc = tu_run(out, sizeof out, "OPENBLAS_NUM_THREADS=%d %s quantize %s/%s -o %s %s", t, WAFER_BIN,
                            FIXTURES, cases[c][0], tmp_path(name), opts);
            cr_assert_eq(rc, 0, "%s: exit %d\n%s", cases[c][0], rc, out);
        }
        size_t n1, n2;
        unsigned char *f1 = file_read(tmp_path("q1.wafer"), &n1), *f2 = file_read(tmp_path("q2.wafer"), &n2);
        cr_expect(n1 == n2 && memcmp(f1, f2, n1) == 0, "%s: 1 and 2 threads wrote different files", cases[c][0]);
        ir_graph_free(read_ok(tmp_path("q1.wafer")));
        free(f1);
        free(f2);
    }
    dir_remove();
}

/* ---- hand-built graphs ---- */

static int value_new(IrGraph *g, const char *name, RtDtype dt, int rank, const int64_t *dims) {
    int v = ir_value_add(g, name);
    cr_assert(v >= 0);
    ir_value_set_shape(&g->values[v], dt, rank, dims);
    return v;
}

static void input_add(IrGraph *g, int v) {
    g->inputs = realloc(g->inputs, sizeof(int) * (size_t)(g->n_inputs + 1));
    g->inputs[g->n_inputs++] = v;
}

static void output_add(IrGraph *g, int v) {
    g->outputs = realloc(g->outputs, sizeof(int) * (size_t)(g->n_outputs + 1));
    g->outputs[g->n_outputs++] = v;
}

static IrGraph *graph17(IrGraph *parent) {
    IrGraph *g = ir_graph_new();
    cr_assert_not_null(g);
    g->opset = 17;
    g->ir_version = 8;
    g->parent = parent;
    return g;
}

static int node1(IrGraph *g, int op, const char *name, int n_in, const int *in, const char *out) {
    int64_t d[1] = {3};
    int v = value_new(g, out, RT_F32, 1, d);
    cr_assert(ir_node_add(g, op, name, n_in, in, 1, &v) >= 0);
    return v;
}

static void if_attrs(IrGraph *g, int k, IrGraph *then_g, IrGraph *else_g) {
    RtAttr *a = ir_alloc(g, 2 * sizeof(RtAttr));
    a[0] = (RtAttr){.name = ir_strdup(g, "then_branch"), .type = RT_ATTR_GRAPH, .g = then_g};
    a[1] = (RtAttr){.name = ir_strdup(g, "else_branch"), .type = RT_ATTR_GRAPH, .g = else_g};
    g->nodes[k].attrs = a;
    g->nodes[k].n_attr = 2;
}

/* y = If(c1) { t = x + [1,2,3]; t * If(c2){ -x } else { |x| } } else { -x }.
 * Captures are explicit (frontend/onnx_subgraph.c): both outer branches take (x, c2). */
static IrGraph *nested_if_graph(void) {
    IrGraph *g = graph17(NULL);
    g->name = ir_strdup(g, "nested_if");
    int64_t d[1] = {3};
    int c1 = value_new(g, "c1", RT_BOOL, 0, d), c2 = value_new(g, "c2", RT_BOOL, 0, d);
    int x = value_new(g, "x", RT_F32, 1, d);
    g->values[x].dims[0] = (IrDim){-1, ir_strdup(g, "n")}; /* a named dynamic dim */
    input_add(g, c1);
    input_add(g, c2);
    input_add(g, x);
    IrGraph *br[2];
    for (int i = 0; i < 2; i++) {
        br[i] = graph17(g);
        int bx = value_new(br[i], "x", RT_F32, 1, d), bc = value_new(br[i], "c2", RT_BOOL, 0, d);
        input_add(br[i], bx);
        input_add(br[i], bc);
        if (i == 1) {
            output_add(br[i], node1(br[i], RT_OP_NEG, "else_neg", 1, &bx, "e"));
            continue;
        }
        static const float cv[3] = {1, 2, 3};
        RtTensor ct = {RT_F32, 1, {3}, (void *)cv};
        int in[2] = {bx, ir_const_add(br[i], "bias", &ct)};
        int t = node1(br[i], RT_OP_ADD, "add", 2, in, "t");
        IrGraph *inner[2];
        for (int j = 0; j < 2; j++) {
            inner[j] = graph17(br[i]);
            int ix = value_new(inner[j], "x", RT_F32, 1, d);
            input_add(inner[j], ix);
            output_add(inner[j], node1(inner[j], j ? RT_OP_ABS : RT_OP_NEG, j ? "abs" : "neg", 1, &ix, "r"));
        }
        int iin[2] = {bc, bx};
        int u = node1(br[i], RT_OP_IF, "inner_if", 2, iin, "u");
        if_attrs(br[i], br[i]->n_nodes - 1, inner[0], inner[1]);
        int mi[2] = {t, u};
        output_add(br[i], node1(br[i], RT_OP_MUL, "mul", 2, mi, "m"));
    }
    int in[3] = {c1, x, c2};
    output_add(g, node1(g, RT_OP_IF, "outer_if", 3, in, "y"));
    if_attrs(g, 0, br[0], br[1]);
    RtError err = {{0}};
    cr_assert_eq(ir_verify(g, &err), RT_OK, "%s", err.msg);
    return g;
}

Test(wafer_file, nested_if_subgraphs_round_trip) {
    dir_make();
    IrGraph *g = nested_if_graph();
    write_ok(g, NULL, tmp_path("if.wafer"));
    IrGraph *h = read_ok(tmp_path("if.wafer"));
    graph_expect_same(g, h);
    const IrGraph *then_g = h->nodes[0].attrs[0].g;
    cr_assert_eq(then_g->parent, h, "subgraph parent not set");
    cr_assert_eq(((const IrGraph *)then_g->nodes[1].attrs[0].g)->parent, then_g);
    cr_assert_str_eq(h->values[2].dims[0].sym, "n");
    float xs[3] = {-1.5f, 0.0f, 2.0f};
    for (int c = 0; c < 4; c++) {
        uint8_t c1 = (uint8_t)(c & 1), c2 = (uint8_t)(c >> 1);
        RtTensor in[3] = {{RT_BOOL, 0, {0}, &c1}, {RT_BOOL, 0, {0}, &c2}, {RT_F32, 1, {3}, xs}};
        run_expect_identical(g, h, in);
    }
    ir_graph_free(g);
    ir_graph_free(h);
    dir_remove();
}

/* The conformance suite's own If model (built by the ONNX frontend) survives too. */
Test(wafer_file, onnx_if_model_round_trip) {
    dir_make();
    RtError err = {{0}};
    IrGraph *g = onnx_load_file(CONFORMANCE_DIR "/test_if/model.onnx", NULL, &err);
    cr_assert_not_null(g, "%s", err.msg);
    RtTensor cond;
    cr_assert_eq(onnx_tensor_read_pb(CONFORMANCE_DIR "/test_if/test_data_set_0/input_0.pb", &cond, NULL, 0, &err),
                 RT_OK, "%s", err.msg);
    write_ok(g, NULL, tmp_path("if.wafer"));
    IrGraph *h = read_ok(tmp_path("if.wafer"));
    graph_expect_same(g, h);
    run_expect_identical(g, h, &cond);
    for (int c = 0; c < 2; c++) { /* both branches */
        *(uint8_t *)cond.data = (uint8_t)c;
        run_expect_identical(g, h, &cond);
    }
    free(cond.data);
    ir_graph_free(g);
    ir_graph_free(h);
    dir_remove();
}

/* A Constant node carrying one attribute of every type (a structural check, not run). */
static void constant_all_attrs(IrGraph *g, int out) {
    int k = ir_node_add(g, RT_OP_CONSTANT, "k", 0, NULL, 1, &out);
    cr_assert(k >= 0);
    static const int8_t i8[6] = {-128, -1, 0, 1, 64, 127};
    RtTensor *t = ir_tensor_new(g, RT_I8, 2, (const int64_t[]){2, 3});
    memcpy(t->data, i8, 6);
    float *fl = ir_alloc(g, 3 * sizeof(float));
    fl[0] = -0.0f;
    fl[1] = 1e-38f;
    fl[2] = NAN;
    int64_t *in64 = ir_alloc(g, 2 * sizeof(int64_t));
    in64[0] = INT64_MIN;
    in64[1] = INT64_MAX;
    const char **ss = ir_alloc(g, 2 * sizeof(char *));
    ss[0] = ir_strdup(g, "");
    ss[1] = ir_strdup(g, "uni\xc3\xa7ode");
    RtAttr *a = ir_alloc(g, 7 * sizeof(RtAttr));
    a[0] = (RtAttr){.name = "value", .type = RT_ATTR_TENSOR, .t = t};
    a[1] = (RtAttr){.name = "value_float", .type = RT_ATTR_FLOAT, .f = 3.25f};
    a[2] = (RtAttr){.name = "value_floats", .type = RT_ATTR_FLOATS, .n = 3, .floats = fl};
    a[3] = (RtAttr){.name = "value_int", .type = RT_ATTR_INT, .i = -7};
    a[4] = (RtAttr){.name = "value_ints", .type = RT_ATTR_INTS, .n = 2, .ints = in64};
    a[5] = (RtAttr){.name = "value_string", .type = RT_ATTR_STRING, .s = "s"};
    a[6] = (RtAttr){.name = "value_strings", .type = RT_ATTR_STRINGS, .n = 2, .strings = ss};
    g->nodes[k].attrs = a;
    g->nodes[k].n_attr = 7;
}

Test(wafer_file, every_attribute_type_round_trips) {
    dir_make();
    IrGraph *g = graph17(NULL);
    int out = ir_value_add(g, "k_out");
    constant_all_attrs(g, out);
    output_add(g, out);
    write_ok(g, NULL, tmp_path("attrs.wafer"));
    IrGraph *h = read_ok(tmp_path("attrs.wafer"));
    graph_expect_same(g, h);
    uint32_t nan_bits;
    memcpy(&nan_bits, &h->nodes[0].attrs[2].floats[2], 4);
    cr_expect_eq(nan_bits & 0x7fc00000u, 0x7fc00000u, "NaN bits lost");
    ir_graph_free(g);
    ir_graph_free(h);
    dir_remove();
}

/* Constants of every storable dtype, int8 first; int8 -> float through Cast runs the same. */
Test(wafer_file, int8_and_all_dtype_constants_round_trip) {
    dir_make();
    IrGraph *g = graph17(NULL);
    static const RtDtype dts[] = {RT_I8, RT_U8, RT_I16, RT_U16, RT_I32, RT_U32, RT_I64, RT_U64,
                                  RT_F16, RT_BF16, RT_F32, RT_F64, RT_BOOL};
    int first = -1;
    for (size_t i = 0; i < sizeof dts / sizeof *dts; i++) {
        int64_t dims[2] = {3, 5};
        RtTensor *t = ir_tensor_new(g, dts[i], 2, dims);
        unsigned char *p = t->data;
        for (int64_t b = 0; b < rt_nbytes(t); b++) p[b] = (unsigned char)(dts[i] == RT_BOOL ? b & 1 : b * 37 + 11);
        char name[32];
        snprintf(name, sizeof name, "c_%s", rt_dtype_name(dts[i]));
        int v = ir_const_add(g, name, t);
        cr_assert(v >= 0);
        if (first < 0) first = v;
    }
    RtTensor empty = {RT_F32, 1, {0}, NULL}; /* zero elements: no data blob */
    cr_assert(ir_const_add(g, "empty", &empty) >= 0);
    int out = ir_value_add(g, "as_float");
    cr_assert(ir_node_add(g, RT_OP_CAST, "cast", 1, &first, 1, &out) >= 0);
    RtAttr *a = ir_alloc(g, sizeof *a);
    *a = (RtAttr){.name = "to", .type = RT_ATTR_INT, .i = RT_F32};
    g->nodes[0].attrs = a;
    g->nodes[0].n_attr = 1;
    output_add(g, out);
    write_ok(g, NULL, tmp_path("dt.wafer"));
    IrGraph *h = read_ok(tmp_path("dt.wafer"));
    graph_expect_same(g, h);
    cr_assert_eq(h->values[first].konst->dtype, RT_I8);
    cr_assert_eq(((const int8_t *)h->values[first].konst->data)[1], (int8_t)48);
    for (int v = 0; v < h->n_values; v++)
        if (h->values[v].konst && h->values[v].konst->data && rt_nbytes(h->values[v].konst) > 0)
            cr_assert_eq((uintptr_t)h->values[v].konst->data % 64, 0, "constant data not 64-byte aligned");
    run_expect_identical(g, h, NULL);
    ir_graph_free(g);
    ir_graph_free(h);
    dir_remove();
}

Test(wafer_file, metadata_round_trips_and_hash) {
    dir_make();
    IrGraph *g = nested_if_graph();
    WaferMeta m = {"af63dc4c8601ec8c", "9.9.9", "--activations int8 --exclude fc3"};
    write_ok(g, &m, tmp_path("m.wafer"));
    RtError err = {{0}};
    WaferMeta got;
    IrGraph *h = wafer_file_read_meta(tmp_path("m.wafer"), &got, &err);
    cr_assert_not_null(h, "%s", err.msg);
    cr_expect_str_eq(got.source_hash, m.source_hash);
    cr_expect_str_eq(got.wafer_version, m.wafer_version);
    cr_expect_str_eq(got.options, m.options);
    cr_expect(wafer_file_is(tmp_path("m.wafer")));
    char onnx[512];
    snprintf(onnx, sizeof onnx, "%s/digits/digits_mlp.onnx", FIXTURES);
    cr_expect(!wafer_file_is(onnx));
    cr_expect(!wafer_file_is(tmp_path("absent.wafer")));
    /* FNV-1a 64 test vector: "a" -> af63dc4c8601ec8c */
    file_put(tmp_path("a.txt"), "a", 1);
    char hex[17];
    cr_assert_eq(wafer_file_hash(tmp_path("a.txt"), hex, &err), RT_OK, "%s", err.msg);
    cr_expect_str_eq(hex, "af63dc4c8601ec8c");
    ir_graph_free(g);
    ir_graph_free(h);
    dir_remove();
}

/* The checksum: CRC-32C's check value, and the hardware path equal to the tables on odd
 * lengths and offsets. */
Test(wafer_file, crc32c_check_value_and_paths_agree) {
    cr_expect_eq(wf_crc32c("123456789", 9, 1), 0xE3069283u);
    cr_expect_eq(wf_crc32c("123456789", 9, 0), 0xE3069283u);
    cr_expect_eq(wf_crc32c("", 0, 1), 0u);
    unsigned char buf[1024];
    srand(3);
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)rand();
    static const size_t lens[] = {1, 3, 7, 8, 9, 17, 33, 127, 129, 999};
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++)
        for (size_t off = 0; off < 3; off++)
            cr_expect_eq(wf_crc32c(buf + off, lens[i], 1), wf_crc32c(buf + off, lens[i], 0), "len %zu off %zu",
                         lens[i], off);
}

/* ---- damaged files ---- */

Test(wafer_file, truncated_files_are_refused) {
    dir_make();
    IrGraph *g = onnx_fixture("digits/digits_mlp.onnx");
    write_ok(g, NULL, tmp_path("t.wafer"));
    size_t n;
    unsigned char *b = file_read(tmp_path("t.wafer"), &n);
    for (int k = 0; k < 16; k++) {
        file_put(tmp_path("cut.wafer"), b, n * (size_t)k / 16);
        const char *msg = read_fails(tmp_path("cut.wafer"));
        cr_expect(strstr(msg, k ? "truncated" : "not a .wafer file"), "cut at %d/16: %s", k, msg);
    }
    file_put(tmp_path("cut.wafer"), b, n - 1);
    cr_expect(strstr(read_fails(tmp_path("cut.wafer")), "truncated"));
    free(b);
    ir_graph_free(g);
    dir_remove();
}

Test(wafer_file, every_header_bit_flip_is_refused) {
    dir_make();
    IrGraph *g = nested_if_graph();
    write_ok(g, NULL, tmp_path("h.wafer"));
    size_t n;
    unsigned char *b = file_read(tmp_path("h.wafer"), &n);
    size_t header = 32 + 24 * (size_t)get_le(b + 24, 4);
    for (size_t bit = 0; bit < header * 8; bit++) {
        b[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        file_put(tmp_path("f.wafer"), b, n);
        read_fails(tmp_path("f.wafer"));
        b[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
    free(b);
    ir_graph_free(g);
    dir_remove();
}

Test(wafer_file, random_body_bit_flips_fail_the_checksum) {
    dir_make();
    IrGraph *g = onnx_fixture("digits/digits_cnn.onnx");
    write_ok(g, NULL, tmp_path("r.wafer"));
    size_t n;
    unsigned char *b = file_read(tmp_path("r.wafer"), &n);
    size_t header = 32 + 24 * (size_t)get_le(b + 24, 4);
    srand(12345);
    for (int i = 0; i < 200; i++) {
        size_t pos = header + (size_t)rand() % (n - header);
        unsigned char bit = (unsigned char)(1u << (rand() % 8));
        b[pos] ^= bit;
        file_put(tmp_path("f.wafer"), b, n);
        const char *msg = read_fails(tmp_path("f.wafer"));
        cr_expect(strstr(msg, "checksum mismatch (file corrupted)"), "flip at %zu: %s", pos, msg);
        b[pos] ^= bit;
    }
    free(b);
    ir_graph_free(g);
    dir_remove();
}

/* Bit flips in the structure sections with a recomputed checksum: the validator alone stands
 * between the bytes and the graph. Each read fails with a message or yields a graph that
 * verifies; ASan/UBSan see every access. */
static void sealed_lies(const char *path, int flips, unsigned seed) {
    size_t n;
    unsigned char *b = file_read(path, &n);
    size_t lo = (size_t)get_le(b + 32 + 8, 8);                  /* STRINGS offset */
    size_t data_off = (size_t)get_le(b + 32 + 24 * 4 + 8, 8);   /* DATA: skipped (weights) */
    size_t data_len = (size_t)get_le(b + 32 + 24 * 4 + 16, 8);
    size_t hi = n - 8;
    srand(seed);
    int refused = 0;
    for (int i = 0; i < flips; i++) {
        size_t pos;
        do pos = lo + (size_t)rand() % (hi - lo);
        while (pos >= data_off && pos < data_off + data_len);
        unsigned char bit = (unsigned char)(1u << (rand() % 8));
        b[pos] ^= bit;
        reseal(b, n);
        file_put(tmp_path("lie.wafer"), b, n);
        RtError err = {{0}};
        IrGraph *h = wafer_file_read(tmp_path("lie.wafer"), &err);
        if (h) {
            RtError verr = {{0}};
            cr_expect_eq(ir_verify(h, &verr), RT_OK, "accepted a graph that does not verify: %s", verr.msg);
            ir_graph_free(h);
        } else {
            cr_expect(err.msg[0], "refused without a message");
            refused++;
        }
        b[pos] ^= bit;
    }
    cr_expect_gt(refused, 0, "no sealed lie was refused");
    free(b);
}

Test(wafer_file, sealed_structural_lies_never_crash) {
    dir_make();
    IrGraph *g = nested_if_graph();
    write_ok(g, NULL, tmp_path("s.wafer"));
    sealed_lies(tmp_path("s.wafer"), 600, 7);
    ir_graph_free(g);
    g = onnx_fixture("kws/kws_dscnn.onnx");
    write_ok(g, NULL, tmp_path("s.wafer"));
    sealed_lies(tmp_path("s.wafer"), 200, 8);
    ir_graph_free(g);
    dir_remove();
}

Test(wafer_file, other_version_is_named) {
    dir_make();
    IrGraph *g = nested_if_graph();
    write_ok(g, NULL, tmp_path("v.wafer"));
    size_t n;
    unsigned char *b = file_read(tmp_path("v.wafer"), &n);
    put_le(b + 8, 7, 4);
    char want[700];
    snprintf(want, sizeof want, "%s: .wafer format version 7, this runtime reads version %d", tmp_path("v7.wafer"), WAFER_FILE_VERSION);
    file_put(tmp_path("v7.wafer"), b, n); /* checksum not updated: the version is named first */
    cr_expect_str_eq(read_fails(tmp_path("v7.wafer")), want);
    reseal(b, n);
    file_put(tmp_path("v7.wafer"), b, n);
    cr_expect_str_eq(read_fails(tmp_path("v7.wafer")), want);
    free(b);
    ir_graph_free(g);
    dir_remove();
}

Test(wafer_file, wrong_magic_and_onnx_file_are_refused) {
    dir_make();
    IrGraph *g = nested_if_graph();
    write_ok(g, NULL, tmp_path("m.wafer"));
    size_t n;
    unsigned char *b = file_read(tmp_path("m.wafer"), &n);
    memcpy(b, "WAFERFMX", 8);
    file_put(tmp_path("bad.wafer"), b, n);
    cr_expect(strstr(read_fails(tmp_path("bad.wafer")), "not a .wafer file"));
    free(b);
    char onnx[512];
    snprintf(onnx, sizeof onnx, "%s/digits/digits_mlp.onnx", FIXTURES);
    cr_expect(strstr(read_fails(onnx), "not a .wafer file"));
    file_put(tmp_path("empty.wafer"), "", 0);
    cr_expect(strstr(read_fails(tmp_path("empty.wafer")), "not a .wafer file"));
    RtError err = {{0}};
    cr_expect_null(wafer_file_read(tmp_path("absent.wafer"), &err));
    cr_expect(strstr(err.msg, "cannot open"), "%s", err.msg);
    ir_graph_free(g);
    dir_remove();
}

/* An op this wafer does not know (a renamed op_type string): refused naming node and op. */
Test(wafer_file, unknown_op_is_named) {
    dir_make();
    IrGraph *g = nested_if_graph();
    write_ok(g, NULL, tmp_path("u.wafer"));
    size_t n;
    unsigned char *b = file_read(tmp_path("u.wafer"), &n);
    size_t s_off = (size_t)get_le(b + 32 + 8, 8), s_len = (size_t)get_le(b + 32 + 16, 8);
    unsigned char *p = NULL;
    for (size_t i = s_off; i + 4 <= s_off + s_len && !p; i++)
        if (memcmp(b + i, "\0If\0", 4) == 0) p = b + i;
    cr_assert_not_null(p, "no \"If\" in STRINGS");
    p[2] = 'g'; /* "If" -> "Ig" */
    reseal(b, n);
    file_put(tmp_path("u2.wafer"), b, n);
    const char *msg = read_fails(tmp_path("u2.wafer"));
    cr_expect(strstr(msg, "node 'outer_if' (Ig)") && strstr(msg, "op unknown to this wafer"), "%s", msg);
    free(b);
    ir_graph_free(g);
    dir_remove();
}

/* ---- failed writes ---- */

Test(wafer_file, failed_writes_leave_nothing_behind) {
    dir_make();
    IrGraph *good = nested_if_graph();
    RtError err = {{0}};
    /* missing folder: no file appears */
    cr_expect_neq(wafer_file_write(good, NULL, tmp_path("no/such/dir.wafer"), &err), RT_OK);
    cr_expect(strstr(err.msg, "no/such/dir.wafer"), "%s", err.msg);
    cr_expect_eq(dir_count(), 0);
    /* a graph the format cannot hold: the existing file is untouched, no temporary left */
    write_ok(good, NULL, tmp_path("keep.wafer"));
    size_t n0;
    unsigned char *before = file_read(tmp_path("keep.wafer"), &n0);
    IrGraph *bad = graph17(NULL);
    int64_t d[1] = {2};
    int x = value_new(bad, "x", RT_F32, 1, d);
    input_add(bad, x);
    int y = value_new(bad, "y", RT_F32, 1, d);
    int k = ir_node_add(bad, RT_OP_RELU, "mystery", 1, &x, 1, &y);
    bad->nodes[k].op = RT_OP_UNKNOWN;
    bad->nodes[k].op_type = "Mystery";
    output_add(bad, y);
    memset(&err, 0, sizeof err);
    cr_expect_neq(wafer_file_write(bad, NULL, tmp_path("keep.wafer"), &err), RT_OK);
    cr_expect(strstr(err.msg, "mystery"), "%s", err.msg);
    size_t n1;
    unsigned char *after = file_read(tmp_path("keep.wafer"), &n1);
    cr_expect(n0 == n1 && memcmp(before, after, n0) == 0, "existing file changed");
    cr_expect_eq(dir_count(), 1, "temporary files left behind");
    /* the disk refuses mid-write (file size limit, in a child process) */
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {100, 100};
        setrlimit(RLIMIT_FSIZE, &rl);
        IrGraph *big = onnx_fixture("digits/digits_mlp.onnx");
        RtError e = {{0}};
        int r = wafer_file_write(big, NULL, tmp_path("keep.wafer"), &e);
        _exit(r != RT_OK && strstr(e.msg, "cannot write") ? 0 : 1);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "write past the size limit did not fail cleanly");
    free(after);
    after = file_read(tmp_path("keep.wafer"), &n1);
    cr_expect(n0 == n1 && memcmp(before, after, n0) == 0, "existing file changed by the failed write");
    cr_expect_eq(dir_count(), 1, "temporary files left behind");
    free(before);
    free(after);
    ir_graph_free(good);
    ir_graph_free(bad);
    dir_remove();
}
