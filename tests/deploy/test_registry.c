/*
 * test_registry.c — the variant registry (deploy/registry.c) and its JSON reader
 * (deploy/json.c): a round trip keeps every field, the derived cost columns match hand
 * computations, and bad files (unknown version, syntax errors, wrong field types, duplicate
 * names) are refused with the line and field named. Then `wafer registry add|list|show`
 * end to end, including the exit status 2 of bad input.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "../../deploy/deploy.h"
#include "../test_util.h"

/* Costs are products of a few doubles printed with %.10g: 1e-9 relative is far above the
 * rounding and far below any formula mistake. */
#define COST_REL_TOL 1e-9

static DeployVariant variant(const char *name, int bits, double acc, double lat, double price) {
    DeployVariant v;
    deploy_variant_init(&v);
    snprintf(v.name, sizeof v.name, "%s", name);
    snprintf(v.file, sizeof v.file, "dir/\"%s\".wafer", name); /* a quote to escape */
    snprintf(v.target, sizeof v.target, "c7i.large");
    snprintf(v.method, sizeof v.method, "gptq");
    v.bits = bits;
    v.group = 32;
    v.quality = acc;
    v.latency_ms = lat;
    v.price_per_hour = price;
    v.weight_bytes = 12345;
    v.arena_bytes = 678;
    return v;
}

Test(registry, round_trip_keeps_every_field) {
    DeployRegistry r;
    RtError err = {{0}};
    deploy_registry_init(&r);
    snprintf(r.model, sizeof r.model, "digits_cnn.onnx");
    DeployVariant a = variant("int4-gptq", 4, 0.99, 0.021, 0.085), b = variant("ppl", 8, 2.43, 1.5, -1);
    b.metric = DEPLOY_METRIC_PERPLEXITY;
    b.distilled = 1;
    cr_assert_eq(deploy_registry_put(&r, &a, &err), RT_OK);
    cr_assert_eq(deploy_registry_put(&r, &b, &err), RT_OK);
    DeployCascade c = {"int4-gptq", "f32", 1, 0.35, 0.991, 0.25, 0.04};
    cr_assert_eq(deploy_registry_put_cascade(&r, &c, &err), RT_OK);
    TextBuf t = {0};
    deploy_registry_json(&r, &t);
    DeployRegistry q;
    cr_assert_eq(deploy_registry_parse(t.s, "r.json", &q, &err), RT_OK, "%s\n%s", err.msg, t.s);
    cr_assert_eq(q.n, 2);
    cr_expect_str_eq(q.model, "digits_cnn.onnx");
    cr_expect_str_eq(q.v[0].file, a.file);
    cr_expect_eq(q.v[0].bits, 4);
    cr_expect_eq(q.v[0].group, 32);
    cr_expect_float_eq(q.v[0].quality, 0.99, 1e-12);
    cr_expect_float_eq(q.v[0].latency_ms, 0.021, 1e-12);
    cr_expect_eq(q.v[0].weight_bytes, 12345);
    cr_expect_eq(q.v[0].arena_bytes, 678);
    cr_expect_eq(q.v[1].metric, DEPLOY_METRIC_PERPLEXITY);
    cr_expect_eq(q.v[1].distilled, 1);
    cr_expect(q.v[1].price_per_hour < 0, "unknown price stays unknown");
    cr_assert_eq(q.nc, 1);
    cr_expect_eq(q.c[0].margin, 1);
    cr_expect_float_eq(q.c[0].threshold, 0.35, 1e-12);
    /* a second put of the same name replaces */
    a.quality = 0.5;
    cr_assert_eq(deploy_registry_put(&q, &a, &err), RT_OK);
    cr_expect_eq(q.n, 2);
    cr_expect_float_eq(deploy_registry_find(&q, "int4-gptq")->quality, 0.5, 0);
    text_buf_free(&t);
    deploy_registry_free(&r);
    deploy_registry_free(&q);
}

