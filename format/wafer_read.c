/*
 * wafer_read.c — reads and validates a .wafer file (format version 1, layout in
 * wafer_write.c) into an IR graph.
 *
 * Order of checks, so that each failure gets the message that helps: the magic ("not a
 * .wafer file"), the format version (a newer file is refused naming both versions, before
 * anything whose layout a newer version may change), the recorded size against the real
 * size (truncation), the checksum over the whole file (any other corruption), and only
 * then the contents. Every offset and count read from the file is checked against the end
 * of its section with overflow-free arithmetic before it is used; every dtype, rank, dim,
 * value index, string reference, op (looked up by domain and name in runtime/ops.def) and
 * subgraph reference is validated; the finished graph goes through ir_verify. A file that
 * passes the checksum but was crafted to lie still gets an error, never a crash.
 *
 * Memory: the whole file is read into the root graph's arena (ir_alloc gives 64-byte
 * alignment, and DATA blobs sit at multiples of 64 in the file), so on little-endian hosts
 * constant tensors and strings point into those bytes instead of being copied; subgraphs
 * borrow them from the root, which ir_graph_free releases after them. Big-endian hosts
 * copy each blob into the owning graph's arena and swap its elements.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "wafer_internal.h"

#define WF_MAX_DEPTH 64    /* subgraph nesting limit (recursion depth of graph_build) */

static const char *const sec_name[WF_SEC_COUNT + 1] = {"?", "STRINGS", "VALUES", "NODES", "GRAPH",
                                                       "DATA", "META"};

typedef struct {
    const char *path;                 /* borrowed, for messages */
    const uint8_t *img;               /* [size] the file's bytes, in the root graph's arena */
    size_t size;                      /* bytes */
    size_t off[WF_SEC_COUNT + 1];     /* section offsets in the file, by kind */
    size_t len[WF_SEC_COUNT + 1];     /* section sizes, bytes */
    uint32_t n_graphs;
    size_t *graph_pos;                /* [n_graphs] owned: each GRAPH record's file offset */
    unsigned char *graph_used;        /* [n_graphs] owned: 1 once built (each exactly once) */
    int *scratch;                     /* owned: value indices of one node's inputs/outputs */
    size_t cap_scratch;
    RtError *err;
} WfReader;

/* A read position inside one section: [pos, end) are file offsets. */
typedef struct {
    WfReader *r;
    size_t pos, end;
    int sec;                          /* section kind, for messages */
} WfCur;

