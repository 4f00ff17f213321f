/*
 * rt_model.c — the one reader of the .wafer format (version 2, layout at the top of
 * format/wafer_write.c): a file image in, validated RtGraphs out, weights not copied.
 *
 * Order of checks, so that each failure gets the message that helps: the magic ("not a
 * .wafer file"), the format version (any other version, older or newer, is refused naming
 * both before anything whose layout another version may change), the recorded size against
 * the real size (truncation), the checksum over the whole file (any other corruption), and
 * only then the contents. Every offset and count read from the image is checked against the
 * end of its section with overflow-free arithmetic before it is used; every dtype, rank,
 * dim, value index, string reference, op (looked up by domain and name in ops.def),
 * attribute and subgraph reference is validated. Each graph is then checked as ir_verify
 * checks the IR (graph inputs not repeated, each value produced by one node at most and
 * never over an input or constant, every node input defined by an earlier node, an input or
 * a constant, outputs defined, attributes allowed and not repeated), so a graph handed out
 * is safe to execute. The PLAN section, when present, is checked field by field and then by
 * rt_plan_check against graph 0.
 *
 * Memory: the image is the mmap of the file (read-only, private), or the file read into a
 * buffer from the allocator, or the caller's bytes (copied once when not 64-byte aligned).
 * Strings and constant data point into it (big-endian hosts copy each constant and swap its
 * elements). Every table the model builds comes from a small arena of blocks taken from the
 * allocator, released together by rt_model_close. Nothing here is global.
 */
#include "rt_model.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_arity.h"
#include "rt_wafer_format.h"

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define MD_HAVE_MMAP 1
#else
#define MD_HAVE_MMAP 0
#endif

#define MD_MAX_DEPTH 64          /* subgraph nesting limit (recursion depth of graph_read) */
#define MD_BLOCK_BYTES 65536     /* arena block; larger requests get a block of their own */
#define MD_BLOCK_HEADER 64       /* keeps block payloads 64-byte aligned */

/* One arena block: header, then cap bytes of payload. */
typedef struct MdBlock {
    struct MdBlock *next;        /* owned chain */
    size_t used, cap;            /* payload bytes */
} MdBlock;

struct RtModel {
    RtAllocator a;               /* copied from the caller */
    const char *name;            /* arena: path or the caller's name, for messages */
    const uint8_t *img;          /* [size] the image: map, copy or the caller's bytes */
    size_t size;                 /* bytes */
    void *map;                   /* mmap'd file, or NULL */
    size_t map_len;              /* bytes mapped */
    void *copy;                  /* image buffer from a (file read, unaligned memory), or NULL */
    MdBlock *blocks;             /* owned arena */
    int n_graphs;
    RtGraph *graphs;             /* [n_graphs] arena; index = GRAPH record */
    RtGraphInfo *infos;          /* [n_graphs] arena */
    int n_meta;
    const char **meta_key;       /* [n_meta] into the image */
    const char **meta_val;       /* [n_meta] into the image */
    int has_plan;
    RtPlan plan;                 /* arrays in the arena (never rt_plan_free'd) */
    int64_t weight_bytes;        /* sum of every constant's bytes */
};

static const char *const sec_name[WF_SEC_COUNT + 1] = {"?",    "STRINGS", "VALUES", "NODES",
                                                       "GRAPH", "DATA",   "META",   "PLAN"};

/* ---- arena ---- */

static void *md_alloc(RtModel *m, size_t bytes) {
    bytes = bytes ? (bytes + 15) / 16 * 16 : 16;
    if (bytes > SIZE_MAX / 2) return NULL;
    MdBlock *b = m->blocks;
    if (!b || b->cap - b->used < bytes) {
        int own = bytes > MD_BLOCK_BYTES / 4;
        size_t cap = own ? bytes : MD_BLOCK_BYTES;
        MdBlock *nb = m->a.alloc(m->a.user, MD_BLOCK_HEADER + cap);
        if (!nb) return NULL;
        nb->cap = cap;
        nb->used = 0;
        if (own && b) { /* behind the head, so the head's free room stays in use */
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            m->blocks = nb;
        }
        b = nb;
    }
    void *p = (uint8_t *)b + MD_BLOCK_HEADER + b->used;
    b->used += bytes;
    memset(p, 0, bytes);
    return p;
}

/* n items of `each` bytes (n may be 0); NULL on overflow or failure. */
static void *md_array(RtModel *m, size_t n, size_t each) {
    if (each && n > SIZE_MAX / 4 / each) return NULL;
    return md_alloc(m, n * each);
}

/* ---- reading state ---- */

typedef struct {
    RtModel *m;
    const uint8_t *img;               /* = m->img */
    size_t size;
    size_t off[WF_SEC_COUNT + 1];     /* section offsets in the image, by kind */
    size_t len[WF_SEC_COUNT + 1];     /* section sizes, bytes */
    size_t *graph_pos;                /* [n_graphs] arena: each GRAPH record's image offset */
    unsigned char *graph_used;        /* [n_graphs] arena: 1 once read (each exactly once) */
    RtError *err;
} MdReader;

/* A read position inside one section: [pos, end) are image offsets. */
typedef struct {
    MdReader *r;
    size_t pos, end;
    int sec;                          /* section kind, for messages */
} MdCur;

