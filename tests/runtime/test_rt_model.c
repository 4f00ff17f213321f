/*
 * test_rt_model.c — the runtime's .wafer loader (runtime/rt_model.h).
 *
 * Round trips: fixture models written by the compiler's writer (wafer_file_write) and opened
 * by rt_model_open_file must carry the same graphs field by field (values with dims and dim
 * names, constant bytes, nodes, attributes, subgraphs, metadata) with every constant's data
 * inside the mapped image (zero copy), and run bit-identically to the IR they came from.
 * Versions: a version-1 file (header sealed with a valid checksum) and a version-3 file are
 * refused naming both versions. Damage: truncation at every length of a small file and at
 * many lengths of a larger one, every header byte and bit flipped, random body flips
 * (checksum mismatch), and flips sealed with a recomputed checksum in the structure and plan
 * sections (each refused with a message, or accepted as a graph that then runs without a
 * memory error: the suite also runs under ASan+UBSan in make test). Also: opening from
 * memory (aligned: in place; unaligned: one copy), the read fallback, two models at once run
 * from two threads, the plan present for a static-shape model and absent for dynamic ones,
 * and a caller's allocator (every block returned; failure at each allocation handled).
 */
#include <criterion/criterion.h>
#include <pthread.h>

#include "../../format/wafer_file.h"
#include "../../frontend/onnx.h"
#include "../../runtime/rt_model.h"
#include "../../runtime/rt_wafer_format.h"
#include "../test_util.h"

#define NODE_DIR "/usr/share/libonnx-testdata/data/node"

static char dir[256];

static void dir_setup(void) { cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_rtm"), 0); }
static void dir_teardown(void) { tu_tmpdir_remove(dir); }

static const char *tmp(const char *name) {
    static char p[4][600];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

static int sanitized(void) { return getenv("WAFER_SANITIZED") != NULL; }

static unsigned char *slurp(const char *path, size_t *n) {
    unsigned char *b = (unsigned char *)tu_file_read(path, n);
    cr_assert_not_null(b, "cannot read %s", path);
    return b;
}

static void file_put(const char *path, const void *b, size_t n) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(b, 1, n, f), n);
    fclose(f);
}

/* Recomputes the checksum so the validator, not the CRC, has to catch a change. */
static void reseal(unsigned char *b, size_t n) {
    wf_put_u32(b + n - 8, rt_crc32c(b, n - 8, 1));
    wf_put_u32(b + n - 4, 0);
}

static IrGraph *onnx_at(const char *path) {
    RtError err = {{0}};
    IrGraph *g = onnx_load_file(path, NULL, &err);
    cr_assert_not_null(g, "%s", err.msg);
    return g;
}

static IrGraph *fixture(const char *rel) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", FIXTURES, rel);
    return onnx_at(path);
}

static const WaferMeta test_meta = {"0123456789abcdef", "0.1.0", "--test rt_model"};

static void write_ok(const IrGraph *g, const char *path) {
    RtError err = {{0}};
    cr_assert_eq(wafer_file_write(g, &test_meta, path, &err), RT_OK, "%s", err.msg);
}

static RtModel *open_ok(const char *path) {
    RtError err = {{0}};
    RtModel *m = rt_model_open_file(path, NULL, &err);
    cr_assert_not_null(m, "%s", err.msg);
    return m;
}

/* The message opening `path` gives (it must fail); the message starts with the path. */
static const char *open_fails(const char *path) {
    static RtError err;
    memset(&err, 0, sizeof err);
    RtModel *m = rt_model_open_file(path, NULL, &err);
    if (m) rt_model_close(m);
    cr_assert_null(m, "%s: opened, expected an error", path);
    cr_assert(strncmp(err.msg, path, strlen(path)) == 0, "message does not start with the path: %s", err.msg);
    return err.msg;
}

/* ---- structural comparison: model graph against the IR it was written from ---- */

static int inside(const void *p, const RtModel *m) {
    const char *lo = rt_model_image(m), *q = p;
    return q >= lo && q < lo + rt_model_image_bytes(m);
}

