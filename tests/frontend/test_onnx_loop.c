/*
 * test_onnx_loop.c — Loop and Scan through the frontend: the capture convention of
 * frontend/onnx_subgraph.c (outer values a body reads become trailing inputs of the node and
 * of the body, after the body's declared inputs, whose count the body records), nested
 * captures two levels down, and the refusals (sequence/optional bodies, wrong arity), on
 * models built here with protobuf-c and run with ir_run.
 *
 * Expected outputs are worked by hand from the ONNX Loop/Scan definitions; the values are
 * small integers, exact in float32.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../frontend/onnx.h"
#include "onnx.pb-c.h"

/* ---------- every allocation is kept and freed after the test ---------- */

static void *kept[2048];
static int n_kept;

static void *keep(void *p) {
    cr_assert(p && n_kept < 2048);
    kept[n_kept++] = p;
    return p;
}
static void *zalloc(size_t n) { return keep(calloc(1, n ? n : 1)); }
static char *S(const char *s) { return keep(strdup(s)); }
static void release_all(void) {
    while (n_kept) free(kept[--n_kept]);
}

/* "a,b,,c" -> strings ("" stays: an absent optional input). */
static char **names(const char *list, size_t *n) {
    *n = 0;
    if (!list || !*list) return NULL;
    char **out = zalloc(sizeof(char *) * 16);
    for (const char *p = list;; p += strcspn(p, ",") + 1) {
        size_t len = strcspn(p, ",");
        out[*n] = zalloc(len + 1);
        memcpy(out[(*n)++], p, len);
        if (!p[len]) break;
    }
    return out;
}

