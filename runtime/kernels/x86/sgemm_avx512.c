/*
 * sgemm_avx512.c — rt_sgemm_nn (sgemm.h). Placeholder: rt_sgemm then the biases, until the
 * packed AVX-512 micro-kernel lands.
 */
#include <string.h>

#include "../gemm.h"
#include "sgemm.h"

void rt_sgemm_nn(struct RtThreadPool *pool, int64_t M, int64_t N, int64_t K, const float *A,
                 int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc,
                 const float *bias_m, const float *bias_n) {
    (void)pool;
    if (M <= 0 || N <= 0) return;
    if (K > 0)
        rt_sgemm(0, 0, (int)M, (int)N, (int)K, 1.0f, A, (int)lda, B, (int)ldb, 0.0f, C, (int)ldc);
    for (int64_t m = 0; m < M; m++) {
        float *c = C + m * ldc;
        if (K <= 0) memset(c, 0, sizeof(float) * (size_t)N);
        if (bias_m)
            for (int64_t n = 0; n < N; n++) c[n] += bias_m[m];
        if (bias_n)
            for (int64_t n = 0; n < N; n++) c[n] += bias_n[n];
    }
}
