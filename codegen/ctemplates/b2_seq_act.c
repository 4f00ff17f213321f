/* ---- wafer kernel support: the activation functions of RNN, GRU and LSTM ----
 * The ONNX recurrent ops' list (the runtime's recurrent.c numbers them the same): 0 Relu,
 * 1 Tanh, 2 Sigmoid, 3 Affine a*x+b, 4 LeakyRelu, 5 ThresholdedRelu (x >= a ? x : 0),
 * 6 ScaledTanh a*tanh(b*x), 7 HardSigmoid clamp(a*x+b, 0, 1), 8 Elu, 9 Softsign, 10 Softplus.
 * The input is first clipped to [-clip, clip] when clip >= 0 (the `clip` attribute; -1 =
 * none). Softplus is log1p(exp(-|x|)) + max(x, 0) (no overflow); without libm log1p(u) for
 * u in (0, 1] is 2 atanh(s) with s = u / (2 + u) <= 1/3, its odd series to s^19 / 19
 * (truncation < (1/9)^10 / 21 relative, far below a float ulp). */
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

static float wk_seq_act(int32_t kind, float a, float b, float clip, float x) {
    float v, ax;
    if (clip >= 0.0f) x = x < -clip ? -clip : x > clip ? clip : x;
    switch (kind) {
    case 0: return x > 0.0f ? x : 0.0f;
    case 1: return wk_tanhf(x);
    case 2: return wk_sigmoidf(x);
    case 3: return a * x + b;
    case 4: return x >= 0.0f ? x : a * x;
    case 5: return x >= a ? x : 0.0f;
    case 6: return a * wk_tanhf(b * x);
    case 7: v = a * x + b; return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
    case 8: return x >= 0.0f ? x : a * (wk_expf(x) - 1.0f);
    case 9: ax = x < 0.0f ? -x : x; return x / (1.0f + ax);
    case 10: ax = x < 0.0f ? -x : x; return wk_seq_log1pf(wk_expf(-ax)) + (x > 0.0f ? x : 0.0f);
    default: return x;
    }
}
