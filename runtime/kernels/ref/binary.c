/*
 * binary.c — reference kernels for the broadcasting element-wise ops: arithmetic (Add, Sub,
 * Mul, Div, Pow, Mod, PRelu), comparisons, logic, Where, and the variadic Max, Min, Sum, Mean.
 *
 * Every op runs as row functions over the broadcast output (elementwise.h's walker). Row
 * functions are generated per op and dtype from a one-line expression of x0 and x1 (the
 * two source elements) and collected into per-op tables indexed by dtype; a NULL entry is a
 * dtype the spec does not allow for the op. float16 and bfloat16 have no rows of their own:
 * lift_row widens each block of a row to float32, runs the float32 row and rounds back.
 * Large outputs (rows_run_par) are split along their first axis longer than 1 into ranges
 * run on the pool's threads (c->pool, rt_threads.h), each range again a broadcast walk.
 *
 * Integer semantics are numpy's: results wrap modulo 2^bits (signed arithmetic goes through
 * the unsigned type W, so overflow is defined), Div truncates toward zero as C does, Mod
 * follows the divisor's sign (fmod=0, Python) or the dividend's (fmod=1, C); an integer
 * division by zero is an error rather than undefined behaviour. Max and Min propagate NaN.
 * The variadic ops fold their inputs left to right into the output: out = in0 op in1, then
 * out = out op ink; Mean divides the sum by the input count at the end.
 */
#include "elementwise.h"
#include "../../rt_threads.h"

#include <math.h>

/* dtype lists: X(op, DT, T = element type, W = type arithmetic wraps in) */
#define FLOAT_TYPES(X, op) X(op, F32, float, float) X(op, F64, double, double)
#define SINT_TYPES(X, op)                                                                  \
    X(op, I8, int8_t, uint32_t) X(op, I16, int16_t, uint32_t) X(op, I32, int32_t, uint32_t) \
    X(op, I64, int64_t, uint64_t)
#define UINT_TYPES(X, op)                                                                     \
    X(op, U8, uint8_t, uint32_t) X(op, U16, uint16_t, uint32_t) X(op, U32, uint32_t, uint32_t) \
    X(op, U64, uint64_t, uint64_t)
#define INT_TYPES(X, op) SINT_TYPES(X, op) UINT_TYPES(X, op)
#define NUM_TYPES(X, op) FLOAT_TYPES(X, op) INT_TYPES(X, op)

/* Row generators: output of the input type, or bool; op##_EXPR(T, W) gives the expression. */
#define ROW_SAME(op, DT, T, W) EW_ROW2(op##_##DT, T, T, T, op##_EXPR(T, W))
#define ROW_BOOL(op, DT, T, W) EW_ROW2(op##_##DT, T, T, uint8_t, (uint8_t)(op##_EXPR(T, W)))
#define ENTRY(op, DT, T, W) [RT_##DT] = op##_##DT,

/* ---- arithmetic ---- */
#define add_EXPR(T, W) (T)((W)x0 + (W)x1)
#define sub_EXPR(T, W) (T)((W)x0 - (W)x1)
#define mul_EXPR(T, W) (T)((W)x0 * (W)x1)
NUM_TYPES(ROW_SAME, add)
NUM_TYPES(ROW_SAME, sub)
NUM_TYPES(ROW_SAME, mul)
static const EwRowFn add_rows[RT_DTYPE_END] = {NUM_TYPES(ENTRY, add)};
static const EwRowFn sub_rows[RT_DTYPE_END] = {NUM_TYPES(ENTRY, sub)};
static const EwRowFn mul_rows[RT_DTYPE_END] = {NUM_TYPES(ENTRY, mul)};
static const EwRowFn sum_rows[RT_DTYPE_END] = {FLOAT_TYPES(ENTRY, add)}; /* Sum, Mean */

