/*
 * conf_common.h — what the two ONNX node conformance runners share: build/conformance (the
 * runtime, node_tests.c) and build/emitc_conformance (the C that `wafer emit-c` writes,
 * emitc_tests.c). A runner is a ConfMode: its name, its default ops and exclude files and
 * how it runs one test_data_set folder; the rest is here: the case loop, the claim rule,
 * the comparison with the expected outputs and the forked isolation of each case.
 *
 * For every test case folder DIR/test_*: load model.onnx, feed each test_data_set_*'s
 * input_N.pb to the graph inputs in order (inputs that are initializers are not graph
 * inputs, so they are not fed), run, and compare each output with output_N.pb.
 *
 * A case is *claimed* when every op of its model (subgraphs included) is listed in the ops
 * file and the case is in no exclude file; claimed cases must pass. The other cases count as
 * unsupported (run too when the mode says so, so -v shows which would pass).
 *
 * Isolation: each case runs in a forked child that reports through a pipe, so a kernel that
 * crashes, hangs (alarm) or trips a sanitizer fails its case instead of killing the run.
 *
 * Exit status: 0 all claimed cases passed, 1 some claimed case failed, 2 usage error.
 */
#ifndef WAFER_CONF_COMMON_H
#define WAFER_CONF_COMMON_H

#define _DEFAULT_SOURCE /* scandir, alphasort */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../frontend/onnx.h"

/* The ONNX backend test suite's default tolerances (onnx/backend/test/case/node: rtol 1e-3,
 * atol 1e-7, numpy.testing.assert_allclose semantics): the reference outputs were computed
 * with numpy, often in float64, so bitwise equality is not expected. */
#define CONF_RTOL 1e-3
#define CONF_ATOL 1e-7
#define CONF_MAX_IO 64          /* inputs/outputs per case */
#define CONF_TIMEOUT_S 120      /* per case, in the child */
#define CONF_MAX_FILES 8        /* default ops / exclude files of a mode */
#define CONF_DEFAULT_DATA "/usr/share/libonnx-testdata/data/node"
#define CONF_DEFAULT_OPS "tests/conformance/supported_ops.txt"
#define CONF_DEFAULT_EXCLUDE "tests/conformance/excluded.txt"


typedef struct {
    char **lines;            /* [n] owned */
    char **reasons;          /* [n] owned, exclude file only ("" for the ops file) */
    int n, cap;
} ConfList;

typedef struct {
    int ok;                  /* 1 passed */
    char msg[1200];          /* why not */
} ConfResult;

typedef struct ConfMode ConfMode;
struct ConfMode {
    const char *prog;             /* "conformance" */
    const char *what;             /* one line for --help: what is run */
    const char *ops_paths[CONF_MAX_FILES];     /* default ops files (NULL-padded) */
    const char *exclude_paths[CONF_MAX_FILES]; /* default exclude files (NULL-padded) */
    int run_unclaimed;            /* 1: unclaimed cases run too (else only with -v) */
    int jobs;                     /* default cases run at once (each in its own process) */
    /* Runs one test_data_set folder of the case against its loaded graph: 1 passed, else 0
     * with why in res->msg. */
    int (*run_set)(const IrGraph *g, const char *case_dir, const char *set_dir, ConfResult *res);
};

typedef struct {
    const char *data_dir, *filter;
    int verbose, no_fork;
    int jobs;                /* cases run at once (--jobs; the mode's default) */
    ConfList ops, exclude;
} ConfOpts;

/* ---------- ops and exclude files ---------- */

static int conf_list_add(ConfList *l, const char *line, const char *reason) {
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        char **a = realloc(l->lines, sizeof(char *) * (size_t)cap);
        if (a) l->lines = a;
        char **b = realloc(l->reasons, sizeof(char *) * (size_t)cap);
        if (b) l->reasons = b;
        if (!a || !b) return -1;
        l->cap = cap;
    }
    l->lines[l->n] = strdup(line);
    l->reasons[l->n] = strdup(reason);
    if (!l->lines[l->n] || !l->reasons[l->n]) return -1;
    l->n++;
    return 0;
}

static void conf_list_free(ConfList *l) {
    for (int i = 0; i < l->n; i++) {
        free(l->lines[i]);
        free(l->reasons[i]);
    }
    free(l->lines);
    free(l->reasons);
}

