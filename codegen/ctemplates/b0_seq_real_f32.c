/* ---- wafer kernel support: the seq kernels' real type, float32 (the models' usual one) ----
 * wk_seq_real is the element and arithmetic type of the recurrent kernel (k_seq_rec); its
 * exp / tanh / sigmoid / log1p are b0_exp, b1_tanh and b1_sigmoid's float functions (own
 * approximations under WK_NO_LIBM) and wk_seq_log1pf. A model's recurrent layers share one
 * real type (b0_seq_real_f64 is the float64 one). Without libm log1p(u) for u in (0, 1] is
 * 2 atanh(s) with s = u / (2 + u) <= 1/3, its odd series to s^19 / 19 (truncation
 * < (1/9)^10 / 21 relative, far below a float ulp). */
typedef float wk_seq_real;
#define WK_SEQ_EXP(x) wk_expf(x)
#define WK_SEQ_TANH(x) wk_tanhf(x)
#define WK_SEQ_SIGMOID(x) wk_sigmoidf(x)
#define WK_SEQ_LOG1P(x) wk_seq_log1pf(x)

#if WK_NO_LIBM
static float wk_seq_log1pf(float u) {
    float s = u / (2.0f + u), z = s * s, p = 1.0f / 19.0f;
    p = p * z + 1.0f / 17.0f;
    p = p * z + 1.0f / 15.0f;
    p = p * z + 1.0f / 13.0f;
    p = p * z + 1.0f / 11.0f;
    p = p * z + 1.0f / 9.0f;
    p = p * z + 1.0f / 7.0f;
    p = p * z + 1.0f / 5.0f;
    p = p * z + 1.0f / 3.0f;
    p = p * z + 1.0f;
    return 2.0f * s * p;
}
#else
static float wk_seq_log1pf(float u) { return log1pf(u); }
#endif