/* Div: x / -1 is negation, so INT_MIN / -1 wraps instead of trapping. */
#define divf_EXPR(T, W) x0 / x1
#define divs_EXPR(T, W) (x1 == -1 ? (T)(0 - (W)x0) : (T)(x0 / x1))
#define divu_EXPR(T, W) (T)(x0 / x1)
FLOAT_TYPES(ROW_SAME, divf)
SINT_TYPES(ROW_SAME, divs)
UINT_TYPES(ROW_SAME, divu)
static const EwRowFn div_rows[RT_DTYPE_END] = {
    FLOAT_TYPES(ENTRY, divf) SINT_TYPES(ENTRY, divs) UINT_TYPES(ENTRY, divu)};

/* Python's %: the remainder takes the divisor's sign. */
static inline int64_t pymod_i64(int64_t a, int64_t b) {
    int64_t r = b == -1 ? 0 : a % b;
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}
#define cmods_EXPR(T, W) (T)(x1 == -1 ? 0 : x0 % x1)
#define cmodu_EXPR(T, W) (T)(x0 % x1)
#define pymods_EXPR(T, W) (T)pymod_i64(x0, x1)
EW_ROW2(cmodf_F32, float, float, float, fmodf(x0, x1))
EW_ROW2(cmodf_F64, double, double, double, fmod(x0, x1))
SINT_TYPES(ROW_SAME, cmods)
UINT_TYPES(ROW_SAME, cmodu)
SINT_TYPES(ROW_SAME, pymods)
static const EwRowFn cmod_rows[RT_DTYPE_END] = { /* fmod = 1 */
    FLOAT_TYPES(ENTRY, cmodf) SINT_TYPES(ENTRY, cmods) UINT_TYPES(ENTRY, cmodu)};
static const EwRowFn pymod_rows[RT_DTYPE_END] = { /* fmod = 0: integers only */
    SINT_TYPES(ENTRY, pymods) UINT_TYPES(ENTRY, cmodu)};

/* PRelu: slope where x < 0; unsigned x is never negative. */
#define prelus_EXPR(T, W) (x0 < 0 ? (T)((W)x0 * (W)x1) : x0)
#define preluu_EXPR(T, W) ((void)x1, x0)
FLOAT_TYPES(ROW_SAME, prelus)
SINT_TYPES(ROW_SAME, prelus)
UINT_TYPES(ROW_SAME, preluu)
static const EwRowFn prelu_rows[RT_DTYPE_END] = {
    FLOAT_TYPES(ENTRY, prelus) SINT_TYPES(ENTRY, prelus) UINT_TYPES(ENTRY, preluu)};

/* Max / Min: a NaN operand wins (numpy maximum / minimum). */
#define maxf_EXPR(T, W) ((x0 > x1 || x0 != x0) ? x0 : x1)
#define minf_EXPR(T, W) ((x0 < x1 || x0 != x0) ? x0 : x1)
#define maxi_EXPR(T, W) (x0 > x1 ? x0 : x1)
#define mini_EXPR(T, W) (x0 < x1 ? x0 : x1)
FLOAT_TYPES(ROW_SAME, maxf)
FLOAT_TYPES(ROW_SAME, minf)
INT_TYPES(ROW_SAME, maxi)
INT_TYPES(ROW_SAME, mini)
static const EwRowFn max_rows[RT_DTYPE_END] = {FLOAT_TYPES(ENTRY, maxf) INT_TYPES(ENTRY, maxi)};
static const EwRowFn min_rows[RT_DTYPE_END] = {FLOAT_TYPES(ENTRY, minf) INT_TYPES(ENTRY, mini)};

/* ---- comparisons and logic (bool out) ---- */
#define eq_EXPR(T, W) x0 == x1
#define lt_EXPR(T, W) x0 < x1
#define le_EXPR(T, W) x0 <= x1
#define gt_EXPR(T, W) x0 > x1
#define ge_EXPR(T, W) x0 >= x1
NUM_TYPES(ROW_BOOL, eq)
ROW_BOOL(eq, BOOL, uint8_t, uint32_t)
NUM_TYPES(ROW_BOOL, lt)
NUM_TYPES(ROW_BOOL, le)
NUM_TYPES(ROW_BOOL, gt)
NUM_TYPES(ROW_BOOL, ge)
static const EwRowFn eq_rows[RT_DTYPE_END] = {NUM_TYPES(ENTRY, eq) ENTRY(eq, BOOL, , )};
static const EwRowFn lt_rows[RT_DTYPE_END] = {NUM_TYPES(ENTRY, lt)};
static const EwRowFn le_rows[RT_DTYPE_END] = {NUM_TYPES(ENTRY, le)};
static const EwRowFn gt_rows[RT_DTYPE_END] = {NUM_TYPES(ENTRY, gt)};
static const EwRowFn ge_rows[RT_DTYPE_END] = {NUM_TYPES(ENTRY, ge)};

