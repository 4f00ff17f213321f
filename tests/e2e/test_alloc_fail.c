/*
 * test_alloc_fail.c — allocation-failure injection over a whole `wafer quantize`: load an
 * ONNX fixture, simplify, fuse, quantize, write the .wafer file.
 *
 * The binary is linked (Makefile: ALLOC_WRAP) with -Wl,--wrap=malloc,calloc,realloc,strdup,
 * posix_memalign, so every allocation the library and the CLI's commands make goes through
 * the wrappers below: a counter, and the Nth call fails (NULL / ENOMEM). A first run counts
 * the K allocation points of a successful quantize; then for each N in 1..K the same
 * command runs with allocation N failing, and must end cleanly: exit status 2 with a message,
 * no output file and no temporary file left beside it, and (in the sanitizer build) no leak
 * (LeakSanitizer's recoverable check after every run). A run that survives the failure (a
 * best-effort step, like the folder fsync after the rename) must instead write the same bytes
 * as the reference run. Allocations inside shared libraries (protobuf-c is given our own
 * allocator; OpenBLAS, libc's stdio) are not counted.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../cli/cli.h"
#include "../test_util.h"

/* LeakSanitizer's full check scans the heap (most of a sanitized walk's time), so it runs
 * only when the bytes ASan counts as allocated differ from those after the previous check:
 * a run that leaks leaves more bytes allocated and is always checked. */
#if defined(__SANITIZE_ADDRESS__)
/* from compiler-rt's sanitizer/allocator_interface.h, which GCC does not install */
size_t __sanitizer_get_current_allocated_bytes(void);
#include <sanitizer/lsan_interface.h>
static size_t leak_baseline;
static int leak_check(void) {
    size_t now = __sanitizer_get_current_allocated_bytes();
    if (now == leak_baseline) return 0;
    int r = __lsan_do_recoverable_leak_check();
    leak_baseline = __sanitizer_get_current_allocated_bytes();
    return r;
}
#define LEAK_CHECK() leak_check()
#else
#define LEAK_CHECK() 0
#endif

#ifndef FIXTURES
#define FIXTURES "../shared/fixtures"
#endif

/* ---------- the wrappers ---------- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
int __real_posix_memalign(void **p, size_t align, size_t n);

static long alloc_count;   /* allocations since the counter was armed */
static long fail_at;       /* the allocation that fails (1-based); 0: none */
static int armed;

static int alloc_fails(void) {
    if (!armed) return 0;
    return ++alloc_count == fail_at;
}

void *__wrap_malloc(size_t n) {
    if (alloc_fails()) return errno = ENOMEM, NULL;
    return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t size) {
    if (alloc_fails()) return errno = ENOMEM, NULL;
    return __real_calloc(n, size);
}
void *__wrap_realloc(void *p, size_t n) {
    if (alloc_fails()) return errno = ENOMEM, NULL;
    return __real_realloc(p, n);
}
char *__wrap_strdup(const char *s) {
    if (alloc_fails()) return errno = ENOMEM, NULL;
    return __real_strdup(s);
}
int __wrap_posix_memalign(void **p, size_t align, size_t n) {
    if (alloc_fails()) return ENOMEM;
    return __real_posix_memalign(p, align, n);
}

/* ---------- the runs ---------- */

static char dir[64];

static void dir_make(void) {
    strcpy(dir, "/tmp/wafer_allocfail_XXXXXX");
    cr_assert(mkdtemp(dir));
}

static void dir_remove(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (dir[0] && system(cmd) != 0) cr_log_warn("could not remove %s", dir);
}

TestSuite(alloc_fail, .init = dir_make, .fini = dir_remove);

/* Files in dir (the output and any leftover temporary). */
static int dir_count(void) __attribute__((unused));
static int dir_count(void) {
    DIR *d = opendir(dir);
    cr_assert(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

/* One command of the walk: its function, the output option and the files it writes. */
typedef struct {
    CliCommandFn fn;        /* cmd_quantize, cmd_emit_c */
    const char *name;       /* argv[0] */
    const char *flag;       /* "-o" or "--onnx" */
    const char *out;        /* under dir: a file, or emit-c's folder */
    const char *files[2];   /* under dir: what a success writes */
} Cmd;

static const Cmd QUANTIZE = {cmd_quantize, "quantize", "-o", "out.wafer", {"out.wafer", NULL}};
static const Cmd QUANTIZE_ONNX = {cmd_quantize, "quantize", "--onnx", "out.onnx", {"out.onnx", NULL}};
static const Cmd EMIT_C = {cmd_emit_c, "emit-c", "-o", "c", {"c/model.c", "c/model.h"}};

/* Regular files anywhere under dir (two levels: emit-c's folder). */
static int files_count(void) {
    int n = 0;
    DIR *d = opendir(dir);
    cr_assert(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st) != 0) continue;
        if (!S_ISDIR(st.st_mode)) {
            n++;
            continue;
        }
        DIR *s = opendir(p);
        cr_assert(s);
        struct dirent *f;
        while ((f = readdir(s)))
            if (strcmp(f->d_name, ".") && strcmp(f->d_name, "..")) n++;
        closedir(s);
    }
    closedir(d);
    return n;
}

/* wafer CMD MODEL [extra...] FLAG dir/OUT with allocation `fail` failing (0: none);
 * returns the exit status, the message in err, the allocations made in *count. */
