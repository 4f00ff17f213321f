/*
 * test_short_node.c — a node with fewer inputs than its op's spec requires (a Softmax with
 * none, a Conv with one, an opset-9 Gemm without C, a Pad whose required pads input is "",
 * a short Softmax inside an If branch) is refused with the node named at every entry point,
 * never crashing a kernel: the ONNX frontend (onnx_load_file), `wafer inspect`, `wafer run`
 * and `wafer quantize` (exit status 2, no output file), and the .wafer readers (the runtime's
 * rt_model_open and format's wafer_file_read, and `wafer run` on it) for a file whose node
 * lost an input. The ONNX files are IR graphs written by frontend/onnx_write.c; the .wafer
 * file by format/wafer_file_write (which stores what it is given).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../format/wafer_file.h"
#include "../../frontend/onnx.h"
#include "../../io/npy.h"
#include "../../runtime/rt_model.h"
#include "onnx.pb-c.h"
#include "../ir/ir_test_util.h"
#include "../test_util.h"

static char dir[256];

static void setup(void) { cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "short_node"), 0); }
static void teardown(void) { tu_tmpdir_remove(dir); }

TestSuite(short_node, .init = setup, .fini = teardown, .timeout = 120);

static const int64_t xdims[4] = {1, 2, 4, 4};

/* A graph input x [1, 2, 4, 4] f32 at opset, and x.npy for `wafer run`. */
static IrGraph *graph_with_x(int opset, int *x) {
    IrGraph *g = tg_graph(opset);
    *x = tg_input(g, "x", RT_F32, 4, xdims, NULL);
    static float data[32];
    for (int i = 0; i < 32; i++) data[i] = (float)i / 32.0f;
    RtTensor t = {.dtype = RT_F32, .rank = 4, .dims = {1, 2, 4, 4}, .data = data};
    char p[512];
    snprintf(p, sizeof p, "%s/x.npy", dir);
    RtError err = {{0}};
    cr_assert_eq(npy_write(p, &t, &err), RT_OK, "%s", err.msg);
    return g;
}

/* Marks value v a float32 graph output (the writer needs the declared dtype). */
static void out_f32(IrGraph *g, int v) {
    tg_output(g, v);
    g->values[v].dtype = RT_F32;
}

/* Writes g to dir/name.onnx (frees g) and returns the path in a static buffer. */
static const char *write_onnx(IrGraph *g, const char *name) {
    static char p[512];
    snprintf(p, sizeof p, "%s/%s.onnx", dir, name);
    RtError err = {{0}};
    cr_assert_eq(onnx_write_file(g, NULL, p, &err), RT_OK, "write %s: %s", name, err.msg);
    ir_graph_free(g);
    return p;
}

/* The frontend and the three commands refuse path naming `want`, with exit status 2. */
static void expect_refused_everywhere(const char *path, const char *want) {
    RtError err = {{0}};
    IrGraph *g = onnx_load_file(path, NULL, &err);
    cr_expect_null(g, "%s loaded", path);
    if (g) ir_graph_free(g);
    cr_expect(strstr(err.msg, want) != NULL, "load: '%s' lacks '%s'", err.msg, want);
    cr_expect(strstr(err.msg, path) != NULL, "load: '%s' does not name the file", err.msg);
    char out[8192], q[512];
    int rc = tu_run(out, sizeof out, "%s inspect %s", WAFER_BIN, path);
    cr_expect_eq(rc, 2, "inspect: exit %d\n%s", rc, out);
    cr_expect(strstr(out, want) != NULL, "inspect: output lacks '%s':\n%s", want, out);
    rc = tu_run(out, sizeof out, "%s run %s --input x=%s/x.npy --out %s/out", WAFER_BIN, path, dir, dir);
    cr_expect_eq(rc, 2, "run: exit %d\n%s", rc, out);
    cr_expect(strstr(out, want) != NULL, "run: output lacks '%s':\n%s", want, out);
    snprintf(q, sizeof q, "%s/q.wafer", dir);
    rc = tu_run(out, sizeof out, "%s quantize %s -o %s", WAFER_BIN, path, q);
    cr_expect_eq(rc, 2, "quantize: exit %d\n%s", rc, out);
    cr_expect(strstr(out, want) != NULL, "quantize: output lacks '%s':\n%s", want, out);
    FILE *f = fopen(q, "rb");
    cr_expect_null(f, "quantize left %s behind", q);
    if (f) fclose(f);
}

Test(short_node, softmax_without_input) {
    int x;
    IrGraph *g = graph_with_x(13, &x);
    out_f32(g, tg_node(g, RT_OP_SOFTMAX, "sm0", 0, NULL, "y"));
    expect_refused_everywhere(write_onnx(g, "softmax"), "node 'sm0' (Softmax): needs 1 input, has 0");
}

