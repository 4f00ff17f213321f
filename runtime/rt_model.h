/*
 * rt_model.h — a .wafer file loaded for execution: the runtime's own reader of the format
 * (layout documented in format/wafer_write.c), producing RtGraphs directly.
 *
 * The file image is mapped (mmap) or, where that is not available or for rt_model_open_memory,
 * used in place: constant tensors point into the image's DATA section (64-byte aligned), so
 * opening copies no weights. Before anything is used the reader checks the magic, the format
 * version (refusing others with a message naming both versions), the size, the checksum, and
 * then every offset, size, count, string reference, dtype, op, value index and shape; a graph
 * that passes is safe to hand to the executor. Nothing here has global state.
 */
#ifndef WAFER_RT_MODEL_H
#define WAFER_RT_MODEL_H

#include "rt_plan.h"

typedef struct RtModel RtModel;

/* What the file says about a graph input or output (or any value of the main graph). */
typedef struct RtValueInfo {
    const char *name;
    RtDtype dtype;                 /* RT_UNDEFINED when not known */
    int rank;                      /* -1 when not known */
    int64_t dims[RT_MAX_RANK];     /* -1 = dynamic */
    const char *dim_names[RT_MAX_RANK]; /* symbolic name of a dynamic dim, or NULL */
} RtValueInfo;

/* What the file says about one graph: the model (graph 0) or a subgraph. */
typedef struct RtGraphInfo {
    const char *name;              /* in the image; may be "" */
    const char *producer;          /* in the image; may be "" */
    int opset;                     /* default-domain opset version */
    int64_t ir_version;            /* ONNX IR version of the source model */
    const RtValueInfo *values;     /* [graph->n_values] */
} RtGraphInfo;

/* Opens path: mmap of the whole file (read into memory from a allocator where mmap fails).
 * a NULL = rt_allocator_default(); the model's own tables come from a. On failure returns NULL
 * with a message starting with the path. */
RtModel *rt_model_open_file(const char *path, const RtAllocator *a, RtError *err);
/* rt_model_open_file with flags: RT_MODEL_NO_MMAP reads the file into memory from a even
 * where mmap is available (files on file systems that do not map well; tests). */
#define RT_MODEL_NO_MMAP 1
RtModel *rt_model_open_file_flags(const char *path, const RtAllocator *a, int flags, RtError *err);
/* Opens an image already in memory (size bytes; must stay valid and unchanged until
 * rt_model_close; need not be aligned: an unaligned image is copied once). name is used in
 * messages (e.g. "<memory>"). */
RtModel *rt_model_open_memory(const void *data, size_t size, const char *name,
                              const RtAllocator *a, RtError *err);
void rt_model_close(RtModel *m);  /* NULL-safe; unmaps / frees everything */

const RtGraph *rt_model_graph(const RtModel *m);   /* graph 0, subgraphs reachable by attribute */
/* Value info of value slot v of graph 0 (0 <= v < graph->n_values). */
const RtValueInfo *rt_model_value(const RtModel *m, int v);
/* The plan stored in the file (already validated with rt_plan_check), or NULL when the file
 * has none (dynamic input shapes). */
const RtPlan *rt_model_plan(const RtModel *m);
/* Metadata value for key ("source_hash", "wafer_version", "options", ...), or NULL. */
const char *rt_model_meta(const RtModel *m, const char *key);
/* Every graph of the file: gi = 0 is the model, 1.. the subgraphs (each reachable from the
 * model through exactly one GRAPH attribute). NULL when gi is out of range. */
int rt_model_graph_count(const RtModel *m);
const RtGraph *rt_model_graph_at(const RtModel *m, int gi);
/* Name, producer, opsets and value infos of g (one of m's graphs), or NULL for another graph. */
const RtGraphInfo *rt_model_graph_info(const RtModel *m, const RtGraph *g);
/* The image (the mapped file, or its copy in memory) and whether it is an mmap of the file:
 * constant data points into [image, image + rt_model_image_bytes). */
const void *rt_model_image(const RtModel *m);
int rt_model_is_mapped(const RtModel *m);
/* Format version of the file and the size of its image. */
uint32_t rt_model_format_version(const RtModel *m);
/* Bytes of constant data (weights) in the image, and of the whole image. */
int64_t rt_model_weight_bytes(const RtModel *m);
int64_t rt_model_image_bytes(const RtModel *m);

#endif
