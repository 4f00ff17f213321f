/* ---- wafer kernel support: the seq kernels' real type, float32 (the models' usual one) ----
 * wk_seq_real is the element and arithmetic type of the recurrent kernel (k_seq_rec) and of
 * DFT / STFT (b1_seq_fft); the recurrent activations' exp / tanh / sigmoid are b0_exp,
 * b1_tanh and b1_sigmoid's float functions (own approximations under WK_NO_LIBM), log1p
 * b2_seq_act's. A model's seq float ops share one real type (b0_seq_real_f64 is the float64
 * one). */
typedef float wk_seq_real;
#define WK_SEQ_REAL_F32 1
#define WK_SEQ_EXP(x) wk_expf(x)
#define WK_SEQ_TANH(x) wk_tanhf(x)
#define WK_SEQ_SIGMOID(x) wk_sigmoidf(x)
#define WK_SEQ_LOG1P(x) wk_seq_log1pf(x)
