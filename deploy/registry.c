/*
 * registry.c — the variant registry: one JSON file listing the variants of a model (float32,
 * int8, 4-bit, distilled ...) with what was measured about each, and measured cascades.
 *
 * Schema (version 1):
 *   {
 *     "format": "wafer-registry",          constant
 *     "version": 1,                         required; other versions are refused
 *     "model": "digits_cnn.onnx",          the source model
 *     "variants": [ {
 *        "name": "int4-gptq-g32",           required, unique
 *        "file": "v/int4.wafer", "hash": "fnv1a64 hex of the file",
 *        "bits": 4, "method": "gptq", "group": 32, "distilled": false,
 *        "backend": "wafer-rt", "target": "c7i.large",   hardware it was measured on
 *        "accuracy": 0.99  |  "perplexity": 2.44,        exactly one of the two
 *        "weight_bytes": 52000, "arena_bytes": 9000,     -1 = unknown
 *        "latency_ms": 0.021, "price_per_hour": 0.085,   price of target when measured
 *        "cost_per_1k": ..., "cost_per_correct": ...     derived on writing, ignored on reading
 *     } ],
 *     "cascades": [ { "small": "...", "large": "...", "confidence": "max_prob"|"margin",
 *        "threshold": 0.9, "accuracy": 0.99, "escalated": 0.12, "latency_ms": 0.03 } ]
 *   }
 * Costs: 1,000 inferences take 1000 * latency_ms ms = latency_ms / 3600 hours, so
 * cost_per_1k = price_per_hour * latency_ms / 3600; cost_per_correct = cost of one inference /
 * accuracy (what a correct answer costs when wrong answers are paid for too).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../io/atomic_file.h"
#include "deploy.h"

void deploy_registry_init(DeployRegistry *r) {
    memset(r, 0, sizeof *r);
    r->version = DEPLOY_REGISTRY_VERSION;
}

void deploy_registry_free(DeployRegistry *r) {
    free(r->v);
    free(r->c);
    deploy_registry_init(r);
}

void deploy_variant_init(DeployVariant *v) {
    memset(v, 0, sizeof *v);
    v->bits = 32;
    v->arena_bytes = -1;
    v->weight_bytes = -1;
    v->latency_ms = NAN;
    v->price_per_hour = -1;
    v->quality = NAN;
}

double deploy_cost_per_inference(double latency_ms, double price_per_hour) {
    return latency_ms / 3.6e6 * price_per_hour;
}

double deploy_variant_cost_per_1k(const DeployVariant *v) {
    if (!(v->price_per_hour >= 0) || !(v->latency_ms >= 0)) return NAN;
    return 1000.0 * deploy_cost_per_inference(v->latency_ms, v->price_per_hour);
}

double deploy_variant_cost_per_correct(const DeployVariant *v) {
    if (v->metric != DEPLOY_METRIC_ACCURACY || !(v->quality > 0)) return NAN;
    return deploy_variant_cost_per_1k(v) / 1000.0 / v->quality;
}

const DeployVariant *deploy_registry_find(const DeployRegistry *r, const char *name) {
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->v[i].name, name) == 0) return &r->v[i];
    return NULL;
}

int deploy_registry_put(DeployRegistry *r, const DeployVariant *v, RtError *err) {
    if (!v->name[0]) return rt_error_set(err, "a registry variant needs a name");
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->v[i].name, v->name) == 0) return r->v[i] = *v, RT_OK;
    if (r->n == r->cap) {
        int cap = r->cap ? 2 * r->cap : 8;
        DeployVariant *nv = realloc(r->v, (size_t)cap * sizeof *nv);
        if (!nv) return rt_error_set(err, "out of memory");
        r->v = nv;
        r->cap = cap;
    }
    r->v[r->n++] = *v;
    return RT_OK;
}

int deploy_registry_put_cascade(DeployRegistry *r, const DeployCascade *c, RtError *err) {
    for (int i = 0; i < r->nc; i++)
        if (strcmp(r->c[i].small, c->small) == 0 && strcmp(r->c[i].large, c->large) == 0) return r->c[i] = *c, RT_OK;
    if (r->nc == r->capc) {
        int cap = r->capc ? 2 * r->capc : 4;
        DeployCascade *nc = realloc(r->c, (size_t)cap * sizeof *nc);
        if (!nc) return rt_error_set(err, "out of memory");
        r->c = nc;
        r->capc = cap;
    }
    r->c[r->nc++] = *c;
    return RT_OK;
}

/* ---- reading ---- */

