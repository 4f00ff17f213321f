/*
 * onnx_safe_open.c — open a model's external data file without ever leaving its folder
 * (see onnx_safe_open.h). ONNX's own check was bypassed four times — `a/../../x`, a
 * symlink, a hard link, a swap between check and open — so every one is closed here:
 *
 *   1. lexical: rel is relative (no '/', '\', drive letter in front) and has no '..'
 *      component;
 *   2. before any open: fstatat(AT_SYMLINK_NOFOLLOW) on each prefix of rel relative to the
 *      folder's descriptor: no component may be a symbolic link, the parents must be folders,
 *      the last a regular file (not a fifo or device, which an open could block on or act
 *      on) with st_nlink == 1 (a hard link makes any file appear inside);
 *   3. canonical containment: realpath(dir/rel) must start with realpath(dir) + '/';
 *   4. open: openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) (Linux 5.6+; the kernel then
 *      refuses any escape or symlink during the walk itself), else openat one component at
 *      a time with O_NOFOLLOW (O_DIRECTORY for parents), the last with O_NONBLOCK;
 *   5. re-check the opened descriptor with fstat: the inode checked in step 2, still a
 *      regular file with one link (a swap after step 2 is refused, not read).
 * Steps 2 and 3 only stat and read links: nothing outside the folder is ever opened.
 */
#define _GNU_SOURCE
#include "onnx_safe_open.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#if defined(__linux__) && defined(SYS_openat2)
#include <linux/openat2.h>
#define HAVE_OPENAT2 1
#endif

#define SAFE_PATH_MAX 4096

