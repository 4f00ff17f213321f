/*
 * test_inspect_passes.c — `wafer inspect MODEL --passes`: the op histogram of the simplified
 * graph before and after fusion, as text and as JSON, on digits_cnn (3 Conv + 3 BN + 4 Relu +
 * 2 Gemm become 3 FusedConv + 2 Linear) and the usage errors.
 */
#include <criterion/criterion.h>

#include "../test_util.h"

/* The JSON object {"Op":n,...} after `"key":` in s, copied into buf. */
static const char *json_object(const char *s, const char *key, char *buf, size_t n) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":{", key);
    const char *p = strstr(s, pat);
    cr_assert_not_null(p, "no %s in %s", key, s);
    p += strlen(pat) - 1;
    const char *e = strchr(p, '}');
    cr_assert_not_null(e);
    snprintf(buf, n, "%.*s", (int)(e - p + 1), p);
    return buf;
}

Test(inspect_passes, digits_cnn_json) {
    char out[8192], before[1024], after[1024];
    int rc = tu_run(out, sizeof out, "%s inspect %s/digits/digits_cnn.onnx --passes --json", WAFER_BIN, FIXTURES);
    cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
    cr_expect(strncmp(out, "{\"before\":{", 11) == 0, "%s", out);
    json_object(out, "before", before, sizeof before);
    json_object(out, "after", after, sizeof after);
    cr_expect(strstr(before, "\"BatchNormalization\":3") != NULL, "%s", before);
    cr_expect(strstr(before, "\"Relu\":4") != NULL, "%s", before);
    cr_expect(strstr(after, "BatchNormalization") == NULL, "%s", after);
    cr_expect(strstr(after, "Relu") == NULL, "%s", after);
    cr_expect(strstr(after, "\"FusedConv\":3") != NULL, "%s", after);
    cr_expect(strstr(after, "\"Linear\":2") != NULL, "%s", after);
}

Test(inspect_passes, digits_cnn_text_side_by_side) {
    char out[8192];
    int rc = tu_run(out, sizeof out, "%s inspect %s/digits/digits_cnn.onnx --passes", WAFER_BIN, FIXTURES);
    cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
    cr_expect(strstr(out, "(14 -> 7 nodes)") != NULL, "%s", out);
    const char *row = strstr(out, "BatchNormalization");
    cr_assert_not_null(row, "%s", out);
    long b = -1, a = -1;
    cr_expect_eq(sscanf(row, "BatchNormalization %ld %ld", &b, &a), 2, "%s", row);
    cr_expect(b == 3 && a == 0, "BatchNormalization %ld -> %ld", b, a);
}

Test(inspect_passes, bad_model_is_exit_2) {
    char out[4096];
    int rc = tu_run(out, sizeof out, "%s inspect /nonexistent.onnx --passes", WAFER_BIN);
    cr_expect_eq(rc, 2, "exit %d:\n%s", rc, out);
    cr_expect(strstr(out, "nonexistent.onnx") != NULL, "%s", out);
}
