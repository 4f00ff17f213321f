/* ---- wafer kernel support: the seq kernels' real type, float64 ----
 * As b0_seq_real_f32 for float64 models: libm's double exp, tanh and log1p (emit-c refuses
 * float64 recurrent layers under --no-libm), the sigmoid in the runtime's overflow-free form. */
typedef double wk_seq_real;
#define WK_SEQ_REAL_F32 0
#define WK_SEQ_EXP(x) exp(x)
#define WK_SEQ_TANH(x) tanh(x)
#define WK_SEQ_SIGMOID(x) ((x) >= 0 ? 1.0 / (1.0 + exp(-(x))) : exp(x) / (1.0 + exp(x)))
#define WK_SEQ_LOG1P(x) log1p(x)