static int safe_fail(char *why, size_t n, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int safe_fail(char *why, size_t n, const char *fmt, ...) {
    if (why && n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Step 1: relative, no '..' component, nothing Windows would read as absolute. */
static int safe_lexical(const char *rel, char *why, size_t n) {
    if (!rel[0]) return safe_fail(why, n, "the location is empty");
    if (rel[0] == '/' || rel[0] == '\\')
        return safe_fail(why, n, "it is an absolute path (it must be relative to the model's folder)");
    if (((rel[0] | 0x20) >= 'a' && (rel[0] | 0x20) <= 'z') && rel[1] == ':')
        return safe_fail(why, n, "it starts with a drive letter (it must be relative to the model's folder)");
    for (const char *p = rel; *p;) {
        size_t len = strcspn(p, "/\\");
        if (len == 2 && p[0] == '.' && p[1] == '.')
            return safe_fail(why, n, "it has a '..' component (it must stay inside the model's folder)");
        p += len;
        if (*p) p++;
    }
    if (strlen(rel) >= SAFE_PATH_MAX) return safe_fail(why, n, "the location is too long");
    for (const char *p = rel; *p;) { /* so that safe_next never cuts a name short */
        size_t len = strcspn(p, "/");
        if (len > NAME_MAX) return safe_fail(why, n, "a name in the location is longer than %d bytes", NAME_MAX);
        p += len;
        if (*p) p++;
    }
    return 0;
}

/* The next component of rel from *pos ("." and empty ones skipped; only '/' separates, as
 * the kernel reads the path: a '\\' is part of a name): copies it into comp,
 * returns 1, and sets *last when nothing follows; 0 at the end. */
static int safe_next(const char *rel, size_t *pos, char *comp, size_t comp_len, int *last) {
    for (;;) {
        const char *p = rel + *pos;
        if (!*p) return 0;
        size_t len = strcspn(p, "/");
        *pos += len + (p[len] ? 1 : 0);
        if (len == 0 || (len == 1 && p[0] == '.')) continue;
        if (len >= comp_len) len = comp_len - 1;
        memcpy(comp, p, len);
        comp[len] = '\0';
        /* last when only separators and "." remain */
        const char *q = rel + *pos;
        *last = 1;
        while (*q) {
            size_t l = strcspn(q, "/");
            if (l && !(l == 1 && q[0] == '.')) {
                *last = 0;
                break;
            }
            q += l + (q[l] ? 1 : 0);
        }
        return 1;
    }
}

/* Step 2: each prefix of rel lstat'd relative to dfd; *st gets the last one's. */
static int safe_stat_walk(int dfd, const char *rel, struct stat *st, char *why, size_t n) {
    char prefix[SAFE_PATH_MAX], comp[NAME_MAX + 1];
    size_t pos = 0, plen = 0;
    int last = 0, any = 0;
    while (safe_next(rel, &pos, comp, sizeof comp, &last)) {
        any = 1;
        int w = snprintf(prefix + plen, sizeof prefix - plen, "%s%s", plen ? "/" : "", comp);
        if (w < 0 || (size_t)w >= sizeof prefix - plen) return safe_fail(why, n, "the location is too long");
        plen += (size_t)w;
        if (fstatat(dfd, prefix, st, AT_SYMLINK_NOFOLLOW) != 0)
            return safe_fail(why, n, "'%s': %s", prefix, strerror(errno));
        if (S_ISLNK(st->st_mode))
            return safe_fail(why, n, "'%s' is a symbolic link (refused: it could point outside the "
                             "model's folder)", prefix);
        if (!last && !S_ISDIR(st->st_mode)) return safe_fail(why, n, "'%s' is not a folder", prefix);
        if (last && !S_ISREG(st->st_mode)) return safe_fail(why, n, "'%s' is not a regular file", prefix);
        if (last && st->st_nlink > 1)
            return safe_fail(why, n, "'%s' has %llu hard links (refused: a hard link can bring a "
                             "file from outside the model's folder)", prefix,
                             (unsigned long long)st->st_nlink);
    }
    if (!any) return safe_fail(why, n, "the location names the folder itself");
    return 0;
}

/* Step 3: canonical containment. */
static int safe_contained(const char *dir, const char *rel, char *why, size_t n) {
    char full[SAFE_PATH_MAX];
    int w = snprintf(full, sizeof full, "%s/%s", dir, rel);
    if (w < 0 || (size_t)w >= sizeof full) return safe_fail(why, n, "the location is too long");
    char *rdir = realpath(dir, NULL), *rfull = realpath(full, NULL);
    int ok = 0;
    if (rdir && rfull) {
        size_t k = strlen(rdir);
        /* "/" as the folder: every canonical path is inside */
        ok = strncmp(rfull, rdir, k) == 0 && (rfull[k] == '/' || (k == 1 && rdir[0] == '/'));
    }
    int r = ok ? 0 : safe_fail(why, n, rdir && rfull ? "its canonical path '%s' is outside the model's folder"
                                                     : "its canonical path cannot be found%s", rfull ? rfull : "");
    free(rdir);
    free(rfull);
    return r;
}

/* Step 4, fallback: one component at a time, never following a symlink. */
static int safe_openat_walk(int dfd, const char *rel) {
    char comp[NAME_MAX + 1];
    size_t pos = 0;
    int last = 0;
    int cur = dup(dfd);
    while (cur >= 0 && safe_next(rel, &pos, comp, sizeof comp, &last)) {
        int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (last ? O_NONBLOCK : O_DIRECTORY);
        int next = openat(cur, comp, flags);
        int e = errno;
        close(cur);
        errno = e;
        cur = next;
        if (last) return cur;
    }
    if (cur >= 0) close(cur);
    return -1;
}

/* Step 4: -1 with errno ENOSYS when openat2 is missing (or filtered) and mode allows it. */
static int safe_openat2(int dfd, const char *rel) {
#ifdef HAVE_OPENAT2
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS;
    long fd = syscall(SYS_openat2, dfd, rel, &how, sizeof how);
    if (fd < 0 && (errno == EPERM || errno == E2BIG)) errno = ENOSYS; /* seccomp, old ABI */
    return (int)fd;
#else
    (void)dfd;
    (void)rel;
    errno = ENOSYS;
    return -1;
#endif
}

int onnx_safe_open(const char *dir, const char *rel, OnnxOpenMode mode, const char **how,
                   char *why, size_t why_len) {
    if (safe_lexical(rel, why, why_len) != 0) return -1;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return safe_fail(why, why_len, "cannot open the model's folder '%s': %s", dir, strerror(errno));
    struct stat checked, opened;
    int fd = -1;
    if (safe_stat_walk(dfd, rel, &checked, why, why_len) == 0 &&
        safe_contained(dir, rel, why, why_len) == 0) {
        const char *way = "openat2";
        fd = mode == ONNX_OPEN_FALLBACK ? (errno = ENOSYS, -1) : safe_openat2(dfd, rel);
        if (fd < 0 && errno == ENOSYS) {
            way = "openat";
            fd = safe_openat_walk(dfd, rel);
        }
        if (fd < 0)
            safe_fail(why, why_len, "cannot open it: %s", strerror(errno));
        else if (how)
            *how = way;
    }
    close(dfd);
    if (fd < 0) return -1;
    /* Step 5: the same inode, still a regular file with one link. */
    if (fstat(fd, &opened) != 0 || opened.st_dev != checked.st_dev || opened.st_ino != checked.st_ino ||
        !S_ISREG(opened.st_mode) || opened.st_nlink != 1) {
        close(fd);
        return safe_fail(why, why_len, "it changed between the check and the open (refused)");
    }
    return fd;
}
