/*
 * npy.c — NumPy .npy files: read versions 1.0/2.0/3.0, write version 1.0 atomically.
 *
 * Layout (numpy/lib/format.py, NEP 1):
 *     "\x93NUMPY" major minor  header_len  header  data
 *     v1: header_len is u16 LE (10-byte preamble); v2/v3: u32 LE (12-byte preamble; v3 = utf-8).
 *     header: a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 *     padded with spaces and ended by '\n' so that the data starts at a multiple of 64.
 * Reading parses that literal with a small tokenizer (either quote style, any whitespace,
 * trailing commas, Python-2 "3L" ints) rather than matching a fixed string, refuses anything
 * else (structured dtypes, Fortran order, unknown keys), checks the data size against the
 * file size with overflow-checked arithmetic, and swaps big-endian data to native.
 * Writing emits exactly what numpy writes, streamed through io_file_write_atomic_with
 * (atomic_file.c), so readers see the old file or the new one.
 */
#include "npy.h"

#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_ALIGN 64                    /* numpy pads headers so the data starts at a multiple of 64 */
#define NPY_TRY(expr) \
    do { int r_ = (expr); if (r_ != RT_OK) return r_; } while (0)
#define NPY_MAX_HEADER (1u << 24)       /* a sane bound: real headers are < 1 KiB */

