/*
 * test_emit_math.c — emit-c's element-wise family (codegen/emit_ops_math*.c) on what the ONNX
 * conformance cases do not reach: every integer dtype of the arithmetic ops, broadcasting of
 * two, three and four operands, integer Div/Mod by a run-time zero (NAME_run returns 1) and
 * of INT_MIN by -1, Clip with run-time and absent bounds, float64 math, Cast between every
 * C-typed dtype with out-of-range values, NaN and infinities, IsInf's flags,
 * BitShift/Bitwise*, Gelu/Mish, and --no-libm (the float32 ops need no libm symbol; float64
 * ones that would are refused by name).
 *
 * Each case is a graph of up to 8 one-node outputs over shared random inputs (special
 * values mixed in), built in the IR (emitc_oneop.h), emitted, compiled with gcc and clang
 * -pedantic -Werror (and with gcc under UBSan: no undefined behaviour on these values), run
 * by tests/codegen/emitc_harness.c, and compared output by output with the runtime's reference
 * kernels on the same graph: integers and bools bit for bit, floats within MATH_FLOAT_REL_TOL.
 */
#include "emitc_oneop.h"

/* The emitted float ops call the same libm functions (or, for the own helpers, evaluate the
 * same formula) as the reference kernels, in the same precision: results agree to the last
 * bit except where a helper differs from libm by rounding, a few float ulps. */
#define MATH_FLOAT_REL_TOL 1e-6
/* --no-libm: exp/log/tanh/erf helpers of a few ulps each, composed (Mish = tanh of log1p of
 * exp): below 2e-6 relative (the bounds test_emit_nolibm.c derives, added). */
#define MATH_NOLIBM_REL_TOL 2e-6

/* The suite's graphs: seed 987654321, OP_FILL_ANY values (special ones mixed in) unless an
 * input names another OneOpFill. */
static OneOp *math_new(void) { return op_new_with(987654321, OP_FILL_ANY); }

/* Emits (no_libm as given: then no libm symbol is referenced), compiles with gcc -O1 and
 * with clang -O1 (the same C builds as cleanly under clang), and builds it with gcc under
 * UBSan too: no undefined behaviour on these inputs (out-of-range casts, shifts past the
 * width, INT_MIN / -1, signed overflow), the same exit status. Under the sanitizer build
 * (WAFER_SANITIZED) the emitter runs under ASan and these extra compilers, which check the
 * emitted C as the plain run does, are skipped. Runs the graph expecting NAME_run's status
 * want_status and when it is 0 compares every output with the reference run: integers and
 * bools bit for bit, each float equal, both NaN or within tol. Frees m. */
static void math_run(OneOp *m, const char *what, int no_libm, double tol, int want_status) {
    int extra = !op_sanitized();
    OneOpCheck k = {.cflags = "-O1",
                    .also_clang = extra,
                    .ubsan = extra,
                    .no_libm = no_libm,
                    .want_status = want_status,
                    .tol = tol,
                    .tol_f64 = tol,
                    .per_element = 1};
    op_check_opts(m, what, &k);
}

static void math_check(OneOp *m, const char *what) { math_run(m, what, 0, MATH_FLOAT_REL_TOL, 0); }

static const RtDtype INT_TYPES[] = {RT_I8, RT_I16, RT_I32, RT_I64, RT_U8, RT_U16, RT_U32, RT_U64};

/* Add, Sub, Mul, Div, Mod (both modes) on every integer type, broadcast [2,3,4] op [3,1],
 * and Abs on them; Neg and Sign on the signed ones. */
