/*
 * onnx_save_weights.c — writes an ONNX model again with new initializer data: the original
 * file's ModelProto is unpacked, every float32 initializer of the main graph that the IR graph
 * holds under the same name (with the same element count) gets the IR's data as raw_data,
 * and the model is packed and written atomically. Everything else (graph, node order,
 * attributes, metadata, opset imports, other initializers) is the original's, so a trained
 * student is the same model with new weights, readable by any ONNX tool.
 *
 * raw_data is little-endian by the ONNX spec; the IR's float32 data is host order, so a big-
 * endian host is refused. An initializer that lived in external data is written inline
 * (data_location DEFAULT). The unpacked message owns its buffers, so the replaced fields are
 * put back before it is freed.
 */
#include "onnx_internal.h"
#include "onnx_prescan.h"

#include "../io/atomic_file.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    ProtobufCBinaryData raw;   /* the original fields, restored before the message is freed */
    size_t n_float_data;
    int has_loc;
    Onnx__TensorProto__DataLocation loc;
    size_t n_external;
} SavedTensor;

static int host_is_little_endian(void) {
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

static int64_t tensor_proto_numel(const Onnx__TensorProto *tp) {
    int64_t n = 1;
    for (size_t i = 0; i < tp->n_dims; i++) n *= tp->dims[i];
    return n;
}

/* Puts g's data into the initializers; saved[] keeps what was replaced. */
static int replace(Onnx__GraphProto *gp, const IrGraph *g, SavedTensor *saved, int *n_replaced, const char *path,
                   RtError *err) {
    for (size_t i = 0; i < gp->n_initializer; i++) { /* all saved first: restore() puts back every one */
        const Onnx__TensorProto *tp = gp->initializer[i];
        SavedTensor *s = &saved[i];
        s->raw = tp->raw_data, s->n_float_data = tp->n_float_data;
        s->has_loc = tp->has_data_location, s->loc = tp->data_location, s->n_external = tp->n_external_data;
    }
    for (size_t i = 0; i < gp->n_initializer; i++) {
        Onnx__TensorProto *tp = gp->initializer[i];
        int v = tp->name ? ir_value_find(g, tp->name) : -1;
        const RtTensor *t = v >= 0 ? g->values[v].konst : NULL;
        if (!t || t->dtype != RT_F32 || tp->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) continue;
        if (rt_numel(t) != tensor_proto_numel(tp))
            return rt_error_set(err, "%s: initializer '%s' has %lld elements, the trained graph %lld", path, tp->name,
                                (long long)tensor_proto_numel(tp), (long long)rt_numel(t));
        tp->raw_data.data = t->data;
        tp->raw_data.len = sizeof(float) * (size_t)rt_numel(t);
        tp->has_raw_data = 1;
        tp->n_float_data = 0;
        tp->has_data_location = 1, tp->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__DEFAULT;
        tp->n_external_data = 0;
        (*n_replaced)++;
    }
    return RT_OK;
}

static void restore(Onnx__GraphProto *gp, const SavedTensor *saved) {
    for (size_t i = 0; i < gp->n_initializer; i++) {
        Onnx__TensorProto *tp = gp->initializer[i];
        tp->raw_data = saved[i].raw, tp->n_float_data = saved[i].n_float_data;
        tp->has_data_location = saved[i].has_loc, tp->data_location = saved[i].loc;
        tp->n_external_data = saved[i].n_external;
    }
}

int onnx_save_weights(const char *src_path, const IrGraph *g, const char *out_path, int *n_replaced, RtError *err) {
    int dummy = 0;
    if (!n_replaced) n_replaced = &dummy;
    *n_replaced = 0;
    if (!host_is_little_endian()) return rt_error_set(err, "%s: writing ONNX raw_data needs a little-endian host", out_path);
    size_t len = 0;
    unsigned char *buf = onnx_file_read(src_path, &len, err);
    if (!buf) return RT_ERR;
    char why[200];
    Onnx__ModelProto *mp =
        (Onnx__ModelProto *)onnx_proto_unpack(&onnx__model_proto__descriptor, buf, len, 0, NULL, why, sizeof why);
    free(buf);
    if (!mp) return rt_error_set(err, "%s: not a valid ONNX model: %s", src_path, why);
    if (!mp->graph) {
        onnx_proto_free(&mp->base);
        return rt_error_set(err, "%s: the model has no graph", src_path);
    }
    Onnx__GraphProto *gp = mp->graph;
    SavedTensor *saved = calloc(gp->n_initializer + 1, sizeof *saved);
    int rc = saved ? replace(gp, g, saved, n_replaced, src_path, err) : rt_error_set(err, "out of memory");
    uint8_t *out = NULL;
    size_t n = 0;
    if (rc == RT_OK) {
        n = protobuf_c_message_get_packed_size(&mp->base);
        out = malloc(n ? n : 1);
        if (!out) rc = rt_error_set(err, "%s: out of memory (%zu bytes)", out_path, n);
        else protobuf_c_message_pack(&mp->base, out);
    }
    if (saved) restore(gp, saved);
    free(saved);
    onnx_proto_free(&mp->base);
    if (rc == RT_OK) rc = io_file_write_atomic(out_path, out, n, err);
    free(out);
    return rc;
}
