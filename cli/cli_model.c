/*
 * cli_model.c — model facts the subcommands share: loading with the file named in every
 * message (a .wafer file when the file starts with its magic, ONNX otherwise), parameter
 * counts (elements and bytes of constants, subgraphs included), and printable declared
 * shapes ("[batch,64]").
 */
#include "../format/wafer_file.h"
#include "../passes/qdq_import.h"
#include "cli.h"

#include <string.h>

void cli_error_name_file(RtError *err, const char *path) {
    if (strstr(err->msg, path)) return;
    char msg[sizeof err->msg];
    snprintf(msg, sizeof msg, "%s: %s", path, err->msg[0] ? err->msg : "failed");
    memcpy(err->msg, msg, sizeof msg);
}

static int qdq_import_on = 1;

void cli_model_qdq_import_set(int on) { qdq_import_on = on; }

IrGraph *cli_model_load_meta(const char *path, int allow_unknown, WaferMeta *meta, RtError *err) {
    if (meta) memset(meta, 0, sizeof *meta);
    IrGraph *g;
    if (wafer_file_is(path)) { /* by content, not by name: a renamed file still loads */
        g = wafer_file_read_meta(path, meta, err);
    } else {
        OnnxLoadOptions opts;
        memset(&opts, 0, sizeof opts);
        opts.allow_unknown_ops = allow_unknown;
        g = onnx_load_file(path, &opts, err);
        /* QDQ int8 groups from other tools onto the int8 kernels before any pass folds the
         * weights' DequantizeLinear (passes/qdq_import.h); inspect (allow_unknown) shows the
         * file as written */
        if (g && !allow_unknown && qdq_import_on && pass_qdq_import(g, NULL, err) != RT_OK) {
            ir_graph_free(g);
            g = NULL;
        }
    }
    if (!g) cli_error_name_file(err, path);
    return g;
}

IrGraph *cli_model_load(const char *path, int allow_unknown, RtError *err) {
    return cli_model_load_meta(path, allow_unknown, NULL, err);
}

static void tensor_add(const RtTensor *t, int64_t *count, int64_t *bytes) {
    int64_t n = rt_numel(t), b = rt_nbytes(t);
    if (n > 0) *count += n;
    if (b > 0) *bytes += b;
}

void cli_graph_params(const IrGraph *g, int64_t *count, int64_t *bytes) {
    for (int v = 0; v < g->n_values; v++)
        if (g->values[v].konst) tensor_add(g->values[v].konst, count, bytes);
    for (int k = 0; k < g->n_nodes; k++) {
        const RtNode *n = &g->nodes[k];
        for (int a = 0; a < n->n_attr; a++) {
            const RtAttr *at = &n->attrs[a];
            if (at->type == RT_ATTR_TENSOR && n->op == RT_OP_CONSTANT && at->t)
                tensor_add(at->t, count, bytes);
            else if (at->type == RT_ATTR_GRAPH && at->g)
                cli_graph_params((const IrGraph *)at->g, count, bytes);
        }
    }
}

const char *cli_value_shape_str(const IrValue *v, char *buf, size_t n) {
    if (v->rank < 0) {
        snprintf(buf, n, "[...]");
        return buf;
    }
    size_t used = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < v->rank && used < n; d++) {
        const char *sep = d ? "," : "";
        if (v->dims[d].value >= 0)
            used += (size_t)snprintf(buf + used, n - used, "%s%lld", sep, (long long)v->dims[d].value);
        else if (v->dims[d].sym)
            used += (size_t)snprintf(buf + used, n - used, "%s%s", sep, v->dims[d].sym);
        else
            used += (size_t)snprintf(buf + used, n - used, "%s?", sep);
    }
    if (used < n) snprintf(buf + used, n - used, "]");
    return buf;
}
