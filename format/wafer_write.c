/*
 * wafer_write.c — writes an IR graph as a .wafer file, format version 2.
 *
 * Algorithm: one walk over the graph and its subgraphs (breadth first: the model is graph
 * 0, each GRAPH attribute met appends its subgraph to the list) encodes every value, node
 * and attribute field by field into per-section buffers, interning strings once each; when
 * every input of graph 0 has a static shape, the runtime's memory planner (rt_plan_build,
 * over the graph lowered by ir_lower) computes the arena plan, stored in PLAN; then the
 * sections are laid out behind the header at 64-byte boundaries, the checksum is appended,
 * and the image is written atomically (io_file_write_atomic: temporary file, fsync, rename,
 * fsync of the folder). Nothing depends on pointer values, hash order, thread count or the
 * host's byte order, so the same graph and options give the same bytes.
 *
 * The one reader of the format is the runtime's (runtime/rt_model.c); the compiler reads
 * through it (wafer_read.c).
 *
 * ===================================== LAYOUT (version 2) =====================================
 * Every integer is little-endian; u32/i32/u64/i64 fields follow each other with no padding
 * unless stated. "str" is a u32 byte offset into STRINGS, or 0xFFFFFFFF for "no string"
 * (a NULL pointer: an unnamed dynamic dim, for instance).
 *
 * Header (offset: size field)
 *    0:  8  magic "WAFERFMT"
 *    8:  4  u32 format version (WAFER_FILE_VERSION = 2; a reader refuses every other
 *              version, older or newer, naming both)
 *   12:  4  u32 flags (0; a reader refuses flags it does not know)
 *   16:  8  u64 file size in bytes, checksum included
 *   24:  4  u32 section count (7)
 *   28:  4  u32 reserved (0)
 *   32: 24 each, the section table: u32 kind, u32 reserved (0), u64 offset, u64 size (bytes)
 * Sections follow in kind order, each at an offset that is a multiple of 64 (zero padding
 * between); offsets are from the start of the file, and no section overlaps another or the
 * header. After the last section: zero padding to a multiple of 8, then
 *  size-8:  4  u32 checksum = CRC-32C (Castagnoli; wafer_crc.c) over bytes [0, size - 8),
 *              i.e. every byte of the file except the checksum field itself
 *  size-4:  4  u32 zero (part of the checksum field; a reader refuses anything else)
 *
 * kind 1 STRINGS: NUL-terminated UTF-8 strings back to back; offset 0 holds "", each
 *   distinct string appears once (first-use order), so the section's last byte is a NUL.
 *   Names of graphs, values, nodes, attributes, dynamic dims, op domains and op types,
 *   attribute string values and metadata are all stored here.
 *
 * kind 2 VALUES: value records, grouped by graph (a GRAPH record gives where its group
 *   starts, relative to the section, and how many records it has):
 *     str name, u32 dtype (an ONNX TensorProto code; 0 = not known yet),
 *     i32 rank (-1 = unknown), rank x { i64 dim (>= 0, or -1 dynamic), str dim name },
 *     u32 has_const (0 or 1), then when 1 a tensor record (below).
 *   A tensor record: u32 dtype, u32 rank (<= 8), rank x i64 dim (>= 0),
 *     u64 data offset (relative to DATA, a multiple of 64), u64 data size (bytes, equal to
 *     numel x element size).
 *
 * kind 3 NODES: node records, grouped by graph like the values:
 *     str domain ("" = ONNX), str op_type (looked up in runtime/ops.def by name, never by
 *     enum number), str name, i32 opset (of the node's domain),
 *     u32 n_in, n_in x i32 value index (-1 = optional input absent),
 *     u32 n_out, n_out x i32 value index (-1 = optional output unused),
 *     u32 n_attr, n_attr x { str name, u32 type (AttributeProto code), payload }, payload by
 *     type: 1 FLOAT u32 (the float's bits) · 2 INT i64 · 3 STRING str · 4 TENSOR a tensor
 *     record · 5 GRAPH u32 index of a graph in GRAPH, larger than the index of the graph
 *     holding the node; every subgraph is named by exactly one attribute, so the graphs form
 *     a tree rooted at graph 0 · 6 FLOATS u32 n, n x u32 bits · 7 INTS u32 n, n x i64 ·
 *     8 STRINGS u32 n, n x str.
 *   Value indices are local to the node's graph. A subgraph is closed (its captures of
 *   outer values are explicit inputs, see frontend/onnx_subgraph.c).
 *
 * kind 4 GRAPH: u32 n_graphs (>= 1), then per graph (graph 0 is the model):
 *     str name, str producer, i32 opset (default domain), u32 n_declared (a subgraph's own
 *     declared inputs, the first n_declared of its inputs, the rest being captures; 0 for the
 *     model, for an If branch and in files written before Loop and Scan), i64 ir_version,
 *     u64 values offset (in VALUES), u32 n_values, u64 nodes offset (in NODES), u32 n_nodes,
 *     u32 n_inputs, n_inputs x i32 value index, u32 n_outputs, n_outputs x i32 value index.
 *
 * kind 5 DATA: constant tensor bytes, each blob at a multiple of 64 from the section start
 *   (so 64-byte aligned in the file and in memory once read), elements little-endian,
 *   zero padding between blobs.
 *
 * kind 6 META: u32 n_pairs, n_pairs x { str key, str value }. The writer stores the keys
 *   "source_hash" (hex FNV-1a 64 of the source model file), "wafer_version" and "options"
 *   (one line of text: the options the file was made with), in that order.
 *
 * kind 7 PLAN (new in version 2): the arena memory plan of graph 0 (runtime/rt_plan.h),
 *   computed at compile time for the static input shapes the file declares:
 *     u32 has_plan (0 or 1), u32 reserved (0);
 *     has_plan 0 ("no plan": an input of graph 0 has a dynamic or unknown dim or dtype, or
 *       rt_plan_build could not plan it, e.g. RT_SHAPE_UNKNOWN — a shape depends on input
 *       data): nothing follows; the runtime plans at the first run;
 *     has_plan 1: i64 arena_bytes (>= 0, a multiple of 64), u32 n_values (= graph 0's
 *       n_values), u32 reserved (0), then per value slot v = 0 .. n_values-1 of graph 0:
 *         i64 offset (byte offset in the arena, a multiple of 64; -1 = not in the arena:
 *             constants, graph inputs, values nothing produces),
 *         i64 bytes (bytes reserved at offset; 0 when offset is -1; otherwise
 *             offset + bytes <= arena_bytes and bytes >= the planned shape's size),
 *         u32 dtype (planned dtype, an ONNX TensorProto code, 0 = none),
 *         u32 rank (<= 8), rank x i64 dim (>= 0): the planned shape.
 *   The section ends after the last record. A reader checks every field, then the whole
 *   plan with rt_plan_check (no two values whose live ranges meet may overlap, except an
 *   elementwise op writing over its dying first input), and refuses the file otherwise.
 * ==============================================================================================
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wafer_internal.h"

#include "../io/atomic_file.h"
#include "../runtime/rt_plan.h"

/* A growable byte buffer; oom is sticky, so encoders need not check every append. */
typedef struct {
    uint8_t *p;      /* owned */
    size_t len, cap; /* bytes */
    int oom;
} WfBuf;