typedef struct {
    const char *path;
    RtError *err;
} RegCtx;

static int field_err(const RegCtx *c, const JsonValue *v, const char *field, const char *what) {
    return rt_error_set(c->err, "%s:%d: field '%s': %s", c->path, v->line, field, what);
}

static int get_str(const RegCtx *c, const JsonValue *obj, const char *key, char *dst, size_t cap, int required) {
    const JsonValue *v = deploy_json_get(obj, key);
    if (!v) return required ? rt_error_set(c->err, "%s:%d: field '%s' is missing", c->path, obj->line, key) : RT_OK;
    if (v->kind != JSON_STR) return field_err(c, v, key, "must be a string");
    if (strlen(v->str) >= cap) return field_err(c, v, key, "is too long");
    strcpy(dst, v->str);
    return RT_OK;
}

/* A number; JSON null reads as NaN (unknown). */
static int get_num(const RegCtx *c, const JsonValue *obj, const char *key, double *dst, int required) {
    const JsonValue *v = deploy_json_get(obj, key);
    if (!v) return required ? rt_error_set(c->err, "%s:%d: field '%s' is missing", c->path, obj->line, key) : RT_OK;
    if (v->kind == JSON_NULL) return *dst = NAN, RT_OK;
    if (v->kind != JSON_NUM) return field_err(c, v, key, "must be a number");
    *dst = v->num;
    return RT_OK;
}

static int get_int(const RegCtx *c, const JsonValue *obj, const char *key, int64_t lo, int64_t hi, int64_t *dst) {
    double x = (double)*dst;
    if (get_num(c, obj, key, &x, 0) != RT_OK) return RT_ERR;
    if (x != x) x = -1;
    if (x != floor(x) || x < (double)lo || x > (double)hi)
        return field_err(c, deploy_json_get(obj, key), key, "must be an integer in range");
    *dst = (int64_t)x;
    return RT_OK;
}

static int parse_variant(const RegCtx *c, const JsonValue *o, DeployVariant *v) {
    deploy_variant_init(v);
    if (o->kind != JSON_OBJ) return rt_error_set(c->err, "%s:%d: a variant must be an object", c->path, o->line);
    int64_t bits = 32, group = 0, wb = -1, ab = -1;
    if (get_str(c, o, "name", v->name, sizeof v->name, 1) || get_str(c, o, "file", v->file, sizeof v->file, 0) ||
        get_str(c, o, "hash", v->hash, sizeof v->hash, 0) || get_str(c, o, "method", v->method, sizeof v->method, 0) ||
        get_str(c, o, "backend", v->backend, sizeof v->backend, 0) ||
        get_str(c, o, "target", v->target, sizeof v->target, 0) || get_int(c, o, "bits", 1, 64, &bits) ||
        get_int(c, o, "group", 0, 1 << 30, &group) || get_int(c, o, "weight_bytes", -1, INT64_MAX / 2, &wb) ||
        get_int(c, o, "arena_bytes", -1, INT64_MAX / 2, &ab) || get_num(c, o, "latency_ms", &v->latency_ms, 0) ||
        get_num(c, o, "price_per_hour", &v->price_per_hour, 0))
        return RT_ERR;
    v->bits = (int)bits;
    v->group = (int)group;
    v->weight_bytes = wb;
    v->arena_bytes = ab;
    if (v->price_per_hour != v->price_per_hour) v->price_per_hour = -1;
    const JsonValue *d = deploy_json_get(o, "distilled");
    if (d && d->kind != JSON_BOOL) return field_err(c, d, "distilled", "must be true or false");
    v->distilled = d ? d->b : 0;
    const JsonValue *acc = deploy_json_get(o, "accuracy"), *ppl = deploy_json_get(o, "perplexity");
    if (acc && ppl)
        return field_err(c, acc, "accuracy", "a variant has accuracy or perplexity, not both");
    v->metric = ppl ? DEPLOY_METRIC_PERPLEXITY : DEPLOY_METRIC_ACCURACY;
    if (get_num(c, o, ppl ? "perplexity" : "accuracy", &v->quality, 0) != RT_OK) return RT_ERR;
    if (acc && acc->kind == JSON_NUM && (v->quality < 0 || v->quality > 1))
        return field_err(c, acc, "accuracy", "must be in [0, 1]");
    return RT_OK;
}