static int md_fail(MdReader *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static int md_fail(MdReader *r, const char *fmt, ...) {
    char msg[sizeof r->err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rt_error_set(r->err, "%s: %s", r->m->name, msg);
    return RT_ERR;
}

static int md_oom(MdReader *r) { return md_fail(r, "out of memory"); }

static int cur_take(MdCur *c, size_t n, const uint8_t **p) {
    if (c->end - c->pos < n)
        return md_fail(c->r, "%s section: record runs past the end of the section (at byte %zu)",
                       sec_name[c->sec], c->pos - c->r->off[c->sec]);
    *p = c->r->img + c->pos;
    c->pos += n;
    return RT_OK;
}

static int rd_u32(MdCur *c, uint32_t *v) {
    const uint8_t *p = NULL;
    if (cur_take(c, 4, &p) != RT_OK) return RT_ERR;
    *v = wf_get_u32(p);
    return RT_OK;
}

static int rd_i32(MdCur *c, int32_t *v) {
    uint32_t u;
    if (rd_u32(c, &u) != RT_OK) return RT_ERR;
    *v = (int32_t)u;
    return RT_OK;
}

static int rd_u64(MdCur *c, uint64_t *v) {
    const uint8_t *p = NULL;
    if (cur_take(c, 8, &p) != RT_OK) return RT_ERR;
    *v = wf_get_u64(p);
    return RT_OK;
}

static int rd_i64(MdCur *c, int64_t *v) {
    uint64_t u;
    if (rd_u64(c, &u) != RT_OK) return RT_ERR;
    *v = (int64_t)u;
    return RT_OK;
}

/* A count of items of at least `each` bytes: must fit in what is left of the section (so a
 * huge count in a small file fails here, before anything is allocated for it). */
static int rd_count(MdCur *c, size_t each, const char *what, int *n) {
    uint32_t u;
    if (rd_u32(c, &u) != RT_OK) return RT_ERR;
    if (u > (uint32_t)(INT32_MAX / 64) || (size_t)u > (c->end - c->pos) / each)
        return md_fail(c->r, "%s section: %s count %u does not fit in the section", sec_name[c->sec], what, u);
    *n = (int)u;
    return RT_OK;
}

/* A string reference: NONE gives NULL when optional; otherwise inside STRINGS (whose last
 * byte is a NUL, checked once, so every string in it is terminated). */
static int rd_str(MdCur *c, int optional, const char *what, const char **s) {
    uint32_t ref;
    if (rd_u32(c, &ref) != RT_OK) return RT_ERR;
    MdReader *r = c->r;
    if (ref == WF_STR_NONE && optional) {
        *s = NULL;
        return RT_OK;
    }
    if (ref >= r->len[WF_SEC_STRINGS])
        return md_fail(r, "%s section: %s refers to string offset %u outside STRINGS (%zu bytes)",
                       sec_name[c->sec], what, ref, r->len[WF_SEC_STRINGS]);
    *s = (const char *)r->img + r->off[WF_SEC_STRINGS] + ref;
    return RT_OK;
}

static int cur_at(MdReader *r, int sec, uint64_t rel, MdCur *c) {
    if (rel > r->len[sec])
        return md_fail(r, "%s section: offset %llu is past its end (%zu bytes)", sec_name[sec],
                       (unsigned long long)rel, r->len[sec]);
    c->r = r;
    c->sec = sec;
    c->pos = r->off[sec] + (size_t)rel;
    c->end = r->off[sec] + r->len[sec];
    return RT_OK;
}

/* ---- tensors and values ---- */

static int dtype_check(MdReader *r, uint32_t dt, int allow_undefined, const char *what, const char *name) {
    if (dt == RT_UNDEFINED && allow_undefined) return RT_OK;
    if (dt < RT_DTYPE_END && rt_dtype_size((RtDtype)dt) > 0) return RT_OK;
    if (dt < RT_DTYPE_END && strcmp(rt_dtype_name((RtDtype)dt), "?") != 0)
        return md_fail(r, "%s '%s': dtype %s is not supported", what, name, rt_dtype_name((RtDtype)dt));
    return md_fail(r, "%s '%s': unknown dtype %u", what, name, dt);
}

/* A tensor record into an RtTensor whose data points into DATA (or a swapped copy). */
static int tensor_read(MdCur *c, const char *what, const char *name, const RtTensor **out) {
    MdReader *r = c->r;
    uint32_t dt, rank;
    if (rd_u32(c, &dt) != RT_OK || rd_u32(c, &rank) != RT_OK) return RT_ERR;
    if (dtype_check(r, dt, 0, what, name) != RT_OK) return RT_ERR;
    if (rank > RT_MAX_RANK) return md_fail(r, "%s '%s': rank %u exceeds %d", what, name, rank, RT_MAX_RANK);
    RtTensor *t = md_alloc(r->m, sizeof *t);
    if (!t) return md_oom(r);
    t->dtype = (RtDtype)dt;
    t->rank = (int)rank;
    for (uint32_t d = 0; d < rank; d++) {
        if (rd_i64(c, &t->dims[d]) != RT_OK) return RT_ERR;
        if (t->dims[d] < 0) return md_fail(r, "%s '%s': dim %u is %lld", what, name, d, (long long)t->dims[d]);
    }
    uint64_t off, size;
    if (rd_u64(c, &off) != RT_OK || rd_u64(c, &size) != RT_OK) return RT_ERR;
    int64_t want = rt_nbytes(t);
    if (want < 0 || (uint64_t)want != size)
        return md_fail(r, "%s '%s': data size %llu, but a %s tensor of this shape has %lld bytes", what, name,
                       (unsigned long long)size, rt_dtype_name(t->dtype), (long long)want);
    size_t dlen = r->len[WF_SEC_DATA];
    if (off % WF_ALIGN != 0 || off > dlen || size > dlen - off)
        return md_fail(r, "%s '%s': data at %llu (+%llu bytes) is outside DATA (%zu bytes) or not 64-byte aligned",
                       what, name, (unsigned long long)off, (unsigned long long)size, dlen);
    const uint8_t *src = r->img + r->off[WF_SEC_DATA] + off;
    if (wf_host_is_le()) {
        t->data = (void *)src; /* never written through: kernels take inputs as const */
    } else {
        t->data = md_alloc(r->m, (size_t)size);
        if (!t->data) return md_oom(r);
        memcpy(t->data, src, (size_t)size);
        wf_swap_elems(t->data, (size_t)size, rt_dtype_size(t->dtype));
    }
    r->m->weight_bytes += (int64_t)size;
    *out = t;
    return RT_OK;
}

static int value_read(MdCur *c, RtValueInfo *vi, const RtTensor **konst) {
    MdReader *r = c->r;
    uint32_t dt, has_const;
    int32_t rank;
    if (rd_str(c, 0, "value name", &vi->name) != RT_OK || rd_u32(c, &dt) != RT_OK || rd_i32(c, &rank) != RT_OK)
        return RT_ERR;
    if (dtype_check(r, dt, 1, "value", vi->name) != RT_OK) return RT_ERR;
    if (rank < -1 || rank > RT_MAX_RANK) return md_fail(r, "value '%s': rank %d out of range", vi->name, (int)rank);
    vi->dtype = (RtDtype)dt;
    vi->rank = rank;
    for (int d = 0; d < rank; d++) {
        if (rd_i64(c, &vi->dims[d]) != RT_OK || rd_str(c, 1, "dim name", &vi->dim_names[d]) != RT_OK)
            return RT_ERR;
        if (vi->dims[d] < -1) return md_fail(r, "value '%s': dim %d is %lld", vi->name, d, (long long)vi->dims[d]);
    }
    if (rd_u32(c, &has_const) != RT_OK) return RT_ERR;
    if (has_const > 1) return md_fail(r, "value '%s': has_const is %u", vi->name, has_const);
    *konst = NULL;
    return has_const ? tensor_read(c, "constant", vi->name, konst) : RT_OK;
}

/* ---- nodes and attributes ---- */

static int graph_read(MdReader *r, uint32_t gi, int depth);

static int floats_read(MdCur *c, RtAttr *a) {
    int cnt;
    if (rd_count(c, 4, "float", &cnt) != RT_OK) return RT_ERR;
    float *f = md_array(c->r->m, (size_t)cnt, sizeof(float));
    if (!f) return md_oom(c->r);
    for (int i = 0; i < cnt; i++) {
        uint32_t bits;
        if (rd_u32(c, &bits) != RT_OK) return RT_ERR;
        memcpy(&f[i], &bits, 4);
    }
    a->n = cnt;
    a->floats = f;
    return RT_OK;
}

static int ints_read(MdCur *c, RtAttr *a) {
    int cnt;
    if (rd_count(c, 8, "int", &cnt) != RT_OK) return RT_ERR;
    int64_t *v = md_array(c->r->m, (size_t)cnt, sizeof(int64_t));
    if (!v) return md_oom(c->r);
    for (int i = 0; i < cnt; i++)
        if (rd_i64(c, &v[i]) != RT_OK) return RT_ERR;
    a->n = cnt;
    a->ints = v;
    return RT_OK;
}

static int strings_read(MdCur *c, RtAttr *a) {
    int cnt;
    if (rd_count(c, 4, "string", &cnt) != RT_OK) return RT_ERR;
    const char **s = md_array(c->r->m, (size_t)cnt, sizeof(char *));
    if (!s) return md_oom(c->r);
    for (int i = 0; i < cnt; i++)
        if (rd_str(c, 0, "attribute string", &s[i]) != RT_OK) return RT_ERR;
    a->n = cnt;
    a->strings = s;
    return RT_OK;
}

static int attr_payload(MdCur *c, uint32_t gi, int depth, const RtNode *n, RtAttr *a) {
    MdReader *r = c->r;
    switch (a->type) {
    case RT_ATTR_FLOAT: {
        uint32_t bits;
        if (rd_u32(c, &bits) != RT_OK) return RT_ERR;
        memcpy(&a->f, &bits, 4);
        return RT_OK;
    }
    case RT_ATTR_INT: return rd_i64(c, &a->i);
    case RT_ATTR_STRING: return rd_str(c, 0, "attribute string", &a->s);
    case RT_ATTR_TENSOR: return tensor_read(c, "attribute", a->name, &a->t);
    case RT_ATTR_GRAPH: {
        uint32_t sub;
        if (rd_u32(c, &sub) != RT_OK) return RT_ERR;
        if (sub <= gi || sub >= (uint32_t)r->m->n_graphs || r->graph_used[sub])
            return md_fail(r, "node '%s' (%s): attribute '%s' names graph %u (graph %u has %u graphs after it, "
                           "each named once)", n->name, n->op_type, a->name, sub, gi,
                           (uint32_t)r->m->n_graphs - gi - 1);
        if (graph_read(r, sub, depth + 1) != RT_OK) return RT_ERR;
        a->g = &r->m->graphs[sub];
        return RT_OK;
    }
    case RT_ATTR_FLOATS: return floats_read(c, a);
    case RT_ATTR_INTS: return ints_read(c, a);
    case RT_ATTR_STRINGS: return strings_read(c, a);
    }
    return md_fail(r, "node '%s' (%s): attribute '%s' has unknown type %d", n->name, n->op_type, a->name,
                   (int)a->type);
}

/* A count and that many value indices, each -1 (absent) or a value of g. */
static int indices_read(MdCur *c, const RtGraph *g, const char *node, const char *op, const char *what,
                        int *n_idx, int **idx) {
    MdReader *r = c->r;
    if (rd_count(c, 4, what, n_idx) != RT_OK) return RT_ERR;
    int *v = md_array(r->m, (size_t)*n_idx, sizeof(int));
    if (!v) return md_oom(r);
    for (int j = 0; j < *n_idx; j++) {
        int32_t x;
        if (rd_i32(c, &x) != RT_OK) return RT_ERR;
        if (x < -1 || x >= g->n_values)
            return md_fail(r, "node '%s' (%s): %s %d refers to value %d (graph has %d values)", node, op, what, j,
                           (int)x, g->n_values);
        v[j] = x;
    }
    *idx = v;
    return RT_OK;
}

static int node_read(MdCur *c, const RtGraph *g, RtNode *n, uint32_t gi, int depth) {
    MdReader *r = c->r;
    int32_t opset;
    if (rd_str(c, 0, "op domain", &n->domain) != RT_OK || rd_str(c, 0, "op type", &n->op_type) != RT_OK ||
        rd_str(c, 0, "node name", &n->name) != RT_OK || rd_i32(c, &opset) != RT_OK)
        return RT_ERR;
    n->op = rt_op_lookup(n->domain, n->op_type);
    if (n->op == RT_OP_UNKNOWN)
        return md_fail(r, "node '%s' (%s%s%s): op unknown to this wafer", n->name, n->domain,
                       n->domain[0] ? "." : "", n->op_type);
    if (opset < 0) return md_fail(r, "node '%s' (%s): opset %d", n->name, n->op_type, (int)opset);
    n->opset = opset;
    if (indices_read(c, g, n->name, n->op_type, "input", &n->n_in, &n->in) != RT_OK ||
        indices_read(c, g, n->name, n->op_type, "output", &n->n_out, &n->out) != RT_OK)
        return RT_ERR;
    int n_attr;
    if (rd_count(c, 8, "attribute", &n_attr) != RT_OK) return RT_ERR;
    n->attrs = md_array(r->m, (size_t)n_attr, sizeof(RtAttr));
    if (!n->attrs) return md_oom(r);
    n->n_attr = n_attr;
    for (int a = 0; a < n_attr; a++) {
        RtAttr *at = &n->attrs[a];
        uint32_t type;
        if (rd_str(c, 0, "attribute name", &at->name) != RT_OK || rd_u32(c, &type) != RT_OK) return RT_ERR;
        at->type = (RtAttrType)type;
        /* Allowed first: then at most the op's few allowed names get compared for repeats. */
        if (!rt_op_attr_allowed(n->op, at->name))
            return md_fail(r, "node '%s' (%s): attribute '%s' is not allowed on %s", n->name, n->op_type, at->name,
                           rt_op_name(n->op));
        for (int b = 0; b < a; b++)
            if (strcmp(n->attrs[b].name, at->name) == 0)
                return md_fail(r, "node '%s' (%s): attribute '%s' appears twice", n->name, n->op_type, at->name);
        if (attr_payload(c, gi, depth, n, at) != RT_OK) return RT_ERR;
    }
    /* a crafted file's short node must be refused here, not crash its kernel later */
    RtError ae = {{0}};
    if (rt_node_arity_check(n, n->opset, &ae) != RT_OK) return md_fail(r, "%s", ae.msg);
    return RT_OK;
}

/* ---- graphs ---- */

static const char *vname(const RtGraph *g, int v) { return g->value_names[v]; }

/* Graph inputs or outputs: a count and that many value indices of g. */
static int ids_read(MdCur *c, const RtGraph *g, const char *gname, const char *what, int *n, const int **ids) {
    MdReader *r = c->r;
    if (rd_count(c, 4, what, n) != RT_OK) return RT_ERR;
    int *v = md_array(r->m, (size_t)*n, sizeof(int));
    if (!v) return md_oom(r);
    for (int i = 0; i < *n; i++) {
        int32_t x;
        if (rd_i32(c, &x) != RT_OK) return RT_ERR;
        if (x < 0 || x >= g->n_values)
            return md_fail(r, "graph '%s': %s %d refers to value %d (graph has %d values)", gname, what, i, (int)x,
                           g->n_values);
        v[i] = x;
    }
    *ids = v;
    return RT_OK;
}

/* What a value slot is known to be while walking the nodes (as ir_verify). */
enum { DEF_NONE = 0, DEF_INPUT = 1, DEF_CONST = 2, DEF_NODE = 3 };

/* The executor's preconditions: inputs listed once; each node's inputs defined before it
 * (an input, a constant, or an earlier node's output); each value produced once and never
 * over an input or constant; every output defined. */
static int graph_verify(MdReader *r, const RtGraph *g, const char *gname) {
    char *def = md_alloc(r->m, (size_t)g->n_values);
    if (!def) return md_oom(r);
    for (int i = 0; i < g->n_inputs; i++) {
        if (def[g->inputs[i]] == DEF_INPUT)
            return md_fail(r, "graph '%s': value '%s' is listed twice as a graph input", gname,
                           vname(g, g->inputs[i]));
        def[g->inputs[i]] = DEF_INPUT;
    }
    for (int v = 0; v < g->n_values; v++)
        if (g->consts[v] && def[v] == DEF_NONE) def[v] = DEF_CONST;
    static const char *const what[] = {"", "a graph input", "a constant", "produced by an earlier node"};
    for (int k = 0; k < g->n_nodes; k++) {
        const RtNode *n = &g->nodes[k];
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] >= 0 && def[n->in[j]] == DEF_NONE)
                return md_fail(r, "node '%s' (%s): input %d '%s' is used before it is defined (not a graph input, "
                               "constant or output of an earlier node)", n->name, n->op_type, j,
                               vname(g, n->in[j]));
        for (int j = 0; j < n->n_out; j++) {
            int v = n->out[j];
            if (v < 0) continue;
            if (def[v] != DEF_NONE)
                return md_fail(r, "node '%s' (%s): output %d '%s' is already %s", n->name, n->op_type, j,
                               vname(g, v), what[(int)def[v]]);
            def[v] = DEF_NODE;
        }
    }
    for (int i = 0; i < g->n_outputs; i++)
        if (def[g->outputs[i]] == DEF_NONE)
            return md_fail(r, "graph '%s': output '%s' is never defined (no node, input or constant)", gname,
                           vname(g, g->outputs[i]));
    return RT_OK;
}

