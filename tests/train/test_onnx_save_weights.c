/*
 * test_onnx_save_weights.c — frontend/onnx_save_weights.c: the written model is the source
 * model with exactly the changed float initializers replaced (every other byte of meaning
 * equal: nodes, attributes, other initializers), reloads with the new values; a size mismatch
 * and an unreadable source are refused by name and leave no file.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../frontend/onnx.h"
#include "../test_util.h"

#define CNN FIXTURES "/digits/digits_cnn.onnx"

static char dir[256], path[300];
static RtError err;

static void setup(void) {
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_save_weights"), 0);
    snprintf(path, sizeof path, "%s/out.onnx", dir);
}
static void teardown(void) { tu_tmpdir_remove(dir); }
TestSuite(save_weights, .init = setup, .fini = teardown);

Test(save_weights, replaces_float_initializers_by_name) {
    IrGraph *g = onnx_load_file(CNN, NULL, &err);
    cr_assert_not_null(g, "%s", err.msg);
    int w = ir_value_find(g, "c2.weight"), v = ir_value_find(g, "b3.running_var");
    cr_assert(w >= 0 && v >= 0);
    float *wd = g->values[w].konst->data, *vd = g->values[v].konst->data;
    wd[0] = 123.5f, wd[rt_numel(g->values[w].konst) - 1] = -7.25f, vd[3] = 0.125f;
    int n = 0;
    cr_assert_eq(onnx_save_weights(CNN, g, path, &n, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(n, 22, "every float initializer of digits_cnn is written from the graph");
    IrGraph *a = onnx_load_file(CNN, NULL, &err), *b = onnx_load_file(path, NULL, &err);
    cr_assert(a && b, "%s", err.msg);
    cr_assert_eq(a->n_nodes, b->n_nodes);
    for (int k = 0; k < a->n_nodes; k++) {
        cr_assert_str_eq(a->nodes[k].name, b->nodes[k].name);
        cr_assert_eq(a->nodes[k].n_attr, b->nodes[k].n_attr);
    }
    int changed = 0;
    for (int i = 0; i < a->n_values; i++) {
        if (!a->values[i].konst) continue;
        int j = ir_value_find(b, a->values[i].name);
        cr_assert(j >= 0 && b->values[j].konst);
        size_t bytes = (size_t)rt_nbytes(a->values[i].konst);
        cr_assert_eq(bytes, (size_t)rt_nbytes(b->values[j].konst));
        changed += memcmp(a->values[i].konst->data, b->values[j].konst->data, bytes) != 0;
    }
    cr_assert_eq(changed, 2, "c2.weight and b3.running_var only");
    const float *nw = b->values[ir_value_find(b, "c2.weight")].konst->data;
    cr_assert_eq(nw[0], 123.5f);
    cr_assert_eq(((const float *)b->values[ir_value_find(b, "b3.running_var")].konst->data)[3], 0.125f);
    ir_graph_free(a);
    ir_graph_free(b);
    ir_graph_free(g);
}

Test(save_weights, refuses_size_mismatch_and_missing_source) {
    IrGraph *g = ir_graph_new();
    float z[3] = {0};
    RtTensor t = {RT_F32, 1, {3}, z};
    cr_assert(ir_const_add(g, "fc1.bias", &t) >= 0); /* 128 values in the file */
    cr_assert_neq(onnx_save_weights(CNN, g, path, NULL, &err), RT_OK);
    cr_assert(strstr(err.msg, "fc1.bias") && strstr(err.msg, "128"), "%s", err.msg);
    cr_assert_neq(access(path, F_OK), 0, "no file after a failure");
    err.msg[0] = '\0';
    cr_assert_neq(onnx_save_weights("/nonexistent/m.onnx", g, path, NULL, &err), RT_OK);
    cr_assert(strstr(err.msg, "/nonexistent/m.onnx"), "%s", err.msg);
    ir_graph_free(g);
}
