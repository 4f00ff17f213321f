/*
 * onnx_load.c — the frontend's entry points: a model file (or buffer) -> IrGraph.
 *
 * Reads the whole file, pre-scans its wire format and unpacks the ModelProto with protobuf-c
 * under a memory budget (onnx_prescan.c: the bytes are untrusted), checks the fields ONNX
 * requires (a graph, an opset_import: a file cut short can still parse without it) and the
 * versions wafer understands (IR 3-13, default-domain opset 1-26), notes the QuantizeLinear
 * nodes whose 2/4-bit output type only a constant says (onnx_lowbit_check.c), converts the
 * main graph (onnx_graph.c: every node input must name a known value), then frees the proto: the
 * IrGraph owns copies of everything in its arena. Graphs of opsets 1-6 are rewritten into
 * their opset-7 form (onnx_legacy.c), so the rest of wafer sees opset 7 and later only.
 */
#include "onnx_contrib.h"
#include "onnx_internal.h"
#include "onnx_legacy.h"
#include "onnx_prescan.h"
#include "onnx_tensor_lowbit.h"

#include <stdlib.h>
#include <string.h>

#define ONNX_IR_MIN 3
/* IR 11 = ONNX 1.18 (float4e2m1, opset 23); IR 12 = ONNX 1.19 (float8e8m0, opset 24); IR 13 =
 * ONNX 1.20 (uint2/int2, opset 25; 1.21 and 1.22 keep 13 with opsets 26/27); 1.23 writes 14. */
#define ONNX_IR_MAX 13
#define ONNX_OPSET_MIN 1
/* 22 only widened types (bfloat16); 23 added Attention, RMSNormalization, RotaryEmbedding,
 * QuantizeLinear's precision and DequantizeLinear's output_dtype (see runtime/ops.def).
 * 24 added Swish and TensorScatter and Attention's nonpad_kv_seqlen input; its other new
 * versions (Cast, Q/DQ, Constant, Reshape, ... with float8e8m0, TopK with bfloat16) only
 * widened types. 25 only widened types (uint2/int2: Cast, Q/DQ, Constant(OfShape), Identity,
 * Reshape, Flatten, Pad, Squeeze, Unsqueeze, Transpose, Shape, Size, If, Loop, Scan). 26
 * (ONNX 1.21, still IR 13) added BitCast and CumProd and stated that integer Div truncates
 * toward zero, as wafer's always has; its other changes are to shape inference. */
#define ONNX_OPSET_MAX 26

static int load_is_default_domain(const char *d) {
    return !d || !d[0] || strcmp(d, "ai.onnx") == 0;
}

int onnx_domain_opset(const OnnxCtx *ctx, const char *domain) {
    const Onnx__ModelProto *mp = ctx->model;
    for (size_t i = 0; mp && i < mp->n_opset_import; i++) {
        const char *d = mp->opset_import[i]->domain;
        int same = load_is_default_domain(domain) ? load_is_default_domain(d)
                                                  : (d && strcmp(d, domain) == 0);
        if (same) return (int)mp->opset_import[i]->version;
    }
    return 0;
}

static int load_versions_check(OnnxCtx *ctx, const Onnx__ModelProto *mp) {
    if (!mp->graph) return onnx_fail(ctx, "the model has no graph");
    if (mp->n_opset_import == 0)
        return onnx_fail(ctx, "the model has no opset_import (required by ONNX; a file cut short "
                         "loses it, as it is written after the graph)");
    ctx->ir_version = mp->has_ir_version ? mp->ir_version : 0;
    if (ctx->ir_version < ONNX_IR_MIN || ctx->ir_version > ONNX_IR_MAX)
        return onnx_fail(ctx, "IR version %lld is not supported (accepted: %d to %d)",
                         (long long)ctx->ir_version, ONNX_IR_MIN, ONNX_IR_MAX);
    ctx->opset = onnx_domain_opset(ctx, "");
    if (ctx->opset == 0)
        return onnx_fail(ctx, "the model does not import the default ONNX domain (accepted opsets: "
                         "%d to %d)", ONNX_OPSET_MIN, ONNX_OPSET_MAX);
    if (ctx->opset < ONNX_OPSET_MIN || ctx->opset > ONNX_OPSET_MAX)
        return onnx_fail(ctx, "default-domain opset %d is not supported (accepted: %d to %d)",
                         ctx->opset, ONNX_OPSET_MIN, ONNX_OPSET_MAX);
    return RT_OK;
}

