/*
 * test_onnx_safe_open.c — external data paths that try to leave the model's folder
 * (frontend/onnx_safe_open.c, and through onnx_load_file): `../`, `a/../../x`, absolute,
 * a symlinked final component, a symlinked parent, a hard link, a fifo. Each is refused by
 * both ways of opening (openat2 and the per-component openat fallback), and an inotify watch
 * on the folder outside shows that nothing in it was opened (checked to fire first: the test
 * opens the watched file itself and must see the event, so a broken watch fails the test).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../frontend/onnx.h"
#include "../../frontend/onnx_safe_open.h"
#include "onnx_proto_build.h"

static char root[64], model[96], outside[96];
static const float W_VALUES[6] = {1, 2, 3, -4, 5.5f, 6};

static void path_of(char *out, size_t n, const char *dir, const char *name) {
    snprintf(out, n, "%s/%s", dir, name);
}

static void put(const char *dir, const char *name, const void *data, size_t len) {
    char p[256];
    path_of(p, sizeof p, dir, name);
    FILE *f = fopen(p, "wb");
    cr_assert(f, "cannot write %s", p);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* <root>/outside/secret.bin (the watched file), <root>/outside/fifo,
 * <root>/model/{weights.bin, sub/w.bin} and the hostile links inside the model's folder. */
static void tree_make(void) {
    strcpy(root, "/tmp/wafer_safe_open_XXXXXX");
    cr_assert(mkdtemp(root));
    path_of(model, sizeof model, root, "model");
    path_of(outside, sizeof outside, root, "outside");
    char p[256], q[256];
    cr_assert_eq(mkdir(model, 0700), 0);
    cr_assert_eq(mkdir(outside, 0700), 0);
    path_of(p, sizeof p, model, "sub");
    cr_assert_eq(mkdir(p, 0700), 0);
    uint8_t secret[sizeof W_VALUES];
    memset(secret, 0x5A, sizeof secret);
    put(outside, "secret.bin", secret, sizeof secret);
    put(model, "weights.bin", W_VALUES, sizeof W_VALUES);
    put(model, "sub/w.bin", W_VALUES, sizeof W_VALUES);
    path_of(p, sizeof p, outside, "fifo");
    cr_assert_eq(mkfifo(p, 0600), 0);
    /* symlinks: final component, parent component, to the fifo, and one staying inside */
    path_of(p, sizeof p, model, "link_final.bin");
    cr_assert_eq(symlink("../outside/secret.bin", p), 0);
    path_of(p, sizeof p, model, "link_dir");
    cr_assert_eq(symlink("../outside", p), 0);
    path_of(p, sizeof p, model, "link_fifo");
    cr_assert_eq(symlink("../outside/fifo", p), 0);
    path_of(p, sizeof p, model, "link_inside.bin");
    cr_assert_eq(symlink("weights.bin", p), 0);
    /* hard links to the secret and to the fifo */
    path_of(p, sizeof p, outside, "secret.bin");
    path_of(q, sizeof q, model, "hard.bin");
    cr_assert_eq(link(p, q), 0);
    path_of(p, sizeof p, outside, "fifo");
    path_of(q, sizeof q, model, "hard_fifo");
    cr_assert_eq(link(p, q), 0);
    /* a fifo inside: an open would block; it must be refused without one */
    path_of(p, sizeof p, model, "fifo_inside");
    cr_assert_eq(mkfifo(p, 0600), 0);
}

static void tree_remove(void) {
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (root[0] && system(cmd) != 0) cr_log_warn("could not remove %s", root);
}

TestSuite(onnx_safe_open, .init = tree_make, .fini = tree_remove);

