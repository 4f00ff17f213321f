/*
 * test_onnx_load.c — the ONNX frontend: the fixture models load with the right interface
 * and node counts (reference numbers from ../shared/fixtures/reference.json), and small
 * models built here (onnx_proto_build.h) exercise each conversion and each refusal.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../frontend/onnx.h"
#include "onnx_proto_build.h"

#ifndef FIXTURES
#define FIXTURES "../shared/fixtures"
#endif

/* Loads gp as an IR 8, opset 17 model named mem.onnx; NULL (err set) on refusal. */
static IrGraph *load_graph(Onnx__GraphProto *gp, int allow_unknown, RtError *err) {
    size_t len = 0;
    uint8_t *buf = pb_model_pack(gp, 8, 17, "test_onnx_load", &len);
    OnnxLoadOptions o = {.allow_unknown_ops = allow_unknown};
    memset(err, 0, sizeof *err);
    return onnx_load_memory(buf, len, NULL, "mem.onnx", &o, err);
}

/* ---------- temp folders ---------- */

static char tmpdir[64];
static void tmp_clean(void);

static void tmp_make(void) {
    tmp_clean();
    strcpy(tmpdir, "/tmp/wafer_fe_XXXXXX");
    cr_assert(mkdtemp(tmpdir));
}

static const char *tmp_path(const char *name) {
    static char p[256];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    return p;
}

static void tmp_write(const char *name, const void *data, size_t len) {
    FILE *f = fopen(tmp_path(name), "wb");
    cr_assert(f);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void tmp_clean(void) {
    if (!tmpdir[0]) return;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_assert_eq(system(cmd), 0);
    tmpdir[0] = '\0';
}

static void fini(void) {
    tmp_clean();
    pb_release_all();
}

TestSuite(onnx_load, .fini = fini);

/* ---------- fixture models ---------- */

static IrGraph *load_fixture(const char *rel) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", FIXTURES, rel);
    RtError err = {{0}};
    IrGraph *g = onnx_load_file(path, NULL, &err);
    cr_assert(g, "%s: %s", path, err.msg);
    cr_assert_eq(ir_verify(g, &err), RT_OK, "%s: %s", path, err.msg);
    return g;
}

static int count_op(const IrGraph *g, int op) {
    int n = 0;
    for (int k = 0; k < g->n_nodes; k++) n += g->nodes[k].op == op;
    return n;
}

/* dims: numbers, or a name for a named dynamic dim, or "?" for unknown. */
static void check_value(const IrGraph *g, int v, const char *name, RtDtype dt, const char *dims) {
    const IrValue *val = &g->values[v];
    cr_assert_str_eq(val->name, name);
    cr_assert_eq(val->dtype, dt, "%s: dtype %d", name, val->dtype);
    size_t n = 0;
    char **parts = pb_split(dims, &n);
    cr_assert_eq(val->rank, (int)n, "%s: rank %d", name, val->rank);
    for (size_t i = 0; i < n; i++) {
        if (parts[i][0] >= '0' && parts[i][0] <= '9') {
            cr_assert_eq(val->dims[i].value, atoll(parts[i]), "%s dim %zu", name, i);
        } else {
            cr_assert_eq(val->dims[i].value, -1, "%s dim %zu", name, i);
            if (strcmp(parts[i], "?") == 0) cr_assert_null(val->dims[i].sym);
            else cr_assert_str_eq(val->dims[i].sym, parts[i], "%s dim %zu", name, i);
        }
    }
}

static void check_io(const IrGraph *g, const char *in, RtDtype in_dt, const char *in_dims,
                     const char *out, const char *out_dims) {
    cr_assert_eq(g->n_inputs, 1);
    cr_assert_eq(g->n_outputs, 1);
    check_value(g, g->inputs[0], in, in_dt, in_dims);
    check_value(g, g->outputs[0], out, RT_F32, out_dims);
}

Test(onnx_load, digits_mlp) {
    IrGraph *g = load_fixture("digits/digits_mlp.onnx");
    check_io(g, "x", RT_F32, "n,64", "logits", "n,10");
    cr_assert_eq(g->opset, 17);
    cr_assert_eq(g->n_nodes, 5);
    cr_assert_eq(count_op(g, RT_OP_GEMM), 3);
    cr_assert_eq(count_op(g, RT_OP_RELU), 2);
    /* The constants are exactly the 85,002 parameters of 64-256-256-10 (reference.json). */
    int64_t params = 0;
    for (int v = 0; v < g->n_values; v++)
        if (g->values[v].konst) params += rt_numel(g->values[v].konst);
    cr_assert_eq(params, 85002);
    ir_graph_free(g);
}

