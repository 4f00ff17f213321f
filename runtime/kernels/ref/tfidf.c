/*
 * tfidf.c — TfIdfVectorizer (opset 9): counts of a pool of integer n-grams in each row of
 * X, weighted.
 *
 * Shapes: X [C] or [N, C] (int32 or int64 token ids) -> Y float32 [O] or [N, O], O =
 * max(ngram_indexes) + 1.
 * The pool (pool_int64s) holds the 1-grams, then the 2-grams, ...: ngram_counts[k] is where
 * the (k+1)-grams start, each (k+1)-gram is k+1 consecutive ids. The i-th n-gram of the
 * pool (numbered across all lengths) is counted in Y[ngram_indexes[i]]. In a row, for each
 * length n in [min_gram_length, max_gram_length] and each skip s in [0, max_skip_count], the
 * n-gram starting at position p takes the ids at p, p + (s+1), ..., p + (n-1)(s+1). A 1-gram
 * has no gaps, so it is counted once per position, not once per skip. An n-gram that is not
 * in the pool counts nothing.
 * mode: TF   Y = count;
 *       IDF  Y = w if count > 0 else 0 (1 without weights);
 *       TFIDF Y = count * w (count without weights);
 * where w of column ngram_indexes[i] is weights[i]: the weight belongs to the i-th n-gram of
 * the pool (the spec's words; onnxruntime 1.30 agrees, older releases read weights[column]). Two pool n-grams written to one
 * column with different weights are refused (which weight would apply is not defined).
 * Pool n-grams of lengths outside [min, max] are never counted. TF ignores weights.
 * String pools (pool_strings) need string tensors, which wafer does not have: refused.
 * Errors as onnxruntime checks them: a duplicate n-gram in the pool, bounds of ngram_counts,
 * a length's items not whole n-grams, negative output indexes, weights of another length
 * than ngram_indexes; and (where onnxruntime would read out of bounds) fewer ngram_indexes
 * than pool n-grams.
 *
 * The pool goes into an open-addressing hash table (ids and length hashed, then compared),
 * built once per node when the executor keeps node state, else per call.
 */
#include <stdlib.h>
#include <string.h>

#include "../kernel.h"

/* The pool as a lookup table. One block: this header, then slots [n_slots] (pool n-gram
 * number + 1, 0 = empty), then the n-grams' start offsets and lengths [n_grams]. */
typedef struct {
    uint64_t tag;       /* TFIDF_TAG: a state block's first word (never the nest magic) */
    int64_t n_grams;    /* n-grams of the pool, all lengths */
    int64_t n_slots;    /* a power of two >= 2 n_grams */
    int64_t *slot;      /* [n_slots] */
    int64_t *start;     /* [n_grams] offset in pool_int64s */
    int64_t *len;       /* [n_grams] */
} TfidfPool;

#define TFIDF_TAG 0x46444946544b4157ull /* "WAKTFIDF" */

typedef struct {
    int mode; /* 0 TF, 1 IDF, 2 TFIDF */
    int64_t min_n, max_n, max_skip, out_cols;
    const int64_t *counts, *indexes, *pool;
    int n_counts, n_indexes, n_pool;
    const float *weights;
    int n_weights;
} TfidfAttrs;

static uint64_t ngram_hash(const int64_t *ids, int64_t n, int64_t step) {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
    for (int64_t k = 0; k < n; k++) {
        h ^= (uint64_t)ids[k * step];
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 33;
    }
    return h;
}

/* The pool n-gram number equal to ids[0], ids[step], ... (n of them), or -1. */
static int64_t pool_find(const TfidfPool *t, const int64_t *pool, const int64_t *ids, int64_t n, int64_t step) {
    uint64_t mask = (uint64_t)t->n_slots - 1;
    for (uint64_t h = ngram_hash(ids, n, step) & mask;; h = (h + 1) & mask) {
        int64_t s = t->slot[h];
        if (s == 0) return -1;
        int64_t g = s - 1;
        if (t->len[g] != n) continue;
        const int64_t *p = pool + t->start[g];
        int64_t k = 0;
        while (k < n && p[k] == ids[k * step]) k++;
        if (k == n) return g;
    }
}

