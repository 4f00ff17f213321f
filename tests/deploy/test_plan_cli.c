/*
 * test_plan_cli.c — `wafer plan` end to end: the text and JSON decision for a crafted price
 * file and registry (a +50% spike over the window mean, hand computed: prices 1,1,1,1.5 give
 * mean 1.125 and a rise of 1.5 / 1.125 - 1 = 33% > 25% -> 4-bit), and exit status 2 with
 * the line or field named for a malformed row, an empty series and an unknown registry version.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "../test_util.h"

static char dir[128];

static void put(const char *name, const char *text) {
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    cr_assert(f);
    fputs(text, f);
    fclose(f);
}

static const char *const reg =
    "{\"format\": \"wafer-registry\", \"version\": 1, \"variants\": [\n"
    " {\"name\": \"int8\", \"bits\": 8, \"accuracy\": 0.99, \"latency_ms\": 1, \"target\": \"gpu\"},\n"
    " {\"name\": \"int4\", \"bits\": 4, \"accuracy\": 0.985, \"latency_ms\": 0.8, \"target\": \"gpu\"}]}\n";

Test(plan_cli, decision_text_and_json) {
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_plan"), 0);
    put("p.csv", "date,device,unit,price,available,lead_time_days\n2026-01-01,gpu,hour,1,yes,0\n"
                 "2026-01-02,gpu,hour,1,yes,0\n2026-01-03,gpu,hour,1,yes,0\n2026-01-04,gpu,hour,1.5,yes,0\n");
    put("r.json", reg);
    char out[8192], json[256];
    snprintf(json, sizeof json, "%s/plan.json", dir);
    int rc = tu_run(out, sizeof out, "%s plan --prices %s/p.csv --registry %s/r.json --traffic 1e6 --min-accuracy 0.98 --json %s",
                    WAFER_BIN, dir, dir, json);
    cr_assert_eq(rc, 0, "%s", out);
    cr_expect(strstr(out, "4-bit") && strstr(out, "+33.3%"), "%s", out);
    cr_expect_float_eq(tu_json_number(json, "bits"), 4, 0);
    cr_expect_float_eq(tu_json_number(json, "price_mean"), 1.125, 1e-12);
    /* a higher threshold keeps 8-bit */
    rc = tu_run(out, sizeof out, "%s plan --prices %s/p.csv --registry %s/r.json --traffic 1e6 --spike 0.4 --json %s",
                WAFER_BIN, dir, dir, json);
    cr_assert_eq(rc, 0, "%s", out);
    cr_expect_float_eq(tu_json_number(json, "bits"), 8, 0);
    tu_tmpdir_remove(dir);
}

Test(plan_cli, bad_inputs_exit_2_naming_line_or_field) {
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_plan"), 0);
    put("r.json", reg);
    put("bad.csv", "date,device,unit,price,available,lead_time_days\n2026-01-01,gpu,hour,1,yes,0\n2026-01-02,gpu,hour,1;5,yes,0\n");
    put("empty.csv", "date,device,unit,price,available,lead_time_days\n");
    put("ok.csv", "date,device,unit,price,available,lead_time_days\n2026-01-01,gpu,hour,1,yes,0\n");
    put("v3.json", "{\"version\": 3, \"variants\": []}");
    char out[8192];
    int rc = tu_run(out, sizeof out, "%s plan --prices %s/bad.csv --registry %s/r.json --traffic 1", WAFER_BIN, dir, dir);
    cr_expect_eq(rc, 2, "%s", out);
    cr_expect(strstr(out, "bad.csv:3:") && strstr(out, "'price'"), "%s", out);
    rc = tu_run(out, sizeof out, "%s plan --prices %s/empty.csv --registry %s/r.json --traffic 1", WAFER_BIN, dir, dir);
    cr_expect_eq(rc, 2, "%s", out);
    cr_expect(strstr(out, "empty.csv") && strstr(out, "empty series"), "%s", out);
    rc = tu_run(out, sizeof out, "%s plan --prices %s/ok.csv --registry %s/r.json --traffic 1 --cloud tpu", WAFER_BIN, dir, dir);
    cr_expect_eq(rc, 2, "%s", out);
    cr_expect(strstr(out, "'tpu'") && strstr(out, "empty series"), "%s", out);
    rc = tu_run(out, sizeof out, "%s plan --prices %s/ok.csv --registry %s/v3.json --traffic 1", WAFER_BIN, dir, dir);
    cr_expect_eq(rc, 2, "%s", out);
    cr_expect(strstr(out, "v3.json:1:") && strstr(out, "version 3"), "%s", out);
    rc = tu_run(out, sizeof out, "%s plan --prices %s/ok.csv --registry %s/r.json", WAFER_BIN, dir, dir);
    cr_expect_eq(rc, 2, "%s", out);
    cr_expect(strstr(out, "--traffic"), "%s", out);
    rc = tu_run(out, sizeof out, "%s plan --help", WAFER_BIN);
    cr_expect_eq(rc, 0, "%s", out);
    tu_tmpdir_remove(dir);
}
