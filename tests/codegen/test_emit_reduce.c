/*
 * test_emit_reduce.c — emit-c's reduce family (codegen/emit_ops_reduce.c) on what the ONNX
 * node conformance cases do not reach: a one-node graph is built in the IR (emitc_oneop.h)
 * with random inputs, emitted, compiled as C99 -pedantic -Werror (gcc, and clang for some),
 * run by the harness, and compared with the runtime's reference kernels on the same graph:
 * integer outputs bit for bit, float within REDUCE_FLOAT_REL_TOL.
 * Covered: every ReduceX over non-contiguous axes, negative axes, keepdims 0, all axes,
 * noop_with_empty_axes, an empty reduced set; integer dtypes (int8 .. uint64, wrapping sums
 * and products, signed/unsigned Max/Min, truncating Mean, integer L2/LogSum through double);
 * float64; the libm-free exp/log/sqrt (--no-libm). ArgMax/ArgMin with ties (select_last_index)
 * over float and integer dtypes; LogSoftmax/Hardmax on inner axes, coerced 2-D (opset 11),
 * float64, --no-libm; BatchNormalization (opset 15, spatial = 0 at opset 7, float64),
 * InstanceNormalization; GroupNormalization at opsets 18 and 21 (float64 stash rounding);
 * MeanVarianceNormalization; LpNormalization p = 1, 2; GlobalMaxPool (float, int8, uint8);
 * GlobalLpPool and LpPool (p = 1, 2, 3; pads, strides, dilations, ceil_mode, SAME_UPPER,
 * 1-D to 3-D); CumSum (exclusive, reverse, int64, an axis given at run time); the two losses
 * (weights, ignore_index, each reduction, int32 / int64 targets, log_prob); RMSNormalization
 * with a broadcast scale; com.microsoft QLinearSoftmax and QLinearReduceMean; refusals.
 */
#include "emitc_oneop.h"

/* Both sides fold the same elements in the same order in double and round once to float;
 * the libm-free exp/log/sqrt are within 1e-14 of libm's. What is left is libm's own last
 * bits and float rounding at the end: well under 1e-6 relative. */
#define REDUCE_FLOAT_REL_TOL 1e-6

/* The suite's graphs at an opset: seed 12345, OP_FILL_WIDE values (integers over their
 * type's whole range so that sums and products wrap). */
static OneOp *red_new(int opset) {
    OneOp *o = op_new_with(12345, OP_FILL_WIDE);
    o->g->opset = opset;
    return o;
}

/* Emits (no_libm as asked: then no libm symbol may be left undefined in the object of
 * model.c), compiles with cc (NULL: gcc) -O2 (under the sanitizer build, WAFER_SANITIZED=1,
 * the emitted C runs under ASan + UBSan too) and runs the graph, and compares every output
 * with the reference kernels: NaN and infinities (empty sets, log 0) exactly, other floats
 * within REDUCE_FLOAT_REL_TOL, integers bit for bit. Frees o. */
static void red_check(OneOp *o, const char *what, int no_libm, const char *cc) {
    OneOpCheck k = {.cc = cc,
                    .cflags = op_sanitized() ? "-O2" OP_ASAN_CFLAGS : "-O2",
                    .no_libm = no_libm,
                    .tol = REDUCE_FLOAT_REL_TOL,
                    .tol_f64 = REDUCE_FLOAT_REL_TOL};
    op_check_opts(o, what, &k);
}

/* ---------------------------------------------------------------- ReduceX */

/* ReduceX nodes ops[0..n_ops) (at most OP_MAX_IO) on one input at opset 18, axes as a
 * constant input (n_axes < 0: no axes input); one emitted program for all of them. */
