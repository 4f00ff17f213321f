/*
 * test_compute_int8.c — `wafer quantize --weights int4 --compute int8`: wafer's own 4-bit
 * layers (LinearNBits) with int8 compute of their activations (accuracy_level 4, as
 * com.microsoft MatMulNBits' level 4; runtime/kernels/nbits_int8.h), recorded in the .wafer
 * file and written by --onnx as MatMulNBits accuracy_level 4.
 *  - tinylm, RTN 4-bit g128 asym: the .wafer's perplexity with int8 compute close to the
 *    float-compute one and not equal to it; the exported .onnx carries accuracy_level and
 *    onnxruntime's perplexity on it equals wafer's within the int8 agreement measured in
 *    test_matmul_nbits_int8.c (same integer sums; A's rounding steps can flip where upstream
 *    float ops differ in their last bits).
 *  - the options it refuses, by name, exit 2.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../test_util.h"

#define TINY FIXTURES "/tinylm/"
#define PPL_INT8_VS_ORT_REL 2e-4 /* as test_matmul_nbits_int8.c: 4x the 4.7e-5 measured there */
#define PPL_INT8_COST_REL 1e-3   /* int8 compute against float compute: measured 2.2e-4 there */

static char out[65536];

static double eval_ppl(const char *model, const char *dir) {
    char json[320];
    snprintf(json, sizeof json, "%s/e.json", dir);
    int rc = tu_run(out, sizeof out, WAFER_BIN " eval %s --task lm --tokens " TINY "tinylm_eval_tokens.npy --json %s",
                    model, json);
    cr_assert_eq(rc, 0, "eval %s: exit %d\n%s", model, rc, out);
    return tu_json_number(json, "perplexity");
}

Test(compute_int8, tinylm_rtn_int4_g128) {
    char dir[256], w8[320], wf[320], onnx[320];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "c8"), 0);
    snprintf(w8, sizeof w8, "%s/int8.wafer", dir);
    snprintf(wf, sizeof wf, "%s/f32.wafer", dir);
    snprintf(onnx, sizeof onnx, "%s/int8.onnx", dir);
    const char *q = "--weights int4 --group 128 --asym";
    int rc = tu_run(out, sizeof out, WAFER_BIN " quantize " TINY "tinylm.onnx -o %s --onnx %s %s --compute int8", w8,
                    onnx, q);
    cr_assert_eq(rc, 0, "quantize --compute int8: exit %d\n%s", rc, out);
    rc = tu_run(out, sizeof out, WAFER_BIN " quantize " TINY "tinylm.onnx -o %s %s", wf, q);
    cr_assert_eq(rc, 0, "quantize: exit %d\n%s", rc, out);
    const double p8 = eval_ppl(w8, dir), pf = eval_ppl(wf, dir), p8_onnx = eval_ppl(onnx, dir);
    cr_expect(fabs(p8 - pf) <= PPL_INT8_COST_REL * pf, "int8 compute %.6f, float %.6f", p8, pf);
    cr_expect(p8 != pf, "--compute int8 gave float compute's perplexity exactly: int8 compute did not run");
    size_t n = 0;
    unsigned char *bytes = tu_file_read(onnx, &n);
    cr_assert(bytes, "cannot read %s", onnx);
    int found = 0;
    for (size_t i = 0; i + 14 <= n && !found; i++) found = memcmp(bytes + i, "accuracy_level", 14) == 0;
    free(bytes);
    cr_expect(found, "the exported MatMulNBits carry no accuracy_level");
    rc = tu_run(out, sizeof out, "node tests/e2e/ort_eval.js lm %s " TINY "tinylm_eval_tokens.npy", onnx);
    double po = NAN;
    if (rc == 0) {
        const char *p = strstr(out, "\"perplexity\":");
        cr_assert(p, "%s", out);
        po = atof(p + 13);
        cr_expect(fabs(po - p8) <= PPL_INT8_VS_ORT_REL * p8, "onnxruntime %.6f, wafer %.6f", po, p8);
    } else {
        cr_assert(rc == 3 || rc == 127, "onnxruntime on %s: exit %d\n%s", onnx, rc, out);
    }
    cr_log_info("tinylm RTN int4 g128: perplexity int8 compute %.6f (its .onnx in wafer %.6f, onnxruntime %.6f), "
                "float compute %.6f", p8, p8_onnx, po, pf);
    cr_expect(fabs(p8_onnx - p8) <= PPL_INT8_VS_ORT_REL * p8, "wafer on the .onnx %.6f, on the .wafer %.6f", p8_onnx, p8);
    tu_tmpdir_remove(dir);
}

Test(compute_int8, refusals) {
    struct {
        const char *args, *want;
    } cases[] = {
        {"--weights int8 --compute int8", "--compute int8 is for 4-bit layers"},
        {"--weights int4 --group 48 --compute int8", "--group 32, 64, 128 or 256"},
        {"--weights int4 --group 0 --compute int8", "--group 32, 64, 128 or 256"},
        {"--weights int4 --group 32 --compute int16", "--compute is f32 or int8"},
    };
    char dir[256];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "c8r"), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = tu_run(out, sizeof out, WAFER_BIN " quantize " TINY "tinylm.onnx -o %s/x.wafer %s", dir, cases[i].args);
        cr_expect_eq(rc, 2, "%s: exit %d, want 2\n%s", cases[i].args, rc, out);
        cr_expect(strstr(out, cases[i].want) != NULL, "%s: want '%s' in:\n%s", cases[i].args, cases[i].want, out);
    }
    tu_tmpdir_remove(dir);
}