Test(emit_math, integer_arithmetic_every_dtype) {
    for (size_t t = 0; t < sizeof INT_TYPES / sizeof INT_TYPES[0]; t++) {
        RtDtype dt = INT_TYPES[t];
        int sig = dt == RT_I8 || dt == RT_I16 || dt == RT_I32 || dt == RT_I64;
        OneOp *m = math_new();
        int64_t ad[3] = {2, 3, 4}, bd[2] = {3, 1};
        int in[2] = {op_input(m, "a", dt, 3, ad), op_input_fill(m, "b", dt, 2, bd, OP_FILL_NONZERO)};
        int ops[] = {RT_OP_ADD, RT_OP_SUB, RT_OP_MUL, RT_OP_DIV};
        for (int i = 0; i < 4; i++) op_node(m, ops[i], 2, in);
        RtAttr fm0 = {.name = "fmod", .type = RT_ATTR_INT, .i = 0}, fm1 = {.name = "fmod", .type = RT_ATTR_INT, .i = 1};
        op_node_attrs(m, RT_OP_MOD, 2, in, &fm0, 1);
        op_node_attrs(m, RT_OP_MOD, 2, in, &fm1, 1);
        op_node(m, RT_OP_ABS, 1, in);
        op_node(m, sig ? RT_OP_NEG : RT_OP_SIGN, 1, in);
        char what[64];
        snprintf(what, sizeof what, "integer arithmetic on %s", rt_dtype_name(dt));
        math_check(m, what);
    }
}

/* The minimum divided by -1 (a trap in C; the runtime wraps it to the minimum) and the
 * remainders of mixed signs, int32 and int64, both Mod modes. */
Test(emit_math, integer_min_by_minus_one) {
    OneOp *m = math_new();
    int64_t d[1] = {6};
    int a32 = op_input(m, "a", RT_I32, 1, d), b32 = op_input_fill(m, "b", RT_I32, 1, d, OP_FILL_NONZERO);
    int a64 = op_input(m, "c", RT_I64, 1, d), b64 = op_input_fill(m, "e", RT_I64, 1, d, OP_FILL_NONZERO);
    memcpy(m->in[0].data, (int32_t[]){INT32_MIN, 7, -7, INT32_MIN, 5, -9}, sizeof(int32_t) * 6);
    memcpy(m->in[1].data, (int32_t[]){-1, -1, 2, 3, -3, 4}, sizeof(int32_t) * 6);
    memcpy(m->in[2].data, (int64_t[]){INT64_MIN, 7, -7, INT64_MIN, 5, -9}, sizeof(int64_t) * 6);
    memcpy(m->in[3].data, (int64_t[]){-1, -1, 2, 3, -3, 4}, sizeof(int64_t) * 6);
    RtAttr fm1 = {.name = "fmod", .type = RT_ATTR_INT, .i = 1};
    int p32[2] = {a32, b32}, p64[2] = {a64, b64};
    op_node(m, RT_OP_DIV, 2, p32);
    op_node(m, RT_OP_MOD, 2, p32);
    op_node_attrs(m, RT_OP_MOD, 2, p32, &fm1, 1);
    op_node(m, RT_OP_DIV, 2, p64);
    op_node(m, RT_OP_MOD, 2, p64);
    op_node_attrs(m, RT_OP_MOD, 2, p64, &fm1, 1);
    math_check(m, "INT_MIN / -1, mixed-sign Mod");
}

/* Integer Div and Mod by a zero read at run time: NAME_run returns 1 (the runtime refuses
 * the division; C would be undefined); a zero constant divisor is refused at emit time. */
Test(emit_math, integer_division_by_zero) {
    OneOp *m = math_new();
    int64_t d[1] = {5};
    int in[2] = {op_input(m, "a", RT_I32, 1, d), op_input_fill(m, "b", RT_I32, 1, d, OP_FILL_NONZERO)};
    ((int32_t *)m->in[1].data)[3] = 0;
    op_node(m, RT_OP_DIV, 2, in);
    math_run(m, "Div by a run-time zero", 0, MATH_FLOAT_REL_TOL, 1); /* NAME_run returns 1 */

    m = math_new();
    int x = op_input(m, "a", RT_I64, 1, d);
    int z = op_const(m, "z", RT_I64, 1, (int64_t[]){1}, (int64_t[]){0});
    op_node(m, RT_OP_MOD, 2, (int[]){x, z});
    char dir[256];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "emitc_math"), 0);
    RtError err = {{0}};
    EmitCOptions eo = {"model", 0, "test", "test", "test", 0};
    cr_expect_neq(emit_c_write(m->g, &eo, dir, NULL, &err), RT_OK, "Mod by a constant 0 should be refused");
    cr_expect(strstr(err.msg, "division by zero"), "message: %s", err.msg);
    tu_tmpdir_remove(dir);
    op_free(m);
}

