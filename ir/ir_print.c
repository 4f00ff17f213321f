/*
 * ir_print.c — a readable, deterministic text dump of an IR graph (wafer inspect --ir).
 *
 *   graph 'main' (opset 17, ir_version 8, producer 'pytorch')
 *   inputs:
 *     %x: float32[batch,64]
 *   constants: 2 (10,280 bytes)
 *     %w: float32[64,10]
 *   nodes:
 *     %y = MatMul(%x, %w)  # mm1 -> float32[batch,10]
 *     %z = If(%c, %y) {then_branch=@1, else_branch=@2}  # if0 -> float32[...]
 *       @1 then_branch: graph 'then' ...   (indented, printed the same way)
 *   outputs:
 *     %y: float32[batch,10]
 *
 * Dims: numbers when known, the symbol for named dynamic dims, `?` otherwise; an unknown
 * rank prints as `[...]`. Constants show dtype and shape only; a TENSOR attribute shows its
 * values when it has at most 8 elements. Long int/float lists are cut after 16 entries.
 */
#include "ir.h"

#include <inttypes.h>
#include <string.h>

#define PRINT_LIST_MAX 16   /* attribute list entries shown before "..." */
#define PRINT_TENSOR_MAX 8  /* TENSOR attribute elements shown inline */

static void print_graph(const IrGraph *g, FILE *f, int indent);

static void print_indent(FILE *f, int indent) {
    for (int i = 0; i < indent; i++) fputs("  ", f);
}

static void print_type(const IrValue *v, FILE *f) {
    fputs(v->dtype == RT_UNDEFINED ? "?" : rt_dtype_name(v->dtype), f);
    if (v->rank < 0) {
        fputs("[...]", f);
        return;
    }
    fputc('[', f);
    for (int i = 0; i < v->rank; i++) {
        if (i) fputc(',', f);
        if (v->dims[i].value >= 0) fprintf(f, "%" PRId64, v->dims[i].value);
        else if (v->dims[i].sym) fputs(v->dims[i].sym, f);
        else fputc('?', f);
    }
    fputc(']', f);
}

static void print_value_ref(const IrGraph *g, int v, FILE *f) {
    if (v < 0 || v >= g->n_values) fputs("_", f);
    else fprintf(f, "%%%s", g->values[v].name);
}

static void print_tensor_attr(const RtTensor *t, FILE *f) {
    char buf[160];
    fprintf(f, "%s%s", rt_dtype_name(t->dtype), rt_shape_str(t->rank, t->dims, buf, sizeof buf));
    int64_t n = rt_numel(t);
    if (!t->data || n > PRINT_TENSOR_MAX || t->dtype == RT_STRING) return;
    fputs(" {", f);
    for (int64_t i = 0; i < n; i++) {
        if (i) fputc(',', f);
        switch (t->dtype) {
        case RT_F32: fprintf(f, "%g", (double)((const float *)t->data)[i]); break;
        case RT_F64: fprintf(f, "%g", ((const double *)t->data)[i]); break;
        case RT_I64: fprintf(f, "%" PRId64, ((const int64_t *)t->data)[i]); break;
        case RT_I32: fprintf(f, "%" PRId32, ((const int32_t *)t->data)[i]); break;
        case RT_U8: case RT_BOOL: fprintf(f, "%u", ((const uint8_t *)t->data)[i]); break;
        case RT_I8: fprintf(f, "%d", ((const int8_t *)t->data)[i]); break;
        default: fputc('.', f); break;
        }
    }
    fputc('}', f);
}

/* Prints one attribute value; graph attributes get a number (@k) their dump refers to. */
static void print_attr(const RtAttr *a, int graph_no, FILE *f) {
    fprintf(f, "%s=", a->name);
    switch (a->type) {
    case RT_ATTR_INT: fprintf(f, "%" PRId64, a->i); break;
    case RT_ATTR_FLOAT: fprintf(f, "%g", (double)a->f); break;
    case RT_ATTR_STRING: fprintf(f, "\"%s\"", a->s ? a->s : ""); break;
    case RT_ATTR_TENSOR:
        if (a->t) print_tensor_attr(a->t, f);
        else fputs("tensor", f);
        break;
    case RT_ATTR_GRAPH: fprintf(f, "@%d", graph_no); break;
    case RT_ATTR_INTS:
    case RT_ATTR_FLOATS:
    case RT_ATTR_STRINGS:
        fputc('[', f);
        for (int i = 0; i < a->n && i < PRINT_LIST_MAX; i++) {
            if (i) fputc(',', f);
            if (a->type == RT_ATTR_INTS) fprintf(f, "%" PRId64, a->ints[i]);
            else if (a->type == RT_ATTR_FLOATS) fprintf(f, "%g", (double)a->floats[i]);
            else fprintf(f, "\"%s\"", a->strings[i]);
        }
        if (a->n > PRINT_LIST_MAX) fprintf(f, ",... (%d)", a->n);
        fputc(']', f);
        break;
    default: fputs("?", f); break;
    }
}

