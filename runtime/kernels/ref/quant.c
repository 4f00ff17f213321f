/*
 * quant.c — reference kernels (to be written).
 */
#include "../kernel.h"

const RtKernelEntry rt_kernels_quant[] = {
    {-1, 0},
};
