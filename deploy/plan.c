/*
 * plan.c — `wafer plan`: from price observations, the variant registry, the traffic and an
 * SLA, a deployment decision with the numbers behind each part.
 *
 *  1. Bit width. The watched series (the cloud instance unless told otherwise): its latest
 *     price against the mean over the window (default 90 days) ending that day. When
 *     now > mean * (1 + spike) (spike default 0.25) the width steps down (8 -> 4), else it
 *     stays.
 *  2. Variant. Among the registry's variants that meet the SLA (accuracy >= min, latency <=
 *     max) on hardware that can be bought (its target's latest observation says available,
 *     and a device's lead time fits the horizon; a target absent from the prices counts as
 *     buyable): the most accurate of the chosen width (ties: faster); if none has that width,
 *     the cheapest per correct inference of any width.
 *  3. Distill. spend = traffic * horizon_months * cost of one inference on the cloud instance
 *     (latency_ms / 3.6e6 h * price per hour now). Distill when spend > factor * distill_cost
 *     (default 3x), or when no variant meets the SLA on hardware that can be bought.
 *  4. Edge or cloud. cloud/month = traffic * cost per inference; a device costs
 *     price / amortize_months + maintenance per month and serves seconds_per_month /
 *     latency_s inferences a month (30-day months; latency of a variant of the same width
 *     measured on the device when the registry has one), so devices = ceil(traffic *
 *     latency_s / 2,592,000), edge/month = devices * that. Breakeven (one device) =
 *     (price / amortize_months + maintenance) / cost per inference. Edge only when the device
 *     is available now with a lead time within the horizon, and cheaper.
 *  5. Cascade. The registry's cascade whose small model is the chosen variant, else the one
 *     meeting the accuracy floor that escalates least; its threshold is reported.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "deploy.h"

#define SECONDS_PER_MONTH (30.0 * 86400.0)
#define DAYS_PER_MONTH 30.0

void deploy_plan_options_default(DeployPlanOptions *o) {
    memset(o, 0, sizeof *o);
    o->spike = 0.25;
    o->window_days = 90;
    o->horizon_months = 12;
    o->distill_factor = 3;
    o->distill_cost = 1000;
    o->amortize_months = 36;
    o->bits_now = 8;
    o->bits_low = 4;
}

/* The first device of the given kind, or NULL. */
static const char *first_device(const DeployPrices *p, int per_hour) {
    for (int i = 0; i < p->n; i++)
        if (p->rows[i].per_hour == per_hour) return p->rows[i].device;
    return NULL;
}

/* Whether the latest observation of `device` lets it be had within the horizon; why[] says why
 * not. Unknown devices (not in the prices) count as buyable. */
static int buyable(const DeployPrices *p, const char *device, double horizon_months, char *why, size_t n) {
    DeploySeriesStats s;
    RtError e = {{0}};
    if (!device[0] || deploy_prices_stats(p, device, 1, &s, &e) != RT_OK) return 1;
    if (!s.last->available) {
        snprintf(why, n, "%s is not available (%s line %d)", device, p->path, s.last->line);
        return 0;
    }
    if (!s.last->per_hour && s.last->lead_days > horizon_months * DAYS_PER_MONTH) {
        snprintf(why, n, "%s has a lead time of %g days, beyond the %g-day horizon", device, s.last->lead_days,
                 horizon_months * DAYS_PER_MONTH);
        return 0;
    }
    return 1;
}

static int meets_sla(const DeployVariant *v, const DeployPlanOptions *o) {
    if (o->sla_accuracy > 0 && !(v->metric == DEPLOY_METRIC_ACCURACY && v->quality >= o->sla_accuracy)) return 0;
    if (o->sla_latency_ms > 0 && !(v->latency_ms <= o->sla_latency_ms)) return 0;
    return 1;
}

/* Ranking within the chosen width: more accurate (lower perplexity), then faster. */
static int better(const DeployVariant *a, const DeployVariant *b) {
    double qa = a->metric == DEPLOY_METRIC_PERPLEXITY ? -a->quality : a->quality;
    double qb = b->metric == DEPLOY_METRIC_PERPLEXITY ? -b->quality : b->quality;
    if (qa != qb) return qa > qb;
    return a->latency_ms < b->latency_ms;
}

