/*
 * cmd_inspect.c — `wafer inspect MODEL [--json] [--ir]`: what a model is made of.
 *
 * Loads the model accepting unknown ops (inspection must work on models wafer cannot run),
 * infers shapes, then reports inputs and outputs (dtype, shape with named dynamic dims),
 * an op histogram (by count, then name), the parameter count and bytes, and the nodes wafer
 * cannot run (unknown op, or a known op without a kernel). Subgraphs (If branches) count.
 * Unsupported ops are reported, not an error: the exit status is 0 whenever the file loads.
 * A .wafer file also shows its metadata: source model hash, wafer version, options.
 */
#include <stdlib.h>
#include <string.h>

#include "../format/wafer_file.h"
#include "../passes/passes.h"
#include "../runtime/kernels/kernel.h"
#include "cli.h"

static const char *const inspect_usage =
    "usage: wafer inspect MODEL [--json] [--ir] [--passes]\n"
    "\n"
    "Prints a model's inputs and outputs (dtype and shape; dynamic dims by name), its op\n"
    "histogram, parameter count and bytes, and the nodes wafer has no kernel for. MODEL is\n"
    "an ONNX file or a .wafer file; for a .wafer file also its metadata (the source model's\n"
    "hash, the wafer version that wrote it, the options used).\n"
    "\n"
    "  --json   one JSON object instead: model, producer, opset, source_opset (the file's own,\n"
    "           below 7 upgraded as it loads), inputs [{name,dtype,shape}], outputs,\n"
    "           ops {OpType: count}, parameters, parameter_bytes, unsupported [{node,op}];\n"
    "           for a .wafer file also format_version, source_hash, wafer_version, options\n"
    "  --ir     also print wafer's IR of the graph (with --passes: the fused graph)\n"
    "  --passes simplify the graph, run the fusion passes (BatchNormalization folding, Linear,\n"
    "           fused activations, LayerNormalization) and print the op histogram before and\n"
    "           after fusion side by side; with --json: {\"before\":{Op: n},\"after\":{Op: n}}\n"
    "\n"
    "Exit status 0 when the model loads (even with unsupported ops), 2 when it does not.\n";

typedef struct {
    const char *op;       /* borrowed op_type */
    int64_t count;
} OpCount;

typedef struct {
    const RtNode *node;   /* borrowed */
    int index;            /* position in its graph, for unnamed nodes */
} Unsupported;

typedef struct {
    OpCount *ops;         /* [n_ops] owned */
    int n_ops, cap_ops;
    Unsupported *bad;     /* [n_bad] owned */
    int n_bad, cap_bad;
    int64_t n_nodes;
    int oom;
} Census;

static int grow(void **arr, int *cap, int need, size_t elem) {
    if (need <= *cap) return 1;
    int c = *cap ? 2 * *cap : 16;
    void *p = realloc(*arr, elem * (size_t)c);
    if (!p) return 0;
    *arr = p;
    *cap = c;
    return 1;
}

static void census_node(Census *c, const RtNode *n, int index) {
    c->n_nodes++;
    int i = 0;
    while (i < c->n_ops && strcmp(c->ops[i].op, n->op_type) != 0) i++;
    if (i == c->n_ops) {
        if (!grow((void **)&c->ops, &c->cap_ops, c->n_ops + 1, sizeof *c->ops)) {
            c->oom = 1;
            return;
        }
        c->ops[c->n_ops++] = (OpCount){n->op_type, 0};
    }
    c->ops[i].count++;
    if (n->op == RT_OP_UNKNOWN || rt_kernel_find(n->op) == NULL) {
        if (!grow((void **)&c->bad, &c->cap_bad, c->n_bad + 1, sizeof *c->bad)) {
            c->oom = 1;
            return;
        }
        c->bad[c->n_bad++] = (Unsupported){n, index};
    }
}

static void census_graph(Census *c, const IrGraph *g) {
    for (int k = 0; k < g->n_nodes; k++) {
        const RtNode *n = &g->nodes[k];
        if (n->op == IR_OP_DELETED) continue;
        census_node(c, n, k);
        for (int a = 0; a < n->n_attr; a++)
            if (n->attrs[a].type == RT_ATTR_GRAPH && n->attrs[a].g)
                census_graph(c, (const IrGraph *)n->attrs[a].g);
    }
}

static int op_count_cmp(const void *pa, const void *pb) {
    const OpCount *a = pa, *b = pb;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    return strcmp(a->op, b->op);
}

static void census_free(Census *c) {
    free(c->ops);
    free(c->bad);
}

/* ---- text ---- */

