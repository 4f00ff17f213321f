/*
 * onnx_prescan.h — hardened protobuf parsing for the frontend: a wire-format pre-scan of
 * untrusted bytes, then protobuf-c's unpack under a memory budget (onnx_prescan.c).
 * Frontend-only (it speaks protobuf-c's descriptors).
 */
#ifndef WAFER_ONNX_PRESCAN_H
#define WAFER_ONNX_PRESCAN_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest sub-message accepted: the top-level message is depth 0, each sub-message one
 * more. Real ONNX files need a handful (model > graph > node > attribute > graph ... for
 * each If/Loop level); protobuf-c's recursive unpack overflows the stack near 8,700. */
#define ONNX_PRESCAN_MAX_DEPTH 64

/* Memory protobuf-c may allocate while unpacking a file of len bytes when the caller sets
 * no budget: the file's bytes are copied once (raw_data, strings), and the structs of real
 * models take a few times their wire size; hostile runs of empty sub-messages take 45-129x. */
size_t onnx_proto_budget_default(size_t len);

/* Walks data as a serialized message of type desc without building anything: every tag a
 * valid varint of at most 32 bits with a field number > 0 and wire type 0, 1, 2 or 5; every
 * varint at most 10 bytes; every length inside its enclosing message; known fields with the
 * wire type their declared type needs (packed repeated scalars: whole elements); sub-messages
 * nested at most max_depth deep. Returns 0, or -1 with why = "byte N: <problem>". */
int onnx_prescan(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                 int max_depth, char *why, size_t why_len);

/* onnx_prescan, then protobuf_c_message_unpack with an allocator that refuses to go past
 * budget bytes (0: onnx_proto_budget_default(len)). NULL with why set on any failure.
 * *peak (may be NULL) receives the bytes in use at the end of the unpack. Free the result
 * with onnx_proto_free. */
ProtobufCMessage *onnx_proto_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
                                    size_t len, size_t budget, size_t *peak, char *why,
                                    size_t why_len);
void onnx_proto_free(ProtobufCMessage *m);

#endif
