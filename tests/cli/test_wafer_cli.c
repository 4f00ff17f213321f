/*
 * test_wafer_cli.c — `wafer run | eval | inspect | bench` on .wafer files.
 *
 * There is no command that writes a .wafer yet in this suite's reach, so the files are made
 * through the library: the ONNX fixture is loaded and written with wafer_file_write, then
 * the CLI runs on the .wafer. digits_mlp keeps its test accuracy 0.9800 exactly (588/600)
 * and `run` writes the same logits, byte for byte, as for the ONNX file; a damaged or
 * newer-version file exits 2 with a message and writes nothing; a failed write leaves no file.
 */
#include <criterion/criterion.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../format/wafer_file.h"
#include "../../frontend/onnx.h"
#include "../test_util.h"

static char dir[256];
static char mlp_wafer[300];
static char onnx_hash[17];

/* dir gets a fresh folder holding mlp.wafer, written from digits_mlp.onnx with metadata. */
static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/wafer_cli_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(mlp_wafer, sizeof mlp_wafer, "%s/mlp.wafer", dir);
    char onnx[512];
    snprintf(onnx, sizeof onnx, "%s/digits/digits_mlp.onnx", FIXTURES);
    RtError err = {{0}};
    IrGraph *g = onnx_load_file(onnx, NULL, &err);
    cr_assert_not_null(g, "%s", err.msg);
    cr_assert_eq(wafer_file_hash(onnx, onnx_hash, &err), RT_OK, "%s", err.msg);
    WaferMeta m = {onnx_hash, "0.1.0", "--weights f32 (cli test)"};
    cr_assert_eq(wafer_file_write(g, &m, mlp_wafer, &err), RT_OK, "%s", err.msg);
    ir_graph_free(g);
}

static void teardown(void) {
    char out[256];
    tu_run(out, sizeof out, "rm -rf %s", dir);
}

TestSuite(wafer_cli, .init = setup, .fini = teardown);

