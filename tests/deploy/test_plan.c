/*
 * test_plan.c — `wafer plan`'s decisions (deploy/plan.c) on crafted price series, each
 * expected value computed by hand from the rule in the issue:
 *   a 40% spike over the 90-day mean steps 8 -> 4-bit; a flat series keeps 8-bit;
 *   a projected spend of 5x the distillation cost says distill (2x does not);
 *   a device that is unavailable, or whose lead time exceeds the horizon, forces cloud;
 *   the breakeven traffic equals price / amortization months + maintenance over the cost of
 *   one cloud inference.
 * And the price file's errors: malformed rows and empty series name the line or field.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../../deploy/deploy.h"

/* Hand computations are done in double; 1e-9 relative covers printf/strtod round trips of
 * the prices written into the CSV with %.10g. */
#define PLAN_REL_TOL 1e-9

typedef struct {
    TextBuf csv;
    DeployPrices p;
    DeployRegistry r;
    DeployPlanOptions o;
    DeployPlan pl;
    RtError err;
} Fx;

/* 90 daily cloud prices ending 2026-03-31: `base` for the first 89 days, `last` on the last. */
static void cloud_series(Fx *f, double base, double last) {
    text_buf_printf(&f->csv, "date,device,unit,price,available,lead_time_days\n");
    int ok;
    int32_t d0 = deploy_date_days("2026-03-31", &ok) - 89;
    for (int k = 0; k < 90; k++) {
        int32_t d = d0 + k;
        /* days -> civil date for the CSV: walk from 2026-01-01 (day 20454) */
        int y = 2026, m = 1, dd = 1;
        static const int md[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int32_t rem = d - deploy_date_days("2026-01-01", &ok);
        while (rem >= md[m - 1]) rem -= md[m++ - 1];
        dd += rem;
        text_buf_printf(&f->csv, "%04d-%02d-%02d,cloud.gpu,hour,%.10g,yes,0\n", y, m, dd, k == 89 ? last : base);
    }
}

static void add_device(Fx *f, double price, const char *avail, double lead) {
    text_buf_printf(&f->csv, "2026-03-31,edge.board,unit,%.10g,%s,%.10g\n", price, avail, lead);
}

static void add_variant(Fx *f, const char *name, int bits, double acc, double lat_ms) {
    DeployVariant v;
    deploy_variant_init(&v);
    snprintf(v.name, sizeof v.name, "%s", name);
    v.bits = bits;
    v.quality = acc;
    v.latency_ms = lat_ms;
    v.weight_bytes = 1000 * bits;
    snprintf(v.target, sizeof v.target, "cloud.gpu");
    cr_assert_eq(deploy_registry_put(&f->r, &v, &f->err), RT_OK);
}

static void fx_init(Fx *f) {
    memset(f, 0, sizeof *f);
    deploy_registry_init(&f->r);
    deploy_plan_options_default(&f->o);
    add_variant(f, "f32", 32, 0.9933, 20.0);
    add_variant(f, "int8", 8, 0.9933, 10.0);
    add_variant(f, "int4", 4, 0.9900, 8.0);
    f->o.traffic = 1e6;
    f->o.sla_accuracy = 0.98;
    f->o.sla_latency_ms = 50;
}

static void fx_plan(Fx *f) {
    cr_assert_eq(deploy_prices_parse(f->csv.s, "prices.csv", &f->p, &f->err), RT_OK, "%s", f->err.msg);
    cr_assert_eq(deploy_plan_make(&f->p, &f->r, &f->o, &f->pl, &f->err), RT_OK, "%s", f->err.msg);
}

static void fx_free(Fx *f) {
    text_buf_free(&f->csv);
    deploy_prices_free(&f->p);
    deploy_registry_free(&f->r);
}

Test(plan, spike_of_40_percent_steps_down_to_4bit) {
    Fx f;
    fx_init(&f);
    /* mean over the window includes the last day: x / ((89 + x) / 90) = 1.4  =>  x = 124.6 / 88.6 */
    double x = 1.4 * 89.0 / (90.0 - 1.4);
    cloud_series(&f, 1.0, x);
    fx_plan(&f);
    cr_expect_eq(f.pl.bits, 4);
    cr_expect_float_eq(f.pl.rise, 0.4, PLAN_REL_TOL);
    cr_expect_float_eq(f.pl.price_mean, (89.0 + x) / 90.0, PLAN_REL_TOL);
    cr_expect_str_eq(f.r.v[f.pl.variant].name, "int4");
    cr_expect(strstr(f.pl.why_bits, "+40.0%") && strstr(f.pl.why_bits, "+25.0%"), "%s", f.pl.why_bits);
    fx_free(&f);
}

Test(plan, flat_series_keeps_int8) {
    Fx f;
    fx_init(&f);
    cloud_series(&f, 1.0, 1.0);
    fx_plan(&f);
    cr_expect_eq(f.pl.bits, 8);
    cr_expect_float_eq(f.pl.rise, 0.0, PLAN_REL_TOL);
    cr_expect_str_eq(f.r.v[f.pl.variant].name, "int8");
    fx_free(&f);
}

Test(plan, spike_below_threshold_and_custom_threshold) {
    Fx f;
    fx_init(&f);
    double x = 1.2 * 89.0 / (90.0 - 1.2); /* +20% */
    cloud_series(&f, 1.0, x);
    fx_plan(&f);
    cr_expect_eq(f.pl.bits, 8, "+20%% is under the default 25%%");
    deploy_prices_free(&f.p);
    f.o.spike = 0.15;
    fx_plan(&f);
    cr_expect_eq(f.pl.bits, 4, "+20%% is over a 15%% threshold");
    fx_free(&f);
}

Test(plan, spend_5x_distillation_cost_says_distill) {
    Fx f;
    fx_init(&f);
    cloud_series(&f, 0.36, 0.36);
    /* int8 at 10 ms on 0.36/h: 0.36 * 0.01 / 3600 = 1e-6 per inference. 12 months x T x 1e-6
     * = 5 x 1000  =>  T = 5000 / 12e-6 */
    f.o.traffic = 5000.0 / 12e-6;
    f.o.distill_cost = 1000;
    fx_plan(&f);
    cr_expect_float_eq(f.pl.spend, 5000.0, 1e-6);
    cr_expect(f.pl.distill, "%s", f.pl.why_distill);
    deploy_prices_free(&f.p);
    f.o.traffic = 2000.0 / 12e-6; /* 2x: under the 3x factor */
    fx_plan(&f);
    cr_expect(!f.pl.distill, "%s", f.pl.why_distill);
    fx_free(&f);
}

Test(plan, no_variant_meeting_the_sla_says_distill) {
    Fx f;
    fx_init(&f);
    f.o.sla_accuracy = 0.995;
    cloud_series(&f, 1.0, 1.0);
    fx_plan(&f);
    cr_expect_eq(f.pl.variant, -1);
    cr_expect(f.pl.distill, "%s", f.pl.why_distill);
    fx_free(&f);
}

Test(plan, breakeven_traffic_matches_hand_computation) {
    Fx f;
    fx_init(&f);
    cloud_series(&f, 0.36, 0.36);
    add_device(&f, 360, "yes", 10);
    f.o.amortize_months = 36;
    f.o.maintenance = 2;
    f.o.traffic = 2e7;
    fx_plan(&f);
    /* device: 360 / 36 + 2 = 12 per month; cloud inference: 10 ms x 0.36/h = 1e-6 */
    cr_expect_float_eq(f.pl.breakeven, 12.0 / 1e-6, 1e-3);
    cr_expect_float_eq(f.pl.cloud_monthly, 20.0, 1e-9);
    /* 2e7 x 10 ms = 200,000 s a month: one device (2,592,000 s) suffices */
    cr_expect_eq(f.pl.devices, 1);
    cr_expect(f.pl.edge, "20/month in the cloud vs 12 on the edge: %s", f.pl.why_place);
    cr_expect(strstr(f.pl.why_place, "breakeven 12000000"), "%s", f.pl.why_place);
    deploy_prices_free(&f.p);
    f.o.traffic = 1e7; /* under the breakeven: cloud 10/month */
    fx_plan(&f);
    cr_expect(!f.pl.edge, "%s", f.pl.why_place);
    fx_free(&f);
}

Test(plan, unavailable_device_forces_cloud) {
    Fx f;
    fx_init(&f);
    cloud_series(&f, 0.36, 0.36);
    add_device(&f, 360, "no", 10);
    f.o.traffic = 1e9; /* the edge would be far cheaper */
    fx_plan(&f);
    cr_expect(!f.pl.edge);
    cr_expect(!f.pl.edge_buyable);
    cr_expect(strstr(f.pl.why_place, "forced") && strstr(f.pl.why_place, "not available"), "%s", f.pl.why_place);
    fx_free(&f);
}

Test(plan, lead_time_beyond_horizon_forces_cloud) {
    Fx f;
    fx_init(&f);
    cloud_series(&f, 0.36, 0.36);
    add_device(&f, 360, "yes", 400); /* 400 days > 12 x 30 */
    f.o.traffic = 1e9;
    fx_plan(&f);
    cr_expect(!f.pl.edge, "%s", f.pl.why_place);
    cr_expect(strstr(f.pl.why_place, "lead time of 400 days"), "%s", f.pl.why_place);
    deploy_prices_free(&f.p);
    f.o.horizon_months = 24; /* 720 days: now it can arrive in time */
    fx_plan(&f);
    cr_expect(f.pl.edge, "%s", f.pl.why_place);
    fx_free(&f);
}

Test(plan, cascade_threshold_of_the_chosen_variant) {
    Fx f;
    fx_init(&f);
    cloud_series(&f, 1.0, 1.0);
    DeployCascade c = {"int8", "f32", 0, 0.9, 0.99, 0.2, 12.0};
    cr_assert_eq(deploy_registry_put_cascade(&f.r, &c, &f.err), RT_OK);
    fx_plan(&f);
    cr_expect_eq(f.pl.cascade, 0);
    cr_expect(strstr(f.pl.why_cascade, "0.9"), "%s", f.pl.why_cascade);
    fx_free(&f);
}

Test(plan, edge_uses_the_latency_measured_on_the_device) {
    Fx f;
    fx_init(&f);
    cloud_series(&f, 0.36, 0.36);
    add_device(&f, 360, "yes", 10);
    /* the same 8-bit width measured on the board: 1.296 s per inference, so one board serves
     * 2,592,000 / 1.296 = 2,000,000 inferences a month; 5e6 need ceil(2.5) = 3 boards */
    DeployVariant v;
    deploy_variant_init(&v);
    snprintf(v.name, sizeof v.name, "int8-board");
    snprintf(v.target, sizeof v.target, "edge.board");
    v.bits = 8;
    v.quality = 0.99;
    v.latency_ms = 1296;
    cr_assert_eq(deploy_registry_put(&f.r, &v, &f.err), RT_OK);
    f.o.sla_latency_ms = 50; /* the board's variant misses the SLA: the cloud-measured int8 is chosen */
    f.o.traffic = 5e6;
    fx_plan(&f);
    cr_expect_str_eq(f.r.v[f.pl.variant].name, "int8");
    cr_expect_eq(f.pl.devices, 3);
    cr_expect_float_eq(f.pl.edge_monthly, 3 * 10.0, 1e-9);
    cr_expect(strstr(f.pl.why_place, "int8-board"), "%s", f.pl.why_place);
    fx_free(&f);
}

/* ---- bad price files ---- */

static void expect_csv_error(const char *text, const char *needle1, const char *needle2) {
    DeployPrices p;
    RtError err = {{0}};
    cr_expect_neq(deploy_prices_parse(text, "prices.csv", &p, &err), RT_OK);
    cr_expect(strstr(err.msg, needle1) && strstr(err.msg, needle2), "message: %s", err.msg);
}

Test(plan_csv, malformed_rows_name_line_and_field) {
    const char *h = "date,device,unit,price,available,lead_time_days\n";
    char t[512];
    snprintf(t, sizeof t, "%s2026-01-01,a,hour,1,yes,0\n2026-01-02,a,hour,abc,yes,0\n", h);
    expect_csv_error(t, "prices.csv:3:", "'price'");
    snprintf(t, sizeof t, "%s2026-02-30,a,hour,1,yes,0\n", h);
    expect_csv_error(t, "prices.csv:2:", "'date'");
    snprintf(t, sizeof t, "%s2026-01-01,a,week,1,yes,0\n", h);
    expect_csv_error(t, "prices.csv:2:", "'unit'");
    snprintf(t, sizeof t, "%s2026-01-01,a,hour,1,maybe,0\n", h);
    expect_csv_error(t, "prices.csv:2:", "'available'");
    snprintf(t, sizeof t, "%s2026-01-01,a,hour,1,yes,-3\n", h);
    expect_csv_error(t, "prices.csv:2:", "'lead_time_days'");
    snprintf(t, sizeof t, "%s# comment\n\n2026-01-01,a,hour,1\n", h);
    expect_csv_error(t, "prices.csv:4:", "fields");
    expect_csv_error("date,device,price\n", "prices.csv:1:", "'unit'");
}

Test(plan_csv, empty_series) {
    expect_csv_error("", "prices.csv", "empty");
    expect_csv_error("date,device,unit,price,available,lead_time_days\n", "prices.csv", "empty series");
    DeployPrices p;
    RtError err = {{0}};
    cr_assert_eq(deploy_prices_parse("date,device,unit,price,available,lead_time_days\n2026-01-01,a,hour,1,yes,0\n",
                                     "prices.csv", &p, &err), RT_OK, "%s", err.msg);
    DeploySeriesStats s;
    cr_expect_neq(deploy_prices_stats(&p, "b", 90, &s, &err), RT_OK);
    cr_expect(strstr(err.msg, "prices.csv") && strstr(err.msg, "'b'") && strstr(err.msg, "empty series"), "%s", err.msg);
    deploy_prices_free(&p);
}

Test(plan_csv, dates_and_window) {
    int ok;
    cr_expect_eq(deploy_date_days("1970-01-01", &ok), 0);
    cr_expect_eq(deploy_date_days("2000-03-01", &ok), 11017); /* 30 years of days + 7 leap days + Jan/Feb 2000 */
    cr_expect_eq(deploy_date_days("2024-02-29", &ok) + 1, deploy_date_days("2024-03-01", &ok));
    deploy_date_days("2023-02-29", &ok);
    cr_expect_eq(ok, 0);
    /* a 3-day window ending 01-10 holds 01-08..01-10 only: (3 + 4 + 5) / 3 */
    DeployPrices p;
    RtError err = {{0}};
    cr_assert_eq(deploy_prices_parse("device,date,unit,price,available,lead_time_days,extra\n"
                                     "a,2026-01-01,hour,100,yes,0,x\na,2026-01-07,hour,2,yes,0,x\n"
                                     "a,2026-01-08,hour,3,yes,0,x\na,2026-01-09,hour,4,yes,0,x\n"
                                     "a,2026-01-10,hour,5,yes,0,x\n",
                                     "p.csv", &p, &err), RT_OK, "%s", err.msg);
    DeploySeriesStats s;
    cr_assert_eq(deploy_prices_stats(&p, "a", 3, &s, &err), RT_OK);
    cr_expect_float_eq(s.mean, 4.0, 1e-12);
    cr_expect_eq(s.n_window, 3);
    cr_expect_float_eq(s.last->price, 5.0, 1e-12);
    deploy_prices_free(&p);
}