static void reduce_case(const int *ops, int n_ops, RtDtype dt, int rank, const int64_t *dims, int n_axes,
                        const int64_t *axes, int keepdims, int noop, int no_libm, const char *cc) {
    OneOp *o = red_new(18);
    int positive = ops[0] == RT_OP_REDUCE_LOG_SUM; /* log of a positive sum */
    int in[2] = {op_input_fill(o, "x", dt, rank, dims, positive ? OP_FILL_POSITIVE : OP_FILL_WIDE), -1};
    int64_t na = n_axes > 0 ? n_axes : 0;
    if (n_axes >= 0) in[1] = op_const(o, "axes", RT_I64, 1, &na, axes);
    for (int i = 0; i < n_ops; i++) {
        int k = op_node(o, ops[i], n_axes >= 0 ? 2 : 1, in);
        RtAttr *a = attrs_new(o, k, 2);
        a[0] = attr_int(o, "keepdims", keepdims);
        a[1] = attr_int(o, "noop_with_empty_axes", noop);
    }
    char what[160];
    snprintf(what, sizeof what, "%s axes %d keepdims %d noop %d no_libm %d %s", rt_dtype_name(dt), n_axes, keepdims,
             noop, no_libm, cc ? cc : "gcc");
    red_check(o, what, no_libm, cc);
}

/* The ten kinds in two programs (LogSum alone first: its input is positive). */
static void reduce_all(RtDtype dt, int rank, const int64_t *dims, int n_axes, const int64_t *axes, int keepdims,
                       int noop, int no_libm, const char *cc) {
    static const int first[] = {RT_OP_REDUCE_LOG_SUM, RT_OP_REDUCE_SUM, RT_OP_REDUCE_MEAN};
    static const int rest[] = {RT_OP_REDUCE_MAX, RT_OP_REDUCE_MIN,         RT_OP_REDUCE_PROD,      RT_OP_REDUCE_L1,
                               RT_OP_REDUCE_L2,  RT_OP_REDUCE_LOG_SUM_EXP, RT_OP_REDUCE_SUM_SQUARE};
    reduce_case(first, 3, dt, rank, dims, n_axes, axes, keepdims, noop, no_libm, cc);
    reduce_case(rest, 7, dt, rank, dims, n_axes, axes, keepdims, noop, no_libm, cc);
}

Test(emit_reduce, every_kind_float_noncontiguous_axes) {
    int64_t d[4] = {3, 4, 5, 2}, ax[2] = {0, -2};
    reduce_all(RT_F32, 4, d, 2, ax, 1, 0, 0, NULL);
}

Test(emit_reduce, every_kind_float_middle_axes_no_keepdims_clang) {
    int64_t d[4] = {2, 3, 4, 5}, ax[2] = {2, 1};
    reduce_all(RT_F32, 4, d, 2, ax, 0, 0, 0, "clang");
}

Test(emit_reduce, every_kind_float_no_libm) {
    int64_t d[3] = {4, 1, 6}, ax[1] = {2};
    reduce_all(RT_F32, 3, d, 1, ax, 1, 0, 1, NULL);
}

Test(emit_reduce, all_axes_and_noop_and_empty_set) {
    int64_t d[3] = {2, 3, 4}, e[3] = {2, 0, 4}, ax[1] = {1};
    reduce_all(RT_F32, 3, d, -1, NULL, 0, 0, 0, NULL); /* no axes: all */
    reduce_all(RT_F32, 3, d, 0, NULL, 1, 1, 0, NULL);  /* empty axes, noop */
    reduce_all(RT_F32, 3, e, 1, ax, 1, 0, 0, NULL);    /* reduce a 0-sized axis */
}

Test(emit_reduce, integer_dtypes_exact) {
    static const RtDtype dts[] = {RT_I8, RT_U8, RT_I16, RT_U16, RT_I32, RT_U32, RT_I64, RT_U64};
    int64_t d[3] = {3, 7, 4}, ax[2] = {0, 2};
    /* under the sanitizers (slow compiles) every third dtype: int8, uint16, uint64 */
    size_t step = getenv("WAFER_SANITIZED") ? 3 : 1;
    for (size_t t = 0; t < sizeof dts / sizeof dts[0]; t += step)
        reduce_all(dts[t], 3, d, 2, ax, 1, 0, 0, NULL);
}

Test(emit_reduce, float64_and_integer_empty_set) {
    int64_t d[2] = {5, 6}, e[2] = {3, 0}, ax[1] = {1};
    reduce_all(RT_F64, 2, d, 1, ax, 0, 0, 0, NULL);
    reduce_all(RT_I32, 2, e, 1, ax, 0, 0, 0, NULL);
}