static uint8_t *buf_grow(WfBuf *b, size_t n) {
    if (b->oom) return NULL;
    if (n > SIZE_MAX - b->len) {
        b->oom = 1;
        return NULL;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) {
            if (cap > SIZE_MAX / 2) {
                b->oom = 1;
                return NULL;
            }
            cap *= 2;
        }
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return NULL;
        }
        b->p = p;
        b->cap = cap;
    }
    uint8_t *at = b->p + b->len;
    b->len += n;
    return at;
}

static void buf_u32(WfBuf *b, uint32_t v) {
    uint8_t *p = buf_grow(b, 4);
    if (p) wf_put_u32(p, v);
}
static void buf_i32(WfBuf *b, int32_t v) { buf_u32(b, (uint32_t)v); }
static void buf_u64(WfBuf *b, uint64_t v) {
    uint8_t *p = buf_grow(b, 8);
    if (p) wf_put_u64(p, v);
}
static void buf_i64(WfBuf *b, int64_t v) { buf_u64(b, (uint64_t)v); }
static void buf_pad(WfBuf *b, size_t align) {
    size_t pad = (align - b->len % align) % align;
    uint8_t *p = buf_grow(b, pad);
    if (p) memset(p, 0, pad);
}

/* String interning: open addressing over offsets into the STRINGS buffer. */
typedef struct {
    uint32_t *slot;  /* [cap] owned: offset + 1, 0 = empty */
    size_t cap, n;
} WfStrTab;

