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
    CALIB_ENTROPY,        /* KL-divergence threshold search (TensorRT / onnxruntime) */
    CALIB_MSE             /* the clipping range minimizing the quantization MSE */
} CalibMethod;

typedef struct CalibOptions {
    CalibMethod method;
    double percentile;    /* for CALIB_PERCENTILE, in (0, 100]; default 99.99 */
    int bins;             /* histogram bins; default 2048 */
    int64_t batch;        /* rows per batch; default 32 */
    int progress;         /* 1: the caller wants progress callbacks */
    void (*on_progress)(void *user, int pass, int64_t rows_done, int64_t rows_total);
    void *progress_user;
} CalibOptions;

void calib_options_default(CalibOptions *o);
const char *calib_method_name(CalibMethod m);           /* "minmax", "percentile", ... */
int calib_method_parse(const char *s, CalibMethod *m);  /* RT_OK or RT_ERR */

typedef struct CalibRange {
    float lo, hi;         /* the range to quantize into (lo <= 0 <= hi after widening) */
    float min, max;       /* the raw observed extremes */
} CalibRange;

/* A dataset: one .npy per graph input, all with the same number of rows (axis 0). */
typedef struct CalibDataset CalibDataset;
CalibDataset *calib_dataset_open(int n_inputs, const char *const *names, const char *const *paths,
                                 RtError *err);
int64_t calib_dataset_rows(const CalibDataset *d);
/* Binds the dataset's inputs to g's inputs by name (every graph input must be covered). */
int calib_dataset_bind(CalibDataset *d, const IrGraph *g, RtError *err);
/* Fills inputs[g->n_inputs] with rows [row, row + n) (the last batch may be shorter);
 * returns the number of rows, 0 at the end. Tensors point into the dataset's buffer,
 * valid until the next call. */
int64_t calib_dataset_batch(CalibDataset *d, int64_t row, int64_t n, RtTensor *inputs, RtError *err);
void calib_dataset_free(CalibDataset *d);

/* Runs g over the dataset and returns, for each of the n values listed (value indices of g),
 * its calibrated range. */
int calib_collect(const IrGraph *g, CalibDataset *d, const int *values, int n, const CalibOptions *o,
                  CalibRange *out, RtError *err);

/* ---- observers (one per tensor), exposed for tests ---- */
typedef struct CalibObserver CalibObserver;
CalibObserver *calib_observer_new(const CalibOptions *o);
void calib_observer_free(CalibObserver *ob);
/* Pass 1: min/max. */
void calib_observer_minmax(CalibObserver *ob, const float *x, int64_t n);
/* Pass 2 (histogram methods): histogram over the pass-1 range. */
void calib_observer_histogram(CalibObserver *ob, const float *x, int64_t n);
int calib_observer_needs_histogram(const CalibObserver *ob);
/* The final range for int8 (num_quant_bins 256 for the entropy search). */
CalibRange calib_observer_range(const CalibObserver *ob);

#endif