static void plan_variant(const DeployPrices *p, const DeployRegistry *r, const DeployPlanOptions *o, double cloud_price,
                         DeployPlan *pl) {
    int any = -1;
    char why_not[256] = "";
    pl->variant = -1;
    for (int i = 0; i < r->n; i++) {
        const DeployVariant *v = &r->v[i];
        char why[256] = "";
        if (!meets_sla(v, o)) continue;
        if (!buyable(p, v->target, o->horizon_months, why, sizeof why)) {
            snprintf(why_not, sizeof why_not, "%s meets the SLA but %s", v->name, why);
            continue;
        }
        if (v->bits == pl->bits && (pl->variant < 0 || better(v, &r->v[pl->variant]))) pl->variant = i;
        double ci = deploy_cost_per_inference(v->latency_ms, cloud_price) / (v->quality > 0 ? v->quality : 1);
        if (any < 0 || ci < deploy_cost_per_inference(r->v[any].latency_ms, cloud_price) /
                                (r->v[any].quality > 0 ? r->v[any].quality : 1))
            any = i;
    }
    char sla[160] = "", lat[64] = "";
    if (o->sla_latency_ms > 0) snprintf(lat, sizeof lat, "latency <= %g ms", o->sla_latency_ms);
    if (o->sla_accuracy > 0) snprintf(sla, sizeof sla, "accuracy >= %g%s%s", o->sla_accuracy, lat[0] ? ", " : "", lat);
    else snprintf(sla, sizeof sla, "%s", lat[0] ? lat : "no SLA given");
    if (pl->variant >= 0) {
        const DeployVariant *v = &r->v[pl->variant];
        snprintf(pl->why_variant, sizeof pl->why_variant,
                 "%s: the most accurate %d-bit variant meeting the SLA (%s): quality %.4f, %.4f ms, %lld weight bytes",
                 v->name, pl->bits, sla, v->quality, v->latency_ms, (long long)v->weight_bytes);
    } else if (any >= 0) {
        pl->variant = any;
        const DeployVariant *v = &r->v[any];
        snprintf(pl->why_variant, sizeof pl->why_variant,
                 "no %d-bit variant meets the SLA (%s); %s (%d-bit) does and is the cheapest per correct inference",
                 pl->bits, sla, v->name, v->bits);
    } else {
        snprintf(pl->why_variant, sizeof pl->why_variant,
                 "none of the %d variants meets the SLA (%s) on hardware that can be bought%s%s", r->n, sla,
                 why_not[0] ? ": " : "", why_not);
    }
}

static int plan_bits(const DeployPrices *p, const DeployPlanOptions *o, const char *watch, DeployPlan *pl,
                     RtError *err) {
    DeploySeriesStats s;
    if (deploy_prices_stats(p, watch, o->window_days, &s, err) != RT_OK) return RT_ERR;
    pl->price_now = s.last->price;
    pl->price_mean = s.mean;
    pl->rise = s.mean > 0 ? s.last->price / s.mean - 1 : 0;
    int spike = pl->rise > o->spike;
    pl->bits = spike ? o->bits_low : o->bits_now;
    snprintf(pl->why_bits, sizeof pl->why_bits,
             "%s costs %g now (%s line %d), %+.1f%% against its %d-day mean %.4g over %d observations; "
             "the step-down threshold is +%.1f%%: %s %d-bit",
             watch, s.last->price, p->path, s.last->line, 100 * pl->rise, o->window_days, s.mean, s.n_window,
             100 * o->spike, spike ? "step down to" : "keep", pl->bits);
    return RT_OK;
}

static void plan_distill(const DeployRegistry *r, const DeployPlanOptions *o, double cloud_price, DeployPlan *pl) {
    if (pl->variant < 0) {
        pl->distill = 1;
        snprintf(pl->why_distill, sizeof pl->why_distill,
                 "distill: no variant meets the SLA on hardware that can be bought");
        return;
    }
    const DeployVariant *v = &r->v[pl->variant];
    double per = deploy_cost_per_inference(v->latency_ms, cloud_price);
    pl->spend = o->traffic * o->horizon_months * per;
    double bar = o->distill_factor * o->distill_cost;
    pl->distill = pl->spend > bar;
    snprintf(pl->why_distill, sizeof pl->why_distill,
             "%s: projected spend %.2f over %g months (%g inferences/month x %.3g per inference at %g/h, %.4f ms) "
             "%s %g x the distillation cost %g = %.2f",
             pl->distill ? "distill" : "do not distill", pl->spend, o->horizon_months, o->traffic, per, cloud_price,
             v->latency_ms, pl->distill ? "exceeds" : "does not exceed", o->distill_factor, o->distill_cost, bar);
}