typedef struct {
    WfBuf sec[WF_SEC_COUNT + 1]; /* indexed by section kind; [0] unused */
    WfStrTab tab;
    const IrGraph **graphs;      /* [n_graphs] borrowed, breadth-first order */
    int n_graphs, cap_graphs;
    RtError *err;
    int failed;                  /* first error recorded in err */
} WfWriter;

static int wr_fail(WfWriter *w, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static int wr_fail(WfWriter *w, const char *fmt, ...) {
    if (!w->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(w->err->msg, sizeof w->err->msg, fmt, ap);
        va_end(ap);
    }
    w->failed = 1;
    return RT_ERR;
}

static uint64_t str_hash(const char *s) { return wf_fnv1a64(WF_FNV_OFFSET, s, strlen(s)); }

static int tab_grow(WfWriter *w) {
    WfStrTab *t = &w->tab;
    size_t cap = t->cap ? 2 * t->cap : 1024;
    uint32_t *slot = calloc(cap, sizeof *slot);
    if (!slot) return -1;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->slot[i]) continue;
        size_t h = (size_t)str_hash((const char *)w->sec[WF_SEC_STRINGS].p + t->slot[i] - 1) & (cap - 1);
        while (slot[h]) h = (h + 1) & (cap - 1);
        slot[h] = t->slot[i];
    }
    free(t->slot);
    t->slot = slot;
    t->cap = cap;
    return 0;
}

/* The STRINGS offset of s (added on first use); WF_STR_NONE for NULL. */
static uint32_t str_ref(WfWriter *w, const char *s) {
    if (!s) return WF_STR_NONE;
    WfBuf *sb = &w->sec[WF_SEC_STRINGS];
    if ((w->tab.n + 1) * 2 > w->tab.cap && tab_grow(w) != 0) {
        sb->oom = 1;
        return 0;
    }
    size_t mask = w->tab.cap - 1, h = (size_t)str_hash(s) & mask;
    for (; w->tab.slot[h]; h = (h + 1) & mask)
        if (!sb->oom && strcmp((const char *)sb->p + w->tab.slot[h] - 1, s) == 0) return w->tab.slot[h] - 1;
    size_t n = strlen(s) + 1, off = sb->len;
    if (off + n >= WF_STR_NONE) {
        wr_fail(w, "strings exceed the format's 4 GB string section");
        return 0;
    }
    uint8_t *p = buf_grow(sb, n);
    if (!p) return 0;
    memcpy(p, s, n);
    w->tab.slot[h] = (uint32_t)off + 1;
    w->tab.n++;
    return (uint32_t)off;
}

static void put_str(WfWriter *w, WfBuf *b, const char *s) { buf_u32(b, str_ref(w, s)); }

