/*
 * wafer_file.h — the packed .wafer file (version 2): a compiled IR graph with its constants
 * (int8/float weights, quantization parameters), metadata and, for static input shapes, the
 * memory plan the runtime executes with (wafer run/eval and the runtime library load it).
 *
 * Layout (byte offsets in format/wafer_write.c): a fixed header (magic "WAFERFMT", format
 * version, flags, file size, section table with 64-byte aligned sections), then the
 * sections (strings, values, nodes and attributes, graphs, constant data, metadata, plan), and a
 * CRC-32C checksum over every other byte in the file's last 8 bytes. Ops are stored by
 * domain and name, never by enum number, so a change of the op table never misreads an old
 * file. Everything is little-endian and written field by field: the same graph and
 * metadata give a byte-identical file on any host.
 */
#ifndef WAFER_FORMAT_FILE_H
#define WAFER_FORMAT_FILE_H

#include "../ir/ir.h"

#define WAFER_FILE_VERSION 2

typedef struct WaferMeta {
    const char *source_hash;   /* hex digest of the source model file ("" if none) */
    const char *wafer_version; /* e.g. "0.1.0" */
    const char *options;       /* the options used, as one line of text */
} WaferMeta;

/* Writes g (and its subgraphs) atomically: temporary file in the same folder, fsync, rename;
 * on failure nothing is left behind and an existing file at path is untouched. g must pass
 * ir_verify and hold only ops of runtime/ops.def (no deleted nodes: compact first). meta may
 * be NULL (empty strings are stored). */
int wafer_file_write(const IrGraph *g, const WaferMeta *meta, const char *path, RtError *err);
/* Reads and validates a .wafer file through the runtime's reader (runtime/rt_model.h: the
 * format version, size and checksum first, then every offset, size, dtype, op and shape) and
 * copies it into a new graph that passed ir_verify; or NULL with a message starting with the
 * path, e.g. "m.wafer: checksum mismatch (file corrupted)" or
 * "m.wafer: .wafer format version 1, this runtime reads version 2". */
IrGraph *wafer_file_read(const char *path, RtError *err);
/* wafer_file_read that also returns the metadata; meta's strings live in the graph's arena
 * (valid until ir_graph_free). meta may be NULL. */
IrGraph *wafer_file_read_meta(const char *path, WaferMeta *meta, RtError *err);
/* 1 when the file starts with the .wafer magic. */
int wafer_file_is(const char *path);
/* Hex digest (FNV-1a 64) of a file's bytes into out[17]; RT_OK or RT_ERR. */
int wafer_file_hash(const char *path, char out[17], RtError *err);

#endif
