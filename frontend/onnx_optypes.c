/*
 * onnx_optypes.c — which ops a model uses, read straight from the proto.
 *
 * The conformance runner decides whether a test case is claimed from this list, so it
 * must not depend on loading succeeding (a model the loader refuses still has ops) nor
 * lose ops the loader folds away (Constant nodes become constant values).
 * Walks the main graph and, depth first, every GRAPH / GRAPHS attribute.
 */
#include "onnx_internal.h"
#include "onnx_prescan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char **names;            /* [n] owned strings while collecting */
    int n, cap;
} OpList;

static int optypes_add(OpList *l, const char *domain, const char *op_type) {
    char key[512];
    int default_domain = !domain || !domain[0] || strcmp(domain, "ai.onnx") == 0;
    snprintf(key, sizeof key, "%s%s%s", default_domain ? "" : domain, default_domain ? "" : ":",
             op_type ? op_type : "");
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->names[i], key) == 0) return 0;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 16;
        char **p = realloc(l->names, sizeof(char *) * (size_t)cap);
        if (!p) return -1;
        l->names = p;
        l->cap = cap;
    }
    l->names[l->n] = malloc(strlen(key) + 1);
    if (!l->names[l->n]) return -1;
    strcpy(l->names[l->n++], key);
    return 0;
}

static int optypes_walk(OpList *l, const Onnx__GraphProto *gp) {
    for (size_t k = 0; k < gp->n_node; k++) {
        const Onnx__NodeProto *np = gp->node[k];
        if (optypes_add(l, np->domain, np->op_type) != 0) return -1;
        for (size_t a = 0; a < np->n_attribute; a++) {
            const Onnx__AttributeProto *ap = np->attribute[a];
            if (ap->g && optypes_walk(l, ap->g) != 0) return -1;
            for (size_t j = 0; j < ap->n_graphs; j++)
                if (optypes_walk(l, ap->graphs[j]) != 0) return -1;
        }
    }
    return 0;
}

/* One block: the pointer array, then the strings. */
static char **optypes_pack(const OpList *l) {
    size_t bytes = sizeof(char *) * (size_t)(l->n + 1);
    for (int i = 0; i < l->n; i++) bytes += strlen(l->names[i]) + 1;
    char **out = malloc(bytes);
    if (!out) return NULL;
    char *p = (char *)(out + l->n + 1);
    for (int i = 0; i < l->n; i++) {
        out[i] = p;
        strcpy(p, l->names[i]);
        p += strlen(p) + 1;
    }
    out[l->n] = NULL;
    return out;
}

int onnx_model_op_types(const char *path, char ***ops, int *n_ops, RtError *err) {
    *ops = NULL;
    *n_ops = 0;
    size_t len = 0;
    unsigned char *buf = onnx_file_read(path, &len, err);
    if (!buf) return RT_ERR;
    char why[200];
    Onnx__ModelProto *mp = (Onnx__ModelProto *)onnx_proto_unpack(&onnx__model_proto__descriptor,
                                                                 buf, len, 0, NULL, why, sizeof why);
    free(buf);
    if (!mp) return rt_error_set(err, "%s: not a valid ONNX model: %s", path, why);
    OpList l = {0};
    int r = (mp->graph && optypes_walk(&l, mp->graph) != 0) ? RT_ERR_NOMEM : RT_OK;
    if (r == RT_OK && !(*ops = optypes_pack(&l))) r = RT_ERR_NOMEM;
    if (r == RT_OK) *n_ops = l.n;
    else rt_error_set(err, "%s: out of memory", path);
    for (int i = 0; i < l.n; i++) free(l.names[i]);
    free(l.names);
    onnx_proto_free(&mp->base);
    return r;
}