#define and_EXPR(T, W) x0 && x1
#define or_EXPR(T, W) x0 || x1
#define xor_EXPR(T, W) !x0 != !x1
ROW_BOOL(and, BOOL, uint8_t, uint32_t)
ROW_BOOL(or, BOOL, uint8_t, uint32_t)
ROW_BOOL(xor, BOOL, uint8_t, uint32_t)
static const EwRowFn and_rows[RT_DTYPE_END] = {ENTRY(and, BOOL, , )};
static const EwRowFn or_rows[RT_DTYPE_END] = {ENTRY(or, BOOL, , )};
static const EwRowFn xor_rows[RT_DTYPE_END] = {ENTRY(xor, BOOL, , )};

/* ---- Pow: base T, exponent converted beforehand to the compute type named second ---- */

/* Exact integer power by squaring, wrapping modulo 2^64; a negative exponent gives the
 * truncated real result (0 unless the base is 1 or -1). */
static int64_t ipow(int64_t b, int64_t e) {
    if (e < 0) return b == 1 ? 1 : b == -1 ? ((e & 1) ? -1 : 1) : 0;
    uint64_t r = 1, x = (uint64_t)b;
    for (; e; e >>= 1, x *= x)
        if (e & 1) r *= x;
    return (int64_t)r;
}

/* double -> integer in [lo, hi], truncating; NaN -> 0. */
static int64_t sat_i64(double d, int64_t lo, int64_t hi) {
    if (d != d) return 0;
    if (d <= (double)lo) return lo;
    if (d >= (double)hi) return hi;
    return (int64_t)d;
}

EW_ROW2(pow_F32, float, float, float, powf(x0, x1))
EW_ROW2(pow_F64, double, double, double, pow(x0, x1))
EW_ROW2(pow_I32_I64, int32_t, int64_t, int32_t, (int32_t)ipow(x0, x1))
EW_ROW2(pow_I64_I64, int64_t, int64_t, int64_t, ipow(x0, x1))
EW_ROW2(pow_I32_F64, int32_t, double, int32_t, (int32_t)sat_i64(pow(x0, x1), INT32_MIN, INT32_MAX))
EW_ROW2(pow_I64_F64, int64_t, double, int64_t, sat_i64(pow((double)x0, x1), INT64_MIN, INT64_MAX))

/* ---- Where: a byte copy of the chosen element, by element size ---- */
#define WHERE_ROW(NAME, T)                                                                 \
    static void NAME(int64_t n, const void *const *s, const int64_t *st, void *dst,        \
                     const void *ctx) {                                                    \
        const uint8_t *cond = s[0];                                                        \
        const T *a = s[1], *b = s[2];                                                      \
        T *y = dst;                                                                        \
        (void)ctx;                                                                         \
        for (int64_t i = 0; i < n; i++) y[i] = cond[i * st[0]] ? a[i * st[1]] : b[i * st[2]]; \
    }
WHERE_ROW(where_1, uint8_t)
WHERE_ROW(where_2, uint16_t)
WHERE_ROW(where_4, uint32_t)
WHERE_ROW(where_8, uint64_t)

/* ---- driving rows ---- */

/* Runs a float32 row on float16/bfloat16 data: each block of EW_CHUNK elements of the half
 * sources is widened, the output block rounded back to the output's half type. */