static int read_attrs(RtKernelCtx *c, const RtNode *n, TfidfAttrs *a) {
    memset(a, 0, sizeof *a);
    if (rt_attr(n, "pool_strings"))
        return rt_fail(c, "pool_strings: string n-grams need string tensors, which wafer does not support "
                          "(integer ids with pool_int64s are)");
    const char *mode = rt_attr_str(n, "mode", NULL);
    if (!mode) return rt_fail(c, "attribute 'mode' (TF, IDF or TFIDF) is required");
    if (!strcmp(mode, "TF")) a->mode = 0;
    else if (!strcmp(mode, "IDF")) a->mode = 1;
    else if (!strcmp(mode, "TFIDF")) a->mode = 2;
    else return rt_fail(c, "mode '%s' is not TF, IDF or TFIDF", mode);
    const char *need[3] = {"min_gram_length", "max_gram_length", "max_skip_count"};
    for (int i = 0; i < 3; i++)
        if (!rt_attr(n, need[i])) return rt_fail(c, "attribute '%s' is required", need[i]);
    a->min_n = rt_attr_int(n, "min_gram_length", 0);
    a->max_n = rt_attr_int(n, "max_gram_length", 0);
    a->max_skip = rt_attr_int(n, "max_skip_count", 0);
    if (a->min_n < 1) return rt_fail(c, "min_gram_length %lld must be >= 1", (long long)a->min_n);
    if (a->max_n < a->min_n)
        return rt_fail(c, "max_gram_length %lld is below min_gram_length %lld", (long long)a->max_n, (long long)a->min_n);
    if (a->max_skip < 0) return rt_fail(c, "max_skip_count %lld must be >= 0", (long long)a->max_skip);
    a->n_counts = rt_attr_ints(n, "ngram_counts", &a->counts);
    a->n_indexes = rt_attr_ints(n, "ngram_indexes", &a->indexes);
    a->n_pool = rt_attr_ints(n, "pool_int64s", &a->pool);
    if (a->n_counts <= 0) return rt_fail(c, "attribute 'ngram_counts' (non-empty ints) is required");
    if (a->n_indexes <= 0) return rt_fail(c, "attribute 'ngram_indexes' (non-empty ints) is required");
    if (a->n_pool <= 0) return rt_fail(c, "attribute 'pool_int64s' (non-empty ints) is required");
    if (a->max_n > a->n_counts)
        return rt_fail(c, "max_gram_length %lld exceeds the %d lengths ngram_counts gives", (long long)a->max_n,
                       a->n_counts);
    for (int i = 0; i < a->n_indexes; i++)
        if (a->indexes[i] < 0) return rt_fail(c, "ngram_indexes[%d] = %lld is negative", i, (long long)a->indexes[i]);
        else if (a->indexes[i] + 1 > a->out_cols) a->out_cols = a->indexes[i] + 1;
    const RtAttr *w = rt_attr(n, "weights");
    if (w) {
        if (w->type != RT_ATTR_FLOATS) return rt_fail(c, "attribute 'weights' must be floats");
        a->weights = w->floats, a->n_weights = w->n;
        if (a->n_weights != a->n_indexes)
            return rt_fail(c, "weights has %d values, ngram_indexes %d: they must be equal", a->n_weights,
                           a->n_indexes);
    }
    return RT_OK;
}

/* Builds the lookup table of the pool's n-grams of lengths min_n..max_n into one block
 * from alloc (NULL + message on failure). */
static TfidfPool *pool_build(RtKernelCtx *c, const TfidfAttrs *a, const RtAllocator *alloc) {
    int64_t n_grams = 0;
    for (int k = 0; k < a->n_counts; k++) {
        int64_t len = k + 1, s = a->counts[k], e = k + 1 < a->n_counts ? a->counts[k + 1] : a->n_pool;
        if (s < 0 || e < s || e > a->n_pool) {
            rt_fail(c, "ngram_counts: the %lld-grams span [%lld, %lld), outside pool_int64s' %d items", (long long)len,
                    (long long)s, (long long)e, a->n_pool);
            return NULL;
        }
        if ((e - s) % len) {
            rt_fail(c, "ngram_counts: the %lld items of %lld-grams are not whole %lld-grams", (long long)(e - s),
                    (long long)len, (long long)len);
            return NULL;
        }
        n_grams += (e - s) / len;
    }
    if (n_grams > a->n_indexes) {
        rt_fail(c, "the pool holds %lld n-grams but ngram_indexes only %d output positions", (long long)n_grams,
                a->n_indexes);
        return NULL;
    }
    int64_t n_slots = 16;
    while (n_slots < 2 * n_grams) n_slots *= 2;
    size_t bytes = sizeof(TfidfPool) + (size_t)(n_slots + 2 * n_grams) * sizeof(int64_t);
    TfidfPool *t = alloc->alloc(alloc->user, bytes);
    if (!t) {
        rt_fail(c, "out of memory for the n-gram table (%zu bytes)", bytes);
        return NULL;
    }
    memset(t, 0, bytes);
    t->tag = TFIDF_TAG, t->n_grams = n_grams, t->n_slots = n_slots;
    t->slot = (int64_t *)(t + 1), t->start = t->slot + n_slots, t->len = t->start + n_grams;
    int64_t g = 0;
    for (int k = 0; k < a->n_counts; k++) {
        int64_t len = k + 1, s = a->counts[k], e = k + 1 < a->n_counts ? a->counts[k + 1] : a->n_pool;
        for (int64_t p = s; p < e; p += len, g++) {
            t->start[g] = p, t->len[g] = len;
            if (len < a->min_n || len > a->max_n) continue; /* never looked up */
            if (pool_find(t, a->pool, a->pool + p, len, 1) >= 0) {
                rt_fail(c, "pool_int64s holds the %lld-gram starting at item %lld twice", (long long)len, (long long)p);
                alloc->free(alloc->user, t);
                return NULL;
            }
            uint64_t mask = (uint64_t)n_slots - 1, h = ngram_hash(a->pool + p, len, 1) & mask;
            while (t->slot[h]) h = (h + 1) & mask;
            t->slot[h] = g + 1;
        }
    }
    return t;
}

