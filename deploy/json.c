/*
 * json.c — a small JSON reader for the deployment files (the variant registry): text in,
 * a tree of JsonValue out, every value remembering the line it started on so that errors can
 * name it ("registry.json:12: ...").
 *
 * Recursive descent over RFC 8259: objects, arrays, strings (escapes, \uXXXX to UTF-8,
 * surrogate pairs joined), numbers (strtod after checking the grammar), true/false/null.
 * Nesting is capped (DEPLOY_JSON_MAX_DEPTH) so a hostile file cannot exhaust the stack.
 * Everything is malloc'd and freed by deploy_json_free.
 */
#include <stdlib.h>
#include <string.h>

#include "deploy.h"

#define DEPLOY_JSON_MAX_DEPTH 64

typedef struct {
    const char *s;      /* borrowed: the text */
    size_t i;           /* read position */
    int line;           /* 1-based line of s[i] */
    const char *path;   /* borrowed: for messages */
    RtError *err;
} JsonReader;

static int jr_fail(JsonReader *r, const char *what) {
    return rt_error_set(r->err, "%s:%d: %s", r->path, r->line, what);
}

static void jr_space(JsonReader *r) {
    for (;;) {
        char c = r->s[r->i];
        if (c == '\n') r->line++;
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return;
        r->i++;
    }
}

static int jr_value(JsonReader *r, JsonValue *v, int depth);

static void utf8_put(char *out, size_t *n, unsigned cp) {
    if (cp < 0x80) {
        out[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*n)++] = (char)(0xC0 | (cp >> 6));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out[(*n)++] = (char)(0xE0 | (cp >> 12));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        out[(*n)++] = (char)(0xF0 | (cp >> 18));
        out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    }
}

static int hex4(const char *p, unsigned *cp) {
    *cp = 0;
    for (int k = 0; k < 4; k++) {
        char c = p[k];
        unsigned d = (c >= '0' && c <= '9') ? (unsigned)(c - '0')
                     : (c >= 'a' && c <= 'f') ? (unsigned)(c - 'a' + 10)
                     : (c >= 'A' && c <= 'F') ? (unsigned)(c - 'A' + 10) : 16u;
        if (d > 15) return -1;
        *cp = *cp * 16 + d;
    }
    return 0;
}

/* r->s[r->i] is the opening quote. The decoded text is never longer than the escaped. */
static int jr_string(JsonReader *r, char **out) {
    size_t start = ++r->i, end = start;
    while (r->s[end] && r->s[end] != '"') end += r->s[end] == '\\' && r->s[end + 1] ? 2 : 1;
    if (!r->s[end]) return jr_fail(r, "unterminated string");
    char *buf = malloc(end - start + 1);
    if (!buf) return jr_fail(r, "out of memory");
    size_t n = 0;
    for (size_t i = start; i < end; i++) {
        unsigned char c = (unsigned char)r->s[i];
        if (c < 0x20) return free(buf), jr_fail(r, "control character inside a string");
        if (c != '\\') {
            buf[n++] = (char)c;
            continue;
        }
        char e = r->s[++i];
        const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
        const char *hit = e ? strchr(from, e) : NULL;
        if (hit) {
            buf[n++] = to[hit - from];
        } else if (e == 'u') {
            unsigned cp, lo;
            if (i + 4 >= end || hex4(r->s + i + 1, &cp) != 0) return free(buf), jr_fail(r, "bad \\u escape");
            i += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && r->s[i + 1] == '\\' && r->s[i + 2] == 'u' &&
                hex4(r->s + i + 3, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            }
            utf8_put(buf, &n, cp);
        } else {
            return free(buf), jr_fail(r, "bad escape in a string");
        }
    }
    buf[n] = '\0';
    r->i = end + 1;
    *out = buf;
    return RT_OK;
}

static int jr_number(JsonReader *r, JsonValue *v) {
    const char *p = r->s + r->i, *q = p;
    if (*q == '-') q++;
    if (*q == '0') {
        q++;
    } else if (*q >= '1' && *q <= '9') {
        while (*q >= '0' && *q <= '9') q++;
    } else {
        return jr_fail(r, "unexpected character (not a JSON value)");
    }
    if (*q == '.') {
        if (!(q[1] >= '0' && q[1] <= '9')) return jr_fail(r, "bad number");
        for (q++; *q >= '0' && *q <= '9'; q++) {}
    }
    if (*q == 'e' || *q == 'E') {
        q++;
        if (*q == '+' || *q == '-') q++;
        if (!(*q >= '0' && *q <= '9')) return jr_fail(r, "bad number");
        while (*q >= '0' && *q <= '9') q++;
    }
    v->kind = JSON_NUM;
    v->num = strtod(p, NULL);
    r->i += (size_t)(q - p);
    return RT_OK;
}