/* GRAPH record gi: its values, nodes (reading the subgraphs they name), inputs and outputs,
 * then the structural check. */
static int graph_read(MdReader *r, uint32_t gi, int depth) {
    if (depth > MD_MAX_DEPTH) return md_fail(r, "subgraphs nested deeper than %d levels", MD_MAX_DEPTH);
    r->graph_used[gi] = 1;
    RtModel *m = r->m;
    RtGraph *g = &m->graphs[gi];
    RtGraphInfo *info = &m->infos[gi];
    MdCur c, vc, nc;
    int32_t opset;
    uint32_t n_declared, n_values, n_nodes;
    uint64_t values_off, nodes_off;
    if (cur_at(r, WF_SEC_GRAPH, r->graph_pos[gi] - r->off[WF_SEC_GRAPH], &c) != RT_OK) return RT_ERR;
    if (rd_str(&c, 0, "graph name", &info->name) != RT_OK || rd_str(&c, 0, "producer", &info->producer) != RT_OK ||
        rd_i32(&c, &opset) != RT_OK || rd_u32(&c, &n_declared) != RT_OK || rd_i64(&c, &info->ir_version) != RT_OK ||
        rd_u64(&c, &values_off) != RT_OK || rd_u32(&c, &n_values) != RT_OK || rd_u64(&c, &nodes_off) != RT_OK ||
        rd_u32(&c, &n_nodes) != RT_OK)
        return RT_ERR;
    info->opset = opset;
    if (n_declared > 0 && gi == 0) return md_fail(r, "graph 0 (the model) declares %u subgraph inputs, not 0", n_declared);
    if (cur_at(r, WF_SEC_VALUES, values_off, &vc) != RT_OK || cur_at(r, WF_SEC_NODES, nodes_off, &nc) != RT_OK)
        return RT_ERR;
    /* A value record has at least 16 bytes and a node record at least 28. */
    if (n_values > (vc.end - vc.pos) / 16 || n_nodes > (nc.end - nc.pos) / 28 || n_values > INT32_MAX / 64 ||
        n_nodes > INT32_MAX / 64)
        return md_fail(r, "graph '%s': %u values and %u nodes do not fit in the file", info->name, n_values, n_nodes);
    RtValueInfo *vi = md_array(m, n_values, sizeof *vi);
    const char **names = md_array(m, n_values, sizeof *names);
    const RtTensor **consts = md_array(m, n_values, sizeof *consts);
    RtNode *nodes = md_array(m, n_nodes, sizeof *nodes);
    if (!vi || !names || !consts || !nodes) return md_oom(r);
    for (uint32_t v = 0; v < n_values; v++) {
        if (value_read(&vc, &vi[v], &consts[v]) != RT_OK) return RT_ERR;
        names[v] = vi[v].name;
    }
    info->values = vi;
    g->n_values = (int)n_values;
    g->value_names = names;
    g->consts = consts;
    g->nodes = nodes;
    for (uint32_t k = 0; k < n_nodes; k++) {
        if (node_read(&nc, g, &nodes[k], gi, depth) != RT_OK) return RT_ERR;
        g->n_nodes = (int)k + 1;
    }
    if (ids_read(&c, g, info->name, "input", &g->n_inputs, &g->inputs) != RT_OK ||
        ids_read(&c, g, info->name, "output", &g->n_outputs, &g->outputs) != RT_OK)
        return RT_ERR;
    if (n_declared > (uint32_t)g->n_inputs)
        return md_fail(r, "graph '%s': %u declared inputs of %d", info->name, n_declared, g->n_inputs);
    g->n_declared = (int)n_declared;
    return graph_verify(r, g, info->name);
}

