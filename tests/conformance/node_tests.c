/*
 * node_tests.c — the ONNX node conformance runner (build/conformance): every case through the
 * runtime (ir_run), outputs compared with the test's within the ONNX suite's tolerances.
 * The case loop, claim rule and isolation are conf_common.h's.
 */
#include "conf_common.h"

/* Runs one test_data_set folder against g. */
static int node_run_set(const IrGraph *g, const char *case_dir, const char *set_dir, ConfResult *res) {
    (void)case_dir;
    ConfTensors in = {0}, want = {0};
    RtTensor got[CONF_MAX_IO];
    memset(got, 0, sizeof got);
    int ok = 0;
    if (conf_tensors_read(set_dir, "input", &in, res) != 0 || conf_tensors_read(set_dir, "output", &want, res) != 0)
        goto done;
    if (in.n != g->n_inputs || want.n != g->n_outputs || g->n_outputs > CONF_MAX_IO) {
        snprintf(res->msg, sizeof res->msg, "the test has %d inputs and %d outputs, the graph %d and %d",
                 in.n, want.n, g->n_inputs, g->n_outputs);
        goto done;
    }
    RtError err = {{0}};
    if (ir_run(g, in.t, got, &err) != RT_OK) {
        snprintf(res->msg, sizeof res->msg, "%s", err.msg[0] ? err.msg : "run failed");
        goto done;
    }
    ok = 1;
    for (int i = 0; i < want.n && ok; i++)
        ok = conf_compare(&got[i], &want.t[i], i, g->values[g->outputs[i]].name, res);
    for (int i = 0; i < g->n_outputs; i++) free(got[i].data);
done:
    conf_tensors_free(&in);
    conf_tensors_free(&want);
    return ok;
}

int main(int argc, char **argv) {
    static const ConfMode mode = {
        "conformance", "Runs the ONNX node conformance tests (DIR/test_*/model.onnx with test_data_set_*) in the runtime.",
        {CONF_DEFAULT_OPS}, {CONF_DEFAULT_EXCLUDE}, 1, 1, node_run_set};
    return conf_main(&mode, argc, argv);
}