Test(registry, cost_columns_match_hand_computation) {
    DeployVariant v = variant("x", 8, 0.8, 2.0, 1.8);
    /* 1000 inferences x 2 ms = 2 s = 1/1800 h; at 1.8/h that is 0.001 */
    cr_expect_float_eq(deploy_variant_cost_per_1k(&v), 0.001, COST_REL_TOL);
    /* one inference 1e-6, a correct one 1e-6 / 0.8 */
    cr_expect_float_eq(deploy_variant_cost_per_correct(&v), 1.25e-6, COST_REL_TOL);
    v.metric = DEPLOY_METRIC_PERPLEXITY;
    cr_expect(isnan(deploy_variant_cost_per_correct(&v)));
    v.price_per_hour = -1;
    cr_expect(isnan(deploy_variant_cost_per_1k(&v)));
}

static void expect_reg_error(const char *text, const char *n1, const char *n2) {
    DeployRegistry r;
    RtError err = {{0}};
    cr_expect_neq(deploy_registry_parse(text, "reg.json", &r, &err), RT_OK, "accepted: %s", text);
    cr_expect(strstr(err.msg, n1) && strstr(err.msg, n2), "message: %s", err.msg);
}

Test(registry, bad_files_name_line_and_field) {
    expect_reg_error("{\n \"version\": 2,\n \"variants\": []\n}", "reg.json:2:", "unknown registry version 2");
    expect_reg_error("{\"variants\": []}", "reg.json", "'version' is missing");
    expect_reg_error("{\"version\": \"1\"}", "reg.json:1:", "'version'");
    expect_reg_error("{\"version\": 1,\n\"variants\": [\n {\"name\": \"a\", \"bits\": \"four\"}]}", "reg.json:3:", "'bits'");
    expect_reg_error("{\"version\": 1, \"variants\": [{\"file\": \"a\"}]}", "reg.json:1:", "'name' is missing");
    expect_reg_error("{\"version\": 1, \"variants\": [{\"name\": \"a\"},\n{\"name\": \"a\"}]}", "reg.json:2:", "twice");
    expect_reg_error("{\"version\": 1, \"variants\": [{\"name\": \"a\", \"accuracy\": 3}]}", "reg.json:1:", "'accuracy'");
    expect_reg_error("{\"version\": 1,\n\n \"variants\": [,]}", "reg.json:3:", "unexpected");
    expect_reg_error("{\"version\": 1} x", "reg.json:1:", "text after");
    expect_reg_error("{\"version\": 1, \"model\": \"a", "reg.json:1:", "unterminated");
    expect_reg_error("", "reg.json:1:", "end of the file");
}

Test(registry, json_reader_strings_and_numbers) {
    JsonValue v;
    RtError err = {{0}};
    cr_assert_eq(deploy_json_parse("{\"s\": \"a\\n\\u00e9\\ud83d\\ude00\\\"\", \"n\": -1.5e3, \"z\": 0, \"a\": [true, null]}",
                                   "t.json", &v, &err), RT_OK, "%s", err.msg);
    cr_expect_str_eq(deploy_json_get(&v, "s")->str, "a\n\xc3\xa9\xf0\x9f\x98\x80\"");
    cr_expect_float_eq(deploy_json_get(&v, "n")->num, -1500.0, 0);
    cr_expect_eq(deploy_json_get(&v, "a")->n, 2);
    cr_expect_eq(deploy_json_get(&v, "a")->items[1].kind, JSON_NULL);
    deploy_json_free(&v);
    const char *bad[] = {"01", "1.", "-", "[1,]", "{\"a\" 1}", "\"\\x\"", "[", "\"\\u12\""};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        cr_expect_neq(deploy_json_parse(bad[k], "t.json", &v, &err), RT_OK, "accepted %s", bad[k]);
}

/* ---- the command ---- */

