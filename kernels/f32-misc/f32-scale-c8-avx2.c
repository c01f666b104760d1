/* The squeeze-and-excitation product, AVX2: rows [r0, r1) of in x gate (the gate is e->res,
 * one value per channel), 8 channels a vector and 16 a step, the channel tail through a masked
 * load and store, so nothing is read or written past a pixel's channels.  On AVX2 machines the
 * scale had only the portable C kernel, which the compiler builds for SSE2 at most (inside
 * V3-Small on a Zen 3: 11 us for each of the 7x7x576 products that the tuner does not fold into
 * the projection after them). */
#include "config.h"

#include <immintrin.h>

#include "kernels/kernels.h"

void mbt_f32_scale_ukernel_c8__avx2(const struct mbt_exec *e, int r0, int r1) {
  static const int32_t ones[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  const struct mbt_kshape *l = &e->s;
  const size_t c = (size_t)l->ic, full = c / 8 * 8;
  const __m256i tail = _mm256_loadu_si256((const __m256i *)(ones + 8 - (c - full)));
  const float *g = e->res;
  for (size_t p = (size_t)r0 * l->ow; p < (size_t)r1 * l->ow; p++) {
    const float *x = e->in + p * c;
    float *y = e->out + p * c;
    size_t k = 0;
    for (; k + 16 <= c; k += 16) {
      const __m256 a = _mm256_mul_ps(_mm256_loadu_ps(x + k), _mm256_loadu_ps(g + k));
      const __m256 b = _mm256_mul_ps(_mm256_loadu_ps(x + k + 8), _mm256_loadu_ps(g + k + 8));
      _mm256_storeu_ps(y + k, a);
      _mm256_storeu_ps(y + k + 8, b);
    }
    for (; k < full; k += 8)
      _mm256_storeu_ps(y + k, _mm256_mul_ps(_mm256_loadu_ps(x + k), _mm256_loadu_ps(g + k)));
    if (k < c)
      _mm256_maskstore_ps(y + k, tail, _mm256_mul_ps(_mm256_maskload_ps(x + k, tail),
                                                     _mm256_maskload_ps(g + k, tail)));
  }
}