/* Offsets of every GRAPH record (records are variable-sized: their input/output lists). */
static int graph_table_read(MdReader *r) {
    MdCur c;
    uint32_t n;
    if (cur_at(r, WF_SEC_GRAPH, 0, &c) != RT_OK || rd_u32(&c, &n) != RT_OK) return RT_ERR;
    /* A graph record has at least 56 bytes. */
    if (n == 0 || n > (c.end - c.pos) / 56)
        return md_fail(r, "GRAPH section: %u graphs do not fit in %zu bytes", n, r->len[WF_SEC_GRAPH]);
    RtModel *m = r->m;
    m->n_graphs = (int)n;
    m->graphs = md_array(m, n, sizeof *m->graphs);
    m->infos = md_array(m, n, sizeof *m->infos);
    r->graph_pos = md_array(m, n, sizeof *r->graph_pos);
    r->graph_used = md_array(m, n, 1);
    if (!m->graphs || !m->infos || !r->graph_pos || !r->graph_used) return md_oom(r);
    for (uint32_t gi = 0; gi < n; gi++) {
        r->graph_pos[gi] = c.pos;
        const uint8_t *p = NULL;
        if (cur_take(&c, 48, &p) != RT_OK) return RT_ERR; /* name .. n_nodes */
        for (int list = 0; list < 2; list++) {
            uint32_t cnt;
            if (rd_u32(&c, &cnt) != RT_OK) return RT_ERR;
            if (cnt > (c.end - c.pos) / 4) return md_fail(r, "GRAPH section: graph %u's list runs past the end", gi);
            c.pos += (size_t)cnt * 4;
        }
    }
    return RT_OK;
}

