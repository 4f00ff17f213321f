/*
 * test_emit_math_nolibm.c — the libm-free helpers of emit-c's element-wise family
 * (codegen/ctemplates/b0_math_*.c, b1_math_*.c, compiled here with WK_NO_LIBM as the
 * emitted C compiles them under --no-libm) against libm over sweeps of float bit patterns:
 * floor/ceil/round and fmod must equal floorf/ceilf/nearbyintf/fmodf bit for bit (signed
 * zeros included);
 * log, log1p, expm1, sqrt, the trigonometric and hyperbolic functions and their inverses
 * must stay within the error bounds their comments
 * derive (the trigonometric ones over every exponent: both reductions, Payne-Hanek's up to
 * 3.4e38).
 */
#include <stdint.h>
#include <string.h>

#include "emitc_util.h"

#define WK_NO_LIBM 1
#include "../../codegen/ctemplates/b0_exp.c"
#include "../../codegen/ctemplates/b0_rsqrt.c"
#include "../../codegen/ctemplates/b0_math_atand.c"
#include "../../codegen/ctemplates/b0_math_ceil.c"
#include "../../codegen/ctemplates/b0_math_ceilf.c"
#include "../../codegen/ctemplates/b0_math_floor.c"
#include "../../codegen/ctemplates/b0_math_floorf.c"
#include "../../codegen/ctemplates/b0_math_fmodf.c"
#include "../../codegen/ctemplates/b0_math_logf.c"
#include "../../codegen/ctemplates/b0_math_round.c"
#include "../../codegen/ctemplates/b0_math_trig.c"
#include "../../codegen/ctemplates/b0_math_roundf.c"
#include "../../codegen/ctemplates/b1_math_expm1.c"
#include "../../codegen/ctemplates/b1_math_log1pf.c"
#include "../../codegen/ctemplates/b1_math_sqrt.c"
#include "../../codegen/ctemplates/b1_math_sinf.c"
#include "../../codegen/ctemplates/b1_math_cosf.c"
#include "../../codegen/ctemplates/b1_math_tanf.c"
#include "../../codegen/ctemplates/b1_math_powf.c"
#include "../../codegen/ctemplates/b1_math_atanf.c"
#include "../../codegen/ctemplates/b1_math_asinf.c"
#include "../../codegen/ctemplates/b1_math_acosf.c"
#include "../../codegen/ctemplates/b2_math_sinhf.c"
#include "../../codegen/ctemplates/b2_math_coshf.c"
#include "../../codegen/ctemplates/b2_math_asinhf.c"
#include "../../codegen/ctemplates/b2_math_acoshf.c"
#include "../../codegen/ctemplates/b2_math_atanhf.c"

/* Bounds (relative to the double-precision result): log is computed in double and rounded
 * once, half an ulp plus the series' 1e-12: 1 ulp (2^-23). sqrt: double x * rsqrt(x) to
 * ~1e-16, rounded once: 1 ulp. log1p: Kahan's form adds a float rounding of u and one of
 * the quotient to log's: 3 ulps. expm1: Horner's roundings below 0.5, exp's 2 ulps plus the
 * subtraction above: 4 ulps. sin, cos: the reduced argument keeps 30+ significant bits and
 * the kernels are good to 3e-14, so the one rounding to float dominates: 1 ulp; tan adds
 * a double division: 1 ulp. */
#define TRIG_REL_TOL 1.2e-7
/* atan, asin, acos: the double series to 1e-17 and one rounding: 1 ulp. sinh, cosh: exp's
 * or expm1's 2 ulps and float operations that mostly cancel in relative terms: 3 ulps
 * (1.6e-7 seen). asinh, acosh, atanh: log1p's (or log's) bound on an argument rounded
 * once, whose relative error the logarithm shrinks: 3 ulps (1.6e-7 seen). */
#define ATRIG_REL_TOL 1.2e-7
/* pow: exp(y log x) in double is good to ~|y log x| 2^-53, far below a float ulp, so the
 * one rounding to float makes it correctly rounded but for near-ties; glibc's powf is not
 * (up to 0.82 ulp, its documentation): the two differ by 1 ulp at most (seen), bound 2 ulps;
 * one subnormal step where the result is subnormal. */
#define POW_REL_TOL 2.4e-7
#define HYP_REL_TOL 3.6e-7
#define AHYP_REL_TOL 3.6e-7
#define LOG_REL_TOL 1.2e-7
#define SQRT_REL_TOL 1.2e-7
#define LOG1P_REL_TOL 3.6e-7
#define EXPM1_REL_TOL 4.8e-7