Test(onnx_load, digits_cnn) {
    IrGraph *g = load_fixture("digits/digits_cnn.onnx");
    check_io(g, "image", RT_F32, "n,1,8,8", "logits", "n,10");
    cr_assert_eq(g->n_nodes, 14);
    cr_assert_eq(count_op(g, RT_OP_CONV), 3);
    cr_assert_eq(count_op(g, RT_OP_BATCH_NORMALIZATION), 3);
    ir_graph_free(g);
}

Test(onnx_load, digits_cnn_dynamo_opset18) {
    IrGraph *g = load_fixture("digits/digits_cnn_dynamo.onnx");
    check_io(g, "image", RT_F32, "4,1,8,8", "logits", "4,10");
    cr_assert_eq(g->opset, 18);
    cr_assert_eq(g->n_nodes, 11);
    for (int k = 0; k < g->n_nodes; k++) cr_assert_eq(g->nodes[k].opset, 18);
    ir_graph_free(g);
}

Test(onnx_load, digits_student) {
    IrGraph *g = load_fixture("digits/digits_student_init.onnx");
    check_io(g, "x", RT_F32, "n,64", "logits", "n,10");
    cr_assert_eq(g->n_nodes, 3);
    ir_graph_free(g);
}

Test(onnx_load, kws) {
    IrGraph *g = load_fixture("kws/kws_dscnn.onnx");
    check_io(g, "mfcc", RT_F32, "n,1,49,10", "logits", "n,12");
    cr_assert_eq(g->n_nodes, 21);
    cr_assert_eq(count_op(g, RT_OP_CONV), 9);
    ir_graph_free(g);
}

Test(onnx_load, mobilenet_v2) {
    IrGraph *g = load_fixture("perf/mobilenet_v2.onnx");
    check_io(g, "input", RT_F32, "n,3,224,224", "logits", "n,1000");
    /* reference.json: 209 nodes of which 70 Constant, which become constant values */
    cr_assert_eq(g->n_nodes, 139);
    cr_assert_eq(count_op(g, RT_OP_CONV), 52);
    cr_assert_eq(count_op(g, RT_OP_CLIP), 35);
    cr_assert_eq(count_op(g, RT_OP_CONSTANT), 0);
    ir_graph_free(g);
}

Test(onnx_load, tinylm_fast) {
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    IrGraph *g = load_fixture("tinylm/tinylm.onnx");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    cr_assert_lt(s, 1.0, "13 MB model took %.2f s to load", s);
    cr_assert_eq(g->n_inputs, 1);
    check_value(g, g->inputs[0], "tokens", RT_I64, "batch,128");
    check_value(g, g->outputs[0], "logits", RT_F32, "batch,Addlogits_dim_1,128");
    cr_assert_eq(g->n_nodes, 264); /* 393 in the file, 129 of them Constant */
    cr_assert_eq(count_op(g, RT_OP_MATMUL), 33);
    cr_assert_eq(count_op(g, RT_OP_LAYER_NORMALIZATION), 9);
    cr_assert_eq(count_op(g, RT_OP_ERF), 4);
    ir_graph_free(g);
}

/* ---------- conversions ---------- */

