/*
 * cmd_registry.c — `wafer registry add|list|show REGISTRY.json`: maintains the variant
 * registry of a model (deploy/registry.c documents the JSON schema and its version field).
 *
 *   add   puts one variant (replacing one of the same name): the fields come from options, and
 *         --from-eval FILE takes accuracy/perplexity, per-sample latency and weight bytes from
 *         a `wafer eval --json` report (how eval results enter the registry). The file's hash
 *         is computed; for a .wafer file the weight and arena bytes come from the runtime when
 *         not given. The registry is created when missing and written atomically.
 *   list  one line per variant, with cost per 1,000 inferences and cost per correct inference.
 *   show  the whole registry as JSON, or one variant's fields (NAME).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../deploy/deploy.h"
#include "../format/wafer_file.h"
#include "cli.h"

static const char *const registry_usage =
    "usage: wafer registry add REGISTRY.json --name NAME [--file MODEL] [fields]\n"
    "       wafer registry list REGISTRY.json\n"
    "       wafer registry show REGISTRY.json [NAME]\n"
    "\n"
    "The variant registry of a model: a JSON file (\"format\": \"wafer-registry\", \"version\": 1)\n"
    "listing its variants with file, hash, target, quality, bytes, latency and cost.\n"
    "Cost per 1,000 inferences = price_per_hour * latency_ms / 3600; cost per correct\n"
    "inference = cost of one inference / accuracy.\n"
    "\n"
    "add fields:\n"
    "  --name NAME             variant name (required; replaces a variant of that name)\n"
    "  --file MODEL            the model file (its FNV-1a 64 hash is recorded)\n"
    "  --model SRC             the source model the registry is about\n"
    "  --bits B --method M --group G --distilled\n"
    "  --backend NAME --target NAME   what it ran on (target: a device of the price CSV)\n"
    "  --accuracy X | --perplexity X\n"
    "  --weight-bytes N --arena-bytes N --latency-ms X --price-per-hour X\n"
    "  --from-eval FILE.json   take accuracy or perplexity, latency_ms_per_sample and\n"
    "                          weight_bytes from a `wafer eval --json` report\n"
    "\n"
    "Exit status 0 ok, 2 bad input (the message names the file and the line or field).\n";

static int registry_num(const char *opt, const char *v, double *x, RtError *err) {
    return cli_parse_f64(v, opt, "registry", x, err);
}

/* Reads the eval report's fields into v (flat JSON of ARCHITECTURE.md). */
static int registry_from_eval(const char *path, DeployVariant *v, RtError *err) {
    TextBuf b;
    memset(&b, 0, sizeof b);
    int got = text_buf_read_file(&b, path);
    if (got != 0) {
        text_buf_free(&b);
        return rt_error_set(err, "%s: cannot %s the eval report", path, got == -1 ? "open" : "read"), CLI_BAD_INPUT;
    }
    JsonValue root;
    int rc = deploy_json_parse(b.s ? b.s : "", path, &root, err);
    text_buf_free(&b);
    if (rc != RT_OK) return CLI_BAD_INPUT;
    const JsonValue *acc = deploy_json_get(&root, "accuracy"), *ppl = deploy_json_get(&root, "perplexity");
    const JsonValue *lat = deploy_json_get(&root, "latency_ms_per_sample"), *wb = deploy_json_get(&root, "weight_bytes");
    const JsonValue *q = acc ? acc : ppl;
    int status = CLI_OK;
    if (!q || q->kind != JSON_NUM)
        status = (rt_error_set(err, "%s: field 'accuracy' or 'perplexity' missing (not a wafer eval --json report?)", path),
                  CLI_BAD_INPUT);
    if (status == CLI_OK) {
        v->metric = acc ? DEPLOY_METRIC_ACCURACY : DEPLOY_METRIC_PERPLEXITY;
        v->quality = q->num;
        if (lat && lat->kind == JSON_NUM) v->latency_ms = lat->num;
        if (wb && wb->kind == JSON_NUM) v->weight_bytes = (int64_t)wb->num;
    }
    deploy_json_free(&root);
    return status;
}

/* Hash, and for .wafer files the runtime's byte counts when not given. */
static int registry_file_facts(DeployVariant *v, RtError *err) {
    if (!v->file[0]) return CLI_OK;
    if (wafer_file_hash(v->file, v->hash, err) != RT_OK) return CLI_BAD_INPUT;
    if (!wafer_file_is(v->file) || (v->weight_bytes >= 0 && v->arena_bytes >= 0)) return CLI_OK;
    WaferRtModel *m;
    if (cli_rt_open(v->file, 0, &m, err) != CLI_OK) return CLI_BAD_INPUT;
    if (v->weight_bytes < 0) v->weight_bytes = (int64_t)wafer_rt_weight_bytes(m);
    /* 0: no plan stored (dynamic input sizes are planned at the first run): unknown */
    if (v->arena_bytes < 0 && wafer_rt_arena_bytes(m) > 0) v->arena_bytes = (int64_t)wafer_rt_arena_bytes(m);
    wafer_rt_close(m);
    return CLI_OK;
}

