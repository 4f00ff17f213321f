/*
 * test_onnx_half_convert.c — the float16 model converter the float16 tests and benchmarks
 * use (tests/onnx_half_convert.h): what it rewrites, with values worked by hand from
 * IEEE 754 binary16, what it keeps float32 (Resize's scales, by the spec), and what it
 * refuses by name (computed scales, external data), writing nothing then.
 */
#include <unistd.h>

#include "../onnx_half_convert.h"
#include "../test_util.h"
#include "onnx_proto_build.h"

TestSuite(onnx_half_convert, .fini = pb_release_all);

#define F16 ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16

/* Packs g into dir/in.onnx, converts it to dir/out.onnx; returns the converter's status. */
static int convert(Onnx__GraphProto *g, const char *dir, char *err, size_t n) {
    size_t len;
    uint8_t *m = pb_model_pack(g, 8, 13, "test", &len);
    char in[300], out[300];
    snprintf(in, sizeof in, "%s/in.onnx", dir);
    snprintf(out, sizeof out, "%s/out.onnx", dir);
    FILE *f = fopen(in, "wb");
    cr_assert(f && fwrite(m, 1, len, f) == len && fclose(f) == 0);
    return ohc_convert_file(in, out, F16, err, n);
}

static Onnx__ModelProto *read_out(const char *dir) {
    char path[300];
    snprintf(path, sizeof path, "%s/out.onnx", dir);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    static uint8_t buf[1 << 16];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, buf);
    cr_assert_not_null(m);
    return m;
}

static uint16_t raw16(const Onnx__TensorProto *t, int i) {
    cr_assert(t->has_raw_data && t->raw_data.len > (size_t)(2 * i) + 1);
    return (uint16_t)(t->raw_data.data[2 * i] | t->raw_data.data[2 * i + 1] << 8);
}

/* y = Resize(Cast<float>(x * w + k), scales s): x, y, w, k become float16, Cast's target too,
 * s stays float32. w = {1, 1 + 2^-11, 65520, -2^-24} is, in binary16, 0x3c00; the tie
 * between 1 and 1 + 2^-10, to even 0x3c00; halfway to 2^16, so infinity 0x7c00; minus the
 * smallest subnormal 0x8001. k = 0.5 is 0x3800. */
Test(onnx_half_convert, values_types_and_casts_become_float16_scales_stay_float32) {
    Onnx__GraphProto *g = pb_graph("g");
    pb_add_node(g, pb_node("Mul", "mul", "x,w", "p"));
    Onnx__NodeProto *k = pb_add_node(g, pb_node("Constant", "kc", "", "k"));
    Onnx__AttributeProto *kv = pb_attr(k, "value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    float half = 0.5f, wv[4] = {1.0f, 1.0f + 0x1p-11f, 65520.0f, -0x1p-24f}, sv[4] = {1, 1, 2, 2};
    kv->t = pb_tensor_floats(pb_tensor("kt", 1, 0, NULL), 1, &half);
    pb_add_node(g, pb_node("Add", "add", "p,k", "q"));
    pb_attr_int(pb_add_node(g, pb_node("Cast", "cast", "q", "r")), "to", 1);
    pb_add_node(g, pb_node("Resize", "resize", "r,,s", "y"));
    int64_t d4[1] = {4};
    pb_tensor_raw(pb_add_init(g, pb_tensor("w", 1, 1, d4)), wv, sizeof wv);
    pb_tensor_floats(pb_add_init(g, pb_tensor("s", 1, 1, d4)), 4, sv);
    pb_add_input(g, pb_value("x", 1, "1,1,1,4"));
    pb_add_output(g, pb_value("y", 1, "1,1,2,8"));
    char dir[256], err[256];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_ohc"), 0);
    cr_assert_eq(convert(g, dir, err, sizeof err), 0, "%s", err);
    Onnx__ModelProto *m = read_out(dir);
    Onnx__GraphProto *o = m->graph;
    cr_expect_eq(o->input[0]->type->tensor_type->elem_type, F16);
    cr_expect_eq(o->output[0]->type->tensor_type->elem_type, F16);
    const Onnx__TensorProto *w = o->initializer[0], *s = o->initializer[1];
    cr_expect_eq(w->data_type, F16);
    uint16_t want[4] = {0x3c00, 0x3c00, 0x7c00, 0x8001};
    for (int i = 0; i < 4; i++) cr_expect_eq(raw16(w, i), want[i], "w[%d] = %04x", i, raw16(w, i));
    cr_expect_eq(s->data_type, 1, "Resize's scales must stay float32");
    cr_expect_eq(s->n_float_data, 4);
    cr_expect_eq(o->node[1]->attribute[0]->t->data_type, F16);
    cr_expect_eq(raw16(o->node[1]->attribute[0]->t, 0), 0x3800);
    cr_expect_eq(o->node[3]->attribute[0]->i, F16, "Cast(to=float) becomes Cast(to=float16)");
    onnx__model_proto__free_unpacked(m, NULL);
    tu_tmpdir_remove(dir);
}

/* Refusals: scales computed by a node (they must stay float32 and cannot be kept so), and an
 * initializer stored outside the file. Nothing is written. */
Test(onnx_half_convert, computed_scales_and_external_data_are_refused_by_name) {
    Onnx__GraphProto *g = pb_graph("g");
    pb_add_node(g, pb_node("Mul", "twice", "s0,s0", "s"));
    pb_add_node(g, pb_node("Resize", "up", "x,,s", "y"));
    pb_add_input(g, pb_value("x", 1, "1,1,2,2"));
    pb_add_input(g, pb_value("s0", 1, "4"));
    pb_add_output(g, pb_value("y", 1, ""));
    char dir[256], err[256], out[300];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_ohc"), 0);
    snprintf(out, sizeof out, "%s/out.onnx", dir);
    cr_expect_neq(convert(g, dir, err, sizeof err), 0);
    cr_expect(strstr(err, "'up' (Resize): input 2") != NULL, "message: %s", err);
    cr_expect_neq(access(out, F_OK), 0, "a refused model was written");
    Onnx__GraphProto *e = pb_graph("e");
    pb_add_node(e, pb_node("Add", "add", "x,w", "y"));
    int64_t d1[1] = {1};
    pb_tensor_external(pb_add_init(e, pb_tensor("w", 1, 1, d1)), "w.bin", "0", "4");
    pb_add_input(e, pb_value("x", 1, "1"));
    pb_add_output(e, pb_value("y", 1, "1"));
    cr_expect_neq(convert(e, dir, err, sizeof err), 0);
    cr_expect(strstr(err, "'w': external data") != NULL, "message: %s", err);
    cr_expect_neq(access(out, F_OK), 0, "a refused model was written");
    tu_tmpdir_remove(dir);
}