static int host_is_little(void) {
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

void npy_bytes_swap(void *data, int64_t n, size_t size) {
    uint8_t *buf = data;
    for (int64_t i = 0; i < n; i++) {
        uint8_t *e = buf + (size_t)i * size;
        for (size_t a = 0, b = size - 1; a < b; a++, b--) {
            uint8_t t = e[a];
            e[a] = e[b];
            e[b] = t;
        }
    }
}

/* ---- header dict parsing ---- */

typedef struct {
    const char *s;        /* header text (not NUL-terminated) */
    size_t n, pos;        /* length, cursor */
    const char *path;     /* for messages */
    RtError *err;
} NpyLex;

static void lex_skip_ws(NpyLex *x) {
    while (x->pos < x->n && (x->s[x->pos] == ' ' || x->s[x->pos] == '\t' || x->s[x->pos] == '\n' ||
                             x->s[x->pos] == '\r'))
        x->pos++;
}

static int lex_fail(NpyLex *x, const char *what) {
    return rt_error_set(x->err, "%s: malformed .npy header (%s at offset %zu)", x->path, what, x->pos);
}

/* Consumes character c after whitespace; 1 if it was there. */
static int lex_accept(NpyLex *x, char c) {
    lex_skip_ws(x);
    if (x->pos < x->n && x->s[x->pos] == c) {
        x->pos++;
        return 1;
    }
    return 0;
}

/* A quoted string without escapes (none occur in valid headers) into buf. */
static int lex_string(NpyLex *x, char *buf, size_t cap) {
    lex_skip_ws(x);
    if (x->pos >= x->n || (x->s[x->pos] != '\'' && x->s[x->pos] != '"'))
        return lex_fail(x, "expected a quoted string");
    char q = x->s[x->pos++];
    size_t len = 0;
    while (x->pos < x->n && x->s[x->pos] != q) {
        if (x->s[x->pos] == '\\') return lex_fail(x, "escape in string");
        if (len + 1 >= cap) return lex_fail(x, "string too long");
        buf[len++] = x->s[x->pos++];
    }
    if (x->pos >= x->n) return lex_fail(x, "unterminated string");
    x->pos++;
    buf[len] = '\0';
    return RT_OK;
}

/* A non-negative decimal integer (optionally with a Python-2 'L' suffix). */
static int lex_dim(NpyLex *x, int64_t *v) {
    lex_skip_ws(x);
    size_t start = x->pos;
    int64_t acc = 0;
    while (x->pos < x->n && x->s[x->pos] >= '0' && x->s[x->pos] <= '9') {
        int d = x->s[x->pos++] - '0';
        if (acc > (INT64_MAX - d) / 10) return lex_fail(x, "dimension too large");
        acc = acc * 10 + d;
    }
    if (x->pos == start) return lex_fail(x, "expected a non-negative integer dimension");
    if (x->pos < x->n && (x->s[x->pos] == 'L' || x->s[x->pos] == 'l')) x->pos++;
    *v = acc;
    return RT_OK;
}

/* "(d0, d1, ...)" — "()" is a scalar, "(3,)" rank 1. */
static int lex_shape(NpyLex *x, int *rank, int64_t *dims) {
    if (!lex_accept(x, '(')) return lex_fail(x, "expected '(' starting the shape");
    *rank = 0;
    while (!lex_accept(x, ')')) {
        if (*rank >= RT_MAX_RANK)
            return rt_error_set(x->err, "%s: array rank exceeds %d, the most wafer supports", x->path,
                                RT_MAX_RANK);
        NPY_TRY(lex_dim(x, &dims[*rank]));
        (*rank)++;
        if (!lex_accept(x, ',')) {
            if (!lex_accept(x, ')')) return lex_fail(x, "expected ',' or ')' in the shape");
            break;
        }
    }
    return RT_OK;
}

static int lex_bool(NpyLex *x, int *v) {
    lex_skip_ws(x);
    if (x->n - x->pos >= 4 && memcmp(x->s + x->pos, "True", 4) == 0) {
        x->pos += 4;
        *v = 1;
    } else if (x->n - x->pos >= 5 && memcmp(x->s + x->pos, "False", 5) == 0) {
        x->pos += 5;
        *v = 0;
    } else {
        return lex_fail(x, "expected True or False");
    }
    return RT_OK;
}

/* descr "<f4" → dtype; *swap set when the data's byte order differs from the host's. */
static int npy_descr_parse(const char *path, const char *d, RtDtype *dt, int *swap, RtError *err) {
    char order = d[0];
    if (order != '<' && order != '>' && order != '|' && order != '=')
        return rt_error_set(err, "%s: dtype '%s' has no byte-order mark ('<', '>', '|' or '=')", path, d);
    const char *k = d + 1;
    static const struct { const char *code; RtDtype dt; } map[] = {
        {"b1", RT_BOOL}, {"?", RT_BOOL}, {"i1", RT_I8},  {"i2", RT_I16}, {"i4", RT_I32},
        {"i8", RT_I64},  {"u1", RT_U8},  {"u2", RT_U16}, {"u4", RT_U32}, {"u8", RT_U64},
        {"f2", RT_F16},  {"f4", RT_F32}, {"f8", RT_F64},
    };
    *dt = RT_UNDEFINED;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(k, map[i].code) == 0) *dt = map[i].dt;
    if (*dt == RT_UNDEFINED)
        return rt_error_set(err, "%s: dtype '%s' is not supported (bool, int8..int64, uint8..uint64, "
                                 "float16/32/64 are)", path, d);
    /* '|' = byte order not applicable, '=' = the writer's native order: taken as the host's. */
    *swap = (order == '<' && !host_is_little()) || (order == '>' && host_is_little());
    return RT_OK;
}

typedef struct {
    char descr[32];
    int fortran;
    int rank;
    int64_t dims[RT_MAX_RANK];
} NpyHeader;

