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
    "  --window-days N        moving-average window: the mean of the observations in the N\n"
    "                         days ending at the latest one, that one included (default 90)\n"
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

/* The numeric options: each sets one field (a double, or an int when `is_int`). */
typedef struct {
    const char *name;
    double *d;
    int *i;
    double lo, hi;
} PlanNumOpt;

static int plan_args(int argc, char **argv, DeployPlanOptions *o, const char **prices, const char **reg,
                     const char **json, RtError *err) {
    const PlanNumOpt nums[] = {
        {"--traffic", &o->traffic, NULL, 0, 1e18},
        {"--max-latency-ms", &o->sla_latency_ms, NULL, 0, 1e12},
        {"--min-accuracy", &o->sla_accuracy, NULL, 0, 1},
        {"--spike", &o->spike, NULL, 0, 1e6},
        {"--horizon-months", &o->horizon_months, NULL, 0, 1200},
        {"--distill-cost", &o->distill_cost, NULL, 0, 1e18},
        {"--distill-factor", &o->distill_factor, NULL, 0, 1e9},
        {"--amortize-months", &o->amortize_months, NULL, 1e-9, 1200},
        {"--maintenance", &o->maintenance, NULL, 0, 1e18},
        {"--window-days", NULL, &o->window_days, 1, 100000},
        {"--bits-now", NULL, &o->bits_now, 1, 32},
        {"--bits-low", NULL, &o->bits_low, 1, 32},
    };
    int has_traffic = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r = 0;
#define OPT(name) ((r = cli_opt(argc, argv, &i, name, &v, "plan", err)) != 0)
        if (OPT("--prices")) *prices = v;
        else if (OPT("--registry")) *reg = v;
        else if (OPT("--json")) *json = v;
        else if (OPT("--cloud")) o->cloud = v;
        else if (OPT("--device")) o->device = v;
        else if (OPT("--watch")) o->watch = v;
        else {
            size_t k = 0;
            while (k < sizeof nums / sizeof nums[0] && !OPT(nums[k].name)) k++;
            if (k == sizeof nums / sizeof nums[0]) return cli_usage_error(err, "plan", "unknown argument '%s'", argv[i]);
            double x = 0;
            if (r > 0 && cli_parse_f64(v, nums[k].name, "plan", &x, err) != CLI_OK) return CLI_BAD_INPUT;
            if (r > 0 && (!(x >= nums[k].lo && x <= nums[k].hi) || (nums[k].i && x != (double)(int)x)))
                return cli_usage_error(err, "plan", "%s must be %s in [%g, %g], got '%s'", nums[k].name,
                                       nums[k].i ? "an integer" : "a number", nums[k].lo, nums[k].hi, v);
            if (nums[k].d) *nums[k].d = x;
            else *nums[k].i = (int)x;
            has_traffic |= nums[k].d == &o->traffic;
        }
#undef OPT
        if (r < 0) return CLI_BAD_INPUT;
    }
    if (!*prices) return cli_usage_error(err, "plan", "missing --prices PRICES.csv");
    if (!*reg) return cli_usage_error(err, "plan", "missing --registry REGISTRY.json");
    if (!has_traffic) return cli_usage_error(err, "plan", "missing --traffic N (inferences per month)");
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