typedef struct {
    EwRowFn fn;                      /* the float32 row */
    int n_src;
    RtDtype src_dt[EW_MAX_SRC];
    size_t src_size[EW_MAX_SRC];     /* bytes per element */
    RtDtype dst_dt;
    size_t dst_size;
} LiftCtx;

static void lift_row(int64_t n, const void *const *src, const int64_t *step, void *dst,
                     const void *ctx) {
    const LiftCtx *L = ctx;
    float buf[EW_MAX_SRC][EW_CHUNK], ybuf[EW_CHUNK];
    for (int64_t i0 = 0; i0 < n; i0 += EW_CHUNK) {
        int64_t m = n - i0 < EW_CHUNK ? n - i0 : EW_CHUNK;
        const void *s[EW_MAX_SRC];
        int64_t st[EW_MAX_SRC];
        for (int k = 0; k < L->n_src; k++) {
            const char *p = (const char *)src[k] + (size_t)(i0 * step[k]) * L->src_size[k];
            st[k] = step[k];
            s[k] = p;
            if (ew_is_half(L->src_dt[k])) {
                ew_half_load(L->src_dt[k], (const uint16_t *)p, step[k], step[k] ? m : 1, buf[k]);
                s[k] = buf[k];
                st[k] = step[k] ? 1 : 0;
            }
        }
        char *y = (char *)dst + (size_t)i0 * L->dst_size;
        if (ew_is_half(L->dst_dt)) {
            L->fn(m, s, st, ybuf, NULL);
            ew_half_store(L->dst_dt, ybuf, m, (uint16_t *)y);
        } else {
            L->fn(m, s, st, y, NULL);
        }
    }
}

/* Least output elements per chunk when an op is split across threads (so only outputs
 * of at least twice this are split): below it, handing a chunk to a worker costs about as
 * much as the loop. */
#define BINARY_PAR_MIN ((int64_t)1 << 15)

/* A broadcast loop split along output axis `axis`, the first axis longer than 1: a chunk
 * [i0, i1) of that axis is again a broadcast of sub-tensors (every axis before it has
 * size 1), so the walker runs on views: the output and each source that is not broadcast
 * along the axis are narrowed to the slice; broadcast sources stay whole. Every element is
 * computed by one chunk with the row function the whole loop would use. */
typedef struct {
    int n_src;
    const RtTensor *const *src;
    RtTensor *y;
    EwRowFn fn;
    const void *ctx;
    int axis;
} RowsJob;

/* t narrowed to [i0, i1) along its axis aligned with output axis `axis` of an output of
 * rank `out_rank`; t unchanged when it is broadcast along that axis. */
static RtTensor rows_view(const RtTensor *t, int out_rank, int axis, int64_t i0, int64_t i1) {
    RtTensor v = *t;
    int a = axis - (out_rank - t->rank);
    if (a < 0 || t->dims[a] == 1) return v;
    int64_t inner = rt_shape_numel(t->rank - a - 1, t->dims + a + 1);
    v.dims[a] = i1 - i0;
    v.data = (char *)t->data + (size_t)(i0 * inner) * rt_dtype_size(t->dtype);
    return v;
}

static void rows_chunk(void *arg, int64_t i0, int64_t i1) {
    const RowsJob *j = arg;
    RtTensor sv[EW_MAX_SRC], yv = rows_view(j->y, j->y->rank, j->axis, i0, i1);
    const RtTensor *sp[EW_MAX_SRC];
    for (int k = 0; k < j->n_src; k++) {
        sv[k] = rows_view(j->src[k], j->y->rank, j->axis, i0, i1);
        sp[k] = &sv[k];
    }
    ew_broadcast_run(j->n_src, sp, &yv, j->fn, j->ctx);
}

