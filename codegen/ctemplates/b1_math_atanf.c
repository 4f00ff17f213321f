/* ---- wafer kernel support: atan(x) in float ----
 * With libm, atanf. Without (WK_NO_LIBM): b0_math_atand in double, rounded once. */
#if WK_NO_LIBM
static float wk_atanf(float x) {
    return (float)wk_atan_d((double)x);
}
#else
static float wk_atanf(float x) { return atanf(x); }
#endif
