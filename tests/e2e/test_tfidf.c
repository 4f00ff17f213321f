/*
 * test_tfidf.c — TfIdfVectorizer (ref/tfidf.c) against onnxruntime-node on what the ONNX
 * conformance data (TF mode only, identity ngram_indexes, no weights) leaves out: IDF and
 * TFIDF with weights under a permuted ngram_indexes (weights[i] belongs to the pool's i-th
 * n-gram, wherever ngram_indexes writes it), int64 and int32 ids, 1-D and 2-D
 * input, lengths 1-3 with skips, pool lengths outside [min, max] ignored, an empty row. And
 * the refusals by name with exit 2. Skips the comparisons where onnxruntime-node is missing.
 */
#include "../frontend/onnx_proto_build.h"
#include "../ort_compare.h"

TestSuite(tfidf, .fini = pb_release_all);

/* Counts are small integers and weights are read, not computed: exact. */
static const OrtcTol EXACT = {0, 0, 0};

typedef struct {
    const char *mode;
    int64_t min_n, max_n, skip;
    int n_counts;
    const int64_t *counts;
    int n_pool;
    const int64_t *pool;
    int n_idx;
    const int64_t *idx;
    int n_w; /* 0 = no weights attribute */
    const float *w;
} TfidfSpec;

static Onnx__NodeProto *tfidf_node(Onnx__GraphProto *g, const char *name, const char *in, const char *out,
                                   const TfidfSpec *s) {
    Onnx__NodeProto *n = pb_add_node(g, pb_node("TfIdfVectorizer", name, in, out));
    pb_attr_str(n, "mode", s->mode);
    pb_attr_int(n, "min_gram_length", s->min_n);
    pb_attr_int(n, "max_gram_length", s->max_n);
    pb_attr_int(n, "max_skip_count", s->skip);
    pb_attr_ints(n, "ngram_counts", (size_t)s->n_counts, s->counts);
    pb_attr_ints(n, "pool_int64s", (size_t)s->n_pool, s->pool);
    pb_attr_ints(n, "ngram_indexes", (size_t)s->n_idx, s->idx);
    if (s->n_w) pb_attr_floats(n, "weights", (size_t)s->n_w, s->w);
    return n;
}

/* The pool: 1-grams 3 5 7, 2-grams (3 5) (5 3) (7 7) (2 9), 3-grams (3 5 7) (5 5 5); 9
 * n-grams written to a permutation of the 9 output columns. */
static const int64_t COUNTS[3] = {0, 3, 11};
static const int64_t POOL[17] = {3, 5, 7, 3, 5, 5, 3, 7, 7, 2, 9, 3, 5, 7, 5, 5, 5};
static const int64_t IDX[9] = {4, 0, 8, 2, 6, 1, 7, 3, 5};
static const float W[9] = {0.5f, 1.25f, 2.0f, 0.75f, 3.0f, 1.5f, 0.25f, 4.0f, 2.5f};

/* Rows with repeats, skipped matches (3 x 5 at skip 1, 3 x x 5 at skip 2), runs of 5 and 7
 * (overlapping (5 5 5) and (7 7)), ids not in the pool, and a negative id. */
static const int64_t ROWS[3][10] = {{3, 5, 7, 3, 5, 5, 5, 7, 7, 2},
                                    {3, 1, 5, 2, 9, 3, 8, 6, 5, 7},
                                    {5, 5, 5, 5, 3, -4, 7, 7, 7, 9}};