/* A tensor record in b; its bytes go to DATA at the next 64-byte boundary. */
static int put_tensor(WfWriter *w, WfBuf *b, const RtTensor *t, const char *what, const char *name) {
    if (rt_dtype_size(t->dtype) == 0)
        return wr_fail(w, "%s '%s': dtype %s cannot be stored in a .wafer file", what, name, rt_dtype_name(t->dtype));
    int64_t bytes = rt_nbytes(t);
    if (t->rank < 0 || t->rank > RT_MAX_RANK || bytes < 0)
        return wr_fail(w, "%s '%s': bad tensor shape", what, name);
    for (int d = 0; d < t->rank; d++)
        if (t->dims[d] < 0) return wr_fail(w, "%s '%s': negative dim in a constant", what, name);
    if (bytes > 0 && !t->data) return wr_fail(w, "%s '%s': constant without data", what, name);
    buf_u32(b, (uint32_t)t->dtype);
    buf_u32(b, (uint32_t)t->rank);
    for (int d = 0; d < t->rank; d++) buf_i64(b, t->dims[d]);
    WfBuf *data = &w->sec[WF_SEC_DATA];
    uint64_t off = 0;
    if (bytes > 0) {
        buf_pad(data, WF_ALIGN);
        off = data->len;
        uint8_t *p = buf_grow(data, (size_t)bytes);
        if (p) {
            memcpy(p, t->data, (size_t)bytes);
            if (!wf_host_is_le()) wf_swap_elems(p, (size_t)bytes, rt_dtype_size(t->dtype));
        }
    }
    buf_u64(b, off);
    buf_u64(b, (uint64_t)bytes);
    return RT_OK;
}

static int put_value(WfWriter *w, const IrValue *v) {
    WfBuf *b = &w->sec[WF_SEC_VALUES];
    if (v->dtype != RT_UNDEFINED && rt_dtype_size(v->dtype) == 0)
        return wr_fail(w, "value '%s': dtype %s cannot be stored in a .wafer file", v->name, rt_dtype_name(v->dtype));
    if (v->rank < -1 || v->rank > RT_MAX_RANK) return wr_fail(w, "value '%s': bad rank", v->name);
    put_str(w, b, v->name);
    buf_u32(b, (uint32_t)v->dtype);
    buf_i32(b, v->rank);
    for (int d = 0; d < v->rank; d++) {
        buf_i64(b, v->dims[d].value < 0 ? -1 : v->dims[d].value);
        put_str(w, b, v->dims[d].sym);
    }
    buf_u32(b, v->konst ? 1 : 0);
    return v->konst ? put_tensor(w, b, v->konst, "constant", v->name) : RT_OK;
}

static int graph_append(WfWriter *w, const IrGraph *g) {
    if (w->n_graphs == w->cap_graphs) {
        int cap = w->cap_graphs ? 2 * w->cap_graphs : 8;
        const IrGraph **p = realloc(w->graphs, sizeof *p * (size_t)cap);
        if (!p) return -1;
        w->graphs = p;
        w->cap_graphs = cap;
    }
    w->graphs[w->n_graphs] = g;
    return w->n_graphs++;
}

