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

/* Gelu's q(u) = Phi(-u): [coefficient j][interval i], printed by scripts/fit_gelu_table.py
 * (see rt_vm512_gelu). S = 0x1.63401ep+2f; largest relative error of the rounded table 5.3e-08. */
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((aligned(64))) const float rt_vm_gelu_tab[RT_VM_GELU_DEG + 1][32] = {
    {0x1p-1f, 0x1.b6ccccp-2f, 0x1.6fee6ep-2f, 0x1.2d8152p-2f, 0x1.e273aap-3f, 0x1.7888bap-3f,
     0x1.1e715ep-3f, 0x1.a88208p-4f, 0x1.323666p-4f, 0x1.adcf02p-5f, 0x1.2557bep-5f, 0x1.853982p-6f,
     0x1.f5d4cep-7f, 0x1.3a3facp-7f, 0x1.7e30bap-8f, 0x1.c3440cp-9f, 0x1.029544p-9f, 0x1.1f934ep-10f,
     0x1.364bc2p-11f, 0x1.44c9bap-12f, 0x1.49babap-13f, 0x1.44a18p-14f, 0x1.35ea48p-15f, 0x1.1edbd4p-16f,
     0x1.016856p-17f, 0x1.bfcf06p-19f, 0x1.798f26p-20f, 0x1.34874ep-21f, 0x1.e8ad94p-23f, 0x1.770aap-24f,
     0x1.16e9c6p-25f, 0x1.91f962p-27f},
    {-0x1.26628p-4f, -0x1.21a566p-4f, -0x1.13e202p-4f, -0x1.fcc398p-5f, -0x1.c621f8p-5f, -0x1.886c24p-5f,
     -0x1.4844cep-5f, -0x1.09d56ap-5f, -0x1.a0cc26p-6f, -0x1.3c4fb8p-6f, -0x1.d0c572p-7f, -0x1.4a8d0cp-7f,
     -0x1.c72b24p-8f, -0x1.2f602ap-8f, -0x1.877e2ep-9f, -0x1.e9121ep-10f, -0x1.27baaep-10f, -0x1.5a382cp-11f,
     -0x1.8862c6p-12f, -0x1.ae81b6p-13f, -0x1.c93f4ep-14f, -0x1.d623ccp-15f, -0x1.d3f576p-16f, -0x1.c2e9c6p-17f,
     -0x1.a49cfap-18f, -0x1.7bd1dap-19f, -0x1.4c0796p-20f, -0x1.18fbc8p-21f, -0x1.cc621cp-23f, -0x1.6d1e2p-24f,
     -0x1.185166p-25f, -0x1.a0ae5p-27f},
    {-0x1.4225ecp-25f, 0x1.2cbf0cp-10f, 0x1.1e809ep-9f, 0x1.8c4234p-9f, 0x1.d7acbcp-9f, 0x1.fd6cccp-9f,
     0x1.ff6e7ap-9f, 0x1.e326d8p-9f, 0x1.b0e1eep-9f, 0x1.71947cp-9f, 0x1.2db138p-9f, 0x1.d80c04p-10f,
     0x1.628c0cp-10f, 0x1.000018p-10f, 0x1.63c66p-11f, 0x1.dc324ep-12f, 0x1.3322b6p-12f, 0x1.7e0c5p-13f,
     0x1.ca7628p-14f, 0x1.09797p-14f, 0x1.28cdcp-15f, 0x1.406f3cp-16f, 0x1.4e220ep-17f, 0x1.5098d2p-18f,
     0x1.47a1cp-19f, 0x1.342ef4p-20f, 0x1.182ebp-21f, 0x1.ec743ep-23f, 0x1.a26072p-24f, 0x1.57a77p-25f,
     0x1.10f002p-26f, 0x1.a33bfep-28f},
    {0x1.97f824p-12f, 0x1.840ba2p-12f, 0x1.4c6c9cp-12f, 0x1.f2c772p-13f, 0x1.2e49cp-13f, 0x1.99db44p-15f,
     -0x1.322b88p-15f, -0x1.b2b784p-14f, -0x1.36dd24p-13f, -0x1.64bcb8p-13f, -0x1.6952ap-13f, -0x1.4ef548p-13f,
     -0x1.2170b4p-13f, -0x1.d70c62p-14f, -0x1.6b5088p-14f, -0x1.0ac722p-14f, -0x1.7621aap-15f, -0x1.f6327ap-16f,
     -0x1.4327eap-16f, -0x1.8f4a68p-17f, -0x1.da2f26p-18f, -0x1.0ed9a6p-18f, -0x1.29dabep-19f, -0x1.3b80bep-20f,
     -0x1.4210f8p-21f, -0x1.3cf80cp-22f, -0x1.2cde5ap-23f, -0x1.138708p-24f, -0x1.e701b4p-26f, -0x1.9f75ccp-27f,
     -0x1.56315p-28f, -0x1.102df8p-29f},
    {-0x1.21197ap-20f, -0x1.d16854p-18f, -0x1.03c60ap-16f, -0x1.4ecd98p-16f, -0x1.aa45c2p-16f, -0x1.6509ep-16f,
     -0x1.638008p-16f, -0x1.cbd74ap-17f, -0x1.1d6902p-17f, -0x1.7f5a4cp-19f, 0x1.6af4fp-20f, 0x1.275ddcp-18f,
     0x1.9b3e1ep-18f, 0x1.bd69d4p-18f, 0x1.9bb672p-18f, 0x1.613c3p-18f, 0x1.1bee5ep-18f, 0x1.a73f4p-19f,
     0x1.2b2b94p-19f, 0x1.9103cap-20f, 0x1.00d736p-20f, 0x1.3950b8p-21f, 0x1.6fd1a2p-22f, 0x1.9d02a4p-23f,
     0x1.bcc7cp-24f, 0x1.ccd7ap-25f, 0x1.cb4984p-26f, 0x1.b835fp-27f, 0x1.96748ap-28f, 0x1.6950bp-29f,
     0x1.358a2p-30f, 0x1.ff3b5ep-32f},
    {-0x1.5fb952p-24f, -0x1.bc242p-20f, -0x1.583584p-20f, -0x1.a85a5cp-21f, -0x1.c83092p-25f, 0x1.256fb2p-21f,
     0x1.eb338ep-21f, 0x1.4388e8p-20f, 0x1.38090ap-20f, 0x1.06a994p-20f, 0x1.935156p-21f, 0x1.dd5ef4p-22f,
     0x1.aa4daap-23f, -0x1.60a90cp-28f, -0x1.2b3c5p-23f, -0x1.b3b1f4p-23f, -0x1.d52ccep-23f, -0x1.ad6bep-23f,
     -0x1.63aedcp-23f, -0x1.0f5cf8p-23f, -0x1.819ddap-24f, -0x1.02295ap-24f, -0x1.47cc0ep-25f, -0x1.8bc994p-26f,
     -0x1.c7c74ap-27f, -0x1.f59b2p-28f, -0x1.085064p-28f, -0x1.0b0ce8p-29f, -0x1.02d1fap-30f, -0x1.e2136cp-32f,
     -0x1.afd59p-33f, -0x1.732da8p-34f},
    {-0x1.33f4acp-20f, -0x1.585018p-18f, -0x1.ba34a6p-19f, -0x1.4638cep-18f, 0x1.8fa59ep-19f, -0x1.01d8ap-18f,
     0x1.1f7b5p-18f, -0x1.a551p-21f, 0x1.3808bap-21f, 0x1.af723ap-26f, 0x1.7a2a5cp-22f, 0x1.cb8816p-23f,
     -0x1.c5aa06p-25f, -0x1.a25d5p-23f, 0x1.07126p-24f, 0x1.607f72p-25f, -0x1.e5f7fap-25f, -0x1.3666c8p-26f,
     -0x1.492b52p-27f, 0x1.6b8d84p-29f, 0x1.201e2ep-29f, 0x1.a210a6p-28f, 0x1.4c1c76p-29f, 0x1.e94a1ap-30f,
     0x1.810f9ap-30f, 0x1.b8947ap-31f, 0x1.d1005ep-32f, 0x1.fd8adcp-33f, 0x1.f36256p-34f, 0x1.f3d152p-35f,
     0x1.dc48b4p-36f, 0x1.bf515p-37f},
};
#endif

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