Test(tfidf, modes_weights_and_skips_agree_with_onnxruntime) {
    TfidfSpec s[5] = {
        {"TFIDF", 1, 3, 2, 3, COUNTS, 17, POOL, 9, IDX, 9, W}, /* every length, skips 0-2 */
        {"IDF", 2, 3, 1, 3, COUNTS, 17, POOL, 9, IDX, 9, W},   /* 1-grams not counted */
        {"IDF", 1, 2, 0, 3, COUNTS, 17, POOL, 9, IDX, 0, NULL}, /* 0/1 without weights */
        {"TF", 1, 1, 3, 3, COUNTS, 17, POOL, 9, IDX, 9, W},    /* TF ignores weights */
        {"TFIDF", 2, 2, 4, 3, COUNTS, 17, POOL, 9, IDX, 0, NULL},
    };
    Onnx__GraphProto *g = pb_graph("g");
    char name[8], out[8];
    for (int k = 0; k < 5; k++) {
        snprintf(name, sizeof name, "t%d", k);
        snprintf(out, sizeof out, "y%d", k);
        tfidf_node(g, name, k == 4 ? "v" : "x", out, &s[k]);
        pb_add_output(g, pb_value(out, 1, k == 4 ? "9" : "3,9"));
    }
    tfidf_node(g, "t5", "x32", "y5", &s[0]); /* the same ids as int32 */
    pb_add_output(g, pb_value("y5", 1, "3,9"));
    pb_add_input(g, pb_value("x", RT_I64, "3,10"));
    pb_add_input(g, pb_value("x32", RT_I32, "3,10"));
    pb_add_input(g, pb_value("v", RT_I64, "10"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 8, 13, "test_tfidf", &len);
    int32_t x32[30];
    for (int i = 0; i < 30; i++) x32[i] = (int32_t)ROWS[i / 10][i % 10];
    OrtcInput in[3] = {{"x", {.dtype = RT_I64, .rank = 2, .dims = {3, 10}, .data = (void *)ROWS}},
                       {"x32", {.dtype = RT_I32, .rank = 2, .dims = {3, 10}, .data = x32}},
                       {"v", {.dtype = RT_I64, .rank = 1, .dims = {10}, .data = (void *)ROWS[2]}}};
    if (!ortc_compare("wafer_tfidf", m, len, in, 3, &EXACT)) cr_skip_test("onnxruntime-node is not installed");
}

/* Writes model m and input x into the fresh folder dir (made here) and runs `wafer run` on
 * them into dir/o; returns its exit status, its output in log. */
static int wafer_run_on(const uint8_t *m, size_t len, const RtTensor *x, char *dir, size_t dir_len, char *log,
                        size_t log_len) {
    char path[300], xin[300];
    cr_assert_eq(tu_tmpdir_make(dir, dir_len, "wafer_tfidf"), 0);
    snprintf(path, sizeof path, "%s/m.onnx", dir);
    snprintf(xin, sizeof xin, "%s/x.npy", dir);
    FILE *fp = fopen(path, "wb");
    cr_assert(fp && fwrite(m, 1, len, fp) == len && fclose(fp) == 0);
    RtError err = {{0}};
    cr_assert_eq(npy_write(xin, x, &err), RT_OK, "%s", err.msg);
    return tu_run(log, log_len, WAFER_BIN " run %s --input x=%s --out %s/o", path, xin, dir);
}

/* The first row of case 0 (TFIDF, lengths 1-3, skips 0-2) worked by hand, so the kernel is
 * checked where onnxruntime is missing too. Row 3 5 7 3 5 5 5 7 7 2:
 *   1-grams: 3 x2, 5 x4, 7 x3;
 *   (3 5): skip 0 at 0-1, 3-4; skip 1 at 3-5; skip 2 at 3-6 -> 4. (5 3): skip 1 at 1-3 -> 1.
 *   (7 7): skip 0 at 7-8 (the 7s at 2 and 7 are 5 apart, past skip 2) -> 1. (2 9): 0.
 *   (3 5 7): skip 0 at 0-1-2; skip 1 at 3-5-7; skip 2 at 0-3-6? (3 3 5) no -> 2.
 *   (5 5 5): skip 0 at 4-5-6 -> 1.
 * Pool n-gram i goes to column IDX[i], times W[i]. */
Test(tfidf, first_row_by_hand) {
    static const int64_t count_by_pool[9] = {2, 4, 3, 4, 1, 1, 0, 2, 1};
    TfidfSpec s = {"TFIDF", 1, 3, 2, 3, COUNTS, 17, POOL, 9, IDX, 9, W};
    Onnx__GraphProto *g = pb_graph("g");
    tfidf_node(g, "t", "x", "y", &s);
    pb_add_input(g, pb_value("x", RT_I64, "10"));
    pb_add_output(g, pb_value("y", 1, "9"));
    size_t len;
    uint8_t *m = pb_model_pack(g, 8, 13, "test_tfidf", &len);
    char dir[256], log[8192];
    RtTensor x = {.dtype = RT_I64, .rank = 1, .dims = {10}, .data = (void *)ROWS[0]};
    int rc = wafer_run_on(m, len, &x, dir, sizeof dir, log, sizeof log);
    cr_assert_eq(rc, 0, "wafer run: exit %d:\n%s", rc, log);
    RtError err = {{0}};
    char yp[300];
    snprintf(yp, sizeof yp, "%s/o/y.npy", dir);
    RtTensor y;
    cr_assert_eq(npy_read(yp, &y, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(y.rank, 1);
    cr_assert_eq(y.dims[0], 9);
    float want[9] = {0};
    for (int i = 0; i < 9; i++) want[IDX[i]] = (float)count_by_pool[i] * W[i];
    for (int j = 0; j < 9; j++)
        cr_expect_eq(((float *)y.data)[j], want[j], "column %d: %g, want %g", j, ((float *)y.data)[j], want[j]);
    free(y.data);
    tu_tmpdir_remove(dir);
}

/* Refused by name, exit 2: a string pool, a pool holding a 2-gram twice, ngram_counts past
 * the pool, max_gram_length past ngram_counts, weights not the length of ngram_indexes, 2-gram
 * items that are not whole 2-grams, a float input, a rank-3 input, two n-grams written to one
 * column with different weights; emit-c refuses the pool and weight cases the same way. */
Test(tfidf, bad_attributes_refused_by_name) {
    const char *want[9] = {"pool_strings: string n-grams need string tensors",
                           "pool_int64s holds the 2-gram starting at item 5 twice",
                           "outside pool_int64s' 5 items",
                           "max_gram_length 3 exceeds the 2 lengths ngram_counts gives",
                           "weights has 2 values, ngram_indexes 4: they must be equal",
                           "the 3 items of 2-grams are not whole 2-grams",
                           "TfIdfVectorizer takes int32 or int64 ids",
                           "it must be [C] or [N, C]",
                           "ngram_indexes writes two n-grams to column 1 with different weights (2 and 3)"};
    for (int k = 0; k < 9; k++) {
        int64_t counts[2] = {0, k == 2 ? 9 : 1}, pool[7] = {4, 1, 2, 3, 4, 1, 2}, idx[4] = {0, 1, k == 8 ? 1 : 2, 3};
        float w[4] = {1, 2, 3, 4};
        int n_pool = k == 1 ? 7 : k == 5 ? 4 : 5;
        TfidfSpec s = {k == 8 ? "IDF" : "TF", 1, k == 3 ? 3 : 2, 0, 2, counts, n_pool, pool, 4, idx,
                       k == 4 ? 2 : k == 8 ? 4 : 0, w};
        Onnx__GraphProto *g = pb_graph("g");
        Onnx__NodeProto *n = tfidf_node(g, "t", "x", "y", &s);
        if (k == 0) {
            Onnx__AttributeProto *a = pb_attr(n, "pool_strings", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
            a->strings = pb_zalloc(sizeof(ProtobufCBinaryData));
            a->strings[0].data = (uint8_t *)pb_str("a");
            a->strings[0].len = 1;
            a->n_strings = 1;
        }
        pb_add_input(g, pb_value("x", k == 6 ? 1 : RT_I64, k == 7 ? "1,2,3" : "2,3"));
        pb_add_output(g, pb_value("y", 1, "2,4"));
        size_t len;
        uint8_t *m = pb_model_pack(g, 8, 13, "test_tfidf", &len);
        char dir[256], log[8192];
        int64_t xv[6] = {1, 2, 3, 4, 1, 2};
        float xf[6] = {1, 2, 3, 4, 1, 2};
        RtTensor x = {.dtype = k == 6 ? RT_F32 : RT_I64, .rank = k == 7 ? 3 : 2, .dims = {k == 7 ? 1 : 2, k == 7 ? 2 : 3, 3},
                      .data = k == 6 ? (void *)xf : (void *)xv};
        int rc = wafer_run_on(m, len, &x, dir, sizeof dir, log, sizeof log);
        cr_expect_eq(rc, 2, "case %d: exit %d, want 2:\n%s", k, rc, log);
        cr_expect(strstr(log, want[k]) != NULL, "case %d: message lacks '%s':\n%s", k, want[k], log);
        cr_expect(strstr(log, "TfIdfVectorizer") != NULL, "case %d: message does not name the op:\n%s", k, log);
        if (k == 1 || k == 8) { /* the pool's checks run in the shape pass: emit-c refuses too */
            rc = tu_run(log, sizeof log, WAFER_BIN " emit-c %s/m.onnx -o %s/c --weights f32", dir, dir);
            cr_expect_eq(rc, 2, "case %d: emit-c exit %d, want 2:\n%s", k, rc, log);
            cr_expect(strstr(log, want[k]) != NULL, "case %d: emit-c's message lacks '%s':\n%s", k, want[k], log);
        }
        tu_tmpdir_remove(dir);
    }
}