/* Parses the dict; exactly the keys descr, fortran_order and shape, each once. */
static int npy_header_parse(NpyLex *x, NpyHeader *h) {
    int seen_descr = 0, seen_fortran = 0, seen_shape = 0;
    if (!lex_accept(x, '{')) return lex_fail(x, "expected '{'");
    while (!lex_accept(x, '}')) {
        char key[32];
        NPY_TRY(lex_string(x, key, sizeof key));
        if (!lex_accept(x, ':')) return lex_fail(x, "expected ':' after a key");
        if (strcmp(key, "descr") == 0 && !seen_descr) {
            lex_skip_ws(x);
            if (x->pos < x->n && x->s[x->pos] == '[')
                return rt_error_set(x->err, "%s: structured (record) dtypes are not supported", x->path);
            NPY_TRY(lex_string(x, h->descr, sizeof h->descr));
            seen_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0 && !seen_fortran) {
            NPY_TRY(lex_bool(x, &h->fortran));
            seen_fortran = 1;
        } else if (strcmp(key, "shape") == 0 && !seen_shape) {
            NPY_TRY(lex_shape(x, &h->rank, h->dims));
            seen_shape = 1;
        } else {
            return rt_error_set(x->err, "%s: malformed .npy header (unexpected or repeated key '%s')",
                                x->path, key);
        }
        if (!lex_accept(x, ',')) {
            if (!lex_accept(x, '}')) return lex_fail(x, "expected ',' or '}'");
            break;
        }
    }
    lex_skip_ws(x);
    if (x->pos != x->n) return lex_fail(x, "text after the closing '}'");
    if (!seen_descr || !seen_fortran || !seen_shape)
        return rt_error_set(x->err, "%s: malformed .npy header (missing '%s')", x->path,
                            !seen_descr ? "descr" : !seen_fortran ? "fortran_order" : "shape");
    return RT_OK;
}

/* ---- reading ---- */

static int read_full(int fd, void *buf, size_t n, size_t *got) {
    size_t done = 0;
    while (done < n) {
        ssize_t r = read(fd, (char *)buf + done, n - done);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) break;
        done += (size_t)r;
    }
    *got = done;
    return 0;
}