/* ---------------------------------------------------------------- the axis ops */

/* An ArgMax and an ArgMin node (axis, keepdims, select_last_index) on one input of dtype dt
 * whose values repeat (ties decide select_last_index). */
static void arg_case(RtDtype dt, int64_t axis, int keepdims, int last) {
    OneOp *o = red_new(13);
    int64_t d[3] = {3, 5, 4};
    int x = op_input(o, "x", dt, 3, d);
    RtTensor *t = &o->in[0];
    for (int64_t i = 0; i < rt_numel(t); i += 3) /* ties: copy a neighbour's bytes */
        if (i + 4 < rt_numel(t))
            memcpy((char *)t->data + (i + 4) * (int64_t)rt_dtype_size(dt),
                   (char *)t->data + i * (int64_t)rt_dtype_size(dt), rt_dtype_size(dt));
    for (int j = 0; j < 2; j++) {
        int k = op_node(o, j ? RT_OP_ARG_MIN : RT_OP_ARG_MAX, 1, &x);
        RtAttr *a = attrs_new(o, k, 3);
        a[0] = attr_int(o, "axis", axis);
        a[1] = attr_int(o, "keepdims", keepdims);
        a[2] = attr_int(o, "select_last_index", last);
    }
    char what[96];
    snprintf(what, sizeof what, "ArgMax/ArgMin %s axis %lld keepdims %d last %d", rt_dtype_name(dt), (long long)axis,
             keepdims, last);
    red_check(o, what, 0, NULL);
}

Test(emit_reduce, argmax_argmin_dtypes_ties) {
    arg_case(RT_F32, 1, 1, 0);
    arg_case(RT_F64, -1, 0, 1);
    arg_case(RT_I8, 0, 1, 1);
    arg_case(RT_U64, 2, 0, 0);
    arg_case(RT_I32, 1, 0, 1);
}

/* LogSoftmax and Hardmax (and Softmax for the core emitter's sake) on one input. */
static void softmax_case(int opset, RtDtype dt, int64_t axis, int no_libm) {
    OneOp *o = red_new(opset);
    int64_t d[3] = {2, 5, 3};
    int x = op_input(o, "x", dt, 3, d);
    int ops[2] = {RT_OP_LOG_SOFTMAX, RT_OP_HARDMAX};
    for (int j = 0; j < 2; j++) {
        int k = op_node(o, ops[j], 1, &x);
        RtAttr *a = attrs_new(o, k, 1);
        a[0] = attr_int(o, "axis", axis);
    }
    char what[96];
    snprintf(what, sizeof what, "LogSoftmax/Hardmax opset %d %s axis %lld no_libm %d", opset, rt_dtype_name(dt),
             (long long)axis, no_libm);
    red_check(o, what, no_libm, NULL);
}

Test(emit_reduce, log_softmax_hardmax_axes_opsets) {
    softmax_case(13, RT_F32, 1, 0);  /* inner 3: the double path */
    softmax_case(13, RT_F32, -1, 1); /* float rows, libm-free */
    softmax_case(11, RT_F32, 1, 0);  /* coerced to 2-D: rows of 15 */
    softmax_case(13, RT_F64, 0, 1);
}

/* BatchNormalization (inference) and InstanceNormalization; positive variances. */
Test(emit_reduce, batch_and_instance_norm) {
    for (int variant = 0; variant < 3; variant++) {
        /* 0: opset 15 float32; 1: opset 7 spatial = 0 (per activation); 2: float64, no libm */
        OneOp *o = red_new(variant == 1 ? 7 : 15);
        RtDtype dt = variant == 2 ? RT_F64 : RT_F32;
        int64_t d[4] = {2, 3, 4, 5}, cd[1] = {3}, ad[3] = {3, 4, 5};
        int per_act = variant == 1;
        int in[5] = {op_input(o, "x", dt, 4, d), op_input(o, "scale", dt, per_act ? 3 : 1, per_act ? ad : cd),
                     op_input(o, "b", dt, per_act ? 3 : 1, per_act ? ad : cd),
                     op_input(o, "mean", dt, per_act ? 3 : 1, per_act ? ad : cd),
                     op_input_fill(o, "var", dt, per_act ? 3 : 1, per_act ? ad : cd, OP_FILL_POSITIVE)};
        int k = op_node(o, RT_OP_BATCH_NORMALIZATION, 5, in);
        RtAttr *a = attrs_new(o, k, per_act ? 2 : 1);
        a[0] = attr_float(o, "epsilon", 1e-3f);
        if (per_act) a[1] = attr_int(o, "spatial", 0);
        if (!per_act) {
            k = op_node(o, RT_OP_INSTANCE_NORMALIZATION, 3, in);
            a = attrs_new(o, k, 1);
            a[0] = attr_float(o, "epsilon", 0.25f);
        }
        char what[64];
        snprintf(what, sizeof what, "BatchNormalization/InstanceNormalization variant %d", variant);
        red_check(o, what, variant == 2, NULL);
    }
}