static void print_values(FILE *out, const IrGraph *g, const int *idx, int n) {
    for (int i = 0; i < n; i++) {
        const IrValue *v = &g->values[idx[i]];
        char shape[256];
        fprintf(out, "  %-16s %-8s %s\n", v->name, rt_dtype_name(v->dtype),
                cli_value_shape_str(v, shape, sizeof shape));
    }
}

static void inspect_text(FILE *out, const char *path, const IrGraph *g, const WaferMeta *meta,
                         const Census *c, int64_t params, int64_t bytes) {
    fprintf(out, "model:      %s\n", path);
    if (meta->wafer_version) {
        fprintf(out, "format:     .wafer version %d\n", WAFER_FILE_VERSION);
        fprintf(out, "source:     %s\n", meta->source_hash[0] ? meta->source_hash : "(none)");
        fprintf(out, "written by: wafer %s\n", meta->wafer_version[0] ? meta->wafer_version : "(unknown)");
        fprintf(out, "options:    %s\n", meta->options[0] ? meta->options : "(none)");
    }
    fprintf(out, "producer:   %s\n", g->producer_name && g->producer_name[0] ? g->producer_name : "(none)");
    fprintf(out, "opset:      %d", g->opset);
    if (g->source_opset && g->source_opset != g->opset)
        fprintf(out, " (the file's opset %d, its nodes rewritten to their opset-%d forms as it loaded)", g->source_opset,
                g->opset);
    fprintf(out, "\n");
    fprintf(out, "inputs:\n");
    print_values(out, g, g->inputs, g->n_inputs);
    fprintf(out, "outputs:\n");
    print_values(out, g, g->outputs, g->n_outputs);
    fprintf(out, "ops (%lld nodes):\n", (long long)c->n_nodes);
    for (int i = 0; i < c->n_ops; i++)
        fprintf(out, "  %-24s %lld\n", c->ops[i].op, (long long)c->ops[i].count);
    fprintf(out, "parameters: %lld (%lld bytes, %.2f MB)\n", (long long)params, (long long)bytes,
            (double)bytes / 1e6);
    if (c->n_bad == 0) {
        fprintf(out, "unsupported ops: none\n");
        return;
    }
    /* Header with a count per op type, in order of first appearance. */
    fprintf(out, "unsupported ops (%d nodes:", c->n_bad);
    for (int i = 0; i < c->n_bad; i++) {
        const char *op = c->bad[i].node->op_type;
        int seen = 0, count = 0;
        for (int j = 0; j < c->n_bad; j++) {
            int same = strcmp(c->bad[j].node->op_type, op) == 0;
            seen |= same && j < i;
            count += same;
        }
        if (!seen) fprintf(out, "%s %s %d", i ? "," : "", op, count);
    }
    fprintf(out, "):\n");
    for (int i = 0; i < c->n_bad; i++) {
        const RtNode *n = c->bad[i].node;
        const char *why = n->op == RT_OP_UNKNOWN ? "unknown op" : "no kernel";
        if (n->name && n->name[0])
            fprintf(out, "  node '%s' (%s%s%s): %s\n", n->name, n->domain && n->domain[0] ? n->domain : "",
                    n->domain && n->domain[0] ? "." : "", n->op_type, why);
        else
            fprintf(out, "  node #%d (%s%s%s): %s\n", c->bad[i].index, n->domain && n->domain[0] ? n->domain : "",
                    n->domain && n->domain[0] ? "." : "", n->op_type, why);
    }
}

/* ---- JSON ---- */

static void json_values(TextBuf *b, const IrGraph *g, const int *idx, int n) {
    text_buf_printf(b, "[");
    for (int i = 0; i < n; i++) {
        const IrValue *v = &g->values[idx[i]];
        text_buf_printf(b, "%s{\"name\":", i ? "," : "");
        text_buf_json_str(b, v->name);
        text_buf_printf(b, ",\"dtype\":");
        text_buf_json_str(b, rt_dtype_name(v->dtype));
        text_buf_printf(b, ",\"shape\":");
        if (v->rank < 0) {
            text_buf_printf(b, "null}");
            continue;
        }
        text_buf_printf(b, "[");
        for (int d = 0; d < v->rank; d++) {
            if (d) text_buf_printf(b, ",");
            if (v->dims[d].value >= 0)
                text_buf_printf(b, "%lld", (long long)v->dims[d].value);
            else if (v->dims[d].sym)
                text_buf_json_str(b, v->dims[d].sym);
            else
                text_buf_printf(b, "null");
        }
        text_buf_printf(b, "]}");
    }
    text_buf_printf(b, "]");
}