/* ew_broadcast_run, split across the pool's threads when the output is large. */
static void rows_run_par(RtKernelCtx *c, int n_src, const RtTensor *const *src, RtTensor *y, EwRowFn fn,
                         const void *ctx) {
    int64_t total = rt_numel(y);
    int axis = 0;
    while (axis < y->rank && y->dims[axis] == 1) axis++;
    if (rt_pool_threads(c->pool) < 2 || total < 2 * BINARY_PAR_MIN || axis == y->rank) {
        ew_broadcast_run(n_src, src, y, fn, ctx);
        return;
    }
    RowsJob j = {n_src, src, y, fn, ctx, axis};
    int64_t per = total / y->dims[axis]; /* output elements per index of the axis */
    rt_parallel_for(c->pool, y->dims[axis], per >= BINARY_PAR_MIN ? 1 : BINARY_PAR_MIN / per, rows_chunk, &j);
}

/* y = fn over the broadcast sources (fn is the float32 row when any dtype is half). */
static void rows_run(RtKernelCtx *c, int n_src, const RtTensor *const *src, RtTensor *y, EwRowFn fn) {
    LiftCtx L = {fn, n_src, {RT_UNDEFINED}, {0}, y->dtype, rt_dtype_size(y->dtype)};
    int lift = ew_is_half(y->dtype);
    for (int k = 0; k < n_src; k++) {
        L.src_dt[k] = src[k]->dtype;
        L.src_size[k] = rt_dtype_size(src[k]->dtype);
        lift |= ew_is_half(src[k]->dtype);
    }
    if (lift) rows_run_par(c, n_src, src, y, lift_row, &L);
    else rows_run_par(c, n_src, src, y, fn, NULL);
}

/* The row for dtype dt in table (half types use the float32 row), or NULL. */
static EwRowFn row_find(const EwRowFn *table, RtDtype dt) {
    if (ew_is_half(dt)) dt = RT_F32;
    return (dt > RT_UNDEFINED && dt < RT_DTYPE_END) ? table[dt] : NULL;
}

/* ---- two-input ops ---- */

static const char *in_name(int op, int i) {
    if (op == RT_OP_PRELU) return i ? "slope" : "X";
    return i ? "B" : "A";
}

/* Chooses the op's row table; *to_bool says the output is bool. */
static int binary_table(RtKernelCtx *c, const RtNode *n, RtDtype dt, const EwRowFn **t,
                        int *to_bool) {
    *to_bool = 0;
    switch (n->op) {
    case RT_OP_ADD: *t = add_rows; break;
    case RT_OP_SUB: *t = sub_rows; break;
    case RT_OP_MUL: *t = mul_rows; break;
    case RT_OP_DIV: *t = div_rows; break;
    case RT_OP_PRELU: *t = prelu_rows; break;
    case RT_OP_MOD: {
        int64_t fm = rt_attr_int(n, "fmod", 0);
        if (fm != 0 && fm != 1) return rt_fail(c, "attribute 'fmod' is %lld; expected 0 or 1", (long long)fm);
        if (fm == 0 && rt_dtype_is_float(dt))
            return rt_fail(c, "Mod on %s needs fmod=1 (fmod=0 is for integers)", rt_dtype_name(dt));
        *t = fm ? cmod_rows : pymod_rows;
        break;
    }
    case RT_OP_EQUAL: *t = eq_rows; *to_bool = 1; break;
    case RT_OP_LESS: *t = lt_rows; *to_bool = 1; break;
    case RT_OP_LESS_OR_EQUAL: *t = le_rows; *to_bool = 1; break;
    case RT_OP_GREATER: *t = gt_rows; *to_bool = 1; break;
    case RT_OP_GREATER_OR_EQUAL: *t = ge_rows; *to_bool = 1; break;
    case RT_OP_AND: *t = and_rows; *to_bool = 1; break;
    case RT_OP_OR: *t = or_rows; *to_bool = 1; break;
    case RT_OP_XOR: *t = xor_rows; *to_bool = 1; break;
    default: return rt_fail(c, "op %s is not a binary element-wise op", rt_op_name(n->op));
    }
    return RT_OK;
}

/* Opsets 1-6 (Add Sub Mul Div Pow And Or Xor Equal Greater Less): without broadcast=1 the
 * shapes must be equal; with it, B is a single element, or its dims equal A's from `axis` (a
 * suffix by default). *b becomes a view with trailing 1s ([b0 .. bk, 1 .. 1]) that numpy
 * broadcasting aligns the same way. The frontend rewrites such nodes into opset 7 (numpy
 * broadcasting); this serves shape inference before the rewrite and direct runtime users. */