static unsigned char *slurp(const char *path, size_t *n) {
    unsigned char *b = tu_file_read(path, n);
    cr_assert_not_null(b, "cannot open %s", path);
    return b;
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

Test(wafer_cli, eval_gives_the_onnx_accuracy) {
    char out[8192], json[400];
    snprintf(json, sizeof json, "%s/eval.json", dir);
    int rc = tu_run(out, sizeof out, "%s eval %s --input x=%s/digits/test_x.npy --labels %s/digits/test_y.npy --json %s",
                    WAFER_BIN, mlp_wafer, FIXTURES, FIXTURES, json);
    cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
    cr_expect(strstr(out, "accuracy 0.9800 (588/600)"), "%s", out);
    double acc = tu_json_number(json, "accuracy");
    cr_expect_float_eq(acc, 588.0 / 600.0, 1e-9, "accuracy %.6f, want 0.9800", acc);
    cr_expect_eq(tu_json_number(json, "samples"), 600);
    cr_expect_eq(tu_json_number(json, "weight_bytes"), 340008, "weight bytes as for the ONNX model");
}

/* The .wafer as the baseline of its own ONNX source: no drop, exit 0. */
Test(wafer_cli, eval_baseline_wafer_against_onnx) {
    char out[8192];
    int rc = tu_run(out, sizeof out,
                    "%s eval %s/digits/digits_mlp.onnx --input x=%s/digits/test_x.npy --labels %s/digits/test_y.npy "
                    "--baseline %s --max-drop 0",
                    WAFER_BIN, FIXTURES, FIXTURES, FIXTURES, mlp_wafer);
    cr_expect_eq(rc, 0, "exit %d:\n%s", rc, out);
}

Test(wafer_cli, run_writes_the_onnx_outputs) {
    char out[8192];
    int rc = tu_run(out, sizeof out, "%s run %s --input x=%s/digits/test_x.npy --out %s/w", WAFER_BIN, mlp_wafer,
                    FIXTURES, dir);
    cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
    rc = tu_run(out, sizeof out, "%s run %s/digits/digits_mlp.onnx --input x=%s/digits/test_x.npy --out %s/o",
                WAFER_BIN, FIXTURES, FIXTURES, dir);
    cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
    char pw[400], po[400];
    snprintf(pw, sizeof pw, "%s/w/logits.npy", dir);
    snprintf(po, sizeof po, "%s/o/logits.npy", dir);
    size_t nw, no;
    unsigned char *bw = slurp(pw, &nw), *bo = slurp(po, &no);
    cr_expect(nw == no && memcmp(bw, bo, nw) == 0, "logits from the .wafer differ from the ONNX run");
    free(bw);
    free(bo);
    RtTensor t;
    RtError err = {{0}};
    cr_assert_eq(npy_read(pw, &t, &err), RT_OK, "%s", err.msg);
    cr_expect_eq(t.dtype, RT_F32);
    cr_expect(t.rank == 2 && t.dims[0] == 600 && t.dims[1] == 10);
    free(t.data);
}

Test(wafer_cli, inspect_shows_metadata) {
    char out[8192];
    int rc = tu_run(out, sizeof out, "%s inspect %s", WAFER_BIN, mlp_wafer);
    cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
    cr_expect(strstr(out, onnx_hash), "source hash missing:\n%s", out);
    cr_expect(strstr(out, "wafer 0.1.0"), "%s", out);
    cr_expect(strstr(out, "--weights f32 (cli test)"), "%s", out);
    cr_expect(strstr(out, "Gemm"), "%s", out);
    rc = tu_run(out, sizeof out, "%s inspect %s --json", WAFER_BIN, mlp_wafer);
    cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
    char want[64];
    snprintf(want, sizeof want, "\"source_hash\":\"%s\"", onnx_hash);
    cr_expect(strstr(out, want), "%s", out);
    cr_expect(strstr(out, "\"format_version\":2"), "%s", out);
    cr_expect(strstr(out, "\"parameters\":85002"), "%s", out);
}

Test(wafer_cli, bench_runs_a_wafer) {
    char out[8192], json[400];
    snprintf(json, sizeof json, "%s/bench.json", dir);
    int rc = tu_run(out, sizeof out, "%s bench %s --input x=%s/digits/test_x.npy --iters 2 --warmup 0 --json %s",
                    WAFER_BIN, mlp_wafer, FIXTURES, json);
    cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
    cr_expect_gt(tu_json_number(json, "load_ms"), 0);
    cr_expect_gt(tu_json_number(json, "median_ms"), 0);
}

/* --profile: one line per node of the file's graph (digits_mlp as exported: Gemm, Relu, Gemm,
 * Relu, Gemm), shares that add up to 100% (each printed to 0.1%), then the op-type sums. */
Test(wafer_cli, bench_profile_lists_every_node) {
    char out[8192];
    int rc = tu_run(out, sizeof out, "%s bench %s --input x=%s/digits/test_x.npy --iters 3 --warmup 1 --profile",
                    WAFER_BIN, mlp_wafer, FIXTURES);
    cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
    cr_assert(strstr(out, "profile: 5 nodes"), "%s", out);
    const char *p = strstr(out, "us/run");
    cr_assert_not_null(p, "%s", out);
    double share_sum = 0, share;
    int lines = 0, gemms = 0, chars = 0;
    char op[64];
    p = strchr(p, '\n') + 1;
    while (sscanf(p, " %lf%% %*f %63s %n", &share, op, &chars) == 2 && lines < 10) {
        share_sum += share;
        gemms += strcmp(op, "Gemm") == 0;
        lines++;
        p = strchr(p, '\n') + 1;
    }
    cr_expect_eq(lines, 5, "%s", out);
    cr_expect_eq(gemms, 3, "%s", out);
    cr_expect(share_sum > 99.7 && share_sum < 100.3, "shares add up to %g:\n%s", share_sum, out);
    cr_expect(strstr(p, "profile by op type:"), "%s", out);
}

/* A damaged file: exit 2, the checksum message, no output written. */
Test(wafer_cli, corrupted_wafer_is_refused) {
    size_t n;
    unsigned char *b = slurp(mlp_wafer, &n);
    b[n / 2] ^= 0x10;
    char bad[400], out[8192], outdir[400];
    snprintf(bad, sizeof bad, "%s/bad.wafer", dir);
    FILE *f = fopen(bad, "wb");
    cr_assert_not_null(f);
    fwrite(b, 1, n, f);
    fclose(f);
    free(b);
    snprintf(outdir, sizeof outdir, "%s/bad_out", dir);
    int rc = tu_run(out, sizeof out, "%s run %s --input x=%s/digits/test_x.npy --out %s", WAFER_BIN, bad, FIXTURES,
                    outdir);
    cr_expect_eq(rc, 2, "exit %d:\n%s", rc, out);
    char want[600];
    snprintf(want, sizeof want, "%s: checksum mismatch (file corrupted)", bad);
    cr_expect(strstr(out, want), "%s", out);
    char lg[500];
    snprintf(lg, sizeof lg, "%s/logits.npy", outdir);
    cr_expect(!exists(lg), "an output was written for a corrupted model");
    rc = tu_run(out, sizeof out, "%s eval %s --input x=%s/digits/test_x.npy --labels %s/digits/test_y.npy", WAFER_BIN,
                bad, FIXTURES, FIXTURES);
    cr_expect_eq(rc, 2, "exit %d:\n%s", rc, out);
    rc = tu_run(out, sizeof out, "%s inspect %s", WAFER_BIN, bad);
    cr_expect_eq(rc, 2, "exit %d:\n%s", rc, out);
}

Test(wafer_cli, newer_version_is_named) {
    size_t n;
    unsigned char *b = slurp(mlp_wafer, &n);
    b[8] = 3; /* format version field (u32 little-endian at offset 8) */
    char bad[400], out[8192];
    snprintf(bad, sizeof bad, "%s/v3.wafer", dir);
    FILE *f = fopen(bad, "wb");
    cr_assert_not_null(f);
    fwrite(b, 1, n, f);
    fclose(f);
    free(b);
    int rc = tu_run(out, sizeof out, "%s inspect %s", WAFER_BIN, bad);
    cr_expect_eq(rc, 2, "exit %d:\n%s", rc, out);
    cr_expect(strstr(out, ".wafer format version 3, this runtime reads version 2"), "%s", out);
}

/* A write that fails (the graph names an op outside wafer's table) leaves no file, and the
 * CLI then finds nothing to run. */
Test(wafer_cli, failed_write_leaves_no_file) {
    char onnx[512], path[400], out[8192];
    snprintf(onnx, sizeof onnx, "%s/digits/digits_mlp.onnx", FIXTURES);
    snprintf(path, sizeof path, "%s/never.wafer", dir);
    RtError err = {{0}};
    IrGraph *g = onnx_load_file(onnx, NULL, &err);
    cr_assert_not_null(g, "%s", err.msg);
    g->nodes[1].op = RT_OP_UNKNOWN;
    cr_expect_neq(wafer_file_write(g, NULL, path, &err), RT_OK);
    cr_expect(err.msg[0], "no message");
    ir_graph_free(g);
    cr_expect(!exists(path), "a failed write left %s", path);
    int rc = tu_run(out, sizeof out, "ls -A %s | grep -c tmp", dir);
    cr_expect(strncmp(out, "0", 1) == 0, "temporary files left behind:\n%s", out);
    rc = tu_run(out, sizeof out, "%s run %s --input x=%s/digits/test_x.npy --out %s/n", WAFER_BIN, path, FIXTURES, dir);
    cr_expect_eq(rc, 2, "exit %d:\n%s", rc, out);
}
