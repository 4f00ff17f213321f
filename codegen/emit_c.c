/*
 * emit_c.c — the driver of emit-c: an IR graph with static shapes -> NAME.c and NAME.h.
 *
 *   shapes   the runtime's planner in shape mode (rt_plan_build on the lowered graph) gives
 *            every value's dtype and shape, the same numbers `wafer run` computes
 *   16-bit   a float16 / bfloat16 model is emitted from its float32 view (emit_half.c):
 *            planned again, each 16-bit value rounded after its node, I/O as bit patterns
 *   plan     emit_plan.c: low-bit conv weights dequantized as read (no float copy), locations (constants, caller inputs/outputs, arena offsets)
 *   control  emit_control.c: each If flattened into its two branches and a merge, emitted
 *            as if / else on the condition read at run time; each Scan's body emitted in a
 *            C loop over its static length, states in the arena (Loop refused)
 *   nodes    emit_ops.c: one kernel call per node, in graph order, into NAME_run's body
 *   text     header comment (source hash, wafer version, options), includes, the kernel
 *            templates the model uses (in table order: helpers first), the weights
 *            (emit_weights.c), per-node constants, then NAME_run
 *   files    DIR/NAME.c and DIR/NAME.h (and DIR/NAME_weights.c with split weights), each
 *            written atomically under a temporary name, then all renamed: a failure leaves
 *            none of this call's files behind and the files it replaced back in place
 *
 * The emitted C is C99 with only <stdint.h>, <stddef.h>, <string.h> and <math.h>; every
 * float literal is a hex literal and nothing depends on the host, so the same graph and
 * options give byte-identical text.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../io/atomic_file.h"
#include "emit_internal.h"
#include "emit_templates.h"

int emit_c_prefix_ok(const char *s) {
    if (!s || !*s || strlen(s) > 64 || (*s >= '0' && *s <= '9')) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_')) return 0;
    return 1;
}

int ec_fail(EcCtx *c, int k, int status, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const RtNode *n = &c->g->nodes[k];
    rt_error_set(c->err, "node '%s' (%s): %s", n->name ? n->name : "", n->op_type ? n->op_type : "?", msg);
    return status;
}

/* Helpers each template calls: using a template uses these too. */
static const struct {
    const char *name, *needs;
} tpl_deps[] = {
    {"k_conv_f32", "b2_conv_plane"}, {"k_conv3_f32", "b0_pool3 b2_act"}, {"k_conv_dqw_f32", "b0_dq b2_conv_plane"},
    {"b2_conv_plane", "b0_common b1_taps b2_act"}, {"b1_pool_count", "b0_common"},
    {"k_linear_dqw_f32", "b0_dq b2_act"}, {"k_linear_f32", "b2_act"}, {"k_linear_nbits", "b2_act"},
    {"k_maxpool_f32", "b0_common"}, {"k_avgpool_f32", "b1_pool_count"},     {"k_maxpool_i8", "b0_common"}, {"k_qconv_i8", "b0_common b0_requant b1_taps"},
    {"k_qlinear_i8", "b0_requant"},     {"k_qadd_i8", "b0_bcast b0_requant"}, {"k_qmul_i8", "b0_bcast b0_requant"},
    {"k_qrequant_i8", "b0_requant"}, {"k_qavgpool_i8", "b0_requant b1_pool_count"},   {"k_qgap_i8", "b0_requant"},
    {"b1_sigmoid", "b0_exp"}, {"k_quantize_i8", "b0_quant"}, {"k_quantize_u8", "b0_quant"}, {"k_layernorm_f32", "b0_rsqrt"},           {"k_softmax_f32", "b0_exp"},
};

void ec_tpl_use(EcCtx *c, const char *name) {
    for (int i = 0; i < c->n_tpl; i++) {
        if (strcmp(emit_c_templates[i].name, name) != 0) continue;
        if (c->tpl_used[i]) return;
        c->tpl_used[i] = 1;
        for (size_t d = 0; d < sizeof tpl_deps / sizeof tpl_deps[0]; d++) {
            if (strcmp(tpl_deps[d].name, name) != 0) continue;
            char buf[128];
            snprintf(buf, sizeof buf, "%s", tpl_deps[d].needs);
            for (char *t = strtok(buf, " "); t; t = strtok(NULL, " ")) ec_tpl_use(c, t);
        }
        /* without libm, tanh and erf are built on the own exp */
        if (c->o->no_libm && (strcmp(name, "b1_tanh") == 0 || strcmp(name, "b1_erf") == 0)) ec_tpl_use(c, "b0_exp");
        return;
    }
    c->tpl_missing = name;
}

