/*
 * test_sweep.c — `wafer sweep` end to end on digits_cnn (the point 1): bits
 * {8,4,3,2} x method {rtn,gptq} writes the table, the JSON (one row per variant, the float
 * baseline first) and an SVG that is well-formed XML with one point per variant. The float
 * row's accuracy is the fixtures' onnxruntime figure (596/600); sizes fall with the bits; the
 * Pareto marks agree with a pairwise check. --per-layer with --budget-bytes builds a mixed
 * model within the budget. Bad options exit 2.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "../../deploy/deploy.h"
#include "../test_util.h"
#include "xml_check.h"

static const char *const F = FIXTURES "/digits";

static JsonValue sweep_json(const char *path) {
    char *text = (char *)tu_file_read(path, NULL);
    cr_assert(text, "no %s", path);
    JsonValue v;
    RtError err = {{0}};
    cr_assert_eq(deploy_json_parse(text, path, &v, &err), RT_OK, "%s", err.msg);
    free(text);
    return v;
}

Test(sweep, digits_bits_by_method_json_table_svg) {
    char dir[128], out[16384];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_sweep"), 0);
    int rc = tu_run(out, sizeof out,
                    "%s sweep %s/digits_cnn.onnx --calib image=%s/calib_img.npy --eval image=%s/test_img.npy "
                    "--labels %s/test_y.npy --bits 8,4,3,2 --method rtn,gptq --iters 3 --warmup 1 --out-dir %s/v "
                    "--json %s/s.json --svg %s/s.svg --registry %s/r.json 2>/dev/null",
                    WAFER_BIN, F, F, F, F, dir, dir, dir, dir);
    cr_assert_eq(rc, 0, "%s", out);
    cr_expect(strstr(out, "int2-gptq") && strstr(out, "pareto"), "table:\n%s", out);
    char p[256];
    snprintf(p, sizeof p, "%s/s.json", dir);
    JsonValue j = sweep_json(p);
    const JsonValue *vars = deploy_json_get(&j, "variants");
    cr_assert(vars && vars->kind == JSON_ARR);
    cr_assert_eq(vars->n, 9, "float + 4 bits x 2 methods");
    const char *names[9] = {"f32", "int8-rtn", "int8-gptq", "int4-rtn", "int4-gptq",
                            "int3-rtn", "int3-gptq", "int2-rtn", "int2-gptq"};
    double bytes[9], acc[9];
    for (int i = 0; i < 9; i++) {
        const JsonValue *v = &vars->items[i];
        cr_expect_str_eq(deploy_json_get(v, "name")->str, names[i]);
        bytes[i] = deploy_json_get(v, "weight_bytes")->num;
        acc[i] = deploy_json_get(v, "accuracy")->num;
        cr_expect_gt(deploy_json_get(v, "latency_ms")->num, 0);
    }
    cr_expect_float_eq(acc[0], 596.0 / 600.0, 1e-9, "the float model's accuracy (onnxruntime: 0.9933)");
    /* int8 per channel keeps the float accuracy within 2 samples of 600 */
    cr_expect_geq(acc[1], acc[0] - 2.0 / 600.0);
    for (int b = 1; b < 4; b++) /* fewer bits, fewer bytes (rtn rows) */
        cr_expect_lt(bytes[1 + 2 * b], bytes[1 + 2 * (b - 1)], "%s vs %s", names[1 + 2 * b], names[1 + 2 * (b - 1)]);
    /* the pareto flags agree with a pairwise dominance check */
    for (int i = 0; i < 9; i++) {
        int dominated = 0;
        for (int k = 0; k < 9; k++)
            dominated |= k != i && bytes[k] <= bytes[i] && acc[k] >= acc[i] && (bytes[k] < bytes[i] || acc[k] > acc[i]);
        cr_expect_eq(deploy_json_get(&vars->items[i], "pareto")->b, !dominated, "%s", names[i]);
    }
    deploy_json_free(&j);
    /* the SVG: well-formed, one point per variant */
    snprintf(p, sizeof p, "%s/s.svg", dir);
    char *svg = (char *)tu_file_read(p, NULL);
    cr_assert(svg);
    int circles = 0;
    cr_expect_eq(xml_ok(svg, &circles), 0, "the SVG is not well-formed XML");
    cr_expect_eq(circles, 9);
    free(svg);
    /* the registry got every variant */
    DeployRegistry r;
    RtError err = {{0}};
    snprintf(p, sizeof p, "%s/r.json", dir);
    cr_assert_eq(deploy_registry_load(p, 0, &r, &err), RT_OK, "%s", err.msg);
    cr_expect_eq(r.n, 9);
    cr_expect_eq(strlen(r.v[3].hash), 16);
    deploy_registry_free(&r);
    tu_tmpdir_remove(dir);
}

