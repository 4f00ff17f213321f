/* ---- MaxPool in int8 over 1-D, 2-D or 3-D windows, with the optional Indices ---- */
WK_MAXPOOL3(wk_maxpool3_i8, int8_t, -128)
