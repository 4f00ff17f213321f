/*
 * wafer_rt.h — the public C API of wafer's companion runtime: load a compiled `.wafer` model
 * and run it. This is the one header an application includes (`pkg-config --cflags --libs
 * wafer-rt`); it depends on nothing but the C standard library.
 *
 *     WaferRtModel *m;
 *     WaferRtError e;
 *     if (wafer_rt_open_file("model.wafer", NULL, &m, &e) != WAFER_RT_OK) { puts(e.msg); ... }
 *     WaferRtTensor x = {WAFER_RT_F32, 4, {1, 3, 224, 224}, pixels}, y;
 *     if (wafer_rt_run(m, &x, 1, &y, 1, &e) == WAFER_RT_OK) ... y.data: 1000 floats ...
 *     wafer_rt_close(m);
 *
 * Loading maps the file (mmap) and checks every byte of its structure before use; the weights
 * stay in the mapping (nothing is copied). Running uses one arena whose layout was planned when
 * the model was compiled (or, for inputs with dynamic sizes, at the first run with new shapes),
 * so a run does not allocate for activations. There is no global state: any number of models
 * may be open and each may run on its own thread; one model runs one call at a time.
 *
 * Errors: every call returns a status; when err is not NULL it receives a message naming the
 * file, node and op. Tensor element types are ONNX TensorProto codes.
 */
#ifndef WAFER_RT_H
#define WAFER_RT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WAFER_RT_MAX_RANK 8

typedef enum {
    WAFER_RT_OK = 0,
    WAFER_RT_ERR_INVALID = 1,      /* bad file, bad argument, input of the wrong type or shape */
    WAFER_RT_ERR_NOMEM = 2,        /* an allocation failed */
    WAFER_RT_ERR_UNSUPPORTED = 3,  /* a valid model using something this runtime lacks */
    WAFER_RT_ERR_IO = 4            /* the file could not be opened or read */
} WaferRtStatus;

typedef enum {
    WAFER_RT_F32 = 1, WAFER_RT_U8 = 2, WAFER_RT_I8 = 3, WAFER_RT_I32 = 6, WAFER_RT_I64 = 7,
    WAFER_RT_BOOL = 9, WAFER_RT_F16 = 10, WAFER_RT_F64 = 11
} WaferRtDtype;

typedef struct WaferRtError {
    char msg[1024];
} WaferRtError;

/* Where the runtime's memory comes from (tables, the arena, kernel scratch). alloc returns
 * 64-byte aligned memory or NULL. */
typedef struct WaferRtAllocator {
    void *(*alloc)(void *user, size_t bytes);
    void (*free)(void *user, void *ptr);
    void *user;
} WaferRtAllocator;

typedef struct WaferRtOptions {
    int threads;                        /* kernel threads; 0 or 1 = the calling thread only */
    const WaferRtAllocator *allocator;  /* NULL = malloc */
    void *arena;                        /* optional caller-owned activation arena (64-byte
                                           aligned), at least wafer_rt_arena_bytes() long */
    size_t arena_bytes;
    int reference_kernels;              /* 1 = portable reference kernels only (also when the
                                           environment sets WAFER_RT_REF=1) */
} WaferRtOptions;

typedef struct WaferRtTensor {
    int dtype;                           /* WaferRtDtype */
    int rank;
    int64_t dims[WAFER_RT_MAX_RANK];     /* in the info calls: -1 = dynamic */
    void *data;                          /* row-major elements; NULL in the info calls */
} WaferRtTensor;

typedef struct WaferRtModel WaferRtModel;

/* Opens a .wafer file (opts may be NULL: defaults). */
WaferRtStatus wafer_rt_open_file(const char *path, const WaferRtOptions *opts, WaferRtModel **model,
                                 WaferRtError *err);
/* Opens a .wafer image in memory; data must stay valid and unchanged until wafer_rt_close. */
WaferRtStatus wafer_rt_open_memory(const void *data, size_t size, const WaferRtOptions *opts,
                                   WaferRtModel **model, WaferRtError *err);
void wafer_rt_close(WaferRtModel *model); /* NULL-safe */

int wafer_rt_num_inputs(const WaferRtModel *model);
int wafer_rt_num_outputs(const WaferRtModel *model);
/* Name, dtype and shape (dims -1 where dynamic) of input / output i; NULL name when i is out
 * of range. info may be NULL. */
const char *wafer_rt_input_info(const WaferRtModel *model, int i, WaferRtTensor *info);
const char *wafer_rt_output_info(const WaferRtModel *model, int i, WaferRtTensor *info);