/* Comparisons on float64 and int16 (broadcast), Equal on bool, And/Or/Xor/Not, Where with
 * three operands broadcast to [2, 3, 4]. */
Test(emit_math, comparisons_logic_where) {
    OneOp *m = math_new();
    int64_t ad[3] = {2, 3, 4}, bd[1] = {4}, cd[3] = {2, 1, 4}, xd[2] = {3, 1};
    int f[2] = {op_input(m, "a", RT_F64, 3, ad), op_input(m, "b", RT_F64, 1, bd)};
    int s[2] = {op_input_fill(m, "c", RT_I16, 3, ad, OP_FILL_SMALL),
                op_input_fill(m, "d", RT_I16, 2, xd, OP_FILL_SMALL)};
    int b[2] = {op_input(m, "e", RT_BOOL, 3, cd), op_input(m, "f", RT_BOOL, 2, xd)};
    op_node(m, RT_OP_LESS, 2, f);
    op_node(m, RT_OP_GREATER_OR_EQUAL, 2, f);
    op_node(m, RT_OP_EQUAL, 2, s);
    op_node(m, RT_OP_LESS_OR_EQUAL, 2, s);
    op_node(m, RT_OP_XOR, 2, b);
    op_node(m, RT_OP_EQUAL, 2, b);
    op_node(m, RT_OP_NOT, 1, b);
    op_node(m, RT_OP_WHERE, 3, (int[]){b[0], s[1], s[0]});
    math_check(m, "comparisons, logic, Where");
}

/* Variadic ops with three and four operands of different shapes; Max/Min propagate NaN. */
Test(emit_math, variadic_broadcast) {
    OneOp *m = math_new();
    int64_t d0[3] = {2, 1, 4}, d1[2] = {3, 1}, d2[1] = {1}, d3[3] = {2, 3, 4};
    int f[4] = {op_input(m, "a", RT_F32, 3, d0), op_input(m, "b", RT_F32, 2, d1),
                op_input_fill(m, "c", RT_F32, 1, d2, OP_FILL_SMALL), op_input(m, "d", RT_F32, 3, d3)};
    int u[3] = {op_input(m, "e", RT_U32, 3, d0), op_input(m, "f", RT_U32, 2, d1),
                op_input(m, "g", RT_U32, 3, d3)};
    op_node(m, RT_OP_MAX, 4, f);
    op_node(m, RT_OP_MIN, 3, f);
    op_node(m, RT_OP_SUM, 4, f);
    op_node(m, RT_OP_MEAN, 3, f + 1);
    op_node(m, RT_OP_MAX, 3, u);
    op_node(m, RT_OP_MIN, 2, u);
    op_node(m, RT_OP_SUM, 1, f + 3);
    math_check(m, "variadic Max/Min/Sum/Mean");
}

/* Clip: run-time bounds (int8, float32), an absent min (uint16), a constant max; PRelu with
 * a per-channel slope on float and int32; Pow int32^int64, int64^float32, float32^int32. */