static void plan_place(const DeployPrices *p, const DeployRegistry *r, const DeployPlanOptions *o, double cloud_price,
                       DeployPlan *pl) {
    pl->edge = 0;
    pl->breakeven = NAN;
    if (pl->variant < 0) {
        snprintf(pl->why_place, sizeof pl->why_place, "cloud: no variant to place");
        return;
    }
    const DeployVariant *v = &r->v[pl->variant];
    double per = deploy_cost_per_inference(v->latency_ms, cloud_price);
    pl->cloud_monthly = o->traffic * per;
    if (!pl->device[0]) {
        snprintf(pl->why_place, sizeof pl->why_place, "cloud: %.2f/month; no edge device in %s", pl->cloud_monthly,
                 p->path);
        return;
    }
    DeploySeriesStats s;
    RtError e = {{0}};
    deploy_prices_stats(p, pl->device, 1, &s, &e);
    double dev_month = s.last->price / o->amortize_months + o->maintenance;
    /* the device's own measurement of this width when the registry has one */
    double edge_ms = v->latency_ms;
    const char *measured = v->name;
    for (int i = 0; i < r->n; i++)
        if (r->v[i].bits == v->bits && strcmp(r->v[i].target, pl->device) == 0 && r->v[i].latency_ms > 0)
            edge_ms = r->v[i].latency_ms, measured = r->v[i].name;
    double serve = SECONDS_PER_MONTH / (edge_ms / 1000.0);
    pl->devices = (int64_t)ceil(o->traffic / serve);
    if (pl->devices < 1) pl->devices = 1;
    pl->edge_monthly = (double)pl->devices * dev_month;
    pl->breakeven = per > 0 ? dev_month / per : INFINITY;
    char why[256] = "";
    pl->edge_buyable = buyable(p, pl->device, o->horizon_months, why, sizeof why);
    int cheaper = pl->edge_monthly < pl->cloud_monthly;
    pl->edge = pl->edge_buyable && cheaper;
    char cost[520];
    snprintf(cost, sizeof cost,
             "cloud %.2f/month (%s at %g/h) vs edge %.2f/month (%lld x %s: %g / %g months + %g maintenance, "
             "%.4g ms per inference as measured for %s%s); breakeven %.0f inferences/month",
             pl->cloud_monthly, pl->cloud, cloud_price, pl->edge_monthly, (long long)pl->devices, pl->device,
             s.last->price, o->amortize_months, o->maintenance, edge_ms, measured,
             strcmp(measured, v->name) == 0 && strcmp(v->target, pl->device) != 0 ? " on its own target" : "",
             pl->breakeven);
    if (!pl->edge_buyable)
        snprintf(pl->why_place, sizeof pl->why_place, "cloud (forced): %s; %s", why, cost);
    else
        snprintf(pl->why_place, sizeof pl->why_place, "%s: %s", pl->edge ? "edge" : "cloud", cost);
}

static void plan_cascade(const DeployRegistry *r, const DeployPlanOptions *o, DeployPlan *pl) {
    pl->cascade = -1;
    const char *small = pl->variant >= 0 ? r->v[pl->variant].name : "";
    const char *file = pl->variant >= 0 ? r->v[pl->variant].file : "";
    for (int i = 0; i < r->nc && pl->cascade < 0; i++)
        if (strcmp(r->c[i].small, small) == 0 || (file[0] && strcmp(r->c[i].small, file) == 0)) pl->cascade = i;
    for (int i = 0; i < r->nc && pl->cascade < 0; i++) {
        if (r->c[i].accuracy < o->sla_accuracy) continue;
        if (pl->cascade < 0 || r->c[i].escalated < r->c[pl->cascade].escalated) pl->cascade = i;
    }
    if (pl->cascade < 0) {
        snprintf(pl->why_cascade, sizeof pl->why_cascade, "no measured cascade in the registry (run wafer cascade --sweep --registry)");
        return;
    }
    const DeployCascade *c = &r->c[pl->cascade];
    snprintf(pl->why_cascade, sizeof pl->why_cascade,
             "%s -> %s: escalate when %s < %g (accuracy %.4f, %.1f%% escalated, %.4f ms mean)", c->small, c->large,
             c->margin ? "margin" : "max probability", c->threshold, c->accuracy, 100 * c->escalated, c->latency_ms);
}