static int copy_field(char *dst, size_t cap, const char *v, const char *opt, RtError *err) {
    if (strlen(v) >= cap) return cli_usage_error(err, "registry", "%s: '%s' is too long", opt, v);
    strcpy(dst, v);
    return CLI_OK;
}

static int registry_add(int argc, char **argv, const char *path, FILE *out, RtError *err) {
    DeployVariant v;
    deploy_variant_init(&v);
    v.bits = 0;
    const char *model = NULL, *from_eval = NULL;
    int has_acc = 0, has_ppl = 0;
    for (int i = 3; i < argc; i++) {
        const char *a = NULL;
        int r = 0, st = CLI_OK;
        double x = 0;
        int64_t n = 0;
#define OPT(name) ((r = cli_opt(argc, argv, &i, name, &a, "registry", err)) != 0)
        if (strcmp(argv[i], "--distilled") == 0) v.distilled = 1;
        else if (OPT("--name")) st = r < 0 ? CLI_BAD_INPUT : copy_field(v.name, sizeof v.name, a, "--name", err);
        else if (OPT("--file")) st = r < 0 ? CLI_BAD_INPUT : copy_field(v.file, sizeof v.file, a, "--file", err);
        else if (OPT("--model")) model = a;
        else if (OPT("--method")) st = r < 0 ? CLI_BAD_INPUT : copy_field(v.method, sizeof v.method, a, "--method", err);
        else if (OPT("--backend")) st = r < 0 ? CLI_BAD_INPUT : copy_field(v.backend, sizeof v.backend, a, "--backend", err);
        else if (OPT("--target")) st = r < 0 ? CLI_BAD_INPUT : copy_field(v.target, sizeof v.target, a, "--target", err);
        else if (OPT("--from-eval")) from_eval = a;
        else if (OPT("--bits")) st = r < 0 ? CLI_BAD_INPUT : cli_parse_i64(a, 1, 64, "--bits", "registry", &n, err), v.bits = (int)n;
        else if (OPT("--group")) st = r < 0 ? CLI_BAD_INPUT : cli_parse_i64(a, 0, 1 << 30, "--group", "registry", &n, err), v.group = (int)n;
        else if (OPT("--weight-bytes")) st = r < 0 ? CLI_BAD_INPUT : cli_parse_i64(a, 0, INT64_MAX / 2, "--weight-bytes", "registry", &v.weight_bytes, err);
        else if (OPT("--arena-bytes")) st = r < 0 ? CLI_BAD_INPUT : cli_parse_i64(a, 0, INT64_MAX / 2, "--arena-bytes", "registry", &v.arena_bytes, err);
        else if (OPT("--latency-ms")) st = r < 0 ? CLI_BAD_INPUT : registry_num("--latency-ms", a, &v.latency_ms, err);
        else if (OPT("--price-per-hour")) st = r < 0 ? CLI_BAD_INPUT : registry_num("--price-per-hour", a, &v.price_per_hour, err);
        else if (OPT("--accuracy")) st = r < 0 ? CLI_BAD_INPUT : registry_num("--accuracy", a, &x, err), v.quality = x, has_acc = 1;
        else if (OPT("--perplexity")) st = r < 0 ? CLI_BAD_INPUT : registry_num("--perplexity", a, &x, err), v.quality = x, has_ppl = 1;
        else return cli_usage_error(err, "registry", "unknown argument '%s'", argv[i]);
#undef OPT
        if (r < 0 || st != CLI_OK) return CLI_BAD_INPUT;
    }
    if (!v.name[0]) return cli_usage_error(err, "registry", "add needs --name NAME");
    if (has_acc && has_ppl) return cli_usage_error(err, "registry", "--accuracy or --perplexity, not both");
    if (has_acc && (v.quality < 0 || v.quality > 1))
        return cli_usage_error(err, "registry", "--accuracy must be in [0, 1], got %g", v.quality);
    v.metric = has_ppl ? DEPLOY_METRIC_PERPLEXITY : DEPLOY_METRIC_ACCURACY;
    double q = v.quality;
    if (from_eval && registry_from_eval(from_eval, &v, err) != CLI_OK) return CLI_BAD_INPUT;
    if (has_acc || has_ppl) v.quality = q, v.metric = has_ppl ? DEPLOY_METRIC_PERPLEXITY : DEPLOY_METRIC_ACCURACY;
    if (v.bits == 0) v.bits = 32;
    if (registry_file_facts(&v, err) != CLI_OK) return CLI_BAD_INPUT;
    DeployRegistry reg;
    if (deploy_registry_load(path, 1, &reg, err) != RT_OK) return CLI_BAD_INPUT;
    int status = CLI_OK;
    if (model) snprintf(reg.model, sizeof reg.model, "%s", model);
    if (deploy_registry_put(&reg, &v, err) != RT_OK || deploy_registry_save(&reg, path, err) != RT_OK)
        status = CLI_BAD_INPUT;
    if (status == CLI_OK) fprintf(out, "%s: %s (%d variants)\n", path, v.name, reg.n);
    deploy_registry_free(&reg);
    return status;
}