Test(short_node, conv_with_one_input) {
    int x;
    IrGraph *g = graph_with_x(11, &x);
    out_f32(g, tg_node(g, RT_OP_CONV, "conv0", 1, &x, "y"));
    expect_refused_everywhere(write_onnx(g, "conv"), "node 'conv0' (Conv): needs 2 to 3 inputs, has 1");
}

/* Gemm's C is required before opset 11 (optional from 11) */
Test(short_node, gemm_without_c_before_opset_11) {
    int x;
    IrGraph *g = graph_with_x(9, &x);
    const int64_t sh[2] = {2, 16};
    int r = tg_node(g, RT_OP_RESHAPE, "flat", 2, (const int[]){x, tg_const_i64(g, "shape", 2, sh)}, "xf");
    float w[16 * 3] = {0};
    const int64_t wd[2] = {16, 3};
    int in[2] = {r, tg_const_f32(g, "w", 2, wd, w)};
    out_f32(g, tg_node(g, RT_OP_GEMM, "fc", 2, in, "y"));
    expect_refused_everywhere(write_onnx(g, "gemm9"), "node 'fc' (Gemm): needs 3 inputs, has 2");
}

/* Pad-13 requires its pads input: present as a position but "" */
Test(short_node, pad_with_empty_pads) {
    int x;
    IrGraph *g = graph_with_x(13, &x);
    float zero = 0.0f;
    int cv = tg_const_f32(g, "cv", 0, NULL, &zero); /* a last input, so the "" is kept */
    out_f32(g, tg_node(g, RT_OP_PAD, "pad0", 3, (const int[]){x, -1, cv}, "y"));
    expect_refused_everywhere(write_onnx(g, "pad"), "node 'pad0' (Pad): input 1 is required");
}

/* ---- an If whose then-branch holds the short Softmax, built as protobuf (the IR writer
 * does not write subgraphs); everything allocated is kept and freed at the end ---- */
static void *kept[256];
static int n_kept;
static void *zalloc(size_t n) {
    cr_assert(n_kept < 256);
    void *p = calloc(1, n ? n : 1);
    cr_assert_not_null(p);
    return kept[n_kept++] = p;
}

static Onnx__ValueInfoProto *f32_value(const char *name) {
    Onnx__TypeProto *tp = zalloc(sizeof *tp);
    onnx__type_proto__init(tp);
    Onnx__TypeProto__Tensor *tt = zalloc(sizeof *tt);
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = 1;
    tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    Onnx__ValueInfoProto *v = zalloc(sizeof *v);
    onnx__value_info_proto__init(v);
    v->name = (char *)name;
    v->type = tp;
    return v;
}