/* GroupNormalization at opset 18 (scale per group) and 21 (per channel; float64 with the
 * default float stash rounds the normalized value), MeanVarianceNormalization with its
 * default and other axes, LpNormalization p = 1 and 2. */
Test(emit_reduce, group_mvn_lp_norm) {
    for (int opset = 18; opset <= 21; opset += 3)
        for (int f64 = 0; f64 < 2; f64++) {
            OneOp *o = red_new(opset);
            RtDtype dt = f64 ? RT_F64 : RT_F32;
            int64_t d[4] = {2, 6, 3, 2}, pd[1] = {opset == 18 ? 3 : 6};
            int in[3] = {op_input(o, "x", dt, 4, d), op_input(o, "scale", dt, 1, pd),
                         op_input(o, "b", dt, 1, pd)};
            int k = op_node(o, RT_OP_GROUP_NORMALIZATION, 3, in);
            RtAttr *a = attrs_new(o, k, 2);
            a[0] = attr_int(o, "num_groups", 3);
            a[1] = attr_float(o, "epsilon", 1e-2f);
            k = op_node(o, RT_OP_MEAN_VARIANCE_NORMALIZATION, 1, in);
            if (f64) {
                a = attrs_new(o, k, 1);
                a[0] = attr_ints(o, "axes", 2, (int64_t[]){1, -1});
            }
            for (int p = 1; p <= 2; p++) {
                k = op_node(o, RT_OP_LP_NORMALIZATION, 1, in);
                a = attrs_new(o, k, 2);
                a[0] = attr_int(o, "p", p);
                a[1] = attr_int(o, "axis", p == 1 ? 1 : -1);
            }
            char what[80];
            snprintf(what, sizeof what, "GroupNorm/MVN/LpNorm opset %d %s", opset, rt_dtype_name(dt));
            red_check(o, what, 0, NULL);
        }
}

/* GlobalMaxPool (float32, int8, uint8) and GlobalLpPool (p = 1, 2, 3). */
Test(emit_reduce, global_max_and_lp_pool) {
    static const RtDtype dts[3] = {RT_F32, RT_I8, RT_U8};
    for (int t = 0; t < 3; t++) {
        OneOp *o = red_new(13);
        int64_t d[4] = {2, 3, 5, 4};
        int x = op_input(o, "x", dts[t], 4, d);
        op_node(o, RT_OP_GLOBAL_MAX_POOL, 1, &x);
        for (int p = 1; p <= 3 && dts[t] == RT_F32; p++) {
            int k = op_node(o, RT_OP_GLOBAL_LP_POOL, 1, &x);
            RtAttr *a = attrs_new(o, k, 1);
            a[0] = attr_int(o, "p", p);
        }
        red_check(o, rt_dtype_name(dts[t]), 0, NULL);
    }
}

/* CumSum: float and wrapping int64, exclusive / reverse, a constant axis and one given at
 * run time (an input), which the C reads. */