/* Reads "word [rest]" lines; '#' starts a comment. Missing file: -1 (the caller decides). */
static int conf_list_read(const char *path, ConfList *l) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        char *word = line + strspn(line, " \t\r\n");
        if (!*word) continue;
        char *end = word + strcspn(word, " \t\r\n");
        char *rest = end + strspn(end, " \t");
        if (*end) *end = '\0';
        if (rest > end) rest[strcspn(rest, "\r\n")] = '\0';
        else rest = end;
        if (conf_list_add(l, word, rest) != 0) {
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    return 0;
}

static int conf_list_find(const ConfList *l, const char *s) {
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->lines[i], s) == 0) return i;
    return -1;
}

/* ---------- comparing one output ---------- */

static double conf_elem_f(const RtTensor *t, int64_t i) {
    switch (t->dtype) {
    case RT_F32: return ((const float *)t->data)[i];
    case RT_F64: return ((const double *)t->data)[i];
    case RT_F16: return rt_f16_to_f32(((const uint16_t *)t->data)[i]);
    case RT_BF16: return rt_bf16_to_f32(((const uint16_t *)t->data)[i]);
    default: return 0;
    }
}

static long long conf_elem_i(const RtTensor *t, int64_t i) {
    switch (t->dtype) {
    case RT_I8: return ((const int8_t *)t->data)[i];
    case RT_U8: case RT_BOOL: return ((const uint8_t *)t->data)[i];
    case RT_I16: return ((const int16_t *)t->data)[i];
    case RT_U16: return ((const uint16_t *)t->data)[i];
    case RT_I32: return ((const int32_t *)t->data)[i];
    case RT_U32: return ((const uint32_t *)t->data)[i];
    case RT_I64: return ((const int64_t *)t->data)[i];
    case RT_U64: return (long long)((const uint64_t *)t->data)[i];
    default: return 0;
    }
}

/* numpy.isclose with NaN == NaN; equal infinities compare equal. */
static int conf_close(double got, double want) {
    if (isnan(got) || isnan(want)) return isnan(got) && isnan(want);
    if (got == want) return 1;
    return fabs(got - want) <= CONF_ATOL + CONF_RTOL * fabs(want);
}

static int conf_compare(const RtTensor *got, const RtTensor *want, int idx, const char *name,
                        ConfResult *res) {
    char sg[128], sw[128];
    if (got->dtype != want->dtype) {
        snprintf(res->msg, sizeof res->msg, "output %d '%s': dtype %s, expected %s", idx, name,
                 rt_dtype_name(got->dtype), rt_dtype_name(want->dtype));
        return 0;
    }
    if (!rt_shape_equal(got, want)) {
        snprintf(res->msg, sizeof res->msg, "output %d '%s': shape %s, expected %s", idx, name,
                 rt_shape_str(got->rank, got->dims, sg, sizeof sg),
                 rt_shape_str(want->rank, want->dims, sw, sizeof sw));
        return 0;
    }
    int64_t n = rt_numel(want);
    for (int64_t i = 0; i < n; i++) {
        if (rt_dtype_is_float(want->dtype)) {
            double a = conf_elem_f(got, i), b = conf_elem_f(want, i);
            if (conf_close(a, b)) continue;
            snprintf(res->msg, sizeof res->msg, "output %d '%s': element %lld: got %.9g, expected %.9g",
                     idx, name, (long long)i, a, b);
        } else {
            long long a = conf_elem_i(got, i), b = conf_elem_i(want, i);
            if (a == b) continue;
            snprintf(res->msg, sizeof res->msg, "output %d '%s': element %lld: got %lld, expected %lld",
                     idx, name, (long long)i, a, b);
        }
        return 0;
    }
    return 1;
}

/* ---------- running one case ---------- */

typedef struct {
    RtTensor t[CONF_MAX_IO];
    char names[CONF_MAX_IO][128];
    int n;
} ConfTensors;

static void conf_tensors_free(ConfTensors *ts) {
    for (int i = 0; i < ts->n; i++) free(ts->t[i].data);
    ts->n = 0;
}

