/*
 * onnx_half_convert.h — a float32 ONNX model rewritten as a float16 (or bfloat16) one, as
 * onnxconverter-common's convert_float_to_float16(model, keep_io_types=False) does for the
 * models published that way: every float32 initializer, Constant / ConstantOfShape value,
 * graph input, output and value_info becomes float16, Cast(to=float) becomes Cast(to=float16),
 * subgraphs (If, Loop, Scan bodies) likewise; nodes, names and shapes stay as they were.
 * Used by tests (a float16 CNN against onnxruntime) and by bench/bench_half_convert.c (the
 * float16 rows of bench/bench_half.sh); not a user command.
 *
 *   ohc_convert_file(in, out, elem, err, n)   elem ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16 or
 *                                             __BFLOAT16; 0 on success, else -1 and a message
 *
 * The spec allows only float32 in a few inputs (Resize's and Upsample's scales): those keep
 * float32 when an initializer or a Constant gives them, and a model computing them is refused
 * by node name. Values round to nearest even (wafer's rt_f32_to_f16 / rt_f32_to_bf16, which
 * tests/runtime/test_half_convert.c checks against the F16C instructions bit for bit);
 * float32 values beyond float16's range become infinities, as numpy's astype does.
 * External-data models are refused.
 */
#ifndef WAFER_ONNX_HALF_CONVERT_H
#define WAFER_ONNX_HALF_CONVERT_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"
#include "../runtime/rt_core.h"

#define OHC_FLOAT ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT

typedef struct {
    int32_t elem;  /* FLOAT16 or BFLOAT16 */
    char *err;     /* message buffer (borrowed) */
    size_t err_n;  /* its size */
} OhcCtx;

static int ohc_fail(OhcCtx *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->err_n, fmt, ap);
    va_end(ap);
    return -1;
}

/* 1 when input slot i of node n may hold only float32 by the spec. */
static int ohc_float_only_slot(const Onnx__NodeProto *n, size_t i) {
    return (!strcmp(n->op_type, "Resize") && i == 2) || (!strcmp(n->op_type, "Upsample") && i == 1);
}

/* 1 when some node of g reads name in a float32-only slot. */
static int ohc_read_as_float_only(const Onnx__GraphProto *g, const char *name) {
    for (size_t k = 0; k < g->n_node; k++)
        for (size_t i = 0; i < g->node[k]->n_input; i++)
            if (ohc_float_only_slot(g->node[k], i) && !strcmp(g->node[k]->input[i], name)) return 1;
    return 0;
}

/* A float32 tensor's values (float_data or raw_data) rewritten in place as 16-bit raw_data. */
static int ohc_tensor(OhcCtx *c, Onnx__TensorProto *t) {
    if (!t->has_data_type || t->data_type != OHC_FLOAT) return 0;
    if (t->n_external_data || (t->has_data_location && t->data_location))
        return ohc_fail(c, "tensor '%s': external data is not converted", t->name ? t->name : "");
    size_t n = t->has_raw_data ? t->raw_data.len / 4 : t->n_float_data;
    uint16_t *h = malloc(n ? n * 2 : 1);
    if (!h) return ohc_fail(c, "out of memory");
    for (size_t i = 0; i < n; i++) {
        float f;
        if (t->has_raw_data)
            memcpy(&f, t->raw_data.data + 4 * i, 4); /* little-endian, as the files are */
        else
            f = t->float_data[i];
        h[i] = c->elem == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16 ? rt_f32_to_f16(f) : rt_f32_to_bf16(f);
    }
    free(t->float_data);
    t->float_data = NULL;
    t->n_float_data = 0;
    free(t->raw_data.data);
    t->raw_data.data = (uint8_t *)h;
    t->raw_data.len = n * 2;
    t->has_raw_data = 1;
    t->data_type = c->elem;
    return 0;
}

static void ohc_value(OhcCtx *c, Onnx__ValueInfoProto *v) {
    if (v->type && v->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && v->type->tensor_type &&
        v->type->tensor_type->elem_type == OHC_FLOAT)
        v->type->tensor_type->elem_type = c->elem;
}