static int parse_cascade(const RegCtx *c, const JsonValue *o, DeployCascade *k) {
    memset(k, 0, sizeof *k);
    if (o->kind != JSON_OBJ) return rt_error_set(c->err, "%s:%d: a cascade must be an object", c->path, o->line);
    char conf[16] = "max_prob";
    if (get_str(c, o, "small", k->small, sizeof k->small, 1) || get_str(c, o, "large", k->large, sizeof k->large, 1) ||
        get_str(c, o, "confidence", conf, sizeof conf, 0) || get_num(c, o, "threshold", &k->threshold, 1) ||
        get_num(c, o, "accuracy", &k->accuracy, 0) || get_num(c, o, "escalated", &k->escalated, 0) ||
        get_num(c, o, "latency_ms", &k->latency_ms, 0))
        return RT_ERR;
    if (strcmp(conf, "max_prob") != 0 && strcmp(conf, "margin") != 0)
        return field_err(c, deploy_json_get(o, "confidence"), "confidence", "must be \"max_prob\" or \"margin\"");
    k->margin = strcmp(conf, "margin") == 0;
    return RT_OK;
}

int deploy_registry_parse(const char *text, const char *path, DeployRegistry *r, RtError *err) {
    deploy_registry_init(r);
    JsonValue root;
    if (deploy_json_parse(text, path, &root, err) != RT_OK) return RT_ERR;
    RegCtx c = {path, err};
    int rc = RT_OK;
    const JsonValue *ver = deploy_json_get(&root, "version"), *vars = deploy_json_get(&root, "variants");
    const JsonValue *cas = deploy_json_get(&root, "cascades");
    if (root.kind != JSON_OBJ) {
        rc = rt_error_set(err, "%s:%d: a registry is a JSON object", path, root.line);
    } else if (!ver) {
        rc = rt_error_set(err, "%s: field 'version' is missing (not a wafer registry?)", path);
    } else if (ver->kind != JSON_NUM || ver->num != DEPLOY_REGISTRY_VERSION) {
        char got[64];
        if (ver->kind == JSON_NUM) snprintf(got, sizeof got, "%g", ver->num);
        else snprintf(got, sizeof got, "a non-number");
        rc = rt_error_set(err, "%s:%d: field 'version': unknown registry version %s (this wafer reads version %d)",
                          path, ver->line, got, DEPLOY_REGISTRY_VERSION);
    } else if (get_str(&c, &root, "model", r->model, sizeof r->model, 0) != RT_OK) {
        rc = RT_ERR;
    } else if (vars && vars->kind != JSON_ARR) {
        rc = field_err(&c, vars, "variants", "must be an array");
    } else if (cas && cas->kind != JSON_ARR) {
        rc = field_err(&c, cas, "cascades", "must be an array");
    }
    for (int i = 0; rc == RT_OK && vars && i < vars->n; i++) {
        DeployVariant v;
        rc = parse_variant(&c, &vars->items[i], &v);
        if (rc == RT_OK && deploy_registry_find(r, v.name))
            rc = rt_error_set(err, "%s:%d: field 'name': variant '%s' appears twice", path, vars->items[i].line, v.name);
        if (rc == RT_OK) rc = deploy_registry_put(r, &v, err);
    }
    for (int i = 0; rc == RT_OK && cas && i < cas->n; i++) {
        DeployCascade k;
        rc = parse_cascade(&c, &cas->items[i], &k);
        if (rc == RT_OK) rc = deploy_registry_put_cascade(r, &k, err);
    }
    deploy_json_free(&root);
    if (rc != RT_OK) deploy_registry_free(r);
    return rc;
}

int deploy_registry_load(const char *path, int allow_missing, DeployRegistry *r, RtError *err) {
    deploy_registry_init(r);
    TextBuf b;
    memset(&b, 0, sizeof b);
    int got = text_buf_read_file(&b, path);
    if (got != 0) {
        text_buf_free(&b);
        if (got == -1 && allow_missing) return RT_OK;
        return rt_error_set(err, "%s: cannot %s the registry", path, got == -1 ? "open" : "read");
    }
    if (b.s && strlen(b.s) != b.len) {
        text_buf_free(&b);
        return rt_error_set(err, "%s: the registry contains a NUL byte (not JSON text)", path);
    }
    int rc = deploy_registry_parse(b.s ? b.s : "", path, r, err);
    text_buf_free(&b);
    return rc;
}

