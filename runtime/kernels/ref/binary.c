/*
 * binary.c — reference kernels (to be written).
 */
#include "../kernel.h"

const RtKernelEntry rt_kernels_binary[] = {
    {-1, 0},
};