/* ---- the plan ---- */

/* One PLAN value record into p (offset, bytes, dtype, rank, dims), checked in itself; how
 * records relate (overlaps, live ranges) is rt_plan_check's job. */
static int plan_value_read(MdCur *c, const RtGraph *g, RtPlan *p, int v) {
    MdReader *r = c->r;
    uint32_t dt, rank;
    if (rd_i64(c, &p->offset[v]) != RT_OK || rd_i64(c, &p->bytes[v]) != RT_OK || rd_u32(c, &dt) != RT_OK ||
        rd_u32(c, &rank) != RT_OK)
        return RT_ERR;
    const char *name = vname(g, v);
    if (dtype_check(r, dt, 1, "PLAN section: value", name) != RT_OK) return RT_ERR;
    if (rank > RT_MAX_RANK) return md_fail(r, "PLAN section: value '%s' has rank %u", name, rank);
    RtTensor *t = &p->value[v];
    t->dtype = (RtDtype)dt;
    t->rank = (int)rank;
    for (uint32_t d = 0; d < rank; d++) {
        if (rd_i64(c, &t->dims[d]) != RT_OK) return RT_ERR;
        if (t->dims[d] < 0) return md_fail(r, "PLAN section: value '%s' dim %u is %lld", name, d, (long long)t->dims[d]);
    }
    int64_t off = p->offset[v], bytes = p->bytes[v], need = rt_nbytes(t);
    if (off == -1 && bytes == 0) return RT_OK;
    if (off < 0 || off % RT_PLAN_ALIGN != 0 || bytes < 0 || bytes > p->arena_bytes - off)
        return md_fail(r, "PLAN section: value '%s' at %lld (+%lld bytes) is outside the %lld-byte arena or not "
                       "%d-byte aligned", name, (long long)off, (long long)bytes, (long long)p->arena_bytes,
                       RT_PLAN_ALIGN);
    if (need < 0 || need > bytes)
        return md_fail(r, "PLAN section: value '%s' needs %lld bytes, the plan gives it %lld", name, (long long)need,
                       (long long)bytes);
    return RT_OK;
}

