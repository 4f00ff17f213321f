/*
 * wafer_file.h — the packed .wafer file (version 1): a compiled IR graph with its constants
 * (int8/float weights, quantization parameters) and metadata, as wafer run/eval execute it.
 *
 * Layout: a fixed header (magic "WAFERFMT", format version, flags, section table with
 * 64-byte aligned sections), then the sections (strings, values, nodes and attributes,
 * constant data, metadata), and a checksum over the whole file. Ops are stored by domain
 * and name, never by enum number, so a change of the op table never misreads an old file.
 * Same graph and options -> byte-identical file.
 */
#ifndef WAFER_FORMAT_FILE_H
#define WAFER_FORMAT_FILE_H

#include "../ir/ir.h"

#define WAFER_FILE_VERSION 1

typedef struct WaferMeta {
    const char *source_hash;   /* hex digest of the source model file ("" if none) */
    const char *wafer_version; /* e.g. "0.1.0" */
    const char *options;       /* the options used, as one line of text */
} WaferMeta;

/* Writes g atomically (temporary file in the same folder + rename; nothing left on failure). */
int wafer_file_write(const IrGraph *g, const WaferMeta *meta, const char *path, RtError *err);
/* Reads and validates a .wafer file (every offset, size, dtype, op and shape checked; the
 * checksum verified first); returns a graph or NULL with a message naming the file. */
IrGraph *wafer_file_read(const char *path, RtError *err);
/* 1 when the file starts with the .wafer magic. */
int wafer_file_is(const char *path);
/* Hex digest (FNV-1a 64) of a file's bytes into out[17]; RT_OK or RT_ERR. */
int wafer_file_hash(const char *path, char out[17], RtError *err);

#endif
