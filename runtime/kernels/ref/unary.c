/*
 * unary.c — reference kernels (to be written).
 */
#include "../kernel.h"

const RtKernelEntry rt_kernels_unary[] = {
    {-1, 0},
};