/* An inotify watch on the outside folder: every open of anything in it is an event. */
static int watch_start(void) {
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0 && (errno == ENOSYS || errno == EMFILE || errno == ENFILE)) {
        /* a sandbox without inotify: the refusals are still checked, the opens cannot be */
        cr_log_warn("inotify unavailable (%s): opens outside the folder are not watched", strerror(errno));
        return -1;
    }
    cr_assert(fd >= 0, "inotify: %s", strerror(errno));
    cr_assert(inotify_add_watch(fd, outside, IN_OPEN | IN_ACCESS) >= 0, "inotify: %s", strerror(errno));
    return fd;
}

/* Events queued so far (drained); -1 without a watch. */
static int watch_count(int fd) {
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    if (fd < 0) return -1;
    int n = 0;
    for (;;) {
        ssize_t len = read(fd, buf, sizeof buf);
        if (len <= 0) break;
        for (char *p = buf; p < buf + len;) {
            const struct inotify_event *e = (const struct inotify_event *)p;
            n++;
            p += sizeof *e + e->len;
        }
    }
    return n;
}

static const char *const HOSTILE[][2] = {
    {"../outside/secret.bin", "'..' component"},
    {"sub/../../outside/secret.bin", "'..' component"},
    {"link_final.bin", "'link_final.bin' is a symbolic link"},
    {"link_dir/secret.bin", "'link_dir' is a symbolic link"},
    {"link_fifo", "'link_fifo' is a symbolic link"},
    {"link_inside.bin", "is a symbolic link"},          /* even one staying inside */
    {"hard.bin", "'hard.bin' has 2 hard links"},
    {"hard_fifo", "'hard_fifo' is not a regular file"},
    {"fifo_inside", "'fifo_inside' is not a regular file"},
    {"sub", "'sub' is not a regular file"},
    {"sub/w.bin/x", "'sub/w.bin' is not a folder"},
    {"", "empty"},
    {".", "names the folder itself"},
    /* 300 bytes: never cut to NAME_MAX (which could name another file) */
    {"sub/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     "longer than 255 bytes"},
};
#define N_HOSTILE (sizeof HOSTILE / sizeof HOSTILE[0])

Test(onnx_safe_open, hostile_paths_refused_with_no_open_outside) {
    int w = watch_start();
    /* the watch works: our own open of the secret is seen */
    char p[256];
    path_of(p, sizeof p, outside, "secret.bin");
    int fd = open(p, O_RDONLY);
    cr_assert(fd >= 0);
    close(fd);
    cr_assert(w < 0 || watch_count(w) > 0, "the inotify watch saw no open: it cannot check anything");
    char abs[256];
    path_of(abs, sizeof abs, outside, "secret.bin");
    char why[512];
    for (int mode = ONNX_OPEN_AUTO; mode <= ONNX_OPEN_FALLBACK; mode++) {
        for (size_t i = 0; i < N_HOSTILE; i++) {
            why[0] = '\0';
            fd = onnx_safe_open(model, HOSTILE[i][0], (OnnxOpenMode)mode, NULL, why, sizeof why);
            cr_assert_eq(fd, -1, "mode %d: '%s' was opened", mode, HOSTILE[i][0]);
            cr_assert(strstr(why, HOSTILE[i][1]), "mode %d: '%s': '%s' lacks '%s'", mode, HOSTILE[i][0],
                      why, HOSTILE[i][1]);
        }
        fd = onnx_safe_open(model, abs, (OnnxOpenMode)mode, NULL, why, sizeof why);
        cr_assert_eq(fd, -1);
        cr_assert(strstr(why, "absolute path"), "'%s'", why);
    }
    cr_assert(w < 0 || watch_count(w) == 0, "something outside the model's folder was opened");
    if (w >= 0) close(w);
}

Test(onnx_safe_open, files_inside_open_both_ways) {
    static const char *const ok[] = {"weights.bin", "sub/w.bin", "./sub//w.bin", "sub/./w.bin"};
    for (int mode = ONNX_OPEN_AUTO; mode <= ONNX_OPEN_FALLBACK; mode++) {
        for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
            char why[512] = "";
            const char *how = NULL;
            int fd = onnx_safe_open(model, ok[i], (OnnxOpenMode)mode, &how, why, sizeof why);
            cr_assert(fd >= 0, "mode %d: '%s': %s", mode, ok[i], why);
            float v[6];
            cr_assert_eq(read(fd, v, sizeof v), (ssize_t)sizeof v);
            cr_assert_eq(memcmp(v, W_VALUES, sizeof v), 0);
            close(fd);
            if (mode == ONNX_OPEN_FALLBACK) cr_assert_str_eq(how, "openat");
            else cr_log_info("'%s' opened with %s", ok[i], how);
        }
    }
}

