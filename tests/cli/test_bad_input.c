/*
 * test_bad_input.c — a corpus of broken inputs, made here, each fed to the `wafer` CLI.
 * Every case must end with exit status 2 and a message naming the problem: never a crash
 * (signal), never a hang (each run is under `timeout`), never a partial output file.
 *
 * Small ONNX models are written with protobuf-c so each defect is exactly one change to an
 * otherwise valid model: y = MatMul(x[1,4], w[4,2]).
 */
#include <criterion/criterion.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx.pb-c.h"
#include "../test_util.h"

#define RUN_TIMEOUT "timeout 60 "

typedef struct {
    const char *op;            /* op_type of the node */
    int weight;                /* 0: no initializer for w, 1: inline, 2: external */
    const char *location;      /* external data location */
    int64_t ext_offset, ext_length;
    const char *bad_attr;      /* an attribute name to add, or NULL */
} ModelSpec;

static char tmpdir[256];

static void make_tmpdir(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/wafer_bad_XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void cleanup(void) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_assert_eq(system(cmd), 0);
}

static Onnx__ValueInfoProto *value_info(const char *name, int64_t d0, int64_t d1) {
    Onnx__ValueInfoProto *v = calloc(1, sizeof *v);
    Onnx__TypeProto *t = calloc(1, sizeof *t);
    Onnx__TypeProto__Tensor *tt = calloc(1, sizeof *tt);
    Onnx__TensorShapeProto *s = calloc(1, sizeof *s);
    onnx__value_info_proto__init(v);
    onnx__type_proto__init(t);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(s);
    s->n_dim = 2;
    s->dim = calloc(2, sizeof *s->dim);
    int64_t d[2] = {d0, d1};
    for (int i = 0; i < 2; i++) {
        s->dim[i] = calloc(1, sizeof **s->dim);
        onnx__tensor_shape_proto__dimension__init(s->dim[i]);
        s->dim[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        s->dim[i]->dim_value = d[i];
    }
    tt->has_elem_type = 1;
    tt->elem_type = RT_F32;
    tt->shape = s;
    t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    t->tensor_type = tt;
    v->name = (char *)name;
    v->type = t;
    return v;
}

/* Frees what value_info() allocated (its name is a borrowed literal). */
static void value_info_free(Onnx__ValueInfoProto *v) {
    Onnx__TensorShapeProto *s = v->type->tensor_type->shape;
    for (size_t i = 0; i < s->n_dim; i++) free(s->dim[i]);
    free(s->dim);
    free(s);
    free(v->type->tensor_type);
    free(v->type);
    free(v);
}

/* Writes the model described by spec to tmpdir/name; returns the path (static buffer). */
static const char *write_model(const char *name, const ModelSpec *spec) {
    static char path[512];
    static float w[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
    Onnx__NodeProto node = ONNX__NODE_PROTO__INIT;
    Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    Onnx__TensorProto init = ONNX__TENSOR_PROTO__INIT;
    Onnx__AttributeProto attr = ONNX__ATTRIBUTE_PROTO__INIT;
    Onnx__AttributeProto *attrs[1] = {&attr};
    Onnx__StringStringEntryProto ext[3] = {ONNX__STRING_STRING_ENTRY_PROTO__INIT,
                                           ONNX__STRING_STRING_ENTRY_PROTO__INIT,
                                           ONNX__STRING_STRING_ENTRY_PROTO__INIT};
    Onnx__StringStringEntryProto *ext_p[3] = {&ext[0], &ext[1], &ext[2]};
    char off[32], len[32];
    char *node_in[2] = {"x", "w"}, *node_out[1] = {"y"};
    int64_t wdims[2] = {4, 2};
    Onnx__OperatorSetIdProto *opsets[1] = {&opset};
    Onnx__NodeProto *nodes[1] = {&node};
    Onnx__TensorProto *inits[1] = {&init};
    Onnx__ValueInfoProto *ins[1] = {value_info("x", 1, 4)}, *outs[1] = {value_info("y", 1, 2)};

    opset.has_version = 1;
    opset.version = 17;
    opset.domain = "";
    node.n_input = 2;
    node.input = node_in;
    node.n_output = 1;
    node.output = node_out;
    node.op_type = (char *)spec->op;
    node.name = "the_node";
    if (spec->bad_attr) {
        attr.name = (char *)spec->bad_attr;
        attr.has_type = 1;
        attr.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
        attr.has_i = 1;
        attr.i = 1;
        node.n_attribute = 1;
        node.attribute = attrs;
    }
    init.name = "w";
    init.n_dims = 2;
    init.dims = wdims;
    init.has_data_type = 1;
    init.data_type = RT_F32;
    if (spec->weight == 1) {
        init.n_float_data = 8;
        init.float_data = w;
    } else if (spec->weight == 2) {
        init.has_data_location = 1;
        init.data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
        snprintf(off, sizeof off, "%lld", (long long)spec->ext_offset);
        snprintf(len, sizeof len, "%lld", (long long)spec->ext_length);
        ext[0].key = "location";
        ext[0].value = (char *)spec->location;
        ext[1].key = "offset";
        ext[1].value = off;
        ext[2].key = "length";
        ext[2].value = len;
        init.n_external_data = 3;
        init.external_data = ext_p;
    }
    g.name = "g";
    g.n_node = 1;
    g.node = nodes;
    g.n_initializer = spec->weight ? 1 : 0;
    g.initializer = inits;
    g.n_input = 1;
    g.input = ins;
    g.n_output = 1;
    g.output = outs;
    m.has_ir_version = 1;
    m.ir_version = 8;
    m.n_opset_import = 1;
    m.opset_import = opsets;
    m.graph = &g;
    m.producer_name = "wafer-tests";

    size_t n = onnx__model_proto__get_packed_size(&m);
    uint8_t *buf = malloc(n);
    onnx__model_proto__pack(&m, buf);
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(buf, 1, n, f), n);
    fclose(f);
    free(buf);
    value_info_free(ins[0]);
    value_info_free(outs[0]);
    return path;
}

static void write_npy_f32(const char *name, int64_t d0, int64_t d1) {
    char path[512];
    float data[64] = {0};
    RtTensor t = {RT_F32, 2, {d0, d1}, data};
    RtError err = {{0}};
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    cr_assert_eq(npy_write(path, &t, &err), RT_OK, "%s", err.msg);
}

static int count_files(const char *dir) {
    char out[256];
    tu_run(out, sizeof out, "ls -A '%s' 2>/dev/null | wc -l", dir);
    return atoi(out);
}

/* Runs `wafer run MODEL --input x=X --out tmpdir/out`; expects exit 2, a message containing
 * `needle`, and no output directory content. */
static void expect_run_refused(const char *model, const char *input, const char *needle) {
    char out[8192], outdir[512];
    snprintf(outdir, sizeof outdir, "%s/out", tmpdir);
    int rc = tu_run(out, sizeof out, RUN_TIMEOUT "%s run '%s' --input x=%s --out '%s'", WAFER_BIN, model,
                    input, outdir);
    cr_expect_eq(rc, 2, "exit status %d (want 2); output:\n%s", rc, out);
    cr_expect(strstr(out, needle) != NULL, "message does not mention '%s':\n%s", needle, out);
    cr_expect_eq(count_files(outdir), 0, "a failed run left files in %s", outdir);
}

TestSuite(bad_input, .init = make_tmpdir, .fini = cleanup, .timeout = 240);

Test(bad_input, valid_model_runs) {
    const char *model = write_model("ok.onnx", &(ModelSpec){"MatMul", 1, NULL, 0, 0, NULL});
    write_npy_f32("x.npy", 1, 4);
    char out[4096], cmd_in[600];
    snprintf(cmd_in, sizeof cmd_in, "%s/x.npy", tmpdir);
    int rc = tu_run(out, sizeof out, RUN_TIMEOUT "%s run '%s' --input x=%s --out '%s/out'", WAFER_BIN, model,
                    cmd_in, tmpdir);
    cr_assert_eq(rc, 0, "%s", out);
    char y[600];
    snprintf(y, sizeof y, "%s/out/y.npy", tmpdir);
    cr_assert_eq(access(y, F_OK), 0, "no y.npy written");
}

Test(bad_input, missing_initializer) {
    const char *model = write_model("noinit.onnx", &(ModelSpec){"MatMul", 0, NULL, 0, 0, NULL});
    write_npy_f32("x.npy", 1, 4);
    char in[600];
    snprintf(in, sizeof in, "%s/x.npy", tmpdir);
    expect_run_refused(model, in, "'w'");
}

Test(bad_input, unknown_op) {
    const char *model = write_model("unknown.onnx", &(ModelSpec){"FrobnicateZ", 1, NULL, 0, 0, NULL});
    write_npy_f32("x.npy", 1, 4);
    char in[600];
    snprintf(in, sizeof in, "%s/x.npy", tmpdir);
    expect_run_refused(model, in, "FrobnicateZ");
}

Test(bad_input, unknown_attribute) {
    const char *model = write_model("attr.onnx", &(ModelSpec){"MatMul", 1, NULL, 0, 0, "no_such_attr"});
    write_npy_f32("x.npy", 1, 4);
    char in[600];
    snprintf(in, sizeof in, "%s/x.npy", tmpdir);
    expect_run_refused(model, in, "no_such_attr");
}

Test(bad_input, wrong_input_shape) {
    const char *model = write_model("ok.onnx", &(ModelSpec){"MatMul", 1, NULL, 0, 0, NULL});
    write_npy_f32("x.npy", 1, 5);
    char in[600];
    snprintf(in, sizeof in, "%s/x.npy", tmpdir);
    expect_run_refused(model, in, "'x'");
}

Test(bad_input, wrong_input_dtype) {
    const char *model = write_model("ok.onnx", &(ModelSpec){"MatMul", 1, NULL, 0, 0, NULL});
    char in[600];
    snprintf(in, sizeof in, "%s/digits/test_y.npy", FIXTURES);
    expect_run_refused(model, in, "int64");
}

Test(bad_input, missing_npy) {
    const char *model = write_model("ok.onnx", &(ModelSpec){"MatMul", 1, NULL, 0, 0, NULL});
    expect_run_refused(model, "/nonexistent/dir/x.npy", "/nonexistent/dir/x.npy");
}

Test(bad_input, external_data_outside_folder) {
    const char *cases[] = {"../outside.bin", "a/../../outside.bin", "/etc/passwd"};
    write_npy_f32("x.npy", 1, 4);
    char in[600];
    snprintf(in, sizeof in, "%s/x.npy", tmpdir);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "ext%zu.onnx", i);
        const char *model = write_model(name, &(ModelSpec){"MatMul", 2, cases[i], 0, 32, NULL});
        expect_run_refused(model, in, cases[i]);
    }
}