Test(sweep, per_layer_mixed_model_fits_the_budget) {
    char dir[128], out[16384];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_sweep"), 0);
    const long budget = 400000;
    int rc = tu_run(out, sizeof out,
                    "%s sweep %s/digits_cnn.onnx --eval image=%s/test_img.npy --labels %s/test_y.npy --bits 4 "
                    "--iters 1 --warmup 0 --out-dir %s/v --per-layer --budget-bytes %ld --json %s/s.json 2>/dev/null",
                    WAFER_BIN, F, F, F, dir, budget, dir);
    cr_assert_eq(rc, 0, "%s", out);
    char p[256];
    snprintf(p, sizeof p, "%s/s.json", dir);
    JsonValue j = sweep_json(p);
    const JsonValue *layers = deploy_json_get(&j, "layers"), *mixed = deploy_json_get(&j, "mixed");
    cr_assert(layers && layers->n >= 4, "the CNN has 3 convs and 2 Gemms");
    cr_assert(mixed, "a mixed model is built");
    cr_expect_leq(deploy_json_get(mixed, "weight_bytes")->num, (double)budget);
    cr_expect_geq(deploy_json_get(mixed, "accuracy")->num, 0.98);
    deploy_json_free(&j);
    tu_tmpdir_remove(dir);
}

Test(sweep, bad_options_exit_2) {
    char out[4096];
    int rc = tu_run(out, sizeof out, "%s sweep %s/digits_cnn.onnx --eval image=%s/test_img.npy --labels %s/test_y.npy --bits 5",
                    WAFER_BIN, F, F, F);
    cr_expect_eq(rc, 2, "%s", out);
    cr_expect(strstr(out, "--bits"), "%s", out);
    rc = tu_run(out, sizeof out, "%s sweep %s/digits_cnn.onnx --eval image=%s/test_img.npy --labels %s/test_y.npy --method gptq",
                WAFER_BIN, F, F, F);
    cr_expect_eq(rc, 2, "%s", out);
    cr_expect(strstr(out, "--calib"), "%s", out);
    rc = tu_run(out, sizeof out, "%s sweep %s/digits_cnn.onnx --labels %s/test_y.npy", WAFER_BIN, F, F);
    cr_expect_eq(rc, 2, "%s", out);
    rc = tu_run(out, sizeof out, "%s sweep --help", WAFER_BIN);
    cr_expect_eq(rc, 0, "%s", out);
}

/* Perplexity sweeps agree with the fixtures' PyTorch/onnxruntime reference: fp32 2.4166 and
 * RTN 4-bit group 128 asym 2.4600 (README of the fixtures, 4 decimals: +-0.0005). */
#define TINYLM_PPL_TOL 0.0005

Test(sweep, tinylm_perplexity_matches_the_reference) {
    if (getenv("WAFER_SANITIZED")) cr_skip_test("3.3M-parameter model: too slow under ASan");
    char dir[128], out[16384];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_sweep"), 0);
    const char *T = FIXTURES "/tinylm";
    int rc = tu_run(out, sizeof out,
                    "%s sweep %s/tinylm.onnx --task lm --tokens %s/tinylm_eval_tokens.npy --bits 4 --group 128 --asym "
                    "--iters 1 --warmup 0 --out-dir %s/v --json %s/s.json 2>/dev/null",
                    WAFER_BIN, T, T, dir, dir);
    cr_assert_eq(rc, 0, "%s", out);
    char p[256];
    snprintf(p, sizeof p, "%s/s.json", dir);
    JsonValue j = sweep_json(p);
    const JsonValue *vars = deploy_json_get(&j, "variants");
    cr_assert(vars && vars->n == 2);
    cr_expect_float_eq(deploy_json_get(&vars->items[0], "perplexity")->num, 2.4166, TINYLM_PPL_TOL);
    cr_expect_float_eq(deploy_json_get(&vars->items[1], "perplexity")->num, 2.4600, TINYLM_PPL_TOL);
    deploy_json_free(&j);
    tu_tmpdir_remove(dir);
}