const char *ec_ptr(EcCtx *c, int v, int is_const, char *buf, size_t n) {
    const EcLoc *l = &c->loc[v];
    const char *ct = ec_ctype(c->val[v].dtype);
    if (!ct) ct = "unsigned char";
    switch (l->kind) {
    case EC_LOC_CONST: {
        int r = v;
        while (c->loc[r].alias >= 0) r = c->loc[r].alias;
        c->uses_const[r] = 1;
        ec_const_name(c, r, buf, n);
        break;
    }
    case EC_LOC_INPUT: snprintf(buf, n, "((const %s *)inputs[%d])", ct, l->index); break;
    case EC_LOC_OUTPUT: snprintf(buf, n, "((%s%s *)outputs[%d])", is_const ? "const " : "", ct, l->index); break;
    case EC_LOC_ARENA: snprintf(buf, n, "((%s%s *)(A + %lld))", is_const ? "const " : "", ct, (long long)l->offset); break;
    default: snprintf(buf, n, "NULL"); break;
    }
    return buf;
}

/* Every value's dtype and shape from the runtime's planner in shape mode. */
static int shapes_get(const IrGraph *g, IrLowered **low, RtPlan *plan, RtError *err) {
    RtTensor *ins = calloc((size_t)g->n_inputs + 1, sizeof *ins);
    if (!ins) return rt_error_set(err, "out of memory");
    for (int i = 0; i < g->n_inputs; i++) {
        const IrValue *v = &g->values[g->inputs[i]];
        if (v->rank < 0) {
            free(ins);
            return rt_error_set(err, "input '%s' has no known shape; bind it with --shape", v->name);
        }
        ins[i].dtype = v->dtype;
        ins[i].rank = v->rank;
        for (int d = 0; d < v->rank; d++) {
            if (v->dims[d].value < 0) {
                free(ins);
                return rt_error_set(err, "input '%s' has a dynamic dimension %d; bind it with --shape", v->name, d);
            }
            ins[i].dims[d] = v->dims[d].value;
        }
    }
    *low = ir_lower(g, err);
    int r = *low ? rt_plan_build(ir_lowered_graph(*low), ins, plan, err) : RT_ERR;
    free(ins);
    if (r == RT_SHAPE_UNKNOWN) {
        char what[sizeof err->msg];
        snprintf(what, sizeof what, "%s", err->msg[0] ? err->msg : "some shape depends on input data");
        err->msg[0] = '\0'; /* rt_error_set keeps a first message */
        return rt_error_set(err, "%s; emit-c needs static shapes: bind the inputs with --shape, and give inputs "
                            "that set shapes (axes, sizes, k) their values with --freeze-input NAME=FILE.npy", what);
    }
    return r;
}

/* A string fit for a C comment (no comment end, no trigraphs, ASCII only). */
static void comment_str(TextBuf *b, const char *s) {
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        int bad = ch < 32 || ch > 126 || (ch == '*' && s[1] == '/') || ch == '?' || ch == '\\';
        text_buf_printf(b, "%c", bad ? '_' : (char)ch);
    }
}