int deploy_plan_make(const DeployPrices *p, const DeployRegistry *r, const DeployPlanOptions *o, DeployPlan *pl,
                     RtError *err) {
    memset(pl, 0, sizeof *pl);
    const char *cloud = o->cloud ? o->cloud : first_device(p, 1);
    const char *device = o->device ? o->device : first_device(p, 0);
    if (!cloud) return rt_error_set(err, "%s: no cloud instance (a row with unit 'hour')", p->path);
    DeploySeriesStats cs;
    if (deploy_prices_stats(p, cloud, 1, &cs, err) != RT_OK) return RT_ERR;
    if (!cs.last->per_hour) return rt_error_set(err, "%s: '%s' is priced per unit, not per hour (not a cloud instance)", p->path, cloud);
    if (device) {
        DeploySeriesStats ds;
        if (deploy_prices_stats(p, device, 1, &ds, err) != RT_OK) return RT_ERR;
        if (ds.last->per_hour) return rt_error_set(err, "%s: '%s' is priced per hour, not per unit (not a device)", p->path, device);
        snprintf(pl->device, sizeof pl->device, "%s", device);
    }
    snprintf(pl->cloud, sizeof pl->cloud, "%s", cloud);
    if (r->n == 0) return rt_error_set(err, "the registry has no variants");
    if (plan_bits(p, o, o->watch ? o->watch : cloud, pl, err) != RT_OK) return RT_ERR;
    double cloud_price = cs.last->price;
    plan_variant(p, r, o, cloud_price, pl);
    plan_distill(r, o, cloud_price, pl);
    plan_place(p, r, o, cloud_price, pl);
    plan_cascade(r, o, pl);
    return RT_OK;
}

static void json_s(TextBuf *b, const char *key, const char *s, int comma) {
    text_buf_printf(b, "  \"%s\": \"", key);
    for (const char *q = s; *q; q++) {
        if (*q == '"' || *q == '\\') text_buf_printf(b, "\\%c", *q);
        else if ((unsigned char)*q < 0x20) text_buf_printf(b, "\\u%04x", (unsigned char)*q);
        else text_buf_printf(b, "%c", *q);
    }
    text_buf_printf(b, "\"%s\n", comma ? "," : "");
}

static void json_n(TextBuf *b, const char *key, double x) {
    if (x != x || isinf(x)) text_buf_printf(b, "  \"%s\": null,\n", key);
    else text_buf_printf(b, "  \"%s\": %.10g,\n", key, x);
}

void deploy_plan_json(const DeployPlan *pl, const DeployRegistry *r, TextBuf *b) {
    text_buf_printf(b, "{\n  \"bits\": %d,\n", pl->bits);
    json_n(b, "price_now", pl->price_now);
    json_n(b, "price_mean", pl->price_mean);
    json_n(b, "price_rise", pl->rise);
    json_s(b, "variant", pl->variant >= 0 ? r->v[pl->variant].name : "", 1);
    text_buf_printf(b, "  \"distill\": %s,\n", pl->distill ? "true" : "false");
    json_n(b, "spend", pl->spend);
    json_s(b, "placement", pl->edge ? "edge" : "cloud", 1);
    json_s(b, "cloud", pl->cloud, 1);
    json_s(b, "device", pl->device, 1);
    text_buf_printf(b, "  \"device_buyable\": %s,\n  \"devices\": %lld,\n", pl->edge_buyable ? "true" : "false",
                    (long long)pl->devices);
    json_n(b, "cloud_monthly", pl->cloud_monthly);
    json_n(b, "edge_monthly", pl->edge_monthly);
    json_n(b, "breakeven_traffic", pl->breakeven);
    json_n(b, "cascade_threshold", pl->cascade >= 0 ? r->c[pl->cascade].threshold : NAN);
    json_s(b, "why_bits", pl->why_bits, 1);
    json_s(b, "why_variant", pl->why_variant, 1);
    json_s(b, "why_distill", pl->why_distill, 1);
    json_s(b, "why_placement", pl->why_place, 1);
    json_s(b, "why_cascade", pl->why_cascade, 0);
    text_buf_printf(b, "}\n");
}

void deploy_plan_text(const DeployPlan *pl, const DeployRegistry *r, TextBuf *b) {
    text_buf_printf(b, "bits:      %d-bit\n  %s\n", pl->bits, pl->why_bits);
    text_buf_printf(b, "variant:   %s\n  %s\n", pl->variant >= 0 ? r->v[pl->variant].name : "(none)", pl->why_variant);
    text_buf_printf(b, "distill:   %s\n  %s\n", pl->distill ? "yes" : "no", pl->why_distill);
    text_buf_printf(b, "placement: %s\n  %s\n", pl->edge ? "edge" : "cloud", pl->why_place);
    if (pl->cascade >= 0)
        text_buf_printf(b, "cascade:   threshold %g\n  %s\n", r->c[pl->cascade].threshold, pl->why_cascade);
    else
        text_buf_printf(b, "cascade:   none\n  %s\n", pl->why_cascade);
}
