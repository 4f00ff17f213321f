/*
 * rt_core.h — the data vocabulary shared by the runtime, the kernels and the compiler.
 *
 * A tensor is a dtype, a shape (rank <= RT_MAX_RANK, row-major) and a data pointer.
 * A node is an op from runtime/ops.def, indices of its input and output value slots,
 * and a list of typed attributes exactly as ONNX stores them (kernels read them by name
 * with spec defaults). A graph is nodes in topological order over numbered value slots.
 *
 * The compiler's IR (ir/) uses RtNode and RtAttr as its node representation, so the
 * reference executor runs IR graphs without a translation step. This header is C99 and
 * includes nothing from outside runtime/.
 */
#ifndef WAFER_RT_CORE_H
#define WAFER_RT_CORE_H

#include <stddef.h>
#include <stdint.h>

#define RT_MAX_RANK 8

/* Element types: values are ONNX TensorProto.DataType codes, so files map 1:1. */
typedef enum {
    RT_UNDEFINED = 0,
    RT_F32 = 1,
    RT_U8 = 2,
    RT_I8 = 3,
    RT_U16 = 4,
    RT_I16 = 5,
    RT_I32 = 6,
    RT_I64 = 7,
    RT_STRING = 8, /* not supported by kernels; named so errors can say so */
    RT_BOOL = 9,   /* one byte per element, 0 or 1 */
    RT_F16 = 10,
    RT_F64 = 11,
    RT_U32 = 12,
    RT_U64 = 13,
    RT_BF16 = 16,
    RT_DTYPE_END = 17
} RtDtype;

typedef struct RtTensor {
    RtDtype dtype;
    int rank;                   /* 0 = scalar */
    int64_t dims[RT_MAX_RANK];  /* >= 0 each */
    void *data;                 /* borrowed or owned as the holder says; NULL = data unknown */
} RtTensor;

/* Status codes. Kernels and the executor return them; a message goes into RtError. */
enum {
    RT_OK = 0,
    RT_ERR = -1,          /* bad input: the message names the problem */
    RT_ERR_NOMEM = -2,    /* an allocation failed */
    RT_ERR_UNSUPPORTED = -3,  /* valid ONNX that wafer does not implement (dtype, attribute value) */
    RT_SHAPE_ONLY = 1     /* not an error: shapes set, data not computed (see rt_out_alloc) */
};

typedef struct RtError {
    char msg[1024];  /* empty when no error */
} RtError;

/* The monotonic clock in nanoseconds (0 where the platform has none): the thread pool's spin
 * deadline and the executors' per-node profile. */
int64_t rt_clock_ns(void);

/* printf-style: records the message (first one wins) and returns RT_ERR. */
int rt_error_set(RtError *e, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Allocation goes through this, so embedded users can supply an arena. */
typedef struct RtAllocator {
    void *(*alloc)(void *user, size_t bytes);  /* returns NULL on failure; 64-byte aligned */
    void (*free)(void *user, void *ptr);
    void *user;
} RtAllocator;

const RtAllocator *rt_allocator_default(void);

/* ---- dtypes and tensors ---- */
size_t rt_dtype_size(RtDtype t);       /* bytes per element; 0 for unsupported */
const char *rt_dtype_name(RtDtype t);  /* "float32", "int64", ... ; "?" for unknown */
int rt_dtype_is_float(RtDtype t);      /* f16, bf16, f32, f64 */
int64_t rt_numel(const RtTensor *t);
/* numel * elem size, or -1 when it overflows (dims come from files). */
int64_t rt_nbytes(const RtTensor *t);
int64_t rt_shape_numel(int rank, const int64_t *dims);
int rt_shape_equal(const RtTensor *a, const RtTensor *b);
/* "[2,3,4]" into buf. */
const char *rt_shape_str(int rank, const int64_t *dims, char *buf, size_t n);

float rt_f16_to_f32(uint16_t h);
uint16_t rt_f32_to_f16(float f);       /* round to nearest even */
float rt_bf16_to_f32(uint16_t h);
uint16_t rt_f32_to_bf16(float f);      /* round to nearest even */
/* The same over arrays of n, bit for bit (rt_half.c: F16C where the CPU has it). */
void rt_f16_to_f32_n(const uint16_t *h, float *f, int64_t n);
void rt_f32_to_f16_n(const float *f, uint16_t *h, int64_t n);
void rt_bf16_to_f32_n(const uint16_t *h, float *f, int64_t n);
void rt_f32_to_bf16_n(const float *f, uint16_t *h, int64_t n);

/* ---- attributes (the ONNX AttributeProto types) ---- */
typedef enum {
    RT_ATTR_FLOAT = 1,
    RT_ATTR_INT = 2,
    RT_ATTR_STRING = 3,
    RT_ATTR_TENSOR = 4,
    RT_ATTR_GRAPH = 5,
    RT_ATTR_FLOATS = 6,
    RT_ATTR_INTS = 7,
    RT_ATTR_STRINGS = 8
} RtAttrType;

struct RtGraph;

typedef struct RtAttr {
    const char *name;        /* borrowed from the graph's owner */
    RtAttrType type;
    int64_t i;               /* INT */
    float f;                 /* FLOAT */
    const char *s;           /* STRING (NUL-terminated) */
    int n;                   /* count for FLOATS / INTS / STRINGS */
    const int64_t *ints;     /* [n] */
    const float *floats;     /* [n] */
    const char *const *strings; /* [n] */
    const RtTensor *t;       /* TENSOR */
    const void *g;           /* GRAPH: an IrGraph in the IR, an RtGraph once lowered */
} RtAttr;

/* ---- nodes and graphs ---- */
/* The most inputs and outputs one node may have in the executors (their per-node arrays):
 * inputs count the outer values an If / Loop / Scan body captures, which the IR passes as
 * extra inputs (Silero VAD's If reads about 70 weights). */
#define RT_NODE_MAX_IN 1024
#define RT_NODE_MAX_OUT 64

typedef struct RtNode {
    int op;                  /* RtOp from ops.def; RT_OP_UNKNOWN for an op wafer does not know */
    const char *name;        /* ONNX node name (may be ""), for messages */
    const char *op_type;     /* ONNX op_type as written, e.g. "Conv" (names unknown ops) */
    const char *domain;      /* ONNX domain as written ("" = default) */
    int opset;               /* opset version of the node's domain, for versioned semantics */
    int n_in;
    int *in;                 /* [n_in] value slot indices; -1 = optional input absent */
    int n_out;
    int *out;                /* [n_out] value slot indices; -1 = optional output unused */
    int n_attr;
    RtAttr *attrs;           /* [n_attr] */
} RtNode;

typedef struct RtGraph {
    int n_values;            /* number of value slots */
    const char *const *value_names;  /* [n_values] for messages; may be NULL */
    const RtTensor *const *consts;   /* [n_values]: constant data for a slot, or NULL */
    int n_nodes;
    const RtNode *nodes;     /* [n_nodes], topologically ordered */
    int n_inputs;
    const int *inputs;       /* [n_inputs] slots the caller fills */
    int n_outputs;
    const int *outputs;      /* [n_outputs] slots returned */
    int n_declared;          /* subgraphs: inputs [0, n_declared) are the subgraph's own declared
                                inputs (Loop body: iteration_num, cond, carried values; Scan body:
                                states, scan slices; If branch: none), the rest are outer-scope
                                captures (frontend/onnx_subgraph.c); 0 for a model graph */
} RtGraph;

#endif