static int64_t tensor_expect_same(const RtModel *m, const RtTensor *x, const RtTensor *y, const char *what) {
    cr_assert_eq(x->dtype, y->dtype, "%s: dtype", what);
    cr_assert_eq(x->rank, y->rank, "%s: rank", what);
    for (int d = 0; d < x->rank; d++) cr_assert_eq(x->dims[d], y->dims[d], "%s: dim %d", what, d);
    int64_t n = rt_nbytes(x);
    cr_assert_not_null(y->data, "%s: no data", what);
    if (n > 0) {
        cr_assert(memcmp(x->data, y->data, (size_t)n) == 0, "%s: data differs", what);
        cr_assert(inside(y->data, m), "%s: data copied out of the image (not zero-copy)", what);
        cr_assert_eq((uintptr_t)y->data % WF_ALIGN, 0, "%s: data not 64-byte aligned", what);
    }
    return n;
}

static int64_t graph_expect_same(const RtModel *m, const IrGraph *g, const RtGraph *r);

static int64_t attr_expect_same(const RtModel *m, const RtAttr *x, const RtAttr *y, const char *node) {
    if (!tu_attr_expect_same(x, y, node)) return 0;
    return x->type == RT_ATTR_TENSOR ? tensor_expect_same(m, x->t, y->t, x->name) : graph_expect_same(m, x->g, y->g);
}

/* Field by field; returns the constant bytes seen (subgraphs included). */
static int64_t graph_expect_same(const RtModel *m, const IrGraph *g, const RtGraph *r) {
    const RtGraphInfo *info = rt_model_graph_info(m, r);
    cr_assert_not_null(info, "graph not owned by the model");
    cr_assert_str_eq(info->name, g->name ? g->name : "");
    cr_assert_str_eq(info->producer, g->producer_name ? g->producer_name : "");
    cr_assert_eq(info->opset, g->opset);
    cr_assert_eq(info->ir_version, g->ir_version);
    cr_assert_eq(r->n_values, g->n_values);
    cr_assert_eq(r->n_nodes, g->n_nodes);
    cr_assert_eq(r->n_inputs, g->n_inputs);
    cr_assert_eq(r->n_outputs, g->n_outputs);
    for (int i = 0; i < g->n_inputs; i++) cr_assert_eq(r->inputs[i], g->inputs[i]);
    for (int i = 0; i < g->n_outputs; i++) cr_assert_eq(r->outputs[i], g->outputs[i]);
    int64_t bytes = 0;
    for (int v = 0; v < g->n_values; v++) {
        const IrValue *x = &g->values[v];
        const RtValueInfo *y = &info->values[v];
        cr_assert_str_eq(x->name, y->name);
        cr_assert_str_eq(x->name, r->value_names[v]);
        cr_assert_eq(x->dtype, y->dtype, "value %s", x->name);
        cr_assert_eq(x->rank, y->rank, "value %s", x->name);
        for (int d = 0; d < x->rank; d++) {
            cr_assert_eq(x->dims[d].value < 0 ? -1 : x->dims[d].value, y->dims[d], "value %s dim %d", x->name, d);
            if (x->dims[d].sym) cr_assert_str_eq(x->dims[d].sym, y->dim_names[d], "value %s dim %d", x->name, d);
            else cr_assert_null(y->dim_names[d], "value %s dim %d", x->name, d);
        }
        cr_assert_eq(!x->konst, !r->consts[v], "value %s", x->name);
        if (x->konst) bytes += tensor_expect_same(m, x->konst, r->consts[v], x->name);
    }
    for (int k = 0; k < g->n_nodes; k++) {
        const RtNode *x = &g->nodes[k], *y = &r->nodes[k];
        cr_assert_eq(x->op, y->op, "node %s", x->name);
        cr_assert_str_eq(x->name, y->name);
        cr_assert_str_eq(rt_op_name(x->op), y->op_type);
        cr_assert_str_eq(rt_op_domain(x->op), y->domain);
        cr_assert_eq(x->opset, y->opset, "node %s", x->name);
        cr_assert_eq(x->n_in, y->n_in);
        cr_assert_eq(x->n_out, y->n_out);
        for (int j = 0; j < x->n_in; j++) cr_assert_eq(x->in[j], y->in[j]);
        for (int j = 0; j < x->n_out; j++) cr_assert_eq(x->out[j], y->out[j]);
        cr_assert_eq(x->n_attr, y->n_attr, "node %s", x->name);
        for (int t = 0; t < x->n_attr; t++) bytes += attr_expect_same(m, &x->attrs[t], &y->attrs[t], x->name);
    }
    return bytes;
}