static void header_write(EcCtx *c, TextBuf *h) {
    const IrGraph *g = c->g;
    const char *P = c->o->prefix;
    char shape[256];
    text_buf_printf(h, "/*\n * %s.h - generated by wafer %s (wafer emit-c); do not edit.\n", P, c->o->version);
    text_buf_printf(h, " * source model hash: ");
    comment_str(h, c->o->source_hash);
    text_buf_printf(h, "\n * options: ");
    comment_str(h, c->o->options);
    text_buf_printf(h, "\n *\n * Usage: inputs[i] and outputs[i] point at %s_INPUT_i_SIZE / %s_OUTPUT_i_SIZE\n"
                       " * elements of the dtypes below; arena at %s_ARENA_BYTES bytes aligned to\n"
                       " * %s_ARENA_ALIGN (e.g. a static array of that many uint32_t words / 4, or of a union).\n"
                       " * %s_run returns 0, or 1 when a value read at run time is outside what its op\n"
                       " * takes: an index (Gather, GatherElements, ScatterND...), an integer Div/Mod\n"
                       " * divisor of 0, a CumSum axis, a loss target, a Dropout asked to train. No\n"
                       " * allocation, no stdio; one call at a time per arena.\n */\n",
                    P, P, P, P, P);
    text_buf_printf(h, "#ifndef %s_H_INCLUDED\n#define %s_H_INCLUDED\n\n", P, P);
    text_buf_printf(h, "#define %s_ARENA_BYTES %lld\n#define %s_ARENA_ALIGN %d\n", P, (long long)c->arena_bytes, P, EC_ALIGN);
    text_buf_printf(h, "#define %s_NUM_INPUTS %d\n#define %s_NUM_OUTPUTS %d\n", P, g->n_inputs, P, g->n_outputs);
    for (int io = 0; io < 2; io++) {
        int cnt = io ? g->n_outputs : g->n_inputs;
        for (int i = 0; i < cnt; i++) {
            int v = io ? g->outputs[i] : g->inputs[i];
            const RtTensor *t = &c->val[v];
            text_buf_printf(h, "\n/* %s %d: \"", io ? "output" : "input", i);
            comment_str(h, g->values[v].name);
            int half = c->half ? c->half[v] : 0;
            text_buf_printf(h, "\", shape %s, %s%s */\n", rt_shape_str(t->rank, t->dims, shape, sizeof shape),
                            rt_dtype_name(half ? (RtDtype)half : t->dtype), half ? " (uint16_t bit patterns)" : "");
            text_buf_printf(h, "#define %s_%s_%d_SIZE %lld\n", P, io ? "OUTPUT" : "INPUT", i, (long long)rt_numel(t));
            text_buf_printf(h, "#define %s_%s_%d_BYTES %lld\n", P, io ? "OUTPUT" : "INPUT", i,
                            (long long)ec_value_io_bytes(c, v));
        }
    }
    text_buf_printf(h, "\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
    text_buf_printf(h, "int %s_run(const void *const inputs[], void *const outputs[], void *arena);\n", P);
    text_buf_printf(h, "\n#ifdef __cplusplus\n}\n#endif\n\n#endif\n");
}

/* NAME_weights.c's head: what it is, and the includes its arrays need. */
static void weights_head(EcCtx *c, TextBuf *w) {
    text_buf_printf(w, "/*\n * %s_weights.c - generated by wafer %s (wafer emit-c); do not edit.\n", c->o->prefix,
                    c->o->version);
    text_buf_printf(w, " * The weights of %s.c as const arrays (flash); compile and link it with %s.c.\n */\n",
                    c->o->prefix, c->o->prefix);
    text_buf_printf(w, "#include <math.h>\n#include <stdint.h>\n\n");
}

static int source_write(EcCtx *c, TextBuf *s, TextBuf *w, EmitCStats *st) {
    const char *P = c->o->prefix;
    text_buf_printf(s, "/*\n * %s.c - generated by wafer %s (wafer emit-c); do not edit.\n", P, c->o->version);
    text_buf_printf(s, " * source model hash: ");
    comment_str(s, c->o->source_hash);
    text_buf_printf(s, "\n * options: ");
    comment_str(s, c->o->options);
    text_buf_printf(s, "\n");
    text_buf_printf(s, " * arena: %lld bytes (lower bound %lld: the most bytes live at one node)\n", (long long)c->arena_bytes,
                    (long long)c->lower_bound);
    text_buf_printf(s, " * kernels:");
    int nk = 0;
    for (int i = 0; i < c->n_tpl; i++)
        if (c->tpl_used[i]) text_buf_printf(s, " %s", emit_c_templates[i].name), nk++;
    text_buf_printf(s, "\n */\n#include <math.h>\n#include <stddef.h>\n#include <stdint.h>\n#include <string.h>\n\n");
    text_buf_printf(s, "#include \"%s.h\"\n\n#define WK_NO_LIBM %d\n#define WK_SIGMOID %d\n#define WK_GELU %d\n#define WK_GELU_TANH %d\n\n",
                    P, c->o->no_libm ? 1 : 0, c->sigmoid, c->gelu, c->gelu_tanh);
    for (int i = 0; i < c->n_tpl; i++)
        if (c->tpl_used[i]) text_buf_printf(s, "%s\n", emit_c_templates[i].text);
    int64_t wbytes = 0;
    if (c->o->split_weights) {
        TextBuf decl = {0};
        weights_head(c, w);
        int r = ec_weights_write(c, w, &decl, &wbytes);
        text_buf_printf(s, "/* ---- weights: in %s_weights.c ---- */\n%s", c->o->prefix, decl.s ? decl.s : "");
        text_buf_free(&decl);
        RT_TRY(r);
    } else {
        text_buf_printf(s, "/* ---- weights ---- */\n");
        RT_TRY(ec_weights_write(c, s, NULL, &wbytes));
    }
    text_buf_printf(s, "\n/* ---- per-node constants ---- */\n%s\n", c->decl.s ? c->decl.s : "");
    text_buf_printf(s, "int %s_run(const void *const inputs[], void *const outputs[], void *arena) {\n", P);
    text_buf_printf(s, "    unsigned char *A = (unsigned char *)arena;\n    (void)A;\n    (void)inputs;\n    (void)outputs;\n");
    text_buf_printf(s, "%s    return 0;\n}\n", c->body.s ? c->body.s : "");
    if (st) {
        st->arena_bytes = c->arena_bytes;
        st->lower_bound = c->lower_bound;
        st->weight_bytes = wbytes;
        st->n_kernels = nk;
    }
    return RT_OK;
}

/* Graph outputs not written in place by their producer (an input, a constant, a value
 * listed twice, a Reshape of an arena value) are copied at the end; 16-bit float outputs
 * are converted (emit_half.c). */
static void outputs_copy(EcCtx *c) {
    for (int i = 0; i < c->g->n_outputs; i++) {
        int v = c->g->outputs[i];
        if (ec_half_output_emit(c, i)) continue;
        if (c->loc[v].kind == EC_LOC_OUTPUT && c->loc[v].index == i && c->loc[v].alias < 0) continue;
        char p[96];
        text_buf_printf(&c->body, "    memcpy(outputs[%d], %s, %lld);\n", i, ec_ptr(c, v, 1, p, sizeof p),
                        (long long)rt_nbytes(&c->val[v]));
    }
}

static int values_check(EcCtx *c) {
    for (int v = 0; v < c->g->n_values; v++) {
        const RtTensor *t = &c->val[v];
        if (c->g->values[v].producer < 0 && !ir_value_is_output(c->g, v)) continue;
        if (rt_numel(t) > INT32_MAX)
            return rt_error_set(c->err, "value '%s' has %lld elements; emit-c's kernels index with int32",
                                c->g->values[v].name, (long long)rt_numel(t));
    }
    return RT_OK;
}

int emit_c_generate(const IrGraph *g, const EmitCOptions *o, TextBuf *c_src, TextBuf *h_src, TextBuf *w_src,
                    EmitCStats *st, RtError *err) {
    if (!emit_c_prefix_ok(o->prefix))
        return rt_error_set(err, "prefix '%s' is not a C identifier of at most 64 characters", o->prefix ? o->prefix : "");
    EcCtx c;
    memset(&c, 0, sizeof c);
    c.g = g, c.o = o, c.err = err;
    while (emit_c_templates[c.n_tpl].name) c.n_tpl++;
    IrLowered *low = NULL;
    RtPlan plan;
    memset(&plan, 0, sizeof plan);
    EcHalf half;
    memset(&half, 0, sizeof half);
    EcFlat flat;
    int r = ec_control_flatten(g, &flat, err); /* If as groups of nodes; Loop, Scan refused */
    if (r == RT_OK && flat.g) c.g = g = flat.g, c.flat = &flat;
    if (r == RT_OK) r = shapes_get(g, &low, &plan, err);
    if (r == RT_OK) r = ec_half_lower(g, plan.value, &half, err);
    if (r == RT_OK && half.any) { /* plan the float32 view; keep the model's plan to check it */
        IrLowered *low16 = low;
        RtPlan plan16 = plan;
        memset(&plan, 0, sizeof plan);
        low = NULL;
        r = shapes_get(&half.g, &low, &plan, err);
        if (r == RT_OK) r = ec_half_check(&half, plan16.value, plan.value, err);
        rt_plan_free(&plan16);
        ir_lowered_free(low16);
        c.g = g = &half.g;
        c.half = half.half;
    }
    if (r == RT_OK) {
        c.val = plan.value;
        c.loc = calloc((size_t)g->n_values + 1, sizeof *c.loc);
        c.uses_const = calloc((size_t)g->n_values + 1, sizeof *c.uses_const);
        c.tpl_used = calloc((size_t)c.n_tpl + 1, 1);
        c.fused_dq = calloc((size_t)g->n_values + 1, sizeof *c.fused_dq);
        c.scratch_bytes = calloc((size_t)g->n_nodes + 1, sizeof *c.scratch_bytes);
        c.scratch_off = calloc((size_t)g->n_nodes + 1, sizeof *c.scratch_off);
        if (!c.loc || !c.uses_const || !c.tpl_used || !c.fused_dq || !c.scratch_bytes || !c.scratch_off)
            r = rt_error_set(err, "out of memory");
    }
    if (r == RT_OK) r = values_check(&c);
    if (r == RT_OK && c.flat) r = ec_control_check(&c, c.flat);
    if (r == RT_OK) ec_fuse_dq(&c);
    if (r == RT_OK) r = ec_plan(&c);
    if (r == RT_OK) ec_half_inputs_emit(&c);
    if (r == RT_OK) r = ec_nodes_emit(&c, 0, g->n_nodes);
    if (r == RT_OK && c.tpl_missing)
        r = rt_error_set(err, "internal error: kernel template '%s' is not built in (rebuild wafer)", c.tpl_missing);
    if (r == RT_OK) outputs_copy(&c);
    if (r == RT_OK && o->split_weights && !w_src) r = rt_error_set(err, "split weights need a text buffer");
    if (r == RT_OK) r = source_write(&c, c_src, w_src, st);
    if (r == RT_OK) header_write(&c, h_src);
    if (r == RT_OK && (c.decl.oom || c.body.oom || c_src->oom || h_src->oom || (w_src && w_src->oom)))
        r = rt_error_set(err, "out of memory");
    text_buf_free(&c.decl);
    text_buf_free(&c.body);
    free(c.loc);
    free(c.uses_const);
    free(c.tpl_used);
    free(c.fused_dq);
    free(c.scratch_bytes);
    free(c.scratch_off);
    rt_plan_free(&plan);
    ir_lowered_free(low);
    ec_half_free(&half);
    ec_control_free(&flat);
    return r;
}

/* Keeps the file at path reachable under bak (a hard link) while a new one is renamed over
 * it, so a failure later in the call can put it back; 1 when a backup was made. Without an
 * old file, or where the file system has no hard links, there is none (0). */
static int emit_backup(const char *path, const char *bak) {
    unlink(bak); /* a stale backup of an interrupted call */
    return link(path, bak) == 0;
}

int emit_c_write(const IrGraph *g, const EmitCOptions *o, const char *dir, EmitCStats *st, RtError *err) {
    TextBuf bufs[3] = {{0}, {0}, {0}}; /* NAME.h, NAME.c, NAME_weights.c */
    int r = emit_c_generate(g, o, &bufs[1], &bufs[0], &bufs[2], st, err);
    static const char *const suffix[3] = {".h", ".c", "_weights.c"};
    int nf = o->split_weights ? 3 : 2, written = 0, renamed = 0, backed[3] = {0, 0, 0};
    char tmp[3][4096], fin[3][4096], bak[3][4096];
    for (int i = 0; i < nf; i++) {
        snprintf(fin[i], sizeof fin[i], "%s/%s%s", dir, o->prefix, suffix[i]);
        snprintf(tmp[i], sizeof tmp[i], "%s/.%s%s.partial", dir, o->prefix, suffix[i]);
        snprintf(bak[i], sizeof bak[i], "%s/.%s%s.previous", dir, o->prefix, suffix[i]);
    }
    /* every file complete under a temporary name first, then the renames: the files reach
     * their names together or not at all. A failure removes what this call wrote and puts
     * back the files it had already replaced (kept as hard links until the last rename). */
    while (r == RT_OK && written < nf) {
        r = io_file_write_atomic(tmp[written], bufs[written].s ? bufs[written].s : "", bufs[written].len, err);
        if (r == RT_OK) written++;
    }
    while (r == RT_OK && renamed < nf) {
        backed[renamed] = emit_backup(fin[renamed], bak[renamed]);
        if (rename(tmp[renamed], fin[renamed]) != 0)
            r = rt_error_set(err, "%s: cannot write (rename failed): %s", fin[renamed], strerror(errno));
        else
            renamed++;
    }
    if (r != RT_OK) {
        for (int i = 0; i < renamed; i++)
            if (!backed[i] || rename(bak[i], fin[i]) != 0) unlink(fin[i]);
        for (int i = renamed; i < written; i++) unlink(tmp[i]);
    }
    for (int i = 0; i < nf; i++)
        if (backed[i]) unlink(bak[i]); /* restored (gone) or no longer needed */
    for (int i = 0; i < 3; i++) text_buf_free(&bufs[i]);
    return r;
}