Test(registry_cli, add_list_show_and_bad_input) {
    char dir[128], out[8192];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_registry"), 0);
    int rc = tu_run(out, sizeof out,
                    "%s registry add %s/r.json --name int8 --bits 8 --method rtn --accuracy 0.99 --latency-ms 2 "
                    "--price-per-hour 1.8 --target c7i --model m.onnx",
                    WAFER_BIN, dir);
    cr_assert_eq(rc, 0, "%s", out);
    /* an eval report enters the registry */
    char ev[256];
    snprintf(ev, sizeof ev, "%s/eval.json", dir);
    FILE *f = fopen(ev, "w");
    fputs("{\"model\":\"x.wafer\",\"task\":\"classify\",\"samples\":600,\"accuracy\":0.97,\"seconds\":0.1,"
          "\"latency_ms_per_sample\":0.5,\"weight_bytes\":4096}\n", f);
    fclose(f);
    rc = tu_run(out, sizeof out, "%s registry add %s/r.json --name from-eval --bits 4 --from-eval %s", WAFER_BIN, dir, ev);
    cr_assert_eq(rc, 0, "%s", out);
    rc = tu_run(out, sizeof out, "%s registry list %s/r.json", WAFER_BIN, dir);
    cr_assert_eq(rc, 0, "%s", out);
    cr_expect(strstr(out, "int8") && strstr(out, "from-eval") && strstr(out, "cost_per_correct"), "%s", out);
    cr_expect(strstr(out, "0.001"), "cost per 1k of int8 (2 ms at 1.8/h) is 0.001:\n%s", out);
    rc = tu_run(out, sizeof out, "%s registry show %s/r.json from-eval", WAFER_BIN, dir);
    cr_assert_eq(rc, 0, "%s", out);
    cr_expect(strstr(out, "0.97") && strstr(out, "4096") && strstr(out, "0.5"), "%s", out);
    rc = tu_run(out, sizeof out, "%s registry show %s/r.json nope", WAFER_BIN, dir);
    cr_expect_eq(rc, 2, "%s", out);
    /* an unknown version: exit 2 naming the field */
    char p[256];
    snprintf(p, sizeof p, "%s/v9.json", dir);
    f = fopen(p, "w");
    fputs("{\"format\": \"wafer-registry\", \"version\": 9, \"variants\": []}\n", f);
    fclose(f);
    rc = tu_run(out, sizeof out, "%s registry list %s", WAFER_BIN, p);
    cr_expect_eq(rc, 2, "%s", out);
    cr_expect(strstr(out, "v9.json:1:") && strstr(out, "'version'") && strstr(out, "9"), "%s", out);
    rc = tu_run(out, sizeof out, "%s registry add %s --name x", WAFER_BIN, p);
    cr_expect_eq(rc, 2, "adding to an unknown version must not overwrite it: %s", out);
    char *kept = (char *)tu_file_read(p, NULL);
    cr_expect(kept && strstr(kept, "\"version\": 9"), "the file was rewritten");
    free(kept);
    rc = tu_run(out, sizeof out, "%s registry --help", WAFER_BIN);
    cr_expect_eq(rc, 0);
    tu_tmpdir_remove(dir);
}

/* Every prefix of a valid registry, and of a price file, is refused or read without a crash
 * (the ASan build checks the memory side). A prefix that parses must be a complete value. */
Test(registry, every_prefix_is_handled) {
    DeployRegistry r;
    RtError err = {{0}};
    deploy_registry_init(&r);
    DeployVariant v = variant("int4 \\u00e9", 4, 0.99, 0.5, 1.0);
    cr_assert_eq(deploy_registry_put(&r, &v, &err), RT_OK);
    DeployCascade c = {"a", "b", 0, 0.9, 0.99, 0.1, 1.0};
    cr_assert_eq(deploy_registry_put_cascade(&r, &c, &err), RT_OK);
    TextBuf t = {0};
    deploy_registry_json(&r, &t);
    deploy_registry_free(&r);
    int ok = 0;
    for (size_t n = 0; n <= t.len; n++) {
        char *s = strndup(t.s, n);
        RtError e = {{0}};
        DeployRegistry q;
        if (deploy_registry_parse(s, "p.json", &q, &e) == RT_OK) ok++, deploy_registry_free(&q);
        else cr_expect(strstr(e.msg, "p.json"), "prefix %zu: %s", n, e.msg);
        free(s);
    }
    cr_expect(ok >= 1 && ok <= 2, "only the whole text (and with its last newline cut) parses: %d", ok);
    text_buf_free(&t);
    const char *csv = "date,device,unit,price,available,lead_time_days\n2026-01-01,a,hour,1.5,yes,0\n";
    for (size_t n = 0; n <= strlen(csv); n++) {
        char *s = strndup(csv, n);
        DeployPrices p;
        RtError e = {{0}};
        if (deploy_prices_parse(s, "p.csv", &p, &e) == RT_OK) deploy_prices_free(&p);
        else cr_expect(strstr(e.msg, "p.csv"), "prefix %zu: %s", n, e.msg);
        free(s);
    }
}
