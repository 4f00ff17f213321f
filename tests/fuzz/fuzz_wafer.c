/*
 * fuzz_wafer.c — libFuzzer target for the .wafer readers: the runtime's loader
 * (runtime/rt_model.c, the one parser of the format) opened from memory, and the compiler's
 * wafer_file_read_meta (format/wafer_read.c), which maps the file through the same loader and
 * converts its graphs to IR. Each input is read twice by both: as it is, and with its
 * checksum made valid (the CRC-32C of bytes [0, size - 8) written into the last 8 bytes, as
 * wafer_write.c does). Random mutations almost never keep the CRC right, so the as-is read
 * tests the header and checksum checks, and the fixed-up read gets every mutation past them
 * into the section, string, value, node, data and plan parsing a corrupt-but-checksummed
 * file would reach.
 *
 * Both readers promise a graph that is safe to execute. The target checks that promise
 * again on what they return (abort on a broken invariant): for rt_model, value indices in
 * range, every node input defined before use, each value produced once, outputs defined,
 * subgraphs owned by the model, the plan passing rt_plan_check; for the IR, ir_verify. A
 * refusal is fine; a crash, a sanitizer report or a leak is a bug.
 */
#include "fuzz_memfile.h"

#include <string.h>

#include "../../format/wafer_internal.h"
#include "../../runtime/rt_model.h"

static void broken(const char *what) {
    fprintf(stderr, "rt_model returned a graph that breaks an invariant: %s\n", what);
    abort();
}

static void rt_graph_check(const RtModel *m, const RtGraph *g, int depth) {
    if (depth > 100) broken("subgraph nesting");
    if (!rt_model_graph_info(m, g)) broken("graph not owned by the model");
    char *def = calloc((size_t)g->n_values + 1, 1);
    if (!def) abort();
    for (int v = 0; v < g->n_values; v++) {
        if (!g->value_names[v]) broken("value without a name");
        if (g->consts[v]) def[v] = 1;
    }
    for (int i = 0; i < g->n_inputs; i++) {
        if (g->inputs[i] < 0 || g->inputs[i] >= g->n_values) broken("graph input index");
        def[g->inputs[i]] = 1;
    }
    for (int k = 0; k < g->n_nodes; k++) {
        const RtNode *n = &g->nodes[k];
        if (n->op <= RT_OP_UNKNOWN || n->op >= RT_OP_COUNT) broken("node op");
        for (int j = 0; j < n->n_in; j++) {
            int v = n->in[j];
            if (v < -1 || v >= g->n_values || (v >= 0 && !def[v])) broken("node input used before definition");
        }
        for (int j = 0; j < n->n_out; j++) {
            int v = n->out[j];
            if (v < -1 || v >= g->n_values || (v >= 0 && def[v])) broken("node output produced twice");
            if (v >= 0) def[v] = 2;
        }
        for (int a = 0; a < n->n_attr; a++) {
            const RtAttr *at = &n->attrs[a];
            if (!at->name || !rt_op_attr_allowed(n->op, at->name)) broken("attribute name");
            if (at->type == RT_ATTR_GRAPH) rt_graph_check(m, (const RtGraph *)at->g, depth + 1);
            if (at->type == RT_ATTR_TENSOR && (!at->t || (rt_nbytes(at->t) > 0 && !at->t->data))) broken("tensor");
        }
    }
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] < 0 || g->outputs[i] >= g->n_values || !def[g->outputs[i]]) broken("graph output");
    free(def);
}

static void open_memory_once(const uint8_t *data, size_t size) {
    RtError err;
    memset(&err, 0, sizeof err);
    RtModel *m = rt_model_open_memory(data, size, "<fuzz>", NULL, &err);
    if (!m) {
        if (!err.msg[0]) broken("refused without a message");
        return;
    }
    const RtGraph *g = rt_model_graph(m);
    rt_graph_check(m, g, 0);
    for (int v = 0; v < g->n_values; v++)
        if (!rt_model_value(m, v)) broken("value info");
    const RtPlan *p = rt_model_plan(m);
    if (p && rt_plan_check(g, p, &err) != RT_OK) broken(err.msg);
    (void)rt_model_meta(m, WF_META_OPTIONS);
    rt_model_close(m);
}

static void read_file_once(const uint8_t *data, size_t size) {
    const char *path = fuzz_memfile(data, size);
    RtError err;
    memset(&err, 0, sizeof err);
    WaferMeta meta;
    IrGraph *g = wafer_file_read_meta(path, &meta, &err);
    if (!g) return;
    if (ir_verify(g, &err) != RT_OK) {
        fprintf(stderr, "wafer_file_read returned a graph that fails ir_verify: %s\n", err.msg);
        abort();
    }
    ir_graph_free(g);
}

static void read_both(const uint8_t *data, size_t size) {
    open_memory_once(data, size);
    read_file_once(data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    read_both(data, size);
    if (size < WF_CHECKSUM_BYTES) return 0;
    uint8_t *fixed = malloc(size);
    if (!fixed) abort();
    memcpy(fixed, data, size);
    wf_put_u32(fixed + size - 8, wf_crc32c(fixed, size - 8, 1));
    wf_put_u32(fixed + size - 4, 0);
    read_both(fixed, size);
    free(fixed);
    return 0;
}