Test(emit_math, clip_prelu_pow) {
    OneOp *m = math_new();
    int64_t xd[3] = {2, 3, 4}, one[1] = {1}, sd[2] = {3, 1};
    int x8 = op_input(m, "x8", RT_I8, 3, xd), lo8 = op_input_fill(m, "lo8", RT_I8, 0, one, OP_FILL_SMALL),
        hi8 = op_input_fill(m, "hi8", RT_I8, 0, one, OP_FILL_SMALL);
    int xf = op_input(m, "xf", RT_F32, 3, xd), lof = op_input_fill(m, "lof", RT_F32, 1, one, OP_FILL_SMALL);
    int xu = op_input(m, "xu", RT_U16, 3, xd);
    int xi = op_input_fill(m, "xi", RT_I32, 3, xd, OP_FILL_SMALL);
    int e64 = op_input_fill(m, "e64", RT_I64, 2, sd, OP_FILL_SMALL);
    int hif = op_const(m, "hif", RT_F32, 0, one, (float[]){1.25f});
    int hiu = op_const(m, "hiu", RT_U16, 0, one, (uint16_t[]){40000});
    int sf = op_const(m, "sf", RT_F32, 2, sd, (float[]){0.5f, -2.0f, 0.25f});
    int si = op_const(m, "si", RT_I32, 2, sd, (int32_t[]){3, -1, 100000});
    op_node(m, RT_OP_CLIP, 3, (int[]){x8, lo8, hi8});
    op_node(m, RT_OP_CLIP, 3, (int[]){xf, lof, hif});
    op_node(m, RT_OP_CLIP, 3, (int[]){xu, -1, hiu});
    op_node(m, RT_OP_PRELU, 2, (int[]){xf, sf});
    op_node(m, RT_OP_PRELU, 2, (int[]){xi, si});
    op_node(m, RT_OP_POW, 2, (int[]){xi, e64});
    op_node(m, RT_OP_POW, 2, (int[]){e64, lof});
    op_node(m, RT_OP_POW, 2, (int[]){xf, xi});
    math_check(m, "Clip, PRelu, Pow");
}

/* Cast from float32 (NaN, infinities, values beyond every range) to each integer type and
 * bool, float64 -> float32, int64 -> float32 (double rounding), uint64 -> float64. */
Test(emit_math, cast_matrix) {
    RtDtype to1[] = {RT_I8, RT_U8, RT_I16, RT_U16, RT_I32, RT_U32, RT_I64, RT_U64};
    OneOp *m = math_new();
    int64_t d[1] = {64};
    int xf = op_input(m, "xf", RT_F32, 1, d);
    for (int i = 0; i < 8; i++) {
        RtAttr to = {.name = "to", .type = RT_ATTR_INT, .i = to1[i]};
        op_node_attrs(m, RT_OP_CAST, 1, &xf, &to, 1);
    }
    math_check(m, "Cast float32 -> integers");
    m = math_new();
    int xd = op_input(m, "xd", RT_F64, 1, d), xl = op_input(m, "xl", RT_I64, 1, d);
    int xu = op_input(m, "xu", RT_U64, 1, d), xb = op_input(m, "xb", RT_BOOL, 1, d);
    int x8 = op_input(m, "x8", RT_I8, 1, d);
    struct { int x; RtDtype to; } cs[] = {{xd, RT_F32}, {xd, RT_BOOL}, {xd, RT_U8}, {xl, RT_F32}, {xu, RT_F64},
                                          {xb, RT_F32}, {x8, RT_U64}, {xl, RT_I16}};
    for (int i = 0; i < 8; i++) {
        RtAttr to = {.name = "to", .type = RT_ATTR_INT, .i = cs[i].to};
        op_node_attrs(m, RT_OP_CAST, 1, &cs[i].x, &to, 1);
    }
    math_check(m, "Cast between float64, int64, uint64, bool, int8");
    /* to int4 / uint4 / int2 / uint2 (held widened): float32 (halves, huge values, NaN and
     * infinities under OP_FILL_ANY) and int64 / int8 sources; 2-bit types need opset 25 */
    m = math_new();
    m->g->opset = 25;
    xf = op_input(m, "xf", RT_F32, 1, d);
    xl = op_input(m, "xl", RT_I64, 1, d);
    x8 = op_input(m, "x8", RT_I8, 1, d);
    const int lowbit[4] = {21, 22, 25, 26};
    for (int i = 0; i < 8; i++) {
        RtAttr to = {.name = "to", .type = RT_ATTR_INT, .i = lowbit[i % 4]};
        op_node_attrs(m, RT_OP_CAST, 1, i < 4 ? &xf : i < 6 ? &xl : &x8, &to, 1);
    }
    math_check(m, "Cast to 4- and 2-bit types");
    /* BitCast (opset 26): float32 -> int32 / uint32, int64 -> float64 / uint64, int8 -> uint8
     * (NaN and infinity patterns under OP_FILL_ANY), int4 <-> uint4 */
    m = math_new();
    m->g->opset = 26;
    xf = op_input(m, "xf", RT_F32, 1, d);
    xl = op_input(m, "xl", RT_I64, 1, d);
    x8 = op_input(m, "x8", RT_I8, 1, d);
    struct { int x; int to; } bc[] = {{xf, RT_I32}, {xf, RT_U32}, {xl, RT_F64}, {x8, RT_U8}, {xl, RT_U64}};
    for (int i = 0; i < 5; i++) {
        RtAttr to = {.name = "to", .type = RT_ATTR_INT, .i = bc[i].to};
        op_node_attrs(m, RT_OP_BITCAST, 1, &bc[i].x, &to, 1);
    }
    math_check(m, "BitCast");
    m = math_new();
    m->g->opset = 26;
    int64_t d16[1] = {16};
    int8_t s4[16];
    uint8_t u4[16];
    for (int i = 0; i < 16; i++) s4[i] = (int8_t)(i - 8), u4[i] = (uint8_t)i;
    int xs4 = op_input_data(m, "s4", RT_I8, 1, d16, s4), xu4 = op_input_data(m, "u4", RT_U8, 1, d16, u4);
    RtAttr tu = {.name = "to", .type = RT_ATTR_INT, .i = 21}, ts = {.name = "to", .type = RT_ATTR_INT, .i = 22};
    op_node_attrs(m, RT_OP_BITCAST, 1, &xs4, &tu, 1);
    op_node_attrs(m, RT_OP_BITCAST, 1, &xu4, &ts, 1);
    math_check(m, "BitCast int4 <-> uint4");
}

