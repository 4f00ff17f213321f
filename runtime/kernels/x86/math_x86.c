/*
 * math_x86.c — optimized kernels: vectorized transcendental and normalization ops (Gelu, Erf, Exp, Softmax, LayerNormalization, ...).
 * Placeholder table until the kernels land; the executor falls back to runtime/kernels/ref/.
 */
#include "../kernel.h"

const RtKernelEntry rt_kernels_x86_math[] = {
    {-1, 0},
};
