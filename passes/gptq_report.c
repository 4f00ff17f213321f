/*
 * gptq_report.c — the GPTQ / RTN report as JSON and as text lines (one per layer).
 *
 * JSON: {"model", "method", "bits", "group", "sym", "act_order", "static_groups", "clip_search", "damp",
 * "block", "rows", "steps", "seconds": {"total", "forward", "hessian", "quantize"},
 * "err_gptq_sum", "err_rtn_sum", "layers": [{"node", "op", "k", "n", "groups", "step", "rows",
 * "dead", "err_gptq", "err_rtn", "seconds"}]}; errors are ||XW - XW_q||^2 over the calibration
 * rows, null when not measured.
 */
#include "gptq.h"

#include "../io/text_buf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *method_name(const GptqReport *r) { return r->method == GPTQ_METHOD_GPTQ ? "gptq" : "rtn"; }

/* Sums of the measured errors; NaN when no layer has one. */
static void err_sums(const GptqReport *r, double *eg, double *er) {
    *eg = *er = NAN;
    for (int i = 0; i < r->n_layers; i++) {
        const GptqLayerReport *l = &r->layers[i];
        if (isfinite(l->err_gptq)) *eg = (isnan(*eg) ? 0 : *eg) + l->err_gptq;
        if (isfinite(l->err_rtn)) *er = (isnan(*er) ? 0 : *er) + l->err_rtn;
    }
}

char *gptq_report_json(const GptqReport *r, const char *model) {
    TextBuf b = {0};
    const GptqSpec *s = &r->spec;
    double eg, er;
    err_sums(r, &eg, &er);
    text_buf_printf(&b, "{\"model\":");
    text_buf_json_str(&b, model ? model : "");
    text_buf_printf(&b, ",\"method\":\"%s\",\"bits\":%d,\"group\":%lld,\"sym\":%s,\"act_order\":%s,\"static_groups\":%s,",
               method_name(r), s->bits, (long long)s->group, s->sym ? "true" : "false",
               s->act_order ? "true" : "false", s->static_groups ? "true" : "false");
    text_buf_printf(&b, "\"clip_search\":%s,", s->clip_search ? "true" : "false");
    text_buf_printf(&b, "\"damp\":");
    text_buf_json_num(&b, s->damp);
    text_buf_printf(&b, ",\"block\":%lld,\"rows\":%lld,\"steps\":%d,\"seconds\":{\"total\":", (long long)s->block,
               (long long)r->rows, r->steps);
    text_buf_json_num(&b, r->seconds_total);
    text_buf_printf(&b, ",\"forward\":");
    text_buf_json_num(&b, r->seconds_forward);
    text_buf_printf(&b, ",\"hessian\":");
    text_buf_json_num(&b, r->seconds_hessian);
    text_buf_printf(&b, ",\"quantize\":");
    text_buf_json_num(&b, r->seconds_quantize);
    text_buf_printf(&b, "},\"err_gptq_sum\":");
    text_buf_json_num(&b, eg);
    text_buf_printf(&b, ",\"err_rtn_sum\":");
    text_buf_json_num(&b, er);
    text_buf_printf(&b, ",\"layers\":[");
    for (int i = 0; i < r->n_layers; i++) {
        const GptqLayerReport *l = &r->layers[i];
        text_buf_printf(&b, "%s{\"node\":", i ? "," : "");
        text_buf_json_str(&b, l->node);
        text_buf_printf(&b, ",\"op\":");
        text_buf_json_str(&b, l->op);
        text_buf_printf(&b, ",\"k\":%lld,\"n\":%lld,\"groups\":%d,\"step\":%d,\"rows\":%lld,\"dead\":%d,\"err_gptq\":",
                   (long long)l->K, (long long)l->N, l->groups, l->step, (long long)l->rows, l->n_dead);
        text_buf_json_num(&b, l->err_gptq);
        text_buf_printf(&b, ",\"err_rtn\":");
        text_buf_json_num(&b, l->err_rtn);
        text_buf_printf(&b, ",\"seconds\":");
        text_buf_json_num(&b, l->seconds);
        text_buf_printf(&b, "}");
    }
    text_buf_printf(&b, "]}\n");
    return text_buf_take(&b);
}

char *gptq_report_text(const GptqReport *r) {
    TextBuf b = {0};
    const GptqSpec *s = &r->spec;
    char grp[32];
    if (s->group) snprintf(grp, sizeof grp, "g%lld", (long long)s->group);
    else snprintf(grp, sizeof grp, "per-channel");
    text_buf_printf(&b, "%s %d-bit %s %s%s%s%s, damp %g, %lld calibration samples, %d steps\n", method_name(r), s->bits,
               grp, s->sym ? "sym" : "asym", s->act_order ? " act-order" : "", s->static_groups ? " static-groups" : "",
               s->clip_search ? " clip-search" : "", s->damp, (long long)r->rows, r->steps);
    text_buf_printf(&b, "%-32s %5s %6s %6s %4s %14s %14s %6s %8s\n", "layer", "step", "K", "N", "bits", "err_gptq",
               "err_rtn", "ratio", "seconds");
    for (int i = 0; i < r->n_layers; i++) {
        const GptqLayerReport *l = &r->layers[i];
        char eg[32] = "-", er[32] = "-", ratio[32] = "-";
        if (isfinite(l->err_gptq)) snprintf(eg, sizeof eg, "%.6g", l->err_gptq);
        if (isfinite(l->err_rtn)) snprintf(er, sizeof er, "%.6g", l->err_rtn);
        if (isfinite(l->err_gptq) && isfinite(l->err_rtn) && l->err_rtn > 0)
            snprintf(ratio, sizeof ratio, "%.3f", l->err_gptq / l->err_rtn);
        text_buf_printf(&b, "%-32s %5d %6lld %6lld %4d %14s %14s %6s %8.3f\n", l->node, l->step, (long long)l->K,
                   (long long)l->N, s->bits, eg, er, ratio, l->seconds);
    }
    double eg, er;
    err_sums(r, &eg, &er);
    text_buf_printf(&b, "total: err_gptq %.6g, err_rtn %.6g; %.2f s (forward %.2f, Hessians %.2f, quantize %.2f)\n", eg, er,
               r->seconds_total, r->seconds_forward, r->seconds_hessian, r->seconds_quantize);
    return text_buf_take(&b);
}