static void inspect_json(TextBuf *b, const char *path, const IrGraph *g, const WaferMeta *meta,
                         const Census *c, int64_t params, int64_t bytes) {
    text_buf_printf(b, "{\"model\":");
    text_buf_json_str(b, path);
    if (meta->wafer_version) {
        text_buf_printf(b, ",\"format_version\":%d,\"source_hash\":", WAFER_FILE_VERSION);
        text_buf_json_str(b, meta->source_hash);
        text_buf_printf(b, ",\"wafer_version\":");
        text_buf_json_str(b, meta->wafer_version);
        text_buf_printf(b, ",\"options\":");
        text_buf_json_str(b, meta->options);
    }
    text_buf_printf(b, ",\"producer\":");
    text_buf_json_str(b, g->producer_name ? g->producer_name : "");
    text_buf_printf(b, ",\"opset\":%d,\"source_opset\":%d,\"inputs\":", g->opset,
                    g->source_opset ? g->source_opset : g->opset);
    json_values(b, g, g->inputs, g->n_inputs);
    text_buf_printf(b, ",\"outputs\":");
    json_values(b, g, g->outputs, g->n_outputs);
    text_buf_printf(b, ",\"nodes\":%lld,\"ops\":{", (long long)c->n_nodes);
    for (int i = 0; i < c->n_ops; i++) {
        if (i) text_buf_printf(b, ",");
        text_buf_json_str(b, c->ops[i].op);
        text_buf_printf(b, ":%lld", (long long)c->ops[i].count);
    }
    text_buf_printf(b, "},\"parameters\":%lld,\"parameter_bytes\":%lld,\"unsupported\":[",
                   (long long)params, (long long)bytes);
    for (int i = 0; i < c->n_bad; i++) {
        const RtNode *n = c->bad[i].node;
        text_buf_printf(b, "%s{\"node\":", i ? "," : "");
        text_buf_json_str(b, n->name ? n->name : "");
        text_buf_printf(b, ",\"op\":");
        text_buf_json_str(b, n->op_type);
        if (n->domain && n->domain[0]) {
            text_buf_printf(b, ",\"domain\":");
            text_buf_json_str(b, n->domain);
        }
        text_buf_printf(b, "}");
    }
    text_buf_printf(b, "]}\n");
}

/* ---- --passes: the op histogram before and after fusion ---- */

typedef struct {
    const char *op;       /* borrowed op_type */
    int64_t before, after;
} OpRow;

static int op_row_cmp(const void *pa, const void *pb) {
    const OpRow *a = pa, *b = pb;
    if (a->before != b->before) return a->before > b->before ? -1 : 1;
    if (a->after != b->after) return a->after > b->after ? -1 : 1;
    return strcmp(a->op, b->op);
}

/* One row per op in either census; NULL when out of memory. */
static OpRow *passes_rows(const Census *before, const Census *after, int *n_rows) {
    OpRow *rows = calloc((size_t)(before->n_ops + after->n_ops + 1), sizeof *rows);
    if (!rows) return NULL;
    int n = 0;
    for (int i = 0; i < before->n_ops; i++) rows[n++] = (OpRow){before->ops[i].op, before->ops[i].count, 0};
    for (int i = 0; i < after->n_ops; i++) {
        int j = 0;
        while (j < n && strcmp(rows[j].op, after->ops[i].op) != 0) j++;
        if (j == n) rows[n++] = (OpRow){after->ops[i].op, 0, 0};
        rows[j].after = after->ops[i].count;
    }
    qsort(rows, (size_t)n, sizeof *rows, op_row_cmp);
    *n_rows = n;
    return rows;
}

static void passes_text(FILE *out, const char *path, const Census *before, const Census *after,
                        const OpRow *rows, int n) {
    fprintf(out, "model:      %s\n", path);
    fprintf(out, "ops of the simplified graph before and after fusion (%lld -> %lld nodes):\n", (long long)before->n_nodes,
            (long long)after->n_nodes);
    fprintf(out, "  %-24s %8s %8s\n", "op", "before", "after");
    for (int i = 0; i < n; i++)
        fprintf(out, "  %-24s %8lld %8lld\n", rows[i].op, (long long)rows[i].before, (long long)rows[i].after);
}

static void passes_json_ops(TextBuf *b, const Census *c) {
    text_buf_printf(b, "{");
    for (int i = 0; i < c->n_ops; i++) {
        if (i) text_buf_printf(b, ",");
        text_buf_json_str(b, c->ops[i].op);
        text_buf_printf(b, ":%lld", (long long)c->ops[i].count);
    }
    text_buf_printf(b, "}");
}

