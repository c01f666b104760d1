/* Pointwise 1x1 as C[P x oc] = A[P x ic] * W[ic x oc], AVX2+FMA, over weights packed once at
 * load time into NR-column panels: panel j holds W[k][j NR .. j NR + NR) for k = 0 .. ic-1,
 * zero-padded past oc, so the micro-kernel reads one contiguous aligned stream.
 *
 * Register tiles MR x NR (MR pixels x NR = 8 NV output channels, MR NV <= 12 accumulators):
 * 6x16, 4x24, 3x32.  The driver ("tiled") blocks pixels by MC (the A block stays in L2) and
 * the reduction by KC (the KC x NR weight micro-panel stays in L1 while MC pixels stream past
 * it); MC and KC come from the variant (the tuner picks among registered sizes).  With more than one KC block the partial sums go through the output buffer: the kernel
 * then reads its own earlier writes, nothing else.  Partial tiles: fewer pixels take a
 * narrower copy of the tile (MR is a constant in each copy); fewer channels use masked loads
 * and stores.  Nothing is read or written past any buffer. */
#include "config.h"

#include <immintrin.h>

#include "kernels/avx2-common.h"
#include "kernels/kernels.h"

static inline __m256i tail_mask(int n) {
  static const int32_t m[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256((const __m256i *)(m + 8 - (n < 0 ? 0 : n > 8 ? 8 : n)));
}


struct epi {
  const float *bias, *res;
  __m256 lo, hi;
  size_t ldres;
  int hswish;
};

/* One mr x (8 nv) tile over kc reduction steps; mr and nv are constants after inlining. */
static inline __attribute__((always_inline)) void tile(const int mr, const int nv, size_t kc,
                                                       const float *restrict a, size_t lda,
                                                       const float *restrict bp,
                                                       float *restrict c, size_t ldc,
                                                       int ncols, int first, int last,
                                                       const struct epi *ep) {
  __m256 acc[6][4];
  __m256i mask[4];
  const int full = ncols == 8 * nv;
#pragma GCC unroll 4
  for (int j = 0; j < nv; j++) mask[j] = tail_mask(ncols - 8 * j);
#pragma GCC unroll 6
  for (int i = 0; i < mr; i++)
#pragma GCC unroll 4
    for (int j = 0; j < nv; j++)
      acc[i][j] = first ? _mm256_setzero_ps()
                  : full ? _mm256_loadu_ps(c + i * ldc + 8 * j)
                         : _mm256_maskload_ps(c + i * ldc + 8 * j, mask[j]);
  for (size_t k = 0; k < kc; k++) {
    __m256 b[4];
#pragma GCC unroll 4
    for (int j = 0; j < nv; j++) b[j] = _mm256_load_ps(bp + k * 8 * nv + 8 * j);
#pragma GCC unroll 6
    for (int i = 0; i < mr; i++) {
      const __m256 x = _mm256_broadcast_ss(a + i * lda + k);
#pragma GCC unroll 4
      for (int j = 0; j < nv; j++) acc[i][j] = _mm256_fmadd_ps(x, b[j], acc[i][j]);
    }
  }
  if (last) {
#pragma GCC unroll 4
    for (int j = 0; j < nv; j++) {
      const __m256 bias = ep->bias ? _mm256_maskload_ps(ep->bias + 8 * j, mask[j])
                                   : _mm256_setzero_ps();
#pragma GCC unroll 6
      for (int i = 0; i < mr; i++) {
        __m256 v = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(acc[i][j], bias), ep->lo), ep->hi);
        if (ep->hswish) v = mbt_hswish_avx2(v);
        if (ep->res) v = _mm256_add_ps(v, _mm256_maskload_ps(ep->res + i * ep->ldres + 8 * j, mask[j]));
        acc[i][j] = v;
      }
    }
  }
#pragma GCC unroll 6
  for (int i = 0; i < mr; i++)
#pragma GCC unroll 4
    for (int j = 0; j < nv; j++) {
      if (full) _mm256_storeu_ps(c + i * ldc + 8 * j, acc[i][j]);
      else _mm256_maskstore_ps(c + i * ldc + 8 * j, mask[j], acc[i][j]);
    }
}

#define MBT_PW_LANES 8
#define MBT_PW_EPI(e, n0, p, ldc) \
  {(e)->b ? (e)->b + (n0) : NULL, (e)->res ? (e)->res + (p) * (ldc) + (n0) : NULL,                \
   _mm256_set1_ps((e)->lo), _mm256_set1_ps((e)->hi), (ldc), (e)->hswish}
#include "kernels/drivers/pw-tiled.h"

/* clang-format off */
MBT_PW_TILED(6, 2, mbt_f32_pwconv_minmax_ukernel_6x16__avx2_tiled, MBT_PW_CASES_6(2))
MBT_PW_TILED(4, 3, mbt_f32_pwconv_minmax_ukernel_4x24__avx2_tiled, MBT_PW_CASES_4(3))
MBT_PW_TILED(3, 4, mbt_f32_pwconv_minmax_ukernel_3x32__avx2_tiled, MBT_PW_CASES_3(4))
/* clang-format on */
