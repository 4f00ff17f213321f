/*
 * test_gptq_tinylm.c — GPTQ and RTN end to end against the fixtures README table: tinylm's 24
 * block linears quantized (head and embeddings float), calibrated on tinylm_calib_tokens.npy
 * (128 windows), perplexity on tinylm_eval_tokens.npy (64 windows x 128 targets), each row
 * within 0.5% relative of the table, plus the bounds (4-bit g128 asym GPTQ <= 2.452,
 * 3-bit <= 2.510) and every layer's GPTQ output error within 5% of reference.json's
 * (tinylm.quant.<config>.layer_sq_err); LinearNBits emission gives the DequantizeLinear form's
 * perplexity; the command line (`wafer quantize --method gptq`, `wafer eval --task lm`) gives
 * the table's row. The tinylm cases take seconds each and run only in the plain build
 * (WAFER_SANITIZED unset); the digits cases (GPTQ through the CLI on Conv and Linear layers,
 * usage errors) run under the sanitizers too.
 *
 * Schedules: the default (layer) calibrates each layer on the model with every layer before it
 * quantized; the reference numbers were made with the GPTQ code's default block schedule
 * (each block's layers calibrated with the block still float). Every table row is within 0.5%
 * either way; the per-layer errors are compared with the layer schedule at 4 and 8 bits (all
 * within 1.5%) and with the block schedule at 2 and 3 bits, where the schedules' different
 * inputs to the attention output and fc2 layers move their errors by 5-20%.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../calib/calib.h"
#include "../../frontend/onnx.h"
#include "../../io/npy.h"
#include "../../passes/gptq.h"
#include "../../passes/passes.h"

#ifndef FIXTURES
#define FIXTURES "../shared/fixtures"
#endif
#define TINY FIXTURES "/tinylm/"

/* The issue: every table row within 0.5% relative. */
#define PPL_REL_TOL 0.005
/* The issue: per-layer GPTQ errors within 5% of the reference's. */
#define LAYER_REL_TOL 0.05

static RtError err;

static int sanitized(void) { return getenv("WAFER_SANITIZED") != NULL; }

