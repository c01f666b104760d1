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

#define TILE_CASE(M, NV)                                                                     \
  case M: tile(M, NV, kc, a, lda, bp, c, ldc, ncols, first, last, &ep); break;

/* The tiled driver for one register-tile shape and block sizes. */
#define PW_PACKED(MR, NV, FN, CASES)                                                           \
  void FN(const struct mbt_exec *e, int r0, int r1) {                                          \
    const struct mbt_layer *l = e->l;                                                          \
    const size_t MC = e->mc > 0 ? (size_t)(e->mc + MR - 1) / MR * MR : 72;                     \
    const size_t KC = e->kc > 0 ? (size_t)e->kc : 256;                                         \
    /* this call's share of the NR-column panels (threads may split output channels) */        \
    const size_t np = (l->oc + 8 * NV - 1) / (8 * NV), parts = e->cparts > 1 ? e->cparts : 1;  \
    const size_t nb0 = np * (size_t)e->cpart / parts * (8 * NV);                                \
    const size_t nb1_ = np * (size_t)(e->cpart + 1) / parts * (8 * NV);                         \
    const size_t nb1 = nb1_ < (size_t)l->oc ? nb1_ : (size_t)l->oc;                             \
    const size_t K = (size_t)l->ic, N = (size_t)l->oc, lda = K, ldc = N;                       \
    const size_t p1 = (size_t)r1 * l->ow;                                                      \
    for (size_t pb = (size_t)r0 * l->ow; pb < p1; pb += MC) {                                 \
      const size_t pe = pb + MC < p1 ? pb + MC : p1;                                           \
      for (size_t kb = 0; kb < K; kb += KC) {                                                  \
        const size_t kc = K - kb < KC ? K - kb : KC;                                           \
        const int first = kb == 0, last = kb + kc >= K;                                        \
        for (size_t n0 = nb0; n0 < nb1; n0 += 8 * NV) {                                       \
          const int ncols = (int)(N - n0 < 8 * NV ? N - n0 : 8 * NV);                          \
          const float *bp = e->packed + (n0 / (8 * NV)) * (8 * NV) * K + kb * (8 * NV);        \
          for (size_t p = pb; p < pe; p += MR) {                                               \
            const float *a = e->in + p * lda + kb;                                             \
            float *c = e->out + p * ldc + n0;                                                  \
            const struct epi ep = {e->b ? e->b + n0 : NULL, e->res ? e->res + p * ldc + n0 : NULL, \
                                   _mm256_set1_ps(e->lo), _mm256_set1_ps(e->hi), ldc,    \
                                   e->hswish};       \
            switch (pe - p < MR ? (int)(pe - p) : MR) { CASES }                                \
          }                                                                                    \
        }                                                                                      \
      }                                                                                        \
    }                                                                                          \
  }

#define CASES_6(NV) TILE_CASE(6, NV) TILE_CASE(5, NV) TILE_CASE(4, NV) TILE_CASE(3, NV) \
                    TILE_CASE(2, NV) default: TILE_CASE(1, NV)
#define CASES_4(NV) TILE_CASE(4, NV) TILE_CASE(3, NV) TILE_CASE(2, NV) default: TILE_CASE(1, NV)
#define CASES_3(NV) TILE_CASE(3, NV) TILE_CASE(2, NV) default: TILE_CASE(1, NV)

/* clang-format off */
PW_PACKED(6, 2, mbt_f32_pwconv_minmax_ukernel_6x16__avx2_tiled, CASES_6(2))
PW_PACKED(4, 3, mbt_f32_pwconv_minmax_ukernel_4x24__avx2_tiled, CASES_4(3))
PW_PACKED(3, 4, mbt_f32_pwconv_minmax_ukernel_3x32__avx2_tiled, CASES_3(4))
/* clang-format on */
