/* ---- wafer kernel support: fmod(x, y) in float (Mod with fmod = 1) ----
 * With libm, fmodf. Without (WK_NO_LIBM), exactly, as fmod is: with x = mx 2^ex and
 * y = my 2^ey (24-bit integer significands, subnormals without the hidden bit),
 * |x| mod |y| = 2^ey ((mx 2^(ex - ey)) mod my) for ex >= ey, the bracket by doubling a
 * remainder below my (< 2^25, no overflow) ex - ey times; the result, r 2^ey with r < 2^24,
 * is exact in double and in float, and takes x's sign. y = 0, x infinite or NaN give NaN;
 * |x| < |y| (so ex < ey included) gives x. */
#if WK_NO_LIBM
static float wk_fmodf(float x, float y) {
    uint32_t bx, by, mx, my, r;
    int ex, ey;
    uint64_t pw;
    double s;
    float ax = x < 0 ? -x : x, ay = y < 0 ? -y : y;
    if (x != x || y != y || ay == 0 || ax > 3.40282347e38f) return (x - x) / (x - x) + y * 0; /* NaN */
    if (ax < ay) return x;
    memcpy(&bx, &ax, sizeof bx);
    memcpy(&by, &ay, sizeof by);
    ex = (int)(bx >> 23), ey = (int)(by >> 23);
    mx = (bx & 0x007fffffu) | (ex ? 0x00800000u : 0), my = (by & 0x007fffffu) | (ey ? 0x00800000u : 0);
    ex = (ex ? ex : 1) - 150, ey = (ey ? ey : 1) - 150; /* value = m 2^e */
    r = mx % my;
    for (; ex > ey; ex--) r = (r << 1) % my;
    pw = (uint64_t)(ey + 1023) << 52; /* 2^ey as a double: -149 <= ey <= 104 */
    memcpy(&s, &pw, sizeof s);
    s *= (double)r;
    return x < 0 ? -(float)s : (float)s;
}
#else
static float wk_fmodf(float x, float y) { return fmodf(x, y); }
#endif
