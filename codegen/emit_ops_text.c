/*
 * emit_ops_text.c — emit-c's text-feature ops: TfIdfVectorizer on integer ids
 * (runtime/kernels/ref/tfidf.c is the spec; the attribute and pool checks happen there, in
 * the shape pass emit-c runs before this, so a bad node never reaches this file).
 *
 * The pool becomes constant tables made here, no hash and no malloc in the C:
 *   n<k>_pool[]    the live n-grams' ids (lengths min..max), by length, each length's
 *                  n-grams sorted by their ids; n-gram g of length n at n<k>_base[n] +
 *                  (g - n<k>_first[n]) * n
 *   n<k>_first[]   [max + 2]: the n-grams of length n are g in [first[n], first[n + 1])
 *   n<k>_col[g]    g's output column (ngram_indexes of its pool number)
 *   n<k>_w[]       the column weights (1 where no weight), for IDF / TFIDF with weights
 * and n<k>_find(x, n, step) binary-searches x[0], x[step], ... among the length-n n-grams.
 * The C walks each row in the runtime's order (1-grams once per position, then for each skip
 * the longer n-grams at every position) and counts in the float output: a count below 2^24 is
 * exact in float, and count * weight is the runtime's (float)count * weight, so the outputs
 * are the runtime's bit for bit. Rows long enough to reach 2^24 counts are refused.
 */
#include "emit_ops_common.h"

/* Orders pool n-grams (their start offsets, all of length len) by their ids. */
static int ngram_cmp(const int64_t *pool, int64_t a, int64_t b, int64_t len) {
    for (int64_t k = 0; k < len; k++)
        if (pool[a + k] != pool[b + k]) return pool[a + k] < pool[b + k] ? -1 : 1;
    return 0;
}

/* Sorts idx[cnt] (pool numbers) by their n-grams' ids (start[g], all of length len): a
 * shell sort, as the pool of one node is small and qsort has no context pointer. */
static void sort_ngrams(int64_t *idx, int64_t cnt, const int64_t *start, const int64_t *pool, int64_t len) {
    for (int64_t gap = cnt / 2; gap > 0; gap /= 2)
        for (int64_t i = gap; i < cnt; i++) {
            int64_t v = idx[i], j = i;
            for (; j >= gap && ngram_cmp(pool, start[idx[j - gap]], start[v], len) > 0; j -= gap) idx[j] = idx[j - gap];
            idx[j] = v;
        }
}

static void decl_i64s(EcCtx *c, int k, const char *what, const int64_t *v, int64_t n) {
    text_buf_printf(&c->decl, "static const int64_t n%d_%s[%lld] = {", k, what, (long long)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++)
        text_buf_printf(&c->decl, "%s%lldLL%s", i % 8 == 0 ? "\n    " : "", (long long)v[i], i + 1 < n ? ", " : "");
    text_buf_printf(&c->decl, "%s\n};\n", n > 0 ? "" : "0");
}

