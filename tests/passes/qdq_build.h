/*
 * qdq_build.h — building QDQ test models (tests/frontend/onnx_proto_build.h underneath) for
 * the QDQ import suites: float and raw initializers, scalar quantization parameters, and a
 * QuantizeLinear -> DequantizeLinear pair on a value.
 */
#ifndef WAFER_TEST_QDQ_BUILD_H
#define WAFER_TEST_QDQ_BUILD_H

#include "../frontend/onnx_proto_build.h"

#define QB_FLOAT 1 /* TensorProto FLOAT */

static inline void init_f(Onnx__GraphProto *g, const char *name, size_t rank, const int64_t *dims, size_t n,
                          const float *v) {
    pb_tensor_floats(pb_add_init(g, pb_tensor(name, QB_FLOAT, rank, dims)), n, v);
}

static inline void init_raw(Onnx__GraphProto *g, const char *name, int t, size_t rank, const int64_t *dims,
                            const void *v, size_t bytes) {
    pb_tensor_raw(pb_add_init(g, pb_tensor(name, t, rank, dims)), v, bytes);
}

/* Scalar scale `name`_s and zero point `name`_z of type t. */
static inline void qparams(Onnx__GraphProto *g, const char *name, float s, int t, int z) {
    char n[64];
    snprintf(n, sizeof n, "%s_s", name);
    init_f(g, n, 0, NULL, 1, &s);
    snprintf(n, sizeof n, "%s_z", name);
    uint8_t b = (uint8_t)z;
    init_raw(g, n, t, 0, NULL, &b, 1);
}

/* in -> Q -> DQ -> out with parameters p_s, p_z. */
static inline void qdq(Onnx__GraphProto *g, const char *in, const char *out, const char *p) {
    char ins[200], q[80], nm[80];
    snprintf(q, sizeof q, "%s_q", out);
    snprintf(nm, sizeof nm, "Q_%s", out);
    snprintf(ins, sizeof ins, "%s,%s_s,%s_z", in, p, p);
    pb_add_node(g, pb_node("QuantizeLinear", nm, ins, q));
    snprintf(nm, sizeof nm, "DQ_%s", out);
    snprintf(ins, sizeof ins, "%s,%s_s,%s_z", q, p, p);
    pb_add_node(g, pb_node("DequantizeLinear", nm, ins, out));
}

#endif
