/*
 * test_onnx_check.c — the structural checker (onnx_check.c): every fixture model passes (they
 * come from PyTorch's exporter and onnxruntime's quantizers, which onnx.checker accepts), and
 * hand-broken variants of digits_mlp.onnx are each refused with the problem named: an input
 * used before it is defined, an undefined input, a value defined twice, a node in a domain
 * the model does not import, a domain imported twice, an initializer whose bytes do not match
 * dims x dtype, an attribute whose type and field disagree, an attribute given twice, an
 * output nothing defines, two nodes with one name, a file cut short.
 * The same for a model `wafer quantize --onnx` wrote (4-bit MatMulNBits): it passes, and copies
 * without the com.microsoft import, with a short packed weight, an undefined input or an
 * attribute without its value are refused.
 * The variants are made by unpacking the proto, changing one field and packing it again.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../frontend/onnx.h"
#include "../test_util.h"
#include "onnx.pb-c.h"

static const char *const fixtures[] = {
    "digits/digits_mlp.onnx", "digits/digits_cnn.onnx", "digits/digits_cnn_dynamo.onnx",
    "digits/digits_student_init.onnx", "tinylm/tinylm.onnx", "kws/kws_dscnn.onnx", "perf/mobilenet_v2.onnx",
    "perf/mobilenet_v2_int8_qdq_ort.onnx", "perf/tinylm_int4_default_asym.onnx"};

Test(onnx_check, accepts_every_fixture) {
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", FIXTURES, fixtures[i]);
        RtError err = {{0}};
        cr_expect_eq(onnx_check_file(path, &err), RT_OK, "%s: %s", fixtures[i], err.msg);
    }
}

static unsigned char *mlp_bytes(size_t *n) {
    unsigned char *b = tu_file_read(FIXTURES "/digits/digits_mlp.onnx", n);
    cr_assert_not_null(b);
    return b;
}

typedef void (*Mutate)(Onnx__ModelProto *m);

/* Unpacked protos are edited in place (fields pointed at static strings), so protobuf-c's own
 * free cannot run on them: unpack through an allocator that records every block, and free the
 * blocks at the end. */
static void *blocks[65536];
static size_t n_blocks;
static void *track_alloc(void *u, size_t n) {
    (void)u;
    void *p = malloc(n);
    cr_assert(n_blocks < sizeof blocks / sizeof blocks[0]);
    return blocks[n_blocks++] = p;
}
static void track_free(void *u, void *p) { (void)u, (void)p; }
static ProtobufCAllocator tracker = {track_alloc, track_free, NULL};
static void blocks_free(void) {
    while (n_blocks) free(blocks[--n_blocks]);
}

static void refused_bytes(unsigned char *b, size_t n, Mutate f, const char *want);

/* digits_mlp with one change; the checker must refuse it with `want` in the message. */
static void refused(Mutate f, const char *want) {
    size_t n;
    unsigned char *b = mlp_bytes(&n);
    refused_bytes(b, n, f, want);
}

/* The model b[n] with one change (b is freed). */
static void refused_bytes(unsigned char *b, size_t n, Mutate f, const char *want) {
    Onnx__ModelProto *m = onnx__model_proto__unpack(&tracker, n, b);
    cr_assert_not_null(m);
    RtError err = {{0}};
    cr_assert_eq(onnx_check_memory(b, n, "mlp.onnx", &err), RT_OK, "the original passes: %s", err.msg);
    f(m);
    size_t len = onnx__model_proto__get_packed_size(m);
    uint8_t *out = malloc(len);
    onnx__model_proto__pack(m, out);
    cr_expect_neq(onnx_check_memory(out, len, "mlp.onnx", &err), RT_OK, "the broken model passed");
    cr_expect(strstr(err.msg, want) != NULL, "want '%s' in: %s", want, err.msg);
    cr_expect(strstr(err.msg, "mlp.onnx") != NULL, "the message names the file: %s", err.msg);
    free(out);
    blocks_free();
    free(b);
}

static Onnx__NodeProto *node(Onnx__ModelProto *m, size_t i) {
    cr_assert(m->graph->n_node > i);
    return m->graph->node[i];
}

