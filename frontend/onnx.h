/*
 * onnx.h — the ONNX frontend: reads ModelProto files into IR graphs, and TensorProto files
 * (the conformance tests' inputs and outputs) into tensors. The only code that includes
 * the generated onnx.pb-c.h.
 */
#ifndef WAFER_ONNX_H
#define WAFER_ONNX_H

#include "../ir/ir.h"

typedef struct OnnxLoadOptions {
    int allow_unknown_ops;   /* 1: load nodes of unknown ops as RT_OP_UNKNOWN (wafer inspect);
                                0: refuse them with an error naming node, op_type and opset */
    size_t max_parse_bytes;  /* memory protobuf-c may allocate unpacking the file (bytes);
                                0: 64 MiB + 8x the file's size (onnx_prescan.h) */
} OnnxLoadOptions;

/* Loads a model. External data is resolved relative to the file's folder. opts may be NULL.
 * Returns NULL with a message naming the file (and node/tensor) in err. */
IrGraph *onnx_load_file(const char *path, const OnnxLoadOptions *opts, RtError *err);
/* Same from memory; base_dir is where external data lives (NULL: external data refused). */
IrGraph *onnx_load_memory(const void *data, size_t len, const char *base_dir, const char *path,
                          const OnnxLoadOptions *opts, RtError *err);

/* Reads a serialized TensorProto (.pb). out->data is malloc'd (caller frees with free()).
 * name (may be NULL) receives the tensor's name, truncated to name_len. */
int onnx_tensor_read_pb(const char *path, RtTensor *out, char *name, size_t name_len, RtError *err);

/* The distinct ops a model file uses, subgraphs included, in first-use order: "Conv" for
 * the default domain, "domain:Op" for the others. Looks only at the node lists (no tensor
 * converted, no version checked), so it also works on models onnx_load_file refuses.
 * *ops is one malloc'd block holding the array and the strings: free(*ops). */
int onnx_model_op_types(const char *path, char ***ops, int *n_ops, RtError *err);

/* Writes the model at src_path to out_path (atomically) with new weights: every float32
 * initializer of the main graph that g holds under the same name gets g's data; the graph and
 * everything else stay the original's (onnx_save_weights.c). *n_replaced (may be NULL) counts
 * the initializers replaced. A trained student is written this way. */
int onnx_save_weights(const char *src_path, const IrGraph *g, const char *out_path, int *n_replaced, RtError *err);

/* ---- writing (onnx_write.c) ---- */
typedef struct OnnxWriteOptions {
    const char *producer_version; /* the ModelProto's producer_version; NULL = "" */
    const int *packed4;           /* [n_packed4] borrowed: constant values (u8 / i8 codes, one per
                                     byte) written as UINT4 / INT4, two per byte */
    int n_packed4;
    const int *packed2;           /* [n_packed2] borrowed: the same written as UINT2 / INT2, four per
                                     byte (opset 25) */
    int n_packed2;
} OnnxWriteOptions;

/* Serializes g as a ModelProto (producer "wafer"). g may hold only published ops (default
 * domain, com.microsoft): lower wafer's own with onnx_export_lower first. The bytes pass
 * onnx_check_memory before they are returned. *data is malloc'd (caller frees). o may be NULL. */
int onnx_write_memory(const IrGraph *g, const OnnxWriteOptions *o, uint8_t **data, size_t *len,
                      RtError *err);
/* onnx_write_memory, then an atomic write to path (no partial file on failure). */
int onnx_write_file(const IrGraph *g, const OnnxWriteOptions *o, const char *path, RtError *err);

/* ---- export: wafer's quantized graph -> standard ONNX ops (onnx_export_q.c) ---- */
typedef enum {
    ONNX_INT4_NBITS = 0,  /* LinearNBits -> com.microsoft.MatMulNBits (default) */
    ONNX_INT4_DQ = 1      /* LinearNBits -> blocked DequantizeLinear on 4-bit codes + MatMul (opset 21;
                             2-bit codes as UINT2, opset 25) */
} OnnxInt4Form;

typedef struct OnnxExportOptions {
    OnnxInt4Form int4;            /* how low-bit linear layers are written */
    const char *producer_version; /* NULL = "" */
} OnnxExportOptions;

/* A lowered graph ready for onnx_write_*: every wafer op replaced by standard ones (int8 ops
 * as QuantizeLinear/DequantizeLinear around float Conv/Gemm/MatMul/Add/..., LinearNBits as
 * MatMulNBits or blocked DequantizeLinear), the opset raised where the ops need it. */
typedef struct OnnxExport {
    IrGraph *g;                   /* owned */
    int *packed4;                 /* [n_packed4] owned: values to write as 4-bit */
    int n_packed4;
    int *packed2;                 /* [n_packed2] owned: values to write as 2-bit */
    int n_packed2;
} OnnxExport;

/* Lowers src into ex (src is not changed). Fails naming the node when an op or attribute has
 * no standard form (e.g. a group size MatMulNBits cannot express). */
int onnx_export_lower(const IrGraph *src, const OnnxExportOptions *o, OnnxExport *ex, RtError *err);
void onnx_export_free(OnnxExport *ex);
/* onnx_export_lower + onnx_write_file. */
int onnx_export_file(const IrGraph *src, const OnnxExportOptions *o, const char *path, RtError *err);

/* ---- structural checks, as onnx.checker does them (onnx_check.c) ---- */
/* Checks a serialized model: versions and opset imports (one per domain, every node's domain
 * imported), every node input defined before use (graph input, initializer, an earlier node's
 * output, or an enclosing graph's value in a subgraph), each value defined once, attribute
 * names unique and each holding the field its type says, initializers' data sizes matching
 * dims x dtype, graph inputs/outputs typed. RT_OK, or RT_ERR with the first problem (naming
 * path, node and op) in err. */
int onnx_check_memory(const void *data, size_t len, const char *path, RtError *err);
int onnx_check_file(const char *path, RtError *err);

#endif
