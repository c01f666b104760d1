/* Pointwise 1x1 as C[P x oc] = A[P x ic] * W[ic x oc], AVX-512F, over weights packed once at
 * load time into NR-column panels (NR = 16 NV; f32-pwconv-pack.c), with register
 * tiles 12x32, 8x48 and 6x64 (24 of the 32 zmm registers accumulate).  Same tiled driver as the
 * AVX2 family: MC pixels by KC reduction steps, the KC x NR weight micro-panel in L1; with
 * several KC blocks the partial sums go through the output buffer.  Channel tails use k-masks,
 * so nothing is read or written past any buffer.  Honours cpart/cparts. */
#include "config.h"

#include <immintrin.h>

#include "kernels/kernels.h"


static inline __mmask16 tail(int n) {
  return n <= 0 ? 0 : n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
}

struct epi {
  const float *bias, *res;
  __m512 lo, hi;
  size_t ldres;
  int hswish;
};

static inline __attribute__((always_inline)) void tile(const int mr, const int nv, size_t kc,
                                                       const float *restrict a, size_t lda,
                                                       const float *restrict bp,
                                                       float *restrict c, size_t ldc,
                                                       int ncols, int first, int last,
                                                       const struct epi *ep) {
  __m512 acc[12][4];
  __mmask16 m[4];
#pragma GCC unroll 4
  for (int j = 0; j < nv; j++) m[j] = tail(ncols - 16 * j);
#pragma GCC unroll 12
  for (int i = 0; i < mr; i++)
#pragma GCC unroll 4
    for (int j = 0; j < nv; j++)
      acc[i][j] = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m[j], c + i * ldc + 16 * j);
  for (size_t k = 0; k < kc; k++) {
    __m512 b[4];
#pragma GCC unroll 4
    for (int j = 0; j < nv; j++) b[j] = _mm512_load_ps(bp + k * 16 * nv + 16 * j);
#pragma GCC unroll 12
    for (int i = 0; i < mr; i++) {
      const __m512 x = _mm512_set1_ps(a[i * lda + k]);
#pragma GCC unroll 4
      for (int j = 0; j < nv; j++) acc[i][j] = _mm512_fmadd_ps(x, b[j], acc[i][j]);
    }
  }
  if (last) {
#pragma GCC unroll 4
    for (int j = 0; j < nv; j++) {
      const __m512 bias = ep->bias ? _mm512_maskz_loadu_ps(m[j], ep->bias + 16 * j)
                                   : _mm512_setzero_ps();
#pragma GCC unroll 12
      for (int i = 0; i < mr; i++) {
        __m512 v = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(acc[i][j], bias), ep->lo), ep->hi);
        if (ep->hswish) { /* v relu6(v + 3) / 6 */
          const __m512 r = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(v, _mm512_set1_ps(3.0f)),
                                                       _mm512_setzero_ps()), _mm512_set1_ps(6.0f));
          v = _mm512_mul_ps(v, _mm512_mul_ps(r, _mm512_set1_ps(1.0f / 6.0f)));
        }
        if (ep->res)
          v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m[j], ep->res + i * ep->ldres + 16 * j));
        acc[i][j] = v;
      }
    }
  }
#pragma GCC unroll 12
  for (int i = 0; i < mr; i++)
#pragma GCC unroll 4
    for (int j = 0; j < nv; j++) _mm512_mask_storeu_ps(c + i * ldc + 16 * j, m[j], acc[i][j]);
}

#define MBT_PW_LANES 16
#define MBT_PW_EPI(e, n0, p, ldc) \
  {(e)->b ? (e)->b + (n0) : NULL, (e)->res ? (e)->res + (p) * (ldc) + (n0) : NULL,                \
   _mm512_set1_ps((e)->lo), _mm512_set1_ps((e)->hi), (ldc), (e)->hswish}
#include "kernels/drivers/pw-tiled.h"

/* clang-format off */
MBT_PW_TILED(12, 2, mbt_f32_pwconv_minmax_ukernel_12x32__avx512f_tiled, MBT_PW_CASES_12(2))
MBT_PW_TILED(8, 3, mbt_f32_pwconv_minmax_ukernel_8x48__avx512f_tiled, MBT_PW_CASES_8(3))
MBT_PW_TILED(6, 4, mbt_f32_pwconv_minmax_ukernel_6x64__avx512f_tiled, MBT_PW_CASES_6(4))
/* clang-format on */
