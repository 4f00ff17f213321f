/*
 * test_fuzz_regressions.c — every input the fuzzers found (tests/fuzz/crashes/, named
 * <target>-<what>.<ext>) fed again to the loader it broke: each must now load into a graph
 * that passes ir_verify or be refused with a message, and the known cases must be refused
 * with the message that names their problem. Runs from the repository root (make test).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../frontend/onnx.h"

#define CRASH_DIR "tests/fuzz/crashes"

static uint8_t *file_read(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    cr_assert(n >= 0);
    rewind(f);
    uint8_t *buf = malloc((size_t)n + 1);
    cr_assert(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Loads an ONNX input as fuzz_onnx does (unknown ops refused, then allowed); returns the
 * message of the last refusal ("" when both loaded). */
static void onnx_check(const char *path, char *msg, size_t msg_len) {
    size_t len;
    uint8_t *buf = file_read(path, &len);
    msg[0] = '\0';
    for (int allow = 0; allow <= 1; allow++) {
        RtError err;
        memset(&err, 0, sizeof err);
        OnnxLoadOptions o = {.allow_unknown_ops = allow};
        IrGraph *g = onnx_load_memory(buf, len, NULL, path, &o, &err);
        if (!g) {
            cr_assert(err.msg[0], "%s: refused without a message", path);
            snprintf(msg, msg_len, "%s", err.msg);
            continue;
        }
        RtError verr;
        memset(&verr, 0, sizeof verr);
        cr_assert_eq(ir_verify(g, &verr), RT_OK, "%s: loaded a graph failing ir_verify: %s", path, verr.msg);
        ir_graph_free(g);
    }
    free(buf);
}

Test(fuzz_regressions, every_saved_onnx_input_loads_or_is_refused) {
    DIR *d = opendir(CRASH_DIR);
    cr_assert(d, "run from the repository root: %s not found", CRASH_DIR);
    int n = 0;
    struct dirent *e;
    char path[512], msg[512];
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "onnx-", 5) != 0) continue;
        snprintf(path, sizeof path, "%s/%s", CRASH_DIR, e->d_name);
        onnx_check(path, msg, sizeof msg);
        n++;
    }
    closedir(d);
    cr_assert(n >= 1, "no saved ONNX inputs in %s", CRASH_DIR);
}

/* An unknown op (loaded with allow_unknown_ops, as wafer inspect does) whose attributes
 * have no name twice: the duplicate check skipped nameless attributes, so the loader
 * returned a graph that ir_verify refuses ("attribute '' appears twice"). */
Test(fuzz_regressions, unknown_op_nameless_duplicate_attributes_refused) {
    char msg[512];
    onnx_check(CRASH_DIR "/onnx-unknown-op-duplicate-attr.onnx", msg, sizeof msg);
    cr_assert(strstr(msg, "attribute '' appears twice"), "message: '%s'", msg);
    cr_assert(strstr(msg, "TfIdUnsqueezzer"), "message names the node's op: '%s'", msg);
}