/* Reads the preamble and header text; *data_off is where the array starts. */
static int npy_preamble_read(int fd, const char *path, int64_t file_size, char **text, size_t *len,
                             int64_t *data_off, RtError *err) {
    uint8_t pre[12];
    size_t got;
    if (read_full(fd, pre, 10, &got) != 0)
        return rt_error_set(err, "%s: cannot read: %s", path, strerror(errno));
    if (got < 10 || memcmp(pre, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
        return rt_error_set(err, "%s: not a .npy file (no \\x93NUMPY magic)", path);
    int major = pre[6], minor = pre[7];
    uint32_t hlen;
    int64_t pre_len;
    if (major == 1) {
        hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8;
        pre_len = 10;
    } else if (major == 2 || major == 3) {
        if (read_full(fd, pre + 10, 2, &got) != 0 || got < 2)
            return rt_error_set(err, "%s: truncated .npy header", path);
        hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8 | (uint32_t)pre[10] << 16 | (uint32_t)pre[11] << 24;
        pre_len = 12;
    } else {
        return rt_error_set(err, "%s: .npy format version %d.%d is not supported (1.0, 2.0, 3.0 are)",
                            path, major, minor);
    }
    if (hlen > NPY_MAX_HEADER || pre_len + (int64_t)hlen > file_size)
        return rt_error_set(err, "%s: truncated .npy header (declares %u bytes, file has %lld)", path,
                            hlen, (long long)file_size);
    *text = malloc(hlen ? hlen : 1);
    if (!*text) return rt_error_set(err, "%s: out of memory reading the header", path);
    if (read_full(fd, *text, hlen, &got) != 0 || got < hlen) {
        free(*text);
        *text = NULL;
        return rt_error_set(err, "%s: truncated .npy header", path);
    }
    *len = hlen;
    *data_off = pre_len + hlen;
    return RT_OK;
}

/* Header → tensor shape/dtype, with the size checks; data not yet read. */
static int npy_header_check(const char *path, const char *text, size_t len, int64_t avail,
                            RtTensor *out, int *swap, RtError *err) {
    NpyLex x = {text, len, 0, path, err};
    NpyHeader h;
    memset(&h, 0, sizeof h);
    NPY_TRY(npy_header_parse(&x, &h));
    if (h.fortran)
        return rt_error_set(err, "%s: Fortran-order arrays are not supported; save with "
                                 "np.ascontiguousarray", path);
    NPY_TRY(npy_descr_parse(path, h.descr, &out->dtype, swap, err));
    out->rank = h.rank;
    memcpy(out->dims, h.dims, sizeof h.dims);
    int64_t nbytes = rt_nbytes(out);
    if (nbytes < 0 || (uint64_t)nbytes > (uint64_t)SIZE_MAX) /* SIZE_MAX: 32-bit hosts */
        return rt_error_set(err, "%s: array size overflows (shape too large)", path);
    if (nbytes > avail)
        return rt_error_set(err, "%s: truncated .npy file: expected %lld bytes of data, found %lld",
                            path, (long long)nbytes, (long long)avail);
    if (nbytes < avail)
        return rt_error_set(err, "%s: .npy file has %lld bytes of data, the header's shape needs %lld",
                            path, (long long)avail, (long long)nbytes);
    return RT_OK;
}

/* Opens path and reads its header: dtype and shape into t (data NULL), where the data starts,
 * whether it needs swapping. On success *fd is open at the data; on failure it is closed. */
static int npy_open_header(const char *path, int *fd, RtTensor *t, int64_t *off, int *swap,
                           RtError *err) {
    memset(t, 0, sizeof *t);
    *fd = open(path, O_RDONLY);
    if (*fd < 0) return rt_error_set(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(*fd);
        return rt_error_set(err, "%s: not a regular file", path);
    }
    char *text = NULL;
    size_t len = 0;
    *swap = 0;
    int r = npy_preamble_read(*fd, path, (int64_t)st.st_size, &text, &len, off, err);
    if (r == RT_OK) r = npy_header_check(path, text, len, (int64_t)st.st_size - *off, t, swap, err);
    free(text);
    if (r != RT_OK) close(*fd);
    return r;
}

int npy_read_header(const char *path, RtTensor *out, int64_t *data_offset, int *swap, RtError *err) {
    int fd;
    int r = npy_open_header(path, &fd, out, data_offset, swap, err);
    if (r == RT_OK) close(fd);
    return r;
}

int npy_read(const char *path, RtTensor *out, RtError *err) {
    memset(out, 0, sizeof *out);
    int fd, swap = 0;
    int64_t off = 0;
    RtTensor t;
    int r = npy_open_header(path, &fd, &t, &off, &swap, err);
    if (r != RT_OK) return r;
    size_t nbytes = (size_t)rt_nbytes(&t), got = 0;
    void *data = NULL;
    /* 64-byte aligned like runtime allocations; free() releases it. Never NULL (NULL means
     * "data unknown" to the runtime), even for zero elements. */
    if (posix_memalign(&data, 64, nbytes ? nbytes : 64) != 0) {
        close(fd);
        return rt_error_set(err, "%s: out of memory (%zu bytes)", path, nbytes);
    }
    if (read_full(fd, data, nbytes, &got) != 0 || got != nbytes) {
        int e = errno;
        free(data);
        close(fd);
        return rt_error_set(err, "%s: cannot read data (%zu of %zu bytes): %s", path, got, nbytes,
                            got < nbytes ? "file shrank while reading" : strerror(e));
    }
    close(fd);
    if (swap) npy_bytes_swap(data, rt_numel(&t), rt_dtype_size(t.dtype));
    t.data = data;
    *out = t;
    return RT_OK;
}

/* ---- writing ---- */

static const char *npy_descr_of(RtDtype dt) {
    switch (dt) {
    case RT_BOOL: return "|b1";
    case RT_I8: return "|i1";
    case RT_U8: return "|u1";
    case RT_I16: return "<i2";
    case RT_U16: return "<u2";
    case RT_I32: return "<i4";
    case RT_U32: return "<u4";
    case RT_I64: return "<i8";
    case RT_U64: return "<u8";
    case RT_F16: return "<f2";
    case RT_F32: return "<f4";
    case RT_F64: return "<f8";
    default: return NULL;
    }
}

/* Preamble + dict + padding, byte for byte as numpy's format.write_array_header_1_0:
 * the dict, then 21 - len(str(shape[0])) spare spaces (numpy leaves room to grow axis 0 in
 * place), then '\n' and padding spaces before it so the data starts at a multiple of 64
 * (a full 64 when already aligned, as numpy does). Returns the total length, 0 if too long. */
static size_t npy_header_build(const RtTensor *t, char *buf, size_t cap) {
    char dict[512];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     npy_descr_of(t->dtype));
    for (int i = 0; i < t->rank; i++)
        n += snprintf(dict + n, sizeof dict - (size_t)n, "%lld,%s", (long long)t->dims[i],
                      (i + 1 < t->rank) ? " " : "");
    if (t->rank > 1) n--; /* numpy writes "(2, 3)" but "(3,)": drop the last comma for rank >= 2 */
    n += snprintf(dict + n, sizeof dict - (size_t)n, "), }");
    if (t->rank > 0) {
        char d0[24];
        int spare = 21 - snprintf(d0, sizeof d0, "%lld", (long long)t->dims[0]);
        for (; spare > 0; spare--) dict[n++] = ' ';
    }
    size_t hlen = (size_t)n + 1; /* + '\n' */
    size_t pad = NPY_ALIGN - (10 + hlen) % NPY_ALIGN;
    size_t total = 10 + hlen + pad;
    if (total > cap || total - 10 > 65535) return 0;
    memcpy(buf, NPY_MAGIC, NPY_MAGIC_LEN);
    buf[6] = 1;
    buf[7] = 0;
    buf[8] = (char)((total - 10) & 0xff);
    buf[9] = (char)((total - 10) >> 8);
    memcpy(buf + 10, dict, (size_t)n);
    memset(buf + 10 + n, ' ', pad);
    buf[total - 1] = '\n';
    return total;
}

/* Array bytes in little-endian order: directly on a little-endian host, else through a
 * swapped bounce buffer. */
static int npy_data_write(int fd, const RtTensor *t, size_t nbytes) {
    size_t es = rt_dtype_size(t->dtype);
    if (host_is_little() || es == 1) return io_fd_write_all(fd, t->data, nbytes);
    uint8_t chunk[1 << 16];
    size_t step = sizeof chunk / es * es;
    for (size_t off = 0; off < nbytes; off += step) {
        size_t m = nbytes - off < step ? nbytes - off : step;
        memcpy(chunk, (const uint8_t *)t->data + off, m);
        npy_bytes_swap(chunk, (int64_t)(m / es), es);
        if (io_fd_write_all(fd, chunk, m) != 0) return -1;
    }
    return 0;
}

/* What npy_write streams into the temporary file: the header, then the array bytes. */
typedef struct {
    const char *header;
    size_t hlen;
    const RtTensor *t;
    size_t nbytes;
} NpyFill;

static int npy_fill(void *ctx, int fd) {
    const NpyFill *f = ctx;
    if (io_fd_write_all(fd, f->header, f->hlen) != 0) return -1;
    return npy_data_write(fd, f->t, f->nbytes);
}

int npy_write(const char *path, const RtTensor *t, RtError *err) {
    const char *descr = npy_descr_of(t->dtype);
    if (!descr)
        return rt_error_set(err, "%s: cannot write %s tensors as .npy", path, rt_dtype_name(t->dtype));
    if (t->rank < 0 || t->rank > RT_MAX_RANK)
        return rt_error_set(err, "%s: bad tensor rank %d", path, t->rank);
    int64_t nbytes = rt_nbytes(t);
    if (nbytes < 0) return rt_error_set(err, "%s: tensor size overflows", path);
    if (nbytes > 0 && !t->data) return rt_error_set(err, "%s: tensor has no data", path);
    char header[1024];
    size_t hlen = npy_header_build(t, header, sizeof header);
    if (hlen == 0) return rt_error_set(err, "%s: .npy header too long", path);

    NpyFill f = {header, hlen, t, (size_t)nbytes};
    return io_file_write_atomic_with(path, npy_fill, &f, err);
}