Test(bad_input, external_data_past_end_of_file) {
    char bin[600];
    snprintf(bin, sizeof bin, "%s/w.bin", tmpdir);
    FILE *f = fopen(bin, "wb");
    cr_assert_not_null(f);
    float w[8] = {0};
    fwrite(w, sizeof w, 1, f);
    fclose(f);
    write_npy_f32("x.npy", 1, 4);
    char in[600];
    snprintf(in, sizeof in, "%s/x.npy", tmpdir);
    const char *model = write_model("past.onnx", &(ModelSpec){"MatMul", 2, "w.bin", 16, 32, NULL});
    expect_run_refused(model, in, "w.bin");
}

/* Truncations of a real model at 1/8 steps: every one refused, none crashes. */
Test(bad_input, truncated_fixture) {
    char src[512], in[600];
    snprintf(src, sizeof src, "%s/digits/digits_mlp.onnx", FIXTURES);
    snprintf(in, sizeof in, "%s/digits/test_x.npy", FIXTURES);
    FILE *f = fopen(src, "rb");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)n);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    for (int k = 1; k < 8; k++) {
        char path[600];
        snprintf(path, sizeof path, "%s/trunc%d.onnx", tmpdir, k);
        FILE *o = fopen(path, "wb");
        fwrite(buf, 1, (size_t)(n * k / 8), o);
        fclose(o);
        expect_run_refused(path, in, path);
    }
    free(buf);
}

