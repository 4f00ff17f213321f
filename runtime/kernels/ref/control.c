/*
 * control.c — reference kernels (to be written).
 */
#include "../kernel.h"

const RtKernelEntry rt_kernels_control[] = {
    {-1, 0},
};