Test(emit_reduce, cumsum_modes_and_runtime_axis) {
    for (int t = 0; t < 2; t++) {
        OneOp *o = red_new(14);
        RtDtype dt = t ? RT_I64 : RT_F32;
        int64_t d[3] = {3, 4, 5}, one[1] = {1}, ax = -2, ax1 = 2;
        int32_t axr = 0;
        int in[2] = {op_input(o, "x", dt, 3, d), op_const(o, "axis", RT_I64, 1, one, &ax)};
        int inr[2] = {in[0], op_input_data(o, "axis_in", RT_I32, 1, one, &axr)};
        int in2[2] = {in[0], op_const(o, "axis2", RT_I64, 1, one, &ax1)};
        for (int m = 0; m < 4; m++) {
            int k = op_node(o, RT_OP_CUMSUM, 2, m == 3 ? inr : m == 2 ? in2 : in);
            RtAttr *a = attrs_new(o, k, 2);
            a[0] = attr_int(o, "exclusive", m & 1);
            a[1] = attr_int(o, "reverse", m >= 1);
        }
        red_check(o, t ? "CumSum int64" : "CumSum float", 0, NULL);
    }
}

/* CumProd (opset 26): the same modes as CumSum, float and wrapping int64, against the
 * runtime's kernel. */
Test(emit_reduce, cumprod_modes_and_runtime_axis) {
    for (int t = 0; t < 2; t++) {
        OneOp *o = red_new(26);
        RtDtype dt = t ? RT_I64 : RT_F32;
        int64_t d[3] = {3, 4, 5}, one[1] = {1}, ax = -2, ax1 = 2;
        int32_t axr = 0;
        int in[2] = {op_input(o, "x", dt, 3, d), op_const(o, "axis", RT_I64, 1, one, &ax)};
        int inr[2] = {in[0], op_input_data(o, "axis_in", RT_I32, 1, one, &axr)};
        int in2[2] = {in[0], op_const(o, "axis2", RT_I64, 1, one, &ax1)};
        for (int m = 0; m < 4; m++) {
            int k = op_node(o, RT_OP_CUMPROD, 2, m == 3 ? inr : m == 2 ? in2 : in);
            RtAttr *a = attrs_new(o, k, 2);
            a[0] = attr_int(o, "exclusive", m & 1);
            a[1] = attr_int(o, "reverse", m >= 1);
        }
        red_check(o, t ? "CumProd int64" : "CumProd float", 0, NULL);
    }
}

/* NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss with [N, C, d] input, weights,
 * ignore_index, each reduction; int32 and int64 targets; SCE's log_prob output. */
Test(emit_reduce, losses_weights_ignore_index) {
    static const char *const reds[3] = {"none", "sum", "mean"};
    for (int tt = 0; tt < 2; tt++) {
        OneOp *o = red_new(13);
        int64_t xd[3] = {3, 4, 2}, td[2] = {3, 2}, wd[1] = {4};
        int64_t t64[6] = {0, 3, 2, 1, 1, 3};
        int32_t t32[6] = {3, 1, 1, 0, 2, 1};
        int x = op_input(o, "x", RT_F32, 3, xd), w = op_input_fill(o, "w", RT_F32, 1, wd, OP_FILL_POSITIVE);
        int t = tt ? op_input_data(o, "t", RT_I64, 2, td, t64) : op_input_data(o, "t", RT_I32, 2, td, t32);
        for (int r = 0; r < 3; r++) {
            int in[3] = {x, t, w};
            int k = op_node(o, r == 1 ? RT_OP_SOFTMAX_CROSS_ENTROPY_LOSS : RT_OP_NEGATIVE_LOG_LIKELIHOOD_LOSS,
                            r == 0 ? 2 : 3, in);
            RtAttr *a = attrs_new(o, k, 2);
            a[0] = attr_str(o, "reduction", reds[r]);
            a[1] = attr_int(o, "ignore_index", 1);
        }
        for (int r = 0; r < 3; r++) {
            int in[2] = {x, t};
            int k = op_node(o, RT_OP_SOFTMAX_CROSS_ENTROPY_LOSS, 2, in);
            RtAttr *a = attrs_new(o, k, 1);
            a[0] = attr_str(o, "reduction", reds[r]);
        }
        /* the log_prob output of the last SCE node */
        RtNode *nd = &o->g->nodes[o->g->n_nodes - 1];
        int lp = ir_value_add(o->g, "log_prob");
        int *outs = ir_alloc(o->g, sizeof(int) * 2);
        outs[0] = nd->out[0], outs[1] = lp;
        nd->out = outs, nd->n_out = 2;
        o->g->values[lp].producer = o->g->n_nodes - 1;
        o->g->outputs = realloc(o->g->outputs, sizeof(int) * (size_t)(o->g->n_outputs + 1));
        o->g->outputs[o->g->n_outputs++] = lp;
        /* int64 targets under clang (its -Wunused-but-set-variable is stricter than gcc's),
         * int32 ones with --no-libm */
        red_check(o, tt ? "losses int64 targets" : "losses int32 targets", !tt, tt ? "clang" : NULL);
    }
}

