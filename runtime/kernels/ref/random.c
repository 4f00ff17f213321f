/*
 * random.c — the random generators: RandomUniform, RandomUniformLike, RandomNormal,
 * RandomNormalLike (opset 1) and Bernoulli (opset 15).
 *
 * The spec leaves the generator to the implementation; only the distributions are defined:
 *   RandomUniform(Like)  U[low, high)             (low default 0, high default 1)
 *   RandomNormal(Like)   N(mean, scale^2)          (mean default 0, scale default 1)
 *   Bernoulli            1 with probability input[i], else 0
 * Shapes: RandomUniform / RandomNormal from the `shape` attribute; the *Like ops and
 * Bernoulli from their input. dtype: the attribute (float16, bfloat16, float, double for the
 * generators; any numeric type or bool for Bernoulli), else float (RandomUniform,
 * RandomNormal) or the input's dtype (the others).
 *
 * Generator: splitmix64 (Steele, Lea, Flood 2014) — a 64-bit counter advanced by the golden
 * ratio and mixed; doubles take its top 53 bits (u in [0, 1)). Normals come from Box-Muller:
 * sqrt(-2 ln(1 - u1)) cos(2 pi u2). With the `seed` attribute the state starts from the seed's
 * bits, so every run of the node gives the same values (a fresh onnxruntime session does the
 * same for its first run); without it each run draws a new state from a process-wide counter
 * mixed with the clock, so runs differ. The compiler's constant folding leaves these ops
 * alone (passes/fold_constants.c), or a folded model would repeat one draw forever.
 */
#include <math.h>
#include <string.h>

#include "../kernel.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static uint64_t rnd_next(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double rnd_uniform(uint64_t *s) { return (double)(rnd_next(s) >> 11) * (1.0 / 9007199254740992.0); }

static uint64_t rnd_auto_counter;

/* Initial state: the seed's float bits, or (no seed) a fresh value per call. */
static uint64_t rnd_state(const RtNode *n) {
    const RtAttr *a = rt_attr(n, "seed");
    if (a) {
        float f = a->type == RT_ATTR_FLOAT ? a->f : (float)a->i;
        uint32_t bits;
        memcpy(&bits, &f, sizeof bits);
        return 0x5EEDull << 32 | bits;
    }
    uint64_t k = __atomic_add_fetch(&rnd_auto_counter, 1, __ATOMIC_RELAXED);
    uint64_t s = (uint64_t)rt_clock_ns() ^ (k * 0xD1B54A32D192ED03ull);
    return rnd_next(&s);
}

/* dtype attribute or def; a float type for the generators (any numeric or bool if any_type) */
static int rnd_dtype(RtKernelCtx *c, const RtNode *n, RtDtype def, int any_type, RtDtype *dt) {
    int64_t v = rt_attr_int(n, "dtype", def);
    *dt = (RtDtype)v;
    if (v > 0 && v < RT_DTYPE_END && rt_dtype_size((RtDtype)v) > 0 && v != RT_STRING &&
        (any_type || rt_dtype_is_float((RtDtype)v)))
        return RT_OK;
    rt_fail(c, "attribute dtype = %lld is not %s", (long long)v,
            any_type ? "a numeric or bool type" : "float16, bfloat16, float or double");
    return RT_ERR_UNSUPPORTED;
}

enum { RND_UNIFORM, RND_NORMAL };

/* Output shape from the `shape` attribute (like = NULL) or like's shape. */
static int rnd_generate(RtKernelCtx *c, const RtNode *n, const RtTensor *like, RtTensor *y, int kind) {
    int64_t dims[RT_MAX_RANK];
    int rank;
    if (like) {
        rank = like->rank;
        memcpy(dims, like->dims, sizeof(int64_t) * (size_t)rank);
    } else {
        const int64_t *sh;
        rank = rt_attr_ints(n, "shape", &sh);
        if (rank < 0) return rt_fail(c, "attribute shape is required");
        if (rank > RT_MAX_RANK) return rt_fail(c, "attribute shape has rank %d; at most %d", rank, RT_MAX_RANK);
        for (int i = 0; i < rank; i++) {
            if (sh[i] < 0) return rt_fail(c, "attribute shape[%d] = %lld is negative", i, (long long)sh[i]);
            dims[i] = sh[i];
        }
    }
    RtDtype dt;
    RT_TRY(rnd_dtype(c, n, like && rt_dtype_is_float(like->dtype) ? like->dtype : RT_F32, 0, &dt));
    RT_TRY(rt_out_alloc(c, y, dt, rank, dims));
    double a = kind == RND_UNIFORM ? rt_attr_float(n, "low", 0.0f) : rt_attr_float(n, "mean", 0.0f);
    double b = kind == RND_UNIFORM ? rt_attr_float(n, "high", 1.0f) : rt_attr_float(n, "scale", 1.0f);
    uint64_t s = rnd_state(n);
    int64_t total = rt_numel(y);
    for (int64_t i = 0; i < total; i++) {
        double v;
        if (kind == RND_UNIFORM) {
            v = a + (b - a) * rnd_uniform(&s);
        } else {
            double u1 = rnd_uniform(&s), u2 = rnd_uniform(&s);
            v = a + b * sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2);
        }
        rt_set_f64(y, i, v);
    }
    return RT_OK;
}

static int k_random_uniform(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    (void)in;
    return rnd_generate(c, n, NULL, out[0], RND_UNIFORM);
}
static int k_random_normal(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    (void)in;
    return rnd_generate(c, n, NULL, out[0], RND_NORMAL);
}
static int k_random_uniform_like(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    if (!rt_in(n, in, 0)) return rt_fail(c, "input is required");
    return rnd_generate(c, n, in[0], out[0], RND_UNIFORM);
}
static int k_random_normal_like(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    if (!rt_in(n, in, 0)) return rt_fail(c, "input is required");
    return rnd_generate(c, n, in[0], out[0], RND_NORMAL);
}

static int k_bernoulli(RtKernelCtx *c, const RtNode *n, RtTensor *const *in, RtTensor *const *out) {
    const RtTensor *p = rt_in(n, in, 0);
    if (!p) return rt_fail(c, "input is required");
    if (!rt_dtype_is_float(p->dtype)) {
        rt_fail(c, "input has dtype %s; probabilities must be a float type", rt_dtype_name(p->dtype));
        return RT_ERR_UNSUPPORTED;
    }
    RtDtype dt;
    RT_TRY(rnd_dtype(c, n, p->dtype, 1, &dt));
    RT_TRY(rt_out_alloc(c, out[0], dt, p->rank, p->dims));
    uint64_t s = rnd_state(n);
    int64_t total = rt_numel(p);
    for (int64_t i = 0; i < total; i++) rt_set_f64(out[0], i, rnd_uniform(&s) < rt_get_f64(p, i) ? 1.0 : 0.0);
    return RT_OK;
}

const RtKernelEntry rt_kernels_random[] = {
    {RT_OP_RANDOM_UNIFORM, k_random_uniform},
    {RT_OP_RANDOM_NORMAL, k_random_normal},
    {RT_OP_RANDOM_UNIFORM_LIKE, k_random_uniform_like},
    {RT_OP_RANDOM_NORMAL_LIKE, k_random_normal_like},
    {RT_OP_BERNOULLI, k_bernoulli},
    {-1, 0},
};
