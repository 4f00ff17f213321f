/*
 * test_emit_text.c — emit-c's TfIdfVectorizer (codegen/emit_ops_text.c) against the runtime's
 * reference kernel (ref/tfidf.c, itself checked against onnxruntime in
 * tests/e2e/test_tfidf.c), bit for bit: the conformance data has TF only, with identity
 * ngram_indexes and no weights; here IDF and TFIDF with weights under a permuted
 * ngram_indexes, lengths 1-3 with skips, int32 and int64 ids, a 1-D input, pool lengths
 * outside [min, max].
 */
#include "emitc_oneop.h"

/* Counts are exact in float and weights are copied: the C equals the runtime's bits. */
static const OneOpCheck TFIDF_EXACT = {.tol = 0, .tol_f64 = 0};

/* The pool: 1-grams 3 5 7, 2-grams (3 5) (5 3) (7 7) (2 9), 3-grams (3 5 7) (5 5 5), written
 * to a permutation of 9 columns (as test_tfidf.c's). */
static const int64_t COUNTS[3] = {0, 3, 11};
static const int64_t POOL[17] = {3, 5, 7, 3, 5, 5, 3, 7, 7, 2, 9, 3, 5, 7, 5, 5, 5};
static const int64_t IDX[9] = {4, 0, 8, 2, 6, 1, 7, 3, 5};
static const float W[9] = {0.5f, 1.25f, 2.0f, 0.75f, 3.0f, 1.5f, 0.25f, 4.0f, 2.5f};
static const int64_t ROWS[30] = {3, 5, 7, 3, 5, 5, 5, 7, 7, 2, 3, 1, 5, 2, 9, 3, 8, 6, 5, 7,
                                 5, 5, 5, 5, 3, -4, 7, 7, 7, 9};

static void tfidf_node(OneOp *o, int x, const char *mode, int64_t min_n, int64_t max_n, int64_t skip, int weighted) {
    RtAttr a[8] = {attr_str(o, "mode", mode),
                   attr_int(o, "min_gram_length", min_n),
                   attr_int(o, "max_gram_length", max_n),
                   attr_int(o, "max_skip_count", skip),
                   attr_ints(o, "ngram_counts", 3, COUNTS),
                   attr_ints(o, "pool_int64s", 17, POOL),
                   attr_ints(o, "ngram_indexes", 9, IDX),
                   attr_floats(o, "weights", 9, W)};
    op_node_attrs(o, RT_OP_TFIDF_VECTORIZER, 1, &x, a, weighted ? 8 : 7);
}

Test(emit_text, tfidf_modes_weights_skips_equal_the_runtime) {
    OneOp *o = op_new();
    int64_t d2[2] = {3, 10}, d1[1] = {10};
    int32_t r32[30];
    for (int i = 0; i < 30; i++) r32[i] = (int32_t)ROWS[i];
    int x = op_input_data(o, "x", RT_I64, 2, d2, ROWS);
    int x32 = op_input_data(o, "x32", RT_I32, 2, d2, r32);
    int v = op_input_data(o, "v", RT_I64, 1, d1, ROWS + 20);
    tfidf_node(o, x, "TFIDF", 1, 3, 2, 1);
    tfidf_node(o, x, "IDF", 2, 3, 1, 1);
    tfidf_node(o, x, "IDF", 1, 2, 0, 0);
    tfidf_node(o, x, "TF", 1, 1, 3, 1);
    tfidf_node(o, v, "TFIDF", 2, 2, 4, 0);
    tfidf_node(o, x32, "TFIDF", 3, 3, 2, 1);
    op_check_opts(o, "TfIdfVectorizer", &TFIDF_EXACT);
}