static float bits_float(uint32_t b) {
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

static int same_bits(float a, float b) { return memcmp(&a, &b, sizeof a) == 0 || (a != a && b != b); }

static double rel_err(double got, double want) {
    if (want == 0) return fabs(got);
    return fabs(got - want) / fabs(want);
}

/* Every 257th bit pattern of both signs: all exponents, NaN and infinities included. */
Test(emit_math_nolibm, floor_ceil_round_exact) {
    for (uint64_t b = 0; b <= 0xffffffffu; b += 257) {
        float x = bits_float((uint32_t)b);
        cr_assert(same_bits(wk_floorf(x), floorf(x)), "floor(%a) = %a, libm %a", x, wk_floorf(x), floorf(x));
        cr_assert(same_bits(wk_ceilf(x), ceilf(x)), "ceil(%a) = %a, libm %a", x, wk_ceilf(x), ceilf(x));
        cr_assert(same_bits(wk_roundf(x), nearbyintf(x)), "round(%a) = %a, libm %a", x, wk_roundf(x), nearbyintf(x));
        double d = (double)x * 1.000000119; /* doubles between the floats, large ones too */
        if (d == d)
            cr_assert(wk_floor(d) == floor(d) && wk_ceil(d) == ceil(d) && wk_round(d) == nearbyint(d), "double %a", d);
    }
    static const double halves[] = {0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 4503599627370495.5, -0.0, 8388607.5};
    for (size_t i = 0; i < sizeof halves / sizeof halves[0]; i++) {
        cr_expect(same_bits(wk_roundf((float)halves[i]), nearbyintf((float)halves[i])), "round %g", halves[i]);
        cr_expect_eq(wk_round(halves[i]), nearbyint(halves[i]), "round %.17g", halves[i]);
        cr_expect_eq(signbit(wk_round(halves[i])), signbit(nearbyint(halves[i])), "sign of round %g", halves[i]);
    }
}

Test(emit_math_nolibm, log_sqrt_accuracy) {
    double wl = 0, ws = 0;
    float al = 0, as = 0;
    for (uint32_t b = 1; b < 0x7f800000u; b += 263) { /* every positive finite float's range */
        float x = bits_float(b);
        double el = rel_err(wk_logf(x), log((double)x)), es = rel_err(wk_sqrtf(x), sqrt((double)x));
        if (el > wl) wl = el, al = x;
        if (es > ws) ws = es, as = x;
    }
    cr_expect(wl <= LOG_REL_TOL, "log: relative error %g at %a", wl, al);
    cr_expect(ws <= SQRT_REL_TOL, "sqrt: relative error %g at %a", ws, as);
    cr_expect(isinf(wk_logf(0.0f)) && wk_logf(0.0f) < 0);
    cr_expect(isnan(wk_logf(-1.0f)) && isnan(wk_logf(NAN)) && isnan(wk_sqrtf(-2.0f)));
    cr_expect(isinf(wk_logf(INFINITY)) && isinf(wk_sqrtf(INFINITY)));
    cr_expect(same_bits(wk_sqrtf(-0.0f), -0.0f) && wk_logf(1.0f) == 0.0f);
}

Test(emit_math_nolibm, log1p_expm1_accuracy) {
    double wp = 0, wm = 0;
    float ap = 0, am = 0;
    for (float x = -0.999f; x <= 60.0f; x += 0.0000731f) {
        double e = rel_err(wk_log1pf(x), log1p((double)x));
        if (e > wp) wp = e, ap = x;
    }
    for (float x = -30.0f; x <= 88.0f; x += 0.0000731f) {
        double e = rel_err(wk_expm1f(x), expm1((double)x));
        if (e > wm) wm = e, am = x;
    }
    for (float x = 1e-30f; x < 1e-3f; x *= 1.01f) { /* tiny arguments keep their relative accuracy */
        double e1 = rel_err(wk_log1pf(x), log1p((double)x)), e2 = rel_err(wk_expm1f(-x), expm1(-(double)x));
        if (e1 > wp) wp = e1, ap = x;
        if (e2 > wm) wm = e2, am = -x;
    }
    cr_expect(wp <= LOG1P_REL_TOL, "log1p: relative error %g at %a", wp, ap);
    cr_expect(wm <= EXPM1_REL_TOL, "expm1: relative error %g at %a", wm, am);
}

/* Every 389th bit pattern of the positive floats (each exponent, both reduction paths), and
 * both signs: sin and cos within an ulp of the double-precision result. */
Test(emit_math_nolibm, sin_cos_tan_accuracy) {
    double ws = 0, wc = 0, wt = 0;
    float as = 0, ac = 0, at = 0;
    for (uint32_t b = 0; b < 0x7f800000u; b += 389) {
        for (int sg = 0; sg < 2; sg++) {
            float x = bits_float(b | (sg ? 0x80000000u : 0));
            double es = rel_err(wk_sinf(x), sin((double)x)), ec = rel_err(wk_cosf(x), cos((double)x));
            double et = rel_err(wk_tanf(x), tan((double)x));
            if (es > ws) ws = es, as = x;
            if (ec > wc) wc = ec, ac = x;
            if (et > wt) wt = et, at = x;
        }
    }
    cr_expect(ws <= TRIG_REL_TOL, "sin: relative error %g at %a", ws, as);
    cr_expect(wc <= TRIG_REL_TOL, "cos: relative error %g at %a", wc, ac);
    cr_expect(wt <= TRIG_REL_TOL, "tan: relative error %g at %a", wt, at);
    cr_expect(isnan(wk_sinf(INFINITY)) && isnan(wk_cosf(-INFINITY)) && isnan(wk_tanf(NAN)));
    cr_expect(same_bits(wk_sinf(-0.0f), -0.0f) && wk_cosf(0.0f) == 1.0f);
}

typedef struct {
    const char *name;
    float (*own)(float);
    double (*ref)(double);
    double tol;
} Fn1;

/* Every 1021st bit pattern of both signs (the domains' edges, infinities and NaN among
 * them): the inverse trigonometric and the hyperbolic functions and their inverses. */
Test(emit_math_nolibm, inverse_and_hyperbolic_accuracy) {
    const Fn1 fns[] = {{"atan", wk_atanf, atan, ATRIG_REL_TOL},   {"asin", wk_asinf, asin, ATRIG_REL_TOL},
                       {"acos", wk_acosf, acos, ATRIG_REL_TOL},   {"sinh", wk_sinhf, sinh, HYP_REL_TOL},
                       {"cosh", wk_coshf, cosh, HYP_REL_TOL},     {"asinh", wk_asinhf, asinh, AHYP_REL_TOL},
                       {"acosh", wk_acoshf, acosh, AHYP_REL_TOL}, {"atanh", wk_atanhf, atanh, AHYP_REL_TOL}};
    for (size_t f = 0; f < sizeof fns / sizeof fns[0]; f++) {
        double worst = 0;
        float at = 0;
        for (uint64_t b = 0; b <= 0xffffffffu; b += 1021) {
            float x = bits_float((uint32_t)b), got = fns[f].own(x);
            double want = fns[f].ref((double)x);
            float wf = (float)want; /* where float overflows, the float result is inf */
            if (want != want || isinf(wf)) {
                cr_assert(want != want ? got != got : got == wf, "%s(%a) = %a, libm %a", fns[f].name, x, got, wf);
                continue;
            }
            double e = rel_err(got, want);
            if (e > worst) worst = e, at = x;
        }
        cr_expect(worst <= fns[f].tol, "%s: relative error %g at %a", fns[f].name, worst, at);
    }
}

/* fmod is exact: bit for bit libm's over pairs of bit patterns of all exponents and signs
 * (subnormals, zeros, infinities and NaN among them). */
Test(emit_math_nolibm, fmod_exact) {
    uint64_t seed = 7;
    for (int i = 0; i < 400000; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        uint32_t bx = (uint32_t)(seed >> 32), by = (uint32_t)seed;
        if (i % 4 == 1) /* y's exponent a little below x's: few doubling steps, small results */
            by = (by & 0x807fffffu) | (((bx >> 23) - (by & 7)) & 0xff) << 23;
        float x = bits_float(bx), y = bits_float(by);
        cr_assert(same_bits(wk_fmodf(x, y), fmodf(x, y)), "fmod(%a, %a) = %a, libm %a", x, y, wk_fmodf(x, y), fmodf(x, y));
    }
    cr_expect(same_bits(wk_fmodf(-0.0f, 3.0f), -0.0f) && same_bits(wk_fmodf(-6.0f, 3.0f), -0.0f));
    cr_expect(wk_fmodf(5.5f, INFINITY) == 5.5f && isnan(wk_fmodf(1.0f, 0.0f)) && isnan(wk_fmodf(INFINITY, 2.0f)));
}

/* pow over random pairs: x any bit pattern, y in turn uniform in [-8, 8], a small integer,
 * any bit pattern, or a special value; C99's special cases bit for bit, the rest within an
 * ulp of powf. */
Test(emit_math_nolibm, pow_accuracy) {
    static const float special[] = {0.0f, -0.0f, 1.0f, -1.0f, 0.5f, -0.5f, 2.0f, -3.0f, INFINITY, -INFINITY, NAN};
    uint64_t seed = 11;
    double worst = 0;
    float ax = 0, ay = 0;
    for (int i = 0; i < 600000; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        uint32_t bx = (uint32_t)(seed >> 32), r = (uint32_t)seed;
        float x = bits_float(bx), y;
        switch (i % 4) {
        case 0: y = (float)((double)(r % 1600001) / 100000.0 - 8.0); break;
        case 1: y = (float)((int)(r % 41) - 20); break;
        case 2: y = bits_float(r); break;
        default: y = special[r % (sizeof special / sizeof special[0])]; break;
        }
        if (i % 16 == 3) x = special[r % (sizeof special / sizeof special[0])];
        float got = wk_powf(x, y), want = powf(x, y);
        if (want != want || isinf(want) || want == 0 || x == 0 || isinf(x) || isinf(y)) {
            cr_assert(same_bits(got, want), "pow(%a, %a) = %a, libm %a", x, y, got, want);
            continue;
        }
        double e = fabs((double)got - want) <= 0x1p-149 ? 0 : rel_err(got, want);
        if (e > worst) worst = e, ax = x, ay = y;
    }
    cr_expect(worst <= POW_REL_TOL, "pow: relative error %g at (%a, %a)", worst, ax, ay);
}