static int plan_read(MdReader *r) {
    MdCur c;
    uint32_t has, reserved;
    if (cur_at(r, WF_SEC_PLAN, 0, &c) != RT_OK || rd_u32(&c, &has) != RT_OK || rd_u32(&c, &reserved) != RT_OK)
        return RT_ERR;
    if (has > 1 || reserved != 0) return md_fail(r, "PLAN section: has_plan %u, reserved %u", has, reserved);
    if (!has) return c.pos == c.end ? RT_OK : md_fail(r, "PLAN section: bytes after \"no plan\"");
    RtModel *m = r->m;
    const RtGraph *g = &m->graphs[0];
    RtPlan *p = &m->plan;
    uint32_t n;
    if (rd_i64(&c, &p->arena_bytes) != RT_OK || rd_u32(&c, &n) != RT_OK || rd_u32(&c, &reserved) != RT_OK)
        return RT_ERR;
    if (p->arena_bytes < 0 || p->arena_bytes % RT_PLAN_ALIGN != 0 || reserved != 0)
        return md_fail(r, "PLAN section: arena of %lld bytes (a multiple of %d expected), reserved %u",
                       (long long)p->arena_bytes, RT_PLAN_ALIGN, reserved);
    if (n != (uint32_t)g->n_values)
        return md_fail(r, "PLAN section: %u values, the graph has %d", n, g->n_values);
    p->n_values = (int)n;
    p->offset = md_array(m, n, sizeof *p->offset);
    p->bytes = md_array(m, n, sizeof *p->bytes);
    p->value = md_array(m, n, sizeof *p->value);
    if (!p->offset || !p->bytes || !p->value) return md_oom(r);
    for (uint32_t v = 0; v < n; v++)
        if (plan_value_read(&c, g, p, (int)v) != RT_OK) return RT_ERR;
    if (c.pos != c.end) return md_fail(r, "PLAN section: %zu bytes after the last value", c.end - c.pos);
    RtError perr;
    memset(&perr, 0, sizeof perr);
    if (rt_plan_check(g, p, &perr) != RT_OK) return md_fail(r, "PLAN section: %s", perr.msg);
    m->has_plan = 1;
    return RT_OK;
}

/* ---- file level ---- */

