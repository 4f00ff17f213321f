/*
 * cli_inputs.c — the --input NAME=FILE.npy sets of run, eval and bench: parsing, reading,
 * and matching against a model's declared inputs (each exactly once; dtype, rank and every
 * known dim checked) so that a wrong file is refused with a message naming the input, the
 * file and the model before anything runs.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

int cli_inputs_add(CliInputs *s, const char *spec, const char *cmd, RtError *err) {
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || eq[1] == '\0')
        return cli_usage_error(err, cmd, "--input expects NAME=FILE.npy, got '%s'", spec);
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 4;
        CliInput *v = realloc(s->v, sizeof *v * (size_t)cap);
        if (!v) return rt_error_set(err, "out of memory"), CLI_BAD_INPUT;
        s->v = v;
        s->cap = cap;
    }
    /* The name is the text before '=': copy it so argv stays untouched. */
    size_t nl = (size_t)(eq - spec);
    char *name = malloc(nl + 1);
    if (!name) return rt_error_set(err, "out of memory"), CLI_BAD_INPUT;
    memcpy(name, spec, nl);
    name[nl] = '\0';
    CliInput *in = &s->v[s->n++];
    memset(in, 0, sizeof *in);
    in->name = name;
    in->path = eq + 1;
    return CLI_OK;
}

int cli_inputs_read(CliInputs *s, RtError *err) {
    for (int i = 0; i < s->n; i++)
        if (!s->v[i].t.data && npy_read(s->v[i].path, &s->v[i].t, err) != RT_OK) return CLI_BAD_INPUT;
    return CLI_OK;
}

void cli_inputs_free(CliInputs *s) {
    for (int i = 0; i < s->n; i++) {
        free((char *)s->v[i].name);
        free(s->v[i].t.data);
    }
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* An input declared int4 / uint4 / int2 / uint2 comes as int8 / uint8, one value per byte (.npy
 * has no 4-bit dtype; numpy's world unpacks them so): every value must lie in the type's range. */
static int input_lowbit_check(const IrGraph *g, const IrValue *v, const CliInput *in, RtError *err) {
    int bits = v->lowbit == 21 || v->lowbit == 22 ? 4 : 2, is_signed = v->lowbit == 22 || v->lowbit == 26;
    int lo = is_signed ? -(1 << (bits - 1)) : 0, hi = is_signed ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
    const char *type = v->lowbit == 21 ? "uint4" : v->lowbit == 22 ? "int4" : v->lowbit == 25 ? "uint2" : "int2";
    int64_t n = rt_numel(&in->t);
    for (int64_t i = 0; i < n; i++) {
        int e = is_signed ? ((const int8_t *)in->t.data)[i] : ((const uint8_t *)in->t.data)[i];
        if (e < lo || e > hi)
            return rt_error_set(err, "%s: input '%s' is %s (given as one %s per value): %s element %lld = %d is "
                                "outside %d..%d", g->path, v->name, type, rt_dtype_name(v->dtype), in->path,
                                (long long)i, e, lo, hi),
                   CLI_BAD_INPUT;
    }
    return CLI_OK;
}

/* Checks one file against the model's declared input v (dtype, rank, known dims; a sub-byte
 * type's range). */
static int input_check(const IrGraph *g, const IrValue *v, const CliInput *in, int from_axis,
                       RtError *err) {
    char want[160], got[160];
    cli_value_shape_str(v, want, sizeof want);
    rt_shape_str(in->t.rank, in->t.dims, got, sizeof got);
    if (v->dtype != RT_UNDEFINED && v->dtype != in->t.dtype)
        return rt_error_set(err, "%s: input '%s' expects %s, %s has %s", g->path, v->name,
                            rt_dtype_name(v->dtype), in->path, rt_dtype_name(in->t.dtype)),
               CLI_BAD_INPUT;
    if (v->lowbit && input_lowbit_check(g, v, in, err) != CLI_OK) return CLI_BAD_INPUT;
    if (v->rank < 0) return CLI_OK;
    if (v->rank != in->t.rank)
        return rt_error_set(err, "%s: input '%s' expects rank %d %s, %s has rank %d %s", g->path,
                            v->name, v->rank, want, in->path, in->t.rank, got),
               CLI_BAD_INPUT;
    for (int d = from_axis; d < v->rank; d++)
        if (v->dims[d].value >= 0 && v->dims[d].value != in->t.dims[d])
            return rt_error_set(err, "%s: input '%s' expects shape %s, %s has %s (dim %d: %lld != %lld)",
                                g->path, v->name, want, in->path, got, d,
                                (long long)v->dims[d].value, (long long)in->t.dims[d]),
                   CLI_BAD_INPUT;
    return CLI_OK;
}

/* "x, y" list of the model's input names for messages. */
static const char *input_names(const IrGraph *g, char *buf, size_t n) {
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < g->n_inputs && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s'%s'", i ? ", " : "",
                                 g->values[g->inputs[i]].name);
    return buf;
}

int cli_inputs_match(const IrGraph *g, const CliInputs *s, int from_axis, RtTensor *ordered,
                     RtError *err) {
    char names[512];
    for (int k = 0; k < s->n; k++) {
        int found = 0;
        for (int i = 0; i < g->n_inputs; i++)
            found |= strcmp(g->values[g->inputs[i]].name, s->v[k].name) == 0;
        if (!found)
            return rt_error_set(err, "%s: the model has no input '%s' (its inputs: %s)", g->path,
                                s->v[k].name, input_names(g, names, sizeof names)),
                   CLI_BAD_INPUT;
        for (int j = 0; j < k; j++)
            if (strcmp(s->v[j].name, s->v[k].name) == 0)
                return rt_error_set(err, "input '%s' is given twice (%s and %s)", s->v[k].name,
                                    s->v[j].path, s->v[k].path),
                       CLI_BAD_INPUT;
    }
    for (int i = 0; i < g->n_inputs; i++) {
        const IrValue *v = &g->values[g->inputs[i]];
        const CliInput *in = NULL;
        for (int k = 0; k < s->n && !in; k++)
            if (strcmp(s->v[k].name, v->name) == 0) in = &s->v[k];
        if (!in) {
            char want[160];
            return rt_error_set(err, "%s: missing --input %s=FILE.npy (%s %s)", g->path, v->name,
                                rt_dtype_name(v->dtype), cli_value_shape_str(v, want, sizeof want)),
                   CLI_BAD_INPUT;
        }
        int r = input_check(g, v, in, from_axis, err);
        if (r != CLI_OK) return r;
        ordered[i] = in->t;
    }
    return CLI_OK;
}