/* Runs the IR and the loaded graph on the same inputs: outputs identical to the bit. */
static void run_expect_identical(const IrGraph *g, const RtGraph *r, const RtTensor *in) {
    RtTensor oa[8], ob[8];
    RtError err = {{0}};
    cr_assert_leq(g->n_outputs, 8);
    cr_assert_eq(ir_run(g, in, oa, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(rt_graph_run(r, in, ob, NULL, &err), RT_OK, "%s", err.msg);
    for (int o = 0; o < g->n_outputs; o++) {
        int64_t n = rt_nbytes(&oa[o]);
        cr_assert(rt_shape_equal(&oa[o], &ob[o]), "output %d shape", o);
        cr_assert(n >= 0 && memcmp(oa[o].data, ob[o].data, (size_t)n) == 0, "output %d differs", o);
        free(oa[o].data);
        free(ob[o].data);
    }
}

/* ONNX -> writer -> rt_model: same graphs, metadata, zero-copy weights, same outputs. */
static void fixture_round_trip(const char *rel, const RtTensor *in, int run) {
    IrGraph *g = fixture(rel);
    write_ok(g, tmp("m.wafer"));
    RtModel *m = open_ok(tmp("m.wafer"));
    cr_expect(rt_model_is_mapped(m), "the file was not mapped");
    cr_expect_eq(rt_model_format_version(m), WF_VERSION);
    int64_t bytes = graph_expect_same(m, g, rt_model_graph(m));
    cr_expect_eq(rt_model_weight_bytes(m), bytes, "weight bytes");
    cr_expect_gt(rt_model_image_bytes(m), bytes);
    cr_expect_str_eq(rt_model_meta(m, "source_hash"), test_meta.source_hash);
    cr_expect_str_eq(rt_model_meta(m, "wafer_version"), test_meta.wafer_version);
    cr_expect_str_eq(rt_model_meta(m, "options"), test_meta.options);
    cr_expect_null(rt_model_meta(m, "no such key"));
    for (int v = 0; v < g->n_values; v++) cr_assert_eq(rt_model_value(m, v)->dtype, g->values[v].dtype);
    cr_expect_null(rt_model_value(m, g->n_values));
    cr_expect_null(rt_model_value(m, -1));
    if (run) run_expect_identical(g, rt_model_graph(m), in);
    rt_model_close(m);
    ir_graph_free(g);
}

TestSuite(rt_model, .init = dir_setup, .fini = dir_teardown);

Test(rt_model, digits_mlp_round_trip) {
    RtTensor x = tu_fixture_npy("digits/test_x.npy");
    fixture_round_trip("digits/digits_mlp.onnx", &x, 1);
    free(x.data);
}

Test(rt_model, digits_cnn_round_trip) {
    RtTensor x = tu_fixture_npy("digits/test_img.npy");
    fixture_round_trip("digits/digits_cnn.onnx", &x, 1);
    free(x.data);
}

Test(rt_model, kws_dscnn_round_trip) {
    RtTensor x = tu_fixture_npy("kws/kws_in.npy");
    fixture_round_trip("kws/kws_dscnn.onnx", &x, 1);
    free(x.data);
}

Test(rt_model, mobilenet_v2_round_trip, .timeout = 600) {
    RtTensor x = tu_fixture_npy("perf/mobilenet_v2_in.npy");
    fixture_round_trip("perf/mobilenet_v2.onnx", &x, !sanitized());
    free(x.data);
}

Test(rt_model, tinylm_round_trip, .timeout = 600) {
    RtTensor tok = tu_fixture_npy("tinylm/tinylm_eval_tokens.npy");
    int64_t T = tok.dims[1] - 1; /* input: tokens[:1, :T] */
    RtTensor x = {RT_I64, 2, {1, T}, tok.data};
    fixture_round_trip("tinylm/tinylm.onnx", &x, !sanitized());
    free(tok.data);
}

/* An If with then/else subgraphs (ONNX node test): subgraphs are the model's own graphs. */
Test(rt_model, if_subgraphs_round_trip) {
    IrGraph *g = onnx_at(NODE_DIR "/test_if/model.onnx");
    write_ok(g, tmp("if.wafer"));
    RtModel *m = open_ok(tmp("if.wafer"));
    graph_expect_same(m, g, rt_model_graph(m));
    cr_expect_eq(rt_model_graph_count(m), 3);
    cr_expect_not_null(rt_model_graph_at(m, 2));
    cr_expect_null(rt_model_graph_at(m, 3));
    RtTensor cond = {RT_BOOL, 0, {0}, (uint8_t[1]){1}};
    for (int c = 0; c < 2; c++) {
        *(uint8_t *)cond.data = (uint8_t)c;
        run_expect_identical(g, rt_model_graph(m), &cond);
    }
    rt_model_close(m);
    ir_graph_free(g);
}

/* ---- versions ---- */

static unsigned char *small_file(size_t *n) {
    IrGraph *g = onnx_at(NODE_DIR "/test_if/model.onnx");
    write_ok(g, tmp("small.wafer"));
    ir_graph_free(g);
    return slurp(tmp("small.wafer"), n);
}

/* A version-1 file: the v1 header (6 sections, version 1) with a valid checksum. */
Test(rt_model, version_1_file_is_refused_naming_both_versions) {
    size_t n;
    unsigned char *b = small_file(&n);
    wf_put_u32(b + 8, 1);
    wf_put_u32(b + 24, 6);
    reseal(b, n);
    file_put(tmp("v1.wafer"), b, n);
    char want[700];
    snprintf(want, sizeof want, "%s: .wafer format version 1, this runtime reads version 2", tmp("v1.wafer"));
    cr_expect_str_eq(open_fails(tmp("v1.wafer")), want);
    RtError err = {{0}};
    cr_expect_null(wafer_file_read(tmp("v1.wafer"), &err));
    cr_expect_str_eq(err.msg, want, "the compiler's reader gives the runtime's message");
    free(b);
}

Test(rt_model, newer_versions_are_refused_naming_both_versions) {
    size_t n;
    unsigned char *b = small_file(&n);
    static const uint32_t versions[] = {3, 0, 0xFFFFFFFFu};
    for (size_t i = 0; i < sizeof versions / sizeof *versions; i++) {
        wf_put_u32(b + 8, versions[i]);
        for (int sealed = 0; sealed < 2; sealed++) { /* named before the checksum is looked at */
            if (sealed) reseal(b, n);
            file_put(tmp("vx.wafer"), b, n);
            char want[700];
            snprintf(want, sizeof want, "%s: .wafer format version %u, this runtime reads version 2", tmp("vx.wafer"),
                     versions[i]);
            cr_expect_str_eq(open_fails(tmp("vx.wafer")), want);
        }
    }
    free(b);
}

/* ---- damage ---- */

Test(rt_model, truncation_at_every_length_is_refused) {
    size_t n;
    unsigned char *b = small_file(&n);
    for (size_t k = 0; k < n; k++) {
        RtError err = {{0}};
        RtModel *m = rt_model_open_memory(b, k, "cut", NULL, &err);
        cr_assert_null(m, "cut at %zu of %zu opened", k, n);
        cr_assert(strncmp(err.msg, "cut: ", 5) == 0, "%s", err.msg);
        if (k >= 12) cr_assert(strstr(err.msg, "truncated"), "cut at %zu: %s", k, err.msg);
    }
    free(b);
    IrGraph *g = fixture("digits/digits_cnn.onnx");
    write_ok(g, tmp("cnn.wafer"));
    ir_graph_free(g);
    b = slurp(tmp("cnn.wafer"), &n);
    for (int k = 0; k < 64; k++) {
        size_t len = n * (size_t)k / 64 + (size_t)k % 7;
        file_put(tmp("cut.wafer"), b, len);
        const char *msg = open_fails(tmp("cut.wafer"));
        cr_expect(strstr(msg, len >= 12 ? "truncated" : "not a .wafer file"), "cut at %zu: %s", len, msg);
    }
    free(b);
}

static size_t header_bytes(void) { return WF_HEADER_BYTES + WF_SECTION_BYTES * (size_t)WF_SEC_COUNT; }

Test(rt_model, every_header_byte_and_bit_flip_is_refused) {
    size_t n;
    unsigned char *b = small_file(&n);
    for (size_t i = 0; i < header_bytes(); i++) {
        for (int f = 0; f < 9; f++) { /* each bit, then the whole byte */
            unsigned char mask = (unsigned char)(f < 8 ? 1u << f : 0xFF);
            b[i] ^= mask;
            RtError err = {{0}};
            RtModel *m = rt_model_open_memory(b, n, "hdr", NULL, &err);
            cr_assert_null(m, "flip 0x%02x at header byte %zu opened", mask, i);
            cr_assert(strncmp(err.msg, "hdr: ", 5) == 0, "%s", err.msg);
            b[i] ^= mask;
        }
    }
    free(b);
}

Test(rt_model, random_body_flips_fail_the_checksum) {
    IrGraph *g = fixture("digits/digits_cnn.onnx");
    write_ok(g, tmp("r.wafer"));
    ir_graph_free(g);
    size_t n;
    unsigned char *b = slurp(tmp("r.wafer"), &n);
    srand(4242);
    for (int i = 0; i < 300; i++) {
        size_t pos = header_bytes() + (size_t)rand() % (n - header_bytes());
        unsigned char mask = (unsigned char)(1u + (unsigned)rand() % 255u);
        b[pos] ^= mask;
        RtError err = {{0}};
        RtModel *m = rt_model_open_memory(b, n, "body", NULL, &err);
        cr_assert_null(m);
        cr_expect_str_eq(err.msg, "body: checksum mismatch (file corrupted)", "flip at %zu", pos);
        b[pos] ^= mask;
    }
    free(b);
}

/* Runs a model that passed validation: a refusal by a kernel is fine, a memory error is not
 * (ASan watches). Planned too, when the file has a plan of reasonable size. */
static void run_accepted(const RtModel *m, const RtTensor *in) {
    const RtGraph *g = rt_model_graph(m);
    if (g->n_inputs != 1 || g->n_outputs > 8) return;
    const RtValueInfo *vi = rt_model_value(m, g->inputs[0]);
    if (vi->dtype != in->dtype || vi->rank != in->rank) return;
    RtTensor out[8];
    RtError err = {{0}};
    if (rt_graph_run(g, in, out, NULL, &err) == RT_OK)
        for (int o = 0; o < g->n_outputs; o++) free(out[o].data);
    const RtPlan *p = rt_model_plan(m);
    if (!p || p->arena_bytes > (64 << 20) || !rt_plan_matches(g, p, in)) return;
    void *arena = rt_allocator_default()->alloc(NULL, (size_t)p->arena_bytes + 64);
    cr_assert_not_null(arena);
    memset(&err, 0, sizeof err);
    rt_plan_run(g, p, arena, in, out, NULL, &err); /* outputs are views into the arena */
    rt_allocator_default()->free(NULL, arena);
}

/* Flips (sealed with a valid checksum) between the section table's end and the checksum,
 * skipping DATA unless `data` (weights can hold any bytes). Returns how many were refused. */
static int sealed_flips(const char *path, int flips, unsigned seed, int only_sec, const RtTensor *in) {
    size_t n;
    unsigned char *b = slurp(path, &n);
    size_t data_off = (size_t)wf_get_u64(b + WF_HEADER_BYTES + WF_SECTION_BYTES * (WF_SEC_DATA - 1) + 8);
    size_t data_len = (size_t)wf_get_u64(b + WF_HEADER_BYTES + WF_SECTION_BYTES * (WF_SEC_DATA - 1) + 16);
    size_t lo = header_bytes(), hi = n - WF_CHECKSUM_BYTES;
    if (only_sec) {
        const unsigned char *e = b + WF_HEADER_BYTES + WF_SECTION_BYTES * (size_t)(only_sec - 1);
        lo = (size_t)wf_get_u64(e + 8);
        hi = lo + (size_t)wf_get_u64(e + 16);
    }
    srand(seed);
    int refused = 0;
    for (int i = 0; i < flips; i++) {
        size_t pos;
        do pos = lo + (size_t)rand() % (hi - lo);
        while (!only_sec && pos >= data_off && pos < data_off + data_len);
        unsigned char mask = (unsigned char)(rand() % 3 ? 1u << (rand() % 8) : 1u + (unsigned)rand() % 255u);
        b[pos] ^= mask;
        reseal(b, n);
        RtError err = {{0}};
        RtModel *m = rt_model_open_memory(b, n, "lie", NULL, &err);
        if (m) {
            run_accepted(m, in);
            rt_model_close(m);
        } else {
            cr_assert(strncmp(err.msg, "lie: ", 5) == 0 && err.msg[5], "refused without a message: %s", err.msg);
            refused++;
        }
        b[pos] ^= mask;
    }
    free(b);
    return refused;
}

Test(rt_model, sealed_structural_lies_never_crash, .timeout = 600) {
    IrGraph *g = fixture("digits/digits_mlp.onnx");
    write_ok(g, tmp("s.wafer"));
    ir_graph_free(g);
    RtTensor x = tu_fixture_npy("digits/test_x.npy");
    x.dims[0] = 2;
    cr_expect_gt(sealed_flips(tmp("s.wafer"), 1500, 11, 0, &x), 0, "no lie refused");
    free(x.data);
    g = onnx_at(NODE_DIR "/test_if/model.onnx");
    write_ok(g, tmp("s.wafer"));
    ir_graph_free(g);
    RtTensor cond = {RT_BOOL, 0, {0}, (uint8_t[1]){1}};
    cr_expect_gt(sealed_flips(tmp("s.wafer"), 1500, 12, 0, &cond), 0, "no lie refused");
}

/* digits_cnn with its batch bound to 1: a file with a plan. */
static IrGraph *static_cnn(void) {
    IrGraph *g = fixture("digits/digits_cnn.onnx");
    RtError err = {{0}};
    const int64_t dims[4] = {1, 1, 8, 8};
    cr_assert_eq(ir_bind_input(g, 0, 4, dims, &err), RT_OK, "%s", err.msg);
    return g;
}

Test(rt_model, sealed_plan_lies_are_refused_or_safe, .timeout = 600) {
    IrGraph *g = static_cnn();
    write_ok(g, tmp("p.wafer"));
    ir_graph_free(g);
    RtTensor x = tu_fixture_npy("digits/test_img.npy");
    x.dims[0] = 1;
    int refused = sealed_flips(tmp("p.wafer"), 1000, 13, WF_SEC_PLAN, &x);
    cr_expect_gt(refused, 100, "only %d of 1000 plan lies refused", refused);
    free(x.data);
}

/* An op this runtime does not know (its name changed in STRINGS): refused naming node and op. */
Test(rt_model, unknown_op_is_named) {
    size_t n;
    unsigned char *b = small_file(&n);
    size_t s_off = (size_t)wf_get_u64(b + WF_HEADER_BYTES + 8), s_len = (size_t)wf_get_u64(b + WF_HEADER_BYTES + 16);
    unsigned char *p = NULL;
    for (size_t i = s_off; i + 4 <= s_off + s_len && !p; i++)
        if (memcmp(b + i, "\0If\0", 4) == 0) p = b + i;
    cr_assert_not_null(p, "no \"If\" in STRINGS");
    p[2] = 'g';
    reseal(b, n);
    RtError err = {{0}};
    cr_assert_null(rt_model_open_memory(b, n, "u.wafer", NULL, &err));
    cr_expect(strncmp(err.msg, "u.wafer: node '", 15) == 0 && strstr(err.msg, "' (Ig): op unknown to this wafer"), "%s",
              err.msg);
    free(b);
}

/* ---- opening ---- */

Test(rt_model, open_from_memory_aligned_in_place_unaligned_copied) {
    IrGraph *g = fixture("digits/digits_mlp.onnx");
    write_ok(g, tmp("mem.wafer"));
    size_t n;
    unsigned char *b = slurp(tmp("mem.wafer"), &n);
    unsigned char *buf = rt_allocator_default()->alloc(NULL, n + 64);
    cr_assert_not_null(buf);
    RtTensor x = tu_fixture_npy("digits/test_x.npy");
    for (int shift = 0; shift < 2; shift++) {
        unsigned char *at = buf + shift; /* 64-byte aligned, then not */
        memcpy(at, b, n);
        RtError err = {{0}};
        RtModel *m = rt_model_open_memory(at, n, "<memory>", NULL, &err);
        cr_assert_not_null(m, "%s", err.msg);
        cr_expect(!rt_model_is_mapped(m));
        cr_expect_eq(rt_model_image(m) == at, shift == 0, "aligned bytes used in place, unaligned copied");
        graph_expect_same(m, g, rt_model_graph(m));
        run_expect_identical(g, rt_model_graph(m), &x);
        rt_model_close(m);
    }
    RtError err = {{0}};
    cr_expect_null(rt_model_open_memory(b, 3, NULL, NULL, &err));
    cr_expect(strstr(err.msg, "<memory>: not a .wafer file"), "%s", err.msg);
    free(x.data);
    rt_allocator_default()->free(NULL, buf);
    free(b);
    ir_graph_free(g);
}

Test(rt_model, read_fallback_without_mmap) {
    IrGraph *g = fixture("kws/kws_dscnn.onnx");
    write_ok(g, tmp("r.wafer"));
    RtError err = {{0}};
    RtModel *m = rt_model_open_file_flags(tmp("r.wafer"), NULL, RT_MODEL_NO_MMAP, &err);
    cr_assert_not_null(m, "%s", err.msg);
    cr_expect(!rt_model_is_mapped(m));
    graph_expect_same(m, g, rt_model_graph(m));
    RtTensor x = tu_fixture_npy("kws/kws_in.npy");
    run_expect_identical(g, rt_model_graph(m), &x);
    free(x.data);
    rt_model_close(m);
    ir_graph_free(g);
    cr_expect(strstr(open_fails(tmp("absent.wafer")), "cannot open"));
    cr_expect(strstr(open_fails(dir), "not a regular file"));
    file_put(tmp("empty.wafer"), "", 0);
    cr_expect(strstr(open_fails(tmp("empty.wafer")), "not a .wafer file"));
    char onnx[512];
    snprintf(onnx, sizeof onnx, "%s/digits/digits_mlp.onnx", FIXTURES);
    cr_expect(strstr(open_fails(onnx), "not a .wafer file (no WAFERFMT magic)"));
}

typedef struct {
    const RtModel *m;
    const RtTensor *x;
    RtTensor out;
    int status;
} RunJob;

static void *run_job(void *arg) {
    RunJob *j = arg;
    RtError err = {{0}};
    for (int it = 0; it < 5 && j->status == RT_OK; it++) {
        if (it) free(j->out.data);
        j->status = rt_graph_run(rt_model_graph(j->m), j->x, &j->out, NULL, &err);
    }
    return NULL;
}

/* Two models open at once, each run from its own thread at the same time; the results are
 * those of each model run alone. */
Test(rt_model, two_models_run_concurrently) {
    IrGraph *ga = fixture("digits/digits_cnn.onnx"), *gb = fixture("kws/kws_dscnn.onnx");
    write_ok(ga, tmp("a.wafer"));
    write_ok(gb, tmp("b.wafer"));
    RtModel *ma = open_ok(tmp("a.wafer")), *mb = open_ok(tmp("b.wafer"));
    RtTensor xa = tu_fixture_npy("digits/test_img.npy"), xb = tu_fixture_npy("kws/kws_in.npy");
    RunJob ja = {ma, &xa, {0}, RT_OK}, jb = {mb, &xb, {0}, RT_OK};
    pthread_t ta, tb;
    cr_assert_eq(pthread_create(&ta, NULL, run_job, &ja), 0);
    cr_assert_eq(pthread_create(&tb, NULL, run_job, &jb), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    cr_assert_eq(ja.status, RT_OK);
    cr_assert_eq(jb.status, RT_OK);
    RtTensor ra, rb;
    RtError err = {{0}};
    cr_assert_eq(ir_run(ga, &xa, &ra, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(ir_run(gb, &xb, &rb, &err), RT_OK, "%s", err.msg);
    cr_expect(memcmp(ra.data, ja.out.data, (size_t)rt_nbytes(&ra)) == 0);
    cr_expect(memcmp(rb.data, jb.out.data, (size_t)rt_nbytes(&rb)) == 0);
    free(ra.data);
    free(rb.data);
    free(ja.out.data);
    free(jb.out.data);
    free(xa.data);
    free(xb.data);
    rt_model_close(ma);
    rt_model_close(mb);
    ir_graph_free(ga);
    ir_graph_free(gb);
}

/* ---- the plan ---- */

Test(rt_model, plan_present_for_static_shapes_and_runs) {
    IrGraph *g = static_cnn();
    write_ok(g, tmp("p.wafer"));
    RtModel *m = open_ok(tmp("p.wafer"));
    const RtPlan *p = rt_model_plan(m);
    cr_assert_not_null(p, "no plan for a static-shape model");
    const RtGraph *rg = rt_model_graph(m);
    cr_expect_eq(p->n_values, rg->n_values);
    cr_expect_gt(p->arena_bytes, 0);
    cr_expect_eq(p->arena_bytes % RT_PLAN_ALIGN, 0);
    RtError err = {{0}};
    cr_expect_eq(rt_plan_check(rg, p, &err), RT_OK, "%s", err.msg);
    /* the same plan as the planner makes now */
    IrLowered *l = ir_lower(g, &err);
    cr_assert_not_null(l);
    RtTensor x = tu_fixture_npy("digits/test_img.npy");
    x.dims[0] = 1;
    RtPlan q;
    cr_assert_eq(rt_plan_build(ir_lowered_graph(l), &x, &q, &err), RT_OK, "%s", err.msg);
    cr_expect_eq(q.arena_bytes, p->arena_bytes);
    for (int v = 0; v < q.n_values; v++) {
        cr_expect_eq(q.offset[v], p->offset[v], "value %d", v);
        cr_expect_eq(q.bytes[v], p->bytes[v], "value %d", v);
        cr_expect(rt_shape_equal(&q.value[v], &p->value[v]) && q.value[v].dtype == p->value[v].dtype, "value %d", v);
    }
    rt_plan_free(&q);
    ir_lowered_free(l);
    /* a planned run gives the dynamic executor's outputs */
    cr_assert(rt_plan_matches(rg, p, &x));
    void *arena = rt_allocator_default()->alloc(NULL, (size_t)p->arena_bytes);
    RtTensor planned, dyn;
    cr_assert_eq(rt_plan_run(rg, p, arena, &x, &planned, NULL, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(rt_graph_run(rg, &x, &dyn, NULL, &err), RT_OK, "%s", err.msg);
    cr_expect(rt_shape_equal(&planned, &dyn) && memcmp(planned.data, dyn.data, (size_t)rt_nbytes(&dyn)) == 0);
    free(dyn.data);
    rt_allocator_default()->free(NULL, arena);
    free(x.data);
    rt_model_close(m);
    ir_graph_free(g);
}

Test(rt_model, plan_absent_for_dynamic_shapes) {
    static const char *const models[] = {"digits/digits_cnn.onnx", "tinylm/tinylm.onnx"};
    for (int i = 0; i < 2; i++) {
        IrGraph *g = fixture(models[i]);
        write_ok(g, tmp("d.wafer"));
        RtModel *m = open_ok(tmp("d.wafer"));
        cr_expect_null(rt_model_plan(m), "%s: dynamic batch, yet a plan", models[i]);
        const RtValueInfo *in = rt_model_value(m, rt_model_graph(m)->inputs[0]);
        cr_expect_eq(in->dims[0], -1);
        cr_expect_not_null(in->dim_names[0], "%s: the dynamic dim's name", models[i]);
        rt_model_close(m);
        ir_graph_free(g);
    }
}

/* ---- the caller's allocator ---- */

typedef struct {
    int live;       /* blocks not yet freed */
    int calls;      /* allocations so far */
    int fail_at;    /* allocation number that fails (0 = never) */
} CountAlloc;

static void *count_alloc(void *user, size_t bytes) {
    CountAlloc *c = user;
    if (++c->calls == c->fail_at) return NULL;
    void *p = rt_allocator_default()->alloc(NULL, bytes);
    if (p) c->live++;
    return p;
}

static void count_free(void *user, void *p) {
    CountAlloc *c = user;
    if (!p) return;
    c->live--;
    rt_allocator_default()->free(NULL, p);
}

Test(rt_model, caller_allocator_is_used_and_every_failure_is_clean) {
    IrGraph *g = onnx_at(NODE_DIR "/test_if/model.onnx");
    write_ok(g, tmp("a.wafer"));
    ir_graph_free(g);
    for (int no_mmap = 0; no_mmap < 2; no_mmap++) {
        CountAlloc c = {0, 0, 0};
        RtAllocator a = {count_alloc, count_free, &c};
        RtError err = {{0}};
        RtModel *m = rt_model_open_file_flags(tmp("a.wafer"), &a, no_mmap ? RT_MODEL_NO_MMAP : 0, &err);
        cr_assert_not_null(m, "%s", err.msg);
        int total = c.calls;
        cr_expect_gt(total, 1, "the caller's allocator was not used");
        rt_model_close(m);
        cr_expect_eq(c.live, 0, "blocks left after close");
        for (int k = 1; k <= total; k++) {
            CountAlloc f = {0, 0, k};
            RtAllocator fa = {count_alloc, count_free, &f};
            memset(&err, 0, sizeof err);
            m = rt_model_open_file_flags(tmp("a.wafer"), &fa, no_mmap ? RT_MODEL_NO_MMAP : 0, &err);
            cr_expect_null(m, "allocation %d of %d failed, yet the model opened", k, total);
            if (m) rt_model_close(m);
            cr_expect(strstr(err.msg, "out of memory"), "allocation %d: %s", k, err.msg);
            cr_expect_eq(f.live, 0, "allocation %d failed: %d blocks left", k, f.live);
        }
    }
}