/* a node with n_in inputs ins[] and one output */
static Onnx__NodeProto *pnode(const char *op, const char *name, int n_in, char **ins, char *out) {
    Onnx__NodeProto *n = zalloc(sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = (char *)op;
    n->name = (char *)name;
    n->n_input = (size_t)n_in;
    n->input = ins;
    n->n_output = 1;
    n->output = zalloc(sizeof(char *));
    n->output[0] = out;
    return n;
}

static Onnx__GraphProto *pgraph(const char *name, Onnx__NodeProto *n, const char *out) {
    Onnx__GraphProto *g = zalloc(sizeof *g);
    onnx__graph_proto__init(g);
    g->name = (char *)name;
    g->n_node = 1;
    g->node = zalloc(sizeof(void *));
    g->node[0] = n;
    g->n_output = 1;
    g->output = zalloc(sizeof(void *));
    g->output[0] = f32_value(out);
    return g;
}

static Onnx__AttributeProto *graph_attr(const char *name, Onnx__GraphProto *g) {
    Onnx__AttributeProto *a = zalloc(sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = (char *)name;
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
    a->g = g;
    return a;
}

/* Subgraph nodes are checked as they are built too. */
Test(short_node, softmax_without_input_inside_an_if_branch) {
    int x;
    IrGraph *unused = graph_with_x(13, &x); /* writes x.npy */
    ir_graph_free(unused);
    static char xn[] = "x", cn[] = "cond", tn[] = "t", en[] = "e", yn[] = "y";
    char **x_in = zalloc(sizeof(char *)), **c_in = zalloc(sizeof(char *));
    x_in[0] = xn;
    c_in[0] = cn;
    Onnx__GraphProto *then_g = pgraph("then", pnode("Softmax", "inner_sm", 0, NULL, tn), "t");
    Onnx__GraphProto *else_g = pgraph("else", pnode("Identity", "id", 1, x_in, en), "e");
    Onnx__NodeProto *ifn = pnode("If", "if0", 1, c_in, yn);
    ifn->n_attribute = 2;
    ifn->attribute = zalloc(2 * sizeof(void *));
    ifn->attribute[0] = graph_attr("then_branch", then_g);
    ifn->attribute[1] = graph_attr("else_branch", else_g);
    Onnx__GraphProto *mg = pgraph("main", ifn, "y");
    Onnx__ValueInfoProto *xv = f32_value("x");
    Onnx__TensorShapeProto *sh = zalloc(sizeof *sh);
    onnx__tensor_shape_proto__init(sh);
    sh->n_dim = 4;
    sh->dim = zalloc(4 * sizeof(void *));
    for (int d = 0; d < 4; d++) {
        Onnx__TensorShapeProto__Dimension *dm = zalloc(sizeof *dm);
        onnx__tensor_shape_proto__dimension__init(dm);
        dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        dm->dim_value = xdims[d];
        sh->dim[d] = dm;
    }
    xv->type->tensor_type->shape = sh;
    mg->n_input = 1;
    mg->input = zalloc(sizeof(void *));
    mg->input[0] = xv;
    /* cond: a constant true (BOOL scalar initializer) */
    static uint8_t one = 1;
    Onnx__TensorProto *ct = zalloc(sizeof *ct);
    onnx__tensor_proto__init(ct);
    ct->name = cn;
    ct->has_data_type = 1;
    ct->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__BOOL;
    ct->has_raw_data = 1;
    ct->raw_data.len = 1;
    ct->raw_data.data = &one;
    mg->n_initializer = 1;
    mg->initializer = zalloc(sizeof(void *));
    mg->initializer[0] = ct;
    Onnx__OperatorSetIdProto os;
    onnx__operator_set_id_proto__init(&os);
    os.domain = (char *)"";
    os.has_version = 1;
    os.version = 13;
    Onnx__OperatorSetIdProto *osp = &os;
    Onnx__ModelProto m;
    onnx__model_proto__init(&m);
    m.has_ir_version = 1;
    m.ir_version = 8;
    m.n_opset_import = 1;
    m.opset_import = &osp;
    m.graph = mg;
    size_t len = onnx__model_proto__get_packed_size(&m);
    uint8_t *buf = malloc(len);
    cr_assert_not_null(buf);
    onnx__model_proto__pack(&m, buf);
    char p[512];
    snprintf(p, sizeof p, "%s/if.onnx", dir);
    FILE *f = fopen(p, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(buf, 1, len, f), len);
    fclose(f);
    free(buf);
    while (n_kept) free(kept[--n_kept]);
    expect_refused_everywhere(p, "node 'inner_sm' (Softmax): needs 1 input, has 0");
}

/* A .wafer whose Softmax lost its input: both readers and `wafer run` refuse it. */
Test(short_node, wafer_file_with_a_short_node) {
    int x;
    IrGraph *g = graph_with_x(13, &x);
    int r = tg_node(g, RT_OP_RELU, "relu0", 1, &x, "r");
    out_f32(g, tg_node(g, RT_OP_SOFTMAX, "sm0", 1, &r, "y"));
    g->nodes[1].n_in = 0; /* the input is lost after the graph was built */
    char p[512], out[8192];
    snprintf(p, sizeof p, "%s/short.wafer", dir);
    RtError err = {{0}};
    int wr = wafer_file_write(g, NULL, p, &err);
    ir_graph_free(g);
    cr_assert_eq(wr, RT_OK, "the writer stores what it is given: %s", err.msg);
    const char *want = "node 'sm0' (Softmax): needs 1 input, has 0";
    memset(&err, 0, sizeof err);
    RtModel *m = rt_model_open_file(p, NULL, &err);
    cr_expect_null(m, "rt_model_open_file accepted it");
    if (m) rt_model_close(m);
    cr_expect(strstr(err.msg, want) != NULL, "rt_model_open: '%s' lacks '%s'", err.msg, want);
    memset(&err, 0, sizeof err);
    IrGraph *back = wafer_file_read(p, &err);
    cr_expect_null(back, "wafer_file_read accepted it");
    if (back) ir_graph_free(back);
    cr_expect(strstr(err.msg, want) != NULL, "wafer_file_read: '%s' lacks '%s'", err.msg, want);
    int rc = tu_run(out, sizeof out, "%s run %s --input x=%s/x.npy --out %s/out", WAFER_BIN, p, dir, dir);
    cr_expect_eq(rc, 2, "run: exit %d\n%s", rc, out);
    cr_expect(strstr(out, want) != NULL, "run: output lacks '%s':\n%s", want, out);
}