static int legacy_broadcast_view(RtKernelCtx *c, const RtNode *n, const RtTensor *a, RtTensor *b) {
    int64_t bc = rt_attr_int(n, "broadcast", 0);
    char sa[128], sb[128];
    if (n->opset <= 0 || n->opset >= 7) {
        if (bc == 0) return RT_OK;
        rt_fail(c, "attribute 'broadcast'=1 (opset < 7 broadcasting along 'axis') is not allowed at opset %d, "
                   "which broadcasts numpy-style", n->opset);
        return RT_ERR_UNSUPPORTED;
    }
    rt_shape_str(a->rank, a->dims, sa, sizeof sa);
    rt_shape_str(b->rank, b->dims, sb, sizeof sb);
    if (bc == 0) {
        int same = a->rank == b->rank;
        for (int d = 0; same && d < a->rank; d++) same = a->dims[d] == b->dims[d];
        if (!same) return rt_fail(c, "inputs of shapes %s and %s differ and attribute 'broadcast' is not 1", sa, sb);
        return RT_OK;
    }
    if (rt_numel(b) == 1 && b->rank <= a->rank) {
        b->rank = 0; /* one element: broadcast everywhere */
        return RT_OK;
    }
    int64_t axis = rt_attr_int(n, "axis", (int64_t)a->rank - b->rank);
    int ok = axis >= 0 && axis + b->rank <= a->rank;
    for (int d = 0; ok && d < b->rank; d++) ok = b->dims[d] == a->dims[axis + d];
    if (!ok) return rt_fail(c, "input B of shape %s does not match input A of shape %s from axis %lld", sb, sa,
                            (long long)axis);
    while (b->rank < a->rank - axis) b->dims[b->rank++] = 1;
    return RT_OK;
}

/* Integer Div / Mod: a zero divisor is undefined in C, so it is refused up front. */
static int divisor_check(RtKernelCtx *c, const RtTensor *b) {
    if (!b->data || rt_dtype_is_float(b->dtype)) return RT_OK;
    for (int64_t i = 0, cnt = rt_numel(b); i < cnt; i++)
        if (rt_get_i64(b, i) == 0)
            return rt_fail(c, "integer division by zero: input 'B' is 0 at flat index %lld", (long long)i);
    return RT_OK;
}

static int k_binary(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *src[2] = {rt_in(n, in, 0), rt_in(n, in, 1)};
    const char *na = in_name(n->op, 0), *nb = in_name(n->op, 1);
    if (!src[0] || !src[1]) return rt_fail(c, "inputs '%s' and '%s' are required", na, nb);
    RtTensor bview = *src[1];
    RT_TRY(legacy_broadcast_view(c, n, src[0], &bview));
    src[1] = &bview;
    RtDtype dt = src[0]->dtype;
    if (src[1]->dtype != dt)
        return rt_fail(c, "inputs '%s' (%s) and '%s' (%s) must have the same dtype", na,
                       rt_dtype_name(dt), nb, rt_dtype_name(src[1]->dtype));
    const EwRowFn *table;
    int to_bool;
    RT_TRY(binary_table(c, n, dt, &table, &to_bool));
    EwRowFn fn = row_find(table, dt);
    if (!fn) return ew_unsupported(c, dt, na);
    int rank;
    int64_t dims[RT_MAX_RANK];
    RT_TRY(ew_broadcast_all(c, 2, src, &rank, dims));
    if (n->op == RT_OP_PRELU && (rank != src[0]->rank || rt_shape_numel(rank, dims) != rt_numel(src[0]))) {
        char sx[128], ss[128];
        return rt_fail(c, "slope of shape %s does not broadcast to X of shape %s",
                       rt_shape_str(src[1]->rank, src[1]->dims, ss, sizeof ss),
                       rt_shape_str(src[0]->rank, src[0]->dims, sx, sizeof sx));
    }
    if ((n->op == RT_OP_DIV || n->op == RT_OP_MOD) && rt_shape_numel(rank, dims) > 0)
        RT_TRY(divisor_check(c, src[1]));
    RT_TRY(ew_out_alloc(c, out[0], to_bool ? RT_BOOL : dt, rank, dims, 2, src));
    rows_run(c, 2, src, out[0], fn);
    return RT_OK;
}

