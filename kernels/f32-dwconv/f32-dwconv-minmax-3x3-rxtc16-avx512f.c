/* Depthwise 3x3, stride 1 and 2, padding 1 (or any below 3), AVX-512F: the tiled template
 * (kernels/f32-dwconv/dw-tile.h) at 16 channels per vector.  The tiles keep their 9 weights in
 * registers (R T accumulators + 9 + 1 input of the 32 registers). */
#include "config.h"

#include "kernels/f32-dwconv/dw-avx512f.h"

#define K3(S, R, T)                                                                            \
  DWT_KERNEL(3, S, R, T, 1, mbt_f32_dwconv_minmax_ukernel_3x3s##S##_##R##x##T##c16__avx512f)
K3(1, 1, 4) K3(1, 2, 4) K3(1, 2, 8) K3(1, 3, 4)
K3(2, 1, 4) K3(2, 2, 4) K3(2, 1, 8)
/* 7-wide tiles: MobileNet's maps are 7 x 2^k pixels wide, so every tile is whole */
K3(1, 1, 7) K3(1, 2, 7) K3(2, 1, 7) K3(2, 2, 7)
