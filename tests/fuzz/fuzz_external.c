/*
 * fuzz_external.c — libFuzzer target for the ONNX external-data resolver
 * (frontend/onnx_external.c). Each input is up to three '\n'-separated fields: the
 * `location`, `offset` and `length` entries of one external initializer (a missing field is
 * an absent entry). The target packs a tiny model around them — MatMul x[1,2] . W[2,3], W
 * float external — and loads it with onnx_load_memory from a folder made once per process:
 *
 *   <tmp>/secret.bin          24 bytes of 0x5A, OUTSIDE the model's folder (the watched file)
 *   <tmp>/model/weights.bin   8 junk bytes, then W's 24 bytes
 *   <tmp>/model/sub/w.bin     W's 24 bytes
 *   <tmp>/model/link.bin      symlink to ../secret.bin        (all three: ways out that
 *   <tmp>/model/up            symlink to ..                    the resolver must refuse,
 *   <tmp>/model/hard.bin      hard link to <tmp>/secret.bin    seeded in the corpus)
 *
 * Besides crashes and sanitizer reports, it aborts when a load succeeds with W holding the
 * secret's bytes: the resolver then read a file outside the model's folder.
 * Like the frontend's tests, this target includes the generated onnx.pb-c.h to build the
 * proto; library code outside frontend/ never does.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../frontend/onnx.h"
#include "onnx.pb-c.h"

static char root[64];        /* <tmp> */
static char model_dir[96];   /* <tmp>/model */
static const float W_VALUES[6] = {1, 2, 3, -4, 5.5f, 6};

static void put(const char *dir, const char *name, const void *data, size_t len) {
    char p[160];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(data, 1, len, f) != len) abort();
    fclose(f);
}

static void folder_remove(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (root[0] && system(cmd) != 0) fprintf(stderr, "fuzz_external: could not remove %s\n", root);
}

static void folder_make(void) {
    strcpy(root, "/tmp/wafer_fuzz_ext_XXXXXX");
    if (!mkdtemp(root)) abort();
    atexit(folder_remove);
    snprintf(model_dir, sizeof model_dir, "%s/model", root);
    char sub[128];
    snprintf(sub, sizeof sub, "%s/sub", model_dir);
    if (mkdir(model_dir, 0700) != 0 || mkdir(sub, 0700) != 0) abort();
    uint8_t secret[sizeof W_VALUES];
    memset(secret, 0x5A, sizeof secret);
    put(root, "secret.bin", secret, sizeof secret);
    uint8_t bin[8 + sizeof W_VALUES];
    memset(bin, 0xAB, 8);
    memcpy(bin + 8, W_VALUES, sizeof W_VALUES);
    put(model_dir, "weights.bin", bin, sizeof bin);
    put(sub, "w.bin", W_VALUES, sizeof W_VALUES);
    char p[160], q[160];
    snprintf(p, sizeof p, "%s/link.bin", model_dir);
    snprintf(q, sizeof q, "%s/up", model_dir);
    if (symlink("../secret.bin", p) != 0 || symlink("..", q) != 0) abort();
    snprintf(p, sizeof p, "%s/secret.bin", root);
    snprintf(q, sizeof q, "%s/hard.bin", model_dir);
    if (link(p, q) != 0) abort();
}

/* Splits data into at most 3 NUL-terminated fields at '\n'; returns how many. */
static int fields_split(const uint8_t *data, size_t size, char *buf, char *field[3]) {
    memcpy(buf, data, size);
    buf[size] = '\0';
    int n = 0;
    char *p = buf;
    while (n < 3) {
        field[n++] = p;
        char *nl = memchr(p, '\n', (size_t)(buf + size - p));
        if (!nl) break;
        *nl = '\0';
        p = nl + 1;
    }
    return n;
}

