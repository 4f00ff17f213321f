/*
 * dataset.c — calibration datasets streamed from .npy files, one file per graph input.
 *
 * Opening reads only each file's header (npy_read_header: dtype, shape, byte order, data
 * offset; Fortran order refused) and keeps the file open. A batch of rows [row, row + n) is
 * read with pread from offset + row * row_bytes into a buffer sized for n rows, byte-swapped
 * when the file's order is not the host's, and converted when the graph input wants another
 * dtype (numpy writes float64 by default; a float32 model reads it as float32). So memory is
 * one batch per input whatever the file size: a 20,000-row set is never loaded at once.
 * Rows are axis 0; every file must have the same number of rows.
 */
#include "calib_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../io/npy.h"
#include "../runtime/kernels/kernel.h"

typedef struct CalibInput {
    char *name;           /* owned: the graph input it feeds */
    char *path;           /* owned: for messages */
    int fd;               /* open for the dataset's lifetime, -1 when closed */
    RtTensor file;        /* dtype and shape of the whole array (data NULL) */
    int64_t data_off;     /* bytes: where the array starts in the file */
    int swap;             /* 1: elements must be byte-swapped to native order */
    int64_t row_bytes;    /* bytes per row in the file */
    RtDtype want;         /* dtype handed to the graph (the graph input's, else the file's) */
    void *raw;            /* owned [cap_rows * row_bytes]: rows as read */
    void *conv;           /* owned [cap_rows * row elems * size(want)] when want != file dtype */
    int64_t cap_rows;     /* rows the buffers hold */
} CalibInput;

struct CalibDataset {
    int n;                /* files */
    CalibInput *in;       /* [n] owned */
    int64_t rows;         /* rows in every file */
    int *bind;            /* [n_bind] owned: dataset input feeding graph input i */
    int n_bind;           /* graph inputs bound, 0 before calib_dataset_bind */
};

static void input_close(CalibInput *c) {
    if (c->fd >= 0) close(c->fd);
    free(c->name);
    free(c->path);
    free(c->raw);
    free(c->conv);
}

void calib_dataset_free(CalibDataset *d) {
    if (!d) return;
    for (int i = 0; i < d->n; i++) input_close(&d->in[i]);
    free(d->in);
    free(d->bind);
    free(d);
}

static char *str_copy(const char *s) {
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (c) memcpy(c, s, n);
    return c;
}

/* Header, checks and an open descriptor for one file. */
static int input_open(CalibInput *c, const char *name, const char *path, RtError *err) {
    c->fd = -1;
    c->name = str_copy(name);
    c->path = str_copy(path);
    if (!c->name || !c->path) return rt_error_set(err, "out of memory");
    CALIB_TRY(npy_read_header(path, &c->file, &c->data_off, &c->swap, err));
    if (c->file.rank < 1)
        return rt_error_set(err, "%s: calibration data for '%s' needs a leading axis of rows; "
                                 "this array is a scalar", path, name);
    c->want = c->file.dtype;
    c->row_bytes = c->file.dims[0] ? rt_nbytes(&c->file) / c->file.dims[0]
                                   : (int64_t)rt_dtype_size(c->file.dtype) *
                                         rt_shape_numel(c->file.rank - 1, c->file.dims + 1);
    c->fd = open(path, O_RDONLY);
    if (c->fd < 0) return rt_error_set(err, "%s: cannot open: %s", path, strerror(errno));
    /* The header was read through another descriptor: make sure it is still the same file. */
    struct stat st;
    if (fstat(c->fd, &st) != 0 || (int64_t)st.st_size != c->data_off + rt_nbytes(&c->file))
        return rt_error_set(err, "%s: file changed while being opened", path);
    return RT_OK;
}

CalibDataset *calib_dataset_open(int n_inputs, const char *const *names, const char *const *paths,
                                 RtError *err) {
    if (n_inputs < 1) {
        rt_error_set(err, "a calibration dataset needs at least one .npy file");
        return NULL;
    }
    CalibDataset *d = calloc(1, sizeof *d);
    if (d) d->in = calloc((size_t)n_inputs, sizeof *d->in);
    if (!d || !d->in) {
        free(d);
        rt_error_set(err, "out of memory");
        return NULL;
    }
    for (int i = 0; i < n_inputs; i++) d->in[i].fd = -1;
    d->n = n_inputs;
    for (int i = 0; i < n_inputs; i++) {
        for (int j = 0; j < i; j++)
            if (strcmp(names[i], names[j]) == 0) {
                rt_error_set(err, "calibration input '%s' is given twice (%s and %s)", names[i],
                             paths[j], paths[i]);
                calib_dataset_free(d);
                return NULL;
            }
        if (input_open(&d->in[i], names[i], paths[i], err) != RT_OK) {
            calib_dataset_free(d);
            return NULL;
        }
        int64_t rows = d->in[i].file.dims[0];
        if (i > 0 && rows != d->rows) {
            rt_error_set(err, "calibration files disagree on the number of rows: %s has %lld, %s has %lld",
                         paths[0], (long long)d->rows, paths[i], (long long)rows);
            calib_dataset_free(d);
            return NULL;
        }
        d->rows = rows;
    }
    return d;
}

int64_t calib_dataset_rows(const CalibDataset *d) { return d->rows; }

static int dtype_numeric(RtDtype t) { return t != RT_STRING && rt_dtype_size(t) > 0; }

/* Checks one file against the graph input it feeds: dtype convertible, same rank, same
 * dims after the rows axis where the graph knows them. */