Test(onnx_load, constant_nodes_become_constants) {
    Onnx__GraphProto *gp = pb_graph("g");
    pb_add_input(gp, pb_value("x", RT_F32, "3"));
    Onnx__NodeProto *c1 = pb_node("Constant", "c1", "", "k1");
    pb_attr_floats(c1, "value_floats", 3, (float[]){1.5f, -2, 4});
    Onnx__NodeProto *c2 = pb_node("Constant", "c2", "", "k2");
    pb_attr_int(c2, "value_int", 7);
    Onnx__NodeProto *c3 = pb_node("Constant", "c3", "", "k3");
    Onnx__TensorProto *t = pb_tensor("", RT_F32, 1, (int64_t[]){2});
    pb_tensor_floats(t, 2, (float[]){3, 5});
    pb_attr(c3, "value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR)->t = t;
    pb_add_node(gp, c1);
    pb_add_node(gp, c2);
    pb_add_node(gp, c3);
    pb_add_node(gp, pb_node("Add", "add", "x,k1", "y"));
    pb_add_output(gp, pb_value("y", RT_F32, "3"));
    RtError err;
    IrGraph *g = load_graph(gp, 0, &err);
    cr_assert(g, "%s", err.msg);
    cr_assert_eq(g->n_nodes, 1);
    int k1 = ir_value_find(g, "k1"), k2 = ir_value_find(g, "k2"), k3 = ir_value_find(g, "k3");
    cr_assert(k1 >= 0 && k2 >= 0 && k3 >= 0);
    const RtTensor *t1 = g->values[k1].konst, *t2 = g->values[k2].konst, *t3 = g->values[k3].konst;
    cr_assert(t1 && t2 && t3);
    cr_assert_eq(t1->dtype, RT_F32);
    cr_assert_eq(t1->rank, 1);
    cr_assert_eq(t1->dims[0], 3);
    cr_assert_eq(((float *)t1->data)[1], -2.0f);
    cr_assert_eq(t2->dtype, RT_I64);
    cr_assert_eq(t2->rank, 0);
    cr_assert_eq(((int64_t *)t2->data)[0], 7);
    cr_assert_eq(((float *)t3->data)[1], 5.0f);
    cr_assert_eq(g->nodes[0].in[1], k1);
    ir_graph_free(g);
}

Test(onnx_load, float16_initializer_kept_as_f16) {
    Onnx__GraphProto *gp = pb_graph("g");
    uint16_t h[3] = {rt_f32_to_f16(1.0f), rt_f32_to_f16(-0.5f), rt_f32_to_f16(65504.0f)};
    Onnx__TensorProto *raw = pb_tensor("h_raw", RT_F16, 1, (int64_t[]){3});
    pb_tensor_raw(raw, h, sizeof h);
    /* The same values through int32_data: one 16-bit pattern per entry (ONNX spec). */
    Onnx__TensorProto *typed = pb_tensor("h_typed", RT_F16, 1, (int64_t[]){3});
    typed->int32_data = pb_zalloc(sizeof(int32_t) * 3);
    for (int i = 0; i < 3; i++) typed->int32_data[i] = h[i];
    typed->n_int32_data = 3;
    pb_add_init(gp, raw);
    pb_add_init(gp, typed);
    pb_add_input(gp, pb_value("x", RT_F16, "3"));
    pb_add_node(gp, pb_node("Add", "a1", "x,h_raw", "y1"));
    pb_add_node(gp, pb_node("Add", "a2", "y1,h_typed", "y"));
    pb_add_output(gp, pb_value("y", RT_F16, "3"));
    RtError err;
    IrGraph *g = load_graph(gp, 0, &err);
    cr_assert(g, "%s", err.msg);
    for (int which = 0; which < 2; which++) {
        const RtTensor *t = g->values[ir_value_find(g, which ? "h_typed" : "h_raw")].konst;
        cr_assert_eq(t->dtype, RT_F16);
        cr_assert_eq(memcmp(t->data, h, sizeof h), 0);
    }
    ir_graph_free(g);
}

Test(onnx_load, int64_initializer) {
    Onnx__GraphProto *gp = pb_graph("g");
    int64_t shape[2] = {-1, 6000000000LL};
    Onnx__TensorProto *typed = pb_tensor("s_typed", RT_I64, 1, (int64_t[]){2});
    typed->int64_data = pb_zalloc(sizeof shape);
    memcpy(typed->int64_data, shape, sizeof shape);
    typed->n_int64_data = 2;
    Onnx__TensorProto *raw = pb_tensor("s_raw", RT_I64, 1, (int64_t[]){2});
    pb_tensor_raw(raw, shape, sizeof shape);
    pb_add_init(gp, typed);
    pb_add_init(gp, raw);
    pb_add_input(gp, pb_value("x", RT_F32, "2,3"));
    pb_add_node(gp, pb_node("Reshape", "r1", "x,s_typed", "y1"));
    pb_add_node(gp, pb_node("Reshape", "r2", "y1,s_raw", "y"));
    pb_add_output(gp, pb_value("y", RT_F32, NULL));
    RtError err;
    IrGraph *g = load_graph(gp, 0, &err);
    cr_assert(g, "%s", err.msg);
    for (int which = 0; which < 2; which++) {
        const RtTensor *t = g->values[ir_value_find(g, which ? "s_raw" : "s_typed")].konst;
        cr_assert_eq(t->dtype, RT_I64);
        cr_assert_eq(((int64_t *)t->data)[0], -1);
        cr_assert_eq(((int64_t *)t->data)[1], 6000000000LL);
    }
    /* An output declared without a shape has unknown rank. */
    cr_assert_eq(g->values[g->outputs[0]].rank, -1);
    ir_graph_free(g);
}

Test(onnx_load, initializer_input_is_constant_and_dims_are_named) {
    Onnx__GraphProto *gp = pb_graph("g");
    Onnx__TensorProto *w = pb_tensor("w", RT_F32, 2, (int64_t[]){2, 2});
    pb_tensor_floats(w, 4, (float[]){1, 2, 3, 4});
    pb_add_init(gp, w);
    pb_add_input(gp, pb_value("x", RT_F32, "batch,?,2"));
    pb_add_input(gp, pb_value("w", RT_F32, "2,2")); /* listed as input too (IR < 4 style) */
    pb_add_node(gp, pb_node("MatMul", "mm", "x,w", "y"));
    pb_add_output(gp, pb_value("y", RT_F32, "batch,?,2"));
    RtError err;
    IrGraph *g = load_graph(gp, 0, &err);
    cr_assert(g, "%s", err.msg);
    cr_assert_eq(g->n_inputs, 1);
    check_value(g, g->inputs[0], "x", RT_F32, "batch,?,2");
    check_value(g, g->outputs[0], "y", RT_F32, "batch,?,2");
    cr_assert(g->values[ir_value_find(g, "w")].konst);
    ir_graph_free(g);
}

Test(onnx_load, optional_inputs_and_attributes) {
    Onnx__GraphProto *gp = pb_graph("g");
    pb_add_input(gp, pb_value("x", RT_F32, "1,1,4,4"));
    pb_add_input(gp, pb_value("w", RT_F32, "1,1,3,3"));
    Onnx__NodeProto *n = pb_node("Conv", "conv", "x,w,", "y");
    pb_attr_ints(n, "pads", 4, (int64_t[]){1, 1, 1, 1});
    pb_add_node(gp, n);
    Onnx__NodeProto *l = pb_node("LeakyRelu", "lr", "y", "z");
    pb_attr_float(l, "alpha", 0.25f);
    pb_add_node(gp, l);
    pb_add_output(gp, pb_value("z", RT_F32, NULL));
    RtError err;
    IrGraph *g = load_graph(gp, 0, &err);
    cr_assert(g, "%s", err.msg);
    cr_assert_eq(g->nodes[0].n_in, 3);
    cr_assert_eq(g->nodes[0].in[2], -1);
    cr_assert_eq(g->nodes[0].n_attr, 1);
    cr_assert_str_eq(g->nodes[0].attrs[0].name, "pads");
    cr_assert_eq(g->nodes[0].attrs[0].n, 4);
    cr_assert_eq(g->nodes[0].attrs[0].ints[3], 1);
    cr_assert_eq(g->nodes[1].attrs[0].f, 0.25f);
    cr_assert_str_eq(g->nodes[1].op_type, "LeakyRelu");
    cr_assert_eq(g->nodes[1].opset, 17);
    ir_graph_free(g);
}

/* A one-node branch graph: out = op(ins) (node node_name); out a float of undeclared shape. */
static Onnx__GraphProto *branch(const char *name, const char *op, const char *node_name, const char *ins,
                                const char *out) {
    Onnx__GraphProto *b = pb_graph(name);
    pb_add_node(b, pb_node(op, node_name, ins, out));
    pb_add_output(b, pb_value(out, RT_F32, NULL));
    return b;
}

/* main(cond bool scalar, each of `inputs` f32[2]) -> y = If(cond) over then_g / else_g. */
static Onnx__GraphProto *if_graph(const char *inputs, Onnx__GraphProto *then_g, Onnx__GraphProto *else_g) {
    Onnx__GraphProto *gp = pb_graph("main");
    pb_add_input(gp, pb_value("cond", RT_BOOL, ""));
    size_t n = 0;
    char **names = pb_split(inputs, &n);
    for (size_t i = 0; i < n; i++) pb_add_input(gp, pb_value(names[i], RT_F32, "2"));
    Onnx__NodeProto *k = pb_add_node(gp, pb_node("If", "if", "cond", "y"));
    pb_attr_graph(k, "then_branch", then_g);
    pb_attr_graph(k, "else_branch", else_g);
    pb_add_output(gp, pb_value("y", RT_F32, NULL));
    return gp;
}

Test(onnx_load, if_captures_become_inputs) {
    /* then: t = Add(a, a); else: e = Mul(b, a). Captures: then {a}, else {b, a} -> union (a, b). */
    Onnx__GraphProto *gp = if_graph("a,b", branch("then", "Add", "t_add", "a,a", "t"),
                                    branch("else", "Mul", "e_mul", "b,a", "e"));
    RtError err;
    IrGraph *g = load_graph(gp, 0, &err);
    cr_assert(g, "%s", err.msg);
    cr_assert_eq(ir_verify(g, &err), RT_OK, "%s", err.msg);
    const RtNode *k = &g->nodes[0];
    cr_assert_eq(k->n_in, 3);
    cr_assert_eq(k->in[0], ir_value_find(g, "cond"));
    cr_assert_eq(k->in[1], ir_value_find(g, "a"));
    cr_assert_eq(k->in[2], ir_value_find(g, "b"));
    for (int br = 0; br < 2; br++) {
        const IrGraph *sg = k->attrs[br].g;
        cr_assert_eq(sg->parent, g);
        cr_assert_eq(sg->n_inputs, 2);
        cr_assert_str_eq(sg->values[sg->inputs[0]].name, "a");
        cr_assert_str_eq(sg->values[sg->inputs[1]].name, "b");
        cr_assert_eq(sg->values[sg->inputs[0]].dtype, RT_F32); /* the outer value's type */
        cr_assert_eq(sg->n_nodes, 1);
    }
    ir_graph_free(g);
}

Test(onnx_load, unknown_op_kept_when_allowed) {
    Onnx__GraphProto *gp = pb_graph("g");
    pb_add_input(gp, pb_value("x", RT_F32, "2"));
    Onnx__NodeProto *n = pb_node("FooBar", "foo", "x", "y");
    n->domain = pb_str("com.example");
    pb_attr_float(n, "whatever", 1);
    pb_add_node(gp, n);
    pb_add_output(gp, pb_value("y", RT_F32, NULL));
    RtError err;
    IrGraph *g = load_graph(gp, 1, &err);
    cr_assert(g, "%s", err.msg);
    cr_assert_eq(g->nodes[0].op, RT_OP_UNKNOWN);
    cr_assert_str_eq(g->nodes[0].op_type, "FooBar");
    cr_assert_str_eq(g->nodes[0].domain, "com.example");
    ir_graph_free(g);
}

Test(onnx_load, tensor_pb_roundtrip) {
    tmp_make();
    Onnx__TensorProto *t = pb_tensor("input", RT_I32, 2, (int64_t[]){2, 2});
    t->int32_data = pb_zalloc(sizeof(int32_t) * 4);
    for (int i = 0; i < 4; i++) t->int32_data[i] = i * 10 - 5;
    t->n_int32_data = 4;
    size_t len = onnx__tensor_proto__get_packed_size(t);
    uint8_t *buf = pb_zalloc(len);
    onnx__tensor_proto__pack(t, buf);
    tmp_write("input_0.pb", buf, len);
    RtTensor out;
    char name[32];
    RtError err = {{0}};
    cr_assert_eq(onnx_tensor_read_pb(tmp_path("input_0.pb"), &out, name, sizeof name, &err), RT_OK, "%s", err.msg);
    cr_assert_str_eq(name, "input");
    cr_assert_eq(out.dtype, RT_I32);
    cr_assert_eq(out.dims[1], 2);
    cr_assert_eq(((int32_t *)out.data)[3], 25);
    free(out.data);
}

Test(onnx_load, model_op_types_include_subgraphs_and_constants) {
    Onnx__GraphProto *gp = if_graph("a", branch("then", "Relu", "r", "a", "t"), branch("else", "Neg", "n", "a", "e"));
    size_t len;
    uint8_t *buf = pb_model_pack(gp, 8, 17, "test_onnx_load", &len);
    tmp_make();
    tmp_write("m.onnx", buf, len);
    char **ops = NULL;
    int n_ops = 0;
    RtError err = {{0}};
    cr_assert_eq(onnx_model_op_types(tmp_path("m.onnx"), &ops, &n_ops, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(n_ops, 3);
    cr_assert_str_eq(ops[0], "If");
    cr_assert_str_eq(ops[1], "Relu");
    cr_assert_str_eq(ops[2], "Neg");
    free(ops);
}

/* ---------- external data ---------- */

/* MatMul x[1,2] . W[2,3] with W external; returns the packed model. */
static uint8_t *external_model(const char *location, const char *offset, const char *length, size_t *len) {
    Onnx__GraphProto *gp = pb_graph("g");
    Onnx__TensorProto *w = pb_tensor("W", RT_F32, 2, (int64_t[]){2, 3});
    pb_tensor_external(w, location, offset, length);
    pb_add_init(gp, w);
    pb_add_input(gp, pb_value("x", RT_F32, "1,2"));
    pb_add_node(gp, pb_node("MatMul", "mm", "x,W", "y"));
    pb_add_output(gp, pb_value("y", RT_F32, "1,3"));
    return pb_model_pack(gp, 8, 17, "test_onnx_load", len);
}

static const float W_VALUES[6] = {1, 2, 3, -4, 5.5f, 6};

/* Writes weights.bin (8 junk bytes, then W) and model.onnx; loads it; err gets the message. */
static IrGraph *external_load(const char *location, const char *offset, const char *length, RtError *err) {
    tmp_make();
    unsigned char bin[8 + sizeof W_VALUES];
    memset(bin, 0xAB, 8);
    memcpy(bin + 8, W_VALUES, sizeof W_VALUES);
    cr_assert_eq(mkdir(tmp_path("sub"), 0700), 0);
    tmp_write("weights.bin", bin, sizeof bin);
    tmp_write("sub/w.bin", W_VALUES, sizeof W_VALUES);
    size_t len;
    uint8_t *buf = external_model(location, offset, length, &len);
    tmp_write("model.onnx", buf, len);
    memset(err, 0, sizeof *err);
    return onnx_load_file(tmp_path("model.onnx"), NULL, err);
}

Test(onnx_load, external_data_loads) {
    RtError err;
    IrGraph *g = external_load("weights.bin", "8", "24", &err);
    cr_assert(g, "%s", err.msg);
    const RtTensor *w = g->values[ir_value_find(g, "W")].konst;
    cr_assert(w);
    cr_assert_eq(memcmp(w->data, W_VALUES, sizeof W_VALUES), 0);
    ir_graph_free(g);
    g = external_load("sub/w.bin", NULL, NULL, &err); /* no offset/length: the whole file */
    cr_assert(g, "%s", err.msg);
    cr_assert_eq(memcmp(g->values[ir_value_find(g, "W")].konst->data, W_VALUES, sizeof W_VALUES), 0);
    ir_graph_free(g);
}

static void expect_refusal(IrGraph *g, const RtError *err, const char *needle) {
    cr_assert_null(g, "should have been refused (%s)", needle);
    cr_assert(strstr(err->msg, needle), "message '%s' lacks '%s'", err->msg, needle);
}

Test(onnx_load, external_absolute_path_refused) {
    RtError err;
    IrGraph *g = external_load("/etc/passwd", NULL, NULL, &err);
    expect_refusal(g, &err, "'/etc/passwd' is refused");
    cr_assert(strstr(err.msg, "initializer 'W'"), "%s", err.msg);
    cr_assert(strstr(err.msg, "model.onnx"), "%s", err.msg);
}

Test(onnx_load, external_dotdot_refused) {
    RtError err;
    IrGraph *g = external_load("../x", NULL, NULL, &err);
    expect_refusal(g, &err, "'../x' is refused");
}

Test(onnx_load, external_inner_dotdot_refused) {
    RtError err;
    IrGraph *g = external_load("a/../../x", NULL, NULL, &err);
    expect_refusal(g, &err, "'a/../../x' is refused");
}

Test(onnx_load, external_past_end_refused) {
    RtError err;
    IrGraph *g = external_load("weights.bin", "16", "24", &err);
    expect_refusal(g, &err, "past the end");
    /* An offset near INT64_MAX must not wrap around when added to the length. */
    g = external_load("weights.bin", "9223372036854775800", "24", &err);
    expect_refusal(g, &err, "past the end");
}

Test(onnx_load, external_missing_file_refused) {
    RtError err;
    IrGraph *g = external_load("nothere.bin", NULL, NULL, &err);
    expect_refusal(g, &err, "No such file");
    cr_assert(strstr(err.msg, "nothere.bin"), "%s", err.msg);
}

Test(onnx_load, external_from_memory_refused) {
    size_t len;
    uint8_t *buf = external_model("weights.bin", NULL, NULL, &len);
    RtError err = {{0}};
    IrGraph *g = onnx_load_memory(buf, len, NULL, "mem.onnx", NULL, &err);
    expect_refusal(g, &err, "external data");
}

/* ---------- refusals ---------- */

Test(onnx_load, unknown_op_refused) {
    Onnx__GraphProto *gp = pb_graph("g");
    pb_add_input(gp, pb_value("x", RT_F32, "2"));
    pb_add_node(gp, pb_node("FooBar", "foo", "x", "y"));
    pb_add_output(gp, pb_value("y", RT_F32, NULL));
    RtError err;
    IrGraph *g = load_graph(gp, 0, &err);
    expect_refusal(g, &err, "mem.onnx: node 'foo': op 'FooBar' (domain '', opset 17) is not supported");
}

Test(onnx_load, unknown_attribute_refused) {
    Onnx__GraphProto *gp = pb_graph("g");
    pb_add_input(gp, pb_value("x", RT_F32, "2"));
    Onnx__NodeProto *n = pb_node("Relu", "r", "x", "y");
    pb_attr_float(n, "alpha", 0.1f);
    pb_add_node(gp, n);
    pb_add_output(gp, pb_value("y", RT_F32, NULL));
    RtError err;
    IrGraph *g = load_graph(gp, 0, &err);
    expect_refusal(g, &err, "node 'r' (Relu): unknown attribute 'alpha'");
}

Test(onnx_load, missing_initializer_refused) {
    Onnx__GraphProto *gp = pb_graph("g");
    pb_add_input(gp, pb_value("x", RT_F32, "2"));
    pb_add_node(gp, pb_node("Add", "add", "x,w", "y"));
    pb_add_output(gp, pb_value("y", RT_F32, NULL));
    RtError err;
    IrGraph *g = load_graph(gp, 0, &err);
    expect_refusal(g, &err, "node 'add' (Add): input 'w' is not defined");
}

Test(onnx_load, truncated_file_refused) {
    char path[512];
    snprintf(path, sizeof path, "%s/digits/digits_mlp.onnx", FIXTURES);
    FILE *f = fopen(path, "rb");
    cr_assert(f);
    static unsigned char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    cr_assert_gt(n, 1000);
    tmp_make();
    tmp_write("cut.onnx", buf, n / 2);
    RtError err = {{0}};
    IrGraph *g = onnx_load_file(tmp_path("cut.onnx"), NULL, &err);
    expect_refusal(g, &err, "cut.onnx: not a valid ONNX model");
}

Test(onnx_load, missing_file_refused) {
    RtError err = {{0}};
    IrGraph *g = onnx_load_file("/nonexistent/model.onnx", NULL, &err);
    expect_refusal(g, &err, "/nonexistent/model.onnx: cannot open");
}

Test(onnx_load, versions_outside_range_refused) {
    Onnx__GraphProto *gp = pb_graph("g");
    pb_add_input(gp, pb_value("x", RT_F32, "2"));
    pb_add_node(gp, pb_node("Relu", "r", "x", "y"));
    pb_add_output(gp, pb_value("y", RT_F32, NULL));
    size_t len;
    uint8_t *buf = pb_model_pack(gp, 8, 27, "test_onnx_load", &len);
    RtError err = {{0}};
    IrGraph *g = onnx_load_memory(buf, len, NULL, "new.onnx", NULL, &err);
    expect_refusal(g, &err, "opset 27 is not supported (accepted: 1 to 26)");
    buf = pb_model_pack(gp, 2, 17, "test_onnx_load", &len);
    memset(&err, 0, sizeof err);
    g = onnx_load_memory(buf, len, NULL, "old.onnx", NULL, &err);
    expect_refusal(g, &err, "IR version 2 is not supported (accepted: 3 to 13)");
}

Test(onnx_load, string_initializer_refused) {
    Onnx__GraphProto *gp = pb_graph("g");
    Onnx__TensorProto *t = pb_tensor("names", RT_STRING, 1, (int64_t[]){1});
    t->string_data = pb_zalloc(sizeof(ProtobufCBinaryData));
    t->string_data[0].data = (uint8_t *)pb_str("hi");
    t->string_data[0].len = 2;
    t->n_string_data = 1;
    pb_add_init(gp, t);
    pb_add_input(gp, pb_value("x", RT_F32, "2"));
    pb_add_node(gp, pb_node("Identity", "i", "x", "y"));
    pb_add_output(gp, pb_value("y", RT_F32, NULL));
    RtError err;
    IrGraph *g = load_graph(gp, 0, &err);
    expect_refusal(g, &err, "initializer 'names': string tensors are not supported");
}

Test(onnx_load, element_count_mismatch_refused) {
    Onnx__GraphProto *gp = pb_graph("g");
    Onnx__TensorProto *t = pb_tensor("w", RT_F32, 2, (int64_t[]){1000000, 1000000});
    pb_tensor_floats(t, 2, (float[]){1, 2});
    pb_add_init(gp, t);
    pb_add_input(gp, pb_value("x", RT_F32, "2"));
    pb_add_node(gp, pb_node("Add", "add", "x,w", "y"));
    pb_add_output(gp, pb_value("y", RT_F32, NULL));
    RtError err;
    IrGraph *g = load_graph(gp, 0, &err);
    expect_refusal(g, &err, "initializer 'w': holds 2 elements, but shape [1000000,1000000] needs");
    /* raw_data shorter than the shape says */
    Onnx__TensorProto *r = pb_tensor("w", RT_F32, 1, (int64_t[]){4});
    pb_tensor_raw(r, (float[]){1, 2}, 8);
    gp->initializer[0] = r;
    g = load_graph(gp, 0, &err);
    expect_refusal(g, &err, "initializer 'w': raw data holds 8 bytes, but shape [4] of float32 needs 16");
}

/* ---------- robustness ---------- */

/* Bytes flipped and files cut at random (fixed seed): the loader either refuses with a
 * message naming the file, or returns a graph that passes ir_verify. Under the sanitizer
 * build this also checks that no mutation makes it read out of bounds or leak. */
Test(onnx_load, mutated_models_refused_cleanly) {
    char path[512];
    snprintf(path, sizeof path, "%s/kws/kws_dscnn.onnx", FIXTURES);
    FILE *f = fopen(path, "rb");
    cr_assert(f);
    static unsigned char orig[1 << 18], buf[1 << 18];
    size_t n = fread(orig, 1, sizeof orig, f);
    fclose(f);
    cr_assert(n > 1000 && n < sizeof orig);
    srand(12345);
    OnnxLoadOptions opts = {.allow_unknown_ops = 1};
    int loaded = 0, refused = 0;
    for (int it = 0; it < 400; it++) {
        memcpy(buf, orig, n);
        for (int k = 1 + rand() % 6; k > 0; k--) {
            size_t pos = (size_t)rand() % (rand() % 2 ? 4000 : n); /* the structure, or anywhere */
            buf[pos] = (unsigned char)rand();
        }
        size_t len = rand() % 8 == 0 ? (size_t)rand() % n : n;
        RtError err = {{0}};
        IrGraph *g = onnx_load_memory(buf, len, NULL, "mutant.onnx", &opts, &err);
        if (g) {
            loaded++;
            cr_assert_eq(ir_verify(g, &err), RT_OK, "mutation %d: %s", it, err.msg);
            ir_graph_free(g);
        } else {
            refused++;
            cr_assert_eq(strncmp(err.msg, "mutant.onnx: ", 13), 0, "mutation %d: '%s'", it, err.msg);
        }
    }
    cr_assert(loaded > 0 && refused > 0, "loaded %d, refused %d", loaded, refused);
}

/* Shapes taken from the file: products checked without overflow, and the claimed size
 * compared with the bytes present before anything is allocated (the sanitizer build would
 * abort on an allocation of the claimed size). */
Test(onnx_load, oversized_dims_refused) {
    static const struct {
        int dtype;
        size_t rank;
        int64_t dims[3];
        const char *needle;
    } cases[] = {
        {RT_F32, 2, {INT64_C(1) << 62, 4}, "shape is too large"},            /* bytes overflow */
        {RT_U8, 3, {INT64_C(1) << 32, INT64_C(1) << 32, 2}, "shape is too large"}, /* count overflows */
        {RT_F64, 1, {INT64_C(1) << 61}, "shape is too large"},               /* x 8 = 2^64 */
        {RT_F32, 2, {3, -2}, "negative dim -2"},
        {RT_F32, 1, {INT64_C(1) << 40}, "raw data holds 8 bytes, but shape [1099511627776]"},
        {RT_F32, 2, {0, INT64_MAX}, "raw data holds 8 bytes, but shape [0,9223372036854775807] of float32 needs 0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Onnx__GraphProto *gp = pb_graph("g");
        Onnx__TensorProto *t = pb_tensor("w", cases[i].dtype, cases[i].rank, cases[i].dims);
        pb_tensor_raw(t, (float[]){1, 2}, 8);
        pb_add_init(gp, t);
        pb_add_input(gp, pb_value("x", RT_F32, "2"));
        pb_add_node(gp, pb_node("Add", "add", "x,w", "y"));
        pb_add_output(gp, pb_value("y", RT_F32, NULL));
        RtError err;
        IrGraph *g = load_graph(gp, 0, &err);
        expect_refusal(g, &err, cases[i].needle);
        cr_assert(strstr(err.msg, "initializer 'w'"), "case %zu: '%s'", i, err.msg);
    }
}

/* An op of another domain: the message names the node, the op with its domain and the
 * opset the model imports for that domain; an op of a domain the model does not import says
 * so (opset 0). */
Test(onnx_load, unknown_op_of_a_custom_domain_named_with_its_opset) {
    Onnx__GraphProto *gp = pb_graph("g");
    pb_add_input(gp, pb_value("x", RT_F32, "2"));
    Onnx__NodeProto *n = pb_node("CDist", "fm", "x,x", "y"); /* a contrib op wafer does not run */
    n->domain = pb_str("com.microsoft");
    pb_add_node(gp, n);
    pb_add_output(gp, pb_value("y", RT_F32, NULL));
    Onnx__ModelProto m;
    onnx__model_proto__init(&m);
    m.has_ir_version = 1;
    m.ir_version = 8;
    Onnx__OperatorSetIdProto os[2];
    Onnx__OperatorSetIdProto *ops[2] = {&os[0], &os[1]};
    for (int i = 0; i < 2; i++) {
        onnx__operator_set_id_proto__init(&os[i]);
        os[i].has_version = 1;
    }
    os[0].domain = pb_str("");
    os[0].version = 17;
    os[1].domain = pb_str("com.microsoft");
    os[1].version = 1;
    m.opset_import = ops;
    m.n_opset_import = 2;
    m.graph = gp;
    for (int imported = 1; imported >= 0; imported--) {
        m.n_opset_import = imported ? 2 : 1;
        size_t len = onnx__model_proto__get_packed_size(&m);
        uint8_t *buf = pb_zalloc(len);
        onnx__model_proto__pack(&m, buf);
        RtError err = {{0}};
        IrGraph *g = onnx_load_memory(buf, len, NULL, "ms.onnx", NULL, &err);
        expect_refusal(g, &err, imported
            ? "ms.onnx: node 'fm': op 'CDist' (domain 'com.microsoft', opset 1) is not supported"
            : "ms.onnx: node 'fm': op 'CDist' (domain 'com.microsoft', opset 0) is not supported");
    }
}
