/*
 * test_util.h — helpers shared by the end-to-end, CLI and io suites: run the CLI and capture
 * its output and exit status, read a whole file, read a number from a flat JSON report,
 * make and remove a temporary folder, compare tensors.
 *
 *   tu_run(out, n, fmt, ...)        shell command; exit status, output captured
 *   tu_file_read(path, &n)          whole file, malloc'd and NUL-terminated (n may be NULL)
 *   tu_json_number(path, key)       the number after "key": in a flat JSON file
 *   tu_tmpdir_make(dir, size, tag)  fresh /tmp/<tag>_XXXXXX folder (mkdtemp)
 *   tu_tmpdir_remove(dir)           rm -rf of that folder
 *   tu_max_rel_diff(a, b, n)        largest |a-b| over the largest |b|
 *   tu_fixture_npy(rel)             FIXTURES/rel read as a tensor (asserted; caller frees data)
 *   tu_attr_expect_same(x, y, node) two attributes equal (name, type, value); a TENSOR or GRAPH
 *                                   value is left to the caller (returns 1 for those kinds)
 */
#ifndef WAFER_TEST_UTIL_H
#define WAFER_TEST_UTIL_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <criterion/criterion.h>

#include "../io/npy.h"

#ifndef BUILD_DIR
#define BUILD_DIR "build"
#endif
#define WAFER_BIN BUILD_DIR "/wafer"

/* Runs a shell command; stdout+stderr go to out (truncated to n). Returns the exit status,
 * or -1 if the process died of a signal (a crash). */
static inline int tu_run(char *out, size_t n, const char *fmt, ...) {
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char full[4200];
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p) return -2;
    size_t used = 0;
    if (n) out[0] = '\0';
    char buf[4096];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, p)) > 0) {
        if (n && used + 1 < n) {
            size_t take = got < n - 1 - used ? got : n - 1 - used;
            memcpy(out + used, buf, take);
            used += take;
            out[used] = '\0';
        }
    }
    int st = pclose(p);
    if (WIFSIGNALED(st)) return -1;
    if (WIFEXITED(st)) {
        int code = WEXITSTATUS(st);
        return code >= 128 ? -1 : code; /* the shell reports a child's signal as 128+n */
    }
    return -1;
}

/* The whole file at path, malloc'd with a NUL after its last byte (so text can be searched
 * as a string); its length in *n when n is not NULL. NULL if it cannot be opened or read. */
static inline unsigned char *tu_file_read(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (b && fread(b, 1, (size_t)len, f) != (size_t)len) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (!b) return NULL;
    b[len] = '\0';
    if (n) *n = (size_t)len;
    return b;
}

/* The number after "key": in a flat JSON file (the CLI's --json reports); NAN if the file
 * or the key is absent. The first occurrence counts: the reports have no nesting. */
static inline double tu_json_number(const char *path, const char *key) {
    char *s = (char *)tu_file_read(path, NULL);
    if (!s) return NAN;
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    char *p = strstr(s, pat);
    double v = p ? strtod(p + strlen(pat), NULL) : NAN;
    free(s);
    return v;
}

/* Makes a fresh folder /tmp/<tag>_XXXXXX (mkdtemp) and writes its path to dir[size].
 * Returns 0, or -1 if it could not be made. */
static inline int tu_tmpdir_make(char *dir, size_t size, const char *tag) {
    snprintf(dir, size, "/tmp/%s_XXXXXX", tag);
    return mkdtemp(dir) ? 0 : -1;
}

/* Removes the folder dir and everything in it; returns system()'s status (0 on success). */
static inline int tu_tmpdir_remove(const char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

/* Largest |a-b| over all elements divided by the largest |b| (the reference's magnitude). */
static inline double tu_max_rel_diff(const float *a, const float *b, long n) {
    double maxdiff = 0, maxmag = 0;
    for (long i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > maxdiff || d != d) maxdiff = d != d ? INFINITY : d;
        if (fabs((double)b[i]) > maxmag) maxmag = fabs((double)b[i]);
    }
    return maxmag > 0 ? maxdiff / maxmag : maxdiff;
}

/* The fixture file FIXTURES/rel (a .npy) as a tensor; the caller frees its data. */
static inline RtTensor tu_fixture_npy(const char *rel) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", FIXTURES, rel);
    RtTensor t;
    RtError err = {{0}};
    cr_assert_eq(npy_read(path, &t, &err), RT_OK, "%s", err.msg);
    return t;
}

static inline int tu_attr_expect_same(const RtAttr *x, const RtAttr *y, const char *node) {
    cr_assert_str_eq(x->name, y->name, "node %s", node);
    cr_assert_eq(x->type, y->type, "node %s attr %s", node, x->name);
    switch (x->type) {
    case RT_ATTR_FLOAT: cr_assert(memcmp(&x->f, &y->f, 4) == 0, "%s.%s", node, x->name); break;
    case RT_ATTR_INT: cr_assert_eq(x->i, y->i, "%s.%s", node, x->name); break;
    case RT_ATTR_STRING: cr_assert_str_eq(x->s, y->s, "%s.%s", node, x->name); break;
    case RT_ATTR_TENSOR:
    case RT_ATTR_GRAPH: return 1;
    case RT_ATTR_FLOATS:
        cr_assert_eq(x->n, y->n);
        if (x->n) cr_assert(memcmp(x->floats, y->floats, sizeof(float) * (size_t)x->n) == 0, "%s.%s", node, x->name);
        break;
    case RT_ATTR_INTS:
        cr_assert_eq(x->n, y->n);
        for (int i = 0; i < x->n; i++) cr_assert_eq(x->ints[i], y->ints[i], "%s.%s[%d]", node, x->name, i);
        break;
    case RT_ATTR_STRINGS:
        cr_assert_eq(x->n, y->n);
        for (int i = 0; i < x->n; i++) cr_assert_str_eq(x->strings[i], y->strings[i]);
        break;
    }
    return 0;
}

#endif