/* float64 math against the runtime's double rows, and float32 rounding ops on halves. */
Test(emit_math, float64_and_rounding) {
    OneOp *m = math_new();
    int64_t d[2] = {4, 16};
    int xd = op_input(m, "xd", RT_F64, 2, d), xf = op_input(m, "xf", RT_F32, 2, d);
    RtAttr al = {.name = "alpha", .type = RT_ATTR_FLOAT, .f = 0.7f};
    op_node(m, RT_OP_ROUND, 1, &xd);
    op_node(m, RT_OP_ROUND, 1, &xf);
    op_node_attrs(m, RT_OP_CELU, 1, &xd, &al, 1);
    op_node(m, RT_OP_SOFTPLUS, 1, &xd);
    op_node(m, RT_OP_SIGMOID, 1, &xd);
    op_node(m, RT_OP_SIGN, 1, &xd);
    op_node(m, RT_OP_HARD_SWISH, 1, &xd);
    op_node(m, RT_OP_ATANH, 1, &xd);
    math_check(m, "float64 math, Round");
}

/* IsInf with each flag pair, IsNaN, Shrink on float32 and int8, Gelu (tanh), Mish. */
Test(emit_math, predicates_shrink_gelu_mish) {
    OneOp *m = math_new();
    int64_t d[1] = {40};
    int xf = op_input(m, "xf", RT_F32, 1, d), x8 = op_input(m, "x8", RT_I8, 1, d);
    RtAttr neg0[1] = {{.name = "detect_negative", .type = RT_ATTR_INT, .i = 0}};
    RtAttr pos0[1] = {{.name = "detect_positive", .type = RT_ATTR_INT, .i = 0}};
    RtAttr sh[2] = {{.name = "lambd", .type = RT_ATTR_FLOAT, .f = 1.5f},
                    {.name = "bias", .type = RT_ATTR_FLOAT, .f = 100.25f}};
    RtAttr ge[1] = {{.name = "approximate", .type = RT_ATTR_STRING, .s = "tanh"}};
    op_node_attrs(m, RT_OP_IS_INF, 1, &xf, neg0, 1);
    op_node_attrs(m, RT_OP_IS_INF, 1, &xf, pos0, 1);
    op_node(m, RT_OP_IS_NAN, 1, &xf);
    op_node_attrs(m, RT_OP_SHRINK, 1, &xf, sh, 2);
    op_node_attrs(m, RT_OP_SHRINK, 1, &x8, sh, 2);
    op_node_attrs(m, RT_OP_GELU, 1, &xf, ge, 1);
    op_node(m, RT_OP_MISH, 1, &xf);
    math_check(m, "IsInf, IsNaN, Shrink, Gelu, Mish");
}