static int e_tfidf(EcCtx *c, int k, const RtNode *n) {
    const RtTensor *x = vin(c, n, 0), *y = yval(c, n);
    if (!x || (x->dtype != RT_I32 && x->dtype != RT_I64) || (x->rank != 1 && x->rank != 2))
        return ec_fail(c, k, RT_ERR, "input X must be int32 or int64 ids, [C] or [N, C]");
    const char *mode = rt_attr_str(n, "mode", "TF");
    int m = !strcmp(mode, "IDF") ? 1 : !strcmp(mode, "TFIDF") ? 2 : 0;
    int64_t min_n = rt_attr_int(n, "min_gram_length", 1), max_n = rt_attr_int(n, "max_gram_length", 1);
    int64_t skip = rt_attr_int(n, "max_skip_count", 0);
    const int64_t *counts, *indexes, *pool;
    int n_counts = rt_attr_ints(n, "ngram_counts", &counts), n_idx = rt_attr_ints(n, "ngram_indexes", &indexes);
    int n_pool = rt_attr_ints(n, "pool_int64s", &pool);
    const RtAttr *wa = rt_attr(n, "weights");
    int64_t rows = x->rank == 2 ? x->dims[0] : 1, C = x->dims[x->rank - 1], O = y->dims[y->rank - 1];
    if ((double)C * (double)(skip + 1) * (double)max_n >= 16777216.0)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "rows of %lld ids with skips up to %lld could count past 2^24, "
                                                 "where the C's float counts stop being exact", (long long)C,
                       (long long)skip);
    if (C > INT32_MAX / (skip + 1) || rows * O > INT32_MAX)
        return ec_fail(c, k, RT_ERR_UNSUPPORTED, "the tensors are too large for the C's 32-bit indexes");

    /* every pool n-gram's start and length (pool numbers as the runtime counts them) */
    int64_t n_grams = 0;
    for (int i = 0; i < n_counts; i++)
        n_grams += ((i + 1 < n_counts ? counts[i + 1] : n_pool) - counts[i]) / (i + 1);
    int64_t *start = calloc((size_t)n_grams + 1, sizeof *start), *len = calloc((size_t)n_grams + 1, sizeof *len);
    int64_t *order = calloc((size_t)n_grams + 1, sizeof *order), *items = calloc((size_t)n_pool + 1, sizeof *items);
    int64_t *col = calloc((size_t)n_grams + 1, sizeof *col), *first = calloc((size_t)max_n + 2, sizeof *first);
    int64_t *base = calloc((size_t)max_n + 2, sizeof *base);
    float *w = calloc((size_t)O + 1, sizeof *w);
    int rc = RT_ERR_NOMEM;
    if (!start || !len || !order || !items || !col || !first || !base || !w) {
        rc = ec_fail(c, k, RT_ERR_NOMEM, "out of memory for the n-gram tables");
        goto done;
    }
    for (int i = 0, g = 0; i < n_counts; i++)
        for (int64_t p = counts[i]; p < (i + 1 < n_counts ? counts[i + 1] : n_pool); p += i + 1, g++)
            start[g] = p, len[g] = i + 1;
    int64_t live = 0, n_items = 0;
    for (int64_t L = 1; L <= max_n; L++) { /* lengths below min_n keep empty ranges */
        first[L] = live, base[L] = n_items;
        int64_t from = live;
        for (int64_t g = 0; L >= min_n && g < n_grams; g++)
            if (len[g] == L) order[live++] = g;
        sort_ngrams(order + from, live - from, start, pool, L);
        for (int64_t i = from; i < live; i++) {
            memcpy(items + n_items, pool + start[order[i]], (size_t)L * sizeof *items);
            n_items += L;
            col[i] = indexes[order[i]];
        }
    }
    first[max_n + 1] = live;
    for (int64_t j = 0; j < O; j++) w[j] = 1.0f;
    for (int i = 0; wa && m != 0 && i < n_idx; i++) w[indexes[i]] = wa->floats[i];

    const char *xt = ec_ctype(x->dtype);
    decl_i64s(c, k, "pool", items, n_items);
    decl_i64s(c, k, "first", first, max_n + 2);
    decl_i64s(c, k, "base", base, max_n + 2);
    decl_i64s(c, k, "col", col, live);
    int weighted = wa && m != 0;
    if (weighted) {
        text_buf_printf(&c->decl, "static const float n%d_w[%lld] = {", k, (long long)O);
        for (int64_t j = 0; j < O; j++) {
            char lit[48];
            ec_float_lit(lit, sizeof lit, w[j]);
            text_buf_printf(&c->decl, "%s%s%s", j % 6 == 0 ? "\n    " : "", lit, j + 1 < O ? ", " : "");
        }
        text_buf_printf(&c->decl, "\n};\n");
    }
    text_buf_printf(&c->decl,
                    "/* the length-n n-gram equal to x[0], x[step], ..., or -1 */\n"
                    "static int32_t n%d_find(const %s *x, int32_t n, int32_t step) {\n"
                    "    int32_t lo = (int32_t)n%d_first[n], hi = (int32_t)n%d_first[n + 1];\n"
                    "    while (lo < hi) {\n"
                    "        int32_t mid = lo + (hi - lo) / 2, i, d = 0;\n"
                    "        const int64_t *p = n%d_pool + n%d_base[n] + (int64_t)(mid - n%d_first[n]) * n;\n"
                    "        for (i = 0; i < n && !d; i++) {\n"
                    "            int64_t a = (int64_t)x[i * step];\n"
                    "            d = a < p[i] ? -1 : a > p[i] ? 1 : 0;\n"
                    "        }\n"
                    "        if (!d) return mid;\n"
                    "        if (d < 0) hi = mid; else lo = mid + 1;\n"
                    "    }\n"
                    "    return -1;\n}\n",
                    k, xt, k, k, k, k, k);
    char px[96], py[96];
    text_buf_printf(&c->body,
                    "    {\n        const %s *x = %s;\n        float *y = %s;\n"
                    "        int32_t r, p, n, step, j, g;\n"
                    "        for (r = 0; r < %lld; r++) {\n"
                    "            const %s *xr = x + (int64_t)r * %lld;\n"
                    "            float *yr = y + (int64_t)r * %lld;\n"
                    "            for (j = 0; j < %lld; j++) yr[j] = 0.0f;\n",
                    xt, P(c, n, 0, px), Y(c, n, py), (long long)rows, xt, (long long)C, (long long)O, (long long)O);
    if (min_n == 1)
        text_buf_printf(&c->body,
                        "            for (p = 0; p < %lld; p++) /* 1-grams: once per position */\n"
                        "                if ((g = n%d_find(xr + p, 1, 1)) >= 0) yr[n%d_col[g]] += 1.0f;\n",
                        (long long)C, k, k);
    int64_t n_lo = min_n > 2 ? min_n : 2;
    if (n_lo <= max_n)
        text_buf_printf(&c->body,
                        "            for (step = 1; step <= %lld; step++)\n"
                        "                for (p = 0; p < %lld; p++)\n"
                        "                    for (n = %lld; n <= %lld && p + (n - 1) * step < %lld; n++)\n"
                        "                        if ((g = n%d_find(xr + p, n, step)) >= 0) yr[n%d_col[g]] += 1.0f;\n",
                        (long long)(skip + 1), (long long)C, (long long)n_lo, (long long)max_n, (long long)C, k, k);
    if (m == 1)
        text_buf_printf(&c->body, "            for (j = 0; j < %lld; j++) yr[j] = yr[j] > 0.0f ? %s : 0.0f;\n",
                        (long long)O, weighted ? (snprintf(px, sizeof px, "n%d_w[j]", k), px) : "1.0f");
    else if (m == 2 && weighted)
        text_buf_printf(&c->body, "            for (j = 0; j < %lld; j++) yr[j] *= n%d_w[j];\n", (long long)O, k);
    text_buf_printf(&c->body, "        }\n        (void)n; (void)step; (void)p; (void)g;\n    }\n");
    rc = RT_OK;
done:
    free(start), free(len), free(order), free(items), free(col), free(first), free(base), free(w);
    return rc;
}

const EcOpEntry ec_ops_text[] = {
    {RT_OP_TFIDF_VECTORIZER, e_tfidf},
    {0, NULL},
};
