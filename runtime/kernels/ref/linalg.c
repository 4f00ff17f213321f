/*
 * linalg.c — reference kernels (to be written).
 */
#include "../kernel.h"

const RtKernelEntry rt_kernels_linalg[] = {
    {-1, 0},
};
