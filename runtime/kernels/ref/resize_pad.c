/*
 * resize_pad.c — reference kernels (to be written).
 */
#include "../kernel.h"

const RtKernelEntry rt_kernels_resize[] = {
    {-1, 0},
};