static void registry_list(const DeployRegistry *r, FILE *out) {
    fprintf(out, "%-22s %4s %-6s %5s %-14s %10s %12s %12s %11s %12s %14s\n", "name", "bits", "method", "group",
            "target", "quality", "weight_bytes", "arena_bytes", "latency_ms", "cost_per_1k", "cost_per_correct");
    for (int i = 0; i < r->n; i++) {
        const DeployVariant *v = &r->v[i];
        fprintf(out, "%-22s %4d %-6s %5d %-14s %10.4f %12lld %12lld %11.4f %12.6g %14.6g\n", v->name, v->bits,
                v->method[0] ? v->method : "-", v->group, v->target[0] ? v->target : "-", v->quality,
                (long long)v->weight_bytes, (long long)v->arena_bytes, v->latency_ms, deploy_variant_cost_per_1k(v),
                deploy_variant_cost_per_correct(v));
    }
    for (int i = 0; i < r->nc; i++)
        fprintf(out, "cascade %s -> %s: %s < %g escalates; accuracy %.4f, %.1f%% escalated, %.4f ms\n", r->c[i].small,
                r->c[i].large, r->c[i].margin ? "margin" : "max_prob", r->c[i].threshold, r->c[i].accuracy,
                100 * r->c[i].escalated, r->c[i].latency_ms);
}

static int registry_show(const DeployRegistry *r, const char *name, FILE *out, const char *path, RtError *err) {
    if (!name) {
        TextBuf b;
        memset(&b, 0, sizeof b);
        deploy_registry_json(r, &b);
        if (b.s) fputs(b.s, out);
        text_buf_free(&b);
        return CLI_OK;
    }
    const DeployVariant *v = deploy_registry_find(r, name);
    if (!v) return rt_error_set(err, "%s: no variant named '%s'", path, name), CLI_BAD_INPUT;
    fprintf(out, "name:             %s\nfile:             %s\nhash:             %s\nbits:             %d\n", v->name,
            v->file, v->hash, v->bits);
    fprintf(out, "method:           %s\ngroup:            %d\ndistilled:        %s\nbackend:          %s\n", v->method,
            v->group, v->distilled ? "yes" : "no", v->backend);
    fprintf(out, "target:           %s\n%-17s %.6g\nweight_bytes:     %lld\narena_bytes:      %lld\n", v->target,
            v->metric == DEPLOY_METRIC_PERPLEXITY ? "perplexity:" : "accuracy:", v->quality,
            (long long)v->weight_bytes, (long long)v->arena_bytes);
    fprintf(out, "latency_ms:       %.6g\nprice_per_hour:   %.6g\ncost_per_1k:      %.6g\ncost_per_correct: %.6g\n",
            v->latency_ms, v->price_per_hour, deploy_variant_cost_per_1k(v), deploy_variant_cost_per_correct(v));
    return CLI_OK;
}

int cmd_registry(int argc, char **argv, FILE *out, RtError *err) {
    if (cli_wants_help(argc, argv)) {
        fputs(registry_usage, out);
        return CLI_OK;
    }
    if (argc < 3) return cli_usage_error(err, "registry", "expected add|list|show REGISTRY.json");
    const char *sub = argv[1], *path = argv[2];
    if (strcmp(sub, "add") == 0) return registry_add(argc, argv, path, out, err);
    if (strcmp(sub, "list") != 0 && strcmp(sub, "show") != 0)
        return cli_usage_error(err, "registry", "unknown subcommand '%s' (add, list or show)", sub);
    if (argc > (strcmp(sub, "show") == 0 ? 4 : 3))
        return cli_usage_error(err, "registry", "unexpected argument '%s'", argv[argc - 1]);
    DeployRegistry reg;
    if (deploy_registry_load(path, 0, &reg, err) != RT_OK) return CLI_BAD_INPUT;
    int status = CLI_OK;
    if (strcmp(sub, "list") == 0) registry_list(&reg, out);
    else status = registry_show(&reg, argc > 3 ? argv[3] : NULL, out, path, err);
    deploy_registry_free(&reg);
    return status;
}