/* Bit flips in the structural part of a model (its first bytes: tags and lengths of the
 * graph and the first nodes). A flip may leave a valid model (exit 0) or break it (exit 2
 * naming the file); it must never crash or hang. */
Test(bad_input, bit_flipped_fixture) {
    char src[512], in[600];
    snprintf(src, sizeof src, "%s/digits/digits_cnn.onnx", FIXTURES);
    snprintf(in, sizeof in, "%s/digits/test_img.npy", FIXTURES);
    FILE *f = fopen(src, "rb");
    cr_assert_not_null(f);
    unsigned char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    int refused = 0;
    for (int k = 0; k < 24; k++) {
        size_t pos = (size_t)(k * 37 + 3) % 900;
        unsigned char saved = buf[pos];
        buf[pos] ^= (unsigned char)(1u << (k % 8));
        char path[600], out[8192];
        snprintf(path, sizeof path, "%s/flip%d.onnx", tmpdir, k);
        FILE *o = fopen(path, "wb");
        fwrite(buf, 1, n, o);
        fclose(o);
        buf[pos] = saved;
        int rc = tu_run(out, sizeof out, RUN_TIMEOUT "%s run '%s' --input image=%s --out '%s/out%d'", WAFER_BIN,
                        path, in, tmpdir, k);
        cr_expect(rc == 0 || rc == 2, "flip at byte %zu: exit %d\n%s", pos, rc, out);
        if (rc == 2) {
            refused++;
            cr_expect(strstr(out, path) != NULL, "flip at byte %zu: message does not name the file:\n%s", pos, out);
        }
    }
    cr_expect_gt(refused, 0, "no bit flip was detected at all");
}