/* Reads prefix_0.pb, prefix_1.pb, ... until one is missing. */
static int conf_tensors_read(const char *dir, const char *prefix, ConfTensors *ts, ConfResult *res) {
    ts->n = 0;
    for (int i = 0; i < CONF_MAX_IO; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s_%d.pb", dir, prefix, i);
        if (access(path, F_OK) != 0) break;
        RtError err = {{0}};
        if (onnx_tensor_read_pb(path, &ts->t[i], ts->names[i], sizeof ts->names[i], &err) != RT_OK) {
            snprintf(res->msg, sizeof res->msg, "%s", err.msg);
            return -1;
        }
        ts->n++;
    }
    return 0;
}

static int conf_is_set_dir(const struct dirent *e) { return strncmp(e->d_name, "test_data_set_", 14) == 0; }

/* Loads case_dir/model.onnx and runs every test_data_set_* folder through mode->run_set. */
static void conf_case_run(const ConfMode *mode, const char *case_dir, ConfResult *res) {
    char path[4096];
    snprintf(path, sizeof path, "%s/model.onnx", case_dir);
    OnnxLoadOptions opts = {.allow_unknown_ops = 1};
    RtError err = {{0}};
    res->ok = 0;
    IrGraph *g = onnx_load_file(path, &opts, &err);
    if (!g || ir_verify(g, &err) != RT_OK) {
        snprintf(res->msg, sizeof res->msg, "%s%s", g ? "loaded graph fails ir_verify: " : "", err.msg);
        ir_graph_free(g);
        return;
    }
    struct dirent **sets = NULL;
    int n_sets = scandir(case_dir, &sets, conf_is_set_dir, alphasort);
    if (n_sets <= 0) snprintf(res->msg, sizeof res->msg, "no test_data_set_* folder");
    res->ok = n_sets > 0;
    for (int s = 0; s < n_sets; s++) {
        snprintf(path, sizeof path, "%s/%s", case_dir, sets[s]->d_name);
        if (res->ok && !mode->run_set(g, case_dir, path, res)) {
            res->ok = 0;
            char tmp[sizeof res->msg];
            snprintf(tmp, sizeof tmp, "%s", res->msg);
            snprintf(res->msg, sizeof res->msg, "%s: %s", sets[s]->d_name, tmp);
        }
        free(sets[s]);
    }
    free(sets);
    ir_graph_free(g);
}

/* A case running in a child process (conf_case_start), its result read by conf_case_finish. */
typedef struct {
    pid_t pid;   /* -1: not started (res says why) or run in this process */
    int fd;      /* read end of the child's pipe */
} ConfChild;

/* Starts a case in a child process (or, with no_fork, runs it here at once). */
static void conf_case_start(const ConfMode *mode, const char *case_dir, int no_fork, ConfResult *res,
                            ConfChild *ch) {
    memset(res, 0, sizeof *res);
    ch->pid = -1, ch->fd = -1;
    if (no_fork) {
        conf_case_run(mode, case_dir, res);
        return;
    }
    int fd[2];
    if (pipe(fd) != 0) {
        snprintf(res->msg, sizeof res->msg, "pipe: %s", strerror(errno));
        return;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(res->msg, sizeof res->msg, "fork: %s", strerror(errno));
        close(fd[0]);
        close(fd[1]);
        return;
    }
    if (pid == 0) {
        close(fd[0]);
        alarm(CONF_TIMEOUT_S);
        ConfResult r;
        memset(&r, 0, sizeof r);
        conf_case_run(mode, case_dir, &r);
        ssize_t w = write(fd[1], &r, sizeof r);
        close(fd[1]);
        exit(w == (ssize_t)sizeof r ? 0 : 3); /* exit, not _exit: leak checkers run at exit */
    }
    close(fd[1]);
    ch->pid = pid, ch->fd = fd[0];
}

