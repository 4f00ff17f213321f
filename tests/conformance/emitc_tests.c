/*
 * emitc_tests.c — the ONNX node conformance cases through emit-c (build/emitc_conformance):
 * for each test_data_set, `wafer emit-c model.onnx --weights f32` with the set's input shapes
 * bound, the emitted C compiled with tests/codegen/emitc_harness.c (cc -std=c99 -pedantic
 * -Werror, and under ASan + UBSan when this runner is a sanitizer build), run on the set's
 * inputs, each output compared with the test's as build/conformance does (same tolerances).
 * So the C a firmware engineer gets is checked against the ONNX suite, not only against the
 * runtime. When emit-c says a shape depends on input data (the case feeds axes, a shape, k,
 * repeats... as graph inputs, where exported models have constants), the set is emitted again
 * with every input but the first float tensor frozen to the case's values (--freeze-input)
 * and the program gets the rest.
 *
 * Claims: tests/conformance/emitc_ops*.txt list the ops emit-c claims (a subset of the
 * runtime's supported_ops.txt; one file per emitter family, codegen/emit_ops_<family>.c); a
 * case is excluded when the runtime excludes it (excluded.txt) or emit-c does
 * (emitc_excluded*.txt, with the reason). Unclaimed cases are only run with -v (each costs a
 * compile). With WAFER_EMITC_KEEP set in the environment, each case's folder (emitted C, log,
 * inputs) is kept and named in the message.
 */
#include "conf_common.h"

#include <fcntl.h>

#include "../../io/npy.h"

#ifndef BUILD_DIR
#define BUILD_DIR "build"
#endif
#define ECC_HARNESS "tests/codegen/emitc_harness.c"
#define ECC_HARNESS_MAX_IO 8 /* emitc_harness.c's HARNESS_MAX_IO */
#define ECC_ARGV_MAX (24 + 2 * CONF_MAX_IO)

#if defined(__SANITIZE_ADDRESS__)
#define ECC_SANITIZE 1
#else
#define ECC_SANITIZE 0
#endif

/* Runs argv (no shell) with stdout and stderr into log; returns the exit status, -1 when it
 * could not start or died by a signal. */
static int ecc_exec(char *const argv[], const char *log) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The last non-empty line of a log into res->msg after prefix. */
static void ecc_log_tail(const char *log, const char *prefix, ConfResult *res) {
    char line[1024], last[1024] = "(no message)";
    FILE *f = fopen(log, "r");
    while (f && fgets(line, sizeof line, f))
        if (line[strspn(line, " \t\r\n")]) snprintf(last, sizeof last, "%s", line);
    if (f) fclose(f);
    last[strcspn(last, "\r\n")] = '\0';
    snprintf(res->msg, sizeof res->msg, "%s: %s", prefix, last);
}

static int ecc_file_write(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = n ? fwrite(data, 1, n, f) : 0;
    return (fclose(f) == 0 && w == n) ? 0 : -1;
}