/* What the C cannot do is refused by name: BatchNormalization in training mode, GlobalLpPool
 * with p = 3 under --no-libm (pow), ReduceSum with axes computed at run time. */
Test(emit_reduce, refusals_name_the_reason) {
    for (int v = 0; v < 3; v++) {
        OneOp *o = red_new(v == 0 ? 15 : 18);
        int64_t d[3] = {2, 3, 4}, cd[1] = {3}, one[1] = {1};
        int x = op_input(o, "x", RT_F32, 3, d), k, no_libm = 0;
        const char *want;
        if (v == 0) {
            int in[5] = {x, op_input(o, "s", RT_F32, 1, cd), op_input(o, "b", RT_F32, 1, cd),
                         op_input(o, "m", RT_F32, 1, cd), op_input_fill(o, "v", RT_F32, 1, cd, OP_FILL_POSITIVE)};
            k = op_node(o, RT_OP_BATCH_NORMALIZATION, 5, in);
            RtAttr *a = attrs_new(o, k, 1);
            a[0] = attr_int(o, "training_mode", 1);
            want = "training mode";
        } else if (v == 1) {
            no_libm = 1;
            k = op_node(o, RT_OP_GLOBAL_LP_POOL, 1, &x);
            RtAttr *a = attrs_new(o, k, 1);
            a[0] = attr_int(o, "p", 3);
            want = "--no-libm";
        } else {
            int64_t ax = 1;
            int in[2] = {x, op_input_data(o, "axes", RT_I64, 1, one, &ax)};
            op_node(o, RT_OP_REDUCE_SUM, 2, in);
            want = "--freeze-input";
        }
        RtError err = {{0}};
        EmitCOptions eo = {"model", no_libm, "test", "test", "test", 0};
        TextBuf cs = {0}, hs = {0};
        int r = emit_c_generate(o->g, &eo, &cs, &hs, NULL, NULL, &err);
        cr_expect_neq(r, RT_OK, "case %d was emitted", v);
        cr_expect(strstr(err.msg, want), "case %d: '%s' does not name %s", v, err.msg, want);
        text_buf_free(&cs);
        text_buf_free(&hs);
        op_free(o);
    }
}

/* LpPool: 2-D with strides, pads, dilations and ceil_mode for p = 1, 2, 3; 1-D with
 * auto_pad SAME_UPPER; 3-D (opset 18). */
Test(emit_reduce, lp_pool_geometry) {
    OneOp *o = red_new(18);
    int64_t d2[4] = {1, 2, 7, 6};
    int x = op_input(o, "x", RT_F32, 4, d2);
    for (int p = 1; p <= 3; p++) {
        int k = op_node(o, RT_OP_LP_POOL, 1, &x);
        RtAttr *a = attrs_new(o, k, 6);
        a[0] = attr_ints(o, "kernel_shape", 2, (int64_t[]){3, 2});
        a[1] = attr_ints(o, "strides", 2, (int64_t[]){2, 1});
        a[2] = attr_ints(o, "pads", 4, (int64_t[]){1, 0, 1, 1});
        a[3] = attr_ints(o, "dilations", 2, (int64_t[]){1, 2});
        a[4] = attr_int(o, "ceil_mode", p == 2);
        a[5] = attr_int(o, "p", p);
    }
    red_check(o, "LpPool 2-D", 0, NULL);
    o = red_new(18);
    int64_t d1[3] = {2, 3, 9}, d3[5] = {1, 2, 4, 3, 5};
    int x1 = op_input(o, "x1", RT_F32, 3, d1), x3 = op_input(o, "x3", RT_F64, 5, d3);
    int k = op_node(o, RT_OP_LP_POOL, 1, &x1);
    RtAttr *a = attrs_new(o, k, 3);
    a[0] = attr_ints(o, "kernel_shape", 1, (int64_t[]){4});
    a[1] = attr_ints(o, "strides", 1, (int64_t[]){2});
    a[2] = attr_str(o, "auto_pad", "SAME_UPPER");
    k = op_node(o, RT_OP_LP_POOL, 1, &x3);
    a = attrs_new(o, k, 2);
    a[0] = attr_ints(o, "kernel_shape", 3, (int64_t[]){2, 2, 3});
    a[1] = attr_int(o, "p", 1);
    red_check(o, "LpPool 1-D and 3-D", 0, NULL);
}