/* BitShift both ways (shift counts past the width give 0), Bitwise And/Or/Xor/Not. */
Test(emit_math, shifts_and_bitwise) {
    OneOp *m = math_new();
    int64_t d[2] = {3, 8}, sd[1] = {8};
    int a = op_input(m, "a", RT_U16, 2, d), s = op_input_fill(m, "s", RT_U16, 1, sd, OP_FILL_SMALL);
    int b = op_input(m, "b", RT_U64, 2, d), t = op_input_fill(m, "t", RT_U64, 1, sd, OP_FILL_SMALL);
    int i = op_input(m, "i", RT_I8, 2, d), j = op_input(m, "j", RT_I8, 1, sd);
    RtAttr l = {.name = "direction", .type = RT_ATTR_STRING, .s = "LEFT"},
           r = {.name = "direction", .type = RT_ATTR_STRING, .s = "RIGHT"};
    op_node_attrs(m, RT_OP_BIT_SHIFT, 2, (int[]){a, s}, &l, 1);
    op_node_attrs(m, RT_OP_BIT_SHIFT, 2, (int[]){a, s}, &r, 1);
    op_node_attrs(m, RT_OP_BIT_SHIFT, 2, (int[]){b, t}, &l, 1);
    op_node_attrs(m, RT_OP_BIT_SHIFT, 2, (int[]){b, t}, &r, 1);
    op_node(m, RT_OP_BITWISE_AND, 2, (int[]){i, j});
    op_node(m, RT_OP_BITWISE_OR, 2, (int[]){b, t});
    op_node(m, RT_OP_BITWISE_XOR, 2, (int[]){a, s});
    op_node(m, RT_OP_BITWISE_NOT, 1, &i);
    math_check(m, "BitShift, Bitwise");
}

/* --no-libm: the float32 ops with own helpers reference no libm symbol and match the
 * runtime (libm) within the helpers' error, so do Pow by constant integer and 0.5
 * exponents or a run-time one, the trigonometric and hyperbolic ops and their inverses,
 * float Mod; Exp on float64 is refused, naming --no-libm. */
