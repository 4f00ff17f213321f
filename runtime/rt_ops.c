/*
 * rt_ops.c — tables generated from ops.def.
 */
#include "rt_ops.h"

#include <string.h>

typedef struct {
    const char *domain;
    const char *name;
    const char *attrs; /* "a,b,c" */
} OpInfo;

static const OpInfo op_info[RT_OP_COUNT] = {
    {"", "?", ""},
#define X(e, dom, name, attrs) {dom, name, attrs},
#include "ops.def"
#undef X
};

const char *rt_op_name(int op) {
    return (op > 0 && op < RT_OP_COUNT) ? op_info[op].name : "?";
}

const char *rt_op_domain(int op) {
    return (op > 0 && op < RT_OP_COUNT) ? op_info[op].domain : "";
}

static int is_default_domain(const char *d) {
    return d == NULL || d[0] == '\0' || strcmp(d, "ai.onnx") == 0;
}

int rt_op_lookup(const char *domain, const char *op_type) {
    for (int op = 1; op < RT_OP_COUNT; op++) {
        const OpInfo *o = &op_info[op];
        int same_domain = is_default_domain(o->domain) ? is_default_domain(domain)
                                                       : (domain && strcmp(domain, o->domain) == 0);
        if (same_domain && strcmp(o->name, op_type) == 0) return op;
    }
    return RT_OP_UNKNOWN;
}

int rt_op_attr_allowed(int op, const char *attr) {
    if (op <= 0 || op >= RT_OP_COUNT) return 0;
    size_t n = strlen(attr);
    const char *p = op_info[op].attrs;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, attr, n) == 0) return 1;
        if (!comma) break;
        p = comma + 1;
    }
    return 0;
}