static void undefined_input(Onnx__ModelProto *m) { node(m, 1)->input[0] = "no_such_value"; }
static void swapped_nodes(Onnx__ModelProto *m) {
    Onnx__NodeProto *t = node(m, 0);
    m->graph->node[0] = node(m, 1);
    m->graph->node[1] = t;
}
static void output_twice(Onnx__ModelProto *m) { node(m, 2)->output[0] = node(m, 0)->output[0]; }
static void unknown_domain(Onnx__ModelProto *m) { node(m, 0)->domain = "com.example"; }
static void domain_twice(Onnx__ModelProto *m) {
    static Onnx__OperatorSetIdProto extra = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    static Onnx__OperatorSetIdProto *list[8];
    extra.domain = "ai.onnx";
    extra.has_version = 1;
    extra.version = 17;
    for (size_t i = 0; i < m->n_opset_import && i < 7; i++) list[i] = m->opset_import[i];
    list[m->n_opset_import] = &extra;
    m->opset_import = list;
    m->n_opset_import++;
}
static void short_initializer(Onnx__ModelProto *m) {
    Onnx__TensorProto *t = m->graph->initializer[0];
    cr_assert(t->has_raw_data && t->raw_data.len > 0);
    t->raw_data.len--;
}
static Onnx__AttributeProto *first_attr(Onnx__ModelProto *m) {
    for (size_t i = 0; i < m->graph->n_node; i++)
        if (m->graph->node[i]->n_attribute) return m->graph->node[i]->attribute[0];
    cr_assert_fail("no node with attributes");
    return NULL;
}
static void attr_type_mismatch(Onnx__ModelProto *m) {
    Onnx__AttributeProto *a = first_attr(m);
    a->type = a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT
                                                                      : ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
}
static void attr_twice(Onnx__ModelProto *m) {
    for (size_t i = 0; i < m->graph->n_node; i++) {
        Onnx__NodeProto *n = m->graph->node[i];
        if (!n->n_attribute) continue;
        Onnx__AttributeProto **a = track_alloc(NULL, sizeof *a * (n->n_attribute + 1));
        memcpy(a, n->attribute, sizeof *a * n->n_attribute);
        a[n->n_attribute] = a[0];
        n->attribute = a;
        n->n_attribute++;
        return;
    }
}
static void output_undefined(Onnx__ModelProto *m) { m->graph->output[0]->name = "ghost"; }
static void node_name_twice(Onnx__ModelProto *m) { node(m, 1)->name = node(m, 0)->name; }
static void output_untyped(Onnx__ModelProto *m) { m->graph->output[0]->type = NULL; }

Test(onnx_check, refuses_undefined_input) { refused(undefined_input, "'no_such_value' is not defined before use"); }
Test(onnx_check, refuses_use_before_definition) { refused(swapped_nodes, "is not defined before use"); }
Test(onnx_check, refuses_value_defined_twice) { refused(output_twice, "is already defined"); }
Test(onnx_check, refuses_domain_not_imported) { refused(unknown_domain, "domain 'com.example' is not in the model's opset_import"); }
Test(onnx_check, refuses_domain_imported_twice) { refused(domain_twice, "imported twice"); }
Test(onnx_check, refuses_initializer_size) { refused(short_initializer, "dims x dtype need"); }
Test(onnx_check, refuses_attribute_type_mismatch) { refused(attr_type_mismatch, "attribute '"); }
Test(onnx_check, refuses_attribute_twice) { refused(attr_twice, "appears twice"); }
Test(onnx_check, refuses_undefined_output) { refused(output_undefined, "output 'ghost' is never defined"); }
Test(onnx_check, refuses_untyped_output) { refused(output_untyped, "has no type"); }
Test(onnx_check, refuses_repeated_node_name) { refused(node_name_twice, "another node has this name"); }

Test(onnx_check, refuses_truncated_file) {
    size_t n;
    unsigned char *b = mlp_bytes(&n);
    RtError err = {{0}};
    cr_expect_neq(onnx_check_memory(b, n / 2, "cut.onnx", &err), RT_OK);
    cr_expect(strstr(err.msg, "cut.onnx") != NULL, "%s", err.msg);
    free(b);
}