static IrGraph *load_model(OnnxCtx *ctx, const Onnx__ModelProto *mp) {
    ctx->model = mp;
    if (load_versions_check(ctx, mp) != RT_OK) return NULL;
    IrGraph *g = ir_graph_new();
    if (!g) return onnx_fail(ctx, "out of memory"), NULL;
    g->opset = ctx->opset;
    g->source_opset = ctx->opset;
    g->ir_version = ctx->ir_version;
    g->path = ir_strdup(g, ctx->path);
    g->producer_name = ir_strdup(g, mp->producer_name);
    OnnxScope top;
    memset(&top, 0, sizeof top);
    top.g = g;
    /* onnxruntime's contrib ops load as unknown ops, then become standard ones (onnx_contrib.c) */
    int contrib = onnx_contrib_present(mp), allow_unknown = ctx->allow_unknown_ops;
    if (contrib) ctx->allow_unknown_ops = 1;
    int r = (g->path && g->producer_name) ? RT_OK : onnx_fail(ctx, "out of memory");
    if (r == RT_OK) r = onnx_lowbit_check(ctx, mp->graph); /* before 2/4-bit tensors are widened */
    if (r == RT_OK) r = onnx_graph_convert(ctx, mp->graph, &top);
    if (r == RT_OK)
        r = ctx->opset < ONNX_LEGACY_TARGET ? onnx_legacy_upgrade(ctx, g) : onnx_legacy_newer(ctx, g);
    if (r == RT_OK && contrib) r = onnx_contrib_lower(ctx, g, !allow_unknown);
    ctx->allow_unknown_ops = allow_unknown;
    onnx_lowbit_release(ctx);
    onnx_scope_free(&top);
    if (r != RT_OK) {
        ir_graph_free(g);
        return NULL;
    }
    return g;
}

IrGraph *onnx_load_memory(const void *data, size_t len, const char *base_dir, const char *path,
                          const OnnxLoadOptions *opts, RtError *err) {
    OnnxCtx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.path = path ? path : "<memory>";
    ctx.base_dir = base_dir;
    ctx.allow_unknown_ops = opts ? opts->allow_unknown_ops : 0;
    ctx.err = err;
    char why[200];
    Onnx__ModelProto *mp = (Onnx__ModelProto *)onnx_proto_unpack(
        &onnx__model_proto__descriptor, data, len, opts ? opts->max_parse_bytes : 0, NULL, why,
        sizeof why);
    if (!mp)
        return onnx_fail(&ctx, "not a valid ONNX model (truncated, damaged or not a model file): "
                         "%s", why), NULL;
    IrGraph *g = !mp->graph || onnx_toposort(&ctx, mp->graph) == RT_OK ? load_model(&ctx, mp) : NULL;
    onnx_proto_free(&mp->base);
    return g;
}

IrGraph *onnx_load_file(const char *path, const OnnxLoadOptions *opts, RtError *err) {
    size_t len = 0;
    unsigned char *buf = onnx_file_read(path, &len, err);
    if (!buf) return NULL;
    /* External data lives in the model's folder: everything before the last '/'. */
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) : 0;
    char *dir = malloc(dir_len + 2);
    IrGraph *g = NULL;
    if (!dir) {
        rt_error_set(err, "%s: out of memory", path);
    } else {
        if (slash) {
            memcpy(dir, path, dir_len);
            dir[dir_len] = '\0';
            if (dir_len == 0) strcpy(dir, "/");
        } else {
            strcpy(dir, ".");
        }
        g = onnx_load_memory(buf, len, dir, path, opts, err);
    }
    free(dir);
    free(buf);
    return g;
}