static int ohc_graph(OhcCtx *c, Onnx__GraphProto *g);

static int ohc_node(OhcCtx *c, const Onnx__GraphProto *g, Onnx__NodeProto *n) {
    for (size_t i = 0; i < n->n_input; i++) /* a computed float32-only input: refused */
        if (ohc_float_only_slot(n, i) && n->input[i][0]) {
            int given = 0;
            for (size_t k = 0; k < g->n_initializer; k++) given |= !strcmp(g->initializer[k]->name, n->input[i]);
            for (size_t k = 0; k < g->n_node; k++)
                given |= !strcmp(g->node[k]->op_type, "Constant") && g->node[k]->n_output &&
                         !strcmp(g->node[k]->output[0], n->input[i]);
            if (!given)
                return ohc_fail(c, "node '%s' (%s): input %zu must stay float32 and is computed", n->name,
                                n->op_type, i);
        }
    int keep = !strcmp(n->op_type, "Constant") && n->n_output && ohc_read_as_float_only(g, n->output[0]);
    for (size_t a = 0; a < n->n_attribute; a++) {
        Onnx__AttributeProto *at = n->attribute[a];
        if (!strcmp(n->op_type, "Cast") && !strcmp(at->name, "to") && at->i == OHC_FLOAT) at->i = c->elem;
        if (at->t && !keep && ohc_tensor(c, at->t)) return -1;
        for (size_t k = 0; k < at->n_tensors; k++)
            if (ohc_tensor(c, at->tensors[k])) return -1;
        if (at->g && ohc_graph(c, at->g)) return -1;
        for (size_t k = 0; k < at->n_graphs; k++)
            if (ohc_graph(c, at->graphs[k])) return -1;
    }
    return 0;
}

static int ohc_graph(OhcCtx *c, Onnx__GraphProto *g) {
    for (size_t k = 0; k < g->n_initializer; k++)
        if (!ohc_read_as_float_only(g, g->initializer[k]->name) && ohc_tensor(c, g->initializer[k])) return -1;
    for (size_t k = 0; k < g->n_node; k++)
        if (ohc_node(c, g, g->node[k])) return -1;
    for (size_t k = 0; k < g->n_input; k++) ohc_value(c, g->input[k]);
    for (size_t k = 0; k < g->n_output; k++) ohc_value(c, g->output[k]);
    for (size_t k = 0; k < g->n_value_info; k++) ohc_value(c, g->value_info[k]);
    return 0;
}

/* Reads in, converts, writes out (only when everything converted). */
static inline int ohc_convert_file(const char *in, const char *out, int32_t elem, char *err, size_t err_n) {
    OhcCtx c = {elem, err, err_n};
    FILE *f = fopen(in, "rb");
    if (!f) return ohc_fail(&c, "%s: cannot open", in);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = len > 0 ? malloc((size_t)len) : NULL;
    size_t got = buf ? fread(buf, 1, (size_t)len, f) : 0;
    fclose(f);
    if (!buf || got != (size_t)len) {
        free(buf);
        return ohc_fail(&c, "%s: cannot read", in);
    }
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, (size_t)len, buf);
    free(buf);
    if (!m || !m->graph) {
        if (m) onnx__model_proto__free_unpacked(m, NULL);
        return ohc_fail(&c, "%s: not an ONNX model", in);
    }
    int r = ohc_graph(&c, m->graph);
    size_t n = r ? 0 : onnx__model_proto__get_packed_size(m);
    uint8_t *packed = r ? NULL : malloc(n);
    if (!r && !packed) r = ohc_fail(&c, "out of memory");
    if (!r) onnx__model_proto__pack(m, packed);
    onnx__model_proto__free_unpacked(m, NULL);
    FILE *o = r ? NULL : fopen(out, "wb");
    if (!r && (!o || fwrite(packed, 1, n, o) != n)) r = ohc_fail(&c, "%s: cannot write", out);
    if (o && fclose(o) && !r) r = ohc_fail(&c, "%s: cannot write", out);
    free(packed);
    return r;
}

#endif