/* Appends a zeroed slot to v's items (and keys for objects). */
static JsonValue *jr_push(JsonValue *v, char *key) {
    JsonValue *items = realloc(v->items, (size_t)(v->n + 1) * sizeof *items);
    if (!items) return NULL;
    v->items = items;
    if (v->kind == JSON_OBJ) {
        char **keys = realloc(v->keys, (size_t)(v->n + 1) * sizeof *keys);
        if (!keys) return NULL;
        v->keys = keys;
        keys[v->n] = key;
    }
    memset(&items[v->n], 0, sizeof items[v->n]);
    return &items[v->n++];
}

static int jr_container(JsonReader *r, JsonValue *v, int depth) {
    int obj = r->s[r->i] == '{';
    char close = obj ? '}' : ']';
    v->kind = obj ? JSON_OBJ : JSON_ARR;
    r->i++;
    jr_space(r);
    if (r->s[r->i] == close) return r->i++, RT_OK;
    for (;;) {
        char *key = NULL;
        jr_space(r);
        if (obj) {
            if (r->s[r->i] != '"') return jr_fail(r, "expected a \"key\" in an object");
            if (jr_string(r, &key) != RT_OK) return RT_ERR;
            jr_space(r);
            if (r->s[r->i] != ':') return free(key), jr_fail(r, "expected ':' after a key");
            r->i++;
        }
        JsonValue *item = jr_push(v, key);
        if (!item) return free(key), jr_fail(r, "out of memory");
        if (jr_value(r, item, depth + 1) != RT_OK) return RT_ERR;
        jr_space(r);
        if (r->s[r->i] == ',') {
            r->i++;
            continue;
        }
        if (r->s[r->i] == close) return r->i++, RT_OK;
        return jr_fail(r, obj ? "expected ',' or '}' in an object" : "expected ',' or ']' in an array");
    }
}

static int jr_value(JsonReader *r, JsonValue *v, int depth) {
    if (depth > DEPLOY_JSON_MAX_DEPTH) return jr_fail(r, "nesting too deep");
    jr_space(r);
    v->line = r->line;
    char c = r->s[r->i];
    if (c == '{' || c == '[') return jr_container(r, v, depth);
    if (c == '"') return v->kind = JSON_STR, jr_string(r, &v->str);
    static const struct { const char *word; JsonKind kind; int b; } words[] = {
        {"true", JSON_BOOL, 1}, {"false", JSON_BOOL, 0}, {"null", JSON_NULL, 0}};
    for (size_t k = 0; k < sizeof words / sizeof words[0]; k++) {
        size_t n = strlen(words[k].word);
        if (strncmp(r->s + r->i, words[k].word, n) == 0) {
            v->kind = words[k].kind;
            v->b = words[k].b;
            r->i += n;
            return RT_OK;
        }
    }
    if (!c) return jr_fail(r, "unexpected end of the file");
    return jr_number(r, v);
}

int deploy_json_parse(const char *text, const char *path, JsonValue *out, RtError *err) {
    JsonReader r = {text, 0, 1, path, err};
    memset(out, 0, sizeof *out);
    if (jr_value(&r, out, 0) != RT_OK) {
        deploy_json_free(out);
        return RT_ERR;
    }
    jr_space(&r);
    if (r.s[r.i]) {
        deploy_json_free(out);
        return jr_fail(&r, "text after the JSON value");
    }
    return RT_OK;
}

void deploy_json_free(JsonValue *v) {
    if (!v) return;
    for (int k = 0; k < v->n; k++) {
        deploy_json_free(&v->items[k]);
        if (v->keys) free(v->keys[k]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    memset(v, 0, sizeof *v);
}

const JsonValue *deploy_json_get(const JsonValue *obj, const char *key) {
    if (!obj || obj->kind != JSON_OBJ) return NULL;
    for (int k = 0; k < obj->n; k++)
        if (strcmp(obj->keys[k], key) == 0) return &obj->items[k];
    return NULL;
}