Test(emit_math, no_libm) {
    OneOp *m = math_new();
    int64_t d[1] = {48};
    int x = op_input(m, "x", RT_F32, 1, d);
    RtAttr al = {.name = "alpha", .type = RT_ATTR_FLOAT, .f = 1.3f};
    int ops[] = {RT_OP_FLOOR, RT_OP_CEIL, RT_OP_ROUND, RT_OP_SQRT, RT_OP_LOG, RT_OP_SOFTPLUS, RT_OP_MISH, RT_OP_SELU};
    for (int i = 0; i < 8; i++)
        op_node_attrs(m, ops[i], 1, &x, ops[i] == RT_OP_SELU ? &al : NULL, ops[i] == RT_OP_SELU);
    math_run(m, "--no-libm", 1, MATH_NOLIBM_REL_TOL, 0);

    /* Pow by the constant exponents exported models use (multiplications and sqrt); Sin,
     * Cos, Tan through the own reduction */
    m = math_new();
    x = op_input(m, "x", RT_F32, 1, d);
    int e[5] = {
        op_const(m, "e2", RT_F32, 0, d, (float[]){2.0f}), op_const(m, "e3", RT_I64, 0, d, (int64_t[]){-3}),
        op_const(m, "eh", RT_F32, 0, d, (float[]){0.5f}), op_const(m, "e0", RT_F64, 0, d, (double[]){0.0}),
        op_const(m, "e1", RT_I32, 0, d, (int32_t[]){1})};
    for (int i = 0; i < 5; i++) op_node(m, RT_OP_POW, 2, (int[]){x, e[i]});
    op_node(m, RT_OP_SIN, 1, &x);
    op_node(m, RT_OP_COS, 1, &x);
    op_node(m, RT_OP_TAN, 1, &x);
    math_run(m, "--no-libm Pow, Sin, Cos, Tan", 1, MATH_NOLIBM_REL_TOL, 0);

    m = math_new();
    x = op_input(m, "x", RT_F32, 1, d);
    RtAttr fm1 = {.name = "fmod", .type = RT_ATTR_INT, .i = 1};
    int y = op_input(m, "y", RT_F32, 1, d);
    op_node_attrs(m, RT_OP_MOD, 2, (int[]){x, y}, &fm1, 1);
    math_run(m, "--no-libm Mod", 1, 0.0, 0); /* fmod is exact */

    m = math_new();
    int64_t dp[1] = {400};
    x = op_input(m, "x", RT_F32, 1, dp);
    y = op_input(m, "y", RT_F32, 1, dp);
    op_node(m, RT_OP_POW, 2, (int[]){x, y});
    math_run(m, "--no-libm Pow by a run-time exponent", 1, MATH_NOLIBM_REL_TOL, 0);

    m = math_new();
    x = op_input(m, "x", RT_F32, 1, d);
    int hyp[8] = {RT_OP_ATAN, RT_OP_ASIN, RT_OP_ACOS, RT_OP_SINH, RT_OP_COSH, RT_OP_ASINH, RT_OP_ACOSH, RT_OP_ATANH};
    for (int i = 0; i < 8; i++) op_node(m, hyp[i], 1, &x);
    math_run(m, "--no-libm inverse and hyperbolic", 1, MATH_NOLIBM_REL_TOL, 0);

    m = math_new();
    x = op_input(m, "x", RT_F32, 1, d);
    int x64 = op_input(m, "x64", RT_F64, 1, d);
    op_node(m, RT_OP_EXP, 1, &x64);
    char dir[256];
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "emitc_math"), 0);
    RtError err = {{0}};
    EmitCOptions eo = {"model", 1, "test", "test", "test", 0};
    cr_expect_eq(emit_c_write(m->g, &eo, dir, NULL, &err), RT_ERR_UNSUPPORTED);
    cr_expect(strstr(err.msg, "--no-libm") && strstr(err.msg, "float64"), "message: %s", err.msg);
    tu_tmpdir_remove(dir);
    op_free(m);
}

/* --no-libm on ARM: every libm-free float32 helper, integer Pow and int64 Div, built for a
 * Cortex-M4 (arm-none-eabi-gcc -mfpu=fpv4-sp-d16, -pedantic -Werror) needs only libgcc's
 * __aeabi_* helpers (soft double, 64-bit division) and mem*; built for 32-bit ARM Linux
 * and run under qemu-arm it gives the host build's bytes (the same IEEE operations; GCC
 * does not contract to FMA in C99 mode) but for NaNs' bits (x86 and ARM make different
 * default NaNs). Skipped without the toolchains. */
