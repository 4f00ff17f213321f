/*
 * xml_check.h — a tiny XML well-formedness checker for the tests of the SVG plots (xmllint is
 * not a dependency): elements nest and close, one root, attributes are quoted, text and
 * attribute values use only the predefined entities, nothing but whitespace outside the root.
 * It also counts the <circle> elements whose class starts with "variant" (one per point).
 *
 *   int circles; xml_ok(text, &circles) == 0 when well-formed
 */
#ifndef WAFER_TEST_XML_CHECK_H
#define WAFER_TEST_XML_CHECK_H

#include <ctype.h>
#include <string.h>

typedef struct {
    const char *s;
    size_t i;
    char stack[64][64];
    int depth;
    int circles;        /* <circle> elements whose class attribute starts with "variant" */
} Xml;

static inline int xml_name(Xml *x, char *out) {
    size_t n = 0;
    if (!(isalpha((unsigned char)x->s[x->i]) || x->s[x->i] == '_')) return -1;
    while (x->s[x->i] && (isalnum((unsigned char)x->s[x->i]) || strchr("_-.:", x->s[x->i]))) {
        if (n < 63) out[n++] = x->s[x->i];
        x->i++;
    }
    out[n] = '\0';
    return 0;
}

static inline int xml_text(const char *p, size_t n) {
    for (size_t k = 0; k < n; k++) {
        if (p[k] == '<') return -1;
        if (p[k] == '&') {
            const char *ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
            int ok = 0;
            for (int e = 0; e < 5; e++) ok |= strncmp(p + k, ents[e], strlen(ents[e])) == 0;
            if (!ok) return -1;
        }
    }
    return 0;
}

static inline int xml_check(Xml *x) {
    const char *s = x->s;
    if (strncmp(s, "<?xml", 5) == 0) {
        const char *e = strstr(s, "?>");
        if (!e) return -1;
        x->i = (size_t)(e - s) + 2;
    }
    int seen_root = 0;
    while (s[x->i]) {
        if (s[x->i] != '<') {
            size_t start = x->i;
            while (s[x->i] && s[x->i] != '<') x->i++;
            if (xml_text(s + start, x->i - start)) return -1;
            if (!x->depth) /* only whitespace outside the root */
                for (size_t k = start; k < x->i; k++)
                    if (!isspace((unsigned char)s[k])) return -1;
            continue;
        }
        x->i++;
        char name[64];
        if (s[x->i] == '/') {
            x->i++;
            if (xml_name(x, name) || !x->depth || strcmp(name, x->stack[x->depth - 1]) || s[x->i] != '>') return -1;
            x->depth--;
            x->i++;
            continue;
        }
        if (xml_name(x, name)) return -1;
        if (!x->depth && seen_root) return -1; /* a second root */
        seen_root = 1;
        int variant = 0;
        for (;;) {
            int sp = 0;
            while (isspace((unsigned char)s[x->i])) x->i++, sp = 1;
            if (s[x->i] == '/' && s[x->i + 1] == '>') {
                x->i += 2;
                break;
            }
            if (s[x->i] == '>') {
                x->i++;
                if (x->depth == 64) return -1;
                strcpy(x->stack[x->depth++], name);
                break;
            }
            char attr[64];
            if (!sp || xml_name(x, attr) || s[x->i] != '=' || (s[x->i + 1] != '"' && s[x->i + 1] != '\'')) return -1;
            char q = s[x->i + 1];
            x->i += 2;
            size_t start = x->i;
            while (s[x->i] && s[x->i] != q) x->i++;
            if (!s[x->i] || xml_text(s + start, x->i - start)) return -1;
            if (strcmp(name, "circle") == 0 && strcmp(attr, "class") == 0 && strncmp(s + start, "variant", 7) == 0)
                variant = 1;
            x->i++;
        }
        x->circles += variant;
    }
    return x->depth == 0 && seen_root ? 0 : -1;
}

static inline int xml_ok(const char *s, int *circles) {
    Xml x;
    memset(&x, 0, sizeof x);
    x.s = s;
    int rc = xml_check(&x);
    *circles = x.circles;
    return rc;
}

#endif
