/*
 * calib.h — calibration: streaming datasets from .npy files, and observers that turn the
 * activations seen while running a float model into quantization ranges.
 *
 * Memory stays bounded by one batch whatever the dataset size: a dataset yields batches
 * (views read from the files as needed), and observers keep a fixed-size state (min/max,
 * or a histogram of CALIB_BINS bins). Histogram observers need the range first, so
 * calib_collect runs the dataset twice (pass 1: min/max, pass 2: histograms).
 */
#ifndef WAFER_CALIB_H
#define WAFER_CALIB_H

#include "../ir/ir.h"

typedef enum {
    CALIB_MINMAX = 0,     /* the observed min and max */
    CALIB_PERCENTILE,     /* clip |x| at the given percentile of the histogram (default 99.99) */
    CALIB_ENTROPY,        /* KL-divergence threshold search on the |x| histogram, 128 levels
                             per side (TensorRT / onnxruntime); see calib/entropy.c */
    CALIB_MSE             /* the clipping range minimizing the expected int8 quantization MSE
                             under the histogram; see calib/mse.c */
} CalibMethod;

typedef struct CalibOptions {
    CalibMethod method;
    double percentile;    /* for CALIB_PERCENTILE, in (0, 100]; default 99.99 */
    int bins;             /* histogram bins, in [256, 16384]; default 2048 */
    int64_t batch;        /* rows per batch; default 32 (a graph input with a fixed leading dim
                             overrides it) */
    int progress;         /* 1: the caller wants progress callbacks */
    /* Called after every batch when set; pass is 1 (min/max) or 2 (histograms). */
    void (*on_progress)(void *user, int pass, int64_t rows_done, int64_t rows_total);
    void *progress_user;
} CalibOptions;

void calib_options_default(CalibOptions *o);
const char *calib_method_name(CalibMethod m);           /* "minmax", "percentile", ... */
int calib_method_parse(const char *s, CalibMethod *m);  /* RT_OK or RT_ERR */
/* RT_OK, or RT_ERR with a message naming the bad field (method, percentile, bins, batch). */
int calib_options_check(const CalibOptions *o, RtError *err);

typedef struct CalibRange {
    float lo, hi;         /* the range to quantize into (lo <= 0 <= hi after widening) */
    float min, max;       /* the raw observed extremes */
} CalibRange;

/* A dataset: one .npy per graph input, all with the same number of rows (axis 0). Opening
 * reads only the headers (any common dtype, either byte order; Fortran order refused);
 * batches are read from the files as needed (see calib/dataset.c). NULL with a message on
 * failure, e.g. files with different row counts (both named). */
typedef struct CalibDataset CalibDataset;
CalibDataset *calib_dataset_open(int n_inputs, const char *const *names, const char *const *paths,
                                 RtError *err);
int64_t calib_dataset_rows(const CalibDataset *d);
/* Binds the dataset's inputs to g's inputs by name: every graph input must be covered and
 * every file used; shapes must fit the input's known dims after axis 0. Batches come in the
 * input's dtype (converted from the file's when they differ). May be called again for
 * another graph with the same inputs. */
int calib_dataset_bind(CalibDataset *d, const IrGraph *g, RtError *err);
/* Fills inputs[g->n_inputs] with rows [row, row + n) (the last batch may be shorter);
 * returns the number of rows, 0 at the end, <0 on error. Tensors point into the dataset's
 * buffers (one batch per input), valid until the next call. */
int64_t calib_dataset_batch(CalibDataset *d, int64_t row, int64_t n, RtTensor *inputs, RtError *err);
void calib_dataset_free(CalibDataset *d);
/* Rows per run of g over a dataset of `rows` rows (collect.c): `want`, unless a graph input
 * fixes its leading dim (an export with a fixed batch), then that dim, and rows must be a
 * multiple of it (else RT_ERR naming the input). */
int calib_batch_rows(const IrGraph *g, int64_t want, int64_t rows, int64_t *batch, RtError *err);

/* Runs g over the dataset (binding it to g) and returns, for each of the n values listed
 * (value indices of g: node outputs, graph inputs or constants), its calibrated range in
 * out[n]. o may be NULL (defaults). Fails if a value is never computed. */
int calib_collect(const IrGraph *g, CalibDataset *d, const int *values, int n, const CalibOptions *o,
                  CalibRange *out, RtError *err);

/* Runs g over the dataset once and returns, for each of the n values listed (node outputs of
 * rank >= 2 whose axis 1 has channels[i] entries), the smallest and largest finite element of
 * every channel c of axis 1: cmin[i][c], cmax[i][c] (caller's arrays of channels[i] floats; a
 * channel never seen gets 0, 0). Fails if a value is never computed or has another shape. */
int calib_collect_channels(const IrGraph *g, CalibDataset *d, const int *values, const int64_t *channels, int n,
                           const CalibOptions *o, float *const *cmin, float *const *cmax, RtError *err);

/* ---- observers (one per tensor), exposed for tests ---- */
typedef struct CalibObserver CalibObserver;
/* NULL when out of memory or when o fails calib_options_check; o may be NULL (defaults). */
CalibObserver *calib_observer_new(const CalibOptions *o);
void calib_observer_free(CalibObserver *ob);
/* Pass 1: min/max (NaN and infinities are skipped). */
void calib_observer_minmax(CalibObserver *ob, const float *x, int64_t n);
/* Pass 2 (histogram methods): histogram over the pass-1 range, fixed at the first call. */
void calib_observer_histogram(CalibObserver *ob, const float *x, int64_t n);
int calib_observer_needs_histogram(const CalibObserver *ob);
/* The final range for int8: lo <= 0 <= hi and hi > lo always (an all-zero or never-fed
 * observer gives [0, 1]); min/max are the raw extremes seen. */
CalibRange calib_observer_range(const CalibObserver *ob);

#endif