/* RMSNormalization (opset 23): axis 1 with a scale of the full normalized shape and with
 * one broadcast from [1, 5] over [4, 5]; float64 with the last axis. */
Test(emit_reduce, rms_norm_axes_broadcast_scale) {
    OneOp *o = red_new(23);
    int64_t d[3] = {2, 4, 5}, s1[2] = {4, 5}, s2[2] = {1, 5}, s3[1] = {5};
    int x = op_input(o, "x", RT_F32, 3, d), xd = op_input(o, "xd", RT_F64, 3, d);
    int sa = op_input(o, "sa", RT_F32, 2, s1), sb = op_input(o, "sb", RT_F32, 2, s2);
    int sd = op_input(o, "sd", RT_F64, 1, s3);
    int ins[3][2] = {{x, sa}, {x, sb}, {xd, sd}};
    for (int i = 0; i < 3; i++) {
        int k = op_node(o, RT_OP_RMS_NORMALIZATION, 2, ins[i]);
        RtAttr *a = attrs_new(o, k, 2);
        a[0] = attr_int(o, "axis", i < 2 ? 1 : -1);
        a[1] = attr_float(o, "epsilon", 1e-3f);
    }
    red_check(o, "RMSNormalization", 0, NULL);
}

/* com.microsoft QLinearSoftmax (opset attribute 13: one axis, inner rows; 12: flattened
 * axes) and QLinearReduceMean (two axes, keepdims 0), int8 and uint8, constant scales and
 * zero points. */
Test(emit_reduce, qlinear_softmax_and_reduce_mean) {
    for (int u = 0; u < 2; u++) {
        OneOp *o = red_new(13);
        RtDtype dt = u ? RT_U8 : RT_I8;
        int64_t d[3] = {2, 6, 3}, one[1] = {1};
        float xs = 0.05f, ys = 1.0f / 256.0f, ms = 0.03f;
        int8_t zi = u ? 0 : -3;
        uint8_t zu = u ? 128 : 0;
        int x = op_input(o, "x", dt, 3, d);
        int cxs = op_const(o, "xs", RT_F32, 1, one, &xs), cys = op_const(o, "ys", RT_F32, 1, one, &ys);
        int cms = op_const(o, "ms", RT_F32, 1, one, &ms);
        int zx = u ? op_const(o, "zx", RT_U8, 1, one, &zu) : op_const(o, "zx", RT_I8, 1, one, &zi);
        int zy =
            u ? op_const(o, "zy", RT_U8, 1, one, (uint8_t[]){0}) : op_const(o, "zy", RT_I8, 1, one, (int8_t[]){-128});
        for (int v = 0; v < 2; v++) {
            int in[5] = {x, cxs, zx, cys, zy};
            int k = op_node(o, RT_OP_QLINEAR_SOFTMAX, 5, in);
            RtAttr *a = attrs_new(o, k, 2);
            a[0] = attr_int(o, "opset", v ? 12 : 13);
            a[1] = attr_int(o, "axis", 1);
        }
        int in[5] = {x, cxs, zx, cms, zx};
        int k = op_node(o, RT_OP_QLINEAR_REDUCE_MEAN, 5, in);
        RtAttr *a = attrs_new(o, k, 2);
        a[0] = attr_ints(o, "axes", 2, (int64_t[]){0, 2});
        a[1] = attr_int(o, "keepdims", 0);
        red_check(o, u ? "QLinearSoftmax/QLinearReduceMean uint8" : "QLinearSoftmax/QLinearReduceMean int8", 0, NULL);
    }
}