static int put_attr(WfWriter *w, const RtNode *n, const RtAttr *a) {
    WfBuf *b = &w->sec[WF_SEC_NODES];
    put_str(w, b, a->name);
    buf_u32(b, (uint32_t)a->type);
    switch (a->type) {
    case RT_ATTR_FLOAT: {
        uint32_t bits;
        memcpy(&bits, &a->f, 4);
        buf_u32(b, bits);
        return RT_OK;
    }
    case RT_ATTR_INT: buf_i64(b, a->i); return RT_OK;
    case RT_ATTR_STRING: put_str(w, b, a->s ? a->s : ""); return RT_OK;
    case RT_ATTR_TENSOR:
        if (!a->t) return wr_fail(w, "node '%s' (%s): tensor attribute '%s' is empty", n->name ? n->name : "", rt_op_name(n->op), a->name ? a->name : "?");
        return put_tensor(w, b, a->t, "attribute", a->name ? a->name : "?");
    case RT_ATTR_GRAPH: {
        if (!a->g) return wr_fail(w, "node '%s' (%s): graph attribute '%s' is empty", n->name ? n->name : "", rt_op_name(n->op), a->name ? a->name : "?");
        int idx = graph_append(w, (const IrGraph *)a->g);
        if (idx < 0) return wr_fail(w, "out of memory");
        buf_u32(b, (uint32_t)idx);
        return RT_OK;
    }
    case RT_ATTR_FLOATS:
        buf_u32(b, (uint32_t)a->n);
        for (int i = 0; i < a->n; i++) {
            uint32_t bits;
            memcpy(&bits, &a->floats[i], 4);
            buf_u32(b, bits);
        }
        return RT_OK;
    case RT_ATTR_INTS:
        buf_u32(b, (uint32_t)a->n);
        for (int i = 0; i < a->n; i++) buf_i64(b, a->ints[i]);
        return RT_OK;
    case RT_ATTR_STRINGS:
        buf_u32(b, (uint32_t)a->n);
        for (int i = 0; i < a->n; i++) put_str(w, b, a->strings[i] ? a->strings[i] : "");
        return RT_OK;
    }
    return wr_fail(w, "node '%s' (%s): attribute '%s' has an unknown type", n->name ? n->name : "", rt_op_name(n->op), a->name ? a->name : "?");
}

static int put_node(WfWriter *w, const RtNode *n) {
    WfBuf *b = &w->sec[WF_SEC_NODES];
    const char *name = n->name ? n->name : "";
    if (n->op == IR_OP_DELETED)
        return wr_fail(w, "node '%s': marked deleted (run ir_graph_compact before writing)", name);
    if (n->op <= RT_OP_UNKNOWN || n->op >= RT_OP_COUNT)
        return wr_fail(w, "node '%s' (%s): op not in wafer's op table cannot be written", name,
                       n->op_type ? n->op_type : "?");
    /* The op table's own spelling, so the reader's lookup returns exactly this op. */
    put_str(w, b, rt_op_domain(n->op));
    put_str(w, b, rt_op_name(n->op));
    put_str(w, b, name);
    buf_i32(b, n->opset);
    if (n->n_attr < 0 || (n->n_attr && !n->attrs))
        return wr_fail(w, "node '%s' (%s): bad attribute list", name, rt_op_name(n->op));
    buf_u32(b, (uint32_t)n->n_in);
    for (int j = 0; j < n->n_in; j++) buf_i32(b, n->in[j]);
    buf_u32(b, (uint32_t)n->n_out);
    for (int j = 0; j < n->n_out; j++) buf_i32(b, n->out[j]);
    buf_u32(b, (uint32_t)n->n_attr);
    for (int a = 0; a < n->n_attr; a++)
        if (put_attr(w, n, &n->attrs[a]) != RT_OK) return RT_ERR;
    return RT_OK;
}

/* Values and nodes of graph gi into VALUES and NODES, then its GRAPH record. */
static int put_graph(WfWriter *w, int gi) {
    const IrGraph *g = w->graphs[gi];
    uint64_t values_off = w->sec[WF_SEC_VALUES].len, nodes_off = w->sec[WF_SEC_NODES].len;
    for (int v = 0; v < g->n_values; v++)
        if (put_value(w, &g->values[v]) != RT_OK) return RT_ERR;
    for (int k = 0; k < g->n_nodes; k++)
        if (put_node(w, &g->nodes[k]) != RT_OK) return RT_ERR;
    WfBuf *b = &w->sec[WF_SEC_GRAPH];
    put_str(w, b, g->name ? g->name : "");
    put_str(w, b, g->producer_name ? g->producer_name : "");
    buf_i32(b, g->opset);
    buf_u32(b, (uint32_t)g->n_declared);
    buf_i64(b, g->ir_version);
    buf_u64(b, values_off);
    buf_u32(b, (uint32_t)g->n_values);
    buf_u64(b, nodes_off);
    buf_u32(b, (uint32_t)g->n_nodes);
    buf_u32(b, (uint32_t)g->n_inputs);
    for (int i = 0; i < g->n_inputs; i++) buf_i32(b, g->inputs[i]);
    buf_u32(b, (uint32_t)g->n_outputs);
    for (int i = 0; i < g->n_outputs; i++) buf_i32(b, g->outputs[i]);
    return RT_OK;
}