/* Counts one row's n-grams into cnt[out_cols]. ids is the row as int64. */
static void count_row(const TfidfAttrs *a, const TfidfPool *t, const int64_t *ids, int64_t C, uint32_t *cnt) {
    if (a->min_n == 1)
        for (int64_t p = 0; p < C; p++) {
            int64_t g = pool_find(t, a->pool, ids + p, 1, 1);
            if (g >= 0) cnt[a->indexes[g]]++;
        }
    int64_t n_lo = a->min_n > 2 ? a->min_n : 2;
    for (int64_t step = 1; step <= a->max_skip + 1; step++)
        for (int64_t p = 0; p < C; p++)
            for (int64_t n = n_lo; n <= a->max_n && p + (n - 1) * step < C; n++) {
                int64_t g = pool_find(t, a->pool, ids + p, n, step);
                if (g >= 0) cnt[a->indexes[g]]++;
            }
}

static int k_tfidf(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *x = rt_in(n, in, 0);
    if (!x) return rt_fail(c, "input 'X' is missing");
    if (x->dtype != RT_I32 && x->dtype != RT_I64)
        return rt_fail(c, "input X has dtype %s; TfIdfVectorizer takes int32 or int64 ids (string tensors are not "
                          "supported)", rt_dtype_name(x->dtype));
    if (x->rank != 1 && x->rank != 2)
        return rt_fail(c, "input X has rank %d; it must be [C] or [N, C]", x->rank);
    TfidfAttrs a;
    RT_TRY(read_attrs(c, n, &a));
    int64_t rows = x->rank == 2 ? x->dims[0] : 1, C = x->dims[x->rank - 1];
    int64_t dims[2] = {rows, a.out_cols};
    /* the pool and the weights are checked in shape-only runs too, so a bad node is refused
     * when a model is loaded or compiled (emit-c), not at its first run */
    const RtAllocator *alloc = c->node_state ? c->state_alloc : c->alloc;
    TfidfPool *t = c->node_state ? *c->node_state : NULL;
    if (t && t->tag != TFIDF_TAG) return rt_fail(c, "internal: the node's state is not an n-gram table");
    if (!t) {
        if (!(t = pool_build(c, &a, alloc))) return RT_ERR;
        if (c->node_state) *c->node_state = t;
    }
    int rc = RT_ERR;
    uint32_t *cnt = rt_scratch(c, (size_t)(a.out_cols > 0 ? a.out_cols : 1) * sizeof *cnt);
    int64_t *ids = rt_scratch(c, (size_t)(C > 0 ? C : 1) * sizeof *ids);
    float *col_w = rt_scratch(c, (size_t)(a.out_cols > 0 ? a.out_cols : 1) * sizeof *col_w);
    if (!cnt || !ids || !col_w) goto done;
    /* weights by column: each pool n-gram's weight goes to its column */
    for (int64_t j = 0; j < a.out_cols; j++) col_w[j] = 1.0f;
    memset(cnt, 0, (size_t)a.out_cols * sizeof *cnt); /* here: 1 = column has a weight */
    for (int i = 0; a.weights && i < a.n_indexes; i++) {
        int64_t j = a.indexes[i];
        if (cnt[j] && col_w[j] != a.weights[i] && a.mode != 0) {
            rt_fail(c, "ngram_indexes writes two n-grams to column %lld with different weights (%g and %g)",
                    (long long)j, (double)col_w[j], (double)a.weights[i]);
            goto done;
        }
        col_w[j] = a.weights[i], cnt[j] = 1;
    }
    if ((rc = rt_out_alloc(c, out[0], RT_F32, x->rank, x->rank == 2 ? dims : dims + 1)) != RT_OK) goto done;
    rc = RT_ERR;
    float *y = out[0]->data;
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t i = 0; i < C; i++) ids[i] = rt_get_i64(x, r * C + i);
        memset(cnt, 0, (size_t)a.out_cols * sizeof *cnt);
        count_row(&a, t, ids, C, cnt);
        float *yr = y + r * a.out_cols;
        for (int64_t j = 0; j < a.out_cols; j++) {
            yr[j] = a.mode == 0 ? (float)cnt[j] : a.mode == 1 ? (cnt[j] ? col_w[j] : 0.0f) : (float)cnt[j] * col_w[j];
        }
    }
    rc = RT_OK;
done:
    if (cnt) rt_scratch_free(c, cnt);
    if (ids) rt_scratch_free(c, ids);
    if (col_w) rt_scratch_free(c, col_w);
    if (!c->node_state) alloc->free(alloc->user, t);
    return rc;
}

const RtKernelEntry rt_kernels_tfidf[] = {
    {RT_OP_TFIDF_VECTORIZER, k_tfidf},
    {-1, 0},
};
