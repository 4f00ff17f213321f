/* ---- wafer kernel support: the window geometry of Conv and the pools ----
 * One image of a 2-D window op: input [C, H, W], output [M, OH, OW]; a 1-D op has H = 1.
 * Input position of output o and tap t on an axis: o * stride - pad + t * dilation; taps
 * outside [0, size) read padding. */
typedef struct {
    int32_t N, C, H, W;       /* batch, input channels, input height and width */
    int32_t M, OH, OW;        /* output channels, output height and width */
    int32_t KH, KW;           /* kernel taps per axis */
    int32_t SH, SW, PH, PW;   /* strides, leading pads */
    int32_t DH, DW, G;        /* dilations, channel groups */
} wk_geom;