static int header_check(MdReader *r) {
    const uint8_t *h = r->img;
    size_t min = WF_HEADER_BYTES + WF_SECTION_BYTES * WF_SEC_COUNT + WF_CHECKSUM_BYTES;
    if (r->size < 8 || memcmp(h, WF_MAGIC, 8) != 0) return md_fail(r, "not a .wafer file (no WAFERFMT magic)");
    if (r->size >= 12 && wf_get_u32(h + 8) != WF_VERSION)
        return md_fail(r, ".wafer format version %u, this runtime reads version %d", wf_get_u32(h + 8), WF_VERSION);
    if (r->size < min) return md_fail(r, "truncated: %zu bytes, shorter than a .wafer header (%zu)", r->size, min);
    uint64_t want = wf_get_u64(h + 16);
    if (want != r->size)
        return md_fail(r, "%s: the header records %llu bytes, the file has %zu",
                       want > r->size ? "truncated" : "size mismatch", (unsigned long long)want, r->size);
    if (wf_get_u32(h + r->size - 4) != 0 || wf_get_u32(h + r->size - 8) != rt_crc32c(h, r->size - 8, 1))
        return md_fail(r, "checksum mismatch (file corrupted)");
    uint32_t flags = wf_get_u32(h + 12), count = wf_get_u32(h + 24), reserved = wf_get_u32(h + 28);
    if (flags != 0) return md_fail(r, "unknown flags 0x%x", flags);
    if (count != WF_SEC_COUNT || reserved != 0)
        return md_fail(r, "%u sections (version %d has %d), reserved %u", count, WF_VERSION, WF_SEC_COUNT, reserved);
    size_t prev_end = WF_HEADER_BYTES + WF_SECTION_BYTES * WF_SEC_COUNT, body_end = r->size - WF_CHECKSUM_BYTES;
    for (int k = 1; k <= WF_SEC_COUNT; k++) {
        const uint8_t *e = h + WF_HEADER_BYTES + WF_SECTION_BYTES * (size_t)(k - 1);
        uint32_t kind = wf_get_u32(e), res = wf_get_u32(e + 4);
        uint64_t off = wf_get_u64(e + 8), len = wf_get_u64(e + 16);
        if (kind != (uint32_t)k || res != 0)
            return md_fail(r, "section table entry %d: kind %u (expected %d), reserved %u", k - 1, kind, k, res);
        if (off % WF_ALIGN != 0 || off < prev_end || off > body_end || len > body_end - off)
            return md_fail(r, "%s section at %llu (+%llu bytes) is misplaced (file %zu bytes)", sec_name[k],
                           (unsigned long long)off, (unsigned long long)len, r->size);
        r->off[k] = (size_t)off;
        r->len[k] = (size_t)len;
        prev_end = (size_t)(off + len);
    }
    if (r->len[WF_SEC_STRINGS] == 0 || h[r->off[WF_SEC_STRINGS] + r->len[WF_SEC_STRINGS] - 1] != 0)
        return md_fail(r, "STRINGS section does not end with a NUL");
    return RT_OK;
}

static int meta_read(MdReader *r) {
    MdCur c;
    int n;
    if (cur_at(r, WF_SEC_META, 0, &c) != RT_OK || rd_count(&c, 8, "metadata pair", &n) != RT_OK) return RT_ERR;
    RtModel *m = r->m;
    m->meta_key = md_array(m, (size_t)n, sizeof(char *));
    m->meta_val = md_array(m, (size_t)n, sizeof(char *));
    if (!m->meta_key || !m->meta_val) return md_oom(r);
    for (int i = 0; i < n; i++)
        if (rd_str(&c, 0, "metadata key", &m->meta_key[i]) != RT_OK ||
            rd_str(&c, 0, "metadata value", &m->meta_val[i]) != RT_OK)
            return RT_ERR;
    m->n_meta = n;
    return RT_OK;
}

/* Validates m->img and builds every table; on failure err says why (m is closed by the caller). */
static int model_parse(RtModel *m, RtError *err) {
    MdReader r;
    memset(&r, 0, sizeof r);
    r.m = m;
    r.img = m->img;
    r.size = m->size;
    r.err = err;
    int st = header_check(&r);
    if (st == RT_OK) st = meta_read(&r);
    if (st == RT_OK) st = graph_table_read(&r);
    if (st == RT_OK) st = graph_read(&r, 0, 0);
    for (int gi = 0; st == RT_OK && gi < m->n_graphs; gi++)
        if (!r.graph_used[gi]) st = md_fail(&r, "GRAPH section: graph %d is not used by any node", gi);
    if (st == RT_OK) st = plan_read(&r);
    return st;
}

/* An empty model whose messages name `name`; NULL when even that fails. */
static RtModel *model_new(const char *name, const RtAllocator *a, RtError *err) {
    if (!a) a = rt_allocator_default();
    RtModel *m = a->alloc(a->user, sizeof *m);
    if (!m) {
        rt_error_set(err, "%s: out of memory", name);
        return NULL;
    }
    memset(m, 0, sizeof *m);
    m->a = *a;
    size_t n = strlen(name) + 1;
    char *copy = md_alloc(m, n);
    if (!copy) {
        rt_error_set(err, "%s: out of memory", name);
        rt_model_close(m);
        return NULL;
    }
    memcpy(copy, name, n);
    m->name = copy;
    return m;
}

static RtModel *model_finish(RtModel *m, RtError *err) {
    if (model_parse(m, err) == RT_OK) return m;
    rt_model_close(m);
    return NULL;
}