static int input_check(CalibInput *c, const IrValue *v, RtError *err) {
    if (v->dtype != RT_UNDEFINED && !dtype_numeric(v->dtype))
        return rt_error_set(err, "graph input '%s' is %s: calibration data must be numeric", v->name,
                            rt_dtype_name(v->dtype));
    c->want = v->dtype != RT_UNDEFINED ? v->dtype : c->file.dtype;
    if (v->rank < 0) return RT_OK;
    char want[128], got[128];
    int64_t dims[RT_MAX_RANK];
    for (int k = 0; k < v->rank; k++) dims[k] = v->dims[k].value;
    if (v->rank != c->file.rank)
        return rt_error_set(err, "%s: shape %s does not fit graph input '%s' of rank %d %s", c->path,
                            rt_shape_str(c->file.rank, c->file.dims, got, sizeof got), v->name, v->rank,
                            rt_shape_str(v->rank, dims, want, sizeof want));
    for (int k = 1; k < v->rank; k++)
        if (v->dims[k].value >= 0 && v->dims[k].value != c->file.dims[k])
            return rt_error_set(err, "%s: shape %s does not fit graph input '%s' %s (axis %d; -1 = any)",
                                c->path, rt_shape_str(c->file.rank, c->file.dims, got, sizeof got),
                                v->name, rt_shape_str(v->rank, dims, want, sizeof want), k);
    return RT_OK;
}

int calib_dataset_bind(CalibDataset *d, const IrGraph *g, RtError *err) {
    int *bind = malloc(sizeof(int) * (size_t)(g->n_inputs + 1));
    if (!bind) return rt_error_set(err, "out of memory");
    int r = RT_OK;
    for (int i = 0; i < g->n_inputs && r == RT_OK; i++) {
        const IrValue *v = &g->values[g->inputs[i]];
        bind[i] = -1;
        for (int j = 0; j < d->n; j++)
            if (strcmp(d->in[j].name, v->name) == 0) bind[i] = j;
        if (bind[i] < 0) r = rt_error_set(err, "no calibration data for graph input '%s'", v->name);
        else r = input_check(&d->in[bind[i]], v, err);
    }
    for (int j = 0; j < d->n && r == RT_OK; j++) {
        int used = 0;
        for (int i = 0; i < g->n_inputs; i++) used |= bind[i] == j;
        if (!used)
            r = rt_error_set(err, "%s: calibration data '%s' names no input of the graph", d->in[j].path,
                             d->in[j].name);
    }
    if (r != RT_OK) {
        free(bind);
        return r;
    }
    free(d->bind);
    d->bind = bind;
    d->n_bind = g->n_inputs;
    return RT_OK;
}

static int read_at(int fd, void *buf, size_t n, int64_t off) {
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, (char *)buf + done, n - done, (off_t)(off + (int64_t)done));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        done += (size_t)r;
    }
    return 0;
}

/* Grows c's buffers to hold n rows (64-byte aligned like runtime allocations). */
static int input_reserve(CalibInput *c, int64_t n, RtError *err) {
    if (n <= c->cap_rows) return RT_OK;
    size_t row_elems = c->row_bytes / (int64_t)rt_dtype_size(c->file.dtype);
    size_t raw = (size_t)(n * c->row_bytes), conv = row_elems * (size_t)n * rt_dtype_size(c->want);
    void *a = NULL, *b = NULL;
    if (posix_memalign(&a, 64, raw ? raw : 64) != 0 ||
        (c->want != c->file.dtype && posix_memalign(&b, 64, conv ? conv : 64) != 0)) {
        free(a);
        return rt_error_set(err, "%s: out of memory for a batch of %lld rows", c->path, (long long)n);
    }
    free(c->raw);
    free(c->conv);
    c->raw = a;
    c->conv = b;
    c->cap_rows = n;
    return RT_OK;
}

/* Reads rows [row, row + n) of c into its buffers and describes them in t. */
static int input_read(CalibInput *c, int64_t row, int64_t n, RtTensor *t, RtError *err) {
    CALIB_TRY(input_reserve(c, n, err));
    size_t bytes = (size_t)(n * c->row_bytes);
    if (read_at(c->fd, c->raw, bytes, c->data_off + row * c->row_bytes) != 0)
        return rt_error_set(err, "%s: cannot read rows %lld..%lld: %s", c->path, (long long)row,
                            (long long)(row + n - 1), errno ? strerror(errno) : "file shrank");
    size_t es = rt_dtype_size(c->file.dtype);
    int64_t elems = (int64_t)(bytes / es);
    if (c->swap) npy_bytes_swap(c->raw, elems, es);
    *t = c->file;
    t->dims[0] = n;
    t->dtype = c->want;
    t->data = c->raw;
    if (c->want != c->file.dtype) { /* through double, integers saturating as Cast from a float */
        RtTensor src = *t;
        src.dtype = c->file.dtype;
        t->data = c->conv;
        for (int64_t i = 0; i < elems; i++) rt_set_f64_sat(t, i, rt_get_f64(&src, i));
    }
    return RT_OK;
}

int64_t calib_dataset_batch(CalibDataset *d, int64_t row, int64_t n, RtTensor *inputs, RtError *err) {
    if (!d->bind) return rt_error_set(err, "calibration dataset used before calib_dataset_bind");
    if (row < 0 || n < 1) return rt_error_set(err, "bad calibration batch (row %lld, %lld rows)",
                                              (long long)row, (long long)n);
    if (row >= d->rows) return 0;
    if (n > d->rows - row) n = d->rows - row;
    for (int i = 0; i < d->n_bind; i++) {
        errno = 0;
        CALIB_TRY(input_read(&d->in[d->bind[i]], row, n, &inputs[i], err));
    }
    return n;
}
