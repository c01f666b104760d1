/* Depthwise KxK (K = 3, 5), stride 1 and 2, padding (K-1)/2, AVX2+FMA: the tiled template
 * (kernels/f32-dwconv/dw-tile.h) at 8 channels per vector.  With 16 registers, a 2x2 3x3 tile
 * keeps its 9 weights in registers (4 accumulators + 9 + 1 input); 1x4 and 2x4 tiles load the
 * weight rows each input row meets (8 accumulators + 6 + 1). */
#include "config.h"

#include <immintrin.h>

#include "kernels/avx2-common.h"
#include "kernels/kernels.h"

static inline __m256i tail_mask(int n) {
  static const int32_t m[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256((const __m256i *)(m + 8 - n));
}

#define DWT_V __m256
#define DWT_LANES 8
#define DWT_MASK __m256i
#define DWT_TAIL(n) tail_mask(n)
#define DWT_LD(p, full, m) ((full) ? _mm256_loadu_ps(p) : _mm256_maskload_ps((p), (m)))
#define DWT_FMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define DWT_ZERO() _mm256_setzero_ps()
#define DWT_STORE(e, o, v, full, m) store((e), (o), (v), (full), (m))

static inline __attribute__((always_inline)) void store(const struct mbt_exec *e, size_t o,
                                                        __m256 v, int full, __m256i m) {
  v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(e->lo)), _mm256_set1_ps(e->hi));
  if (e->post) v = mbt_post_avx2(v, e->post);
  if (e->res) v = _mm256_add_ps(v, DWT_LD(e->res + o, full, m));
  if (full) _mm256_storeu_ps(e->out + o, v);
  else _mm256_maskstore_ps(e->out + o, m, v);
}

#include "kernels/f32-dwconv/dw-tile.h"

#define KK(K, S, R, T, WRES)                                                                   \
  DWT_KERNEL(K, S, R, T, WRES, mbt_f32_dwconv_minmax_ukernel_##K##x##K##s##S##_##R##x##T##c8__avx2)
KK(3, 1, 1, 4, 0) KK(3, 1, 2, 4, 0) KK(3, 1, 2, 2, 1)
KK(3, 2, 1, 4, 0) KK(3, 2, 2, 4, 0) KK(3, 2, 2, 2, 1)
KK(5, 1, 1, 4, 0) KK(5, 1, 2, 4, 0)
KK(5, 2, 1, 4, 0) KK(5, 2, 2, 4, 0)
/* 7-wide tiles: MobileNet's maps are 7 x 2^k pixels wide, so every tile is whole */
KK(3, 1, 1, 7, 0) KK(3, 2, 1, 7, 0)