static Onnx__NodeProto *node(Onnx__GraphProto *g, const char *op, const char *name, const char *ins, const char *outs) {
    Onnx__NodeProto *n = zalloc(sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = S(op);
    n->name = S(name);
    n->input = names(ins, &n->n_input);
    n->output = names(outs, &n->n_output);
    n->attribute = zalloc(sizeof(Onnx__AttributeProto *) * 4);
    g->node[g->n_node++] = n;
    return n;
}

static Onnx__AttributeProto *attr(Onnx__NodeProto *n, const char *name, Onnx__AttributeProto__AttributeType t) {
    Onnx__AttributeProto *a = zalloc(sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = S(name);
    a->has_type = 1;
    a->type = t;
    n->attribute[n->n_attribute++] = a;
    return a;
}

static Onnx__TypeProto *tensor_type(int elem, int rank, const int64_t *dims) {
    Onnx__TypeProto *tp = zalloc(sizeof *tp);
    onnx__type_proto__init(tp);
    Onnx__TypeProto__Tensor *tt = zalloc(sizeof *tt);
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = 1;
    tt->elem_type = elem;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    if (rank < 0) return tp;
    Onnx__TensorShapeProto *sh = zalloc(sizeof *sh);
    onnx__tensor_shape_proto__init(sh);
    sh->dim = zalloc(sizeof(void *) * (size_t)(rank + 1));
    for (int d = 0; d < rank; d++) {
        Onnx__TensorShapeProto__Dimension *dm = zalloc(sizeof *dm);
        onnx__tensor_shape_proto__dimension__init(dm);
        dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        dm->dim_value = dims[d];
        sh->dim[sh->n_dim++] = dm;
    }
    tt->shape = sh;
    return tp;
}

static Onnx__ValueInfoProto *value(const char *name, Onnx__TypeProto *tp) {
    Onnx__ValueInfoProto *v = zalloc(sizeof *v);
    onnx__value_info_proto__init(v);
    v->name = S(name);
    v->type = tp;
    return v;
}

static Onnx__GraphProto *graph(const char *name) {
    Onnx__GraphProto *g = zalloc(sizeof *g);
    onnx__graph_proto__init(g);
    g->name = S(name);
    g->node = zalloc(sizeof(void *) * 16);
    g->input = zalloc(sizeof(void *) * 16);
    g->output = zalloc(sizeof(void *) * 16);
    g->initializer = zalloc(sizeof(void *) * 4);
    return g;
}

static void in_add(Onnx__GraphProto *g, const char *name, Onnx__TypeProto *tp) { g->input[g->n_input++] = value(name, tp); }
static void out_add(Onnx__GraphProto *g, const char *name, Onnx__TypeProto *tp) { g->output[g->n_output++] = value(name, tp); }

static IrGraph *load(Onnx__GraphProto *g, RtError *err) {
    Onnx__ModelProto m;
    onnx__model_proto__init(&m);
    m.has_ir_version = 1;
    m.ir_version = 8;
    Onnx__OperatorSetIdProto os;
    onnx__operator_set_id_proto__init(&os);
    os.domain = S("");
    os.has_version = 1;
    os.version = 16;
    Onnx__OperatorSetIdProto *ops[1] = {&os};
    m.opset_import = ops;
    m.n_opset_import = 1;
    m.producer_name = S("test_onnx_loop");
    m.graph = g;
    size_t len = onnx__model_proto__get_packed_size(&m);
    uint8_t *buf = zalloc(len);
    onnx__model_proto__pack(&m, buf);
    memset(err, 0, sizeof *err);
    return onnx_load_memory(buf, len, NULL, "loop.onnx", NULL, err);
}

#define F32 1
#define I64 7
#define BOOL 9
static const int64_t D2[] = {2};

/* Loop body: (i, cond_in, v f32[2]) -> (cond_in, v + w, v + w) where w is the outer graph's. */
static Onnx__GraphProto *add_w_body(const char *name, const char *w) {
    Onnx__GraphProto *b = graph(name);
    in_add(b, "i", tensor_type(I64, 0, NULL));
    in_add(b, "cond_in", tensor_type(BOOL, 0, NULL));
    in_add(b, "v", tensor_type(F32, 1, D2));
    char ins[64];
    snprintf(ins, sizeof ins, "v,%s", w);
    node(b, "Identity", "keep", "cond_in", "cond_out");
    node(b, "Add", "add_w", ins, "v_out");
    node(b, "Identity", "emit", "v_out", "scan");
    out_add(b, "cond_out", tensor_type(BOOL, 0, NULL));
    out_add(b, "v_out", tensor_type(F32, 1, D2));
    out_add(b, "scan", tensor_type(F32, 1, D2));
    return b;
}

Test(onnx_loop, capture_becomes_a_trailing_input_and_runs, .fini = release_all) {
    Onnx__GraphProto *g = graph("top");
    in_add(g, "M", tensor_type(I64, 0, NULL));
    in_add(g, "v0", tensor_type(F32, 1, D2));
    in_add(g, "w", tensor_type(F32, 1, D2));
    Onnx__NodeProto *lp = node(g, "Loop", "loop", "M,,v0", "v_final,scans");
    attr(lp, "body", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH)->g = add_w_body("body", "w");
    out_add(g, "v_final", tensor_type(F32, 1, D2));
    out_add(g, "scans", tensor_type(F32, -1, NULL));
    RtError err;
    IrGraph *ir = load(g, &err);
    cr_assert_not_null(ir, "%s", err.msg);
    const RtNode *n = &ir->nodes[0];
    cr_assert_eq(n->op, RT_OP_LOOP);
    cr_assert_eq(n->n_in, 4); /* M, cond (absent), v0, then the capture w */
    cr_expect_eq(n->in[1], -1);
    cr_expect_str_eq(ir->values[n->in[3]].name, "w");
    const IrGraph *b = n->attrs[0].g;
    cr_expect_eq(b->n_declared, 3);
    cr_assert_eq(b->n_inputs, 4);
    cr_expect_str_eq(b->values[b->inputs[3]].name, "w");

    /* M = 3, v0 = [1,2], w = [10,20]: v = [11,22], [21,42], [31,62] */
    int64_t m = 3;
    float v0[2] = {1, 2}, w[2] = {10, 20};
    RtTensor in[3] = {{RT_I64, 0, {0}, &m}, {RT_F32, 1, {2}, v0}, {RT_F32, 1, {2}, w}}, out[2];
    cr_assert_eq(ir_run(ir, in, out, &err), RT_OK, "%s", err.msg);
    cr_expect_eq(memcmp(out[0].data, (float[]){31, 62}, 8), 0);
    cr_assert_eq(out[1].rank, 2);
    cr_expect_eq(out[1].dims[0], 3);
    cr_expect_eq(memcmp(out[1].data, (float[]){11, 22, 21, 42, 31, 62}, 24), 0);
    free(out[0].data);
    free(out[1].data);
    ir_graph_free(ir);
}

Test(onnx_loop, nested_loop_captures_two_levels_up, .fini = release_all) {
    /* The outer body runs an inner Loop of K iterations adding w (a top-level input, and K
     * too): the middle graph captures w and K and passes them down. v = v0 + M*K*w. */
    Onnx__GraphProto *inner = add_w_body("inner", "w");
    Onnx__GraphProto *outer = graph("outer");
    in_add(outer, "j", tensor_type(I64, 0, NULL));
    in_add(outer, "c", tensor_type(BOOL, 0, NULL));
    in_add(outer, "u", tensor_type(F32, 1, D2));
    node(outer, "Identity", "keep_c", "c", "c_out");
    Onnx__NodeProto *il = node(outer, "Loop", "inner_loop", "K,,u", "u_out,u_scan");
    attr(il, "body", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH)->g = inner;
    out_add(outer, "c_out", tensor_type(BOOL, 0, NULL));
    out_add(outer, "u_out", tensor_type(F32, 1, D2));
    Onnx__GraphProto *g = graph("top");
    in_add(g, "M", tensor_type(I64, 0, NULL));
    in_add(g, "K", tensor_type(I64, 0, NULL));
    in_add(g, "v0", tensor_type(F32, 1, D2));
    in_add(g, "w", tensor_type(F32, 1, D2));
    Onnx__NodeProto *lp = node(g, "Loop", "outer_loop", "M,,v0", "v_final");
    attr(lp, "body", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH)->g = outer;
    out_add(g, "v_final", tensor_type(F32, 1, D2));
    RtError err;
    IrGraph *ir = load(g, &err);
    cr_assert_not_null(ir, "%s", err.msg);
    const IrGraph *ob = ir->nodes[0].attrs[0].g;
    cr_expect_eq(ob->n_declared, 3);
    cr_expect_eq(ob->n_inputs, 5); /* j, c, u, then the captures K and w (first-use order) */
    cr_expect_eq(ir->nodes[0].n_in, 5);

    int64_t m = 2, k = 3;
    float v0[2] = {1, 2}, w[2] = {10, 20};
    RtTensor in[4] = {{RT_I64, 0, {0}, &m}, {RT_I64, 0, {0}, &k}, {RT_F32, 1, {2}, v0}, {RT_F32, 1, {2}, w}}, out[1];
    cr_assert_eq(ir_run(ir, in, out, &err), RT_OK, "%s", err.msg);
    cr_expect_eq(memcmp(out[0].data, (float[]){61, 122}, 8), 0); /* v0 + 6w */
    free(out[0].data);
    ir_graph_free(ir);
}

Test(onnx_loop, scan_capture_after_declared_inputs, .fini = release_all) {
    /* Scan(s0, x) with body (s, xt) -> (s + xt, s + xt + w); w captured. */
    Onnx__GraphProto *b = graph("scan_body");
    in_add(b, "s", tensor_type(F32, 1, D2));
    in_add(b, "xt", tensor_type(F32, 1, D2));
    node(b, "Add", "acc", "s,xt", "s_out");
    node(b, "Add", "shift", "s_out,w", "y");
    out_add(b, "s_out", tensor_type(F32, 1, D2));
    out_add(b, "y", tensor_type(F32, 1, D2));
    Onnx__GraphProto *g = graph("top");
    in_add(g, "s0", tensor_type(F32, 1, D2));
    in_add(g, "x", tensor_type(F32, 2, (int64_t[]){3, 2}));
    in_add(g, "w", tensor_type(F32, 1, D2));
    Onnx__NodeProto *sc = node(g, "Scan", "scan", "s0,x", "s_final,ys");
    attr(sc, "body", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH)->g = b;
    Onnx__AttributeProto *a = attr(sc, "num_scan_inputs", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = 1;
    out_add(g, "s_final", tensor_type(F32, 1, D2));
    out_add(g, "ys", tensor_type(F32, 2, (int64_t[]){3, 2}));
    RtError err;
    IrGraph *ir = load(g, &err);
    cr_assert_not_null(ir, "%s", err.msg);
    cr_expect_eq(((const IrGraph *)ir->nodes[0].attrs[0].g)->n_declared, 2);
    cr_expect_eq(ir->nodes[0].n_in, 3);
    /* x rows [1,2], [3,4], [5,6]: s = [1,2], [4,6], [9,12]; y = s + [100,200] */
    float s0[2] = {0, 0}, x[6] = {1, 2, 3, 4, 5, 6}, w[2] = {100, 200};
    RtTensor in[3] = {{RT_F32, 1, {2}, s0}, {RT_F32, 2, {3, 2}, x}, {RT_F32, 1, {2}, w}}, out[2];
    cr_assert_eq(ir_run(ir, in, out, &err), RT_OK, "%s", err.msg);
    cr_expect_eq(memcmp(out[0].data, (float[]){9, 12}, 8), 0);
    cr_expect_eq(memcmp(out[1].data, (float[]){101, 202, 104, 206, 109, 212}, 24), 0);
    free(out[0].data);
    free(out[1].data);
    ir_graph_free(ir);
}

Test(onnx_loop, sequence_and_optional_bodies_are_refused_by_node, .fini = release_all) {
    for (int kind = 0; kind < 2; kind++) {
        Onnx__GraphProto *b = add_w_body("body", "w");
        Onnx__TypeProto *tp = zalloc(sizeof *tp);
        onnx__type_proto__init(tp);
        if (kind == 0) {
            Onnx__TypeProto__Sequence *sq = zalloc(sizeof *sq);
            onnx__type_proto__sequence__init(sq);
            sq->elem_type = tensor_type(F32, -1, NULL);
            tp->value_case = ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE;
            tp->sequence_type = sq;
        } else {
            Onnx__TypeProto__Optional *op = zalloc(sizeof *op);
            onnx__type_proto__optional__init(op);
            op->elem_type = tensor_type(F32, -1, NULL);
            tp->value_case = ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE;
            tp->optional_type = op;
        }
        b->input[2]->type = tp;
        Onnx__GraphProto *g = graph("top");
        in_add(g, "M", tensor_type(I64, 0, NULL));
        in_add(g, "v0", tensor_type(F32, 1, D2));
        in_add(g, "w", tensor_type(F32, 1, D2));
        Onnx__NodeProto *lp = node(g, "Loop", "seq_loop", "M,,v0", "v_final,scans");
        attr(lp, "body", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH)->g = b;
        out_add(g, "v_final", tensor_type(F32, -1, NULL));
        RtError err;
        IrGraph *ir = load(g, &err);
        cr_expect_null(ir);
        ir_graph_free(ir);
        cr_expect_not_null(strstr(err.msg, "seq_loop"), "%s", err.msg);
        cr_expect_not_null(strstr(err.msg, kind == 0 ? "is a sequence value" : "is an optional value"), "%s", err.msg);
    }
}

Test(onnx_loop, wrong_arity_is_refused, .fini = release_all) {
    /* The body carries one value and emits one scan output (2 node outputs); this node asks
     * for 3. */
    Onnx__GraphProto *g = graph("top");
    in_add(g, "M", tensor_type(I64, 0, NULL));
    in_add(g, "v0", tensor_type(F32, 1, D2));
    in_add(g, "w", tensor_type(F32, 1, D2));
    Onnx__NodeProto *lp = node(g, "Loop", "bad_loop", "M,,v0", "a,b,c");
    attr(lp, "body", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH)->g = add_w_body("body", "w");
    out_add(g, "a", tensor_type(F32, -1, NULL));
    RtError err;
    IrGraph *ir = load(g, &err);
    cr_expect_null(ir);
    ir_graph_free(ir);
    cr_expect_not_null(strstr(err.msg, "bad_loop"), "%s", err.msg);
    cr_expect_not_null(strstr(err.msg, "the body has 3 inputs and 3 outputs"), "%s", err.msg);
}