/* The whole file into a buffer from the allocator (where mmap is unavailable or failed). */
static int file_read_all(RtModel *m, FILE *f, size_t size, RtError *err) {
    m->copy = m->a.alloc(m->a.user, size ? size : 1);
    if (!m->copy) return rt_error_set(err, "%s: out of memory (%zu bytes)", m->name, size);
    size_t got = size ? fread(m->copy, 1, size, f) : 0;
    if (got != size) return rt_error_set(err, "%s: read error (%zu of %zu bytes)", m->name, got, size);
    m->img = m->copy;
    m->size = size;
    return RT_OK;
}

#if MD_HAVE_MMAP
/* Maps or reads path into m. */
static int file_load(RtModel *m, const char *path, int flags, RtError *err) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return rt_error_set(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return rt_error_set(err, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > (uint64_t)SIZE_MAX / 2) {
        close(fd);
        return rt_error_set(err, "%s: file too large (%lld bytes)", path, (long long)st.st_size);
    }
    size_t size = (size_t)st.st_size;
    if (size > 0 && !(flags & RT_MODEL_NO_MMAP)) {
        void *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) {
            close(fd);
            m->map = p;
            m->map_len = size;
            m->img = p;
            m->size = size;
            return RT_OK;
        }
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return rt_error_set(err, "%s: cannot open: %s", path, strerror(errno));
    }
    int r = file_read_all(m, f, size, err);
    fclose(f);
    return r;
}
#else
static int file_load(RtModel *m, const char *path, int flags, RtError *err) {
    (void)flags;
    FILE *f = fopen(path, "rb");
    if (!f) return rt_error_set(err, "%s: cannot open", path);
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0) n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return rt_error_set(err, "%s: cannot tell the file's size", path);
    }
    int r = file_read_all(m, f, (size_t)n, err);
    fclose(f);
    return r;
}
#endif

RtModel *rt_model_open_file_flags(const char *path, const RtAllocator *a, int flags, RtError *err) {
    err->msg[0] = '\0';
    RtModel *m = model_new(path, a, err);
    if (!m) return NULL;
    if (file_load(m, path, flags, err) != RT_OK) {
        rt_model_close(m);
        return NULL;
    }
    return model_finish(m, err);
}

RtModel *rt_model_open_file(const char *path, const RtAllocator *a, RtError *err) {
    return rt_model_open_file_flags(path, a, 0, err);
}

RtModel *rt_model_open_memory(const void *data, size_t size, const char *name, const RtAllocator *a,
                              RtError *err) {
    err->msg[0] = '\0';
    RtModel *m = model_new(name ? name : "<memory>", a, err);
    if (!m) return NULL;
    if (size > 0 && !data) {
        rt_error_set(err, "%s: no data", m->name);
        rt_model_close(m);
        return NULL;
    }
    if ((uintptr_t)data % WF_ALIGN == 0) {
        m->img = data;
    } else { /* constants must sit at their 64-byte file alignment in memory too */
        m->copy = m->a.alloc(m->a.user, size ? size : 1);
        if (!m->copy) {
            rt_error_set(err, "%s: out of memory (%zu bytes)", m->name, size);
            rt_model_close(m);
            return NULL;
        }
        if (size) memcpy(m->copy, data, size);
        m->img = m->copy;
    }
    m->size = size;
    return model_finish(m, err);
}

void rt_model_close(RtModel *m) {
    if (!m) return;
#if MD_HAVE_MMAP
    if (m->map) munmap(m->map, m->map_len);
#endif
    if (m->copy) m->a.free(m->a.user, m->copy);
    MdBlock *b = m->blocks;
    while (b) {
        MdBlock *next = b->next;
        m->a.free(m->a.user, b);
        b = next;
    }
    RtAllocator a = m->a;
    a.free(a.user, m);
}

/* ---- queries ---- */

const RtGraph *rt_model_graph(const RtModel *m) { return &m->graphs[0]; }

const RtValueInfo *rt_model_value(const RtModel *m, int v) {
    return (v >= 0 && v < m->graphs[0].n_values) ? &m->infos[0].values[v] : NULL;
}

const RtPlan *rt_model_plan(const RtModel *m) { return m->has_plan ? &m->plan : NULL; }

const char *rt_model_meta(const RtModel *m, const char *key) {
    for (int i = 0; i < m->n_meta; i++)
        if (strcmp(m->meta_key[i], key) == 0) return m->meta_val[i];
    return NULL;
}

int rt_model_graph_count(const RtModel *m) { return m->n_graphs; }

const RtGraph *rt_model_graph_at(const RtModel *m, int gi) {
    return (gi >= 0 && gi < m->n_graphs) ? &m->graphs[gi] : NULL;
}

const RtGraphInfo *rt_model_graph_info(const RtModel *m, const RtGraph *g) {
    for (int gi = 0; gi < m->n_graphs; gi++) /* pointer equality only: no ordering of unrelated pointers */
        if (g == &m->graphs[gi]) return &m->infos[gi];
    return NULL;
}

const void *rt_model_image(const RtModel *m) { return m->img; }
int rt_model_is_mapped(const RtModel *m) { return m->map != NULL; }
uint32_t rt_model_format_version(const RtModel *m) { return wf_get_u32(m->img + 8); }
int64_t rt_model_weight_bytes(const RtModel *m) { return m->weight_bytes; }
int64_t rt_model_image_bytes(const RtModel *m) { return (int64_t)m->size; }
