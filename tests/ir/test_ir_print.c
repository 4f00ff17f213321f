/*
 * test_ir_print.c — ir_print's text: header, typed inputs with symbolic and unknown dims,
 * constants without data, one line per node with attributes, name and output types.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../ir/ir.h"
#include "ir_test_util.h"

/* ir_print into a malloc'd string. */
static char *print_to_string(const IrGraph *g) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    ir_print(g, f);
    fclose(f);
    return buf;
}

static IrGraph *sample(void) {
    IrGraph *g = ir_graph_new();
    g->name = "main";
    g->opset = 17;
    g->ir_version = 8;
    g->producer_name = "pytorch";
    int64_t xd[2] = {-1, 64};
    const char *xs[2] = {"batch", NULL};
    int x = tg_input(g, "x", RT_F32, 2, xd, xs);
    int64_t wd[2] = {64, 10};
    float *w = calloc(640, sizeof(float));
    int wv = tg_const_f32(g, "w", 2, wd, w);
    free(w);
    int in[2] = {x, wv};
    int y = tg_node(g, RT_OP_MATMUL, "mm1", 2, in, "y");
    g->values[y].dtype = RT_F32;
    g->values[y].rank = 2;
    g->values[y].dims[0].value = -1;
    g->values[y].dims[0].sym = "batch";
    g->values[y].dims[1].value = 10;
    int64_t axis = 1;
    int z = tg_node(g, RT_OP_SOFTMAX, "sm", 1, &y, "z");
    tg_attr_ints(g, "axis", -1, &axis);
    tg_output(g, z);
    return g;
}

Test(ir_print, dumps_header_inputs_constants_nodes) {
    IrGraph *g = sample();
    char *s = print_to_string(g);
    const char *want[] = {
        "graph 'main' (opset 17, ir_version 8, producer 'pytorch')",
        "%x: float32[batch,64]",
        "constants: 1 (2560 bytes)",
        "%w: float32[64,10]",
        "%y = MatMul(%x, %w)  # mm1 -> float32[batch,10]",
        "%z = Softmax(%y) {axis=1}  # sm -> ?[...]",
        "outputs:",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_expect(strstr(s, want[i]) != NULL, "missing '%s' in:\n%s", want[i], s);
    free(s);
    ir_graph_free(g);
}

Test(ir_print, is_deterministic) {
    IrGraph *g = sample();
    char *a = print_to_string(g), *b = print_to_string(g);
    cr_expect_str_eq(a, b);
    free(a);
    free(b);
    ir_graph_free(g);
}

Test(ir_print, unknown_dims_and_absent_inputs) {
    IrGraph *g = ir_graph_new();
    int64_t d[2] = {-1, 3};
    int x = tg_input(g, "x", RT_F32, 2, d, NULL);
    int in[3] = {x, -1, -1};
    tg_output(g, tg_node(g, RT_OP_CLIP, "c", 3, in, "y"));
    char *s = print_to_string(g);
    cr_expect(strstr(s, "%x: float32[?,3]") != NULL, "%s", s);
    cr_expect(strstr(s, "Clip(%x, _, _)") != NULL, "%s", s);
    free(s);
    ir_graph_free(g);
}

Test(ir_print, subgraphs_are_indented_under_their_node) {
    IrGraph *g = ir_graph_new();
    int64_t one = 1;
    int cond = tg_input(g, "cond", RT_BOOL, 1, &one, NULL);
    IrGraph *br = ir_graph_new();
    br->name = "then_graph";
    float z = 0;
    tg_output(br, tg_const_f32(br, "zero", 0, NULL, &z));
    int y = ir_value_add(g, "y");
    cr_assert(ir_node_add(g, RT_OP_IF, "if0", 1, &cond, 1, &y) >= 0);
    tg_attr_graph(g, "then_branch", br);
    tg_output(g, y);
    char *s = print_to_string(g);
    cr_expect(strstr(s, "%y = If(%cond) {then_branch=@1}  # if0") != NULL, "%s", s);
    cr_expect(strstr(s, "\n    @1 then_branch: graph 'then_graph'") != NULL, "%s", s);
    cr_expect(strstr(s, "\n        %zero: float32[]") != NULL, "%s", s);
    free(s);
    ir_graph_free(g);
}
