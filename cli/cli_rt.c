/*
 * cli_rt.c — `wafer run` and `wafer bench` on a .wafer file go through the companion runtime
 * (runtime/wafer_rt.h), exactly as an application would run it: the file is mapped (weights
 * not copied), the activations live in the planned arena, the optimized kernels run
 * (WAFER_RT_REF=1: the reference ones). These helpers open the model and put the --input
 * files in the model's input order.
 */
#include <string.h>

#include "cli.h"

int cli_rt_open(const char *path, int64_t threads, WaferRtModel **m, RtError *err) {
    WaferRtOptions o;
    memset(&o, 0, sizeof o);
    o.threads = (int)threads;
    o.reference_kernels = cli_ref_only();
    WaferRtError e;
    if (wafer_rt_open_file(path, &o, m, &e) != WAFER_RT_OK) {
        rt_error_set(err, "%s", e.msg);
        cli_error_name_file(err, path);
        return CLI_BAD_INPUT;
    }
    return CLI_OK;
}

int cli_rt_inputs(const WaferRtModel *m, const char *path, const CliInputs *s, WaferRtTensor *ordered,
                  RtError *err) {
    int n = wafer_rt_num_inputs(m);
    for (int k = 0; k < s->n; k++) {
        int found = 0;
        for (int i = 0; i < n; i++) found |= strcmp(wafer_rt_input_info(m, i, NULL), s->v[k].name) == 0;
        if (!found) {
            char names[512] = "";
            for (int i = 0; i < n; i++) {
                size_t used = strlen(names);
                snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", wafer_rt_input_info(m, i, NULL));
            }
            rt_error_set(err, "%s: the model has no input '%s' (its inputs: %s)", path, s->v[k].name, names);
            return CLI_BAD_INPUT;
        }
        for (int j = 0; j < k; j++)
            if (strcmp(s->v[j].name, s->v[k].name) == 0) {
                rt_error_set(err, "input '%s' is given twice (%s and %s)", s->v[k].name, s->v[j].path, s->v[k].path);
                return CLI_BAD_INPUT;
            }
    }
    for (int i = 0; i < n; i++) {
        WaferRtTensor info;
        const char *name = wafer_rt_input_info(m, i, &info);
        const CliInput *in = NULL;
        for (int k = 0; k < s->n && !in; k++)
            if (strcmp(s->v[k].name, name) == 0) in = &s->v[k];
        if (!in) {
            rt_error_set(err, "%s: missing --input %s=FILE.npy (%s)", path, name, rt_dtype_name((RtDtype)info.dtype));
            return CLI_BAD_INPUT;
        }
        memset(&ordered[i], 0, sizeof ordered[i]);
        ordered[i].dtype = (int)in->t.dtype;
        ordered[i].rank = in->t.rank;
        memcpy(ordered[i].dims, in->t.dims, sizeof(int64_t) * (size_t)in->t.rank);
        ordered[i].data = in->t.data;
    }
    return CLI_OK;
}