static void put_meta(WfWriter *w, const WaferMeta *meta) {
    WfBuf *b = &w->sec[WF_SEC_META];
    const char *keys[3] = {WF_META_SOURCE_HASH, WF_META_WAFER_VERSION, WF_META_OPTIONS};
    const char *vals[3] = {meta ? meta->source_hash : NULL, meta ? meta->wafer_version : NULL,
                           meta ? meta->options : NULL};
    buf_u32(b, 3);
    for (int i = 0; i < 3; i++) {
        put_str(w, b, keys[i]);
        put_str(w, b, vals[i] ? vals[i] : "");
    }
}

/* Graph 0's memory plan when every input has a static shape: RT_OK with *has 1 (p filled,
 * the caller frees it) or *has 0 (no plan), or RT_ERR_NOMEM. A graph the planner refuses at
 * these shapes gets no plan rather than a failed write: the runtime then reports the same
 * problem, naming the node, when it plans at the first run. */
static int plan_make(const IrGraph *g, RtPlan *p, int *has, RtError *err) {
    *has = 0;
    RtTensor *in = calloc((size_t)g->n_inputs + 1, sizeof *in);
    if (!in) return rt_error_set(err, "out of memory");
    int is_static = 1;
    for (int i = 0; i < g->n_inputs; i++) {
        const IrValue *v = &g->values[g->inputs[i]];
        is_static &= v->dtype != RT_UNDEFINED && v->rank >= 0;
        for (int d = 0; is_static && d < v->rank; d++) is_static &= v->dims[d].value >= 0;
        if (!is_static) break;
        in[i].dtype = v->dtype;
        in[i].rank = v->rank;
        for (int d = 0; d < v->rank; d++) in[i].dims[d] = v->dims[d].value;
    }
    int r = RT_OK;
    if (is_static) {
        IrLowered *l = ir_lower(g, err);
        if (!l) r = RT_ERR_NOMEM; /* ir_lower fails only for memory */
        RtError perr = {{0}};
        int pr = l ? rt_plan_build(ir_lowered_graph(l), in, p, &perr) : RT_ERR;
        ir_lowered_free(l);
        if (l && pr == RT_OK) *has = 1;
        else if (l && pr == RT_ERR_NOMEM) r = rt_error_set(err, "out of memory (memory plan)");
    }
    free(in);
    return r;
}

/* The PLAN section (layout at the top). */
static void put_plan(WfWriter *w, const IrGraph *g) {
    WfBuf *b = &w->sec[WF_SEC_PLAN];
    RtPlan p;
    memset(&p, 0, sizeof p);
    int has = 0;
    if (plan_make(g, &p, &has, w->err) != RT_OK) {
        w->failed = 1;
        return;
    }
    buf_u32(b, (uint32_t)has);
    buf_u32(b, 0);
    if (!has) return;
    buf_i64(b, p.arena_bytes);
    buf_u32(b, (uint32_t)p.n_values);
    buf_u32(b, 0);
    for (int v = 0; v < p.n_values; v++) {
        const RtTensor *t = &p.value[v];
        buf_i64(b, p.offset[v]);
        buf_i64(b, p.bytes[v]);
        buf_u32(b, (uint32_t)t->dtype);
        buf_u32(b, (uint32_t)t->rank);
        for (int d = 0; d < t->rank; d++) buf_i64(b, t->dims[d]);
    }
    rt_plan_free(&p);
}