/* Simplifies g, takes the histogram, fuses, takes it again, and prints both. */
static int inspect_passes(FILE *out, const char *path, IrGraph *g, int json, int ir, RtError *err) {
    Census before, after;
    memset(&before, 0, sizeof before);
    memset(&after, 0, sizeof after);
    int status = CLI_OK;
    if (pass_simplify(g, err) != RT_OK) {
        cli_error_name_file(err, path);
        return CLI_BAD_INPUT;
    }
    census_graph(&before, g);
    if (pass_fuse(g, err) != RT_OK) {
        cli_error_name_file(err, path);
        census_free(&before);
        return CLI_BAD_INPUT;
    }
    census_graph(&after, g);
    if (before.n_ops > 1) qsort(before.ops, (size_t)before.n_ops, sizeof *before.ops, op_count_cmp);
    if (after.n_ops > 1) qsort(after.ops, (size_t)after.n_ops, sizeof *after.ops, op_count_cmp);
    int n_rows = 0;
    OpRow *rows = before.oom || after.oom ? NULL : passes_rows(&before, &after, &n_rows);
    if (!rows) {
        status = CLI_BAD_INPUT;
        rt_error_set(err, "%s: out of memory", path);
    } else if (json) {
        TextBuf b;
        memset(&b, 0, sizeof b);
        text_buf_printf(&b, "{\"before\":");
        passes_json_ops(&b, &before);
        text_buf_printf(&b, ",\"after\":");
        passes_json_ops(&b, &after);
        text_buf_printf(&b, "}\n");
        if (b.oom) {
            status = CLI_BAD_INPUT;
            rt_error_set(err, "%s: out of memory", path);
        } else {
            fputs(b.s, out);
        }
        text_buf_free(&b);
    } else {
        passes_text(out, path, &before, &after, rows, n_rows);
        if (ir) {
            fprintf(out, "\n");
            ir_print(g, out);
        }
    }
    free(rows);
    census_free(&before);
    census_free(&after);
    return status;
}

int cmd_inspect(int argc, char **argv, FILE *out, RtError *err) {
    if (cli_wants_help(argc, argv)) {
        fputs(inspect_usage, out);
        return CLI_OK;
    }
    const char *path = NULL;
    int json = 0, ir = 0, passes = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--passes") == 0)
            passes = 1;
        else if (strcmp(argv[i], "--ir") == 0)
            ir = 1;
        else if (argv[i][0] == '-' && argv[i][1] != '\0')
            return cli_usage_error(err, "inspect", "unknown option '%s'", argv[i]);
        else if (path)
            return cli_usage_error(err, "inspect", "one MODEL only (got '%s' and '%s')", path, argv[i]);
        else
            path = argv[i];
    }
    if (!path) return cli_usage_error(err, "inspect", "missing MODEL");
    if (json && ir) return cli_usage_error(err, "inspect", "--json and --ir cannot be combined");

    WaferMeta meta;
    IrGraph *g = cli_model_load_meta(path, 1, &meta, err);
    if (!g) return CLI_BAD_INPUT;
    if (passes) {
        int r = inspect_passes(out, path, g, json, ir, err);
        ir_graph_free(g);
        return r;
    }
    if (ir_infer_shapes(g, err) != RT_OK) {
        cli_error_name_file(err, path);
        ir_graph_free(g);
        return CLI_BAD_INPUT;
    }
    Census c;
    memset(&c, 0, sizeof c);
    census_graph(&c, g);
    int64_t params = 0, bytes = 0;
    cli_graph_params(g, &params, &bytes);
    int status = CLI_OK;
    if (c.n_ops > 1) qsort(c.ops, (size_t)c.n_ops, sizeof *c.ops, op_count_cmp);
    if (c.oom) {
        status = CLI_BAD_INPUT;
        rt_error_set(err, "%s: out of memory", path);
    } else if (json) {
        TextBuf b;
        memset(&b, 0, sizeof b);
        inspect_json(&b, path, g, &meta, &c, params, bytes);
        if (b.oom) {
            status = CLI_BAD_INPUT;
            rt_error_set(err, "%s: out of memory", path);
        } else {
            fputs(b.s, out);
        }
        text_buf_free(&b);
    } else {
        inspect_text(out, path, g, &meta, &c, params, bytes);
        if (ir) {
            fprintf(out, "\n");
            ir_print(g, out);
        }
    }
    census_free(&c);
    ir_graph_free(g);
    return status;
}
