/* ---- MaxPool in float over 1-D, 2-D or 3-D windows, with the optional Indices ---- */
WK_MAXPOOL3(wk_maxpool3_f32, float, -HUGE_VALF)