/* ---- writing ---- */

static void variant_json(const DeployVariant *v, TextBuf *b) {
    text_buf_printf(b, "    {\"name\": ");
    text_buf_json_str(b, v->name);
    text_buf_printf(b, ", \"file\": ");
    text_buf_json_str(b, v->file);
    text_buf_printf(b, ", \"hash\": ");
    text_buf_json_str(b, v->hash);
    text_buf_printf(b, ",\n     \"bits\": %d, \"method\": ", v->bits);
    text_buf_json_str(b, v->method);
    text_buf_printf(b, ", \"group\": %d, \"distilled\": %s, \"backend\": ", v->group, v->distilled ? "true" : "false");
    text_buf_json_str(b, v->backend);
    text_buf_printf(b, ", \"target\": ");
    text_buf_json_str(b, v->target);
    text_buf_printf(b, ",\n     \"%s\": ", v->metric == DEPLOY_METRIC_PERPLEXITY ? "perplexity" : "accuracy");
    text_buf_json_num(b, v->quality);
    text_buf_printf(b, ", \"weight_bytes\": %lld, \"arena_bytes\": %lld, \"latency_ms\": ", (long long)v->weight_bytes,
                    (long long)v->arena_bytes);
    text_buf_json_num(b, v->latency_ms);
    text_buf_printf(b, ", \"price_per_hour\": ");
    text_buf_json_num(b, v->price_per_hour >= 0 ? v->price_per_hour : NAN);
    text_buf_printf(b, ",\n     \"cost_per_1k\": ");
    text_buf_json_num(b, deploy_variant_cost_per_1k(v));
    text_buf_printf(b, ", \"cost_per_correct\": ");
    text_buf_json_num(b, deploy_variant_cost_per_correct(v));
    text_buf_printf(b, "}");
}

void deploy_registry_json(const DeployRegistry *r, TextBuf *b) {
    text_buf_printf(b, "{\n  \"format\": \"wafer-registry\",\n  \"version\": %d,\n  \"model\": ", DEPLOY_REGISTRY_VERSION);
    text_buf_json_str(b, r->model);
    text_buf_printf(b, ",\n  \"variants\": [%s", r->n ? "\n" : "");
    for (int i = 0; i < r->n; i++) {
        variant_json(&r->v[i], b);
        text_buf_printf(b, "%s\n", i + 1 < r->n ? "," : "");
    }
    text_buf_printf(b, "%s],\n  \"cascades\": [%s", r->n ? "  " : "", r->nc ? "\n" : "");
    for (int i = 0; i < r->nc; i++) {
        const DeployCascade *k = &r->c[i];
        text_buf_printf(b, "    {\"small\": ");
        text_buf_json_str(b, k->small);
        text_buf_printf(b, ", \"large\": ");
        text_buf_json_str(b, k->large);
        text_buf_printf(b, ", \"confidence\": \"%s\", \"threshold\": ", k->margin ? "margin" : "max_prob");
        text_buf_json_num(b, k->threshold);
        text_buf_printf(b, ", \"accuracy\": ");
        text_buf_json_num(b, k->accuracy);
        text_buf_printf(b, ", \"escalated\": ");
        text_buf_json_num(b, k->escalated);
        text_buf_printf(b, ", \"latency_ms\": ");
        text_buf_json_num(b, k->latency_ms);
        text_buf_printf(b, "}%s\n", i + 1 < r->nc ? "," : "");
    }
    text_buf_printf(b, "%s]\n}\n", r->nc ? "  " : "");
}

int deploy_registry_save(const DeployRegistry *r, const char *path, RtError *err) {
    TextBuf b;
    memset(&b, 0, sizeof b);
    deploy_registry_json(r, &b);
    int rc = b.oom ? rt_error_set(err, "%s: out of memory", path) : io_file_write_atomic(path, b.s, b.len, err);
    text_buf_free(&b);
    return rc;
}
