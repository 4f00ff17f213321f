/*
 * norm.h — what the normalization kernels share: norm.c (LayerNormalization, ...) and
 * rms_norm.c (RMSNormalization) both take a scale (and LayerNormalization a bias) that
 * broadcasts unidirectionally (numpy, from the right) to the normalized shape dims[axis:].
 */
#ifndef WAFER_REF_NORM_H
#define WAFER_REF_NORM_H

#include "../kernel.h"

/* Checks t broadcasts unidirectionally to dims[rank] (the error names input `what`) and, when
 * dst is not NULL, expands it there as doubles: dst[numel(dims)]. */
int norm_param_expand(RtKernelCtx *c, const RtTensor *t, const char *what, int rank, const int64_t *dims,
                      double *dst);

#endif
