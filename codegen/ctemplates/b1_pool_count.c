/* AveragePool's divisor for output (oh, ow): the taps inside the input, or with
 * count_include_pad the taps inside the padded extent [-pad, size + trailing pad) (ph1, pw1
 * the trailing pads), counted per axis and multiplied. */
static int32_t wk_pool_count(const wk_geom *g, int32_t oh, int32_t ow, int32_t ph1, int32_t pw1, int include_pad) {
    int32_t kh, kw, ch = 0, cw = 0;
    for (kh = 0; kh < g->KH; kh++) {
        int32_t ih = oh * g->SH - g->PH + kh * g->DH;
        ch += include_pad ? (ih >= -g->PH && ih < g->H + ph1) : (ih >= 0 && ih < g->H);
    }
    for (kw = 0; kw < g->KW; kw++) {
        int32_t iw = ow * g->SW - g->PW + kw * g->DW;
        cw += include_pad ? (iw >= -g->PW && iw < g->W + pw1) : (iw >= 0 && iw < g->W);
    }
    return ch * cw;
}