static void print_node(const IrGraph *g, const RtNode *n, FILE *f, int indent, int *graph_no) {
    print_indent(f, indent);
    for (int j = 0; j < n->n_out; j++) {
        if (j) fputs(", ", f);
        print_value_ref(g, n->out[j], f);
    }
    fprintf(f, "%s%s(", n->n_out ? " = " : "", n->op_type ? n->op_type : rt_op_name(n->op));
    for (int j = 0; j < n->n_in; j++) {
        if (j) fputs(", ", f);
        print_value_ref(g, n->in[j], f);
    }
    fputc(')', f);
    int first_graph = *graph_no;
    if (n->n_attr) {
        fputs(" {", f);
        for (int a = 0; a < n->n_attr; a++) {
            if (a) fputs(", ", f);
            print_attr(&n->attrs[a], *graph_no, f);
            if (n->attrs[a].type == RT_ATTR_GRAPH) ++*graph_no;
        }
        fputc('}', f);
    }
    fprintf(f, "  # %s ->", n->name ? n->name : "");
    for (int j = 0; j < n->n_out; j++) {
        fputs(j ? ", " : " ", f);
        if (n->out[j] >= 0 && n->out[j] < g->n_values) print_type(&g->values[n->out[j]], f);
        else fputs("_", f);
    }
    fputc('\n', f);
    for (int a = 0, no = first_graph; a < n->n_attr; a++) {
        if (n->attrs[a].type != RT_ATTR_GRAPH || !n->attrs[a].g) continue;
        print_indent(f, indent + 1);
        fprintf(f, "@%d %s: ", no++, n->attrs[a].name);
        print_graph((const IrGraph *)n->attrs[a].g, f, indent + 2);
    }
}

static void print_value_list(const IrGraph *g, const int *vals, int n, const char *title, FILE *f,
                             int indent) {
    print_indent(f, indent);
    fprintf(f, "%s:\n", title);
    for (int i = 0; i < n; i++) {
        print_indent(f, indent + 1);
        print_value_ref(g, vals[i], f);
        if (vals[i] >= 0 && vals[i] < g->n_values) {
            fputs(": ", f);
            print_type(&g->values[vals[i]], f);
        }
        fputc('\n', f);
    }
}

static void print_constants(const IrGraph *g, FILE *f, int indent) {
    int count = 0;
    int64_t bytes = 0;
    for (int v = 0; v < g->n_values; v++) {
        if (!g->values[v].konst) continue;
        count++;
        int64_t b = rt_nbytes(g->values[v].konst);
        if (b > 0) bytes += b;
    }
    print_indent(f, indent);
    fprintf(f, "constants: %d (%" PRId64 " bytes)\n", count, bytes);
    for (int v = 0; v < g->n_values; v++) {
        const RtTensor *t = g->values[v].konst;
        if (!t) continue;
        char buf[160];
        print_indent(f, indent + 1);
        fprintf(f, "%%%s: %s%s\n", g->values[v].name, rt_dtype_name(t->dtype),
                rt_shape_str(t->rank, t->dims, buf, sizeof buf));
    }
}

static void print_graph(const IrGraph *g, FILE *f, int indent) {
    fprintf(f, "graph '%s' (opset %d, ir_version %" PRId64 ", producer '%s')\n",
            g->name ? g->name : "", g->opset, g->ir_version,
            g->producer_name ? g->producer_name : "");
    print_value_list(g, g->inputs, g->n_inputs, "inputs", f, indent);
    print_constants(g, f, indent);
    print_indent(f, indent);
    fputs("nodes:\n", f);
    int graph_no = 1;
    for (int k = 0; k < g->n_nodes; k++)
        if (g->nodes[k].op != IR_OP_DELETED) print_node(g, &g->nodes[k], f, indent + 1, &graph_no);
    print_value_list(g, g->outputs, g->n_outputs, "outputs", f, indent);
}

void ir_print(const IrGraph *g, FILE *f) { print_graph(g, f, 0); }
