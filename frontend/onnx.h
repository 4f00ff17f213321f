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

#endif
