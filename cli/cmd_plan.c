/*
 * cmd_plan.c — `wafer plan --prices P.csv --registry R.json --traffic N [SLA] [thresholds]`:
 * a deployment decision (bit width, variant, distill or not, edge or cloud, cascade
 * threshold) with the numbers behind each part, as text on stdout and as JSON (--json).
 * The rules and their defaults are deploy/plan.c's; every threshold is an option here.
 */
#include <string.h>

#include "../deploy/deploy.h"
#include "cli.h"

static const char *const plan_usage =
    "usage: wafer plan --prices PRICES.csv --registry REGISTRY.json --traffic N [options]\n"
    "\n"
    "Decides the bit width, the variant, whether to distill, edge or cloud, and the cascade\n"
    "threshold, from price observations (CSV header: date,device,unit,price,available,\n"
    "lead_time_days; unit 'hour' = cloud instance, 'unit' = device bought outright), the\n"
    "variant registry, the traffic and an SLA. Every reason names the numbers used.\n"
    "\n"
    "  --traffic N            inferences per month (required)\n"
    "  --max-latency-ms X     SLA: latency per inference (default: none)\n"
    "  --min-accuracy X       SLA: accuracy (default: none)\n"
    "  --spike X              step the width down when the price exceeds its moving average\n"
    "                         by more than X (default 0.25 = 25%)\n"
    "  --window-days N        moving-average window (default 90)\n"
    "  --bits-now B           the current width (default 8)\n"
    "  --bits-low B           the step-down width (default 4)\n"
    "  --horizon-months X     spend projection and procurement horizon (default 12)\n"
    "  --distill-cost X       cost of one distillation (default 1000)\n"
    "  --distill-factor X     distill when projected spend > X * distill cost (default 3)\n"
    "  --amortize-months X    a device's price is spread over X months (default 36)\n"
    "  --maintenance X        per device per month (default 0)\n"
    "  --cloud NAME           the cloud instance series (default: the first 'hour' device)\n"
    "  --device NAME          the edge device series (default: the first 'unit' device)\n"
    "  --watch NAME           the series whose spike steps the width down (default: --cloud)\n"
    "  --json FILE            write the decision as JSON\n"
    "\n"
    "Exit status 0 ok, 2 bad input (messages name the file and the line or field).\n";

static int plan_args(int argc, char **argv, DeployPlanOptions *o, const char **prices, const char **reg,
                     const char **json, RtError *err) {
    int has_traffic = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r = 0;
        double *num = NULL;
        int64_t *intv = NULL, n = 0;
#define OPT(name) ((r = cli_opt(argc, argv, &i, name, &v, "plan", err)) != 0)
        if (OPT("--prices")) *prices = v;
        else if (OPT("--registry")) *reg = v;
        else if (OPT("--json")) *json = v;
        else if (OPT("--cloud")) o->cloud = v;
        else if (OPT("--device")) o->device = v;
        else if (OPT("--watch")) o->watch = v;
        else if (OPT("--traffic")) num = &o->traffic, has_traffic = 1;
        else if (OPT("--max-latency-ms")) num = &o->sla_latency_ms;
        else if (OPT("--min-accuracy")) num = &o->sla_accuracy;
        else if (OPT("--spike")) num = &o->spike;
        else if (OPT("--horizon-months")) num = &o->horizon_months;
        else if (OPT("--distill-cost")) num = &o->distill_cost;
        else if (OPT("--distill-factor")) num = &o->distill_factor;
        else if (OPT("--amortize-months")) num = &o->amortize_months;
        else if (OPT("--maintenance")) num = &o->maintenance;
        else if (OPT("--window-days") || OPT("--bits-now") || OPT("--bits-low")) intv = &n;
        else return cli_usage_error(err, "plan", "unknown argument '%s'", argv[i]);
#undef OPT
        if (r < 0) return CLI_BAD_INPUT;
        const char *opt = argv[i][0] == '-' ? argv[i] : argv[i - 1];
        if (num) {
            if (cli_parse_f64(v, opt, "plan", num, err) != CLI_OK) return CLI_BAD_INPUT;
            if (*num < 0) return cli_usage_error(err, "plan", "%s must be >= 0, got '%s'", opt, v);
        }
        if (intv) {
            char name[32];
            snprintf(name, sizeof name, "%.*s", (int)strcspn(opt, "="), opt);
            int bits = strcmp(name, "--window-days") != 0;
            if (cli_parse_i64(v, 1, bits ? 32 : 100000, name, "plan", &n, err) != CLI_OK) return CLI_BAD_INPUT;
            if (!bits) o->window_days = (int)n;
            else if (strcmp(name, "--bits-now") == 0) o->bits_now = (int)n;
            else o->bits_low = (int)n;
        }
    }
    if (!*prices) return cli_usage_error(err, "plan", "missing --prices PRICES.csv");
    if (!*reg) return cli_usage_error(err, "plan", "missing --registry REGISTRY.json");
    if (!has_traffic) return cli_usage_error(err, "plan", "missing --traffic N (inferences per month)");
    if (o->amortize_months <= 0) return cli_usage_error(err, "plan", "--amortize-months must be > 0");
    return CLI_OK;
}

int cmd_plan(int argc, char **argv, FILE *out, RtError *err) {
    if (cli_wants_help(argc, argv)) {
        fputs(plan_usage, out);
        return CLI_OK;
    }
    DeployPlanOptions o;
    deploy_plan_options_default(&o);
    const char *prices = NULL, *regpath = NULL, *json = NULL;
    if (plan_args(argc, argv, &o, &prices, &regpath, &json, err) != CLI_OK) return CLI_BAD_INPUT;
    DeployPrices p;
    DeployRegistry r;
    deploy_registry_init(&r);
    memset(&p, 0, sizeof p);
    int status = CLI_OK;
    if (deploy_prices_load(prices, &p, err) != RT_OK || deploy_registry_load(regpath, 0, &r, err) != RT_OK)
        status = CLI_BAD_INPUT;
    if (status == CLI_OK && r.n == 0)
        status = (rt_error_set(err, "%s: field 'variants': the registry has no variants", regpath), CLI_BAD_INPUT);
    DeployPlan pl;
    if (status == CLI_OK && deploy_plan_make(&p, &r, &o, &pl, err) != RT_OK) status = CLI_BAD_INPUT;
    if (status == CLI_OK) {
        TextBuf t;
        memset(&t, 0, sizeof t);
        deploy_plan_text(&pl, &r, &t);
        if (t.s) fputs(t.s, out);
        text_buf_free(&t);
        if (json) {
            TextBuf b;
            memset(&b, 0, sizeof b);
            deploy_plan_json(&pl, &r, &b);
            if (b.oom || io_file_write_atomic(json, b.s, b.len, err) != RT_OK) {
                if (b.oom) rt_error_set(err, "%s: out of memory", json);
                status = CLI_BAD_INPUT;
            }
            text_buf_free(&b);
        }
    }
    deploy_prices_free(&p);
    deploy_registry_free(&r);
    return status;
}