static Onnx__ValueInfoProto *value_f32(Onnx__ValueInfoProto *v, Onnx__TypeProto *tp,
                                       Onnx__TypeProto__Tensor *tt, char *name) {
    onnx__value_info_proto__init(v);
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = 1;
    tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    v->name = name;
    v->type = tp;
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!root[0]) folder_make();
    if (size > 4096) return 0;
    char *buf = malloc(size + 1);
    if (!buf) abort();
    char *field[3];
    int n_fields = fields_split(data, size, buf, field);

    /* the external initializer W[2,3] */
    static char k_location[] = "location", k_offset[] = "offset", k_length[] = "length";
    char *keys[3] = {k_location, k_offset, k_length};
    Onnx__StringStringEntryProto entries[3], *entry_ptrs[3];
    Onnx__TensorProto w;
    onnx__tensor_proto__init(&w);
    static char s_w[] = "W", s_x[] = "x", s_y[] = "y", s_mm[] = "mm", s_matmul[] = "MatMul",
                s_g[] = "g", s_empty[] = "";
    int64_t dims[2] = {2, 3};
    w.name = s_w;
    w.has_data_type = 1;
    w.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    w.n_dims = 2;
    w.dims = dims;
    w.has_data_location = 1;
    w.data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    for (int i = 0; i < n_fields; i++) {
        onnx__string_string_entry_proto__init(&entries[i]);
        entries[i].key = keys[i];
        entries[i].value = field[i];
        entry_ptrs[i] = &entries[i];
    }
    w.external_data = entry_ptrs;
    w.n_external_data = (size_t)n_fields;

    /* y = MatMul(x, W) */
    char *node_in[2] = {s_x, s_w}, *node_out[1] = {s_y};
    Onnx__NodeProto mm;
    onnx__node_proto__init(&mm);
    mm.name = s_mm;
    mm.op_type = s_matmul;
    mm.input = node_in;
    mm.n_input = 2;
    mm.output = node_out;
    mm.n_output = 1;

    Onnx__ValueInfoProto vx, vy;
    Onnx__TypeProto tx, ty;
    Onnx__TypeProto__Tensor ttx, tty;
    Onnx__ValueInfoProto *ins[1] = {value_f32(&vx, &tx, &ttx, s_x)};
    Onnx__ValueInfoProto *outs[1] = {value_f32(&vy, &ty, &tty, s_y)};
    Onnx__NodeProto *nodes[1] = {&mm};
    Onnx__TensorProto *inits[1] = {&w};
    Onnx__GraphProto gp;
    onnx__graph_proto__init(&gp);
    gp.name = s_g;
    gp.node = nodes;
    gp.n_node = 1;
    gp.initializer = inits;
    gp.n_initializer = 1;
    gp.input = ins;
    gp.n_input = 1;
    gp.output = outs;
    gp.n_output = 1;

    Onnx__OperatorSetIdProto os;
    onnx__operator_set_id_proto__init(&os);
    os.domain = s_empty;
    os.has_version = 1;
    os.version = 17;
    Onnx__OperatorSetIdProto *opsets[1] = {&os};
    Onnx__ModelProto m;
    onnx__model_proto__init(&m);
    m.has_ir_version = 1;
    m.ir_version = 8;
    m.opset_import = opsets;
    m.n_opset_import = 1;
    m.graph = &gp;

    size_t len = onnx__model_proto__get_packed_size(&m);
    uint8_t *packed = malloc(len);
    if (!packed) abort();
    onnx__model_proto__pack(&m, packed);
    free(buf);

    RtError err;
    memset(&err, 0, sizeof err);
    IrGraph *g = onnx_load_memory(packed, len, model_dir, "model/model.onnx", NULL, &err);
    free(packed);
    if (!g) return 0;
    if (ir_verify(g, &err) != RT_OK) {
        fprintf(stderr, "external-data model loaded but fails ir_verify: %s\n", err.msg);
        abort();
    }
    int wi = ir_value_find(g, "W");
    const RtTensor *wt = wi >= 0 ? g->values[wi].konst : NULL;
    if (!wt || !wt->data) {
        fprintf(stderr, "external-data model loaded without W's data\n");
        abort();
    }
    static const uint8_t secret[sizeof W_VALUES] = {
        0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A,
        0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A, 0x5A};
    if (memcmp(wt->data, secret, sizeof secret) == 0) {
        fprintf(stderr, "external data read from outside the model's folder (%s)\n", root);
        abort();
    }
    ir_graph_free(g);
    return 0;
}