/* Waits for a started case; a crash or timeout becomes a failure message. */
static void conf_case_finish(ConfChild *ch, ConfResult *res) {
    if (ch->pid < 0) return;
    size_t got = 0;
    while (got < sizeof *res) {
        ssize_t k = read(ch->fd, (char *)res + got, sizeof *res - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        got += (size_t)k;
    }
    close(ch->fd);
    int status = 0;
    while (waitpid(ch->pid, &status, 0) < 0 && errno == EINTR) {}
    ch->pid = -1;
    if (WIFSIGNALED(status)) {
        res->ok = 0;
        snprintf(res->msg, sizeof res->msg, "%s (signal %d: %s)",
                 WTERMSIG(status) == SIGALRM ? "timed out" : "crashed", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    } else if (got != sizeof *res) {
        res->ok = 0;
        snprintf(res->msg, sizeof res->msg, "the case's process exited (status %d) without a result",
                 WEXITSTATUS(status));
    } else if (WEXITSTATUS(status) != 0 && res->ok) {
        res->ok = 0;
        snprintf(res->msg, sizeof res->msg, "passed, but its process exited with status %d "
                 "(a sanitizer report, e.g. a leak, is printed above)", WEXITSTATUS(status));
    }
}

/* ---------- claiming ---------- */

/* 1 when every op of the model is in the ops list; else 0 and why in `why`. */
static int conf_case_claimed(const ConfOpts *o, const char *case_name, const char *case_dir,
                             char *why, size_t why_len) {
    int ex = conf_list_find(&o->exclude, case_name);
    if (ex >= 0) {
        snprintf(why, why_len, "excluded: %s", o->exclude.reasons[ex]);
        return 0;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/model.onnx", case_dir);
    char **ops = NULL;
    int n_ops = 0;
    RtError err = {{0}};
    if (onnx_model_op_types(path, &ops, &n_ops, &err) != RT_OK) {
        snprintf(why, why_len, "%s", err.msg);
        return 0;
    }
    size_t len = 0;
    why[0] = '\0';
    for (int i = 0; i < n_ops; i++) {
        if (conf_list_find(&o->ops, ops[i]) >= 0) continue;
        int k = snprintf(why + len, why_len - len, "%s%s", len ? ", " : "ops not listed: ", ops[i]);
        if (k > 0 && len + (size_t)k < why_len) len += (size_t)k;
    }
    free(ops);
    return why[0] == '\0';
}

/* ---------- driver ---------- */

static void conf_usage(const ConfMode *m, FILE *f) {
    fprintf(f,
            "usage: build/%s [--data DIR] [--ops FILE]... [--exclude FILE]... [--filter SUBSTR] [--jobs N] [-v]\n"
            "%s\n"
            "  --data DIR       test cases folder (default " CONF_DEFAULT_DATA ")\n"
            "  --ops FILE       ops claimed, one ONNX op_type per line (repeatable; default %s%s)\n"
            "  --exclude FILE   'case_name  reason' lines: cases not claimed (repeatable; default\n"
            "                   %s%s)\n"
            "  --filter SUBSTR  only cases whose name contains SUBSTR (e.g. --filter test_conv)\n"
            "  --no-fork        run cases in this process (for a debugger; a crash ends the run)\n"
            "  --jobs N         cases run at once, each in its own process (default %d)\n"
            "  -v               one line per case: PASS / FAIL / UNSUPPORTED name: reason\n"
            "A case is claimed when all its ops are listed and it is not excluded; claimed cases\n"
            "must pass. Others count as unsupported. Prints a last line\n"
            "'N passed, N failed, N unsupported'. Exit 0 ok, 1 a claimed case failed, 2 usage error.\n",
            m->prog, m->what, m->ops_paths[0], m->ops_paths[1] ? " and the others beside it" : "",
            m->exclude_paths[0] ? m->exclude_paths[0] : "none", m->exclude_paths[1] ? " and the others beside it" : "",
            m->jobs > 0 ? m->jobs : 1);
}

static int conf_args_parse(const ConfMode *m, int argc, char **argv, ConfOpts *o) {
    o->data_dir = CONF_DEFAULT_DATA;
    o->jobs = m->jobs > 0 ? m->jobs : 1;
    int ops_given = 0, ex_given = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            conf_usage(m, stdout);
            exit(0);
        } else if (strcmp(a, "-v") == 0) o->verbose = 1;
        else if (strcmp(a, "--no-fork") == 0) o->no_fork = 1;
        else if (strcmp(a, "--jobs") == 0 && has_val) {
            o->jobs = atoi(argv[++i]);
            if (o->jobs < 1 || o->jobs > 64) {
                fprintf(stderr, "%s: --jobs must be 1..64, got '%s'\n", m->prog, argv[i]);
                return -1;
            }
        }
        else if (strcmp(a, "--data") == 0 && has_val) o->data_dir = argv[++i];
        else if (strcmp(a, "--ops") == 0 && has_val) {
            if (conf_list_read(argv[++i], &o->ops) != 0) {
                fprintf(stderr, "%s: cannot read ops file '%s'\n", m->prog, argv[i]);
                return -1;
            }
            ops_given = 1;
        }
        else if (strcmp(a, "--exclude") == 0 && has_val) {
            if (conf_list_read(argv[++i], &o->exclude) != 0) {
                fprintf(stderr, "%s: cannot read exclude file '%s'\n", m->prog, argv[i]);
                return -1;
            }
            ex_given = 1;
        } else if (strcmp(a, "--filter") == 0 && has_val) o->filter = argv[++i];
        else {
            fprintf(stderr, "%s: unknown or incomplete option '%s'\n", m->prog, a);
            conf_usage(m, stderr);
            return -1;
        }
    }
    /* The default files may be absent (an empty claim); files named on the command line may not. */
    for (int k = 0; k < CONF_MAX_FILES && !ops_given; k++)
        if (m->ops_paths[k]) (void)conf_list_read(m->ops_paths[k], &o->ops);
    for (int k = 0; k < CONF_MAX_FILES && !ex_given; k++)
        if (m->exclude_paths[k]) (void)conf_list_read(m->exclude_paths[k], &o->exclude);
    return 0;
}

static int conf_is_case_dir(const struct dirent *e) { return strncmp(e->d_name, "test_", 5) == 0; }

static int conf_main(const ConfMode *m, int argc, char **argv) {
    ConfOpts o;
    memset(&o, 0, sizeof o);
    if (conf_args_parse(m, argc, argv, &o) != 0) return 2;
    struct dirent **cases = NULL;
    int n_cases = scandir(o.data_dir, &cases, conf_is_case_dir, alphasort);
    if (n_cases < 0) {
        fprintf(stderr, "%s: cannot read test folder '%s': %s\n", m->prog, o.data_dir, strerror(errno));
        return 2;
    }
    /* the cases to report, then their runs, o.jobs at a time, reported in name order */
    typedef struct {
        char name[256], dir[4096], why[1024];
        int claimed, run;
        ConfResult r;
        ConfChild ch;
    } ConfCase;
    ConfCase *cs = calloc((size_t)n_cases + 1, sizeof *cs);
    if (!cs) {
        fprintf(stderr, "%s: out of memory\n", m->prog);
        return 2;
    }
    int n = 0;
    for (int c = 0; c < n_cases; c++) {
        const char *name = cases[c]->d_name;
        ConfCase *k = &cs[n];
        snprintf(k->name, sizeof k->name, "%s", name);
        snprintf(k->dir, sizeof k->dir, "%s/%s", o.data_dir, name);
        struct stat st;
        int keep = !(o.filter && !strstr(name, o.filter)) && stat(k->dir, &st) == 0 && S_ISDIR(st.st_mode);
        free(cases[c]);
        if (!keep) continue;
        k->claimed = conf_case_claimed(&o, k->name, k->dir, k->why, sizeof k->why); /* name was freed */
        k->run = k->claimed || m->run_unclaimed || o.verbose;
        k->ch.pid = -1;
        n++;
    }
    int passed = 0, failed = 0, unsupported = 0, next = 0;
    for (int c = 0; c < n; c++) {
        for (; next < n && next < c + o.jobs; next++)
            if (cs[next].run) conf_case_start(m, cs[next].dir, o.no_fork, &cs[next].r, &cs[next].ch);
        ConfCase *k = &cs[c];
        conf_case_finish(&k->ch, &k->r);
        if (k->claimed) {
            passed += k->r.ok;
            failed += !k->r.ok;
            if (!k->r.ok) printf("FAIL %s: %s\n", k->name, k->r.msg);
            else if (o.verbose) printf("PASS %s\n", k->name);
        } else {
            unsupported++;
            if (o.verbose)
                printf("UNSUPPORTED %s: %s (%s%s)\n", k->name, k->why, k->r.ok ? "would pass" : "fails: ",
                       k->r.ok ? "" : k->r.msg);
        }
        fflush(stdout);
    }
    free(cs);
    free(cases);
    printf("%d passed, %d failed, %d unsupported\n", passed, failed, unsupported);
    conf_list_free(&o.ops);
    conf_list_free(&o.exclude);
    return failed ? 1 : 0;
}

#endif