Test(emit_math, arm_no_libm_builds_and_matches_host) {
    char out[256], dir[256], log[8192], args[2048] = "", harg[2048] = "", path[600];
    if (tu_run(out, sizeof out, "command -v arm-none-eabi-gcc && command -v arm-none-eabi-nm") != 0)
        cr_skip_test("arm-none-eabi-gcc not installed (Debian gcc-arm-none-eabi): skipped");
    OneOp *m = math_new();
    int64_t d[1] = {64};
    int x = op_input(m, "x", RT_F32, 1, d), y = op_input(m, "y", RT_F32, 1, d);
    int l = op_input(m, "l", RT_I64, 1, d), n = op_input_fill(m, "n", RT_I64, 1, d, OP_FILL_NONZERO);
    RtAttr fm1 = {.name = "fmod", .type = RT_ATTR_INT, .i = 1};
    op_node(m, RT_OP_POW, 2, (int[]){x, y});
    op_node_attrs(m, RT_OP_MOD, 2, (int[]){x, y}, &fm1, 1);
    op_node(m, RT_OP_SIN, 1, &x);
    op_node(m, RT_OP_ASINH, 1, &x);
    op_node(m, RT_OP_ACOS, 1, &x);
    op_node(m, RT_OP_MISH, 1, &x);
    op_node(m, RT_OP_DIV, 2, (int[]){l, n});
    op_node(m, RT_OP_POW, 2, (int[]){l, n});
    cr_assert_eq(tu_tmpdir_make(dir, sizeof dir, "emitc_math_arm"), 0);
    RtError err = {{0}};
    EmitCOptions eo = {"model", 1, "test", "test", "test", 0};
    cr_assert_eq(emit_c_write(m->g, &eo, dir, NULL, &err), RT_OK, "%s", err.msg);
    int st = tu_run(log, sizeof log,
                    "arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os -std=c99 -Wall "
                    "-Wextra -Werror -pedantic -c %s/model.c -o %s/m4.o",
                    dir, dir);
    cr_assert_eq(st, 0, "arm-none-eabi-gcc: %s", log);
    cr_expect_eq(log[0], '\0', "arm-none-eabi-gcc printed: %s", log);
    cr_assert_eq(tu_run(log, sizeof log, "arm-none-eabi-nm -u %s/m4.o", dir), 0, "%s", log);
    for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n")) {
        char *sym = strrchr(line, ' ');
        sym = sym ? sym + 1 : line;
        cr_expect(strncmp(sym, "__aeabi_", 8) == 0 || strncmp(sym, "mem", 3) == 0,
                  "the --no-libm Cortex-M4 object needs '%s'", sym);
    }
    if (tu_run(out, sizeof out, "command -v arm-linux-gnueabihf-gcc && command -v qemu-arm") == 0) {
        for (int i = 0; i < m->n_in; i++) {
            snprintf(path, sizeof path, "%s/in%d.bin", dir, i);
            ecu_raw_write(path, m->in[i].data, (size_t)rt_nbytes(&m->in[i]));
            size_t k = strlen(args);
            snprintf(args + k, sizeof args - k, " %s", path);
        }
        snprintf(harg, sizeof harg, "%s", args);
        for (int o = 0; o < m->g->n_outputs; o++) {
            size_t k = strlen(args), kh = strlen(harg);
            snprintf(args + k, sizeof args - k, " %s/arm%d.bin", dir, o);
            snprintf(harg + kh, sizeof harg - kh, " %s/host%d.bin", dir, o);
        }
        cr_assert_eq(ecu_compile("gcc", "-O2", dir, "h_host", log, sizeof log), 0, "%s", log);
        cr_assert_eq(ecu_compile("arm-linux-gnueabihf-gcc", "-O2 -static", dir, "h_arm", log, sizeof log), 0, "%s", log);
        cr_assert_eq(tu_run(log, sizeof log, "%s/h_host%s", dir, harg), 0, "%s", log);
        cr_assert_eq(tu_run(log, sizeof log, "qemu-arm %s/h_arm%s", dir, args), 0, "qemu-arm: %s", log);
        for (int o = 0; o < m->g->n_outputs; o++) {
            char pa[600], pb[600];
            size_t na = 0, nb = 0;
            snprintf(pa, sizeof pa, "%s/host%d.bin", dir, o);
            snprintf(pb, sizeof pb, "%s/arm%d.bin", dir, o);
            unsigned char *a = tu_file_read(pa, &na), *b = tu_file_read(pb, &nb);
            cr_assert(a && b && na == nb && na > 0, "output %d: %zu and %zu bytes", o, na, nb);
            int same = memcmp(a, b, na) == 0;
            if (o < 6) { /* float32 outputs: any NaN equals any NaN (x86 and ARM default NaNs differ) */
                same = 1;
                for (size_t e = 0; e < na / 4; e++) {
                    float fa, fb;
                    memcpy(&fa, a + 4 * e, 4), memcpy(&fb, b + 4 * e, 4);
                    same &= memcmp(&fa, &fb, 4) == 0 || (fa != fa && fb != fb);
                }
            }
            cr_expect(same, "output %d (%s) under qemu-arm differs from the host's", o, rt_op_name(m->g->nodes[o].op));
            free(a);
            free(b);
        }
    }
    tu_tmpdir_remove(dir);
    op_free(m);
}
