/*
 * vmath_avx512.c — the array entry points of vmath.h: y[i] = f(x[i]) over n floats.
 *
 * With AVX-512F, 16 elements per step through vmath.h's inline functions; the last n % 16
 * go through the same code with masked loads and stores (the masked-off lanes compute on
 * zeros and are not stored), so every element gets the vector result whatever its position,
 * and a loop split into chunks at any boundary gives the same bits. Without AVX-512 (or off
 * x86), plain libm loops with the formulas of the reference kernels (ref/unary.c).
 */
#include "vmath.h"

#include <math.h>

#define SQRT1_2 0.70710678118654752440  /* 1/sqrt(2), Gelu */
#define SQRT_2_PI 0.79788456080286535588 /* sqrt(2/pi), Gelu's tanh approximation */

/* ---- portable loops (the reference kernels' formulas) ---- */

static float sigmoid_ref(float v) {
    if (v >= 0) return 1.0f / (1.0f + expf(-v));
    float e = expf(v); /* v < 0: e in (0, 1), no overflow */
    return e / (1.0f + e);
}

static float gelu_ref(float v, int tanh_approx) {
    if (tanh_approx)
        return 0.5f * v * (1.0f + tanhf((float)SQRT_2_PI * (v + 0.044715f * v * v * v)));
    return 0.5f * v * (1.0f + erff(v * (float)SQRT1_2));
}

typedef enum { VM_EXP, VM_ERF, VM_TANH, VM_SIGMOID, VM_GELU, VM_GELU_TANH } VmFn;

static void vm_scalar(VmFn f, const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        switch (f) {
        case VM_EXP: y[i] = expf(v); break;
        case VM_ERF: y[i] = erff(v); break;
        case VM_TANH: y[i] = tanhf(v); break;
        case VM_SIGMOID: y[i] = sigmoid_ref(v); break;
        case VM_GELU: y[i] = gelu_ref(v, 0); break;
        case VM_GELU_TANH: y[i] = gelu_ref(v, 1); break;
        }
    }
}

#if defined(__x86_64__) && defined(__GNUC__)

int rt_vm_avx512(void) { return __builtin_cpu_supports("avx512f") != 0; }

/* One loop per function, with the function inlined: F is an rt_vm512_* name. */
#define VM_LOOP(NAME, F)                                                                 \
    RT_VM_T512 static void NAME(const float *x, float *y, int64_t n) {                   \
        int64_t i = 0;                                                                   \
        for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, F(_mm512_loadu_ps(x + i))); \
        if (i < n) {                                                                     \
            __mmask16 m = (__mmask16)((1u << (n - i)) - 1);                              \
            _mm512_mask_storeu_ps(y + i, m, F(_mm512_maskz_loadu_ps(m, x + i)));         \
        }                                                                                \
    }
VM_LOOP(loop_exp, rt_vm512_exp)
VM_LOOP(loop_erf, rt_vm512_erf)
VM_LOOP(loop_tanh, rt_vm512_tanh)
VM_LOOP(loop_sigmoid, rt_vm512_sigmoid)
VM_LOOP(loop_gelu, rt_vm512_gelu)
VM_LOOP(loop_gelu_tanh, rt_vm512_gelu_tanh)

static void vm_run(VmFn f, const float *x, float *y, int64_t n) {
    if (!rt_vm_avx512()) {
        vm_scalar(f, x, y, n);
        return;
    }
    switch (f) {
    case VM_EXP: loop_exp(x, y, n); break;
    case VM_ERF: loop_erf(x, y, n); break;
    case VM_TANH: loop_tanh(x, y, n); break;
    case VM_SIGMOID: loop_sigmoid(x, y, n); break;
    case VM_GELU: loop_gelu(x, y, n); break;
    case VM_GELU_TANH: loop_gelu_tanh(x, y, n); break;
    }
}

#else /* no AVX-512 code off x86-64 / GCC-style compilers */

int rt_vm_avx512(void) { return 0; }

static void vm_run(VmFn f, const float *x, float *y, int64_t n) { vm_scalar(f, x, y, n); }

#endif

void rt_vm_exp_f32(const float *x, float *y, int64_t n) { vm_run(VM_EXP, x, y, n); }
void rt_vm_erf_f32(const float *x, float *y, int64_t n) { vm_run(VM_ERF, x, y, n); }
void rt_vm_tanh_f32(const float *x, float *y, int64_t n) { vm_run(VM_TANH, x, y, n); }
void rt_vm_sigmoid_f32(const float *x, float *y, int64_t n) { vm_run(VM_SIGMOID, x, y, n); }

void rt_vm_gelu_f32(const float *x, float *y, int64_t n, int tanh_approx) {
    vm_run(tanh_approx ? VM_GELU_TANH : VM_GELU, x, y, n);
}