/* ---------- through the loader ---------- */

/* MatMul x[1,2] . W[2,3] with W external at `location` (offset/length may be NULL). */
static void model_write(const char *location, const char *offset, const char *length) {
    Onnx__GraphProto *g = pb_graph("g");
    pb_add_init(g, pb_tensor_external(pb_tensor("W", RT_F32, 2, (int64_t[]){2, 3}), location, offset, length));
    pb_add_input(g, pb_value("x", RT_F32, "1,2"));
    pb_add_node(g, pb_node("MatMul", "mm", "x,W", "y"));
    pb_add_output(g, pb_value("y", RT_F32, "1,3"));
    size_t len;
    uint8_t *buf = pb_model_pack(g, 8, 17, NULL, &len);
    put(model, "model.onnx", buf, len);
    pb_release_all(); /* the bytes are written: nothing built here is needed any more */
}

static IrGraph *model_load(RtError *err) {
    char p[256];
    path_of(p, sizeof p, model, "model.onnx");
    memset(err, 0, sizeof *err);
    return onnx_load_file(p, NULL, err);
}

Test(onnx_safe_open, loader_refuses_escapes_and_reads_inside) {
    int w = watch_start();
    RtError err;
    char abs[256];
    path_of(abs, sizeof abs, outside, "secret.bin");
    const char *bad[] = {"../outside/secret.bin", "sub/../../outside/secret.bin", abs, "link_final.bin",
                         "link_dir/secret.bin", "hard.bin", "link_fifo", "hard_fifo"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        model_write(bad[i], NULL, NULL);
        IrGraph *g = model_load(&err);
        cr_assert_null(g, "'%s' was loaded", bad[i]);
        cr_assert(strstr(err.msg, "initializer 'W': external data location"), "'%s'", err.msg);
        cr_assert(strstr(err.msg, "is refused"), "'%s'", err.msg);
    }
    cr_assert(w < 0 || watch_count(w) == 0, "the loader opened something outside the model's folder");
    if (w >= 0) close(w);
    model_write("sub/w.bin", "0", "24");
    IrGraph *g = model_load(&err);
    cr_assert(g, "%s", err.msg);
    ir_graph_free(g);
}

/* offset and length as the file gives them: negative, huge, past the end, not numbers */
Test(onnx_safe_open, loader_refuses_bad_offsets) {
    static const char *const cases[][3] = {
        {"-1", "24", "is not a non-negative number"},
        {"0", "-24", "is not a non-negative number"},
        {"9223372036854775807", "24", "past the end"},
        {"9223372036854775808", "24", "is not a non-negative number"},   /* 2^63: overflows */
        {"8", "9223372036854775807", "past the end"},
        {"1", "24", "past the end"},
        {"0", "20", "does not match the tensor's 24 bytes"},
        {"0x10", "24", "is not a non-negative number"},
        {"", "24", "is not a non-negative number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        model_write("weights.bin", cases[i][0], cases[i][1]);
        RtError err;
        IrGraph *g = model_load(&err);
        cr_assert_null(g, "offset %s length %s loaded", cases[i][0], cases[i][1]);
        cr_assert(strstr(err.msg, cases[i][2]), "offset %s length %s: '%s'", cases[i][0], cases[i][1], err.msg);
    }
}