/* What the writer produces passes, and the writer refuses a graph the checker would not accept:
 * exercised through onnx_write_memory on a loaded model. */
Test(onnx_check, written_models_pass) {
    RtError err = {{0}};
    IrGraph *g = onnx_load_file(FIXTURES "/perf/tinylm_int4_default_asym.onnx", NULL, &err);
    cr_assert_not_null(g, "%s", err.msg);
    uint8_t *b;
    size_t n;
    cr_assert_eq(onnx_write_memory(g, NULL, &b, &n, &err), RT_OK, "%s", err.msg);
    cr_expect_eq(onnx_check_memory(b, n, "w.onnx", &err), RT_OK, "%s", err.msg);
    /* com.microsoft is imported for MatMulNBits */
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, n, b);
    cr_assert_not_null(m);
    int ms = 0;
    for (size_t i = 0; i < m->n_opset_import; i++) ms |= strcmp(m->opset_import[i]->domain, "com.microsoft") == 0;
    cr_expect(ms, "com.microsoft is imported");
    onnx__model_proto__free_unpacked(m, NULL);
    free(b);
    ir_graph_free(g);
}

/* ---- a model wafer exported (digits_mlp, 4-bit RTN: MatMulNBits in com.microsoft) ---- */

static unsigned char *exported_bytes(size_t *n) {
    char out[4096], path[128];
    snprintf(path, sizeof path, "/tmp/wafer_check_export_%d.onnx", (int)getpid());
    int rc = tu_run(out, sizeof out, WAFER_BIN " quantize " FIXTURES "/digits/digits_mlp.onnx --onnx %s --weights int4 "
                    "--group 32 --quantize-head", path);
    cr_assert_eq(rc, 0, "%s", out);
    unsigned char *b = tu_file_read(path, n);
    unlink(path);
    cr_assert_not_null(b);
    return b;
}

static Onnx__NodeProto *nbits_node(Onnx__ModelProto *m) {
    for (size_t i = 0; i < m->graph->n_node; i++)
        if (strcmp(m->graph->node[i]->op_type, "MatMulNBits") == 0) return m->graph->node[i];
    cr_assert_fail("no MatMulNBits node");
    return NULL;
}
static void drop_ms_import(Onnx__ModelProto *m) {
    size_t k = 0;
    for (size_t i = 0; i < m->n_opset_import; i++)
        if (strcmp(m->opset_import[i]->domain, "com.microsoft") != 0) m->opset_import[k++] = m->opset_import[i];
    m->n_opset_import = k;
}
static void short_packed_weight(Onnx__ModelProto *m) {
    const char *b = nbits_node(m)->input[1];
    for (size_t i = 0; i < m->graph->n_initializer; i++)
        if (strcmp(m->graph->initializer[i]->name, b) == 0) m->graph->initializer[i]->raw_data.len -= 3;
}
static void nbits_input_renamed(Onnx__ModelProto *m) { nbits_node(m)->input[2] = "scales_nobody_wrote"; }
static void nbits_attr_emptied(Onnx__ModelProto *m) {
    Onnx__NodeProto *n = nbits_node(m);
    for (size_t i = 0; i < n->n_attribute; i++)
        if (strcmp(n->attribute[i]->name, "block_size") == 0) n->attribute[i]->has_i = 0;
}

Test(onnx_check, exported_model_passes_and_broken_copies_do_not) {
    size_t n;
    unsigned char *b = exported_bytes(&n);
    RtError err = {{0}};
    cr_expect_eq(onnx_check_memory(b, n, "mlp4.onnx", &err), RT_OK, "%s", err.msg);
    free(b);
    b = exported_bytes(&n);
    refused_bytes(b, n, drop_ms_import, "domain 'com.microsoft' is not in the model's opset_import");
    b = exported_bytes(&n);
    refused_bytes(b, n, short_packed_weight, "dims x dtype need");
    b = exported_bytes(&n);
    refused_bytes(b, n, nbits_input_renamed, "'scales_nobody_wrote' is not defined before use");
    b = exported_bytes(&n);
    refused_bytes(b, n, nbits_attr_emptied, "attribute 'block_size' of type 2 has no value");
}