static size_t align_up(size_t x, size_t a) { return (x + a - 1) / a * a; }

/* Header, section table, sections and checksum into one malloc'd image. */
static uint8_t *image_assemble(WfWriter *w, size_t *size) {
    size_t pos = WF_HEADER_BYTES + WF_SECTION_BYTES * WF_SEC_COUNT, off[WF_SEC_COUNT + 1];
    for (int k = 1; k <= WF_SEC_COUNT; k++) {
        off[k] = align_up(pos, WF_ALIGN);
        pos = off[k] + w->sec[k].len;
    }
    size_t total = align_up(pos, 8) + WF_CHECKSUM_BYTES;
    uint8_t *img = calloc(1, total);
    if (!img) return NULL;
    memcpy(img, WF_MAGIC, 8);
    wf_put_u32(img + 8, WAFER_FILE_VERSION);
    wf_put_u32(img + 12, 0);
    wf_put_u64(img + 16, total);
    wf_put_u32(img + 24, WF_SEC_COUNT);
    wf_put_u32(img + 28, 0);
    for (int k = 1; k <= WF_SEC_COUNT; k++) {
        uint8_t *e = img + WF_HEADER_BYTES + WF_SECTION_BYTES * (size_t)(k - 1);
        wf_put_u32(e, (uint32_t)k);
        wf_put_u32(e + 4, 0);
        wf_put_u64(e + 8, off[k]);
        wf_put_u64(e + 16, w->sec[k].len);
        if (w->sec[k].len) memcpy(img + off[k], w->sec[k].p, w->sec[k].len);
    }
    wf_put_u32(img + total - 8, wf_crc32c(img, total - 8, 1));
    wf_put_u32(img + total - 4, 0);
    *size = total;
    return img;
}

static void writer_free(WfWriter *w) {
    for (int k = 0; k <= WF_SEC_COUNT; k++) free(w->sec[k].p);
    free(w->tab.slot);
    free(w->graphs);
}

/* Encodes g into a file image (malloc'd) or NULL with a message in err. */
static uint8_t *image_build(const IrGraph *g, const WaferMeta *meta, size_t *size, RtError *err) {
    WfWriter w;
    memset(&w, 0, sizeof w);
    w.err = err;
    str_ref(&w, ""); /* offset 0 */
    buf_u32(&w.sec[WF_SEC_GRAPH], 0); /* n_graphs, patched below */
    if (graph_append(&w, g) < 0) wr_fail(&w, "out of memory");
    for (int gi = 0; !w.failed && gi < w.n_graphs; gi++) put_graph(&w, gi);
    if (!w.failed) put_meta(&w, meta);
    if (!w.failed) put_plan(&w, g);
    uint8_t *img = NULL;
    int oom = 0;
    for (int k = 1; k <= WF_SEC_COUNT; k++) oom |= w.sec[k].oom;
    if (!w.failed && oom) wr_fail(&w, "out of memory");
    if (!w.failed) {
        wf_put_u32(w.sec[WF_SEC_GRAPH].p, (uint32_t)w.n_graphs);
        img = image_assemble(&w, size);
        if (!img) wr_fail(&w, "out of memory");
    }
    writer_free(&w);
    return img;
}

int wafer_file_write(const IrGraph *g, const WaferMeta *meta, const char *path, RtError *err) {
    RtError verr = {{0}};
    if (ir_verify(g, &verr) != RT_OK)
        return rt_error_set(err, "%s: cannot write a graph that does not verify: %s", path, verr.msg);
    size_t size = 0;
    uint8_t *img = image_build(g, meta, &size, &verr);
    if (!img) return rt_error_set(err, "%s: %s", path, verr.msg);
    int r = io_file_write_atomic(path, img, size, err);
    free(img);
    return r;
}
