/* Depthwise 5x5, stride 1 and 2, padding 2 (or any below 5), AVX-512F: the tiled template
 * (kernels/f32-dwconv/dw-tile.h) at 16 channels per vector.  The tiles load the weight rows
 * each input row meets (25 weights and the accumulators would not fit in 32 registers). */
#include "config.h"

#include "kernels/f32-dwconv/dw-avx512f.h"

#define K5(S, R, T)                                                                            \
  DWT_KERNEL(5, S, R, T, 0, mbt_f32_dwconv_minmax_ukernel_5x5s##S##_##R##x##T##c16__avx512f)
K5(1, 1, 4) K5(1, 2, 4)
K5(2, 1, 4) K5(2, 2, 4)
/* 7-wide tiles: MobileNet's maps are 7 x 2^k pixels wide, so every tile is whole */
K5(1, 1, 7) K5(1, 2, 7) K5(2, 1, 7) K5(2, 2, 7)