/* ---- Pow ---- */

/* The row for base dtype bt and converted-exponent dtype et, or NULL. */
static EwRowFn pow_row(RtDtype bt, RtDtype et) {
    switch (bt) {
    case RT_F32: case RT_F16: case RT_BF16: return pow_F32;
    case RT_F64: return pow_F64;
    case RT_I32: return et == RT_F64 ? pow_I32_F64 : pow_I32_I64;
    case RT_I64: return et == RT_F64 ? pow_I64_F64 : pow_I64_I64;
    default: return NULL;
    }
}

/* What the exponent is converted to: the base's float type; for integer bases int64, or
 * float64 when the exponent is fractional. float16/bfloat16 exponents of a float32-class
 * base stay as they are (the lift widens them). */
static RtDtype pow_exponent_dtype(RtDtype bt, RtDtype et) {
    switch (bt) {
    case RT_F32: case RT_F16: case RT_BF16: return (et == RT_F32 || ew_is_half(et)) ? et : RT_F32;
    case RT_F64: return RT_F64;
    default: return rt_dtype_is_float(et) ? RT_F64 : RT_I64;
    }
}

static int k_pow(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *src[2] = {rt_in(n, in, 0), rt_in(n, in, 1)};
    if (!src[0] || !src[1]) return rt_fail(c, "inputs 'X' and 'Y' are required");
    RtTensor yview = *src[1];
    RT_TRY(legacy_broadcast_view(c, n, src[0], &yview));
    src[1] = &yview;
    RtDtype bt = src[0]->dtype, yt = src[1]->dtype;
    if (!pow_row(bt, RT_I64)) return ew_unsupported(c, bt, "X");
    if (yt == RT_BOOL || yt == RT_STRING || rt_dtype_size(yt) == 0) return ew_unsupported(c, yt, "Y");
    int rank;
    int64_t dims[RT_MAX_RANK];
    RT_TRY(ew_broadcast_all(c, 2, src, &rank, dims));
    RT_TRY(ew_out_alloc(c, out[0], bt, rank, dims, 2, src));
    RtDtype et = pow_exponent_dtype(bt, yt);
    RtTensor conv = *src[1];
    if (et != yt) { /* convert the exponent once, not per element */
        conv.dtype = et;
        conv.data = rt_scratch(c, (size_t)rt_nbytes(&conv));
        if (!conv.data) return RT_ERR_NOMEM;
        for (int64_t i = 0, cnt = rt_numel(&conv); i < cnt; i++) {
            if (et == RT_I64) ((int64_t *)conv.data)[i] = rt_get_i64(src[1], i);
            else rt_set_f64(&conv, i, rt_get_f64(src[1], i));
        }
    }
    const RtTensor *run[2] = {src[0], &conv};
    rows_run(c, 2, run, out[0], pow_row(bt, et));
    if (et != yt) rt_scratch_free(c, conv.data);
    return RT_OK;
}

/* ---- Where ---- */

static int k_where(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *src[3] = {rt_in(n, in, 0), rt_in(n, in, 1), rt_in(n, in, 2)};
    if (!src[0] || !src[1] || !src[2]) return rt_fail(c, "inputs 'condition', 'X' and 'Y' are required");
    if (src[0]->dtype != RT_BOOL) return ew_unsupported(c, src[0]->dtype, "condition");
    RtDtype dt = src[1]->dtype;
    if (src[2]->dtype != dt)
        return rt_fail(c, "inputs 'X' (%s) and 'Y' (%s) must have the same dtype", rt_dtype_name(dt),
                       rt_dtype_name(src[2]->dtype));
    size_t sz = dt == RT_STRING ? 0 : rt_dtype_size(dt);
    EwRowFn fn = sz == 1 ? where_1 : sz == 2 ? where_2 : sz == 4 ? where_4 : sz == 8 ? where_8 : NULL;
    if (!fn) return ew_unsupported(c, dt, "X");
    int rank;
    int64_t dims[RT_MAX_RANK];
    RT_TRY(ew_broadcast_all(c, 3, src, &rank, dims));
    RT_TRY(ew_out_alloc(c, out[0], dt, rank, dims, 3, src));
    rows_run_par(c, 3, src, out[0], fn, NULL);
    return RT_OK;
}

