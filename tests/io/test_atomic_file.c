/*
 * test_atomic_file.c — io/atomic_file.c: a write replaces the target whole, with the mode
 * open(2) would give, from a relative or absolute path; every failure (no folder, a folder
 * in the way of the rename, a fill that fails midway) names the path and the failed step,
 * leaves an existing file as it was and no temporary file behind.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../io/atomic_file.h"
#include "../test_util.h"

static char dir[256];

static void dir_make(void) { cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "wafer_atomic"), 0); }

static void dir_remove(void) { cr_assert_eq(tu_tmpdir_remove(dir), 0); }

TestSuite(atomic_file, .init = dir_make, .fini = dir_remove);

static const char *path_in_dir(const char *name) {
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

static int count_entries(void) {
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    closedir(d);
    return n;
}

/* The whole content of path (NUL-terminated; *n its length). */
static char *file_slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    char *buf = calloc(1, 1 << 16);
    *n = fread(buf, 1, (1 << 16) - 1, f);
    fclose(f);
    return buf;
}

Test(atomic_file, writes_and_replaces_with_umask_mode) {
    RtError err = {{0}};
    mode_t old = umask(022);
    cr_assert_eq(io_file_write_atomic(path_in_dir("a.txt"), "first version", 13, &err), RT_OK, "%s", err.msg);
    cr_assert_eq(io_file_write_atomic(path_in_dir("a.txt"), "second", 6, &err), RT_OK, "%s", err.msg);
    umask(old);
    size_t n;
    char *s = file_slurp(path_in_dir("a.txt"), &n);
    cr_expect_eq(n, 6);
    cr_expect_str_eq(s, "second");
    free(s);
    struct stat st;
    cr_assert_eq(stat(path_in_dir("a.txt"), &st), 0);
    cr_expect_eq(st.st_mode & 0777, 0644, "mode %o", (unsigned)(st.st_mode & 0777));
    cr_expect_eq(count_entries(), 1, "temporary file left behind");
}

Test(atomic_file, empty_file_and_relative_path) {
    RtError err = {{0}};
    cr_assert_eq(chdir(dir), 0);
    cr_assert_eq(io_file_write_atomic("rel.bin", NULL, 0, &err), RT_OK, "%s", err.msg);
    struct stat st;
    cr_assert_eq(stat(path_in_dir("rel.bin"), &st), 0);
    cr_expect_eq(st.st_size, 0);
    cr_expect_eq(count_entries(), 1, "temporary file left behind");
}

Test(atomic_file, missing_folder_named) {
    RtError err = {{0}};
    cr_expect_neq(io_file_write_atomic("/nonexistent/dir/o.bin", "x", 1, &err), RT_OK);
    cr_expect(strstr(err.msg, "/nonexistent/dir/o.bin") && strstr(err.msg, "temporary file"), "%s", err.msg);
}

Test(atomic_file, folder_in_the_way_fails_cleanly) {
    RtError err = {{0}};
    cr_assert_eq(mkdir(path_in_dir("adir"), 0755), 0);
    cr_expect_neq(io_file_write_atomic(path_in_dir("adir"), "x", 1, &err), RT_OK);
    cr_expect(strstr(err.msg, "adir") && strstr(err.msg, "cannot write (rename failed)"), "%s", err.msg);
    struct stat st;
    cr_expect(stat(path_in_dir("adir"), &st) == 0 && S_ISDIR(st.st_mode), "the folder was replaced");
    cr_expect_eq(count_entries(), 1, "temporary file left behind");
}

/* Writes half its bytes, then fails as a full disk would. */
static int fill_half_then_fail(void *ctx, int fd) {
    const char *s = ctx;
    if (io_fd_write_all(fd, s, strlen(s) / 2) != 0) return -1;
    errno = ENOSPC;
    return -1;
}

Test(atomic_file, failed_fill_keeps_existing_file) {
    RtError err = {{0}};
    cr_assert_eq(io_file_write_atomic(path_in_dir("keep.txt"), "old", 3, &err), RT_OK, "%s", err.msg);
    cr_expect_neq(io_file_write_atomic_with(path_in_dir("keep.txt"), fill_half_then_fail, "new content", &err),
                  RT_OK);
    cr_expect(strstr(err.msg, "keep.txt") && strstr(err.msg, "cannot write (write failed)") &&
                  strstr(err.msg, strerror(ENOSPC)),
              "%s", err.msg);
    size_t n;
    char *s = file_slurp(path_in_dir("keep.txt"), &n);
    cr_expect_str_eq(s, "old");
    free(s);
    cr_expect_eq(count_entries(), 1, "temporary file left behind");
}

/* Writes half of ctx's string, then the process is killed (SIGKILL: no cleanup runs). */
static int fill_half_then_die(void *ctx, int fd) {
    const char *s = ctx;
    if (io_fd_write_all(fd, s, strlen(s) / 2) != 0) return -1;
    raise(SIGKILL);
    return 0;
}

/* A writer killed in the middle: the target still holds the old bytes, whole (only the
 * temporary file, named PATH.tmp.XXXXXX, can remain: nobody is left to remove it). */
Test(atomic_file, killed_writer_leaves_existing_file_whole) {
    RtError err = {{0}};
    cr_assert_eq(io_file_write_atomic(path_in_dir("kill.txt"), "old", 3, &err), RT_OK, "%s", err.msg);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        RtError e2 = {{0}};
        io_file_write_atomic_with(path_in_dir("kill.txt"), fill_half_then_die, "a much longer new content", &e2);
        _exit(0); /* not reached */
    }
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the writer was not killed");
    size_t n;
    char *s = file_slurp(path_in_dir("kill.txt"), &n);
    cr_expect_str_eq(s, "old");
    free(s);
    /* the one other entry is the temporary file, never the target's name */
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    struct dirent *e;
    int tmp = 0;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, "kill.txt.tmp.", 13) == 0) tmp++;
    closedir(d);
    cr_expect_eq(tmp, 1);
    cr_expect_eq(count_entries(), 2);
}