static void *ecc_file_read(const char *path, long *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *b = malloc((size_t)*n + 1);
    if (b && fread(b, 1, (size_t)*n, f) != (size_t)*n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

static int ecc_is_int(RtDtype t) { return !rt_dtype_is_float(t) && t != RT_BOOL && t != RT_STRING; }

/* 1 when the log says a shape depends on input data (emit-c needs it constant). */
static int ecc_log_says_data_shape(const char *log) {
    char line[1024];
    int hit = 0;
    FILE *f = fopen(log, "r");
    while (f && !hit && fgets(line, sizeof line, f)) hit = strstr(line, "depends on input data") != NULL;
    if (f) fclose(f);
    return hit;
}

/* Emit, compile, run and compare one set in the scratch folder dir. With freeze_ints, every
 * input but a float tensor in first place is given to emit-c as a constant (--freeze-input:
 * the case's axes, shape, k, repeats, scales, a Range's bounds, a OneHot's depth) and the
 * program gets the rest. */
static int ecc_set_in_dir(const IrGraph *g, const char *model, const char *dir, const ConfTensors *in,
                          const ConfTensors *want, int freeze_ints, ConfResult *res) {
    char src[4096], log[4096], exe[4096], inc[4200];
    char shape[CONF_MAX_IO][600], frozen[CONF_MAX_IO][4400];
    char files[2 * CONF_MAX_IO][4200];
    const char *argv[ECC_ARGV_MAX];
    int n = 0;
    snprintf(log, sizeof log, "%s/log", dir);
    /* 1. emit, binding each input with a dynamic dim to the set's shape */
    argv[n++] = BUILD_DIR "/wafer", argv[n++] = "emit-c", argv[n++] = model, argv[n++] = "-o", argv[n++] = dir;
    argv[n++] = "--weights", argv[n++] = "f32";
    for (int i = 0; i < in->n; i++) {
        const IrValue *v = &g->values[g->inputs[i]];
        frozen[i][0] = '\0';
        if (freeze_ints && (i > 0 || ecc_is_int(in->t[i].dtype) || rt_numel(&in->t[i]) == 1)) {
            char npy[4200];
            RtError e = {{0}};
            snprintf(npy, sizeof npy, "%s/frozen%d.npy", dir, i);
            if (npy_write(npy, &in->t[i], &e) != RT_OK) return snprintf(res->msg, sizeof res->msg, "%s", e.msg), 0;
            snprintf(frozen[i], sizeof frozen[i], "%s=%s", v->name, npy);
            argv[n++] = "--freeze-input", argv[n++] = frozen[i];
            continue;
        }
        int dyn = v->rank < 0;
        for (int d = 0; d < v->rank; d++) dyn |= v->dims[d].value < 0;
        if (!dyn || in->t[i].rank == 0) continue;
        size_t u = (size_t)snprintf(shape[i], sizeof shape[i], "%s=", v->name);
        for (int d = 0; d < in->t[i].rank && u < sizeof shape[i]; d++)
            u += (size_t)snprintf(shape[i] + u, sizeof shape[i] - u, "%s%lld", d ? "," : "",
                                  (long long)in->t[i].dims[d]);
        argv[n++] = "--shape", argv[n++] = shape[i];
    }
    argv[n] = NULL;
    if (ecc_exec((char *const *)argv, log) != 0) {
        if (!freeze_ints && ecc_log_says_data_shape(log)) return ecc_set_in_dir(g, model, dir, in, want, 1, res);
        return ecc_log_tail(log, freeze_ints ? "emit-c (integer inputs frozen)" : "emit-c", res), 0;
    }
    /* 2. compile with the harness */
    snprintf(src, sizeof src, "%s/model.c", dir);
    snprintf(exe, sizeof exe, "%s/exe", dir);
    snprintf(inc, sizeof inc, "-I%s", dir);
    n = 0;
    argv[n++] = "cc", argv[n++] = "-std=c99", argv[n++] = "-Wall", argv[n++] = "-Wextra", argv[n++] = "-Werror";
    argv[n++] = "-pedantic", argv[n++] = "-O0", argv[n++] = inc;
    if (ECC_SANITIZE)
        argv[n++] = "-g", argv[n++] = "-fsanitize=address,undefined", argv[n++] = "-fno-sanitize-recover=all";
    argv[n++] = src, argv[n++] = ECC_HARNESS, argv[n++] = "-o", argv[n++] = exe, argv[n++] = "-lm", argv[n] = NULL;
    if (ecc_exec((char *const *)argv, log) != 0) return ecc_log_tail(log, "compiling the emitted C", res), 0;
    /* 3. run on the set's inputs */
    n = 0;
    argv[n++] = exe;
    for (int i = 0; i < in->n; i++) {
        if (frozen[i][0]) continue;
        snprintf(files[i], sizeof files[i], "%s/in%d.bin", dir, i);
        size_t bytes = (size_t)rt_numel(&in->t[i]) * rt_dtype_size(in->t[i].dtype);
        if (ecc_file_write(files[i], in->t[i].data, bytes) != 0)
            return snprintf(res->msg, sizeof res->msg, "cannot write %s", files[i]), 0;
        argv[n++] = files[i];
    }
    for (int i = 0; i < want->n; i++) {
        snprintf(files[in->n + i], sizeof files[0], "%s/out%d.bin", dir, i);
        argv[n++] = files[in->n + i];
    }
    argv[n] = NULL;
    if (ecc_exec((char *const *)argv, log) != 0) return ecc_log_tail(log, "the emitted program", res), 0;
    /* 4. compare, as raw bytes of the expected dtype and shape */
    for (int i = 0; i < want->n; i++) {
        long bytes = 0;
        void *data = ecc_file_read(files[in->n + i], &bytes);
        long expect = (long)((size_t)rt_numel(&want->t[i]) * rt_dtype_size(want->t[i].dtype));
        char sw[128];
        if (!data || bytes != expect) {
            free(data);
            return snprintf(res->msg, sizeof res->msg, "output %d: %ld bytes, expected %ld (%s %s)", i, bytes, expect,
                            rt_dtype_name(want->t[i].dtype),
                            rt_shape_str(want->t[i].rank, want->t[i].dims, sw, sizeof sw)),
                   0;
        }
        RtTensor got = want->t[i];
        got.data = data;
        int ok = conf_compare(&got, &want->t[i], i, g->values[g->outputs[i]].name, res);
        free(data);
        if (!ok) return 0;
    }
    return 1;
}

static void ecc_rm_rf(const char *dir) {
    char *const argv[] = {"rm", "-rf", (char *)dir, NULL};
    (void)ecc_exec(argv, "/dev/null");
}

static int emitc_run_set(const IrGraph *g, const char *case_dir, const char *set_dir, ConfResult *res) {
    ConfTensors in = {0}, want = {0};
    char model[4096], dir[4096];
    int ok = 0;
    snprintf(model, sizeof model, "%s/model.onnx", case_dir);
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/wafer_emitc_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (conf_tensors_read(set_dir, "input", &in, res) != 0 || conf_tensors_read(set_dir, "output", &want, res) != 0)
        goto done;
    if (in.n != g->n_inputs || want.n != g->n_outputs) {
        snprintf(res->msg, sizeof res->msg, "the test has %d inputs and %d outputs, the graph %d and %d", in.n, want.n,
                 g->n_inputs, g->n_outputs);
        goto done;
    }
    if (in.n > ECC_HARNESS_MAX_IO || want.n > ECC_HARNESS_MAX_IO) {
        snprintf(res->msg, sizeof res->msg, "%d inputs and %d outputs: the harness takes at most %d of each", in.n,
                 want.n, ECC_HARNESS_MAX_IO);
        goto done;
    }
    if (!mkdtemp(dir)) {
        snprintf(res->msg, sizeof res->msg, "mkdtemp %s: %s", dir, strerror(errno));
        goto done;
    }
    ok = ecc_set_in_dir(g, model, dir, &in, &want, 0, res);
    if (getenv("WAFER_EMITC_KEEP")) { /* for debugging: the emitted C, its log and the inputs stay */
        size_t u = strlen(res->msg);
        snprintf(res->msg + u, sizeof res->msg - u, " [kept in %s]", dir);
    } else {
        ecc_rm_rf(dir);
    }
done:
    conf_tensors_free(&in);
    conf_tensors_free(&want);
    return ok;
}

int main(int argc, char **argv) {
    static const ConfMode mode = {
        "emitc_conformance",
        "Runs the ONNX node conformance tests (DIR/test_*/model.onnx with test_data_set_*) through\n"
        "`wafer emit-c --weights f32` and the emitted C, compiled with tests/codegen/emitc_harness.c.",
        {"tests/conformance/emitc_ops.txt", "tests/conformance/emitc_ops_math.txt", "tests/conformance/emitc_ops_reduce.txt",
         "tests/conformance/emitc_ops_tensor.txt", "tests/conformance/emitc_ops_seq.txt",
         "tests/conformance/emitc_ops_text.txt"},
        {CONF_DEFAULT_EXCLUDE, "tests/conformance/emitc_excluded.txt", "tests/conformance/emitc_excluded_math.txt",
         "tests/conformance/emitc_excluded_reduce.txt", "tests/conformance/emitc_excluded_tensor.txt",
         "tests/conformance/emitc_excluded_seq.txt"},
        0,
        2, /* two cases at once: most of a case is the C compiler, and CI has 2 cores */
        emitc_run_set};
    return conf_main(&mode, argc, argv);
}