/* ---- variadic: Max, Min, Sum, Mean ---- */

/* y /= k element-wise (Mean). */
static void mean_divide(RtTensor *y, int k) {
    int64_t cnt = rt_numel(y);
    if (y->dtype == RT_F32) {
        float *p = y->data;
        for (int64_t i = 0; i < cnt; i++) p[i] /= (float)k;
    } else {
        for (int64_t i = 0; i < cnt; i++) rt_set_f64(y, i, rt_get_f64(y, i) / k);
    }
}

static int k_variadic(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    int m = n->n_in;
    if (m < 1) return rt_fail(c, "needs at least one input");
    if (m > RT_NODE_MAX_IN) return rt_fail(c, "has %d inputs; at most %d are supported", m, RT_NODE_MAX_IN);
    const RtTensor *src[RT_NODE_MAX_IN];
    for (int k = 0; k < m; k++) {
        src[k] = rt_in(n, in, k);
        if (!src[k]) return rt_fail(c, "input 'data_%d' is missing", k);
        if (src[k]->dtype != src[0]->dtype)
            return rt_fail(c, "input 'data_%d' is %s but 'data_0' is %s", k,
                           rt_dtype_name(src[k]->dtype), rt_dtype_name(src[0]->dtype));
    }
    RtDtype dt = src[0]->dtype;
    const EwRowFn *table = n->op == RT_OP_MAX ? max_rows : n->op == RT_OP_MIN ? min_rows : sum_rows;
    EwRowFn fn = row_find(table, dt);
    if (!fn) return ew_unsupported(c, dt, "data_0");
    int rank;
    int64_t dims[RT_MAX_RANK];
    RT_TRY(ew_broadcast_all(c, m, src, &rank, dims));
    RtTensor *y = out[0];
    RT_TRY(ew_out_alloc(c, y, dt, rank, dims, m, src));
    if (m == 1) {
        memcpy(y->data, src[0]->data, (size_t)rt_nbytes(y));
        return RT_OK;
    }
    const RtTensor *pair[2] = {src[0], src[1]};
    rows_run(c, 2, pair, y, fn);
    for (int k = 2; k < m; k++) { /* y may be read as source 0: same shape, same offsets */
        pair[0] = y;
        pair[1] = src[k];
        rows_run(c, 2, pair, y, fn);
    }
    if (n->op == RT_OP_MEAN) mean_divide(y, m);
    return RT_OK;
}

const RtKernelEntry rt_kernels_binary[] = {
    {RT_OP_ADD, k_binary},
    {RT_OP_SUB, k_binary},
    {RT_OP_MUL, k_binary},
    {RT_OP_DIV, k_binary},
    {RT_OP_POW, k_pow},
    {RT_OP_MOD, k_binary},
    {RT_OP_PRELU, k_binary},
    {RT_OP_EQUAL, k_binary},
    {RT_OP_LESS, k_binary},
    {RT_OP_LESS_OR_EQUAL, k_binary},
    {RT_OP_GREATER, k_binary},
    {RT_OP_GREATER_OR_EQUAL, k_binary},
    {RT_OP_AND, k_binary},
    {RT_OP_OR, k_binary},
    {RT_OP_XOR, k_binary},
    {RT_OP_WHERE, k_where},
    {RT_OP_MAX, k_variadic},
    {RT_OP_MIN, k_variadic},
    {RT_OP_SUM, k_variadic},
    {RT_OP_MEAN, k_variadic},
    {-1, 0},
};