static int rd_fail(WfReader *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static int rd_fail(WfReader *r, const char *fmt, ...) {
    if (r->err->msg[0]) return RT_ERR;
    char msg[sizeof r->err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(r->err->msg, sizeof r->err->msg, "%s: %s", r->path, msg);
    return RT_ERR;
}

/* ---- cursor reads, each bounded by the section's end ---- */

static int cur_take(WfCur *c, size_t n, const uint8_t **p) {
    if (c->end - c->pos < n)
        return rd_fail(c->r, "%s section: record runs past the end of the section (at byte %zu)",
                       sec_name[c->sec], c->pos - c->r->off[c->sec]);
    *p = c->r->img + c->pos;
    c->pos += n;
    return RT_OK;
}

static int rd_u32(WfCur *c, uint32_t *v) {
    const uint8_t *p;
    if (cur_take(c, 4, &p) != RT_OK) return RT_ERR;
    *v = wf_get_u32(p);
    return RT_OK;
}

static int rd_i32(WfCur *c, int32_t *v) {
    uint32_t u;
    if (rd_u32(c, &u) != RT_OK) return RT_ERR;
    *v = (int32_t)u;
    return RT_OK;
}

static int rd_u64(WfCur *c, uint64_t *v) {
    const uint8_t *p;
    if (cur_take(c, 8, &p) != RT_OK) return RT_ERR;
    *v = wf_get_u64(p);
    return RT_OK;
}

static int rd_i64(WfCur *c, int64_t *v) {
    uint64_t u;
    if (rd_u64(c, &u) != RT_OK) return RT_ERR;
    *v = (int64_t)u;
    return RT_OK;
}

/* A count of items of at least `each` bytes: must fit in what is left of the section (so a
 * huge count in a small file fails here, before anything is allocated for it). */
static int rd_count(WfCur *c, size_t each, const char *what, int *n) {
    uint32_t u;
    if (rd_u32(c, &u) != RT_OK) return RT_ERR;
    if (u > (uint32_t)(INT32_MAX / 64) || (size_t)u > (c->end - c->pos) / each)
        return rd_fail(c->r, "%s section: %s count %u does not fit in the section", sec_name[c->sec], what, u);
    *n = (int)u;
    return RT_OK;
}

/* A string reference: NONE gives NULL when optional; otherwise inside STRINGS (whose last
 * byte is a NUL, checked once, so every string in it is terminated). */
static int rd_str(WfCur *c, int optional, const char *what, const char **s) {
    uint32_t ref;
    if (rd_u32(c, &ref) != RT_OK) return RT_ERR;
    WfReader *r = c->r;
    if (ref == WF_STR_NONE && optional) {
        *s = NULL;
        return RT_OK;
    }
    if (ref >= r->len[WF_SEC_STRINGS])
        return rd_fail(r, "%s section: %s refers to string offset %u outside STRINGS (%zu bytes)",
                       sec_name[c->sec], what, ref, r->len[WF_SEC_STRINGS]);
    *s = (const char *)r->img + r->off[WF_SEC_STRINGS] + ref;
    return RT_OK;
}

static int cur_at(WfReader *r, int sec, uint64_t rel, WfCur *c) {
    if (rel > r->len[sec])
        return rd_fail(r, "%s section: offset %llu is past its end (%zu bytes)", sec_name[sec],
                       (unsigned long long)rel, r->len[sec]);
    c->r = r;
    c->sec = sec;
    c->pos = r->off[sec] + (size_t)rel;
    c->end = r->off[sec] + r->len[sec];
    return RT_OK;
}

/* ---- tensors and values ---- */

static int dtype_check(WfReader *r, uint32_t dt, int allow_undefined, const char *what, const char *name) {
    if (dt == RT_UNDEFINED && allow_undefined) return RT_OK;
    if (dt < RT_DTYPE_END && rt_dtype_size((RtDtype)dt) > 0) return RT_OK;
    if (dt < RT_DTYPE_END && strcmp(rt_dtype_name((RtDtype)dt), "?") != 0)
        return rd_fail(r, "%s '%s': dtype %s is not supported", what, name, rt_dtype_name((RtDtype)dt));
    return rd_fail(r, "%s '%s': unknown dtype %u", what, name, dt);
}

/* A tensor record into an RtTensor whose data borrows the file bytes (or a swapped copy). */
static int tensor_read(WfCur *c, IrGraph *g, const char *what, const char *name, const RtTensor **out) {
    WfReader *r = c->r;
    uint32_t dt, rank;
    if (rd_u32(c, &dt) != RT_OK || rd_u32(c, &rank) != RT_OK) return RT_ERR;
    if (dtype_check(r, dt, 0, what, name) != RT_OK) return RT_ERR;
    if (rank > RT_MAX_RANK) return rd_fail(r, "%s '%s': rank %u exceeds %d", what, name, rank, RT_MAX_RANK);
    RtTensor *t = ir_alloc(g, sizeof *t);
    if (!t) return rd_fail(r, "out of memory");
    t->dtype = (RtDtype)dt;
    t->rank = (int)rank;
    for (uint32_t d = 0; d < rank; d++) {
        if (rd_i64(c, &t->dims[d]) != RT_OK) return RT_ERR;
        if (t->dims[d] < 0) return rd_fail(r, "%s '%s': dim %u is %lld", what, name, d, (long long)t->dims[d]);
    }
    uint64_t off, size;
    if (rd_u64(c, &off) != RT_OK || rd_u64(c, &size) != RT_OK) return RT_ERR;
    int64_t want = rt_nbytes(t);
    if (want < 0 || (uint64_t)want != size)
        return rd_fail(r, "%s '%s': data size %llu, but a %s tensor of this shape has %lld bytes", what, name,
                       (unsigned long long)size, rt_dtype_name(t->dtype), (long long)want);
    size_t dlen = r->len[WF_SEC_DATA];
    if (off % WF_ALIGN != 0 || off > dlen || size > dlen - off)
        return rd_fail(r, "%s '%s': data at %llu (+%llu bytes) is outside DATA (%zu bytes) or not 64-byte aligned",
                       what, name, (unsigned long long)off, (unsigned long long)size, dlen);
    const uint8_t *src = r->img + r->off[WF_SEC_DATA] + off;
    if (wf_host_is_le()) {
        t->data = (void *)src;
    } else {
        t->data = ir_alloc(g, (size_t)size);
        if (!t->data) return rd_fail(r, "out of memory");
        memcpy(t->data, src, (size_t)size);
        wf_swap_elems(t->data, (size_t)size, rt_dtype_size(t->dtype));
    }
    *out = t;
    return RT_OK;
}

static int value_read(WfCur *c, IrGraph *g) {
    WfReader *r = c->r;
    const char *name;
    uint32_t dt, has_const;
    int32_t rank;
    if (rd_str(c, 0, "value name", &name) != RT_OK || rd_u32(c, &dt) != RT_OK || rd_i32(c, &rank) != RT_OK)
        return RT_ERR;
    if (dtype_check(r, dt, 1, "value", name) != RT_OK) return RT_ERR;
    if (rank < -1 || rank > RT_MAX_RANK) return rd_fail(r, "value '%s': rank %d out of range", name, (int)rank);
    int v = ir_value_add(g, name);
    if (v < 0) return rd_fail(r, "out of memory");
    IrValue *iv = &g->values[v];
    iv->dtype = (RtDtype)dt;
    iv->rank = rank;
    for (int d = 0; d < rank; d++) {
        if (rd_i64(c, &iv->dims[d].value) != RT_OK || rd_str(c, 1, "dim name", &iv->dims[d].sym) != RT_OK)
            return RT_ERR;
        if (iv->dims[d].value < -1)
            return rd_fail(r, "value '%s': dim %d is %lld", name, d, (long long)iv->dims[d].value);
    }
    if (rd_u32(c, &has_const) != RT_OK) return RT_ERR;
    if (has_const > 1) return rd_fail(r, "value '%s': has_const is %u", name, has_const);
    const RtTensor *t = NULL;
    if (has_const && tensor_read(c, g, "constant", name, &t) != RT_OK) return RT_ERR;
    g->values[v].konst = (RtTensor *)t;
    return RT_OK;
}

/* ---- nodes and attributes ---- */

static int graph_build(WfReader *r, uint32_t gi, IrGraph *parent, int depth, IrGraph **out);

static int attr_payload(WfCur *c, IrGraph *g, uint32_t gi, int depth, const RtNode *n, RtAttr *a) {
    WfReader *r = c->r;
    int cnt;
    switch (a->type) {
    case RT_ATTR_FLOAT: {
        uint32_t bits;
        if (rd_u32(c, &bits) != RT_OK) return RT_ERR;
        memcpy(&a->f, &bits, 4);
        return RT_OK;
    }
    case RT_ATTR_INT: return rd_i64(c, &a->i);
    case RT_ATTR_STRING: return rd_str(c, 0, "attribute string", &a->s);
    case RT_ATTR_TENSOR: return tensor_read(c, g, "attribute", a->name, &a->t);
    case RT_ATTR_GRAPH: {
        uint32_t sub;
        if (rd_u32(c, &sub) != RT_OK) return RT_ERR;
        if (sub <= gi || sub >= r->n_graphs || r->graph_used[sub])
            return rd_fail(r, "node '%s' (%s): attribute '%s' names graph %u (graph %u has %u graphs after it, "
                           "each named once)", n->name, n->op_type, a->name, sub, gi, r->n_graphs - gi - 1);
        IrGraph *sg = NULL;
        if (graph_build(r, sub, g, depth + 1, &sg) != RT_OK) return RT_ERR;
        a->g = sg;
        return RT_OK;
    }
    case RT_ATTR_FLOATS: {
        if (rd_count(c, 4, "float", &cnt) != RT_OK) return RT_ERR;
        float *f = ir_alloc(g, sizeof(float) * (size_t)(cnt ? cnt : 1));
        if (!f) return rd_fail(r, "out of memory");
        for (int i = 0; i < cnt; i++) {
            uint32_t bits;
            if (rd_u32(c, &bits) != RT_OK) return RT_ERR;
            memcpy(&f[i], &bits, 4);
        }
        a->n = cnt;
        a->floats = f;
        return RT_OK;
    }
    case RT_ATTR_INTS: {
        if (rd_count(c, 8, "int", &cnt) != RT_OK) return RT_ERR;
        int64_t *v = ir_alloc(g, sizeof(int64_t) * (size_t)(cnt ? cnt : 1));
        if (!v) return rd_fail(r, "out of memory");
        for (int i = 0; i < cnt; i++)
            if (rd_i64(c, &v[i]) != RT_OK) return RT_ERR;
        a->n = cnt;
        a->ints = v;
        return RT_OK;
    }
    case RT_ATTR_STRINGS: {
        if (rd_count(c, 4, "string", &cnt) != RT_OK) return RT_ERR;
        const char **s = ir_alloc(g, sizeof(char *) * (size_t)(cnt ? cnt : 1));
        if (!s) return rd_fail(r, "out of memory");
        for (int i = 0; i < cnt; i++)
            if (rd_str(c, 0, "attribute string", &s[i]) != RT_OK) return RT_ERR;
        a->n = cnt;
        a->strings = s;
        return RT_OK;
    }
    }
    return rd_fail(r, "node '%s' (%s): attribute '%s' has unknown type %d", n->name, n->op_type, a->name, (int)a->type);
}

/* n_idx value indices into r->scratch, each -1 or a value of g. */
static int indices_read(WfCur *c, const IrGraph *g, const char *node, const char *op, const char *what, int *n_idx) {
    WfReader *r = c->r;
    if (rd_count(c, 4, what, n_idx) != RT_OK) return RT_ERR;
    if ((size_t)*n_idx + 1 > r->cap_scratch) {
        int *p = realloc(r->scratch, sizeof(int) * ((size_t)*n_idx + 1));
        if (!p) return rd_fail(r, "out of memory");
        r->scratch = p;
        r->cap_scratch = (size_t)*n_idx + 1;
    }
    for (int j = 0; j < *n_idx; j++) {
        int32_t v;
        if (rd_i32(c, &v) != RT_OK) return RT_ERR;
        if (v < -1 || v >= g->n_values)
            return rd_fail(r, "node '%s' (%s): %s %d refers to value %d (graph has %d values)", node, op, what, j,
                           (int)v, g->n_values);
        r->scratch[j] = v;
    }
    return RT_OK;
}

static int node_read(WfCur *c, IrGraph *g, uint32_t gi, int depth) {
    WfReader *r = c->r;
    const char *domain, *op_type, *name;
    int32_t opset;
    if (rd_str(c, 0, "op domain", &domain) != RT_OK || rd_str(c, 0, "op type", &op_type) != RT_OK ||
        rd_str(c, 0, "node name", &name) != RT_OK || rd_i32(c, &opset) != RT_OK)
        return RT_ERR;
    const char *nm = name;
    int op = rt_op_lookup(domain, op_type);
    if (op == RT_OP_UNKNOWN)
        return rd_fail(r, "node '%s' (%s%s%s): op unknown to this wafer", nm, domain, domain[0] ? "." : "", op_type);
    if (opset < 0) return rd_fail(r, "node '%s' (%s): opset %d", nm, op_type, (int)opset);
    int n_in, n_out;
    if (indices_read(c, g, nm, op_type, "input", &n_in) != RT_OK) return RT_ERR;
    int *in = malloc(sizeof(int) * ((size_t)n_in + 1));
    if (!in) return rd_fail(r, "out of memory");
    if (n_in) memcpy(in, r->scratch, sizeof(int) * (size_t)n_in);
    int k = -1;
    if (indices_read(c, g, nm, op_type, "output", &n_out) == RT_OK) {
        k = ir_node_add(g, op, nm, n_in, in, n_out, r->scratch);
        if (k < 0) rd_fail(r, "out of memory");
    }
    free(in);
    if (k < 0) return RT_ERR;
    RtNode *n = &g->nodes[k];
    n->opset = opset;
    int n_attr;
    if (rd_count(c, 8, "attribute", &n_attr) != RT_OK) return RT_ERR;
    RtAttr *attrs = ir_alloc(g, sizeof(RtAttr) * (size_t)(n_attr ? n_attr : 1));
    if (!attrs) return rd_fail(r, "out of memory");
    n->attrs = attrs;
    for (int a = 0; a < n_attr; a++) {
        uint32_t type;
        if (rd_str(c, 0, "attribute name", &attrs[a].name) != RT_OK || rd_u32(c, &type) != RT_OK) return RT_ERR;
        attrs[a].type = (RtAttrType)type;
        if (attr_payload(c, g, gi, depth, &g->nodes[k], &attrs[a]) != RT_OK) return RT_ERR;
        g->nodes[k].n_attr = a + 1; /* counted once complete, so ir_graph_free sees built subgraphs */
    }
    return RT_OK;
}

/* ---- graphs ---- */

static int ids_read(WfCur *c, const IrGraph *g, const char *what, int **ids, int *n) {
    WfReader *r = c->r;
    if (rd_count(c, 4, what, n) != RT_OK) return RT_ERR;
    *ids = malloc(sizeof(int) * ((size_t)*n + 1));
    if (!*ids) return rd_fail(r, "out of memory");
    for (int i = 0; i < *n; i++) {
        int32_t v;
        if (rd_i32(c, &v) != RT_OK) return RT_ERR;
        if (v < 0 || v >= g->n_values)
            return rd_fail(r, "graph '%s': %s %d refers to value %d (graph has %d values)", g->name, what, i, (int)v,
                           g->n_values);
        (*ids)[i] = v;
    }
    return RT_OK;
}

/* The body of graph gi into g (made by the caller, so the root can own the file bytes). */
static int graph_fill(WfReader *r, uint32_t gi, IrGraph *g, int depth) {
    WfCur c;
    const char *name, *producer;
    int32_t opset;
    uint32_t reserved, n_values, n_nodes;
    uint64_t values_off, nodes_off;
    if (cur_at(r, WF_SEC_GRAPH, r->graph_pos[gi] - r->off[WF_SEC_GRAPH], &c) != RT_OK) return RT_ERR;
    if (rd_str(&c, 0, "graph name", &name) != RT_OK || rd_str(&c, 0, "producer", &producer) != RT_OK ||
        rd_i32(&c, &opset) != RT_OK || rd_u32(&c, &reserved) != RT_OK || rd_i64(&c, &g->ir_version) != RT_OK ||
        rd_u64(&c, &values_off) != RT_OK || rd_u32(&c, &n_values) != RT_OK || rd_u64(&c, &nodes_off) != RT_OK ||
        rd_u32(&c, &n_nodes) != RT_OK)
        return RT_ERR;
    g->name = name;
    g->producer_name = producer;
    g->opset = opset;
    if (reserved != 0) return rd_fail(r, "graph %u: reserved field is %u, not 0", gi, reserved);
    WfCur vc, nc;
    if (cur_at(r, WF_SEC_VALUES, values_off, &vc) != RT_OK || cur_at(r, WF_SEC_NODES, nodes_off, &nc) != RT_OK)
        return RT_ERR;
    /* A value record has at least 16 bytes and a node record at least 28. */
    if (n_values > (vc.end - vc.pos) / 16 || n_nodes > (nc.end - nc.pos) / 28 || n_values > INT32_MAX / 64 ||
        n_nodes > INT32_MAX / 64)
        return rd_fail(r, "graph '%s': %u values and %u nodes do not fit in the file", name, n_values, n_nodes);
    for (uint32_t v = 0; v < n_values; v++)
        if (value_read(&vc, g) != RT_OK) return RT_ERR;
    for (uint32_t k = 0; k < n_nodes; k++)
        if (node_read(&nc, g, gi, depth) != RT_OK) return RT_ERR;
    if (ids_read(&c, g, "input", &g->inputs, &g->n_inputs) != RT_OK) return RT_ERR;
    return ids_read(&c, g, "output", &g->outputs, &g->n_outputs);
}

static int graph_build(WfReader *r, uint32_t gi, IrGraph *parent, int depth, IrGraph **out) {
    if (depth > WF_MAX_DEPTH) return rd_fail(r, "subgraphs nested deeper than %d levels", WF_MAX_DEPTH);
    r->graph_used[gi] = 1;
    IrGraph *g = ir_graph_new();
    if (!g) return rd_fail(r, "out of memory");
    g->parent = parent;
    g->path = ir_strdup(g, r->path);
    if (!g->path) rd_fail(r, "out of memory");
    if (!g->path || graph_fill(r, gi, g, depth) != RT_OK) {
        ir_graph_free(g);
        return RT_ERR;
    }
    *out = g;
    return RT_OK;
}

/* Offsets of every GRAPH record (records are variable-sized: their input/output lists). */
static int graph_table_read(WfReader *r) {
    WfCur c;
    uint32_t n;
    if (cur_at(r, WF_SEC_GRAPH, 0, &c) != RT_OK || rd_u32(&c, &n) != RT_OK) return RT_ERR;
    /* A graph record has at least 56 bytes. */
    if (n == 0 || n > (c.end - c.pos) / 56)
        return rd_fail(r, "GRAPH section: %u graphs do not fit in %zu bytes", n, r->len[WF_SEC_GRAPH]);
    r->n_graphs = n;
    r->graph_pos = malloc(sizeof(size_t) * n);
    r->graph_used = calloc(n, 1);
    if (!r->graph_pos || !r->graph_used) return rd_fail(r, "out of memory");
    for (uint32_t gi = 0; gi < n; gi++) {
        r->graph_pos[gi] = c.pos;
        const uint8_t *p;
        if (cur_take(&c, 48, &p) != RT_OK) return RT_ERR; /* name .. n_nodes */
        for (int list = 0; list < 2; list++) {
            uint32_t cnt;
            if (rd_u32(&c, &cnt) != RT_OK) return RT_ERR;
            if (cnt > (c.end - c.pos) / 4) return rd_fail(r, "GRAPH section: graph %u's list runs past the end", gi);
            c.pos += (size_t)cnt * 4;
        }
    }
    return RT_OK;
}

/* ---- file level ---- */

static int header_check(WfReader *r) {
    const uint8_t *h = r->img;
    size_t min = WF_HEADER_BYTES + WF_SECTION_BYTES * WF_SEC_COUNT + WF_CHECKSUM_BYTES;
    if (r->size < 8 || memcmp(h, WF_MAGIC, 8) != 0) return rd_fail(r, "not a .wafer file (no WAFERFMT magic)");
    if (r->size >= 12 && wf_get_u32(h + 8) != WAFER_FILE_VERSION)
        return rd_fail(r, ".wafer format version %u, this wafer reads version %d", wf_get_u32(h + 8), WAFER_FILE_VERSION);
    if (r->size < min) return rd_fail(r, "truncated: %zu bytes, shorter than a .wafer header (%zu)", r->size, min);
    uint64_t want = wf_get_u64(h + 16);
    if (want != r->size)
        return rd_fail(r, "%s: the header records %llu bytes, the file has %zu", want > r->size ? "truncated" : "size mismatch",
                       (unsigned long long)want, r->size);
    if (wf_get_u32(h + r->size - 4) != 0 || wf_get_u32(h + r->size - 8) != wf_crc32c(h, r->size - 8, 1))
        return rd_fail(r, "checksum mismatch (file corrupted)");
    uint32_t flags = wf_get_u32(h + 12), count = wf_get_u32(h + 24), reserved = wf_get_u32(h + 28);
    if (flags != 0) return rd_fail(r, "unknown flags 0x%x", flags);
    if (count != WF_SEC_COUNT || reserved != 0)
        return rd_fail(r, "%u sections (version 1 has %d), reserved %u", count, WF_SEC_COUNT, reserved);
    size_t prev_end = WF_HEADER_BYTES + WF_SECTION_BYTES * WF_SEC_COUNT, body_end = r->size - WF_CHECKSUM_BYTES;
    for (int k = 1; k <= WF_SEC_COUNT; k++) {
        const uint8_t *e = h + WF_HEADER_BYTES + WF_SECTION_BYTES * (size_t)(k - 1);
        uint32_t kind = wf_get_u32(e), res = wf_get_u32(e + 4);
        uint64_t off = wf_get_u64(e + 8), len = wf_get_u64(e + 16);
        if (kind != (uint32_t)k || res != 0)
            return rd_fail(r, "section table entry %d: kind %u (expected %d), reserved %u", k - 1, kind, k, res);
        if (off % WF_ALIGN != 0 || off < prev_end || off > body_end || len > body_end - off)
            return rd_fail(r, "%s section at %llu (+%llu bytes) is misplaced (file %zu bytes)", sec_name[k],
                           (unsigned long long)off, (unsigned long long)len, r->size);
        r->off[k] = (size_t)off;
        r->len[k] = (size_t)len;
        prev_end = (size_t)(off + len);
    }
    if (r->len[WF_SEC_STRINGS] == 0 || h[r->off[WF_SEC_STRINGS] + r->len[WF_SEC_STRINGS] - 1] != 0)
        return rd_fail(r, "STRINGS section does not end with a NUL");
    return RT_OK;
}

static int meta_read(WfReader *r, WaferMeta *out) {
    WfCur c;
    int n;
    if (cur_at(r, WF_SEC_META, 0, &c) != RT_OK || rd_count(&c, 8, "metadata pair", &n) != RT_OK) return RT_ERR;
    WaferMeta m = {"", "", ""};
    for (int i = 0; i < n; i++) {
        const char *k, *v;
        if (rd_str(&c, 0, "metadata key", &k) != RT_OK || rd_str(&c, 0, "metadata value", &v) != RT_OK) return RT_ERR;
        if (strcmp(k, WF_META_SOURCE_HASH) == 0) m.source_hash = v;
        else if (strcmp(k, WF_META_WAFER_VERSION) == 0) m.wafer_version = v;
        else if (strcmp(k, WF_META_OPTIONS) == 0) m.options = v;
    }
    *out = m;
    return RT_OK;
}

/* The whole file into the arena of g. */
static int file_load(WfReader *r, IrGraph *g) {
    FILE *f = fopen(r->path, "rb");
    if (!f) return rd_fail(r, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return rd_fail(r, "not a regular file");
    }
    if ((uint64_t)st.st_size > (uint64_t)SIZE_MAX / 2) {
        fclose(f);
        return rd_fail(r, "file too large (%lld bytes)", (long long)st.st_size);
    }
    r->size = (size_t)st.st_size;
    uint8_t *img = ir_alloc(g, r->size ? r->size : 1);
    if (!img) {
        fclose(f);
        return rd_fail(r, "out of memory (%zu bytes)", r->size);
    }
    size_t got = fread(img, 1, r->size, f);
    fclose(f);
    if (got != r->size) return rd_fail(r, "read error (%zu of %zu bytes)", got, r->size);
    r->img = img;
    return RT_OK;
}

IrGraph *wafer_file_read_meta(const char *path, WaferMeta *meta, RtError *err) {
    WfReader r;
    memset(&r, 0, sizeof r);
    r.path = path;
    r.err = err;
    err->msg[0] = '\0';
    WaferMeta m = {"", "", ""};
    IrGraph *g = ir_graph_new();
    int st = g ? RT_OK : rd_fail(&r, "out of memory");
    if (st == RT_OK) st = file_load(&r, g);
    if (st == RT_OK) st = header_check(&r);
    if (st == RT_OK) st = meta_read(&r, &m);
    if (st == RT_OK) st = graph_table_read(&r);
    if (st == RT_OK) {
        r.graph_used[0] = 1;
        g->path = ir_strdup(g, path);
        st = g->path ? graph_fill(&r, 0, g, 0) : rd_fail(&r, "out of memory");
    }
    for (uint32_t gi = 0; st == RT_OK && gi < r.n_graphs; gi++)
        if (!r.graph_used[gi]) st = rd_fail(&r, "GRAPH section: graph %u is not used by any node", gi);
    if (st == RT_OK) {
        RtError verr = {{0}};
        if (ir_verify(g, &verr) != RT_OK) st = rd_fail(&r, "%s", verr.msg);
    }
    free(r.graph_pos);
    free(r.graph_used);
    free(r.scratch);
    if (st != RT_OK) {
        ir_graph_free(g);
        return NULL;
    }
    if (meta) *meta = m;
    return g;
}

IrGraph *wafer_file_read(const char *path, RtError *err) { return wafer_file_read_meta(path, NULL, err); }
