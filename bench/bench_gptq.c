/*
 * bench_gptq.c — how long GPTQ takes on this machine (make bench runs it):
 *   1. one 4096 x 4096 layer with 4096 calibration rows (4-bit, group 128, asym): X^T X in
 *      double, the upper Cholesky factor of H^-1, the lazy-block column loop; the issue's
 *      limit is 30 s;
 *   2. the whole of tinylm (24 block linears, 4-bit g128 asym, its 128 calibration windows,
 *      layer schedule): forward runs, Hessians and GPTQ; the limit is 10 s.
 * Usage: bench_gptq [FIXTURES] [--layer-only]. Prints one line per measurement; exit 1 when a
 * limit is exceeded, 2 on an error.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../calib/calib.h"
#include "../calib/hessian.h"
#include "../frontend/onnx.h"
#include "../passes/gptq.h"
#include "../passes/passes.h"
#include "bench_util.h"

#define LAYER_LIMIT_S 30.0
#define TINYLM_LIMIT_S 10.0

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static double nrand(void) {
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    double u = ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    double v = (double)(rng >> 11) / 9007199254740992.0;
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

/* 4096 x 4096, 4096 rows: inputs with a few shared factors (a realistic, non-diagonal H). */
static int bench_layer(void) {
    const int64_t K = 4096, N = 4096, rows = 4096, F = 16;
    float *x = malloc(sizeof(float) * (size_t)(rows * K)), *w = malloc(sizeof(float) * (size_t)(K * N));
    float *mix = malloc(sizeof(float) * (size_t)(F * K));
    if (!x || !w || !mix) return fprintf(stderr, "bench_gptq: out of memory\n"), 2;
    for (int64_t i = 0; i < F * K; i++) mix[i] = (float)nrand();
    for (int64_t r = 0; r < rows; r++) {
        double z[16];
        for (int f = 0; f < F; f++) z[f] = nrand();
        for (int64_t k = 0; k < K; k++) {
            double v = 0.5 * nrand();
            for (int f = 0; f < F; f++) v += 0.25 * z[f] * mix[f * K + k];
            x[r * K + k] = (float)v;
        }
    }
    for (int64_t i = 0; i < K * N; i++) w[i] = (float)(0.02 * nrand());
    RtError err = {{0}};
    CalibHessian h;
    GptqSpec s;
    gptq_spec_default(&s);
    s.bits = 4, s.group = 128;
    GptqLayer l;
    double t0 = now_s();
    if (calib_hessian_init(&h, K, 1, &err) != RT_OK) return fprintf(stderr, "bench_gptq: %s\n", err.msg), 2;
    calib_hessian_add_rows(&h, 0, x, rows, K);
    calib_hessian_finish(&h);
    double t1 = now_s();
    if (gptq_quantize(w, K, N, h.S, h.rows, &s, &l, &err) != RT_OK) return fprintf(stderr, "bench_gptq: %s\n", err.msg), 2;
    double t2 = now_s(), total = t2 - t0;
    printf("gptq 4096x4096 layer, 4096 rows, 4-bit g128: %.2f s (X^T X %.2f s, GPTQ %.2f s); limit %.0f s\n", total,
           t1 - t0, t2 - t1, LAYER_LIMIT_S);
    gptq_layer_free(&l);
    calib_hessian_free(&h);
    free(x), free(w), free(mix);
    return total <= LAYER_LIMIT_S ? 0 : 1;
}

static int bench_tinylm(const char *fx) {
    char model[1024], calib[1024];
    snprintf(model, sizeof model, "%s/tinylm/tinylm.onnx", fx);
    snprintf(calib, sizeof calib, "%s/tinylm/tinylm_calib_tokens.npy", fx);
    RtError err = {{0}};
    OnnxLoadOptions lo;
    memset(&lo, 0, sizeof lo);
    IrGraph *g = onnx_load_file(model, &lo, &err);
    if (!g || pass_simplify(g, &err) != RT_OK || pass_fuse(g, &err) != RT_OK)
        return fprintf(stderr, "bench_gptq: %s\n", err.msg), 2;
    const char *names[1] = {"tokens"}, *paths[1] = {calib};
    CalibDataset *d = calib_dataset_open(1, names, paths, &err);
    if (!d) return fprintf(stderr, "bench_gptq: %s\n", err.msg), 2;
    GptqPassOptions o;
    gptq_pass_options_default(&o);
    o.spec.bits = 4, o.spec.group = 128, o.data = d;
    GptqReport rep;
    double t0 = now_s();
    if (pass_quantize_gptq(g, &o, &rep, &err) != RT_OK) return fprintf(stderr, "bench_gptq: %s\n", err.msg), 2;
    double total = now_s() - t0;
    printf("gptq tinylm, %d layers, %lld calibration windows, 4-bit g128 asym: %.2f s (forward %.2f, Hessians %.2f, "
           "GPTQ %.2f); limit %.0f s\n", rep.n_layers, (long long)rep.rows, total, rep.seconds_forward,
           rep.seconds_hessian, rep.seconds_quantize, TINYLM_LIMIT_S);
    gptq_report_free(&rep);
    calib_dataset_free(d);
    ir_graph_free(g);
    return total <= TINYLM_LIMIT_S ? 0 : 1;
}

int main(int argc, char **argv) {
    const char *fx = "../shared/fixtures";
    int layer_only = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--layer-only")) layer_only = 1;
        else fx = argv[i];
    }
    int r = bench_layer();
    if (r == 2) return 2;
    int t = layer_only ? 0 : bench_tinylm(fx);
    if (t == 2) return 2;
    return r || t;
}