static IrGraph *load_fused(const char *path) {
    OnnxLoadOptions lo;
    memset(&lo, 0, sizeof lo);
    IrGraph *g = onnx_load_file(path, &lo, &err);
    cr_assert_not_null(g, "%s", err.msg);
    cr_assert_eq(pass_simplify(g, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(pass_fuse(g, &err), RT_OK, "%s", err.msg);
    return g;
}

/* exp(mean -log softmax(logits)[target]) over tokens [n, T+1]: the model reads [:, :T]. */
static double perplexity(const IrGraph *g, const char *tokens_path) {
    RtTensor tok;
    cr_assert_eq(npy_read(tokens_path, &tok, &err), RT_OK, "%s", err.msg);
    int64_t n = tok.dims[0], T = tok.dims[1] - 1, B = 16;
    const int64_t *tv = tok.data;
    double nll = 0;
    int64_t *in = malloc(sizeof(int64_t) * (size_t)(B * T));
    for (int64_t r0 = 0; r0 < n; r0 += B) {
        int64_t b = n - r0 < B ? n - r0 : B;
        for (int64_t r = 0; r < b; r++) memcpy(in + r * T, tv + (r0 + r) * (T + 1), sizeof(int64_t) * (size_t)T);
        RtTensor x = {RT_I64, 2, {b, T}, in}, y;
        cr_assert_eq(ir_run(g, &x, &y, &err), RT_OK, "%s", err.msg);
        int64_t V = y.dims[2];
        const float *lg = y.data;
        for (int64_t r = 0; r < b; r++)
            for (int64_t t = 0; t < T; t++) {
                const float *l = lg + (r * T + t) * V;
                double m = l[0], s = 0;
                for (int64_t v = 1; v < V; v++) m = l[v] > m ? l[v] : m;
                for (int64_t v = 0; v < V; v++) s += exp((double)l[v] - m);
                int64_t target = tv[(r0 + r) * (T + 1) + t + 1];
                nll += m + log(s) - (double)l[target];
            }
        free(y.data);
    }
    free(in);
    free(tok.data);
    return exp(nll / (double)(n * T));
}

static CalibDataset *calib_open(const char *name, const char *path) {
    const char *names[1] = {name}, *paths[1] = {path};
    CalibDataset *d = calib_dataset_open(1, names, paths, &err);
    cr_assert_not_null(d, "%s", err.msg);
    return d;
}

/* reference.json: tinylm.quant.<config>.<what> as text, and the layer errors. */
static char *reference_text(void) {
    FILE *f = fopen(FIXTURES "/reference.json", "rb");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

/* The number after "key": inside the object "config": { ... } of tinylm.quant; NAN if absent. */
static double reference_number(const char *config, const char *key) {
    char *s = reference_text(), pat[160];
    snprintf(pat, sizeof pat, "\"%s\": {", config);
    char *p = strstr(s, pat);
    double v = NAN;
    if (p) {
        snprintf(pat, sizeof pat, "\"%s\":", key);
        char *q = strstr(p, pat), *end = strstr(p + 1, "\"ppl\"");
        end = end ? strstr(end + 1, "\"ppl\"") : NULL; /* the next config's ppl bounds this one */
        if (q && (!end || q < end)) v = strtod(q + strlen(pat), NULL);
    }
    free(s);
    return v;
}

/* "/blocks.0/q/MatMul" -> "blocks.0.q" */
static void layer_key(const char *node, char *key, size_t n) {
    const char *p = node[0] == '/' ? node + 1 : node;
    size_t len = strlen(p);
    const char *last = strrchr(p, '/');
    if (last) len = (size_t)(last - p);
    if (len >= n) len = n - 1;
    memcpy(key, p, len);
    key[len] = '\0';
    for (char *c = key; *c; c++)
        if (*c == '/') *c = '.';
}

typedef struct {
    GptqMethod method;
    GptqSequential seq;
    int bits, sym, act, stat;
    int64_t group;
    GptqEmit emit;
} Config;

/* Quantizes tinylm as c says, returns the perplexity; rep filled (errors measured for GPTQ). */
static double tinylm_run(Config c, GptqReport *rep) {
    IrGraph *g = load_fused(TINY "tinylm.onnx");
    CalibDataset *d = calib_open("tokens", TINY "tinylm_calib_tokens.npy");
    GptqPassOptions o;
    gptq_pass_options_default(&o);
    o.method = c.method;
    o.sequential = c.seq;
    o.spec.bits = c.bits, o.spec.sym = c.sym, o.spec.group = c.group;
    o.spec.act_order = c.act, o.spec.static_groups = c.stat;
    o.data = d;
    o.emit = c.emit;
    o.measure = c.method == GPTQ_METHOD_GPTQ && c.emit == GPTQ_EMIT_DQ;
    cr_assert_eq(pass_quantize_gptq(g, &o, rep, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(rep->n_layers, 24, "the 24 block linears (head stays float)");
    double ppl = perplexity(g, TINY "tinylm_eval_tokens.npy");
    calib_dataset_free(d);
    ir_graph_free(g);
    return ppl;
}

/* One table cell: perplexity within PPL_REL_TOL of the reference's; with check_layers, every
 * layer's GPTQ error within LAYER_REL_TOL of reference.json's. Returns the perplexity. */
static double check_cell(const char *config, Config c, int check_layers) {
    GptqReport rep;
    double ppl = tinylm_run(c, &rep);
    double want = reference_number(config, "ppl");
    cr_assert(isfinite(want), "reference.json has no %s", config);
    const char *mode = c.seq == GPTQ_SEQ_BLOCK ? "block" : "layer";
    cr_log_info("%s (%s): perplexity %.4f, reference %.4f (%+.2f%%); %.2f s (forward %.2f, Hessians %.2f, "
                "quantize %.2f)", config, mode, ppl, want, 100 * (ppl - want) / want, rep.seconds_total,
                rep.seconds_forward, rep.seconds_hessian, rep.seconds_quantize);
    cr_expect_leq(fabs(ppl - want) / want, PPL_REL_TOL, "%s (%s): perplexity %.4f vs reference %.4f", config, mode,
                  ppl, want);
    double worst = 0;
    for (int i = 0; check_layers && i < rep.n_layers; i++) {
        char key[128];
        layer_key(rep.layers[i].node, key, sizeof key);
        double ref = reference_number(config, key), ours = rep.layers[i].err_gptq;
        cr_assert(isfinite(ref), "%s: no reference error for %s", config, key);
        double rel = fabs(ours - ref) / ref;
        worst = rel > worst ? rel : worst;
        cr_expect_leq(rel, LAYER_REL_TOL, "%s %s: error %.2f vs reference %.2f", config, key, ours, ref);
    }
    if (check_layers) cr_log_info("%s (%s): worst layer error difference %.2f%%", config, mode, 100 * worst);
    gptq_report_free(&rep);
    return ppl;
}

/* A table row: RTN, and GPTQ with the default layer-by-layer schedule (perplexity, and the
 * per-layer errors when layers is set). With block set, also GPTQ with the reference's block
 * schedule, perplexity and per-layer errors: at 2 and 3 bits the two schedules feed the
 * attention output and fc2 projections inputs different enough (7-20%) that only the
 * reference's own schedule reproduces its per-layer numbers. Returns the layer schedule's
 * GPTQ perplexity. */
static double check_row(const char *name, int bits, int64_t group, int sym, int act, int layers, int block) {
    char rtn[64], gptq[64];
    snprintf(rtn, sizeof rtn, "%s_rtn", name);
    snprintf(gptq, sizeof gptq, "%s_gptq", name);
    check_cell(rtn, (Config){GPTQ_METHOD_RTN, GPTQ_SEQ_LAYER, bits, sym, act, 0, group}, 0);
    if (block) check_cell(gptq, (Config){GPTQ_METHOD_GPTQ, GPTQ_SEQ_BLOCK, bits, sym, act, 0, group}, 1);
    return check_cell(gptq, (Config){GPTQ_METHOD_GPTQ, GPTQ_SEQ_LAYER, bits, sym, act, 0, group}, layers);
}

#define TINYLM_ONLY_PLAIN() \
    do { \
        if (sanitized()) cr_skip_test("tinylm GPTQ runs in the plain build only (seconds per configuration)"); \
    } while (0)

TestSuite(gptq_tinylm, .timeout = 600);

Test(gptq_tinylm, w4_g128_asym) {
    TINYLM_ONLY_PLAIN();
    cr_expect_leq(check_row("w4_g128_asym", 4, 128, 0, 0, 1, 0), 2.452, "the issue's bound for 4-bit g128 asym GPTQ");
}

/* Same weights, same perplexity: LinearNBits sums the same float weights in another order,
 * which moves the perplexity by ~1e-6 relative. */
#define NBITS_PPL_REL_TOL 1e-4

Test(gptq_tinylm, w4_g128_asym_actorder) {
    TINYLM_ONLY_PLAIN();
    double dq = check_row("w4_g128_asym_actorder", 4, 128, 0, 1, 1, 0);
    GptqReport rep;
    double nb = tinylm_run((Config){GPTQ_METHOD_GPTQ, GPTQ_SEQ_LAYER, 4, 0, 1, 0, 128, GPTQ_EMIT_NBITS}, &rep);
    cr_log_info("act-order 4-bit g128 with LinearNBits (g_idx): perplexity %.6f, DequantizeLinear %.6f", nb, dq);
    cr_expect_leq(fabs(nb - dq) / dq, NBITS_PPL_REL_TOL, "LinearNBits %.6f vs DequantizeLinear %.6f", nb, dq);
    gptq_report_free(&rep);
}

Test(gptq_tinylm, w4_g128_sym) {
    TINYLM_ONLY_PLAIN();
    check_row("w4_g128_sym", 4, 128, 1, 0, 1, 0);
}

Test(gptq_tinylm, w3_g128_asym) {
    TINYLM_ONLY_PLAIN();
    cr_expect_leq(check_row("w3_g128_asym", 3, 128, 0, 0, 0, 1), 2.510, "the issue's bound for 3-bit g128 asym GPTQ");
}

Test(gptq_tinylm, w4_perchannel_asym) {
    TINYLM_ONLY_PLAIN();
    check_row("w4_perchannel_asym", 4, 0, 0, 0, 1, 0);
}

Test(gptq_tinylm, w8_perchannel_asym) {
    TINYLM_ONLY_PLAIN();
    check_row("w8_perchannel_asym", 8, 0, 0, 0, 1, 0);
}

/* Beyond the reference: the Hessian-weighted clipping search (--clip-search) at 2 bits.
 * Measured: 3.0992 against 3.1352 without it (and the reference's 3.1498). */
Test(gptq_tinylm, w2_g64_asym) {
    TINYLM_ONLY_PLAIN();
    double plain = check_row("w2_g64_asym", 2, 64, 0, 0, 0, 1);
    Config c = {GPTQ_METHOD_GPTQ, GPTQ_SEQ_LAYER, 2, 0, 0, 0, 64, GPTQ_EMIT_DQ};
    GptqReport rep;
    IrGraph *g = load_fused(TINY "tinylm.onnx");
    CalibDataset *d = calib_open("tokens", TINY "tinylm_calib_tokens.npy");
    GptqPassOptions o;
    gptq_pass_options_default(&o);
    o.spec.bits = c.bits, o.spec.group = c.group, o.spec.clip_search = 1, o.data = d;
    cr_assert_eq(pass_quantize_gptq(g, &o, &rep, &err), RT_OK, "%s", err.msg);
    double clip = perplexity(g, TINY "tinylm_eval_tokens.npy");
    cr_log_info("w2_g64_asym_gptq with --clip-search: perplexity %.4f (without: %.4f)", clip, plain);
    cr_expect_lt(clip, plain, "the clipping search improves 2-bit GPTQ: %.4f vs %.4f", clip, plain);
    gptq_report_free(&rep);
    calib_dataset_free(d);
    ir_graph_free(g);
}

/* ---- through the command line ---- */
#include <unistd.h>

#include "../test_util.h"

static char cli_out[65536];

/* `wafer quantize --method gptq` then `wafer eval --task lm` on the .wafer file: the table's
 * 4-bit g128 asym row, the report's 24 layers, progress on stderr, LinearNBits in the file. */
Test(gptq_tinylm, command_line) {
    TINYLM_ONLY_PLAIN();
    char dir[128], wafer[256], report[256], q[2048];
    snprintf(dir, sizeof dir, "/tmp/wafer_gptq_cli_%d", (int)getpid());
    snprintf(wafer, sizeof wafer, "%s/t4.wafer", dir);
    snprintf(report, sizeof report, "%s/t4.json", dir);
    cr_assert_eq(tu_run(cli_out, sizeof cli_out, "mkdir -p %s", dir), 0);
    snprintf(q, sizeof q, "quantize " TINY "tinylm.onnx -o %s --weights int4 --method gptq --group 128 --asym "
                          "--calib tokens=" TINY "tinylm_calib_tokens.npy --report %s", wafer, report);
    cr_assert_eq(tu_run(cli_out, sizeof cli_out, "%s %s", WAFER_BIN, q), 0, "%s", cli_out);
    cr_expect(strstr(cli_out, "gptq: layer 24/24") != NULL, "progress lines: %s", cli_out);
    cr_expect(strstr(cli_out, "/blocks.3/fc2/MatMul") != NULL, "per-layer report lines: %s", cli_out);
    FILE *f = fopen(report, "r");
    cr_assert_not_null(f);
    char buf[16384];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    int layers = 0;
    for (const char *p = buf; (p = strstr(p, "\"err_gptq\":")) != NULL; p++) layers++;
    cr_expect_eq(layers, 24, "%s", buf);
    cr_assert_eq(tu_run(cli_out, sizeof cli_out, "%s inspect %s", WAFER_BIN, wafer), 0, "%s", cli_out);
    cr_expect(strstr(cli_out, "LinearNBits") != NULL, "%s", cli_out);
    cr_assert_eq(tu_run(cli_out, sizeof cli_out, "%s eval %s --task lm --tokens " TINY "tinylm_eval_tokens.npy",
                        WAFER_BIN, wafer), 0, "%s", cli_out);
    const char *p = strstr(cli_out, "perplexity ");
    cr_assert_not_null(p, "%s", cli_out);
    double ppl = strtod(p + strlen("perplexity "), NULL), want = reference_number("w4_g128_asym_gptq", "ppl");
    cr_expect_leq(fabs(ppl - want) / want, PPL_REL_TOL, "wafer eval: %.4f vs reference %.4f", ppl, want);
    tu_run(cli_out, sizeof cli_out, "rm -rf %s", dir);
}

/* Usage errors of the GPTQ options exit 2 and name the problem; digits_cnn (Conv layers,
 * DequantizeLinear form) and digits_mlp (LinearNBits) quantize to 4 bits by GPTQ and keep
 * their accuracy (float: 0.9933 and 0.9800 on 600 test images; measured 0.9917 and 0.9800). */
#define DIGITS FIXTURES "/digits/"
#define CNN_GPTQ4_MIN 0.985
#define MLP_GPTQ4_MIN 0.975

static double digits_accuracy(const char *model, const char *input, const char *calib, const char *test,
                              const char *extra) {
    char dir[128], wafer[256];
    snprintf(dir, sizeof dir, "/tmp/wafer_gptq_digits_%d", (int)getpid());
    snprintf(wafer, sizeof wafer, "%s/%s.wafer", dir, input);
    cr_assert_eq(tu_run(cli_out, sizeof cli_out, "mkdir -p %s", dir), 0);
    cr_assert_eq(tu_run(cli_out, sizeof cli_out, "%s quantize " DIGITS "%s -o %s --calib %s=" DIGITS "%s %s",
                        WAFER_BIN, model, wafer, input, calib, extra), 0, "%s", cli_out);
    cr_assert_eq(tu_run(cli_out, sizeof cli_out, "%s eval %s --input %s=" DIGITS "%s --labels " DIGITS "test_y.npy",
                        WAFER_BIN, wafer, input, test), 0, "%s", cli_out);
    const char *p = strstr(cli_out, "accuracy ");
    cr_assert_not_null(p, "%s", cli_out);
    double acc = strtod(p + strlen("accuracy "), NULL);
    tu_run(cli_out, sizeof cli_out, "rm -rf %s", dir);
    return acc;
}

Test(gptq_cli, digits_and_usage_errors, .timeout = 300) {
    double cnn = digits_accuracy("digits_cnn.onnx", "image", "calib_img.npy", "test_img.npy",
                                 "--weights int4 --method gptq --asym");
    cr_expect_geq(cnn, CNN_GPTQ4_MIN, "digits_cnn 4-bit GPTQ accuracy %.4f", cnn);
    double mlp = digits_accuracy("digits_mlp.onnx", "x", "calib_x.npy", "test_x.npy",
                                 "--weights int4 --method gptq --group 32 --act-order");
    cr_expect_geq(mlp, MLP_GPTQ4_MIN, "digits_mlp 4-bit GPTQ accuracy %.4f", mlp);
    static const struct {
        const char *args, *says;
    } bad[] = {
        {"--weights int4 --act-order", "--method gptq"},
        {"--weights int4 --method gptq", "--calib"},
        {"--weights int4 --method gptq --calib x=" DIGITS "calib_x.npy --sequential sideways", "sideways"},
        {"--weights int4 --method gptq --calib x=" DIGITS "calib_x.npy --activations int8", "weight-only"},
        {"--weights int4 --per-tensor", "--per-tensor"},
        {"--weights f32 --method rtn", "f32"},
        {"--weights int4 --method gptq --calib x=" DIGITS "calib_x.npy --damp -1", "--damp"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = tu_run(cli_out, sizeof cli_out, "%s quantize " DIGITS "digits_mlp.onnx -o /tmp/wafer_gptq_never.wafer %s",
                        WAFER_BIN, bad[i].args);
        cr_expect_eq(rc, 2, "%s: exit %d: %s", bad[i].args, rc, cli_out);
        cr_expect(strstr(cli_out, bad[i].says) != NULL, "%s: message should name %s: %s", bad[i].args, bad[i].says,
                  cli_out);
    }
    cr_expect_neq(access("/tmp/wafer_gptq_never.wafer", F_OK), 0, "nothing written on a usage error");
}