static int cmd_run_counted(const Cmd *c, const char *const *args, int n_args, long fail, RtError *err,
                           long *count) {
    char out[128];
    snprintf(out, sizeof out, "%s/%s", dir, c->out);
    char *argv[16];
    int argc = 0;
    argv[argc++] = (char *)c->name;
    for (int i = 0; i < n_args; i++) argv[argc++] = (char *)args[i];
    argv[argc++] = (char *)c->flag;
    argv[argc++] = out;
    argv[argc] = NULL;
    FILE *devnull = fopen("/dev/null", "w");
    cr_assert(devnull);
    memset(err, 0, sizeof *err);
    alloc_count = 0;
    fail_at = fail;
    armed = 1;
    int status = c->fn(argc, argv, devnull, err);
    armed = 0;
    *count = alloc_count;
    fclose(devnull);
    return status;
}

static void outputs_remove(const Cmd *c) {
    for (int f = 0; f < 2 && c->files[f]; f++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, c->files[f]);
        unlink(p);
    }
}

/* The walk over every allocation of one command. */
static void walk_cmd(const Cmd *c, const char *const *args, int n_args, const char *label) {
    RtError err;
    long k = 0;
    int status = cmd_run_counted(c, args, n_args, 0, &err, &k);
    cr_assert_eq(status, CLI_OK, "%s: the reference run failed: %s", label, err.msg);
    size_t ref_len[2] = {0, 0};
    unsigned char *ref[2] = {NULL, NULL};
    for (int f = 0; f < 2 && c->files[f]; f++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, c->files[f]);
        ref[f] = tu_file_read(p, &ref_len[f]);
        cr_assert(ref[f], "%s: no %s from the reference run", label, c->files[f]);
    }
    cr_assert_gt(k, 10, "%s: only %ld allocations counted: the wrappers are not linked", label, k);
    outputs_remove(c);
    cr_assert_eq(LEAK_CHECK(), 0, "%s: the reference run leaks", label);
    int clean_errors = 0, survived = 0;
    for (long n = 1; n <= k; n++) {
        long made = 0;
        status = cmd_run_counted(c, args, n_args, n, &err, &made);
        cr_assert_geq(made, n, "%s: allocation %ld was never reached (%ld made)", label, n, made);
        if (status == CLI_BAD_INPUT) {
            cr_assert(err.msg[0], "%s: allocation %ld failed: exit 2 without a message", label, n);
            cr_assert_eq(files_count(), 0, "%s: allocation %ld failed: a file was left behind (%s)", label,
                         n, err.msg);
            clean_errors++;
        } else {
            cr_assert_eq(status, CLI_OK, "%s: allocation %ld failed: exit %d (%s)", label, n, status, err.msg);
            for (int f = 0; f < 2 && c->files[f]; f++) {
                char p[512];
                snprintf(p, sizeof p, "%s/%s", dir, c->files[f]);
                size_t len = 0;
                unsigned char *got = tu_file_read(p, &len);
                cr_assert(got && len == ref_len[f] && memcmp(got, ref[f], len) == 0,
                          "%s: allocation %ld failed, exit 0, but %s differs", label, n, c->files[f]);
                free(got);
            }
            outputs_remove(c);
            cr_assert_eq(files_count(), 0);
            survived++;
        }
        cr_assert_eq(LEAK_CHECK(), 0, "%s: allocation %ld failed: leak (see LeakSanitizer's report)", label, n);
    }
    free(ref[0]);
    free(ref[1]);
    cr_log_info("%s: %ld allocation points: %d clean exits 2, %d survived with identical output, "
                "0 leaks, 0 partial files", label, k, clean_errors, survived);
}

static void walk(const char *const *args, int n_args, const char *label) {
    walk_cmd(&QUANTIZE, args, n_args, label);
}

Test(alloc_fail, quantize_int8_digits_mlp, .timeout = 300) {
    const char *args[] = {FIXTURES "/digits/digits_mlp.onnx"};
    walk(args, 1, "quantize digits_mlp (int8)");
}

Test(alloc_fail, quantize_int8_static_digits_mlp, .timeout = 300) {
    const char *args[] = {FIXTURES "/digits/digits_mlp.onnx", "--activations", "int8", "--calib",
                          "x=" FIXTURES "/digits/calib_x.npy"};
    walk(args, 5, "quantize digits_mlp (int8 weights and activations, calibrated)");
}

/* This walk found three bugs in passes/gptq_driver.c (a double free of the plan's arrays after
 * a failed plan_make, a segment and a weight buffer leaked on early returns), fixed with it:
 * 412 allocation points, 407 clean exits 2, 5 survivals with identical output, 0 leaks. */
Test(alloc_fail, quantize_gptq4_digits_mlp, .timeout = 300) {
    const char *args[] = {FIXTURES "/digits/digits_mlp.onnx", "--weights", "int4", "--method", "gptq",
                          "--group", "32", "--calib", "x=" FIXTURES "/digits/calib_x.npy"};
    walk(args, 9, "quantize digits_mlp (4-bit GPTQ, group 32)");
}

Test(alloc_fail, quantize_onnx_int8_digits_mlp, .timeout = 300) {
    const char *args[] = {FIXTURES "/digits/digits_mlp.onnx", "--activations", "int8", "--calib",
                          "x=" FIXTURES "/digits/calib_x.npy"};
    walk_cmd(&QUANTIZE_ONNX, args, 5, "quantize --onnx digits_mlp (int8, calibrated)");
}

/* This walk found a NULL read in rt_plan_build's clean-up and a partial output (NAME.h
 * written, NAME.c not) in emit_c_write; both fixed. */
Test(alloc_fail, emit_c_int8_digits_mlp, .timeout = 300) {
    const char *args[] = {FIXTURES "/digits/digits_mlp.onnx", "--activations", "int8", "--calib",
                          "x=" FIXTURES "/digits/calib_x.npy"};
    walk_cmd(&EMIT_C, args, 5, "emit-c digits_mlp (int8, calibrated)");
}
