/* The squeeze-and-excitation product, AVX-512F: rows [r0, r1) of in x gate (the gate is
 * e->res, one value per channel), 16 channels a vector, the channel tail through a k-mask, so
 * nothing is read or written past a pixel's channels.  The gate's vectors are loaded once per
 * pixel row from L1 (a 1 x C vector). */
#include "config.h"

#include <immintrin.h>

#include "kernels/kernels.h"

void mbt_f32_scale_ukernel_c16__avx512f(const struct mbt_exec *e, int r0, int r1) {
  const struct mbt_kshape *l = &e->s;
  const size_t c = (size_t)l->ic, full = c / 16 * 16;
  const __mmask16 tail = (__mmask16)((1u << (c - full)) - 1);
  for (size_t p = (size_t)r0 * l->ow; p < (size_t)r1 * l->ow; p++) {
    const float *x = e->in + p * c;
    float *y = e->out + p * c;
    size_t k = 0;
    for (; k + 32 <= c; k += 32) {
      const __m512 a = _mm512_mul_ps(_mm512_loadu_ps(x + k), _mm512_loadu_ps(e->res + k));
      const __m512 b = _mm512_mul_ps(_mm512_loadu_ps(x + k + 16), _mm512_loadu_ps(e->res + k + 16));
      _mm512_storeu_ps(y + k, a);
      _mm512_storeu_ps(y + k + 16, b);
    }
    for (; k < full; k += 16)
      _mm512_storeu_ps(y + k, _mm512_mul_ps(_mm512_loadu_ps(x + k), _mm512_loadu_ps(e->res + k)));
    if (tail)
      _mm512_mask_storeu_ps(y + k, tail, _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, x + k),
                                                       _mm512_maskz_loadu_ps(tail, e->res + k)));
  }
}
