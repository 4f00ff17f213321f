/* ---- wafer kernel support: the activation functions of RNN, GRU and LSTM ----
 * The ONNX recurrent ops' list (the runtime's recurrent.c numbers them the same): 0 Relu,
 * 1 Tanh, 2 Sigmoid, 3 Affine a*x+b, 4 LeakyRelu, 5 ThresholdedRelu (x >= a ? x : 0),
 * 6 ScaledTanh a*tanh(b*x), 7 HardSigmoid clamp(a*x+b, 0, 1), 8 Elu, 9 Softsign, 10 Softplus,
 * in wk_seq_real (b0_seq_real_*). The input is first clipped to [-clip, clip] when clip >= 0
 * (the `clip` attribute; -1 = none). Softplus is log1p(exp(-|x|)) + max(x, 0) (no overflow).
 * float32 without libm: log1p(u) for u in (0, 1] is 2 atanh(s) with s = u / (2 + u) <= 1/3,
 * its odd series to s^19 / 19 (truncation < (1/9)^10 / 21 relative, far below a float ulp). */
#if WK_SEQ_REAL_F32 && WK_NO_LIBM
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
#elif WK_SEQ_REAL_F32
static float wk_seq_log1pf(float u) { return log1pf(u); }
#endif

static wk_seq_real wk_seq_act(int32_t kind, wk_seq_real a, wk_seq_real b, wk_seq_real clip, wk_seq_real x) {
    wk_seq_real v, ax;
    if (clip >= 0) x = x < -clip ? -clip : x > clip ? clip : x;
    switch (kind) {
    case 0: return x > 0 ? x : 0;
    case 1: return WK_SEQ_TANH(x);
    case 2: return WK_SEQ_SIGMOID(x);
    case 3: return a * x + b;
    case 4: return x >= 0 ? x : a * x;
    case 5: return x >= a ? x : 0;
    case 6: return a * WK_SEQ_TANH(b * x);
    case 7: v = a * x + b; return v < 0 ? 0 : v > 1 ? 1 : v;
    case 8: return x >= 0 ? x : a * (WK_SEQ_EXP(x) - 1);
    case 9: ax = x < 0 ? -x : x; return x / (1 + ax);
    case 10: ax = x < 0 ? -x : x; return WK_SEQ_LOG1P(WK_SEQ_EXP(-ax)) + (x > 0 ? x : 0);
    default: return x;
    }
}
