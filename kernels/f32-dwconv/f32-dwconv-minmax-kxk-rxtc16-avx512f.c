/* Depthwise KxK (K = 3, 5), stride 1 and 2, padding (K-1)/2, AVX-512F: the tiled template
 * (kernels/f32-dwconv/dw-tile.h) at 16 channels per vector.  3x3 tiles keep their 9 weights in
 * registers (R T accumulators + 9 + 1 input of the 32 registers); 5x5 tiles load the weight
 * rows each input row meets. */
#include "config.h"

#include <immintrin.h>

#include "kernels/avx512-common.h"
#include "kernels/kernels.h"

#define DWT_V __m512
#define DWT_LANES 16
#define DWT_MASK __mmask16
#define DWT_TAIL(n) ((__mmask16)((1u << (n)) - 1))
#define DWT_LD(p, full, m) ((full) ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps((m), (p)))
#define DWT_FMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define DWT_ZERO() _mm512_setzero_ps()
#define DWT_STORE(e, o, v, full, m) store((e), (o), (v), (full), (m))

static inline __attribute__((always_inline)) void store(const struct mbt_exec *e, size_t o,
                                                        __m512 v, int full, __mmask16 m) {
  v = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(e->lo)), _mm512_set1_ps(e->hi));
  if (e->post) v = mbt_post_avx512(v, e->post);
  if (e->res) v = _mm512_add_ps(v, DWT_LD(e->res + o, full, m));
  if (full) _mm512_storeu_ps(e->out + o, v);
  else _mm512_mask_storeu_ps(e->out + o, m, v);
}

#include "kernels/f32-dwconv/dw-tile.h"

#define K3(S, R, T)                                                                            \
  DWT_KERNEL(3, S, R, T, 1, mbt_f32_dwconv_minmax_ukernel_3x3s##S##_##R##x##T##c16__avx512f)
#define K5(S, R, T)                                                                            \
  DWT_KERNEL(5, S, R, T, 0, mbt_f32_dwconv_minmax_ukernel_5x5s##S##_##R##x##T##c16__avx512f)
K3(1, 1, 4) K3(1, 2, 4) K3(1, 2, 8) K3(1, 3, 4)
K3(2, 1, 4) K3(2, 2, 4) K3(2, 1, 8)
K5(1, 1, 4) K5(1, 2, 4)
K5(2, 1, 4) K5(2, 2, 4)
/* 7-wide tiles: MobileNet's maps are 7 x 2^k pixels wide, so every tile is whole */
K3(1, 1, 7) K3(1, 2, 7) K3(2, 1, 7) K3(2, 2, 7)
K5(1, 1, 7) K5(1, 2, 7) K5(2, 1, 7) K5(2, 2, 7)