/* Bytes of the activation arena the model needs for the shapes it was planned for: the plan
 * made at the last run, else the one stored in the file; 0 when there is neither yet. */
size_t wafer_rt_arena_bytes(const WaferRtModel *model);
/* Bytes of constant data (weights, quantization parameters) in the file, read in place. */
size_t wafer_rt_weight_bytes(const WaferRtModel *model);

/* Sets the number of kernel threads (>= 1); takes effect at the next run. */
WaferRtStatus wafer_rt_set_threads(WaferRtModel *model, int threads, WaferRtError *err);

/* Runs the model on inputs[n_inputs] (in the order of wafer_rt_input_info; data borrowed for
 * the call). outputs[n_outputs] receive views into the model's memory, valid until the next
 * run or wafer_rt_close. */
WaferRtStatus wafer_rt_run(WaferRtModel *model, const WaferRtTensor *inputs, int n_inputs,
                           WaferRtTensor *outputs, int n_outputs, WaferRtError *err);

/* Per-node timing. While profiling is on (wafer_rt_profile_enable(model, 1)), every run adds
 * each node's wall time to its total; enabling it again starts from zero, and 0 turns it off
 * (the totals stay readable). wafer_rt_profile fills nodes[0 .. min(count, max_nodes)) in
 * execution order and *runs (may be NULL) with the runs counted, and returns count, the
 * number of nodes (nodes may be NULL to ask for it); 0 when profiling never ran. */
typedef struct WaferRtNodeTime {
    const char *name;          /* the node's name in the source model (may be "") */
    const char *op;            /* its op type, e.g. "Conv", or wafer's fused "FusedConv" */
    double total_ms;           /* summed over the profiled runs */
} WaferRtNodeTime;
WaferRtStatus wafer_rt_profile_enable(WaferRtModel *model, int on, WaferRtError *err);
int wafer_rt_profile(const WaferRtModel *model, WaferRtNodeTime *nodes, int max_nodes, int64_t *runs);

/* Metadata stored in the file ("source_hash", "wafer_version", "options"), or NULL. */
const char *wafer_rt_meta(const WaferRtModel *model, const char *key);

/* ---- cascades (wafer_rt_cascade.c) ----
 * A small model answers first; a row escalates to the large model when the small model's
 * confidence is below a threshold. Confidence of logits x[C]: softmax p = exp(x - max) / sum;
 * MAX_PROB = max p, MARGIN = top p - second p (both in [0, 1]). */
typedef enum { WAFER_RT_CONF_MAX_PROB = 0, WAFER_RT_CONF_MARGIN = 1 } WaferRtConfidence;

typedef struct WaferRtCascadeOptions {
    int confidence;            /* WaferRtConfidence */
    float threshold;           /* a row escalates when its confidence < threshold */
    float price_signal;        /* the current price signal in [0, 1]; < 0 = none */
    float price_cap;           /* price_signal > price_cap: only the small model runs */
} WaferRtCascadeOptions;

typedef struct WaferRtCascadeResult {
    float *logits;             /* caller's [n * classes]: the first output of the model that answered */
    float *confidence;         /* caller's [n] or NULL: the small model's confidence per row */
    unsigned char *escalated;  /* caller's [n] or NULL: 1 where the large model answered */
    int64_t n_escalated;       /* set by the call */
} WaferRtCascadeResult;

/* Confidence of one row of logits[classes] (WaferRtConfidence kind). */
float wafer_rt_confidence(const float *logits, int64_t classes, int kind);

/* Runs the cascade on n rows: every input of both models is [n, ...] along axis 0 (the two
 * models may take different inputs, e.g. pixels and images). The small model runs once on
 * all n rows; each escalated row runs through the large model alone, as a batch of 1 whose
 * input views point into the caller's rows (nothing is copied or allocated). Both models'
 * first outputs must be float [rows, classes] with the same classes. */
WaferRtStatus wafer_rt_cascade(WaferRtModel *small, const WaferRtTensor *small_inputs, int n_small_inputs,
                               WaferRtModel *large, const WaferRtTensor *large_inputs, int n_large_inputs,
                               const WaferRtCascadeOptions *opts, WaferRtCascadeResult *result,
                               WaferRtError *err);

/* The runtime's version, e.g. "0.3.0" (0.3.0 added the per-node profile). */
const char *wafer_rt_version(void);

#ifdef __cplusplus
}
#endif

#endif
