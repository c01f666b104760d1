/* Global average pool, AVX2: 32 channels (4 vectors) accumulated over all pixels, then scaled;
 * channel tails with masked loads and stores.  Reads nothing past the input, writes only the
 * ic outputs. */
#include "config.h"

#include <immintrin.h>

#include "kernels/kernels.h"

static inline __m256i tail_mask(int n) {
  static const int32_t m[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256((const __m256i *)(m + 8 - (n < 0 ? 0 : n > 8 ? 8 : n)));
}

void mbt_f32_gavgpool_ukernel_c32__avx2(const struct mbt_exec *e, int r0, int r1) {
  const struct mbt_kshape *l = &e->s;
  if (r0 >= r1) return;
  const size_t npix = (size_t)l->ih * l->iw, c = (size_t)l->ic;
  const __m256 scale = _mm256_set1_ps(1.0f / (float)npix);
  for (size_t c0 = 0; c0 < c; c0 += 32) {
    const int n = c - c0 < 32 ? (int)(c - c0) : 32;
    __m256i m[4];
    __m256 acc[4];
    for (int v = 0; v < 4; v++) m[v] = tail_mask(n - 8 * v), acc[v] = _mm256_setzero_ps();
    const float *x = e->in + c0;
    if (n == 32) {
      for (size_t p = 0; p < npix; p++, x += c)
        for (int v = 0; v < 4; v++) acc[v] = _mm256_add_ps(acc[v], _mm256_loadu_ps(x + 8 * v));
    } else {
      for (size_t p = 0; p < npix; p++, x += c)
        for (int v = 0; v < 4; v++)
          acc[v] = _mm256_add_ps(acc[v], _mm256_maskload_ps(x + 8 * v, m[v]));
    }
    for (int v = 0; v < 4; v++)
      _mm256_maskstore_ps(e->out + c0 + 8 * v, m[v], _mm256_mul_ps(acc[v], scale));
  }
}
